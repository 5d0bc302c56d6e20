/*
 * wsgw-test-backend: a standalone WebSocket/HTTP backend for the gateway
 * tests.  Plain C99 + POSIX + OpenSSL (libssl for the optional TLS mode,
 * libcrypto for SHA-1/base64); deliberately independent of the module's
 * APR-based code so that a bug shared by both cannot hide.
 *
 * One process, one thread, non-blocking sockets, a poll() event loop.
 * Memory per connection is bounded: input is read into a fixed 32 KiB
 * buffer and reading stops while the output waiting for the peer exceeds
 * 256 KiB (backpressure).
 *
 * Usage:
 *   wsgw-test-backend --port N [--host ADDR] [--name NAME] [--port-file F]
 *                     [--pid-file F] [--log F]
 *                     [--tls-cert CERT.pem --tls-key KEY.pem]
 *                     [--exit-with-parent]
 *
 * --port 0 picks a free port; the port (and the pid) files are written
 * under a temporary name and renamed.  "ready PORT" goes to stdout once
 * listening.  SIGTERM/SIGINT exit 0.  --exit-with-parent: also exit (0)
 * within 0.5 s once the process that started us is gone, so a test
 * harness that dies cannot leave us behind.
 *
 * --log F gets one line per frame received from a client:
 *   "<conn-id> <request-target> rx op=<n> fin=<0|1> len=<n>[ code=<n>]"
 * (code= for Close frames; 1005 when the Close had no payload), plus
 * "<id> <target> open", "<id> <target> closed" and "<id> <target> flood
 * done".  A connection that ends in the middle of a frame logs "closed
 * inside a frame (op=N, X of Y payload bytes)" or "closed inside a frame
 * header (N bytes)" instead of "closed" (a truncated frame).  The
 * request-target is logged as received, query included.
 *
 * Behaviour is selected by the last segment(s) of the request path (the
 * query string and one trailing slash are ignored for matching;
 * ?key=value parameters are read):
 *
 *   Upgrade (WebSocket) requests
 *     (default)         101, then echo every frame (streamed, same FIN/opcode)
 *     .../headers       101, text message with the request head, then echo
 *     .../name          101, text message NAME, then echo
 *     .../pipeline      101 and a text frame "hello-from-backend" in one write
 *     .../bad-accept    101 with a wrong Sec-WebSocket-Accept, then echo
 *     .../no-accept     101 without Sec-WebSocket-Accept, then echo
 *     .../ok200         200 "not a websocket\n"
 *     .../status/NNN    status NNN, small body, keep-alive
 *     .../close-early   close the connection without an answer
 *     .../hang          never answer
 *     .../delay?ms=N    wait N ms, then like the default
 *     .../flood?mb=N    101, N MiB of 64 KiB binary frames, Close 1000
 *                       (&wait=1: the flood starts when the client's first
 *                       message is complete)
 *     .../chat          broadcast complete messages to every /chat client
 *     .../close-after?n=K  echo K messages, then Close 1000
 *   Plain HTTP requests (keep-alive)
 *     .../redirect      302 with Location/Content-Location/URI headers
 *     .../status/NNN    status NNN, small body
 *     POST .../http/echo  the request body echoed back
 *     .../close-early, .../hang, .../delay?ms=N  as above (then the default)
 *     (default)         200 text/plain: backend=, method=, uri= and h:
 *                       lines for every request header
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE 1

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#define WSGW_TB_IN_CAP          (32 * 1024)
#define WSGW_TB_HEAD_MAX        (16 * 1024)
#define WSGW_TB_MAX_HEADERS     1024
#define WSGW_TB_OUT_HIGH        (256 * 1024)
#define WSGW_TB_OUT_KEEP        (1024 * 1024)
#define WSGW_TB_FLOOD_FRAME     (64 * 1024)
#define WSGW_TB_CHAT_MAX        (1024 * 1024)
#define WSGW_TB_CHAT_PAUSE      (1024 * 1024)
#define WSGW_TB_CHAT_HARD       (8 * 1024 * 1024)
#define WSGW_TB_CLOSE_WAIT_MS   2000
#define WSGW_TB_MAX_ITER        32
#define WSGW_TB_MAX_DELAY_MS    600000ULL
#define WSGW_TB_LINE_MAX        4096
#define WSGW_TB_WS_GUID         "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* connection states */
enum {
    WSGW_TB_ST_HEAD,        /* waiting for / parsing a request head */
    WSGW_TB_ST_BODY,        /* reading (discarding or echoing) a body */
    WSGW_TB_ST_DELAY,       /* request parsed, answer after a timer */
    WSGW_TB_ST_HANG,        /* never answer, discard input */
    WSGW_TB_ST_WS,          /* WebSocket open */
    WSGW_TB_ST_DONE,        /* last response queued, discard input */
    WSGW_TB_ST_LINGER       /* write side shut, draining until EOF */
};

/* WebSocket behaviours */
enum {
    WSGW_TB_WM_ECHO,
    WSGW_TB_WM_CHAT,
    WSGW_TB_WM_FLOOD
};

/* routes */
enum {
    WSGW_TB_R_DEFAULT,
    WSGW_TB_R_HEADERS,
    WSGW_TB_R_NAME,
    WSGW_TB_R_PIPELINE,
    WSGW_TB_R_BAD_ACCEPT,
    WSGW_TB_R_NO_ACCEPT,
    WSGW_TB_R_OK200,
    WSGW_TB_R_STATUS,
    WSGW_TB_R_CLOSE_EARLY,
    WSGW_TB_R_HANG,
    WSGW_TB_R_DELAY,
    WSGW_TB_R_FLOOD,
    WSGW_TB_R_CHAT,
    WSGW_TB_R_CLOSE_AFTER,
    WSGW_TB_R_REDIRECT,
    WSGW_TB_R_HTTP_ECHO
};

/* body modes and chunked-decoder states */
enum { WSGW_TB_BODY_NONE, WSGW_TB_BODY_LENGTH, WSGW_TB_BODY_CHUNKED };
enum {
    WSGW_TB_CH_SIZE,
    WSGW_TB_CH_DATA,
    WSGW_TB_CH_DATA_END,
    WSGW_TB_CH_TRAILER
};

typedef struct {
    const char *p;
    size_t n;
} wsgw_tb_span;

typedef struct {
    wsgw_tb_span name;
    wsgw_tb_span value;
} wsgw_tb_hdr;

typedef struct {
    wsgw_tb_span method;
    wsgw_tb_span target;
    wsgw_tb_span path;
    wsgw_tb_span query;
    int vmaj;
    int vmin;
    wsgw_tb_hdr *hdrs;
    size_t nhdrs;
    long long content_length;   /* -1: none */
    int chunked;
    int upgrade;
    int expect_continue;
} wsgw_tb_req;

typedef struct wsgw_tb_conn wsgw_tb_conn;

struct wsgw_tb_conn {
    int fd;
    unsigned long long id;
    SSL *ssl;
    int tls_hs;                 /* TLS handshake still running */
    short tls_hs_want;
    short tls_rd_want;
    short tls_wr_want;
    int state;
    int dead;
    int graceful;               /* drain the socket before close() */
    int rd_eof;
    int close_after_flush;
    int again;
    int want_process;
    int pidx;
    long long deadline;         /* monotonic ms, 0: none */

    unsigned char *in;
    size_t inoff;
    size_t inlen;

    unsigned char *out;
    size_t outoff;
    size_t outlen;
    size_t outcap;

    /* current request */
    char *head;
    size_t headlen;
    wsgw_tb_req req;
    int keepalive;
    int route;
    int status;                 /* for /status/NNN */

    /* request body */
    int body_mode;
    unsigned long long body_left;
    int chunk_state;
    int body_echo;
    int echo_chunked;           /* echo response uses chunked coding */

    /* WebSocket */
    char *logpath;
    int ws_opened;
    int ws_mode;
    int ws_sent_close;
    int ws_got_close;
    int ws_failed;
    int ws_in_msg;
    int ws_msg_op;
    long long close_after_n;    /* -1: unlimited */
    long long msgs_done;

    int fr_active;
    int fr_fin;
    int fr_op;
    int fr_echo;
    unsigned char fr_mask[4];
    uint64_t fr_len;
    uint64_t fr_pos;
    unsigned char ctl[125];

    int flood_active;
    int flood_wait;             /* starts at the first client message */
    uint64_t flood_total;
    uint64_t flood_sent;

    int chat_member;
    unsigned char *chat_buf;
    size_t chat_len;
    size_t chat_cap;
};

typedef struct {
    const char *name;
    int log_fd;
    int listen_fd;
    SSL_CTX *ssl_ctx;
    wsgw_tb_conn **conns;
    size_t nconns;
    size_t capconns;
    wsgw_tb_conn **chat;
    size_t nchat;
    size_t capchat;
    struct pollfd *pfds;
    size_t cappfds;
    unsigned long long next_id;
    long long accept_pause_until;
    int sig_pipe[2];
    pid_t parent;               /* --exit-with-parent: 0 when not asked */
} wsgw_tb_server;

static wsgw_tb_server wsgw_tb_srv;
static volatile sig_atomic_t wsgw_tb_stop;
static unsigned char wsgw_tb_flood_payload[WSGW_TB_FLOOD_FRAME];

static void wsgw_tb_service(wsgw_tb_conn *c, short revents);

/* ------------------------------------------------------------------ */
/* small utilities                                                     */

static long long wsgw_tb_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wsgw_tb_log(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;
    size_t len;

    if (wsgw_tb_srv.log_fd < 0) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    len = (size_t)n < sizeof(buf) - 2 ? (size_t)n : sizeof(buf) - 2;
    buf[len++] = '\n';
    /* one write() per line: O_APPEND keeps lines whole */
    while (write(wsgw_tb_srv.log_fd, buf, len) < 0 && errno == EINTR) {
    }
}

