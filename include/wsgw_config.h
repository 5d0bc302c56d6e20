/*
 * Directives: names (defined once, used by the command table and by every
 * message that mentions them), setters, create/merge, startup checks.
 */
#ifndef WSGW_CONFIG_H
#define WSGW_CONFIG_H

#include "wsgw_types.h"

#define WSGW_DIRECTIVE_PASS                "WSGatewayPass"
#define WSGW_DIRECTIVE_IDLE_TIMEOUT        "WSGatewayIdleTimeout"
#define WSGW_DIRECTIVE_PING_INTERVAL       "WSGatewayPingInterval"
#define WSGW_DIRECTIVE_PING_TIMEOUT        "WSGatewayPingTimeout"
#define WSGW_DIRECTIVE_MODE                "WSGatewayMode"
#define WSGW_DIRECTIVE_MAX_MESSAGE         "WSGatewayMaxMessageSize"
#define WSGW_DIRECTIVE_MAX_LIFETIME        "WSGatewayMaxLifetime"
#define WSGW_DIRECTIVE_ALLOW_ORIGIN        "WSGatewayAllowOrigin"
#define WSGW_DIRECTIVE_MAX_CONNS           "WSGatewayMaxConnections"
#define WSGW_DIRECTIVE_MAX_CONNS_PER_IP    "WSGatewayMaxConnectionsPerIP"
#define WSGW_DIRECTIVE_GRACEFUL_CLOSE      "WSGatewayGracefulClose"
#define WSGW_DIRECTIVE_ASYNC               "WSGatewayAsync"

/* Directive setters (the command table is in mod_ws_gateway.c). */
const char *wsgw_config_set_pass(cmd_parms *cmd, void *dconf, const char *args);
const char *wsgw_config_set_idle_timeout(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *wsgw_config_set_ping_interval(cmd_parms *cmd, void *dconf,
                                          const char *arg);
const char *wsgw_config_set_ping_timeout(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *wsgw_config_set_mode(cmd_parms *cmd, void *dconf, const char *arg);
const char *wsgw_config_set_max_message(cmd_parms *cmd, void *dconf,
                                        const char *arg);
const char *wsgw_config_set_max_lifetime(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *wsgw_config_set_allow_origin(cmd_parms *cmd, void *dconf,
                                         const char *arg);
const char *wsgw_config_set_max_conns(cmd_parms *cmd, void *dconf,
                                      const char *arg);
const char *wsgw_config_set_max_conns_per_ip(cmd_parms *cmd, void *dconf,
                                             const char *arg);
const char *wsgw_config_set_graceful_close(cmd_parms *cmd, void *dconf,
                                           const char *a1, const char *a2);
const char *wsgw_config_set_async(cmd_parms *cmd, void *dconf, int on);

void *wsgw_config_create_srv(apr_pool_t *p, server_rec *s);
void *wsgw_config_merge_srv(apr_pool_t *p, void *basev, void *addv);
void *wsgw_config_create_dir(apr_pool_t *p, char *dir);
void *wsgw_config_merge_dir(apr_pool_t *p, void *basev, void *addv);

/** Server-level configuration of @a s. */
wsgw_srv_conf_t *wsgw_config_srv(const server_rec *s);

/** Effective per-directory policy of @a r. */
wsgw_dir_conf_t *wsgw_config_dir(const request_rec *r);

/** Ping timeout in effect: the configured one, else the interval. */
apr_interval_time_t wsgw_config_ping_timeout(const wsgw_dir_conf_t *dc);

/** What wsgw_config_each_mapping() calls for one mapping of server @a s. */
typedef void wsgw_config_mapping_fn(void *baton, server_rec *s,
                                    const wsgw_mapping_t *m);

/**
 * Call @a fn for every WSGatewayPass mapping with backends (not the "!"
 * exclusions) of every server from @a s on: server and VirtualHost level,
 * then those inside <Location> sections.
 */
void wsgw_config_each_mapping(server_rec *s, wsgw_config_mapping_fn *fn,
                              void *baton);

/**
 * check_config check (also run by `httpd -t`): every balancer:// backend
 * names a balancer that has members (or may get some at run time).
 * @return OK, or a startup failure already logged.
 */
int wsgw_config_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp, server_rec *s);

/**
 * post_config check: mod_proxy_http must be loaded (plain requests go
 * through it) and TLS backends need a proxy TLS engine.
 * @return OK, or a startup failure already logged.
 */
int wsgw_config_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                            apr_pool_t *ptemp, server_rec *s);

#endif /* WSGW_CONFIG_H */
