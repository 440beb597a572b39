/* tensor_table.h — every tensor a model can hold, named once.
 *
 * Each X(...) row is one tensor: its field in xlmr_weights / xlmr_layer (model.h), its GGUF name, its Hugging Face
 * names, its shape in terms of the config, its kind and flags. The struct fields, the weights block's layout
 * (model.c), the shape checks before computing (model_check), the GGUF reader and writer and the safetensors name
 * map are all generated from these rows: adding a tensor is one row.
 *
 *   X(field, gguf, hf, cols, rows, kind, flags)
 *
 * gguf   llama.cpp's name; a layer tensor's name follows "blk.N.".
 * hf     the Hugging Face state-dict names after the model prefix ("roberta." or "bert.", which may be absent),
 *        '|'-separated, the first preferred when a file has several; a layer tensor's follow "encoder.layer.N.".
 *        A LayerNorm's ".weight"/".bias" also match the ".gamma"/".beta" of older checkpoints.
 * cols   ne[0], the row length; rows ne[1] (TENSOR_DIM_1 for a vector): TENSOR_DIM_* of model_slots.h.
 * kind   TENSOR_MATRIX (F32, F16, BF16 or Q8_0), TENSOR_TABLE (rows gathered by id; F32), TENSOR_VECTOR (F32).
 * flags  TENSOR_ROW_LOOKUP: a matrix read by row (kept row-major, not in the GEMM's layout);
 *        TENSOR_POSITIONS: the Hugging Face table has pad_id + 1 more rows at the start (position ids up to
 *        pad_id, which no token reads), dropped on load as llama.cpp's converter drops them.
 *
 * Order is the order of the weights block and of the GGUF files we write: the embeddings, every layer, then the
 * head. Heads: one list per head (a model holds at most one); its rows are all present or all absent. */
#ifndef XLMR_TENSOR_TABLE_H
#define XLMR_TENSOR_TABLE_H

