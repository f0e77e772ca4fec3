/* Matrix products with frozen weight matrices in any stored format. An fp32 matrix goes straight
 * to cblas; any other is cut into panels of rows, each converted to fp32 into the caller's
 * scratch (the rows split across the pool's threads) right before its sgemm. A panel holds at
 * most `cap` floats, whatever the product's row count: on GPT-2-124M F16 greedy decoding,
 * panels of 1, 4 and 16 MiB measured the same within this machine's run-to-run noise. */
#ifndef PT_KERNELS_WEIGHT_PRODUCTS_H
#define PT_KERNELS_WEIGHT_PRODUCTS_H

#include "core/threadpool.h"
#include "kernels/weight_matrix.h"

#define PT_PANEL_MIN_ROWS 256                    /* rows a full panel holds at least */
#define PT_PANEL_MIN_FLOATS ((size_t)1 << 20)    /* 4 MiB */

typedef struct pt_panels {
    pt_pool *pool;    /* converts a panel's rows in parallel */
    float *scratch;   /* cap floats; NULL when every matrix is fp32 */
    size_t cap;
} pt_panels;

/* Scratch floats a context needs for the model's matrices: 0 when all are fp32, else
 * max(PT_PANEL_MIN_FLOATS, PT_PANEL_MIN_ROWS × the widest converted matrix). */
size_t pt_panels_floats(const pt_wmat *const *mats, size_t n);

/* fp32 rows [r0, r0 + n) of w: the matrix itself when it is fp32, else converted into the
 * scratch (n × cols must fit in cap). */
const float *pt_wmat_panel(const pt_panels *p, const pt_wmat *w, int64_t r0, int64_t n);

/* y[M, n] (ldy) = beta·y + alpha·x[M, cols] (ldx) · W[r0 : r0 + n]ᵀ */
void pt_wmat_xwt(const pt_panels *p, float *y, int ldy, const float *x, int ldx, const pt_wmat *w, int64_t r0,
                 int64_t n, int M, float alpha, float beta);

/* y[M, cols] (ldy) = beta·y + alpha·x[M, rows] (ldx) · W */
void pt_wmat_xw(const pt_panels *p, float *y, int ldy, const float *x, int ldx, const pt_wmat *w, int M,
                float alpha, float beta);

#endif
