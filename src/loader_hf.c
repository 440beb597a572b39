/* loader_hf.c — a Hugging Face state dict's tensor list (names, dtypes, shapes: a safetensors header or a PyTorch
 * checkpoint's pickle) and the host's config.json turned into the model: names mapped to slots (tensor_table.h),
 * the head found, shapes checked, the weight types chosen from the loader's dtype, the weights block allocated.
 * A sharded checkpoint (xlmr_loader_set_index) begins the model from the index's names at its first file; each file
 * then fills the slots of the tensors it holds, once each. */
#include "loader_internal.h"

#include "json.h"
#include "quant.h"
#include "safetensors.h"

/* The slot of file tensor t (model_slot_find_hf), its name after the current file's prefix when prefixed
 * (xlmr_loader_set_file_prefix). */
static int slot_of(const xlmr_loader *ld, const xlmr_config *c, const st_tensor *t, int prefixed, int *rank) {
    if (!prefixed || !ld->file_prefix_len) return model_slot_find_hf(c, t->name, t->name_len, rank);
    char name[LD_FILE_PREFIX_MAX + 256];
    if (t->name_len > 256) return MODEL_HF_UNKNOWN;
    memcpy(name, ld->file_prefix, ld->file_prefix_len);
    memcpy(name + ld->file_prefix_len, t->name, t->name_len);
    return model_slot_find_hf(c, name, ld->file_prefix_len + t->name_len, rank);
}

/* The head the tensors belong to, into c->head, and its label count from their shapes into c->num_labels; a layer
 * beyond the config is an error. prefixed: the current file's tensors (an index's names are whole). */
static int find_head(xlmr_loader *ld, const st_tensor *ts, size_t n, int prefixed, xlmr_config *c, const char *format) {
    int rank;
    for (size_t k = 0; k < n; k++) {
        const int s = slot_of(ld, c, &ts[k], prefixed, &rank);
        if (s == MODEL_HF_BAD_LAYER) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensor '%.100s' is beyond num_hidden_layers %d", format,
                      ts[k].name, (int)c->num_layers);
            return 0;
        }
        if (s < 0) continue;
        const st_tensor *t = &ts[k];
        if (t->n_dims == 0 && !ld_note_head(ld, &c->head, model_slot_head(c, s), format)) return 0;
        if (t->n_dims == 0) continue; /* a name from a shard index: no shape to count labels from */
        const int64_t ne[2] = {t->shape[t->n_dims > 1 ? 1 : 0], t->n_dims > 1 ? t->shape[0] : 1}; /* (columns, rows) */
        if (!ld_note_head(ld, &c->head, model_slot_head(c, s), format) || !ld_note_labels(ld, c, s, ne)) return 0;
    }
    return 1;
}

/* The head found must be the one config.json's architectures names, when it names one (tensor_table.h's
 * XLMR_HF_HEAD_ARCHITECTURES). */
static int check_named_head(xlmr_loader *ld, const xlmr_config *c, const char *format) {
    int named;
    const char *arch = model_hf_architecture(c, &named);
    if (arch && c->head != named) {
        char hn[128];
        int first = 0;
        while (model_slot_head(c, first) != named) first++; /* the head's first row: the one a reader looks for */
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: config.json's architectures is %s but the weights have no %s", format,
                  arch, model_slot_hf_name(c, first, hn, sizeof hn));
        return 0;
    }
    return 1;
}

/* from[slot] = the file tensor holding it: of several names for one slot the preferred one (tensor_table.h's first)
 * wins; two tensors under the same name rank (e.g. with and without "roberta.") are an error. */
static int map_names(xlmr_loader *ld, const st_tensor *ts, size_t n, int *from, int n_slots, const char *format) {
    int *rank_of = XLMR_MALLOC((size_t)n_slots * sizeof(int)), rank;
    if (!rank_of) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    for (int s = 0; s < n_slots; s++) from[s] = -1;
    int ok = 1;
    for (size_t k = 0; ok && k < n; k++) {
        const int s = slot_of(ld, &ld->m->config, &ts[k], 1, &rank);
        if (s < 0) continue;
        if (from[s] >= 0 && rank_of[s] == rank) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensors '%.100s' and '%.100s' are the same weight", format,
                      ts[from[s]].name, ts[k].name);
            ok = 0;
        } else if (from[s] < 0 || rank < rank_of[s]) {
            from[s] = (int)k;
            rank_of[s] = rank;
        }
    }
    XLMR_FREE(rank_of);
    return ok;
}

