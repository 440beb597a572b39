/* kernels_simd128.c — wasm SIMD128 versions of the kernels (see kernels.h), written with wasm_simd128.h.
 *
 * Q8_0 matmul: a micro-kernel of 2 weight rows × 8 tokens. Per 32-block and row, the weights are widened
 * to int16 once (v128.load8x8_s) and dotted (i32x4.dot_i16x8) with the 8 tokens' int16 activations; each
 * group of 4 tokens' dot vectors is transpose-added into one i32x4 holding a token per lane, converted, and
 * scaled by dw × (dx of the 4 tokens, one vector load). Tokens in lanes means each output does exactly the
 * scalar reference's float operations in order, so the two agree bit for bit. Rows are walked in panels
 * whose fp16 scales are converted to float once (a 32 KiB stack table) while every token tile passes. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

static inline float hsum_f32x4(v128_t a) {
    v128_t s = wasm_f32x4_add(a, wasm_i32x4_shuffle(a, a, 2, 3, 0, 1));
    s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
    return wasm_f32x4_extract_lane(s, 0); /* (a0 + a2) + (a1 + a3) */
}

/* IEEE half -> float for finite values (normal and subnormal, exact): the half's exponent+mantissa put
 * where a float's go, rescaled by 2^112. Inf/NaN halves come out as large finite numbers. */
static inline float fp16_fast(uint16_t h) {
    uint32_t u = (uint32_t)(h & 0x7fff) << 13;
    float f;
    memcpy(&f, &u, 4);
    f *= 0x1p112f;
    memcpy(&u, &f, 4);
    u |= (uint32_t)(h & 0x8000) << 16;
    memcpy(&f, &u, 4);
    return f;
}


/* ---- activation quantization ---- */

void kern_quantize_act_simd128(const float *x, kern_qact *q) {
    const int T = q->T, K = q->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    const v128_t qmax = wasm_i16x8_splat(127), qmin = wasm_i16x8_splat(-127);
    for (int t = 0; t < tp; t++) {
        int16_t *qs = q->qs + (size_t)t * K;
        float *d = q->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        if (t >= T) {
            memset(qs, 0, (size_t)K * sizeof *qs);
            for (int j = 0; j < nb; j++) d[j * KERN_QTILE] = 0.0f;
            continue;
        }
        const float *xr = x + (size_t)t * K;
        for (int j = 0; j < nb; j++) {
            const float *xb = xr + j * QK8_0;
            v128_t v[8];
            for (int i = 0; i < 8; i++) v[i] = wasm_v128_load(xb + 4 * i);
            /* pmax (one maxps) rather than max (NaN-propagating: ~8 x64 instructions in V8); they differ only
             * when a NaN is in the block, whose outputs are meaningless either way */
            v128_t m0 = wasm_f32x4_pmax(wasm_f32x4_abs(v[0]), wasm_f32x4_abs(v[1]));
            v128_t m1 = wasm_f32x4_pmax(wasm_f32x4_abs(v[2]), wasm_f32x4_abs(v[3]));
            v128_t m2 = wasm_f32x4_pmax(wasm_f32x4_abs(v[4]), wasm_f32x4_abs(v[5]));
            v128_t m3 = wasm_f32x4_pmax(wasm_f32x4_abs(v[6]), wasm_f32x4_abs(v[7]));
            v128_t m = wasm_f32x4_pmax(wasm_f32x4_pmax(m0, m1), wasm_f32x4_pmax(m2, m3));
            m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
            m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2));
            const float amax = wasm_f32x4_extract_lane(m, 0);
            const float dj = amax / 127.0f;
            const float id = dj != 0.0f ? 1.0f / dj : 0.0f;
            d[j * KERN_QTILE] = dj;
            const v128_t vid = wasm_f32x4_splat(id);
            for (int i = 0; i < 4; i++) {
                const v128_t a = simd_round_i32x4(wasm_f32x4_mul(v[2 * i], vid));
                const v128_t b = simd_round_i32x4(wasm_f32x4_mul(v[2 * i + 1], vid));
                v128_t s = wasm_i16x8_narrow_i32x4(a, b);
                s = wasm_i16x8_min(wasm_i16x8_max(s, qmin), qmax);
                wasm_v128_store(qs + j * QK8_0 + 8 * i, s);
            }
        }
    }
}

/* ---- Q8_0 matmul ---- */

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

/* acc + isum * (dw * dx): the scalar reference's operations, lane by lane */
static inline v128_t q8_accumulate(v128_t acc, v128_t isum, v128_t dw, v128_t dx) {
    return wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_mul(dw, dx)));
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

