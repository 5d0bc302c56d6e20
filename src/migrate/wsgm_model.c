/*
 * ws-gateway-migrate: from tokenized files to directive models.
 * See wsgm_model.h for the contract.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_file_info.h>
#include <apr_fnmatch.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgw_map.h"
#include "wsgm_model.h"

/* Where the walk is. */
typedef struct wsgm_model_ctx_t {
    int          host;
    int          loc;           /* -1: server context */
    const char  *opaque;        /* name of a section WSGatewayPass cannot go
                                 * into (Directory, If, ...), or NULL */
    int          opaque_item;   /* its item (for the message) */
    wsgm_file_t *opaque_file;
    int         *opaque_warned; /* a recipe was reported in that section */
    int          wrapped;
    apr_array_header_t *pending;    /* wsgm_cond_t * waiting for a rule */
} wsgm_model_ctx_t;

static void wsgm_model_walk(wsgm_model_t *m, wsgm_file_t *f, int from, int to,
                            wsgm_model_ctx_t *ctx);

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */

void wsgm_model_add(wsgm_model_t *m, wsgm_dir_t *d)
{
    d->id = m->dirs->nelts;
    APR_ARRAY_PUSH(m->dirs, wsgm_dir_t *) = d;
}

const wsgm_item_t *wsgm_model_first_item(const wsgm_dir_t *d)
{
    if (d->kind == WSGM_D_RULE) {
        return wsgm_conf_item(d->at.file,
                              ((const wsgm_rule_t *)d)->first_item);
    }
    return wsgm_conf_item(d->at.file, d->at.item);
}

const char *wsgm_model_resolve(wsgm_model_t *m, const char *s)
{
    const char *d = strstr(s, "${");
    char *out;
    apr_size_t cap, len = 0;

    if (d == NULL) {
        return s;
    }
    cap = strlen(s) + 1;
    out = apr_palloc(m->p, cap);
    while (*s) {
        const char *e, *val = NULL;

        if (s[0] == '$' && s[1] == '{' && (e = strchr(s + 2, '}')) != NULL) {
            const char *name = apr_pstrmemdup(m->p, s + 2,
                                              (apr_size_t)(e - s - 2));

            val = apr_hash_get(m->defines, name, APR_HASH_KEY_STRING);
            if (val) {
                apr_size_t vl = strlen(val);
                char *n2;

                n2 = apr_palloc(m->p, cap + vl);
                memcpy(n2, out, len);
                out = n2;
                cap += vl;
                memcpy(out + len, val, vl);
                len += vl;
                s = e + 1;
                continue;
            }
        }
        out[len++] = *s++;
    }
    out[len] = '\0';
    return out;
}

static int wsgm_model_is(const wsgm_item_t *it, const char *name)
{
    return !strcasecmp(it->name, name);
}

static wsgm_host_t *wsgm_model_host(wsgm_model_t *m, int i)
{
    return APR_ARRAY_IDX(m->hosts, i, wsgm_host_t *);
}

static void wsgm_model_path(wsgm_model_t *m, wsgm_host_t *h, const char *lit)
{
    const char *s;
    int i;

    if (lit == NULL) {
        return;
    }
    s = lit[0] == '/' ? lit : apr_pstrcat(m->p, "/", lit, NULL);
    for (i = 0; i < h->paths->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(h->paths, i, const char *), s)) {
            return;
        }
    }
    APR_ARRAY_PUSH(h->paths, const char *) = s;
}

static wsgm_host_t *wsgm_model_new_host(wsgm_model_t *m, wsgm_file_t *f,
                                        int item)
{
    wsgm_host_t *h = apr_pcalloc(m->p, sizeof(*h));

    h->index = m->hosts->nelts;
    h->at.file = f;
    h->at.item = item;
    h->engine = -1;
    h->rules = apr_array_make(m->p, 4, sizeof(wsgm_rule_t *));
    h->pp = apr_array_make(m->p, 4, sizeof(wsgm_pp_t *));
    h->ppr = apr_array_make(m->p, 4, sizeof(wsgm_ppr_t *));
    h->gw = apr_array_make(m->p, 4, sizeof(wsgm_gw_t *));
    h->locs = apr_array_make(m->p, 4, sizeof(wsgm_loc_t *));
    h->paths = apr_array_make(m->p, 8, sizeof(const char *));
    h->name = f ? apr_psprintf(m->p, "<VirtualHost %s>",
                               wsgm_conf_item(f, item)->args)
                : "main server";
    APR_ARRAY_PUSH(m->hosts, wsgm_host_t *) = h;
    return h;
}

static void wsgm_model_init_dir(wsgm_dir_t *d, wsgm_dkind_e kind,
                                wsgm_file_t *f, int item,
                                const wsgm_model_ctx_t *ctx)
{
    d->kind = kind;
    d->at.file = f;
    d->at.item = item;
    d->host = ctx->host;
    d->loc = ctx->loc;
    d->wrapped = ctx->wrapped;
}

/* "ws:/host" -> "ws://host" for the four schemes we know. */
static const char *wsgm_model_fix_slash(apr_pool_t *p, const char *s)
{
    static const char *const schemes[] = { "ws:/", "wss:/", "http:/",
                                           "https:/", NULL };
    int i;

    for (i = 0; schemes[i]; ++i) {
        apr_size_t n = strlen(schemes[i]);

        if (!strncasecmp(s, schemes[i], n) && s[n] != '/' && s[n] != '\0') {
            return apr_pstrcat(p, apr_pstrmemdup(p, s, n), "/", s + n, NULL);
        }
    }
    return NULL;
}