/* The type a slot's weights are kept in: the loader's dtype for matrices (the word-embedding table's own when set; F16
 * for rows Q8_0 cannot block; Q4_0 rows that cannot block fail in the weights block's layout, naming the tensor), F32
 * for the rest; never the file's. */
static int32_t weight_type(const xlmr_loader *ld, const model_slot *ms) {
    const int dtype = ms->desc->flags & TENSOR_ROW_LOOKUP && ld->embedding_dtype >= 0 ? ld->embedding_dtype : ld->dtype;
    if (ms->kind != TENSOR_MATRIX || dtype == XLMR_DTYPE_F32) return XLMR_TYPE_F32;
    if (dtype == XLMR_DTYPE_F16) return XLMR_TYPE_F16;
    if (dtype == XLMR_DTYPE_Q4_0) return XLMR_TYPE_Q4_0;
    return ms->ne[0] % QK8_0 == 0 ? XLMR_TYPE_Q8_0 : XLMR_TYPE_F16;
}

/* Slot s's file tensor t against the config: Hugging Face's (rows, columns), the position table with the rows no
 * token reads still in (model_position_offset); a float dtype. Sets the slot's weight type. */
static int check_and_type(xlmr_loader *ld, const model_slot *ms, int s, const st_tensor *t, const char *format) {
    const xlmr_config *c = &ld->m->config;
    char sb[96], sb2[96];
    const int want_dims = ms->kind == TENSOR_VECTOR ? 1 : 2;
    int64_t want[2] = {ms->ne[1] + (ms->desc->flags & TENSOR_POSITIONS ? model_position_offset(c) : 0), ms->ne[0]};
    if (want_dims == 1) want[0] = ms->ne[0];
    if (t->n_dims != want_dims || t->shape[0] != want[0] || (want_dims == 2 && t->shape[1] != want[1])) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensor '%.100s' has shape %s, expected %s from config.json", format,
                  t->name, ld_shape_str(sb, sizeof sb, t->n_dims, t->shape), ld_shape_str(sb2, sizeof sb2, want_dims, want));
        return 0;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensor '%.100s' has dtype %.20s; expected F32, F16 or BF16", format,
                  t->name, t->dtype_name);
        return 0;
    }
    ld->types[s] = weight_type(ld, ms);
    return 1;
}

static int check_slots(xlmr_loader *ld, const st_tensor *ts, const int *from, int n_slots, const char *format) {
    const xlmr_config *c = &ld->m->config;
    model_slot ms;
    for (int s = 0; s < n_slots; s++) {
        model_slot_get(ld->m, s, &ms);
        if (!model_slot_held(c, &ms)) continue;
        if (from[s] < 0) {
            char hn[128];
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensor %s missing (with or without \"roberta.\")%s", format,
                      model_slot_hf_name(c, s, hn, sizeof hn),
                      ms.head != XLMR_HEAD_NONE ? "; the file has part of a task head" : "");
            return 0;
        }
        if (!check_and_type(ld, &ms, s, &ts[from[s]], format)) return 0;
    }
    return 1;
}

/* A multi-file model from the index's names and the first file's tensors ts: the head (its label count from their
 * shapes, else config.json's id2label), every held slot's weight type, the weights block. */
