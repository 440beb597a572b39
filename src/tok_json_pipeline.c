/* tok_json_pipeline.c — a tokenizer.json's normalizer, pre-tokenizer and post-processor (see tok_json.h), in the
 * layouts the XLM-R family's files have:
 *   normalizer      {"type":"Precompiled","precompiled_charsmap":base64} alone (transformers 4.x's converter), or
 *                   in {"type":"Sequence","normalizers":[...]} with Replace of runs of spaces (pattern
 *                   {"Regex":" {2,}"}, content " " or "▁") and Strip: both are SentencePiece's
 *                   remove_extra_whitespaces, which the .model such files come from has. null: no charsmap.
 *   pre_tokenizer   {"type":"Metaspace","replacement":"▁"} with "add_prefix_space" (older) or "prepend_scheme"
 *                   "always"/"never" and "split" (newer), alone (offsets TOK_OFFSETS_METASPACE) or in
 *                   {"type":"Sequence","pretokenizers":[{"type":"WhitespaceSplit"}, Metaspace]} (TOK_OFFSETS_TRIMMED).
 *   post_processor  TemplateProcessing: single [<s> $A </s>], pair [<s> $A </s> </s> $B </s>] or BERT-style
 *                   [<s> $A </s> $B </s>], items {"SpecialToken":{"id","type_id"}} / {"Sequence":{"id":"A"|"B",
 *                   "type_id"}}, "special_tokens" {name: {"id","ids":[id],"tokens"}}; RobertaProcessing
 *                   ("cls"/"sep" [text, id]: the RoBERTa pair); BertProcessing (the BERT-style pair, B type 1).
 * Anything else is XLMR_ERR_FORMAT naming it: a file this tokenizer would encode differently is refused. */
#include "base64.h"
#include "tok_json.h"

static const char *type_of(const json_value *v) {
    const json_value *t = json_get(v, "type");
    return t && t->type == JSON_STRING ? t->str : "";
}

static int is_string(const json_value *v, const char *s) { return v && v->type == JSON_STRING && strcmp(v->str, s) == 0; }

/* ---- normalizer ---- */

static xlmr_status read_precompiled(const json_value *n, tok_json_pipeline *p, xlmr_error *err) {
    const json_value *b64 = json_get(n, "precompiled_charsmap");
    if (!b64 || b64->type != JSON_STRING)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the Precompiled normalizer's precompiled_charsmap must be a base64 string");
    if (p->charsmap) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: two Precompiled normalizers");
    p->charsmap = XLMR_MALLOC(base64_decoded_max(b64->len));
    if (!p->charsmap) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer.json: out of memory for the charsmap");
    xlmr_error e = {0};
    if (base64_decode(b64->str, b64->len, p->charsmap, &p->charsmap_len, &e))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: precompiled_charsmap: %s", e.msg);
    return XLMR_OK;
}

/* Replace of a run of two or more spaces by one space or "▁". */
static int is_space_run_replace(const json_value *n) {
    const json_value *pattern = json_get(n, "pattern"), *content = json_get(n, "content");
    return is_string(json_get(pattern, "Regex"), " {2,}") && (is_string(content, " ") || is_string(content, "\xe2\x96\x81"));
}

static xlmr_status read_normalizer(const json_value *n, int depth, tok_json_pipeline *p, xlmr_error *err) {
    const char *type = type_of(n);
    if (strcmp(type, "Precompiled") == 0) return read_precompiled(n, p, err);
    if (strcmp(type, "Strip") == 0) return XLMR_OK;
    if (strcmp(type, "Replace") == 0) {
        if (is_space_run_replace(n)) return XLMR_OK;
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: a Replace normalizer other than runs of spaces (\" {2,}\") is not supported");
    }
    if (strcmp(type, "Sequence") == 0 && depth == 0) {
        const json_value *list = json_get(n, "normalizers");
        if (!list || list->type != JSON_ARRAY) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: a Sequence normalizer without \"normalizers\"");
        for (size_t i = 0; i < list->len; i++) {
            xlmr_status st = read_normalizer(&list->items[i], depth + 1, p, err);
            if (st) return st;
        }
        return XLMR_OK;
    }
    return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: normalizer \"%s\" is not supported (XLM-R's: Precompiled, Replace, Strip)", type);
}

/* ---- pre-tokenizer ---- */

