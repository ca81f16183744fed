/*
 * Open-loop HTTP/1.1 load at a fixed rate, for latency at a chosen share of saturation.
 *
 * Requests leave on a schedule (start + i / rate) whether or not earlier ones have
 * answered; each latency counts from its scheduled moment, so a stall anywhere is
 * counted, not hidden. It shares two cores with what it measures, so it has to cost
 * little: one thread, epoll, kept-alive connections, the request bytes built once.
 *
 *   openloop HOST PORT RATE SECONDS MAX_CONNECTIONS REQUEST_FILE...
 *
 * Each REQUEST_FILE holds one whole request (head and body); the i-th request sent is
 * file i modulo their number. Prints, one per line:
 * "sent N", "p50 MS", "p99 MS", "status CODE N" and "error KIND N".
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
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536
#define DRAIN_SECONDS 10.0
#define MAX_REQUESTS 1024

typedef struct {
    int fd;
    int busy;          /* a request is in flight on it */
    int connected;
    int request;       /* which request is in flight */
    double scheduled;  /* when the request in flight was due */
    size_t have;
    char buf[BUF];
} conn_t;

static struct sockaddr_in addr;
static char *requests[MAX_REQUESTS];
static size_t request_lens[MAX_REQUESTS];
static int nrequests;
static long sent;
static int epfd;
static conn_t *conns;
static int nconns, max_conns;
static double *latencies;
static long done, errors_socket, errors_parse;
static long statuses[600];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void record(double scheduled, int status) {
    latencies[done++] = (now() - scheduled) * 1000.0;
    if (status > 0 && status < 600) statuses[status]++;
}

static int open_conn(conn_t *c) {
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return -1;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->connected = 0;
    c->busy = 0;
    c->have = 0;
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev);
    return 0;
}

static void drop_conn(conn_t *c) {
    if (c->busy) {
        errors_socket++;
        record(c->scheduled, 0);
    }
    close(c->fd);
    c->fd = -1;
    c->busy = 0;
}

static int write_request(conn_t *c) {
    size_t n = request_lens[c->request];
    return write(c->fd, requests[c->request], n) == (ssize_t)n ? 0 : -1;
}

static void send_on(conn_t *c, double scheduled) {
    c->busy = 1;
    c->scheduled = scheduled;
    c->request = (int)(sent++ % nrequests);
    if (!c->connected) return;  /* sent once the connection is up */
    if (write_request(c) < 0) drop_conn(c);
}

/* A whole response in the buffer: its status, and how many bytes it took (0: not yet). */
static size_t complete(conn_t *c, int *status) {
    char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (end == NULL) return 0;
    size_t head = (size_t)(end - c->buf) + 4;
    if (c->have < 12 || strncmp(c->buf, "HTTP/1.", 7) != 0) return (size_t)-1;
    *status = atoi(c->buf + 9);
    long length = -1;
    for (char *line = memchr(c->buf, '\n', head); line && line < end; line = memchr(line + 1, '\n', (size_t)(end - line))) {
        if (strncasecmp(line + 1, "content-length:", 15) == 0) length = atol(line + 16);
    }
    if (length < 0) return (size_t)-1;  /* chunked or unframed: not what the services send */
    return c->have >= head + (size_t)length ? head + (size_t)length : 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static conn_t *idle_conn(void) {
    for (int i = 0; i < nconns; i++)
        if (conns[i].fd >= 0 && !conns[i].busy) return &conns[i];
    for (int i = 0; i < nconns; i++)
        if (conns[i].fd < 0 && open_conn(&conns[i]) == 0) return &conns[i];
    if (nconns < max_conns && open_conn(&conns[nconns]) == 0) return &conns[nconns++];
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 7 || argc - 6 > MAX_REQUESTS) {
        fprintf(stderr, "usage: openloop HOST PORT RATE SECONDS MAX_CONNECTIONS REQUEST_FILE...\n");
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[2]));
    inet_pton(AF_INET, argv[1], &addr.sin_addr);
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    max_conns = atoi(argv[5]);
    for (int i = 6; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) return 2;
        requests[nrequests] = malloc(BUF);
        request_lens[nrequests] = fread(requests[nrequests], 1, BUF, f);
        nrequests++;
        fclose(f);
    }

    long total = (long)(rate * seconds);
    latencies = calloc((size_t)total + 1, sizeof *latencies);
    conns = calloc((size_t)max_conns, sizeof *conns);
    for (int i = 0; i < max_conns; i++) conns[i].fd = -1;
    double *queue = calloc((size_t)total + 1, sizeof *queue);  /* due, waiting for a connection */
    long qhead = 0, qtail = 0, next = 0;
    epfd = epoll_create1(0);
    struct epoll_event events[256];
    double start = now();

    while (done < total) {
        double t = now();
        while (next < total && start + next / rate <= t) queue[qtail++] = start + (next++) / rate;
        while (qhead < qtail) {
            conn_t *c = idle_conn();
            if (c == NULL) break;
            send_on(c, queue[qhead++]);
        }
        if (next >= total && t > start + seconds + DRAIN_SECONDS) break;
        double wait_ms = next < total ? (start + next / rate - now()) * 1000.0 : 50.0;
        /* Whole milliseconds, rounded up: a shorter wait would spin a core the services
         * need. A request may leave up to 1 ms late; its latency still counts from its
         * scheduled moment, so that only ever adds to the figures. */
        int n = epoll_wait(epfd, events, 256, wait_ms > 0 ? (int)wait_ms + 1 : 0);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (c->fd < 0) continue;
            if (events[i].events & (EPOLLERR | EPOLLHUP)) {
                drop_conn(c);
                continue;
            }
            if ((events[i].events & EPOLLOUT) && !c->connected) {
                c->connected = 1;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
                if (c->busy && write_request(c) < 0) drop_conn(c);
                continue;
            }
            if (!(events[i].events & EPOLLIN)) continue;
            ssize_t got = read(c->fd, c->buf + c->have, BUF - c->have);
            if (got <= 0) {
                drop_conn(c);
                continue;
            }
            c->have += (size_t)got;
            int status = 0;
            size_t used = complete(c, &status);
            if (used == (size_t)-1) {
                errors_parse++;
                drop_conn(c);
            } else if (used > 0 && c->busy) {
                record(c->scheduled, status);
                c->busy = 0;
                memmove(c->buf, c->buf + used, c->have - used);
                c->have -= used;
                if (qhead < qtail) send_on(c, queue[qhead++]);
            }
        }
    }
    long timeouts = total - done;
    qsort(latencies, (size_t)done, sizeof *latencies, by_value);
    printf("sent %ld\n", total);
    if (done > 0) {
        printf("p50 %.3f\n", latencies[(long)(0.5 * done)]);
        printf("p99 %.3f\n", latencies[(long)(0.99 * done) < done ? (long)(0.99 * done) : done - 1]);
    }
    for (int s = 0; s < 600; s++)
        if (statuses[s]) printf("status %d %ld\n", s, statuses[s]);
    if (errors_socket) printf("error socket %ld\n", errors_socket);
    if (errors_parse) printf("error parse %ld\n", errors_parse);
    if (timeouts) printf("error timeout %ld\n", timeouts);
    return 0;
}
