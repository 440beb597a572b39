/* loader_gguf.c — a GGUF header (metadata and tensor infos, complete in the loader's header buffer) turned into
 * the model: config from the bert.* keys and the tables' shapes, the tensors mapped to slots by name
 * (tensor_table.h), the weights block, the tokenizer from tokenizer.ggml.*, and the data section's segments. */
#include "loader_internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "labels.h"
#include "quant.h"

static int key_int(xlmr_loader *ld, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi, int32_t *out) {
    int64_t i = gguf_find_key(&ld->gr, ld->hbuf, key), v = dflt;
    if (i < 0) {
        if (required) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: missing key %s (not an XLM-R / BERT model file?)", key);
            return 0;
        }
    } else if (!gguf_get_int(&ld->gr, ld->hbuf, i, &v)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: key %s must be an integer", key);
        return 0;
    }
    if (v < lo || v > hi) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s = %lld is outside [%lld, %lld]", key, (long long)v, (long long)lo,
                  (long long)hi);
        return 0;
    }
    *out = (int32_t)v;
    return 1;
}

/* ---- the tokenizer ---- */

/* tokenizer.ggml.model is "t5" (SentencePiece Unigram) and its three arrays have one entry per piece: *n_tok of them,
 * at most the embedding table's V rows (BERT-type checkpoints have unused rows past the tokenizer's ids). */
static int tokenizer_arrays_ok(xlmr_loader *ld, int64_t V, int64_t *n_tok) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf;
    const char *s;
    uint64_t n;
    int64_t i = gguf_find_key(r, b, "tokenizer.ggml.model");
    if (!gguf_get_str(r, b, i, &s, &n) || n != 2 || memcmp(s, "t5", 2) != 0) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tokenizer.ggml.model must be \"t5\" (SentencePiece Unigram), got \"%.*s\"",
                  (int)(n > 40 ? 40 : n), s);
        return 0;
    }
    static const struct {
        const char *key;
        uint32_t type;
    } arrays[] = {{"tokenizer.ggml.tokens", GGUF_STRING}, {"tokenizer.ggml.scores", GGUF_F32}, {"tokenizer.ggml.token_type", GGUF_I32}};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        uint32_t t;
        const uint8_t *data;
        i = gguf_find_key(r, b, arrays[k].key);
        if (i < 0 || !gguf_get_arr(r, b, i, &t, &n, &data) || t != arrays[k].type) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s %s (an array of %s)", arrays[k].key,
                      i < 0 ? "missing" : "has the wrong type", gguf_type_name(arrays[k].type));
            return 0;
        }
        if (k == 0) *n_tok = (int64_t)n;
        if ((int64_t)n != *n_tok || *n_tok > V || *n_tok < 5) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s has %llu entries; tokenizer.ggml.tokens has %lld and "
                      "token_embd.weight %lld rows (5 to that many)", arrays[k].key, (unsigned long long)n,
                      (long long)*n_tok, (long long)V);
            return 0;
        }
    }
    return 1;
}

