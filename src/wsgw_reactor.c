/*
 * Async tunnels: a per-child reactor that drives many established tunnels
 * from a small, fixed number of threads, so that an open WebSocket holds no
 * worker thread and does not count against MaxRequestWorkers.
 *
 * httpd 2.4 has no MPM call to hand a connection to another thread and take
 * it back (ap_mpm_register_poll_callback exists only in trunk), but
 * mpm_event lets a handler suspend its connection: a handler returning
 * SUSPENDED makes ap_process_async_request() set CONN_STATE_SUSPENDED, and
 * the event MPM then forgets the connection (no pollset, no timeout queue,
 * worker thread back to the pool) except for counting it. Ownership:
 *
 * 1. Worker thread, in the handler: the backend answered 101, the 101 went
 *    to the client, the tunnel is set up (in c->pool) and has run in this
 *    thread until quiet. A plain ws:// backend socket is detached from
 *    mod_proxy's connection, which is released at once. wsgw_reactor_
 *    handoff() stores a wsgw_async_t (in c->pool) in our slot of
 *    c->conn_config, gives the connection allocator's spare nodes back to
 *    malloc, and the handler returns SUSPENDED. mod_proxy runs its
 *    post_request hooks; nothing else touches r.
 * 2. Worker thread, in the MPM: the suspend_connection hook runs as the MPM
 *    lets go of the connection (notify_suspend). When nothing but the
 *    tunnel needs r->pool any more (the backend was detached), the request
 *    is copied into c->pool with what the logs read (wsgw_request.c) and
 *    r->pool is freed: an idle tunnel then holds its connection's pool and
 *    bucket allocator, and nothing else of httpd's. Only then is the tunnel
 *    queued to a reactor, so the reactor never races the worker over r or
 *    c. The MPM still writes two fields of its own connection state right
 *    after the hook; the connection is therefore never freed sooner than
 *    WSGW_REACTOR_SETTLE after it was queued.
 * 3. Reactor thread: the tunnel runs (same pump as in the worker thread,
 *    through the connection filters, so TLS fronts work). Its sockets are
 *    watched edge-triggered where the poller can (wsgw_poller.h): the pump
 *    keeps reading until a short read or EAGAIN and writing until EAGAIN,
 *    and the tunnel remembers between events what it may do. Timers are
 *    kept per tunnel and scanned only when the earliest one is due; the
 *    clock is read once per poll round.
 * 4. Reactor thread, at the end: notes and counters are recorded and the
 *    backend connection released if still held (the done callback); the
 *    request is logged: the copy directly with the log_transaction hooks,
 *    an original r by an EOR bucket passed down the client's output
 *    filters exactly as the MPM does after a handler (which also frees
 *    r->pool); then the connection is closed as the MPM would (pre_close
 *    hooks, FLUSH + EOC so mod_ssl sends its close_notify, shutdown for
 *    write, up to WSGW_REACTOR_LINGER of lingering reads).
 * 5. Finally c->pool (the MPM's transaction pool of this connection, with
 *    its own allocator) is destroyed. Its cleanups are the MPM's own: they
 *    count the connection as closed (suspended count and connection count),
 *    which also lets a gracefully stopping child exit once its last tunnel
 *    is gone.
 *
 * Child stop: child_stopping asks every tunnel to close (WSGatewayGraceful-
 * Close, 1001, with its spread); a child exits only when the MPM's
 * connection count falls to zero, i.e. after its tunnels. At child exit
 * (pchild pre-cleanup) the reactors end whatever is left (logged as closed
 * by the gateway) and are joined.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "mpm_common.h"
#include "mod_proxy.h"
#include <apr_atomic.h>
#include <apr_poll.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_graceful.h"
#include "wsgw_poller.h"
#include "wsgw_reactor.h"
#include "wsgw_request.h"
#include "wsgw_tunnel.h"

/* Results fetched per poll call. */
#define WSGW_REACTOR_EVENTS   256
/* Lingering reads after our FIN, as the MPM's lingering close. */
#define WSGW_REACTOR_LINGER   apr_time_from_sec(2)
/* Minimum time between queueing a connection and freeing it. */
#define WSGW_REACTOR_SETTLE   apr_time_from_msec(100)
/* How often a retired child's reactor looks for a restart or stop. */
#define WSGW_REACTOR_RECHECK  apr_time_from_sec(1)
/* Bytes of idle tunnel buffers a reactor keeps for reuse. */
#define WSGW_REACTOR_BUFS_FREE (4 * 1024 * 1024)
/* Free nodes a suspended connection's allocator is drained of. */
#define WSGW_REACTOR_TRIM_NODES 8
/* At most this many reactor threads per child. */
#define WSGW_REACTOR_MAX      4
/* mpm_event's directive bounding the connections a child accepts. */
#define WSGW_REACTOR_FACTOR   "AsyncRequestWorkerFactor"
/* Most connections per child we size mpm_event for (its pollset grows with
 * ThreadsPerChild x AsyncRequestWorkerFactor). */
