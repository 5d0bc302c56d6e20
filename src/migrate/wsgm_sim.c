/*
 * ws-gateway-migrate: request mapping model. See wsgm_sim.h.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgw_map.h"
#include "wsgm_sim.h"

/* Header values each request class carries. */
static const char *const wsgm_sim_upgrade[WSGM_NCLS] = {
    "websocket", "WebSocket", "websocket", "" };
static const char *const wsgm_sim_connection[WSGM_NCLS] = {
    "Upgrade", "Upgrade", "keep-alive, Upgrade", "keep-alive" };

/* Tri-state results while evaluating. */
#define WSGM_SIM_NO    0
#define WSGM_SIM_YES   1
#define WSGM_SIM_NEED  2

/* Evaluation state of one request. */
typedef struct wsgm_sim_req_t {
    apr_pool_t          *p;
    const wsgm_model_t  *m;
    const wsgm_view_t   *v;
    wsgm_cls_e           cls;
    const char          *uri;
    const signed char   *assign;
    int                  need;
} wsgm_sim_req_t;

static int wsgm_sim_active(const wsgm_sim_req_t *q, const wsgm_dir_t *d)
{
    return d->id < q->v->n && q->v->active[d->id];
}

/* The meaning in effect: intended only for original directives. */
static int wsgm_sim_sem(const wsgm_sim_req_t *q, const wsgm_dir_t *d)
{
    return q->v->intended && !d->is_new ? 1 : 0;
}

static int wsgm_sim_var(wsgm_sim_req_t *q, int var)
{
    if (var < 0 || q->assign[var] < 0) {
        q->need = var;
        return WSGM_SIM_NEED;
    }
    return q->assign[var] ? WSGM_SIM_YES : WSGM_SIM_NO;
}

int wsgm_sim_loc_covers(const char *path, const char *uri)
{
    apr_size_t len = strlen(path);

    if (strncmp(path, uri, len) != 0) {
        return 0;
    }
    return len == 0 || path[len - 1] == '/' || uri[len] == '/'
        || uri[len] == '\0';
}

apr_size_t wsgm_sim_alias_match(const char *uri, const char *fake)
{
    const char *a = fake, *u = uri;
    const char *ae = fake + strlen(fake), *ue = uri + strlen(uri);

    while (a < ae && u < ue) {
        if (*a == '/') {
            if (*u != '/') {
                return 0;
            }
            while (*a == '/') {
                ++a;
            }
            while (*u == '/') {
                ++u;
            }
        }
        else if (*u++ != *a++) {
            return 0;
        }
    }
    if (u == ue && a != ae) {
        return 0;
    }
    if (a > fake && a[-1] != '/' && *u != '\0' && *u != '/') {
        return 0;
    }
    return (apr_size_t)(u - uri);
}

/* ------------------------------------------------------------------ */
/* Outcomes of a backend URL                                             */

static unsigned long wsgm_sim_hash(unsigned long h, unsigned long v)
{
    return (h ^ v) * 1099511628211UL;
}

static void wsgm_sim_set(wsgm_out_t *o, wsgm_out_kind_e kind, int src)
{
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->src = src;
}

/*
 * What proxying to @a url means for this request class. @a upgrade: the
 * worker may upgrade plain http (ProxyPass upgrade=websocket).
 */
static void wsgm_sim_url_out(wsgm_sim_req_t *q, const char *url, int upgrade,
                             int src, wsgm_out_t *o)
{
    wsgm_url_t u;
    const char *path;

    if (wsgm_url_parse(q->p, url, &u) != 0) {
        wsgm_sim_set(o, WSGM_OUT_SELF, src);
        o->path = url;
        return;
    }
    if (!u.known) {
        wsgm_sim_set(o, WSGM_OUT_OPAQUE, src);
        return;
    }
    path = *u.path ? u.path : "/";
    if (u.query && *u.query) {
        path = apr_pstrcat(q->p, path, "?", u.query, NULL);
    }
    if (!WSGM_CLS_IS_WS(q->cls)) {
        wsgm_sim_set(o, WSGM_OUT_HTTP, src);
    }
    else if (u.ws || upgrade) {
        wsgm_sim_set(o, WSGM_OUT_TUNNEL, src);
    }
    else {
        wsgm_sim_set(o, WSGM_OUT_NOUP, src);
    }
    o->tls = u.tls;
    o->origin = u.origin;
    o->path = path;
}

