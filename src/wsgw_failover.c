/*
 * Failover across the members of one mapping, on mod_proxy's workers.
 *
 * mod_proxy picked the worker of the first URL and canonicalised the URL;
 * for member i we rebuild the same request URL on that member's origin and
 * base path, find its worker (defined at startup by WSGatewayPass), and try
 * it. A member that fails before anything reached the client is put in
 * error state for its retry= period (mod_proxy's own bookkeeping, so
 * balancer-manager and later requests see it) and the next is tried.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "mod_proxy.h"
#include <apr_strings.h>

#include "wsgw.h"
#include "wsgw_failover.h"
#include "wsgw_status.h"
#include "wsgw_upgrade.h"

/*
 * The canonical @a url of member 0 is base0 + path0 + tail: rebuild it for
 * member @a b, keeping the tail (rest of the path, query).
 */
static char *wsgw_failover_url(apr_pool_t *p, const char *url,
                               const wsgw_backend_t *b0,
                               const wsgw_backend_t *b, int ws)
{
    const char *path = ap_strstr_c(url, "://");
    const char *query, *tail;
    apr_size_t plen = strlen(b0->path);

    path = path ? ap_strchr_c(path + 3, '/') : NULL;
    if (path == NULL) {
        path = "/";
    }
    tail = strncmp(path, b0->path, plen) == 0 ? path + plen : path;
    query = ap_strchr_c(tail, '?');
    if (query) {
        tail = apr_pstrmemdup(p, tail, (apr_size_t)(query - tail));
    }
    return apr_pstrcat(p, ws ? b->ws_base : b->http_base,
                       wsgw_map_join(p, b->path, tail), query, NULL);
}

static proxy_worker *wsgw_failover_worker(request_rec *r,
                                          proxy_server_conf *conf,
                                          const char *url)
{
    return ap_proxy_get_worker_ex(r->pool, NULL, conf, url,
                                  AP_PROXY_WORKER_IS_PREFIX);
}

/* Put a member that failed on its own in error state, as mod_proxy does
 * for connect errors, so its retry= period applies. */
static void wsgw_failover_mark(request_rec *r, proxy_worker *w,
                               const char *why)
{
    if (!(w->s->status & PROXY_WORKER_IN_ERROR)
        && !(w->s->status & PROXY_WORKER_IGNORE_ERRORS)) {
        w->s->status |= PROXY_WORKER_IN_ERROR;
        w->s->error_time = apr_time_now();
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, WSGW_LOGNO(00502)
                      "backend %s put in error state for %" APR_TIME_T_FMT
                      " s (its retry=) after this failure: %s; other "
                      "members serve meanwhile", w->s->name_ex,
                      apr_time_sec(w->s->retry), why);
    }
}

static void wsgw_failover_count(request_rec *r, int attempts)
{
    const char *prev = apr_table_get(r->notes, WSGW_NOTE_ATTEMPTS);

    /* mod_proxy_balancer's loop calls us once per member: add up. */
    attempts += prev ? atoi(prev) : 0;
    apr_table_setn(r->notes, WSGW_NOTE_ATTEMPTS, apr_itoa(r->pool, attempts));
}

/* The WebSocket could not be placed on any member: count it and say so. */
static int wsgw_failover_all_failed(request_rec *r, const wsgw_proxy_req_t *pr,
                                    const char *tried, int proto_error)
{
    wsgw_status_fail(r, pr->mapping, WSGW_FAIL_BACKEND);
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WSGW_LOGNO(00501)
                  "no backend of %s (%s) could take the WebSocket for %s; "
                  "tried %s; start or fix a backend, or add one to %s",
                  pr->mapping->path, pr->mapping->where, r->uri, tried,
                  APR_ARRAY_IDX(pr->mapping->backends, 0,
                                wsgw_backend_t).is_balancer
                  ? "the balancer" : "the line");
    return proto_error ? HTTP_BAD_GATEWAY : HTTP_SERVICE_UNAVAILABLE;
}