#define WSGW_REACTOR_CONNS_MAX 16384

typedef struct wsgw_async_t wsgw_async_t;
typedef struct wsgw_reactor_t wsgw_reactor_t;

typedef enum {
    WSGW_ASYNC_HANDOFF,     /* handler returned SUSPENDED, MPM not done */
    WSGW_ASYNC_RUNNING,     /* the tunnel runs in the reactor */
    WSGW_ASYNC_LINGER,      /* tunnel over, request logged, FIN sent */
    WSGW_ASYNC_RELEASE      /* waiting for WSGW_REACTOR_SETTLE to pass */
} wsgw_async_state_e;

/* What a poll result points at: one side of a tunnel, or its lingering. */
typedef struct wsgw_async_ref_t {
    wsgw_async_t *a;
    int           which;    /* WSGW_TUNNEL_CLIENT, _BACKEND, or 2 */
} wsgw_async_ref_t;

struct wsgw_async_t {
    wsgw_async_t         *next, *prev;  /* the reactor's ring */
    wsgw_async_t         *work_next;    /* pump list of this round */
    int                   on_work;
    wsgw_reactor_t       *re;
    wsgw_async_state_e    state;
    struct wsgw_tunnel_t *t;            /* in c->pool */
    request_rec          *r;            /* or its copy in c->pool */
    int                   compact;      /* r->pool may go once queued */
    conn_rec             *c;
    apr_socket_t         *csd;
    apr_pollfd_t         *pfd[2];
    apr_int16_t           registered[2];
    apr_pollfd_t          lpfd;         /* lingering reads */
    int                   lregistered;
    wsgw_async_ref_t      ref[3];
    apr_time_t            deadline;     /* next timer, 0 for none */
    apr_time_t            queued_at;
    wsgw_reactor_done_fn *done;
    void                 *baton;
};

struct wsgw_reactor_t {
    int                   id;
    apr_thread_t         *thread;
    wsgw_poller_t        *ps;
    apr_thread_mutex_t   *mutex;
    wsgw_async_t         *incoming;     /* under mutex */
    wsgw_async_t          ring;         /* sentinel of the running ones */
    wsgw_async_t         *work;         /* pumped in the order marked */
    wsgw_async_t        **work_tail;
    volatile apr_uint32_t count;        /* connections owned */
    volatile apr_uint32_t stop;         /* 1 graceful, 2 immediate, 3 exit */
    volatile apr_uint32_t retired;      /* child retired, server running */
    apr_time_t            recheck;      /* when to look at the server again */
    apr_uint32_t          stop_seen;
    apr_time_t            next_scan;    /* 0: no timer */
    apr_time_t            now;          /* read once per poll round */
    apr_allocator_t      *bufs;         /* this thread's tunnel buffers */
    int                   edge;         /* tunnels watched edge-triggered */
    int                   exiting;
};

struct wsgw_reactors_t {
    int                 n;
    wsgw_reactor_t     *re;
    apr_allocator_t    *bufs;       /* buffers lent to tunnels before */
    apr_thread_mutex_t *bufs_mutex; /* their handoff (worker threads) */
    struct ap_conf_vector_t *request_config; /* zeroed, for request */
                                             /* copies (read-only) */
};

static wsgw_reactors_t *wsgw_reactors(void)
{
    return ap_server_conf ? wsgw_config_srv(ap_server_conf)->reactors : NULL;
}

int wsgw_reactor_eligible(request_rec *r, const wsgw_dir_conf_t *dc)
{
    conn_rec *c = r->connection;
    wsgw_reactors_t *rs = wsgw_reactors();

    /* HTTP/2 streams (c->master), connections whose input filters need
     * the synchronous loop, subrequests and internal redirects keep the
     * tunnel in their thread. */
    return dc->async && rs && rs->n > 0
           && apr_atomic_read32(&rs->re[0].stop) < 3
           && c->master == NULL && c->cs != NULL
           && !c->clogging_input_filters && !c->aborted
           && r->main == NULL && r->prev == NULL
           && ap_get_conn_socket(c) != NULL;
}

apr_allocator_t *wsgw_reactor_buffers(void)
{
    wsgw_reactors_t *rs = wsgw_reactors();

    return rs && rs->n > 0 ? rs->bufs : NULL;
}

/* A suspended connection may live for hours, mostly idle. Its pool's
 * allocator (the MPM gives each connection its own) still keeps, as free
 * nodes, the buffers its handshake used and gave back: the 8 KB the
 * request line and headers were read into, brigades of the backend
 * exchange. Hand them back to malloc, where other connections reuse them,
 * and keep no free nodes from now on. Allocating drains the free lists
 * (they are served first, smallest fitting node first); with max_free at
 * its minimum, freeing them then releases them. */
