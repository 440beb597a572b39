/* Q4_0 weights: the quantizer against ggml's quantize_row_q4_0_ref (transcribed here as the independent reference),
 * the matmul of every backend compiled in against the scalar reference on random shapes (exact: the integer sums and
 * float operations are the same), the scalar one against float math, the row gather, the loader's dtype and
 * embedding type on the fixture, the GGUF round trip, and rows that are not a multiple of 32. */
#include "kernels.h"
#include "kernels_relaxed.h"
#include "loader.h"
#include "model_slots.h"
#include "quant.h"
#include "test.h"
#include "test_gguf_bytes.h"
#include "test_safetensors.h"
#include "xlmr.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float frand(void) { return (float)(rnd() & 0xffffff) / 8388608.0f - 1.0f; } /* [-1, 1) */
static int irand(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

/* ggml-quants.c's quantize_row_q4_0_ref, one block, as ggml writes it */
static void ggml_q4_0_ref(const float *x, block_q4_0 *y) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++) {
        const float v = x[j];
        if (amax < fabsf(v)) {
            amax = fabsf(v);
            max = v;
        }
    }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    y->d = xlmr_f32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
        const float x0 = x[j] * id, x1 = x[16 + j] * id;
        const int8_t c0 = (int8_t)(x0 + 8.5f), c1 = (int8_t)(x1 + 8.5f);
        const uint8_t xi0 = (uint8_t)(c0 < 15 ? c0 : 15), xi1 = (uint8_t)(c1 < 15 ? c1 : 15);
        y->qs[j] = (uint8_t)(xi0 | xi1 << 4);
    }
}

static void test_quantize(void) {
    float x[32 * 8], back[32 * 8];
    block_q4_0 a[8], b[8];
    int same = 1;
    for (int iter = 0; iter < 4000; iter++) {
        const float scale = iter % 7 == 0 ? 1e-3f : iter % 7 == 1 ? 300.0f : 1.0f;
        for (int i = 0; i < 256; i++) x[i] = frand() * scale;
        if (iter % 5 == 0) x[irand(0, 255)] = -scale; /* a negative extreme */
        if (iter % 11 == 0)                           /* ties of |x| of both signs, integers on the grid */
            for (int i = 0; i < 256; i++) x[i] = (float)(irand(-8, 8));
        if (iter % 13 == 0) memset(x + 32 * irand(0, 7), 0, 32 * sizeof(float)); /* an all-zero block */
        q4_0_quantize_row(x, a, 256);
        for (int k = 0; k < 8; k++) ggml_q4_0_ref(x + 32 * k, &b[k]);
        same &= memcmp(a, b, sizeof a) == 0;
        q4_0_dequantize_row(a, back, 256);
        for (int k = 0; k < 8; k++) {
            const float d = xlmr_fp16_to_f32(a[k].d);
            for (int j = 0; j < 32; j++) {
                const int nib = j < 16 ? a[k].qs[j] & 15 : a[k].qs[j - 16] >> 4;
                if (back[32 * k + j] != (nib - 8) * d) same = 0;
                /* one step of the grid at most, plus the fp16 rounding of d over 8 steps */
                if (fabsf(back[32 * k + j] - x[32 * k + j]) > fabsf(d) * 1.01f + 1e-30f) same = 0;
            }
        }
    }
    CHECK(same, "q4_0_quantize_row differs from ggml's reference or dequantizes off the grid");
    /* the largest element of a block comes back exactly when d is exact: max = -8 d */
    for (int i = 0; i < 32; i++) x[i] = (float)(i % 16) - 8.0f; /* [-8, 7]: d = 1 */
    q4_0_quantize_row(x, a, 32);
    q4_0_dequantize_row(a, back, 32);
    CHECK(xlmr_fp16_to_f32(a[0].d) == 1.0f && memcmp(back, x, 32 * sizeof(float)) == 0, "integers on the grid round trip");
    CHECK(quant_type_size(XLMR_TYPE_Q4_0, 64 * 10) == 20 * 18 && sizeof(block_q4_0) == 18, "18 bytes a block");
    CHECK(strcmp(quant_type_name(XLMR_TYPE_Q4_0), "Q4_0") == 0, "name");
}

