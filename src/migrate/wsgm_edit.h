/*
 * ws-gateway-migrate: line edits on a tokenized file.
 *
 * An edit replaces whole physical lines (possibly none: an insertion) with
 * new bytes. Lines no edit touches are copied byte for byte, so the output
 * differs from the input only where a recipe was converted.
 *
 * Memory: edits and rendered output live in the pool passed in.
 */
#ifndef WSGM_EDIT_H
#define WSGM_EDIT_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wsgm_conf.h"

typedef struct wsgm_edit_t {
    int         first;      /* first physical line replaced (0-based) */
    int         count;      /* physical lines replaced; 0 inserts before */
    const char *text;       /* replacement: whole lines, ends of line
                             * included */
} wsgm_edit_t;

/** A new, empty edit list. */
apr_array_header_t *wsgm_edit_list(apr_pool_t *p);

/**
 * Add an edit. Edits must not overlap (the tool never replaces a line
 * twice); they are kept sorted by first line.
 */
void wsgm_edit_add(apr_array_header_t *edits, int first, int count,
                   const char *text);

/**
 * The file's bytes with @a edits applied.
 * @return a buffer from @a p (not NUL-terminated), its length in *@a len.
 */
const char *wsgm_edit_render(apr_pool_t *p, const wsgm_file_t *f,
                             const apr_array_header_t *edits,
                             apr_size_t *len);

#endif /* WSGM_EDIT_H */
