/*
 * Shared counters, connection limits and the status pages.
 *
 * Storage: one slotmem (httpd's "shm" provider) of rows; row (p, e) belongs
 * to process slot p and entity e (a mapping or a backend member). A child
 * claims a free process slot in child_init (under the global mutex) and
 * writes only its own rows, with atomics; so readers never lock, a crashed
 * child's active counts drop out as soon as its pid is gone, and cumulative
 * counters survive it.
 *
 * Limits (WSGatewayMaxConnections[PerIP]) are checked and counted under one
 * global mutex so that concurrent handshakes in different processes can
 * never exceed them.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_main.h"
#include "http_protocol.h"
#include "http_request.h"
#include "ap_mpm.h"
#include "ap_provider.h"
#include "ap_slotmem.h"
#include "mod_status.h"
#include "util_mutex.h"
#include <apr_atomic.h>
#include <apr_global_mutex.h>
#include <apr_strings.h>
#include <signal.h>
#include <errno.h>
#include <unistd.h>

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_status.h"

#define WSGW_STATUS_HANDLER   "ws-gateway-status"
#define WSGW_STATUS_MUTEX     "wsgw-status"
#define WSGW_STATUS_ENTITIES  "wsgw-status-entities"
#define WSGW_STATUS_LIMITS    "wsgw-status-limits"
#define WSGW_STATUS_IPS       64

static const int wsgw_status_codes[] = {
    1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011, 1014
};
#define WSGW_STATUS_NCODES \
    ((int)(sizeof(wsgw_status_codes) / sizeof(wsgw_status_codes[0])))

static const char *const wsgw_status_fail_names[WSGW_FAIL_COUNT] = {
    "bad_request", "version", "origin", "limit", "backend", "refused"
};

/* One process slot's counters for one entity; 64-bit fields first. */
typedef struct wsgw_status_row_t {
    volatile apr_uint64_t total;
    volatile apr_uint64_t bytes_in;
    volatile apr_uint64_t bytes_out;
    volatile apr_uint64_t msgs_in;
    volatile apr_uint64_t msgs_out;
    volatile apr_uint32_t pid;            /* owner; 0 = never used */
    volatile apr_uint32_t active;
    volatile apr_uint32_t failovers;
    volatile apr_uint32_t fail[WSGW_FAIL_COUNT];
    volatile apr_uint32_t close[WSGW_STATUS_NCODES + 1]; /* + "other" */
    /* Per-address counts, only under the global mutex. */
    struct {
        apr_uint32_t count;
        char         ip[48];
    } ips[WSGW_STATUS_IPS];
} wsgw_status_row_t;

typedef struct wsgw_status_entity_t {
    const wsgw_mapping_t *m;
    const wsgw_backend_t *b;     /* NULL for the mapping itself */
} wsgw_status_entity_t;

/* This configuration generation's shared state (pconf; main server). */
typedef struct wsgw_status_t {
    const ap_slotmem_provider_t *slotmem;
    ap_slotmem_instance_t       *inst;
    apr_global_mutex_t          *mutex;
    apr_array_header_t          *entities;  /* wsgw_status_entity_t */
    unsigned int                 nslots;    /* process slots */
    int                          my_slot;   /* this child's, or -1 */
} wsgw_status_t;

struct wsgw_stat_t {
    wsgw_status_row_t *mrow;     /* the mapping's row of this child */
    wsgw_status_row_t *brow;     /* the backend's, once the tunnel is up */
    int                ip_slot;  /* counted address in mrow->ips, or -1 */
    int                closed;
    apr_pool_t        *pool;     /* whose cleanup ends the active count */
};

static wsgw_status_t *wsgw_status_get(void)
{
    return ap_server_conf ? wsgw_config_srv(ap_server_conf)->status : NULL;
}

