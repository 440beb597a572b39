/* kernels_relaxed_exact.c — the relaxed build's exact 8-bit path: the engine probe of
 * i32x4.relaxed_dot_i8x16_i7x16_add_s, the choice of int8 kernel, and the Q8_0 GEMMs on that fused instruction with
 * the SIMD128 build's 8-bit activations (kernels_relaxed.h, "Exact 8-bit activations").
 *
 * Where the engine computes the fused dot as unsigned × signed without saturation (x86 AVX-VNNI vpdpbusd), the
 * activation bytes are q + 128 (u8) and each row's block starts its integer sum at −128·S (S = Σ w of the row's
 * block), so the sum is Σ w·q exactly; where it computes signed × signed (AVX-VNNI-INT8, Arm sdot) the bytes are q
 * and the sum starts at 0. Either way the integer sums are the SIMD128 kernel's, and every output does its float
 * operations (acc += (float)isum · (dw · dx) per block, then + b): outputs bit-identical to dist/xlmr.wasm. */
#include "kernels_relaxed.h"

#include "quant.h"

static int int8_kernel = KERN_INT8_PAIR_U7;

int kern_int8_kernel(void) { return int8_kernel; }

int kern_int8_kernel_set(int kernel) {
    if (kernel != KERN_INT8_PAIR_U7 && kernel != KERN_INT8_EXACT_U8 && kernel != KERN_INT8_EXACT_S8) return -1;
    if (!KERN_HAVE_RELAXED) return -1;
    int8_kernel = kernel;
    return kernel;
}

int kern_int8_offset(void) { return int8_kernel == KERN_INT8_EXACT_U8 ? 128 : 0; }

/* The exact arithmetic in scalar: bytes q + off read back as the engine reads them, the sum started at −off·S. */
void kern_matmul_q8_0x4r4_exact_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b,
                                       int N, int off) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const uint8_t *u = kern_qact_u7_row(x, t);
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q8_0x4 *g = w + (size_t)(n / 4) * nb;
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                int32_t isum = 0;
                for (int i = 0; i < QK8_0; i++) {
                    const int32_t q = g[j].qs[16 * (i / 4) + 4 * (n % 4) + i % 4];
                    const int32_t a = off ? (int32_t)u[j * QK8_0 + i] : (int32_t)(int8_t)u[j * QK8_0 + i];
                    isum += q * a - q * off;
                }
                acc += (float)isum * (xlmr_fp16_to_f32(g[j].d[n % 4]) * xd[j * KERN_QTILE]);
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

#if defined(__wasm_relaxed_simd__)

#include <wasm_simd128.h>

#include "kernels_simd128.h"

