/*
 * Minimal TAP producer for the core unit tests (no framework dependency).
 * Each test program prints "ok N - name" / "not ok N - name" and a plan,
 * and exits non-zero when anything failed.
 */
#ifndef WSGW_TEST_H
#define WSGW_TEST_H

#include <stdio.h>
#include <string.h>

static int wsgw_test_count;
static int wsgw_test_failed;

#define WSGW_CHECK(cond, name) do {                                        \
        ++wsgw_test_count;                                                 \
        if (cond) {                                                        \
            printf("ok %d - %s\n", wsgw_test_count, (name));               \
        } else {                                                           \
            ++wsgw_test_failed;                                            \
            printf("not ok %d - %s (%s:%d: %s)\n", wsgw_test_count,        \
                   (name), __FILE__, __LINE__, #cond);                     \
        }                                                                  \
    } while (0)

#define WSGW_CHECK_STR(got, want, name) do {                               \
        const char *wsgw_g_ = (got), *wsgw_w_ = (want);                    \
        int wsgw_ok_ = (wsgw_g_ && wsgw_w_) ? !strcmp(wsgw_g_, wsgw_w_)    \
                                            : wsgw_g_ == wsgw_w_;          \
        WSGW_CHECK(wsgw_ok_, name);                                        \
        if (!wsgw_ok_) {                                                   \
            printf("#   got:  '%s'\n#   want: '%s'\n",                     \
                   wsgw_g_ ? wsgw_g_ : "(null)",                           \
                   wsgw_w_ ? wsgw_w_ : "(null)");                          \
        }                                                                  \
    } while (0)

#define WSGW_DONE() (printf("1..%d\n", wsgw_test_count), \
                     wsgw_test_failed ? 1 : 0)

#endif /* WSGW_TEST_H */
