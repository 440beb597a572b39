/* torch_pickle.c — the restricted pickle machine of torch_pickle.h: values live in one array and are referred to
 * by index; tuples and the items of lists and dicts are runs of indices in a second array (a dict's SETITEMS
 * batches are chained: torch's pickler writes at most 1000 items per batch). Nothing is looked up by name but
 * the few globals of the allowlist, and no value is ever called. */
#include "torch_pickle.h"

#include "safetensors.h"

enum { V_NONE, V_BOOL, V_INT, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT, V_ITEMS, V_GLOBAL, V_STORAGE, V_TENSOR };
enum { G_ODICT, G_REBUILD_V2, G_REBUILD_V3, G_REBUILD_PARAM, G_STORAGE, G_DTYPE };

/* One value. V_STR: bytes [a, a + n) of the pickle. V_TUPLE / V_ITEMS: kids [a, a + n). V_LIST / V_DICT: first
 * items batch i (-1: none) and last batch a. V_GLOBAL: G_* in i, its dtype (dtype_table) in a. V_STORAGE,
 * V_TENSOR: index i into the machine's storages / views. V_ITEMS: next batch in i. */
typedef struct pv {
    uint8_t kind;
    uint32_t a, n;
    int64_t i;
} pv;

typedef struct pm {
    const uint8_t *b;
    size_t n, pos;
    pv *vals;
    size_t nv, cv;
    uint32_t *stack, *kids, *marks;
    size_t ns, cs, nk, ck, nm, cm;
    int64_t *memo;
    size_t nmemo, cmemo;
    tp_tensor *views;
    size_t nviews, cviews;
    tp_storage *sto; /* keys point into the pickle until tp_parse copies them out */
    size_t nsto, csto;
    int incomplete;
    xlmr_error *err;
} pm;

static const struct {
    const char *storage, *dtype, *name;
    int st;
    size_t size;
} dtype_table[] = {
    {"FloatStorage", "float32", "F32", ST_F32, 4},  {"HalfStorage", "float16", "F16", ST_F16, 2},
    {"BFloat16Storage", "bfloat16", "BF16", ST_BF16, 2}, {"LongStorage", "int64", "I64", ST_I64, 8},
    {"DoubleStorage", "float64", "F64", ST_OTHER, 8}, {"IntStorage", "int32", "I32", ST_OTHER, 4},
    {"ShortStorage", "int16", "I16", ST_OTHER, 2},  {"CharStorage", "int8", "I8", ST_OTHER, 1},
    {"ByteStorage", "uint8", "U8", ST_OTHER, 1},    {"BoolStorage", "bool", "BOOL", ST_OTHER, 1},
    {"UntypedStorage", NULL, "U8", ST_OTHER, 1},
};
#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

static int pm_grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *q = XLMR_REALLOC(*p, nc * elem);
    if (!q) return 0;
    *p = q;
    *cap = nc;
    return 1;
}
#define GROW(m, arr, cnt, cap, need) pm_grow((void **)&(m)->arr, &(m)->cap, (need), sizeof *(m)->arr)

static int pm_nomem(pm *m) { return xlmr_fail(m->err, XLMR_ERR_NOMEM, "out of memory reading data.pkl"), 0; }
static int pm_bad(pm *m, const char *what) {
    return xlmr_fail(m->err, XLMR_ERR_FORMAT, "data.pkl: %s at byte %zu", what, m->pos), 0;
}

/* A new value; its index, or -1 (out of memory). */
static int64_t pm_new(pm *m, int kind, uint32_t a, uint32_t n, int64_t i) {
    if (!GROW(m, vals, nv, cv, m->nv + 1)) return pm_nomem(m) - 1;
    m->vals[m->nv] = (pv){(uint8_t)kind, a, n, i};
    return (int64_t)m->nv++;
}
static int pm_push(pm *m, int64_t v) {
    if (v < 0) return 0;
    if (!GROW(m, stack, ns, cs, m->ns + 1)) return pm_nomem(m);
    m->stack[m->ns++] = (uint32_t)v;
    return 1;
}
static int pm_push_new(pm *m, int kind, uint32_t a, uint32_t n, int64_t i) { return pm_push(m, pm_new(m, kind, a, n, i)); }
static pv *pm_val(pm *m, uint32_t v) { return &m->vals[v]; }
/* The value k places below the top (0: the top), or NULL with the error set. */
static pv *pm_peek(pm *m, size_t k) {
    size_t floor = m->nm ? m->marks[m->nm - 1] : 0;
    if (m->ns < floor + k + 1) return pm_bad(m, "stack underflow"), NULL;
    return pm_val(m, m->stack[m->ns - 1 - k]);
}

