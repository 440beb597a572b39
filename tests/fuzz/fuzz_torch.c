/* fuzz_torch — PyTorch checkpoints (torch.save's zip) through the streaming loader in chunks whose sizes come from
 * the input, alternating xlmr_loader_feed with dest/room/commit; or (control bit 5) the bytes as a data.pkl for the
 * restricted pickle reader alone. Input: a control byte (dtype = b % 3; bit 2: tiny config B instead of A; bit 5:
 * pickle only), 4 seed bytes, then the file. A model that loads must pass model_check-level invariants: its
 * weights block is allocated and the loader hands it over once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "model.h"
#include "tiny_models.h"
#include "torch_pickle.h"

static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static void load(const uint8_t *file, size_t size, int ctrl, uint32_t seed) {
    xlmr_loader *ld = xlmr_loader_new(ctrl % 3);
    const char *cfg = (ctrl & 4) ? tiny_config_b : tiny_config_a;
    xlmr_loader_set_config(ld, cfg, strlen(cfg));
    xlmr_loader_set_tokenizer(ld, tiny_spm_model, sizeof tiny_spm_model);
    size_t at = 0;
    uint32_t s = seed | 1;
    while (at < size && !xlmr_loader_status(ld)) {
        uint32_t r = next(&s);
        size_t chunk = 1 + (r >> 8) % ((size_t)1 << (r % 17));
        if (chunk > size - at) chunk = size - at;
        if (r & 0x80) {
            xlmr_loader_feed(ld, file + at, chunk);
        } else {
            size_t room = xlmr_loader_room(ld);
            if (room == 0) break;
            if (chunk > room) chunk = room;
            memcpy(xlmr_loader_dest(ld), file + at, chunk);
            xlmr_loader_commit(ld, chunk);
        }
        at += chunk;
    }
    xlmr_model *m = xlmr_loader_finish(ld);
    if (m && (!m->weights_block || loader_format(ld) != LOADER_FORMAT_TORCH)) abort();
    (void)xlmr_loader_error(ld);
    xlmr_loader_free(ld);
    model_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    const int ctrl = data[0];
    const uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
    if (ctrl & 32) {
        tp_state_dict sd;
        int incomplete;
        if (tp_parse(data + 5, size - 5, &sd, &incomplete, NULL) == XLMR_OK && !incomplete) {
            for (size_t i = 0; i < sd.n; i++)
                if (sd.tensors[i].storage < 0 || (size_t)sd.tensors[i].storage >= sd.n_storages || !sd.tensors[i].name)
                    abort();
            tp_free(&sd);
        }
        return 0;
    }
    load(data + 5, size - 5, ctrl, seed);
    return 0;
}