static apr_array_header_t *wsgw_status_entities(apr_pool_t *pconf)
{
    void *data = NULL;

    apr_pool_userdata_get(&data, WSGW_STATUS_ENTITIES, pconf);
    if (data == NULL) {
        data = apr_array_make(pconf, 16, sizeof(wsgw_status_entity_t));
        apr_pool_userdata_set(data, WSGW_STATUS_ENTITIES,
                              apr_pool_cleanup_null, pconf);
    }
    return data;
}

void wsgw_status_register_mapping(apr_pool_t *pconf, wsgw_mapping_t *m)
{
    apr_array_header_t *ents = wsgw_status_entities(pconf);
    wsgw_status_entity_t *e;
    int i;

    m->stat_id = ents->nelts;
    e = &APR_ARRAY_PUSH(ents, wsgw_status_entity_t);
    e->m = m;
    e->b = NULL;
    for (i = 0; i < m->backends->nelts; ++i) {
        wsgw_backend_t *b = &APR_ARRAY_IDX(m->backends, i, wsgw_backend_t);

        b->stat_id = ents->nelts;
        e = &APR_ARRAY_PUSH(ents, wsgw_status_entity_t);
        e->m = m;
        e->b = b;
    }
}

void wsgw_status_limits_used(apr_pool_t *pconf)
{
    apr_pool_userdata_set("1", WSGW_STATUS_LIMITS, apr_pool_cleanup_null,
                          pconf);
}

static wsgw_status_row_t *wsgw_status_row(wsgw_status_t *st,
                                          unsigned int slot, int entity)
{
    void *mem = NULL;

    if (st->inst == NULL || entity < 0
        || st->slotmem->dptr(st->inst, slot * (unsigned int)st->entities->nelts
                             + (unsigned int)entity, &mem) != APR_SUCCESS) {
        return NULL;
    }
    return mem;
}

static int wsgw_status_alive(apr_uint32_t pid)
{
    return pid != 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

static int wsgw_status_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                                  apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, WSGW_STATUS_MUTEX, NULL,
                             APR_LOCK_DEFAULT, 0);
}

static int wsgw_status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                                   apr_pool_t *ptemp, server_rec *s)
{
    wsgw_status_t *st;
    apr_array_header_t *ents = wsgw_status_entities(pconf);
    void *limits = NULL;
    int daemons = 0;
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;      /* the first, trial configuration pass */
    }
    st = apr_pcalloc(pconf, sizeof(*st));
    st->entities = ents;
    st->my_slot = -1;
    wsgw_config_srv(s)->status = st;
    apr_pool_userdata_get(&limits, WSGW_STATUS_LIMITS, pconf);
    if (ents->nelts == 0) {
        return OK;
    }
    st->slotmem = ap_lookup_provider(AP_SLOTMEM_PROVIDER_GROUP, "shm",
                                     AP_SLOTMEM_PROVIDER_VERSION);
    if (st->slotmem == NULL) {
        if (limits) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, WSGW_LOGNO(00701)
                         "%s/%s need shared memory across processes: load "
                         "mod_slotmem_shm (a2enmod slotmem_shm, or "
                         "LoadModule slotmem_shm_module ...)",
                         WSGW_DIRECTIVE_MAX_CONNS,
                         WSGW_DIRECTIVE_MAX_CONNS_PER_IP);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* Nothing breaks without it: a notice, not a warning. */
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, WSGW_LOGNO(00702)
                     "mod_slotmem_shm is not loaded: the ws-gateway-status "
                     "counters are off; a2enmod slotmem_shm to have them");
        return OK;
    }
    ap_mpm_query(AP_MPMQ_HARD_LIMIT_DAEMONS, &daemons);
    st->nslots = daemons > 0 ? (unsigned int)daemons : 1;
    rv = st->slotmem->create(&st->inst, "wsgw-status", sizeof(wsgw_status_row_t),
                             st->nslots * (unsigned int)ents->nelts,
                             AP_SLOTMEM_TYPE_PREGRAB, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, WSGW_LOGNO(00703)
                     "cannot create the shared memory for the gateway's "
                     "counters (%u rows of %" APR_SIZE_T_FMT " bytes); check "
                     "DefaultRuntimeDir is writable", st->nslots
                     * (unsigned int)ents->nelts, sizeof(wsgw_status_row_t));
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rv = ap_global_mutex_create(&st->mutex, NULL, WSGW_STATUS_MUTEX, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, WSGW_LOGNO(00704)
                     "cannot create the gateway's counter lock; see Mutex "
                     "in the httpd documentation");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void wsgw_status_child_init(apr_pool_t *pchild, server_rec *s)
{
    wsgw_status_t *st = wsgw_config_srv(s)->status;
    apr_uint32_t me = (apr_uint32_t)getpid();
    unsigned int slot;
    int e;

    if (st == NULL || st->inst == NULL) {
        return;
    }
    if (apr_global_mutex_child_init(&st->mutex,
                                     apr_global_mutex_lockfile(st->mutex),
                                     pchild) != APR_SUCCESS) {
        st->inst = NULL;
        return;
    }
    apr_global_mutex_lock(st->mutex);
    for (slot = 0; slot < st->nslots; ++slot) {
        wsgw_status_row_t *row = wsgw_status_row(st, slot, 0);

        if (row && !wsgw_status_alive(row->pid)) {
            break;
        }
    }
    if (slot < st->nslots) {
        /* Take the slot over: what the previous owner had open is gone;
         * what it counted stays in the totals. */
        for (e = 0; e < st->entities->nelts; ++e) {
            wsgw_status_row_t *row = wsgw_status_row(st, slot, e);

            row->pid = me;
            row->active = 0;
            memset(row->ips, 0, sizeof(row->ips));
        }
        st->my_slot = (int)slot;
    }
    apr_global_mutex_unlock(st->mutex);
    if (st->my_slot < 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, WSGW_LOGNO(00705)
                     "no free counter slot for this child (pid %u); its "
                     "tunnels are not counted", (unsigned int)me);
    }
}

