/*
 * The gateway's own upgrade request to a backend and the judgement of its
 * answer (RFC 6455 §4.1, SPEC §4):
 *
 * - WebSocket is hop-by-hop: we send our own "Upgrade: websocket" and
 *   "Connection: Upgrade" with the client's end-to-end headers
 *   (Sec-WebSocket-*, Origin, cookies) and X-Forwarded-*;
 * - only a 101 whose Sec-WebSocket-Accept matches the key becomes a tunnel;
 *   a 101 with a bad accept and any 2xx answer are a 502; any other answer
 *   is relayed as an ordinary HTTP response and the client connection is
 *   closed afterwards, so nothing can be smuggled past httpd.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_ssl.h"
#include "mod_proxy.h"
#include <apr_strings.h>

#include "wsgw.h"
#include "wsgw_frame.h"
#include "wsgw_handshake.h"
#include "wsgw_status.h"
#include "wsgw_tls.h"
#include "wsgw_reactor.h"
#include "wsgw_tunnel.h"
#include "wsgw_upgrade.h"

/* Interim (1xx) answers a backend may send before its real one. */
#define WSGW_UPGRADE_MAX_INTERIM 10

/* A request_rec that reads the backend's response with httpd's parsers. */
static request_rec *wsgw_upgrade_response_req(conn_rec *origin,
                                              request_rec *r)
{
    request_rec *rp = apr_pcalloc(r->pool, sizeof(*rp));

    rp->pool = r->pool;
    rp->status = HTTP_OK;
    rp->headers_in = apr_table_make(r->pool, 16);
    rp->trailers_in = apr_table_make(r->pool, 2);
    rp->subprocess_env = apr_table_make(r->pool, 4);
    rp->headers_out = apr_table_make(r->pool, 4);
    rp->trailers_out = apr_table_make(r->pool, 2);
    rp->err_headers_out = apr_table_make(r->pool, 2);
    rp->notes = apr_table_make(r->pool, 2);
    rp->server = r->server;
    rp->log = r->log;
    rp->per_dir_config = r->per_dir_config;
    rp->request_time = r->request_time;
    rp->connection = origin;
    rp->output_filters = rp->proto_output_filters = origin->output_filters;
    rp->input_filters = rp->proto_input_filters = origin->input_filters;
    rp->useragent_ip = origin->client_ip;
    rp->useragent_addr = origin->client_addr;
    rp->request_config = ap_create_request_config(r->pool);
    /* Tells HTTP_IN that a body without length runs to the close. */
    rp->proxyreq = PROXYREQ_RESPONSE;
    return rp;
}

/* Parse "HTTP/1.x NNN reason"; returns the status or -1. */
static int wsgw_upgrade_status_line(const char *line, const char **reason)
{
    int status;

    if (strncmp(line, "HTTP/1.", 7) != 0 || !apr_isdigit(line[7])
        || line[8] != ' ' || !apr_isdigit(line[9]) || !apr_isdigit(line[10])
        || !apr_isdigit(line[11]) || (line[12] != ' ' && line[12] != '\0')) {
        return -1;
    }
    status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (status < 100 || status > 599) {
        return -1;
    }
    *reason = line[12] ? line + 13 : "";
    return status;
}

/* Is @a name a hop-by-hop header of the response @a headers? */
static int wsgw_upgrade_hop_by_hop(const char *name, apr_table_t *headers)
{
    static const char *const fixed[] = {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "Proxy-Authenticate", NULL
    };
    int i;

    for (i = 0; fixed[i]; ++i) {
        if (!strcasecmp(name, fixed[i])) {
            return 1;
        }
    }
    return wsgw_token_list_has(apr_table_get(headers, "Connection"), name);
}

/* What the answer to the client carries over from the backend's. */
static void wsgw_upgrade_copy_headers(request_rec *r, apr_table_t *from,
                                      apr_table_t *to, int rewrite)
{
    const apr_array_header_t *arr = apr_table_elts(from);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    proxy_dir_conf *pdc = ap_get_module_config(r->per_dir_config,
                                               &proxy_module);
    int i;

    for (i = 0; i < arr->nelts; ++i) {
        const char *val = e[i].val;

        if (e[i].key == NULL || wsgw_upgrade_hop_by_hop(e[i].key, from)) {
            continue;
        }
        if (rewrite && (!strcasecmp(e[i].key, "Location")
                        || !strcasecmp(e[i].key, "Content-Location")
                        || !strcasecmp(e[i].key, "URI"))) {
            val = ap_proxy_location_reverse_map(r, pdc, val);
        }
        apr_table_add(to, e[i].key, val);
    }
}

