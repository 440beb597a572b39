/* test.h — a tiny test harness shared by the C unit tests (native and wasm builds).
 * Each test program runs its checks and ends with the line "<name>: N passed, N failed";
 * the exit status is non-zero if any check failed or if none ran. Fixtures are read relative to the
 * repository root (make runs tests from there; the wasm runner preopens it). */
#ifndef XLMR_TEST_H
#define XLMR_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (cond) {                                                                       \
            test_passed++;                                                                \
        } else {                                                                          \
            test_failed++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
        }                                                                                 \
    } while (0)

/* |a - b| <= tol, NaN fails */
#define CHECK_NEAR(a, b, tol, ...) CHECK(fabs((double)(a) - (double)(b)) <= (tol), __VA_ARGS__)

/* A program that ran no check fails too: a test whose checks were all skipped or compiled out proves nothing. */
static inline int test_report(const char *name) {
    printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
    if (test_passed + test_failed == 0) fprintf(stderr, "FAIL %s: no check ran\n", name);
    return test_failed || test_passed == 0 ? 1 : 0;
}

/* Reads a whole file (tests only; the library itself never touches files). */
static inline unsigned char *test_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (buf) buf[n] = 0;
    fclose(f);
    if (len) *len = (size_t)n;
    return buf;
}

#endif
