/* Kernels: every SIMD128 kernel against its scalar reference on random shapes with ragged tails (runs in
 * the wasm build; natively only the scalar path exists and the reference checks below still run), and the
 * Q8_0 matmul against the float matmul within a derived bound. */
#include "kernels.h"
#include "quant.h"
#include "test.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)(rnd() & 0xffffff) / 8388608.0f - 1.0f; } /* [-1, 1) */
static int irand(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static void fill(float *x, size_t n, float scale) {
    for (size_t i = 0; i < n; i++) x[i] = frand() * scale;
}

#define MAXT 13
#define MAXN 37
#define MAXK 352
#define LDY (MAXN + 3)
#define SENTINEL 12345.0f

static float xs[MAXT * MAXK], ws[MAXN * MAXK], bs[MAXN], wdq[MAXN * MAXK];
static float y0[MAXT * LDY], y1[MAXT * LDY], yf[MAXT * LDY];
static uint16_t wh[MAXN * MAXK];
static block_q8_0 wq[MAXN * MAXK / QK8_0];
static block_q8_0x4 wq4[MAXN * MAXK / QK8_0 / 4];
static unsigned char qmem0[1 << 16], qmem1[1 << 16];

static void reset_y(float *y) {
    for (int i = 0; i < MAXT * LDY; i++) y[i] = SENTINEL;
}

/* max |a - b| over the T x N block, and whether the padding columns of each row stayed untouched */
static double max_diff(const float *a, const float *b, int T, int N, int *pad_ok) {
    double m = 0;
    *pad_ok = 1;
    for (int t = 0; t < T; t++) {
        for (int n = 0; n < N; n++) {
            double d = fabs((double)a[t * LDY + n] - (double)b[t * LDY + n]);
            if (!(d <= m)) m = d; /* NaN propagates */
        }
        for (int n = N; n < LDY; n++)
            if (a[t * LDY + n] != SENTINEL || b[t * LDY + n] != SENTINEL) *pad_ok = 0;
    }
    for (int t = T; t < MAXT; t++)
        for (int n = 0; n < LDY; n++)
            if (a[t * LDY + n] != SENTINEL) *pad_ok = 0;
    return m;
}

/* sum_k |x_k w_k| for a row pair: the scale float rounding errors are relative to */
static double abs_dot(const float *x, const float *w, int K) {
    double s = 0;
    for (int k = 0; k < K; k++) s += fabs((double)x[k] * w[k]);
    return s;
}

/* Q8_0 vs float with the same (dequantized) weights: the only error is the activation rounding, |x - d q| <= d / 2
 * per element, so |y_q - y_f| <= sum_blocks d_b / 2 * sum_{k in b} |w_k| (+ float rounding, 1e-5 relative to
 * sum |x w|). y0 holds the Q8_0 reference's output of q0; stats: worst err / bound, sum err², sum ref². */
static void check_q8_error_bound(int T, int N, int K, const kern_qact *q0, const float *bias, double stats[3]) {
    reset_y(yf);
    kern_matmul_f32_scalar(yf, LDY, xs, wdq, bias, T, N, K);
    for (int t = 0; t < T; t++) {
        for (int n = 0; n < N; n++) {
            double bound = 0;
            for (int j = 0; j < K / QK8_0; j++) {
                float dx = q0->d[((t / KERN_QTILE) * (K / QK8_0) + j) * KERN_QTILE + t % KERN_QTILE];
                double sw = 0;
                for (int i = 0; i < QK8_0; i++) sw += fabs(wdq[(size_t)n * K + j * QK8_0 + i]);
                bound += dx / 2.0 * sw;
            }
            double err = fabs((double)y0[t * LDY + n] - yf[t * LDY + n]);
            double slack = 1e-5 * abs_dot(xs + (size_t)t * K, wdq + (size_t)n * K, K) + 1e-6;
            CHECK(err <= bound + slack, "q8 vs f32 T%d N%d K%d [%d][%d]: %g > bound %g", T, N, K, t, n, err, bound);
            if (bound > 0 && err / bound > stats[0]) stats[0] = err / bound;
            stats[1] += err * err;
            stats[2] += (double)yf[t * LDY + n] * yf[t * LDY + n];
        }
    }
}

/* The 4-row interleaved layout (the first N & ~3 rows): bit-identical to the row-major reference in y0. */
static void check_q8x4_layout(int T, int N, int K, const kern_qact *q0, kern_qact *q1, const float *bias) {
    const int N4 = N & ~3;
    if (N4 == 0) return;
    xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4, {K, N4}, wq4, 0};
    q8_0_put_blocks(&t4, 0, wq, (size_t)N4 * (K / QK8_0));
    block_q8_0 back[MAXK / QK8_0];
    q8_0_get_blocks(&t4, (size_t)(N4 - 1) * (K / QK8_0), back, (size_t)(K / QK8_0));
    CHECK(memcmp(back, wq + (size_t)(N4 - 1) * (K / QK8_0), sizeof(block_q8_0) * (K / QK8_0)) == 0,
          "q8_0x4 put/get round trip K%d", K);
    reset_y(y1);
    kern_matmul_q8_0x4_scalar(y1, LDY, q0, wq4, bias, N4);
    int same = 1;
    for (int t = 0; t < T; t++) same &= memcmp(y1 + t * LDY, y0 + t * LDY, (size_t)N4 * sizeof(float)) == 0;
    CHECK(same, "q8_0x4 scalar vs q8_0 scalar T%d N%d K%d: not bit-identical", T, N4, K);
#if KERN_HAVE_SIMD128
    kern_quantize_act_simd128(xs, q1);
    reset_y(y1);
    kern_matmul_q8_0x4_simd128(y1, LDY, q1, wq4, bias, N4);
    same = 1;
    for (int t = 0; t < T; t++) same &= memcmp(y1 + t * LDY, y0 + t * LDY, (size_t)N4 * sizeof(float)) == 0;
    CHECK(same, "q8_0x4 simd vs q8_0 scalar T%d N%d K%d: not bit-identical", T, N4, K);
    for (int t = 0; t < T; t++)
        for (int n = N4; n < LDY; n++) same &= y1[t * LDY + n] == SENTINEL;
    for (int t = T; t < MAXT; t++) same &= y1[t * LDY] == SENTINEL;
    CHECK(same, "q8_0x4 simd wrote outside (T, N) T%d N%d", T, N4);
#else
    (void)q1;
#endif
}