/* Bytes [pos, pos + k) exist; otherwise the pickle continues past what we have. */
static const uint8_t *pm_take(pm *m, size_t k) {
    if (k > m->n - m->pos) {
        m->incomplete = 1;
        return NULL;
    }
    const uint8_t *p = m->b + m->pos;
    m->pos += k;
    return p;
}

/* The items above the topmost MARK as a run of kids; pops them and the mark. */
static int pm_pop_mark(pm *m, uint32_t *start, uint32_t *count) {
    if (!m->nm) return pm_bad(m, "no MARK to close");
    size_t from = m->marks[--m->nm], k = m->ns - from;
    if (!GROW(m, kids, nk, ck, m->nk + k)) return pm_nomem(m);
    memcpy(m->kids + m->nk, m->stack + from, k * sizeof(uint32_t));
    *start = (uint32_t)m->nk;
    *count = (uint32_t)k;
    m->nk += k;
    m->ns = from;
    return 1;
}
static int pm_tuple_of_top(pm *m, size_t k) {
    if (!pm_peek(m, k ? k - 1 : 0) && k) return 0;
    if (!GROW(m, kids, nk, ck, m->nk + k)) return pm_nomem(m);
    memcpy(m->kids + m->nk, m->stack + m->ns - k, k * sizeof(uint32_t));
    m->ns -= k;
    m->nk += k;
    return pm_push_new(m, V_TUPLE, (uint32_t)(m->nk - k), (uint32_t)k, 0);
}

/* Chains kids [start, start + count) to the list or dict on top of the stack (SETITEMS, APPENDS). */
static int pm_add_items(pm *m, uint32_t start, uint32_t count, int kind) {
    pv *c = pm_peek(m, 0);
    if (!c) return 0;
    if (c->kind != kind)
        return pm_bad(m, kind == V_DICT ? "SETITEM on something not a dict" : "APPEND on something not a list");
    if (kind == V_DICT && count % 2) return pm_bad(m, "SETITEMS with an odd number of items");
    const uint32_t cont = m->stack[m->ns - 1];
    int64_t it = pm_new(m, V_ITEMS, start, count, -1);
    if (it < 0) return 0;
    c = pm_val(m, cont);
    if (c->i < 0) c->i = it;
    else pm_val(m, c->a)->i = it;
    c->a = (uint32_t)it;
    return 1;
}

static int pm_same(const uint8_t *p, size_t n, const char *s) { return strlen(s) == n && memcmp(p, s, n) == 0; }

/* GLOBAL / STACK_GLOBAL: module and name against the allowlist. */
static int pm_global(pm *m, const uint8_t *mod, size_t mn, const uint8_t *name, size_t nn) {
    int g = -1;
    uint32_t dt = 0;
    if (pm_same(mod, mn, "collections") && pm_same(name, nn, "OrderedDict")) g = G_ODICT;
    else if (pm_same(mod, mn, "torch._utils") && pm_same(name, nn, "_rebuild_tensor_v2")) g = G_REBUILD_V2;
    else if (pm_same(mod, mn, "torch._utils") && pm_same(name, nn, "_rebuild_tensor_v3")) g = G_REBUILD_V3;
    else if (pm_same(mod, mn, "torch._utils") && pm_same(name, nn, "_rebuild_parameter")) g = G_REBUILD_PARAM;
    else if (pm_same(mod, mn, "torch") || pm_same(mod, mn, "torch.storage"))
        for (dt = 0; g < 0 && dt < DTYPE_COUNT; dt++) {
            if (pm_same(name, nn, dtype_table[dt].storage)) g = G_STORAGE;
            else if (dtype_table[dt].dtype && pm_same(name, nn, dtype_table[dt].dtype)) g = G_DTYPE;
            if (g >= 0) dt--;
        }
    if (g < 0) {
        xlmr_fail(m->err, XLMR_ERR_FORMAT,
                  "data.pkl: global %.*s.%.*s at byte %zu is not allowed: a state dict holds only tensors (the "
                  "allowlist of torch.load(weights_only=True)); nothing in the file is ever run",
                  (int)(mn < 60 ? mn : 60), (const char *)mod, (int)(nn < 60 ? nn : 60), (const char *)name, m->pos);
        return 0;
    }
    return pm_push_new(m, V_GLOBAL, dt, 0, g);
}