#define MAXT 19
#define MAXN 41
#define MAXK 416
static float xs[MAXT * MAXK], ws[MAXN * MAXK], bs[MAXN], y0[MAXT * MAXN], y1[MAXT * MAXN];
static float wdq[MAXN * MAXK], xdq[MAXK];
static block_q4_0 wq[MAXN * MAXK / 32];
static _Alignas(16) unsigned char qmem0[1 << 16], qmem1[1 << 16];

/* y1 (from the backend under test) against y0, bit for bit */
static int same_out(int T, int N) { return memcmp(y0, y1, sizeof(float) * (size_t)T * N) == 0; }

static void test_matmul(void) {
    double worst_rel = 0;
    int exact_runs = 0, u7_runs = 0;
    for (int iter = 0; iter < 120; iter++) {
        const int T = iter < 8 ? iter % 4 + 1 : irand(1, MAXT), N = irand(1, MAXN), K = 32 * irand(1, MAXK / 32);
        for (int i = 0; i < T * K; i++) xs[i] = frand() * (iter % 3 ? 1.0f : 20.0f);
        for (int i = 0; i < N * K; i++) ws[i] = frand() * 0.1f;
        for (int i = 0; i < N; i++) bs[i] = frand();
        const float *b = iter % 4 == 3 ? NULL : bs;
        q4_0_quantize_row(ws, wq, (int64_t)N * K);
        q4_0_dequantize_row(wq, wdq, (int64_t)N * K);
        kern_qact q0, q1;
        kern_qact_init(&q0, qmem0, T, K);
        kern_qact_init(&q1, qmem1, T, K);
        kern_quantize_act_scalar(xs, &q0);
        kern_matmul_q4_0_scalar(y0, N, &q0, wq, b, N);
        /* the scalar reference against float math on the dequantized operands */
        for (int t = 0; t < T; t++) {
            const int nb = K / 32;
            for (int k = 0; k < K; k++)
                xdq[k] = (float)q0.qs[(size_t)t * K + k] * q0.d[(size_t)(t / 4) * nb * 4 + (size_t)(k / 32) * 4 + t % 4];
            for (int n = 0; n < N; n++) {
                double s = b ? b[n] : 0.0, a = b ? fabs(b[n]) : 0.0;
                for (int k = 0; k < K; k++) s += (double)xdq[k] * wdq[(size_t)n * K + k], a += fabs((double)xdq[k] * wdq[(size_t)n * K + k]);
                const double rel = fabs(y0[t * N + n] - s) / (a + 1e-30);
                if (rel > worst_rel) worst_rel = rel;
            }
        }
#if KERN_HAVE_SIMD128
        for (int i = 0; i < T * N; i++) y1[i] = -7.0f;
        kern_matmul_q4_0_simd128(y1, N, &q0, wq, b, N);
        CHECK(same_out(T, N), "SIMD128 Q4_0 differs from scalar (T %d N %d K %d)", T, N, K);
#endif
#if KERN_HAVE_RELAXED
        /* the u7 pair form on its activations against its scalar reference; fewer tokens: the int16 path */
        kern_quantize_act_relaxed(xs, &q1);
        for (int i = 0; i < T * N; i++) y1[i] = -7.0f;
        kern_matmul_q4_0_relaxed(y1, N, &q1, wq, b, N);
        if (T < KERN_U7_MIN_T) {
            CHECK(same_out(T, N), "relaxed Q4_0 (int16 path) differs from scalar (T %d N %d K %d)", T, N, K);
        } else {
            static float yf[MAXT * MAXN];
            kern_matmul_q4_0_u7_scalar(yf, N, &q1, wq, b, N);
            CHECK(memcmp(yf, y1, sizeof(float) * (size_t)T * N) == 0, "relaxed Q4_0 u7 differs from its scalar (T %d N %d K %d)",
                  T, N, K);
            u7_runs++;
        }
        /* the exact kernel where the engine has it: the scalar reference's outputs */
        const int probe = kern_dot_probe();
        const int kernel = probe == KERN_DOT_UNSIGNED ? KERN_INT8_EXACT_U8 : probe == KERN_DOT_SIGNED ? KERN_INT8_EXACT_S8 : -1;
        if (kernel >= 0 && T >= KERN_U7_MIN_T) {
            kern_int8_kernel_set(kernel);
            kern_quantize_act_relaxed(xs, &q1);
            for (int i = 0; i < T * N; i++) y1[i] = -7.0f;
            kern_matmul_q4_0_relaxed(y1, N, &q1, wq, b, N);
            CHECK(same_out(T, N), "relaxed exact Q4_0 differs from scalar (T %d N %d K %d)", T, N, K);
            kern_int8_kernel_set(KERN_INT8_PAIR_U7);
            exact_runs++;
        }
#endif
        /* the dispatching front with the build's own activations */
        kern_quantize_act(xs, &q1);
        kern_matmul_q4_0(y1, N, &q1, wq, b, N);
        if (!KERN_HAVE_RELAXED || T < KERN_U7_MIN_T) CHECK(same_out(T, N), "kern_matmul_q4_0 differs (T %d N %d K %d)", T, N, K);
    }
    CHECK(worst_rel < 1e-5, "scalar Q4_0 vs float math: worst relative error %g", worst_rel);
    printf("Q4_0 matmul: simd128 %s, relaxed %s (u7 runs %d, exact runs %d); scalar vs float worst rel %.3g\n",
           KERN_HAVE_SIMD128 ? "compared" : "absent", KERN_HAVE_RELAXED ? "compared" : "absent", u7_runs, exact_runs,
           worst_rel);
}

