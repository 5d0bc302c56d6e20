/*
 * ws-gateway-migrate: equivalence checks of proposed lines. See
 * wsgm_verify.h.
 *
 * Order of this file: helpers, probes, evaluation helpers, the judgement
 * of one probe (wsgm_verify_leaf: which differences are accepted), the
 * work bound and relevance filter, the proposal check, set-up.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "wsgw_map.h"
#include "wsgm_verify.h"

#define WSGM_VERIFY_MAX_LEAVES 512
#define WSGM_VERIFY_MAX_COST   2e9     /* directive evaluations per proposal */

/* ------------------------------------------------------------------ */
/* Helpers                                                               */

static wsgm_dir_t *wsgm_verify_dir(const wsgm_verify_t *v, int id)
{
    return APR_ARRAY_IDX(v->m->dirs, id, wsgm_dir_t *);
}

static wsgm_host_t *wsgm_verify_host(const wsgm_verify_t *v, int i)
{
    return APR_ARRAY_IDX(v->m->hosts, i, wsgm_host_t *);
}

static const wsgm_item_t *wsgm_verify_item(const wsgm_dir_t *d)
{
    return wsgm_conf_item(d->at.file, d->at.item);
}

static void wsgm_verify_push(apr_array_header_t *a, const char *s)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), s)) {
            return;
        }
    }
    APR_ARRAY_PUSH(a, const char *) = s;
}

static int wsgm_verify_has(const apr_array_header_t *a, int id)
{
    int i;

    for (i = 0; i < a->nelts; ++i) {
        if (APR_ARRAY_IDX(a, i, int) == id) {
            return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Probes                                                                */

/* Add a probe unless @a seen (uri -> 1) already has it. */
static void wsgm_verify_probe(apr_pool_t *p, apr_array_header_t *a,
                              apr_hash_t *seen, const char *uri, int kind)
{
    if (!strncmp(uri, "/zz", 3)) {
        kind = WSGM_VERIFY_PK_UNANCH;
    }
    if (apr_hash_get(seen, uri, APR_HASH_KEY_STRING)) {
        return;
    }
    uri = apr_pstrdup(p, uri);
    apr_hash_set(seen, uri, APR_HASH_KEY_STRING, "");
    APR_ARRAY_PUSH(a, wsgm_verify_probe_t).uri = uri;
    APR_ARRAY_IDX(a, a->nelts - 1, wsgm_verify_probe_t).kind = kind;
}

static void wsgm_verify_probes_for(apr_pool_t *p, apr_array_header_t *a,
                                   apr_hash_t *seen, const char *lit)
{
    const char *b = wsgw_map_normalize(p, lit);

    if (b == NULL) {
        return;
    }
    wsgm_verify_probe(p, a, seen, b, WSGM_VERIFY_PK_SEG);
    if (strcmp(b, "/")) {
        static const char *const tails[] = { "/", "/x", "/x/y", "x", "x/y" };
        static const int kinds[] = {
            WSGM_VERIFY_PK_SEG, WSGM_VERIFY_PK_DEEP, WSGM_VERIFY_PK_DEEP,
            WSGM_VERIFY_PK_LOOSE, WSGM_VERIFY_PK_LOOSE };
        int i;

        for (i = 0; i < 5; ++i) {
            wsgm_verify_probe(p, a, seen, apr_pstrcat(p, b, tails[i], NULL),
                              kinds[i]);
        }
    }
    else {
        wsgm_verify_probe(p, a, seen, "/x", WSGM_VERIFY_PK_DEEP);
        wsgm_verify_probe(p, a, seen, "/x/y", WSGM_VERIFY_PK_DEEP);
    }
}

static void wsgm_verify_make_probes(wsgm_verify_t *v)
{
    const wsgm_host_t *main_h = wsgm_verify_host(v, 0);
    int h, i;

    v->probes = apr_pcalloc(v->p, sizeof(apr_array_header_t *)
                                    * (apr_size_t)v->m->hosts->nelts);
    for (h = 0; h < v->m->hosts->nelts; ++h) {
        const wsgm_host_t *hh = wsgm_verify_host(v, h);
        apr_array_header_t *a = apr_array_make(v->p, 32,
                                               sizeof(wsgm_verify_probe_t));
        apr_hash_t *seen = apr_hash_make(v->tmp);

        wsgm_verify_probes_for(v->p, a, seen, "/");
        wsgm_verify_probe(v->p, a, seen, "/qq", WSGM_VERIFY_PK_DEEP);
        wsgm_verify_probe(v->p, a, seen, "/qq/y", WSGM_VERIFY_PK_DEEP);
        for (i = 0; i < hh->paths->nelts; ++i) {
            wsgm_verify_probes_for(v->p, a, seen,
                                   APR_ARRAY_IDX(hh->paths, i, const char *));
        }
        if (h > 0) {
            for (i = 0; i < main_h->paths->nelts; ++i) {
                wsgm_verify_probes_for(v->p, a, seen,
                                       APR_ARRAY_IDX(main_h->paths, i,
                                                     const char *));
            }
        }
        v->probes[h] = a;
        apr_pool_clear(v->tmp);
    }
}

/* ------------------------------------------------------------------ */
/* Evaluation helpers                                                    */

apr_array_header_t *wsgm_verify_outcomes(wsgm_verify_t *v,
                                         const wsgm_view_t *view, int host,
                                         wsgm_cls_e cls, const char *uri)
{
    apr_array_header_t *res = apr_array_make(v->tmp, 2, sizeof(wsgm_out_t));
    apr_array_header_t *stack = apr_array_make(v->tmp, 4, sizeof(int));
    int leaves = 0;

    for (;;) {
        wsgm_out_t o;
        int need = -1;

        if (wsgm_sim_eval(v->tmp, v->m, view, host, cls, uri, v->assign,
                          &need, &o)) {
            v->assign[need] = 0;
            APR_ARRAY_PUSH(stack, int) = need;
            continue;
        }
        APR_ARRAY_PUSH(res, wsgm_out_t) = o;
        if (++leaves > 64) {
            break;
        }
        while (stack->nelts
               && v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)]
                  == 1) {
            v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)] = -1;
            --stack->nelts;
        }
        if (stack->nelts == 0) {
            break;
        }
        v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1, int)] = 1;
    }
    while (stack->nelts) {
        v->assign[APR_ARRAY_IDX(stack, --stack->nelts, int)] = -1;
    }
    return res;
}

