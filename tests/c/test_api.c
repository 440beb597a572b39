/* The exported C API (src/xlmr.h) under hostile arguments: NULL handles and buffers, zero and negative
 * sizes, counts that overflow, ids and positions out of range, top_k 0 or past the vocabulary, loaders
 * used after failing or after handing over their model, long and malformed text. Every call must return
 * an error status with a message, never crash (ASan/UBSan natively, traps in wasm), and leave the model
 * giving the same answers as before. */
#include <limits.h>

#include "test.h"
#include "xlmr.h"

static unsigned char *cfg, *spm, *wts;
static size_t cfg_n, spm_n, wts_n;

static xlmr_model *load_fixture(void) {
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_F32);
    xlmr_model *m = NULL;
    if (ld && xlmr_loader_set_config(ld, (const char *)cfg, cfg_n) == XLMR_OK &&
        xlmr_loader_set_tokenizer(ld, spm, spm_n) == XLMR_OK && xlmr_loader_feed(ld, wts, wts_n) == XLMR_OK)
        m = xlmr_loader_finish(ld);
    if (!m) fprintf(stderr, "loading the fixture: %s\n", ld ? xlmr_loader_error(ld) : "no loader");
    xlmr_loader_free(ld);
    return m;
}

static int has_msg(const char *s) { return s && s[0] != 0; }

/* ---- the reference answers every hostile call is followed by ---- */

#define TEXT "Hello I'm a <mask> model."
static int32_t ref_ids[64];
static int ref_n;
static int32_t ref_top_ids[5];
static float ref_top_sc[5];
static float ref_emb[64];

static void take_reference(xlmr_model *m) {
    ref_n = xlmr_tokenize(m, TEXT, strlen(TEXT), 0);
    CHECK(ref_n > 3 && ref_n <= 64, "tokenize: %d %s", ref_n, xlmr_model_error(m));
    memcpy(ref_ids, xlmr_result_ids(m), (size_t)ref_n * sizeof(int32_t));
    CHECK(xlmr_fill_mask(m, ref_ids, ref_n, 5, ref_top_ids, ref_top_sc) == 1, "fill_mask: %s", xlmr_model_error(m));
    CHECK(xlmr_embed(m, ref_ids, &ref_n, 1, ref_n, XLMR_POOL_MEAN, 1, ref_emb) == 0, "embed: %s", xlmr_model_error(m));
}

/* The model still answers exactly as before. */
static void still_usable(xlmr_model *m, const char *after) {
    int n = xlmr_tokenize(m, TEXT, strlen(TEXT), 0);
    CHECK(n == ref_n && memcmp(xlmr_result_ids(m), ref_ids, (size_t)n * sizeof(int32_t)) == 0, "after %s: tokenize gives %d ids",
          after, n);
    int32_t ids[5];
    float sc[5], emb[64];
    CHECK(xlmr_fill_mask(m, ref_ids, ref_n, 5, ids, sc) == 1 && memcmp(ids, ref_top_ids, sizeof ids) == 0 &&
              memcmp(sc, ref_top_sc, sizeof sc) == 0,
          "after %s: fill_mask differs (%s)", after, xlmr_model_error(m));
    CHECK(xlmr_embed(m, ref_ids, &ref_n, 1, ref_n, XLMR_POOL_MEAN, 1, emb) == 0 && memcmp(emb, ref_emb, sizeof emb) == 0,
          "after %s: embed differs (%s)", after, xlmr_model_error(m));
}

/* A call that must fail with `want` (a negative count or a status) and leave a message. */
#define FAILS(m, call, want)                                                                                      \
    do {                                                                                                          \
        int r_ = (call);                                                                                          \
        CHECK(r_ == (want) && has_msg(xlmr_model_error(m)), "%s returned %d (want %d): %s", #call, r_, (want),   \
              xlmr_model_error(m));                                                                               \
    } while (0)

/* ---- NULL model ---- */