/* 1 or 2 tokens against 4 rows at a time: the MLM decoder at the mask (250002 × 768, 204 MB, read once per
 * call, from DRAM). The panel path below took ~27 ms here: its pass converting a panel's scales (scalar, ~35%
 * more instructions) touches every cache line of the panel before any arithmetic, so memory time and arithmetic
 * run in series. Computing straight from DRAM without that pass is worse (the arithmetic per line keeps too few
 * misses in flight: ~4 GB/s; touching alone reads the 204 MB in ~15 ms).
 * Here each block's 4 scales are converted in place, and while 4 rows are computed, plain byte loads touch the
 * lines GEMV_AHEAD bytes on (two per 136-byte block group; wasm has no prefetch instruction): a few independent
 * misses in flight at all times, overlapped with the arithmetic. GEMV_AHEAD = 4096 (~1.3 row groups) measured
 * best of 1-64 KiB, fill-mask seq 16 paired against the panel path: 0.91× (1 thread), 0.93× (2 threads). Same
 * integer sums and float operations per output as the panel path (fp16x4_to_f32x4 is fp16_fast per lane). */
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

/* The GEMM (rows of at most Q8_SCALES / 4 blocks). Kept out of line and reached through a pointer (below) so that
 * no optimizer merges it into its caller (LLVM, or binaryen's inlining of single-caller functions, which clang
 * runs at -O3): V8 tiers a wasm function up only between calls (no on-stack replacement), so a kernel inlined
 * into a function called once -- bench/gemm_bench.c's main -- ran in the baseline compiler (Liftoff, 11-14 GOP/s
 * in Node 20) for good, and the scalar fallback inlined into it only grew the function TurboFan compiles. */
static void q8_gemm(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    float dwf[Q8_SCALES];
    const int panel = (Q8_SCALES / nb) & ~3;
    const size_t Ks = (size_t)K;
#define SCALE_AT(n, j) (dwf + ((size_t)((n) - n0) / 4 * nb + (j)) * 4 + ((n) - n0) % 4)
    for (int n0 = 0; n0 < N; n0 += panel) {
        const int n1 = N - n0 < panel ? N : n0 + panel;
        for (int n = n0; n < n1; n++)
            for (int j = 0; j < nb; j++) *SCALE_AT(n, j) = fp16_fast(w[(size_t)n * nb + j].d);
        int t0 = 0;
        /* tiles of 8 tokens: each widened weight block serves 8 tokens */
        for (; t0 + 8 <= tp; t0 += 8) {
            const int16_t *xt = x->qs + (size_t)t0 * K;
            const float *da = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, *db = da + (size_t)nb * KERN_QTILE;
            const int nt = T - t0 < 8 ? T - t0 : 8;
            float *yt = y + (size_t)t0 * ldy;
            int n = n0;
            for (; n + 2 <= n1; n += 2) {
                const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = w0 + nb;
                v128_t a0 = wasm_f32x4_splat(0.0f), b0 = a0, a1 = a0, b1 = a0;
                for (int j = 0; j < nb; j++) {
                    const int16_t *xj = xt + (size_t)j * QK8_0;
                    const v128_t dxa = wasm_v128_load(da + j * KERN_QTILE), dxb = wasm_v128_load(db + j * KERN_QTILE);
                    const q8_wide u = q8_widen(w0 + j), v = q8_widen(w1 + j);
                    const v128_t du = wasm_v128_load32_splat(SCALE_AT(n, j)), dv = wasm_v128_load32_splat(SCALE_AT(n + 1, j));
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
                    const v128_t du = wasm_v128_load32_splat(SCALE_AT(n, j));
                    a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xj, Ks), du, wasm_v128_load(da + j * KERN_QTILE));
                    b0 = q8_accumulate(b0, q8_dot_4tokens(&u, xj + 4 * Ks, Ks), du, wasm_v128_load(db + j * KERN_QTILE));
                }
                q8_store_1row(yt, ldy, n, a0, b, nt);
                q8_store_1row(yt + 4 * (size_t)ldy, ldy, n, b0, b, nt - 4);
            }
        }
        if (t0 >= tp) continue;
        /* the last 1 to 4 tokens */
        const int16_t *xt = x->qs + (size_t)t0 * K;
        const float *da = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
        const int nt = T - t0;
        float *yt = y + (size_t)t0 * ldy;
        int n = n0;
        for (; n + 2 <= n1; n += 2) {
            const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = w0 + nb;
            v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
            for (int j = 0; j < nb; j++) {
                const int16_t *xj = xt + (size_t)j * QK8_0;
                const v128_t dxa = wasm_v128_load(da + j * KERN_QTILE);
                const q8_wide u = q8_widen(w0 + j), v = q8_widen(w1 + j);
                a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xj, Ks), wasm_v128_load32_splat(SCALE_AT(n, j)), dxa);
                a1 = q8_accumulate(a1, q8_dot_4tokens(&v, xj, Ks), wasm_v128_load32_splat(SCALE_AT(n + 1, j)), dxa);
            }
            q8_store_2rows(yt, ldy, n, a0, a1, b, nt);
        }
        if (n < n1) {
            const block_q8_0 *w0 = w + (size_t)n * nb;
            v128_t a0 = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                const q8_wide u = q8_widen(w0 + j);
                a0 = q8_accumulate(a0, q8_dot_4tokens(&u, xt + (size_t)j * QK8_0, Ks), wasm_v128_load32_splat(SCALE_AT(n, j)),
                                   wasm_v128_load(da + j * KERN_QTILE));
            }
            q8_store_1row(yt, ldy, n, a0, b, nt);
        }
    }
