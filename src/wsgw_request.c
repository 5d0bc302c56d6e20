/*
 * A compact copy of a request for the life of an async tunnel: see
 * include/wsgw_request.h.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_protocol.h"
#include <apr_strings.h>

#include "wsgw_request.h"

static int wsgw_request_add(void *table, const char *key, const char *val)
{
    apr_table_add(table, key, val);     /* copies both */
    return 1;
}

static apr_table_t *wsgw_request_table(apr_pool_t *p, const apr_table_t *src)
{
    apr_table_t *t;

    if (src == NULL) {
        return apr_table_make(p, 1);
    }
    t = apr_table_make(p, apr_table_elts(src)->nelts);
    apr_table_do(wsgw_request_add, t, src, NULL);
    return t;
}

static apr_sockaddr_t *wsgw_request_addr(apr_pool_t *p,
                                         const apr_sockaddr_t *sa)
{
    apr_sockaddr_t *n = apr_pmemdup(p, sa, sizeof(*sa));

    n->pool = p;
    n->hostname = apr_pstrdup(p, sa->hostname);
    n->servname = apr_pstrdup(p, sa->servname);
    n->next = NULL;
    /* ipaddr_ptr points into the address itself. */
    n->ipaddr_ptr = (char *)&n->sa
                    + ((const char *)sa->ipaddr_ptr - (const char *)&sa->sa);
    return n;
}

request_rec *wsgw_request_copy(const request_rec *r, apr_pool_t *p,
                               struct ap_conf_vector_t *request_config)
{
    request_rec *n = apr_pmemdup(p, r, sizeof(*r));
    conn_rec *c = r->connection;

    n->pool = p;
    n->next = n->prev = n->main = NULL;
    n->the_request = apr_pstrdup(p, r->the_request);
    n->protocol = apr_pstrdup(p, r->protocol);
    n->hostname = apr_pstrdup(p, r->hostname);
    n->status_line = apr_pstrdup(p, r->status_line);
    n->method = apr_pstrdup(p, r->method);
    n->allowed_xmethods = NULL;
    n->allowed_methods = ap_make_method_list(p, 1);
    n->range = apr_pstrdup(p, r->range);
    n->kept_body = NULL;
    n->body_table = NULL;
    n->headers_in = wsgw_request_table(p, r->headers_in);
    n->headers_out = wsgw_request_table(p, r->headers_out);
    n->err_headers_out = wsgw_request_table(p, r->err_headers_out);
    n->subprocess_env = wsgw_request_table(p, r->subprocess_env);
    n->notes = wsgw_request_table(p, r->notes);
    n->trailers_in = wsgw_request_table(p, r->trailers_in);
    n->trailers_out = wsgw_request_table(p, r->trailers_out);
    n->content_type = apr_pstrdup(p, r->content_type);
    n->handler = apr_pstrdup(p, r->handler);
    n->content_encoding = apr_pstrdup(p, r->content_encoding);
    n->content_languages = NULL;
    n->vlist_validator = apr_pstrdup(p, r->vlist_validator);
    n->user = apr_pstrdup(p, r->user);
    n->ap_auth_type = apr_pstrdup(p, r->ap_auth_type);
    n->unparsed_uri = apr_pstrdup(p, r->unparsed_uri);
    n->uri = apr_pstrdup(p, r->uri);
    n->filename = apr_pstrdup(p, r->filename);
    n->canonical_filename = apr_pstrdup(p, r->canonical_filename);
    n->path_info = apr_pstrdup(p, r->path_info);
    n->args = apr_pstrdup(p, r->args);
    n->per_dir_config = r->server->lookup_defaults;
    n->request_config = request_config;
    if (r->log && r->log != &r->server->log) {
        /* A <Location>'s LogLevel, possibly merged in r->pool. */
        n->log = ap_new_log_config(p, r->log);
    }
    n->log_id = apr_pstrdup(p, r->log_id);
    n->htaccess = NULL;
    n->output_filters = n->proto_output_filters = c->output_filters;
    n->input_filters = n->proto_input_filters = c->input_filters;
    n->invoke_mtx = NULL;
    n->parsed_uri.scheme = apr_pstrdup(p, r->parsed_uri.scheme);
    n->parsed_uri.hostinfo = apr_pstrdup(p, r->parsed_uri.hostinfo);
    n->parsed_uri.user = apr_pstrdup(p, r->parsed_uri.user);
    n->parsed_uri.password = apr_pstrdup(p, r->parsed_uri.password);
    n->parsed_uri.hostname = apr_pstrdup(p, r->parsed_uri.hostname);
    n->parsed_uri.port_str = apr_pstrdup(p, r->parsed_uri.port_str);
    n->parsed_uri.path = apr_pstrdup(p, r->parsed_uri.path);
    n->parsed_uri.query = apr_pstrdup(p, r->parsed_uri.query);
    n->parsed_uri.fragment = apr_pstrdup(p, r->parsed_uri.fragment);
    n->parsed_uri.hostent = NULL;
    n->finfo.pool = p;
    n->finfo.fname = apr_pstrdup(p, r->finfo.fname);
    n->finfo.name = apr_pstrdup(p, r->finfo.name);
    n->finfo.filehand = NULL;
    if (r->useragent_addr && r->useragent_addr != c->client_addr) {
        n->useragent_addr = wsgw_request_addr(p, r->useragent_addr);
    }
    n->useragent_ip = apr_pstrdup(p, r->useragent_ip);
    n->useragent_host = apr_pstrdup(p, r->useragent_host);
    return n;
}
