/* fuzz_gguf — the GGUF header reader on arbitrary bytes, fed as a growing buffer (the first byte picks
 * the growth step), then every lookup on what it accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    size_t step = 1 + (size_t)data[0] * 13;
    data++;
    size--;
    /* a private copy of exactly `len` bytes each round, so ASan sees any read past what was given */
    gguf_reader r;
    gguf_reader_init(&r);
    xlmr_error err;
    size_t len = 0;
    uint64_t need = 1;
    uint8_t *buf = NULL;
    while (need) {
        len = len + step < size ? len + step : size;
        if (need > len && need <= size) len = (size_t)need;
        free(buf);
        buf = malloc(len ? len : 1);
        memcpy(buf, data, len);
        if (gguf_reader_advance(&r, buf, len, &need, &err) != XLMR_OK) break;
        if (need && len == size) break;
    }
    if (!need && r.stage == 4) {
        for (uint64_t i = 0; i < r.n_kv; i++) {
            int64_t v;
            double d;
            int b;
            const char *s;
            uint64_t n;
            uint32_t t;
            const uint8_t *p;
            gguf_get_int(&r, buf, (int64_t)i, &v);
            gguf_get_float(&r, buf, (int64_t)i, &d);
            gguf_get_bool(&r, buf, (int64_t)i, &b);
            if (gguf_get_str(&r, buf, (int64_t)i, &s, &n) && n) (void)s[n - 1];
            if (gguf_get_arr(&r, buf, (int64_t)i, &t, &n, &p) && t == GGUF_STRING)
                for (uint64_t k = 0; k < n; k++) {
                    uint64_t sl;
                    gguf_next_str(&p, &s, &sl);
                    if (sl) (void)s[sl - 1];
                }
        }
        gguf_find_key(&r, buf, "general.architecture");
        for (uint64_t i = 0; i < r.n_tensors; i++)
            if (r.tis[i].name_len) (void)buf[r.tis[i].name_off + r.tis[i].name_len - 1];
    }
    gguf_reader_free(&r);
    free(buf);
    return 0;
}
