/* kernels_simd128_q4_0.c — the Q4_0 matmul in SIMD128 (kern_matmul_q4_0_simd128): row-major Q4_0 weights against the
 * int16 activations the Q8_0 path makes (kern_qact), through the Q8_0 GEMMs.
 *
 * A Q4_0 block is a Q8_0 block whose codes are nibble − 8 under the same fp16 scale, so the Q8_0 kernels give the
 * Q4_0 sums exactly. Rows in groups of 4 are repacked a panel at a time (about 32 KiB on the stack, reused by every
 * token of the call) into block_q8_0x4 and multiplied by the build's 4-row GEMM; the N % 4 rows left, one row at a
 * time as row-major Q8_0. Every output does the Q8_0 scalar reference's operations, which are the Q4_0 one's
 * (kernels.h), so all agree bit for bit.
 */
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* The 4 rows of w (nb blocks each, row r at w + r nb) as block_q8_0x4 with runs of R columns (model.h): each nibble
 * minus 8 is the Q8_0 code of the same weight under the same fp16 scale, so the Q8_0 GEMMs compute exactly the Q4_0
 * sums. R = 2: 16-bit lanes (column pairs) of the 4 rows transposed; R = 4: 32-bit lanes. */
static void q4_repack4(block_q8_0x4 *dst, const block_q4_0 *w, int nb, int R) {
    const v128_t mask = wasm_i8x16_splat(0x0F), eight = wasm_i8x16_splat(8);
    for (int j = 0; j < nb; j++) {
        v128_t h[8]; /* rows 0-3: elements 0-15, then rows 0-3: elements 16-31 */
        for (int r = 0; r < 4; r++) {
            const block_q4_0 *blk = w + (size_t)r * nb + j;
            const v128_t v = wasm_v128_load(blk->qs);
            h[r] = wasm_i8x16_sub(wasm_v128_and(v, mask), eight);
            h[4 + r] = wasm_i8x16_sub(wasm_u8x16_shr(v, 4), eight);
            dst[j].d[r] = blk->d;
        }
        int8_t *o = dst[j].qs;
#pragma clang loop unroll(disable)
        for (int half = 0; half < 2; half++) {
            const v128_t *q = h + 4 * half;
            v128_t t[4];
            if (R == 2) {
                t[0] = wasm_i16x8_shuffle(q[0], q[1], 0, 8, 1, 9, 2, 10, 3, 11);
                t[1] = wasm_i16x8_shuffle(q[2], q[3], 0, 8, 1, 9, 2, 10, 3, 11);
                t[2] = wasm_i16x8_shuffle(q[0], q[1], 4, 12, 5, 13, 6, 14, 7, 15);
                t[3] = wasm_i16x8_shuffle(q[2], q[3], 4, 12, 5, 13, 6, 14, 7, 15);
                wasm_v128_store(o + 64 * half, wasm_i32x4_shuffle(t[0], t[1], 0, 4, 1, 5));
                wasm_v128_store(o + 64 * half + 16, wasm_i32x4_shuffle(t[0], t[1], 2, 6, 3, 7));
                wasm_v128_store(o + 64 * half + 32, wasm_i32x4_shuffle(t[2], t[3], 0, 4, 1, 5));
                wasm_v128_store(o + 64 * half + 48, wasm_i32x4_shuffle(t[2], t[3], 2, 6, 3, 7));
            } else {
                t[0] = wasm_i32x4_shuffle(q[0], q[1], 0, 4, 1, 5);
                t[1] = wasm_i32x4_shuffle(q[2], q[3], 0, 4, 1, 5);
                t[2] = wasm_i32x4_shuffle(q[0], q[1], 2, 6, 3, 7);
                t[3] = wasm_i32x4_shuffle(q[2], q[3], 2, 6, 3, 7);
                wasm_v128_store(o + 64 * half, wasm_i64x2_shuffle(t[0], t[1], 0, 2));
                wasm_v128_store(o + 64 * half + 16, wasm_i64x2_shuffle(t[0], t[1], 1, 3));
                wasm_v128_store(o + 64 * half + 32, wasm_i64x2_shuffle(t[2], t[3], 0, 2));
                wasm_v128_store(o + 64 * half + 48, wasm_i64x2_shuffle(t[2], t[3], 1, 3));
            }
        }
    }
}

__attribute__((noinline)) int kern_matmul_q4_0_by_q8x4(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N, int R,
                             kern_q8x4_gemm gemm) {
    const int nb = x->K / QK4_0;
    if (nb > Q4_PANEL_BLOCKS) return 0;
    block_q8_0x4 panel[Q4_PANEL_BLOCKS];
    const int groups = Q4_PANEL_BLOCKS / nb, n4 = N & ~3;
    for (int n0 = 0; n0 < n4; n0 += 4 * groups) {
        const int g = (n4 - n0) / 4 < groups ? (n4 - n0) / 4 : groups;
        for (int k = 0; k < g; k++) q4_repack4(panel + (size_t)k * nb, w + (size_t)(n0 + 4 * k) * nb, nb, R);
        gemm(y + n0, ldy, x, panel, b ? b + n0 : NULL, 4 * g);
    }
    return n4;
}

/* Rows of w one at a time as row-major Q8_0 blocks (rows of at most Q4_ROW_BLOCKS blocks) through gemm: the rows the
 * 4-row panels leave. */
__attribute__((noinline)) void kern_matmul_q4_0_by_q8_rows(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N,
                                 kern_q8_gemm gemm) {
    const int nb = x->K / QK4_0;
    block_q8_0 row[Q4_ROW_BLOCKS];
    for (int n = 0; n < N; n++) {
#pragma clang loop unroll(disable)
        for (int j = 0; j < nb; j++) {
            const block_q4_0 *blk = w + (size_t)n * nb + j;
            const v128_t v = wasm_v128_load(blk->qs), eight = wasm_i8x16_splat(8);
            wasm_v128_store(row[j].qs, wasm_i8x16_sub(wasm_v128_and(v, wasm_i8x16_splat(0x0F)), eight));
            wasm_v128_store(row[j].qs + 16, wasm_i8x16_sub(wasm_u8x16_shr(v, 4), eight));
            row[j].d = blk->d;
        }
        gemm(y + n, ldy, x, row, b ? b + n : NULL, 1);
    }
}

void kern_matmul_q4_0_simd128(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    const int nb = x->K / QK4_0; /* at most Q4_ROW_BLOCKS (model_check) */
    const int n0 = kern_matmul_q4_0_by_q8x4(y, ldy, x, w, b, N, 2, kern_matmul_q8_0x4_simd128);
    if (n0 < N) kern_matmul_q4_0_by_q8_rows(y + n0, ldy, x, w + (size_t)n0 * nb, b ? b + n0 : NULL, N - n0, kern_matmul_q8_0_simd128);
}

#endif
