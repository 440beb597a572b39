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

/* ggml type ids (the numbers GGUF stores). */
enum {
    XLMR_TYPE_F32 = 0,
    XLMR_TYPE_F16 = 1,
    XLMR_TYPE_Q8_0 = 8,
    XLMR_TYPE_BF16 = 30,
};

/* ggml Q8_0: 32 weights share one fp16 scale d; w[i] = d * q[i]. 34 bytes a block. */
#define QK8_0 32
typedef struct block_q8_0 {
    uint16_t d; /* fp16 */
    int8_t qs[QK8_0];
} block_q8_0;

typedef struct xlmr_config {
    int32_t vocab_size;        /* V, <mask> included (250002 for xlm-roberta-base) */
    int32_t hidden_size;       /* H */
    int32_t num_layers;        /* L */
    int32_t num_heads;         /* H / num_heads = head dim */
    int32_t intermediate_size; /* F */
    int32_t max_positions;     /* P = max_position_embeddings (514) */
    int32_t type_vocab_size;   /* 1 for XLM-R */
    int32_t pad_id;            /* padding_idx (1); position ids start at pad_id + 1 */
    int32_t max_tokens;        /* longest input, specials included: P - pad_id - 1 (512) */
    float layer_norm_eps;
    int32_t has_mlm_head; /* 0 for embedding-only files (e.g. llama.cpp's XLM-R conversions) */
} xlmr_config;

typedef struct xlmr_tensor {
    int32_t type;  /* XLMR_TYPE_*; vectors (biases, norms) are always F32 */
    int64_t ne[2]; /* ne[0] columns, ne[1] rows (1 for a vector) */
    void *data;    /* inside the weights block */
    size_t nbytes;
} xlmr_tensor;

typedef struct xlmr_layer {
    xlmr_tensor q, q_b, k, k_b, v, v_b; /* (H, H), (H) */
    xlmr_tensor attn_out, attn_out_b;   /* (H, H), (H) */
    xlmr_tensor attn_norm, attn_norm_b; /* (H): LayerNorm(x + attention) */
    xlmr_tensor ffn_up, ffn_up_b;       /* (F, H), (F) */
    xlmr_tensor ffn_down, ffn_down_b;   /* (H, F), (H) */
    xlmr_tensor out_norm, out_norm_b;   /* (H): LayerNorm(x + ffn) */
} xlmr_layer;

typedef struct xlmr_weights {
    xlmr_tensor tok_embd;  /* (V, H) */
    xlmr_tensor pos_embd;  /* (P - pad_id - 1, H): row r holds position id r + pad_id + 1.
                              llama.cpp stores it without the first pad_id + 1 rows; we do too.
                              Position id pad_id (a <pad> token) is the zero vector. */
    xlmr_tensor type_embd; /* (type_vocab, H) */
    xlmr_tensor embd_norm, embd_norm_b; /* (H) */
    xlmr_layer *layers;                 /* [L] */
    /* fill-mask head; decoder weight is tok_embd (tied) */
    xlmr_tensor mlm_dense, mlm_dense_b; /* (H, H), (H) */
    xlmr_tensor mlm_norm, mlm_norm_b;   /* (H) */
    xlmr_tensor mlm_bias;               /* (V) */
} xlmr_weights;

struct tok_tokenizer;
struct xlmr_scratch;
struct xlmr_api_state;

typedef struct xlmr_model {
    xlmr_config config;
    xlmr_weights w;
    void *weights_block; /* one allocation holding every tensor's data */
    size_t weights_size;
    struct tok_tokenizer *tok;
    struct xlmr_scratch *scratch; /* activations, sized for the largest (B, T) seen, reused */
    struct xlmr_api_state *api;   /* result buffers of the exported API (api.c) */
    xlmr_error err;               /* last error of a call on this model */
} xlmr_model;

void model_free(xlmr_model *m);
void api_state_free(struct xlmr_api_state *api); /* api.c */

#endif
