/*
 * wsgb-relay: the floor of the two ways a proxy can drive its tunnels,
 * measured with the same loads as the real targets.
 *
 * A TCP relay (client <-> 127.0.0.1:backend) with nothing a proxy needs
 * besides moving bytes: no HTTP parsing (the WebSocket handshake passes
 * through), no logging, no filters, no timeouts, no memory pools.
 *
 *   --mode thread  one thread per connection, blocking in epoll_wait on its
 *                  own two sockets; the accepting thread hands each new
 *                  connection to an idle thread (created when none is
 *                  idle). That is the shape of mod_proxy_wstunnel and of
 *                  WSGatewayAsync Off: no such proxy can do better on this
 *                  kernel than this relay does.
 *   --mode epoll   one thread, one epoll set, every socket registered once
 *                  edge-triggered: the shape of nginx and of our reactor.
 *
 *   wsgb-relay --port N --backend-port M [--mode thread|epoll]
 *
 * Both modes share the pump: read a side while its buffer is empty and the
 * kernel may have data, write it to the other side until EAGAIN, pass an
 * EOF on as shutdown(SHUT_WR), close both when both directions are done.
 * The backend is connected with a blocking connect() (loopback: it does not
 * wait for the peer's accept()). Loopback addresses only. SIGTERM ends it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define WSGB_RELAY_BUFSIZE (32 * 1024)
#define WSGB_RELAY_EVENTS  256

typedef struct wsgb_relay_pair_t wsgb_relay_pair_t;

typedef struct wsgb_relay_side_t {
    wsgb_relay_pair_t *pair;
    int    fd;
    int    rd_ready;   /* the kernel may have bytes (or EOF) for us */
    int    hup;        /* the peer's FIN was reported: read until EOF */
    int    wr_ready;   /* the kernel may take bytes */
    int    eof;        /* read EOF (or an error) */
    int    shut;       /* our write side is shut */
    size_t off, len;   /* bytes read from this side, not yet written */
    char   buf[WSGB_RELAY_BUFSIZE];
} wsgb_relay_side_t;

struct wsgb_relay_pair_t {
    wsgb_relay_side_t  side[2];  /* 0 client, 1 backend */
    int                closed;   /* epoll mode: sockets closed, free later */
    wsgb_relay_pair_t *next;     /* epoll mode: closed in this batch */
};

static struct sockaddr_in wsgb_relay_backend;

static int wsgb_relay_nodelay(int fd)
{
    int one = 1;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Move what can be moved without waiting. Returns 1 once both directions
 * are done (the pair may be closed), 0 otherwise. */
static int wsgb_relay_pump(wsgb_relay_pair_t *p)
{
    int progress, i;

    do {
        progress = 0;
        for (i = 0; i < 2; ++i) {
            wsgb_relay_side_t *from = &p->side[i], *to = &p->side[!i];
            ssize_t n;

            if (from->len == 0 && from->rd_ready && !from->eof) {
                n = recv(from->fd, from->buf, sizeof(from->buf), MSG_DONTWAIT);
                if (n > 0) {
                    from->off = 0;
                    from->len = (size_t)n;
                    if ((size_t)n < sizeof(from->buf) && !from->hup) {
                        from->rd_ready = 0;
                    }
                    progress = 1;
                }
                else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    from->eof = 1;
                    from->len = 0;
                    progress = 1;
                }
                else if (errno == EAGAIN) {
                    from->rd_ready = 0;
                }
            }
            while (from->len > 0 && to->wr_ready && !to->shut) {
                n = send(to->fd, from->buf + from->off, from->len,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n > 0) {
                    from->off += (size_t)n;
                    from->len -= (size_t)n;
                    progress = 1;
                }
                else if (n < 0 && errno == EAGAIN) {
                    to->wr_ready = 0;
                }
                else if (!(n < 0 && errno == EINTR)) {
                    /* The peer is gone: drop what is left, end both ways. */
                    from->len = 0;
                    from->eof = to->eof = 1;
                    to->shut = 1;
                    progress = 1;
                }
            }
            if (from->eof && from->len == 0 && !to->shut) {
                shutdown(to->fd, SHUT_WR);
                to->shut = 1;
                progress = 1;
            }
        }
    } while (progress);
    return p->side[0].shut && p->side[1].shut;
}

