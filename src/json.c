#include "json.h"

#include <math.h>
#include <stdlib.h>

/* Two passes would avoid reallocations, but files here are small except the test fixtures; a growing
 * child vector per container is simple and bounded by the input size. All nodes and strings live in
 * chunks owned by the doc, freed together. */

typedef struct json_chunk {
    struct json_chunk *next;
    size_t used, cap;
    /* data follows */
} json_chunk;

struct json_doc {
    json_value root;
    json_chunk *chunks;
};

typedef struct json_parser {
    const char *p, *start, *end;
    json_doc *doc;
    xlmr_error *err;
    xlmr_status status;
} json_parser;

static void *json_arena_alloc(json_parser *ps, size_t n) {
    n = (n + 15) & ~(size_t)15;
    json_chunk *c = ps->doc->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        c = XLMR_MALLOC(sizeof(json_chunk) + 16 + cap);
        if (!c) {
            ps->status = xlmr_fail(ps->err, XLMR_ERR_NOMEM, "json: out of memory");
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = ps->doc->chunks;
        ps->doc->chunks = c;
    }
    void *r = (char *)(c + 1) + 16 + c->used;
    c->used += n;
    return r;
}

static int json_error(json_parser *ps, const char *what) {
    if (ps->status == XLMR_OK)
        ps->status = xlmr_fail(ps->err, XLMR_ERR_FORMAT, "json: %s at byte %zu", what, (size_t)(ps->p - ps->start));
    return 0;
}

static void json_skip_ws(json_parser *ps) {
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')) ps->p++;
}

static int json_hex4(json_parser *ps, uint32_t *out) {
    if (ps->end - ps->p < 4) return json_error(ps, "truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = ps->p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return json_error(ps, "bad \\u escape");
    }
    ps->p += 4;
    *out = v;
    return 1;
}

static size_t json_put_utf8(char *o, uint32_t cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xc0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote. Decoded text is never longer than the source text. */
static int json_string(json_parser *ps, const char **out, size_t *out_len) {
    ps->p++;
    const char *s = ps->p;
    while (s < ps->end && *s != '"') s += (*s == '\\' && s + 1 < ps->end) ? 2 : 1;
    if (s >= ps->end) return json_error(ps, "unterminated string");
    char *o = json_arena_alloc(ps, (size_t)(s - ps->p) + 1);
    if (!o) return 0;
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) return json_error(ps, "control character in string");
        if (c != '\\') { o[n++] = (char)c; ps->p++; continue; }
        ps->p++;
        char e = *ps->p++;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (!json_hex4(ps, &cp)) return 0;
            if (cp >= 0xd800 && cp < 0xdc00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                const char *save = ps->p;
                uint32_t lo;
                ps->p += 2;
                if (!json_hex4(ps, &lo)) return 0;
                if (lo >= 0xdc00 && lo < 0xe000) cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                else ps->p = save;
            }
            if (cp >= 0xd800 && cp < 0xe000) cp = 0xfffd; /* lone surrogate */
            n += json_put_utf8(o + n, cp);
            break;
        }
        default: return json_error(ps, "bad escape");
        }
    }
    ps->p++;
    o[n] = 0;
    *out = o;
    *out_len = n;
    return 1;
}

static int json_number(json_parser *ps, double *out) {
    const char *s = ps->p;
    if (s < ps->end && *s == '-') s++;
    if (s >= ps->end || !(*s >= '0' && *s <= '9')) return json_error(ps, "bad number");
    if (*s == '0') s++;
    else while (s < ps->end && *s >= '0' && *s <= '9') s++;
    if (s < ps->end && *s == '.') {
        s++;
        if (s >= ps->end || !(*s >= '0' && *s <= '9')) return json_error(ps, "bad number");
        while (s < ps->end && *s >= '0' && *s <= '9') s++;
    }
    if (s < ps->end && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < ps->end && (*s == '+' || *s == '-')) s++;
        if (s >= ps->end || !(*s >= '0' && *s <= '9')) return json_error(ps, "bad number");
        while (s < ps->end && *s >= '0' && *s <= '9') s++;
    }
    char buf[64];
    size_t len = (size_t)(s - ps->p);
    if (len >= sizeof buf) {
        /* very long numbers: strtod needs a NUL-terminated copy */
        char *tmp = XLMR_MALLOC(len + 1);
        if (!tmp) return json_error(ps, "out of memory");
        memcpy(tmp, ps->p, len);
        tmp[len] = 0;
        *out = strtod(tmp, NULL);
        XLMR_FREE(tmp);
    } else {
        memcpy(buf, ps->p, len);
        buf[len] = 0;
        *out = strtod(buf, NULL);
    }
    ps->p = s;
    return 1;
}

static int json_literal(json_parser *ps, const char *lit, json_type t, json_value *v) {
    size_t n = strlen(lit);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, lit, n) != 0) return json_error(ps, "unexpected token");
    ps->p += n;
    v->type = t;
    return 1;
}

typedef struct json_vec {
    json_value *items;
    const char **keys;
    size_t *key_lens;
    size_t n, cap;
} json_vec;

static void json_vec_free(json_vec *v) {
    XLMR_FREE(v->items);
    XLMR_FREE(v->keys);
    XLMR_FREE(v->key_lens);
}

