/* kernels_simd128_i16.c — attention's int16 products in SIMD128 (kern_matmul_i16x4_simd128) and the quantization
 * of its operands to int16 (the probabilities': kern_softmax_prob_i16_simd128, kernels_simd128_rows.c); see
 * kernels.h for the layouts. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <string.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* ---- int16 attention products (kernels.h: kern_matmul_i16x4) ----
 *
 * The q8x4 tile without widening: per column pair one v128.load gives 4 rows' pair, v128.load32_splat a token's
 * pair, i32x4.dot_i16x8 leaves the 4 rows' partial sums in 4 lanes. G groups (4G rows) × TT tokens.
 *
 * The sums run in chunks of KERN_I16_CHUNK_PAIRS column pairs, each chunk's sums started by its first products and added
 * to the tile's totals after it (integer sums: the same bits in any grouping). For SpiderMonkey: its register
 * allocator keeps 8 accumulators in registers through a loop when their lives end just after it, and spills 7 of
 * them to the stack, a load and a store per product, when they live on to the tile's end (Firefox 153: 38–42
 * against 64–73 GOP/s, BENCHMARKS.md "Firefox (session 17)"). V8 runs it as fast, or up to 3% faster. */

static inline __attribute__((always_inline)) void i16x4_tile(float *y, int ldy, const int16_t *x, int K,
                                                            const float *dx, const int16_t *w, const float *dw, int n,
                                                            int N, const int G, const int TT) {
    v128_t a[2][4]; /* (G, TT) sums of the chunks so far */
    for (int g = 0; g < G; g++)
        for (int t = 0; t < TT; t++) a[g][t] = wasm_i32x4_splat(0);
    const int16_t *w1 = w + (size_t)4 * K;
    for (int c = 0; c < K / 2; c += KERN_I16_CHUNK_PAIRS) {
        const int c_end = K / 2 - c < KERN_I16_CHUNK_PAIRS ? K / 2 : c + KERN_I16_CHUNK_PAIRS;
        v128_t s_chunk[2][4];
        {
            const v128_t w0v = wasm_v128_load(w + 8 * c);
            const v128_t w1v = G > 1 ? wasm_v128_load(w1 + 8 * c) : w0v;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(x + (size_t)t * K + 2 * c);
                s_chunk[0][t] = wasm_i32x4_dot_i16x8(w0v, s);
                if (G > 1) s_chunk[1][t] = wasm_i32x4_dot_i16x8(w1v, s);
            }
        }
#pragma clang loop unroll(disable)
        for (int p = c + 1; p < c_end; p++) {
            const v128_t w0v = wasm_v128_load(w + 8 * p);
            const v128_t w1v = G > 1 ? wasm_v128_load(w1 + 8 * p) : w0v;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(x + (size_t)t * K + 2 * p);
                s_chunk[0][t] = wasm_i32x4_add(s_chunk[0][t], wasm_i32x4_dot_i16x8(w0v, s));
                if (G > 1) s_chunk[1][t] = wasm_i32x4_add(s_chunk[1][t], wasm_i32x4_dot_i16x8(w1v, s));
            }
        }
        for (int g = 0; g < G; g++)
            for (int t = 0; t < TT; t++) a[g][t] = wasm_i32x4_add(a[g][t], s_chunk[g][t]);
    }
    for (int g = 0; g < G; g++) {
        const int n0 = n + 4 * g;
        const v128_t dwv = wasm_v128_load(dw + n0);
        for (int t = 0; t < TT; t++) {
            const v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a[g][t]), wasm_f32x4_mul(dwv, wasm_f32x4_splat(dx[t])));
            float *yt = y + (size_t)t * ldy + n0;
            if (n0 + 4 <= N) {
                wasm_v128_store(yt, f);
            } else {
                float lanes[4];
                wasm_v128_store(lanes, f);
                for (int i = 0; i < N - n0; i++) yt[i] = lanes[i];
            }
        }
    }
}

/* All row groups for TT tokens: pairs of groups, then the odd one. */
static inline __attribute__((always_inline)) void i16x4_tokens(float *y, int ldy, const int16_t *x, int K,
                                                              const float *dx, const int16_t *w, const float *dw, int N,
                                                              const int TT) {
    const int groups = (N + 3) / 4;
    int g = 0;
    for (; g + 2 <= groups; g += 2) i16x4_tile(y, ldy, x, K, dx, w + (size_t)g * 4 * K, dw, 4 * g, N, 2, TT);
    if (g < groups) i16x4_tile(y, ldy, x, K, dx, w + (size_t)g * 4 * K, dw, 4 * g, N, 1, TT);
}

