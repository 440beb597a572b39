/* spm_model.c — SentencePiece ModelProto reader (see spm_model.h).
 *
 * Protobuf wire format: a message is a sequence of (key varint = field << 3 | wire type, value).
 * Wire types used here: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32; groups (3, 4) are
 * rejected. Offsets in messages are absolute byte offsets in the file. */
#include "spm_model.h"

typedef struct pb_reader {
    const uint8_t *base; /* start of the file, for absolute offsets in messages */
    size_t pos, end;
    const char *msg; /* message name for errors */
} pb_reader;

static xlmr_status pb_varint(pb_reader *r, uint64_t *out, xlmr_error *err) {
    uint64_t v = 0;
    size_t start = r->pos;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->pos >= r->end)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: varint at offset %zu runs past the end (offset %zu)",
                             r->msg, start, r->end);
        uint8_t b = r->base[r->pos++];
        if (shift == 63 && b > 1)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: varint at offset %zu overflows 64 bits", r->msg, start);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return XLMR_OK;
        }
    }
    return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: varint at offset %zu is longer than 10 bytes", r->msg, start);
}

/* One field: its number, wire type and value (varint / fixed in *v, bytes in *data,*len). */
typedef struct pb_field {
    uint32_t num;
    uint32_t wire;
    size_t offset; /* of the key */
    uint64_t v;
    size_t data, len; /* wire type 2: absolute offset and length of the payload */
} pb_field;

static xlmr_status pb_next(pb_reader *r, pb_field *f, xlmr_error *err) {
    xlmr_status st;
    uint64_t key;
    f->offset = r->pos;
    if ((st = pb_varint(r, &key, err))) return st;
    f->wire = (uint32_t)(key & 7);
    uint64_t num = key >> 3;
    if (num == 0 || num > 536870911u)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: invalid field number %llu at offset %zu", r->msg,
                         (unsigned long long)num, f->offset);
    f->num = (uint32_t)num;
    switch (f->wire) {
    case 0:
        return pb_varint(r, &f->v, err);
    case 1:
        if (r->end - r->pos < 8)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: field %u at offset %zu: 8-byte value runs past the end (offset %zu)",
                             r->msg, f->num, f->offset, r->end);
        f->v = xlmr_rd_u64(r->base + r->pos);
        r->pos += 8;
        return XLMR_OK;
    case 5:
        if (r->end - r->pos < 4)
            return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: field %u at offset %zu: 4-byte value runs past the end (offset %zu)",
                             r->msg, f->num, f->offset, r->end);
        f->v = xlmr_rd_u32(r->base + r->pos);
        r->pos += 4;
        return XLMR_OK;
    case 2: {
        uint64_t len;
        if ((st = pb_varint(r, &len, err))) return st;
        if (len > r->end - r->pos)
            return xlmr_fail(err, XLMR_ERR_FORMAT,
                             "sentencepiece model: %s: field %u at offset %zu: length %llu runs past the end of the message (%zu bytes left)",
                             r->msg, f->num, f->offset, (unsigned long long)len, r->end - r->pos);
        f->data = r->pos;
        f->len = (size_t)len;
        r->pos += (size_t)len;
        return XLMR_OK;
    }
    default:
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s: field %u at offset %zu has unsupported wire type %u", r->msg,
                         f->num, f->offset, f->wire);
    }
}

static xlmr_status pb_expect(const pb_reader *r, const pb_field *f, uint32_t wire, const char *name, xlmr_error *err) {
    if (f->wire == wire) return XLMR_OK;
    return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: %s.%s (field %u) at offset %zu has wire type %u, expected %u", r->msg,
                     name, f->num, f->offset, f->wire, wire);
}

static xlmr_status parse_piece(const uint8_t *base, const pb_field *outer, size_t index, spm_piece *p, xlmr_error *err) {
    pb_reader r = {base, outer->data, outer->data + outer->len, "SentencePiece"};
    xlmr_status st;
    int have_piece = 0;
    p->str = NULL;
    p->len = 0;
    p->score = 0.0f;
    p->type = SPM_NORMAL;
    while (r.pos < r.end) {
        pb_field f;
        if ((st = pb_next(&r, &f, err))) return st;
        switch (f.num) {
        case 1:
            if ((st = pb_expect(&r, &f, 2, "piece", err))) return st;
            if (f.len > UINT32_MAX)
                return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu at offset %zu is too long (%zu bytes)", index, f.offset, f.len);
            p->str = base + f.data;
            p->len = (uint32_t)f.len;
            have_piece = 1;
            break;
        case 2:
            if ((st = pb_expect(&r, &f, 5, "score", err))) return st;
            {
                uint32_t u = (uint32_t)f.v;
                memcpy(&p->score, &u, 4);
            }
            break;
        case 3:
            if ((st = pb_expect(&r, &f, 0, "type", err))) return st;
            if (f.v < SPM_NORMAL || f.v > SPM_BYTE)
                return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu: type %llu at offset %zu is not a known piece type (1..6)",
                                 index, (unsigned long long)f.v, f.offset);
            p->type = (int32_t)f.v;
            break;
        default:
            break;
        }
    }
    if (!have_piece || p->len == 0)
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu at offset %zu has an empty string", index, outer->offset);
    if (memchr(p->str, 0, p->len))
        return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: piece %zu at offset %zu contains a NUL byte", index, outer->offset);
    return XLMR_OK;
}