static wsgw_status_row_t *wsgw_status_mine(int entity)
{
    wsgw_status_t *st = wsgw_status_get();

    if (st == NULL || st->my_slot < 0) {
        return NULL;
    }
    return wsgw_status_row(st, (unsigned int)st->my_slot, entity);
}

/* Open tunnels of @a entity in every live process; per @a ip when given. */
static apr_uint32_t wsgw_status_count(wsgw_status_t *st, int entity,
                                      const char *ip)
{
    apr_uint32_t sum = 0;
    unsigned int slot;
    int i;

    for (slot = 0; slot < st->nslots; ++slot) {
        wsgw_status_row_t *row = wsgw_status_row(st, slot, entity);

        if (row == NULL || !wsgw_status_alive(row->pid)) {
            continue;
        }
        if (ip == NULL) {
            sum += apr_atomic_read32(&row->active);
            continue;
        }
        for (i = 0; i < WSGW_STATUS_IPS; ++i) {
            if (row->ips[i].count && !strcmp(row->ips[i].ip, ip)) {
                sum += row->ips[i].count;
            }
        }
    }
    return sum;
}

static apr_status_t wsgw_status_release(void *data)
{
    wsgw_stat_t *h = data;
    wsgw_status_t *st = wsgw_status_get();

    if (h->mrow) {
        apr_atomic_dec32(&h->mrow->active);
        if (h->ip_slot >= 0 && st && st->mutex) {
            apr_global_mutex_lock(st->mutex);
            if (h->mrow->ips[h->ip_slot].count) {
                --h->mrow->ips[h->ip_slot].count;
            }
            apr_global_mutex_unlock(st->mutex);
        }
    }
    if (h->brow) {
        apr_atomic_dec32(&h->brow->active);
    }
    return APR_SUCCESS;
}

