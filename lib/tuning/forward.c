/* The transformer forward pass over a ragged batch with an optional soft prompt: one block
 * implementation driven by the architecture description, the fused chunked LM head that
 * yields target log-probabilities (and kept logits), and the loss/logits accessors. */
#include "core/alloc.h"
#include "core/error.h"
#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/weight_products.h"
#include "kernels/norm.h"
#include "kernels/rope.h"
#include "tuning/ctx.h"
#include "tuning/prompt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- parallel row ranges ------------------------------------------------------------------ */

typedef struct rows_job {
    ptune_ctx *c;
    pt_row_range_fn fn;
    const void *job;
    int n_rows, n_tasks;
} rows_job;

static void rows_task(void *arg, int task, int thread)
{
    (void)thread;
    const rows_job *j = arg;
    int b, e;
    pt_split_range(j->n_rows, j->n_tasks, task, &b, &e);
    if (b < e) j->fn(j->c, b, e, j->job);
}

void pt_ctx_parallel_rows(ptune_ctx *c, int n_rows, pt_row_range_fn fn, const void *job)
{
    int n_tasks = pt_pool_n_threads(c->pool);
    if (n_tasks > n_rows) n_tasks = n_rows;
    rows_job j = {c, fn, job, n_rows, n_tasks};
    pt_pool_run(c->pool, n_tasks, rows_task, &j);
}

/* ---- row kernels -------------------------------------------------------------------------- */

typedef struct embed_job {
    const ptune_prompt *prompt;
    float *dst;
} embed_job;

static int row_seq(const ptune_ctx *c, int r)
{
    int lo = 0, hi = c->n_seq - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (c->seq_row0[mid] <= r) lo = mid;
        else hi = mid - 1;
    }
    return lo;
}

static void embed_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const embed_job *j = job;
    const ptune_model *m = c->m;
    const int D = m->hp.n_embd;
    const pt_wmat *tok = pt_global_mat(m, PT_SLOT_TOK_EMBD);
    const float *pos = pt_global_w(m, PT_SLOT_POS_EMBD);
    for (int r = r0; r < r1; r++) {
        float *x = j->dst + (size_t)r * D;
        int32_t id = c->row_token[r];
        const ptune_prompt *prompt = c->seq_prompts && id < 0 ? c->seq_prompts[row_seq(c, r)] : j->prompt;
        if (id >= 0) pt_wmat_rows_to_f32(tok, id, 1, x);
        else memcpy(x, prompt->values + (size_t)c->row_pos[r] * D, sizeof(float) * (size_t)D);
        if (pos) {
            const float *p = pos + (size_t)c->row_pos[r] * D;
            for (int i = 0; i < D; i++) x[i] += p[i];
        }
    }
}

typedef struct norm_job {
    float *out, *mean, *rstd;
    const float *in;
    const float *w, *b;
} norm_job;

static void norm_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const norm_job *j = job;
    const int D = c->m->hp.n_embd;
    const size_t off = (size_t)r0 * D;
    if (c->m->arch->norm == PT_NORM_RMSNORM)
        pt_rmsnorm_forward(j->out + off, j->rstd + r0, j->in + off, j->w, r1 - r0, D, c->m->hp.norm_eps);
    else
        pt_layernorm_forward(j->out + off, j->mean + r0, j->rstd + r0, j->in + off, j->w, j->b, r1 - r0, D,
                             c->m->hp.norm_eps);
}

void pt_ctx_norm(ptune_ctx *c, float *out, float *mean, float *rstd, const float *in, const float *w, const float *b)
{
    norm_job j = {out, mean, rstd, in, w, b};
    pt_ctx_parallel_rows(c, c->n_rows, norm_rows, &j);
}

/* out[r] = base[r] (or 0) + bias (or 0), preparing an sgemm with beta = 1. */
typedef struct fill_job {
    float *out;
    const float *base;
    const float *bias;
    int cols;
} fill_job;

static void fill_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    (void)c;
    const fill_job *j = job;
    pt_rows_fill_bias(j->out, j->cols, j->bias, r0, r1, j->cols);
    if (!j->base) return;
    for (int r = r0; r < r1; r++) {
        float *o = j->out + (size_t)r * j->cols;
        const float *b = j->base + (size_t)r * j->cols;
        for (int i = 0; i < j->cols; i++) o[i] += b[i];
    }
}