static int pm_global_lines(pm *m) {
    const uint8_t *start = m->b + m->pos, *nl1, *nl2;
    size_t left = m->n - m->pos;
    if (!(nl1 = memchr(start, '\n', left)) || !(nl2 = memchr(nl1 + 1, '\n', left - (size_t)(nl1 + 1 - start)))) {
        if (left > 512) return pm_bad(m, "GLOBAL without its two lines");
        m->incomplete = 1;
        return 0;
    }
    m->pos += (size_t)(nl2 + 1 - start);
    return pm_global(m, start, (size_t)(nl1 - start), nl1 + 1, (size_t)(nl2 - nl1 - 1));
}

static int pm_stack_global(pm *m) {
    pv *name = pm_peek(m, 0), *mod = pm_peek(m, 1);
    if (!name || !mod || name->kind != V_STR || mod->kind != V_STR) return pm_bad(m, "STACK_GLOBAL of two non-strings");
    m->ns -= 2;
    return pm_global(m, m->b + mod->a, mod->n, m->b + name->a, name->n);
}

static int pm_get_int(pm *m, uint32_t v, int64_t *out) {
    const pv *x = pm_val(m, v);
    if (x->kind != V_INT && x->kind != V_BOOL) return pm_bad(m, "an integer expected");
    *out = x->i;
    return 1;
}

/* BINPERSID of ('storage', storage type, key, location, numel): the storage, one per key. */
static int pm_persid(pm *m) {
    pv *t = pm_peek(m, 0);
    if (!t) return 0;
    const uint32_t *k = m->kids + t->a;
    if (t->kind != V_TUPLE || t->n != 5 || pm_val(m, k[0])->kind != V_STR || !pm_same(m->b + pm_val(m, k[0])->a, pm_val(m, k[0])->n, "storage"))
        return pm_bad(m, "a persistent id that is not ('storage', type, key, location, numel)");
    const pv *type = pm_val(m, k[1]), *key = pm_val(m, k[2]);
    int64_t numel;
    if (type->kind != V_GLOBAL || type->i != G_STORAGE || key->kind != V_STR || !pm_get_int(m, k[4], &numel))
        return pm_bad(m, "a storage id with a bad type, key or size");
    if (numel < 0 || (uint64_t)numel > ((uint64_t)1 << 56)) return pm_bad(m, "a storage of absurd size");
    size_t s = 0;
    for (; s < m->nsto; s++)
        if (m->sto[s].key_len == key->n && memcmp(m->sto[s].key, m->b + key->a, key->n) == 0) break;
    const size_t di = type->a;
    if (s == m->nsto) {
        if (!GROW(m, sto, nsto, csto, s + 1)) return pm_nomem(m);
        m->sto[s] = (tp_storage){(const char *)m->b + key->a, key->n, dtype_table[di].st, dtype_table[di].name,
                                 dtype_table[di].size, (uint64_t)numel};
        m->nsto++;
    }
    if (m->sto[s].numel != (uint64_t)numel || m->sto[s].elem_size != dtype_table[di].size)
        return pm_bad(m, "one storage key with two types or sizes");
    m->ns--;
    return pm_push_new(m, V_STORAGE, 0, 0, (int64_t)s);
}

