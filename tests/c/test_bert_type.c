/* BERT-type checkpoints (model_type "bert": BertModel's tensor names, position ids 0, 1, 2 ... over every token, two
 * token types, a word-embedding table larger than the tokenizer, a pad_token_id the tokenizer does not use) on the
 * same code path as XLM-R. The fixture XLM-R model rewritten as a BertModel whose position table is XLM-R's without
 * its pad_id + 1 offset rows must give the same hidden states (<= 1e-6; token_type_ids all 0), also after a GGUF
 * round trip (xlmr.bert_positions). Also the embedding defaults a sentence-transformers folder gives
 * (xlmr_loader_set_pooling: 1_Pooling/config.json and a Normalize module) and their GGUF keys. And the BERT heads
 * (BertFor{Sequence,Token}Classification, BertForQuestionAnswering) on that model give XLM-R's heads' logits. */
#include <math.h>

#include "loader.h"
#include "model_slots.h"
#include "test.h"
#include "test_gguf_bytes.h"
#include "test_safetensors.h"

enum { H = 64, V = 8002, EXTRA_ROWS = 35 };

static unsigned char *fixture, *cfg, *spm;
static size_t fixture_n, cfg_n, spm_n;

static const char *pooling_config; /* a sentence-transformers 1_Pooling/config.json for load(), or NULL */
static int pooling_normalize;

static xlmr_model *load(const unsigned char *w, size_t wn, const char *config, size_t cn, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_F32);
    if (pooling_config) xlmr_loader_set_pooling(ld, pooling_config, strlen(pooling_config), pooling_normalize);
    if (config) {
        xlmr_loader_set_config(ld, config, cn);
        xlmr_loader_set_tokenizer(ld, spm, spm_n);
    }
    xlmr_model *m = xlmr_loader_feed(ld, w, wn) ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* The fixture as a BertModel: "bert." names, no fill-mask head, positions without the 2 offset rows, a second token
 * type and EXTRA_ROWS unused word rows (random). */
static unsigned char *as_bert(float *extra_words, float *types, size_t *n) {
    rw_entry e[260];
    int all = st_entries(fixture, e, 250), k = 0;
    for (int i = 0; i < all; i++) {
        if (strncmp(e[i].name, "lm_head.", 8) == 0) continue;
        rw_entry t = e[i];
        const char *rest = strncmp(t.name, "roberta.", 8) == 0 ? t.name + 8 : t.name;
        snprintf(t.name, sizeof t.name, "bert.%s", rest);
        if (strstr(t.name, "position_embeddings")) {
            t.shape[0] -= 2;
            t.data += 2 * H * sizeof(float);
            t.n -= 2 * H * sizeof(float);
        } else if (strstr(t.name, "token_type_embeddings")) {
            memcpy(types, t.data, H * sizeof(float));
            t.shape[0] = 2;
            t.data = (const unsigned char *)types;
            t.n = 2 * H * sizeof(float);
        } else if (strstr(t.name, "word_embeddings")) {
            memcpy(extra_words, t.data, (size_t)V * H * sizeof(float));
            t.shape[0] = V + EXTRA_ROWS;
            t.data = (const unsigned char *)extra_words;
            t.n = (size_t)(V + EXTRA_ROWS) * H * sizeof(float);
        }
        e[k++] = t;
    }
    return st_write(e, k, n);
}

static const char bert_config[] =
    "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", \"hidden_act\": \"gelu\", \"hidden_size\": 64, "
    "\"intermediate_size\": 256, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 512, "
    "\"num_attention_heads\": 4, \"num_hidden_layers\": 2, \"pad_token_id\": 0, \"position_embedding_type\": "
    "\"absolute\", \"type_vocab_size\": 2, \"vocab_size\": 8037}";

static double worst(const float *a, const float *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]));
    return w;
}

static xlmr_model *reload_gguf(xlmr_model *m, char *msg) {
    size_t at;
    unsigned char *g = test_gguf_bytes(m, &at);
    xlmr_model *r = load(g, at, NULL, 0, msg);
    free(g);
    return r;
}

/* Vocabulary trimming (vocab_trim.c) of an embedding-only BERT-type model, whose table has rows past the tokenizer's
 * ids (dropped): the corpus's mean-pooled embeddings are the full model's, bit for bit. */
