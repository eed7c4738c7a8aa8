/*
 * idle-conns: how a server holds many idle connections on one loop.
 *
 *   idle-conns --port P --server-pid PID [--conns N] [--pings K] [--timeout S] [--host H]
 *
 * In order, against one running echo server:
 *   1. one "active" connection does K single-byte ping-pongs: the latency of a loop pass with
 *      nothing else open (baseline);
 *   2. N more connections are opened as fast as the server takes them: at most 1000 handshakes
 *      in progress and at most 512 connections waiting in the server's accept queue at once.
 *      The accepted count is read from /proc/PID/fd, so "accepted" means the server process
 *      holds the descriptors, not just that the handshake completed;
 *   3. the server's VmRSS is read before step 2 and half a second after all are accepted;
 *   4. K ping-pongs again on the active connection, now with N idle ones beside it: the growth of
 *      the p50 over the baseline is what one loop pass costs for N idle channels;
 *   5. one byte is sent on each idle connection and must come back on each.
 *
 * Prints one JSON line; on a failure a JSON line with "error" (and what was measured so far),
 * exit status 1. Every wait is bounded by --timeout seconds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1";
static int port, nconns = 10000, pings = 2000;
static long server_pid;
static double timeout_s = 60;
static struct sockaddr_in server_addr;

/* What has been measured so far, printed with an error too. */
static char partial[1024] = "";

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ms_since(uint64_t t) { return (double)(now_ns() - t) / 1e6; }