static int pm_int_tuple(pm *m, uint32_t v, int64_t *out, int *n) {
    const pv *t = pm_val(m, v);
    if (t->kind != V_TUPLE || t->n > TP_MAX_DIMS) return pm_bad(m, "a tensor size or stride that is not a short tuple");
    for (uint32_t d = 0; d < t->n; d++) {
        if (!pm_get_int(m, m->kids[t->a + d], &out[d])) return 0;
        if (out[d] < 0 || out[d] > ((int64_t)1 << 40)) return pm_bad(m, "a tensor size or stride out of range");
    }
    *n = (int)t->n;
    return 1;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) and _v3 (..., dtype[,
 * metadata]): a view into the storage. */
static int pm_rebuild(pm *m, const pv *args, int v3) {
    const uint32_t *k = m->kids + args->a;
    if (args->n < (v3 ? 7u : 6u) || args->n > (v3 ? 8u : 7u)) return pm_bad(m, "a _rebuild_tensor call with a wrong argument count");
    const pv *st = pm_val(m, k[0]);
    if (st->kind != V_STORAGE) return pm_bad(m, "_rebuild_tensor of something not a storage");
    tp_tensor t = {0};
    int64_t off;
    int ns = 0;
    t.storage = (int)st->i;
    size_t di = 0;
    for (; di < DTYPE_COUNT && strcmp(dtype_table[di].name, m->sto[t.storage].dtype_name); di++) {}
    if (v3) {
        const pv *d = pm_val(m, k[6]);
        if (d->kind != V_GLOBAL || d->i != G_DTYPE) return pm_bad(m, "_rebuild_tensor_v3 without a dtype");
        di = d->a;
    }
    if (di >= DTYPE_COUNT) return pm_bad(m, "a tensor of unknown type");
    t.dtype = dtype_table[di].st;
    t.dtype_name = dtype_table[di].name;
    t.elem_size = dtype_table[di].size;
    if (!pm_get_int(m, k[1], &off) || !pm_int_tuple(m, k[2], t.shape, &t.n_dims) || !pm_int_tuple(m, k[3], t.stride, &ns))
        return 0;
    if (off < 0 || off > ((int64_t)1 << 56)) return pm_bad(m, "a storage offset out of range");
    if (ns != t.n_dims) return pm_bad(m, "a tensor whose size and stride differ in length");
    t.offset = (uint64_t)off;
    if (!GROW(m, views, nviews, cviews, m->nviews + 1)) return pm_nomem(m);
    m->views[m->nviews] = t;
    return pm_push_new(m, V_TENSOR, 0, 0, (int64_t)m->nviews++);
}

static int pm_reduce(pm *m) {
    pv *args = pm_peek(m, 0), *fn = pm_peek(m, 1);
    if (!args || !fn) return 0;
    if (fn->kind != V_GLOBAL || args->kind != V_TUPLE) return pm_bad(m, "REDUCE of something not an allowed global");
    const pv a = *args;
    const int g = (int)fn->i;
    m->ns -= 2;
    switch (g) {
    case G_ODICT:
        if (a.n) return pm_bad(m, "OrderedDict with arguments");
        return pm_push_new(m, V_DICT, 0, 0, -1);
    case G_REBUILD_V2:
    case G_REBUILD_V3: return pm_rebuild(m, &a, g == G_REBUILD_V3);
    case G_REBUILD_PARAM:
        if (a.n < 1 || pm_val(m, m->kids[a.a])->kind != V_TENSOR) return pm_bad(m, "_rebuild_parameter of something not a tensor");
        return pm_push(m, m->kids[a.a]);
    }
    return pm_bad(m, "REDUCE of a storage type or dtype");
}

static int pm_memo(pm *m, uint64_t idx, int put) {
    if (idx > m->n) return pm_bad(m, "a memo index beyond the pickle's size");
    if (put) {
        pv *top = pm_peek(m, 0);
        if (!top) return 0;
        if (idx >= m->nmemo) {
            if (!GROW(m, memo, nmemo, cmemo, idx + 1)) return pm_nomem(m);
            for (size_t i = m->nmemo; i <= idx; i++) m->memo[i] = -1;
            m->nmemo = idx + 1;
        }
        m->memo[idx] = m->stack[m->ns - 1];
        return 1;
    }
    if (idx >= m->nmemo || m->memo[idx] < 0) return pm_bad(m, "a memo entry read before it was written");
    return pm_push(m, m->memo[idx]);
}

