/*
 * Graceful close: a per-child registry of open tunnels and the
 * child_stopping hook that wakes them. child_stopping runs in the MPM's
 * signal or listener thread, never in a tunnel's: it only sets each
 * tunnel's stop flag and wakes its pollset (wsgw_tunnel_request_stop); the
 * tunnel closes itself from its own thread.
 *
 * prefork runs child_stopping only as a child exits (not graceful), never
 * for a graceful restart or stop. Its parent tells a child about those
 * only by AP_SIG_GRACEFUL (SIGUSR1), whose handler closes the child's
 * listeners and sets the MPM state to STOPPING; the child's single thread
 * is the one running the tunnel, and the signal interrupts its poll
 * (EINTR). So there each tunnel looks for itself (wsgw_graceful_watch)
 * before every wait: the MPM state, and at least once a second the
 * scoreboard's generation, in case the signal came just before the wait
 * began. The parent reaps idle prefork children by the pipe of death,
 * which a child running a tunnel never reads, and MaxConnectionsPerChild
 * ends a child only between connections: neither stops a tunnel.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "mpm_common.h"
#include "ap_mpm.h"
#include "scoreboard.h"
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_graceful.h"
#include "wsgw_tunnel.h"

/* One child's registry, in the main server's configuration record. */
struct wsgw_graceful_t {
    apr_thread_mutex_t *mutex;
    apr_array_header_t *tunnels;   /* wsgw_tunnel_t *, unordered */
    int                 stopping;
    int                 retired;   /* retired by the MPM, not a stop */
    int                 unhooked;  /* prefork: no child_stopping when told */
    const char         *pidfile;   /* the parent's PidFile, or NULL */
};

/* How long child_stopping (or a prefork tunnel, after AP_SIG_GRACEFUL)
 * looks for a graceful stop in progress, and how often. */
#define WSGW_GRACEFUL_PROBE      apr_time_from_sec(1)
#define WSGW_GRACEFUL_PROBE_STEP apr_time_from_msec(20)
/* How often a tunnel that no hook will tell looks anyway. */
#define WSGW_GRACEFUL_LOOK       apr_time_from_sec(1)

typedef struct wsgw_graceful_entry_t {
    server_rec           *s;
    struct wsgw_tunnel_t *t;
} wsgw_graceful_entry_t;

static wsgw_graceful_t *wsgw_graceful_of(server_rec *s)
{
    /* Virtual hosts share the main server's registry (one per child). */
    return wsgw_config_srv(ap_server_conf ? ap_server_conf : s)->graceful;
}

int wsgw_graceful_retired(void)
{
    wsgw_graceful_t *g = ap_server_conf ? wsgw_graceful_of(ap_server_conf)
                                        : NULL;

    return g && g->retired;
}

static void wsgw_graceful_child_init(apr_pool_t *pchild, server_rec *s)
{
    wsgw_srv_conf_t *sc = wsgw_config_srv(s);
    wsgw_graceful_t *g = apr_pcalloc(pchild, sizeof(*g));
    int threaded = 0;

    if (apr_thread_mutex_create(&g->mutex, APR_THREAD_MUTEX_DEFAULT, pchild)
        != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, WSGW_LOGNO(00601)
                     "cannot create the tunnel registry lock; graceful "
                     "close is off in this child");
        return;
    }
    g->tunnels = apr_array_make(pchild, 64, sizeof(struct wsgw_tunnel_t *));
    if (ap_pid_fname) {
        g->pidfile = ap_runtime_dir_relative(pchild, ap_pid_fname);
    }
    /* prefork (the only non-threaded MPM of httpd 2.4 on Unix) runs no
     * child_stopping for a graceful restart or stop; event and worker do. */
    g->unhooked = ap_mpm_query(AP_MPMQ_IS_THREADED, &threaded) == APR_SUCCESS
                  && threaded == AP_MPMQ_NOT_SUPPORTED;
    sc->graceful = g;
}

