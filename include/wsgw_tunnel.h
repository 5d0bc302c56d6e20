/*
 * The tunnel between a client connection and a backend connection after a
 * successful upgrade.
 *
 * The pump is an event-driven state machine: wsgw_tunnel_wants() says which
 * poll events each side needs, wsgw_tunnel_on_event() records what the poll
 * reported, wsgw_tunnel_pump() moves bytes without ever blocking, and
 * wsgw_tunnel_on_timeout() runs the timers (idle, lifetime, pings, close
 * wait). wsgw_tunnel_run() drives it with one APR pollset in the calling
 * thread; the per-child reactor (wsgw_reactor.c) drives the same calls for
 * many tunnels at once.
 *
 * Memory per tunnel is bounded: one fixed buffer per direction, plus at most
 * one buffer's worth set aside by a connection's output filters.
 */
#ifndef WSGW_TUNNEL_H
#define WSGW_TUNNEL_H

#include "wsgw_types.h"
#include <apr_allocator.h>
#include <apr_poll.h>

typedef struct wsgw_tunnel_t wsgw_tunnel_t;

typedef enum {
    WSGW_TUNNEL_CLIENT = 0,
    WSGW_TUNNEL_BACKEND = 1
} wsgw_tunnel_side_e;

/* What happened, for the log notes and the status counters. */
typedef struct wsgw_tunnel_result_t {
    apr_off_t   bytes_in;     /* client to backend */
    apr_off_t   bytes_out;    /* backend to client */
    int         close_code;   /* first Close code seen or sent; 1006 if none */
    const char *closed_by;    /* "client", "backend" or "gateway" */
    const char *reason;       /* short lowercase text for the log */
} wsgw_tunnel_result_t;

/**
 * Set up a tunnel for @a r (whose 101 was sent) and the backend connection
 * @a backend; @a stat: its shared counters, or NULL. The tunnel lives in
 * the client connection's pool (r->connection->pool), so that it can
 * outlive r->pool (see wsgw_tunnel_set_request()); buffers not lent (see
 * wsgw_tunnel_lend_buffers()) come from r->pool.
 * @param rsv_allowed RSV bits the negotiated extensions may use
 */
apr_status_t wsgw_tunnel_create(wsgw_tunnel_t **tunnel, request_rec *r,
                                conn_rec *backend, const wsgw_dir_conf_t *dc,
                                unsigned int rsv_allowed,
                                struct wsgw_stat_t *stat);

/**
 * Log the opening and arm the timers (the first time; again when a reactor
 * takes a running tunnel over: logs the move). @a wake (with @a baton) is how
 * wsgw_tunnel_request_stop() reaches the thread driving the tunnel from
 * another thread; NULL when only the driving thread calls it.
 */
void wsgw_tunnel_start(wsgw_tunnel_t *t, void (*wake)(void *), void *baton);

/**
 * Take each direction's buffer from @a bufs only while bytes are in flight
 * and give it back when the direction is idle: an idle tunnel then holds
 * no buffer. Without this, a buffer comes from r->pool at first use and
 * stays. Call before the first pump, or between drivers to move to
 * another allocator (a reactor's own); @a bufs must be safe for the
 * driving thread.
 * @return 1 when done, 0 when the tunnel holds a buffer of its current
 *         allocator (it keeps that one)
 */
int wsgw_tunnel_lend_buffers(wsgw_tunnel_t *t, apr_allocator_t *bufs);

/**
 * Give a tunnel between drivers a new request @a r (a copy of its own, see
 * wsgw_request_copy()) when the one it was created for is about to be
 * freed; its configuration is copied into r->pool, which must outlive the
 * tunnel.
 */
void wsgw_tunnel_set_request(wsgw_tunnel_t *t, request_rec *r);

/**
 * Let mod_proxy's backend connection go while the tunnel goes on: when the
 * backend side is plain TCP, already read and written directly, and the
 * tunnel is quiet, the tunnel takes its own descriptor of the same socket
 * (in the tunnel's pool, closed with it). The caller then releases the backend
 * connection, whose pools, conn_rec and bucket allocator an idle tunnel
 * would otherwise hold for its whole life. Only between drivers (before a
 * reactor polls the tunnel).
 * @return APR_SUCCESS when detached (or already), APR_EAGAIN when the side
 *         still needs its filters, or the error of dup()
 */
apr_status_t wsgw_tunnel_detach_backend(wsgw_tunnel_t *t);

/**
 * Before waiting for events: switch plain TCP sides to direct socket I/O
 * when their filters are empty.
 * @return 1 when input may already wait in a filter (pump again without
 *         waiting), else 0
 */
int wsgw_tunnel_prepare(wsgw_tunnel_t *t);

/** Poll events (APR_POLLIN/APR_POLLOUT) side @a s needs now. */
apr_int16_t wsgw_tunnel_wants(const wsgw_tunnel_t *t, wsgw_tunnel_side_e s);

/** Record poll results @a rtnevents for side @a s. */
void wsgw_tunnel_on_event(wsgw_tunnel_t *t, wsgw_tunnel_side_e s,
                          apr_int16_t rtnevents);

/**
 * Move as many bytes as possible without blocking. @a now is the driver's
 * clock (read once per poll round): it stamps the reads for the idle
 * timeout and decides whether a ping is due.
 * @return 1 when the tunnel is finished, else 0
 */
int wsgw_tunnel_pump(wsgw_tunnel_t *t, apr_time_t now);

/** When the next timer is due, 0 for none (at or before the last pump's
 * clock: run wsgw_tunnel_on_timeout() at once). */
apr_time_t wsgw_tunnel_next_deadline(const wsgw_tunnel_t *t);

/** Run timers due at @a now. */
void wsgw_tunnel_on_timeout(wsgw_tunnel_t *t, apr_time_t now);

/**
 * Ask a running tunnel to close for a server stop (WSGatewayGracefulClose):
 * safe from any thread; the tunnel closes itself with 1001 at a random
 * moment within the configured spread.
 */
void wsgw_tunnel_request_stop(wsgw_tunnel_t *t);

/** Pollable descriptor of side @a s (stable for the tunnel's life). */
apr_pollfd_t *wsgw_tunnel_pollfd(wsgw_tunnel_t *t, wsgw_tunnel_side_e s);

/**
 * Drive the tunnel with a private pollset, in this thread, to its end; or,
 * when @a move_after > 0, until it is quiet (nothing in flight) after
 * having run that long, so a reactor can take it over: short-lived tunnels
 * then end in their own thread, idle and long-lived ones free it.
 * @return APR_SUCCESS when it ended (finished), APR_INCOMPLETE when it is
 *         quiet and waiting for a new driver, or the error that kept it
 *         from running (it is finished then too, closed by the gateway)
 */
apr_status_t wsgw_tunnel_run(wsgw_tunnel_t *t, apr_interval_time_t move_after);

/**
 * End a tunnel whose driver cannot go on (poll failure, server exit):
 * recorded as closed by the gateway with 1006 and @a reason.
 */
void wsgw_tunnel_abort(wsgw_tunnel_t *t, const char *reason);

/**
 * After the pump reported the end (or an abort): fill the result, give the
 * sockets their timeouts back, log the closing.
 */
void wsgw_tunnel_finish(wsgw_tunnel_t *t);

/** Outcome, valid once the tunnel finished. */
const wsgw_tunnel_result_t *wsgw_tunnel_result(const wsgw_tunnel_t *t);

#endif /* WSGW_TUNNEL_H */
