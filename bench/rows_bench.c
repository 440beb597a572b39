/* rows_bench.c — the encoder's row and elementwise kernels alone, in ns per element: attention's softmax to int16
 * probabilities (rows of a 64-query block), GELU on the FFN's output, LayerNorm with the residual, activation
 * quantization for the Q8_0 GEMMs, the fill-mask head's softmax over the vocabulary; and attention's two int16
 * products for one block of 64 queries and one head (q kᵀ, p v: kern_matmul_i16x4), in ns per multiply-add. Shapes of the base model
 * (H 768, FFN 3072) at seq 128 and 512; data in cache (each call's buffer is at most a few MB). Built for wasm32-wasi
 * with dist/xlmr.wasm's flags and run under Node's WASI by bench/rows.mjs.
 *
 *   rows_bench [min_ms_per_case]
 * Prints one JSON line per case: {"case":…,"elements":…,"ns_per_element":…,"ms":…} (median of the second half of
 * the runs, wall clock; the products also "gops", 1 multiply-add = 2 ops). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "bench_util.h"
#include "kernels.h"

enum { SOFTMAX_I16, GELU, ADD_LAYER_NORM, QUANTIZE_ACT, SOFTMAX_VOCAB, I16_SCORES, I16_CONTEXT };
static const char *const names[] = {"softmax_prob_i16", "gelu", "add_layer_norm", "quantize_act", "softmax",
                                    "i16_scores", "i16_context"};

/* y (T, N) = x (T, K) · w (N, K)ᵀ in int16 (kern_matmul_i16x4's layouts; values within attention's ranges), timed
 * as one case: T N K multiply-adds. */
static void run_i16(int k, int T, int N, int K, double min_ms) {
    const int N4 = (N + 3) & ~3;
    int16_t *x = aligned_alloc(16, (size_t)T * K * sizeof *x), *w = aligned_alloc(16, (size_t)N4 * K * sizeof *w);
    float *dx = malloc((size_t)T * sizeof *dx), *dw = malloc((size_t)N4 * sizeof *dw), *y = malloc((size_t)T * N * sizeof *y);
    if (!x || !w || !dx || !dw || !y) {
        printf("{\"case\":\"%s\",\"error\":\"out of memory\"}\n", names[k]);
        return;
    }
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = (int16_t)(5000.0f * frand());
    for (size_t i = 0; i < (size_t)N4 * K; i++) w[i] = (int16_t)(5000.0f * frand());
    for (int i = 0; i < T; i++) dx[i] = 1e-4f;
    for (int i = 0; i < N4; i++) dw[i] = 1e-4f;
    double times[400];
    int runs = 0;
    const double t_end = now_ms() + min_ms;
    while (runs < 400 && (runs < 10 || now_ms() < t_end)) {
        const double t0 = now_ms();
        for (int rep = 0; rep < 16; rep++) kern_matmul_i16x4(y, N, x, dx, w, dw, T, N, K);
        times[runs++] = (now_ms() - t0) / 16;
    }
    const double ms = median_late(times, runs);
    const size_t macs = (size_t)T * N * K;
    printf("{\"case\":\"%s\",\"rows\":%d,\"n\":%d,\"k\":%d,\"elements\":%zu,\"ms\":%.4f,\"ns_per_element\":%.4f,\"gops\":%.1f}\n",
           names[k], T, N, K, macs, ms, ms * 1e6 / (double)macs, 2.0 * (double)macs / ms / 1e6);
    free(x); free(w); free(dx); free(dw); free(y);
}

/* One case: rows × n elements of kind k; each run restores the inputs first (untimed) so every run sees the same
 * values (softmax and GELU work in place). */
static void run_case(int k, int rows, int n, double min_ms) {
    const size_t count = (size_t)rows * n;
    float *src = malloc(count * sizeof *src), *x = malloc(count * sizeof *x), *res = malloc(count * sizeof *res);
    float *g = malloc((size_t)n * sizeof *g), *b = malloc((size_t)n * sizeof *b);
    int16_t *q16 = aligned_alloc(16, (((size_t)rows * ((n + 7) & ~7)) * sizeof *q16 + 15) & ~(size_t)15);
    void *qmem = aligned_alloc(16, (kern_qact_bytes(rows, n) + 15) & ~(size_t)15);
    if (!src || !x || !res || !g || !b || !q16 || !qmem) {
        printf("{\"case\":\"%s\",\"error\":\"out of memory\"}\n", names[k]);
        return;
    }
    const float spread = k == SOFTMAX_I16 ? 8.0f : k == SOFTMAX_VOCAB ? 12.0f : 3.0f; /* score / logit / activation ranges */
    for (size_t i = 0; i < count; i++) src[i] = spread * frand(), res[i] = frand();
    for (int i = 0; i < n; i++) g[i] = 1.0f + 0.1f * frand(), b[i] = 0.1f * frand();
    kern_qact q;
    kern_qact_init(&q, qmem, rows, n);
    double times[400];
    int runs = 0;
    const double t_end = now_ms() + min_ms;
    while (runs < 400 && (runs < 10 || now_ms() < t_end)) {
        memcpy(x, src, count * sizeof *x);
        const double t0 = now_ms();
        switch (k) {
        case SOFTMAX_I16:
            for (int r = 0; r < rows; r++) kern_softmax_prob_i16(x + (size_t)r * n, n, (n + 7) & ~7, q16 + (size_t)r * ((n + 7) & ~7));
            break;
        case GELU: kern_gelu(x, count); break;
        case ADD_LAYER_NORM: kern_add_layer_norm(x, res, rows, n, g, b, 1e-5f); break;
        case QUANTIZE_ACT: kern_quantize_act(x, &q); break;
        case SOFTMAX_VOCAB:
            for (int r = 0; r < rows; r++) kern_softmax(x + (size_t)r * n, n);
            break;
        }
        times[runs++] = now_ms() - t0;
    }
    const double ms = median_late(times, runs);
    printf("{\"case\":\"%s\",\"rows\":%d,\"n\":%d,\"elements\":%zu,\"ms\":%.4f,\"ns_per_element\":%.3f}\n", names[k], rows, n,
           count, ms, ms * 1e6 / (double)count);
    free(src); free(x); free(res); free(g); free(b); free(q16); free(qmem);
}

int main(int argc, char **argv) {
    const double min_ms = argc > 1 ? atof(argv[1]) : 300.0;
    rng_state = 777;
    for (int seq = 128; seq <= 512; seq *= 4) {
        run_case(SOFTMAX_I16, ATT_QBLOCK, seq, min_ms); /* one query block's scores over seq keys */
        run_case(GELU, seq, 3072, min_ms);
        run_case(ADD_LAYER_NORM, seq, 768, min_ms);
        run_case(QUANTIZE_ACT, seq, 768, min_ms);
        run_case(QUANTIZE_ACT, seq, 3072, min_ms);
        run_i16(I16_SCORES, ATT_QBLOCK, seq, 64, min_ms);  /* a block's scores over seq keys, dh 64 */
        run_i16(I16_CONTEXT, ATT_QBLOCK, 64, seq, min_ms); /* its context: probabilities (seq padded to 8) · values */
    }
    run_case(SOFTMAX_VOCAB, 1, 250002, min_ms); /* the fill-mask head's probabilities */
    return 0;
}
