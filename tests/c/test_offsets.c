/* test_offsets.c — token offsets (UTF-16 [start, end) per id) against tests/fixtures/tokenizer_offsets.jsonl,
 * SentencePiece's own spans with Hugging Face's rule applied (tests/tokdiff/make_offsets.py), on every
 * tokenizer case, both rules; and the pair windows against tests/fixtures/tokenizer_pairs.jsonl (the same
 * script, from the published truncation semantics). */
#include "test.h"

#include "json.h"
#include "tokenizer.h"
#include "xlmr.h"

static const char *kModel = "tests/fixtures/sentencepiece.bpe.model";
static const char *kCases = "tests/fixtures/tokenizer_cases.jsonl";
static const char *kOffsets = "tests/fixtures/tokenizer_offsets.jsonl";
static const char *kPairs = "tests/fixtures/tokenizer_pairs.jsonl";

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

/* arr: [[s, e], ...] equal to the flat pairs v[0 .. 2n). */
static int pairs_equal(const json_value *arr, const int32_t *v, size_t n) {
    if (!arr || arr->type != JSON_ARRAY || arr->len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        const json_value *p = &arr->items[i];
        if (p->type != JSON_ARRAY || p->len != 2 || (int32_t)p->items[0].number != v[2 * i] || (int32_t)p->items[1].number != v[2 * i + 1])
            return 0;
    }
    return 1;
}

