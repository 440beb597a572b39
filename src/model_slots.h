/* model_slots.h — the tensor table (tensor_table.h) as the loaders, the writer and the checks use it: every
 * tensor of a model as a numbered slot in one canonical order, with its names and expected shape; the weights
 * block laid out from them.
 *
 * Slots: the embeddings, then each layer's tensors, then every head's (a model fills one head's slots at most):
 * E + L * per-layer + all heads' rows. The order is that of the weights block and of the GGUF files we write. The
 * block is a GGUF data section: each tensor at a multiple of MODEL_ALIGN, zero padding, the size a multiple of
 * MODEL_ALIGN. */
#ifndef XLMR_MODEL_SLOTS_H
#define XLMR_MODEL_SLOTS_H

#include "model.h"

#define MODEL_ALIGN 32
/* Largest weights block we agree to allocate (hostile sizes). */
#define MODEL_MAX_BLOCK ((uint64_t)8 << 30)

/* A tensor's dimensions in terms of the config. */
typedef enum tensor_dim {
    TENSOR_DIM_1,         /* a vector's row count */
    TENSOR_DIM_H,         /* hidden_size */
    TENSOR_DIM_F,         /* intermediate_size */
    TENSOR_DIM_V,         /* vocab_size */
    TENSOR_DIM_POSITIONS, /* max_tokens: the position table without its first pad_id + 1 rows */
    TENSOR_DIM_TYPES,     /* type_vocab_size */
    TENSOR_DIM_LABELS,    /* num_labels of a classification head */
    TENSOR_DIM_SPAN_ENDS, /* 2: an answer span's start and end */
} tensor_dim;

typedef enum tensor_kind {
    TENSOR_MATRIX, /* Q8_0, F16, BF16 or F32 */
    TENSOR_TABLE,  /* position and token-type embeddings: F32 (as llama.cpp's converter keeps them) */
    TENSOR_VECTOR, /* biases and LayerNorm parameters: F32 */
} tensor_kind;

enum { TENSOR_ROW_LOOKUP = 1, TENSOR_POSITIONS = 2 }; /* tensor_table.h's flags */

/* The embeddings' slots by name (the GGUF reader takes the vocabulary and table sizes from their shapes). */
#define XLMR_TENSOR_SLOT_ENUM(field, gguf, hf, cols, rows, kind, flags) TENSOR_SLOT_##field,
enum { XLMR_TENSORS_EMBEDDINGS(XLMR_TENSOR_SLOT_ENUM) TENSOR_SLOTS_EMBEDDINGS };
#undef XLMR_TENSOR_SLOT_ENUM

typedef struct tensor_desc {
    const char *gguf;   /* after "blk.N." for a layer tensor */
    const char *hf;     /* '|'-separated names after the model prefix (and "encoder.layer.N." for a layer tensor) */
    uint8_t cols, rows; /* tensor_dim */
    uint8_t kind;       /* tensor_kind */
    uint8_t flags;      /* TENSOR_ROW_LOOKUP, TENSOR_POSITIONS */
    uint16_t offset;    /* of the xlmr_tensor field in xlmr_weights, or in xlmr_layer for a layer tensor */
} tensor_desc;

typedef struct model_slot {
    char name[64];           /* GGUF name, e.g. "blk.3.ffn_up.weight" */
    int64_t ne[2];           /* expected shape from the config: ne[0] columns, ne[1] rows (1 for vectors) */
    int kind;                /* tensor_kind */
    int head;                /* XLMR_HEAD_* of a head's tensor, XLMR_HEAD_NONE for the encoder's */
    int layer;               /* its layer, -1 outside the layers */
    const tensor_desc *desc; /* its row of tensor_table.h */
    xlmr_tensor *t;          /* where it lives (NULL when the model has no layers array yet) */
} model_slot;

int model_slot_count(const xlmr_config *c);
/* Fills s for slot i (0 <= i < count) of model m (m->config set). */
void model_slot_get(xlmr_model *m, int i, model_slot *s);
/* Whether slot s is part of the model: the encoder's always, a head's when the config names that head. */
int model_slot_held(const xlmr_config *c, const model_slot *s);
/* Slot index of a GGUF tensor name, or -1 (unknown name or layer >= num_layers). */
int model_slot_find(const xlmr_config *c, const char *name, size_t len);
/* The head a slot belongs to (XLMR_HEAD_NONE for the encoder's). */
int model_slot_head(const xlmr_config *c, int i);
/* "fill-mask" ...: the task name of a head, "" for XLMR_HEAD_NONE. */
const char *model_head_task(int head);
/* Whether a head's outputs are labelled classes (a TENSOR_DIM_LABELS dimension): it then has config.num_labels. */
int model_head_has_labels(int head);
/* The label count a file tensor of slot i with shape ne (columns, rows) implies, -1 if its shape has none. */
int64_t model_slot_label_count(const xlmr_config *c, int i, const int64_t ne[2]);

/* Hugging Face names: the slot of a state-dict name (with or without "roberta." / "bert."), its rank among the
 * slot's names in *rank (0 = preferred), or a negative MODEL_HF_* code. */
enum { MODEL_HF_UNKNOWN = -1, MODEL_HF_BAD_LAYER = -2 };
int model_slot_find_hf(const xlmr_config *c, const char *name, size_t len, int *rank);
/* config.hf_head_names for a config.json "architectures" name: 1 + its XLMR_HF_HEAD_ARCHITECTURES entry, 0 if none. */
int32_t model_hf_head_names_of(const char *architecture, size_t len);
/* The architecture c->hf_head_names names and, in *head, its head; NULL (and XLMR_HEAD_NONE) without one. */
const char *model_hf_architecture(const xlmr_config *c, int *head);
/* The preferred Hugging Face name of slot i, with the "roberta." prefix outside the heads, for messages. */
const char *model_slot_hf_name(const xlmr_config *c, int i, char *buf, size_t n);

xlmr_model *model_new(void);
/* Allocates m->w.layers for m->config.num_layers. */
xlmr_status model_alloc_layers(xlmr_model *m, xlmr_error *err);
/* Lays out and allocates the weights block for slot types types[count] (only the alignment gaps zeroed); the
 * slots of model_slot_held. Sets every tensor's type, layout, ne, nbytes and data. The block is a GGUF data
 * section in size and offsets; tensors with a 4-row layout hold their bytes permuted. */
xlmr_status model_alloc_block(xlmr_model *m, const int32_t *types, xlmr_error *err);

#endif