static xlmr_status read_metaspace(const json_value *m, tok_json_pipeline *p, xlmr_error *err) {
    if (!is_string(json_get(m, "replacement"), "\xe2\x96\x81"))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: Metaspace's replacement must be \"\xe2\x96\x81\" (U+2581)");
    const json_value *scheme = json_get(m, "prepend_scheme"), *add = json_get(m, "add_prefix_space"), *split = json_get(m, "split");
    if (split && split->type != JSON_TRUE && split->type != JSON_FALSE) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: Metaspace's split must be a boolean");
    if (scheme) {
        if (is_string(scheme, "always")) p->add_prefix = 1;
        else if (is_string(scheme, "never")) p->add_prefix = 0;
        else if (is_string(scheme, "first"))
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: Metaspace prepend_scheme \"first\" is not supported (XLM-R's is \"always\")");
        else return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: Metaspace prepend_scheme must be \"always\", \"never\" or \"first\"");
    } else if (add) {
        if (add->type != JSON_TRUE && add->type != JSON_FALSE) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: Metaspace's add_prefix_space must be a boolean");
        p->add_prefix = add->type == JSON_TRUE;
    } else {
        p->add_prefix = 1; /* the field's default */
    }
    return XLMR_OK;
}

static xlmr_status read_pre_tokenizer(const json_value *pt, tok_json_pipeline *p, xlmr_error *err) {
    const char *type = type_of(pt);
    if (strcmp(type, "Metaspace") == 0) {
        p->offsets_rule = TOK_OFFSETS_METASPACE;
        return read_metaspace(pt, p, err);
    }
    const json_value *list = json_get(pt, "pretokenizers");
    if (strcmp(type, "Sequence") == 0 && list && list->type == JSON_ARRAY) {
        if (list->len == 1 && strcmp(type_of(&list->items[0]), "Metaspace") == 0) return read_pre_tokenizer(&list->items[0], p, err);
        if (list->len == 2 && strcmp(type_of(&list->items[0]), "WhitespaceSplit") == 0 && strcmp(type_of(&list->items[1]), "Metaspace") == 0) {
            p->offsets_rule = TOK_OFFSETS_TRIMMED;
            return read_metaspace(&list->items[1], p, err);
        }
    }
    return xlmr_fail(err, XLMR_ERR_FORMAT,
                     "tokenizer.json: pre_tokenizer \"%s\" is not supported (XLM-R's: Metaspace, or a Sequence of WhitespaceSplit and Metaspace)",
                     pt && pt->type == JSON_OBJECT ? type : "null");
}

/* ---- post-processor ---- */

enum { ITEM_A = -100, ITEM_B = -101 };

/* One template item: a special token's id (its name looked up in special_tokens, one id) or ITEM_A / ITEM_B. */
static xlmr_status template_item(const json_value *it, const json_value *specials, int32_t *code, int64_t *type_id, xlmr_error *err) {
    const json_value *sp = json_get(it, "SpecialToken"), *seq = json_get(it, "Sequence");
    const json_value *body = sp ? sp : seq, *name = json_get(body, "id");
    *type_id = 0;
    if (!body || !name || name->type != JSON_STRING || (json_get(body, "type_id") && !json_get_int(body, "type_id", type_id)))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: a template item is not {\"SpecialToken\"|\"Sequence\": {\"id\", \"type_id\"}}");
    if (seq) {
        if (!is_string(name, "A") && !is_string(name, "B"))
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: template sequence \"%s\" (expected A or B)", name->str);
        *code = name->str[0] == 'A' ? ITEM_A : ITEM_B;
        return XLMR_OK;
    }
    const json_value *ids = json_get(json_get(specials, name->str), "ids");
    if (!ids || ids->type != JSON_ARRAY || ids->len != 1 || ids->items[0].type != JSON_NUMBER)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: template token \"%s\" is not one id in special_tokens", name->str);
    *code = (int32_t)ids->items[0].number;
    return XLMR_OK;
}

/* A template as codes (template_item), at most 8 items. */
static xlmr_status template_codes(const json_value *list, const json_value *specials, int32_t *codes, size_t *n, int64_t *type_b, xlmr_error *err) {
    if (!list || list->type != JSON_ARRAY || list->len > 8)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: TemplateProcessing's single and pair must be arrays of at most 8 items");
    for (size_t i = 0; i < list->len; i++) {
        int64_t type_id;
        xlmr_status st = template_item(&list->items[i], specials, &codes[i], &type_id, err);
        if (st) return st;
        if (codes[i] == ITEM_B) *type_b = type_id;
    }
    *n = list->len;
    return XLMR_OK;
}

