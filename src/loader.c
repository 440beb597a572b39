#include "loader.h"

#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "gguf.h"
#include "model_slots.h"
#include "quant.h"
#include "safetensors.h"
#include "tokenizer.h"

enum { LD_DETECT, LD_HEAD_GGUF, LD_HEAD_ST, LD_DATA, LD_DONE, LD_FAILED };

#define LD_HEAD_MIN_CAP 4096
#define LD_SINK_BYTES 4096

/* A run of the data section, in file order: a tensor we keep (slot >= 0), or bytes we skip. */
typedef struct ld_seg {
    uint64_t len;
    int slot;      /* model slot, -1: skipped */
    int src;       /* safetensors: st_dtype of the source; GGUF: -1 (bytes land as they are) */
    uint64_t skip; /* safetensors: source elements dropped at the start (position rows 0 .. pad_id) */
    int optional;  /* GGUF: the padding after the last tensor, which some writers leave out */
} ld_seg;

struct xlmr_loader {
    int dtype;
    int phase;
    int format;
    xlmr_status status;
    xlmr_error err;
    uint64_t received, total;

    /* header bytes, both formats: hlen filled of hcap; parsing resumes once hlen reaches hneed (what the
     * parser needs at least); the host is offered room up to hwant >= hneed (a few round trips) */
    uint8_t *hbuf;
    size_t hcap, hlen, hneed, hwant;
    gguf_reader gr;

    /* from the host */
    int have_config;
    xlmr_config hf;
    tok_tokenizer *tok; /* from xlmr_loader_set_tokenizer (sentencepiece model) */

    /* the model being filled */
    xlmr_model *m;
    int32_t *types; /* per slot */

    /* data phase */
    ld_seg *segs;
    size_t n_segs, seg_i;
    uint64_t seg_pos;
    uint64_t data_start; /* file offset of the data section */

    /* safetensors conversion */
    uint8_t *stage;
    size_t stage_len;
    float *fbuf;
    uint64_t seg_elems; /* source elements of the current segment consumed (GGUF interleaved tensors: blocks) */

    uint8_t sink[LD_SINK_BYTES];
};

int loader_format(const xlmr_loader *ld) { return ld ? ld->format : LOADER_FORMAT_UNKNOWN; }

static int ld_fail(xlmr_loader *ld) {
    if (ld->status == XLMR_OK) ld->status = ld->err.code ? ld->err.code : XLMR_ERR_FORMAT;
    ld->phase = LD_FAILED;
    return ld->status;
}

xlmr_loader *xlmr_loader_new(int dtype) {
    if (dtype != XLMR_DTYPE_Q8_0 && dtype != XLMR_DTYPE_F16 && dtype != XLMR_DTYPE_F32) return NULL;
    xlmr_loader *ld = XLMR_CALLOC(1, sizeof *ld);
    if (!ld) return NULL;
    ld->dtype = dtype;
    ld->phase = LD_DETECT;
    ld->hneed = ld->hwant = 8;
    gguf_reader_init(&ld->gr);
    return ld;
}

/* What the first bytes of a rejected file look like, for the message: servers answer a wrong URL with an
 * HTML page and status 200, and people point at the wrong file of a model repo. NULL: nothing recognisable. */
static const char *ld_looks_like(const uint8_t *b, size_t n, int want_json) {
    size_t i = 0;
    if (!b) return NULL;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3; /* UTF-8 BOM */
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (i == n) return n ? "blank text" : NULL;
    if (b[i] == '<') return "an HTML or XML page (an error or login page served instead of the file? check the URL)";
    if (!want_json && (b[i] == '{' || b[i] == '[')) return "JSON, not a model file";
    if (n - i >= 4 && memcmp(b + i, "\x89PNG", 4) == 0) return "a PNG image";
    if (n - i >= 4 && memcmp(b + i, "PK\x03\x04", 4) == 0)
        return "a zip archive (a PyTorch .bin checkpoint? use model.safetensors or a .gguf)";
    if (n - i >= 2 && b[i] == 0x80 && b[i + 1] >= 2 && b[i + 1] <= 5)
        return "a Python pickle (a PyTorch .bin checkpoint? use model.safetensors or a .gguf)";
    if (n - i >= 4 && memcmp(b + i, "\x1f\x8b", 2) == 0) return "gzip-compressed data (decompress it first)";
    return NULL;
}

/* Appends "; the bytes look like ..." to the loader's message when they do. */
static void ld_hint(xlmr_loader *ld, const uint8_t *b, size_t n, int want_json) {
    const char *what = ld_looks_like(b, n, want_json);
    if (!what) return;
    char msg[XLMR_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", ld->err.msg);
    xlmr_fail(&ld->err, ld->err.code ? ld->err.code : XLMR_ERR_FORMAT, "%s; the bytes look like %s", msg, what);
}

int xlmr_loader_set_config(xlmr_loader *ld, const char *json, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (ld->phase == LD_DATA || ld->phase == LD_DONE) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "config.json must be given before the weights file's header is read");
        return ld_fail(ld);
    }
    if (!json && n) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "config.json: NULL text of %zu bytes", n);
        return ld_fail(ld);
    }
    if (config_from_hf_json(json, n, &ld->hf, &ld->err) != XLMR_OK) {
        if (ld->err.code == XLMR_ERR_FORMAT) ld_hint(ld, (const uint8_t *)json, n, 1);
        return ld_fail(ld);
    }
    ld->have_config = 1;
    return XLMR_OK;
}

int xlmr_loader_set_tokenizer(xlmr_loader *ld, const uint8_t *bytes, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (!bytes && n) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "tokenizer model: NULL bytes of length %zu", n);
        return ld_fail(ld);
    }
    tok_tokenizer *t = NULL;
    xlmr_error e = {0};
    if (tok_from_spm_model(bytes, n, &t, &e) != XLMR_OK) {
        xlmr_fail(&ld->err, e.code ? e.code : XLMR_ERR_FORMAT, "tokenizer model: %s", e.msg);
        if (ld->err.code == XLMR_ERR_FORMAT) ld_hint(ld, bytes, n, 0);
        return ld_fail(ld);
    }
    tok_free(ld->tok);
    ld->tok = t;
    return XLMR_OK;
}