static void check_trim(xlmr_model *b) {
    static const char corpus[] = "Guten Morgen, wie geht es dir?\nDie Datei wurde nicht gefunden.\n";
    xlmr_model *t = xlmr_trim(b, corpus, sizeof corpus - 1, 0);
    CHECK(t && t->config.vocab_size < V / 2 && t->config.trimmed_from == V + EXTRA_ROWS && t->config.head == XLMR_HEAD_NONE,
          "BERT-type trims (table %d rows): %s", t ? (int)t->config.vocab_size : -1, xlmr_model_error(b));
    if (!t) return;
    const char *texts[] = {"Guten Morgen, wie geht es dir?", "Die Datei wurde nicht gefunden."};
    for (int i = 0; i < 2; i++) {
        int32_t ia[64], ib[64];
        const int na = xlmr_tokenize(b, texts[i], strlen(texts[i]), 0);
        memcpy(ia, xlmr_result_ids(b), (size_t)na * sizeof *ia);
        const int nb = xlmr_tokenize(t, texts[i], strlen(texts[i]), 0);
        memcpy(ib, xlmr_result_ids(t), (size_t)nb * sizeof *ib);
        float ea[H], eb[H];
        CHECK(na == nb && xlmr_embed(b, ia, &na, 1, na, XLMR_POOL_MEAN, 1, ea) == 0 &&
                  xlmr_embed(t, ib, &nb, 1, nb, XLMR_POOL_MEAN, 1, eb) == 0 && memcmp(ea, eb, sizeof ea) == 0,
              "trimmed BERT-type text %d: the full model's embedding", i);
    }
    xlmr_model_free(t);
}

static void check_pooling(const unsigned char *bert, size_t bn) {
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(bert, bn, bert_config, sizeof bert_config - 1, msg);
    CHECK(m && strstr(xlmr_model_info_json(m), "\"pooling\":null,\"normalize\":null,\"bertPositions\":true"),
          "no pooling said: %s", m ? xlmr_model_info_json(m) : msg);
    xlmr_model_free(m);
    pooling_config = "{\"word_embedding_dimension\": 64, \"pooling_mode_cls_token\": true, "
                     "\"pooling_mode_mean_tokens\": false, \"pooling_mode_max_tokens\": false}";
    pooling_normalize = 1;
    m = load(bert, bn, bert_config, sizeof bert_config - 1, msg);
    CHECK(m && m->config.pooling == XLMR_POOL_CLS && m->config.normalize == 1 &&
              strstr(xlmr_model_info_json(m), "\"pooling\":\"cls\",\"normalize\":true"), "CLS + Normalize: %s", msg);
    pooling_config = NULL;
    xlmr_model *g = m ? reload_gguf(m, msg) : NULL;
    CHECK(g && g->config.pooling == XLMR_POOL_CLS && g->config.normalize == 1, "GGUF keeps the pooling: %s", msg);
    int32_t ids[6] = {0, 100, 200, 300, 400, 2}, len = 6;
    float last[H], none[6 * H];
    CHECK(g && xlmr_embed(g, ids, &len, 1, 6, XLMR_POOL_LAST, 0, last) == 0 &&
              xlmr_embed(g, ids, &len, 1, 6, XLMR_POOL_NONE, 0, none) == 0 && memcmp(last, none + 5 * H, sizeof last) == 0,
          "last-token pooling is the </s> row");
    xlmr_model_free(g);
    xlmr_model_free(m);
    static const char *const bad[] = {"{\"pooling_mode_max_tokens\": true}",
                                      "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": true}", "{}"};
    static const char *const why[] = {"pooling_mode_max_tokens is not supported", "2 pooling modes", "0 pooling modes"};
    for (int i = 0; i < 3; i++) {
        xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_F32);
        CHECK(xlmr_loader_set_pooling(ld, bad[i], strlen(bad[i]), 0) == XLMR_ERR_FORMAT &&
                  strstr(xlmr_loader_error(ld), why[i]), "%s: %s", bad[i], xlmr_loader_error(ld));
        xlmr_loader_free(ld);
    }
}