static int wsgw_tb_span_eq(wsgw_tb_span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int wsgw_tb_span_ieq(wsgw_tb_span s, const char *lit)
{
    size_t n = strlen(lit);

    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static wsgw_tb_span wsgw_tb_span_trim(wsgw_tb_span s)
{
    while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) {
        s.n--;
    }
    return s;
}

static int wsgw_tb_is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
        || (ch >= '0' && ch <= '9')) {
        return 1;
    }
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int wsgw_tb_parse_ull(wsgw_tb_span s, unsigned long long max,
                             unsigned long long *out)
{
    unsigned long long v = 0;
    size_t i;

    if (s.n == 0 || s.n > 19) {
        return 0;
    }
    for (i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return 0;
        }
        v = v * 10 + (unsigned long long)(s.p[i] - '0');
    }
    if (v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static int wsgw_tb_write_file_atomic(const char *path, const char *text)
{
    char tmp[PATH_MAX];
    int fd;
    size_t len = strlen(text);
    ssize_t w;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid())
        >= (int)sizeof(tmp)) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    w = write(fd, text, len);
    if (close(fd) != 0 || w != (ssize_t)len || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* growable string for building response bodies                       */

typedef struct {
    char *p;
    size_t n;
    size_t cap;
    int err;
} wsgw_tb_sbuf;

static void wsgw_tb_sb_put(wsgw_tb_sbuf *b, const void *d, size_t n)
{
    if (b->err) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        char *np;

        while (ncap < b->n + n + 1) {
            ncap *= 2;
        }
        np = realloc(b->p, ncap);
        if (np == NULL) {
            b->err = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void wsgw_tb_sb_str(wsgw_tb_sbuf *b, const char *s)
{
    wsgw_tb_sb_put(b, s, strlen(s));
}

static void wsgw_tb_sb_span(wsgw_tb_sbuf *b, wsgw_tb_span s)
{
    wsgw_tb_sb_put(b, s.p, s.n);
}

/* ------------------------------------------------------------------ */
/* connection buffers                                                  */

static void wsgw_tb_conn_abort(wsgw_tb_conn *c)
{
    c->dead = 1;
    c->graceful = 0;
}

static void wsgw_tb_conn_finish(wsgw_tb_conn *c)
{
    c->dead = 1;
    c->graceful = 1;
}

static void wsgw_tb_out_put(wsgw_tb_conn *c, const void *d, size_t n)
{
    if (c->dead || n == 0) {
        return;
    }
    if (c->outoff + c->outlen + n > c->outcap) {
        if (c->outoff > 0) {
            memmove(c->out, c->out + c->outoff, c->outlen);
            c->outoff = 0;
        }
        if (c->outlen + n > c->outcap) {
            size_t ncap = c->outcap ? c->outcap : 4096;
            unsigned char *np;

            while (ncap < c->outlen + n) {
                ncap *= 2;
            }
            np = realloc(c->out, ncap);
            if (np == NULL) {
                wsgw_tb_conn_abort(c);
                return;
            }
            c->out = np;
            c->outcap = ncap;
        }
    }
    memcpy(c->out + c->outoff + c->outlen, d, n);
    c->outlen += n;
}

static void wsgw_tb_out_str(wsgw_tb_conn *c, const char *s)
{
    wsgw_tb_out_put(c, s, strlen(s));
}

static void wsgw_tb_out_printf(wsgw_tb_conn *c, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return;
    }
    if ((size_t)n < sizeof(buf)) {
        wsgw_tb_out_put(c, buf, (size_t)n);
    } else {
        char *big = malloc((size_t)n + 1);

        if (big == NULL) {
            wsgw_tb_conn_abort(c);
            return;
        }
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        wsgw_tb_out_put(c, big, (size_t)n);
        free(big);
    }
}

static void wsgw_tb_in_consume(wsgw_tb_conn *c, size_t n)
{
    c->inoff += n;
    c->inlen -= n;
    if (c->inlen == 0) {
        c->inoff = 0;
    }
}

/* ------------------------------------------------------------------ */
/* socket / TLS I/O                                                    */

#define WSGW_TB_IO_AGAIN (-1)
#define WSGW_TB_IO_ERROR (-2)

static ssize_t wsgw_tb_io_read(wsgw_tb_conn *c, void *buf, size_t len)
{
    if (c->ssl != NULL && c->state != WSGW_TB_ST_LINGER) {
        int r, err;

        if (len > INT_MAX) {
            len = INT_MAX;
        }
        ERR_clear_error();
        r = SSL_read(c->ssl, buf, (int)len);
        if (r > 0) {
            c->tls_rd_want = POLLIN;
            return r;
        }
        err = SSL_get_error(c->ssl, r);
        switch (err) {
        case SSL_ERROR_WANT_READ:
            c->tls_rd_want = POLLIN;
            return WSGW_TB_IO_AGAIN;
        case SSL_ERROR_WANT_WRITE:
            c->tls_rd_want = POLLOUT;
            return WSGW_TB_IO_AGAIN;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        case SSL_ERROR_SYSCALL:
            if (ERR_peek_error() == 0 && (errno == 0 || r == 0)) {
                return 0;   /* EOF without close_notify */
            }
            return WSGW_TB_IO_ERROR;
        default:
            return WSGW_TB_IO_ERROR;
        }
    }
    for (;;) {
        ssize_t r = recv(c->fd, buf, len, 0);

        if (r >= 0) {
            return r;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WSGW_TB_IO_AGAIN;
        }
        return WSGW_TB_IO_ERROR;
    }
}

static ssize_t wsgw_tb_io_write(wsgw_tb_conn *c, const void *buf, size_t len)
{
    if (c->ssl != NULL) {
        int r, err;

        if (len > 1024 * 1024) {
            len = 1024 * 1024;
        }
        ERR_clear_error();
        r = SSL_write(c->ssl, buf, (int)len);
        if (r > 0) {
            c->tls_wr_want = POLLOUT;
            return r;
        }
        err = SSL_get_error(c->ssl, r);
        if (err == SSL_ERROR_WANT_WRITE) {
            c->tls_wr_want = POLLOUT;
            return WSGW_TB_IO_AGAIN;
        }
        if (err == SSL_ERROR_WANT_READ) {
            c->tls_wr_want = POLLIN;
            return WSGW_TB_IO_AGAIN;
        }
        return WSGW_TB_IO_ERROR;
    }
    for (;;) {
        ssize_t r = send(c->fd, buf, len, MSG_NOSIGNAL);

        if (r >= 0) {
            return r;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return WSGW_TB_IO_AGAIN;
        }
        return WSGW_TB_IO_ERROR;
    }
}

/* returns bytes written (>= 0) or -1 on a fatal error */
static long long wsgw_tb_flush(wsgw_tb_conn *c)
{
    long long total = 0;

    while (c->outlen > 0) {
        ssize_t w = wsgw_tb_io_write(c, c->out + c->outoff, c->outlen);

        if (w == WSGW_TB_IO_AGAIN) {
            break;
        }
        if (w < 0) {
            return -1;
        }
        c->outoff += (size_t)w;
        c->outlen -= (size_t)w;
        total += w;
    }
    if (c->outlen == 0) {
        c->outoff = 0;
        if (c->outcap > WSGW_TB_OUT_KEEP) {
            free(c->out);
            c->out = NULL;
            c->outcap = 0;
        }
    }
    return total;
}

/* 1: handshake done, 0: still running (or the connection died) */
static int wsgw_tb_tls_handshake(wsgw_tb_conn *c)
{
    int r, err;

    ERR_clear_error();
    r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        c->tls_hs = 0;
        return 1;
    }
    err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ) {
        c->tls_hs_want = POLLIN;
        return 0;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
        c->tls_hs_want = POLLOUT;
        return 0;
    }
    wsgw_tb_conn_abort(c);
    return 0;
}

/* ------------------------------------------------------------------ */
/* WebSocket output                                                    */

static void wsgw_tb_out_frame_hdr(wsgw_tb_conn *c, int fin, int op,
                                  uint64_t len)
{
    unsigned char h[10];
    size_t n;
    int i;

    h[0] = (unsigned char)((fin ? 0x80 : 0) | (op & 0x0f));
    if (len < 126) {
        h[1] = (unsigned char)len;
        n = 2;
    } else if (len <= 0xffff) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        n = 4;
    } else {
        h[1] = 127;
        for (i = 0; i < 8; i++) {
            h[2 + i] = (unsigned char)(len >> (56 - 8 * i));
        }
        n = 10;
    }
    wsgw_tb_out_put(c, h, n);
}

static void wsgw_tb_out_frame(wsgw_tb_conn *c, int fin, int op,
                              const void *payload, size_t len)
{
    wsgw_tb_out_frame_hdr(c, fin, op, len);
    wsgw_tb_out_put(c, payload, len);
}

/* code 0: empty close payload */
static void wsgw_tb_ws_send_close(wsgw_tb_conn *c, int code)
{
    unsigned char p[2];

    if (c->ws_sent_close) {
        return;
    }
    p[0] = (unsigned char)((code >> 8) & 0xff);
    p[1] = (unsigned char)(code & 0xff);
    wsgw_tb_out_frame(c, 1, 8, p, code ? 2 : 0);
    c->ws_sent_close = 1;
    c->flood_active = 0;
}

/* protocol failure: Close with code, then close the connection */
static void wsgw_tb_ws_fail(wsgw_tb_conn *c, int code)
{
    wsgw_tb_ws_send_close(c, code);
    c->ws_failed = 1;
    c->close_after_flush = 1;
}

/* ------------------------------------------------------------------ */
/* chat                                                                */

static void wsgw_tb_chat_add(wsgw_tb_conn *c)
{
    wsgw_tb_server *s = &wsgw_tb_srv;

    if (s->nchat == s->capchat) {
        size_t ncap = s->capchat ? s->capchat * 2 : 16;
        wsgw_tb_conn **np = realloc(s->chat, ncap * sizeof(*np));

        if (np == NULL) {
            wsgw_tb_conn_abort(c);
            return;
        }
        s->chat = np;
        s->capchat = ncap;
    }
    s->chat[s->nchat++] = c;
    c->chat_member = 1;
}

static void wsgw_tb_chat_remove(wsgw_tb_conn *c)
{
    wsgw_tb_server *s = &wsgw_tb_srv;
    size_t i;

    for (i = 0; i < s->nchat; i++) {
        if (s->chat[i] == c) {
            s->chat[i] = s->chat[--s->nchat];
            break;
        }
    }
    c->chat_member = 0;
}

static void wsgw_tb_chat_broadcast(int op, const unsigned char *p, size_t n)
{
    wsgw_tb_server *s = &wsgw_tb_srv;
    size_t i;

    for (i = 0; i < s->nchat; i++) {
        wsgw_tb_conn *m = s->chat[i];

        if (m->dead || m->ws_sent_close || m->state != WSGW_TB_ST_WS) {
            continue;
        }
        wsgw_tb_out_frame(m, 1, op, p, n);
        if (m->outlen > WSGW_TB_CHAT_HARD) {
            wsgw_tb_conn_abort(m);      /* a member that does not read */
        }
    }
}

/* ------------------------------------------------------------------ */
/* HTTP responses                                                      */

static const char *wsgw_tb_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
    }
}

