/* config.h — model hyperparameters from a Hugging Face config.json, and their validation.
 * (GGUF files carry theirs as bert.* keys; loader.c reads those.) */
#ifndef XLMR_CONFIG_H
#define XLMR_CONFIG_H

#include "model.h"

/* Limits on sizes read from files: generous for any XLM-R checkpoint, small enough that a hostile
 * file cannot make us allocate absurd amounts. */
#define CONFIG_MAX_HIDDEN 16384
#define CONFIG_MAX_LAYERS 256
#define CONFIG_MAX_FFN 131072
#define CONFIG_MAX_VOCAB (1 << 22)
#define CONFIG_MAX_POSITIONS (1 << 20)
#define CONFIG_MAX_TYPES 1024

/* Fills c from config.json text (XLMRobertaConfig fields; problem_type) and, when labels is given, labels from its
 * id2label (none when absent). head and num_labels are left 0: the tensors decide.
 * Missing optional fields take the transformers defaults (type_vocab_size 2, pad_token_id 1,
 * layer_norm_eps 1e-12). The result is validated. */
xlmr_status config_from_hf_json(const char *json, size_t n, xlmr_config *c, xlmr_labels *labels, xlmr_error *err);

/* "single_label_classification", "multi_label_classification", "regression" for XLMR_PROBLEM_*, NULL when unset;
 * and back (XLMR_PROBLEM_UNSET for any other text). */
const char *config_problem_type_name(int problem_type);
int config_problem_type_find(const char *s, size_t n);

/* A sentence-transformers Pooling module's config.json: the one pooling mode it turns on, as XLMR_POOL_CLS, _MEAN or
 * _LAST; the modes embed does not offer (max, mean_sqrt_len, weightedmean) are refused. */
xlmr_status config_pooling_from_st_json(const char *json, size_t n, int32_t *pooling, xlmr_error *err);

/* Checks every field is positive and within the limits, hidden % heads == 0, the position table is longer
 * than pad_id + 1, and sets max_tokens = max_positions - pad_id - 1. */
xlmr_status config_validate(xlmr_config *c, xlmr_error *err);

#endif
