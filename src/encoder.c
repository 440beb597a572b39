/* encoder.c — the forward pass (embeddings, post-LayerNorm blocks), the scratch arena and the entry points
 * model_embed / model_fill_mask / model_logits (see encoder.h).
 *
 * Shapes: B sequences, T padded length, R = sum of lengths packed rows, H hidden, F intermediate, V vocab,
 * nh heads of dh = H / nh. Every linear layer is kern_linear over the R rows; activations feeding Q8_0
 * weights are quantized once per layer input (q, k and v share one quantization). */
#include "encoder.h"

#include <math.h>
#include <stdio.h> /* snprintf of tensor names */

#include "heads.h"
#include "quant.h"
#include "threads.h"
#include "tokenizer.h"

void scratch_free(struct xlmr_scratch *s) {
    if (!s) return;
    XLMR_FREE(s->mem);
    XLMR_FREE(s);
}

/* ---- scratch ---- */

/* One attention slot (a thread's buffers for one head at a time), for kern_matmul_i16x4 (kernels.h):
 *   qh (T4, Kq) the head's queries, rows scaled by dq (T4); kh its keys in groups of 4 rows (T4, Kq), dk (T4);
 *   vt its dims as rows in groups of 4 (dh4, Tp) over the tokens, dv (dh4);
 *   scores (qb, T) floats of a block of queries, pq (qb, Tp) their probabilities in int16.
 * T4 = T rounded up to 4, Tp to 8, dh4 = dh to 4, Kq = dh to 2; padding is zeros. Each piece starts 16-byte aligned.
 * Every size grows with T and qb, so a slot carved for a sequence's length fits in one carved for the batch's T. */
typedef struct att_bufs {
    int16_t *qh, *kh, *vt, *pq;
    float *dq, *dk, *dv, *scores;
} att_bufs;

static size_t att_carve(int T, int dh, int qb, float *base, att_bufs *b) {
    const size_t T4 = ((size_t)T + 3) & ~(size_t)3, Tp = ((size_t)T + 7) & ~(size_t)7;
    const size_t dh4 = ((size_t)dh + 3) & ~(size_t)3, Kq = ((size_t)dh + 1) & ~(size_t)1;
#define PIECE_FLOATS(n_floats) (((n_floats) + 3) & ~(size_t)3)
    const size_t sizes[8] = {PIECE_FLOATS(T4 * Kq / 2), PIECE_FLOATS(T4 * Kq / 2), PIECE_FLOATS(dh4 * Tp / 2),
                             PIECE_FLOATS((size_t)qb * Tp / 2), PIECE_FLOATS(T4), PIECE_FLOATS(T4), PIECE_FLOATS(dh4),
                             PIECE_FLOATS((size_t)qb * (size_t)T)};
#undef PIECE_FLOATS
    size_t at[8], end = 0;
    for (int i = 0; i < 8; i++) at[i] = end, end += sizes[i];
    if (b) {
        b->qh = (int16_t *)(void *)(base + at[0]);
        b->kh = (int16_t *)(void *)(base + at[1]);
        b->vt = (int16_t *)(void *)(base + at[2]);
        b->pq = (int16_t *)(void *)(base + at[3]);
        b->dq = base + at[4];
        b->dk = base + at[5];
        b->dv = base + at[6];
        b->scores = base + at[7];
    }
    return end;
}

/* Appends n bytes at a 16-byte boundary: *at gets the offset, *end moves past. 0 on overflow. */
static int take(size_t *end, size_t n, size_t *at) {
    size_t a;
    if (!xlmr_add_size(*end, 15, &a)) return 0;
    a &= ~(size_t)15;
    *at = a;
    return xlmr_add_size(a, n, end);
}