/* ------------------------------------------------------------------ */
/* mod_rewrite                                                           */

static int wsgm_sim_cond(wsgm_sim_req_t *q, const wsgm_cond_t *c, int sem)
{
    const wsgm_csem_t *s = &c->sem[sem];
    const char *value;
    int r;

    if (s->refused) {
        return WSGM_SIM_NO;
    }
    if (s->empty) {
        value = "";
    }
    else {
        switch (s->test) {
        case WSGM_TEST_UPGRADE:
            value = wsgm_sim_upgrade[q->cls];
            break;
        case WSGM_TEST_CONNECTION:
            value = wsgm_sim_connection[q->cls];
            break;
        case WSGM_TEST_URI:
            if (q->uri == NULL) {
                return wsgm_sim_var(q, c->var);
            }
            value = q->uri;
            break;
        default:
            return wsgm_sim_var(q, c->var);
        }
    }
    if (s->ptype == WSGM_PT_STREQ) {
        r = s->nocase ? !strcasecmp(value, s->pat) : !strcmp(value, s->pat);
    }
    else if (s->ptype == WSGM_PT_REGEX && s->re.ok) {
        regmatch_t mt[WSGM_REGEX_MAX_GROUPS];

        r = wsgm_regex_match(&s->re, value, mt);
    }
    else {
        return wsgm_sim_var(q, c->var);
    }
    if (s->negate) {
        r = !r;
    }
    return r ? WSGM_SIM_YES : WSGM_SIM_NO;
}

/* All conditions of @a r, with [OR] chaining as mod_rewrite does it. */
static int wsgm_sim_conds(wsgm_sim_req_t *q, const wsgm_rule_t *r, int sem)
{
    int i, n = r->conds->nelts;

    for (i = 0; i < n; ++i) {
        const wsgm_cond_t *c = APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *);
        int rc = wsgm_sim_cond(q, c, sem);

        if (rc == WSGM_SIM_NEED) {
            return rc;
        }
        if (c->ornext) {
            if (rc == WSGM_SIM_NO) {
                continue;
            }
            while (i < n
                   && APR_ARRAY_IDX(r->conds, i, wsgm_cond_t *)->ornext) {
                ++i;
            }
        }
        else if (rc == WSGM_SIM_NO) {
            return WSGM_SIM_NO;
        }
    }
    return WSGM_SIM_YES;
}

/* Expand a substitution; NULL when it needs something we cannot know. */
static const char *wsgm_sim_expand(wsgm_sim_req_t *q, const char *subst,
                                   const char *matched, const regmatch_t *mt,
                                   int have_captures)
{
    const char *s = subst;
    char *out;
    apr_size_t len = 0, cap = strlen(subst) + strlen(q->uri) * 4
                              + strlen(matched) * 4 + 16;
    apr_size_t n = strlen(s);

    if (n >= 16 && !strcmp(s + n - 16, "?%{QUERY_STRING}")) {
        s = apr_pstrmemdup(q->p, s, n - 16);   /* the default anyway */
    }
    out = apr_palloc(q->p, cap);
    while (*s) {
        const char *add = NULL;
        apr_size_t addn = 0;

        if (*s == '\\' && s[1]) {
            add = s + 1;
            addn = 1;
            s += 2;
        }
        else if (*s == '$' && apr_isdigit(s[1])) {
            int g = s[1] - '0';

            if (!have_captures) {
                return NULL;
            }
            if (mt[g].rm_so >= 0) {
                add = matched + mt[g].rm_so;
                addn = (apr_size_t)(mt[g].rm_eo - mt[g].rm_so);
            }
            s += 2;
        }
        else if (*s == '%' && apr_isdigit(s[1])) {
            return NULL;
        }
        else if (*s == '%' && s[1] == '{') {
            const char *e = strchr(s, '}');

            if (e == NULL) {
                return NULL;
            }
            if (!strncasecmp(s, "%{REQUEST_URI}", 14)) {
                add = q->uri;
                addn = strlen(q->uri);
            }
            else {
                return NULL;
            }
            s = e + 1;
        }
        else if (*s == '$' && s[1] == '{') {
            return NULL;
        }
        else {
            add = s;
            addn = 1;
            s++;
        }
        if (len + addn + 1 > cap) {
            char *d = apr_palloc(q->p, (len + addn + 1) * 2);

            memcpy(d, out, len);
            out = d;
            cap = (len + addn + 1) * 2;
        }
        if (addn) {
            memcpy(out + len, add, addn);
            len += addn;
        }
    }
    out[len] = '\0';
    return out;
}

