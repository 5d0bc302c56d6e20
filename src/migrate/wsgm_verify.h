/*
 * ws-gateway-migrate: does a proposed WSGatewayPass line keep behaviour?
 *
 * The checker compares three configurations with the request mapping model
 * (wsgm_sim.h): the old one as its author meant it (broken variants
 * repaired: "intended", I), the current converted one (N: the file with
 * the proposals accepted so far) and N with the proposal applied (P). For
 * every probe path of every server the proposal can reach, every request
 * class and every truth assignment of the conditions the model cannot
 * evaluate, P must do what N did or what I meant; the differences it
 * accepts are recorded as notes or warnings in the proposal, anything else
 * is a failure with the first counter-example.
 *
 * Probes come from every path the configuration mentions: PATH, PATH/,
 * PATH/x, PATH/x/y (segment), PATHx (loose prefix) and /zz/PATH for
 * unanchored patterns.
 *
 * Memory: the state lives in the pool given to wsgm_verify_init(); its tmp
 * subpool is cleared by the checks (do not keep pointers into it).
 */
#ifndef WSGM_VERIFY_H
#define WSGM_VERIFY_H

#include <apr_pools.h>
#include <apr_tables.h>

#include "wsgm_model.h"
#include "wsgm_sim.h"

/* Probe kinds: how a probe path relates to the literal it came from. */
enum {
    WSGM_VERIFY_PK_SEG = 0, /* the path itself, or with a trailing slash */
    WSGM_VERIFY_PK_DEEP,    /* below it: PATH/x, PATH/x/y */
    WSGM_VERIFY_PK_LOOSE,   /* PATHx: same prefix, not a segment boundary */
    WSGM_VERIFY_PK_UNANCH   /* the literal elsewhere in the path (/zz/PATH) */
};

typedef struct wsgm_verify_probe_t {
    const char *uri;
    int         kind;
} wsgm_verify_probe_t;

/* A backend mapping: origin + base path, as WSGatewayPass appends rest. */
typedef struct wsgm_verify_fn_t {
    const char *scheme;     /* as written ("ws", "http", ...) */
    const char *authority;  /* as written */
    const char *origin;     /* normalised "host:port" */
    int         tls;
    const char *base;       /* "" or starting with '/' */
} wsgm_verify_fn_t;

/* One proposed WSGatewayPass line and what the check found. */
typedef struct wsgm_verify_prop_t {
    int                 host, loc;
    const char         *path;       /* normalised PATH */
    const char         *own_path;   /* PATH of the candidate itself */
    const char         *args;       /* argument text of the new line */
    wsgm_gw_t          *gw;         /* its model, registered on acceptance */
    apr_array_header_t *remove;     /* int: directive ids it replaces */
    /* filled by wsgm_verify_prop() */
    const char         *fail;       /* NULL: accepted */
    apr_array_header_t *notes;      /* const char *: for the message */
    apr_array_header_t *warns;      /* const char *: need review */
    int                 missed_case, missed_ff, shallow, deep, loose, unanch;
    int                 has_rules;  /* it replaces RewriteRules */
} wsgm_verify_prop_t;

/* The checker's state for one model. */
typedef struct wsgm_verify_t {
    apr_pool_t         *p;          /* results */
    apr_pool_t         *tmp;        /* cleared often */
    wsgm_model_t       *m;
    int                 norig;      /* directives in the files */
    int                 cap;        /* size of the view arrays */
    wsgm_view_t         I, N;       /* intended old, current new */
    wsgm_view_t         A;          /* the old configuration as it was */
    unsigned char      *only;       /* view with one directive active ... */
    int                 only_id;    /* ... this one, or -1 */
    unsigned char      *chainy;     /* by host: rules that rewrite and go on */
    unsigned char      *P;          /* the view under verification */
    apr_array_header_t **probes;    /* per host: wsgm_verify_probe_t */
    signed char        *assign;     /* by variable: -1, 0, 1 */
} wsgm_verify_t;

/**
 * Set up the checker for @a m: views (every directive of the files active,
 * room for one new line per directive), probes, chain analysis.
 */
void wsgm_verify_init(wsgm_verify_t *v, apr_pool_t *p, wsgm_model_t *m);

/**
 * Check @a pr (its gw must be parsed; it joins the model only for the time
 * of the check). Sets pr->fail or leaves it NULL, and fills the notes,
 * warnings and flags.
 */
void wsgm_verify_prop(wsgm_verify_t *v, wsgm_verify_prop_t *pr);

/**
 * All outcomes of one request under view @a view, over every truth
 * assignment of unknown conditions (at most 65).
 * @return an array of wsgm_out_t in v->tmp.
 */
apr_array_header_t *wsgm_verify_outcomes(wsgm_verify_t *v,
                                         const wsgm_view_t *view, int host,
                                         wsgm_cls_e cls, const char *uri);

/** The one outcome of a request, or NULL when it depends on unknowns. */
const wsgm_out_t *wsgm_verify_outcome(wsgm_verify_t *v,
                                      const wsgm_view_t *view, int host,
                                      wsgm_cls_e cls, const char *uri);

/**
 * A view where only directive @a id is active, meant as its author meant
 * it. Valid until the next call (the array is reused).
 */
wsgm_view_t wsgm_verify_only(wsgm_verify_t *v, int id);

#endif /* WSGM_VERIFY_H */
