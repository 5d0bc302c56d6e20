/*
 * RFC 6455 framing (§5): an incremental parser that follows frame and
 * message boundaries in one direction without copying data payloads, and
 * a writer for the control frames the gateway injects. APR-only.
 */
#include <string.h>

#include "wsgw_frame.h"

/* Why a stream was refused. The parser keeps the index + 1 in p->failed,
 * which is all it needs to repeat the same error on every later call. */
typedef enum {
    WSGW_FRAME_E_OPCODE = 0,
    WSGW_FRAME_E_RSV,
    WSGW_FRAME_E_RSV1_CONTROL,
    WSGW_FRAME_E_RSV1_CONT,
    WSGW_FRAME_E_UNMASKED,
    WSGW_FRAME_E_MASKED,
    WSGW_FRAME_E_CONTROL_FRAGMENTED,
    WSGW_FRAME_E_CONTROL_LONG,
    WSGW_FRAME_E_CLOSE_SHORT,
    WSGW_FRAME_E_CONT_ALONE,
    WSGW_FRAME_E_DATA_INSIDE,
    WSGW_FRAME_E_LENGTH,
    WSGW_FRAME_E_TOO_BIG,
    WSGW_FRAME_E_CLOSE_CODE,
    WSGW_FRAME_E_NONE         /* not an error: "header is fine so far" */
} wsgw_frame_error_e;

static const struct {
    apr_uint16_t  code;
    const char   *reason;
} wsgw_frame_errors[WSGW_FRAME_E_NONE] = {
    { WSGW_CLOSE_PROTOCOL, "reserved opcode" },
    { WSGW_CLOSE_PROTOCOL, "reserved bits set" },
    { WSGW_CLOSE_PROTOCOL, "rsv1 on a control frame" },
    { WSGW_CLOSE_PROTOCOL, "rsv1 on a continuation frame" },
    { WSGW_CLOSE_PROTOCOL, "unmasked client frame" },
    { WSGW_CLOSE_PROTOCOL, "masked server frame" },
    { WSGW_CLOSE_PROTOCOL, "fragmented control frame" },
    { WSGW_CLOSE_PROTOCOL, "control frame payload over 125 bytes" },
    { WSGW_CLOSE_PROTOCOL, "close frame with a 1-byte payload" },
    { WSGW_CLOSE_PROTOCOL, "continuation frame without a message" },
    { WSGW_CLOSE_PROTOCOL, "new data frame inside a fragmented message" },
    { WSGW_CLOSE_PROTOCOL, "payload length with the high bit set" },
    { WSGW_CLOSE_TOO_BIG,  "message too big" },
    { WSGW_CLOSE_PROTOCOL, "invalid close code" }
};

static int wsgw_frame_is_control(unsigned int opcode)
{
    return (opcode & 0x8) != 0;
}

static int wsgw_frame_opcode_valid(unsigned int opcode)
{
    switch (opcode) {
    case WSGW_FRAME_OP_CONT:
    case WSGW_FRAME_OP_TEXT:
    case WSGW_FRAME_OP_BINARY:
    case WSGW_FRAME_OP_CLOSE:
    case WSGW_FRAME_OP_PING:
    case WSGW_FRAME_OP_PONG:
        return 1;
    default:
        return 0;
    }
}

/* Codes a peer may put in a Close frame (§7.4.1 and the IANA registry):
 * 1004 is reserved, 1005/1006/1015 are local-only, 1016-2999 unassigned,
 * and nothing is defined above 4999. */
static int wsgw_frame_close_code_valid(unsigned int code)
{
    if (code >= 1000 && code <= 1003) {
        return 1;
    }
    if (code >= 1007 && code <= 1014) {
        return 1;
    }
    return code >= 3000 && code <= 4999;
}

static void wsgw_frame_event_set(const wsgw_frame_parser_t *p,
                                 wsgw_frame_event_t *ev,
                                 wsgw_frame_event_e type)
{
    ev->type = type;
    ev->frame = p->cur;
}

