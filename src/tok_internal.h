/* tok_internal.h — the tokenizer's fields and helpers, shared by the files that build it (tok_vocab.c,
 * tok_spm.c) and the ones that encode and decode with it (tokenizer.c, tok_decode.c). Not for callers. */
#ifndef XLMR_TOK_INTERNAL_H
#define XLMR_TOK_INTERNAL_H

#include "tok_normalize.h"
#include "tok_trie.h"
#include "tok_unigram.h"
#include "tokenizer.h"

struct tok_tokenizer {
    int32_t n_tokens; /* V */
    char *strings;    /* every token string, NUL-terminated, back to back */
    const char **tokens;
    size_t *token_lens;
    float *scores;
    int32_t *types;
    uint8_t *user_defined; /* by id */
    uint8_t *charsmap;     /* owned copy of the precompiled charsmap */
    size_t charsmap_len;
    tok_trie pieces; /* normal + user-defined pieces -> id (Viterbi) */
    tok_trie user;   /* user-defined pieces only (normalizer prefix matcher) */
    int has_user;
    tok_normalizer nz;
    tok_unigram ug;
    int byte_fallback;
    int32_t byte_ids[256];
    int32_t bos, eos, unk, pad, mask;
    int add_space_prefix, remove_extra_whitespaces, escape_whitespaces;
    /* what a tokenizer.json says (tok_json.c); zero, the hub's XLM-R file, for the other sources */
    int offsets_rule;    /* TOK_OFFSETS_* its pre-tokenizer implies */
    int pair_single_sep; /* pairs as <s> A </s> B </s> (a BERT-style template), not <s> A </s></s> B </s> */
    int pair_type_b;     /* the pair template's type id of B's tokens */
};

/* The literal special tokens, in the order of their fairseq ids (<mask> last). */
enum { SPECIAL_BOS, SPECIAL_PAD, SPECIAL_EOS, SPECIAL_UNK, SPECIAL_MASK, N_SPECIAL };
extern const char *const tok_special_text[N_SPECIAL];
extern const size_t tok_special_len[N_SPECIAL];

int32_t tok_special_id(const tok_tokenizer *t, int which);
/* Appends one id: 1, or 0 when out of memory. */
int tok_ids_push(tok_ids *v, int32_t id);

/* Python str semantics on UTF-8 text: isspace, and the ends of strip(). */
int tok_py_isspace(uint32_t c);
size_t tok_lstrip_len(const uint8_t *s, size_t n); /* bytes of leading whitespace */
size_t tok_rstrip_end(const uint8_t *s, size_t n); /* length without the trailing whitespace */

#endif
