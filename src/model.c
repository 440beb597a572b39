/* model.c — the tensor table as numbered slots (model_slots.h), the weights block laid out from it, the model's
 * checks before computing, and the model object's lifetime. */
#include "model_slots.h"

#include <stddef.h>
#include <stdio.h>

#include "encoder.h"
#include "kernels.h"
#include "labels.h"
#include "quant.h"
#include "tokenizer.h"

/* ---- the table's rows ---- */

#define DESC_WEIGHTS(field, gguf, hf, cols, rows, kind, flags) \
    {gguf, hf, cols, rows, kind, flags, (uint16_t)offsetof(xlmr_weights, field)},
#define DESC_LAYER(field, gguf, hf, cols, rows, kind, flags) \
    {gguf, hf, cols, rows, kind, flags, (uint16_t)offsetof(xlmr_layer, field)},

static const tensor_desc desc_embeddings[] = {XLMR_TENSORS_EMBEDDINGS(DESC_WEIGHTS)};
static const tensor_desc desc_layer[] = {XLMR_TENSORS_LAYER(DESC_LAYER)};
#define DESC_HEAD(ID, name, task) static const tensor_desc desc_head_##name[] = {XLMR_TENSORS_HEAD_##ID(DESC_WEIGHTS)};
XLMR_HEADS(DESC_HEAD)

typedef struct head_desc {
    int head; /* XLMR_HEAD_* */
    const char *task;
    const tensor_desc *rows;
    int n;
} head_desc;
#define HEAD_ENTRY(ID, name, task) {XLMR_HEAD_##ID, task, desc_head_##name, (int)(sizeof desc_head_##name / sizeof(tensor_desc))},
static const head_desc heads[] = {XLMR_HEADS(HEAD_ENTRY)};

enum {
    N_EMBEDDINGS = sizeof desc_embeddings / sizeof desc_embeddings[0],
    N_PER_LAYER = sizeof desc_layer / sizeof desc_layer[0],
    N_HEADS = sizeof heads / sizeof heads[0],
};

static int head_rows_total(void) {
    int n = 0;
    for (int h = 0; h < N_HEADS; h++) n += heads[h].n;
    return n;
}

/* Heads under the Hugging Face names of an architecture (tensor_table.h's XLMR_HF_HEAD_ARCHITECTURES): each name
 * goes with the head row of the same xlmr_weights field. */
typedef struct hf_name {
    uint16_t offset; /* of the field in xlmr_weights */
    const char *hf;
} hf_name;
typedef struct hf_head_names {
    const char *architecture;
    int head; /* XLMR_HEAD_* */
    const hf_name *names;
    int n;
} hf_head_names;
#define HF_NAME(field, hf) {(uint16_t)offsetof(xlmr_weights, field), hf},
#define HF_NAMES(arch, ID, list) static const hf_name hf_names_##ID[] = {list(HF_NAME)};
XLMR_HF_HEAD_ARCHITECTURES(HF_NAMES)
#define HF_ENTRY(arch, ID, list) {arch, XLMR_HEAD_##ID, hf_names_##ID, (int)(sizeof hf_names_##ID / sizeof(hf_name))},
static const hf_head_names hf_heads[] = {XLMR_HF_HEAD_ARCHITECTURES(HF_ENTRY)};
#undef HF_NAME
#undef HF_NAMES
#undef HF_ENTRY

int32_t model_hf_head_names_of(const char *architecture, size_t len) {
    for (size_t i = 0; i < sizeof hf_heads / sizeof hf_heads[0]; i++)
        if (strlen(hf_heads[i].architecture) == len && memcmp(hf_heads[i].architecture, architecture, len) == 0)
            return (int32_t)i + 1;
    return 0;
}

/* The architecture's names for c's heads, or NULL for the table's own. */
static const hf_head_names *hf_names_of(const xlmr_config *c) {
    const int k = c->hf_head_names;
    return k > 0 && k <= (int)(sizeof hf_heads / sizeof hf_heads[0]) ? &hf_heads[k - 1] : NULL;
}

const char *model_hf_architecture(const xlmr_config *c, int *head) {
    const hf_head_names *v = hf_names_of(c);
    *head = v ? v->head : XLMR_HEAD_NONE;
    return v ? v->architecture : NULL;
}

/* The '|'-separated Hugging Face names of head h's row j under c's architecture; NULL: not looked for (a head other
 * than the architecture's, or a row it does not name). */
static const char *head_row_hf(const xlmr_config *c, const head_desc *h, int j) {
    const hf_head_names *v = hf_names_of(c);
    if (!v) return h->rows[j].hf;
    if (h->head != v->head) return NULL;
    for (int k = 0; k < v->n; k++)
        if (v->names[k].offset == h->rows[j].offset) return v->names[k].hf;
    return NULL;
}

