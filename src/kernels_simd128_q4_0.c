/* kernels_simd128_q4_0.c — the Q4_0 matmul in SIMD128 (kern_matmul_q4_0_simd128): row-major Q4_0 weights against the
 * int16 activations the Q8_0 path makes (kern_qact).
 *
 * Per weight row and 32-block, the 16 nibble bytes are split (and 0x0F, shift 4), recentred by -8 and widened to 4
 * int16 vectors, then dotted (i32x4.dot_i16x8) with the int16 activations of a tile of 4 tokens (one tile at a
 * time: a second tile per unpacking would double the kernel's code in every build). The tile's 4 dot vectors are
 * transpose-added into one i32x4 holding a token per lane, converted and scaled by dw × (dx of the 4 tokens, one
 * vector load): every output does the scalar reference's float operations in order, so the two agree bit for bit. */
#if defined(__wasm_simd128__)

#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* One Q4_0 block's weights as int16, elements 0-7, 8-15, 16-23, 24-31. */
typedef struct q4_wide {
    v128_t w0, w1, w2, w3;
} q4_wide;

static inline q4_wide q4_widen(const block_q4_0 *blk) {
    const v128_t v = wasm_v128_load(blk->qs), eight = wasm_i8x16_splat(8);
    const v128_t lo = wasm_i8x16_sub(wasm_v128_and(v, wasm_i8x16_splat(0x0F)), eight);
    const v128_t hi = wasm_i8x16_sub(wasm_u8x16_shr(v, 4), eight);
    q4_wide w = {wasm_i16x8_extend_low_i8x16(lo), wasm_i16x8_extend_high_i8x16(lo), wasm_i16x8_extend_low_i8x16(hi),
                 wasm_i16x8_extend_high_i8x16(hi)};
    return w;
}

/* the 4 lanes of one token's dot products for a block: x the token's 32 int16 activations */
static inline v128_t q4_dot(const q4_wide *w, const int16_t *x) {
    const v128_t a = wasm_i32x4_add(wasm_i32x4_dot_i16x8(w->w0, wasm_v128_load(x)), wasm_i32x4_dot_i16x8(w->w1, wasm_v128_load(x + 8)));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_dot_i16x8(w->w2, wasm_v128_load(x + 16)),
                                    wasm_i32x4_dot_i16x8(w->w3, wasm_v128_load(x + 24)));
    return wasm_i32x4_add(a, c);
}

/* [Σ s0, Σ s1, Σ s2, Σ s3]: the lane sums of 4 vectors, one per lane */
static inline v128_t q4_transpose_add(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7));
}

/* the integer sums of one block for the 4 tokens of a tile: xt the tile's first row at the block, K apart */
static inline v128_t q4_tile_sums(const q4_wide *w, const int16_t *xt, int K) {
    return q4_transpose_add(q4_dot(w, xt), q4_dot(w, xt + K), q4_dot(w, xt + 2 * (size_t)K), q4_dot(w, xt + 3 * (size_t)K));
}

/* acc (a token per lane) + b into the tile's rows of column n, the rows < nt */
static inline void q4_store(float *y, int ldy, v128_t acc, float bn, int nt) {
    float out[4];
    wasm_v128_store(out, wasm_f32x4_add(acc, wasm_f32x4_splat(bn)));
    for (int l = 0; l < 4 && l < nt; l++) y[(size_t)l * ldy] = out[l];
}

void kern_matmul_q4_0_simd128(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK4_0;
    for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
        const int16_t *xa = x->qs + (size_t)t0 * K;
        const float *da = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q4_0 *wr = w + (size_t)n * nb;
            v128_t acc = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                const q4_wide wj = q4_widen(&wr[j]);
                acc = q8_accumulate(acc, q4_tile_sums(&wj, xa + j * QK4_0, K), wasm_f32x4_splat(xlmr_fp16_to_f32(wr[j].d)),
                                    wasm_v128_load(da + j * KERN_QTILE));
            }
            q4_store(y + (size_t)t0 * ldy + n, ldy, acc, b ? b[n] : 0.0f, T - t0);
        }
    }
}

#endif