int wsgw_status_admit(request_rec *r, const wsgw_mapping_t *m,
                      const wsgw_dir_conf_t *dc, wsgw_stat_t **out)
{
    wsgw_status_t *st = wsgw_status_get();
    wsgw_stat_t *h = apr_pcalloc(r->pool, sizeof(*h));
    int limited = dc->max_conns > 0 || dc->max_conns_per_ip > 0;
    const char *ip = r->useragent_ip;
    int refused = 0, i;

    *out = h;
    h->ip_slot = -1;
    h->mrow = wsgw_status_mine(m->stat_id);
    if (h->mrow == NULL) {
        return OK;
    }
    if (limited) {
        apr_global_mutex_lock(st->mutex);
        if (dc->max_conns > 0
            && wsgw_status_count(st, m->stat_id, NULL)
               >= (apr_uint32_t)dc->max_conns) {
            refused = 1;
        }
        else if (dc->max_conns_per_ip > 0) {
            int free_slot = -1;

            if (wsgw_status_count(st, m->stat_id, ip)
                >= (apr_uint32_t)dc->max_conns_per_ip) {
                refused = 2;
            }
            for (i = 0; !refused && i < WSGW_STATUS_IPS; ++i) {
                if (h->mrow->ips[i].count && !strcmp(h->mrow->ips[i].ip, ip)) {
                    h->ip_slot = i;
                    break;
                }
                if (free_slot < 0 && h->mrow->ips[i].count == 0) {
                    free_slot = i;
                }
            }
            if (!refused && h->ip_slot < 0) {
                /* A full table cannot count a new address: refuse rather
                 * than let it past the limit unseen. */
                h->ip_slot = free_slot;
                if (free_slot < 0) {
                    refused = 3;
                }
                else {
                    apr_cpystrn(h->mrow->ips[free_slot].ip, ip,
                                sizeof(h->mrow->ips[free_slot].ip));
                }
            }
            if (!refused) {
                ++h->mrow->ips[h->ip_slot].count;
            }
        }
        if (!refused) {
            apr_atomic_inc32(&h->mrow->active);
        }
        apr_global_mutex_unlock(st->mutex);
    }
    else {
        apr_atomic_inc32(&h->mrow->active);
    }
    if (refused) {
        h->ip_slot = -1;
        apr_atomic_inc32(&h->mrow->fail[WSGW_FAIL_LIMIT]);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, WSGW_LOGNO(00706)
                      "WebSocket refused under %s: %s reached (%d); raise "
                      "it if the server can carry more", m->path,
                      refused == 1 ? WSGW_DIRECTIVE_MAX_CONNS
                                   : WSGW_DIRECTIVE_MAX_CONNS_PER_IP,
                      refused == 1 ? dc->max_conns : dc->max_conns_per_ip);
        apr_table_setn(r->err_headers_out, "Retry-After", "5");
        h->mrow = NULL;
        return HTTP_SERVICE_UNAVAILABLE;
    }
    h->pool = r->pool;
    apr_pool_cleanup_register(r->pool, h, wsgw_status_release,
                              apr_pool_cleanup_null);
    return OK;
}

void wsgw_status_fail(request_rec *r, const wsgw_mapping_t *m,
                      wsgw_fail_e why)
{
    wsgw_status_row_t *row = wsgw_status_mine(m->stat_id);

    if (row) {
        apr_atomic_inc32(&row->fail[why]);
    }
}

void wsgw_status_failover(request_rec *r, const wsgw_mapping_t *m)
{
    wsgw_status_row_t *row = wsgw_status_mine(m->stat_id);

    if (row) {
        apr_atomic_inc32(&row->failovers);
    }
}

void wsgw_status_tunnel_open(wsgw_stat_t *h, request_rec *r,
                             const wsgw_backend_t *b)
{
    if (h == NULL || h->mrow == NULL) {
        return;
    }
    /* Totals count tunnels: a handshake the backend refused is a
     * handshake failure, not a tunnel. */
    apr_atomic_add64(&h->mrow->total, 1);
    h->brow = wsgw_status_mine(b ? b->stat_id : -1);
    if (h->brow) {
        apr_atomic_inc32(&h->brow->active);
        apr_atomic_add64(&h->brow->total, 1);
    }
}