/* Rows of the encoder's lengths (panels of 2 groups at 3072) and longer than a repacking panel holds (8192): the
 * build's kernel against the scalar reference on its own activations where those are the int16 format. */
static void test_long_rows(void) {
    enum { T = 6, N = 10, KMAX = 8192 };
    static const int ks[] = {768, 3072, 8192};
    static float x[T * KMAX], wf[N * KMAX], a[T * N], c[T * N];
    static block_q4_0 q[N * KMAX / 32];
    static _Alignas(16) unsigned char m0[1 << 18], m1[1 << 18]; /* kern_qact_bytes(8, 8192) = 139264 */
    for (size_t s = 0; s < sizeof ks / sizeof ks[0]; s++) {
        const int K = ks[s];
        for (int i = 0; i < T * K; i++) x[i] = frand();
        for (int i = 0; i < N * K; i++) wf[i] = 0.05f * frand();
        q4_0_quantize_row(wf, q, (int64_t)N * K);
        kern_qact q0, q1;
        kern_qact_init(&q0, m0, T, K);
        kern_qact_init(&q1, m1, T, K);
        kern_quantize_act_scalar(x, &q0);
        kern_matmul_q4_0_scalar(a, N, &q0, q, bs, N);
#if KERN_HAVE_SIMD128
        kern_matmul_q4_0_simd128(c, N, &q0, q, bs, N);
        CHECK(memcmp(a, c, sizeof a) == 0, "SIMD128 Q4_0 differs from scalar at K %d", K);
#endif
#if KERN_HAVE_RELAXED
        kern_quantize_act_relaxed(x, &q1);
        kern_matmul_q4_0_relaxed(c, N, &q1, q, bs, N);
        kern_matmul_q4_0_u7_scalar(a, N, &q1, q, bs, N);
        CHECK(memcmp(a, c, sizeof a) == 0, "relaxed Q4_0 differs from its u7 scalar at K %d", K);
#endif
        (void)q1;
        (void)c;
    }
}

static void test_get_row(void) {
    enum { R = 5, C = 96 };
    static float tab[R * C], out[C], want[C];
    static block_q4_0 q[R * C / 32];
    for (int i = 0; i < R * C; i++) tab[i] = frand();
    q4_0_quantize_row(tab, q, R * C);
    xlmr_tensor t = {XLMR_TYPE_Q4_0, XLMR_LAYOUT_ROWS, {C, R}, q, sizeof q};
    for (int r = 0; r < R; r++) {
        kern_get_row(out, &t, r);
        q4_0_dequantize_row(q + r * (C / 32), want, C);
        CHECK(memcmp(out, want, sizeof out) == 0, "row %d", r);
    }
}

/* ---- the loader on the fixture ---- */

static unsigned char *cfg, *spm, *wts;
static size_t cfg_n, spm_n, wts_n;

