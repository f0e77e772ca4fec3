/* Dequantization of ggml's block formats, element for element as ggml-quants.c's
 * dequantize_row_<type> computes it (../shared/fixtures/QUANT.md gives the layouts). Every product
 * is exact in float32, so the values do not depend on evaluation order or FMA contraction.
 * Blocks are read through memcpy: GGUF data may sit at any offset of a mapping. */
#include "formats/ggml_blocks.h"
#include "core/half.h"

#include <string.h>

static float rd_f16(const unsigned char *p)
{
    uint16_t h;
    memcpy(&h, p, sizeof h);
    return pt_f16_to_f32(h);
}

static uint32_t rd_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Element e (0..31) of a 32-element 4-bit block: element j and j+16 share byte j, low nibble first. */
static int nibble32(const unsigned char *qs, int e) { return e < 16 ? qs[e] & 0xF : qs[e - 16] >> 4; }

static void q8_0_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 34, y += 32) {
        const float d = rd_f16(b);
        for (int e = 0; e < 32; e++) y[e] = (float)(int8_t)b[2 + e] * d;
    }
}

static void q4_0_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 18, y += 32) {
        const float d = rd_f16(b);
        for (int e = 0; e < 32; e++) y[e] = (float)(nibble32(b + 2, e) - 8) * d;
    }
}

static void q4_1_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 20, y += 32) {
        const float d = rd_f16(b), m = rd_f16(b + 2);
        for (int e = 0; e < 32; e++) y[e] = (float)nibble32(b + 4, e) * d + m;
    }
}

static void q5_0_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 22, y += 32) {
        const float d = rd_f16(b);
        const uint32_t qh = rd_u32(b + 2);
        for (int e = 0; e < 32; e++) y[e] = (float)((nibble32(b + 6, e) | (int)((qh >> e) & 1u) << 4) - 16) * d;
    }
}

static void q5_1_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 24, y += 32) {
        const float d = rd_f16(b), m = rd_f16(b + 2);
        const uint32_t qh = rd_u32(b + 4);
        for (int e = 0; e < 32; e++) y[e] = (float)(nibble32(b + 8, e) | (int)((qh >> e) & 1u) << 4) * d + m;
    }
}

/* The 6-bit scale and min of sub-block s (0..7) packed in the 12 scale bytes (get_scale_min_k4). */
static void scale_min_k4(const unsigned char *sc, int s, int *scale, int *min)
{
    if (s < 4) {
        *scale = sc[s] & 63;
        *min = sc[s + 4] & 63;
    } else {
        *scale = (sc[s + 4] & 0xF) | (sc[s - 4] >> 6) << 4;
        *min = (sc[s + 4] >> 4) | (sc[s] >> 6) << 4;
    }
}

/* Q4_K and Q5_K share everything but the fifth bit (qh == NULL for Q4_K). */
static void k_block_to_f32(const unsigned char *b, const unsigned char *qh, const unsigned char *qs, float *y)
{
    const float d = rd_f16(b), dmin = rd_f16(b + 2);
    for (int s = 0; s < 8; s++) {
        int sc, mn;
        scale_min_k4(b + 4, s, &sc, &mn);
        const float d1 = d * (float)sc, m1 = dmin * (float)mn;
        const unsigned char *q = qs + 32 * (s / 2);
        const int shift = 4 * (s % 2);
        float *o = y + 32 * s;
        if (qh) /* two plain loops, so that each vectorises */
            for (int l = 0; l < 32; l++) o[l] = d1 * (float)(((q[l] >> shift) & 0xF) + 16 * ((qh[l] >> s) & 1)) - m1;
        else
            for (int l = 0; l < 32; l++) o[l] = d1 * (float)((q[l] >> shift) & 0xF) - m1;
    }
}

static void q4_k_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 144, y += 256) k_block_to_f32(b, NULL, b + 16, y);
}

static void q5_k_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 176, y += 256) k_block_to_f32(b, b + 16, b + 48, y);
}

