/* int8_peak.c — the engine's ceiling for each int8 instruction mix the GEMM kernels use, with nothing else in the
 * loop: 6 independent accumulators, operands in registers, no loads. What a kernel reaches against its mix's
 * ceiling says how much of the gap is the kernel (addresses, spills, scaling) and how much the instructions.
 * Built and run by bench/int8-peak.mjs (relaxed SIMD: Node 22+). GOP/s counts a multiply-add as 2 operations. */
#include <stdio.h>
#include <time.h>
#include <wasm_simd128.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static volatile int sink;

#define PAIR(a, b) ((v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_s_i16x8((__i8x16)(a), (__i8x16)(b)))
#define FUSED(a, b, c) ((v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((__i8x16)(a), (__i8x16)(b), (__i32x4)(c)))

/* acc[i] = OP(x, y, acc[i]) for 6 (x, y) pairs that differ (so nothing is shared), n times */
#define PEAK(name, OP)                                                                                          \
    __attribute__((noinline)) static v128_t name(long long n, v128_t a, v128_t b) {                           \
        v128_t acc[6], bb[3];                                                                                 \
        for (int i = 0; i < 6; i++) acc[i] = wasm_i32x4_splat(i);                                            \
        for (int i = 0; i < 3; i++) bb[i] = wasm_i32x4_add(b, wasm_i32x4_splat(i));                          \
        v128_t a2 = wasm_i32x4_add(a, b);                                                                     \
        const v128_t ones = wasm_i16x8_splat(1);                                                              \
        (void)ones;                                                                                           \
        for (long long k = 0; k < n; k++) {                                                                   \
            _Pragma("clang loop unroll(full)") for (int i = 0; i < 6; i++) {                                 \
                const v128_t x = i < 3 ? a : a2, y = bb[i % 3];                                               \
                acc[i] = OP;                                                                                  \
            }                                                                                                 \
            a = wasm_i32x4_add(a, b);                                                                         \
            a2 = wasm_i32x4_add(a2, b);                                                                       \
        }                                                                                                     \
        v128_t s = acc[0];                                                                                    \
        for (int i = 1; i < 6; i++) s = wasm_i32x4_add(s, acc[i]);                                            \
        return s;                                                                                             \
    }

/* SIMD128's kernels: int16 × int16 pairs into int32 (pmaddwd), 8 multiply-adds */
PEAK(peak_dot_i16, wasm_i32x4_add(acc[i], wasm_i32x4_dot_i16x8(x, y)))
/* the relaxed build's u7 pair form: int8 × u7 pairs into int16, widened by a dot with ones, 16 multiply-adds */
PEAK(peak_pair_u7, wasm_i32x4_add(acc[i], wasm_i32x4_dot_i16x8(PAIR(x, y), ones)))
/* the exact kernels' fused dot-add, 16 multiply-adds (one vpdpbusd with AVX-VNNI, an expansion without) */
PEAK(peak_fused, FUSED(x, y, acc[i]))
/* the pair dot alone, its int16 sums added in int16: not a usable kernel (the sums overflow), the bound of the
 * multiply instruction itself */
PEAK(peak_pair_only, wasm_i16x8_add(acc[i], PAIR(x, y)))

int main(void) {
    const v128_t a = wasm_i8x16_splat(3), b = wasm_i8x16_splat(1);
    const long long n = 20000000;
    static const struct { const char *name; v128_t (*f)(long long, v128_t, v128_t); int macs; } mixes[] = {
        {"i32x4.dot_i16x8 + add (SIMD128)", peak_dot_i16, 8},
        {"pair dot + dot with ones + add (u7 pair)", peak_pair_u7, 16},
        {"fused relaxed dot-add (exact kernels)", peak_fused, 16},
        {"pair dot + i16 add (no widening)", peak_pair_only, 16},
    };
    for (int rep = 0; rep < 3; rep++)
        for (size_t m = 0; m < sizeof mixes / sizeof mixes[0]; m++) {
            const double t = now_s();
            const v128_t r = mixes[m].f(n, a, b);
            const double dt = now_s() - t;
            sink = wasm_i32x4_extract_lane(r, 0);
            printf("{\"mix\":\"%s\",\"round\":%d,\"gops\":%.1f}\n", mixes[m].name, rep, (double)n * 6 * mixes[m].macs * 2 / dt / 1e9);
        }
    return 0;
}