/* out[N, n_out] = base + bias + in[N, n_in] · Wᵀ (W [n_out, n_in] in any storage) */
static void linear(ptune_ctx *c, float *out, const float *base, const float *in, const pt_wmat *w, const float *bias)
{
    const int n_out = (int)w->rows, n_in = (int)w->cols;
    fill_job j = {out, base, bias, n_out};
    pt_ctx_parallel_rows(c, c->n_rows, fill_rows, &j);
    pt_wmat_xwt(&c->panels, out, n_out, in, n_in, w, 0, n_out, c->n_rows, 1.0f, 1.0f);
}

static void rope_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    float *qkv = (float *)job;
    const ptune_model *m = c->m;
    const pt_hparams *h = &m->hp;
    const int half = h->n_rot / 2, qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h);
    for (int r = r0; r < r1; r++) {
        float *row = qkv + (size_t)r * qkv_dim;
        const float *cs = c->rope_cos + (size_t)c->row_pos[r] * half;
        const float *sn = c->rope_sin + (size_t)c->row_pos[r] * half;
        pt_rope_forward(row, h->n_head, h->head_dim, h->n_rot, cs, sn);
        pt_rope_forward(row + q_dim, h->n_head_kv, h->head_dim, h->n_rot, cs, sn);
    }
}

static void ffn_act_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const float *ff = job;
    const int F = c->m->hp.n_ff;
    if (c->m->arch->ffn == PT_FFN_SWIGLU)
        pt_swiglu_forward(c->ff_act + (size_t)r0 * F, ff + (size_t)r0 * 2 * F, r1 - r0, F);
    else
        pt_gelu_tanh_forward(c->ff_act + (size_t)r0 * F, ff + (size_t)r0 * F, (long)(r1 - r0) * F);
}

/* ---- attention: one task per (segment, head) ----------------------------------------------- */

void pt_ctx_attn_problem(const ptune_ctx *c, const float *qkv, int seg, int head, pt_attn *a, int *row0)
{
    const pt_hparams *h = &c->m->hp;
    const int hd = h->head_dim, kvh = head / (h->n_head / h->n_head_kv);
    const int qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h), kv_dim = pt_hp_kv_dim(h);
    const bool prefix = seg == c->n_seq; /* the shared prefix segment */
    const int r0 = prefix ? 0 : c->seq_row0[seg];
    const int T = prefix ? c->n_shared : c->seq_row0[seg + 1] - r0;
    const int P = prefix ? 0 : c->n_shared;
    const float *base = qkv + (size_t)r0 * qkv_dim;
    *a = (pt_attn){
        .q = base + (size_t)head * hd,
        .k = base + q_dim + (size_t)kvh * hd,
        .v = base + q_dim + kv_dim + (size_t)kvh * hd,
        .ld_qkv = qkv_dim,
        .T = T,
        .kp = qkv + q_dim + (size_t)kvh * hd,
        .vp = qkv + q_dim + kv_dim + (size_t)kvh * hd,
        .ld_p = qkv_dim,
        .P = P,
        .head_dim = hd,
        .scale = 1.0f / sqrtf((float)hd),
        .alibi_slope = c->alibi_slopes ? c->alibi_slopes[head] : 0.0f,
    };
    *row0 = r0;
}

size_t pt_ctx_attention_area(const ptune_ctx *c)
{
    size_t area = (size_t)c->n_shared * (size_t)c->n_shared;
    for (int s = 0; s < c->n_seq; s++) {
        const size_t T = (size_t)(c->seq_row0[s + 1] - c->seq_row0[s]);
        /* kv_mode: new rows × cached positions; otherwise rows × (prefix + rows) */
        const size_t before = c->kv_mode ? (size_t)c->row_pos[c->seq_row0[s]] : (size_t)c->n_shared;
        if (T * (before + T) > area) area = T * (before + T);
    }
    return area;
}

typedef struct attn_job {
    ptune_ctx *c;
    const float *qkv;
    size_t scratch_stride;
    int layer;
} attn_job;

static void attn_task(void *arg, int task, int thread)
{
    const attn_job *j = arg;
    ptune_ctx *c = j->c;
    const int nh = c->m->hp.n_head, q_dim = pt_hp_q_dim(&c->m->hp);
    const int head = task % nh;
    pt_attn a;
    int row0;
    pt_ctx_attn_problem(c, j->qkv, task / nh, head, &a, &row0);
    pt_attention_forward(&a, c->att + (size_t)row0 * q_dim + (size_t)head * a.head_dim, q_dim,
                         c->att_scratch + (size_t)thread * j->scratch_stride);
}

