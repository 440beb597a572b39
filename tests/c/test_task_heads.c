/* The task heads (src/task_heads.c) on the fixture encoder with random head weights: logits against the heads' math
 * done here in double on the same build's hidden states (embed: CLS rows for the classifier, every row for the
 * token heads) — F32 within 1e-5, Q8_0 the same argmax on most rows; labels from config.json's id2label (default
 * LABEL_i, a count that disagrees with the tensors refused), problem_type, the GGUF round trip (llama.cpp's reranker
 * names and bert.classifier.output_labels), BGE-M3's dense / sparse / ColBERT outputs, and the errors of asking a model for a head it lacks.
 * PyTorch's own numbers for these heads are checked by the Node suite (tests/node/tasks.test.mjs). */
#include <math.h>

#include "loader.h"
#include "model_slots.h"
#include "test.h"
#include "test_gguf_bytes.h"
#include "test_safetensors.h"

static unsigned char *fixture, *cfg_base, *spm;
static size_t fixture_n, cfg_base_n, spm_n;
enum { H = 64 };

static uint32_t rng = 12345;
static float urand(void) { /* uniform in [-0.5, 0.5) */
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffffff) / 16777216.0f - 0.5f;
}

typedef struct head_file {
    const char *names[4]; /* HF names of the head's tensors: weight, bias (, weight, bias) */
    int rows[2];          /* rows of its one or two matrices */
    int n_matrices;
    float *data;          /* every tensor's floats, one after another */
} head_file;

/* The fixture's encoder tensors (its fill-mask head dropped: a model carries one) plus the head's. */
static unsigned char *model_file(head_file *hf, size_t *n) {
    rw_entry e[260];
    int all = st_entries(fixture, e, 250), k = 0;
    for (int i = 0; i < all; i++)
        if (strncmp(e[i].name, "lm_head.", 8) != 0) e[k++] = e[i];
    size_t floats = 0;
    for (int i = 0; i < hf->n_matrices; i++) floats += (size_t)hf->rows[i] * H + (size_t)hf->rows[i];
    hf->data = malloc(floats * sizeof(float));
    for (size_t i = 0; i < floats; i++) hf->data[i] = urand();
    float *p = hf->data;
    for (int i = 0; i < hf->n_matrices; i++) {
        for (int wb = 0; wb < 2; wb++, k++) {
            snprintf(e[k].name, sizeof e[k].name, "%s", hf->names[2 * i + wb]);
            snprintf(e[k].dtype, sizeof e[k].dtype, "F32");
            e[k].n_dims = wb ? 1 : 2;
            e[k].shape[0] = hf->rows[i];
            e[k].shape[1] = wb ? 0 : H;
            e[k].data = (const unsigned char *)p;
            e[k].n = (size_t)hf->rows[i] * (wb ? 1 : H) * sizeof(float);
            p += wb ? hf->rows[i] : hf->rows[i] * H;
        }
    }
    return st_write(e, k, n);
}

/* config.json with extra (e.g. id2label) spliced into its object. */
static char *config_with(const char *extra, size_t *n) {
    char *c = malloc(cfg_base_n + strlen(extra) + 4);
    size_t at = cfg_base_n;
    memcpy(c, cfg_base, cfg_base_n);
    while (at > 0 && c[at - 1] != '}') at--;
    at--; /* the closing brace */
    at += (size_t)sprintf(c + at, "%s%s}", *extra ? ", " : "", extra);
    *n = at;
    return c;
}

static xlmr_model *load(const unsigned char *w, size_t wn, const char *cfg, size_t cn, int dtype, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    if (cfg) xlmr_loader_set_config(ld, cfg, cn);
    if (cfg) xlmr_loader_set_tokenizer(ld, spm, spm_n);
    xlmr_model *m = xlmr_loader_feed(ld, w, wn) ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

static xlmr_model *reload_gguf(xlmr_model *m, char *msg) {
    size_t at;
    unsigned char *g = test_gguf_bytes(m, &at);
    xlmr_model *r = load(g, at, NULL, 0, XLMR_DTYPE_Q8_0, msg);
    free(g);
    return r;
}

/* y (n, rows) = x (n, H) Wᵀ + b in double, then tanh when asked */
static void linear_ref(const float *x, int n, const float *W, const float *b, int rows, int tanh_it, double *y) {
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rows; r++) {
            double s = b[r];
            for (int k = 0; k < H; k++) s += (double)x[(size_t)i * H + k] * W[(size_t)r * H + k];
            y[(size_t)i * rows + r] = tanh_it ? tanh(s) : s;
        }
}

