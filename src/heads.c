/* heads.c — pooling, L2 normalisation, the fill-mask head and top-k (see heads.h). */
#include "heads.h"

#include <math.h>

#include "encoder.h"
#include "kernels.h"

void head_pool(const float *hidden, int len, int H, int pooling, float *out) {
    if (pooling == XLMR_POOL_CLS || pooling == XLMR_POOL_LAST) {
        memcpy(out, hidden + (pooling == XLMR_POOL_LAST ? (size_t)(len - 1) * H : 0), (size_t)H * sizeof(float));
        return;
    }
    /* mean over the valid rows; summed in double so the order of rows does not matter at float precision */
    for (int i = 0; i < H; i++) {
        double s = 0.0;
        for (int t = 0; t < len; t++) s += hidden[(size_t)t * H + i];
        out[i] = (float)(s / len);
    }
}

void head_l2_normalize(float *v, int n) {
    double ss = 0.0;
    for (int i = 0; i < n; i++) ss += (double)v[i] * v[i];
    double norm = sqrt(ss);
    if (norm < 1e-12) norm = 1e-12;
    for (int i = 0; i < n; i++) v[i] = (float)(v[i] / norm);
}

void head_mlm_logits(xlmr_model *m, const float *rows, int M, float *out, int ldo) {
    const xlmr_config *c = &m->config;
    const xlmr_weights *w = &m->w;
    struct xlmr_scratch *s = m->scratch;
    const int H = c->hidden_size;
    kern_input in = kern_input_of(rows, M, H, s->qmem);
    kern_linear(s->hmid, H, &in, &w->mlm_dense, (const float *)w->mlm_dense_b.data);
    kern_gelu(s->hmid, (size_t)M * H);
    kern_layer_norm(s->hmid, M, H, (const float *)w->mlm_norm.data, (const float *)w->mlm_norm_b.data,
                    c->layer_norm_eps);
    in = kern_input_of(s->hmid, M, H, s->qmem); /* the decoder is tied to the word embeddings */
    kern_linear(out, ldo, &in, &w->tok_embd, (const float *)w->mlm_bias.data);
}

/* a ranks below b: smaller value, or the same value at a higher index */
static inline int ranks_below(float pa, int32_t ia, float pb, int32_t ib) {
    return pa < pb || (pa == pb && ia > ib);
}

/* Min-heap on (scores, ids) of size n, the lowest-ranked element at the root. */
static void sift_down(int32_t *ids, float *sc, int n, int i) {
    for (;;) {
        int l = 2 * i + 1, r = l + 1, lo = i;
        if (l < n && ranks_below(sc[l], ids[l], sc[lo], ids[lo])) lo = l;
        if (r < n && ranks_below(sc[r], ids[r], sc[lo], ids[lo])) lo = r;
        if (lo == i) return;
        float ts = sc[i];
        int32_t ti = ids[i];
        sc[i] = sc[lo], ids[i] = ids[lo];
        sc[lo] = ts, ids[lo] = ti;
        i = lo;
    }
}

void head_top_k(const float *p, int n, int k, int32_t *ids, float *scores) {
    if (k > n) k = n;
    int size = 0;
    for (int i = 0; i < n; i++) {
        if (size < k) { /* push and sift up */
            int j = size++;
            while (j > 0) {
                int parent = (j - 1) / 2;
                if (!ranks_below(p[i], i, scores[parent], ids[parent])) break;
                scores[j] = scores[parent], ids[j] = ids[parent];
                j = parent;
            }
            scores[j] = p[i], ids[j] = i;
        } else if (ranks_below(scores[0], ids[0], p[i], i)) {
            scores[0] = p[i], ids[0] = i;
            sift_down(ids, scores, size, 0);
        }
    }
    /* heap sort: moving the lowest to the end leaves the best first */
    for (int end = size - 1; end > 0; end--) {
        float ts = scores[0];
        int32_t ti = ids[0];
        scores[0] = scores[end], ids[0] = ids[end];
        scores[end] = ts, ids[end] = ti;
        sift_down(ids, scores, end, 0);
    }
}