/* The normalizer (charsmap, whitespace flags) and the special ids, into d. */
static int tokenizer_options(xlmr_loader *ld, int64_t n_tok, tok_vocab_desc *d) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf;
    uint64_t n;
    int64_t i = gguf_find_key(r, b, "tokenizer.ggml.precompiled_charsmap");
    if (i >= 0) {
        uint32_t t;
        if (!gguf_get_arr(r, b, i, &t, &n, &d->charsmap) || (t != GGUF_U8 && t != GGUF_I8)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tokenizer.ggml.precompiled_charsmap must be an array of u8");
            return 0;
        }
        d->charsmap_len = (size_t)n;
    }
    static const char *const flag_keys[] = {"tokenizer.ggml.add_space_prefix", "tokenizer.ggml.remove_extra_whitespaces"};
    int *flags[] = {&d->add_space_prefix, &d->remove_extra_whitespaces};
    for (size_t k = 0; k < 2; k++) {
        i = gguf_find_key(r, b, flag_keys[k]);
        *flags[k] = 1;
        if (i >= 0 && !gguf_get_bool(r, b, i, flags[k])) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s must be a bool", flag_keys[k]);
            return 0;
        }
    }
    d->escape_whitespaces = 1;
    int32_t rule, type_b;
    int single = 0;
    if (!key_int(ld, "xlmr.tokenizer.offsets_rule", 0, 0, 0, 1, &rule) ||
        !key_int(ld, "xlmr.tokenizer.pair_type_b", 0, 0, 0, 1, &type_b))
        return 0;
    i = gguf_find_key(r, b, "xlmr.tokenizer.pair_single_separator");
    if (i >= 0 && !gguf_get_bool(r, b, i, &single)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: xlmr.tokenizer.pair_single_separator must be a bool");
        return 0;
    }
    d->offsets_rule = rule, d->pair_type_b = type_b, d->pair_single_sep = single;
    static const char *const id_keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
                                          "tokenizer.ggml.mask_token_id"};
    int32_t *ids[] = {&d->bos_id, &d->eos_id, &d->unk_id, &d->pad_id, &d->mask_id};
    const int64_t id_dflt[] = {0, 2, 3, 1, n_tok - 1}; /* XLM-R's fairseq layout */
    for (size_t k = 0; k < 5; k++)
        if (!key_int(ld, id_keys[k], 0, id_dflt[k], 0, n_tok - 1, ids[k])) return 0;
    return 1;
}

/* The vocabulary arrays (unaligned in the header buffer) copied out, and the tokenizer built from them. */
static int tokenizer_build(xlmr_loader *ld, int64_t n_tok, tok_vocab_desc *d) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf, *tokp, *scp, *typ;
    uint32_t t;
    uint64_t n;
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.tokens"), &t, &n, &tokp);
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.scores"), &t, &n, &scp);
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.token_type"), &t, &n, &typ);
    const char **tokens = XLMR_MALLOC((size_t)n_tok * sizeof(char *));
    size_t *lens = XLMR_MALLOC((size_t)n_tok * sizeof(size_t));
    float *scores = XLMR_MALLOC((size_t)n_tok * sizeof(float));
    int32_t *types = XLMR_MALLOC((size_t)n_tok * sizeof(int32_t));
    int ok = 0;
    if (!tokens || !lens || !scores || !types) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory for the vocabulary");
        goto out;
    }
    for (int64_t k = 0; k < n_tok; k++) {
        uint64_t sl;
        gguf_next_str(&tokp, &tokens[k], &sl);
        lens[k] = (size_t)sl;
        scores[k] = xlmr_rd_f32(scp + 4 * k);
        types[k] = (int32_t)xlmr_rd_u32(typ + 4 * k);
    }
    d->n_tokens = (size_t)n_tok;
    d->tokens = tokens;
    d->token_lens = lens;
    d->scores = scores;
    d->types = types;
    xlmr_error e = {0};
    if (tok_from_vocab(d, &ld->m->tok, &e) != XLMR_OK) {
        xlmr_fail(&ld->err, e.code ? e.code : XLMR_ERR_FORMAT, "GGUF tokenizer: %s", e.msg);
        goto out;
    }
    ok = 1;
out:
    XLMR_FREE(tokens);
    XLMR_FREE(lens);
    XLMR_FREE(scores);
    XLMR_FREE(types);
    return ok;
}

static int read_tokenizer(xlmr_loader *ld) {
    int64_t n_tok = 0;
    if (gguf_find_key(&ld->gr, ld->hbuf, "tokenizer.ggml.model") < 0) {
        if (ld->tok) return 1; /* the host gave a sentencepiece model instead */
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                  "GGUF: no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens missing); give the "
                  "sentencepiece model with xlmr_loader_set_tokenizer");
        return 0;
    }
    tok_vocab_desc d;
    memset(&d, 0, sizeof d);
    return tokenizer_arrays_ok(ld, ld->m->config.vocab_size, &n_tok) && tokenizer_options(ld, n_tok, &d) &&
           tokenizer_build(ld, n_tok, &d);
}

/* ---- a classification head's labels and problem type ---- */

