/* kernels.c — the kern_* names the encoder calls: the SIMD128 version when compiled in, else the scalar
 * reference; plus the type and layout dispatch of a linear layer, the embedding-row gather, and the split of
 * the work over the threaded build's pool (GEMM columns, rows of the row-wise kernels; threads.h). */
#include "kernels.h"

#include "kernels_relaxed.h"
#include "quant.h"
#include "threads.h"

#if KERN_HAVE_SIMD128
#define KERN_PICK(name) name##_simd128
#else
#define KERN_PICK(name) name##_scalar
#endif

/* Threaded build: elementwise and row-wise kernels split their rows over the pool when there are at least
 * this many floats: about the work that waking the pool costs (BENCHMARKS.md, "Kernel design notes"). */
#define PAR_MIN_FLOATS 32768.0

/* Chunks of `align`-multiple rows, two per thread (a slowed thread evens out); 1 when not worth it. */
static int row_chunks(int T, int n, int align, int *chunk) {
    const int nt = par_threads();
    *chunk = T;
    if (nt == 1 || (double)T * n < PAR_MIN_FLOATS) return 1;
    int c = (T + 2 * nt - 1) / (2 * nt);
    c = (c + align - 1) / align * align;
    *chunk = c;
    return (T + c - 1) / c;
}

/* Activation quantization is split at tile boundaries: a view of rows [t0, t0 + n) is itself a kern_qact (its last
 * tile padded as the whole one's). Every format is laid out per tile (the int16 rows; the relaxed build's u7 and
 * exact bytes, kernels_relaxed.h); the relaxed build's format depends on the whole input's row count, so its views
 * are told that count. */
typedef struct qact_rows {
    const float *x;
    const kern_qact *q;
    int chunk;
} qact_rows;

/* x into q, a view of rows of an input of T rows (the whole of it when q->T == T) */
static void quantize_view(const float *x, kern_qact *q, int T) {
#if KERN_HAVE_RELAXED
    kern_quantize_act_relaxed_rows(x, q, T);
#else
    (void)T;
    KERN_PICK(kern_quantize_act)(x, q);
#endif
}

static void qact_rows_task(void *p, int i) {
    const qact_rows *j = (const qact_rows *)p;
    const kern_qact *q = j->q;
    const int t0 = i * j->chunk, n = q->T - t0 < j->chunk ? q->T - t0 : j->chunk;
    kern_qact view = {q->qs + (size_t)t0 * q->K, q->d + (size_t)t0 * (q->K / QK8_0), n, q->K};
    quantize_view(j->x + (size_t)t0 * q->K, &view, q->T);
}

void kern_quantize_act(const float *x, kern_qact *q) {
    qact_rows j = {x, q, 0};
    const int n = row_chunks(q->T, q->K, KERN_QTILE, &j.chunk);
    if (n > 1) par_run(n, qact_rows_task, &j);
    else quantize_view(x, q, q->T);
}

/* Threaded build: a float matmul's output columns in chunks (attention scores and context, F32 weights), when
 * it is big enough to pay for waking the pool. Each output is computed exactly as without threads. */
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

void kern_matmul_f32_local(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K) {
    KERN_PICK(kern_matmul_f32)(y, ldy, x, w, b, T, N, K);
}

void kern_matmul_i16x4(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw, int T,
                       int N, int K) {
    KERN_PICK(kern_matmul_i16x4)(y, ldy, x, dx, w, dw, T, N, K);
}

