/* tok_trie.c — double-array trie construction (see tok_trie.h).
 *
 * Depth-first over the sorted keys (a subtree lands near its root, so a walk stays in few cache lines): for each node, the set of next bytes among its key range is
 * placed at the first base where all their slots are free. Free slots are kept in a doubly linked
 * list; a slot that fails as first candidate too often leaves the list (it may still be taken by a
 * later node's children), which bounds the search so construction stays near-linear. */
#include "tok_trie.h"

/* The key's byte at depth as a bucket: 0 when the key ends there, else byte + 1. */
static inline unsigned bucket(const tok_trie_key *k, uint32_t depth) { return k->len == depth ? 0u : (unsigned)k->s[depth] + 1u; }

/* Orders keys[lo, hi) by bucket at depth (one MSD radix pass; over the whole build this is a radix sort
   costing the total key length) and lists the distinct child labels with the start of their ranges.
   Returns the number of keys ending at depth (they come first). */
static size_t partition(tok_trie_key *keys, tok_trie_key *tmp, size_t lo, size_t hi, uint32_t depth, uint16_t *labels, size_t *starts,
                        int *n_labels) {
    const size_t n = hi - lo;
    if (n <= 24) { /* insertion sort: most nodes have a handful of keys */
        for (size_t i = lo + 1; i < hi; i++) {
            tok_trie_key k = keys[i];
            unsigned kb = bucket(&k, depth);
            size_t j = i;
            while (j > lo && bucket(&keys[j - 1], depth) > kb) {
                keys[j] = keys[j - 1];
                j--;
            }
            keys[j] = k;
        }
    } else {
        size_t count[257] = {0}, pos[257];
        for (size_t i = lo; i < hi; i++) count[bucket(&keys[i], depth)]++;
        size_t acc = lo;
        for (int c = 0; c < 257; c++) {
            pos[c] = acc;
            acc += count[c];
        }
        for (size_t i = lo; i < hi; i++) tmp[pos[bucket(&keys[i], depth)]++] = keys[i];
        memcpy(keys + lo, tmp + lo, n * sizeof *keys);
    }
    size_t ended = 0;
    while (lo + ended < hi && keys[lo + ended].len == depth) ended++;
    int nl = 0;
    for (size_t i = lo + ended; i < hi; i++) {
        uint16_t l = (uint16_t)bucket(&keys[i], depth);
        if (nl == 0 || labels[nl - 1] != l) {
            labels[nl] = l;
            starts[nl] = i;
            nl++;
        }
    }
    starts[nl] = hi;
    *n_labels = nl;
    return ended;
}

typedef struct build_item {
    int32_t slot;
    uint32_t depth;
    size_t lo, hi;
} build_item;

typedef struct builder {
    int32_t *base, *check, *value;
    float *score;
    int32_t *next, *prev; /* free list links; -1 ends */
    uint8_t *fails;       /* times a slot failed as first candidate */
    uint8_t *listed;      /* slot is in the free list */
    size_t cap;
    int32_t head, tail;
    size_t used_max; /* highest slot or base + 257 needed */
    size_t frontier; /* every slot from here on is free */
} builder;

#define TRIE_PAD 258

