/*
 * mod_proxy glue: request mapping (translate_name) and the scheme handler.
 *
 * A request under a WSGatewayPass PATH enters mod_proxy's normal path
 * (r->filename "proxy:URL", handler "proxy-server"), so <Proxy> sections,
 * workers and balancers apply. WebSocket handshakes get a ws:// URL and our
 * scheme handler, registered before mod_proxy_wstunnel and mod_proxy_http,
 * claims them by the marker in r->request_config; plain requests get an
 * http:// URL and go to mod_proxy_http untouched.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_proxy.h"
#include <apr_strings.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_handshake.h"
#include "wsgw_proxy.h"
#include "wsgw_failover.h"
#include "wsgw_status.h"

wsgw_proxy_req_t *wsgw_proxy_req(const request_rec *r)
{
    return ap_get_module_config(r->request_config, &ws_gateway_module);
}

/* Connection: upgrade and Upgrade: websocket, as token lists. */
static int wsgw_proxy_is_handshake(const request_rec *r)
{
    return wsgw_token_list_has(apr_table_get(r->headers_in, "Upgrade"),
                               "websocket")
        && wsgw_token_list_has(apr_table_get(r->headers_in, "Connection"),
                               "upgrade");
}

static int wsgw_proxy_translate(request_rec *r)
{
    const wsgw_srv_conf_t *sc = wsgw_config_srv(r->server);
    const wsgw_dir_conf_t *dc = wsgw_config_dir(r);
    const wsgw_map_entry_t *e;
    const wsgw_mapping_t *m = NULL;
    const wsgw_backend_t *b;
    wsgw_proxy_req_t *pr;
    apr_size_t mlen = 0;
    const char *base, *path;

    if (r->proxyreq || r->uri == NULL || r->uri[0] != '/') {
        return DECLINED;
    }
    e = wsgw_map_lookup(sc->map, r->uri);
    if (e) {
        m = e->data;
        mlen = e->len;
    }
    if (dc && dc->mapping) {
        /* The <Location> form: the early location walk already picked the
         * section; it competes with server-level PATHs by length, and wins
         * a tie as the more specific context. */
        apr_size_t llen = strcmp(dc->mapping->path, "/")
                          ? strlen(dc->mapping->path) : 0;

        if (wsgw_map_covers(dc->mapping->path, llen, r->uri)
            && (m == NULL || llen >= mlen)) {
            m = dc->mapping;
            mlen = llen;
        }
    }
    if (m == NULL || m->excluded) {
        return DECLINED;
    }

    pr = apr_pcalloc(r->pool, sizeof(*pr));
    pr->mapping = m;
    pr->handshake = wsgw_proxy_is_handshake(r);
    b = &APR_ARRAY_IDX(m->backends, 0, wsgw_backend_t);
    if (pr->handshake || m->http_mode == WSGW_HTTP_OFF) {
        base = b->ws_base;
    }
    else if (m->http_mode == WSGW_HTTP_URL) {
        b = &m->http_backend;
        base = b->http_base;
    }
    else {
        base = b->http_base;
    }
    pr->backend = b;
    path = wsgw_map_join(r->pool, b->path, r->uri + mlen);
    ap_set_module_config(r->request_config, &ws_gateway_module, pr);

    r->filename = apr_pstrcat(r->pool, "proxy:", base, path, NULL);
    r->handler = "proxy-server";
    r->proxyreq = PROXYREQ_REVERSE;
    ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, r,
                  "ws_gateway: %s mapped by %s (%s) to %s",
                  r->uri, m->path, m->where, r->filename);
    return OK;
}

/* RFC 6455 §4.2.1 checks on the client's handshake, plus the Origin
 * policy. Returns OK or the HTTP status to answer with. */
