/* Q8_0 / F16 row conversions against hand-checked values and ggml's definition. */
#include "quant.h"
#include "test.h"

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

int main(void) {
    /* a block with a known amax: d = 127/127 = 1, q = round(x) */
    float x[64];
    for (int i = 0; i < 32; i++) x[i] = (float)(i - 16) * 0.5f + 0.25f; /* amax = 7.75 */
    x[5] = -127.0f;
    x[1] = -7.5f;
    block_q8_0 b[2];
    for (int i = 32; i < 64; i++) x[i] = 0.0f;
    q8_0_quantize_row(x, b, 64);
    CHECK(xlmr_fp16_to_f32(b[0].d) == 1.0f, "d %g", xlmr_fp16_to_f32(b[0].d));
    CHECK(b[0].qs[5] == -127, "q %d", b[0].qs[5]);
    CHECK(b[0].qs[0] == (int8_t)roundf(x[0]), "q0 %d", b[0].qs[0]);
    CHECK(b[0].qs[1] == -8, "roundf half away from zero: %d", b[0].qs[1]); /* -7.5 */
    CHECK(b[1].d == 0, "zero block scale");
    for (int j = 0; j < 32; j++) CHECK(b[1].qs[j] == 0, "zero block q");

    /* random rows: the ggml recipe reproduced independently, and dequant error <= d/2 */
    enum { K = 32 * 37 };
    static float r[K], back[K];
    static block_q8_0 q[K / 32];
    for (int i = 0; i < K; i++) r[i] = frand() * (1 + i % 7);
    q8_0_quantize_row(r, q, K);
    q8_0_dequantize_row(q, back, K);
    int bad = 0;
    for (int blk = 0; blk < K / 32; blk++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(r[blk * 32 + j]));
        float d = amax / 127;
        if (q[blk].d != xlmr_f32_to_fp16(d)) bad++;
        float id = d ? 1.0f / d : 0.0f;
        for (int j = 0; j < 32; j++) {
            if (q[blk].qs[j] != (int8_t)roundf(r[blk * 32 + j] * id)) bad++;
            float dd = xlmr_fp16_to_f32(q[blk].d);
            if (fabsf(back[blk * 32 + j] - r[blk * 32 + j]) > dd * 0.5f + amax * 1e-3f) bad++;
        }
    }
    CHECK(bad == 0, "%d mismatches", bad);

    /* rounding: a block with amax 127 has d = 1, so q = roundf(x) for every x in [-127, 127] */
    {
        int rbad = 0;
        float blk[32];
        for (int i = -127 * 64; i <= 127 * 64; i++) {
            for (int j = 0; j < 32; j++) blk[j] = 0;
            blk[0] = 127.0f;
            blk[1] = (float)i / 64.0f;
            blk[2] = nextafterf(blk[1], 0.0f);
            blk[3] = nextafterf(blk[1], 200.0f);
            if (blk[3] > 127.0f) blk[3] = 127.0f;
            block_q8_0 qb;
            q8_0_quantize_row(blk, &qb, 32);
            for (int j = 1; j < 4; j++)
                if (qb.qs[j] != (int8_t)roundf(blk[j])) rbad++;
        }
        CHECK(rbad == 0, "rounding differs from roundf %d times", rbad);
    }

    /* non-finite inputs give defined results */
    float nf[32] = {0};
    nf[3] = INFINITY;
    nf[4] = NAN;
    q8_0_quantize_row(nf, q, 32);
    CHECK(1, "no UB on inf/nan");

    uint16_t h[4];
    float f[4] = {1.0f, -2.5f, 65504.0f, 1e-8f}, g[4];
    f16_from_f32_row(f, h, 4);
    f16_to_f32_row(h, g, 4);
    CHECK(g[0] == 1.0f && g[1] == -2.5f && g[2] == 65504.0f, "f16 roundtrip");
    uint16_t bf[2] = {0x3f80, 0xc020};
    bf16_to_f32_row(bf, g, 2);
    CHECK(g[0] == 1.0f && g[1] == -2.5f, "bf16 %g %g", g[0], g[1]);
    CHECK(quant_type_size(XLMR_TYPE_Q8_0, 64) == 68, "q8 size");

    /* the fast row conversions agree bit for bit with common.c's: every half, a sweep of floats */
    int diff = 0;
    for (uint32_t u = 0; u < 65536; u++) {
        uint16_t hh = (uint16_t)u;
        float a, b2 = xlmr_fp16_to_f32(hh);
        f16_to_f32_row(&hh, &a, 1);
        if (memcmp(&a, &b2, 4) != 0) diff++;
    }
    CHECK(diff == 0, "f16 -> f32: %d differ", diff);
    diff = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 997) {
        uint32_t v = (uint32_t)u;
        float fv;
        memcpy(&fv, &v, 4);
        uint16_t a;
        f16_from_f32_row(&fv, &a, 1);
        if (a != xlmr_f32_to_fp16(fv)) diff++;
    }
    /* and around every half-way point of the normal and subnormal ranges */
    for (uint32_t hv = 0; hv < 0x7c00; hv++) {
        float lo = xlmr_fp16_to_f32((uint16_t)hv), hi = xlmr_fp16_to_f32((uint16_t)(hv + 1));
        float mid = lo + (hi - lo) * 0.5f, cand[3] = {mid, nextafterf(mid, 0), nextafterf(mid, 1e9f)};
        for (int k = 0; k < 3; k++) {
            uint16_t a;
            float neg = -cand[k];
            f16_from_f32_row(&cand[k], &a, 1);
            if (a != xlmr_f32_to_fp16(cand[k])) diff++;
            f16_from_f32_row(&neg, &a, 1);
            if (a != xlmr_f32_to_fp16(neg)) diff++;
        }
    }
    CHECK(diff == 0, "f32 -> f16: %d differ", diff);
    return test_report("test_quant");
}
