/* test_spm_model.c — the SentencePiece model reader: fields of the fixture model, the small seed models
 * (user-defined / unused / byte pieces, charsmap rules, normalizer flags) against ids computed with the
 * reference library, and malformed files: every truncation and many byte flips of a small model give an
 * error with a message or a working tokenizer, never a crash. */
#include "test.h"

#include "spm_model.h"
#include "tokenizer.h"

#define SEEDS "tests/fuzz/corpus/fuzz_spm_model/"

static void test_fixture_fields(void) {
    size_t n;
    unsigned char *b = test_read_file("tests/fixtures/sentencepiece.bpe.model", &n);
    CHECK(b != NULL, "fixture model");
    if (!b) return;
    spm_model m;
    xlmr_error err = {0};
    CHECK(spm_model_parse(b, n, &m, &err) == XLMR_OK, "parse: %s", err.msg);
    CHECK(m.n_pieces == 8000, "pieces %zu", m.n_pieces);
    CHECK(m.pieces[0].type == SPM_UNKNOWN && m.pieces[0].len == 5 && memcmp(m.pieces[0].str, "<unk>", 5) == 0, "piece 0 <unk>");
    CHECK(m.pieces[1].type == SPM_CONTROL && m.pieces[2].type == SPM_CONTROL, "control pieces");
    CHECK(m.pieces[3].type == SPM_NORMAL && m.pieces[3].score < 0, "normal piece 3");
    CHECK(m.charsmap_len == 237561 && xlmr_rd_u32(m.charsmap) == 177152, "charsmap %zu", m.charsmap_len);
    CHECK(m.add_dummy_prefix == 1 && m.remove_extra_whitespaces == 1 && m.escape_whitespaces == 1, "normalizer flags");
    CHECK(m.model_type == SPM_MODEL_UNIGRAM && m.byte_fallback == 0 && m.trainer_unk_id == 0, "trainer fields");
    spm_model_free(&m);
    free(b);
}

typedef struct expect_case {
    const char *model, *text;
    int n;
    int32_t spm_ids[24]; /* sentencepiece ids from the reference (python3-sentencepiece 0.1.97) */
} expect_case;

static void test_small_models(void) {
    static const expect_case cases[] = {
        {"small", "ab hello world", 7, {3, 4, 5, 17, 20, 10, 7}},
        {"small", "  A\xc2\xa0" "AB\tfi\xef\xac\x81 USR zz\x01q ", 10, {3, 4, 3, 26, 25, 24, 3, 37, 3, 0}},
        {"small", "e\xcc\x81 \xe2\x91\xa0\xe2\x96\x81x", 6, {3, 27, 3, 0, 3, 26}},
        {"small", "qqq ab", 5, {3, 0, 3, 4, 5}},
        {"small", "xUSRx unusedx", 10, {3, 26, 37, 26, 3, 0, 32, 8, 7, 26}}, /* user-defined wins, unused never matches */
        {"small", "unused USRUSR", 8, {3, 0, 32, 8, 7, 3, 37, 37}},
        {"flags_off", "ab hello world", 11, {4, 5, 0, 18, 19, 0, 12, 11, 13, 10, 7}},
        {"flags_off", "  A\xc2\xa0" "AB\tfi\xef\xac\x81 USR zz\x01q ", 8, {0, 4, 0, 26, 0, 24, 24, 0}},
        {"flags_off", "e\xcc\x81 \xe2\x91\xa0\xe2\x96\x81x", 3, {27, 0, 26}},
        {"byte_fallback", "ab hello world", 15, {259, 260, 261, 259, 265, 264, 266, 266, 267, 259, 268, 267, 269, 266, 263}},
        {"byte_fallback", "e\xcc\x81 \xe2\x91\xa0\xe2\x96\x81x", 10, {259, 264, 207, 132, 259, 229, 148, 163, 259, 123}},
        {"byte_fallback", "qqq ab", 7, {259, 116, 116, 116, 259, 260, 261}},
    };
    tok_ids ids = {0};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        char path[256];
        snprintf(path, sizeof path, SEEDS "%s.model", cases[c].model);
        size_t n;
        unsigned char *b = test_read_file(path, &n);
        CHECK(b != NULL, "%s", path);
        if (!b) continue;
        tok_tokenizer *t = NULL;
        xlmr_error err = {0};
        CHECK(tok_from_spm_model(b, n, &t, &err) == XLMR_OK, "%s: %s", path, err.msg);
        free(b);
        if (!t) continue;
        CHECK(tok_encode(t, cases[c].text, strlen(cases[c].text), 0, &ids, &err) == XLMR_OK, "%s", err.msg);
        int same = ids.n == (size_t)cases[c].n + 2;
        for (int i = 0; same && i < cases[c].n; i++) {
            int32_t want = cases[c].spm_ids[i] ? cases[c].spm_ids[i] + 1 : 3;
            same = ids.ids[i + 1] == want;
        }
        CHECK(same, "%s case %zu: ids differ from the reference", cases[c].model, c);
        tok_free(t);
    }
    tok_ids_free(&ids);

    size_t n;
    unsigned char *b = test_read_file(SEEDS "bpe.model", &n);
    tok_tokenizer *t = NULL;
    xlmr_error err = {0};
    CHECK(b && tok_from_spm_model(b, n, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "model_type 2"), "BPE refused: %s", err.msg);
    free(b);
}

