/*
 * mod_ws_gateway private header: module declaration, logging glue and the
 * feature gates computed once from httpd's module magic number.
 */
#ifndef WSGW_H
#define WSGW_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_mmn.h"

#include "wsgw_log.h"

extern module AP_MODULE_DECLARE_DATA ws_gateway_module;

/* mod_ws_gateway.c declares the module with AP_DECLARE_MODULE, which does
 * this itself. */
#if defined(APLOG_USE_MODULE) && !defined(WSGW_MODULE_FILE)
APLOG_USE_MODULE(ws_gateway);
#endif

/* ap_get_pollfd_from_conn(): pollable descriptor of a c1 socket or an h2
 * stream (2.4.58, MMN 20120211.129). configure refuses older httpd. */
#define WSGW_HAVE_POLLFD_FROM_CONN AP_MODULE_MAGIC_AT_LEAST(20120211, 129)

/* ap_hook_child_stopping (2.4.49, MMN 20120211.110). */
#define WSGW_HAVE_CHILD_STOPPING AP_MODULE_MAGIC_AT_LEAST(20120211, 110)

/* Name of the request note our translate hook leaves for the scheme handler
 * (the mapping pointer itself travels in r->request_config). */
#define WSGW_NOTE_BACKEND      "ws-gateway-backend"
#define WSGW_NOTE_BYTES_IN     "ws-gateway-bytes-in"
#define WSGW_NOTE_BYTES_OUT    "ws-gateway-bytes-out"
#define WSGW_NOTE_DURATION     "ws-gateway-duration-ms"
#define WSGW_NOTE_CLOSE_CODE   "ws-gateway-close-code"
#define WSGW_NOTE_CLOSED_BY    "ws-gateway-closed-by"
#define WSGW_NOTE_ATTEMPTS     "ws-gateway-attempts"
/* Internal: the balancer members tried so far for this request. */
#define WSGW_NOTE_TRIED        "ws-gateway-members-tried"

#endif /* WSGW_H */
