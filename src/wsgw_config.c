/*
 * Directive setters, create/merge of the server and per-directory
 * configuration, and startup cross-checks.
 *
 * WSGatewayPass builds on mod_proxy's own machinery instead of a private
 * list: each backend becomes a mod_proxy worker (so retry=, error states
 * and balancer-manager keep their meaning), key=value parameters are handed
 * to mod_proxy's ProxySet parser (so every worker key and its validation is
 * exactly mod_proxy's), and redirect rewriting is mod_proxy's
 * ProxyPassReverse for the same origin.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_ssl.h"
#include "mod_proxy.h"
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_status.h"

#define WSGW_CONFIG_EXAMPLE "e.g. WSGatewayPass /chat ws://127.0.0.1:8080/"

wsgw_srv_conf_t *wsgw_config_srv(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &ws_gateway_module);
}

wsgw_dir_conf_t *wsgw_config_dir(const request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &ws_gateway_module);
}

apr_interval_time_t wsgw_config_ping_timeout(const wsgw_dir_conf_t *dc)
{
    return dc->ping_timeout > 0 ? dc->ping_timeout : dc->ping_interval;
}

void *wsgw_config_create_srv(apr_pool_t *p, server_rec *s)
{
    wsgw_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    sc->map = apr_array_make(p, 4, sizeof(wsgw_map_entry_t));
    return sc;
}

void *wsgw_config_merge_srv(apr_pool_t *p, void *basev, void *addv)
{
    wsgw_srv_conf_t *base = basev, *add = addv;
    wsgw_srv_conf_t *sc = apr_pcalloc(p, sizeof(*sc));

    /* A VirtualHost sees its own mappings and the main server's; the
     * longest PATH wins, so order does not matter. */
    sc->map = apr_array_append(p, add->map, base->map);
    return sc;
}

void *wsgw_config_create_dir(apr_pool_t *p, char *dir)
{
    wsgw_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    dc->ping_timeout = WSGW_UNSET;
    dc->mode = WSGW_MODE_FRAMES;
    dc->graceful_close = 1;     /* SPEC: On, no spread */
    dc->async = 1;              /* where the MPM is async */
    return dc;
}

#define WSGW_MERGE(field) \
    dc->field = add->field##_set ? add->field : base->field; \
    dc->field##_set = add->field##_set | base->field##_set

void *wsgw_config_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    wsgw_dir_conf_t *base = basev, *add = addv;
    wsgw_dir_conf_t *dc = apr_pcalloc(p, sizeof(*dc));

    /* A mapping belongs to the <Location> that declared it: inner sections
     * inherit it unless they declare their own. */
    dc->mapping = add->mapping ? add->mapping : base->mapping;
    WSGW_MERGE(idle_timeout);
    WSGW_MERGE(ping_interval);
    WSGW_MERGE(ping_timeout);
    WSGW_MERGE(max_lifetime);
    WSGW_MERGE(max_message);
    WSGW_MERGE(mode);
    WSGW_MERGE(allow_origin);
    WSGW_MERGE(max_conns);
    WSGW_MERGE(max_conns_per_ip);
    WSGW_MERGE(graceful_close);
    WSGW_MERGE(async);
    dc->graceful_spread = add->graceful_close_set ? add->graceful_spread
                                                  : base->graceful_spread;
    return dc;
}

/* ------------------------------------------------------------------ */
/* Calling mod_proxy's own directive parsers                           */

/*
 * Run mod_proxy's directive @a name with @a a1..a3 (RAW_ARGS takes @a a1
 * as the whole argument string) in the context of @a cmd, as if the admin
 * had written it there.
 */
static const char *wsgw_config_invoke(cmd_parms *cmd, const char *name,
                                      const char *a1, const char *a2,
                                      const char *a3)
{
    module *mod = ap_top_module;   /* the search starts here */
    const command_rec *c = ap_find_command_in_modules(name, &mod);
    cmd_parms sub;
    void *mconfig;

    if (c == NULL || mod == NULL) {
        return apr_psprintf(cmd->pool, "%s needs mod_proxy: load it "
                            "(LoadModule proxy_module ..., or a2enmod proxy) "
                            "before mod_ws_gateway", cmd->cmd->name);
    }
    sub = *cmd;
    sub.info = c->cmd_data;
    sub.cmd = c;
    mconfig = ap_set_config_vectors(cmd->server, cmd->context, cmd->path,
                                    mod, cmd->pool);
    switch (c->args_how) {
    case RAW_ARGS:
        return c->func.raw_args(&sub, mconfig, a1);
    case TAKE1:
        return c->func.take1(&sub, mconfig, a1);
    case TAKE2:
    case TAKE12:
        return c->func.take2(&sub, mconfig, a1, a2);
    case TAKE3:
    case TAKE23:
    case TAKE123:
    case TAKE13:
        return c->func.take3(&sub, mconfig, a1, a2, a3);
    default:
        return apr_psprintf(cmd->pool, "%s: mod_proxy's %s has an "
                            "unexpected form in this httpd",
                            cmd->cmd->name, name);
    }
}

