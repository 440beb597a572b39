/* kernels_simd128_rows.c — the elementwise and row kernels in SIMD128: LayerNorm, erf and exp (vector
 * polynomials), GELU, softmax (and softmax to attention's int16 probabilities), residual add, dot and axpy. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

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
    x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, KERN_K(erf_lo)), KERN_K(erf_hi)); /* see exp_f32x4 */
    const v128_t x2 = wasm_f32x4_mul(x, x);
#define MA(acc, c) wasm_f32x4_add(wasm_f32x4_mul(acc, x2), KERN_K(c))
    v128_t p = KERN_K(erf_p[0]);
    p = MA(p, erf_p[1]);
    p = MA(p, erf_p[2]);
    p = MA(p, erf_p[3]);
    p = MA(p, erf_p[4]);
    p = MA(p, erf_p[5]);
    p = MA(p, erf_p[6]);
    p = wasm_f32x4_mul(p, x);
    v128_t q = KERN_K(erf_q[0]);
    q = MA(q, erf_q[1]);
    q = MA(q, erf_q[2]);
    q = MA(q, erf_q[3]);
    q = MA(q, erf_q[4]);
#undef MA
    return wasm_f32x4_div(p, q);
}

/* exp for x <= 88 (softmax inputs are <= 0): 2^n · P(r), r = x - n ln2 in two parts, P Cephes' expf polynomial
 * (1 + r + r² (p0 r⁵ + ... + p5)) evaluated in Estrin's scheme: its terms in pairs, r² and r⁴ beside them, so the
 * dependent chain is 4 multiply-adds long where Horner's is 7 (V8 keeps the wasm's order and x64 has no FMA here:
 * softmax ran 0.76-0.87x the time per element with it: BENCHMARKS.md, "Session 15"). x < -87.3 gives 0 instead of
 * a subnormal. Within 3 ulp of expf (kernel test).
 * Written for V8's x64 lowering: pmin/pmax clamp (one instruction each; min/max are ~8 for their NaN rules), and
 * n = round(x log2 e) by adding 1.5 * 2^23, whose bits then hold n (f32x4.nearest + i32x4.trunc_sat_f32x4 cost ~8):
 * the same n, ties to even, for |x log2 e| < 2^22 (checked against f32x4.nearest on a stride through all 2^32 bit
 * patterns, every float but NaN). Constants from memory: KERN_K. */
static inline v128_t exp_f32x4(v128_t x) {
    const v128_t under = wasm_f32x4_lt(x, KERN_K(exp_lo));
    x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, KERN_K(exp_lo)), KERN_K(exp_hi));
    const v128_t tn = wasm_f32x4_add(wasm_f32x4_mul(x, KERN_K(log2e)), KERN_K(round_magic));
    const v128_t fx = wasm_f32x4_sub(tn, KERN_K(round_magic));
    v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, KERN_K(ln2_hi)));
    r = wasm_f32x4_sub(r, wasm_f32x4_mul(fx, KERN_K(ln2_lo)));
    const v128_t r2 = wasm_f32x4_mul(r, r), r4 = wasm_f32x4_mul(r2, r2);
#define PAIR(c, d) wasm_f32x4_add(wasm_f32x4_mul(KERN_K(c), r), KERN_K(d))
    const v128_t p01 = PAIR(exp_p[0], exp_p[1]), p23 = PAIR(exp_p[2], exp_p[3]), p45 = PAIR(exp_p[4], exp_p[5]);
#undef PAIR
    const v128_t p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(p01, r4), wasm_f32x4_mul(p23, r2)), p45);
    const v128_t e = wasm_f32x4_add(wasm_f32x4_mul(p, r2), wasm_f32x4_add(r, KERN_K(one)));
    const v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(tn, KERN_K(exp_bias)), 23);
    return wasm_v128_andnot(wasm_f32x4_mul(e, pow2n), under);
}

void kern_erf4_simd128(const float *x, float *out) { wasm_v128_store(out, erf_f32x4(wasm_v128_load(x))); }
void kern_exp4_simd128(const float *x, float *out) { wasm_v128_store(out, exp_f32x4(wasm_v128_load(x))); }

static inline v128_t gelu_f32x4(v128_t x) {
    const v128_t e = erf_f32x4(wasm_f32x4_mul(x, KERN_K(sqrt1_2)));
    return wasm_f32x4_mul(wasm_f32x4_mul(x, KERN_K(half)), wasm_f32x4_add(KERN_K(one), e));
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

/* x (n >= 1) in place: exp(x - max); returns their sum */
static float softmax_exp(float *x, int n) {
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
    return sum;
}

void kern_softmax_simd128(float *x, int n) {
    if (n <= 0) return;
    const float inv = 1.0f / softmax_exp(x, n);
    const v128_t vinv = wasm_f32x4_splat(inv);
    int i = 0;
    for (; i + 4 <= n; i += 4) wasm_v128_store(x + i, wasm_f32x4_mul(wasm_v128_load(x + i), vinv));
    for (; i < n; i++) x[i] *= inv;
}

/* kern_softmax_simd128's probabilities, each rounded to int16 as kern_quantize_prob_i16_scalar does (nearest-even
 * by the KERN_ROUND_MAGIC addition; p in [0, 1] needs no clamp) while still in a register: one pass fewer over the
 * row, the same bits as the two kernels one after the other (kernel test). */
void kern_softmax_prob_i16_simd128(float *x, int n, int np, int16_t *q) {
    int j = 0;
    if (n > 0) {
        const float inv = 1.0f / softmax_exp(x, n);
        const v128_t vinv = wasm_f32x4_splat(inv), one = wasm_f32x4_splat(KERN_PROB_ONE);
        for (; j + 8 <= n; j += 8) {
            const v128_t pa = wasm_f32x4_mul(wasm_v128_load(x + j), vinv);
            const v128_t pb = wasm_f32x4_mul(wasm_v128_load(x + j + 4), vinv);
            const v128_t a = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(pa, one), KERN_K(round_magic)), KERN_K(round_magic_bits));
            const v128_t b = wasm_i32x4_sub(wasm_f32x4_add(wasm_f32x4_mul(pb, one), KERN_K(round_magic)), KERN_K(round_magic_bits));
            wasm_v128_store(q + j, wasm_i16x8_narrow_i32x4(a, b));
        }
        for (int i = j; i < n; i++) x[i] *= inv; /* the last < 8 probabilities, rounded by the scalar reference */
    }
    kern_quantize_prob_i16_scalar(x + j, n - j, np - j, q + j);
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
