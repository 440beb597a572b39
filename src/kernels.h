/* kernels.h — the numeric kernels of the encoder: matmul for F32 / F16 / BF16 / Q8_0 / Q4_0 weights, activation
 * quantization, attention's int16 products, embedding-row gather, LayerNorm, exact-erf GELU, softmax, residual add,
 * dot and axpy.
 *
 * Every kernel has a scalar reference (kern_*_scalar, kernels_scalar.c) and, where it pays, a wasm SIMD128
 * version (kern_*_simd128, kernels_simd128.c, compiled only with -msimd128). The rest of the code calls the
 * plain kern_* names (kernels.c), which pick the SIMD version when it is compiled in. No kernel allocates.
 *
 * Matmul convention (torch Linear): y(T, N) = x(T, K) · W(N, K)ᵀ + b, W row-major (N rows of K), b may be
 * NULL, y rows ldy floats apart (ldy >= N) so a caller can write a column slice of a wider output.
 * Results of a row t never depend on the other rows of x (a padded batch gives each sequence exactly what
 * it gives alone). */
#ifndef XLMR_KERNELS_H
#define XLMR_KERNELS_H

#include "model.h"

/* Tokens computed together by the Q8_0 micro-kernel; quantized activations are padded to a multiple. */
#define KERN_QTILE 4

/* Activations quantized for Q8_0 weights, once per layer input and reused by every matmul reading it (kern_input).
 * Each block of 32 values gets d = amax / 127 (float, not rounded to fp16) and q = nearest-even(x / d),
 * as ggml's Q8_0 rule; q is stored widened to int16 so the inner loop only widens the weights.
 *   qs: (Tp, K) int16, Tp = T rounded up to KERN_QTILE, rows >= T zero
 *   d:  (Tp / KERN_QTILE, K / 32, KERN_QTILE) floats: the scale of block j of row t is at
 *       d[((t / 4) * (K / 32) + j) * 4 + t % 4], so one vector load gives the 4 tokens of a tile. */
typedef struct kern_qact {
    int16_t *qs;
    float *d;
    int T, K; /* K a multiple of 32 */
} kern_qact;

/* Bytes kern_qact needs for T rows of K (K a multiple of 32): qs then d, each 16-byte aligned if the
 * start is. Returns 0 on size overflow. */
size_t kern_qact_bytes(int T, int K);
/* Points q->qs and q->d into mem (kern_qact_bytes(T, K) bytes, 16-byte aligned). */
void kern_qact_init(kern_qact *q, void *mem, int T, int K);

/* ---- dispatching front (kernels.c) ---- */

void kern_quantize_act(const float *x, kern_qact *q); /* x (q->T, q->K) */
void kern_matmul_f32(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K);
/* The same on the calling thread only: for use inside a par_run task (threads.h). */
void kern_matmul_f32_local(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K);
void kern_matmul_f16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
void kern_matmul_bf16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
/* x quantized (T = q->T, K = q->K), W (N, K) Q8_0 blocks row after row. */
void kern_matmul_q8_0(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);

/* x quantized as for Q8_0, W (N, K) Q4_0 blocks row after row (always row-major). Per output, per block j in order:
 * acc += (float)(sum of (nibble - 8) * q) * (dw * dx), then acc + b: the SIMD128 version and the relaxed build's exact
 * int8 kernel agree with kern_matmul_q4_0_scalar bit for bit (its u7 pair form: kernels_relaxed.h). */
void kern_matmul_q4_0(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N);
/* Longest Q4_0 row the SIMD kernels take (they unpack a row on the stack); model_check refuses longer ones. */
#define KERN_Q4_0_MAX_K 30720

