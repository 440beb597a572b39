/* test_tokenizer.c — the tokenizer against every golden case of tests/fixtures/tokenizer_cases.jsonl
 * (ids, tokens, decode, decode with skip_special_tokens), plus truncation, the pair form, and the
 * GGUF-array round trip (tok_export_vocab -> tok_from_vocab). */
#include "test.h"

#include "json.h"
#include "tokenizer.h"

static const char *kModel = "tests/fixtures/sentencepiece.bpe.model";
static const char *kCases = "tests/fixtures/tokenizer_cases.jsonl";

static int ids_equal_json(const tok_ids *ids, const json_value *arr) {
    if (!arr || arr->type != JSON_ARRAY || arr->len != ids->n) return 0;
    for (size_t i = 0; i < ids->n; i++)
        if (arr->items[i].type != JSON_NUMBER || (int32_t)arr->items[i].number != ids->ids[i]) return 0;
    return 1;
}

static void print_ids(const char *what, const tok_ids *ids) {
    fprintf(stderr, "  %s:", what);
    for (size_t i = 0; i < ids->n && i < 40; i++) fprintf(stderr, " %d", (int)ids->ids[i]);
    fprintf(stderr, "\n");
}

/* Every golden case through tokenizer t; returns the number of fully matching cases. */
static int run_cases(const tok_tokenizer *t, const char *label, int *n_cases) {
    size_t len;
    char *text = (char *)test_read_file(kCases, &len);
    CHECK(text != NULL, "read %s", kCases);
    if (!text) return 0;
    int ok_cases = 0, total = 0;
    tok_ids ids = {0};
    tok_text dec = {0};
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        if (ll == 0) {
            line += 1;
            continue;
        }
        json_doc *doc = NULL;
        xlmr_error err = {0};
        xlmr_status st = json_parse(line, ll, &doc, &err);
        CHECK(st == XLMR_OK, "json line %d: %s", total + 1, err.msg);
        line += ll + (nl ? 1 : 0);
        if (st) continue;
        const json_value *c = json_root(doc);
        const json_value *name = json_get(c, "name"), *tx = json_get(c, "text");
        const json_value *jids = json_get(c, "ids"), *jtok = json_get(c, "tokens");
        const json_value *jdec = json_get(c, "decode"), *jdecs = json_get(c, "decode_skip_special_tokens");
        total++;
        int good = 1;
        st = tok_encode(t, tx->str, tx->len, 0, &ids, &err);
        CHECK(st == XLMR_OK, "%s %s: encode: %s", label, name->str, err.msg);
        int same = st == XLMR_OK && ids_equal_json(&ids, jids);
        CHECK(same, "%s %s: ids differ (got %zu, want %zu)", label, name->str, ids.n, jids->len);
        if (!same) {
            print_ids("got ", &ids);
            good = 0;
        }
        /* tokens: convert_ids_to_tokens of the golden ids */
        int tok_ok = jtok && jtok->len == jids->len;
        for (size_t i = 0; tok_ok && i < jids->len; i++) {
            const char *p = tok_piece(t, (int32_t)jids->items[i].number);
            if (!p || strcmp(p, jtok->items[i].str) != 0) tok_ok = 0;
        }
        CHECK(tok_ok, "%s %s: tokens differ", label, name->str);
        good &= tok_ok;
        /* decode of the golden ids */
        int32_t *gold = malloc((jids->len + 1) * sizeof *gold);
        for (size_t i = 0; i < jids->len; i++) gold[i] = (int32_t)jids->items[i].number;
        st = tok_decode(t, gold, jids->len, 0, &dec, &err);
        int d_ok = st == XLMR_OK && dec.n == jdec->len && memcmp(dec.s, jdec->str, dec.n) == 0 && dec.s[dec.n] == 0;
        CHECK(d_ok, "%s %s: decode differs: got [%s] want [%s]", label, name->str, st ? err.msg : dec.s, jdec->str);
        good &= d_ok;
        st = tok_decode(t, gold, jids->len, 1, &dec, &err);
        d_ok = st == XLMR_OK && dec.n == jdecs->len && memcmp(dec.s, jdecs->str, dec.n) == 0;
        CHECK(d_ok, "%s %s: decode(skip_special) differs: got [%s] want [%s]", label, name->str, st ? err.msg : dec.s, jdecs->str);
        good &= d_ok;
        free(gold);
        ok_cases += good;
        json_free(doc);
    }
    tok_ids_free(&ids);
    tok_text_free(&dec);
    free(text);
    *n_cases = total;
    return ok_cases;
}

