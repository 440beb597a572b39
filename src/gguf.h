/* gguf.h — GGUF v3 (and v2) reading and writing.
 *
 * File: "GGUF", u32 version, u64 tensor count, u64 KV count; KVs (u64-length key, u32 type, value);
 * tensor infos (name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset into the data section);
 * padding to general.alignment (default 32); the data section. Little-endian throughout.
 *
 * The reader works on a header buffer that grows as bytes arrive: gguf_reader_advance parses what the
 * buffer holds, keeps its place, and says how many bytes (from the file start) it needs next. Records hold
 * offsets into the buffer, so the caller may move (realloc) it between calls. Every count, length and
 * offset is checked: hostile values fail with a message, never allocate more than the header limit. */
#ifndef XLMR_GGUF_H
#define XLMR_GGUF_H

#include "common.h"

#define GGUF_MAX_HEADER ((uint64_t)256 << 20) /* metadata + tensor infos; a 250k-token vocabulary is ~8 MB */
#define GGUF_MAX_KVS 65536
#define GGUF_MAX_TENSORS 65536
#define GGUF_MAX_DIMS 4
#define GGUF_MAX_NAME 256
#define GGUF_MAX_KEY 65536
#define GGUF_MAX_NESTING 8
#define GGUF_DEFAULT_ALIGNMENT 32

enum gguf_type {
    GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5, GGUF_F32 = 6,
    GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10, GGUF_I64 = 11, GGUF_F64 = 12,
    GGUF_TYPE_COUNT
};

typedef struct gguf_kv {
    uint64_t key_off; /* key bytes in the buffer (not NUL-terminated) */
    uint64_t key_len;
    uint32_t type;     /* gguf_type */
    uint64_t val_off;  /* value bytes; for arrays the first element */
    uint32_t arr_type; /* arrays: element type */
    uint64_t arr_n;    /* arrays: element count */
} gguf_kv;

typedef struct gguf_tensor_info {
    uint64_t name_off, name_len;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS]; /* unused dims are 1 */
    uint32_t type;             /* ggml type: F32, F16 or Q8_0 */
    uint64_t offset;           /* in the data section, a multiple of the alignment */
    uint64_t nbytes;
} gguf_tensor_info;

typedef struct gguf_reader {
    int stage; /* 0 fixed header, 1 KVs, 2 tensor infos, 3 padding, 4 done */
    uint64_t pos;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    gguf_kv *kvs;
    uint64_t kv_done, kv_cap;
    gguf_tensor_info *tis;
    uint64_t ti_done, ti_cap;
    int in_array; /* inside a top-level array of strings/arrays: resumes per element */
    uint64_t arr_i;
    uint32_t alignment;
    uint64_t data_start; /* file offset of the data section */
    uint64_t data_len;   /* end of the last tensor's bytes, relative to data_start */
} gguf_reader;

void gguf_reader_init(gguf_reader *r);
void gguf_reader_free(gguf_reader *r);
/* Parses buf[0..len) (the file's first len bytes) from where the last call stopped. Returns an error, or
 * XLMR_OK with *need = 0 when the header is complete (through the padding before the data section), or
 * *need = the file length needed before progress is possible (> len). */
xlmr_status gguf_reader_advance(gguf_reader *r, const uint8_t *buf, uint64_t len, uint64_t *need, xlmr_error *err);

/* Lookups on a complete header (buf is the header buffer). Index or -1. */
int64_t gguf_find_key(const gguf_reader *r, const uint8_t *buf, const char *key);
/* Value getters: 1 if kv index i exists with a compatible type. */
int gguf_get_int(const gguf_reader *r, const uint8_t *buf, int64_t i, int64_t *out); /* any integer type */
int gguf_get_float(const gguf_reader *r, const uint8_t *buf, int64_t i, double *out); /* F32 or F64 */
int gguf_get_bool(const gguf_reader *r, const uint8_t *buf, int64_t i, int *out);
int gguf_get_str(const gguf_reader *r, const uint8_t *buf, int64_t i, const char **s, uint64_t *n);
int gguf_get_arr(const gguf_reader *r, const uint8_t *buf, int64_t i, uint32_t *type, uint64_t *n, const uint8_t **data);
/* Walks a validated string array: reads the string at *p and moves *p past it. */
void gguf_next_str(const uint8_t **p, const char **s, uint64_t *n);
const char *gguf_type_name(uint32_t t);

/* ---- writing: a header built in memory ---- */
typedef struct gguf_wbuf {
    uint8_t *p;
    size_t len, cap;
    int failed; /* an allocation failed: the buffer is incomplete */
    uint64_t n_kv, n_tensors;
} gguf_wbuf;

void gguf_w_begin(gguf_wbuf *b); /* magic, version 3, counts patched by gguf_w_end */
void gguf_w_kv_u32(gguf_wbuf *b, const char *key, uint32_t v);
void gguf_w_kv_f32(gguf_wbuf *b, const char *key, float v);
void gguf_w_kv_bool(gguf_wbuf *b, const char *key, int v);
void gguf_w_kv_str(gguf_wbuf *b, const char *key, const char *s, size_t n);
/* Arrays: the key and header; then the elements with gguf_w_raw / gguf_w_str. */
void gguf_w_kv_arr(gguf_wbuf *b, const char *key, uint32_t elem_type, uint64_t n);
void gguf_w_str(gguf_wbuf *b, const char *s, size_t n);
void gguf_w_raw(gguf_wbuf *b, const void *p, size_t n);
void gguf_w_u32(gguf_wbuf *b, uint32_t v);
void gguf_w_tensor(gguf_wbuf *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t offset);
/* Patches the counts and pads to the alignment. */
void gguf_w_end(gguf_wbuf *b, uint32_t alignment);
void gguf_w_free(gguf_wbuf *b);

#endif
