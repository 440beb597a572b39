/* kernels_scalar.c — the scalar reference of every kernel (see kernels.h). Plain loops in the order the
 * SIMD versions are checked against; the Q8_0 pair (quantize, matmul) does the same float operations in
 * the same order as its SIMD version, so the two agree bit for bit where no FMA contraction happens (wasm). */
#include <math.h>
#include <string.h>

#include "kernels.h"

size_t kern_qact_bytes(int T, int K) {
    size_t tp = ((size_t)(T > 0 ? T : 0) + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    size_t qs, d, sum;
    if (!xlmr_mul_size(tp, (size_t)K, &qs) || !xlmr_mul_size(qs, sizeof(int16_t), &qs)) return 0;
    if (!xlmr_mul_size(tp, (size_t)(K / QK8_0), &d) || !xlmr_mul_size(d, sizeof(float), &d)) return 0;
    qs = (qs + 15) & ~(size_t)15;
    if (!xlmr_add_size(qs, d, &sum)) return 0;
    return sum;
}

void kern_qact_init(kern_qact *q, void *mem, int T, int K) {
    size_t tp = ((size_t)T + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    size_t qs = (tp * (size_t)K * sizeof(int16_t) + 15) & ~(size_t)15;
    q->qs = (int16_t *)mem;
    q->d = (float *)(void *)((uint8_t *)mem + qs);
    q->T = T;
    q->K = K;
}

/* nearest-even, clamped to the int8 range, NaN -> 0 (what the SIMD version's trunc_sat + clamp give) */
static inline int16_t quant_one(float v) {
    float r = nearbyintf(v);
    if (!(r == r)) return 0;
    if (r > 127.0f) return 127;
    if (r < -127.0f) return -127;
    return (int16_t)r;
}

void kern_quantize_act_scalar(const float *x, kern_qact *q) {
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
            const float *xb = xr + j * QK8_0;
            float amax = 0.0f;
            for (int i = 0; i < QK8_0; i++) {
                float a = fabsf(xb[i]);
                amax = amax > a ? amax : a;
            }
            const float dj = amax / 127.0f;
            const float id = dj != 0.0f ? 1.0f / dj : 0.0f;
            d[j * KERN_QTILE] = dj;
            for (int i = 0; i < QK8_0; i++) qs[j * QK8_0 + i] = quant_one(xb[i] * id);
        }
    }
}

void kern_matmul_i16x4_scalar(float *y, int ldy, const int16_t *x, const float *dx, const int16_t *w, const float *dw,
                              int T, int N, int K) {
    for (int t = 0; t < T; t++) {
        const int16_t *xt = x + (size_t)t * K;
        for (int n = 0; n < N; n++) {
            const int16_t *wr = w + (size_t)(n / 4) * 4 * K + (n % 4) * 2; /* row n's pair p at wr[8p], wr[8p + 1] */
            int32_t s = 0;
            for (int p = 0; p < K / 2; p++) s += xt[2 * p] * wr[8 * p] + xt[2 * p + 1] * wr[8 * p + 1];
            y[(size_t)t * ldy + n] = (float)s * (dw[n] * dx[t]);
        }
    }
}

void kern_quantize_prob_i16_scalar(const float *p, int n, int np, int16_t *q) {
    int j = 0;
    for (; j < n; j++) q[j] = (int16_t)fmaxf(0.0f, fminf(KERN_PROB_ONE, nearbyintf(p[j] * KERN_PROB_ONE)));
    for (; j < np; j++) q[j] = 0;
}

void kern_softmax_prob_i16_scalar(float *x, int n, int np, int16_t *q) {
    kern_softmax_scalar(x, n);
    kern_quantize_prob_i16_scalar(x, n, np, q);
}

/* nearest-even(v) for |v| < 2^22 by KERN_ROUND_MAGIC; its low 16 bits (a NaN gives some value, as the float path
 * would give NaN) */
static inline int16_t i16_round(float v) {
    const float r = v + KERN_ROUND_MAGIC;
    int32_t bits;
    memcpy(&bits, &r, sizeof bits);
    return (int16_t)(bits - KERN_ROUND_MAGIC_BITS);
}

float kern_quantize_row_i16_scalar(const float *x, int n, float range, int16_t *q, int pair_step) {
    float amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float v = fabsf(x[i]);
        amax = v > amax ? v : amax;
    }
    const float inv = amax > 0.0f ? range / amax : 0.0f;
    for (int i = 0; i < n; i++) q[(size_t)(i / 2) * pair_step + i % 2] = i16_round(x[i] * inv);
    if (n % 2) q[(size_t)(n / 2) * pair_step + 1] = 0;
    return amax / range;
}

void kern_quantize_cols_i16_scalar(const float *v, int ldv, int len, int dh, float range, float *dv, int16_t *vt,
                                   int lenp) {
    const int dh4 = (dh + 3) & ~3;
    for (int d = 0; d < dh4; d++) dv[d] = 0.0f;
    for (int t = 0; t < len; t++)
        for (int d = 0; d < dh; d++) {
            const float a = fabsf(v[(size_t)t * ldv + d]);
            dv[d] = a > dv[d] ? a : dv[d];
        }
    for (int d = 0; d < dh4; d++) {
        const float inv = d < dh && dv[d] > 0.0f ? range / dv[d] : 0.0f;
        for (int t = 0; t < len; t += 2) {
            int16_t *at = vt + (size_t)(d / 4) * 4 * lenp + 4 * (size_t)t + 2 * (d % 4);
            at[0] = d < dh ? i16_round(v[(size_t)t * ldv + d] * inv) : 0;
            at[1] = d < dh && t + 1 < len ? i16_round(v[(size_t)(t + 1) * ldv + d] * inv) : 0;
        }
    }
    for (int d = 0; d < dh; d++) dv[d] /= range;
}