/* slot i past the layers: which head and which of its rows */
static const head_desc *head_of(int i, int *row) {
    for (int h = 0; h < N_HEADS; h++) {
        if (i < heads[h].n) {
            *row = i;
            return &heads[h];
        }
        i -= heads[h].n;
    }
    return NULL;
}

const char *model_head_task(int head) {
    for (int h = 0; h < N_HEADS; h++)
        if (heads[h].head == head) return heads[h].task;
    return "";
}

static int64_t dim_value(const xlmr_config *c, int dim) {
    switch (dim) {
    case TENSOR_DIM_H: return c->hidden_size;
    case TENSOR_DIM_F: return c->intermediate_size;
    case TENSOR_DIM_V: return c->vocab_size;
    case TENSOR_DIM_POSITIONS: return (int64_t)c->max_positions - model_position_offset(c);
    case TENSOR_DIM_TYPES: return c->type_vocab_size;
    case TENSOR_DIM_LABELS: return c->num_labels;
    case TENSOR_DIM_SPAN_ENDS: return 2;
    }
    return 1;
}

/* ---- slots ---- */

int model_head_has_labels(int head) {
    for (int h = 0; h < N_HEADS; h++)
        for (int j = 0; heads[h].head == head && j < heads[h].n; j++)
            if (heads[h].rows[j].rows == TENSOR_DIM_LABELS || heads[h].rows[j].cols == TENSOR_DIM_LABELS) return 1;
    return 0;
}

int64_t model_slot_label_count(const xlmr_config *c, int i, const int64_t ne[2]) {
    xlmr_model probe = {.config = *c};
    model_slot s;
    model_slot_get(&probe, i, &s);
    if (s.desc->rows == TENSOR_DIM_LABELS) return ne[1];
    if (s.desc->cols == TENSOR_DIM_LABELS) return ne[0];
    return -1;
}

int model_slot_count(const xlmr_config *c) { return N_EMBEDDINGS + N_PER_LAYER * c->num_layers + head_rows_total(); }

int model_slot_head(const xlmr_config *c, int i) {
    int row;
    const int first_head = N_EMBEDDINGS + N_PER_LAYER * c->num_layers;
    if (i < first_head) return XLMR_HEAD_NONE;
    const head_desc *h = head_of(i - first_head, &row);
    return h ? h->head : XLMR_HEAD_NONE;
}

int model_slot_held(const xlmr_config *c, const model_slot *s) { return s->head == XLMR_HEAD_NONE || s->head == c->head; }

void model_slot_get(xlmr_model *m, int i, model_slot *s) {
    const xlmr_config *c = &m->config;
    const int first_head = N_EMBEDDINGS + N_PER_LAYER * c->num_layers;
    memset(s, 0, sizeof *s);
    s->layer = -1;
    uint8_t *base = (uint8_t *)&m->w;
    if (i < N_EMBEDDINGS) {
        s->desc = &desc_embeddings[i];
        snprintf(s->name, sizeof s->name, "%s", s->desc->gguf);
    } else if (i < first_head) {
        s->layer = (i - N_EMBEDDINGS) / N_PER_LAYER;
        s->desc = &desc_layer[(i - N_EMBEDDINGS) % N_PER_LAYER];
        snprintf(s->name, sizeof s->name, "blk.%d.%s", s->layer, s->desc->gguf);
        base = m->w.layers ? (uint8_t *)&m->w.layers[s->layer] : NULL;
    } else {
        int row;
        const head_desc *h = head_of(i - first_head, &row);
        s->desc = &h->rows[row];
        s->head = h->head;
        snprintf(s->name, sizeof s->name, "%s", s->desc->gguf);
    }
    s->kind = s->desc->kind;
    s->ne[0] = dim_value(c, s->desc->cols);
    s->ne[1] = dim_value(c, s->desc->rows);
    s->t = base ? (xlmr_tensor *)(void *)(base + s->desc->offset) : NULL;
}

static int name_is(const char *name, size_t len, const char *lit) {
    return strlen(lit) == len && memcmp(name, lit, len) == 0;
}

/* "blk.N." / "encoder.layer.N.": the layer number (no leading zeros) and *used the prefix's length; -1 if absent */
static int64_t layer_prefix(const char *name, size_t len, const char *stem, size_t *used) {
    const size_t k = strlen(stem);
    size_t p = k;
    int64_t l = 0;
    if (len <= k + 1 || memcmp(name, stem, k) != 0 || name[p] < '0' || name[p] > '9') return -1;
    if (name[p] == '0' && p + 1 < len && name[p + 1] != '.') return -1;
    while (p < len && name[p] >= '0' && name[p] <= '9' && l < 1000000) l = l * 10 + (name[p++] - '0');
    if (p >= len || name[p] != '.') return -1;
    *used = p + 1;
    return l;
}

