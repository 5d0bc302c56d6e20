/*
 * RFC 6455 handshake helpers (APR-only core): token lists, key validation,
 * Sec-WebSocket-Accept computation.
 */
#ifndef WSGW_HANDSHAKE_H
#define WSGW_HANDSHAKE_H

#include <apr_pools.h>

/* Length of a Sec-WebSocket-Accept value (base64 of a SHA-1), without NUL. */
#define WSGW_ACCEPT_LEN 28

/**
 * Is @a token an element of the comma-separated list @a value?
 * Case-insensitive, optional white space around elements, empty elements
 * ignored (RFC 9110 §5.6.1). A NULL @a value contains nothing.
 */
int wsgw_token_list_has(const char *value, const char *token);

/**
 * Is @a key a valid Sec-WebSocket-Key: base64 (with padding) of exactly
 * 16 bytes, surrounding white space allowed?
 */
int wsgw_handshake_key_valid(const char *key);

/**
 * Compute Sec-WebSocket-Accept for @a key (white space around it ignored)
 * into @a out, which must hold WSGW_ACCEPT_LEN + 1 bytes (NUL-terminated).
 */
void wsgw_handshake_accept(const char *key, char *out);

/**
 * Does @a accept (a backend's Sec-WebSocket-Accept, white space around it
 * ignored) match @a key? NULL @a accept never matches.
 */
int wsgw_handshake_accept_matches(const char *key, const char *accept);

#endif /* WSGW_HANDSHAKE_H */
