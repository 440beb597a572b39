/* tok_json.h — the parts of a tokenizer.json around its vocabulary (normalizer, pre-tokenizer, post-processor),
 * read by tok_json_pipeline.c for tok_json.c. Not for callers: they use tok_from_hf_json (tokenizer.h). */
#ifndef XLMR_TOK_JSON_H
#define XLMR_TOK_JSON_H

#include "json.h"
#include "tok_internal.h"

typedef struct tok_json_pipeline {
    uint8_t *charsmap; /* the Precompiled normalizer's charsmap, decoded (owned; NULL without one) */
    size_t charsmap_len;
    int add_prefix;      /* Metaspace prepends "▁" to every chunk */
    int offsets_rule;    /* TOK_OFFSETS_TRIMMED with WhitespaceSplit before Metaspace, else TOK_OFFSETS_METASPACE */
    int pair_single_sep; /* the pair template has one </s> between A and B (BERT-style), not two */
    int pair_type_b;     /* the pair template's type id of B's tokens */
} tok_json_pipeline;

/* root's normalizer, pre_tokenizer and post_processor into p; sid: the five specials' ids (SPECIAL_* order), which
 * the post-processor's tokens must be. On error p->charsmap may be set: the caller frees it either way. */
xlmr_status tok_json_read_pipeline(const json_value *root, const int32_t sid[N_SPECIAL], tok_json_pipeline *p, xlmr_error *err);

#endif