/* Will mod_proxy try no other member of @a bal after @a cur, the
 * @a attempts-th member tried for this request? Its loop stops after
 * maxattempts retries (members in error state are recovered for it when
 * all are, with forcerecovery=On, the default), or when no member is
 * usable any more. */
static int wsgw_failover_balancer_last(proxy_balancer *bal,
                                       const proxy_worker *cur, int attempts)
{
    proxy_worker **w;
    int i;

    if (bal == NULL || bal->workers == NULL
        || attempts > bal->s->max_attempts) {
        return 1;
    }
    if (bal->s->forcerecovery) {
        return 0;
    }
    w = (proxy_worker **)bal->workers->elts;
    for (i = 0; i < bal->workers->nelts; ++i) {
        if (w[i] != cur && PROXY_WORKER_IS_USABLE(w[i])) {
            return 0;
        }
    }
    return 1;
}

/*
 * A balancer:// mapping. mod_proxy_balancer chose @a worker; mod_proxy
 * calls us again with another member after a 503 (and puts this one in
 * error state), up to the balancer's maxattempts. The members tried so far
 * are kept in r->notes for the final log line; the last member's own 5xx
 * is relayed, as in a failover group.
 */
static int wsgw_failover_balancer(request_rec *r, proxy_worker *worker,
                                  proxy_server_conf *conf, char *url,
                                  const char *proxyname, apr_port_t proxyport,
                                  wsgw_proxy_req_t *pr,
                                  const wsgw_dir_conf_t *dc)
{
    const wsgw_backend_t *b0 = &APR_ARRAY_IDX(pr->mapping->backends, 0,
                                              wsgw_backend_t);
    proxy_balancer *bal = ap_proxy_get_balancer(r->pool, conf, b0->ws_base,
                                                0);
    const char *prev = apr_table_get(r->notes, WSGW_NOTE_ATTEMPTS);
    const char *tried = apr_table_get(r->notes, WSGW_NOTE_TRIED);
    wsgw_attempt_t att;
    int status, attempts = (prev ? atoi(prev) : 0) + 1;

    memset(&att, 0, sizeof(att));
    att.is_last = wsgw_failover_balancer_last(bal, worker, attempts);
    status = wsgw_upgrade_attempt(r, worker, conf, url, proxyname, proxyport,
                                  pr, dc, b0, &att);
    wsgw_failover_count(r, 1);
    if (!att.retryable) {
        return status;
    }
    tried = apr_psprintf(r->pool, "%s%s%s (%s)", tried ? tried : "",
                         tried ? ", " : "", worker->s->name_ex, att.why);
    apr_table_setn(r->notes, WSGW_NOTE_TRIED, tried);
    if (att.is_last) {
        return wsgw_failover_all_failed(r, pr, tried, att.proto_error);
    }
    wsgw_status_failover(r, pr->mapping);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, WSGW_LOGNO(00505)
                  "balancer member %s failed for %s (%s); mod_proxy puts it "
                  "in error state and asks the balancer for another",
                  worker->s->name_ex, r->uri, att.why);
    return HTTP_SERVICE_UNAVAILABLE;
}

