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

/* Where a chunk's spans go (NULL: ids only): 2 per id, byte offsets into the caller's text. */
typedef struct chunk_spans {
    tok_ids *out;
    tok_align al;
    size_t base; /* the chunk's offset in the text */
    int rule;    /* TOK_OFFSETS_* */
} chunk_spans;

static int spans_push(chunk_spans *sp, size_t start, size_t end) {
    return tok_ids_push(sp->out, (int32_t)(sp->base + start)) && tok_ids_push(sp->out, (int32_t)(sp->base + end));
}

/* The spans of one chunk's pieces from first (an index into sp->out's pairs) on: with TOK_OFFSETS_TRIMMED,
   the whitespace a leading "▁" stands for is left out, and a piece that is only that whitespace (a lone "▁")
   takes the span of the next piece's first character. s is the whole text. */
static void trim_spans(const uint8_t *s, chunk_spans *sp, size_t first) {
    if (sp->rule != TOK_OFFSETS_TRIMMED) return;
    int32_t *v = sp->out->ids;
    const size_t n = sp->out->n / 2;
    for (size_t i = first; i < n; i++) {
        const size_t start = (size_t)v[2 * i], end = (size_t)v[2 * i + 1];
        v[2 * i] = (int32_t)(start + tok_lstrip_len(s + start, end - start));
    }
    for (size_t i = n; i-- > first;) {
        if (v[2 * i] < v[2 * i + 1] || i + 1 >= n) continue;
        size_t len;
        const size_t next = (size_t)v[2 * i + 2];
        if (next >= (size_t)v[2 * i + 3]) continue;
        tok_utf8_decode(s + next, (size_t)v[2 * i + 3] - next, &len);
        v[2 * i] = (int32_t)next;
        v[2 * i + 1] = (int32_t)(next + len);
    }
}

/* Encodes one chunk with SentencePiece (no specials) and appends the ids (and their spans). */
static xlmr_status encode_chunk(const tok_tokenizer *t, const uint8_t *s, size_t n, tok_buf *norm, tok_segments *segs, tok_ids *out,
                                chunk_spans *sp, xlmr_error *err) {
    norm->n = 0;
    if (sp) sp->al.n = 0;
    xlmr_status st = tok_normalize_aligned(&t->nz, s, n, norm, sp ? &sp->al : NULL, err);
    if (st) return st;
    if ((st = tok_unigram_encode(&t->ug, norm->p, norm->n, segs, err))) return st;
    const uint32_t *al = sp ? sp->al.v : NULL;
    const size_t first = sp ? sp->out->n / 2 : 0;
    int prev_unk = 0;
    for (size_t i = 0; i < segs->n; i++) {
        const tok_segment *g = &segs->v[i];
        const int merged = g->id == t->unk && !t->byte_fallback && prev_unk;
        const size_t pieces = g->id == t->unk && t->byte_fallback ? g->end - g->start : merged ? 0 : 1;
        for (size_t k = 0; k < pieces; k++) {
            int32_t id = g->id != t->unk ? g->id : t->byte_fallback ? t->byte_ids[norm->p[g->start + k]] : t->unk;
            if (!tok_ids_push(out, id) || (sp && !spans_push(sp, al[g->start], al[g->end]))) goto nomem;
        }
        if (merged && sp) sp->out->ids[sp->out->n - 1] = (int32_t)(sp->base + al[g->end]); /* one <unk> for the run */
        prev_unk = g->id == t->unk;
    }
    if (sp) trim_spans(s - sp->base, sp, first);
    return XLMR_OK;
nomem:
    return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for token ids");
}

/* Ids of the text alone, and with spans non-NULL their byte spans (2 per id; a special token typed in the
   text spans its characters). */
