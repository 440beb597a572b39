/* kernels_relaxed.h — the Q8_0 GEMM of dist/xlmr-relaxed.wasm (relaxed SIMD), and the scalar reference of its
 * arithmetic.
 *
 * i16x8.relaxed_dot_i8x16_i7x16_s multiplies int8 by 7-bit values and is deterministic only when the
 * second operand's bytes are in [0, 127] (x86 computes it as unsigned × signed). So activations are quantized
 * to "u7", asymmetric per 32-block: m = min, d = (max − m) / 127, u = nearest((x − m) / d) in [0, 127], and
 *   sum_i w_i x_i ≈ d · Σ w·u + m · Σ w.
 * A one-sided block (post-GELU values) keeps the resolution of a symmetric 8-bit code (step ≈ max / 127);
 * a symmetric block (LayerNorm outputs) gets 127 levels over [−amax, amax], about 7 bits.
 * The u7 bytes live in the kern_qact buffers: row t's K bytes at (uint8_t *)q->qs + 2·t·K (the int16 row's
 * room); scales d in q->d as for int16 activations; the minima m of a tile of 4 tokens, laid out like d
 * ([block][4]), in the second half of the tile's first row (K/2 of its K free bytes). Inputs of fewer than
 * KERN_U7_MIN_T tokens keep the int16 format and 8-bit arithmetic (one fill-mask position, short texts), where
 * the per-row weight sums would cost as much as the product itself.
 *
 * The encoder's matrices come in XLMR_LAYOUT_Q8_0X4_R4 (4 rows interleaved in runs of 4 columns, model.h), which
 * kern_matmul_q8_0x4r4_relaxed reads; row-major Q8_0 (a row count not a multiple of 4) has kern_matmul_q8_0_relaxed.
 *
 * Every output does, in order, per block j (S = Σ w of the block, dw its scale):
 *   acc += (float)Σ w·u · (dw · d_j) + (dw · (float)S) · m_j;   then acc + b
 * in the scalar reference and in each SIMD lane alike, so the two agree bit for bit. */
#ifndef XLMR_KERNELS_RELAXED_H
#define XLMR_KERNELS_RELAXED_H

#include "kernels.h"

#define KERN_U7_MIN_T 4

static inline uint8_t *kern_qact_u7_row(const kern_qact *q, int t) { return (uint8_t *)q->qs + (size_t)2 * t * q->K; }
/* minima of the 4-token tile holding token t: [block][t % 4] */
static inline float *kern_qact_u7_min(const kern_qact *q, int t) {
    return (float *)(void *)(kern_qact_u7_row(q, t / KERN_QTILE * KERN_QTILE) + q->K);
}

/* The exact kernels' bytes (KERN_INT8_EXACT_*, T >= KERN_U7_MIN_T) are laid out per tile of 4 tokens, from the tile's
 * first row: per run of 4 columns 16 bytes, the 4 tokens' 4 bytes in order. So one v128.load gives a run for the
 * tile and each token's 4 bytes sit at a constant offset (no per-token address arithmetic in the GEMM's inner loop). */
#define KERN_QACT_X4_BLOCK_BYTES (KERN_QTILE * QK8_0) /* a tile's block: QK8_0 / 4 runs of 16 bytes */
static inline uint8_t *kern_qact_x4_tile(const kern_qact *q, int t) {
    return kern_qact_u7_row(q, t / KERN_QTILE * KERN_QTILE);
}
static inline uint8_t *kern_qact_x4_byte(const kern_qact *q, int t, int k) {
    return kern_qact_x4_tile(q, t) + 16 * (size_t)(k / 4) + 4 * (t % KERN_QTILE) + k % 4;
}

/* scalar references of the u7 arithmetic (always built, for the tests) */
void kern_quantize_act_u7_scalar(const float *x, kern_qact *q);
void kern_matmul_q8_0_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
/* Q4_0 weights (row-major) on u7 activations (kernels_relaxed_q4_0.c): the same arithmetic with w = nibble - 8 */
void kern_matmul_q4_0_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N);
/* the same on weights in the XLMR_LAYOUT_Q8_0X4_R4 layout (N a multiple of 4) */
void kern_matmul_q8_0x4r4_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);

