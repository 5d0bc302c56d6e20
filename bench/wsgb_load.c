/*
 * wsgb-load: WebSocket load generator for the mod_ws_gateway benchmark.
 *
 * One thread, one epoll set, non-blocking sockets, loopback only. Modes:
 *
 *   echo      --conns N --size B: closed loop; each connection sends one
 *             message, waits for its echo, sends the next. Messages/s and
 *             a latency histogram (p50, p99, max) over the measured window.
 *   bulk      --conns N --size B --window W: each connection keeps W
 *             messages in flight; echoed payload bytes/s over the window
 *             (the same amount flows the other way at the same time).
 *   connrate  --conns K: K slots, each one cycle after another: connect,
 *             handshake, one echoed message, Close handshake, EOF. Cycles/s.
 *   idle      --conns N: open N connections (--ramp-conc handshakes in
 *             flight), write --ready-file, hold them until that file is
 *             removed (or --hold seconds), then verify each one with an
 *             echoed message and close them all.
 *   probe     one connection, one echoed message; exit 0 when it worked.
 *   free-port print a free TCP port on 127.0.0.1.
 *
 * Every echoed payload is checked byte for byte (the first 16 bytes carry
 * the connection number and sequence, so a proxy that mixes tunnels up is
 * caught). Errors are counted by kind, never retried silently. With
 * --cpu-pid, the CPU time of that process and its descendants is sampled
 * at the start and the end of the measured window.
 *
 * The last line on stdout is "RESULT key=value ...", for bench/run.sh.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wsgb.h"

#define WSGB_LOAD_RBUF      (256 * 1024)
#define WSGB_LOAD_IDENT     16
#define WSGB_LOAD_TICK_NS   100000000ull   /* housekeeping every 100 ms */
#define WSGB_LOAD_DRAIN_NS  5000000000ull  /* bound on the closing phase, */
#define WSGB_LOAD_DRAIN_PER 4000000ull     /* plus this per connection */
#define WSGB_NS             1000000000.0

enum wsgb_mode {
    WSGB_MODE_ECHO, WSGB_MODE_BULK, WSGB_MODE_CONNRATE, WSGB_MODE_IDLE,
    WSGB_MODE_PROBE
};

enum wsgb_conn_state {
    WSGB_C_FREE,         /* slot unused */
    WSGB_C_CONNECTING,
    WSGB_C_HANDSHAKE,    /* request sent, reading the 101 */
    WSGB_C_OPEN,
    WSGB_C_CLOSING,      /* our Close sent or queued: waiting for theirs */
    WSGB_C_WAIT_EOF      /* Close exchanged: waiting for the server's FIN */
};

enum wsgb_phase {
    WSGB_P_RAMP,         /* opening connections */
    WSGB_P_RUN,          /* warm-up and measured window */
    WSGB_P_HOLD,         /* idle: connections held */
    WSGB_P_VERIFY,       /* idle: one echo on each */
    WSGB_P_DRAIN,        /* closing everything */
    WSGB_P_DONE
};

/* Error kinds, reported separately. */
enum wsgb_err {
    WSGB_E_CONNECT, WSGB_E_HANDSHAKE, WSGB_E_RESET, WSGB_E_EOF,
    WSGB_E_HS_TIMEOUT, WSGB_E_TIMEOUT, WSGB_E_CLOSE_TIMEOUT,
    WSGB_E_MISMATCH, WSGB_E_PROTOCOL, WSGB_E_COUNT
};
/* hs_timeout: no 101 in time; timeout: an echo did not come back (or
 * could not be sent) in time; close_timeout: no Close or no EOF in time
 * after ours. */
static const char *const wsgb_err_names[WSGB_E_COUNT] = {
    "connect", "handshake", "reset", "eof", "hs_timeout", "timeout",
    "close_timeout", "mismatch", "protocol"
};

typedef struct wsgb_conn_t {
    int            fd;
    int            state;
    unsigned int   id;            /* unique per connection attempt */
    unsigned int   events;
    int            verified;      /* idle: its echo came back */
    int            want_close;    /* queue a Close once the send queue empties */
    char           key[25];
    char          *hs;            /* the 101 being read */
    size_t         hs_len;
    /* send queue: one frame, a small own part then a shared part */
    unsigned char  head[WSGB_FRAME_HDR_MAX + WSGB_LOAD_IDENT];
    size_t         head_len, head_off;
    const unsigned char *tail;
    size_t         tail_len, tail_off;
    uint64_t       sent_msgs;     /* messages queued */
    uint64_t       recv_msgs;     /* messages echoed back */
    /* frame reader */
    unsigned char  rh[WSGB_FRAME_HDR_MAX];
    size_t         rh_have;
    int            r_in_payload;
    int            r_op, r_fin;
    uint64_t       r_len, r_off;
    unsigned char  expect[WSGB_LOAD_IDENT];
    /* clocks */
    uint64_t       t_start;       /* connect started */
    uint64_t       t_sent;        /* echo: the outstanding message left */
    uint64_t       t_last;        /* last progress */
} wsgb_conn_t;

typedef struct wsgb_run_t {
    int            mode;
    struct sockaddr_in addr;
    const char    *host_header;
    const char    *path;
    unsigned int   conns;
    size_t         size;
    unsigned int   window;
    double         duration, warmup, timeout, hold;
    unsigned int   ramp_conc;
    const char    *ready_file;
    unsigned int   stages[8];     /* idle: hold at each of these counts */
    unsigned int   nstages, stage;
    long           cpu_pid;
    long           backend_pid;
    int            proxy_cpu, load_cpu;
    double         max_time;

    int            ep;
    wsgb_conn_t   *c;             /* conns slots */
    unsigned char *pattern;       /* payload bytes, plain */
    unsigned char *masked;        /* the same, masked with wsgb_load_key */
    unsigned char *rbuf;
    unsigned int   next_id;
    unsigned int   attempts;      /* connections started */
    unsigned int   active;        /* slots not FREE */
    unsigned int   opened;        /* handshakes completed */
    unsigned int   in_ramp;       /* CONNECTING or HANDSHAKE */
    int            phase;
    uint64_t       now, t0, win_start, win_end, phase_end, hard_end;
    uint64_t       next_tick;
    int            in_window;
    /* results */
    uint64_t       msgs;          /* completed in the window */
    uint64_t       msgs_all;      /* completed in the whole run */
    uint64_t       bytes;         /* echoed payload bytes in the window */
    uint64_t       cycles;        /* connrate: cycles in the window */
    uint64_t       cycles_all;
    uint64_t       err[WSGB_E_COUNT];
    uint64_t       close_timeouts;
    unsigned int   established;   /* idle: open at the end of the ramp */
    unsigned int   dropped;       /* idle: lost while held */
    unsigned int   verified;
    wsgb_hist_t    lat;           /* echo latency, connrate cycle time */
    wsgb_hist_t    hs_lat;        /* connect to 101 */
    double         cpu_start, cpu_end;
    double         bcpu_start, bcpu_end;   /* backend process */
    double         gen_start, gen_end;     /* this process */
    double         pbusy_start[2], pbusy_end[2];   /* proxy CPU: busy, all */
    double         lbusy_start[2], lbusy_end[2];   /* load CPU */
    unsigned int   tree_procs, tree_threads;
    uint64_t       ramp_ns;
    uint64_t       stage_t0, hold_t0;
    unsigned int   stage_est[8];  /* open when each stage was reached */
    double         stage_ramp[8]; /* seconds from the start */
} wsgb_run_t;