static void wsgb_relay_event(wsgb_relay_side_t *s, uint32_t ev)
{
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->rd_ready = 1;
    }
    /* With edge triggering, a FIN that came with the last bytes has no
     * edge of its own: a short read must not end the reading then. */
    if (ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->hup = 1;
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        s->wr_ready = 1;
    }
}

/* A pair for the accepted client @a cfd, its backend connected, or NULL. */
static wsgb_relay_pair_t *wsgb_relay_open(int cfd)
{
    wsgb_relay_pair_t *p;
    int bfd, i;

    bfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bfd < 0) {
        return NULL;
    }
    if (connect(bfd, (struct sockaddr *)&wsgb_relay_backend,
                sizeof(wsgb_relay_backend)) < 0
        || (p = calloc(1, sizeof(*p))) == NULL) {
        close(bfd);
        return NULL;
    }
    wsgb_relay_nodelay(cfd);
    wsgb_relay_nodelay(bfd);
    p->side[0].fd = cfd;
    p->side[1].fd = bfd;
    for (i = 0; i < 2; ++i) {
        p->side[i].pair = p;
        p->side[i].rd_ready = p->side[i].wr_ready = 1;
    }
    return p;
}

/* Close both sockets (which also takes them out of any epoll set). */
static void wsgb_relay_close(wsgb_relay_pair_t *p)
{
    close(p->side[0].fd);
    close(p->side[1].fd);
    p->closed = 1;
}

/* Register both sockets of @a p once, edge-triggered; data.ptr is the
 * side. */
static int wsgb_relay_watch(int ep, wsgb_relay_pair_t *p)
{
    int i;

    for (i = 0; i < 2; ++i) {
        struct epoll_event ev;

        memset(&ev, 0, sizeof(ev));
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = &p->side[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, p->side[i].fd, &ev) < 0) {
            return -1;
        }
    }
    return 0;
}

/* --- one thread per connection ------------------------------------------ */

typedef struct wsgb_relay_pool_t {
    pthread_mutex_t mutex;
    pthread_cond_t  cond;
    int            *fds;      /* accepted, waiting for a thread */
    size_t          head, count, cap;
    size_t          idle;     /* threads waiting for a connection */
} wsgb_relay_pool_t;

static wsgb_relay_pool_t wsgb_relay_pool = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0
};

static void wsgb_relay_serve(int cfd)
{
    struct epoll_event evs[2];
    wsgb_relay_pair_t *p = wsgb_relay_open(cfd);
    int ep, n, i;

    if (p == NULL) {
        close(cfd);
        return;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0 || wsgb_relay_watch(ep, p) < 0) {
        if (ep >= 0) {
            close(ep);
        }
        wsgb_relay_close(p);
        free(p);
        return;
    }
    while (!wsgb_relay_pump(p)) {
        n = epoll_wait(ep, evs, 2, -1);
        for (i = 0; i < n; ++i) {
            wsgb_relay_event(evs[i].data.ptr, evs[i].events);
        }
    }
    close(ep);
    wsgb_relay_close(p);
    free(p);
}

static void *wsgb_relay_worker(void *arg)
{
    wsgb_relay_pool_t *pool = arg;

    for (;;) {
        int fd;

        pthread_mutex_lock(&pool->mutex);
        pool->idle++;
        while (pool->count == 0) {
            pthread_cond_wait(&pool->cond, &pool->mutex);
        }
        pool->idle--;
        fd = pool->fds[pool->head];
        pool->head = (pool->head + 1) % pool->cap;
        pool->count--;
        pthread_mutex_unlock(&pool->mutex);
        wsgb_relay_serve(fd);
    }
    return NULL;
}

