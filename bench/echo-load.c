/*
 * echo-load: a closed-loop echo load generator over epoll.
 *
 * Each of --conns connections does ping-pong: send the whole message of --size bytes, read the
 * same bytes back (checked byte for byte), record the round-trip latency, send again. The run
 * lasts --warmup seconds (not counted) and then --duration seconds (counted). With --server-pid
 * the server's own CPU time (utime + stime from /proc/PID/stat) is read exactly at the start and
 * at the end of the counted window, so warmup and start-up never count against the server.
 *
 * --line sends SIZE-1 bytes without a newline followed by "\n", for line-oriented servers.
 *
 * Prints one JSON line on stdout and exits 0; on a failure (refused connection, a server that
 * closes, a wrong byte, no reply for --stall seconds) prints one JSON line with "error" and
 * exits 1. The run is bounded: it never lasts longer than warmup + duration + stall.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  const char *host;
  int port;
  int conns;
  size_t size;
  double warmup, duration, stall;
  int line;
  long server_pid; /* 0: do not measure the server */
} options_t;

typedef struct {
  int fd;
  size_t sent, got;   /* progress of the message in flight */
  uint64_t start_ns;  /* when its first byte was sent */
  uint32_t events;    /* epoll interest currently registered */
} conn_t;

typedef struct {
  uint64_t *v;
  size_t n, cap;
} samples_t;

static options_t opt = {"127.0.0.1", 0, 10, 1024, 1.0, 3.0, 5.0, 0, 0};
static char *message;      /* the message every connection sends */
static char scratch[1 << 18];

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Prints the error as the one JSON line this program promises, then exits. */
static void fail(const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  for (char *p = text; *p; p++)
    if (*p == '"' || *p == '\\') *p = '\'';
  printf("{\"error\":\"%s\",\"conns\":%d,\"size\":%zu}\n", text, opt.conns, opt.size);
  fflush(stdout);
  exit(1);
}

/* utime + stime of a whole process (all its threads) in microseconds, or -1. */
static long long process_cpu_us(long pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* The command name (field 2) may hold spaces: fields are counted from the last ')'. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long long utime = 0, stime = 0;
  /* After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return (long long)((utime + stime) * 1000000ull / (unsigned long long)hz);
}

/* CPU time the whole machine spent busy (all CPUs, every process, interrupts), in microseconds:
 * what is left after subtracting server and client is the load of everything else. */
static long long machine_busy_us(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long user, nice, sys, idle, iowait, irq, softirq, steal;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle,
                 &iowait, &irq, &softirq, &steal);
  fclose(f);
  if (n != 8) return -1;
  long hz = sysconf(_SC_CLK_TCK);
  return (long long)((user + nice + sys + irq + softirq + steal) * 1000000ull / (unsigned long long)hz);
}

static long long self_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

static void samples_add(samples_t *s, uint64_t v) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 1 << 16;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (!s->v) fail("out of memory for latency samples");
  }
  s->v[s->n++] = v;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest-rank percentile in microseconds; the samples must be sorted. */
static double percentile_us(const samples_t *s, double q) {
  if (s->n == 0) return 0;
  size_t i = (size_t)(q * (double)s->n);
  if (i >= s->n) i = s->n - 1;
  return (double)s->v[i] / 1000.0;
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--line")) { opt.line = 1; continue; }
    if (!v) fail("option %s needs a value", a);
    if (!strcmp(a, "--host")) opt.host = v;
    else if (!strcmp(a, "--port")) opt.port = atoi(v);
    else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
    else if (!strcmp(a, "--size")) opt.size = (size_t)atol(v);
    else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
    else if (!strcmp(a, "--duration")) opt.duration = atof(v);
    else if (!strcmp(a, "--stall")) opt.stall = atof(v);
    else if (!strcmp(a, "--server-pid")) opt.server_pid = atol(v);
    else fail("unknown option %s", a);
    i++;
  }
  if (opt.port <= 0 || opt.conns <= 0 || opt.size < 2 || opt.duration <= 0)
    fail("usage: echo-load --port P [--conns N] [--size BYTES] [--warmup S] [--duration S] "
         "[--line] [--server-pid PID] [--stall S] [--host H]");
}

/* Letters only, so that in line mode the one "\n" is the last byte. */
static void build_message(void) {
  message = malloc(opt.size);
  if (!message) fail("out of memory for the message");
  for (size_t i = 0; i < opt.size; i++) message[i] = (char)('a' + (i * 7) % 26);
  if (opt.line) message[opt.size - 1] = '\n';
}

/* A blocking connect (the listener's backlog absorbs these), then non-blocking for the run. */
static int open_conn(void) {
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)opt.port);
  if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) fail("bad host %s", opt.host);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) fail("connect: %s", strerror(errno));
  int one = 1;
  /* The client never waits on Nagle: latency is the server's, not ours. */
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void set_interest(int ep, conn_t *c, uint32_t events) {
  if (c->events == events) return;
  struct epoll_event ev = {.events = events, .data.ptr = c};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
  c->events = events;
}

/* Sends what the socket takes. Reading stays on throughout, so that a server that echoes while
 * we are still sending a large message never blocks on us. */