static int shards_begin(xlmr_loader *ld, const st_tensor *ts, size_t n, const char *format) {
    const json_value *map = ld->index_map;
    st_tensor *names = XLMR_CALLOC(map->len ? map->len : 1, sizeof *names);
    if (!names) return xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), 0;
    for (size_t i = 0; i < map->len; i++) {
        names[i].name = map->keys[i];
        names[i].name_len = map->key_lens[i];
    }
    xlmr_config c = ld->hf;
    int ok = find_head(ld, names, map->len, 0, &c, format) && find_head(ld, ts, n, 1, &c, format) &&
             check_named_head(ld, &c, format);
    XLMR_FREE(names);
    if (ok && model_head_has_labels(c.head) && !c.num_labels) {
        if (!ld->labels.n) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "a sharded checkpoint with a %s head needs config.json's id2label "
                      "(its label count)", model_head_task(c.head));
            return 0;
        }
        c.num_labels = ld->labels.n;
    }
    if (!ok || !ld_begin_model(ld, &c)) return 0;
    const int n_slots = model_slot_count(&c);
    if (!(ld->filled = XLMR_CALLOC((size_t)n_slots, 1))) return xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), 0;
    model_slot ms;
    for (int s = 0; s < n_slots; s++) {
        model_slot_get(ld->m, s, &ms);
        if (model_slot_held(&c, &ms)) ld->types[s] = weight_type(ld, &ms);
    }
    return ld_apply_labels(ld, "config.json's id2label") && model_alloc_block(ld->m, ld->types, &ld->err) == XLMR_OK;
}

/* One shard's tensors: from[slot] for the held slots it fills, each checked and filled once. */
static int *shards_map_file(xlmr_loader *ld, const st_tensor *ts, size_t n, const char *format) {
    if (!ld->m && !shards_begin(ld, ts, n, format)) return NULL;
    const xlmr_config *c = &ld->m->config;
    const int n_slots = model_slot_count(c);
    int *from = XLMR_MALLOC((size_t)n_slots * sizeof(int));
    if (!from) return xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), NULL;
    int ok = map_names(ld, ts, n, from, n_slots, format);
    model_slot ms;
    for (int s = 0; ok && s < n_slots; s++) {
        model_slot_get(ld->m, s, &ms);
        if (from[s] < 0 || !model_slot_held(c, &ms)) {
            from[s] = -1;
            continue;
        }
        if (ld->filled[s]) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "%s: tensor '%.100s' is in two shards", format, ts[from[s]].name);
            ok = 0;
        } else ok = check_and_type(ld, &ms, s, &ts[from[s]], format);
        ld->filled[s] = 1;
    }
    if (!ok) XLMR_FREE(from);
    return ok ? from : NULL;
}

int ld_hf_shards_complete(xlmr_loader *ld) {
    if (!ld->filled) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "a shard index was given but the file is a GGUF, which is a whole model");
        return 0;
    }
    const xlmr_config *c = &ld->m->config;
    model_slot ms;
    for (int s = 0; s < model_slot_count(c); s++) {
        model_slot_get(ld->m, s, &ms);
        if (!model_slot_held(c, &ms) || ld->filled[s]) continue;
        char hn[128];
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "sharded checkpoint: tensor %s is in none of the files given",
                  model_slot_hf_name(c, s, hn, sizeof hn));
        return 0;
    }
    return 1;
}

int *ld_hf_begin(xlmr_loader *ld, const st_tensor *ts, size_t n, const char *format) {
    if (ld->index_map) return shards_map_file(ld, ts, n, format);
    if (!ld->have_config) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "%s weights need config.json: call xlmr_loader_set_config before the weights",
                  format);
        return NULL;
    }
    xlmr_config c = ld->hf;
    int ok = find_head(ld, ts, n, 1, &c, format) && check_named_head(ld, &c, format) && ld_begin_model(ld, &c);
    const int n_slots = ok ? model_slot_count(&c) : 0;
    int *from = ok ? XLMR_MALLOC((size_t)n_slots * sizeof(int)) : NULL;
    if (ok && !from) xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
    ok = from && map_names(ld, ts, n, from, n_slots, format) && check_slots(ld, ts, from, n_slots, format) &&
         ld_apply_labels(ld, "config.json's id2label") && model_alloc_block(ld->m, ld->types, &ld->err) == XLMR_OK;
    if (!ok) {
        XLMR_FREE(from);
        return NULL;
    }
    return from;
}
