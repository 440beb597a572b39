/* loader_torch.c — a PyTorch checkpoint (torch.save's zip, torch_zip.h) read front to back: data.pkl (first in
 * every torch version's archives) is parsed as it arrives until its STOP (torch_pickle.h), its tensors are mapped
 * to the model's slots as a safetensors header's are (loader_hf.c); then each data/<key> entry is a storage whose
 * bytes are planned as segments (the views that use it, in offset order, the rest skipped) and streamed through
 * the data phase (loader.c), converted as they arrive. The records between storages (descriptors, small entries,
 * the central directory) pass through the header buffer. A storage two tensors share (a tied decoder) is read once:
 * only the tensor the slot prefers takes its bytes. */
#include "loader_internal.h"

#include <stdio.h>

#include "safetensors.h"
#include "torch_pickle.h"
#include "torch_zip.h"

#define TS_FORMAT "PyTorch checkpoint"
#define TS_SMALL_MAX (64 * 1024)  /* version, byteorder & co: a few bytes each */
#define TS_RECORD_WANT 512        /* bytes asked for at once between storages: a descriptor and the next header */

enum { TS_ENTRY, TS_PICKLE, TS_SMALL, TS_DESCRIPTOR, TS_TRAILER, TS_END };

typedef struct ld_torch {
    int state;
    size_t at;            /* parse position in ld->hbuf */
    char entry[128];      /* the current entry's path inside the archive, for messages */
    int has_descriptor, zip64;
    uint64_t entry_size;  /* of the current entry, when known */
    int is_byteorder;
    tp_state_dict sd;
    int have_pickle;
    int *slot_of;         /* per tensor of sd: its slot, -1: not used */
    uint8_t *seen;        /* per storage of sd: its entry has been read */
    int storage;          /* the storage streaming now */
    size_t seg_cap;
} ld_torch;

static int ts_fail(xlmr_loader *ld, const char *what) {
    xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": %s", what);
    return 0;
}

/* The record readers return 1 (read, go on), TS_WAIT (more bytes needed) or 0 (failed: ld->err). */
#define TS_WAIT 2

/* The parser needs `need` bytes from its position (want: ask for that many); drops what it has read. */
static int ts_wait(xlmr_loader *ld, ld_torch *t, size_t need, size_t want) {
    memmove(ld->hbuf, ld->hbuf + t->at, ld->hlen - t->at);
    ld->hlen -= t->at;
    t->at = 0;
    ld->hneed = need;
    ld->hwant = want > need ? want : need;
    return TS_WAIT;
}

/* sd's tensors as the name mapper's list (shapes and dtypes; offsets are the pickle's business). */
static st_tensor *ts_tensor_list(const tp_state_dict *sd) {
    st_tensor *st = XLMR_CALLOC(sd->n ? sd->n : 1, sizeof *st);
    if (!st) return NULL;
    for (size_t i = 0; i < sd->n; i++) {
        const tp_tensor *p = &sd->tensors[i];
        st[i].name = p->name;
        st[i].name_len = p->name_len;
        st[i].dtype = p->dtype;
        st[i].dtype_name = p->dtype_name;
        st[i].n_dims = p->n_dims;
        memcpy(st[i].shape, p->shape, sizeof p->shape);
    }
    return st;
}

/* Each tensor that fills a slot: a contiguous view lying inside its storage. */
static int ts_check_views(xlmr_loader *ld, ld_torch *t) {
    for (size_t i = 0; i < t->sd.n; i++) {
        if (t->slot_of[i] < 0) continue;
        const tp_tensor *v = &t->sd.tensors[i];
        const tp_storage *s = &t->sd.storages[v->storage];
        if (!tp_contiguous(v)) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": tensor '%.100s' is a non-contiguous view of its storage "
                      "(strides not row-major); save the state dict with contiguous tensors", v->name);
            return 0;
        }
        const uint64_t begin = v->offset * v->elem_size, len = tp_numel(v) * v->elem_size, have = s->numel * s->elem_size;
        if (begin > have || len > have - begin) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": tensor '%.100s' needs bytes [%llu, %llu) of storage "
                      "data/%.40s, which holds only %llu: the storage is shorter than its tensor", v->name,
                      (unsigned long long)begin, (unsigned long long)(begin + len), s->key, (unsigned long long)have);
            return 0;
        }
    }
    return 1;
}

