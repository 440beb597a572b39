#include "config.h"

#include <math.h>

#include "json.h"
#include "labels.h"
#include "model_slots.h" /* model_hf_head_names_of */
#include "xlmr.h" /* XLMR_POOL_* */

static xlmr_status config_int(const json_value *root, const char *key, int required, int64_t dflt, int64_t lo,
                              int64_t hi, int32_t *out, xlmr_error *err) {
    const json_value *v = json_get(root, key);
    int64_t x;
    if (!v || v->type == JSON_NULL) {
        if (required) return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: missing \"%s\"", key);
        x = dflt;
    } else if (!json_get_int(root, key, &x)) {
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"%s\" must be an integer", key);
    }
    if (x < lo || x > hi)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"%s\" = %lld is outside [%lld, %lld]", key, (long long)x,
                         (long long)lo, (long long)hi);
    *out = (int32_t)x;
    return XLMR_OK;
}

static xlmr_status config_string_is(const json_value *root, const char *key, const char *const *allowed,
                                    xlmr_error *err) {
    const json_value *v = json_get(root, key);
    if (!v || v->type == JSON_NULL) return XLMR_OK;
    if (v->type != JSON_STRING) return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"%s\" must be a string", key);
    for (; *allowed; allowed++)
        if (strlen(*allowed) == v->len && memcmp(*allowed, v->str, v->len) == 0) return XLMR_OK;
    return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"%s\" = \"%.40s\" is not supported", key, v->str);
}

static const char *const problem_names[] = {"single_label_classification", "multi_label_classification", "regression", NULL};

const char *config_problem_type_name(int problem_type) {
    return problem_type >= XLMR_PROBLEM_SINGLE_LABEL && problem_type <= XLMR_PROBLEM_REGRESSION
               ? problem_names[problem_type - XLMR_PROBLEM_SINGLE_LABEL]
               : NULL;
}

int config_problem_type_find(const char *s, size_t n) {
    for (int i = 0; problem_names[i]; i++)
        if (strlen(problem_names[i]) == n && memcmp(problem_names[i], s, n) == 0) return XLMR_PROBLEM_SINGLE_LABEL + i;
    return XLMR_PROBLEM_UNSET;
}

/* problem_type: absent or null leaves XLMR_PROBLEM_UNSET. */
static xlmr_status config_problem_type(const json_value *root, xlmr_config *c, xlmr_error *err) {
    const json_value *v = json_get(root, "problem_type");
    if (!v || v->type == JSON_NULL) return XLMR_OK;
    xlmr_status st = config_string_is(root, "problem_type", problem_names, err);
    if (st == XLMR_OK) c->problem_type = config_problem_type_find(v->str, v->len);
    return st;
}

/* id2label {"0": "NEG", "1": "POS"}: keys 0 .. n-1, each once, into labels (n = 0 when absent). */
static xlmr_status config_labels(const json_value *root, xlmr_labels *labels, xlmr_error *err) {
    const json_value *v = json_get(root, "id2label");
    if (!v || v->type == JSON_NULL) return XLMR_OK;
    if (v->type != JSON_OBJECT || v->len > LABELS_MAX)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"id2label\" must be an object of at most %d labels", LABELS_MAX);
    const int n = (int)v->len;
    const char **names = XLMR_CALLOC(n ? (size_t)n : 1, sizeof(char *));
    size_t *lens = XLMR_CALLOC(n ? (size_t)n : 1, sizeof(size_t));
    xlmr_status st = names && lens ? XLMR_OK : xlmr_fail(err, XLMR_ERR_NOMEM, "out of memory for %d labels", n);
    for (int i = 0; st == XLMR_OK && i < n; i++) {
        const char *key = v->keys[i];
        const size_t kn = v->key_lens[i];
        int64_t id = 0;
        int ok = kn >= 1 && kn <= 6 && (kn == 1 || key[0] != '0');
        for (size_t k = 0; ok && k < kn; k++) {
            ok = key[k] >= '0' && key[k] <= '9';
            id = id * 10 + (key[k] - '0');
        }
        if (!ok || id >= n || names[id] || v->items[i].type != JSON_STRING)
            st = xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: id2label must map each of \"0\" .. \"%d\" once to a string "
                           "(entry \"%.20s\")", n - 1, key);
        else {
            names[id] = v->items[i].str;
            lens[id] = v->items[i].len;
        }
    }
    if (st == XLMR_OK) {
        xlmr_error e = {0};
        if ((st = labels_set(labels, n, names, lens, &e)) != XLMR_OK) xlmr_fail(err, st, "config.json: id2label: %s", e.msg);
    }
    XLMR_FREE(names);
    XLMR_FREE(lens);
    return st;
}