static const unsigned char wsgb_load_key[4] = { 0x37, 0xfa, 0x21, 0x3d };
static volatile sig_atomic_t wsgb_load_interrupted;

static void wsgb_load_on_signal(int sig)
{
    (void)sig;
    wsgb_load_interrupted = 1;
}

/* ----- CPU time of a process tree, from /proc ----------------------------- */

typedef struct wsgb_proc_t {
    long pid, ppid;
    double ticks;
    long threads;
} wsgb_proc_t;

/* Fields of /proc/PID/stat after the command name. */
static int wsgb_proc_read(long pid, wsgb_proc_t *p)
{
    char path[64], buf[1024], *s;
    unsigned long utime, stime;
    long cutime, cstime, threads, ppid;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    f = fopen(path, "r");
    if (f == NULL) {
        return -1;
    }
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    s = strrchr(buf, ')');
    if (s == NULL) {
        return -1;
    }
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime cutime cstime priority nice num_threads */
    if (sscanf(s + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu "
                      "%ld %ld %*d %*d %ld", &ppid, &utime, &stime, &cutime,
               &cstime, &threads) != 6) {
        return -1;
    }
    p->pid = pid;
    p->ppid = ppid;
    p->ticks = (double)utime + (double)stime + (double)cutime + (double)cstime;
    p->threads = threads;
    return 0;
}

/* CPU seconds of @a root and all its descendants (exited children that
 * were reaped are in their parent's cutime/cstime). */
static double wsgb_proc_tree_cpu(long root, unsigned int *procs,
                                 unsigned int *threads)
{
    wsgb_proc_t *all = NULL;
    size_t n = 0, cap = 0, i;
    DIR *d = opendir("/proc");
    struct dirent *de;
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);
    int changed;
    char *in_tree;

    *procs = *threads = 0;
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        wsgb_proc_t p;

        if (!isdigit((unsigned char)de->d_name[0])) {
            continue;
        }
        if (wsgb_proc_read(atol(de->d_name), &p) < 0) {
            continue;
        }
        if (n == cap) {
            wsgb_proc_t *grown;

            cap = cap ? 2 * cap : 256;
            grown = realloc(all, cap * sizeof(*all));
            if (grown == NULL) {
                break;
            }
            all = grown;
        }
        all[n++] = p;
    }
    closedir(d);
    in_tree = calloc(n ? n : 1, 1);
    if (in_tree == NULL) {
        free(all);
        return -1;
    }
    for (i = 0; i < n; ++i) {
        in_tree[i] = all[i].pid == root;
    }
    do {
        size_t j;

        changed = 0;
        for (i = 0; i < n; ++i) {
            if (in_tree[i]) {
                continue;
            }
            for (j = 0; j < n; ++j) {
                if (in_tree[j] && all[j].pid == all[i].ppid) {
                    in_tree[i] = 1;
                    changed = 1;
                    break;
                }
            }
        }
    } while (changed);
    for (i = 0; i < n; ++i) {
        if (in_tree[i]) {
            total += all[i].ticks;
            (*procs)++;
            *threads += (unsigned int)all[i].threads;
        }
    }
    free(in_tree);
    free(all);
    return *procs ? total / (double)hz : -1;
}

/* Busy and total jiffies of CPU @a cpu from /proc/stat. */
static void wsgb_proc_cpu_busy(int cpu, double out[2])
{
    char want[16], line[512];
    FILE *f = fopen("/proc/stat", "r");

    out[0] = out[1] = -1;
    if (f == NULL || cpu < 0) {
        if (f) {
            fclose(f);
        }
        return;
    }
    snprintf(want, sizeof(want), "cpu%d ", cpu);
    while (fgets(line, sizeof(line), f)) {
        unsigned long long v[8] = { 0 };

        if (strncmp(line, want, strlen(want)) != 0) {
            continue;
        }
        /* user nice system idle iowait irq softirq steal */
        sscanf(line + strlen(want), "%llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
        out[1] = (double)(v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6]
                          + v[7]);
        out[0] = out[1] - (double)(v[3] + v[4]);
        break;
    }
    fclose(f);
}

/* CPU seconds of one process (not its children). */
static double wsgb_proc_cpu(long pid)
{
    wsgb_proc_t p;

    if (pid <= 0 || wsgb_proc_read(pid, &p) < 0) {
        return -1;
    }
    return p.ticks / (double)sysconf(_SC_CLK_TCK);
}

/* ----- messages -------------------------------------------------------------- */

/* The first bytes of every payload: connection id, sequence, a tag. */
static void wsgb_load_ident(unsigned char out[WSGB_LOAD_IDENT], unsigned int id,
                            uint64_t seq)
{
    int i;

    for (i = 0; i < 4; ++i) {
        out[i] = (unsigned char)(id >> (8 * i));
    }
    for (i = 0; i < 8; ++i) {
        out[4 + i] = (unsigned char)(seq >> (8 * i));
    }
    memcpy(out + 12, "wsgb", 4);
}

static void wsgb_load_err(wsgb_run_t *run, int kind)
{
    run->err[kind]++;
}

