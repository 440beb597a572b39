/* PyTorch checkpoints (torch.save's zip of a state dict, saved by python3-torch: tests/torch/make_checkpoints.py)
 * load bit-identical to the same weights from safetensors: F32, F16, BF16, tied and untied decoder, a view at an
 * offset into a larger storage, the zip rewritten with sizes in its local headers and another entry order; for
 * every chunk size test_loader uses and through dest/room. Sharded: a .bin pair, a safetensors pair and a mixed
 * pair into one loader. The named errors: a foreign global, the legacy format,
 * truncation anywhere, a storage shorter than its tensor, a non-contiguous view. */
#include "loader.h"
#include "model.h"
#include "safetensors.h"
#include "test.h"
#include "test_safetensors.h"

static unsigned char *cfg, *spm;
static size_t cfg_n, spm_n;

/* A checkpoint from its skeleton and splice list (see make_checkpoints.py); NULL when a file is missing. */
static unsigned char *checkpoint(const char *name, size_t *n, char *source, size_t source_n) {
    char path[256], tname[200];
    size_t skel_n, list_n, st_n;
    snprintf(path, sizeof path, "tests/fixtures/torch/%s.skel", name);
    unsigned char *skel = test_read_file(path, &skel_n);
    snprintf(path, sizeof path, "tests/fixtures/torch/%s.splice", name);
    unsigned char *list = test_read_file(path, &list_n);
    if (!skel || !list) return NULL;
    const char *p = (const char *)list;
    int k = 0;
    sscanf(p, "%199s%n", tname, &k);
    p += k;
    snprintf(source, source_n, "tests/fixtures/%s", tname);
    unsigned char *st = test_read_file(source, &st_n);
    const uint64_t hn = xlmr_rd_u64(st);
    st_header h;
    unsigned char *out = malloc(skel_n + 2 * st_n); /* an untied decoder repeats the embedding table */
    size_t o = 0, from = 0;
    unsigned long long off, len;
    if (!st || !out || st_header_parse((const char *)st + 8, (size_t)hn, &h, NULL)) return NULL;
    while (sscanf(p, "%llu %199s %llu%n", &off, tname, &len, &k) == 3) {
        p += k;
        memcpy(out + o, skel + from, (size_t)off - from);
        o += (size_t)off - from;
        from = (size_t)off;
        for (size_t i = 0; i < h.n; i++)
            if (strcmp(h.tensors[i].name, tname) == 0 && h.tensors[i].end - h.tensors[i].begin == len) {
                memcpy(out + o, st + 8 + hn + h.tensors[i].begin, (size_t)len);
                o += (size_t)len;
            }
    }
    memcpy(out + o, skel + from, skel_n - from);
    *n = o + skel_n - from;
    st_header_free(&h);
    free(skel);
    free(list);
    free(st);
    return out;
}