#undef SCALE_AT
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

/* ---- Q8_0 matmul on 4-row interleaved weights (block_q8_0x4, model.h) ----
 *
 * Rows in lanes: per k-pair, one v128.load8x8_s widens 2 columns of 4 rows, v128.load32_splat broadcasts a
 * token's 2 activations, and i32x4.dot_i16x8 leaves the 4 rows' partial sums in 4 lanes. A tile of G groups
 * (4G rows) × TT tokens keeps G·TT integer accumulators and G·TT float ones; nothing is shuffled. Each lane
 * does the scalar reference's float operations in its order (per block: acc += (float)isum * (dw * dx)).
 *
 * The k-pair loop must stay a loop: unrolled, LLVM schedules the whole block's loads first and V8 (Node 20's
 * 11.3) spills most of them -- 31 GOP/s instead of 57 (measured with the GEMM microbenchmark, now bench/gemm_bench.c). */
/* y rows of the tile's nt tokens, columns n .. n + 4G - 1. x: the tile's first token (rows K apart); dx: its
 * scales, dx[j * KERN_QTILE + t] for block j of token t; w, dwf: the first group's blocks and their scales as
 * floats (groups nb apart). The first k-pair's products start the integer sums (no zeroing and adding: +2-3% in
 * bench/gemm.mjs). */
static inline __attribute__((always_inline)) void q8x4_tile(float *y, int ldy, const int16_t *x, size_t K,
                                                           const float *dx, const block_q8_0x4 *w, const v128_t *dwf,
                                                           int nb, const float *b, int n, const int G, const int TT,
                                                           int nt) {
    v128_t f[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < TT; t++) f[g][t] = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < nb; j++) {
        v128_t a[2][4];
        const int8_t *q0 = w[j].qs, *q1 = G > 1 ? w[(size_t)nb + j].qs : q0;
        const int16_t *xj = x + (size_t)j * QK8_0;
        {
            const v128_t w0 = wasm_i16x8_load8x8(q0);
            const v128_t w1 = G > 1 ? wasm_i16x8_load8x8(q1) : w0;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(xj + t * K);
                a[0][t] = wasm_i32x4_dot_i16x8(w0, s);
                if (G > 1) a[1][t] = wasm_i32x4_dot_i16x8(w1, s);
            }
        }
#pragma clang loop unroll(disable)
        for (int p = 1; p < QK8_0 / 2; p++) {
            const v128_t w0 = wasm_i16x8_load8x8(q0 + 8 * p);
            const v128_t w1 = G > 1 ? wasm_i16x8_load8x8(q1 + 8 * p) : w0;
            for (int t = 0; t < TT; t++) {
                const v128_t s = wasm_v128_load32_splat(xj + t * K + 2 * p);
                a[0][t] = wasm_i32x4_add(a[0][t], wasm_i32x4_dot_i16x8(w0, s));
                if (G > 1) a[1][t] = wasm_i32x4_add(a[1][t], wasm_i32x4_dot_i16x8(w1, s));
            }
        }
        for (int g = 0; g < G; g++) {
            const v128_t dw = dwf[(size_t)g * nb + j];
            for (int t = 0; t < TT; t++)
                f[g][t] = q8_accumulate(f[g][t], a[g][t], dw, wasm_v128_load32_splat(dx + (size_t)j * KERN_QTILE + t));
        }
    }
    for (int g = 0; g < G; g++) {
        const v128_t bias = b ? wasm_v128_load(b + n + 4 * g) : wasm_f32x4_splat(0.0f);
        for (int t = 0; t < TT && t < nt; t++) wasm_v128_store(y + (size_t)t * ldy + n + 4 * g, wasm_f32x4_add(f[g][t], bias));
    }
}

