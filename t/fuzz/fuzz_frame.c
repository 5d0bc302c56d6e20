/*
 * libFuzzer target for the RFC 6455 frame parser and writer.
 *
 * Input: byte 0 chooses the parser options and the largest chunk, bytes
 * 1-3 seed the chunk sizes, the rest is the stream. The stream goes to a
 * parser of each direction twice: once as one window, once in random
 * chunks. Both runs must see the same events (chunking may only move where
 * an ERROR is reported), and every call must keep the feed() contract.
 * Control frames are also written back with the writer, which must give
 * the same bytes. Any breach aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wsgw_frame.h"

#define FUZZ_FRAME_EVENTS 8192

#define FUZZ_FRAME_REQUIRE(cond) do {                                     \
        if (!(cond)) {                                                    \
            fprintf(stderr, "fuzz_frame: %s:%d: %s\n", __FILE__,          \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

typedef struct {
    wsgw_frame_event_e  type;
    size_t              at;
    wsgw_frame_t        frame;
    size_t              control_len;
    uint32_t            control_sum;
    unsigned int        close_code;
    const char         *reason;
} fuzz_frame_rec_t;

typedef struct {
    size_t  n;              /* events seen (may exceed what was kept) */
    size_t  consumed;
    int     failed;
    int     at_boundary;
    fuzz_frame_rec_t rec[FUZZ_FRAME_EVENTS];
} fuzz_frame_run_t;

/* libFuzzer runs inputs one at a time; these only keep big arrays off the
 * stack. */
static fuzz_frame_run_t fuzz_frame_whole, fuzz_frame_chunked;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fuzz_frame_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static uint32_t fuzz_frame_sum(const unsigned char *b, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < n; ++i) {
        h = (h ^ b[i]) * 16777619u;
    }
    return h;
}

/* A control frame written back by the writer must be the very bytes it
 * was parsed from (when those used the 7-bit length form), and must parse
 * back to the same payload. */
static void fuzz_frame_rewrite(const wsgw_frame_event_t *ev,
                               const unsigned char *orig, int from_client)
{
    unsigned char buf[WSGW_FRAME_CONTROL_MAX];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t e2;
    size_t len, c, c2;
    const unsigned char *key = from_client ? ev->frame.mask_key : NULL;

    len = wsgw_frame_write_control(buf, ev->frame.opcode, ev->control,
                                   ev->control_len, key);
    FUZZ_FRAME_REQUIRE(len <= WSGW_FRAME_CONTROL_MAX);
    if (ev->frame.header_len == (from_client ? 6u : 2u)) {
        FUZZ_FRAME_REQUIRE(len == ev->frame.header_len + ev->control_len);
        FUZZ_FRAME_REQUIRE(memcmp(buf, orig, len) == 0);
    }
    wsgw_frame_parser_init(&p, from_client, 0, 0);
    c = wsgw_frame_parser_feed(&p, buf, len, &e2);
    FUZZ_FRAME_REQUIRE(e2.type == WSGW_FRAME_HEADER);
    c2 = wsgw_frame_parser_feed(&p, buf + c, len - c, &e2);
    FUZZ_FRAME_REQUIRE(e2.type == WSGW_FRAME_END && c + c2 == len);
    FUZZ_FRAME_REQUIRE(e2.control_len == ev->control_len);
    FUZZ_FRAME_REQUIRE(memcmp(e2.control, ev->control, ev->control_len) == 0);
    FUZZ_FRAME_REQUIRE(e2.close_code == ev->close_code);
}

/* Feed @a d in windows (all of it when @a seed is 0, else random sizes up
 * to @a maxchunk), checking the contract on every call. */