static xlmr_status encode_text(const tok_tokenizer *t, const char *text, size_t n, tok_ids *out, tok_ids *spans, int rule, xlmr_error *err) {
    if (!t || (!text && n)) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer or text");
    if (spans && n > (size_t)INT32_MAX) return xlmr_fail(err, XLMR_ERR_TOO_LONG, "tokenizer: %zu bytes are too long for offsets", n);
    const uint8_t *s = (const uint8_t *)text;
    xlmr_status st = XLMR_OK;
    split_parts parts = {0};
    tok_buf norm = {0};
    tok_segments segs = {0};
    chunk_spans sp = {spans, {0}, 0, rule};
    if (!split_specials(s, n, &parts)) goto nomem;
    for (size_t p = 0; p < parts.n && !st; p++) {
        const split_part *x = &parts.v[p];
        sp.base = x->start;
        if (x->special >= 0) {
            if (!tok_ids_push(out, tok_special_id(t, x->special)) || (spans && !spans_push(&sp, 0, x->end - x->start))) goto nomem;
        } else if (x->end > x->start) {
            st = encode_chunk(t, s + x->start, x->end - x->start, &norm, &segs, out, spans ? &sp : NULL, err);
        }
    }
    goto done;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
done:
    XLMR_FREE(parts.v);
    tok_buf_free(&norm);
    tok_segments_free(&segs);
    tok_align_free(&sp.al);
    return st;
}

xlmr_status tok_encode_raw(const tok_tokenizer *t, const char *text, size_t n, tok_ids *out, xlmr_error *err) {
    return encode_text(t, text, n, out, NULL, TOK_OFFSETS_TRIMMED, err);
}

/* Byte offsets (entries from first on) -> UTF-16 code units of text; an invalid byte counts one unit (U+FFFD). */
static int spans_to_utf16(const char *text, size_t n, tok_ids *spans, size_t first) {
    uint32_t *units = XLMR_MALLOC((n + 1) * sizeof *units);
    if (!units) return 0;
    uint32_t u = 0;
    for (size_t i = 0; i < n;) {
        size_t len;
        uint32_t c = tok_utf8_decode((const uint8_t *)text + i, n - i, &len);
        for (size_t k = 0; k < len; k++) units[i + k] = u; /* spans start and end on character boundaries */
        u += c >= 0x10000 ? 2 : 1;
        i += len;
    }
    units[n] = u;
    for (size_t i = first; i < spans->n; i++) spans->ids[i] = (int32_t)units[spans->ids[i]];
    XLMR_FREE(units);
    return 1;
}

xlmr_status tok_encode_raw_offsets(const tok_tokenizer *t, const char *text, size_t n, int rule, tok_ids *out, tok_ids *offsets,
                                   xlmr_error *err) {
    const size_t first = offsets->n;
    xlmr_status st = encode_text(t, text, n, out, offsets, rule, err);
    if (!st && !spans_to_utf16(text, n, offsets, first)) st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for offsets");
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

xlmr_status tok_encode_offsets(const tok_tokenizer *t, const char *text, size_t n, int max_len, int rule, tok_ids *out, tok_ids *offsets,
                               xlmr_error *err) {
    if (!out || !offsets) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL output");
    out->n = offsets->n = 0;
    if (max_len > 0 && max_len < 2) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: max_len %d leaves no room for <s> and </s>", max_len);
    if (!t) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer");
    xlmr_status st = XLMR_OK;
    if (!tok_ids_push(out, t->bos) || !tok_ids_push(offsets, 0) || !tok_ids_push(offsets, 0)) goto nomem;
    if ((st = tok_encode_raw_offsets(t, text, n, rule, out, offsets, err))) goto fail;
    if (max_len > 0 && out->n + 1 > (size_t)max_len) {
        out->n = (size_t)max_len - 1;
        offsets->n = 2 * out->n;
    }
    if (!tok_ids_push(out, t->eos) || !tok_ids_push(offsets, 0) || !tok_ids_push(offsets, 0)) goto nomem;
    return XLMR_OK;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
fail:
    out->n = offsets->n = 0;
    return st;
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
    size_t la = out->n - 1, lb = ib.n, n_special = t->pair_single_sep ? 3 : 4;
    if (max_len > 0 && la + lb + n_special > (size_t)max_len) {
        /* longest_first: one id at a time from the longer sequence, from the second on a tie. */
        size_t excess = la + lb + n_special - (size_t)max_len;
        for (; excess; excess--) {
            if (la > lb)
                la--;
            else
                lb--;
        }
        out->n = 1 + la;
    }
    if (!tok_ids_push(out, t->eos) || (!t->pair_single_sep && !tok_ids_push(out, t->eos))) goto nomem;
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