static void wsgb_load_set_events(wsgb_run_t *run, wsgb_conn_t *c,
                                 unsigned int ev)
{
    struct epoll_event e;

    if (c->events == ev) {
        return;
    }
    memset(&e, 0, sizeof(e));
    e.events = ev;
    e.data.ptr = c;
    epoll_ctl(run->ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void wsgb_load_free(wsgb_run_t *run, wsgb_conn_t *c)
{
    if (c->state == WSGB_C_FREE) {
        return;
    }
    if (c->state == WSGB_C_CONNECTING || c->state == WSGB_C_HANDSHAKE) {
        run->in_ramp--;
    }
    epoll_ctl(run->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->hs);
    c->hs = NULL;
    c->state = WSGB_C_FREE;
    run->active--;
}

/* A connection failed: count it and let it go. */
static void wsgb_load_fail(wsgb_run_t *run, wsgb_conn_t *c, int kind)
{
    wsgb_load_err(run, kind);
    if (run->phase == WSGB_P_HOLD && c->state == WSGB_C_OPEN) {
        run->dropped++;
    }
    wsgb_load_free(run, c);
}

static int wsgb_load_send_pending(const wsgb_conn_t *c)
{
    return c->head_off < c->head_len || c->tail_off < c->tail_len;
}

/* Queue one data message (the send queue must be empty). */
static void wsgb_load_queue_msg(wsgb_run_t *run, wsgb_conn_t *c)
{
    unsigned char ident[WSGB_LOAD_IDENT];
    size_t idlen = run->size < WSGB_LOAD_IDENT ? run->size : WSGB_LOAD_IDENT;
    size_t h;

    h = wsgb_frame_header(c->head, 1, WSGB_OP_BINARY, run->size,
                          wsgb_load_key);
    wsgb_load_ident(ident, c->id, c->sent_msgs);
    wsgb_mask(c->head + h, ident, idlen, wsgb_load_key, 0);
    c->head_len = h + idlen;
    c->head_off = 0;
    c->tail = run->masked + idlen;
    c->tail_len = run->size - idlen;
    c->tail_off = 0;
    c->sent_msgs++;
    if (c->sent_msgs == c->recv_msgs + 1) {
        c->t_sent = run->now;
    }
}

static void wsgb_load_queue_close(wsgb_conn_t *c)
{
    static const unsigned char code[2] = { 0x03, 0xe8 };   /* 1000 */
    size_t h = wsgb_frame_header(c->head, 1, WSGB_OP_CLOSE, 2, wsgb_load_key);

    wsgb_mask(c->head + h, code, 2, wsgb_load_key, 0);
    c->head_len = h + 2;
    c->head_off = 0;
    c->tail = NULL;
    c->tail_len = c->tail_off = 0;
    c->want_close = 0;
}

/* Write what is queued; returns -1 on a hard error (already counted). */
static int wsgb_load_flush(wsgb_run_t *run, wsgb_conn_t *c)
{
    while (wsgb_load_send_pending(c)) {
        struct iovec iov[2];
        int n = 0;
        ssize_t w;

        if (c->head_off < c->head_len) {
            iov[n].iov_base = c->head + c->head_off;
            iov[n].iov_len = c->head_len - c->head_off;
            n++;
        }
        if (c->tail_off < c->tail_len) {
            iov[n].iov_base = (void *)(c->tail + c->tail_off);
            iov[n].iov_len = c->tail_len - c->tail_off;
            n++;
        }
        w = writev(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                wsgb_load_set_events(run, c, EPOLLIN | EPOLLOUT);
                return 0;
            }
            wsgb_load_fail(run, c, WSGB_E_RESET);
            return -1;
        }
        c->t_last = run->now;
        if (c->head_off < c->head_len) {
            size_t k = c->head_len - c->head_off;

            if ((size_t)w < k) {
                c->head_off += (size_t)w;
                continue;
            }
            c->head_off = c->head_len;
            w -= (ssize_t)k;
        }
        c->tail_off += (size_t)w;
    }
    /* The queue is empty: more to queue? */
    if (c->want_close) {
        wsgb_load_queue_close(c);
        return wsgb_load_flush(run, c);
    }
    if (run->mode == WSGB_MODE_BULK && c->state == WSGB_C_OPEN
        && run->phase == WSGB_P_RUN
        && c->sent_msgs - c->recv_msgs < run->window) {
        wsgb_load_queue_msg(run, c);
        return wsgb_load_flush(run, c);
    }
    wsgb_load_set_events(run, c, EPOLLIN);
    return 0;
}

/* Start the closing handshake on @a c (after what is being sent). */
static int wsgb_load_start_close(wsgb_run_t *run, wsgb_conn_t *c)
{
    if (c->state != WSGB_C_OPEN) {
        return 0;
    }
    c->state = WSGB_C_CLOSING;
    c->t_last = run->now;
    if (wsgb_load_send_pending(c)) {
        c->want_close = 1;
        return 0;
    }
    wsgb_load_queue_close(c);
    return wsgb_load_flush(run, c);
}

/* ----- connecting ----------------------------------------------------------- */

static wsgb_conn_t *wsgb_load_connect(wsgb_run_t *run, wsgb_conn_t *c)
{
    struct epoll_event e;
    int fd, one = 1;

    run->attempts++;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        wsgb_load_err(run, WSGB_E_CONNECT);
        return NULL;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->id = run->next_id++;
    c->t_start = c->t_last = run->now;
    if (connect(fd, (struct sockaddr *)&run->addr, sizeof(run->addr)) < 0
        && errno != EINPROGRESS) {
        close(fd);
        wsgb_load_err(run, WSGB_E_CONNECT);
        return NULL;
    }
    c->state = WSGB_C_CONNECTING;
    c->events = EPOLLOUT;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLOUT;
    e.data.ptr = c;
    if (epoll_ctl(run->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
        close(fd);
        c->state = WSGB_C_FREE;
        wsgb_load_err(run, WSGB_E_CONNECT);
        return NULL;
    }
    run->active++;
    run->in_ramp++;
    return c;
}

static void wsgb_load_send_request(wsgb_run_t *run, wsgb_conn_t *c)
{
    unsigned char raw[16];
    char req[512];
    int i, n;
    ssize_t w;

    for (i = 0; i < 16; ++i) {
        raw[i] = (unsigned char)(rand() & 0xff);
    }
    wsgb_base64(raw, sizeof(raw), c->key);
    n = snprintf(req, sizeof(req),
                 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n\r\n",
                 run->path, run->host_header, c->key);
    /* A fresh socket takes a few hundred bytes at once. */
    w = send(c->fd, req, (size_t)n, MSG_NOSIGNAL);
    if (w != n) {
        wsgb_load_fail(run, c, w < 0 && errno != EAGAIN ? WSGB_E_CONNECT
                                                       : WSGB_E_HANDSHAKE);
        return;
    }
    c->hs = malloc(2048);
    if (c->hs == NULL) {
        wsgb_load_fail(run, c, WSGB_E_HANDSHAKE);
        return;
    }
    c->hs_len = 0;
    c->state = WSGB_C_HANDSHAKE;
    c->t_last = run->now;
    wsgb_load_set_events(run, c, EPOLLIN);
}

/* ----- receiving ---------------------------------------------------------------- */

static void wsgb_load_on_open(wsgb_run_t *run, wsgb_conn_t *c);
static void wsgb_load_on_message(wsgb_run_t *run, wsgb_conn_t *c);

/* Check @a n payload bytes at offset c->r_off of the current message. */
static int wsgb_load_verify(const wsgb_run_t *run, const wsgb_conn_t *c,
                            const unsigned char *p, size_t n)
{
    uint64_t off = c->r_off;
    size_t idlen = run->size < WSGB_LOAD_IDENT ? run->size : WSGB_LOAD_IDENT;

    if (off < idlen) {
        size_t k = idlen - (size_t)off < n ? idlen - (size_t)off : n;

        if (memcmp(p, c->expect + off, k)) {
            return -1;
        }
        p += k;
        n -= k;
        off += k;
    }
    return n == 0 || memcmp(p, run->pattern + off, n) == 0 ? 0 : -1;
}

/* Feed server frames; returns -1 when the connection was dropped. */
static int wsgb_load_frames(wsgb_run_t *run, wsgb_conn_t *c,
                            const unsigned char *p, size_t len)
{
    while (len > 0) {
        if (!c->r_in_payload) {
            unsigned int l7;

            /* Gather the header, across reads. */
            while (len > 0
                   && c->rh_have < wsgb_frame_header_len(c->rh, c->rh_have)) {
                c->rh[c->rh_have++] = *p++;
                --len;
            }
            if (c->rh_have < wsgb_frame_header_len(c->rh, c->rh_have)) {
                return 0;
            }
            if (c->rh[1] & 0x80 || c->rh[0] & 0x70) {
                wsgb_load_fail(run, c, WSGB_E_PROTOCOL);
                return -1;      /* servers never mask; no extensions */
            }
            l7 = c->rh[1] & 0x7f;
            if (l7 == 126) {
                c->r_len = (uint64_t)c->rh[2] << 8 | c->rh[3];
            }
            else if (l7 == 127) {
                int i;

                c->r_len = 0;
                for (i = 0; i < 8; ++i) {
                    c->r_len = c->r_len << 8 | c->rh[2 + i];
                }
            }
            else {
                c->r_len = l7;
            }
            c->r_op = c->rh[0] & 0x0f;
            c->r_fin = c->rh[0] & 0x80;
            c->r_off = 0;
            c->rh_have = 0;
            if (c->r_op == WSGB_OP_BINARY || c->r_op == WSGB_OP_TEXT) {
                if (c->r_len != run->size || !c->r_fin
                    || c->recv_msgs >= c->sent_msgs) {
                    fprintf(stderr, "wsgb-load: connection %u: unexpected "
                            "frame: %llu bytes (want %zu), fin %d, %llu "
                            "received of %llu sent, state %d, phase %d\n",
                            c->id, (unsigned long long)c->r_len, run->size,
                            c->r_fin ? 1 : 0,
                            (unsigned long long)c->recv_msgs,
                            (unsigned long long)c->sent_msgs, c->state,
                            run->phase);
                    wsgb_load_fail(run, c, WSGB_E_MISMATCH);
                    return -1;
                }
                wsgb_load_ident(c->expect, c->id, c->recv_msgs);
            }
            else if (c->r_op != WSGB_OP_CLOSE && c->r_op != WSGB_OP_PONG
                     && c->r_op != WSGB_OP_PING) {
                fprintf(stderr, "wsgb-load: connection %u: opcode %d\n",
                        c->id, c->r_op);
                wsgb_load_fail(run, c, WSGB_E_PROTOCOL);
                return -1;
            }
            c->r_in_payload = c->r_len > 0;
        }
        else {
            size_t n = len < c->r_len - c->r_off ? len
                                                 : (size_t)(c->r_len - c->r_off);

            if (c->r_op == WSGB_OP_BINARY || c->r_op == WSGB_OP_TEXT) {
                if (wsgb_load_verify(run, c, p, n) < 0) {
                    fprintf(stderr, "wsgb-load: connection %u: message %llu "
                            "differs in bytes %llu-%llu, state %d, phase %d\n",
                            c->id, (unsigned long long)c->recv_msgs,
                            (unsigned long long)c->r_off,
                            (unsigned long long)(c->r_off + n), c->state,
                            run->phase);
                    wsgb_load_fail(run, c, WSGB_E_MISMATCH);
                    return -1;
                }
                if (run->in_window) {
                    run->bytes += n;
                }
            }
            c->r_off += n;
            p += n;
            len -= n;
            c->r_in_payload = c->r_off < c->r_len;
        }
        if (!c->r_in_payload) {
            /* End of a frame. */
            c->t_last = run->now;
            if (c->r_op == WSGB_OP_CLOSE) {
                if (c->state == WSGB_C_OPEN) {
                    /* The server closes first: answer, then wait for EOF. */
                    wsgb_load_err(run, WSGB_E_EOF);
                    c->state = WSGB_C_CLOSING;
                    if (!wsgb_load_send_pending(c)) {
                        wsgb_load_queue_close(c);
                        if (wsgb_load_flush(run, c) < 0) {
                            return -1;
                        }
                    }
                    else {
                        c->want_close = 1;
                    }
                }
                c->state = WSGB_C_WAIT_EOF;
                return 0;       /* nothing after a Close counts */
            }
            if (c->r_op == WSGB_OP_BINARY || c->r_op == WSGB_OP_TEXT) {
                c->recv_msgs++;
                wsgb_load_on_message(run, c);
                if (c->state == WSGB_C_FREE) {
                    return -1;
                }
            }
        }
    }
    return 0;
}

/* Bytes of the 101; returns -1 when the connection was dropped. */
static int wsgb_load_handshake(wsgb_run_t *run, wsgb_conn_t *c,
                               const unsigned char *p, size_t len)
{
    char *end, want[29];
    const char *acc;
    size_t alen, hlen, take;

    take = len < 2047 - c->hs_len ? len : 2047 - c->hs_len;
    memcpy(c->hs + c->hs_len, p, take);
    c->hs_len += take;
    c->hs[c->hs_len] = '\0';
    end = strstr(c->hs, "\r\n\r\n");
    if (end == NULL) {
        if (c->hs_len >= 2047) {
            wsgb_load_fail(run, c, WSGB_E_HANDSHAKE);
            return -1;
        }
        return 0;
    }
    hlen = (size_t)(end + 4 - c->hs);
    end[2] = '\0';
    wsgb_ws_accept(c->key, strlen(c->key), want);
    acc = wsgb_http_header(c->hs, "Sec-WebSocket-Accept", &alen);
    if (strncmp(c->hs, "HTTP/1.1 101", 12) || acc == NULL || alen != 28
        || memcmp(acc, want, 28)) {
        wsgb_load_fail(run, c, WSGB_E_HANDSHAKE);
        return -1;
    }
    free(c->hs);
    c->hs = NULL;
    run->in_ramp--;
    run->opened++;
    c->state = WSGB_C_OPEN;
    c->t_last = run->now;
    wsgb_hist_add(&run->hs_lat, run->now - c->t_start);
    wsgb_load_on_open(run, c);
    if (c->state == WSGB_C_FREE) {
        return -1;
    }
    /* Bytes after the 101 (a server may send at once). */
    hlen = hlen - (c->hs_len - take);
    if (hlen < len) {
        return wsgb_load_frames(run, c, p + hlen, len - hlen);
    }
    return 0;
}

static void wsgb_load_readable(wsgb_run_t *run, wsgb_conn_t *c)
{
    int rounds;

    for (rounds = 0; rounds < 8 && c->state != WSGB_C_FREE; ++rounds) {
        ssize_t n = recv(c->fd, run->rbuf, WSGB_LOAD_RBUF, 0);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                wsgb_load_fail(run, c, WSGB_E_RESET);
            }
            return;
        }
        if (n == 0) {
            if (c->state == WSGB_C_WAIT_EOF) {
                /* A clean end. */
                if (run->mode == WSGB_MODE_CONNRATE
                    && run->phase == WSGB_P_RUN) {
                    run->cycles_all++;
                    if (run->in_window) {
                        run->cycles++;
                        wsgb_hist_add(&run->lat, run->now - c->t_start);
                    }
                }
                wsgb_load_free(run, c);
            }
            else {
                wsgb_load_fail(run, c, c->state == WSGB_C_HANDSHAKE
                                       ? WSGB_E_HANDSHAKE : WSGB_E_EOF);
            }
            return;
        }
        if (c->state == WSGB_C_HANDSHAKE) {
            if (wsgb_load_handshake(run, c, run->rbuf, (size_t)n) < 0) {
                return;
            }
        }
        else if (c->state == WSGB_C_WAIT_EOF) {
            /* Bytes after the server's Close are ignored. */
        }
        else if (wsgb_load_frames(run, c, run->rbuf, (size_t)n) < 0) {
            return;
        }
        if ((size_t)n < WSGB_LOAD_RBUF) {
            return;
        }
    }
}