#if KERN_HAVE_SIMD128
/* The SIMD128 quantizer and row-major GEMM: bit-identical to the scalar ones (q0, y0), and a row alone gives the
 * same bits as inside the batch. */
static void check_q8_simd(int T, int N, int K, const kern_qact *q0, kern_qact *q1, const float *bias) {
    kern_quantize_act_simd128(xs, q1);
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    CHECK(memcmp(q0->qs, q1->qs, (size_t)tp * K * sizeof(int16_t)) == 0, "quantized values T%d K%d", T, K);
    CHECK(memcmp(q0->d, q1->d, (size_t)tp * (K / QK8_0) * sizeof(float)) == 0, "quantized scales T%d K%d", T, K);
    reset_y(y1);
    kern_matmul_q8_0_simd128(y1, LDY, q1, wq, bias, N);
    int pad_ok;
    double d = max_diff(y0, y1, T, N, &pad_ok);
    CHECK(d == 0.0, "q8_0 simd vs scalar T%d N%d K%d: %g (expected bit-identical)", T, N, K, d);
    CHECK(pad_ok, "q8_0 simd wrote outside (T, N) T%d N%d", T, N);
    kern_qact q2;
    kern_qact_init(&q2, qmem1, 1, K);
    kern_quantize_act_simd128(xs + (size_t)(T - 1) * K, &q2);
    float solo[MAXN];
    kern_matmul_q8_0_simd128(solo, MAXN, &q2, wq, bias, N);
    CHECK(memcmp(solo, y1 + (size_t)(T - 1) * LDY, (size_t)N * sizeof(float)) == 0, "q8_0 row alone != in batch");
}
#endif

/* Against the original float weights, the figure a user sees. */
static void check_q8_vs_original_weights(void) {
    const int T = 8, N = 32, K = 320;
    fill(xs, (size_t)T * K, 1.0f);
    fill(ws, (size_t)N * K, 0.2f);
    for (int n = 0; n < N; n++) q8_0_quantize_row(ws + (size_t)n * K, wq + (size_t)n * (K / QK8_0), K);
    kern_qact q;
    kern_qact_init(&q, qmem0, T, K);
    kern_quantize_act(xs, &q);
    kern_matmul_q8_0(y0, LDY, &q, wq, NULL, N);
    kern_matmul_f32(yf, LDY, xs, ws, NULL, T, N, K);
    double e2 = 0, r2 = 0, dot = 0, na = 0, nb = 0;
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++) {
            double a = y0[t * LDY + n], b = yf[t * LDY + n];
            e2 += (a - b) * (a - b);
            r2 += b * b;
            dot += a * b;
            na += a * a;
            nb += b * b;
        }
    double cosv = dot / sqrt(na * nb);
    printf("q8_0 matmul vs f32 original weights (T%d N%d K%d): relative RMS %.3g, cosine %.6f\n", T, N, K,
           sqrt(e2 / r2), cosv);
    CHECK(sqrt(e2 / r2) < 0.02 && cosv > 0.9995, "q8_0 vs f32: rel rms %g cos %g", sqrt(e2 / r2), cosv);
}

/* kern_linear on a kern_input: Q8_0 weights quantize the input once (the second layer reading it reuses that
 * quantization) and give kern_matmul_q8_0's bits on kern_quantize_act's; float weights read the floats. */
static void check_linear_input(void) {
    const int T = 5, N = 12, K = 64;
    fill(xs, (size_t)T * K, 1.0f);
    fill(ws, (size_t)N * K, 0.5f);
    for (int n = 0; n < N; n++) q8_0_quantize_row(ws + (size_t)n * K, wq + (size_t)n * (K / QK8_0), K);
    xlmr_tensor wt = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_ROWS, {K, N}, wq, 0}, wf = {XLMR_TYPE_F32, XLMR_LAYOUT_ROWS, {K, N}, ws, 0};
    kern_qact q;
    kern_qact_init(&q, qmem1, T, K);
    kern_quantize_act(xs, &q);
    reset_y(yf);
    kern_matmul_q8_0(yf, LDY, &q, wq, NULL, N);
    kern_input in = kern_input_of(xs, T, K, qmem0);
    reset_y(y0);
    kern_linear(y0, LDY, &in, &wf, NULL);
    CHECK(!in.quantized, "kern_linear on float weights quantized its input");
    reset_y(y0);
    kern_linear(y0, LDY, &in, &wt, NULL);
    CHECK(in.quantized, "kern_linear on Q8_0 weights did not quantize its input");
    int pad_ok;
    CHECK(max_diff(yf, y0, T, N, &pad_ok) == 0.0 && pad_ok, "kern_linear Q8_0 != quantize + kern_matmul_q8_0");
    in.q.qs[0] ^= 1; /* a second layer on the same input must read this quantization, not make a new one */
    reset_y(y1);
    kern_linear(y1, LDY, &in, &wt, NULL);
    CHECK(max_diff(y0, y1, T, N, &pad_ok) != 0.0, "kern_linear quantized an input it already held");
}

