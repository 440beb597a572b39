#include "common.h"

#include <stdarg.h>
#include <stdio.h>

xlmr_status xlmr_fail(xlmr_error *err, xlmr_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void xlmr_error_clear(xlmr_error *err) {
    if (err) {
        err->code = XLMR_OK;
        err->msg[0] = '\0';
    }
}

const char *xlmr_status_name(xlmr_status code) {
    switch (code) {
    case XLMR_OK: return "OK";
    case XLMR_ERR_FORMAT: return "ERR_MODEL_FORMAT";
    case XLMR_ERR_NOMEM: return "ERR_OUT_OF_MEMORY";
    case XLMR_ERR_TOO_LONG: return "ERR_TOO_LONG";
    case XLMR_ERR_NO_MASK: return "ERR_NO_MASK";
    case XLMR_ERR_ARG: return "ERR_INVALID_ARGUMENT";
    case XLMR_ERR_STATE: return "ERR_INVALID_STATE";
    case XLMR_ERR_UNSUPPORTED: return "ERR_UNSUPPORTED";
    }
    return "ERR_UNKNOWN";
}

float xlmr_fp16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: renormalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            u = sign | (exp << 23) | (man << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t xlmr_f32_to_fp16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = (u >> 16) & 0x8000;
    uint32_t exp = (u >> 23) & 0xff;
    uint32_t man = u & 0x7fffff;
    if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (man ? 0x200 : 0)); /* inf / nan */
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00); /* overflow -> inf */
    if (e <= 0) {                                  /* subnormal or zero */
        if (e < -10) return (uint16_t)sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = 1u << (shift - 1);
        uint32_t rest = man & ((1u << shift) - 1);
        uint32_t m = man >> shift;
        if (rest > half || (rest == half && (m & 1))) m++;
        return (uint16_t)(sign | m);
    }
    uint32_t m = man >> 13;
    uint32_t rest = man & 0x1fff;
    uint32_t h = sign | ((uint32_t)e << 10) | m;
    if (rest > 0x1000 || (rest == 0x1000 && (m & 1))) h++; /* may carry into the exponent: correct */
    return (uint16_t)h;
}