static void wsgb_load_event(wsgb_run_t *run, wsgb_conn_t *c, unsigned int ev)
{
    if (c->state == WSGB_C_CONNECTING) {
        int err = 0;
        socklen_t elen = sizeof(err);

        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        if (err || ev & (EPOLLERR | EPOLLHUP)) {
            wsgb_load_fail(run, c, WSGB_E_CONNECT);
            return;
        }
        wsgb_load_send_request(run, c);
        return;
    }
    if (ev & EPOLLOUT && wsgb_load_send_pending(c)) {
        if (wsgb_load_flush(run, c) < 0) {
            return;
        }
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        wsgb_load_readable(run, c);
    }
}

/* ----- what each mode does on events --------------------------------------------- */

static void wsgb_load_on_open(wsgb_run_t *run, wsgb_conn_t *c)
{
    switch (run->mode) {
    case WSGB_MODE_ECHO:
    case WSGB_MODE_BULK:
        if (run->phase == WSGB_P_RUN) {
            wsgb_load_queue_msg(run, c);
            wsgb_load_flush(run, c);
        }
        break;
    case WSGB_MODE_CONNRATE:
        wsgb_load_queue_msg(run, c);
        wsgb_load_flush(run, c);
        break;
    default:
        break;          /* idle, probe: nothing until VERIFY */
    }
}