/* Strip typographic quotes (“…”, ‘…’) around @a s, or NULL. */
static const char *wsgm_model_fix_curly(apr_pool_t *p, const char *s)
{
    apr_size_t n = strlen(s);

    static const char lq[] = "\xe2\x80\x9c", lsq[] = "\xe2\x80\x98";
    static const char rq[] = "\xe2\x80\x9d", rsq[] = "\xe2\x80\x99";

    if (n >= 6 && (!strncmp(s, lq, 3) || !strncmp(s, lsq, 3))
        && (!strcmp(s + n - 3, rq) || !strcmp(s + n - 3, rsq)
            || !strcmp(s + n - 3, lq))) {
        return apr_pstrmemdup(p, s + 3, n - 6);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* RewriteCond                                                           */

static void wsgm_model_csem(wsgm_model_t *m, wsgm_csem_t *c, const char *test,
                            const char *pat, const char *flags, int *ornext)
{
    const char *t;

    memset(c, 0, sizeof(*c));
    c->pat = "";
    if (!strncasecmp(test, "%{HTTP:", 7) && (t = strchr(test, '}')) != NULL
        && t[1] == '\0') {
        const char *name = apr_pstrmemdup(m->p, test + 7,
                                          (apr_size_t)(t - test - 7));

        c->test = !strcasecmp(name, "Upgrade") ? WSGM_TEST_UPGRADE
                : !strcasecmp(name, "Connection") ? WSGM_TEST_CONNECTION
                : WSGM_TEST_OTHER;
    }
    else if (!strncasecmp(test, "${HTTP:", 7) && (t = strchr(test, '}'))
             && t[1] == '\0') {
        c->test = WSGM_TEST_UPGRADE;    /* irrelevant: always empty */
        c->empty = 1;
    }
    else if (!strcasecmp(test, "%{REQUEST_URI}")) {
        c->test = WSGM_TEST_URI;
    }
    else {
        c->test = WSGM_TEST_OTHER;
    }

    if (flags) {
        apr_size_t n = strlen(flags);
        const char *s;

        if (n < 2 || flags[0] != '[' || flags[n - 1] != ']') {
            c->refused = 1;
        }
        else {
            char *fl = apr_pstrmemdup(m->p, flags + 1, n - 2), *tok, *last;

            for (tok = apr_strtok(fl, ",", &last); tok;
                 tok = apr_strtok(NULL, ",", &last)) {
                while (apr_isspace(*tok)) {
                    ++tok;
                }
                for (s = tok + strlen(tok); s > tok && apr_isspace(s[-1]);
                     --s) {
                }
                tok[s - tok] = '\0';
                if (!strcasecmp(tok, "NC") || !strcasecmp(tok, "nocase")) {
                    c->nocase = 1;
                }
                else if (!strcasecmp(tok, "OR")
                         || !strcasecmp(tok, "ornext")) {
                    *ornext = 1;
                }
                else if (!strcasecmp(tok, "NV")
                         || !strcasecmp(tok, "novary")) {
                }
                else if (*tok) {
                    c->refused = 1;
                }
            }
        }
    }

    if (!strcasecmp(test, "expr")) {
        c->test = WSGM_TEST_OTHER;
        c->ptype = WSGM_PT_OTHER;
        return;
    }
    if (*pat == '!') {
        c->negate = 1;
        ++pat;
    }
    c->ptype = WSGM_PT_REGEX;
    if (pat[0] && pat[1]) {
        if (pat[0] == '=') {
            c->ptype = WSGM_PT_STREQ;
            pat++;      /* [NC] applies to = comparisons too */
            if (!strcmp(pat, "\"\"")) {
                pat = "";
            }
        }
        else if (pat[0] == '-' || pat[0] == '<' || pat[0] == '>') {
            c->ptype = WSGM_PT_OTHER;
        }
    }
    c->pat = pat;
    if (c->ptype == WSGM_PT_REGEX) {
        wsgm_regex_compile(m->p, &c->re, pat, c->nocase);
    }
}

static void wsgm_model_cond(wsgm_model_t *m, wsgm_file_t *f, int item,
                            wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    const char *args = wsgm_model_resolve(m, it->args);
    wsgm_cond_t *c = apr_pcalloc(m->p, sizeof(*c));
    wsgm_word_t w[3];
    int n = wsgm_conf_rewrite_args(m->p, args, w);
    int ornext = 0;

    c->at.file = f;
    c->at.item = item;
    c->raw = it->text;
    c->var = m->nvars++;
    if (n < 2) {
        c->sem[0].refused = c->sem[1].refused = 1;
        c->sem[0].test = c->sem[1].test = WSGM_TEST_OTHER;
        APR_ARRAY_PUSH(ctx->pending, wsgm_cond_t *) = c;
        return;
    }
    wsgm_model_csem(m, &c->sem[0], w[0].text, w[1].text,
                    n > 2 ? w[2].text : NULL, &ornext);
    c->ornext = ornext;
    c->sem[1] = c->sem[0];

    /* "= websocket": '=' alone is the pattern, "websocket" the flags. */
    if ((!strcmp(w[1].text, "=") || !strcmp(w[1].text, "!="))
        && !w[1].quote && n > 2 && w[2].text[0] != '[') {
        apr_array_header_t *words = wsgm_conf_words(m->p, args);
        const char *fl = words->nelts > 3
                         ? APR_ARRAY_IDX(words, 3, wsgm_word_t).text : NULL;
        int orn = 0;

        wsgm_model_csem(m, &c->sem[1], w[0].text,
                        apr_pstrcat(m->p, w[1].text, w[2].text, NULL), fl,
                        &orn);
        c->ornext = orn;
        c->sem[0].refused = 1;
        c->why = apr_psprintf(m->p, "'%s %s' is not a condition httpd "
                              "accepts: mod_rewrite takes '%s' as the pattern "
                              "and '%s' as the flags, so 'apachectl -t' fails "
                              "with \"RewriteCond: bad flag delimiters\"",
                              w[1].text, w[2].text, w[1].text, w[2].text);
    }
    /* "= websocket" quoted: compares with " websocket", never equal. */
    else if (w[1].quote
             && (w[1].text[0] == '=' || !strncmp(w[1].text, "!=", 2))
             && apr_isspace(w[1].text[w[1].text[0] == '!' ? 2 : 1])) {
        const char *v = w[1].text + (w[1].text[0] == '!' ? 2 : 1);
        int orn = 0;

        while (apr_isspace(*v)) {
            ++v;
        }
        wsgm_model_csem(m, &c->sem[1], w[0].text,
                        apr_pstrcat(m->p, w[1].text[0] == '!' ? "!=" : "=", v,
                                    NULL),
                        n > 2 ? w[2].text : NULL, &orn);
        c->why = apr_psprintf(m->p, "'%s' compares with '%s' including the "
                              "leading space, so it %s", w[1].text,
                              w[1].text + (w[1].text[0] == '!' ? 2 : 1),
                              w[1].text[0] == '!' ? "was always true"
                                                  : "never matched");
    }
    if (c->sem[0].empty) {
        const char *name = w[0].text + 2;

        c->sem[1].empty = 0;
        c->sem[1].test = !strncasecmp(name, "HTTP:Upgrade}", 13)
                         ? WSGM_TEST_UPGRADE
                         : !strncasecmp(name, "HTTP:Connection}", 16)
                           ? WSGM_TEST_CONNECTION : WSGM_TEST_OTHER;
        c->why = apr_psprintf(m->p, "%s: %s is not a server variable "
                              "(mod_rewrite reads it as a lookup in a "
                              "RewriteMap named 'HTTP', which does not exist "
                              "and is always empty)%s; the header is "
                              "%%{HTTP:%s}",
                              c->sem[0].negate
                              ? "this condition was always true"
                              : "this rule never matched",
                              w[0].text,
                              c->sem[0].negate
                              ? ", so its rule took WebSocket handshakes too"
                              : "",
                              apr_pstrmemdup(m->p, name + 5,
                                             strlen(name + 5) - 1));
    }
    APR_ARRAY_PUSH(ctx->pending, wsgm_cond_t *) = c;
}

/* ------------------------------------------------------------------ */
/* RewriteRule                                                           */

static void wsgm_model_rule_flags(wsgm_model_t *m, wsgm_rule_t *r,
                                  const char *flags)
{
    apr_size_t n = strlen(flags);
    char *fl, *tok, *last;

    if (n < 2 || flags[0] != '[' || flags[n - 1] != ']') {
        r->refused = 1;
        return;
    }
    fl = apr_pstrmemdup(m->p, flags + 1, n - 2);
    for (tok = apr_strtok(fl, ",", &last); tok;
         tok = apr_strtok(NULL, ",", &last)) {
        char *eq, *e;

        while (apr_isspace(*tok)) {
            ++tok;
        }
        for (e = tok + strlen(tok); e > tok && apr_isspace(e[-1]); --e) {
        }
        *e = '\0';
        if ((eq = strchr(tok, '=')) != NULL) {
            *eq = '\0';
        }
        if (!strcasecmp(tok, "P") || !strcasecmp(tok, "proxy")) {
            r->f_proxy = 1;
        }
        else if (!strcasecmp(tok, "L") || !strcasecmp(tok, "last")
                 || !strcasecmp(tok, "END")) {
            r->f_last = 1;
        }
        else if (!strcasecmp(tok, "NC") || !strcasecmp(tok, "nocase")) {
            r->f_nc = 1;
        }
        else if (!strcasecmp(tok, "QSA") || !strcasecmp(tok, "qsappend")) {
            r->f_qsa = 1;
        }
        else if (!strcasecmp(tok, "QSD") || !strcasecmp(tok, "qsdiscard")) {
            r->f_qsd = 1;
            r->unprovable = r->unprovable ? r->unprovable : "QSD";
        }
        else if (!strcasecmp(tok, "NE") || !strcasecmp(tok, "noescape")
                 || !strcasecmp(tok, "NS") || !strcasecmp(tok, "nosubreq")) {
            /* NE only matters for redirects, NS for subrequests */
        }
        else if (!strcasecmp(tok, "R") || !strcasecmp(tok, "redirect")
                 || !strcasecmp(tok, "F") || !strcasecmp(tok, "forbidden")
                 || !strcasecmp(tok, "G") || !strcasecmp(tok, "gone")) {
            r->f_redirect = 1;
        }
        else if (!strcasecmp(tok, "PT") || !strcasecmp(tok, "passthrough")) {
            r->f_pt = 1;
        }
        else if (!strcasecmp(tok, "C") || !strcasecmp(tok, "chain")
                 || !strcasecmp(tok, "S") || !strcasecmp(tok, "skip")
                 || !strcasecmp(tok, "N") || !strcasecmp(tok, "next")) {
            r->f_complex = 1;
            r->unprovable = r->unprovable ? r->unprovable
                                          : apr_pstrdup(m->p, tok);
        }
        else if (!strcasecmp(tok, "E") || !strcasecmp(tok, "env")
                 || !strcasecmp(tok, "CO") || !strcasecmp(tok, "cookie")
                 || !strcasecmp(tok, "T") || !strcasecmp(tok, "type")
                 || !strcasecmp(tok, "H") || !strcasecmp(tok, "handler")
                 || !strcasecmp(tok, "B") || !strcasecmp(tok, "BNP")
                 || !strcasecmp(tok, "BCTLS") || !strcasecmp(tok, "BNE")
                 || !strcasecmp(tok, "DPI")
                 || !strcasecmp(tok, "discardpath")
                 || !strcasecmp(tok, "QSL") || !strcasecmp(tok, "qslast")
                 || !strcasecmp(tok, "UnsafeAllow3F")
                 || !strcasecmp(tok, "UnsafePrefixStat")) {
            r->unprovable = r->unprovable ? r->unprovable
                                          : apr_pstrdup(m->p, tok);
        }
        else if (*tok) {
            r->refused = 1;
        }
    }
}

/* Highest $N referenced in @a subst (-1 when none). */
static int wsgm_model_max_ref(const char *subst)
{
    const char *s;
    int max = -1;

    for (s = subst; *s; ++s) {
        if (*s == '\\' && s[1]) {
            ++s;
            continue;
        }
        if (*s == '$' && apr_isdigit(s[1])) {
            if (s[1] - '0' > max) {
                max = s[1] - '0';
            }
        }
    }
    return max;
}

/*
 * "RewriteRule .* ws://b/$1": $1 is always empty. The evident intent is
 * the rest of the path: put a group around the trailing ".*" (or add one),
 * starting after the leading '/' when the target has '/' before $1.
 */
static const char *wsgm_model_fix_group(apr_pool_t *p, const char *pattern,
                                        const char *subst)
{
    apr_size_t n = strlen(pattern);
    const char *ref = strstr(subst, "$1");
    int slash_before = ref && ref > subst && ref[-1] == '/';
    int dollar = n > 0 && pattern[n - 1] == '$'
                 && (n < 2 || pattern[n - 2] != '\\');
    const char *body = apr_pstrmemdup(p, pattern, dollar ? n - 1 : n);
    apr_size_t bn = strlen(body);
    const char *start = body;

    if (*start == '^') {
        ++start;
    }
    if (!strcmp(start, ".*") || *start == '\0') {
        /* the whole path */
        return apr_pstrcat(p, slash_before ? "^/(.*)" : "^(.*)",
                           dollar ? "$" : "", NULL);
    }
    if (bn >= 2 && !strcmp(body + bn - 2, ".*")
        && (bn < 3 || body[bn - 3] != '\\')) {
        return apr_pstrcat(p, apr_pstrmemdup(p, body, bn - 2), "(.*)",
                           dollar ? "$" : "", NULL);
    }
    if (dollar) {
        return NULL;    /* "^/ws$": nothing left to capture */
    }
    return apr_pstrcat(p, body, "(.*)", NULL);
}

static void wsgm_model_rule(wsgm_model_t *m, wsgm_file_t *f, int item,
                            wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    const char *args = wsgm_model_resolve(m, it->args);
    wsgm_rule_t *r = apr_pcalloc(m->p, sizeof(*r));
    wsgm_word_t w[3];
    int n = wsgm_conf_rewrite_args(m->p, args, w), i;
    const char *why = NULL, *fixed;
    wsgm_host_t *h = wsgm_model_host(m, ctx->host);

    wsgm_model_init_dir(&r->d, WSGM_D_RULE, f, item, ctx);
    r->conds = ctx->pending;
    ctx->pending = apr_array_make(m->p, 2, sizeof(wsgm_cond_t *));
    r->first_item = item;
    for (i = 0; i < r->conds->nelts; ++i) {
        const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

        if (c->at.file == f && c->at.item < r->first_item) {
            r->first_item = c->at.item;
        }
    }
    r->perdir = ctx->loc >= 0;
    r->var_pat = m->nvars++;
    if (n < 2) {
        r->refused = 1;
        r->sem[0].pattern = r->sem[1].pattern = "";
        r->sem[0].subst = r->sem[1].subst = "";
    }
    else {
        const char *pat = w[0].text;

        if (n > 2) {
            wsgm_model_rule_flags(m, r, w[2].text);
        }
        r->sem[0].negate = *pat == '!';
        r->sem[0].pattern = r->sem[0].negate ? pat + 1 : pat;
        if (r->f_nc && !r->unprovable
            && strpbrk(r->sem[0].pattern, "abcdefghijklmnopqrstuvwxyz"
                                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
            /* The rule also matched /WS/ for ^/ws/; WSGatewayPass PATHs
             * are case-sensitive, as URL paths are. */
            r->unprovable = "NC";
        }
        r->sem[0].subst = w[1].text;
        r->nosub = !strcmp(w[1].text, "-");
        wsgm_regex_compile(m->p, &r->sem[0].re, r->sem[0].pattern, r->f_nc);
        r->sem[1] = r->sem[0];

        /* broken variants of the target, intended meaning in sem[1] */
        if ((fixed = wsgm_model_fix_curly(m->p, r->sem[1].subst)) != NULL) {
            r->sem[1].subst = fixed;
            why = "the target is wrapped in typographic quotes (“…”), which "
                  "httpd does not take as quotes: it began with '“', was not "
                  "an absolute URL, and mod_rewrite proxied the request back "
                  "to this server instead of the backend";
        }
        if ((fixed = wsgm_model_fix_slash(m->p, r->sem[1].subst)) != NULL) {
            why = apr_psprintf(m->p, "'%s' has a single slash after the "
                               "scheme, so mod_rewrite did not take it for an "
                               "absolute URL and proxied the request back to "
                               "this server (http://THIS-HOST/%s); it never "
                               "reached the backend",
                               r->sem[1].subst, r->sem[1].subst);
            r->sem[1].subst = fixed;
        }
        if (r->f_proxy && r->sem[0].re.ok && !r->sem[0].negate
            && wsgm_model_max_ref(r->sem[1].subst) == 1
            && r->sem[0].re.ngroups == 0
            && (fixed = wsgm_model_fix_group(m->p, r->sem[0].pattern,
                                             r->sem[1].subst)) != NULL) {
            why = apr_psprintf(m->p, "$1 is always empty here: the pattern "
                               "'%s' has no (group), so every request went "
                               "to '%s' with its path dropped%s%s",
                               r->sem[0].pattern, r->sem[0].subst,
                               why ? "; also " : "", why ? why : "");
            r->sem[1].pattern = fixed;
            wsgm_regex_compile(m->p, &r->sem[1].re, r->sem[1].pattern,
                               r->f_nc);
        }
    }
    r->why = why;
    {
        wsgm_word_t raw[3];
        const char *t, *fx;

        if (wsgm_conf_rewrite_args(m->p, it->args, raw) >= 2) {
            t = raw[1].text;
            if ((fx = wsgm_model_fix_curly(m->p, t)) != NULL) {
                t = fx;
            }
            if ((fx = wsgm_model_fix_slash(m->p, t)) != NULL) {
                t = fx;
            }
            r->subst_text = t;
        }
        else {
            r->subst_text = r->sem[1].subst;
        }
    }
    wsgm_model_add(m, &r->d);
    if (ctx->loc >= 0) {
        wsgm_loc_t *l = APR_ARRAY_IDX(h->locs, ctx->loc, wsgm_loc_t *);

        APR_ARRAY_PUSH(l->rules, wsgm_rule_t *) = r;
    }
    else {
        APR_ARRAY_PUSH(h->rules, wsgm_rule_t *) = r;
        if (!r->refused) {
            wsgm_model_path(m, h, r->sem[0].re.literal);
            wsgm_model_path(m, h, r->sem[1].re.literal);
            if (!r->sem[0].re.anchored && r->sem[0].re.literal
                && *r->sem[0].re.literal) {
                const char *lit = r->sem[0].re.literal;

                wsgm_model_path(m, h, apr_pstrcat(m->p, "/zz",
                                                  lit[0] == '/' ? "" : "/",
                                                  lit, NULL));
            }
        }
    }
    for (i = 0; i < r->conds->nelts; ++i) {
        const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

        if (c->sem[0].test == WSGM_TEST_URI && c->sem[0].re.ok) {
            wsgm_model_path(m, h, c->sem[0].re.literal);
        }
    }
}

/* ------------------------------------------------------------------ */
/* ProxyPass, ProxyPassMatch, ProxyPassReverse, WSGatewayPass             */

static void wsgm_model_pp(wsgm_model_t *m, wsgm_file_t *f, int item,
                          wsgm_model_ctx_t *ctx, int is_match)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    apr_array_header_t *w = wsgm_conf_words(m->p,
                                            wsgm_model_resolve(m, it->args));
    wsgm_pp_t *pp = apr_pcalloc(m->p, sizeof(*pp));
    wsgm_host_t *h = wsgm_model_host(m, ctx->host);
    wsgm_loc_t *l = ctx->loc >= 0 ? APR_ARRAY_IDX(h->locs, ctx->loc,
                                                  wsgm_loc_t *) : NULL;
    apr_array_header_t *params;
    int i = 0;

    wsgm_model_init_dir(&pp->d, is_match ? WSGM_D_PPM : WSGM_D_PP, f, item,
                        ctx);
    pp->shadowed_by = -1;
    pp->var = m->nvars++;
    pp->params = "";
    if (l) {
        pp->path = l->path;
        if (w->nelts > 0 && APR_ARRAY_IDX(w, 0, wsgm_word_t).text[0] == '/') {
            pp->opaque = "a path inside <Location>";
            i = 1;
        }
    }
    else if (w->nelts > 0) {
        pp->path = APR_ARRAY_IDX(w, 0, wsgm_word_t).text;
        i = 1;
    }
    else {
        pp->path = "";
        pp->opaque = "no arguments";
    }
    if (i < w->nelts) {
        apr_array_header_t *raw = wsgm_conf_words(m->p, it->args);

        pp->url_raw = APR_ARRAY_IDX(w, i, wsgm_word_t).text;
        pp->url_text = raw->nelts > i ? APR_ARRAY_IDX(raw, i, wsgm_word_t).text
                                      : pp->url_raw;
        ++i;
    }
    else {
        pp->url_raw = "";
        pp->opaque = "no URL";
    }
    pp->url_intended = pp->url_raw;
    if (!strcmp(pp->url_raw, "!")) {
        pp->excluded = 1;
    }
    else {
        const char *fx = wsgm_model_fix_slash(m->p, pp->url_raw);

        if (fx) {
            const char *tx = wsgm_model_fix_slash(m->p, pp->url_text);

            pp->why = apr_psprintf(m->p, "'%s' has a single slash after the "
                                   "scheme: it is not a backend URL mod_proxy "
                                   "can use", pp->url_raw);
            pp->url_intended = fx;
            pp->url_text = tx ? tx : fx;
            pp->actual_bad = 1;
        }
        pp->url_ok = wsgm_url_parse(m->p, pp->url_intended, &pp->url) == 0;
    }
    params = apr_array_make(m->p, 4, sizeof(const char *));
    for (; i < w->nelts; ++i) {
        const char *t = APR_ARRAY_IDX(w, i, wsgm_word_t).text;

        if (!strncasecmp(t, "upgrade=", 8)) {
            const char *v = t + 8;

            if (!strcasecmp(v, "websocket") || !strcasecmp(v, "ANY")) {
                pp->upgrade = 1;
            }
            else {
                pp->opaque = apr_pstrdup(m->p, t);
            }
        }
        else if (!strncasecmp(t, "mapping=", 8) || !strchr(t, '=')) {
            pp->opaque = apr_pstrdup(m->p, t);
        }
        else {
            APR_ARRAY_PUSH(params, const char *) = t;
        }
    }
    pp->params = apr_array_pstrcat(m->p, params, ' ');
    if (is_match) {
        wsgm_regex_compile(m->p, &pp->re, pp->path, 0);
    }
    wsgm_model_add(m, &pp->d);
    if (l) {
        APR_ARRAY_PUSH(l->pp, wsgm_pp_t *) = pp;
    }
    else {
        APR_ARRAY_PUSH(h->pp, wsgm_pp_t *) = pp;
        wsgm_model_path(m, h, is_match ? pp->re.literal : pp->path);
    }
}

static void wsgm_model_ppr(wsgm_model_t *m, wsgm_file_t *f, int item,
                           wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    apr_array_header_t *w = wsgm_conf_words(m->p,
                                            wsgm_model_resolve(m, it->args));
    wsgm_ppr_t *r = apr_pcalloc(m->p, sizeof(*r));
    wsgm_host_t *h = wsgm_model_host(m, ctx->host);
    wsgm_loc_t *l = ctx->loc >= 0 ? APR_ARRAY_IDX(h->locs, ctx->loc,
                                                  wsgm_loc_t *) : NULL;

    wsgm_model_init_dir(&r->d, WSGM_D_PPR, f, item, ctx);
    if (l) {
        r->path = l->path;
        r->url_raw = w->nelts == 1 ? APR_ARRAY_IDX(w, 0, wsgm_word_t).text
                                   : "";
    }
    else {
        r->path = w->nelts >= 1 ? APR_ARRAY_IDX(w, 0, wsgm_word_t).text : "";
        r->url_raw = w->nelts == 2 ? APR_ARRAY_IDX(w, 1, wsgm_word_t).text
                                   : "";
    }
    r->url_ok = wsgm_url_parse(m->p, r->url_raw, &r->url) == 0;
    wsgm_model_add(m, &r->d);
    APR_ARRAY_PUSH(h->ppr, wsgm_ppr_t *) = r;
}

int wsgm_model_parse_gw(wsgm_model_t *m, wsgm_gw_t *g, const char *args,
                        const char *loc_path)
{
    apr_array_header_t *w = wsgm_conf_words(m->p,
                                            wsgm_model_resolve(m, args));
    int i = 0, nurl = 0;

    g->http = WSGM_HTTP_SAME;
    if (loc_path) {
        g->path = wsgw_map_normalize(m->p, loc_path);
    }
    else {
        if (w->nelts == 0) {
            return -1;
        }
        g->path = wsgw_map_normalize(m->p, APR_ARRAY_IDX(w, 0,
                                                         wsgm_word_t).text);
        i = 1;
    }
    if (g->path == NULL) {
        return -1;
    }
    if (i < w->nelts && !strcmp(APR_ARRAY_IDX(w, i, wsgm_word_t).text, "!")) {
        g->excluded = 1;
        return 0;
    }
    for (; i < w->nelts; ++i) {
        const char *t = APR_ARRAY_IDX(w, i, wsgm_word_t).text;
        const char *eq = strchr(t, '='), *colon = strchr(t, ':');

        if (eq && (colon == NULL || eq < colon)) {
            if (!strncasecmp(t, "http=", 5)) {
                if (!strcasecmp(t + 5, "off")) {
                    g->http = WSGM_HTTP_OFF;
                }
                else if (wsgm_url_parse(m->p, t + 5, &g->http_url) == 0) {
                    g->http = WSGM_HTTP_URL;
                }
                else {
                    return -1;
                }
            }
        }
        else if (nurl++ == 0) {
            if (wsgm_url_parse(m->p, t, &g->url) != 0) {
                return -1;
            }
            g->url_ok = 1;
        }
    }
    return g->url_ok ? 0 : -1;
}

static void wsgm_model_gw(wsgm_model_t *m, wsgm_file_t *f, int item,
                          wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    wsgm_gw_t *g = apr_pcalloc(m->p, sizeof(*g));
    wsgm_host_t *h = wsgm_model_host(m, ctx->host);
    wsgm_loc_t *l = ctx->loc >= 0 ? APR_ARRAY_IDX(h->locs, ctx->loc,
                                                  wsgm_loc_t *) : NULL;

    wsgm_model_init_dir(&g->d, WSGM_D_GW, f, item, ctx);
    if (wsgm_model_parse_gw(m, g, it->args, l ? l->path : NULL) != 0) {
        g->url_ok = 0;
        g->path = g->path ? g->path : "/";
    }
    wsgm_model_add(m, &g->d);
    if (l) {
        APR_ARRAY_PUSH(l->gw, wsgm_gw_t *) = g;
    }
    else {
        APR_ARRAY_PUSH(h->gw, wsgm_gw_t *) = g;
        wsgm_model_path(m, h, g->path);
    }
}

/* ------------------------------------------------------------------ */
/* Includes                                                              */

static int wsgm_model_has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int wsgm_model_known_file(wsgm_model_t *m, const char *path)
{
    int i;

    for (i = 0; i < m->seen->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(m->seen, i, wsgm_file_t *)->path, path)) {
            return 1;
        }
    }
    return 0;
}