const wsgm_out_t *wsgm_verify_outcome(wsgm_verify_t *v,
                                      const wsgm_view_t *view, int host,
                                      wsgm_cls_e cls, const char *uri)
{
    apr_array_header_t *a = wsgm_verify_outcomes(v, view, host, cls, uri);
    int i;

    for (i = 1; i < a->nelts; ++i) {
        if (!wsgm_sim_same(&APR_ARRAY_IDX(a, 0, wsgm_out_t),
                           &APR_ARRAY_IDX(a, i, wsgm_out_t))) {
            return NULL;
        }
    }
    return &APR_ARRAY_IDX(a, 0, wsgm_out_t);
}

wsgm_view_t wsgm_verify_only(wsgm_verify_t *v, int id)
{
    wsgm_view_t view;

    if (v->only_id >= 0) {
        v->only[v->only_id] = 0;
    }
    v->only[id] = 1;
    v->only_id = id;
    view.n = v->cap;
    view.active = v->only;
    view.intended = 1;
    return view;
}

/* ------------------------------------------------------------------ */
/* Verification                                                          */

typedef struct wsgm_verify_chk_t {
    wsgm_verify_t        *v;
    wsgm_verify_prop_t      *pr;
    const wsgm_view_t *P;
    int               host;
    wsgm_cls_e        cls;
    const wsgm_verify_probe_t *probe;
} wsgm_verify_chk_t;