static xlmr_status scratch_reserve(xlmr_model *m, int64_t rows, int T, int B, int want_head) {
    const xlmr_config *c = &m->config;
    const size_t H = (size_t)c->hidden_size, F = (size_t)c->intermediate_size, V = (size_t)c->vocab_size;
    const size_t rp = ((size_t)rows + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    const int dh = (int)H / c->num_heads, qb = T < ATT_QBLOCK ? T : ATT_QBLOCK;
    const size_t head = ((size_t)T * (size_t)dh + 3) & ~(size_t)3, slot_f32 = 3 * head + (((size_t)qb * T + 3) & ~(size_t)3);
    const size_t slot_i16 = att_carve(T, dh, qb, NULL, NULL), slot = slot_i16 > slot_f32 ? slot_i16 : slot_f32;
    const int slots = par_threads() < c->num_heads * B ? par_threads() : c->num_heads * B;
    size_t nh, nf, nq, na, end = 0, o_x, o_alt, o_q, o_att, o_qmem, o_seq;
    size_t o_hin = 0, o_hmid = 0, o_logits = 0;
    int ok = rows <= INT32_MAX && xlmr_mul_size(rp, H * sizeof(float), &nh) &&
             xlmr_mul_size(rp, F * sizeof(float), &nf) && xlmr_mul_size(slot * sizeof(float), (size_t)slots, &na) &&
             (nq = kern_qact_bytes((int)rp, (int)(H > F ? H : F))) != 0;
    /* q, k, v and ctx are dead once the attention output is computed, before ffn is written: ffn shares their
     * room (nh is a multiple of 16 bytes, so the four are contiguous) */
    size_t nqkv = 0;
    ok = ok && xlmr_mul_size(nh, 4, &nqkv);
    ok = ok && take(&end, nh, &o_x) && take(&end, nh, &o_alt) && take(&end, nqkv > nf ? nqkv : nf, &o_q) &&
         take(&end, na, &o_att) &&
         take(&end, nq, &o_qmem) &&
         take(&end, 2 * ((size_t)B + 1) * sizeof(int32_t), &o_seq);
    if (want_head)
        ok = ok && take(&end, KERN_QTILE * H * sizeof(float), &o_hin) &&
             take(&end, KERN_QTILE * H * sizeof(float), &o_hmid) &&
             take(&end, KERN_QTILE * V * sizeof(float), &o_logits);
    if (!ok || end > (size_t)PTRDIFF_MAX)
        return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "activations for %lld tokens (batch %d x %d) do not fit in memory",
                         (long long)rows, B, T);
    struct xlmr_scratch *s = m->scratch;
    if (!s) {
        s = (struct xlmr_scratch *)XLMR_CALLOC(1, sizeof *s);
        if (!s) return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "cannot allocate the scratch header");
        m->scratch = s;
    }
    if (end > s->cap) {
        XLMR_FREE(s->mem);
        s->cap = 0;
        s->mem = XLMR_MALLOC(end);
        if (!s->mem)
            return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "cannot allocate %zu bytes of activations for %lld tokens",
                             end, (long long)rows);
        s->cap = end;
    }
    uint8_t *base = (uint8_t *)s->mem;
    s->x = (float *)(void *)(base + o_x);
    s->alt = (float *)(void *)(base + o_alt);
    s->q = (float *)(void *)(base + o_q);
    s->k = (float *)(void *)(base + o_q + nh);
    s->v = (float *)(void *)(base + o_q + 2 * nh);
    s->ctx = (float *)(void *)(base + o_q + 3 * nh);
    s->ffn = (float *)(void *)(base + o_q);
    s->att = (float *)(void *)(base + o_att);
    s->att_slot_floats = slot;
    s->att_slots = slots;
    s->qmem = base + o_qmem;
    s->seq_start = (int32_t *)(void *)(base + o_seq);
    s->out_start = s->seq_start + B + 1;
    s->hin = want_head ? (float *)(void *)(base + o_hin) : NULL;
    s->hmid = want_head ? (float *)(void *)(base + o_hmid) : NULL;
    s->logits = want_head ? (float *)(void *)(base + o_logits) : NULL;
    s->hidden = NULL;
    return XLMR_OK;
}

/* ---- forward ---- */

/* x = LayerNorm(word[id] + type[0] + pos), the position row from the ids: a non-pad token is the n-th
 * non-pad token of its sequence and reads row n - 1 of pos_embd (position id n + pad_id); a pad token adds
 * the zero vector (position id pad_id). */
static void embed_tokens(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T) {
    const xlmr_config *c = &m->config;
    const xlmr_weights *w = &m->w;
    struct xlmr_scratch *s = m->scratch;
    const int H = c->hidden_size;
    float *type_row = s->q, *pos_row = s->k; /* free until the first layer */
    kern_get_row(type_row, &w->type_embd, 0);
    for (int b = 0; b < B; b++) {
        int n = 0;
        for (int t = 0; t < lengths[b]; t++) {
            const int32_t id = ids[(size_t)b * T + t];
            float *xr = s->x + (size_t)(s->seq_start[b] + t) * H;
            kern_get_row(xr, &w->tok_embd, id);
            kern_add(xr, type_row, (size_t)H);
            if (id != c->pad_id) {
                kern_get_row(pos_row, &w->pos_embd, n++);
                kern_add(xr, pos_row, (size_t)H);
            }
        }
    }
    kern_layer_norm(s->x, s->seq_start[B], H, (const float *)w->embd_norm.data, (const float *)w->embd_norm_b.data,
                    c->layer_norm_eps);
}