static int wsgm_model_strcmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Expand an Include argument into file names (sorted, like httpd). */
static apr_array_header_t *wsgm_model_glob(wsgm_model_t *m, const char *path,
                                           int *missing)
{
    apr_array_header_t *out = apr_array_make(m->p, 4, sizeof(const char *));
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? (slash == path ? "/"
                               : apr_pstrmemdup(m->p, path,
                                                (apr_size_t)(slash - path)))
                            : ".";
    const char *pat = slash ? slash + 1 : path;
    apr_finfo_t fi;
    apr_dir_t *d;

    *missing = 0;
    if (!wsgm_model_has_wildcard(path)) {
        if (apr_stat(&fi, path, APR_FINFO_TYPE, m->p) != APR_SUCCESS) {
            *missing = 1;
            return out;
        }
        if (fi.filetype != APR_DIR) {
            APR_ARRAY_PUSH(out, const char *) = path;
            return out;
        }
        dir = path;
        pat = "*";
    }
    if (wsgm_model_has_wildcard(dir)) {
        *missing = 1;   /* wildcards in directories: not followed */
        return out;
    }
    if (apr_dir_open(&d, dir, m->p) != APR_SUCCESS) {
        *missing = 1;
        return out;
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
        if (fi.name[0] == '.' || fi.filetype == APR_DIR) {
            continue;
        }
        if (apr_fnmatch(pat, fi.name, APR_FNM_PERIOD) == APR_SUCCESS) {
            APR_ARRAY_PUSH(out, const char *) =
                apr_pstrcat(m->p, dir, "/", fi.name, NULL);
        }
    }
    apr_dir_close(d);
    qsort(out->elts, (size_t)out->nelts, sizeof(const char *),
          wsgm_model_strcmp);
    return out;
}

