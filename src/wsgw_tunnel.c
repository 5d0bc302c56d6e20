/*
 * The tunnel pump: two directions (client to backend, backend to client),
 * each with one fixed buffer, moved by non-blocking reads and writes.
 *
 * I/O goes through each connection's filter stack (so mod_ssl and mod_http2
 * streams work), except on plain TCP connections, where the socket is read
 * and written directly once the filters hold nothing: same bytes, fewer
 * buckets and copies. Input the filters may already hold (bytes a client
 * pipelined after its handshake, bytes a backend sent with its 101, records
 * decrypted by mod_ssl) is read before every poll, because the socket will
 * not report it.
 *
 * In frames mode each direction runs an RFC 6455 frame parser over the
 * bytes before they are forwarded; only validated bytes leave, and the
 * gateway can inject control frames (pings, closes) between frames.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_connection.h"
#include "http_core.h"
#include "http_log.h"
#include "http_ssl.h"
#include "util_filter.h"
#include <apr_atomic.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0      /* httpd ignores SIGPIPE anyway */
#endif
#if defined(__linux__)
#include <sys/syscall.h>
#endif
#if defined(__linux__) && defined(SYS_recvfrom) && defined(SYS_sendto)
/* In a threaded process glibc's recv() and send() are cancellation points
 * that switch asynchronous cancellation on and off around the call; no
 * one cancels httpd's threads, and on a small message that bookkeeping is
 * a measurable share of the proxy's own CPU. */
#define WSGW_TUNNEL_RECV(fd, buf, len) \
    syscall(SYS_recvfrom, (fd), (buf), (len), 0, NULL, NULL)
#define WSGW_TUNNEL_SEND(fd, buf, len) \
    syscall(SYS_sendto, (fd), (buf), (len), MSG_NOSIGNAL, NULL, 0)
#else
#define WSGW_TUNNEL_RECV(fd, buf, len) recv((fd), (buf), (len), 0)
#define WSGW_TUNNEL_SEND(fd, buf, len) send((fd), (buf), (len), MSG_NOSIGNAL)
#endif

#include "wsgw.h"
#include "wsgw_config.h"
#include "wsgw_frame.h"
#include "wsgw_graceful.h"
#include "wsgw_status.h"
#include "wsgw_poller.h"
#include "wsgw_tunnel.h"

/* Bytes buffered per direction. */
#define WSGW_TUNNEL_BUFSIZE      (32 * 1024)
/* How long a gateway-initiated close waits for the peers' Close and EOF. */
#define WSGW_TUNNEL_CLOSE_WAIT   apr_time_from_sec(3)
/* Rounds of pumping before timers are looked at again. */
#define WSGW_TUNNEL_MAX_ROUNDS   64

typedef struct wsgw_tunnel_dir_t wsgw_tunnel_dir_t;

typedef struct wsgw_tunnel_side_t {
    const char         *name;        /* "client" or "backend" */
    conn_rec           *c;
    apr_socket_t       *sock;        /* set when read/written directly */
    apr_os_sock_t       fd;          /* its descriptor */
    apr_interval_time_t sock_timeout;/* restored at the end */
    apr_pollfd_t        pfd;
    int                 can_pollout; /* pipes of h2 streams cannot */
    int                 may_read;    /* input may be there: read before polling */
    int                 hup;         /* the poll saw the peer's end: read */
                                     /* until EOF, not until a short read */
    int                 blocked;     /* last write hit EAGAIN: wait for POLLOUT */
    int                 filter_pending; /* output filters hold unsent bytes */
    int                 eof;         /* nothing more will be read */
    int                 shut;        /* writing to it is finished */
    int                 failed;      /* a hard I/O error */
    apr_bucket_brigade *bb;
    wsgw_tunnel_dir_t  *in;          /* direction reading from this side */
    wsgw_tunnel_dir_t  *out;         /* direction writing to this side */
} wsgw_tunnel_side_t;

struct wsgw_tunnel_dir_t {
    wsgw_tunnel_side_t *from, *to;
    unsigned char      *buf;         /* NULL while nothing is in flight */
    apr_memnode_t      *node;        /* buf's node, with a buffer allocator */
    apr_size_t          head;        /* next byte to write */
    apr_size_t          ready;       /* bytes before this may be written */
    apr_size_t          parsed;      /* bytes before this went through the parser */
    apr_size_t          tail;        /* end of the bytes read */
    apr_size_t          frame_start; /* where the frame being parsed began */
    int                 in_frame;    /* its header was validated */
    int                 holding;     /* held until its END (pong, Close) */
    int                 parse_failed;
    apr_off_t           bytes;       /* forwarded bytes of 'from' */
    int                 framed;
    wsgw_frame_parser_t parser;
    unsigned char       ctl[2 * WSGW_FRAME_CONTROL_MAX];
    apr_size_t          ctl_len;     /* injected control bytes still to write */
    apr_size_t          ctl_off;
    int                 closing;     /* gateway close: stop after this frame */
    apr_uint16_t        close_code;  /* code the gateway sends to 'to' */
    int                 close_queued;
    int                 close_seen;  /* a Close frame from 'from' passed */
    int                 done;        /* 'to' got everything it will get */
};

struct wsgw_tunnel_t {
    apr_pool_t              *pool;            /* the client connection's */
    request_rec             *r;
    const wsgw_dir_conf_t   *dc;
    struct wsgw_stat_t      *stat;
    wsgw_tunnel_side_t       side[2];
    wsgw_tunnel_dir_t        c2b, b2c;
    int                      framed;
    apr_time_t               started;
    apr_time_t               now;             /* the driver's clock */
    apr_time_t               last_rx;         /* any byte read, either side */
    apr_time_t               last_client_rx;
    apr_time_t               ping_sent;       /* when our ping was written */
                                              /* out; 0: none outstanding */
    int                      ping_queued;     /* it waits in b2c.ctl */
    apr_uint32_t             ping_seq;
    unsigned char            ping_payload[16];
    apr_size_t               ping_len;
    apr_time_t               close_deadline;  /* 0 unless closing */
    void                   (*wake)(void *);  /* how request_stop reaches */
    void                    *wake_baton;      /* the thread driving us */
    apr_allocator_t         *bufs;            /* lend buffers only while */
                                              /* bytes are in flight */
    volatile apr_uint32_t    stop_requested;  /* set by child_stopping */
    apr_time_t               stop_at;         /* 0 unless a stop is due */
    int                      finished;
    int                      opened;          /* its opening was logged */
    wsgw_tunnel_result_t     result;
};

/* Read or write a socket directly (never blocking: its timeout is 0).
 * Socket calls (recvfrom/sendto) rather than the read() and write() of
 * apr_socket_recv()/apr_socket_send(): they skip the file layer's work
 * (position lock, permission and notify hooks) on every message. */
