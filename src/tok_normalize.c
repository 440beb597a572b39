/* tok_normalize.c — see tok_normalize.h. */
#include "tok_normalize.h"

int tok_buf_reserve(tok_buf *b, size_t extra) {
    size_t need;
    if (!xlmr_add_size(b->n, extra, &need)) return 0;
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) return 0;
        cap *= 2;
    }
    uint8_t *p = XLMR_REALLOC(b->p, cap);
    if (!p) return 0;
    b->p = p;
    b->cap = cap;
    return 1;
}

void tok_buf_free(tok_buf *b) {
    XLMR_FREE(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

xlmr_status tok_normalizer_set_charsmap(tok_normalizer *nz, const uint8_t *blob, size_t n, xlmr_error *err) {
    nz->units = NULL;
    nz->n_units = 0;
    nz->repl = NULL;
    nz->repl_len = 0;
    if (n == 0) return XLMR_OK;
    if (n <= 4) return xlmr_fail(err, XLMR_ERR_FORMAT, "precompiled charsmap: %zu bytes, too short for its 4-byte header", n);
    uint32_t trie_size = xlmr_rd_u32(blob);
    if ((size_t)trie_size > n - 4)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "precompiled charsmap: trie size %u exceeds the %zu bytes after the header", trie_size, n - 4);
    nz->units = blob + 4;
    nz->n_units = trie_size / 4;
    nz->repl = blob + 4 + trie_size;
    nz->repl_len = n - 4 - trie_size;
    if (nz->n_units == 0) nz->units = NULL;
    return XLMR_OK;
}

uint32_t tok_utf8_decode(const uint8_t *s, size_t n, size_t *len) {
    uint8_t b0 = s[0];
    if (b0 < 0x80) {
        *len = 1;
        return b0;
    }
#define TRAIL(x) (((x) & 0xC0) == 0x80)
#define VALID_CP(c) ((c) < 0xD800 || ((c) >= 0xE000 && (c) <= 0x10FFFF))
    if (n >= 2 && (b0 & 0xE0) == 0xC0) {
        uint32_t c = ((uint32_t)(b0 & 0x1F) << 6) | (s[1] & 0x3F);
        if (TRAIL(s[1]) && c >= 0x80) {
            *len = 2;
            return c;
        }
    } else if (n >= 3 && (b0 & 0xF0) == 0xE0) {
        uint32_t c = ((uint32_t)(b0 & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        if (TRAIL(s[1]) && TRAIL(s[2]) && c >= 0x800 && VALID_CP(c)) {
            *len = 3;
            return c;
        }
    } else if (n >= 4 && (b0 & 0xF8) == 0xF0) {
        uint32_t c = ((uint32_t)(b0 & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        if (TRAIL(s[1]) && TRAIL(s[2]) && TRAIL(s[3]) && c >= 0x10000 && VALID_CP(c)) {
            *len = 4;
            return c;
        }
    }
#undef TRAIL
#undef VALID_CP
    *len = 1;
    return 0xFFFD;
}

/* darts-clone DoubleArrayUnit fields */
static inline uint32_t du_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static inline uint32_t du_label(uint32_t u) { return u & ((1u << 31) | 0xFFu); }
static inline int du_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static inline uint32_t du_value(uint32_t u) { return u & ((1u << 31) - 1); }

/* Normalizer::kMaxTrieResultsSize: only the first 32 matches (shortest first) are considered. */
#define CHARSMAP_MAX_RESULTS 32

/* Longest charsmap rule matching a prefix of s: consumed length (0: none) and its replacement. */
static size_t charsmap_match(const tok_normalizer *nz, const uint8_t *s, size_t n, const uint8_t **rep, size_t *rep_len) {
    const uint8_t *units = nz->units;
    const size_t nu = nz->n_units;
    size_t pos = du_offset(xlmr_rd_u32(units));
    size_t best = 0;
    uint32_t best_value = 0;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        pos ^= s[i];
        if (pos >= nu) break;
        uint32_t u = xlmr_rd_u32(units + 4 * pos);
        if (du_label(u) != s[i]) break;
        pos ^= du_offset(u);
        if (du_has_leaf(u)) {
            if (pos >= nu) break;
            if (found < CHARSMAP_MAX_RESULTS) {
                best = i + 1;
                best_value = du_value(xlmr_rd_u32(units + 4 * pos));
            }
            found++;
        }
    }
    if (!best) return 0;
    if (best_value >= nz->repl_len) {
        *rep = nz->repl;
        *rep_len = 0;
    } else {
        const uint8_t *r = nz->repl + best_value;
        const uint8_t *z = memchr(r, 0, nz->repl_len - best_value);
        *rep = r;
        *rep_len = z ? (size_t)(z - r) : nz->repl_len - best_value;
    }
    return best;
}

/* Normalizer::NormalizePrefix: bytes consumed (>= 1) and the normalized text for them. */
static size_t normalize_prefix(const tok_normalizer *nz, const uint8_t *s, size_t n, const uint8_t **out, size_t *out_len) {
    static const uint8_t kReplacement[3] = {0xEF, 0xBF, 0xBD};
    if (nz->user) {
        int32_t v;
        size_t m = tok_trie_longest_prefix(nz->user, s, n, &v);
        if (m) {
            *out = s;
            *out_len = m;
            return m;
        }
    }
    if (nz->units) {
        size_t m = charsmap_match(nz, s, n, out, out_len);
        if (m) return m;
    }
    size_t len;
    uint32_t c = tok_utf8_decode(s, n, &len);
    if (c == 0xFFFD && len != 3) {
        *out = kReplacement;
        *out_len = 3;
        return 1;
    }
    *out = s;
    *out_len = len;
    return len;
}

static const uint8_t kSpaceSymbol[3] = {0xE2, 0x96, 0x81};

/* Appends one alignment entry per output byte (and per byte skipped from the end, undone). */
static int align_push(tok_align *al, uint32_t orig, size_t count) {
    if (!al) return 1;
    if (al->n + count > al->cap) {
        size_t cap = al->cap ? al->cap : 64;
        while (cap < al->n + count) {
            if (cap > SIZE_MAX / 8) return 0;
            cap *= 2;
        }
        uint32_t *p = XLMR_REALLOC(al->v, cap * sizeof *p);
        if (!p) return 0;
        al->v = p;
        al->cap = cap;
    }
    for (size_t i = 0; i < count; i++) al->v[al->n++] = orig;
    return 1;
}

void tok_align_free(tok_align *al) {
    XLMR_FREE(al->v);
    al->v = NULL;
    al->n = al->cap = 0;
}

/* The output for one input unit (consumed: its offset in the input): spaces escaped to "▁" when asked. */
static int emit_unit(const tok_normalizer *nz, const uint8_t *p, size_t plen, uint32_t consumed, tok_buf *out, tok_align *al) {
    size_t worst;
    if (!xlmr_mul_size(plen, 3, &worst) || !tok_buf_reserve(out, worst)) return 0;
    uint8_t *o = out->p + out->n;
    for (size_t i = 0; i < plen; i++) {
        if (p[i] == ' ' && nz->escape_whitespaces) {
            *o++ = 0xE2;
            *o++ = 0x96;
            *o++ = 0x81;
            if (!align_push(al, consumed, 3)) return 0;
        } else {
            *o++ = p[i];
            if (!align_push(al, consumed, 1)) return 0;
        }
    }
    out->n = (size_t)(o - out->p);
    return 1;
}

xlmr_status tok_normalize(const tok_normalizer *nz, const uint8_t *in, size_t n, tok_buf *out, xlmr_error *err) {
    return tok_normalize_aligned(nz, in, n, out, NULL, err);
}

xlmr_status tok_normalize_aligned(const tok_normalizer *nz, const uint8_t *in, size_t n, tok_buf *out, tok_align *al, xlmr_error *err) {
    const uint8_t *p;
    size_t plen;
    uint32_t consumed = 0;
    if (nz->remove_extra_whitespaces) {
        while (n) {
            size_t used = normalize_prefix(nz, in, n, &p, &plen);
            if (!(plen == 1 && p[0] == ' ')) break;
            in += used;
            n -= used;
            consumed += (uint32_t)used;
        }
    }
    if (!n) return align_push(al, consumed, 1) ? XLMR_OK : xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory normalizing text");

    const size_t start = out->n, al_start = al ? al->n : 0;
    size_t est;
    if (!xlmr_mul_size(n, 3, &est) || !tok_buf_reserve(out, est + 3))
        return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: cannot allocate %zu bytes to normalize %zu bytes of text", est, n);
    if (nz->add_dummy_prefix && !emit_unit(nz, (const uint8_t *)" ", 1, consumed, out, al)) goto nomem;
    int is_prev_space = nz->remove_extra_whitespaces;
    while (n) {
        size_t used = normalize_prefix(nz, in, n, &p, &plen);
        if (is_prev_space)
            while (plen && p[0] == ' ') {
                p++;
                plen--;
            }
        if (plen) {
            if (!emit_unit(nz, p, plen, consumed, out, al)) goto nomem;
            is_prev_space = p[plen - 1] == ' ';
        }
        in += used;
        n -= used;
        consumed += (uint32_t)used;
        if (!nz->remove_extra_whitespaces) is_prev_space = 0;
    }
    if (nz->remove_extra_whitespaces) {
        const size_t sp = nz->escape_whitespaces ? 3 : 1;
        while (out->n - start >= sp && memcmp(out->p + out->n - sp, nz->escape_whitespaces ? kSpaceSymbol : (const uint8_t *)" ", sp) == 0) {
            out->n -= sp;
            if (al) {
                consumed = al->v[al_start + (out->n - start)];
                al->n = al_start + (out->n - start);
            }
        }
    }
    if (!align_push(al, consumed, 1)) goto nomem;
    return XLMR_OK;
nomem:
    return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory normalizing text");
}
