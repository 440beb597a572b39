/* test_gguf_bytes.h — a loaded model written out as GGUF bytes (xlmr_writer_*), for the C tests' round trips. */
#ifndef XLMR_TEST_GGUF_BYTES_H
#define XLMR_TEST_GGUF_BYTES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xlmr.h"

/* The whole file, malloc'd, its length in *n; NULL (and *n = 0) when the writer cannot start or memory runs out. */
static inline unsigned char *test_gguf_bytes(xlmr_model *m, size_t *n) {
    *n = 0;
    xlmr_writer *w = xlmr_writer_new(m);
    if (!w) return NULL;
    const size_t total = (size_t)xlmr_writer_total(w);
    unsigned char *out = malloc(total ? total : 1);
    for (const uint8_t *p; out && (p = xlmr_writer_chunk(w)) != NULL && *n + xlmr_writer_chunk_len(w) <= total;) {
        memcpy(out + *n, p, xlmr_writer_chunk_len(w));
        *n += xlmr_writer_chunk_len(w);
    }
    xlmr_writer_free(w);
    return out;
}

#endif
