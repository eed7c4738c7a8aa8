/*
 * c-forward: the reference port forwarder, as little as a forwarder over epoll can be.
 *
 *   c-forward LISTEN_PORT TARGET_PORT [--copy]
 *
 * One thread, level-triggered epoll, non-blocking sockets on 127.0.0.1. Each accepted connection
 * gets a connection to the target (connected before anything is relayed) and bytes go both ways:
 * by default through a pipe with splice(2) (the bytes never enter user space), with --copy through
 * a 64 KiB buffer with recv(2)/send(2). What the other side does not take stays in the pipe or
 * buffer and that direction stops reading until it is written (back-pressure). A hang-up or error
 * on either side closes both. It is the floor `asyncore forward` is compared with: what a
 * forwarding hop costs on this machine, before any library.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE (1 << 16)

/* One direction of a relay: bytes read from `from` wait in a pipe (splice) or buffer (copy). */
typedef struct half {
  int from, to;
  int pipe[2];
  char *buf;
  size_t held, off; /* bytes waiting; with copy, buf[off, off + held) */
} half_t;

typedef struct {
  half_t *reading; /* the direction that reads this descriptor */
  half_t *writing; /* the direction that writes to it */
  int peer;
  uint32_t events; /* what epoll waits for now */
} end_t;

static end_t *ends; /* indexed by descriptor */
static size_t nends;
static int ep, copy_mode;
static struct sockaddr_in target;

static end_t *end_of(int fd) {
  if ((size_t)fd >= nends) {
    size_t n = nends ? nends : 1024;
    while (n <= (size_t)fd) n *= 2;
    ends = realloc(ends, n * sizeof *ends);
    if (!ends) { perror("realloc"); exit(1); }
    memset(ends + nends, 0, (n - nends) * sizeof *ends);
    nends = n;
  }
  return &ends[fd];
}

/* The events `fd` waits for: readable while its direction holds nothing, writable while the other holds something. */
static void rearm(int fd) {
  end_t *e = end_of(fd);
  uint32_t events = (e->reading->held == 0 ? EPOLLIN : 0) | (e->writing->held > 0 ? EPOLLOUT : 0);
  if (events == e->events) return; /* no system call when nothing changed (the usual case) */
  e->events = events;
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void free_half(half_t *h) {
  if (h->pipe[0] >= 0) { close(h->pipe[0]); close(h->pipe[1]); }
  free(h->buf);
  free(h);
}

static void drop(int fd) {
  end_t *e = end_of(fd);
  if (!e->reading) return;
  int peer = e->peer;
  free_half(e->reading);
  free_half(e->writing);
  memset(e, 0, sizeof *e);
  memset(end_of(peer), 0, sizeof(end_t));
  close(fd); /* closing removes it from the epoll set */
  close(peer);
}

static half_t *new_half(int from, int to) {
  half_t *h = calloc(1, sizeof *h);
  if (!h) { perror("calloc"); exit(1); }
  h->from = from;
  h->to = to;
  h->pipe[0] = h->pipe[1] = -1;
  if (copy_mode) {
    h->buf = malloc(BUF_SIZE);
    if (!h->buf) { perror("malloc"); exit(1); }
  } else if (pipe2(h->pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
    perror("pipe2");
    free(h);
    return NULL;
  }
  return h;
}

static void add(int fd, uint32_t events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void accept_all(int lfd) {
  for (;;) {
    int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) {
      if (errno != EAGAIN && errno != EINTR) perror("accept4");
      if (errno != EINTR) return;
      continue;
    }
    /* The connection to the target is made blocking (loopback: at once), then made non-blocking. */
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (t < 0 || connect(t, (struct sockaddr *)&target, sizeof target) < 0) {
      perror("connect");
      if (t >= 0) close(t);
      close(c);
      continue;
    }
    fcntl(t, F_SETFL, fcntl(t, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(t, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    half_t *up = new_half(c, t), *down = new_half(t, c);
    if (!up || !down) {
      if (up) free_half(up);
      if (down) free_half(down);
      close(c);
      close(t);
      continue;
    }
    *end_of(c) = (end_t){.reading = up, .writing = down, .peer = t, .events = EPOLLIN};
    *end_of(t) = (end_t){.reading = down, .writing = up, .peer = c, .events = EPOLLIN};
    add(c, EPOLLIN);
    add(t, EPOLLIN);
  }
}

/* Reads once from h->from into its pipe or buffer; 0 at the end or on an error (the caller drops). */
static int fill(half_t *h) {
  ssize_t n;
  do {
    if (copy_mode) n = recv(h->from, h->buf, BUF_SIZE, 0);
    else n = splice(h->from, NULL, h->pipe[1], NULL, BUF_SIZE, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN;
  if (n == 0) return 0;
  h->held = (size_t)n;
  h->off = 0;
  return 1;
}

/* Writes what h holds to h->to; 0 on an error. */
static int drain(half_t *h) {
  while (h->held > 0) {
    ssize_t n;
    if (copy_mode) n = send(h->to, h->buf + h->off, h->held, MSG_NOSIGNAL);
    else n = splice(h->pipe[0], NULL, h->to, NULL, h->held, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    h->held -= (size_t)n;
    h->off += (size_t)n;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: c-forward LISTEN_PORT TARGET_PORT [--copy]\n");
    return 2;
  }
  copy_mode = argc > 3 && strcmp(argv[3], "--copy") == 0;
  target.sin_family = AF_INET;
  target.sin_port = htons((uint16_t)atoi(argv[2]));
  target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, SOMAXCONN) < 0) {
    perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof addr;
  getsockname(lfd, (struct sockaddr *)&addr, &len);
  fprintf(stderr, "c-forward listening on 127.0.0.1:%d -> %d (%s)\n", ntohs(addr.sin_port), atoi(argv[2]), copy_mode ? "copy" : "splice");

  ep = epoll_create1(EPOLL_CLOEXEC);
  add(lfd, EPOLLIN);
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == lfd) {
        accept_all(lfd);
        continue;
      }
      end_t *e = end_of(fd);
      if (!e->reading) continue; /* dropped earlier in this batch */
      /* A socket error ends the relay: epoll reports it until the socket is closed. */
      int ok = !(evs[i].events & EPOLLERR);
      if (ok && evs[i].events & EPOLLOUT) ok = drain(e->writing);
      if (ok && evs[i].events & (EPOLLIN | EPOLLHUP) && e->reading->held == 0) ok = fill(e->reading) && drain(e->reading);
      if (!ok) {
        drop(fd);
        continue;
      }
      /* Both ends: a drain that emptied a direction lets its reader (the peer) read again. */
      rearm(fd);
      rearm(e->peer);
    }
  }
}