/* ctx = softmax(q kᵀ / sqrt(dh)) v per sequence and head, as two matmuls over blocks of ATT_QBLOCK queries (scores
 * (ATT_QBLOCK, len) at a time, never (len, len)). Keys past a sequence's length are not visited: the reference's
 * -10000 mask gives them exactly zero weight in float. The (sequence, head) pairs are dealt round-robin to
 * s->att_slots par_run tasks, each with its own buffers; a head is computed by one thread, the same way whatever the
 * thread count.
 *
 * Layers with Q8_0 projections multiply in int16 (attention_head_i16, kern_matmul_i16x4: ~2× the float products'
 * rate; at seq 512 they were 15% of the encoder): queries and keys quantized per row to ±qk_range, values per
 * dimension to ±v_range, probabilities in steps of 1/32767 -- ranges that keep every int32 sum in range, and errors
 * far under the Q8_0 activations' own (1/254 of a 32-block's largest value): on the F32 fixture model the int16
 * products alone move the hidden states by at most 4e-4 (per-token cosine > 0.999999). Float weights keep the
 * reference's float products (attention_head_f32): a user who chose F32 gets the reference's numbers within 1e-4. */
typedef struct att_job {
    const xlmr_config *c;
    struct xlmr_scratch *s;
    int B;
    int out_rows; /* layer_forward with rows: sequence b's queries only, in q rows out_start[b] .. out_start[b + 1] - 1,
                   * ctx to the same rows */
    int int16; /* the int16 products (Q8_0 projections) or the float ones */
} att_job;

/* One (sequence, head) of an attention call: its packed rows r0 .. r0 + len - 1, its query rows q0 .. q0 + nq - 1,
 * its columns off .. off + dh - 1 of q, k, v and ctx, and the score scale. */
typedef struct att_head {
    int H, dh, r0, len, q0, nq;
    size_t off;
    /* scores / sqrt(dh) as the reference computes it; a multiply when that is exact (sqrt(dh) a power of two:
     * dh = 64 at base size), as division is several times slower */
    float sq, inv_sq;
    int scale_exact;
} att_head;

static att_head att_head_at(const att_job *aj, int b, int h) {
    att_head a;
    a.H = aj->c->hidden_size, a.dh = a.H / aj->c->num_heads;
    a.r0 = aj->s->seq_start[b], a.len = aj->s->seq_start[b + 1] - a.r0;
    a.q0 = aj->out_rows ? aj->s->out_start[b] : a.r0;
    a.nq = aj->out_rows ? aj->s->out_start[b + 1] - a.q0 : a.len;
    a.off = (size_t)h * a.dh;
    a.sq = sqrtf((float)a.dh), a.inv_sq = 1.0f / a.sq;
    int e2;
    a.scale_exact = frexpf(a.sq, &e2) == 0.5f;
    return a;
}

/* Float weights: the reference's float products (kern_matmul_f32). The head's q and k rows are gathered contiguous
 * (len, dh) and v transposed (dh, len) so both products are kern_matmul_f32; slot: qh, kh, vt, then the scores. */
static void attention_head_f32(const struct xlmr_scratch *s, const att_head *hd, float *buf) {
    const int H = hd->H, dh = hd->dh, r0 = hd->r0, len = hd->len, q0 = hd->q0, nq = hd->nq;
    const size_t head = ((size_t)len * dh + 3) & ~(size_t)3, off = hd->off;
    const float sq = hd->sq, inv_sq = hd->inv_sq;
    const int scale_exact = hd->scale_exact;
    float *qh = buf, *kh = buf + head, *vt = buf + 2 * head, *scores = buf + 3 * head;
    for (int j = 0; j < nq; j++) memcpy(qh + (size_t)j * dh, s->q + (size_t)(q0 + j) * H + off, (size_t)dh * sizeof(float));
    for (int j = 0; j < len; j++) {
        const size_t row = (size_t)(r0 + j) * H + off;
        memcpy(kh + (size_t)j * dh, s->k + row, (size_t)dh * sizeof(float));
        for (int d = 0; d < dh; d++) vt[(size_t)d * len + j] = s->v[row + d];
    }
    for (int i0 = 0; i0 < nq; i0 += ATT_QBLOCK) {
        const int ni = nq - i0 < ATT_QBLOCK ? nq - i0 : ATT_QBLOCK;
        kern_matmul_f32_local(scores, len, qh + (size_t)i0 * dh, kh, NULL, ni, len, dh);
        for (int i = 0; i < ni; i++) {
            float *sc = scores + (size_t)i * len;
            if (scale_exact)
                for (int j = 0; j < len; j++) sc[j] *= inv_sq;
            else
                for (int j = 0; j < len; j++) sc[j] /= sq;
            kern_softmax(sc, len);
        }
        kern_matmul_f32_local(s->ctx + (size_t)(q0 + i0) * H + off, H, scores, vt, NULL, ni, dh, len);
    }
}

