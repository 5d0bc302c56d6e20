/*
 * TLS towards backends: the startup check that every wss:// and https://
 * backend will find a proxy TLS engine (SSLProxyEngine on) where mod_proxy
 * looks for it, and the diagnosis of a failed TLS handshake with a backend.
 * TLS on the client side needs nothing of ours: the tunnel reads and writes
 * through mod_ssl's connection filters (wsgw_tunnel.c).
 */
#ifndef WSGW_TLS_H
#define WSGW_TLS_H

#include "httpd.h"
#include "mod_proxy.h"

/** Register the startup check (a post_config hook after mod_ssl's). */
void wsgw_tls_register_hooks(apr_pool_t *p);

/**
 * After sending to a backend failed: was it the TLS handshake (mod_ssl
 * notes "SSL_connect_rv" = "err" on the origin connection; certificate
 * not trusted, wrong name, no common protocol)? If so, log it once, naming
 * the backend and the directives that fix it.
 * @param origin the backend connection, may be NULL
 * @return 1 when it was a TLS handshake failure (logged), else 0
 */
int wsgw_tls_handshake_failed(request_rec *r, conn_rec *origin,
                              const proxy_worker *worker);

#endif /* WSGW_TLS_H */
