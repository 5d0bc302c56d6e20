/*
 * ws-gateway-migrate: what the configuration means, for the directives
 * that decide where a request goes.
 *
 * The tokenized files are walked once, following the server structure
 * (main server, <VirtualHost>, <Location>, transparent <IfModule>-like
 * wrappers), and every directive that maps requests becomes a model:
 * RewriteRule (with its RewriteCond lines), ProxyPass, ProxyPassMatch,
 * ProxyPassReverse and WSGatewayPass. Each model has a numeric id; a
 * "view" (wsgm_sim.h) says which ids are present.
 *
 * Broken variants are recognised here and given two meanings: what httpd
 * really does with the line ("actual") and what its author evidently
 * meant ("intended"), with the explanation the tool prints.
 *
 * Memory: all of it lives in the pool given to wsgm_model_build().
 */
#ifndef WSGM_MODEL_H
#define WSGM_MODEL_H

#include <apr_hash.h>
#include <apr_pools.h>
#include <apr_tables.h>

#include "wsgm_conf.h"
#include "wsgm_msg.h"
#include "wsgm_regex.h"
#include "wsgm_url.h"

/* Request classes the tool reasons about. */
typedef enum {
    WSGM_CLS_W1 = 0,    /* Upgrade: websocket, Connection: Upgrade */
    WSGM_CLS_W2,        /* Upgrade: WebSocket (capitalised) */
    WSGM_CLS_W3,        /* Connection: keep-alive, Upgrade (Firefox) */
    WSGM_CLS_H,         /* an ordinary request */
    WSGM_NCLS
} wsgm_cls_e;

#define WSGM_CLS_IS_WS(c) ((c) != WSGM_CLS_H)

typedef enum {
    WSGM_D_RULE = 0,    /* RewriteRule (+ RewriteCond lines) */
    WSGM_D_PP,          /* ProxyPass */
    WSGM_D_PPM,         /* ProxyPassMatch */
    WSGM_D_PPR,         /* ProxyPassReverse */
    WSGM_D_GW           /* WSGatewayPass */
} wsgm_dkind_e;

/* A place: an item of a file. */
typedef struct wsgm_where_t {
    wsgm_file_t *file;
    int          item;
} wsgm_where_t;

/* Fields every directive model starts with. */
typedef struct wsgm_dir_t {
    int          id;        /* index in wsgm_model_t.dirs */
    wsgm_dkind_e kind;
    wsgm_where_t at;        /* its (last) item: the RewriteRule line */
    int          host;      /* index in wsgm_model_t.hosts */
    int          loc;       /* index in that host's locs, or -1 */
    int          wrapped;   /* inside an <IfModule>-like wrapper */
    int          is_new;    /* added by the tool (WSGatewayPass) */
} wsgm_dir_t;

typedef enum {
    WSGM_TEST_UPGRADE = 0,  /* %{HTTP:Upgrade} */
    WSGM_TEST_CONNECTION,   /* %{HTTP:Connection} */
    WSGM_TEST_URI,          /* %{REQUEST_URI} */
    WSGM_TEST_OTHER         /* anything we cannot evaluate */
} wsgm_test_e;

typedef enum {
    WSGM_PT_REGEX = 0,
    WSGM_PT_STREQ,          /* =text */
    WSGM_PT_OTHER           /* -f, <, >, expr ... */
} wsgm_ptype_e;

/* One meaning of a RewriteCond. */
typedef struct wsgm_csem_t {
    wsgm_test_e  test;
    int          empty;     /* the test string is always empty (${HTTP:x}) */
    wsgm_ptype_e ptype;
    int          negate;
    int          nocase;
    const char  *pat;       /* the pattern proper */
    wsgm_regex_t re;        /* WSGM_PT_REGEX */
    int          refused;   /* httpd refuses the line */
} wsgm_csem_t;

typedef struct wsgm_cond_t {
    wsgm_where_t at;
    const char  *raw;       /* the logical line */
    int          ornext;
    int          var;       /* unknown-truth variable id, or -1 */
    wsgm_csem_t  sem[2];    /* [0] actual, [1] intended */
    const char  *why;       /* explanation of a broken variant, or NULL */
} wsgm_cond_t;

/* One meaning of a RewriteRule's pattern and substitution. */
typedef struct wsgm_rsem_t {
    const char  *pattern;
    int          negate;
    wsgm_regex_t re;
    const char  *subst;     /* Define references resolved */
} wsgm_rsem_t;

typedef struct wsgm_rule_t {
    wsgm_dir_t   d;
    apr_array_header_t *conds;      /* wsgm_cond_t * */
    int          first_item;        /* first RewriteCond (or the rule) */
    int          perdir;            /* inside <Location> */
    int          var_pat;           /* variable for an unknown match, or -1 */
    int          nosub;             /* substitution "-" */
    int          refused;           /* httpd refuses the line */
    /* flags */
    int          f_proxy, f_last, f_nc, f_qsa, f_qsd, f_redirect, f_pt,
                 f_complex;
    const char  *unprovable;        /* first flag we cannot carry over */
    wsgm_rsem_t  sem[2];            /* [0] actual, [1] intended */
    const char  *subst_text;        /* intended substitution as written,
                                     * ${VAR} references kept */
    const char  *why;               /* explanation of a broken variant */
} wsgm_rule_t;