static void wsgm_model_include(wsgm_model_t *m, wsgm_file_t *f, int item,
                               wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    apr_array_header_t *w = wsgm_conf_words(m->p,
                                            wsgm_model_resolve(m, it->args));
    int optional = wsgm_model_is(it, "IncludeOptional");
    const char *arg, *path;
    apr_array_header_t *names;
    int i, missing;

    if (w->nelts != 1) {
        return;
    }
    arg = APR_ARRAY_IDX(w, 0, wsgm_word_t).text;
    if (!m->follow_includes) {
        wsgm_msg_add(m->msgs, WSGM_MSG_NOTE, f->display, it->line,
                     "%s %s not followed (--follow-includes converts included "
                     "files too)", it->name, arg);
        return;
    }
    if (arg[0] == '/') {
        path = arg;
    }
    else if (m->server_root) {
        path = apr_pstrcat(m->p, m->server_root, "/", arg, NULL);
    }
    else {
        const char *slash = strrchr(f->path, '/');

        const char *dir = slash
            ? apr_pstrmemdup(m->p, f->path, (apr_size_t)(slash - f->path))
            : NULL;

        path = dir ? apr_pstrcat(m->p, dir, "/", arg, NULL) : arg;
    }
    names = wsgm_model_glob(m, path, &missing);
    if (missing && !optional && !wsgm_model_has_wildcard(path)) {
        wsgm_msg_add(m->msgs, WSGM_MSG_WARNING, f->display, it->line,
                     "%s %s: cannot read %s (set --server-root to the "
                     "directory httpd resolves relative paths against)",
                     it->name, arg, path);
        return;
    }
    for (i = 0; i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        wsgm_file_t *inc;
        const char *err;
        int errline;

        if (wsgm_model_known_file(m, name)) {
            continue;
        }
        if (wsgm_conf_load(m->p, name, &inc, &err, &errline) != 0) {
            wsgm_msg_add(m->msgs, WSGM_MSG_ERROR, name, errline, "%s", err);
            m->failed = 1;
            continue;
        }
        APR_ARRAY_PUSH(m->files, wsgm_file_t *) = inc;
        APR_ARRAY_PUSH(m->seen, wsgm_file_t *) = inc;
        wsgm_msg_add(m->msgs, WSGM_MSG_NOTE, f->display, it->line,
                     "%s: following %s", it->name, inc->display);
        wsgm_model_walk(m, inc, 0, inc->items->nelts, ctx);
    }
}

