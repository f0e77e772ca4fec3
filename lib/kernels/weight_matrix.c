/* Row access to frozen weight matrices in any stored format: conversion of a row range to fp32
 * (band by band) and the matrix's resident size. */
#include "kernels/weight_matrix.h"

void pt_wmat_rows_to_f32(const pt_wmat *w, int64_t r0, int64_t n, float *dst)
{
    const int64_t end = r0 + n;
    for (int b = 0; b < w->n_bands && r0 < end; b++) {
        const pt_wband *band = &w->band[b];
        const int64_t lo = r0 > band->row0 ? r0 : band->row0;
        const int64_t hi = end < band->row0 + band->rows ? end : band->row0 + band->rows;
        if (lo >= hi) continue;
        pt_dtype_to_f32(band->dtype, band->data + (size_t)(lo - band->row0) * band->row_bytes,
                        (size_t)(hi - lo) * (size_t)w->cols, dst + (size_t)(lo - r0) * (size_t)w->cols);
    }
}

size_t pt_wmat_bytes(const pt_wmat *w)
{
    size_t total = 0;
    for (int b = 0; b < w->n_bands; b++) total += (size_t)w->band[b].rows * w->band[b].row_bytes;
    return total;
}
