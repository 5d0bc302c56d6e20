/*
 * mod_ws_gateway benchmark tools (wsgb_ prefix): what the load generator
 * (wsgb_load.c) and the echo backend (wsgb_echo.c) share. Plain C99 plus
 * POSIX and Linux epoll; no APR, no libcrypto, nothing of the module, so a
 * bug in the module's handshake code cannot hide behind shared code.
 */
#ifndef WSGB_H
#define WSGB_H

#include <stddef.h>
#include <stdint.h>

/* RFC 6455 opcodes. */
#define WSGB_OP_CONT   0x0
#define WSGB_OP_TEXT   0x1
#define WSGB_OP_BINARY 0x2
#define WSGB_OP_CLOSE  0x8
#define WSGB_OP_PING   0x9
#define WSGB_OP_PONG   0xA

/* Longest frame header: 2 + 8 (length) + 4 (mask). */
#define WSGB_FRAME_HDR_MAX 14

/* Sec-WebSocket-Accept of a key: base64(SHA-1(key GUID)), NUL-terminated
 * into @a out (at least 29 bytes). */
void wsgb_ws_accept(const char *key, size_t key_len, char out[29]);

/* Base64 of @a len bytes into @a out (4 * ceil(len / 3) + 1 bytes). */
void wsgb_base64(const unsigned char *in, size_t len, char *out);

/* SHA-1 of @a len bytes into @a digest. */
void wsgb_sha1(const unsigned char *data, size_t len, unsigned char digest[20]);

/* Write a frame header for @a payload_len bytes into @a hdr; @a mask (4
 * bytes) or NULL. Returns the header length (2 to 14). */
size_t wsgb_frame_header(unsigned char *hdr, int fin, int opcode,
                         uint64_t payload_len, const unsigned char *mask);

/* Length of the frame header that starts with the @a have bytes at @a hdr:
 * 2 while fewer than 2 are known, then the full length (extended length
 * and, when the mask bit is set, the key). */
size_t wsgb_frame_header_len(const unsigned char *hdr, size_t have);

/* XOR @a len bytes with the 4-byte @a mask, starting at mask offset
 * @a off (0-3); in place or from @a in to @a out. Returns the next offset. */
size_t wsgb_mask(unsigned char *out, const unsigned char *in, size_t len,
                 const unsigned char mask[4], size_t off);

/* Monotonic clock in nanoseconds. */
uint64_t wsgb_now_ns(void);

/* Case-insensitive search of a header value in an HTTP head (NUL-
 * terminated); returns the value start (spaces skipped) and its length in
 * @a len, or NULL. */
const char *wsgb_http_header(const char *head, const char *name, size_t *len);

/* Latency histogram: log-linear buckets, 64 per power of two (under 1.6 %
 * error), values in nanoseconds up to 2^40 (about 18 minutes). */
#define WSGB_HIST_SUB     64
#define WSGB_HIST_BUCKETS (WSGB_HIST_SUB * 36)

typedef struct wsgb_hist_t {
    uint64_t count[WSGB_HIST_BUCKETS];
    uint64_t n;
    uint64_t min, max;
    double   sum;
} wsgb_hist_t;

void     wsgb_hist_init(wsgb_hist_t *h);
void     wsgb_hist_add(wsgb_hist_t *h, uint64_t v);
/* The value at quantile @a q (0..1): bucket midpoint, exact max for 1. */
uint64_t wsgb_hist_quantile(const wsgb_hist_t *h, double q);

#endif /* WSGB_H */
