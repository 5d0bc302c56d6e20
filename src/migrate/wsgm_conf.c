/*
 * ws-gateway-migrate: byte-preserving tokenizer for Apache configuration.
 * See wsgm_conf.h for the contract.
 */
#include <assert.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgm_conf.h"

/* Growing byte buffer used while joining continuation lines. */
typedef struct wsgm_conf_buf_t {
    char       *data;
    apr_size_t  len;
    apr_size_t  cap;
} wsgm_conf_buf_t;

static void wsgm_conf_buf_add(apr_pool_t *p, wsgm_conf_buf_t *b,
                              const char *s, apr_size_t n)
{
    if (b->len + n + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 128;
        char *d;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        d = apr_palloc(p, cap);
        if (b->len) {
            memcpy(d, b->data, b->len);
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static int wsgm_conf_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f'
        || c == '\v';
}

/* Physical lines: a line ends after '\n'; the last one may lack it. */
static void wsgm_conf_split_lines(wsgm_file_t *f)
{
    apr_size_t off = 0;

    while (off < f->len) {
        const char *nl = memchr(f->data + off, '\n', f->len - off);
        wsgm_line_t *l = &APR_ARRAY_PUSH(f->lines, wsgm_line_t);

        l->off = off;
        if (nl) {
            l->len = (apr_size_t)(nl - (f->data + off)) + 1;
            l->eol = (l->len >= 2 && nl[-1] == '\r') ? 2 : 1;
        }
        else {
            l->len = f->len - off;
            l->eol = 0;
        }
        off += l->len;
    }
}

/* Binary data is not configuration: NUL or control bytes other than
 * white space. A UTF-8 byte order mark at the start is tolerated. */
static int wsgm_conf_find_binary(const wsgm_file_t *f, int *line)
{
    apr_size_t i;
    int ln = 1;

    for (i = 0; i < f->len; ++i) {
        unsigned char c = (unsigned char)f->data[i];

        if (c == '\n') {
            ++ln;
        }
        else if ((c < 0x20 && c != '\t' && c != '\r' && c != '\f'
                  && c != '\v') || c == 0x7f) {
            *line = ln;
            return 1;
        }
    }
    return 0;
}

/* A directive name as httpd could know it (or a ${VAR} / macro argument). */
static int wsgm_conf_name_ok(const char *name)
{
    const char *s;

    if (*name == '\0') {
        return 0;
    }
    for (s = name; *s; ++s) {
        if (!(apr_isalnum(*s) || strchr("_.:$@%{}-", *s))) {
            return 0;
        }
    }
    return 1;
}

static void wsgm_conf_trim(const char **s, apr_size_t *n)
{
    while (*n && wsgm_conf_is_space(**s)) {
        ++*s;
        --*n;
    }
    while (*n && wsgm_conf_is_space((*s)[*n - 1])) {
        --*n;
    }
}

wsgm_item_t *wsgm_conf_item(const wsgm_file_t *f, int i)
{
    assert(i >= 0 && i < f->items->nelts);
    return &APR_ARRAY_IDX(f->items, i, wsgm_item_t);
}

const char *wsgm_conf_line_text(apr_pool_t *p, const wsgm_file_t *f, int i)
{
    const wsgm_line_t *l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);

    return apr_pstrmemdup(p, f->data + l->off, l->len - l->eol);
}

const char *wsgm_conf_line_eol(const wsgm_file_t *f, int i)
{
    const wsgm_line_t *l;

    if (i < 0 || i >= f->lines->nelts) {
        return f->eol;
    }
    l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);
    if (l->eol == 2) {
        return "\r\n";
    }
    if (l->eol == 1) {
        return "\n";
    }
    return "";
}

/* Classify the trimmed logical text of @a it. Returns NULL or an error. */
static const char *wsgm_conf_classify(apr_pool_t *p, wsgm_item_t *it,
                                      int in_raw)
{
    const char *t = it->text, *s;

    it->name = "";
    it->args = "";
    if (in_raw) {
        if (!strncasecmp(t, "</perl", 6)) {
            it->kind = WSGM_ITEM_CLOSE;
            it->name = "Perl";
        }
        else {
            it->kind = WSGM_ITEM_RAW;
        }
        return NULL;
    }
    if (*t == '\0') {
        it->kind = WSGM_ITEM_BLANK;
        return NULL;
    }
    if (*t == '#') {
        it->kind = WSGM_ITEM_COMMENT;
        return NULL;
    }
    if (t[0] == '<' && t[1] == '/') {
        s = t + 2;
        while (*s && *s != '>' && !wsgm_conf_is_space(*s)) {
            ++s;
        }
        it->kind = WSGM_ITEM_CLOSE;
        it->name = apr_pstrmemdup(p, t + 2, (apr_size_t)(s - (t + 2)));
        if (*it->name == '\0' || strchr(s, '>') == NULL) {
            return apr_psprintf(p, "'%s' is not a closing section tag", t);
        }
        return NULL;
    }
    if (t[0] == '<') {
        apr_size_t n = strlen(t);
        const char *a;
        apr_size_t an;

        s = t + 1;
        while (*s && *s != '>' && !wsgm_conf_is_space(*s)) {
            ++s;
        }
        it->kind = WSGM_ITEM_OPEN;
        it->name = apr_pstrmemdup(p, t + 1, (apr_size_t)(s - (t + 1)));
        if (!wsgm_conf_name_ok(it->name)) {
            return apr_psprintf(p, "'%s' is not a section tag", t);
        }
        if (t[n - 1] != '>') {
            return apr_psprintf(p, "<%s> has no closing '>'", it->name);
        }
        a = s;
        an = (apr_size_t)((t + n - 1) - s);
        wsgm_conf_trim(&a, &an);
        it->args = apr_pstrmemdup(p, a, an);
        return NULL;
    }
    s = t;
    while (*s && !wsgm_conf_is_space(*s)) {
        ++s;
    }
    it->kind = WSGM_ITEM_DIRECTIVE;
    it->name = apr_pstrmemdup(p, t, (apr_size_t)(s - t));
    while (wsgm_conf_is_space(*s)) {
        ++s;
    }
    it->args = s;
    if (!wsgm_conf_name_ok(it->name)) {
        return apr_psprintf(p, "'%s' is not a directive name",
                            strlen(it->name) > 40
                                ? apr_pstrcat(p, apr_pstrmemdup(p, it->name,
                                                                40), "…",
                                              NULL)
                                : it->name);
    }
    return NULL;
}

