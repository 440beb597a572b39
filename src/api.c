/* api.c — the exported model API (src/xlmr.h): thin wrappers that own the result buffers the
 * host reads (ids, decoded text, the config as JSON) and translate statuses to return values.
 * The computing lives in encoder.c / heads.c, the tokenizer in tokenizer.c, loading in loader.c. */
#include "xlmr.h"

#include <stdio.h>

#include "encoder.h"
#include "kernels.h"
#include "kernels_relaxed.h"
#include "labels.h"
#include "model.h"
#include "model_slots.h"
#include "config.h"
#include "task_heads.h"
#include "tokenizer.h"

struct xlmr_api_state {
    tok_ids ids;
    tok_ids offsets; /* 2 per id (xlmr_tokenize_offsets, xlmr_tokenize_pair) */
    tok_windows windows; /* the pair's sequence ids and window starts; its ids and offsets move to the above */
    tok_text text;
    char info[1024];
    char *labels_json;
};

/* NULL for a NULL model (hosts may pass 0): every entry point answers -XLMR_ERR_ARG then. */
static struct xlmr_api_state *api_state(xlmr_model *m) {
    if (!m) return NULL;
    if (!m->api) m->api = XLMR_CALLOC(1, sizeof *m->api);
    if (!m->api) xlmr_fail(&m->err, XLMR_ERR_NOMEM, "out of memory allocating result buffers");
    return m->api;
}

void *xlmr_alloc(size_t n) { return XLMR_MALLOC(n ? n : 1); }
void xlmr_free(void *p) { XLMR_FREE(p); }

void api_state_free(struct xlmr_api_state *api) {
    if (!api) return;
    tok_ids_free(&api->ids);
    tok_ids_free(&api->offsets);
    tok_windows_free(&api->windows);
    tok_text_free(&api->text);
    XLMR_FREE(api->labels_json);
    XLMR_FREE(api);
}

void xlmr_model_free(xlmr_model *m) { model_free(m); }

const char *xlmr_model_error(xlmr_model *m) { return m ? m->err.msg : "no model"; }

int xlmr_model_status(xlmr_model *m) { return m ? (int)m->err.code : XLMR_ERR_STATE; }

static const char *weight_type_name(int32_t type) {
    switch (type) {
    case XLMR_TYPE_F32: return "f32";
    case XLMR_TYPE_F16: return "f16";
    case XLMR_TYPE_Q8_0: return "q8_0";
    case XLMR_TYPE_Q4_0: return "q4_0";
    case XLMR_TYPE_BF16: return "bf16";
    }
    return "unknown";
}

static const char *pooling_json(int32_t pooling) {
    switch (pooling) {
    case XLMR_POOL_NONE: return "\"none\"";
    case XLMR_POOL_CLS: return "\"cls\"";
    case XLMR_POOL_MEAN: return "\"mean\"";
    case XLMR_POOL_LAST: return "\"last\"";
    }
    return "null";
}

const char *xlmr_model_info_json(xlmr_model *m) {
    struct xlmr_api_state *st = api_state(m);
    if (!st) return "{}";
    const xlmr_config *c = &m->config;
    const char *head = c->head != XLMR_HEAD_NONE ? model_head_task(c->head) : NULL;
    const char *problem = config_problem_type_name(c->problem_type);
    char trimmed[16] = "null"; /* the vocabulary size before xlmr trim */
    if (c->trimmed_from > 0) snprintf(trimmed, sizeof trimmed, "%d", (int)c->trimmed_from);
    /* %.9g round-trips a float32 */
    snprintf(st->info, sizeof st->info,
             "{\"hiddenSize\":%d,\"numLayers\":%d,\"numHeads\":%d,\"intermediateSize\":%d,\"vocabSize\":%d,"
             "\"maxPositions\":%d,\"maxTokens\":%d,\"typeVocabSize\":%d,\"layerNormEps\":%.9g,\"hasMlmHead\":%s,"
             "\"weightType\":\"%s\",\"embeddingType\":\"%s\",\"weightsBytes\":%zu,\"padTokenId\":%d,\"bosTokenId\":%d,\"eosTokenId\":%d,"
             "\"unkTokenId\":%d,\"maskTokenId\":%d,\"head\":%s%s%s,\"numLabels\":%d,\"problemType\":%s%s%s,\"pooling\":%s,\"normalize\":%s,\"bertPositions\":%s,"
             "\"trimmedFrom\":%s}",
             c->hidden_size, c->num_layers, c->num_heads, c->intermediate_size, c->vocab_size, c->max_positions,
             c->max_tokens, c->type_vocab_size, (double)c->layer_norm_eps, c->head == XLMR_HEAD_MLM ? "true" : "false",
             weight_type_name(m->w.layers ? m->w.layers[0].q.type : m->w.tok_embd.type), weight_type_name(m->w.tok_embd.type),
             m->weights_size,
             tok_pad_id(m->tok), tok_bos_id(m->tok), tok_eos_id(m->tok), tok_unk_id(m->tok), tok_mask_id(m->tok), head ? "\"" : "", head ? head : "null", head ? "\"" : "",
             c->num_labels, problem ? "\"" : "", problem ? problem : "null", problem ? "\"" : "", pooling_json(c->pooling),
             c->normalize < 0 ? "null" : c->normalize ? "true" : "false", c->bert_positions ? "true" : "false",
             trimmed);
    return st->info;
}

