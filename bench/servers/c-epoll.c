/*
 * c-epoll: the reference echo server, as little as an echo server over epoll can be.
 *
 *   c-epoll PORT [HOST]
 *
 * One thread, level-triggered epoll, non-blocking sockets. Each readable connection is read once
 * per wake-up (up to 64 KiB) and the bytes are written straight back; what the socket does not
 * take is kept and the connection stops reading until it is written (back-pressure). It accepts
 * until EAGAIN on each wake-up of the listener. Nothing else: it is the floor the other servers
 * are compared with.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  char *pending;  /* bytes read but not yet written back */
  size_t len, off;
} conn_t;

static conn_t *conns;  /* indexed by descriptor */
static size_t nconns;
static char buf[1 << 16];

static conn_t *conn_of(int fd) {
  if ((size_t)fd >= nconns) {
    size_t n = nconns ? nconns : 1024;
    while (n <= (size_t)fd) n *= 2;
    conns = realloc(conns, n * sizeof *conns);
    if (!conns) { perror("realloc"); exit(1); }
    memset(conns + nconns, 0, (n - nconns) * sizeof *conns);
    nconns = n;
  }
  return &conns[fd];
}

static void drop(int ep, int fd) {
  conn_t *c = conn_of(fd);
  free(c->pending);
  memset(c, 0, sizeof *c);
  epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
}

static void watch(int ep, int fd, uint32_t events, int op) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, op, fd, &ev);
}

static void accept_all(int ep, int lfd) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("accept4");
      return;
    }
    conn_of(fd);
    watch(ep, fd, EPOLLIN, EPOLL_CTL_ADD);
  }
}

/* Writes the pending bytes; returns -1 on a dead peer, 1 if all are written, 0 otherwise. */
static int flush(int fd, conn_t *c) {
  while (c->off < c->len) {
    ssize_t n = send(fd, c->pending + c->off, c->len - c->off, MSG_NOSIGNAL);
    if (n > 0) { c->off += (size_t)n; continue; }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    return -1;
  }
  free(c->pending);
  c->pending = NULL;
  c->len = c->off = 0;
  return 1;
}

static void on_readable(int ep, int fd) {
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) { drop(ep, fd); return; }
  if (n < 0) return;
  ssize_t w = send(fd, buf, (size_t)n, MSG_NOSIGNAL);
  if (w < 0 && errno != EAGAIN && errno != EINTR) { drop(ep, fd); return; }
  if (w < 0) w = 0;
  if (w == n) return;
  /* Keep the rest and stop reading until it is out. */
  conn_t *c = conn_of(fd);
  c->len = (size_t)(n - w);
  c->off = 0;
  c->pending = malloc(c->len);
  if (!c->pending) { drop(ep, fd); return; }
  memcpy(c->pending, buf + w, c->len);
  watch(ep, fd, EPOLLOUT, EPOLL_CTL_MOD);
}

static void on_writable(int ep, int fd) {
  int r = flush(fd, conn_of(fd));
  if (r < 0) drop(ep, fd);
  else if (r > 0) watch(ep, fd, EPOLLIN, EPOLL_CTL_MOD);
}

static int listen_on(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) {
    perror("bind/listen");
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: c-epoll PORT [HOST]\n"); return 2; }
  int lfd = listen_on(argc > 2 ? argv[2] : "127.0.0.1", atoi(argv[1]));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  watch(ep, lfd, EPOLLIN, EPOLL_CTL_ADD);
  struct epoll_event events[512];
  for (;;) {
    int n = epoll_wait(ep, events, 512, -1);
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      if (fd == lfd) accept_all(ep, lfd);
      else if (events[i].events & EPOLLOUT) on_writable(ep, fd);
      else on_readable(ep, fd);
    }
  }
}
