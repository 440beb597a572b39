/* kernels_relaxed_q4_0.c — the Q4_0 matmul of the relaxed-SIMD build, on whichever activations its int8 kernel made
 * (kernels_relaxed.h): fewer than KERN_U7_MIN_T tokens, the int16 format and the SIMD128 kernel; the exact kernel's
 * bytes q + off, through the fused i32x4.relaxed_dot_i8x16_i7x16_add_s with each block's sum started at −off·S
 * (S = Σ w), giving the SIMD128 kernel's integer sums and float operations (outputs bit-identical to dist/xlmr.wasm);
 * the u7 pair form, through i16x8.relaxed_dot_i8x16_i7x16_s (|w| <= 8 and u <= 127: no pair saturates), with the u7
 * arithmetic per block: acc += (float)Σ w·u · (dw · d_j) + (dw · (float)S) · m_j, as kern_matmul_q4_0_u7_scalar.
 * Weights are nibble − 8 in [−8, 7], unpacked to int8 per block once for a tile of 4 tokens. */
#include "kernels_relaxed.h"

#include "quant.h"

void kern_matmul_q4_0_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK4_0;
    for (int t = 0; t < T; t++) {
        const uint8_t *u = kern_qact_u7_row(x, t);
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        const float *xm = kern_qact_u7_min(x, t) + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                const block_q4_0 *blk = w + (size_t)n * nb + j;
                int32_t isum = 0, wsum = 0;
                for (int i = 0; i < QK4_0; i++) {
                    const int32_t q = i < QK4_0 / 2 ? (blk->qs[i] & 0x0F) - 8 : (blk->qs[i - QK4_0 / 2] >> 4) - 8;
                    isum += q * u[j * QK4_0 + i];
                    wsum += q;
                }
                const float dw = xlmr_fp16_to_f32(blk->d);
                acc = acc + ((float)isum * (dw * xd[j * KERN_QTILE]) + (dw * (float)wsum) * xm[j * KERN_QTILE]);
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

#if defined(__wasm_relaxed_simd__)

#include <wasm_simd128.h>

#include "kernels_simd128.h"

/* [Σ s0, Σ s1, Σ s2, Σ s3]: the lane sums of 4 vectors, one per lane */
static inline v128_t transpose_add(v128_t s0, v128_t s1, v128_t s2, v128_t s3) {
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(s0, s1, 0, 4, 1, 5), wasm_i32x4_shuffle(s0, s1, 2, 6, 3, 7));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(s2, s3, 0, 4, 1, 5), wasm_i32x4_shuffle(s2, s3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7));
}

/* elements 0-15 (lo) and 16-31 (hi) of a block as int8 */
static inline void q4_bytes(const block_q4_0 *blk, v128_t *lo, v128_t *hi) {
    const v128_t v = wasm_v128_load(blk->qs), eight = wasm_i8x16_splat(8);
    *lo = wasm_i8x16_sub(wasm_v128_and(v, wasm_i8x16_splat(0x0F)), eight);
    *hi = wasm_i8x16_sub(wasm_u8x16_shr(v, 4), eight);
}

static inline v128_t dot_add(v128_t w, v128_t u, v128_t acc) {
    return (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((__i8x16)w, (__i8x16)u, (__i32x4)acc);
}

/* one token's pair-form sums for a block: u7 pairs in int16 (at most 2·8·127 each), widened once */
static inline v128_t pair_dot(v128_t lo, v128_t hi, const uint8_t *u) {
    const v128_t a = (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((__i8x16)lo, (__i8x16)wasm_v128_load(u));
    const v128_t c = (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((__i8x16)hi, (__i8x16)wasm_v128_load(u + 16));
    return wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_add(a, c));
}

static inline void store_tile(float *y, int ldy, v128_t acc, float bn, int nt) {
    float out[4];
    wasm_v128_store(out, wasm_f32x4_add(acc, wasm_f32x4_splat(bn)));
    for (int l = 0; l < 4 && l < nt; l++) y[(size_t)l * ldy] = out[l];
}

/* One tile of 4 tokens (t0) against every row. exact: bytes q + off and the fused dot; else u7 pairs. */
static void q4_tile(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N, int t0,
                    int exact, int off) {
    const int K = x->K, nb = K / QK4_0, nt = x->T - t0;
    const size_t xs = (size_t)2 * K; /* bytes between two tokens' rows */
    const uint8_t *u = kern_qact_u7_row(x, t0);
    const float *d = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, *m = kern_qact_u7_min(x, t0);
    for (int n = 0; n < N; n++) {
        const block_q4_0 *wr = w + (size_t)n * nb;
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int j = 0; j < nb; j++) {
            v128_t lo, hi, s[4];
            q4_bytes(&wr[j], &lo, &hi);
            const uint8_t *uj = u + (size_t)j * QK4_0;
            const float dw = xlmr_fp16_to_f32(wr[j].d);
            /* S = Σ w of the block */
            v128_t ws = wasm_i32x4_extadd_pairwise_i16x8(
                wasm_i16x8_add(wasm_i16x8_extadd_pairwise_i8x16(lo), wasm_i16x8_extadd_pairwise_i8x16(hi)));
            ws = wasm_i32x4_add(ws, wasm_i32x4_shuffle(ws, ws, 2, 3, 0, 1));
            const int32_t S = wasm_i32x4_extract_lane(ws, 0) + wasm_i32x4_extract_lane(ws, 1);
            const v128_t start = wasm_i32x4_replace_lane(wasm_i32x4_splat(0), 0, -off * S);
            if (exact)
                for (int l = 0; l < 4; l++)
                    s[l] = dot_add(hi, wasm_v128_load(uj + l * xs + 16), dot_add(lo, wasm_v128_load(uj + l * xs), start));
            else
                for (int l = 0; l < 4; l++) s[l] = pair_dot(lo, hi, uj + l * xs);
            const v128_t isum = transpose_add(s[0], s[1], s[2], s[3]);
            const v128_t dx = wasm_v128_load(d + j * KERN_QTILE);
            if (exact) {
                acc = q8_accumulate(acc, isum, wasm_f32x4_splat(dw), dx);
            } else {
                const v128_t main = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_mul(wasm_f32x4_splat(dw), dx));
                const v128_t corr = wasm_f32x4_mul(wasm_f32x4_splat(dw * (float)S), wasm_v128_load(m + j * KERN_QTILE));
                acc = wasm_f32x4_add(acc, wasm_f32x4_add(main, corr));
            }
        }
        store_tile(y + (size_t)t0 * ldy + n, ldy, acc, b ? b[n] : 0.0f, nt);
    }
}

void kern_matmul_q4_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    if (x->T < KERN_U7_MIN_T) {
        kern_matmul_q4_0_simd128(y, ldy, x, w, b, N);
        return;
    }
    const int exact = kern_int8_kernel() != KERN_INT8_PAIR_U7, off = kern_int8_offset();
    for (int t0 = 0; t0 < x->T; t0 += KERN_QTILE) q4_tile(y, ldy, x, w, b, N, t0, exact, off);
}

#endif