static void test_quantize_and_q8_matmul(void) {
    double stats[3] = {0, 0, 0}; /* worst error / bound, sum err², sum ref² */
    for (int iter = 0; iter < 60; iter++) {
        const int T = irand(1, MAXT), N = irand(1, MAXN), K = QK8_0 * irand(1, MAXK / QK8_0);
        fill(xs, (size_t)T * K, 2.0f);
        fill(ws, (size_t)N * K, 0.5f);
        fill(bs, N, 1.0f);
        if (iter % 5 == 0) memset(xs, 0, QK8_0 * sizeof(float)); /* an all-zero block: d = 0 */
        if (iter % 7 == 0) xs[3] = 1000.0f;                      /* an outlier dominating its block */
        for (int n = 0; n < N; n++) q8_0_quantize_row(ws + (size_t)n * K, wq + (size_t)n * (K / QK8_0), K);
        for (int n = 0; n < N; n++) q8_0_dequantize_row(wq + (size_t)n * (K / QK8_0), wdq + (size_t)n * K, K);
        const float *bias = iter % 3 == 0 ? NULL : bs;

        CHECK(kern_qact_bytes(T, K) <= sizeof qmem0, "qact size");
        kern_qact q0, q1;
        kern_qact_init(&q0, qmem0, T, K);
        kern_qact_init(&q1, qmem1, T, K);
        kern_quantize_act_scalar(xs, &q0);
        reset_y(y0);
        kern_matmul_q8_0_scalar(y0, LDY, &q0, wq, bias, N);
        check_q8_error_bound(T, N, K, &q0, bias, stats);
        check_q8x4_layout(T, N, K, &q0, &q1, bias);
#if KERN_HAVE_SIMD128
        check_q8_simd(T, N, K, &q0, &q1, bias);
#endif
    }
    printf("q8_0 matmul vs f32 (same dequantized weights): relative RMS error %.3g, worst error / bound %.3f\n",
           sqrt(stats[1] / stats[2]), stats[0]);
    check_q8_vs_original_weights();
    check_linear_input();
}

#if KERN_HAVE_SIMD128
/* Rows longer than XLM-R large's (K = 4224 = 132 blocks, past 4096): the SIMD kernel stays
 * bit-identical to the scalar reference for every token-tail shape (4-token groups, a last 1 or 2 tokens done
 * one by one) and an odd row count. */
static void test_q8_long_rows(void) {
    enum { LT = 7, LN = 9, LK = 4224, LNB = LK / QK8_0 };
    static float lx[LT * LK], lw[LN * LK], lb[LN], la[LT * LN], lc[LT * LN];
    static block_q8_0 lq[LN * LNB];
    static unsigned char m0[8 * LK * 2 + 8 * LNB * 4 + 16], m1[8 * LK * 2 + 8 * LNB * 4 + 16]; /* T padded to 8 */
    fill(lx, (size_t)LT * LK, 1.0f);
    fill(lw, (size_t)LN * LK, 0.3f);
    fill(lb, LN, 1.0f);
    for (int n = 0; n < LN; n++) q8_0_quantize_row(lw + (size_t)n * LK, lq + (size_t)n * LNB, LK);
    for (int T = 1; T <= LT; T++) {
        CHECK(kern_qact_bytes(T, LK) <= sizeof m0, "qact size");
        kern_qact q0, q1;
        kern_qact_init(&q0, m0, T, LK);
        kern_qact_init(&q1, m1, T, LK);
        kern_quantize_act_scalar(lx, &q0);
        kern_quantize_act_simd128(lx, &q1);
        kern_matmul_q8_0_scalar(la, LN, &q0, lq, T % 2 ? lb : NULL, LN);
        kern_matmul_q8_0_simd128(lc, LN, &q1, lq, T % 2 ? lb : NULL, LN);
        CHECK(memcmp(la, lc, (size_t)T * LN * sizeof(float)) == 0, "q8_0 simd vs scalar, K %d T %d: not bit-identical", LK, T);
        /* the first 8 rows interleaved (2 groups: the 2-group micro-kernel, then 1 group with 4 rows) */
        static block_q8_0x4 l4[8 * LNB / 4];
        for (int rows = 4; rows <= 8; rows += 4) {
            xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4, {LK, rows}, l4, 0};
            q8_0_put_blocks(&t4, 0, lq, (size_t)rows * LNB);
            kern_matmul_q8_0x4_simd128(lc, LN, &q1, l4, T % 2 ? lb : NULL, rows);
            int same = 1;
            for (int t = 0; t < T; t++) same &= memcmp(la + t * LN, lc + t * LN, (size_t)rows * sizeof(float)) == 0;
            CHECK(same, "q8_0x4 simd vs q8_0 scalar, K %d T %d rows %d: not bit-identical", LK, T, rows);
        }
    }
}

/* The 4-row layout's GEMM in panels of Q8X4_PANEL group-blocks with their scales converted once per panel: panel
 * boundaries at every row length the code distinguishes (K 768: 20 groups per panel, 3072: 4, 8224: 1, 16416:
 * none -- the scalar fallback), full and odd last panels, 4-token tiles and the 1-2 token path across panels.
 * Bit-identical to the row-major scalar reference, nothing written outside (T, N). */
static void test_q8x4_panels(void) {
    static const int shapes[][3] = {{5, 88, 3072}, {1, 88, 3072}, {4, 168, 768}, {9, 44, 768}, {2, 44, 768},
                                    {6, 12, 8224}, {1, 8, 8224}, {3, 8, 16416}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const int T = shapes[s][0], N = shapes[s][1], K = shapes[s][2], nb = K / QK8_0, ldy = N + 3;
        float *x = malloc((size_t)T * K * sizeof(float)), *w = malloc((size_t)N * K * sizeof(float));
        float *b = malloc((size_t)N * sizeof(float)), *ya = malloc((size_t)T * ldy * sizeof(float));
        float *yb = malloc((size_t)(T + 1) * ldy * sizeof(float));
        block_q8_0 *wq_rows = malloc((size_t)N * nb * sizeof(block_q8_0));
        block_q8_0x4 *w4 = malloc((size_t)N * nb * sizeof(block_q8_0));
        void *m0 = malloc(kern_qact_bytes(T, K)), *m1 = malloc(kern_qact_bytes(T, K));
        fill(x, (size_t)T * K, 1.0f);
        fill(w, (size_t)N * K, 0.3f);
        fill(b, (size_t)N, 1.0f);
        for (int n = 0; n < N; n++) q8_0_quantize_row(w + (size_t)n * K, wq_rows + (size_t)n * nb, K);
        xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4, {K, N}, w4, 0};
        q8_0_put_blocks(&t4, 0, wq_rows, (size_t)N * nb);
        kern_qact q0, q1;
        kern_qact_init(&q0, m0, T, K);
        kern_qact_init(&q1, m1, T, K);
        kern_quantize_act_scalar(x, &q0);
        kern_quantize_act_simd128(x, &q1);
        kern_matmul_q8_0_scalar(ya, ldy, &q0, wq_rows, b, N);
        for (int i = 0; i < (T + 1) * ldy; i++) yb[i] = SENTINEL;
        kern_matmul_q8_0x4_simd128(yb, ldy, &q1, w4, b, N);
        int same = 1, outside = 1;
        for (int t = 0; t < T; t++) {
            same &= memcmp(ya + (size_t)t * ldy, yb + (size_t)t * ldy, (size_t)N * sizeof(float)) == 0;
            for (int n = N; n < ldy; n++) outside &= yb[(size_t)t * ldy + n] == SENTINEL;
        }
        for (int n = 0; n < ldy; n++) outside &= yb[(size_t)T * ldy + n] == SENTINEL;
        CHECK(same, "q8_0x4 panels T%d N%d K%d: not bit-identical to the scalar reference", T, N, K);
        CHECK(outside, "q8_0x4 panels T%d N%d K%d: wrote outside (T, N)", T, N, K);
        free(x), free(w), free(b), free(ya), free(yb), free(wq_rows), free(w4), free(m0), free(m1);
    }
}
#endif

