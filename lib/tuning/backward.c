/* The backward pass to the soft prompt only: from the LM head's dH (computed during the forward
 * pass), through the final norm, every block in reverse and BLOOM's embedding norm, down to the
 * virtual rows; input gradients only — no weight gradient is ever formed. */
#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/weight_products.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "tuning/ctx.h"
#include "tuning/prompt.h"

#include <math.h>
#include <string.h>

/* ---- row kernels ---------------------------------------------------------------------------- */

typedef struct norm_bw_job {
    float *dinp;            /* += */
    const float *dout, *inp, *w, *mean, *rstd;
} norm_bw_job;

static void norm_bw_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const norm_bw_job *j = job;
    const int D = c->m->hp.n_embd;
    const size_t off = (size_t)r0 * D;
    if (c->m->arch->norm == PT_NORM_RMSNORM)
        pt_rmsnorm_backward(j->dinp + off, j->dout + off, j->inp + off, j->w, j->rstd + r0, r1 - r0, D);
    else
        pt_layernorm_backward(j->dinp + off, j->dout + off, j->inp + off, j->w, j->mean + r0, j->rstd + r0, r1 - r0, D);
}

/* dinp += norm'(inp)ᵀ · dout */
static void norm_backward(ptune_ctx *c, float *dinp, const float *dout, const float *inp, const float *w,
                          const float *mean, const float *rstd)
{
    norm_bw_job j = {dinp, dout, inp, w, mean, rstd};
    pt_ctx_parallel_rows(c, c->n_rows, norm_bw_rows, &j);
}

typedef struct copy_job {
    float *dst;
    const float *src;   /* NULL: zero */
    int cols;
} copy_job;

static void copy_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    (void)c;
    const copy_job *j = job;
    size_t off = (size_t)r0 * j->cols, n = (size_t)(r1 - r0) * j->cols;
    if (j->src) memcpy(j->dst + off, j->src + off, n * sizeof(float));
    else memset(j->dst + off, 0, n * sizeof(float));
}

static void set_rows(ptune_ctx *c, float *dst, const float *src, int cols)
{
    copy_job j = {dst, src, cols};
    pt_ctx_parallel_rows(c, c->n_rows, copy_rows, &j);
}

static void ffn_act_bw_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const float *ff = job; /* the layer's saved pre-activation */
    const int F = c->m->hp.n_ff;
    if (c->m->arch->ffn == PT_FFN_SWIGLU)
        pt_swiglu_backward(c->g_ff + (size_t)r0 * 2 * F, ff + (size_t)r0 * 2 * F, c->ff_act + (size_t)r0 * F, r1 - r0, F);
    else
        pt_gelu_tanh_backward(c->g_ff + (size_t)r0 * F, ff + (size_t)r0 * F, c->ff_act + (size_t)r0 * F,
                              (long)(r1 - r0) * F);
}

static void rope_bw_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    (void)job;
    const pt_hparams *h = &c->m->hp;
    const int half = h->n_rot / 2, qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h);
    for (int r = r0; r < r1; r++) {
        float *row = c->g_qkv + (size_t)r * qkv_dim;
        const float *cs = c->rope_cos + (size_t)c->row_pos[r] * half;
        const float *sn = c->rope_sin + (size_t)c->row_pos[r] * half;
        pt_rope_backward(row, h->n_head, h->head_dim, h->n_rot, cs, sn);
        pt_rope_backward(row + q_dim, h->n_head_kv, h->head_dim, h->n_rot, cs, sn);
    }
}

/* ---- attention: one task per (segment, key/value head), its query heads in turn ------------- */

typedef struct attn_bw_job {
    ptune_ctx *c;
    const float *qkv;
    size_t scratch_stride;   /* per thread: probabilities then their gradient */
} attn_bw_job;

/* Zeroes the key and value gradient columns of every row: the tasks add into them (the shared
 * prefix's from every sequence). */
static void zero_kv_grad_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    (void)job;
    const pt_hparams *h = &c->m->hp;
    const int qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h);
    for (int r = r0; r < r1; r++)
        memset(c->g_qkv + (size_t)r * qkv_dim + q_dim, 0, sizeof(float) * (size_t)(qkv_dim - q_dim));
}

static void attn_bw_task(void *arg, int task, int thread)
{
    const attn_bw_job *j = arg;
    ptune_ctx *c = j->c;
    const pt_hparams *h = &c->m->hp;
    const int group = h->n_head / h->n_head_kv, seg = task / h->n_head_kv, kvh = task % h->n_head_kv;
    const int qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h), kv_dim = pt_hp_kv_dim(h);
    float *probs = c->att_scratch + (size_t)thread * j->scratch_stride;
    float *dprobs = probs + j->scratch_stride / 2;
    for (int g = 0; g < group; g++) {
        const int head = kvh * group + g, hd = h->head_dim;
        pt_attn a;
        int row0;
        pt_ctx_attn_problem(c, j->qkv, seg, head, &a, &row0);
        float *gbase = c->g_qkv + (size_t)row0 * qkv_dim;
        float *gprefix = c->g_qkv; /* the shared prefix starts at row 0 */
        pt_attention_backward(&a, c->att + (size_t)row0 * q_dim + (size_t)head * hd, q_dim, gbase + (size_t)head * hd,
                              gbase + q_dim + (size_t)kvh * hd, gbase + q_dim + kv_dim + (size_t)kvh * hd, qkv_dim,
                              gprefix + q_dim + (size_t)kvh * hd, gprefix + q_dim + kv_dim + (size_t)kvh * hd, qkv_dim,
                              probs, dprobs);
    }
}

