/* tok_unigram.c — see tok_unigram.h. */
#include "tok_unigram.h"

/* Best path ending at a byte position. */
typedef struct path_end {
    float score;
    int32_t start; /* -1: not reached yet */
    int32_t id;
} path_end;

/* string_util::OneCharLen: length of a UTF-8 sequence from its lead byte (invalid leads count 1). */
static inline uint32_t one_char_len(uint8_t b) {
    static const uint8_t len[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len[b >> 4];
}

void tok_segments_free(tok_segments *segs) {
    XLMR_FREE(segs->v);
    segs->v = NULL;
    segs->n = segs->cap = 0;
}

/* Every piece starting at byte pos (a walk down the trie) relaxes the best path ending where it ends; a
   character no single-character piece covers gets an <unk> edge instead. */
static inline void relax_from(const tok_unigram *u, const uint8_t *s, int32_t size, int32_t pos, path_end *best) {
    const tok_trie_slot *slots = u->trie->slots;
    const float here = best[pos].score;
    int32_t mblen = (int32_t)one_char_len(s[pos]);
    if (mblen > size - pos) mblen = size - pos;
    int has_single = 0;
    int32_t node = 0;
    for (int32_t k = pos; k < size; k++) {
        int32_t next = slots[node].base + (int32_t)s[k] + 1;
        if (slots[next].check != node) break;
        node = next;
        int32_t id = slots[node].value;
        if (id < 0) continue;
        const int32_t len = k + 1 - pos;
        /* The reference computes the candidate in double (score is double for user-defined
           pieces, so the ternary is double) and compares it with the stored float. User-defined
           pieces carry a NaN score in the trie. */
        const float sc = slots[node].score;
        double cand;
        if (sc != sc)
            cand = ((double)((float)len * u->max_score) - 0.1) + (double)here;
        else
            cand = (double)sc + (double)here;
        path_end *e = &best[k + 1];
        if (e->start < 0 || cand > (double)e->score) {
            e->score = (float)cand;
            e->start = pos;
            e->id = id;
        }
        if (len == mblen) has_single = 1;
    }
    if (!has_single) {
        path_end *e = &best[pos + mblen];
        const float cand = u->unk_score + here; /* float arithmetic, as the reference */
        if (e->start < 0 || cand > e->score) {
            e->score = cand;
            e->start = pos;
            e->id = u->unk_id;
        }
    }
}

/* The best path read back from the end into segs: count, then fill from the end. */
static xlmr_status backtrack(const path_end *best, int32_t size, tok_segments *segs, xlmr_error *err) {
    size_t count = 0;
    for (int32_t end = size; end > 0; end = best[end].start) {
        if (best[end].start < 0 || best[end].start >= end)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: no segmentation reaches byte %d (corrupt piece table?)", (int)end);
        count++;
    }
    if (count > segs->cap) {
        tok_segment *v = XLMR_REALLOC(segs->v, count * sizeof *v);
        if (!v) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: cannot allocate %zu segments", count);
        segs->v = v;
        segs->cap = count;
    }
    size_t i = count;
    for (int32_t end = size; end > 0; end = best[end].start) {
        i--;
        segs->v[i].start = (uint32_t)best[end].start;
        segs->v[i].end = (uint32_t)end;
        segs->v[i].id = best[end].id;
    }
    segs->n = count;
    return XLMR_OK;
}

xlmr_status tok_unigram_encode(const tok_unigram *u, const uint8_t *s, size_t n, tok_segments *segs, xlmr_error *err) {
    segs->n = 0;
    if (n == 0) return XLMR_OK;
    if (n >= (size_t)INT32_MAX / 2)
        return xlmr_fail(err, XLMR_ERR_TOO_LONG, "tokenizer: a text chunk of %zu bytes is too long to segment", n);
    size_t bytes;
    if (!xlmr_mul_size(n + 1, sizeof(path_end), &bytes))
        return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: text too long (%zu bytes)", n);
    path_end *best = XLMR_MALLOC(bytes);
    if (!best) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: cannot allocate the Viterbi table for %zu bytes", n);
    for (size_t i = 0; i <= n; i++) {
        best[i].score = 0.0f;
        best[i].start = -1;
        best[i].id = -1;
    }
    const int32_t size = (int32_t)n;
    for (int32_t pos = 0; pos < size;) {
        relax_from(u, s, size, pos, best);
        int32_t mblen = (int32_t)one_char_len(s[pos]);
        pos += mblen > size - pos ? size - pos : mblen;
    }
    xlmr_status st = backtrack(best, size, segs, err);
    XLMR_FREE(best);
    return st;
}
