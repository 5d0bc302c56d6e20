/*
 * ws-gateway-migrate: the messages printed on standard error.
 *
 *   FILE:LINE: converted ...        a recipe was rewritten (exit 0)
 *   FILE:LINE: warning: ...         needs review (exit 1)
 *   FILE:LINE: note: ...            information only (exit unaffected)
 *   FILE[:LINE]: error: ...         unusable input (exit 2)
 *   ws-gateway-migrate: hint: ...   what to do with the module list
 *
 * Messages are collected and printed sorted by file (in the order files
 * were first named), line, then the order they were added, so the output
 * does not depend on the order in which the recognisers run.
 */
#ifndef WSGM_MSG_H
#define WSGM_MSG_H

#include <stdio.h>

#include <apr_pools.h>

typedef enum {
    WSGM_MSG_CONVERTED = 0,
    WSGM_MSG_WARNING,
    WSGM_MSG_NOTE,
    WSGM_MSG_ERROR,
    WSGM_MSG_HINT
} wsgm_msg_level_e;

typedef struct wsgm_msgs_t wsgm_msgs_t;

/** A new, empty message list living in @a p. */
wsgm_msgs_t *wsgm_msg_create(apr_pool_t *p);

/**
 * Add a message about @a file (display name; NULL for hints) at @a line
 * (1-based, 0 for the whole file). The text is formatted into the list's
 * pool.
 */
void wsgm_msg_add(wsgm_msgs_t *ms, wsgm_msg_level_e level, const char *file,
                  int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/** How many messages of @a level were added. */
int wsgm_msg_count(const wsgm_msgs_t *ms, wsgm_msg_level_e level);

/** Print every message to @a out and forget them. */
void wsgm_msg_flush(wsgm_msgs_t *ms, FILE *out);

#endif /* WSGM_MSG_H */