/* Fingerprint of the active rules after index @a i of @a list. */
static unsigned long wsgm_sim_tail(const wsgm_sim_req_t *q,
                                   const apr_array_header_t *list, int i)
{
    unsigned long h = 14695981039346656037UL;

    for (++i; i < list->nelts; ++i) {
        const wsgm_rule_t *r = APR_ARRAY_IDX(list, i, wsgm_rule_t *);

        if (wsgm_sim_active(q, &r->d)) {
            h = wsgm_sim_hash(h, (unsigned long)r->d.id + 1);
        }
    }
    return h;
}

/*
 * Run a rule list. Returns WSGM_SIM_YES with *o when a rule decided the
 * request, WSGM_SIM_NO when mapping continues, WSGM_SIM_NEED.
 */
static int wsgm_sim_rules(wsgm_sim_req_t *q, const apr_array_header_t *list,
                          int perdir, wsgm_out_t *o)
{
    const char *cur = q->uri;   /* what the patterns see: rewritten by rules
                                 * that let the next ones go on */
    int i, changed = -1;

    for (i = 0; i < list->nelts; ++i) {
        const wsgm_rule_t *r = APR_ARRAY_IDX(list, i, wsgm_rule_t *);
        int sem = wsgm_sim_sem(q, &r->d), match, have = 0, rc;
        const wsgm_rsem_t *s = &r->sem[sem];
        regmatch_t mt[WSGM_REGEX_MAX_GROUPS];
        const char *target;

        if (!wsgm_sim_active(q, &r->d) || r->refused) {
            continue;
        }
        if (perdir) {
            match = wsgm_regex_matches_all(&s->re)
                    ? WSGM_SIM_YES : wsgm_sim_var(q, r->var_pat);
        }
        else if (s->re.ok) {
            apr_size_t pl = strlen(s->re.prefix);

            /* cheap test first: an anchored literal prefix */
            if (pl && (r->f_nc ? strncasecmp(cur, s->re.prefix, pl)
                               : strncmp(cur, s->re.prefix, pl)) != 0) {
                match = WSGM_SIM_NO;
            }
            else {
                match = wsgm_regex_match(&s->re, cur, mt) ? WSGM_SIM_YES
                                                         : WSGM_SIM_NO;
            }
            have = !s->negate;
        }
        else {
            match = wsgm_sim_var(q, r->var_pat);
        }
        if (match == WSGM_SIM_NEED) {
            return match;
        }
        if (s->negate) {
            match = match == WSGM_SIM_YES ? WSGM_SIM_NO : WSGM_SIM_YES;
        }
        if (match == WSGM_SIM_NO) {
            continue;
        }
        rc = wsgm_sim_conds(q, r, sem);
        if (rc != WSGM_SIM_YES) {
            if (rc == WSGM_SIM_NEED) {
                return rc;
            }
            continue;
        }
        /* the rule applies */
        if (r->nosub) {
            if (r->f_redirect) {
                wsgm_sim_set(o, WSGM_OUT_OPAQUE, r->d.id);
                return WSGM_SIM_YES;
            }
            if (r->f_last) {
                return WSGM_SIM_NO;     /* mapping goes on elsewhere */
            }
            continue;
        }
        if (r->f_complex || r->f_pt) {
            wsgm_sim_set(o, WSGM_OUT_UNKNOWN, r->d.id);
            o->tail = wsgm_sim_tail(q, list, i);
            return WSGM_SIM_YES;
        }
        if (r->f_redirect) {
            wsgm_sim_set(o, WSGM_OUT_OPAQUE, r->d.id);
            return WSGM_SIM_YES;
        }
        if (r->f_proxy) {
            if (r->f_qsd) {
                wsgm_sim_set(o, WSGM_OUT_OPAQUE, r->d.id);
                return WSGM_SIM_YES;
            }
            target = wsgm_sim_expand(q, s->subst, cur, mt, have);
            if (target == NULL) {
                wsgm_sim_set(o, WSGM_OUT_OPAQUE, r->d.id);
                return WSGM_SIM_YES;
            }
            wsgm_sim_url_out(q, target, 0, r->d.id, o);
            return WSGM_SIM_YES;
        }
        /* a local rewrite */
        if (r->f_last || perdir) {
            wsgm_sim_set(o, WSGM_OUT_OPAQUE, r->d.id);
            return WSGM_SIM_YES;
        }
        target = wsgm_sim_expand(q, s->subst, cur, mt, have);
        if (target == NULL || target[0] != '/') {
            wsgm_sim_set(o, WSGM_OUT_UNKNOWN, r->d.id);
            o->tail = wsgm_sim_tail(q, list, i);
            return WSGM_SIM_YES;
        }
        /* the following rules see the new value */
        cur = apr_pstrndup(q->p, target, strcspn(target, "?"));
        changed = r->d.id;
    }
    if (changed >= 0) {
        /* mod_rewrite rewrote the request: no later mapping applies */
        wsgm_sim_set(o, WSGM_OUT_OPAQUE, changed);
        return WSGM_SIM_YES;
    }
    return WSGM_SIM_NO;
}

