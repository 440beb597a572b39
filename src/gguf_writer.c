/* gguf_writer.c — a loaded model written as GGUF (xlmr_writer_*): the header built in memory, then the weights
 * block, which is laid out as a GGUF data section (model_slots.h): handed out as it is, except the tensors the
 * GEMM holds interleaved (the 4-row layouts), put back row after row through a buffer. */
#include "config.h"
#include "gguf.h"
#include "labels.h"
#include "model_slots.h"
#include "quant.h"
#include "tokenizer.h"
#include "xlmr.h"

#define WRITER_CHUNK ((size_t)4 << 20)

struct xlmr_writer {
    xlmr_model *m;
    gguf_wbuf hdr;
    uint64_t pos; /* bytes handed out so far */
    size_t cur_len;
    block_q8_0 *rows; /* WRITER_CHUNK bytes for interleaved tensors put back in row order */
};

/* llama.cpp's general.file_type (LlamaFileType) for the type most weights have. */
static uint32_t file_type_of(int32_t t) {
    switch (t) {
    case XLMR_TYPE_F16: return 1;  /* MOSTLY_F16 */
    case XLMR_TYPE_Q8_0: return 7; /* MOSTLY_Q8_0 */
    case XLMR_TYPE_Q4_0: return 2; /* MOSTLY_Q4_0 */
    case XLMR_TYPE_BF16: return 32;
    }
    return 0; /* ALL_F32 */
}

