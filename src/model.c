#include "model_slots.h"

#include <stdio.h>

#include "encoder.h"
#include "kernels.h"
#include "quant.h"
#include "tokenizer.h"

static const char *const slot_global[MODEL_SLOTS_GLOBAL] = {
    "token_embd.weight", "position_embd.weight", "token_types.weight", "token_embd_norm.weight",
    "token_embd_norm.bias",
};
static const char *const slot_layer[MODEL_SLOTS_PER_LAYER] = {
    "attn_q.weight",           "attn_q.bias",           "attn_k.weight",      "attn_k.bias",
    "attn_v.weight",           "attn_v.bias",           "attn_output.weight", "attn_output.bias",
    "attn_output_norm.weight", "attn_output_norm.bias", "ffn_up.weight",      "ffn_up.bias",
    "ffn_down.weight",         "ffn_down.bias",         "layer_output_norm.weight", "layer_output_norm.bias",
};
static const char *const slot_mlm[MODEL_SLOTS_MLM] = {
    "mlm.dense.weight", "mlm.dense.bias", "mlm.norm.weight", "mlm.norm.bias", "mlm.output.bias",
};

int model_slot_count(const xlmr_config *c) {
    return MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c->num_layers + MODEL_SLOTS_MLM;
}

static void slot_set(model_slot *s, int kind, int64_t ne0, int64_t ne1, xlmr_tensor *t) {
    s->kind = kind;
    s->ne[0] = ne0;
    s->ne[1] = ne1;
    s->t = t;
}

void model_slot_get(xlmr_model *m, int i, model_slot *s) {
    const xlmr_config *c = &m->config;
    const int64_t H = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    xlmr_weights *w = &m->w;
    memset(s, 0, sizeof *s);
    if (i < MODEL_SLOTS_GLOBAL) {
        snprintf(s->name, sizeof s->name, "%s", slot_global[i]);
        switch (i) {
        case 0: slot_set(s, SLOT_MATRIX, H, V, &w->tok_embd); break;
        case 1: slot_set(s, SLOT_TABLE, H, (int64_t)c->max_positions - c->pad_id - 1, &w->pos_embd); break;
        case 2: slot_set(s, SLOT_TABLE, H, c->type_vocab_size, &w->type_embd); break;
        case 3: slot_set(s, SLOT_VECTOR, H, 1, &w->embd_norm); break;
        default: slot_set(s, SLOT_VECTOR, H, 1, &w->embd_norm_b); break;
        }
        return;
    }
    i -= MODEL_SLOTS_GLOBAL;
    if (i < MODEL_SLOTS_PER_LAYER * c->num_layers) {
        int l = i / MODEL_SLOTS_PER_LAYER, j = i % MODEL_SLOTS_PER_LAYER;
        snprintf(s->name, sizeof s->name, "blk.%d.%s", l, slot_layer[j]);
        xlmr_layer *ly = w->layers ? &w->layers[l] : NULL;
        xlmr_tensor *ts[MODEL_SLOTS_PER_LAYER] = {0};
        if (ly) {
            xlmr_tensor *t[] = {&ly->q,        &ly->q_b,        &ly->k,         &ly->k_b,         &ly->v,      &ly->v_b,
                                &ly->attn_out, &ly->attn_out_b, &ly->attn_norm, &ly->attn_norm_b, &ly->ffn_up, &ly->ffn_up_b,
                                &ly->ffn_down, &ly->ffn_down_b, &ly->out_norm,  &ly->out_norm_b};
            memcpy(ts, t, sizeof t);
        }
        switch (j) {
        case 10: slot_set(s, SLOT_MATRIX, H, F, ts[j]); break;
        case 11: slot_set(s, SLOT_VECTOR, F, 1, ts[j]); break;
        case 12: slot_set(s, SLOT_MATRIX, F, H, ts[j]); break;
        default:
            if (j % 2 == 0 && j != 8 && j != 14) slot_set(s, SLOT_MATRIX, H, H, ts[j]);
            else slot_set(s, SLOT_VECTOR, H, 1, ts[j]);
        }
        return;
    }
    i -= MODEL_SLOTS_PER_LAYER * c->num_layers;
    snprintf(s->name, sizeof s->name, "%s", slot_mlm[i]);
    s->mlm = 1;
    switch (i) {
    case 0: slot_set(s, SLOT_MATRIX, H, H, &w->mlm_dense); break;
    case 1: slot_set(s, SLOT_VECTOR, H, 1, &w->mlm_dense_b); break;
    case 2: slot_set(s, SLOT_VECTOR, H, 1, &w->mlm_norm); break;
    case 3: slot_set(s, SLOT_VECTOR, H, 1, &w->mlm_norm_b); break;
    default: slot_set(s, SLOT_VECTOR, V, 1, &w->mlm_bias); break;
    }
}

