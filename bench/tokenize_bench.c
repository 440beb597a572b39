/* tokenize_bench.c — tokenizer throughput (MB/s of UTF-8 input, one thread): tok_encode on every line
 * of a text file, the file repeated until about TARGET_MB, best of several passes. Built natively and
 * as wasm32-wasi (run under Node's WASI) by bench/tokenize_bench.mjs.
 *
 *   tokenize_bench MODEL TEXT [TARGET_MB]
 * prints one JSON line: {"mb_per_s":…, "bytes":…, "ids":…, "checksum":…, "load_ms":…} */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL TEXT [TARGET_MB]\n", argv[0]);
        return 2;
    }
    double target_mb = argc > 3 ? atof(argv[3]) : 4.0;
    size_t model_len, text_len;
    unsigned char *model = read_file(argv[1], &model_len);
    char *text = (char *)read_file(argv[2], &text_len);
    if (!model || !text) {
        fprintf(stderr, "cannot read %s or %s\n", argv[1], argv[2]);
        return 1;
    }
    tok_tokenizer *t = NULL;
    xlmr_error err;
    double t0 = now_s();
    if (tok_from_spm_model(model, model_len, &t, &err) != XLMR_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double load_ms = 1e3 * (now_s() - t0);
    free(model);

    /* lines (without '\n') */
    size_t n_lines = 0, cap = 1024;
    const char **lines = malloc(cap * sizeof *lines);
    size_t *lens = malloc(cap * sizeof *lens);
    for (char *p = text; p < text + text_len;) {
        char *nl = memchr(p, '\n', (size_t)(text + text_len - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(text + text_len - p);
        if (n_lines == cap) {
            cap *= 2;
            lines = realloc(lines, cap * sizeof *lines);
            lens = realloc(lens, cap * sizeof *lens);
        }
        lines[n_lines] = p;
        lens[n_lines++] = l;
        p += l + 1;
    }
    size_t pass_bytes = 0;
    for (size_t i = 0; i < n_lines; i++) pass_bytes += lens[i];
    int repeats = (int)(target_mb * 1e6 / (double)pass_bytes) + 1;

    tok_ids ids = {0};
    double best = 1e30;
    unsigned long long checksum = 0, n_ids = 0;
    for (int run = 0; run < 3; run++) {
        unsigned long long sum = 0, count = 0;
        double s = now_s();
        for (int r = 0; r < repeats; r++)
            for (size_t i = 0; i < n_lines; i++) {
                if (tok_encode(t, lines[i], lens[i], 0, &ids, &err) != XLMR_OK) {
                    fprintf(stderr, "%s\n", err.msg);
                    return 1;
                }
                for (size_t k = 0; k < ids.n; k++) sum = sum * 31 + (unsigned)ids.ids[k];
                count += ids.n;
            }
        double dt = now_s() - s;
        if (dt < best) best = dt;
        checksum = sum;
        n_ids = count;
    }
    /* checksum of one pass, comparable with the reference's */
    unsigned long long one = 0;
    for (size_t i = 0; i < n_lines; i++) {
        tok_encode(t, lines[i], lens[i], 0, &ids, &err);
        for (size_t k = 0; k < ids.n; k++) one = (one * 1000003ull + (unsigned)ids.ids[k]) % 1000000007ull;
    }
    double bytes = (double)pass_bytes * repeats;
    printf("{\"mb_per_s\": %.3f, \"bytes\": %.0f, \"ids\": %llu, \"seconds\": %.4f, \"load_ms\": %.1f, \"checksum\": %llu, \"run_checksum\": %llu}\n",
           bytes / best / 1e6, bytes, n_ids, best, load_ms, one, checksum);
    tok_ids_free(&ids);
    tok_free(t);
    free(lines);
    free(lens);
    free(text);
    return 0;
}
