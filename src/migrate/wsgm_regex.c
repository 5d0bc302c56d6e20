/*
 * ws-gateway-migrate: PCRE-subset patterns on top of POSIX regex.
 * See wsgm_regex.h for the contract.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgm_regex.h"

/* Growing output string for the translation. */
typedef struct wsgm_regex_out_t {
    apr_pool_t *p;
    char       *s;
    apr_size_t  len, cap;
} wsgm_regex_out_t;

static void wsgm_regex_put(wsgm_regex_out_t *o, const char *s)
{
    apr_size_t n = strlen(s);

    if (o->len + n + 1 > o->cap) {
        apr_size_t cap = o->cap ? o->cap * 2 : 64;
        char *d;

        while (cap < o->len + n + 1) {
            cap *= 2;
        }
        d = apr_palloc(o->p, cap);
        if (o->len) {
            memcpy(d, o->s, o->len);
        }
        o->s = d;
        o->cap = cap;
    }
    memcpy(o->s + o->len, s, n + 1);
    o->len += n;
}

static void wsgm_regex_putc(wsgm_regex_out_t *o, char c)
{
    char b[2];

    b[0] = c;
    b[1] = '\0';
    wsgm_regex_put(o, b);
}

/* A character that is special in POSIX ERE outside brackets. */
static int wsgm_regex_is_special(char c)
{
    return c != '\0' && strchr(".[]()*+?{}|^$\\", c) != NULL;
}

/* Escape a literal character for ERE. */
static void wsgm_regex_put_literal(wsgm_regex_out_t *o, char c)
{
    if (wsgm_regex_is_special(c)) {
        wsgm_regex_putc(o, '\\');
    }
    wsgm_regex_putc(o, c);
}

/* Translate a bracket expression starting at *s == '['. Returns 0 when
 * it uses something we do not translate. */
static int wsgm_regex_bracket(wsgm_regex_out_t *o, const char **sp)
{
    const char *s = *sp + 1;
    int first = 1;

    wsgm_regex_putc(o, '[');
    if (*s == '^') {
        wsgm_regex_putc(o, '^');
        ++s;
    }
    for (; *s; ++s, first = 0) {
        if (*s == ']' && !first) {
            wsgm_regex_putc(o, ']');
            *sp = s + 1;
            return 1;
        }
        if (*s == '[' && s[1] == ':') {
            const char *e = strstr(s + 2, ":]");

            if (e == NULL) {
                return 0;
            }
            wsgm_regex_put(o, apr_pstrmemdup(o->p, s,
                                             (apr_size_t)(e + 2 - s)));
            s = e + 1;
            continue;
        }
        if (*s == '\\') {
            char c = s[1];

            if (c == 'd') {
                wsgm_regex_put(o, "0-9");
            }
            else if (c == 'w') {
                wsgm_regex_put(o, "A-Za-z0-9_");
            }
            else if (c == 's') {
                wsgm_regex_put(o, "[:space:]");
            }
            else if (c != '\0' && !apr_isalnum(c) && c != ']' && c != '^'
                     && c != '-' && c != '\\' && c != '[') {
                wsgm_regex_putc(o, c);
            }
            else {
                return 0;
            }
            ++s;
            continue;
        }
        wsgm_regex_putc(o, *s);
    }
    return 0;   /* unterminated */
}

/*
 * Translate @a pat to ERE. Also computes the literal prefix. Returns the
 * ERE or NULL when outside the subset.
 */