int model_slot_find(const xlmr_config *c, const char *name, size_t len) {
    for (int i = 0; i < N_EMBEDDINGS; i++)
        if (name_is(name, len, desc_embeddings[i].gguf)) return i;
    int first = N_EMBEDDINGS + N_PER_LAYER * c->num_layers;
    for (int h = 0; h < N_HEADS; first += heads[h].n, h++)
        for (int j = 0; j < heads[h].n; j++)
            if (name_is(name, len, heads[h].rows[j].gguf)) return first + j;
    size_t p;
    const int64_t l = layer_prefix(name, len, "blk.", &p);
    if (l < 0 || l >= c->num_layers) return -1;
    for (int j = 0; j < N_PER_LAYER; j++)
        if (name_is(name + p, len - p, desc_layer[j].gguf)) return N_EMBEDDINGS + N_PER_LAYER * (int)l + j;
    return -1;
}

/* ---- Hugging Face names ---- */

/* Whether name[0 .. len) is one of the '|'-separated names; *rank: which. A LayerNorm's "weight" / "bias" also
 * match "gamma" / "beta" (checkpoints from before transformers renamed them). */
static int hf_names_match(const char *names, const char *name, size_t len, int *rank) {
    for (int r = 0; *names; r++) {
        const char *bar = strchr(names, '|');
        const size_t n = bar ? (size_t)(bar - names) : strlen(names);
        static const char *const renamed[2][2] = {{"LayerNorm.weight", "LayerNorm.gamma"}, {"LayerNorm.bias", "LayerNorm.beta"}};
        int hit = n == len && memcmp(names, name, n) == 0;
        for (int k = 0; k < 2 && !hit; k++) {
            const size_t a = strlen(renamed[k][0]), b = strlen(renamed[k][1]);
            hit = n >= a && len == n - a + b && memcmp(names + n - a, renamed[k][0], a) == 0 &&
                  memcmp(names, name, n - a) == 0 && memcmp(name + n - a, renamed[k][1], b) == 0;
        }
        if (hit) {
            *rank = r;
            return 1;
        }
        names += n + (bar != NULL);
    }
    return 0;
}

int model_slot_find_hf(const xlmr_config *c, const char *name, size_t len, int *rank) {
    static const char *const prefixes[] = {"roberta.", "bert."};
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        const size_t n = strlen(prefixes[k]);
        if (len > n && memcmp(name, prefixes[k], n) == 0) {
            name += n;
            len -= n;
            break;
        }
    }
    for (int i = 0; i < N_EMBEDDINGS; i++)
        if (hf_names_match(desc_embeddings[i].hf, name, len, rank)) return i;
    int first = N_EMBEDDINGS + N_PER_LAYER * c->num_layers;
    for (int h = 0; h < N_HEADS; first += heads[h].n, h++)
        for (int j = 0; j < heads[h].n; j++) {
            const char *names = head_row_hf(c, &heads[h], j);
            if (names && hf_names_match(names, name, len, rank)) return first + j;
        }
    size_t p;
    const int64_t l = layer_prefix(name, len, "encoder.layer.", &p);
    if (l < 0) return MODEL_HF_UNKNOWN;
    for (int j = 0; j < N_PER_LAYER; j++)
        if (hf_names_match(desc_layer[j].hf, name + p, len - p, rank))
            return l < c->num_layers ? N_EMBEDDINGS + N_PER_LAYER * (int)l + j : MODEL_HF_BAD_LAYER;
    return MODEL_HF_UNKNOWN;
}

const char *model_slot_hf_name(const xlmr_config *c, int i, char *buf, size_t n) {
    const int first_head = N_EMBEDDINGS + N_PER_LAYER * c->num_layers;
    const char *names;
    char layer[32] = "";
    if (i < N_EMBEDDINGS) names = desc_embeddings[i].hf;
    else if (i < first_head) {
        names = desc_layer[(i - N_EMBEDDINGS) % N_PER_LAYER].hf;
        snprintf(layer, sizeof layer, "encoder.layer.%d.", (i - N_EMBEDDINGS) / N_PER_LAYER);
    } else {
        int row;
        const head_desc *h = head_of(i - first_head, &row);
        names = head_row_hf(c, h, row);
        if (!names) names = h->rows[row].hf;
    }
    const char *bar = strchr(names, '|');
    const int len = bar ? (int)(bar - names) : (int)strlen(names);
    snprintf(buf, n, "%s%s%.*s", i < first_head ? "roberta." : "", layer, len, names);
    return buf;
}

