/* bench_util.h — what the C benchmarks (gemm_bench.c, rows_bench.c) share: a monotonic clock in ms, a reproducible
 * uniform generator (seed it through rng_state), and the medians of their timed runs. */
#ifndef XLMR_BENCH_UTIL_H
#define XLMR_BENCH_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint32_t rng_state = 1;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1 << 23) - 1.0f;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median of the second half of times[0 .. runs) (the first half is warm-up); sorts that half */
static inline double median_late(double *times, int runs) {
    const int h = runs / 2;
    qsort(times + h, (size_t)(runs - h), sizeof times[0], cmp_double);
    return times[h + (runs - h) / 2];
}

#endif
