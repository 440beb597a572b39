/* loader_safetensors.c — a safetensors header (JSON, complete in the loader's header buffer) and the host's
 * config.json turned into the model: Hugging Face names mapped to slots (tensor_table.h), shapes checked, the
 * weight types chosen from the loader's dtype, the weights block, and the data section's segments (each tensor
 * converted as it streams, loader.c). */
#include "loader_internal.h"

#include "quant.h"
#include "safetensors.h"

/* The head the file's tensors belong to, into c->head, and its label count from their shapes into c->num_labels; a
 * layer beyond the config is an error. */
static int find_head(xlmr_loader *ld, const st_header *h, xlmr_config *c) {
    int rank;
    for (size_t k = 0; k < h->n; k++) {
        const int s = model_slot_find_hf(c, h->tensors[k].name, h->tensors[k].name_len, &rank);
        if (s == MODEL_HF_BAD_LAYER) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' is beyond num_hidden_layers %d",
                      h->tensors[k].name, (int)c->num_layers);
            return 0;
        }
        if (s < 0) continue;
        const st_tensor *t = &h->tensors[k];
        const int64_t ne[2] = {t->shape[t->n_dims > 1 ? 1 : 0], t->n_dims > 1 ? t->shape[0] : 1}; /* (columns, rows) */
        if (!ld_note_head(ld, &c->head, model_slot_head(c, s), "safetensors") || !ld_note_labels(ld, c, s, ne)) return 0;
    }
    return 1;
}

/* from[slot] = the file tensor holding it: of several names for one slot the preferred one (tensor_table.h's first)
 * wins; two tensors under the same name rank (e.g. with and without "roberta.") are an error. */
static int map_names(xlmr_loader *ld, const st_header *h, int *from, int n_slots) {
    int *rank_of = XLMR_MALLOC((size_t)n_slots * sizeof(int)), rank;
    if (!rank_of) {
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    for (int s = 0; s < n_slots; s++) from[s] = -1;
    int ok = 1;
    for (size_t k = 0; ok && k < h->n; k++) {
        const int s = model_slot_find_hf(&ld->m->config, h->tensors[k].name, h->tensors[k].name_len, &rank);
        if (s < 0) continue;
        if (from[s] >= 0 && rank_of[s] == rank) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensors '%.100s' and '%.100s' are the same weight",
                      h->tensors[from[s]].name, h->tensors[k].name);
            ok = 0;
        } else if (from[s] < 0 || rank < rank_of[s]) {
            from[s] = (int)k;
            rank_of[s] = rank;
        }
    }
    XLMR_FREE(rank_of);
    return ok;
}

/* Slot s's file tensor t against the config: Hugging Face's (rows, columns), the position table with the rows no
 * token reads still in (model_position_offset); a float dtype. Sets the slot's weight type. */
static int check_and_type(xlmr_loader *ld, const model_slot *ms, int s, const st_tensor *t) {
    const xlmr_config *c = &ld->m->config;
    char sb[96], sb2[96];
    const int want_dims = ms->kind == TENSOR_VECTOR ? 1 : 2;
    int64_t want[2] = {ms->ne[1] + (ms->desc->flags & TENSOR_POSITIONS ? model_position_offset(c) : 0), ms->ne[0]};
    if (want_dims == 1) want[0] = ms->ne[0];
    if (t->n_dims != want_dims || t->shape[0] != want[0] || (want_dims == 2 && t->shape[1] != want[1])) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' has shape %s, expected %s from config.json",
                  t->name, ld_shape_str(sb, sizeof sb, t->n_dims, t->shape), ld_shape_str(sb2, sizeof sb2, want_dims, want));
        return 0;
    }
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor '%.100s' has dtype %.20s; expected F32, F16 or BF16",
                  t->name, t->dtype_name);
        return 0;
    }
    int32_t type = XLMR_TYPE_F32;
    if (ms->kind == TENSOR_MATRIX) {
        if (ld->dtype == XLMR_DTYPE_F16) type = XLMR_TYPE_F16;
        else if (ld->dtype == XLMR_DTYPE_Q8_0) type = ms->ne[0] % QK8_0 == 0 ? XLMR_TYPE_Q8_0 : XLMR_TYPE_F16;
    }
    ld->types[s] = type;
    return 1;
}