/* data.pkl is parsed: the model, its slots and the conversion buffers. */
static int ts_plan(xlmr_loader *ld, ld_torch *t) {
    st_tensor *st = ts_tensor_list(&t->sd);
    int *from = st ? ld_hf_begin(ld, st, t->sd.n, TS_FORMAT) : NULL;
    XLMR_FREE(st);
    if (!from) return st ? 0 : (xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), 0);
    const int n_slots = model_slot_count(&ld->m->config);
    t->slot_of = XLMR_MALLOC((t->sd.n ? t->sd.n : 1) * sizeof(int));
    t->seen = XLMR_CALLOC(t->sd.n_storages ? t->sd.n_storages : 1, 1);
    ld->stage = XLMR_MALLOC(LOADER_STAGE_BYTES);
    ld->fbuf = XLMR_MALLOC(LOADER_STAGE_BYTES / 2 * sizeof(float));
    if (!t->slot_of || !t->seen || !ld->stage || !ld->fbuf) {
        XLMR_FREE(from);
        xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < t->sd.n; i++) t->slot_of[i] = -1;
    for (int s = 0; s < n_slots; s++)
        if (from[s] >= 0) t->slot_of[from[s]] = s;
    XLMR_FREE(from);
    t->have_pickle = 1;
    return ts_check_views(ld, t);
}

/* The used views of storage s, by offset, into idx; their count. */
static size_t ts_views_of(const ld_torch *t, int s, size_t *idx) {
    size_t k = 0;
    for (size_t i = 0; i < t->sd.n; i++) {
        if (t->slot_of[i] < 0 || t->sd.tensors[i].storage != s) continue;
        size_t j = k++;
        for (; j > 0 && t->sd.tensors[idx[j - 1]].offset > t->sd.tensors[i].offset; j--) idx[j] = idx[j - 1];
        idx[j] = i;
    }
    return k;
}

static ld_seg *ts_seg(xlmr_loader *ld, ld_torch *t, uint64_t len) {
    ld_seg *sg = ld_seg_push(ld, &t->seg_cap);
    if (!sg) xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory");
    else sg->len = len;
    return sg;
}

/* Storage s's bytes as segments: the views that fill slots in offset order, the bytes between them skipped. */
static int ts_plan_storage(xlmr_loader *ld, ld_torch *t, int s) {
    const tp_storage *sto = &t->sd.storages[s];
    const xlmr_config *c = &ld->m->config;
    size_t *idx = XLMR_MALLOC((t->sd.n ? t->sd.n : 1) * sizeof(size_t));
    if (!idx) return xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), 0;
    const size_t k = ts_views_of(t, s, idx);
    ld->n_segs = ld->seg_i = 0;
    ld->seg_pos = ld->seg_elems = 0;
    ld->stage_len = 0;
    uint64_t at = 0;
    int ok = 1;
    for (size_t j = 0; ok && j < k; j++) {
        const tp_tensor *v = &t->sd.tensors[idx[j]];
        const uint64_t begin = v->offset * v->elem_size, len = tp_numel(v) * v->elem_size;
        if (begin < at) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": tensors '%.100s' and '%.100s' overlap in storage "
                      "data/%.40s but fill different weights", t->sd.tensors[idx[j - 1]].name, v->name, sto->key);
            ok = 0;
            break;
        }
        ld_seg *sg;
        if (begin > at && !ts_seg(ld, t, begin - at)) ok = 0;
        if (!ok || len == 0 || !(sg = ts_seg(ld, t, len))) continue;
        model_slot ms;
        model_slot_get(ld->m, t->slot_of[idx[j]], &ms);
        sg->slot = t->slot_of[idx[j]];
        sg->src = v->dtype;
        sg->skip = ms.desc->flags & TENSOR_POSITIONS ? (uint64_t)model_position_offset(c) * (uint64_t)c->hidden_size : 0;
        at = begin + len;
    }
    const uint64_t bytes = sto->numel * sto->elem_size;
    if (ok && bytes > at && !ts_seg(ld, t, bytes - at)) ok = 0;
    XLMR_FREE(idx);
    return ok;
}

static int ts_path_is(const char *p, size_t n, const char *s) { return strlen(s) == n && memcmp(p, s, n) == 0; }

