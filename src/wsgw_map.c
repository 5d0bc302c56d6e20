/*
 * WSGatewayPass path mapping: segment-boundary prefixes, longest match,
 * exclusions, and joining the rest of the request path to a backend path.
 * APR-only.
 */
#include <apr_strings.h>

#include "wsgw_map.h"

const char *wsgw_map_normalize(apr_pool_t *p, const char *path)
{
    apr_size_t len;

    if (path == NULL || path[0] != '/') {
        return NULL;
    }
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        --len;
    }
    return apr_pstrmemdup(p, path, len);
}

int wsgw_map_covers(const char *path, apr_size_t len, const char *uri)
{
    if (uri == NULL || uri[0] != '/') {
        return 0;
    }
    if (len == 0) {
        return 1;       /* "/" covers every path */
    }
    if (strncmp(path, uri, len) != 0) {
        return 0;
    }
    return uri[len] == '\0' || uri[len] == '/';
}

const wsgw_map_entry_t *wsgw_map_lookup(const apr_array_header_t *entries,
                                        const char *uri)
{
    const wsgw_map_entry_t *best = NULL;
    int i;

    for (i = 0; entries && i < entries->nelts; ++i) {
        const wsgw_map_entry_t *e =
            &APR_ARRAY_IDX(entries, i, wsgw_map_entry_t);

        if (wsgw_map_covers(e->path, e->len, uri)
            && (best == NULL || e->len > best->len)) {
            best = e;
        }
    }
    return best;
}

const char *wsgw_map_join(apr_pool_t *p, const char *base, const char *rest)
{
    apr_size_t blen;

    if (base == NULL || base[0] == '\0') {
        base = "/";
    }
    if (rest == NULL || rest[0] == '\0') {
        return base;
    }
    blen = strlen(base);
    if (base[blen - 1] == '/' && rest[0] == '/') {
        return apr_pstrcat(p, base, rest + 1, NULL);
    }
    if (base[blen - 1] != '/' && rest[0] != '/') {
        return apr_pstrcat(p, base, "/", rest, NULL);
    }
    return apr_pstrcat(p, base, rest, NULL);
}