static int check_slots(xlmr_loader *ld, const st_header *h, const int *from, int n_slots) {
    const xlmr_config *c = &ld->m->config;
    model_slot ms;
    for (int s = 0; s < n_slots; s++) {
        model_slot_get(ld->m, s, &ms);
        if (!model_slot_held(c, &ms)) continue;
        if (from[s] < 0) {
            char hn[128];
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "safetensors: tensor %s missing (with or without \"roberta.\")%s",
                      model_slot_hf_name(c, s, hn, sizeof hn),
                      ms.head != XLMR_HEAD_NONE ? "; the file has part of a task head" : "");
            return 0;
        }
        if (!check_and_type(ld, &ms, s, &h->tensors[from[s]])) return 0;
    }
    return 1;
}

/* The data section in file order (h->tensors is sorted by offset): each tensor to its slot or skipped, the gaps
 * skipped. The position table's first model_position_offset rows are dropped as they stream. */
static int plan_segments(xlmr_loader *ld, const st_header *h, const int *from, int n_slots) {
    const xlmr_config *c = &ld->m->config;
    int *slot_of = XLMR_MALLOC((h->n ? h->n : 1) * sizeof(int));
    if (!slot_of) return 0;
    for (size_t k = 0; k < h->n; k++) slot_of[k] = -1;
    for (int s = 0; s < n_slots; s++)
        if (from[s] >= 0) slot_of[from[s]] = s;
    uint64_t at = 0;
    size_t cap = 0;
    int ok = 1;
    model_slot ms;
    for (size_t k = 0; ok && k < h->n; k++) {
        const st_tensor *t = &h->tensors[k];
        ld_seg *sg;
        if (t->begin > at && !(sg = ld_seg_push(ld, &cap))) ok = 0;
        else if (t->begin > at) sg->len = t->begin - at;
        if (!ok || t->end == t->begin) continue;
        if (!(sg = ld_seg_push(ld, &cap))) ok = 0;
        else {
            sg->len = t->end - t->begin;
            if (slot_of[k] >= 0) {
                model_slot_get(ld->m, slot_of[k], &ms);
                sg->slot = slot_of[k];
                sg->src = t->dtype;
                sg->skip = ms.desc->flags & TENSOR_POSITIONS
                               ? (uint64_t)model_position_offset(c) * (uint64_t)c->hidden_size
                               : 0;
            }
            at = t->end;
        }
    }
    XLMR_FREE(slot_of);
    return ok;
}

int ld_st_ready(xlmr_loader *ld) {
    if (!ld->have_config) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "safetensors weights need config.json: call xlmr_loader_set_config before the weights");
        return 0;
    }
    st_header h;
    if (st_header_parse((const char *)ld->hbuf + 8, ld->hlen - 8, &h, &ld->err) != XLMR_OK) return 0;
    xlmr_config c = ld->hf;
    int ok = find_head(ld, &h, &c) && ld_begin_model(ld, &c);
    const int n_slots = ok ? model_slot_count(&c) : 0;
    int *from = ok ? XLMR_MALLOC((size_t)n_slots * sizeof(int)) : NULL;
    if (ok && !from) xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
    ok = from && map_names(ld, &h, from, n_slots) && check_slots(ld, &h, from, n_slots) &&
         ld_apply_labels(ld, "config.json's id2label") && model_alloc_block(ld->m, ld->types, &ld->err) == XLMR_OK;
    if (ok && !plan_segments(ld, &h, from, n_slots)) ok = 0, xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
    if (ok) {
        ld->stage = XLMR_MALLOC(LOADER_STAGE_BYTES);
        ld->fbuf = XLMR_MALLOC(LOADER_STAGE_BYTES / 2 * sizeof(float));
        if (!ld->stage || !ld->fbuf) ok = 0, xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        ld->data_start = 8 + (uint64_t)(ld->hlen - 8);
        ld->total = ld->data_start + h.data_len;
    }
    XLMR_FREE(from);
    st_header_free(&h);
    return ok;
}
