/*
 * ws-gateway-migrate: recipes to WSGatewayPass. See wsgm_recipe.h.
 *
 * Order of this file: types, small helpers, probes, evaluation helpers,
 * the backend functions of a candidate, proposals, verification,
 * acceptance and messages, the run loop, edits and hints.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgw_map.h"
#include "wsgm_edit.h"
#include "wsgm_recipe.h"
#include "wsgm_sim.h"

/* Probe kinds: how a probe path relates to the literal it came from. */
enum {
    WSGM_PK_SEG = 0,    /* the path itself, or with a trailing slash */
    WSGM_PK_DEEP,       /* below it: PATH/x, PATH/x/y */
    WSGM_PK_LOOSE,      /* PATHx: same prefix, not a segment boundary */
    WSGM_PK_UNANCH      /* the literal elsewhere in the path (/zz/PATH) */
};

#define WSGM_RECIPE_MAX_LEAVES 512

typedef struct wsgm_probe_t {
    const char *uri;
    int         kind;
} wsgm_probe_t;

/* A backend mapping: origin + base path, as WSGatewayPass appends rest. */
typedef struct wsgm_fn_t {
    const char *scheme;     /* as written ("ws", "http", ...) */
    const char *authority;  /* as written */
    const char *origin;     /* normalised "host:port" */
    int         tls;
    const char *base;       /* "" or starting with '/' */
} wsgm_fn_t;

/* One proposed WSGatewayPass line. */
typedef struct wsgm_prop_t {
    const char         *label;      /* for debugging: "A" collapse, "B" */
    int                 host, loc;
    const char         *path;       /* normalised PATH */
    const char         *args;       /* argument text of the new line */
    wsgm_gw_t          *gw;         /* its model, registered on acceptance */
    apr_array_header_t *remove;     /* int: directive ids it replaces */
    /* verification */
    const char         *fail;
    apr_array_header_t *notes;      /* const char * */
    apr_array_header_t *warns;      /* const char * */
    int                 upgraded, missed_case, missed_ff, shallow;
} wsgm_prop_t;

typedef struct wsgm_rc_t {
    apr_pool_t         *p;          /* results */
    apr_pool_t         *tmp;        /* cleared often */
    wsgm_model_t       *m;
    wsgm_msgs_t        *msgs;
    wsgm_recipe_out_t  *out;
    int                 norig;      /* directives in the files */
    int                 cap;        /* size of the view arrays */
    wsgm_view_t         I, N;       /* intended old, current new */
    wsgm_view_t         A;          /* the old configuration as it was */
    apr_array_header_t **probes;    /* per host: wsgm_probe_t */
    signed char        *assign;
    unsigned char      *said;       /* by id: explanation printed */
    unsigned char      *removed;    /* by id */
    apr_array_header_t *accepted;   /* wsgm_prop_t * */
} wsgm_rc_t;

/* ------------------------------------------------------------------ */
/* Helpers                                                               */

static wsgm_dir_t *wsgm_recipe_dir(const wsgm_rc_t *rc, int id)
{
    return APR_ARRAY_IDX(rc->m->dirs, id, wsgm_dir_t *);
}

static wsgm_host_t *wsgm_recipe_host(const wsgm_rc_t *rc, int i)
{
    return APR_ARRAY_IDX(rc->m->hosts, i, wsgm_host_t *);
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

static const char *wsgm_recipe_fn_url(apr_pool_t *p, const wsgm_fn_t *f,
                                      int want_ws, int keep)
{
    const char *scheme = f->scheme;

    if (!keep) {
        scheme = want_ws ? (f->tls ? "wss" : "ws") : (f->tls ? "https" : "http");
    }
    return apr_pstrcat(p, scheme, "://", f->authority,
                       *f->base ? f->base : "/", NULL);
}

static int wsgm_recipe_same_base(const char *a, const char *b)
{
    return !strcmp(*a ? a : "/", *b ? b : "/");
}

static int wsgm_recipe_same_fn(const wsgm_fn_t *a, const wsgm_fn_t *b)
{
    return a->tls == b->tls && !strcmp(a->origin, b->origin)
        && wsgm_recipe_same_base(a->base, b->base);
}

/* ------------------------------------------------------------------ */
/* Probes                                                                */

static void wsgm_recipe_probe(apr_pool_t *p, apr_array_header_t *a,
                              const char *uri, int kind)
{
    int i;

    if (!strncmp(uri, "/zz", 3)) {
        kind = WSGM_PK_UNANCH;
    }
    for (i = 0; i < a->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(a, i, wsgm_probe_t).uri, uri)) {
            return;
        }
    }
    APR_ARRAY_PUSH(a, wsgm_probe_t).uri = apr_pstrdup(p, uri);
    APR_ARRAY_IDX(a, a->nelts - 1, wsgm_probe_t).kind = kind;
}

static void wsgm_recipe_probes_for(apr_pool_t *p, apr_array_header_t *a,
                                   const char *lit)
{
    const char *b = wsgw_map_normalize(p, lit);

    if (b == NULL) {
        return;
    }
    wsgm_recipe_probe(p, a, b, WSGM_PK_SEG);
    if (strcmp(b, "/")) {
        wsgm_recipe_probe(p, a, apr_pstrcat(p, b, "/", NULL), WSGM_PK_SEG);
        wsgm_recipe_probe(p, a, apr_pstrcat(p, b, "/x", NULL), WSGM_PK_DEEP);
        wsgm_recipe_probe(p, a, apr_pstrcat(p, b, "/x/y", NULL),
                          WSGM_PK_DEEP);
        wsgm_recipe_probe(p, a, apr_pstrcat(p, b, "x", NULL), WSGM_PK_LOOSE);
        wsgm_recipe_probe(p, a, apr_pstrcat(p, b, "x/y", NULL),
                          WSGM_PK_LOOSE);
    }
    else {
        wsgm_recipe_probe(p, a, "/x", WSGM_PK_DEEP);
        wsgm_recipe_probe(p, a, "/x/y", WSGM_PK_DEEP);
    }
}

