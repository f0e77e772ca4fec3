/* Branch-free float exp for elementwise kernels: plain C the compiler turns into SIMD code
 * (glibc's expf/tanhf are scalar calls that stop vectorisation). Accurate to about 2 ulp over
 * the float range; exp of anything below −87.3 (including −∞) is 0, above 88.37 saturates at
 * ≈2.4e38, and NaN stays NaN (so a broken activation still reaches the loss's finiteness check). */
#ifndef PT_KERNELS_FASTMATH_H
#define PT_KERNELS_FASTMATH_H

#include <stdint.h>
#include <string.h>

static inline float pt_expf(float x)
{
    const float lo = -87.33654f, hi = 88.37626f; /* n stays within [-126, 127] */
    /* written so that NaN also lands in range: converting NaN to int below would be undefined */
    const float xc = x > lo ? (x < hi ? x : hi) : lo;
    /* x = n·ln2 + f, |f| <= ln2/2; n rounded to nearest by the 1.5·2²³ trick */
    const float n = (xc * 1.44269504f + 12582912.0f) - 12582912.0f;
    const float f = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
    /* e^f by its degree-6 minimax polynomial (Cephes' expf coefficients) */
    float p = 1.9875691500e-4f;
    p = p * f + 1.3981999507e-3f;
    p = p * f + 8.3334519073e-3f;
    p = p * f + 4.1665795894e-2f;
    p = p * f + 1.6666665459e-1f;
    p = p * f + 5.0000001201e-1f;
    p = p * f * f + f + 1.0f;
    /* · 2ⁿ through the exponent bits; n + 127 stays within [1, 254] after the clamp */
    const int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    const float r = p * scale;
    return x < lo ? 0.0f : (x == x ? r : x); /* NaN in, NaN out */
}

/* 1 / (1 + e^(−x)) */
static inline float pt_sigmoidf(float x) { return 1.0f / (1.0f + pt_expf(-x)); }

#endif