/* The scale of n floats (stride apart) quantized to int16 within ±range, amax / range; *inv = range / amax (0 for
 * all zeros). Values then go to nearest-even(x · *inv). Plain C on purpose: the same numbers in every build. */
static float i16_scale(const float *x, size_t stride, int n, float range, float *inv) {
    float amax = 0.0f;
    for (int i = 0; i < n; i++) {
        const float v = fabsf(x[(size_t)i * stride]);
        amax = v > amax ? v : amax;
    }
    *inv = amax > 0.0f ? range / amax : 0.0f;
    return amax / range;
}

/* nearest-even(v) for |v| < 2^22 (the ranges here are <= 32767) by KERN_ROUND_MAGIC (kernels.h); a NaN gives some
 * value, as the float path would give NaN. */
static inline int16_t i16_round(float v) {
    const float r = v + KERN_ROUND_MAGIC;
    int32_t bits;
    memcpy(&bits, &r, sizeof bits);
    return (int16_t)(bits - KERN_ROUND_MAGIC_BITS);
}

static void i16_quantize(const float *x, int n, float inv, int16_t *q) {
    for (int i = 0; i < n; i++) q[i] = i16_round(x[i] * inv);
}

static void attention_head_i16(const struct xlmr_scratch *s, const att_head *hd, float *buf) {
    const int H = hd->H, dh = hd->dh, r0 = hd->r0, len = hd->len, q0 = hd->q0, nq = hd->nq;
    const int Kq = (dh + 1) & ~1, len4 = (len + 3) & ~3, lenp = (len + 7) & ~7, dh4 = (dh + 3) & ~3;
    const size_t off = hd->off;
    /* q kᵀ: |sum| <= Kq · range² < 2^31. p v: |sum| <= v_range · sum(pq), and sum(pq) <= KERN_PROB_ONE · sum(p) + lenp / 2
     * (each probability rounded by at most 1/2, sum(p) <= 1 up to float error) */
    const float qk_range = fminf((float)INT16_MAX, floorf(sqrtf(2147483647.0f / (float)Kq)));
    const float v_range = fminf((float)INT16_MAX, floorf(2147483647.0f / (KERN_PROB_ONE * 1.001f + 0.5f * (float)lenp + 1.0f)));
    const float sq = hd->sq, inv_sq = hd->inv_sq;
    const int scale_exact = hd->scale_exact;
    att_bufs a;
    att_carve(len, dh, nq < ATT_QBLOCK ? nq : ATT_QBLOCK, buf, &a);
    /* zeros where nothing is written below: an odd dh's last column, the keys past len in their group, the tokens
     * past len (rounded up to a pair) in every dims group */
    if (Kq != dh) memset(a.qh, 0, (size_t)nq * Kq * sizeof(int16_t));
    if (len4 != len) memset(a.kh + (size_t)(len / 4) * 4 * Kq, 0, (size_t)4 * Kq * sizeof(int16_t));
    const int len2 = (len + 1) & ~1;
    for (int g = 0; g < dh4 / 4 && len2 < lenp; g++)
        memset(a.vt + (size_t)g * 4 * lenp + 4 * (size_t)len2, 0, (size_t)(lenp - len2) * 4 * sizeof(int16_t));
    float inv, vinv[ATT_MAX_DH];
    int16_t row[ATT_MAX_DH + 4];
    for (int j = 0; j < nq; j++) {
        const float *x = s->q + (size_t)(q0 + j) * H + off;
        /* an exact 1 / sqrt(dh) (a power of two) goes into the scale: the same scores as multiplying them after */
        a.dq[j] = i16_scale(x, 1, dh, qk_range, &inv) * (scale_exact ? inv_sq : 1.0f);
        i16_quantize(x, dh, inv, a.qh + (size_t)j * Kq);
    }
    row[dh] = 0; /* an odd dh's last pair */
    for (int j = 0; j < len; j++) { /* key j: group j / 4, lane j % 4; its column pair p at [8p + 2 (j % 4)] */
        const float *x = s->k + (size_t)(r0 + j) * H + off;
        int16_t *kg = a.kh + (size_t)(j / 4) * 4 * Kq + 2 * (j % 4);
        a.dk[j] = i16_scale(x, 1, dh, qk_range, &inv);
        i16_quantize(x, dh, inv, row);
        for (int p = 0; p < Kq / 2; p++) memcpy(kg + 8 * p, row + 2 * p, 2 * sizeof(int16_t));
    }
    for (int j = len; j < len4; j++) a.dk[j] = 0.0f;
    /* values: one scale per dimension over the tokens (dv holds the amax first); token rows read in order */
    for (int d = 0; d < dh4; d++) a.dv[d] = 0.0f;
    for (int t = 0; t < len; t++) {
        const float *vr = s->v + (size_t)(r0 + t) * H + off;
        for (int d = 0; d < dh; d++) {
            const float v = fabsf(vr[d]);
            a.dv[d] = v > a.dv[d] ? v : a.dv[d];
        }
    }
    for (int d = 0; d < dh; d++) {
        vinv[d] = a.dv[d] > 0.0f ? v_range / a.dv[d] : 0.0f;
        a.dv[d] /= v_range;
    }
    /* dim d, token t at [(d / 4) 4 lenp + 8 (t / 2) + 2 (d % 4) + t % 2]: a token pair's values of dim d are one
     * 32-bit word (token t low, t + 1 high), and 4 dims' words are 16 contiguous bytes */
    uint32_t pair[ATT_MAX_DH + 4] = {0};
    for (int t = 0; t < len; t += 2) {
        const float *v0 = s->v + (size_t)(r0 + t) * H + off, *v1 = t + 1 < len ? v0 + H : v0;
        const uint32_t hi_mask = t + 1 < len ? 0xffffu : 0u;
        for (int d = 0; d < dh; d++)
            pair[d] = (uint16_t)i16_round(v0[d] * vinv[d]) | ((uint32_t)(uint16_t)i16_round(v1[d] * vinv[d]) & hi_mask) << 16;
        for (int g = 0; g < dh4 / 4; g++) memcpy(a.vt + (size_t)g * 4 * lenp + 4 * (size_t)t, pair + 4 * g, 16);
    }
    float dp[ATT_QBLOCK];
    for (int i = 0; i < ATT_QBLOCK; i++) dp[i] = 1.0f / KERN_PROB_ONE;
    for (int i0 = 0; i0 < nq; i0 += ATT_QBLOCK) {
        const int ni = nq - i0 < ATT_QBLOCK ? nq - i0 : ATT_QBLOCK;
        kern_matmul_i16x4(a.scores, len, a.qh + (size_t)i0 * Kq, a.dq + i0, a.kh, a.dk, ni, len, Kq);
        for (int i = 0; i < ni; i++) {
            float *sc = a.scores + (size_t)i * len;
            if (!scale_exact)
                for (int j = 0; j < len; j++) sc[j] /= sq;
            kern_softmax(sc, len);
            kern_quantize_prob_i16(sc, len, lenp, a.pq + (size_t)i * lenp);
        }
        kern_matmul_i16x4(s->ctx + (size_t)(q0 + i0) * H + off, H, a.pq, dp, a.vt, a.dv, ni, dh, lenp);
    }
}