xlmr_status config_from_hf_json(const char *json, size_t n, xlmr_config *c, xlmr_labels *labels, xlmr_error *err) {
    memset(c, 0, sizeof *c);
    c->pooling = c->normalize = -1;
    json_doc *doc = NULL;
    xlmr_error jerr = {0};
    if (json_parse(json, n, &doc, &jerr) != XLMR_OK)
        return xlmr_fail(err, jerr.code == XLMR_ERR_NOMEM ? XLMR_ERR_NOMEM : XLMR_ERR_FORMAT, "config.json: %s",
                         jerr.msg);
    const json_value *root = json_root(doc);
    xlmr_status st = XLMR_OK;
    if (root->type != JSON_OBJECT) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: not a JSON object");
        goto done;
    }
    static const char *const acts[] = {"gelu", NULL};
    static const char *const pos_types[] = {"absolute", NULL};
    if ((st = config_string_is(root, "hidden_act", acts, err)) ||
        (st = config_string_is(root, "position_embedding_type", pos_types, err)))
        goto done;
    if ((st = config_int(root, "vocab_size", 1, 0, 1, CONFIG_MAX_VOCAB, &c->vocab_size, err)) ||
        (st = config_int(root, "hidden_size", 1, 0, 1, CONFIG_MAX_HIDDEN, &c->hidden_size, err)) ||
        (st = config_int(root, "num_hidden_layers", 1, 0, 1, CONFIG_MAX_LAYERS, &c->num_layers, err)) ||
        (st = config_int(root, "num_attention_heads", 1, 0, 1, CONFIG_MAX_HIDDEN, &c->num_heads, err)) ||
        (st = config_int(root, "intermediate_size", 1, 0, 1, CONFIG_MAX_FFN, &c->intermediate_size, err)) ||
        (st = config_int(root, "max_position_embeddings", 1, 0, 1, CONFIG_MAX_POSITIONS, &c->max_positions, err)) ||
        (st = config_int(root, "type_vocab_size", 0, 2, 1, CONFIG_MAX_TYPES, &c->type_vocab_size, err)) ||
        (st = config_int(root, "pad_token_id", 0, 1, 0, CONFIG_MAX_VOCAB, &c->pad_id, err)))
        goto done;
    double eps = 1e-12;
    const json_value *ev = json_get(root, "layer_norm_eps");
    if (ev && ev->type != JSON_NULL && !json_get_number(root, "layer_norm_eps", &eps)) {
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "config.json: \"layer_norm_eps\" must be a number");
        goto done;
    }
    c->layer_norm_eps = (float)eps;
    /* BertModel's position ids run from 0 over every token; (XLM-)RoBERTa's from pad_token_id + 1 over non-pad ones */
    const json_value *mt = json_get(root, "model_type");
    c->bert_positions = mt && mt->type == JSON_STRING && mt->len == 4 && memcmp(mt->str, "bert", 4) == 0;
    const json_value *arch = json_get(root, "architectures"); /* the first names the class the weights were saved from */
    c->hf_head_names = arch && arch->type == JSON_ARRAY && arch->len > 0 && arch->items[0].type == JSON_STRING
                           ? model_hf_head_names_of(arch->items[0].str, arch->items[0].len)
                           : 0;
    if ((st = config_problem_type(root, c, err)) || (labels && (st = config_labels(root, labels, err)))) goto done;
    st = config_validate(c, err);
