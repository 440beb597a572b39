/* test_kernels_relaxed.c — the u7 (relaxed-SIMD) Q8_0 GEMM: the scalar reference of its arithmetic against a
 * float product, the 4-row layout with runs of 4 columns (XLMR_LAYOUT_Q8_0X4_R4) against row-major weights
 * (everywhere), and, in builds with -mrelaxed-simd, the relaxed kernels against those references bit for bit on
 * random shapes with ragged token and row counts. */
#include <stdint.h>

#include "kernels_relaxed.h"
#include "quant.h"
#include "test.h"
#include "xlmr.h"

static uint32_t rng = 99;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / 8388608.0f - 1.0f;
}

static void *aligned(size_t n) { return aligned_alloc(16, (n + 15) & ~(size_t)15); }

/* The same weights in XLMR_LAYOUT_Q8_0X4_R4: the blocks round-trip, the R4 scalar reference gives the row-major
 * u7 reference's outputs (yu7) bit for bit, and so does the relaxed kernel (int16 path: kern_matmul_q8_0_scalar's),
 * writing only its N columns of rows ldy apart. */
static void r4_layout(int T, int N, int K, const float *x, const block_q8_0 *w, const float *b, const float *yu7) {
    const int nb = K / QK8_0, ldy = N + 3;
    const size_t nblocks = (size_t)N * nb;
    block_q8_0x4 *w4 = malloc(nblocks * sizeof(block_q8_0));
    block_q8_0 *back = malloc(nblocks * sizeof *back);
    float *y = malloc(sizeof(float) * (size_t)T * ldy), *yr = malloc(sizeof(float) * (size_t)T * N);
    void *m = aligned(kern_qact_bytes(T, K));
    xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4_R4, {K, N}, w4, nblocks * sizeof(block_q8_0)};
    q8_0_put_blocks(&t4, 0, w, nblocks);
    q8_0_get_blocks(&t4, 0, back, nblocks);
    CHECK(memcmp(back, w, nblocks * sizeof *back) == 0, "R4 layout put/get round trip (N %d K %d)", N, K);
    /* row r's column i sits at qs[16 (i / 4) + 4 r + i % 4] of its group's block */
    CHECK(w4[0].qs[4] == w[nb].qs[0] && w4[0].qs[16 + 4 * 3 + 1] == w[3 * nb].qs[5] && w4[0].d[2] == w[2 * nb].d,
          "R4 layout: columns not in runs of 4 (N %d K %d)", N, K);
    kern_qact q;
    kern_qact_init(&q, m, T, K);
    kern_quantize_act_u7_scalar(x, &q);
    kern_matmul_q8_0x4r4_u7_scalar(yr, N, &q, w4, b, N);
    CHECK(memcmp(yr, yu7, sizeof(float) * (size_t)T * N) == 0, "R4 u7 scalar differs from the row-major one (T %d N %d K %d)",
          T, N, K);
#if KERN_HAVE_RELAXED
    for (size_t i = 0; i < (size_t)T * ldy; i++) y[i] = -7.0f;
    kern_quantize_act_relaxed(x, &q);
    kern_matmul_q8_0x4r4_relaxed(y, ldy, &q, w4, b, N);
    if (T < KERN_U7_MIN_T) { /* int16 activations: the 8-bit reference */
        kern_quantize_act_scalar(x, &q);
        kern_matmul_q8_0_scalar(yr, N, &q, w, b, N);
    }
    int same = 1, outside = 1;
    for (int t = 0; t < T; t++) {
        same &= memcmp(y + (size_t)t * ldy, yr + (size_t)t * N, sizeof(float) * (size_t)N) == 0;
        for (int n = N; n < ldy; n++) outside &= y[(size_t)t * ldy + n] == -7.0f;
    }
    CHECK(same, "relaxed R4 GEMM differs from its reference (T %d N %d K %d)", T, N, K);
    CHECK(outside, "relaxed R4 GEMM wrote outside its columns (T %d N %d K %d)", T, N, K);
#else
    (void)y;
#endif
    free(w4); free(back); free(y); free(yr); free(m);
}

