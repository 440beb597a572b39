/* encoder.h — the XLM-R forward pass over an xlmr_model, its scratch arena, and the three computations the
 * exported API wraps 1:1 (xlmr_embed, xlmr_fill_mask, xlmr_logits in xlmr.h have the same meaning).
 *
 * Only the valid tokens of a batch are computed: the R = sum(lengths) rows of the B sequences are packed
 * one after another, so padding costs nothing and a sequence's outputs do not depend on its batch mates. */
#ifndef XLMR_ENCODER_H
#define XLMR_ENCODER_H

#include "attention.h" /* ATT_QBLOCK, ATT_MAX_DH */
#include "kernels.h"
#include "model.h"
#include "xlmr.h" /* XLMR_POOL_* */

/* model_embed runs a batch in groups of whole sequences of at most this many tokens (a longer sequence alone), so
 * the activation scratch stays bounded (~13 MB at base size) whatever the batch; each group reads the weights once
 * more, a small share of a 512-row pass (BENCHMARKS.md, "Kernel design notes"). */
#define ENC_GROUP_ROWS 512

/* Activations of one call, in one block that grows to the largest (rows, T, B) seen and is then reused;
 * nothing is allocated per token or per layer. Rp = rows rounded up to KERN_QTILE. */
struct xlmr_scratch {
    void *mem;
    size_t cap;
    float *x, *alt;         /* (Rp, H) hidden states and the residual branch */
    float *q, *k, *v, *ctx; /* (Rp, H) */
    float *ffn;             /* (Rp, F), in the room of q, k, v, ctx (dead by the time it is written) */
    float *att;             /* att_slots blocks of att_slot_floats, one per thread computing attention heads: */
    size_t att_slot_floats; /*   one head's operands and a block's scores (attention.c) */
    int att_slots;
    void *qmem;             /* kern_qact for (Rp, max(H, F)) */
    int32_t *seq_start;     /* (B + 1) first packed row of each sequence */
    int32_t *out_start;     /* (B + 1) with output rows: the first of them in each sequence (or after it) */
    float *hin, *hmid;      /* (KERN_QTILE, H) fill-mask head rows (only when a head is asked for) */
    float *logits;          /* (KERN_QTILE, V) */
    float *hidden;          /* result of the last encoder_forward: (rows, H), x or alt */
};

/* Frees the arena and the struct (NULL is fine). model_free calls it on m->scratch. */
void scratch_free(struct xlmr_scratch *s);

/* Runs the encoder on ids (B, T) row-major, sequence b being ids[b*T .. b*T + lengths[b]). Arguments are
 * checked by the callers below. On success m->scratch->hidden holds the packed (sum lengths, H) final hidden
 * states and m->scratch->seq_start[b] the row of each sequence's first token. want_head reserves the
 * fill-mask head buffers. With out_rows (1 <= n_out <= sum lengths packed row indices, sequence by sequence:
 * any order and repeats within a sequence, but no row of an earlier sequence after a later one's) the last layer
 * computes only those rows (bit-identical to the full pass's) and hidden holds them as (n_out, H), row i =
 * out_rows[i]. */
xlmr_status encoder_forward(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int want_head,
                            const int32_t *out_rows, int n_out);

/* The arguments of a batch call named what (for messages): ids (B, T), lengths (B) each in [1, T], T at most the
 * model's maximum, ids in the vocabulary, out given; and the model's tensors, head's included (model_check). */
xlmr_status encoder_check_batch(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T,
                                const void *out, int head, const char *what);

/* Runs a checked batch in groups of whole sequences of at most ENC_GROUP_ROWS tokens, each group's pass followed by
 * done(m, b0, b1, ctx) for its sequences [b0, b1): with first_rows_only the last layer computes each sequence's first
 * row alone (hidden (b1 - b0, H)), else hidden holds every packed row (seq_start relative to b0). want_head as for
 * encoder_forward. */
typedef void (*encoder_group_done)(xlmr_model *m, int b0, int b1, void *ctx);
xlmr_status encoder_run_groups(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int want_head,
                               int first_rows_only, encoder_group_done done, void *ctx);

/* ids (B, T) right-padded, lengths (B). out: XLMR_POOL_NONE (B, T, H) hidden states, rows t >= lengths[b]
 * zero; XLMR_POOL_CLS / XLMR_POOL_MEAN (B, H), L2-normalised if normalize. */
xlmr_status model_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T, int pooling,
                        int normalize, float *out);
/* One sequence ids (T). For each <mask> (id vocab_size - 1), in order: the top_k ids (ties: lower id first)
 * and their softmax probabilities over all V. out_ids, out_scores: (n_masks, top_k), room for T * top_k
 * always suffices. XLMR_ERR_NO_MASK when there is none. */
xlmr_status model_fill_mask(xlmr_model *m, const int32_t *ids, int T, int top_k, int32_t *out_ids, float *out_scores,
                            int *n_masks);
/* MLM logits (n_pos, V) at the given token positions (0 <= position < T) of one sequence ids (T). */
xlmr_status model_logits(xlmr_model *m, const int32_t *ids, int T, const int32_t *positions, int n_pos, float *out);

#endif
