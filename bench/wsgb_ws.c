/*
 * WebSocket wire helpers for the bench tools: SHA-1 and base64 for the
 * handshake, frame headers, masking, HTTP header lookup.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "wsgb.h"

#define WSGB_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static uint32_t wsgb_sha1_rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static void wsgb_sha1_block(uint32_t st[5], const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, f, k, tmp;
    int i;

    for (i = 0; i < 16; ++i) {
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16
             | (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
    }
    for (i = 16; i < 80; ++i) {
        w[i] = wsgb_sha1_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    a = st[0]; b = st[1]; c = st[2]; d = st[3]; e = st[4];
    for (i = 0; i < 80; ++i) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        }
        else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        }
        else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        }
        else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        tmp = wsgb_sha1_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = wsgb_sha1_rol(b, 30); b = a; a = tmp;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e;
}

void wsgb_sha1(const unsigned char *data, size_t len, unsigned char digest[20])
{
    uint32_t st[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476,
                       0xC3D2E1F0 };
    unsigned char tail[128];
    uint64_t bits = (uint64_t)len * 8;
    size_t i, rest, tlen;

    for (i = 0; i + 64 <= len; i += 64) {
        wsgb_sha1_block(st, data + i);
    }
    rest = len - i;
    memcpy(tail, data + i, rest);
    tail[rest] = 0x80;
    tlen = rest + 1 + 8 <= 64 ? 64 : 128;
    memset(tail + rest + 1, 0, tlen - rest - 1);
    for (i = 0; i < 8; ++i) {
        tail[tlen - 1 - i] = (unsigned char)(bits >> (8 * i));
    }
    for (i = 0; i < tlen; i += 64) {
        wsgb_sha1_block(st, tail + i);
    }
    for (i = 0; i < 5; ++i) {
        digest[4 * i] = (unsigned char)(st[i] >> 24);
        digest[4 * i + 1] = (unsigned char)(st[i] >> 16);
        digest[4 * i + 2] = (unsigned char)(st[i] >> 8);
        digest[4 * i + 3] = (unsigned char)st[i];
    }
}

void wsgb_base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < len; i += 3) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *out++ = tab[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
        *out++ = tab[in[i + 2] & 63];
    }
    if (len - i == 1) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[(in[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    }
    else if (len - i == 2) {
        *out++ = tab[in[i] >> 2];
        *out++ = tab[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
        *out++ = tab[(in[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = '\0';
}

void wsgb_ws_accept(const char *key, size_t key_len, char out[29])
{
    unsigned char buf[128], digest[20];
    size_t glen = sizeof(WSGB_WS_GUID) - 1;

    if (key_len > sizeof(buf) - glen) {
        key_len = sizeof(buf) - glen;
    }
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, WSGB_WS_GUID, glen);
    wsgb_sha1(buf, key_len + glen, digest);
    wsgb_base64(digest, sizeof(digest), out);
}

size_t wsgb_frame_header(unsigned char *hdr, int fin, int opcode,
                         uint64_t payload_len, const unsigned char *mask)
{
    size_t n = 2;
    int i;

    hdr[0] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (payload_len < 126) {
        hdr[1] = (unsigned char)payload_len;
    }
    else if (payload_len <= 0xffff) {
        hdr[1] = 126;
        hdr[2] = (unsigned char)(payload_len >> 8);
        hdr[3] = (unsigned char)payload_len;
        n = 4;
    }
    else {
        hdr[1] = 127;
        for (i = 0; i < 8; ++i) {
            hdr[2 + i] = (unsigned char)(payload_len >> (56 - 8 * i));
        }
        n = 10;
    }
    if (mask) {
        hdr[1] |= 0x80;
        memcpy(hdr + n, mask, 4);
        n += 4;
    }
    return n;
}

size_t wsgb_frame_header_len(const unsigned char *hdr, size_t have)
{
    unsigned int l7;

    if (have < 2) {
        return 2;
    }
    l7 = hdr[1] & 0x7f;
    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + (hdr[1] & 0x80 ? 4 : 0);
}

size_t wsgb_mask(unsigned char *out, const unsigned char *in, size_t len,
                 const unsigned char mask[4], size_t off)
{
    unsigned char m8[8];
    uint64_t m;
    size_t i = 0, j;

    /* Eight bytes at a time with the mask rotated to the current offset. */
    for (j = 0; j < 8; ++j) {
        m8[j] = mask[(off + j) & 3];
    }
    memcpy(&m, m8, 8);
    for (; i + 8 <= len; i += 8) {
        uint64_t v;

        memcpy(&v, in + i, 8);
        v ^= m;
        memcpy(out + i, &v, 8);
    }
    for (; i < len; ++i) {
        out[i] = in[i] ^ mask[(off + i) & 3];
    }
    return (off + len) & 3;
}

const char *wsgb_http_header(const char *head, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const char *p = strstr(head, "\r\n");

    while (p && p[2] != '\r' && p[2] != '\0') {
        const char *line = p + 2, *end = strstr(line, "\r\n");

        if (end == NULL) {
            return NULL;
        }
        if ((size_t)(end - line) > nlen && line[nlen] == ':'
            && strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            const char *e = end;

            while (v < e && (*v == ' ' || *v == '\t')) {
                ++v;
            }
            while (e > v && (e[-1] == ' ' || e[-1] == '\t')) {
                --e;
            }
            *len = (size_t)(e - v);
            return v;
        }
        p = end;
    }
    return NULL;
}
