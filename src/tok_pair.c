/* tok_pair.c — a pair of texts as <s> A </s></s> B </s>, truncated by Hugging Face's strategies or cut into
 * overlapping windows (return_overflowing_tokens with a stride), with offsets (see tokenizer.h). */
#include "tok_internal.h"

void tok_windows_free(tok_windows *w) {
    if (!w) return;
    tok_ids_free(&w->ids);
    tok_ids_free(&w->offsets);
    tok_ids_free(&w->seq);
    tok_ids_free(&w->starts);
    w->n = 0;
}

/* One text's ids and offsets. */
typedef struct pair_side {
    tok_ids ids, offsets;
} pair_side;

static int push_token(tok_windows *w, int32_t id, int32_t start, int32_t end, int32_t seq) {
    return tok_ids_push(&w->ids, id) && tok_ids_push(&w->offsets, start) && tok_ids_push(&w->offsets, end) && tok_ids_push(&w->seq, seq);
}

/* Ids [lo, hi) of one side into the current window. */
static int push_slice(tok_windows *w, const pair_side *p, size_t lo, size_t hi, int32_t seq) {
    for (size_t i = lo; i < hi; i++)
        if (!push_token(w, p->ids.ids[i], p->offsets.ids[2 * i], p->offsets.ids[2 * i + 1], seq)) return 0;
    return 1;
}

/* <s> A[a0, a1) </s></s> B[b0, b1) </s> (one </s> between them with a BERT-style template) as the next window. */
static int push_window(tok_windows *w, const tok_tokenizer *t, const pair_side *sa, size_t a0, size_t a1, const pair_side *sb, size_t b0,
                       size_t b1) {
    if (!tok_ids_push(&w->starts, (int32_t)w->ids.n)) return 0;
    int ok = push_token(w, t->bos, 0, 0, -1) && push_slice(w, sa, a0, a1, 0) && push_token(w, t->eos, 0, 0, -1) &&
             (t->pair_single_sep || push_token(w, t->eos, 0, 0, -1)) && push_slice(w, sb, b0, b1, 1) && push_token(w, t->eos, 0, 0, -1);
    if (ok) w->n++;
    return ok;
}

/* longest_first: one id at a time from the longer text, from the second on a tie. */
static void longest_first(size_t *la, size_t *lb, size_t budget) {
    for (size_t excess = *la + *lb - budget; excess; excess--) {
        if (*la > *lb) --*la;
        else --*lb;
    }
}

/* The windows over the cut side (room ids each, starting every room - stride), the other side whole. */
static int push_windows(tok_windows *w, const tok_tokenizer *t, const pair_side *sa, const pair_side *sb, int cut_first, size_t room,
                        int stride) {
    const pair_side *cut = cut_first ? sa : sb;
    const size_t total = cut->ids.n, step = stride < 0 ? room : room - (size_t)stride;
    for (size_t start = 0;; start += step) {
        size_t stop = start + room < total ? start + room : total;
        int ok = cut_first ? push_window(w, t, sa, start, stop, sb, 0, sb->ids.n) : push_window(w, t, sa, 0, sa->ids.n, sb, start, stop);
        if (!ok) return 0;
        if (stop == total || stride < 0) return 1;
    }
}

static xlmr_status lay_out(const tok_tokenizer *t, const pair_side *sa, const pair_side *sb, int max_len, int strategy, int stride,
                           tok_windows *out, xlmr_error *err) {
    size_t la = sa->ids.n, lb = sb->ids.n;
    const size_t budget = max_len > 0 ? (size_t)max_len - (t->pair_single_sep ? 3 : 4) : 0;
    int ok;
    if (max_len <= 0 || la + lb <= budget) {
        ok = push_window(out, t, sa, 0, la, sb, 0, lb);
    } else if (strategy == TOK_TRUNC_LONGEST_FIRST) {
        if (stride >= 0) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: windows (a stride) need truncation only_first or only_second");
        longest_first(&la, &lb, budget);
        ok = push_window(out, t, sa, 0, la, sb, 0, lb);
    } else {
        const int cut_first = strategy == TOK_TRUNC_ONLY_FIRST;
        const size_t other = cut_first ? lb : la;
        if (other >= budget)
            return xlmr_fail(err, XLMR_ERR_TOO_LONG, "tokenizer: the %s text's %zu tokens leave no room for the %s in %d", cut_first ? "second" : "first",
                             other, cut_first ? "first" : "second", max_len);
        const size_t room = budget - other;
        if (stride >= 0 && (size_t)stride >= room)
            return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: stride %d is not smaller than the %zu tokens a window holds of the cut text", stride, room);
        ok = push_windows(out, t, sa, sb, cut_first, room, stride);
    }
    return ok && tok_ids_push(&out->starts, (int32_t)out->ids.n) ? XLMR_OK : xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
}

xlmr_status tok_encode_pair_windows(const tok_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int max_len, int strategy,
                                    int stride, int rule, tok_windows *out, xlmr_error *err) {
    if (!out) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL output");
    out->ids.n = out->offsets.n = out->seq.n = out->starts.n = 0;
    out->n = 0;
    if (!t) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer");
    if (max_len > 0 && max_len < 5)
        return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: max_len %d leaves no room for a pair's 4 special tokens and a token", max_len);
    if (strategy < TOK_TRUNC_LONGEST_FIRST || strategy > TOK_TRUNC_ONLY_SECOND)
        return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: truncation strategy %d (0 longest_first, 1 only_first, 2 only_second)", strategy);
    pair_side sa = {{0}, {0}}, sb = {{0}, {0}};
    xlmr_status st = tok_encode_raw_offsets(t, a, na, rule, &sa.ids, &sa.offsets, err);
    if (!st) st = tok_encode_raw_offsets(t, b, nb, rule, &sb.ids, &sb.offsets, err);
    if (!st) st = lay_out(t, &sa, &sb, max_len, strategy, stride, out, err);
    if (st) {
        out->ids.n = out->offsets.n = out->seq.n = out->starts.n = 0;
        out->n = 0;
    }
    tok_ids_free(&sa.ids);
    tok_ids_free(&sa.offsets);
    tok_ids_free(&sb.ids);
    tok_ids_free(&sb.offsets);
    return st;
}