static apr_size_t wsgw_frame_fail(wsgw_frame_parser_t *p,
                                  wsgw_frame_event_t *ev,
                                  wsgw_frame_error_e err)
{
    p->failed = (int)err + 1;
    wsgw_frame_event_set(p, ev, WSGW_FRAME_ERROR);
    ev->close_code = wsgw_frame_errors[err].code;
    ev->reason = wsgw_frame_errors[err].reason;
    return 0;
}

/*
 * Everything that can be judged from the first two bytes is judged there,
 * so a peer cannot make the parser wait for (up to 12) more bytes of a
 * header that is already known to be bad. Also sizes the rest of it.
 */
static wsgw_frame_error_e wsgw_frame_check_start(wsgw_frame_parser_t *p)
{
    wsgw_frame_t *f = &p->cur;
    unsigned int len7 = p->hdr[1] & 0x7F;
    int control;

    memset(f, 0, sizeof(*f));
    f->fin = p->hdr[0] >> 7;
    f->rsv = p->hdr[0] & WSGW_FRAME_RSV_ALL;
    f->opcode = p->hdr[0] & 0x0F;
    f->masked = p->hdr[1] >> 7;
    f->payload_len = len7;
    p->hdr_need = 2 + (len7 == 126 ? 2u : len7 == 127 ? 8u : 0u)
                  + (f->masked ? 4u : 0u);
    f->header_len = p->hdr_need;
    control = wsgw_frame_is_control(f->opcode);

    if (!wsgw_frame_opcode_valid(f->opcode)) {
        return WSGW_FRAME_E_OPCODE;
    }
    if (f->rsv & ~p->rsv_allowed) {
        return WSGW_FRAME_E_RSV;
    }
    /* permessage-deflate marks a compressed message on its first frame
     * only (RFC 7692 §6); control frames are never compressed. */
    if (f->rsv & WSGW_FRAME_RSV1) {
        if (control) {
            return WSGW_FRAME_E_RSV1_CONTROL;
        }
        if (f->opcode == WSGW_FRAME_OP_CONT) {
            return WSGW_FRAME_E_RSV1_CONT;
        }
    }
    if (p->from_client && !f->masked) {
        return WSGW_FRAME_E_UNMASKED;
    }
    if (!p->from_client && f->masked) {
        return WSGW_FRAME_E_MASKED;
    }
    if (control) {
        if (!f->fin) {
            return WSGW_FRAME_E_CONTROL_FRAGMENTED;
        }
        if (len7 > 125) {
            return WSGW_FRAME_E_CONTROL_LONG;
        }
        if (f->opcode == WSGW_FRAME_OP_CLOSE && len7 == 1) {
            return WSGW_FRAME_E_CLOSE_SHORT;
        }
    }
    else if (f->opcode == WSGW_FRAME_OP_CONT) {
        if (!p->in_message) {
            return WSGW_FRAME_E_CONT_ALONE;
        }
    }
    else if (p->in_message) {
        return WSGW_FRAME_E_DATA_INSIDE;
    }
    return WSGW_FRAME_E_NONE;
}

/* The rest of a complete header: the real length and the masking key. */
static wsgw_frame_error_e wsgw_frame_check_header(wsgw_frame_parser_t *p)
{
    wsgw_frame_t *f = &p->cur;
    const unsigned char *h = p->hdr + 2;
    unsigned int len7 = p->hdr[1] & 0x7F;
    apr_uint64_t so_far;
    int i;

    if (len7 == 126) {
        f->payload_len = ((apr_uint64_t)h[0] << 8) | h[1];
        h += 2;
    }
    else if (len7 == 127) {
        f->payload_len = 0;
        for (i = 0; i < 8; ++i) {
            f->payload_len = (f->payload_len << 8) | h[i];
        }
        h += 8;
        if (f->payload_len >> 63) {
            return WSGW_FRAME_E_LENGTH;
        }
    }
    if (f->masked) {
        memcpy(f->mask_key, h, 4);
    }

    /* Refuse on the declared length, before any of the payload has been
     * forwarded; written so that it cannot overflow. */
    if (p->max_message && !wsgw_frame_is_control(f->opcode)) {
        so_far = f->opcode == WSGW_FRAME_OP_CONT ? p->message_len : 0;
        if (so_far > p->max_message
            || f->payload_len > p->max_message - so_far) {
            return WSGW_FRAME_E_TOO_BIG;
        }
    }
    return WSGW_FRAME_E_NONE;
}