void kern_matmul_i16x4_simd128(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw,
                               int T, int N, int K) {
    int t = 0;
    for (; t + 4 <= T; t += 4) i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 4);
    switch (T - t) {
    case 3: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 3); break;
    case 2: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 2); break;
    case 1: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 1); break;
    }
}

/* ---- attention's operands to int16 (kernels.h: kern_quantize_row_i16, kern_quantize_cols_i16) ----
 * The scalar reference's operations: the amax by pmax (the scalar's v > amax ? v : amax, NaNs skipped alike), the same
 * float multiply and KERN_ROUND_MAGIC rounding, each int32's low 16 bits (masked, then an unsigned narrow that cannot
 * saturate). Bit-identical outputs. */

static inline float amax_f32(const float *x, int n) {
    v128_t m = wasm_f32x4_splat(0.0f);
    int i = 0;
    for (; i + 4 <= n; i += 4) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(x + i)));
    m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
    m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
    float amax = wasm_f32x4_extract_lane(m, 0);
    for (; i < n; i++) {
        const float v = fabsf(x[i]);
        amax = v > amax ? v : amax;
    }
    return amax;
}

/* nearest-even(v · inv) as int32 lanes (low 16 bits meaningful) */
static inline v128_t round_scaled(v128_t v, v128_t inv) {
    return wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(v, inv), KERN_K(round_magic)), KERN_K(round_magic_bits));
}

static inline int16_t round_scaled_1(float v, float inv) {
    const float r = v * inv + KERN_ROUND_MAGIC;
    int32_t bits;
    memcpy(&bits, &r, sizeof bits);
    return (int16_t)(bits - KERN_ROUND_MAGIC_BITS);
}

float kern_quantize_row_i16_simd128(const float *x, int n, float range, int16_t *q, int pair_step) {
    const float amax = amax_f32(x, n);
    const float inv = amax > 0.0f ? range / amax : 0.0f;
    const v128_t vinv = wasm_f32x4_splat(inv), low16 = KERN_K(low16);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const v128_t a = wasm_v128_and(round_scaled(wasm_v128_load(x + i), vinv), low16);
        const v128_t b = wasm_v128_and(round_scaled(wasm_v128_load(x + i + 4), vinv), low16);
        const v128_t h = wasm_u16x8_narrow_i32x4(a, b); /* values i .. i + 7: pairs i / 2 .. i / 2 + 3 */
        int16_t *at = q + (size_t)(i / 2) * pair_step;
        if (pair_step == 2) {
            wasm_v128_store(at, h);
        } else {
            wasm_v128_store32_lane(at, h, 0);
            wasm_v128_store32_lane(at + pair_step, h, 1);
            wasm_v128_store32_lane(at + 2 * pair_step, h, 2);
            wasm_v128_store32_lane(at + 3 * pair_step, h, 3);
        }
    }
    for (; i < n; i++) q[(size_t)(i / 2) * pair_step + i % 2] = round_scaled_1(x[i], inv);
    if (n % 2) q[(size_t)(n / 2) * pair_step + 1] = 0;
    return amax / range;
}

void kern_quantize_cols_i16_simd128(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt,
                                    int lenp) {
    if (dh % 4 || dh > 512) {
        kern_quantize_cols_i16_scalar(v, ldv, len, dh, range, dv, vt, lenp);
        return;
    }
    for (int d = 0; d < dh; d += 4) {
        v128_t m = wasm_f32x4_splat(0.0f);
        for (int t = 0; t < len; t++) m = wasm_f32x4_pmax(m, wasm_f32x4_abs(wasm_v128_load(v + (size_t)t * ldv + d)));
        wasm_v128_store(dv + d, m);
    }
    float vinv[512];
    for (int d = 0; d < dh; d++) vinv[d] = dv[d] > 0.0f ? range / dv[d] : 0.0f;
    const v128_t low16 = KERN_K(low16);
    for (int t = 0; t < len; t += 2) {
        const float *v0 = v + (size_t)t * ldv, *v1 = t + 1 < len ? v0 + ldv : v0;
        const v128_t hi_mask = wasm_i32x4_splat(t + 1 < len ? -1 : 0);
        for (int d = 0; d < dh; d += 4) {
            const v128_t inv = wasm_v128_load(vinv + d);
            const v128_t a = wasm_v128_and(round_scaled(wasm_v128_load(v0 + d), inv), low16);
            const v128_t b = wasm_v128_and(round_scaled(wasm_v128_load(v1 + d), inv), hi_mask);
            /* 4 dims' words: token t in the low half, t + 1 in the high */
            wasm_v128_store(vt + (size_t)(d / 4) * 4 * lenp + 4 * (size_t)t, wasm_v128_or(a, wasm_i32x4_shl(b, 16)));
        }
    }
    for (int d = 0; d < dh; d++) dv[d] /= range;
}

#endif
