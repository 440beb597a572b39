/* loader.c — the streaming loader's byte protocol (room / dest / commit, loader.h) and its data phase: each
 * segment's bytes land in their tensor's place, straight or through the stage (converted, quantized or put in
 * the GEMM's layout). The headers are read by loader_gguf.c, loader_safetensors.c and loader_torch.c. */
#include "loader_internal.h"

#include <stdio.h>

#include "labels.h"
#include "quant.h"
#include "safetensors.h"

int loader_format(const xlmr_loader *ld) { return ld ? ld->format : LOADER_FORMAT_UNKNOWN; }

int ld_fail(xlmr_loader *ld) {
    if (ld->status == XLMR_OK) ld->status = ld->err.code ? ld->err.code : XLMR_ERR_FORMAT;
    ld->phase = LD_FAILED;
    return ld->status;
}

xlmr_loader *xlmr_loader_new(int dtype) {
    if (dtype < XLMR_DTYPE_Q8_0 || dtype > XLMR_DTYPE_Q4_0) return NULL;
    xlmr_loader *ld = XLMR_CALLOC(1, sizeof *ld);
    if (!ld) return NULL;
    ld->dtype = dtype;
    ld->embedding_dtype = -1;
    ld->phase = LD_DETECT;
    ld->hneed = ld->hwant = 8;
    ld->pooling = ld->normalize = -1;
    gguf_reader_init(&ld->gr);
    return ld;
}

/* ---- data phase ---- */

ld_seg *ld_seg_push(xlmr_loader *ld, size_t *cap) {
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
    const uint64_t unit = t->type == XLMR_TYPE_Q8_0 || t->type == XLMR_TYPE_Q4_0 ? QK8_0 : 1;
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
        case XLMR_TYPE_Q4_0: q4_0_quantize_row(f, (block_q4_0 *)t->data + o / QK4_0, (int64_t)take); break;
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
        if (ld->seg_i == ld->n_segs) {
            if (ld->format == LOADER_FORMAT_TORCH) ld_torch_storage_done(ld);
            else ld->phase = LD_DONE;
        }
    }
}

size_t ld_data_push(xlmr_loader *ld, const uint8_t *src, size_t n) {
    const size_t n0 = n;
    while (n > 0 && ld->phase == LD_DATA) {
        uint8_t *d;
        size_t r = ld_data_room(ld, &d);
        size_t k = r < n ? r : n;
        memcpy(d, src, k);
        ld_data_advance(ld, k);
        src += k;
        n -= k;
    }
    return n0 - n;
}

/* ---- set-up shared by both formats ---- */

int ld_begin_model(xlmr_loader *ld, const xlmr_config *c) {
    ld->m = model_new();
    if (!ld->m) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    ld->m->config = *c;
    if (ld->pooling >= 0) { /* the host's sentence-transformers config over the file's own */
        ld->m->config.pooling = ld->pooling;
        ld->m->config.normalize = ld->normalize;
    }
    if (model_alloc_layers(ld->m, &ld->err) != XLMR_OK) return 0;
    int n = model_slot_count(c);
    ld->types = XLMR_CALLOC((size_t)n, sizeof(int32_t));
    if (!ld->types) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    return 1;
}

const char *ld_shape_str(char *buf, size_t n, int n_dims, const int64_t *ne) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int d = 0; d < n_dims && o < n; d++)
        o += (size_t)snprintf(buf + o, n - o, d ? ", %lld" : "%lld", (long long)ne[d]);
    if (o < n) snprintf(buf + o, n - o, "]");
    return buf;
}

/* ---- GGUF ---- */

int ld_note_labels(xlmr_loader *ld, xlmr_config *c, int slot, const int64_t ne[2]) {
    const int64_t n = model_slot_label_count(c, slot, ne);
    if (n < 0 || c->num_labels) return 1;
    if (n < 1 || n > LABELS_MAX) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "a classifier with %lld outputs; 1 to %d are supported", (long long)n, LABELS_MAX);
        return 0;
    }
    c->num_labels = (int32_t)n;
    return 1;
}

int ld_apply_labels(xlmr_loader *ld, const char *from) {
    xlmr_model *m = ld->m;
    if (!model_head_has_labels(m->config.head)) return 1;
    const int n = m->config.num_labels;
    if (ld->labels.n == 0) return labels_default(&m->labels, n, &ld->err) == XLMR_OK;
    if (ld->labels.n != n) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s names %d labels but the %s head has %d outputs", from, ld->labels.n,
                  model_head_task(m->config.head), n);
        return 0;
    }
    labels_free(&m->labels);
    m->labels = ld->labels;
    labels_init(&ld->labels);
    return 1;
}

int ld_note_head(xlmr_loader *ld, int *head, int slot_head, const char *format) {
    if (slot_head == XLMR_HEAD_NONE || slot_head == *head) return 1;
    if (*head != XLMR_HEAD_NONE) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: the file holds tensors of two task heads (%s and %s); a model carries one",
                  format, model_head_task(*head), model_head_task(slot_head));
        return 0;
    }
    *head = slot_head;
    return 1;
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
    case LD_HEAD_ST:
    case LD_HEAD_TORCH: {
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
    case LD_HEAD_TORCH:
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
        } else if (memcmp(ld->hbuf, "PK\x03\x04", 4) == 0) {
            ld->phase = LD_HEAD_TORCH;
            ld->format = LOADER_FORMAT_TORCH;
        } else if (memcmp(ld->hbuf, "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46", 8) == 0) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT,
                      "a PyTorch checkpoint in the legacy format torch wrote before 1.6 (a pickle stream, not a zip): "
                      "load it with torch and save it again with torch.save, or as safetensors");
            return ld_fail(ld);
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
    if (ld->phase == LD_HEAD_TORCH) return ld_torch_step(ld) ? XLMR_OK : ld_fail(ld);
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
    if (ld->format == LOADER_FORMAT_TORCH && ld->phase != LD_DONE) {
        char where[200];
        ld_torch_where(ld, where, sizeof where);
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "file truncated: the zip archive ended at byte %llu, %s",
                  (unsigned long long)ld->received, where);
        ld_fail(ld);
        return NULL;
    }
    if (ld->phase == LD_DATA && !(ld->seg_i == ld->n_segs - 1 && ld->segs[ld->seg_i].optional)) {
        const ld_seg *sg = &ld->segs[ld->seg_i];
        char what[200] = "";
        if (sg->slot >= 0) {
            model_slot ms;
            char hn[128];
            model_slot_get(ld->m, sg->slot, &ms);
            snprintf(what, sizeof what, " (tensor %.100s has %llu of %llu bytes)",
                     ld->format == LOADER_FORMAT_SAFETENSORS ? model_slot_hf_name(&ld->m->config, sg->slot, hn, sizeof hn) : ms.name,
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
    if (ld->index_map && !ld_hf_shards_complete(ld)) {
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
    if (tok_vocab_size(m->tok) > m->config.vocab_size) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "the tokenizer has %d tokens but the model's vocabulary only %d",
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
    ld_torch_free(ld);
    ld_shards_free(ld);
    tok_free(ld->tok);
    labels_free(&ld->labels);
    XLMR_FREE(ld);
}