/* ---- data phase ---- */

static ld_seg *ld_seg_push(xlmr_loader *ld, size_t *cap) {
    if (ld->n_segs == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        ld_seg *s = XLMR_REALLOC(ld->segs, nc * sizeof(ld_seg));
        if (!s) return NULL;
        ld->segs = s;
        *cap = nc;
    }
    ld_seg *s = &ld->segs[ld->n_segs++];
    memset(s, 0, sizeof *s);
    s->slot = -1;
    s->src = -1;
    return s;
}

static xlmr_tensor *ld_slot_tensor(xlmr_loader *ld, int slot) {
    model_slot s;
    model_slot_get(ld->m, slot, &s);
    return s.t;
}

/* Converts the complete elements in the staging buffer into the current safetensors tensor. */
static void ld_convert(xlmr_loader *ld, const ld_seg *seg) {
    const size_t es = st_dtype_size(seg->src);
    xlmr_tensor *t = ld_slot_tensor(ld, seg->slot);
    uint64_t n_el = ld->stage_len / es, i0 = 0;
    if (ld->seg_elems < seg->skip) {
        i0 = seg->skip - ld->seg_elems;
        if (i0 > n_el) i0 = n_el;
        ld->seg_elems += i0;
    }
    const uint64_t unit = t->type == XLMR_TYPE_Q8_0 ? QK8_0 : 1;
    const uint64_t take = (n_el - i0) / unit * unit;
    /* Whole elements sit at the start of the (malloc-aligned) stage, so the source can be read in place;
     * files and hosts are little-endian (wasm32, x86, arm), as the GGUF path assumes too. */
    const uint8_t *src = ld->stage + i0 * es;
    const uint64_t o = ld->seg_elems - seg->skip; /* output element index */
    if (seg->src == ST_F32 && t->type == XLMR_TYPE_F32) {
        memcpy((float *)t->data + o, src, (size_t)take * 4);
    } else if (seg->src == ST_F16 && t->type == XLMR_TYPE_F16) {
        memcpy((uint16_t *)t->data + o, src, (size_t)take * 2);
    } else if (seg->src == ST_F32 && t->type == XLMR_TYPE_Q8_0) {
        q8_0_quantize_into(t, o / QK8_0, (const float *)(const void *)src, (int64_t)take);
    } else {
        float *f = ld->fbuf;
        if (seg->src == ST_F32) memcpy(f, src, (size_t)take * 4);
        else if (seg->src == ST_F16) f16_to_f32_row((const uint16_t *)(const void *)src, f, (int64_t)take);
        else bf16_to_f32_row((const uint16_t *)(const void *)src, f, (int64_t)take);
        switch (t->type) {
        case XLMR_TYPE_F32: memcpy((float *)t->data + o, f, (size_t)take * sizeof(float)); break;
        case XLMR_TYPE_F16: f16_from_f32_row(f, (uint16_t *)t->data + o, (int64_t)take); break;
        default: q8_0_quantize_into(t, o / QK8_0, f, (int64_t)take); break;
        }
    }
    ld->seg_elems += take;
    const size_t used = (size_t)((i0 + take) * es);
    memmove(ld->stage, ld->stage + used, ld->stage_len - used);
    ld->stage_len -= used;
}

/* GGUF Q8_0 bytes of a tensor the GEMM wants interleaved (XLMR_LAYOUT_Q8_0X4): the whole blocks in the stage are
 * put in place; the tail of a block split across writes waits for the rest. */
static void ld_put_blocks(xlmr_loader *ld, const ld_seg *seg) {
    xlmr_tensor *t = ld_slot_tensor(ld, seg->slot);
    const size_t n = ld->stage_len / sizeof(block_q8_0), used = n * sizeof(block_q8_0);
    q8_0_put_blocks(t, ld->seg_elems, (const block_q8_0 *)(const void *)ld->stage, n);
    ld->seg_elems += n; /* counts blocks here */
    memmove(ld->stage, ld->stage + used, ld->stage_len - used);
    ld->stage_len -= used;
}

/* Whether the bytes of the current segment go through the stage (converted, quantized or permuted) rather than
 * straight to their place: safetensors tensors, and GGUF tensors whose layout is not the file's. */
static int ld_staged(xlmr_loader *ld, const ld_seg *seg) {
    if (seg->slot < 0) return 0;
    return ld->format != LOADER_FORMAT_GGUF || ld_slot_tensor(ld, seg->slot)->layout != XLMR_LAYOUT_ROWS;
}

static size_t ld_data_room(xlmr_loader *ld, uint8_t **dest) {
    const ld_seg *seg = &ld->segs[ld->seg_i];
    uint64_t left = seg->len - ld->seg_pos;
    if (seg->slot < 0) {
        *dest = ld->sink;
        return left < LD_SINK_BYTES ? (size_t)left : LD_SINK_BYTES;
    }
    if (!ld_staged(ld, seg)) {
        *dest = (uint8_t *)ld_slot_tensor(ld, seg->slot)->data + ld->seg_pos;
        return left < SIZE_MAX ? (size_t)left : SIZE_MAX;
    }
    *dest = ld->stage + ld->stage_len;
    size_t free_b = LOADER_STAGE_BYTES - ld->stage_len;
    return left < free_b ? (size_t)left : free_b;
}

/* k bytes have been written at the data dest. */
static void ld_data_advance(xlmr_loader *ld, size_t k) {
    const ld_seg *seg = &ld->segs[ld->seg_i];
    ld->seg_pos += k;
    if (ld_staged(ld, seg)) {
        ld->stage_len += k;
        if (ld->stage_len == LOADER_STAGE_BYTES || ld->seg_pos == seg->len) {
            if (ld->format == LOADER_FORMAT_GGUF) ld_put_blocks(ld, seg);
            else ld_convert(ld, seg);
        }
    }
    if (ld->seg_pos == seg->len) {
        ld->seg_i++;
        ld->seg_pos = 0;
        ld->seg_elems = 0;
        ld->stage_len = 0;
        if (ld->seg_i == ld->n_segs) ld->phase = LD_DONE;
    }
}

