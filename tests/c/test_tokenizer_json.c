/* test_tokenizer_json.c — a tokenizer read from Hugging Face's tokenizer.json is the .model's: the files of
 * build/tokenizer-json/ (tests/tokdiff/make_tokenizer_json.py converts tests/fixtures/sentencepiece.bpe.model to
 * the published layouts: hub.json, v4.json, bert.json) give the same vocabulary, the fixture's ids on every
 * tokenizer case, the offsets of the rule their pre-tokenizer implies, their pair template; the loader takes one
 * with xlmr_loader_set_tokenizer_json; malformed and unsupported files are named errors. */
#include "test.h"

#include "json.h"
#include "tokenizer.h"
#include "xlmr.h"

static const char *kModel = "tests/fixtures/sentencepiece.bpe.model";
static const char *kCases = "tests/fixtures/tokenizer_cases.jsonl";
static const char *kOffsets = "tests/fixtures/tokenizer_offsets.jsonl";
static const char *kDir = "build/tokenizer-json/";

typedef struct layout {
    const char *file;
    int rule, separators, type_b;
} layout;

static const layout kLayouts[] = {
    {"hub.json", TOK_OFFSETS_TRIMMED, 2, 0},
    {"v4.json", TOK_OFFSETS_METASPACE, 2, 0},
    {"bert.json", TOK_OFFSETS_METASPACE, 1, 1},
};

static char *read_layout(const char *file, size_t *n) {
    char path[256];
    snprintf(path, sizeof path, "%s%s", kDir, file);
    char *text = (char *)test_read_file(path, n);
    CHECK(text != NULL, "read %s (make it: /usr/bin/python3 tests/tokdiff/make_tokenizer_json.py build/tokenizer-json)", path);
    return text;
}

