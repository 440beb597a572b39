/* kernels_relaxed.c — u7 activation quantization and the Q8_0 GEMMs on relaxed SIMD's int8 × u7 pair dot product
 * (see kernels_relaxed.h for the arithmetic); the scalar references of the same arithmetic.
 *
 * Two SIMD kernels. On the 4-row layout in runs of 4 columns (XLMR_LAYOUT_Q8_0X4_R4, the encoder's matrices):
 * see its section below. On row-major weights (row counts not a multiple of 4): 2 weight rows × 8 tokens per
 * micro-tile. Per 32-block and row, the 32 weight bytes are two plain loads (no widening) and each token's 32 u7
 * bytes two more; two relaxed pair dots (16 multiply-adds each, see u7_pair_dot) replace four widenings. Each
 * group of 4 tokens is transpose-added so a token's sum sits in its own lane, converted, scaled, and the block's
 * offset term (dw·S)·m added. Weight scales and dw·S are computed once per panel of rows. */
#include "kernels_relaxed.h"

#include <math.h>

#include "quant.h"

static inline uint8_t u7_one(float v) {
    float r = nearbyintf(v);
    if (!(r == r)) r = 0.0f;
    if (r > 127.0f) r = 127.0f;
    if (r < 0.0f) r = 0.0f;
    return (uint8_t)r;
}

void kern_quantize_act_u7_scalar(const float *x, kern_qact *q) {
    const int T = q->T, K = q->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    for (int t = 0; t < tp; t++) {
        uint8_t *u = kern_qact_u7_row(q, t);
        float *d = q->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        float *mn = kern_qact_u7_min(q, t) + t % KERN_QTILE;
        if (t >= T) {
            memset(u, 0, (size_t)K);
            for (int j = 0; j < nb; j++) d[j * KERN_QTILE] = mn[j * KERN_QTILE] = 0.0f;
            continue;
        }
        const float *xr = x + (size_t)t * K;
        for (int j = 0; j < nb; j++) {
            const float *xb = xr + j * QK8_0;
            float lo = xb[0], hi = xb[0];
            for (int i = 1; i < QK8_0; i++) {
                lo = lo < xb[i] ? lo : xb[i];
                hi = hi > xb[i] ? hi : xb[i];
            }
            const float dj = (hi - lo) / 127.0f;
            const float id = dj != 0.0f ? 1.0f / dj : 0.0f;
            d[j * KERN_QTILE] = dj;
            mn[j * KERN_QTILE] = lo;
            for (int i = 0; i < QK8_0; i++) u[j * QK8_0 + i] = u7_one((xb[i] - lo) * id);
        }
    }
}

/* acc + one block's share of an output: the u7 arithmetic's float operations in order (kernels_relaxed.h).
 * qs: the row's 32 weights of the block in column order; u, xd, xm: the token's u7 block, scale and minimum. */
static inline float u7_block(float acc, const int8_t *qs, uint16_t d, const uint8_t *u, float xd, float xm) {
    int32_t isum = 0, wsum = 0;
    for (int i = 0; i < QK8_0; i++) {
        isum += (int32_t)qs[i] * u[i];
        wsum += qs[i];
    }
    const float dw = xlmr_fp16_to_f32(d);
    return acc + ((float)isum * (dw * xd) + (dw * (float)wsum) * xm);
}

/* layout R: 0 row-major (block_q8_0), else the 4-row layout with runs of R columns (block_q8_0x4) */
static void u7_scalar(float *y, int ldy, const kern_qact *x, const void *w, int R, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const uint8_t *u = kern_qact_u7_row(x, t);
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        const float *xm = kern_qact_u7_min(x, t) + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                const float dx = xd[j * KERN_QTILE], mx = xm[j * KERN_QTILE];
                if (!R) {
                    const block_q8_0 *blk = (const block_q8_0 *)w + (size_t)n * nb + j;
                    acc = u7_block(acc, blk->qs, blk->d, u + j * QK8_0, dx, mx);
                } else {
                    const block_q8_0x4 *g = (const block_q8_0x4 *)w + (size_t)(n / 4) * nb + j;
                    int8_t qs[QK8_0];
                    for (int i = 0; i < QK8_0; i++) qs[i] = g->qs[4 * R * (i / R) + R * (n % 4) + i % R];
                    acc = u7_block(acc, qs, g->d[n % 4], u + j * QK8_0, dx, mx);
                }
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_q8_0_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    u7_scalar(y, ldy, x, w, 0, b, N);
}