static void wsgm_recipe_make_probes(wsgm_rc_t *rc)
{
    const wsgm_host_t *main_h = wsgm_recipe_host(rc, 0);
    int h, i;

    rc->probes = apr_pcalloc(rc->p, sizeof(apr_array_header_t *)
                                    * (apr_size_t)rc->m->hosts->nelts);
    for (h = 0; h < rc->m->hosts->nelts; ++h) {
        const wsgm_host_t *hh = wsgm_recipe_host(rc, h);
        apr_array_header_t *a = apr_array_make(rc->p, 32,
                                               sizeof(wsgm_probe_t));

        wsgm_recipe_probes_for(rc->p, a, "/");
        wsgm_recipe_probe(rc->p, a, "/qq", WSGM_PK_DEEP);
        wsgm_recipe_probe(rc->p, a, "/qq/y", WSGM_PK_DEEP);
        for (i = 0; i < hh->paths->nelts; ++i) {
            wsgm_recipe_probes_for(rc->p, a,
                                   APR_ARRAY_IDX(hh->paths, i, const char *));
        }
        if (h > 0) {
            for (i = 0; i < main_h->paths->nelts; ++i) {
                wsgm_recipe_probes_for(rc->p, a,
                                       APR_ARRAY_IDX(main_h->paths, i,
                                                     const char *));
            }
        }
        rc->probes[h] = a;
    }
}

/* ------------------------------------------------------------------ */
/* Evaluation helpers                                                    */

/* All outcomes of one request over every truth assignment (max 64). */
static apr_array_header_t *wsgm_recipe_outcomes(wsgm_rc_t *rc,
                                                const wsgm_view_t *v, int host,
                                                wsgm_cls_e cls,
                                                const char *uri)
{
    apr_array_header_t *res = apr_array_make(rc->tmp, 2, sizeof(wsgm_out_t));
    apr_array_header_t *stack = apr_array_make(rc->tmp, 4, sizeof(int));
    int leaves = 0;

    for (;;) {
        wsgm_out_t o;
        int need = -1;

        if (wsgm_sim_eval(rc->tmp, rc->m, v, host, cls, uri, rc->assign,
                          &need, &o)) {
            rc->assign[need] = 0;
            APR_ARRAY_PUSH(stack, int) = need;
            continue;
        }
        APR_ARRAY_PUSH(res, wsgm_out_t) = o;
        if (++leaves > 64) {
            break;
        }
        while (stack->nelts
               && rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)]
                  == 1) {
            rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)] = -1;
            --stack->nelts;
        }
        if (stack->nelts == 0) {
            break;
        }
        rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)] = 1;
    }
    while (stack->nelts) {
        rc->assign[APR_ARRAY_IDX(stack, --stack->nelts, int)] = -1;
    }
    return res;
}

/* The single outcome of a request, or NULL when it depends on unknowns. */
static const wsgm_out_t *wsgm_recipe_outcome(wsgm_rc_t *rc,
                                             const wsgm_view_t *v, int host,
                                             wsgm_cls_e cls, const char *uri)
{
    apr_array_header_t *a = wsgm_recipe_outcomes(rc, v, host, cls, uri);
    int i;

    for (i = 1; i < a->nelts; ++i) {
        if (!wsgm_sim_same(&APR_ARRAY_IDX(a, 0, wsgm_out_t),
                           &APR_ARRAY_IDX(a, i, wsgm_out_t))) {
            return NULL;
        }
    }
    return &APR_ARRAY_IDX(a, 0, wsgm_out_t);
}

/* A view with only directive @a id, meant as written by its author. */
static wsgm_view_t wsgm_recipe_only(wsgm_rc_t *rc, int id)
{
    wsgm_view_t v;

    v.n = rc->cap;
    v.active = apr_pcalloc(rc->tmp, (apr_size_t)rc->cap);
    v.active[id] = 1;
    v.intended = 1;
    return v;
}

/* ------------------------------------------------------------------ */
/* What a candidate stands for                                           */

/* The PATH a directive maps (normalised), or NULL. */
static const char *wsgm_recipe_path_of(wsgm_rc_t *rc, const wsgm_dir_t *d)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, d->host);

    if (d->loc >= 0) {
        return wsgw_map_normalize(rc->p, APR_ARRAY_IDX(h->locs, d->loc,
                                                       wsgm_loc_t *)->path);
    }
    switch (d->kind) {
    case WSGM_D_RULE: {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        const char *lit = r->sem[1].re.literal ? r->sem[1].re.literal : "";

        if (r->sem[1].negate) {
            return NULL;
        }
        return wsgw_map_normalize(rc->p, lit[0] == '/'
                                         ? lit
                                         : apr_pstrcat(rc->p, "/", lit, NULL));
    }
    case WSGM_D_PP:
        return wsgw_map_normalize(rc->p, ((const wsgm_pp_t *)d)->path);
    case WSGM_D_GW:
        return ((const wsgm_gw_t *)d)->path;
    default:
        return NULL;
    }
}

/* Scheme and authority as written in a directive's target. */
static int wsgm_recipe_written(wsgm_rc_t *rc, const wsgm_dir_t *d,
                               wsgm_fn_t *f)
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
    if ((text == NULL || wsgm_url_parse(rc->p, text, &u) != 0)
        && (alt == NULL || wsgm_url_parse(rc->p, alt, &u) != 0)) {
        return -1;
    }
    {
        /* "ws://b:8080%{REQUEST_URI}", "ws://b$1": the path starts there */
        const char *a = u.authority, *c;

        for (c = a; *c; ++c) {
            if ((c[0] == '%' && c[1] == '{') || (c[0] == '$' && apr_isdigit(c[1]))) {
                break;
            }
        }
        if (c == a || strpbrk(apr_pstrmemdup(rc->p, a, (apr_size_t)(c - a)),
                              "%") != NULL) {
            return -1;  /* the host depends on the request */
        }
        f->authority = apr_pstrmemdup(rc->p, a, (apr_size_t)(c - a));
    }
    f->scheme = u.scheme_raw;
    return 0;
}

/*
 * The backend function of outcome @a o for request @a uri under @a path:
 * the base B such that WSGatewayPass PATH scheme://authority/B sends
 * @a uri to o->path. Returns NULL (with *why) when there is none.
 */