static void write_header(xlmr_model *m, gguf_wbuf *b) {
    const xlmr_config *c = &m->config;
    gguf_w_begin(b);
    gguf_w_kv_str(b, "general.architecture", "bert", 4);
    /* the layers' type: a Q4_0 table beside Q8_0 layers is still MOSTLY_Q8_0, as llama.cpp names a file by its layers */
    gguf_w_kv_u32(b, "general.file_type",
                  file_type_of(c->num_layers > 0 && m->w.layers ? m->w.layers[0].q.type : m->w.tok_embd.type));
    gguf_w_kv_u32(b, "general.quantization_version", 2);
    gguf_w_kv_u32(b, "bert.context_length", (uint32_t)c->max_tokens);
    gguf_w_kv_u32(b, "bert.embedding_length", (uint32_t)c->hidden_size);
    gguf_w_kv_u32(b, "bert.feed_forward_length", (uint32_t)c->intermediate_size);
    gguf_w_kv_u32(b, "bert.block_count", (uint32_t)c->num_layers);
    gguf_w_kv_u32(b, "bert.attention.head_count", (uint32_t)c->num_heads);
    gguf_w_kv_f32(b, "bert.attention.layer_norm_epsilon", c->layer_norm_eps);
    gguf_w_kv_bool(b, "bert.attention.causal", 0);
    if (c->bert_positions) gguf_w_kv_bool(b, "xlmr.bert_positions", 1);
    static const uint32_t pooling_type[] = {[XLMR_POOL_MEAN] = 1, [XLMR_POOL_CLS] = 2, [XLMR_POOL_LAST] = 3};
    if (c->pooling > XLMR_POOL_NONE && c->pooling <= XLMR_POOL_LAST)
        gguf_w_kv_u32(b, "bert.pooling_type", pooling_type[c->pooling]);
    if (c->normalize >= 0) gguf_w_kv_bool(b, "xlmr.normalize", c->normalize);
    if (c->trimmed_from > 0) gguf_w_kv_u32(b, "xlmr.trimmed.original_vocab_size", (uint32_t)c->trimmed_from);
    if (model_head_has_labels(c->head)) {
        gguf_w_kv_arr(b, "bert.classifier.output_labels", GGUF_STRING, (uint64_t)m->labels.n);
        const char *name = m->labels.text;
        for (int i = 0; i < m->labels.n; i++, name += strlen(name) + 1) gguf_w_str(b, name, strlen(name));
    }
    if (config_problem_type_name(c->problem_type)) {
        const char *name = config_problem_type_name(c->problem_type);
        gguf_w_kv_str(b, "xlmr.problem_type", name, strlen(name));
    }

    tok_vocab_desc d;
    tok_export_vocab(m->tok, &d);
    gguf_w_kv_str(b, "tokenizer.ggml.model", "t5", 2);
    gguf_w_kv_str(b, "tokenizer.ggml.pre", "default", 7);
    gguf_w_kv_arr(b, "tokenizer.ggml.tokens", GGUF_STRING, d.n_tokens);
    for (size_t i = 0; i < d.n_tokens; i++) gguf_w_str(b, d.tokens[i], d.token_lens[i]);
    gguf_w_kv_arr(b, "tokenizer.ggml.scores", GGUF_F32, d.n_tokens);
    for (size_t i = 0; i < d.n_tokens; i++) {
        uint32_t u;
        memcpy(&u, &d.scores[i], 4);
        gguf_w_u32(b, u);
    }
    gguf_w_kv_arr(b, "tokenizer.ggml.token_type", GGUF_I32, d.n_tokens);
    for (size_t i = 0; i < d.n_tokens; i++) gguf_w_u32(b, (uint32_t)d.types[i]);
    gguf_w_kv_u32(b, "tokenizer.ggml.token_type_count", (uint32_t)c->type_vocab_size);
    gguf_w_kv_bool(b, "tokenizer.ggml.add_space_prefix", d.add_space_prefix);
    gguf_w_kv_bool(b, "tokenizer.ggml.remove_extra_whitespaces", d.remove_extra_whitespaces);
    if (d.charsmap_len) {
        gguf_w_kv_arr(b, "tokenizer.ggml.precompiled_charsmap", GGUF_U8, d.charsmap_len);
        gguf_w_raw(b, d.charsmap, d.charsmap_len);
    }
    gguf_w_kv_u32(b, "tokenizer.ggml.bos_token_id", (uint32_t)d.bos_id);
    gguf_w_kv_u32(b, "tokenizer.ggml.eos_token_id", (uint32_t)d.eos_id);
    gguf_w_kv_u32(b, "tokenizer.ggml.unknown_token_id", (uint32_t)d.unk_id);
    gguf_w_kv_u32(b, "tokenizer.ggml.seperator_token_id", (uint32_t)d.eos_id); /* sic: llama.cpp's spelling */
    /* a RoBERTa-type model's position offset is pad_id + 1: the config's pad id, which the reader takes from here; a
     * BERT-type model's config pad id plays no part (its tokenizer's pads), and may differ (e5-small: 0 against 1) */
    gguf_w_kv_u32(b, "tokenizer.ggml.padding_token_id", (uint32_t)(c->bert_positions ? d.pad_id : c->pad_id));
    gguf_w_kv_u32(b, "tokenizer.ggml.cls_token_id", (uint32_t)d.bos_id);
    gguf_w_kv_u32(b, "tokenizer.ggml.mask_token_id", (uint32_t)d.mask_id);
    /* ours, written when a tokenizer.json decided them (llama.cpp's keys carry neither) */
    if (d.offsets_rule) gguf_w_kv_u32(b, "xlmr.tokenizer.offsets_rule", (uint32_t)d.offsets_rule);
    if (d.pair_single_sep) gguf_w_kv_bool(b, "xlmr.tokenizer.pair_single_separator", 1);
    if (d.pair_type_b) gguf_w_kv_u32(b, "xlmr.tokenizer.pair_type_b", (uint32_t)d.pair_type_b);
    gguf_w_kv_bool(b, "tokenizer.ggml.add_bos_token", 1);
    gguf_w_kv_bool(b, "tokenizer.ggml.add_eos_token", 1);

    const int n = model_slot_count(c);
    for (int i = 0; i < n; i++) {
        model_slot s;
        model_slot_get(m, i, &s);
        if (!model_slot_held(c, &s)) continue;
        const xlmr_tensor *t = s.t;
        gguf_w_tensor(b, s.name, s.kind == TENSOR_VECTOR ? 1 : 2, t->ne, (uint32_t)t->type,
                      (uint64_t)((const uint8_t *)t->data - (const uint8_t *)m->weights_block));
    }
    gguf_w_end(b, MODEL_ALIGN);
}