static int wsgw_tb_status_has_body(int status)
{
    return !(status == 204 || status == 304
             || (status >= 100 && status < 200));
}

/* status line and headers; clen < 0: no Content-Length */
static void wsgw_tb_http_head(wsgw_tb_conn *c, int status, const char *extra,
                              const char *ctype, long long clen)
{
    wsgw_tb_out_printf(c, "HTTP/1.1 %d %s\r\nServer: wsgw-test-backend\r\n"
                       "X-Backend-Name: %s\r\n",
                       status, wsgw_tb_reason(status), wsgw_tb_srv.name);
    if (extra != NULL) {
        wsgw_tb_out_str(c, extra);
    }
    if (wsgw_tb_status_has_body(status)) {
        if (ctype != NULL) {
            wsgw_tb_out_printf(c, "Content-Type: %s\r\n", ctype);
        }
        if (clen >= 0) {
            wsgw_tb_out_printf(c, "Content-Length: %lld\r\n", clen);
        }
    }
    if (!c->keepalive) {
        wsgw_tb_out_str(c, "Connection: close\r\n");
    } else if (c->req.vmin == 0) {
        wsgw_tb_out_str(c, "Connection: keep-alive\r\n");
    }
    wsgw_tb_out_str(c, "\r\n");
}

static void wsgw_tb_http_response(wsgw_tb_conn *c, int status,
                                  const char *extra, const char *ctype,
                                  const char *body, size_t bodylen)
{
    wsgw_tb_http_head(c, status, extra, ctype, (long long)bodylen);
    if (wsgw_tb_status_has_body(status)
        && !wsgw_tb_span_eq(c->req.method, "HEAD")) {
        wsgw_tb_out_put(c, body, bodylen);
    }
}

/* ------------------------------------------------------------------ */
/* request parsing                                                     */

static void wsgw_tb_req_clear(wsgw_tb_conn *c)
{
    free(c->req.hdrs);
    memset(&c->req, 0, sizeof(c->req));
    c->req.content_length = -1;
    free(c->head);
    c->head = NULL;
    c->headlen = 0;
}

static const wsgw_tb_span *wsgw_tb_hdr_get(const wsgw_tb_req *r,
                                           const char *name)
{
    size_t i;

    for (i = 0; i < r->nhdrs; i++) {
        if (wsgw_tb_span_ieq(r->hdrs[i].name, name)) {
            return &r->hdrs[i].value;
        }
    }
    return NULL;
}

static size_t wsgw_tb_hdr_count(const wsgw_tb_req *r, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < r->nhdrs; i++) {
        if (wsgw_tb_span_ieq(r->hdrs[i].name, name)) {
            n++;
        }
    }
    return n;
}

/* does any header line NAME hold TOKEN in its comma-separated list? */
static int wsgw_tb_hdr_has_token(const wsgw_tb_req *r, const char *name,
                                 const char *token)
{
    size_t i;

    for (i = 0; i < r->nhdrs; i++) {
        wsgw_tb_span v;

        if (!wsgw_tb_span_ieq(r->hdrs[i].name, name)) {
            continue;
        }
        v = r->hdrs[i].value;
        while (v.n > 0) {
            const char *comma = memchr(v.p, ',', v.n);
            wsgw_tb_span item;

            item.p = v.p;
            item.n = comma ? (size_t)(comma - v.p) : v.n;
            if (wsgw_tb_span_ieq(wsgw_tb_span_trim(item), token)) {
                return 1;
            }
            if (comma == NULL) {
                break;
            }
            v.n -= (size_t)(comma - v.p) + 1;
            v.p = comma + 1;
        }
    }
    return 0;
}

/* the first token of the first header line NAME */
static wsgw_tb_span wsgw_tb_hdr_first_token(const wsgw_tb_req *r,
                                            const char *name)
{
    const wsgw_tb_span *v = wsgw_tb_hdr_get(r, name);
    wsgw_tb_span t = { "", 0 };
    const char *comma;

    if (v == NULL) {
        return t;
    }
    t = *v;
    comma = memchr(t.p, ',', t.n);
    if (comma != NULL) {
        t.n = (size_t)(comma - t.p);
    }
    return wsgw_tb_span_trim(t);
}

static int wsgw_tb_query_ull(const wsgw_tb_req *r, const char *key,
                             unsigned long long max, unsigned long long *out)
{
    wsgw_tb_span q = r->query;
    size_t klen = strlen(key);

    while (q.n > 0) {
        const char *amp = memchr(q.p, '&', q.n);
        wsgw_tb_span item;

        item.p = q.p;
        item.n = amp ? (size_t)(amp - q.p) : q.n;
        if (item.n > klen && memcmp(item.p, key, klen) == 0
            && item.p[klen] == '=') {
            wsgw_tb_span v;

            v.p = item.p + klen + 1;
            v.n = item.n - klen - 1;
            if (wsgw_tb_parse_ull(v, max, out)) {
                return 1;
            }
        }
        if (amp == NULL) {
            break;
        }
        q.n -= item.n + 1;
        q.p = amp + 1;
    }
    return 0;
}

/*
 * Find the end of a request head in b[0..n).  Returns the number of bytes
 * up to and including the empty line (0: incomplete); *textlen is the
 * length of the head without the final line terminator and empty line.
 */
static size_t wsgw_tb_find_head_end(const unsigned char *b, size_t n,
                                    size_t *textlen)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (b[i] != '\n') {
            continue;
        }
        if (i + 1 < n && b[i + 1] == '\n') {
            *textlen = (i > 0 && b[i - 1] == '\r') ? i - 1 : i;
            return i + 2;
        }
        if (i + 2 < n && b[i + 1] == '\r' && b[i + 2] == '\n') {
            *textlen = (i > 0 && b[i - 1] == '\r') ? i - 1 : i;
            return i + 3;
        }
    }
    return 0;
}

/* parse c->head (c->headlen bytes of text); 0 or an HTTP error status */
static int wsgw_tb_parse_request(wsgw_tb_conn *c)
{
    wsgw_tb_req *r = &c->req;
    const char *p = c->head, *end = c->head + c->headlen;
    const char *le, *sp1, *sp2, *v;
    size_t i, linelen;
    int first = 1;

    r->content_length = -1;
    r->hdrs = calloc(WSGW_TB_MAX_HEADERS, sizeof(*r->hdrs));
    if (r->hdrs == NULL) {
        return 500;
    }
    while (p < end) {
        le = memchr(p, '\n', (size_t)(end - p));
        linelen = le ? (size_t)(le - p) : (size_t)(end - p);
        if (linelen > 0 && p[linelen - 1] == '\r') {
            linelen--;
        }
        for (i = 0; i < linelen; i++) {
            unsigned char ch = (unsigned char)p[i];

            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                return 400;
            }
        }
        if (first) {
            first = 0;
            sp1 = memchr(p, ' ', linelen);
            if (sp1 == NULL) {
                return 400;
            }
            sp2 = memchr(sp1 + 1, ' ', linelen - (size_t)(sp1 + 1 - p));
            if (sp2 == NULL) {
                return 400;
            }
            r->method.p = p;
            r->method.n = (size_t)(sp1 - p);
            r->target.p = sp1 + 1;
            r->target.n = (size_t)(sp2 - sp1 - 1);
            v = sp2 + 1;
            if (r->method.n == 0 || r->target.n == 0) {
                return 400;
            }
            for (i = 0; i < r->method.n; i++) {
                if (!wsgw_tb_is_tchar((unsigned char)r->method.p[i])) {
                    return 400;
                }
            }
            for (i = 0; i < r->target.n; i++) {
                unsigned char ch = (unsigned char)r->target.p[i];

                if (ch <= 0x20 || ch == 0x7f) {
                    return 400;
                }
            }
            if ((size_t)(p + linelen - v) != 8 || memcmp(v, "HTTP/", 5) != 0
                || v[5] < '0' || v[5] > '9' || v[6] != '.'
                || v[7] < '0' || v[7] > '9') {
                return 400;
            }
            r->vmaj = v[5] - '0';
            r->vmin = v[7] - '0';
        } else {
            const char *colon;
            wsgw_tb_hdr *h;

            if (linelen == 0 || p[0] == ' ' || p[0] == '\t') {
                return 400;     /* obsolete line folding */
            }
            colon = memchr(p, ':', linelen);
            if (colon == NULL || colon == p) {
                return 400;
            }
            for (v = p; v < colon; v++) {
                if (!wsgw_tb_is_tchar((unsigned char)*v)) {
                    return 400;
                }
            }
            if (r->nhdrs >= WSGW_TB_MAX_HEADERS) {
                return 431;
            }
            h = &r->hdrs[r->nhdrs++];
            h->name.p = p;
            h->name.n = (size_t)(colon - p);
            h->value.p = colon + 1;
            h->value.n = linelen - h->name.n - 1;
            h->value = wsgw_tb_span_trim(h->value);
        }
        if (le == NULL) {
            break;
        }
        p = le + 1;
    }
    if (first) {
        return 400;
    }
    if (r->vmaj != 1) {
        return 505;
    }

    /* path and query (absolute-form targets are reduced to the path) */
    r->path = r->target;
    if (r->path.n > 0 && r->path.p[0] != '/') {
        const char *scheme = memchr(r->path.p, ':', r->path.n);

        if (scheme != NULL && (size_t)(scheme - r->path.p) + 3 <= r->path.n
            && scheme[1] == '/' && scheme[2] == '/') {
            const char *slash = memchr(scheme + 3, '/',
                                       r->path.n
                                       - (size_t)(scheme + 3 - r->path.p));

            if (slash != NULL) {
                r->path.n -= (size_t)(slash - r->path.p);
                r->path.p = slash;
            } else {
                r->path.p = "/";
                r->path.n = 1;
            }
        }
    }
    {
        const char *q = memchr(r->path.p, '?', r->path.n);

        if (q != NULL) {
            r->query.p = q + 1;
            r->query.n = r->path.n - (size_t)(q + 1 - r->path.p);
            r->path.n = (size_t)(q - r->path.p);
        } else {
            r->query.p = "";
            r->query.n = 0;
        }
    }

    /* message framing */
    for (i = 0; i < r->nhdrs; i++) {
        if (wsgw_tb_span_ieq(r->hdrs[i].name, "Content-Length")) {
            unsigned long long cl;

            if (!wsgw_tb_parse_ull(r->hdrs[i].value, 1ULL << 62, &cl)) {
                return 400;
            }
            if (r->content_length >= 0
                && (unsigned long long)r->content_length != cl) {
                return 400;
            }
            r->content_length = (long long)cl;
        }
    }
    if (wsgw_tb_hdr_count(r, "Transfer-Encoding") > 0) {
        if (r->vmin == 0 || !wsgw_tb_hdr_has_token(r, "Transfer-Encoding",
                                                   "chunked")) {
            return 400;
        }
        r->chunked = 1;
        r->content_length = -1;
    }
    r->upgrade = wsgw_tb_hdr_has_token(r, "Connection", "upgrade")
        && wsgw_tb_hdr_has_token(r, "Upgrade", "websocket");
    r->expect_continue = wsgw_tb_hdr_has_token(r, "Expect", "100-continue");
    if (wsgw_tb_hdr_has_token(r, "Connection", "close")) {
        c->keepalive = 0;
    } else if (r->vmin >= 1) {
        c->keepalive = 1;
    } else {
        c->keepalive = wsgw_tb_hdr_has_token(r, "Connection", "keep-alive");
    }
    return 0;
}

