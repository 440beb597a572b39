/* heads.h — what is computed on top of the encoder's hidden states: pooling, L2 normalisation, the
 * fill-mask (MLM) head and top-k selection. */
#ifndef XLMR_HEADS_H
#define XLMR_HEADS_H

#include "model.h"
#include "xlmr.h" /* XLMR_POOL_* */

/* hidden (len, H) of one sequence -> out (H): XLMR_POOL_CLS row 0, XLMR_POOL_LAST row len - 1 (</s>), XLMR_POOL_MEAN
 * the mean of the len rows. */
void head_pool(const float *hidden, int len, int H, int pooling, float *out);
/* v / max(||v||, 1e-12), as torch.nn.functional.normalize. */
void head_l2_normalize(float *v, int n);
/* MLM logits of M <= KERN_QTILE hidden rows (M, H): dense -> GELU -> LayerNorm -> x tok_embdᵀ + mlm_bias,
 * into out (M, V) with rows ldo floats apart. Uses m->scratch's head buffers (encoder_forward with want_head). */
void head_mlm_logits(xlmr_model *m, const float *rows, int M, float *out, int ldo);
/* The k largest of p (n), largest first, equal values by lower index first: indices to ids, values to scores. */
void head_top_k(const float *p, int n, int k, int32_t *ids, float *scores);

#endif
