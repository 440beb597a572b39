/* kernels_relaxed_exact.c — the relaxed build's exact 8-bit path: the engine probe of
 * i32x4.relaxed_dot_i8x16_i7x16_add_s, the choice of int8 kernel, and the Q8_0 GEMMs on that fused instruction with
 * the SIMD128 build's 8-bit activations (kernels_relaxed.h, "Exact 8-bit activations").
 *
 * Where the engine computes the fused dot as unsigned × signed without saturation (x86 AVX-VNNI vpdpbusd), the
 * activation bytes are q + 128 (u8) and each row's block starts its integer sum at −128·S (S = Σ w of the row's
 * block), so the sum is Σ w·q exactly; where it computes signed × signed (AVX-VNNI-INT8, Arm sdot, or Arm's smull
 * with int16 pairs, exact on these bytes) the bytes are q and the sum starts at 0. Either way the integer sums are
 * the SIMD128 kernel's, and every output does its float operations (acc += (float)isum · (dw · dx) per block, then
 * + b): outputs bit-identical to dist/xlmr.wasm. */
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

int kern_int8_kernel_for_probe(int probe) {
    return probe == KERN_DOT_UNSIGNED ? KERN_INT8_EXACT_U8
         : probe == KERN_DOT_SIGNED || probe == KERN_DOT_WRAPPING ? KERN_INT8_EXACT_S8 : -1;
}

/* The exact arithmetic in scalar: bytes q + off read back as the engine reads them, the sum started at −off·S. */
void kern_matmul_q8_0x4r4_exact_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b,
                                       int N, int off) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q8_0x4 *g = w + (size_t)(n / 4) * nb;
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                int32_t isum = 0;
                for (int i = 0; i < QK8_0; i++) {
                    const int32_t q = g[j].qs[16 * (i / 4) + 4 * (n % 4) + i % 4];
                    const uint8_t u = *kern_qact_x4_byte(x, t, j * QK8_0 + i);
                    const int32_t a = off ? (int32_t)u : (int32_t)(int8_t)u;
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
 * are sums of 4 products at all. The signed answers are also asked for the largest pairs 8-bit activations
 * ([−127, 127]) can meet, −128·±127 twice (±32512): where pairs are summed in int16 (V8 on Arm without dotprod, and
 * its baseline tier on every Arm: smull, addp) they must not wrap short of (−128)², which those activations never
 * reach; so both signed behaviours give the exact sums of kern_int8_kernel_for_probe's EXACT_S8. */
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
    if (ff == -65536 && h80 == -65536) return KERN_DOT_SATURATING;
    if (ff != 512 || (h80 != 65536 && h80 != -65536)) return KERN_DOT_OTHER;
    if (probe_lane0(-128, 127) != -65024 || probe_lane0(-128, -127) != 65024) return KERN_DOT_OTHER;
    return h80 == 65536 ? KERN_DOT_SIGNED : KERN_DOT_WRAPPING;
}

/* The SIMD128 quantization (q8_quantize_block: the same scales and values), each value stored as the byte q + off
 * in the tiles' layout (kern_qact_x4_byte); the rows past q->T of the last tile are q = 0. Inputs of fewer than
 * KERN_U7_MIN_T tokens (T_all: the whole input's, of which q may be a view) keep the int16 rows. */