static void one_shape(int T, int N, int K) {
    const int nb = K / QK8_0;
    float *x = malloc(sizeof(float) * (size_t)T * K), *wf = malloc(sizeof(float) * (size_t)N * K);
    float *b = malloc(sizeof(float) * (size_t)N), *yref = malloc(sizeof(float) * (size_t)T * N);
    float *y0 = malloc(sizeof(float) * (size_t)T * N), *y1 = malloc(sizeof(float) * (size_t)T * N);
    block_q8_0 *w = malloc(sizeof(block_q8_0) * (size_t)N * nb);
    const size_t qb = kern_qact_bytes(T, K);
    void *m0 = aligned(qb), *m1 = aligned(qb);
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
    for (size_t i = 0; i < (size_t)N * K; i++) wf[i] = 0.05f * frand();
    for (int i = 0; i < N; i++) b[i] = frand();
    for (int n = 0; n < N; n++) q8_0_quantize_row(wf + (size_t)n * K, w + (size_t)n * nb, K);
    for (int n = 0; n < N; n++) q8_0_dequantize_row(w + (size_t)n * nb, wf + (size_t)n * K, K);

    /* reference: float activations × the dequantized weights */
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double s = b[n];
            for (int k = 0; k < K; k++) s += (double)x[(size_t)t * K + k] * wf[(size_t)n * K + k];
            yref[(size_t)t * N + n] = (float)s;
        }
    kern_qact q0;
    kern_qact_init(&q0, m0, T, K);
    kern_quantize_act_u7_scalar(x, &q0);
    int range_ok = 1;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) {
            const uint8_t u = kern_qact_u7_row(&q0, t)[k];
            range_ok &= u <= 127;
        }
    CHECK(range_ok, "u7 activations outside [0, 127] (T %d K %d)", T, K);
    kern_matmul_q8_0_u7_scalar(y0, N, &q0, w, b, N);
    /* the int16 (8-bit) path on the same data, for scale: 7-bit activations should cost about 2x its error (up to 4x on tiny shapes) */
    kern_qact q8;
    kern_qact_init(&q8, m1, T, K);
    kern_quantize_act_scalar(x, &q8);
    kern_matmul_q8_0_scalar(y1, N, &q8, w, b, N);
    double e7 = 0, e8 = 0, den = 0;
    for (size_t i = 0; i < (size_t)T * N; i++) {
        e7 += ((double)y0[i] - yref[i]) * ((double)y0[i] - yref[i]);
        e8 += ((double)y1[i] - yref[i]) * ((double)y1[i] - yref[i]);
        den += (double)yref[i] * yref[i];
    }
    CHECK(sqrt(e7 / den) < 0.03 && sqrt(e7) <= 4.0 * sqrt(e8),
          "u7 scalar GEMM relative error %g, 8-bit path %g (T %d N %d K %d)", sqrt(e7 / den), sqrt(e8 / den), T, N, K);

    if (N % 4 == 0) r4_layout(T, N, K, x, w, b, y0);

#if KERN_HAVE_RELAXED
    kern_qact q1;
    kern_qact_init(&q1, m1, T, K);
    kern_quantize_act_relaxed(x, &q1);
    kern_matmul_q8_0_relaxed(y1, N, &q1, w, b, N);
    if (T >= KERN_U7_MIN_T) {
        int same_q = 1;
        for (int t = 0; t < T; t++) same_q &= memcmp(kern_qact_u7_row(&q0, t), kern_qact_u7_row(&q1, t), (size_t)K) == 0;
        CHECK(same_q, "relaxed u7 quantization differs from the scalar one (T %d K %d)", T, K);
        CHECK(memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0, "relaxed GEMM differs from the u7 scalar (T %d N %d K %d)",
              T, N, K);
    } else { /* short inputs: the SIMD128 int16 path, compared with its own scalar reference */
        kern_qact q2;
        kern_qact_init(&q2, m0, T, K);
        kern_quantize_act_scalar(x, &q2);
        kern_matmul_q8_0_scalar(y0, N, &q2, w, b, N);
        CHECK(memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0, "short-input path differs from the scalar (T %d N %d)", T,
              N);
    }
#else
    (void)y1;
    (void)m1;
#endif
    free(x); free(wf); free(b); free(yref); free(y0); free(y1); free(w); free(m0); free(m1);
}

#if KERN_HAVE_RELAXED
/* The u7 quantizer's rounding (simd_round_i32x4 against nearbyintf) where they could part: exact halves after
 * scaling (block minimum 0 and maximum 127: scale 1), the [0, 127] ends, NaN -> 0, and a block with +-inf (scale
 * inf: every value 0). A NaN's block scale is meaningless and may differ (pmin/pmax): only its own output is compared. */