void kern_softmax_prob_i16(float *x, int n, int np, int16_t *q) { KERN_PICK(kern_softmax_prob_i16)(x, n, np, q); }
float kern_quantize_row_i16(const float *x, int n, float range, int16_t *q, int pair_step) {
    return KERN_PICK(kern_quantize_row_i16)(x, n, range, q, pair_step);
}
void kern_quantize_cols_i16(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt, int lenp) {
    KERN_PICK(kern_quantize_cols_i16)(v, ldv, len, dh, range, dv, vt, lenp);
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

void kern_matmul_q4_0(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
#if KERN_HAVE_RELAXED
    kern_matmul_q4_0_relaxed(y, ldy, x, w, b, N);
#else
    KERN_PICK(kern_matmul_q4_0)(y, ldy, x, w, b, N);
#endif
}

void kern_matmul_q8_0x4(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    KERN_PICK(kern_matmul_q8_0x4)(y, ldy, x, w, b, N);
}

/* The relaxed build's GEMM reads u7 activations and runs of 4 columns (kernels_relaxed.h). */
int kern_q8_0_layout(int64_t rows) {
    if (rows % 4) return XLMR_LAYOUT_ROWS;
    return KERN_HAVE_RELAXED ? XLMR_LAYOUT_Q8_0X4_R4 : XLMR_LAYOUT_Q8_0X4;
}

/* y = LayerNorm(y + x) row by row (x may be NULL: LayerNorm alone), rows split over threads. */
typedef struct norm_rows {
    float *y;
    const float *x, *g, *b;
    int T, n, chunk;
    float eps;
} norm_rows;

static void norm_rows_task(void *p, int i) {
    const norm_rows *j = (const norm_rows *)p;
    const int t0 = i * j->chunk, nr = j->T - t0 < j->chunk ? j->T - t0 : j->chunk;
    for (int t = t0; t < t0 + nr; t++) {
        float *y = j->y + (size_t)t * j->n;
        if (j->x) KERN_PICK(kern_add)(y, j->x + (size_t)t * j->n, (size_t)j->n);
        KERN_PICK(kern_layer_norm)(y, 1, j->n, j->g, j->b, j->eps);
    }
}

void kern_add_layer_norm(float *y, const float *x, int T, int n, const float *g, const float *b, float eps) {
    norm_rows j = {y, x, g, b, T, n, 0, eps};
    par_run(row_chunks(T, n, 1, &j.chunk), norm_rows_task, &j);
}

void kern_layer_norm(float *x, int T, int n, const float *g, const float *b, float eps) {
    kern_add_layer_norm(x, NULL, T, n, g, b, eps);
}

typedef struct gelu_span {
    float *x;
    size_t n, chunk;
} gelu_span;

static void gelu_span_task(void *p, int i) {
    const gelu_span *j = (const gelu_span *)p;
    const size_t i0 = (size_t)i * j->chunk;
    KERN_PICK(kern_gelu)(j->x + i0, j->n - i0 < j->chunk ? j->n - i0 : j->chunk);
}

void kern_gelu(float *x, size_t n) {
    const int nt = par_threads();
    if (nt == 1 || (double)n < PAR_MIN_FLOATS) {
        KERN_PICK(kern_gelu)(x, n);
        return;
    }
    gelu_span j = {x, n, ((n + 2 * (size_t)nt - 1) / (2 * (size_t)nt) + 3) & ~(size_t)3};
    par_run((int)((n + j.chunk - 1) / j.chunk), gelu_span_task, &j);
}

void kern_softmax(float *x, int n) { KERN_PICK(kern_softmax)(x, n); }
void kern_add(float *y, const float *x, size_t n) { KERN_PICK(kern_add)(y, x, n); }
float kern_dot(const float *a, const float *b, int n) { return KERN_PICK(kern_dot)(a, b, n); }
void kern_axpy(float *y, float a, const float *x, int n) { KERN_PICK(kern_axpy)(y, a, x, n); }

/* Threaded build (threads.h): a Q8_0 or Q4_0 layer's output columns in chunks, one par_run task each. Every chunk
 * reads all of x; chunks are multiples of 16 columns, about 4 per thread so a slowed thread evens out. Each
 * output is computed exactly as without threads. */
typedef struct q8_cols {
    float *y;
    int ldy, N, chunk, nb, gelu;
    const kern_qact *xq;
    const xlmr_tensor *w;
    const float *b;
} q8_cols;

static void q8_cols_run(const q8_cols *j, int n0, int n) {
    const float *b = j->b ? j->b + n0 : NULL;
    if (j->w->type == XLMR_TYPE_Q4_0)
        kern_matmul_q4_0(j->y + n0, j->ldy, j->xq, (const block_q4_0 *)j->w->data + (size_t)n0 * j->nb, b, n);
    else if (j->w->layout == XLMR_LAYOUT_Q8_0X4)
        kern_matmul_q8_0x4(j->y + n0, j->ldy, j->xq, (const block_q8_0x4 *)j->w->data + (size_t)(n0 / 4) * j->nb, b, n);
#if KERN_HAVE_RELAXED
    else if (j->w->layout == XLMR_LAYOUT_Q8_0X4_R4)
        kern_matmul_q8_0x4r4_relaxed(j->y + n0, j->ldy, j->xq, (const block_q8_0x4 *)j->w->data + (size_t)(n0 / 4) * j->nb, b, n);
#endif
    else
        kern_matmul_q8_0(j->y + n0, j->ldy, j->xq, (const block_q8_0 *)j->w->data + (size_t)n0 * j->nb, b, n);
    if (j->gelu) /* while the chunk's outputs are still in cache */
        for (int t = 0; t < j->xq->T; t++) KERN_PICK(kern_gelu)(j->y + (size_t)t * j->ldy + n0, (size_t)n);
}

static void q8_cols_task(void *p, int i) {
    const q8_cols *j = (const q8_cols *)p;
    const int n0 = i * j->chunk;
    q8_cols_run(j, n0, j->N - n0 < j->chunk ? j->N - n0 : j->chunk);
}

static void linear_q8_0(float *y, int ldy, const kern_qact *xq, const xlmr_tensor *w, const float *b, int N, int K,
                        int gelu) {
    const int nt = par_threads();
    int chunk = (N + 4 * nt - 1) / (4 * nt);
    chunk = (chunk + 15) & ~15;
    q8_cols j = {y, ldy, N, chunk, K / QK8_0, gelu, xq, w, b};
    if (nt == 1 || N < 64) q8_cols_run(&j, 0, N);
    else par_run((N + chunk - 1) / chunk, q8_cols_task, &j);
}

static void linear(float *y, int ldy, kern_input *in, const xlmr_tensor *w, const float *b, int gelu) {
    const int K = (int)w->ne[0], N = (int)w->ne[1], T = in->T;
    switch (w->type) {
    case XLMR_TYPE_F32: kern_matmul_f32(y, ldy, in->x, (const float *)w->data, b, T, N, K); break;
    case XLMR_TYPE_F16: kern_matmul_f16(y, ldy, in->x, (const uint16_t *)w->data, b, T, N, K); break;
    case XLMR_TYPE_BF16: kern_matmul_bf16(y, ldy, in->x, (const uint16_t *)w->data, b, T, N, K); break;
    case XLMR_TYPE_Q8_0:
    case XLMR_TYPE_Q4_0:
        if (!in->quantized) {
            kern_qact_init(&in->q, in->qmem, T, K);
            kern_quantize_act(in->x, &in->q);
            in->quantized = 1;
        }
        linear_q8_0(y, ldy, &in->q, w, b, N, K, gelu);
        return;
    }
    if (gelu && ldy == N) kern_gelu(y, (size_t)T * N); /* one span: split over threads when long */
    else if (gelu)
        for (int t = 0; t < T; t++) kern_gelu(y + (size_t)t * ldy, (size_t)N);
}

void kern_linear(float *y, int ldy, kern_input *in, const xlmr_tensor *w, const float *b) { linear(y, ldy, in, w, b, 0); }

void kern_linear_gelu(float *y, int ldy, kern_input *in, const xlmr_tensor *w, const float *b) {
    linear(y, ldy, in, w, b, 1);
}

void kern_get_row(float *out, const xlmr_tensor *table, int64_t r) {
    const int64_t n = table->ne[0];
    const uint8_t *base = (const uint8_t *)table->data;
    switch (table->type) {
    case XLMR_TYPE_F32: memcpy(out, base + (size_t)(r * n) * 4, (size_t)n * 4); break;
    case XLMR_TYPE_F16: f16_to_f32_row((const uint16_t *)(const void *)(base + (size_t)(r * n) * 2), out, n); break;
    case XLMR_TYPE_BF16: bf16_to_f32_row((const uint16_t *)(const void *)(base + (size_t)(r * n) * 2), out, n); break;
    case XLMR_TYPE_Q8_0:
        if (table->layout != XLMR_LAYOUT_ROWS) {
            block_q8_0 blk;
            for (int64_t j = 0; j < n / QK8_0; j++) {
                q8_0_get_blocks(table, (uint64_t)(r * (n / QK8_0) + j), &blk, 1);
                q8_0_dequantize_row(&blk, out + j * QK8_0, QK8_0);
            }
        } else {
            q8_0_dequantize_row((const block_q8_0 *)(const void *)base + (size_t)(r * (n / QK8_0)), out, n);
        }
        break;
    case XLMR_TYPE_Q4_0: q4_0_dequantize_row((const block_q4_0 *)(const void *)base + (size_t)(r * (n / QK4_0)), out, n); break;
    }
}
