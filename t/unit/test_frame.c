/*
 * Unit tests: RFC 6455 frame parser and writer (wsgw_frame.c). Frames are
 * built by an encoder of this file's own, so that the parser is not only
 * checked against the writer it ships with.
 */
#include <stdlib.h>

#include <apr_general.h>

#include "wsgw_frame.h"
#include "wsgw_test.h"

#define FIN     0x80
#define RSV1    WSGW_FRAME_RSV1
#define RSV2    0x20
#define RSV3    0x10
#define OP_CONT WSGW_FRAME_OP_CONT
#define OP_TEXT WSGW_FRAME_OP_TEXT
#define OP_BIN  WSGW_FRAME_OP_BINARY
#define OP_CLOSE WSGW_FRAME_OP_CLOSE
#define OP_PING WSGW_FRAME_OP_PING
#define OP_PONG WSGW_FRAME_OP_PONG

#define CLIENT  1
#define SERVER  0

static const unsigned char test_frame_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* One event as seen by test_frame_drive(). */
typedef struct {
    wsgw_frame_event_e  type;
    apr_size_t          at;     /* bytes consumed in all when it fired */
    wsgw_frame_t        frame;
    unsigned char       control[125];
    apr_size_t          control_len;
    apr_uint16_t        close_code;
    const char         *reason;
} test_frame_rec_t;

/* xorshift64*: a fixed seed gives the same frames on every platform. */
static apr_uint64_t test_frame_rand(apr_uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * APR_UINT64_C(2685821657736338717);
}

static apr_size_t test_frame_below(apr_uint64_t *s, apr_size_t n)
{
    return (apr_size_t)(test_frame_rand(s) % n);
}

/*
 * Append a frame to @a buf at @a *off: @a b0 is FIN|RSV|opcode, the length
 * uses the shortest form, the payload is masked with @a key when given. A
 * NULL @a payload writes the header only (for large declared lengths).
 */
static void test_frame_put(unsigned char *buf, apr_size_t *off,
                           unsigned int b0, const unsigned char *key,
                           const void *payload, apr_uint64_t len)
{
    unsigned char *o = buf + *off;
    const unsigned char *src = payload;
    apr_size_t h = 2;
    apr_uint64_t i;
    int k;

    o[0] = (unsigned char)b0;
    if (len < 126) {
        o[1] = (unsigned char)len;
    }
    else if (len < 65536) {
        o[1] = 126;
        o[2] = (unsigned char)(len >> 8);
        o[3] = (unsigned char)len;
        h = 4;
    }
    else {
        o[1] = 127;
        for (k = 0; k < 8; ++k) {
            o[2 + k] = (unsigned char)(len >> (56 - 8 * k));
        }
        h = 10;
    }
    if (key) {
        o[1] |= 0x80;
        memcpy(o + h, key, 4);
        h += 4;
    }
    *off += h;
    if (src == NULL) {
        return;
    }
    for (i = 0; i < len; ++i) {
        o[h + i] = key ? (unsigned char)(src[i] ^ key[i & 3]) : src[i];
    }
    *off += (apr_size_t)len;
}

/*
 * Feed @a len bytes in windows of @a chunk bytes (0: everything; with
 * @a rng, random sizes up to @a chunk), calling again with the rest of a
 * window after each event, as the tunnel does. Records up to @a max events
 * and returns how many there were; stops after an ERROR. Counts in *bad
 * every breach of the feed() contract it can see from outside.
 */
static int test_frame_drive(wsgw_frame_parser_t *p, const unsigned char *d,
                            apr_size_t len, apr_size_t chunk,
                            apr_uint64_t *rng, test_frame_rec_t *rec,
                            int max, apr_size_t *consumed, int *bad)
{
    wsgw_frame_event_t ev;
    apr_size_t pos = 0, wend, avail, c, w;
    int n = 0;
    int empty_end_ok = 0;

    *bad = 0;
    w = chunk == 0 ? len : rng ? 1 + test_frame_below(rng, chunk) : chunk;
    wend = w < len ? w : len;
    for (;;) {
        avail = wend - pos;
        c = wsgw_frame_parser_feed(p, d + pos, avail, &ev);
        if (c > avail) {
            ++*bad;
            break;
        }
        pos += c;
        if (ev.type == WSGW_FRAME_NEED_MORE) {
            if (c != avail
                || (c > 0 && wsgw_frame_parser_at_boundary(p))) {
                ++*bad;
            }
            if (pos == len) {
                break;
            }
            w = chunk == 0 ? len : rng ? 1 + test_frame_below(rng, chunk)
                                       : chunk;
            wend = len - pos > w ? pos + w : len;
            continue;
        }
        switch (ev.type) {
        case WSGW_FRAME_HEADER:
            if (c == 0 || wsgw_frame_parser_at_boundary(p)) {
                ++*bad;
            }
            empty_end_ok = ev.frame.payload_len == 0;
            break;
        case WSGW_FRAME_END:
            if ((c == 0 && !empty_end_ok)
                || !wsgw_frame_parser_at_boundary(p)) {
                ++*bad;
            }
            empty_end_ok = 0;
            break;
        default:
            if (c != 0) {
                ++*bad;
            }
            break;
        }
        if (n < max) {
            rec[n].type = ev.type;
            rec[n].at = pos;
            rec[n].frame = ev.frame;
            memcpy(rec[n].control, ev.control, ev.control_len);
            rec[n].control_len = ev.control_len;
            rec[n].close_code = ev.close_code;
            rec[n].reason = ev.reason;
        }
        ++n;
        if (ev.type == WSGW_FRAME_ERROR) {
            break;
        }
    }
    *consumed = pos;
    return n;
}

/* Feed @a d whole to a fresh parser; the last event must be this error,
 * and must stay (sticky, consuming nothing) on later calls. */