static int name_is(const char *name, size_t len, const char *lit) {
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

int model_slot_find(const xlmr_config *c, const char *name, size_t len) {
    for (int i = 0; i < MODEL_SLOTS_GLOBAL; i++)
        if (name_is(name, len, slot_global[i])) return i;
    for (int i = 0; i < MODEL_SLOTS_MLM; i++)
        if (name_is(name, len, slot_mlm[i])) return MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c->num_layers + i;
    if (len < 6 || memcmp(name, "blk.", 4) != 0) return -1;
    size_t p = 4;
    int64_t l = 0;
    if (name[p] < '0' || name[p] > '9' || (name[p] == '0' && p + 1 < len && name[p + 1] != '.')) return -1;
    while (p < len && name[p] >= '0' && name[p] <= '9' && l < 100000) l = l * 10 + (name[p++] - '0');
    if (p >= len || name[p] != '.' || l >= c->num_layers) return -1;
    p++;
    for (int j = 0; j < MODEL_SLOTS_PER_LAYER; j++)
        if (name_is(name + p, len - p, slot_layer[j])) return MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * (int)l + j;
    return -1;
}

/* ---- the model's shapes, checked before any computation (a loader bug or a hostile file must give an
 * error, not an out-of-bounds read) ---- */

enum { KIND_VECTOR, KIND_MATRIX, KIND_TABLE };

static xlmr_status check_tensor(xlmr_error *err, const xlmr_tensor *t, const char *name, int layer, int64_t cols,
                                int64_t rows, int kind) {
    char full[48];
    if (layer >= 0) snprintf(full, sizeof full, "blk.%d.%s", layer, name);
    else snprintf(full, sizeof full, "%s", name);
    const int is_float = t->type == XLMR_TYPE_F32;
    const int is_any = is_float || t->type == XLMR_TYPE_F16 || t->type == XLMR_TYPE_BF16 || t->type == XLMR_TYPE_Q8_0;
    if (!t->data) return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s is missing from the model", full);
    if (kind == KIND_VECTOR ? !is_float : !is_any)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s has type %s (%d); expected %s", full,
                         quant_type_name(t->type), (int)t->type, kind == KIND_VECTOR ? "F32" : "F32, F16, BF16 or Q8_0");
    const int rows_ok = kind == KIND_TABLE ? t->ne[1] >= rows : t->ne[1] == rows;
    if (t->ne[0] != cols || !rows_ok)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s has shape [%lld, %lld]; expected [%lld, %s%lld] from the config",
                         full, (long long)t->ne[1], (long long)t->ne[0], (long long)rows,
                         kind == KIND_TABLE ? ">= " : "", (long long)cols);
    if (t->type == XLMR_TYPE_Q8_0 && cols % QK8_0 != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s is Q8_0 with rows of %lld, not a multiple of %d", full,
                         (long long)cols, QK8_0);
    if (t->nbytes < quant_type_size(t->type, t->ne[0] * t->ne[1]))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s holds %zu bytes; its shape needs %zu", full, t->nbytes,
                         quant_type_size(t->type, t->ne[0] * t->ne[1]));
    return XLMR_OK;
}

