/* tokenizer.c — XLM-R layer over SentencePiece Unigram (see tokenizer.h). */
#include "tokenizer.h"

#include <math.h>

#include "spm_model.h"
#include "tok_normalize.h"
#include "tok_trie.h"
#include "tok_unigram.h"

struct tok_tokenizer {
    int32_t n_tokens; /* V */
    char *strings;    /* every token string, NUL-terminated, back to back */
    const char **tokens;
    size_t *token_lens;
    float *scores;
    int32_t *types;
    uint8_t *user_defined; /* by id */
    uint8_t *charsmap;     /* owned copy of the precompiled charsmap */
    size_t charsmap_len;
    tok_trie pieces; /* normal + user-defined pieces -> id (Viterbi) */
    tok_trie user;   /* user-defined pieces only (normalizer prefix matcher) */
    int has_user;
    tok_normalizer nz;
    tok_unigram ug;
    int byte_fallback;
    int32_t byte_ids[256];
    int32_t bos, eos, unk, pad, mask;
    int add_space_prefix, remove_extra_whitespaces, escape_whitespaces;
};

enum { SPECIAL_BOS, SPECIAL_PAD, SPECIAL_EOS, SPECIAL_UNK, SPECIAL_MASK, N_SPECIAL };
static const char *const kSpecialText[N_SPECIAL] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
static const size_t kSpecialLen[N_SPECIAL] = {3, 5, 4, 5, 6};

static int32_t special_id(const tok_tokenizer *t, int which) {
    switch (which) {
    case SPECIAL_BOS: return t->bos;
    case SPECIAL_PAD: return t->pad;
    case SPECIAL_EOS: return t->eos;
    case SPECIAL_UNK: return t->unk;
    default: return t->mask;
    }
}

