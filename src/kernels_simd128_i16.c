/* kernels_simd128_i16.c — attention's int16 products in SIMD128 (kern_matmul_i16x4_simd128) and the quantization
 * of its probabilities to int16 (kern_quantize_prob_i16_simd128); see kernels.h for the layouts. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* ---- int16 attention products (kernels.h: kern_matmul_i16x4) ----
 *
 * The q8x4 tile without widening: per column pair one v128.load gives 4 rows' pair, v128.load32_splat a token's
 * pair, i32x4.dot_i16x8 leaves the 4 rows' partial sums in 4 lanes. G groups (4G rows) × TT tokens. */
static inline __attribute__((always_inline)) void i16x4_tile(float *y, int ldy, const int16_t *x, int K,
                                                            const float *dx, const int16_t *w, const float *dw, int n,
                                                            int N, const int G, const int TT) {
    v128_t a[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < TT; t++) a[g][t] = wasm_i32x4_splat(0);
    const int16_t *w1 = w + (size_t)4 * K;
#pragma clang loop unroll(disable)
    for (int p = 0; p < K / 2; p++) {
        const v128_t w0v = wasm_v128_load(w + 8 * p);
        const v128_t w1v = G > 1 ? wasm_v128_load(w1 + 8 * p) : w0v;
        for (int t = 0; t < TT; t++) {
            const v128_t s = wasm_v128_load32_splat(x + (size_t)t * K + 2 * p);
            a[0][t] = wasm_i32x4_add(a[0][t], wasm_i32x4_dot_i16x8(w0v, s));
            if (G > 1) a[1][t] = wasm_i32x4_add(a[1][t], wasm_i32x4_dot_i16x8(w1v, s));
        }
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

/* nearest-even(p * KERN_PROB_ONE) by the KERN_ROUND_MAGIC addition */
void kern_quantize_prob_i16_simd128(const float *p, int n, int np, int16_t *q) {
    const v128_t scale = wasm_f32x4_splat(KERN_PROB_ONE), magic = wasm_f32x4_splat(KERN_ROUND_MAGIC);
    const v128_t bias = wasm_i32x4_splat(KERN_ROUND_MAGIC_BITS);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const v128_t a = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(p + j), scale), magic), bias);
        const v128_t b = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(p + j + 4), scale), magic), bias);
        wasm_v128_store(q + j, wasm_i16x8_narrow_i32x4(a, b));
    }
    for (; j < n; j++) q[j] = (int16_t)fmaxf(0.0f, fminf(KERN_PROB_ONE, nearbyintf(p[j] * KERN_PROB_ONE)));
    for (; j < np; j++) q[j] = 0;
}

#endif
