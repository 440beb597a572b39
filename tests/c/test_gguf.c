/* GGUF: the reader on hand-built files (every value type, nested arrays, alignment, bad tensors), the
 * writer (deterministic bytes), and safetensors -> GGUF -> reload giving the same weights block. */
#include "gguf.h"
#include "loader.h"
#include "model_slots.h"
#include "kernels.h"
#include "test.h"
#include "tokenizer.h"

static unsigned char *cfg, *spm;
static size_t cfg_n, spm_n;

static xlmr_model *load(const unsigned char *b, size_t n, size_t chunk, int dtype, int hf, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    if (hf) {
        xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
        xlmr_loader_set_tokenizer(ld, spm, spm_n);
    }
    size_t at = 0;
    int st = 0;
    while (!st && at < n) {
        size_t k = chunk ? (chunk < n - at ? chunk : n - at) : n - at;
        st = xlmr_loader_feed(ld, b + at, k);
        at += k;
    }
    xlmr_model *m = st ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

static unsigned char *write_all(xlmr_model *m, size_t *n) {
    xlmr_writer *w = xlmr_writer_new(m);
    if (!w) return NULL;
    size_t total = (size_t)xlmr_writer_total(w), at = 0;
    unsigned char *buf = malloc(total);
    const uint8_t *p;
    int chunks = 0;
    while ((p = xlmr_writer_chunk(w)) != NULL && xlmr_writer_chunk_len(w) > 0) {
        size_t k = xlmr_writer_chunk_len(w);
        if (at + k > total) break;
        memcpy(buf + at, p, k);
        at += k;
        chunks++;
    }
    CHECK(at == total && xlmr_writer_chunk_len(w) == 0 && chunks >= 2, "writer: %zu of %zu in %d chunks", at, total, chunks);
    xlmr_writer_free(w);
    *n = at;
    return buf;
}

static int same_block(const xlmr_model *a, const xlmr_model *b) {
    return a && b && a->weights_size == b->weights_size && memcmp(a->weights_block, b->weights_block, a->weights_size) == 0;
}

static int same_config(const xlmr_config *a, const xlmr_config *b) {
    return a->vocab_size == b->vocab_size && a->hidden_size == b->hidden_size && a->num_layers == b->num_layers &&
           a->num_heads == b->num_heads && a->intermediate_size == b->intermediate_size &&
           a->max_positions == b->max_positions && a->type_vocab_size == b->type_vocab_size && a->pad_id == b->pad_id &&
           a->max_tokens == b->max_tokens && a->layer_norm_eps == b->layer_norm_eps && a->head == b->head;
}

/* Parses a header by growing the buffer `step` bytes at a time (resumable parsing). */
static xlmr_status parse_steps(const unsigned char *f, size_t n, size_t step, gguf_reader *r, xlmr_error *e) {
    gguf_reader_init(r);
    size_t len = 0;
    uint64_t need = 1;
    while (need) {
        len = len + step < n ? len + step : n;
        xlmr_status st = gguf_reader_advance(r, f, len, &need, e);
        if (st) return st;
        if (need && len == n) return xlmr_fail(e, XLMR_ERR_FORMAT, "truncated");
    }
    return XLMR_OK;
}

/* Rebuilds a GGUF from a parsed one: tensors in reverse file order, alignment `align` (written as
 * general.alignment), an extra tensor "extra.weight", and no padding after the last tensor. */
/* drop: tensors whose name starts with it are left out (NULL: none). */
static unsigned char *rebuild(const unsigned char *f, size_t n, uint32_t align, size_t blob, const char *drop,
                              size_t *out_n) {
    gguf_reader r;
    xlmr_error e;
    if (parse_steps(f, n, n, &r, &e)) return NULL;
    gguf_wbuf b;
    gguf_w_begin(&b);
    uint64_t kv_end = r.tis[0].name_off - 8;
    for (uint64_t i = 0; i < r.n_kv; i++) {
        uint64_t s = r.kvs[i].key_off - 8, t = i + 1 < r.n_kv ? r.kvs[i + 1].key_off - 8 : kv_end;
        gguf_w_raw(&b, f + s, (size_t)(t - s));
        b.n_kv++;
    }
    gguf_w_kv_u32(&b, "general.alignment", align);
    if (blob) {
        char *z = calloc(1, blob);
        gguf_w_kv_str(&b, "test.blob", z, blob);
        free(z);
    }
    uint64_t off = 0;
    static const float extra[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t ne_extra[2] = {8, 1};
    uint64_t *offs = calloc(r.n_tensors, 8);
    size_t dl = drop ? strlen(drop) : 0;
#define DROPPED(k) (drop && r.tis[k].name_len >= dl && memcmp(f + r.tis[k].name_off, drop, dl) == 0)
    for (uint64_t k = r.n_tensors; k-- > 0;) { /* reverse order */
        if (DROPPED(k)) continue;
        offs[k] = off;
        off = (off + r.tis[k].nbytes + align - 1) / align * align;
    }
    uint64_t extra_off = off;
    off += sizeof extra;
    for (uint64_t k = 0; k < r.n_tensors; k++) {
        if (DROPPED(k)) continue;
        char name[300];
        memcpy(name, f + r.tis[k].name_off, (size_t)r.tis[k].name_len);
        name[r.tis[k].name_len] = 0;
        gguf_w_tensor(&b, name, r.tis[k].n_dims, r.tis[k].ne, r.tis[k].type, offs[k]);
    }
    gguf_w_tensor(&b, "extra.weight", 1, ne_extra, 0, extra_off);
    gguf_w_end(&b, align);
    size_t hl = b.len;
    unsigned char *o = calloc(1, hl + (size_t)off);
    memcpy(o, b.p, hl);
    for (uint64_t k = 0; k < r.n_tensors; k++)
        if (!DROPPED(k)) memcpy(o + hl + offs[k], f + r.data_start + r.tis[k].offset, (size_t)r.tis[k].nbytes);
    memcpy(o + hl + extra_off, extra, sizeof extra);
    *out_n = hl + (size_t)off;
    gguf_w_free(&b);
    gguf_reader_free(&r);
    free(offs);
    return o;
}

static void test_reader_types(void) {
    gguf_wbuf b;
    gguf_w_begin(&b);
    uint8_t u8 = 200;
    int8_t i8 = -5;
    uint16_t u16 = 60000;
    int16_t i16 = -3000;
    int32_t i32 = -70000;
    uint64_t u64 = 1ull << 40;
    int64_t i64 = -(1ll << 40);
    double f64 = 3.25;
    struct {
        const char *k;
        uint32_t t;
        const void *v;
        size_t n;
    } sc[] = {{"a.u8", GGUF_U8, &u8, 1},     {"a.i8", GGUF_I8, &i8, 1},     {"a.u16", GGUF_U16, &u16, 2},
              {"a.i16", GGUF_I16, &i16, 2},  {"a.i32", GGUF_I32, &i32, 4},  {"a.u64", GGUF_U64, &u64, 8},
              {"a.i64", GGUF_I64, &i64, 8},  {"a.f64", GGUF_F64, &f64, 8}};
    for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++) {
        gguf_w_str(&b, sc[i].k, strlen(sc[i].k));
        gguf_w_u32(&b, sc[i].t);
        gguf_w_raw(&b, sc[i].v, sc[i].n);
        b.n_kv++;
    }
    gguf_w_kv_u32(&b, "a.u32", 123456);
    gguf_w_kv_f32(&b, "a.f32", 0.5f);
    gguf_w_kv_bool(&b, "a.bool", 1);
    gguf_w_kv_str(&b, "a.str", "hello", 5);
    gguf_w_kv_arr(&b, "a.arr_i16", GGUF_I16, 3);
    int16_t arr[3] = {1, -2, 3};
    gguf_w_raw(&b, arr, 6);
    gguf_w_kv_arr(&b, "a.arr_str", GGUF_STRING, 3);
    gguf_w_str(&b, "x", 1);
    gguf_w_str(&b, "", 0);
    gguf_w_str(&b, "zzz", 3);
    /* array of arrays: [[u8 1, 2], [str "q"], []] */
    gguf_w_kv_arr(&b, "a.nested", GGUF_ARRAY, 3);
    gguf_w_u32(&b, GGUF_U8);
    uint64_t two = 2, one = 1, zero = 0;
    gguf_w_raw(&b, &two, 8);
    gguf_w_raw(&b, "\x01\x02", 2);
    gguf_w_u32(&b, GGUF_STRING);
    gguf_w_raw(&b, &one, 8);
    gguf_w_str(&b, "q", 1);
    gguf_w_u32(&b, GGUF_F64);
    gguf_w_raw(&b, &zero, 8);
    gguf_w_kv_u32(&b, "general.alignment", 64);
    int64_t ne[2] = {32, 2};
    gguf_w_tensor(&b, "t.q8", 2, ne, XLMR_TYPE_Q8_0, 0);
    int64_t ne2[1] = {5};
    gguf_w_tensor(&b, "t.f16", 1, ne2, XLMR_TYPE_F16, 128);
    gguf_w_end(&b, 64);
    CHECK(!b.failed && b.len % 64 == 0, "built");
    size_t steps[] = {1, 3, 50, 100000};
    for (size_t s = 0; s < 4; s++) {
        gguf_reader r;
        xlmr_error e = {0};
        xlmr_status st = parse_steps(b.p, b.len, steps[s], &r, &e);
        CHECK(st == XLMR_OK, "parse step %zu: %s", steps[s], e.msg);
        if (st) continue;
        int64_t v;
        double d;
        int bo;
        const char *str;
        uint64_t sn;
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.u8"), &v) && v == 200, "u8");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.i8"), &v) && v == -5, "i8");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.u16"), &v) && v == 60000, "u16");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.i16"), &v) && v == -3000, "i16");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.i32"), &v) && v == -70000, "i32");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.u32"), &v) && v == 123456, "u32");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.u64"), &v) && v == (1ll << 40), "u64");
        CHECK(gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.i64"), &v) && v == -(1ll << 40), "i64");
        CHECK(gguf_get_float(&r, b.p, gguf_find_key(&r, b.p, "a.f64"), &d) && d == 3.25, "f64");
        CHECK(gguf_get_float(&r, b.p, gguf_find_key(&r, b.p, "a.f32"), &d) && d == 0.5, "f32");
        CHECK(gguf_get_bool(&r, b.p, gguf_find_key(&r, b.p, "a.bool"), &bo) && bo == 1, "bool");
        CHECK(gguf_get_str(&r, b.p, gguf_find_key(&r, b.p, "a.str"), &str, &sn) && sn == 5 && !memcmp(str, "hello", 5), "str");
        CHECK(!gguf_get_int(&r, b.p, gguf_find_key(&r, b.p, "a.str"), &v), "str is not an int");
        uint32_t t;
        const uint8_t *data;
        CHECK(gguf_get_arr(&r, b.p, gguf_find_key(&r, b.p, "a.arr_i16"), &t, &sn, &data) && t == GGUF_I16 && sn == 3 &&
                  (int16_t)xlmr_rd_u16(data + 2) == -2,
              "arr i16");
        CHECK(gguf_get_arr(&r, b.p, gguf_find_key(&r, b.p, "a.arr_str"), &t, &sn, &data) && t == GGUF_STRING && sn == 3, "arr str");
        gguf_next_str(&data, &str, &sn);
        gguf_next_str(&data, &str, &sn);
        CHECK(sn == 0, "empty string element");
        gguf_next_str(&data, &str, &sn);
        CHECK(sn == 3 && !memcmp(str, "zzz", 3), "third string");
        CHECK(gguf_get_arr(&r, b.p, gguf_find_key(&r, b.p, "a.nested"), &t, &sn, &data) && t == GGUF_ARRAY && sn == 3, "nested");
        CHECK(r.alignment == 64 && r.data_start % 64 == 0 && r.n_tensors == 2 && r.tis[0].nbytes == 68 &&
                  r.tis[1].nbytes == 10 && r.data_len == 138,
              "tensors: align %u start %llu len %llu", r.alignment, (unsigned long long)r.data_start,
              (unsigned long long)r.data_len);
        gguf_reader_free(&r);
    }
    /* bad inputs: each one an error naming the problem */
    struct {
        size_t at;
        const unsigned char *bytes;
        size_t n;
        const char *want;
    } bad[] = {
        {0, (const unsigned char *)"GGUX", 4, "magic"},
        {4, (const unsigned char *)"\x07\0\0\0", 4, "version"},
        {16, (const unsigned char *)"\xff\xff\xff\xff\xff\xff\xff\x7f", 8, "metadata keys"},
        {8, (const unsigned char *)"\xff\xff\xff\xff\0\0\0\0", 8, "tensors"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char *c = malloc(b.len);
        memcpy(c, b.p, b.len);
        memcpy(c + bad[i].at, bad[i].bytes, bad[i].n);
        gguf_reader r;
        xlmr_error e = {0};
        CHECK(parse_steps(c, b.len, 7, &r, &e) != XLMR_OK && strstr(e.msg, bad[i].want), "bad %zu: %s", i, e.msg);
        gguf_reader_free(&r);
        free(c);
    }
    /* an unsupported tensor type names the tensor and the type */
    {
        gguf_wbuf b2;
        gguf_w_begin(&b2);
        int64_t ne3[2] = {32, 4};
        gguf_w_tensor(&b2, "blk.0.attn_q.weight", 2, ne3, 12 /* Q4_K */, 0);
        gguf_w_end(&b2, 32);
        gguf_reader r;
        xlmr_error e = {0};
        CHECK(parse_steps(b2.p, b2.len, 1000, &r, &e) != XLMR_OK && strstr(e.msg, "blk.0.attn_q.weight") &&
                  strstr(e.msg, "type 12"),
              "unsupported type: %s", e.msg);
        gguf_reader_free(&r);
        /* a string length claiming more than the limit fails without allocating it */
        gguf_wbuf b3;
        gguf_w_begin(&b3);
        gguf_w_str(&b3, "k", 1);
        gguf_w_u32(&b3, GGUF_STRING);
        uint64_t huge = 1ull << 60;
        gguf_w_raw(&b3, &huge, 8);
        b3.n_kv = 1;
        gguf_w_end(&b3, 32);
        CHECK(parse_steps(b3.p, b3.len, 1000, &r, &e) != XLMR_OK && strstr(e.msg, "length"), "huge string: %s", e.msg);
        gguf_reader_free(&r);
        gguf_w_free(&b2);
        gguf_w_free(&b3);
    }
    gguf_w_free(&b);
}

