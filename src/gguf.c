/* gguf.c — the GGUF header reader: a resumable parse over a growing buffer (see gguf.h). */
#include "gguf.h"

#include <stdlib.h>

#include "model.h"
#include "quant.h"

/* ---- reading ---- */

typedef struct gguf_cur {
    const uint8_t *buf;
    uint64_t len;  /* bytes available */
    uint64_t p;    /* read position */
    uint64_t need; /* set when a read ran past len: the length that would satisfy it */
} gguf_cur;

enum { CUR_OK = 1, CUR_MORE = 0, CUR_ERR = -1 };

static int cur_has(gguf_cur *c, uint64_t n) {
    if (n > GGUF_MAX_HEADER || c->p + n > GGUF_MAX_HEADER) {
        c->need = UINT64_MAX;
        return 0;
    }
    if (c->p + n > c->len) {
        c->need = c->p + n;
        return 0;
    }
    return 1;
}

static int cur_u32(gguf_cur *c, uint32_t *v) {
    if (!cur_has(c, 4)) return 0;
    *v = xlmr_rd_u32(c->buf + c->p);
    c->p += 4;
    return 1;
}

static int cur_u64(gguf_cur *c, uint64_t *v) {
    if (!cur_has(c, 8)) return 0;
    *v = xlmr_rd_u64(c->buf + c->p);
    c->p += 8;
    return 1;
}

static uint64_t gguf_scalar_size(uint32_t t) {
    switch (t) {
    case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
    case GGUF_U16: case GGUF_I16: return 2;
    case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
    case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
    }
    return 0; /* string, array, unknown */
}

const char *gguf_type_name(uint32_t t) {
    static const char *const names[GGUF_TYPE_COUNT] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                       "bool", "string", "array", "u64", "i64", "f64"};
    return t < GGUF_TYPE_COUNT ? names[t] : "unknown";
}

/* A read that would pass the header limit is an error, not a wait. */
static int cur_more(gguf_cur *c, const char *what, xlmr_error *err) {
    if (c->need == UINT64_MAX) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: %s at byte %llu runs past the %llu-byte metadata limit", what,
                  (unsigned long long)c->p, (unsigned long long)GGUF_MAX_HEADER);
        return CUR_ERR;
    }
    return CUR_MORE;
}

static int cur_string(gguf_cur *c, uint64_t max_len, const char *what, xlmr_error *err) {
    uint64_t n;
    uint64_t at = c->p;
    if (!cur_u64(c, &n)) return cur_more(c, what, err);
    if (n > max_len) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: %s at byte %llu has length %llu (at most %llu)", what,
                  (unsigned long long)at, (unsigned long long)n, (unsigned long long)max_len);
        return CUR_ERR;
    }
    if (!cur_has(c, n)) return cur_more(c, what, err);
    c->p += n;
    return CUR_OK;
}

/* Skips one value of type t (scalars, strings, arrays nested up to GGUF_MAX_NESTING). */
static int cur_value(gguf_cur *c, uint32_t t, int depth, xlmr_error *err) {
    if (t == GGUF_STRING) return cur_string(c, GGUF_MAX_HEADER, "string", err);
    if (t != GGUF_ARRAY) {
        uint64_t sz = gguf_scalar_size(t);
        if (!sz) {
            xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: unknown value type %u at byte %llu", t, (unsigned long long)c->p);
            return CUR_ERR;
        }
        if (!cur_has(c, sz)) return cur_more(c, "value", err);
        c->p += sz;
        return CUR_OK;
    }
    if (depth >= GGUF_MAX_NESTING) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: arrays nested deeper than %d at byte %llu", GGUF_MAX_NESTING,
                  (unsigned long long)c->p);
        return CUR_ERR;
    }
    uint32_t et;
    uint64_t n;
    if (!cur_u32(c, &et) || !cur_u64(c, &n)) return cur_more(c, "array", err);
    if (et >= GGUF_TYPE_COUNT) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: array of unknown type %u at byte %llu", et, (unsigned long long)c->p);
        return CUR_ERR;
    }
    uint64_t sz = gguf_scalar_size(et), min = sz ? sz : (et == GGUF_STRING ? 8 : 12);
    if (n > GGUF_MAX_HEADER / min) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: array of %llu %s at byte %llu is larger than the metadata limit",
                  (unsigned long long)n, gguf_type_name(et), (unsigned long long)c->p);
        return CUR_ERR;
    }
    if (!cur_has(c, n * min)) return cur_more(c, "array", err);
    if (sz) {
        c->p += n * sz;
        return CUR_OK;
    }
    for (uint64_t i = 0; i < n; i++) {
        int r = cur_value(c, et, depth + 1, err);
        if (r != CUR_OK) return r;
    }
    return CUR_OK;
}