static void pump_send(int ep, conn_t *c) {
  while (c->sent < opt.size) {
    ssize_t n = send(c->fd, message + c->sent, opt.size - c->sent, MSG_NOSIGNAL);
    if (n > 0) { c->sent += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    fail("send: %s", n < 0 ? strerror(errno) : "returned 0");
  }
  set_interest(ep, c, EPOLLIN | (c->sent < opt.size ? EPOLLOUT : 0));
}

static void start_request(int ep, conn_t *c, uint64_t now) {
  c->sent = c->got = 0;
  c->start_ns = now;
  pump_send(ep, c);
}

/* Reads what is there; returns 1 when the whole echo of the message has come back. */
static int pump_recv(conn_t *c, int index) {
  for (;;) {
    ssize_t n = recv(c->fd, scratch, sizeof scratch, 0);
    if (n > 0) {
      if (c->got + (size_t)n > c->sent)
        fail("connection %d: server sent %zu bytes, more than the %zu it was sent", index,
             c->got + (size_t)n, c->sent);
      if (memcmp(scratch, message + c->got, (size_t)n) != 0)
        fail("connection %d: wrong echo within bytes %zu..%zu of the message", index, c->got,
             c->got + (size_t)n);
      c->got += (size_t)n;
      if (c->got == opt.size) return 1;
      continue;
    }
    if (n == 0) fail("connection %d: server closed the connection", index);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    fail("connection %d: recv: %s", index, strerror(errno));
  }
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  build_message();

  int ep = epoll_create1(EPOLL_CLOEXEC);
  conn_t *conns = calloc((size_t)opt.conns, sizeof *conns);
  if (ep < 0 || !conns) fail("setup: %s", strerror(errno));
  for (int i = 0; i < opt.conns; i++) {
    conns[i].fd = open_conn();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) < 0) fail("epoll_ctl: %s", strerror(errno));
    conns[i].events = EPOLLIN;
  }

  samples_t lat = {0};
  uint64_t t0 = now_ns();
  uint64_t measure_from = t0 + (uint64_t)(opt.warmup * 1e9);
  uint64_t measure_to = measure_from + (uint64_t)(opt.duration * 1e9);
  uint64_t last_progress = t0;
  int measuring = opt.warmup <= 0;
  long long srv_cpu0 = opt.server_pid ? process_cpu_us(opt.server_pid) : -1;
  long long own_cpu0 = self_cpu_us();
  long long busy0 = machine_busy_us();
  uint64_t requests = 0;

  for (int i = 0; i < opt.conns; i++) start_request(ep, &conns[i], t0);

  struct epoll_event events[256];
  for (;;) {
    uint64_t now = now_ns();
    uint64_t next = measuring ? measure_to : measure_from;
    int timeout_ms = next > now ? (int)((next - now) / 1000000u) + 1 : 0;
    if (timeout_ms > 100) timeout_ms = 100;
    int n = epoll_wait(ep, events, 256, timeout_ms);
    if (n < 0 && errno != EINTR) fail("epoll_wait: %s", strerror(errno));
    now = now_ns();
    for (int k = 0; k < n; k++) {
      conn_t *c = events[k].data.ptr;
      if (events[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        size_t before = c->got;
        int done = pump_recv(c, (int)(c - conns));
        if (c->got != before) last_progress = now;
        if (done) {
          if (measuring) {
            samples_add(&lat, now - c->start_ns);
            requests++;
          }
          start_request(ep, c, now);
          continue;
        }
      }
      if ((events[k].events & EPOLLOUT) && c->sent < opt.size) pump_send(ep, c);
    }
    if (!measuring && now >= measure_from) {
      /* Warmup is over: everything counted from here on belongs to the window. */
      measuring = 1;
      measure_from = now;
      srv_cpu0 = opt.server_pid ? process_cpu_us(opt.server_pid) : -1;
      own_cpu0 = self_cpu_us();
      busy0 = machine_busy_us();
    } else if (measuring && now >= measure_to) {
      break;
    }
    if (now - last_progress > (uint64_t)(opt.stall * 1e9))
      fail("no echo byte for %.1f s (stalled server)", opt.stall);
  }

  uint64_t end = now_ns();
  long long srv_cpu1 = opt.server_pid ? process_cpu_us(opt.server_pid) : -1;
  long long own_cpu1 = self_cpu_us();
  long long busy1 = machine_busy_us();
  if (opt.server_pid && (srv_cpu0 < 0 || srv_cpu1 < 0))
    fail("could not read /proc/%ld/stat (server gone?)", opt.server_pid);

  double seconds = (double)(end - measure_from) / 1e9;
  double bytes = (double)requests * (double)opt.size;
  qsort(lat.v, lat.n, sizeof *lat.v, cmp_u64);
  printf("{\"conns\":%d,\"size\":%zu,\"line\":%s,\"seconds\":%.4f,\"requests\":%llu,"
         "\"bytes\":%.0f,\"rps\":%.1f,\"mibps\":%.3f,\"p50_us\":%.1f,\"p99_us\":%.1f,"
         "\"max_us\":%.1f,\"client_cpu_us\":%lld,\"server_cpu_us\":%lld,\"machine_busy_us\":%lld}\n",
         opt.conns, opt.size, opt.line ? "true" : "false", seconds,
         (unsigned long long)requests, bytes, (double)requests / seconds,
         bytes / seconds / 1048576.0, percentile_us(&lat, 0.50), percentile_us(&lat, 0.99),
         percentile_us(&lat, 1.0), own_cpu1 - own_cpu0,
         opt.server_pid ? srv_cpu1 - srv_cpu0 : -1LL, busy0 >= 0 && busy1 >= 0 ? busy1 - busy0 : -1LL);
  fflush(stdout);
  return 0;
}
