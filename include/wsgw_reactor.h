/*
 * Async tunnels (WSGatewayAsync): under an async MPM (mpm_event), an
 * established tunnel leaves its worker thread and is driven by a per-child
 * reactor thread, many tunnels per pollset. See wsgw_reactor.c for who owns
 * the connection when.
 */
#ifndef WSGW_REACTOR_H
#define WSGW_REACTOR_H

#include "wsgw_types.h"
#include <apr_allocator.h>

struct wsgw_tunnel_t;

/**
 * Called in the reactor thread once the tunnel has finished (result
 * available), before the request is logged: record the notes and counters,
 * release the backend connection.
 */
typedef void wsgw_reactor_done_fn(struct wsgw_tunnel_t *t, request_rec *r,
                                  void *baton);

/* A tunnel moves to the reactor at its first quiet moment after running
 * this long: short exchanges end in their worker thread (whose connection
 * pool the MPM then recycles), idle and long-lived tunnels free it. */
#define WSGW_REACTOR_MOVE_AFTER    apr_time_from_msec(50)

/** May the tunnel of @a r leave its worker thread? */
int wsgw_reactor_eligible(request_rec *r, const wsgw_dir_conf_t *dc);

/**
 * Hand the tunnel of @a r over to a reactor. On APR_SUCCESS the handler
 * must return SUSPENDED at once and touch neither @a r nor its connection
 * again: the reactor starts the tunnel once the MPM has let go of the
 * connection, and then owns the request (it logs it) and the connection
 * (it closes it). With @a compact, nothing but the tunnel (in c->pool)
 * needs r->pool any more: once the worker has let go, the request is copied
 * into c->pool for the logs (wsgw_request_copy()) and r->pool is freed;
 * @a done then gets the copy.
 */
apr_status_t wsgw_reactor_handoff(request_rec *r, struct wsgw_tunnel_t *t,
                                  int compact, wsgw_reactor_done_fn *done,
                                  void *baton);

/** The child's tunnel buffer allocator (thread-safe), NULL without reactors. */
apr_allocator_t *wsgw_reactor_buffers(void);

void wsgw_reactor_register_hooks(apr_pool_t *p);

#endif /* WSGW_REACTOR_H */