static int pm_string(pm *m, size_t len_bytes) {
    const uint8_t *p = pm_take(m, len_bytes);
    if (!p) return 0;
    uint64_t len = len_bytes == 1 ? p[0] : len_bytes == 4 ? xlmr_rd_u32(p) : xlmr_rd_u64(p);
    if (len > TP_MAX_PICKLE) return pm_bad(m, "a string longer than a pickle may be");
    const size_t at = m->pos;
    if (!pm_take(m, (size_t)len)) return 0;
    return pm_push_new(m, V_STR, (uint32_t)at, (uint32_t)len, 0);
}


/* The names of opcodes a state dict never holds, for the message. */
static const char *pm_op_name(uint8_t op) {
    static const struct { uint8_t op; const char *name; } names[] = {
        {'i', "INST"}, {'o', "OBJ"}, {0x81, "NEWOBJ"}, {0x92, "NEWOBJ_EX"}, {'P', "PERSID"}, {0x82, "EXT1"},
        {0x83, "EXT2"}, {0x84, "EXT4"}, {'0', "POP"}, {'1', "POP_MARK"}, {'2', "DUP"}, {'B', "BINBYTES"},
        {'C', "SHORT_BINBYTES"}, {0x8e, "BINBYTES8"}, {0x96, "BYTEARRAY8"}, {0x97, "NEXT_BUFFER"}, {'d', "DICT"},
        {'l', "LIST"}, {'I', "INT"}, {'L', "LONG"}, {'S', "STRING"}, {'V', "UNICODE"}, {'g', "GET"}, {'p', "PUT"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].op == op) return names[i].name;
    return "unknown";
}

