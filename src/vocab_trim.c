/* vocab_trim.c — a model cut down to the vocabulary a corpus uses (xlmr_trim): the pieces its texts segment
 * into, the special tokens, every single-character piece of the scripts the corpus writes in, and optionally the
 * best-scoring other pieces of those scripts up to a size. The tokenizer, the word-embedding table and every
 * other tensor with a vocabulary dimension (the fill-mask bias) keep those ids' rows in their original order.
 *
 * Why the corpus tokenizes the same after trimming: Unigram's Viterbi search picks the best-scoring segmentation
 * among those the vocabulary allows. The full vocabulary's best one uses kept pieces only, and dropping pieces
 * only removes other segmentations, so it is still the best (a tie broken differently would be the one way out:
 * xlmr_trim re-tokenizes the corpus with the trimmed vocabulary and fails if any text changed).
 *
 * "Script" here is a Unicode page of 128 code points (U+0000-007F, U+0080-00FF, ...): coarse enough to keep
 * the letters of an alphabet together, fine enough that a Latin corpus keeps no CJK characters. */
#include "labels.h"
#include "model_slots.h"
#include "quant.h"
#include "tok_internal.h"
#include "xlmr.h"

#define TRIM_PAGES (0x110000 >> 7)

typedef struct trim_state {
    const tok_tokenizer *tok;
    int32_t n_tok;     /* tokenizer ids */
    uint8_t *keep;     /* [n_tok] */
    uint8_t *pages;    /* [TRIM_PAGES]: the corpus writes in this page */
    int32_t *new_id;   /* [n_tok]: id after trimming, -1 for a dropped piece */
    int32_t n_keep;
    int lines;
} trim_state;

/* The next line of text (without its '\n' and a '\r' before it); 0 at the end. */
static int next_line(const char **p, const char *end, const char **line, size_t *len) {
    if (*p >= end) return 0;
    const char *nl = memchr(*p, '\n', (size_t)(end - *p));
    const char *stop = nl ? nl : end;
    *line = *p;
    *len = (size_t)(stop - *p);
    if (*len && (*line)[*len - 1] == '\r') (*len)--;
    *p = nl ? nl + 1 : end;
    return 1;
}

/* Byte offset of the first invalid UTF-8 sequence (overlong forms, surrogates and code points past U+10FFFF
 * included), or n. */
static size_t utf8_invalid_at(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        const uint8_t c = s[i];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (!len || i + len > n) return i;
        uint32_t cp = len == 1 ? c : c & (0x7F >> len);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += len;
    }
    return n;
}

static void mark_pages(uint8_t *pages, const char *s, size_t n) {
    size_t i = 0, len;
    while (i < n) {
        uint32_t c = tok_utf8_decode((const uint8_t *)s + i, n - i, &len);
        pages[c >> 7] = 1;
        i += len ? len : 1;
    }
}

/* Every piece of every non-empty corpus line marked kept, and the pages its characters are in. */
static xlmr_status mark_corpus(trim_state *s, const char *text, size_t n, xlmr_error *err) {
    const char *p = text, *end = text + n, *line;
    size_t len;
    tok_ids ids = {0};
    int number = 0;
    while (next_line(&p, end, &line, &len)) {
        number++;
        if (!len) continue;
        const size_t bad = utf8_invalid_at((const uint8_t *)line, len);
        if (bad < len) {
            tok_ids_free(&ids);
            return xlmr_fail(err, XLMR_ERR_ARG, "corpus line %d is not UTF-8 (byte %zu)", number, bad + 1);
        }
        ids.n = 0;
        xlmr_status st = tok_encode_raw(s->tok, line, len, &ids, err);
        if (st != XLMR_OK) {
            char why[sizeof err->msg];
            memcpy(why, err->msg, sizeof why);
            tok_ids_free(&ids);
            return xlmr_fail(err, st, "corpus line %d: %s", number, why);
        }
        for (size_t i = 0; i < ids.n; i++) s->keep[ids.ids[i]] = 1;
        mark_pages(s->pages, line, len);
        s->lines++;
    }
    tok_ids_free(&ids);
    if (!s->lines) return xlmr_fail(err, XLMR_ERR_ARG, "the corpus has no text (every line is empty)");
    return XLMR_OK;
}