static void test_frame_error(int from_client, unsigned int rsv_allowed,
                             apr_uint64_t max, const unsigned char *d,
                             apr_size_t len, apr_uint16_t code,
                             const char *reason, const char *name)
{
    static const unsigned char more[] = { 0x81, 0x00, 0x82, 0x00 };
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    test_frame_rec_t rec[16];
    apr_size_t used;
    int n, bad, ok;
    char what[160];

    wsgw_frame_parser_init(&p, from_client, rsv_allowed, max);
    n = test_frame_drive(&p, d, len, 0, NULL, rec, 16, &used, &bad);
    ok = n > 0 && n <= 16 && bad == 0
         && rec[n - 1].type == WSGW_FRAME_ERROR
         && rec[n - 1].close_code == code;
    if (ok) {
        ok = wsgw_frame_parser_feed(&p, more, sizeof(more), &ev) == 0
             && ev.type == WSGW_FRAME_ERROR && ev.close_code == code
             && ev.reason == rec[n - 1].reason;
    }
    snprintf(what, sizeof(what), "%s: error %u", name, (unsigned)code);
    WSGW_CHECK(ok, what);
    snprintf(what, sizeof(what), "%s: reason", name);
    WSGW_CHECK_STR(n > 0 && n <= 16 ? rec[n - 1].reason : NULL, reason, what);
}

/* Feed @a d to a fresh parser in windows of @a chunk; true when it ends
 * with no error and no contract breach, with @a events events. */
static int test_frame_clean(int from_client, unsigned int rsv_allowed,
                            apr_uint64_t max, const unsigned char *d,
                            apr_size_t len, apr_size_t chunk, int events)
{
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[32];
    apr_size_t used;
    int n, bad;

    wsgw_frame_parser_init(&p, from_client, rsv_allowed, max);
    n = test_frame_drive(&p, d, len, chunk, NULL, rec, 32, &used, &bad);
    return n == events && bad == 0 && used == len
           && (n == 0 || rec[n - 1].type != WSGW_FRAME_ERROR);
}

static void test_frame_lengths(void)
{
    static unsigned char payload[70000];
    static unsigned char buf[70000 + 14];
    static const apr_uint64_t lens[] = {
        0, 1, 125, 126, 127, 65535, 65536, 70000
    };
    static const apr_size_t chunks[] = { 0, 1, 7 };
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[4];
    apr_size_t i, j, off, used, hlen;
    int dir, n, bad, ok;
    char name[128];

    for (i = 0; i < sizeof(payload); ++i) {
        payload[i] = (unsigned char)(i * 7 + 3);
    }
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); ++i) {
        for (dir = 0; dir < 2; ++dir) {
            off = 0;
            test_frame_put(buf, &off, FIN | OP_BIN,
                           dir == CLIENT ? test_frame_key : NULL,
                           payload, lens[i]);
            hlen = (lens[i] < 126 ? 2 : lens[i] < 65536 ? 4 : 10)
                   + (dir == CLIENT ? 4 : 0);
            for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); ++j) {
                wsgw_frame_parser_init(&p, dir, 0, 0);
                n = test_frame_drive(&p, buf, off, chunks[j], NULL, rec, 4,
                                     &used, &bad);
                ok = n == 2 && bad == 0 && used == off
                     && rec[0].type == WSGW_FRAME_HEADER
                     && rec[0].at == hlen
                     && rec[0].frame.header_len == hlen
                     && rec[0].frame.payload_len == lens[i]
                     && rec[0].frame.opcode == OP_BIN
                     && rec[0].frame.fin == 1
                     && rec[0].frame.masked == (unsigned)dir
                     && (dir == SERVER
                         || !memcmp(rec[0].frame.mask_key, test_frame_key, 4))
                     && rec[1].type == WSGW_FRAME_END
                     && rec[1].at == off
                     && rec[1].frame.payload_len == lens[i]
                     && rec[1].control_len == 0
                     && wsgw_frame_parser_at_boundary(&p);
                snprintf(name, sizeof(name),
                         "%s frame of %lu bytes (%lu-byte header), chunk %lu",
                         dir == CLIENT ? "masked client" : "server",
                         (unsigned long)lens[i], (unsigned long)hlen,
                         (unsigned long)chunks[j]);
                WSGW_CHECK(ok, name);
            }
        }
    }
}

static void test_frame_long_lengths(void)
{
    static const unsigned char hdr64[] = {
        0x82, 0x7F, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00
    };
    static const unsigned char hdr63[] = {
        0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
    };
    static const unsigned char hdr16[] = {
        0x82, 0xFE, 0x01, 0x00, 1, 2, 3, 4
    };
    /* Not minimal, but nothing in §5.2 makes a receiver refuse it. */
    static const unsigned char hdr_long7[] = {
        0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0, 5, 'a', 'b', 'c', 'd', 'e'
    };
    unsigned char zeros[1000];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t c;

    memset(zeros, 0, sizeof(zeros));
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, hdr64, sizeof(hdr64), &ev);
    WSGW_CHECK(c == 10 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.payload_len == APR_UINT64_C(1) << 40
               && ev.frame.header_len == 10, "64-bit length 2^40");
    c = wsgw_frame_parser_feed(&p, zeros, sizeof(zeros), &ev);
    WSGW_CHECK(c == sizeof(zeros) && ev.type == WSGW_FRAME_NEED_MORE
               && !wsgw_frame_parser_at_boundary(&p),
               "payload of a huge frame is only counted");

    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, hdr63, sizeof(hdr63), &ev);
    WSGW_CHECK(c == 10 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.payload_len == APR_UINT64_C(0x7FFFFFFFFFFFFFFF),
               "largest 63-bit length accepted");

    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    c = wsgw_frame_parser_feed(&p, hdr16, sizeof(hdr16), &ev);
    WSGW_CHECK(c == 8 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.payload_len == 256 && ev.frame.masked
               && ev.frame.mask_key[0] == 1 && ev.frame.mask_key[3] == 4,
               "16-bit length with mask key");

    WSGW_CHECK(test_frame_clean(SERVER, 0, 0, hdr_long7, sizeof(hdr_long7),
                                1, 2), "non-minimal length encoding accepted");
}