static void wsgb_load_on_message(wsgb_run_t *run, wsgb_conn_t *c)
{
    uint64_t lat = run->now - c->t_sent;

    run->msgs_all++;
    if (run->in_window) {
        run->msgs++;
        if (run->mode == WSGB_MODE_ECHO) {
            wsgb_hist_add(&run->lat, lat);
        }
    }
    if (c->sent_msgs > c->recv_msgs) {
        c->t_sent = run->now;   /* approximation for pipelined bulk */
    }
    switch (run->mode) {
    case WSGB_MODE_ECHO:
        if (run->phase == WSGB_P_RUN && c->state == WSGB_C_OPEN) {
            wsgb_load_queue_msg(run, c);
            wsgb_load_flush(run, c);
        }
        else if (c->state == WSGB_C_OPEN) {
            wsgb_load_start_close(run, c);
        }
        break;
    case WSGB_MODE_BULK:
        if (c->state == WSGB_C_OPEN && !wsgb_load_send_pending(c)) {
            wsgb_load_flush(run, c);    /* queues the next when allowed */
        }
        break;
    case WSGB_MODE_CONNRATE:
        wsgb_load_start_close(run, c);
        break;
    default:
        if (!c->verified) {
            c->verified = 1;
            run->verified++;
        }
        break;
    }
}

/* ----- phases ------------------------------------------------------------------ */

/* How many connections the ramp opens in all: the current stage's. */
static unsigned int wsgb_load_ramp_limit(const wsgb_run_t *run)
{
    return run->nstages ? run->stages[run->stage] : run->conns;
}

/* Connections open now. */
static unsigned int wsgb_load_open_count(const wsgb_run_t *run)
{
    unsigned int i, n = 0;

    for (i = 0; i < run->conns; ++i) {
        n += run->c[i].state == WSGB_C_OPEN;
    }
    return n;
}

/* Start connections: connrate refills every free slot; the other modes
 * use each slot once, with at most ramp_conc handshakes in flight. */
static void wsgb_load_fill_slots(wsgb_run_t *run)
{
    unsigned int i;

    if (run->mode == WSGB_MODE_CONNRATE) {
        for (i = 0; i < run->conns; ++i) {
            if (run->c[i].state == WSGB_C_FREE) {
                wsgb_load_connect(run, &run->c[i]);
            }
        }
        return;
    }
    while (run->attempts < wsgb_load_ramp_limit(run)
           && run->in_ramp < run->ramp_conc) {
        wsgb_load_connect(run, &run->c[run->attempts]);
    }
}

static void wsgb_load_enter_drain(wsgb_run_t *run)
{
    unsigned int i;

    run->phase = WSGB_P_DRAIN;
    run->phase_end = run->now + WSGB_LOAD_DRAIN_NS
                     + (uint64_t)run->conns * WSGB_LOAD_DRAIN_PER;
    for (i = 0; i < run->conns; ++i) {
        wsgb_conn_t *c = &run->c[i];

        if (c->state == WSGB_C_CONNECTING || c->state == WSGB_C_HANDSHAKE) {
            wsgb_load_free(run, c);
        }
        else if (c->state == WSGB_C_OPEN) {
            /* echo: a message in flight closes when it is back. */
            if (run->mode == WSGB_MODE_ECHO && c->recv_msgs < c->sent_msgs) {
                continue;
            }
            wsgb_load_start_close(run, c);
        }
    }
}

static void wsgb_load_write_ready(wsgb_run_t *run)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", run->ready_file);
    f = fopen(tmp, "w");
    if (f == NULL) {
        perror("wsgb-load: ready file");
        return;
    }
    fprintf(f, "stage=%u established=%u failed=%u\n",
            wsgb_load_ramp_limit(run), run->established,
            run->attempts - run->established);
    fclose(f);
    rename(tmp, run->ready_file);
}

static void wsgb_load_window_start(wsgb_run_t *run)
{
    run->in_window = 1;
    if (run->cpu_pid > 0) {
        run->cpu_start = wsgb_proc_tree_cpu(run->cpu_pid, &run->tree_procs,
                                            &run->tree_threads);
    }
    run->bcpu_start = wsgb_proc_cpu(run->backend_pid);
    run->gen_start = wsgb_proc_cpu((long)getpid());
    wsgb_proc_cpu_busy(run->proxy_cpu, run->pbusy_start);
    wsgb_proc_cpu_busy(run->load_cpu, run->lbusy_start);
}

static void wsgb_load_window_end(wsgb_run_t *run)
{
    run->in_window = 0;
    if (run->cpu_pid > 0) {
        run->cpu_end = wsgb_proc_tree_cpu(run->cpu_pid, &run->tree_procs,
                                          &run->tree_threads);
    }
    run->bcpu_end = wsgb_proc_cpu(run->backend_pid);
    run->gen_end = wsgb_proc_cpu((long)getpid());
    wsgb_proc_cpu_busy(run->proxy_cpu, run->pbusy_end);
    wsgb_proc_cpu_busy(run->load_cpu, run->lbusy_end);
}

