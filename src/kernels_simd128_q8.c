/* kernels_simd128_q8.c — the Q8_0 matmul on row-major weights in SIMD128 (kern_matmul_q8_0_simd128): a GEMM of
 * 2 weight rows × 8 tokens micro-tiles, and a GEMV for 1 or 2 tokens (the MLM decoder).
 *
 * Per 32-block and row, the weights are widened to int16 once (v128.load8x8_s) and dotted (i32x4.dot_i16x8) with
 * the 8 tokens' int16 activations; each group of 4 tokens' dot vectors is transpose-added into one i32x4 holding a
 * token per lane, converted, and scaled by dw × (dx of the 4 tokens, one vector load). Tokens in lanes means each
 * output does exactly the scalar reference's float operations in order, so the two agree bit for bit. Rows are
 * walked in panels whose fp16 scales are converted to float once (a 32 KiB stack table) while every token tile
 * passes. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

/* One 32-block of a weight row, widened to int16 by v128.load8x8_s (a load and a sign extension in one). */
typedef struct q8_wide {
    v128_t w0, w1, w2, w3;
} q8_wide;

static inline q8_wide q8_widen(const block_q8_0 *b) {
    q8_wide w;
    w.w0 = wasm_i16x8_load8x8(b->qs);
    w.w1 = wasm_i16x8_load8x8(b->qs + 8);
    w.w2 = wasm_i16x8_load8x8(b->qs + 16);
    w.w3 = wasm_i16x8_load8x8(b->qs + 24);
    return w;
}

/* The block against 4 tokens (x: token 0's block, rows K apart): lane t = sum_i w[i] * x_t[i]. The 4 dot
 * vectors of each token are transpose-added so each token's sum lands in its own lane. */
static inline v128_t q8_dot_4tokens(const q8_wide *w, const int16_t *x, size_t K) {
#define Q8_DOT32(xp)                                                                                         \
    wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_dot_i16x8(w->w0, wasm_v128_load(xp)),                           \
                                  wasm_i32x4_dot_i16x8(w->w1, wasm_v128_load((xp) + 8))),                    \
                   wasm_i32x4_add(wasm_i32x4_dot_i16x8(w->w2, wasm_v128_load((xp) + 16)),                    \
                                  wasm_i32x4_dot_i16x8(w->w3, wasm_v128_load((xp) + 24))))
    const v128_t p0 = Q8_DOT32(x), p1 = Q8_DOT32(x + K), p2 = Q8_DOT32(x + 2 * K), p3 = Q8_DOT32(x + 3 * K);
#undef Q8_DOT32
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 4, 1, 5), wasm_i32x4_shuffle(p0, p1, 2, 6, 3, 7));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(p2, p3, 0, 4, 1, 5), wasm_i32x4_shuffle(p2, p3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7));
}

/* Two rows' accumulators (tokens in lanes) + their bias -> y rows of the nt valid tokens (2 floats each). */
static inline void q8_store_2rows(float *y, int ldy, int n, v128_t r0, v128_t r1, const float *b, int nt) {
    const v128_t bias = b ? wasm_v128_load64_splat(b + n) : wasm_f32x4_splat(0.0f);
    const v128_t lo = wasm_f32x4_add(wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), bias); /* t0: r0 r1, t1: r0 r1 */
    const v128_t hi = wasm_f32x4_add(wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7), bias); /* t2, t3 */
    if (nt > 0) wasm_v128_store64_lane(y + n, lo, 0);
    if (nt > 1) wasm_v128_store64_lane(y + (size_t)ldy + n, lo, 1);
    if (nt > 2) wasm_v128_store64_lane(y + 2 * (size_t)ldy + n, hi, 0);
    if (nt > 3) wasm_v128_store64_lane(y + 3 * (size_t)ldy + n, hi, 1);
}

static inline void q8_store_1row(float *y, int ldy, int n, v128_t r, const float *b, int nt) {
    float lanes[4];
    wasm_v128_store(lanes, wasm_f32x4_add(r, wasm_f32x4_splat(b ? b[n] : 0.0f)));
    for (int i = 0; i < nt; i++) y[(size_t)i * ldy + n] = lanes[i];
}

