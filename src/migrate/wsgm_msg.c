/*
 * ws-gateway-migrate: collected messages. See wsgm_msg.h.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "wsgm_msg.h"

typedef struct wsgm_msg_t {
    wsgm_msg_level_e level;
    int         file_rank;  /* order in which the file was first named */
    const char *file;
    int         line;
    int         seq;
    const char *text;
} wsgm_msg_t;

struct wsgm_msgs_t {
    apr_pool_t         *p;
    apr_array_header_t *msgs;       /* wsgm_msg_t */
    apr_array_header_t *files;      /* const char *, rank = index */
    apr_hash_t         *seen;       /* "level|line|file|text" -> "" */
    int                 seq;
    int                 counts[WSGM_MSG_HINT + 1];
};

wsgm_msgs_t *wsgm_msg_create(apr_pool_t *p)
{
    wsgm_msgs_t *ms = apr_pcalloc(p, sizeof(*ms));

    ms->p = p;
    ms->msgs = apr_array_make(p, 16, sizeof(wsgm_msg_t));
    ms->files = apr_array_make(p, 4, sizeof(const char *));
    ms->seen = apr_hash_make(p);
    return ms;
}

static int wsgm_msg_rank(wsgm_msgs_t *ms, const char *file)
{
    int i;

    if (file == NULL) {
        return 1 << 30;     /* hints come last */
    }
    for (i = 0; i < ms->files->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(ms->files, i, const char *), file)) {
            return i;
        }
    }
    APR_ARRAY_PUSH(ms->files, const char *) = apr_pstrdup(ms->p, file);
    return ms->files->nelts - 1;
}

void wsgm_msg_add(wsgm_msgs_t *ms, wsgm_msg_level_e level, const char *file,
                  int line, const char *fmt, ...)
{
    wsgm_msg_t *m;
    va_list ap;

    va_start(ap, fmt);
    {
        const char *text = apr_pvsprintf(ms->p, fmt, ap);

        /* the same message for the same place once only */
        const char *key = apr_psprintf(ms->p, "%d|%d|%s|%s", (int)level, line,
                                       file ? file : "", text);

        if (apr_hash_get(ms->seen, key, APR_HASH_KEY_STRING)) {
            va_end(ap);
            return;
        }
        apr_hash_set(ms->seen, key, APR_HASH_KEY_STRING, "");
        m = &APR_ARRAY_PUSH(ms->msgs, wsgm_msg_t);
        m->text = text;
    }
    va_end(ap);
    m->level = level;
    m->file_rank = wsgm_msg_rank(ms, file);
    m->file = file ? apr_pstrdup(ms->p, file) : NULL;
    m->line = line;
    m->seq = ms->seq++;
    ms->counts[level]++;
}

int wsgm_msg_count(const wsgm_msgs_t *ms, wsgm_msg_level_e level)
{
    return ms->counts[level];
}

static int wsgm_msg_cmp(const void *a, const void *b)
{
    const wsgm_msg_t *x = a, *y = b;

    if (x->file_rank != y->file_rank) {
        return x->file_rank < y->file_rank ? -1 : 1;
    }
    if (x->line != y->line) {
        return x->line < y->line ? -1 : 1;
    }
    return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

void wsgm_msg_flush(wsgm_msgs_t *ms, FILE *out)
{
    static const char *const prefix[] = {
        "converted ", "warning: ", "note: ", "error: ", "hint: " };
    int i;

    qsort(ms->msgs->elts, (size_t)ms->msgs->nelts, sizeof(wsgm_msg_t),
          wsgm_msg_cmp);
    for (i = 0; i < ms->msgs->nelts; ++i) {
        const wsgm_msg_t *m = &APR_ARRAY_IDX(ms->msgs, i, wsgm_msg_t);

        if (m->file == NULL) {
            fprintf(out, "ws-gateway-migrate: %s%s\n", prefix[m->level],
                    m->text);
        }
        else if (m->line > 0) {
            fprintf(out, "%s:%d: %s%s\n", m->file, m->line, prefix[m->level],
                    m->text);
        }
        else {
            fprintf(out, "%s: %s%s\n", m->file, prefix[m->level], m->text);
        }
    }
    fflush(out);
    ms->msgs->nelts = 0;
}