/* ---- one block in reverse ------------------------------------------------------------------- */

/* On entry c->g_x holds d loss / d(block output); on return d loss / d(block input). */
static void block_backward(ptune_ctx *c, int l, size_t scratch_stride)
{
    const ptune_model *m = c->m;
    const pt_hparams *h = &m->hp;
    const int N = c->n_rows, D = h->n_embd, F = h->n_ff, q_dim = pt_hp_q_dim(h), qkv_dim = pt_hp_qkv_dim(h);
    const int up_rows = pt_ctx_up_rows(c);
    const float *x = pt_ctx_x(c, l), *x_mid = pt_ctx_x_mid(c, l), *qkv = pt_ctx_qkv(c, l), *ff = pt_ctx_ff(c, l);
    if (!c->keep_layers) pt_block_forward(c, l, scratch_stride, false); /* refill this layer's activations */

    /* x_out = x_mid + act(ff)·W_downᵀ: the residual passes g_x to x_mid unchanged */
    set_rows(c, c->g_mid, c->g_x, D);
    pt_wmat_xw(&c->panels, c->ff_act, F, c->g_x, D, pt_layer_mat(m, l, PT_SLOT_FFN_DOWN), N, 1.0f, 0.0f);
    pt_ctx_parallel_rows(c, N, ffn_act_bw_rows, ff);
    pt_wmat_xw(&c->panels, c->g_h, D, c->g_ff, up_rows, pt_layer_mat(m, l, PT_SLOT_FFN_UP), N, 1.0f, 0.0f);
    norm_backward(c, c->g_mid, c->g_h, x_mid, pt_layer_w(m, l, PT_SLOT_FFN_NORM_W), pt_ctx_stat(c, l, 2),
                  pt_ctx_stat(c, l, 3));

    /* x_mid = x + attn(norm(x))·W_oᵀ */
    pt_wmat_xw(&c->panels, c->att, q_dim, c->g_mid, D, pt_layer_mat(m, l, PT_SLOT_ATTN_OUT), N, 1.0f, 0.0f);
    attn_bw_job aj = {c, qkv, scratch_stride};
    pt_ctx_parallel_rows(c, N, zero_kv_grad_rows, NULL);
    pt_ctx_run_attention(pt_ctx_n_segments(c) * h->n_head_kv, attn_bw_task, &aj);
    if (m->arch->pos == PT_POS_ROPE) pt_ctx_parallel_rows(c, N, rope_bw_rows, NULL);
    pt_wmat_xw(&c->panels, c->g_h, D, c->g_qkv, qkv_dim, pt_layer_mat(m, l, PT_SLOT_QKV), N, 1.0f, 0.0f);
    set_rows(c, c->g_x, c->g_mid, D);
    norm_backward(c, c->g_x, c->g_h, x, pt_layer_w(m, l, PT_SLOT_ATTN_NORM_W), pt_ctx_stat(c, l, 0),
                  pt_ctx_stat(c, l, 1));
}

/* ---- public entry point ----------------------------------------------------------------------- */

PTUNE_API ptune_status ptune_backward(ptune_ctx *c, ptune_prompt *p)
{
    if (!c || !p) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_backward: context and prompt are required");
    if (!c->training)
        return pt_fail(PTUNE_E_STATE, "ptune_backward: the context was created without ptune_ctx_params.training");
    if (!c->have_result) return pt_fail(PTUNE_E_STATE, "ptune_backward: no successful forward pass to differentiate");
    if (!c->fwd_prompt) return pt_fail(PTUNE_E_STATE, "ptune_backward: the last forward pass had no soft prompt");
    if (c->fwd_prompt != p)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_backward: this is not the prompt the last forward pass used");
    if (c->n_counted == 0) return pt_fail(PTUNE_E_STATE, "ptune_backward: the batch has no counted target");

    const ptune_model *m = c->m;
    const int L = m->hp.n_layer, D = m->hp.n_embd;
    const size_t scratch_stride = 2 * pt_ctx_attention_area(c);

    /* the LM head left d loss / d(final norm output) in dh_final */
    set_rows(c, c->g_x, NULL, D);
    norm_backward(c, c->g_x, c->dh_final, pt_ctx_x(c, L), pt_global_w(m, PT_SLOT_OUT_NORM_W), c->final_stats,
                  c->final_stats + c->max_tokens);
    for (int l = L - 1; l >= 0; l--) block_backward(c, l, scratch_stride);
    const float *g_emb = c->g_x;
    if (m->arch->emb_norm) {
        set_rows(c, c->g_h, NULL, D);
        norm_backward(c, c->g_h, c->g_x, c->emb, pt_global_w(m, PT_SLOT_EMB_NORM_W), c->emb_stats,
                      c->emb_stats + c->max_tokens);
        g_emb = c->g_h;
    }
    /* the virtual rows (the shared prefix once, each sequence's own copies of the rest): the
     * gradients of every row at the same prompt position add up */
    for (int r = 0; r < c->n_rows; r++) {
        if (c->row_token[r] >= 0) continue;
        const float *g = g_emb + (size_t)r * D;
        float *dst = p->grad + (size_t)c->row_pos[r] * D;
        for (int i = 0; i < D; i++) dst[i] += g[i];
    }
    for (size_t i = 0; i < (size_t)p->n_virtual * (size_t)D; i++)
        if (!isfinite(p->grad[i]))
            return pt_fail(PTUNE_E_NUMERIC, "ptune_backward: the prompt gradient is not finite (element %zu)", i);
    return PTUNE_OK;
}