void wsgw_graceful_remove(server_rec *s, struct wsgw_tunnel_t *t)
{
    wsgw_graceful_t *g = wsgw_graceful_of(s);
    int i;

    if (g == NULL) {
        return;
    }
    apr_thread_mutex_lock(g->mutex);
    for (i = 0; i < g->tunnels->nelts; ++i) {
        struct wsgw_tunnel_t **slot = &APR_ARRAY_IDX(g->tunnels, i,
                                                     struct wsgw_tunnel_t *);
        if (*slot == t) {
            /* Unordered: the last entry takes this place. */
            *slot = APR_ARRAY_IDX(g->tunnels, g->tunnels->nelts - 1,
                                  struct wsgw_tunnel_t *);
            --g->tunnels->nelts;
            break;
        }
    }
    apr_thread_mutex_unlock(g->mutex);
}

static apr_status_t wsgw_graceful_cleanup(void *data)
{
    wsgw_graceful_entry_t *e = data;

    wsgw_graceful_remove(e->s, e->t);
    return APR_SUCCESS;
}

int wsgw_graceful_add(server_rec *s, struct wsgw_tunnel_t *t,
                      apr_pool_t *pool)
{
    wsgw_graceful_t *g = wsgw_graceful_of(s);
    wsgw_graceful_entry_t *e;
    int stopping;

    if (g == NULL) {
        return 0;
    }
    e = apr_palloc(pool, sizeof(*e));
    e->s = s;
    e->t = t;
    apr_thread_mutex_lock(g->mutex);
    APR_ARRAY_PUSH(g->tunnels, struct wsgw_tunnel_t *) = t;
    stopping = g->stopping;
    apr_thread_mutex_unlock(g->mutex);
    apr_pool_cleanup_register(pool, e, wsgw_graceful_cleanup,
                              apr_pool_cleanup_null);
    return stopping;
}

/* Does the PidFile still name our parent? Any thread, several at once
 * (tunnels of a retired child, reactors, child_stopping): plain system
 * calls, no shared pool. */
static int wsgw_graceful_parent_running(const wsgw_graceful_t *g)
{
    char buf[32];
    ssize_t len;
    int fd = open(g->pidfile, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return 0;       /* removed: the server is stopping */
    }
    do {
        len = read(fd, buf, sizeof(buf) - 1);
    } while (len < 0 && errno == EINTR);
    close(fd);
    if (len <= 0) {
        return 0;
    }
    buf[len] = '\0';
    return atol(buf) == (long)getppid();
}

/* Has the parent moved to a new generation (a restart)? It does so
 * before it tells the children. Cheap: a look at shared memory. */
static int wsgw_graceful_new_generation(void)
{
    int gen = 0;

    return ap_scoreboard_image
           && ap_mpm_query(AP_MPMQ_GENERATION, &gen) == APR_SUCCESS
           && ap_scoreboard_image->global->running_generation
              != (ap_generation_t)gen;
}

int wsgw_graceful_server_stopping(void)
{
    wsgw_graceful_t *g = ap_server_conf ? wsgw_graceful_of(ap_server_conf)
                                        : NULL;

    if (wsgw_graceful_new_generation()) {
        return 1;
    }
    /* A graceful stop: the parent removes its PidFile right after telling
     * the children. Without a PidFile we cannot tell: assume a stop. */
    if (g == NULL || g->pidfile == NULL) {
        return 1;
    }
    return !wsgw_graceful_parent_running(g);
}

/* Has the MPM been told to stop this child (prefork: AP_SIG_GRACEFUL)? */
static int wsgw_graceful_mpm_stopping(void)
{
    int state = AP_MPMQ_RUNNING;

    return ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
           && state == AP_MPMQ_STOPPING;
}

