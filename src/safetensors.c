/* safetensors.c — the safetensors header: a JSON object of tensor entries (see safetensors.h). */
#include "safetensors.h"

#include <stdlib.h>

#include "json.h"

uint64_t st_header_len(const uint8_t first8[8]) {
    uint64_t n = xlmr_rd_u64(first8);
    return (n >= 2 && n <= ST_MAX_HEADER) ? n : 0;
}

size_t st_dtype_size(int dtype) {
    switch (dtype) {
    case ST_F32: return 4;
    case ST_F16:
    case ST_BF16: return 2;
    case ST_I64: return 8;
    }
    return 0;
}

static int st_dtype_of(const json_value *v) {
    static const struct {
        const char *name;
        int dtype;
    } known[] = {{"F32", ST_F32}, {"F16", ST_F16}, {"BF16", ST_BF16}, {"I64", ST_I64}};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strlen(known[i].name) == v->len && memcmp(known[i].name, v->str, v->len) == 0) return known[i].dtype;
    return ST_OTHER;
}

static int st_cmp_begin(const void *a, const void *b) {
    const st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_get_u64(const json_value *v, uint64_t *out) {
    /* JSON numbers are doubles: integers up to 2^53 are exact, which covers any real file */
    if (!v || v->type != JSON_NUMBER || v->number < 0 || v->number > 9007199254740992.0 ||
        v->number != (double)(uint64_t)v->number)
        return 0;
    *out = (uint64_t)v->number;
    return 1;
}

/* One tensor's entry {"dtype", "shape", "data_offsets"}: shape and byte span agree for known dtypes. */
static xlmr_status parse_tensor(const char *key, size_t klen, const json_value *v, st_tensor *t, xlmr_error *err) {
    t->name = key;
    t->name_len = klen;
    const json_value *dt = json_get(v, "dtype"), *shape = json_get(v, "shape"), *offs = json_get(v, "data_offsets");
    if (v->type != JSON_OBJECT || !dt || dt->type != JSON_STRING || !shape || shape->type != JSON_ARRAY || !offs || offs->type != JSON_ARRAY ||
        offs->len != 2)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensor '%.80s' needs \"dtype\", \"shape\" and two \"data_offsets\"", key);
    t->dtype = st_dtype_of(dt);
    t->dtype_name = dt->str;
    if (shape->len > ST_MAX_DIMS)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensor '%.80s' has %zu dimensions (at most %d)", key, shape->len,
                         ST_MAX_DIMS);
    t->n_dims = (int)shape->len;
    uint64_t elems = 1;
    int overflow = 0;
    for (size_t d = 0; d < shape->len; d++) {
        uint64_t x;
        if (!st_get_u64(&shape->items[d], &x))
            return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensor '%.80s': shape[%zu] is not a size", key, d);
        t->shape[d] = (int64_t)x;
        if (x != 0 && elems > UINT64_MAX / x) overflow = 1;
        else elems *= x;
    }
    if (!st_get_u64(&offs->items[0], &t->begin) || !st_get_u64(&offs->items[1], &t->end) || t->end < t->begin)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensor '%.80s': bad data_offsets", key);
    size_t es = st_dtype_size(t->dtype);
    if (es && (overflow || elems > UINT64_MAX / es || elems * es != t->end - t->begin))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensor '%.80s': %s shape needs %s%llu bytes but data_offsets span %llu", key,
                         dt->str, overflow ? "over " : "", (unsigned long long)(overflow ? UINT64_MAX : elems * es),
                         (unsigned long long)(t->end - t->begin));
    return XLMR_OK;
}

/* Sorted by offset, no two tensors share a byte; data_len is the end of the last. */
static xlmr_status check_layout(st_header *h, xlmr_error *err) {
    qsort(h->tensors, h->n, sizeof(st_tensor), st_cmp_begin);
    for (size_t i = 0; i < h->n; i++) {
        if (i > 0 && h->tensors[i].begin < h->tensors[i - 1].end)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: tensors '%.80s' and '%.80s' overlap at byte %llu", h->tensors[i - 1].name,
                             h->tensors[i].name, (unsigned long long)h->tensors[i].begin);
        if (h->tensors[i].end > h->data_len) h->data_len = h->tensors[i].end;
    }
    return XLMR_OK;
}

xlmr_status st_header_parse(const char *json, size_t n, st_header *out, xlmr_error *err) {
    memset(out, 0, sizeof *out);
    xlmr_error jerr = {0};
    json_doc *doc = NULL;
    if (json_parse(json, n, &doc, &jerr) != XLMR_OK)
        return xlmr_fail(err, jerr.code == XLMR_ERR_NOMEM ? XLMR_ERR_NOMEM : XLMR_ERR_FORMAT, "safetensors header: %s", jerr.msg);
    out->doc = doc;
    const json_value *root = json_root(doc);
    xlmr_status st = XLMR_OK;
    if (root->type != JSON_OBJECT) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "safetensors header: not a JSON object");
        goto fail;
    }
    out->tensors = XLMR_CALLOC(root->len ? root->len : 1, sizeof(st_tensor));
    if (!out->tensors) {
        st = xlmr_fail(err, XLMR_ERR_NOMEM, "safetensors header: out of memory for %zu tensors", root->len);
        goto fail;
    }
    for (size_t i = 0; i < root->len; i++) {
        if (root->key_lens[i] == 12 && memcmp(root->keys[i], "__metadata__", 12) == 0) continue;
        if ((st = parse_tensor(root->keys[i], root->key_lens[i], &root->items[i], &out->tensors[out->n], err))) goto fail;
        out->n++;
    }
    if ((st = check_layout(out, err))) goto fail;
    return XLMR_OK;
fail:
    st_header_free(out);
    return st;
}

void st_header_free(st_header *h) {
    if (!h) return;
    XLMR_FREE(h->tensors);
    json_free(h->doc);
    memset(h, 0, sizeof *h);
}
