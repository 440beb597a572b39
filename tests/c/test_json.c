#include "json.h"
#include "test.h"

static void check_invalid(const char *s) {
    json_doc *d = NULL;
    xlmr_error err = {0};
    xlmr_status st = json_parse(s, strlen(s), &d, &err);
    CHECK(st == XLMR_ERR_FORMAT && d == NULL && strstr(err.msg, "byte") != NULL, "accepted invalid json %s (%s)", s, err.msg);
}

int main(void) {
    const char *s = "{\"a\": [1, 2.5e1, -0.125], \"b\": \"x\\u00e9\\ud83d\\ude00\\n\", \"c\": {\"d\": null, \"e\": true}}";
    json_doc *d = NULL;
    xlmr_error err = {0};
    CHECK(json_parse(s, strlen(s), &d, &err) == XLMR_OK, "%s", err.msg);
    const json_value *r = json_root(d);
    const json_value *a = json_get(r, "a");
    CHECK(a && a->type == JSON_ARRAY && a->len == 3, "array");
    CHECK(a->items[1].number == 25.0 && a->items[2].number == -0.125, "numbers");
    const json_value *b = json_get(r, "b");
    CHECK(b && b->len == 8 && memcmp(b->str, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0, "string escapes");
    CHECK(json_get(json_get(r, "c"), "e")->type == JSON_TRUE, "nested");
    int64_t i;
    CHECK(!json_get_int(r, "a", &i) && !json_get_int(r, "zz", &i), "missing");
    json_free(d);

    check_invalid("");
    check_invalid("{");
    check_invalid("[1,]");
    check_invalid("{\"a\" 1}");
    check_invalid("\"abc");
    check_invalid("01");
    check_invalid("[1] x");
    check_invalid("\"\\q\"");
    char deep[300];
    memset(deep, '[', sizeof deep);
    deep[299] = 0;
    check_invalid(deep);

    /* the real config */
    size_t n;
    unsigned char *cfg = test_read_file("tests/fixtures/config.json", &n);
    CHECK(cfg != NULL, "config.json");
    CHECK(json_parse((const char *)cfg, n, &d, &err) == XLMR_OK, "%s", err.msg);
    int64_t hs = 0;
    CHECK(json_get_int(json_root(d), "hidden_size", &hs) && hs == 64, "hidden_size");
    json_free(d);
    free(cfg);
    return test_report("test_json");
}