/* Loads bytes in chunks of `chunk` (0: whole); NULL with the error in msg. */
static xlmr_model *load(const unsigned char *b, size_t n, size_t chunk, int dtype, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    size_t at = 0;
    int st = xlmr_loader_status(ld);
    while (!st && at < n) {
        size_t k = chunk ? (chunk < n - at ? chunk : n - at) : n - at;
        st = xlmr_loader_feed(ld, b + at, k);
        at += k;
    }
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* Loads through dest/room/commit, at most `chunk` bytes each time; checks every byte is taken and the total. */
static xlmr_model *load_dest(const unsigned char *b, size_t n, size_t chunk, int dtype) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    size_t at = 0, room;
    while ((room = xlmr_loader_room(ld)) > 0 && at < n) {
        size_t k = room < chunk ? room : chunk;
        if (k > n - at) k = n - at;
        memcpy(xlmr_loader_dest(ld), b + at, k);
        if (xlmr_loader_commit(ld, k)) break;
        at += k;
    }
    CHECK(at == n && xlmr_loader_room(ld) == 0, "consumed %zu of %zu: %s", at, n, xlmr_loader_error(ld));
    CHECK(xlmr_loader_total(ld) == (double)n, "total %g of %zu", xlmr_loader_total(ld), n);
    CHECK(loader_format(ld) == LOADER_FORMAT_TORCH, "format %d", loader_format(ld));
    xlmr_model *m = xlmr_loader_finish(ld);
    CHECK(m != NULL, "load_dest: %s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

static int same_block(const xlmr_model *a, const xlmr_model *b) {
    return a && b && a->weights_size == b->weights_size && memcmp(a->weights_block, b->weights_block, a->weights_size) == 0;
}

static void check_identical(const char *name, int byte_by_byte) {
    char source[256], msg[XLMR_ERROR_MSG_MAX];
    size_t n, st_n;
    unsigned char *b = checkpoint(name, &n, source, sizeof source);
    unsigned char *st = b ? test_read_file(source, &st_n) : NULL;
    CHECK(b && st, "%s: fixture files", name);
    if (!b || !st) return;
    for (int dt = 0; dt < 3; dt++) {
        xlmr_model *ref = load(st, st_n, 0, dt, msg);
        CHECK(ref != NULL, "%s safetensors dtype %d: %s", source, dt, msg);
        const size_t chunks[] = {0, 1, 7, 4096};
        for (int k = 0; k < 4; k++) {
            if (chunks[k] == 1 && (dt != 0 || !byte_by_byte)) continue; /* one byte at a time: a few times is enough */
            xlmr_model *m = load(b, n, chunks[k], dt, msg);
            CHECK(m != NULL, "%s dtype %d chunk %zu: %s", name, dt, chunks[k], msg);
            CHECK(same_block(ref, m), "%s dtype %d chunk %zu: weights block differs from %s", name, dt, chunks[k], source);
            model_free(m);
        }
        xlmr_model *md = load_dest(b, n, 1000, dt);
        CHECK(same_block(ref, md), "%s dtype %d via dest/room", name, dt);
        model_free(md);
        model_free(ref);
    }
    free(b);
    free(st);
}

/* The load fails and the message holds `want`. */
static void check_error(const unsigned char *b, size_t n, size_t chunk, const char *want, const char *what) {
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(b, n, chunk, XLMR_DTYPE_Q8_0, msg);
    CHECK(m == NULL && strstr(msg, want), "%s: expected an error with \"%s\", got \"%s\"", what, want, m ? "a model" : msg);
    model_free(m);
}

static void check_errors(void) {
    char source[256];
    size_t n;
    unsigned char *b = test_read_file("tests/fixtures/torch/evil_global.bin", &n);
    if (b) check_error(b, n, 0, "global posix.system", "a foreign global");
    free(b);
    b = test_read_file("tests/fixtures/torch/legacy.bin", &n);
    if (b) check_error(b, n, 0, "legacy format", "the pre-1.6 format");
    free(b);
    if ((b = checkpoint("f32_short_storage", &n, source, sizeof source)))
        check_error(b, n, 0, "storage is shorter than its tensor", "a short storage");
    free(b);
    if ((b = checkpoint("f32_noncontig", &n, source, sizeof source)))
        check_error(b, n, 0, "non-contiguous view", "a transposed view");
    free(b);
    if ((b = checkpoint("f32_tied", &n, source, sizeof source))) {
        const size_t cuts[] = {0, 4, 29, 100, 2000, 6300, n / 2, n - 200, n - 30, n - 1};
        for (int k = 0; k < 10; k++) {
            char what[64];
            snprintf(what, sizeof what, "cut at %zu of %zu", cuts[k], n);
            check_error(b, cuts[k], 4096, cuts[k] ? "truncated" : "empty", what);
        }
        unsigned char *longer = malloc(n + 3);
        memcpy(longer, b, n);
        memcpy(longer + n, "abc", 3);
        check_error(longer, n + 3, 0, "after the zip's end record", "bytes after the end record");
        check_error(longer, n + 3, n, "longer than", "bytes after the end record, in another write");
        free(longer);
    }
    free(b);
}

/* Streams files[0..n) as the shards of one checkpoint; NULL with the error in msg. */
static xlmr_model *load_shards(unsigned char **files, const size_t *sizes, int n, size_t chunk, int dtype, char *msg) {
    size_t idx_n;
    unsigned char *idx = test_read_file("tests/fixtures/torch/pytorch_model.bin.index.json", &idx_n);
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    int st = xlmr_loader_set_index(ld, (const char *)idx, idx_n);
    for (int f = 0; f < n && !st; f++) {
        if (f) st = xlmr_loader_next_file(ld);
        for (size_t at = 0; !st && at < sizes[f];) {
            size_t k = chunk < sizes[f] - at ? chunk : sizes[f] - at;
            st = xlmr_loader_feed(ld, files[f] + at, k);
            at += k;
        }
    }
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    free(idx);
    return m;
}

/* The sharded pair (embeddings and layer 0, then the rest) against the whole safetensors file; a shard missing or
 * given twice, and next_file before a file's end, are errors. */
static void check_shards(void) {
    char source[256], msg[XLMR_ERROR_MSG_MAX];
    size_t sizes[2], st_n;
    unsigned char *files[2] = {checkpoint("shard_00001", &sizes[0], source, sizeof source),
                               checkpoint("shard_00002", &sizes[1], source, sizeof source)};
    unsigned char *st = test_read_file(source, &st_n);
    CHECK(files[0] && files[1] && st, "shard fixtures");
    if (!files[0] || !files[1] || !st) return;
    for (int dt = 0; dt < 3; dt++) {
        xlmr_model *ref = load(st, st_n, 0, dt, msg);
        const size_t chunks[] = {7, 4096, (size_t)1 << 30};
        for (int k = 0; k < 3; k++) {
            xlmr_model *m = load_shards(files, sizes, 2, chunks[k], dt, msg);
            CHECK(m && same_block(ref, m), "shards dtype %d chunk %zu: %s", dt, chunks[k], m ? "block differs" : msg);
            model_free(m);
        }
        model_free(ref);
    }
    /* the same split as safetensors files, and a safetensors first shard with the .bin second */
    static rw_entry all[64], part[2][64];
    const int n_all = st_entries(st, all, 64);
    int n_part[2] = {0, 0};
    for (int i = 0; i < n_all; i++) {
        const int second = !strstr(all[i].name, "embeddings.") && !strstr(all[i].name, "layer.0.");
        part[second][n_part[second]++] = all[i];
    }
    size_t st_sizes[2];
    unsigned char *st_files[2] = {st_write(part[0], n_part[0], &st_sizes[0]), st_write(part[1], n_part[1], &st_sizes[1])};
    unsigned char *mixed[2] = {st_files[0], files[1]};
    const size_t mixed_sizes[2] = {st_sizes[0], sizes[1]};
    for (int dt = 0; dt < 3; dt += 2) {
        xlmr_model *ref = load(st, st_n, 0, dt, msg), *a = load_shards(st_files, st_sizes, 2, 4096, dt, msg);
        CHECK(a && same_block(ref, a), "safetensors shards dtype %d: %s", dt, a ? "block differs" : msg);
        xlmr_model *b = load_shards(mixed, mixed_sizes, 2, 7, dt, msg);
        CHECK(b && same_block(ref, b), "safetensors + .bin shards dtype %d: %s", dt, b ? "block differs" : msg);
        model_free(ref);
        model_free(a);
        model_free(b);
    }
    free(st_files[0]);
    free(st_files[1]);
    xlmr_model *m = load_shards(files, sizes, 1, 4096, XLMR_DTYPE_Q8_0, msg);
    CHECK(!m && strstr(msg, "is in none of the files"), "one shard of two: %s", msg);
    model_free(m);
    unsigned char *twice[2] = {files[0], files[0]};
    m = load_shards(twice, sizes, 2, 4096, XLMR_DTYPE_Q8_0, msg);
    CHECK(!m && strstr(msg, "in two shards"), "a shard twice: %s", msg);
    model_free(m);
    size_t cut[2] = {sizes[0] / 2, sizes[1]};
    m = load_shards(files, cut, 2, 4096, XLMR_DTYPE_Q8_0, msg);
    CHECK(!m && strstr(msg, "before the current file was complete"), "next_file too early: %s", msg);
    model_free(m);
    free(files[0]);
    free(files[1]);
    free(st);
}

/* Files [0, n) into one loader with an index and a name prefix per file (NULL: none); NULL with the error in msg. */
static xlmr_model *load_prefixed(unsigned char **files, const size_t *sizes, const char *const *prefix, int n,
                                 const char *index, size_t chunk, int dtype, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    int st = xlmr_loader_set_index(ld, index, strlen(index));
    for (int f = 0; f < n && !st; f++) {
        if (f) st = xlmr_loader_next_file(ld);
        if (!st && prefix[f]) st = xlmr_loader_set_file_prefix(ld, prefix[f], strlen(prefix[f]));
        for (size_t at = 0; !st && at < sizes[f];) {
            size_t k = chunk < sizes[f] - at ? chunk : sizes[f] - at;
            st = xlmr_loader_feed(ld, files[f] + at, k);
            at += k;
        }
    }
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* BGE-M3 as the hub ships it (tests/reference/make_m3_hub.py): XLMRobertaModel's pytorch_model.bin, then
 * colbert_linear.pt and sparse_linear.pt ({weight, bias}) under their prefixes, named by an index of the extra files
 * alone, load bit-identical to one safetensors file of the encoder and both heads; a state dict wrapped as
 * {"state_dict": ...} loads, two dicts are a named error, and without the prefix the heads are missing. */
static void check_m3_files(void) {
    static const char index[] = "{\"weight_map\": {\"colbert_linear.weight\": \"colbert_linear.pt\", "
                                "\"colbert_linear.bias\": \"colbert_linear.pt\", \"sparse_linear.weight\": "
                                "\"sparse_linear.pt\", \"sparse_linear.bias\": \"sparse_linear.pt\"}}";
    static const char *const prefixes[3] = {NULL, "colbert_linear.", "sparse_linear."};
    char source[256], msg[XLMR_ERROR_MSG_MAX];
    size_t sizes[3], enc_n, head_n, wrapped_n, two_n;
    unsigned char *files[3] = {checkpoint("../heads/m3/hub/pytorch_model", &sizes[0], source, sizeof source),
                               test_read_file("tests/fixtures/heads/m3/hub/colbert_linear.pt", &sizes[1]),
                               test_read_file("tests/fixtures/heads/m3/hub/sparse_linear.pt", &sizes[2])};
    unsigned char *enc = test_read_file("tests/fixtures/model.safetensors", &enc_n);
    unsigned char *head = test_read_file("tests/fixtures/heads/m3/head.safetensors", &head_n);
    unsigned char *wrapped = test_read_file("tests/fixtures/heads/m3/hub/colbert_linear.wrapped.pt", &wrapped_n);
    unsigned char *two = test_read_file("tests/fixtures/heads/m3/hub/colbert_linear.two.pt", &two_n);
    CHECK(files[0] && files[1] && files[2] && enc && head && wrapped && two, "m3 hub fixtures");
    if (!files[0] || !files[1] || !files[2] || !enc || !head || !wrapped || !two) return;
    static rw_entry all[260];
    int n = 0;
    const int n_enc = st_entries(enc, all, 250);
    for (int i = 0; i < n_enc; i++)
        if (strncmp(all[i].name, "lm_head.", 8) != 0) all[n++] = all[i];
    n += st_entries(head, all + n, 8);
    size_t one_n;
    unsigned char *one = st_write(all, n, &one_n);
    for (int dt = 0; dt < 3; dt += 2) {
        xlmr_model *ref = load(one, one_n, 0, dt, msg);
        CHECK(ref && ref->config.head == XLMR_HEAD_M3, "single-file m3 dtype %d: %s", dt, msg);
        const size_t chunks[] = {7, (size_t)1 << 30};
        for (int k = 0; k < 2; k++) {
            xlmr_model *m = load_prefixed(files, sizes, prefixes, 3, index, chunks[k], dt, msg);
            CHECK(m && m->config.head == XLMR_HEAD_M3 && same_block(ref, m), "m3 files dtype %d chunk %zu: %s", dt,
                  chunks[k], m ? "block differs" : msg);
            model_free(m);
        }
        unsigned char *w[3] = {files[0], wrapped, files[2]};
        const size_t ws[3] = {sizes[0], wrapped_n, sizes[2]};
        xlmr_model *m = load_prefixed(w, ws, prefixes, 3, index, 4096, dt, msg);
        CHECK(m && same_block(ref, m), "wrapped {\"state_dict\": ...}: %s", m ? "block differs" : msg);
        model_free(m);
        model_free(ref);
    }
    unsigned char *w[3] = {files[0], two, files[2]};
    const size_t ws[3] = {sizes[0], two_n, sizes[2]};
    xlmr_model *m = load_prefixed(w, ws, prefixes, 3, index, 4096, XLMR_DTYPE_F32, msg);
    CHECK(!m && strstr(msg, "2 dicts ('model' first)"), "two state dicts: %s", msg);
    model_free(m);
    static const char *const none[3] = {NULL, NULL, NULL};
    m = load_prefixed(files, sizes, none, 3, index, 4096, XLMR_DTYPE_F32, msg);
    CHECK(!m && strstr(msg, "colbert_linear.weight"), "no prefix: %s", msg);
    model_free(m);
    for (int i = 0; i < 3; i++) free(files[i]);
    free(one);
    free(enc);
    free(head);
    free(wrapped);
    free(two);
}

int main(void) {
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!cfg || !spm) return 1;
    const char *same[] = {"f32_tied", "f32_untied", "f16_tied", "bf16_tied", "f32_sliced", "f32_rezip"};
    for (int i = 0; i < 6; i++) check_identical(same[i], i == 0 || i == 5);
    check_errors();
    check_shards();
    check_m3_files();
    free(cfg);
    free(spm);
    return test_report("test_torch");
}
