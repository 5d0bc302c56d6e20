/*
 * RFC 6455 frame parser and writer (APR-only core).
 *
 * The parser tracks frame boundaries in one direction of a tunnel without
 * copying or unmasking data payloads: the tunnel feeds it the bytes it is
 * about to forward and learns where headers start and frames end, so it can
 * inject control frames between frames, swallow frames it answers itself
 * (pongs to its own pings), enforce limits and record close codes. Only the
 * payload of control frames (at most 125 bytes) is copied and unmasked.
 *
 * Memory: a parser is a fixed-size struct owned by the caller; it allocates
 * nothing.
 */
#ifndef WSGW_FRAME_H
#define WSGW_FRAME_H

#include <apr.h>

#define WSGW_FRAME_OP_CONT    0x0
#define WSGW_FRAME_OP_TEXT    0x1
#define WSGW_FRAME_OP_BINARY  0x2
#define WSGW_FRAME_OP_CLOSE   0x8
#define WSGW_FRAME_OP_PING    0x9
#define WSGW_FRAME_OP_PONG    0xA

#define WSGW_FRAME_RSV1       0x40   /* permessage-deflate */
#define WSGW_FRAME_RSV_ALL    0x70

/* Close status codes used by the gateway (RFC 6455 §7.4.1). */
#define WSGW_CLOSE_NORMAL        1000
#define WSGW_CLOSE_GOING_AWAY    1001
#define WSGW_CLOSE_PROTOCOL      1002
#define WSGW_CLOSE_NO_STATUS     1005  /* never sent: "Close without a code" */
#define WSGW_CLOSE_ABNORMAL      1006  /* never sent: "no Close at all" */
#define WSGW_CLOSE_TOO_BIG       1009

/* Largest frame header: 2 + 8 (length) + 4 (mask). */
#define WSGW_FRAME_HEADER_MAX    14
/* Largest control frame on the wire: header + 125 bytes of payload. */
#define WSGW_FRAME_CONTROL_MAX   (WSGW_FRAME_HEADER_MAX + 125)

typedef enum {
    WSGW_FRAME_NEED_MORE = 0, /* every byte given was consumed, no event */
    WSGW_FRAME_HEADER,        /* a complete, valid header was consumed */
    WSGW_FRAME_END,           /* the last byte of the current frame was consumed */
    WSGW_FRAME_ERROR          /* protocol violation; see close_code/reason */
} wsgw_frame_event_e;

typedef struct wsgw_frame_t {
    unsigned int    fin;          /* 0 or 1 */
    unsigned int    rsv;          /* RSV bits as on the wire (mask 0x70) */
    unsigned int    opcode;       /* WSGW_FRAME_OP_* */
    unsigned int    masked;       /* 0 or 1 */
    unsigned char   mask_key[4];
    apr_uint64_t    payload_len;
    apr_size_t      header_len;   /* 2..14 bytes */
} wsgw_frame_t;

typedef struct wsgw_frame_event_t {
    wsgw_frame_event_e type;
    /* HEADER and END: the frame concerned. */
    wsgw_frame_t       frame;
    /* END of a control frame: its unmasked payload. */
    unsigned char      control[125];
    apr_size_t         control_len;
    /* END of a Close frame: its status code, or WSGW_CLOSE_NO_STATUS when it
     * carried none. ERROR: the code to close with (1002, or 1009 when the
     * message limit was passed). */
    apr_uint16_t       close_code;
    /* ERROR: a static, lowercase description for the error log. */
    const char        *reason;
} wsgw_frame_event_t;

/* Parser state for one direction. Treat the fields as private. */
typedef struct wsgw_frame_parser_t {
    int            from_client;      /* 1: frames must be masked; 0: must not */
    unsigned int   rsv_allowed;      /* RSV bits permitted (0, or WSGW_FRAME_RSV1) */
    apr_uint64_t   max_message;      /* 0: unlimited; else bytes per data message */
    /* private */
    unsigned char  hdr[WSGW_FRAME_HEADER_MAX];
    apr_size_t     hdr_have;
    apr_size_t     hdr_need;
    int            in_payload;
    apr_uint64_t   remaining;        /* payload bytes of the current frame still to come */
    apr_uint64_t   mask_pos;         /* position in the payload (for unmasking control) */
    wsgw_frame_t   cur;
    int            in_message;       /* a fragmented data message is open */
    apr_uint64_t   message_len;      /* payload bytes of the open message so far */
    unsigned char  control[125];
    apr_size_t     control_len;
    int            failed;           /* sticky after an ERROR */
} wsgw_frame_parser_t;

/**
 * Initialise @a p for one direction.
 * @param from_client  1 for client-to-backend (masked frames), 0 otherwise
 * @param rsv_allowed  RSV bits an extension negotiated (WSGW_FRAME_RSV1 for
 *                     permessage-deflate), else 0
 * @param max_message  largest data message in bytes, 0 for no limit
 */
void wsgw_frame_parser_init(wsgw_frame_parser_t *p, int from_client,
                            unsigned int rsv_allowed, apr_uint64_t max_message);

/**
 * Consume bytes from @a data up to the next event.
 * @return how many bytes were consumed (0..len). Call again with the rest.
 *         With WSGW_FRAME_HEADER, the header's bytes are the last ones
 *         consumed; with WSGW_FRAME_END, the frame's last byte is the last
 *         one consumed (a frame with an empty payload gives HEADER, then END
 *         on the next call, which consumes 0 bytes). After an ERROR the
 *         parser keeps returning ERROR and consumes nothing; the bytes of the
 *         offending header are not counted as consumed. One error comes
 *         after a HEADER: a Close frame's code is judged at its end, so a
 *         caller that must never forward an invalid Close holds each Close
 *         frame until its END (at most WSGW_FRAME_CONTROL_MAX bytes).
 */
apr_size_t wsgw_frame_parser_feed(wsgw_frame_parser_t *p,
                                  const unsigned char *data, apr_size_t len,
                                  wsgw_frame_event_t *ev);

/** 1 when the parser has no event to give without more bytes (0: an empty
 * payload's END is due, which a call with no bytes returns). */
int wsgw_frame_parser_needs_input(const wsgw_frame_parser_t *p);

/** 1 when no frame is partly consumed (a control frame may be injected). */
int wsgw_frame_parser_at_boundary(const wsgw_frame_parser_t *p);

/**
 * Write a complete control frame (FIN set) into @a buf, which must hold
 * WSGW_FRAME_CONTROL_MAX bytes. @a len is at most 125 (longer is cut).
 * @param mask  4-byte masking key (frames from the gateway to a backend),
 *              or NULL for an unmasked frame (to a client)
 * @return the frame's length in bytes
 */
apr_size_t wsgw_frame_write_control(unsigned char *buf, unsigned int opcode,
                                    const void *payload, apr_size_t len,
                                    const unsigned char *mask);

/**
 * Write a Close frame with status @a code and optional @a reason (cut to fit
 * 125 bytes) into @a buf (WSGW_FRAME_CONTROL_MAX bytes); @a mask as above.
 * @return the frame's length in bytes
 */
apr_size_t wsgw_frame_write_close(unsigned char *buf, apr_uint16_t code,
                                  const char *reason, const unsigned char *mask);

#endif /* WSGW_FRAME_H */
