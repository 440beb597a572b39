/* gguf_get.c — lookups on a complete GGUF header: a key's index, its value by type (see gguf.h). */
#include "gguf.h"

int64_t gguf_find_key(const gguf_reader *r, const uint8_t *buf, const char *key) {
    size_t n = strlen(key);
    for (uint64_t i = 0; i < r->kv_done; i++)
        if (r->kvs[i].key_len == n && memcmp(buf + r->kvs[i].key_off, key, n) == 0) return (int64_t)i;
    return -1;
}

static const gguf_kv *kv_at(const gguf_reader *r, int64_t i) {
    if (i < 0 || (uint64_t)i >= r->kv_done || (r->in_array && (uint64_t)i == r->kv_done)) return NULL;
    return &r->kvs[i];
}

int gguf_get_int(const gguf_reader *r, const uint8_t *buf, int64_t i, int64_t *out) {
    const gguf_kv *kv = kv_at(r, i);
    if (!kv) return 0;
    const uint8_t *p = buf + kv->val_off;
    switch (kv->type) {
    case GGUF_U8: *out = p[0]; return 1;
    case GGUF_I8: *out = (int8_t)p[0]; return 1;
    case GGUF_U16: *out = xlmr_rd_u16(p); return 1;
    case GGUF_I16: *out = (int16_t)xlmr_rd_u16(p); return 1;
    case GGUF_U32: *out = xlmr_rd_u32(p); return 1;
    case GGUF_I32: *out = (int32_t)xlmr_rd_u32(p); return 1;
    case GGUF_U64: {
        uint64_t v = xlmr_rd_u64(p);
        if (v > (uint64_t)INT64_MAX) return 0;
        *out = (int64_t)v;
        return 1;
    }
    case GGUF_I64: *out = (int64_t)xlmr_rd_u64(p); return 1;
    }
    return 0;
}

int gguf_get_float(const gguf_reader *r, const uint8_t *buf, int64_t i, double *out) {
    const gguf_kv *kv = kv_at(r, i);
    if (!kv) return 0;
    if (kv->type == GGUF_F32) {
        *out = xlmr_rd_f32(buf + kv->val_off);
        return 1;
    }
    if (kv->type == GGUF_F64) {
        uint64_t u = xlmr_rd_u64(buf + kv->val_off);
        double d;
        memcpy(&d, &u, 8);
        *out = d;
        return 1;
    }
    return 0;
}

int gguf_get_bool(const gguf_reader *r, const uint8_t *buf, int64_t i, int *out) {
    const gguf_kv *kv = kv_at(r, i);
    if (!kv || kv->type != GGUF_BOOL) return 0;
    *out = buf[kv->val_off] != 0;
    return 1;
}

int gguf_get_str(const gguf_reader *r, const uint8_t *buf, int64_t i, const char **s, uint64_t *n) {
    const gguf_kv *kv = kv_at(r, i);
    if (!kv || kv->type != GGUF_STRING) return 0;
    *n = xlmr_rd_u64(buf + kv->val_off);
    *s = (const char *)buf + kv->val_off + 8;
    return 1;
}

int gguf_get_arr(const gguf_reader *r, const uint8_t *buf, int64_t i, uint32_t *type, uint64_t *n, const uint8_t **data) {
    const gguf_kv *kv = kv_at(r, i);
    if (!kv || kv->type != GGUF_ARRAY) return 0;
    *type = kv->arr_type;
    *n = kv->arr_n;
    *data = buf + kv->val_off;
    return 1;
}

void gguf_next_str(const uint8_t **p, const char **s, uint64_t *n) {
    *n = xlmr_rd_u64(*p);
    *s = (const char *)*p + 8;
    *p += 8 + *n;
}
