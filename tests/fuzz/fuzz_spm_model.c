/* fuzz_spm_model.c — SentencePiece model files from arbitrary bytes: the reader and the tokenizer built
 * on it must return an error or a working tokenizer, never crash, leak or hang. A tokenizer that loads
 * is exercised on a few texts (encode, pair, truncation, decode). */
#include <stdint.h>
#include <string.h>

#include "tokenizer.h"

static const char *const kTexts[] = {
    "Hello   world, <mask> the \xef\xac\x81nancial A\xc2\xa0\x41\x42 ab", "<s> x </s>\t<pad><unk>", "\xff\xfe \xe2\x96\x81\xe2\x96\x81 e\xcc\x81",
    "",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tok_tokenizer *t = NULL;
    xlmr_error err;
    if (tok_from_spm_model(data, size, &t, &err) != XLMR_OK) {
        if (err.msg[0] == 0) __builtin_trap(); /* every error has a message */
        return 0;
    }
    tok_ids ids = {0};
    tok_text text = {0};
    for (size_t i = 0; i < sizeof kTexts / sizeof *kTexts; i++) {
        const char *s = kTexts[i];
        if (tok_encode(t, s, strlen(s), 0, &ids, &err) == XLMR_OK) {
            for (size_t k = 0; k < ids.n; k++)
                if (ids.ids[k] < 0 || ids.ids[k] >= tok_vocab_size(t)) __builtin_trap();
            tok_decode(t, ids.ids, ids.n, (int)(i & 1), &text, &err);
        }
        tok_encode_pair(t, s, strlen(s), kTexts[0], strlen(kTexts[0]), 8, &ids, &err);
    }
    tok_vocab_desc d;
    tok_export_vocab(t, &d);
    tok_tokenizer *t2 = NULL;
    if (tok_from_vocab(&d, &t2, &err) != XLMR_OK) __builtin_trap(); /* an exported vocabulary always reloads */
    tok_free(t2);
    tok_ids_free(&ids);
    tok_text_free(&text);
    tok_free(t);
    return 0;
}