/* The u7 arithmetic on the XLMR_LAYOUT_Q8_0X4_R4 layout: kern_matmul_q8_0_u7_scalar's operations per output. */
void kern_matmul_q8_0x4r4_u7_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    u7_scalar(y, ldy, x, w, 4, b, N);
}

#if defined(__wasm_relaxed_simd__)

#include <wasm_simd128.h>

#include "kernels_simd128.h"

void kern_quantize_act_relaxed(const float *x, kern_qact *q) { kern_quantize_act_relaxed_rows(x, q, q->T); }

void kern_quantize_act_relaxed_rows(const float *x, kern_qact *q, int T_all) {
    if (kern_int8_kernel() != KERN_INT8_PAIR_U7) {
        kern_quantize_act_exact(x, q, T_all);
        return;
    }
    if (T_all < KERN_U7_MIN_T) {
        kern_quantize_act_simd128(x, q);
        return;
    }
    const int T = q->T, K = q->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    for (int t = 0; t < tp; t++) {
        uint8_t *u = kern_qact_u7_row(q, t);
        float *d = q->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        float *mn = kern_qact_u7_min(q, t) + t % KERN_QTILE;
        if (t >= T) {
            memset(u, 0, (size_t)K);
            for (int j = 0; j < nb; j++) d[j * KERN_QTILE] = mn[j * KERN_QTILE] = 0.0f;
            continue;
        }
        const float *xr = x + (size_t)t * K;
        for (int j = 0; j < nb; j++) {
            const float *xb = xr + j * QK8_0;
            v128_t v[8];
            for (int i = 0; i < 8; i++) v[i] = wasm_v128_load(xb + 4 * i);
            /* min and max as the scalar loop finds them (pmin/pmax: no NaN propagation games for finite input) */
            v128_t lo = wasm_f32x4_pmin(wasm_f32x4_pmin(wasm_f32x4_pmin(v[0], v[1]), wasm_f32x4_pmin(v[2], v[3])),
                                        wasm_f32x4_pmin(wasm_f32x4_pmin(v[4], v[5]), wasm_f32x4_pmin(v[6], v[7])));
            v128_t hi = wasm_f32x4_pmax(wasm_f32x4_pmax(wasm_f32x4_pmax(v[0], v[1]), wasm_f32x4_pmax(v[2], v[3])),
                                        wasm_f32x4_pmax(wasm_f32x4_pmax(v[4], v[5]), wasm_f32x4_pmax(v[6], v[7])));
            lo = wasm_f32x4_pmin(lo, wasm_i32x4_shuffle(lo, lo, 2, 3, 0, 1));
            lo = wasm_f32x4_pmin(lo, wasm_i32x4_shuffle(lo, lo, 1, 0, 3, 2));
            hi = wasm_f32x4_pmax(hi, wasm_i32x4_shuffle(hi, hi, 2, 3, 0, 1));
            hi = wasm_f32x4_pmax(hi, wasm_i32x4_shuffle(hi, hi, 1, 0, 3, 2));
            const float l = wasm_f32x4_extract_lane(lo, 0);
            const float dj = (wasm_f32x4_extract_lane(hi, 0) - l) / 127.0f;
            const float id = dj != 0.0f ? 1.0f / dj : 0.0f;
            d[j * KERN_QTILE] = dj;
            mn[j * KERN_QTILE] = l;
            const v128_t vid = wasm_f32x4_splat(id), vl = wasm_f32x4_splat(l);
            v128_t r[8];
            for (int i = 0; i < 8; i++)
                r[i] = simd_round_i32x4(wasm_f32x4_mul(wasm_f32x4_sub(v[i], vl), vid));
            for (int h = 0; h < 2; h++) {
                const v128_t s0 = wasm_i16x8_narrow_i32x4(r[4 * h], r[4 * h + 1]);
                const v128_t s1 = wasm_i16x8_narrow_i32x4(r[4 * h + 2], r[4 * h + 3]);
                /* values are in [0, 127] (NaN -> 0): the unsigned narrow saturates into [0, 255]; clamp to 127 */
                const v128_t bytes = wasm_u8x16_min(wasm_u8x16_narrow_i16x8(s0, s1), wasm_u8x16_splat(127));
                wasm_v128_store(u + j * QK8_0 + 16 * h, bytes);
            }
        }
    }
}