static xlmr_status parse_bool(const pb_reader *r, const pb_field *f, const char *name, int *out, xlmr_error *err) {
    xlmr_status st = pb_expect(r, f, 0, name, err);
    if (st) return st;
    *out = f->v != 0;
    return XLMR_OK;
}

static xlmr_status parse_trainer(const uint8_t *base, const pb_field *outer, spm_model *m, xlmr_error *err) {
    pb_reader r = {base, outer->data, outer->data + outer->len, "TrainerSpec"};
    xlmr_status st;
    while (r.pos < r.end) {
        pb_field f;
        if ((st = pb_next(&r, &f, err))) return st;
        switch (f.num) {
        case 3:
            if ((st = pb_expect(&r, &f, 0, "model_type", err))) return st;
            m->model_type = f.v > 100 ? 100 : (int)f.v;
            break;
        case 24:
            if ((st = parse_bool(&r, &f, "treat_whitespace_as_suffix", &m->treat_whitespace_as_suffix, err))) return st;
            break;
        case 35:
            if ((st = parse_bool(&r, &f, "byte_fallback", &m->byte_fallback, err))) return st;
            break;
        case 40:
            if ((st = pb_expect(&r, &f, 0, "unk_id", err))) return st;
            m->trainer_unk_id = (int32_t)(uint32_t)f.v; /* int32 varints are sign-extended to 64 bits */
            break;
        default:
            break;
        }
    }
    return XLMR_OK;
}

static xlmr_status parse_normalizer(const uint8_t *base, const pb_field *outer, spm_model *m, xlmr_error *err) {
    pb_reader r = {base, outer->data, outer->data + outer->len, "NormalizerSpec"};
    xlmr_status st;
    while (r.pos < r.end) {
        pb_field f;
        if ((st = pb_next(&r, &f, err))) return st;
        switch (f.num) {
        case 2:
            if ((st = pb_expect(&r, &f, 2, "precompiled_charsmap", err))) return st;
            m->charsmap = f.len ? base + f.data : NULL;
            m->charsmap_len = f.len;
            break;
        case 3:
            if ((st = parse_bool(&r, &f, "add_dummy_prefix", &m->add_dummy_prefix, err))) return st;
            break;
        case 4:
            if ((st = parse_bool(&r, &f, "remove_extra_whitespaces", &m->remove_extra_whitespaces, err))) return st;
            break;
        case 5:
            if ((st = parse_bool(&r, &f, "escape_whitespaces", &m->escape_whitespaces, err))) return st;
            break;
        default:
            break;
        }
    }
    return XLMR_OK;
}

xlmr_status spm_model_parse(const uint8_t *bytes, size_t n, spm_model *out, xlmr_error *err) {
    spm_model m;
    memset(&m, 0, sizeof m);
    m.add_dummy_prefix = m.remove_extra_whitespaces = m.escape_whitespaces = 1;
    m.model_type = SPM_MODEL_UNIGRAM;
    memset(out, 0, sizeof *out);
    if (!bytes || n == 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: the file is empty");

    /* Pass 1: count the pieces, check the framing of every top-level field. */
    pb_reader r = {bytes, 0, n, "ModelProto"};
    xlmr_status st;
    size_t count = 0;
    while (r.pos < r.end) {
        pb_field f;
        if ((st = pb_next(&r, &f, err))) return st;
        if (f.num == 1) {
            if ((st = pb_expect(&r, &f, 2, "pieces", err))) return st;
            count++;
        }
    }
    if (count == 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "sentencepiece model: no pieces (field 1 of ModelProto) in %zu bytes", n);
    m.pieces = XLMR_CALLOC(count, sizeof *m.pieces);
    if (!m.pieces) return xlmr_fail(err, XLMR_ERR_NOMEM, "sentencepiece model: cannot allocate %zu pieces", count);

    /* Pass 2: the content. */
    r.pos = 0;
    while (r.pos < r.end) {
        pb_field f;
        if ((st = pb_next(&r, &f, err))) goto fail;
        if (f.num == 1) {
            if ((st = parse_piece(bytes, &f, m.n_pieces, &m.pieces[m.n_pieces], err))) goto fail;
            m.n_pieces++;
        } else if (f.num == 2) {
            if ((st = pb_expect(&r, &f, 2, "trainer_spec", err))) goto fail;
            if ((st = parse_trainer(bytes, &f, &m, err))) goto fail;
        } else if (f.num == 3) {
            if ((st = pb_expect(&r, &f, 2, "normalizer_spec", err))) goto fail;
            if ((st = parse_normalizer(bytes, &f, &m, err))) goto fail;
        }
    }
    *out = m;
    return XLMR_OK;
fail:
    XLMR_FREE(m.pieces);
    return st;
}

void spm_model_free(spm_model *m) {
    if (!m) return;
    XLMR_FREE(m->pieces);
    m->pieces = NULL;
    m->n_pieces = 0;
}
