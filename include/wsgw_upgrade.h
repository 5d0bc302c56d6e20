/*
 * The gateway's side of the handshake: connect to the backend, send our own
 * upgrade request, judge the backend's answer, answer the client (101, a
 * relayed HTTP response, or an error) and hand a good upgrade to the tunnel.
 */
#ifndef WSGW_UPGRADE_H
#define WSGW_UPGRADE_H

#include "wsgw_types.h"
#include "mod_proxy.h"

/**
 * Serve one validated client handshake through @a worker.
 * Called from the scheme handler, in the request thread.
 * @return OK when a response (101 then tunnel, or a relayed answer) went to
 *         the client; HTTP_SERVICE_UNAVAILABLE when nothing was sent and
 *         another member may be tried; another HTTP status otherwise.
 */
int wsgw_upgrade_run(request_rec *r, proxy_worker *worker,
                     proxy_server_conf *conf, char *url,
                     const char *proxyname, apr_port_t proxyport,
                     wsgw_proxy_req_t *pr, const wsgw_dir_conf_t *dc);

#endif /* WSGW_UPGRADE_H */