void gguf_reader_init(gguf_reader *r) {
    memset(r, 0, sizeof *r);
    r->alignment = GGUF_DEFAULT_ALIGNMENT;
}

void gguf_reader_free(gguf_reader *r) {
    if (!r) return;
    XLMR_FREE(r->kvs);
    XLMR_FREE(r->tis);
    gguf_reader_init(r);
}

static int grow(void **p, uint64_t *cap, uint64_t want, size_t elem) {
    if (want <= *cap) return 1;
    uint64_t nc = *cap ? *cap * 2 : 16;
    if (nc < want) nc = want;
    void *q = XLMR_REALLOC(*p, (size_t)(nc * elem));
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}

/* FNV-1a over names, open addressing: duplicate keys / tensor names in O(n). */
static uint64_t name_hash(const uint8_t *s, uint64_t n) {
    uint64_t h = 1469598103934665603ull;
    for (uint64_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

/* offs/lens: n names inside buf. Returns the index of a repeated name, -1 if none, -2 out of memory. */
static int64_t find_duplicate(const uint8_t *buf, uint64_t n, const void *recs, size_t stride, size_t off_field,
                              size_t len_field) {
    if (n < 2) return -1;
    uint64_t cap = 1;
    while (cap < n * 2) cap <<= 1;
    int64_t *tab = XLMR_MALLOC((size_t)cap * sizeof(int64_t));
    if (!tab) return -2;
    for (uint64_t i = 0; i < cap; i++) tab[i] = -1;
    int64_t dup = -1;
    for (uint64_t i = 0; i < n && dup < 0; i++) {
        const uint8_t *rec = (const uint8_t *)recs + i * stride;
        uint64_t o, l;
        memcpy(&o, rec + off_field, 8);
        memcpy(&l, rec + len_field, 8);
        uint64_t h = name_hash(buf + o, l) & (cap - 1);
        while (tab[h] >= 0) {
            const uint8_t *r2 = (const uint8_t *)recs + (uint64_t)tab[h] * stride;
            uint64_t o2, l2;
            memcpy(&o2, r2 + off_field, 8);
            memcpy(&l2, r2 + len_field, 8);
            if (l2 == l && memcmp(buf + o2, buf + o, l) == 0) {
                dup = (int64_t)i;
                break;
            }
            h = (h + 1) & (cap - 1);
        }
        if (dup < 0) tab[h] = (int64_t)i;
    }
    XLMR_FREE(tab);
    return dup;
}

static int cmp_u64_pair(const void *a, const void *b) {
    const uint64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0;
}

static xlmr_status gguf_finish_tables(gguf_reader *r, const uint8_t *buf, xlmr_error *err) {
    int64_t d = find_duplicate(buf, r->n_kv, r->kvs, sizeof(gguf_kv), offsetof(gguf_kv, key_off),
                               offsetof(gguf_kv, key_len));
    if (d == -2) return xlmr_fail(err, XLMR_ERR_NOMEM, "GGUF: out of memory");
    if (d >= 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: key '%.*s' appears twice", (int)(r->kvs[d].key_len > 200 ? 200 : r->kvs[d].key_len),
                         (const char *)buf + r->kvs[d].key_off);
    d = find_duplicate(buf, r->n_tensors, r->tis, sizeof(gguf_tensor_info), offsetof(gguf_tensor_info, name_off),
                       offsetof(gguf_tensor_info, name_len));
    if (d == -2) return xlmr_fail(err, XLMR_ERR_NOMEM, "GGUF: out of memory");
    if (d >= 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensor '%.*s' appears twice", (int)r->tis[d].name_len,
                         (const char *)buf + r->tis[d].name_off);
    /* offsets: aligned, no overlaps */
    if (r->n_tensors == 0) return XLMR_OK;
    uint64_t *ord = XLMR_MALLOC((size_t)r->n_tensors * 2 * sizeof(uint64_t));
    if (!ord) return xlmr_fail(err, XLMR_ERR_NOMEM, "GGUF: out of memory");
    for (uint64_t i = 0; i < r->n_tensors; i++) {
        ord[2 * i] = r->tis[i].offset;
        ord[2 * i + 1] = i;
    }
    qsort(ord, (size_t)r->n_tensors, 2 * sizeof(uint64_t), cmp_u64_pair);
    xlmr_status st = XLMR_OK;
    uint64_t end = 0;
    const gguf_tensor_info *prev = NULL;
    for (uint64_t k = 0; k < r->n_tensors; k++) {
        const gguf_tensor_info *t = &r->tis[ord[2 * k + 1]];
        if (t->offset % r->alignment != 0) {
            st = xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensor '%.*s' offset %llu is not a multiple of the alignment %u",
                           (int)t->name_len, (const char *)buf + t->name_off, (unsigned long long)t->offset, r->alignment);
            break;
        }
        if (prev && t->offset < end) {
            st = xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensors '%.*s' and '%.*s' overlap at data offset %llu",
                           (int)prev->name_len, (const char *)buf + prev->name_off, (int)t->name_len,
                           (const char *)buf + t->name_off, (unsigned long long)t->offset);
            break;
        }
        end = t->offset + t->nbytes; /* both < 2^62: checked when read */
        prev = t;
    }
    XLMR_FREE(ord);
    r->data_len = end;
    return st;
}