static int wsgw_tb_route(wsgw_tb_conn *c)
{
    const wsgw_tb_req *r = &c->req;
    wsgw_tb_span path = r->path, last, prev = { "", 0 };
    const char *slash = NULL;
    size_t i;

    /* One trailing slash is ignored: a balancer member's URL path, such
     * as .../status/503, gets the request's "/" appended. */
    if (path.n > 1 && path.p[path.n - 1] == '/') {
        --path.n;
    }
    for (i = path.n; i > 0; i--) {
        if (path.p[i - 1] == '/') {
            slash = path.p + i - 1;
            break;
        }
    }
    if (slash == NULL) {
        last = path;
    } else {
        last.p = slash + 1;
        last.n = path.n - (size_t)(slash + 1 - path.p);
        for (i = (size_t)(slash - path.p); i > 0; i--) {
            if (path.p[i - 1] == '/') {
                break;
            }
        }
        prev.p = path.p + i;
        prev.n = (size_t)(slash - prev.p);
    }
    if (wsgw_tb_span_eq(prev, "status") && last.n == 3) {
        unsigned long long st;

        if (wsgw_tb_parse_ull(last, 599, &st) && st >= 200) {
            c->status = (int)st;
            return WSGW_TB_R_STATUS;
        }
    }
    if (wsgw_tb_span_eq(last, "headers")) {
        return WSGW_TB_R_HEADERS;
    }
    if (wsgw_tb_span_eq(last, "name")) {
        return WSGW_TB_R_NAME;
    }
    if (wsgw_tb_span_eq(last, "pipeline")) {
        return WSGW_TB_R_PIPELINE;
    }
    if (wsgw_tb_span_eq(last, "bad-accept")) {
        return WSGW_TB_R_BAD_ACCEPT;
    }
    if (wsgw_tb_span_eq(last, "no-accept")) {
        return WSGW_TB_R_NO_ACCEPT;
    }
    if (wsgw_tb_span_eq(last, "ok200")) {
        return WSGW_TB_R_OK200;
    }
    if (wsgw_tb_span_eq(last, "close-early")) {
        return WSGW_TB_R_CLOSE_EARLY;
    }
    if (wsgw_tb_span_eq(last, "hang")) {
        return WSGW_TB_R_HANG;
    }
    if (wsgw_tb_span_eq(last, "delay")) {
        return WSGW_TB_R_DELAY;
    }
    if (wsgw_tb_span_eq(last, "flood")) {
        return WSGW_TB_R_FLOOD;
    }
    if (wsgw_tb_span_eq(last, "chat")) {
        return WSGW_TB_R_CHAT;
    }
    if (wsgw_tb_span_eq(last, "close-after")) {
        return WSGW_TB_R_CLOSE_AFTER;
    }
    if (wsgw_tb_span_eq(last, "redirect")) {
        return WSGW_TB_R_REDIRECT;
    }
    if (wsgw_tb_span_eq(last, "echo") && wsgw_tb_span_eq(prev, "http")
        && (wsgw_tb_span_eq(r->method, "POST")
            || wsgw_tb_span_eq(r->method, "PUT"))) {
        return WSGW_TB_R_HTTP_ECHO;
    }
    return WSGW_TB_R_DEFAULT;
}

/* ------------------------------------------------------------------ */
/* request execution                                                   */

static void wsgw_tb_http_request_done(wsgw_tb_conn *c)
{
    if (c->body_echo && c->echo_chunked) {
        wsgw_tb_out_str(c, "0\r\n\r\n");
    }
    c->body_mode = WSGW_TB_BODY_NONE;
    c->body_echo = 0;
    c->echo_chunked = 0;
    if (c->keepalive) {
        c->state = WSGW_TB_ST_HEAD;
    } else {
        c->state = WSGW_TB_ST_DONE;
        c->close_after_flush = 1;
    }
    wsgw_tb_req_clear(c);
}

/* after a final non-101 response: read the request body, if any */
static void wsgw_tb_http_after_response(wsgw_tb_conn *c)
{
    if (c->req.chunked) {
        c->state = WSGW_TB_ST_BODY;
        c->body_mode = WSGW_TB_BODY_CHUNKED;
        c->chunk_state = WSGW_TB_CH_SIZE;
    } else if (c->req.content_length > 0) {
        c->state = WSGW_TB_ST_BODY;
        c->body_mode = WSGW_TB_BODY_LENGTH;
        c->body_left = (unsigned long long)c->req.content_length;
    } else {
        wsgw_tb_http_request_done(c);
    }
}

/* an error before/while parsing: answer and close */
static void wsgw_tb_http_error_close(wsgw_tb_conn *c, int status)
{
    char body[64];
    int n;

    c->keepalive = 0;
    n = snprintf(body, sizeof(body), "%d %s\n", status,
                 wsgw_tb_reason(status));
    memset(&c->req.method, 0, sizeof(c->req.method));
    c->req.method.p = "";
    wsgw_tb_http_response(c, status, NULL, "text/plain", body, (size_t)n);
    c->state = WSGW_TB_ST_DONE;
    c->close_after_flush = 1;
    wsgw_tb_req_clear(c);
}

static void wsgw_tb_http_status(wsgw_tb_conn *c, int status)
{
    char body[128];
    int n = snprintf(body, sizeof(body), "status %d from %s\n", status,
                     wsgw_tb_srv.name);

    if (n < 0) {
        n = 0;
    } else if ((size_t)n >= sizeof(body)) {
        n = (int)sizeof(body) - 1;
    }
    wsgw_tb_http_response(c, status, NULL, "text/plain", body, (size_t)n);
}

static void wsgw_tb_http_dump(wsgw_tb_conn *c)
{
    const wsgw_tb_req *r = &c->req;
    wsgw_tb_sbuf b = { NULL, 0, 0, 0 };
    size_t i;

    wsgw_tb_sb_str(&b, "backend=");
    wsgw_tb_sb_str(&b, wsgw_tb_srv.name);
    wsgw_tb_sb_str(&b, "\nmethod=");
    wsgw_tb_sb_span(&b, r->method);
    wsgw_tb_sb_str(&b, "\nuri=");
    wsgw_tb_sb_span(&b, r->target);
    wsgw_tb_sb_str(&b, "\n");
    for (i = 0; i < r->nhdrs; i++) {
        wsgw_tb_sb_str(&b, "h:");
        wsgw_tb_sb_span(&b, r->hdrs[i].name);
        wsgw_tb_sb_str(&b, ": ");
        wsgw_tb_sb_span(&b, r->hdrs[i].value);
        wsgw_tb_sb_str(&b, "\n");
    }
    if (b.err) {
        wsgw_tb_conn_abort(c);
    } else {
        wsgw_tb_http_response(c, 200, NULL, "text/plain", b.p, b.n);
    }
    free(b.p);
}

static void wsgw_tb_http_redirect(wsgw_tb_conn *c)
{
    const wsgw_tb_span *hv = wsgw_tb_hdr_get(&c->req, "Host");
    wsgw_tb_span host = { "localhost", 9 };
    wsgw_tb_sbuf h = { NULL, 0, 0, 0 };
    static const char body[] = "redirect\n";

    if (hv != NULL && hv->n > 0) {
        host = *hv;
    }
    wsgw_tb_sb_str(&h, "Location: http://");
    wsgw_tb_sb_span(&h, host);
    wsgw_tb_sb_str(&h, "/target\r\nContent-Location: http://");
    wsgw_tb_sb_span(&h, host);
    wsgw_tb_sb_str(&h, "/content\r\nURI: http://");
    wsgw_tb_sb_span(&h, host);
    wsgw_tb_sb_str(&h, "/uri\r\n");
    if (h.err) {
        wsgw_tb_conn_abort(c);
    } else {
        wsgw_tb_http_response(c, 302, h.p, "text/plain", body,
                              sizeof(body) - 1);
    }
    free(h.p);
}

static void wsgw_tb_http_echo_start(wsgw_tb_conn *c)
{
    const wsgw_tb_span *ct = wsgw_tb_hdr_get(&c->req, "Content-Type");
    char ctype[256];

    if (ct != NULL && ct->n > 0 && ct->n < sizeof(ctype)) {
        memcpy(ctype, ct->p, ct->n);
        ctype[ct->n] = '\0';
    } else {
        strcpy(ctype, "application/octet-stream");
    }
    c->body_echo = 1;
    if (c->req.chunked) {
        if (c->req.vmin >= 1) {
            c->echo_chunked = 1;
            wsgw_tb_http_head(c, 200, "Transfer-Encoding: chunked\r\n", ctype,
                              -1);
        } else {
            c->keepalive = 0;   /* close-delimited */
            wsgw_tb_http_head(c, 200, NULL, ctype, -1);
        }
    } else {
        wsgw_tb_http_head(c, 200, NULL, ctype,
                          c->req.content_length > 0 ? c->req.content_length
                                                    : 0);
    }
}

static int wsgw_tb_ws_key_valid(wsgw_tb_span k)
{
    size_t i;

    if (k.n != 24 || k.p[22] != '=' || k.p[23] != '=') {
        return 0;
    }
    for (i = 0; i < 22; i++) {
        unsigned char ch = (unsigned char)k.p[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z')
              || (ch >= '0' && ch <= '9') || ch == '+' || ch == '/')) {
            return 0;
        }
    }
    return 1;
}

static int wsgw_tb_ws_accept(wsgw_tb_span key, const char *guid, char out[64])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok;

    if (ctx == NULL) {
        return -1;
    }
    ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1
        && EVP_DigestUpdate(ctx, key.p, key.n) == 1
        && EVP_DigestUpdate(ctx, guid, strlen(guid)) == 1
        && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok || mdlen != 20) {
        return -1;
    }
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    return 0;
}

