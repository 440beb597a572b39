/* tokdiff.c — compares tok_encode with the reference ids written by tokdiff_gen.py (developer tool).
 *   tokdiff CASES.jsonl MODEL   -> "N/M differ", exit status 1 on any difference */
#include "../c/test.h"
#include "json.h"
#include "tokenizer.h"

static int hexval(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s CASES.jsonl MODEL\n", argv[0]);
        return 2;
    }
    size_t n, len;
    unsigned char *model = test_read_file(argv[2], &n);
    char *text = (char *)test_read_file(argv[1], &len);
    tok_tokenizer *t = NULL;
    xlmr_error err = {0};
    if (!model || !text || tok_from_spm_model(model, n, &t, &err)) {
        fprintf(stderr, "load: %s\n", err.msg);
        return 1;
    }
    tok_ids ids = {0};
    int bad = 0, total = 0;
    for (char *line = text; line < text + len;) {
        char *nl = memchr(line, '\n', (size_t)(text + len - line));
        size_t ll = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
        json_doc *doc;
        if (json_parse(line, ll, &doc, &err)) {
            fprintf(stderr, "json: %s\n", err.msg);
            return 1;
        }
        line += ll + 1;
        const json_value *c = json_root(doc), *hx = json_get(c, "hex"), *want = json_get(c, "ids");
        size_t bl = hx->len / 2;
        unsigned char *b = malloc(bl + 1);
        for (size_t i = 0; i < bl; i++) b[i] = (unsigned char)(hexval(hx->str[2 * i]) << 4 | hexval(hx->str[2 * i + 1]));
        if (tok_encode(t, (const char *)b, bl, 0, &ids, &err)) {
            fprintf(stderr, "encode: %s\n", err.msg);
            return 1;
        }
        int same = ids.n == want->len;
        for (size_t i = 0; same && i < ids.n; i++) same = ids.ids[i] == (int32_t)want->items[i].number;
        total++;
        if (!same && bad++ < 10) {
            printf("DIFF hex=%s\n  got: ", hx->str);
            for (size_t i = 0; i < ids.n; i++) printf(" %d", (int)ids.ids[i]);
            printf("\n  want:");
            for (size_t i = 0; i < want->len; i++) printf(" %d", (int)want->items[i].number);
            printf("\n");
        }
        free(b);
        json_free(doc);
    }
    printf("%d/%d differ\n", bad, total);
    tok_ids_free(&ids);
    tok_free(t);
    free(text);
    free(model);
    return bad != 0;
}