/* Define (or find) the mod_proxy worker for @a url in this server. */
static const char *wsgw_config_worker(cmd_parms *cmd, const char *url,
                                      const char *params, int group)
{
    proxy_server_conf *pc;
    proxy_worker *w;
    const char *err;

    /* A VirtualHost gets mod_proxy's configuration only once one of its
     * directives is used there: make sure it exists. */
    ap_set_config_vectors(cmd->server, cmd->context, cmd->path, &proxy_module,
                          cmd->pool);
    pc = ap_get_module_config(cmd->server->module_config, &proxy_module);

    if (pc == NULL) {
        return apr_psprintf(cmd->pool, "%s needs mod_proxy loaded before "
                            "mod_ws_gateway", cmd->cmd->name);
    }
    w = ap_proxy_get_worker_ex(cmd->temp_pool, NULL, pc, url,
                               AP_PROXY_WORKER_IS_PREFIX);
    if (w == NULL || strcmp(w->s->name_ex, url) != 0) {
        err = ap_proxy_define_worker_ex(cmd->pool, &w, NULL, pc, url,
                                        AP_PROXY_WORKER_IS_PREFIX);
        if (err) {
            return apr_psprintf(cmd->pool, "%s: cannot define backend %s: %s",
                                cmd->cmd->name, url, err);
        }
    }
    if (group) {
        /* mod_proxy never puts a worker outside a balancer in error state;
         * members of a failover group must be, so that retry= applies. */
        w->s->status &= ~PROXY_WORKER_IGNORE_ERRORS;
    }
    if (params && *params) {
        err = wsgw_config_invoke(cmd, "ProxySet",
                                 apr_pstrcat(cmd->temp_pool, url, " ", params,
                                             NULL), NULL, NULL);
        if (err) {
            return apr_psprintf(cmd->pool, "%s: bad parameter for backend "
                                "%s (%s); the keys are mod_proxy's worker "
                                "keys (connectiontimeout=, timeout=, retry=, "
                                "keepalive=, ...) plus http=off|URL",
                                cmd->cmd->name, url, err);
        }
    }
    return NULL;
}

/* Is url[0..slen) one of the schemes a backend URL may have? */
static int wsgw_config_known_scheme(const char *url, apr_size_t slen)
{
    static const char *const known[] = { "ws", "wss", "http", "https",
                                         "balancer", NULL };
    int i;

    for (i = 0; known[i]; ++i) {
        if (strlen(known[i]) == slen && !strncasecmp(url, known[i], slen)) {
            return 1;
        }
    }
    return 0;
}

/*
 * Parse one backend URL. ws/http name the same origin, wss/https likewise;
 * balancer://NAME uses a mod_proxy_balancer balancer.
 */
