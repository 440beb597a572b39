/* loader_internal.h — the loader's state, shared by its parts: the byte protocol and data phase (loader.c), the
 * GGUF header (loader_gguf.c), the safetensors header (loader_safetensors.c), the PyTorch zip (loader_torch.c) and
 * the Hugging Face names both of those map (loader_hf.c). Each header
 * reader turns the file's tables into the model's slots and a list of segments: the data section in file order,
 * each run of bytes either a tensor we keep or bytes we skip. */
#ifndef XLMR_LOADER_INTERNAL_H
#define XLMR_LOADER_INTERNAL_H

#include "config.h"
#include "gguf.h"
#include "loader.h"
#include "model_slots.h"
#include "tokenizer.h"

enum { LD_DETECT, LD_HEAD_GGUF, LD_HEAD_ST, LD_HEAD_TORCH, LD_DATA, LD_DONE, LD_FAILED };

#define LD_HEAD_MIN_CAP 4096
#define LD_SINK_BYTES 4096
#define LD_FILE_PREFIX_MAX 64

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
    int embedding_dtype; /* XLMR_DTYPE_* of the word-embedding table, -1: dtype */
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
    xlmr_labels labels; /* config.json's id2label, or GGUF's bert.classifier.output_labels */
    int32_t pooling, normalize; /* from xlmr_loader_set_pooling, -1 when not given */

    /* the model being filled */
    xlmr_model *m;
    int32_t *types; /* XLMR_TYPE_* per slot */

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

    struct ld_torch *torch; /* PyTorch zip: the records between the storages (loader_torch.c) */

    /* sharded checkpoints (xlmr_loader_set_index): the index's weight_map, which slots a file has filled */
    struct json_doc *index;
    const struct json_value *index_map;
    uint8_t *filled;
    char file_prefix[LD_FILE_PREFIX_MAX]; /* xlmr_loader_set_file_prefix: put before the current file's tensor names */
    size_t file_prefix_len;

    uint8_t sink[LD_SINK_BYTES];
};

/* Appends "; the bytes look like ..." to ld->err's message when the first bytes of a rejected file are recognisable
 * (an HTML page, JSON, a zip, gzip ...); want_json: JSON is what was expected. */
void ld_hint(xlmr_loader *ld, const uint8_t *b, size_t n, int want_json);
/* Marks the loader failed with the error in ld->err; returns the status. */
int ld_fail(xlmr_loader *ld);
/* A new segment at the end of ld->segs (cap: its capacity, grown here); NULL when out of memory. */
ld_seg *ld_seg_push(xlmr_loader *ld, size_t *cap);
/* ld->m and ld->types for config c; 0 with ld->err set on failure. */
int ld_begin_model(xlmr_loader *ld, const xlmr_config *c);
/* "[a, b]" of a shape, for messages. */
const char *ld_shape_str(char *buf, size_t n, int n_dims, const int64_t *ne);
/* Records that the file holds a tensor of head (XLMR_HEAD_*) in *head; 0 with ld->err set when it already
 * holds another head's (a model carries one). */
int ld_note_head(xlmr_loader *ld, int *head, int slot_head, const char *format);

/* The file's tensor of slot i has shape ne (columns, rows): the label count it implies, kept in c->num_labels by
 * the first such tensor (the others must agree: the shape checks). 0 with ld->err set on an absurd count. */
int ld_note_labels(xlmr_loader *ld, xlmr_config *c, int slot, const int64_t ne[2]);
/* The model's labels from ld->labels, for a head that has them: as many as its outputs, or "LABEL_i" when the file
 * names none. 0 with ld->err set (from: what named them, for the message). */
int ld_apply_labels(xlmr_loader *ld, const char *from);

/* The header is complete in ld->hbuf: the model, its weights block and the segments are set up (1), or ld->err
 * says why not (0). */
int ld_gguf_ready(xlmr_loader *ld);
int ld_st_ready(xlmr_loader *ld);

/* A Hugging Face state dict's tensors (n of them; shapes (rows, columns)) and config.json: the model begun, shapes
 * checked, weight types chosen, the weights block allocated. Returns from[slot] = the index of the tensor holding it
 * (-1: none; the caller frees it), or NULL with ld->err set. format names the file kind in messages. */
struct st_tensor;
int *ld_hf_begin(xlmr_loader *ld, const struct st_tensor *ts, size_t n, const char *format);
/* Sharded: every held slot was filled by some file; 0 with ld->err naming one that was not. */
int ld_hf_shards_complete(xlmr_loader *ld);
/* Frees the shard index (xlmr_loader_free). */
void ld_shards_free(xlmr_loader *ld);

/* Pushes n bytes already in memory (a header's over-read) through the data phase; returns how many it took (fewer
 * when the segments end first). */
size_t ld_data_push(xlmr_loader *ld, const uint8_t *src, size_t n);

/* PyTorch zip (loader_torch.c): parses the records in ld->hbuf as far as they go, entering the data phase for each
 * storage (1), or ld->err says why not (0). ld_torch_storage_done: the data phase of a storage ended. */
int ld_torch_step(xlmr_loader *ld);
void ld_torch_storage_done(xlmr_loader *ld);
/* Where the archive stopped, for finish's message when the bytes end early. */
void ld_torch_where(const xlmr_loader *ld, char *buf, size_t n);
void ld_torch_free(xlmr_loader *ld);

#endif
