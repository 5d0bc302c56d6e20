/*
 * ws-gateway-migrate: backend URLs. See wsgm_url.h.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgm_url.h"

static const char *wsgm_url_lower(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *d = apr_pstrmemdup(p, s, n);
    char *c;

    for (c = d; *c; ++c) {
        *c = (char)apr_tolower(*c);
    }
    return d;
}

int wsgm_url_parse(apr_pool_t *p, const char *s, wsgm_url_t *u)
{
    const char *c = s, *auth, *end, *host_end, *port = NULL;
    const char *dflt;

    memset(u, 0, sizeof(*u));
    if (!apr_isalpha(*c)) {
        return -1;
    }
    while (apr_isalnum(*c) || *c == '+' || *c == '-' || *c == '.') {
        ++c;
    }
    if (c[0] != ':' || c[1] != '/' || c[2] != '/') {
        return -1;
    }
    u->scheme_raw = apr_pstrmemdup(p, s, (apr_size_t)(c - s));
    u->scheme = wsgm_url_lower(p, s, (apr_size_t)(c - s));
    auth = c + 3;
    end = auth;
    /* the authority ends at '/', '?' or '#', but not inside ${...} */
    while (*end && *end != '/' && *end != '?' && *end != '#') {
        if (end[0] == '$' && end[1] == '{') {
            const char *close = strchr(end, '}');

            if (close) {
                end = close + 1;
                continue;
            }
        }
        ++end;
    }
    u->authority = apr_pstrmemdup(p, auth, (apr_size_t)(end - auth));
    if (*u->authority == '\0') {
        return -1;
    }
    {
        const char *q = strchr(end, '?');
        const char *h = strchr(end, '#');

        if (h && (!q || h < q)) {
            u->path = apr_pstrmemdup(p, end, (apr_size_t)(h - end));
        }
        else if (q) {
            u->path = apr_pstrmemdup(p, end, (apr_size_t)(q - end));
            u->query = apr_pstrdup(p, q + 1);
        }
        else {
            u->path = apr_pstrdup(p, end);
        }
    }

    if (!strcmp(u->scheme, "ws") || !strcmp(u->scheme, "http")) {
        u->known = 1;
        u->ws = u->scheme[0] == 'w';
        dflt = "80";
    }
    else if (!strcmp(u->scheme, "wss") || !strcmp(u->scheme, "https")) {
        u->known = 1;
        u->tls = 1;
        u->ws = u->scheme[0] == 'w';
        dflt = "443";
    }
    else {
        dflt = "";
    }
    /* host[:port], IPv6 literals in brackets */
    if (u->authority[0] == '[') {
        host_end = strchr(u->authority, ']');
        host_end = host_end ? host_end + 1 : u->authority
                                             + strlen(u->authority);
    }
    else {
        host_end = strrchr(u->authority, ':');
        if (host_end == NULL || strchr(host_end, '}')) {
            host_end = u->authority + strlen(u->authority);
        }
    }
    if (*host_end == ':') {
        port = host_end + 1;
    }
    u->origin = apr_pstrcat(p,
                            wsgm_url_lower(p, u->authority,
                                           (apr_size_t)(host_end
                                                        - u->authority)),
                            ":", (port && *port) ? port : dflt, NULL);
    return 0;
}