xlmr_status model_check(xlmr_model *m, int want_head) {
    const xlmr_config *c = &m->config;
    const xlmr_weights *w = &m->w;
    xlmr_error *err = &m->err;
    const int64_t H = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    if (H < 1 || c->num_heads < 1 || H % c->num_heads != 0 || F < 1 || V < 2 || c->num_layers < 0 ||
        c->max_tokens < 1 || c->pad_id < 0 || c->pad_id >= V || c->type_vocab_size < 1 ||
        !(c->layer_norm_eps >= 0.0f) || H > (1 << 20) || F > (1 << 22) || V > (1 << 26))
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "model config is inconsistent: hidden %lld, heads %d, intermediate %lld, vocab %lld, layers %d, "
                         "max_tokens %d, pad_id %d, type_vocab %d, layer_norm_eps %g",
                         (long long)H, c->num_heads, (long long)F, (long long)V, c->num_layers, c->max_tokens, c->pad_id,
                         c->type_vocab_size, (double)c->layer_norm_eps);
    if (H / c->num_heads > ATT_MAX_DH)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "model config has attention heads of %lld values; at most %d are supported",
                         (long long)(H / c->num_heads), ATT_MAX_DH);
    if (c->num_layers > 0 && !w->layers) return xlmr_fail(err, XLMR_ERR_FORMAT, "model has no layer tensors");
    xlmr_status st;
