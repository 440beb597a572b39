/* common.h — what every module of the core shares: status codes, the error value,
 * allocator hooks, little-endian reads and fp16/bf16 conversion.
 *
 * Errors are values: a function that can fail returns an xlmr_status and, when an
 * xlmr_error* is given, writes a message a person can act on (which tensor, which
 * offset, what was expected). Nothing here prints or aborts. */
#ifndef XLMR_COMMON_H
#define XLMR_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Stable codes: the JS layer maps each to an Error subclass with a string code. */
typedef enum xlmr_status {
    XLMR_OK = 0,
    XLMR_ERR_FORMAT = 1,    /* malformed, truncated or unsupported file   -> ERR_MODEL_FORMAT */
    XLMR_ERR_NOMEM = 2,     /* an allocation failed                        -> ERR_OUT_OF_MEMORY */
    XLMR_ERR_TOO_LONG = 3,  /* input longer than the model accepts         -> ERR_TOO_LONG */
    XLMR_ERR_NO_MASK = 4,   /* fill-mask on a text without <mask>          -> ERR_NO_MASK */
    XLMR_ERR_ARG = 5,       /* invalid argument from the caller            -> ERR_INVALID_ARGUMENT */
    XLMR_ERR_STATE = 6,     /* call out of order (e.g. weights before config) -> ERR_INVALID_STATE */
    XLMR_ERR_UNSUPPORTED = 7, /* the model lacks what the call needs (another task head) -> ERR_UNSUPPORTED */
} xlmr_status;

#define XLMR_ERROR_MSG_MAX 320

typedef struct xlmr_error {
    xlmr_status code;
    char msg[XLMR_ERROR_MSG_MAX];
} xlmr_error;

/* Sets err (if non-NULL) and returns code, so callers can `return xlmr_fail(err, ...)`. */
xlmr_status xlmr_fail(xlmr_error *err, xlmr_status code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void xlmr_error_clear(xlmr_error *err);
const char *xlmr_status_name(xlmr_status code);

/* Allocator hooks (stb style): define XLMR_MALLOC & co before including to override. */
#ifndef XLMR_MALLOC
#include <stdlib.h>
#define XLMR_MALLOC(n) malloc(n)
#define XLMR_CALLOC(n, m) calloc((n), (m))
#define XLMR_REALLOC(p, n) realloc((p), (n))
#define XLMR_FREE(p) free(p)
#endif

/* Checked size arithmetic for sizes read from untrusted files: returns 0 on overflow. */
static inline int xlmr_mul_size(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}
static inline int xlmr_add_size(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}

/* Little-endian loads (files are little-endian; wasm32 and x86 are too, but we do not rely on it). */
static inline uint16_t xlmr_rd_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t xlmr_rd_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t xlmr_rd_u64(const uint8_t *p) {
    return (uint64_t)xlmr_rd_u32(p) | ((uint64_t)xlmr_rd_u32(p + 4) << 32);
}
static inline float xlmr_rd_f32(const uint8_t *p) {
    uint32_t u = xlmr_rd_u32(p);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* IEEE half <-> float, exact (round-to-nearest-even on the way down). */
float xlmr_fp16_to_f32(uint16_t h);
uint16_t xlmr_f32_to_fp16(float f);
/* bfloat16 is the top half of a float32. */
static inline float xlmr_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

#endif
