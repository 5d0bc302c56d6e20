/* Unit tests: token lists, key validation, accept digest (RFC 6455 §1.3). */
#include <apr_general.h>

#include "wsgw_handshake.h"
#include "wsgw_test.h"

int main(void)
{
    char acc[WSGW_ACCEPT_LEN + 1];

    apr_initialize();

    WSGW_CHECK(wsgw_token_list_has("Upgrade", "upgrade"), "single token, other case");
    WSGW_CHECK(wsgw_token_list_has("keep-alive, Upgrade", "upgrade"), "Firefox's Connection");
    WSGW_CHECK(wsgw_token_list_has("keep-alive,Upgrade", "upgrade"), "no space after comma");
    WSGW_CHECK(wsgw_token_list_has(" ,, upgrade ,", "upgrade"), "empty elements and OWS");
    WSGW_CHECK(wsgw_token_list_has("WebSocket", "websocket"), "Upgrade: WebSocket");
    WSGW_CHECK(wsgw_token_list_has("h2c, websocket", "websocket"), "second of a merged list");
    WSGW_CHECK(wsgw_token_list_has("a\t,\twebsocket\t", "websocket"), "tabs are OWS");
    WSGW_CHECK(!wsgw_token_list_has("upgrades", "upgrade"), "longer token does not match");
    WSGW_CHECK(!wsgw_token_list_has("upgrad", "upgrade"), "shorter token does not match");
    WSGW_CHECK(!wsgw_token_list_has("keep-alive upgrade", "upgrade"), "space is not a separator");
    WSGW_CHECK(!wsgw_token_list_has("websocket/13", "websocket"), "versioned protocol is another token");
    WSGW_CHECK(!wsgw_token_list_has("", "upgrade"), "empty value");
    WSGW_CHECK(!wsgw_token_list_has(NULL, "upgrade"), "absent header");

    WSGW_CHECK(wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25jZQ=="), "RFC sample key");
    WSGW_CHECK(wsgw_handshake_key_valid("  dGhlIHNhbXBsZSBub25jZQ== "), "key with OWS");
    WSGW_CHECK(wsgw_handshake_key_valid("AAAAAAAAAAAAAAAAAAAAAA=="), "all-zero key");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25jZQ="), "one pad short");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25jZQ"), "no padding");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25jZQ==="), "too long");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25j*Q=="), "bad character");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhlIHNhbXBsZSBub25jZR=="), "non-canonical last char");
    WSGW_CHECK(!wsgw_handshake_key_valid("c2hvcnQ="), "5 bytes");
    WSGW_CHECK(!wsgw_handshake_key_valid("dGhpcyBpcyBtb3JlIHRoYW4gMTYgYnl0ZXM="), "25 bytes");
    WSGW_CHECK(!wsgw_handshake_key_valid(""), "empty key");
    WSGW_CHECK(!wsgw_handshake_key_valid(NULL), "absent key");

    wsgw_handshake_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
    WSGW_CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 accept example");
    wsgw_handshake_accept(" dGhlIHNhbXBsZSBub25jZQ== ", acc);
    WSGW_CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "accept ignores OWS around the key");
    WSGW_CHECK(wsgw_handshake_accept_matches("dGhlIHNhbXBsZSBub25jZQ==",
                                             "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
               "accept matches");
    WSGW_CHECK(wsgw_handshake_accept_matches("dGhlIHNhbXBsZSBub25jZQ==",
                                             " s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\t"),
               "accept with OWS matches");
    WSGW_CHECK(!wsgw_handshake_accept_matches("dGhlIHNhbXBsZSBub25jZQ==",
                                              "s3pPLMBiTxaQ9kYGzzhZRbK+xOO="),
               "accept is case-sensitive");
    WSGW_CHECK(!wsgw_handshake_accept_matches("dGhlIHNhbXBsZSBub25jZQ==", NULL),
               "missing accept");
    WSGW_CHECK(!wsgw_handshake_accept_matches("AAAAAAAAAAAAAAAAAAAAAA==",
                                              "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
               "accept of another key");

    apr_terminate();
    return WSGW_DONE();
}
