/* fuzz_tok_encode.c — arbitrary bytes through the tokenizer of the fixture model (encode, pair form,
 * truncation, decode with and without special tokens). libFuzzer runs from the repository root. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static tok_tokenizer *g_tok; /* test code: loaded once per process */

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    FILE *f = fopen("tests/fixtures/sentencepiece.bpe.model", "rb");
    if (!f) {
        fprintf(stderr, "fuzz_tok_encode: run from the repository root (tests/fixtures/sentencepiece.bpe.model)\n");
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) exit(1);
    fclose(f);
    xlmr_error err;
    if (tok_from_spm_model(buf, (size_t)n, &g_tok, &err) != XLMR_OK) {
        fprintf(stderr, "fuzz_tok_encode: %s\n", err.msg);
        exit(1);
    }
    free(buf);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const tok_tokenizer *t = g_tok;
    const int32_t V = tok_vocab_size(t);
    tok_ids ids = {0}, cut = {0};
    tok_text text = {0};
    xlmr_error err;
    if (tok_encode(t, (const char *)data, size, 0, &ids, &err) != XLMR_OK) __builtin_trap();
    if (ids.n < 2 || ids.ids[0] != tok_bos_id(t) || ids.ids[ids.n - 1] != tok_eos_id(t)) __builtin_trap();
    for (size_t i = 0; i < ids.n; i++)
        if (ids.ids[i] < 0 || ids.ids[i] >= V) __builtin_trap();
    /* truncation keeps a prefix and </s> */
    int max_len = 2 + (size ? data[0] % 16 : 0);
    if (tok_encode(t, (const char *)data, size, max_len, &cut, &err) != XLMR_OK) __builtin_trap();
    if (cut.n != (ids.n < (size_t)max_len ? ids.n : (size_t)max_len) || cut.ids[cut.n - 1] != tok_eos_id(t) ||
        memcmp(cut.ids, ids.ids, (cut.n - 1) * sizeof(int32_t)) != 0)
        __builtin_trap();
    if (tok_decode(t, ids.ids, ids.n, 0, &text, &err) != XLMR_OK || text.s[text.n] != 0) __builtin_trap();
    if (tok_decode(t, ids.ids, ids.n, 1, &text, &err) != XLMR_OK) __builtin_trap();
    size_t half = size / 2;
    if (tok_encode_pair(t, (const char *)data, half, (const char *)data + half, size - half, size ? 4 + data[size - 1] % 32 : 0, &cut,
                        &err) != XLMR_OK)
        __builtin_trap();
    if (cut.n < 4) __builtin_trap();
    /* offsets: the same ids, spans ordered within the text's UTF-16 length; pair windows within max_len */
    tok_ids offs = {0};
    if (tok_encode_offsets(t, (const char *)data, size, 0, size & 1, &cut, &offs, &err) != XLMR_OK || cut.n != ids.n || offs.n != 2 * ids.n ||
        memcmp(cut.ids, ids.ids, ids.n * sizeof(int32_t)) != 0)
        __builtin_trap();
    for (size_t i = 0; i < ids.n; i++)
        if (offs.ids[2 * i] < 0 || offs.ids[2 * i] > offs.ids[2 * i + 1] || (size_t)offs.ids[2 * i + 1] > size) __builtin_trap();
    tok_windows w = {0};
    const int win_len = 5 + (size ? data[0] % 24 : 0), stride = size > 1 ? data[1] % 6 - 1 : -1;
    xlmr_status st = tok_encode_pair_windows(t, (const char *)data, half, (const char *)data + half, size - half, win_len, 1 + (size & 1), stride,
                                             TOK_OFFSETS_TRIMMED, &w, &err);
    if (st != XLMR_OK && st != XLMR_ERR_TOO_LONG && st != XLMR_ERR_ARG) __builtin_trap();
    for (size_t k = 0; st == XLMR_OK && k < w.n; k++)
        if (w.starts.ids[k + 1] - w.starts.ids[k] > win_len) __builtin_trap();
    tok_windows_free(&w);
    tok_ids_free(&offs);
    tok_ids_free(&ids);
    tok_ids_free(&cut);
    tok_text_free(&text);
    return 0;
}
