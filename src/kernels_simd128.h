/* kernels_simd128.h — SIMD128 helpers shared by the SIMD128 kernels (kernels_simd128_*.c) and the relaxed-SIMD ones. */
#ifndef XLMR_KERNELS_SIMD128_H
#define XLMR_KERNELS_SIMD128_H

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#include "kernels.h"
#include "model.h"

/* the sum of the 4 lanes */
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

/* acc + isum * (dw * dx): the scalar reference's operations, lane by lane */
static inline v128_t q8_accumulate(v128_t acc, v128_t isum, v128_t dw, v128_t dx) {
    return wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(isum), wasm_f32x4_mul(dw, dx)));
}

/* x · w over K floats for one token: the exact operation sequence of each lane of f32_tile
 * (kernels_simd128_float.c), so one token and a tile of 4 give the same sums. */
static inline float dot_f32_1(const float *x, const float *w, int K) {
    v128_t acc = wasm_f32x4_splat(0.0f);
    int k = 0;
    for (; k + 4 <= K; k += 4) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(wasm_v128_load(x + k), wasm_v128_load(w + k)));
    float s = hsum_f32x4(acc);
    for (; k < K; k++) s += x[k] * w[k];
    return s;
}

/* u32 lanes holding an IEEE half (low 16 bits) -> f32x4: the half's exponent+mantissa put where a float's go,
 * rescaled by 2^112. Exact for finite halves (normal and subnormal); Inf/NaN come out as large finite numbers. */
static inline v128_t fp16x4_to_f32x4(v128_t h) {
    v128_t mag = wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x7fff)), 13);
    v128_t f = wasm_f32x4_mul(mag, wasm_f32x4_splat(0x1p112f));
    return wasm_v128_or(f, wasm_i32x4_shl(wasm_v128_and(h, wasm_i32x4_splat(0x8000)), 16));
}

/* the 4 row scales of a 4-row block (block_q8_0x4.d), as floats */
static inline v128_t q8x4_scales(const block_q8_0x4 *g) {
    return fp16x4_to_f32x4(wasm_u32x4_extend_low_u16x8(wasm_v128_load64_zero(g->d)));
}

/* Per-lane constants read from memory (kernels_simd128_consts.c says why): KERN_K(name) is the value in every lane. */
typedef struct kern_simd_consts {
    float erf_lo, erf_hi, erf_p[7], erf_q[5], sqrt1_2, half, one;
    float exp_lo, exp_hi, log2e, ln2_hi, ln2_lo, exp_p[6];
    int32_t exp_bias; /* 127 - KERN_ROUND_MAGIC_BITS */
    float round_magic;
    int32_t round_magic_bits;
    int32_t i16_127, i16_m127; /* int16 pairs: 127, -127 */
    int32_t low16;             /* 0xFFFF: an int32's low half */
} kern_simd_consts;
extern const kern_simd_consts kern_simd_k;
#define KERN_K(name) wasm_v128_load32_splat(&kern_simd_k.name)

/* nearest-even(v) as int32 lanes, for |v| < 2^22, by the KERN_ROUND_MAGIC addition (f32x4.nearest +
 * i32x4.trunc_sat_f32x4 are ~9 x64 instructions in V8, this 4); NaN -> 0 as the scalar quantizers; +-inf come
 * out beyond +-2^22, so they saturate as there. The activation quantizers' rounding. */
static inline v128_t simd_round_i32x4(v128_t v) {
    const v128_t r = wasm_i32x4_sub(wasm_f32x4_add(v, KERN_K(round_magic)), KERN_K(round_magic_bits));
    return wasm_v128_and(r, wasm_f32x4_eq(v, v));
}

/* One 32-block of activations to 8 bits (kernels_simd128_qact.c): returns its scale d = amax / 127 and leaves
 * nearest-even(x / d) in [-127, 127] as int16 in s[0..3] (columns 8i .. 8i + 7 in s[i]). Shared by the SIMD128
 * quantizer and the relaxed build's exact one, so both make the same bytes. */
static inline float q8_quantize_block(const float *xb, v128_t s[4]) {
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
    const v128_t vid = wasm_f32x4_splat(id), qmax = KERN_K(i16_127), qmin = KERN_K(i16_m127);
    for (int i = 0; i < 4; i++) {
        const v128_t a = simd_round_i32x4(wasm_f32x4_mul(v[2 * i], vid));
        const v128_t b = simd_round_i32x4(wasm_f32x4_mul(v[2 * i + 1], vid));
        s[i] = wasm_i16x8_min(wasm_i16x8_max(wasm_i16x8_narrow_i32x4(a, b), qmin), qmax);
    }
    return dj;
}

/* Q4_0 rows multiplied by a Q8_0 GEMM on 4-row interleaved weights (kernels_simd128_q4_0.c): the rows in groups of
 * 4, repacked a panel at a time (Q4_PANEL_BLOCKS blocks on the stack) into block_q8_0x4 with runs of R, each panel then
 * given to gemm. Returns the rows done from the start (N rounded down to 4; 0 when a row has more blocks than a
 * panel holds): the caller does the rest. Bit-identical to the Q8_0 GEMM on the same weights as Q8_0. */
#define Q4_PANEL_BLOCKS 240
typedef void (*kern_q8x4_gemm)(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N);
int kern_matmul_q4_0_by_q8x4(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N, int R,
                             kern_q8x4_gemm gemm);
/* N rows (each of at most Q4_ROW_BLOCKS blocks) one at a time as row-major Q8_0 through gemm. */
#define Q4_ROW_BLOCKS (KERN_Q4_0_MAX_K / QK4_0)
typedef void (*kern_q8_gemm)(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N);
void kern_matmul_q4_0_by_q8_rows(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N,
                                 kern_q8_gemm gemm);

#endif
#endif