static int pm_int_op(pm *m, uint8_t op) {
    const size_t w = op == 'J' ? 4 : op == 'K' ? 1 : op == 'M' ? 2 : 1;
    const uint8_t *p = pm_take(m, w);
    if (!p) return 0;
    int64_t v;
    if (op == 'J') v = (int32_t)xlmr_rd_u32(p);
    else if (op == 'K') v = p[0];
    else if (op == 'M') v = xlmr_rd_u16(p);
    else { /* LONG1: n bytes, little-endian two's complement */
        const size_t nb = p[0];
        if (nb > 8) return pm_bad(m, "an integer wider than 64 bits");
        const uint8_t *d = pm_take(m, nb);
        if (!d) return 0;
        uint64_t u = 0;
        for (size_t i = 0; i < nb; i++) u |= (uint64_t)d[i] << (8 * i);
        if (nb && nb < 8 && (d[nb - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * nb);
        v = (int64_t)u;
    }
    return pm_push_new(m, V_INT, 0, 0, v);
}

static int pm_containers(pm *m, uint8_t op) {
    uint32_t start, count;
    switch (op) {
    case '(':
        if (!GROW(m, marks, nm, cm, m->nm + 1)) return pm_nomem(m);
        m->marks[m->nm++] = (uint32_t)m->ns;
        return 1;
    case ')': return pm_push_new(m, V_TUPLE, 0, 0, 0);
    case 't': return pm_pop_mark(m, &start, &count) && pm_push_new(m, V_TUPLE, start, count, 0);
    case 0x85: case 0x86: case 0x87: return pm_tuple_of_top(m, (size_t)(op - 0x84));
    case ']': return pm_push_new(m, V_LIST, 0, 0, -1);
    case '}': return pm_push_new(m, V_DICT, 0, 0, -1);
    case 'a': case 's': {
        const size_t k = op == 's' ? 2 : 1;
        if (!pm_peek(m, k)) return 0;
        if (!GROW(m, kids, nk, ck, m->nk + k)) return pm_nomem(m);
        memcpy(m->kids + m->nk, m->stack + m->ns - k, k * sizeof(uint32_t));
        m->nk += k;
        m->ns -= k;
        return pm_add_items(m, (uint32_t)(m->nk - k), (uint32_t)k, op == 's' ? V_DICT : V_LIST);
    }
    case 'e': case 'u':
        return pm_pop_mark(m, &start, &count) && pm_add_items(m, start, count, op == 'u' ? V_DICT : V_LIST);
    }
    return -1;
}

/* One opcode: 1 done, 0 failed or out of bytes (m->incomplete), 2 STOP. */
static int pm_step(pm *m) {
    const uint8_t *p = pm_take(m, 1);
    if (!p) return 0;
    const uint8_t op = p[0];
    const int c = pm_containers(m, op);
    if (c >= 0) return c;
    switch (op) {
    case 0x80: return pm_take(m, 1) != NULL;                    /* PROTO */
    case 0x95: return pm_take(m, 8) != NULL;                    /* FRAME: a hint for buffered readers */
    case '.': return 2;                                         /* STOP */
    case 'c': return pm_global_lines(m);
    case 0x93: return pm_stack_global(m);
    case 'q': return (p = pm_take(m, 1)) && pm_memo(m, p[0], 1); /* BINPUT */
    case 'r': return (p = pm_take(m, 4)) && pm_memo(m, xlmr_rd_u32(p), 1);
    case 0x94: return pm_memo(m, m->nmemo, 1);                  /* MEMOIZE */
    case 'h': return (p = pm_take(m, 1)) && pm_memo(m, p[0], 0); /* BINGET */
    case 'j': return (p = pm_take(m, 4)) && pm_memo(m, xlmr_rd_u32(p), 0);
    case 'J': case 'K': case 'M': case 0x8a: return pm_int_op(m, op);
    case 'N': return pm_push_new(m, V_NONE, 0, 0, 0);
    case 0x88: case 0x89: return pm_push_new(m, V_BOOL, 0, 0, op == 0x88);
    case 'G': return pm_take(m, 8) && pm_push_new(m, V_FLOAT, 0, 0, 0);
    case 'X': return pm_string(m, 4);
    case 0x8c: case 'U': return pm_string(m, 1);
    case 0x8d: return pm_string(m, 8);
    case 'R': return pm_reduce(m);
    case 'Q': return pm_persid(m);
    case 'b': { /* BUILD: an OrderedDict's _metadata (or a Parameter's state); kept out of the result */
        pv *obj = pm_peek(m, 1);
        if (!obj) return 0;
        if (obj->kind != V_DICT && obj->kind != V_TENSOR) return pm_bad(m, "BUILD of something not a dict or tensor");
        m->ns--;
        return 1;
    }
    }
    xlmr_fail(m->err, XLMR_ERR_FORMAT,
              "data.pkl: opcode 0x%02x (%s) at byte %zu is not one torch.save writes for a state dict; nothing in "
              "the file is ever run", op, pm_op_name(op), m->pos - 1);
    return 0;
}

uint64_t tp_numel(const tp_tensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < t->n_dims; d++) {
        if (t->shape[d] && n > ((uint64_t)1 << 62) / (uint64_t)t->shape[d]) return 0;
        n *= (uint64_t)t->shape[d];
    }
    return n;
}

int tp_contiguous(const tp_tensor *t) {
    int64_t want = 1;
    for (int d = t->n_dims - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != want) return 0;
        want *= t->shape[d];
    }
    return 1;
}

/* A checkpoint that wraps its state dict ({"state_dict": {...}, "epoch": 3}: no tensors and one dict) is read from the
 * inner dict; no tensors and several dicts is an error naming the first one's key. */
static int pm_unwrap(pm *m, const pv **top) {
    const pv *inner = NULL, *key = NULL;
    int dicts = 0, tensors = 0;
    for (int64_t it = (*top)->i; it >= 0; it = pm_val(m, (uint32_t)it)->i)
        for (uint32_t j = 0, a = pm_val(m, (uint32_t)it)->a; j + 1 < pm_val(m, (uint32_t)it)->n; j += 2) {
            const pv *k = pm_val(m, m->kids[a + j]), *v = pm_val(m, m->kids[a + j + 1]);
            tensors += v->kind == V_TENSOR;
            if (k->kind == V_STR && v->kind == V_DICT && !dicts++) inner = v, key = k;
        }
    if (dicts > 1 && !tensors)
        return xlmr_fail(m->err, XLMR_ERR_FORMAT, "data.pkl: the checkpoint's dict holds no tensors but %d dicts ('%.*s' "
                         "first), not one wrapped state dict: save the state dict itself", dicts,
                         (int)(key->n < 40 ? key->n : 40), (const char *)m->b + key->a), 0;
    if (dicts == 1 && !tensors) *top = inner;
    return 1;
}