#define CHECK_T(t, name, layer, cols, rows, kind) \
    if ((st = check_tensor(err, &(t), name, layer, cols, rows, kind)) != XLMR_OK) return st
    CHECK_T(w->tok_embd, "token_embd.weight", -1, H, V, KIND_MATRIX);
    CHECK_T(w->pos_embd, "position_embd.weight", -1, H, c->max_tokens, KIND_TABLE);
    CHECK_T(w->type_embd, "token_types.weight", -1, H, 1, KIND_TABLE);
    CHECK_T(w->embd_norm, "token_embd_norm.weight", -1, H, 1, KIND_VECTOR);
    CHECK_T(w->embd_norm_b, "token_embd_norm.bias", -1, H, 1, KIND_VECTOR);
    for (int l = 0; l < c->num_layers; l++) {
        const xlmr_layer *L = &w->layers[l];
        CHECK_T(L->q, "attn_q.weight", l, H, H, KIND_MATRIX);
        CHECK_T(L->q_b, "attn_q.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->k, "attn_k.weight", l, H, H, KIND_MATRIX);
        CHECK_T(L->k_b, "attn_k.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->v, "attn_v.weight", l, H, H, KIND_MATRIX);
        CHECK_T(L->v_b, "attn_v.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->attn_out, "attn_output.weight", l, H, H, KIND_MATRIX);
        CHECK_T(L->attn_out_b, "attn_output.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->attn_norm, "attn_output_norm.weight", l, H, 1, KIND_VECTOR);
        CHECK_T(L->attn_norm_b, "attn_output_norm.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->ffn_up, "ffn_up.weight", l, H, F, KIND_MATRIX);
        CHECK_T(L->ffn_up_b, "ffn_up.bias", l, F, 1, KIND_VECTOR);
        CHECK_T(L->ffn_down, "ffn_down.weight", l, F, H, KIND_MATRIX);
        CHECK_T(L->ffn_down_b, "ffn_down.bias", l, H, 1, KIND_VECTOR);
        CHECK_T(L->out_norm, "layer_output_norm.weight", l, H, 1, KIND_VECTOR);
        CHECK_T(L->out_norm_b, "layer_output_norm.bias", l, H, 1, KIND_VECTOR);
    }
    if (want_head) {
        if (!c->has_mlm_head)
            return xlmr_fail(err, XLMR_ERR_ARG,
                             "this model has no fill-mask head (embedding-only weights): use embed instead");
        CHECK_T(w->mlm_dense, "mlm.dense.weight", -1, H, H, KIND_MATRIX);
        CHECK_T(w->mlm_dense_b, "mlm.dense.bias", -1, H, 1, KIND_VECTOR);
        CHECK_T(w->mlm_norm, "mlm.norm.weight", -1, H, 1, KIND_VECTOR);
        CHECK_T(w->mlm_norm_b, "mlm.norm.bias", -1, H, 1, KIND_VECTOR);
        CHECK_T(w->mlm_bias, "mlm.output.bias", -1, V, 1, KIND_VECTOR);
    }
#undef CHECK_T
    return XLMR_OK;
}

xlmr_model *model_new(void) { return XLMR_CALLOC(1, sizeof(xlmr_model)); }

xlmr_status model_alloc_layers(xlmr_model *m, xlmr_error *err) {
    XLMR_FREE(m->w.layers);
    m->w.layers = XLMR_CALLOC((size_t)m->config.num_layers, sizeof(xlmr_layer));
    if (!m->w.layers) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %d layers", (int)m->config.num_layers);
    return XLMR_OK;
}

xlmr_status model_alloc_block(xlmr_model *m, const int32_t *types, xlmr_error *err) {
    const int n = model_slot_count(&m->config);
    uint64_t off = 0;
    model_slot s;
    for (int pass = 0; pass < 2; pass++) {
        off = 0;
        uint64_t prev_end = 0; /* end of the previous tensor: the alignment gap after it is zeroed in pass 1 */
        for (int i = 0; i < n; i++) {
            model_slot_get(m, i, &s);
            if (s.mlm && !m->config.has_mlm_head) continue;
            const int64_t ne = s.ne[0] * s.ne[1];
            const size_t nb = quant_type_size(types[i], ne);
            if (types[i] == XLMR_TYPE_Q8_0 && s.ne[0] % QK8_0 != 0)
                return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s: type Q8_0 needs rows of a multiple of 32, not %lld",
                                 s.name, (long long)s.ne[0]);
            if (nb == 0)
                return xlmr_fail(err, XLMR_ERR_NOMEM, "tensor %s (%lld x %lld, %s) does not fit this address space", s.name,
                                 (long long)s.ne[0], (long long)s.ne[1], quant_type_name(types[i]));
            off = (off + MODEL_ALIGN - 1) / MODEL_ALIGN * MODEL_ALIGN;
            if (pass == 1) {
                memset((uint8_t *)m->weights_block + prev_end, 0, (size_t)(off - prev_end));
                s.t->type = types[i];
                /* the matrices the encoder multiplies by get the GEMM's layout; the word embeddings are gathered
                 * by row and are the decoder of a single mask position: they stay row-major */
                s.t->layout = types[i] == XLMR_TYPE_Q8_0 && s.kind == SLOT_MATRIX && s.t != &m->w.tok_embd
                                  ? kern_q8_0_layout(s.ne[1])
                                  : XLMR_LAYOUT_ROWS;
                s.t->ne[0] = s.ne[0];
                s.t->ne[1] = s.ne[1];
                s.t->nbytes = nb;
                s.t->data = (uint8_t *)m->weights_block + off;
            }
            off += nb;
            prev_end = off;
            if (off > MODEL_MAX_BLOCK)
                return xlmr_fail(err, XLMR_ERR_FORMAT, "weights larger than %llu bytes at tensor %s",
                                 (unsigned long long)MODEL_MAX_BLOCK, s.name);
        }
        off = (off + MODEL_ALIGN - 1) / MODEL_ALIGN * MODEL_ALIGN;
        if (pass == 1) memset((uint8_t *)m->weights_block + prev_end, 0, (size_t)(off - prev_end));
        if (pass == 0) {
            if (off > SIZE_MAX || off == 0)
                return xlmr_fail(err, XLMR_ERR_NOMEM, "weights of %llu bytes do not fit this address space",
                                 (unsigned long long)off);
            XLMR_FREE(m->weights_block);
            /* Not calloc: every tensor byte is written by the loader (finish fails otherwise), only the alignment
             * gaps need zeros (GGUF output must be deterministic); clearing 300 MB twice was 70% of a GGUF load. */
            m->weights_block = XLMR_MALLOC((size_t)off);
            if (!m->weights_block)
                return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %llu bytes of weights", (unsigned long long)off);
            m->weights_size = (size_t)off;
        }
    }
    return XLMR_OK;
}

void model_free(xlmr_model *m) {
    if (!m) return;
    api_state_free(m->api);
    scratch_free(m->scratch);
    XLMR_FREE(m->weights_block);
    XLMR_FREE(m->w.layers);
    tok_free(m->tok);
    XLMR_FREE(m);
}
