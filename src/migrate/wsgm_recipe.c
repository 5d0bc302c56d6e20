/*
 * ws-gateway-migrate: recipes to WSGatewayPass. See wsgm_recipe.h.
 *
 * Order of this file: types, small helpers, the backend functions of a
 * candidate, proposals, acceptance and messages, the run loop, edits and
 * hints. Whether a proposal keeps behaviour is wsgm_verify.c's business.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgw_map.h"
#include "wsgm_edit.h"
#include "wsgm_recipe.h"
#include "wsgm_sim.h"
#include "wsgm_verify.h"

/* One run over a model: the checker's state plus what the run decided. */
typedef struct wsgm_recipe_ctx_t {
    wsgm_verify_t       v;          /* first: the checks see only this */
    wsgm_msgs_t        *msgs;
    wsgm_recipe_out_t  *out;
    unsigned char      *said;       /* by id: explanation printed */
    unsigned char      *removed;    /* by id */
    apr_array_header_t *accepted;   /* wsgm_verify_prop_t * */
} wsgm_recipe_ctx_t;

/* ------------------------------------------------------------------ */
/* Helpers                                                               */

static wsgm_dir_t *wsgm_recipe_dir(const wsgm_recipe_ctx_t *rc, int id)
{
    return APR_ARRAY_IDX(rc->v.m->dirs, id, wsgm_dir_t *);
}

static wsgm_host_t *wsgm_recipe_host(const wsgm_recipe_ctx_t *rc, int i)
{
    return APR_ARRAY_IDX(rc->v.m->hosts, i, wsgm_host_t *);
}

static const wsgm_item_t *wsgm_recipe_item(const wsgm_dir_t *d)
{
    return wsgm_conf_item(d->at.file, d->at.item);
}

static int wsgm_recipe_line(const wsgm_dir_t *d)
{
    return wsgm_model_first_item(d)->line;
}

static const char *wsgm_recipe_file(const wsgm_dir_t *d)
{
    return d->at.file->display;
}

/* The <Location> path of a directive, or NULL at server level. */
static const char *wsgm_recipe_loc_path(const wsgm_recipe_ctx_t *rc,
                                        const wsgm_dir_t *d)
{
    if (d->loc < 0) {
        return NULL;
    }
    return APR_ARRAY_IDX(wsgm_recipe_host(rc, d->host)->locs, d->loc,
                         wsgm_loc_t *)->path;
}

static void wsgm_recipe_push(apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), s)) {
            return;
        }
    }
    APR_ARRAY_PUSH(a, const char *) = s;
}

static int wsgm_recipe_has(const apr_array_header_t *a, int id)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (APR_ARRAY_IDX(a, i, int) == id) {
            return 1;
        }
    }
    return 0;
}

/* Quote a word for a configuration line when it needs it. */
static const char *wsgm_recipe_quote(apr_pool_t *p, const char *s)
{
    const char *c;
    char *out, *o;

    if (*s && strpbrk(s, " \t\"'\\") == NULL) {
        return s;
    }
    out = o = apr_palloc(p, strlen(s) * 2 + 3);
    *o++ = '"';
    for (c = s; *c; ++c) {
        if (*c == '"') {
            *o++ = '\\';
        }
        *o++ = *c;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static const char *wsgm_recipe_fn_url(apr_pool_t *p, const wsgm_verify_fn_t *f,
                                      int want_ws, int keep)
{
    const char *scheme = f->scheme;

    if (!keep) {
        scheme = want_ws ? (f->tls ? "wss" : "ws")
                         : (f->tls ? "https" : "http");
    }
    return apr_pstrcat(p, scheme, "://", f->authority,
                       *f->base ? f->base : "/", NULL);
}

static int wsgm_recipe_same_base(const char *a, const char *b)
{
    return !strcmp(*a ? a : "/", *b ? b : "/");
}

static int wsgm_recipe_same_fn(const wsgm_verify_fn_t *a,
                               const wsgm_verify_fn_t *b)
{
    return a->tls == b->tls && !strcmp(a->origin, b->origin)
        && wsgm_recipe_same_base(a->base, b->base);
}

/* ------------------------------------------------------------------ */
/* What a candidate stands for                                           */

/* The PATH a directive maps (normalised), or NULL. */
static const char *wsgm_recipe_path_of(wsgm_recipe_ctx_t *rc,
                                       const wsgm_dir_t *d)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, d->host);

    if (d->loc >= 0) {
        return wsgw_map_normalize(rc->v.p, APR_ARRAY_IDX(h->locs, d->loc,
                                                       wsgm_loc_t *)->path);
    }
    switch (d->kind) {
    case WSGM_D_RULE: {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        const char *lit = r->sem[1].re.literal ? r->sem[1].re.literal : "";

        if (r->sem[1].negate) {
            return NULL;
        }
        if (lit[0] != '/') {
            lit = apr_pstrcat(rc->v.p, "/", lit, NULL);
        }
        return wsgw_map_normalize(rc->v.p, lit);
    }
    case WSGM_D_PP:
        return wsgw_map_normalize(rc->v.p, ((const wsgm_pp_t *)d)->path);
    case WSGM_D_GW:
        return ((const wsgm_gw_t *)d)->path;
    default:
        return NULL;
    }
}

/* Scheme and authority as written in a directive's target. */
static int wsgm_recipe_written(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d,
                               wsgm_verify_fn_t *f)
{
    wsgm_url_t u;
    const char *text = NULL, *alt = NULL;

    if (d->kind == WSGM_D_RULE) {
        text = ((const wsgm_rule_t *)d)->subst_text;
        alt = ((const wsgm_rule_t *)d)->sem[1].subst;
    }
    else if (d->kind == WSGM_D_PP) {
        text = ((const wsgm_pp_t *)d)->url_text;
        alt = ((const wsgm_pp_t *)d)->url_intended;
    }
    else {
        return -1;
    }
    if ((text == NULL || wsgm_url_parse(rc->v.p, text, &u) != 0)
        && (alt == NULL || wsgm_url_parse(rc->v.p, alt, &u) != 0)) {
        return -1;
    }
    {
        /* "ws://b:8080%{REQUEST_URI}", "ws://b$1": the path starts there */
        const char *a = u.authority, *c;

        for (c = a; *c; ++c) {
            if ((c[0] == '%' && c[1] == '{')
                || (c[0] == '$' && apr_isdigit(c[1]))) {
                break;
            }
        }
        if (c == a || strpbrk(apr_pstrmemdup(rc->v.p, a, (apr_size_t)(c - a)),
                              "%") != NULL) {
            return -1;  /* the host depends on the request */
        }
        f->authority = apr_pstrmemdup(rc->v.p, a, (apr_size_t)(c - a));
    }
    f->scheme = u.scheme_raw;
    return 0;
}

