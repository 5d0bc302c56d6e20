/*
 * The tunnels' poller (the reactor's, and a tunnel's own in its worker
 * thread): an APR pollset, or on Linux an epoll set that can watch sockets
 * edge-triggered and is woken through an eventfd.
 *
 * A level-triggered set reports a readable socket again at every wait
 * until it is drained, so each wait re-examines every socket it reported
 * last time; with thousands of tunnels in one set that is a second socket
 * poll for most events. Edge-triggered, a socket is watched once for both
 * directions and reported only when it changes; the tunnel remembers what
 * it may do (wsgw_tunnel_on_event()) and reads until a short read or
 * EAGAIN, writes until EAGAIN, which is exactly the pump's rule.
 */
#ifndef WSGW_POLLER_H
#define WSGW_POLLER_H

#include <apr_poll.h>

typedef struct wsgw_poller_t wsgw_poller_t;

/** One result of wsgw_poller_wait(). */
typedef struct wsgw_poller_event_t {
    void       *data;           /* the pollfd's client_data */
    apr_int16_t rtnevents;      /* APR_POLLIN, _OUT, _HUP, _ERR */
} wsgw_poller_event_t;

/**
 * Create a poller returning at most @a size results per wait, in @a p
 * (its descriptors are closed with @a p); any thread may wake it.
 */
apr_status_t wsgw_poller_create(wsgw_poller_t **pp, apr_uint32_t size,
                                apr_pool_t *p);

/** Does this poller watch edge-triggered when asked to? */
int wsgw_poller_has_edge(const wsgw_poller_t *pp);

/**
 * Watch socket @a pfd (desc.s; or a pipe, desc.f) for pfd->reqevents,
 * reporting pfd->client_data. With @a edge (and wsgw_poller_has_edge()),
 * each readiness is reported once, when it begins; otherwise as long as
 * it lasts. @a pfd must stay valid until it is removed.
 */
apr_status_t wsgw_poller_add(wsgw_poller_t *pp, apr_pollfd_t *pfd, int edge);

/** Stop watching @a pfd (before its socket is closed). */
apr_status_t wsgw_poller_remove(wsgw_poller_t *pp, apr_pollfd_t *pfd);

/**
 * Wait up to @a timeout (-1: no limit) for results; a wakeup ends the wait
 * with APR_EINTR and no result.
 */
apr_status_t wsgw_poller_wait(wsgw_poller_t *pp, apr_interval_time_t timeout,
                              apr_int32_t *n,
                              const wsgw_poller_event_t **results);

/**
 * Close the poller's descriptors now rather than with its pool (its
 * registrations end with them); @a pp is not used again.
 */
void wsgw_poller_destroy(wsgw_poller_t *pp);

/** End a wait in another thread (or the next one). */
void wsgw_poller_wakeup(wsgw_poller_t *pp);

#endif /* WSGW_POLLER_H */