/* Whether every character of piece id lies in a page the corpus uses ("▁", U+2581, counts as any script's), and
 * its character count in *chars. */
static int piece_in_pages(const trim_state *s, int32_t id, int *chars) {
    const uint8_t *p = (const uint8_t *)s->tok->tokens[id];
    const size_t n = s->tok->token_lens[id];
    size_t i = 0, len;
    *chars = 0;
    while (i < n) {
        uint32_t c = tok_utf8_decode(p + i, n - i, &len);
        i += len ? len : 1;
        (*chars)++;
        if (c != 0x2581 && !s->pages[c >> 7]) return 0;
    }
    return 1;
}

static int by_score_desc(const void *a, const void *b, const float *scores) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (scores[x] != scores[y]) return scores[x] > scores[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static const float *sort_scores; /* qsort has no context argument in C11 */
static int cmp_candidates(const void *a, const void *b) { return by_score_desc(a, b, sort_scores); }

/* Specials (every piece that is not a normal one), the scripts' single characters, then the best-scoring other
 * pieces of those scripts while fewer than vocab_size are kept. */
static xlmr_status mark_rest(trim_state *s, int32_t vocab_size, xlmr_error *err) {
    const tok_tokenizer *t = s->tok;
    int32_t *cand = XLMR_MALLOC((size_t)s->n_tok * sizeof *cand);
    if (!cand) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory trimming %d pieces", (int)s->n_tok);
    int32_t n_cand = 0, kept = 0;
    for (int32_t id = 0; id < s->n_tok; id++) {
        int chars;
        if (t->types[id] != 1) s->keep[id] = 1;
        else if (piece_in_pages(s, id, &chars)) {
            if (chars == 1) s->keep[id] = 1;
            else if (!s->keep[id]) cand[n_cand++] = id;
        }
        kept += s->keep[id];
    }
    if (vocab_size > kept) {
        sort_scores = t->scores;
        qsort(cand, (size_t)n_cand, sizeof *cand, cmp_candidates);
        for (int32_t i = 0; i < n_cand && kept < vocab_size; i++, kept++) s->keep[cand[i]] = 1;
    }
    XLMR_FREE(cand);
    s->n_keep = 0;
    for (int32_t id = 0; id < s->n_tok; id++) s->new_id[id] = s->keep[id] ? s->n_keep++ : -1;
    return XLMR_OK;
}

/* The tokenizer of the kept pieces, with the special tokens' roles on their new ids. */
static xlmr_status build_tokenizer(const trim_state *s, tok_tokenizer **out, xlmr_error *err) {
    tok_vocab_desc d, nd;
    tok_export_vocab(s->tok, &d);
    nd = d;
    const char **tokens = XLMR_MALLOC((size_t)s->n_keep * sizeof *tokens);
    size_t *lens = XLMR_MALLOC((size_t)s->n_keep * sizeof *lens);
    float *scores = XLMR_MALLOC((size_t)s->n_keep * sizeof *scores);
    int32_t *types = XLMR_MALLOC((size_t)s->n_keep * sizeof *types);
    xlmr_status st = XLMR_OK;
    if (!tokens || !lens || !scores || !types) st = xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for the trimmed vocabulary");
    for (int32_t id = 0; st == XLMR_OK && id < s->n_tok; id++) {
        const int32_t j = s->new_id[id];
        if (j < 0) continue;
        tokens[j] = d.tokens[id];
        lens[j] = d.token_lens[id];
        scores[j] = d.scores[id];
        types[j] = d.types[id];
    }
    if (st == XLMR_OK) {
        nd.n_tokens = (size_t)s->n_keep;
        nd.tokens = tokens;
        nd.token_lens = lens;
        nd.scores = scores;
        nd.types = types;
        nd.bos_id = s->new_id[d.bos_id];
        nd.eos_id = s->new_id[d.eos_id];
        nd.unk_id = s->new_id[d.unk_id];
        nd.pad_id = s->new_id[d.pad_id];
        nd.mask_id = s->new_id[d.mask_id];
        st = tok_from_vocab(&nd, out, err);
    }
    XLMR_FREE(tokens);
    XLMR_FREE(lens);
    XLMR_FREE(scores);
    XLMR_FREE(types);
    return st;
}

/* Every corpus line gives the same pieces with the trimmed tokenizer (ids mapped one to one). */
static xlmr_status verify_corpus(const trim_state *s, const tok_tokenizer *trimmed, const char *text, size_t n,
                                 xlmr_error *err) {
    const char *p = text, *end = text + n, *line;
    size_t len;
    tok_ids a = {0}, b = {0};
    xlmr_status st = XLMR_OK;
    for (int number = 1; st == XLMR_OK && next_line(&p, end, &line, &len); number++) {
        a.n = b.n = 0;
        if (!len) continue;
        st = tok_encode_raw(s->tok, line, len, &a, err);
        if (st == XLMR_OK) st = tok_encode_raw(trimmed, line, len, &b, err);
        int same = st == XLMR_OK && a.n == b.n;
        for (size_t i = 0; same && i < a.n; i++) same = s->new_id[a.ids[i]] == b.ids[i];
        if (st == XLMR_OK && !same)
            st = xlmr_fail(err, XLMR_ERR_STATE, "trimming changed the tokenization of corpus line %d (a bug: please report it)",
                           number);
    }
    tok_ids_free(&a);
    tok_ids_free(&b);
    return st;
}

/* The vocabulary dimension of slot s: 1 rows, 2 columns, 0 none. */
static int vocab_dim(const model_slot *s) {
    if (s->desc->rows == TENSOR_DIM_V) return 1;
    return s->desc->cols == TENSOR_DIM_V ? 2 : 0;
}

/* Tensor from of the full model into to (same type, laid out by model_alloc_block), vocabulary rows or columns
 * gathered. */
static xlmr_status copy_tensor(const trim_state *s, const model_slot *so, const xlmr_tensor *from, xlmr_tensor *to,
                               xlmr_error *err) {
    const int dim = vocab_dim(so);
    if (!dim) {
        if (from->layout != to->layout || from->nbytes != to->nbytes)
            return xlmr_fail(err, XLMR_ERR_STATE, "tensor %s: layout changed while trimming", so->name);
        memcpy(to->data, from->data, from->nbytes);
        return XLMR_OK;
    }
    if (from->layout != XLMR_LAYOUT_ROWS || (dim == 2 && from->type != XLMR_TYPE_F32))
        return xlmr_fail(err, XLMR_ERR_UNSUPPORTED, "tensor %s: cannot trim a %s tensor in this layout", so->name,
                         quant_type_name(from->type));
    const size_t unit = dim == 1 ? quant_type_size(from->type, from->ne[0]) : sizeof(float);
    for (int32_t id = 0; id < s->n_tok; id++)
        if (s->new_id[id] >= 0)
            memcpy((uint8_t *)to->data + (size_t)s->new_id[id] * unit, (const uint8_t *)from->data + (size_t)id * unit, unit);
    return XLMR_OK;
}

/* The trimmed model: m's config with n_keep vocabulary rows, every tensor copied, the given tokenizer. */
static xlmr_status build_model(const trim_state *s, xlmr_model *m, tok_tokenizer *tok, xlmr_model **out,
                               xlmr_error *err) {
    xlmr_model *t = model_new();
    if (!t) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for the trimmed model");
    t->config = m->config;
    t->config.vocab_size = s->n_keep;
    t->config.trimmed_from = m->config.trimmed_from ? m->config.trimmed_from : m->config.vocab_size;
    labels_init(&t->labels);
    t->tok = tok;
    const int n = model_slot_count(&m->config);
    int32_t *types = XLMR_CALLOC((size_t)n, sizeof *types);
    xlmr_status st = types ? model_alloc_layers(t, err) : xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory");
    model_slot so, sn;
    for (int i = 0; st == XLMR_OK && i < n; i++) {
        model_slot_get(m, i, &so);
        types[i] = so.t->type;
    }
    if (st == XLMR_OK) st = model_alloc_block(t, types, err);
    for (int i = 0; st == XLMR_OK && i < n; i++) {
        model_slot_get(m, i, &so);
        model_slot_get(t, i, &sn);
        if (model_slot_held(&m->config, &so)) st = copy_tensor(s, &so, so.t, sn.t, err);
    }
    if (st == XLMR_OK && m->labels.n) {
        t->labels.text = XLMR_MALLOC(m->labels.len);
        if (!t->labels.text) st = xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for the labels");
        else {
            memcpy(t->labels.text, m->labels.text, m->labels.len);
            t->labels.n = m->labels.n;
            t->labels.len = m->labels.len;
        }
    }
    if (st == XLMR_OK && (st = model_check(t, t->config.head)) != XLMR_OK)
        xlmr_fail(err, st, "the trimmed model fails its check: %s", t->err.msg);
    XLMR_FREE(types);
    if (st != XLMR_OK) {
        model_free(t);
        return st;
    }
    *out = t;
    return XLMR_OK;
}

static xlmr_status trim_run(xlmr_model *m, const char *corpus, size_t n, int32_t vocab_size, xlmr_model **out,
                            xlmr_error *err) {
    if (!m->tok || !m->weights_block)
        return xlmr_fail(err, XLMR_ERR_STATE, "the model has no tokenizer or weights to trim");
    if (!corpus || !n) return xlmr_fail(err, XLMR_ERR_ARG, "the corpus is empty");
    trim_state s = {.tok = m->tok, .n_tok = tok_vocab_size(m->tok)};
    if (s.n_tok > m->config.vocab_size)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "the tokenizer has %d ids, the embedding table %d rows", (int)s.n_tok,
                         (int)m->config.vocab_size);
    s.keep = XLMR_CALLOC((size_t)s.n_tok, 1);
    s.pages = XLMR_CALLOC(TRIM_PAGES, 1);
    s.new_id = XLMR_MALLOC((size_t)s.n_tok * sizeof *s.new_id);
    xlmr_status st = s.keep && s.pages && s.new_id ? XLMR_OK : xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for trimming");
    if (st == XLMR_OK) st = mark_corpus(&s, corpus, n, err);
    if (st == XLMR_OK) st = mark_rest(&s, vocab_size, err);
    /* a RoBERTa-type model's positions count from pad_id + 1: its pad id is part of the graph */
    if (st == XLMR_OK && !m->config.bert_positions && s.new_id[m->config.pad_id] != m->config.pad_id)
        st = xlmr_fail(err, XLMR_ERR_UNSUPPORTED, "trimming would move the padding id %d", (int)m->config.pad_id);
    tok_tokenizer *tok = NULL;
    if (st == XLMR_OK) st = build_tokenizer(&s, &tok, err);
    if (st == XLMR_OK) st = verify_corpus(&s, tok, corpus, n, err);
    if (st == XLMR_OK) st = build_model(&s, m, tok, out, err);
    else tok_free(tok);
    XLMR_FREE(s.keep);
    XLMR_FREE(s.pages);
    XLMR_FREE(s.new_id);
    return st;
}

