/* tok_trie.h — a double-array trie over byte strings (piece -> id), built once per tokenizer.
 *
 * Slot s has children at base[s] + byte + 1, valid when check[u] == s; value[s] is the id of the key
 * ending at s, or -1 (with its score next to it). One step costs two array reads whatever the number of keys, which is what
 * keeps Viterbi's cost per character independent of the vocabulary size (XLM-R: 250k pieces).
 * The arrays are padded so that base[s] + 256 + 1 is always in range: lookups need no bounds check. */
#ifndef XLMR_TOK_TRIE_H
#define XLMR_TOK_TRIE_H

#include "common.h"

/* One slot, 16 bytes: a step (and reading the key found there) touches one cache line. */
typedef struct tok_trie_slot {
    int32_t base;
    int32_t check; /* parent slot, -1 when free */
    int32_t value; /* key id or -1 */
    float score;   /* the key's score (tok_trie_key.score) */
} tok_trie_slot;

typedef struct tok_trie {
    tok_trie_slot *slots; /* (n_slots) */
    size_t n_slots;
} tok_trie;

typedef struct tok_trie_key {
    const uint8_t *s;
    uint32_t len; /* > 0 */
    int32_t value;
    float score; /* carried into the slot, so a lookup needs no second table */
} tok_trie_key;

/* Builds the trie (reordering keys in place). Keys must be distinct: on a duplicate the error names
 * both values. An empty key set gives a trie that matches nothing. */
xlmr_status tok_trie_build(tok_trie *t, tok_trie_key *keys, size_t n, xlmr_error *err);
void tok_trie_free(tok_trie *t);

/* Child of slot s by byte c, or -1. */
static inline int32_t tok_trie_next(const tok_trie *t, int32_t s, uint8_t c) {
    int32_t u = t->slots[s].base + (int32_t)c + 1;
    return t->slots[u].check == s ? u : -1;
}

/* Longest key that is a prefix of s[0..n): its length (0 if none) and value. */
size_t tok_trie_longest_prefix(const tok_trie *t, const uint8_t *s, size_t n, int32_t *value);

/* Exact lookup: value or -1. */
int32_t tok_trie_find(const tok_trie *t, const uint8_t *s, size_t n);

#endif
