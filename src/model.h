/* model.h — the in-memory model: hyperparameters, tensors, weights, the model object.
 *
 * The loader (loader.c) fills an xlmr_model from a GGUF or safetensors stream; the
 * encoder (encoder.c) and heads (heads.c) compute with it. Shapes in comments use
 * V vocab, H hidden, F intermediate, P max positions, L layers, T tokens, B batch.
 * Matrices are stored as torch Linear weights: (out rows, in columns), row-major, so
 * y = x Wᵀ + b. In a tensor ne[0] is the row length (columns), ne[1] the row count,
 * as in ggml/GGUF. */
#ifndef XLMR_MODEL_H
#define XLMR_MODEL_H

#include "common.h"
#include "tensor_table.h"

/* ggml type ids (the numbers GGUF stores). */
enum {
    XLMR_TYPE_F32 = 0,
    XLMR_TYPE_F16 = 1,
    XLMR_TYPE_Q4_0 = 2,
    XLMR_TYPE_Q8_0 = 8,
    XLMR_TYPE_BF16 = 30,
};

/* ggml Q8_0: 32 weights share one fp16 scale d; w[i] = d * q[i]. 34 bytes a block. */
#define QK8_0 32
typedef struct block_q8_0 {
    uint16_t d; /* fp16 */
    int8_t qs[QK8_0];
} block_q8_0;

/* ggml Q4_0: 32 weights share one fp16 scale d; element j (0..15) is the low nibble of qs[j], element j + 16 its
 * high nibble, w = d * (nibble - 8). 18 bytes a block. */
#define QK4_0 32
typedef struct block_q4_0 {
    uint16_t d; /* fp16 */
    uint8_t qs[QK4_0 / 2];
} block_q4_0;

/* Q8_0 weights as the encoder's GEMM reads them (kernels.h): 4 rows interleaved, one 32-block each.
 * The same 136 bytes as their 4 row-major blocks, so a tensor keeps its size and its GGUF offset:
 *   d[r] = scale of row r (fp16); the columns in runs of R (R = 2 or 4, the layout says which):
 *   qs[4R·(i / R) + R·r + i % R] = q of row r at column i.
 * R = 2 (SIMD128): one v128.load8x8_s gives 4 rows × 2 columns widened to int16, ready for i32x4.dot_i16x8
 * against a broadcast pair of activations. R = 4 (relaxed SIMD): one v128.load gives 4 rows × 4 columns for
 * relaxed SIMD's int8 × u7 dot product against 4 broadcast activations (kernels_relaxed.c). Either way the 4
 * rows' partial sums land in 4 lanes with no shuffles. */
typedef struct block_q8_0x4 {
    uint16_t d[4];
    int8_t qs[4 * QK8_0];
} block_q8_0x4;

/* Byte layout of a tensor's data. */
enum {
    XLMR_LAYOUT_ROWS = 0,    /* as GGUF stores it: row after row */
    XLMR_LAYOUT_Q8_0X4 = 1,  /* Q8_0 only, rows % 4 == 0: block_q8_0x4 (R = 2), rows 4g..4g+3 block j at [g * (K / 32) + j] */
    XLMR_LAYOUT_Q8_0X4_R4 = 2, /* the same with runs of 4 columns (R = 4) */
};

/* R of a 4-row layout: columns per run of one row in block_q8_0x4.qs */
static inline int q8_0x4_run(int32_t layout) { return layout == XLMR_LAYOUT_Q8_0X4_R4 ? 4 : 2; }

/* The task head a model carries: at most one (tensor_table.h lists each head's tensors). */
#define XLMR_HEAD_ENUM(ID, name, task) XLMR_HEAD_##ID,
enum { XLMR_HEAD_NONE = 0, XLMR_HEADS(XLMR_HEAD_ENUM) XLMR_HEAD_COUNT };
#undef XLMR_HEAD_ENUM

