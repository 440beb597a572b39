/* attention.c — ctx = softmax(q kᵀ / sqrt(dh)) v per sequence and head (attention.h), as two matmuls over blocks of
 * ATT_QBLOCK queries. Keys past a sequence's length are not visited: the reference's -10000 mask gives them exactly
 * zero weight in float. The (sequence, head) pairs are dealt round-robin to s->att_slots par_run tasks, each with its
 * own slot of scratch.
 *
 * Layers with Q8_0 projections multiply in int16 (attention_head_i16, kern_matmul_i16x4: i32x4.dot_i16x8 does 8
 * multiply-adds where f32x4 does 4, with no conversion): queries and keys quantized per row to ±qk_range, values per
 * dimension to ±v_range, probabilities in steps of 1/32767 -- ranges that keep every int32 sum in range, and errors
 * far under the Q8_0 activations' own (1/254 of a 32-block's largest value; what they cost in accuracy and gain in
 * time: BENCHMARKS.md, "Kernel design notes"). Float weights keep the reference's float products
 * (attention_head_f32): a user who chose F32 gets the reference's numbers within 1e-4.
 *
 * Shapes: H hidden, dh = H / heads, len a sequence's tokens (its keys), nq its query rows (len, or its output rows). */
#include "attention.h"

#include <math.h>

#include "encoder.h"
#include "kernels.h"
#include "threads.h"

/* One slot of the int16 variant, for kern_matmul_i16x4 (kernels.h):
 *   qh (T4, Kq) the head's queries, rows scaled by dq (T4); kh its keys in groups of 4 rows (T4, Kq), dk (T4);
 *   vt its dims as rows in groups of 4 (dh4, Tp) over the tokens, dv (dh4);
 *   scores (qb, T) floats of a block of queries, pq (qb, Tp) their probabilities in int16.
 * T4 = T rounded up to 4, Tp to 8, dh4 = dh to 4, Kq = dh to 2; padding is zeros. Each piece starts 16-byte aligned.
 * Every size grows with T and qb, so a slot carved for a sequence's length fits in one carved for the batch's T. */
typedef struct att_bufs {
    int16_t *qh, *kh, *vt, *pq;
    float *dq, *dk, *dv, *scores;
} att_bufs;

/* floats of n_floats rounded up to 16 bytes */
static size_t piece_floats(size_t n_floats) { return (n_floats + 3) & ~(size_t)3; }

