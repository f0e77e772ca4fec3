/* ptune_ctx_new / ptune_ctx_free: sizes and allocates the workspace for a model. */
#include "tuning/ctx.h"
#include "kernels/weight_products.h"
#include "core/params.h"
#include "core/alloc.h"
#include "core/error.h"
#include "kernels/attention.h"
#include "kernels/rope.h"

#include <stdlib.h>
#include <string.h>

#define PT_DEFAULT_MAX_TOKENS 512

static void ctx_params_defaults(ptune_ctx_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->max_tokens = PT_DEFAULT_MAX_TOKENS;
    p->logits = PTUNE_LOGITS_NONE;
}

PTUNE_API void ptune_ctx_params_init_sized(ptune_ctx_params *p, uint32_t size)
{
    ptune_ctx_params d;
    ctx_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

PTUNE_API void ptune_ctx_free(ptune_ctx *c)
{
    if (!c) return;
    pt_pool_free(c->pool);
    float *bufs[] = {c->xs,     c->x_mids,   c->qkvs,    c->ffs,         c->stats, c->final_stats,
                     c->emb,    c->emb_stats, c->dh_final, c->h,         c->att,   c->ff_act,
                     c->head_in, c->head_out, c->head_acc, c->head_wt, c->att_scratch, c->g_x, c->g_mid, c->g_h,
                     c->panels.scratch,
                     c->g_qkv,  c->g_ff != c->ffs ? c->g_ff : NULL};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) pt_free_aligned(bufs[i]);
    for (int i = 0; i < PT_PREFIX_ENTRIES; i++) {
        free(c->prefix[i].k);
        free(c->prefix[i].v);
    }
    pt_free_aligned(c->kv_k);
    pt_free_aligned(c->kv_v);
    free(c->head_max);
    free(c->head_tlogit);
    free(c->head_sum);
    free(c->head_row);
    free(c->head_keep);
    free(c->alibi_slopes);
    free(c->rope_cos);
    free(c->rope_sin);
    free(c->row_pos);
    free(c->row_token);
    free(c->row_target);
    free(c->row_logprob);
    free(c->seq_row0);
    free(c->seq_logit_row0);
    free(c->logits);
    free(c);
}

static float *alloc_rows(size_t rows, size_t cols, const char *what)
{
    size_t n;
    if (!pt_mul_size(rows, cols, &n) || !pt_mul_size(n, sizeof(float), &n)) {
        pt_fail(PTUNE_E_NOMEM, "size overflow allocating %s", what);
        return NULL;
    }
    return pt_malloc_aligned(n, what);
}

ptune_status pt_ctx_reserve_kv(struct ptune_ctx *c, int32_t slots)
{
    if (c->kv_k && slots <= c->kv_slots) return PTUNE_OK;
    const pt_hparams *h = &c->m->hp;
    size_t n;
    if (!pt_mul_size((size_t)h->n_layer * (size_t)slots * (size_t)c->max_tokens, (size_t)pt_hp_kv_dim(h), &n))
        return pt_fail(PTUNE_E_NOMEM, "KV cache size overflows");
    float *k = pt_malloc_aligned(n * sizeof(float), "KV cache (keys)");
    float *v = k ? pt_malloc_aligned(n * sizeof(float), "KV cache (values)") : NULL;
    if (!k || !v) {
        pt_free_aligned(k);
        return PTUNE_E_NOMEM;
    }
    pt_free_aligned(c->kv_k);
    pt_free_aligned(c->kv_v);
    c->kv_k = k;
    c->kv_v = v;
    c->kv_slots = slots;
    c->kv_cap = c->max_tokens;
    return PTUNE_OK;
}

ptune_status pt_ctx_reserve_seqs(struct ptune_ctx *c, int32_t n_seq)
{
    if (n_seq <= c->seq_cap) return PTUNE_OK;
    int32_t *a = pt_realloc(c->seq_row0, sizeof(int32_t) * ((size_t)n_seq + 1), "ctx buffer");
    if (!a) return pt_fail(PTUNE_E_NOMEM, "out of memory for %d sequences", n_seq);
    c->seq_row0 = a;
    int32_t *b = pt_realloc(c->seq_logit_row0, sizeof(int32_t) * ((size_t)n_seq + 1), "ctx buffer");
    if (!b) return pt_fail(PTUNE_E_NOMEM, "out of memory for %d sequences", n_seq);
    c->seq_logit_row0 = b;
    c->seq_cap = n_seq;
    return PTUNE_OK;
}

