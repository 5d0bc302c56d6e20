/*
 * wsgb-echo: a fast WebSocket echo backend for the benchmark.
 *
 * One thread, one epoll set, non-blocking sockets. Every frame a client
 * sends comes back unmasked with the same FIN bit and opcode (a Ping comes
 * back as a Pong, a Close as a Close, after which the backend closes the
 * TCP connection first). Frames are echoed as they stream in: a 1 MiB
 * message is never buffered whole, and a side that does not read stops the
 * backend from reading (backpressure), so memory per connection is bounded
 * (two 64 KiB buffers, allocated at the upgrade).
 *
 *   wsgb-echo --port N|0 [--addr 127.0.0.1] [--port-file F] [--pid-file F]
 *
 * Any request that is not a WebSocket upgrade gets "200 OK" and is closed.
 * SIGTERM or SIGINT ends it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wsgb.h"

#define WSGB_ECHO_BUFSIZE  (64 * 1024)
#define WSGB_ECHO_HEAD_MAX 4096
/* Output a header can grow beyond the input it came from (none: a client
 * header is always 4 bytes longer than ours), plus a partial header kept
 * from an earlier read. */
#define WSGB_ECHO_SLACK    32

enum wsgb_echo_state {
    WSGB_ECHO_HEAD,      /* reading the HTTP request */
    WSGB_ECHO_OPEN,      /* echoing frames */
    WSGB_ECHO_CLOSING,   /* Close echoed (or plain answer queued): flush */
    WSGB_ECHO_SHUT       /* write side shut: read and drop until EOF */
};

typedef struct wsgb_echo_conn_t {
    int            fd;
    int            state;
    unsigned int   events;        /* registered with epoll */
    char          *head;          /* HTTP request while in HEAD */
    size_t         head_len;
    /* frame parser */
    unsigned char  hdr[WSGB_FRAME_HDR_MAX];
    size_t         hdr_have;
    uint64_t       left;          /* payload bytes of the current frame */
    unsigned char  mask[4];
    size_t         moff;
    int            in_payload;
    int            close_seen;    /* a Close frame is being echoed */
    /* output */
    unsigned char *out;
    size_t         out_off, out_len;
} wsgb_echo_conn_t;

static volatile sig_atomic_t wsgb_echo_stop;
static unsigned char wsgb_echo_rbuf[WSGB_ECHO_BUFSIZE];

static void wsgb_echo_on_signal(int sig)
{
    (void)sig;
    wsgb_echo_stop = 1;
}

static void wsgb_echo_set_events(int ep, wsgb_echo_conn_t *c, unsigned int ev)
{
    struct epoll_event e;

    if (c->events == ev) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.events = ev;
    e.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void wsgb_echo_free(int ep, wsgb_echo_conn_t *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->head);
    free(c->out);
    free(c);
}

/* Write what is queued; returns -1 on a hard error. */
static int wsgb_echo_flush(wsgb_echo_conn_t *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return -1;
            }
            /* Keep the rest at the start of the buffer. */
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
            return 0;
        }
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Turn @a len client bytes into echoed bytes appended to c->out; the
 * caller guarantees room (len + WSGB_ECHO_SLACK). Returns -1 on a
 * protocol error. */
static int wsgb_echo_frames(wsgb_echo_conn_t *c, const unsigned char *p,
                            size_t len)
{
    while (len > 0) {
        if (!c->in_payload) {
            uint64_t plen;
            int opcode;

            if (c->close_seen) {
                return 0;   /* nothing after a Close is echoed */
            }
            /* Gather the header, across reads: 2 bytes, then the
             * extended length and the mask key. */
            while (len > 0
                   && c->hdr_have < wsgb_frame_header_len(c->hdr, c->hdr_have)) {
                c->hdr[c->hdr_have++] = *p++;
                --len;
            }
            if (c->hdr_have < wsgb_frame_header_len(c->hdr, c->hdr_have)) {
                return 0;
            }
            if (!(c->hdr[1] & 0x80)) {
                return -1;          /* clients must mask */
            }
            {
                unsigned int l7 = c->hdr[1] & 0x7f;
                size_t at = 2;
                int i;

                if (l7 == 126) {
                    plen = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
                    at = 4;
                }
                else if (l7 == 127) {
                    plen = 0;
                    for (i = 0; i < 8; ++i) {
                        plen = plen << 8 | c->hdr[2 + i];
                    }
                    at = 10;
                }
                else {
                    plen = l7;
                }
                memcpy(c->mask, c->hdr + at, 4);
            }
            opcode = c->hdr[0] & 0x0f;
            if (opcode == WSGB_OP_PING) {
                opcode = WSGB_OP_PONG;
            }
            else if (opcode == WSGB_OP_CLOSE) {
                c->close_seen = 1;
            }
            c->out_len += wsgb_frame_header(c->out + c->out_len,
                                            c->hdr[0] & 0x80, opcode, plen,
                                            NULL);
            c->hdr_have = 0;
            c->left = plen;
            c->moff = 0;
            c->in_payload = plen > 0;
            continue;
        }
        {
            size_t n = len < c->left ? len : (size_t)c->left;

            c->moff = wsgb_mask(c->out + c->out_len, p, n, c->mask, c->moff);
            c->out_len += n;
            c->left -= n;
            p += n;
            len -= n;
            if (c->left == 0) {
                c->in_payload = 0;
            }
        }
    }
    return 0;
}