/* i16x8.relaxed_dot_i8x16_i7x16_s: pair sums w·u of int8 × u7, |sum| <= 2·128·127 < 2^15, so x86's saturating
 * pmaddubsw (one instruction) and every other lowering agree. Widened and summed by i32x4.dot_i16x8 against
 * ones: 3 instructions per 16 multiply-adds, where V8 lowers the fused i32x4.relaxed_dot_i8x16_i7x16_add_s to 5
 * (its x86 sequence rebuilds the ones each time). Node 20's baseline compiler (Liftoff) also computes this
 * form right, and the fused one wrong (make test-wasm-relaxed runs both tiers). */
static inline v128_t u7_pair_dot(v128_t w, v128_t u) {
    return (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((__i8x16)w, (__i8x16)u);
}

static inline float fp16_to_f32_exact(uint16_t h) { return xlmr_fp16_to_f32(h); }

/* One row's 32-block (two byte vectors) against 4 tokens (x: token 0's block, rows xs bytes apart):
 * lane t = Σ w·u_t. */
static inline v128_t u7_dot_4tokens(v128_t wlo, v128_t whi, const uint8_t *x, size_t xs) {
    const v128_t ones = wasm_i16x8_splat(1);
#define U7_DOT(xp)                                                                                             \
    wasm_i32x4_add(wasm_i32x4_dot_i16x8(u7_pair_dot(wlo, wasm_v128_load(xp)), ones),                            \
                   wasm_i32x4_dot_i16x8(u7_pair_dot(whi, wasm_v128_load((xp) + 16)), ones))
    const v128_t p0 = U7_DOT(x), p1 = U7_DOT(x + xs), p2 = U7_DOT(x + 2 * xs), p3 = U7_DOT(x + 3 * xs);
#undef U7_DOT
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(p0, p1, 0, 4, 1, 5), wasm_i32x4_shuffle(p0, p1, 2, 6, 3, 7));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(p2, p3, 0, 4, 1, 5), wasm_i32x4_shuffle(p2, p3, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7));
}

/* acc + isum·(dw·dx) + (dw·S)·m, the scalar reference's operations lane by lane */
static inline v128_t u7_accumulate(v128_t acc, v128_t isum, v128_t dw, v128_t dx, v128_t dws, v128_t m) {
    return wasm_f32x4_add(acc, wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_mul(dw, dx)),
                                              wasm_f32x4_mul(dws, m)));
}

/* rows' accumulators (tokens in lanes) + bias -> the nt (<= 4) valid tokens' outputs */
static inline void u7_store(float *y, int ldy, int n, v128_t r, const float *b, int nt) {
    const v128_t v = wasm_f32x4_add(r, wasm_f32x4_splat(b ? b[n] : 0.0f));
    if (nt > 0) y[n] = wasm_f32x4_extract_lane(v, 0);
    if (nt > 1) y[(size_t)ldy + n] = wasm_f32x4_extract_lane(v, 1);
    if (nt > 2) y[2 * (size_t)ldy + n] = wasm_f32x4_extract_lane(v, 2);
    if (nt > 3) y[3 * (size_t)ldy + n] = wasm_f32x4_extract_lane(v, 3);
}

#define U7_PANEL 4096 /* rows × blocks per panel: float scales and dw·S, 32 KiB of stack */