/* Send our upgrade request on @a backend. */
static int wsgw_upgrade_send_request(request_rec *r, proxy_conn_rec *backend,
                                     proxy_worker *worker,
                                     proxy_server_conf *conf, apr_uri_t *uri,
                                     char *locurl, char *server_portstr)
{
    conn_rec *origin = backend->connection;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, origin->bucket_alloc);
    proxy_dir_conf *pdc = ap_get_module_config(r->per_dir_config,
                                               &proxy_module);
    apr_table_t *saved = r->headers_in;
    char *old_cl = NULL, *old_te = NULL;
    const char *tail;
    int status;

    /* X-Forwarded-Proto is ours to state, never the client's to claim. */
    r->headers_in = apr_table_copy(r->pool, saved);
    apr_table_unset(r->headers_in, "X-Forwarded-Proto");
    if (pdc == NULL || pdc->add_forwarded_headers) {
        conn_rec *front = r->connection->master ? r->connection->master
                                                : r->connection;

        apr_table_setn(r->headers_in, "X-Forwarded-Proto",
                       ap_ssl_conn_is_ssl(front) ? "https" : "http");
    }
    status = ap_proxy_create_hdrbrgd(r->pool, bb, r, backend, worker, conf,
                                     uri, locurl, server_portstr, &old_cl,
                                     &old_te);
    r->headers_in = saved;
    if (status != OK) {
        apr_brigade_cleanup(bb);    /* its buckets die with the backend */
        return status;
    }
    tail = "Upgrade: websocket" CRLF "Connection: Upgrade" CRLF CRLF;
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(tail, strlen(tail),
                                                           origin->bucket_alloc));
    return ap_proxy_pass_brigade(origin->bucket_alloc, r, backend, origin, bb,
                                 1);
}

/* Relay a non-101 answer as an ordinary response, then close the client
 * connection: it never becomes a tunnel. */
static int wsgw_upgrade_relay(request_rec *r, request_rec *rp, int status,
                              const char *reason)
{
    apr_bucket_brigade *in = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    apr_bucket_brigade *out = apr_brigade_create(r->pool,
                                                 r->connection->bucket_alloc);
    const char *ct = apr_table_get(rp->headers_in, "Content-Type");
    apr_status_t rv = APR_SUCCESS;
    int eos = 0;

    r->connection->keepalive = AP_CONN_CLOSE;
    r->status = status;
    r->status_line = apr_psprintf(r->pool, "%d %s", status,
                                  *reason ? reason : "Unknown Reason");
    wsgw_upgrade_copy_headers(r, rp->headers_in, r->headers_out, 1);
    apr_table_unset(r->headers_out, "Content-Length");
    apr_table_unset(r->headers_out, "Content-Type");
    if (ct) {
        ap_set_content_type(r, apr_pstrdup(r->pool, ct));
    }
    if (status == HTTP_NO_CONTENT || status == HTTP_NOT_MODIFIED) {
        return OK;
    }
    ap_add_input_filter("HTTP_IN", NULL, rp, rp->connection);
    while (!eos) {
        apr_bucket *b;

        rv = ap_get_brigade(rp->input_filters, in, AP_MODE_READBYTES,
                            APR_BLOCK_READ, AP_IOBUFSIZE);
        if (rv != APR_SUCCESS) {
            break;
        }
        while (!APR_BRIGADE_EMPTY(in)) {
            const char *data;
            apr_size_t len;

            b = APR_BRIGADE_FIRST(in);
            if (APR_BUCKET_IS_EOS(b)) {
                eos = 1;
                apr_bucket_delete(b);
                continue;
            }
            if (!APR_BUCKET_IS_METADATA(b)) {
                rv = apr_bucket_read(b, &data, &len, APR_BLOCK_READ);
                if (rv != APR_SUCCESS) {
                    break;
                }
                apr_brigade_write(out, NULL, NULL, data, len);
            }
            apr_bucket_delete(b);
        }
        if (rv != APR_SUCCESS) {
            break;
        }
        if (!APR_BRIGADE_EMPTY(out)) {
            if (ap_pass_brigade(r->output_filters, out) != APR_SUCCESS) {
                apr_brigade_cleanup(in);
                return OK;      /* the client left; nothing more to do */
            }
            apr_brigade_cleanup(out);
        }
    }
    apr_brigade_cleanup(in);    /* the backend's buckets, see done: */
    if (rv != APR_SUCCESS && !APR_STATUS_IS_EOF(rv)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, WSGW_LOGNO(00208)
                      "reading the body of the backend's %d answer failed; "
                      "the client got a truncated response", status);
    }
    return OK;
}