/* Evaluate, or return the variable to assign first. */
#define WSGM_VERIFY_EVAL(view, c, out) do {                                 \
        int need_ = -1;                                                     \
        if (wsgm_sim_eval(ck->v->tmp, ck->v->m, (view), ck->host, (c),   \
                          ck->probe->uri, ck->v->assign, &need_, (out)))  \
            return need_;                                                   \
    } while (0)

static const char *wsgm_verify_collapse(apr_pool_t *p, const char *s)
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

static int wsgm_verify_proxied(const wsgm_out_t *o)
{
    return o->kind == WSGM_OUT_TUNNEL || o->kind == WSGM_OUT_HTTP
        || o->kind == WSGM_OUT_NOUP;
}

/*
 * One assignment of one probe: -1 when judged (a failure is recorded in
 * the proposal), else a variable to assign.
 */
static int wsgm_verify_leaf(wsgm_verify_chk_t *ck)
{
    wsgm_verify_t *v = ck->v;
    wsgm_verify_prop_t *pr = ck->pr;
    wsgm_out_t I, N, P, I1, P1;
    const char *uri = ck->probe->uri;

    WSGM_VERIFY_EVAL(&v->I, ck->cls, &I);
    WSGM_VERIFY_EVAL(&v->N, ck->cls, &N);
    WSGM_VERIFY_EVAL(ck->P, ck->cls, &P);
    if (wsgm_sim_same(&P, &N) || wsgm_sim_same(&P, &I)) {
        return -1;
    }
    /* spellings of the handshake the old conditions missed */
    if ((ck->cls == WSGM_CLS_W2 || ck->cls == WSGM_CLS_W3)
        && (I.kind == WSGM_OUT_NOUP || I.kind == WSGM_OUT_LOCAL)) {
        WSGM_VERIFY_EVAL(&v->I, WSGM_CLS_W1, &I1);
        WSGM_VERIFY_EVAL(ck->P, WSGM_CLS_W1, &P1);
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
    /* a handshake that was forwarded without the upgrade is tunnelled */
    if (WSGM_CLS_IS_WS(ck->cls) && I.kind == WSGM_OUT_NOUP
        && P.kind == WSGM_OUT_TUNNEL && I.tls == P.tls
        && !strcmp(I.origin, P.origin) && !strcmp(I.path, P.path)) {
        if (ck->cls == WSGM_CLS_W1 && I.src >= 0) {
            const wsgm_dir_t *sd = wsgm_verify_dir(v, I.src);

            wsgm_verify_push(pr->notes, apr_psprintf(v->p,
                "WebSocket handshakes that the %s at line %d forwarded to "
                "%s://%s without the upgrade are now tunnelled",
                wsgm_verify_item(sd)->name, wsgm_verify_item(sd)->line,
                I.tls ? "https" : "http", I.origin));
        }
        return -1;
    }
    /* the new PATH covers requests nothing proxied before */
    if (I.kind == WSGM_OUT_LOCAL && wsgm_verify_proxied(&P)
        && P.src == pr->gw->d.id
        && (ck->host == pr->host || !pr->has_rules)) {
        int widen = WSGM_CLS_IS_WS(ck->cls);

        if (!widen) {
            WSGM_VERIFY_EVAL(&v->I, WSGM_CLS_W1, &I1);
            widen = I1.kind == WSGM_OUT_LOCAL;
        }
        if (widen) {
            if (ck->probe->kind == WSGM_VERIFY_PK_SEG) {
                pr->shallow = 1;
            }
            else if (!pr->deep) {
                pr->deep = 1;
                wsgm_verify_push(pr->warns, apr_psprintf(v->p,
                    "%s under %s that the old lines did not cover, which "
                    "this server answered itself (such as %s), now go to the "
                    "backend too",
                    WSGM_CLS_IS_WS(ck->cls) ? "WebSocket handshakes"
                                            : "requests",
                    pr->path, uri));
            }
            return -1;
        }
    }
    /* loose or unanchored patterns matched more than PATH */
    if (P.kind == WSGM_OUT_LOCAL && wsgm_verify_proxied(&I) && I.src >= 0
        && wsgm_verify_has(pr->remove, I.src)
        && (ck->probe->kind == WSGM_VERIFY_PK_LOOSE
            || ck->probe->kind == WSGM_VERIFY_PK_UNANCH)) {
        int *said = ck->probe->kind == WSGM_VERIFY_PK_LOOSE ? &pr->loose
                                                     : &pr->unanch;

        if (*said) {
            return -1;
        }
        *said = 1;
        wsgm_verify_push(pr->warns, apr_psprintf(v->p,
            ck->probe->kind == WSGM_VERIFY_PK_LOOSE
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
    if (wsgm_verify_proxied(&I) && wsgm_verify_proxied(&P)
        && I.tls == P.tls && !strcmp(I.origin, P.origin)
        && strstr(I.path, "//")
        && !strcmp(wsgm_verify_collapse(v->tmp, I.path), P.path)
        && (I.kind == P.kind
            || (I.kind == WSGM_OUT_NOUP && P.kind == WSGM_OUT_TUNNEL))) {
        wsgm_verify_push(pr->warns, apr_psprintf(v->p,
            "the old target doubled a slash (%s became %s); the backend now "
            "gets %s", uri, I.path, P.path));
        return -1;
    }
    if (pr->fail == NULL) {
        const wsgm_host_t *h = wsgm_verify_host(v, ck->host);

        const char *why = "";

        if (ck->host != pr->host && pr->has_rules) {
            why = "; lines at server level are inherited by every "
                  "<VirtualHost>, RewriteRules are not: move the recipe into "
                  "the <VirtualHost> it serves";
        }
        else if (P.src >= 0 && P.src < v->norig
                 && wsgm_verify_dir(v, P.src)->kind == WSGM_D_RULE) {
            why = "; mod_rewrite runs before WSGatewayPass, and once that "
                  "rule has matched WSGatewayPass never sees the request";
        }
        pr->fail = apr_psprintf(v->p, "%s to %s%s would be %s instead of "
                                "%s%s",
                                wsgm_sim_class_name(ck->cls), uri,
                                v->m->hosts->nelts > 1
                                ? apr_pstrcat(v->p, " in the ", h->name,
                                              NULL)
                                : "",
                                wsgm_sim_describe(v->p, v->m, &P),
                                wsgm_sim_describe(v->p, v->m, &I), why);
    }
    return -1;
}

/*
 * Hosts where a rule may rewrite a request and let later rules see the
 * new value: there, any probe may be affected by any change.
 */
static void wsgm_verify_find_chains(wsgm_verify_t *v)
{
    int h, i;

    v->chainy = apr_pcalloc(v->p, (apr_size_t)v->m->hosts->nelts);
    for (h = 0; h < v->m->hosts->nelts; ++h) {
        const wsgm_host_t *hh = wsgm_verify_host(v, h);

        for (i = 0; i < hh->rules->nelts; ++i) {
            const wsgm_rule_t *r = APR_ARRAY_IDX(hh->rules, i, wsgm_rule_t *);

            if (r->f_complex || r->f_pt
                || (!r->nosub && !r->f_last && !r->f_proxy
                    && !r->f_redirect)) {
                v->chainy[h] = 1;
            }
        }
    }
    if (v->chainy[0] || wsgm_verify_host(v, 0)->inherit_down) {
        memset(v->chainy, 1, (apr_size_t)v->m->hosts->nelts);
    }
}

/* Could directive @a d change where @a uri goes? */
static int wsgm_verify_may_match(wsgm_verify_t *v, const wsgm_dir_t *d,
                                 const char *uri)
{
    regmatch_t mt[WSGM_REGEX_MAX_GROUPS];

    if (d->loc >= 0) {
        const wsgm_host_t *h = wsgm_verify_host(v, d->host);

        return wsgm_sim_loc_covers(APR_ARRAY_IDX(h->locs, d->loc,
                                                 wsgm_loc_t *)->path, uri);
    }
    switch (d->kind) {
    case WSGM_D_RULE: {
        const wsgm_rule_t *r = (const wsgm_rule_t *)d;
        int k;

        for (k = 0; k < 2; ++k) {
            if (!r->sem[k].re.ok || r->sem[k].negate
                || wsgm_regex_match(&r->sem[k].re, uri, mt)) {
                return 1;
            }
        }
        return 0;
    }
    case WSGM_D_PP:
        return wsgm_sim_alias_match(uri, ((const wsgm_pp_t *)d)->path) > 0;
    case WSGM_D_PPR:
        return 0;
    default:
        return 1;
    }
}

/* Is the outcome of @a uri in host @a host possibly changed by @a pr? */
static int wsgm_verify_relevant(wsgm_verify_t *v,
                                const wsgm_verify_prop_t *pr,
                                int host, const char *uri)
{
    int i;

    if (v->chainy[host]) {
        return 1;
    }
    if (pr->loc >= 0) {
        const wsgm_host_t *h = wsgm_verify_host(v, pr->host);

        if (wsgm_sim_loc_covers(APR_ARRAY_IDX(h->locs, pr->loc,
                                              wsgm_loc_t *)->path, uri)) {
            return 1;
        }
    }
    else if (wsgw_map_covers(pr->path, strcmp(pr->path, "/")
                                       ? strlen(pr->path) : 0, uri)) {
        return 1;
    }
    for (i = 0; i < pr->remove->nelts; ++i) {
        if (wsgm_verify_may_match(v, wsgm_verify_dir(v,
                                                      APR_ARRAY_IDX(pr->remove,
                                                                    i, int)),
                                  uri)) {
            return 1;
        }
    }
    return 0;
}

void wsgm_verify_prop(wsgm_verify_t *v, wsgm_verify_prop_t *pr)
{
    wsgm_view_t P;
    wsgm_host_t *h = wsgm_verify_host(v, pr->host);
    apr_array_header_t *list;
    int i, hi, c, pi;

    if (pr->fail) {
        return;
    }
    /* the new line joins the model for the time of the check */
    pr->gw->d.id = v->m->dirs->nelts;
    list = pr->loc >= 0 ? APR_ARRAY_IDX(h->locs, pr->loc, wsgm_loc_t *)->gw
                        : h->gw;
    APR_ARRAY_PUSH(list, wsgm_gw_t *) = pr->gw;

    P.n = v->cap;
    P.intended = 0;
    P.active = v->P;
    memcpy(P.active, v->N.active, (apr_size_t)v->cap);
    for (i = 0; i < pr->remove->nelts; ++i) {
        P.active[APR_ARRAY_IDX(pr->remove, i, int)] = 0;
    }
    P.active[pr->gw->d.id] = 1;
    for (i = 0; i < pr->remove->nelts; ++i) {
        if (wsgm_verify_dir(v, APR_ARRAY_IDX(pr->remove, i, int))->kind
            == WSGM_D_RULE) {
            pr->has_rules = 1;
        }
    }

    /* bound the work: probes x directives evaluated per probe */
    {
        double cost = 0;

        for (hi = 0; hi < v->m->hosts->nelts; ++hi) {
            const wsgm_host_t *hh = wsgm_verify_host(v, hi);
            apr_array_header_t *probes = v->probes[hi];
            double per = (double)(hh->rules->nelts + hh->pp->nelts + 4
                                  + (hi ? wsgm_verify_host(v, 0)->rules->nelts
                                          + wsgm_verify_host(v, 0)->pp->nelts
                                        : 0));

            if (pr->host != 0 && hi != pr->host) {
                continue;
            }
            for (pi = 0; pi < probes->nelts; ++pi) {
                const wsgm_verify_probe_t *pb =
                    &APR_ARRAY_IDX(probes, pi, wsgm_verify_probe_t);

                if (wsgm_verify_relevant(v, pr, hi, pb->uri)) {
                    cost += per * WSGM_NCLS * 4;
                }
            }
        }
        if (cost > WSGM_VERIFY_MAX_COST) {
            pr->fail = apr_psprintf(v->p, "proving it equivalent would take "
                                    "too long here (about %.0f million "
                                    "rule evaluations; split the "
                                    "configuration or convert this recipe "
                                    "by hand)", cost / 1e6);
        }
    }
    for (hi = 0; hi < v->m->hosts->nelts && !pr->fail; ++hi) {
        apr_array_header_t *probes = v->probes[hi];

        if (pr->host != 0 && hi != pr->host) {
            continue;   /* only the main server's lines reach other hosts */
        }
        for (pi = 0; pi < probes->nelts && !pr->fail; ++pi) {
            const wsgm_verify_probe_t *pb =
                &APR_ARRAY_IDX(probes, pi, wsgm_verify_probe_t);

            if (!wsgm_verify_relevant(v, pr, hi, pb->uri)) {
                continue;
            }
            for (c = 0; c < WSGM_NCLS && !pr->fail; ++c) {
                wsgm_verify_chk_t ck;
                apr_array_header_t *stack;
                int leaves = 0;

                ck.v = v;
                ck.pr = pr;
                ck.P = &P;
                ck.host = hi;
                ck.cls = (wsgm_cls_e)c;
                ck.probe = &APR_ARRAY_IDX(probes, pi, wsgm_verify_probe_t);
                apr_pool_clear(v->tmp);
                stack = apr_array_make(v->tmp, 4, sizeof(int));
                for (;;) {
                    int need = wsgm_verify_leaf(&ck);

                    if (need >= 0) {
                        v->assign[need] = 0;
                        APR_ARRAY_PUSH(stack, int) = need;
                        continue;
                    }
                    if (pr->fail) {
                        break;
                    }
                    if (++leaves > WSGM_VERIFY_MAX_LEAVES) {
                        pr->fail = "too many conditions to follow";
                        break;
                    }
                    while (stack->nelts
                           && v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1,
                                                       int)] == 1) {
                        v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1,
                                                 int)] = -1;
                        --stack->nelts;
                    }
                    if (stack->nelts == 0) {
                        break;
                    }
                    v->assign[APR_ARRAY_IDX(stack, stack->nelts - 1,
                                             int)] = 1;
                }
                while (stack->nelts) {
                    v->assign[APR_ARRAY_IDX(stack, --stack->nelts, int)] = -1;
                }
            }
        }
    }
    --list->nelts;
}