static apr_status_t wsgw_tunnel_sock_io(wsgw_tunnel_side_t *s, void *buf,
                                        apr_size_t *len, int out)
{
    ssize_t n;

    do {
        n = out ? WSGW_TUNNEL_SEND(s->fd, buf, *len)
                : WSGW_TUNNEL_RECV(s->fd, buf, *len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        *len = 0;
        return (errno == EAGAIN || errno == EWOULDBLOCK)
               ? APR_EAGAIN : APR_FROM_OS_ERROR(errno);
    }
    *len = (apr_size_t)n;
    return n == 0 && !out ? APR_EOF : APR_SUCCESS;
}

static apr_status_t wsgw_tunnel_read(wsgw_tunnel_side_t *s, unsigned char *buf,
                                     apr_size_t *len)
{
    apr_status_t rv;

    if (s->sock) {
        return wsgw_tunnel_sock_io(s, buf, len, 0);
    }
    apr_brigade_cleanup(s->bb);
    rv = ap_get_brigade(s->c->input_filters, s->bb, AP_MODE_READBYTES,
                        APR_NONBLOCK_READ, (apr_off_t)*len);
    if (rv != APR_SUCCESS) {
        *len = 0;
        return rv;
    }
    if (APR_BRIGADE_EMPTY(s->bb)) {
        *len = 0;
        return APR_EAGAIN;
    }
    rv = apr_brigade_flatten(s->bb, (char *)buf, len);
    /* mod_http2 hands an upgraded stream's request an EOS on the first
     * read (the request has no body) while the stream stays open; the end
     * of an HTTP/2 stream is an EOS followed by APR_EOF on the next read.
     * So on a stream an EOS ends nothing; elsewhere it is the end. */
    if (rv == APR_SUCCESS && *len == 0 && s->c->master == NULL
        && APR_BUCKET_IS_EOS(APR_BRIGADE_LAST(s->bb))) {
        rv = APR_EOF;
    }
    apr_brigade_cleanup(s->bb);
    return rv;
}

/* Push what the output filters set aside, without blocking. */
static apr_status_t wsgw_tunnel_filter_flush(wsgw_tunnel_side_t *s)
{
    ap_filter_t *f = s->c->output_filters;
    apr_status_t rv;

    while (f->next) {
        f = f->next;
    }
    /* The core output filter, called without a brigade, writes what it
     * holds without blocking and keeps the rest. */
    rv = f->frec->filter_func.out_func(f, NULL);
    s->filter_pending = s->c->data_in_output_filters;
    return rv;
}

static apr_status_t wsgw_tunnel_write(wsgw_tunnel_side_t *s,
                                      const unsigned char *buf,
                                      apr_size_t *len)
{
    apr_status_t rv;
    apr_bucket *b;

    if (s->sock) {
        return wsgw_tunnel_sock_io(s, (void *)buf, len, 1);
    }
    /* The filters take everything; what the network does not take now is
     * set aside (copied) by the core output filter, and we stop feeding
     * this side until it drained. */
    apr_brigade_cleanup(s->bb);
    b = apr_bucket_transient_create((const char *)buf, *len,
                                    s->c->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(s->bb, b);
    rv = ap_pass_brigade(s->c->output_filters, s->bb);
    apr_brigade_cleanup(s->bb);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (s->c->aborted) {
        return APR_ECONNABORTED;
    }
    if (s->c->data_in_output_filters) {
        rv = wsgw_tunnel_filter_flush(s);
    }
    return rv;
}

static void wsgw_tunnel_shutdown(wsgw_tunnel_side_t *s)
{
    apr_socket_t *sock;

    if (s->shut) {
        return;
    }
    s->shut = 1;
    if (s->c && s->c->master) {
        /* An HTTP/2 stream half-closes with END_STREAM, which mod_http2
         * sends when an EOS goes down the stream's filters. Without it
         * the client never learns the backend is gone and the tunnel
         * waits for a client that waits for us. */
        apr_brigade_cleanup(s->bb);
        APR_BRIGADE_INSERT_TAIL(s->bb,
                                apr_bucket_eos_create(s->c->bucket_alloc));
        ap_pass_brigade(s->c->output_filters, s->bb);
        apr_brigade_cleanup(s->bb);
        return;
    }
    sock = s->sock ? s->sock : ap_get_conn_socket(s->c);
    if (sock) {
        apr_socket_shutdown(sock, APR_SHUTDOWN_WRITE);
    }
}

static void wsgw_tunnel_set_close(wsgw_tunnel_t *t, const char *by, int code,
                                  const char *reason)
{
    if (t->result.closed_by == NULL) {
        t->result.closed_by = by;
        t->result.close_code = code;
        t->result.reason = reason;
    }
}

/* Queue a control frame towards d->to; only called at a frame boundary of
 * the outgoing stream with nothing else queued. */
static void wsgw_tunnel_queue_control(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d,
                                      unsigned int opcode,
                                      const void *payload, apr_size_t len,
                                      apr_uint16_t close_code)
{
    unsigned char key[4], *mask = NULL;

    if (d == &t->c2b) {
        /* Towards a backend the gateway speaks as a client: mask. */
        ap_random_insecure_bytes(key, sizeof(key));
        mask = key;
    }
    if (opcode == WSGW_FRAME_OP_CLOSE) {
        d->ctl_len = wsgw_frame_write_close(d->ctl, close_code, payload, mask);
    }
    else {
        d->ctl_len = wsgw_frame_write_control(d->ctl, opcode, payload, len,
                                              mask);
    }
    d->ctl_off = 0;
}

/*
 * Start a gateway-initiated close: each direction finishes the frame it is
 * in, then gets a Close frame with its code; in tunnel mode, or when no
 * frame can be completed in time, the connections are simply closed.
 */
static void wsgw_tunnel_gateway_close(wsgw_tunnel_t *t, apr_uint16_t to_client,
                                      apr_uint16_t to_backend,
                                      const char *reason)
{
    if (t->close_deadline) {
        return;
    }
    wsgw_tunnel_set_close(t, "gateway", to_client, reason);
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, t->r, WSGW_LOGNO(00301)
                  "ws tunnel %" APR_INT64_T_FMT ": gateway closes it (%s): "
                  "%u to the client, %u to the backend",
                  (apr_int64_t)t->r->connection->id, reason, to_client,
                  to_backend);
    t->close_deadline = apr_time_now() + WSGW_TUNNEL_CLOSE_WAIT;
    if (!t->framed) {
        t->finished = 1;
        return;
    }
    t->b2c.closing = 1;
    t->b2c.close_code = to_client;
    t->c2b.closing = 1;
    t->c2b.close_code = to_backend;
}

/*
 * Is a ping due to the client but not yet queued? The client has been
 * silent for the interval: the stream towards it stops at its next frame
 * boundary until the ping has been put there.
 */
static int wsgw_tunnel_ping_pending(const wsgw_tunnel_t *t)
{
    return t->ping_len && !t->ping_queued && !t->ping_sent
           && !t->b2c.closing && !t->b2c.done
           && t->last_client_rx + t->dc->ping_interval <= t->now;
}

/* A frame event in direction @a d; returns 0 to stop parsing. */
static int wsgw_tunnel_frame_event(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d,
                                   const wsgw_frame_event_t *ev)
{
    int from_client = d == &t->c2b;

    if (ev->type == WSGW_FRAME_HEADER) {
        d->in_frame = 1;
        if (from_client && ev->frame.opcode == WSGW_FRAME_OP_PONG
            && t->ping_len) {
            d->holding = 1;     /* maybe the answer to our ping */
        }
        else if (ev->frame.opcode == WSGW_FRAME_OP_CLOSE) {
            /* Its code is judged at its end: forwarding its header first
             * would leave a truncated frame behind an invalid one. */
            d->holding = 1;
        }
        return 1;
    }
    if (ev->type == WSGW_FRAME_ERROR) {
        if (d->in_frame) {
            /* A held frame found invalid at its end (a Close with a code
             * no peer may send): none of it was forwarded; drop it all, so
             * that the gateway's Close goes out at its place. */
            d->in_frame = 0;
            d->holding = 0;
            d->parsed = d->frame_start;
        }
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, t->r, WSGW_LOGNO(00302)
                      "ws tunnel %" APR_INT64_T_FMT ": %s sent an invalid "
                      "frame (%s); closing with %u",
                      (apr_int64_t)t->r->connection->id, d->from->name,
                      ev->reason, ev->close_code);
        d->parse_failed = 1;
        if (from_client) {
            wsgw_tunnel_gateway_close(t, ev->close_code, WSGW_CLOSE_GOING_AWAY,
                                      ev->reason);
        }
        else {
            /* 1014: the upstream sent something invalid (RFC 6455 registry). */
            wsgw_tunnel_gateway_close(t, 1014, ev->close_code, ev->reason);
        }
        return 0;
    }
    /* END of a frame */
    d->in_frame = 0;
    if (ev->frame.fin && ev->frame.opcode < WSGW_FRAME_OP_CLOSE) {
        wsgw_status_message(t->stat, from_client);
    }
    if (d->holding) {
        d->holding = 0;
        if (ev->frame.opcode == WSGW_FRAME_OP_PONG
            && ev->control_len == t->ping_len
            && !memcmp(ev->control, t->ping_payload, t->ping_len)) {
            /* Our own pong: the backend never sees it. */
            memmove(d->buf + d->frame_start, d->buf + d->parsed,
                    d->tail - d->parsed);
            d->tail -= d->parsed - d->frame_start;
            d->parsed = d->frame_start;
            t->ping_sent = 0;
            ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, t->r,
                          "ws tunnel %" APR_INT64_T_FMT ": pong from the "
                          "client", (apr_int64_t)t->r->connection->id);
            return 1;
        }
    }
    d->frame_start = d->parsed;
    if (ev->frame.opcode == WSGW_FRAME_OP_CLOSE) {
        wsgw_tunnel_set_close(t, d->from->name, ev->close_code, "close frame");
        d->close_seen = 1;
        if (t->c2b.close_seen && t->b2c.close_seen && !t->close_deadline) {
            /* The close handshake is complete: the TCP ends must follow
             * soon; a peer that keeps its half open is not waited for. */
            t->close_deadline = apr_time_now() + WSGW_TUNNEL_CLOSE_WAIT;
        }
    }
    return !d->closing;     /* a closing direction ends with this frame */
}

