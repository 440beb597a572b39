/* gguf_wbuf.c — a GGUF header built in memory (gguf_wbuf; see gguf.h): the writer primitives
 * convert.c serializes a model with. An allocation failure marks the buffer failed, checked once at the end. */
#include "gguf.h"

static void w_reserve(gguf_wbuf *b, size_t n) {
    if (b->failed) return;
    if (n > SIZE_MAX - b->len) {
        b->failed = 1;
        return;
    }
    if (b->len + n <= b->cap) return;
    size_t nc = b->cap ? b->cap : 4096;
    while (nc < b->len + n) {
        if (nc > SIZE_MAX / 2) {
            nc = b->len + n;
            break;
        }
        nc *= 2;
    }
    uint8_t *q = XLMR_REALLOC(b->p, nc);
    if (!q) {
        b->failed = 1;
        return;
    }
    b->p = q;
    b->cap = nc;
}

void gguf_w_raw(gguf_wbuf *b, const void *p, size_t n) {
    w_reserve(b, n);
    if (b->failed) return;
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

void gguf_w_u32(gguf_wbuf *b, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    gguf_w_raw(b, x, 4);
}

static void w_u64(gguf_wbuf *b, uint64_t v) {
    uint8_t x[8];
    for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
    gguf_w_raw(b, x, 8);
}

void gguf_w_str(gguf_wbuf *b, const char *s, size_t n) {
    w_u64(b, n);
    gguf_w_raw(b, s, n);
}

void gguf_w_begin(gguf_wbuf *b) {
    memset(b, 0, sizeof *b);
    gguf_w_raw(b, "GGUF", 4);
    gguf_w_u32(b, 3);
    w_u64(b, 0);
    w_u64(b, 0);
}

static void w_key(gguf_wbuf *b, const char *key, uint32_t type) {
    gguf_w_str(b, key, strlen(key));
    gguf_w_u32(b, type);
    b->n_kv++;
}

void gguf_w_kv_u32(gguf_wbuf *b, const char *key, uint32_t v) {
    w_key(b, key, GGUF_U32);
    gguf_w_u32(b, v);
}

void gguf_w_kv_f32(gguf_wbuf *b, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    w_key(b, key, GGUF_F32);
    gguf_w_u32(b, u);
}

void gguf_w_kv_bool(gguf_wbuf *b, const char *key, int v) {
    uint8_t x = v ? 1 : 0;
    w_key(b, key, GGUF_BOOL);
    gguf_w_raw(b, &x, 1);
}

void gguf_w_kv_str(gguf_wbuf *b, const char *key, const char *s, size_t n) {
    w_key(b, key, GGUF_STRING);
    gguf_w_str(b, s, n);
}

void gguf_w_kv_arr(gguf_wbuf *b, const char *key, uint32_t elem_type, uint64_t n) {
    w_key(b, key, GGUF_ARRAY);
    gguf_w_u32(b, elem_type);
    w_u64(b, n);
}

void gguf_w_tensor(gguf_wbuf *b, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type, uint64_t offset) {
    gguf_w_str(b, name, strlen(name));
    gguf_w_u32(b, n_dims);
    for (uint32_t d = 0; d < n_dims; d++) w_u64(b, (uint64_t)ne[d]);
    gguf_w_u32(b, type);
    w_u64(b, offset);
    b->n_tensors++;
}

void gguf_w_end(gguf_wbuf *b, uint32_t alignment) {
    static const uint8_t zeros[64] = {0};
    while (!b->failed && b->len % alignment != 0) {
        size_t k = alignment - b->len % alignment;
        gguf_w_raw(b, zeros, k > sizeof zeros ? sizeof zeros : k);
    }
    if (b->failed) return;
    for (int i = 0; i < 8; i++) {
        b->p[8 + i] = (uint8_t)(b->n_tensors >> (8 * i));
        b->p[16 + i] = (uint8_t)(b->n_kv >> (8 * i));
    }
}

void gguf_w_free(gguf_wbuf *b) {
    XLMR_FREE(b->p);
    memset(b, 0, sizeof *b);
}