static const char *wsgm_regex_translate(apr_pool_t *p, const char *pat,
                                        wsgm_regex_t *r)
{
    wsgm_regex_out_t o = { p, NULL, 0, 0 };
    wsgm_regex_out_t lit = { p, NULL, 0, 0 };
    const char *s = pat;
    int in_literal = 1, depth = 0, strict = -1;

    wsgm_regex_put(&o, "");
    wsgm_regex_put(&lit, "");
    r->ngroups = 0;
    r->anchored = 0;
    if (*s == '^') {
        r->anchored = 1;
        wsgm_regex_putc(&o, '^');
        ++s;
    }
    while (*s) {
        char c = *s;

        /* Quantifiers: lazy and possessive forms are PCRE-only. */
        if (c == '*' || c == '+' || c == '?' || c == '{') {
            const char *q = s;

            if (c == '{') {
                q = strchr(s, '}');
                if (q == NULL) {
                    return NULL;
                }
                wsgm_regex_put(&o, apr_pstrmemdup(p, s,
                                                  (apr_size_t)(q + 1 - s)));
            }
            else {
                wsgm_regex_putc(&o, c);
            }
            if (q[1] == '?' || q[1] == '+') {
                return NULL;
            }
            if (in_literal && (c == '*' || c == '?' || c == '{')
                && lit.len > 0) {
                /* the last literal character is optional or repeated */
                lit.s[--lit.len] = '\0';
            }
            in_literal = 0;
            s = q + 1;
            continue;
        }
        if (c == '\\') {
            char e = s[1];

            if (e == '\0') {
                return NULL;
            }
            if (e == 'd' || e == 'w' || e == 's' || e == 'D' || e == 'W'
                || e == 'S') {
                static const char *const cls[] = {
                    "[0-9]", "[A-Za-z0-9_]", "[[:space:]]",
                    "[^0-9]", "[^A-Za-z0-9_]", "[^[:space:]]" };
                const char *set = "dwsDWS";

                wsgm_regex_put(&o, cls[strchr(set, e) - set]);
                in_literal = 0;
            }
            else if (apr_isalnum(e)) {
                return NULL;    /* \b, \1, \x41, \Q ... */
            }
            else {
                wsgm_regex_put_literal(&o, e);
                if (in_literal) {
                    wsgm_regex_putc(&lit, e);
                }
            }
            s += 2;
            continue;
        }
        if (c == '[') {
            if (!wsgm_regex_bracket(&o, &s)) {
                return NULL;
            }
            in_literal = 0;
            continue;
        }
        if (c == '(') {
            if (s[1] == '?') {
                return NULL;    /* (?:  (?i)  (?=  ... */
            }
            ++r->ngroups;
            ++depth;
            wsgm_regex_putc(&o, '(');
            in_literal = 0;
            ++s;
            continue;
        }
        if (c == ')') {
            if (depth == 0) {
                return NULL;
            }
            --depth;
            wsgm_regex_putc(&o, ')');
            ++s;
            continue;
        }
        if (c == '|') {
            /* alternation: no common literal prefix can be trusted */
            lit.len = 0;
            lit.s[0] = '\0';
            in_literal = 0;
            wsgm_regex_putc(&o, '|');
            ++s;
            continue;
        }
        if (c == '.') {
            /* "socket.io": an unescaped dot between literal characters is
             * taken as a dot for the literal prefix (the match itself keeps
             * the wildcard meaning). */
            wsgm_regex_putc(&o, '.');
            if (in_literal && s[1] && !strchr("*+?{", s[1])) {
                if (strict < 0) {
                    strict = (int)lit.len;
                }
                wsgm_regex_putc(&lit, '.');
            }
            else {
                in_literal = 0;
            }
            ++s;
            continue;
        }
        if (c == '^' || c == '$') {
            wsgm_regex_putc(&o, c);
            in_literal = 0;
            ++s;
            continue;
        }
        if (c == ']' || c == '}') {
            wsgm_regex_put_literal(&o, c);
            if (in_literal) {
                wsgm_regex_putc(&lit, c);
            }
            ++s;
            continue;
        }
        wsgm_regex_putc(&o, c);
        if (in_literal) {
            wsgm_regex_putc(&lit, c);
        }
        ++s;
    }
    if (depth != 0 || r->ngroups >= WSGM_REGEX_MAX_GROUPS) {
        return NULL;
    }
    r->literal = lit.s;
    r->prefix = strict >= 0 ? apr_pstrmemdup(p, lit.s, (apr_size_t)strict)
                            : lit.s;
    if (!r->anchored) {
        r->prefix = "";
    }
    return o.s;
}

static apr_status_t wsgm_regex_cleanup(void *data)
{
    wsgm_regex_t *r = data;

    if (r->ok) {
        regfree(&r->re);
        r->ok = 0;
    }
    return APR_SUCCESS;
}

int wsgm_regex_compile(apr_pool_t *p, wsgm_regex_t *r, const char *pat,
                       int icase)
{
    const char *ere;

    memset(r, 0, sizeof(*r));
    r->literal = "";
    r->prefix = "";
    ere = wsgm_regex_translate(p, pat, r);
    if (ere == NULL) {
        r->ok = 0;
        if (r->literal == NULL) {
            r->literal = "";
        }
        r->prefix = "";
        return 0;
    }
    if (regcomp(&r->re, ere, REG_EXTENDED | (icase ? REG_ICASE : 0)) != 0) {
        r->ok = 0;
        return 0;
    }
    r->ok = 1;
    apr_pool_cleanup_register(p, r, wsgm_regex_cleanup,
                              apr_pool_cleanup_null);
    return 1;
}

int wsgm_regex_match(const wsgm_regex_t *r, const char *s, regmatch_t *m)
{
    int i;

    if (!r->ok) {
        return 0;
    }
    for (i = 0; i < WSGM_REGEX_MAX_GROUPS; ++i) {
        m[i].rm_so = m[i].rm_eo = -1;
    }
    return regexec(&r->re, s, WSGM_REGEX_MAX_GROUPS, m, 0) == 0;
}

int wsgm_regex_matches_all(const wsgm_regex_t *r)
{
    static const char *const samples[] = {
        "", "/", "/x", "/var/www/html/ws/x", "proxy:http://127.0.0.1:1/x",
        "/ws/a.b/c?d", "relative", NULL };
    regmatch_t m[WSGM_REGEX_MAX_GROUPS];
    int i;

    if (!r->ok) {
        return 0;
    }
    for (i = 0; samples[i]; ++i) {
        if (!wsgm_regex_match(r, samples[i], m)) {
            return 0;
        }
    }
    return 1;
}
