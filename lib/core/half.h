/* Exact conversions from IEEE half (F16) and bfloat16 (BF16) bit patterns to float. */
#ifndef PT_CORE_HALF_H
#define PT_CORE_HALF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline float pt_bits_to_f32(uint32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
static inline uint32_t pt_f32_to_bits(float f) { uint32_t b; memcpy(&b, &f, sizeof b); return b; }

static inline float pt_bf16_to_f32(uint16_t h) { return pt_bits_to_f32((uint32_t)h << 16); }

static inline float pt_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    if (exp == 0) {
        if (man == 0) return pt_bits_to_f32(sign);
        /* subnormal: value = man * 2^-24, exact in float */
        float v = (float)man * 5.9604644775390625e-08f;
        return sign ? -v : v;
    }
    if (exp == 31) return pt_bits_to_f32(sign | 0x7f800000u | (man << 13));
    return pt_bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

/* Row conversions of n 16-bit values at src (any alignment) to float, bit for bit as the
 * scalar functions above, NaN payloads included (F16 uses the CPU's F16C instructions when it
 * has them). */
void pt_f16_row_to_f32(const void *src, size_t n, float *dst);
void pt_bf16_row_to_f32(const void *src, size_t n, float *dst);

/* Round-to-nearest-even float -> F16 / BF16 (used by writers and tests). */
uint16_t pt_f32_to_f16(float f);
uint16_t pt_f32_to_bf16(float f);

#endif