/* The server-context rule list of host @a h with RewriteOptions inherit. */
static apr_array_header_t *wsgm_sim_rule_list(wsgm_sim_req_t *q,
                                              const wsgm_host_t *h)
{
    const wsgm_host_t *main_h = APR_ARRAY_IDX(q->m->hosts, 0, wsgm_host_t *);
    int how = h->inherit ? h->inherit : main_h->inherit_down;

    if (h == main_h || how == 0 || main_h->rules->nelts == 0) {
        return h->rules;
    }
    if (how == 2) {
        return apr_array_append(q->p, main_h->rules, h->rules);
    }
    return apr_array_append(q->p, h->rules, main_h->rules);
}

/* ------------------------------------------------------------------ */
/* WSGatewayPass and ProxyPass                                           */

static void wsgm_sim_gw_out(wsgm_sim_req_t *q, const wsgm_gw_t *g,
                            apr_size_t mlen, wsgm_out_t *o)
{
    const char *rest = q->uri + mlen;

    if (WSGM_CLS_IS_WS(q->cls)) {
        wsgm_sim_set(o, WSGM_OUT_TUNNEL, g->d.id);
        o->tls = g->url.tls;
        o->origin = g->url.origin;
        o->path = wsgw_map_join(q->p, g->url.path, rest);
    }
    else if (g->http == WSGM_HTTP_OFF) {
        wsgm_sim_set(o, WSGM_OUT_426, g->d.id);
    }
    else {
        const wsgm_url_t *u = g->http == WSGM_HTTP_URL ? &g->http_url
                                                       : &g->url;

        wsgm_sim_set(o, WSGM_OUT_HTTP, g->d.id);
        o->tls = u->tls;
        o->origin = u->origin;
        o->path = wsgw_map_join(q->p, u->path, rest);
    }
}

/* The last active entry of a per-location list. */
static const wsgm_dir_t *wsgm_sim_last(const wsgm_sim_req_t *q,
                                       const apr_array_header_t *a)
{
    int i;

    for (i = a->nelts - 1; i >= 0; --i) {
        const wsgm_dir_t *d = APR_ARRAY_IDX(a, i, const wsgm_dir_t *);

        if (wsgm_sim_active(q, d)) {
            return d;
        }
    }
    return NULL;
}

