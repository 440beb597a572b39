/* make_gguf_seeds.c — run by make_weight_seeds.py: loads the tiny safetensors seeds with the streaming
 * loader and writes them as GGUF (Q8_0, F16, F32) into the GGUF and loader fuzzers' corpora.
 *   make_gguf_seeds <dir with a_f16.safetensors, b_f16.safetensors, config_{a,b}.json, spm.model> <corpus dir> */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "xlmr.h"

static unsigned char *slurp(const char *dir, const char *name, size_t *n) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)len + 1);
    if (fread(b, 1, (size_t)len, f) != (size_t)len) len = 0;
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void emit(const char *corpus, const char *fuzzer, const char *name, const unsigned char *pre, size_t npre,
                 xlmr_model *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", corpus, fuzzer, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fwrite(pre, 1, npre, f);
    xlmr_writer *w = xlmr_writer_new(m);
    const uint8_t *p;
    while ((p = xlmr_writer_chunk(w)) && xlmr_writer_chunk_len(w)) fwrite(p, 1, xlmr_writer_chunk_len(w), f);
    xlmr_writer_free(w);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    size_t nspm, ncfg, nst;
    unsigned char *model = slurp(argv[1], "spm.model", &nspm);
    const char *names[2][2] = {{"a_f16.safetensors", "config_a.json"}, {"b_f16.safetensors", "config_b.json"}};
    const char *dtn[3] = {"q8_0", "f16", "f32"};
    for (int k = 0; k < 2; k++)
        for (int dt = 0; dt < 3; dt++) {
            unsigned char *cfg = slurp(argv[1], names[k][1], &ncfg), *st = slurp(argv[1], names[k][0], &nst);
            xlmr_loader *ld = xlmr_loader_new(dt);
            xlmr_loader_set_config(ld, (const char *)cfg, ncfg);
            xlmr_loader_set_tokenizer(ld, model, nspm);
            xlmr_loader_feed(ld, st, nst);
            xlmr_model *m = xlmr_loader_finish(ld);
            if (!m) {
                fprintf(stderr, "%s: %s\n", names[k][0], xlmr_loader_error(ld));
                return 1;
            }
            char name[64];
            snprintf(name, sizeof name, "%c_%s.gguf", "ab"[k], dtn[dt]);
            emit(argv[2], "fuzz_gguf", name, NULL, 0, m);
            if (dt != 2) {
                unsigned char pre[5] = {(unsigned char)(dt | (k ? 4 : 0) | 8), (unsigned char)(31 * (dt + 1)), 1, 0, 0};
                snprintf(name, sizeof name, "%c_%s_gguf.bin", "ab"[k], dtn[dt]);
                emit(argv[2], "fuzz_loader", name, pre, sizeof pre, m);
            }
            model_free(m);
            xlmr_loader_free(ld);
            free(cfg);
            free(st);
        }
    free(model);
    return 0;
}
