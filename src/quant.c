#include "quant.h"

#include <math.h>

void q8_0_quantize_row(const float *x, block_q8_0 *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        const float *xb = x + i * QK8_0;
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            const float a = fabsf(xb[j]);
            amax = amax > a ? amax : a; /* ggml's MAX(amax, fabsf(v)) */
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = xlmr_f32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) {
            const float x0 = roundf(xb[j] * id);
            /* finite inputs land in [-127, 127]; the guard only catches inf/nan */
            y[i].qs[j] = (x0 >= -128.0f && x0 <= 127.0f) ? (int8_t)x0 : 0;
        }
    }
}

void q8_0_dequantize_row(const block_q8_0 *x, float *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++) {
        const float d = xlmr_fp16_to_f32(x[i].d);
        for (int j = 0; j < QK8_0; j++) y[i * QK8_0 + j] = x[i].qs[j] * d;
    }
}

void f16_from_f32_row(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = xlmr_f32_to_fp16(x[i]);
}

void f16_to_f32_row(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = xlmr_fp16_to_f32(x[i]);
}

void bf16_to_f32_row(const uint16_t *x, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = xlmr_bf16_to_f32(x[i]);
}

size_t quant_type_size(int32_t type, int64_t n) {
    if (n < 0 || (uint64_t)n > SIZE_MAX / 4) return 0;
    switch (type) {
    case XLMR_TYPE_F32: return (size_t)n * 4;
    case XLMR_TYPE_F16:
    case XLMR_TYPE_BF16: return (size_t)n * 2;
    case XLMR_TYPE_Q8_0: return (size_t)(n / QK8_0) * sizeof(block_q8_0);
    }
    return 0;
}

const char *quant_type_name(int32_t type) {
    switch (type) {
    case XLMR_TYPE_F32: return "F32";
    case XLMR_TYPE_F16: return "F16";
    case XLMR_TYPE_BF16: return "BF16";
    case XLMR_TYPE_Q8_0: return "Q8_0";
    }
    return "unknown";
}
