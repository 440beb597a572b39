/* safetensors.h — the header of a safetensors file: u64-LE length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [r, c], "data_offsets": [begin, end]}, ..., "__metadata__": {...}},
 * then the data section. Offsets are relative to the data section (byte 8 + N of the file). */
#ifndef XLMR_SAFETENSORS_H
#define XLMR_SAFETENSORS_H

#include "common.h"

#define ST_MAX_HEADER ((uint64_t)100 << 20) /* the reference implementation's limit */
#define ST_MAX_DIMS 8

typedef enum st_dtype { ST_F32, ST_F16, ST_BF16, ST_I64, ST_OTHER } st_dtype;

typedef struct st_tensor {
    const char *name; /* UTF-8, NUL-terminated, owned by the header */
    size_t name_len;
    int dtype;        /* st_dtype */
    const char *dtype_name;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end; /* [begin, end) in the data section; end - begin = elements * element size (known dtypes) */
} st_tensor;

typedef struct st_header {
    st_tensor *tensors; /* sorted by begin */
    size_t n;
    uint64_t data_len; /* largest end */
    struct json_doc *doc;
} st_header;

/* Reads the header length from the first 8 bytes; 0 if it is not a plausible safetensors length. */
uint64_t st_header_len(const uint8_t first8[8]);
/* Parses and checks the JSON header (n bytes): dtypes, shapes, sizes, offsets (no overlaps). */
xlmr_status st_header_parse(const char *json, size_t n, st_header *out, xlmr_error *err);
void st_header_free(st_header *h);
/* Bytes per element of a dtype, 0 for ST_OTHER. */
size_t st_dtype_size(int dtype);

#endif