/*
 * The backend function of outcome @a o for request @a uri under @a path:
 * the base B such that WSGatewayPass PATH scheme://authority/B sends
 * @a uri to o->path. Returns NULL (with *why) when there is none.
 */
static const char *wsgm_recipe_base(wsgm_recipe_ctx_t *rc, const char *path,
                                    const char *uri, const wsgm_out_t *o,
                                    const char **why)
{
    apr_size_t mlen = strcmp(path, "/") ? strlen(path) : 0;
    const char *rest = uri + mlen;
    apr_size_t tl = strlen(o->path), rl = strlen(rest);

    if (strchr(o->path, '?')) {
        *why = "the target sets its own query string, which WSGatewayPass "
               "cannot do";
        return NULL;
    }
    if (rl && tl >= rl && !strcmp(o->path + tl - rl, rest)) {
        return apr_pstrmemdup(rc->v.p, o->path, tl - rl);
    }
    if (!strcmp(uri, path)) {
        return apr_pstrdup(rc->v.p, o->path);
    }
    if (rl && tl + 1 >= rl && rest[0] == '/' && tl >= rl - 1
        && !strcmp(o->path + tl - (rl - 1), rest + 1)
        && (tl == rl - 1 || o->path[tl - rl] != '/')) {
        *why = apr_psprintf(rc->v.p, "the target joins the rest of the path "
                            "without a '/' (%s becomes %s), which "
                            "WSGatewayPass cannot reproduce", uri, o->path);
        return NULL;
    }
    *why = apr_psprintf(rc->v.p, "the backend path (%s for %s) is not the "
                        "request path appended to a fixed prefix", o->path,
                        uri);
    return NULL;
}

/* The WebSocket backend function of candidate @a d. */
static const char *wsgm_recipe_wfn(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d,
                                   const char *path, wsgm_verify_fn_t *fn)
{
    wsgm_view_t v = wsgm_verify_only(&rc->v, d->id);
    const char *u1 = strcmp(path, "/")
                     ? apr_pstrcat(rc->v.p, path, "/x/y", NULL) : "/x/y";
    const char *uri = u1, *why = NULL;
    const wsgm_out_t *o = wsgm_verify_outcome(&rc->v, &v, d->host, WSGM_CLS_W1,
                                              u1);

    if (o == NULL) {
        return "where it sends requests depends on other conditions";
    }
    if (o->kind == WSGM_OUT_LOCAL) {
        uri = path;
        o = wsgm_verify_outcome(&rc->v, &v, d->host, WSGM_CLS_W1, path);
        if (o == NULL) {
            return "where it sends requests depends on other conditions";
        }
    }
    if (o->kind != WSGM_OUT_TUNNEL && o->kind != WSGM_OUT_NOUP) {
        return o->kind == WSGM_OUT_LOCAL
               ? apr_psprintf(rc->v.p, "its pattern matches neither %s nor %s",
                              path, u1)
               : "its target depends on the request in a way WSGatewayPass "
                 "cannot express (a variable or back-reference outside the "
                 "path)";
    }
    if (wsgm_recipe_written(rc, d, fn) != 0) {
        return "its backend host depends on the request";
    }
    fn->origin = apr_pstrdup(rc->v.p, o->origin);
    fn->tls = o->tls;
    fn->base = wsgm_recipe_base(rc, path, uri, o, &why);
    return fn->base ? NULL : why;
}

/* Can directive @a d be removed as part of a recipe? */
static int wsgm_recipe_removable(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d)
{
    int i;

    if (rc->removed[d->id] || d->is_new) {
        return 0;
    }
    if (d->kind == WSGM_D_PP) {
        const wsgm_pp_t *pp = (const wsgm_pp_t *)d;

        return !pp->opaque && !pp->excluded && pp->url_ok && pp->url.known;
    }
    if (d->kind == WSGM_D_RULE) {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;

        if (!r->f_proxy || r->unprovable || r->refused || r->nosub) {
            return 0;
        }
        for (i = 0; i < r->conds->nelts; ++i) {
            const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

            if (c->sem[1].test == WSGM_TEST_OTHER
                || c->sem[1].ptype == WSGM_PT_OTHER
                || (c->sem[1].ptype == WSGM_PT_REGEX && !c->sem[1].re.ok)) {
                return 0;
            }
        }
        return 1;
    }
    return 0;
}

/* Is @a d a directive that carries WebSocket handshakes to a backend? */
static int wsgm_recipe_is_candidate(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d)
{
    if (d->kind == WSGM_D_PP) {
        const wsgm_pp_t *pp = (const wsgm_pp_t *)d;

        return !pp->excluded && pp->url_ok && pp->url.known
            && (pp->url.ws || pp->upgrade);
    }
    if (d->kind == WSGM_D_RULE) {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        wsgm_url_t u;

        if (!r->f_proxy || r->nosub || r->refused
            || wsgm_url_parse(rc->v.tmp, r->sem[1].subst, &u) != 0
            || !u.known) {
            return 0;
        }
        if (u.ws) {
            return 1;
        }
        return wsgm_sim_conds_accept(rc->v.tmp, rc->v.m, r, 1,
                                     WSGM_CLS_W1) != 0
            && wsgm_sim_conds_accept(rc->v.tmp, rc->v.m, r, 1,
                                     WSGM_CLS_H) == 0;
    }
    return 0;
}

/* RewriteEngine where rule @a d is: 1 on, 0 off, -1 not set in the files
 * read (the server's, for a virtual host without one of its own). */
static int wsgm_recipe_engine(const wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, d->host);

    if (d->loc >= 0) {
        return APR_ARRAY_IDX(h->locs, d->loc, wsgm_loc_t *)->engine;
    }
    return h->engine >= 0 ? h->engine
           : d->host > 0 ? wsgm_recipe_host(rc, 0)->engine : -1;
}

