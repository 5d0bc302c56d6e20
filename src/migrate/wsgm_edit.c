/*
 * ws-gateway-migrate: line edits. See wsgm_edit.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "wsgm_edit.h"

apr_array_header_t *wsgm_edit_list(apr_pool_t *p)
{
    return apr_array_make(p, 8, sizeof(wsgm_edit_t));
}

void wsgm_edit_add(apr_array_header_t *edits, int first, int count,
                   const char *text)
{
    wsgm_edit_t *e;
    int i;

    APR_ARRAY_PUSH(edits, wsgm_edit_t).first = 0;   /* grow by one */
    for (i = edits->nelts - 1; i > 0; --i) {
        wsgm_edit_t *prev = &APR_ARRAY_IDX(edits, i - 1, wsgm_edit_t);

        if (prev->first < first
            || (prev->first == first && prev->count <= count)) {
            break;
        }
        APR_ARRAY_IDX(edits, i, wsgm_edit_t) = *prev;
    }
    e = &APR_ARRAY_IDX(edits, i, wsgm_edit_t);
    e->first = first;
    e->count = count;
    e->text = text ? text : "";
}

const char *wsgm_edit_render(apr_pool_t *p, const wsgm_file_t *f,
                             const apr_array_header_t *edits,
                             apr_size_t *len)
{
    apr_size_t total = f->len, pos = 0;
    char *out;
    int i, line = 0, n = f->lines->nelts;

    total += 3;
    for (i = 0; i < edits->nelts; ++i) {
        total += strlen(APR_ARRAY_IDX(edits, i, wsgm_edit_t).text);
    }
    out = apr_palloc(p, total + 1);
    for (i = 0; i <= edits->nelts; ++i) {
        const wsgm_edit_t *e = i < edits->nelts
                               ? &APR_ARRAY_IDX(edits, i, wsgm_edit_t) : NULL;
        int upto = e ? e->first : n;

        /* copy untouched lines [line, upto) */
        if (upto > line) {
            const wsgm_line_t *a = &APR_ARRAY_IDX(f->lines, line, wsgm_line_t);
            const wsgm_line_t *b = &APR_ARRAY_IDX(f->lines, upto - 1,
                                                  wsgm_line_t);
            apr_size_t bytes = b->off + b->len - a->off;

            memcpy(out + pos, f->data + a->off, bytes);
            pos += bytes;
            line = upto;
        }
        if (e) {
            apr_size_t tl = strlen(e->text);

            if (e->first == 0 && e->count > 0 && f->len >= 3
                && !memcmp(f->data, "\xef\xbb\xbf", 3)) {
                memcpy(out + pos, f->data, 3);  /* keep the byte order mark */
                pos += 3;
            }
            memcpy(out + pos, e->text, tl);
            pos += tl;
            if (e->first + e->count > line) {
                line = e->first + e->count;
            }
        }
    }
    out[pos] = '\0';
    *len = pos;
    return out;
}