int wsgw_graceful_watch(wsgw_graceful_watch_t *w, apr_time_t now,
                        apr_interval_time_t *tmo)
{
    wsgw_graceful_t *g = ap_server_conf ? wsgw_graceful_of(ap_server_conf)
                                        : NULL;
    int told;
    apr_interval_time_t wait;

    if (g == NULL || (!g->retired && !g->unhooked)) {
        return 0;       /* child_stopping will tell this tunnel */
    }
    told = g->unhooked && wsgw_graceful_mpm_stopping();
    if (told && w->probe_until == 0) {
        /* The signal just came (its EINTR woke us up, or it came while
         * the tunnel was busy): a restart shows at once in the scoreboard,
         * a graceful stop when the parent has removed its PidFile, a
         * moment after it signalled all its children. */
        w->probe_until = now + WSGW_GRACEFUL_PROBE;
        w->next = now;
    }
    if (now >= w->next) {
        /* The PidFile (a file to read) only once the MPM says we stop. */
        if ((told || g->retired) ? wsgw_graceful_server_stopping()
                                 : wsgw_graceful_new_generation()) {
            if (g->unhooked) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                             WSGW_LOGNO(00604) "prefork child: the server "
                             "restarts or stops gracefully; closing its "
                             "tunnel");
            }
            return 1;
        }
        if (told && w->probe_until > 0 && now >= w->probe_until) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                         WSGW_LOGNO(00605) "child told to stop (%s) but "
                         "the server is neither restarting nor stopping: "
                         "its tunnel goes on, the child exits after it",
                         AP_SIG_GRACEFUL_STRING);
            w->probe_until = -1;        /* logged; look every second */
        }
        w->next = now + (w->probe_until > now ? WSGW_GRACEFUL_PROBE_STEP
                                              : WSGW_GRACEFUL_LOOK);
    }
    wait = w->next - now;
    if (*tmo < 0 || *tmo > wait) {
        *tmo = wait;
    }
    return 0;
}

static void wsgw_graceful_child_stopping(apr_pool_t *pchild, int graceful)
{
    wsgw_graceful_t *g = wsgw_graceful_of(ap_server_conf);
    apr_time_t until = apr_time_now() + WSGW_GRACEFUL_PROBE;
    int i, n;

    if (g == NULL) {
        return;
    }
    if (!graceful && g->unhooked) {
        /* prefork's clean_child_exit: the child exits now, from its
         * SIGTERM/SIGHUP handler when it was running a tunnel (in this
         * very thread, which will not go back to it). Nothing to ask; and
         * no lock to take in a signal handler that may have interrupted
         * its holder. */
        return;
    }
    if (graceful) {
        /* The MPM also retires idle processes this way (more idle threads
         * than MaxSpareThreads): their tunnels are not cut, the child just
         * ends after its last one. Only a restart or a stop of the server
         * closes them; the parent may remove its PidFile a moment after
         * telling us, so look for a while (this is the child's main
         * thread, which would now wait for its workers anyway). */
        while (!wsgw_graceful_server_stopping()) {
            if (apr_time_now() >= until) {
                ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                             WSGW_LOGNO(00603) "child retired by the MPM "
                             "(idle processes above MaxSpareThreads), not "
                             "a restart or stop: its tunnels go on, the "
                             "child exits after the last one");
                g->retired = 1;
                return;
            }
            apr_sleep(WSGW_GRACEFUL_PROBE_STEP);
        }
    }
    apr_thread_mutex_lock(g->mutex);
    g->stopping = 1;
    n = g->tunnels->nelts;
    for (i = 0; i < n; ++i) {
        wsgw_tunnel_request_stop(APR_ARRAY_IDX(g->tunnels, i,
                                               struct wsgw_tunnel_t *));
    }
    apr_thread_mutex_unlock(g->mutex);
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, ap_server_conf,
                 WSGW_LOGNO(00602) "child stopping (%s): asked %d open "
                 "tunnel(s) to close", graceful ? "graceful" : "immediate", n);
}

void wsgw_graceful_register_hooks(apr_pool_t *p)
{
    ap_hook_child_init(wsgw_graceful_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_stopping(wsgw_graceful_child_stopping, NULL, NULL,
                           APR_HOOK_MIDDLE);
}