/* Reasons that rule a candidate out before any modelling. */
static const char *wsgm_recipe_precheck(wsgm_recipe_ctx_t *rc,
                                        const wsgm_dir_t *d)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, d->host);
    const wsgm_host_t *main_h = wsgm_recipe_host(rc, 0);
    int i;

    if (h->proxy_requests || main_h->proxy_requests) {
        const wsgm_host_t *ph = h->proxy_requests ? h : main_h;

        return apr_psprintf(rc->v.p, "'ProxyRequests On' (%s:%d) makes this "
                            "server a forward proxy too; WSGatewayPass cannot "
                            "be proven equivalent there",
                            ph->proxy_requests_at.file->display,
                            wsgm_conf_item(ph->proxy_requests_at.file,
                                           ph->proxy_requests_at.item)->line);
    }
    if (d->kind == WSGM_D_RULE) {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        int engine;

        if (r->unprovable && !strcmp(r->unprovable, "NC")) {
            return "the [NC] flag makes the rule match paths in any case "
                   "(/WS/ too), and WSGatewayPass paths are case-sensitive; "
                   "drop [NC] if only the written case matters, then run "
                   "again";
        }
        if (r->unprovable) {
            return apr_psprintf(rc->v.p, "the [%s] flag has no WSGatewayPass "
                                "equivalent", r->unprovable);
        }
        engine = wsgm_recipe_engine(rc, d);
        if (engine == 0) {
            return "RewriteEngine is off here, so this rule never ran; "
                   "WSGatewayPass would switch it on";
        }
        for (i = 0; i < r->conds->nelts; ++i) {
            const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

            if (c->sem[1].test == WSGM_TEST_OTHER
                || c->sem[1].ptype == WSGM_PT_OTHER
                || (c->sem[1].ptype == WSGM_PT_REGEX && !c->sem[1].re.ok)) {
                return apr_psprintf(rc->v.p, "the extra condition at line %d "
                                    "('%s') has no WSGatewayPass equivalent",
                                    wsgm_conf_item(c->at.file,
                                                   c->at.item)->line,
                                    c->raw);
            }
        }
        if (d->loc < 0 && !r->sem[1].re.ok) {
            return apr_psprintf(rc->v.p, "the pattern '%s' uses regular "
                                "expression features this tool does not "
                                "evaluate", r->sem[1].pattern);
        }
    }
    if (d->kind == WSGM_D_PP) {
        const wsgm_pp_t *pp = (const wsgm_pp_t *)d;

        if (pp->opaque) {
            return apr_psprintf(rc->v.p, "'%s' has no WSGatewayPass "
                                "equivalent", pp->opaque);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Proposals                                                             */

/* The string mod_ws_gateway registers with ProxyPassReverse for @a f. */
static const char *wsgm_recipe_reverse(apr_pool_t *p,
                                       const wsgm_verify_fn_t *f)
{
    return apr_pstrcat(p, f->tls ? "https" : "http", "://", f->origin,
                       *f->base ? f->base : "/", NULL);
}

/* ProxyPassReverse lines the new line makes redundant. */
static void wsgm_recipe_add_pprs(wsgm_recipe_ctx_t *rc,
                                 wsgm_verify_prop_t *pr,
                                 const wsgm_verify_fn_t *w,
                                 const wsgm_verify_fn_t *hfn)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
    const char *fake = pr->loc >= 0 ? NULL
                       : strcmp(pr->path, "/") ? apr_pstrcat(rc->v.p, pr->path,
                                                             "/", NULL)
                       : "/";
    const char *real = wsgm_recipe_reverse(rc->v.p, hfn);
    int i;

    for (i = 0; i < h->ppr->nelts; ++i) {
        const wsgm_ppr_t *r = APR_ARRAY_IDX(h->ppr, i, wsgm_ppr_t *);
        const char *np;

        if (r->d.loc != pr->loc || rc->removed[r->d.id] || !r->url_ok) {
            continue;
        }
        np = wsgw_map_normalize(rc->v.p, r->path);
        /* A ws:// reverse map under the new PATH, to the same backend: no
         * response header carries a ws:// URL; it only paired a ws://
         * ProxyPass that this line replaces. */
        if (r->url.ws && r->url.tls == w->tls
            && !strcmp(r->url.origin, w->origin) && np
            && (!strcmp(np, pr->path)
                || (pr->loc < 0
                    && wsgw_map_covers(pr->path, strcmp(pr->path, "/")
                                                 ? strlen(pr->path) : 0,
                                       np)))) {
            APR_ARRAY_PUSH(pr->remove, int) = r->d.id;     /* dead: ws:// */
            continue;
        }
        if (!strcasecmp(r->url_raw, real)
            && (pr->loc >= 0 || !strcmp(r->path, fake))) {
            APR_ARRAY_PUSH(pr->remove, int) = r->d.id;
        }
    }
}

/*
 * Did the old configuration proxy requests for exactly @a path (not only
 * below it)? When it did not, a backend base with or without a trailing
 * slash maps everything it did proxy the same way.
 */
static int wsgm_recipe_bare_covered(wsgm_recipe_ctx_t *rc, int host,
                                    const char *path)
{
    static const wsgm_cls_e cls[] = { WSGM_CLS_W1, WSGM_CLS_H };
    int c, i;

    for (c = 0; c < 2; ++c) {
        apr_array_header_t *o = wsgm_verify_outcomes(&rc->v, &rc->v.I, host,
                                                     cls[c], path);

        for (i = 0; i < o->nelts; ++i) {
            if (APR_ARRAY_IDX(o, i, wsgm_out_t).kind != WSGM_OUT_LOCAL) {
                return 1;
            }
        }
    }
    return 0;
}

/* @a f with a trailing slash on its base. */
static wsgm_verify_fn_t *wsgm_recipe_slashed(apr_pool_t *p,
                                             const wsgm_verify_fn_t *f)
{
    wsgm_verify_fn_t *g = apr_pmemdup(p, f, sizeof(*f));
    apr_size_t n = strlen(f->base);

    if (n == 0 || f->base[n - 1] != '/') {
        g->base = apr_pstrcat(p, f->base, "/", NULL);
    }
    return g;
}

static wsgm_verify_prop_t *wsgm_recipe_prop(wsgm_recipe_ctx_t *rc,
                                            const wsgm_dir_t *d,
                                            const char *path,
                                            const wsgm_verify_fn_t *w,
                                            const wsgm_verify_fn_t *hfn,
                                            const char *params)
{
    wsgm_verify_prop_t *pr = apr_pcalloc(rc->v.p, sizeof(*pr));
    wsgm_gw_t *g = apr_pcalloc(rc->v.p, sizeof(*g));
    const char *url, *args;

    /* "/ws" and "/ws/" join the rest of the path alike; they differ for
     * PATH itself only. Where the old lines did not proxy PATH itself,
     * keep the slash: the new line then reads like the old one and its
     * built-in ProxyPassReverse gets the usual "/ws/ -> http://b/ws/". */
    if (d->loc < 0 && strcmp(path, "/")
        && !wsgm_recipe_bare_covered(rc, d->host, path)) {
        w = wsgm_recipe_slashed(rc->v.p, w);
        if (hfn) {
            hfn = wsgm_recipe_slashed(rc->v.p, hfn);
        }
    }
    /* the handshake URL keeps the scheme as written (ws, wss, or http for
     * ProxyPass ... upgrade=websocket): it names the same origin anyway */
    url = wsgm_recipe_fn_url(rc->v.p, w, 1, 1);

    pr->own_path = wsgm_recipe_path_of(rc, d);
    pr->host = d->host;
    pr->loc = d->loc;
    pr->path = path;
    pr->remove = apr_array_make(rc->v.p, 4, sizeof(int));
    pr->notes = apr_array_make(rc->v.p, 2, sizeof(const char *));
    pr->warns = apr_array_make(rc->v.p, 2, sizeof(const char *));
    args = wsgm_recipe_quote(rc->v.p, url);
    if (d->loc < 0) {
        args = apr_pstrcat(rc->v.p, wsgm_recipe_quote(rc->v.p, path), " ",
                           args, NULL);
    }
    if (hfn && !wsgm_recipe_same_fn(w, hfn)) {
        args = apr_pstrcat(rc->v.p, args, " ",
                           wsgm_recipe_quote(rc->v.p,
                                             apr_pstrcat(rc->v.p, "http=",
                                                         wsgm_recipe_fn_url(
                                                             rc->v.p, hfn, 0,
                                                             0),
                                                         NULL)),
                           NULL);
    }
    if (params && *params) {
        args = apr_pstrcat(rc->v.p, args, " ", params, NULL);
    }
    pr->args = args;

    g->d.kind = WSGM_D_GW;
    g->d.host = d->host;
    g->d.loc = d->loc;
    g->d.is_new = 1;
    g->d.at = d->at;
    g->args = args;
    if (wsgm_model_parse_gw(rc->v.m, g, args, wsgm_recipe_loc_path(rc, d))
        != 0) {
        pr->fail = apr_psprintf(rc->v.p, "the line 'WSGatewayPass %s' would "
                                "not parse", args);
    }
    pr->gw = g;
    APR_ARRAY_PUSH(pr->remove, int) = d->id;
    wsgm_recipe_add_pprs(rc, pr, w, hfn ? hfn : w);
    return pr;
}

/* ------------------------------------------------------------------ */
/* Acceptance                                                            */

/* "RewriteCond+RewriteRule (lines 3-5)" */
static const char *wsgm_recipe_describe_dir(apr_pool_t *p,
                                            const wsgm_dir_t *d,
                                            const wsgm_file_t *home)
{
    const wsgm_item_t *first = wsgm_model_first_item(d);
    const wsgm_item_t *last = wsgm_recipe_item(d);
    int l1 = first->line, l2 = last->line + last->nlines - 1;
    const char *what = d->kind == WSGM_D_RULE
                       ? (((const wsgm_rule_t *)d)->conds->nelts
                          ? "RewriteCond+RewriteRule" : "RewriteRule")
                       : last->name;
    const char *file = d->at.file == home
                       ? "" : apr_pstrcat(p, d->at.file->display, ":", NULL);

    if (l1 == l2) {
        return apr_psprintf(p, "%s (%sline %d)", what, file, l1);
    }
    return apr_psprintf(p, "%s (%slines %d-%d)", what, file, l1, l2);
}

static int wsgm_recipe_cmp_dir(const wsgm_recipe_ctx_t *rc,
                               const wsgm_dir_t *a,
                               const wsgm_dir_t *b)
{
    int fa = 0, fb = 0, i;

    for (i = 0; i < rc->v.m->files->nelts; ++i) {
        const wsgm_file_t *f = APR_ARRAY_IDX(rc->v.m->files, i, wsgm_file_t *);

        if (f == a->at.file) {
            fa = i;
        }
        if (f == b->at.file) {
            fb = i;
        }
    }
    if (fa != fb) {
        return fa - fb;
    }
    return wsgm_recipe_line(a) - wsgm_recipe_line(b);
}

/* Explanations of broken variants among the replaced lines. */
static void wsgm_recipe_explain(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d,
                                const char *tail)
{
    int i;

    if (d->kind == WSGM_D_RULE) {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;

        for (i = 0; i < r->conds->nelts; ++i) {
            const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

            if (c->why) {
                wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING, c->at.file->display,
                             wsgm_conf_item(c->at.file, c->at.item)->line,
                             "%s%s", c->why, tail);
            }
        }
        if (r->why) {
            wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING, wsgm_recipe_file(d),
                         wsgm_recipe_item(d)->line, "%s%s", r->why, tail);
        }
    }
    else if (d->kind == WSGM_D_PP && ((const wsgm_pp_t *)d)->why) {
        wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING, wsgm_recipe_file(d),
                     wsgm_recipe_item(d)->line, "%s%s",
                     ((const wsgm_pp_t *)d)->why, tail);
    }
    rc->said[d->id] = 1;
}

