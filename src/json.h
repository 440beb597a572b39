/* json.h — a small strict JSON reader (RFC 8259) for config.json, safetensors headers and test fixtures.
 * Parses into a tree of json_value allocated in one arena; strings are decoded to UTF-8 and NUL-terminated.
 * Depth is limited so hostile input cannot exhaust the stack. */
#ifndef XLMR_JSON_H
#define XLMR_JSON_H

#include "common.h"

typedef enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type;

typedef struct json_value {
    json_type type;
    double number;             /* JSON_NUMBER */
    const char *str;           /* JSON_STRING: decoded UTF-8, NUL-terminated (may contain NUL: use len) */
    size_t len;                /* JSON_STRING: bytes; JSON_ARRAY / JSON_OBJECT: element count */
    struct json_value *items;  /* JSON_ARRAY / JSON_OBJECT: elements (object values) */
    const char **keys;         /* JSON_OBJECT: keys, same order as items */
    size_t *key_lens;
} json_value;

typedef struct json_doc json_doc;

#define JSON_MAX_DEPTH 64

/* Parses text[0..n). On error returns NULL status in err with the byte offset of the problem. */
xlmr_status json_parse(const char *text, size_t n, json_doc **out, xlmr_error *err);
const json_value *json_root(const json_doc *doc);
void json_free(json_doc *doc);

/* Object member by key (first match) or NULL; NULL-safe on obj. */
const json_value *json_get(const json_value *obj, const char *key);
/* Numeric / string helpers: return 1 if present with the right type. */
int json_get_number(const json_value *obj, const char *key, double *out);
int json_get_int(const json_value *obj, const char *key, int64_t *out); /* must be integral */

#endif