static int wsgb_relay_run_threads(int lfd)
{
    wsgb_relay_pool_t *pool = &wsgb_relay_pool;
    pthread_attr_t attr;

    pool->cap = 65536;
    pool->fds = calloc(pool->cap, sizeof(int));
    if (pool->fds == NULL) {
        return 1;
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), spawn;
        pthread_t t;

        if (fd < 0) {
            continue;
        }
        pthread_mutex_lock(&pool->mutex);
        if (pool->count == pool->cap) {
            pthread_mutex_unlock(&pool->mutex);
            close(fd);
            continue;
        }
        pool->fds[(pool->head + pool->count) % pool->cap] = fd;
        pool->count++;
        spawn = pool->idle < pool->count;
        pthread_cond_signal(&pool->cond);
        pthread_mutex_unlock(&pool->mutex);
        if (spawn && pthread_create(&t, &attr, wsgb_relay_worker, pool) != 0) {
            fprintf(stderr, "wsgb-relay: cannot start a thread\n");
        }
    }
}

/* --- one thread, one epoll set ------------------------------------------ */

static int wsgb_relay_run_epoll(int lfd)
{
    struct epoll_event evs[WSGB_RELAY_EVENTS], lev;
    int ep = epoll_create1(EPOLL_CLOEXEC), n, i;

    memset(&lev, 0, sizeof(lev));
    lev.events = EPOLLIN;
    lev.data.ptr = NULL;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
        perror("wsgb-relay: epoll");
        return 1;
    }
    for (;;) {
        wsgb_relay_pair_t *closed = NULL, *p;

        n = epoll_wait(ep, evs, WSGB_RELAY_EVENTS, -1);
        for (i = 0; i < n; ++i) {
            wsgb_relay_side_t *s = evs[i].data.ptr;

            if (s == NULL) {
                int fd;

                while ((fd = accept4(lfd, NULL, NULL,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    p = wsgb_relay_open(fd);
                    if (p == NULL) {
                        close(fd);
                    }
                    else if (wsgb_relay_watch(ep, p) < 0
                             || wsgb_relay_pump(p)) {
                        wsgb_relay_close(p);
                        free(p);
                    }
                }
                continue;
            }
            p = s->pair;
            if (p->closed) {
                continue;   /* closed earlier in this batch */
            }
            wsgb_relay_event(s, evs[i].events);
            if (wsgb_relay_pump(p)) {
                wsgb_relay_close(p);
                p->next = closed;
                closed = p;
            }
        }
        while (closed != NULL) {
            p = closed;
            closed = p->next;
            free(p);
        }
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa;
    int port = 0, bport = 0, threads = 1, lfd, one = 1, i;

    for (i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) {
            port = atoi(argv[++i]);
        }
        else if (!strcmp(argv[i], "--backend-port") && i + 1 < argc) {
            bport = atoi(argv[++i]);
        }
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            ++i;
            if (!strcmp(argv[i], "thread")) {
                threads = 1;
            }
            else if (!strcmp(argv[i], "epoll")) {
                threads = 0;
            }
            else {
                fprintf(stderr, "wsgb-relay: --mode is thread or epoll\n");
                return 2;
            }
        }
        else {
            fprintf(stderr, "usage: wsgb-relay --port N --backend-port M "
                    "[--mode thread|epoll]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || bport <= 0 || bport > 65535) {
        fprintf(stderr, "wsgb-relay: --port and --backend-port are needed "
                "(1-65535)\n");
        return 2;
    }
    memset(&wsgb_relay_backend, 0, sizeof(wsgb_relay_backend));
    wsgb_relay_backend.sin_family = AF_INET;
    wsgb_relay_backend.sin_port = htons((uint16_t)bport);
    wsgb_relay_backend.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa = wsgb_relay_backend;
    sa.sin_port = htons((uint16_t)port);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC
                 | (threads ? 0 : SOCK_NONBLOCK), 0);
    if (lfd < 0
        || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0
        || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || listen(lfd, 4096) < 0) {
        perror("wsgb-relay: listen");
        return 1;
    }
    return threads ? wsgb_relay_run_threads(lfd) : wsgb_relay_run_epoll(lfd);
}
