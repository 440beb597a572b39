/* test_safetensors.h — safetensors files written by tests: a fixture's tensors listed, renamed, dropped or added
 * to, and written back (header JSON with data_offsets in order, padded to 8 bytes). */
#ifndef XLMR_TEST_SAFETENSORS_H
#define XLMR_TEST_SAFETENSORS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "safetensors.h"

/* One tensor of a file to write: its name, dtype ("F32", ...), shape and bytes. */
typedef struct rw_entry {
    char name[160];
    char dtype[8];
    int64_t shape[2];
    int n_dims;
    const unsigned char *data;
    size_t n;
} rw_entry;

/* The file of n entries, in order (malloc'd, *out_n bytes). */
static inline unsigned char *st_write(const rw_entry *e, int n, size_t *out_n) {
    size_t cap = 65536 + (size_t)n * 256, hl = 0;
    char *h = malloc(cap);
    uint64_t off = 0;
    hl += (size_t)snprintf(h + hl, cap - hl, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (int i = 0; i < n; i++) {
        hl += (size_t)snprintf(h + hl, cap - hl, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[", e[i].name, e[i].dtype);
        for (int d = 0; d < e[i].n_dims; d++) hl += (size_t)snprintf(h + hl, cap - hl, d ? ",%lld" : "%lld", (long long)e[i].shape[d]);
        hl += (size_t)snprintf(h + hl, cap - hl, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                               (unsigned long long)(off + e[i].n));
        off += e[i].n;
    }
    hl += (size_t)snprintf(h + hl, cap - hl, "}");
    while (hl % 8) h[hl++] = ' ';
    size_t total = 8 + hl + (size_t)off;
    unsigned char *f = malloc(total);
    for (int i = 0; i < 8; i++) f[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(f + 8, h, hl);
    size_t at = 8 + hl;
    for (int i = 0; i < n; i++) {
        memcpy(f + at, e[i].data, e[i].n);
        at += e[i].n;
    }
    free(h);
    *out_n = total;
    return f;
}

/* The fixture's tensors as rw entries (names as stored). Returns the count. */
static inline int st_entries(const unsigned char *file, rw_entry *e, int max) {
    uint64_t hn = xlmr_rd_u64(file);
    st_header h;
    if (st_header_parse((const char *)file + 8, (size_t)hn, &h, NULL)) return 0;
    int n = 0;
    for (size_t i = 0; i < h.n && n < max; i++, n++) {
        snprintf(e[n].name, sizeof e[n].name, "%s", h.tensors[i].name);
        snprintf(e[n].dtype, sizeof e[n].dtype, "%s", h.tensors[i].dtype_name);
        e[n].n_dims = h.tensors[i].n_dims;
        e[n].shape[0] = h.tensors[i].shape[0];
        e[n].shape[1] = h.tensors[i].n_dims > 1 ? h.tensors[i].shape[1] : 0;
        e[n].data = file + 8 + hn + h.tensors[i].begin;
        e[n].n = (size_t)(h.tensors[i].end - h.tensors[i].begin);
    }
    st_header_free(&h);
    return n;
}

#endif