/* Parse the HTTP request; answer 101 (or 200 for a plain request). */
static int wsgb_echo_handshake(wsgb_echo_conn_t *c)
{
    char *end = strstr(c->head, "\r\n\r\n");
    const char *key, *up;
    size_t klen, ulen, rest, hlen;
    char accept[29];
    int n;

    if (end == NULL) {
        return c->head_len >= WSGB_ECHO_HEAD_MAX - 1 ? -1 : 0;
    }
    hlen = (size_t)(end + 4 - c->head);
    rest = c->head_len - hlen;
    c->out = malloc(WSGB_ECHO_BUFSIZE);
    if (c->out == NULL) {
        return -1;
    }
    end[2] = '\0';      /* keep the last CRLF for the header lookup */
    key = wsgb_http_header(c->head, "Sec-WebSocket-Key", &klen);
    up = wsgb_http_header(c->head, "Upgrade", &ulen);
    if (key == NULL || up == NULL) {
        n = snprintf((char *)c->out, WSGB_ECHO_BUFSIZE,
                     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: 3\r\nConnection: close\r\n\r\nok\n");
        c->out_len = (size_t)n;
        c->state = WSGB_ECHO_CLOSING;
        free(c->head);
        c->head = NULL;
        return 1;
    }
    wsgb_ws_accept(key, klen, accept);
    n = snprintf((char *)c->out, WSGB_ECHO_BUFSIZE,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                 accept);
    c->out_len = (size_t)n;
    c->state = WSGB_ECHO_OPEN;
    if (rest > 0
        && wsgb_echo_frames(c, (unsigned char *)c->head + hlen, rest) < 0) {
        return -1;
    }
    free(c->head);
    c->head = NULL;
    return 1;
}

/* Handle readiness of @a c; returns -1 when it is to be freed. */
static int wsgb_echo_io(int ep, wsgb_echo_conn_t *c)
{
    int rounds;
    ssize_t n;

    if (c->out_len && wsgb_echo_flush(c) < 0) {
        return -1;
    }
    for (rounds = 0; rounds < 4; ++rounds) {
        if (c->state == WSGB_ECHO_HEAD) {
            n = recv(c->fd, c->head + c->head_len,
                     WSGB_ECHO_HEAD_MAX - 1 - c->head_len, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                return -1;
            }
            c->head_len += (size_t)n;
            c->head[c->head_len] = '\0';
            n = wsgb_echo_handshake(c);
            if (n < 0 || (n > 0 && wsgb_echo_flush(c) < 0)) {
                return -1;
            }
            if (c->state == WSGB_ECHO_OPEN && c->close_seen
                && !c->in_payload) {
                c->state = WSGB_ECHO_CLOSING;
            }
        }
        else if (c->state == WSGB_ECHO_OPEN) {
            size_t room;

            if (c->out_len + WSGB_ECHO_SLACK >= WSGB_ECHO_BUFSIZE) {
                break;          /* the reader is slow: stop reading */
            }
            room = WSGB_ECHO_BUFSIZE - WSGB_ECHO_SLACK - c->out_len;
            n = recv(c->fd, wsgb_echo_rbuf, room, 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                return -1;      /* EOF without a Close, or reset */
            }
            if (wsgb_echo_frames(c, wsgb_echo_rbuf, (size_t)n) < 0
                || wsgb_echo_flush(c) < 0) {
                return -1;
            }
            if (c->close_seen && !c->in_payload) {
                c->state = WSGB_ECHO_CLOSING;
            }
            else if ((size_t)n < room) {
                break;
            }
        }
        else if (c->state == WSGB_ECHO_CLOSING) {
            if (c->out_len) {
                break;          /* wait for room */
            }
            /* We close first, as a server should; then read to EOF. */
            shutdown(c->fd, SHUT_WR);
            c->state = WSGB_ECHO_SHUT;
        }
        else {
            n = recv(c->fd, wsgb_echo_rbuf, sizeof(wsgb_echo_rbuf), 0);
            if (n <= 0) {
                if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                return -1;
            }
        }
    }
    if (c->out_len) {
        /* Blocked: wait for room; read no more unless there is room. */
        wsgb_echo_set_events(ep, c, c->state == WSGB_ECHO_OPEN
                                    && c->out_len + WSGB_ECHO_SLACK
                                       < WSGB_ECHO_BUFSIZE
                                    ? EPOLLIN | EPOLLOUT : EPOLLOUT);
    }
    else {
        if (c->state == WSGB_ECHO_CLOSING) {
            shutdown(c->fd, SHUT_WR);
            c->state = WSGB_ECHO_SHUT;
        }
        wsgb_echo_set_events(ep, c, EPOLLIN);
    }
    return 0;
}

static int wsgb_echo_listen(const char *addr, int port)
{
    struct sockaddr_in sa;
    int fd, one = 1;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        perror("wsgb-echo: socket");
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "wsgb-echo: bad address %s\n", addr);
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || listen(fd, 4096) < 0) {
        perror("wsgb-echo: bind/listen");
        close(fd);
        return -1;
    }
    return fd;
}