static int wsgw_proxy_check_handshake(request_rec *r, const wsgw_dir_conf_t *dc)
{
    const char *key, *version, *origin;
    int h2 = r->connection->master != NULL;

    if (strcmp(r->method, "GET") != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00101)
                      "client asked for a WebSocket upgrade with method %s: "
                      "only GET may upgrade (RFC 6455 §4.1); answering 400",
                      r->method);
        return HTTP_BAD_REQUEST;
    }
    if (r->proto_num < HTTP_VERSION(1, 1)
        || (r->proto_num >= HTTP_VERSION(2, 0) && !h2)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00102)
                      "client asked for a WebSocket upgrade over %s: it "
                      "needs HTTP/1.1 (or HTTP/2 extended CONNECT); "
                      "answering 400", r->protocol);
        return HTTP_BAD_REQUEST;
    }
    if (!h2) {
        /* An HTTP/1.1 handshake has no body: bytes after its headers are
         * the client's first frames, which a body would pass off as. */
        const char *cl = apr_table_get(r->headers_in, "Content-Length");
        const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");

        if (te || (cl && strspn(cl, "0") != strlen(cl))) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00107)
                          "client's WebSocket upgrade request has a body "
                          "(%s: %s): a handshake has none; answering 400",
                          te ? "Transfer-Encoding" : "Content-Length",
                          te ? te : cl);
            return HTTP_BAD_REQUEST;
        }
    }
    key = apr_table_get(r->headers_in, "Sec-WebSocket-Key");
    if (!wsgw_handshake_key_valid(key)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00103)
                      "client's Sec-WebSocket-Key is %s%s%s: it must be the "
                      "base64 of 16 random bytes; answering 400",
                      key ? "'" : "missing", key ? key : "", key ? "'" : "");
        return HTTP_BAD_REQUEST;
    }
    version = apr_table_get(r->headers_in, "Sec-WebSocket-Version");
    if (version == NULL || strcmp(version, "13") != 0) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00104)
                      "client asked for WebSocket version %s: only 13 is "
                      "spoken (RFC 6455); answering 426",
                      version ? version : "(none)");
        apr_table_setn(r->err_headers_out, "Sec-WebSocket-Version", "13");
        return HTTP_UPGRADE_REQUIRED;
    }
    origin = apr_table_get(r->headers_in, "Origin");
    if (dc->allow_origin && origin) {
        int i, ok = 0;

        for (i = 0; i < dc->allow_origin->nelts && !ok; ++i) {
            ok = !strcasecmp(origin, APR_ARRAY_IDX(dc->allow_origin, i,
                                                   const char *));
        }
        if (!ok) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00105)
                          "WebSocket handshake from Origin '%s' refused by "
                          "%s; add it to that directive if this site may "
                          "connect; answering 403", origin,
                          WSGW_DIRECTIVE_ALLOW_ORIGIN);
            return HTTP_FORBIDDEN;
        }
    }
    return OK;
}

static int wsgw_proxy_handler(request_rec *r, proxy_worker *worker,
                              proxy_server_conf *conf, char *url,
                              const char *proxyname, apr_port_t proxyport)
{
    wsgw_proxy_req_t *pr = wsgw_proxy_req(r);
    const wsgw_dir_conf_t *dc;
    int status;

    if (pr == NULL || pr->in_attempt) {
        return DECLINED;        /* not ours, or a member attempt of ours */
    }
    if (!pr->handshake) {
        if (pr->mapping->http_mode == WSGW_HTTP_SAME) {
            /* mod_proxy_http serves plain requests; with several members
             * we walk them in order. */
            return wsgw_failover_http(r, worker, conf, url, proxyname,
                                      proxyport, pr);
        }
        if (pr->mapping->http_mode == WSGW_HTTP_URL) {
            return DECLINED;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, WSGW_LOGNO(00106)
                      "plain %s request under %s (http=off): answering 426",
                      r->method, pr->mapping->path);
        apr_table_setn(r->err_headers_out, "Upgrade", "websocket");
        apr_table_setn(r->err_headers_out, "Connection", "Upgrade");
        return HTTP_UPGRADE_REQUIRED;
    }
    dc = wsgw_config_dir(r);
    status = wsgw_proxy_check_handshake(r, dc);
    if (status != OK) {
        /* The connection is in an unknown state for a client that meant
         * to switch protocols: do not keep it alive. */
        r->connection->keepalive = AP_CONN_CLOSE;
        wsgw_status_fail(r, pr->mapping,
                         status == HTTP_FORBIDDEN ? WSGW_FAIL_ORIGIN
                         : status == HTTP_UPGRADE_REQUIRED ? WSGW_FAIL_VERSION
                         : WSGW_FAIL_BAD_REQUEST);
        return status;
    }
    if (pr->stat == NULL) {
        /* Once per client request, whatever mod_proxy's balancer loop
         * does: counted active until the request ends. */
        status = wsgw_status_admit(r, pr->mapping, dc, &pr->stat);
        if (status != OK) {
            r->connection->keepalive = AP_CONN_CLOSE;
            return status;
        }
    }
    return wsgw_failover_upgrade(r, worker, conf, url, proxyname, proxyport,
                                 pr, dc);
}

static int wsgw_proxy_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    return wsgw_config_check_config(pconf, plog, ptemp, s);
}

static int wsgw_proxy_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp, server_rec *s)
{
    return wsgw_config_post_config(pconf, plog, ptemp, s);
}

void wsgw_proxy_register_hooks(apr_pool_t *p)
{
    /* mod_rewrite has its say first, as with ProxyPass; we map before
     * mod_proxy's own ProxyPass lines. */
    static const char *const wsgw_proxy_trans_pred[] = { "mod_rewrite.c",
                                                         NULL };
    static const char *const wsgw_proxy_trans_succ[] = { "mod_proxy.c", NULL };
    /* Claim our requests before mod_proxy_wstunnel and mod_proxy_http. */
    static const char *const wsgw_proxy_handler_succ[] = {
        "mod_proxy_wstunnel.c", "mod_proxy_http.c", NULL };

    ap_hook_translate_name(wsgw_proxy_translate, wsgw_proxy_trans_pred,
                           wsgw_proxy_trans_succ, APR_HOOK_FIRST);
    proxy_hook_scheme_handler(wsgw_proxy_handler, NULL,
                              wsgw_proxy_handler_succ, APR_HOOK_FIRST);
    ap_hook_check_config(wsgw_proxy_check_config, NULL, NULL,
                         APR_HOOK_MIDDLE);
    ap_hook_post_config(wsgw_proxy_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}
