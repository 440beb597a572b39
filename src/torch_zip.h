/* torch_zip.h — the zip records of a PyTorch checkpoint, read front to back (the host cannot seek).
 *
 * torch.save (since 1.6) writes a zip of stored (uncompressed) entries under one folder, the archive's name:
 * <archive>/data.pkl first, one <archive>/data/<key> per storage, and small ones (version, byteorder,
 * .format_version, .storage_alignment, .data/serialization_id) in an order that differs between versions. Its writer
 * sets general-purpose flag bit 3 and leaves the sizes in the local headers zero: a data descriptor (signature
 * optional; 8-byte sizes with zip64) follows each entry, so an entry's size comes from elsewhere (the pickle for
 * data.pkl and the storages) or from finding that descriptor. The local headers' extra field pads each entry's
 * data to 64 bytes. After the entries: the central directory, the zip64 end record and locator, the end record. */
#ifndef XLMR_TORCH_ZIP_H
#define XLMR_TORCH_ZIP_H

#include "common.h"

#define TZ_LOCAL_SIG 0x04034b50u
#define TZ_DESC_SIG 0x08074b50u
#define TZ_CENTRAL_SIG 0x02014b50u
#define TZ_END64_SIG 0x06064b50u
#define TZ_LOCATOR64_SIG 0x07064b50u
#define TZ_END_SIG 0x06054b50u
#define TZ_LOCAL_FIXED 30

typedef struct tz_local {
    const char *name; /* into the caller's buffer, not NUL-terminated */
    size_t name_len;
    int method, has_descriptor, zip64;
    uint64_t size;      /* from the header; unknown (0) with has_descriptor */
    size_t header_len;  /* 30 + name + extra: the entry's data starts there */
} tz_local;

/* The local header at b[0, n): 1 with *h filled, 0 when more bytes are needed (*need: how many in all), -1 on an
 * error in err (not a local header, a compressed entry). */
int tz_local_header(const uint8_t *b, size_t n, tz_local *h, size_t *need, xlmr_error *err);

/* The data descriptor after an entry of `size` bytes at b[0, n) (zip64: 8-byte sizes): its length (12 to 24), 0
 * when more bytes are needed (*need), -1 when its sizes are not `size` (err). */
int tz_descriptor(const uint8_t *b, size_t n, uint64_t size, int zip64, size_t *need, xlmr_error *err);

/* Finds the end of an entry of unknown size whose data starts at b: the first descriptor signature whose size
 * fields equal its offset. Its offset (the entry's size), or -1 when none is in b[0, n). */
int64_t tz_find_descriptor(const uint8_t *b, size_t n);

/* A record after the entries (central directory header, zip64 end record or locator, end record) at b[0, n): its
 * length, 0 when more bytes are needed (*need), -1 on an unknown signature (err). *is_end: it was the end record. */
int tz_trailer_record(const uint8_t *b, size_t n, size_t *need, int *is_end, xlmr_error *err);

/* The entry's name after its archive folder ("model/data/0" -> "data/0"); the whole name without a '/'. */
const char *tz_entry_path(const tz_local *h, size_t *len);

#endif
