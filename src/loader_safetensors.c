/* loader_safetensors.c — a safetensors header (JSON, complete in the loader's header buffer) and the host's
 * config.json turned into the model (loader_hf.c: names to slots, shapes, weight types, the weights block), and the
 * data section's segments (each tensor converted as it streams, loader.c). */
#include "loader_internal.h"

#include "quant.h"
#include "safetensors.h"

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
    int *from = ld_hf_begin(ld, h.tensors, h.n, "safetensors");
    int ok = from != NULL;
    const int n_slots = ok ? model_slot_count(&ld->m->config) : 0;
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
