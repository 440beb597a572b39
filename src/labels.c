/* labels.c — see labels.h. */
#include "labels.h"

#include <stdio.h>

void labels_init(xlmr_labels *l) { memset(l, 0, sizeof *l); }

void labels_free(xlmr_labels *l) {
    XLMR_FREE(l->text);
    labels_init(l);
}

xlmr_status labels_set(xlmr_labels *l, int n, const char *const *names, const size_t *lens, xlmr_error *err) {
    if (n < 0 || n > LABELS_MAX) return xlmr_fail(err, XLMR_ERR_FORMAT, "%d labels; at most %d are supported", n, LABELS_MAX);
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        if (lens[i] > LABEL_MAX_BYTES || memchr(names[i], 0, lens[i]))
            return xlmr_fail(err, XLMR_ERR_FORMAT, "label %d is longer than %d bytes or holds a NUL byte", i, LABEL_MAX_BYTES);
        len += lens[i] + 1;
    }
    char *text = XLMR_MALLOC(len ? len : 1);
    if (!text) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %d labels", n);
    for (size_t i = 0, at = 0; i < (size_t)n; at += lens[i] + 1, i++) {
        memcpy(text + at, names[i], lens[i]);
        text[at + lens[i]] = '\0';
    }
    labels_free(l);
    l->n = n;
    l->text = text;
    l->len = len;
    return XLMR_OK;
}

xlmr_status labels_default(xlmr_labels *l, int n, xlmr_error *err) {
    if (n < 0 || n > LABELS_MAX) return xlmr_fail(err, XLMR_ERR_FORMAT, "%d labels; at most %d are supported", n, LABELS_MAX);
    char *text = XLMR_MALLOC((size_t)n * 13 + 1); /* "LABEL_65535" and its NUL */
    if (!text) return xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %d labels", n);
    size_t at = 0;
    for (int i = 0; i < n; i++) at += (size_t)snprintf(text + at, 13, "LABEL_%d", i) + 1;
    labels_free(l);
    l->n = n;
    l->text = text;
    l->len = at;
    return XLMR_OK;
}

const char *labels_get(const xlmr_labels *l, int i, size_t *len) {
    const char *p = l->text;
    for (int k = 0; k < i; k++) p += strlen(p) + 1;
    if (len) *len = strlen(p);
    return p;
}
