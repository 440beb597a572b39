/* tok_decode.c — ids back to text as the reference's XLMRobertaTokenizer.decode does it (see tokenizer.h). */
#include "tok_internal.h"

void tok_text_free(tok_text *v) {
    if (!v) return;
    XLMR_FREE(v->s);
    v->s = NULL;
    v->n = v->cap = 0;
}

static int text_reserve(tok_text *v, size_t extra) {
    size_t need;
    if (!xlmr_add_size(v->n, extra, &need) || !xlmr_add_size(need, 1, &need)) return 0;
    if (need <= v->cap) return 1;
    size_t cap = v->cap ? v->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return 0;
        cap *= 2;
    }
    char *p = XLMR_REALLOC(v->s, cap);
    if (!p) return 0;
    v->s = p;
    v->cap = cap;
    return 1;
}

/* Python str.replace(pat, rep) in place; rep is never longer than pat. */
static size_t py_replace(char *s, size_t n, const char *pat, const char *rep) {
    size_t pl = strlen(pat), rl = strlen(rep), r = 0, w = 0;
    while (r < n) {
        if (n - r >= pl && memcmp(s + r, pat, pl) == 0) {
            memmove(s + w, rep, rl);
            w += rl;
            r += pl;
        } else {
            s[w++] = s[r++];
        }
    }
    return w;
}

xlmr_status tok_decode(const tok_tokenizer *t, const int32_t *ids, size_t n, int skip_special, tok_text *out, xlmr_error *err) {
    if (!t || !out || (!ids && n)) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL argument to decode");
    out->n = 0;
    if (!text_reserve(out, 0)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    out->s[0] = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= t->n_tokens)
            return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: id %d at position %zu is outside the vocabulary (0..%d)", (int)id, i,
                             (int)t->n_tokens - 1);
        if (skip_special && (id == t->bos || id == t->eos || id == t->unk || id == t->pad || id == t->mask)) continue;
        size_t len = t->token_lens[id];
        if (!text_reserve(out, len)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory decoding");
        memcpy(out->s + out->n, t->tokens[id], len);
        out->n += len;
    }
    /* "▁" -> " " */
    char *s = out->s;
    size_t w = 0;
    for (size_t r = 0; r < out->n;) {
        if (out->n - r >= 3 && (uint8_t)s[r] == 0xE2 && (uint8_t)s[r + 1] == 0x96 && (uint8_t)s[r + 2] == 0x81) {
            s[w++] = ' ';
            r += 3;
        } else {
            s[w++] = s[r++];
        }
    }
    /* str.strip() */
    size_t end = tok_rstrip_end((const uint8_t *)s, w);
    size_t begin = tok_lstrip_len((const uint8_t *)s, end);
    memmove(s, s + begin, end - begin);
    size_t len = end - begin;
    /* clean_up_tokenization, in the reference's order */
    static const char *const kCleanup[][2] = {{" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},     {" ' ", "'"},
                                              {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (size_t k = 0; k < sizeof kCleanup / sizeof *kCleanup; k++) len = py_replace(s, len, kCleanup[k][0], kCleanup[k][1]);
    out->n = len;
    s[len] = 0;
    return XLMR_OK;
}