/* "<0xAB>" -> 0xAB, else -1 (model_interface.cc PieceToByte). */
static int piece_to_byte(const char *s, size_t n) {
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

void tok_free(tok_tokenizer *t) {
    if (!t) return;
    XLMR_FREE(t->strings);
    XLMR_FREE(t->tokens);
    XLMR_FREE(t->token_lens);
    XLMR_FREE(t->scores);
    XLMR_FREE(t->types);
    XLMR_FREE(t->user_defined);
    XLMR_FREE(t->charsmap);
    tok_trie_free(&t->pieces);
    tok_trie_free(&t->user);
    XLMR_FREE(t);
}

xlmr_status tok_from_vocab(const tok_vocab_desc *d, tok_tokenizer **out, xlmr_error *err) {
    *out = NULL;
    if (!d || !d->tokens || !d->token_lens || !d->scores || !d->types)
        return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: vocabulary description lacks tokens, lengths, scores or types");
    const size_t V = d->n_tokens;
    if (V < 5 || V > (size_t)INT32_MAX / 2)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %zu tokens (need at least 5: <s> <pad> </s> <unk> <mask>)", V);
    const int32_t sid[N_SPECIAL] = {d->bos_id, d->pad_id, d->eos_id, d->unk_id, d->mask_id};
    for (int i = 0; i < N_SPECIAL; i++) {
        if (sid[i] < 0 || (size_t)sid[i] >= V)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %s id %d is outside the vocabulary (0..%zu)", kSpecialText[i], (int)sid[i], V - 1);
        for (int j = 0; j < i; j++)
            if (sid[j] == sid[i])
                return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %s and %s have the same id %d", kSpecialText[j], kSpecialText[i], (int)sid[i]);
    }

    xlmr_status st;
    tok_trie_key *keys = NULL;
    tok_tokenizer *t = XLMR_CALLOC(1, sizeof *t);
    if (!t) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    t->n_tokens = (int32_t)V;
    t->bos = d->bos_id;
    t->pad = d->pad_id;
    t->eos = d->eos_id;
    t->unk = d->unk_id;
    t->mask = d->mask_id;
    t->add_space_prefix = d->add_space_prefix != 0;
    t->remove_extra_whitespaces = d->remove_extra_whitespaces != 0;
    t->escape_whitespaces = d->escape_whitespaces != 0;

    /* Token strings: the five specials are always their literal text (as convert_ids_to_tokens gives them). */
    size_t total = 0;
    for (size_t i = 0; i < V; i++) {
        size_t len = d->token_lens[i];
        int special = -1;
        for (int k = 0; k < N_SPECIAL; k++)
            if ((size_t)sid[k] == i) special = k;
        if (special >= 0) len = kSpecialLen[special];
        else if (!d->tokens[i] && len)
            { st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has no string", i); goto fail; }
        if (!xlmr_add_size(total, len + 1, &total) || len >= (size_t)INT32_MAX)
            { st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token strings too long in total"); goto fail; }
    }
    /* The long-lived arrays before the temporaries (keys, the trie builder's): freed, those then leave one hole
     * (~16 MB for XLM-R) that later allocations -- the activations -- can reuse; wasm memory never shrinks. */
    if (d->charsmap_len) {
        if (!d->charsmap) {
            st = xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: charsmap length %zu without data", d->charsmap_len);
            goto fail;
        }
        t->charsmap = XLMR_MALLOC(d->charsmap_len);
        if (!t->charsmap) {
            st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for the charsmap");
            goto fail;
        }
        memcpy(t->charsmap, d->charsmap, d->charsmap_len);
        t->charsmap_len = d->charsmap_len;
    }
    t->strings = XLMR_MALLOC(total);
    t->tokens = XLMR_MALLOC(V * sizeof *t->tokens);
    t->token_lens = XLMR_MALLOC(V * sizeof *t->token_lens);
    t->scores = XLMR_MALLOC(V * sizeof *t->scores);
    t->types = XLMR_MALLOC(V * sizeof *t->types);
    t->user_defined = XLMR_CALLOC(V, 1);
    keys = XLMR_MALLOC(V * sizeof *keys);
    if (!t->strings || !t->tokens || !t->token_lens || !t->scores || !t->types || !t->user_defined || !keys) {
        st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", V);
        goto fail;
    }

    char *w = t->strings;
    size_t n_keys = 0, n_user = 0, n_bytes = 0;
    float min_score = 3.402823466e+38f, max_score = 1.175494351e-38f; /* FLT_MAX, FLT_MIN as the reference */
    for (int k = 0; k < 256; k++) t->byte_ids[k] = -1;
    for (size_t i = 0; i < V; i++) {
        int special = -1;
        for (int k = 0; k < N_SPECIAL; k++)
            if ((size_t)sid[k] == i) special = k;
        const char *s = special >= 0 ? kSpecialText[special] : d->tokens[i];
        size_t len = special >= 0 ? kSpecialLen[special] : d->token_lens[i];
        int32_t type = d->types[i];
        if (special >= 0) {
            type = special == SPECIAL_UNK ? SPM_UNKNOWN : SPM_CONTROL;
        } else {
            if (type < SPM_NORMAL || type > SPM_BYTE) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has type %d (expected 1..6)", i, (int)type);
                goto fail;
            }
            if (len && memchr(s, 0, len)) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu contains a NUL byte", i);
                goto fail;
            }
            if (type == SPM_UNKNOWN) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu is a second unknown token (<unk> is %d)", i, (int)d->unk_id);
                goto fail;
            }
        }
        if (len) memcpy(w, s, len);
        w[len] = 0;
        t->tokens[i] = w;
        t->token_lens[i] = len;
        w += len + 1;
        t->scores[i] = special >= 0 ? 0.0f : d->scores[i];
        t->types[i] = type;
        if (type == SPM_NORMAL || type == SPM_USER_DEFINED) {
            if (len == 0) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu is an empty string", i);
                goto fail;
            }
            keys[n_keys++] = (tok_trie_key){(const uint8_t *)t->tokens[i], (uint32_t)len, (int32_t)i,
                                            type == SPM_USER_DEFINED ? NAN : t->scores[i]};
        }
        if (type == SPM_NORMAL) {
            float sc = t->scores[i];
            if (sc != sc) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has a NaN score", i);
                goto fail;
            }
            if (sc < min_score) min_score = sc;
            if (sc > max_score) max_score = sc;
        }
        if (type == SPM_USER_DEFINED) {
            t->user_defined[i] = 1;
            n_user++;
        }
        if (type == SPM_BYTE) {
            int b = piece_to_byte(s, len);
            if (b < 0) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: byte token %zu is not of the form <0xXX>", i);
                goto fail;
            }
            if (t->byte_ids[b] < 0) n_bytes++;
            t->byte_ids[b] = (int32_t)i;
        }
    }
    if (min_score == 3.402823466e+38f) min_score = 0.0f;
    if (max_score == 1.175494351e-38f) max_score = 0.0f;
    if (n_bytes && n_bytes != 256) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %zu byte tokens, byte fallback needs all 256", n_bytes);
        goto fail;
    }
    t->byte_fallback = n_bytes == 256;

    if ((st = tok_normalizer_set_charsmap(&t->nz, t->charsmap, t->charsmap_len, err))) goto fail;

    /* User-defined pieces first (their own trie), then all matchable pieces. */
    if (n_user) {
        tok_trie_key *ukeys = XLMR_MALLOC(n_user * sizeof *ukeys);
        if (!ukeys) {
            st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
            goto fail;
        }
        size_t j = 0;
        for (size_t i = 0; i < n_keys; i++)
            if (t->user_defined[keys[i].value]) ukeys[j++] = keys[i];
        st = tok_trie_build(&t->user, ukeys, j, err);
        XLMR_FREE(ukeys);
        if (st) goto fail;
        t->has_user = 1;
    }
    if ((st = tok_trie_build(&t->pieces, keys, n_keys, err))) goto fail;
    XLMR_FREE(keys);
    keys = NULL;

    t->nz.user = t->has_user ? &t->user : NULL;
    t->nz.add_dummy_prefix = t->add_space_prefix;
    t->nz.remove_extra_whitespaces = t->remove_extra_whitespaces;
    t->nz.escape_whitespaces = t->escape_whitespaces;
    t->ug.trie = &t->pieces;
    t->ug.max_score = max_score;
    t->ug.unk_score = min_score - 10.0f; /* kUnkPenalty */
    t->ug.unk_id = t->unk;
    *out = t;
    return XLMR_OK;