static void attention_slot(void *p, int slot) {
    const att_job *j = (const att_job *)p;
    const int nh = j->c->num_heads;
    float *buf = j->s->att + (size_t)slot * j->s->att_slot_floats;
    for (int pair = slot; pair < j->B * nh; pair += j->s->att_slots) {
        const att_head hd = att_head_at(j, pair / nh, pair % nh);
        if (hd.nq == 0) continue; /* a sequence with no output row in the last layer (rows mode) */
        (j->int16 ? attention_head_i16 : attention_head_f32)(j->s, &hd, buf);
    }
}

static void attention(const xlmr_config *c, struct xlmr_scratch *s, int B, int out_rows, int int16) {
    att_job j = {c, s, B, out_rows, int16};
    par_run(s->att_slots, attention_slot, &j);
}

static inline int is_q8(const xlmr_tensor *t) { return t->type == XLMR_TYPE_Q8_0; }

/* One block over the R packed rows. With rows (the last layer: fill-mask, logits, CLS pooling) only the output rows
 * rows[0 .. n) are computed: keys and values for all R rows, everything else -- queries, attention, output
 * projection, FFN -- for those n rows alone, about 10/12 of the layer's work saved for every other row. Each row's
 * arithmetic is the same either way (rows are quantized and multiplied independently), so those rows are
 * bit-identical to the full pass's (test: check_output_rows); *px then holds them as rows 0 .. n - 1, in the order
 * given (n <= R). */