/* Locations of host @a h as httpd merges them: the main server's first. */
static apr_array_header_t *wsgm_sim_locs(wsgm_sim_req_t *q,
                                         const wsgm_host_t *h)
{
    const wsgm_host_t *main_h = APR_ARRAY_IDX(q->m->hosts, 0, wsgm_host_t *);

    if (h == main_h) {
        return h->locs;
    }
    return apr_array_append(q->p, main_h->locs, h->locs);
}

static int wsgm_sim_module(wsgm_sim_req_t *q, const wsgm_host_t *h,
                           const apr_array_header_t *locs, wsgm_out_t *o)
{
    const wsgm_host_t *main_h = APR_ARRAY_IDX(q->m->hosts, 0, wsgm_host_t *);
    const wsgm_gw_t *best = NULL, *lg = NULL;
    apr_size_t blen = 0;
    int pass, i;

    for (pass = 0; pass < 2; ++pass) {
        const wsgm_host_t *hh = pass ? main_h : h;

        if (pass && h == main_h) {
            break;
        }
        for (i = 0; i < hh->gw->nelts; ++i) {
            const wsgm_gw_t *g = APR_ARRAY_IDX(hh->gw, i, wsgm_gw_t *);
            apr_size_t len;

            if (!wsgm_sim_active(q, &g->d) || (!g->url_ok && !g->excluded)) {
                continue;
            }
            len = strcmp(g->path, "/") ? strlen(g->path) : 0;
            if (wsgw_map_covers(g->path, len, q->uri)
                && (best == NULL || len > blen)) {
                best = g;
                blen = len;
            }
        }
    }
    for (i = 0; i < locs->nelts; ++i) {
        const wsgm_loc_t *l = APR_ARRAY_IDX(locs, i, wsgm_loc_t *);
        const wsgm_dir_t *d;

        if (wsgm_sim_loc_covers(l->path, q->uri)
            && (d = wsgm_sim_last(q, l->gw)) != NULL) {
            lg = (const wsgm_gw_t *)d;
        }
    }
    if (lg && lg->url_ok) {
        apr_size_t llen = strcmp(lg->path, "/") ? strlen(lg->path) : 0;

        if (wsgw_map_covers(lg->path, llen, q->uri)
            && (best == NULL || llen >= blen)) {
            best = lg;
            blen = llen;
        }
    }
    if (best == NULL || best->excluded) {
        return WSGM_SIM_NO;
    }
    wsgm_sim_gw_out(q, best, blen, o);
    return WSGM_SIM_YES;
}

/* One ProxyPass / ProxyPassMatch entry. */
static int wsgm_sim_pp(wsgm_sim_req_t *q, const wsgm_pp_t *pp, wsgm_out_t *o)
{
    if (pp->d.kind == WSGM_D_PPM) {
        regmatch_t mt[WSGM_REGEX_MAX_GROUPS];
        int match;

        if (pp->re.ok) {
            match = wsgm_regex_match(&pp->re, q->uri, mt) ? WSGM_SIM_YES
                                                         : WSGM_SIM_NO;
        }
        else {
            match = wsgm_sim_var(q, pp->var);
        }
        if (match != WSGM_SIM_YES) {
            return match;
        }
        if (pp->excluded) {
            wsgm_sim_set(o, WSGM_OUT_LOCAL, pp->d.id);
        }
        else {
            wsgm_sim_set(o, WSGM_OUT_OPAQUE, pp->d.id);
        }
        return WSGM_SIM_YES;
    }
    {
        apr_size_t len = wsgm_sim_alias_match(q->uri, pp->path);

        if (len == 0) {
            return WSGM_SIM_NO;
        }
        if (pp->excluded) {
            wsgm_sim_set(o, WSGM_OUT_LOCAL, pp->d.id);
            return WSGM_SIM_YES;
        }
        if (pp->opaque || !pp->url_ok
            || (pp->actual_bad && !wsgm_sim_sem(q, &pp->d))) {
            wsgm_sim_set(o, WSGM_OUT_OPAQUE, pp->d.id);
            return WSGM_SIM_YES;
        }
        wsgm_sim_url_out(q, apr_pstrcat(q->p, pp->url_intended,
                                        q->uri + len, NULL),
                         pp->upgrade, pp->d.id, o);
        return WSGM_SIM_YES;
    }
}

