/* xlmr.h — the C API: what the wasm module exports and what native programs link.
 *
 * One obvious path:
 *   xlmr_loader *ld = xlmr_loader_new(XLMR_DTYPE_Q8_0);
 *   xlmr_loader_set_config(ld, json, n);        // HF folders only (GGUF carries its config)
 *   xlmr_loader_set_tokenizer(ld, spm, n);      // HF folders only (GGUF carries its tokenizer)
 *   while ((room = xlmr_loader_room(ld)) > 0) { copy ≤ room bytes to xlmr_loader_dest(ld); xlmr_loader_commit(ld, k); }
 *   xlmr_model *m = xlmr_loader_finish(ld);      // NULL: see xlmr_loader_error(ld)
 *   xlmr_loader_free(ld);
 *   ... xlmr_tokenize / xlmr_embed / xlmr_fill_mask ...
 *   xlmr_model_free(m);
 *
 * Every call that can fail returns a status (negative count = -status) and leaves a message in
 * xlmr_model_error(m) / xlmr_loader_error(ld). A failed call leaves the model usable. */
#ifndef XLMR_H
#define XLMR_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#ifdef __wasm__
#define XLMR_API(name) __attribute__((export_name(#name), visibility("default")))
#else
#define XLMR_API(name)
#endif

typedef struct xlmr_model xlmr_model;
typedef struct xlmr_loader xlmr_loader;

/* Weight type kept in memory when the source holds floats (safetensors). A GGUF keeps its types. Q4_0 needs rows of a
 * multiple of 32 (else the load fails naming the tensor); Q8_0 keeps such rows in F16. */
enum { XLMR_DTYPE_Q8_0 = 0, XLMR_DTYPE_F16 = 1, XLMR_DTYPE_F32 = 2, XLMR_DTYPE_Q4_0 = 3 };
enum { XLMR_POOL_NONE = 0, XLMR_POOL_CLS = 1, XLMR_POOL_MEAN = 2, XLMR_POOL_LAST = 3 };

/* Memory for the host to fill (inputs) or read (outputs). */
XLMR_API(xlmr_alloc) void *xlmr_alloc(size_t n);
XLMR_API(xlmr_free) void xlmr_free(void *p);

/* ---- loading ---- */
XLMR_API(xlmr_loader_new) xlmr_loader *xlmr_loader_new(int dtype);
XLMR_API(xlmr_loader_set_config) int xlmr_loader_set_config(xlmr_loader *ld, const char *json, size_t n);
XLMR_API(xlmr_loader_set_tokenizer) int xlmr_loader_set_tokenizer(xlmr_loader *ld, const uint8_t *bytes, size_t n);
/* The tokenizer from a Hugging Face tokenizer.json instead (converted repositories carry it and no
 * sentencepiece.bpe.model): a Unigram model in the XLM-R family's layouts, giving the .model's ids; its
 * pre-tokenizer decides the offsets rule (XLMR_OFFSETS_FILE) and its post-processor the pair template. */
XLMR_API(xlmr_loader_set_tokenizer_json) int xlmr_loader_set_tokenizer_json(xlmr_loader *ld, const char *json, size_t n);
/* A sentence-transformers folder's pooling: its Pooling module's config.json (json, n bytes: pooling_mode_cls_token,
 * _mean_tokens, _lasttoken; other modes are refused) and whether modules.json lists a Normalize module. They become
 * the model's embedding defaults (info JSON "pooling", "normalize") and are written to GGUF (bert.pooling_type,
 * xlmr.normalize). Before the weights' header. */
XLMR_API(xlmr_loader_set_pooling) int xlmr_loader_set_pooling(xlmr_loader *ld, const char *json, size_t n, int normalize);
/* The word-embedding table's type (an XLMR_DTYPE_*) when the source holds floats, instead of the loader's dtype; the
 * fill-mask decoder tied to it shares it. -1: the dtype (the default). Before the weights. */
XLMR_API(xlmr_loader_set_embedding_type) int xlmr_loader_set_embedding_type(xlmr_loader *ld, int dtype);
/* Where the next bytes of the weights file go, and how many may go there now (0: the file is complete,
 * or an error stopped it — see xlmr_loader_status). The format (GGUF or safetensors) is told by its first bytes. */
