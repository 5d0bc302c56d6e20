/*
 * A compact copy of a request for the life of an async tunnel.
 *
 * When a tunnel waits in a reactor, its request_rec still sits in r->pool
 * with everything the request phases left there (merged per-directory
 * configurations, the request config vector, mod_proxy's working data):
 * about 16 KB, more than the rest of an idle tunnel together. After the 101
 * only what the logs read is needed: the request's fields and its header,
 * environment and note tables. wsgw_request_copy() copies exactly that into
 * another pool, so that r->pool can be freed while the tunnel goes on.
 */
#ifndef WSGW_REQUEST_H
#define WSGW_REQUEST_H

#include "wsgw_types.h"

/**
 * Copy @a r into @a p (which must outlive the copy's use): strings and
 * tables are copied; the copy's per-directory configuration is the
 * server's default (the request's merged one lives in r->pool), its
 * request config vector @a request_config (a zeroed vector the caller
 * owns), its LogLevel settings those of @a r. No subrequest, redirect
 * chain, filters of the request's own, body or mutex are kept.
 */
request_rec *wsgw_request_copy(const request_rec *r, apr_pool_t *p,
                               struct ap_conf_vector_t *request_config);

#endif /* WSGW_REQUEST_H */