static void fuzz_frame_feed(fuzz_frame_run_t *run, const unsigned char *d,
                            size_t len, int from_client,
                            unsigned int rsv_allowed, uint64_t max,
                            uint64_t seed, size_t maxchunk)
{
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    size_t pos = 0, wend, avail, c, w, hdr_start = 0, calls = 0;
    uint64_t payload_len = 0, msg_len = 0;
    int boundary, empty_end_ok = 0, in_msg = 0, control;

    wsgw_frame_parser_init(&p, from_client, rsv_allowed, max);
    run->n = 0;
    run->failed = 0;
    w = seed ? 1 + (size_t)(fuzz_frame_rand(&seed) % maxchunk) : len;
    wend = w < len ? w : len;
    for (;;) {
        /* Every call consumes a byte or yields an event that cannot
         * repeat without one, so this bounds a livelock. */
        FUZZ_FRAME_REQUIRE(++calls <= 4 * len + 8);
        avail = wend - pos;
        boundary = wsgw_frame_parser_at_boundary(&p);
        if (boundary) {
            hdr_start = pos;
        }
        c = wsgw_frame_parser_feed(&p, d + pos, avail, &ev);
        FUZZ_FRAME_REQUIRE(c <= avail);
        pos += c;

        switch (ev.type) {
        case WSGW_FRAME_NEED_MORE:
            FUZZ_FRAME_REQUIRE(c == avail);
            FUZZ_FRAME_REQUIRE(wsgw_frame_parser_at_boundary(&p)
                               == (c == 0 ? boundary : 0));
            if (pos == len) {
                run->consumed = pos;
                run->at_boundary = wsgw_frame_parser_at_boundary(&p);
                return;
            }
            w = seed ? 1 + (size_t)(fuzz_frame_rand(&seed) % maxchunk) : len;
            wend = len - pos > w ? pos + w : len;
            continue;
        case WSGW_FRAME_HEADER:
            FUZZ_FRAME_REQUIRE(c > 0 && !wsgw_frame_parser_at_boundary(&p));
            FUZZ_FRAME_REQUIRE(ev.frame.header_len >= 2
                               && ev.frame.header_len <= 14);
            FUZZ_FRAME_REQUIRE(pos - hdr_start == ev.frame.header_len);
            FUZZ_FRAME_REQUIRE(ev.frame.masked == (unsigned)!!from_client);
            FUZZ_FRAME_REQUIRE(ev.frame.payload_len >> 63 == 0);
            FUZZ_FRAME_REQUIRE((ev.frame.rsv & ~rsv_allowed) == 0);
            if (ev.frame.opcode & 0x8) {
                FUZZ_FRAME_REQUIRE(ev.frame.fin && ev.frame.rsv == 0
                                   && ev.frame.payload_len <= 125);
            }
            /* A model of the message state, kept from events alone. */
            if (!(ev.frame.opcode & 0x8)) {
                if (ev.frame.opcode == WSGW_FRAME_OP_CONT) {
                    FUZZ_FRAME_REQUIRE(in_msg && ev.frame.rsv == 0);
                    msg_len += ev.frame.payload_len;
                }
                else {
                    FUZZ_FRAME_REQUIRE(!in_msg);
                    msg_len = ev.frame.payload_len;
                }
                FUZZ_FRAME_REQUIRE(max == 0 || msg_len <= max);
                in_msg = !ev.frame.fin;
            }
            payload_len = ev.frame.payload_len;
            empty_end_ok = payload_len == 0;
            break;
        case WSGW_FRAME_END:
            FUZZ_FRAME_REQUIRE(c > 0 || empty_end_ok);
            FUZZ_FRAME_REQUIRE(wsgw_frame_parser_at_boundary(&p));
            FUZZ_FRAME_REQUIRE(pos - hdr_start
                               == ev.frame.header_len + payload_len);
            if (ev.frame.opcode & 0x8) {
                FUZZ_FRAME_REQUIRE(ev.control_len == payload_len);
                fuzz_frame_rewrite(&ev, d + hdr_start, from_client);
            }
            else {
                FUZZ_FRAME_REQUIRE(ev.control_len == 0);
            }
            if (ev.frame.opcode == WSGW_FRAME_OP_CLOSE) {
                FUZZ_FRAME_REQUIRE(ev.close_code >= 1000
                                   && ev.close_code <= 4999);
            }
            empty_end_ok = 0;
            break;
        case WSGW_FRAME_ERROR:
            FUZZ_FRAME_REQUIRE(c == 0 && ev.reason != NULL);
            FUZZ_FRAME_REQUIRE(ev.close_code == WSGW_CLOSE_PROTOCOL
                               || ev.close_code == WSGW_CLOSE_TOO_BIG);
            control = (ev.frame.opcode & 0x8) != 0;
            if (!strcmp(ev.reason, "continuation frame without a message")) {
                FUZZ_FRAME_REQUIRE(!in_msg);
            }
            if (!strcmp(ev.reason,
                        "new data frame inside a fragmented message")) {
                FUZZ_FRAME_REQUIRE(in_msg && !control);
            }
            if (ev.close_code == WSGW_CLOSE_TOO_BIG) {
                FUZZ_FRAME_REQUIRE(max && !control
                                   && ev.frame.payload_len
                                      + (ev.frame.opcode ? 0 : msg_len)
                                      > max);
            }
            break;
        }

        if (run->n < FUZZ_FRAME_EVENTS) {
            fuzz_frame_rec_t *r = &run->rec[run->n];

            memset(r, 0, sizeof(*r));
            r->type = ev.type;
            r->at = ev.type == WSGW_FRAME_ERROR ? 0 : pos;
            r->frame = ev.frame;
            r->control_len = ev.control_len;
            r->control_sum = fuzz_frame_sum(ev.control, ev.control_len);
            r->close_code = ev.close_code;
            r->reason = ev.reason;
        }
        ++run->n;

        if (ev.type == WSGW_FRAME_ERROR) {
            wsgw_frame_event_t again;
            const char *reason = ev.reason;

            c = wsgw_frame_parser_feed(&p, d, len, &again);
            FUZZ_FRAME_REQUIRE(c == 0 && again.type == WSGW_FRAME_ERROR
                               && again.close_code == ev.close_code
                               && again.reason == reason);
            run->failed = 1;
            run->consumed = pos;
            return;
        }
    }
}