static void wsgw_reactor_trim(apr_pool_t *p)
{
    apr_allocator_t *al = apr_pool_allocator_get(p);
    apr_memnode_t *nodes[WSGW_REACTOR_TRIM_NODES];
    int i;

    if (al == NULL || apr_allocator_owner_get(al) != p) {
        return;     /* shared with other pools: not ours to trim */
    }
    apr_allocator_max_free_set(al, 1);
    for (i = 0; i < WSGW_REACTOR_TRIM_NODES; ++i) {
        nodes[i] = apr_allocator_alloc(al, 1);
    }
    for (i = 0; i < WSGW_REACTOR_TRIM_NODES; ++i) {
        if (nodes[i]) {
            apr_allocator_free(al, nodes[i]);
        }
    }
}

apr_status_t wsgw_reactor_handoff(request_rec *r, struct wsgw_tunnel_t *t,
                                  int compact, wsgw_reactor_done_fn *done,
                                  void *baton)
{
    conn_rec *c = r->connection;
    wsgw_reactors_t *rs = wsgw_reactors();
    wsgw_reactor_t *re;
    wsgw_async_t *a;
    int i;

    if (rs == NULL || rs->n == 0) {
        return APR_ENOTIMPL;
    }
    /* The least loaded reactor of this child. */
    re = &rs->re[0];
    for (i = 1; i < rs->n; ++i) {
        if (apr_atomic_read32(&rs->re[i].count)
            < apr_atomic_read32(&re->count)) {
            re = &rs->re[i];
        }
    }
    a = apr_pcalloc(c->pool, sizeof(*a));
    a->re = re;
    a->t = t;
    a->r = r;
    a->c = c;
    a->csd = ap_get_conn_socket(c);
    for (i = 0; i < 3; ++i) {
        a->ref[i].a = a;
        a->ref[i].which = i;
    }
    a->pfd[0] = wsgw_tunnel_pollfd(t, WSGW_TUNNEL_CLIENT);
    a->pfd[1] = wsgw_tunnel_pollfd(t, WSGW_TUNNEL_BACKEND);
    a->compact = compact;
    a->done = done;
    a->baton = baton;
    a->state = WSGW_ASYNC_HANDOFF;
    apr_atomic_inc32(&re->count);
    ap_set_module_config(c->conn_config, &ws_gateway_module, a);
    wsgw_reactor_trim(c->pool);
    return APR_SUCCESS;
}

/* suspend_connection: the MPM lets go of c; queue its tunnel. */
static void wsgw_reactor_suspend(conn_rec *c, request_rec *r)
{
    wsgw_async_t *a = ap_get_module_config(c->conn_config,
                                           &ws_gateway_module);
    wsgw_reactor_t *re;

    (void)r;
    if (a == NULL || a->state != WSGW_ASYNC_HANDOFF) {
        return;
    }
    ap_set_module_config(c->conn_config, &ws_gateway_module, NULL);
    if (a->compact) {
        /* The worker is done with r: keep what the logs need in c->pool
         * and free the rest now rather than when the tunnel ends. */
        request_rec *copy = wsgw_request_copy(a->r, c->pool,
                                              wsgw_reactors()->request_config);

        wsgw_tunnel_set_request(a->t, copy);
        apr_pool_destroy(a->r->pool);
        a->r = copy;
    }
    re = a->re;
    a->queued_at = apr_time_now();
    apr_thread_mutex_lock(re->mutex);
    a->next = re->incoming;
    re->incoming = a;
    apr_thread_mutex_unlock(re->mutex);
    wsgw_poller_wakeup(re->ps);
}

static void wsgw_reactor_mark(wsgw_reactor_t *re, wsgw_async_t *a)
{
    if (!a->on_work) {
        a->on_work = 1;
        a->work_next = NULL;
        *re->work_tail = a;
        re->work_tail = &a->work_next;
    }
}

static void wsgw_reactor_timer(wsgw_reactor_t *re, wsgw_async_t *a,
                               apr_time_t when)
{
    a->deadline = when;
    if (when && (re->next_scan == 0 || when < re->next_scan)) {
        re->next_scan = when;
    }
}

static void wsgw_reactor_unregister(wsgw_reactor_t *re, wsgw_async_t *a)
{
    int i;

    for (i = 0; i < 2; ++i) {
        if (a->registered[i]) {
            wsgw_poller_remove(re->ps, a->pfd[i]);
            a->registered[i] = 0;
        }
    }
    if (a->lregistered) {
        wsgw_poller_remove(re->ps, &a->lpfd);
        a->lregistered = 0;
    }
}