static void fail(const char *fmt, ...) {
  char text[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  for (char *p = text; *p; p++)
    if (*p == '"' || *p == '\\') *p = '\'';
  printf("{\"error\":\"%s\",\"conns\":%d%s}\n", text, nconns, partial);
  fflush(stdout);
  exit(1);
}

static void note(const char *fmt, ...) {
  size_t len = strlen(partial);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(partial + len, sizeof partial - len, fmt, ap);
  va_end(ap);
}

/* Descriptors the server holds: one per accepted connection, plus its own few. */
static long count_fds(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/fd", server_pid);
  DIR *d = opendir(path);
  if (!d) fail("cannot read %s (server gone?)", path);
  long n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static long vmrss_kib(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%ld/status", server_pid);
  FILE *f = fopen(path, "r");
  if (!f) fail("cannot read %s (server gone?)", path);
  long kib = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  fclose(f);
  return kib;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Waits (bounded) for the server to hold `target` descriptors; returns ms waited or -1. */
static double wait_for_fds(long target, uint64_t since) {
  while (count_fds() < target) {
    if (ms_since(since) > timeout_s * 1000) return -1;
    usleep(2000);
  }
  return ms_since(since);
}

static int connect_blocking(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket: %s", strerror(errno));
  if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0)
    fail("connect: %s", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Waits for `fd` to be ready for `events`, at most the timeout. */
static void wait_ready(int fd, short events, const char *what) {
  struct pollfd p = {.fd = fd, .events = events};
  int r;
  do r = poll(&p, 1, (int)(timeout_s * 1000)); while (r < 0 && errno == EINTR);
  if (r == 0) fail("no reply within %.0f s during %s", timeout_s, what);
}

/* K single-byte round trips on a blocking connection; p50 and p99 in microseconds. */
static void ping_pong(int fd, const char *what, double *p50, double *p99) {
  uint64_t *lat = malloc((size_t)pings * sizeof *lat);
  for (int i = 0; i < pings; i++) {
    char out = (char)('a' + i % 26), in = 0;
    uint64_t t = now_ns();
    if (send(fd, &out, 1, MSG_NOSIGNAL) != 1) fail("%s: send: %s", what, strerror(errno));
    wait_ready(fd, POLLIN, what);
    ssize_t n = recv(fd, &in, 1, 0);
    if (n != 1) fail("%s: %s", what, n == 0 ? "server closed the connection" : strerror(errno));
    if (in != out) fail("%s: wrong echo byte", what);
    lat[i] = now_ns() - t;
  }
  qsort(lat, (size_t)pings, sizeof *lat, cmp_u64);
  *p50 = (double)lat[pings / 2] / 1000.0;
  *p99 = (double)lat[(size_t)pings * 99 / 100] / 1000.0;
  free(lat);
}

/* Connections opened but not yet accepted that we allow: half the servers' listen backlog, so
 * the accept queue never overflows and the time measures the server, not TCP's SYN retransmit
 * timer (a dropped SYN is retried after one second). */
#define MAX_UNACCEPTED 512

/* Opens every idle connection, at most 1000 handshakes in flight and MAX_UNACCEPTED waiting in
 * the accept queue; returns ms until all handshakes completed. */
static double open_idle(int *fds, long fds_base) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  uint64_t t0 = now_ns();
  int opened = 0, done = 0;
  long accepted = 0;
  struct epoll_event events[1024];
  while (done < nconns) {
    while (opened < nconns && opened - done < 1000 && opened - accepted < MAX_UNACCEPTED) {
      int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (fd < 0) fail("socket #%d: %s", opened, strerror(errno));
      if (connect(fd, (struct sockaddr *)&server_addr, sizeof server_addr) < 0 &&
          errno != EINPROGRESS)
        fail("connect #%d: %s", opened, strerror(errno));
      struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
      epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      fds[opened++] = fd;
    }
    int n = epoll_wait(ep, events, 1024, 1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd, err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err) fail("connect #%d: %s", done, strerror(err));
      epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
      done++;
    }
    /* Only when the queue allowance is used up is it worth reading the server's descriptors. */
    if (opened < nconns && opened - accepted >= MAX_UNACCEPTED) accepted = count_fds() - fds_base;
    if (ms_since(t0) > timeout_s * 1000) fail("only %d of %d connected in %.0f s", done, nconns, timeout_s);
  }
  close(ep);
  return ms_since(t0);
}

/* One byte out on every idle connection, then every byte back; returns how many came back. */
static int echo_all(int *fds, double *ms) {
  uint64_t t0 = now_ns();
  for (int i = 0; i < nconns; i++) {
    char b = (char)('A' + i % 26);
    if (send(fds[i], &b, 1, MSG_NOSIGNAL) != 1) fail("echo check: send #%d: %s", i, strerror(errno));
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int i = 0; i < nconns; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  int ok = 0, seen = 0;
  struct epoll_event events[1024];
  while (seen < nconns && ms_since(t0) < timeout_s * 1000) {
    int n = epoll_wait(ep, events, 1024, 200);
    for (int k = 0; k < n; k++) {
      int i = (int)events[k].data.u32;
      char b = 0;
      ssize_t r = recv(fds[i], &b, 1, MSG_DONTWAIT);
      if (r < 0 && errno == EAGAIN) continue;
      epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
      seen++;
      if (r == 1 && b == (char)('A' + i % 26)) ok++;
    }
  }
  close(ep);
  *ms = ms_since(t0);
  return ok;
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (!strcmp(a, "--host")) host = v;
    else if (!strcmp(a, "--port")) port = atoi(v);
    else if (!strcmp(a, "--server-pid")) server_pid = atol(v);
    else if (!strcmp(a, "--conns")) nconns = atoi(v);
    else if (!strcmp(a, "--pings")) pings = atoi(v);
    else if (!strcmp(a, "--timeout")) timeout_s = atof(v);
    else fail("unknown option %s", a);
  }
  if (port <= 0 || server_pid <= 0 || nconns <= 0 || pings <= 0)
    fail("usage: idle-conns --port P --server-pid PID [--conns N] [--pings K] [--timeout S]");
  server_addr.sin_family = AF_INET;
  server_addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &server_addr.sin_addr) != 1) fail("bad host %s", host);
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  int *fds = calloc((size_t)nconns, sizeof *fds);

  long fds_before = count_fds();
  int active = connect_blocking();
  if (wait_for_fds(fds_before + 1, now_ns()) < 0) fail("the server never accepted the first connection");
  double base_p50, base_p99;
  ping_pong(active, "baseline ping-pong", &base_p50, &base_p99);
  note(",\"base_p50_us\":%.1f,\"base_p99_us\":%.1f", base_p50, base_p99);

  long fds_base = count_fds(), rss0 = vmrss_kib();
  uint64_t t0 = now_ns();
  double connect_ms = open_idle(fds, fds_base);
  note(",\"connect_ms\":%.1f", connect_ms);
  double accept_ms = wait_for_fds(fds_base + nconns, t0);
  if (accept_ms < 0)
    fail("the server holds %ld of %d connections after %.0f s", count_fds() - fds_base, nconns, timeout_s);
  note(",\"accept_ms\":%.1f", accept_ms);

  usleep(500000); /* let per-connection state settle before reading memory */
  long rss1 = vmrss_kib();
  double rss_per_conn = (double)(rss1 - rss0) * 1024.0 / nconns;
  note(",\"rss_before_kib\":%ld,\"rss_after_kib\":%ld,\"rss_per_conn_bytes\":%.0f", rss0, rss1, rss_per_conn);

  double idle_p50, idle_p99;
  ping_pong(active, "ping-pong with idle connections open", &idle_p50, &idle_p99);
  note(",\"idle_p50_us\":%.1f,\"idle_p99_us\":%.1f", idle_p50, idle_p99);

  double echo_ms;
  int ok = echo_all(fds, &echo_ms);
  note(",\"echo_ok\":%d,\"echo_ms\":%.1f", ok, echo_ms);
  if (ok != nconns) fail("only %d of %d idle connections echoed their byte", ok, nconns);

  printf("{\"conns\":%d%s}\n", nconns, partial);
  fflush(stdout);
  return 0;
}
