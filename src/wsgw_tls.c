/*
 * TLS towards backends.
 *
 * A wss:// or https:// backend needs a proxy TLS engine: with mod_ssl,
 * 'SSLProxyEngine on' in the server (VirtualHost) that receives the request
 * or in a <Proxy> section matching the backend URL. Without it, mod_proxy
 * logs AH01961 and answers 500 to every request. The startup check below
 * asks the TLS module itself, the way mod_proxy will at request time: it
 * builds the per-directory configuration mod_proxy's <Proxy> walk would
 * (the server's defaults merged with every matching <Proxy> section) and
 * runs the ssl_bind_outgoing hook on a scratch connection. mod_ssl answers
 * from its final (post_config) settings, so this runs after mod_ssl's and
 * mod_proxy's post_config. `httpd -t` runs no post_config hook, so the
 * check runs at (re)start only.
 *
 * Certificate verification and SNI are mod_ssl's (SSLProxyVerify,
 * SSLProxyCACertificateFile, SSLProxyCheckPeerName; SNI is the backend
 * URL's host name, set by mod_proxy); a handshake that fails is diagnosed
 * here for the log, and the caller treats it as a member failure.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_ssl.h"
#include "mod_proxy.h"
#include <apr_fnmatch.h>
#include <apr_strings.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_tls.h"

/* State of one run of the startup check. */
typedef struct wsgw_tls_check_t {
    apr_pool_t *p;
    server_rec *s;              /* server whose requests are checked */
    int         have_engine;    /* some module offers outgoing TLS */
    int         can_probe;      /* ...through the ssl_bind_outgoing hook */
    int         no_engine_logged;
    int         failed;
} wsgw_tls_check_t;

/* The per-directory configuration mod_proxy uses for a request to @a url
 * in server @a s: the server's defaults merged with every matching <Proxy>
 * or <ProxyMatch> section, as mod_proxy's proxy_walk does. */
static ap_conf_vector_t *wsgw_tls_dir_config(apr_pool_t *p, server_rec *s,
                                             const char *url)
{
    proxy_server_conf *psc = ap_get_module_config(s->module_config,
                                                  &proxy_module);
    ap_conf_vector_t *dconf = s->lookup_defaults;
    ap_conf_vector_t **sec;
    int i;

    if (psc == NULL || psc->sec_proxy == NULL) {
        return dconf;
    }
    sec = (ap_conf_vector_t **)psc->sec_proxy->elts;
    for (i = 0; i < psc->sec_proxy->nelts; ++i) {
        proxy_dir_conf *pdc = ap_get_module_config(sec[i], &proxy_module);
        int match;

        if (pdc->r) {
            match = !ap_regexec(pdc->r, url, 0, NULL, 0);
        }
        else if (pdc->p_is_fnmatch) {
            match = !apr_fnmatch(pdc->p, url, 0);
        }
        else {
            match = !strncmp(url, pdc->p, strlen(pdc->p));
        }
        if (match) {
            dconf = ap_merge_per_dir_configs(p, dconf, sec[i]);
        }
    }
    return dconf;
}

/* Would the TLS module enable TLS on a backend connection of server @a s
 * with per-directory configuration @a dconf? Asked on a scratch
 * connection that never sees a socket. */
static int wsgw_tls_engine_on(apr_pool_t *p, server_rec *s,
                              ap_conf_vector_t *dconf)
{
    conn_rec *c = apr_pcalloc(p, sizeof(*c));

    c->pool = p;
    c->base_server = s;
    c->conn_config = ap_create_conn_config(p);
    c->notes = apr_table_make(p, 2);
    c->bucket_alloc = apr_bucket_alloc_create(p);
    c->client_ip = c->local_ip = "-";
    c->outgoing = 1;
    return ap_run_ssl_bind_outgoing(c, dconf, 1) == OK;
}

/* Where server @a s is defined, for messages. */
static const char *wsgw_tls_server_name(apr_pool_t *p, const server_rec *s)
{
    if (!s->is_virtual) {
        return "the main server configuration";
    }
    return apr_psprintf(p, "<VirtualHost> %s (%s:%u)",
                        s->server_hostname ? s->server_hostname : "?",
                        s->defn_name ? s->defn_name : "?",
                        s->defn_line_number);
}

/* Check that requests of mapping @a m in ck->s to @a url (the URL
 * mod_proxy walks <Proxy> sections with) can use TLS to @a backend. */
