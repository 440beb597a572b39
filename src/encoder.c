/* encoder.c — the forward pass (embeddings, post-LayerNorm blocks), the scratch arena and the entry points
 * model_embed / model_fill_mask / model_logits (see encoder.h). Attention is attention.c.
 *
 * Shapes: B sequences, T padded length, R = sum of lengths packed rows, H hidden, F intermediate, V vocab,
 * heads of dh = H / num_heads. Every linear layer is kern_linear over the R rows; activations feeding Q8_0
 * weights are quantized once per layer input (q, k and v share one quantization, kern_input). */
#include "encoder.h"

#include "attention.h"
#include "heads.h"
#include "threads.h"
#include "tokenizer.h"

void scratch_free(struct xlmr_scratch *s) {
    if (!s) return;
    XLMR_FREE(s->mem);
    XLMR_FREE(s);
}

/* ---- scratch ---- */

/* Appends n bytes at a 16-byte boundary: *at gets the offset, *end moves past. 0 on overflow. */
static int take(size_t *end, size_t n, size_t *at) {
    size_t a;
    if (!xlmr_add_size(*end, 15, &a)) return 0;
    a &= ~(size_t)15;
    *at = a;
    return xlmr_add_size(a, n, end);
}

/* Offsets (bytes) of the arena's pieces for one call's shapes, and its total size. */
typedef struct scratch_layout {
    size_t act_bytes; /* one (Rp, H) float activation; a multiple of 16 */
    size_t x, alt, qkv, att, qmem, seq, hin, hmid, logits, end;
    size_t att_slot_floats;
    int att_slots;
} scratch_layout;

static int scratch_plan(const xlmr_config *c, int64_t rows, int T, int B, int want_head, scratch_layout *o) {
    const size_t H = (size_t)c->hidden_size, F = (size_t)c->intermediate_size, V = (size_t)c->vocab_size;
    const size_t rp = ((size_t)rows + KERN_QTILE - 1) / KERN_QTILE * KERN_QTILE;
    o->att_slot_floats = att_slot_floats(T, (int)H / c->num_heads);
    o->att_slots = par_threads() < c->num_heads * B ? par_threads() : c->num_heads * B;
    size_t ffn_bytes, qact_bytes, att_bytes, qkv_bytes = 0;
    o->end = 0, o->hin = o->hmid = o->logits = 0;
    int ok = rows <= INT32_MAX && xlmr_mul_size(rp, H * sizeof(float), &o->act_bytes) &&
             xlmr_mul_size(rp, F * sizeof(float), &ffn_bytes) &&
             xlmr_mul_size(o->att_slot_floats * sizeof(float), (size_t)o->att_slots, &att_bytes) &&
             (qact_bytes = kern_qact_bytes((int)rp, (int)(H > F ? H : F))) != 0;
    /* q, k, v and ctx are dead once the attention output is computed, before ffn is written: ffn shares their
     * room (act_bytes is a multiple of 16 bytes, so the four are contiguous) */
    ok = ok && xlmr_mul_size(o->act_bytes, 4, &qkv_bytes);
    ok = ok && take(&o->end, o->act_bytes, &o->x) && take(&o->end, o->act_bytes, &o->alt) &&
         take(&o->end, qkv_bytes > ffn_bytes ? qkv_bytes : ffn_bytes, &o->qkv) && take(&o->end, att_bytes, &o->att) &&
         take(&o->end, qact_bytes, &o->qmem) && take(&o->end, 2 * ((size_t)B + 1) * sizeof(int32_t), &o->seq);
    if (want_head)
        ok = ok && take(&o->end, KERN_QTILE * H * sizeof(float), &o->hin) &&
             take(&o->end, KERN_QTILE * H * sizeof(float), &o->hmid) &&
             take(&o->end, KERN_QTILE * V * sizeof(float), &o->logits);
    return ok && o->end <= (size_t)PTRDIFF_MAX;
}

