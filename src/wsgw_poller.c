/*
 * The reactor's poller (see wsgw_poller.h): raw epoll with an eventfd for
 * wakeups on Linux, an APR pollset (APR_POLLSET_WAKEABLE) elsewhere.
 */
#include <apr_poll.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "wsgw_poller.h"

/* -DWSGW_POLLER_NO_EPOLL builds the portable path on Linux too. */
#if defined(__linux__) && !defined(WSGW_POLLER_NO_EPOLL)
#define WSGW_POLLER_EPOLL 1
#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#endif

struct wsgw_poller_t {
    apr_pool_t           *pool;
    apr_uint32_t          size;
    wsgw_poller_event_t  *results;
#ifdef WSGW_POLLER_EPOLL
    int                   epfd;
    int                   evfd;         /* wakeups */
    struct epoll_event   *events;
#else
    apr_pollset_t        *ps;
#endif
};

#ifdef WSGW_POLLER_EPOLL

static apr_status_t wsgw_poller_cleanup(void *data)
{
    wsgw_poller_t *pp = data;

    if (pp->evfd >= 0) {
        close(pp->evfd);
    }
    if (pp->epfd >= 0) {
        close(pp->epfd);
    }
    return APR_SUCCESS;
}

apr_status_t wsgw_poller_create(wsgw_poller_t **out, apr_uint32_t size,
                                apr_pool_t *p)
{
    wsgw_poller_t *pp = apr_pcalloc(p, sizeof(*pp));
    struct epoll_event ev;

    pp->pool = p;
    pp->size = size;
    pp->results = apr_palloc(p, size * sizeof(*pp->results));
    pp->events = apr_palloc(p, size * sizeof(*pp->events));
    pp->epfd = epoll_create1(EPOLL_CLOEXEC);
    pp->evfd = pp->epfd < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    apr_pool_cleanup_register(p, pp, wsgw_poller_cleanup,
                              apr_pool_cleanup_null);
    if (pp->evfd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    ev.data.ptr = NULL;         /* the wakeup descriptor */
    if (epoll_ctl(pp->epfd, EPOLL_CTL_ADD, pp->evfd, &ev) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    *out = pp;
    return APR_SUCCESS;
}

int wsgw_poller_has_edge(const wsgw_poller_t *pp)
{
    (void)pp;
    return 1;
}

/* The descriptor of a socket or (mod_http2's notification pipe) a file. */
static int wsgw_poller_fd(apr_pollfd_t *pfd)
{
    apr_os_sock_t sfd;
    apr_os_file_t ffd;

    if (pfd->desc_type == APR_POLL_SOCKET) {
        return apr_os_sock_get(&sfd, pfd->desc.s) == APR_SUCCESS ? sfd : -1;
    }
    if (pfd->desc_type == APR_POLL_FILE) {
        return apr_os_file_get(&ffd, pfd->desc.f) == APR_SUCCESS ? ffd : -1;
    }
    return -1;
}

apr_status_t wsgw_poller_add(wsgw_poller_t *pp, apr_pollfd_t *pfd, int edge)
{
    struct epoll_event ev;
    int fd = wsgw_poller_fd(pfd);

    if (fd < 0) {
        return APR_EBADF;
    }
    memset(&ev, 0, sizeof(ev));
    if (pfd->reqevents & APR_POLLIN) {
        ev.events |= EPOLLIN | EPOLLRDHUP;
    }
    if (pfd->reqevents & APR_POLLOUT) {
        ev.events |= EPOLLOUT;
    }
    if (edge) {
        ev.events |= EPOLLET;
    }
    ev.data.ptr = pfd->client_data;
    if (epoll_ctl(pp->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

apr_status_t wsgw_poller_remove(wsgw_poller_t *pp, apr_pollfd_t *pfd)
{
    struct epoll_event ev;
    int fd = wsgw_poller_fd(pfd);

    if (fd < 0) {
        return APR_EBADF;
    }
    memset(&ev, 0, sizeof(ev));     /* kernels before 2.6.9 read it */
    if (epoll_ctl(pp->epfd, EPOLL_CTL_DEL, fd, &ev) < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    return APR_SUCCESS;
}

apr_status_t wsgw_poller_wait(wsgw_poller_t *pp, apr_interval_time_t timeout,
                              apr_int32_t *n,
                              const wsgw_poller_event_t **results)
{
    int got, i, woken = 0;
    apr_int32_t k = 0;
    int ms;

    if (timeout < 0) {
        ms = -1;
    }
    else {
        /* Round up: waking before a timer is due only to wait again
         * would cost a round. */
        apr_interval_time_t t = (timeout + 999) / 1000;

        ms = t > 0x7fffffff ? 0x7fffffff : (int)t;
    }
    *n = 0;
    *results = pp->results;
    got = epoll_wait(pp->epfd, pp->events, (int)pp->size, ms);
    if (got < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    if (got == 0) {
        return APR_TIMEUP;
    }
    for (i = 0; i < got; ++i) {
        const struct epoll_event *ev = &pp->events[i];
        apr_int16_t rt = 0;

        if (ev->data.ptr == NULL) {
            uint64_t count;

            woken = 1;
            while (read(pp->evfd, &count, sizeof(count)) > 0) {
                ;
            }
            continue;
        }
        if (ev->events & (EPOLLIN | EPOLLRDHUP)) {
            rt |= APR_POLLIN;
        }
        if (ev->events & EPOLLOUT) {
            rt |= APR_POLLOUT;
        }
        /* The peer's FIN (RDHUP) counts as a hang-up: with edges, it is
         * the caller's only notice that a read will find the end, even
         * when the FIN came with the last bytes. */
        if (ev->events & (EPOLLHUP | EPOLLRDHUP)) {
            rt |= APR_POLLHUP;
        }
        if (ev->events & EPOLLERR) {
            rt |= APR_POLLERR;
        }
        pp->results[k].data = ev->data.ptr;
        pp->results[k].rtnevents = rt;
        ++k;
    }
    *n = k;
    return k == 0 && woken ? APR_EINTR : APR_SUCCESS;
}

void wsgw_poller_destroy(wsgw_poller_t *pp)
{
    apr_pool_cleanup_run(pp->pool, pp, wsgw_poller_cleanup);
}

void wsgw_poller_wakeup(wsgw_poller_t *pp)
{
    uint64_t one = 1;

    /* EAGAIN: the counter is full, a wakeup is pending anyway. */
    if (write(pp->evfd, &one, sizeof(one)) < 0) {
        return;
    }
}

#else /* an APR pollset */

apr_status_t wsgw_poller_create(wsgw_poller_t **out, apr_uint32_t size,
                                apr_pool_t *p)
{
    wsgw_poller_t *pp = apr_pcalloc(p, sizeof(*pp));
    apr_status_t rv;

    pp->size = size;
    pp->results = apr_palloc(p, size * sizeof(*pp->results));
    rv = apr_pollset_create(&pp->ps, size, p,
                            APR_POLLSET_NOCOPY | APR_POLLSET_WAKEABLE);
    if (rv == APR_SUCCESS) {
        *out = pp;
    }
    return rv;
}

int wsgw_poller_has_edge(const wsgw_poller_t *pp)
{
    (void)pp;
    return 0;
}

apr_status_t wsgw_poller_add(wsgw_poller_t *pp, apr_pollfd_t *pfd, int edge)
{
    (void)edge;
    return apr_pollset_add(pp->ps, pfd);
}

apr_status_t wsgw_poller_remove(wsgw_poller_t *pp, apr_pollfd_t *pfd)
{
    return apr_pollset_remove(pp->ps, pfd);
}

apr_status_t wsgw_poller_wait(wsgw_poller_t *pp, apr_interval_time_t timeout,
                              apr_int32_t *n,
                              const wsgw_poller_event_t **results)
{
    const apr_pollfd_t *out;
    apr_int32_t got = 0, i;
    apr_status_t rv;

    *n = 0;
    *results = pp->results;
    rv = apr_pollset_poll(pp->ps, timeout, &got, &out);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < got && i < (apr_int32_t)pp->size; ++i) {
        pp->results[i].data = out[i].client_data;
        pp->results[i].rtnevents = out[i].rtnevents;
    }
    *n = i;
    return APR_SUCCESS;
}

void wsgw_poller_destroy(wsgw_poller_t *pp)
{
    apr_pollset_destroy(pp->ps);
}

void wsgw_poller_wakeup(wsgw_poller_t *pp)
{
    apr_pollset_wakeup(pp->ps);
}

#endif