/* The tunnel's outcome into the log notes and the counters. */
static void wsgw_upgrade_record(request_rec *r, wsgw_tunnel_t *tunnel,
                                struct wsgw_stat_t *stat, apr_time_t started)
{
    const wsgw_tunnel_result_t *res = wsgw_tunnel_result(tunnel);

    apr_table_setn(r->notes, WSGW_NOTE_BYTES_IN,
                   apr_off_t_toa(r->pool, res->bytes_in));
    apr_table_setn(r->notes, WSGW_NOTE_BYTES_OUT,
                   apr_off_t_toa(r->pool, res->bytes_out));
    apr_table_setn(r->notes, WSGW_NOTE_DURATION,
                   apr_psprintf(r->pool, "%" APR_TIME_T_FMT,
                                apr_time_as_msec(apr_time_now() - started)));
    apr_table_setn(r->notes, WSGW_NOTE_CLOSE_CODE,
                   apr_itoa(r->pool, res->close_code));
    apr_table_setn(r->notes, WSGW_NOTE_CLOSED_BY, res->closed_by);
    wsgw_status_tunnel_close(stat, res->close_code);
}

/* What the reactor needs to finish an async tunnel's request (in c->pool:
 * r->pool may be gone by then). */
typedef struct wsgw_upgrade_async_t {
    const char         *scheme;
    proxy_conn_rec     *backend;        /* NULL once released */
    struct wsgw_stat_t *stat;
    apr_time_t          started;
} wsgw_upgrade_async_t;

/* In the reactor thread, once an async tunnel has ended. */
static void wsgw_upgrade_async_done(wsgw_tunnel_t *tunnel, request_rec *r,
                                    void *baton)
{
    wsgw_upgrade_async_t *ua = baton;

    wsgw_upgrade_record(r, tunnel, ua->stat, ua->started);
    if (ua->backend) {
        ua->backend->close = 1;
        ap_proxy_release_connection(ua->scheme, ua->backend, r->server);
    }
}

/* Record a member failure that left the client untouched. */
static int wsgw_upgrade_failed(wsgw_attempt_t *att, int status,
                               int proto_error, const char *why)
{
    att->retryable = 1;
    att->proto_error = proto_error;
    att->why = why;
    return status;
}