/*
 * Run the parser over newly read bytes and advance d->ready: a header is
 * forwarded only once it is complete and valid, a held frame only once it
 * is known not to be ours. While a ping to the client is pending, the
 * client-bound stream stops at the next frame boundary (the rest stays
 * unparsed, hence unsent) so that the ping goes out there, between data
 * frames, however busy the backend is; dir_write() resumes it.
 */
static void wsgw_tunnel_parse(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d)
{
    wsgw_frame_event_t ev;

    while (!d->parse_failed) {
        /* An empty frame's END comes from a call that consumes nothing,
         * so the parser is called once more when the input is used up
         * (only then). */
        apr_size_t n;

        if (d->parsed == d->tail
            && wsgw_frame_parser_needs_input(&d->parser)) {
            break;
        }
        if (d == &t->b2c && !d->in_frame
            && wsgw_frame_parser_at_boundary(&d->parser)
            && wsgw_tunnel_ping_pending(t)) {
            break;
        }
        n = wsgw_frame_parser_feed(&d->parser, d->buf + d->parsed,
                                   d->tail - d->parsed, &ev);
        d->parsed += n;
        if (ev.type == WSGW_FRAME_NEED_MORE) {
            break;
        }
        if (!wsgw_tunnel_frame_event(t, d, &ev)) {
            /* Nothing after this point is forwarded. */
            d->tail = d->parsed;
            break;
        }
    }
    d->ready = (d->in_frame && !d->holding) ? d->parsed : d->frame_start;
}

/* Is the outgoing stream of @a d between frames, everything written? */
static int wsgw_tunnel_dir_at_boundary(const wsgw_tunnel_dir_t *d)
{
    return d->head == d->frame_start && !d->in_frame;
}

/* May @a d read more from its source now? */
static int wsgw_tunnel_dir_can_read(const wsgw_tunnel_dir_t *d)
{
    if (d->from->eof) {
        return 0;
    }
    if (d->done || (d->closing && d->close_queued)) {
        return 1;   /* read only to see the end; the bytes are dropped */
    }
    if (d->closing && !d->in_frame) {
        return 0;   /* the frame in flight is complete: read no more */
    }
    return d->head > 0 || d->tail < WSGW_TUNNEL_BUFSIZE;
}

/* Give @a d its buffer: from the lending allocator, else (once) from
 * r->pool. */
static int wsgw_tunnel_dir_get_buf(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d)
{
    if (t->bufs) {
        d->node = apr_allocator_alloc(t->bufs, WSGW_TUNNEL_BUFSIZE);
        if (d->node == NULL) {
            return 0;
        }
        d->buf = (unsigned char *)d->node->first_avail;
    }
    else {
        d->buf = apr_palloc(t->r->pool, WSGW_TUNNEL_BUFSIZE);
    }
    return 1;
}

/* An idle direction returns a lent buffer: an idle tunnel holds none. */
static void wsgw_tunnel_dir_put_buf(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d,
                                    int force)
{
    if (d->node && (force || (d->head == d->tail && d->ctl_len == 0))) {
        d->head = d->ready = d->parsed = d->tail = d->frame_start = 0;
        apr_allocator_free(t->bufs, d->node);
        d->node = NULL;
        d->buf = NULL;
    }
}