static xlmr_status scratch_reserve(xlmr_model *m, int64_t rows, int T, int B, int want_head) {
    scratch_layout o;
    if (!scratch_plan(&m->config, rows, T, B, want_head, &o))
        return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "activations for %lld tokens (batch %d x %d) do not fit in memory",
                         (long long)rows, B, T);
    struct xlmr_scratch *s = m->scratch;
    if (!s) {
        s = (struct xlmr_scratch *)XLMR_CALLOC(1, sizeof *s);
        if (!s) return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "cannot allocate the scratch header");
        m->scratch = s;
    }
    if (o.end > s->cap) {
        XLMR_FREE(s->mem);
        s->cap = 0;
        s->mem = XLMR_MALLOC(o.end);
        if (!s->mem)
            return xlmr_fail(&m->err, XLMR_ERR_NOMEM, "cannot allocate %zu bytes of activations for %lld tokens",
                             o.end, (long long)rows);
        s->cap = o.end;
    }
    uint8_t *base = (uint8_t *)s->mem;
    s->x = (float *)(void *)(base + o.x);
    s->alt = (float *)(void *)(base + o.alt);
    s->q = (float *)(void *)(base + o.qkv);
    s->k = (float *)(void *)(base + o.qkv + o.act_bytes);
    s->v = (float *)(void *)(base + o.qkv + 2 * o.act_bytes);
    s->ctx = (float *)(void *)(base + o.qkv + 3 * o.act_bytes);
    s->ffn = (float *)(void *)(base + o.qkv);
    s->att = (float *)(void *)(base + o.att);
    s->att_slot_floats = o.att_slot_floats;
    s->att_slots = o.att_slots;
    s->qmem = base + o.qmem;
    s->seq_start = (int32_t *)(void *)(base + o.seq);
    s->out_start = s->seq_start + B + 1;
    s->hin = want_head ? (float *)(void *)(base + o.hin) : NULL;
    s->hmid = want_head ? (float *)(void *)(base + o.hmid) : NULL;
    s->logits = want_head ? (float *)(void *)(base + o.logits) : NULL;
    s->hidden = NULL;
    return XLMR_OK;
}

/* ---- forward ---- */

/* x = LayerNorm(word[id] + type[0] + pos), the position row from the ids. RoBERTa: a non-pad token is the n-th
 * non-pad token of its sequence and reads row n - 1 of pos_embd (position id n + pad_id); a pad token adds the zero
 * vector (position id pad_id). BERT (bert_positions): token t reads row t. */
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
            if (c->bert_positions || id != c->pad_id) {
                kern_get_row(pos_row, &w->pos_embd, n++);
                kern_add(xr, pos_row, (size_t)H);
            }
        }
    }
    kern_layer_norm(s->x, s->seq_start[B], H, (const float *)w->embd_norm.data, (const float *)w->embd_norm_b.data,
                    c->layer_norm_eps);
}

/* quantized projections (Q8_0 or Q4_0): 8-bit activations and int16 attention */
static inline int is_q8(const xlmr_tensor *t) { return t->type == XLMR_TYPE_Q8_0 || t->type == XLMR_TYPE_Q4_0; }
static inline const float *floats(const xlmr_tensor *t) { return (const float *)t->data; }

static void swap_buffers(float **a, float **b) {
    float *tmp = *a;
    *a = *b, *b = tmp;
}

/* dst (n, H) = rows rows[0 .. n) of src */
static void gather_rows(float *dst, const float *src, const int32_t *rows, int n, int H) {
    for (int i = 0; i < n; i++) memcpy(dst + (size_t)i * H, src + (size_t)rows[i] * H, (size_t)H * sizeof(float));
}

/* One block over the R packed rows, x (R, H) in *px. With rows (the last layer: fill-mask, logits, CLS pooling) only
 * the Rq = n output rows rows[0 .. n) are computed: keys and values for all R rows, everything else -- queries,
 * attention, output projection, FFN -- for those n rows alone, about 10/12 of the layer's work saved for every other
 * row. Each row's arithmetic is the same either way (rows are quantized and multiplied independently), so those
 * rows are bit-identical to the full pass's (test: check_output_rows); *px then holds them as rows 0 .. n - 1, in
 * the order given (n <= R). Without rows, Rq = R. */