void wsgw_status_bytes(wsgw_stat_t *h, apr_size_t in, apr_size_t out)
{
    if (h == NULL || h->mrow == NULL) {
        return;
    }
    if (in) {
        apr_atomic_add64(&h->mrow->bytes_in, in);
        if (h->brow) {
            apr_atomic_add64(&h->brow->bytes_in, in);
        }
    }
    if (out) {
        apr_atomic_add64(&h->mrow->bytes_out, out);
        if (h->brow) {
            apr_atomic_add64(&h->brow->bytes_out, out);
        }
    }
}

void wsgw_status_message(wsgw_stat_t *h, int from_client)
{
    if (h && h->mrow) {
        apr_atomic_add64(from_client ? &h->mrow->msgs_in : &h->mrow->msgs_out,
                         1);
    }
}

void wsgw_status_tunnel_close(wsgw_stat_t *h, int close_code)
{
    int i;

    if (h == NULL || h->mrow == NULL || h->closed) {
        return;
    }
    h->closed = 1;
    for (i = 0; i < WSGW_STATUS_NCODES; ++i) {
        if (wsgw_status_codes[i] == close_code) {
            break;
        }
    }
    apr_atomic_inc32(&h->mrow->close[i]);
    /* Not active from now on, even while the connection still closes. */
    if (h->pool) {
        apr_pool_cleanup_run(h->pool, h, wsgw_status_release);
        h->pool = NULL;
    }
}

wsgw_stat_t *wsgw_status_move(wsgw_stat_t *h, apr_pool_t *p)
{
    wsgw_stat_t *moved;

    if (h == NULL) {
        return NULL;
    }
    moved = apr_pmemdup(p, h, sizeof(*h));
    if (h->pool) {
        apr_pool_cleanup_kill(h->pool, h, wsgw_status_release);
        h->pool = NULL;
        moved->pool = p;
        apr_pool_cleanup_register(p, moved, wsgw_status_release,
                                  apr_pool_cleanup_null);
    }
    return moved;
}

/* ------------------------------------------------------------------ */
/* Reading the counters                                                */

typedef struct wsgw_status_sum_t {
    apr_uint64_t active, total, bytes_in, bytes_out, msgs_in, msgs_out;
    apr_uint64_t failovers;
    apr_uint64_t fail[WSGW_FAIL_COUNT];
    apr_uint64_t close[WSGW_STATUS_NCODES + 1];
} wsgw_status_sum_t;

static void wsgw_status_sum(wsgw_status_t *st, int entity,
                            wsgw_status_sum_t *sum)
{
    unsigned int slot;
    int i;

    memset(sum, 0, sizeof(*sum));
    for (slot = 0; slot < st->nslots; ++slot) {
        wsgw_status_row_t *row = wsgw_status_row(st, slot, entity);

        if (row == NULL || row->pid == 0) {
            continue;
        }
        if (wsgw_status_alive(row->pid)) {
            sum->active += apr_atomic_read32(&row->active);
        }
        sum->total += apr_atomic_read64(&row->total);
        sum->bytes_in += apr_atomic_read64(&row->bytes_in);
        sum->bytes_out += apr_atomic_read64(&row->bytes_out);
        sum->msgs_in += apr_atomic_read64(&row->msgs_in);
        sum->msgs_out += apr_atomic_read64(&row->msgs_out);
        sum->failovers += apr_atomic_read32(&row->failovers);
        for (i = 0; i < WSGW_FAIL_COUNT; ++i) {
            sum->fail[i] += apr_atomic_read32(&row->fail[i]);
        }
        for (i = 0; i <= WSGW_STATUS_NCODES; ++i) {
            sum->close[i] += apr_atomic_read32(&row->close[i]);
        }
    }
}