void kern_matmul_q8_0_relaxed(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    if (x->T < KERN_U7_MIN_T) {
        kern_matmul_q8_0_simd128(y, ldy, x, w, b, N);
        return;
    }
    if (kern_int8_kernel() != KERN_INT8_PAIR_U7) {
        kern_matmul_q8_0_exact(y, ldy, x, w, b, N);
        return;
    }
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const int tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    if (nb > U7_PANEL / 2) {
        kern_matmul_q8_0_u7_scalar(y, ldy, x, w, b, N);
        return;
    }
    float dwf[U7_PANEL], dws[U7_PANEL];
    const int panel = (U7_PANEL / nb) & ~1;
    const size_t xs = (size_t)2 * K; /* bytes between two tokens' u7 rows */
    const uint8_t *u0 = kern_qact_u7_row(x, 0);
    for (int n0 = 0; n0 < N; n0 += panel) {
        const int n1 = N - n0 < panel ? N : n0 + panel;
        for (int n = n0; n < n1; n++) {
            for (int j = 0; j < nb; j++) {
                const block_q8_0 *blk = w + (size_t)n * nb + j;
                const v128_t lo = wasm_v128_load(blk->qs), hi = wasm_v128_load(blk->qs + 16);
                v128_t s = wasm_i16x8_add(wasm_i16x8_extadd_pairwise_i8x16(lo), wasm_i16x8_extadd_pairwise_i8x16(hi));
                s = wasm_i32x4_extadd_pairwise_i16x8(s);
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
                const float dw = fp16_to_f32_exact(blk->d);
                dwf[(size_t)(n - n0) * nb + j] = dw;
                dws[(size_t)(n - n0) * nb + j] = dw * (float)wasm_i32x4_extract_lane(s, 0);
            }
        }
        int t0 = 0;
        for (; t0 < tp; t0 += 8) {
            const int two = tp - t0 >= 8; /* a second group of 4 tokens in this tile */
            const uint8_t *xa = u0 + (size_t)t0 * xs, *xb = xa + 4 * xs;
            const float *da = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, *db = da + (size_t)nb * KERN_QTILE;
            const float *ma = kern_qact_u7_min(x, t0), *mb = two ? kern_qact_u7_min(x, t0 + 4) : ma;
            const int nt = T - t0;
            float *yt = y + (size_t)t0 * ldy;
            for (int n = n0; n < n1; n += 2) {
                const int pair = n + 1 < n1;
                const block_q8_0 *w0 = w + (size_t)n * nb, *w1 = pair ? w0 + nb : w0;
                const float *s0 = dwf + (size_t)(n - n0) * nb, *s1 = pair ? s0 + nb : s0;
                const float *c0 = dws + (size_t)(n - n0) * nb, *c1 = pair ? c0 + nb : c0;
                v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0, b0 = a0, b1 = a0;
                for (int j = 0; j < nb; j++) {
                    const size_t o = (size_t)j * QK8_0;
                    const v128_t wl0 = wasm_v128_load(w0[j].qs), wh0 = wasm_v128_load(w0[j].qs + 16);
                    const v128_t wl1 = wasm_v128_load(w1[j].qs), wh1 = wasm_v128_load(w1[j].qs + 16);
                    const v128_t ca = wasm_f32x4_splat(c0[j]), cb = wasm_f32x4_splat(c1[j]);
                    const v128_t du = wasm_f32x4_splat(s0[j]), dv = wasm_f32x4_splat(s1[j]);
                    const v128_t dxa = wasm_v128_load(da + (size_t)j * KERN_QTILE), mxa = wasm_v128_load(ma + (size_t)j * KERN_QTILE);
                    a0 = u7_accumulate(a0, u7_dot_4tokens(wl0, wh0, xa + o, xs), du, dxa, ca, mxa);
                    a1 = u7_accumulate(a1, u7_dot_4tokens(wl1, wh1, xa + o, xs), dv, dxa, cb, mxa);
                    if (two) {
                        const v128_t dxb = wasm_v128_load(db + (size_t)j * KERN_QTILE), mxb = wasm_v128_load(mb + (size_t)j * KERN_QTILE);
                        b0 = u7_accumulate(b0, u7_dot_4tokens(wl0, wh0, xb + o, xs), du, dxb, ca, mxb);
                        b1 = u7_accumulate(b1, u7_dot_4tokens(wl1, wh1, xb + o, xs), dv, dxb, cb, mxb);
                    }
                }
                u7_store(yt, ldy, n, a0, b, nt);
                if (pair) u7_store(yt, ldy, n + 1, a1, b, nt);
                if (two) {
                    u7_store(yt + 4 * (size_t)ldy, ldy, n, b0, b, nt - 4);
                    if (pair) u7_store(yt + 4 * (size_t)ldy, ldy, n + 1, b1, b, nt - 4);
                }
            }
        }
    }
}