/* Floats of weight-panel scratch the model's matrices need (0 when all are fp32). */
static size_t model_panel_floats(const ptune_model *m)
{
    const pt_wmat *head[] = {pt_global_mat(m, PT_SLOT_TOK_EMBD), pt_global_mat(m, PT_SLOT_OUTPUT)};
    size_t need = pt_panels_floats(head, 2);
    for (int l = 0; l < m->hp.n_layer; l++) {
        const pt_wmat *layer[] = {pt_layer_mat(m, l, PT_SLOT_QKV), pt_layer_mat(m, l, PT_SLOT_ATTN_OUT),
                                  pt_layer_mat(m, l, PT_SLOT_FFN_UP), pt_layer_mat(m, l, PT_SLOT_FFN_DOWN)};
        const size_t n = pt_panels_floats(layer, 4);
        if (n > need) need = n;
    }
    return need;
}

PTUNE_API ptune_status ptune_ctx_new(const ptune_model *m, const ptune_ctx_params *p, ptune_ctx **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: out is NULL");
    *out = NULL;
    if (!m) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: model is NULL");
    ptune_ctx_params d;
    ptune_ctx_params_init(&d);
    if (p) {
        if (p->struct_size < sizeof(uint32_t) || p->struct_size > sizeof d)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: params.struct_size is %u; call ptune_ctx_params_init()",
                           p->struct_size);
        memcpy(&d, p, p->struct_size);
    }
    if (d.max_tokens == 0) d.max_tokens = PT_DEFAULT_MAX_TOKENS;
    if (d.max_tokens < 0 || d.max_tokens > (1 << 24))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: max_tokens = %d is out of range", d.max_tokens);
    if (d.logits < PTUNE_LOGITS_NONE || d.logits > PTUNE_LOGITS_ALL)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: unknown logits mode %d", d.logits);
    if (d.n_threads < 0) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: n_threads = %d", d.n_threads);
    if (d.n_seq_max < 0 || d.n_seq_max > 4096)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_ctx_new: n_seq_max = %d is out of range [0, 4096]", d.n_seq_max);

    ptune_ctx *c = pt_calloc(1, sizeof *c, "context");
    if (!c) return PTUNE_E_NOMEM;
    c->m = m;
    c->max_tokens = d.max_tokens;
    c->logits_mode = d.logits;
    c->training = d.training != 0;
    c->keep_layers = c->training && !d.recompute;
    c->n_seq_max = d.n_seq_max > 0 ? d.n_seq_max : 1;
    c->prefix_cache_off = d.no_prefix_cache != 0;
    const pt_hparams *h = &m->hp;
    const size_t N = (size_t)d.max_tokens, D = (size_t)h->n_embd, F = (size_t)h->n_ff;
    const size_t up = (size_t)pt_ctx_up_rows(c), qkv = (size_t)pt_hp_qkv_dim(h);
    const size_t L = c->keep_layers ? (size_t)h->n_layer : 1;
    const size_t LX = c->training ? (size_t)h->n_layer + 1 : 1;
    const bool emb = c->training && m->arch->emb_norm;
    const bool stored_head = !pt_wmat_f32(pt_global_mat(m, PT_SLOT_OUTPUT));
    const int32_t head_rows = stored_head ? PT_HEAD_ROWS_STORED : PT_HEAD_ROWS;
    c->head_rows_cap = d.max_tokens < head_rows ? d.max_tokens : head_rows;
    c->head_vocab_block = h->n_vocab < PT_HEAD_VOCAB_BLOCK ? h->n_vocab : PT_HEAD_VOCAB_BLOCK;
    c->panels.cap = model_panel_floats(m);
    /* a training LM head converts each vocabulary block once, for both of its products */
    if (c->panels.cap && c->training && stored_head && (size_t)c->head_vocab_block * D > c->panels.cap)
        c->head_vocab_block = (int32_t)(c->panels.cap / D);
    const size_t HR = (size_t)c->head_rows_cap;
    ptune_status s = pt_pool_new(d.n_threads, &c->pool);
    c->panels.pool = c->pool;
    if (!s && c->panels.cap && !(c->panels.scratch = alloc_rows(c->panels.cap, 1, "weight panel scratch")))
        s = PTUNE_E_NOMEM;
    if (!s &&
        (!(c->xs = alloc_rows(N * LX, D, "residual stream")) ||
         !(c->x_mids = alloc_rows(N * L, D, "residual stream")) || !(c->qkvs = alloc_rows(N * L, qkv, "q/k/v activations")) ||
         !(c->ffs = alloc_rows(N * L, up, "ffn activations")) || !(c->stats = alloc_rows(4 * L, N, "norm statistics")) ||
         !(c->final_stats = alloc_rows(2, N, "norm statistics")) || !(c->emb_stats = alloc_rows(2, N, "norm statistics")) ||
         (emb && !(c->emb = alloc_rows(N, D, "embeddings"))) ||
         !(c->h = alloc_rows(N, D, "normalised activations")) ||
         !(c->att = alloc_rows(N, (size_t)pt_hp_q_dim(h), "attention output")) ||
         !(c->ff_act = alloc_rows(N, F, "ffn activations")) ||
         !(c->head_in = alloc_rows(HR, D, "LM head input")) ||
         !(c->head_out = alloc_rows(HR, (size_t)c->head_vocab_block, "LM head logits block")) ||
         (c->training && !(c->head_acc = alloc_rows(HR, D, "LM head gradient accumulator"))) ||
         (c->training && !(c->head_wt = alloc_rows(HR, D, "LM head target rows"))) ||
         !(c->head_max = pt_malloc_array(HR, sizeof(float), "LM head row maxima")) ||
         !(c->head_tlogit = pt_malloc_array(HR, sizeof(float), "LM head target logits")) ||
         !(c->head_sum = pt_malloc_array(HR, sizeof(double), "LM head row sums")) ||
         !(c->head_row = pt_malloc_array(HR, sizeof(int32_t), "LM head rows")) ||
         !(c->head_keep = pt_malloc_array(HR, sizeof(int32_t), "LM head kept rows")) ||
         !(c->row_pos = pt_malloc_array(N, sizeof(int32_t), "row positions")) ||
         !(c->row_token = pt_malloc_array(N, sizeof(int32_t), "row tokens")) ||
         !(c->row_target = pt_malloc_array(N, sizeof(int32_t), "row targets")) ||
         !(c->row_logprob = pt_malloc_array(N, sizeof(float), "row log-probabilities"))))
        s = PTUNE_E_NOMEM;
    if (!s && c->training &&
        (!(c->dh_final = alloc_rows(N, D, "head gradient")) || !(c->g_x = alloc_rows(N, D, "gradients")) ||
         !(c->g_mid = alloc_rows(N, D, "gradients")) || !(c->g_h = alloc_rows(N, D, "gradients")) ||
         !(c->g_qkv = alloc_rows(N, qkv, "gradients")) ||
         /* recompute: the layer's FFN pre-activation is rebuilt by every backward, so its gradient
          * overwrites it in place */
         !(c->g_ff = c->keep_layers ? alloc_rows(N, up, "gradients") : c->ffs)))
        s = PTUNE_E_NOMEM;
    if (!s) s = pt_ctx_reserve_seqs(c, 8);
    if (!s && m->arch->pos == PT_POS_ROPE) {
        /* positions never exceed a batch's rows, nor the model's context */
        size_t n_pos = h->n_ctx > 0 && (size_t)h->n_ctx < N ? (size_t)h->n_ctx : N;
        size_t n = n_pos * (size_t)(h->n_rot / 2);
        if (!(c->rope_cos = pt_malloc_array(n, sizeof(float), "RoPE cos table")) ||
            !(c->rope_sin = pt_malloc_array(n, sizeof(float), "RoPE sin table")))
            s = PTUNE_E_NOMEM;
        else
            pt_rope_tables(c->rope_cos, c->rope_sin, (int)n_pos, h->n_rot, h->rope_theta);
    }
    if (!s && m->arch->pos == PT_POS_ALIBI) {
        if (!(c->alibi_slopes = pt_malloc_array((size_t)h->n_head, sizeof(float), "ALiBi slopes"))) s = PTUNE_E_NOMEM;
        else pt_alibi_slopes(c->alibi_slopes, h->n_head);
    }
    if (s) {
        ptune_ctx_free(c);
        return s;
    }
    *out = c;
    return PTUNE_OK;
}
