/* kernels.c — the kern_* names the encoder calls: the SIMD128 version when compiled in, else the scalar
 * reference; plus the type dispatch of a linear layer and the embedding-row gather. The place where a
 * later build splits matmul rows across threads. */
#include "kernels.h"

#include "kernels_relaxed.h"
#include "quant.h"
#include "threads.h"

#if KERN_HAVE_SIMD128
#define KERN_PICK(name) name##_simd128
#else
#define KERN_PICK(name) name##_scalar
#endif

/* The relaxed-SIMD build quantizes activations to u7 for its own GEMM (kernels_relaxed.h). */
#if KERN_HAVE_RELAXED
void kern_quantize_act(const float *x, kern_qact *q) { kern_quantize_act_relaxed(x, q); }
#else
void kern_quantize_act(const float *x, kern_qact *q) { KERN_PICK(kern_quantize_act)(x, q); }
#endif

/* Threaded build: a float matmul's output columns in chunks (attention scores and context, F32 weights), when
 * it is big enough to pay for waking the pool (~10 µs). Each output is computed exactly as without threads. */
typedef struct f32_cols {
    float *y;
    const float *x, *w, *b;
    int ldy, T, N, K, chunk;
} f32_cols;

static void f32_cols_task(void *p, int i) {
    const f32_cols *j = (const f32_cols *)p;
    const int n0 = i * j->chunk, n = j->N - n0 < j->chunk ? j->N - n0 : j->chunk;
    KERN_PICK(kern_matmul_f32)(j->y + n0, j->ldy, j->x, j->w + (size_t)n0 * j->K, j->b ? j->b + n0 : NULL, j->T, n, j->K);
}

void kern_matmul_f32(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K) {
    const int nt = par_threads();
    if (nt == 1 || N < 32 || (double)T * N * K < 131072.0) {
        KERN_PICK(kern_matmul_f32)(y, ldy, x, w, b, T, N, K);
        return;
    }
    int chunk = (N + 2 * nt - 1) / (2 * nt);
    chunk = (chunk + 7) & ~7;
    f32_cols j = {y, x, w, b, ldy, T, N, K, chunk};
    par_run((N + chunk - 1) / chunk, f32_cols_task, &j);
}

void kern_matmul_f16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    KERN_PICK(kern_matmul_f16)(y, ldy, x, w, b, T, N, K);
}

void kern_matmul_bf16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    KERN_PICK(kern_matmul_bf16)(y, ldy, x, w, b, T, N, K);
}

void kern_matmul_q8_0(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
#if KERN_HAVE_RELAXED
    kern_matmul_q8_0_relaxed(y, ldy, x, w, b, N);
#else
    KERN_PICK(kern_matmul_q8_0)(y, ldy, x, w, b, N);
#endif
}

void kern_matmul_q8_0x4(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    KERN_PICK(kern_matmul_q8_0x4)(y, ldy, x, w, b, N);
}

/* The relaxed build's GEMM reads u7 activations and row-major weights (kernels_relaxed.h). */
int kern_q8_0_layout(int64_t rows) {
    return !KERN_HAVE_RELAXED && rows % 4 == 0 ? XLMR_LAYOUT_Q8_0X4 : XLMR_LAYOUT_ROWS;
}

void kern_layer_norm(float *x, int T, int n, const float *g, const float *b, float eps) {
    KERN_PICK(kern_layer_norm)(x, T, n, g, b, eps);
}

void kern_gelu(float *x, size_t n) { KERN_PICK(kern_gelu)(x, n); }
void kern_softmax(float *x, int n) { KERN_PICK(kern_softmax)(x, n); }
void kern_add(float *y, const float *x, size_t n) { KERN_PICK(kern_add)(y, x, n); }
float kern_dot(const float *a, const float *b, int n) { return KERN_PICK(kern_dot)(a, b, n); }
void kern_axpy(float *y, float a, const float *x, int n) { KERN_PICK(kern_axpy)(y, a, x, n); }