/* Read once from d->from into free space. Returns 1 on progress. */
static int wsgw_tunnel_dir_read(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d)
{
    wsgw_tunnel_side_t *s = d->from;
    apr_size_t space, len, before;
    apr_time_t idle_from;
    apr_status_t rv;
    int discard = d->done || (d->closing && d->close_queued);

    if (!s->may_read || !wsgw_tunnel_dir_can_read(d)) {
        return 0;
    }
    if (d->buf == NULL && !wsgw_tunnel_dir_get_buf(t, d)) {
        return 0;
    }
    if (discard) {
        d->head = d->ready = d->parsed = d->tail = d->frame_start = 0;
    }
    else if (d->head > 0 && d->head == d->tail) {
        d->head = d->ready = d->parsed = d->tail = d->frame_start = 0;
    }
    else if (d->head > 0 && WSGW_TUNNEL_BUFSIZE - d->tail < 4096) {
        apr_size_t keep = d->tail - d->head;

        memmove(d->buf, d->buf + d->head, keep);
        d->ready -= d->head;
        d->parsed -= d->head;
        /* A frame whose start was already written has no start left in
         * the buffer; frame_start only matters between frames. */
        d->frame_start = d->frame_start > d->head ? d->frame_start - d->head
                                                  : 0;
        d->tail = keep;
        d->head = 0;
    }
    space = WSGW_TUNNEL_BUFSIZE - d->tail;
    if (space == 0) {
        return 0;
    }
    len = space;
    rv = wsgw_tunnel_read(s, d->buf + d->tail, &len);
    if (APR_STATUS_IS_EAGAIN(rv) && s->hup && s->sock == NULL
        && s->c->master == NULL) {
        /* Through the filters (TLS), a non-blocking read at the end of
         * the socket looks like no data yet: the core input filter turns
         * a read of 0 bytes into an empty brigade, and mod_ssl then waits
         * for more of a record. After the peer's FIN (a client or backend
         * gone without close_notify), nothing more can come: the end. */
        rv = APR_EOF;
    }
    if (APR_STATUS_IS_EAGAIN(rv)) {
        s->may_read = 0;
        return 0;
    }
    if (rv != APR_SUCCESS) {
        if (!APR_STATUS_IS_EOF(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, rv, t->r,
                          "ws tunnel %" APR_INT64_T_FMT ": reading from %s",
                          (apr_int64_t)t->r->connection->id, s->name);
            s->failed = 1;
        }
        s->eof = 1;
        s->may_read = 0;
        if (!t->close_deadline) {
            wsgw_tunnel_set_close(t, s->name, WSGW_CLOSE_ABNORMAL,
                                  s->failed ? "connection reset"
                                            : "connection closed");
        }
        return 1;
    }
    if (s->sock && len < space && !s->hup) {
        /* Drained: the poll will say when more comes. Not so for an end
         * that came with the last bytes: an edge-triggered poll reported
         * it already, and only a read sees it. */
        s->may_read = 0;
    }
    idle_from = t->last_rx;
    t->last_rx = t->now;
    if (d == &t->c2b) {
        t->last_client_rx = t->last_rx;
    }
    if (discard) {
        return 1;
    }
    before = d->tail;
    d->tail += len;
    if (d->framed) {
        wsgw_tunnel_parse(t, d);
        if (d->tail <= before) {
            /* All of it was the client's pong to our own ping, which the
             * backend never sees: a sign of life of the client, but no
             * traffic between the peers for WSGatewayIdleTimeout. */
            t->last_rx = idle_from;
        }
    }
    else {
        d->ready = d->parsed = d->tail;
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE5, 0, t->r,
                  "ws tunnel %" APR_INT64_T_FMT ": read %" APR_SIZE_T_FMT
                  " bytes from %s", (apr_int64_t)t->r->connection->id, len,
                  s->name);
    return 1;
}

/* Write queued control bytes, then ready data, to d->to. */
static int wsgw_tunnel_dir_write(wsgw_tunnel_t *t, wsgw_tunnel_dir_t *d)
{
    wsgw_tunnel_side_t *s = d->to;
    apr_status_t rv = APR_SUCCESS;
    apr_size_t len;
    int progress = 0;

    if (s->shut || s->failed || s->blocked) {
        return 0;
    }
    if (s->filter_pending) {
        rv = wsgw_tunnel_filter_flush(s);
        if (rv != APR_SUCCESS || s->filter_pending) {
            goto check;
        }
        progress = 1;
    }
    /* Bytes left unparsed at a boundary for a ping that is no longer
     * pending (the client spoke meanwhile): go on. A closing direction
     * ends at that boundary instead. */
    if (d->framed && d->buf && d->parsed < d->tail && !d->closing
        && !wsgw_tunnel_ping_pending(t)) {
        wsgw_tunnel_parse(t, d);
    }
    /* Inject a control frame only at a frame boundary of this stream. */
    if (d->framed && d->ctl_len == 0 && !d->done
        && wsgw_tunnel_dir_at_boundary(d)) {
        if (d->closing && !d->close_queued) {
            wsgw_tunnel_queue_control(t, d, WSGW_FRAME_OP_CLOSE,
                                      "", 0, d->close_code);
            d->close_queued = 1;
            d->tail = d->parsed = d->ready = d->frame_start;
        }
        else if (d == &t->b2c && wsgw_tunnel_ping_pending(t)) {
            wsgw_tunnel_queue_control(t, d, WSGW_FRAME_OP_PING,
                                      t->ping_payload, t->ping_len, 0);
            t->ping_queued = 1;
            ap_log_rerror(APLOG_MARK, APLOG_TRACE2, 0, t->r,
                          "ws tunnel %" APR_INT64_T_FMT ": ping to the client",
                          (apr_int64_t)t->r->connection->id);
            if (d->buf && d->parsed < d->tail) {
                wsgw_tunnel_parse(t, d);    /* the stream goes on after it */
            }
        }
    }
    while (d->ctl_off < d->ctl_len) {
        len = d->ctl_len - d->ctl_off;
        rv = wsgw_tunnel_write(s, d->ctl + d->ctl_off, &len);
        d->ctl_off += len;
        if (len) {
            progress = 1;
        }
        if (rv != APR_SUCCESS) {
            goto check;
        }
    }
    if (d->ctl_len) {
        d->ctl_len = d->ctl_off = 0;
        if (d == &t->b2c && t->ping_queued) {
            /* The pong is due PingTimeout from now. */
            t->ping_queued = 0;
            t->ping_sent = t->now;
        }
        if (d->close_queued) {
            d->done = 1;
            wsgw_tunnel_shutdown(s);
            return 1;
        }
    }
    while (d->head < d->ready && !s->filter_pending) {
        len = d->ready - d->head;
        rv = wsgw_tunnel_write(s, d->buf + d->head, &len);
        d->head += len;
        d->bytes += len;
        if (len) {
            wsgw_status_bytes(t->stat, d == &t->c2b ? len : 0,
                              d == &t->c2b ? 0 : len);
        }
        if (len) {
            progress = 1;
        }
        if (rv != APR_SUCCESS) {
            break;
        }
    }
check:
    if (APR_STATUS_IS_EAGAIN(rv) || (rv == APR_SUCCESS && s->filter_pending)) {
        s->blocked = s->can_pollout;
    }
    else if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, rv, t->r,
                      "ws tunnel %" APR_INT64_T_FMT ": writing to %s",
                      (apr_int64_t)t->r->connection->id, s->name);
        s->failed = 1;
        s->eof = 1;
        wsgw_tunnel_set_close(t, s->name, WSGW_CLOSE_ABNORMAL,
                              "connection reset");
        return 1;
    }
    /* All of 'from' delivered after its EOF: pass the half-close on. */
    if (d->from->eof && d->head == d->tail && d->ctl_len == 0
        && !s->filter_pending && !d->done) {
        d->done = 1;
        wsgw_tunnel_shutdown(s);
        progress = 1;
    }
    return progress;
}