static const char *wsgm_recipe_base(wsgm_rc_t *rc, const char *path,
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
        return apr_pstrmemdup(rc->p, o->path, tl - rl);
    }
    if (!strcmp(uri, path)) {
        return apr_pstrdup(rc->p, o->path);
    }
    if (rl && tl + 1 >= rl && rest[0] == '/' && tl >= rl - 1
        && !strcmp(o->path + tl - (rl - 1), rest + 1)
        && (tl == rl - 1 || o->path[tl - rl] != '/')) {
        *why = apr_psprintf(rc->p, "the target joins the rest of the path "
                            "without a '/' (%s becomes %s), which WSGatewayPass "
                            "cannot reproduce", uri, o->path);
        return NULL;
    }
    *why = apr_psprintf(rc->p, "the backend path (%s for %s) is not the "
                        "request path appended to a fixed prefix", o->path,
                        uri);
    return NULL;
}

/* The WebSocket backend function of candidate @a d. */
static const char *wsgm_recipe_wfn(wsgm_rc_t *rc, const wsgm_dir_t *d,
                                   const char *path, wsgm_fn_t *fn)
{
    wsgm_view_t v = wsgm_recipe_only(rc, d->id);
    const char *u1 = strcmp(path, "/") ? apr_pstrcat(rc->p, path, "/x/y", NULL)
                                       : "/x/y";
    const char *uri = u1, *why = NULL;
    const wsgm_out_t *o = wsgm_recipe_outcome(rc, &v, d->host, WSGM_CLS_W1,
                                              u1);

    if (o == NULL) {
        return "where it sends requests depends on other conditions";
    }
    if (o->kind == WSGM_OUT_LOCAL) {
        uri = path;
        o = wsgm_recipe_outcome(rc, &v, d->host, WSGM_CLS_W1, path);
        if (o == NULL) {
            return "where it sends requests depends on other conditions";
        }
    }
    if (o->kind != WSGM_OUT_TUNNEL && o->kind != WSGM_OUT_NOUP) {
        return o->kind == WSGM_OUT_LOCAL
               ? apr_psprintf(rc->p, "its pattern matches neither %s nor %s",
                              path, u1)
               : "its target depends on the request in a way WSGatewayPass "
                 "cannot express (a variable or back-reference outside the "
                 "path)";
    }
    if (wsgm_recipe_written(rc, d, fn) != 0) {
        return "its backend host depends on the request";
    }
    fn->origin = apr_pstrdup(rc->p, o->origin);
    fn->tls = o->tls;
    fn->base = wsgm_recipe_base(rc, path, uri, o, &why);
    return fn->base ? NULL : why;
}

/* Can directive @a d be removed as part of a recipe? */
static int wsgm_recipe_removable(wsgm_rc_t *rc, const wsgm_dir_t *d)
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
static int wsgm_recipe_is_candidate(wsgm_rc_t *rc, const wsgm_dir_t *d)
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
            || wsgm_url_parse(rc->tmp, r->sem[1].subst, &u) != 0
            || !u.known) {
            return 0;
        }
        if (u.ws) {
            return 1;
        }
        return wsgm_sim_conds_accept(rc->tmp, rc->m, r, 1, WSGM_CLS_W1) != 0
            && wsgm_sim_conds_accept(rc->tmp, rc->m, r, 1, WSGM_CLS_H) == 0;
    }
    return 0;
}

