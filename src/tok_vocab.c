/* tok_vocab.c — a tokenizer built from a vocabulary description (GGUF's tokenizer.ggml.* arrays), and
 * the description exported back (see tokenizer.h). */
#include <math.h>

#include "spm_model.h"
#include "tok_internal.h"

const char *const tok_special_text[N_SPECIAL] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
const size_t tok_special_len[N_SPECIAL] = {3, 5, 4, 5, 6};

/* What the scan over the vocabulary gathers for the tries and the Viterbi scores. */
typedef struct vocab_scan {
    int32_t sid[N_SPECIAL]; /* the specials' ids, SPECIAL_* order */
    tok_trie_key *keys;     /* normal + user-defined pieces */
    size_t n_keys, n_user, n_bytes;
    float min_score, max_score; /* over normal pieces */
} vocab_scan;

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

/* SPECIAL_* of token i, or -1. */
static int special_at(const vocab_scan *sc, size_t i) {
    for (int k = 0; k < N_SPECIAL; k++)
        if ((size_t)sc->sid[k] == i) return k;
    return -1;
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

/* The description's shape: arrays present, 5 <= V, the five specials distinct and in range. */
static xlmr_status check_desc(const tok_vocab_desc *d, vocab_scan *sc, xlmr_error *err) {
    if (!d || !d->tokens || !d->token_lens || !d->scores || !d->types)
        return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: vocabulary description lacks tokens, lengths, scores or types");
    const size_t V = d->n_tokens;
    if (V < 5 || V > (size_t)INT32_MAX / 2)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %zu tokens (need at least 5: <s> <pad> </s> <unk> <mask>)", V);
    const int32_t sid[N_SPECIAL] = {d->bos_id, d->pad_id, d->eos_id, d->unk_id, d->mask_id};
    for (int i = 0; i < N_SPECIAL; i++) {
        if (sid[i] < 0 || (size_t)sid[i] >= V)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %s id %d is outside the vocabulary (0..%zu)", tok_special_text[i], (int)sid[i],
                             V - 1);
        for (int j = 0; j < i; j++)
            if (sid[j] == sid[i])
                return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %s and %s have the same id %d", tok_special_text[j], tok_special_text[i],
                                 (int)sid[i]);
        sc->sid[i] = sid[i];
    }
    return XLMR_OK;
}

/* Bytes of all token strings with their NUL: the five specials are always their literal text (as
   convert_ids_to_tokens gives them). */
static xlmr_status string_bytes(const tok_vocab_desc *d, const vocab_scan *sc, size_t *total, xlmr_error *err) {
    *total = 0;
    for (size_t i = 0; i < d->n_tokens; i++) {
        size_t len = d->token_lens[i];
        int special = special_at(sc, i);
        if (special >= 0) len = tok_special_len[special];
        else if (!d->tokens[i] && len) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has no string", i);
        if (!xlmr_add_size(*total, len + 1, total) || len >= (size_t)INT32_MAX)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token strings too long in total");
    }
    return XLMR_OK;
}

/* The long-lived arrays before the temporaries (keys, the trie builder's): freed, those then leave one hole
 * (~16 MB for XLM-R) that later allocations -- the activations -- can reuse; wasm memory never shrinks. */
static xlmr_status alloc_tables(tok_tokenizer *t, const tok_vocab_desc *d, size_t total, vocab_scan *sc, xlmr_error *err) {
    const size_t V = d->n_tokens;
    if (d->charsmap_len) {
        if (!d->charsmap) return xlmr_fail(err, XLMR_ERR_ARG, "tokenizer: charsmap length %zu without data", d->charsmap_len);
        t->charsmap = XLMR_MALLOC(d->charsmap_len);
        if (!t->charsmap) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for the charsmap");
        memcpy(t->charsmap, d->charsmap, d->charsmap_len);
        t->charsmap_len = d->charsmap_len;
    }
    t->strings = XLMR_MALLOC(total);
    t->tokens = XLMR_MALLOC(V * sizeof *t->tokens);
    t->token_lens = XLMR_MALLOC(V * sizeof *t->token_lens);
    t->scores = XLMR_MALLOC(V * sizeof *t->scores);
    t->types = XLMR_MALLOC(V * sizeof *t->types);
    t->user_defined = XLMR_CALLOC(V, 1);
    sc->keys = XLMR_MALLOC(V * sizeof *sc->keys);
    if (!t->strings || !t->tokens || !t->token_lens || !t->scores || !t->types || !t->user_defined || !sc->keys)
        return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", V);
    return XLMR_OK;
}

/* A token that is not one of the five specials: type in range, no NUL, not a second <unk>. */
static xlmr_status check_token(const tok_vocab_desc *d, size_t i, const char *s, size_t len, int32_t type, xlmr_error *err) {
    if (type < SPM_NORMAL || type > SPM_BYTE)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has type %d (expected 1..6)", i, (int)type);
    if (len && memchr(s, 0, len)) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu contains a NUL byte", i);
    if (type == SPM_UNKNOWN)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu is a second unknown token (<unk> is %d)", i, (int)d->unk_id);
    return XLMR_OK;
}