XLMR_API(xlmr_loader_dest) uint8_t *xlmr_loader_dest(xlmr_loader *ld);
XLMR_API(xlmr_loader_room) size_t xlmr_loader_room(xlmr_loader *ld);
XLMR_API(xlmr_loader_commit) int xlmr_loader_commit(xlmr_loader *ld, size_t n);
/* Convenience for native callers: copies n bytes through dest/room/commit. */
int xlmr_loader_feed(xlmr_loader *ld, const uint8_t *bytes, size_t n);
/* Sharded checkpoints (model.safetensors.index.json, pytorch_model.bin.index.json): give the index (json, n bytes)
 * before the first file, then stream the files its weight_map names one after another (each through dest/room/commit
 * until room is 0), calling xlmr_loader_next_file between two; the model is allocated at the first file's header
 * from the index's names and that file's (so an index may list only the files after an unsharded first one), each
 * file fills the tensors it holds, finish checks that every one was filled. Safetensors
 * and PyTorch shards may be mixed; GGUF files are not sharded. */
XLMR_API(xlmr_loader_set_index) int xlmr_loader_set_index(xlmr_loader *ld, const char *json, size_t n);
XLMR_API(xlmr_loader_next_file) int xlmr_loader_next_file(xlmr_loader *ld);
/* A file beyond the model's own whose state dict names its tensors without the model's prefix (BGE-M3's
 * colbert_linear.pt holds "weight" and "bias"): the prefix (e.g. "colbert_linear.", n bytes) goes before each of the
 * current file's names. Given before the file's first byte; xlmr_loader_next_file clears it. The index
 * (xlmr_loader_set_index) lists such files' tensors under their full names. */
XLMR_API(xlmr_loader_set_file_prefix) int xlmr_loader_set_file_prefix(xlmr_loader *ld, const char *prefix, size_t n);
/* Total file size once the header says it (0 before), and bytes taken so far (of the current file). */
XLMR_API(xlmr_loader_total) double xlmr_loader_total(xlmr_loader *ld);
XLMR_API(xlmr_loader_received) double xlmr_loader_received(xlmr_loader *ld);
XLMR_API(xlmr_loader_status) int xlmr_loader_status(xlmr_loader *ld);
XLMR_API(xlmr_loader_error) const char *xlmr_loader_error(xlmr_loader *ld);
/* Checks the file ended where its tables say and hands over the model (NULL on error). */
XLMR_API(xlmr_loader_finish) xlmr_model *xlmr_loader_finish(xlmr_loader *ld);
XLMR_API(xlmr_loader_free) void xlmr_loader_free(xlmr_loader *ld);

/* ---- saving: a loaded model as GGUF ---- */
/* The model serialized as GGUF v3: llama.cpp's keys and tensor names for XLM-R (general.architecture
 * "bert", bert.*, tokenizer.ggml.*), weights in the types they have in memory, the fill-mask head under
 * mlm.* (models/README.md). The same model gives the same bytes. Each xlmr_writer_chunk call moves to the
 * next piece and returns it (the header, then the weights straight from the model's memory);
 * xlmr_writer_chunk_len is that piece's length, 0 once the file is complete. The model must outlive the
 * writer. NULL on allocation failure (message in xlmr_model_error). */
typedef struct xlmr_writer xlmr_writer;
XLMR_API(xlmr_writer_new) xlmr_writer *xlmr_writer_new(xlmr_model *m);
XLMR_API(xlmr_writer_chunk) const uint8_t *xlmr_writer_chunk(xlmr_writer *w);
XLMR_API(xlmr_writer_chunk_len) size_t xlmr_writer_chunk_len(xlmr_writer *w);
XLMR_API(xlmr_writer_total) double xlmr_writer_total(xlmr_writer *w);
XLMR_API(xlmr_writer_free) void xlmr_writer_free(xlmr_writer *w);

/* ---- the model ---- */
XLMR_API(xlmr_model_free) void xlmr_model_free(xlmr_model *m);
XLMR_API(xlmr_model_error) const char *xlmr_model_error(xlmr_model *m);
/* The status of the last failed call on m (XLMR_OK after a success): for calls that return a pointer. */
XLMR_API(xlmr_model_status) int xlmr_model_status(xlmr_model *m);
/* {"hiddenSize":…,"numLayers":…,…} NUL-terminated, owned by the model. */
XLMR_API(xlmr_model_info_json) const char *xlmr_model_info_json(xlmr_model *m);
/* The instruction set this build's kernels were compiled for: "relaxed" (relaxed SIMD), "simd128" or "scalar".
 * Hosts report it (model.runtime.simd) rather than guess it from a file name. */