/* Two sequences of the fixture's first case, the second shorter (padding). */
static const int32_t ids[2 * 12] = {0, 4265, 3306, 388, 19, 1442, 3283, 2533, 574, 8001, 4, 2,
                                    0, 4265, 3306, 388, 19, 2, 1, 1, 1, 1, 1, 1};
static const int32_t lengths[2] = {12, 6};

static double worst_diff(const float *a, const double *b, size_t n) {
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs(a[i] - b[i]));
    return w;
}

static void check_classifier(void) {
    head_file hf = {{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                     "classifier.out_proj.bias"}, {H, 3}, 2, NULL};
    size_t wn, cn;
    unsigned char *w = model_file(&hf, &wn);
    char *cfg = config_with("\"id2label\": {\"1\": \"neutral\", \"0\": \"neg\\\"ative\", \"2\": \"positive\"}, "
                            "\"problem_type\": \"single_label_classification\"", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == XLMR_HEAD_SEQ_CLS && m->config.num_labels == 3, "classifier loads: %s", msg);
    if (!m) return;
    CHECK(strcmp(xlmr_model_labels_json(m), "[\"neg\\\"ative\",\"neutral\",\"positive\"]") == 0, "labels %s",
          xlmr_model_labels_json(m));
    CHECK(strstr(xlmr_model_info_json(m), "\"head\":\"text-classification\",\"numLabels\":3,\"problemType\":"
                                          "\"single_label_classification\"") != NULL, "info %s", xlmr_model_info_json(m));
    float logits[2 * 3], cls[2 * H];
    CHECK(xlmr_classify(m, ids, lengths, 2, 12, logits) == 0, "classify: %s", xlmr_model_error(m));
    CHECK(xlmr_embed(m, ids, lengths, 2, 12, XLMR_POOL_CLS, 0, cls) == 0, "embed: %s", xlmr_model_error(m));
    double mid[2 * H], ref[2 * 3];
    linear_ref(cls, 2, hf.data, hf.data + H * H, H, 1, mid);
    float midf[2 * H];
    for (int i = 0; i < 2 * H; i++) midf[i] = (float)mid[i];
    linear_ref(midf, 2, hf.data + H * H + H, hf.data + H * H + H + 3 * H, 3, 0, ref);
    CHECK(worst_diff(logits, ref, 6) < 1e-5, "F32 classifier logits within 1e-5: %g", worst_diff(logits, ref, 6));
    int32_t one = 0;
    CHECK(xlmr_fill_mask(m, ids, 12, 5, &one, logits) == -XLMR_ERR_UNSUPPORTED &&
              strstr(xlmr_model_error(m), "text-classification"), "fill-mask on a classifier: %s", xlmr_model_error(m));
    CHECK(xlmr_token_logits(m, ids, lengths, 2, 12, logits) == -XLMR_ERR_UNSUPPORTED, "token logits on a classifier");
    CHECK(xlmr_classify(m, ids, lengths, 2, 12, logits) == 0, "still usable");
    xlmr_model *g = reload_gguf(m, msg);
    float glogits[6];
    CHECK(g && g->config.head == XLMR_HEAD_SEQ_CLS && g->config.problem_type == XLMR_PROBLEM_SINGLE_LABEL &&
              strcmp(xlmr_model_labels_json(g), xlmr_model_labels_json(m)) == 0, "GGUF round trip: %s", msg);
    CHECK(g && xlmr_classify(g, ids, lengths, 2, 12, glogits) == 0 && memcmp(glogits, logits, sizeof glogits) == 0,
          "GGUF logits identical");
    xlmr_model_free(g);
    xlmr_model_free(m);
    /* Q8_0: the head's matrices quantized too */
    m = load(w, wn, cfg, cn, XLMR_DTYPE_Q8_0, msg);
    double scale = 0;
    for (int i = 0; i < 6; i++) scale = fmax(scale, fabs(ref[i]));
    CHECK(m && xlmr_classify(m, ids, lengths, 2, 12, logits) == 0 && worst_diff(logits, ref, 6) < 0.1 * scale,
          "Q8_0 classifier within 10%% of the largest F32 logit (%g): %g", scale, m ? worst_diff(logits, ref, 6) : -1.0);
    xlmr_model_free(m);
    free(cfg);
    cfg = config_with("\"id2label\": {\"0\": \"a\", \"1\": \"b\"}", &cn);
    CHECK(!load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg) && strstr(msg, "2 labels") && strstr(msg, "3 outputs"),
          "id2label count that disagrees: %s", msg);
    free(cfg);
    cfg = config_with("\"id2label\": {\"0\": \"a\", \"0\": \"b\", \"2\": \"c\"}", &cn);
    CHECK(!load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg) && strstr(msg, "id2label"), "id2label with a repeated key: %s", msg);
    free(cfg);
    free(w);
    free(hf.data);
}

