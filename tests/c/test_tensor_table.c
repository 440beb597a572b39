/* The tensor table (src/tensor_table.h) as the loaders, the checks and the writer use it. Built with
 * -DXLMR_TEST_EXTRA_TENSOR (Makefile), which adds one made-up row per layer, "test_extra" (H): with no other edit
 * it must load from safetensors and GGUF, be checked for shape and presence, and be written by the GGUF writer.
 * Also the name rules every row relies on: the model prefix, alternative names and their ranks, gamma/beta,
 * layer numbers. */
#include "loader.h"
#include "model_slots.h"
#include "test.h"
#include "test_gguf_bytes.h"
#include "test_safetensors.h"

#ifndef XLMR_TEST_EXTRA_TENSOR
#error "build with -DXLMR_TEST_EXTRA_TENSOR (the Makefile's rule for this test does)"
#endif

static unsigned char *cfg, *spm;
static size_t cfg_n, spm_n;

static xlmr_model *load(const unsigned char *b, size_t n, int with_hf, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    if (with_hf) {
        xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
        xlmr_loader_set_tokenizer(ld, spm, spm_n);
    }
    xlmr_model *m = xlmr_loader_feed(ld, b, n) ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

static void check_names(void) {
    xlmr_config c = {.num_layers = 2};
    int rank = -1;
    const int first_layer = TENSOR_SLOTS_EMBEDDINGS;
    const int per_layer = model_slot_count(&(xlmr_config){.num_layers = 1}) - model_slot_count(&(xlmr_config){.num_layers = 0});
    CHECK(model_slot_find_hf(&c, "roberta.embeddings.word_embeddings.weight", 41, &rank) == TENSOR_SLOT_tok_embd && rank == 0,
          "roberta. prefix");
    CHECK(model_slot_find_hf(&c, "bert.embeddings.word_embeddings.weight", 38, &rank) == TENSOR_SLOT_tok_embd, "bert. prefix");
    CHECK(model_slot_find_hf(&c, "embeddings.word_embeddings.weight", 33, &rank) == TENSOR_SLOT_tok_embd, "no prefix");
    CHECK(model_slot_find_hf(&c, "embeddings.LayerNorm.gamma", 26, &rank) == TENSOR_SLOT_embd_norm, "gamma");
    CHECK(model_slot_find_hf(&c, "embeddings.LayerNorm.beta", 25, &rank) == TENSOR_SLOT_embd_norm_b, "beta");
    CHECK(model_slot_find_hf(&c, "embeddings.LayerNorm.gammaX", 27, &rank) < 0, "gamma with a tail");
    const int bias = model_slot_find_hf(&c, "lm_head.bias", 12, &rank);
    CHECK(bias >= 0 && rank == 0 && model_slot_head(&c, bias) == XLMR_HEAD_MLM, "lm_head.bias: slot %d rank %d", bias, rank);
    CHECK(model_slot_find_hf(&c, "lm_head.decoder.bias", 20, &rank) == bias && rank == 1, "decoder bias: rank %d", rank);
    CHECK(model_slot_find_hf(&c, "lm_head.decoder.weight", 22, &rank) == MODEL_HF_UNKNOWN, "tied decoder weight ignored");
    const char *l1 = "roberta.encoder.layer.1.test_extra.weight";
    CHECK(model_slot_find_hf(&c, l1, strlen(l1), &rank) == first_layer + per_layer + per_layer - 1, "extra in layer 1");
    const char *l2 = "roberta.encoder.layer.2.test_extra.weight";
    CHECK(model_slot_find_hf(&c, l2, strlen(l2), &rank) == MODEL_HF_BAD_LAYER, "layer 2 of 2");
    CHECK(model_slot_find(&c, "blk.1.test_extra.weight", 23) == first_layer + 2 * per_layer - 1, "GGUF name");
    CHECK(model_slot_find(&c, "blk.01.test_extra.weight", 24) == -1, "leading zero");
    CHECK(model_slot_find(&c, "blk.2.test_extra.weight", 23) == -1, "GGUF layer past the count");
    char buf[128];
    CHECK(strcmp(model_slot_hf_name(&c, bias, buf, sizeof buf), "lm_head.bias") == 0, "%s", buf);
    CHECK(strcmp(model_slot_hf_name(&c, first_layer + per_layer - 1, buf, sizeof buf),
                 "roberta.encoder.layer.0.test_extra.weight") == 0, "%s", buf);
}

/* The fixture's tensors plus test_extra for `layers` layers (values l * 1000 + i), the last of shape `cols`. */
static unsigned char *with_extra(const unsigned char *file, int layers, int64_t cols, float *values, size_t *n) {
    rw_entry e[260];
    int k = st_entries(file, e, 256);
    for (int l = 0; l < layers; l++, k++) {
        snprintf(e[k].name, sizeof e[k].name, "roberta.encoder.layer.%d.test_extra.weight", l);
        snprintf(e[k].dtype, sizeof e[k].dtype, "F32");
        e[k].n_dims = 1;
        e[k].shape[0] = l == layers - 1 ? cols : 64;
        e[k].data = (const unsigned char *)(values + 64 * l);
        e[k].n = (size_t)e[k].shape[0] * 4;
    }
    return st_write(e, k, n);
}

static int extra_is(const xlmr_model *m, const float *values) {
    for (int l = 0; l < 2; l++) {
        const xlmr_tensor *t = &m->w.layers[l].test_extra;
        if (!t->data || t->type != XLMR_TYPE_F32 || t->ne[0] != 64 || t->ne[1] != 1 ||
            memcmp(t->data, values + 64 * l, 64 * sizeof(float)) != 0)
            return 0;
    }
    return 1;
}

static void check_extra_tensor(void) {
    size_t fn, n, gn;
    unsigned char *fixture = test_read_file("tests/fixtures/model.safetensors", &fn);
    float values[192]; /* room for a last row of 65 */
    for (int i = 0; i < 192; i++) values[i] = (float)(i / 64 * 1000 + i % 64);
    char msg[XLMR_ERROR_MSG_MAX];

    unsigned char *f = with_extra(fixture, 2, 64, values, &n);
    xlmr_model *m = load(f, n, 1, msg);
    CHECK(m && extra_is(m, values), "safetensors with test_extra: %s", msg);
    if (m) {
        CHECK(model_check(m, XLMR_HEAD_MLM) == XLMR_OK, "model_check: %s", m->err.msg);
        m->w.layers[1].test_extra.ne[0] = 63;
        CHECK(model_check(m, XLMR_HEAD_NONE) != XLMR_OK && strstr(m->err.msg, "blk.1.test_extra.weight"),
              "model_check names the tensor: %s", m->err.msg);
        m->w.layers[1].test_extra.ne[0] = 64;
        unsigned char *g = test_gguf_bytes(m, &gn);
        xlmr_model *mg = load(g, gn, 0, msg);
        CHECK(mg && extra_is(mg, values), "GGUF written and read back: %s", msg);
        CHECK(mg && mg->weights_size == m->weights_size && memcmp(mg->weights_block, m->weights_block, m->weights_size) == 0,
              "same weights block");
        xlmr_model_free(mg);
        free(g);
        xlmr_model_free(m);
    }
    free(f);

    f = with_extra(fixture, 2, 65, values, &n);
    CHECK(!load(f, n, 1, msg) && strstr(msg, "roberta.encoder.layer.1.test_extra.weight") && strstr(msg, "[65]"),
          "wrong shape named: %s", msg);
    free(f);
    f = with_extra(fixture, 1, 64, values, &n);
    CHECK(!load(f, n, 1, msg) && strstr(msg, "roberta.encoder.layer.1.test_extra.weight missing"), "missing named: %s", msg);
    free(f);
    unsigned char *tiny = test_read_file("models/tiny/xlmr-tiny-random.q8_0.gguf", &gn);
    CHECK(!load(tiny, gn, 0, msg) && strstr(msg, "blk.0.test_extra.weight missing"), "GGUF without it: %s", msg);
    free(tiny);
    free(fixture);
}

int main(void) {
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!cfg || !spm) return 1;
    check_names();
    check_extra_tensor();
    free(cfg);
    free(spm);
    return test_report("test_tensor_table");
}
