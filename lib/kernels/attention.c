/* Causal attention: scores = scale·Q·Kᵀ (+ ALiBi), masked softmax, out = P·V; and its backward
 * dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = scale·dS·K, dK += scale·dSᵀ·Q, dV += Pᵀ·dO. */
#include "kernels/attention.h"
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

void pt_attention_probs(float *probs, const float *q, const float *k, int ld_qkv, int T, int head_dim, float scale,
                        float alibi_slope)
{
    /* the full square is computed; the upper triangle is masked below */
    pt_matmul_xwt(probs, T, q, ld_qkv, k, ld_qkv, T, T, head_dim, scale, 0.0f);
    for (int i = 0; i < T; i++) {
        float *row = probs + (size_t)i * T;
        float mx = -INFINITY;
        for (int j = 0; j <= i; j++) {
            /* ALiBi: HF adds slope·j; slope·(j − i) is the same after softmax and smaller. */
            if (alibi_slope != 0.0f) row[j] += alibi_slope * (float)(j - i);
            if (row[j] > mx) mx = row[j];
        }
        double sum = 0.0;
        for (int j = 0; j <= i; j++) {
            float e = expf(row[j] - mx);
            row[j] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j <= i; j++) row[j] *= inv;
        for (int j = i + 1; j < T; j++) row[j] = 0.0f;
    }
}

void pt_attention_forward(float *out, int ld_out, float *probs, const float *q, const float *k,
                          const float *v, int ld_qkv, int T, int head_dim, float scale,
                          float alibi_slope)
{
    pt_attention_probs(probs, q, k, ld_qkv, T, head_dim, scale, alibi_slope);
    pt_matmul_xw(out, ld_out, probs, T, v, ld_qkv, T, head_dim, T, 1.0f, 0.0f);
}

void pt_attention_backward(float *dq, float *dk, float *dv, int ld_dqkv, float *probs, float *dprobs,
                           const float *q, const float *k, const float *v, int ld_qkv, const float *dout, int ld_out,
                           int T, int head_dim, float scale, float alibi_slope)
{
    pt_attention_probs(probs, q, k, ld_qkv, T, head_dim, scale, alibi_slope);
    /* dV += Pᵀ · dO */
    pt_matmul_xtw(dv, ld_dqkv, probs, T, dout, ld_out, T, head_dim, T, 1.0f, 1.0f);
    /* dP = dO · Vᵀ, then dS in place (zero above the diagonal) */
    pt_matmul_xwt(dprobs, T, dout, ld_out, v, ld_qkv, T, T, head_dim, 1.0f, 0.0f);
    for (int i = 0; i < T; i++) {
        const float *p = probs + (size_t)i * T;
        float *d = dprobs + (size_t)i * T;
        double dot = 0.0;
        for (int j = 0; j <= i; j++) dot += (double)p[j] * d[j];
        for (int j = 0; j <= i; j++) d[j] = p[j] * (d[j] - (float)dot);
        for (int j = i + 1; j < T; j++) d[j] = 0.0f;
    }
    /* dQ = scale · dS · K;  dK += scale · dSᵀ · Q */
    pt_matmul_xw(dq, ld_dqkv, dprobs, T, k, ld_qkv, T, head_dim, T, scale, 0.0f);
    pt_matmul_xtw(dk, ld_dqkv, dprobs, T, q, ld_qkv, T, head_dim, T, scale, 1.0f);
}

void pt_attention_cached(float *out, int ld_out, float *probs, const float *q, int ld_q, const float *k,
                         const float *v, int ld_kv, int n_q, int pos0, int head_dim, float scale, float alibi_slope)
{
    const int n_k = pos0 + n_q;
    pt_matmul_xwt(probs, n_k, q, ld_q, k, ld_kv, n_q, n_k, head_dim, scale, 0.0f);
    for (int i = 0; i < n_q; i++) {
        float *row = probs + (size_t)i * n_k;
        const int last = pos0 + i; /* causal: keys 0 .. last */
        float mx = -INFINITY;
        for (int j = 0; j <= last; j++) {
            if (alibi_slope != 0.0f) row[j] += alibi_slope * (float)(j - last);
            if (row[j] > mx) mx = row[j];
        }
        double sum = 0.0;
        for (int j = 0; j <= last; j++) {
            float e = expf(row[j] - mx);
            row[j] = e;
            sum += e;
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j <= last; j++) row[j] *= inv;
        for (int j = last + 1; j < n_k; j++) row[j] = 0.0f;
    }
    pt_matmul_xw(out, ld_out, probs, n_k, v, ld_kv, n_q, head_dim, n_k, 1.0f, 0.0f);
}