/* 1 or 2 tokens against 4 rows at a time: the MLM decoder at the mask (250002 × 768, 204 MB, read once per call,
 * from DRAM). The panel GEMM below first converts a panel's scales, a pass that touches every cache line of the
 * panel before any arithmetic, so memory time and arithmetic would run in series; and arithmetic straight from DRAM
 * keeps too few misses in flight. Here each block's 4 scales are converted in place, and while 4 rows are computed,
 * plain byte loads touch the lines GEMV_AHEAD bytes on (two per 136-byte block group; wasm has no prefetch
 * instruction): a few independent misses in flight at all times, overlapped with the arithmetic. GEMV_AHEAD (~1.3
 * row groups) and the timings behind this design: BENCHMARKS.md, "Kernel design notes". Same integer sums and
 * float operations per output as the panel path (fp16x4_to_f32x4 is fp16_fast per lane). */
#ifndef GEMV_AHEAD
#define GEMV_AHEAD 4096
#endif
static volatile uint32_t gemv_sink; /* keeps the touching loads (a relaxed atomic store: threads share it) */
static void q8_gemv_4rows(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, nb = x->K / QK8_0;
    const uint8_t *wend = (const uint8_t *)(w + (size_t)(N & ~3) * nb) - 1;
    uint32_t sink = 0;
    for (int n = 0; n + 4 <= N; n += 4) {
        const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = w0 + nb, *w2 = w1 + nb, *w3 = w2 + nb;
        const v128_t bias = b ? wasm_v128_load(b + n) : wasm_f32x4_splat(0.0f);
        const uint8_t *ahead = (const uint8_t *)w0 + GEMV_AHEAD;
        for (int t = 0; t < T; t++) { /* a second token re-reads the 4 rows (3 KB) from L1 */
            const int16_t *xt = x->qs + (size_t)t * x->K;
            v128_t acc = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                if (t == 0) {
                    const uint8_t *p0 = ahead + (size_t)j * 4 * sizeof(block_q8_0), *p1 = p0 + 64;
                    sink += *(p0 < wend ? p0 : wend) + *(p1 < wend ? p1 : wend);
                }
                const int16_t *xj = xt + (size_t)j * QK8_0;
                const v128_t x0 = wasm_v128_load(xj), x1 = wasm_v128_load(xj + 8);
                const v128_t x2 = wasm_v128_load(xj + 16), x3 = wasm_v128_load(xj + 24);
#define Q8_ROW(wr)                                                                                             \
    wasm_i32x4_add(                                                                                            \
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8((wr)->qs), x0),                               \
                       wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8((wr)->qs + 8), x1)),                          \
        wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8((wr)->qs + 16), x2),                          \
                       wasm_i32x4_dot_i16x8(wasm_i16x8_load8x8((wr)->qs + 24), x3)))
                const v128_t p0 = Q8_ROW(w0 + j), p1 = Q8_ROW(w1 + j), p2 = Q8_ROW(w2 + j), p3 = Q8_ROW(w3 + j);
#undef Q8_ROW
                const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 4, 1, 5), wasm_i32x4_shuffle(p0, p1, 2, 6, 3, 7));
                const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(p2, p3, 0, 4, 1, 5), wasm_i32x4_shuffle(p2, p3, 2, 6, 3, 7));
                const v128_t isum = wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7));
                v128_t h = wasm_v128_load16_lane(&w0[j].d, wasm_i32x4_splat(0), 0);
                h = wasm_v128_load16_lane(&w1[j].d, h, 2);
                h = wasm_v128_load16_lane(&w2[j].d, h, 4);
                h = wasm_v128_load16_lane(&w3[j].d, h, 6);
                acc = q8_accumulate(acc, isum, fp16x4_to_f32x4(h), wasm_f32x4_splat(x->d[(size_t)j * KERN_QTILE + t]));
            }
            wasm_v128_store(y + (size_t)t * ldy + n, wasm_f32x4_add(acc, bias));
        }
    }
    __atomic_store_n(&gemv_sink, sink, __ATOMIC_RELAXED);
}