/* Group-blocks per panel (~68 KiB of weights, kept in L2 while every token tile passes over them) and their
 * scales converted to float once for all those tiles: 8 KiB of stack. */
#define Q8X4_PANEL 512

/* Rows of one panel are finished for every token before the next panel. Out of line and reached through a
 * pointer, as q8_gemm. */
static void q8x4_gemm(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const size_t Ks = (size_t)K;
    if (nb > Q8X4_PANEL) { /* K > 16384: not a shape XLM-R has */
        kern_matmul_q8_0x4_scalar(y, ldy, x, w, b, N);
        return;
    }
    v128_t dwf[Q8X4_PANEL];
    int panel = Q8X4_PANEL / nb & ~1; /* groups */
    if (panel < 1) panel = 1;
    for (int g0 = 0; g0 < N / 4; g0 += panel) {
        const int g1 = N / 4 - g0 < panel ? N / 4 : g0 + panel;
        for (int i = 0; i < (g1 - g0) * nb; i++) dwf[i] = q8x4_scales(&w[(size_t)g0 * nb + i]);
        for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
            const int nt = T - t0 < KERN_QTILE ? T - t0 : KERN_QTILE;
            const int16_t *xt = x->qs + (size_t)t0 * Ks;
            const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
            float *yt = y + (size_t)t0 * ldy;
#define TILE(yy, xx, dd, g, G, TT, nn) \
    q8x4_tile(yy, ldy, xx, Ks, dd, w + (size_t)(g) * nb, dwf + (size_t)((g) - g0) * nb, nb, b, 4 * (g), G, TT, nn)
            if (nt > 2) { /* a full tile (padding tokens are zeros, computed and not stored) */
                int g = g0;
                for (; g + 2 <= g1; g += 2) TILE(yt, xt, dx, g, 2, 4, nt);
                if (g < g1) TILE(yt, xt, dx, g, 1, 4, nt);
            } else { /* 1 or 2 tokens left (short inputs, the fill-mask head): token by token */
                for (int i = 0; i < nt; i++) {
                    int g = g0;
                    for (; g + 2 <= g1; g += 2) TILE(yt + (size_t)i * ldy, xt + (size_t)i * Ks, dx + i, g, 2, 1, 1);
                    if (g < g1) TILE(yt + (size_t)i * ldy, xt + (size_t)i * Ks, dx + i, g, 1, 1, 1);
                }
            }
#undef TILE
        }
    }
}

static void (*volatile q8x4_gemm_ptr)(float *, int, const kern_qact *, const block_q8_0x4 *, const float *, int) = q8x4_gemm;

void kern_matmul_q8_0x4_simd128(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    q8x4_gemm_ptr(y, ldy, x, w, b, N);
}

/* ---- int16 attention products (kernels.h: kern_matmul_i16x4) ----
 *
 * The q8x4 tile without widening: per column pair one v128.load gives 4 rows' pair, v128.load32_splat a token's
 * pair, i32x4.dot_i16x8 leaves the 4 rows' partial sums in 4 lanes. G groups (4G rows) × TT tokens. */
static inline __attribute__((always_inline)) void i16x4_tile(float *y, int ldy, const int16_t *x, int K,
                                                            const float *dx, const int16_t *w, const float *dw, int n,
                                                            int N, const int G, const int TT) {
    v128_t a[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < TT; t++) a[g][t] = wasm_i32x4_splat(0);
    const int16_t *w1 = w + (size_t)4 * K;
#pragma clang loop unroll(disable)
    for (int p = 0; p < K / 2; p++) {
        const v128_t w0v = wasm_v128_load(w + 8 * p);
        const v128_t w1v = G > 1 ? wasm_v128_load(w1 + 8 * p) : w0v;
        for (int t = 0; t < TT; t++) {
            const v128_t s = wasm_v128_load32_splat(x + (size_t)t * K + 2 * p);
            a[0][t] = wasm_i32x4_add(a[0][t], wasm_i32x4_dot_i16x8(w0v, s));
            if (G > 1) a[1][t] = wasm_i32x4_add(a[1][t], wasm_i32x4_dot_i16x8(w1v, s));
        }
    }
    for (int g = 0; g < G; g++) {
        const int n0 = n + 4 * g;
        const v128_t dwv = wasm_v128_load(dw + n0);
        for (int t = 0; t < TT; t++) {
            const v128_t f = wasm_f32x4_mul(wasm_f32x4_convert_i32x4(a[g][t]), wasm_f32x4_mul(dwv, wasm_f32x4_splat(dx[t])));
            float *yt = y + (size_t)t * ldy + n0;
            if (n0 + 4 <= N) {
                wasm_v128_store(yt, f);
            } else {
                float lanes[4];
                wasm_v128_store(lanes, f);
                for (int i = 0; i < N - n0; i++) yt[i] = lanes[i];
            }
        }
    }
}