static void test_u7_edges(void) {
    enum { T = KERN_U7_MIN_T, K = 64, NAN_AT = 2 * K + 40 };
    static float x[T * K];
    for (int i = 0; i < T * K; i++) x[i] = (float)((i * 53) % 128);
    for (int i = 0; i < QK8_0; i++) x[K + i] = (float)i + 0.5f;        /* ties x.5 */
    x[K + 30] = 0.0f, x[K + 31] = 127.0f;
    x[3 * K + 1] = INFINITY, x[3 * K + 2] = -INFINITY;
    x[NAN_AT] = NAN;
    void *m0 = malloc(kern_qact_bytes(T, K)), *m1 = malloc(kern_qact_bytes(T, K));
    kern_qact q0, q1;
    kern_qact_init(&q0, m0, T, K);
    kern_qact_init(&q1, m1, T, K);
    kern_quantize_act_u7_scalar(x, &q0);
    kern_quantize_act_relaxed(x, &q1);
    int diff_at = -1;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K && diff_at < 0; k++)
            if (kern_qact_u7_row(&q0, t)[k] != kern_qact_u7_row(&q1, t)[k] && (t * K + k) / QK8_0 != NAN_AT / QK8_0)
                diff_at = t * K + k;
    CHECK(diff_at < 0, "u7 edges: relaxed != scalar at %d", diff_at);
    const uint8_t *tie = kern_qact_u7_row(&q1, 1), *nan_row = kern_qact_u7_row(&q1, 2), *inf_row = kern_qact_u7_row(&q1, 3);
    CHECK(tie[0] == 0 && tie[1] == 2 && tie[2] == 2 && tie[3] == 4 && tie[31] == 127, "u7 ties to even: %d %d %d %d %d",
          tie[0], tie[1], tie[2], tie[3], tie[31]);
    CHECK(nan_row[NAN_AT - 2 * K] == 0 && kern_qact_u7_row(&q0, 2)[NAN_AT - 2 * K] == 0, "u7: NaN -> 0");
    CHECK(inf_row[0] == 0 && inf_row[1] == 0 && inf_row[2] == 0, "u7: an infinite block gives 0");
    free(m0), free(m1);
}
#endif

/* The exact path's scalar reference: bytes q + 128 read unsigned and q read signed, each with its −off·S start, give
 * kern_matmul_q8_0_scalar's outputs bit for bit (the same integer sums, the same float operations). */
static void exact_reference(int T, int N, int K, const float *x, const block_q8_0 *w, const block_q8_0x4 *w4,
                            const float *b) {
    const size_t qb = kern_qact_bytes(T, K);
    void *m0 = aligned(qb), *m1 = aligned(qb);
    float *y0 = malloc(sizeof(float) * (size_t)T * N), *y1 = malloc(sizeof(float) * (size_t)T * N);
    kern_qact q0, q1;
    kern_qact_init(&q0, m0, T, K);
    kern_qact_init(&q1, m1, T, K);
    kern_quantize_act_scalar(x, &q0);
    kern_matmul_q8_0_scalar(y0, N, &q0, w, b, N);
    for (int off = 0; off <= 128; off += 128) {
        kern_quantize_act_scalar(x, &q1);
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++) *kern_qact_x4_byte(&q1, t, k) = (uint8_t)(q0.qs[(size_t)t * K + k] + off);
        kern_matmul_q8_0x4r4_exact_scalar(y1, N, &q1, w4, b, N, off);
        CHECK(memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0, "exact scalar (offset %d) differs from the 8-bit one (T %d N %d K %d)",
              off, T, N, K);
    }
    free(m0); free(m1); free(y0); free(y1);
}

#if KERN_HAVE_RELAXED
/* The exact kernels where the engine has them (kern_dot_probe): quantization and both GEMMs bit-identical to the
 * SIMD128 build's (kern_matmul_q8_0_scalar). Elsewhere (Node 20, x86 without VNNI) they are not run. */