static void wsgm_recipe_accept(wsgm_recipe_ctx_t *rc, wsgm_verify_prop_t *pr)
{
    wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
    apr_array_header_t *list;
    const wsgm_dir_t *place = NULL;
    const char *what = "", *extra = "";
    int i;

    wsgm_model_add(rc->v.m, &pr->gw->d);
    list = pr->loc >= 0 ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw
                        : h->gw;
    APR_ARRAY_PUSH(list, wsgm_gw_t *) = pr->gw;
    rc->v.N.active[pr->gw->d.id] = 1;
    for (i = 0; i < pr->remove->nelts; ++i) {
        const wsgm_dir_t *d = wsgm_recipe_dir(rc,
                                              APR_ARRAY_IDX(pr->remove, i,
                                                            int));

        rc->v.N.active[d->id] = 0;
        rc->removed[d->id] = 1;
        if (d->kind != WSGM_D_PPR
            && (place == NULL || wsgm_recipe_cmp_dir(rc, d, place) < 0)) {
            place = d;
        }
    }
    /* the new line goes where the first replaced line was */
    pr->gw->d.at.file = place->at.file;
    pr->gw->d.at.item = place->kind == WSGM_D_RULE
                        ? ((const wsgm_rule_t *)place)->first_item
                        : place->at.item;
    APR_ARRAY_PUSH(rc->accepted, wsgm_verify_prop_t *) = pr;
    rc->out->converted++;

    /* the message */
    {
        apr_array_header_t *ds = apr_array_make(rc->v.tmp, 4,
                                                sizeof(const wsgm_dir_t *));
        int j;

        for (i = 0; i < pr->remove->nelts; ++i) {
            const wsgm_dir_t *d = wsgm_recipe_dir(rc,
                                                  APR_ARRAY_IDX(pr->remove, i,
                                                                int));

            for (j = ds->nelts; j > 0; --j) {
                if (wsgm_recipe_cmp_dir(rc, APR_ARRAY_IDX(ds, j - 1,
                                                          const wsgm_dir_t *),
                                        d) <= 0) {
                    break;
                }
            }
            APR_ARRAY_PUSH(ds, const wsgm_dir_t *) = NULL;
            memmove(&APR_ARRAY_IDX(ds, j + 1, const wsgm_dir_t *),
                    &APR_ARRAY_IDX(ds, j, const wsgm_dir_t *),
                    (size_t)(ds->nelts - 1 - j) * sizeof(const wsgm_dir_t *));
            APR_ARRAY_IDX(ds, j, const wsgm_dir_t *) = d;
        }
        for (i = 0; i < ds->nelts; ++i) {
            what = apr_pstrcat(rc->v.p, what, i ? ", " : "",
                               wsgm_recipe_describe_dir(
                                   rc->v.p, APR_ARRAY_IDX(ds, i,
                                                        const wsgm_dir_t *),
                                   place->at.file), NULL);
        }
    }
    /* what the broken lines really did */
    {
        int broken = 0, refused = 0, k;

        for (i = 0; i < pr->remove->nelts; ++i) {
            const wsgm_dir_t *d = wsgm_recipe_dir(rc,
                                                  APR_ARRAY_IDX(pr->remove, i,
                                                                int));

            if (d->kind == WSGM_D_RULE) {
                const wsgm_rule_t *r = (const wsgm_rule_t *)d;

                rc->out->used_rewrite = 1;
                {
                    wsgm_url_t u;

                    if (wsgm_url_parse(rc->v.tmp, r->sem[1].subst, &u) == 0
                        && u.ws) {
                        rc->out->used_wstunnel = 1;
                    }
                }
                broken |= r->why != NULL;
                for (k = 0; k < r->conds->nelts; ++k) {
                    const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, k,
                                                         wsgm_cond_t *);

                    broken |= c->why != NULL;
                    refused |= c->sem[0].refused && !c->sem[1].refused;
                }
            }
            else if (d->kind == WSGM_D_PP) {
                const wsgm_pp_t *pp = (const wsgm_pp_t *)d;

                rc->out->used_wstunnel |= pp->url.ws;
                broken |= pp->why != NULL;
            }
        }
        if (refused) {
            extra = apr_pstrcat(rc->v.p, extra, "; before this change httpd "
                                "refused the configuration ('apachectl -t' "
                                "failed)", NULL);
        }
        else if (broken) {
            const char *u = strcmp(pr->own_path, "/")
                            ? apr_pstrcat(rc->v.p, pr->own_path, "/x", NULL)
                            : "/x";
            int c;

            for (c = 0; c < WSGM_NCLS; c += WSGM_CLS_H) {
                const wsgm_out_t *was = wsgm_verify_outcome(&rc->v, &rc->v.A,
                                                            pr->host,
                                                            (wsgm_cls_e)c, u);
                const wsgm_out_t *now;

                if (was == NULL) {
                    continue;
                }
                was = apr_pmemdup(rc->v.p, was, sizeof(*was));
                now = wsgm_verify_outcome(&rc->v, &rc->v.N, pr->host,
                                          (wsgm_cls_e)c, u);
                if (now && !wsgm_sim_same(was, now)) {
                    const char *before = wsgm_sim_describe(rc->v.p, rc->v.m,
                                                           was);
                    const char *after = wsgm_sim_describe(rc->v.p, rc->v.m,
                                                          now);

                    extra = apr_pstrcat(rc->v.p, extra,
                                        "; before this change ",
                                        wsgm_sim_class_name((wsgm_cls_e)c),
                                        " to ", u, " was ", before,
                                        ", now it is ", after, NULL);
                }
            }
        }
    }
    if (pr->shallow && strcmp(pr->path, "/")) {
        extra = apr_pstrcat(rc->v.p, extra, "; ", pr->path,
                            " itself is mapped too", NULL);
    }
    for (i = 0; i < pr->notes->nelts; ++i) {
        extra = apr_pstrcat(rc->v.p, extra, "; ",
                            APR_ARRAY_IDX(pr->notes, i, const char *), NULL);
    }
    if (pr->missed_case || pr->missed_ff) {
        extra = apr_pstrcat(rc->v.p, extra, "; handshakes with ",
                            pr->missed_case ? "'Upgrade: WebSocket'" : "",
                            pr->missed_case && pr->missed_ff ? " or " : "",
                            pr->missed_ff ? "Firefox's 'Connection: "
                                            "keep-alive, Upgrade'" : "",
                            ", which the old conditions missed, are now "
                            "tunnelled too", NULL);
    }
    {
        const wsgm_item_t *at = wsgm_conf_item(pr->gw->d.at.file,
                                               pr->gw->d.at.item);

        wsgm_msg_add(rc->msgs, WSGM_MSG_CONVERTED, pr->gw->d.at.file->display,
                     at->line, "%s into 'WSGatewayPass %s'%s", what, pr->args,
                     extra);
        for (i = 0; i < pr->warns->nelts; ++i) {
            wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING,
                         pr->gw->d.at.file->display, at->line, "%s",
                         APR_ARRAY_IDX(pr->warns, i, const char *));
        }
        for (i = 0; i < pr->remove->nelts; ++i) {
            const wsgm_dir_t *rd = wsgm_recipe_dir(
                rc, APR_ARRAY_IDX(pr->remove, i, int));

            if (rd->kind == WSGM_D_RULE && wsgm_recipe_engine(rc, rd) < 0) {
                wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING,
                             pr->gw->d.at.file->display, at->line,
                             "no 'RewriteEngine On' for the replaced rules "
                             "in the files read: unless another file turns "
                             "it on for this server, they never ran, and "
                             "this line now proxies what they name");
                break;
            }
        }
    }
    for (i = 0; i < pr->remove->nelts; ++i) {
        wsgm_recipe_explain(rc, wsgm_recipe_dir(rc, APR_ARRAY_IDX(pr->remove,
                                                                  i, int)),
                            "; converted to what it evidently meant");
    }
}

