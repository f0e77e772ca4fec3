/* Conversions between float and the 16-bit formats: round-to-nearest-even float -> F16 / BF16
 * bit patterns, and the row conversions F16 / BF16 -> float the weight loaders and the native
 * weight storage use (F16 through F16C instructions when the CPU has them). */
#include "core/half.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PT_HAVE_F16C_PATH 1
#include <cpuid.h>
#include <immintrin.h>
#endif

uint16_t pt_f32_to_bf16(float f)
{
    uint32_t b = pt_f32_to_bits(f);
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x40u); /* quiet NaN */
    b += 0x7fffu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

uint16_t pt_f32_to_f16(float f)
{
    uint32_t b = pt_f32_to_bits(f);
    uint32_t sign = (b >> 16) & 0x8000u;
    uint32_t abs = b & 0x7fffffffu;
    if (abs > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          /* NaN */
    if (abs >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         /* overflow to Inf */
    if (abs < 0x38800000u) {                                           /* subnormal or zero */
        if (abs < 0x33000000u) return (uint16_t)sign;                  /* rounds to zero */
        uint32_t exp = abs >> 23;
        uint32_t man = (abs & 0x7fffffu) | 0x800000u;
        uint32_t shift = 126u - exp; /* 14..24 */
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1u);
        uint32_t mid = 1u << (shift - 1u);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t r = abs + 0xfffu + ((abs >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

/* Same result as pt_f16_to_f32 (bit for bit, NaN payloads included), written with selects
 * instead of branches so the loop vectorises: normal numbers rebias the exponent, Inf/NaN keep
 * an all-ones exponent, subnormals are computed exactly as mantissa * 2^-24 (a normal float,
 * so no denormal arithmetic is involved). */
static inline float f16_to_f32_select(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    uint32_t normal = (em << 13) + 0x38000000u;
    uint32_t infnan = (em << 13) | 0x7f800000u;
    uint32_t sub = pt_f32_to_bits((float)(int32_t)em * 5.9604644775390625e-08f);
    uint32_t is_sub = 0u - (uint32_t)(em < 0x0400u);  /* all-ones masks */
    uint32_t is_special = 0u - (uint32_t)(em >= 0x7c00u);
    uint32_t mag = (sub & is_sub) | (infnan & is_special) | (normal & ~(is_sub | is_special));
    return pt_bits_to_f32(sign | mag);
}

/* 16-bit values are read through memcpy (plain loads once compiled) so that src may sit at any
 * byte offset of a mapping. */
static void f16_row_portable(const unsigned char *src, size_t n, float *dst)
{
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, sizeof h);
        dst[i] = f16_to_f32_select(h);
    }
}

#ifdef PT_HAVE_F16C_PATH
/* VCVTPH2PS converts exactly (half -> float always is) but quietens signalling NaNs: groups
 * holding a NaN take the portable path, which keeps every payload bit. */
__attribute__((target("avx,f16c"))) static void f16_row_f16c(const unsigned char *src, size_t n, float *dst)
{
    const __m128i abs_mask = _mm_set1_epi16(0x7fff), inf = _mm_set1_epi16(0x7c00);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m128i h = _mm_loadu_si128((const __m128i *)(const void *)(src + 2 * i));
        if (_mm_movemask_epi8(_mm_cmpgt_epi16(_mm_and_si128(h, abs_mask), inf)))
            f16_row_portable(src + 2 * i, 8, dst + i);
        else
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    f16_row_portable(src + 2 * i, n - i, dst + i);
}

/* F16C and AVX usable: the CPU has them (CPUID.1:ECX bits 29, 28) and the OS saves YMM state
 * (OSXSAVE, XCR0 bits 1 and 2). */
static int cpu_has_f16c(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 29)) || !(c & (1u << 28)) || !(c & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return (lo & 6u) == 6u;
}
#endif

void pt_f16_row_to_f32(const void *src, size_t n, float *dst)
{
#ifdef PT_HAVE_F16C_PATH
    static int have = -1; /* racy first call is benign: every thread computes the same value */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        h = cpu_has_f16c();
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    if (h) {
        f16_row_f16c(src, n, dst);
        return;
    }
#endif
    f16_row_portable(src, n, dst);
}

void pt_bf16_row_to_f32(const void *src, size_t n, float *dst)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, s + 2 * i, sizeof h);
        dst[i] = pt_bits_to_f32((uint32_t)h << 16);
    }
}