/* ---- Q8_0 GEMM on 4-row interleaved weights in runs of 4 columns (XLMR_LAYOUT_Q8_0X4_R4, model.h) ----
 *
 * Per run of 4 columns, one v128.load gives 4 rows × 4 columns, v128.load32_splat a token's 4 u7 bytes, and
 * u7_pair_dot + i32x4.dot_i16x8 against ones add the 4 rows' 4-column sums to 4 lanes: 16 multiply-adds, no
 * widening of the weights, no shuffle. A tile of G groups (4G rows) × 4 tokens keeps 4G integer and 4G float accumulators. Each lane does
 * the u7 scalar reference's operations in its order. */

#define R4_PANEL 512 /* group-blocks per panel (~68 KiB of weights): their dw and dw·S, 16 KiB of stack */

/* dw and dw·S (S = Σ q of the row's block) of the n group-blocks w[0..n) */
static void r4_panel_scales(const block_q8_0x4 *w, int n, v128_t *dwf, v128_t *dws) {
    const v128_t ones8 = wasm_i8x16_splat(1), ones16 = wasm_i16x8_splat(1);
    for (int i = 0; i < n; i++) {
        v128_t s = wasm_i32x4_splat(0);
        for (int q = 0; q < QK8_0 / 4; q++)
            s = wasm_i32x4_add(s, wasm_i32x4_dot_i16x8(u7_pair_dot(wasm_v128_load(w[i].qs + 16 * q), ones8), ones16));
        dwf[i] = q8x4_scales(&w[i]);
        dws[i] = wasm_f32x4_mul(dwf[i], wasm_f32x4_convert_i32x4(s));
    }
}

/* y rows of the tile's nt (<= 4) tokens, columns n .. n + 4G − 1. u: the tile's first token's u7 row (rows us
 * bytes apart); dx, mx: the tile's scales and minima ([block][4]); w, dwf, dws: the first group's (groups nb
 * apart). The first run's products start each block's integer sums, as in q8x4_tile. */
static inline __attribute__((always_inline)) void r4_tile(float *y, int ldy, const uint8_t *u, size_t us,
                                                         const float *dx, const float *mx, const block_q8_0x4 *w,
                                                         const v128_t *dwf, const v128_t *dws, int nb, const float *b,
                                                         int n, const int G, int nt) {
    const v128_t ones = wasm_i16x8_splat(1);
    v128_t f[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < 4; t++) f[g][t] = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < nb; j++) {
        v128_t a[2][4];
        const int8_t *q0 = w[j].qs, *q1 = G > 1 ? w[(size_t)nb + j].qs : q0;
        const uint8_t *uj = u + (size_t)j * QK8_0;
        {
            const v128_t w0 = wasm_v128_load(q0);
            const v128_t w1 = G > 1 ? wasm_v128_load(q1) : w0;
            for (int t = 0; t < 4; t++) {
                const v128_t s = wasm_v128_load32_splat(uj + t * us);
                a[0][t] = wasm_i32x4_dot_i16x8(u7_pair_dot(w0, s), ones);
                if (G > 1) a[1][t] = wasm_i32x4_dot_i16x8(u7_pair_dot(w1, s), ones);
            }
        }
#pragma clang loop unroll(disable)
        for (int q = 1; q < QK8_0 / 4; q++) {
            const v128_t w0 = wasm_v128_load(q0 + 16 * q);
            const v128_t w1 = G > 1 ? wasm_v128_load(q1 + 16 * q) : w0;
            for (int t = 0; t < 4; t++) {
                const v128_t s = wasm_v128_load32_splat(uj + t * us + 4 * q);
                a[0][t] = wasm_i32x4_add(a[0][t], wasm_i32x4_dot_i16x8(u7_pair_dot(w0, s), ones));
                if (G > 1) a[1][t] = wasm_i32x4_add(a[1][t], wasm_i32x4_dot_i16x8(u7_pair_dot(w1, s), ones));
            }
        }
        for (int g = 0; g < G; g++) {
            const v128_t dw = dwf[(size_t)g * nb + j], c = dws[(size_t)g * nb + j];
            for (int t = 0; t < 4; t++)
                f[g][t] = u7_accumulate(f[g][t], a[g][t], dw, wasm_v128_load32_splat(dx + (size_t)j * KERN_QTILE + t), c,
                                        wasm_v128_load32_splat(mx + (size_t)j * KERN_QTILE + t));
        }
    }
    for (int g = 0; g < G; g++) {
        const v128_t bias = b ? wasm_v128_load(b + n + 4 * g) : wasm_f32x4_splat(0.0f);
        for (int t = 0; t < 4 && t < nt; t++) wasm_v128_store(y + (size_t)t * ldy + n + 4 * g, wasm_f32x4_add(f[g][t], bias));
    }
}

