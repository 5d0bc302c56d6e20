/*
 * Path mapping for WSGatewayPass (APR-only core).
 *
 * PATH matches on segment boundaries: "/chat" matches "/chat", "/chat/" and
 * "/chat/x" but not "/chatty". The longest matching PATH wins; an excluded
 * entry ("WSGatewayPass PATH !") that wins means "not ours".
 */
#ifndef WSGW_MAP_H
#define WSGW_MAP_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct wsgw_map_entry_t {
    const char *path;      /* normalised: starts with '/', no trailing '/' unless "/" */
    apr_size_t  len;       /* strlen(path), or 0 for "/" (matches everything) */
    int         excluded;  /* "PATH !" */
    const void *data;      /* caller's mapping record */
} wsgw_map_entry_t;

/**
 * Normalise a configured PATH.
 * @return the normalised copy in @a p, or NULL when @a path does not start
 *         with '/' (the caller reports the directive error).
 */
const char *wsgw_map_normalize(apr_pool_t *p, const char *path);

/**
 * Does normalised @a path (of length @a len, 0 for "/") cover @a uri?
 * @return 1 on a segment-boundary match, 0 otherwise.
 */
int wsgw_map_covers(const char *path, apr_size_t len, const char *uri);

/**
 * Longest entry of @a entries (an array of wsgw_map_entry_t) covering
 * @a uri. Excluded entries take part; the caller checks ->excluded.
 * @return the entry (owned by the array) or NULL.
 */
const wsgw_map_entry_t *wsgw_map_lookup(const apr_array_header_t *entries,
                                        const char *uri);

/**
 * Join a backend base path and the part of the request path after the
 * matched PATH ("" or starting with '/'), without doubling or losing '/'.
 * @return a string from @a p; never empty (at least "/").
 */
const char *wsgw_map_join(apr_pool_t *p, const char *base, const char *rest);

#endif /* WSGW_MAP_H */