const char *xlmr_build_simd(void) { return KERN_HAVE_RELAXED ? "relaxed" : KERN_HAVE_SIMD128 ? "simd128" : "scalar"; }

int xlmr_dot_probe(void) {
#if KERN_HAVE_RELAXED
    return kern_dot_probe();
#else
    return KERN_DOT_NONE;
#endif
}

int xlmr_int8_kernel_exact(void) { return kern_int8_kernel_for_probe(xlmr_dot_probe()); }

int xlmr_int8_kernel(int kernel) {
    if (kernel < 0) return KERN_HAVE_RELAXED ? kern_int8_kernel() : 0;
    return kern_int8_kernel_set(kernel);
}

int xlmr_tokenize(xlmr_model *m, const char *text, size_t n, int max_len) {
    if (!m) return -XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    struct xlmr_api_state *st = api_state(m);
    if (!st) return -XLMR_ERR_NOMEM;
    xlmr_status s = tok_encode(m->tok, text, n, max_len, &st->ids, &m->err);
    if (s != XLMR_OK) return -(int)s;
    if (st->ids.n > INT32_MAX) return -(int)xlmr_fail(&m->err, XLMR_ERR_TOO_LONG, "tokenize: %zu ids do not fit an int", st->ids.n);
    return (int)st->ids.n;
}

int32_t *xlmr_result_ids(xlmr_model *m) { return m && m->api ? m->api->ids.ids : NULL; }

/* XLMR_OFFSETS_FILE: the rule the tokenizer's file implies. */
static int offsets_rule(const xlmr_model *m, int rule) { return rule == XLMR_OFFSETS_FILE ? tok_offsets_rule(m->tok) : rule; }

int xlmr_tokenize_offsets(xlmr_model *m, const char *text, size_t n, int max_len, int rule) {
    if (!m) return -XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    struct xlmr_api_state *st = api_state(m);
    if (!st) return -XLMR_ERR_NOMEM;
    xlmr_status s = tok_encode_offsets(m->tok, text, n, max_len, offsets_rule(m, rule), &st->ids, &st->offsets, &m->err);
    if (s != XLMR_OK) return -(int)s;
    if (st->ids.n > INT32_MAX / 2) return -(int)xlmr_fail(&m->err, XLMR_ERR_TOO_LONG, "tokenize: %zu ids do not fit an int", st->ids.n);
    return (int)st->ids.n;
}

int32_t *xlmr_result_offsets(xlmr_model *m) { return m && m->api ? m->api->offsets.ids : NULL; }

_Static_assert(XLMR_OFFSETS_HUB == TOK_OFFSETS_TRIMMED && XLMR_OFFSETS_METASPACE == TOK_OFFSETS_METASPACE, "offset rules");
_Static_assert(XLMR_TRUNC_ONLY_FIRST == TOK_TRUNC_ONLY_FIRST && XLMR_TRUNC_ONLY_SECOND == TOK_TRUNC_ONLY_SECOND &&
                   XLMR_TRUNC_LONGEST_FIRST == TOK_TRUNC_LONGEST_FIRST,
               "truncation strategies");

static void swap_ids(tok_ids *x, tok_ids *y) {
    tok_ids t = *x;
    *x = *y;
    *y = t;
}

int xlmr_tokenize_pair(xlmr_model *m, const char *a, size_t na, const char *b, size_t nb, int max_len, int strategy, int stride, int rule) {
    if (!m) return -XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    struct xlmr_api_state *st = api_state(m);
    if (!st) return -XLMR_ERR_NOMEM;
    tok_windows *w = &st->windows;
    swap_ids(&st->ids, &w->ids); /* reuse the buffers */
    swap_ids(&st->offsets, &w->offsets);
    xlmr_status s = tok_encode_pair_windows(m->tok, a, na, b, nb, max_len, strategy, stride, offsets_rule(m, rule), w, &m->err);
    swap_ids(&st->ids, &w->ids);
    swap_ids(&st->offsets, &w->offsets);
    if (s != XLMR_OK) return -(int)s;
    if (st->ids.n > INT32_MAX / 2) return -(int)xlmr_fail(&m->err, XLMR_ERR_TOO_LONG, "tokenize: %zu ids do not fit an int", st->ids.n);
    return (int)w->n;
}