/* Routes n bytes that are already in memory (header over-read) through the data phase. */
static void ld_data_push(xlmr_loader *ld, const uint8_t *src, size_t n) {
    while (n > 0 && ld->phase == LD_DATA) {
        uint8_t *d;
        size_t r = ld_data_room(ld, &d);
        size_t k = r < n ? r : n;
        memcpy(d, src, k);
        ld_data_advance(ld, k);
        src += k;
        n -= k;
    }
}

/* ---- model set-up shared by both formats ---- */

static int ld_begin_model(xlmr_loader *ld, const xlmr_config *c) {
    ld->m = model_new();
    if (!ld->m) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    ld->m->config = *c;
    if (model_alloc_layers(ld->m, &ld->err) != XLMR_OK) return 0;
    int n = model_slot_count(c);
    ld->types = XLMR_CALLOC((size_t)n, sizeof(int32_t));
    if (!ld->types) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    return 1;
}

static const char *shape_str(char *buf, size_t n, int n_dims, const int64_t *ne) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int d = 0; d < n_dims && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, d ? ", %lld" : "%lld", (long long)ne[d]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

/* ---- GGUF ---- */

static int ld_gguf_key_int(xlmr_loader *ld, const char *key, int required, int64_t dflt, int64_t lo, int64_t hi,
                           int32_t *out) {
    int64_t i = gguf_find_key(&ld->gr, ld->hbuf, key), v = dflt;
    if (i < 0) {
        if (required) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: missing key %s (not an XLM-R / BERT model file?)", key);
            return 0;
        }
    } else if (!gguf_get_int(&ld->gr, ld->hbuf, i, &v)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: key %s must be an integer", key);
        return 0;
    }
    if (v < lo || v > hi) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s = %lld is outside [%lld, %lld]", key, (long long)v,
                  (long long)lo, (long long)hi);
        return 0;
    }
    *out = (int32_t)v;
    return 1;
}

/* The tokenizer arrays must be there and agree with the vocabulary size. */
static int ld_gguf_tokenizer(xlmr_loader *ld) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf;
    const int64_t V = ld->m->config.vocab_size;
    int64_t i = gguf_find_key(r, b, "tokenizer.ggml.model");
    const char *s;
    uint64_t n;
    if (i < 0) {
        if (ld->tok) return 1; /* the host gave a sentencepiece model instead */
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                  "GGUF: no tokenizer (tokenizer.ggml.model and tokenizer.ggml.tokens missing); give the "
                  "sentencepiece model with xlmr_loader_set_tokenizer");
        return 0;
    }
    if (!gguf_get_str(r, b, i, &s, &n) || n != 2 || memcmp(s, "t5", 2) != 0) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                  "GGUF: tokenizer.ggml.model must be \"t5\" (SentencePiece Unigram), got \"%.*s\"",
                  (int)(n > 40 ? 40 : n), s);
        return 0;
    }
    static const struct {
        const char *key;
        uint32_t type, alt;
    } arrays[] = {{"tokenizer.ggml.tokens", GGUF_STRING, GGUF_STRING},
                  {"tokenizer.ggml.scores", GGUF_F32, GGUF_F32},
                  {"tokenizer.ggml.token_type", GGUF_I32, GGUF_I32}};
    for (size_t k = 0; k < sizeof arrays / sizeof arrays[0]; k++) {
        uint32_t t;
        const uint8_t *data;
        i = gguf_find_key(r, b, arrays[k].key);
        if (i < 0 || !gguf_get_arr(r, b, i, &t, &n, &data) || (t != arrays[k].type && t != arrays[k].alt)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s %s (an array of %s)", arrays[k].key,
                      i < 0 ? "missing" : "has the wrong type", gguf_type_name(arrays[k].type));
            return 0;
        }
        if ((int64_t)n != V) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s has %llu entries but token_embd.weight has %lld rows",
                      arrays[k].key, (unsigned long long)n, (long long)V);
            return 0;
        }
    }
    tok_vocab_desc d;
    memset(&d, 0, sizeof d);
    i = gguf_find_key(r, b, "tokenizer.ggml.precompiled_charsmap");
    if (i >= 0) {
        uint32_t t;
        if (!gguf_get_arr(r, b, i, &t, &n, &d.charsmap) || (t != GGUF_U8 && t != GGUF_I8)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tokenizer.ggml.precompiled_charsmap must be an array of u8");
            return 0;
        }
        d.charsmap_len = (size_t)n;
    }
    static const struct {
        const char *key;
        int dflt;
    } flags[] = {{"tokenizer.ggml.add_space_prefix", 1}, {"tokenizer.ggml.remove_extra_whitespaces", 1}};
    int *fl[] = {&d.add_space_prefix, &d.remove_extra_whitespaces};
    for (size_t k = 0; k < 2; k++) {
        i = gguf_find_key(r, b, flags[k].key);
        *fl[k] = flags[k].dflt;
        if (i >= 0 && !gguf_get_bool(r, b, i, fl[k])) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: %s must be a bool", flags[k].key);
            return 0;
        }
    }
    d.escape_whitespaces = 1;
    static const char *const id_keys[] = {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                                          "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.padding_token_id",
                                          "tokenizer.ggml.mask_token_id"};
    int32_t *ids[] = {&d.bos_id, &d.eos_id, &d.unk_id, &d.pad_id, &d.mask_id};
    const int64_t id_dflt[] = {0, 2, 3, 1, V - 1};
    for (size_t k = 0; k < 5; k++)
        if (!ld_gguf_key_int(ld, id_keys[k], 0, id_dflt[k], 0, V - 1, ids[k])) return 0;
    /* the arrays sit unaligned in the header buffer: copy them out */
    const uint8_t *tokp, *scp, *typ;
    uint32_t t;
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.tokens"), &t, &n, &tokp);
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.scores"), &t, &n, &scp);
    gguf_get_arr(r, b, gguf_find_key(r, b, "tokenizer.ggml.token_type"), &t, &n, &typ);
    const char **tokens = XLMR_MALLOC((size_t)V * sizeof(char *));
    size_t *lens = XLMR_MALLOC((size_t)V * sizeof(size_t));
    float *scores = XLMR_MALLOC((size_t)V * sizeof(float));
    int32_t *types = XLMR_MALLOC((size_t)V * sizeof(int32_t));
    int ok = 0;
    if (!tokens || !lens || !scores || !types) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory for the vocabulary");
        goto out;
    }
    for (int64_t k = 0; k < V; k++) {
        uint64_t sl;
        gguf_next_str(&tokp, &tokens[k], &sl);
        lens[k] = (size_t)sl;
        scores[k] = xlmr_rd_f32(scp + 4 * k);
        types[k] = (int32_t)xlmr_rd_u32(typ + 4 * k);
    }
    d.n_tokens = (size_t)V;
    d.tokens = tokens;
    d.token_lens = lens;
    d.scores = scores;
    d.types = types;
    xlmr_error e = {0};
    if (tok_from_vocab(&d, &ld->m->tok, &e) != XLMR_OK) {
        xlmr_fail(&ld->err, e.code ? e.code : XLMR_ERR_FORMAT, "GGUF tokenizer: %s", e.msg);
        goto out;
    }
    ok = 1;