static void fuzz_frame_compare(const fuzz_frame_run_t *a,
                               const fuzz_frame_run_t *b)
{
    size_t i, n;

    FUZZ_FRAME_REQUIRE(a->n == b->n && a->failed == b->failed);
    if (!a->failed) {
        FUZZ_FRAME_REQUIRE(a->consumed == b->consumed
                           && a->at_boundary == b->at_boundary);
    }
    n = a->n < FUZZ_FRAME_EVENTS ? a->n : FUZZ_FRAME_EVENTS;
    for (i = 0; i < n; ++i) {
        const fuzz_frame_rec_t *x = &a->rec[i], *y = &b->rec[i];

        FUZZ_FRAME_REQUIRE(x->type == y->type && x->at == y->at
                           && x->control_len == y->control_len
                           && x->control_sum == y->control_sum
                           && x->close_code == y->close_code
                           && x->reason == y->reason);
        FUZZ_FRAME_REQUIRE(memcmp(&x->frame, &y->frame,
                                  sizeof(x->frame)) == 0);
    }
}

/* write_close() must give a frame the matching parser accepts, with the
 * code (none for one that may not be sent) and the reason cut. */
static void fuzz_frame_close(const unsigned char *d, size_t len)
{
    unsigned char buf[WSGW_FRAME_CONTROL_MAX];
    unsigned char key[4] = { 0, 0, 0, 0 };
    char reason[201];
    wsgw_frame_parser_t p;
    wsgw_frame_event_t ev;
    size_t n, c, rlen;
    unsigned int code;
    int dir, valid;

    if (len < 6) {
        return;
    }
    code = ((unsigned int)d[0] << 8) | d[1];
    memcpy(key, d + 2, 4);
    rlen = len - 6 < 200 ? len - 6 : 200;
    memcpy(reason, d + 6, rlen);
    reason[rlen] = '\0';
    rlen = strlen(reason);
    valid = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
            || (code >= 3000 && code <= 4999);

    for (dir = 0; dir < 2; ++dir) {
        n = wsgw_frame_write_close(buf, (apr_uint16_t)code, reason,
                                   dir ? key : NULL);
        FUZZ_FRAME_REQUIRE(n >= 2 && n <= WSGW_FRAME_CONTROL_MAX);
        wsgw_frame_parser_init(&p, dir, 0, 0);
        c = wsgw_frame_parser_feed(&p, buf, n, &ev);
        FUZZ_FRAME_REQUIRE(ev.type == WSGW_FRAME_HEADER);
        c += wsgw_frame_parser_feed(&p, buf + c, n - c, &ev);
        FUZZ_FRAME_REQUIRE(ev.type == WSGW_FRAME_END && c == n);
        if (valid) {
            /* Cut to 123 bytes, then back at most 3 to a character. */
            FUZZ_FRAME_REQUIRE(ev.close_code == code);
            FUZZ_FRAME_REQUIRE(ev.control_len >= 2);
            FUZZ_FRAME_REQUIRE(rlen <= 123 ? ev.control_len - 2 == rlen
                               : ev.control_len - 2 >= 120);
            FUZZ_FRAME_REQUIRE(memcmp(ev.control + 2, reason,
                                      ev.control_len - 2) == 0);
        }
        else {
            FUZZ_FRAME_REQUIRE(ev.close_code == WSGW_CLOSE_NO_STATUS
                               && ev.control_len == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t maxes[4] = { 0, 1, 125, 1000 };
    static const size_t chunks[8] = { 1, 2, 3, 5, 8, 16, 64, 4096 };
    const unsigned char *stream;
    size_t len;
    unsigned int cfg, rsv;
    uint64_t seed, max;
    int dir;

    if (size < 4) {
        return 0;
    }
    cfg = data[0];
    seed = ((uint64_t)data[1] << 16 | (uint64_t)data[2] << 8 | data[3])
           + UINT64_C(0x9E3779B97F4A7C15);
    stream = data + 4;
    len = size - 4;
    rsv = cfg & 1 ? WSGW_FRAME_RSV1 : 0;
    max = maxes[(cfg >> 1) & 3];

    for (dir = 0; dir < 2; ++dir) {
        fuzz_frame_feed(&fuzz_frame_whole, stream, len, dir, rsv, max, 0, 1);
        fuzz_frame_feed(&fuzz_frame_chunked, stream, len, dir, rsv, max,
                        seed, chunks[(cfg >> 3) & 7]);
        fuzz_frame_compare(&fuzz_frame_whole, &fuzz_frame_chunked);
    }
    fuzz_frame_close(stream, len);
    return 0;
}