static void check_reranker_defaults(void) {
    head_file hf = {{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                     "classifier.out_proj.bias"}, {H, 1}, 2, NULL};
    size_t wn, cn;
    unsigned char *w = model_file(&hf, &wn);
    char *cfg = config_with("", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, cfg, cn, XLMR_DTYPE_Q8_0, msg);
    CHECK(m && m->config.num_labels == 1 && strcmp(xlmr_model_labels_json(m), "[\"LABEL_0\"]") == 0 &&
              strstr(xlmr_model_info_json(m), "\"problemType\":null"), "1-label reranker, default label: %s", msg);
    float logit[2];
    CHECK(m && xlmr_classify(m, ids, lengths, 2, 12, logit) == 0 && isfinite(logit[0]), "reranker logit");
    xlmr_model_free(m);
    free(cfg);
    free(w);
    free(hf.data);
}

/* token classification (7 labels) and QA (2 outputs): every row against the heads' math on embed's rows */
static void check_token_head(const char *wname, const char *bname, int rows, int qa) {
    head_file hf = {{wname, bname, NULL, NULL}, {rows, 0}, 1, NULL};
    size_t wn, cn;
    unsigned char *w = model_file(&hf, &wn);
    char *cfg = config_with("", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == (qa ? XLMR_HEAD_QA : XLMR_HEAD_TOKEN_CLS), "%s head loads: %s", wname, msg);
    if (m) {
        float out[2 * 12 * 7], hidden[2 * 12 * H];
        double ref[12 * 7];
        CHECK(xlmr_token_logits(m, ids, lengths, 2, 12, out) == 0, "token logits: %s", xlmr_model_error(m));
        CHECK(xlmr_embed(m, ids, lengths, 2, 12, XLMR_POOL_NONE, 0, hidden) == 0, "embed");
        double worst = 0, pad = 0;
        for (int b = 0; b < 2; b++) {
            linear_ref(hidden + (size_t)b * 12 * H, lengths[b], hf.data, hf.data + rows * H, rows, 0, ref);
            worst = fmax(worst, worst_diff(out + (size_t)b * 12 * rows, ref, (size_t)lengths[b] * rows));
            for (int i = lengths[b] * rows; i < 12 * rows; i++) pad = fmax(pad, fabs(out[(size_t)b * 12 * rows + i]));
        }
        CHECK(worst < 1e-5 && pad == 0, "%s: F32 logits within 1e-5 (%g), padding zero", wname, worst);
        CHECK(xlmr_classify(m, ids, lengths, 2, 12, out) == -XLMR_ERR_UNSUPPORTED, "classify on a token head");
        CHECK(strcmp(xlmr_model_labels_json(m), qa ? "[]" : "[\"LABEL_0\",\"LABEL_1\",\"LABEL_2\",\"LABEL_3\","
                                                            "\"LABEL_4\",\"LABEL_5\",\"LABEL_6\"]") == 0,
              "labels %s", xlmr_model_labels_json(m));
        xlmr_model *g = reload_gguf(m, msg);
        float gout[2 * 12 * 7];
        CHECK(g && xlmr_token_logits(g, ids, lengths, 2, 12, gout) == 0 &&
                  memcmp(gout, out, sizeof(float) * 2 * 12 * (size_t)rows) == 0, "GGUF round trip: %s", msg);
        xlmr_model_free(g);
    }
    xlmr_model_free(m);
    free(cfg);
    free(w);
    free(hf.data);
}