static xlmr_status gguf_read_alignment(gguf_reader *r, const uint8_t *buf, xlmr_error *err) {
    int64_t i = gguf_find_key(r, buf, "general.alignment");
    if (i < 0) return XLMR_OK;
    int64_t a;
    if (!gguf_get_int(r, buf, i, &a) || a <= 0 || a > (1 << 16) || (a & (a - 1)) != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: general.alignment must be a power of two up to 65536");
    r->alignment = (uint32_t)a;
    return XLMR_OK;
}

static xlmr_status gguf_tensor_info_read(gguf_reader *r, gguf_cur *c, gguf_tensor_info *t, int *more, xlmr_error *err) {
    *more = 0;
    uint64_t at = c->p;
    int k = cur_string(c, GGUF_MAX_NAME, "tensor name", err);
    if (k == CUR_ERR) return err ? err->code : XLMR_ERR_FORMAT;
    if (k == CUR_MORE) goto more;
    t->name_off = at + 8;
    t->name_len = c->p - at - 8;
    const char *name = (const char *)c->buf + t->name_off;
    if (!cur_u32(c, &t->n_dims)) goto more;
    if (t->n_dims < 1 || t->n_dims > GGUF_MAX_DIMS)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensor '%.*s' has %u dimensions (1 to %d)", (int)t->name_len, name,
                         t->n_dims, GGUF_MAX_DIMS);
    uint64_t elems = 1;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne;
        if (!cur_u64(c, &ne)) goto more;
        if (ne > (uint64_t)INT64_MAX || (ne != 0 && elems > ((uint64_t)1 << 58) / ne))
            return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensor '%.*s' has too many elements", (int)t->name_len, name);
        elems *= ne;
        t->ne[d] = (int64_t)ne;
    }
    if (!cur_u32(c, &t->type) || !cur_u64(c, &t->offset)) goto more;
    const int blocked = t->type == XLMR_TYPE_Q8_0 || t->type == XLMR_TYPE_Q4_0;
    if (t->type != XLMR_TYPE_F32 && t->type != XLMR_TYPE_F16 && !blocked)
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "GGUF: tensor '%.*s' has ggml type %u (%s); only F32, F16, Q8_0 and Q4_0 are supported",
                         (int)t->name_len, name, t->type, t->type == XLMR_TYPE_BF16 ? "BF16" : "unsupported");
    if (blocked && t->ne[0] % QK8_0 != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: %s tensor '%.*s' has rows of %lld, not a multiple of %d",
                         t->type == XLMR_TYPE_Q8_0 ? "Q8_0" : "Q4_0", (int)t->name_len, name, (long long)t->ne[0], QK8_0);
    /* in 64 bits whatever size_t is: elems < 2^58, so nbytes < 2^61 */
    t->nbytes = t->type == XLMR_TYPE_F32   ? elems * 4
                : t->type == XLMR_TYPE_F16 ? elems * 2
                : t->type == XLMR_TYPE_Q8_0 ? elems / QK8_0 * sizeof(block_q8_0)
                                            : elems / QK4_0 * sizeof(block_q4_0);
    if (t->offset > ((uint64_t)1 << 62))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: tensor '%.*s' offset %llu is out of range", (int)t->name_len, name,
                         (unsigned long long)t->offset);
    return XLMR_OK;