/* kv_mode: one task per (sequence, head) against the cache; the new rows were stored first. */
static void attn_cached_task(void *arg, int task, int thread)
{
    const attn_job *j = arg;
    ptune_ctx *c = j->c;
    const pt_hparams *h = &c->m->hp;
    const int nh = h->n_head, hd = h->head_dim, group = h->n_head / h->n_head_kv;
    const int seq = task / nh, head = task % nh, kvh = head / group;
    const int qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h), kv_dim = pt_hp_kv_dim(h);
    const int row0 = c->seq_row0[seq], n_new = c->seq_row0[seq + 1] - row0, pos0 = c->row_pos[row0];
    const int l = j->layer;
    pt_attention_cached(c->att + (size_t)row0 * q_dim + (size_t)head * hd, q_dim,
                        c->att_scratch + (size_t)thread * j->scratch_stride,
                        j->qkv + (size_t)row0 * qkv_dim + (size_t)head * hd, qkv_dim,
                        pt_ctx_kv(c, c->kv_k, l, seq) + (size_t)kvh * hd, pt_ctx_kv(c, c->kv_v, l, seq) + (size_t)kvh * hd,
                        kv_dim, n_new, pos0, hd, 1.0f / sqrtf((float)hd), c->alibi_slopes ? c->alibi_slopes[head] : 0.0f);
}

/* kv_mode: copies each row's k and v (after RoPE) into its sequence's cache slot. */
static void kv_store_rows(ptune_ctx *c, int r0, int r1, const void *job)
{
    const attn_job *j = job;
    const pt_hparams *h = &c->m->hp;
    const int qkv_dim = pt_hp_qkv_dim(h), q_dim = pt_hp_q_dim(h), kv_dim = pt_hp_kv_dim(h);
    int seq = 0;
    for (int r = r0; r < r1; r++) {
        while (c->seq_row0[seq + 1] <= r) seq++;
        const float *row = j->qkv + (size_t)r * qkv_dim;
        const size_t at = (size_t)c->row_pos[r] * kv_dim;
        memcpy(pt_ctx_kv(c, c->kv_k, j->layer, seq) + at, row + q_dim, sizeof(float) * (size_t)kv_dim);
        memcpy(pt_ctx_kv(c, c->kv_v, j->layer, seq) + at, row + q_dim + kv_dim, sizeof(float) * (size_t)kv_dim);
    }
}

/* `per_thread` floats of forward attention scratch per thread (backward needs twice that). */
static ptune_status ensure_attention_scratch(ptune_ctx *c, size_t per_thread)
{
    size_t per = per_thread * (c->training ? 2 : 1), need;
    if (!pt_mul_size(per, (size_t)pt_pool_n_threads(c->pool), &need))
        return pt_fail(PTUNE_E_NOMEM, "attention scratch size overflows");
    if (need <= c->att_scratch_floats) return PTUNE_OK;
    float *p = pt_malloc_aligned(need * sizeof(float), "attention scratch");
    if (!p) return PTUNE_E_NOMEM;
    pt_free_aligned(c->att_scratch);
    c->att_scratch = p;
    c->att_scratch_floats = need;
    return PTUNE_OK;
}

/* ---- one transformer block ---------------------------------------------------------------- */

