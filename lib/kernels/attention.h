/* Causal scaled-dot-product attention for one sequence and one head, with optional ALiBi:
 * forward, and the input-gradient backward (probabilities recomputed, never stored). The
 * products go through cblas. */
#ifndef PT_KERNELS_ATTENTION_H
#define PT_KERNELS_ATTENTION_H

/* ALiBi slopes for n_head heads (HF/ggml rule, also for non-powers of two). */
void pt_alibi_slopes(float *slopes, int n_head);

/* probs[T, T] = causal softmax(scale · q·kᵀ + ALiBi); row i is valid for j <= i, zero above.
 * q, k: T rows with leading dimension ld_qkv. alibi_slope 0 disables ALiBi. */
void pt_attention_probs(float *probs, const float *q, const float *k, int ld_qkv, int T, int head_dim, float scale,
                        float alibi_slope);

/* out (T rows of head_dim, leading dimension ld_out) = probs · v; probs is scratch [T, T] that
 * holds the probabilities on return. */
void pt_attention_forward(float *out, int ld_out, float *probs, const float *q, const float *k,
                          const float *v, int ld_qkv, int T, int head_dim, float scale,
                          float alibi_slope);

/* Attention of n_q new queries against a key/value cache (incremental decoding): query i sits at
 * position pos0 + i and sees keys 0 .. pos0 + i. q has leading dimension ld_q; k and v hold
 * pos0 + n_q rows with leading dimension ld_kv; probs is scratch [n_q, pos0 + n_q]. */
void pt_attention_cached(float *out, int ld_out, float *probs, const float *q, int ld_q, const float *k,
                         const float *v, int ld_kv, int n_q, int pos0, int head_dim, float scale, float alibi_slope);

/* Given dout (T rows, ld_out), writes dq (overwrites) and accumulates dk, dv (+=; several query
 * heads share a key/value head under GQA); all three with leading dimension ld_dqkv. probs and
 * dprobs are [T, T] scratch. */
void pt_attention_backward(float *dq, float *dk, float *dv, int ld_dqkv, float *probs, float *dprobs,
                           const float *q, const float *k, const float *v, int ld_qkv, const float *dout, int ld_out,
                           int T, int head_dim, float scale, float alibi_slope);

#endif
