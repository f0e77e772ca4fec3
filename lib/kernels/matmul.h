/* cblas wrappers with the shapes the transformer uses. Weights are [out, in] row-major, so
 * Y = X·Wᵀ is sgemm(NoTrans, Trans) and dX = dY·W is sgemm(NoTrans, NoTrans). */
#ifndef PT_KERNELS_MATMUL_H
#define PT_KERNELS_MATMUL_H

/* y[M, N] (leading dim ldy) = beta * y + x[M, K] (ldx) · w[N, K]ᵀ (ldw). */
void pt_matmul_xwt(float *y, int ldy, const float *x, int ldx, const float *w, int ldw,
                   int M, int N, int K, float alpha, float beta);

/* y[M, N] (ldy) = beta * y + x[M, K] (ldx) · w[K, N] (ldw). */
void pt_matmul_xw(float *y, int ldy, const float *x, int ldx, const float *w, int ldw,
                  int M, int N, int K, float alpha, float beta);

/* y[M, N] (ldy) = beta * y + alpha · x[K, M]ᵀ (ldx) · w[K, N] (ldw). */
void pt_matmul_xtw(float *y, int ldy, const float *x, int ldx, const float *w, int ldw,
                   int M, int N, int K, float alpha, float beta);

/* Fills rows [r0, r1) of y[.., N] (ldy) with bias[N], or zeros when bias is NULL. */
void pt_rows_fill_bias(float *y, int ldy, const float *bias, int r0, int r1, int N);

#endif