/* file (safetensors) plus a head's tensors: names[2 * i], names[2 * i + 1] = matrix i of rows[i] x H and its bias */
static unsigned char *with_head(const unsigned char *file, const char *const *names, const int *rows, int n_mat,
                                const float *data, size_t *n) {
    static rw_entry e[260];
    int k = 0;
    const int all = st_entries(file, e, 250);
    for (int i = 0; i < all; i++)
        if (strncmp(e[i].name, "lm_head.", 8) != 0) e[k++] = e[i];
    for (int i = 0; i < n_mat; i++)
        for (int wb = 0; wb < 2; wb++, k++) {
            snprintf(e[k].name, sizeof e[k].name, "%s", names[2 * i + wb]);
            snprintf(e[k].dtype, sizeof e[k].dtype, "F32");
            e[k].n_dims = wb ? 1 : 2;
            e[k].shape[0] = rows[i];
            e[k].shape[1] = wb ? 0 : H;
            e[k].data = (const unsigned char *)data;
            e[k].n = (size_t)rows[i] * (wb ? 1 : H) * sizeof(float);
            data += wb ? rows[i] : rows[i] * H;
        }
    return st_write(e, k, n);
}

/* A config with "BertModel" (or the fixture's XLMRobertaForMaskedLM) replaced by arch. */
static char *config_arch(const char *base, size_t base_n, const char *was, const char *arch, size_t *n) {
    const char *at = strstr(base, was);
    if (!at) return NULL;
    const size_t head = (size_t)(at - base), tail = base_n - head - strlen(was);
    char *c = malloc(base_n + strlen(arch) + 1);
    memcpy(c, base, head);
    memcpy(c + head, arch, strlen(arch));
    memcpy(c + head + strlen(arch), at + strlen(was), tail);
    *n = head + strlen(arch) + tail;
    return c;
}

/* The BERT heads on the BertModel layout against XLM-R's on the fixture, with the same weights: BertForSequence-
 * Classification (BertPooler + classifier) = XLMRobertaForSequenceClassification (dense, tanh, out_proj);
 * BertForTokenClassification and BertForQuestionAnswering, whose names are XLM-R's, the same. Logits within 1e-6
 * (the hidden states' bound). */