xlmr_model *xlmr_trim(xlmr_model *m, const char *corpus, size_t n, int32_t vocab_size) {
    if (!m) return NULL;
    xlmr_model *out = NULL;
    xlmr_error err = {0};
    if (trim_run(m, corpus, n, vocab_size, &out, &err) != XLMR_OK) {
        xlmr_fail(&m->err, err.code, "trim: %s", err.msg);
        return NULL;
    }
    m->err.code = XLMR_OK;
    return out;
}

int xlmr_tokenize_same(xlmr_model *a, xlmr_model *b, const char *text, size_t n) {
    if (!a || !b || !a->tok || !b->tok) return -XLMR_ERR_STATE;
    const char *p = text, *end = text + n, *line;
    size_t len;
    tok_ids x = {0}, y = {0};
    int same_lines = 0;
    xlmr_status st = XLMR_OK;
    while (st == XLMR_OK && next_line(&p, end, &line, &len)) {
        if (!len) continue;
        x.n = y.n = 0;
        st = tok_encode_raw(a->tok, line, len, &x, &a->err);
        if (st == XLMR_OK) st = tok_encode_raw(b->tok, line, len, &y, &a->err);
        int same = st == XLMR_OK && x.n == y.n;
        for (size_t i = 0; same && i < x.n; i++) same = strcmp(tok_piece(a->tok, x.ids[i]), tok_piece(b->tok, y.ids[i])) == 0;
        same_lines += same;
    }
    tok_ids_free(&x);
    tok_ids_free(&y);
    return st == XLMR_OK ? same_lines : -(int)st;
}