static void layer_forward(xlmr_model *m, const xlmr_layer *L, int B, const int32_t *rows, int n, float **px,
                          float **palt) {
    const xlmr_config *c = &m->config;
    struct xlmr_scratch *s = m->scratch;
    const int H = c->hidden_size, F = c->intermediate_size, R = s->seq_start[B], Rq = rows ? n : R;
    const float eps = c->layer_norm_eps;
    float *x = *px, *alt = *palt;
    kern_qact qa;
#define QUANTIZE_IF(cond, src, T, K)              \
    if (cond) {                                   \
        kern_qact_init(&qa, s->qmem, T, K);       \
        kern_quantize_act(src, &qa);              \
    }
#define BIAS(t) ((const float *)(t).data)
    QUANTIZE_IF(is_q8(&L->q) || is_q8(&L->k) || is_q8(&L->v), x, R, H);
    kern_linear(s->k, H, x, &qa, &L->k, BIAS(L->k_b), R);
    kern_linear(s->v, H, x, &qa, &L->v, BIAS(L->v_b), R);
    if (rows) { /* x becomes the n rows' inputs (gathered into alt); the old x is free */
        for (int i = 0; i < n; i++) memcpy(alt + (size_t)i * H, x + (size_t)rows[i] * H, (size_t)H * sizeof(float));
        float *tmp = x;
        x = alt, alt = tmp;
        QUANTIZE_IF(is_q8(&L->q), x, n, H);
    }
    kern_linear(s->q, H, x, &qa, &L->q, BIAS(L->q_b), Rq);
    attention(c, s, B, rows != NULL, is_q8(&L->q));
    QUANTIZE_IF(is_q8(&L->attn_out), s->ctx, Rq, H);
    kern_linear(alt, H, s->ctx, &qa, &L->attn_out, BIAS(L->attn_out_b), Rq);
    kern_add_layer_norm(alt, x, Rq, H, BIAS(L->attn_norm), BIAS(L->attn_norm_b), eps);
    float *tmp = x;
    x = alt, alt = tmp;

    QUANTIZE_IF(is_q8(&L->ffn_up), x, Rq, H);
    kern_linear_gelu(s->ffn, F, x, &qa, &L->ffn_up, BIAS(L->ffn_up_b), Rq);
    QUANTIZE_IF(is_q8(&L->ffn_down), s->ffn, Rq, F);
    kern_linear(alt, H, s->ffn, &qa, &L->ffn_down, BIAS(L->ffn_down_b), Rq);
    kern_add_layer_norm(alt, x, Rq, H, BIAS(L->out_norm), BIAS(L->out_norm_b), eps);
#undef QUANTIZE_IF
#undef BIAS
    *px = alt;
    *palt = x;
}

xlmr_status encoder_forward(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int want_head,
                            const int32_t *out_rows, int n_out) {
    int64_t rows = 0;
    for (int b = 0; b < B; b++) rows += lengths[b];
    if (out_rows && (n_out < 1 || n_out > rows))
        return xlmr_fail(&m->err, XLMR_ERR_ARG, "encoder: %d output rows of a batch of %d (%lld tokens)", n_out, B,
                         (long long)rows);
    xlmr_status st = scratch_reserve(m, rows, T, B, want_head);
    if (st != XLMR_OK) return st;
    struct xlmr_scratch *s = m->scratch;
    s->seq_start[0] = 0;
    for (int b = 0; b < B; b++) s->seq_start[b + 1] = s->seq_start[b] + lengths[b];
    if (out_rows) { /* out_start[b]: the first output row in sequence b or after it */
        int b = 0;
        s->out_start[0] = 0;
        for (int i = 0; i < n_out; i++) {
            if (out_rows[i] < s->seq_start[b] || out_rows[i] >= rows)
                return xlmr_fail(&m->err, XLMR_ERR_ARG, "encoder: output row %d (entry %d) is outside the batch's %lld "
                                 "rows or before the previous entry's sequence", (int)out_rows[i], i, (long long)rows);
            while (out_rows[i] >= s->seq_start[b + 1]) s->out_start[++b] = i;
        }
        while (b < B) s->out_start[++b] = n_out;
    }
    embed_tokens(m, ids, lengths, B, T);
    float *x = s->x, *alt = s->alt;
    const int nl = m->config.num_layers, H = m->config.hidden_size;
    for (int l = 0; l < nl; l++)
        layer_forward(m, &m->w.layers[l], B, l == nl - 1 ? out_rows : NULL, n_out, &x, &alt);
    if (out_rows && nl == 0) { /* no layers: the embeddings' rows */
        for (int i = 0; i < n_out; i++) memcpy(alt + (size_t)i * H, x + (size_t)out_rows[i] * H, (size_t)H * sizeof(float));
        x = alt;
    }
    s->hidden = x;
    return XLMR_OK;
}

/* ---- entry points ---- */

