#include "quant.h"

#include <math.h>

/* roundf (halves away from zero) without a libm call: wasm has no such instruction and wasi-libc's roundf
 * is slow. Equal to roundf for every input: v - truncf(v) is exact. */
static inline float round_half_away(float v) {
    float t = truncf(v);
    if (fabsf(v - t) >= 0.5f) t += copysignf(1.0f, v);
    return t;
}

void q8_0_quantize_row(const float *x, block_q8_0 *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            const float a = fabsf(xb[j]);
            amax = amax > a ? amax : a; /* ggml's MAX(amax, fabsf(v)) */
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = xlmr_f32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) {
            const float x0 = round_half_away(xb[j] * id);
            /* finite inputs land in [-127, 127]; the guard only catches inf/nan */
            y[i].qs[j] = (x0 >= -128.0f && x0 <= 127.0f) ? (int8_t)x0 : 0;
        }
    }
}

void q8_0_dequantize_row(const block_q8_0 *x, float *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        const float d = xlmr_fp16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = x[i].qs[j] * d;
    }
}

/* The two Q4_0 row loops stay scalar (no vectorizing, no unrolling): they run at load and per gathered row, where
 * the vector forms' code size in every wasm build is not worth their speed. */
void q4_0_quantize_row(const float *x, block_q4_0 *y, int64_t k) {
    const int64_t nb = k / QK4_0;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK4_0;
        float amax = 0.0f, max = 0.0f;
        _Pragma("clang loop vectorize(disable) unroll(disable)")
        for (int j = 0; j < QK4_0; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
                max = xb[j];
            }
        }
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = xlmr_f32_to_fp16(d);
        _Pragma("clang loop vectorize(disable) unroll(disable)")
        for (int j = 0; j < QK4_0 / 2; j++) {
            const float v0 = xb[j] * id + 8.5f, v1 = xb[j + QK4_0 / 2] * id + 8.5f;
            /* finite inputs land in [0.5, 16.5]: (int8_t) truncates, MIN caps the max element's 16 */
            const int n0 = v0 >= 0.0f && v0 < 127.0f ? (int)v0 : 8, n1 = v1 >= 0.0f && v1 < 127.0f ? (int)v1 : 8;
            y[i].qs[j] = (uint8_t)((n0 < 15 ? n0 : 15) | (n1 < 15 ? n1 : 15) << 4);
        }
    }
}

