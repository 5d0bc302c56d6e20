/*
 * mod_ws_gateway: WebSocket reverse proxying for Apache httpd 2.4.
 *
 * This file is the module's table of contents: the module record, the
 * hooks function and the directive table. The logic lives in src/.
 */
#define WSGW_MODULE_FILE
#include "httpd.h"
#include "http_config.h"

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_graceful.h"
#include "wsgw_proxy.h"
#include "wsgw_reactor.h"
#include "wsgw_status.h"
#include "wsgw_tls.h"

#define WSGW_CONTEXT (RSRC_CONF | ACCESS_CONF)

static const command_rec wsgw_cmds[] = {
    AP_INIT_RAW_ARGS(WSGW_DIRECTIVE_PASS, wsgw_config_set_pass, NULL,
                     WSGW_CONTEXT,
                     "PATH URL [URL ...] [key=value ...] | PATH ! | "
                     "(in <Location>) URL [URL ...] [key=value ...]"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_IDLE_TIMEOUT, wsgw_config_set_idle_timeout,
                  NULL, WSGW_CONTEXT,
                  "seconds without traffic before a tunnel is closed (0: never)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_PING_INTERVAL, wsgw_config_set_ping_interval,
                  NULL, WSGW_CONTEXT,
                  "seconds of client silence before the gateway pings it (0: off)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_PING_TIMEOUT, wsgw_config_set_ping_timeout,
                  NULL, WSGW_CONTEXT,
                  "seconds to wait for the Pong (0, the default: the ping interval)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_MODE, wsgw_config_set_mode, NULL,
                  WSGW_CONTEXT, "frames (default) or tunnel"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_MAX_MESSAGE, wsgw_config_set_max_message,
                  NULL, WSGW_CONTEXT,
                  "largest client message in bytes, K/M/G allowed (0: none)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_MAX_LIFETIME, wsgw_config_set_max_lifetime,
                  NULL, WSGW_CONTEXT,
                  "seconds after which a tunnel is closed with 1001 (0: none)"),
    AP_INIT_ITERATE(WSGW_DIRECTIVE_ALLOW_ORIGIN, wsgw_config_set_allow_origin,
                    NULL, WSGW_CONTEXT,
                    "origins allowed to open WebSockets, or * (default)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_MAX_CONNS, wsgw_config_set_max_conns, NULL,
                  WSGW_CONTEXT, "concurrent tunnels for this mapping (0: none)"),
    AP_INIT_TAKE1(WSGW_DIRECTIVE_MAX_CONNS_PER_IP,
                  wsgw_config_set_max_conns_per_ip, NULL, WSGW_CONTEXT,
                  "concurrent tunnels per client address (0: none)"),
    AP_INIT_TAKE12(WSGW_DIRECTIVE_GRACEFUL_CLOSE,
                   wsgw_config_set_graceful_close, NULL, WSGW_CONTEXT,
                   "On|Off [SPREAD seconds]: Close 1001 on graceful restart"),
    AP_INIT_FLAG(WSGW_DIRECTIVE_ASYNC, wsgw_config_set_async, NULL,
                 WSGW_CONTEXT,
                 "On (default): under mpm_event, established tunnels move to "
                 "a per-child reactor and free their worker thread"),
    { NULL }
};

static void wsgw_register_hooks(apr_pool_t *p)
{
    wsgw_proxy_register_hooks(p);
    wsgw_graceful_register_hooks(p);
    wsgw_reactor_register_hooks(p);
    wsgw_status_register_hooks(p);
    wsgw_tls_register_hooks(p);
}

AP_DECLARE_MODULE(ws_gateway) = {
    STANDARD20_MODULE_STUFF,
    wsgw_config_create_dir,
    wsgw_config_merge_dir,
    wsgw_config_create_srv,
    wsgw_config_merge_srv,
    wsgw_cmds,
    wsgw_register_hooks,
#if defined(AP_MODULE_FLAG_ALWAYS_MERGE)
    AP_MODULE_FLAG_NONE
#endif
};