static xlmr_status check_ids(xlmr_model *m, const int32_t *ids, int n, int seq) {
    const int32_t V = m->config.vocab_size;
    for (int t = 0; t < n; t++)
        if (ids[t] < 0 || ids[t] >= V)
            return xlmr_fail(&m->err, XLMR_ERR_ARG, "token id %d at position %d of sequence %d is outside [0, %d)",
                             (int)ids[t], t, seq, (int)V);
    return XLMR_OK;
}

static xlmr_status check_length(xlmr_model *m, int len, int seq) {
    if (len > m->config.max_tokens)
        return xlmr_fail(&m->err, XLMR_ERR_TOO_LONG,
                         "sequence %d has %d tokens; the model accepts at most %d (special tokens included)", seq, len,
                         (int)m->config.max_tokens);
    return XLMR_OK;
}

/* Outputs of sequences [b0, b1) of a batch from the encoder pass that just ran on them alone: (T, H) rows zero-padded
 * past each length, or one pooled (H) vector each (XLMR_POOL_CLS: the pass's hidden holds only the first rows). */
static void embed_outputs(const xlmr_model *m, const int32_t *lengths, int b0, int b1, int T, int pooling,
                          int normalize, float *out) {
    const struct xlmr_scratch *s = m->scratch;
    const int H = m->config.hidden_size;
    for (int b = b0; b < b1; b++) {
        const float *hb = s->hidden + (size_t)(pooling == XLMR_POOL_CLS ? b - b0 : s->seq_start[b - b0]) * H;
        if (pooling == XLMR_POOL_NONE) {
            float *ob = out + (size_t)b * T * H;
            memcpy(ob, hb, (size_t)lengths[b] * H * sizeof(float));
            memset(ob + (size_t)lengths[b] * H, 0, (size_t)(T - lengths[b]) * H * sizeof(float));
        } else {
            head_pool(hb, lengths[b], H, pooling, out + (size_t)b * H);
            if (normalize) head_l2_normalize(out + (size_t)b * H, H);
        }
    }
}

xlmr_status model_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int pooling,
                        int normalize, float *out) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    if (!ids || !lengths || !out) return xlmr_fail(&m->err, XLMR_ERR_ARG, "embed: ids, lengths and out must be given");
    if (B < 1 || T < 1) return xlmr_fail(&m->err, XLMR_ERR_ARG, "embed: batch %d x %d tokens; both must be >= 1", B, T);
    if (pooling != XLMR_POOL_NONE && pooling != XLMR_POOL_CLS && pooling != XLMR_POOL_MEAN)
        return xlmr_fail(&m->err, XLMR_ERR_ARG, "embed: pooling %d is not none (0), cls (1) or mean (2)", pooling);
    /* the padded length sizes the scratch (T x head size) and the output: no longer than a sequence may be */
    if (T > m->config.max_tokens)
        return xlmr_fail(&m->err, XLMR_ERR_TOO_LONG,
                         "embed: padded length %d exceeds the model's maximum of %d tokens (special tokens included)", T,
                         (int)m->config.max_tokens);
    xlmr_status st = model_check(m, 0);
    for (int b = 0; st == XLMR_OK && b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > T)
            return xlmr_fail(&m->err, XLMR_ERR_ARG, "embed: length %d of sequence %d is outside [1, %d]", (int)lengths[b],
                             b, T);
        if ((st = check_length(m, lengths[b], b)) == XLMR_OK) st = check_ids(m, ids + (size_t)b * T, lengths[b], b);
    }
    if (st != XLMR_OK) return st;
    /* CLS pooling: the last layer for each sequence's first row alone (~10/12 of that layer's work saved for every
     * other row, ~7% of a 12-layer pass); a group has at most ENC_GROUP_ROWS sequences */
    int32_t first_rows[ENC_GROUP_ROWS];
    for (int b0 = 0, b1; b0 < B; b0 = b1) {
        int64_t rows = lengths[b0];
        first_rows[0] = 0;
        for (b1 = b0 + 1; b1 < B && rows + lengths[b1] <= ENC_GROUP_ROWS; b1++) {
            first_rows[b1 - b0] = (int32_t)rows;
            rows += lengths[b1];
        }
        const int cls = pooling == XLMR_POOL_CLS;
        if ((st = encoder_forward(m, ids + (size_t)b0 * T, lengths + b0, b1 - b0, T, 0, cls ? first_rows : NULL,
                                  cls ? b1 - b0 : 0)) != XLMR_OK)
            return st;
        embed_outputs(m, lengths, b0, b1, T, pooling, normalize, out);
    }
    return XLMR_OK;
}