static void test_null_model(void) {
    int32_t ids[4] = {0, 5, 7, 2}, len = 4, oid[5];
    float out[64 * 4], sc[5];
    CHECK(xlmr_tokenize(NULL, "a", 1, 0) == -XLMR_ERR_ARG, "tokenize(NULL)");
    CHECK(xlmr_result_ids(NULL) == NULL, "result_ids(NULL)");
    CHECK(xlmr_token_piece(NULL, 0) != NULL, "token_piece(NULL) gives a string");
    CHECK(xlmr_decode(NULL, ids, 4, 0) == -XLMR_ERR_ARG, "decode(NULL)");
    CHECK(xlmr_result_text(NULL) != NULL, "result_text(NULL) gives a string");
    CHECK(xlmr_embed(NULL, ids, &len, 1, 4, XLMR_POOL_MEAN, 1, out) == -XLMR_ERR_ARG, "embed(NULL)");
    CHECK(xlmr_fill_mask(NULL, ids, 4, 5, oid, sc) == -XLMR_ERR_ARG, "fill_mask(NULL)");
    CHECK(xlmr_logits(NULL, ids, 4, ids, 1, out) == -XLMR_ERR_ARG, "logits(NULL)");
    CHECK(has_msg(xlmr_model_info_json(NULL)), "model_info_json(NULL) gives a string");
    CHECK(has_msg(xlmr_model_error(NULL)), "model_error(NULL)");
    CHECK(xlmr_writer_new(NULL) == NULL, "writer_new(NULL)");
    CHECK(xlmr_writer_chunk(NULL) == NULL && xlmr_writer_chunk_len(NULL) == 0 && xlmr_writer_total(NULL) == 0,
          "writer calls on NULL");
    xlmr_writer_free(NULL);
    xlmr_model_free(NULL);
    xlmr_free(NULL);
}

/* The kernels' instruction set as the build reports it (model.runtime.simd in JS), from the compiler's own
 * feature macros. */
static void test_build_simd(void) {
#if defined(__wasm_relaxed_simd__)
    const char *want = "relaxed";
#elif defined(__wasm_simd128__)
    const char *want = "simd128";
#else
    const char *want = "scalar";
#endif
    CHECK(strcmp(xlmr_build_simd(), want) == 0, "xlmr_build_simd() = \"%s\", want \"%s\"", xlmr_build_simd(), want);
}

/* ---- loader protocol misuse ---- */