static const char *wsgw_config_backend(cmd_parms *cmd, const char *url,
                                       wsgw_backend_t *b)
{
    apr_uri_t u;
    const char *scheme_end = ap_strstr_c(url, ":");
    apr_size_t slen;
    const char *ws, *http;
    apr_port_t dflt;

    memset(b, 0, sizeof(*b));
    b->url = url;
    if (scheme_end == NULL) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a backend URL; use "
                            "ws://, wss://, http://, https:// or balancer:// "
                            "(%s)", cmd->cmd->name, url, WSGW_CONFIG_EXAMPLE);
    }
    slen = (apr_size_t)(scheme_end - url);
    if (strncmp(scheme_end, "://", 3) != 0) {
        if (!wsgw_config_known_scheme(url, slen)) {
            /* host:port, without a scheme */
            return apr_psprintf(cmd->pool, "%s: '%s' has no scheme; write "
                                "ws://%s (or wss://, http://, https://, "
                                "balancer://)", cmd->cmd->name, url, url);
        }
        return apr_psprintf(cmd->pool, "%s: backend URL '%s' needs two "
                            "slashes after the scheme ('%.*s://host:port/')",
                            cmd->cmd->name, url, (int)slen, url);
    }
    if (slen == 2 && !strncasecmp(url, "ws", 2)) {
        ws = "ws"; http = "http"; dflt = 80;
    }
    else if (slen == 4 && !strncasecmp(url, "http", 4)) {
        ws = "ws"; http = "http"; dflt = 80;
    }
    else if (slen == 3 && !strncasecmp(url, "wss", 3)) {
        ws = "wss"; http = "https"; dflt = 443; b->is_tls = 1;
    }
    else if (slen == 5 && !strncasecmp(url, "https", 5)) {
        ws = "wss"; http = "https"; dflt = 443; b->is_tls = 1;
    }
    else if (slen == 8 && !strncasecmp(url, "balancer", 8)) {
        const char *name = url + 11, *slash = ap_strchr_c(name, '/');
        apr_size_t nlen = slash ? (apr_size_t)(slash - name) : strlen(name);

        if (nlen == 0) {
            return apr_psprintf(cmd->pool, "%s: '%s' names no balancer; write "
                                "balancer://NAME/ and declare its members in "
                                "<Proxy balancer://NAME>", cmd->cmd->name, url);
        }
        b->is_balancer = 1;
        b->ws_base = b->http_base = apr_pstrcat(cmd->pool, "balancer://",
                                                apr_pstrmemdup(cmd->temp_pool,
                                                               name, nlen),
                                                NULL);
        b->path = slash ? apr_pstrdup(cmd->pool, slash) : "";
        return NULL;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: unknown scheme '%.*s' in '%s'; "
                            "use ws://, wss://, http://, https:// or "
                            "balancer://", cmd->cmd->name, (int)slen, url, url);
    }
    {
        /* The port, if any, of the authority (after an IPv6 literal). */
        const char *auth = scheme_end + 3;
        apr_size_t alen = strcspn(auth, "/?#");
        const char *close = memchr(auth, ']', alen);
        const char *colon = memchr(close ? close : auth, ':',
                                   alen - (apr_size_t)((close ? close : auth)
                                                       - auth));

        if (colon) {
            apr_size_t plen = alen - (apr_size_t)(colon + 1 - auth);
            apr_int64_t port = plen && plen < 6
                ? apr_atoi64(apr_pstrmemdup(cmd->temp_pool, colon + 1, plen))
                : 0;

            if (strspn(colon + 1, "0123456789") < plen || port < 1
                || port > 65535) {
                return apr_psprintf(cmd->pool, "%s: bad port '%.*s' in "
                                    "backend URL '%s' (a number from 1 to "
                                    "65535; leave it out for the scheme's "
                                    "default)", cmd->cmd->name, (int)plen,
                                    colon + 1, url);
            }
        }
    }
    if (apr_uri_parse(cmd->temp_pool, url, &u) != APR_SUCCESS
        || u.hostname == NULL || u.hostname[0] == '\0') {
        return apr_psprintf(cmd->pool, "%s: backend URL '%s' has no host "
                            "(%s)", cmd->cmd->name, url, WSGW_CONFIG_EXAMPLE);
    }
    if (u.query || u.fragment || u.user) {
        return apr_psprintf(cmd->pool, "%s: backend URL '%s' may not carry a "
                            "query, fragment or user name; the client's query "
                            "string is passed on by itself", cmd->cmd->name,
                            url);
    }
    {
        /* IPv6 literals keep their brackets in the authority. */
        const char *host = ap_strchr_c(u.hostname, ':')
            ? apr_pstrcat(cmd->temp_pool, "[", u.hostname, "]", NULL)
            : u.hostname;
        apr_port_t port = u.port_str ? u.port : dflt;

        b->ws_base = apr_psprintf(cmd->pool, "%s://%s:%u", ws,
                                  apr_pstrdup(cmd->pool, host), port);
        b->http_base = apr_psprintf(cmd->pool, "%s://%s:%u", http,
                                    apr_pstrdup(cmd->pool, host), port);
        if (port == dflt) {
            b->http_bare = apr_psprintf(cmd->pool, "%s://%s", http,
                                        apr_pstrdup(cmd->pool, host));
        }
    }
    b->path = u.path ? apr_pstrdup(cmd->pool, u.path) : "";
    return NULL;
}