/* emb_dtype -1: the dtype. Feeds bytes whole; NULL with the message in msg. */
static xlmr_model *load(const unsigned char *b, size_t n, int dtype, int emb_dtype, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(dtype);
    xlmr_loader_set_config(ld, (const char *)cfg, cfg_n);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    if (emb_dtype >= 0) xlmr_loader_set_embedding_type(ld, emb_dtype);
    xlmr_model *m = xlmr_loader_feed(ld, b, n) == XLMR_OK ? xlmr_loader_finish(ld) : NULL;
    if (msg) snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* the first occurrence of n bytes in hay (memmem is not C11) */
static unsigned char *find_bytes(unsigned char *hay, size_t hn, const char *needle, size_t n) {
    for (size_t i = 0; i + n <= hn; i++)
        if (memcmp(hay + i, needle, n) == 0) return hay + i;
    return NULL;
}

/* Every slot's type: the table's, the other matrices', the vectors' */
static int types_are(xlmr_model *m, int32_t table, int32_t matrices) {
    const int n = model_slot_count(&m->config);
    model_slot s;
    for (int i = 0; i < n; i++) {
        model_slot_get(m, i, &s);
        if (!s.t->data) continue;
        const int32_t want = s.kind != TENSOR_MATRIX ? XLMR_TYPE_F32 : s.desc->flags & TENSOR_ROW_LOOKUP ? table : matrices;
        if (s.t->type != want) {
            fprintf(stderr, "%s is %s\n", s.name, quant_type_name(s.t->type));
            return 0;
        }
    }
    return 1;
}

static void test_loader(void) {
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *f32 = load(wts, wts_n, XLMR_DTYPE_F32, -1, msg);
    xlmr_model *q4 = load(wts, wts_n, XLMR_DTYPE_Q4_0, -1, msg);
    CHECK(q4 != NULL, "dtype Q4_0: %s", msg);
    xlmr_model *q8 = load(wts, wts_n, XLMR_DTYPE_Q8_0, -1, msg);
    xlmr_model *q8e = load(wts, wts_n, XLMR_DTYPE_Q8_0, XLMR_DTYPE_Q4_0, msg);
    CHECK(q8e != NULL, "embedding type Q4_0: %s", msg);
    if (!f32 || !q4 || !q8 || !q8e) return;
    CHECK(types_are(q4, XLMR_TYPE_Q4_0, XLMR_TYPE_Q4_0), "dtype Q4_0: every matrix Q4_0, vectors F32");
    CHECK(types_are(q8e, XLMR_TYPE_Q4_0, XLMR_TYPE_Q8_0), "embedding type Q4_0: the table alone");
    const int64_t H = f32->config.hidden_size, V = f32->config.vocab_size;
    block_q4_0 *want = malloc(quant_type_size(XLMR_TYPE_Q4_0, H * V));
    q4_0_quantize_row((const float *)f32->w.tok_embd.data, want, H * V);
    CHECK(memcmp(want, q4->w.tok_embd.data, quant_type_size(XLMR_TYPE_Q4_0, H * V)) == 0 &&
              memcmp(want, q8e->w.tok_embd.data, quant_type_size(XLMR_TYPE_Q4_0, H * V)) == 0,
          "the table is q4_0_quantize_row of the F32 weights");
    free(want);
    CHECK(q8e->w.layers[1].ffn_up.nbytes == q8->w.layers[1].ffn_up.nbytes &&
              memcmp(q8e->w.layers[1].ffn_up.data, q8->w.layers[1].ffn_up.data, q8->w.layers[1].ffn_up.nbytes) == 0,
          "layers as with Q8_0 alone");
    CHECK(strstr(xlmr_model_info_json(q4), "\"weightType\":\"q4_0\",\"embeddingType\":\"q4_0\"") != NULL &&
              strstr(xlmr_model_info_json(q8e), "\"weightType\":\"q8_0\",\"embeddingType\":\"q4_0\"") != NULL,
          "info: %s", xlmr_model_info_json(q8e));

    /* GGUF round trip: the same weights block, general.file_type 2 (MOSTLY_Q4_0) for Q4_0 layers */
    xlmr_model *both[2] = {q4, q8e};
    for (int k = 0; k < 2; k++) {
        size_t gn;
        unsigned char *g = test_gguf_bytes(both[k], &gn);
        xlmr_model *back = load(g, gn, XLMR_DTYPE_F32, -1, msg);
        CHECK(back && back->weights_size == both[k]->weights_size &&
                  memcmp(back->weights_block, both[k]->weights_block, back->weights_size) == 0,
              "GGUF round trip %d: %s", k, msg);
        const unsigned char *ft = find_bytes(g, gn, "general.file_type", 17);
        uint32_t v = 0;
        if (ft) memcpy(&v, ft + 17 + 4, 4);
        CHECK(ft && v == (k == 0 ? 2u : 7u), "general.file_type %u", v);
        /* a Q4_0 tensor whose rows are 40 long: refused at its header, naming it */
        unsigned char *nm = find_bytes(g, gn, "token_embd.weight", 17);
        if (nm) {
            uint64_t ne0 = 40;
            memcpy(nm + 17 + 4, &ne0, 8);
            xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
            const int st = xlmr_loader_feed(ld, g, gn);
            CHECK(st == XLMR_ERR_FORMAT && strstr(xlmr_loader_error(ld), "Q4_0 tensor 'token_embd.weight'") &&
                      strstr(xlmr_loader_error(ld), "multiple of 32"),
                  "rows of 40: %d %s", st, xlmr_loader_error(ld));
            xlmr_loader_free(ld);
        }
        if (back) xlmr_model_free(back);
        free(g);
    }
    xlmr_model_free(f32);
    xlmr_model_free(q4);
    xlmr_model_free(q8);
    xlmr_model_free(q8e);

    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    CHECK(xlmr_loader_set_embedding_type(ld, 9) == XLMR_ERR_ARG, "unknown embedding type refused");
    xlmr_loader_free(ld);
    CHECK(xlmr_loader_new(4) == NULL, "unknown dtype refused");
}

/* The fixture with an FFN of 40 (the down projection's rows are 40 long): Q4_0 asked for every matrix fails naming
 * that tensor; Q8_0 keeps it in F16 and loads. */
static void test_rows_not_a_multiple_of_32(void) {
    enum { F = 40, H = 64, F0 = 256 };
    rw_entry e[128];
    const int n = st_entries(wts, e, 128);
    float *down = malloc(sizeof(float) * 2 * H * F);
    int nd = 0;
    for (int i = 0; i < n; i++) {
        const size_t len = strlen(e[i].name);
        if (strstr(e[i].name, "intermediate.dense.weight")) e[i].shape[0] = F, e[i].n = sizeof(float) * F * H;
        if (strstr(e[i].name, "intermediate.dense.bias")) e[i].shape[0] = F, e[i].n = sizeof(float) * F;
        if (len > 20 && strcmp(e[i].name + len - 20, ".output.dense.weight") == 0 && !strstr(e[i].name, "attention") && nd < 2) {
            float *d = down + (size_t)nd++ * H * F; /* the first F columns of each of the H rows */
            for (int r = 0; r < H; r++) memcpy(d + r * F, (const float *)(const void *)e[i].data + (size_t)r * F0, sizeof(float) * F);
            e[i].shape[1] = F, e[i].data = (const unsigned char *)d, e[i].n = sizeof(float) * H * F;
        }
    }
    size_t sn;
    unsigned char *st = st_write(e, n, &sn);
    char *cfg40 = malloc(cfg_n + 1), *at;
    memcpy(cfg40, cfg, cfg_n);
    cfg40[cfg_n] = 0;
    if ((at = strstr(cfg40, "\"intermediate_size\": 256")) != NULL) memcpy(at + 21, " 40", 3); /* 256 -> " 40" */
    unsigned char *keep = cfg;
    cfg = (unsigned char *)cfg40;
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *q8 = load(st, sn, XLMR_DTYPE_Q8_0, -1, msg);
    CHECK(nd == 2 && q8 && q8->w.layers[0].ffn_down.type == XLMR_TYPE_F16, "Q8_0 keeps rows of 40 in F16: %s", msg);
    xlmr_model *q4 = load(st, sn, XLMR_DTYPE_Q4_0, -1, msg);
    CHECK(!q4 && strstr(msg, "ffn_down") && strstr(msg, "Q4_0") && strstr(msg, "multiple of 32"), "Q4_0, rows of 40: %s", msg);
    if (q8) xlmr_model_free(q8);
    if (q4) xlmr_model_free(q4);
    cfg = keep;
    free(cfg40);
    free(st);
    free(down);
}

int main(void) {
    test_quantize();
    test_matmul();
    test_long_rows();
    test_get_row();
    cfg = test_read_file("tests/fixtures/config.json", &cfg_n);
    spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    wts = test_read_file("tests/fixtures/model.safetensors", &wts_n);
    CHECK(cfg && spm && wts, "fixtures");
    if (cfg && spm && wts) test_loader();
    if (cfg && spm && wts) test_rows_not_a_multiple_of_32();
    free(cfg);
    free(spm);
    free(wts);
    return test_report("test_q4_0");
}
