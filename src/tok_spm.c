/* tok_spm.c — a tokenizer built from a sentencepiece.bpe.model file: the pieces laid out in fairseq id
 * order, then tok_from_vocab (see tokenizer.h). */
#include "spm_model.h"
#include "tok_internal.h"

/* Unigram, whitespace as prefix, XLM-R's layout (<unk>, <s>, </s>, then the pieces), one unknown piece,
   and byte pieces only with byte_fallback (then all 256). */
static xlmr_status check_model(const spm_model *m, xlmr_error *err) {
    if (m->model_type != SPM_MODEL_UNIGRAM)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: model_type %d is not Unigram (1); XLM-R uses Unigram", m->model_type);
    if (m->treat_whitespace_as_suffix) return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: treat_whitespace_as_suffix is not supported");
    if (m->n_pieces < 3 || m->pieces[0].type != SPM_UNKNOWN || m->pieces[1].type != SPM_CONTROL || m->pieces[2].type != SPM_CONTROL)
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "sentencepiece model: expected XLM-R's layout (piece 0 unknown, pieces 1 and 2 control), got %zu pieces of types %d %d %d",
                         m->n_pieces, m->n_pieces > 0 ? (int)m->pieces[0].type : 0, m->n_pieces > 1 ? (int)m->pieces[1].type : 0,
                         m->n_pieces > 2 ? (int)m->pieces[2].type : 0);
    size_t n_bytes = 0;
    for (size_t i = 0; i < m->n_pieces; i++) {
        if (i > 0 && m->pieces[i].type == SPM_UNKNOWN)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu is a second unknown piece", i);
        if (m->pieces[i].type == SPM_BYTE) {
            if (!m->byte_fallback)
                return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: byte piece %zu found although byte_fallback is false", i);
            n_bytes++;
        }
    }
    if (m->byte_fallback && n_bytes < 256)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: byte_fallback is true but there are %zu byte pieces, not 256", n_bytes);
    return XLMR_OK;
}

/* The vocabulary arrays in fairseq order (V = pieces + 2): <s> <pad> </s> <unk>, pieces 3.., <mask>. */
typedef struct fairseq_arrays {
    const char **tokens;
    size_t *lens;
    float *scores;
    int32_t *types;
} fairseq_arrays;

static void fairseq_free(fairseq_arrays *a) {
    XLMR_FREE(a->tokens);
    XLMR_FREE(a->lens);
    XLMR_FREE(a->scores);
    XLMR_FREE(a->types);
}

static xlmr_status fairseq_layout(const spm_model *m, fairseq_arrays *a, xlmr_error *err) {
    const size_t V = m->n_pieces + 2;
    a->tokens = XLMR_MALLOC(V * sizeof *a->tokens);
    a->lens = XLMR_MALLOC(V * sizeof *a->lens);
    a->scores = XLMR_MALLOC(V * sizeof *a->scores);
    a->types = XLMR_MALLOC(V * sizeof *a->types);
    if (!a->tokens || !a->lens || !a->scores || !a->types) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", V);
    for (int k = 0; k < 4; k++) {
        a->tokens[k] = tok_special_text[k];
        a->lens[k] = tok_special_len[k];
        a->scores[k] = 0.0f;
        a->types[k] = k == SPECIAL_UNK ? SPM_UNKNOWN : SPM_CONTROL;
    }
    for (size_t i = 3; i < m->n_pieces; i++) {
        a->tokens[i + 1] = (const char *)m->pieces[i].str;
        a->lens[i + 1] = m->pieces[i].len;
        a->scores[i + 1] = m->pieces[i].score;
        a->types[i + 1] = m->pieces[i].type;
    }
    a->tokens[V - 1] = tok_special_text[SPECIAL_MASK];
    a->lens[V - 1] = tok_special_len[SPECIAL_MASK];
    a->scores[V - 1] = 0.0f;
    a->types[V - 1] = SPM_CONTROL;
    return XLMR_OK;
}

xlmr_status tok_from_spm_model(const uint8_t *bytes, size_t n, tok_tokenizer **out, xlmr_error *err) {
    *out = NULL;
    spm_model m;
    xlmr_status st = spm_model_parse(bytes, n, &m, err);
    if (st) return st;
    fairseq_arrays a = {0};
    if (!(st = check_model(&m, err)) && !(st = fairseq_layout(&m, &a, err))) {
        const size_t V = m.n_pieces + 2;
        tok_vocab_desc d = {
            .n_tokens = V,
            .tokens = a.tokens,
            .token_lens = a.lens,
            .scores = a.scores,
            .types = a.types,
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
    }
    fairseq_free(&a);
    spm_model_free(&m);
    return st;
}