static void wsgw_tb_ws_upgrade(wsgw_tb_conn *c)
{
    wsgw_tb_req *r = &c->req;
    const wsgw_tb_span *key = wsgw_tb_hdr_get(r, "Sec-WebSocket-Key");
    const wsgw_tb_span *ver = wsgw_tb_hdr_get(r, "Sec-WebSocket-Version");
    wsgw_tb_span proto;
    char accept[64];
    unsigned long long v;
    static const char hello[] = "hello-from-backend";

    if (!wsgw_tb_span_eq(r->method, "GET") || r->vmin < 1 || key == NULL
        || wsgw_tb_hdr_count(r, "Sec-WebSocket-Key") != 1
        || !wsgw_tb_ws_key_valid(*key)) {
        static const char body[] = "bad websocket handshake\n";

        wsgw_tb_http_response(c, 400, NULL, "text/plain", body,
                              sizeof(body) - 1);
        wsgw_tb_http_after_response(c);
        return;
    }
    if (ver == NULL || !wsgw_tb_span_eq(*ver, "13")) {
        static const char body[] = "unsupported websocket version\n";

        wsgw_tb_http_response(c, 426, "Sec-WebSocket-Version: 13\r\n",
                              "text/plain", body, sizeof(body) - 1);
        wsgw_tb_http_after_response(c);
        return;
    }
    if (wsgw_tb_ws_accept(*key, c->route == WSGW_TB_R_BAD_ACCEPT
                          ? "wsgw-test-backend-wrong-guid" : WSGW_TB_WS_GUID,
                          accept) != 0) {
        wsgw_tb_http_error_close(c, 500);
        return;
    }
    wsgw_tb_out_str(c, "HTTP/1.1 101 Switching Protocols\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n");
    if (c->route != WSGW_TB_R_NO_ACCEPT) {
        wsgw_tb_out_printf(c, "Sec-WebSocket-Accept: %s\r\n", accept);
    }
    proto = wsgw_tb_hdr_first_token(r, "Sec-WebSocket-Protocol");
    if (proto.n > 0) {
        wsgw_tb_out_printf(c, "Sec-WebSocket-Protocol: %.*s\r\n",
                           (int)proto.n, proto.p);
    }
    wsgw_tb_out_printf(c, "X-Backend-Name: %s\r\n\r\n", wsgw_tb_srv.name);

    c->logpath = malloc(r->target.n + 1);
    if (c->logpath == NULL) {
        wsgw_tb_conn_abort(c);
        return;
    }
    memcpy(c->logpath, r->target.p, r->target.n);
    c->logpath[r->target.n] = '\0';
    c->state = WSGW_TB_ST_WS;
    c->ws_opened = 1;
    c->ws_mode = WSGW_TB_WM_ECHO;
    c->close_after_n = -1;
    wsgw_tb_log("%llu %s open", c->id, c->logpath);

    switch (c->route) {
    case WSGW_TB_R_HEADERS:
        wsgw_tb_out_frame(c, 1, 1, c->head, c->headlen);
        break;
    case WSGW_TB_R_NAME:
        wsgw_tb_out_frame(c, 1, 1, wsgw_tb_srv.name, strlen(wsgw_tb_srv.name));
        break;
    case WSGW_TB_R_PIPELINE:
        wsgw_tb_out_frame(c, 1, 1, hello, sizeof(hello) - 1);
        break;
    case WSGW_TB_R_FLOOD:
        v = 1;
        wsgw_tb_query_ull(r, "mb", 1ULL << 20, &v);
        c->ws_mode = WSGW_TB_WM_FLOOD;
        c->flood_total = (uint64_t)v * 1024 * 1024;
        c->flood_sent = 0;
        v = 0;
        wsgw_tb_query_ull(r, "wait", 1, &v);
        c->flood_wait = v != 0;
        c->flood_active = !c->flood_wait;
        break;
    case WSGW_TB_R_CHAT:
        c->ws_mode = WSGW_TB_WM_CHAT;
        wsgw_tb_chat_add(c);
        break;
    case WSGW_TB_R_CLOSE_AFTER:
        v = 1;
        wsgw_tb_query_ull(r, "n", 1ULL << 40, &v);
        c->close_after_n = (long long)v;
        if (v == 0) {
            wsgw_tb_ws_send_close(c, 1000);
        }
        break;
    default:
        break;
    }
    wsgw_tb_req_clear(c);
}

static void wsgw_tb_execute(wsgw_tb_conn *c)
{
    const wsgw_tb_req *r = &c->req;
    static const char not_ws[] = "not a websocket\n";

    if (r->upgrade) {
        switch (c->route) {
        case WSGW_TB_R_STATUS:
            wsgw_tb_http_status(c, c->status);
            wsgw_tb_http_after_response(c);
            return;
        case WSGW_TB_R_OK200:
            wsgw_tb_http_response(c, 200, NULL, "text/plain", not_ws,
                                  sizeof(not_ws) - 1);
            wsgw_tb_http_after_response(c);
            return;
        case WSGW_TB_R_CLOSE_EARLY:
            c->state = WSGW_TB_ST_DONE;
            c->close_after_flush = 1;
            wsgw_tb_req_clear(c);
            return;
        case WSGW_TB_R_HANG:
            c->state = WSGW_TB_ST_HANG;
            wsgw_tb_req_clear(c);
            return;
        default:
            wsgw_tb_ws_upgrade(c);
            return;
        }
    }
    if (r->expect_continue && r->vmin >= 1
        && (r->chunked || r->content_length > 0)
        && c->route != WSGW_TB_R_CLOSE_EARLY && c->route != WSGW_TB_R_HANG) {
        wsgw_tb_out_str(c, "HTTP/1.1 100 Continue\r\n\r\n");
    }
    switch (c->route) {
    case WSGW_TB_R_REDIRECT:
        wsgw_tb_http_redirect(c);
        break;
    case WSGW_TB_R_STATUS:
        wsgw_tb_http_status(c, c->status);
        break;
    case WSGW_TB_R_HTTP_ECHO:
        wsgw_tb_http_echo_start(c);
        break;
    case WSGW_TB_R_CLOSE_EARLY:
        c->state = WSGW_TB_ST_DONE;
        c->close_after_flush = 1;
        wsgw_tb_req_clear(c);
        return;
    case WSGW_TB_R_HANG:
        c->state = WSGW_TB_ST_HANG;
        wsgw_tb_req_clear(c);
        return;
    default:
        wsgw_tb_http_dump(c);
        break;
    }
    wsgw_tb_http_after_response(c);
}

/* HEAD state: returns 1 on progress, 0 when more input is needed */
static int wsgw_tb_http_head_input(wsgw_tb_conn *c)
{
    unsigned char *b = c->in + c->inoff;
    size_t total, textlen = 0, skip = 0;
    int err;

    while (skip < c->inlen && (b[skip] == '\r' || b[skip] == '\n')) {
        skip++;
    }
    if (skip > 0) {
        wsgw_tb_in_consume(c, skip);
        return 1;
    }
    total = wsgw_tb_find_head_end(b, c->inlen, &textlen);
    if (total == 0) {
        if (c->inlen >= WSGW_TB_HEAD_MAX) {
            wsgw_tb_http_error_close(c, 431);
            return 1;
        }
        return 0;
    }
    if (total > WSGW_TB_HEAD_MAX) {
        wsgw_tb_http_error_close(c, 431);
        return 1;
    }
    wsgw_tb_req_clear(c);
    c->head = malloc(textlen + 1);
    if (c->head == NULL) {
        wsgw_tb_conn_abort(c);
        return 1;
    }
    memcpy(c->head, b, textlen);
    c->head[textlen] = '\0';
    c->headlen = textlen;
    wsgw_tb_in_consume(c, total);
    c->keepalive = 0;
    err = wsgw_tb_parse_request(c);
    if (err != 0) {
        wsgw_tb_http_error_close(c, err);
        return 1;
    }
    c->route = wsgw_tb_route(c);
    if (c->route == WSGW_TB_R_DELAY) {
        unsigned long long ms = 0;

        wsgw_tb_query_ull(&c->req, "ms", WSGW_TB_MAX_DELAY_MS, &ms);
        c->route = WSGW_TB_R_DEFAULT;
        c->state = WSGW_TB_ST_DELAY;
        c->deadline = wsgw_tb_now_ms() + (long long)ms;
        return 1;
    }
    wsgw_tb_execute(c);
    return 1;
}

/* hand n body bytes to the echo (if any) */
static void wsgw_tb_body_data(wsgw_tb_conn *c, const unsigned char *p,
                              size_t n)
{
    if (!c->body_echo || n == 0) {
        return;
    }
    if (c->echo_chunked) {
        wsgw_tb_out_printf(c, "%zx\r\n", n);
        wsgw_tb_out_put(c, p, n);
        wsgw_tb_out_str(c, "\r\n");
    } else {
        wsgw_tb_out_put(c, p, n);
    }
}

static void wsgw_tb_body_error(wsgw_tb_conn *c)
{
    c->keepalive = 0;
    c->body_echo = 0;
    c->state = WSGW_TB_ST_DONE;
    c->close_after_flush = 1;
    wsgw_tb_req_clear(c);
}