/* ---- checks before computing ---- */

static xlmr_status check_tensor(xlmr_error *err, const model_slot *s) {
    const xlmr_tensor *t = s->t;
    const int is_float = t->type == XLMR_TYPE_F32;
    const int is_any = is_float || t->type == XLMR_TYPE_F16 || t->type == XLMR_TYPE_BF16 || t->type == XLMR_TYPE_Q8_0 ||
                       t->type == XLMR_TYPE_Q4_0;
    const int64_t cols = s->ne[0], rows = s->ne[1];
    if (!t->data) return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s is missing from the model", s->name);
    if (s->kind == TENSOR_VECTOR ? !is_float : !is_any)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s has type %s (%d); expected %s", s->name, quant_type_name(t->type),
                         (int)t->type, s->kind == TENSOR_VECTOR ? "F32" : "F32, F16, BF16, Q8_0 or Q4_0");
    if (t->ne[0] != cols || t->ne[1] != rows)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s has shape [%lld, %lld]; expected [%lld, %lld] from the config",
                         s->name, (long long)t->ne[1], (long long)t->ne[0], (long long)rows, (long long)cols);
    if (t->type == XLMR_TYPE_Q4_0 && cols > KERN_Q4_0_MAX_K)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s is Q4_0 with rows of %lld; at most %d are supported", s->name,
                         (long long)cols, KERN_Q4_0_MAX_K);
    if ((t->type == XLMR_TYPE_Q8_0 || t->type == XLMR_TYPE_Q4_0) && cols % QK8_0 != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s is %s with rows of %lld, not a multiple of %d", s->name,
                         quant_type_name(t->type), (long long)cols, QK8_0);
    if (t->nbytes < quant_type_size(t->type, t->ne[0] * t->ne[1]))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s holds %zu bytes; its shape needs %zu", s->name, t->nbytes,
                         quant_type_size(t->type, t->ne[0] * t->ne[1]));
    return XLMR_OK;
}

static xlmr_status check_config(const xlmr_config *c, xlmr_error *err) {
    const int64_t H = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    if (H < 1 || c->num_heads < 1 || H % c->num_heads != 0 || F < 1 || V < 2 || c->num_layers < 0 ||
        c->max_tokens < 1 || c->pad_id < 0 || c->pad_id >= V || c->type_vocab_size < 1 ||
        c->max_tokens > (int64_t)c->max_positions - model_position_offset(c) || !(c->layer_norm_eps >= 0.0f) || H > (1 << 20) ||
        F > (1 << 22) || V > (1 << 26))
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "model config is inconsistent: hidden %lld, heads %d, intermediate %lld, vocab %lld, layers %d, "
                         "max_tokens %d, pad_id %d, type_vocab %d, layer_norm_eps %g",
                         (long long)H, c->num_heads, (long long)F, (long long)V, c->num_layers, c->max_tokens, c->pad_id,
                         c->type_vocab_size, (double)c->layer_norm_eps);
    if (H / c->num_heads > ATT_MAX_DH)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "model config has attention heads of %lld values; at most %d are supported",
                         (long long)(H / c->num_heads), ATT_MAX_DH);
    return XLMR_OK;
}

xlmr_status model_check(xlmr_model *m, int want_head) {
    const xlmr_config *c = &m->config;
    xlmr_status st = check_config(c, &m->err);
    if (st != XLMR_OK) return st;
    if (c->num_layers > 0 && !m->w.layers) return xlmr_fail(&m->err, XLMR_ERR_FORMAT, "model has no layer tensors");
    if (want_head != XLMR_HEAD_NONE && c->head != want_head) {
        if (c->head == XLMR_HEAD_NONE)
            return xlmr_fail(&m->err, XLMR_ERR_ARG, "this model has no %s head (embedding-only weights): use embed instead",
                             model_head_task(want_head));
        return xlmr_fail(&m->err, XLMR_ERR_UNSUPPORTED, "this model has a %s head, not a %s one",
                         model_head_task(c->head), model_head_task(want_head));
    }
    const int n = model_slot_count(c);
    model_slot s;
    for (int i = 0; i < n; i++) {
        model_slot_get(m, i, &s);
        if (s.head != XLMR_HEAD_NONE && s.head != want_head) continue;
        if ((st = check_tensor(&m->err, &s)) != XLMR_OK) return st;
    }
    return XLMR_OK;
}

