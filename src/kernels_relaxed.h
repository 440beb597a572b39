/* kernels_relaxed.h — the Q8_0 GEMM of dist/xlmr-relaxed.wasm (relaxed SIMD), and the scalar reference of its
 * arithmetic.
 *
 * i32x4.relaxed_dot_i8x16_i7x16_add_s multiplies int8 by 7-bit values and is deterministic only when the
 * second operand's bytes are in [0, 127] (x86 computes it as unsigned × signed). So activations are quantized
 * to "u7": per 32-block d = amax / 63, u = nearest(x / d) + 64 in [1, 127] (64 encodes 0), and
 *   sum_i w_i x_i = d · (sum_i w_i u_i − 64 · sum_i w_i).
 * The u7 bytes live in the kern_qact buffers: row t's K bytes at (uint8_t *)q->qs + 2·t·K (the int16 row's
 * room), scales in q->d exactly as for int16 activations. Inputs of fewer than KERN_U7_MIN_T tokens keep
 * the int16 format and the SIMD128 kernel (one fill-mask position, short texts), where the per-row weight sums
 * would cost as much as the product itself.
 *
 * Every output does, in order, per block j: isum = Σ w·u − 64·Σ w (int32); acc += (float)isum · (dw_j · dx_j);
 * then acc + b — in the scalar reference and in each SIMD lane alike, so the two agree bit for bit. */
#ifndef XLMR_KERNELS_RELAXED_H
#define XLMR_KERNELS_RELAXED_H

#include "kernels.h"

#define KERN_U7_MIN_T 4

static inline uint8_t *kern_qact_u7_row(const kern_qact *q, int t) { return (uint8_t *)q->qs + (size_t)2 * t * q->K; }

/* scalar references of the u7 arithmetic (always built, for the tests) */
void kern_quantize_act_u7_scalar(const float *x, kern_qact *q);
void kern_matmul_q8_0_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);

#if defined(__wasm_relaxed_simd__)
#define KERN_HAVE_RELAXED 1
/* q->T >= KERN_U7_MIN_T: u7 format; fewer: the SIMD128 (int16) format and kernel. */
void kern_quantize_act_relaxed(const float *x, kern_qact *q);
void kern_matmul_q8_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
#else
#define KERN_HAVE_RELAXED 0
#endif

#endif
