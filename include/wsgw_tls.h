/*
 * TLS towards backends: the startup check that every wss:// and https://
 * backend will find a proxy TLS engine (SSLProxyEngine on) where mod_proxy
 * looks for it.
 * TLS on the client side needs nothing of ours: the tunnel reads and writes
 * through mod_ssl's connection filters (wsgw_tunnel.c).
 */
#ifndef WSGW_TLS_H
#define WSGW_TLS_H

#include "httpd.h"
#include "mod_proxy.h"

/** Register the startup check (a post_config hook after mod_ssl's). */
void wsgw_tls_register_hooks(apr_pool_t *p);

#endif /* WSGW_TLS_H */
