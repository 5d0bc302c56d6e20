/*
 * ws-gateway-migrate: recognise WebSocket proxy recipes and rewrite them.
 *
 * Every directive that can carry a WebSocket handshake to a backend (a
 * RewriteRule [P] to ws:// or guarded by an Upgrade condition, a ProxyPass
 * to ws:// or with upgrade=websocket) starts a candidate. The tool works
 * out the PATH and backend it stands for, finds what served ordinary
 * requests under that PATH (the complementary http rule, a ProxyPass, the
 * same line), and proposes one WSGatewayPass line replacing the directives
 * involved (and ProxyPassReverse lines the new line makes redundant).
 *
 * A proposal is accepted only when the request mapping model (wsgm_sim.h)
 * shows that, for every probe path of every server in the file and every
 * request class, the result is what the old configuration did (or what its
 * author evidently meant, for the broken variants), apart from differences
 * the tool explains: handshakes that used to be forwarded without the
 * upgrade now being tunnelled, the bare PATH now being mapped, ... Those
 * that change more than that become warnings; anything else leaves the
 * lines as they were, with a warning saying why.
 */
#ifndef WSGM_RECIPE_H
#define WSGM_RECIPE_H

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "wsgm_model.h"

/* What a run produced, accumulated over the models of one invocation. */
typedef struct wsgm_recipe_out_t {
    apr_hash_t         *edits;      /* wsgm_file_t * -> wsgm_edit_t array */
    int                 converted;  /* WSGatewayPass lines written */
    int                 used_rewrite;   /* a converted recipe had rules */
    int                 used_wstunnel;  /* ... or ws:// URLs */
    const char         *rewrite_left;   /* "FILE:LINE" still using
                                         * mod_rewrite, or NULL */
    const char         *wstunnel_left;  /* "FILE:LINE" of a ws:// URL left */
    apr_array_header_t *guards;     /* const char *: <IfModule> sections
                                     * around new lines, as "X at F:L" */
    int                 guard_rewrite;  /* one of them tests mod_rewrite */
    int                 guard_wstunnel; /* ... mod_proxy_wstunnel */
} wsgm_recipe_out_t;

/** Initialise @a out (pool @a p). */
void wsgm_recipe_init(apr_pool_t *p, wsgm_recipe_out_t *out);

/**
 * Convert the recipes of @a m: edits go to @a out, messages to m->msgs.
 * Temporary memory comes from a subpool of @a p.
 */
void wsgm_recipe_run(apr_pool_t *p, wsgm_model_t *m, wsgm_recipe_out_t *out);

/** Add the module-list hints (a2enmod ...) once everything ran. */
void wsgm_recipe_hints(wsgm_msgs_t *msgs, const wsgm_recipe_out_t *out);

#endif /* WSGM_RECIPE_H */
