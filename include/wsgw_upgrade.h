/*
 * The gateway's side of the handshake: connect to the backend, send our own
 * upgrade request, judge the backend's answer, answer the client (101, a
 * relayed HTTP response, or an error) and hand a good upgrade to the tunnel.
 */
#ifndef WSGW_UPGRADE_H
#define WSGW_UPGRADE_H

#include "wsgw_types.h"
#include "mod_proxy.h"

/* The outcome of one attempt on one backend member. */
typedef struct wsgw_attempt_t {
    int         is_last;     /* in: no other member left (relay its 5xx) */
    int         retryable;   /* out: nothing reached the client; try another */
    int         proto_error; /* out: the member answered, but not as a
                              * WebSocket server (502 rather than 503) */
    const char *why;         /* out: short lowercase reason for the log */
} wsgw_attempt_t;

/**
 * Serve one validated client handshake through one member @a worker.
 * Called from the scheme handler, in the request thread.
 * @return OK when the client got its answer (101 then the tunnel, or a
 *         relayed HTTP response); otherwise the HTTP status to answer with,
 *         and @a att says whether another member may be tried instead
 */
int wsgw_upgrade_attempt(request_rec *r, proxy_worker *worker,
                         proxy_server_conf *conf, char *url,
                         const char *proxyname, apr_port_t proxyport,
                         const wsgw_proxy_req_t *pr,
                         const wsgw_dir_conf_t *dc, const wsgw_backend_t *b,
                         wsgw_attempt_t *att);

#endif /* WSGW_UPGRADE_H */
