/* loader_inputs.c — what the host gives the loader beside the weights (config.json, the tokenizer as a .model or a
 * tokenizer.json, a sentence-transformers pooling config), and the hint a rejected file's first bytes give. */
#include "loader_internal.h"

#include <stdio.h>

#include "labels.h"

/* What the first bytes of a rejected file look like, for the message: servers answer a wrong URL with an
 * HTML page and status 200, and people point at the wrong file of a model repo. NULL: nothing recognisable. */
static const char *ld_looks_like(const uint8_t *b, size_t n, int want_json) {
    size_t i = 0;
    if (!b) return NULL;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) i = 3; /* UTF-8 BOM */
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) i++;
    if (i == n) return n ? "blank text" : NULL;
    if (b[i] == '<') return "an HTML or XML page (an error or login page served instead of the file? check the URL)";
    if (!want_json && (b[i] == '{' || b[i] == '[')) return "JSON, not a model file";
    if (n - i >= 4 && memcmp(b + i, "\x89PNG", 4) == 0) return "a PNG image";
    if (n - i >= 2 && b[i] == 0x80 && b[i + 1] >= 2 && b[i + 1] <= 5)
        return "a Python pickle (a PyTorch checkpoint in the format before torch 1.6? save it again with torch.save, "
               "or as safetensors)";
    if (n - i >= 4 && memcmp(b + i, "\x1f\x8b", 2) == 0) return "gzip-compressed data (decompress it first)";
    return NULL;
}

/* Appends "; the bytes look like ..." to the loader's message when they do. */
void ld_hint(xlmr_loader *ld, const uint8_t *b, size_t n, int want_json) {
    const char *what = ld_looks_like(b, n, want_json);
    if (!what) return;
    char msg[XLMR_ERROR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", ld->err.msg);
    xlmr_fail(&ld->err, ld->err.code ? ld->err.code : XLMR_ERR_FORMAT, "%s; the bytes look like %s", msg, what);
}

/* The checks every host input shares: a loader that has not failed, bytes given (or none), and -- when before_weights
 * -- no weight byte read yet. -1 to go on, else the status to return. */
static int host_input(xlmr_loader *ld, const void *bytes, size_t n, const char *what, int before_weights) {
    if (!ld) return XLMR_ERR_ARG;
    if (ld->phase == LD_FAILED) return ld->status;
    if (before_weights && (ld->phase != LD_DETECT || ld->hlen)) {
        xlmr_fail(&ld->err, XLMR_ERR_STATE, "%s must be given before the weights", what);
        return ld_fail(ld);
    }
    if (!bytes && n) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "%s: NULL bytes of length %zu", what, n);
        return ld_fail(ld);
    }
    return -1;
}

int xlmr_loader_set_config(xlmr_loader *ld, const char *json, size_t n) {
    const int st = host_input(ld, json, n, "config.json", 1);
    if (st >= 0) return st;
    labels_free(&ld->labels);
    if (config_from_hf_json(json, n, &ld->hf, &ld->labels, &ld->err) != XLMR_OK) {
        if (ld->err.code == XLMR_ERR_FORMAT) ld_hint(ld, (const uint8_t *)json, n, 1);
        return ld_fail(ld);
    }
    ld->have_config = 1;
    return XLMR_OK;
}

int xlmr_loader_set_pooling(xlmr_loader *ld, const char *json, size_t n, int normalize) {
    const int st = host_input(ld, json, n, "the pooling config.json", 1);
    if (st >= 0) return st;
    if (config_pooling_from_st_json(json, n, &ld->pooling, &ld->err) != XLMR_OK) return ld_fail(ld);
    ld->normalize = normalize != 0;
    return XLMR_OK;
}

int xlmr_loader_set_embedding_type(xlmr_loader *ld, int dtype) {
    const int st = host_input(ld, NULL, 0, "the embedding type", 1);
    if (st >= 0) return st;
    if (dtype < -1 || dtype > XLMR_DTYPE_Q4_0) {
        xlmr_fail(&ld->err, XLMR_ERR_ARG, "unknown embedding type %d", dtype);
        return ld_fail(ld);
    }
    ld->embedding_dtype = dtype;
    return XLMR_OK;
}

/* The tokenizer built from the host's bytes by the constructor for their format replaces any earlier one; its error
 * becomes the loader's (prefix: what to put before the constructor's message). */
static int take_tokenizer(xlmr_loader *ld, xlmr_status st, tok_tokenizer *t, const xlmr_error *e, const char *prefix,
                          const uint8_t *bytes, size_t n) {
    if (st != XLMR_OK) {
        xlmr_fail(&ld->err, e->code ? e->code : XLMR_ERR_FORMAT, "%s%s", prefix, e->msg);
        if (*prefix && ld->err.code == XLMR_ERR_FORMAT) ld_hint(ld, bytes, n, 0);
        return ld_fail(ld);
    }
    tok_free(ld->tok);
    ld->tok = t;
    return XLMR_OK;
}

int xlmr_loader_set_tokenizer(xlmr_loader *ld, const uint8_t *bytes, size_t n) {
    const int st = host_input(ld, bytes, n, "tokenizer model", 0);
    if (st >= 0) return st;
    tok_tokenizer *t = NULL;
    xlmr_error e = {0};
    return take_tokenizer(ld, tok_from_spm_model(bytes, n, &t, &e), t, &e, "tokenizer model: ", bytes, n);
}

int xlmr_loader_set_tokenizer_json(xlmr_loader *ld, const char *json, size_t n) {
    const int st = host_input(ld, json, n, "tokenizer.json", 0);
    if (st >= 0) return st;
    tok_tokenizer *t = NULL;
    xlmr_error e = {0};
    return take_tokenizer(ld, tok_from_hf_json(json, n, &t, &e), t, &e, "", (const uint8_t *)json, n);
}
