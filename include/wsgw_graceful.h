/*
 * Graceful close (WSGatewayGracefulClose): when a child is told to stop
 * because the server restarts or stops gracefully, every open tunnel of
 * that child is asked to close with 1001 on both sides, each at a random moment within SPREAD
 * seconds, so clients reconnect to the new generation without a storm and
 * the old child exits promptly.
 *
 * The registry of a child's open tunnels lives in the main server's
 * configuration record, created per child in child_init.
 */
#ifndef WSGW_GRACEFUL_H
#define WSGW_GRACEFUL_H

#include "wsgw_types.h"

struct wsgw_tunnel_t;

/** Register the child_init and child_stopping hooks (prefork runs no
 * child_stopping for a graceful restart or stop: see
 * wsgw_graceful_watch()). */
void wsgw_graceful_register_hooks(apr_pool_t *p);

/**
 * Add a running tunnel to its child's registry; it leaves the registry by
 * itself when @a pool (the request's) is cleaned up, or by
 * wsgw_graceful_remove(). Thread-safe.
 * @return 1 when the child is already stopping (close the tunnel now)
 */
int wsgw_graceful_add(server_rec *s, struct wsgw_tunnel_t *t,
                      apr_pool_t *pool);

/**
 * Is the server restarting or stopping (not merely retiring this child)?
 * A restart shows in the scoreboard's generation, a graceful stop by the
 * parent's PidFile going away. Any thread.
 */
int wsgw_graceful_server_stopping(void);

/**
 * Was this child told to stop only because the MPM retires idle processes?
 * Its tunnels then go on; whoever drives them checks
 * wsgw_graceful_server_stopping() now and then.
 */
int wsgw_graceful_retired(void);

/**
 * For a tunnel run in its request's thread, before each wait: look for a
 * graceful restart or stop that no hook will report, i.e. in a child
 * retired by the MPM, and in every prefork child (prefork runs no
 * child_stopping; its AP_SIG_GRACEFUL interrupts the wait, so the next
 * look sees it). Elsewhere returns 0 at once. Cheap: the PidFile is read
 * only once the MPM says the child is stopping (or it is retired).
 * @param w    the tunnel's own state, zeroed before the first call
 * @param now  the current time
 * @param tmo  the coming wait's timeout (negative: none); lowered to the
 *             next look (at most a second away; 20 ms steps for a second
 *             after the signal, while a graceful stop may not show yet)
 * @return 1 when the server restarts or stops: close the tunnel as
 *         child_stopping would have asked (wsgw_tunnel_request_stop)
 */
int wsgw_graceful_watch(wsgw_graceful_watch_t *w, apr_time_t now,
                        apr_interval_time_t *tmo);

/** Take a tunnel out of the registry before its pollset goes away. */
void wsgw_graceful_remove(server_rec *s, struct wsgw_tunnel_t *t);

#endif /* WSGW_GRACEFUL_H */