static int same_codes(const int32_t *a, size_t n, const int32_t *b, size_t m) { return n == m && memcmp(a, b, n * sizeof *a) == 0; }

static xlmr_status read_template(const json_value *pp, const int32_t sid[N_SPECIAL], tok_json_pipeline *p, xlmr_error *err) {
    const json_value *specials = json_get(pp, "special_tokens");
    const int32_t bos = sid[SPECIAL_BOS], eos = sid[SPECIAL_EOS];
    const int32_t single_want[] = {bos, ITEM_A, eos}, roberta[] = {bos, ITEM_A, eos, eos, ITEM_B, eos}, bert[] = {bos, ITEM_A, eos, ITEM_B, eos};
    int32_t single[8], pair[8];
    size_t n_single, n_pair;
    int64_t type_b = 0, unused;
    xlmr_status st = template_codes(json_get(pp, "single"), specials, single, &n_single, &unused, err);
    if (st || (st = template_codes(json_get(pp, "pair"), specials, pair, &n_pair, &type_b, err))) return st;
    if (!same_codes(single, n_single, single_want, 3))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the single template must be <s> $A </s> (ids %d, %d)", (int)bos, (int)eos);
    if (same_codes(pair, n_pair, bert, 5)) p->pair_single_sep = 1;
    else if (!same_codes(pair, n_pair, roberta, 6))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the pair template must be <s> $A </s> </s> $B </s> or <s> $A </s> $B </s>");
    if (type_b < 0 || type_b > 1) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: the pair template gives $B type id %lld", (long long)type_b);
    p->pair_type_b = (int)type_b;
    return XLMR_OK;
}

/* RobertaProcessing / BertProcessing: "cls" and "sep" as [text, id], which must be <s> and </s>. */
static xlmr_status read_cls_sep(const json_value *pp, const int32_t sid[N_SPECIAL], int bert, tok_json_pipeline *p, xlmr_error *err) {
    const json_value *cls = json_get(pp, "cls"), *sep = json_get(pp, "sep");
    const int ok = cls && sep && cls->type == JSON_ARRAY && sep->type == JSON_ARRAY && cls->len == 2 && sep->len == 2 &&
                   cls->items[1].type == JSON_NUMBER && sep->items[1].type == JSON_NUMBER && cls->items[1].number == sid[SPECIAL_BOS] &&
                   sep->items[1].number == sid[SPECIAL_EOS];
    if (!ok) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer.json: %s's cls and sep must be [\"<s>\", %d] and [\"</s>\", %d]", type_of(pp),
                              (int)sid[SPECIAL_BOS], (int)sid[SPECIAL_EOS]);
    p->pair_single_sep = bert;
    p->pair_type_b = bert;
    return XLMR_OK;
}

static xlmr_status read_post_processor(const json_value *pp, const int32_t sid[N_SPECIAL], tok_json_pipeline *p, xlmr_error *err) {
    const char *type = type_of(pp);
    if (strcmp(type, "TemplateProcessing") == 0) return read_template(pp, sid, p, err);
    if (strcmp(type, "RobertaProcessing") == 0) return read_cls_sep(pp, sid, 0, p, err);
    if (strcmp(type, "BertProcessing") == 0) return read_cls_sep(pp, sid, 1, p, err);
    return xlmr_fail(err, XLMR_ERR_FORMAT,
                     "tokenizer.json: post_processor \"%s\" is not supported (XLM-R's: TemplateProcessing, RobertaProcessing, BertProcessing)",
                     pp && pp->type == JSON_OBJECT ? type : "null");
}

xlmr_status tok_json_read_pipeline(const json_value *root, const int32_t sid[N_SPECIAL], tok_json_pipeline *p, xlmr_error *err) {
    const json_value *nz = json_get(root, "normalizer");
    xlmr_status st = nz && nz->type != JSON_NULL ? read_normalizer(nz, 0, p, err) : XLMR_OK;
    if (st || (st = read_pre_tokenizer(json_get(root, "pre_tokenizer"), p, err))) return st;
    return read_post_processor(json_get(root, "post_processor"), sid, p, err);
}