/* Token i, stored in t: a trie key (normal, user-defined), the score range (normal), a byte id (byte). */
static xlmr_status register_token(tok_tokenizer *t, size_t i, vocab_scan *sc, xlmr_error *err) {
    const int32_t type = t->types[i];
    const size_t len = t->token_lens[i];
    const float score = t->scores[i];
    if (type == SPM_NORMAL || type == SPM_USER_DEFINED) {
        if (len == 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu is an empty string", i);
        sc->keys[sc->n_keys++] = (tok_trie_key){(const uint8_t *)t->tokens[i], (uint32_t)len, (int32_t)i, type == SPM_USER_DEFINED ? NAN : score};
    }
    if (type == SPM_NORMAL) {
        if (score != score) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: token %zu has a NaN score", i);
        if (score < sc->min_score) sc->min_score = score;
        if (score > sc->max_score) sc->max_score = score;
    }
    if (type == SPM_USER_DEFINED) {
        t->user_defined[i] = 1;
        sc->n_user++;
    }
    if (type == SPM_BYTE) {
        int b = piece_to_byte(t->tokens[i], len);
        if (b < 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: byte token %zu is not of the form <0xXX>", i);
        if (t->byte_ids[b] < 0) sc->n_bytes++;
        t->byte_ids[b] = (int32_t)i;
    }
    return XLMR_OK;
}

/* Every token's string, length, score and type into t; then registered. */
static xlmr_status copy_tokens(tok_tokenizer *t, const tok_vocab_desc *d, vocab_scan *sc, xlmr_error *err) {
    char *w = t->strings;
    sc->min_score = 3.402823466e+38f; /* FLT_MAX, FLT_MIN as the reference */
    sc->max_score = 1.175494351e-38f;
    for (int k = 0; k < 256; k++) t->byte_ids[k] = -1;
    for (size_t i = 0; i < d->n_tokens; i++) {
        const int special = special_at(sc, i);
        const char *s = special >= 0 ? tok_special_text[special] : d->tokens[i];
        const size_t len = special >= 0 ? tok_special_len[special] : d->token_lens[i];
        int32_t type = d->types[i];
        xlmr_status st;
        if (special >= 0) type = special == SPECIAL_UNK ? SPM_UNKNOWN : SPM_CONTROL;
        else if ((st = check_token(d, i, s, len, type, err))) return st;
        if (len) memcpy(w, s, len);
        w[len] = 0;
        t->tokens[i] = w;
        t->token_lens[i] = len;
        w += len + 1;
        t->scores[i] = special >= 0 ? 0.0f : d->scores[i];
        t->types[i] = type;
        if ((st = register_token(t, i, sc, err))) return st;
    }
    if (sc->min_score == 3.402823466e+38f) sc->min_score = 0.0f;
    if (sc->max_score == 1.175494351e-38f) sc->max_score = 0.0f;
    if (sc->n_bytes && sc->n_bytes != 256)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: %zu byte tokens, byte fallback needs all 256", sc->n_bytes);
    t->byte_fallback = sc->n_bytes == 256;
    return XLMR_OK;
}

/* User-defined pieces first (their own trie, for the normalizer), then all matchable pieces (Viterbi). */
static xlmr_status build_tries(tok_tokenizer *t, vocab_scan *sc, xlmr_error *err) {
    xlmr_status st;
    if (sc->n_user) {
        tok_trie_key *ukeys = XLMR_MALLOC(sc->n_user * sizeof *ukeys);
        if (!ukeys) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
        size_t j = 0;
        for (size_t i = 0; i < sc->n_keys; i++)
            if (t->user_defined[sc->keys[i].value]) ukeys[j++] = sc->keys[i];
        st = tok_trie_build(&t->user, ukeys, j, err);
        XLMR_FREE(ukeys);
        if (st) return st;
        t->has_user = 1;
    }
    return tok_trie_build(&t->pieces, sc->keys, sc->n_keys, err);
}

/* The normalizer and the Viterbi segmenter, pointed at t's tables. */
static void wire_stages(tok_tokenizer *t, const vocab_scan *sc) {
    t->nz.user = t->has_user ? &t->user : NULL;
    t->nz.add_dummy_prefix = t->add_space_prefix;
    t->nz.remove_extra_whitespaces = t->remove_extra_whitespaces;
    t->nz.escape_whitespaces = t->escape_whitespaces;
    t->ug.trie = &t->pieces;
    t->ug.max_score = sc->max_score;
    t->ug.unk_score = sc->min_score - 10.0f; /* kUnkPenalty */
    t->ug.unk_id = t->unk;
}

xlmr_status tok_from_vocab(const tok_vocab_desc *d, tok_tokenizer **out, xlmr_error *err) {
    *out = NULL;
    vocab_scan sc = {0};
    size_t total;
    xlmr_status st = check_desc(d, &sc, err);
    if (st || (st = string_bytes(d, &sc, &total, err))) return st;
    tok_tokenizer *t = XLMR_CALLOC(1, sizeof *t);
    if (!t) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory");
    t->n_tokens = (int32_t)d->n_tokens;
    t->bos = d->bos_id;
    t->pad = d->pad_id;
    t->eos = d->eos_id;
    t->unk = d->unk_id;
    t->mask = d->mask_id;
    t->add_space_prefix = d->add_space_prefix != 0;
    t->remove_extra_whitespaces = d->remove_extra_whitespaces != 0;
    t->escape_whitespaces = d->escape_whitespaces != 0;
    t->offsets_rule = d->offsets_rule;
    t->pair_single_sep = d->pair_single_sep != 0;
    t->pair_type_b = d->pair_type_b;
    if ((st = alloc_tables(t, d, total, &sc, err)) || (st = copy_tokens(t, d, &sc, err)) ||
        (st = tok_normalizer_set_charsmap(&t->nz, t->charsmap, t->charsmap_len, err)) || (st = build_tries(t, &sc, err))) {
        XLMR_FREE(sc.keys);
        tok_free(t);
        return st;
    }
    XLMR_FREE(sc.keys);
    wire_stages(t, &sc);
    *out = t;
    return XLMR_OK;
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
    d->offsets_rule = t->offsets_rule;
    d->pair_single_sep = t->pair_single_sep;
    d->pair_type_b = t->pair_type_b;
}
