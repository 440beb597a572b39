/* tokenizer.c — XLM-R's encoding over SentencePiece Unigram: the literal special tokens cut out of the
 * raw text, each chunk normalized and segmented, then <s> ... </s> (see tokenizer.h). */
#include "tok_internal.h"

int32_t tok_special_id(const tok_tokenizer *t, int which) {
    switch (which) {
    case SPECIAL_BOS: return t->bos;
    case SPECIAL_PAD: return t->pad;
    case SPECIAL_EOS: return t->eos;
    case SPECIAL_UNK: return t->unk;
    default: return t->mask;
    }
}

int32_t tok_vocab_size(const tok_tokenizer *t) { return t->n_tokens; }
int32_t tok_mask_id(const tok_tokenizer *t) { return t->mask; }
int32_t tok_pad_id(const tok_tokenizer *t) { return t->pad; }
int32_t tok_bos_id(const tok_tokenizer *t) { return t->bos; }
int32_t tok_eos_id(const tok_tokenizer *t) { return t->eos; }
int32_t tok_unk_id(const tok_tokenizer *t) { return t->unk; }

const char *tok_piece(const tok_tokenizer *t, int32_t id) {
    if (!t || id < 0 || id >= t->n_tokens) return NULL;
    return t->tokens[id];
}

int32_t tok_piece_to_id(const tok_tokenizer *t, const char *piece, size_t n) {
    for (int k = 0; k < N_SPECIAL; k++)
        if (n == tok_special_len[k] && memcmp(piece, tok_special_text[k], n) == 0) return tok_special_id(t, k);
    int32_t id = tok_trie_find(&t->pieces, (const uint8_t *)piece, n);
    if (id >= 0) return id;
    for (int32_t i = 0; i < t->n_tokens; i++) /* control, byte, unused tokens: rare lookups */
        if (t->token_lens[i] == n && memcmp(t->tokens[i], piece, n) == 0) return i;
    return t->unk;
}

/* ---- encoding ---- */

int tok_ids_push(tok_ids *v, int32_t id) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(int32_t)) return 0;
        int32_t *p = XLMR_REALLOC(v->ids, cap * sizeof *p);
        if (!p) return 0;
        v->ids = p;
        v->cap = cap;
    }
    v->ids[v->n++] = id;
    return 1;
}

void tok_ids_free(tok_ids *v) {
    if (!v) return;
    XLMR_FREE(v->ids);
    v->ids = NULL;
    v->n = v->cap = 0;
}

/* Python's str.isspace(). */
int tok_py_isspace(uint32_t c) {
    if (c <= 0x20) return c == 0x20 || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
    if (c < 0x85) return 0;
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Strict UTF-8 decode (Python only ever sees valid text); invalid -> returns 0 length. */
static size_t utf8_strict(const uint8_t *s, size_t n, uint32_t *cp) {
    size_t len;
    uint32_t c = tok_utf8_decode(s, n, &len);
    if (c == 0xFFFD && len != 3) return 0;
    *cp = c;
    return len;
}

size_t tok_lstrip_len(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        size_t len = utf8_strict(s + i, n - i, &c);
        if (!len || !tok_py_isspace(c)) break;
        i += len;
    }
    return i;
}

size_t tok_rstrip_end(const uint8_t *s, size_t n) {
    while (n) {
        size_t k = n - 1, back = 0;
        while (k > 0 && back < 3 && (s[k] & 0xC0) == 0x80) {
            k--;
            back++;
        }
        uint32_t c;
        size_t len = utf8_strict(s + k, n - k, &c);
        if (len != n - k || !tok_py_isspace(c)) break;
        n = k;
    }
    return n;
}

/* One piece of the split raw text: a chunk of text or a special token. */
typedef struct split_part {
    size_t start, end; /* text bytes (after stripping) */
    int special;       /* -1: text, else SPECIAL_* */
} split_part;

typedef struct split_parts {
    split_part *v;
    size_t n, cap;
} split_parts;

static int parts_push(split_parts *p, split_part x) {
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 16;
        split_part *q = XLMR_REALLOC(p->v, nc * sizeof *q);
        if (!q) return 0;
        p->v = q;
        p->cap = nc;
    }
    p->v[p->n++] = x;
    return 1;
}

static int match_special(const uint8_t *s, size_t n) {
    for (int k = 0; k < N_SPECIAL; k++)
        if (n >= tok_special_len[k] && memcmp(s, tok_special_text[k], tok_special_len[k]) == 0) return k;
    return -1;
}

/* The raw text cut at the literal special tokens (leftmost match; no literal is a prefix of another), then
   the whitespace next to them removed: <mask> (lstrip=True, rstrip=False) eats only the space on its left,
   the others (plain strings in the reference) eat both sides. Text parts may end up empty. */
