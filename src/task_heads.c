/* task_heads.c — sequence classification, token classification and question answering (task_heads.h). */
#include "task_heads.h"

#include <math.h>

#include "encoder.h"
#include "heads.h"
#include "kernels.h"

static const float *floats(const xlmr_tensor *t) { return (const float *)t->data; }

/* The classifier on the b1 - b0 first rows the last layer computed, KERN_QTILE at a time through the head buffers:
 * (n, H) -> dense (n, H) -> tanh -> out_proj (n, num_labels). */
static void classify_group(xlmr_model *m, int b0, int b1, void *ctx) {
    const xlmr_weights *w = &m->w;
    struct xlmr_scratch *s = m->scratch;
    const int H = m->config.hidden_size, NL = m->config.num_labels;
    float *out = (float *)ctx;
    for (int i = 0; i < b1 - b0; i += KERN_QTILE) {
        const int n = b1 - b0 - i < KERN_QTILE ? b1 - b0 - i : KERN_QTILE;
        kern_input in = kern_input_of(s->hidden + (size_t)i * H, n, H, s->qmem);
        kern_linear(s->hmid, H, &in, &w->cls_dense, floats(&w->cls_dense_b));
        for (size_t k = 0; k < (size_t)n * H; k++) s->hmid[k] = tanhf(s->hmid[k]);
        kern_input mid = kern_input_of(s->hmid, n, H, s->qmem);
        kern_linear(out + (size_t)(b0 + i) * NL, NL, &mid, &w->cls_out, floats(&w->cls_out_b));
    }
}

xlmr_status model_classify(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    xlmr_status st = encoder_check_batch(m, ids, lengths, B, T, out, XLMR_HEAD_SEQ_CLS, "classify");
    if (st != XLMR_OK) return st;
    return encoder_run_groups(m, ids, lengths, B, T, 1, 1, classify_group, out);
}

int model_token_outputs(const xlmr_model *m) {
    return m->config.head == XLMR_HEAD_QA ? 2 : m->config.head == XLMR_HEAD_TOKEN_CLS ? m->config.num_labels : 0;
}

typedef struct token_job {
    const int32_t *lengths;
    int T;
    float *out;
} token_job;

/* The head on every packed row of sequences [b0, b1), into their (T, n) blocks of out. */
static void token_group(xlmr_model *m, int b0, int b1, void *ctx) {
    const token_job *j = (const token_job *)ctx;
    struct xlmr_scratch *s = m->scratch;
    const int H = m->config.hidden_size, n = model_token_outputs(m);
    const int qa = m->config.head == XLMR_HEAD_QA;
    const xlmr_tensor *w = qa ? &m->w.qa_out : &m->w.token_cls;
    const float *bias = floats(qa ? &m->w.qa_out_b : &m->w.token_cls_b);
    for (int b = b0; b < b1; b++) {
        const int len = j->lengths[b];
        float *ob = j->out + (size_t)b * j->T * n;
        kern_input in = kern_input_of(s->hidden + (size_t)s->seq_start[b - b0] * H, len, H, s->qmem);
        kern_linear(ob, n, &in, w, bias);
        memset(ob + (size_t)len * n, 0, (size_t)(j->T - len) * n * sizeof(float));
    }
}

xlmr_status model_token_logits(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    const int head = m->config.head == XLMR_HEAD_QA ? XLMR_HEAD_QA : XLMR_HEAD_TOKEN_CLS;
    xlmr_status st = encoder_check_batch(m, ids, lengths, B, T, out, head, "token logits");
    if (st != XLMR_OK) return st;
    token_job j = {lengths, T, out};
    return encoder_run_groups(m, ids, lengths, B, T, 0, 0, token_group, &j);
}

typedef struct m3_job {
    const int32_t *lengths;
    int T;
    float *dense, *sparse, *colbert;
} m3_job;

/* BGE-M3's outputs of sequences [b0, b1) from their packed rows (len, H): the <s> row L2-normalised (dense), ReLU of
 * the lexical weight of every row (sparse), the normalised ColBERT projection of rows 1 .. len - 1 (colbert). */
static void m3_group(xlmr_model *m, int b0, int b1, void *ctx) {
    const m3_job *j = (const m3_job *)ctx;
    struct xlmr_scratch *s = m->scratch;
    const int H = m->config.hidden_size, T = j->T;
    for (int b = b0; b < b1; b++) {
        const int len = j->lengths[b];
        const float *rows = s->hidden + (size_t)s->seq_start[b - b0] * H;
        if (j->dense) {
            memcpy(j->dense + (size_t)b * H, rows, (size_t)H * sizeof(float));
            head_l2_normalize(j->dense + (size_t)b * H, H);
        }
        if (j->sparse) {
            float *w = j->sparse + (size_t)b * T;
            kern_input in = kern_input_of(rows, len, H, s->qmem);
            kern_linear(w, 1, &in, &m->w.m3_sparse, floats(&m->w.m3_sparse_b));
            for (int t = 0; t < T; t++) w[t] = t < len && w[t] > 0.0f ? w[t] : 0.0f;
        }
        if (j->colbert) {
            float *v = j->colbert + (size_t)b * T * H;
            memset(v, 0, (size_t)H * sizeof(float));
            if (len > 1) {
                kern_input in = kern_input_of(rows + H, len - 1, H, s->qmem);
                kern_linear(v + H, H, &in, &m->w.m3_colbert, floats(&m->w.m3_colbert_b));
            }
            for (int t = 1; t < len; t++) head_l2_normalize(v + (size_t)t * H, H);
            memset(v + (size_t)len * H, 0, (size_t)(T - len) * H * sizeof(float));
        }
    }
}

xlmr_status model_m3_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *dense,
                           float *sparse, float *colbert) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    const void *any = dense ? (const void *)dense : sparse ? (const void *)sparse : (const void *)colbert;
    xlmr_status st = encoder_check_batch(m, ids, lengths, B, T, any, XLMR_HEAD_M3, "bge-m3 embed");
    if (st != XLMR_OK) return st;
    m3_job j = {lengths, T, dense, sparse, colbert};
    return encoder_run_groups(m, ids, lengths, B, T, 0, 0, m3_group, &j);
}
