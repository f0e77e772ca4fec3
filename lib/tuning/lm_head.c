/* The LM head as a fused, chunked cross-entropy: logits = H·Wᵀ are produced one block of rows ×
 * one block of the vocabulary at a time and never exist whole. Each row keeps a running
 * maximum m and sum s = Σ exp(l − m) (an online log-sum-exp) and, in training, the running
 * accumulator a = Σ exp(l − m)·W[v], rescaled when m grows. At the end of the vocabulary,
 * log p(target) = l[target] − (m + log s) and d loss / d h = (a / s − W[target]) / n_counted,
 * which is softmax·W − onehot·W without the softmax matrix: two sgemms per block
 * (logits, then a += exp(logits − m)·W_block) over up to PT_HEAD_ROWS rows at once. */
#include "kernels/fastmath.h"
#include "kernels/matmul.h"
#include "kernels/weight_products.h"
#include "tuning/ctx.h"

#include <math.h>
#include <string.h>

static bool keeps_row(const ptune_ctx *c, int r, int seq)
{
    if (c->logits_mode == PTUNE_LOGITS_ALL) return true;
    return c->logits_mode == PTUNE_LOGITS_LAST && r == c->seq_row0[seq + 1] - 1;
}

/* max of x[0 .. n) with 8 independent lanes, so that it vectorises */
static float block_max(const float *x, int n)
{
    float lane[8];
    for (int k = 0; k < 8; k++) lane[k] = -INFINITY;
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];
    float mx = -INFINITY;
    for (int k = 0; k < 8; k++) mx = lane[k] > mx ? lane[k] : mx;
    for (; j < n; j++) mx = x[j] > mx ? x[j] : mx;
    return mx;
}

/* Σ exp(x − m) over x[0 .. n); with `store`, x[j] = exp(x[j] − m) in place */
static double block_exp_sum(float *x, int n, float m, bool store)
{
    double lane[8] = {0};
    int j = 0;
    for (; j + 8 <= n; j += 8)
        for (int k = 0; k < 8; k++) {
            float e = pt_expf(x[j + k] - m);
            if (store) x[j + k] = e;
            lane[k] += e;
        }
    double s = 0.0;
    for (int k = 0; k < 8; k++) s += lane[k];
    for (; j < n; j++) {
        float e = pt_expf(x[j] - m);
        if (store) x[j] = e;
        s += e;
    }
    return s;
}

typedef struct vocab_block {
    int v0, nb;    /* the block's first vocabulary entry and width */
    int ld;        /* row stride of head_out for this chunk */
    const float *w;/* training: the block's rows of W as fp32 */
} vocab_block;

/* One vocabulary block for gathered rows [i0, i1): kept logits, target logit, online update. */
static void block_rows(ptune_ctx *c, int i0, int i1, const void *job)
{
    const vocab_block *b = job;
    const int V = c->m->hp.n_vocab, D = c->m->hp.n_embd;
    for (int i = i0; i < i1; i++) {
        float *l = c->head_out + (size_t)i * b->ld;
        const int r = c->head_row[i];
        if (c->head_keep[i] >= 0) memcpy(c->logits + (size_t)c->head_keep[i] * V + b->v0, l, sizeof(float) * (size_t)b->nb);
        const int32_t t = c->row_target[r];
        if (t == PT_IGNORE_INDEX) { /* kept only: no loss, no gradient */
            if (c->training) memset(l, 0, sizeof(float) * (size_t)b->nb);
            continue;
        }
        if (t >= b->v0 && t < b->v0 + b->nb) {
            c->head_tlogit[i] = l[t - b->v0];
            if (c->training) memcpy(c->head_wt + (size_t)i * D, b->w + (size_t)(t - b->v0) * D, sizeof(float) * (size_t)D);
        }
        const float m_old = c->head_max[i], bm = block_max(l, b->nb);
        const float m = bm > m_old ? bm : m_old;
        const float rescale = pt_expf(m_old - m); /* 0 for the first block (m_old = −∞) */
        c->head_sum[i] = c->head_sum[i] * rescale + block_exp_sum(l, b->nb, m, c->training);
        c->head_max[i] = m;
        if (c->training && rescale != 1.0f) {
            float *a = c->head_acc + (size_t)i * D;
            for (int k = 0; k < D; k++) a[k] *= rescale;
        }
    }
}