/* @a str as a JSON string body (quotes, backslashes, controls escaped). */
static const char *wsgw_status_json_str(apr_pool_t *p, const char *str)
{
    char *out = apr_palloc(p, strlen(str) * 6 + 1), *o = out;

    for (; *str; ++str) {
        unsigned char c = (unsigned char)*str;

        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
        }
        else if (c < 0x20) {
            o += apr_snprintf(o, 7, "\\u%04x", c);
        }
        else {
            *o++ = (char)c;
        }
    }
    *o = '\0';
    return out;
}

static void wsgw_status_json_sum(request_rec *r, const wsgw_status_sum_t *s,
                                 int full)
{
    int i;

    ap_rprintf(r, "\"active\":%" APR_UINT64_T_FMT ",\"total\":%"
               APR_UINT64_T_FMT ",\"bytes_in\":%" APR_UINT64_T_FMT
               ",\"bytes_out\":%" APR_UINT64_T_FMT, s->active, s->total,
               s->bytes_in, s->bytes_out);
    if (!full) {
        return;
    }
    ap_rprintf(r, ",\"messages_in\":%" APR_UINT64_T_FMT ",\"messages_out\":%"
               APR_UINT64_T_FMT ",\"failovers\":%" APR_UINT64_T_FMT
               ",\"handshake_failures\":{", s->msgs_in, s->msgs_out,
               s->failovers);
    for (i = 0; i < WSGW_FAIL_COUNT; ++i) {
        ap_rprintf(r, "%s\"%s\":%" APR_UINT64_T_FMT, i ? "," : "",
                   wsgw_status_fail_names[i], s->fail[i]);
    }
    ap_rputs("},\"close_codes\":{", r);
    for (i = 0; i < WSGW_STATUS_NCODES; ++i) {
        ap_rprintf(r, "%s\"%d\":%" APR_UINT64_T_FMT, i ? "," : "",
                   wsgw_status_codes[i], s->close[i]);
    }
    ap_rprintf(r, ",\"other\":%" APR_UINT64_T_FMT "}",
               s->close[WSGW_STATUS_NCODES]);
}

static void wsgw_status_json(request_rec *r, wsgw_status_t *st)
{
    int e;
    int first = 1;

    ap_set_content_type(r, "application/json");
    ap_rprintf(r, "{\"version\":\"%s\",\"counters\":%s,\"mappings\":[",
               WSGW_VERSION, st->inst ? "true" : "false");
    for (e = 0; st->inst && e < st->entities->nelts; ++e) {
        const wsgw_status_entity_t *ent = &APR_ARRAY_IDX(st->entities, e,
                                                         wsgw_status_entity_t);
        wsgw_status_sum_t sum;

        wsgw_status_sum(st, e, &sum);
        if (ent->b == NULL) {
            ap_rprintf(r, "%s{\"path\":\"%s\",\"where\":\"%s\",",
                       first ? "" : "]},",
                       wsgw_status_json_str(r->pool, ent->m->path),
                       wsgw_status_json_str(r->pool, ent->m->where));
            wsgw_status_json_sum(r, &sum, 1);
            ap_rputs(",\"backends\":[", r);
            first = 0;
        }
        else {
            ap_rprintf(r, "%s{\"url\":\"%s\",",
                       ent->b->stat_id == ent->m->stat_id + 1 ? "" : ",",
                       wsgw_status_json_str(r->pool, ent->b->url));
            wsgw_status_json_sum(r, &sum, 0);
            ap_rputs("}", r);
        }
    }
    ap_rputs(first ? "]}\n" : "]}]}\n", r);
}

