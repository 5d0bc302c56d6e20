/*
 * ws-gateway-migrate: unified diff from edits. See wsgm_diff.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "wsgm_diff.h"
#include "wsgm_edit.h"

/* One line of the new text of an edit. */
typedef struct wsgm_diff_nl_t {
    const char *s;
    apr_size_t  n;          /* bytes, end of line included */
    int         has_eol;
} wsgm_diff_nl_t;

/* Split an edit's replacement text into lines. */
static apr_array_header_t *wsgm_diff_split(apr_pool_t *p, const char *text)
{
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(wsgm_diff_nl_t));
    const char *s = text;

    while (*s) {
        const char *nl = strchr(s, '\n');
        wsgm_diff_nl_t *l = &APR_ARRAY_PUSH(a, wsgm_diff_nl_t);

        l->s = s;
        l->n = nl ? (apr_size_t)(nl - s) + 1 : strlen(s);
        l->has_eol = nl != NULL;
        s += l->n;
    }
    return a;
}

static int wsgm_diff_line(FILE *out, char mark, const char *s, apr_size_t n,
                          int has_eol)
{
    if (fputc(mark, out) == EOF || fwrite(s, 1, n, out) != n) {
        return -1;
    }
    if (!has_eol && fputs("\n\\ No newline at end of file\n", out) == EOF) {
        return -1;
    }
    return 0;
}

static int wsgm_diff_old(FILE *out, char mark, const wsgm_file_t *f, int i)
{
    const wsgm_line_t *l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);

    return wsgm_diff_line(out, mark, f->data + l->off, l->len, l->eol != 0);
}

int wsgm_diff_write(apr_pool_t *p, FILE *out, const wsgm_file_t *f,
                    const apr_array_header_t *edits, const char *old_label,
                    const char *new_label)
{
    int nold = f->lines->nelts, i = 0, delta = 0;

    if (edits->nelts == 0) {
        return 0;
    }
    /* A name with blanks ends at a tab, where diff -u puts its time
     * stamp, or patch would take only its first word. */
    if (fprintf(out, "--- %s%s\n+++ %s%s\n", old_label,
                strpbrk(old_label, " \t") ? "\t" : "", new_label,
                strpbrk(new_label, " \t") ? "\t" : "") < 0) {
        return -1;
    }
    while (i < edits->nelts) {
        int j = i, k, start, end, olen = 0, nlen = 0, line, hunk_delta;

        /* gather the edits whose context overlaps */
        while (j + 1 < edits->nelts) {
            const wsgm_edit_t *a = &APR_ARRAY_IDX(edits, j, wsgm_edit_t);
            const wsgm_edit_t *b = &APR_ARRAY_IDX(edits, j + 1, wsgm_edit_t);

            if (b->first - (a->first + a->count) > 2 * WSGM_DIFF_CONTEXT) {
                break;
            }
            ++j;
        }
        start = APR_ARRAY_IDX(edits, i, wsgm_edit_t).first - WSGM_DIFF_CONTEXT;
        if (start < 0) {
            start = 0;
        }
        {
            const wsgm_edit_t *last = &APR_ARRAY_IDX(edits, j, wsgm_edit_t);

            end = last->first + last->count + WSGM_DIFF_CONTEXT;
            if (end > nold) {
                end = nold;
            }
        }
        /* sizes */
        hunk_delta = 0;
        for (k = i; k <= j; ++k) {
            const wsgm_edit_t *e = &APR_ARRAY_IDX(edits, k, wsgm_edit_t);
            int added = wsgm_diff_split(p, e->text)->nelts;

            hunk_delta += added - e->count;
        }
        olen = end - start;
        nlen = olen + hunk_delta;
        if (fprintf(out, "@@ -%d,%d +%d,%d @@\n",
                    olen ? start + 1 : start, olen,
                    nlen ? start + 1 + delta : start + delta, nlen) < 0) {
            return -1;
        }
        line = start;
        for (k = i; k <= j;) {
            const wsgm_edit_t *e = &APR_ARRAY_IDX(edits, k, wsgm_edit_t);
            int run = k, x, r;

            /* contiguous edits print as one block: all '-' then all '+' */
            while (run + 1 <= j) {
                const wsgm_edit_t *a = &APR_ARRAY_IDX(edits, run, wsgm_edit_t);
                const wsgm_edit_t *b = &APR_ARRAY_IDX(edits, run + 1,
                                                      wsgm_edit_t);

                if (b->first != a->first + a->count) {
                    break;
                }
                ++run;
            }
            for (; line < e->first; ++line) {
                if (wsgm_diff_old(out, ' ', f, line) != 0) {
                    return -1;
                }
            }
            for (r = k; r <= run; ++r) {
                const wsgm_edit_t *er = &APR_ARRAY_IDX(edits, r, wsgm_edit_t);

                for (x = 0; x < er->count; ++x, ++line) {
                    if (wsgm_diff_old(out, '-', f, line) != 0) {
                        return -1;
                    }
                }
            }
            for (r = k; r <= run; ++r) {
                const wsgm_edit_t *er = &APR_ARRAY_IDX(edits, r, wsgm_edit_t);
                apr_array_header_t *nl = wsgm_diff_split(p, er->text);

                for (x = 0; x < nl->nelts; ++x) {
                    const wsgm_diff_nl_t *l = &APR_ARRAY_IDX(nl, x,
                                                             wsgm_diff_nl_t);

                    if (wsgm_diff_line(out, '+', l->s, l->n, l->has_eol)
                        != 0) {
                        return -1;
                    }
                }
            }
            k = run + 1;
        }
        for (; line < end; ++line) {
            if (wsgm_diff_old(out, ' ', f, line) != 0) {
                return -1;
            }
        }
        delta += hunk_delta;
        i = j + 1;
    }
    return 0;
}