#if KERN_HAVE_SIMD128
/* The activation quantizer's rounding (the KERN_ROUND_MAGIC addition in the SIMD128 kernel, nearbyintf in the
 * scalar one) on the values where they could part: exact halves (ties to even), the +-127 ends, -0, +-inf (an
 * infinite block's scale is inf, every product 0 * inf or NaN: all 0), a block of zeros, and NaN -> 0. A block
 * holding a NaN gets a meaningless scale, not the same one in both (kern_quantize_act_simd128): only its NaN's own
 * output is compared there. */
static void test_quantize_act_edges(void) {
    enum { T = 5, K = 64, NAN_AT = 3 * K + 3 };
    static float x[T * K];
    for (int i = 0; i < T * K; i++) x[i] = (float)((i * 37) % 255 - 127); /* row 0: integers in [-127, 127] */
    for (int i = 0; i < K; i++) x[K + i] = ((float)(i % 16) - 7.5f) * (127.0f / 7.5f); /* the ends: -127 .. 127 */
    for (int i = 0; i < K; i++) x[2 * K + i] = (float)(i - 32) + 0.5f; /* ties: x.5 with scale 1 (127 in each block) */
    x[2 * K + 31] = 127.0f, x[2 * K + 63] = 127.0f, x[2 * K + 0] = -0.0f;
    x[NAN_AT] = NAN, x[3 * K + 40] = INFINITY, x[3 * K + 41] = -INFINITY;
    for (int i = 0; i < QK8_0; i++) x[4 * K + i] = 0.0f;
    void *m0 = malloc(kern_qact_bytes(T, K)), *m1 = malloc(kern_qact_bytes(T, K));
    kern_qact q0, q1;
    kern_qact_init(&q0, m0, T, K);
    kern_qact_init(&q1, m1, T, K);
    kern_quantize_act_scalar(x, &q0);
    kern_quantize_act_simd128(x, &q1);
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE, nb = K / QK8_0;
    int diff_at = -1;
    for (int i = 0; i < tp * K && diff_at < 0; i++)
        if (q0.qs[i] != q1.qs[i] && i / QK8_0 != NAN_AT / QK8_0) diff_at = i;
    CHECK(diff_at < 0, "quantize_act edges: simd %d != scalar %d at %d", diff_at < 0 ? 0 : q1.qs[diff_at],
          diff_at < 0 ? 0 : q0.qs[diff_at], diff_at);
    int scales_same = 1;
    for (int t = 0; t < tp; t++)
        for (int j = 0; j < nb; j++) {
            const size_t at = (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + (size_t)j * KERN_QTILE + t % KERN_QTILE;
            if (t * K + j * QK8_0 != NAN_AT / QK8_0 * QK8_0) scales_same &= memcmp(&q0.d[at], &q1.d[at], sizeof(float)) == 0;
        }
    CHECK(scales_same, "quantize_act edges: scales differ");
    CHECK(q0.qs[NAN_AT] == 0 && q1.qs[NAN_AT] == 0, "quantize_act: NaN -> 0 (scalar %d, simd %d)", q0.qs[NAN_AT], q1.qs[NAN_AT]);
    CHECK(q1.qs[3 * K + 40] == 0 && q1.qs[3 * K + 41] == 0, "quantize_act: an infinite block gives 0");
    CHECK(q1.qs[2 * K + 32] == 0 && q1.qs[2 * K + 33] == 2 && q1.qs[2 * K + 34] == 2 && q1.qs[2 * K + 30] == -2,
          "quantize_act: ties to even (%d %d %d %d)", q1.qs[2 * K + 32], q1.qs[2 * K + 33], q1.qs[2 * K + 34], q1.qs[2 * K + 30]);
    free(m0), free(m1);
}
#endif

static void test_float_matmuls(void) {
    for (int iter = 0; iter < 60; iter++) {
        const int T = irand(1, MAXT), N = irand(1, MAXN), K = irand(1, MAXK);
        fill(xs, (size_t)T * K, 2.0f);
        fill(ws, (size_t)N * K, 0.5f);
        fill(bs, N, 1.0f);
        for (int i = 0; i < N * K; i++) wh[i] = xlmr_f32_to_fp16(ws[i]);
        const float *bias = iter % 3 == 0 ? NULL : bs;
        /* scalar f32 vs a double-precision reference */
        reset_y(y0);
        kern_matmul_f32_scalar(y0, LDY, xs, ws, bias, T, N, K);
        double worst = 0;
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++) {
                double ref = bias ? bias[n] : 0;
                for (int k = 0; k < K; k++) ref += (double)xs[t * K + k] * ws[n * K + k];
                double e = fabs(ref - y0[t * LDY + n]) / (abs_dot(xs + t * K, ws + n * K, K) + 1);
                if (e > worst) worst = e;
            }
        CHECK(worst < 1e-5, "f32 scalar vs double: %g", worst);
        /* f16 scalar = f32 scalar on the widened weights */
        for (int i = 0; i < N * K; i++) wdq[i] = xlmr_fp16_to_f32(wh[i]);
        reset_y(yf);
        kern_matmul_f32_scalar(yf, LDY, xs, wdq, bias, T, N, K);
        reset_y(y1);
        kern_matmul_f16_scalar(y1, LDY, xs, wh, bias, T, N, K);
        int pad_ok;
        CHECK(max_diff(yf, y1, T, N, &pad_ok) == 0.0 && pad_ok, "f16 scalar != f32 on widened weights");
#if KERN_HAVE_SIMD128
        const double tol = 2e-6 * K; /* float rounding of two summation orders, |x w| <= 1 */
        reset_y(y1);
        kern_matmul_f32_simd128(y1, LDY, xs, ws, bias, T, N, K);
        CHECK(max_diff(y0, y1, T, N, &pad_ok) <= tol && pad_ok, "f32 simd T%d N%d K%d: %g", T, N, K,
              max_diff(y0, y1, T, N, &pad_ok));
        reset_y(y1);
        kern_matmul_f16_simd128(y1, LDY, xs, wh, bias, T, N, K);
        CHECK(max_diff(yf, y1, T, N, &pad_ok) <= tol && pad_ok, "f16 simd T%d N%d K%d: %g", T, N, K,
              max_diff(yf, y1, T, N, &pad_ok));
        /* bf16: the top halves of the f32 weights */
        for (int i = 0; i < N * K; i++) {
            uint32_t u;
            memcpy(&u, &ws[i], 4);
            wh[i] = (uint16_t)(u >> 16);
            wdq[i] = xlmr_bf16_to_f32(wh[i]);
        }
        reset_y(y0);
        kern_matmul_bf16_scalar(y0, LDY, xs, wh, bias, T, N, K);
        reset_y(y1);
        kern_matmul_bf16_simd128(y1, LDY, xs, wh, bias, T, N, K);
        CHECK(max_diff(y0, y1, T, N, &pad_ok) <= tol && pad_ok, "bf16 simd T%d N%d K%d: %g", T, N, K,
              max_diff(y0, y1, T, N, &pad_ok));
        /* batch invariance of the float paths: the last row alone */
        float solo[MAXN];
        kern_matmul_f32_simd128(solo, MAXN, xs + (size_t)(T - 1) * K, ws, bias, 1, N, K);
        reset_y(y1);
        kern_matmul_f32_simd128(y1, LDY, xs, ws, bias, T, N, K);
        CHECK(memcmp(solo, y1 + (size_t)(T - 1) * LDY, (size_t)N * sizeof(float)) == 0, "f32 row alone != in batch");
        kern_matmul_bf16_simd128(solo, MAXN, xs + (size_t)(T - 1) * K, wh, bias, 1, N, K);
        reset_y(y1);
        kern_matmul_bf16_simd128(y1, LDY, xs, wh, bias, T, N, K);
        CHECK(memcmp(solo, y1 + (size_t)(T - 1) * LDY, (size_t)N * sizeof(float)) == 0, "bf16 row alone != in batch");
#endif
    }
}