/* All row groups for TT tokens: pairs of groups, then the odd one. */
static inline __attribute__((always_inline)) void i16x4_tokens(float *y, int ldy, const int16_t *x, int K,
                                                              const float *dx, const int16_t *w, const float *dw, int N,
                                                              const int TT) {
    const int groups = (N + 3) / 4;
    int g = 0;
    for (; g + 2 <= groups; g += 2) i16x4_tile(y, ldy, x, K, dx, w + (size_t)g * 4 * K, dw, 4 * g, N, 2, TT);
    if (g < groups) i16x4_tile(y, ldy, x, K, dx, w + (size_t)g * 4 * K, dw, 4 * g, N, 1, TT);
}

void kern_matmul_i16x4_simd128(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw,
                               int T, int N, int K) {
    int t = 0;
    for (; t + 4 <= T; t += 4) i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 4);
    switch (T - t) {
    case 3: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 3); break;
    case 2: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 2); break;
    case 1: i16x4_tokens(y + (size_t)t * ldy, ldy, x + (size_t)t * K, K, dx + t, w, dw, N, 1); break;
    }
}

/* nearest-even(p * KERN_PROB_ONE) by the KERN_ROUND_MAGIC addition */
void kern_quantize_prob_i16_simd128(const float *p, int n, int np, int16_t *q) {
    const v128_t scale = wasm_f32x4_splat(KERN_PROB_ONE), magic = wasm_f32x4_splat(KERN_ROUND_MAGIC);
    const v128_t bias = wasm_i32x4_splat(KERN_ROUND_MAGIC_BITS);
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        const v128_t a = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(p + j), scale), magic), bias);
        const v128_t b = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(p + j + 4), scale), magic), bias);
        wasm_v128_store(q + j, wasm_i16x8_narrow_i32x4(a, b));
    }
    for (; j < n; j++) q[j] = (int16_t)fmaxf(0.0f, fminf(KERN_PROB_ONE, nearbyintf(p[j] * KERN_PROB_ONE)));
    for (; j < np; j++) q[j] = 0;
}

/* ---- float matmuls: K-vectorised dot products, 4 tokens share each weight load ---- */

/* Widens 4 stored weights (u32 lanes holding a 16-bit value) to floats. */
static inline v128_t half4_to_f32x4(v128_t h, int bf16) {
    return bf16 ? wasm_i32x4_shl(h, 16) : fp16x4_to_f32x4(h);
}

static inline float half_to_f32(uint16_t h, int bf16) { return bf16 ? xlmr_bf16_to_f32(h) : fp16_fast(h); }

/* One token: the exact operation sequence of each lane of the 4-token version below. */
static inline float dot_f32_1(const float *x, const float *w, int K) {
    v128_t acc = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 4 <= K; k += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k), wasm_v128_load(w + k)));
    float s = hsum_f32x4(acc);
    for (; k < K; k++) s += x[k] * w[k];
    return s;
}

/* A tile of 4 tokens × R rows (R = 1, 2): 4R accumulators, 4 + R loads per k-step (4 × 2 is what V8's 16
 * registers hold without spilling; 4 × 3 spills). Every output's lanes follow dot_f32_1's order. */
static inline __attribute__((always_inline)) void f32_tile(float *y, int ldy, const float *x, const float *w,
                                                          const float *b, int n, int K, const int R) {
    const float *x0 = x, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
    v128_t a[2][4];
    for (int r = 0; r < R; r++)
        for (int t = 0; t < 4; t++) a[r][t] = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 4 <= K; k += 4) {
        const v128_t v0 = wasm_v128_load(x0 + k), v1 = wasm_v128_load(x1 + k), v2 = wasm_v128_load(x2 + k),
                     v3 = wasm_v128_load(x3 + k);
        for (int r = 0; r < R; r++) {
            const v128_t wv = wasm_v128_load(w + (size_t)r * K + k);
            a[r][0] = wasm_f32x4_add(a[r][0], wasm_f32x4_mul(v0, wv));
            a[r][1] = wasm_f32x4_add(a[r][1], wasm_f32x4_mul(v1, wv));
            a[r][2] = wasm_f32x4_add(a[r][2], wasm_f32x4_mul(v2, wv));
            a[r][3] = wasm_f32x4_add(a[r][3], wasm_f32x4_mul(v3, wv));
        }
    }
    for (int r = 0; r < R; r++) {
        const float *wr = w + (size_t)r * K;
        float s[4];
        for (int t = 0; t < 4; t++) s[t] = hsum_f32x4(a[r][t]);
        for (int kk = k; kk < K; kk++)
            for (int t = 0; t < 4; t++) s[t] += x[(size_t)t * K + kk] * wr[kk];
        const float bn = b ? b[n + r] : 0.0f;
        for (int t = 0; t < 4; t++) y[(size_t)t * ldy + n + r] = s[t] + bn;
    }
}