/* The top dict's (name, tensor) pairs into sd (pm_unwrap's inner dict for a wrapped one), names and keys copied into
 * one arena. */
static int pm_result(pm *m, tp_state_dict *sd) {
    if (m->ns != 1 || m->nm) return pm_bad(m, "STOP with more than one value on the stack");
    const pv *top = pm_val(m, m->stack[0]);
    if (top->kind != V_DICT) return pm_bad(m, "the pickle holds no dict of tensors (not a state dict)");
    if (!pm_unwrap(m, &top)) return 0;
    size_t n = 0, bytes = 0;
    for (int64_t it = top->i; it >= 0; it = pm_val(m, (uint32_t)it)->i) {
        const pv *b = pm_val(m, (uint32_t)it);
        for (uint32_t j = 0; j + 1 < b->n; j += 2) {
            const pv *k = pm_val(m, m->kids[b->a + j]), *v = pm_val(m, m->kids[b->a + j + 1]);
            if (k->kind == V_STR && v->kind == V_TENSOR) n++, bytes += k->n + 1;
        }
    }
    for (size_t s = 0; s < m->nsto; s++) bytes += m->sto[s].key_len + 1;
    sd->tensors = XLMR_CALLOC(n ? n : 1, sizeof(tp_tensor));
    sd->names = XLMR_MALLOC(bytes ? bytes : 1);
    if (!sd->tensors || !sd->names) return pm_nomem(m);
    char *w = sd->names;
    for (int64_t it = top->i; it >= 0; it = pm_val(m, (uint32_t)it)->i) {
        const pv *b = pm_val(m, (uint32_t)it);
        for (uint32_t j = 0; j + 1 < b->n; j += 2) {
            const pv *k = pm_val(m, m->kids[b->a + j]), *v = pm_val(m, m->kids[b->a + j + 1]);
            if (k->kind != V_STR || v->kind != V_TENSOR) continue;
            tp_tensor *t = &sd->tensors[sd->n++];
            *t = m->views[v->i];
            memcpy(w, m->b + k->a, k->n);
            w[k->n] = 0;
            t->name = w;
            t->name_len = k->n;
            w += k->n + 1;
        }
    }
    for (size_t s = 0; s < m->nsto; s++) {
        memcpy(w, m->sto[s].key, m->sto[s].key_len);
        w[m->sto[s].key_len] = 0;
        m->sto[s].key = w;
        w += m->sto[s].key_len + 1;
    }
    sd->storages = m->sto;
    sd->n_storages = m->nsto;
    m->sto = NULL;
    sd->pickle_len = m->pos;
    return 1;
}

xlmr_status tp_parse(const uint8_t *b, size_t n, tp_state_dict *out, int *incomplete, xlmr_error *err) {
    memset(out, 0, sizeof *out);
    *incomplete = 0;
    xlmr_error local = {0};
    pm m = {.b = b, .n = n, .err = err ? err : &local};
    int r = 1;
    while (r == 1) r = pm_step(&m);
    if (r == 2 && !pm_result(&m, out)) r = 0;
    if (r == 0 && m.incomplete) {
        if (n >= TP_MAX_PICKLE) r = 0, m.incomplete = 0, pm_bad(&m, "a pickle larger than 256 MiB");
        else *incomplete = 1;
    }
    void *scratch[] = {m.vals, m.stack, m.kids, m.marks, m.memo, m.views, m.sto};
    for (size_t i = 0; i < sizeof scratch / sizeof scratch[0]; i++) XLMR_FREE(scratch[i]);
    if (r == 2 || *incomplete) return XLMR_OK;
    tp_free(out);
    return m.err->code ? m.err->code : XLMR_ERR_FORMAT;
}

void tp_free(tp_state_dict *sd) {
    if (!sd) return;
    XLMR_FREE(sd->tensors);
    XLMR_FREE(sd->storages);
    XLMR_FREE(sd->names);
    memset(sd, 0, sizeof *sd);
}
