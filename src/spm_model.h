/* spm_model.h — a hand-written reader for SentencePiece model files (protobuf ModelProto, proto2).
 *
 * Reads only what changes encoding: the pieces (string, score, type), the normalizer spec
 * (precompiled charsmap, add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces) and the
 * trainer spec fields model_type, unk_id, byte_fallback, treat_whitespace_as_suffix. Unknown fields
 * are skipped; every length, varint and wire type is checked, and an error names the field and the
 * byte offset. The result points into the caller's bytes (valid while they are). */
#ifndef XLMR_SPM_MODEL_H
#define XLMR_SPM_MODEL_H

#include "common.h"

/* Piece types, as sentencepiece_model.proto numbers them (llama.cpp's token types use the same). */
enum {
    SPM_NORMAL = 1,
    SPM_UNKNOWN = 2,
    SPM_CONTROL = 3,
    SPM_USER_DEFINED = 4,
    SPM_UNUSED = 5,
    SPM_BYTE = 6,
};

/* TrainerSpec.model_type */
enum { SPM_MODEL_UNIGRAM = 1, SPM_MODEL_BPE = 2, SPM_MODEL_WORD = 3, SPM_MODEL_CHAR = 4 };

typedef struct spm_piece {
    const uint8_t *str; /* not NUL-terminated */
    uint32_t len;
    float score;
    int32_t type;
} spm_piece;

typedef struct spm_model {
    spm_piece *pieces; /* n_pieces, owned */
    size_t n_pieces;
    const uint8_t *charsmap; /* NormalizerSpec.precompiled_charsmap, may be NULL */
    size_t charsmap_len;
    int add_dummy_prefix, remove_extra_whitespaces, escape_whitespaces; /* proto defaults: 1, 1, 1 */
    int model_type;                                                     /* default SPM_MODEL_UNIGRAM */
    int byte_fallback, treat_whitespace_as_suffix;                      /* default 0 */
    int32_t trainer_unk_id;                                             /* default 0 */
} spm_model;

/* Parses bytes[0..n) into *out (zeroed first). On error *out holds nothing to free. */
xlmr_status spm_model_parse(const uint8_t *bytes, size_t n, spm_model *out, xlmr_error *err);
void spm_model_free(spm_model *m);

#endif