static void matmul_f32_panel(float *y, int ldy, const float *x, const float *w, const float *b, int T, int n0, int n1,
                             int K) {
    int t = 0;
    for (; t + 4 <= T; t += 4) {
        const float *xt = x + (size_t)t * K;
        float *yt = y + (size_t)t * ldy;
        int n = n0;
        for (; n + 2 <= n1; n += 2) f32_tile(yt, ldy, xt, w + (size_t)n * K, b, n, K, 2);
        if (n < n1) f32_tile(yt, ldy, xt, w + (size_t)n * K, b, n, K, 1);
    }
    for (; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        for (int n = n0; n < n1; n++) y[(size_t)t * ldy + n] = dot_f32_1(xr, w + (size_t)n * K, K) + (b ? b[n] : 0.0f);
    }
}

void kern_matmul_f32_simd128(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K) {
    int panel = (int)(32768 / ((size_t)(K > 0 ? K : 1) * 4));
    if (panel < 4) panel = 4;
    for (int n0 = 0; n0 < N; n0 += panel) matmul_f32_panel(y, ldy, x, w, b, T, n0, N - n0 < panel ? N : n0 + panel, K);
}

/* 16-bit weights (F16 or BF16): 8 weights a step, widened in registers. */
static inline float dot_h16_1(const float *x, const uint16_t *w, int K, int bf16) {
    v128_t acc = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 8 <= K; k += 8) {
        const v128_t h = wasm_v128_load(w + k);
        const v128_t lo = half4_to_f32x4(wasm_u32x4_extend_low_u16x8(h), bf16);
        const v128_t hi = half4_to_f32x4(wasm_u32x4_extend_high_u16x8(h), bf16);
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k), lo));
        acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k + 4), hi));
    }
    float s = hsum_f32x4(acc);
    for (; k < K; k++) s += x[k] * half_to_f32(w[k], bf16);
    return s;
}

static void matmul_h16(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K,
                       int bf16) {
    int panel = (int)(32768 / ((size_t)(K > 0 ? K : 1) * 2));
    if (panel < 4) panel = 4;
    for (int n0 = 0; n0 < N; n0 += panel) {
        const int n1 = N - n0 < panel ? N : n0 + panel;
        int t = 0;
        for (; t + 4 <= T; t += 4) {
            const float *x0 = x + (size_t)t * K, *x1 = x0 + K, *x2 = x1 + K, *x3 = x2 + K;
            for (int n = n0; n < n1; n++) {
                const uint16_t *wr = w + (size_t)n * K;
                v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, a2 = a0, a3 = a0;
                int k = 0;
                for (; k + 8 <= K; k += 8) {
                    const v128_t h = wasm_v128_load(wr + k);
                    const v128_t lo = half4_to_f32x4(wasm_u32x4_extend_low_u16x8(h), bf16);
                    const v128_t hi = half4_to_f32x4(wasm_u32x4_extend_high_u16x8(h), bf16);
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x0 + k), lo));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x1 + k), lo));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x2 + k), lo));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x3 + k), lo));
                    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(wasm_v128_load(x0 + k + 4), hi));
                    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(wasm_v128_load(x1 + k + 4), hi));
                    a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(wasm_v128_load(x2 + k + 4), hi));
                    a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(wasm_v128_load(x3 + k + 4), hi));
                }
                float s0 = hsum_f32x4(a0), s1 = hsum_f32x4(a1), s2 = hsum_f32x4(a2), s3 = hsum_f32x4(a3);
                for (; k < K; k++) {
                    const float wk = half_to_f32(wr[k], bf16);
                    s0 += x0[k] * wk;
                    s1 += x1[k] * wk;
                    s2 += x2[k] * wk;
                    s3 += x3[k] * wk;
                }
                const float bn = b ? b[n] : 0.0f;
                y[(size_t)t * ldy + n] = s0 + bn;
                y[(size_t)(t + 1) * ldy + n] = s1 + bn;
                y[(size_t)(t + 2) * ldy + n] = s2 + bn;
                y[(size_t)(t + 3) * ldy + n] = s3 + bn;
            }
        }
        for (; t < T; t++) {
            const float *xr = x + (size_t)t * K;
            for (int n = n0; n < n1; n++)
                y[(size_t)t * ldy + n] = dot_h16_1(xr, w + (size_t)n * K, K, bf16) + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_f16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    matmul_h16(y, ldy, x, w, b, T, N, K, 0);
}