void kern_matmul_f32_scalar(float *y, int ldy, const float *x, const float *w, const float *b, int T, int N, int K) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        for (int n = 0; n < N; n++) {
            const float *wr = w + (size_t)n * K;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += xr[k] * wr[k];
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_f16_scalar(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        for (int n = 0; n < N; n++) {
            const uint16_t *wr = w + (size_t)n * K;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += xr[k] * xlmr_fp16_to_f32(wr[k]);
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_bf16_scalar(float *y, int ldy, const float *x, const uint16_t *w, const float *b, int T, int N, int K) {
    for (int t = 0; t < T; t++) {
        const float *xr = x + (size_t)t * K;
        for (int n = 0; n < N; n++) {
            const uint16_t *wr = w + (size_t)n * K;
            float acc = 0.0f;
            for (int k = 0; k < K; k++) acc += xr[k] * xlmr_bf16_to_f32(wr[k]);
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_q8_0_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const int16_t *xq = x->qs + (size_t)t * K;
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q8_0 *wr = w + (size_t)n * nb;
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                int32_t isum = 0;
                for (int i = 0; i < QK8_0; i++) isum += (int32_t)wr[j].qs[i] * xq[j * QK8_0 + i];
                const float scale = xlmr_fp16_to_f32(wr[j].d) * xd[j * KERN_QTILE];
                acc += (float)isum * scale;
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

/* The weights of a Q4_0 block as int8 in element order: nibble - 8. */
static inline void q4_0_unpack(const block_q4_0 *blk, int8_t *w) {
    _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
    for (int i = 0; i < QK4_0 / 2; i++) {
        w[i] = (int8_t)((blk->qs[i] & 0x0F) - 8);
        w[i + QK4_0 / 2] = (int8_t)((blk->qs[i] >> 4) - 8);
    }
}

/* Kept scalar (no vectorizing): a reference, and the wasm builds' path for rows too long to repack, whose vector
 * form's code size is not worth it there. */
void kern_matmul_q4_0_scalar(float *y, int ldy, const kern_qact *x, const block_q4_0 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK4_0;
    for (int t = 0; t < T; t++) {
        const int16_t *xq = x->qs + (size_t)t * K;
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q4_0 *wr = w + (size_t)n * nb;
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                int8_t wq[QK4_0];
                q4_0_unpack(&wr[j], wq);
                int32_t isum = 0;
                _Pragma("clang loop vectorize(disable) interleave(disable) unroll(disable)")
                for (int i = 0; i < QK4_0; i++) isum += (int32_t)wq[i] * xq[j * QK4_0 + i];
                acc += (float)isum * (xlmr_fp16_to_f32(wr[j].d) * xd[j * KERN_QTILE]);
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_matmul_q8_0x4_scalar(float *y, int ldy, const kern_qact *x, const block_q8_0x4 *w, const float *b, int N) {
    const int T = x->T, K = x->K, nb = K / QK8_0;
    for (int t = 0; t < T; t++) {
        const int16_t *xq = x->qs + (size_t)t * K;
        const float *xd = x->d + (size_t)(t / KERN_QTILE) * nb * KERN_QTILE + t % KERN_QTILE;
        for (int n = 0; n < N; n++) {
            const block_q8_0x4 *wg = w + (size_t)(n / 4) * nb;
            const int r = n % 4;
            float acc = 0.0f;
            for (int j = 0; j < nb; j++) {
                int32_t isum = 0;
                for (int i = 0; i < QK8_0; i++) isum += (int32_t)wg[j].qs[8 * (i / 2) + 2 * r + i % 2] * xq[j * QK8_0 + i];
                const float scale = xlmr_fp16_to_f32(wg[j].d[r]) * xd[j * KERN_QTILE];
                acc += (float)isum * scale;
            }
            y[(size_t)t * ldy + n] = acc + (b ? b[n] : 0.0f);
        }
    }
}

void kern_layer_norm_scalar(float *x, int T, int n, const float *g, const float *b, float eps) {
    for (int t = 0; t < T; t++) {
        float *r = x + (size_t)t * n;
        float sum = 0.0f;
        for (int i = 0; i < n; i++) sum += r[i];
        const float mean = sum / (float)n;
        float var = 0.0f;
        for (int i = 0; i < n; i++) {
            float c = r[i] - mean;
            var += c * c;
        }
        const float rstd = 1.0f / sqrtf(var / (float)n + eps);
        for (int i = 0; i < n; i++) r[i] = (r[i] - mean) * rstd * g[i] + b[i];
    }
}

void kern_gelu_scalar(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = x[i] * 0.5f * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void kern_softmax_scalar(float *x, int n) {
    if (n <= 0) return;
    float mx = x[0];
    for (int i = 1; i < n; i++) mx = x[i] > mx ? x[i] : mx;
    float sum = 0.0f;
    for (int i = 0; i < n; i++) {
        x[i] = expf(x[i] - mx);
        sum += x[i];
    }
    const float inv = 1.0f / sum;
    for (int i = 0; i < n; i++) x[i] *= inv;
}

void kern_add_scalar(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

float kern_dot_scalar(const float *a, const float *b, int n) {
    float acc = 0.0f;
    for (int i = 0; i < n; i++) acc += a[i] * b[i];
    return acc;
}

void kern_axpy_scalar(float *y, float a, const float *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}