int wsgw_tunnel_pump(wsgw_tunnel_t *t, apr_time_t now)
{
    int rounds, progress = 1;
    wsgw_tunnel_side_t *c = &t->side[WSGW_TUNNEL_CLIENT];
    wsgw_tunnel_side_t *b = &t->side[WSGW_TUNNEL_BACKEND];

    t->now = now;

    for (rounds = 0; progress && !t->finished
                     && rounds < WSGW_TUNNEL_MAX_ROUNDS; ++rounds) {
        progress = 0;
        progress |= wsgw_tunnel_dir_read(t, &t->c2b);
        progress |= wsgw_tunnel_dir_write(t, &t->c2b);
        progress |= wsgw_tunnel_dir_read(t, &t->b2c);
        progress |= wsgw_tunnel_dir_write(t, &t->b2c);
        if (c->failed || b->failed) {
            /* A reset side cannot be half-closed politely: end it all. */
            t->finished = 1;
        }
        if (t->c2b.done && t->b2c.done && c->eof && b->eof) {
            t->finished = 1;
        }
    }
    if (t->bufs) {
        wsgw_tunnel_dir_put_buf(t, &t->c2b, t->finished);
        wsgw_tunnel_dir_put_buf(t, &t->b2c, t->finished);
    }
    return t->finished;
}

apr_int16_t wsgw_tunnel_wants(const wsgw_tunnel_t *t, wsgw_tunnel_side_e which)
{
    const wsgw_tunnel_side_t *s = &t->side[which];
    apr_int16_t ev = 0;

    if (!s->may_read && wsgw_tunnel_dir_can_read(s->in)) {
        ev |= APR_POLLIN;
    }
    if (s->blocked && !s->shut && !s->failed) {
        ev |= APR_POLLOUT;
    }
    return ev;
}

void wsgw_tunnel_on_event(wsgw_tunnel_t *t, wsgw_tunnel_side_e which,
                          apr_int16_t rtnevents)
{
    wsgw_tunnel_side_t *s = &t->side[which];

    if (rtnevents & (APR_POLLIN | APR_POLLHUP | APR_POLLERR)) {
        s->may_read = 1;
    }
    if (rtnevents & (APR_POLLHUP | APR_POLLERR)) {
        s->hup = 1;
    }
    if (rtnevents & (APR_POLLOUT | APR_POLLERR)) {
        s->blocked = 0;
    }
}

apr_time_t wsgw_tunnel_next_deadline(const wsgw_tunnel_t *t)
{
    apr_time_t now = t->now, next = 0;
    const wsgw_dir_conf_t *dc = t->dc;

#define WSGW_TUNNEL_SOONER(when) \
    if ((when) > 0 && (next == 0 || (when) < next)) next = (when)
    if (t->close_deadline) {
        WSGW_TUNNEL_SOONER(t->close_deadline);
    }
    else {
        WSGW_TUNNEL_SOONER(t->stop_at);
        if (dc->idle_timeout > 0) {
            WSGW_TUNNEL_SOONER(t->last_rx + dc->idle_timeout);
        }
        if (dc->max_lifetime > 0) {
            WSGW_TUNNEL_SOONER(t->started + dc->max_lifetime);
        }
        if (t->ping_len) {
            if (t->ping_sent) {
                WSGW_TUNNEL_SOONER(t->ping_sent
                                   + wsgw_config_ping_timeout(dc));
            }
            else if (t->last_client_rx + dc->ping_interval > now) {
                WSGW_TUNNEL_SOONER(t->last_client_rx + dc->ping_interval);
            }
            else if (!t->b2c.done) {
                /* Due: it goes out at a frame boundary, which only
                 * traffic (an event) can bring; a client that takes
                 * nothing, not even the ping, is gone after the timeout
                 * all the same. (Nothing more goes to a client whose
                 * stream is done: no ping at all.) */
                WSGW_TUNNEL_SOONER(t->last_client_rx + dc->ping_interval
                                   + wsgw_config_ping_timeout(dc));
            }
        }
    }
#undef WSGW_TUNNEL_SOONER
    return next;
}