/* Free the connection: the MPM's cleanups count it as closed. */
static void wsgw_reactor_release(wsgw_reactor_t *re, wsgw_async_t *a,
                                 apr_time_t now)
{
    if (!re->exiting && now < a->queued_at + WSGW_REACTOR_SETTLE) {
        /* Nothing more to read meanwhile: a socket at its end would keep
         * a level-triggered watch ready, and the reactor busy. */
        wsgw_reactor_unregister(re, a);
        a->state = WSGW_ASYNC_RELEASE;
        wsgw_reactor_timer(re, a, a->queued_at + WSGW_REACTOR_SETTLE);
        return;
    }
    wsgw_reactor_unregister(re, a);
    a->prev->next = a->next;
    a->next->prev = a->prev;
    apr_atomic_dec32(&re->count);
    apr_socket_close(a->csd);
    apr_pool_destroy(a->c->pool);       /* a was in it */
}

/* Non-blocking reads after our FIN until the client's FIN (or a while). */
static void wsgw_reactor_linger(wsgw_reactor_t *re, wsgw_async_t *a,
                                apr_time_t now)
{
    char buf[512];
    int i;

    for (i = 0; i < 16; ++i) {
        apr_size_t len = sizeof(buf);
        apr_status_t rv = apr_socket_recv(a->csd, buf, &len);

        if (APR_STATUS_IS_EAGAIN(rv)) {
            return;
        }
        if (rv != APR_SUCCESS || len == 0) {
            break;
        }
    }
    wsgw_reactor_release(re, a, now);
}

/* The tunnel is over: account, log the request, start closing. */
static void wsgw_reactor_end(wsgw_reactor_t *re, wsgw_async_t *a)
{
    conn_rec *c = a->c;
    apr_bucket_brigade *bb;
    apr_time_t now;

    wsgw_reactor_unregister(re, a);
    wsgw_tunnel_finish(a->t);
    a->done(a->t, a->r, a->baton);
    a->t = NULL;

    /* Nothing here may block the reactor: the socket has no timeout from
     * now on. */
    apr_socket_timeout_set(a->csd, 0);
    if (a->compact) {
        /* The copy: log it as the EOR bucket would (the MPM took c->sbh
         * away at the suspension, so there is no scoreboard to update),
         * with a request config vector of its own. */
        a->r->request_config = ap_create_request_config(c->pool);
        ap_run_log_transaction(a->r);
    }
    else {
        /* Log as the MPM does after a handler: the EOR bucket's
         * destruction writes the access log line and frees r->pool. */
        bb = apr_brigade_create(c->pool, c->bucket_alloc);
        APR_BRIGADE_INSERT_TAIL(bb, ap_bucket_eor_create(c->bucket_alloc,
                                                         a->r));
        ap_pass_brigade(c->output_filters, bb);
        apr_brigade_cleanup(bb);
    }
    a->r = NULL;

    ap_prep_lingering_close(c);
    if (!c->aborted) {
        ap_flush_conn(c);       /* FLUSH + EOC: mod_ssl's close_notify */
    }
    now = apr_time_now();
    if (c->aborted
        || apr_socket_shutdown(a->csd, APR_SHUTDOWN_WRITE) != APR_SUCCESS) {
        wsgw_reactor_release(re, a, now);
        return;
    }
    a->state = WSGW_ASYNC_LINGER;
    a->lpfd.p = c->pool;
    a->lpfd.desc_type = APR_POLL_SOCKET;
    a->lpfd.desc.s = a->csd;
    a->lpfd.reqevents = APR_POLLIN;
    a->lpfd.client_data = &a->ref[2];
    if (wsgw_poller_add(re->ps, &a->lpfd, 0) != APR_SUCCESS) {
        wsgw_reactor_release(re, a, now);
        return;
    }
    a->lregistered = 1;
    wsgw_reactor_timer(re, a, now + WSGW_REACTOR_LINGER);
}