/* Weight scales of a panel converted to float once, reused by every token tile; layout [row / 4][block][row % 4]
 * so 4 rows' scales of a block are one vector. */
#define Q8_SCALES 8192

/* the scale of block j of panel row i (rows counted from the panel's first) */
static inline const float *q8_scale_at(const float *dwf, int i, int j, int nb) {
    return dwf + ((size_t)i / 4 * nb + j) * 4 + i % 4;
}

static inline void q8_panel_scales(float *dwf, const block_q8_0 *w, int n0, int n1, int nb) {
    for (int n = n0; n < n1; n++)
        for (int j = 0; j < nb; j++)
            dwf[((size_t)(n - n0) / 4 * nb + j) * 4 + (n - n0) % 4] = fp16_fast(w[(size_t)n * nb + j].d);
}

/* A tile of 8 tokens (nt of them valid) from xt (scales da, db of its two halves) against the panel rows n0 .. n1 - 1,
 * two rows at a time: each widened weight block serves 8 tokens. */
static inline __attribute__((always_inline)) void q8_tile8(float *yt, int ldy, const int16_t *xt, size_t Ks,
                                                          const float *da, const float *db, const block_q8_0 *w,
                                                          const float *dwf, const float *b, int n0, int n1, int nb,
                                                          int nt) {
    int n = n0;
    for (; n + 2 <= n1; n += 2) {
        const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = w0 + nb;
        v128_t a0 = wasm_f32x4_splat(0.0f), b0 = a0, a1 = a0, b1 = a0;
        for (int j = 0; j < nb; j++) {
            const int16_t *xj = xt + (size_t)j * QK8_0;
            const v128_t dxa = wasm_v128_load(da + j * KERN_QTILE), dxb = wasm_v128_load(db + j * KERN_QTILE);
            const q8_wide u = q8_widen(w0 + j), v = q8_widen(w1 + j);
            const v128_t du = wasm_v128_load32_splat(q8_scale_at(dwf, n - n0, j, nb));
            const v128_t dv = wasm_v128_load32_splat(q8_scale_at(dwf, n + 1 - n0, j, nb));
            a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xj, Ks), du, dxa);
            b0 = q8_accumulate(b0, q8_dot_4tokens(&u, xj + 4 * Ks, Ks), du, dxb);
            a1 = q8_accumulate(a1, q8_dot_4tokens(&v, xj, Ks), dv, dxa);
            b1 = q8_accumulate(b1, q8_dot_4tokens(&v, xj + 4 * Ks, Ks), dv, dxb);
        }
        q8_store_2rows(yt, ldy, n, a0, a1, b, nt);
        q8_store_2rows(yt + 4 * (size_t)ldy, ldy, n, b0, b1, b, nt - 4);
    }
    if (n < n1) {
        const block_q8_0 *w0 = w + (size_t)n * nb;
        v128_t a0 = wasm_f32x4_splat(0.0f), b0 = a0;
        for (int j = 0; j < nb; j++) {
            const int16_t *xj = xt + (size_t)j * QK8_0;
            const q8_wide u = q8_widen(w0 + j);
            const v128_t du = wasm_v128_load32_splat(q8_scale_at(dwf, n - n0, j, nb));
            a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xj, Ks), du, wasm_v128_load(da + j * KERN_QTILE));
            b0 = q8_accumulate(b0, q8_dot_4tokens(&u, xj + 4 * Ks, Ks), du, wasm_v128_load(db + j * KERN_QTILE));
        }
        q8_store_1row(yt, ldy, n, a0, b, nt);
        q8_store_1row(yt + 4 * (size_t)ldy, ldy, n, b0, b, nt - 4);
    }
}

