/* fuzz_loader — the streaming loader fed a file in chunks whose sizes come from the input, alternating
 * xlmr_loader_feed with the dest/room/commit protocol. Input: a control byte (dtype = b % 3; bit 2: the
 * tiny config B instead of A; bit 3: no config.json; bit 4: no tokenizer), 4 seed bytes, then the file.
 * A model that loads is written as GGUF and reloaded: the weights block must come back identical. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loader.h"
#include "model.h"
#include "tiny_models.h"

static uint32_t next(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static xlmr_model *load(const uint8_t *file, size_t size, int ctrl, uint32_t seed) {
    xlmr_loader *ld = xlmr_loader_new(ctrl % 3);
    if (!(ctrl & 8)) {
        const char *cfg = (ctrl & 4) ? tiny_config_b : tiny_config_a;
        xlmr_loader_set_config(ld, cfg, strlen(cfg));
    }
    if (!(ctrl & 16)) xlmr_loader_set_tokenizer(ld, tiny_spm_model, sizeof tiny_spm_model);
    size_t at = 0;
    uint32_t s = seed | 1;
    while (at < size && !xlmr_loader_status(ld)) {
        uint32_t r = next(&s);
        size_t chunk = 1 + (r >> 8) % ((size_t)1 << (r % 17));
        if (chunk > size - at) chunk = size - at;
        if (r & 0x80) {
            xlmr_loader_feed(ld, file + at, chunk);
            at += chunk;
        } else {
            size_t room = xlmr_loader_room(ld);
            if (room == 0) break;
            if (chunk > room) chunk = room;
            uint8_t *d = xlmr_loader_dest(ld);
            memcpy(d, file + at, chunk);
            xlmr_loader_commit(ld, chunk);
            at += chunk;
        }
        (void)xlmr_loader_total(ld);
        (void)xlmr_loader_received(ld);
    }
    xlmr_model *m = xlmr_loader_finish(ld);
    (void)xlmr_loader_error(ld);
    xlmr_loader_free(ld);
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 5) return 0;
    int ctrl = data[0];
    uint32_t seed = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
    xlmr_model *m = load(data + 5, size - 5, ctrl, seed);
    if (!m) return 0;
    xlmr_writer *w = xlmr_writer_new(m);
    if (w) {
        size_t total = (size_t)xlmr_writer_total(w), at = 0;
        uint8_t *g = malloc(total);
        const uint8_t *p;
        while ((p = xlmr_writer_chunk(w)) && xlmr_writer_chunk_len(w)) {
            size_t k = xlmr_writer_chunk_len(w);
            if (at + k > total) abort();
            memcpy(g + at, p, k);
            at += k;
        }
        if (at != total) abort();
        xlmr_model *r = load(g, total, 8 | 16, seed ^ 0x5bd1e995u);
        if (!r || r->weights_size != m->weights_size || memcmp(r->weights_block, m->weights_block, m->weights_size) != 0)
            abort();
        model_free(r);
        free(g);
        xlmr_writer_free(w);
    }
    model_free(m);
    return 0;
}