void wsgw_tunnel_on_timeout(wsgw_tunnel_t *t, apr_time_t now)
{
    const wsgw_dir_conf_t *dc = t->dc;

    if (t->close_deadline) {
        if (now >= t->close_deadline) {
            ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, t->r,
                          "ws tunnel %" APR_INT64_T_FMT ": close wait over",
                          (apr_int64_t)t->r->connection->id);
            t->finished = 1;
        }
        return;
    }
    if (apr_atomic_read32(&t->stop_requested) && t->stop_at == 0) {
        if (!dc->graceful_close) {
            t->stop_at = -1;    /* Off: the tunnel ends by itself */
        }
        else {
            apr_uint32_t r = 0;

            /* Spread the closes so clients do not all reconnect at once. */
            if (dc->graceful_spread > 0) {
                ap_random_insecure_bytes(&r, sizeof(r));
            }
            t->stop_at = now + (dc->graceful_spread > 0
                                ? (apr_time_t)(r % (apr_uint32_t)
                                               dc->graceful_spread)
                                : 0);
        }
    }
    if (t->stop_at > 0 && now >= t->stop_at) {
        wsgw_tunnel_gateway_close(t, WSGW_CLOSE_GOING_AWAY,
                                  WSGW_CLOSE_GOING_AWAY,
                                  "server restarting or stopping");
        return;
    }
    if (dc->max_lifetime > 0 && now >= t->started + dc->max_lifetime) {
        wsgw_tunnel_gateway_close(t, WSGW_CLOSE_GOING_AWAY,
                                  WSGW_CLOSE_GOING_AWAY, "max lifetime");
        return;
    }
    if (dc->idle_timeout > 0 && now >= t->last_rx + dc->idle_timeout) {
        wsgw_tunnel_gateway_close(t, WSGW_CLOSE_GOING_AWAY,
                                  WSGW_CLOSE_GOING_AWAY, "idle timeout");
        return;
    }
    /* No pong within the timeout of the ping going out, or, when it could
     * not go out (the client reads nothing), of the ping being due. */
    if (t->ping_len
        && (t->ping_sent
            ? now >= t->ping_sent + wsgw_config_ping_timeout(dc)
            : !t->b2c.done
              && now >= t->last_client_rx + dc->ping_interval
                        + wsgw_config_ping_timeout(dc))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, t->r, WSGW_LOGNO(00303)
                      "ws tunnel %" APR_INT64_T_FMT ": the client did not "
                      "answer a ping within %" APR_TIME_T_FMT " s%s; it is "
                      "gone, closing the tunnel (raise %s if clients are "
                      "slow)", (apr_int64_t)t->r->connection->id,
                      apr_time_sec(wsgw_config_ping_timeout(dc)),
                      t->ping_sent ? "" : " (the ping could not even be "
                      "sent: the client reads nothing)",
                      WSGW_DIRECTIVE_PING_TIMEOUT);
        wsgw_tunnel_gateway_close(t, WSGW_CLOSE_GOING_AWAY,
                                  WSGW_CLOSE_GOING_AWAY, "ping timeout");
        return;
    }
    /* A ping becomes due: the pump injects it at the next frame boundary. */
}

void wsgw_tunnel_request_stop(wsgw_tunnel_t *t)
{
    apr_atomic_set32(&t->stop_requested, 1);
    if (t->wake) {
        t->wake(t->wake_baton);
    }
}

apr_pollfd_t *wsgw_tunnel_pollfd(wsgw_tunnel_t *t, wsgw_tunnel_side_e s)
{
    return &t->side[s].pfd;
}

const wsgw_tunnel_result_t *wsgw_tunnel_result(const wsgw_tunnel_t *t)
{
    return &t->result;
}

/* Is @a c plain TCP whose filters we may bypass? */
static int wsgw_tunnel_is_plain(conn_rec *c)
{
    return c->master == NULL && !ap_ssl_conn_is_ssl(c)
        && ap_get_conn_socket(c) != NULL;
}

static apr_status_t wsgw_tunnel_side_init(wsgw_tunnel_t *t,
                                          wsgw_tunnel_side_t *s,
                                          const char *name, conn_rec *c,
                                          apr_pool_t *p)
{
    apr_status_t rv;

    s->name = name;
    s->c = c;
    s->bb = apr_brigade_create(p, c->bucket_alloc);
    s->may_read = 1;          /* filters may hold input already */
    s->pfd.p = p;
    s->can_pollout = 1;
    if (c->master) {
        apr_interval_time_t tmo;

        rv = ap_get_pollfd_from_conn(c, &s->pfd, &tmo);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        s->can_pollout = 0;
    }
    else {
        s->pfd.desc_type = APR_POLL_SOCKET;
        s->pfd.desc.s = ap_get_conn_socket(c);
    }
    s->pfd.client_data = s;
    /* The tunnel has its own timers; socket timeouts would only bite in a
     * blocking call, and there are none. */
    if (s->pfd.desc_type == APR_POLL_SOCKET) {
        apr_socket_timeout_get(s->pfd.desc.s, &s->sock_timeout);
    }
    return APR_SUCCESS;
}

/* Remove a filter by name from a connection's output or input stack. */
static void wsgw_tunnel_remove_filter(ap_filter_t *f, const char *name,
                                      int output)
{
    for (; f; f = f->next) {
        if (!strcasecmp(f->frec->name, name)) {
            if (output) {
                ap_remove_output_filter(f);
            }
            else {
                ap_remove_input_filter(f);
            }
            return;
        }
    }
}

apr_status_t wsgw_tunnel_create(wsgw_tunnel_t **tunnel, request_rec *r,
                                conn_rec *backend, const wsgw_dir_conf_t *dc,
                                unsigned int rsv_allowed,
                                struct wsgw_stat_t *stat)
{
    conn_rec *c = r->connection;
    apr_pool_t *p = c->pool;
    wsgw_tunnel_t *t = apr_pcalloc(p, sizeof(*t));
    apr_status_t rv;

    t->pool = p;
    t->r = r;
    t->dc = dc;
    t->stat = stat;
    t->framed = dc->mode == WSGW_MODE_FRAMES;
    t->started = t->last_rx = t->last_client_rx = t->now = apr_time_now();

    /* Our own timers govern the tunnel; drop the request read timeouts and
     * the coalescing that would hold small frames back. */
    wsgw_tunnel_remove_filter(c->input_filters, "reqtimeout", 0);
    wsgw_tunnel_remove_filter(c->output_filters, "SSL/TLS Coalescing Filter",
                              1);
    wsgw_tunnel_remove_filter(backend->output_filters,
                              "SSL/TLS Coalescing Filter", 1);
    /* No HTTP filter may touch the upgraded stream. */
    r->output_filters = r->proto_output_filters = c->output_filters;
    r->input_filters = r->proto_input_filters = c->input_filters;
    c->keepalive = AP_CONN_CLOSE;
    backend->keepalive = AP_CONN_CLOSE;

    rv = wsgw_tunnel_side_init(t, &t->side[WSGW_TUNNEL_CLIENT], "client", c, p);
    if (rv == APR_SUCCESS) {
        rv = wsgw_tunnel_side_init(t, &t->side[WSGW_TUNNEL_BACKEND], "backend",
                                   backend, p);
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }

    t->c2b.from = &t->side[WSGW_TUNNEL_CLIENT];
    t->c2b.to = &t->side[WSGW_TUNNEL_BACKEND];
    t->b2c.from = &t->side[WSGW_TUNNEL_BACKEND];
    t->b2c.to = &t->side[WSGW_TUNNEL_CLIENT];
    t->side[WSGW_TUNNEL_CLIENT].in = &t->c2b;
    t->side[WSGW_TUNNEL_CLIENT].out = &t->b2c;
    t->side[WSGW_TUNNEL_BACKEND].in = &t->b2c;
    t->side[WSGW_TUNNEL_BACKEND].out = &t->c2b;
    t->c2b.framed = t->b2c.framed = t->framed;
    if (t->framed) {
        wsgw_frame_parser_init(&t->c2b.parser, 1, rsv_allowed,
                               (apr_uint64_t)dc->max_message);
        wsgw_frame_parser_init(&t->b2c.parser, 0, rsv_allowed, 0);
        if (dc->ping_interval > 0) {
            apr_uint32_t salt;

            ap_random_insecure_bytes(&salt, sizeof(salt));
            t->ping_len = (apr_size_t)apr_snprintf(
                (char *)t->ping_payload, sizeof(t->ping_payload),
                "wsgw-%08x", (unsigned int)(salt ^ (apr_uint32_t)c->id));
        }
    }
    *tunnel = t;
    return APR_SUCCESS;
}