/* BGE-M3: dense, sparse and ColBERT outputs against FlagEmbedding's formulas in double on embed's rows */
static void check_m3(void) {
    head_file hf = {{"colbert_linear.weight", "colbert_linear.bias", "sparse_linear.weight", "sparse_linear.bias"},
                    {H, 1}, 2, NULL};
    size_t wn, cn;
    unsigned char *w = model_file(&hf, &wn);
    char *cfg = config_with("", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == XLMR_HEAD_M3 && strstr(xlmr_model_info_json(m), "\"head\":\"bge-m3\""), "M3 loads: %s", msg);
    if (m) {
        float dense[2 * H], sparse[2 * 12], colbert[2 * 12 * H], hidden[2 * 12 * H], cls[2 * H];
        CHECK(xlmr_m3_embed(m, ids, lengths, 2, 12, dense, sparse, colbert) == 0, "m3: %s", xlmr_model_error(m));
        CHECK(xlmr_embed(m, ids, lengths, 2, 12, XLMR_POOL_NONE, 0, hidden) == 0, "embed");
        CHECK(xlmr_embed(m, ids, lengths, 2, 12, XLMR_POOL_CLS, 1, cls) == 0 && memcmp(cls, dense, sizeof cls) == 0,
              "dense = normalised CLS");
        double worst_sparse = 0, worst_colbert = 0, pad = 0, ref[12 * H];
        for (int b = 0; b < 2; b++) {
            const float *hb = hidden + (size_t)b * 12 * H;
            linear_ref(hb, lengths[b], hf.data + H * H + H, hf.data + H * H + H + H, 1, 0, ref);
            for (int t = 0; t < 12; t++) {
                const double want = t < lengths[b] && ref[t] > 0 ? ref[t] : 0;
                worst_sparse = fmax(worst_sparse, fabs(sparse[b * 12 + t] - want));
            }
            linear_ref(hb, lengths[b], hf.data, hf.data + H * H, H, 0, ref);
            for (int t = 0; t < 12; t++) {
                double norm = 0;
                for (int k = 0; k < H; k++) norm += ref[t * H + k] * ref[t * H + k];
                norm = fmax(sqrt(norm), 1e-12);
                for (int k = 0; k < H; k++) {
                    const float got = colbert[((size_t)b * 12 + t) * H + k];
                    if (t >= 1 && t < lengths[b]) worst_colbert = fmax(worst_colbert, fabs(got - ref[t * H + k] / norm));
                    else pad = fmax(pad, fabs(got));
                }
            }
        }
        CHECK(worst_sparse < 1e-5 && worst_colbert < 1e-5 && pad == 0, "F32 sparse %g, colbert %g, zero rows %g",
              worst_sparse, worst_colbert, pad);
        CHECK(xlmr_m3_embed(m, ids, lengths, 2, 12, NULL, sparse, NULL) == 0, "one output alone");
        xlmr_model *g = reload_gguf(m, msg);
        float g_colbert[2 * 12 * H];
        CHECK(g && xlmr_m3_embed(g, ids, lengths, 2, 12, NULL, NULL, g_colbert) == 0 &&
                  memcmp(g_colbert, colbert, sizeof colbert) == 0, "GGUF round trip: %s", msg);
        xlmr_model_free(g);
        CHECK(xlmr_classify(m, ids, lengths, 2, 12, dense) == -XLMR_ERR_UNSUPPORTED, "classify on bge-m3");
    }
    xlmr_model_free(m);
    free(cfg);
    free(w);
    free(hf.data);
}

/* config.json of architecture arch (the fixture's with its XLMRobertaForMaskedLM replaced) */
static char *config_arch(const char *arch, size_t *n) {
    static const char was[] = "XLMRobertaForMaskedLM";
    const char *at = strstr((const char *)cfg_base, was);
    if (!at) return NULL;
    const size_t head = (size_t)(at - (const char *)cfg_base), tail = cfg_base_n - head - strlen(was);
    char *c = malloc(cfg_base_n + strlen(arch) + 1);
    memcpy(c, cfg_base, head);
    memcpy(c + head, arch, strlen(arch));
    memcpy(c + head + strlen(arch), at + strlen(was), tail);
    *n = head + strlen(arch) + tail;
    return c;
}

/* BertForSequenceClassification: BertPooler (dense + tanh on the first row) and classifier, chosen by config.json's
 * architectures; the same tensors under another architecture are the token classifier, the pooler unused. */
