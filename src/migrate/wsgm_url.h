/*
 * ws-gateway-migrate: backend URLs as mod_proxy and WSGatewayPass see them.
 */
#ifndef WSGM_URL_H
#define WSGM_URL_H

#include <apr_pools.h>

typedef struct wsgm_url_t {
    const char *scheme;     /* lower case: "ws", "wss", "http", "https", ... */
    const char *scheme_raw; /* as written */
    int         tls;        /* wss or https */
    int         ws;         /* ws or wss */
    int         known;      /* one of ws, wss, http, https */
    const char *authority;  /* as written ("localhost:8080", "${BACKEND}") */
    const char *origin;     /* "host:port", host lower case, default port
                             * filled in; compare with tls for equality */
    const char *path;       /* "" or starting with '/', query excluded */
    const char *query;      /* text after '?', or NULL */
} wsgm_url_t;

/**
 * Parse an absolute URL "scheme://authority[/path][?query]".
 * @return 0 on success, -1 when @a s is not of that form (no scheme, or
 *         not followed by "//"). All strings are allocated from @a p.
 */
int wsgm_url_parse(apr_pool_t *p, const char *s, wsgm_url_t *u);

#endif /* WSGM_URL_H */
