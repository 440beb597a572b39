/* Long inputs (issue 19): a model cut from the fixture (its first layer, the first H = 32 of its 64 dims, F = 64 of its
 * 256: attention's T² work is what costs here) with bge-m3's 8194 positions (the position table extended, rows past
 * the fixture's 514 repeating rows 2 .. 513) has maxTokens 8192, accepts an 8192-token input (one sequence, far over
 * ENC_GROUP_ROWS: it runs alone) and refuses 8193; its activation scratch stays within a bound linear in T:
 *
 *   cap(T) <= T · (4 (6H + F) + 2 max(H, F) + 4 P (4 dh + ATT_QBLOCK)) + 1 MiB      (P = par_threads())
 *
 * (x and alt; q, k, v, ctx or ffn; the int8 activations; P attention slots of a head's q, k, v and a block of
 * ATT_QBLOCK queries' scores, in floats), and grows at most 4 × (+ 1 MiB) from T = 2048 to 8192. A (T, T) score matrix
 * of one head alone would be 4 T² bytes: 256 MiB at T = 8192, against this bound's ~12 MiB at this model's size. */
#include "encoder.h"
#include "test.h"
#include "test_safetensors.h"
#include "threads.h"

enum { FIXTURE_H = 64, FIXTURE_F = 256, H = 32, F = 64, HEADS = 2, FIXTURE_ROWS = 514, POSITIONS = 8194 };
enum { T_MAX = POSITIONS - 2 };

static const char long_config[] =
    "{\"architectures\": [\"XLMRobertaForMaskedLM\"], \"model_type\": \"xlm-roberta\", \"hidden_act\": \"gelu\", "
    "\"hidden_size\": 32, \"intermediate_size\": 64, \"layer_norm_eps\": 1e-05, \"max_position_embeddings\": 8194, "
    "\"num_attention_heads\": 2, \"num_hidden_layers\": 1, \"pad_token_id\": 1, \"position_embedding_type\": "
    "\"absolute\", \"type_vocab_size\": 1, \"vocab_size\": 8002}";

/* A fixture dimension cut down: H for the fixture's hidden size, F for its intermediate size, others kept. */
static int64_t cut(int64_t d) { return d == FIXTURE_H ? H : d == FIXTURE_F ? F : d; }

/* The fixture's F32 tensors but layer 1's, each cut to its leading (cut(rows), cut(cols)) block (a vector: (1, cols)) into its own buffer in
 * bufs[], the position table made (POSITIONS, H); the safetensors file (malloc'd). */
static unsigned char *long_model(const unsigned char *fixture, float **bufs, size_t *n) {
    rw_entry e[260];
    const int all = st_entries(fixture, e, 250);
    int k = 0;
    for (int i = 0; i < all; i++) {
        if (strstr(e[i].name, "layer.1.") || strcmp(e[i].dtype, "F32") != 0) continue; /* and the I64 position_ids */
        rw_entry t = e[i];
        const int64_t cols = t.n_dims > 1 ? t.shape[1] : t.shape[0], rows = t.n_dims > 1 ? t.shape[0] : 1;
        const int64_t nc = cut(cols), nr = strstr(t.name, "position_embeddings") ? POSITIONS : rows == 1 ? 1 : cut(rows);
        const float *src = (const float *)(const void *)t.data;
        float *dst = bufs[k] = malloc((size_t)(nr * nc) * sizeof(float));
        for (int64_t r = 0; r < nr; r++) {
            const int64_t from = r < rows ? r : 2 + (r - 2) % (rows - 2); /* positions: rows 2 .. 513 again */
            memcpy(dst + r * nc, src + from * cols, (size_t)nc * sizeof(float));
        }
        t.shape[0] = t.n_dims > 1 ? nr : nc;
        t.shape[1] = nc;
        t.data = (const unsigned char *)dst;
        t.n = (size_t)(nr * nc) * sizeof(float);
        e[k++] = t;
    }
    bufs[k] = NULL;
    return st_write(e, k, n);
}

