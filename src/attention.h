/* attention.h — self-attention over the packed rows of a batch: ctx = softmax(q kᵀ / sqrt(dh)) v for every sequence
 * and head, in float products (float projections) or int16 products (Q8_0 projections), and the size of the
 * per-thread scratch it works in (encoder.h, struct xlmr_scratch: att, att_slot_floats, att_slots). */
#ifndef XLMR_ATTENTION_H
#define XLMR_ATTENTION_H

#include "model.h"

/* Queries whose attention scores are computed together: scores are (ATT_QBLOCK, len) at a time, never (len, len). */
#define ATT_QBLOCK 64
/* The largest head size (hidden / heads; XLM-R: 64) a model may have: the int16 attention keeps a head's row on the
 * stack. Larger is refused as a format error (model_check). */
#define ATT_MAX_DH 256

struct xlmr_scratch;

/* Floats of one attention slot (one thread's buffers for one head at a time) for sequences of up to T tokens and
 * heads of dh dims, large enough for both variants. A slot for the batch's T fits every shorter sequence. */
size_t att_slot_floats(int T, int dh);

/* s->ctx (R, H) from s->q, s->k, s->v (R, H) for the B sequences whose packed rows start at s->seq_start. With
 * out_rows, sequence b's queries are only rows out_start[b] .. out_start[b + 1] - 1 of q, and ctx gets the same rows.
 * int16: the int16 products (layers with Q8_0 projections), else the float ones. Heads are spread over
 * s->att_slots par_run tasks (threads.h); each head is computed by one thread, the same way whatever the count. */
void attention_run(const xlmr_config *c, struct xlmr_scratch *s, int B, int out_rows, int int16);

#endif