/* The last 1 to 4 tokens (nt) against the panel rows, two rows at a time. */
static inline __attribute__((always_inline)) void q8_tile4(float *yt, int ldy, const int16_t *xt, size_t Ks,
                                                          const float *da, const block_q8_0 *w, const float *dwf,
                                                          const float *b, int n0, int n1, int nb, int nt) {
    int n = n0;
    for (; n + 2 <= n1; n += 2) {
        const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = w0 + nb;
        v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
        for (int j = 0; j < nb; j++) {
            const int16_t *xj = xt + (size_t)j * QK8_0;
            const v128_t dxa = wasm_v128_load(da + j * KERN_QTILE);
            const q8_wide u = q8_widen(w0 + j), v = q8_widen(w1 + j);
            a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xj, Ks), wasm_v128_load32_splat(q8_scale_at(dwf, n - n0, j, nb)), dxa);
            a1 = q8_accumulate(a1, q8_dot_4tokens(&v, xj, Ks), wasm_v128_load32_splat(q8_scale_at(dwf, n + 1 - n0, j, nb)),
                               dxa);
        }
        q8_store_2rows(yt, ldy, n, a0, a1, b, nt);
    }
    if (n < n1) {
        const block_q8_0 *w0 = w + (size_t)n * nb;
        v128_t a0 = wasm_f32x4_splat(0.0f);
        for (int j = 0; j < nb; j++) {
            const q8_wide u = q8_widen(w0 + j);
            a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xt + (size_t)j * QK8_0, Ks),
                               wasm_v128_load32_splat(q8_scale_at(dwf, n - n0, j, nb)), wasm_v128_load(da + j * KERN_QTILE));
        }
        q8_store_1row(yt, ldy, n, a0, b, nt);
    }
}

/* The GEMM (rows of at most Q8_SCALES / 4 blocks): panels of rows, each finished for every token before the next.
 * Kept out of line and reached through a pointer (below) so that no optimizer merges it into its caller (LLVM, or
 * binaryen's inlining of single-caller functions, which clang runs at -O3): V8 tiers a wasm function up only between
 * calls (no on-stack replacement), so a kernel inlined into a function called once -- bench/gemm_bench.c's main --
 * would run in the baseline compiler (Liftoff) for good, and the scalar fallback inlined into it only grows the
 * function TurboFan compiles. */
static void q8_gemm(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    float dwf[Q8_SCALES];
    const int panel = (Q8_SCALES / nb) & ~3;
    const size_t Ks = (size_t)K;
    for (int n0 = 0; n0 < N; n0 += panel) {
        const int n1 = N - n0 < panel ? N : n0 + panel;
        q8_panel_scales(dwf, w, n0, n1, nb);
        int t0 = 0;
        for (; t0 + 8 <= tp; t0 += 8) {
            const float *da = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, *db = da + (size_t)nb * KERN_QTILE;
            q8_tile8(y + (size_t)t0 * ldy, ldy, x->qs + (size_t)t0 * K, Ks, da, db, w, dwf, b, n0, n1, nb,
                     T - t0 < 8 ? T - t0 : 8);
        }
        if (t0 < tp)
            q8_tile4(y + (size_t)t0 * ldy, ldy, x->qs + (size_t)t0 * K, Ks,
                     x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, w, dwf, b, n0, n1, nb, T - t0);
    }
}

static void (*volatile q8_gemm_ptr)(float *, int, const kern_qact *, const block_q8_0 *, const float *, int) = q8_gemm;
static void (*volatile q8_gemv_ptr)(float *, int, const kern_qact *, const block_q8_0 *, const float *, int) = q8_gemv_4rows;

void kern_matmul_q8_0_simd128(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    if (x->K / QK8_0 > Q8_SCALES / 4) { /* rows longer than any XLM-R layer: not worth a special path */
        kern_matmul_q8_0_scalar(y, ldy, x, w, b, N);
        return;
    }
    if (x->T <= 2 && N >= 4) {
        const int n4 = N & ~3;
        q8_gemv_ptr(y, ldy, x, w, b, n4);
        if (n4 == N) return;
        y += n4, w += (size_t)n4 * (x->K / QK8_0), b = b ? b + n4 : NULL, N -= n4;
    }
    q8_gemm_ptr(y, ldy, x, w, b, N);
}

#endif