static inline v128_t dot_add(v128_t w, v128_t u, v128_t acc) {
    return (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((__i8x16)w, (__i8x16)u, (__i32x4)acc);
}

/* Lane 0 of the fused dot of 16 bytes a (signed) and b (the i7 operand), read through volatile memory so the
 * compiler cannot fold what only the engine may decide. */
static volatile int8_t probe_a[16], probe_b[16];
static int32_t probe_lane0(int8_t a, int8_t b) {
    for (int i = 0; i < 16; i++) probe_a[i] = a, probe_b[i] = b;
    int8_t ra[16], rb[16];
    for (int i = 0; i < 16; i++) ra[i] = probe_a[i], rb[i] = probe_b[i];
    return wasm_i32x4_extract_lane(dot_add(wasm_v128_load(ra), wasm_v128_load(rb), wasm_i32x4_splat(0)), 0);
}

/* Four products −128·b per lane: b = 0xFF gives unsigned −130560, signed 512, pmaddubsw's saturated pairs −65536,
 * i16-wrapped pairs 512; b = 0x80 gives −65536, 65536, −65536, −65536. A non-saturating case checks the lanes
 * are sums of 4 products at all. */
int kern_dot_probe(void) {
    int8_t a[16], b[16];
    for (int i = 0; i < 16; i++) probe_a[i] = (int8_t)(i * 7 - 50), probe_b[i] = (int8_t)(i * 5 + 3);
    for (int i = 0; i < 16; i++) a[i] = probe_a[i], b[i] = probe_b[i];
    const v128_t r = dot_add(wasm_v128_load(a), wasm_v128_load(b), wasm_i32x4_splat(1000));
    for (int l = 0; l < 4; l++) {
        int32_t want = 1000;
        for (int i = 4 * l; i < 4 * l + 4; i++) want += (int32_t)(i * 7 - 50) * (i * 5 + 3);
        const int32_t got = l == 0 ? wasm_i32x4_extract_lane(r, 0) : l == 1 ? wasm_i32x4_extract_lane(r, 1)
                          : l == 2 ? wasm_i32x4_extract_lane(r, 2) : wasm_i32x4_extract_lane(r, 3);
        if (got != want) return KERN_DOT_OTHER;
    }
    const int32_t ff = probe_lane0(-128, -1), h80 = probe_lane0(-128, -128);
    if (ff == -130560 && h80 == -65536) return KERN_DOT_UNSIGNED;
    if (ff == 512 && h80 == 65536) return KERN_DOT_SIGNED;
    if (ff == -65536 && h80 == -65536) return KERN_DOT_SATURATING;
    if (ff == 512 && h80 == -65536) return KERN_DOT_WRAPPING;
    return KERN_DOT_OTHER;
}

/* The SIMD128 quantization (int16 rows), then each row narrowed in place to its K bytes q + off: byte i is
 * written at i after the int16 at 2i is read, so no value is overwritten before it is read. */
void kern_quantize_act_exact(const float *x, kern_qact *q) {
    kern_quantize_act_simd128(x, q);
    if (q->T < KERN_U7_MIN_T) return;
    const int K = q->K, tp = (q->T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    const v128_t flip = wasm_i8x16_splat(kern_int8_offset() ? (int8_t)0x80 : 0);
    for (int t = 0; t < tp; t++) {
        const int16_t *s = q->qs + (size_t)t * K;
        uint8_t *u = kern_qact_u7_row(q, t);
        for (int i = 0; i < K; i += 16) {
            const v128_t lo = wasm_v128_load(s + i), hi = wasm_v128_load(s + i + 8);
            wasm_v128_store(u + i, wasm_v128_xor(wasm_i8x16_narrow_i16x8(lo, hi), flip));
        }
    }
}

/* ---- on XLMR_LAYOUT_Q8_0X4_R4: per run of 4 columns, one weight load (4 rows × 4 columns), a token's 4 bytes
 * broadcast, one fused dot: 16 multiply-adds per instruction. A tile of G groups × 4 tokens. ---- */

#define EX_PANEL 512 /* group-blocks per panel (~68 KiB of weights): dw and −off·S, 16 KiB of stack */

static void ex_panel(const block_q8_0x4 *w, int n, int off, v128_t *dwf, v128_t *start) {
    const v128_t ones = wasm_i8x16_splat(1);
    for (int i = 0; i < n; i++) {
        v128_t s = wasm_i32x4_splat(0);
        for (int q = 0; q < QK8_0 / 4; q++) s = dot_add(wasm_v128_load(w[i].qs + 16 * q), ones, s);
        dwf[i] = q8x4_scales(&w[i]);
        start[i] = wasm_i32x4_mul(s, wasm_i32x4_splat(-off));
    }
}

static inline __attribute__((always_inline)) void ex_tile(float *y, int ldy, const uint8_t *u, size_t us,
                                                         const float *dx, const block_q8_0x4 *w, const v128_t *dwf,
                                                         const v128_t *start, int nb, const float *b, int n,
                                                         const int G, int nt) {
    v128_t f[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < 4; t++) f[g][t] = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < nb; j++) {
        v128_t a[2][4];
        const int8_t *q0 = w[j].qs, *q1 = G > 1 ? w[(size_t)nb + j].qs : q0;
        const uint8_t *uj = u + (size_t)j * QK8_0;
        for (int g = 0; g < G; g++)
            for (int t = 0; t < 4; t++) a[g][t] = start[(size_t)g * nb + j];
#pragma clang loop unroll(disable)
        for (int q = 0; q < QK8_0 / 4; q++) {
            const v128_t w0 = wasm_v128_load(q0 + 16 * q);
            const v128_t w1 = G > 1 ? wasm_v128_load(q1 + 16 * q) : w0;
            for (int t = 0; t < 4; t++) {
                const v128_t s = wasm_v128_load32_splat(uj + t * us + 4 * q);
                a[0][t] = dot_add(w0, s, a[0][t]);
                if (G > 1) a[1][t] = dot_add(w1, s, a[1][t]);
            }
        }
        for (int g = 0; g < G; g++) {
            const v128_t dw = dwf[(size_t)g * nb + j];
            for (int t = 0; t < 4; t++)
                f[g][t] = q8_accumulate(f[g][t], a[g][t], dw, wasm_v128_load32_splat(dx + (size_t)j * KERN_QTILE + t));
        }
    }
    for (int g = 0; g < G; g++) {
        const v128_t bias = b ? wasm_v128_load(b + n + 4 * g) : wasm_f32x4_splat(0.0f);
        for (int t = 0; t < 4 && t < nt; t++) wasm_v128_store(y + (size_t)t * ldy + n + 4 * g, wasm_f32x4_add(f[g][t], bias));
    }
}

void kern_matmul_q8_0x4r4_exact(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0, off = kern_int8_offset();
    const size_t us = (size_t)2 * K; /* bytes between two tokens' rows */
    if (nb > EX_PANEL) { /* K > 16384: not a shape XLM-R has */
        kern_matmul_q8_0x4r4_exact_scalar(y, ldy, x, w, b, N, off);
        return;
    }
    v128_t dwf[EX_PANEL], start[EX_PANEL];
    int panel = EX_PANEL / nb & ~1; /* groups */
    if (panel < 1) panel = 1;
    for (int g0 = 0; g0 < N / 4; g0 += panel) {
        const int g1 = N / 4 - g0 < panel ? N / 4 : g0 + panel;
        ex_panel(w + (size_t)g0 * nb, (g1 - g0) * nb, off, dwf, start);
        for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
            const uint8_t *u = kern_qact_u7_row(x, t0);
            const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
            float *yt = y + (size_t)t0 * ldy;
            const int nt = T - t0;
            int g = g0;
            for (; g + 2 <= g1; g += 2)
                ex_tile(yt, ldy, u, us, dx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, start + (size_t)(g - g0) * nb, nb, b, 4 * g, 2, nt);
            if (g < g1)
                ex_tile(yt, ldy, u, us, dx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, start + (size_t)(g - g0) * nb, nb, b, 4 * g, 1, nt);
        }
    }
}