/* ------------------------------------------------------------------ */
/* One candidate                                                         */

static void wsgm_recipe_refuse(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d,
                               const char *why)
{
    wsgm_recipe_explain(rc, d, "");
    wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING, wsgm_recipe_file(d),
                 wsgm_recipe_line(d), "not converted: %s", why);
}

/* Other candidates under @a path whose function agrees with @a w there. */
static void wsgm_recipe_absorb(wsgm_recipe_ctx_t *rc, wsgm_verify_prop_t *pr,
                               const wsgm_dir_t *d, const wsgm_verify_fn_t *w)
{
    int id;

    for (id = 0; id < rc->v.norig; ++id) {
        const wsgm_dir_t *e = wsgm_recipe_dir(rc, id);
        const char *pe, *want;
        wsgm_verify_fn_t fe;
        apr_size_t plen = strcmp(pr->path, "/") ? strlen(pr->path) : 0;

        if (e == d || e->host != d->host || e->loc != d->loc
            || wsgm_recipe_has(pr->remove, id)
            || !wsgm_recipe_is_candidate(rc, e)
            || !wsgm_recipe_removable(rc, e) || wsgm_recipe_precheck(rc, e)
            || (pe = wsgm_recipe_path_of(rc, e)) == NULL
            || !wsgw_map_covers(pr->path, plen, pe)
            || wsgm_recipe_wfn(rc, e, pe, &fe) != NULL) {
            continue;
        }
        want = wsgw_map_join(rc->v.tmp, w->base, pe + plen);
        if (fe.tls == w->tls && !strcmp(fe.origin, w->origin)
            && wsgm_recipe_same_base(fe.base, want)) {
            APR_ARRAY_PUSH(pr->remove, int) = id;
        }
    }
}

