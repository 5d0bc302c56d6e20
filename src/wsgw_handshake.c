/*
 * RFC 6455 handshake helpers: token lists (RFC 9110 §5.6.1), key validation
 * and the Sec-WebSocket-Accept digest. APR-only.
 */
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_sha1.h>
#include <apr_base64.h>

#include "wsgw_handshake.h"

#define WSGW_HANDSHAKE_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int wsgw_handshake_is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int wsgw_token_list_has(const char *value, const char *token)
{
    apr_size_t tlen;

    if (value == NULL || token == NULL) {
        return 0;
    }
    tlen = strlen(token);
    while (*value) {
        const char *start, *end;

        while (*value == ',' || wsgw_handshake_is_ows(*value)) {
            ++value;
        }
        start = value;
        while (*value && *value != ',') {
            ++value;
        }
        end = value;
        while (end > start && wsgw_handshake_is_ows(end[-1])) {
            --end;
        }
        if ((apr_size_t)(end - start) == tlen
            && strncasecmp(start, token, tlen) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Strip surrounding white space into @a buf (size @a n); 0 when too long. */
static int wsgw_handshake_trim(const char *s, char *buf, apr_size_t n)
{
    const char *end;
    apr_size_t len;

    while (wsgw_handshake_is_ows(*s)) {
        ++s;
    }
    end = s + strlen(s);
    while (end > s && wsgw_handshake_is_ows(end[-1])) {
        --end;
    }
    len = (apr_size_t)(end - s);
    if (len >= n) {
        return 0;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 1;
}

static int wsgw_handshake_b64_char(char c)
{
    return apr_isalnum(c) || c == '+' || c == '/';
}

int wsgw_handshake_key_valid(const char *key)
{
    char k[32];
    int i;

    /* 16 bytes encode to exactly 22 significant characters and "==". */
    if (key == NULL || !wsgw_handshake_trim(key, k, sizeof(k))
        || strlen(k) != 24 || k[22] != '=' || k[23] != '=') {
        return 0;
    }
    for (i = 0; i < 22; ++i) {
        if (!wsgw_handshake_b64_char(k[i])) {
            return 0;
        }
    }
    /* The last significant character may only carry 4 bits; anything else
     * is not the canonical encoding of 16 bytes. */
    return strchr("AQgw", k[21]) != NULL;
}

void wsgw_handshake_accept(const char *key, char *out)
{
    apr_sha1_ctx_t sha;
    unsigned char digest[APR_SHA1_DIGESTSIZE];
    char k[256];

    if (!wsgw_handshake_trim(key ? key : "", k, sizeof(k))) {
        k[0] = '\0';
    }
    apr_sha1_init(&sha);
    apr_sha1_update(&sha, k, (unsigned int)strlen(k));
    apr_sha1_update(&sha, WSGW_HANDSHAKE_GUID,
                    (unsigned int)(sizeof(WSGW_HANDSHAKE_GUID) - 1));
    apr_sha1_final(digest, &sha);
    apr_base64_encode(out, (const char *)digest, APR_SHA1_DIGESTSIZE);
    out[WSGW_ACCEPT_LEN] = '\0';
}

int wsgw_handshake_accept_matches(const char *key, const char *accept)
{
    char want[WSGW_ACCEPT_LEN + 1];
    char got[64];

    if (key == NULL || accept == NULL
        || !wsgw_handshake_trim(accept, got, sizeof(got))) {
        return 0;
    }
    wsgw_handshake_accept(key, want);
    return strcmp(want, got) == 0;
}
