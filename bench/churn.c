/* churn.c - connection churn against an echo server: CYCLES times, connect, send one byte, read
 * it back, close; one connection at a time (blocking sockets), within --timeout seconds.
 * Prints one JSON line: {"cycles":N,"seconds":S,"errors":E,"first_error":"..."}
 *
 *   churn --port P [--host 127.0.0.1] [--cycles 100000] [--timeout 120]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0;
    long cycles = 100000;
    double timeout = 120;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--cycles")) cycles = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--timeout")) timeout = atof(argv[i + 1]);
    }
    if (port <= 0) {
        fprintf(stderr, "usage: churn --port P [--host H] [--cycles N] [--timeout S]\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    /* Each socket read or write gives up after 5 s: a stalled server ends the run, not the bench. */
    struct timeval tv = {.tv_sec = 5};
    double start = now();
    long done = 0, errors = 0;
    char first_error[128] = "";
    for (; done < cycles && now() - start < timeout; done++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        char c = 'x';
        const char *what = NULL;
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) what = "connect";
        else if (write(fd, &c, 1) != 1) what = "write";
        else if (read(fd, &c, 1) != 1) what = "read";
        if (what) {
            if (!errors) snprintf(first_error, sizeof first_error, "%s: %s", what, strerror(errno));
            errors++;
        }
        close(fd);
    }
    printf("{\"cycles\":%ld,\"seconds\":%.3f,\"errors\":%ld,\"first_error\":\"%s\"}\n", done, now() - start, errors, first_error);
    return 0;
}