static void test_rows_and_elementwise(void) {
    static float a[1024], b[1024], c[1024], g[1024], be[1024];
    (void)c;
    for (int iter = 0; iter < 80; iter++) {
        const int n = irand(1, 300), T = irand(1, 3);
        fill(a, (size_t)T * n, 3.0f);
        for (int i = 0; i < T * n; i++) a[i] += 0.5f; /* a mean away from zero */
        fill(g, n, 1.0f);
        fill(be, n, 1.0f);
        memcpy(b, a, sizeof(float) * T * n);
        kern_layer_norm_scalar(b, T, n, g, be, 1e-5f);
        /* scalar LayerNorm vs double */
        double worst = 0;
        for (int t = 0; t < T; t++) {
            double m = 0, v = 0;
            for (int i = 0; i < n; i++) m += a[t * n + i];
            m /= n;
            for (int i = 0; i < n; i++) v += (a[t * n + i] - m) * (a[t * n + i] - m);
            v /= n;
            for (int i = 0; i < n; i++) {
                double r = (a[t * n + i] - m) / sqrt(v + 1e-5) * g[i] + be[i];
                if (fabs(r - b[t * n + i]) > worst) worst = fabs(r - b[t * n + i]);
            }
        }
        CHECK(worst < 1e-5, "layer_norm scalar vs double n%d: %g", n, worst);
#if KERN_HAVE_SIMD128
        memcpy(c, a, sizeof(float) * T * n);
        kern_layer_norm_simd128(c, T, n, g, be, 1e-5f);
        worst = 0;
        for (int i = 0; i < T * n; i++) worst = fmax(worst, fabs((double)b[i] - c[i]));
        CHECK(worst < 5e-6, "layer_norm simd n%d: %g", n, worst);

        fill(a, n, 8.0f);
        memcpy(b, a, sizeof(float) * n);
        memcpy(c, a, sizeof(float) * n);
        kern_gelu_scalar(b, (size_t)n);
        kern_gelu_simd128(c, (size_t)n);
        worst = 0;
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs((double)b[i] - c[i]));
        CHECK(worst < 2e-6, "gelu simd n%d: %g", n, worst);

        fill(a, n, 20.0f);
        memcpy(b, a, sizeof(float) * n);
        memcpy(c, a, sizeof(float) * n);
        kern_softmax_scalar(b, n);
        kern_softmax_simd128(c, n);
        worst = 0;
        for (int i = 0; i < n; i++) worst = fmax(worst, fabs((double)b[i] - c[i]) / (b[i] + 1e-30));
        CHECK(worst < 2e-6, "softmax simd n%d: rel %g", n, worst);

        fill(a, n, 1.0f);
        fill(b, n, 1.0f);
        float d0 = kern_dot_scalar(a, b, n), d1 = kern_dot_simd128(a, b, n);
        CHECK(fabs(d0 - d1) <= 1e-6 * n, "dot simd n%d: %g vs %g", n, d0, d1);
        memcpy(c, b, sizeof(float) * n);
        kern_axpy_scalar(b, 0.37f, a, n);
        kern_axpy_simd128(c, 0.37f, a, n);
        CHECK(memcmp(b, c, sizeof(float) * n) == 0, "axpy simd n%d", n);
        memcpy(c, b, sizeof(float) * n);
        kern_add_scalar(b, a, (size_t)n);
        kern_add_simd128(c, a, (size_t)n);
        CHECK(memcmp(b, c, sizeof(float) * n) == 0, "add simd n%d", n);
#endif
    }
    /* scalar softmax sums to 1, gelu matches the double formula */
    fill(a, 100, 10.0f);
    kern_softmax_scalar(a, 100);
    double s = 0;
    for (int i = 0; i < 100; i++) s += a[i];
    CHECK(fabs(s - 1) < 1e-5, "softmax sum %g", s);
    float gx[5] = {-3.0f, -0.5f, 0.0f, 0.7f, 4.0f};
    kern_gelu(gx, 5);
    const double gin[5] = {-3.0, -0.5, 0.0, 0.7, 4.0};
    for (int i = 0; i < 5; i++) CHECK_NEAR(gx[i], 0.5 * gin[i] * (1 + erf(gin[i] / sqrt(2.0))), 2e-6, "gelu(%g)", gin[i]);
}