/* Fewer than KERN_U7_MIN_T tokens: int16 activations (the SIMD128 format). Per run, the 4 rows × 4 columns
 * widened in halves (rows 0–1, rows 2–3) and dotted with the token's 4 activations broadcast twice leave 2 pair
 * sums per row; one shuffle-add per block puts each row's sum in its lane. As kern_matmul_q8_0_scalar per output. */
static void r4_gemm_i16(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const int16_t *xt = x->qs + (size_t)t * K;
        const float *dxt = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n += 4) {
            const block_q8_0x4 *wg = w + (size_t)(n / 4) * nb;
            v128_t f = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                v128_t lo = wasm_i32x4_splat(0), hi = lo;
                for (int q = 0; q < QK8_0 / 4; q++) {
                    const v128_t v = wasm_v128_load(wg[j].qs + 16 * q), s = wasm_v128_load64_splat(xt + j * QK8_0 + 4 * q);
                    lo = wasm_i32x4_add(lo, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(v), s));
                    hi = wasm_i32x4_add(hi, wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(v), s));
                }
                const v128_t isum = wasm_i32x4_add(wasm_i32x4_shuffle(lo, hi, 0, 2, 4, 6), wasm_i32x4_shuffle(lo, hi, 1, 3, 5, 7));
                f = wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum),
                                                     wasm_f32x4_mul(q8x4_scales(&wg[j]), wasm_v128_load32_splat(dxt + (size_t)j * KERN_QTILE))));
            }
            wasm_v128_store(y + (size_t)t * ldy + n, wasm_f32x4_add(f, b ? wasm_v128_load(b + n) : wasm_f32x4_splat(0.0f)));
        }
    }
}

void kern_matmul_q8_0x4r4_relaxed(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    if (x->T < KERN_U7_MIN_T) {
        r4_gemm_i16(y, ldy, x, w, b, N);
        return;
    }
    if (kern_int8_kernel() != KERN_INT8_PAIR_U7) {
        kern_matmul_q8_0x4r4_exact(y, ldy, x, w, b, N);
        return;
    }
    const int T = x->T, K = x->K, nb = K / QK8_0;
    const size_t us = (size_t)2 * K; /* bytes between two tokens' u7 rows */
    if (nb > R4_PANEL) { /* K > 16384: not a shape XLM-R has */
        kern_matmul_q8_0x4r4_u7_scalar(y, ldy, x, w, b, N);
        return;
    }
    v128_t dwf[R4_PANEL], dws[R4_PANEL];
    int panel = R4_PANEL / nb & ~1; /* groups */
    if (panel < 1) panel = 1;
    for (int g0 = 0; g0 < N / 4; g0 += panel) {
        const int g1 = N / 4 - g0 < panel ? N / 4 : g0 + panel;
        r4_panel_scales(w + (size_t)g0 * nb, (g1 - g0) * nb, dwf, dws);
        for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
            const uint8_t *u = kern_qact_u7_row(x, t0);
            const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE, *mx = kern_qact_u7_min(x, t0);
            float *yt = y + (size_t)t0 * ldy;
            const int nt = T - t0;
            int g = g0;
            for (; g + 2 <= g1; g += 2)
                r4_tile(yt, ldy, u, us, dx, mx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, dws + (size_t)(g - g0) * nb, nb, b, 4 * g, 2, nt);
            if (g < g1)
                r4_tile(yt, ldy, u, us, dx, mx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, dws + (size_t)(g - g0) * nb, nb, b, 4 * g, 1, nt);
        }
    }
}

#endif