xlmr_writer *xlmr_writer_new(xlmr_model *m) {
    if (!m) return NULL;
    if (!m->tok || !m->weights_block) {
        xlmr_fail(&m->err, XLMR_ERR_STATE, "the model has no weights or tokenizer to write");
        return NULL;
    }
    xlmr_writer *w = XLMR_CALLOC(1, sizeof *w);
    if (!w) {
        xlmr_fail(&m->err, XLMR_ERR_NOMEM, "out of memory for the GGUF writer");
        return NULL;
    }
    w->m = m;
    write_header(m, &w->hdr);
    int interleaved = 0;
    for (int i = 0; i < model_slot_count(&m->config); i++) {
        model_slot s;
        model_slot_get(m, i, &s);
        interleaved |= s.t->data && s.t->layout != XLMR_LAYOUT_ROWS;
    }
    if (interleaved && !(w->rows = XLMR_MALLOC(WRITER_CHUNK))) w->hdr.failed = 1;
    if (w->hdr.failed) {
        xlmr_fail(&m->err, XLMR_ERR_NOMEM, "out of memory for the GGUF header and buffer");
        xlmr_writer_free(w);
        return NULL;
    }
    return w;
}

const uint8_t *xlmr_writer_chunk(xlmr_writer *w) {
    if (!w) return NULL;
    const uint64_t hl = w->hdr.len, total = hl + w->m->weights_size;
    w->pos += w->cur_len;
    w->cur_len = 0;
    if (w->pos >= total) return NULL;
    if (w->pos < hl) {
        w->cur_len = (size_t)(hl - w->pos);
        return w->hdr.p + w->pos;
    }
    const uint64_t off = w->pos - hl, left = w->m->weights_size - off;
    uint64_t len = left < WRITER_CHUNK ? left : WRITER_CHUNK;
    /* the interleaved tensor holding off, or the first one after it */
    const int n = model_slot_count(&w->m->config);
    for (int i = 0; i < n; i++) {
        model_slot s;
        model_slot_get(w->m, i, &s);
        const xlmr_tensor *t = s.t;
        if (!t->data || t->layout == XLMR_LAYOUT_ROWS) continue;
        const uint64_t a = (uint64_t)((const uint8_t *)t->data - (const uint8_t *)w->m->weights_block);
        if (off >= a + t->nbytes) continue;
        if (off < a) {
            if (a - off < len) len = a - off;
            continue;
        }
        /* off - a is a whole number of blocks: every chunk inside the tensor is; w->rows exists (writer_new) */
        const uint64_t blocks = (a + t->nbytes - off) / sizeof(block_q8_0);
        const size_t nb = (size_t)(blocks < WRITER_CHUNK / sizeof(block_q8_0) ? blocks : WRITER_CHUNK / sizeof(block_q8_0));
        q8_0_get_blocks(t, (off - a) / sizeof(block_q8_0), w->rows, nb);
        w->cur_len = nb * sizeof(block_q8_0);
        return (const uint8_t *)w->rows;
    }
    w->cur_len = (size_t)len;
    return (const uint8_t *)w->m->weights_block + off;
}

size_t xlmr_writer_chunk_len(xlmr_writer *w) { return w ? w->cur_len : 0; }

double xlmr_writer_total(xlmr_writer *w) { return w ? (double)(w->hdr.len + w->m->weights_size) : 0; }

void xlmr_writer_free(xlmr_writer *w) {
    if (!w) return;
    gguf_w_free(&w->hdr);
    XLMR_FREE(w->rows);
    XLMR_FREE(w);
}