/* The next non-empty line of a JSONL buffer, parsed (NULL at the end). */
static json_doc *next_line(char **cursor, char *end) {
    while (*cursor < end) {
        char *line = *cursor, *nl = memchr(line, '\n', (size_t)(end - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
        *cursor = line + ll + (nl ? 1 : 0);
        if (!ll) continue;
        json_doc *doc = NULL;
        xlmr_error err = {0};
        CHECK(json_parse(line, ll, &doc, &err) == XLMR_OK, "json: %s", err.msg);
        return doc;
    }
    return NULL;
}

static int ints_equal(const json_value *arr, const int32_t *v, size_t n, size_t stride) {
    if (!arr || arr->type != JSON_ARRAY || arr->len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        const json_value *e = &arr->items[i];
        if (stride == 1 && (int32_t)e->number != v[i]) return 0;
        if (stride == 2 && (e->len != 2 || (int32_t)e->items[0].number != v[2 * i] || (int32_t)e->items[1].number != v[2 * i + 1])) return 0;
    }
    return 1;
}

/* Every token's string, score and type, the specials' ids, the charsmap and the flags. */
static void check_same_vocab(const tok_tokenizer *a, const tok_tokenizer *b, const char *what) {
    tok_vocab_desc x, y;
    tok_export_vocab(a, &x);
    tok_export_vocab(b, &y);
    CHECK(x.n_tokens == y.n_tokens, "%s: %zu tokens, the .model %zu", what, x.n_tokens, y.n_tokens);
    if (x.n_tokens != y.n_tokens) return;
    size_t differ = 0;
    for (size_t i = 0; i < x.n_tokens; i++)
        differ += x.token_lens[i] != y.token_lens[i] || memcmp(x.tokens[i], y.tokens[i], x.token_lens[i]) != 0 || x.scores[i] != y.scores[i] ||
                  x.types[i] != y.types[i];
    CHECK(differ == 0, "%s: %zu tokens differ from the .model's", what, differ);
    CHECK(x.charsmap_len == y.charsmap_len && memcmp(x.charsmap, y.charsmap, x.charsmap_len) == 0, "%s: charsmap (%zu bytes, .model %zu)", what,
          x.charsmap_len, y.charsmap_len);
    CHECK(x.bos_id == y.bos_id && x.eos_id == y.eos_id && x.unk_id == y.unk_id && x.pad_id == y.pad_id && x.mask_id == y.mask_id, "%s: special ids",
          what);
    CHECK(x.add_space_prefix == y.add_space_prefix && x.remove_extra_whitespaces == y.remove_extra_whitespaces &&
              x.escape_whitespaces == y.escape_whitespaces,
          "%s: normalizer flags", what);
}

/* Each case's ids against the fixture, and its offsets (the file's rule) against the golden spans. */
static void check_cases(const tok_tokenizer *t, const char *what) {
    size_t lc, lo;
    char *cases = (char *)test_read_file(kCases, &lc), *offs = (char *)test_read_file(kOffsets, &lo);
    CHECK(cases && offs, "read %s and %s", kCases, kOffsets);
    if (!cases || !offs) return;
    char *cc = cases, *co = offs;
    json_free(next_line(&co, offs + lo)); /* {"about": ...} */
    const char *rule_key = tok_offsets_rule(t) == TOK_OFFSETS_TRIMMED ? "offsets" : "metaspace";
    tok_ids ids = {0}, spans = {0};
    int n = 0, same_ids = 0, same_offsets = 0;
    json_doc *dc, *dof;
    while ((dc = next_line(&cc, cases + lc)) && (dof = next_line(&co, offs + lo))) {
        const json_value *c = json_root(dc), *tx = json_get(c, "text");
        xlmr_error err = {0};
        CHECK(tok_encode(t, tx->str, tx->len, 0, &ids, &err) == XLMR_OK, "%s", err.msg);
        int ok = ints_equal(json_get(c, "ids"), ids.ids, ids.n, 1);
        CHECK(ok, "%s %s: ids differ from the fixture's", what, json_get(c, "name")->str);
        same_ids += ok;
        CHECK(tok_encode_offsets(t, tx->str, tx->len, 0, tok_offsets_rule(t), &ids, &spans, &err) == XLMR_OK, "%s", err.msg);
        ok = ints_equal(json_get(json_root(dof), rule_key), spans.ids, ids.n, 2);
        CHECK(ok, "%s %s: %s offsets differ", what, json_get(c, "name")->str, rule_key);
        same_offsets += ok;
        n++;
        json_free(dc);
        json_free(dof);
    }
    printf("%s: %d of %d cases with the fixture's ids, %d with its %s offsets\n", what, same_ids, n, same_offsets, rule_key);
    CHECK(n == 375, "all cases read: %d", n);
    tok_ids_free(&ids);
    tok_ids_free(&spans);
    free(cases);
    free(offs);
}

/* The pair as the file's template lays it out: <s> A </s> (</s>) B </s>, truncation counting its specials. */
static void check_pair(const tok_tokenizer *t, const layout *l) {
    int seps, type_b;
    tok_pair_template(t, &seps, &type_b);
    CHECK(seps == l->separators && type_b == l->type_b, "%s: pair template %d separators, B type %d", l->file, seps, type_b);
    xlmr_error err = {0};
    tok_ids ids = {0}, a = {0}, b = {0};
    CHECK(tok_encode_raw(t, "Hello world", 11, &a, &err) == XLMR_OK && tok_encode_raw(t, "again", 5, &b, &err) == XLMR_OK, "%s", err.msg);
    CHECK(tok_encode_pair(t, "Hello world", 11, "again", 5, 0, &ids, &err) == XLMR_OK, "%s", err.msg);
    CHECK(ids.n == a.n + b.n + 2 + (size_t)seps, "%s: pair of %zu ids", l->file, ids.n);
    CHECK(ids.n > a.n + 2 && ids.ids[a.n + 1] == tok_eos_id(t) && ids.ids[a.n + (size_t)seps] == tok_eos_id(t) &&
              (seps == 2 || ids.ids[a.n + 2] == b.ids[0]),
          "%s: separators between A and B", l->file);
    tok_windows w = {0};
    const int max_len = (int)(a.n + b.n + (size_t)seps + 2) - 1;
    CHECK(tok_encode_pair_windows(t, "Hello world", 11, "again", 5, max_len, TOK_TRUNC_LONGEST_FIRST, -1, tok_offsets_rule(t), &w, &err) == XLMR_OK,
          "%s", err.msg);
    CHECK(w.n == 1 && w.ids.n == (size_t)max_len, "%s: a pair truncated to %d ids has %zu", l->file, max_len, w.ids.n);
    tok_windows_free(&w);
    tok_ids_free(&ids);
    tok_ids_free(&a);
    tok_ids_free(&b);
}

static void test_layouts(const tok_tokenizer *spm) {
    for (size_t i = 0; i < sizeof kLayouts / sizeof *kLayouts; i++) {
        const layout *l = &kLayouts[i];
        size_t n;
        char *text = read_layout(l->file, &n);
        if (!text) continue;
        tok_tokenizer *t = NULL;
        xlmr_error err = {0};
        CHECK(tok_from_hf_json(text, n, &t, &err) == XLMR_OK, "%s: %s", l->file, err.msg);
        free(text);
        if (!t) continue;
        CHECK(tok_offsets_rule(t) == l->rule, "%s: offsets rule %d", l->file, tok_offsets_rule(t));
        check_same_vocab(t, spm, l->file);
        check_cases(t, l->file);
        check_pair(t, l);
        /* what the file decided survives the GGUF writer's export and the reader's rebuild */
        tok_vocab_desc d;
        tok_export_vocab(t, &d);
        tok_tokenizer *back = NULL;
        CHECK(tok_from_vocab(&d, &back, &err) == XLMR_OK, "%s: rebuilt: %s", l->file, err.msg);
        if (back) {
            CHECK(tok_offsets_rule(back) == l->rule, "%s: rebuilt offsets rule %d", l->file, tok_offsets_rule(back));
            check_pair(back, l);
            tok_free(back);
        }
        tok_free(t);
    }
}

/* text with the first occurrence of from replaced by to (malloc'd; NULL when from is absent). */
static char *replaced(const char *text, size_t n, const char *from, const char *to, size_t *out_n) {
    const char *at = strstr(text, from);
    CHECK(at != NULL, "the layout holds %s", from);
    if (!at) return NULL;
    const size_t lf = strlen(from), lt = strlen(to), head = (size_t)(at - text);
    char *r = malloc(n - lf + lt + 1);
    memcpy(r, text, head);
    memcpy(r + head, to, lt);
    memcpy(r + head + lt, at + lf, n - head - lf);
    *out_n = n - lf + lt;
    r[*out_n] = 0;
    return r;
}

typedef struct bad_file {
    const char *base, *from, *to, *message; /* the layout, the edit, a part of the error message */
} bad_file;

static const bad_file kBad[] = {
    {"v4.json", "\"type\":\"Unigram\"", "\"type\":\"BPE\"", "model type \"BPE\""},
    {"v4.json", "\"unk_id\":3", "\"unk_id\":99999", "unk_id"},
    {"v4.json", "[\"<s>\",0.0]", "[\"<s>\",\"x\"]", "model.vocab[0]"},
    {"v4.json", "\"precompiled_charsmap\":\"", "\"precompiled_charsmap\":\"!", "base64"},
    {"v4.json", "\"normalizer\":{\"type\":\"Precompiled\"", "\"normalizer\":{\"type\":\"NFKC\"", "normalizer \"NFKC\""},
    {"v4.json", "\"pre_tokenizer\":{\"type\":\"Metaspace\"", "\"pre_tokenizer\":{\"type\":\"Whitespace\"", "pre_tokenizer \"Whitespace\""},
    {"v4.json", "\"cls\":[\"<s>\",0]", "\"cls\":[\"<s>\",5]", "cls and sep"},
    {"v4.json", "\"id\":8001,\"content\":\"<mask>\"", "\"id\":8000,\"content\":\"<mask>\"", "not the vocabulary's token"},
    {"v4.json", "\"id\":1,\"content\":\"<pad>\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true",
     "\"id\":5,\"content\":\",\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true", "special added token"},
    {"v4.json", "\"replacement\":\"\xe2\x96\x81\"", "\"replacement\":\"_\"", "replacement"},
    {"bert.json", "\"prepend_scheme\":\"always\"", "\"prepend_scheme\":\"first\"", "\"first\""},
    {"bert.json", "{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}", "{\"Sequence\":{\"id\":\"B\",\"type_id\":2}}", "type id 2"},
    {"bert.json", "{\"Sequence\":{\"id\":\"B\",\"type_id\":1}},", "", "pair template"},
    {"bert.json", "\"content\":\"\xe2\x96\x81\"}", "\"content\":\"-\"}", "Replace"},
};

/* Each edit of a good layout: a named XLMR_ERR_FORMAT, nothing built; so are text that is not JSON and a cut file. */
static void test_errors(void) {
    for (size_t i = 0; i < sizeof kBad / sizeof *kBad; i++) {
        size_t n, m;
        char *text = read_layout(kBad[i].base, &n), *bad = text ? replaced(text, n, kBad[i].from, kBad[i].to, &m) : NULL;
        if (bad) {
            tok_tokenizer *t = NULL;
            xlmr_error err = {0};
            xlmr_status st = tok_from_hf_json(bad, m, &t, &err);
            CHECK(st == XLMR_ERR_FORMAT && !t && strstr(err.msg, kBad[i].message), "%s with %s: status %d \"%s\" (want \"%s\")", kBad[i].base,
                  kBad[i].to, (int)st, err.msg, kBad[i].message);
            if (t) tok_free(t);
            if (i == 0) {
                tok_tokenizer *cut = NULL;
                CHECK(tok_from_hf_json(text, n / 2, &cut, &err) == XLMR_ERR_FORMAT && !cut, "a cut file: %s", err.msg);
                CHECK(tok_from_hf_json("[1, 2]", 6, &cut, &err) == XLMR_ERR_FORMAT && !cut, "not an object: %s", err.msg);
                CHECK(tok_from_hf_json("", 0, &cut, &err) == XLMR_ERR_FORMAT && !cut, "empty: %s", err.msg);
            }
        }
        free(bad);
        free(text);
    }
}

/* The fixture model loaded with a tokenizer.json gives what it gives with the .model, ids, offsets (the file's
   rule) and pairs; a bad file fails the loader with its message. */
static void test_loader(void) {
    size_t cfg_n, wts_n, spm_n, json_n;
    unsigned char *cfg = test_read_file("tests/fixtures/config.json", &cfg_n), *spm = test_read_file(kModel, &spm_n);
    unsigned char *wts = test_read_file("tests/fixtures/model.safetensors", &wts_n);
    char *json = read_layout("bert.json", &json_n);
    xlmr_model *m[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
        int ok = cfg && spm && wts && json && ld && xlmr_loader_set_config(ld, (const char *)cfg, cfg_n) == XLMR_OK;
        ok = ok && (k == 0 ? xlmr_loader_set_tokenizer(ld, spm, spm_n) : xlmr_loader_set_tokenizer_json(ld, json, json_n)) == XLMR_OK;
        if (ok && xlmr_loader_feed(ld, wts, wts_n) == XLMR_OK) m[k] = xlmr_loader_finish(ld);
        CHECK(m[k] != NULL, "fixture model loads (%s): %s", k ? "tokenizer.json" : ".model", ld ? xlmr_loader_error(ld) : "no loader");
        xlmr_loader_free(ld);
    }
    if (m[0] && m[1]) {
        const char *text = "Hello   world, <mask> again.  ";
        int n0 = xlmr_tokenize_offsets(m[0], text, strlen(text), 0, XLMR_OFFSETS_METASPACE);
        int32_t *ids0 = malloc((size_t)(n0 > 0 ? n0 : 1) * 12);
        memcpy(ids0, xlmr_result_ids(m[0]), (size_t)n0 * 4);
        memcpy(ids0 + n0, xlmr_result_offsets(m[0]), (size_t)n0 * 8);
        int n1 = xlmr_tokenize_offsets(m[1], text, strlen(text), 0, XLMR_OFFSETS_FILE);
        CHECK(n0 > 3 && n1 == n0 && memcmp(ids0, xlmr_result_ids(m[1]), (size_t)n0 * 4) == 0 && memcmp(ids0 + n0, xlmr_result_offsets(m[1]), (size_t)n0 * 8) == 0,
              "xlmr_tokenize_offsets: the file's rule (Metaspace) gives the .model's ids and Metaspace offsets (%d, %d ids)", n0, n1);
        CHECK(xlmr_tokenize_offsets(m[0], text, strlen(text), 0, XLMR_OFFSETS_FILE) == n0 &&
                  xlmr_result_offsets(m[0])[3] <= xlmr_result_offsets(m[1])[3],
              "a .model's file rule is the hub's");
        int nw = xlmr_tokenize_pair(m[1], "a b", 3, "c", 1, 0, XLMR_TRUNC_LONGEST_FIRST, -1, XLMR_OFFSETS_FILE);
        CHECK(nw == 1 && xlmr_result_window_starts(m[1])[1] == xlmr_tokenize(m[1], "a b", 3, 0) + 2, "a BERT-style pair: <s> A </s> B </s>");
        free(ids0);
    }
    xlmr_model_free(m[0]);
    xlmr_model_free(m[1]);
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_tokenizer_json(ld, "{\"model\":{}}", 12) == XLMR_ERR_FORMAT && strstr(xlmr_loader_error(ld), "tokenizer.json"),
          "a bad tokenizer.json fails the loader: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    free(cfg);
    free(spm);
    free(wts);
    free(json);
}

int main(void) {
    size_t n;
    unsigned char *bytes = test_read_file(kModel, &n);
    CHECK(bytes != NULL, "read %s", kModel);
    if (!bytes) return test_report("test_tokenizer_json");
    tok_tokenizer *spm = NULL;
    xlmr_error err = {0};
    CHECK(tok_from_spm_model(bytes, n, &spm, &err) == XLMR_OK, "%s", err.msg);
    free(bytes);
    if (spm) {
        test_layouts(spm);
        test_errors();
        test_loader();
    }
    tok_free(spm);
    return test_report("test_tokenizer_json");
}
