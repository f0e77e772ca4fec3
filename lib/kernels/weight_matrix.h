/* A frozen weight matrix [rows, cols] as the model keeps it: fp32, or in its file's format (F16,
 * BF16, ggml quantized blocks) with native storage. A matrix may consist of row bands of
 * different formats: a fused q|k|v whose parts a llama-quantize mix stores as Q4_K and Q6_K,
 * or a fused gate|up. A row is always a whole number of blocks, so any row range can be
 * converted on its own. Vectors (norm weights, biases) are one fp32 band with cols = 1. */
#ifndef PT_KERNELS_WEIGHT_MATRIX_H
#define PT_KERNELS_WEIGHT_MATRIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "formats/tensor_view.h"

#define PT_WMAT_MAX_BANDS 3

typedef struct pt_wband {
    int64_t row0, rows;          /* the band's rows within the matrix */
    pt_dtype dtype;              /* PT_DTYPE_F32, F16, BF16 or a block format */
    size_t row_bytes;            /* bytes of one row of cols elements */
    const unsigned char *data;   /* row 0 of the band */
} pt_wband;

typedef struct pt_wmat {
    int64_t rows, cols;
    int n_bands;                 /* 0: the slot is absent */
    pt_wband band[PT_WMAT_MAX_BANDS];
} pt_wmat;

/* The whole matrix as fp32 when it is a single fp32 band (f32 storage, or an F32 file tensor
 * with native storage), else NULL. */
static inline const float *pt_wmat_f32(const pt_wmat *w)
{
    return w->n_bands == 1 && w->band[0].dtype == PT_DTYPE_F32 ? (const float *)(const void *)w->band[0].data
                                                               : NULL;
}

/* Converts rows [r0, r0 + n) to fp32 into dst (n × cols floats, row-major). */
void pt_wmat_rows_to_f32(const pt_wmat *w, int64_t r0, int64_t n, float *dst);

/* Bytes the matrix occupies in memory. */
size_t pt_wmat_bytes(const pt_wmat *w);

#endif
