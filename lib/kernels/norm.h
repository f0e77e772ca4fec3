/* LayerNorm and RMSNorm over the last dimension, row by row: forward (statistics saved) and the
 * input-gradient backward next to it. */
#ifndef PT_KERNELS_NORM_H
#define PT_KERNELS_NORM_H

/* out[n, C] = (inp - mean) * rstd * w + b, for n rows; mean/rstd [n] saved (nullable). */
void pt_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *w, const float *b, int n, int C, float eps);

/* out[n, C] = inp * rstd * w with rstd = 1/sqrt(mean(inp²) + eps); rstd [n] saved (nullable). */
void pt_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int n, int C,
                        float eps);

/* dinp[n, C] += d(out)/d(inp)ᵀ · dout, from the saved mean/rstd (weights are frozen). */
void pt_layernorm_backward(float *dinp, const float *dout, const float *inp, const float *w, const float *mean,
                           const float *rstd, int n, int C);
void pt_rmsnorm_backward(float *dinp, const float *dout, const float *inp, const float *w, const float *rstd, int n,
                         int C);

#endif