/* Move what can move, then (re)arm the tunnel's poll events and timer. */
static void wsgw_reactor_pump(wsgw_reactor_t *re, wsgw_async_t *a)
{
    struct wsgw_tunnel_t *t = a->t;
    apr_time_t deadline;
    apr_int16_t wanted = 0;
    int i, again;

    if (wsgw_tunnel_pump(t, re->now)) {
        wsgw_reactor_end(re, a);
        return;
    }
    again = wsgw_tunnel_prepare(t);
    for (i = 0; i < 2; ++i) {
        apr_int16_t want = wsgw_tunnel_wants(t, i);

        wanted |= want;
        if (re->edge) {
            /* Watched once for both ways, for as long as the side is
             * open; the tunnel remembers what it may do between edges. */
            if (!a->registered[i] && want) {
                a->pfd[i]->reqevents = APR_POLLIN | APR_POLLOUT;
                a->pfd[i]->client_data = &a->ref[i];
                if (wsgw_poller_add(re->ps, a->pfd[i], 1) == APR_SUCCESS) {
                    a->registered[i] = APR_POLLIN | APR_POLLOUT;
                }
                else {
                    wanted &= ~want;
                }
            }
            continue;
        }
        if (want != a->registered[i]) {
            if (a->registered[i]) {
                wsgw_poller_remove(re->ps, a->pfd[i]);
            }
            a->pfd[i]->reqevents = want;
            a->pfd[i]->client_data = &a->ref[i];
            if (want && wsgw_poller_add(re->ps, a->pfd[i], 0) != APR_SUCCESS) {
                wanted &= ~want;
                want = 0;
            }
            a->registered[i] = want;
        }
    }
    deadline = wsgw_tunnel_next_deadline(t);
    if (again) {
        wsgw_reactor_mark(re, a);       /* next round, without waiting */
    }
    else if (!wanted && deadline == 0) {
        /* Nothing to wait for: both sides are gone. */
        wsgw_reactor_end(re, a);
        return;
    }
    wsgw_reactor_timer(re, a, deadline);
}

static void wsgw_reactor_run_work(wsgw_reactor_t *re)
{
    wsgw_async_t *a = re->work;

    re->work = NULL;
    re->work_tail = &re->work;
    while (a) {
        wsgw_async_t *next = a->work_next;

        a->on_work = 0;
        if (a->state == WSGW_ASYNC_RUNNING) {
            wsgw_reactor_pump(re, a);
        }
        a = next;
    }
}

static void wsgw_reactor_take_incoming(wsgw_reactor_t *re)
{
    wsgw_async_t *a;

    /* Most rounds find nothing: look without the lock. A tunnel queued
     * after this look comes with a wakeup, hence another round. */
    if (apr_atomic_casptr((volatile void **)&re->incoming, NULL, NULL) == NULL) {
        return;
    }
    apr_thread_mutex_lock(re->mutex);
    a = re->incoming;
    re->incoming = NULL;
    apr_thread_mutex_unlock(re->mutex);
    while (a) {
        wsgw_async_t *next = a->next;

        a->next = &re->ring;
        a->prev = re->ring.prev;
        re->ring.prev->next = a;
        re->ring.prev = a;
        a->state = WSGW_ASYNC_RUNNING;
        a->c->current_thread = re->thread;
        /* From now on buffers come from this thread's own allocator, which
         * needs no lock (a quiet tunnel holds none of the shared one). */
        wsgw_tunnel_lend_buffers(a->t, re->bufs);
        wsgw_tunnel_start(a->t, NULL, NULL);
        if (re->stop_seen) {
            wsgw_tunnel_request_stop(a->t);
            wsgw_tunnel_on_timeout(a->t, apr_time_now());
        }
        wsgw_reactor_mark(re, a);
        a = next;
    }
}

/* Timers: run the due ones and find the next. */
static void wsgw_reactor_scan(wsgw_reactor_t *re, apr_time_t now, int all)
{
    wsgw_async_t *a = re->ring.next;

    re->next_scan = 0;
    while (a != &re->ring) {
        wsgw_async_t *next = a->next;

        if (all || (a->deadline && now >= a->deadline)) {
            switch (a->state) {
            case WSGW_ASYNC_RUNNING:
                wsgw_tunnel_on_timeout(a->t, now);
                a->deadline = 0;
                wsgw_reactor_mark(re, a);   /* pumping re-arms the timer */
                break;
            case WSGW_ASYNC_LINGER:
            case WSGW_ASYNC_RELEASE:
                if (a->deadline && now >= a->deadline) {
                    wsgw_reactor_release(re, a, now);
                }
                else {
                    wsgw_reactor_timer(re, a, a->deadline);
                }
                break;
            default:
                break;
            }
        }
        else if (a->deadline) {
            wsgw_reactor_timer(re, a, a->deadline);
        }
        a = next;
    }
}

/* Apply a stop the child asked for to every running tunnel. */
static void wsgw_reactor_stop_all(wsgw_reactor_t *re, apr_time_t now)
{
    wsgw_async_t *a;

    for (a = re->ring.next; a != &re->ring; a = a->next) {
        if (a->state == WSGW_ASYNC_RUNNING) {
            wsgw_tunnel_request_stop(a->t);
        }
    }
    wsgw_reactor_scan(re, now, 1);
}

/* Child exit: end everything still open, without waiting for anyone. */
static void wsgw_reactor_exit(wsgw_reactor_t *re)
{
    re->exiting = 1;
    wsgw_reactor_take_incoming(re);
    re->work = NULL;
    re->work_tail = &re->work;
    while (re->ring.next != &re->ring) {
        wsgw_async_t *a = re->ring.next;

        if (a->state == WSGW_ASYNC_RUNNING) {
            wsgw_tunnel_abort(a->t, "server exiting");
            wsgw_reactor_end(re, a);
            if (re->ring.next != a) {
                continue;       /* released already */
            }
        }
        wsgw_reactor_release(re, a, apr_time_now());
    }
}