/* Register workers and the reverse mapping of one backend. */
static const char *wsgw_config_backend_setup(cmd_parms *cmd,
                                             const wsgw_mapping_t *m,
                                             const wsgw_backend_t *b,
                                             int for_ws, int for_http,
                                             const char *params)
{
    int group = m->backends->nelts > 1;
    const char *err;
    const char *http_url = apr_pstrcat(cmd->pool, b->http_base,
                                       *b->path ? b->path : "/", NULL);

    if (b->is_balancer) {
        if (params && *params) {
            /* Balancer parameters; the balancer must exist already. */
            err = wsgw_config_invoke(cmd, "ProxySet",
                                     apr_pstrcat(cmd->temp_pool, b->ws_base,
                                                 " ", params, NULL),
                                     NULL, NULL);
            if (err) {
                return apr_psprintf(cmd->pool, "%s: %s (declare the balancer "
                                    "with <Proxy %s> and BalancerMember lines "
                                    "before this line)", cmd->cmd->name, err,
                                    b->ws_base);
            }
        }
    }
    else {
        if (for_ws) {
            err = wsgw_config_worker(cmd, apr_pstrcat(cmd->pool, b->ws_base,
                                                      *b->path ? b->path : "/",
                                                      NULL), params, group);
            if (err) {
                return err;
            }
        }
        if (for_http) {
            err = wsgw_config_worker(cmd, http_url, params, group);
            if (err) {
                return err;
            }
        }
    }
    if (for_http) {
        /* Location/Content-Location/URI of plain responses point back at us:
         * mod_proxy compares strings, so the backend URL is registered as
         * written and, on the scheme's default port, without the port; the
         * local side ends in '/' exactly when the backend side does, or
         * "/ws" + "/x" would give "/ws//x". */
        const char *urls[2];
        int n = 0, i;
        int slash = http_url[strlen(http_url) - 1] == '/';
        const char *fake = strcmp(m->path, "/")
            ? apr_pstrcat(cmd->pool, m->path, slash ? "/" : "", NULL) : "/";

        urls[n++] = http_url;
        if (b->http_bare) {
            urls[n++] = apr_pstrcat(cmd->pool, b->http_bare,
                                    *b->path ? b->path : "/", NULL);
        }
        for (i = 0; i < n; ++i) {
            err = cmd->path
                ? wsgw_config_invoke(cmd, "ProxyPassReverse", urls[i], NULL,
                                     NULL)
                : wsgw_config_invoke(cmd, "ProxyPassReverse", fake, urls[i],
                                     NULL);
            if (err) {
                return apr_psprintf(cmd->pool, "%s: %s", cmd->cmd->name, err);
            }
        }
    }
    return NULL;
}

/* Is this directive inside a <Location> (not a regex one)? */
static const char *wsgw_config_location_check(cmd_parms *cmd)
{
    const ap_directive_t *parent = cmd->directive ? cmd->directive->parent
                                                  : NULL;

    if (parent == NULL
        || strcasecmp(parent->directive, "<Location") != 0
        || cmd->path == NULL || cmd->path[0] == '~') {
        return apr_psprintf(cmd->pool, "%s is allowed in server config, "
                            "<VirtualHost> and <Location PATH> only (not in "
                            "<Directory>, <Files>, <LocationMatch> or "
                            "<Location ~>); write 'WSGatewayPass PATH URL' at "
                            "server level instead", cmd->cmd->name);
    }
    return NULL;
}