typedef struct xlmr_config {
    int32_t vocab_size;        /* V, <mask> included (250002 for xlm-roberta-base) */
    int32_t hidden_size;       /* H */
    int32_t num_layers;        /* L */
    int32_t num_heads;         /* H / num_heads = head dim */
    int32_t intermediate_size; /* F */
    int32_t max_positions;     /* P = max_position_embeddings (514) */
    int32_t type_vocab_size;   /* 1 for XLM-R */
    int32_t pad_id;            /* padding_idx (1); position ids start at pad_id + 1 */
    int32_t bert_positions;    /* 1: BERT's position ids 0, 1, 2 ... for every token (model_type bert); 0: RoBERTa's,
                                * counting from pad_id + 1 and giving a <pad> token position pad_id */
    int32_t max_tokens;        /* longest input, specials included: P - model_position_offset (512) */
    float layer_norm_eps;
    int32_t head; /* XLMR_HEAD_*: NONE for embedding-only files (e.g. llama.cpp's XLM-R conversions) */
    int32_t num_labels;   /* outputs of a classification head (from its tensors' shape), 0 without one */
    int32_t problem_type; /* XLMR_PROBLEM_*: config.json's problem_type, how scores come from the logits */
    int32_t pooling;      /* embed's default pooling (XLMR_POOL_*) from the model's files, -1: none said */
    int32_t normalize;    /* embed's default L2 normalisation from the model's files, -1: none said */
    int32_t hf_head_names; /* 1 + the XLMR_HF_HEAD_ARCHITECTURES entry config.json's architectures names, 0: none
                            * (Hugging Face names only; GGUF files do not need it) */
    int32_t trimmed_from;  /* vocab_size before vocabulary trimming (vocab_trim.c), 0: not trimmed */
} xlmr_config;

/* config.json's problem_type (absent: the pipelines decide from num_labels). */
enum { XLMR_PROBLEM_UNSET = 0, XLMR_PROBLEM_SINGLE_LABEL, XLMR_PROBLEM_MULTI_LABEL, XLMR_PROBLEM_REGRESSION };

/* The names of a classification head's outputs (config.json's id2label, GGUF's bert.classifier.output_labels):
 * n NUL-terminated strings one after another in text (len bytes). */
typedef struct xlmr_labels {
    int32_t n;
    char *text;
    size_t len;
} xlmr_labels;

typedef struct xlmr_tensor {
    int32_t type;   /* XLMR_TYPE_*; vectors (biases, norms) are always F32 */
    int32_t layout; /* XLMR_LAYOUT_*: how the bytes of data are ordered (the type's size either way) */
    int64_t ne[2]; /* ne[0] columns, ne[1] rows (1 for a vector) */
    void *data;    /* inside the weights block; NULL for a tensor the model does not hold */
    size_t nbytes;
} xlmr_tensor;

/* The tensors, one field each, from tensor_table.h (names, shapes and meaning are there). pos_embd holds
 * (P - pad_id - 1, H): row r is position id r + pad_id + 1; position id pad_id (a <pad> token) is the zero
 * vector. The fill-mask decoder's weight is tok_embd (tied). */
#define XLMR_TENSOR_FIELD(field, gguf, hf, cols, rows, kind, flags) xlmr_tensor field;
typedef struct xlmr_layer {
    XLMR_TENSORS_LAYER(XLMR_TENSOR_FIELD)
} xlmr_layer;

#define XLMR_HEAD_FIELDS(ID, name, task) XLMR_TENSORS_HEAD_##ID(XLMR_TENSOR_FIELD)
typedef struct xlmr_weights {
    XLMR_TENSORS_EMBEDDINGS(XLMR_TENSOR_FIELD)
    xlmr_layer *layers; /* [L] */
    XLMR_HEADS(XLMR_HEAD_FIELDS)
} xlmr_weights;
#undef XLMR_HEAD_FIELDS
#undef XLMR_TENSOR_FIELD

struct tok_tokenizer;
struct xlmr_scratch;
struct xlmr_api_state;

typedef struct xlmr_model {
    xlmr_config config;
    xlmr_weights w;
    void *weights_block; /* one allocation holding every tensor's data */
    size_t weights_size;
    xlmr_labels labels;           /* config.num_labels names for a classification head, else none */
    struct tok_tokenizer *tok;
    struct xlmr_scratch *scratch; /* activations, sized for the largest (B, T) seen, reused */
    struct xlmr_api_state *api;   /* result buffers of the exported API (api.c) */
    xlmr_error err;               /* last error of a call on this model */
} xlmr_model;

/* Rows of the Hugging Face position table no token reads, dropped on load (llama.cpp drops them too): pad_id + 1
 * for RoBERTa-type models, none for BERT-type ones. pos_embd row r is then the r-th token's (BERT) or the r-th
 * non-pad token's (RoBERTa) position. */
static inline int32_t model_position_offset(const xlmr_config *c) { return c->bert_positions ? 0 : c->pad_id + 1; }

/* The config and every tensor the computation reads (the fill-mask head's with want_head), checked before any
 * computation: a loader bug or a hostile file gives an error in m->err, never an out-of-bounds read. */
xlmr_status model_check(xlmr_model *m, int want_head);
void model_free(xlmr_model *m);
void api_state_free(struct xlmr_api_state *api); /* api.c */

#endif