void pt_block_forward(ptune_ctx *c, int l, size_t scratch_stride, bool output)
{
    const ptune_model *m = c->m;
    const pt_hparams *h = &m->hp;
    float *x = pt_ctx_x(c, l), *x_out = pt_ctx_x(c, l + 1), *x_mid = pt_ctx_x_mid(c, l);
    float *qkv = pt_ctx_qkv(c, l), *ff = pt_ctx_ff(c, l);

    pt_ctx_norm(c, c->h, pt_ctx_stat(c, l, 0), pt_ctx_stat(c, l, 1), x, pt_layer_w(m, l, PT_SLOT_ATTN_NORM_W),
                pt_layer_w(m, l, PT_SLOT_ATTN_NORM_B));
    linear(c, qkv, NULL, c->h, pt_layer_mat(m, l, PT_SLOT_QKV), pt_layer_w(m, l, PT_SLOT_QKV_B));
    if (m->arch->pos == PT_POS_ROPE) pt_ctx_parallel_rows(c, c->n_rows, rope_rows, qkv);
    attn_job aj = {c, qkv, scratch_stride, l};
    if (c->kv_mode) {
        pt_ctx_parallel_rows(c, c->n_rows, kv_store_rows, &aj);
        pt_ctx_run_attention(c->n_seq * h->n_head, attn_cached_task, &aj);
    } else {
        pt_ctx_run_attention(pt_ctx_n_segments(c) * h->n_head, attn_task, &aj);
    }
    linear(c, x_mid, x, c->att, pt_layer_mat(m, l, PT_SLOT_ATTN_OUT), pt_layer_w(m, l, PT_SLOT_ATTN_OUT_B));

    pt_ctx_norm(c, c->h, pt_ctx_stat(c, l, 2), pt_ctx_stat(c, l, 3), x_mid, pt_layer_w(m, l, PT_SLOT_FFN_NORM_W),
                pt_layer_w(m, l, PT_SLOT_FFN_NORM_B));
    linear(c, ff, NULL, c->h, pt_layer_mat(m, l, PT_SLOT_FFN_UP), pt_layer_w(m, l, PT_SLOT_FFN_UP_B));
    pt_ctx_parallel_rows(c, c->n_rows, ffn_act_rows, ff);
    if (!output) return;
    /* in an inference context x_out is x itself: x is no longer needed here */
    linear(c, x_out, x_mid, c->ff_act, pt_layer_mat(m, l, PT_SLOT_FFN_DOWN), pt_layer_w(m, l, PT_SLOT_FFN_DOWN_B));
}

/* ---- kept logits ---------------------------------------------------------------------------- */

static ptune_status ensure_logits(ptune_ctx *c)
{
    size_t rows = c->logits_mode == PTUNE_LOGITS_ALL ? (size_t)c->n_rows
                  : c->logits_mode == PTUNE_LOGITS_LAST ? (size_t)c->n_seq : 0;
    for (int s = 0; s <= c->n_seq; s++)
        c->seq_logit_row0[s] = c->logits_mode == PTUNE_LOGITS_ALL ? c->seq_row0[s] : s;
    if (rows <= c->logits_cap_rows) return PTUNE_OK;
    size_t n;
    if (!pt_mul_size(rows, (size_t)c->m->hp.n_vocab, &n)) return pt_fail(PTUNE_E_NOMEM, "logits size overflows");
    float *p = pt_malloc_array(n, sizeof(float), "kept logits");
    if (!p) return PTUNE_E_NOMEM;
    free(c->logits);
    c->logits = p;
    c->logits_cap_rows = rows;
    return PTUNE_OK;
}

/* ---- batch validation and row bookkeeping -------------------------------------------------- */