static int ints_equal(const json_value *arr, const int32_t *v, size_t n) {
    if (!arr || arr->type != JSON_ARRAY || arr->len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if ((int32_t)arr->items[i].number != v[i]) return 0;
    return 1;
}

static void print_first_difference(const json_value *arr, const int32_t *v, size_t n) {
    for (size_t i = 0; i < n && i < arr->len; i++) {
        const json_value *p = &arr->items[i];
        if ((int32_t)p->items[0].number != v[2 * i] || (int32_t)p->items[1].number != v[2 * i + 1]) {
            fprintf(stderr, "  token %zu: got (%d,%d) want (%d,%d)\n", i, (int)v[2 * i], (int)v[2 * i + 1], (int)p->items[0].number,
                    (int)p->items[1].number);
            return;
        }
    }
}

static void test_fixture_offsets(const tok_tokenizer *t) {
    size_t lc, lo;
    char *cases = (char *)test_read_file(kCases, &lc), *offs = (char *)test_read_file(kOffsets, &lo);
    CHECK(cases && offs, "read %s and %s", kCases, kOffsets);
    if (!cases || !offs) return;
    char *cc = cases, *co = offs;
    json_doc *header = next_line(&co, offs + lo); /* {"about": ...} */
    json_free(header);
    tok_ids ids = {0}, spans = {0};
    int n = 0, same[2] = {0, 0};
    json_doc *dc, *dof;
    while ((dc = next_line(&cc, cases + lc)) && (dof = next_line(&co, offs + lo))) {
        const json_value *c = json_root(dc), *o = json_root(dof), *tx = json_get(c, "text");
        CHECK(strcmp(json_get(c, "name")->str, json_get(o, "name")->str) == 0, "case order: %s", json_get(c, "name")->str);
        const char *rule_key[2] = {"offsets", "metaspace"};
        for (int rule = 0; rule < 2; rule++) {
            xlmr_error err = {0};
            CHECK(tok_encode_offsets(t, tx->str, tx->len, 0, rule, &ids, &spans, &err) == XLMR_OK, "%s", err.msg);
            const json_value *want = json_get(o, rule_key[rule]);
            int ok = spans.n == 2 * ids.n && pairs_equal(want, spans.ids, ids.n);
            CHECK(ok, "%s %s: offsets differ (%zu ids, %zu golden)", json_get(c, "name")->str, rule_key[rule], ids.n, want->len);
            if (!ok) print_first_difference(want, spans.ids, ids.n);
            same[rule] += ok;
        }
        n++;
        json_free(dc);
        json_free(dof);
    }
    printf("offsets: %d of %d cases identical (hub rule), %d (Metaspace rule)\n", same[0], n, same[1]);
    CHECK(n == 375, "all cases read: %d", n);
    tok_ids_free(&ids);
    tok_ids_free(&spans);
    free(cases);
    free(offs);
}

/* The example of transformers#17454, whatever pieces this vocabulary cuts it into: every span within its
   word, <s> </s> (0, 0), and a typed <mask> spanning its characters without the space before it. */
static void test_rule_examples(const tok_tokenizer *t) {
    xlmr_error err = {0};
    tok_ids ids = {0}, spans = {0};
    const char *text = "Quality of work is <mask> sufficient";
    CHECK(tok_encode_offsets(t, text, strlen(text), 0, TOK_OFFSETS_TRIMMED, &ids, &spans, &err) == XLMR_OK, "%s", err.msg);
    CHECK(spans.ids[0] == 0 && spans.ids[1] == 0 && spans.ids[2 * ids.n - 2] == 0 && spans.ids[2 * ids.n - 1] == 0, "<s> </s> are (0, 0)");
    int mask_seen = 0;
    for (size_t i = 1; i + 1 < ids.n; i++) {
        int32_t s = spans.ids[2 * i], e = spans.ids[2 * i + 1];
        CHECK(s < e && text[s] != ' ' && text[e - 1] != ' ', "token %zu (%d,%d) holds no space", i, (int)s, (int)e);
        if (ids.ids[i] == tok_mask_id(t)) mask_seen = s == 19 && e == 25;
    }
    CHECK(mask_seen, "<mask> spans (19, 25)");
    /* UTF-16: an astral character counts two units */
    const char *astral = "\xF0\x9F\x98\x80 ab";
    CHECK(tok_encode_offsets(t, astral, strlen(astral), 0, TOK_OFFSETS_TRIMMED, &ids, &spans, &err) == XLMR_OK, "%s", err.msg);
    CHECK(spans.ids[2 * ids.n - 3] == 5, "'ab' ends at UTF-16 unit 5: %d", (int)spans.ids[2 * ids.n - 3]);
    tok_ids_free(&ids);
    tok_ids_free(&spans);
}

static void test_fixture_pairs(const tok_tokenizer *t) {
    size_t len;
    char *text = (char *)test_read_file(kPairs, &len);
    CHECK(text != NULL, "read %s", kPairs);
    if (!text) return;
    char *cur = text;
    json_free(next_line(&cur, text + len));
    tok_windows w = {0};
    int n = 0;
    json_doc *d;
    while ((d = next_line(&cur, text + len))) {
        const json_value *c = json_root(d), *a = json_get(c, "a"), *b = json_get(c, "b"), *wins = json_get(c, "windows");
        const json_value *error = json_get(c, "error");
        xlmr_error err = {0};
        xlmr_status st = tok_encode_pair_windows(t, a->str, a->len, b->str, b->len, (int)json_get(c, "max_len")->number,
                                                 (int)json_get(c, "strategy")->number, (int)json_get(c, "stride")->number, TOK_OFFSETS_TRIMMED, &w, &err);
        const char *name = json_get(c, "name")->str;
        if (error) {
            CHECK(st == (xlmr_status)error->number, "%s: status %d, want %d (%s)", name, (int)st, (int)error->number, err.msg);
        } else {
            CHECK(st == XLMR_OK && w.n == wins->len, "%s: %zu windows, want %zu (%s)", name, w.n, wins->len, err.msg);
            for (size_t k = 0; st == XLMR_OK && k < w.n && k < wins->len; k++) {
                const json_value *x = &wins->items[k];
                size_t s0 = (size_t)w.starts.ids[k], cnt = (size_t)w.starts.ids[k + 1] - s0;
                CHECK(ints_equal(json_get(x, "ids"), w.ids.ids + s0, cnt), "%s window %zu: ids", name, k);
                CHECK(ints_equal(json_get(x, "seq"), w.seq.ids + s0, cnt), "%s window %zu: sequence ids", name, k);
                CHECK(pairs_equal(json_get(x, "offsets"), w.offsets.ids + 2 * s0, cnt), "%s window %zu: offsets", name, k);
            }
        }
        n++;
        json_free(d);
    }
    printf("pairs: %d cases\n", n);
    CHECK(n > 20, "pair cases read: %d", n);
    tok_windows_free(&w);
    free(text);
}

/* The exported C API (xlmr_tokenize_offsets, xlmr_tokenize_pair) gives what the tokenizer gives, on the
   fixture model loaded from its folder; a failed call leaves the model usable. */
static void test_api(const tok_tokenizer *t) {
    size_t cfg_n, wts_n, spm_n;
    unsigned char *cfg = test_read_file("tests/fixtures/config.json", &cfg_n), *spm = test_read_file(kModel, &spm_n);
    unsigned char *wts = test_read_file("tests/fixtures/model.safetensors", &wts_n);
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    xlmr_model *m = NULL;
    if (cfg && spm && wts && ld && xlmr_loader_set_config(ld, (const char *)cfg, cfg_n) == XLMR_OK && xlmr_loader_set_tokenizer(ld, spm, spm_n) == XLMR_OK &&
        xlmr_loader_feed(ld, wts, wts_n) == XLMR_OK)
        m = xlmr_loader_finish(ld);
    CHECK(m != NULL, "fixture model loads: %s", ld ? xlmr_loader_error(ld) : "no loader");
    xlmr_loader_free(ld);
    free(cfg);
    free(spm);
    free(wts);
    if (!m) return;
    const char *q = "What is <mask>?", *ctx = "Quality of work is sufficient, and the context goes on for a while longer than one window.";
    tok_ids ids = {0}, offs = {0};
    xlmr_error err = {0};
    CHECK(tok_encode_offsets(t, ctx, strlen(ctx), 0, TOK_OFFSETS_TRIMMED, &ids, &offs, &err) == XLMR_OK, "%s", err.msg);
    int n = xlmr_tokenize_offsets(m, ctx, strlen(ctx), 0, XLMR_OFFSETS_HUB);
    CHECK(n == (int)ids.n && memcmp(xlmr_result_ids(m), ids.ids, ids.n * 4) == 0 && memcmp(xlmr_result_offsets(m), offs.ids, offs.n * 4) == 0,
          "xlmr_tokenize_offsets: %d ids as the tokenizer's %zu", n, ids.n);
    tok_windows w = {0};
    CHECK(tok_encode_pair_windows(t, q, strlen(q), ctx, strlen(ctx), 16, TOK_TRUNC_ONLY_SECOND, 2, TOK_OFFSETS_TRIMMED, &w, &err) == XLMR_OK, "%s",
          err.msg);
    int nw = xlmr_tokenize_pair(m, q, strlen(q), ctx, strlen(ctx), 16, XLMR_TRUNC_ONLY_SECOND, 2, XLMR_OFFSETS_HUB);
    CHECK(nw == (int)w.n && nw > 2, "xlmr_tokenize_pair: %d windows, the tokenizer's %zu", nw, w.n);
    if (nw == (int)w.n) {
        CHECK(memcmp(xlmr_result_window_starts(m), w.starts.ids, (w.n + 1) * 4) == 0, "window starts");
        CHECK(memcmp(xlmr_result_ids(m), w.ids.ids, w.ids.n * 4) == 0, "window ids");
        CHECK(memcmp(xlmr_result_offsets(m), w.offsets.ids, w.offsets.n * 4) == 0, "window offsets");
        CHECK(memcmp(xlmr_result_sequence_ids(m), w.seq.ids, w.seq.n * 4) == 0, "sequence ids");
    }
    CHECK(xlmr_tokenize_pair(m, ctx, strlen(ctx), q, strlen(q), 16, XLMR_TRUNC_ONLY_SECOND, 2, XLMR_OFFSETS_HUB) == -XLMR_ERR_TOO_LONG,
          "a first text longer than the window: %s", xlmr_model_error(m));
    CHECK(xlmr_tokenize_pair(m, q, strlen(q), ctx, strlen(ctx), 16, XLMR_TRUNC_ONLY_SECOND, 99, XLMR_OFFSETS_HUB) == -XLMR_ERR_ARG,
          "stride not below the room: %s", xlmr_model_error(m));
    CHECK(xlmr_tokenize_pair(m, q, strlen(q), ctx, strlen(ctx), 16, 7, -1, XLMR_OFFSETS_HUB) == -XLMR_ERR_ARG, "unknown strategy");
    CHECK(xlmr_tokenize_offsets(m, ctx, strlen(ctx), 0, XLMR_OFFSETS_HUB) == n, "usable after failures");
    tok_windows_free(&w);
    tok_ids_free(&ids);
    tok_ids_free(&offs);
    xlmr_model_free(m);
}

int main(void) {
    size_t n;
    unsigned char *bytes = test_read_file(kModel, &n);
    CHECK(bytes != NULL, "read %s", kModel);
    if (!bytes) return test_report("test_offsets");
    tok_tokenizer *t = NULL;
    xlmr_error err = {0};
    CHECK(tok_from_spm_model(bytes, n, &t, &err) == XLMR_OK, "%s", err.msg);
    free(bytes);
    if (t) {
        test_fixture_offsets(t);
        test_rule_examples(t);
        test_fixture_pairs(t);
        test_api(t);
    }
    tok_free(t);
    return test_report("test_offsets");
}