/* The int16 slot's floats for T tokens, dh dims and blocks of qb queries; with b, its pieces carved from base. */
static size_t att_carve(int T, int dh, int qb, float *base, att_bufs *b) {
    const size_t T4 = ((size_t)T + 3) & ~(size_t)3, Tp = ((size_t)T + 7) & ~(size_t)7;
    const size_t dh4 = ((size_t)dh + 3) & ~(size_t)3, Kq = ((size_t)dh + 1) & ~(size_t)1;
    const size_t sizes[8] = {piece_floats(T4 * Kq / 2), piece_floats(T4 * Kq / 2), piece_floats(dh4 * Tp / 2),
                             piece_floats((size_t)qb * Tp / 2), piece_floats(T4), piece_floats(T4), piece_floats(dh4),
                             piece_floats((size_t)qb * (size_t)T)};
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

/* The float variant's slot: qh, kh (len, dh), vt (dh, len), each rounded to 16 bytes, then scores (qb, len). */
static size_t f32_slot_floats(int T, int dh, int qb) {
    return 3 * piece_floats((size_t)T * (size_t)dh) + piece_floats((size_t)qb * T);
}

size_t att_slot_floats(int T, int dh) {
    const int qb = T < ATT_QBLOCK ? T : ATT_QBLOCK;
    const size_t slot_i16 = att_carve(T, dh, qb, NULL, NULL), slot_f32 = f32_slot_floats(T, dh, qb);
    return slot_i16 > slot_f32 ? slot_i16 : slot_f32;
}

typedef struct att_job {
    const xlmr_config *c;
    struct xlmr_scratch *s;
    int B;
    int out_rows; /* sequence b's queries only in q rows out_start[b] .. out_start[b + 1] - 1, ctx to the same rows */
    int int16;    /* the int16 products (Q8_0 projections) or the float ones */
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

/* ---- float products ---- */

/* The reference's float products (kern_matmul_f32). The head's q and k rows are gathered contiguous (len, dh) and v
 * transposed (dh, len) so both products are kern_matmul_f32; slot: qh, kh, vt, then the scores. */
static void attention_head_f32(const struct xlmr_scratch *s, const att_head *hd, float *buf) {
    const int H = hd->H, dh = hd->dh, r0 = hd->r0, len = hd->len, q0 = hd->q0, nq = hd->nq;
    const size_t head = piece_floats((size_t)len * dh), off = hd->off;
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

/* ---- int16 products ---- */

/* Zeros where the quantizers below write nothing: the keys past len in their group, the tokens past len (rounded up
 * to a pair) in every dims group of the values. (An odd dh's last column is the quantizers' own.) */
static void i16_zero_padding(const att_head *hd, const att_bufs *a) {
    const int dh = hd->dh, len = hd->len;
    const int Kq = (dh + 1) & ~1, len4 = (len + 3) & ~3, lenp = (len + 7) & ~7, dh4 = (dh + 3) & ~3;
    if (len4 != len) memset(a->kh + (size_t)(len / 4) * 4 * Kq, 0, (size_t)4 * Kq * sizeof(int16_t));
    const int len2 = (len + 1) & ~1;
    for (int g = 0; g < dh4 / 4 && len2 < lenp; g++)
        memset(a->vt + (size_t)g * 4 * lenp + 4 * (size_t)len2, 0, (size_t)(lenp - len2) * 4 * sizeof(int16_t));
}

/* qh (nq, Kq), dq (nq): each query row to ±qk_range; an exact 1 / sqrt(dh) (a power of two) goes into the scale,
 * the same scores as multiplying them after. */
static void i16_queries(const struct xlmr_scratch *s, const att_head *hd, const att_bufs *a, float qk_range) {
    const int Kq = (hd->dh + 1) & ~1;
    for (int j = 0; j < hd->nq; j++) {
        const float *x = s->q + (size_t)(hd->q0 + j) * hd->H + hd->off;
        a->dq[j] = kern_quantize_row_i16(x, hd->dh, qk_range, a->qh + (size_t)j * Kq, 2) *
                   (hd->scale_exact ? hd->inv_sq : 1.0f);
    }
}

/* kh, dk (len4): each key row to ±qk_range; key j in group j / 4, lane j % 4, its column pair p at [8p + 2 (j % 4)]. */
static void i16_keys(const struct xlmr_scratch *s, const att_head *hd, const att_bufs *a, float qk_range) {
    const int dh = hd->dh, len = hd->len, Kq = (dh + 1) & ~1, len4 = (len + 3) & ~3;
    for (int j = 0; j < len; j++) {
        const float *x = s->k + (size_t)(hd->r0 + j) * hd->H + hd->off;
        a->dk[j] = kern_quantize_row_i16(x, dh, qk_range, a->kh + (size_t)(j / 4) * 4 * Kq + 2 * (j % 4), 8);
    }
    for (int j = len; j < len4; j++) a->dk[j] = 0.0f;
}

/* vt, dv (dh4): one scale per dimension over the tokens; dim d, token t at [(d / 4) 4 lenp + 8 (t / 2) + 2 (d % 4) +
 * t % 2] (kern_quantize_cols_i16): a token pair's values of dim d are one 32-bit word, 4 dims' words 16 bytes. */
static void i16_values(const struct xlmr_scratch *s, const att_head *hd, const att_bufs *a, float v_range) {
    const int lenp = (hd->len + 7) & ~7;
    kern_quantize_cols_i16(s->v + (size_t)hd->r0 * hd->H + hd->off, hd->H, hd->len, hd->dh, v_range, a->dv, a->vt, lenp);
}

static void attention_head_i16(const struct xlmr_scratch *s, const att_head *hd, float *buf) {
    const int H = hd->H, dh = hd->dh, len = hd->len, q0 = hd->q0, nq = hd->nq;
    const int Kq = (dh + 1) & ~1, lenp = (len + 7) & ~7;
    /* q kᵀ: |sum| <= Kq · range² < 2^31. p v: |sum| <= v_range · sum(pq), and sum(pq) <= KERN_PROB_ONE · sum(p) + lenp / 2
     * (each probability rounded by at most 1/2, sum(p) <= 1 up to float error) */
    const float qk_range = fminf((float)INT16_MAX, floorf(sqrtf(2147483647.0f / (float)Kq)));
    const float v_range = fminf((float)INT16_MAX, floorf(2147483647.0f / (KERN_PROB_ONE * 1.001f + 0.5f * (float)lenp + 1.0f)));
    att_bufs a;
    att_carve(len, dh, nq < ATT_QBLOCK ? nq : ATT_QBLOCK, buf, &a);
    i16_zero_padding(hd, &a);
    i16_queries(s, hd, &a, qk_range);
    i16_keys(s, hd, &a, qk_range);
    i16_values(s, hd, &a, v_range);
    float dp[ATT_QBLOCK]; /* the probabilities' scale */
    for (int i = 0; i < ATT_QBLOCK; i++) dp[i] = 1.0f / KERN_PROB_ONE;
    for (int i0 = 0; i0 < nq; i0 += ATT_QBLOCK) {
        const int ni = nq - i0 < ATT_QBLOCK ? nq - i0 : ATT_QBLOCK;
        kern_matmul_i16x4(a.scores, len, a.qh + (size_t)i0 * Kq, a.dq + i0, a.kh, a.dk, ni, len, Kq);
        for (int i = 0; i < ni; i++) {
            float *sc = a.scores + (size_t)i * len;
            if (!hd->scale_exact)
                for (int j = 0; j < len; j++) sc[j] /= hd->sq;
            kern_softmax_prob_i16(sc, len, lenp, a.pq + (size_t)i * lenp);
        }
        kern_matmul_i16x4(s->ctx + (size_t)(q0 + i0) * H + hd->off, H, a.pq, dp, a.vt, a.dv, ni, dh, lenp);
    }
}

/* ---- dispatch ---- */

static void attention_slot(void *p, int slot) {
    const att_job *j = (const att_job *)p;
    const int n_heads = j->c->num_heads;
    float *buf = j->s->att + (size_t)slot * j->s->att_slot_floats;
    for (int pair = slot; pair < j->B * n_heads; pair += j->s->att_slots) {
        const att_head hd = att_head_at(j, pair / n_heads, pair % n_heads);
        if (hd.nq == 0) continue; /* a sequence with no output row in the last layer (rows mode) */
        (j->int16 ? attention_head_i16 : attention_head_f32)(j->s, &hd, buf);
    }
}

void attention_run(const xlmr_config *c, struct xlmr_scratch *s, int B, int out_rows, int int16) {
    att_job j = {c, s, B, out_rows, int16};
    par_run(s->att_slots, attention_slot, &j);
}