/* A 14-byte header fed byte by byte: NEED_MORE for 13 bytes, then HEADER. */
static void test_frame_split_header(void)
{
    unsigned char buf[32];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t off = 0, i, c;
    int ok = 1;

    test_frame_put(buf, &off, FIN | OP_TEXT, test_frame_key, NULL,
                   APR_UINT64_C(100000));
    WSGW_CHECK(off == 14, "encoder wrote a 14-byte header");
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    WSGW_CHECK(wsgw_frame_parser_at_boundary(&p), "fresh parser at boundary");
    for (i = 0; i + 1 < off; ++i) {
        c = wsgw_frame_parser_feed(&p, buf + i, 1, &ev);
        ok = ok && c == 1 && ev.type == WSGW_FRAME_NEED_MORE
             && !wsgw_frame_parser_at_boundary(&p);
        c = wsgw_frame_parser_feed(&p, buf + i + 1, 0, &ev);
        ok = ok && c == 0 && ev.type == WSGW_FRAME_NEED_MORE;
    }
    WSGW_CHECK(ok, "13 header bytes one at a time: NEED_MORE, not at boundary");
    c = wsgw_frame_parser_feed(&p, buf + 13, 1, &ev);
    WSGW_CHECK(c == 1 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.payload_len == 100000 && ev.frame.header_len == 14
               && !memcmp(ev.frame.mask_key, test_frame_key, 4),
               "14th byte completes the header");
}

static void test_frame_empty(void)
{
    unsigned char buf[32];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t off = 0, c;

    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, "", 0);
    test_frame_put(buf, &off, FIN | OP_BIN, NULL, "xy", 2);
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    WSGW_CHECK(wsgw_frame_parser_needs_input(&p),
               "fresh parser needs input");
    c = wsgw_frame_parser_feed(&p, buf, off, &ev);
    WSGW_CHECK(c == 2 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.payload_len == 0, "empty frame: HEADER, 2 bytes");
    WSGW_CHECK(!wsgw_frame_parser_at_boundary(&p),
               "empty frame: not at boundary before its END");
    WSGW_CHECK(!wsgw_frame_parser_needs_input(&p),
               "empty frame: its END is due without input");
    c = wsgw_frame_parser_feed(&p, buf + 2, off - 2, &ev);
    WSGW_CHECK(c == 0 && ev.type == WSGW_FRAME_END
               && ev.frame.opcode == OP_TEXT, "empty frame: END, 0 bytes");
    WSGW_CHECK(wsgw_frame_parser_at_boundary(&p)
               && wsgw_frame_parser_needs_input(&p),
               "empty frame: at boundary after END, needs input");
    c = wsgw_frame_parser_feed(&p, buf + 2, off - 2, &ev);
    WSGW_CHECK(c == 2 && ev.type == WSGW_FRAME_HEADER
               && ev.frame.opcode == OP_BIN, "next frame follows");
    WSGW_CHECK(wsgw_frame_parser_needs_input(&p),
               "2-byte payload to come: needs input");
    c = wsgw_frame_parser_feed(&p, buf + 4, off - 4, &ev);
    WSGW_CHECK(c == 2 && ev.type == WSGW_FRAME_END, "next frame ends");

    /* END of an empty frame also comes from a call with no bytes. */
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    off = 0;
    test_frame_put(buf, &off, FIN | OP_PING, test_frame_key, "", 0);
    c = wsgw_frame_parser_feed(&p, buf, off, &ev);
    WSGW_CHECK(c == 6 && ev.type == WSGW_FRAME_HEADER, "empty masked ping");
    c = wsgw_frame_parser_feed(&p, buf + off, 0, &ev);
    WSGW_CHECK(c == 0 && ev.type == WSGW_FRAME_END && ev.control_len == 0,
               "empty ping ends on a 0-byte feed");
}

static void test_frame_control_payload(void)
{
    /* RFC 6455 §5.7 examples. */
    static const unsigned char ping[] = {
        0x89, 0x05, 'H', 'e', 'l', 'l', 'o'
    };
    static const unsigned char pong[] = {
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
    };
    unsigned char payload[125], buf[WSGW_FRAME_CONTROL_MAX];
    static const apr_size_t chunks[] = { 0, 1, 2, 3, 5, 126 };
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[4];
    apr_size_t off = 0, used, i;
    int n, bad, ok;
    char name[96];

    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, ping, sizeof(ping), 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].frame.opcode == OP_PING && rec[1].control_len == 5
               && !memcmp(rec[1].control, "Hello", 5),
               "RFC unmasked ping: payload copied");

    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, pong, sizeof(pong), 1, NULL, rec, 4, &used,
                         &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].frame.opcode == OP_PONG && rec[1].control_len == 5
               && !memcmp(rec[1].control, "Hello", 5),
               "RFC masked pong byte by byte: payload unmasked");

    for (i = 0; i < sizeof(payload); ++i) {
        payload[i] = (unsigned char)(0xA5 ^ (i * 13));
    }
    test_frame_put(buf, &off, FIN | OP_PING, test_frame_key, payload, 125);
    for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); ++i) {
        wsgw_frame_parser_init(&p, CLIENT, 0, 0);
        n = test_frame_drive(&p, buf, off, chunks[i], NULL, rec, 4, &used,
                             &bad);
        ok = n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
             && rec[1].control_len == 125
             && !memcmp(rec[1].control, payload, 125);
        snprintf(name, sizeof(name),
                 "125-byte masked ping unmasked across chunks of %lu",
                 (unsigned long)chunks[i]);
        WSGW_CHECK(ok, name);
    }
}