typedef struct wsgm_pp_t {
    wsgm_dir_t   d;
    const char  *path;      /* the local path (the <Location> one) */
    const char  *url_raw;   /* second argument, Define references resolved */
    const char  *url_text;  /* the same as written, ${VAR} kept (intended) */
    const char  *url_intended;  /* url_raw, or its evident intent */
    int          actual_bad;    /* url_raw is unusable ("ws:/host") */
    const char  *why;       /* explanation of a broken variant, or NULL */
    wsgm_url_t   url;       /* url_intended parsed */
    int          url_ok;
    int          excluded;  /* "!" */
    int          upgrade;   /* upgrade=websocket */
    const char  *params;    /* other key=value words, space separated */
    const char  *opaque;    /* a flag we cannot carry over (nocanon...) */
    wsgm_regex_t re;        /* ProxyPassMatch */
    int          var;       /* unknown-truth variable of its match */
    int          shadowed_by;   /* id of an earlier ProxyPass that takes all
                                 * of this line's requests, or -1 */
} wsgm_pp_t;

typedef struct wsgm_ppr_t {
    wsgm_dir_t   d;
    const char  *path;
    const char  *url_raw;
    wsgm_url_t   url;
    int          url_ok;
} wsgm_ppr_t;

typedef enum {
    WSGM_HTTP_SAME = 0,
    WSGM_HTTP_OFF,
    WSGM_HTTP_URL
} wsgm_http_e;

typedef struct wsgm_gw_t {
    wsgm_dir_t   d;
    const char  *path;      /* normalised PATH (or <Location> path) */
    int          excluded;
    wsgm_url_t   url;
    int          url_ok;
    wsgm_http_e  http;
    wsgm_url_t   http_url;
    const char  *args;      /* argument text, for WSGatewayPass lines made
                             * by the tool */
} wsgm_gw_t;

typedef struct wsgm_loc_t {
    const char  *path;      /* as written */
    wsgm_where_t at;        /* the <Location> item */
    int          engine;    /* RewriteEngine: -1 not set here, 0 off, 1 on */
    apr_array_header_t *rules;  /* wsgm_rule_t * (per-directory) */
    apr_array_header_t *pp;     /* wsgm_pp_t * (single-argument form) */
    apr_array_header_t *gw;     /* wsgm_gw_t * */
} wsgm_loc_t;

typedef struct wsgm_host_t {
    int          index;
    wsgm_where_t at;        /* <VirtualHost> item (file NULL: main server) */
    const char  *name;      /* "main server" or "<VirtualHost *:443>" */
    int          engine;    /* -1 not set, 0 off, 1 on */
    wsgm_where_t engine_at;
    int          inherit;   /* RewriteOptions: 0, 1 Inherit, 2 InheritBefore */
    int          inherit_down;  /* main server: InheritDown[Before] 1/2 */
    int          proxy_requests;
    wsgm_where_t proxy_requests_at;
    apr_array_header_t *rules;  /* wsgm_rule_t * (server context) */
    apr_array_header_t *pp;     /* wsgm_pp_t *, wsgm_pp_t (PPM) in order */
    apr_array_header_t *ppr;    /* wsgm_ppr_t * */
    apr_array_header_t *gw;     /* wsgm_gw_t * */
    apr_array_header_t *locs;   /* wsgm_loc_t * */
    apr_array_header_t *paths;  /* const char *: literal paths seen here */
} wsgm_host_t;

typedef struct wsgm_model_t {
    apr_pool_t         *p;
    wsgm_msgs_t        *msgs;
    int                 follow_includes;
    const char         *server_root;    /* --server-root or ServerRoot */
    apr_array_header_t *files;  /* wsgm_file_t *: the one named, then the
                                 * included ones in the order met */
    apr_array_header_t *seen;   /* wsgm_file_t *: every file read so far by
                                 * any model (shared, never read twice) */
    apr_array_header_t *hosts;  /* wsgm_host_t *; [0] is the main server */
    apr_array_header_t *dirs;   /* wsgm_dir_t *, by id */
    apr_hash_t         *defines;
    int                 nvars;  /* unknown-truth variables allocated */
    int                 has_vhosts;
    int                 failed; /* an included file was unusable */
} wsgm_model_t;

/**
 * Build the model of @a file (already parsed), with the files it includes
 * when @a follow_includes (they are read, parsed and appended to m->files
 * and to @a seen, a list shared by every model of the run so no file is
 * converted twice); otherwise each Include is reported as a note.
 * Problems found on the way (recipes in contexts that cannot hold
 * WSGatewayPass, unreadable includes) are added to @a msgs.
 * @return the model (never NULL).
 */
wsgm_model_t *wsgm_model_build(apr_pool_t *p, wsgm_msgs_t *msgs,
                               wsgm_file_t *file, apr_array_header_t *seen,
                               int follow_includes, const char *server_root);

/** The item a model starts at (the first RewriteCond of a rule). */
const wsgm_item_t *wsgm_model_first_item(const wsgm_dir_t *d);

/** Register a directive model (sets d->id). */
void wsgm_model_add(wsgm_model_t *m, wsgm_dir_t *d);

/** Resolve ${NAME} references to known Define values (others stay). */
const char *wsgm_model_resolve(wsgm_model_t *m, const char *s);

/**
 * Parse the arguments of a WSGatewayPass line into @a g (path, URLs,
 * http= mode). @a loc_path is the <Location> path or NULL.
 * @return 0, or -1 when the arguments are not understood.
 */
int wsgm_model_parse_gw(wsgm_model_t *m, wsgm_gw_t *g, const char *args,
                        const char *loc_path);

#endif /* WSGM_MODEL_H */