XLMR_API(xlmr_build_simd) const char *xlmr_build_simd(void);
/* What this engine's i32x4.relaxed_dot_i8x16_i7x16_add_s does with the saturating cases (kernels_relaxed.h,
 * KERN_DOT_*): 1 unsigned × signed exact (AVX-VNNI), 2 signed × signed exact (AVX-VNNI-INT8, Arm sdot), 3 saturating
 * (x86 without VNNI), 4 signed × signed in int16 pairs (Arm without dotprod; V8's baseline tier on any Arm), 5 other;
 * 0 in builds without relaxed SIMD. Runs the instruction: call once at load. */
XLMR_API(xlmr_dot_probe) int xlmr_dot_probe(void);
/* The exact int8 kernel for this engine's probe (runs it): 1 for probe 1, 2 for probes 2 and 4 (both exact on the
 * 8-bit activations, whichever of V8's tiers runs the code), -1 where there is none (probes 0, 3, 5). */
XLMR_API(xlmr_int8_kernel_exact) int xlmr_int8_kernel_exact(void);
/* The int8 GEMM kernel: kernel >= 0 sets it (0 the u7 pair form, 1 exact with u8 activations, 2 exact with s8:
 * the one xlmr_int8_kernel_exact names; relaxed builds only, before or between calls), < 0 only asks. Returns the
 * kernel in force, -1 for a kernel this build lacks; the SIMD128 build answers -1 to any kernel and 0 when asked. */
XLMR_API(xlmr_int8_kernel) int xlmr_int8_kernel(int kernel);

/* Text (UTF-8, n bytes) -> ids with <s> … </s>. max_len > 0 truncates to max_len ids keeping </s>.
 * Returns the count (ids at xlmr_result_ids) or -status. */
XLMR_API(xlmr_tokenize) int xlmr_tokenize(xlmr_model *m, const char *text, size_t n, int max_len);
XLMR_API(xlmr_result_ids) int32_t *xlmr_result_ids(xlmr_model *m);
/* xlmr_tokenize with offsets: every id's [start, end) in UTF-16 code units of text, as (count, 2) int32 at
 * xlmr_result_offsets; <s> </s> are (0, 0). rule XLMR_OFFSETS_HUB (the hub's tokenizer.json: no span holds
 * the whitespace its "▁" stands for, a lone "▁" spans the next word's first character) or
 * XLMR_OFFSETS_METASPACE (Metaspace alone: the whitespace included), or XLMR_OFFSETS_FILE: the one the tokenizer's
 * file implies (a tokenizer.json's pre-tokenizer; the hub rule for a .model or GGUF). Returns the count or -status. */
enum { XLMR_OFFSETS_FILE = -1, XLMR_OFFSETS_HUB = 0, XLMR_OFFSETS_METASPACE = 1 };
XLMR_API(xlmr_tokenize_offsets) int xlmr_tokenize_offsets(xlmr_model *m, const char *text, size_t n, int max_len, int rule);
XLMR_API(xlmr_result_offsets) int32_t *xlmr_result_offsets(xlmr_model *m);
/* <s> A </s></s> B </s> in windows. max_len <= 0: one window, no truncation. Else strategy
 * XLMR_TRUNC_LONGEST_FIRST (one id at a time from the longer text), XLMR_TRUNC_ONLY_FIRST / _ONLY_SECOND (that
 * text cut; -XLMR_ERR_TOO_LONG when the other leaves it no room). stride < 0: one window; stride >= 0 (only_*):
 * every window return_overflowing_tokens gives, consecutive slices of the cut text overlapping by stride ids
 * (-XLMR_ERR_ARG if stride is not below the room). Returns the window count or -status; all windows' ids
 * back to back at xlmr_result_ids, their offsets (into A's or B's own text) at xlmr_result_offsets, per id
 * 0 (A) / 1 (B) / -1 (added specials) at xlmr_result_sequence_ids, and windows + 1 start indices at
 * xlmr_result_window_starts (window w: ids [starts[w], starts[w + 1])). */
enum { XLMR_TRUNC_LONGEST_FIRST = 0, XLMR_TRUNC_ONLY_FIRST = 1, XLMR_TRUNC_ONLY_SECOND = 2 };
XLMR_API(xlmr_tokenize_pair) int xlmr_tokenize_pair(xlmr_model *m, const char *a, size_t na, const char *b, size_t nb, int max_len,
                                                    int strategy, int stride, int rule);