static void check_bert_classifier(void) {
    head_file hf = {{"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"},
                    {H, 2}, 2, NULL};
    size_t wn, cn;
    unsigned char *w = model_file(&hf, &wn);
    char *cfg = config_arch("BertForSequenceClassification", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == XLMR_HEAD_SEQ_CLS && m->config.num_labels == 2, "BERT classifier loads: %s", msg);
    if (m) {
        float logits[2 * 2], cls[2 * H], midf[2 * H];
        double mid[2 * H], ref[2 * 2];
        CHECK(xlmr_classify(m, ids, lengths, 2, 12, logits) == 0, "classify: %s", xlmr_model_error(m));
        CHECK(xlmr_embed(m, ids, lengths, 2, 12, XLMR_POOL_CLS, 0, cls) == 0, "embed: %s", xlmr_model_error(m));
        linear_ref(cls, 2, hf.data, hf.data + H * H, H, 1, mid);
        for (int i = 0; i < 2 * H; i++) midf[i] = (float)mid[i];
        linear_ref(midf, 2, hf.data + H * H + H, hf.data + H * H + H + 2 * H, 2, 0, ref);
        CHECK(worst_diff(logits, ref, 4) < 1e-5, "F32 pooler + classifier logits within 1e-5: %g",
              worst_diff(logits, ref, 4));
        xlmr_model *g = reload_gguf(m, msg);
        float glogits[4];
        CHECK(g && g->config.head == XLMR_HEAD_SEQ_CLS && xlmr_classify(g, ids, lengths, 2, 12, glogits) == 0 &&
                  memcmp(glogits, logits, sizeof glogits) == 0, "GGUF round trip (cls.*): %s", msg);
        xlmr_model_free(g);
    }
    xlmr_model_free(m);
    free(cfg);
    cfg = config_arch("XLMRobertaForTokenClassification", &cn);
    m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == XLMR_HEAD_TOKEN_CLS && m->config.num_labels == 2,
          "the same names as a token classifier (pooler unused): %s", msg);
    xlmr_model_free(m);
    free(cfg);
    free(w);
    free(hf.data);
    /* XLM-R's classifier names under BERT's architecture: the pooler is named as missing */
    head_file xl = {{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight",
                     "classifier.out_proj.bias"}, {H, 2}, 2, NULL};
    w = model_file(&xl, &wn);
    cfg = config_arch("BertForSequenceClassification", &cn);
    CHECK(!load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg) && strstr(msg, "pooler.dense.weight"), "no pooler: %s", msg);
    free(cfg);
    free(w);
    free(xl.data);
    /* a BertModel's pooler alone is no head */
    head_file pooler = {{"bert.pooler.dense.weight", "bert.pooler.dense.bias", NULL, NULL}, {H, 0}, 1, NULL};
    w = model_file(&pooler, &wn);
    cfg = config_arch("BertModel", &cn);
    m = load(w, wn, cfg, cn, XLMR_DTYPE_F32, msg);
    CHECK(m && m->config.head == XLMR_HEAD_NONE, "BertModel with a pooler: no head (%s)", msg);
    xlmr_model_free(m);
    free(cfg);
    free(w);
    free(pooler.data);
}

static void check_errors(void) {
    size_t cn, wn;
    char *cfg = config_with("", &cn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *mlm = load(fixture, fixture_n, cfg, cn, XLMR_DTYPE_Q8_0, msg);
    float out[2 * 12 * 7];
    CHECK(mlm && xlmr_classify(mlm, ids, lengths, 2, 12, out) == -XLMR_ERR_UNSUPPORTED &&
              strstr(xlmr_model_error(mlm), "fill-mask head, not a text-classification"), "classify on the MLM: %s",
          mlm ? xlmr_model_error(mlm) : msg);
    xlmr_model_free(mlm);
    head_file two = {{"classifier.weight", "classifier.bias", "qa_outputs.weight", "qa_outputs.bias"}, {7, 2}, 2, NULL};
    unsigned char *w = model_file(&two, &wn);
    CHECK(!load(w, wn, cfg, cn, XLMR_DTYPE_Q8_0, msg) && strstr(msg, "two task heads"), "two heads: %s", msg);
    free(w);
    free(two.data);
    free(cfg);
}

int main(void) {
    fixture = test_read_file("tests/fixtures/model.safetensors", &fixture_n);
    cfg_base = test_read_file("tests/fixtures/config.json", &cfg_base_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!fixture || !cfg_base || !spm) return 1;
    check_classifier();
    check_reranker_defaults();
    check_token_head("classifier.weight", "classifier.bias", 7, 0);
    check_token_head("qa_outputs.weight", "qa_outputs.bias", 2, 1);
    check_m3();
    check_bert_classifier();
    check_errors();
    free(fixture);
    free(cfg_base);
    free(spm);
    return test_report("test_task_heads");
}