static int exact_tested;
static void exact_kernels(int T, int N, int K, const float *x, const block_q8_0 *w, const block_q8_0x4 *w4,
                          const float *b) {
    const int probe = kern_dot_probe();
    const int kernel = kern_int8_kernel_for_probe(probe);
    if (kernel < 0) return;
    const size_t qb = kern_qact_bytes(T, K);
    void *m0 = aligned(qb), *m1 = aligned(qb);
    float *y0 = malloc(sizeof(float) * (size_t)T * N), *y1 = malloc(sizeof(float) * (size_t)T * N);
    kern_qact q0, q1;
    kern_qact_init(&q0, m0, T, K);
    kern_qact_init(&q1, m1, T, K);
    kern_quantize_act_scalar(x, &q0);
    kern_matmul_q8_0_scalar(y0, N, &q0, w, b, N);
    CHECK(kern_int8_kernel_set(kernel) == kernel, "kern_int8_kernel_set(%d)", kernel);
    kern_quantize_act_relaxed(x, &q1);
    /* the signed kernel is exact where pairs are summed in int16 (probe 4) only because no activation is −128 */
    int lowest = 0;
    for (int t = 0; t < T; t++)
        for (int k = 0; k < K; k++) lowest |= *kern_qact_x4_byte(&q1, t, k) == (uint8_t)(kern_int8_offset() - 128);
    CHECK(!lowest, "an activation byte is %d (q = -128)", kern_int8_offset() - 128);
    kern_matmul_q8_0_relaxed(y1, N, &q1, w, b, N);
    CHECK(memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0, "exact row-major GEMM differs from the 8-bit scalar (T %d N %d K %d)",
          T, N, K);
    if (w4) {
        for (size_t i = 0; i < (size_t)T * N; i++) y1[i] = -7.0f;
        kern_matmul_q8_0x4r4_relaxed(y1, N, &q1, w4, b, N);
        CHECK(memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0, "exact R4 GEMM differs from the 8-bit scalar (T %d N %d K %d)",
              T, N, K);
    }
    kern_int8_kernel_set(KERN_INT8_PAIR_U7);
    exact_tested = probe;
    free(m0); free(m1); free(y0); free(y1);
}

/* The threaded build quantizes an input in views of rows at tile boundaries (kernels.c): for every kernel's format,
 * views of c rows give the whole input's bytes, a last view of fewer than KERN_U7_MIN_T rows among them. */
static void test_quantize_views(void) {
    static const int cases[][3] = {{49, 64, 16}, {45, 96, 12}, {8, 32, 4}, {5, 64, 4}, {130, 768, 36}};
    for (int kernel = KERN_INT8_PAIR_U7; kernel <= KERN_INT8_EXACT_S8; kernel++) {
        CHECK(kern_int8_kernel_set(kernel) == kernel, "kern_int8_kernel_set(%d)", kernel);
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            const int T = cases[c][0], K = cases[c][1], chunk = cases[c][2];
            const size_t qb = kern_qact_bytes(T, K);
            float *x = malloc(sizeof(float) * (size_t)T * K);
            uint8_t *m0 = aligned(qb), *m1 = aligned(qb);
            for (size_t i = 0; i < (size_t)T * K; i++) x[i] = frand() * (i % 7 == 0 ? 4.0f : 1.0f);
            memset(m0, 0xA5, qb);
            memset(m1, 0xA5, qb);
            kern_qact q0, q1;
            kern_qact_init(&q0, m0, T, K);
            kern_qact_init(&q1, m1, T, K);
            kern_quantize_act_relaxed(x, &q0);
            for (int t0 = 0; t0 < T; t0 += chunk) {
                const int n = T - t0 < chunk ? T - t0 : chunk;
                kern_qact view = {q1.qs + (size_t)t0 * K, q1.d + (size_t)t0 * (K / QK8_0), n, K};
                kern_quantize_act_relaxed_rows(x + (size_t)t0 * K, &view, T);
            }
            CHECK(memcmp(m0, m1, qb) == 0, "kernel %d: views of %d rows differ from the whole (T %d K %d)", kernel, chunk, T, K);
            free(x); free(m0); free(m1);
        }
    }
    kern_int8_kernel_set(KERN_INT8_PAIR_U7);
}

/* The probe's answer is one of the four behaviours, or the engine is not one this path knows. */
static void test_probe(void) {
    const int p = kern_dot_probe();
    CHECK(p >= KERN_DOT_UNSIGNED && p <= KERN_DOT_OTHER, "kern_dot_probe() = %d", p);
    CHECK(kern_dot_probe() == p, "kern_dot_probe() changed between calls");
    CHECK(kern_int8_kernel_set(7) == -1 && kern_int8_kernel() == KERN_INT8_PAIR_U7, "an unknown kernel is refused");
    static const int want[] = {-1, KERN_INT8_EXACT_U8, KERN_INT8_EXACT_S8, -1, KERN_INT8_EXACT_S8, -1};
    for (int q = KERN_DOT_NONE; q <= KERN_DOT_OTHER; q++)
        CHECK(kern_int8_kernel_for_probe(q) == want[q], "kern_int8_kernel_for_probe(%d) = %d", q, kern_int8_kernel_for_probe(q));
    CHECK(xlmr_int8_kernel_exact() == kern_int8_kernel_for_probe(p), "xlmr_int8_kernel_exact() = %d", xlmr_int8_kernel_exact());
    printf("fused dot probe: %d (1 unsigned exact, 2 signed exact, 3 saturating, 4 signed in int16 pairs, 5 other)\n", p);
}
#endif