static void test_frame_close_codes(void)
{
    static const struct {
        unsigned int code;
        int valid;
    } cases[] = {
        { 0, 0 }, { 999, 0 }, { 1000, 1 }, { 1001, 1 }, { 1002, 1 },
        { 1003, 1 }, { 1004, 0 }, { 1005, 0 }, { 1006, 0 }, { 1007, 1 },
        { 1011, 1 }, { 1014, 1 }, { 1015, 0 }, { 1016, 0 }, { 2999, 0 },
        { 3000, 1 }, { 4000, 1 }, { 4999, 1 }, { 5000, 0 }, { 65535, 0 }
    };
    unsigned char buf[32], body[8];
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[4];
    apr_size_t off, used, i;
    unsigned int code;
    int n, bad, want, got, wrong = 0;
    char name[96];

    off = 0;
    test_frame_put(buf, &off, FIN | OP_CLOSE, NULL, "\x03\xe8" "bye", 5);
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, buf, off, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].close_code == 1000 && rec[1].control_len == 5
               && !memcmp(rec[1].control, "\x03\xe8" "bye", 5),
               "close 1000 with reason");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_CLOSE, test_frame_key,
                   "\x0f\xa0", 2);
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, buf, off, 1, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].close_code == 4000, "masked close 4000");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_CLOSE, NULL, "", 0);
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, buf, off, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].close_code == WSGW_CLOSE_NO_STATUS
               && rec[1].control_len == 0, "close without code gives 1005");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_CLOSE, NULL, "\x03", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "close frame with a 1-byte payload", "close payload of 1");
    /* Refused from its header alone, before its payload is forwarded. */
    test_frame_error(SERVER, 0, 0, buf, 2, WSGW_CLOSE_PROTOCOL,
                     "close frame with a 1-byte payload",
                     "close payload of 1, header only");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        body[0] = (unsigned char)(cases[i].code >> 8);
        body[1] = (unsigned char)cases[i].code;
        off = 0;
        test_frame_put(buf, &off, FIN | OP_CLOSE, NULL, body, 2);
        snprintf(name, sizeof(name), "close code %u", cases[i].code);
        if (cases[i].valid) {
            wsgw_frame_parser_init(&p, SERVER, 0, 0);
            n = test_frame_drive(&p, buf, off, 0, NULL, rec, 4, &used, &bad);
            WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
                       && rec[1].close_code == cases[i].code, name);
        }
        else {
            test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                             "invalid close code", name);
        }
    }

    for (code = 0; code <= 0xFFFF; ++code) {
        want = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
               || (code >= 3000 && code <= 4999);
        body[0] = (unsigned char)(code >> 8);
        body[1] = (unsigned char)code;
        body[2] = 'x';
        off = 0;
        test_frame_put(buf, &off, FIN | OP_CLOSE, test_frame_key, body, 3);
        wsgw_frame_parser_init(&p, CLIENT, 0, 0);
        n = test_frame_drive(&p, buf, off, 0, NULL, rec, 4, &used, &bad);
        got = n == 2 && rec[1].type == WSGW_FRAME_END
              && rec[1].close_code == code;
        if (bad || got != want
            || (!want && (n != 2 || rec[1].type != WSGW_FRAME_ERROR
                          || used != 6))) {
            ++wrong;
        }
    }
    WSGW_CHECK(wrong == 0, "all 65536 close codes judged as §7.4 says");
}

static void test_frame_violations(void)
{
    static const unsigned int reserved[] = {
        3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF
    };
    static const unsigned char msb[] = {
        0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0
    };
    static const unsigned char all_ones[] = {
        0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF
    };
    unsigned char buf[256], big[200];
    apr_size_t off, i;
    char name[96];
    const char *cont = "rsv1 on a continuation frame";

    memset(big, 'z', sizeof(big));

    off = 0;
    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, "hi", 2);
    test_frame_error(CLIENT, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "unmasked client frame", "unmasked client frame");
    off = 0;
    test_frame_put(buf, &off, FIN | OP_TEXT, test_frame_key, "hi", 2);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "masked server frame", "masked server frame");

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); ++i) {
        off = 0;
        test_frame_put(buf, &off, FIN | reserved[i], test_frame_key, "", 0);
        snprintf(name, sizeof(name), "reserved opcode 0x%X", reserved[i]);
        test_frame_error(CLIENT, RSV1, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                         "reserved opcode", name);
    }

    off = 0;
    test_frame_put(buf, &off, OP_PING, NULL, "p", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "fragmented control frame", "ping with FIN=0");
    off = 0;
    test_frame_put(buf, &off, OP_CLOSE, test_frame_key, "", 0);
    test_frame_error(CLIENT, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "fragmented control frame", "close with FIN=0");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_PING, NULL, big, 126);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "control frame payload over 125 bytes",
                     "ping of 126 bytes");
    test_frame_error(SERVER, 0, 0, buf, 2, WSGW_CLOSE_PROTOCOL,
                     "control frame payload over 125 bytes",
                     "ping of 126 bytes, first 2 bytes only");
    off = 0;
    test_frame_put(buf, &off, FIN | OP_PONG, test_frame_key, NULL,
                   APR_UINT64_C(1) << 32);
    test_frame_error(CLIENT, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "control frame payload over 125 bytes",
                     "pong with a 64-bit length");

    off = 0;
    test_frame_put(buf, &off, FIN | RSV1 | OP_TEXT, NULL, "a", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "reserved bits set", "RSV1 not negotiated");
    off = 0;
    test_frame_put(buf, &off, FIN | RSV2 | OP_TEXT, NULL, "a", 1);
    test_frame_error(SERVER, RSV1, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "reserved bits set", "RSV2 with deflate");
    off = 0;
    test_frame_put(buf, &off, FIN | RSV3 | OP_BIN, test_frame_key, "a", 1);
    test_frame_error(CLIENT, RSV1, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "reserved bits set", "RSV3 with deflate");

    off = 0;
    test_frame_put(buf, &off, RSV1 | OP_TEXT, NULL, "a", 1);
    test_frame_put(buf, &off, FIN | OP_CONT, NULL, "b", 1);
    test_frame_put(buf, &off, FIN | RSV1 | OP_BIN, NULL, "c", 1);
    WSGW_CHECK(test_frame_clean(SERVER, RSV1, 0, buf, off, 1, 6),
               "RSV1 on first frames with deflate accepted");
    off = 0;
    test_frame_put(buf, &off, RSV1 | OP_TEXT, NULL, "a", 1);
    test_frame_put(buf, &off, FIN | RSV1 | OP_CONT, NULL, "b", 1);
    test_frame_error(SERVER, RSV1, 0, buf, off, WSGW_CLOSE_PROTOCOL, cont,
                     "RSV1 on a continuation frame");
    off = 0;
    test_frame_put(buf, &off, FIN | RSV1 | OP_PING, test_frame_key, "", 0);
    test_frame_error(CLIENT, RSV1, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "rsv1 on a control frame", "RSV1 on a ping");

    test_frame_error(SERVER, 0, 0, msb, sizeof(msb), WSGW_CLOSE_PROTOCOL,
                     "payload length with the high bit set",
                     "64-bit length with MSB set");
    test_frame_error(SERVER, 0, 0, all_ones, sizeof(all_ones),
                     WSGW_CLOSE_PROTOCOL,
                     "payload length with the high bit set",
                     "64-bit length of all ones");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_CONT, NULL, "a", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "continuation frame without a message",
                     "continuation first");
    off = 0;
    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, "a", 1);
    test_frame_put(buf, &off, OP_CONT, NULL, "b", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "continuation frame without a message",
                     "continuation after a finished message");

    off = 0;
    test_frame_put(buf, &off, OP_TEXT, test_frame_key, "a", 1);
    test_frame_put(buf, &off, FIN | OP_TEXT, test_frame_key, "b", 1);
    test_frame_error(CLIENT, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "new data frame inside a fragmented message",
                     "text inside a fragmented message");
    off = 0;
    test_frame_put(buf, &off, OP_TEXT, NULL, "a", 1);
    test_frame_put(buf, &off, FIN | OP_PING, NULL, "", 0);
    test_frame_put(buf, &off, OP_BIN, NULL, "b", 1);
    test_frame_error(SERVER, 0, 0, buf, off, WSGW_CLOSE_PROTOCOL,
                     "new data frame inside a fragmented message",
                     "binary after a ping inside a fragmented message");
}

