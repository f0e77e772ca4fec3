/* Causal scaled-dot-product attention for one sequence and one head, with optional ALiBi and an
 * optional shared prefix (keys/values of rows that precede the sequence and live elsewhere, as a
 * soft prompt computed once per batch does): forward, and the input-gradient backward
 * (probabilities recomputed, never stored). The products go through cblas. */
#ifndef PT_KERNELS_ATTENTION_H
#define PT_KERNELS_ATTENTION_H

/* ALiBi slopes for n_head heads (HF/ggml rule, also for non-powers of two). */
void pt_alibi_slopes(float *slopes, int n_head);

/* One attention problem. The sequence's own T rows: q, k, v with leading dimension ld_qkv. The
 * P prefix rows before them (P may be 0): kp, vp with leading dimension ld_p. Query i sits at
 * position P + i and sees the P prefix keys and its own keys 0..i. */
typedef struct pt_attn {
    const float *q, *k, *v;
    int ld_qkv, T;
    const float *kp, *vp;
    int ld_p, P;
    int head_dim;
    float scale;
    float alibi_slope;   /* 0 disables ALiBi */
} pt_attn;

/* probs[T, P + T] = causal softmax(scale · q·[kp; k]ᵀ + ALiBi); zero where masked. */
void pt_attention_probs(const pt_attn *a, float *probs);

/* out (T rows of head_dim, leading dimension ld_out) = probs · [vp; v]; probs is scratch
 * [T, P + T] that holds the probabilities on return. */
void pt_attention_forward(const pt_attn *a, float *out, int ld_out, float *probs);

/* Given dout (T rows, ld_out): writes dq (overwrites) and accumulates dk, dv (+=, leading
 * dimension ld_d; several query heads share a key/value head under GQA) and, when P > 0, dkp and
 * dvp (+=, leading dimension ld_dp; every sequence of a batch adds into the shared prefix).
 * probs and dprobs are [T, P + T] scratch. */
void pt_attention_backward(const pt_attn *a, const float *dout, int ld_out, float *dq, float *dk, float *dv, int ld_d,
                           float *dkp, float *dvp, int ld_dp, float *probs, float *dprobs);

/* Attention of n_q new queries against a key/value cache (incremental decoding): query i sits at
 * position pos0 + i and sees keys 0 .. pos0 + i. q has leading dimension ld_q; k and v hold
 * pos0 + n_q rows with leading dimension ld_kv; probs is scratch [n_q, pos0 + n_q]. */
void pt_attention_cached(float *out, int ld_out, float *probs, const float *q, int ld_q, const float *k,
                         const float *v, int ld_kv, int n_q, int pos0, int head_dim, float scale, float alibi_slope);

#endif