XLMR_API(xlmr_result_sequence_ids) int32_t *xlmr_result_sequence_ids(xlmr_model *m);
XLMR_API(xlmr_result_window_starts) int32_t *xlmr_result_window_starts(xlmr_model *m);
/* The piece of an id as the reference's convert_ids_to_tokens gives it; NUL-terminated UTF-8. */
XLMR_API(xlmr_token_piece) const char *xlmr_token_piece(xlmr_model *m, int id);
/* ids -> text as the reference decodes. Returns the byte length (text at xlmr_result_text) or -status. */
XLMR_API(xlmr_decode) int xlmr_decode(xlmr_model *m, const int32_t *ids, int n, int skip_special);
XLMR_API(xlmr_result_text) const char *xlmr_result_text(xlmr_model *m);

/* ids (B, T) row-major, right-padded with pad_id; lengths (B). out:
 *   XLMR_POOL_NONE (B, T, H) hidden states; XLMR_POOL_CLS / XLMR_POOL_MEAN (B, H), L2-normalised if normalize. */
XLMR_API(xlmr_embed) int xlmr_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T,
                                    int pooling, int normalize, float *out);
/* One sequence ids (T). For each <mask> in order: the top_k ids and softmax probabilities over all V.
 * out_ids, out_scores: (n_masks, top_k). Returns n_masks or -status (XLMR_ERR_NO_MASK when none). */
XLMR_API(xlmr_fill_mask) int xlmr_fill_mask(xlmr_model *m, const int32_t *ids, int T, int top_k, int32_t *out_ids,
                                            float *out_scores);
/* MLM logits (n_pos, V) at the given token positions of one sequence (tests, tools). */
XLMR_API(xlmr_logits) int xlmr_logits(xlmr_model *m, const int32_t *ids, int T, const int32_t *positions, int n_pos,
                                      float *out);

/* Task heads (the model's head: xlmr_model_info_json's "head"). ids, lengths as for xlmr_embed.
 * Sequence classification ("text-classification"): out (B, num_labels) logits, from the <s> row of each sequence.
 * Token-level heads ("token-classification": num_labels per token; "question-answering": 2, start and end logits):
 * out (B, T, n), zero past each length. Return 0 or a status; a model without that head: XLMR_ERR_UNSUPPORTED
 * (XLMR_ERR_ARG for an embedding-only model), the message naming the head it has. */
XLMR_API(xlmr_classify) int xlmr_classify(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T,
                                          float *out);
XLMR_API(xlmr_token_logits) int xlmr_token_logits(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B,
                                                  int T, float *out);
/* BGE-M3's three outputs in one pass (a model with colbert_linear and sparse_linear): dense (B, H) normalised <s>
 * rows, sparse (B, T) per-token lexical weights (ReLU; every token), colbert (B, T, H) normalised multi-vectors of
 * tokens 1 .. length - 1 (row 0 zero); any of the three may be NULL. Returns 0 or a status. */
XLMR_API(xlmr_m3_embed) int xlmr_m3_embed(xlmr_model *m, const int32_t *ids, const int32_t *lengths, int B, int T,
                                          float *dense, float *sparse, float *colbert);
/* The classification head's label names, id order, as a JSON array of strings ("[]" without one). */
XLMR_API(xlmr_model_labels_json) const char *xlmr_model_labels_json(xlmr_model *m);

/* ---- vocabulary trimming (vocab_trim.c) ----
 * A new model holding only the vocabulary the corpus (UTF-8 lines separated by '\n'; empty lines skipped) uses:
 * the pieces its lines segment into, the special tokens, every single-character piece of the Unicode pages
 * (128 code points) its characters are in, then the best-scoring other pieces of those pages while fewer than
 * vocab_size are kept (0: none). Kept ids keep their order; the corpus tokenizes to the same pieces (checked).
 * Write it with xlmr_writer_new, free it with xlmr_model_free. NULL on failure, m's error saying why (an empty
 * corpus or invalid UTF-8: XLMR_ERR_ARG). */
XLMR_API(xlmr_trim) xlmr_model *xlmr_trim(xlmr_model *m, const char *corpus, size_t n, int32_t vocab_size);
/* How many non-empty lines of text models a and b tokenize to the same pieces (their ids may differ), or
 * -status (the error on a). */
XLMR_API(xlmr_tokenize_same) int xlmr_tokenize_same(xlmr_model *a, xlmr_model *b, const char *text, size_t n);

#endif