static void test_frame_sticky(void)
{
    unsigned char buf[64], good[16];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t off = 0, goff = 0, c;
    int i, ok = 1;

    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, "ok", 2);
    test_frame_put(buf, &off, FIN | 0x3, NULL, "x", 1);
    test_frame_put(good, &goff, FIN | OP_TEXT, NULL, "fine", 4);

    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, buf, off, &ev);
    c += wsgw_frame_parser_feed(&p, buf + c, off - c, &ev);
    WSGW_CHECK(c == 4 && ev.type == WSGW_FRAME_END, "valid frame before");
    c = wsgw_frame_parser_feed(&p, buf + 4, off - 4, &ev);
    WSGW_CHECK(c == 0 && ev.type == WSGW_FRAME_ERROR
               && ev.close_code == WSGW_CLOSE_PROTOCOL,
               "error consumes none of the bad header");
    WSGW_CHECK(wsgw_frame_parser_at_boundary(&p),
               "bad header wholly in the failing call: still at boundary");
    for (i = 0; i < 3; ++i) {
        c = wsgw_frame_parser_feed(&p, good, goff, &ev);
        ok = ok && c == 0 && ev.type == WSGW_FRAME_ERROR
             && ev.close_code == WSGW_CLOSE_PROTOCOL
             && ev.reason && !strcmp(ev.reason, "reserved opcode");
    }
    c = wsgw_frame_parser_feed(&p, good, 0, &ev);
    ok = ok && c == 0 && ev.type == WSGW_FRAME_ERROR;
    WSGW_CHECK(ok, "error is sticky, even for valid input and empty feeds");

    /* A bad header begun in an earlier call: that byte was consumed. */
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, buf + 4, 1, &ev);
    WSGW_CHECK(c == 1 && ev.type == WSGW_FRAME_NEED_MORE, "first byte taken");
    c = wsgw_frame_parser_feed(&p, buf + 5, 2, &ev);
    WSGW_CHECK(c == 0 && ev.type == WSGW_FRAME_ERROR
               && !wsgw_frame_parser_at_boundary(&p),
               "split bad header: error, not at boundary");

    /* Invalid close code: found at the frame's end; its header had been
     * consumed, so the stream is not at a boundary any more. */
    off = 0;
    test_frame_put(buf, &off, FIN | OP_CLOSE, NULL, "\x03\xed", 2);
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, buf, off, &ev);
    WSGW_CHECK(c == 2 && ev.type == WSGW_FRAME_HEADER, "close 1005 header");
    c = wsgw_frame_parser_feed(&p, buf + 2, off - 2, &ev);
    WSGW_CHECK(c == 0 && ev.type == WSGW_FRAME_ERROR
               && ev.close_code == WSGW_CLOSE_PROTOCOL
               && !wsgw_frame_parser_at_boundary(&p),
               "close 1005 on the wire: error at its end");
}