static void wsgw_tls_check_url(wsgw_tls_check_t *ck, const wsgw_mapping_t *m,
                               const char *url, const char *backend,
                               const char *what)
{
    if (!ck->have_engine) {
        if (!ck->no_engine_logged) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ck->s, WSGW_LOGNO(00402)
                         "%s %s (%s) sends %s to %s over TLS, but no loaded "
                         "module offers TLS to backends: load mod_ssl "
                         "(a2enmod ssl, or LoadModule ssl_module ...) and "
                         "add 'SSLProxyEngine on'", WSGW_DIRECTIVE_PASS,
                         m->path, m->where, what, backend);
            ck->no_engine_logged = 1;
        }
        ck->failed = 1;
        return;
    }
    if (!ck->can_probe
        || wsgw_tls_engine_on(ck->p, ck->s,
                              wsgw_tls_dir_config(ck->p, ck->s, url))) {
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, ck->s, WSGW_LOGNO(00401)
                 "%s %s (%s) sends %s to %s over TLS, but SSLProxyEngine is "
                 "not on for it in %s: add 'SSLProxyEngine on' there (or in "
                 "a <Proxy %s> section), with SSLProxyCACertificateFile naming "
                 "the CA that signed the backend's certificate",
                 WSGW_DIRECTIVE_PASS, m->path, m->where, what, backend,
                 wsgw_tls_server_name(ck->p, ck->s), url);
    ck->failed = 1;
}

/* Check one backend of a mapping: its WebSocket side when @a ws, its
 * plain HTTP side when @a http. */
static void wsgw_tls_check_backend(wsgw_tls_check_t *ck,
                                   const wsgw_mapping_t *m,
                                   const wsgw_backend_t *b, int ws, int http)
{
    const char *path = *b->path ? b->path : "/";

    if (b->is_balancer) {
        proxy_server_conf *psc = ap_get_module_config(ck->s->module_config,
                                                      &proxy_module);
        proxy_balancer *bal = ap_proxy_get_balancer(ck->p, psc, b->ws_base, 0);
        proxy_worker **w;
        int i;

        if (bal == NULL || bal->workers == NULL) {
            return;     /* mod_proxy reports a missing balancer itself */
        }
        w = (proxy_worker **)bal->workers->elts;
        for (i = 0; i < bal->workers->nelts; ++i) {
            if (!strcasecmp(w[i]->s->scheme, "wss")
                || !strcasecmp(w[i]->s->scheme, "https")) {
                wsgw_tls_check_url(ck, m, apr_pstrcat(ck->p, b->ws_base, path,
                                                      NULL),
                                   w[i]->s->name_ex,
                                   "requests for a balancer member");
            }
        }
        return;
    }
    if (!b->is_tls) {
        return;
    }
    if (ws) {
        wsgw_tls_check_url(ck, m, apr_pstrcat(ck->p, b->ws_base, path, NULL),
                           b->ws_base, "WebSockets");
    }
    if (http) {
        wsgw_tls_check_url(ck, m, apr_pstrcat(ck->p, b->http_base, path, NULL),
                           b->http_base, "plain requests");
    }
}

static void wsgw_tls_check_mapping(void *baton, server_rec *s,
                                   const wsgw_mapping_t *m)
{
    wsgw_tls_check_t *ck = baton;
    int i;

    ck->s = s;
    for (i = 0; i < m->backends->nelts; ++i) {
        wsgw_tls_check_backend(ck, m,
                               &APR_ARRAY_IDX(m->backends, i, wsgw_backend_t),
                               1, m->http_mode == WSGW_HTTP_SAME);
    }
    if (m->http_mode == WSGW_HTTP_URL) {
        wsgw_tls_check_backend(ck, m, &m->http_backend, 0, 1);
    }
}

static int wsgw_tls_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    wsgw_tls_check_t ck;
    apr_array_header_t *hooks = ap_hook_get_ssl_bind_outgoing();

    if (!ap_find_linked_module("mod_proxy.c")) {
        return OK;      /* wsgw_config_post_config says so */
    }
    memset(&ck, 0, sizeof(ck));
    ck.p = ptemp;
    ck.have_engine = ap_ssl_has_outgoing_handlers();
    /* A module with only the old optional functions cannot be asked. */
    ck.can_probe = hooks && hooks->nelts > 0;
    wsgw_config_each_mapping(s, wsgw_tls_check_mapping, &ck);
    return ck.failed ? HTTP_INTERNAL_SERVER_ERROR : OK;
}

int wsgw_tls_handshake_failed(request_rec *r, conn_rec *origin,
                              const proxy_worker *worker)
{
    const char *rv = origin ? apr_table_get(origin->notes, "SSL_connect_rv")
                            : NULL;

    if (rv == NULL || strcmp(rv, "err") != 0) {
        return 0;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00403)
                  "TLS handshake with backend %s failed for %s: if its "
                  "certificate is signed by a CA not trusted here, name that "
                  "CA with SSLProxyCACertificateFile; if it is for another "
                  "name, use that name in the backend URL "
                  "(SSLProxyCheckPeerName); mod_ssl's messages for this "
                  "connection say which (LogLevel ssl:info)",
                  worker->s->name_ex, r->uri);
    return 1;
}

void wsgw_tls_register_hooks(apr_pool_t *p)
{
    /* mod_ssl settles SSLProxyEngine in its post_config, mod_proxy then
     * merges it into the <Proxy> sections (section_post_config). */
    static const char *const wsgw_tls_pc_pred[] = { "mod_ssl.c",
                                                    "mod_proxy.c", NULL };

    (void)p;
    ap_hook_post_config(wsgw_tls_post_config, wsgw_tls_pc_pred, NULL,
                        APR_HOOK_MIDDLE);
}