/* Reasons that rule a candidate out before any modelling. */
static const char *wsgm_recipe_precheck(wsgm_rc_t *rc, const wsgm_dir_t *d)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, d->host);
    const wsgm_host_t *main_h = wsgm_recipe_host(rc, 0);
    int i;

    if (h->proxy_requests || main_h->proxy_requests) {
        const wsgm_host_t *ph = h->proxy_requests ? h : main_h;

        return apr_psprintf(rc->p, "'ProxyRequests On' (%s:%d) makes this "
                            "server a forward proxy too; WSGatewayPass cannot "
                            "be proven equivalent there",
                            ph->proxy_requests_at.file->display,
                            wsgm_conf_item(ph->proxy_requests_at.file,
                                           ph->proxy_requests_at.item)->line);
    }
    if (d->kind == WSGM_D_RULE) {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        int engine;

        if (r->unprovable) {
            return apr_psprintf(rc->p, "the [%s] flag has no WSGatewayPass "
                                "equivalent", r->unprovable);
        }
        if (d->loc >= 0) {
            engine = APR_ARRAY_IDX(h->locs, d->loc, wsgm_loc_t *)->engine;
        }
        else {
            engine = h->engine >= 0 ? h->engine
                     : d->host > 0 ? main_h->engine : -1;
        }
        if (engine == 0) {
            return "RewriteEngine is off here, so this rule never ran; "
                   "WSGatewayPass would switch it on";
        }
        for (i = 0; i < r->conds->nelts; ++i) {
            const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);

            if (c->sem[1].test == WSGM_TEST_OTHER
                || c->sem[1].ptype == WSGM_PT_OTHER
                || (c->sem[1].ptype == WSGM_PT_REGEX && !c->sem[1].re.ok)) {
                return apr_psprintf(rc->p, "the extra condition at line %d "
                                    "('%s') has no WSGatewayPass equivalent",
                                    wsgm_conf_item(c->at.file,
                                                   c->at.item)->line,
                                    c->raw);
            }
        }
        if (d->loc < 0 && !r->sem[1].re.ok) {
            return apr_psprintf(rc->p, "the pattern '%s' uses regular "
                                "expression features this tool does not "
                                "evaluate", r->sem[1].pattern);
        }
    }
    if (d->kind == WSGM_D_PP) {
        const wsgm_pp_t *pp = (const wsgm_pp_t *)d;

        if (pp->opaque) {
            return apr_psprintf(rc->p, "'%s' has no WSGatewayPass equivalent",
                                pp->opaque);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Proposals                                                             */

/* The string mod_ws_gateway registers with ProxyPassReverse for @a f. */
static const char *wsgm_recipe_reverse(apr_pool_t *p, const wsgm_fn_t *f)
{
    return apr_pstrcat(p, f->tls ? "https" : "http", "://", f->origin,
                       *f->base ? f->base : "/", NULL);
}

/* ProxyPassReverse lines the new line makes redundant. */
static void wsgm_recipe_add_pprs(wsgm_rc_t *rc, wsgm_prop_t *pr,
                                 const wsgm_fn_t *w, const wsgm_fn_t *hfn)
{
    const wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
    const char *fake = pr->loc >= 0 ? NULL
                       : strcmp(pr->path, "/") ? apr_pstrcat(rc->p, pr->path,
                                                             "/", NULL)
                       : "/";
    const char *real = wsgm_recipe_reverse(rc->p, hfn);
    int i;

    for (i = 0; i < h->ppr->nelts; ++i) {
        const wsgm_ppr_t *r = APR_ARRAY_IDX(h->ppr, i, wsgm_ppr_t *);
        const char *np;

        if (r->d.loc != pr->loc || rc->removed[r->d.id] || !r->url_ok) {
            continue;
        }
        np = wsgw_map_normalize(rc->p, r->path);
        if (r->url.ws && r->url.tls == w->tls
            && !strcmp(r->url.origin, w->origin) && np
            && !strcmp(np, pr->path)) {
            APR_ARRAY_PUSH(pr->remove, int) = r->d.id;     /* dead: ws:// */
            continue;
        }
        if (!strcasecmp(r->url_raw, real)
            && (pr->loc >= 0 || !strcmp(r->path, fake))) {
            APR_ARRAY_PUSH(pr->remove, int) = r->d.id;
        }
    }
}

static wsgm_prop_t *wsgm_recipe_prop(wsgm_rc_t *rc, const char *label,
                                     const wsgm_dir_t *d, const char *path,
                                     const wsgm_fn_t *w, const wsgm_fn_t *hfn,
                                     int keep_scheme, const char *params)
{
    wsgm_prop_t *pr = apr_pcalloc(rc->p, sizeof(*pr));
    wsgm_gw_t *g = apr_pcalloc(rc->p, sizeof(*g));
    const char *url = wsgm_recipe_fn_url(rc->p, w, 1, keep_scheme);
    const char *args;

    pr->label = label;
    pr->host = d->host;
    pr->loc = d->loc;
    pr->path = path;
    pr->remove = apr_array_make(rc->p, 4, sizeof(int));
    pr->notes = apr_array_make(rc->p, 2, sizeof(const char *));
    pr->warns = apr_array_make(rc->p, 2, sizeof(const char *));
    args = d->loc >= 0 ? wsgm_recipe_quote(rc->p, url)
                       : apr_pstrcat(rc->p, wsgm_recipe_quote(rc->p, path),
                                     " ", wsgm_recipe_quote(rc->p, url), NULL);
    if (hfn && !wsgm_recipe_same_fn(w, hfn)) {
        args = apr_pstrcat(rc->p, args, " ",
                           wsgm_recipe_quote(rc->p,
                                             apr_pstrcat(rc->p, "http=",
                                                         wsgm_recipe_fn_url(
                                                             rc->p, hfn, 0,
                                                             0),
                                                         NULL)),
                           NULL);
    }
    if (params && *params) {
        args = apr_pstrcat(rc->p, args, " ", params, NULL);
    }
    pr->args = args;

    g->d.kind = WSGM_D_GW;
    g->d.host = d->host;
    g->d.loc = d->loc;
    g->d.is_new = 1;
    g->d.at = d->at;
    g->args = args;
    if (wsgm_model_parse_gw(rc->m, g, args,
                            d->loc >= 0
                            ? APR_ARRAY_IDX(wsgm_recipe_host(rc, d->host)->locs,
                                            d->loc, wsgm_loc_t *)->path
                            : NULL) != 0) {
        pr->fail = apr_psprintf(rc->p, "the line 'WSGatewayPass %s' would not "
                                "parse", args);
    }
    pr->gw = g;
    APR_ARRAY_PUSH(pr->remove, int) = d->id;
    wsgm_recipe_add_pprs(rc, pr, w, hfn ? hfn : w);
    return pr;
}

/* ------------------------------------------------------------------ */
/* Verification                                                          */

typedef struct wsgm_chk_t {
    wsgm_rc_t        *rc;
    wsgm_prop_t      *pr;
    const wsgm_view_t *P;
    int               host;
    wsgm_cls_e        cls;
    const wsgm_probe_t *probe;
} wsgm_chk_t;

/* Evaluate or report the variable to assign first (returns it, or -1). */
#define WSGM_EVAL(view, c, out) do {                                        \
        int need_ = -1;                                                     \
        if (wsgm_sim_eval(ck->rc->tmp, ck->rc->m, (view), ck->host, (c),   \
                          ck->probe->uri, ck->rc->assign, &need_, (out)))  \
            return need_;                                                   \
    } while (0)

static const char *wsgm_recipe_collapse(apr_pool_t *p, const char *s)
{
    char *d = apr_pstrdup(p, s), *o = d;
    const char *c;

    for (c = s; *c; ++c) {
        if (*c == '/' && c[1] == '/') {
            continue;
        }
        *o++ = *c;
    }
    *o = '\0';
    return d;
}

static int wsgm_recipe_proxied(const wsgm_out_t *o)
{
    return o->kind == WSGM_OUT_TUNNEL || o->kind == WSGM_OUT_HTTP
        || o->kind == WSGM_OUT_NOUP;
}

/*
 * One assignment of one probe: -1 when judged (a failure is recorded in
 * the proposal), else a variable to assign.
 */
static int wsgm_recipe_leaf(wsgm_chk_t *ck)
{
    wsgm_rc_t *rc = ck->rc;
    wsgm_prop_t *pr = ck->pr;
    wsgm_out_t I, N, P, I1, P1, IH;
    const char *uri = ck->probe->uri;

    WSGM_EVAL(&rc->I, ck->cls, &I);
    WSGM_EVAL(&rc->N, ck->cls, &N);
    WSGM_EVAL(ck->P, ck->cls, &P);
    if (wsgm_sim_same(&P, &N) || wsgm_sim_same(&P, &I)) {
        return -1;
    }
    /* a handshake that was forwarded without the upgrade is tunnelled */
    if (WSGM_CLS_IS_WS(ck->cls) && I.kind == WSGM_OUT_NOUP
        && P.kind == WSGM_OUT_TUNNEL && I.tls == P.tls
        && !strcmp(I.origin, P.origin) && !strcmp(I.path, P.path)) {
        if (ck->cls == WSGM_CLS_W1 && I.src >= 0) {
            const wsgm_dir_t *sd = wsgm_recipe_dir(rc, I.src);

            pr->upgraded = 1;
            wsgm_recipe_push(pr->notes, apr_psprintf(rc->p,
                "WebSocket handshakes that the %s at line %d forwarded to "
                "%s://%s without the upgrade are now tunnelled",
                wsgm_recipe_item(sd)->name, wsgm_recipe_item(sd)->line,
                I.tls ? "https" : "http", I.origin));
        }
        return -1;
    }
    /* spellings of the handshake the old conditions missed */
    if ((ck->cls == WSGM_CLS_W2 || ck->cls == WSGM_CLS_W3)
        && (I.kind == WSGM_OUT_NOUP || I.kind == WSGM_OUT_LOCAL)) {
        WSGM_EVAL(&rc->I, WSGM_CLS_W1, &I1);
        WSGM_EVAL(ck->P, WSGM_CLS_W1, &P1);
        if (wsgm_sim_same(&P, &P1) && wsgm_sim_same(&P1, &I1)) {
            if (ck->cls == WSGM_CLS_W2) {
                pr->missed_case = 1;
            }
            else {
                pr->missed_ff = 1;
            }
            return -1;
        }
    }
    /* the new PATH covers a path nothing proxied before */
    if (I.kind == WSGM_OUT_LOCAL && wsgm_recipe_proxied(&P)
        && P.src == pr->gw->d.id) {
        WSGM_EVAL(&rc->I, WSGM_CLS_W1, &I1);
        WSGM_EVAL(&rc->I, WSGM_CLS_H, &IH);
        if (I1.kind == WSGM_OUT_LOCAL && IH.kind == WSGM_OUT_LOCAL) {
            if (ck->probe->kind == WSGM_PK_SEG) {
                pr->shallow = 1;
            }
            else {
                wsgm_recipe_push(pr->warns, apr_psprintf(rc->p,
                    "requests to %s and below, which this server answered "
                    "itself, now go to the backend too (the old rules did "
                    "not cover them)", uri));
            }
            return -1;
        }
    }
    /* loose or unanchored patterns matched more than PATH */
    if (P.kind == WSGM_OUT_LOCAL && wsgm_recipe_proxied(&I) && I.src >= 0
        && wsgm_recipe_has(pr->remove, I.src)
        && (ck->probe->kind == WSGM_PK_LOOSE
            || ck->probe->kind == WSGM_PK_UNANCH)) {
        wsgm_recipe_push(pr->warns, apr_psprintf(rc->p,
            ck->probe->kind == WSGM_PK_LOOSE
            ? "the old pattern also matched paths that merely begin with %s "
              "(such as %s); WSGatewayPass %s matches whole path segments "
              "only, so those are no longer proxied"
            : "the old pattern was not anchored and also matched %s inside "
              "longer paths (such as %s); WSGatewayPass matches at the start "
              "of the path only, so those are no longer proxied",
            pr->path, uri, pr->path));
        return -1;
    }
    /* "//" in the old target */
    if (wsgm_recipe_proxied(&I) && wsgm_recipe_proxied(&P)
        && I.tls == P.tls && !strcmp(I.origin, P.origin)
        && strstr(I.path, "//")
        && !strcmp(wsgm_recipe_collapse(rc->tmp, I.path), P.path)
        && (I.kind == P.kind
            || (I.kind == WSGM_OUT_NOUP && P.kind == WSGM_OUT_TUNNEL))) {
        wsgm_recipe_push(pr->warns, apr_psprintf(rc->p,
            "the old target doubled a slash (%s became %s); the backend now "
            "gets %s", uri, I.path, P.path));
        return -1;
    }
    if (pr->fail == NULL) {
        const wsgm_host_t *h = wsgm_recipe_host(rc, ck->host);

        pr->fail = apr_psprintf(rc->p, "%s to %s%s would be %s instead of %s",
                                wsgm_sim_class_name(ck->cls), uri,
                                rc->m->hosts->nelts > 1
                                ? apr_pstrcat(rc->p, " in the ", h->name,
                                              NULL)
                                : "",
                                wsgm_sim_describe(rc->p, rc->m, &P),
                                wsgm_sim_describe(rc->p, rc->m, &I));
    }
    return -1;
}

/* Judge a proposal: fills pr->fail, notes and warnings. */
static void wsgm_recipe_verify(wsgm_rc_t *rc, wsgm_prop_t *pr)
{
    wsgm_view_t P;
    wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
    apr_array_header_t *list;
    int i, hi, c, pi;

    if (pr->fail) {
        return;
    }
    /* the new line joins the model for the time of the check */
    pr->gw->d.id = rc->m->dirs->nelts;
    list = pr->loc >= 0 ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw
                        : h->gw;
    APR_ARRAY_PUSH(list, wsgm_gw_t *) = pr->gw;

    P.n = rc->cap;
    P.intended = 0;
    P.active = apr_pmemdup(rc->p, rc->N.active, (apr_size_t)rc->cap);
    for (i = 0; i < pr->remove->nelts; ++i) {
        P.active[APR_ARRAY_IDX(pr->remove, i, int)] = 0;
    }
    P.active[pr->gw->d.id] = 1;

    for (hi = 0; hi < rc->m->hosts->nelts && !pr->fail; ++hi) {
        apr_array_header_t *probes = rc->probes[hi];

        if (pr->host != 0 && hi != pr->host) {
            continue;   /* only the main server's lines reach other hosts */
        }
        for (pi = 0; pi < probes->nelts && !pr->fail; ++pi) {
            for (c = 0; c < WSGM_NCLS && !pr->fail; ++c) {
                wsgm_chk_t ck;
                apr_array_header_t *stack;
                int leaves = 0;

                ck.rc = rc;
                ck.pr = pr;
                ck.P = &P;
                ck.host = hi;
                ck.cls = (wsgm_cls_e)c;
                ck.probe = &APR_ARRAY_IDX(probes, pi, wsgm_probe_t);
                apr_pool_clear(rc->tmp);
                stack = apr_array_make(rc->tmp, 4, sizeof(int));
                for (;;) {
                    int need = wsgm_recipe_leaf(&ck);

                    if (need >= 0) {
                        rc->assign[need] = 0;
                        APR_ARRAY_PUSH(stack, int) = need;
                        continue;
                    }
                    if (pr->fail) {
                        break;
                    }
                    if (++leaves > WSGM_RECIPE_MAX_LEAVES) {
                        pr->fail = "too many conditions to follow";
                        break;
                    }
                    while (stack->nelts
                           && rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1,
                                                       int)] == 1) {
                        rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1,
                                                 int)] = -1;
                        --stack->nelts;
                    }
                    if (stack->nelts == 0) {
                        break;
                    }
                    rc->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)] = 1;
                }
                while (stack->nelts) {
                    rc->assign[APR_ARRAY_IDX(stack, --stack->nelts, int)] = -1;
                }
            }
        }
    }
    --list->nelts;
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

