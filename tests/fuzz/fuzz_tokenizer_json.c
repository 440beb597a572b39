/* fuzz_tokenizer_json.c — Hugging Face tokenizer.json files from arbitrary bytes: the reader (JSON, base64, the
 * pipeline's layouts) and the tokenizer built from it must return an error with a message or a working tokenizer,
 * never crash, leak or hang. A tokenizer that loads is exercised on a few texts (encode, offsets by its file's rule,
 * pair windows by its template, decode) and its exported vocabulary reloads. Seeds: corpus/fuzz_tokenizer_json/,
 * the fuzz_spm_model seeds converted by tests/tokdiff/make_tokenizer_json.py --model. */
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

static const char *const kTexts[] = {
    "Hello   world, <mask> the \xef\xac\x81nancial A\xc2\xa0\x41\x42 ab", "<s> x </s>\t<pad><unk>", "\xff\xfe \xe2\x96\x81\xe2\x96\x81 e\xcc\x81",
    "",
};

static void exercise(const tok_tokenizer *t) {
    xlmr_error err;
    tok_ids ids = {0}, offsets = {0};
    tok_text text = {0};
    tok_windows w = {0};
    for (size_t i = 0; i < sizeof kTexts / sizeof *kTexts; i++) {
        const char *s = kTexts[i];
        if (tok_encode_offsets(t, s, strlen(s), 0, tok_offsets_rule(t), &ids, &offsets, &err) == XLMR_OK) {
            if (offsets.n != 2 * ids.n) __builtin_trap();
            for (size_t k = 0; k < ids.n; k++)
                if (ids.ids[k] < 0 || ids.ids[k] >= tok_vocab_size(t)) __builtin_trap();
            tok_decode(t, ids.ids, ids.n, (int)(i & 1), &text, &err);
        }
        tok_encode_pair_windows(t, s, strlen(s), kTexts[0], strlen(kTexts[0]), 9, TOK_TRUNC_ONLY_SECOND, 1, tok_offsets_rule(t), &w, &err);
        tok_encode_pair(t, s, strlen(s), kTexts[0], strlen(kTexts[0]), 8, &ids, &err);
    }
    tok_windows_free(&w);
    tok_ids_free(&ids);
    tok_ids_free(&offsets);
    tok_text_free(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tok_tokenizer *t = NULL;
    xlmr_error err;
    if (tok_from_hf_json((const char *)data, size, &t, &err) != XLMR_OK) {
        if (err.msg[0] == 0 || t) __builtin_trap(); /* every error has a message and builds nothing */
        return 0;
    }
    exercise(t);
    tok_vocab_desc d;
    tok_export_vocab(t, &d);
    tok_tokenizer *t2 = NULL;
    if (tok_from_vocab(&d, &t2, &err) != XLMR_OK) __builtin_trap(); /* an exported vocabulary always reloads */
    tok_free(t2);
    tok_free(t);
    return 0;
}