const char *wsgw_config_set_pass(cmd_parms *cmd, void *dconf,
                                 const char *args)
{
    wsgw_dir_conf_t *dc = dconf;
    wsgw_srv_conf_t *sc = wsgw_config_srv(cmd->server);
    wsgw_mapping_t *m = apr_pcalloc(cmd->pool, sizeof(*m));
    const char *params = "", *err, *word, *http_url = NULL;
    apr_array_header_t *urls = apr_array_make(cmd->temp_pool, 2,
                                              sizeof(const char *));
    int in_location = cmd->path != NULL, i;

    if (in_location && (err = wsgw_config_location_check(cmd)) != NULL) {
        return err;
    }
    m->where = apr_psprintf(cmd->pool, "%s:%d",
                            cmd->directive ? cmd->directive->filename : "?",
                            cmd->directive ? cmd->directive->line_num : 0);
    word = ap_getword_conf(cmd->temp_pool, &args);
    if (in_location) {
        if (word[0] == '/') {
            return apr_psprintf(cmd->pool, "%s inside <Location %s> takes no "
                                "PATH (the <Location> path is used): write "
                                "'%s URL ...'", cmd->cmd->name, cmd->path,
                                cmd->cmd->name);
        }
        m->path = wsgw_map_normalize(cmd->pool, cmd->path);
        if (m->path == NULL) {
            return apr_psprintf(cmd->pool, "%s: <Location %s> must be a path "
                                "starting with '/'", cmd->cmd->name, cmd->path);
        }
    }
    else {
        if (word[0] != '/') {
            return apr_psprintf(cmd->pool, "%s needs a PATH starting with '/' "
                                "first in server or VirtualHost context, got "
                                "'%s' (%s)", cmd->cmd->name, word,
                                WSGW_CONFIG_EXAMPLE);
        }
        m->path = wsgw_map_normalize(cmd->pool, word);
        word = ap_getword_conf(cmd->temp_pool, &args);
    }

    if (!strcmp(word, "!")) {
        if (*ap_getword_conf(cmd->temp_pool, &args)) {
            return apr_psprintf(cmd->pool, "%s %s ! takes nothing after '!'",
                                cmd->cmd->name, m->path);
        }
        m->excluded = 1;
    }
    else {
        for (; *word; word = ap_getword_conf(cmd->temp_pool, &args)) {
            const char *eq = ap_strchr_c(word, '=');
            const char *colon = ap_strchr_c(word, ':');

            if (eq && (colon == NULL || eq < colon)) {
                if (!strncasecmp(word, "http=", 5)) {
                    if (http_url) {
                        return apr_psprintf(cmd->pool, "%s: http= given twice",
                                            cmd->cmd->name);
                    }
                    http_url = word + 5;
                    if (*http_url == '\0') {
                        return apr_psprintf(cmd->pool, "%s: http= needs 'off' "
                                            "or a backend URL", cmd->cmd->name);
                    }
                }
                else {
                    params = apr_pstrcat(cmd->temp_pool, params, *params ? " "
                                         : "", word, NULL);
                }
            }
            else if (*params) {
                return apr_psprintf(cmd->pool, "%s: backend URL '%s' after "
                                    "key=value parameters; list every URL "
                                    "first", cmd->cmd->name, word);
            }
            else {
                APR_ARRAY_PUSH(urls, const char *) = word;
            }
        }
        if (urls->nelts == 0) {
            return apr_psprintf(cmd->pool, "%s %s: no backend URL (%s)",
                                cmd->cmd->name, m->path, WSGW_CONFIG_EXAMPLE);
        }
    }

    m->backends = apr_array_make(cmd->pool, urls->nelts,
                                 sizeof(wsgw_backend_t));
    for (i = 0; i < urls->nelts; ++i) {
        wsgw_backend_t *b = &APR_ARRAY_PUSH(m->backends, wsgw_backend_t);

        err = wsgw_config_backend(cmd, apr_pstrdup(cmd->pool,
                                                   APR_ARRAY_IDX(urls, i,
                                                                 const char *)),
                                  b);
        if (err) {
            return err;
        }
    }
    if (urls->nelts > 1) {
        for (i = 0; i < m->backends->nelts; ++i) {
            if (APR_ARRAY_IDX(m->backends, i, wsgw_backend_t).is_balancer) {
                return apr_psprintf(cmd->pool, "%s %s: a balancer:// URL "
                                    "cannot be part of a failover group; "
                                    "use either several ws:// URLs or one "
                                    "balancer (with lbset= for ordered "
                                    "groups)", cmd->cmd->name, m->path);
            }
        }
    }

    if (http_url == NULL) {
        m->http_mode = WSGW_HTTP_SAME;
    }
    else if (!strcasecmp(http_url, "off")) {
        m->http_mode = WSGW_HTTP_OFF;
    }
    else {
        m->http_mode = WSGW_HTTP_URL;
        err = wsgw_config_backend(cmd, apr_pstrdup(cmd->pool, http_url),
                                  &m->http_backend);
        if (err) {
            return err;
        }
    }

    for (i = 0; i < m->backends->nelts; ++i) {
        err = wsgw_config_backend_setup(cmd, m,
                                        &APR_ARRAY_IDX(m->backends, i,
                                                       wsgw_backend_t),
                                        1, m->http_mode == WSGW_HTTP_SAME,
                                        params);
        if (err) {
            return err;
        }
    }
    if (m->http_mode == WSGW_HTTP_URL) {
        err = wsgw_config_backend_setup(cmd, m, &m->http_backend, 0, 1,
                                        params);
        if (err) {
            return err;
        }
    }

    if (!m->excluded) {
        wsgw_status_register_mapping(cmd->pool, m);
    }
    if (in_location) {
        dc->mapping = m;
    }
    else {
        wsgw_map_entry_t *e;
        int j;

        for (j = 0; j < sc->map->nelts; ++j) {
            const wsgw_map_entry_t *o = &APR_ARRAY_IDX(sc->map, j,
                                                       wsgw_map_entry_t);
            if (!strcmp(o->path, m->path)) {
                return apr_psprintf(cmd->pool, "%s %s: this PATH is already "
                                    "mapped at %s; keep one line per PATH",
                                    cmd->cmd->name, m->path,
                                    ((const wsgw_mapping_t *)o->data)->where);
            }
        }
        e = &APR_ARRAY_PUSH(sc->map, wsgw_map_entry_t);
        e->path = m->path;
        e->len = strcmp(m->path, "/") ? strlen(m->path) : 0;
        e->excluded = m->excluded;
        e->data = m;
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Policy directives                                                   */

/* Parse a whole number of seconds, 0 allowed. */
/* @a zero says what 0 means, for the message ("0 turns it off"). */
static const char *wsgw_config_seconds(cmd_parms *cmd, const char *arg,
                                       apr_interval_time_t *out,
                                       const char *zero)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > 86400 * 365) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "(a whole number from 0 to 31536000; %s)",
                            cmd->cmd->name, arg, zero);
    }
    *out = apr_time_from_sec(v);
    return NULL;
}

static const char *wsgw_config_count(cmd_parms *cmd, const char *arg, int *out)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > 10000000) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a count (a whole "
                            "number from 0 to 10000000; 0 means no limit)",
                            cmd->cmd->name, arg);
    }
    *out = (int)v;
    return NULL;
}