static void layer_forward(xlmr_model *m, const xlmr_layer *ly, int B, const int32_t *rows, int n, float **px,
                          float **palt) {
    const xlmr_config *c = &m->config;
    struct xlmr_scratch *s = m->scratch;
    const int H = c->hidden_size, F = c->intermediate_size, R = s->seq_start[B], Rq = rows ? n : R;
    const float eps = c->layer_norm_eps;
    float *x = *px, *alt = *palt;

    /* keys k and values v (R, H) of every row, from one quantization of x (the queries' too when Rq = R) */
    kern_input in = kern_input_of(x, R, H, s->qmem);
    kern_linear(s->k, H, &in, &ly->k, floats(&ly->k_b));
    kern_linear(s->v, H, &in, &ly->v, floats(&ly->v_b));

    /* the output rows: x (n, H) becomes their inputs, gathered into alt (the old x is free) */
    if (rows) {
        gather_rows(alt, x, rows, n, H);
        swap_buffers(&x, &alt);
        in = kern_input_of(x, n, H, s->qmem);
    }

    /* queries q (Rq, H); ctx (Rq, H) = softmax(q kᵀ / sqrt(dh)) v per sequence and head */
    kern_linear(s->q, H, &in, &ly->q, floats(&ly->q_b));
    attention_run(c, s, B, rows != NULL, is_q8(&ly->q));

    /* output projection + residual LayerNorm: x (Rq, H) = LayerNorm(ctx W_oᵀ + b_o + x) */
    in = kern_input_of(s->ctx, Rq, H, s->qmem);
    kern_linear(alt, H, &in, &ly->attn_out, floats(&ly->attn_out_b));
    kern_add_layer_norm(alt, x, Rq, H, floats(&ly->attn_norm), floats(&ly->attn_norm_b), eps);
    swap_buffers(&x, &alt);

    /* FFN up + GELU: ffn (Rq, F) = GELU(x W_upᵀ + b_up) */
    in = kern_input_of(x, Rq, H, s->qmem);
    kern_linear_gelu(s->ffn, F, &in, &ly->ffn_up, floats(&ly->ffn_up_b));

    /* FFN down + residual LayerNorm: the layer's output (Rq, H) = LayerNorm(ffn W_downᵀ + b_down + x), in alt */
    in = kern_input_of(s->ffn, Rq, F, s->qmem);
    kern_linear(alt, H, &in, &ly->ffn_down, floats(&ly->ffn_down_b));
    kern_add_layer_norm(alt, x, Rq, H, floats(&ly->out_norm), floats(&ly->out_norm_b), eps);
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
        gather_rows(alt, x, out_rows, n_out, H);
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

xlmr_status encoder_check_batch(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T,
                                const void *out, int head, const char *what) {
    if (!ids || !lengths || !out) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: ids, lengths and out must be given", what);
    if (B < 1 || T < 1) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: batch %d x %d tokens; both must be >= 1", what, B, T);
    /* the padded length sizes the scratch (T x head size) and the output: no longer than a sequence may be */
    if (T > m->config.max_tokens)
        return xlmr_fail(&m->err, XLMR_ERR_TOO_LONG,
                         "%s: padded length %d exceeds the model's maximum of %d tokens (special tokens included)", what, T,
                         (int)m->config.max_tokens);
    xlmr_status st = model_check(m, head);
    for (int b = 0; st == XLMR_OK && b < B; b++) {
        if (lengths[b] < 1 || lengths[b] > T)
            return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: length %d of sequence %d is outside [1, %d]", what,
                             (int)lengths[b], b, T);
        if ((st = check_length(m, lengths[b], b)) == XLMR_OK) st = check_ids(m, ids + (size_t)b * T, lengths[b], b);
    }
    return st;
}

