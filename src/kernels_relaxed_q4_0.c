/* kernels_relaxed_q4_0.c — the Q4_0 matmul of the relaxed-SIMD build, on whichever activations its int8 kernel made
 * (kernels_relaxed.h), through the relaxed Q8_0 GEMMs as kernels_simd128_q4_0.c does for SIMD128: rows in groups of 4
 * repacked into the R4 layout for kern_matmul_q8_0x4r4_relaxed, the N % 4 left as row-major Q8_0 for
 * kern_matmul_q8_0_relaxed (both take fewer than KERN_U7_MIN_T tokens in the int16 format). Those give, per int8
 * kernel, the SIMD128 kernel's outputs (fewer than KERN_U7_MIN_T tokens, and the exact kernels) or the u7
 * arithmetic with w = nibble − 8 (kern_matmul_q4_0_u7_scalar, the scalar reference here), bit for bit. */
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
                _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
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

#include "kernels_simd128.h"

void kern_matmul_q4_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    const int nb = x->K / QK4_0; /* at most Q4_ROW_BLOCKS (model_check) */
    const int n0 = kern_matmul_q4_0_by_q8x4(y, ldy, x, w, b, N, 4, kern_matmul_q8_0x4r4_relaxed);
    if (n0 < N) kern_matmul_q4_0_by_q8_rows(y + n0, ldy, x, w + (size_t)n0 * nb, b ? b + n0 : NULL, N - n0, kern_matmul_q8_0_relaxed);
}

#endif