/* bert.classifier.output_labels (llama.cpp's key) into ld->labels; xlmr.problem_type (ours) into the config. */
static int read_labels(xlmr_loader *ld) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf, *data;
    uint32_t t;
    uint64_t n;
    const char *s;
    int64_t i = gguf_find_key(r, b, "xlmr.problem_type");
    if (i >= 0) {
        if (gguf_get_str(r, b, i, &s, &n)) ld->m->config.problem_type = config_problem_type_find(s, n);
        if (ld->m->config.problem_type == XLMR_PROBLEM_UNSET) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: xlmr.problem_type must be one of single_label_classification, "
                      "multi_label_classification, regression");
            return 0;
        }
    }
    i = gguf_find_key(r, b, "bert.classifier.output_labels");
    if (i < 0) return ld_apply_labels(ld, "bert.classifier.output_labels");
    if (!gguf_get_arr(r, b, i, &t, &n, &data) || t != GGUF_STRING || n > LABELS_MAX) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: bert.classifier.output_labels must be an array of at most %d strings",
                  LABELS_MAX);
        return 0;
    }
    const char **names = XLMR_MALLOC((n ? n : 1) * sizeof(char *));
    size_t *lens = XLMR_MALLOC((n ? n : 1) * sizeof(size_t));
    int ok = names && lens;
    for (uint64_t k = 0; ok && k < n; k++) {
        uint64_t sl;
        gguf_next_str(&data, &names[k], &sl);
        lens[k] = (size_t)sl;
    }
    xlmr_error e = {0};
    if (!ok) xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory for %llu labels", (unsigned long long)n);
    else if (labels_set(&ld->labels, (int)n, names, lens, &e) != XLMR_OK)
        ok = 0, xlmr_fail(&ld->err, e.code, "GGUF: bert.classifier.output_labels: %s", e.msg);
    XLMR_FREE(names);
    XLMR_FREE(lens);
    return ok && ld_apply_labels(ld, "bert.classifier.output_labels");
}

/* ---- the config ---- */

/* embed's defaults: bert.pooling_type (llama.cpp's: 1 mean, 2 CLS, 3 last; 0 none and 4 rank say nothing about
 * embeddings) and xlmr.normalize (ours). */
static int read_pooling(xlmr_loader *ld, xlmr_config *c) {
    gguf_reader *r = &ld->gr;
    int32_t type;
    int normalize = 0;
    c->pooling = c->normalize = -1;
    if (!key_int(ld, "bert.pooling_type", 0, 0, 0, 4, &type)) return 0;
    static const int32_t pooling_of[] = {-1, XLMR_POOL_MEAN, XLMR_POOL_CLS, XLMR_POOL_LAST, -1};
    c->pooling = pooling_of[type];
    const int64_t i = gguf_find_key(r, ld->hbuf, "xlmr.normalize");
    if (i >= 0 && !gguf_get_bool(r, ld->hbuf, i, &normalize)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: xlmr.normalize must be a bool");
        return 0;
    }
    if (i >= 0) c->normalize = normalize;
    /* ours: the vocabulary size before xlmr trim (vocab_trim.c); 0 or absent: not trimmed */
    return key_int(ld, "xlmr.trimmed.original_vocab_size", 0, 0, 0, CONFIG_MAX_VOCAB, &c->trimmed_from);
}