fail:
    XLMR_FREE(keys);
    tok_free(t);
    return st;
}

xlmr_status tok_from_spm_model(const uint8_t *bytes, size_t n, tok_tokenizer **out, xlmr_error *err) {
    *out = NULL;
    spm_model m;
    xlmr_status st = spm_model_parse(bytes, n, &m, err);
    if (st) return st;
    const char **tokens = NULL;
    size_t *lens = NULL;
    float *scores = NULL;
    int32_t *types = NULL;
    if (m.model_type != SPM_MODEL_UNIGRAM) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: model_type %d is not Unigram (1); XLM-R uses Unigram", m.model_type);
        goto done;
    }
    if (m.treat_whitespace_as_suffix) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: treat_whitespace_as_suffix is not supported");
        goto done;
    }
    /* XLM-R's layout: <unk>, <s>, </s>, then the pieces. */
    if (m.n_pieces < 3 || m.pieces[0].type != SPM_UNKNOWN || m.pieces[1].type != SPM_CONTROL || m.pieces[2].type != SPM_CONTROL) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT,
                       "sentencepiece model: expected XLM-R's layout (piece 0 unknown, pieces 1 and 2 control), got %zu pieces of types %d %d %d",
                       m.n_pieces, m.n_pieces > 0 ? (int)m.pieces[0].type : 0, m.n_pieces > 1 ? (int)m.pieces[1].type : 0,
                       m.n_pieces > 2 ? (int)m.pieces[2].type : 0);
        goto done;
    }
    size_t n_bytes = 0;
    for (size_t i = 0; i < m.n_pieces; i++) {
        if (i > 0 && m.pieces[i].type == SPM_UNKNOWN) {
            st = xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu is a second unknown piece", i);
            goto done;
        }
        if (m.pieces[i].type == SPM_BYTE) {
            if (!m.byte_fallback) {
                st = xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: byte piece %zu found although byte_fallback is false", i);
                goto done;
            }
            n_bytes++;
        }
    }
    if (m.byte_fallback && n_bytes < 256) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: byte_fallback is true but there are %zu byte pieces, not 256", n_bytes);
        goto done;
    }
    const size_t V = m.n_pieces + 2;
    tokens = XLMR_MALLOC(V * sizeof *tokens);
    lens = XLMR_MALLOC(V * sizeof *lens);
    scores = XLMR_MALLOC(V * sizeof *scores);
    types = XLMR_MALLOC(V * sizeof *types);
    if (!tokens || !lens || !scores || !types) {
        st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", V);
        goto done;
    }
    for (int k = 0; k < 4; k++) {
        tokens[k] = kSpecialText[k];
        lens[k] = kSpecialLen[k];
        scores[k] = 0.0f;
        types[k] = k == 3 ? SPM_UNKNOWN : SPM_CONTROL;
    }
    for (size_t i = 3; i < m.n_pieces; i++) {
        tokens[i + 1] = (const char *)m.pieces[i].str;
        lens[i + 1] = m.pieces[i].len;
        scores[i + 1] = m.pieces[i].score;
        types[i + 1] = m.pieces[i].type;
    }
    tokens[V - 1] = kSpecialText[SPECIAL_MASK];
    lens[V - 1] = kSpecialLen[SPECIAL_MASK];
    scores[V - 1] = 0.0f;
    types[V - 1] = SPM_CONTROL;
    tok_vocab_desc d = {
        .n_tokens = V,
        .tokens = tokens,
        .token_lens = lens,
        .scores = scores,
        .types = types,
        .charsmap = m.charsmap,
        .charsmap_len = m.charsmap_len,
        .add_space_prefix = m.add_dummy_prefix,
        .remove_extra_whitespaces = m.remove_extra_whitespaces,
        .escape_whitespaces = m.escape_whitespaces,
        .bos_id = 0,
        .eos_id = 2,
        .unk_id = 3,
        .pad_id = 1,
        .mask_id = (int32_t)(V - 1),
    };
    st = tok_from_vocab(&d, out, err);