/*
 * A removable directive with a wider PATH than @a path that sends ordinary
 * requests under @a path where @a w sends handshakes (ProxyPass / http://b/
 * next to ProxyPass /ws ws://b/ws). Fills *@a hf with its function there.
 */
static const wsgm_dir_t *wsgm_recipe_wider(wsgm_recipe_ctx_t *rc,
                                           const wsgm_dir_t *d,
                                           const char *path,
                                           const wsgm_verify_fn_t *w,
                                           wsgm_verify_fn_t *hf)
{
    const char *u = strcmp(path, "/")
                    ? apr_pstrcat(rc->v.p, path, "/x/y", NULL) : "/x/y";
    int id;

    for (id = 0; id < rc->v.norig; ++id) {
        const wsgm_dir_t *e = wsgm_recipe_dir(rc, id);
        const char *pe, *why = NULL, *base;
        const wsgm_out_t *o;
        wsgm_view_t v;

        if (e == d || e->host != d->host || e->loc != d->loc
            || !wsgm_recipe_removable(rc, e) || wsgm_recipe_precheck(rc, e)
            || (pe = wsgm_recipe_path_of(rc, e)) == NULL
            || !strcmp(pe, path)
            || !wsgw_map_covers(pe, strcmp(pe, "/") ? strlen(pe) : 0, path)) {
            continue;
        }
        v = wsgm_verify_only(&rc->v, id);
        o = wsgm_verify_outcome(&rc->v, &v, d->host, WSGM_CLS_H, u);
        if (o == NULL || o->kind != WSGM_OUT_HTTP || o->tls != w->tls
            || strcmp(o->origin, w->origin)) {
            continue;
        }
        base = wsgm_recipe_base(rc, path, u, o, &why);
        if (base == NULL || !wsgm_recipe_same_base(base, w->base)
            || wsgm_recipe_written(rc, e, hf) != 0) {
            continue;
        }
        hf->origin = apr_pstrdup(rc->v.p, o->origin);
        hf->tls = o->tls;
        hf->base = base;
        return e;
    }
    return NULL;
}

static const char *wsgm_recipe_params(const wsgm_dir_t *d)
{
    return d->kind == WSGM_D_PP ? ((const wsgm_pp_t *)d)->params : "";
}

static void wsgm_recipe_candidate(wsgm_recipe_ctx_t *rc, const wsgm_dir_t *d)
{
    const char *why, *path, *ps = NULL;
    wsgm_verify_fn_t w, hf;
    apr_array_header_t *outs;
    apr_array_header_t *props = apr_array_make(rc->v.p, 2,
                                               sizeof(wsgm_verify_prop_t *));
    const wsgm_dir_t *s = NULL;
    const char *probes[3];
    int i, j, s_removable;
    wsgm_verify_prop_t *best = NULL;

    if ((why = wsgm_recipe_precheck(rc, d)) != NULL) {
        wsgm_recipe_refuse(rc, d, why);
        return;
    }
    path = wsgm_recipe_path_of(rc, d);
    if (path == NULL) {
        wsgm_recipe_refuse(rc, d, "its pattern does not name a path prefix");
        return;
    }
    if ((why = wsgm_recipe_wfn(rc, d, path, &w)) != NULL) {
        wsgm_recipe_refuse(rc, d, why);
        return;
    }

    /* who served ordinary requests under PATH? */
    probes[0] = strcmp(path, "/") ? apr_pstrcat(rc->v.p, path, "/x/y", NULL)
                                  : "/x/y";
    probes[1] = path;
    probes[2] = strcmp(path, "/") ? apr_pstrcat(rc->v.p, path, "/", NULL)
                                  : "/x";
    memset(&hf, 0, sizeof(hf));
    {
        int nlocal = 0, nhttp = 0;
        const wsgm_out_t *other = NULL, *first = NULL;
        const char *first_uri = NULL;

        wsgm_view_t only = wsgm_verify_only(&rc->v, d->id);

        for (i = 0; i < 3; ++i) {
            const wsgm_out_t *mine = wsgm_verify_outcome(&rc->v, &only,
                                                         d->host, WSGM_CLS_W1,
                                                         probes[i]);

            if (mine && mine->kind == WSGM_OUT_LOCAL) {
                continue;   /* the candidate does not cover this path */
            }
            outs = wsgm_verify_outcomes(&rc->v, &rc->v.I, d->host, WSGM_CLS_H,
                                        probes[i]);
            for (j = 0; j < outs->nelts; ++j) {
                const wsgm_out_t *o = &APR_ARRAY_IDX(outs, j, wsgm_out_t);

                if (o->kind == WSGM_OUT_LOCAL) {
                    ++nlocal;
                }
                else if (o->kind == WSGM_OUT_HTTP && o->src >= 0
                         && (first == NULL || first->src == o->src)) {
                    ++nhttp;
                    if (first == NULL) {
                        wsgm_out_t *cp = apr_pmemdup(rc->v.p, o, sizeof(*o));

                        cp->origin = apr_pstrdup(rc->v.p, o->origin);
                        cp->path = apr_pstrdup(rc->v.p, o->path);
                        first = cp;
                        first_uri = probes[i];
                    }
                }
                else if (other == NULL) {
                    wsgm_out_t *cp = apr_pmemdup(rc->v.p, o, sizeof(*o));

                    other = cp;
                }
            }
        }
        if (other) {
            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->v.p,
                "ordinary requests under %s are %s, which WSGatewayPass "
                "cannot take over", path,
                wsgm_sim_describe(rc->v.p, rc->v.m, other)));
            return;
        }
        if (nhttp == 0) {
            const char *url = wsgm_recipe_fn_url(rc->v.p, &w, 1, 1);

            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->v.p,
                "only WebSocket handshakes under %s were proxied; ordinary "
                "requests there were answered by this server, and "
                "WSGatewayPass sends them to the backend too (or, with "
                "http=off, answers 426). If nothing else lives under %s, "
                "write 'WSGatewayPass %s%s%s http=off' yourself", path, path,
                d->loc >= 0 ? "" : path, d->loc >= 0 ? "" : " ", url));
            return;
        }
        if (nlocal) {
            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->v.p,
                "ordinary requests under %s are partly proxied (%s) and "
                "partly answered by this server", path,
                wsgm_sim_describe(rc->v.p, rc->v.m, first)));
            return;
        }
        s = wsgm_recipe_dir(rc, first->src);
        hf.origin = first->origin;
        hf.tls = first->tls;
        {
            const char *bw = NULL;

            hf.base = wsgm_recipe_base(rc, path, first_uri, first, &bw);
            if (hf.base == NULL) {
                wsgm_recipe_refuse(rc, d, apr_psprintf(rc->v.p,
                    "for ordinary requests, %s", bw));
                return;
            }
        }
    }
    if (s->kind == WSGM_D_GW) {
        hf.scheme = hf.tls ? "https" : "http";
        hf.authority = hf.origin;
    }
    else if (wsgm_recipe_written(rc, s, &hf) != 0) {
        wsgm_recipe_refuse(rc, d, "the backend of ordinary requests depends "
                           "on the request");
        return;
    }
    if (s == d) {
        wsgm_verify_fn_t wf;
        const wsgm_dir_t *t = wsgm_recipe_wider(rc, d, path, &w, &wf);

        if (t) {
            s = t;
            hf = wf;
        }
    }
    if (s != d) {
        ps = wsgm_recipe_path_of(rc, s);
    }
    s_removable = s != d && ps && s->host == d->host && s->loc == d->loc
                  && wsgm_recipe_removable(rc, s)
                  && wsgm_recipe_precheck(rc, s) == NULL
                  && !strcmp(wsgm_recipe_params(s), wsgm_recipe_params(d));

    /* A: one line for the whole of the wider PATH of the http line */
    if (s_removable && strcmp(ps, path)) {
        apr_size_t plen = strcmp(ps, "/") ? strlen(ps) : 0;
        const char *suffix = path + plen;
        apr_size_t bl = strlen(w.base), sl = strlen(suffix);
        wsgm_verify_fn_t wa = w, ha = hf;

        if (bl >= sl && !strcmp(w.base + bl - sl, suffix)
            && strlen(hf.base) >= sl
            && !strcmp(hf.base + strlen(hf.base) - sl, suffix)) {
            wsgm_verify_prop_t *pa;

            wa.base = apr_pstrmemdup(rc->v.p, w.base, bl - sl);
            ha.base = apr_pstrmemdup(rc->v.p, hf.base, strlen(hf.base) - sl);
            pa = wsgm_recipe_prop(rc, d, ps, &wa, &ha,
                                  wsgm_recipe_params(d));
            APR_ARRAY_PUSH(pa->remove, int) = s->id;
            wsgm_recipe_absorb(rc, pa, d, &wa);
            APR_ARRAY_PUSH(props, wsgm_verify_prop_t *) = pa;
        }
    }
    /* B: one line for PATH */
    {
        wsgm_verify_prop_t *pb = wsgm_recipe_prop(rc, d, path, &w, &hf,
                                           wsgm_recipe_params(d));

        if (s_removable && !strcmp(ps, path)) {
            APR_ARRAY_PUSH(pb->remove, int) = s->id;
        }
        APR_ARRAY_PUSH(props, wsgm_verify_prop_t *) = pb;
    }
    /* a PATH already mapped cannot be mapped twice */
    for (i = 0; i < props->nelts; ++i) {
        wsgm_verify_prop_t *pr = APR_ARRAY_IDX(props, i, wsgm_verify_prop_t *);
        wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
        apr_array_header_t *gws = pr->loc >= 0
            ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw : h->gw;

        for (j = 0; j < gws->nelts; ++j) {
            const wsgm_gw_t *g = APR_ARRAY_IDX(gws, j, wsgm_gw_t *);

            if (rc->v.N.active[g->d.id] && (pr->loc >= 0
                                          || !strcmp(g->path, pr->path))) {
                pr->fail = apr_psprintf(rc->v.p, "%s is already mapped by "
                                        "WSGatewayPass (%s:%d)", pr->path,
                                        g->d.at.file->display,
                                        wsgm_conf_item(g->d.at.file,
                                                       g->d.at.item)->line);
            }
        }
        wsgm_verify_prop(&rc->v, pr);
        if (!pr->fail && (best == NULL
                          || pr->warns->nelts < best->warns->nelts)) {
            best = pr;
        }
    }
    if (best == NULL) {
        wsgm_verify_prop_t *pb = APR_ARRAY_IDX(props, props->nelts - 1,
                                        wsgm_verify_prop_t *);

        wsgm_recipe_refuse(rc, d, pb->fail);
        return;
    }
    wsgm_recipe_accept(rc, best);
}