const char *wsgw_config_set_idle_timeout(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    dc->idle_timeout_set = 1;
    return wsgw_config_seconds(cmd, arg, &dc->idle_timeout,
                               "0 turns it off");
}

const char *wsgw_config_set_max_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    dc->max_lifetime_set = 1;
    return wsgw_config_seconds(cmd, arg, &dc->max_lifetime,
                               "0 turns it off");
}

const char *wsgw_config_set_ping_interval(cmd_parms *cmd, void *dconf,
                                          const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    dc->ping_interval_set = 1;
    return wsgw_config_seconds(cmd, arg, &dc->ping_interval,
                               "0 turns it off");
}

const char *wsgw_config_set_ping_timeout(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    dc->ping_timeout_set = 1;
    return wsgw_config_seconds(cmd, arg, &dc->ping_timeout,
                               "0 means the ping interval, the default");
}

const char *wsgw_config_set_mode(cmd_parms *cmd, void *dconf, const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    if (!strcasecmp(arg, "frames")) {
        dc->mode = WSGW_MODE_FRAMES;
    }
    else if (!strcasecmp(arg, "tunnel")) {
        dc->mode = WSGW_MODE_TUNNEL;
    }
    else {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a mode; use 'frames' "
                            "(parse frame headers: pings, limits, close codes) "
                            "or 'tunnel' (copy bytes untouched)",
                            cmd->cmd->name, arg);
    }
    dc->mode_set = 1;
    return NULL;
}

const char *wsgw_config_set_max_message(cmd_parms *cmd, void *dconf,
                                        const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;
    char *end;
    apr_int64_t v, unit = 1;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (*end && !end[1]) {
        switch (apr_tolower(*end)) {
        case 'k': unit = 1024; ++end; break;
        case 'm': unit = 1024 * 1024; ++end; break;
        case 'g': unit = 1024 * 1024 * 1024; ++end; break;
        default: break;
        }
    }
    if (errno || end == arg || *end || v < 0 || v > APR_INT64_MAX / unit) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a size in bytes "
                            "(a whole number, optionally with K, M or G; 0 "
                            "means no limit)", cmd->cmd->name, arg);
    }
    dc->max_message = (apr_off_t)(v * unit);
    dc->max_message_set = 1;
    return NULL;
}

const char *wsgw_config_set_allow_origin(cmd_parms *cmd, void *dconf,
                                         const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;

    if (!strcmp(arg, "*")) {
        if (dc->allow_origin_set && dc->allow_origin) {
            return apr_psprintf(cmd->pool, "%s: '*' cannot be combined with "
                                "listed origins", cmd->cmd->name);
        }
        dc->allow_origin = NULL;
        dc->allow_origin_set = 1;
        return NULL;
    }
    if (dc->allow_origin_set && dc->allow_origin == NULL) {
        return apr_psprintf(cmd->pool, "%s: '*' cannot be combined with "
                            "listed origins", cmd->cmd->name);
    }
    if (strncasecmp(arg, "http://", 7) && strncasecmp(arg, "https://", 8)
        && strcasecmp(arg, "null")) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an origin; write it as "
                            "a browser sends it, e.g. https://app.example.com "
                            "(scheme, host, optional port, no path)",
                            cmd->cmd->name, arg);
    }
    if (ap_strchr_c(ap_strstr_c(arg, "://") ? ap_strstr_c(arg, "://") + 3
                                            : arg, '/')) {
        return apr_psprintf(cmd->pool, "%s: '%s' has a path; an origin is "
                            "scheme://host[:port] only", cmd->cmd->name, arg);
    }
    if (dc->allow_origin == NULL) {
        dc->allow_origin = apr_array_make(cmd->pool, 2, sizeof(const char *));
    }
    APR_ARRAY_PUSH(dc->allow_origin, const char *) = apr_pstrdup(cmd->pool,
                                                                 arg);
    dc->allow_origin_set = 1;
    return NULL;
}

const char *wsgw_config_set_max_conns(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;
    const char *err = wsgw_config_count(cmd, arg, &dc->max_conns);

    if (err == NULL && dc->max_conns > 0) {
        wsgw_status_limits_used(cmd->pool);
    }
    dc->max_conns_set = 1;
    return err;
}

const char *wsgw_config_set_max_conns_per_ip(cmd_parms *cmd, void *dconf,
                                             const char *arg)
{
    wsgw_dir_conf_t *dc = dconf;
    const char *err = wsgw_config_count(cmd, arg, &dc->max_conns_per_ip);

    if (err == NULL && dc->max_conns_per_ip > 0) {
        wsgw_status_limits_used(cmd->pool);
    }
    dc->max_conns_per_ip_set = 1;
    return err;
}

