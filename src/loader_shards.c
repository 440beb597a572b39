/* loader_shards.c — several weight files into one model (xlmr_loader_set_index, xlmr_loader_next_file in xlmr.h): the
 * index's weight_map is kept for the first file's header (loader_hf.c begins the model from its names), and between
 * two files the byte protocol starts over while the model, its weights block and the host's config stay. A file may
 * name its tensors under a prefix the host gives (xlmr_loader_set_file_prefix: BGE-M3's colbert_linear.pt). */
#include "loader_internal.h"

#include "json.h"

int xlmr_loader_set_index(xlmr_loader *ld, const char *json, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (ld->phase != LD_DETECT || ld->hlen || ld->m) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "the shard index must be given before the first weights file");
        return ld_fail(ld);
    }
    if (!json && n) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "shard index: NULL text of %zu bytes", n);
        return ld_fail(ld);
    }
    json_doc *doc = NULL;
    if (json_parse(json, n, &doc, &ld->err) != XLMR_OK) return ld_fail(ld);
    const json_value *map = json_get(json_root(doc), "weight_map");
    int ok = map && map->type == JSON_OBJECT && map->len > 0;
    for (size_t i = 0; ok && i < map->len; i++) ok = map->items[i].type == JSON_STRING;
    if (!ok) {
        json_free(doc);
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "shard index: no \"weight_map\" object of tensor names to file names");
        return ld_fail(ld);
    }
    ld_shards_free(ld);
    ld->index = doc;
    ld->index_map = map;
    return XLMR_OK;
}

int xlmr_loader_next_file(xlmr_loader *ld) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (!ld->index_map) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "xlmr_loader_next_file without a shard index (xlmr_loader_set_index)");
        return ld_fail(ld);
    }
    if (ld->phase != LD_DONE) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "xlmr_loader_next_file before the current file was complete (byte %llu)",
                  (unsigned long long)ld->received);
        return ld_fail(ld);
    }
    if (ld->format == LOADER_FORMAT_GGUF) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, "a GGUF file is a whole model: it cannot be one shard of several");
        return ld_fail(ld);
    }
    XLMR_FREE(ld->hbuf);
    XLMR_FREE(ld->stage);
    XLMR_FREE(ld->fbuf);
    ld->hbuf = ld->stage = NULL;
    ld->fbuf = NULL;
    ld->hcap = ld->hlen = 0;
    ld->hneed = ld->hwant = 8;
    ld_torch_free(ld);
    ld->n_segs = ld->seg_i = 0;
    ld->seg_pos = ld->seg_elems = 0;
    ld->stage_len = 0;
    ld->received = ld->total = 0;
    ld->format = LOADER_FORMAT_UNKNOWN;
    ld->file_prefix_len = 0;
    ld->phase = LD_DETECT;
    return XLMR_OK;
}

int xlmr_loader_set_file_prefix(xlmr_loader *ld, const char *prefix, size_t n) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (ld->phase != LD_DETECT || ld->hlen) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "a file's name prefix must be given before its first byte");
        return ld_fail(ld);
    }
    if ((!prefix && n) || n >= sizeof ld->file_prefix) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "file name prefix of %zu bytes: at most %d", n, LD_FILE_PREFIX_MAX - 1);
        return ld_fail(ld);
    }
    if (n) memcpy(ld->file_prefix, prefix, n);
    ld->file_prefix_len = n;
    return XLMR_OK;
}

void ld_shards_free(xlmr_loader *ld) {
    json_free(ld->index);
    XLMR_FREE(ld->filled);
    ld->index = NULL;
    ld->index_map = NULL;
    ld->filled = NULL;
}