static void test_frame_max_message(void)
{
    unsigned char buf[512], big[200];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t off, c;

    memset(big, 'm', sizeof(big));

    off = 0;
    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, big, 10);
    test_frame_put(buf, &off, FIN | OP_BIN, NULL, big, 10);
    WSGW_CHECK(test_frame_clean(SERVER, 0, 10, buf, off, 0, 4),
               "messages of exactly max_message pass");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, big, 11);
    test_frame_error(SERVER, 0, 10, buf, off, WSGW_CLOSE_TOO_BIG,
                     "message too big", "single frame over max_message");
    /* The declared length is enough: no payload byte is needed. */
    test_frame_error(SERVER, 0, 10, buf, 2, WSGW_CLOSE_TOO_BIG,
                     "message too big", "header alone over max_message");
    off = 0;
    test_frame_put(buf, &off, FIN | OP_BIN, test_frame_key, NULL,
                   APR_UINT64_C(0x7FFFFFFFFFFFFFFF));
    test_frame_error(CLIENT, 0, 1000, buf, off, WSGW_CLOSE_TOO_BIG,
                     "message too big", "63-bit length over max_message");

    off = 0;
    test_frame_put(buf, &off, OP_TEXT, NULL, big, 4);
    test_frame_put(buf, &off, FIN | OP_PING, NULL, big, 100);
    test_frame_put(buf, &off, OP_CONT, NULL, big, 4);
    test_frame_put(buf, &off, FIN | OP_PONG, NULL, big, 125);
    test_frame_put(buf, &off, OP_CONT, NULL, big, 0);
    test_frame_put(buf, &off, FIN | OP_CONT, NULL, big, 2);
    test_frame_put(buf, &off, FIN | OP_TEXT, NULL, big, 10);
    WSGW_CHECK(test_frame_clean(SERVER, 0, 10, buf, off, 3, 14),
               "fragments add up to max_message; control frames not counted");

    off = 0;
    test_frame_put(buf, &off, OP_BIN, NULL, big, 4);
    test_frame_put(buf, &off, OP_CONT, NULL, big, 4);
    test_frame_put(buf, &off, FIN | OP_CONT, NULL, big, 3);
    test_frame_error(SERVER, 0, 10, buf, off, WSGW_CLOSE_TOO_BIG,
                     "message too big", "fragments over max_message");

    off = 0;
    test_frame_put(buf, &off, FIN | OP_BIN, NULL, NULL,
                   APR_UINT64_C(1) << 62);
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    c = wsgw_frame_parser_feed(&p, buf, off, &ev);
    WSGW_CHECK(c == 10 && ev.type == WSGW_FRAME_HEADER,
               "max_message 0 means no limit");
}

static void test_frame_interleaved(void)
{
    static const struct {
        unsigned int b0;
        const char *payload;
    } seq[] = {
        { OP_TEXT, "Hel" },
        { FIN | OP_PING, "a" },
        { OP_CONT, "lo" },
        { FIN | OP_PONG, "" },
        { OP_CONT, "" },
        { FIN | OP_CLOSE, "\x03\xe9" },
        { FIN | OP_CONT, "!" },
        { FIN | OP_BIN, "next" }
    };
    static const apr_size_t chunks[] = { 0, 1, 4 };
    const apr_size_t nseq = sizeof(seq) / sizeof(seq[0]);
    unsigned char buf[256];
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[32];
    apr_size_t off, used, i, j, ends[16];
    int dir, n, bad, ok;
    char name[96];

    for (dir = 0; dir < 2; ++dir) {
        off = 0;
        for (i = 0; i < nseq; ++i) {
            test_frame_put(buf, &off, seq[i].b0,
                           dir == CLIENT ? test_frame_key : NULL,
                           seq[i].payload, strlen(seq[i].payload));
            ends[i] = off;
        }
        for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); ++j) {
            wsgw_frame_parser_init(&p, dir, 0, 0);
            n = test_frame_drive(&p, buf, off, chunks[j], NULL, rec, 32,
                                 &used, &bad);
            ok = n == (int)(2 * nseq) && bad == 0;
            for (i = 0; ok && i < nseq; ++i) {
                const test_frame_rec_t *h = &rec[2 * i], *e = &rec[2 * i + 1];

                ok = h->type == WSGW_FRAME_HEADER
                     && e->type == WSGW_FRAME_END
                     && h->frame.opcode == (seq[i].b0 & 0x0F)
                     && e->frame.opcode == (seq[i].b0 & 0x0F)
                     && e->frame.fin == (seq[i].b0 >> 7)
                     && e->at == ends[i];
                if (ok && (seq[i].b0 & 0x08)) {
                    ok = e->control_len == strlen(seq[i].payload)
                         && !memcmp(e->control, seq[i].payload,
                                    e->control_len);
                }
            }
            ok = ok && rec[11].close_code == 1001;
            snprintf(name, sizeof(name),
                     "control frames inside a fragmented message (%s, "
                     "chunk %lu)", dir == CLIENT ? "client" : "server",
                     (unsigned long)chunks[j]);
            WSGW_CHECK(ok, name);
        }
    }
}

static void test_frame_boundary(void)
{
    unsigned char buf[64];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    apr_size_t off = 0, c;
    int ok;

    test_frame_put(buf, &off, FIN | OP_TEXT, test_frame_key, "abcdef", 6);
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    ok = wsgw_frame_parser_at_boundary(&p);
    c = wsgw_frame_parser_feed(&p, buf, 0, &ev);
    ok = ok && c == 0 && ev.type == WSGW_FRAME_NEED_MORE
         && wsgw_frame_parser_at_boundary(&p);
    WSGW_CHECK(ok, "boundary: fresh, and after an empty feed");
    c = wsgw_frame_parser_feed(&p, buf, 3, &ev);
    WSGW_CHECK(c == 3 && !wsgw_frame_parser_at_boundary(&p),
               "boundary: not inside a header");
    c = wsgw_frame_parser_feed(&p, buf + 3, off - 3, &ev);
    WSGW_CHECK(c == 3 && ev.type == WSGW_FRAME_HEADER
               && !wsgw_frame_parser_at_boundary(&p),
               "boundary: not after HEADER");
    c = wsgw_frame_parser_feed(&p, buf + 6, 5, &ev);
    WSGW_CHECK(c == 5 && ev.type == WSGW_FRAME_NEED_MORE
               && !wsgw_frame_parser_at_boundary(&p),
               "boundary: not inside a payload");
    c = wsgw_frame_parser_feed(&p, buf + 11, 1, &ev);
    WSGW_CHECK(c == 1 && ev.type == WSGW_FRAME_END
               && wsgw_frame_parser_at_boundary(&p),
               "boundary: after END");
}

