/*
 * Counters shared by all child processes (httpd's slotmem provider), the
 * connection limits built on them, the ws-gateway-status handler and the
 * mod_status section.
 *
 * Every mapping and every backend member is an "entity" numbered at
 * configuration time. Each child process owns one row per entity; a row
 * records the owner's pid, so the active counts of a child that crashed are
 * ignored (and its row reset when a new child takes the slot): counts stay
 * exact whatever happens to a process. Cumulative counters are summed over
 * all rows.
 */
#ifndef WSGW_STATUS_H
#define WSGW_STATUS_H

#include "wsgw_types.h"

/* Why a handshake did not become a tunnel. */
typedef enum {
    WSGW_FAIL_BAD_REQUEST = 0,  /* 400 */
    WSGW_FAIL_VERSION,          /* 426 */
    WSGW_FAIL_ORIGIN,           /* 403 */
    WSGW_FAIL_LIMIT,            /* 503: WSGatewayMaxConnections[PerIP] */
    WSGW_FAIL_BACKEND,          /* no member could take it */
    WSGW_FAIL_REFUSED,          /* a backend refused (relayed 3xx-5xx) */
    WSGW_FAIL_COUNT
} wsgw_fail_e;

/* Per-request handle on the rows of one tunnel (opaque). */
typedef struct wsgw_stat_t wsgw_stat_t;

/** Register the hooks (post_config, child_init, handler, mod_status). */
void wsgw_status_register_hooks(apr_pool_t *p);

/**
 * Number a new mapping (and its members) for the counters; called by the
 * WSGatewayPass setter. Stores the ids in @a m and its backends.
 */
void wsgw_status_register_mapping(apr_pool_t *pconf, wsgw_mapping_t *m);

/** Note that a limit directive is in use (startup check for slotmem). */
void wsgw_status_limits_used(apr_pool_t *pconf);

/**
 * Admit a WebSocket handshake under the mapping's connection limits and
 * count it as active until its tunnel closes or @a r's pool is cleaned up.
 * @return OK, or HTTP_SERVICE_UNAVAILABLE (Retry-After set, logged)
 */
int wsgw_status_admit(request_rec *r, const wsgw_mapping_t *m,
                      const wsgw_dir_conf_t *dc, wsgw_stat_t **st);

/** Count a handshake that did not become a tunnel. */
void wsgw_status_fail(request_rec *r, const wsgw_mapping_t *m,
                      wsgw_fail_e why);

/** Count a failover from one member to the next. */
void wsgw_status_failover(request_rec *r, const wsgw_mapping_t *m);

/** The tunnel is up with backend member @a b (counts it active there). */
void wsgw_status_tunnel_open(wsgw_stat_t *st, request_rec *r,
                             const wsgw_backend_t *b);

/** Bytes forwarded: called as they move, so the page is live. */
void wsgw_status_bytes(wsgw_stat_t *st, apr_size_t in, apr_size_t out);

/** A complete data message passed (frames mode). */
void wsgw_status_message(wsgw_stat_t *st, int from_client);

/** The tunnel ended with @a close_code (no longer counted active). */
void wsgw_status_tunnel_close(wsgw_stat_t *st, int close_code);

/**
 * The handle @a st, moved into @a p (which must outlive the tunnel): the
 * active count then ends with the tunnel or with @a p, no longer with the
 * request's pool. Use the returned handle from now on.
 */
wsgw_stat_t *wsgw_status_move(wsgw_stat_t *st, apr_pool_t *p);

#endif /* WSGW_STATUS_H */
