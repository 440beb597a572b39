/* torch_zip.c — the zip records of torch_zip.h, each parsed from the bytes that have arrived. */
#include "torch_zip.h"

/* Reads zip64's 8-byte uncompressed size from a local header's extra field, when there. */
static int tz_zip64_size(const uint8_t *extra, size_t n, uint64_t *size) {
    for (size_t i = 0; i + 4 <= n;) {
        const uint16_t id = xlmr_rd_u16(extra + i), len = xlmr_rd_u16(extra + i + 2);
        if (i + 4 + len > n) return 0;
        if (id == 1 && len >= 8) {
            *size = xlmr_rd_u64(extra + i + 4);
            return 1;
        }
        i += 4 + (size_t)len;
    }
    return 0;
}

int tz_local_header(const uint8_t *b, size_t n, tz_local *h, size_t *need, xlmr_error *err) {
    if (n < TZ_LOCAL_FIXED) return *need = TZ_LOCAL_FIXED, 0;
    if (xlmr_rd_u32(b) != TZ_LOCAL_SIG) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "zip: expected a local file header, found signature 0x%08x",
                  (unsigned)xlmr_rd_u32(b));
        return -1;
    }
    const size_t name_len = xlmr_rd_u16(b + 26), extra_len = xlmr_rd_u16(b + 28);
    const size_t total = TZ_LOCAL_FIXED + name_len + extra_len;
    if (n < total) return *need = total, 0;
    const uint16_t flags = xlmr_rd_u16(b + 6);
    memset(h, 0, sizeof *h);
    h->name = (const char *)b + TZ_LOCAL_FIXED;
    h->name_len = name_len;
    h->method = xlmr_rd_u16(b + 8);
    h->has_descriptor = (flags & 8) != 0;
    h->size = xlmr_rd_u32(b + 22);
    h->header_len = total;
    uint64_t size64;
    if (tz_zip64_size(b + TZ_LOCAL_FIXED + name_len, extra_len, &size64)) {
        h->zip64 = 1;
        if (h->size == 0xFFFFFFFFu) h->size = size64;
    }
    if (flags & 1) {
        xlmr_fail(err, XLMR_ERR_FORMAT, "zip: entry '%.*s' is encrypted", (int)(name_len < 100 ? name_len : 100), h->name);
        return -1;
    }
    if (h->method != 0) {
        xlmr_fail(err, XLMR_ERR_FORMAT,
                  "zip: entry '%.*s' is compressed (method %d); torch.save stores entries uncompressed: save the "
                  "state dict again with torch.save, or as safetensors",
                  (int)(name_len < 100 ? name_len : 100), h->name, h->method);
        return -1;
    }
    return 1;
}

int tz_descriptor(const uint8_t *b, size_t n, uint64_t size, int zip64, size_t *need, xlmr_error *err) {
    if (n < 4) return *need = 4, 0;
    const size_t sig = xlmr_rd_u32(b) == TZ_DESC_SIG ? 4 : 0, w = zip64 ? 8 : 4, total = sig + 4 + 2 * w;
    if (n < total) return *need = total, 0;
    /* crc, then the compressed and uncompressed sizes (equal: stored) */
    const uint64_t csize = zip64 ? xlmr_rd_u64(b + sig + 4) : xlmr_rd_u32(b + sig + 4);
    const uint64_t usize = zip64 ? xlmr_rd_u64(b + sig + 4 + w) : xlmr_rd_u32(b + sig + 4 + w);
    if (csize == size && usize == size) return (int)total;
    xlmr_fail(err, XLMR_ERR_FORMAT,
              "zip: the data descriptor after an entry of %llu bytes gives the sizes %llu and %llu: the entry holds "
              "more or fewer bytes than its tensors need", (unsigned long long)size, (unsigned long long)csize,
              (unsigned long long)usize);
    return -1;
}

int64_t tz_find_descriptor(const uint8_t *b, size_t n) {
    for (size_t i = 0; i + 16 <= n; i++)
        if (xlmr_rd_u32(b + i) == TZ_DESC_SIG && xlmr_rd_u32(b + i + 8) == i && xlmr_rd_u32(b + i + 12) == i)
            return (int64_t)i;
    return -1;
}

int tz_trailer_record(const uint8_t *b, size_t n, size_t *need, int *is_end, xlmr_error *err) {
    *is_end = 0;
    if (n < 4) return *need = 4, 0;
    const uint32_t sig = xlmr_rd_u32(b);
    size_t fixed, total;
    switch (sig) {
    case TZ_CENTRAL_SIG: fixed = 46; break;
    case TZ_END64_SIG: fixed = 12; break;
    case TZ_LOCATOR64_SIG: fixed = 20; break;
    case TZ_END_SIG: fixed = 22; break;
    default:
        xlmr_fail(err, XLMR_ERR_FORMAT, "zip: unknown record signature 0x%08x after the entries", (unsigned)sig);
        return -1;
    }
    if (n < fixed) return *need = fixed, 0;
    if (sig == TZ_CENTRAL_SIG) total = fixed + xlmr_rd_u16(b + 28) + xlmr_rd_u16(b + 30) + xlmr_rd_u16(b + 32);
    else if (sig == TZ_END64_SIG) {
        const uint64_t rest = xlmr_rd_u64(b + 4);
        if (rest < 44 || rest > 65536) {
            xlmr_fail(err, XLMR_ERR_FORMAT, "zip: a zip64 end record of %llu bytes", (unsigned long long)rest);
            return -1;
        }
        total = 12 + (size_t)rest;
    } else if (sig == TZ_END_SIG) total = fixed + xlmr_rd_u16(b + 20);
    else total = fixed;
    if (n < total) return *need = total, 0;
    *is_end = sig == TZ_END_SIG;
    return (int)total;
}

const char *tz_entry_path(const tz_local *h, size_t *len) {
    const char *slash = memchr(h->name, '/', h->name_len);
    if (!slash) return *len = h->name_len, h->name;
    *len = h->name_len - (size_t)(slash + 1 - h->name);
    return slash + 1;
}