out:
    XLMR_FREE(tokens);
    XLMR_FREE(lens);
    XLMR_FREE(scores);
    XLMR_FREE(types);
    return ok;
}

static int ld_cmp_offset(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

static int ld_gguf_ready(xlmr_loader *ld) {
    gguf_reader *r = &ld->gr;
    const uint8_t *b = ld->hbuf;
    char sb[96], sb2[96];
    int64_t i = gguf_find_key(r, b, "general.architecture");
    const char *arch;
    uint64_t arch_n;
    if (i < 0 || !gguf_get_str(r, b, i, &arch, &arch_n)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: missing general.architecture");
        return 0;
    }
    if (arch_n != 4 || memcmp(arch, "bert", 4) != 0) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: architecture \"%.*s\" is not supported (expected \"bert\")",
                  (int)(arch_n > 40 ? 40 : arch_n), arch);
        return 0;
    }
    xlmr_config c;
    memset(&c, 0, sizeof c);
    int32_t ctx;
    if (!ld_gguf_key_int(ld, "bert.embedding_length", 1, 0, 1, CONFIG_MAX_HIDDEN, &c.hidden_size) ||
        !ld_gguf_key_int(ld, "bert.block_count", 1, 0, 1, CONFIG_MAX_LAYERS, &c.num_layers) ||
        !ld_gguf_key_int(ld, "bert.attention.head_count", 1, 0, 1, CONFIG_MAX_HIDDEN, &c.num_heads) ||
        !ld_gguf_key_int(ld, "bert.feed_forward_length", 1, 0, 1, CONFIG_MAX_FFN, &c.intermediate_size) ||
        !ld_gguf_key_int(ld, "bert.context_length", 1, 0, 1, CONFIG_MAX_POSITIONS, &ctx) ||
        !ld_gguf_key_int(ld, "tokenizer.ggml.padding_token_id", 0, 1, 0, CONFIG_MAX_VOCAB, &c.pad_id))
        return 0;
    double eps;
    i = gguf_find_key(r, b, "bert.attention.layer_norm_epsilon");
    if (i < 0 || !gguf_get_float(r, b, i, &eps)) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: bert.attention.layer_norm_epsilon %s",
                  i < 0 ? "missing" : "must be a float");
        return 0;
    }
    c.layer_norm_eps = (float)eps;
    /* vocabulary, token types and positions come from the tables' shapes */
    int tok = -1, typ = -1, pos = -1, mlm = 0;
    const int mlm0 = MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c.num_layers;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[k];
        int s = model_slot_find(&c, (const char *)b + t->name_off, (size_t)t->name_len);
        if (s == 0) tok = (int)k;
        if (s == 1) pos = (int)k;
        if (s == 2) typ = (int)k;
        if (s >= mlm0) mlm = 1;
    }
    const char *missing = tok < 0 ? "token_embd.weight" : pos < 0 ? "position_embd.weight" : typ < 0 ? "token_types.weight" : NULL;
    if (missing) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s missing", missing);
        return 0;
    }
    if (r->tis[tok].ne[1] > CONFIG_MAX_VOCAB || r->tis[typ].ne[1] > CONFIG_MAX_TYPES || r->tis[pos].ne[1] != ctx) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                  "GGUF: table sizes out of range: token_embd %lld rows, token_types %lld rows, position_embd %lld rows "
                  "(bert.context_length %d)",
                  (long long)r->tis[tok].ne[1], (long long)r->tis[typ].ne[1], (long long)r->tis[pos].ne[1], (int)ctx);
        return 0;
    }
    c.vocab_size = (int32_t)r->tis[tok].ne[1];
    c.type_vocab_size = (int32_t)r->tis[typ].ne[1];
    c.max_positions = ctx + c.pad_id + 1;
    c.has_mlm_head = mlm;
    if (config_validate(&c, &ld->err) != XLMR_OK) return 0;
    if (!ld_begin_model(ld, &c)) return 0;
    const int n_slots = model_slot_count(&c);
    int *from = XLMR_MALLOC((size_t)n_slots * sizeof(int));
    if (!from) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    for (int s = 0; s < n_slots; s++) from[s] = -1;
    int ok = 0;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[k];
        int s = model_slot_find(&c, (const char *)b + t->name_off, (size_t)t->name_len);
        if (s < 0) continue;
        model_slot ms;
        model_slot_get(ld->m, s, &ms);
        if (t->ne[0] != ms.ne[0] || t->ne[1] != ms.ne[1] || t->ne[2] != 1 || t->ne[3] != 1) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s has shape %s, expected %s from the metadata", ms.name,
                      shape_str(sb, sizeof sb, (int)t->n_dims, t->ne), shape_str(sb2, sizeof sb2, ms.kind == SLOT_VECTOR ? 1 : 2, ms.ne));
            goto done;
        }
        if (ms.kind != SLOT_MATRIX && t->type != XLMR_TYPE_F32) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s is %s, expected F32", ms.name,
                      quant_type_name((int32_t)t->type));
            goto done;
        }
        if (from[s] >= 0) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: two tensors are %s", ms.name);
            goto done;
        }
        from[s] = (int)k;
        ld->types[s] = (int32_t)t->type;
    }
    for (int s = 0; s < n_slots; s++) {
        model_slot ms;
        model_slot_get(ld->m, s, &ms);
        if (from[s] < 0 && (!ms.mlm || c.has_mlm_head)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "GGUF: tensor %s missing%s", ms.name,
                      ms.mlm ? " (the file has part of the fill-mask head)" : "");
            goto done;
        }
    }
    /* The tensor block first, then the tokenizer: wasm memory never shrinks, so what is freed below the block stays
     * resident. This way the header buffer's ~7 MB (and its earlier copies) is one hole under the block, which the
     * activations reuse, and the tokenizer's temporaries are freed above it (~10 MB less peak RSS at base size). */
    if (model_alloc_block(ld->m, ld->types, &ld->err) != XLMR_OK) goto done;
    if (!ld_gguf_tokenizer(ld)) goto done;
    /* segments in file order */
    {
        uint64_t *ord = XLMR_MALLOC((size_t)(r->n_tensors ? r->n_tensors : 1) * 2 * sizeof(uint64_t));
        size_t cap = 0;
        if (!ord) {
            xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
            goto done;
        }
        for (uint64_t k = 0; k < r->n_tensors; k++) {
            ord[2 * k] = r->tis[k].offset;
            ord[2 * k + 1] = k;
        }
        qsort(ord, (size_t)r->n_tensors, 2 * sizeof(uint64_t), ld_cmp_offset);
        uint64_t at = 0;
        for (uint64_t k = 0; k < r->n_tensors; k++) {
            const gguf_tensor_info *t = &r->tis[ord[2 * k + 1]];
            ld_seg *sg;
            if (t->offset > at) {
                if (!(sg = ld_seg_push(ld, &cap))) break;
                sg->len = t->offset - at;
            }
            if (t->nbytes == 0) continue;
            if (!(sg = ld_seg_push(ld, &cap))) break;
            sg->len = t->nbytes;
            sg->slot = model_slot_find(&c, (const char *)b + t->name_off, (size_t)t->name_len);
            at = t->offset + t->nbytes;
        }
        uint64_t padded = (at + r->alignment - 1) / r->alignment * r->alignment;
        ld_seg *sg = NULL;
        if (padded > at && (sg = ld_seg_push(ld, &cap)) != NULL) {
            sg->len = padded - at;
            sg->optional = 1;
        }
        XLMR_FREE(ord);
        if (padded > at && !sg) {
            xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
            goto done;
        }
        ld->data_start = r->data_start;
        ld->stage = XLMR_MALLOC(LOADER_STAGE_BYTES); /* for tensors laid out for the GEMM (ld_put_blocks) */
        if (!ld->stage) {
            xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
            goto done;
        }
        ld->total = r->data_start + padded;
    }
    ok = 1;