done:
    XLMR_FREE(tokens);
    XLMR_FREE(lens);
    XLMR_FREE(scores);
    XLMR_FREE(types);
    spm_model_free(&m);
    return st;
}

void tok_export_vocab(const tok_tokenizer *t, tok_vocab_desc *d) {
    memset(d, 0, sizeof *d);
    d->n_tokens = (size_t)t->n_tokens;
    d->tokens = t->tokens;
    d->token_lens = t->token_lens;
    d->scores = t->scores;
    d->types = t->types;
    d->charsmap = t->charsmap;
    d->charsmap_len = t->charsmap_len;
    d->add_space_prefix = t->add_space_prefix;
    d->remove_extra_whitespaces = t->remove_extra_whitespaces;
    d->escape_whitespaces = t->escape_whitespaces;
    d->bos_id = t->bos;
    d->eos_id = t->eos;
    d->unk_id = t->unk;
    d->pad_id = t->pad;
    d->mask_id = t->mask;
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
        if (n == kSpecialLen[k] && memcmp(piece, kSpecialText[k], n) == 0) return special_id(t, k);
    int32_t id = tok_trie_find(&t->pieces, (const uint8_t *)piece, n);
    if (id >= 0) return id;
    for (int32_t i = 0; i < t->n_tokens; i++) /* control, byte, unused tokens: rare lookups */
        if (t->token_lens[i] == n && memcmp(t->tokens[i], piece, n) == 0) return i;
    return t->unk;
}

/* ---- encoding ---- */

static int ids_push(tok_ids *v, int32_t id) {
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

void tok_text_free(tok_text *v) {
    if (!v) return;
    XLMR_FREE(v->s);
    v->s = NULL;
    v->n = v->cap = 0;
}

/* Python's str.isspace(). */
static int py_isspace(uint32_t c) {
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

static size_t lstrip_len(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        size_t len = utf8_strict(s + i, n - i, &c);
        if (!len || !py_isspace(c)) break;
        i += len;
    }
    return i;
}

static size_t rstrip_end(const uint8_t *s, size_t n) {
    while (n) {
        size_t k = n - 1, back = 0;
        while (k > 0 && back < 3 && (s[k] & 0xC0) == 0x80) {
            k--;
            back++;
        }
        uint32_t c;
        size_t len = utf8_strict(s + k, n - k, &c);
        if (len != n - k || !py_isspace(c)) break;
        n = k;
    }
    return n;
}

/* One piece of the split raw text: a chunk of text or a special token. */
typedef struct split_part {
    size_t start, end; /* text bytes (after stripping) */
    int special;       /* -1: text, else SPECIAL_* */
} split_part;

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
                    if (!ids_push(out, t->byte_ids[norm->p[k]])) goto nomem;
            } else if (!prev_unk) {
                if (!ids_push(out, t->unk)) goto nomem;
            }
            prev_unk = 1;
        } else {
            if (!ids_push(out, g->id)) goto nomem;
            prev_unk = 0;
        }
    }
    return XLMR_OK;