static int grow(builder *b, size_t need) {
    if (need <= b->cap) return 1;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) {
        if (cap > (size_t)INT32_MAX / 2) return 0;
        cap *= 2;
    }
    int32_t *base = XLMR_REALLOC(b->base, cap * sizeof *base);
    if (base) b->base = base;
    int32_t *check = XLMR_REALLOC(b->check, cap * sizeof *check);
    if (check) b->check = check;
    int32_t *value = XLMR_REALLOC(b->value, cap * sizeof *value);
    if (value) b->value = value;
    float *score = XLMR_REALLOC(b->score, cap * sizeof *score);
    if (score) b->score = score;
    int32_t *next = XLMR_REALLOC(b->next, cap * sizeof *next);
    if (next) b->next = next;
    int32_t *prev = XLMR_REALLOC(b->prev, cap * sizeof *prev);
    if (prev) b->prev = prev;
    uint8_t *fails = XLMR_REALLOC(b->fails, cap);
    if (fails) b->fails = fails;
    uint8_t *listed = XLMR_REALLOC(b->listed, cap);
    if (listed) b->listed = listed;
    if (!base || !check || !value || !score || !next || !prev || !fails || !listed) return 0;
    for (size_t i = b->cap; i < cap; i++) {
        b->base[i] = 0;
        b->check[i] = -1;
        b->value[i] = -1;
        b->score[i] = 0.0f;
        b->fails[i] = 0;
        b->listed[i] = 1;
        b->prev[i] = (int32_t)i - 1;
        b->next[i] = (int32_t)i + 1;
    }
    /* splice [old cap, cap) onto the tail */
    int32_t first = (int32_t)b->cap;
    b->prev[first] = b->tail;
    b->next[cap - 1] = -1;
    if (b->tail >= 0)
        b->next[b->tail] = first;
    else
        b->head = first;
    b->tail = (int32_t)cap - 1;
    b->cap = cap;
    return 1;
}

static void unlist(builder *b, int32_t s) {
    if (!b->listed[s]) return;
    b->listed[s] = 0;
    int32_t p = b->prev[s], n = b->next[s];
    if (p >= 0)
        b->next[p] = n;
    else
        b->head = n;
    if (n >= 0)
        b->prev[n] = p;
    else
        b->tail = p;
}

static int is_free(const builder *b, size_t s) { return s >= b->cap || b->check[s] < 0; }

/* A base where every child label (byte + 1, ascending) lands on a free slot. */
static int64_t find_base(builder *b, const uint16_t *labels, int n_labels) {
    int tries = 0;
    int32_t f = b->head;
    while (f >= 0 && tries < 512) {
        int32_t nf = b->next[f];
        int64_t base = (int64_t)f - labels[0];
        if (base >= 0) {
            int ok = 1;
            for (int i = 1; i < n_labels; i++)
                if (!is_free(b, (size_t)(base + labels[i]))) {
                    ok = 0;
                    break;
                }
            if (ok) return base;
            if (++b->fails[f] >= 16) unlist(b, f);
        }
        tries++;
        f = nf;
    }
    /* Past every used slot: always fits. */
    int64_t base = (int64_t)b->frontier - labels[0];
    return base < 0 ? 0 : base;
}

static void builder_free(builder *b) {
    XLMR_FREE(b->base);
    XLMR_FREE(b->check);
    XLMR_FREE(b->value);
    XLMR_FREE(b->score);
    XLMR_FREE(b->next);
    XLMR_FREE(b->prev);
    XLMR_FREE(b->fails);
    XLMR_FREE(b->listed);
}

static xlmr_status trie_nomem(xlmr_error *err, size_t n_keys) {
    return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: out of memory building the piece trie (%zu keys)", n_keys);
}

/* The work stack of nodes still to place (depth first: a subtree lands near its root). */
typedef struct build_stack {
    build_item *v;
    size_t n, cap;
} build_stack;

/* One node: its key (if one ends here) stored, its children placed at a free base and pushed. */
static xlmr_status place_children(builder *b, build_stack *q, build_item it, tok_trie_key *keys, tok_trie_key *tmp, size_t n_keys,
                                  xlmr_error *err) {
    uint16_t labels[256];
    size_t starts[257];
    int nl;
    size_t ended = partition(keys, tmp, it.lo, it.hi, it.depth, labels, starts, &nl);
    if (ended > 1)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: tokens %d and %d are the same string (%u bytes)", (int)keys[it.lo].value,
                         (int)keys[it.lo + 1].value, it.depth);
    if (ended) {
        b->value[it.slot] = keys[it.lo].value;
        b->score[it.slot] = keys[it.lo].score;
    }
    if (nl == 0) return XLMR_OK;
    int64_t base = find_base(b, labels, nl);
    if (base + 257 >= INT32_MAX / 2) return xlmr_fail(err, XLMR_ERR_NOMEM, "tokenizer: trie too large");
    if (!grow(b, (size_t)base + TRIE_PAD)) return trie_nomem(err, n_keys);
    b->base[it.slot] = (int32_t)base;
    if ((size_t)base + TRIE_PAD > b->used_max) b->used_max = (size_t)base + TRIE_PAD;
    if (q->n + (size_t)nl > q->cap) {
        size_t nc = q->cap * 2 + (size_t)nl;
        build_item *nq = XLMR_REALLOC(q->v, nc * sizeof *nq);
        if (!nq) return trie_nomem(err, n_keys);
        q->v = nq;
        q->cap = nc;
    }
    for (int i = 0; i < nl; i++) {
        int32_t s = (int32_t)(base + labels[i]);
        unlist(b, s);
        b->check[s] = it.slot;
        if ((size_t)s + 1 > b->frontier) b->frontier = (size_t)s + 1;
        q->v[q->n++] = (build_item){s, it.depth + 1, starts[i], starts[i + 1]};
    }
    return XLMR_OK;
}

