/* torch_pickle.h — the data.pkl of a PyTorch checkpoint (torch.save of a state dict) read without executing
 * anything: a pickle machine that knows only what torch.save writes for a state dict, the subset that
 * torch.load(weights_only=True) allows (torch/_weights_only_unpickler.py):
 *
 *   globals   collections.OrderedDict, torch._utils._rebuild_tensor_v2 / _v3 / _rebuild_parameter,
 *             torch.<Type>Storage and torch.UntypedStorage, the dtypes torch.float32 & co (for _v3)
 *   opcodes   the protocol 2 to 4 ones for None, bools, ints, floats, strings, tuples, lists, dicts, the memo,
 *             MARK, REDUCE, BUILD (ignored: an OrderedDict's _metadata), BINPERSID, FRAME, STOP
 *   ids       BINPERSID of ('storage', storage type, key, location, numel): the bytes of archive/data/<key>
 *
 * Any other global or opcode is XLMR_ERR_FORMAT naming it. The result is the top-level dict's tensors (values
 * that are not tensors are dropped) as views (offset, shape, stride in elements) into the storages. */
#ifndef XLMR_TORCH_PICKLE_H
#define XLMR_TORCH_PICKLE_H

#include "common.h"

#define TP_MAX_DIMS 8
#define TP_MAX_PICKLE ((size_t)256 << 20) /* a data.pkl larger than this is refused */

typedef struct tp_storage {
    const char *key; /* NUL-terminated, owned by the state dict: the entry archive/data/<key> */
    size_t key_len;
    int dtype;       /* st_dtype (safetensors.h), ST_OTHER for types we do not load */
    const char *dtype_name; /* "F32", "I64", "F64", ...: for messages */
    size_t elem_size;
    uint64_t numel;
} tp_storage;

typedef struct tp_tensor {
    const char *name; /* NUL-terminated, owned by the state dict */
    size_t name_len;
    int storage;      /* index into storages */
    int dtype;        /* the tensor's (a _v3 tensor over an untyped storage has its own) */
    const char *dtype_name;
    size_t elem_size;
    uint64_t offset;  /* in elements of dtype */
    int n_dims;
    int64_t shape[TP_MAX_DIMS], stride[TP_MAX_DIMS];
} tp_tensor;

typedef struct tp_state_dict {
    tp_tensor *tensors; /* in the pickle's order */
    size_t n;
    tp_storage *storages; /* in order of first use */
    size_t n_storages;
    size_t pickle_len; /* bytes up to and including STOP */
    char *names;       /* the arena holding every name and key */
} tp_state_dict;

/* Reads the pickle in b[0, n). XLMR_OK with *out filled; *incomplete = 1 (and XLMR_OK, out empty) when the bytes
 * end before STOP, so the caller can retry with more; otherwise XLMR_ERR_FORMAT / XLMR_ERR_NOMEM in err. */
xlmr_status tp_parse(const uint8_t *b, size_t n, tp_state_dict *out, int *incomplete, xlmr_error *err);
void tp_free(tp_state_dict *sd);
/* 1 when the view covers its elements in row-major order (dims of size 1 have any stride). */
int tp_contiguous(const tp_tensor *t);
/* The view's element count; 0 when it overflows 2^62. */
uint64_t tp_numel(const tp_tensor *t);

#endif
