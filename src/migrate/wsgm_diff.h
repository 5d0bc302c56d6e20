/*
 * ws-gateway-migrate: unified diff of a file and its edits (--diff).
 *
 * The edits are known exactly (wsgm_edit.h), so the diff is produced from
 * them directly rather than by searching for a longest common subsequence:
 * hunks carry three lines of context and merge when their context touches,
 * like `diff -u`. The output applies with `patch -p0`.
 */
#ifndef WSGM_DIFF_H
#define WSGM_DIFF_H

#include <stdio.h>

#include <apr_pools.h>
#include <apr_tables.h>

#include "wsgm_conf.h"

#define WSGM_DIFF_CONTEXT 3

/**
 * Write the unified diff turning @a f into @a f with @a edits applied,
 * labelled @a old_label and @a new_label, to @a out. Nothing is written
 * when @a edits is empty.
 * @return 0, or -1 on a write error.
 */
int wsgm_diff_write(apr_pool_t *p, FILE *out, const wsgm_file_t *f,
                    const apr_array_header_t *edits, const char *old_label,
                    const char *new_label);

#endif /* WSGM_DIFF_H */