/* ------------------------------------------------------------------ */

void wsgm_verify_init(wsgm_verify_t *v, apr_pool_t *p, wsgm_model_t *m)
{
    memset(v, 0, sizeof(*v));
    v->p = p;
    apr_pool_create(&v->tmp, p);
    v->m = m;
    v->norig = m->dirs->nelts;
    v->cap = v->norig * 2 + 16;
    v->I.n = v->N.n = v->A.n = v->cap;
    v->I.active = apr_pcalloc(p, (apr_size_t)v->cap);
    v->N.active = apr_pcalloc(p, (apr_size_t)v->cap);
    memset(v->I.active, 1, (apr_size_t)v->norig);
    memset(v->N.active, 1, (apr_size_t)v->norig);
    v->A.active = apr_pmemdup(p, v->N.active, (apr_size_t)v->cap);
    v->I.intended = 1;
    v->only = apr_pcalloc(p, (apr_size_t)v->cap);
    v->only_id = -1;
    v->P = apr_palloc(p, (apr_size_t)v->cap);
    v->assign = apr_palloc(p, (apr_size_t)m->nvars + 1);
    memset(v->assign, -1, (apr_size_t)m->nvars + 1);
    wsgm_verify_make_probes(v);
    wsgm_verify_find_chains(v);
}