#if KERN_HAVE_SIMD128
static void test_erf_exp(void) {
    double worst_erf = 0, worst_exp = 0;
    float x[4], out[4];
    for (int i = 0; i < 400000; i += 4) {
        for (int j = 0; j < 4; j++) x[j] = -10.0f + (float)(i + j) * 5e-5f;
        kern_erf4_simd128(x, out);
        for (int j = 0; j < 4; j++) worst_erf = fmax(worst_erf, fabs((double)out[j] - erff(x[j])));
        for (int j = 0; j < 4; j++) x[j] = -87.0f + (float)(i + j) * 4.37e-4f; /* [-87, 87.8] */
        kern_exp4_simd128(x, out);
        for (int j = 0; j < 4; j++) {
            double r = expf(x[j]);
            worst_exp = fmax(worst_exp, fabs(out[j] - r) / r);
        }
    }
    printf("simd erf vs erff: max abs %.3g; simd exp vs expf: max rel %.3g\n", worst_erf, worst_exp);
    CHECK(worst_erf <= 1e-6, "erf %g", worst_erf);
    CHECK(worst_exp <= 3.6e-7, "exp %g", worst_exp); /* 3 ulp */
    x[0] = -10000.0f, x[1] = -88.0f, x[2] = 0.0f, x[3] = NAN;
    kern_exp4_simd128(x, out);
    CHECK(out[0] == 0.0f && out[1] == 0.0f && out[2] == 1.0f, "exp edges %g %g %g", out[0], out[1], out[2]);
}
#endif

static void test_get_row(void) {
    enum { R = 5, C = 64 };
    static float tab[R * C], out[C];
    static uint16_t h[R * C];
    static block_q8_0 q[R * C / QK8_0];
    fill(tab, R * C, 1.0f);
    xlmr_tensor t = {XLMR_TYPE_F32, XLMR_LAYOUT_ROWS, {C, R}, tab, sizeof tab};
    kern_get_row(out, &t, 3);
    CHECK(memcmp(out, tab + 3 * C, sizeof out) == 0, "f32 row");
    for (int i = 0; i < R * C; i++) h[i] = xlmr_f32_to_fp16(tab[i]);
    t.type = XLMR_TYPE_F16, t.data = h;
    kern_get_row(out, &t, 4);
    CHECK(out[7] == xlmr_fp16_to_f32(h[4 * C + 7]), "f16 row");
    t.type = XLMR_TYPE_BF16;
    kern_get_row(out, &t, 2);
    CHECK(out[9] == xlmr_bf16_to_f32(h[2 * C + 9]), "bf16 row");
    q8_0_quantize_row(tab, q, R * C);
    t.type = XLMR_TYPE_Q8_0, t.data = q;
    kern_get_row(out, &t, 1);
    CHECK(out[40] == xlmr_fp16_to_f32(q[3].d) * q[3].qs[8], "q8_0 row");
    CHECK(fabsf(out[40] - tab[C + 40]) < 0.01f, "q8_0 row value");
    /* rows 0-3 interleaved (R = 5 is not a multiple of 4: only the first group is laid out so) */
    static block_q8_0x4 q4[4 * C / QK8_0 / 4];
    xlmr_tensor t4 = {XLMR_TYPE_Q8_0, XLMR_LAYOUT_Q8_0X4, {C, 4}, q4, sizeof q4};
    q8_0_put_blocks(&t4, 0, q, 4 * C / QK8_0);
    float out4[C];
    kern_get_row(out4, &t4, 1);
    CHECK(memcmp(out, out4, sizeof out) == 0, "q8_0x4 row");
}

/* The int16 attention products: the scalar reference against exact integer sums on a row-major copy (so the
 * interleaved indexing is checked independently), SIMD bit for bit against it, at the operand bounds encoder.c
 * allows (K * range^2 < 2^31 for q kᵀ); and the probability quantizer, SIMD against scalar. */
#define I16_MAXK (2 * KERN_I16_CHUNK_PAIRS + 4) /* K of more than one chunk of the SIMD kernel */
static int16_t i16x[MAXT * I16_MAXK], i16w[MAXN * I16_MAXK], i16g[(MAXN + 3) / 4 * 4 * I16_MAXK];
static float i16dx[MAXT], i16dw[(MAXN + 3) / 4 * 4];