int wsgw_failover_upgrade(request_rec *r, proxy_worker *worker,
                          proxy_server_conf *conf, char *url,
                          const char *proxyname, apr_port_t proxyport,
                          wsgw_proxy_req_t *pr, const wsgw_dir_conf_t *dc)
{
    const apr_array_header_t *members = pr->mapping->backends;
    const wsgw_backend_t *b0 = &APR_ARRAY_IDX(members, 0, wsgw_backend_t);
    wsgw_attempt_t att;
    const char *tried = "";
    int i, n = members->nelts, status = HTTP_SERVICE_UNAVAILABLE;
    int proto_error = 0, attempts = 0;

    if (b0->is_balancer) {
        return wsgw_failover_balancer(r, worker, conf, url, proxyname,
                                      proxyport, pr, dc);
    }

    for (i = 0; i < n; ++i) {
        const wsgw_backend_t *b = &APR_ARRAY_IDX(members, i, wsgw_backend_t);
        char *u = i ? wsgw_failover_url(r->pool, url, b0, b, 1) : url;
        proxy_worker *w = i ? wsgw_failover_worker(r, conf, u) : worker;

        if (w == NULL) {
            continue;
        }
        memset(&att, 0, sizeof(att));
        att.is_last = i == n - 1;
        ++attempts;
        status = wsgw_upgrade_attempt(r, w, conf, u, proxyname, proxyport,
                                      pr, dc, b, &att);
        if (!att.retryable) {
            wsgw_failover_count(r, attempts);
            return status;
        }
        proto_error = att.proto_error;
        tried = apr_psprintf(r->pool, "%s%s%s (%s)", tried, *tried ? ", " : "",
                             w->s->name_ex, att.why);
        if (n > 1) {
            /* A lone backend is always tried again, as mod_proxy does. */
            wsgw_failover_mark(r, w, att.why);
        }
        if (i + 1 < n) {
            wsgw_status_failover(r, pr->mapping);
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, WSGW_LOGNO(00503)
                          "backend %s failed for %s (%s); trying the next "
                          "member", w->s->name_ex, r->uri, att.why);
        }
    }
    wsgw_failover_count(r, attempts);
    return wsgw_failover_all_failed(r, pr, tried, proto_error);
}

/* Did mod_proxy_http just fail the TLS handshake with a member? It
 * answers 500 for that (AH00898), with this text in the error notes;
 * nothing went to the backend or the client, so another member may serve. */
static int wsgw_failover_tls_failed(request_rec *r)
{
    const char *notes = apr_table_get(r->notes, "error-notes");

    return notes && ap_strstr_c(notes, "SSL Handshake") != NULL;
}

int wsgw_failover_http(request_rec *r, proxy_worker *worker,
                       proxy_server_conf *conf, char *url,
                       const char *proxyname, apr_port_t proxyport,
                       wsgw_proxy_req_t *pr)
{
    const apr_array_header_t *members = pr->mapping->backends;
    const wsgw_backend_t *b0 = &APR_ARRAY_IDX(members, 0, wsgw_backend_t);
    const char *tried = "";
    int i, n = members->nelts, status = DECLINED, attempts = 0;

    /* A body may be consumed by a failed attempt: only bodiless requests
     * move on. */
    if (n < 2 || b0->is_balancer || pr->in_attempt
        || apr_table_get(r->headers_in, "Content-Length")
        || apr_table_get(r->headers_in, "Transfer-Encoding")) {
        return DECLINED;
    }
    pr->in_attempt = 1;
    for (i = 0; i < n; ++i) {
        const wsgw_backend_t *b = &APR_ARRAY_IDX(members, i, wsgw_backend_t);
        char *u = i ? wsgw_failover_url(r->pool, url, b0, b, 0) : url;
        proxy_worker *w = i ? wsgw_failover_worker(r, conf, u) : worker;

        if (w == NULL) {
            continue;
        }
        ++attempts;
        apr_table_setn(r->notes, WSGW_NOTE_BACKEND, w->s->name_ex);
        status = proxy_run_scheme_handler(r, w, conf, u, proxyname, proxyport);
        if (status != HTTP_SERVICE_UNAVAILABLE
            && !(status == HTTP_BAD_GATEWAY && !r->sent_bodyct)
            && !(status == HTTP_INTERNAL_SERVER_ERROR && !r->sent_bodyct
                 && wsgw_failover_tls_failed(r))) {
            break;
        }
        if (r->sent_bodyct) {
            break;      /* something reached the client: no way back */
        }
        tried = apr_psprintf(r->pool, "%s%s%s (%d)", tried, *tried ? ", " : "",
                             w->s->name_ex, status);
        wsgw_failover_mark(r, w, apr_psprintf(r->pool, "gave %d", status));
    }
    pr->in_attempt = 0;
    wsgw_failover_count(r, attempts);
    if (i == n) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, WSGW_LOGNO(00504)
                      "no backend of %s (%s) could serve %s %s; tried %s; "
                      "start or fix a backend", pr->mapping->path,
                      pr->mapping->where, r->method, r->uri, tried);
        return HTTP_SERVICE_UNAVAILABLE;
    }
    return status;
}
