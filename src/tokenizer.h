/* tokenizer.h — XLM-R's tokenizer as Hugging Face's XLMRobertaTokenizer (slow) applies it on top of
 * SentencePiece Unigram, bit-exact on the fixtures.
 *
 *   ids:     fairseq layout: <s>=0 <pad>=1 </s>=2 <unk>=3, SentencePiece piece i -> i + 1, <mask> = V-1.
 *   encode:  the literal strings <s> </s> <pad> <unk> <mask> are cut out of the raw text first (with
 *            Python str.strip whitespace removed next to them: both sides, <mask> only its left), each
 *            remaining chunk is normalized and segmented on its own; then <s> ... </s>.
 *   decode:  pieces concatenated, "▁" -> " ", strip, clean_up_tokenization_spaces.
 * A tokenizer is immutable once built: share it freely (no global state). */
#ifndef XLMR_TOKENIZER_H
#define XLMR_TOKENIZER_H

#include "common.h"

typedef struct tok_tokenizer tok_tokenizer;
typedef struct tok_ids {
    int32_t *ids;
    size_t n, cap;
} tok_ids; /* caller zero-inits, tok_ids_free frees */
typedef struct tok_text {
    char *s;
    size_t n, cap;
} tok_text; /* NUL-terminated after each call */

/* What llama.cpp's converter writes in GGUF for XLM-R (tokenizer.ggml.*): tokens in fairseq id order
   (V entries, <s>,<pad>,</s>,<unk>, pieces…, <mask>), scores, token types (llama.cpp token type enum:
   1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte), the precompiled charsmap blob,
   and flags. */
typedef struct tok_vocab_desc {
    size_t n_tokens;
    const char *const *tokens;
    const size_t *token_lens;
    const float *scores;
    const int32_t *types;
    const uint8_t *charsmap;
    size_t charsmap_len;
    int add_space_prefix, remove_extra_whitespaces, escape_whitespaces;
    int32_t bos_id, eos_id, unk_id, pad_id, mask_id; /* fairseq ids: 0, 2, 3, 1, V-1 */
    /* what a tokenizer.json decided (tok_json.c), kept through GGUF; zero for XLM-R's own layout */
    int offsets_rule;    /* TOK_OFFSETS_* */
    int pair_single_sep; /* pairs as <s> A </s> B </s> */
    int pair_type_b;     /* token type id of a pair's second text */
} tok_vocab_desc;

/* From a sentencepiece.bpe.model file (bytes may be freed afterwards). */
xlmr_status tok_from_spm_model(const uint8_t *bytes, size_t n, tok_tokenizer **out, xlmr_error *err);
/* From the GGUF tokenizer arrays (copied; d may be freed afterwards). Byte fallback is on when the
   vocabulary holds byte tokens (type 6). */
xlmr_status tok_from_vocab(const tok_vocab_desc *d, tok_tokenizer **out, xlmr_error *err);
/* From a Hugging Face tokenizer.json (the `tokenizers` library's file) of a Unigram model in XLM-R's layouts: the
   same tokenizer the .model it was converted from gives (tok_json.c says which layouts read). The text may be
   freed afterwards. The file also decides the offsets rule and the pair template (below). */
xlmr_status tok_from_hf_json(const char *json, size_t n, tok_tokenizer **out, xlmr_error *err);
/* Fills d with pointers into t (valid while t lives) — the GGUF writer serializes this;
   tok_from_vocab(d) rebuilds an identical tokenizer. */
void tok_export_vocab(const tok_tokenizer *t, tok_vocab_desc *d);
void tok_free(tok_tokenizer *t);

int32_t tok_vocab_size(const tok_tokenizer *t); /* fairseq V, <mask> included */
int32_t tok_mask_id(const tok_tokenizer *t);
int32_t tok_pad_id(const tok_tokenizer *t);
int32_t tok_bos_id(const tok_tokenizer *t);
int32_t tok_eos_id(const tok_tokenizer *t);
int32_t tok_unk_id(const tok_tokenizer *t);

/* <s> text </s>; max_len > 0: truncate to max_len ids keeping </s> (max_len < 2: XLMR_ERR_ARG). */
xlmr_status tok_encode(const tok_tokenizer *t, const char *text, size_t n, int max_len, tok_ids *out, xlmr_error *err);
/* <s> A </s></s> B </s>; max_len > 0: truncation 'longest_first' as the reference (one id at a time
   from the longer of A and B, from B on a tie; max_len < 4: XLMR_ERR_ARG). */