/* ---- row-major weights (row counts not a multiple of 4): one row × 4 tokens; per block two fused dots per
 * token, transpose-added so each token's sum sits in its lane. ---- */

static inline v128_t ex_row_block(v128_t wlo, v128_t whi, v128_t start, const uint8_t *u, size_t us) {
    v128_t p[4];
    for (int t = 0; t < 4; t++)
        p[t] = dot_add(whi, wasm_v128_load(u + t * us + 16), dot_add(wlo, wasm_v128_load(u + t * us), wasm_i32x4_splat(0)));
    const v128_t a = wasm_i32x4_add(wasm_i32x4_shuffle(p[0], p[1], 0, 4, 1, 5), wasm_i32x4_shuffle(p[0], p[1], 2, 6, 3, 7));
    const v128_t c = wasm_i32x4_add(wasm_i32x4_shuffle(p[2], p[3], 0, 4, 1, 5), wasm_i32x4_shuffle(p[2], p[3], 2, 6, 3, 7));
    return wasm_i32x4_add(start, wasm_i32x4_add(wasm_i32x4_shuffle(a, c, 0, 1, 4, 5), wasm_i32x4_shuffle(a, c, 2, 3, 6, 7)));
}

void kern_matmul_q8_0_exact(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0, off = kern_int8_offset();
    const size_t us = (size_t)2 * K;
    const v128_t ones = wasm_i8x16_splat(1);
    for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
        const uint8_t *u = kern_qact_u7_row(x, t0);
        const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
        const int nt = T - t0;
        for (int n = 0; n < N; n++) {
            const block_q8_0 *wr = w + (size_t)n * nb;
            v128_t f = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                const v128_t lo = wasm_v128_load(wr[j].qs), hi = wasm_v128_load(wr[j].qs + 16);
                v128_t s = dot_add(hi, ones, dot_add(lo, ones, wasm_i32x4_splat(0)));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2));
                const v128_t isum = ex_row_block(lo, hi, wasm_i32x4_mul(s, wasm_i32x4_splat(-off)), u + (size_t)j * QK8_0, us);
                f = q8_accumulate(f, isum, wasm_f32x4_splat(xlmr_fp16_to_f32(wr[j].d)), wasm_v128_load(dx + (size_t)j * KERN_QTILE));
            }
            const v128_t v = wasm_f32x4_add(f, wasm_f32x4_splat(b ? b[n] : 0.0f));
            float out[4];
            wasm_v128_store(out, v);
            for (int t = 0; t < 4 && t < nt; t++) y[(size_t)(t0 + t) * ldy + n] = out[t];
        }
    }
}

#endif
