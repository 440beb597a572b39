/* What Q4_0 costs on the fixture model against the PyTorch reference (tests/fixtures/model_cases.jsonl), beside Q8_0:
 * the worst and mean per-token cosine of the last hidden state, and fill-mask top-1 / top-5 agreement, for Q8_0, Q8_0
 * layers with a Q4_0 embedding table, and Q4_0 everywhere. The bars are set below what was measured (README.md,
 * "Q4_0") with margin, so a kernel or quantizer bug fails them. */
#include "encoder.h"
#include "heads.h"
#include "json.h"
#include "test.h"
#include "xlmr.h"

static xlmr_model *load_model(int dtype, int emb_dtype) {
    size_t ncfg, nspm, nw;
    unsigned char *cfg = test_read_file("tests/fixtures/config.json", &ncfg);
    unsigned char *spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &nspm);
    unsigned char *wts = test_read_file("tests/fixtures/model.safetensors", &nw);
    xlmr_model *m = NULL;
    xlmr_loader *ld = xlmr_loader_new(dtype);
    if (cfg && spm && wts && ld && xlmr_loader_set_config(ld, (const char *)cfg, ncfg) == XLMR_OK &&
        xlmr_loader_set_tokenizer(ld, spm, nspm) == XLMR_OK && xlmr_loader_set_embedding_type(ld, emb_dtype) == XLMR_OK &&
        xlmr_loader_feed(ld, wts, nw) == XLMR_OK)
        m = xlmr_loader_finish(ld);
    if (!m) fprintf(stderr, "loading: %s\n", ld ? xlmr_loader_error(ld) : "no loader");
    xlmr_loader_free(ld);
    free(cfg);
    free(spm);
    free(wts);
    return m;
}

typedef struct figures {
    double worst_cos, sum_cos;
    int tokens, masks, top1, top5;
} figures;

static const json_value *at2(const json_value *a, int i, int j) { return &a->items[i].items[j]; }

static double cosine(const float *a, const json_value *b, int n) {
    double d = 0, na = 0, nb = 0;
    for (int i = 0; i < n; i++) {
        const double y = b->items[i].number;
        d += a[i] * y, na += (double)a[i] * a[i], nb += y * y;
    }
    return d / sqrt(na * nb);
}

static void run_case(xlmr_model *m, const json_value *c, figures *f) {
    const int B = (int)json_get(c, "batch")->number, L = (int)json_get(c, "seq_len")->number;
    const int H = (int)json_get(c, "hidden_size")->number;
    const json_value *ids = json_get(c, "input_ids"), *am = json_get(c, "attention_mask");
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)B * L), *len = malloc(sizeof(int32_t) * (size_t)B);
    for (int b = 0; b < B; b++) {
        len[b] = 0;
        for (int t = 0; t < L; t++) tok[b * L + t] = (int32_t)at2(ids, b, t)->number, len[b] += (int)at2(am, b, t)->number;
    }
    float *hid = malloc(sizeof(float) * (size_t)B * L * H);
    CHECK(model_embed(m, tok, len, B, L, XLMR_POOL_NONE, 0, hid) == XLMR_OK, "embed: %s", m->err.msg);
    const json_value *lhs = json_get(c, "last_hidden_state"), *fm = json_get(c, "fill_mask");
    for (int b = 0; b < B; b++) {
        for (int t = 0; t < len[b]; t++) {
            const double cs = cosine(hid + ((size_t)b * L + t) * H, at2(lhs, b, t), H);
            if (f->tokens++ == 0 || cs < f->worst_cos) f->worst_cos = cs;
            f->sum_cos += cs;
        }
        const json_value *rowfm = &fm->items[b];
        if (rowfm->type == JSON_NULL) continue;
        int32_t top[64 * 5];
        float sc[64 * 5];
        int nm = 0;
        CHECK(model_fill_mask(m, tok + (size_t)b * L, len[b], 5, top, sc, &nm) == XLMR_OK, "fill-mask: %s", m->err.msg);
        const int multi = rowfm->items[0].type == JSON_ARRAY;
        for (int k = 0; k < nm && k < (multi ? (int)rowfm->len : 1); k++) {
            const json_value *ref = multi ? &rowfm->items[k] : rowfm;
            int same5 = 1;
            for (int j = 0; j < 5; j++) same5 &= top[k * 5 + j] == (int)json_get(&ref->items[j], "token")->number;
            f->masks++;
            f->top1 += top[k * 5] == (int)json_get(&ref->items[0], "token")->number;
            f->top5 += same5;
        }
    }
    free(tok);
    free(len);
    free(hid);
}

int main(void) {
    size_t n;
    char *text = (char *)test_read_file("tests/fixtures/model_cases.jsonl", &n);
    CHECK(text != NULL, "model_cases.jsonl");
    if (!text) return test_report("test_q4_0_fidelity");
    json_doc *docs[16];
    int nd = 0;
    for (char *line = text; *line && nd < 16;) {
        char *end = strchr(line, '\n');
        const size_t ll = end ? (size_t)(end - line) : strlen(line);
        xlmr_error err = {0};
        if (json_parse(line, ll, &docs[nd], &err) != XLMR_OK) break;
        nd++;
        line = end ? end + 1 : line + ll;
    }
    CHECK(nd == 12, "%d cases", nd);
    /* bars: worst per-token cosine, fill-mask top-1 agreement (of 14 masks) */
    static const struct {
        const char *label;
        int dtype, emb;
        double worst_cos;
        int top1;
    } runs[] = {
        {"q8_0", XLMR_DTYPE_Q8_0, -1, 0.998, 13},
        {"q8_0 + q4_0 table", XLMR_DTYPE_Q8_0, XLMR_DTYPE_Q4_0, 0.97, 8},
        {"q4_0", XLMR_DTYPE_Q4_0, -1, 0.85, 8},
    };
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        xlmr_model *m = load_model(runs[r].dtype, runs[r].emb);
        CHECK(m != NULL, "%s", runs[r].label);
        if (!m) continue;
        figures f = {0};
        for (int i = 0; i < nd; i++) run_case(m, json_root(docs[i]), &f);
        printf("%-18s per-token cosine to PyTorch: worst %.6f mean %.6f (%d tokens); fill-mask top-1 %d/%d, top-5 "
               "identical %d/%d\n",
               runs[r].label, f.worst_cos, f.sum_cos / f.tokens, f.tokens, f.top1, f.masks, f.top5, f.masks);
        CHECK(f.masks == 14, "%d masks", f.masks);
        CHECK(f.worst_cos >= runs[r].worst_cos, "%s: worst per-token cosine %g < %g", runs[r].label, f.worst_cos,
              runs[r].worst_cos);
        CHECK(f.top1 >= runs[r].top1, "%s: fill-mask top-1 %d < %d of %d", runs[r].label, f.top1, runs[r].top1, f.masks);
        xlmr_model_free(m);
    }
    for (int i = 0; i < nd; i++) json_free(docs[i]);
    free(text);
    return test_report("test_q4_0_fidelity");
}