static void exact_shape(int T, int N, int K) {
    const int nb = K / QK8_0;
    float *x = malloc(sizeof(float) * (size_t)T * K), *wf = malloc(sizeof(float) * (size_t)N * K);
    float *b = malloc(sizeof(float) * (size_t)N);
    block_q8_0 *w = malloc(sizeof(block_q8_0) * (size_t)N * nb);
    block_q8_0x4 *w4 = N % 4 ? NULL : malloc(sizeof(block_q8_0) * (size_t)N * nb);
    /* large activations and full-range weights: bytes at both ends (q = ±127, weights −128) */
    for (size_t i = 0; i < (size_t)T * K; i++) x[i] = frand() * (i % 5 == 0 ? 8.0f : 1.0f);
    for (size_t i = 0; i < (size_t)N * K; i++) wf[i] = frand() * (i % 3 == 0 ? 1.0f : 0.1f);
    for (int i = 0; i < N; i++) b[i] = frand();
    for (int n = 0; n < N; n++) q8_0_quantize_row(wf + (size_t)n * K, w + (size_t)n * nb, K);
    w[0].qs[0] = -128, w[0].qs[1] = -128;
    if (w4) {
        xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4_R4, {K, N}, w4, (size_t)N * nb * sizeof(block_q8_0)};
        q8_0_put_blocks(&t4, 0, w, (size_t)N * nb);
        exact_reference(T, N, K, x, w, w4, b);
    }
#if KERN_HAVE_RELAXED
    if (T >= KERN_U7_MIN_T) exact_kernels(T, N, K, x, w, w4, b);
#endif
    free(x); free(wf); free(b); free(w); free(w4);
}

int main(void) {
    /* R4 (N % 4 == 0): odd group counts, panels of several groups (K 3072: 4 groups per panel, N 20: 2 panels),
     * K past the panel table (16416: the scalar fallback), 1–3 tokens (int16 path) */
    static const int shapes[][3] = {{1, 5, 32}, {2, 7, 64}, {3, 9, 96}, {4, 4, 32}, {5, 3, 64}, {8, 16, 256},
                                    {9, 11, 128}, {13, 33, 768}, {16, 64, 768}, {31, 6, 3072}, {7, 12, 64},
                                    {1, 8, 768}, {2, 12, 96}, {3, 4, 32}, {6, 20, 3072}, {17, 36, 768}, {5, 4, 16416}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) one_shape(shapes[s][0], shapes[s][1], shapes[s][2]);
    static const int exact_shapes[][3] = {{4, 4, 32}, {5, 12, 64}, {8, 16, 768}, {13, 36, 768}, {9, 7, 96},
                                          {17, 20, 3072}, {6, 3, 64}, {4, 8, 16416}};
    for (size_t s = 0; s < sizeof exact_shapes / sizeof exact_shapes[0]; s++)
        exact_shape(exact_shapes[s][0], exact_shapes[s][1], exact_shapes[s][2]);
#if KERN_HAVE_RELAXED
    test_u7_edges();
    test_quantize_views();
    test_probe();
    printf("exact 8-bit kernels %s\n", exact_tested ? (exact_tested == KERN_DOT_UNSIGNED ? "tested (u8 activations)" : "tested (s8 activations)")
                                                  : "not run (this engine has no exact fused dot)");
#endif
#if defined(__wasm_relaxed_simd__) /* the build says so (model.runtime.simd in JS; test_api covers the others) */
    CHECK(strcmp(xlmr_build_simd(), "relaxed") == 0, "xlmr_build_simd() = %s in a relaxed build", xlmr_build_simd());
#endif
    printf("relaxed SIMD kernels %s\n", KERN_HAVE_RELAXED ? "tested" : "not in this build (u7 scalar reference only)");
    return test_report("test_kernels_relaxed");
}