#define XLMR_TENSORS_EMBEDDINGS(X)                                                                                   \
    X(tok_embd, "token_embd.weight", "embeddings.word_embeddings.weight", TENSOR_DIM_H, TENSOR_DIM_V,                \
      TENSOR_MATRIX, TENSOR_ROW_LOOKUP)                                                                             \
    X(pos_embd, "position_embd.weight", "embeddings.position_embeddings.weight", TENSOR_DIM_H, TENSOR_DIM_POSITIONS, \
      TENSOR_TABLE, TENSOR_POSITIONS)                                                                               \
    X(type_embd, "token_types.weight", "embeddings.token_type_embeddings.weight", TENSOR_DIM_H, TENSOR_DIM_TYPES,    \
      TENSOR_TABLE, 0)                                                                                              \
    X(embd_norm, "token_embd_norm.weight", "embeddings.LayerNorm.weight", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0) \
    X(embd_norm_b, "token_embd_norm.bias", "embeddings.LayerNorm.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* One post-LayerNorm block: attention (q, k, v, output), its residual LayerNorm, the FFN, its LayerNorm. */
#define XLMR_TENSORS_LAYER(X)                                                                                        \
    X(q, "attn_q.weight", "attention.self.query.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)               \
    X(q_b, "attn_q.bias", "attention.self.query.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)                 \
    X(k, "attn_k.weight", "attention.self.key.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)                 \
    X(k_b, "attn_k.bias", "attention.self.key.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)                   \
    X(v, "attn_v.weight", "attention.self.value.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)               \
    X(v_b, "attn_v.bias", "attention.self.value.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)                 \
    X(attn_out, "attn_output.weight", "attention.output.dense.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)  \
    X(attn_out_b, "attn_output.bias", "attention.output.dense.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)    \
    X(attn_norm, "attn_output_norm.weight", "attention.output.LayerNorm.weight", TENSOR_DIM_H, TENSOR_DIM_1,          \
      TENSOR_VECTOR, 0)                                                                                             \
    X(attn_norm_b, "attn_output_norm.bias", "attention.output.LayerNorm.bias", TENSOR_DIM_H, TENSOR_DIM_1,           \
      TENSOR_VECTOR, 0)                                                                                             \
    X(ffn_up, "ffn_up.weight", "intermediate.dense.weight", TENSOR_DIM_H, TENSOR_DIM_F, TENSOR_MATRIX, 0)            \
    X(ffn_up_b, "ffn_up.bias", "intermediate.dense.bias", TENSOR_DIM_F, TENSOR_DIM_1, TENSOR_VECTOR, 0)              \
    X(ffn_down, "ffn_down.weight", "output.dense.weight", TENSOR_DIM_F, TENSOR_DIM_H, TENSOR_MATRIX, 0)              \
    X(ffn_down_b, "ffn_down.bias", "output.dense.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)                \
    X(out_norm, "layer_output_norm.weight", "output.LayerNorm.weight", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)  \
    X(out_norm_b, "layer_output_norm.bias", "output.LayerNorm.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)    \
    XLMR_TENSORS_LAYER_TEST(X)

/* The fill-mask head (XLMRobertaForMaskedLM's lm_head; llama.cpp drops it, so the GGUF names are ours, see
 * models/README.md): dense, GELU, LayerNorm, then the decoder, which is tok_embd (tied), plus its bias. */
#define XLMR_TENSORS_HEAD_MLM(X)                                                                                     \
    X(mlm_dense, "mlm.dense.weight", "lm_head.dense.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)           \
    X(mlm_dense_b, "mlm.dense.bias", "lm_head.dense.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)             \
    X(mlm_norm, "mlm.norm.weight", "lm_head.layer_norm.weight", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)        \
    X(mlm_norm_b, "mlm.norm.bias", "lm_head.layer_norm.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)          \
    X(mlm_bias, "mlm.output.bias", "lm_head.bias|lm_head.decoder.bias", TENSOR_DIM_V, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* XLMRobertaForSequenceClassification's classifier on the <s> row: dense, tanh, out_proj (num_labels outputs; one
 * for a cross-encoder reranker). The GGUF names are those llama.cpp's converter writes for rerankers. */
#define XLMR_TENSORS_HEAD_SEQ_CLS(X)                                                                                 \
    X(cls_dense, "cls.weight", "classifier.dense.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)              \
    X(cls_dense_b, "cls.bias", "classifier.dense.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)                \
    X(cls_out, "cls.output.weight", "classifier.out_proj.weight", TENSOR_DIM_H, TENSOR_DIM_LABELS, TENSOR_MATRIX, 0) \
    X(cls_out_b, "cls.output.bias", "classifier.out_proj.bias", TENSOR_DIM_LABELS, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* BertForSequenceClassification is the same computation under BERT's names: BertPooler (dense + tanh on the [CLS] row
 * of the last layer) is classifier.dense, its classifier (num_labels x H, after a dropout) is out_proj. Y(field, hf)
 * gives SEQ_CLS's rows, in their order, these Hugging Face names; GGUF keeps SEQ_CLS's names, which mean in
 * llama.cpp's graph what they mean here (cls: dense then tanh on the first row; cls.output: the labels). */
#define XLMR_HF_NAMES_BERT_SEQ_CLS(Y)                                                                                \
    Y(cls_dense, "pooler.dense.weight") Y(cls_dense_b, "pooler.dense.bias") Y(cls_out, "classifier.weight")          \
    Y(cls_out_b, "classifier.bias")

/* XLMRobertaForTokenClassification: one linear layer on every row (names of ours in GGUF). */
#define XLMR_TENSORS_HEAD_TOKEN_CLS(X)                                                                               \
    X(token_cls, "token_cls.weight", "classifier.weight", TENSOR_DIM_H, TENSOR_DIM_LABELS, TENSOR_MATRIX, 0)          \
    X(token_cls_b, "token_cls.bias", "classifier.bias", TENSOR_DIM_LABELS, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* XLMRobertaForQuestionAnswering: start and end logits on every row (names of ours in GGUF). */
#define XLMR_TENSORS_HEAD_QA(X)                                                                                      \
    X(qa_out, "qa.weight", "qa_outputs.weight", TENSOR_DIM_H, TENSOR_DIM_SPAN_ENDS, TENSOR_MATRIX, 0)                \
    X(qa_out_b, "qa.bias", "qa_outputs.bias", TENSOR_DIM_SPAN_ENDS, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* BGE-M3's two extra outputs beside its dense (CLS) vector, as FlagEmbedding's BGEM3 model computes them: a
 * multi-vector (ColBERT) projection of every token but <s>, and one lexical weight per token (ReLU of a linear map).
 * Hugging Face folders ship them as colbert_linear.pt and sparse_linear.pt (state dicts of "weight" and "bias");
 * the GGUF names are ours. */
#define XLMR_TENSORS_HEAD_M3(X)                                                                                      \
    X(m3_colbert, "m3.colbert.weight", "colbert_linear.weight", TENSOR_DIM_H, TENSOR_DIM_H, TENSOR_MATRIX, 0)         \
    X(m3_colbert_b, "m3.colbert.bias", "colbert_linear.bias", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)           \
    X(m3_sparse, "m3.sparse.weight", "sparse_linear.weight", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_MATRIX, 0)            \
    X(m3_sparse_b, "m3.sparse.bias", "sparse_linear.bias", TENSOR_DIM_1, TENSOR_DIM_1, TENSOR_VECTOR, 0)

/* The task heads: H(ID, name, task) for each XLMR_TENSORS_HEAD_<ID> list above; ID names XLMR_HEAD_<ID>
 * (model.h), task is what the JS API calls it. */
#define XLMR_HEADS(H)                                                                                                \
    H(MLM, mlm, "fill-mask")                                                                                         \
    H(SEQ_CLS, seq_cls, "text-classification")                                                                       \
    H(TOKEN_CLS, token_cls, "token-classification")                                                                  \
    H(QA, qa, "question-answering")                                                                                  \
    H(M3, m3, "bge-m3")

/* Hugging Face heads named by config.json's "architectures" because their tensor names alone are ambiguous:
 * A(architecture, ID, names), names an XLMR_HF_NAMES_* list of head ID's rows. With one of these architectures only
 * that head's names are looked for, so "classifier.weight" is BertForSequenceClassification's output layer and not
 * XLMRobertaForTokenClassification's, and the pooler every BertModel checkpoint carries (and no other head reads)
 * is a head's tensor only here. BertForTokenClassification and BertForQuestionAnswering need no entry: their names
 * and computation are XLM-R's ("classifier" and "qa_outputs" on every row). */
#define XLMR_HF_HEAD_ARCHITECTURES(A) A("BertForSequenceClassification", SEQ_CLS, XLMR_HF_NAMES_BERT_SEQ_CLS)

/* A made-up tensor for the table's own test (tests/c/test_tensor_table.c, built with -DXLMR_TEST_EXTRA_TENSOR):
 * one row here is all it takes for a tensor to be loaded from both formats, checked and written. */
#ifdef XLMR_TEST_EXTRA_TENSOR
#define XLMR_TENSORS_LAYER_TEST(X) \
    X(test_extra, "test_extra.weight", "test_extra.weight", TENSOR_DIM_H, TENSOR_DIM_1, TENSOR_VECTOR, 0)
#else
#define XLMR_TENSORS_LAYER_TEST(X)
#endif

#endif