/* A local header at the parse position: which entry, and what reads its data. 0: wait or failed (ld->err). */
static int ts_entry(xlmr_loader *ld, ld_torch *t) {
    tz_local h;
    size_t need = 0, plen;
    const int r = tz_local_header(ld->hbuf + t->at, ld->hlen - t->at, &h, &need, &ld->err);
    if (r < 0) return 0;
    if (r == 0) return ts_wait(ld, t, need, need + TS_RECORD_WANT);
    const char *path = tz_entry_path(&h, &plen);
    snprintf(t->entry, sizeof t->entry, "%.*s", (int)(plen < 100 ? plen : 100), path);
    t->has_descriptor = h.has_descriptor;
    t->zip64 = h.zip64;
    t->entry_size = h.size;
    t->at += h.header_len;
    t->is_byteorder = ts_path_is(path, plen, "byteorder");
    if (ts_path_is(path, plen, "data.pkl")) {
        if (t->have_pickle) return ts_fail(ld, "two data.pkl entries");
        t->state = TS_PICKLE;
        return 1;
    }
    if (plen > 5 && memcmp(path, "data/", 5) == 0) {
        if (!t->have_pickle)
            return ts_fail(ld, "a storage entry before data.pkl: a reader that cannot seek needs data.pkl first, as "
                               "torch.save writes it");
        int s = 0;
        for (; s < (int)t->sd.n_storages && !ts_path_is(path + 5, plen - 5, t->sd.storages[s].key); s++) {}
        if (s == (int)t->sd.n_storages) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": entry %s is no storage of data.pkl", t->entry);
            return 0;
        }
        if (t->seen[s]) return ts_fail(ld, "a storage entry twice");
        const uint64_t bytes = t->sd.storages[s].numel * t->sd.storages[s].elem_size;
        if (!t->has_descriptor && h.size != bytes) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": entry %s holds %llu bytes but its storage needs %llu",
                      t->entry, (unsigned long long)h.size, (unsigned long long)bytes);
            return 0;
        }
        t->seen[s] = 1;
        t->storage = s;
        t->entry_size = bytes;
        if (!ts_plan_storage(ld, t, s)) return 0;
        t->state = t->has_descriptor ? TS_DESCRIPTOR : TS_ENTRY;
        if (ld->n_segs) ld->phase = LD_DATA;
        return 1;
    }
    t->state = TS_SMALL;
    return 1;
}

/* data.pkl, from the parse position to its STOP. */
static int ts_pickle(xlmr_loader *ld, ld_torch *t) {
    const size_t avail = ld->hlen - t->at;
    if (!t->has_descriptor && avail < t->entry_size) return ts_wait(ld, t, (size_t)t->entry_size, (size_t)t->entry_size);
    int incomplete = 0;
    if (tp_parse(ld->hbuf + t->at, avail, &t->sd, &incomplete, &ld->err) != XLMR_OK) return 0;
    if (incomplete) {
        if (!t->has_descriptor) return ts_fail(ld, "data.pkl ends before its STOP");
        const size_t step = avail / 2 > 4096 ? avail / 2 : 4096;
        return ts_wait(ld, t, avail + 1, avail + step);
    }
    if (!t->has_descriptor && t->entry_size != t->sd.pickle_len) return ts_fail(ld, "bytes after data.pkl's STOP");
    t->at += t->sd.pickle_len;
    t->entry_size = t->sd.pickle_len;
    t->state = t->has_descriptor ? TS_DESCRIPTOR : TS_ENTRY;
    return ts_plan(ld, t);
}

/* version, byteorder, .format_version & co: read and skipped (a big-endian byteorder refused). */
static int ts_small(xlmr_loader *ld, ld_torch *t) {
    const size_t avail = ld->hlen - t->at;
    int64_t size = (int64_t)t->entry_size;
    if (t->has_descriptor) {
        size = tz_find_descriptor(ld->hbuf + t->at, avail);
        if (size < 0 && avail > TS_SMALL_MAX) {
            xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": entry %s has no data descriptor in its first %d bytes",
                      t->entry, TS_SMALL_MAX);
            return 0;
        }
        if (size < 0) return ts_wait(ld, t, avail + 1, avail + TS_RECORD_WANT);
    } else if (t->entry_size > TS_SMALL_MAX) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": unexpected entry %s of %llu bytes", t->entry,
                  (unsigned long long)t->entry_size);
        return 0;
    } else if (avail < t->entry_size) return ts_wait(ld, t, (size_t)t->entry_size, (size_t)t->entry_size);
    const uint8_t *p = ld->hbuf + t->at;
    if (t->is_byteorder && !(size >= 6 && memcmp(p, "little", 6) == 0))
        return ts_fail(ld, "a big-endian checkpoint (its byteorder entry is not 'little'); load it with torch and save it again");
    t->at += (size_t)size;
    t->entry_size = (uint64_t)size;
    t->state = t->has_descriptor ? TS_DESCRIPTOR : TS_ENTRY;
    return 1;
}