void kern_matmul_bf16_simd128(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    matmul_h16(y, ldy, x, w, b, T, N, K, 1);
}

/* ---- elementwise and row kernels ---- */

void kern_layer_norm_simd128(float *x, int T, int n, const float *g, const float *b, float eps) {
    for (int t = 0; t < T; t++) {
        float *r = x + (size_t)t * n;
        v128_t acc = wasm_f32x4_splat(0.0f);
        int i = 0;
        for (; i + 4 <= n; i += 4) acc = wasm_f32x4_add(acc, wasm_v128_load(r + i));
        float sum = hsum_f32x4(acc);
        for (; i < n; i++) sum += r[i];
        const float mean = sum / (float)n;
        const v128_t vmean = wasm_f32x4_splat(mean);
        acc = wasm_f32x4_splat(0.0f);
        for (i = 0; i + 4 <= n; i += 4) {
            const v128_t c = wasm_f32x4_sub(wasm_v128_load(r + i), vmean);
            acc = wasm_f32x4_add(acc, wasm_f32x4_mul(c, c));
        }
        float var = hsum_f32x4(acc);
        for (; i < n; i++) var += (r[i] - mean) * (r[i] - mean);
        const float rstd = 1.0f / sqrtf(var / (float)n + eps);
        const v128_t vr = wasm_f32x4_splat(rstd);
        for (i = 0; i + 4 <= n; i += 4) {
            v128_t v = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(r + i), vmean), vr);
            v = wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(g + i)), wasm_v128_load(b + i));
            wasm_v128_store(r + i, v);
        }
        for (; i < n; i++) r[i] = (r[i] - mean) * rstd * g[i] + b[i];
    }
}

/* erf on [-4, 4] as x·P(x²)/Q(x²) (the rational form Eigen and XLA use); |x| > 4 gives ±1, which is what
 * erff rounds to there. Max difference from erff 3.6e-7 (kernel test). */
static inline v128_t erf_f32x4(v128_t x) {
    x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-4.0f)), wasm_f32x4_splat(4.0f)); /* see exp_f32x4 */
    const v128_t x2 = wasm_f32x4_mul(x, x);
#define MA(acc, c) wasm_f32x4_add(wasm_f32x4_mul(acc, x2), wasm_f32x4_splat(c))
    v128_t p = wasm_f32x4_splat(-2.72614225801306e-10f);
    p = MA(p, 2.77068142495902e-08f);
    p = MA(p, -2.10102402082508e-06f);
    p = MA(p, -5.69250639462346e-05f);
    p = MA(p, -7.34990630326855e-04f);
    p = MA(p, -2.95459980854025e-03f);
    p = MA(p, -1.60960333262415e-02f);
    p = wasm_f32x4_mul(p, x);
    v128_t q = wasm_f32x4_splat(-1.45660718464996e-05f);
    q = MA(q, -2.13374055278905e-04f);
    q = MA(q, -1.68282697438203e-03f);
    q = MA(q, -7.37332916720468e-03f);
    q = MA(q, -1.42647390514189e-02f);
#undef MA
    return wasm_f32x4_div(p, q);
}

/* exp for x <= 88 (softmax inputs are <= 0): 2^n · P(r), r = x - n ln2 in two parts (Cephes); x < -87.3
 * gives 0 instead of a subnormal. Within 2 ulp of expf (kernel test).
 * Written for V8's x64 lowering: pmin/pmax clamp (one instruction each; min/max are ~8 for their NaN rules), and
 * n = round(x log2 e) by adding 1.5 * 2^23, whose bits then hold n (f32x4.nearest + i32x4.trunc_sat_f32x4 cost ~8):
 * the same n, ties to even, for |x log2 e| < 2^22. Same results as the plain form on every float but NaN (a stride
 * through all 2^32 bit patterns, compared bit for bit). */