/* Switch plain TCP sides to direct socket I/O once their filters are empty. */
static void wsgw_tunnel_go_direct(wsgw_tunnel_t *t)
{
    int i;

    for (i = 0; i < 2; ++i) {
        wsgw_tunnel_side_t *s = &t->side[i];

        if (s->sock == NULL && !s->may_read && !s->filter_pending
            && !s->c->data_in_output_filters && wsgw_tunnel_is_plain(s->c)) {
            apr_socket_t *sock = ap_get_conn_socket(s->c);

            if (apr_os_sock_get(&s->fd, sock) != APR_SUCCESS) {
                continue;
            }
            apr_socket_timeout_set(sock, 0);
            s->sock = sock;
        }
    }
}

int wsgw_tunnel_prepare(wsgw_tunnel_t *t)
{
    int i, again = 0;

    wsgw_tunnel_go_direct(t);
    for (i = 0; i < 2; ++i) {
        /* Input may wait in the filters: read it before sleeping, unless
         * its direction is full (then the other side's POLLOUT wakes us;
         * polling with no timeout meanwhile would spin). */
        again |= t->side[i].may_read && !t->side[i].eof
                 && wsgw_tunnel_dir_can_read(t->side[i].in);
    }
    return again;
}

void wsgw_tunnel_start(wsgw_tunnel_t *t, void (*wake)(void *), void *baton)
{
    t->wake = wake;
    t->wake_baton = baton;
    if (t->opened) {
        if (wake) {
            return;     /* driven in its own thread again */
        }
        /* Moved from the request's thread to a reactor. */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, t->r, WSGW_LOGNO(00308)
                      "ws tunnel %" APR_INT64_T_FMT ": moved to the reactor "
                      "after %" APR_TIME_T_FMT " ms; its worker thread is "
                      "free", (apr_int64_t)t->r->connection->id,
                      apr_time_as_msec(apr_time_now() - t->started));
        return;
    }
    t->opened = 1;
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, t->r, WSGW_LOGNO(00305)
                  "ws tunnel %" APR_INT64_T_FMT ": open (%s mode)",
                  (apr_int64_t)t->r->connection->id,
                  t->framed ? "frames" : "tunnel");
    wsgw_tunnel_on_timeout(t, apr_time_now());
}

/* Nothing in flight: no bytes buffered or set aside, no control frame
 * queued, not closing. A tunnel may change threads only then. */
static int wsgw_tunnel_quiet(const wsgw_tunnel_t *t)
{
    const wsgw_tunnel_dir_t *d[2] = { &t->c2b, &t->b2c };
    int i;

    if (t->finished || t->close_deadline || t->stop_at) {
        return 0;
    }
    for (i = 0; i < 2; ++i) {
        if (d[i]->head != d[i]->tail || d[i]->ctl_len || d[i]->closing
            || t->side[i].filter_pending
            || (t->side[i].c && t->side[i].c->data_in_output_filters)
            || t->side[i].eof || t->side[i].shut) {
            return 0;
        }
    }
    return 1;
}

/* The tunnel pool's cleanup of a detached backend descriptor. */
static apr_status_t wsgw_tunnel_sock_cleanup(void *sock)
{
    return apr_socket_close(sock);
}

apr_status_t wsgw_tunnel_detach_backend(wsgw_tunnel_t *t)
{
    wsgw_tunnel_side_t *s = &t->side[WSGW_TUNNEL_BACKEND];
    apr_pool_t *p = t->pool;
    apr_socket_t *sock = NULL;
    apr_os_sock_t fd, dupfd;
    apr_status_t rv;

    if (s->c == NULL) {
        return APR_SUCCESS;
    }
    /* Only a plain TCP side already read and written directly, with
     * nothing left in its filters either way, can do without them. */
    if (s->sock == NULL || s->may_read || s->filter_pending
        || s->c->data_in_output_filters || !wsgw_tunnel_quiet(t)) {
        return APR_EAGAIN;
    }
    rv = apr_os_sock_get(&fd, s->sock);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dupfd < 0) {
        return APR_FROM_OS_ERROR(errno);
    }
    rv = apr_os_sock_put(&sock, &dupfd, p);
    if (rv != APR_SUCCESS) {
        close(dupfd);
        return rv;
    }
    apr_pool_cleanup_register(p, sock, wsgw_tunnel_sock_cleanup,
                              apr_pool_cleanup_null);
    /* The descriptor shares the original's non-blocking file status. */
    apr_socket_timeout_set(sock, 0);
    s->sock = sock;
    s->fd = dupfd;
    s->pfd.desc.s = sock;
    /* Buckets of an earlier read through the filters belong to the
     * connection's allocator, which its release destroys. */
    apr_brigade_cleanup(s->bb);
    s->bb = NULL;
    s->c = NULL;
    return APR_SUCCESS;
}

void wsgw_tunnel_set_request(wsgw_tunnel_t *t, request_rec *r)
{
    /* The merged configuration may live in the old r->pool; its pointers
     * lead to the server's configuration. */
    t->dc = apr_pmemdup(r->pool, t->dc, sizeof(*t->dc));
    t->r = r;
}

int wsgw_tunnel_lend_buffers(wsgw_tunnel_t *t, apr_allocator_t *bufs)
{
    if (t->c2b.node || t->b2c.node) {
        return 0;
    }
    t->bufs = bufs;
    return 1;
}

void wsgw_tunnel_finish(wsgw_tunnel_t *t)
{
    int i;

    if (t->bufs) {
        wsgw_tunnel_dir_put_buf(t, &t->c2b, 1);
        wsgw_tunnel_dir_put_buf(t, &t->b2c, 1);
    }
    t->wake = NULL;
    for (i = 0; i < 2; ++i) {
        if (t->side[i].c == NULL && t->side[i].sock) {
            /* A detached backend descriptor: close it now rather than
             * with the client connection's pool, after its lingering. */
            apr_pool_cleanup_run(t->pool, t->side[i].sock,
                                 wsgw_tunnel_sock_cleanup);
            t->side[i].sock = NULL;
        }
        else if (t->side[i].sock) {
            apr_socket_timeout_set(t->side[i].sock, t->side[i].sock_timeout);
        }
        /* Leave no buckets (the last read's, through the filters) for the
         * brigade's pool cleanup: the backend connection's allocator is
         * gone by then. */
        if (t->side[i].bb) {
            apr_brigade_cleanup(t->side[i].bb);
        }
    }
    t->result.bytes_in = t->c2b.bytes;
    t->result.bytes_out = t->b2c.bytes;
    if (t->result.closed_by == NULL) {
        t->result.closed_by = "gateway";
        t->result.close_code = WSGW_CLOSE_ABNORMAL;
        t->result.reason = "ended";
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, t->r, WSGW_LOGNO(00307)
                  "ws tunnel %" APR_INT64_T_FMT ": closed by %s (%d, %s) "
                  "after %" APR_TIME_T_FMT " ms; %" APR_OFF_T_FMT " bytes in, "
                  "%" APR_OFF_T_FMT " bytes out",
                  (apr_int64_t)t->r->connection->id, t->result.closed_by,
                  t->result.close_code, t->result.reason,
                  apr_time_as_msec(apr_time_now() - t->started),
                  t->result.bytes_in, t->result.bytes_out);
}

