/* base64.c — base64 decoding (see base64.h). */
#include "base64.h"

/* The 6-bit value of an alphabet character, or -1. */
static int sextet(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

size_t base64_decoded_max(size_t n) { return n / 4 * 3 + 3; }

xlmr_status base64_decode(const char *s, size_t n, uint8_t *out, size_t *out_len, xlmr_error *err) {
    *out_len = 0;
    size_t body = n;
    while (body > 0 && s[body - 1] == '=' && n - body < 2) body--;
    if (body % 4 == 1) return xlmr_fail(err, XLMR_ERR_FORMAT, "base64: %zu characters leave a lone final character", body);
    if (n != body && (n % 4) != 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "base64: padding makes %zu characters, not a multiple of 4", n);
    uint32_t acc = 0;
    size_t w = 0;
    for (size_t i = 0; i < body; i++) {
        const int v = sextet((unsigned char)s[i]);
        if (v < 0) return xlmr_fail(err, XLMR_ERR_FORMAT, "base64: character 0x%02x at offset %zu is not in the alphabet", (unsigned char)s[i], i);
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            out[w++] = (uint8_t)(acc >> 16);
            out[w++] = (uint8_t)(acc >> 8);
            out[w++] = (uint8_t)acc;
            acc = 0;
        }
    }
    if (body % 4 == 2) out[w++] = (uint8_t)(acc >> 4);
    if (body % 4 == 3) {
        out[w++] = (uint8_t)(acc >> 10);
        out[w++] = (uint8_t)(acc >> 2);
    }
    *out_len = w;
    return XLMR_OK;
}