static inline v128_t exp_f32x4(v128_t x) {
    const v128_t under = wasm_f32x4_lt(x, wasm_f32x4_splat(-87.33654f));
    x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.33654f)), wasm_f32x4_splat(88.0f));
    const v128_t tn = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)),
                                     wasm_f32x4_splat(KERN_ROUND_MAGIC));
    const v128_t fx = wasm_f32x4_sub(tn, wasm_f32x4_splat(KERN_ROUND_MAGIC));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(0.693359375f)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(fx, wasm_f32x4_splat(-2.12194440e-4f)));
#define MA(acc, c) wasm_f32x4_add(wasm_f32x4_mul(acc, r), wasm_f32x4_splat(c))
    v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
    p = MA(p, 1.3981999507e-3f);
    p = MA(p, 8.3334519073e-3f);
    p = MA(p, 4.1665795894e-2f);
    p = MA(p, 1.6666665459e-1f);
    p = MA(p, 5.0000001201e-1f);
#undef MA
    p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), wasm_f32x4_splat(1.0f));
    const v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(tn, wasm_i32x4_splat(127 - KERN_ROUND_MAGIC_BITS)), 23);
    return wasm_v128_andnot(wasm_f32x4_mul(p, pow2n), under);
}

void kern_erf4_simd128(const float *x, float *out) { wasm_v128_store(out, erf_f32x4(wasm_v128_load(x))); }
void kern_exp4_simd128(const float *x, float *out) { wasm_v128_store(out, exp_f32x4(wasm_v128_load(x))); }

static inline v128_t gelu_f32x4(v128_t x) {
    const v128_t e = erf_f32x4(wasm_f32x4_mul(x, wasm_f32x4_splat(0.70710678118654752f)));
    return wasm_f32x4_mul(wasm_f32x4_mul(x, wasm_f32x4_splat(0.5f)), wasm_f32x4_add(wasm_f32x4_splat(1.0f), e));
}

void kern_gelu_simd128(float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, gelu_f32x4(wasm_v128_load(x + i)));
    if (i < n) { /* the tail through the same vector code, so every element gets the same function */
        float tmp[4] = {0, 0, 0, 0};
        memcpy(tmp, x + i, (n - i) * sizeof(float));
        wasm_v128_store(tmp, gelu_f32x4(wasm_v128_load(tmp)));
        memcpy(x + i, tmp, (n - i) * sizeof(float));
    }
}

void kern_softmax_simd128(float *x, int n) {
    if (n <= 0) return;
    v128_t vm = wasm_f32x4_splat(x[0]);
    int i = 0;
    for (; i + 4 <= n; i += 4) vm = wasm_f32x4_pmax(vm, wasm_v128_load(x + i)); /* pmax: see exp_f32x4 */
    vm = wasm_f32x4_pmax(vm, wasm_i32x4_shuffle(vm, vm, 2, 3, 0, 1));
    vm = wasm_f32x4_pmax(vm, wasm_i32x4_shuffle(vm, vm, 1, 0, 3, 2));
    float mx = wasm_f32x4_extract_lane(vm, 0);
    for (; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    vm = wasm_f32x4_splat(mx);
    v128_t acc = wasm_f32x4_splat(0.0f);
    for (i = 0; i + 4 <= n; i += 4) {
        const v128_t e = exp_f32x4(wasm_f32x4_sub(wasm_v128_load(x + i), vm));
        wasm_v128_store(x + i, e);
        acc = wasm_f32x4_add(acc, e);
    }
    float sum = hsum_f32x4(acc);
    if (i < n) {
        float tmp[4] = {mx, mx, mx, mx};
        memcpy(tmp, x + i, (size_t)(n - i) * sizeof(float));
        wasm_v128_store(tmp, exp_f32x4(wasm_f32x4_sub(wasm_v128_load(tmp), vm)));
        for (int j = 0; i + j < n; j++) {
            x[i + j] = tmp[j];
            sum += tmp[j];
        }
    }
    const v128_t inv = wasm_f32x4_splat(1.0f / sum);
    for (i = 0; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), inv));
    for (; i < n; i++) x[i] *= 1.0f / sum;
}

void kern_add_simd128(float *y, const float *x, size_t n) {
    size_t i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_v128_load(x + i)));
    for (; i < n; i++) y[i] += x[i];
}

float kern_dot_simd128(const float *a, const float *b, int n) { return dot_f32_1(a, b, n); }

void kern_axpy_simd128(float *y, float a, const float *x, int n) {
    const v128_t va = wasm_f32x4_splat(a);
    int i = 0;
    for (; i + 4 <= n; i += 4)
        wasm_v128_store(y + i, wasm_f32x4_add(wasm_v128_load(y + i), wasm_f32x4_mul(va, wasm_v128_load(x + i))));
    for (; i < n; i++) y[i] += a * x[i];
}

#endif