static int wsgm_recipe_cmp_dir(const wsgm_rc_t *rc, const wsgm_dir_t *a,
                               const wsgm_dir_t *b)
{
    int fa = 0, fb = 0, i;

    for (i = 0; i < rc->m->files->nelts; ++i) {
        const wsgm_file_t *f = APR_ARRAY_IDX(rc->m->files, i, wsgm_file_t *);

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
static void wsgm_recipe_explain(wsgm_rc_t *rc, const wsgm_dir_t *d,
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

static void wsgm_recipe_accept(wsgm_rc_t *rc, wsgm_prop_t *pr)
{
    wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
    apr_array_header_t *list;
    const wsgm_dir_t *place = NULL;
    const char *what = "", *extra = "";
    int i;

    wsgm_model_add(rc->m, &pr->gw->d);
    list = pr->loc >= 0 ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw
                        : h->gw;
    APR_ARRAY_PUSH(list, wsgm_gw_t *) = pr->gw;
    rc->N.active[pr->gw->d.id] = 1;
    for (i = 0; i < pr->remove->nelts; ++i) {
        const wsgm_dir_t *d = wsgm_recipe_dir(rc,
                                              APR_ARRAY_IDX(pr->remove, i,
                                                            int));

        rc->N.active[d->id] = 0;
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
    APR_ARRAY_PUSH(rc->accepted, wsgm_prop_t *) = pr;
    rc->out->converted++;

    /* the message */
    {
        apr_array_header_t *ds = apr_array_make(rc->tmp, 4,
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
            what = apr_pstrcat(rc->p, what, i ? ", " : "",
                               wsgm_recipe_describe_dir(
                                   rc->p, APR_ARRAY_IDX(ds, i,
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
                if (strstr(r->sem[1].subst, "ws://")
                    || strstr(r->sem[1].subst, "wss://")) {
                    rc->out->used_wstunnel = 1;
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
            extra = apr_pstrcat(rc->p, extra, "; before this change httpd "
                                "refused the configuration ('apachectl -t' "
                                "failed)", NULL);
        }
        else if (broken) {
            const char *u = strcmp(pr->path, "/")
                            ? apr_pstrcat(rc->p, pr->path, "/x", NULL) : "/x";
            int c;

            for (c = 0; c < WSGM_NCLS; c += WSGM_CLS_H) {
                const wsgm_out_t *was = wsgm_recipe_outcome(rc, &rc->A,
                                                            pr->host,
                                                            (wsgm_cls_e)c, u);
                const wsgm_out_t *now;

                if (was == NULL) {
                    continue;
                }
                was = apr_pmemdup(rc->p, was, sizeof(*was));
                now = wsgm_recipe_outcome(rc, &rc->N, pr->host,
                                          (wsgm_cls_e)c, u);
                if (now && !wsgm_sim_same(was, now)) {
                    extra = apr_pstrcat(rc->p, extra, "; before this change ",
                                        wsgm_sim_class_name((wsgm_cls_e)c),
                                        " to ", u, " was ",
                                        wsgm_sim_describe(rc->p, rc->m, was),
                                        ", now it is ",
                                        wsgm_sim_describe(rc->p, rc->m, now),
                                        NULL);
                }
            }
        }
    }
    if (pr->shallow && strcmp(pr->path, "/")) {
        extra = apr_pstrcat(rc->p, extra, "; ", pr->path,
                            " itself is mapped too", NULL);
    }
    for (i = 0; i < pr->notes->nelts; ++i) {
        extra = apr_pstrcat(rc->p, extra, "; ",
                            APR_ARRAY_IDX(pr->notes, i, const char *), NULL);
    }
    if (pr->missed_case || pr->missed_ff) {
        extra = apr_pstrcat(rc->p, extra, "; handshakes with ",
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
    }
    for (i = 0; i < pr->remove->nelts; ++i) {
        wsgm_recipe_explain(rc, wsgm_recipe_dir(rc, APR_ARRAY_IDX(pr->remove,
                                                                  i, int)),
                            "; converted to what it evidently meant");
    }
}

/* ------------------------------------------------------------------ */
/* One candidate                                                         */

static void wsgm_recipe_refuse(wsgm_rc_t *rc, const wsgm_dir_t *d,
                               const char *why)
{
    wsgm_recipe_explain(rc, d, "");
    wsgm_msg_add(rc->msgs, WSGM_MSG_WARNING, wsgm_recipe_file(d),
                 wsgm_recipe_line(d), "not converted: %s", why);
}

/* Other candidates under @a path whose function agrees with @a w there. */
static void wsgm_recipe_absorb(wsgm_rc_t *rc, wsgm_prop_t *pr,
                               const wsgm_dir_t *d, const wsgm_fn_t *w)
{
    int id;

    for (id = 0; id < rc->norig; ++id) {
        const wsgm_dir_t *e = wsgm_recipe_dir(rc, id);
        const char *pe, *want;
        wsgm_fn_t fe;
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
        want = wsgw_map_join(rc->tmp, w->base, pe + plen);
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
static const wsgm_dir_t *wsgm_recipe_wider(wsgm_rc_t *rc, const wsgm_dir_t *d,
                                           const char *path,
                                           const wsgm_fn_t *w, wsgm_fn_t *hf)
{
    const char *u = strcmp(path, "/") ? apr_pstrcat(rc->p, path, "/x/y", NULL)
                                      : "/x/y";
    int id;

    for (id = 0; id < rc->norig; ++id) {
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
        v = wsgm_recipe_only(rc, id);
        o = wsgm_recipe_outcome(rc, &v, d->host, WSGM_CLS_H, u);
        if (o == NULL || o->kind != WSGM_OUT_HTTP || o->tls != w->tls
            || strcmp(o->origin, w->origin)) {
            continue;
        }
        base = wsgm_recipe_base(rc, path, u, o, &why);
        if (base == NULL || !wsgm_recipe_same_base(base, w->base)
            || wsgm_recipe_written(rc, e, hf) != 0) {
            continue;
        }
        hf->origin = apr_pstrdup(rc->p, o->origin);
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

static void wsgm_recipe_candidate(wsgm_rc_t *rc, const wsgm_dir_t *d)
{
    const char *why, *path, *ps = NULL;
    wsgm_fn_t w, hf;
    apr_array_header_t *outs;
    apr_array_header_t *props = apr_array_make(rc->p, 2,
                                               sizeof(wsgm_prop_t *));
    const wsgm_dir_t *s = NULL;
    const char *probes[3];
    int i, j, keep = 1, s_removable;
    wsgm_prop_t *best = NULL;

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
    probes[0] = strcmp(path, "/") ? apr_pstrcat(rc->p, path, "/x/y", NULL)
                                  : "/x/y";
    probes[1] = path;
    probes[2] = strcmp(path, "/") ? apr_pstrcat(rc->p, path, "/", NULL) : "/x";
    memset(&hf, 0, sizeof(hf));
    {
        int nlocal = 0, nhttp = 0;
        const wsgm_out_t *other = NULL, *first = NULL;
        const char *first_uri = NULL;

        for (i = 0; i < 3; ++i) {
            outs = wsgm_recipe_outcomes(rc, &rc->I, d->host, WSGM_CLS_H,
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
                        wsgm_out_t *cp = apr_pmemdup(rc->p, o, sizeof(*o));

                        cp->origin = apr_pstrdup(rc->p, o->origin);
                        cp->path = apr_pstrdup(rc->p, o->path);
                        first = cp;
                        first_uri = probes[i];
                    }
                }
                else if (other == NULL) {
                    wsgm_out_t *cp = apr_pmemdup(rc->p, o, sizeof(*o));

                    other = cp;
                }
            }
        }
        if (other) {
            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->p,
                "ordinary requests under %s are %s, which WSGatewayPass "
                "cannot take over", path,
                wsgm_sim_describe(rc->p, rc->m, other)));
            return;
        }
        if (nhttp == 0) {
            const char *url = wsgm_recipe_fn_url(rc->p, &w, 1, 1);

            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->p,
                "only WebSocket handshakes under %s were proxied; ordinary "
                "requests there were answered by this server, and "
                "WSGatewayPass sends them to the backend too (or, with "
                "http=off, answers 426). If nothing else lives under %s, "
                "write 'WSGatewayPass %s%s%s http=off' yourself", path, path,
                d->loc >= 0 ? "" : path, d->loc >= 0 ? "" : " ", url));
            return;
        }
        if (nlocal) {
            wsgm_recipe_refuse(rc, d, apr_psprintf(rc->p,
                "ordinary requests under %s are partly proxied (%s) and "
                "partly answered by this server", path,
                wsgm_sim_describe(rc->p, rc->m, first)));
            return;
        }
        s = wsgm_recipe_dir(rc, first->src);
        hf.origin = first->origin;
        hf.tls = first->tls;
        {
            const char *bw = NULL;

            hf.base = wsgm_recipe_base(rc, path, first_uri, first, &bw);
            if (hf.base == NULL) {
                wsgm_recipe_refuse(rc, d, apr_psprintf(rc->p,
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
        wsgm_fn_t wf;
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
        wsgm_fn_t wa = w, ha = hf;

        if (bl >= sl && !strcmp(w.base + bl - sl, suffix)
            && strlen(hf.base) >= sl
            && !strcmp(hf.base + strlen(hf.base) - sl, suffix)) {
            wsgm_prop_t *pa;

            wa.base = apr_pstrmemdup(rc->p, w.base, bl - sl);
            ha.base = apr_pstrmemdup(rc->p, hf.base, strlen(hf.base) - sl);
            pa = wsgm_recipe_prop(rc, "A", d, ps, &wa, &ha, keep,
                                  wsgm_recipe_params(d));
            APR_ARRAY_PUSH(pa->remove, int) = s->id;
            wsgm_recipe_absorb(rc, pa, d, &wa);
            APR_ARRAY_PUSH(props, wsgm_prop_t *) = pa;
        }
    }
    /* B: one line for PATH */
    {
        wsgm_prop_t *pb = wsgm_recipe_prop(rc, "B", d, path, &w, &hf, keep,
                                           wsgm_recipe_params(d));

        if (s_removable && !strcmp(ps, path)) {
            APR_ARRAY_PUSH(pb->remove, int) = s->id;
        }
        APR_ARRAY_PUSH(props, wsgm_prop_t *) = pb;
    }
    /* a PATH already mapped cannot be mapped twice */
    for (i = 0; i < props->nelts; ++i) {
        wsgm_prop_t *pr = APR_ARRAY_IDX(props, i, wsgm_prop_t *);
        wsgm_host_t *h = wsgm_recipe_host(rc, pr->host);
        apr_array_header_t *gws = pr->loc >= 0
            ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw : h->gw;

        for (j = 0; j < gws->nelts; ++j) {
            const wsgm_gw_t *g = APR_ARRAY_IDX(gws, j, wsgm_gw_t *);

            if (rc->N.active[g->d.id] && (pr->loc >= 0
                                          || !strcmp(g->path, pr->path))) {
                pr->fail = apr_psprintf(rc->p, "%s is already mapped by "
                                        "WSGatewayPass (%s:%d)", pr->path,
                                        g->d.at.file->display,
                                        wsgm_conf_item(g->d.at.file,
                                                       g->d.at.item)->line);
            }
        }
        wsgm_recipe_verify(rc, pr);
        if (!pr->fail && (best == NULL
                          || pr->warns->nelts < best->warns->nelts)) {
            best = pr;
        }
    }
    if (best == NULL) {
        wsgm_prop_t *pb = APR_ARRAY_IDX(props, props->nelts - 1,
                                        wsgm_prop_t *);

        wsgm_recipe_refuse(rc, d, pb->fail);
        return;
    }
    wsgm_recipe_accept(rc, best);
}

/* ------------------------------------------------------------------ */
/* Edits and hints                                                       */

static apr_array_header_t *wsgm_recipe_edits_of(wsgm_rc_t *rc,
                                                wsgm_file_t *f)
{
    apr_array_header_t *e = apr_hash_get(rc->out->edits, &f, sizeof(f));

    if (e == NULL) {
        wsgm_file_t **key = apr_palloc(rc->p, sizeof(*key));

        *key = f;
        e = wsgm_edit_list(rc->p);
        apr_hash_set(rc->out->edits, key, sizeof(*key), e);
    }
    return e;
}

/* Replace (or delete, @a text NULL) the lines of item @a i of @a f. */
static void wsgm_recipe_edit_item(wsgm_rc_t *rc, wsgm_file_t *f, int i,
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

static void wsgm_recipe_edits(wsgm_rc_t *rc)
{
    int i, j, k;

    for (i = 0; i < rc->accepted->nelts; ++i) {
        const wsgm_prop_t *pr = APR_ARRAY_IDX(rc->accepted, i, wsgm_prop_t *);
        wsgm_file_t *pf = pr->gw->d.at.file;
        const wsgm_item_t *pit = wsgm_conf_item(pf, pr->gw->d.at.item);
        const char *eol = wsgm_conf_line_eol(pf, pit->first + pit->nlines - 1);
        int pi;

        wsgm_recipe_edit_item(rc, pf, pr->gw->d.at.item,
                              apr_pstrcat(rc->p, pit->indent, "WSGatewayPass ",
                                          pr->args, *eol ? eol : "", NULL));
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
                const char *g = apr_psprintf(rc->p, "<IfModule %s> at %s "
                                             "(around the WSGatewayPass at "
                                             "line %d)", sec->args,
                                             wsgm_recipe_loc_of(rc->p, pf, pi),
                                             pit->line);

                wsgm_recipe_push(rc->out->guards, g);
            }
        }
    }
}

/* What still needs mod_rewrite or mod_proxy_wstunnel after the edits. */
static void wsgm_recipe_leftovers(wsgm_rc_t *rc)
{
    int fi, i, j;

    for (fi = 0; fi < rc->m->files->nelts; ++fi) {
        wsgm_file_t *f = APR_ARRAY_IDX(rc->m->files, fi, wsgm_file_t *);
        apr_array_header_t *edits = apr_hash_get(rc->out->edits, &f,
                                                 sizeof(f));

        for (i = 0; i < f->items->nelts; ++i) {
            const wsgm_item_t *it = wsgm_conf_item(f, i);
            int gone = 0;

            if (it->kind != WSGM_ITEM_DIRECTIVE && it->kind != WSGM_ITEM_OPEN) {
                continue;
            }
            for (j = 0; edits && j < edits->nelts; ++j) {
                const wsgm_edit_t *e = &APR_ARRAY_IDX(edits, j, wsgm_edit_t);

                if (e->first == it->first && e->count == it->nlines) {
                    gone = 1;
                }
            }
            if (gone) {
                continue;
            }
            if (rc->out->rewrite_left == NULL
                && (!strcasecmp(it->name, "RewriteRule")
                    || !strcasecmp(it->name, "RewriteMap"))) {
                rc->out->rewrite_left = wsgm_recipe_loc_of(rc->p, f, i);
            }
            if (rc->out->wstunnel_left == NULL
                && strcasecmp(it->name, "WSGatewayPass")
                && (strstr(it->args, "ws://") || strstr(it->args, "wss://")
                    || strstr(it->args, "WS://") || strstr(it->args, "WSS://")
                    || strstr(it->args, "ws:/"))) {
                rc->out->wstunnel_left = wsgm_recipe_loc_of(rc->p, f, i);
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
    wsgm_rc_t rc;
    int id;

    memset(&rc, 0, sizeof(rc));
    rc.p = p;
    apr_pool_create(&rc.tmp, p);
    rc.m = m;
    rc.msgs = m->msgs;
    rc.out = out;
    rc.norig = m->dirs->nelts;
    rc.cap = rc.norig * 2 + 16;
    rc.I.n = rc.N.n = rc.cap;
    rc.I.active = apr_pcalloc(p, (apr_size_t)rc.cap);
    rc.N.active = apr_pcalloc(p, (apr_size_t)rc.cap);
    memset(rc.I.active, 1, (apr_size_t)rc.norig);
    memset(rc.N.active, 1, (apr_size_t)rc.norig);
    rc.I.intended = 1;
    rc.N.intended = 0;
    rc.A.n = rc.cap;
    rc.A.active = apr_pmemdup(p, rc.N.active, (apr_size_t)rc.cap);
    rc.A.intended = 0;
    rc.assign = apr_palloc(p, (apr_size_t)m->nvars + 1);
    memset(rc.assign, -1, (apr_size_t)m->nvars + 1);
    rc.said = apr_pcalloc(p, (apr_size_t)rc.cap);
    rc.removed = apr_pcalloc(p, (apr_size_t)rc.cap);
    rc.accepted = apr_array_make(p, 4, sizeof(wsgm_prop_t *));
    wsgm_recipe_make_probes(&rc);

    for (id = 0; id < rc.norig; ++id) {
        const wsgm_dir_t *d = wsgm_recipe_dir(&rc, id);

        if (rc.removed[id] || !wsgm_recipe_is_candidate(&rc, d)) {
            continue;
        }
        if (m->dirs->nelts - rc.norig + rc.norig >= rc.cap - 1) {
            break;  /* cannot happen: at most one new line per candidate */
        }
        wsgm_recipe_candidate(&rc, d);
    }
    /* broken variants outside converted recipes: say what they did */
    for (id = 0; id < rc.norig; ++id) {
        const wsgm_dir_t *d = wsgm_recipe_dir(&rc, id);

        if (!rc.removed[id] && !rc.said[id]) {
            wsgm_recipe_explain(&rc, d, "; left as it was");
        }
    }
    wsgm_recipe_edits(&rc);
    wsgm_recipe_leftovers(&rc);
    apr_pool_destroy(rc.tmp);
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
                     "('a2dismod proxy_wstunnel' unless other files use it)");
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
                     "rewrite' unless other files use it; their RewriteEngine "
                     "lines can go then)");
    }
    for (i = 0; i < out->guards->nelts; ++i) {
        wsgm_msg_add(msgs, WSGM_MSG_HINT, NULL, 0,
                     "%s: the new line takes effect only while that module is "
                     "loaded; keep it, or change the test to "
                     "<IfModule ws_gateway_module>",
                     APR_ARRAY_IDX(out->guards, i, const char *));
    }
}