/* BODY state: returns 1 on progress, 0 when more input is needed */
static int wsgw_tb_http_body_input(wsgw_tb_conn *c)
{
    unsigned char *b = c->in + c->inoff;
    const unsigned char *le;
    size_t n, linelen, i;

    if (c->body_mode == WSGW_TB_BODY_LENGTH
        || (c->body_mode == WSGW_TB_BODY_CHUNKED
            && c->chunk_state == WSGW_TB_CH_DATA)) {
        n = c->inlen;
        if (n > c->body_left) {
            n = (size_t)c->body_left;
        }
        if (n == 0 && c->body_left > 0) {
            return 0;
        }
        wsgw_tb_body_data(c, b, n);
        wsgw_tb_in_consume(c, n);
        c->body_left -= n;
        if (c->body_left == 0) {
            if (c->body_mode == WSGW_TB_BODY_LENGTH) {
                wsgw_tb_http_request_done(c);
            } else {
                c->chunk_state = WSGW_TB_CH_DATA_END;
            }
        }
        return 1;
    }
    if (c->chunk_state == WSGW_TB_CH_DATA_END) {
        if (c->inlen >= 1 && b[0] == '\n') {
            wsgw_tb_in_consume(c, 1);
        } else if (c->inlen >= 2) {
            if (b[0] != '\r' || b[1] != '\n') {
                wsgw_tb_body_error(c);
                return 1;
            }
            wsgw_tb_in_consume(c, 2);
        } else {
            if (c->inlen == 1 && b[0] != '\r') {
                wsgw_tb_body_error(c);
                return 1;
            }
            return 0;
        }
        c->chunk_state = WSGW_TB_CH_SIZE;
        return 1;
    }
    /* a line: chunk size or trailer */
    le = memchr(b, '\n', c->inlen);
    if (le == NULL) {
        if (c->inlen > WSGW_TB_LINE_MAX) {
            wsgw_tb_body_error(c);
            return 1;
        }
        return 0;
    }
    linelen = (size_t)(le - b);
    if (linelen > 0 && b[linelen - 1] == '\r') {
        linelen--;
    }
    if (c->chunk_state == WSGW_TB_CH_SIZE) {
        unsigned long long size = 0;
        size_t digits = 0;

        for (i = 0; i < linelen; i++) {
            unsigned char ch = b[i];
            int d;

            if (ch >= '0' && ch <= '9') {
                d = ch - '0';
            } else if (ch >= 'a' && ch <= 'f') {
                d = ch - 'a' + 10;
            } else if (ch >= 'A' && ch <= 'F') {
                d = ch - 'A' + 10;
            } else {
                break;
            }
            if (++digits > 15) {
                wsgw_tb_body_error(c);
                return 1;
            }
            size = size * 16 + (unsigned long long)d;
        }
        if (digits == 0 || (i < linelen && b[i] != ';' && b[i] != ' '
                            && b[i] != '\t')) {
            wsgw_tb_body_error(c);
            return 1;
        }
        wsgw_tb_in_consume(c, (size_t)(le - b) + 1);
        if (size == 0) {
            c->chunk_state = WSGW_TB_CH_TRAILER;
        } else {
            c->chunk_state = WSGW_TB_CH_DATA;
            c->body_left = size;
        }
        return 1;
    }
    /* trailer section: ends with an empty line */
    wsgw_tb_in_consume(c, (size_t)(le - b) + 1);
    if (linelen == 0) {
        wsgw_tb_http_request_done(c);
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* WebSocket input                                                     */

static void wsgw_tb_ws_frame_done(wsgw_tb_conn *c)
{
    int code = 0;

    c->fr_active = 0;
    switch (c->fr_op) {
    case 0:
    case 1:
    case 2:
        if (!c->fr_fin) {
            break;
        }
        if (c->flood_wait && !c->ws_sent_close) {
            c->flood_wait = 0;
            c->flood_active = 1;
        } else if (c->ws_mode == WSGW_TB_WM_CHAT && !c->ws_sent_close) {
            wsgw_tb_chat_broadcast(c->ws_msg_op, c->chat_buf, c->chat_len);
            c->chat_len = 0;
            if (c->chat_cap > 64 * 1024) {
                free(c->chat_buf);
                c->chat_buf = NULL;
                c->chat_cap = 0;
            }
        } else if (c->ws_mode == WSGW_TB_WM_ECHO && !c->ws_sent_close
                   && c->close_after_n >= 0) {
            if (++c->msgs_done >= c->close_after_n) {
                wsgw_tb_ws_send_close(c, 1000);
            }
        }
        break;
    case 9:
        if (!c->ws_sent_close && c->ws_mode != WSGW_TB_WM_FLOOD) {
            wsgw_tb_out_frame(c, 1, 10, c->ctl, (size_t)c->fr_len);
        }
        break;
    case 10:
        break;
    case 8:
        if (c->fr_len == 1) {
            wsgw_tb_log("%llu %s rx op=8 fin=1 len=1", c->id, c->logpath);
            wsgw_tb_ws_fail(c, 1002);
            break;
        }
        if (c->fr_len >= 2) {
            code = (c->ctl[0] << 8) | c->ctl[1];
            wsgw_tb_log("%llu %s rx op=8 fin=1 len=%llu code=%d", c->id,
                        c->logpath, (unsigned long long)c->fr_len, code);
        } else {
            wsgw_tb_log("%llu %s rx op=8 fin=1 len=0 code=1005", c->id,
                        c->logpath);
        }
        c->ws_got_close = 1;
        wsgw_tb_ws_send_close(c, code);
        c->close_after_flush = 1;
        break;
    default:
        break;
    }
}

static int wsgw_tb_ws_header(wsgw_tb_conn *c)
{
    const unsigned char *b = c->in + c->inoff;
    size_t need = 2, pos;
    uint64_t len;
    int masked, fin, rsv, op, i;

    if (c->inlen < 2) {
        return 0;
    }
    masked = (b[1] & 0x80) != 0;
    len = b[1] & 0x7f;
    if (len == 126) {
        need += 2;
    } else if (len == 127) {
        need += 8;
    }
    if (masked) {
        need += 4;
    }
    if (c->inlen < need) {
        return 0;
    }
    pos = 2;
    if (len == 126) {
        len = ((uint64_t)b[2] << 8) | b[3];
        pos = 4;
    } else if (len == 127) {
        len = 0;
        for (i = 0; i < 8; i++) {
            len = (len << 8) | b[2 + i];
        }
        pos = 10;
    }
    if (masked) {
        memcpy(c->fr_mask, b + pos, 4);
        pos += 4;
    } else {
        memset(c->fr_mask, 0, 4);
    }
    fin = (b[0] & 0x80) != 0;
    rsv = (b[0] >> 4) & 7;
    op = b[0] & 0x0f;
    wsgw_tb_in_consume(c, pos);

    c->fr_fin = fin;
    c->fr_op = op;
    c->fr_len = len;
    c->fr_pos = 0;
    c->fr_echo = 0;
    if (op != 8 || !fin || len > 125 || len == 1 || !masked || rsv) {
        /* a valid close frame is logged with its code once complete */
        wsgw_tb_log("%llu %s rx op=%d fin=%d len=%llu", c->id, c->logpath,
                    op, fin, (unsigned long long)len);
    }
    if (rsv != 0 || (op >= 3 && op <= 7) || op >= 11
        || (len >> 63) != 0) {
        wsgw_tb_ws_fail(c, 1002);
        return 1;
    }
    if (op >= 8 && (!fin || len > 125)) {
        wsgw_tb_ws_fail(c, 1002);
        return 1;
    }
    if (!masked) {
        wsgw_tb_ws_fail(c, 1002);
        return 1;
    }
    if (op < 8) {
        if (op == 0 && !c->ws_in_msg) {
            wsgw_tb_ws_fail(c, 1002);
            return 1;
        }
        if (op != 0 && c->ws_in_msg) {
            wsgw_tb_ws_fail(c, 1002);
            return 1;
        }
        if (op != 0) {
            c->ws_msg_op = op;
        }
        c->ws_in_msg = !fin;
        if (c->ws_mode == WSGW_TB_WM_ECHO && !c->ws_sent_close) {
            c->fr_echo = 1;
            wsgw_tb_out_frame_hdr(c, fin, op, len);
        } else if (c->ws_mode == WSGW_TB_WM_CHAT && !c->ws_sent_close) {
            if (len > WSGW_TB_CHAT_MAX - c->chat_len) {
                wsgw_tb_ws_fail(c, 1009);
                return 1;
            }
            if (c->chat_len + len > c->chat_cap) {
                size_t ncap = c->chat_cap ? c->chat_cap : 4096;
                unsigned char *np;

                while (ncap < c->chat_len + len) {
                    ncap *= 2;
                }
                np = realloc(c->chat_buf, ncap);
                if (np == NULL) {
                    wsgw_tb_conn_abort(c);
                    return 1;
                }
                c->chat_buf = np;
                c->chat_cap = ncap;
            }
        }
    }
    c->fr_active = 1;
    if (len == 0) {
        wsgw_tb_ws_frame_done(c);
    }
    return 1;
}

/* WS state: returns 1 on progress, 0 when more input is needed */
static int wsgw_tb_ws_input(wsgw_tb_conn *c)
{
    unsigned char *b = c->in + c->inoff;
    size_t n, i;
    uint64_t left;

    if (c->ws_failed || c->ws_got_close) {
        n = c->inlen;
        wsgw_tb_in_consume(c, n);
        return n > 0;
    }
    if (!c->fr_active) {
        return wsgw_tb_ws_header(c);
    }
    left = c->fr_len - c->fr_pos;
    n = c->inlen;
    if ((uint64_t)n > left) {
        n = (size_t)left;
    }
    if (n == 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        b[i] ^= c->fr_mask[(c->fr_pos + i) & 3];
    }
    if (c->fr_op >= 8) {
        memcpy(c->ctl + c->fr_pos, b, n);
    } else if (c->fr_echo) {
        wsgw_tb_out_put(c, b, n);
    } else if (c->ws_mode == WSGW_TB_WM_CHAT && !c->ws_sent_close) {
        memcpy(c->chat_buf + c->chat_len, b, n);
        c->chat_len += n;
    }
    wsgw_tb_in_consume(c, n);
    c->fr_pos += n;
    if (c->fr_pos == c->fr_len) {
        wsgw_tb_ws_frame_done(c);
    }
    return 1;
}

/* flood: keep up to ~256 KiB of frames queued; 1 on progress */
static int wsgw_tb_flood_fill(wsgw_tb_conn *c)
{
    int progress = 0;

    if (!c->flood_active || c->ws_sent_close || c->dead) {
        c->flood_active = 0;
        return 0;
    }
    while (c->flood_sent < c->flood_total
           && c->outlen + WSGW_TB_FLOOD_FRAME + 14 <= WSGW_TB_OUT_HIGH
           && !c->dead) {
        uint64_t chunk = c->flood_total - c->flood_sent;

        if (chunk > WSGW_TB_FLOOD_FRAME) {
            chunk = WSGW_TB_FLOOD_FRAME;
        }
        wsgw_tb_out_frame(c, 1, 2, wsgw_tb_flood_payload, (size_t)chunk);
        c->flood_sent += chunk;
        progress = 1;
    }
    if (c->flood_sent >= c->flood_total) {
        c->flood_active = 0;
        wsgw_tb_log("%llu %s flood done", c->id, c->logpath);
        wsgw_tb_ws_send_close(c, 1000);
        progress = 1;
    }
    return progress;
}

/* ------------------------------------------------------------------ */
/* connection driving                                                  */

static int wsgw_tb_can_process(wsgw_tb_conn *c)
{
    if (c->dead || c->tls_hs) {
        return 0;
    }
    switch (c->state) {
    case WSGW_TB_ST_DELAY:
        return 0;
    case WSGW_TB_ST_HANG:
    case WSGW_TB_ST_DONE:
    case WSGW_TB_ST_LINGER:
        return 1;
    case WSGW_TB_ST_HEAD:
    case WSGW_TB_ST_BODY:
        return c->outlen < WSGW_TB_OUT_HIGH;
    case WSGW_TB_ST_WS:
        if (c->ws_failed || c->ws_got_close || c->ws_sent_close
            || c->ws_mode == WSGW_TB_WM_FLOOD) {
            return 1;
        }
        if (c->ws_mode == WSGW_TB_WM_CHAT) {
            /* a sender waits while its own copies are not read; members
               that fall too far behind are dropped at broadcast time */
            return c->outlen < WSGW_TB_CHAT_PAUSE;
        }
        return c->outlen < WSGW_TB_OUT_HIGH;
    default:
        return 0;
    }
}

static int wsgw_tb_can_read(const wsgw_tb_conn *c)
{
    if (c->dead || c->rd_eof || c->tls_hs || c->state == WSGW_TB_ST_DELAY) {
        return 0;
    }
    if (c->state == WSGW_TB_ST_LINGER) {
        return 1;
    }
    return c->inlen < WSGW_TB_IN_CAP;
}

static int wsgw_tb_process_input(wsgw_tb_conn *c)
{
    int progress = 0, r;

    c->want_process = 0;
    while (!c->dead && c->inlen > 0) {
        if (!wsgw_tb_can_process(c)) {
            c->want_process = 1;
            break;
        }
        switch (c->state) {
        case WSGW_TB_ST_HEAD:
            r = wsgw_tb_http_head_input(c);
            break;
        case WSGW_TB_ST_BODY:
            r = wsgw_tb_http_body_input(c);
            break;
        case WSGW_TB_ST_WS:
            r = wsgw_tb_ws_input(c);
            break;
        default:
            wsgw_tb_in_consume(c, c->inlen);
            r = 1;
            break;
        }
        if (!r) {
            break;
        }
        progress = 1;
    }
    return progress;
}

/* 1: got data, 0: EOF, AGAIN or ERROR */
static ssize_t wsgw_tb_do_read(wsgw_tb_conn *c)
{
    ssize_t r;

    if (c->state == WSGW_TB_ST_LINGER) {
        unsigned char scratch[16384];

        r = wsgw_tb_io_read(c, scratch, sizeof(scratch));
        return r;
    }
    if (c->inoff > 0) {
        memmove(c->in, c->in + c->inoff, c->inlen);
        c->inoff = 0;
    }
    if (c->inlen >= WSGW_TB_IN_CAP) {
        return WSGW_TB_IO_AGAIN;
    }
    r = wsgw_tb_io_read(c, c->in + c->inlen, WSGW_TB_IN_CAP - c->inlen);
    if (r > 0) {
        c->inlen += (size_t)r;
    }
    return r;
}

static void wsgw_tb_start_linger(wsgw_tb_conn *c)
{
    if (c->ssl != NULL) {
        ERR_clear_error();
        (void)SSL_shutdown(c->ssl);
    }
    shutdown(c->fd, SHUT_WR);
    c->state = WSGW_TB_ST_LINGER;
    c->inlen = 0;
    c->inoff = 0;
    c->deadline = wsgw_tb_now_ms() + WSGW_TB_CLOSE_WAIT_MS;
    if (c->rd_eof) {
        wsgw_tb_conn_finish(c);
    }
}

static void wsgw_tb_service(wsgw_tb_conn *c, short revents)
{
    int iter;

    if (c->dead) {
        return;
    }
    if (revents & (POLLERR | POLLNVAL)) {
        wsgw_tb_conn_abort(c);
        return;
    }
    if (c->tls_hs && !wsgw_tb_tls_handshake(c)) {
        return;
    }
    if ((revents & POLLHUP) && !wsgw_tb_can_read(c)) {
        wsgw_tb_conn_abort(c);
        return;
    }
    for (iter = 0; iter < WSGW_TB_MAX_ITER && !c->dead; iter++) {
        int progress = 0;

        if (c->outlen > 0) {
            long long w = wsgw_tb_flush(c);

            if (w < 0) {
                wsgw_tb_conn_abort(c);
                return;
            }
            if (w > 0) {
                progress = 1;
            }
        }
        if (c->outlen == 0 && c->close_after_flush
            && c->state != WSGW_TB_ST_LINGER) {
            wsgw_tb_start_linger(c);
            progress = 1;
            if (c->dead) {
                break;
            }
        }
        if (c->flood_active && wsgw_tb_flood_fill(c)) {
            progress = 1;
        }
        if (c->inlen > 0 && wsgw_tb_process_input(c)) {
            progress = 1;
        }
        if (!c->dead && wsgw_tb_can_read(c)) {
            ssize_t r = wsgw_tb_do_read(c);

            if (r > 0) {
                progress = 1;
            } else if (r == 0) {
                c->rd_eof = 1;
                progress = 1;
            } else if (r == WSGW_TB_IO_ERROR) {
                wsgw_tb_conn_abort(c);
                return;
            }
        }
        if (!progress) {
            break;
        }
    }
    if (c->dead) {
        return;
    }
    c->again = iter >= WSGW_TB_MAX_ITER;
    if (c->rd_eof && c->outlen == 0 && !c->again
        && c->state != WSGW_TB_ST_DELAY) {
        wsgw_tb_conn_finish(c);
        return;
    }
    if (c->state == WSGW_TB_ST_WS && c->ws_sent_close && !c->ws_got_close
        && !c->close_after_flush && c->outlen == 0 && c->deadline == 0) {
        c->deadline = wsgw_tb_now_ms() + WSGW_TB_CLOSE_WAIT_MS;
    }
}

static void wsgw_tb_on_timer(wsgw_tb_conn *c)
{
    c->deadline = 0;
    if (c->dead) {
        return;
    }
    switch (c->state) {
    case WSGW_TB_ST_DELAY:
        c->state = WSGW_TB_ST_HEAD;
        wsgw_tb_execute(c);
        wsgw_tb_service(c, 0);
        break;
    case WSGW_TB_ST_LINGER:
        wsgw_tb_conn_finish(c);
        break;
    case WSGW_TB_ST_WS:
        if (c->ws_sent_close) {
            wsgw_tb_conn_finish(c);
        }
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------------ */
/* connection lifecycle                                                */

static void wsgw_tb_conn_free(wsgw_tb_conn *c)
{
    if (c->ws_opened && !c->ws_failed && !c->ws_got_close
        && c->fr_active && c->fr_pos < c->fr_len) {
        /* the connection ended inside a frame: a truncated frame */
        wsgw_tb_log("%llu %s closed inside a frame (op=%d, %llu of %llu "
                    "payload bytes)", c->id, c->logpath, c->fr_op,
                    (unsigned long long)c->fr_pos,
                    (unsigned long long)c->fr_len);
    } else if (c->ws_opened && !c->ws_failed && !c->ws_got_close
               && c->inlen > 0) {
        wsgw_tb_log("%llu %s closed inside a frame header (%zu bytes)",
                    c->id, c->logpath, c->inlen);
    } else if (c->ws_opened) {
        wsgw_tb_log("%llu %s closed", c->id, c->logpath);
    }
    if (c->chat_member) {
        wsgw_tb_chat_remove(c);
    }
    if (c->graceful) {
        /* unread input would turn close() into a RST that can destroy
           data the peer has not read yet */
        unsigned char scratch[16384];
        int i;

        for (i = 0; i < 64; i++) {
            ssize_t r = recv(c->fd, scratch, sizeof(scratch), 0);

            if (r <= 0) {
                break;
            }
        }
    }
    if (c->ssl != NULL) {
        SSL_free(c->ssl);
    }
    close(c->fd);
    wsgw_tb_req_clear(c);
    free(c->in);
    free(c->out);
    free(c->logpath);
    free(c->chat_buf);
    free(c);
}

static void wsgw_tb_reap(void)
{
    wsgw_tb_server *s = &wsgw_tb_srv;
    size_t i, j = 0;

    for (i = 0; i < s->nconns; i++) {
        wsgw_tb_conn *c = s->conns[i];

        if (c->dead) {
            wsgw_tb_conn_free(c);
        } else {
            s->conns[j++] = c;
        }
    }
    s->nconns = j;
}

static void wsgw_tb_accept(void)
{
    wsgw_tb_server *s = &wsgw_tb_srv;
    int i;

    for (i = 0; i < 256 && !wsgw_tb_stop; i++) {
        int fd = accept(s->listen_fd, NULL, NULL);
        int one = 1;
        wsgw_tb_conn *c;

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM) {
                s->accept_pause_until = wsgw_tb_now_ms() + 100;
            }
            return;
        }
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0
            || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
            close(fd);
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (s->nconns == s->capconns) {
            size_t ncap = s->capconns ? s->capconns * 2 : 64;
            wsgw_tb_conn **np = realloc(s->conns, ncap * sizeof(*np));

            if (np == NULL) {
                close(fd);
                return;
            }
            s->conns = np;
            s->capconns = ncap;
        }
        c = calloc(1, sizeof(*c));
        if (c == NULL || (c->in = malloc(WSGW_TB_IN_CAP)) == NULL) {
            free(c);
            close(fd);
            return;
        }
        c->fd = fd;
        c->id = ++s->next_id;
        c->pidx = -1;
        c->state = WSGW_TB_ST_HEAD;
        c->req.content_length = -1;
        c->tls_rd_want = POLLIN;
        c->tls_wr_want = POLLOUT;
        if (s->ssl_ctx != NULL) {
            c->ssl = SSL_new(s->ssl_ctx);
            if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
                if (c->ssl != NULL) {
                    SSL_free(c->ssl);
                }
                free(c->in);
                free(c);
                close(fd);
                continue;
            }
            SSL_set_accept_state(c->ssl);
            c->tls_hs = 1;
            c->tls_hs_want = POLLIN;
        }
        s->conns[s->nconns++] = c;
        wsgw_tb_service(c, 0);
    }
}

/* ------------------------------------------------------------------ */
/* main loop and setup                                                 */

static void wsgw_tb_on_signal(int sig)
{
    int saved = errno;
    char b = (char)sig;

    wsgw_tb_stop = 1;
    if (write(wsgw_tb_srv.sig_pipe[1], &b, 1) < 0) {
        /* nothing to do: the flag is set */
    }
    errno = saved;
}

static int wsgw_tb_loop(void)
{
    wsgw_tb_server *s = &wsgw_tb_srv;

    while (!wsgw_tb_stop) {
        long long now = wsgw_tb_now_ms();
        long long next = -1;
        size_t i, n = 0;
        int timeout, listen_idx = -1, r;

        for (i = 0; i < s->nconns; i++) {
            wsgw_tb_conn *c = s->conns[i];

            if (!c->dead && c->deadline != 0 && c->deadline <= now) {
                wsgw_tb_on_timer(c);
            }
        }
        wsgw_tb_reap();

        if (s->cappfds < s->nconns + 2) {
            size_t ncap = s->nconns + 64;
            struct pollfd *np = realloc(s->pfds, ncap * sizeof(*np));

            if (np == NULL) {
                fprintf(stderr, "wsgw-test-backend: out of memory\n");
                return 1;
            }
            s->pfds = np;
            s->cappfds = ncap;
        }
        s->pfds[n].fd = s->sig_pipe[0];
        s->pfds[n].events = POLLIN;
        s->pfds[n].revents = 0;
        n++;
        if (s->accept_pause_until <= now) {
            s->accept_pause_until = 0;
            listen_idx = (int)n;
            s->pfds[n].fd = s->listen_fd;
            s->pfds[n].events = POLLIN;
            s->pfds[n].revents = 0;
            n++;
        } else {
            next = s->accept_pause_until;
        }
        timeout = -1;
        for (i = 0; i < s->nconns; i++) {
            wsgw_tb_conn *c = s->conns[i];
            short ev = 0;

            if (c->tls_hs) {
                ev = c->tls_hs_want;
            } else {
                if (wsgw_tb_can_read(c)) {
                    ev |= (c->ssl != NULL && c->state != WSGW_TB_ST_LINGER)
                        ? c->tls_rd_want : POLLIN;
                }
                if (c->outlen > 0) {
                    ev |= c->ssl != NULL ? c->tls_wr_want : POLLOUT;
                }
                if (c->again
                    || (c->want_process && c->inlen > 0
                        && wsgw_tb_can_process(c))
                    || (c->ssl != NULL && wsgw_tb_can_read(c)
                        && c->state != WSGW_TB_ST_LINGER
                        && SSL_pending(c->ssl) > 0)) {
                    timeout = 0;
                    c->again = 1;
                }
            }
            c->pidx = (int)n;
            s->pfds[n].fd = c->fd;
            s->pfds[n].events = ev;
            s->pfds[n].revents = 0;
            n++;
            if (c->deadline != 0 && (next < 0 || c->deadline < next)) {
                next = c->deadline;
            }
        }
        if (timeout != 0 && next >= 0) {
            long long d = next - now;

            timeout = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        }
        if (s->parent != 0) {
            if (getppid() != s->parent) {
                break;          /* the process that started us is gone */
            }
            if (timeout < 0 || timeout > 500) {
                timeout = 500;
            }
        }
        r = poll(s->pfds, (nfds_t)n, timeout);
        if (r < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("wsgw-test-backend: poll");
            return 1;
        }
        if (wsgw_tb_stop) {
            break;
        }
        if (s->pfds[0].revents & POLLIN) {
            char drain[64];

            while (read(s->sig_pipe[0], drain, sizeof(drain)) > 0) {
            }
        }
        n = s->nconns;      /* accepted connections are served in accept */
        for (i = 0; i < n && !wsgw_tb_stop; i++) {
            wsgw_tb_conn *c = s->conns[i];
            short rev = c->pidx >= 0 ? s->pfds[c->pidx].revents : 0;

            if (c->dead) {
                continue;
            }
            if (rev != 0 || c->again) {
                c->again = 0;
                wsgw_tb_service(c, rev);
            }
        }
        if (listen_idx >= 0 && (s->pfds[listen_idx].revents & POLLIN)
            && !wsgw_tb_stop) {
            wsgw_tb_accept();
        }
        wsgw_tb_reap();
    }
    return 0;
}

static void wsgw_tb_usage(FILE *f)
{
    fprintf(f,
            "usage: wsgw-test-backend --port N [--host ADDR] [--name NAME]\n"
            "         [--port-file F] [--pid-file F] [--log F]\n"
            "         [--tls-cert CERT.pem --tls-key KEY.pem]"
            " [--exit-with-parent]\n");
}

static int wsgw_tb_listen(const char *host, unsigned long port, int *actual)
{
    struct addrinfo hints, *res = NULL, *ai;
    char portstr[16];
    int fd = -1, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%lu", port);
    rc = getaddrinfo(host, portstr, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "wsgw-test-backend: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
            && listen(fd, 4096) == 0) {
            break;
        }
        close(fd);
        fd = -1;
    }
    if (fd < 0) {
        fprintf(stderr, "wsgw-test-backend: cannot listen on %s port %lu: "
                "%s\n", host, port, strerror(errno));
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0
        || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0
        || getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        perror("wsgw-test-backend: listener");
        close(fd);
        return -1;
    }
    if (ss.ss_family == AF_INET6) {
        *actual = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    } else {
        *actual = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    return fd;
}

static SSL_CTX *wsgw_tb_tls_ctx(const char *cert, const char *key)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1
        || SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(ctx) != 1) {
        ERR_print_errors_fp(stderr);
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                     | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                     | SSL_MODE_RELEASE_BUFFERS);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 0);
    return ctx;
}