/* Busy fraction of a CPU between two samples, -1 if unknown. */
static double wsgb_load_busy(const double a[2], const double b[2])
{
    if (a[1] < 0 || b[1] <= a[1]) {
        return -1;
    }
    return (b[0] - a[0]) / (b[1] - a[1]);
}

/* Stalled operations. */
static void wsgb_load_check_stalls(wsgb_run_t *run)
{
    uint64_t limit = (uint64_t)(run->timeout * WSGB_NS);
    unsigned int i;

    for (i = 0; i < run->conns; ++i) {
        wsgb_conn_t *c = &run->c[i];
        int waiting;

        if (c->state == WSGB_C_FREE) {
            continue;
        }
        waiting = c->state != WSGB_C_OPEN || wsgb_load_send_pending(c)
                  || c->recv_msgs < c->sent_msgs;
        if (run->phase == WSGB_P_DRAIN
            && (c->state == WSGB_C_CLOSING || c->state == WSGB_C_WAIT_EOF)) {
            continue;           /* bounded by the drain phase */
        }
        if (waiting && run->now - c->t_last > limit) {
            wsgb_load_fail(run, c,
                           c->state == WSGB_C_CONNECTING
                           || c->state == WSGB_C_HANDSHAKE ? WSGB_E_HS_TIMEOUT
                           : c->state == WSGB_C_OPEN ? WSGB_E_TIMEOUT
                           : WSGB_E_CLOSE_TIMEOUT);
        }
    }
}

static void wsgb_load_tick(wsgb_run_t *run)
{
    unsigned int i;

    switch (run->phase) {
    case WSGB_P_RAMP:
        wsgb_load_fill_slots(run);
        if (run->attempts >= wsgb_load_ramp_limit(run) && run->in_ramp == 0) {
            /* ramp_ns: time spent opening connections, all stages. */
            run->ramp_ns += run->now - run->stage_t0;
            run->established = wsgb_load_open_count(run);
            if (run->nstages) {
                run->stage_est[run->stage] = run->established;
                run->stage_ramp[run->stage] =
                    (double)(run->now - run->stage_t0) / WSGB_NS;
            }
            fprintf(stderr, "wsgb-load: %u connections open after %.2f s\n",
                    run->established,
                    (double)(run->now - run->stage_t0) / WSGB_NS);
            run->hold_t0 = run->now;
            if (run->mode == WSGB_MODE_IDLE || run->mode == WSGB_MODE_PROBE) {
                run->phase = WSGB_P_HOLD;
                run->phase_end = run->now + (uint64_t)(run->hold * WSGB_NS);
                if (run->ready_file) {
                    wsgb_load_write_ready(run);
                }
            }
            else {
                run->phase = WSGB_P_RUN;
                run->win_start = run->now + (uint64_t)(run->warmup * WSGB_NS);
                run->win_end = run->win_start
                               + (uint64_t)(run->duration * WSGB_NS);
                for (i = 0; i < run->conns; ++i) {
                    if (run->c[i].state == WSGB_C_OPEN) {
                        wsgb_load_on_open(run, &run->c[i]);
                    }
                }
            }
        }
        break;
    case WSGB_P_RUN:
        if (run->mode == WSGB_MODE_CONNRATE && run->now < run->win_end) {
            wsgb_load_fill_slots(run);
        }
        if (!run->in_window && run->now >= run->win_start
            && run->now < run->win_end) {
            wsgb_load_window_start(run);
        }
        if (run->now >= run->win_end) {
            if (run->in_window) {
                wsgb_load_window_end(run);
            }
            if (run->mode == WSGB_MODE_CONNRATE) {
                /* Let the cycles in flight finish (not counted). */
                run->phase = WSGB_P_DRAIN;
                run->phase_end = run->now + WSGB_LOAD_DRAIN_NS
                                 + (uint64_t)run->conns * WSGB_LOAD_DRAIN_PER;
            }
            else {
                wsgb_load_enter_drain(run);
            }
        }
        break;
    case WSGB_P_HOLD:
        if (run->now >= run->phase_end
            || (run->ready_file && access(run->ready_file, F_OK) != 0)) {
            if (run->nstages && run->stage + 1 < run->nstages) {
                run->stage++;       /* the next stage: open more */
                run->stage_t0 = run->now;
                run->phase = WSGB_P_RAMP;
                break;
            }
            fprintf(stderr, "wsgb-load: held for %.2f s; verifying\n",
                    (double)(run->now - run->hold_t0) / WSGB_NS);
            run->phase = WSGB_P_VERIFY;
            run->phase_end = run->now + (uint64_t)(run->timeout * WSGB_NS);
            for (i = 0; i < run->conns; ++i) {
                wsgb_conn_t *c = &run->c[i];

                if (c->state == WSGB_C_OPEN) {
                    wsgb_load_queue_msg(run, c);
                    wsgb_load_flush(run, c);
                }
            }
        }
        break;
    case WSGB_P_VERIFY: {
        /* Done when no open connection still waits for its echo. */
        int waiting = 0;

        for (i = 0; i < run->conns && !waiting; ++i) {
            waiting = run->c[i].state == WSGB_C_OPEN && !run->c[i].verified;
        }
        if (!waiting || run->now >= run->phase_end) {
            fprintf(stderr, "wsgb-load: %u verified; closing\n", run->verified);
            wsgb_load_enter_drain(run);
        }
        break;
    }
    case WSGB_P_DRAIN:
        if (run->active == 0) {
            run->phase = WSGB_P_DONE;
        }
        else if (run->now >= run->phase_end) {
            for (i = 0; i < run->conns; ++i) {
                if (run->c[i].state != WSGB_C_FREE) {
                    run->close_timeouts++;
                    wsgb_load_free(run, &run->c[i]);
                }
            }
            run->phase = WSGB_P_DONE;
        }
        if (run->phase == WSGB_P_DONE && run->mode == WSGB_MODE_IDLE) {
            fprintf(stderr, "wsgb-load: closed (%llu did not close in time)\n",
                    (unsigned long long)run->close_timeouts);
        }
        break;
    default:
        break;
    }
}

/* ----- report --------------------------------------------------------------------- */

static uint64_t wsgb_load_errors(const wsgb_run_t *run)
{
    uint64_t n = 0;
    int i;

    for (i = 0; i < WSGB_E_COUNT; ++i) {
        n += run->err[i];
    }
    return n;
}