/* A valid header has been consumed: enter its payload. */
static void wsgw_frame_begin(wsgw_frame_parser_t *p)
{
    const wsgw_frame_t *f = &p->cur;

    p->hdr_have = 0;
    p->hdr_need = 2;
    p->in_payload = 1;
    p->remaining = f->payload_len;
    p->mask_pos = 0;
    p->control_len = 0;
    if (!wsgw_frame_is_control(f->opcode)) {
        if (f->opcode != WSGW_FRAME_OP_CONT) {
            p->message_len = 0;
        }
        p->message_len += f->payload_len;
        p->in_message = !f->fin;
    }
}

static apr_size_t wsgw_frame_feed_header(wsgw_frame_parser_t *p,
                                         const unsigned char *data,
                                         apr_size_t len,
                                         wsgw_frame_event_t *ev)
{
    /* On an error the bytes taken in this call are given back, so that
     * at_boundary() then describes what the caller was told it consumed. */
    apr_size_t had = p->hdr_have;
    apr_size_t used = 0;
    wsgw_frame_error_e err;

    while (p->hdr_have < p->hdr_need && used < len) {
        apr_size_t n = p->hdr_need - p->hdr_have;

        if (n > len - used) {
            n = len - used;
        }
        memcpy(p->hdr + p->hdr_have, data + used, n);
        p->hdr_have += n;
        used += n;
        /* hdr_need stays 2 until the length byte has been seen, so this
         * runs exactly once per header. */
        if (p->hdr_have == 2) {
            err = wsgw_frame_check_start(p);
            if (err != WSGW_FRAME_E_NONE) {
                p->hdr_have = had;
                return wsgw_frame_fail(p, ev, err);
            }
        }
    }
    if (p->hdr_have < p->hdr_need) {
        wsgw_frame_event_set(p, ev, WSGW_FRAME_NEED_MORE);
        return used;
    }
    err = wsgw_frame_check_header(p);
    if (err != WSGW_FRAME_E_NONE) {
        p->hdr_have = had;
        return wsgw_frame_fail(p, ev, err);
    }
    wsgw_frame_begin(p);
    wsgw_frame_event_set(p, ev, WSGW_FRAME_HEADER);
    return used;
}

static apr_size_t wsgw_frame_feed_payload(wsgw_frame_parser_t *p,
                                          const unsigned char *data,
                                          apr_size_t len,
                                          wsgw_frame_event_t *ev)
{
    const wsgw_frame_t *f = &p->cur;
    apr_size_t n = len;
    apr_size_t i;
    unsigned int code;

    if ((apr_uint64_t)n > p->remaining) {
        n = (apr_size_t)p->remaining;
    }
    /* check_start() bounded control payloads to 125 bytes, the size of
     * p->control. */
    if (wsgw_frame_is_control(f->opcode)) {
        for (i = 0; i < n; ++i) {
            unsigned char b = data[i];

            if (f->masked) {
                b ^= f->mask_key[(p->mask_pos + i) & 3];
            }
            p->control[p->control_len + i] = b;
        }
        p->control_len += n;
    }
    p->remaining -= n;
    p->mask_pos += n;
    if (p->remaining > 0) {
        wsgw_frame_event_set(p, ev, WSGW_FRAME_NEED_MORE);
        return n;
    }

    if (f->opcode == WSGW_FRAME_OP_CLOSE) {
        if (p->control_len >= 2) {
            code = ((unsigned int)p->control[0] << 8) | p->control[1];
            if (!wsgw_frame_close_code_valid(code)) {
                /* in_payload stays set: the frame was not consumed. */
                return wsgw_frame_fail(p, ev, WSGW_FRAME_E_CLOSE_CODE);
            }
            ev->close_code = (apr_uint16_t)code;
        }
        else {
            ev->close_code = WSGW_CLOSE_NO_STATUS;
        }
    }
    if (wsgw_frame_is_control(f->opcode)) {
        memcpy(ev->control, p->control, p->control_len);
        ev->control_len = p->control_len;
    }
    p->in_payload = 0;
    wsgw_frame_event_set(p, ev, WSGW_FRAME_END);
    return n;
}

