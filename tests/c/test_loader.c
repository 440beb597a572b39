/* The streaming loader on the fixture safetensors (F32/F16/BF16): chunk sizes, exact F32 values, the
 * position-table offset, Q8_0 against the reference quantizer, name variants, truncation and corruption. */
#include "config.h"
#include "loader.h"
#include "model_slots.h"
#include "quant.h"
#include "safetensors.h"
#include "test.h"
#include "test_safetensors.h"
#include "tokenizer.h"

static unsigned char *cfg, *spm;
static size_t cfg_n, spm_n;

/* Loads bytes in chunks of `chunk` (0: whole). Returns the model or NULL with the error in msg. */
static xlmr_model *load(const unsigned char *b, size_t n, size_t chunk, int dtype, int with_cfg, int with_tok,
                        char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    if (with_cfg) xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    if (with_tok) xlmr_loader_set_tokenizer(ld, spm, spm_n);
    size_t at = 0;
    int st = xlmr_loader_status(ld);
    while (!st && at < n) {
        size_t k = chunk ? (chunk < n - at ? chunk : n - at) : n - at;
        st = xlmr_loader_feed(ld, b + at, k);
        at += k;
    }
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    if (msg) snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* Loads through dest/room/commit, copying at most `chunk` bytes each time. */
static xlmr_model *load_dest(const unsigned char *b, size_t n, size_t chunk, int dtype) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    size_t at = 0, room;
    while ((room = xlmr_loader_room(ld)) > 0 && at < n) {
        size_t k = room < chunk ? room : chunk;
        if (k > n - at) k = n - at;
        memcpy(xlmr_loader_dest(ld), b + at, k);
        if (xlmr_loader_commit(ld, k)) break;
        at += k;
    }
    CHECK(at == n, "consumed %zu of %zu", at, n);
    CHECK(xlmr_loader_total(ld) == (double)n, "total %g", xlmr_loader_total(ld));
    xlmr_model *m = xlmr_loader_finish(ld);
    CHECK(m != NULL, "load_dest: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

static int same_block(const xlmr_model *a, const xlmr_model *b) {
    return a && b && a->weights_size == b->weights_size && memcmp(a->weights_block, b->weights_block, a->weights_size) == 0;
}

/* Finds a tensor's data in a safetensors file. */
static const unsigned char *st_find(const unsigned char *file, const char *name, size_t *nbytes) {
    uint64_t hn = xlmr_rd_u64(file);
    st_header h;
    if (st_header_parse((const char *)file + 8, (size_t)hn, &h, NULL)) return NULL;
    const unsigned char *p = NULL;
    for (size_t i = 0; i < h.n; i++)
        if (strcmp(h.tensors[i].name, name) == 0) {
            p = file + 8 + hn + h.tensors[i].begin;
            *nbytes = (size_t)(h.tensors[i].end - h.tensors[i].begin);
        }
    st_header_free(&h);
    return p;
}

int main(void) {
    size_t n32, n16, nbf;
    unsigned char *f32 = test_read_file("tests/fixtures/model.safetensors", &n32);
    unsigned char *f16 = test_read_file("tests/fixtures/model.fp16.safetensors", &n16);
    unsigned char *fbf = test_read_file("tests/fixtures/model.bf16.safetensors", &nbf);
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!f32 || !f16 || !fbf || !cfg || !spm) return 1;
    char msg[XLMR_ERROR_MSG_MAX];

    /* F32 kept exact */
    xlmr_model *m = load(f32, n32, 0, XLMR_DTYPE_F32, 1, 1, msg);
    CHECK(m != NULL, "F32 load: %s", msg);
    if (!m) return test_report("test_loader");
    const xlmr_config *c = &m->config;
    CHECK(c->vocab_size == 8002 && c->hidden_size == 64 && c->num_layers == 2 && c->num_heads == 4 &&
              c->intermediate_size == 256 && c->max_positions == 514 && c->max_tokens == 512 && c->pad_id == 1 &&
              c->type_vocab_size == 1 && c->head == XLMR_HEAD_MLM && fabsf(c->layer_norm_eps - 1e-5f) < 1e-12f,
          "config");
    size_t nb;
    const unsigned char *p = st_find(f32, "roberta.embeddings.word_embeddings.weight", &nb);
    CHECK(p && m->w.tok_embd.type == XLMR_TYPE_F32 && nb == m->w.tok_embd.nbytes &&
              memcmp(p, m->w.tok_embd.data, nb) == 0,
          "word embeddings exact");
    p = st_find(f32, "roberta.embeddings.position_embeddings.weight", &nb);
    CHECK(p && m->w.pos_embd.ne[1] == 512 && m->w.pos_embd.ne[0] == 64 &&
              memcmp(p + 2 * 64 * 4, m->w.pos_embd.data, 512 * 64 * 4) == 0,
          "position table without its first pad_id+1 rows");
    p = st_find(f32, "roberta.encoder.layer.1.intermediate.dense.weight", &nb);
    CHECK(p && m->w.layers[1].ffn_up.ne[0] == 64 && m->w.layers[1].ffn_up.ne[1] == 256 &&
              memcmp(p, m->w.layers[1].ffn_up.data, nb) == 0,
          "ffn_up exact");
    p = st_find(f32, "lm_head.bias", &nb);
    CHECK(p && memcmp(p, m->w.mlm_bias.data, nb) == 0 && m->w.mlm_bias.ne[0] == 8002, "lm_head.bias");
    p = st_find(f32, "roberta.encoder.layer.0.attention.output.LayerNorm.weight", &nb);
    CHECK(p && memcmp(p, m->w.layers[0].attn_norm.data, nb) == 0, "attn norm");
    CHECK(m->tok && tok_vocab_size(m->tok) == 8002, "tokenizer attached");

    /* chunk sizes: bit-identical blocks, for each source dtype and each kept dtype */
    const unsigned char *files[3] = {f32, f16, fbf};
    size_t sizes[3] = {n32, n16, nbf};
    const char *fname[3] = {"F32", "F16", "BF16"};
    for (int fi = 0; fi < 3; fi++)
        for (int dt = 0; dt < 3; dt++) {
            xlmr_model *whole = load(files[fi], sizes[fi], 0, dt, 1, 1, msg);
            CHECK(whole != NULL, "%s dtype %d: %s", fname[fi], dt, msg);
            size_t chunks[] = {1, 7, 4096};
            for (int k = 0; k < 3; k++) {
                if (chunks[k] == 1 && (fi != 0 || dt != 0)) continue; /* one byte at a time: once is enough */
                xlmr_model *mc = load(files[fi], sizes[fi], chunks[k], dt, 1, 1, msg);
                CHECK(same_block(whole, mc), "%s dtype %d chunk %zu: %s", fname[fi], dt, chunks[k], msg);
                model_free(mc);
            }
            xlmr_model *md = load_dest(files[fi], sizes[fi], 1000, dt);
            CHECK(same_block(whole, md), "%s dtype %d via dest/room", fname[fi], dt);
            model_free(md);
            model_free(whole);
        }

    /* Q8_0 = the reference quantizer on the F32 rows */
    xlmr_model *q = load(f32, n32, 0, XLMR_DTYPE_Q8_0, 1, 1, msg);
    CHECK(q && q->w.tok_embd.type == XLMR_TYPE_Q8_0 && q->w.pos_embd.type == XLMR_TYPE_F32 &&
              q->w.layers[0].q_b.type == XLMR_TYPE_F32,
          "Q8_0 types");
    if (q) {
        p = st_find(f32, "roberta.embeddings.word_embeddings.weight", &nb);
        float *row = malloc(nb);
        memcpy(row, p, nb);
        block_q8_0 *ref = malloc(nb / 4 / 32 * sizeof(block_q8_0));
        q8_0_quantize_row(row, ref, (int64_t)(nb / 4));
        CHECK(memcmp(ref, q->w.tok_embd.data, q->w.tok_embd.nbytes) == 0 &&
                  q->w.tok_embd.nbytes == nb / 4 / 32 * sizeof(block_q8_0),
              "Q8_0 embeddings = q8_0_quantize_row");
        free(row);
        free(ref);
        printf("weights block: F32 %zu bytes, Q8_0 %zu bytes\n", m->weights_size, q->weights_size);
    }
    model_free(q);

    /* name variants: no "roberta." prefix, no position_ids, a stored lm_head.decoder.weight/bias */
    rw_entry e[64];
    int ne = st_entries(f32, e, 60);
    CHECK(ne == 43, "fixture tensors %d", ne);
    rw_entry v[64];
    int nv = 0;
    for (int i = 0; i < ne; i++) {
        if (strcmp(e[i].name, "roberta.embeddings.position_ids") == 0) continue;
        v[nv] = e[i];
        if (strncmp(e[i].name, "roberta.", 8) == 0) memmove(v[nv].name, v[nv].name + 8, strlen(v[nv].name) - 7);
        nv++;
    }
    for (int i = 0; i < ne; i++) {
        if (strcmp(e[i].name, "roberta.embeddings.word_embeddings.weight") == 0) {
            v[nv] = e[i];
            snprintf(v[nv++].name, sizeof v[0].name, "lm_head.decoder.weight");
        }
        if (strcmp(e[i].name, "lm_head.bias") == 0) {
            v[nv] = e[i];
            snprintf(v[nv++].name, sizeof v[0].name, "lm_head.decoder.bias");
        }
    }
    size_t nvar;
    unsigned char *var = st_write(v, nv, &nvar);
    xlmr_model *mv = load(var, nvar, 333, XLMR_DTYPE_F32, 1, 1, msg);
    CHECK(same_block(m, mv), "no prefix / no position_ids / stored decoder: %s", msg);
    model_free(mv);
    free(var);

    /* an XLMRobertaModel file (no lm_head, a pooler): embeddings only */
    nv = 0;
    for (int i = 0; i < ne; i++)
        if (strncmp(e[i].name, "lm_head.", 8) != 0) v[nv++] = e[i];
    for (int i = 0; i < ne; i++)
        if (strcmp(e[i].name, "lm_head.dense.weight") == 0) {
            v[nv] = e[i];
            snprintf(v[nv++].name, sizeof v[0].name, "pooler.dense.weight");
        }
    var = st_write(v, nv, &nvar);
    mv = load(var, nvar, 4096, XLMR_DTYPE_F32, 1, 1, msg);
    CHECK(mv && mv->config.head == XLMR_HEAD_NONE && mv->w.mlm_dense.data == NULL, "no MLM head: %s", msg);
    CHECK(mv && mv->weights_size < m->weights_size, "smaller block without the head");
    model_free(mv);
    free(var);

    /* missing tensor, wrong shape, partial head: errors naming the tensor */
    nv = 0;
    for (int i = 0; i < ne; i++)
        if (strcmp(e[i].name, "roberta.encoder.layer.1.output.dense.bias") != 0) v[nv++] = e[i];
    var = st_write(v, nv, &nvar);
    CHECK(!load(var, nvar, 0, XLMR_DTYPE_Q8_0, 1, 1, msg) && strstr(msg, "roberta.encoder.layer.1.output.dense.bias"),
          "missing tensor named: %s", msg);
    free(var);
    nv = 0;
    for (int i = 0; i < ne; i++)
        if (strcmp(e[i].name, "lm_head.layer_norm.bias") != 0) v[nv++] = e[i];
    var = st_write(v, nv, &nvar);
    CHECK(!load(var, nvar, 0, XLMR_DTYPE_Q8_0, 1, 1, msg) && strstr(msg, "lm_head.layer_norm.bias"), "partial head: %s", msg);
    free(var);

    /* mismatched config */
    {
        char *bad = malloc(cfg_n + 1);
        memcpy(bad, cfg, cfg_n);
        bad[cfg_n] = 0;
        char *h = strstr(bad, "\"intermediate_size\": 256");
        if (h) memcpy(h, "\"intermediate_size\": 128", 24);
        xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
        CHECK(xlmr_loader_set_config(ld, bad, cfg_n) == 0, "set config");
        xlmr_loader_set_tokenizer(ld, spm, spm_n);
        int st = xlmr_loader_feed(ld, f32, n32);
        CHECK(st == XLMR_ERR_FORMAT && strstr(xlmr_loader_error(ld), "intermediate.dense.weight") &&
                  strstr(xlmr_loader_error(ld), "[256, 64]") && strstr(xlmr_loader_error(ld), "[128, 64]"),
              "shape mismatch: %s", xlmr_loader_error(ld));
        xlmr_loader_free(ld);
        free(bad);
    }
    /* no config, no tokenizer */
    CHECK(!load(f32, n32, 0, XLMR_DTYPE_Q8_0, 0, 1, msg) && strstr(msg, "config"), "no config: %s", msg);
    CHECK(!load(f32, n32, 0, XLMR_DTYPE_Q8_0, 1, 0, msg) && strstr(msg, "tokenizer"), "no tokenizer: %s", msg);
    /* truncated at many offsets, and one byte too many */
    int trunc_ok = 0, trunc_n = 0;
    for (size_t cut = 0; cut < n16; cut += cut < 2000 ? 97 : 65521) {
        trunc_n++;
        xlmr_model *t = load(f16, cut, 0, XLMR_DTYPE_Q8_0, 1, 1, msg);
        if (!t && (strstr(msg, "truncated") || cut < 8)) trunc_ok++;
        else fprintf(stderr, "cut %zu: %s\n", cut, msg);
        model_free(t);
    }
    CHECK(trunc_ok == trunc_n, "truncations %d/%d", trunc_ok, trunc_n);
    {
        unsigned char *longer = malloc(n16 + 1);
        memcpy(longer, f16, n16);
        longer[n16] = 0;
        CHECK(!load(longer, n16 + 1, 0, XLMR_DTYPE_Q8_0, 1, 1, msg) && strstr(msg, "longer"), "longer: %s", msg);
        free(longer);
    }
    /* random byte flips in the header: an error or a model, never a crash */
    {
        uint64_t hn = xlmr_rd_u64(f16);
        unsigned char *bad = malloc(n16);
        uint32_t rng = 7;
        int errs = 0;
        for (int it = 0; it < 300; it++) {
            memcpy(bad, f16, n16);
            for (int k = 0; k < 1 + it % 4; k++) {
                rng = rng * 1103515245u + 12345u;
                size_t at = (rng >> 4) % (8 + hn);
                bad[at] ^= (unsigned char)(1u << ((rng >> 24) % 8));
            }
            xlmr_model *t = load(bad, n16, 4096, XLMR_DTYPE_Q8_0, 1, 1, msg);
            if (!t) errs++;
            model_free(t);
        }
        printf("header flips: %d/300 rejected, the rest still valid files\n", errs);
        free(bad);
    }
    model_free(m);
    free(f32);
    free(f16);
    free(fbf);
    free(cfg);
    free(spm);
    return test_report("test_loader");
}