const char *wsgw_config_set_graceful_close(cmd_parms *cmd, void *dconf,
                                           const char *a1, const char *a2)
{
    wsgw_dir_conf_t *dc = dconf;

    if (!strcasecmp(a1, "off")) {
        if (a2) {
            return apr_psprintf(cmd->pool, "%s Off takes no SPREAD",
                                cmd->cmd->name);
        }
        dc->graceful_close = 0;
        dc->graceful_close_set = 1;
        return NULL;
    }
    if (strcasecmp(a1, "on")) {
        return apr_psprintf(cmd->pool, "%s: '%s' must be On or Off",
                            cmd->cmd->name, a1);
    }
    dc->graceful_spread = 0;
    if (a2) {
        const char *err = wsgw_config_seconds(cmd, a2, &dc->graceful_spread,
                                               "0: no spread");

        if (err) {
            return err;
        }
    }
    dc->graceful_close = 1;
    dc->graceful_close_set = 1;
    return NULL;
}

const char *wsgw_config_set_async(cmd_parms *cmd, void *dconf, int on)
{
    wsgw_dir_conf_t *dc = dconf;

    (void)cmd;
    dc->async = on;
    dc->async_set = 1;
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Startup checks                                                       */

void wsgw_config_each_mapping(server_rec *s, wsgw_config_mapping_fn *fn,
                              void *baton)
{
    for (; s; s = s->next) {
        const wsgw_srv_conf_t *sc = wsgw_config_srv(s);
        core_server_config *core = ap_get_core_module_config(s->module_config);
        const wsgw_mapping_t *m;
        int i;

        for (i = 0; sc->map && i < sc->map->nelts; ++i) {
            m = APR_ARRAY_IDX(sc->map, i, wsgw_map_entry_t).data;
            if (m && !m->excluded && m->backends) {
                fn(baton, s, m);
            }
        }
        for (i = 0; core->sec_url && i < core->sec_url->nelts; ++i) {
            const wsgw_dir_conf_t *dc = ap_get_module_config(
                APR_ARRAY_IDX(core->sec_url, i, ap_conf_vector_t *),
                &ws_gateway_module);

            m = dc ? dc->mapping : NULL;
            if (m && !m->excluded && m->backends) {
                fn(baton, s, m);
            }
        }
    }
}

/* State of the balancer check. */
typedef struct wsgw_config_bal_check_t {
    apr_pool_t *p;
    int         failed;
} wsgw_config_bal_check_t;

/* A balancer:// backend must name a declared balancer with members; else
 * every handshake would fail at run time (mod_proxy logs a DNS failure for
 * the balancer's name) although httpd started. */
static void wsgw_config_check_balancers(void *baton, server_rec *s,
                                        const wsgw_mapping_t *m)
{
    wsgw_config_bal_check_t *ck = baton;
    proxy_server_conf *psc = ap_get_module_config(s->module_config,
                                                  &proxy_module);
    int i;

    for (i = 0; i < m->backends->nelts; ++i) {
        const wsgw_backend_t *b = &APR_ARRAY_IDX(m->backends, i,
                                                 wsgw_backend_t);
        proxy_balancer *bal;

        if (!b->is_balancer) {
            continue;
        }
        bal = ap_proxy_get_balancer(ck->p, psc, b->ws_base, 0);
        if (bal && ((bal->workers && bal->workers->nelts > 0)
                    || bal->growth > 0)) {
            continue;
        }
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WSGW_LOGNO(00003)
                     "%s %s (%s): %s %s; declare its members with "
                     "<Proxy %s> BalancerMember ws://host:port ... </Proxy> "
                     "(or set growth= for members added at run time)",
                     WSGW_DIRECTIVE_PASS, m->path, m->where, b->ws_base,
                     bal ? "has no members" : "is not declared", b->ws_base);
        ck->failed = 1;
    }
}

/* Policy directives inside <Directory> or <Files> (and their Match forms)
 * would be accepted by httpd but never apply: a proxied request walks
 * <Location> and <Proxy> sections only. Returns how many were found, each
 * logged with where it is. */
static int wsgw_config_check_sections(const ap_directive_t *d,
                                      const char *section, server_rec *s)
{
    static const char *const dead[] = { "<Directory", "<DirectoryMatch",
                                        "<Files", "<FilesMatch", NULL };
    int bad = 0, i;

    for (; d; d = d->next) {
        const char *inside = section;

        for (i = 0; dead[i] && !inside; ++i) {
            if (!strcasecmp(d->directive, dead[i])) {
                inside = dead[i];
            }
        }
        if (inside && !strncasecmp(d->directive, "WSGateway", 9)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WSGW_LOGNO(00004)
                         "%s (%s:%d) is inside %s>, where it would never "
                         "apply (a proxied request walks no <Directory> or "
                         "<Files>): move it into a <Location> (or the "
                         "server or <VirtualHost>)", d->directive,
                         d->filename, d->line_num, inside);
            ++bad;
        }
        bad += wsgw_config_check_sections(d->first_child, inside, s);
    }
    return bad;
}