static void test_i16_attention_products(void) {
    for (int iter = 0; iter < 80; iter++) {
        /* every 8th K the largest, so that the SIMD kernel's last chunk is a partial one */
        const int T = irand(1, MAXT), N = irand(1, MAXN), K = iter % 8 ? 2 * irand(1, I16_MAXK / 2) : I16_MAXK;
        /* the largest range encoder.c uses for this K (last iterations: every operand at +-range) */
        const int range = (int)fmin(32767.0, floor(sqrt(2147483647.0 / K)));
        const int extreme = iter >= 70;
        for (int i = 0; i < T * K; i++) i16x[i] = (int16_t)(extreme ? (iter % 2 ? range : -range) : irand(-range, range));
        for (int i = 0; i < N * K; i++) i16w[i] = (int16_t)(extreme ? range : irand(-range, range));
        for (int t = 0; t < T; t++) i16dx[t] = 1e-3f * (1.0f + frand());
        const int N4 = (N + 3) / 4 * 4;
        for (int n = 0; n < N4; n++) i16dw[n] = n < N ? 1e-3f * (1.0f + frand()) : 0.0f;
        memset(i16g, 0, sizeof(int16_t) * (size_t)N4 * K);
        for (int n = 0; n < N; n++) /* row n, column k -> group n / 4 at [8 (k / 2) + 2 (n % 4) + k % 2] */
            for (int k = 0; k < K; k++) i16g[(size_t)(n / 4) * 4 * K + 8 * (k / 2) + 2 * (n % 4) + k % 2] = i16w[n * K + k];
        reset_y(y0);
        kern_matmul_i16x4_scalar(y0, LDY, i16x, i16dx, i16g, i16dw, T, N, K);
        int exact = 1;
        for (int t = 0; t < T; t++)
            for (int n = 0; n < N; n++) {
                int64_t s = 0;
                for (int k = 0; k < K; k++) s += (int64_t)i16x[t * K + k] * i16w[n * K + k];
                exact &= s >= INT32_MIN && s <= INT32_MAX && y0[t * LDY + n] == (float)(int32_t)s * (i16dw[n] * i16dx[t]);
            }
        int pad_ok;
        (void)max_diff(y0, y0, T, N, &pad_ok);
        CHECK(exact && pad_ok, "i16x4 scalar T%d N%d K%d (range %d%s) != exact integer sums", T, N, K, range,
              extreme ? ", extreme" : "");
#if KERN_HAVE_SIMD128
        reset_y(y1);
        kern_matmul_i16x4_simd128(y1, LDY, i16x, i16dx, i16g, i16dw, T, N, K);
        CHECK(max_diff(y0, y1, T, N, &pad_ok) == 0.0 && pad_ok, "i16x4 simd T%d N%d K%d%s: %g", T, N, K,
              extreme ? " extreme" : "", max_diff(y0, y1, T, N, &pad_ok));
#endif
    }
    /* probabilities: ties (k + 1/2) / 32767 and ragged lengths, zeros past n */
    float p[300];
    int16_t q0[304], q1[304];
    for (int iter = 0; iter < 40; iter++) {
        const int n = irand(1, 300), np = (n + 7) & ~7;
        for (int j = 0; j < n; j++) p[j] = j % 5 == 0 ? ((float)irand(0, 32766) + 0.5f) / 32767.0f : 0.5f * (frand() + 1.0f);
        p[0] = 1.0f;
        memset(q0, 0x55, sizeof q0);
        memcpy(q1, q0, sizeof q1);
        kern_quantize_prob_i16_scalar(p, n, np, q0);
        int ok = q0[0] == 32767;
        for (int j = 0; j < np; j++) ok &= j < n ? q0[j] == (int16_t)nearbyint((double)(p[j] * 32767.0f)) : q0[j] == 0;
        for (int j = np; j < 304; j++) ok &= q0[j] == 0x5555;
        CHECK(ok, "quantize_prob_i16 scalar n %d", n);
    }
    /* softmax to those probabilities: the SIMD128 kernel gives the bits of kern_softmax_simd128 followed by the scalar
     * rounding (the fused pass changes no operation), and the scalar kernel's within one step of it (their exps
     * differ by a few ulp); logits with ragged lengths, equal ones (p = 1/n) among them */
    float lg[300], ls[300];
    for (int iter = 0; iter < 60; iter++) {
        const int n = iter < 8 ? 8 * iter + (iter & 1) + 1 : irand(1, 300), np = (n + 7) & ~7;
        for (int j = 0; j < n; j++) lg[j] = iter % 4 == 1 ? 0.25f : 12.0f * frand();
        memset(q0, 0x55, sizeof q0);
        memcpy(q1, q0, sizeof q1);
        memcpy(ls, lg, sizeof(float) * n);
        kern_softmax_prob_i16_scalar(ls, n, np, q0);
        int sum = 0;
        for (int j = 0; j < n; j++) sum += q0[j];
        CHECK(abs(sum - 32767) <= n / 2 + 1, "softmax_prob_i16 scalar n %d: sum %d", n, sum);
#if KERN_HAVE_SIMD128
        int16_t q2[304];
        memcpy(q2, q1, sizeof q2);
        memcpy(ls, lg, sizeof(float) * n);
        kern_softmax_simd128(ls, n);
        kern_quantize_prob_i16_scalar(ls, n, np, q2);
        memcpy(ls, lg, sizeof(float) * n);
        kern_softmax_prob_i16_simd128(ls, n, np, q1);
        CHECK(memcmp(q1, q2, sizeof q1) == 0, "softmax_prob_i16 simd != softmax simd + rounding, n %d", n);
        int worst = 0;
        for (int j = 0; j < 304; j++) worst = abs(q1[j] - q0[j]) > worst ? abs(q1[j] - q0[j]) : worst;
        CHECK(worst <= 1, "softmax_prob_i16 simd vs scalar n %d: %d steps", n, worst);
#endif
    }
    /* a tie in the vector lanes: two logits 0 (exp exactly 1), the rest far below (exp exactly 0): p = 0.5 exactly,
     * 0.5 · 32767 = 16383.5 rounds to the even 16384 */
    for (int j = 0; j < 64; j++) lg[j] = j == 9 || j == 42 ? 0.0f : -1e30f;
    memcpy(ls, lg, sizeof(float) * 64);
    kern_softmax_prob_i16_scalar(ls, 64, 64, q0);
    int tie_ok = 1;
    for (int j = 0; j < 64; j++) tie_ok &= q0[j] == (j == 9 || j == 42 ? 16384 : 0);
    CHECK(tie_ok, "softmax_prob_i16 scalar: the tie at 16383.5");
#if KERN_HAVE_SIMD128
    memcpy(ls, lg, sizeof(float) * 64);
    kern_softmax_prob_i16_simd128(ls, 64, 64, q1);
    CHECK(memcmp(q0, q1, 64 * sizeof q0[0]) == 0, "softmax_prob_i16 simd: the tie at 16383.5 (q[9] %d)", q1[9]);
#endif
}