done:
    json_free(doc);
    return st;
}

xlmr_status config_pooling_from_st_json(const char *json, size_t n, int32_t *pooling, xlmr_error *err) {
    json_doc *doc = NULL;
    xlmr_error jerr = {0};
    if (json_parse(json, n, &doc, &jerr) != XLMR_OK)
        return xlmr_fail(err, jerr.code == XLMR_ERR_NOMEM ? XLMR_ERR_NOMEM : XLMR_ERR_FORMAT, "pooling config.json: %s",
                         jerr.msg);
    static const struct {
        const char *key;
        int32_t pooling; /* -1: a mode embed does not offer */
    } modes[] = {{"pooling_mode_cls_token", XLMR_POOL_CLS},      {"pooling_mode_mean_tokens", XLMR_POOL_MEAN},
                 {"pooling_mode_lasttoken", XLMR_POOL_LAST},     {"pooling_mode_max_tokens", -1},
                 {"pooling_mode_mean_sqrt_len_tokens", -1},      {"pooling_mode_weightedmean_tokens", -1}};
    const json_value *root = json_root(doc);
    xlmr_status st = XLMR_OK;
    int on = 0;
    for (size_t i = 0; st == XLMR_OK && i < sizeof modes / sizeof modes[0]; i++) {
        const json_value *v = json_get(root, modes[i].key);
        if (!v || v->type != JSON_TRUE) continue;
        if (modes[i].pooling < 0)
            st = xlmr_fail(err, XLMR_ERR_FORMAT, "pooling config.json: %s is not supported (embed pools by cls, mean "
                           "or last token)", modes[i].key);
        *pooling = modes[i].pooling;
        on++;
    }
    if (st == XLMR_OK && on != 1)
        st = xlmr_fail(err, XLMR_ERR_FORMAT, "pooling config.json: %d pooling modes are on; one of "
                       "pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_lasttoken must be", on);
    json_free(doc);
    return st;
}

xlmr_status config_validate(xlmr_config *c, xlmr_error *err) {
    struct {
        const char *name;
        int32_t v, hi;
    } f[] = {
        {"vocab_size", c->vocab_size, CONFIG_MAX_VOCAB},
        {"hidden_size", c->hidden_size, CONFIG_MAX_HIDDEN},
        {"num_layers", c->num_layers, CONFIG_MAX_LAYERS},
        {"num_heads", c->num_heads, CONFIG_MAX_HIDDEN},
        {"intermediate_size", c->intermediate_size, CONFIG_MAX_FFN},
        {"max_positions", c->max_positions, CONFIG_MAX_POSITIONS},
        {"type_vocab_size", c->type_vocab_size, CONFIG_MAX_TYPES},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < 1 || f[i].v > f[i].hi)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "config: %s = %d is outside [1, %d]", f[i].name, (int)f[i].v,
                             (int)f[i].hi);
    if (c->hidden_size % c->num_heads != 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config: hidden_size %d is not a multiple of num_heads %d",
                         (int)c->hidden_size, (int)c->num_heads);
    if (c->pad_id < 0 || c->pad_id >= c->vocab_size)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config: pad_token_id %d is not a token id (vocab_size %d)",
                         (int)c->pad_id, (int)c->vocab_size);
    if (c->max_positions <= model_position_offset(c))
        return xlmr_fail(err, XLMR_ERR_FORMAT,
                         "config: max_position_embeddings %d leaves no position after pad_token_id %d + 1",
                         (int)c->max_positions, (int)c->pad_id);
    if (!(c->layer_norm_eps > 0.0f) || !(c->layer_norm_eps < 1.0f))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "config: layer_norm_eps %g is not in (0, 1)", (double)c->layer_norm_eps);
    c->max_tokens = c->max_positions - model_position_offset(c);
    return XLMR_OK;
}