static ptune_status setup_batch(ptune_ctx *c, const ptune_prompt *prompt, const ptune_batch *b)
{
    const pt_hparams *h = &c->m->hp;
    if (!b || b->n_seq <= 0 || !b->ids || !b->len)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: the batch needs n_seq > 0, ids and len");
    if (prompt && prompt->n_embd != h->n_embd)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: the prompt is %d wide, the model's hidden size is %d",
                       prompt->n_embd, h->n_embd);
    const int nv = prompt ? prompt->n_virtual : 0;
    /* the prompt's first nv − 1 rows once per batch (see ptune_ctx.n_shared); kept logits of
     * every row (LOGITS_ALL) need them per sequence */
    const int shared = nv > 1 && b->n_seq > 1 && c->logits_mode != PTUNE_LOGITS_ALL ? nv - 1 : 0;
    int64_t total = shared;
    for (int s = 0; s < b->n_seq; s++) {
        if (b->len[s] <= 0 || !b->ids[s])
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: sequence %d has length %d or no ids", s, b->len[s]);
        int64_t rows = (int64_t)nv + b->len[s];
        int64_t limit = h->n_ctx;
        if (limit > 0 && rows > limit)
            return pt_fail(PTUNE_E_CAPACITY, "ptune_forward: sequence %d needs %lld positions (%d virtual + %d tokens), "
                           "the model's context is %lld", s, (long long)rows, nv, b->len[s], (long long)limit);
        if (h->sliding_window > 0 && rows > h->sliding_window)
            return pt_fail(PTUNE_E_UNSUPPORTED, "ptune_forward: sequence %d has %lld positions, beyond the model's "
                           "sliding attention window of %d (not supported)", s, (long long)rows, h->sliding_window);
        total += rows - shared;
        for (int i = 0; i < b->len[s]; i++) {
            int32_t id = b->ids[s][i];
            if (id < 0 || id >= h->n_vocab)
                return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: sequence %d, token %d: id %d outside the vocabulary [0, %d)",
                               s, i, id, h->n_vocab);
            if (b->labels && b->labels[s]) {
                int32_t lab = b->labels[s][i];
                if (lab != PT_IGNORE_INDEX && (lab < 0 || lab >= h->n_vocab))
                    return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: sequence %d, label %d: %d is neither -100 nor in [0, %d)",
                                   s, i, lab, h->n_vocab);
            }
        }
    }
    if (total > c->max_tokens)
        return pt_fail(PTUNE_E_CAPACITY, "ptune_forward: the batch has %lld rows (virtual rows included); the context holds %d",
                       (long long)total, c->max_tokens);
    ptune_status st = pt_ctx_reserve_seqs(c, b->n_seq);
    if (st) return st;

    c->n_seq = b->n_seq;
    c->n_virtual = nv;
    c->n_shared = shared;
    c->n_rows = (int32_t)total;
    int r = 0;
    for (; r < shared; r++) {
        c->row_pos[r] = r;
        c->row_token[r] = -1;
        c->row_target[r] = PT_IGNORE_INDEX;
        c->row_logprob[r] = 0.0f;
    }
    for (int s = 0; s < b->n_seq; s++) {
        c->seq_row0[s] = r;
        const int32_t *labels = b->labels && b->labels[s] ? b->labels[s] : b->ids[s];
        const int rows = nv + b->len[s];
        for (int p = shared; p < rows; p++, r++) {
            c->row_pos[r] = p;
            c->row_token[r] = p < nv ? -1 : b->ids[s][p - nv];
            /* HF's shifted loss: row p predicts full_labels[p + 1], full_labels = [-100]*nv ++ labels */
            int next = p + 1 - nv;
            c->row_target[r] = (next >= 0 && next < b->len[s]) ? labels[next] : PT_IGNORE_INDEX;
            c->row_logprob[r] = 0.0f;
        }
    }
    c->seq_row0[b->n_seq] = r;
    int64_t counted = 0;
    for (int i = 0; i < r; i++) counted += c->row_target[i] != PT_IGNORE_INDEX;
    c->grad_scale = counted ? (float)(1.0 / (double)counted) : 0.0f;
    return PTUNE_OK;
}

/* ---- public entry points ------------------------------------------------------------------- */

PTUNE_API ptune_status ptune_forward(ptune_ctx *c, const ptune_prompt *prompt, const ptune_batch *b)
{
    if (!c) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_forward: context is NULL");
    c->have_result = false;
    c->kv_mode = false;
    c->seq_slot = NULL;
    c->seq_prompts = NULL;
    ptune_status s = setup_batch(c, prompt, b);
    if (s) return s;
    return pt_forward_rows(c, prompt);
}

