/* kernels_simd128_qact.c — activation quantization for the Q8_0 GEMMs in SIMD128 (kern_qact, kernels.h): per
 * 32-block of a row, d = amax / 127 and q = nearest-even(x / d) in [-127, 127], stored as int16. */
#if defined(__wasm_simd128__)

#include <math.h>
#include <wasm_simd128.h>

#include "kernels.h"
#include "kernels_simd128.h"

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

#endif