/* After the last block: log-probabilities, and in training d loss / d h into dh_final. */
static void finish_rows(ptune_ctx *c, int i0, int i1, const void *job)
{
    (void)job;
    const int D = c->m->hp.n_embd;
    for (int i = i0; i < i1; i++) {
        const int r = c->head_row[i];
        const int32_t t = c->row_target[r];
        if (t == PT_IGNORE_INDEX) continue;
        const double lse = (double)c->head_max[i] + log(c->head_sum[i]);
        c->row_logprob[r] = (float)((double)c->head_tlogit[i] - lse);
        if (!c->training) continue;
        const float inv = (float)(1.0 / c->head_sum[i]), g = c->grad_scale;
        const float *a = c->head_acc + (size_t)i * D, *wt = c->head_wt + (size_t)i * D;
        float *dh = c->dh_final + (size_t)r * D;
        for (int k = 0; k < D; k++) dh[k] = g * (a[k] * inv - wt[k]);
    }
}

/* The gathered rows [0, n): every vocabulary block, then the per-row results. A single row
 * (decoding at batch 1) takes the whole vocabulary in one product from the same buffer instead
 * of one per 4,096 entries. Several rows keep the narrow blocks: each row's product is an sgemv
 * (kernels/matmul.c) and the later rows find a narrow block still in cache. In training the
 * block's weights serve two products, so a stored (non-fp32) head is converted once per block. */
static void head_chunk(ptune_ctx *c, int n)
{
    const ptune_model *m = c->m;
    const int D = m->hp.n_embd, V = m->hp.n_vocab;
    const size_t cap = (size_t)c->head_rows_cap * (size_t)c->head_vocab_block;
    const int VB = n > 1 ? c->head_vocab_block : cap >= (size_t)V ? V : (int)cap;
    const pt_wmat *w = pt_global_mat(m, PT_SLOT_OUTPUT);
    for (int i = 0; i < n; i++) {
        c->head_max[i] = -INFINITY;
        c->head_sum[i] = 0.0;
        c->head_tlogit[i] = NAN;
    }
    if (c->training) memset(c->head_acc, 0, sizeof(float) * (size_t)n * (size_t)D);
    for (int v0 = 0; v0 < V; v0 += VB) {
        vocab_block b = {v0, V - v0 < VB ? V - v0 : VB, VB, NULL};
        if (c->training) {
            b.w = pt_wmat_panel(&c->panels, w, v0, b.nb);
            pt_matmul_xwt(c->head_out, VB, c->head_in, D, b.w, D, n, b.nb, D, 1.0f, 0.0f);
        } else {
            pt_wmat_xwt(&c->panels, c->head_out, VB, c->head_in, D, w, v0, b.nb, n, 1.0f, 0.0f);
        }
        pt_ctx_parallel_rows(c, n, block_rows, &b);
        if (c->training) pt_matmul_xw(c->head_acc, D, c->head_out, VB, b.w, D, n, D, b.nb, 1.0f, 1.0f);
    }
    pt_ctx_parallel_rows(c, n, finish_rows, NULL);
}

void pt_lm_head(ptune_ctx *c, const float *h_final)
{
    const int D = c->m->hp.n_embd;
    int n = 0;
    if (c->training) memset(c->dh_final, 0, sizeof(float) * (size_t)c->n_rows * (size_t)D);
    for (int s = 0; s < c->n_seq; s++) {
        for (int r = c->seq_row0[s]; r < c->seq_row0[s + 1]; r++) {
            const bool keep = keeps_row(c, r, s);
            if (c->row_target[r] == PT_IGNORE_INDEX && !keep) continue;
            memcpy(c->head_in + (size_t)n * D, h_final + (size_t)r * D, sizeof(float) * (size_t)D);
            c->head_row[n] = r;
            c->head_keep[n] = !keep ? -1 : c->logits_mode == PTUNE_LOGITS_ALL ? r : s;
            if (++n == c->head_rows_cap) {
                head_chunk(c, n);
                n = 0;
            }
        }
    }
    if (n > 0) head_chunk(c, n);
}
