/*
 * Latency histogram (log-linear, HdrHistogram-like) and the clock.
 *
 * Values below 128 have their own bucket; above, each power of two is cut
 * into 64 buckets, so a bucket is at most 1/64 of its value wide.
 */
#include <string.h>
#include <time.h>

#include "wsgb.h"

uint64_t wsgb_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t wsgb_hist_index(uint64_t v)
{
    int msb, shift;
    size_t idx;

    if (v < 2 * WSGB_HIST_SUB) {
        return (size_t)v;
    }
    msb = 63 - __builtin_clzll(v);
    shift = msb - 6;
    idx = (size_t)WSGB_HIST_SUB * (size_t)shift + (size_t)(v >> shift);
    return idx < WSGB_HIST_BUCKETS ? idx : WSGB_HIST_BUCKETS - 1;
}

/* Midpoint of bucket @a idx. */
static uint64_t wsgb_hist_value(size_t idx)
{
    size_t shift;
    uint64_t m;

    if (idx < 2 * WSGB_HIST_SUB) {
        return idx;
    }
    shift = idx / WSGB_HIST_SUB - 1;
    m = idx - WSGB_HIST_SUB * shift;
    return (m << shift) + ((uint64_t)1 << shift) / 2;
}

void wsgb_hist_init(wsgb_hist_t *h)
{
    memset(h, 0, sizeof(*h));
}

void wsgb_hist_add(wsgb_hist_t *h, uint64_t v)
{
    h->count[wsgb_hist_index(v)]++;
    if (h->n == 0 || v < h->min) {
        h->min = v;
    }
    if (v > h->max) {
        h->max = v;
    }
    h->n++;
    h->sum += (double)v;
}

uint64_t wsgb_hist_quantile(const wsgb_hist_t *h, double q)
{
    uint64_t want, seen = 0;
    size_t i;

    if (h->n == 0) {
        return 0;
    }
    if (q >= 1.0) {
        return h->max;
    }
    want = (uint64_t)(q * (double)h->n + 0.999999);
    if (want == 0) {
        want = 1;
    }
    for (i = 0; i < WSGB_HIST_BUCKETS; ++i) {
        seen += h->count[i];
        if (seen >= want) {
            uint64_t v = wsgb_hist_value(i);

            return v > h->max ? h->max : (v < h->min ? h->min : v);
        }
    }
    return h->max;
}