/* ------------------------------------------------------------------ */
/* The walk                                                              */

static const char *const wsgm_model_transparent[] = {
    "IfModule", "IfDefine", "IfVersion", "IfFile", "IfDirective",
    "IfSection", NULL };

static int wsgm_model_in(const char *name, const char *const *list)
{
    int i;

    for (i = 0; list[i]; ++i) {
        if (!strcasecmp(name, list[i])) {
            return 1;
        }
    }
    return 0;
}

/* Does this directive look like part of a WebSocket recipe? */
static int wsgm_model_recipe_like(const wsgm_item_t *it)
{
    const char *a = it->args;

    if (wsgm_model_is(it, "RewriteCond")) {
        return strstr(a, "HTTP:Upgrade") || strstr(a, "HTTP:UPGRADE")
            || strstr(a, "HTTP:upgrade");
    }
    if (wsgm_model_is(it, "RewriteRule") || wsgm_model_is(it, "ProxyPass")
        || wsgm_model_is(it, "ProxyPassMatch")) {
        return strstr(a, "ws://") || strstr(a, "wss://") || strstr(a, "ws:/")
            || strstr(a, "WS://") || strstr(a, "upgrade=websocket");
    }
    return 0;
}

static void wsgm_model_directive(wsgm_model_t *m, wsgm_file_t *f, int item,
                                 wsgm_model_ctx_t *ctx)
{
    const wsgm_item_t *it = wsgm_conf_item(f, item);
    wsgm_host_t *h = wsgm_model_host(m, ctx->host);
    wsgm_loc_t *l = ctx->loc >= 0 ? APR_ARRAY_IDX(h->locs, ctx->loc,
                                                  wsgm_loc_t *) : NULL;

    if (wsgm_model_is(it, "Define")) {
        apr_array_header_t *w = wsgm_conf_words(m->p,
                                                wsgm_model_resolve(m,
                                                                   it->args));

        if (w->nelts == 2) {
            apr_hash_set(m->defines,
                         APR_ARRAY_IDX(w, 0, wsgm_word_t).text,
                         APR_HASH_KEY_STRING,
                         APR_ARRAY_IDX(w, 1, wsgm_word_t).text);
        }
        return;
    }
    if (wsgm_model_is(it, "UnDefine")) {
        apr_array_header_t *w = wsgm_conf_words(m->p, it->args);

        if (w->nelts == 1) {
            apr_hash_set(m->defines, APR_ARRAY_IDX(w, 0, wsgm_word_t).text,
                         APR_HASH_KEY_STRING, NULL);
        }
        return;
    }
    if (wsgm_model_is(it, "Include") || wsgm_model_is(it, "IncludeOptional")) {
        wsgm_model_include(m, f, item, ctx);
        return;
    }
    if (ctx->opaque) {
        if (wsgm_model_recipe_like(it) && !*ctx->opaque_warned) {
            const wsgm_item_t *sec = wsgm_conf_item(ctx->opaque_file,
                                                    ctx->opaque_item);

            wsgm_msg_add(m->msgs, WSGM_MSG_WARNING, f->display, it->line,
                         "not converted: WebSocket proxying inside <%s%s%s> "
                         "(line %d) cannot become WSGatewayPass, which is "
                         "allowed in server config, <VirtualHost> and "
                         "<Location PATH> only; write 'WSGatewayPass PATH "
                         "URL' at server or <VirtualHost> level instead",
                         sec->name, *sec->args ? " " : "", sec->args,
                         sec->line);
            *ctx->opaque_warned = 1;
        }
        return;
    }
    if (wsgm_model_is(it, "ServerRoot")) {
        apr_array_header_t *w = wsgm_conf_words(m->p, it->args);

        if (w->nelts == 1 && m->server_root == NULL) {
            m->server_root = APR_ARRAY_IDX(w, 0, wsgm_word_t).text;
        }
        return;
    }
    if (wsgm_model_is(it, "RewriteEngine")) {
        int on = !strcasecmp(it->args, "on");

        if (l) {
            l->engine = on;
        }
        else {
            h->engine = on;
            h->engine_at.file = f;
            h->engine_at.item = item;
        }
        return;
    }
    if (wsgm_model_is(it, "RewriteOptions") && !l) {
        apr_array_header_t *w = wsgm_conf_words(m->p, it->args);
        int i;

        for (i = 0; i < w->nelts; ++i) {
            const char *t = APR_ARRAY_IDX(w, i, wsgm_word_t).text;

            if (!strcasecmp(t, "Inherit")) {
                h->inherit = 1;
            }
            else if (!strcasecmp(t, "InheritBefore")) {
                h->inherit = 2;
            }
            else if (!strcasecmp(t, "InheritDown")) {
                h->inherit_down = 1;
            }
            else if (!strcasecmp(t, "InheritDownBefore")) {
                h->inherit_down = 2;
            }
        }
        return;
    }
    if (wsgm_model_is(it, "RewriteCond")) {
        wsgm_model_cond(m, f, item, ctx);
        return;
    }
    if (wsgm_model_is(it, "RewriteRule")) {
        wsgm_model_rule(m, f, item, ctx);
        return;
    }
    if (wsgm_model_is(it, "ProxyPass")) {
        wsgm_model_pp(m, f, item, ctx, 0);
        return;
    }
    if (wsgm_model_is(it, "ProxyPassMatch")) {
        wsgm_model_pp(m, f, item, ctx, 1);
        return;
    }
    if (wsgm_model_is(it, "ProxyPassReverse")) {
        wsgm_model_ppr(m, f, item, ctx);
        return;
    }
    if (wsgm_model_is(it, "WSGatewayPass")) {
        wsgm_model_gw(m, f, item, ctx);
        return;
    }
    if (wsgm_model_is(it, "ProxyRequests") && !strcasecmp(it->args, "on")) {
        h->proxy_requests = 1;
        h->proxy_requests_at.file = f;
        h->proxy_requests_at.item = item;
        return;
    }
}