/* The same with W in the XLMR_LAYOUT_Q8_0X4 layout (model.h), N a multiple of 4: bit-identical results. */
void kern_matmul_q8_0x4(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
/* The layout the loader should give a Q8_0 matrix of `rows` rows that the encoder multiplies by (not a gathered
 * table): XLMR_LAYOUT_Q8_0X4 where this build's GEMM reads it faster, else XLMR_LAYOUT_ROWS. */
int kern_q8_0_layout(int64_t rows);

/* The input of kern_linear: x (T, K) floats and the room for its quantization. kern_linear quantizes x into q the
 * first time Q8_0 weights read it (quantized then becomes 1), and every later kern_linear on the same kern_input
 * reuses that one quantization (q, k and v share one of the layer's input). A new x needs a new kern_input. */
typedef struct kern_input {
    const float *x;
    int T, K;
    void *qmem; /* kern_qact_bytes(T, K) bytes, 16-byte aligned: q's room (unused for float weights) */
    kern_qact q;
    int quantized;
} kern_input;

/* x (T, K) not quantized yet. */
static inline kern_input kern_input_of(const float *x, int T, int K, void *qmem) {
    kern_input in = {x, T, K, qmem, {0, 0, 0, 0}, 0};
    return in;
}

/* y (T, N) = x Wᵀ + b with W of any type, x = in->x (T = in->T rows): float weights read x, Q8_0 and Q4_0 weights its
 * quantization (made here if in does not hold it yet). W->ne[0] = K = in->K, W->ne[1] = N; the caller has checked the
 * shapes and that K % 32 == 0 for Q8_0 and Q4_0. Either Q8_0 layout. */
void kern_linear(float *y, int ldy, kern_input *in, const xlmr_tensor *w, const float *b);
/* kern_linear followed by GELU on y (T, N), fused for Q8_0 (each column chunk while it is in cache). */
void kern_linear_gelu(float *y, int ldy, kern_input *in, const xlmr_tensor *w, const float *b);
/* Row r of a (rows, ne[0]) table of any type, as floats. */
void kern_get_row(float *out, const xlmr_tensor *table, int64_t r);

/* x (T, n) in place: LayerNorm of each row, biased variance: (x - mean) / sqrt(var + eps) * g + b. */
void kern_layer_norm(float *x, int T, int n, const float *g, const float *b, float eps);
/* y (T, n) = LayerNorm(y + x), the residual and the norm in one pass over each row (x NULL: LayerNorm alone). */
void kern_add_layer_norm(float *y, const float *x, int T, int n, const float *g, const float *b, float eps);
/* x in place: 0.5 x (1 + erf(x / sqrt 2)). */
void kern_gelu(float *x, size_t n);
/* x (n) in place: exp(x - max) / sum. */
void kern_softmax(float *x, int n);
/* Attention's two products (q kᵀ and p v, attention.c) in int16, through i32x4.dot_i16x8 (no widening: the operands
 * are int16 already). x (T, K): int16 rows K apart, K even, row t scaled by dx[t]; w: N rows in groups of 4
 * interleaved by column pairs -- group g starts at w + 4 g K, and row 4g + r, columns 2p and 2p + 1 are at
 * [8p + 2r] and [8p + 2r + 1] -- row n scaled by dw[n] (dw and the rows padded to a multiple of 4).
 *   y[t ldy + n] = (float)(sum_k x[t][k] w[n][k]) * (dw[n] * dx[t]),   n < N.
 * The caller bounds the operands so that no int32 sum overflows (attention.c). */
void kern_matmul_i16x4(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw, int T,
                       int N, int K);
/* The SIMD kernel sums KERN_I16_CHUNK_PAIRS column pairs at a time (kernels_simd128_i16.c says why; the same bits in
 * any grouping); test_kernels covers K past one chunk. */
#define KERN_I16_CHUNK_PAIRS 64
/* softmax(x) (n), as probabilities in int16 for the p v product: q (np >= n) with scale 1 / KERN_PROB_ONE,
 * nearest-even(p * KERN_PROB_ONE), zeros past n; x is scratch afterwards. */
#define KERN_PROB_ONE 32767.0f
/* v + 1.5 * 2^23 rounds v to an integer, ties to even, and for |v| < 2^22 its bits minus KERN_ROUND_MAGIC_BITS are
 * that integer: a rounding without float-to-int conversion (vectorizes; no trap on NaN). */
#define KERN_ROUND_MAGIC 12582912.0f
#define KERN_ROUND_MAGIC_BITS 0x4B400000
void kern_softmax_prob_i16(float *x, int n, int np, int16_t *q);
/* Attention's int16 operands (attention.c), rounded as KERN_ROUND_MAGIC does (|values| <= range <= 32767).
 * A row x (n) within ±range: returns its scale amax / range and writes nearest-even(x · (range / amax)) (zeros for an
 * all-zero row), values 2p and 2p + 1 at q[p · pair_step] and q[p · pair_step + 1] (pair_step 2: a contiguous row; 8:
 * a key in its group of 4, as kern_matmul_i16x4 reads w); an odd n's last pair ends in 0. */
float kern_quantize_row_i16(const float *x, int n, float range, int16_t *q, int pair_step);
/* The values v (len, dh), rows ldv apart, quantized per dimension within ±range: dv[d] = amax_d / range for d < dh4
 * (dh rounded up to 4; 0 past dh), token t's dim d at vt[(d / 4) 4 lenp + 8 (t / 2) + 2 (d % 4) + t % 2] for t
 * below len rounded up to 2 (zeros past len and past dh): kern_matmul_i16x4's w, dims as rows over the tokens. */
void kern_quantize_cols_i16(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt, int lenp);
/* y += x */
void kern_add(float *y, const float *x, size_t n);
float kern_dot(const float *a, const float *b, int n);
/* y += a x */
void kern_axpy(float *y, float a, const float *x, int n);

/* ---- scalar references (kernels_scalar.c), always built ---- */

void kern_quantize_act_scalar(const float *x, kern_qact *q);
void kern_matmul_i16x4_scalar(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw,
                              int T, int N, int K);
/* the probabilities' rounding alone: p (n) in [0, 1] -> q as kern_softmax_prob_i16 writes it */
void kern_quantize_prob_i16_scalar(const float *p, int n, int np, int16_t *q);
void kern_softmax_prob_i16_scalar(float *x, int n, int np, int16_t *q);
float kern_quantize_row_i16_scalar(const float *x, int n, float range, int16_t *q, int pair_step);
void kern_quantize_cols_i16_scalar(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt,
                                   int lenp);
void kern_matmul_f32_scalar(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K);
void kern_matmul_f16_scalar(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
void kern_matmul_bf16_scalar(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
void kern_matmul_q8_0_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
void kern_matmul_q8_0x4_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
void kern_matmul_q4_0_scalar(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N);
void kern_layer_norm_scalar(float *x, int T, int n, const float *g, const float *b, float eps);
void kern_gelu_scalar(float *x, size_t n);
void kern_softmax_scalar(float *x, int n);
void kern_add_scalar(float *y, const float *x, size_t n);
float kern_dot_scalar(const float *a, const float *b, int n);
void kern_axpy_scalar(float *y, float a, const float *x, int n);

/* ---- wasm SIMD128 (kernels_simd128.c) ---- */
#if defined(__wasm_simd128__)
#define KERN_HAVE_SIMD128 1
void kern_quantize_act_simd128(const float *x, kern_qact *q);
void kern_matmul_i16x4_simd128(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw,
                               int T, int N, int K);
void kern_softmax_prob_i16_simd128(float *x, int n, int np, int16_t *q);
float kern_quantize_row_i16_simd128(const float *x, int n, float range, int16_t *q, int pair_step);
void kern_quantize_cols_i16_simd128(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt,
                                    int lenp);
void kern_matmul_f32_simd128(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K);
void kern_matmul_f16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
void kern_matmul_bf16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K);
void kern_matmul_q8_0_simd128(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
void kern_matmul_q8_0x4_simd128(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
void kern_matmul_q4_0_simd128(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N);
void kern_layer_norm_simd128(float *x, int T, int n, const float *g, const float *b, float eps);
void kern_gelu_simd128(float *x, size_t n);
void kern_softmax_simd128(float *x, int n);
void kern_add_simd128(float *y, const float *x, size_t n);
float kern_dot_simd128(const float *a, const float *b, int n);
void kern_axpy_simd128(float *y, float a, const float *x, int n);
/* exposed for the tests: erf and exp of 4 floats (|erf error| < 1e-6 abs, exp within a few ulp) */
void kern_erf4_simd128(const float *x, float *out);
void kern_exp4_simd128(const float *x, float *out);
#else
#define KERN_HAVE_SIMD128 0
#endif

#endif
