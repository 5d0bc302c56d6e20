/*
 * ws-gateway-migrate: where does a request go?
 *
 * A small model of httpd's request mapping for the directives the tool
 * touches, in httpd's order: server-context mod_rewrite (translate_name),
 * then WSGatewayPass (mod_ws_gateway maps after mod_rewrite and before
 * ProxyPass), then ProxyPass (a <Location>'s own first, then the server's
 * in order, first match wins), then per-directory mod_rewrite of the
 * matching <Location> (fixups). It answers, for one request class (a
 * WebSocket handshake in three common spellings, or an ordinary request)
 * and one URL path, what happens: tunnelled or proxied to which backend
 * URL, answered locally, or decided by a directive it does not model.
 *
 * Conditions it cannot evaluate (RewriteCond %{HTTPS}, -f, ...) are
 * variables: the caller enumerates both truth values (wsgm_sim_eval asks
 * for them one at a time), so two configurations are compared under the
 * same assumptions.
 */
#ifndef WSGM_SIM_H
#define WSGM_SIM_H

#include <apr_pools.h>

#include "wsgm_model.h"

typedef enum {
    WSGM_OUT_LOCAL = 0, /* this server answers the request itself */
    WSGM_OUT_TUNNEL,    /* WebSocket tunnel to origin + path */
    WSGM_OUT_HTTP,      /* plain HTTP proxying to origin + path */
    WSGM_OUT_NOUP,      /* a handshake proxied as plain HTTP (not upgraded) */
    WSGM_OUT_SELF,      /* proxied back to this server (broken target) */
    WSGM_OUT_426,       /* WSGatewayPass ... http=off */
    WSGM_OUT_OPAQUE,    /* decided by directive src, not modelled further */
    WSGM_OUT_UNKNOWN    /* cannot tell (chained rewrites ...) */
} wsgm_out_kind_e;

typedef struct wsgm_out_t {
    wsgm_out_kind_e kind;
    int          tls;
    const char  *origin;    /* "host:port" (TUNNEL, HTTP, NOUP) */
    const char  *path;      /* backend path, query marker included */
    int          src;       /* id of the deciding directive, or -1 */
    unsigned long tail;     /* UNKNOWN: fingerprint of what follows */
} wsgm_out_t;

/* Which directives exist, and which meaning original ones have. */
typedef struct wsgm_view_t {
    unsigned char *active;  /* by directive id */
    int            n;       /* entries in active; ids beyond are inactive */
    int            intended;/* original directives as their authors meant */
} wsgm_view_t;

/**
 * Evaluate one request in host @a host of @a m under @a v.
 * @a assign holds the truth of unknown conditions (-1 unassigned).
 * @return 0 with *@a out filled (strings from @a p), or 1 when variable
 *         *@a need must be assigned first.
 */
int wsgm_sim_eval(apr_pool_t *p, const wsgm_model_t *m, const wsgm_view_t *v,
                  int host, wsgm_cls_e cls, const char *uri,
                  const signed char *assign, int *need, wsgm_out_t *out);

/**
 * Would the RewriteCond lines of @a r let a request of class @a cls
 * through (meaning: intended when @a intended)?
 * @return 1 yes, 0 no, -1 it depends on something else (path, HTTPS...).
 */
int wsgm_sim_conds_accept(apr_pool_t *p, const wsgm_model_t *m,
                          const wsgm_rule_t *r, int intended, wsgm_cls_e cls);

/** Do two outcomes mean the same thing for the client? */
int wsgm_sim_same(const wsgm_out_t *a, const wsgm_out_t *b);

/** Human wording of an outcome ("tunnelled to ws://b:8080/x", ...). */
const char *wsgm_sim_describe(apr_pool_t *p, const wsgm_model_t *m,
                              const wsgm_out_t *o);

/** Human wording of a request class ("a WebSocket handshake", ...). */
const char *wsgm_sim_class_name(wsgm_cls_e cls);

/** Does a <Location PATH> section apply to @a uri (httpd's rule)? */
int wsgm_sim_loc_covers(const char *path, const char *uri);

/** mod_proxy's alias_match: URI characters matched by @a fake, or 0. */
apr_size_t wsgm_sim_alias_match(const char *uri, const char *fake);

#endif /* WSGM_SIM_H */
