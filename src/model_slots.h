/* model_slots.h — every tensor a model holds, in one canonical order, with its GGUF name, expected shape
 * and place in xlmr_weights; and the weights block laid out from them.
 *
 * The canonical order is the order of the tensors in the weights block and in the GGUF files we write:
 *   token_embd, position_embd, token_types, token_embd_norm.{weight,bias},
 *   per layer blk.N.{attn_q,attn_k,attn_v,attn_output,attn_output_norm,ffn_up,ffn_down,layer_output_norm}.{weight,bias},
 *   mlm.dense.{weight,bias}, mlm.norm.{weight,bias}, mlm.output.bias (fill-mask head, optional).
 * The block is a GGUF data section: each tensor at a multiple of MODEL_ALIGN, zero padding, the size a
 * multiple of MODEL_ALIGN. */
#ifndef XLMR_MODEL_SLOTS_H
#define XLMR_MODEL_SLOTS_H

#include "model.h"

#define MODEL_ALIGN 32
/* Largest weights block we agree to allocate (hostile sizes). */
#define MODEL_MAX_BLOCK ((uint64_t)8 << 30)

enum { MODEL_SLOTS_GLOBAL = 5, MODEL_SLOTS_PER_LAYER = 16, MODEL_SLOTS_MLM = 5 };

typedef enum model_slot_kind {
    SLOT_MATRIX, /* Q8_0, F16 or F32 */
    SLOT_TABLE,  /* position and token-type embeddings: F32 (as llama.cpp's converter keeps them) */
    SLOT_VECTOR, /* biases and LayerNorm parameters: F32 */
} model_slot_kind;

typedef struct model_slot {
    char name[48];  /* GGUF name, e.g. "blk.3.ffn_up.weight" */
    int64_t ne[2];  /* expected shape from the config: ne[0] columns, ne[1] rows (1 for vectors) */
    int kind;       /* model_slot_kind */
    int mlm;        /* part of the fill-mask head */
    xlmr_tensor *t; /* where it lives (NULL when the model has no layers array yet) */
} model_slot;

/* Slot count for L layers: 5 + 16 L + 5. */
int model_slot_count(const xlmr_config *c);
/* Fills s for slot i (0 <= i < count) of model m (m->config set). */
void model_slot_get(xlmr_model *m, int i, model_slot *s);
/* Slot index of a GGUF tensor name, or -1 (unknown name or layer >= num_layers). */
int model_slot_find(const xlmr_config *c, const char *name, size_t len);

xlmr_model *model_new(void);
/* Allocates m->w.layers for m->config.num_layers. */
xlmr_status model_alloc_layers(xlmr_model *m, xlmr_error *err);
/* Lays out and allocates the weights block for slot types types[count] (only the alignment gaps zeroed); MLM
 * slots are included iff m->config.has_mlm_head. Sets every tensor's type, layout, ne, nbytes and data. The
 * block is a GGUF data section in size and offsets; tensors with XLMR_LAYOUT_Q8_0X4 hold their bytes permuted. */
xlmr_status model_alloc_block(xlmr_model *m, const int32_t *types, xlmr_error *err);

#endif