static void *APR_THREAD_FUNC wsgw_reactor_main(apr_thread_t *thd, void *data)
{
    wsgw_reactor_t *re = data;
    int failures = 0;

    (void)thd;
    re->now = apr_time_now();
    for (;;) {
        apr_int32_t n = 0, i;
        const wsgw_poller_event_t *out;
        apr_interval_time_t tmo;
        apr_uint32_t stop = apr_atomic_read32(&re->stop);
        apr_time_t now;
        apr_status_t rv;

        if (stop >= 3) {
            break;
        }
        wsgw_reactor_take_incoming(re);
        if (stop == 0 && apr_atomic_read32(&re->retired)) {
            /* A retired child's tunnels still close for a later restart
             * or stop of the server (no one tells this child again). */
            now = apr_time_now();
            if (now >= re->recheck) {
                re->recheck = now + WSGW_REACTOR_RECHECK;
                if (wsgw_graceful_server_stopping()) {
                    apr_atomic_set32(&re->stop, 1);
                    stop = 1;
                }
            }
        }
        if (stop != re->stop_seen) {
            re->stop_seen = stop;
            wsgw_reactor_stop_all(re, apr_time_now());
        }
        wsgw_reactor_run_work(re);

        now = apr_time_now();
        if (re->work) {
            tmo = 0;
        }
        else if (re->next_scan) {
            tmo = re->next_scan > now ? re->next_scan - now : 0;
        }
        else {
            tmo = -1;
        }
        if (re->recheck && !re->stop_seen
            && (tmo < 0 || tmo > WSGW_REACTOR_RECHECK)) {
            tmo = WSGW_REACTOR_RECHECK;
        }
        rv = wsgw_poller_wait(re->ps, tmo, &n, &out);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_TIMEUP(rv)
            && !APR_STATUS_IS_EINTR(rv)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, ap_server_conf,
                         WSGW_LOGNO(00801) "reactor %d: poll failed; "
                         "retrying (tunnels of this child may stall)",
                         re->id);
            if (++failures > 100) {
                apr_sleep(apr_time_from_msec(10));
            }
            continue;
        }
        failures = 0;
        re->now = now = apr_time_now();
        for (i = 0; i < n; ++i) {
            wsgw_async_ref_t *ref = out[i].data;
            wsgw_async_t *a = ref->a;

            if (ref->which == 2) {
                if (a->state == WSGW_ASYNC_LINGER) {
                    wsgw_reactor_linger(re, a, now);
                }
            }
            else if (a->state == WSGW_ASYNC_RUNNING) {
                wsgw_tunnel_on_event(a->t, (wsgw_tunnel_side_e)ref->which,
                                     out[i].rtnevents);
                wsgw_reactor_mark(re, a);
            }
        }
        if (re->next_scan && now >= re->next_scan) {
            wsgw_reactor_scan(re, now, 0);
        }
    }
    wsgw_reactor_exit(re);
    return NULL;
}

static apr_status_t wsgw_reactor_child_exit(void *data)
{
    wsgw_reactors_t *rs = data;
    int i;

    for (i = 0; i < rs->n; ++i) {
        apr_atomic_set32(&rs->re[i].stop, 3);
        wsgw_poller_wakeup(rs->re[i].ps);
    }
    for (i = 0; i < rs->n; ++i) {
        apr_status_t trv;

        apr_thread_join(&trv, rs->re[i].thread);
        apr_allocator_destroy(rs->re[i].bufs);
    }
    apr_allocator_destroy(rs->bufs);
    rs->n = 0;
    return APR_SUCCESS;
}

