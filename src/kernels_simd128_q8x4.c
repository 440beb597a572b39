/* kernels_simd128_q8x4.c — the Q8_0 matmul on 4-row interleaved weights in SIMD128 (kern_matmul_q8_0x4_simd128,
 * XLMR_LAYOUT_Q8_0X4 and block_q8_0x4 in model.h).
 *
 * Rows in lanes: per k-pair, one v128.load8x8_s widens 2 columns of 4 rows, v128.load32_splat broadcasts a
 * token's 2 activations, and i32x4.dot_i16x8 leaves the 4 rows' partial sums in 4 lanes. A tile of G groups
 * (4G rows) × TT tokens keeps G·TT integer accumulators and G·TT float ones; nothing is shuffled. Each lane
 * does the scalar reference's float operations in its order (per block: acc += (float)isum * (dw * dx)).
 *
 * The k-pair loop must stay a loop: unrolled, LLVM schedules the whole block's loads first and V8 spills most of
 * them (the cost: BENCHMARKS.md, "Kernel design notes"). */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* y rows of the tile's nt tokens, columns n .. n + 4G - 1. x: the tile's first token (rows K apart); dx: its
 * scales, dx[j * KERN_QTILE + t] for block j of token t; w, dwf: the first group's blocks and their scales as
 * floats (groups nb apart). The first k-pair's products start the integer sums (no zeroing and adding). */
static inline __attribute__((always_inline)) void q8x4_tile(float *y, int ldy, const int16_t *x, size_t K,
                                                           const float *dx, const block_q8_0x4 *w, const v128_t *dwf,
                                                           int nb, const float *b, int n, const int G, const int TT,
                                                           int nt) {
    v128_t f[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < TT; t++) f[g][t] = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < nb; j++) {
        v128_t a[2][4];
        const int8_t *q0 = w[j].qs, *q1 = G > 1 ? w[(size_t)nb + j].qs : q0;
        const int16_t *xj = x + (size_t)j * QK8_0;
        {
            const v128_t w0 = wasm_i16x8_load8x8(q0);
            const v128_t w1 = G > 1 ? wasm_i16x8_load8x8(q1) : w0;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(xj + t * K);
                a[0][t] = wasm_i32x4_dot_i16x8(w0, s);
                if (G > 1) a[1][t] = wasm_i32x4_dot_i16x8(w1, s);
            }
        }
#pragma clang loop unroll(disable)
        for (int p = 1; p < QK8_0 / 2; p++) {
            const v128_t w0 = wasm_i16x8_load8x8(q0 + 8 * p);
            const v128_t w1 = G > 1 ? wasm_i16x8_load8x8(q1 + 8 * p) : w0;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(xj + t * K + 2 * p);
                a[0][t] = wasm_i32x4_add(a[0][t], wasm_i32x4_dot_i16x8(w0, s));
                if (G > 1) a[1][t] = wasm_i32x4_add(a[1][t], wasm_i32x4_dot_i16x8(w1, s));
            }
        }
        for (int g = 0; g < G; g++) {
            const v128_t dw = dwf[(size_t)g * nb + j];
            for (int t = 0; t < TT; t++)
                f[g][t] = q8_accumulate(f[g][t], a[g][t], dw, wasm_v128_load32_splat(dx + (size_t)j * KERN_QTILE + t));
        }
    }
    for (int g = 0; g < G; g++) {
        const v128_t bias = b ? wasm_v128_load(b + n + 4 * g) : wasm_f32x4_splat(0.0f);
        for (int t = 0; t < TT && t < nt; t++) wasm_v128_store(y + (size_t)t * ldy + n + 4 * g, wasm_f32x4_add(f[g][t], bias));
    }
}

/* Group-blocks per panel (~68 KiB of weights, kept in L2 while every token tile passes over them) and their
 * scales converted to float once for all those tiles: 8 KiB of stack. */
#define Q8X4_PANEL 512

/* Rows of one panel are finished for every token before the next panel. Out of line and reached through a
 * pointer, as q8_gemm. */
static void q8x4_gemm(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const size_t Ks = (size_t)K;
    if (nb > Q8X4_PANEL) { /* K > 16384: not a shape XLM-R has */
        kern_matmul_q8_0x4_scalar(y, ldy, x, w, b, N);
        return;
    }
    v128_t dwf[Q8X4_PANEL];
    int panel = Q8X4_PANEL / nb & ~1; /* groups */
    if (panel < 1) panel = 1;
    for (int g0 = 0; g0 < N / 4; g0 += panel) {
        const int g1 = N / 4 - g0 < panel ? N / 4 : g0 + panel;
        for (int i = 0; i < (g1 - g0) * nb; i++) dwf[i] = q8x4_scales(&w[(size_t)g0 * nb + i]);
        for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
            const int nt = T - t0 < KERN_QTILE ? T - t0 : KERN_QTILE;
            const int16_t *xt = x->qs + (size_t)t0 * Ks;
            const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
            float *yt = y + (size_t)t0 * ldy;
#define TILE(yy, xx, dd, g, G, TT, nn) \
    q8x4_tile(yy, ldy, xx, Ks, dd, w + (size_t)(g) * nb, dwf + (size_t)((g) - g0) * nb, nb, b, 4 * (g), G, TT, nn)
            if (nt > 2) { /* a full tile (padding tokens are zeros, computed and not stored) */
                int g = g0;
                for (; g + 2 <= g1; g += 2) TILE(yt, xt, dx, g, 2, 4, nt);
                if (g < g1) TILE(yt, xt, dx, g, 1, 4, nt);
            } else { /* 1 or 2 tokens left (short inputs, the fill-mask head): token by token */
                for (int i = 0; i < nt; i++) {
                    int g = g0;
                    for (; g + 2 <= g1; g += 2) TILE(yt + (size_t)i * ldy, xt + (size_t)i * Ks, dx + i, g, 2, 1, 1);
                    if (g < g1) TILE(yt + (size_t)i * ldy, xt + (size_t)i * Ks, dx + i, g, 1, 1, 1);
                }
            }
#undef TILE
        }
    }
}

static void (*volatile q8x4_gemm_ptr)(float *, int, const kern_qact *, const block_q8_0x4 *, const float *, int) = q8x4_gemm;

void kern_matmul_q8_0x4_simd128(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    q8x4_gemm_ptr(y, ldy, x, w, b, N);
}

#endif