static void test_truncation_and_pair(const tok_tokenizer *t) {
    xlmr_error err = {0};
    tok_ids full = {0}, cut = {0}, a = {0}, b = {0}, pair = {0};
    const char *text = "Hello world, this is a longer sentence with several words in it.";
    CHECK(tok_encode(t, text, strlen(text), 0, &full, &err) == XLMR_OK, "%s", err.msg);
    CHECK(full.n > 10, "long enough: %zu", full.n);
    for (int max = 2; max <= (int)full.n + 2; max++) {
        CHECK(tok_encode(t, text, strlen(text), max, &cut, &err) == XLMR_OK, "%s", err.msg);
        size_t want = full.n < (size_t)max ? full.n : (size_t)max;
        CHECK(cut.n == want, "max_len %d: %zu ids, want %zu", max, cut.n, want);
        CHECK(cut.ids[0] == 0 && cut.ids[cut.n - 1] == 2, "max_len %d keeps <s> and </s>", max);
        CHECK(memcmp(cut.ids, full.ids, (cut.n - 1) * sizeof(int32_t)) == 0, "max_len %d is a prefix", max);
    }
    CHECK(tok_encode(t, text, strlen(text), 1, &cut, &err) == XLMR_ERR_ARG, "max_len 1 rejected");
    CHECK(strstr(err.msg, "max_len") != NULL, "message names max_len: %s", err.msg);

    /* pair: <s> A </s></s> B </s> */
    const char *ta = "first sentence here", *tb = "and the second, somewhat longer one";
    CHECK(tok_encode(t, ta, strlen(ta), 0, &a, &err) == XLMR_OK, "%s", err.msg);
    CHECK(tok_encode(t, tb, strlen(tb), 0, &b, &err) == XLMR_OK, "%s", err.msg);
    CHECK(tok_encode_pair(t, ta, strlen(ta), tb, strlen(tb), 0, &pair, &err) == XLMR_OK, "%s", err.msg);
    size_t la = a.n - 2, lb = b.n - 2;
    CHECK(pair.n == la + lb + 4, "pair length %zu", pair.n);
    CHECK(pair.ids[0] == 0 && pair.ids[1 + la] == 2 && pair.ids[2 + la] == 2 && pair.ids[pair.n - 1] == 2, "pair layout");
    CHECK(memcmp(pair.ids + 1, a.ids + 1, la * 4) == 0 && memcmp(pair.ids + 3 + la, b.ids + 1, lb * 4) == 0, "pair content");
    /* longest_first truncation, simulated the reference's way */
    for (int max = 4; max <= (int)(la + lb + 5); max++) {
        size_t xa = la, xb = lb;
        for (long ex = (long)(la + lb + 4) - max; ex > 0; ex--) {
            if (xa > xb)
                xa--;
            else
                xb--;
        }
        CHECK(tok_encode_pair(t, ta, strlen(ta), tb, strlen(tb), max, &pair, &err) == XLMR_OK, "%s", err.msg);
        CHECK(pair.n == xa + xb + 4, "pair max %d: %zu ids, want %zu", max, pair.n, xa + xb + 4);
        CHECK(memcmp(pair.ids + 1, a.ids + 1, xa * 4) == 0 && memcmp(pair.ids + 3 + xa, b.ids + 1, xb * 4) == 0, "pair max %d content", max);
        CHECK(pair.ids[pair.n - 1] == 2 && pair.ids[1 + xa] == 2 && pair.ids[2 + xa] == 2, "pair max %d separators", max);
    }
    CHECK(tok_encode_pair(t, ta, strlen(ta), tb, strlen(tb), 3, &pair, &err) == XLMR_ERR_ARG, "pair max_len 3 rejected");

    /* ids and decode out of range */
    int32_t bad[2] = {5, tok_vocab_size(t)};
    tok_text d = {0};
    CHECK(tok_decode(t, bad, 2, 0, &d, &err) == XLMR_ERR_ARG, "decode rejects id V");
    CHECK(tok_piece(t, -1) == NULL && tok_piece(t, tok_vocab_size(t)) == NULL, "tok_piece range");
    CHECK(tok_decode(t, NULL, 0, 0, &d, &err) == XLMR_OK && d.n == 0 && d.s[0] == 0, "decode of nothing");
    CHECK(tok_encode(t, NULL, 0, 0, &cut, &err) == XLMR_OK && cut.n == 2, "NULL empty text");
    tok_text_free(&d);
    tok_ids_free(&full);
    tok_ids_free(&cut);
    tok_ids_free(&a);
    tok_ids_free(&b);
    tok_ids_free(&pair);
}

static void test_ids_api(const tok_tokenizer *t) {
    CHECK(tok_vocab_size(t) == 8002, "V %d", tok_vocab_size(t));
    CHECK(tok_mask_id(t) == 8001 && tok_pad_id(t) == 1 && tok_bos_id(t) == 0 && tok_eos_id(t) == 2 && tok_unk_id(t) == 3, "special ids");
    CHECK(strcmp(tok_piece(t, 0), "<s>") == 0 && strcmp(tok_piece(t, 1), "<pad>") == 0 && strcmp(tok_piece(t, 2), "</s>") == 0 &&
              strcmp(tok_piece(t, 3), "<unk>") == 0 && strcmp(tok_piece(t, 8001), "<mask>") == 0,
          "special pieces");
    CHECK(tok_piece_to_id(t, "<mask>", 6) == 8001 && tok_piece_to_id(t, "\xe2\x96\x81", 3) > 3 && tok_piece_to_id(t, "zzzqqq", 6) == 3,
          "piece_to_id");
}