void kern_quantize_act_exact(const float *x, kern_qact *q, int T_all) {
    if (T_all < KERN_U7_MIN_T) {
        kern_quantize_act_simd128(x, q);
        return;
    }
    const int T = q->T, K = q->K, nb = K / QK8_0, tp = (T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    const v128_t flip = wasm_i8x16_splat(kern_int8_offset() ? (int8_t)0x80 : 0);
    for (int t = 0; t < tp; t++) {
        uint8_t *u = kern_qact_x4_tile(q, t) + 4 * (t % KERN_QTILE);
        float *d = q->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int j = 0; j < nb; j++) {
            uint8_t *uj = u + (size_t)j * KERN_QACT_X4_BLOCK_BYTES;
            v128_t lo = flip, hi = flip;
            d[j * KERN_QTILE] = 0.0f;
            if (t < T) {
                v128_t s[4];
                d[j * KERN_QTILE] = q8_quantize_block(x + (size_t)t * K + j * QK8_0, s);
                lo = wasm_v128_xor(wasm_i8x16_narrow_i16x8(s[0], s[1]), flip);
                hi = wasm_v128_xor(wasm_i8x16_narrow_i16x8(s[2], s[3]), flip);
            }
            wasm_v128_store32_lane(uj + 0, lo, 0);
            wasm_v128_store32_lane(uj + 16, lo, 1);
            wasm_v128_store32_lane(uj + 32, lo, 2);
            wasm_v128_store32_lane(uj + 48, lo, 3);
            wasm_v128_store32_lane(uj + 64, hi, 0);
            wasm_v128_store32_lane(uj + 80, hi, 1);
            wasm_v128_store32_lane(uj + 96, hi, 2);
            wasm_v128_store32_lane(uj + 112, hi, 3);
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

static inline __attribute__((always_inline)) void ex_tile(float *y, int ldy, const uint8_t *u, const float *dx,
                                                         const block_q8_0x4 *w, const v128_t *dwf,
                                                         const v128_t *start, int nb, const float *b, int n,
                                                         const int G, int nt) {
    v128_t f[2][4];
    for (int g = 0; g < G; g++)
        for (int t = 0; t < 4; t++) f[g][t] = wasm_f32x4_splat(0.0f);
    for (int j = 0; j < nb; j++) {
        v128_t a[2][4];
        const int8_t *q0 = w[j].qs, *q1 = G > 1 ? w[(size_t)nb + j].qs : q0;
        const uint8_t *uj = u + (size_t)j * KERN_QACT_X4_BLOCK_BYTES; /* the tile's block j: 8 runs of 16 bytes */
        for (int g = 0; g < G; g++)
            for (int t = 0; t < 4; t++) a[g][t] = start[(size_t)g * nb + j];
#pragma clang loop unroll(disable)
        for (int q = 0; q < QK8_0 / 4; q++) {
            const v128_t w0 = wasm_v128_load(q0 + 16 * q);
            const v128_t w1 = G > 1 ? wasm_v128_load(q1 + 16 * q) : w0;
            const v128_t run = wasm_v128_load(uj + 16 * q); /* 4 tokens × 4 columns */
            for (int t = 0; t < 4; t++) {
                /* token t's 4 bytes in every lane: a shuffle of the run (one pshufd) instead of a load per token */
                const v128_t s = t == 0 ? wasm_i32x4_shuffle(run, run, 0, 0, 0, 0)
                               : t == 1 ? wasm_i32x4_shuffle(run, run, 1, 1, 1, 1)
                               : t == 2 ? wasm_i32x4_shuffle(run, run, 2, 2, 2, 2)
                                        : wasm_i32x4_shuffle(run, run, 3, 3, 3, 3);
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
            const uint8_t *u = kern_qact_x4_tile(x, t0);
            const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
            float *yt = y + (size_t)t0 * ldy;
            const int nt = T - t0;
            int g = g0;
            for (; g + 2 <= g1; g += 2)
                ex_tile(yt, ldy, u, dx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, start + (size_t)(g - g0) * nb, nb, b, 4 * g, 2, nt);
            if (g < g1)
                ex_tile(yt, ldy, u, dx, w + (size_t)g * nb, dwf + (size_t)(g - g0) * nb, start + (size_t)(g - g0) * nb, nb, b, 4 * g, 1, nt);
        }
    }
}

/* ---- row-major weights (row counts not a multiple of 4): one row × a tile of 4 tokens; per run of 4 columns the
 * row's 4 weights broadcast against the tile's run (kern_qact_x4_byte), so lane t holds token t's sum. ---- */

void kern_matmul_q8_0_exact(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0, off = kern_int8_offset();
    const v128_t ones = wasm_i8x16_splat(1);
    for (int t0 = 0; t0 < T; t0 += KERN_QTILE) {
        const uint8_t *u = kern_qact_x4_tile(x, t0);
        const float *dx = x->d + (size_t)(t0 / KERN_QTILE) * nb * KERN_QTILE;
        const int nt = T - t0;
        for (int n = 0; n < N; n++) {
            const block_q8_0 *wr = w + (size_t)n * nb;
            v128_t f = wasm_f32x4_splat(0.0f);
            for (int j = 0; j < nb; j++) {
                const uint8_t *uj = u + (size_t)j * KERN_QACT_X4_BLOCK_BYTES;
                const v128_t lo = wasm_v128_load(wr[j].qs), hi = wasm_v128_load(wr[j].qs + 16);
                v128_t s = dot_add(hi, ones, dot_add(lo, ones, wasm_i32x4_splat(0)));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
                s = wasm_i32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2)); /* S in every lane */
                v128_t isum = wasm_i32x4_mul(s, wasm_i32x4_splat(-off));
                for (int q = 0; q < QK8_0 / 4; q++)
                    isum = dot_add(wasm_v128_load32_splat(wr[j].qs + 4 * q), wasm_v128_load(uj + 16 * q), isum);
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