int main(void) {
    size_t n32;
    unsigned char *f32 = test_read_file("tests/fixtures/model.safetensors", &n32);
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!f32 || !cfg || !spm) return 1;
    char msg[XLMR_ERROR_MSG_MAX];
    test_reader_types();

    for (int dt = 0; dt < 3; dt++) {
        xlmr_model *m = load(f32, n32, 0, dt, 1, msg);
        CHECK(m != NULL, "safetensors dtype %d: %s", dt, msg);
        if (!m) continue;
        size_t g1n, g2n;
        unsigned char *g1 = write_all(m, &g1n), *g2 = write_all(m, &g2n);
        CHECK(g1 && g2 && g1n == g2n && memcmp(g1, g2, g1n) == 0, "writer deterministic (dtype %d)", dt);
        if (dt == 0) {
            /* the encoder's matrices are held interleaved for the GEMM, the word embeddings row after row: the
             * reloads below and the byte-identical rewrite go through both layouts */
            const xlmr_tensor *up = &m->w.layers[0].ffn_up;
            CHECK(up->type == XLMR_TYPE_Q8_0 && up->layout == kern_q8_0_layout(up->ne[1]) &&
                      m->w.tok_embd.layout == XLMR_LAYOUT_ROWS,
                  "Q8_0 layouts: ffn_up %d, token_embd %d", up->layout, m->w.tok_embd.layout);
            FILE *f = fopen("build/test_gguf_q8_0.gguf", "wb");
            if (f) {
                fwrite(g1, 1, g1n, f);
                fclose(f);
            }
            printf("GGUF Q8_0 of the fixture: %zu bytes (header %zu)\n", g1n, g1n - m->weights_size);
        }
        size_t chunks[] = {0, 4096, 7, 1};
        for (int k = 0; k < 4; k++) {
            if (chunks[k] == 1 && dt != 0) continue;
            xlmr_model *r = load(g1, g1n, chunks[k], XLMR_DTYPE_F32 /* ignored for GGUF */, 0, msg);
            CHECK(same_block(m, r), "GGUF reload dtype %d chunk %zu: %s", dt, chunks[k], msg);
            CHECK(r && same_config(&m->config, &r->config), "config reload");
            if (r && k == 0) {
                /* the tokenizer survives: same ids on a text with specials */
                const char *text = "Hello <mask> wörld, ça va? 東京 </s>";
                tok_ids a = {0}, b = {0};
                tok_encode(m->tok, text, strlen(text), 0, &a, NULL);
                tok_encode(r->tok, text, strlen(text), 0, &b, NULL);
                CHECK(a.n == b.n && a.n > 4 && memcmp(a.ids, b.ids, a.n * 4) == 0, "tokenizer ids after reload");
                tok_ids_free(&a);
                tok_ids_free(&b);
                size_t g3n;
                unsigned char *g3 = write_all(r, &g3n);
                CHECK(g3 && g3n == g1n && memcmp(g3, g1, g1n) == 0, "GGUF -> load -> GGUF is byte-identical");
                free(g3);
            }
            model_free(r);
        }
        /* tensors in another order, alignment 64, an unknown tensor, no final padding */
        size_t rn;
        unsigned char *rb = rebuild(g1, g1n, 64, 0, NULL, &rn);
        xlmr_model *r = load(rb, rn, 1000, 0, 0, msg);
        CHECK(same_block(m, r), "rebuilt GGUF (dtype %d): %s", dt, msg);
        model_free(r);
        /* an embedding-only file (as llama.cpp converts XLMRobertaModel): the block is the head-less prefix */
        free(rb);
        rb = rebuild(g1, g1n, 32, 0, "mlm.", &rn);
        r = load(rb, rn, 4096, 0, 0, msg);
        size_t head_at = (size_t)((uint8_t *)m->w.mlm_dense.data - (uint8_t *)m->weights_block);
        CHECK(r && r->config.head == XLMR_HEAD_NONE && r->weights_size == head_at &&
                  memcmp(r->weights_block, m->weights_block, head_at) == 0,
              "GGUF without mlm.* (dtype %d): %s", dt, msg);
        model_free(r);
        if (dt == 0) {
            /* truncations at many offsets: errors that say so */
            int ok = 0, cnt = 0;
            for (size_t cut = 0; cut < g1n; cut += cut < 4000 ? 61 : cut < 400000 ? 9973 : 99991) {
                cnt++;
                xlmr_model *t = load(g1, cut, 0, 0, 0, msg);
                if (!t && (strstr(msg, "truncated"))) ok++;
                else fprintf(stderr, "cut %zu: %s\n", cut, msg);
                model_free(t);
            }
            CHECK(ok == cnt, "GGUF truncations %d/%d", ok, cnt);
            /* one byte too many */
            unsigned char *longer = malloc(g1n + 33);
            memcpy(longer, g1, g1n);
            memset(longer + g1n, 0, 33);
            CHECK(!load(longer, g1n + 33, 0, 0, 0, msg) && strstr(msg, "longer"), "longer GGUF: %s", msg);
            free(longer);
            /* header byte flips: error or model, never a crash */
            unsigned char *bad = malloc(g1n);
            uint32_t rng = 99;
            int rejected = 0;
            for (int it = 0; it < 400; it++) {
                memcpy(bad, g1, g1n);
                size_t hl = g1n - m->weights_size;
                for (int j = 0; j < 1 + it % 3; j++) {
                    rng = rng * 1103515245u + 12345u;
                    size_t at = (rng >> 3) % (it % 2 ? 2048 : hl);
                    bad[at] ^= (unsigned char)(1u << ((rng >> 25) % 8));
                }
                xlmr_model *t = load(bad, g1n, 65536, 0, 0, msg);
                if (!t) rejected++;
                model_free(t);
            }
            printf("GGUF header flips: %d/400 rejected\n", rejected);
            free(bad);
            /* shape mismatch vs metadata: bert.feed_forward_length changed */
            unsigned char *mm = malloc(g1n);
            memcpy(mm, g1, g1n);
            gguf_reader gr;
            xlmr_error e;
            parse_steps(mm, g1n, g1n, &gr, &e);
            int64_t ki = gguf_find_key(&gr, mm, "bert.feed_forward_length");
            if (ki >= 0) {
                mm[gr.kvs[ki].val_off] = 128;
                mm[gr.kvs[ki].val_off + 1] = 0;
            }
            gguf_reader_free(&gr);
            CHECK(!load(mm, g1n, 0, 0, 0, msg) && strstr(msg, "blk.0.ffn_up.weight") && strstr(msg, "[64, 256]") &&
                      strstr(msg, "[64, 128]"),
                  "GGUF shape mismatch: %s", msg);
            free(mm);
        }
        free(rb);
        free(g1);
        free(g2);
        model_free(m);
    }
    /* a big header before a small data section: the header parse must not wait for bytes past the end */
    {
        size_t tn, bn;
        unsigned char *tiny = test_read_file("tests/fuzz/corpus/fuzz_gguf/b_f32.gguf", &tn);
        unsigned char *big = tiny ? rebuild(tiny, tn, 32, 300000, NULL, &bn) : NULL;
        CHECK(big != NULL, "tiny seed");
        if (big) {
            xlmr_model *a = load(tiny, tn, 0, 0, 0, msg);
            CHECK(a != NULL, "tiny GGUF: %s", msg);
            size_t chunks[] = {0, 4096, 1};
            for (int k = 0; k < 3; k++) {
                xlmr_model *b = load(big, bn, chunks[k], 0, 0, msg);
                CHECK(same_block(a, b), "big header, small data, chunk %zu: %s", chunks[k], msg);
                model_free(b);
            }
            model_free(a);
        }
        free(tiny);
        free(big);
    }
    free(f32);
    free(cfg);
    free(spm);
    return test_report("test_gguf");
}
