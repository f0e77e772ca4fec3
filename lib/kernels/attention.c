/* Causal attention: scores = scale·Q·[Kp; K]ᵀ (+ ALiBi), masked softmax, out = P·[Vp; V]; and its
 * backward dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = scale·dS·[Kp; K], d[Kp; K] += scale·dSᵀ·Q,
 * d[Vp; V] += Pᵀ·dO. The prefix block (columns 0..P-1) and the sequence's own block (columns
 * P..P+T-1) are separate sgemms into one row-major [T, P + T] matrix. */
#include "kernels/attention.h"
#include "kernels/fastmath.h"
#include "kernels/matmul.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

void pt_alibi_slopes(float *slopes, int n_head)
{
    int n2 = 1;
    while (n2 * 2 <= n_head) n2 *= 2;
    double m0 = pow(2.0, -8.0 / n2);
    double m1 = pow(2.0, -4.0 / n2);
    for (int h = 0; h < n_head; h++) {
        slopes[h] = h < n2 ? (float)pow(m0, h + 1) : (float)pow(m1, 2 * (h - n2) + 1);
    }
}

/* Softmax of row[0 .. last] in place (ALiBi: slope · (key position − query position), the same
 * after softmax as HF's slope · key position, and smaller); zeroes row[last + 1 .. n). */
static void causal_softmax_row(float *row, int last, int n, float alibi_slope)
{
    float mx = -INFINITY;
    for (int j = 0; j <= last; j++) {
        if (alibi_slope != 0.0f) row[j] += alibi_slope * (float)(j - last);
        if (row[j] > mx) mx = row[j];
    }
    float sum = 0.0f;
    for (int j = 0; j <= last; j++) {
        float e = pt_expf(row[j] - mx);
        row[j] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j <= last; j++) row[j] *= inv;
    if (last + 1 < n) memset(row + last + 1, 0, sizeof(float) * (size_t)(n - last - 1));
}

void pt_attention_probs(const pt_attn *a, float *probs)
{
    const int T = a->T, P = a->P, W = P + T;
    if (P > 0) pt_matmul_xwt(probs, W, a->q, a->ld_qkv, a->kp, a->ld_p, T, P, a->head_dim, a->scale, 0.0f);
    /* the full square is computed; the upper triangle is masked below */
    pt_matmul_xwt(probs + P, W, a->q, a->ld_qkv, a->k, a->ld_qkv, T, T, a->head_dim, a->scale, 0.0f);
    for (int i = 0; i < T; i++) causal_softmax_row(probs + (size_t)i * W, P + i, W, a->alibi_slope);
}

void pt_attention_forward(const pt_attn *a, float *out, int ld_out, float *probs)
{
    const int T = a->T, P = a->P, W = P + T, hd = a->head_dim;
    pt_attention_probs(a, probs);
    if (P > 0) pt_matmul_xw(out, ld_out, probs, W, a->vp, a->ld_p, T, hd, P, 1.0f, 0.0f);
    pt_matmul_xw(out, ld_out, probs + P, W, a->v, a->ld_qkv, T, hd, T, 1.0f, P > 0 ? 1.0f : 0.0f);
}

void pt_attention_backward(const pt_attn *a, const float *dout, int ld_out, float *dq, float *dk, float *dv, int ld_d,
                           float *dkp, float *dvp, int ld_dp, float *probs, float *dprobs)
{
    const int T = a->T, P = a->P, W = P + T, hd = a->head_dim;
    pt_attention_probs(a, probs);
    /* d[Vp; V] += Pᵀ · dO */
    if (P > 0) pt_matmul_xtw(dvp, ld_dp, probs, W, dout, ld_out, P, hd, T, 1.0f, 1.0f);
    pt_matmul_xtw(dv, ld_d, probs + P, W, dout, ld_out, T, hd, T, 1.0f, 1.0f);
    /* dP = dO · [Vp; V]ᵀ, then dS in place (zero where masked) */
    if (P > 0) pt_matmul_xwt(dprobs, W, dout, ld_out, a->vp, a->ld_p, T, P, hd, 1.0f, 0.0f);
    pt_matmul_xwt(dprobs + P, W, dout, ld_out, a->v, a->ld_qkv, T, T, hd, 1.0f, 0.0f);
    for (int i = 0; i < T; i++) {
        const float *p = probs + (size_t)i * W;
        float *d = dprobs + (size_t)i * W;
        const int last = P + i;
        float dot = 0.0f;
        for (int j = 0; j <= last; j++) dot += p[j] * d[j];
        for (int j = 0; j <= last; j++) d[j] = p[j] * (d[j] - dot);
        if (last + 1 < W) memset(d + last + 1, 0, sizeof(float) * (size_t)(W - last - 1));
    }
    /* dQ = scale · dS · [Kp; K];  d[Kp; K] += scale · dSᵀ · Q */
    if (P > 0) pt_matmul_xw(dq, ld_d, dprobs, W, a->kp, a->ld_p, T, hd, P, a->scale, 0.0f);
    pt_matmul_xw(dq, ld_d, dprobs + P, W, a->k, a->ld_qkv, T, hd, T, a->scale, P > 0 ? 1.0f : 0.0f);
    if (P > 0) pt_matmul_xtw(dkp, ld_dp, dprobs, W, a->q, a->ld_qkv, P, hd, T, a->scale, 1.0f);
    pt_matmul_xtw(dk, ld_d, dprobs + P, W, a->q, a->ld_qkv, T, hd, T, a->scale, 1.0f);
}

void pt_attention_cached(float *out, int ld_out, float *probs, const float *q, int ld_q, const float *k,
                         const float *v, int ld_kv, int n_q, int pos0, int head_dim, float scale, float alibi_slope)
{
    const int n_k = pos0 + n_q;
    pt_matmul_xwt(probs, n_k, q, ld_q, k, ld_kv, n_q, n_k, head_dim, scale, 0.0f);
    for (int i = 0; i < n_q; i++) causal_softmax_row(probs + (size_t)i * n_k, pos0 + i, n_k, alibi_slope);
    pt_matmul_xw(out, ld_out, probs, n_k, v, ld_kv, n_q, head_dim, n_k, 1.0f, 0.0f);
}