/* Frames-mode policy where the effective mode is tunnel: accepted (a
 * <Location> may switch modes back and forth) but worth a warning. */
static void wsgw_config_warn_tunnel(server_rec *s,
                                    const wsgw_dir_conf_t *dc,
                                    const char *where)
{
    int both = dc->ping_interval && dc->max_message;

    if (dc->mode != WSGW_MODE_TUNNEL
        || (!dc->ping_interval && !dc->max_message)) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, WSGW_LOGNO(00005)
                 "%s%s%s %s no effect in %s: %s is tunnel there, which "
                 "copies bytes without reading frames; use '%s frames' or "
                 "leave %s out", dc->ping_interval
                 ? WSGW_DIRECTIVE_PING_INTERVAL : "", both ? " and " : "",
                 dc->max_message ? WSGW_DIRECTIVE_MAX_MESSAGE : "",
                 both ? "have" : "has", where, WSGW_DIRECTIVE_MODE,
                 WSGW_DIRECTIVE_MODE, both ? "them" : "it");
}

/* WSGW00005 for every server, virtual host and <Location> whose effective
 * mode is tunnel but that sets frames-mode policy. */
static void wsgw_config_warn_modes(apr_pool_t *p, server_rec *s)
{
    const wsgw_dir_conf_t *main = ap_get_module_config(s->lookup_defaults,
                                                       &ws_gateway_module);
    apr_hash_t *seen = apr_hash_make(p);
    server_rec *vs;

    for (vs = s; vs; vs = vs->next) {
        const wsgw_dir_conf_t *base = ap_get_module_config(
            vs->lookup_defaults, &ws_gateway_module);
        core_server_config *core = ap_get_core_module_config(
            vs->module_config);
        int i;

        /* A virtual host inherits the server's: warn once, where set. */
        if (vs == s || base->mode != main->mode
            || base->ping_interval != main->ping_interval
            || base->max_message != main->max_message) {
            wsgw_config_warn_tunnel(vs, base, vs->is_virtual
                                    ? apr_psprintf(p, "<VirtualHost %s:%u>",
                                                   vs->server_hostname,
                                                   (unsigned)vs->port)
                                    : "the server config");
        }
        /* A virtual host's list has the server's sections too. */
        for (i = 0; core->sec_url && i < core->sec_url->nelts; ++i) {
            ap_conf_vector_t *sec = APR_ARRAY_IDX(core->sec_url, i,
                                                  ap_conf_vector_t *);
            const wsgw_dir_conf_t *dc = ap_get_module_config(
                sec, &ws_gateway_module);
            const core_dir_config *cd = ap_get_core_module_config(sec);

            if (apr_hash_get(seen, &sec, sizeof(sec))) {
                continue;
            }
            apr_hash_set(seen, apr_pmemdup(p, &sec, sizeof(sec)),
                         sizeof(sec), "");
            if (dc && (dc->mode_set || dc->ping_interval_set
                       || dc->max_message_set)) {
                wsgw_config_warn_tunnel(vs, wsgw_config_merge_dir(
                                            p, (void *)base, (void *)dc),
                                        apr_psprintf(p, "<Location %s>",
                                                     cd->d));
            }
        }
    }
}

int wsgw_config_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s)
{
    wsgw_config_bal_check_t ck;

    if (wsgw_config_check_sections(ap_conftree, NULL, s)) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Warnings once: at `httpd -t`, else not in the trial pass at start. */
    if (ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST
        || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG) {
        wsgw_config_warn_modes(ptemp, s);
    }
    if (!ap_find_linked_module("mod_proxy.c")) {
        return OK;      /* wsgw_config_post_config says so */
    }
    ck.p = ptemp;
    ck.failed = 0;
    wsgw_config_each_mapping(s, wsgw_config_check_balancers, &ck);
    return ck.failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

int wsgw_config_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s)
{
    server_rec *vs;
    int any = 0;

    for (vs = s; vs; vs = vs->next) {
        if (wsgw_config_srv(vs)->map->nelts) {
            any = 1;
        }
    }
    if (!ap_find_linked_module("mod_proxy.c")) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WSGW_LOGNO(00001)
                     "mod_proxy is not loaded: load it before mod_ws_gateway "
                     "(a2enmod proxy, or LoadModule proxy_module ...)");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!ap_find_linked_module("mod_proxy_http.c")) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WSGW_LOGNO(00002)
                     "mod_proxy_http is not loaded: WSGatewayPass proxies "
                     "plain HTTP requests through it; a2enmod proxy_http, or "
                     "LoadModule proxy_http_module ...");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    (void)any;
    return OK;
}
