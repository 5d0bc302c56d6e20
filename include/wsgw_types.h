/*
 * Structures shared by several httpd-side files. Includes only external
 * headers and APR-only core headers, never another wsgw_<concern>.h with
 * prototypes, so include cycles cannot happen.
 */
#ifndef WSGW_TYPES_H
#define WSGW_TYPES_H

#include "httpd.h"
#include "http_config.h"
#include <apr_tables.h>

#include "wsgw_map.h"

#define WSGW_UNSET (-1)

typedef enum {
    WSGW_MODE_FRAMES = 0,
    WSGW_MODE_TUNNEL = 1
} wsgw_mode_e;

typedef enum {
    WSGW_HTTP_SAME = 0,   /* plain requests go to the same backend */
    WSGW_HTTP_OFF,        /* plain requests get 426 */
    WSGW_HTTP_URL         /* plain requests go to http=URL */
} wsgw_http_mode_e;

/* One backend origin named in WSGatewayPass. */
typedef struct wsgw_backend_t {
    const char *url;        /* as configured (for messages and notes) */
    const char *ws_base;    /* "ws://host:port" or "wss://…" or "balancer://name" */
    const char *http_base;  /* "http://host:port", "https://…" or "balancer://name" */
    const char *http_bare;  /* "http://host" when the port is the scheme's
                             * default (redirects often omit it), else NULL */
    const char *path;       /* backend path prefix, "" or starting with '/' */
    int         is_tls;
    int         is_balancer;
    int         stat_id;    /* row in the shared counters */
} wsgw_backend_t;

/* One WSGatewayPass line. Lives in the configuration pool. */
typedef struct wsgw_mapping_t {
    const char         *path;        /* normalised PATH (or <Location> path) */
    int                 excluded;    /* "PATH !" */
    apr_array_header_t *backends;    /* wsgw_backend_t, tried in order */
    wsgw_http_mode_e    http_mode;
    wsgw_backend_t      http_backend;/* for WSGW_HTTP_URL */
    const char         *where;       /* "file:line" of the directive */
    int                 stat_id;     /* row in the shared counters */
} wsgw_mapping_t;

typedef struct wsgw_graceful_t wsgw_graceful_t;

/* A tunnel's own look for a graceful restart or stop that no MPM hook
 * reports (wsgw_graceful_watch()); zeroed before the first look. */
typedef struct wsgw_graceful_watch_t {
    apr_time_t next;          /* when to look again */
    apr_time_t probe_until;   /* after AP_SIG_GRACEFUL: look often until */
} wsgw_graceful_watch_t;

typedef struct wsgw_status_t wsgw_status_t;
typedef struct wsgw_reactors_t wsgw_reactors_t;
struct wsgw_stat_t;

typedef struct wsgw_srv_conf_t {
    apr_array_header_t *map;         /* wsgw_map_entry_t, data = wsgw_mapping_t */
    wsgw_graceful_t    *graceful;    /* main server only: this child's tunnels */
    wsgw_status_t      *status;      /* main server only: shared counters */
    wsgw_reactors_t    *reactors;    /* main server only: this child's reactors */
} wsgw_srv_conf_t;

/* Per-directory (server default, VirtualHost, <Location>) policy. */
typedef struct wsgw_dir_conf_t {
    wsgw_mapping_t     *mapping;     /* WSGatewayPass inside <Location> */
    apr_interval_time_t idle_timeout;    /* 0 = never */
    apr_interval_time_t ping_interval;   /* 0 = off */
    apr_interval_time_t ping_timeout;    /* WSGW_UNSET = interval */
    apr_interval_time_t max_lifetime;    /* 0 = none */
    apr_off_t           max_message;     /* 0 = none */
    int                 mode;            /* wsgw_mode_e */
    apr_array_header_t *allow_origin;    /* const char *; NULL = any */
    int                 max_conns;
    int                 max_conns_per_ip;
    int                 graceful_close;
    apr_interval_time_t graceful_spread;
    int                 async;           /* hand tunnels to the reactor */
    /* "was set here" bits for merging */
    unsigned int idle_timeout_set:1, ping_interval_set:1, ping_timeout_set:1,
                 max_lifetime_set:1, max_message_set:1, mode_set:1,
                 allow_origin_set:1, max_conns_set:1, max_conns_per_ip_set:1,
                 graceful_close_set:1, async_set:1;
} wsgw_dir_conf_t;

/* What the translate hook decided for one request (r->request_config). */
typedef struct wsgw_proxy_req_t {
    const wsgw_mapping_t *mapping;
    const wsgw_backend_t *backend;   /* backend chosen for this request */
    int                   handshake; /* Upgrade: websocket + Connection: upgrade */
    int                   in_attempt;/* a member attempt through mod_proxy_http */
    struct wsgw_stat_t   *stat;      /* counters of this tunnel */
} wsgw_proxy_req_t;

#endif /* WSGW_TYPES_H */
