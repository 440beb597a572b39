/* tok_json.c — a tokenizer built from Hugging Face's tokenizer.json (the `tokenizers` library's serialization of
 * an XLM-R-family Unigram tokenizer), into the same in-memory tokenizer a sentencepiece.bpe.model gives.
 *
 * Read, as tokenizers serializes them (serde, components tagged by "type"):
 *   model           {"type":"Unigram","unk_id":3,"vocab":[[piece, score], ...],"byte_fallback":b}: the ids are the
 *                   fairseq layout already (<s> <pad> </s> <unk>, pieces, <mask>), no +1 as the .model needs.
 *   added_tokens    [{"id","content","special",...}]: the five specials found by content; a non-special one is a
 *                   user-defined piece; a sixth special token is refused (this tokenizer cuts out only the five).
 *   normalizer, pre_tokenizer, post_processor: tok_json_pipeline.c.
 * Encoding then follows the .model's rules (tokenizer.h): the files were converted from one, and give its ids. */
#include <math.h>

#include "json.h"
#include "spm_model.h"
#include "tok_internal.h"
#include "tok_json.h"

/* The vocabulary arrays as tok_vocab_desc wants them; strings point into the parsed document. */
typedef struct hf_vocab {
    size_t n;
    const char **tokens;
    size_t *lens;
    float *scores;
    int32_t *types;
    int32_t sid[N_SPECIAL]; /* SPECIAL_* order, -1 until found */
} hf_vocab;

static void hf_vocab_free(hf_vocab *v) {
    XLMR_FREE(v->tokens);
    XLMR_FREE(v->lens);
    XLMR_FREE(v->scores);
    XLMR_FREE(v->types);
}

/* "<0xAB>" (a byte piece's form, as SentencePiece writes it). */
static int is_byte_piece(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return 0;
    for (int i = 3; i < 5; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F'))) return 0;
    return 1;
}

static xlmr_status vocab_alloc(hf_vocab *v, size_t n, xlmr_error *err) {
    v->n = n;
    v->tokens = XLMR_MALLOC(n * sizeof *v->tokens);
    v->lens = XLMR_MALLOC(n * sizeof *v->lens);
    v->scores = XLMR_MALLOC(n * sizeof *v->scores);
    v->types = XLMR_MALLOC(n * sizeof *v->types);
    if (!v->tokens || !v->lens || !v->scores || !v->types) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer.json: out of memory for %zu tokens", n);
    return XLMR_OK;
}

/* model: Unigram, its [piece, score] pairs, unk_id, byte_fallback. Every piece is normal until the added tokens
 * say otherwise; the unknown piece and (with byte_fallback) the <0xXX> pieces get their types here. */
static xlmr_status read_model(const json_value *root, hf_vocab *v, xlmr_error *err) {
    const json_value *model = json_get(root, "model"), *type = json_get(model, "type"), *vocab = json_get(model, "vocab");
    if (!model || model->type != JSON_OBJECT) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: no \"model\" object");
    if (!type || type->type != JSON_STRING || strcmp(type->str, "Unigram") != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: model type \"%s\" is not supported (XLM-R's is \"Unigram\")",
                         type && type->type == JSON_STRING ? type->str : "?");
    if (!vocab || vocab->type != JSON_ARRAY || vocab->len < 5 || vocab->len > (size_t)INT32_MAX / 2)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: model.vocab must be an array of at least 5 [piece, score] pairs");
    int64_t unk = -1;
    const json_value *unk_v = json_get(model, "unk_id");
    if (!unk_v || unk_v->type == JSON_NULL || !json_get_int(model, "unk_id", &unk) || unk < 0 || (size_t)unk >= vocab->len)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: model.unk_id must be an id of the vocabulary (XLM-R's is 3)");
    const json_value *bf = json_get(model, "byte_fallback");
    const int byte_fallback = bf && bf->type == JSON_TRUE;
    xlmr_status st = vocab_alloc(v, vocab->len, err);
    if (st) return st;
    for (size_t i = 0; i < vocab->len; i++) {
        const json_value *e = &vocab->items[i];
        if (e->type != JSON_ARRAY || e->len != 2 || e->items[0].type != JSON_STRING || e->items[1].type != JSON_NUMBER)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: model.vocab[%zu] is not a [piece, score] pair", i);
        v->tokens[i] = e->items[0].str;
        v->lens[i] = e->items[0].len;
        v->scores[i] = (float)e->items[1].number; /* the .model's float, written as the double it widens to */
        v->types[i] = byte_fallback && is_byte_piece(v->tokens[i], v->lens[i]) ? SPM_BYTE : SPM_NORMAL;
    }
    v->types[unk] = SPM_UNKNOWN;
    v->sid[SPECIAL_UNK] = (int32_t)unk;
    return XLMR_OK;
}

/* SPECIAL_* of a token's text, or -1. */
static int special_of(const char *s, size_t n) {
    for (int k = 0; k < N_SPECIAL; k++)
        if (n == tok_special_len[k] && memcmp(s, tok_special_text[k], n) == 0) return k;
    return -1;
}

/* One entry of added_tokens: an id of the vocabulary holding the same text. */
static xlmr_status read_added_token(const json_value *a, size_t i, hf_vocab *v, xlmr_error *err) {
    const json_value *content = json_get(a, "content"), *special = json_get(a, "special");
    int64_t id;
    if (!json_get_int(a, "id", &id) || !content || content->type != JSON_STRING)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: added_tokens[%zu] lacks an integer \"id\" or a string \"content\"", i);
    if (id < 0 || (size_t)id >= v->n || v->lens[id] != content->len || memcmp(v->tokens[id], content->str, content->len) != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: added token \"%s\" (id %lld) is not the vocabulary's token of that id", content->str,
                         (long long)id);
    const int k = special_of(content->str, content->len);
    const int is_special = special && special->type == JSON_TRUE;
    if (k >= 0) {
        if (k == SPECIAL_UNK && id != v->sid[SPECIAL_UNK])
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: added token <unk> has id %lld but model.unk_id is %d", (long long)id,
                             (int)v->sid[SPECIAL_UNK]);
        v->sid[k] = (int32_t)id;
        v->types[id] = k == SPECIAL_UNK ? SPM_UNKNOWN : SPM_CONTROL;
    } else if (is_special) {
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "tokenizer.json: special added token \"%s\" (id %lld) is not supported (only <s> <pad> </s> <unk> <mask>)", content->str,
                         (long long)id);
    } else {
        v->types[id] = SPM_USER_DEFINED;
    }
    return XLMR_OK;
}

