/* tok_unigram.h — SentencePiece Unigram segmentation (unigram_model.cc EncodeOptimized).
 *
 * Viterbi over byte positions of the normalized text: from each character start, walk the piece
 * trie; every piece found is a candidate edge scored by its log-probability (user-defined pieces:
 * length * max_score - 0.1, so they always win); a character no single-character piece covers gets an
 * <unk> edge scored min_score - 10. Scores accumulate exactly as the reference does (float storage,
 * double comparison), so ties break identically. */
#ifndef XLMR_TOK_UNIGRAM_H
#define XLMR_TOK_UNIGRAM_H

#include "common.h"
#include "tok_trie.h"

typedef struct tok_unigram {
    const tok_trie *trie; /* normal pieces -> id with their score; user-defined pieces -> id with a NaN score */
    float max_score, unk_score;
    int32_t unk_id;
} tok_unigram;

/* One segment of the best path: bytes [start, end) of the text and its id (unk_id for unknown). */
typedef struct tok_segment {
    uint32_t start, end;
    int32_t id;
} tok_segment;

typedef struct tok_segments {
    tok_segment *v;
    size_t n, cap;
} tok_segments;

/* Replaces segs' content with the best segmentation of s[0..n) (n < 2^31). */
xlmr_status tok_unigram_encode(const tok_unigram *u, const uint8_t *s, size_t n, tok_segments *segs, xlmr_error *err);
void tok_segments_free(tok_segments *segs);

#endif