static xlmr_status check_one_sequence(xlmr_model *m, const int32_t *ids, int T, const char *what) {
    if (!ids) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: ids must be given", what);
    if (T < 1) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: %d tokens; need at least 1", what, T);
    if (T > m->config.max_tokens)
        return xlmr_fail(&m->err, XLMR_ERR_TOO_LONG,
                         "%s: the input has %d tokens; the model accepts at most %d (special tokens included)", what, T,
                         (int)m->config.max_tokens);
    xlmr_status st = model_check(m, 1);
    return st != XLMR_OK ? st : check_ids(m, ids, T, 0);
}

xlmr_status model_fill_mask(xlmr_model *m, const int32_t *ids, int T, int top_k, int32_t *out_ids, float *out_scores,
                            int *n_masks) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    if (n_masks) *n_masks = 0;
    xlmr_status st = check_one_sequence(m, ids, T, "fill-mask");
    if (st != XLMR_OK) return st;
    const int V = m->config.vocab_size, H = m->config.hidden_size;
    /* The tokenizer says which id is <mask>; a model built without one (synthetic tests) has XLM-R's layout. */
    const int mask = m->tok ? tok_mask_id(m->tok) : V - 1;
    if (top_k < 1 || top_k > V)
        return xlmr_fail(&m->err, XLMR_ERR_ARG, "fill-mask: top_k %d is outside [1, %d]", top_k, V);
    if (!out_ids || !out_scores) return xlmr_fail(&m->err, XLMR_ERR_ARG, "fill-mask: output arrays must be given");
    int M = 0;
    for (int t = 0; t < T; t++) M += ids[t] == mask;
    if (M == 0) return xlmr_fail(&m->err, XLMR_ERR_NO_MASK, "fill-mask: the input has no <mask> token (id %d)", mask);
    /* the mask positions, staged in out_ids (room for M * top_k >= M ids) until the encoder has read them: the last
     * layer computes those rows only, and hidden row i is then the i-th mask's */
    for (int t = 0, i = 0; t < T; t++)
        if (ids[t] == mask) out_ids[i++] = t;
    if ((st = encoder_forward(m, ids, &T, 1, T, 1, out_ids, M)) != XLMR_OK) return st;
    struct xlmr_scratch *s = m->scratch;
    for (int done = 0; done < M;) {
        const int mc = M - done < KERN_QTILE ? M - done : KERN_QTILE;
        memcpy(s->hin, s->hidden + (size_t)done * H, (size_t)mc * H * sizeof(float));
        head_mlm_logits(m, s->hin, mc, s->logits, V);
        for (int i = 0; i < mc; i++) {
            float *p = s->logits + (size_t)i * V;
            kern_softmax(p, V);
            head_top_k(p, V, top_k, out_ids + (size_t)(done + i) * top_k, out_scores + (size_t)(done + i) * top_k);
        }
        done += mc;
    }
    if (n_masks) *n_masks = M;
    return XLMR_OK;
}

xlmr_status model_logits(xlmr_model *m, const int32_t *ids, int T, const int32_t *positions, int n_pos, float *out) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    xlmr_status st = check_one_sequence(m, ids, T, "logits");
    if (st != XLMR_OK) return st;
    if (n_pos < 0 || (n_pos > 0 && (!positions || !out)))
        return xlmr_fail(&m->err, XLMR_ERR_ARG, "logits: %d positions; positions and out must be given", n_pos);
    for (int i = 0; i < n_pos; i++)
        if (positions[i] < 0 || positions[i] >= T)
            return xlmr_fail(&m->err, XLMR_ERR_ARG, "logits: position %d (entry %d) is outside [0, %d)",
                             (int)positions[i], i, T);
    if (n_pos == 0) return XLMR_OK;
    /* more positions than tokens (repeats): the full last layer, rows gathered below; else that layer for the
     * positions alone, hidden row i being position i's */
    const int some = n_pos <= T;
    if ((st = encoder_forward(m, ids, &T, 1, T, 1, some ? positions : NULL, some ? n_pos : 0)) != XLMR_OK) return st;
    struct xlmr_scratch *s = m->scratch;
    const int V = m->config.vocab_size, H = m->config.hidden_size;
    for (int c0 = 0; c0 < n_pos; c0 += KERN_QTILE) {
        const int mc = n_pos - c0 < KERN_QTILE ? n_pos - c0 : KERN_QTILE;
        for (int i = 0; i < mc; i++)
            memcpy(s->hin + (size_t)i * H, s->hidden + (size_t)(some ? c0 + i : positions[c0 + i]) * H,
                   (size_t)H * sizeof(float));
        head_mlm_logits(m, s->hin, mc, out + (size_t)c0 * V, V);
    }
    return XLMR_OK;
}