int wsgm_conf_parse(apr_pool_t *p, wsgm_file_t *f, const char **err,
                    int *errline)
{
    apr_array_header_t *stack;
    int i, n, crlf = 0, lf = 0, in_raw = 0;

    f->lines = apr_array_make(p, 64, sizeof(wsgm_line_t));
    f->items = apr_array_make(p, 64, sizeof(wsgm_item_t));
    f->eol = "\n";
    *err = NULL;
    *errline = 0;

    if (wsgm_conf_find_binary(f, errline)) {
        *err = "binary data (control characters), not an Apache "
               "configuration file";
        return -1;
    }
    wsgm_conf_split_lines(f);
    n = f->lines->nelts;
    for (i = 0; i < n; ++i) {
        const wsgm_line_t *l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);

        if (l->eol == 2) {
            ++crlf;
        }
        else if (l->eol == 1) {
            ++lf;
        }
    }
    if (crlf > lf) {
        f->eol = "\r\n";
    }

    stack = apr_array_make(p, 8, sizeof(int));
    for (i = 0; i < n;) {
        wsgm_conf_buf_t b = { NULL, 0, 0 };
        wsgm_item_t *it = &APR_ARRAY_PUSH(f->items, wsgm_item_t);
        const wsgm_line_t *l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);
        const char *s = f->data + l->off;
        apr_size_t sn = l->len - l->eol, k;
        const char *msg;

        memset(it, 0, sizeof(*it));
        it->first = i;
        it->line = i + 1;
        it->close = -1;
        it->parent = stack->nelts ? APR_ARRAY_IDX(stack, stack->nelts - 1,
                                                  int) : -1;
        if (i == 0 && sn >= 3 && !memcmp(s, "\xef\xbb\xbf", 3)) {
            s += 3;     /* UTF-8 byte order mark */
            sn -= 3;
        }
        for (k = 0; k < sn && (s[k] == ' ' || s[k] == '\t'); ++k) {
        }
        it->indent = apr_pstrmemdup(p, s, k);

        /* Join continuation lines: '\' right before the end of line. */
        for (;;) {
            l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);
            ++i;
            if (l->eol && sn > 0 && s[sn - 1] == '\\' && i < n) {
                wsgm_conf_buf_add(p, &b, s, sn - 1);
                l = &APR_ARRAY_IDX(f->lines, i, wsgm_line_t);
                s = f->data + l->off;
                sn = l->len - l->eol;
                continue;
            }
            if (l->eol && sn > 0 && s[sn - 1] == '\\') {
                sn--;   /* continuation at end of file: nothing follows */
            }
            wsgm_conf_buf_add(p, &b, s, sn);
            break;
        }
        it->nlines = i - it->first;
        {
            const char *t = b.data;
            apr_size_t tn = b.len;

            wsgm_conf_trim(&t, &tn);
            it->text = apr_pstrmemdup(p, t, tn);
        }

        msg = wsgm_conf_classify(p, it, in_raw);
        if (msg) {
            *err = msg;
            *errline = it->line;
            return -1;
        }
        if (it->kind == WSGM_ITEM_OPEN) {
            APR_ARRAY_PUSH(stack, int) = f->items->nelts - 1;
            if (!strcasecmp(it->name, "Perl")) {
                in_raw = 1;
            }
        }
        else if (it->kind == WSGM_ITEM_CLOSE) {
            wsgm_item_t *open;
            int oi;

            if (stack->nelts == 0) {
                *err = apr_psprintf(p, "</%s> without matching <%s> section",
                                    it->name, it->name);
                *errline = it->line;
                return -1;
            }
            oi = APR_ARRAY_IDX(stack, stack->nelts - 1, int);
            open = wsgm_conf_item(f, oi);
            if (strcasecmp(open->name, it->name) != 0) {
                *err = apr_psprintf(p, "</%s> closes <%s> opened at line %d",
                                    it->name, open->name, open->line);
                *errline = it->line;
                return -1;
            }
            --stack->nelts;
            open->close = f->items->nelts - 1;
            it->parent = open->parent;
            in_raw = 0;
        }
    }
    if (stack->nelts) {
        const wsgm_item_t *open =
            wsgm_conf_item(f, APR_ARRAY_IDX(stack, stack->nelts - 1, int));

        *err = apr_psprintf(p, "<%s> is never closed (expected </%s> before "
                            "the end of the file)", open->name, open->name);
        *errline = open->line;
        return -1;
    }
    return 0;
}

