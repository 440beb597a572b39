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