/* ---- Exact 8-bit activations (kernels_relaxed_exact.c) ----
 * What i32x4.relaxed_dot_i8x16_i7x16_add_s does with second-operand bytes >= 128 on this engine (kern_dot_probe, the
 * saturating cases forced): unsigned × signed without saturation (x86 AVX-VNNI vpdpbusd), signed × signed (AVX-VNNI-INT8
 * vpdpbssd, Arm sdot), pmaddubsw's saturated pairs (x86 without VNNI), signed × signed in int16 pairs that wrap only
 * at (−128)·(−128) twice (V8 on Arm without dotprod: smull, addp; and V8's baseline tier, Liftoff, on every Arm, so
 * an Arm engine answers 4 or 2 depending on the tier the probe ran in). On 8-bit activations in [−127, 127] the
 * signed behaviours are both exact and agree: one kernel serves them, whichever tier runs it. */
enum { KERN_DOT_NONE = 0, KERN_DOT_UNSIGNED = 1, KERN_DOT_SIGNED = 2, KERN_DOT_SATURATING = 3, KERN_DOT_WRAPPING = 4,
       KERN_DOT_OTHER = 5 };
/* The relaxed build's int8 kernel, chosen once at load (kern_int8_kernel_set): the u7 pair form (the default), or the
 * fused dot on the SIMD128 build's 8-bit activations, stored as bytes q + 128 (EXACT_U8, for KERN_DOT_UNSIGNED) or q
 * (EXACT_S8, for KERN_DOT_SIGNED and KERN_DOT_WRAPPING) in the u7 rows' buffer, laid out per tile
 * (kern_qact_x4_byte); T < KERN_U7_MIN_T keeps the int16 format either way. The exact kernels give the SIMD128
 * kernels' integer sums and float operations: bit-identical outputs. */
enum { KERN_INT8_PAIR_U7 = 0, KERN_INT8_EXACT_U8 = 1, KERN_INT8_EXACT_S8 = 2 };
int kern_int8_kernel(void);
/* the exact kernel for a KERN_DOT_* answer (EXACT_U8 for UNSIGNED, EXACT_S8 for SIGNED and WRAPPING), -1 for none */
int kern_int8_kernel_for_probe(int probe);
/* Returns kernel, or -1 (unknown, or not a relaxed build) leaving the kernel as it was. Not while a forward pass runs. */
int kern_int8_kernel_set(int kernel);
/* the activation bytes' offset of the kernel in force: 128 for EXACT_U8, else 0 */
int kern_int8_offset(void);
/* scalar reference of the exact arithmetic on XLMR_LAYOUT_Q8_0X4_R4: bytes q + off read back as the engine reads them
 * (unsigned when off, else signed), each block's sum started at −off·S */
void kern_matmul_q8_0x4r4_exact_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b,
                                       int N, int off);

#if defined(__wasm_relaxed_simd__)
#define KERN_HAVE_RELAXED 1
/* KERN_DOT_* of this engine; runs the fused instruction, so once at load, never per call */
int kern_dot_probe(void);
/* the exact kernels (kern_*_relaxed call them when the kernel in force is exact); the quantization keeps the int16
 * format below KERN_U7_MIN_T rows of the whole input (T), the GEMMs need q->T >= KERN_U7_MIN_T */
void kern_quantize_act_exact(const float *x, kern_qact *q, int T);
void kern_matmul_q8_0x4r4_exact(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
void kern_matmul_q8_0_exact(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
/* q->T >= KERN_U7_MIN_T: u7 format; fewer: the SIMD128 (int16) format and kernel. */
void kern_quantize_act_relaxed(const float *x, kern_qact *q);
/* The same for q a view of rows [t0, t0 + q->T) of an input of T rows (t0 a multiple of KERN_QTILE), in the format
 * T calls for (the threaded build's split, kernels.c); also the exact kernels' quantization's T. */
void kern_quantize_act_relaxed_rows(const float *x, kern_qact *q, int T);
void kern_matmul_q8_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
/* W in the XLMR_LAYOUT_Q8_0X4_R4 layout, N a multiple of 4: bit-identical to kern_matmul_q8_0_u7_scalar on the
 * same weights row-major (q->T >= KERN_U7_MIN_T), to kern_matmul_q8_0_scalar (fewer tokens). */
void kern_matmul_q8_0x4r4_relaxed(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
/* Q4_0 on the activations of the int8 kernel in force: bit-identical to kern_matmul_q4_0_scalar (int16 format and the
 * exact kernels) or to kern_matmul_q4_0_u7_scalar (the u7 pair form) */
void kern_matmul_q4_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N);
#else
#define KERN_HAVE_RELAXED 0
#endif

#endif
