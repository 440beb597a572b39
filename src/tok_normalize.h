/* tok_normalize.h — SentencePiece's normalizer, exactly as normalizer.cc applies it.
 *
 * Per step, the longest of: a user-defined piece (kept verbatim), a rule of the precompiled charsmap
 * (darts-clone double array over the input bytes -> NUL-terminated replacement), or one UTF-8
 * character copied as is (an invalid byte becomes U+FFFD and consumes one byte). Around that:
 * leading spaces dropped, runs of spaces collapsed, trailing spaces dropped (remove_extra_whitespaces),
 * a dummy "▁" prefix (add_dummy_prefix), ' ' -> "▁" (escape_whitespaces). */
#ifndef XLMR_TOK_NORMALIZE_H
#define XLMR_TOK_NORMALIZE_H

#include "common.h"
#include "tok_trie.h"

typedef struct tok_buf {
    uint8_t *p;
    size_t n, cap;
} tok_buf;

int tok_buf_reserve(tok_buf *b, size_t extra); /* 1 ok, 0 out of memory / overflow */
void tok_buf_free(tok_buf *b);

typedef struct tok_normalizer {
    const uint8_t *units; /* darts-clone units, u32 little-endian; NULL: no charsmap */
    size_t n_units;
    const uint8_t *repl; /* replacement strings, NUL-terminated, indexed by unit values */
    size_t repl_len;
    const tok_trie *user; /* user-defined pieces, matched before the charsmap; NULL if none */
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces;
} tok_normalizer;

/* Splits a precompiled charsmap blob (u32 trie size, trie, replacement strings) as
 * DecodePrecompiledCharsMap does, into nz->units / repl. The blob must outlive nz. */
xlmr_status tok_normalizer_set_charsmap(tok_normalizer *nz, const uint8_t *blob, size_t n, xlmr_error *err);

/* Appends the normalized form of in[0..n) to out (out->n is not reset). */
xlmr_status tok_normalize(const tok_normalizer *nz, const uint8_t *in, size_t n, tok_buf *out, xlmr_error *err);

/* Where each normalized byte came from, as normalizer.cc's norm_to_orig: v[j] is the input offset of the
   unit that produced output byte j (the dummy prefix: the first unit's), and one more entry, the input
   offset where the text ends (trailing spaces dropped). A piece [a, b) of the output spans the input
   [v[a], v[b]), whitespace it stands for included. */
typedef struct tok_align {
    uint32_t *v;
    size_t n, cap;
} tok_align;
void tok_align_free(tok_align *al);

/* tok_normalize, appending out->n - (out->n before) + 1 entries to al (al may be NULL). */
xlmr_status tok_normalize_aligned(const tok_normalizer *nz, const uint8_t *in, size_t n, tok_buf *out, tok_align *al, xlmr_error *err);

/* SentencePiece's UTF-8 decoder (util.cc DecodeUTF8): code point and length; invalid -> 0xFFFD, length 1. */
uint32_t tok_utf8_decode(const uint8_t *s, size_t n, size_t *len);

#endif