more:
    *more = 1;
    return cur_more(c, "tensor info", err) == CUR_ERR ? (err ? err->code : XLMR_ERR_FORMAT) : XLMR_OK;
}

/* A read ran past the buffer: the file length to wait for, or an error past the header limit. */
static xlmr_status more_bytes(const gguf_cur *c, uint64_t len, uint64_t *need, xlmr_error *err) {
    if (c->need == UINT64_MAX || c->need > GGUF_MAX_HEADER)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: metadata at byte %llu runs past the %llu-byte limit", (unsigned long long)c->p,
                         (unsigned long long)GGUF_MAX_HEADER);
    *need = c->need > len ? c->need : len + 1;
    return XLMR_OK;
}

/* A cursor result as a status: CUR_MORE sets *more (the caller waits for bytes), CUR_ERR is the error the
   cursor reported. */
static xlmr_status cur_status(int k, int *more, const xlmr_error *err) {
    *more = k == CUR_MORE;
    return k == CUR_ERR ? (err ? err->code : XLMR_ERR_FORMAT) : XLMR_OK;
}

/* Stage 0: magic, version, the two counts (24 bytes). */
static xlmr_status read_fixed_header(gguf_reader *r, gguf_cur *c, int *more, xlmr_error *err) {
    const uint8_t *buf = c->buf;
    if ((*more = !cur_has(c, 24))) return XLMR_OK;
    if (memcmp(buf, "GGUF", 4) != 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: bad magic (expected 'GGUF')");
    r->version = xlmr_rd_u32(buf + 4);
    if (r->version != 2 && r->version != 3) return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: version %u is not supported (2 or 3)", r->version);
    r->n_tensors = xlmr_rd_u64(buf + 8);
    r->n_kv = xlmr_rd_u64(buf + 16);
    if (r->n_tensors > GGUF_MAX_TENSORS)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: %llu tensors (at most %d)", (unsigned long long)r->n_tensors, GGUF_MAX_TENSORS);
    if (r->n_kv > GGUF_MAX_KVS)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: %llu metadata keys (at most %d)", (unsigned long long)r->n_kv, GGUF_MAX_KVS);
    r->pos = c->p = 24;
    r->stage = 1;
    return XLMR_OK;
}

#define KEY_SHOWN(kv) (int)((kv).key_len > 200 ? 200 : (kv).key_len), (const char *)c->buf + (kv).key_off

/* The rest of an array of strings or arrays, one element at a time (it may span many calls). */
static xlmr_status resume_array(gguf_reader *r, gguf_cur *c, int *more, xlmr_error *err) {
    gguf_kv *kv = &r->kvs[r->kv_done];
    while (r->arr_i < kv->arr_n) {
        int k = cur_value(c, kv->arr_type, 1, err);
        if (k != CUR_OK) return cur_status(k, more, err);
        r->arr_i++;
        r->pos = c->p;
    }
    r->in_array = 0;
    r->kv_done++;
    return XLMR_OK;
}

static xlmr_status push_kv(gguf_reader *r, gguf_kv kv, xlmr_error *err) {
    if (!grow((void **)&r->kvs, &r->kv_cap, r->kv_done + 1, sizeof(gguf_kv))) return xlmr_fail(err, XLMR_ERR_NOMEM, "GGUF: out of memory");
    r->kvs[r->kv_done] = kv;
    return XLMR_OK;
}

/* An array KV after its key and type: element type and count; scalar elements are skipped whole, strings
   and arrays are left to resume_array. */
static xlmr_status read_array_kv(gguf_reader *r, gguf_cur *c, gguf_kv kv, int *more, xlmr_error *err) {
    if ((*more = !cur_u32(c, &kv.arr_type) || !cur_u64(c, &kv.arr_n))) return XLMR_OK;
    kv.val_off = c->p;
    if (kv.arr_type >= GGUF_TYPE_COUNT)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: key '%.*s' is an array of unknown type %u", KEY_SHOWN(kv), kv.arr_type);
    uint64_t sz = gguf_scalar_size(kv.arr_type), min = sz ? sz : (kv.arr_type == GGUF_STRING ? 8 : 12);
    if (kv.arr_n > GGUF_MAX_HEADER / min || !cur_has(c, kv.arr_n * min)) {
        if (kv.arr_n > GGUF_MAX_HEADER / min || c->need == UINT64_MAX)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: array '%.*s' of %llu elements is larger than the metadata limit", KEY_SHOWN(kv),
                             (unsigned long long)kv.arr_n);
        *more = 1;
        return XLMR_OK;
    }
    xlmr_status st = push_kv(r, kv, err);
    if (st) return st;
    if (sz) {
        c->p += kv.arr_n * sz;
        r->kv_done++;
    } else {
        r->in_array = 1;
        r->arr_i = 0;
    }
    r->pos = c->p;
    return XLMR_OK;
}