static void q6_k_to_f32(const unsigned char *b, size_t nb, float *y)
{
    for (size_t i = 0; i < nb; i++, b += 210, y += 256) {
        const unsigned char *ql = b, *qh = b + 128;
        const int8_t *scales = (const int8_t *)(b + 192);
        const float d = rd_f16(b + 208);
        /* element e = 128 n + 32 g + l takes its low nibble from ql[64 n + 32 (g & 1) + l] (shifted
         * by 4 (g >> 1)), its two high bits from qh[32 n + l] (shifted by 2 g) and the scale of its
         * 16 elements, scales[e / 16]: loops over 16 elements with one scale vectorise (measured:
         * 0.39 ns per value instead of 3.4 for one loop over e with divisions) */
        for (int n = 0; n < 2; n++)
            for (int g = 0; g < 4; g++)
                for (int h = 0; h < 2; h++) {
                    const int e0 = 128 * n + 32 * g + 16 * h;
                    const float dl = d * (float)scales[e0 / 16];
                    const unsigned char *lo = ql + 64 * n + 32 * (g & 1) + 16 * h, *hi = qh + 32 * n + 16 * h;
                    const int lo_shift = 4 * (g >> 1), hi_shift = 2 * g;
                    for (int l = 0; l < 16; l++)
                        y[e0 + l] = dl * (float)((((lo[l] >> lo_shift) & 0xF) | ((hi[l] >> hi_shift) & 3) << 4) - 32);
                }
    }
}

/* Every type a GGUF reader can size; ids and geometry from ggml.h / ggml.c's type traits. */
static const pt_block_format types[] = {
    {PT_DTYPE_F32, 0, "F32", 1, 4, NULL},            {PT_DTYPE_F16, 1, "F16", 1, 2, NULL},
    {PT_DTYPE_Q4_0, 2, "Q4_0", 32, 18, q4_0_to_f32},  {PT_DTYPE_Q4_1, 3, "Q4_1", 32, 20, q4_1_to_f32},
    {PT_DTYPE_Q5_0, 6, "Q5_0", 32, 22, q5_0_to_f32},  {PT_DTYPE_Q5_1, 7, "Q5_1", 32, 24, q5_1_to_f32},
    {PT_DTYPE_Q8_0, 8, "Q8_0", 32, 34, q8_0_to_f32},  {PT_DTYPE_OTHER, 9, "Q8_1", 32, 36, NULL},
    {PT_DTYPE_OTHER, 10, "Q2_K", 256, 84, NULL},      {PT_DTYPE_OTHER, 11, "Q3_K", 256, 110, NULL},
    {PT_DTYPE_Q4_K, 12, "Q4_K", 256, 144, q4_k_to_f32}, {PT_DTYPE_Q5_K, 13, "Q5_K", 256, 176, q5_k_to_f32},
    {PT_DTYPE_Q6_K, 14, "Q6_K", 256, 210, q6_k_to_f32}, {PT_DTYPE_OTHER, 15, "Q8_K", 256, 292, NULL},
    {PT_DTYPE_OTHER, 24, "I8", 1, 1, NULL},           {PT_DTYPE_OTHER, 25, "I16", 1, 2, NULL},
    {PT_DTYPE_I32, 26, "I32", 1, 4, NULL},            {PT_DTYPE_I64, 27, "I64", 1, 8, NULL},
    {PT_DTYPE_F64, 28, "F64", 1, 8, NULL},            {PT_DTYPE_BF16, 30, "BF16", 1, 2, NULL},
};

const pt_block_format *pt_ggml_type_of(uint32_t ggml_type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].ggml_type == ggml_type) return &types[i];
    return NULL;
}

const pt_block_format *pt_block_format_of(pt_dtype t)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].to_f32 && types[i].dtype == t) return &types[i];
    return NULL;
}

pt_dtype pt_block_dtype_of_ggml(uint32_t ggml_type)
{
    const pt_block_format *f = pt_ggml_type_of(ggml_type);
    return f ? f->dtype : PT_DTYPE_OTHER;
}
