/* quant.h — row conversions between f32 and the stored weight types (Q8_0, Q4_0, F16, BF16).
 *
 * q8_0_quantize_row is bit-identical to ggml's quantize_row_q8_0_ref (d = amax/127 stored as fp16,
 * q = roundf(x/d)); the compute kernels use it as the scalar reference for activations too.
 * Non-finite inputs (never produced by ggml's tests, possible in a hostile file) give q = 0
 * instead of undefined behaviour. k is a multiple of QK8_0. */
#ifndef XLMR_QUANT_H
#define XLMR_QUANT_H

#include "model.h"

void q8_0_quantize_row(const float *x, block_q8_0 *y, int64_t k);
void q8_0_dequantize_row(const block_q8_0 *x, float *y, int64_t k);

/* Bit-identical to ggml's quantize_row_q4_0_ref: per block, max = the element of largest |x| (its sign kept, the first
 * of equals), d = max / -8 stored as fp16, nibble = MIN(15, (int8_t)(x / d + 8.5f)) with the unrounded d's inverse.
 * Non-finite inputs give nibble 8 (zero) where ggml's cast is undefined. k is a multiple of QK4_0. */
void q4_0_quantize_row(const float *x, block_q4_0 *y, int64_t k);
void q4_0_dequantize_row(const block_q4_0 *x, float *y, int64_t k);

/* Q8_0 blocks of tensor t by row-major block index (block b is row b / (K / 32), column block b % (K / 32)),
 * whatever t->layout is: copied in, copied out, or quantized from k floats (k a multiple of QK8_0). */
void q8_0_put_blocks(xlmr_tensor *t, uint64_t first, const block_q8_0 *src, size_t n);
void q8_0_get_blocks(const xlmr_tensor *t, uint64_t first, block_q8_0 *dst, size_t n);
void q8_0_quantize_into(xlmr_tensor *t, uint64_t first, const float *x, int64_t k);

void f16_from_f32_row(const float *x, uint16_t *y, int64_t n);
void f16_to_f32_row(const uint16_t *x, float *y, int64_t n);
void bf16_to_f32_row(const uint16_t *x, float *y, int64_t n);

/* Bytes of a tensor of n elements in a type (n a multiple of 32 for Q8_0 and Q4_0), 0 for an unknown type. */
size_t quant_type_size(int32_t type, int64_t n);
const char *quant_type_name(int32_t type);

#endif
