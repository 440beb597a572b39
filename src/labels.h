/* labels.h — the output names of a classification head (xlmr_labels, model.h): built from config.json's id2label
 * or GGUF's string array, defaulted to transformers' "LABEL_i", read back by index. */
#ifndef XLMR_LABELS_H
#define XLMR_LABELS_H

#include "model.h"

#define LABELS_MAX 65536   /* more outputs than any classifier has: a hostile count is refused */
#define LABEL_MAX_BYTES 1024

/* An empty set (n = 0, text NULL). */
void labels_init(xlmr_labels *l);
void labels_free(xlmr_labels *l);
/* n names from names[i] / lens[i] (no NUL inside a name, each at most LABEL_MAX_BYTES). */
xlmr_status labels_set(xlmr_labels *l, int n, const char *const *names, const size_t *lens, xlmr_error *err);
/* "LABEL_0" ... "LABEL_{n-1}", as transformers names labels a config does not. */
xlmr_status labels_default(xlmr_labels *l, int n, xlmr_error *err);
/* Name i (0 <= i < n), NUL-terminated; its byte length in *len when len is given. O(i): walk l->text (each name
 * followed by its NUL) to visit them all. */
const char *labels_get(const xlmr_labels *l, int i, size_t *len);

#endif