/* The bert.* hyperparameters; *ctx: bert.context_length (the position table's rows). */
static int read_hyperparameters(xlmr_loader *ld, xlmr_config *c, int32_t *ctx) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf;
    const char *arch;
    uint64_t arch_n;
    int64_t i = gguf_find_key(r, b, "general.architecture");
    if (i < 0 || !gguf_get_str(r, b, i, &arch, &arch_n)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: missing general.architecture");
        return 0;
    }
    if (arch_n != 4 || memcmp(arch, "bert", 4) != 0) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: architecture \"%.*s\" is not supported (expected \"bert\")",
                  (int)(arch_n > 40 ? 40 : arch_n), arch);
        return 0;
    }
    memset(c, 0, sizeof *c);
    if (!key_int(ld, "bert.embedding_length", 1, 0, 1, CONFIG_MAX_HIDDEN, &c->hidden_size) ||
        !key_int(ld, "bert.block_count", 1, 0, 1, CONFIG_MAX_LAYERS, &c->num_layers) ||
        !key_int(ld, "bert.attention.head_count", 1, 0, 1, CONFIG_MAX_HIDDEN, &c->num_heads) ||
        !key_int(ld, "bert.feed_forward_length", 1, 0, 1, CONFIG_MAX_FFN, &c->intermediate_size) ||
        !key_int(ld, "bert.context_length", 1, 0, 1, CONFIG_MAX_POSITIONS, ctx) ||
        !key_int(ld, "tokenizer.ggml.padding_token_id", 0, 1, 0, CONFIG_MAX_VOCAB, &c->pad_id))
        return 0;
    double eps;
    i = gguf_find_key(r, b, "bert.attention.layer_norm_epsilon");
    if (i < 0 || !gguf_get_float(r, b, i, &eps)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: bert.attention.layer_norm_epsilon %s", i < 0 ? "missing" : "must be a float");
        return 0;
    }
    c->layer_norm_eps = (float)eps;
    /* ours: a BERT-type model (positions from 0 for every token); llama.cpp's XLM-R files have RoBERTa's */
    i = gguf_find_key(r, b, "xlmr.bert_positions");
    int flag = 0;
    if (i >= 0 && !gguf_get_bool(r, b, i, &flag)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: xlmr.bert_positions must be a bool");
        return 0;
    }
    c->bert_positions = flag;
    return read_pooling(ld, c);
}

/* Vocabulary, token types and positions from the tables' shapes; the head from the tensors present, its label count
 * from theirs. */
static int read_table_sizes(xlmr_loader *ld, xlmr_config *c, int32_t ctx) {
    const gguf_reader *r = &ld->gr;
    int64_t at[TENSOR_SLOTS_EMBEDDINGS];
    for (int s = 0; s < TENSOR_SLOTS_EMBEDDINGS; s++) at[s] = -1;
    int head = XLMR_HEAD_NONE;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[k];
        const int s = model_slot_find(c, (const char *)ld->hbuf + t->name_off, (size_t)t->name_len);
        if (s >= 0 && s < TENSOR_SLOTS_EMBEDDINGS) at[s] = (int64_t)k;
        if (s >= 0 && (!ld_note_head(ld, &head, model_slot_head(c, s), "GGUF") || !ld_note_labels(ld, c, s, t->ne))) return 0;
    }
    static const int tables[] = {TENSOR_SLOT_tok_embd, TENSOR_SLOT_pos_embd, TENSOR_SLOT_type_embd};
    for (size_t k = 0; k < sizeof tables / sizeof tables[0]; k++)
        if (at[tables[k]] < 0) {
            model_slot ms;
            xlmr_model probe = {.config = *c};
            model_slot_get(&probe, tables[k], &ms);
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s missing", ms.name);
            return 0;
        }
    const int64_t vocab = r->tis[at[TENSOR_SLOT_tok_embd]].ne[1], types = r->tis[at[TENSOR_SLOT_type_embd]].ne[1],
                  positions = r->tis[at[TENSOR_SLOT_pos_embd]].ne[1];
    if (vocab > CONFIG_MAX_VOCAB || types > CONFIG_MAX_TYPES || positions != ctx) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                  "GGUF: table sizes out of range: token_embd %lld rows, token_types %lld rows, position_embd %lld rows "
                  "(bert.context_length %d)",
                  (long long)vocab, (long long)types, (long long)positions, (int)ctx);
        return 0;
    }
    c->vocab_size = (int32_t)vocab;
    c->type_vocab_size = (int32_t)types;
    c->max_positions = ctx + model_position_offset(c);
    c->head = head;
    return 1;
}

/* ---- tensors ---- */