static void wsgb_load_report(const wsgb_run_t *run, int aborted)
{
    static const char *const names[] = { "echo", "bulk", "connrate", "idle",
                                         "probe" };
    double win = run->duration;
    double cpu = run->cpu_pid > 0 && run->cpu_start >= 0 && run->cpu_end >= 0
                 ? run->cpu_end - run->cpu_start : -1;
    int i;

    printf("RESULT mode=%s conns=%u size=%zu", names[run->mode], run->conns,
           run->size);
    switch (run->mode) {
    case WSGB_MODE_ECHO:
        printf(" msgs=%llu msgs_all=%llu rate=%.1f p50_us=%.1f p99_us=%.1f "
               "max_us=%.1f mean_us=%.1f",
               (unsigned long long)run->msgs,
               (unsigned long long)run->msgs_all, (double)run->msgs / win,
               wsgb_hist_quantile(&run->lat, 0.50) / 1e3,
               wsgb_hist_quantile(&run->lat, 0.99) / 1e3,
               wsgb_hist_quantile(&run->lat, 1.0) / 1e3,
               run->lat.n ? run->lat.sum / (double)run->lat.n / 1e3 : 0.0);
        break;
    case WSGB_MODE_BULK:
        printf(" msgs=%llu bytes=%llu mbps=%.1f window=%u",
               (unsigned long long)run->msgs, (unsigned long long)run->bytes,
               (double)run->bytes / win / 1e6, run->window);
        break;
    case WSGB_MODE_CONNRATE:
        printf(" cycles=%llu rate=%.1f p50_us=%.1f p99_us=%.1f max_us=%.1f",
               (unsigned long long)run->cycles, (double)run->cycles / win,
               wsgb_hist_quantile(&run->lat, 0.50) / 1e3,
               wsgb_hist_quantile(&run->lat, 0.99) / 1e3,
               wsgb_hist_quantile(&run->lat, 1.0) / 1e3);
        break;
    default:
        printf(" established=%u dropped=%u verified=%u ramp_s=%.2f",
               run->established, run->dropped, run->verified,
               (double)run->ramp_ns / WSGB_NS);
        for (i = 0; i < (int)run->nstages; ++i) {
            printf(" established_%u=%u ramp_s_%u=%.2f", run->stages[i],
                   run->stage_est[i], run->stages[i], run->stage_ramp[i]);
        }
        break;
    }
    printf(" hs_p50_us=%.1f hs_p99_us=%.1f",
           wsgb_hist_quantile(&run->hs_lat, 0.50) / 1e3,
           wsgb_hist_quantile(&run->hs_lat, 0.99) / 1e3);
    if (run->cpu_pid > 0) {
        printf(" cpu_s=%.2f cpu_util=%.3f procs=%u threads=%u", cpu,
               cpu >= 0 ? cpu / win : -1.0, run->tree_procs,
               run->tree_threads);
    }
    if (run->mode == WSGB_MODE_ECHO || run->mode == WSGB_MODE_BULK
        || run->mode == WSGB_MODE_CONNRATE) {
        /* Where the time went: the proxy's CPU (its own share and
         * everything else on it), the load CPU (us, the backend, others). */
        double pb = wsgb_load_busy(run->pbusy_start, run->pbusy_end);
        double lb = wsgb_load_busy(run->lbusy_start, run->lbusy_end);
        double gen = run->gen_end - run->gen_start;
        double be = run->bcpu_start >= 0 && run->bcpu_end >= 0
                    ? run->bcpu_end - run->bcpu_start : -1;

        printf(" pcpu_busy=%.3f pcpu_others=%.3f lcpu_busy=%.3f gen_util=%.3f"
               " backend_util=%.3f lcpu_others=%.3f", pb,
               pb >= 0 && cpu >= 0 ? pb - cpu / win : -1.0, lb, gen / win,
               be >= 0 ? be / win : -1.0,
               lb >= 0 && be >= 0 ? lb - (gen + be) / win : -1.0);
    }
    printf(" errors=%llu", (unsigned long long)wsgb_load_errors(run));
    for (i = 0; i < WSGB_E_COUNT; ++i) {
        printf(" e_%s=%llu", wsgb_err_names[i],
               (unsigned long long)run->err[i]);
    }
    printf(" close_timeouts=%llu aborted=%d\n",
           (unsigned long long)run->close_timeouts, aborted);
    fflush(stdout);
}

/* ----- main ----------------------------------------------------------------------- */

static void wsgb_load_usage(void)
{
    fprintf(stderr,
        "usage: wsgb-load MODE --port N [options]\n"
        "  MODE: echo | bulk | connrate | idle | probe | free-port\n"
        "  --host 127.0.0.1    loopback addresses only\n"
        "  --path /ws/         request path\n"
        "  --conns N           connections (connrate: cycles in parallel)\n"
        "  --size BYTES        message payload (default 64; bulk 1048576)\n"
        "  --window N          bulk: messages in flight per connection (2)\n"
        "  --duration S        measured window (default 5)\n"
        "  --warmup S          before the window (default 1)\n"
        "  --timeout S         a stalled operation is an error (10)\n"
        "  --ramp-conc N       idle: handshakes in flight (64)\n"
        "  --ready-file F      idle: written when all are up; hold until removed\n"
        "  --hold S            idle: longest hold (30)\n"
        "  --stages A,B,...    idle: stop and hold at A, then B, ... open\n"
        "                      connections (ascending; the last is --conns)\n"
        "  --cpu-pid PID       sample CPU time of PID and its descendants\n"
        "  --backend-pid PID   sample CPU time of the backend\n"
        "  --proxy-cpu N, --load-cpu M   report how busy these CPUs were\n"
        "  --max-time S        hard bound of the whole run\n");
}