xlmr_status encoder_run_groups(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int want_head,
                               int first_rows_only, encoder_group_done done, void *ctx) {
    int32_t first_rows[ENC_GROUP_ROWS]; /* a group has at most ENC_GROUP_ROWS sequences */
    for (int b0 = 0, b1; b0 < B; b0 = b1) {
        int64_t rows = lengths[b0];
        first_rows[0] = 0;
        for (b1 = b0 + 1; b1 < B && rows + lengths[b1] <= ENC_GROUP_ROWS; b1++) {
            first_rows[b1 - b0] = (int32_t)rows;
            rows += lengths[b1];
        }
        xlmr_status st = encoder_forward(m, ids + (size_t)b0 * T, lengths + b0, b1 - b0, T, want_head,
                                         first_rows_only ? first_rows : NULL, first_rows_only ? b1 - b0 : 0);
        if (st != XLMR_OK) return st;
        done(m, b0, b1, ctx);
    }
    return XLMR_OK;
}

typedef struct embed_job {
    const int32_t *lengths;
    int T, pooling, normalize;
    float *out;
} embed_job;

/* Outputs of sequences [b0, b1) of a batch from the encoder pass that just ran on them alone: (T, H) rows zero-padded
 * past each length, or one pooled (H) vector each (XLMR_POOL_CLS: the pass's hidden holds only the first rows). */
static void embed_outputs(xlmr_model *m, int b0, int b1, void *ctx) {
    const embed_job *j = (const embed_job *)ctx;
    const struct xlmr_scratch *s = m->scratch;
    const int H = m->config.hidden_size, T = j->T;
    for (int b = b0; b < b1; b++) {
        const float *hb = s->hidden + (size_t)(j->pooling == XLMR_POOL_CLS ? b - b0 : s->seq_start[b - b0]) * H;
        const int len = j->lengths[b];
        if (j->pooling == XLMR_POOL_NONE) {
            float *ob = j->out + (size_t)b * T * H;
            memcpy(ob, hb, (size_t)len * H * sizeof(float));
            memset(ob + (size_t)len * H, 0, (size_t)(T - len) * H * sizeof(float));
        } else {
            head_pool(hb, len, H, j->pooling, j->out + (size_t)b * H);
            if (j->normalize) head_l2_normalize(j->out + (size_t)b * H, H);
        }
    }
}

xlmr_status model_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int pooling,
                        int normalize, float *out) {
    if (!m) return XLMR_ERR_ARG;
    xlmr_error_clear(&m->err);
    if (pooling != XLMR_POOL_NONE && pooling != XLMR_POOL_CLS && pooling != XLMR_POOL_MEAN && pooling != XLMR_POOL_LAST)
        return xlmr_fail(&m->err, XLMR_ERR_ARG, "embed: pooling %d is not none (0), cls (1), mean (2) or last (3)", pooling);
    xlmr_status st = encoder_check_batch(m, ids, lengths, B, T, out, XLMR_HEAD_NONE, "embed");
    if (st != XLMR_OK) return st;
    /* CLS pooling: the last layer for each sequence's first row alone (~10/12 of that layer's work saved for every
     * other row) */
    embed_job j = {lengths, T, pooling, normalize, out};
    return encoder_run_groups(m, ids, lengths, B, T, 0, pooling == XLMR_POOL_CLS, embed_outputs, &j);
}

static xlmr_status check_one_sequence(xlmr_model *m, const int32_t *ids, int T, const char *what) {
    if (!ids) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: ids must be given", what);
    if (T < 1) return xlmr_fail(&m->err, XLMR_ERR_ARG, "%s: %d tokens; need at least 1", what, T);
    if (T > m->config.max_tokens)
        return xlmr_fail(&m->err, XLMR_ERR_TOO_LONG,
                         "%s: the input has %d tokens; the model accepts at most %d (special tokens included)", what, T,
                         (int)m->config.max_tokens);
    xlmr_status st = model_check(m, XLMR_HEAD_MLM);
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
