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
/* Outputs per row of the model's token-level head: num_labels, 2 for QA, 0 without one. */
int model_token_outputs(const xlmr_model *m);

#endif