static void wsgw_status_html_rows(request_rec *r, wsgw_status_t *st,
                                  int table_only)
{
    int e, i;

    ap_rputs("<table border=\"1\" cellpadding=\"4\"><tr><th>mapping / backend"
             "</th><th>active</th><th>total</th><th>bytes in</th>"
             "<th>bytes out</th><th>messages in/out</th><th>failovers</th>"
             "<th>handshake failures</th><th>close codes</th></tr>\n", r);
    for (e = 0; st->inst && e < st->entities->nelts; ++e) {
        const wsgw_status_entity_t *ent = &APR_ARRAY_IDX(st->entities, e,
                                                         wsgw_status_entity_t);
        wsgw_status_sum_t s;

        wsgw_status_sum(st, e, &s);
        if (ent->b) {
            ap_rprintf(r, "<tr><td>&nbsp;&nbsp;&rarr; %s</td><td>%"
                       APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
                       "</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                       APR_UINT64_T_FMT "</td><td></td><td></td><td></td>"
                       "<td></td></tr>\n",
                       ap_escape_html(r->pool, ent->b->url), s.active,
                       s.total, s.bytes_in, s.bytes_out);
            continue;
        }
        ap_rprintf(r, "<tr><td><b>%s</b> <small>(%s)</small></td><td>%"
                   APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT " / %" APR_UINT64_T_FMT "</td><td>%"
                   APR_UINT64_T_FMT "</td><td>",
                   ap_escape_html(r->pool, ent->m->path),
                   ap_escape_html(r->pool, ent->m->where), s.active, s.total,
                   s.bytes_in, s.bytes_out, s.msgs_in, s.msgs_out,
                   s.failovers);
        for (i = 0; i < WSGW_FAIL_COUNT; ++i) {
            if (s.fail[i]) {
                ap_rprintf(r, "%s=%" APR_UINT64_T_FMT " ",
                           wsgw_status_fail_names[i], s.fail[i]);
            }
        }
        ap_rputs("</td><td>", r);
        for (i = 0; i <= WSGW_STATUS_NCODES; ++i) {
            if (s.close[i]) {
                if (i < WSGW_STATUS_NCODES) {
                    ap_rprintf(r, "%d=%" APR_UINT64_T_FMT " ",
                               wsgw_status_codes[i], s.close[i]);
                }
                else {
                    ap_rprintf(r, "other=%" APR_UINT64_T_FMT " ", s.close[i]);
                }
            }
        }
        ap_rputs("</td></tr>\n", r);
    }
    ap_rputs("</table>\n", r);
    if (!st->inst && !table_only) {
        ap_rputs("<p>Counters are off: load mod_slotmem_shm.</p>\n", r);
    }
}

static int wsgw_status_handler(request_rec *r)
{
    wsgw_status_t *st;

    if (strcmp(r->handler, WSGW_STATUS_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    st = wsgw_status_get();
    if (st == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    apr_table_setn(r->headers_out, "Cache-Control", "no-cache");
    if (r->header_only) {
        return OK;
    }
    if (r->args && (!strcmp(r->args, "json")
                    || !strncmp(r->args, "json&", 5))) {
        wsgw_status_json(r, st);
        return OK;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_rputs(DOCTYPE_HTML_4_01 "<html><head><title>WebSocket gateway status"
             "</title></head><body>\n<h1>WebSocket gateway status</h1>\n", r);
    ap_rprintf(r, "<p>mod_ws_gateway %s; counters shared by all child "
               "processes; <a href=\"?json\">JSON</a></p>\n",
               WSGW_VERSION);
    wsgw_status_html_rows(r, st, 0);
    ap_rputs("</body></html>\n", r);
    return OK;
}

/* A section in mod_status's server-status page. */
static int wsgw_status_mod_status(request_rec *r, int flags)
{
    wsgw_status_t *st = wsgw_status_get();

    if (st == NULL || st->inst == NULL || (flags & AP_STATUS_SHORT)) {
        return OK;
    }
    ap_rputs("<hr />\n<h2>WebSocket gateway</h2>\n", r);
    wsgw_status_html_rows(r, st, 1);
    return OK;
}

void wsgw_status_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(wsgw_status_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(wsgw_status_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(wsgw_status_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(wsgw_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, wsgw_status_mod_status, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