static void test_frame_writer(void)
{
    unsigned char buf[WSGW_FRAME_CONTROL_MAX + 8], big[200];
    char reason[200];
    wsgw_frame_parser_t p;
    test_frame_rec_t rec[4];
    apr_size_t len, used;
    int n, bad;

    memset(big, 'w', sizeof(big));

    len = wsgw_frame_write_control(buf, OP_PING, "abc", 3, NULL);
    WSGW_CHECK(len == 5 && !memcmp(buf, "\x89\x03" "abc", 5),
               "unmasked ping bytes");
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, buf, len, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].control_len == 3 && !memcmp(rec[1].control, "abc", 3),
               "unmasked ping parsed back by a server-side parser");

    len = wsgw_frame_write_control(buf, OP_PONG, "Hello", 5, test_frame_key);
    WSGW_CHECK(len == 11 && !memcmp(buf, "\x8a\x85\x37\xfa\x21\x3d"
                                         "\x7f\x9f\x4d\x51\x58", 11),
               "masked pong matches RFC 6455 §5.7");
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, buf, len, 1, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].type == WSGW_FRAME_END
               && rec[1].frame.opcode == OP_PONG && rec[1].control_len == 5
               && !memcmp(rec[1].control, "Hello", 5),
               "masked pong parsed back by a client-side parser");
    test_frame_error(SERVER, 0, 0, buf, len, WSGW_CLOSE_PROTOCOL,
                     "masked server frame", "masked pong to the wrong side");

    len = wsgw_frame_write_control(buf, OP_PONG, NULL, 0, NULL);
    WSGW_CHECK(len == 2 && buf[0] == 0x8a && buf[1] == 0,
               "empty pong");

    len = wsgw_frame_write_control(buf, OP_PING, big, sizeof(big),
                                   test_frame_key);
    WSGW_CHECK(len == 6 + 125 && buf[1] == (0x80 | 125),
               "control payload cut to 125 bytes");
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, buf, len, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].control_len == 125
               && !memcmp(rec[1].control, big, 125),
               "cut ping parsed back");

    len = wsgw_frame_write_close(buf, 1000, "bye", NULL);
    WSGW_CHECK(len == 7 && !memcmp(buf, "\x88\x05\x03\xe8" "bye", 7),
               "close 1000 bytes");
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, buf, len, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].close_code == 1000
               && rec[1].control_len == 5, "close 1000 parsed back");

    len = wsgw_frame_write_close(buf, WSGW_CLOSE_GOING_AWAY, NULL,
                                 test_frame_key);
    WSGW_CHECK(len == 8 && buf[0] == 0x88 && buf[1] == 0x82,
               "masked close without reason");
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, buf, len, 1, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].close_code == 1001
               && rec[1].control_len == 2, "masked close 1001 parsed back");

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    len = wsgw_frame_write_close(buf, 4321, reason, test_frame_key);
    WSGW_CHECK(len == 6 + 125, "long close reason cut to a 125-byte payload");
    wsgw_frame_parser_init(&p, CLIENT, 0, 0);
    n = test_frame_drive(&p, buf, len, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0 && rec[1].close_code == 4321
               && rec[1].control_len == 125
               && !memcmp(rec[1].control + 2, reason, 123),
               "cut close parsed back");

    /* 122 ASCII bytes then U+00E9: the cut at 123 would split it. */
    memset(reason, 'a', 122);
    memcpy(reason + 122, "\xc3\xa9z", 4);
    len = wsgw_frame_write_close(buf, 1000, reason, NULL);
    WSGW_CHECK(len == 2 + 2 + 122 && buf[len - 1] == 'a',
               "close reason not cut inside a UTF-8 character");

    memset(reason, 0x80, sizeof(reason) - 1);
    len = wsgw_frame_write_close(buf, 1000, reason, NULL);
    WSGW_CHECK(len == 2 + 2 + 120,
               "reason that is not UTF-8: backs up 3 bytes at most");

    len = wsgw_frame_write_close(buf, WSGW_CLOSE_NO_STATUS, "x", NULL);
    WSGW_CHECK(len == 2 && buf[0] == 0x88 && buf[1] == 0x00,
               "1005 is written as a Close without code");
    wsgw_frame_parser_init(&p, SERVER, 0, 0);
    n = test_frame_drive(&p, buf, len, 0, NULL, rec, 4, &used, &bad);
    WSGW_CHECK(n == 2 && bad == 0
               && rec[1].close_code == WSGW_CLOSE_NO_STATUS,
               "and read back as 1005");
    len = wsgw_frame_write_close(buf, WSGW_CLOSE_ABNORMAL, NULL,
                                 test_frame_key);
    WSGW_CHECK(len == 6 && buf[1] == 0x80, "1006 is not put on the wire");
}

/* One frame of the random stream. */
typedef struct {
    unsigned int  b0;
    int           masked;
    unsigned char key[4];
    apr_uint64_t  len;
    apr_size_t    start;      /* offset of its header */
    apr_size_t    hlen;
    unsigned char control[125];
} test_frame_spec_t;

#define TEST_FRAME_RANDOM 2000

static apr_uint64_t test_frame_random_len(apr_uint64_t *rng)
{
    apr_size_t r = test_frame_below(rng, 100);

    if (r < 70) {
        return test_frame_below(rng, 126);
    }
    if (r < 95) {
        return 126 + test_frame_below(rng, 1000);
    }
    if (r < 99) {
        return 1000 + test_frame_below(rng, 70000);
    }
    return 65536 + test_frame_below(rng, 40000);
}

/* Random valid frames (fragmented messages, control frames in between,
 * RSV1 on first frames) written, then parsed in random chunk sizes. */