/* Attention's int16 operands: the scalar reference against the definition (nearest-even of x · range / amax, ties
 * forced, zeros for an all-zero row, the layouts of kernels.h), the SIMD128 kernels against the scalar bit for bit;
 * NaN and ±inf rows go through both (their values are meaningless, but the same). */
static void test_i16_operands(void) {
    enum { MAXLEN = 70, MAXDH = 70, LD = 80 };
    static float v[MAXLEN * LD];
    static int16_t q0[8 * MAXDH], q1[8 * MAXDH], vt0[MAXDH + 4][MAXLEN + 8], vt1[MAXDH + 4][MAXLEN + 8];
    float dv0[MAXDH + 4];
#if KERN_HAVE_SIMD128
    float dv1[MAXDH + 4];
#endif
    for (int iter = 0; iter < 120; iter++) {
        const int n = irand(1, MAXDH), step = iter % 2 ? 8 : 2, range = irand(100, 32767);
        for (int i = 0; i < n; i++) v[i] = frand() * (iter % 7 == 0 ? 0.0f : 3.0f);
        if (n > 3 && iter % 5 == 1) v[n / 2] = (float)range / 2 + 0.5f, v[1] = -(float)range / 2; /* exact ties */
        if (iter % 11 == 3) v[irand(0, n - 1)] = iter % 2 ? NAN : -INFINITY;
        memset(q0, 0x55, sizeof q0);
        memset(q1, 0x55, sizeof q1);
        const float d0 = kern_quantize_row_i16_scalar(v, n, (float)range, q0, step);
        int ok = 1, nonfinite = 0;
        float amax = 0.0f;
        for (int i = 0; i < n; i++) {
            nonfinite |= !isfinite(v[i]);
            if (fabsf(v[i]) > amax) amax = fabsf(v[i]);
        }
        if (!nonfinite) {
            ok &= d0 == amax / (float)range;
            const float inv = amax > 0.0f ? (float)range / amax : 0.0f;
            for (int i = 0; i < n; i++) ok &= q0[(i / 2) * step + i % 2] == (int16_t)nearbyintf(v[i] * inv);
            if (n % 2) ok &= q0[(n / 2) * step + 1] == 0;
            for (int p = 0; p < (n + 1) / 2; p++)
                for (int i = 2; i < step; i++) ok &= q0[p * step + i] == 0x5555;
        }
        CHECK(ok, "quantize_row_i16 scalar n %d step %d", n, step);
#if KERN_HAVE_SIMD128
        const float d1 = kern_quantize_row_i16_simd128(v, n, (float)range, q1, step);
        CHECK(memcmp(&d0, &d1, sizeof d0) == 0 && memcmp(q0, q1, sizeof q0) == 0, "quantize_row_i16 simd != scalar, n %d step %d", n, step);
#endif
    }
    for (int iter = 0; iter < 60; iter++) {
        const int len = irand(1, MAXLEN), dh = iter % 3 ? 4 * irand(1, MAXDH / 4) : irand(1, MAXDH);
        const int lenp = (len + 7) & ~7, dh4 = (dh + 3) & ~3;
        const float range = (float)irand(1000, 32767);
        for (int i = 0; i < len * LD; i++) v[i] = frand() * (float)(1 + iter % 4);
        if (iter % 9 == 4) v[irand(0, len - 1) * LD + irand(0, dh - 1)] = NAN;
        if (iter % 9 == 5) for (int t = 0; t < len; t++) v[t * LD + dh - 1] = 0.0f; /* an all-zero dimension */
        memset(vt0, 0x55, sizeof vt0);
        memset(vt1, 0x55, sizeof vt1);
        kern_quantize_cols_i16_scalar(v, LD, len, dh, range, dv0, &vt0[0][0], lenp);
        int ok = 1;
        const int16_t *vt = &vt0[0][0];
        if (iter % 9 != 4) {
            for (int d = 0; d < dh4; d++) {
                float amax = 0.0f;
                for (int t = 0; t < len && d < dh; t++) amax = fabsf(v[t * LD + d]) > amax ? fabsf(v[t * LD + d]) : amax;
                ok &= dv0[d] == amax / range;
                const float inv = amax > 0.0f ? range / amax : 0.0f;
                for (int t = 0; t < ((len + 1) & ~1); t++) {
                    const int16_t want = d < dh && t < len ? (int16_t)nearbyintf(v[t * LD + d] * inv) : 0;
                    ok &= vt[(d / 4) * 4 * lenp + 8 * (t / 2) + 2 * (d % 4) + t % 2] == want;
                }
            }
        }
        CHECK(ok, "quantize_cols_i16 scalar len %d dh %d", len, dh);
#if KERN_HAVE_SIMD128
        kern_quantize_cols_i16_simd128(v, LD, len, dh, range, dv1, &vt1[0][0], lenp);
        CHECK(memcmp(dv0, dv1, (size_t)dh4 * sizeof(float)) == 0 && memcmp(vt0, vt1, sizeof vt0) == 0,
              "quantize_cols_i16 simd != scalar, len %d dh %d", len, dh);
#endif
    }
}

int main(void) {
    printf("simd128 kernels: %s\n", KERN_HAVE_SIMD128 ? "compiled in, compared with scalar" : "absent (scalar only)");
    test_quantize_and_q8_matmul();
#if KERN_HAVE_SIMD128
    test_q8_long_rows();
    test_q8x4_panels();
    test_quantize_act_edges();
#endif
    test_float_matmuls();
    test_i16_attention_products();
    test_i16_operands();
    test_rows_and_elementwise();
#if KERN_HAVE_SIMD128
    test_erf_exp();
#endif
    test_get_row();
    return test_report("test_kernels");
}