/* Threaded build (threads.h): a Q8_0 layer's output columns in chunks, one par_run task each. Every chunk
 * reads all of x; chunks are multiples of 16 columns, about 4 per thread so a slowed thread evens out. Each
 * output is computed exactly as without threads. */
typedef struct q8_cols {
    float *y;
    int ldy, N, chunk, nb;
    const kern_qact *xq;
    const xlmr_tensor *w;
    const float *b;
} q8_cols;

static void q8_cols_run(const q8_cols *j, int n0, int n) {
    const float *b = j->b ? j->b + n0 : NULL;
    if (j->w->layout == XLMR_LAYOUT_Q8_0X4)
        kern_matmul_q8_0x4(j->y + n0, j->ldy, j->xq, (const block_q8_0x4 *)j->w->data + (size_t)(n0 / 4) * j->nb, b, n);
    else
        kern_matmul_q8_0(j->y + n0, j->ldy, j->xq, (const block_q8_0 *)j->w->data + (size_t)n0 * j->nb, b, n);
}

static void q8_cols_task(void *p, int i) {
    const q8_cols *j = (const q8_cols *)p;
    const int n0 = i * j->chunk;
    q8_cols_run(j, n0, j->N - n0 < j->chunk ? j->N - n0 : j->chunk);
}

static void linear_q8_0(float *y, int ldy, const kern_qact *xq, const xlmr_tensor *w, const float *b, int N, int K) {
    const int nt = par_threads();
    int chunk = (N + 4 * nt - 1) / (4 * nt);
    chunk = (chunk + 15) & ~15;
    q8_cols j = {y, ldy, N, chunk, K / QK8_0, xq, w, b};
    if (nt == 1 || N < 64) q8_cols_run(&j, 0, N);
    else par_run((N + chunk - 1) / chunk, q8_cols_task, &j);
}

void kern_linear(float *y, int ldy, const float *x, const kern_qact *xq, const xlmr_tensor *w, const float *b, int T) {
    const int K = (int)w->ne[0], N = (int)w->ne[1];
    switch (w->type) {
    case XLMR_TYPE_F32: kern_matmul_f32(y, ldy, x, (const float *)w->data, b, T, N, K); break;
    case XLMR_TYPE_F16: kern_matmul_f16(y, ldy, x, (const uint16_t *)w->data, b, T, N, K); break;
    case XLMR_TYPE_BF16: kern_matmul_bf16(y, ldy, x, (const uint16_t *)w->data, b, T, N, K); break;
    case XLMR_TYPE_Q8_0: linear_q8_0(y, ldy, xq, w, b, N, K); break;
    }
}

void kern_get_row(float *out, const xlmr_tensor *table, int64_t r) {
    const int64_t n = table->ne[0];
    const uint8_t *base = (const uint8_t *)table->data;
    switch (table->type) {
    case XLMR_TYPE_F32: memcpy(out, base + (size_t)(r * n) * 4, (size_t)n * 4); break;
    case XLMR_TYPE_F16: f16_to_f32_row((const uint16_t *)(const void *)(base + (size_t)(r * n) * 2), out, n); break;
    case XLMR_TYPE_BF16: bf16_to_f32_row((const uint16_t *)(const void *)(base + (size_t)(r * n) * 2), out, n); break;
    case XLMR_TYPE_Q8_0:
        if (table->layout == XLMR_LAYOUT_Q8_0X4) {
            block_q8_0 blk;
            for (int64_t j = 0; j < n / QK8_0; j++) {
                q8_0_get_blocks(table, (uint64_t)(r * (n / QK8_0) + j), &blk, 1);
                q8_0_dequantize_row(&blk, out + j * QK8_0, QK8_0);
            }
        } else {
            q8_0_dequantize_row((const block_q8_0 *)(const void *)base + (size_t)(r * (n / QK8_0)), out, n);
        }
        break;
    }
}
