/* kernels_simd128_float.c — the matmuls on float weights in SIMD128: F32, F16 and BF16 (widened in registers),
 * K-vectorised dot products where 4 tokens share each weight load. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* Widens 4 stored weights (u32 lanes holding a 16-bit value) to floats. */
static inline v128_t half4_to_f32x4(v128_t h, int bf16) {
    return bf16 ? wasm_i32x4_shl(h, 16) : fp16x4_to_f32x4(h);
}

static inline float half_to_f32(uint16_t h, int bf16) { return bf16 ? xlmr_bf16_to_f32(h) : fp16_fast(h); }

/* A tile of 4 tokens × R rows (R = 1, 2): 4R accumulators, 4 + R loads per k-step (4 × 2 is what V8's 16
 * registers hold without spilling; 4 × 3 spills). Every output's lanes follow dot_f32_1's order. */
static inline __attribute__((always_inline)) void f32_tile(float *y, int ldy, const float *x, const float *w,
                                                          const float *b, int n, int K, const int R) {
    const float *x0 = x, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
    v128_t a[2][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < 4; t++) a[r][t] = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const v128_t v0 = wasm_v128_load(x0 + k), v1 = wasm_v128_load(x1 + k), v2 = wasm_v128_load(x2 + k),
                     v3 = wasm_v128_load(x3 + k);
        for (int r = 0; r < R; r++) {
            const v128_t wv = wasm_v128_load(w + (size_t)r * K + k);
            a[r][0] = wasm_f32x4_add(a[r][0], wasm_f32x4_mul(v0, wv));
            a[r][1] = wasm_f32x4_add(a[r][1], wasm_f32x4_mul(v1, wv));
            a[r][2] = wasm_f32x4_add(a[r][2], wasm_f32x4_mul(v2, wv));
            a[r][3] = wasm_f32x4_add(a[r][3], wasm_f32x4_mul(v3, wv));
        }
    }
    for (int r = 0; r < R; r++) {
        const float *wr = w + (size_t)r * K;
        float s[4];
        for (int t = 0; t < 4; t++) s[t] = hsum_f32x4(a[r][t]);
        for (int kk = k; kk < K; kk++)
            for (int t = 0; t < 4; t++) s[t] += x[(size_t)t * K + kk] * wr[kk];
        const float bn = b ? b[n + r] : 0.0f;
        for (int t = 0; t < 4; t++) y[(size_t)t * ldy + n + r] = s[t] + bn;
    }
}

static void matmul_f32_panel(float *y, int ldy, const float *x, const float *w, const float *b, int T, int n0, int n1,
                             int K) {
    int t = 0;
    for (; t + 4 <= T; t += 4) {
        const float *xt = x + (size_t)t * K;
        float *yt = y + (size_t)t * ldy;
        int n = n0;
        for (; n + 2 <= n1; n += 2) f32_tile(yt, ldy, xt, w + (size_t)n * K, b, n, K, 2);
        if (n < n1) f32_tile(yt, ldy, xt, w + (size_t)n * K, b, n, K, 1);
    }
    for (; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        for (int n = n0; n < n1; n++) y[(size_t)t * ldy + n] = dot_f32_1(xr, w + (size_t)n * K, K) + (b ? b[n] : 0.0f);
    }
}

void kern_matmul_f32_simd128(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K) {
    int panel = (int)(32768 / ((size_t)(K > 0 ? K : 1) * 4));
    if (panel < 4) panel = 4;
    for (int n0 = 0; n0 < N; n0 += panel) matmul_f32_panel(y, ldy, x, w, b, T, n0, N - n0 < panel ? N : n0 + panel, K);
}

/* 16-bit weights (F16 or BF16): 8 weights a step, widened in registers. */
static inline float dot_h16_1(const float *x, const uint16_t *w, int K, int bf16) {
    v128_t acc = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        const v128_t h = wasm_v128_load(w + k);
        const v128_t lo = half4_to_f32x4(wasm_u32x4_extend_low_u16x8(h), bf16);
        const v128_t hi = half4_to_f32x4(wasm_u32x4_extend_high_u16x8(h), bf16);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k), lo));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k + 4), hi));
    }
    float s = hsum_f32x4(acc);
    for (; k < K; k++) s += x[k] * half_to_f32(w[k], bf16);
    return s;
}

static void matmul_h16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K,
                       int bf16) {
    int panel = (int)(32768 / ((size_t)(K > 0 ? K : 1) * 2));
    if (panel < 4) panel = 4;
    for (int n0 = 0; n0 < N; n0 += panel) {
        const int n1 = N - n0 < panel ? N : n0 + panel;
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            const float *x0 = x + (size_t)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
            for (int n = n0; n < n1; n++) {
                const uint16_t *wr = w + (size_t)n * K;
                v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
                int k = 0;
                for (; k + 8 <= K; k += 8) {
                    const v128_t h = wasm_v128_load(wr + k);
                    const v128_t lo = half4_to_f32x4(wasm_u32x4_extend_low_u16x8(h), bf16);
                    const v128_t hi = half4_to_f32x4(wasm_u32x4_extend_high_u16x8(h), bf16);
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x0 + k), lo));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x1 + k), lo));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x2 + k), lo));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x3 + k), lo));
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x0 + k + 4), hi));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x1 + k + 4), hi));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x2 + k + 4), hi));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x3 + k + 4), hi));
                }
                float s0 = hsum_f32x4(a0), s1 = hsum_f32x4(a1), s2 = hsum_f32x4(a2), s3 = hsum_f32x4(a3);
                for (; k < K; k++) {
                    const float wk = half_to_f32(wr[k], bf16);
                    s0 += x0[k] * wk;
                    s1 += x1[k] * wk;
                    s2 += x2[k] * wk;
                    s3 += x3[k] * wk;
                }
                const float bn = b ? b[n] : 0.0f;
                y[(size_t)t * ldy + n] = s0 + bn;
                y[(size_t)(t + 1) * ldy + n] = s1 + bn;
                y[(size_t)(t + 2) * ldy + n] = s2 + bn;
                y[(size_t)(t + 3) * ldy + n] = s3 + bn;
            }
        }
        for (; t < T; t++) {
            const float *xr = x + (size_t)t * K;
            for (int n = n0; n < n1; n++)
                y[(size_t)t * ldy + n] = dot_h16_1(xr, w + (size_t)n * K, K, bf16) + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_f16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    matmul_h16(y, ldy, x, w, b, T, N, K, 0);
}

void kern_matmul_bf16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    matmul_h16(y, ldy, x, w, b, T, N, K, 1);
}

#endif