void wsgw_tunnel_abort(wsgw_tunnel_t *t, const char *reason)
{
    wsgw_tunnel_set_close(t, "gateway", WSGW_CLOSE_ABNORMAL, reason);
    t->finished = 1;
}

static void wsgw_tunnel_wake_poller(void *baton)
{
    wsgw_poller_wakeup(baton);
}

apr_status_t wsgw_tunnel_run(wsgw_tunnel_t *t, apr_interval_time_t move_after)
{
    wsgw_poller_t *ps;
    apr_int16_t registered[2] = { 0, 0 };
    apr_status_t rv, result = APR_SUCCESS;
    wsgw_graceful_watch_t watch = { 0, 0 };
    int i, edge;

    rv = wsgw_poller_create(&ps, 4, t->r->pool);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, t->r, WSGW_LOGNO(00304)
                      "cannot create the tunnel's pollset; raise the open "
                      "file limit (ulimit -n) if it is exhausted");
        wsgw_tunnel_abort(t, "no pollset");
        wsgw_tunnel_finish(t);      /* a result for the log and counters */
        return rv;
    }
    /* Two sockets (not an HTTP/2 stream's pipe): watched edge-triggered
     * where the poller can, once each for both ways, as in the reactor. A
     * thread sleeping on a level-triggered set re-examines at each wait
     * the socket it just drained. */
    edge = wsgw_poller_has_edge(ps)
           && t->side[0].pfd.desc_type == APR_POLL_SOCKET
           && t->side[1].pfd.desc_type == APR_POLL_SOCKET;
    wsgw_tunnel_start(t, wsgw_tunnel_wake_poller, ps);
    if (wsgw_graceful_add(t->r->server, t, t->r->pool)) {
        apr_atomic_set32(&t->stop_requested, 1);
        wsgw_tunnel_on_timeout(t, apr_time_now());
    }

    while (!wsgw_tunnel_pump(t, apr_time_now())) {
        apr_int32_t n = 0;
        const wsgw_poller_event_t *out;
        apr_interval_time_t tmo = -1;
        apr_time_t deadline;
        apr_int16_t wanted = 0;
        int again = wsgw_tunnel_prepare(t);

        if (move_after > 0 && !again && wsgw_tunnel_quiet(t)
            && apr_time_now() - t->started >= move_after) {
            result = APR_INCOMPLETE;    /* a reactor takes over */
            break;
        }
        for (i = 0; i < 2; ++i) {
            apr_pollfd_t *pfd = &t->side[i].pfd;
            apr_int16_t want = wsgw_tunnel_wants(t, i);

            if (edge) {
                if (want && !registered[i]) {
                    pfd->reqevents = APR_POLLIN | APR_POLLOUT;
                    pfd->client_data = &t->side[i];
                    if (wsgw_poller_add(ps, pfd, 1) == APR_SUCCESS) {
                        registered[i] = pfd->reqevents;
                    }
                    else {
                        want = 0;
                    }
                }
                wanted |= want;
                continue;
            }
            if (want != registered[i]) {
                if (registered[i]) {
                    wsgw_poller_remove(ps, pfd);
                }
                pfd->reqevents = want;
                pfd->client_data = &t->side[i];
                if (want && wsgw_poller_add(ps, pfd, 0) != APR_SUCCESS) {
                    want = 0;
                }
                registered[i] = want;
            }
            wanted |= want;
        }
        deadline = again ? t->now : wsgw_tunnel_next_deadline(t);
        if (deadline) {
            apr_time_t now = apr_time_now();

            tmo = deadline > now ? deadline - now : 0;
        }
        if (!wanted && tmo < 0) {
            /* Nothing to wait for and nothing to do: both sides are gone. */
            break;
        }
        if (move_after > 0 && !again) {
            /* Wake up when the tunnel may be handed over; after that, the
             * test above runs whenever it has been pumped. */
            apr_interval_time_t until = t->started + move_after
                                        - apr_time_now();

            if (until > 0 && (tmo < 0 || until < tmo)) {
                tmo = until + apr_time_from_msec(1);
            }
        }
        if (!apr_atomic_read32(&t->stop_requested)) {
            /* A child retired by the MPM, or any prefork child: no hook
             * will tell it about a restart or a stop of the server; look
             * before each wait (prefork's signal interrupts the wait).
             * The pump's clock will do: no clock read per round here. */
            if (wsgw_graceful_watch(&watch, t->now, &tmo)) {
                apr_atomic_set32(&t->stop_requested, 1);
                wsgw_tunnel_on_timeout(t, t->now);
                continue;
            }
        }
        /* EINTR: woken up to stop, or a signal (prefork's AP_SIG_GRACEFUL,
         * which the next round's watch sees). */
        rv = wsgw_poller_wait(ps, tmo, &n, &out);
        if (rv != APR_SUCCESS && !APR_STATUS_IS_TIMEUP(rv)
            && !APR_STATUS_IS_EINTR(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, t->r, WSGW_LOGNO(00306)
                          "ws tunnel %" APR_INT64_T_FMT ": poll failed; "
                          "closing the tunnel",
                          (apr_int64_t)t->r->connection->id);
            wsgw_tunnel_set_close(t, "gateway", WSGW_CLOSE_ABNORMAL,
                                  "poll failure");
            break;
        }
        for (i = 0; i < n; ++i) {
            wsgw_tunnel_side_t *s = out[i].data;

            wsgw_tunnel_on_event(t, s == &t->side[0] ? WSGW_TUNNEL_CLIENT
                                                     : WSGW_TUNNEL_BACKEND,
                                 out[i].rtnevents);
        }
        wsgw_tunnel_on_timeout(t, apr_time_now());
    }

    wsgw_graceful_remove(t->r->server, t);
    t->wake = NULL;
    wsgw_poller_destroy(ps);
    if (result == APR_SUCCESS) {
        wsgw_tunnel_finish(t);
    }
    return result;
}