/* added_tokens (absent or null: none), then any special still unplaced found by its text in the vocabulary. */
static xlmr_status read_added_tokens(const json_value *root, hf_vocab *v, xlmr_error *err) {
    const json_value *added = json_get(root, "added_tokens");
    if (added && added->type != JSON_NULL && added->type != JSON_ARRAY)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: added_tokens must be an array");
    for (size_t i = 0; added && added->type == JSON_ARRAY && i < added->len; i++) {
        xlmr_status st = read_added_token(&added->items[i], i, v, err);
        if (st) return st;
    }
    for (int k = 0; k < N_SPECIAL; k++) {
        for (size_t i = 0; v->sid[k] < 0 && i < v->n; i++)
            if (special_of(v->tokens[i], v->lens[i]) == k) v->sid[k] = (int32_t)i;
        if (v->sid[k] < 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the vocabulary has no %s token", tok_special_text[k]);
    }
    return XLMR_OK;
}

/* The parsed document's vocabulary and pipeline into a tokenizer. */
static xlmr_status build(const json_value *root, tok_tokenizer **out, xlmr_error *err) {
    if (root->type != JSON_OBJECT) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the document is not an object");
    hf_vocab v = {0};
    for (int k = 0; k < N_SPECIAL; k++) v.sid[k] = -1;
    tok_json_pipeline p = {0};
    xlmr_status st;
    if (!(st = read_model(root, &v, err)) && !(st = read_added_tokens(root, &v, err)) && !(st = tok_json_read_pipeline(root, v.sid, &p, err))) {
        tok_vocab_desc d = {
            .n_tokens = v.n,
            .tokens = v.tokens,
            .token_lens = v.lens,
            .scores = v.scores,
            .types = v.types,
            .charsmap = p.charsmap,
            .charsmap_len = p.charsmap_len,
            .add_space_prefix = p.add_prefix,
            .remove_extra_whitespaces = 1,
            .escape_whitespaces = 1,
            .bos_id = v.sid[SPECIAL_BOS],
            .eos_id = v.sid[SPECIAL_EOS],
            .unk_id = v.sid[SPECIAL_UNK],
            .pad_id = v.sid[SPECIAL_PAD],
            .mask_id = v.sid[SPECIAL_MASK],
        };
        if (!(st = tok_from_vocab(&d, out, err))) {
            (*out)->offsets_rule = p.offsets_rule;
            (*out)->pair_single_sep = p.pair_single_sep;
            (*out)->pair_type_b = p.pair_type_b;
        }
    }
    XLMR_FREE(p.charsmap);
    hf_vocab_free(&v);
    return st;
}

xlmr_status tok_from_hf_json(const char *text, size_t n, tok_tokenizer **out, xlmr_error *err) {
    *out = NULL;
    json_doc *doc = NULL;
    xlmr_status st = json_parse(text, n, &doc, err);
    if (st) return st;
    st = build(json_root(doc), out, err);
    json_free(doc);
    return st;
}

int tok_offsets_rule(const tok_tokenizer *t) { return t->offsets_rule; }

void tok_pair_template(const tok_tokenizer *t, int *separators, int *type_b) {
    *separators = t->pair_single_sep ? 1 : 2;
    *type_b = t->pair_type_b;
}
