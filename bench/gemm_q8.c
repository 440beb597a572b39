/* Microbenchmark of the Q8_0 GEMM alone (and the activation quantization feeding it) at XLM-R base shapes:
 * GOP/s = 2·T·N·K / time, the best of 30 repeats after a warm-up, timed in process CPU time (the machine
 * is shared: CPU time is what the kernel costs, wall time adds whoever else runs). Weights rotate through
 * 8 copies so they come from memory as in the encoder. The encoder's layout (XLMR_LAYOUT_Q8_0X4) is timed beside
 * the row-major one. Build and run (wasm SIMD128 under Node; --no-liftoff
 * so V8's optimizing tier runs from the first call):
 *   mkdir -p build/bench && clang-19 --target=wasm32-wasi -O3 -msimd128 -DNDEBUG -std=c11 -D_POSIX_C_SOURCE=200809L \
 *     -Isrc bench/gemm_q8.c src/kernels.c src/kernels_scalar.c src/kernels_simd128.c src/quant.c src/common.c \
 *     -o build/bench/gemm_q8.wasm -lm && node --no-liftoff tests/run-wasi.mjs build/bench/gemm_q8.wasm
 * Arguments: [T] (default 128). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "kernels.h"
#include "quant.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t rng = 1;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

int main(int argc, char **argv) {
    const int T = argc > 1 ? atoi(argv[1]) : 128;
    const int shapes[][2] = {{768, 768}, {3072, 768}, {768, 3072}}; /* N, K: attention, ffn_up, ffn_down */
    printf("Q8_0 GEMM, %s, T = %d\n", KERN_HAVE_SIMD128 ? "SIMD128" : "scalar", T);
    double total_ops = 0, total_time = 0, total_rows = 0;
    for (int s = 0; s < 3; s++) {
        const int N = shapes[s][0], K = shapes[s][1];
        float *x = malloc((size_t)T * K * sizeof(float)), *w = malloc((size_t)N * K * sizeof(float));
        float *y = malloc((size_t)T * N * sizeof(float)), *b = malloc((size_t)N * sizeof(float));
        enum { COPIES = 8 };
        const size_t wblocks = (size_t)N * K / QK8_0;
        block_q8_0 *wq = malloc(wblocks * COPIES * sizeof(block_q8_0));
        block_q8_0x4 *w4 = malloc(wblocks / 4 * COPIES * sizeof(block_q8_0x4));
        void *qm = malloc(kern_qact_bytes(T, K));
        for (size_t i = 0; i < (size_t)T * K; i++) x[i] = frand();
        for (size_t i = 0; i < (size_t)N * K; i++) w[i] = frand() * 0.05f;
        for (int i = 0; i < N; i++) b[i] = frand();
        for (int c = 0; c < COPIES; c++) {
            q8_0_quantize_row(w, wq + c * wblocks, (int64_t)N * K);
            xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4, {K, N}, w4 + c * wblocks / 4, 0};
            q8_0_put_blocks(&t4, 0, wq + c * wblocks, wblocks);
        }
        kern_qact q;
        kern_qact_init(&q, qm, T, K);
        double best_q = 1e9, best_m = 1e9, best_r = 1e9;
        for (int r = -3; r < 30; r++) {
            const int c = (r + 3) % COPIES;
            double t0 = now_s();
            kern_quantize_act(x, &q);
            double t1 = now_s();
            kern_matmul_q8_0x4(y, N, &q, w4 + (size_t)c * wblocks / 4, b, N);
            double t2 = now_s();
            kern_matmul_q8_0(y, N, &q, wq + (size_t)c * wblocks, b, N);
            double t3 = now_s();
            if (r >= 0 && t1 - t0 < best_q) best_q = t1 - t0;
            if (r >= 0 && t2 - t1 < best_m) best_m = t2 - t1;
            if (r >= 0 && t3 - t2 < best_r) best_r = t3 - t2;
        }
        const double ops = 2.0 * T * N * K;
        printf("  N %4d K %4d: matmul %7.3f ms = %5.1f GOP/s (row-major layout %5.1f); quantize %.3f ms\n", N, K,
               best_m * 1e3, ops / best_m * 1e-9, ops / best_r * 1e-9, best_q * 1e3);
        total_ops += ops;
        total_time += best_m;
        total_rows += best_r;
        free(x), free(w), free(y), free(b), free(wq), free(w4), free(qm);
    }
    printf("  overall %.1f GOP/s (row-major layout %.1f)\n", total_ops / total_time * 1e-9, total_ops / total_rows * 1e-9);
    return 0;
}
