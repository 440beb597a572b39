/* gemm_bench.c — the Q8_0 GEMM alone, to know its peak: y(T, N) = x(T, K) · W(N, K)ᵀ + b on the encoder's
 * shapes, through kern_linear with the weight layout the loader gives this build (kern_q8_0_layout: 4-row
 * interleaved blocks, in column pairs for SIMD128 and runs of 4 for relaxed SIMD), activations quantized once (timed separately).
 * Beside it, the row-major kernel (kern_matmul_q8_0) on the same weights, for the layout's gain, and the same weights
 * in Q4_0 through kern_linear (q4_0_gops) on the same quantized activations. Built with
 * -mrelaxed-simd it times the relaxed-SIMD kernels (kernels_relaxed.h): the u7 pair form and, where the engine computes
 * the fused dot exactly (kern_dot_probe), the exact 8-bit kernel on the same shape. Built for wasm32-wasi with the same
 * flags as dist/xlmr.wasm and run under Node's WASI by bench/gemm.mjs (or natively for a profile).
 *
 *   gemm_bench [min_ms_per_shape [T N K]...]     (default shapes below; e.g. 1 250002 768 for the MLM decoder)
 * Prints one JSON line per shape and kernel: {"T":…,"N":…,"K":…,"kernel":…,"layout":…,"ms":…,"gops":…,"rows_gops":…,"q4_0_gops":…} (medians of the
 * second half of the runs, wall clock; 1 MAC = 2 ops), then the peak. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench_util.h"
#include "kernels.h"
#include "kernels_relaxed.h"
#include "quant.h"

static const char *kernel_name(int kernel) {
    return kernel < 0 ? "simd128" : kernel == KERN_INT8_PAIR_U7 ? "pair-u7" : kernel == KERN_INT8_EXACT_U8 ? "vnni-exact" : "sdot-exact";
}

/* One shape with one int8 kernel (-1: the SIMD128 build's): prints its JSON line, returns its GOP/s (< 0: no memory). */
static double run_shape(int T, int N, int K, double min_ms, int kernel) {
#if KERN_HAVE_RELAXED
    kern_int8_kernel_set(kernel);
#endif
    float *x = malloc((size_t)T * K * sizeof *x), *wf = malloc((size_t)N * K * sizeof *wf);
    float *b = malloc((size_t)N * sizeof *b), *y = malloc((size_t)T * N * sizeof *y);
    const size_t nblocks = (size_t)N * (K / QK8_0);
    block_q8_0 *w = malloc(nblocks * sizeof *w), *wl = malloc(nblocks * sizeof *wl);
    void *qmem = aligned_alloc(16, (kern_qact_bytes(T, K) + 15) & ~(size_t)15);
    block_q4_0 *w4 = malloc(nblocks * sizeof *w4);
    if (!x || !wf || !b || !y || !w || !wl || !qmem || !w4) return -1;
    rng_state = 12345;
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = frand();
    for (size_t i = 0; i < (size_t)N * K; i++) wf[i] = 0.02f * frand();
    for (int i = 0; i < N; i++) b[i] = frand();
    for (int n = 0; n < N; n++) q8_0_quantize_row(wf + (size_t)n * K, w + (size_t)n * (K / QK8_0), K);
    xlmr_tensor wt = {XLMR_TYPE_Q8_0, kern_q8_0_layout(N), {K, N}, wl, nblocks * sizeof *wl};
    q8_0_put_blocks(&wt, 0, w, nblocks);
    /* GEMM_COLD (bench/gemm.mjs --cold): the layout kernel's runs rotate over copies of the weights, ~96 MB in all,
     * so each run reads them from memory as the encoder does (its weights are far past the last-level cache) */
    enum { COLD_BYTES = 96 << 20, COLD_MAX = 160 };
    static xlmr_tensor cold[COLD_MAX];
    int copies = 0;
    if (getenv("GEMM_COLD")) {
        const size_t bytes = nblocks * sizeof *wl;
        copies = bytes >= COLD_BYTES ? 1 : (int)(COLD_BYTES / bytes);
        if (copies > COLD_MAX) copies = COLD_MAX;
        for (int c = 0; c < copies; c++) {
            cold[c] = wt;
            if (!(cold[c].data = malloc(bytes))) return -1;
            q8_0_put_blocks(&cold[c], 0, w, nblocks);
        }
    }
    q4_0_quantize_row(wf, w4, (int64_t)N * K);
    const xlmr_tensor wt4 = {XLMR_TYPE_Q4_0, XLMR_LAYOUT_ROWS, {K, N}, w4, nblocks * sizeof *w4};

    double times[200], qtimes[200], rtimes[200], q4times[200];
    int runs = 0;
    const double t_start = now_ms();
    while (runs < 200 && (runs < 5 || now_ms() - t_start < min_ms)) {
        kern_input in = kern_input_of(x, T, K, qmem);
        double t0 = now_ms();
        kern_qact_init(&in.q, qmem, T, K);
        kern_quantize_act(x, &in.q);
        in.quantized = 1;
        double t1 = now_ms();
        kern_linear(y, N, &in, copies ? &cold[runs % copies] : &wt, b);
        double t2 = now_ms();
        kern_matmul_q8_0(y, N, &in.q, w, b, N);
        double t3 = now_ms();
        kern_linear(y, N, &in, &wt4, b);
        q4times[runs] = now_ms() - t3;
        qtimes[runs] = t1 - t0;
        rtimes[runs] = t3 - t2;
        times[runs++] = t2 - t1;
    }
    kern_input in = kern_input_of(x, T, K, qmem); /* the checked output: the layout's kernel */
    kern_linear(y, N, &in, &wt, b);
    /* the first runs warm V8's tiers up: keep the second half */
    const int h = runs / 2;
    qsort(times + h, runs - h, sizeof *times, cmp_double);
    qsort(qtimes + h, runs - h, sizeof *qtimes, cmp_double);
    qsort(rtimes + h, runs - h, sizeof *rtimes, cmp_double);
    qsort(q4times + h, runs - h, sizeof *q4times, cmp_double);
    /* a coarse clock (a browser page's) can read 0 ms for a small shape: bound it to 1 µs to keep the JSON finite */
    const double tiny = 1e-3;
    const double med = fmax(times[h + (runs - h) / 2], tiny), best = fmax(times[h], tiny), qmed = qtimes[h + (runs - h) / 2];
    rtimes[h + (runs - h) / 2] = fmax(rtimes[h + (runs - h) / 2], tiny);
    q4times[h + (runs - h) / 2] = fmax(q4times[h + (runs - h) / 2], tiny);
    const double ops = 2.0 * T * N * K, gops = ops / (med * 1e6), gops_best = ops / (best * 1e6);
    printf("{\"T\":%d,\"N\":%d,\"K\":%d,\"kernel\":\"%s\",\"layout\":\"%s\",\"runs\":%d,\"ms\":%.3f,\"best_ms\":%.3f,\"gops\":%.2f,"
           "\"gops_best\":%.2f,\"rows_gops\":%.2f,\"q4_0_gops\":%.2f,\"quantize_ms\":%.3f,\"check\":%.4f}\n",
           T, N, K, kernel_name(kernel), wt.layout == XLMR_LAYOUT_Q8_0X4 ? "q8_0x4" : wt.layout == XLMR_LAYOUT_Q8_0X4_R4 ? "q8_0x4_r4" : "rows",
           runs, med, best, gops, gops_best, ops / (rtimes[h + (runs - h) / 2] * 1e6), ops / (q4times[h + (runs - h) / 2] * 1e6),
           qmed, y[(size_t)(T - 1) * N + N - 1]);
    fflush(stdout);
    for (int c = 0; c < copies; c++) free((void *)cold[c].data);
    free(x); free(wf); free(b); free(y); free(w); free(wl); free(qmem); free(w4);
    return gops;
}