static int wsgm_sim_proxy(wsgm_sim_req_t *q, const wsgm_host_t *h,
                          const apr_array_header_t *locs, wsgm_out_t *o)
{
    const wsgm_host_t *main_h = APR_ARRAY_IDX(q->m->hosts, 0, wsgm_host_t *);
    const wsgm_pp_t *lp = NULL;
    apr_array_header_t *list;
    int i, rc;

    for (i = 0; i < locs->nelts; ++i) {
        const wsgm_loc_t *l = APR_ARRAY_IDX(locs, i, wsgm_loc_t *);
        const wsgm_dir_t *d;

        if (wsgm_sim_loc_covers(l->path, q->uri)
            && (d = wsgm_sim_last(q, l->pp)) != NULL) {
            lp = (const wsgm_pp_t *)d;
        }
    }
    if (lp) {
        rc = wsgm_sim_pp(q, lp, o);
        if (rc != WSGM_SIM_NO) {
            return rc;
        }
    }
    list = h == main_h ? h->pp : apr_array_append(q->p, main_h->pp, h->pp);
    if (q->v->intended && WSGM_CLS_IS_WS(q->cls)) {
        for (i = 0; i < list->nelts; ++i) {
            const wsgm_pp_t *pp = APR_ARRAY_IDX(list, i, wsgm_pp_t *);

            if (wsgm_sim_active(q, &pp->d) && pp->shadowed_by >= 0
                && !pp->d.is_new) {
                rc = wsgm_sim_pp(q, pp, o);
                if (rc != WSGM_SIM_NO) {
                    return rc;
                }
            }
        }
    }
    for (i = 0; i < list->nelts; ++i) {
        const wsgm_pp_t *pp = APR_ARRAY_IDX(list, i, wsgm_pp_t *);

        if (!wsgm_sim_active(q, &pp->d)) {
            continue;
        }
        rc = wsgm_sim_pp(q, pp, o);
        if (rc != WSGM_SIM_NO) {
            return rc;
        }
    }
    return WSGM_SIM_NO;
}

/* ------------------------------------------------------------------ */

int wsgm_sim_eval(apr_pool_t *p, const wsgm_model_t *m, const wsgm_view_t *v,
                  int host, wsgm_cls_e cls, const char *uri,
                  const signed char *assign, int *need, wsgm_out_t *out)
{
    wsgm_sim_req_t q;
    const wsgm_host_t *h = APR_ARRAY_IDX(m->hosts, host, wsgm_host_t *);
    const wsgm_host_t *main_h = APR_ARRAY_IDX(m->hosts, 0, wsgm_host_t *);
    apr_array_header_t *locs;
    int engine, rc, i;
    const wsgm_loc_t *rl = NULL;

    q.p = p;
    q.m = m;
    q.v = v;
    q.cls = cls;
    q.uri = uri;
    q.assign = assign;
    q.need = -1;
    wsgm_sim_set(out, WSGM_OUT_LOCAL, -1);
    locs = wsgm_sim_locs(&q, h);

    /* 1. mod_rewrite, server context (translate_name) */
    engine = h->engine >= 0 ? h->engine
             : (h != main_h && main_h->engine >= 0) ? main_h->engine : 1;
    rc = engine ? wsgm_sim_rules(&q, wsgm_sim_rule_list(&q, h), 0, out)
                : WSGM_SIM_NO;
    /* 2. mod_ws_gateway, 3. mod_proxy */
    if (rc == WSGM_SIM_NO) {
        rc = wsgm_sim_module(&q, h, locs, out);
    }
    if (rc == WSGM_SIM_NO) {
        rc = wsgm_sim_proxy(&q, h, locs, out);
    }
    if (rc == WSGM_SIM_NEED) {
        *need = q.need;
        return 1;
    }
    /* 4. per-directory mod_rewrite of the <Location> (fixups) */
    for (i = 0; i < locs->nelts; ++i) {
        const wsgm_loc_t *l = APR_ARRAY_IDX(locs, i, wsgm_loc_t *);

        if (wsgm_sim_loc_covers(l->path, uri) && wsgm_sim_last(&q, l->rules)
            && l->engine != 0) {
            rl = l;
        }
    }
    if (rl) {
        wsgm_out_t o2;

        rc = wsgm_sim_rules(&q, rl->rules, 1, &o2);
        if (rc == WSGM_SIM_NEED) {
            *need = q.need;
            return 1;
        }
        if (rc == WSGM_SIM_YES) {
            *out = o2;
        }
    }
    return 0;
}