/* What follows an entry: another entry or the central directory (then the end records). */
static int ts_next_record(xlmr_loader *ld, ld_torch *t) {
    if (ld->hlen - t->at < 4) return ts_wait(ld, t, 4, TS_RECORD_WANT);
    if (xlmr_rd_u32(ld->hbuf + t->at) == TZ_LOCAL_SIG) return ts_entry(ld, t);
    if (!t->have_pickle) return ts_fail(ld, "the archive holds no data.pkl (not a torch.save checkpoint)");
    for (size_t s = 0; s < t->sd.n_storages; s++) {
        if (t->seen[s]) continue;
        for (size_t i = 0; i < t->sd.n; i++)
            if (t->slot_of[i] >= 0 && t->sd.tensors[i].storage == (int)s) {
                xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": the archive has no entry data/%.40s for tensor '%.100s'",
                          t->sd.storages[s].key, t->sd.tensors[i].name);
                return 0;
            }
    }
    t->state = TS_TRAILER;
    return 1;
}

static int ts_trailer(xlmr_loader *ld, ld_torch *t) {
    size_t need = 0;
    int is_end = 0;
    const int r = tz_trailer_record(ld->hbuf + t->at, ld->hlen - t->at, &need, &is_end, &ld->err);
    if (r < 0) return 0;
    if (r == 0) return ts_wait(ld, t, need, need + TS_RECORD_WANT);
    t->at += (size_t)r;
    if (!is_end) return 1;
    if (t->at != ld->hlen) {
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": %zu bytes after the zip's end record", ld->hlen - t->at);
        return 0;
    }
    t->state = TS_END;
    ld->phase = LD_DONE;
    ld->total = ld->received;
    return 1;
}

static int ts_descriptor(xlmr_loader *ld, ld_torch *t) {
    size_t need = 0;
    const int r = tz_descriptor(ld->hbuf + t->at, ld->hlen - t->at, t->entry_size, t->zip64, &need, &ld->err);
    if (r < 0) {
        char msg[XLMR_ERROR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", ld->err.msg);
        xlmr_fail(&ld->err, XLMR_ERR_FORMAT, TS_FORMAT ": entry %s: %s", t->entry, msg);
        return 0;
    }
    if (r == 0) return ts_wait(ld, t, need, need + TS_RECORD_WANT);
    t->at += (size_t)r;
    t->state = TS_ENTRY;
    return 1;
}

int ld_torch_step(xlmr_loader *ld) {
    ld_torch *t = ld->torch;
    if (!t) {
        if (!(t = ld->torch = XLMR_CALLOC(1, sizeof *t))) return xlmr_fail(&ld->err, XLMR_ERR_NOMEM, "out of memory"), 0;
        t->storage = -1;
    }
    while (ld->phase == LD_HEAD_TORCH || ld->phase == LD_DATA) {
        if (ld->phase == LD_DATA) { /* bytes read past a record belong to the storage */
            t->at += ld_data_push(ld, ld->hbuf + t->at, ld->hlen - t->at);
            if (ld->phase == LD_DATA) return ts_wait(ld, t, 0, 0) != 0; /* the data phase takes the next bytes */
            continue;
        }
        int r;
        switch (t->state) {
        case TS_ENTRY: r = ts_next_record(ld, t); break;
        case TS_PICKLE: r = ts_pickle(ld, t); break;
        case TS_SMALL: r = ts_small(ld, t); break;
        case TS_DESCRIPTOR: r = ts_descriptor(ld, t); break;
        case TS_TRAILER: r = ts_trailer(ld, t); break;
        default: return ts_fail(ld, "bytes after the archive's end");
        }
        if (r != 1) return r != 0;
    }
    return 1;
}

void ld_torch_storage_done(xlmr_loader *ld) {
    ld->phase = LD_HEAD_TORCH;
    ld->hneed = ld->hlen + 4;
    ld->hwant = ld->hlen + TS_RECORD_WANT;
}

void ld_torch_where(const xlmr_loader *ld, char *buf, size_t n) {
    const ld_torch *t = ld->torch;
    if (!t) snprintf(buf, n, "inside its first local header");
    else if (ld->phase == LD_DATA)
        snprintf(buf, n, "inside storage %s (segment %zu of %zu)", t->entry, ld->seg_i + 1, ld->n_segs);
    else if (t->state == TS_PICKLE) snprintf(buf, n, "inside data.pkl");
    else if (t->state == TS_TRAILER) snprintf(buf, n, "inside its central directory");
    else if (!t->have_pickle) snprintf(buf, n, "before data.pkl was read");
    else snprintf(buf, n, "after entry %s, before the central directory", t->entry);
}

void ld_torch_free(xlmr_loader *ld) {
    ld_torch *t = ld->torch;
    if (!t) return;
    tp_free(&t->sd);
    XLMR_FREE(t->slot_of);
    XLMR_FREE(t->seen);
    XLMR_FREE(t);
    ld->torch = NULL;
}