done:
    XLMR_FREE(from);
    return ok;
}

/* ---- safetensors ---- */

enum { ST_MAP_IGNORE = -1, ST_MAP_TIED = -2, ST_MAP_DECODER_BIAS = -3, ST_MAP_BAD_LAYER = -4 };

static int has_prefix(const char *s, size_t n, const char *p, size_t *rest) {
    size_t k = strlen(p);
    if (n < k || memcmp(s, p, k) != 0) return 0;
    *rest = k;
    return 1;
}

static int is_norm_suffix(const char *s, size_t n, int bias) {
    return bias ? ((n == 4 && !memcmp(s, "bias", 4)) || (n == 4 && !memcmp(s, "beta", 4)))
                : ((n == 6 && !memcmp(s, "weight", 6)) || (n == 5 && !memcmp(s, "gamma", 5)));
}

/* HF name (with or without "roberta.") -> slot, or ST_MAP_*. */
static int ld_st_map(const xlmr_config *c, const char *name, size_t n) {
    size_t k;
    if (has_prefix(name, n, "roberta.", &k)) {
        name += k;
        n -= k;
    }
#define IS(lit) (n == sizeof(lit) - 1 && memcmp(name, lit, n) == 0)
    if (IS("embeddings.word_embeddings.weight")) return 0;
    if (IS("embeddings.position_embeddings.weight")) return 1;
    if (IS("embeddings.token_type_embeddings.weight")) return 2;
    const int mlm0 = MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c->num_layers;
    if (IS("lm_head.dense.weight")) return mlm0 + 0;
    if (IS("lm_head.dense.bias")) return mlm0 + 1;
    if (IS("lm_head.layer_norm.weight")) return mlm0 + 2;
    if (IS("lm_head.layer_norm.bias")) return mlm0 + 3;
    if (IS("lm_head.bias")) return mlm0 + 4;
    if (IS("lm_head.decoder.weight")) return ST_MAP_TIED;
    if (IS("lm_head.decoder.bias")) return ST_MAP_DECODER_BIAS;
#undef IS
    if (has_prefix(name, n, "embeddings.LayerNorm.", &k)) {
        if (is_norm_suffix(name + k, n - k, 0)) return 3;
        if (is_norm_suffix(name + k, n - k, 1)) return 4;
        return ST_MAP_IGNORE;
    }
    if (!has_prefix(name, n, "encoder.layer.", &k)) return ST_MAP_IGNORE;
    int64_t l = 0;
    size_t p = k;
    if (p >= n || name[p] < '0' || name[p] > '9') return ST_MAP_IGNORE;
    while (p < n && name[p] >= '0' && name[p] <= '9' && l < 1000000) l = l * 10 + (name[p++] - '0');
    if (p >= n || name[p] != '.') return ST_MAP_IGNORE;
    p++;
    const char *s = name + p;
    size_t sn = n - p;
    static const struct {
        const char *stem;
        int j; /* slot within the layer of .weight; .bias is j + 1 */
        int norm;
    } parts[] = {
        {"attention.self.query.", 0, 0},     {"attention.self.key.", 2, 0}, {"attention.self.value.", 4, 0},
        {"attention.output.dense.", 6, 0},   {"attention.output.LayerNorm.", 8, 1},
        {"intermediate.dense.", 10, 0},      {"output.dense.", 12, 0},      {"output.LayerNorm.", 14, 1},
    };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t r;
        if (!has_prefix(s, sn, parts[i].stem, &r)) continue;
        int j = -1;
        if (parts[i].norm ? is_norm_suffix(s + r, sn - r, 0) : (sn - r == 6 && !memcmp(s + r, "weight", 6))) j = parts[i].j;
        else if (parts[i].norm ? is_norm_suffix(s + r, sn - r, 1) : (sn - r == 4 && !memcmp(s + r, "bias", 4)))
            j = parts[i].j + 1;
        if (j < 0) return ST_MAP_IGNORE;
        if (l >= c->num_layers) return ST_MAP_BAD_LAYER;
        return MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * (int)l + j;
    }
    return ST_MAP_IGNORE;
}