/* Loads bytes; returns 1 if it loaded (and the tokenizer worked), 0 on a clean error. */
static int try_load(const unsigned char *b, size_t n, int *bad_msg) {
    tok_tokenizer *t = NULL;
    xlmr_error err;
    memset(&err, 0, sizeof err);
    if (tok_from_spm_model(b, n, &t, &err) != XLMR_OK) {
        if (err.msg[0] == 0 || t != NULL) (*bad_msg)++;
        return 0;
    }
    tok_ids ids = {0};
    tok_text text = {0};
    const char *s = "  A\xc2\xa0" "AB\tfi\xef\xac\x81 USR <mask>zz\x01q \xff";
    if (tok_encode(t, s, strlen(s), 0, &ids, &err) == XLMR_OK) tok_decode(t, ids.ids, ids.n, 0, &text, &err);
    tok_ids_free(&ids);
    tok_text_free(&text);
    tok_free(t);
    return 1;
}

static void test_malformed(void) {
    size_t n;
    unsigned char *b = test_read_file(SEEDS "small.model", &n);
    CHECK(b != NULL, "small.model");
    if (!b) return;
    int bad_msg = 0, loaded = 0;
    for (size_t cut = 0; cut < n; cut++) loaded += try_load(b, cut, &bad_msg);
    CHECK(bad_msg == 0, "%d truncations failed without a message", bad_msg);
    printf("small.model (%zu bytes): %zu truncations, %d still load\n", n, n, loaded);

    /* specific messages: field and offset */
    xlmr_error err = {0};
    tok_tokenizer *t = NULL;
    CHECK(tok_from_spm_model(b, 0, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "empty"), "empty: %s", err.msg);
    unsigned char bad[16] = {0x0a, 0x20, 0x0a, 0x01, 'x'}; /* pieces: length 32 > what is left */
    CHECK(tok_from_spm_model(bad, 5, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "offset 0") && strstr(err.msg, "length 32"),
          "overlong length: %s", err.msg);
    unsigned char grp[2] = {0x0b, 0x00}; /* field 1, wire type 3 (group) */
    CHECK(tok_from_spm_model(grp, 2, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "wire type"), "group: %s", err.msg);
    unsigned char vi[12] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    CHECK(tok_from_spm_model(vi, 12, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "varint"), "long varint: %s", err.msg);
    unsigned char nopiece[4] = {0x1a, 0x02, 0x18, 0x00}; /* only a normalizer spec */
    CHECK(tok_from_spm_model(nopiece, 4, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "no pieces"), "no pieces: %s", err.msg);
    unsigned char badtype[] = {0x0a, 0x05, 0x0a, 0x01, 'x', 0x18, 0x09}; /* piece type 9 */
    CHECK(tok_from_spm_model(badtype, sizeof badtype, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "type 9"), "bad type: %s", err.msg);
    unsigned char empty_piece[] = {0x0a, 0x02, 0x0a, 0x00};
    CHECK(tok_from_spm_model(empty_piece, sizeof empty_piece, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "empty string"),
          "empty piece: %s", err.msg);
    unsigned char layout[] = {0x0a, 0x03, 0x0a, 0x01, 'x'}; /* one normal piece: not XLM-R's layout */
    CHECK(tok_from_spm_model(layout, sizeof layout, &t, &err) == XLMR_ERR_FORMAT && strstr(err.msg, "layout"), "layout: %s", err.msg);

    /* random byte flips (deterministic) */
    unsigned char *c = malloc(n);
    uint32_t rng = 12345;
    int flips_loaded = 0;
    const int rounds = 3000;
    for (int r = 0; r < rounds; r++) {
        memcpy(c, b, n);
        int k = 1 + r % 4;
        for (int j = 0; j < k; j++) {
            rng = rng * 1664525u + 1013904223u;
            size_t pos = (rng >> 8) % n;
            rng = rng * 1664525u + 1013904223u;
            c[pos] ^= (unsigned char)(1u << ((rng >> 16) & 7)) | (unsigned char)((r & 8) ? (rng >> 24) : 0);
        }
        flips_loaded += try_load(c, n, &bad_msg);
    }
    CHECK(bad_msg == 0, "%d corrupted files failed without a message", bad_msg);
    printf("small.model: %d corrupted copies, %d still load\n", rounds, flips_loaded);
    free(c);
    free(b);
}

int main(void) {
    test_fixture_fields();
    test_small_models();
    test_malformed();
    return test_report("test_spm_model");
}