/* tok_export_vocab -> tok_from_vocab gives the same arrays and the same encodings. */
static void test_roundtrip(const tok_tokenizer *t) {
    tok_vocab_desc d;
    tok_export_vocab(t, &d);
    CHECK(d.n_tokens == 8002 && d.bos_id == 0 && d.pad_id == 1 && d.eos_id == 2 && d.unk_id == 3 && d.mask_id == 8001, "desc ids");
    CHECK(d.types[0] == 3 && d.types[3] == 2 && d.types[8001] == 3 && d.charsmap_len > 0, "desc types / charsmap");
    tok_tokenizer *t2 = NULL;
    xlmr_error err = {0};
    CHECK(tok_from_vocab(&d, &t2, &err) == XLMR_OK, "from_vocab: %s", err.msg);
    if (!t2) return;
    tok_vocab_desc d2;
    tok_export_vocab(t2, &d2);
    int same = d2.n_tokens == d.n_tokens && d2.charsmap_len == d.charsmap_len && memcmp(d2.charsmap, d.charsmap, d.charsmap_len) == 0 &&
               d2.add_space_prefix == d.add_space_prefix && d2.remove_extra_whitespaces == d.remove_extra_whitespaces &&
               d2.escape_whitespaces == d.escape_whitespaces && d2.mask_id == d.mask_id;
    for (size_t i = 0; same && i < d.n_tokens; i++)
        same = d2.token_lens[i] == d.token_lens[i] && memcmp(d2.tokens[i], d.tokens[i], d.token_lens[i]) == 0 &&
               d2.types[i] == d.types[i] && memcmp(&d2.scores[i], &d.scores[i], 4) == 0;
    CHECK(same, "exported arrays identical after the round trip");
    int n_cases = 0;
    int ok = run_cases(t2, "roundtrip", &n_cases);
    CHECK(ok == n_cases, "roundtrip: %d of %d cases", ok, n_cases);

    /* A GGUF written by llama.cpp: the last slot is "[PAD8000]" (unused, -10000) rather than "<mask>". */
    const char **toks = malloc(d.n_tokens * sizeof *toks);
    size_t *lens = malloc(d.n_tokens * sizeof *lens);
    float *scores = malloc(d.n_tokens * sizeof *scores);
    int32_t *types = malloc(d.n_tokens * sizeof *types);
    for (size_t i = 0; i < d.n_tokens; i++) {
        toks[i] = d.tokens[i];
        lens[i] = d.token_lens[i];
        scores[i] = d.scores[i];
        types[i] = d.types[i];
    }
    toks[8001] = "[PAD8000]";
    lens[8001] = 9;
    scores[8001] = -10000.0f;
    types[8001] = 5;
    tok_vocab_desc d3 = d;
    d3.tokens = toks;
    d3.token_lens = lens;
    d3.scores = scores;
    d3.types = types;
    tok_tokenizer *t3 = NULL;
    CHECK(tok_from_vocab(&d3, &t3, &err) == XLMR_OK, "llama.cpp layout: %s", err.msg);
    if (t3) {
        CHECK(strcmp(tok_piece(t3, 8001), "<mask>") == 0, "mask slot reads <mask>");
        ok = run_cases(t3, "llama.cpp-layout", &n_cases);
        CHECK(ok == n_cases, "llama.cpp layout: %d of %d cases", ok, n_cases);
        tok_free(t3);
    }
    /* malformed descriptions */
    types[100] = 9;
    CHECK(tok_from_vocab(&d3, &t3, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "100"), "bad type named: %s", err.msg);
    types[100] = 1;
    toks[101] = toks[102];
    lens[101] = lens[102];
    CHECK(tok_from_vocab(&d3, &t3, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "same string"), "duplicate named: %s", err.msg);
    toks[101] = d.tokens[101];
    lens[101] = d.token_lens[101];
    d3.mask_id = 8002;
    CHECK(tok_from_vocab(&d3, &t3, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "<mask>"), "mask out of range: %s", err.msg);
    free(toks);
    free(lens);
    free(scores);
    free(types);
    tok_free(t2);
}

int main(void) {
    size_t n;
    unsigned char *model = test_read_file(kModel, &n);
    CHECK(model != NULL, "read %s", kModel);
    if (!model) return test_report("test_tokenizer");
    tok_tokenizer *t = NULL;
    xlmr_error err = {0};
    xlmr_status st = tok_from_spm_model(model, n, &t, &err);
    free(model); /* the tokenizer keeps its own copy of everything */
    CHECK(st == XLMR_OK, "load: %s", err.msg);
    if (!t) return test_report("test_tokenizer");
    int n_cases = 0;
    int ok = run_cases(t, "spm", &n_cases);
    printf("tokenizer cases: %d of %d identical (ids, tokens, decode, decode_skip_special_tokens)\n", ok, n_cases);
    CHECK(n_cases == 375 && ok == n_cases, "%d of %d cases", ok, n_cases);
    test_ids_api(t);
    test_truncation_and_pair(t);
    test_roundtrip(t);
    tok_free(t);
    return test_report("test_tokenizer");
}