static xlmr_model *load(const unsigned char *w, size_t wn, const unsigned char *spm, size_t spm_n, char *msg) {
    xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
    xlmr_loader_set_config(ld, long_config, sizeof long_config - 1);
    xlmr_loader_set_tokenizer(ld, spm, spm_n);
    xlmr_model *m = xlmr_loader_feed(ld, w, wn) ? NULL : xlmr_loader_finish(ld);
    snprintf(msg, XLMR_ERROR_MSG_MAX, "%s", xlmr_loader_error(ld));
    xlmr_loader_free(ld);
    return m;
}

/* One sequence of T ids (<s> pieces </s>, never a special piece) embedded with mean pooling; the status. */
static int embed(xlmr_model *m, int T, float *out) {
    int32_t *ids = malloc((size_t)T * sizeof(int32_t)), len = T;
    for (int t = 0; t < T; t++) ids[t] = 5 + (int32_t)(((uint32_t)t * 2654435761u) % 7990u);
    ids[0] = 0, ids[T - 1] = 2;
    const int st = xlmr_embed(m, ids, &len, 1, T, XLMR_POOL_MEAN, 1, out);
    free(ids);
    return st;
}

static size_t linear_bound(int T) {
    const size_t P = (size_t)par_threads(), dh = H / HEADS, wide = H > F ? H : F;
    return (size_t)T * (4 * (6 * H + F) + 2 * wide + 4 * P * (4 * dh + ATT_QBLOCK)) + ((size_t)1 << 20);
}

int main(void) {
    size_t fixture_n, spm_n, wn;
    unsigned char *fixture = test_read_file("tests/fixtures/model.safetensors", &fixture_n);
    unsigned char *spm = test_read_file("tests/fixtures/sentencepiece.bpe.model", &spm_n);
    if (!fixture || !spm) return 1;
    float *bufs[261];
    unsigned char *w = long_model(fixture, bufs, &wn);
    char msg[XLMR_ERROR_MSG_MAX];
    xlmr_model *m = load(w, wn, spm, spm_n, msg);
    CHECK(m && m->config.max_positions == POSITIONS && m->config.max_tokens == T_MAX, "loads with maxTokens %d: %s",
          m ? (int)m->config.max_tokens : -1, msg);
    if (m) {
        float out[H];
        CHECK(embed(m, 2048, out) == XLMR_OK, "2048 tokens: %s", xlmr_model_error(m));
        const size_t cap_2048 = m->scratch ? m->scratch->cap : 0;
        CHECK(embed(m, T_MAX, out) == XLMR_OK, "8192 tokens: %s", xlmr_model_error(m));
        const size_t cap_8192 = m->scratch ? m->scratch->cap : 0;
        double norm = 0;
        int finite = 1;
        for (int i = 0; i < H; i++) finite &= isfinite(out[i]), norm += (double)out[i] * out[i];
        CHECK(finite && fabs(norm - 1.0) < 1e-4, "8192 tokens: a finite unit vector (norm² %g)", norm);
        CHECK(cap_8192 <= linear_bound(T_MAX), "scratch at 8192 tokens: %zu bytes, linear bound %zu", cap_8192,
              linear_bound(T_MAX));
        CHECK(cap_8192 <= 4 * cap_2048 + ((size_t)1 << 20), "scratch from 2048 to 8192 tokens: %zu -> %zu bytes",
              cap_2048, cap_8192);
        printf("scratch: %zu bytes at 2048 tokens, %zu at 8192 (linear bound %zu)\n", cap_2048, cap_8192,
               linear_bound(T_MAX));
        CHECK(embed(m, T_MAX + 1, out) == -XLMR_ERR_TOO_LONG, "8193 tokens refused: %s", xlmr_model_error(m));
        CHECK(embed(m, 16, out) == XLMR_OK, "usable after the refusal: %s", xlmr_model_error(m));
    }
    model_free(m);
    free(w);
    for (int i = 0; bufs[i]; i++) free(bufs[i]);
    free(fixture);
    free(spm);
    return test_report("test_long_input");
}