static void check_bert_heads(const unsigned char *bert) {
    static const struct {
        const char *bert_arch, *xlmr_arch, *bert_names[4], *xlmr_names[4];
        int rows[2], n_mat, token;
    } heads[] = {
        {"BertForSequenceClassification", "XLMRobertaForSequenceClassification",
         {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"},
         {"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"},
         {H, 3}, 2, 0},
        {"BertForTokenClassification", "XLMRobertaForTokenClassification", {"classifier.weight", "classifier.bias"},
         {"classifier.weight", "classifier.bias"}, {5, 0}, 1, 1},
        {"BertForQuestionAnswering", "XLMRobertaForQuestionAnswering", {"qa_outputs.weight", "qa_outputs.bias"},
         {"qa_outputs.weight", "qa_outputs.bias"}, {2, 0}, 1, 1},
    };
    float *data = malloc((size_t)(H * H + H + 3 * H + 3) * sizeof(float));
    for (int i = 0; i < H * H + H + 3 * H + 3; i++) data[i] = (float)((i * 7919) % 2001) / 2000.0f - 0.5f;
    int32_t ids[2 * 12] = {0, 4265, 3306, 388, 19, 1442, 3283, 2533, 574, 4, 5, 2, 0, 4265, 3306, 388, 19, 2};
    int32_t lengths[2] = {12, 6};
    for (int i = 18; i < 24; i++) ids[i] = 1;
    for (size_t h = 0; h < sizeof heads / sizeof heads[0]; h++) {
        size_t bn, xn, bcn, xcn;
        char msg[XLMR_ERROR_MSG_MAX];
        unsigned char *bf = with_head(bert, heads[h].bert_names, heads[h].rows, heads[h].n_mat, data, &bn);
        unsigned char *xf = with_head(fixture, heads[h].xlmr_names, heads[h].rows, heads[h].n_mat, data, &xn);
        char *bc = config_arch(bert_config, sizeof bert_config - 1, "BertModel", heads[h].bert_arch, &bcn);
        char *xc = config_arch((const char *)cfg, cfg_n, "XLMRobertaForMaskedLM", heads[h].xlmr_arch, &xcn);
        xlmr_model *b = load(bf, bn, bc, bcn, msg);
        CHECK(b != NULL, "%s loads: %s", heads[h].bert_arch, msg);
        xlmr_model *x = load(xf, xn, xc, xcn, msg);
        CHECK(x != NULL, "%s loads: %s", heads[h].xlmr_arch, msg);
        if (b && x) {
            const int outs = heads[h].token ? 2 * 12 * heads[h].rows[0] : 2 * heads[h].rows[1];
            float ob[2 * 12 * 5], ox[2 * 12 * 5];
            const int sb = heads[h].token ? xlmr_token_logits(b, ids, lengths, 2, 12, ob) : xlmr_classify(b, ids, lengths, 2, 12, ob);
            const int sx = heads[h].token ? xlmr_token_logits(x, ids, lengths, 2, 12, ox) : xlmr_classify(x, ids, lengths, 2, 12, ox);
            CHECK(sb == 0 && sx == 0 && b->config.head == x->config.head && worst(ob, ox, (size_t)outs) <= 1e-6,
                  "%s = %s: %g (%s)", heads[h].bert_arch, heads[h].xlmr_arch, worst(ob, ox, (size_t)outs),
                  xlmr_model_error(b));
        }
        xlmr_model_free(b);
        xlmr_model_free(x);
        free(bf);
        free(xf);
        free(bc);
        free(xc);
    }
    free(data);
}

int main(void) {
    fixture = test_read_file("tests/fixtures/model.safetensors", &fixture_n);
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!fixture || !cfg || !spm) return 1;
    float *words = malloc((size_t)(V + EXTRA_ROWS) * H * sizeof(float)), types[2 * H];
    for (int i = 0; i < EXTRA_ROWS * H; i++) words[(size_t)V * H + i] = (float)((i * 7919) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < H; i++) types[H + i] = 0.25f;
    size_t bn;
    unsigned char *bert = as_bert(words, types, &bn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *x = load(fixture, fixture_n, (const char *)cfg, cfg_n, msg);
    CHECK(x != NULL, "XLM-R fixture: %s", msg);
    xlmr_model *b = load(bert, bn, bert_config, sizeof bert_config - 1, msg);
    CHECK(b && b->config.bert_positions == 1 && b->config.max_positions == 512 && b->config.max_tokens == 512 &&
              b->config.vocab_size == V + EXTRA_ROWS && b->config.head == XLMR_HEAD_NONE,
          "BERT-type loads: %s", msg);
    if (x && b) {
        CHECK(x->config.max_tokens == b->config.max_tokens, "same longest input");
        /* two sequences, the second padded; a literal <pad> would differ (RoBERTa skips it), so none in the text */
        int32_t ids[2 * 16], lengths[2] = {16, 9};
        for (int i = 0; i < 32; i++) ids[i] = 4 + (i * 37) % 7990;
        ids[0] = ids[16] = 0, ids[15] = ids[24] = 2;
        for (int i = 25; i < 32; i++) ids[i] = 1;
        float *hx = malloc(2 * 16 * H * sizeof(float)), *hb = malloc(2 * 16 * H * sizeof(float));
        CHECK(xlmr_embed(x, ids, lengths, 2, 16, XLMR_POOL_NONE, 0, hx) == 0, "embed XLM-R");
        CHECK(xlmr_embed(b, ids, lengths, 2, 16, XLMR_POOL_NONE, 0, hb) == 0, "embed BERT: %s", xlmr_model_error(b));
        CHECK(worst(hx, hb, 2 * 16 * H) <= 1e-6, "hidden states identical: %g", worst(hx, hb, 2 * 16 * H));
        xlmr_model *g = reload_gguf(b, msg);
        CHECK(g && g->config.bert_positions == 1 && g->config.max_positions == 512, "GGUF keeps BERT positions: %s", msg);
        CHECK(g && xlmr_embed(g, ids, lengths, 2, 16, XLMR_POOL_NONE, 0, hx) == 0 && worst(hx, hb, 2 * 16 * H) == 0,
              "GGUF round trip identical");
        /* a 512-token input fits both (positions 0 .. 511 / 2 .. 513) */
        int32_t *longer = malloc(512 * sizeof(int32_t)), len = 512;
        for (int i = 0; i < 512; i++) longer[i] = 4 + i % 7000;
        float *out = malloc(H * sizeof(float));
        CHECK(xlmr_embed(b, longer, &len, 1, 512, XLMR_POOL_MEAN, 1, out) == 0, "512 tokens: %s", xlmr_model_error(b));
        free(longer);
        free(out);
        xlmr_model_free(g);
        free(hx);
        free(hb);
    }
    if (b) check_trim(b);
    xlmr_model_free(x);
    xlmr_model_free(b);
    check_pooling(bert, bn);
    check_bert_heads(bert);
    free(bert);
    free(words);
    free(fixture);
    free(cfg);
    free(spm);
    return test_report("test_bert_type");
}