/* One KV: key, type, value (an array's elements may be left to resume_array). */
static xlmr_status read_kv(gguf_reader *r, gguf_cur *c, int *more, xlmr_error *err) {
    uint64_t at = c->p;
    int k = cur_string(c, GGUF_MAX_KEY, "key", err);
    if (k != CUR_OK) return cur_status(k, more, err);
    gguf_kv kv = {at + 8, c->p - at - 8, 0, 0, 0, 0};
    if ((*more = !cur_u32(c, &kv.type))) return XLMR_OK;
    if (kv.type >= GGUF_TYPE_COUNT) return xlmr_fail(err, XLMR_ERR_FORMAT, "GGUF: key '%.*s' has unknown type %u", KEY_SHOWN(kv), kv.type);
    if (kv.type == GGUF_ARRAY) return read_array_kv(r, c, kv, more, err);
    kv.val_off = c->p;
    k = cur_value(c, kv.type, 0, err);
    if (k != CUR_OK) return cur_status(k, more, err);
    xlmr_status st = push_kv(r, kv, err);
    if (st) return st;
    r->kv_done++;
    r->pos = c->p;
    return XLMR_OK;
}

#undef KEY_SHOWN

/* Stage 1: every KV, then the alignment they set. */
static xlmr_status read_kvs(gguf_reader *r, gguf_cur *c, int *more, xlmr_error *err) {
    while (r->kv_done < r->n_kv) {
        xlmr_status st = r->in_array ? resume_array(r, c, more, err) : read_kv(r, c, more, err);
        if (st || *more) return st;
    }
    xlmr_status st = gguf_read_alignment(r, c->buf, err);
    if (st) return st;
    r->stage = 2;
    return XLMR_OK;
}

/* Stage 2: every tensor info, then where the data section starts. */
static xlmr_status read_tensor_infos(gguf_reader *r, gguf_cur *c, int *more, xlmr_error *err) {
    while (r->ti_done < r->n_tensors) {
        gguf_tensor_info t;
        xlmr_status st = gguf_tensor_info_read(r, c, &t, more, err);
        if (st || *more) return st;
        if (!grow((void **)&r->tis, &r->ti_cap, r->ti_done + 1, sizeof(gguf_tensor_info)))
            return xlmr_fail(err, XLMR_ERR_NOMEM, "GGUF: out of memory");
        r->tis[r->ti_done++] = t;
        r->pos = c->p;
    }
    r->data_start = (r->pos + r->alignment - 1) / r->alignment * r->alignment;
    r->stage = 3;
    return XLMR_OK;
}

xlmr_status gguf_reader_advance(gguf_reader *r, const uint8_t *buf, uint64_t len, uint64_t *need, xlmr_error *err) {
    gguf_cur c = {buf, len, r->pos, 0};
    *need = 0;
    int more = 0;
    xlmr_status st = XLMR_OK;
    if (r->stage == 0) st = read_fixed_header(r, &c, &more, err);
    if (!st && !more && r->stage == 1) st = read_kvs(r, &c, &more, err);
    if (!st && !more && r->stage == 2) st = read_tensor_infos(r, &c, &more, err);
    if (st) return st;
    if (more) return more_bytes(&c, len, need, err);
    if (r->stage == 3) { /* the padding: the whole header is in the buffer before the tables are checked */
        if (len < r->data_start) {
            *need = r->data_start;
            return XLMR_OK;
        }
        if ((st = gguf_finish_tables(r, buf, err))) return st;
        r->stage = 4;
    }
    return XLMR_OK;
}