int main(int argc, char **argv)
{
    wsgw_tb_server *s = &wsgw_tb_srv;
    const char *host = "127.0.0.1", *port_file = NULL, *pid_file = NULL;
    const char *log_file = NULL, *cert = NULL, *key = NULL;
    unsigned long port = 0;
    int have_port = 0, actual = 0, i, rc;
    struct sigaction sa;
    struct rlimit rl;
    char text[64];

    s->name = "backend";
    s->log_fd = -1;
    s->listen_fd = -1;
    for (i = 1; i < argc; i++) {
        const char *opt = argv[i], *val = NULL, *eq;
        char optbuf[64];

        if (strcmp(opt, "--help") == 0 || strcmp(opt, "-h") == 0) {
            wsgw_tb_usage(stdout);
            return 0;
        }
        if (strcmp(opt, "--exit-with-parent") == 0) {
            s->parent = getppid();
            continue;
        }
        eq = strchr(opt, '=');
        if (strncmp(opt, "--", 2) == 0 && eq != NULL
            && (size_t)(eq - opt) < sizeof(optbuf)) {
            memcpy(optbuf, opt, (size_t)(eq - opt));
            optbuf[eq - opt] = '\0';
            opt = optbuf;
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        }
        if (val == NULL) {
            fprintf(stderr, "wsgw-test-backend: %s needs a value\n", opt);
            wsgw_tb_usage(stderr);
            return 2;
        }
        if (strcmp(opt, "--port") == 0) {
            char *end;

            errno = 0;
            port = strtoul(val, &end, 10);
            if (errno != 0 || *end != '\0' || *val == '\0' || port > 65535) {
                fprintf(stderr, "wsgw-test-backend: bad port %s\n", val);
                return 2;
            }
            have_port = 1;
        } else if (strcmp(opt, "--host") == 0) {
            host = val;
        } else if (strcmp(opt, "--name") == 0) {
            s->name = val;
        } else if (strcmp(opt, "--port-file") == 0) {
            port_file = val;
        } else if (strcmp(opt, "--pid-file") == 0) {
            pid_file = val;
        } else if (strcmp(opt, "--log") == 0) {
            log_file = val;
        } else if (strcmp(opt, "--tls-cert") == 0) {
            cert = val;
        } else if (strcmp(opt, "--tls-key") == 0) {
            key = val;
        } else {
            fprintf(stderr, "wsgw-test-backend: unknown option %s\n", opt);
            wsgw_tb_usage(stderr);
            return 2;
        }
    }
    if (!have_port) {
        wsgw_tb_usage(stderr);
        return 2;
    }
    if ((cert == NULL) != (key == NULL)) {
        fprintf(stderr, "wsgw-test-backend: --tls-cert and --tls-key go "
                "together\n");
        return 2;
    }
    if (strlen(s->name) > 200) {
        fprintf(stderr, "wsgw-test-backend: --name is too long\n");
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    if (pipe(s->sig_pipe) != 0) {
        perror("wsgw-test-backend: pipe");
        return 1;
    }
    for (i = 0; i < 2; i++) {
        fcntl(s->sig_pipe[i], F_SETFL, fcntl(s->sig_pipe[i], F_GETFL)
              | O_NONBLOCK);
        fcntl(s->sig_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    sa.sa_handler = wsgw_tb_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    for (i = 0; i < WSGW_TB_FLOOD_FRAME; i++) {
        wsgw_tb_flood_payload[i] = (unsigned char)(i & 0xff);
    }

    if (cert != NULL) {
        s->ssl_ctx = wsgw_tb_tls_ctx(cert, key);
        if (s->ssl_ctx == NULL) {
            fprintf(stderr, "wsgw-test-backend: cannot load %s / %s\n", cert,
                    key);
            return 1;
        }
    }
    if (log_file != NULL) {
        s->log_fd = open(log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                         0644);
        if (s->log_fd < 0) {
            fprintf(stderr, "wsgw-test-backend: %s: %s\n", log_file,
                    strerror(errno));
            return 1;
        }
    }
    s->listen_fd = wsgw_tb_listen(host, port, &actual);
    if (s->listen_fd < 0) {
        return 1;
    }
    if (pid_file != NULL) {
        snprintf(text, sizeof(text), "%ld\n", (long)getpid());
        if (wsgw_tb_write_file_atomic(pid_file, text) != 0) {
            fprintf(stderr, "wsgw-test-backend: cannot write %s\n", pid_file);
            return 1;
        }
    }
    if (port_file != NULL) {
        snprintf(text, sizeof(text), "%d\n", actual);
        if (wsgw_tb_write_file_atomic(port_file, text) != 0) {
            fprintf(stderr, "wsgw-test-backend: cannot write %s\n", port_file);
            return 1;
        }
    }
    printf("ready %d\n", actual);
    fflush(stdout);

    rc = wsgw_tb_loop();

    for (i = 0; (size_t)i < s->nconns; i++) {
        s->conns[i]->graceful = 0;
        wsgw_tb_conn_free(s->conns[i]);
    }
    free(s->conns);
    free(s->chat);
    free(s->pfds);
    close(s->listen_fd);
    close(s->sig_pipe[0]);
    close(s->sig_pipe[1]);
    if (s->log_fd >= 0) {
        close(s->log_fd);
    }
    if (s->ssl_ctx != NULL) {
        SSL_CTX_free(s->ssl_ctx);
    }
    return rc;
}
