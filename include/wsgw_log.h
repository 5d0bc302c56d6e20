/*
 * Message IDs for mod_ws_gateway's error log entries.
 *
 * Every ap_log_*error call at DEBUG or above carries exactly one ID, written
 * WSGW_LOGNO(nnnnn) with five digits; it expands to "WSGWnnnnn: " so admins
 * can grep for it. One ID per call site, never reused, kept when only the
 * wording changes; TRACE levels carry none. docs/log-ids.md lists every ID
 * with its meaning and what to do; `make check` refuses duplicates and IDs
 * missing from that registry (build/check-log-ids.sh).
 *
 * This header is APR-only so the core and the migrate tool may use it.
 */
#ifndef WSGW_LOG_H
#define WSGW_LOG_H

#define WSGW_LOGNO(n) "WSGW" #n ": "

#endif /* WSGW_LOG_H */