ptune_status pt_forward_rows(ptune_ctx *c, const ptune_prompt *prompt)
{
    c->have_result = false;
    const size_t scratch = pt_ctx_attention_area(c);
    ptune_status s = ensure_attention_scratch(c, scratch);
    if (!s) s = ensure_logits(c);
    if (s) return s;

    const ptune_model *m = c->m;
    float *x0 = pt_ctx_x(c, 0);
    embed_job ej = {prompt, c->emb ? c->emb : x0};
    pt_ctx_parallel_rows(c, c->n_rows, embed_rows, &ej);
    if (m->arch->emb_norm) /* BLOOM: the prompt rows pass the embedding LayerNorm too, as in PEFT */
        pt_ctx_norm(c, x0, c->emb_stats, c->emb_stats + c->max_tokens, ej.dst, pt_global_w(m, PT_SLOT_EMB_NORM_W),
                    pt_global_w(m, PT_SLOT_EMB_NORM_B));
    for (int l = 0; l < m->hp.n_layer; l++) pt_block_forward(c, l, scratch, true);
    const int L = m->hp.n_layer;
    pt_ctx_norm(c, c->h, c->final_stats, c->final_stats + c->max_tokens, pt_ctx_x(c, L),
                pt_global_w(m, PT_SLOT_OUT_NORM_W), pt_global_w(m, PT_SLOT_OUT_NORM_B));
    pt_lm_head(c, c->h);

    double sum = 0.0;
    int64_t n = 0;
    for (int r = 0; r < c->n_rows; r++) {
        if (c->row_target[r] == PT_IGNORE_INDEX) continue;
        sum -= c->row_logprob[r];
        n++;
    }
    if (!isfinite(sum))
        return pt_fail(PTUNE_E_NUMERIC, "ptune_forward: the log-likelihood is not finite (NaN/Inf in the prompt or activations)");
    c->nll_sum = sum;
    c->n_counted = n;
    c->fwd_prompt = prompt;
    c->have_result = true;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_loss(ptune_ctx *c, double *loss, int64_t *n_counted)
{
    if (!c || !loss) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_loss: context and loss are required");
    if (!c->have_result) return pt_fail(PTUNE_E_STATE, "ptune_loss: no successful forward pass yet");
    if (c->n_counted == 0) return pt_fail(PTUNE_E_STATE, "ptune_loss: the batch has no counted target (all labels -100?)");
    *loss = c->nll_sum / (double)c->n_counted;
    if (n_counted) *n_counted = c->n_counted;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_seq_loss(ptune_ctx *c, int32_t seq, double *loss, int64_t *n_counted)
{
    if (!c || !loss) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_seq_loss: context and loss are required");
    if (!c->have_result) return pt_fail(PTUNE_E_STATE, "ptune_seq_loss: no successful forward pass yet");
    if (seq < 0 || seq >= c->n_seq)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_seq_loss: sequence %d outside [0, %d)", seq, c->n_seq);
    double sum = 0.0;
    int64_t n = 0;
    for (int r = c->seq_row0[seq]; r < c->seq_row0[seq + 1]; r++) {
        if (c->row_target[r] == PT_IGNORE_INDEX) continue;
        sum -= c->row_logprob[r];
        n++;
    }
    if (n == 0) return pt_fail(PTUNE_E_STATE, "ptune_seq_loss: sequence %d has no counted target", seq);
    *loss = sum / (double)n;
    if (n_counted) *n_counted = n;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_token_logprobs(ptune_ctx *c, int32_t seq, float *out, int32_t cap, int32_t *n)
{
    if (!c || !n) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_logprobs: context and n are required");
    if (!c->have_result) return pt_fail(PTUNE_E_STATE, "ptune_token_logprobs: no successful forward pass yet");
    if (seq < 0 || seq >= c->n_seq)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_token_logprobs: sequence %d outside [0, %d)", seq, c->n_seq);
    int32_t count = 0;
    for (int r = c->seq_row0[seq]; r < c->seq_row0[seq + 1]; r++) count += c->row_target[r] != PT_IGNORE_INDEX;
    *n = count;
    if (cap < count || (count > 0 && !out))
        return pt_fail(PTUNE_E_BUFFER_TOO_SMALL, "ptune_token_logprobs: %d values needed, capacity %d", count, cap);
    int32_t k = 0;
    for (int r = c->seq_row0[seq]; r < c->seq_row0[seq + 1]; r++)
        if (c->row_target[r] != PT_IGNORE_INDEX) out[k++] = c->row_logprob[r];
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_logits(ptune_ctx *c, int32_t seq, const float **logits, int32_t *n_rows)
{
    if (!c || !logits || !n_rows) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_logits: context, logits and n_rows are required");
    if (!c->have_result) return pt_fail(PTUNE_E_STATE, "ptune_logits: no successful forward pass yet");
    if (c->logits_mode == PTUNE_LOGITS_NONE)
        return pt_fail(PTUNE_E_STATE, "ptune_logits: the context keeps no logits (ptune_ctx_params.logits is NONE)");
    if (seq < 0 || seq >= c->n_seq)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_logits: sequence %d outside [0, %d)", seq, c->n_seq);
    *logits = c->logits + (size_t)c->seq_logit_row0[seq] * (size_t)c->m->hp.n_vocab;
    *n_rows = c->seq_logit_row0[seq + 1] - c->seq_logit_row0[seq];
    return PTUNE_OK;
}