static void wsgw_reactor_child_init(apr_pool_t *pchild, server_rec *s)
{
    wsgw_srv_conf_t *sc = wsgw_config_srv(s);
    wsgw_reactors_t *rs;
    long cpus;
    int async = 0, i, n;

    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async
        || strcmp(ap_show_mpm(), "event") != 0) {
        return;         /* tunnels stay in their request's thread */
    }
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > 2 ? (int)(cpus / 2) : 1;
    if (n > WSGW_REACTOR_MAX) {
        n = WSGW_REACTOR_MAX;
    }
    rs = apr_pcalloc(pchild, sizeof(*rs));
    rs->re = apr_pcalloc(pchild, n * sizeof(*rs->re));
    rs->request_config = ap_create_request_config(pchild);
    /* One buffer allocator per child, shared by worker threads (tunnels
     * before their handoff) and reactors. */
    if (apr_allocator_create(&rs->bufs) != APR_SUCCESS
        || apr_thread_mutex_create(&rs->bufs_mutex, APR_THREAD_MUTEX_DEFAULT,
                                   pchild) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, WSGW_LOGNO(00806)
                     "cannot create the tunnel buffer allocator of this "
                     "child; its tunnels stay in worker threads");
        return;
    }
    apr_allocator_mutex_set(rs->bufs, rs->bufs_mutex);
    apr_allocator_max_free_set(rs->bufs, WSGW_REACTOR_BUFS_FREE);
    for (i = 0; i < n; ++i) {
        wsgw_reactor_t *re = &rs->re[i];
        apr_status_t rv;

        re->id = i;
        re->ring.next = re->ring.prev = &re->ring;
        re->work_tail = &re->work;
        rv = apr_thread_mutex_create(&re->mutex, APR_THREAD_MUTEX_DEFAULT,
                                     pchild);
        if (rv == APR_SUCCESS) {
            rv = apr_allocator_create(&re->bufs);
        }
        if (rv == APR_SUCCESS) {
            apr_allocator_max_free_set(re->bufs, WSGW_REACTOR_BUFS_FREE / n);
            rv = wsgw_poller_create(&re->ps, WSGW_REACTOR_EVENTS, pchild);
            re->edge = rv == APR_SUCCESS && wsgw_poller_has_edge(re->ps);
        }
        if (rv == APR_SUCCESS) {
            rv = apr_thread_create(&re->thread, NULL, wsgw_reactor_main, re,
                                   pchild);
        }
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, WSGW_LOGNO(00802)
                         "cannot start the tunnel reactor of this child; "
                         "its tunnels stay in worker threads (check the "
                         "open file and thread limits)");
            if (re->bufs) {
                apr_allocator_destroy(re->bufs);
            }
            break;
        }
        rs->n = i + 1;
    }
    if (rs->n == 0) {
        return;
    }
    apr_pool_pre_cleanup_register(pchild, rs, wsgw_reactor_child_exit);
    sc->reactors = rs;
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, WSGW_LOGNO(00803)
                 "%d tunnel reactor thread(s) started", rs->n);
}

/* Is @a name set anywhere in the configuration tree (any section)? */
static int wsgw_reactor_conftree_has(const ap_directive_t *d,
                                     const char *name)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, name)
            || wsgw_reactor_conftree_has(d->first_child, name)) {
            return 1;
        }
    }
    return 0;
}

/* Does any server's default policy leave WSGatewayAsync on? */
static int wsgw_reactor_wanted(server_rec *s)
{
    for (; s; s = s->next) {
        const wsgw_dir_conf_t *dc = ap_get_module_config(s->lookup_defaults,
                                                         &ws_gateway_module);

        if (dc == NULL || dc->async) {
            return 1;
        }
    }
    return 0;
}

/* Connections one child may hold for async tunnels: two descriptors per
 * tunnel, bounded. */
static long wsgw_reactor_child_conns(void)
{
    struct rlimit rl;
    rlim_t fds = 8192;          /* what Debian's apache2ctl sets */
    long conns;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        fds = rl.rlim_cur;
    }
    conns = (long)(fds / 2);
    return conns > WSGW_REACTOR_CONNS_MAX ? WSGW_REACTOR_CONNS_MAX : conns;
}

/*
 * mpm_event stops accepting in a child once its connections exceed
 * ThreadsPerChild + AsyncRequestWorkerFactor x idle workers, and suspended
 * connections (our async tunnels) count: with the default factor (2) a
 * child of 25 threads takes no more than 75 connections, so Debian's
 * default settings would cap a whole server at 450 WebSockets. Unless the
 * administrator chose a factor, raise it so a child with idle workers can
 * hold as many tunnels as its descriptors allow. This is what setting the
 * directive would do; the MPM's own handler is called.
 */
