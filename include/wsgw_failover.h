/*
 * Failover across the URLs of one WSGatewayPass line (SPEC §5), built on
 * mod_proxy's own workers: each member is a worker with its retry= period
 * and error state; a member that fails before anything reached the client
 * is put in error state and the next one is tried, within the same client
 * request. Balancer members are left to mod_proxy_balancer's own loop.
 */
#ifndef WSGW_FAILOVER_H
#define WSGW_FAILOVER_H

#include "wsgw_types.h"
#include "mod_proxy.h"

/**
 * Serve a validated WebSocket handshake, trying the mapping's members in
 * order, starting with @a worker (mod_proxy's choice for the first URL).
 * @return OK, or the status for the client (503 when every member failed,
 *         502 when the last failure was a protocol error)
 */
int wsgw_failover_upgrade(request_rec *r, proxy_worker *worker,
                          proxy_server_conf *conf, char *url,
                          const char *proxyname, apr_port_t proxyport,
                          wsgw_proxy_req_t *pr, const wsgw_dir_conf_t *dc);

/**
 * Serve a plain request of a mapping with several members through
 * mod_proxy_http, moving on to the next member when one cannot be reached
 * and nothing was sent yet (requests without a body only).
 * @return as a scheme handler
 */
int wsgw_failover_http(request_rec *r, proxy_worker *worker,
                       proxy_server_conf *conf, char *url,
                       const char *proxyname, apr_port_t proxyport,
                       wsgw_proxy_req_t *pr);

#endif /* WSGW_FAILOVER_H */
