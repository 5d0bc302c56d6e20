/*
 * Glue to mod_proxy: the translate_name hook that maps requests under a
 * WSGatewayPass PATH into mod_proxy, and the scheme handler that claims
 * only those requests (mod_proxy_wstunnel and mod_proxy_http keep every
 * other ws:// URL).
 */
#ifndef WSGW_PROXY_H
#define WSGW_PROXY_H

#include "wsgw_types.h"

/** Register the translate, scheme handler and post_config hooks. */
void wsgw_proxy_register_hooks(apr_pool_t *p);

/** The decision recorded for @a r, or NULL when @a r is not ours. */
wsgw_proxy_req_t *wsgw_proxy_req(const request_rec *r);

#endif /* WSGW_PROXY_H */