/* The builder's arrays interleaved into slots, as many as lookups can reach. */
static int builder_to_slots(builder *b, tok_trie *t) {
    size_t size = b->used_max;
    if (!grow(b, size)) return 0;
    if (b->check[0] == INT32_MAX) b->check[0] = -1;
    t->slots = XLMR_MALLOC(size * sizeof *t->slots);
    if (!t->slots) return 0;
    for (size_t i = 0; i < size; i++) {
        t->slots[i].base = b->base[i];
        t->slots[i].check = b->check[i];
        t->slots[i].value = b->value[i];
        t->slots[i].score = b->score[i];
    }
    t->n_slots = size;
    return 1;
}

xlmr_status tok_trie_build(tok_trie *t, tok_trie_key *keys, size_t n, xlmr_error *err) {
    memset(t, 0, sizeof *t);
    size_t total = 1;
    for (size_t i = 0; i < n; i++)
        if (!xlmr_add_size(total, keys[i].len, &total) || total > (size_t)INT32_MAX / 4)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tokenizer: the pieces are too long in total for the trie");

    builder b;
    memset(&b, 0, sizeof b);
    b.head = b.tail = -1;
    build_stack q = {NULL, 0, 1024};
    tok_trie_key *tmp = n ? XLMR_MALLOC(n * sizeof *tmp) : NULL;
    xlmr_status st = XLMR_OK;
    if ((n && !tmp) || !grow(&b, 1024)) goto nomem;
    unlist(&b, 0);
    b.check[0] = INT32_MAX; /* the root is nobody's child but is not free */
    b.frontier = 1;
    b.used_max = TRIE_PAD;
    if (!(q.v = XLMR_MALLOC(q.cap * sizeof *q.v))) goto nomem;
    q.v[q.n++] = (build_item){0, 0, 0, n};
    while (q.n > 0 && !st) st = place_children(&b, &q, q.v[--q.n], keys, tmp, n, err);
    if (!st && !builder_to_slots(&b, t)) goto nomem;
    goto done;
nomem:
    st = trie_nomem(err, n);
done:
    XLMR_FREE(q.v);
    XLMR_FREE(tmp);
    builder_free(&b);
    if (st) tok_trie_free(t);
    return st;
}

void tok_trie_free(tok_trie *t) {
    if (!t) return;
    XLMR_FREE(t->slots);
    memset(t, 0, sizeof *t);
}

size_t tok_trie_longest_prefix(const tok_trie *t, const uint8_t *s, size_t n, int32_t *value) {
    size_t best = 0;
    *value = -1;
    if (!t->n_slots) return 0;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = tok_trie_next(t, node, s[i]);
        if (node < 0) break;
        if (t->slots[node].value >= 0) {
            best = i + 1;
            *value = t->slots[node].value;
        }
    }
    return best;
}

int32_t tok_trie_find(const tok_trie *t, const uint8_t *s, size_t n) {
    if (!t->n_slots) return -1;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        node = tok_trie_next(t, node, s[i]);
        if (node < 0) return -1;
    }
    return t->slots[node].value;
}