static void wsgm_model_walk(wsgm_model_t *m, wsgm_file_t *f, int from, int to,
                            wsgm_model_ctx_t *ctx)
{
    int i;

    for (i = from; i < to; ++i) {
        const wsgm_item_t *it = wsgm_conf_item(f, i);

        if (it->kind == WSGM_ITEM_DIRECTIVE) {
            wsgm_model_directive(m, f, i, ctx);
            continue;
        }
        if (it->kind != WSGM_ITEM_OPEN) {
            continue;
        }
        {
            wsgm_model_ctx_t sub = *ctx;
            int end = it->close;

            if (ctx->opaque) {
                /* stays opaque */
            }
            else if (wsgm_model_in(it->name, wsgm_model_transparent)) {
                sub.wrapped = 1;
            }
            else if (wsgm_model_is(it, "VirtualHost") && ctx->host == 0
                     && ctx->loc < 0) {
                wsgm_host_t *h = wsgm_model_new_host(m, f, i);

                sub.host = h->index;
                sub.wrapped = 0;
                sub.pending = apr_array_make(m->p, 2, sizeof(wsgm_cond_t *));
                m->has_vhosts = 1;
            }
            else if (wsgm_model_is(it, "Location") && ctx->loc < 0
                     && it->args[0] != '~') {
                wsgm_host_t *h = wsgm_model_host(m, ctx->host);
                wsgm_loc_t *l = apr_pcalloc(m->p, sizeof(*l));
                apr_array_header_t *w = wsgm_conf_words(m->p, it->args);

                l->path = w->nelts ? APR_ARRAY_IDX(w, 0, wsgm_word_t).text
                                   : "";
                l->at.file = f;
                l->at.item = i;
                l->engine = -1;
                l->rules = apr_array_make(m->p, 2, sizeof(wsgm_rule_t *));
                l->pp = apr_array_make(m->p, 2, sizeof(wsgm_pp_t *));
                l->gw = apr_array_make(m->p, 2, sizeof(wsgm_gw_t *));
                if (l->path[0] != '/') {
                    sub.opaque = it->name;
                    sub.opaque_item = i;
                    sub.opaque_file = f;
                    sub.opaque_warned = apr_pcalloc(m->p, sizeof(int));
                }
                else {
                    APR_ARRAY_PUSH(h->locs, wsgm_loc_t *) = l;
                    sub.loc = h->locs->nelts - 1;
                    sub.pending = apr_array_make(m->p, 2,
                                                 sizeof(wsgm_cond_t *));
                    wsgm_model_path(m, h, l->path);
                }
            }
            else {
                sub.opaque = it->name;
                sub.opaque_item = i;
                sub.opaque_file = f;
                sub.opaque_warned = apr_pcalloc(m->p, sizeof(int));
            }
            if (end > i) {
                wsgm_model_walk(m, f, i + 1, end, &sub);
                i = end;
            }
            if (!sub.opaque && sub.host == ctx->host && sub.loc == ctx->loc) {
                ctx->pending = sub.pending;
            }
        }
    }
}