static int split_specials(const uint8_t *s, size_t n, split_parts *parts) {
    size_t chunk = 0, i = 0;
    while (i < n) {
        const uint8_t *lt = memchr(s + i, '<', n - i);
        if (!lt) break;
        i = (size_t)(lt - s);
        int k = match_special(s + i, n - i);
        if (k < 0) {
            i++;
            continue;
        }
        if (i > chunk && !parts_push(parts, (split_part){chunk, i, -1})) return 0;
        if (!parts_push(parts, (split_part){i, i + tok_special_len[k], k})) return 0;
        i += tok_special_len[k];
        chunk = i;
    }
    if (chunk < n && !parts_push(parts, (split_part){chunk, n, -1})) return 0;
    split_part *v = parts->v;
    for (size_t p = 0; p < parts->n; p++) {
        if (v[p].special < 0) continue;
        if (p > 0 && v[p - 1].special < 0) v[p - 1].end = v[p - 1].start + tok_rstrip_end(s + v[p - 1].start, v[p - 1].end - v[p - 1].start);
        if (v[p].special != SPECIAL_MASK && p + 1 < parts->n && v[p + 1].special < 0)
            v[p + 1].start += tok_lstrip_len(s + v[p + 1].start, v[p + 1].end - v[p + 1].start);
    }
    return 1;
}

/* Encodes one chunk with SentencePiece (no specials) and appends the ids. */
static xlmr_status encode_chunk(const tok_tokenizer *t, const uint8_t *s, size_t n, tok_buf *norm, tok_segments *segs, tok_ids *out,
                                xlmr_error *err) {
    norm->n = 0;
    xlmr_status st = tok_normalize(&t->nz, s, n, norm, err);
    if (st) return st;
    if ((st = tok_unigram_encode(&t->ug, norm->p, norm->n, segs, err))) return st;
    int prev_unk = 0;
    for (size_t i = 0; i < segs->n; i++) {
        const tok_segment *g = &segs->v[i];
        if (g->id == t->unk) {
            if (t->byte_fallback) {
                for (uint32_t k = g->start; k < g->end; k++)
                    if (!tok_ids_push(out, t->byte_ids[norm->p[k]])) goto nomem;
            } else if (!prev_unk) {
                if (!tok_ids_push(out, t->unk)) goto nomem;
            }
            prev_unk = 1;
        } else {
            if (!tok_ids_push(out, g->id)) goto nomem;
            prev_unk = 0;
        }
    }
    return XLMR_OK;
nomem:
    return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for token ids");
}

xlmr_status tok_encode_raw(const tok_tokenizer *t, const char *text, size_t n, tok_ids *out, xlmr_error *err) {
    if (!t || (!text && n)) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer or text");
    const uint8_t *s = (const uint8_t *)text;
    xlmr_status st = XLMR_OK;
    split_parts parts = {0};
    tok_buf norm = {0};
    tok_segments segs = {0};
    if (!split_specials(s, n, &parts)) goto nomem;
    for (size_t p = 0; p < parts.n && !st; p++) {
        const split_part *x = &parts.v[p];
        if (x->special >= 0) {
            if (!tok_ids_push(out, tok_special_id(t, x->special))) goto nomem;
        } else if (x->end > x->start) {
            st = encode_chunk(t, s + x->start, x->end - x->start, &norm, &segs, out, err);
        }
    }
    goto done;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
done:
    XLMR_FREE(parts.v);
    tok_buf_free(&norm);
    tok_segments_free(&segs);
    return st;
}

xlmr_status tok_encode(const tok_tokenizer *t, const char *text, size_t n, int max_len, tok_ids *out, xlmr_error *err) {
    if (!out) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL output");
    out->n = 0;
    if (max_len > 0 && max_len < 2) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: max_len %d leaves no room for <s> and </s>", max_len);
    if (!t) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer");
    if (!tok_ids_push(out, t->bos)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    xlmr_status st = tok_encode_raw(t, text, n, out, err);
    if (st) {
        out->n = 0;
        return st;
    }
    if (max_len > 0 && out->n + 1 > (size_t)max_len) out->n = (size_t)max_len - 1;
    if (!tok_ids_push(out, t->eos)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    return XLMR_OK;
}

xlmr_status tok_encode_pair(const tok_tokenizer *t, const char *a, size_t na, const char *b, size_t nb, int max_len, tok_ids *out,
                            xlmr_error *err) {
    if (!out) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL output");
    out->n = 0;
    if (max_len > 0 && max_len < 4)
        return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: max_len %d leaves no room for a pair's 4 special tokens", max_len);
    if (!t) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer");
    tok_ids ib = {0};
    xlmr_status st;
    if (!tok_ids_push(out, t->bos)) goto nomem;
    if ((st = tok_encode_raw(t, a, na, out, err))) goto fail;
    if ((st = tok_encode_raw(t, b, nb, &ib, err))) goto fail;
    size_t la = out->n - 1, lb = ib.n;
    if (max_len > 0 && la + lb + 4 > (size_t)max_len) {
        /* longest_first: one id at a time from the longer sequence, from the second on a tie. */
        size_t excess = la + lb + 4 - (size_t)max_len;
        for (; excess; excess--) {
            if (la > lb)
                la--;
            else
                lb--;
        }
        out->n = 1 + la;
    }
    if (!tok_ids_push(out, t->eos) || !tok_ids_push(out, t->eos)) goto nomem;
    for (size_t i = 0; i < lb; i++)
        if (!tok_ids_push(out, ib.ids[i])) goto nomem;
    if (!tok_ids_push(out, t->eos)) goto nomem;
    tok_ids_free(&ib);
    return XLMR_OK;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
fail:
    tok_ids_free(&ib);
    out->n = 0;
    return st;
}
