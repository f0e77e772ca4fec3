/* Causal scaled-dot-product attention for one sequence and one head, with optional ALiBi;
 * the two products go through cblas. */
#ifndef PT_KERNELS_ATTENTION_H
#define PT_KERNELS_ATTENTION_H

/* ALiBi slopes for n_head heads (HF/ggml rule, also for non-powers of two). */
void pt_alibi_slopes(float *slopes, int n_head);

/* q, k, v: T rows with leading dimension ld_qkv (head slices of the fused qkv buffer);
 * out: T rows of head_dim with leading dimension ld_out. probs: scratch [T, T] that holds the
 * attention probabilities on return (row i valid for j <= i). alibi_slope 0 disables ALiBi. */
void pt_attention_forward(float *out, int ld_out, float *probs, const float *q, const float *k,
                          const float *v, int ld_qkv, int T, int head_dim, float scale,
                          float alibi_slope);

#endif