void q4_0_dequantize_row(const block_q4_0 *x, float *y, int64_t k) {
    const int64_t nb = k / QK4_0;
    for (int64_t i = 0; i < nb; i++) {
        const float d = xlmr_fp16_to_f32(x[i].d);
        _Pragma("clang loop vectorize(disable) unroll(disable)")
        for (int j = 0; j < QK4_0 / 2; j++) {
            y[i * QK4_0 + j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[i * QK4_0 + j + QK4_0 / 2] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Row-major block b of a (rows, K) Q8_0 tensor in a 4-row layout (XLMR_LAYOUT_Q8_0X4*): its group block and row in it. */
static inline block_q8_0x4 *q8_0x4_at(void *data, int64_t nb, uint64_t b, int *r) {
    const uint64_t row = b / (uint64_t)nb, j = b % (uint64_t)nb;
    *r = (int)(row % 4);
    return (block_q8_0x4 *)data + (row / 4) * (uint64_t)nb + j;
}

/* Row r of a 4-row block from / to a row-major block: run p of R columns sits at qs[R (4p + r)] (model.h). R is a
 * constant in each call, so the copies are R-byte moves. */
static inline void q8_0x4_scatter(int8_t *qs, const int8_t *row, int r, const int R) {
    for (int p = 0; p < QK8_0 / R; p++) memcpy(qs + R * (4 * p + r), row + R * p, (size_t)R);
}
static inline void q8_0x4_gather(int8_t *row, const int8_t *qs, int r, const int R) {
    for (int p = 0; p < QK8_0 / R; p++) memcpy(row + R * p, qs + R * (4 * p + r), (size_t)R);
}

void q8_0_put_blocks(xlmr_tensor *t, uint64_t first, const block_q8_0 *src, size_t n) {
    if (t->layout == XLMR_LAYOUT_ROWS) {
        memcpy((block_q8_0 *)t->data + first, src, n * sizeof *src);
        return;
    }
    const int64_t nb = t->ne[0] / QK8_0;
    const int R = q8_0x4_run(t->layout);
    for (size_t k = 0; k < n; k++) {
        int r;
        block_q8_0x4 *g = q8_0x4_at(t->data, nb, first + k, &r);
        g->d[r] = src[k].d;
        if (R == 4) q8_0x4_scatter(g->qs, src[k].qs, r, 4);
        else q8_0x4_scatter(g->qs, src[k].qs, r, 2);
    }
}

void q8_0_get_blocks(const xlmr_tensor *t, uint64_t first, block_q8_0 *dst, size_t n) {
    if (t->layout == XLMR_LAYOUT_ROWS) {
        memcpy(dst, (const block_q8_0 *)t->data + first, n * sizeof *dst);
        return;
    }
    const int64_t nb = t->ne[0] / QK8_0;
    const int R = q8_0x4_run(t->layout);
    for (size_t k = 0; k < n; k++) {
        int r;
        const block_q8_0x4 *g = q8_0x4_at(t->data, nb, first + k, &r);
        dst[k].d = g->d[r];
        if (R == 4) q8_0x4_gather(dst[k].qs, g->qs, r, 4);
        else q8_0x4_gather(dst[k].qs, g->qs, r, 2);
    }
}

void q8_0_quantize_into(xlmr_tensor *t, uint64_t first, const float *x, int64_t k) {
    if (t->layout == XLMR_LAYOUT_ROWS) {
        q8_0_quantize_row(x, (block_q8_0 *)t->data + first, k);
        return;
    }
    block_q8_0 b;
    for (int64_t i = 0; i < k / QK8_0; i++) {
        q8_0_quantize_row(x + i * QK8_0, &b, QK8_0);
        q8_0_put_blocks(t, first + (uint64_t)i, &b, 1);
    }
}

/* Branch-light conversions (F. Giesen's half <-> float), bit-identical to xlmr_fp16_to_f32 and
 * xlmr_f32_to_fp16 (round to nearest even) for every input; tests/c/test_quant.c checks it. They carry
 * the loader's F16 paths and the F16 embedding-row gathers. */
static inline float f16_to_f32_fast(uint16_t h) {
    const uint32_t shifted_exp = 0x7c00u << 13;
    uint32_t o = (uint32_t)(h & 0x7fff) << 13;
    const uint32_t exp = shifted_exp & o;
    o += (uint32_t)(127 - 15) << 23;
    if (exp == shifted_exp) {
        o += (uint32_t)(128 - 16) << 23; /* inf / nan */
    } else if (exp == 0) {               /* zero / subnormal: renormalise with one float subtraction */
        const uint32_t magic_bits = 113u << 23;
        float f, magic;
        o += 1u << 23;
        memcpy(&f, &o, 4);
        memcpy(&magic, &magic_bits, 4);
        f -= magic;
        memcpy(&o, &f, 4);
    }
    o |= (uint32_t)(h & 0x8000) << 16;
    float r;
    memcpy(&r, &o, 4);
    return r;
}

static inline uint16_t f32_to_f16_fast(float x) {
    const uint32_t f32_inf = 255u << 23, f16_max = (127u + 16) << 23;
    const uint32_t denorm_magic_bits = ((127u - 15) + (23 - 10) + 1) << 23;
    uint32_t f;
    memcpy(&f, &x, 4);
    const uint32_t sign = f & 0x80000000u;
    f ^= sign;
    uint16_t o;
    if (f >= f16_max) {
        o = f > f32_inf ? 0x7e00 : 0x7c00; /* nan -> quiet nan, overflow -> inf */
    } else if (f < (113u << 23)) {         /* subnormal or zero: let the float adder round */
        float ff, dm;
        memcpy(&ff, &f, 4);
        memcpy(&dm, &denorm_magic_bits, 4);
        ff += dm;
        memcpy(&f, &ff, 4);
        o = (uint16_t)(f - denorm_magic_bits);
    } else {
        const uint32_t mant_odd = (f >> 13) & 1;
        f += ((uint32_t)(15 - 127) << 23) + 0xfff;
        f += mant_odd;
        o = (uint16_t)(f >> 13);
    }
    return (uint16_t)(o | (sign >> 16));
}

void f16_from_f32_row(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f32_to_f16_fast(x[i]);
}

void f16_to_f32_row(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = f16_to_f32_fast(x[i]);
}

void bf16_to_f32_row(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = xlmr_bf16_to_f32(x[i]);
}

size_t quant_type_size(int32_t type, int64_t n) {
    if (n < 0 || (uint64_t)n > SIZE_MAX / 4) return 0;
    switch (type) {
    case XLMR_TYPE_F32: return (size_t)n * 4;
    case XLMR_TYPE_F16:
    case XLMR_TYPE_BF16: return (size_t)n * 2;
    case XLMR_TYPE_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    case XLMR_TYPE_Q4_0: return (size_t)(n / QK4_0) * sizeof(block_q4_0);
    }
    return 0;
}

const char *quant_type_name(int32_t type) {
    switch (type) {
    case XLMR_TYPE_F32: return "F32";
    case XLMR_TYPE_F16: return "F16";
    case XLMR_TYPE_BF16: return "BF16";
    case XLMR_TYPE_Q8_0: return "Q8_0";
    case XLMR_TYPE_Q4_0: return "Q4_0";
    }
    return "unknown";
}