/* ---- the weights block ---- */

xlmr_model *model_new(void) { return XLMR_CALLOC(1, sizeof(xlmr_model)); }

xlmr_status model_alloc_layers(xlmr_model *m, xlmr_error *err) {
    XLMR_FREE(m->w.layers);
    m->w.layers = XLMR_CALLOC((size_t)m->config.num_layers, sizeof(xlmr_layer));
    if (!m->w.layers) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %d layers", (int)m->config.num_layers);
    return XLMR_OK;
}

/* Sets slot s's tensor to type at offset off of the block. The matrices the encoder multiplies by get the GEMM's
 * layout; row lookups (the word embeddings, also the decoder of a single mask position) stay row-major. */
static void place_tensor(xlmr_model *m, const model_slot *s, int32_t type, uint64_t off, size_t nbytes) {
    xlmr_tensor *t = s->t;
    t->type = type;
    t->layout = type == XLMR_TYPE_Q8_0 && s->kind == TENSOR_MATRIX && !(s->desc->flags & TENSOR_ROW_LOOKUP)
                    ? kern_q8_0_layout(s->ne[1])
                    : XLMR_LAYOUT_ROWS;
    t->ne[0] = s->ne[0];
    t->ne[1] = s->ne[1];
    t->nbytes = nbytes;
    t->data = (uint8_t *)m->weights_block + off;
}

/* One pass over the held slots: the block's size in *size; with place, every tensor set and the gaps zeroed. */
static xlmr_status layout_block(xlmr_model *m, const int32_t *types, int place, uint64_t *size, xlmr_error *err) {
    const int n = model_slot_count(&m->config);
    uint64_t off = 0, prev_end = 0; /* end of the previous tensor: the alignment gap after it is zeroed */
    model_slot s;
    for (int i = 0; i < n; i++) {
        model_slot_get(m, i, &s);
        if (!model_slot_held(&m->config, &s)) continue;
        const size_t nb = quant_type_size(types[i], s.ne[0] * s.ne[1]);
        if ((types[i] == XLMR_TYPE_Q8_0 || types[i] == XLMR_TYPE_Q4_0) && s.ne[0] % QK8_0 != 0)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "tensor %s: type %s needs rows of a multiple of 32, not %lld", s.name,
                             quant_type_name(types[i]), (long long)s.ne[0]);
        if (nb == 0)
            return xlmr_fail(err, XLMR_ERR_NOMEM, "tensor %s (%lld x %lld, %s) does not fit this address space", s.name,
                             (long long)s.ne[0], (long long)s.ne[1], quant_type_name(types[i]));
        off = (off + MODEL_ALIGN - 1) / MODEL_ALIGN * MODEL_ALIGN;
        if (place) {
            memset((uint8_t *)m->weights_block + prev_end, 0, (size_t)(off - prev_end));
            place_tensor(m, &s, types[i], off, nb);
        }
        off += nb;
        prev_end = off;
        if (off > MODEL_MAX_BLOCK)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "weights larger than %llu bytes at tensor %s",
                             (unsigned long long)MODEL_MAX_BLOCK, s.name);
    }
    off = (off + MODEL_ALIGN - 1) / MODEL_ALIGN * MODEL_ALIGN;
    if (place) memset((uint8_t *)m->weights_block + prev_end, 0, (size_t)(off - prev_end));
    *size = off;
    return XLMR_OK;
}

xlmr_status model_alloc_block(xlmr_model *m, const int32_t *types, xlmr_error *err) {
    uint64_t size;
    xlmr_status st = layout_block(m, types, 0, &size, err);
    if (st != XLMR_OK) return st;
    if (size > SIZE_MAX || size == 0)
        return xlmr_fail(err, XLMR_ERR_NOMEM, "weights of %llu bytes do not fit this address space", (unsigned long long)size);
    XLMR_FREE(m->weights_block);
    /* Not calloc: every tensor byte is written by the loader (finish fails otherwise), only the alignment gaps need
     * zeros (GGUF output must be deterministic); clearing the whole block doubles the cost of a GGUF load. */
    m->weights_block = XLMR_MALLOC((size_t)size);
    if (!m->weights_block)
        return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %llu bytes of weights", (unsigned long long)size);
    m->weights_size = (size_t)size;
    return layout_block(m, types, 1, &size, err);
}

void model_free(xlmr_model *m) {
    if (!m) return;
    api_state_free(m->api);
    scratch_free(m->scratch);
    XLMR_FREE(m->weights_block);
    XLMR_FREE(m->w.layers);
    labels_free(&m->labels);
    tok_free(m->tok);
    XLMR_FREE(m);
}