/* The Hugging Face name of a slot, for messages. */
static const char *ld_st_hf_name(const xlmr_config *c, int s, char *buf, size_t n) {
    static const char *const global[MODEL_SLOTS_GLOBAL] = {
        "embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
        "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"};
    static const char *const layer[MODEL_SLOTS_PER_LAYER / 2] = {
        "attention.self.query", "attention.self.key",  "attention.self.value", "attention.output.dense",
        "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"};
    static const char *const mlm[MODEL_SLOTS_MLM] = {"lm_head.dense.weight", "lm_head.dense.bias",
                                                     "lm_head.layer_norm.weight", "lm_head.layer_norm.bias",
                                                     "lm_head.bias"};
    const int mlm0 = MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c->num_layers;
    if (s < MODEL_SLOTS_GLOBAL) snprintf(buf, n, "roberta.%s", global[s]);
    else if (s >= mlm0) snprintf(buf, n, "%s", mlm[s - mlm0]);
    else {
        int j = (s - MODEL_SLOTS_GLOBAL) % MODEL_SLOTS_PER_LAYER;
        snprintf(buf, n, "roberta.encoder.layer.%d.%s.%s", (s - MODEL_SLOTS_GLOBAL) / MODEL_SLOTS_PER_LAYER,
                 layer[j / 2], j % 2 ? "bias" : "weight");
    }
    return buf;
}

static int ld_st_ready(xlmr_loader *ld) {
    st_header h;
    char sb[96], sb2[96];
    if (!ld->have_config) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE,
                  "safetensors weights need config.json: call xlmr_loader_set_config before the weights");
        return 0;
    }
    if (st_header_parse((const char *)ld->hbuf + 8, ld->hlen - 8, &h, &ld->err) != XLMR_OK) return 0;
    xlmr_config c = ld->hf;
    const int mlm0 = MODEL_SLOTS_GLOBAL + MODEL_SLOTS_PER_LAYER * c.num_layers;
    const int n_slots = model_slot_count(&c);
    int ok = 0;
    int *from = NULL, *slot_of = NULL;
    size_t cap = 0;
    int64_t dec_bias = -1;
    for (size_t k = 0; k < h.n; k++) {
        int s = ld_st_map(&c, h.tensors[k].name, h.tensors[k].name_len);
        if (s == ST_MAP_BAD_LAYER) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' is beyond num_hidden_layers %d",
                      h.tensors[k].name, (int)c.num_layers);
            goto done;
        }
        if (s >= mlm0 || s == ST_MAP_DECODER_BIAS) c.has_mlm_head = 1;
        if (s == ST_MAP_DECODER_BIAS) dec_bias = (int64_t)k;
    }
    if (!ld_begin_model(ld, &c)) goto done;
    from = XLMR_MALLOC((size_t)n_slots * sizeof(int));
    if (!from) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int s = 0; s < n_slots; s++) from[s] = -1;
    for (size_t k = 0; k < h.n; k++) {
        const st_tensor *t = &h.tensors[k];
        int s = ld_st_map(&c, t->name, t->name_len);
        if (s == ST_MAP_DECODER_BIAS) s = mlm0 + 4; /* lm_head.decoder.bias is lm_head.bias */
        if (s < 0) continue;
        if (from[s] >= 0) {
            if (s == mlm0 + 4 && (int64_t)k == dec_bias) continue; /* both stored: lm_head.bias wins */
            if (s == mlm0 + 4 && from[s] == dec_bias) {
                from[s] = (int)k;
                continue;
            }
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensors '%.100s' and '%.100s' are the same weight",
                      h.tensors[from[s]].name, t->name);
            goto done;
        }
        from[s] = (int)k;
    }
    for (int s = 0; s < n_slots; s++) {
        model_slot ms;
        model_slot_get(ld->m, s, &ms);
        if (ms.mlm && !c.has_mlm_head) continue;
        if (from[s] < 0) {
            char hn[128];
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor %s missing (with or without \"roberta.\")%s",
                      ld_st_hf_name(&c, s, hn, sizeof hn),
                      ms.mlm ? "; the file has part of the fill-mask head" : "");
            goto done;
        }
        const st_tensor *t = &h.tensors[from[s]];
        /* HF layout: (rows, columns); the position table still has its first pad_id + 1 rows */
        int64_t want[2] = {ms.ne[1] + (s == 1 ? c.pad_id + 1 : 0), ms.ne[0]};
        int want_dims = ms.kind == SLOT_VECTOR ? 1 : 2;
        if (want_dims == 1) want[0] = ms.ne[0];
        if (t->n_dims != want_dims || t->shape[0] != want[0] || (want_dims == 2 && t->shape[1] != want[1])) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' has shape %s, expected %s from config.json",
                      t->name, shape_str(sb, sizeof sb, t->n_dims, t->shape), shape_str(sb2, sizeof sb2, want_dims, want));
            goto done;
        }
        if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' has dtype %.20s; expected F32, F16 or BF16",
                      t->name, t->dtype_name);
            goto done;
        }
        int32_t ty = XLMR_TYPE_F32;
        if (ms.kind == SLOT_MATRIX) {
            if (ld->dtype == XLMR_DTYPE_F16) ty = XLMR_TYPE_F16;
            else if (ld->dtype == XLMR_DTYPE_Q8_0) ty = ms.ne[0] % QK8_0 == 0 ? XLMR_TYPE_Q8_0 : XLMR_TYPE_F16;
        }
        ld->types[s] = ty;
    }
    if (model_alloc_block(ld->m, ld->types, &ld->err) != XLMR_OK) goto done;
    /* segments in file order: h.tensors is sorted by offset */
    slot_of = XLMR_MALLOC((h.n ? h.n : 1) * sizeof(int));
    if (!slot_of) goto nomem;
    for (size_t k = 0; k < h.n; k++) slot_of[k] = -1;
    for (int s = 0; s < n_slots; s++)
        if (from[s] >= 0) slot_of[from[s]] = s;
    {
        uint64_t at = 0;
        for (size_t k = 0; k < h.n; k++) {
            const st_tensor *t = &h.tensors[k];
            ld_seg *sg;
            if (t->begin > at) {
                if (!(sg = ld_seg_push(ld, &cap))) goto nomem;
                sg->len = t->begin - at;
            }
            if (t->end == t->begin) continue;
            if (!(sg = ld_seg_push(ld, &cap))) goto nomem;
            sg->len = t->end - t->begin;
            if (slot_of[k] >= 0) {
                sg->slot = slot_of[k];
                sg->src = t->dtype;
                sg->skip = slot_of[k] == 1 ? (uint64_t)(c.pad_id + 1) * (uint64_t)c.hidden_size : 0;
            }
            at = t->end;
        }
    }
    ld->stage = XLMR_MALLOC(LOADER_STAGE_BYTES);
    ld->fbuf = XLMR_MALLOC(LOADER_STAGE_BYTES / 2 * sizeof(float));
    if (!ld->stage || !ld->fbuf) goto nomem;
    ld->data_start = 8 + (uint64_t)(ld->hlen - 8);
    ld->total = ld->data_start + h.data_len;
    ok = 1;
    goto done;