/* An earlier ProxyPass whose path covers this one takes all its requests. */
static void wsgm_model_shadows(wsgm_model_t *m, wsgm_host_t *h)
{
    int i, j;

    for (i = 0; i < h->pp->nelts; ++i) {
        wsgm_pp_t *b = APR_ARRAY_IDX(h->pp, i, wsgm_pp_t *);
        const char *bp;

        if (b->d.kind != WSGM_D_PP || !b->url_ok || !b->url.ws) {
            continue;
        }
        bp = wsgw_map_normalize(m->p, b->path);
        for (j = 0; j < i && bp; ++j) {
            wsgm_pp_t *a = APR_ARRAY_IDX(h->pp, j, wsgm_pp_t *);
            const char *ap;

            if (a->d.kind != WSGM_D_PP || a->excluded || a->opaque
                || !a->url_ok || a->url.ws || a->upgrade) {
                continue;
            }
            ap = wsgw_map_normalize(m->p, a->path);
            if (ap && wsgw_map_covers(ap, strcmp(ap, "/") ? strlen(ap) : 0,
                                      bp)) {
                const wsgm_item_t *ai = wsgm_conf_item(a->d.at.file,
                                                       a->d.at.item);

                b->shadowed_by = a->d.id;
                if (b->why == NULL) {
                    b->why = apr_psprintf(m->p, "this line never matched: "
                                          "'%s' at %s:%d takes every request "
                                          "under %s first (ProxyPass uses the "
                                          "first match), so WebSocket "
                                          "handshakes were forwarded to %s "
                                          "without the upgrade", ai->text,
                                          a->d.at.file->display, ai->line,
                                          ap, a->url_raw);
                }
                break;
            }
        }
    }
}

