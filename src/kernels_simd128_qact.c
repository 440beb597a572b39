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
            v128_t s[4];
            d[j * KERN_QTILE] = q8_quantize_block(xr + j * QK8_0, s);
            for (int i = 0; i < 4; i++) wasm_v128_store(qs + j * QK8_0 + 8 * i, s[i]);
        }
    }
}

#endif
