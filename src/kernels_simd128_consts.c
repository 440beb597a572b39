/* kernels_simd128_consts.c — the SIMD kernels' per-lane constants as values in linear memory (kern_simd_k,
 * kernels_simd128.h).
 *
 * V8's x64 code (13.6, 14.6) does not keep a v128.const in a register across a loop: it builds it again at every use,
 * three instructions (movq r, imm64; vmovq; vpunpcklqdq). erf's rational polynomial has 16 of them: more instructions
 * than its arithmetic. A v128.load32_splat of a value in memory is one (vbroadcastss). The values are defined here,
 * in a unit of their own, so that clang compiling their users cannot see them and fold the loads back into
 * v128.const. The same floats either way: outputs do not change. */
#if defined(__wasm_simd128__)

#include "kernels.h"
#include "kernels_simd128.h"

const kern_simd_consts kern_simd_k = {
    .erf_lo = -4.0f,
    .erf_hi = 4.0f,
    .erf_p = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f, -5.69250639462346e-05f,
              -7.34990630326855e-04f, -2.95459980854025e-03f, -1.60960333262415e-02f},
    .erf_q = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f, -7.37332916720468e-03f,
              -1.42647390514189e-02f},
    .sqrt1_2 = 0.70710678118654752f,
    .half = 0.5f,
    .one = 1.0f,
    .exp_lo = -87.33654f,
    .exp_hi = 88.0f,
    .log2e = 1.44269504088896341f,
    .ln2_hi = 0.693359375f,
    .ln2_lo = -2.12194440e-4f,
    .exp_p = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
              5.0000001201e-1f},
    .exp_bias = 127 - KERN_ROUND_MAGIC_BITS,
    .round_magic = KERN_ROUND_MAGIC,
    .round_magic_bits = KERN_ROUND_MAGIC_BITS,
    .i16_127 = 0x007F007F,
    .i16_m127 = (int32_t)0xFF81FF81,
    .low16 = 0xFFFF,
};

#endif