wsgm_model_t *wsgm_model_build(apr_pool_t *p, wsgm_msgs_t *msgs,
                               wsgm_file_t *file, apr_array_header_t *seen,
                               int follow_includes, const char *server_root)
{
    wsgm_model_t *m = apr_pcalloc(p, sizeof(*m));
    wsgm_model_ctx_t ctx;
    int i;

    m->p = p;
    m->msgs = msgs;
    m->follow_includes = follow_includes;
    m->server_root = server_root;
    m->files = apr_array_make(p, 2, sizeof(wsgm_file_t *));
    APR_ARRAY_PUSH(m->files, wsgm_file_t *) = file;
    m->seen = seen;
    m->hosts = apr_array_make(p, 4, sizeof(wsgm_host_t *));
    m->dirs = apr_array_make(p, 32, sizeof(wsgm_dir_t *));
    m->defines = apr_hash_make(p);
    wsgm_model_new_host(m, NULL, 0);

    memset(&ctx, 0, sizeof(ctx));
    ctx.loc = -1;
    ctx.pending = apr_array_make(p, 2, sizeof(wsgm_cond_t *));
    wsgm_model_walk(m, file, 0, file->items->nelts, &ctx);
    for (i = 0; i < m->hosts->nelts; ++i) {
        wsgm_model_shadows(m, wsgm_model_host(m, i));
    }
    return m;
}