int wsgw_upgrade_attempt(request_rec *r, proxy_worker *worker,
                         proxy_server_conf *conf, char *url,
                         const char *proxyname, apr_port_t proxyport,
                         const wsgw_proxy_req_t *pr,
                         const wsgw_dir_conf_t *dc, const wsgw_backend_t *b,
                         wsgw_attempt_t *att)
{
    const char *scheme = strncasecmp(url, "wss:", 4) ? "ws" : "wss";
    const char *key = apr_table_get(r->headers_in, "Sec-WebSocket-Key");
    proxy_conn_rec *backend = NULL;
    apr_uri_t *uri = apr_pcalloc(r->pool, sizeof(*uri));
    char *locurl = url;
    char server_portstr[32];
    request_rec *rp;
    apr_bucket_brigade *bb = NULL;
    conn_rec *origin;
    wsgw_tunnel_t *tunnel;
    const char *reason = "", *ext;
    apr_time_t started = apr_time_now();
    struct wsgw_stat_t *stat = pr->stat;
    unsigned int rsv;
    int status, i, async;

    att->retryable = att->proto_error = 0;
    att->why = NULL;
    apr_table_setn(r->notes, WSGW_NOTE_BACKEND, worker->s->name_ex);

    status = ap_proxy_acquire_connection(scheme, &backend, worker, r->server);
    if (status != OK) {
        return wsgw_upgrade_failed(att, HTTP_SERVICE_UNAVAILABLE, 0,
                                   "in error state (retry= not over)");
    }
    backend->is_ssl = !strcmp(scheme, "wss");
    /* A backend WebSocket connection is never reused (PR 55890). */
    backend->close = 1;

    status = ap_proxy_determine_connection(r->pool, r, conf, worker, backend,
                                           uri, &locurl, proxyname, proxyport,
                                           server_portstr,
                                           sizeof(server_portstr));
    if (status != OK) {
        status = wsgw_upgrade_failed(att, HTTP_SERVICE_UNAVAILABLE, 0,
                                     "cannot resolve its address");
        goto done;
    }
    if (ap_proxy_connect_backend(scheme, backend, worker, r->server)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00201)
                      "cannot connect to backend %s for %s (mapping %s); "
                      "check that it is running and reachable, or add %s",
                      worker->s->name_ex, r->uri, pr->mapping->path,
                      b->is_balancer ? "a BalancerMember to its balancer"
                                     : "a second backend URL for failover");
        status = wsgw_upgrade_failed(att, HTTP_SERVICE_UNAVAILABLE, 0,
                                     "connection refused or timed out");
        goto done;
    }
    status = ap_proxy_connection_create_ex(scheme, backend, r);
    if (status != OK) {
        status = wsgw_upgrade_failed(att, HTTP_SERVICE_UNAVAILABLE, 0,
                                     "connection setup failed");
        goto done;
    }
    origin = backend->connection;

    status = wsgw_upgrade_send_request(r, backend, worker, conf, uri, locurl,
                                       server_portstr);
    if (status == HTTP_BAD_REQUEST || status == HTTP_EXPECTATION_FAILED) {
        goto done;      /* the client's request itself is at fault */
    }
    if (status != OK && wsgw_tls_handshake_failed(r, origin, worker)) {
        /* A backend that fails TLS verification is a protocol error (502
         * when no other member serves), not an unreachable one. */
        status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                     "TLS handshake failed");
        goto done;
    }
    if (status != OK) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00202)
                      "sending the upgrade request to backend %s failed "
                      "(%d: a TLS handshake failure shows here too); check "
                      "the backend and its certificate",
                      worker->s->name_ex, status);
        status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 0,
                                     "sending the request failed");
        goto done;
    }

    /* Read the answer: status line, headers; skip interim 1xx but 101. */
    rp = wsgw_upgrade_response_req(origin, r);
    bb = apr_brigade_create(r->pool, origin->bucket_alloc);
    for (i = 0; ; ++i) {
        char *line = NULL;
        apr_size_t len = 0;
        apr_status_t rv;

        rv = ap_rgetline(&line, DEFAULT_LIMIT_REQUEST_LINE, &len, rp, 0, bb);
        if (rv != APR_SUCCESS || line == NULL) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, WSGW_LOGNO(00203)
                          "backend %s closed or timed out before answering "
                          "the upgrade for %s; check the backend, or raise "
                          "its timeout= if it is slow to answer",
                          worker->s->name_ex, r->uri);
            status = APR_STATUS_IS_TIMEUP(rv)
                ? wsgw_upgrade_failed(att, HTTP_GATEWAY_TIME_OUT, 0,
                                      "timed out before answering")
                : wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 0,
                                      "closed before answering");
            goto done;
        }
        status = wsgw_upgrade_status_line(line, &reason);
        if (status < 0) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00204)
                          "backend %s answered the upgrade with '%.80s', "
                          "which is not an HTTP/1.1 status line; is it an "
                          "HTTP server?", worker->s->name_ex, line);
            status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                         "not an HTTP answer");
            goto done;
        }
        reason = apr_pstrdup(r->pool, reason);
        apr_table_clear(rp->headers_in);
        ap_get_mime_headers_core(rp, bb);
        if (rp->status != HTTP_OK) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00205)
                          "backend %s sent malformed response headers (%d); "
                          "check the backend", worker->s->name_ex, rp->status);
            status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                         "malformed response headers");
            goto done;
        }
        if (status >= 200 || status == HTTP_SWITCHING_PROTOCOLS) {
            break;
        }
        if (i >= WSGW_UPGRADE_MAX_INTERIM) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00206)
                          "backend %s sent more than %d interim answers; "
                          "giving up", worker->s->name_ex,
                          WSGW_UPGRADE_MAX_INTERIM);
            status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                         "endless interim answers");
            goto done;
        }
    }

    if (status != HTTP_SWITCHING_PROTOCOLS) {
        if (status < 300) {
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00207)
                          "backend %s answered the WebSocket upgrade for %s "
                          "with %d instead of 101: it does not speak "
                          "WebSocket at %s",
                          worker->s->name_ex, r->uri, status, locurl);
            status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                         apr_psprintf(r->pool, "answered %d",
                                                      status));
            goto done;
        }
        if (status >= 500 && !att->is_last) {
            /* A sick member: another one may serve this client. */
            status = wsgw_upgrade_failed(att, HTTP_SERVICE_UNAVAILABLE, 0,
                                         apr_psprintf(r->pool, "answered %d",
                                                      status));
            goto done;
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, WSGW_LOGNO(00209)
                      "backend %s refused the upgrade with %d; relaying it",
                      worker->s->name_ex, status);
        wsgw_status_fail(r, pr->mapping, WSGW_FAIL_REFUSED);
        status = wsgw_upgrade_relay(r, rp, status, reason);
        goto done;
    }

    if (!wsgw_token_list_has(apr_table_get(rp->headers_in, "Upgrade"),
                             "websocket")
        || !wsgw_handshake_accept_matches(key, apr_table_get(
                                   rp->headers_in, "Sec-WebSocket-Accept"))) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00210)
                      "backend %s answered 101 with %s; not a valid "
                      "WebSocket upgrade",
                      worker->s->name_ex,
                      apr_table_get(rp->headers_in, "Sec-WebSocket-Accept")
                          ? "a wrong Sec-WebSocket-Accept"
                          : !wsgw_token_list_has(apr_table_get(
                                rp->headers_in, "Upgrade"), "websocket")
                              ? "no 'Upgrade: websocket'"
                              : "no Sec-WebSocket-Accept");
        status = wsgw_upgrade_failed(att, HTTP_BAD_GATEWAY, 1,
                                     "invalid 101 (accept or upgrade)");
        goto done;
    }

    /* Answer the client with the interim path: no Keep-Alive is added. */
    r->status = HTTP_SWITCHING_PROTOCOLS;
    r->status_line = ap_get_status_line(HTTP_SWITCHING_PROTOCOLS);
    wsgw_upgrade_copy_headers(r, rp->headers_in, r->headers_out, 0);
    apr_table_setn(r->headers_out, "Upgrade", "websocket");
    apr_table_setn(r->headers_out, "Connection", "Upgrade");
    ext = apr_table_get(rp->headers_in, "Sec-WebSocket-Extensions");
    rsv = 0;
    if (ext && *ext) {
        /* permessage-deflate uses RSV1; anything else: allow every bit. */
        rsv = wsgw_token_list_has(ext, "permessage-deflate")
              && !ap_strchr_c(ext, ',') ? WSGW_FRAME_RSV1 : WSGW_FRAME_RSV_ALL;
    }
    ap_send_interim_response(r, 1);
    r->status = HTTP_SWITCHING_PROTOCOLS;

    async = wsgw_reactor_eligible(r, dc);
    if (async) {
        /* The tunnel may outlive r->pool (see below): so must its count. */
        stat = wsgw_status_move(stat, r->connection->pool);
    }
    wsgw_status_tunnel_open(stat, r, b);
    if (wsgw_tunnel_create(&tunnel, r, origin, dc, rsv, stat)
        != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WSGW_LOGNO(00211)
                      "cannot set up the tunnel to backend %s after the "
                      "101; closing the connection", worker->s->name_ex);
        r->connection->keepalive = AP_CONN_CLOSE;
        r->connection->aborted = 1;
        status = OK;
        goto done;
    }
    if (async) {
        wsgw_upgrade_async_t *ua = apr_palloc(r->connection->pool,
                                              sizeof(*ua));

        ua->scheme = scheme;
        ua->backend = backend;
        ua->stat = stat;
        ua->started = started;
        if (bb) {
            apr_brigade_cleanup(bb);
        }
        wsgw_tunnel_lend_buffers(tunnel, wsgw_reactor_buffers());
        if (wsgw_tunnel_run(tunnel, WSGW_REACTOR_MOVE_AFTER)
            == APR_INCOMPLETE) {
            /* A plain backend socket needs none of mod_proxy's connection
             * from here on: give it back now, not when the tunnel ends. */
            if (!backend->is_ssl
                && wsgw_tunnel_detach_backend(tunnel) == APR_SUCCESS) {
                backend->close = 1;
                ap_proxy_release_connection(scheme, backend, r->server);
                ua->backend = backend = NULL;
            }
            if (wsgw_reactor_handoff(r, tunnel, backend == NULL,
                                     wsgw_upgrade_async_done, ua)
                == APR_SUCCESS) {
                /* The reactor owns the request, both connections and the
                 * backend's release from here on. Without a backend
                 * connection to keep, nothing needs r->pool any more (the
                 * tunnel is in c->pool): the reactor frees it early. */
                return SUSPENDED;
            }
            wsgw_tunnel_run(tunnel, 0);
        }
    }
    else {
        wsgw_tunnel_run(tunnel, 0);
    }
    wsgw_upgrade_record(r, tunnel, stat, started);
    status = OK;

done:
    if (bb) {
        /* ap_rgetline() leaves the last line's buckets in bb. They come
         * from the backend connection's bucket allocator, which releasing
         * the connection destroys; left there, r->pool's cleanup of bb
         * would free them into freed memory later. */
        apr_brigade_cleanup(bb);
    }
    if (backend) {
        backend->close = 1;
        ap_proxy_release_connection(scheme, backend, r->server);
    }
    return status;
}
