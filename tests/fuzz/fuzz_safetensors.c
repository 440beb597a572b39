/* fuzz_safetensors — the safetensors header reader (length prefix + JSON) on arbitrary bytes; inputs that
 * start with '{' also go through the config.json reader (id2label included). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "labels.h"
#include "safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    xlmr_error err;
    if (size > 0 && data[0] == '{') {
        xlmr_config c;
        xlmr_labels labels;
        labels_init(&labels);
        config_from_hf_json((const char *)data, size, &c, &labels, &err);
        labels_free(&labels);
        return 0;
    }
    if (size < 8) return 0;
    uint64_t n = st_header_len(data);
    if (!n) return 0;
    if (n > size - 8) n = size - 8; /* a truncated header: parse what is there (it must fail cleanly) */
    char *json = malloc((size_t)n + 1);
    memcpy(json, data + 8, (size_t)n);
    st_header h;
    if (st_header_parse(json, (size_t)n, &h, &err) == XLMR_OK) {
        for (size_t i = 0; i < h.n; i++) {
            const st_tensor *t = &h.tensors[i];
            if (t->end < t->begin || t->end > h.data_len) abort();
            if (i && t->begin < h.tensors[i - 1].end) abort();
            if (t->name_len) (void)t->name[t->name_len - 1];
        }
        st_header_free(&h);
    }
    free(json);
    return 0;
}