nomem:
    xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
done:
    XLMR_FREE(from);
    XLMR_FREE(slot_of);
    st_header_free(&h);
    return ok;
}

/* ---- the byte protocol ---- */

/* Makes room in the header buffer: capacity grows with the bytes that actually arrive, never with what a
 * (possibly hostile) length field claims. */
static int ld_head_reserve(xlmr_loader *ld) {
    if (ld->hlen < ld->hcap || ld->hlen >= ld->hwant) return 1;
    size_t nc = ld->hcap ? ld->hcap * 2 : LD_HEAD_MIN_CAP;
    if (nc > ld->hwant) nc = ld->hwant;
    uint8_t *p = XLMR_REALLOC(ld->hbuf, nc);
    if (!p) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory for a %zu-byte header", nc);
        ld_fail(ld);
        return 0;
    }
    ld->hbuf = p;
    ld->hcap = nc;
    return 1;
}

size_t xlmr_loader_room(xlmr_loader *ld) {
    if (!ld) return 0;
    switch (ld->phase) {
    case LD_DETECT:
    case LD_HEAD_GGUF:
    case LD_HEAD_ST: {
        if (!ld_head_reserve(ld)) return 0;
        size_t lim = ld->hwant < ld->hcap ? ld->hwant : ld->hcap;
        return lim - ld->hlen;
    }
    case LD_DATA: {
        uint8_t *d;
        return ld_data_room(ld, &d);
    }
    }
    return 0;
}

uint8_t *xlmr_loader_dest(xlmr_loader *ld) {
    if (!ld) return NULL;
    switch (ld->phase) {
    case LD_DETECT:
    case LD_HEAD_GGUF:
    case LD_HEAD_ST:
        if (!ld_head_reserve(ld)) return NULL;
        return ld->hbuf + ld->hlen;
    case LD_DATA: {
        uint8_t *d;
        ld_data_room(ld, &d);
        return d;
    }
    }
    return ld->sink; /* a harmless place for hosts that write before checking room */
}

static void ld_free_header(xlmr_loader *ld) {
    XLMR_FREE(ld->hbuf);
    ld->hbuf = NULL;
    ld->hcap = ld->hlen = 0;
    gguf_reader_free(&ld->gr);
}

/* The header buffer holds hlen bytes: parse as far as they go. */
static int ld_head_step(xlmr_loader *ld) {
    if (ld->phase == LD_DETECT) {
        if (ld->hlen < 8) return XLMR_OK;
        if (memcmp(ld->hbuf, "GGUF", 4) == 0) {
            ld->phase = LD_HEAD_GGUF;
            ld->format = LOADER_FORMAT_GGUF;
        } else {
            uint64_t n = st_header_len(ld->hbuf);
            if (!n) {
                xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                          "not a GGUF file (no 'GGUF' magic) nor a safetensors file (header length %llu, expected 2 to %llu)",
                          (unsigned long long)xlmr_rd_u64(ld->hbuf), (unsigned long long)ST_MAX_HEADER);
                ld_hint(ld, ld->hbuf, ld->hlen, 0);
                return ld_fail(ld);
            }
            ld->phase = LD_HEAD_ST;
            ld->format = LOADER_FORMAT_SAFETENSORS;
            ld->hneed = ld->hwant = (size_t)(8 + n);
            return XLMR_OK;
        }
    }
    if (ld->phase == LD_HEAD_GGUF) {
        uint64_t need;
        if (gguf_reader_advance(&ld->gr, ld->hbuf, ld->hlen, &need, &ld->err) != XLMR_OK) return ld_fail(ld);
        if (need) {
            /* ask for what the parser needs, or a step proportional to what we have (few round trips,
             * little over-read into the tensor data) */
            uint64_t step = ld->hlen / 8 < 256 ? 256 : ld->hlen / 8;
            uint64_t want = need > ld->hlen + step ? need : ld->hlen + step;
            if (want > SIZE_MAX) want = SIZE_MAX;
            ld->hneed = need > SIZE_MAX ? SIZE_MAX : (size_t)need;
            ld->hwant = (size_t)want;
            return XLMR_OK;
        }
        if (!ld_gguf_ready(ld)) return ld_fail(ld);
        ld->phase = ld->n_segs ? LD_DATA : LD_DONE;
        /* bytes read past the header belong to the data section */
        size_t over_at = (size_t)ld->gr.data_start;
        ld_data_push(ld, ld->hbuf + over_at, ld->hlen - over_at);
        if (ld->received > ld->total) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "file is longer than its tables say (%llu bytes)",
                      (unsigned long long)ld->total);
            ld_free_header(ld);
            return ld_fail(ld);
        }
        ld_free_header(ld);
        return XLMR_OK;
    }
    if (ld->phase == LD_HEAD_ST && ld->hlen == ld->hwant) {
        if (!ld_st_ready(ld)) return ld_fail(ld);
        ld->phase = ld->n_segs ? LD_DATA : LD_DONE;
        ld_free_header(ld);
    }
    return XLMR_OK;
}