static int wsgb_echo_write_file(const char *path, long value)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        return -1;
    }
    fprintf(f, "%ld\n", value);
    fclose(f);
    return rename(tmp, path);
}

static void wsgb_echo_usage(void)
{
    fprintf(stderr, "usage: wsgb-echo --port N|0 [--addr 127.0.0.1] "
                    "[--port-file F] [--pid-file F]\n");
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port_file = NULL, *pid_file = NULL;
    int port = -1, lfd, ep, i;
    struct sockaddr_in sa;
    socklen_t salen = sizeof(sa);
    struct epoll_event ev, evs[256];
    struct sigaction sigact;
    static int wsgb_echo_listener_tag;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        }
        else if (!strcmp(argv[i], "--addr") && i + 1 < argc) {
            addr = argv[++i];
        }
        else if (!strcmp(argv[i], "--port-file") && i + 1 < argc) {
            port_file = argv[++i];
        }
        else if (!strcmp(argv[i], "--pid-file") && i + 1 < argc) {
            pid_file = argv[++i];
        }
        else {
            wsgb_echo_usage();
            return 2;
        }
    }
    if (port < 0 || port > 65535) {
        wsgb_echo_usage();
        return 2;
    }
    memset(&sigact, 0, sizeof(sigact));
    sigact.sa_handler = wsgb_echo_on_signal;
    sigaction(SIGTERM, &sigact, NULL);
    sigaction(SIGINT, &sigact, NULL);
    signal(SIGPIPE, SIG_IGN);

    lfd = wsgb_echo_listen(addr, port);
    if (lfd < 0) {
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&sa, &salen);
    ep = epoll_create1(EPOLL_CLOEXEC);
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = &wsgb_echo_listener_tag;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    if (pid_file && wsgb_echo_write_file(pid_file, (long)getpid()) < 0) {
        perror("wsgb-echo: pid file");
        return 1;
    }
    /* The port file last: once it exists, the backend accepts. */
    if (port_file && wsgb_echo_write_file(port_file, ntohs(sa.sin_port)) < 0) {
        perror("wsgb-echo: port file");
        return 1;
    }

    while (!wsgb_echo_stop) {
        int n = epoll_wait(ep, evs, 256, 500);

        for (i = 0; i < n; ++i) {
            if (evs[i].data.ptr == &wsgb_echo_listener_tag) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
                    wsgb_echo_conn_t *c;
                    int one = 1;

                    if (fd < 0) {
                        break;
                    }
                    c = calloc(1, sizeof(*c));
                    if (c) {
                        c->head = malloc(WSGB_ECHO_HEAD_MAX);
                    }
                    if (c == NULL || c->head == NULL) {
                        free(c);
                        close(fd);
                        continue;
                    }
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof(one));
                    c->fd = fd;
                    c->state = WSGB_ECHO_HEAD;
                    c->events = EPOLLIN;
                    memset(&ev, 0, sizeof(ev));
                    ev.events = EPOLLIN;
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            {
                wsgb_echo_conn_t *c = evs[i].data.ptr;

                if (wsgb_echo_io(ep, c) < 0) {
                    wsgb_echo_free(ep, c);
                }
            }
        }
    }
    close(lfd);
    close(ep);
    return 0;
}