static void test_loader_misuse(void) {
    CHECK(xlmr_loader_new(-1) == NULL && xlmr_loader_new(4) == NULL && xlmr_loader_new(INT_MAX) == NULL, "bad dtype");
    CHECK(xlmr_loader_set_config(NULL, "{}", 2) == XLMR_ERR_ARG, "set_config(NULL loader)");
    CHECK(xlmr_loader_set_tokenizer(NULL, spm, spm_n) == XLMR_ERR_ARG, "set_tokenizer(NULL loader)");
    CHECK(xlmr_loader_commit(NULL, 1) == XLMR_ERR_ARG, "commit(NULL loader)");
    CHECK(xlmr_loader_room(NULL) == 0 && xlmr_loader_dest(NULL) == NULL, "room/dest(NULL loader)");
    CHECK(xlmr_loader_finish(NULL) == NULL, "finish(NULL loader)");
    CHECK(has_msg(xlmr_loader_error(NULL)), "error(NULL loader)");
    xlmr_loader_free(NULL);

    /* NULL buffers with a length */
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    int st = xlmr_loader_set_config(ld, NULL, 100);
    CHECK(st == XLMR_ERR_ARG && has_msg(xlmr_loader_error(ld)), "set_config(NULL, 100): %d %s", st, xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    st = xlmr_loader_set_tokenizer(ld, NULL, 100);
    CHECK(st == XLMR_ERR_ARG && has_msg(xlmr_loader_error(ld)), "set_tokenizer(NULL, 100): %d %s", st,
          xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    st = xlmr_loader_set_config(ld, NULL, 0);
    CHECK(st != XLMR_OK && has_msg(xlmr_loader_error(ld)), "set_config(NULL, 0): %d", st);
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    st = xlmr_loader_set_tokenizer(ld, NULL, 0);
    CHECK(st != XLMR_OK && has_msg(xlmr_loader_error(ld)), "set_tokenizer(NULL, 0): %d", st);
    xlmr_loader_free(ld);

    /* a failed loader refuses everything after, with its first message, and frees cleanly */
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_config(ld, "{not json", 9) == XLMR_ERR_FORMAT, "bad config.json");
    char first[XLMR_ERROR_MSG_MAX];
    snprintf(first, sizeof first, "%s", xlmr_loader_error(ld));
    CHECK(xlmr_loader_set_config(ld, (const char *)cfg, cfg_n) == XLMR_ERR_FORMAT, "set_config after failure");
    CHECK(xlmr_loader_set_tokenizer(ld, spm, spm_n) == XLMR_ERR_FORMAT, "set_tokenizer after failure");
    CHECK(xlmr_loader_room(ld) == 0, "room after failure");
    CHECK(xlmr_loader_dest(ld) != NULL, "dest after failure is somewhere harmless");
    CHECK(xlmr_loader_commit(ld, 0) == XLMR_ERR_FORMAT && xlmr_loader_commit(ld, 5) == XLMR_ERR_FORMAT,
          "commit after failure");
    CHECK(xlmr_loader_feed(ld, wts, 64) == XLMR_ERR_FORMAT, "feed after failure");
    CHECK(xlmr_loader_finish(ld) == NULL && xlmr_loader_finish(ld) == NULL, "finish after failure, twice");
    CHECK(strcmp(first, xlmr_loader_error(ld)) == 0, "the first message stays: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);

    /* commit more than the room, before and inside the data */
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    size_t room = xlmr_loader_room(ld);
    CHECK(xlmr_loader_commit(ld, room + 1) == XLMR_ERR_ARG && has_msg(xlmr_loader_error(ld)), "commit > room");
    CHECK(xlmr_loader_commit(ld, SIZE_MAX) == XLMR_ERR_ARG, "commit SIZE_MAX after failure");
    xlmr_loader_free(ld);

    /* finish before any byte, and in the middle of the header */
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_finish(ld) == NULL && xlmr_loader_status(ld) == XLMR_ERR_FORMAT, "finish with no bytes: %s",
          xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_feed(ld, wts, 20);
    CHECK(xlmr_loader_finish(ld) == NULL && strstr(xlmr_loader_error(ld), "truncated"), "finish in the header: %s",
          xlmr_loader_error(ld));
    xlmr_loader_free(ld);

    /* a loader after its model is handed over: refuses, the model lives on its own */
    ld = xlmr_loader_new(XLMR_DTYPE_F32);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    xlmr_loader_feed(ld, wts, wts_n);
    xlmr_model *m = xlmr_loader_finish(ld);
    CHECK(m != NULL, "finish: %s", xlmr_loader_error(ld));
    CHECK(xlmr_loader_finish(ld) == NULL && xlmr_loader_status(ld) == XLMR_ERR_STATE, "finish twice");
    CHECK(xlmr_loader_room(ld) == 0, "room after finish");
    CHECK(xlmr_loader_commit(ld, 1) == XLMR_ERR_STATE, "commit after finish");
    CHECK(xlmr_loader_feed(ld, wts, 8) == XLMR_ERR_STATE, "feed after finish");
    CHECK(xlmr_loader_set_config(ld, (const char *)cfg, cfg_n) == XLMR_ERR_STATE, "set_config after finish");
    CHECK(xlmr_loader_set_tokenizer(ld, spm, spm_n) == XLMR_ERR_STATE, "set_tokenizer after finish");
    xlmr_loader_free(ld);
    if (m) still_usable(m, "the loader was freed");
    xlmr_model_free(m);

    /* bytes past the end of a complete file */
    ld = xlmr_loader_new(XLMR_DTYPE_F32);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    CHECK(xlmr_loader_feed(ld, wts, wts_n) == XLMR_OK, "feed");
    CHECK(xlmr_loader_room(ld) == 0, "no room once complete");
    CHECK(xlmr_loader_commit(ld, 1) != XLMR_OK && has_msg(xlmr_loader_error(ld)), "a byte past the end");
    xlmr_loader_free(ld);

    /* the tokenizer given twice: the second replaces the first without a leak */
    ld = xlmr_loader_new(XLMR_DTYPE_F32);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    xlmr_loader_feed(ld, wts, wts_n);
    m = xlmr_loader_finish(ld);
    CHECK(m != NULL, "tokenizer twice: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    xlmr_model_free(m);
}

/* ---- wrong files: the message says what the bytes look like ---- */

static void expect_weights_msg(const char *bytes, size_t n, const char *want, const char *what) {
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    int st = xlmr_loader_feed(ld, (const uint8_t *)bytes, n);
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    CHECK(!m && xlmr_loader_status(ld) == XLMR_ERR_FORMAT && strstr(xlmr_loader_error(ld), want), "%s: %s", what,
          xlmr_loader_error(ld));
    xlmr_model_free(m);
    xlmr_loader_free(ld);
}

static void test_wrong_files(void) {
    static const char html[] = "\n<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>";
    static const char json[] = "{\"error\": \"Repository not found\"}";
    static const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    static const char zip[] = "PK\x03\x04\x14\0\0\0\x08\0";
    expect_weights_msg(html, sizeof html - 1, "HTML", "an HTML page as weights");
    expect_weights_msg(json, sizeof json - 1, "JSON", "JSON as weights");
    expect_weights_msg(png, sizeof png - 1, "PNG", "a PNG as weights");
    expect_weights_msg(zip, sizeof zip - 1, "zip", "a zip as weights");
    expect_weights_msg("", 0, "empty", "an empty file");

    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_config(ld, html, sizeof html - 1) == XLMR_ERR_FORMAT &&
              strstr(xlmr_loader_error(ld), "config.json") && strstr(xlmr_loader_error(ld), "HTML"),
          "an HTML page as config.json: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_config(ld, "{\"hidden_size\": 64,,}", 20) == XLMR_ERR_FORMAT &&
              !strstr(xlmr_loader_error(ld), "look like"),
          "broken JSON in config.json is not called JSON: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_tokenizer(ld, (const uint8_t *)html, sizeof html - 1) == XLMR_ERR_FORMAT &&
              strstr(xlmr_loader_error(ld), "tokenizer") && strstr(xlmr_loader_error(ld), "HTML"),
          "an HTML page as the tokenizer: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_tokenizer(ld, (const uint8_t *)json, sizeof json - 1) == XLMR_ERR_FORMAT &&
              strstr(xlmr_loader_error(ld), "JSON"),
          "tokenizer.json given as the SentencePiece model: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
}

/* ---- tokenizer entry points ---- */

static void test_tokenize(xlmr_model *m) {
    const int V = 8002;
    FAILS(m, xlmr_tokenize(m, NULL, 5, 0), -XLMR_ERR_ARG);
    CHECK(xlmr_tokenize(m, NULL, 0, 0) == 2, "empty NULL text gives <s> </s>");
    CHECK(xlmr_tokenize(m, "", 0, 0) == 2, "empty text gives <s> </s>");
    FAILS(m, xlmr_tokenize(m, TEXT, strlen(TEXT), 1), -XLMR_ERR_ARG);
    CHECK(xlmr_tokenize(m, TEXT, strlen(TEXT), 2) == 2, "max_len 2");
    CHECK(xlmr_tokenize(m, TEXT, strlen(TEXT), -7) == ref_n, "negative max_len: no truncation");
    CHECK(xlmr_tokenize(m, TEXT, strlen(TEXT), INT_MAX) == ref_n, "max_len INT_MAX");
    still_usable(m, "bad tokenize arguments");

    /* NULs, invalid UTF-8, lone surrogates in CESU form, overlongs, truncated sequences */
    static const char nasty[] = "a\0b\xff\xfe\xc0\x80\xed\xa0\x80\xe2\x96<mask\0<mask>\xf4\x90\x80\x80\xe2";
    int n = xlmr_tokenize(m, nasty, sizeof nasty - 1, 0);
    CHECK(n >= 3, "nasty bytes: %d %s", n, xlmr_model_error(m));
    if (n > 0) {
        const int32_t *ids = xlmr_result_ids(m);
        int ok = ids[0] == 0 && ids[n - 1] == 2;
        for (int i = 0; i < n; i++) ok = ok && ids[i] >= 0 && ids[i] < V;
        CHECK(ok, "nasty bytes: ids in range, framed by <s> </s>");
        int d = xlmr_decode(m, ids, n, 0);
        CHECK(d >= 0 && strlen(xlmr_result_text(m)) <= (size_t)d, "decode of nasty bytes: %d", d);
    }
    still_usable(m, "nasty bytes");

    /* 1 MB of text: all of it, then truncated */
    const size_t big = 1u << 20;
    char *text = malloc(big);
    for (size_t i = 0; i < big; i++) text[i] = "ab c\xc3\xa9<mask>d\n"[i % 13];
    n = xlmr_tokenize(m, text, big, 0);
    CHECK(n > 100000, "1 MB of text: %d ids (%s)", n, xlmr_model_error(m));
    n = xlmr_tokenize(m, text, big, 512);
    CHECK(n == 512 && xlmr_result_ids(m)[511] == 2, "1 MB truncated to 512: %d", n);
    memset(text, '<', big); /* '<' everywhere: special-token matching on every byte */
    n = xlmr_tokenize(m, text, big, 16);
    CHECK(n == 16, "1 MB of '<': %d (%s)", n, xlmr_model_error(m));
    memset(text, 0xff, big);
    n = xlmr_tokenize(m, text, big, 16);
    CHECK(n >= 2, "1 MB of 0xff: %d (%s)", n, xlmr_model_error(m));
    free(text);
    still_usable(m, "1 MB texts");
}

static void test_pieces_and_decode(xlmr_model *m) {
    const int V = 8002;
    const int bad[] = {-1, V, V + 1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *p = xlmr_token_piece(m, bad[i]);
        CHECK(p != NULL && p[0] == 0, "token_piece(%d) gives an empty string", bad[i]);
    }
    CHECK(strcmp(xlmr_token_piece(m, 0), "<s>") == 0 && strcmp(xlmr_token_piece(m, V - 1), "<mask>") == 0,
          "token_piece in range");

    int32_t ids[4] = {0, 100, V, 2};
    FAILS(m, xlmr_decode(m, ids, 4, 0), -XLMR_ERR_ARG);
    CHECK(xlmr_result_text(m) != NULL && strlen(xlmr_result_text(m)) == 0, "no stale text after a failed decode: '%s'",
          xlmr_result_text(m));
    ids[2] = -5;
    FAILS(m, xlmr_decode(m, ids, 4, 1), -XLMR_ERR_ARG);
    ids[2] = INT_MIN;
    FAILS(m, xlmr_decode(m, ids, 4, 1), -XLMR_ERR_ARG);
    FAILS(m, xlmr_decode(m, ids, -1, 0), -XLMR_ERR_ARG);
    FAILS(m, xlmr_decode(m, ids, INT_MIN, 0), -XLMR_ERR_ARG);
    FAILS(m, xlmr_decode(m, NULL, 3, 0), -XLMR_ERR_ARG);
    CHECK(xlmr_decode(m, NULL, 0, 0) == 0 && strcmp(xlmr_result_text(m), "") == 0, "decode of nothing");
    CHECK(xlmr_decode(m, ref_ids, ref_n, 1) > 0, "decode: %s", xlmr_model_error(m));
    still_usable(m, "bad decode arguments");
}

/* ---- the model calls ---- */

static void test_embed_args(xlmr_model *m) {
    const int V = 8002, H = 64;
    int32_t ids[8] = {0, 100, 200, 2, 0, 300, 2, 1}, lens[2] = {4, 3};
    static float out[2 * 8 * 64];
    FAILS(m, xlmr_embed(m, NULL, lens, 1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, NULL, 1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 1, 4, XLMR_POOL_MEAN, 1, NULL), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 0, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, -1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 1, 0, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 1, -4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 1, 4, XLMR_POOL_LAST + 1, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, lens, 1, 4, -1, 1, out), -XLMR_ERR_ARG);
    int32_t l5 = 5, l0 = 0, lneg = -3;
    FAILS(m, xlmr_embed(m, ids, &l5, 1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, &l0, 1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    FAILS(m, xlmr_embed(m, ids, &lneg, 1, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    /* ids out of range in the counted part; past a sequence's length they are padding and ignored */
    int32_t bad_ids[8] = {0, V, 200, 2, 0, 300, 2, 1};
    FAILS(m, xlmr_embed(m, bad_ids, lens, 2, 4, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    bad_ids[1] = -1;
    FAILS(m, xlmr_embed(m, bad_ids, lens, 2, 4, XLMR_POOL_CLS, 1, out), -XLMR_ERR_ARG);
    bad_ids[1] = 100, bad_ids[6] = INT_MIN;
    FAILS(m, xlmr_embed(m, bad_ids, lens, 2, 4, XLMR_POOL_NONE, 1, out), -XLMR_ERR_ARG);
    int32_t pad_junk[8] = {0, 100, 200, 2, 0, 300, 2, -99};
    CHECK(xlmr_embed(m, pad_junk, lens, 2, 4, XLMR_POOL_MEAN, 1, out) == 0, "junk in padding is ignored: %s",
          xlmr_model_error(m));
    /* over-long: a sequence past the model's maximum, a padded length past it, a B x T that overflows */
    int32_t *longids = calloc(600, sizeof(int32_t));
    for (int i = 0; i < 600; i++) longids[i] = 5;
    int32_t l513 = 513, l10 = 10;
    FAILS(m, xlmr_embed(m, longids, &l513, 1, 513, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_TOO_LONG);
    FAILS(m, xlmr_embed(m, longids, &l10, 1, INT_MAX, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_TOO_LONG);
    FAILS(m, xlmr_embed(m, longids, &l10, 1, 1 << 28, XLMR_POOL_CLS, 1, out), -XLMR_ERR_TOO_LONG);
    int32_t *many = malloc(sizeof(int32_t) * 4096);
    for (int i = 0; i < 4096; i++) many[i] = 0;
    FAILS(m, xlmr_embed(m, longids, many, INT_MAX, 512, XLMR_POOL_MEAN, 1, out), -XLMR_ERR_ARG);
    free(many);
    free(longids);
    still_usable(m, "bad embed arguments");
    (void)H;
}

static void test_fill_mask_args(xlmr_model *m) {
    const int V = 8002;
    int32_t oid[8];
    float osc[8];
    int32_t *big_ids = malloc(sizeof(int32_t) * (size_t)V);
    float *big_sc = malloc(sizeof(float) * (size_t)V);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, 0, oid, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, -1, oid, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, V + 1, big_ids, big_sc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, INT_MAX, big_ids, big_sc), -XLMR_ERR_ARG);
    CHECK(xlmr_fill_mask(m, ref_ids, ref_n, V, big_ids, big_sc) == 1, "top_k = V: %s", xlmr_model_error(m));
    double total = 0;
    for (int i = 0; i < V; i++) total += big_sc[i];
    CHECK(fabs(total - 1.0) < 1e-3 && big_ids[0] == ref_top_ids[0], "top_k = V: all probabilities, sum %g", total);
    FAILS(m, xlmr_fill_mask(m, NULL, ref_n, 5, oid, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, 5, NULL, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, ref_n, 5, oid, NULL), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, 0, 5, oid, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, -3, 5, oid, osc), -XLMR_ERR_ARG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, 513, 5, oid, osc), -XLMR_ERR_TOO_LONG);
    FAILS(m, xlmr_fill_mask(m, ref_ids, INT_MAX, 5, oid, osc), -XLMR_ERR_TOO_LONG);
    int32_t nomask[4] = {0, 100, 200, 2};
    FAILS(m, xlmr_fill_mask(m, nomask, 4, 5, oid, osc), -XLMR_ERR_NO_MASK);
    int32_t badid[4] = {0, V - 1, V, 2};
    FAILS(m, xlmr_fill_mask(m, badid, 4, 5, oid, osc), -XLMR_ERR_ARG);
    badid[2] = -1;
    FAILS(m, xlmr_fill_mask(m, badid, 4, 5, oid, osc), -XLMR_ERR_ARG);
    /* logits */
    static float lg[2 * 8002];
    int32_t pos[2] = {1, 4};
    FAILS(m, xlmr_logits(m, ref_ids, ref_n, pos, -1, lg), -XLMR_ERR_ARG);
    FAILS(m, xlmr_logits(m, ref_ids, ref_n, NULL, 2, lg), -XLMR_ERR_ARG);
    FAILS(m, xlmr_logits(m, ref_ids, ref_n, pos, 2, NULL), -XLMR_ERR_ARG);
    pos[1] = ref_n;
    FAILS(m, xlmr_logits(m, ref_ids, ref_n, pos, 2, lg), -XLMR_ERR_ARG);
    pos[1] = -1;
    FAILS(m, xlmr_logits(m, ref_ids, ref_n, pos, 2, lg), -XLMR_ERR_ARG);
    pos[1] = 4;
    CHECK(xlmr_logits(m, ref_ids, ref_n, pos, 2, lg) == 0, "logits: %s", xlmr_model_error(m));
    free(big_ids);
    free(big_sc);
    still_usable(m, "bad fill_mask / logits arguments");
}

int main(void) {
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    wts = test_read_file("tests/fixtures/model.safetensors", &wts_n);
    CHECK(cfg && spm && wts, "fixtures");
    if (!cfg || !spm || !wts) return test_report("test_api");
    test_null_model();
    test_build_simd();
    xlmr_model *m = load_fixture();
    CHECK(m != NULL, "fixture model");
    if (m) {
        take_reference(m);
        test_loader_misuse();
        test_wrong_files();
        test_tokenize(m);
        test_pieces_and_decode(m);
        test_embed_args(m);
        test_fill_mask_args(m);
        CHECK(has_msg(xlmr_model_info_json(m)), "info json");
        still_usable(m, "everything");
    }
    xlmr_model_free(m);
    free(cfg);
    free(spm);
    free(wts);
    return test_report("test_api");
}