void wsgw_frame_parser_init(wsgw_frame_parser_t *p, int from_client,
                            unsigned int rsv_allowed, apr_uint64_t max_message)
{
    memset(p, 0, sizeof(*p));
    p->from_client = from_client ? 1 : 0;
    p->rsv_allowed = rsv_allowed & WSGW_FRAME_RSV_ALL;
    p->max_message = max_message;
    p->hdr_need = 2;
}

apr_size_t wsgw_frame_parser_feed(wsgw_frame_parser_t *p,
                                  const unsigned char *data, apr_size_t len,
                                  wsgw_frame_event_t *ev)
{
    ev->control_len = 0;
    ev->close_code = 0;
    ev->reason = NULL;

    if (p->failed) {
        return wsgw_frame_fail(p, ev, (wsgw_frame_error_e)(p->failed - 1));
    }
    /* An empty payload also goes this way, which yields its END without
     * consuming anything. */
    if (p->in_payload) {
        return wsgw_frame_feed_payload(p, data, len, ev);
    }
    return wsgw_frame_feed_header(p, data, len, ev);
}

int wsgw_frame_parser_needs_input(const wsgw_frame_parser_t *p)
{
    return !p->failed && !(p->in_payload && p->remaining == 0);
}

int wsgw_frame_parser_at_boundary(const wsgw_frame_parser_t *p)
{
    return p->hdr_have == 0 && !p->in_payload;
}

apr_size_t wsgw_frame_write_control(unsigned char *buf, unsigned int opcode,
                                    const void *payload, apr_size_t len,
                                    const unsigned char *mask)
{
    const unsigned char *src = payload;
    apr_size_t hlen = 2;
    apr_size_t i;

    if (src == NULL) {
        len = 0;
    }
    if (len > 125) {
        len = 125;
    }
    buf[0] = (unsigned char)(0x80 | (opcode & 0x0F));
    buf[1] = (unsigned char)len;
    if (mask != NULL) {
        buf[1] |= 0x80;
        memcpy(buf + 2, mask, 4);
        hlen += 4;
    }
    for (i = 0; i < len; ++i) {
        buf[hlen + i] = mask ? (unsigned char)(src[i] ^ mask[i & 3]) : src[i];
    }
    return hlen + len;
}

apr_size_t wsgw_frame_write_close(unsigned char *buf, apr_uint16_t code,
                                  const char *reason, const unsigned char *mask)
{
    unsigned char body[125];
    apr_size_t rlen;
    int back;

    /* 1005 and 1006 stand for "no code" locally and must never be sent
     * (§7.4.1): such a Close goes out without a body, as does any other
     * code a peer would have to reject. */
    if (!wsgw_frame_close_code_valid(code)) {
        return wsgw_frame_write_control(buf, WSGW_FRAME_OP_CLOSE, NULL, 0,
                                        mask);
    }
    body[0] = (unsigned char)(code >> 8);
    body[1] = (unsigned char)(code & 0xFF);
    rlen = reason ? strlen(reason) : 0;
    if (rlen > sizeof(body) - 2) {
        rlen = sizeof(body) - 2;
        /* The reason must stay valid UTF-8 (§5.5.1), so never cut inside
         * a character: back up over its continuation bytes (at most 3, so
         * that a reason which is not UTF-8 anyway is not emptied). */
        back = 0;
        while (back < 3 && ((unsigned char)reason[rlen] & 0xC0) == 0x80) {
            --rlen;
            ++back;
        }
    }
    if (rlen > 0) {
        memcpy(body + 2, reason, rlen);
    }
    return wsgw_frame_write_control(buf, WSGW_FRAME_OP_CLOSE, body, 2 + rlen,
                                    mask);
}