int wsgm_sim_same(const wsgm_out_t *a, const wsgm_out_t *b)
{
    if (a->kind != b->kind) {
        return 0;
    }
    switch (a->kind) {
    case WSGM_OUT_LOCAL:
    case WSGM_OUT_426:
        return 1;
    case WSGM_OUT_OPAQUE:
        return a->src == b->src;
    case WSGM_OUT_UNKNOWN:
        return a->src == b->src && a->tail == b->tail;
    case WSGM_OUT_SELF:
        return 1;
    default:
        return a->tls == b->tls && !strcmp(a->origin, b->origin)
            && !strcmp(a->path, b->path);
    }
}

const char *wsgm_sim_class_name(wsgm_cls_e cls)
{
    switch (cls) {
    case WSGM_CLS_W1:
        return "a WebSocket handshake";
    case WSGM_CLS_W2:
        return "a WebSocket handshake with 'Upgrade: WebSocket'";
    case WSGM_CLS_W3:
        return "a WebSocket handshake with 'Connection: keep-alive, Upgrade' "
               "(Firefox)";
    default:
        return "an ordinary request";
    }
}

const char *wsgm_sim_describe(apr_pool_t *p, const wsgm_model_t *m,
                              const wsgm_out_t *o)
{
    const char *where = "";

    if (o->src >= 0 && o->src < m->dirs->nelts) {
        const wsgm_dir_t *d = APR_ARRAY_IDX(m->dirs, o->src, wsgm_dir_t *);
        const wsgm_item_t *it = wsgm_conf_item(d->at.file, d->at.item);

        where = d->is_new ? " (by the new WSGatewayPass)"
                          : apr_psprintf(p, " (by the %s at line %d)",
                                         it->name, it->line);
    }
    switch (o->kind) {
    case WSGM_OUT_LOCAL:
        return "answered by this server itself";
    case WSGM_OUT_TUNNEL:
        return apr_psprintf(p, "tunnelled to %s://%s%s%s",
                            o->tls ? "wss" : "ws", o->origin, o->path, where);
    case WSGM_OUT_HTTP:
        return apr_psprintf(p, "proxied to %s://%s%s%s",
                            o->tls ? "https" : "http", o->origin, o->path,
                            where);
    case WSGM_OUT_NOUP:
        return apr_psprintf(p, "proxied to %s://%s%s without the upgrade%s",
                            o->tls ? "https" : "http", o->origin, o->path,
                            where);
    case WSGM_OUT_SELF:
        return apr_psprintf(p, "proxied back to this server%s", where);
    case WSGM_OUT_426:
        return "answered 426 Upgrade Required";
    case WSGM_OUT_OPAQUE:
        return apr_psprintf(p, "handled%s", *where ? where : " elsewhere");
    default:
        return apr_psprintf(p, "handled in a way this tool cannot follow%s",
                            where);
    }
}

int wsgm_sim_conds_accept(apr_pool_t *p, const wsgm_model_t *m,
                          const wsgm_rule_t *r, int intended, wsgm_cls_e cls)
{
    wsgm_sim_req_t q;
    signed char *assign = apr_palloc(p, (apr_size_t)m->nvars + 1);
    int rc;

    memset(assign, -1, (apr_size_t)m->nvars + 1);
    memset(&q, 0, sizeof(q));
    q.p = p;
    q.m = m;
    q.cls = cls;
    q.uri = NULL;
    q.assign = assign;
    q.need = -1;
    rc = wsgm_sim_conds(&q, r, intended ? 1 : 0);
    return rc == WSGM_SIM_YES ? 1 : rc == WSGM_SIM_NO ? 0 : -1;
}