int xlmr_loader_commit(xlmr_loader *ld, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    size_t room = xlmr_loader_room(ld);
    if (ld->phase == LD_FAILED) return ld->status;
    if (n > room) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "commit of %zu bytes at byte %llu exceeds the room of %zu", n,
                  (unsigned long long)ld->received, room);
        return ld_fail(ld);
    }
    if (n == 0) return XLMR_OK;
    ld->received += n;
    if (ld->phase == LD_DATA) {
        ld_data_advance(ld, n);
        return XLMR_OK;
    }
    ld->hlen += n;
    if (ld->hlen < ld->hneed) return XLMR_OK;
    return ld_head_step(ld);
}

int xlmr_loader_feed(xlmr_loader *ld, const uint8_t *bytes, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    while (n > 0) {
        size_t r = xlmr_loader_room(ld);
        if (ld->phase == LD_FAILED) return ld->status;
        if (r == 0) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "file is longer than its tables say: %zu bytes after byte %llu", n,
                      (unsigned long long)ld->received);
            return ld_fail(ld);
        }
        size_t k = r < n ? r : n;
        memcpy(xlmr_loader_dest(ld), bytes, k);
        int st = xlmr_loader_commit(ld, k);
        if (st) return st;
        bytes += k;
        n -= k;
    }
    return ld->status;
}

double xlmr_loader_total(xlmr_loader *ld) { return ld ? (double)ld->total : 0; }
double xlmr_loader_received(xlmr_loader *ld) { return ld ? (double)ld->received : 0; }
int xlmr_loader_status(xlmr_loader *ld) { return ld ? (int)ld->status : XLMR_ERR_ARG; }
const char *xlmr_loader_error(xlmr_loader *ld) { return ld ? ld->err.msg : "no loader"; }

xlmr_model *xlmr_loader_finish(xlmr_loader *ld) {
    if (!ld || ld->phase == LD_FAILED) return NULL;
    if (ld->phase == LD_DATA && !(ld->seg_i == ld->n_segs - 1 && ld->segs[ld->seg_i].optional)) {
        const ld_seg *sg = &ld->segs[ld->seg_i];
        char what[200] = "";
        if (sg->slot >= 0) {
            model_slot ms;
            char hn[128];
            model_slot_get(ld->m, sg->slot, &ms);
            snprintf(what, sizeof what, " (tensor %.100s has %llu of %llu bytes)",
                     ld->format == LOADER_FORMAT_SAFETENSORS ? ld_st_hf_name(&ld->m->config, sg->slot, hn, sizeof hn) : ms.name,
                     (unsigned long long)ld->seg_pos, (unsigned long long)sg->len);
        }
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "file truncated: it ended at byte %llu but its tables need %llu bytes%s",
                  (unsigned long long)ld->received, (unsigned long long)ld->total, what);
        ld_fail(ld);
        return NULL;
    }
    if (ld->received == 0) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "the file is empty (0 bytes: truncated, or not a model file); expected a GGUF or safetensors model");
        ld_fail(ld);
        return NULL;
    }
    if (ld->phase != LD_DATA && ld->phase != LD_DONE) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "file truncated: it ended at byte %llu, inside its %s",
                  (unsigned long long)ld->received,
                  ld->phase == LD_DETECT ? "first 8 bytes" : ld->phase == LD_HEAD_GGUF ? "GGUF metadata" : "safetensors header");
        ld_fail(ld);
        return NULL;
    }
    xlmr_model *m = ld->m;
    if (!m->tok) {
        if (!ld->tok) {
            xlmr_fail(&ld->err, XLMR_ERR_STATE,
                      "no tokenizer: give sentencepiece.bpe.model with xlmr_loader_set_tokenizer (safetensors weights "
                      "carry none)");
            ld_fail(ld);
            return NULL;
        }
        m->tok = ld->tok;
        ld->tok = NULL;
    }
    if (tok_vocab_size(m->tok) != m->config.vocab_size) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "the tokenizer has %d tokens but the model's vocabulary is %d",
                  (int)tok_vocab_size(m->tok), (int)m->config.vocab_size);
        ld_fail(ld);
        return NULL;
    }
    ld->m = NULL;
    ld->phase = LD_FAILED;
    ld->status = XLMR_ERR_STATE;
    xlmr_fail(&ld->err, XLMR_ERR_STATE, "the model was already handed over by xlmr_loader_finish");
    return m;
}

void xlmr_loader_free(xlmr_loader *ld) {
    if (!ld) return;
    ld_free_header(ld);
    model_free(ld->m);
    XLMR_FREE(ld->types);
    XLMR_FREE(ld->segs);
    XLMR_FREE(ld->stage);
    XLMR_FREE(ld->fbuf);
    tok_free(ld->tok);
    XLMR_FREE(ld);
}