xlmr_status tok_encode_pair(const tok_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int max_len, tok_ids *out,
                            xlmr_error *err);
/* Ids of the text alone: no <s> </s>, no truncation (appended to out). */
xlmr_status tok_encode_raw(const tok_tokenizer *t, const char *text, size_t n, tok_ids *out, xlmr_error *err);

/* ---- offsets: every id's [start, end) in UTF-16 code units of the caller's text (what JS indexes) ----
 * As Hugging Face's fast XLM-R tokenizer reports them. TOK_OFFSETS_TRIMMED (the hub's tokenizer.json,
 * WhitespaceSplit before Metaspace): a span leaves out the whitespace its "▁" stands for, and a lone "▁"
 * takes the span of the next word's first character. TOK_OFFSETS_METASPACE (Metaspace alone, transformers
 * 4.x's converter): the span includes that whitespace. Either way <s> and </s> added around the text are
 * (0, 0), a special token typed in the text spans its characters, and a piece of the normalized text spans
 * the original characters it came from (SentencePiece's alignment). */
enum { TOK_OFFSETS_TRIMMED = 0, TOK_OFFSETS_METASPACE = 1 };

/* The rule t's source implies: a tokenizer.json's pre-tokenizer, else TOK_OFFSETS_TRIMMED (the hub's file). */
int tok_offsets_rule(const tok_tokenizer *t);
/* The pair template: separators between A and B (2: <s> A </s></s> B </s>, RoBERTa's; 1: <s> A </s> B </s>,
   a BERT-style tokenizer.json) and the type id of B's tokens (0, or 1 in BERT-style files). */
void tok_pair_template(const tok_tokenizer *t, int *separators, int *type_b);

/* tok_encode_raw, appending two entries (start, end) per id to offsets. */
xlmr_status tok_encode_raw_offsets(const tok_tokenizer *t, const char *text, size_t n, int rule, tok_ids *out, tok_ids *offsets,
                                   xlmr_error *err);
/* tok_encode with offsets (2 per id, replaced). */
xlmr_status tok_encode_offsets(const tok_tokenizer *t, const char *text, size_t n, int max_len, int rule, tok_ids *out, tok_ids *offsets,
                               xlmr_error *err);

/* ---- pairs: <s> A </s></s> B </s>, truncated or in windows (Hugging Face's semantics) ---- */
enum { TOK_TRUNC_LONGEST_FIRST = 0, TOK_TRUNC_ONLY_FIRST = 1, TOK_TRUNC_ONLY_SECOND = 2 };

/* Windows laid back to back: window w is entries [starts[w], starts[w + 1]) of ids and seq, and twice that of
 * offsets. seq: 0 for a token of A, 1 of B, -1 for the added <s> </s>. Offsets index A's or B's own text. */
typedef struct tok_windows {
    tok_ids ids, offsets, seq, starts;
    size_t n; /* windows */
} tok_windows;
void tok_windows_free(tok_windows *w);

/* max_len <= 0: no truncation, one window. Else the pair is cut to max_len ids: longest_first removes one
 * id at a time from the longer of A and B (from B on a tie); only_first / only_second cut that text alone
 * (XLMR_ERR_TOO_LONG when the other leaves it no room). stride < 0: one window, the rest dropped.
 * stride >= 0 (only_first / only_second): every window over the cut text as return_overflowing_tokens
 * gives them: slices of (room) ids starting every room - stride ids, the last reaching the end; the other
 * text whole in each (stride >= room: XLMR_ERR_ARG). */
xlmr_status tok_encode_pair_windows(const tok_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int max_len, int strategy,
                                    int stride, int rule, tok_windows *out, xlmr_error *err);

const char *tok_piece(const tok_tokenizer *t, int32_t id); /* convert_ids_to_tokens; NULL if out of range */
/* Id of a token string as convert_tokens_to_ids does it (<unk> id for unknown strings). */
int32_t tok_piece_to_id(const tok_tokenizer *t, const char *piece, size_t n);

/* ids -> text as the reference decodes (an id out of range: XLMR_ERR_ARG). */
xlmr_status tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, int skip_special, tok_text *out, xlmr_error *err);

void tok_ids_free(tok_ids *v);
void tok_text_free(tok_text *v);

#endif
