/* base64.h — RFC 4648 base64 (the standard alphabet, '=' padding), decoding only: the precompiled charsmap of
 * a Hugging Face tokenizer.json is stored this way. */
#ifndef XLMR_BASE64_H
#define XLMR_BASE64_H

#include "common.h"

/* Bytes s[0..n) decode to at most this many. */
size_t base64_decoded_max(size_t n);
/* Decodes s[0..n) into out (room for base64_decoded_max(n) bytes), *out_len the bytes written. Padding may be
 * left out; a character outside the alphabet, '=' anywhere but the end, or a lone final character is
 * XLMR_ERR_FORMAT naming its offset. */
xlmr_status base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, xlmr_error *err);

#endif