int32_t *xlmr_result_sequence_ids(xlmr_model *m) { return m && m->api ? m->api->windows.seq.ids : NULL; }
int32_t *xlmr_result_window_starts(xlmr_model *m) { return m && m->api ? m->api->windows.starts.ids : NULL; }

/* "" for an id outside the vocabulary: hosts read a C string at whatever this returns. */
const char *xlmr_token_piece(xlmr_model *m, int id) {
    const char *p = m ? tok_piece(m->tok, id) : NULL;
    return p ? p : "";
}

int xlmr_decode(xlmr_model *m, const int32_t *ids, int n, int skip_special) {
    if (!m) return -XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    struct xlmr_api_state *st = api_state(m);
    if (!st) return -XLMR_ERR_NOMEM;
    /* a failed decode leaves "" behind, not the pieces decoded before the bad id */
    st->text.n = 0;
    if (st->text.s) st->text.s[0] = 0;
    if (n < 0) return -(int)xlmr_fail(&m->err, XLMR_ERR_ARG, "decode: negative id count %d", n);
    xlmr_status s = tok_decode(m->tok, ids, (size_t)n, skip_special, &st->text, &m->err);
    if (s != XLMR_OK) {
        st->text.n = 0;
        if (st->text.s) st->text.s[0] = 0;
        return -(int)s;
    }
    if (st->text.n > INT32_MAX) return -(int)xlmr_fail(&m->err, XLMR_ERR_TOO_LONG, "decode: %zu bytes do not fit an int", st->text.n);
    return (int)st->text.n;
}

const char *xlmr_result_text(xlmr_model *m) { return m && m->api && m->api->text.s ? m->api->text.s : ""; }

int xlmr_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int pooling, int normalize,
               float *out) {
    return -(int)model_embed(m, ids, lengths, B, T, pooling, normalize, out);
}

int xlmr_fill_mask(xlmr_model *m, const int32_t *ids, int T, int top_k, int32_t *out_ids, float *out_scores) {
    int n_masks = 0;
    xlmr_status s = model_fill_mask(m, ids, T, top_k, out_ids, out_scores, &n_masks);
    return s == XLMR_OK ? n_masks : -(int)s;
}

int xlmr_logits(xlmr_model *m, const int32_t *ids, int T, const int32_t *positions, int n_pos, float *out) {
    return -(int)model_logits(m, ids, T, positions, n_pos, out);
}

int xlmr_classify(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out) {
    return -(int)model_classify(m, ids, lengths, B, T, out);
}

int xlmr_m3_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *dense, float *sparse,
                  float *colbert) {
    return -(int)model_m3_embed(m, ids, lengths, B, T, dense, sparse, colbert);
}

int xlmr_token_logits(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out) {
    return -(int)model_token_logits(m, ids, lengths, B, T, out);
}

/* Appends s (n bytes) to *p as a JSON string body: quotes, backslashes and control characters escaped. */
static char *json_escape(char *p, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        const unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') *p++ = '\\', *p++ = (char)ch;
        else if (ch < 0x20) *p++ = '\\', *p++ = 'u', *p++ = '0', *p++ = '0', *p++ = hex[ch >> 4], *p++ = hex[ch & 15];
        else *p++ = (char)ch;
    }
    return p;
}

const char *xlmr_model_labels_json(xlmr_model *m) {
    struct xlmr_api_state *st = api_state(m);
    if (!st) return "[]";
    XLMR_FREE(st->labels_json);
    /* every byte escaped takes at most 6, plus quotes and a comma per label */
    st->labels_json = XLMR_MALLOC(m->labels.len * 6 + (size_t)m->labels.n * 3 + 3);
    if (!st->labels_json) {
        xlmr_fail(&m->err, XLMR_ERR_NOMEM, "out of memory for the labels");
        return "[]";
    }
    char *p = st->labels_json;
    *p++ = '[';
    const char *name = m->labels.text;
    for (int i = 0; i < m->labels.n; i++, name += strlen(name) + 1) {
        const size_t len = strlen(name);
        if (i) *p++ = ',';
        *p++ = '"';
        p = json_escape(p, name, len);
        *p++ = '"';
    }
    *p++ = ']';
    *p = '\0';
    return st->labels_json;
}