apr_array_header_t *wsgm_conf_words(apr_pool_t *p, const char *args)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(wsgm_word_t));
    const char *s = args;

    for (;;) {
        wsgm_word_t *w;
        const char *start;

        while (wsgm_conf_is_space(*s)) {
            ++s;
        }
        if (*s == '\0') {
            break;
        }
        w = &APR_ARRAY_PUSH(a, wsgm_word_t);
        if (*s == '"' || *s == '\'') {
            char q = *s++;
            wsgm_conf_buf_t b = { NULL, 0, 0 };

            start = s;
            while (*s && *s != q) {
                if (*s == '\\' && s[1] == q) {
                    wsgm_conf_buf_add(p, &b, start, (apr_size_t)(s - start));
                    start = s + 1;
                    s += 2;
                    continue;
                }
                ++s;
            }
            wsgm_conf_buf_add(p, &b, start, (apr_size_t)(s - start));
            w->text = b.data;
            w->quote = q;
            if (*s == q) {
                ++s;
            }
        }
        else {
            start = s;
            while (*s && !wsgm_conf_is_space(*s)) {
                ++s;
            }
            w->text = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
            w->quote = 0;
        }
    }
    return a;
}

int wsgm_conf_rewrite_args(apr_pool_t *p, const char *args,
                           wsgm_word_t out[3])
{
    const char *s = args;
    int n = 0;

    while (n < 3) {
        char q = 0;
        const char *start;

        while (wsgm_conf_is_space(*s)) {
            ++s;
        }
        if (*s == '\0') {
            break;
        }
        if (*s == '"' || *s == '\'') {
            q = *s++;
        }
        start = s;
        for (; *s; ++s) {
            if ((wsgm_conf_is_space(*s) && !q) || (q && *s == q)) {
                break;
            }
            if (*s == '\\' && wsgm_conf_is_space(s[1])) {
                ++s;
            }
        }
        out[n].text = apr_pstrmemdup(p, start, (apr_size_t)(s - start));
        out[n].quote = q;
        ++n;
        if (*s) {
            ++s;    /* the closing quote or the separating blank */
        }
    }
    return n;
}

int wsgm_conf_load(apr_pool_t *p, const char *path, wsgm_file_t **out,
                   const char **err, int *errline)
{
    wsgm_file_t *f = apr_pcalloc(p, sizeof(*f));
    apr_file_t *fd;
    apr_status_t rv;
    char *data = NULL;
    apr_size_t len = 0, cap = 0;
    char ebuf[256];

    *errline = 0;
    f->path = path;
    f->display = strcmp(path, "-") ? path : "<stdin>";
    if (!strcmp(path, "-")) {
        rv = apr_file_open_stdin(&fd, p);
    }
    else {
        apr_finfo_t fi;

        rv = apr_stat(&fi, path, APR_FINFO_TYPE, p);
        if (rv == APR_SUCCESS && fi.filetype == APR_DIR) {
            *err = "is a directory, not a configuration file";
            return -1;
        }
        rv = apr_file_open(&fd, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                           APR_OS_DEFAULT, p);
    }
    if (rv != APR_SUCCESS) {
        *err = apr_psprintf(p, "cannot read: %s",
                            apr_strerror(rv, ebuf, sizeof(ebuf)));
        return -1;
    }
    for (;;) {
        apr_size_t n;

        if (cap - len < 65536) {
            apr_size_t ncap = cap ? cap * 2 : 65536;
            char *nd = apr_palloc(p, ncap);

            if (len) {
                memcpy(nd, data, len);
            }
            data = nd;
            cap = ncap;
        }
        n = cap - len;
        rv = apr_file_read(fd, data + len, &n);
        len += n;
        if (rv == APR_EOF || (rv == APR_SUCCESS && n == 0)) {
            break;
        }
        if (rv != APR_SUCCESS) {
            *err = apr_psprintf(p, "cannot read: %s",
                                apr_strerror(rv, ebuf, sizeof(ebuf)));
            if (strcmp(path, "-")) {
                apr_file_close(fd);
            }
            return -1;
        }
    }
    if (strcmp(path, "-")) {
        apr_file_close(fd);
    }
    f->data = data ? data : "";
    f->len = len;
    if (wsgm_conf_parse(p, f, err, errline) != 0) {
        return -1;
    }
    *out = f;
    return 0;
}