/* Each file tensor we know checked against its slot (shape, type, duplicates); every held slot filled. */
static int map_tensors(xlmr_loader *ld, int *from, int n_slots) {
    const gguf_reader *r = &ld->gr;
    const xlmr_config *c = &ld->m->config;
    char sb[96], sb2[96];
    model_slot ms;
    for (int s = 0; s < n_slots; s++) from[s] = -1;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[k];
        const int s = model_slot_find(c, (const char *)ld->hbuf + t->name_off, (size_t)t->name_len);
        if (s < 0) continue;
        model_slot_get(ld->m, s, &ms);
        if (t->ne[0] != ms.ne[0] || t->ne[1] != ms.ne[1] || t->ne[2] != 1 || t->ne[3] != 1) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s has shape %s, expected %s from the metadata", ms.name,
                      ld_shape_str(sb, sizeof sb, (int)t->n_dims, t->ne),
                      ld_shape_str(sb2, sizeof sb2, ms.kind == TENSOR_VECTOR ? 1 : 2, ms.ne));
            return 0;
        }
        if (ms.kind != TENSOR_MATRIX && t->type != XLMR_TYPE_F32) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s is %s, expected F32", ms.name, quant_type_name((int32_t)t->type));
            return 0;
        }
        if (from[s] >= 0) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: two tensors are %s", ms.name);
            return 0;
        }
        from[s] = (int)k;
        ld->types[s] = (int32_t)t->type;
    }
    for (int s = 0; s < n_slots; s++) {
        model_slot_get(ld->m, s, &ms);
        if (from[s] < 0 && model_slot_held(c, &ms)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s missing%s", ms.name,
                      ms.head != XLMR_HEAD_NONE ? " (the file has part of a task head)" : "");
            return 0;
        }
    }
    return 1;
}

static int cmp_offset(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

/* The data section in file order: tensors (slot, or skipped when unknown), the gaps between them, and the
 * padding after the last one, which some writers leave out. */
static int plan_segments(xlmr_loader *ld) {
    const gguf_reader *r = &ld->gr;
    uint64_t *ord = XLMR_MALLOC((size_t)(r->n_tensors ? r->n_tensors : 1) * 2 * sizeof(uint64_t));
    size_t cap = 0;
    int ok = ord != NULL;
    for (uint64_t k = 0; ok && k < r->n_tensors; k++) {
        ord[2 * k] = r->tis[k].offset;
        ord[2 * k + 1] = k;
    }
    if (ok) qsort(ord, (size_t)r->n_tensors, 2 * sizeof(uint64_t), cmp_offset);
    uint64_t at = 0;
    for (uint64_t k = 0; ok && k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[ord[2 * k + 1]];
        ld_seg *sg;
        if (t->offset > at && !(sg = ld_seg_push(ld, &cap))) ok = 0;
        else if (t->offset > at) sg->len = t->offset - at;
        if (!ok || t->nbytes == 0) continue;
        if (!(sg = ld_seg_push(ld, &cap))) ok = 0;
        else {
            sg->len = t->nbytes;
            sg->slot = model_slot_find(&ld->m->config, (const char *)ld->hbuf + t->name_off, (size_t)t->name_len);
            at = t->offset + t->nbytes;
        }
    }
    XLMR_FREE(ord);
    const uint64_t padded = (at + r->alignment - 1) / r->alignment * r->alignment;
    ld_seg *sg = NULL;
    if (ok && padded > at && !(sg = ld_seg_push(ld, &cap))) ok = 0;
    if (sg) {
        sg->len = padded - at;
        sg->optional = 1;
    }
    ld->data_start = r->data_start;
    ld->total = r->data_start + padded;
    ld->stage = ok ? XLMR_MALLOC(LOADER_STAGE_BYTES) : NULL; /* for tensors laid out for the GEMM */
    if (!ld->stage) xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
    return ld->stage != NULL;
}

int ld_gguf_ready(xlmr_loader *ld) {
    xlmr_config c;
    int32_t ctx;
    if (!read_hyperparameters(ld, &c, &ctx) || !read_table_sizes(ld, &c, ctx)) return 0;
    if (config_validate(&c, &ld->err) != XLMR_OK || !ld_begin_model(ld, &c)) return 0;
    const int n_slots = model_slot_count(&c);
    int *from = XLMR_MALLOC((size_t)n_slots * sizeof(int));
    if (!from) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    const int mapped = map_tensors(ld, from, n_slots);
    XLMR_FREE(from);
    /* The tensor block first, then the tokenizer: wasm memory never shrinks, so what is freed below the block stays
     * resident. This way the header buffer (its earlier copies included) is one hole under the block, which the
     * activations reuse, and the tokenizer's temporaries are freed above it. */
    return mapped && read_labels(ld) && model_alloc_block(ld->m, ld->types, &ld->err) == XLMR_OK && read_tokenizer(ld) &&
           plan_segments(ld);
}