/* ------------------------------------------------------------------ */
/* Edits and hints                                                       */

static apr_array_header_t *wsgm_recipe_edits_of(wsgm_recipe_ctx_t *rc,
                                                wsgm_file_t *f)
{
    apr_array_header_t *e = apr_hash_get(rc->out->edits, &f, sizeof(f));

    if (e == NULL) {
        wsgm_file_t **key = apr_palloc(rc->v.p, sizeof(*key));

        *key = f;
        e = wsgm_edit_list(rc->v.p);
        apr_hash_set(rc->out->edits, key, sizeof(*key), e);
    }
    return e;
}

/* Replace (or delete, @a text NULL) the lines of item @a i of @a f. */
static void wsgm_recipe_edit_item(wsgm_recipe_ctx_t *rc, wsgm_file_t *f, int i,
                                  const char *text)
{
    const wsgm_item_t *it = wsgm_conf_item(f, i);

    wsgm_edit_add(wsgm_recipe_edits_of(rc, f), it->first, it->nlines,
                  text ? text : "");
}

static const char *wsgm_recipe_loc_of(apr_pool_t *p, const wsgm_file_t *f,
                                      int item)
{
    return apr_psprintf(p, "%s:%d", f->display,
                        wsgm_conf_item(f, item)->line);
}

static void wsgm_recipe_edits(wsgm_recipe_ctx_t *rc)
{
    int i, j, k;

    for (i = 0; i < rc->accepted->nelts; ++i) {
        const wsgm_verify_prop_t *pr = APR_ARRAY_IDX(rc->accepted, i,
                                                     wsgm_verify_prop_t *);
        wsgm_file_t *pf = pr->gw->d.at.file;
        const wsgm_item_t *pit = wsgm_conf_item(pf, pr->gw->d.at.item);
        const char *eol = wsgm_conf_line_eol(pf, pit->first + pit->nlines - 1);
        int pi;

        wsgm_recipe_edit_item(rc, pf, pr->gw->d.at.item,
                              apr_pstrcat(rc->v.p, pit->indent,
                                          "WSGatewayPass ", pr->args, eol,
                                          NULL));
        for (j = 0; j < pr->remove->nelts; ++j) {
            const wsgm_dir_t *d = wsgm_recipe_dir(rc, APR_ARRAY_IDX(pr->remove,
                                                                    j, int));

            if (d->kind == WSGM_D_RULE) {
                const wsgm_rule_t *r = (const wsgm_rule_t *)d;

                for (k = 0; k < r->conds->nelts; ++k) {
                    const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, k,
                                                         wsgm_cond_t *);

                    if (c->at.file != pf || c->at.item != pr->gw->d.at.item) {
                        wsgm_recipe_edit_item(rc, c->at.file, c->at.item,
                                              NULL);
                    }
                }
            }
            if (d->at.file != pf || d->at.item != pr->gw->d.at.item) {
                wsgm_recipe_edit_item(rc, d->at.file, d->at.item, NULL);
            }
        }
        /* <IfModule> sections around the new line */
        for (pi = pit->parent; pi >= 0; pi = wsgm_conf_item(pf, pi)->parent) {
            const wsgm_item_t *sec = wsgm_conf_item(pf, pi);

            if (!strcasecmp(sec->name, "IfModule")
                && (strstr(sec->args, "rewrite")
                    || strstr(sec->args, "wstunnel"))) {
                const char *g = apr_psprintf(rc->v.p, "<IfModule %s> at %s "
                                             "(around the WSGatewayPass at "
                                             "line %d)", sec->args,
                                             wsgm_recipe_loc_of(rc->v.p, pf,
                                                                pi),
                                             pit->line);

                wsgm_recipe_push(rc->out->guards, g);
                if (strstr(sec->args, "rewrite")) {
                    rc->out->guard_rewrite = 1;
                }
                else {
                    rc->out->guard_wstunnel = 1;
                }
            }
        }
    }
}

