/* task_heads.h — the fine-tuned heads on the encoder (tensor_table.h: SEQ_CLS, TOKEN_CLS, QA) and their entry points,
 * which the exported API wraps 1:1 (xlmr_classify, xlmr_token_logits in xlmr.h). Logits only: how scores, labels,
 * entities and answer spans come from them is the JS layer's (Hugging Face's pipelines' rules). */
#ifndef XLMR_TASK_HEADS_H
#define XLMR_TASK_HEADS_H

#include "model.h"

/* XLMRobertaForSequenceClassification on each sequence's <s> row: ids (B, T) right-padded, lengths (B);
 * out (B, num_labels) = out_proj(tanh(dense(h₀))). */
xlmr_status model_classify(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out);
/* The token-level head on every row: token classification (num_labels per token) or question answering (2: start,
 * end). out (B, T, n), rows past each length zero. */
xlmr_status model_token_logits(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *out);
/* BGE-M3 (FlagEmbedding's BGEM3 model) in one pass, each output optional (NULL: not computed): dense (B, H) the
 * L2-normalised <s> row; sparse (B, T) ReLU(sparse_linear(h_t)) per token (all tokens, zero past each length: which
 * ids count and the maximum per id are the caller's); colbert (B, T, H) the L2-normalised colbert_linear(h_t) for
 * 1 <= t < length (row 0 and rows past the length zero). */
xlmr_status model_m3_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, float *dense,
                           float *sparse, float *colbert);
/* Outputs per row of the model's token-level head: num_labels, 2 for QA, 0 without one. */
int model_token_outputs(const xlmr_model *m);

#endif