static int wsgb_load_free_port(void)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0
        || getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        perror("wsgb-load: free port");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    wsgb_run_t *run;
    const char *host = "127.0.0.1", *mode;
    char host_header[64];
    int port = 0, i, aborted = 0;
    struct epoll_event evs[512];
    struct sigaction sa;
    size_t k;

    if (argc < 2) {
        wsgb_load_usage();
        return 2;
    }
    mode = argv[1];
    if (!strcmp(mode, "free-port")) {
        return wsgb_load_free_port();
    }
    run = calloc(1, sizeof(*run));
    if (run == NULL) {
        return 1;
    }
    run->path = "/ws/";
    run->conns = 0;
    run->size = 0;
    run->window = 2;
    run->duration = 5;
    run->warmup = 1;
    run->timeout = 10;
    run->hold = 30;
    run->ramp_conc = 64;
    run->max_time = 0;
    run->proxy_cpu = run->load_cpu = -1;
    if (!strcmp(mode, "echo")) {
        run->mode = WSGB_MODE_ECHO;
    }
    else if (!strcmp(mode, "bulk")) {
        run->mode = WSGB_MODE_BULK;
    }
    else if (!strcmp(mode, "connrate")) {
        run->mode = WSGB_MODE_CONNRATE;
    }
    else if (!strcmp(mode, "idle")) {
        run->mode = WSGB_MODE_IDLE;
    }
    else if (!strcmp(mode, "probe")) {
        run->mode = WSGB_MODE_PROBE;
    }
    else {
        wsgb_load_usage();
        return 2;
    }
    for (i = 2; i < argc; ++i) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (v == NULL) {
            wsgb_load_usage();
            return 2;
        }
        ++i;
        if (!strcmp(o, "--port")) {
            port = atoi(v);
        }
        else if (!strcmp(o, "--host")) {
            host = v;
        }
        else if (!strcmp(o, "--path")) {
            run->path = v;
        }
        else if (!strcmp(o, "--conns")) {
            run->conns = (unsigned int)strtoul(v, NULL, 10);
        }
        else if (!strcmp(o, "--size")) {
            run->size = (size_t)strtoull(v, NULL, 10);
        }
        else if (!strcmp(o, "--window")) {
            run->window = (unsigned int)strtoul(v, NULL, 10);
        }
        else if (!strcmp(o, "--duration")) {
            run->duration = atof(v);
        }
        else if (!strcmp(o, "--warmup")) {
            run->warmup = atof(v);
        }
        else if (!strcmp(o, "--timeout")) {
            run->timeout = atof(v);
        }
        else if (!strcmp(o, "--ramp-conc")) {
            run->ramp_conc = (unsigned int)strtoul(v, NULL, 10);
        }
        else if (!strcmp(o, "--ready-file")) {
            run->ready_file = v;
        }
        else if (!strcmp(o, "--stages")) {
            char *list = strdup(v), *tok, *save = NULL;

            for (tok = strtok_r(list, ",", &save); tok && run->nstages < 8;
                 tok = strtok_r(NULL, ",", &save)) {
                run->stages[run->nstages++] = (unsigned int)strtoul(tok, NULL, 10);
            }
            free(list);
        }
        else if (!strcmp(o, "--hold")) {
            run->hold = atof(v);
        }
        else if (!strcmp(o, "--cpu-pid")) {
            run->cpu_pid = atol(v);
        }
        else if (!strcmp(o, "--backend-pid")) {
            run->backend_pid = atol(v);
        }
        else if (!strcmp(o, "--proxy-cpu")) {
            run->proxy_cpu = atoi(v);
        }
        else if (!strcmp(o, "--load-cpu")) {
            run->load_cpu = atoi(v);
        }
        else if (!strcmp(o, "--max-time")) {
            run->max_time = atof(v);
        }
        else {
            wsgb_load_usage();
            return 2;
        }
    }
    memset(&run->addr, 0, sizeof(run->addr));
    run->addr.sin_family = AF_INET;
    run->addr.sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535
        || inet_pton(AF_INET, host, &run->addr.sin_addr) != 1
        || (ntohl(run->addr.sin_addr.s_addr) >> 24) != 127) {
        fprintf(stderr, "wsgb-load: a port and a loopback (127.x.x.x) "
                        "address are required\n");
        return 2;
    }
    snprintf(host_header, sizeof(host_header), "%s:%d", host, port);
    run->host_header = host_header;
    if (run->mode == WSGB_MODE_PROBE) {
        run->conns = 1;
        run->hold = 0;
        run->ready_file = NULL;
        if (run->timeout > 3) {
            run->timeout = 3;
        }
    }
    if (run->conns == 0) {
        run->conns = run->mode == WSGB_MODE_BULK ? 4
                     : run->mode == WSGB_MODE_CONNRATE ? 32 : 100;
    }
    if (run->size == 0) {
        run->size = run->mode == WSGB_MODE_BULK ? 1048576 : 64;
    }
    if (run->nstages) {
        unsigned int k2;

        for (k2 = 0; k2 < run->nstages; ++k2) {
            if (run->stages[k2] == 0 || run->stages[k2] > run->conns
                || (k2 > 0 && run->stages[k2] <= run->stages[k2 - 1])) {
                fprintf(stderr, "wsgb-load: --stages must ascend, up to --conns\n");
                return 2;
            }
        }
        if (run->stages[run->nstages - 1] != run->conns) {
            if (run->nstages == 8) {
                wsgb_load_usage();
                return 2;
            }
            run->stages[run->nstages++] = run->conns;
        }
    }
    if (run->window == 0 || run->duration <= 0 || run->warmup < 0) {
        wsgb_load_usage();
        return 2;
    }
    if (run->max_time <= 0) {
        run->max_time = run->warmup + run->duration
                        + run->hold * (run->nstages ? run->nstages : 1)
                        + 3 * run->timeout + 60;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = wsgb_load_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned int)(wsgb_now_ns() ^ (uint64_t)getpid()));

    run->c = calloc(run->conns, sizeof(*run->c));
    run->pattern = malloc(run->size);
    run->masked = malloc(run->size);
    run->rbuf = malloc(WSGB_LOAD_RBUF);
    run->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!run->c || !run->pattern || !run->masked || !run->rbuf
        || run->ep < 0) {
        fprintf(stderr, "wsgb-load: out of memory\n");
        return 1;
    }
    for (k = 0; k < run->size; ++k) {
        run->pattern[k] = (unsigned char)((k * 131 + 7) >> 3);
    }
    wsgb_mask(run->masked, run->pattern, run->size, wsgb_load_key, 0);
    wsgb_hist_init(&run->lat);
    wsgb_hist_init(&run->hs_lat);

    run->now = run->t0 = run->stage_t0 = wsgb_now_ns();
    run->hard_end = run->t0 + (uint64_t)(run->max_time * WSGB_NS);
    if (run->mode == WSGB_MODE_CONNRATE) {
        run->phase = WSGB_P_RUN;
        run->win_start = run->t0 + (uint64_t)(run->warmup * WSGB_NS);
        run->win_end = run->win_start + (uint64_t)(run->duration * WSGB_NS);
    }
    else {
        run->phase = WSGB_P_RAMP;
    }
    wsgb_load_fill_slots(run);

    while (run->phase != WSGB_P_DONE) {
        int n, tmo = 100;

        if (run->phase == WSGB_P_RUN) {
            uint64_t next = !run->in_window && run->now < run->win_start
                            ? run->win_start : run->win_end;

            if (next > run->now && next - run->now < 100000000ull) {
                tmo = (int)((next - run->now) / 1000000) + 1;
            }
            else if (next <= run->now) {
                tmo = 0;
            }
        }
        n = epoll_wait(run->ep, evs, 512, tmo);
        run->now = wsgb_now_ns();
        for (i = 0; i < n; ++i) {
            wsgb_load_event(run, evs[i].data.ptr, evs[i].events);
        }
        if (run->phase == WSGB_P_RUN || run->phase == WSGB_P_RAMP
            || run->now >= run->next_tick) {
            wsgb_load_tick(run);
        }
        if (run->now >= run->next_tick) {
            run->next_tick = run->now + WSGB_LOAD_TICK_NS;
            wsgb_load_check_stalls(run);
        }
        if (wsgb_load_interrupted || run->now >= run->hard_end) {
            if (run->in_window) {
                wsgb_load_window_end(run);
            }
            aborted = 1;
            for (k = 0; k < run->conns; ++k) {
                wsgb_load_free(run, &run->c[k]);
            }
            break;
        }
    }
    if (run->mode == WSGB_MODE_PROBE || run->mode == WSGB_MODE_IDLE) {
        /* Unverified connections are failures too. */
        wsgb_load_report(run, aborted);
        return aborted || wsgb_load_errors(run) || run->established < run->conns
               || run->verified < run->established ? 1 : 0;
    }
    wsgb_load_report(run, aborted);
    return aborted || wsgb_load_errors(run) ? 1 : 0;
}