/* What still needs mod_rewrite or mod_proxy_wstunnel after the edits. */
static void wsgm_recipe_leftovers(wsgm_recipe_ctx_t *rc)
{
    int fi, i, j;

    for (fi = 0; fi < rc->v.m->files->nelts; ++fi) {
        wsgm_file_t *f = APR_ARRAY_IDX(rc->v.m->files, fi, wsgm_file_t *);
        apr_array_header_t *edits = apr_hash_get(rc->out->edits, &f,
                                                 sizeof(f));
        unsigned char *gone = apr_pcalloc(rc->v.tmp,
                                          (apr_size_t)f->lines->nelts + 1);

        for (j = 0; edits && j < edits->nelts; ++j) {
            const wsgm_edit_t *e = &APR_ARRAY_IDX(edits, j, wsgm_edit_t);

            if (e->count > 0) {
                gone[e->first] = 1;
            }
        }
        for (i = 0; i < f->items->nelts; ++i) {
            const wsgm_item_t *it = wsgm_conf_item(f, i);

            if ((it->kind != WSGM_ITEM_DIRECTIVE && it->kind != WSGM_ITEM_OPEN)
                || gone[it->first]) {
                continue;
            }
            if (rc->out->rewrite_left == NULL
                && (!strcasecmp(it->name, "RewriteRule")
                    || !strcasecmp(it->name, "RewriteMap"))) {
                rc->out->rewrite_left = wsgm_recipe_loc_of(rc->v.p, f, i);
            }
            if (rc->out->wstunnel_left == NULL
                && strcasecmp(it->name, "WSGatewayPass")
                && (strstr(it->args, "ws://") || strstr(it->args, "wss://")
                    || strstr(it->args, "WS://") || strstr(it->args, "WSS://")
                    || strstr(it->args, "ws:/"))) {
                rc->out->wstunnel_left = wsgm_recipe_loc_of(rc->v.p, f, i);
            }
        }
    }
}

/* ------------------------------------------------------------------ */

void wsgm_recipe_init(apr_pool_t *p, wsgm_recipe_out_t *out)
{
    memset(out, 0, sizeof(*out));
    out->edits = apr_hash_make(p);
    out->guards = apr_array_make(p, 2, sizeof(const char *));
}

void wsgm_recipe_run(apr_pool_t *p, wsgm_model_t *m, wsgm_recipe_out_t *out)
{
    wsgm_recipe_ctx_t rc;
    int id;

    memset(&rc, 0, sizeof(rc));
    wsgm_verify_init(&rc.v, p, m);
    rc.msgs = m->msgs;
    rc.out = out;
    rc.said = apr_pcalloc(p, (apr_size_t)rc.v.cap);
    rc.removed = apr_pcalloc(p, (apr_size_t)rc.v.cap);
    rc.accepted = apr_array_make(p, 4, sizeof(wsgm_verify_prop_t *));

    for (id = 0; id < rc.v.norig; ++id) {
        const wsgm_dir_t *d = wsgm_recipe_dir(&rc, id);

        if (d->kind == WSGM_D_PPM && ((const wsgm_pp_t *)d)->url_ok
            && ((const wsgm_pp_t *)d)->url.ws) {
            wsgm_msg_add(m->msgs, WSGM_MSG_WARNING, d->at.file->display,
                         wsgm_recipe_line(d), "not converted: ProxyPassMatch "
                         "maps by regular expression, which WSGatewayPass "
                         "does not do; write one 'WSGatewayPass PATH URL' per "
                         "path prefix instead");
            continue;
        }
        if (rc.removed[id] || !wsgm_recipe_is_candidate(&rc, d)) {
            continue;
        }
        if (m->dirs->nelts >= rc.v.cap - 1) {
            break;  /* cannot happen: at most one new line per candidate */
        }
        apr_pool_clear(rc.v.tmp);
        wsgm_recipe_candidate(&rc, d);
    }
    /* broken variants outside converted recipes: say what they did */
    for (id = 0; id < rc.v.norig; ++id) {
        const wsgm_dir_t *d = wsgm_recipe_dir(&rc, id);

        if (!rc.removed[id] && !rc.said[id]) {
            wsgm_recipe_explain(&rc, d, "; left as it was");
        }
    }
    wsgm_recipe_edits(&rc);
    wsgm_recipe_leftovers(&rc);
    apr_pool_destroy(rc.v.tmp);
}

void wsgm_recipe_hints(wsgm_msgs_t *msgs, const wsgm_recipe_out_t *out)
{
    int i;

    if (out->converted == 0) {
        return;
    }
    wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                 "load mod_ws_gateway: 'a2enmod ws_gateway' (Debian, Ubuntu; "
                 "it enables proxy and proxy_http too), elsewhere "
                 "'LoadModule ws_gateway_module modules/mod_ws_gateway.so' "
                 "after mod_proxy");
    if (!out->used_wstunnel) {
        /* the converted recipes did not use it */
    }
    else if (out->wstunnel_left) {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "proxy_wstunnel is still needed: a ws:// URL is left at "
                     "%s", out->wstunnel_left);
    }
    else {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "proxy_wstunnel is no longer needed by these files "
                     "('a2dismod proxy_wstunnel' unless other files use it%s)",
                     out->guard_wstunnel ? ", once the <IfModule> test "
                                           "below is changed" : "");
    }
    if (!out->used_rewrite) {
        /* the converted recipes did not use it */
    }
    else if (out->rewrite_left) {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "rewrite is still needed: RewriteRule lines are left "
                     "(first at %s)", out->rewrite_left);
    }
    else {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "rewrite is no longer needed by these files ('a2dismod "
                     "rewrite' unless other files use it%s; their "
                     "RewriteEngine lines can go then)",
                     out->guard_rewrite ? ", once the <IfModule> test below "
                                          "is changed" : "");
    }
    for (i = 0; i < out->guards->nelts; ++i) {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "%s: the new line takes effect only while that module is "
                     "loaded; keep it, or change the test to "
                     "<IfModule ws_gateway_module>",
                     APR_ARRAY_IDX(out->guards, i, const char *));
    }
}