nomem:
    return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for token ids");
}

static int match_special(const uint8_t *s, size_t n) {
    for (int k = 0; k < N_SPECIAL; k++)
        if (n >= kSpecialLen[k] && memcmp(s, kSpecialText[k], kSpecialLen[k]) == 0) return k;
    return -1;
}

xlmr_status tok_encode_raw(const tok_tokenizer *t, const char *text, size_t n, tok_ids *out, xlmr_error *err) {
    if (!t || (!text && n)) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer or text");
    const uint8_t *s = (const uint8_t *)text;
    xlmr_status st = XLMR_OK;
    split_part *parts = NULL;
    size_t n_parts = 0, cap = 0;
    tok_buf norm = {0};
    tok_segments segs = {0};

    /* Cut the literal special tokens out (leftmost match; no literal is a prefix of another). */
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
        if (n_parts + 2 > cap) {
            size_t nc = cap ? cap * 2 : 16;
            split_part *p = XLMR_REALLOC(parts, nc * sizeof *p);
            if (!p) goto nomem;
            parts = p;
            cap = nc;
        }
        if (i > chunk) parts[n_parts++] = (split_part){chunk, i, -1};
        parts[n_parts++] = (split_part){i, i + kSpecialLen[k], k};
        i += kSpecialLen[k];
        chunk = i;
    }
    if (!n_parts) {
        st = encode_chunk(t, s, n, &norm, &segs, out, err);
        goto done;
    }
    if (chunk < n) {
        if (n_parts + 1 > cap) {
            split_part *p = XLMR_REALLOC(parts, (cap + 1) * sizeof *p);
            if (!p) goto nomem;
            parts = p;
            cap++;
        }
        parts[n_parts++] = (split_part){chunk, n, -1};
    }
    /* Whitespace next to specials: <mask> (lstrip=True, rstrip=False) eats only the space on its left,
       the others (plain strings in the reference) eat both sides. */
    for (size_t p = 0; p < n_parts; p++) {
        if (parts[p].special < 0) continue;
        if (p > 0 && parts[p - 1].special < 0) {
            split_part *l = &parts[p - 1];
            l->end = l->start + rstrip_end(s + l->start, l->end - l->start);
        }
        if (parts[p].special != SPECIAL_MASK && p + 1 < n_parts && parts[p + 1].special < 0) {
            split_part *r = &parts[p + 1];
            r->start += lstrip_len(s + r->start, r->end - r->start);
        }
    }
    for (size_t p = 0; p < n_parts; p++) {
        if (parts[p].special >= 0) {
            if (!ids_push(out, special_id(t, parts[p].special))) goto nomem;
        } else if (parts[p].end > parts[p].start) {
            if ((st = encode_chunk(t, s + parts[p].start, parts[p].end - parts[p].start, &norm, &segs, out, err))) goto done;
        }
    }
    goto done;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
done:
    XLMR_FREE(parts);
    tok_buf_free(&norm);
    tok_segments_free(&segs);
    return st;
}

xlmr_status tok_encode(const tok_tokenizer *t, const char *text, size_t n, int max_len, tok_ids *out, xlmr_error *err) {
    if (!out) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL output");
    out->n = 0;
    if (max_len > 0 && max_len < 2) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: max_len %d leaves no room for <s> and </s>", max_len);
    if (!t) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: NULL tokenizer");
    if (!ids_push(out, t->bos)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    xlmr_status st = tok_encode_raw(t, text, n, out, err);
    if (st) {
        out->n = 0;
        return st;
    }
    if (max_len > 0 && out->n + 1 > (size_t)max_len) out->n = (size_t)max_len - 1;
    if (!ids_push(out, t->eos)) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
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
    if (!ids_push(out, t->bos)) goto nomem;
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
    if (!ids_push(out, t->eos) || !ids_push(out, t->eos)) goto nomem;
    for (size_t i = 0; i < lb; i++)
        if (!ids_push(out, ib.ids[i])) goto nomem;
    if (!ids_push(out, t->eos)) goto nomem;
    tok_ids_free(&ib);
    return XLMR_OK;
nomem:
    st = xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
fail:
    tok_ids_free(&ib);
    out->n = 0;
    return st;
}

/* ---- decoding ---- */

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
    size_t end = rstrip_end((const uint8_t *)s, w);
    size_t begin = lstrip_len((const uint8_t *)s, end);
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