static json_value *json_vec_push(json_parser *ps, json_vec *v, int with_keys) {
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        json_value *it = XLMR_REALLOC(v->items, cap * sizeof *it);
        if (!it) { json_error(ps, "out of memory"); return NULL; }
        v->items = it;
        if (with_keys) {
            const char **k = XLMR_REALLOC(v->keys, cap * sizeof *k);
            if (!k) { json_error(ps, "out of memory"); return NULL; }
            v->keys = k;
            size_t *kl = XLMR_REALLOC(v->key_lens, cap * sizeof *kl);
            if (!kl) { json_error(ps, "out of memory"); return NULL; }
            v->key_lens = kl;
        }
        v->cap = cap;
    }
    json_value *r = &v->items[v->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Moves a temporary vector into the arena, so the tree has one owner. */
static int json_vec_finish(json_parser *ps, json_vec *vec, json_value *v, int with_keys) {
    v->len = vec->n;
    if (vec->n) {
        v->items = json_arena_alloc(ps, vec->n * sizeof(json_value));
        if (!v->items) return 0;
        memcpy(v->items, vec->items, vec->n * sizeof(json_value));
        if (with_keys) {
            v->keys = json_arena_alloc(ps, vec->n * sizeof(char *));
            v->key_lens = json_arena_alloc(ps, vec->n * sizeof(size_t));
            if (!v->keys || !v->key_lens) return 0;
            memcpy(v->keys, vec->keys, vec->n * sizeof(char *));
            memcpy(v->key_lens, vec->key_lens, vec->n * sizeof(size_t));
        }
    }
    return 1;
}

static int json_value_parse(json_parser *ps, json_value *v, int depth);

static int json_container(json_parser *ps, json_value *v, int depth, int is_object) {
    char close = is_object ? '}' : ']';
    json_vec vec = {0};
    int ok = 0;
    ps->p++;
    v->type = is_object ? JSON_OBJECT : JSON_ARRAY;
    json_skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    for (;;) {
        json_skip_ws(ps);
        json_value *item = json_vec_push(ps, &vec, is_object);
        if (!item) goto done;
        if (is_object) {
            if (ps->p >= ps->end || *ps->p != '"') { json_error(ps, "expected object key"); goto done; }
            if (!json_string(ps, &vec.keys[vec.n - 1], &vec.key_lens[vec.n - 1])) goto done;
            json_skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { json_error(ps, "expected ':'"); goto done; }
            ps->p++;
        }
        if (!json_value_parse(ps, item, depth + 1)) goto done;
        json_skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; break; }
        json_error(ps, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        goto done;
    }
    ok = json_vec_finish(ps, &vec, v, is_object);
done:
    json_vec_free(&vec);
    return ok;
}

static int json_value_parse(json_parser *ps, json_value *v, int depth) {
    if (depth > JSON_MAX_DEPTH) return json_error(ps, "nesting too deep");
    json_skip_ws(ps);
    if (ps->p >= ps->end) return json_error(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{': return json_container(ps, v, depth, 1);
    case '[': return json_container(ps, v, depth, 0);
    case '"': v->type = JSON_STRING; return json_string(ps, &v->str, &v->len);
    case 't': return json_literal(ps, "true", JSON_TRUE, v);
    case 'f': return json_literal(ps, "false", JSON_FALSE, v);
    case 'n': return json_literal(ps, "null", JSON_NULL, v);
    default: v->type = JSON_NUMBER; return json_number(ps, &v->number);
    }
}

xlmr_status json_parse(const char *text, size_t n, json_doc **out, xlmr_error *err) {
    *out = NULL;
    if (!text && n) return xlmr_fail(err, XLMR_ERR_ARG, "json: NULL text of %zu bytes", n);
    if (!text) text = "";
    json_doc *doc = XLMR_CALLOC(1, sizeof *doc);
    if (!doc) return xlmr_fail(err, XLMR_ERR_NOMEM, "json: out of memory");
    json_parser ps = {text, text, text + n, doc, err, XLMR_OK};
    if (json_value_parse(&ps, &doc->root, 0)) {
        json_skip_ws(&ps);
        if (ps.p != ps.end) json_error(&ps, "trailing characters");
    }
    if (ps.status != XLMR_OK) {
        json_free(doc);
        return ps.status;
    }
    *out = doc;
    return XLMR_OK;
}

const json_value *json_root(const json_doc *doc) { return doc ? &doc->root : NULL; }

void json_free(json_doc *doc) {
    if (!doc) return;
    json_chunk *c = doc->chunks;
    while (c) {
        json_chunk *next = c->next;
        XLMR_FREE(c);
        c = next;
    }
    XLMR_FREE(doc);
}

const json_value *json_get(const json_value *obj, const char *key) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i < obj->len; i++)
        if (obj->key_lens[i] == kl && memcmp(obj->keys[i], key, kl) == 0) return &obj->items[i];
    return NULL;
}

int json_get_number(const json_value *obj, const char *key, double *out) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type != JSON_NUMBER) return 0;
    *out = v->number;
    return 1;
}

int json_get_int(const json_value *obj, const char *key, int64_t *out) {
    double d;
    if (!json_get_number(obj, key, &d) || d != floor(d) || fabs(d) > 9007199254740992.0) return 0;
    *out = (int64_t)d;
    return 1;
}