static void wsgw_reactor_raise_factor(apr_pool_t *pconf, apr_pool_t *ptemp,
                                      server_rec *s, int tpc, long conns)
{
    module *mod = ap_top_module;
    const command_rec *cmd_rec;
    ap_directive_t dir;
    cmd_parms cmd;
    long factor = conns / tpc;
    const char *err, *arg;

    if (factor <= 2
        || wsgw_reactor_conftree_has(ap_conftree, WSGW_REACTOR_FACTOR)) {
        return;
    }
    cmd_rec = ap_find_command_in_modules(WSGW_REACTOR_FACTOR, &mod);
    if (cmd_rec == NULL || cmd_rec->args_how != TAKE1) {
        return;
    }
    arg = apr_ltoa(ptemp, factor);
    memset(&dir, 0, sizeof(dir));
    dir.directive = WSGW_REACTOR_FACTOR;
    dir.args = arg;
    dir.filename = "(mod_ws_gateway)";
    memset(&cmd, 0, sizeof(cmd));
    cmd.cmd = cmd_rec;
    cmd.info = cmd_rec->cmd_data;
    cmd.limited = -1;
    cmd.pool = pconf;
    cmd.temp_pool = ptemp;
    cmd.server = s;
    cmd.directive = &dir;
    cmd.override = OR_ALL | ACCESS_CONF | RSRC_CONF;
    err = cmd_rec->AP_TAKE1(&cmd, NULL, arg);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, WSGW_LOGNO(00804)
                     "could not raise %s for async tunnels (%s); set it "
                     "yourself (e.g. %s %ld) or a child accepts few "
                     "WebSockets", WSGW_REACTOR_FACTOR, err,
                     WSGW_REACTOR_FACTOR, factor);
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, WSGW_LOGNO(00805)
                 "%s set to %ld for async tunnels: a child with idle "
                 "workers accepts up to %ld connections; set %s yourself "
                 "to choose another value, or %s Off", WSGW_REACTOR_FACTOR,
                 factor, (long)tpc * (factor + 1), WSGW_REACTOR_FACTOR,
                 WSGW_DIRECTIVE_ASYNC);
}

/* A ws/wss worker without max= gets room for @a conns backend connections
 * per child: mod_proxy's default (ThreadsPerChild) would make handshakes
 * wait for a connection slot once that many tunnels are open. */
static void wsgw_reactor_raise_worker(proxy_worker *w, long conns)
{
    if (w->s->hmax == 0 && (!strcasecmp(w->s->scheme, "ws")
                            || !strcasecmp(w->s->scheme, "wss"))) {
        w->s->hmax = (int)conns;
    }
}

static int wsgw_reactor_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                    apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;
    int async = 0, tpc = 0, i, j;
    long conns;

    (void)plog;
    if (ap_mpm_query(AP_MPMQ_IS_ASYNC, &async) != APR_SUCCESS || !async
        || strcmp(ap_show_mpm(), "event") != 0
        || ap_mpm_query(AP_MPMQ_MAX_THREADS, &tpc) != APR_SUCCESS || tpc <= 0
        || !wsgw_reactor_wanted(s)) {
        return OK;
    }
    conns = wsgw_reactor_child_conns();
    wsgw_reactor_raise_factor(pconf, ptemp, s, tpc, conns);
    for (v = s; v; v = v->next) {
        proxy_server_conf *pc = ap_get_module_config(v->module_config,
                                                     &proxy_module);

        if (pc == NULL) {
            continue;
        }
        for (i = 0; i < pc->workers->nelts; ++i) {
            wsgw_reactor_raise_worker(&APR_ARRAY_IDX(pc->workers, i,
                                                     proxy_worker), conns);
        }
        for (i = 0; i < pc->balancers->nelts; ++i) {
            proxy_balancer *b = &APR_ARRAY_IDX(pc->balancers, i,
                                               proxy_balancer);

            for (j = 0; j < b->workers->nelts; ++j) {
                wsgw_reactor_raise_worker(APR_ARRAY_IDX(b->workers, j,
                                                        proxy_worker *),
                                          conns);
            }
        }
    }
    return OK;
}

static void wsgw_reactor_child_stopping(apr_pool_t *pchild, int graceful)
{
    wsgw_reactors_t *rs = wsgw_reactors();
    apr_uint32_t level = graceful ? 1 : 2;
    int i;

    (void)pchild;
    if (rs == NULL) {
        return;
    }
    if (graceful && wsgw_graceful_retired()) {
        /* Not a restart or stop (wsgw_graceful.c decided): the tunnels go
         * on; the reactors look again every WSGW_REACTOR_RECHECK. */
        for (i = 0; i < rs->n; ++i) {
            apr_atomic_set32(&rs->re[i].retired, 1);
            wsgw_poller_wakeup(rs->re[i].ps);
        }
        return;
    }
    for (i = 0; i < rs->n; ++i) {
        if (apr_atomic_read32(&rs->re[i].stop) < level) {
            apr_atomic_set32(&rs->re[i].stop, level);
            wsgw_poller_wakeup(rs->re[i].ps);
        }
    }
}

void wsgw_reactor_register_hooks(apr_pool_t *p)
{
    (void)p;
    /* After mod_proxy and mod_proxy_balancer set up their workers. */
    ap_hook_post_config(wsgw_reactor_post_config, NULL, NULL,
                        APR_HOOK_LAST);
    ap_hook_child_init(wsgw_reactor_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(wsgw_reactor_child_stopping, NULL, NULL,
                           APR_HOOK_MIDDLE);
    ap_hook_suspend_connection(wsgw_reactor_suspend, NULL, NULL,
                               APR_HOOK_MIDDLE);
}