int main(int argc, char **argv) {
    const double min_ms = argc > 1 ? atof(argv[1]) : 1500;
    /* (T, N, K): attention projections, FFN up, FFN down, at seq 16/128/512 */
    static int shapes[16][3] = {
        {128, 768, 768}, {128, 3072, 768}, {128, 768, 3072}, {16, 768, 768}, {16, 3072, 768},
        {512, 768, 768}, {512, 3072, 768}, {512, 768, 3072},
    };
    size_t nshapes = 8;
    if (argc > 2) {
        for (nshapes = 0; nshapes < 16 && 2 + 3 * (int)nshapes + 2 < argc; nshapes++)
            for (int i = 0; i < 3; i++) shapes[nshapes][i] = atoi(argv[2 + 3 * nshapes + i]);
        for (size_t s = 0; s < nshapes; s++)
            if (shapes[s][0] < 1 || shapes[s][1] < 1 || shapes[s][2] < QK8_0 || shapes[s][2] % QK8_0) {
                fprintf(stderr, "gemm_bench: shape %zu: T, N >= 1 and K a multiple of %d\n", s, QK8_0);
                return 2;
            }
    }
    double peak = 0;
    /* the build's int8 kernels: SIMD128 alone, or the relaxed pair form and, where the engine computes the fused
     * dot exactly (kern_dot_probe), the exact kernel */
    int kernels[2] = {-1, -1}, nk = 1;
#if KERN_HAVE_RELAXED
    const int probe = kern_dot_probe();
    kernels[0] = KERN_INT8_PAIR_U7;
    if (kern_int8_kernel_for_probe(probe) > 0) kernels[nk++] = kern_int8_kernel_for_probe(probe);
#endif
    for (size_t s = 0; s < nshapes; s++)
        for (int k = 0; k < nk; k++) {
            const double g = run_shape(shapes[s][0], shapes[s][1], shapes[s][2], min_ms, kernels[k]);
            if (g < 0) return 1;
            if (g > peak) peak = g;
        }
    printf("{\"peak_gops\":%.2f}\n", peak);
    return 0;
}