static void test_frame_random(int dir, apr_size_t chunk, int use_rng)
{
    static const unsigned int codes[] = { 1000, 1001, 1003, 1011, 3000, 4999 };
    static test_frame_spec_t spec[TEST_FRAME_RANDOM];
    apr_uint64_t rng = APR_UINT64_C(0x9E3779B97F4A7C15) + (apr_uint64_t)dir;
    apr_uint64_t crng = APR_UINT64_C(12345) + chunk;
    unsigned char *buf;
    test_frame_rec_t *rec;
    wsgw_frame_parser_t p;
    apr_size_t total = 0, off = 0, used, i, k;
    apr_uint64_t j;
    int in_message = 0, n, bad, wrong = 0;
    char name[128];

    for (i = 0; i < TEST_FRAME_RANDOM; ++i) {
        test_frame_spec_t *s = &spec[i];
        apr_size_t r = test_frame_below(&rng, 100);

        s->masked = dir == CLIENT;
        for (k = 0; k < 4; ++k) {
            s->key[k] = (unsigned char)test_frame_rand(&rng);
        }
        if (r < 20) {
            r = test_frame_below(&rng, 20);
            s->b0 = FIN | (r < 2 ? OP_CLOSE : r < 11 ? OP_PING : OP_PONG);
            s->len = test_frame_below(&rng, 126);
            for (k = 0; k < s->len; ++k) {
                s->control[k] = (unsigned char)test_frame_rand(&rng);
            }
            if ((s->b0 & 0x0F) == OP_CLOSE) {
                if (s->len == 1) {
                    s->len = 0;
                }
                if (s->len >= 2) {
                    unsigned int c = codes[test_frame_below(&rng, 6)];

                    s->control[0] = (unsigned char)(c >> 8);
                    s->control[1] = (unsigned char)c;
                }
            }
        }
        else {
            int fin = test_frame_below(&rng, 100) < (in_message ? 30 : 60);

            if (in_message) {
                s->b0 = OP_CONT;
            }
            else {
                s->b0 = test_frame_below(&rng, 2) ? OP_TEXT : OP_BIN;
                if (test_frame_below(&rng, 10) < 3) {
                    s->b0 |= RSV1;
                }
            }
            if (fin) {
                s->b0 |= FIN;
            }
            in_message = !fin;
            s->len = test_frame_random_len(&rng);
        }
        s->hlen = (s->len < 126 ? 2 : s->len < 65536 ? 4 : 10)
                  + (s->masked ? 4 : 0);
        total += s->hlen + (apr_size_t)s->len;
    }

    buf = malloc(total);
    rec = malloc(sizeof(*rec) * 2 * TEST_FRAME_RANDOM);
    if (buf == NULL || rec == NULL) {
        free(buf);
        free(rec);
        WSGW_CHECK(0, "random round trip: out of memory");
        return;
    }
    for (i = 0; i < TEST_FRAME_RANDOM; ++i) {
        test_frame_spec_t *s = &spec[i];
        const unsigned char *key = s->masked ? s->key : NULL;

        s->start = off;
        if (s->b0 & 0x08) {
            /* Half of the control frames come from the writer under test. */
            if (i & 1) {
                off += wsgw_frame_write_control(buf + off, s->b0 & 0x0F,
                                                s->control,
                                                (apr_size_t)s->len, key);
            }
            else {
                test_frame_put(buf, &off, s->b0, key, s->control, s->len);
            }
        }
        else {
            test_frame_put(buf, &off, s->b0, key, NULL, s->len);
            for (j = 0; j < s->len; ++j) {
                buf[off++] = (unsigned char)test_frame_rand(&rng);
            }
        }
    }

    wsgw_frame_parser_init(&p, dir, RSV1, 0);
    n = test_frame_drive(&p, buf, total, chunk, use_rng ? &crng : NULL, rec,
                         2 * TEST_FRAME_RANDOM, &used, &bad);
    for (i = 0; n == 2 * TEST_FRAME_RANDOM && i < TEST_FRAME_RANDOM; ++i) {
        const test_frame_spec_t *s = &spec[i];
        const test_frame_rec_t *h = &rec[2 * i], *e = &rec[2 * i + 1];
        int ok = h->type == WSGW_FRAME_HEADER && e->type == WSGW_FRAME_END
                 && h->at == s->start + s->hlen
                 && e->at == s->start + s->hlen + s->len
                 && h->frame.header_len == s->hlen
                 && h->frame.payload_len == s->len
                 && h->frame.fin == (s->b0 >> 7)
                 && h->frame.rsv == (s->b0 & 0x70)
                 && h->frame.opcode == (s->b0 & 0x0F)
                 && h->frame.masked == (unsigned)s->masked
                 && (!s->masked || !memcmp(h->frame.mask_key, s->key, 4))
                 && !memcmp(&h->frame, &e->frame, sizeof(h->frame));

        if (ok && (s->b0 & 0x08)) {
            ok = e->control_len == s->len
                 && !memcmp(e->control, s->control, e->control_len);
        }
        if (ok && (s->b0 & 0x0F) == OP_CLOSE) {
            ok = e->close_code == (s->len ? ((unsigned)s->control[0] << 8
                                             | s->control[1])
                                          : WSGW_CLOSE_NO_STATUS);
        }
        if (!ok) {
            ++wrong;
        }
    }
    snprintf(name, sizeof(name), "random %s stream of %d frames, %lu bytes, "
             "chunks %s%lu", dir == CLIENT ? "client" : "server",
             TEST_FRAME_RANDOM, (unsigned long)total,
             use_rng ? "up to " : "of ", (unsigned long)chunk);
    WSGW_CHECK(n == 2 * TEST_FRAME_RANDOM && bad == 0 && wrong == 0
               && used == total && wsgw_frame_parser_at_boundary(&p), name);
    free(buf);
    free(rec);
}

int main(void)
{
    apr_initialize();

    test_frame_lengths();
    test_frame_long_lengths();
    test_frame_split_header();
    test_frame_empty();
    test_frame_control_payload();
    test_frame_close_codes();
    test_frame_violations();
    test_frame_sticky();
    test_frame_max_message();
    test_frame_interleaved();
    test_frame_boundary();
    test_frame_writer();

    test_frame_random(CLIENT, 64, 1);
    test_frame_random(SERVER, 64, 1);
    test_frame_random(CLIENT, 5000, 1);
    test_frame_random(SERVER, 5000, 1);
    test_frame_random(CLIENT, 1, 0);
    test_frame_random(SERVER, 0, 0);

    apr_terminate();
    return WSGW_DONE();
}
