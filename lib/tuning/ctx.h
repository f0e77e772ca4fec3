/* The per-thread workspace: activation buffers sized for max_tokens rows (per layer in training
 * contexts, so backward can use them), the thread pool, the current batch's row bookkeeping and
 * the results of the last forward pass. */
#ifndef PT_TUNING_CTX_H
#define PT_TUNING_CTX_H

#include "core/threadpool.h"
#include "kernels/weight_products.h"
#include "model/model.h"

#define PT_HEAD_ROWS 256          /* rows per LM-head chunk (lm_head.c) */
#define PT_HEAD_ROWS_STORED 1024  /* the same for a head not stored as fp32: every chunk converts
                                     the whole vocabulary, so chunks are made larger */
#define PT_HEAD_VOCAB_BLOCK 4096  /* vocabulary entries per LM-head block */
#define PT_IGNORE_INDEX (-100)
#define PT_PREFIX_ENTRIES 8  /* soft prompts whose K/V a context keeps for generation */

struct ptune_ctx {
    const ptune_model *m;
    pt_pool *pool;
    int32_t max_tokens;
    int32_t logits_mode;
    bool training;
    bool keep_layers;  /* training without recompute: every layer keeps its own activations */

    /* Saved activations for up to max_tokens rows (N). In a training context every layer l keeps
     * its input; with keep_layers also its own copy of what backward needs (the attention
     * residual, q|k|v after RoPE, the FFN pre-activation and the norm statistics); otherwise one
     * set is reused, and a recomputing backward refills it layer by layer. */
    float *xs;         /* [L + 1 | 1, N, D] residual stream entering layer l (l = L: final norm input) */
    float *x_mids;     /* [L | 1, N, D] residual after attention */
    float *qkvs;       /* [L | 1, N, qkv_dim] */
    float *ffs;        /* [L | 1, N, up_rows] pre-activation (gate | up for SwiGLU) */
    float *stats;      /* [L | 1, 4, N] mean and rstd of the two norms */
    float *final_stats;/* [2, N] */
    float *emb;        /* [N, D] embeddings before BLOOM's embedding norm (training only) */
    float *emb_stats;  /* [2, N] */
    float *dh_final;   /* [N, D] training: d loss / d final-norm output, filled by the LM head */

    /* scratch shared by all layers */
    float *h;          /* [N, D] normalised input of the current sub-block */
    float *att;        /* [N, q_dim] attention output (heads concatenated); backward: its gradient */
    float *ff_act;     /* [N, F]; backward: its gradient */
    /* the LM head (lm_head.c): up to head_rows_cap gathered rows against one vocabulary block */
    int32_t head_rows_cap, head_vocab_block;
    float *head_in;    /* [rows, D] gathered final-norm outputs */
    float *head_out;   /* [rows, vocab block] logits, then exp(logit − running max) */
    float *head_acc;   /* [rows, D] training: running Σ exp(l − m)·W[v] */
    float *head_wt;    /* [rows, D] training: the target's row of W, copied from its block */
    float *head_max, *head_tlogit; /* [rows] running maximum, the target's logit */
    double *head_sum;  /* [rows] running Σ exp(l − m) */
    int32_t *head_row, *head_keep; /* [rows] batch row; kept-logits row or −1 */
    float *att_scratch;/* n_threads × 2 × (longest sequence)² attention probabilities */
    pt_panels panels;  /* fp32 panels of weight matrices not stored as fp32 (native storage) */
    size_t att_scratch_floats;
    float *rope_cos, *rope_sin; /* [min(N, n_ctx), n_rot/2] when the model uses RoPE */
    float *alibi_slopes;        /* [n_head] when the model uses ALiBi */
    /* KV cache for incremental decoding (allocated on first use): for layer l and slot s,
     * keys at kv_k + ((l * kv_slots + s) * kv_cap) * kv_dim, values likewise in kv_v */
    float *kv_k, *kv_v;
    int32_t kv_slots, kv_cap;
    int32_t n_seq_max;   /* slots the first generation allocates (ptune_ctx_params.n_seq_max) */
    bool kv_mode;        /* this pass continues cached sequences: sequence s uses slot
                            seq_slot[s] (or s), its rows store their k/v at their positions and
                            attend to the cache */
    const int32_t *seq_slot;                    /* kv_mode: cache slot per sequence (nullable) */
    /* prefix cache: the K/V of recently used soft prompts (positions 0..n_virtual-1 depend on the
     * prompt alone), keyed by the prompt's content hash, reused by later generations */
    struct pt_prefix_entry {
        uint64_t hash;                          /* of the prompt values; 0 = empty entry */
        int32_t n_virtual;
        float *k, *v;                           /* [L, n_virtual, kv_dim] */
        uint64_t last_use;
    } prefix[PT_PREFIX_ENTRIES];
    uint64_t prefix_clock;
    bool prefix_cache_off;                      /* ptune_ctx_params.no_prefix_cache */
    const struct ptune_prompt *const *seq_prompts; /* per-sequence prompts for virtual rows (nullable) */
    /* backward scratch (training only) */
    float *g_x, *g_mid, *g_h;   /* [N, D] */
    float *g_qkv;               /* [N, qkv_dim] */
    float *g_ff;                /* [N, up_rows]; without keep_layers it is ffs itself (in place) */

    /* the current batch: n_shared prefix rows first, then the rows of every sequence.
     * ptune_forward computes the soft prompt's first n_virtual − 1 rows once per batch (every
     * sequence has the same prompt at the same positions, so their activations are identical)
     * as the shared prefix every sequence attends to; each sequence keeps the prompt's last
     * row, whose target (the sequence's first label) differs. Generation uses no shared rows. */
    int32_t n_rows, n_seq, n_virtual, n_shared;
    int32_t *row_pos;      /* [N] position within its sequence */
    int32_t *row_token;    /* [N] token id, or -1 for a virtual row */
    int32_t *row_target;   /* [N] next-token label or PT_IGNORE_INDEX */
    float *row_logprob;    /* [N] log p(target) for counted rows */
    int32_t *seq_row0;     /* [n_seq + 1] first row of each sequence; last = n_rows */
    int32_t seq_cap;

    /* results */
    bool have_result;
    const struct ptune_prompt *fwd_prompt; /* the prompt of the last forward (backward checks it) */
    double nll_sum;
    int64_t n_counted;
    float grad_scale;      /* 1 / n_counted: d(mean loss)/d(per-token loss) */
    float *logits;         /* kept logits, rows of V */
    size_t logits_cap_rows;
    int32_t *seq_logit_row0;  /* [n_seq + 1] */
};

/* Per-layer views of the saved activations (see keep_layers). */
static inline size_t pt_ctx_layer(const struct ptune_ctx *c, int l) { return c->keep_layers ? (size_t)l : 0; }
static inline float *pt_ctx_x(const struct ptune_ctx *c, int l)
{
    return c->xs + (c->training ? (size_t)l : 0) * (size_t)c->max_tokens * (size_t)c->m->hp.n_embd;
}
static inline float *pt_ctx_x_mid(const struct ptune_ctx *c, int l)
{
    return c->x_mids + pt_ctx_layer(c, l) * (size_t)c->max_tokens * (size_t)c->m->hp.n_embd;
}
static inline float *pt_ctx_qkv(const struct ptune_ctx *c, int l)
{
    return c->qkvs + pt_ctx_layer(c, l) * (size_t)c->max_tokens * (size_t)pt_hp_qkv_dim(&c->m->hp);
}
static inline int pt_ctx_up_rows(const struct ptune_ctx *c)
{
    return c->m->arch->ffn == PT_FFN_SWIGLU ? 2 * c->m->hp.n_ff : c->m->hp.n_ff;
}
static inline float *pt_ctx_ff(const struct ptune_ctx *c, int l)
{
    return c->ffs + pt_ctx_layer(c, l) * (size_t)c->max_tokens * (size_t)pt_ctx_up_rows(c);
}
/* k = 0 mean1, 1 rstd1, 2 mean2, 3 rstd2 */
static inline float *pt_ctx_stat(const struct ptune_ctx *c, int l, int k)
{
    return c->stats + (pt_ctx_layer(c, l) * 4 + (size_t)k) * (size_t)c->max_tokens;
}

static inline float *pt_ctx_kv(const struct ptune_ctx *c, float *base, int l, int seq)
{
    const int slot = c->seq_slot ? c->seq_slot[seq] : seq;
    return base + (((size_t)l * (size_t)c->kv_slots + (size_t)slot) * (size_t)c->kv_cap) *
                      (size_t)pt_hp_kv_dim(&c->m->hp);
}

/* Block l's forward over the context's rows, reading pt_ctx_x(c, l). With `output` false (a
 * recomputing backward) it refills the saved activations but leaves pt_ctx_x(c, l + 1),
 * which already holds the block's output, alone. `scratch_stride`: attention floats per thread. */
void pt_block_forward(struct ptune_ctx *c, int l, size_t scratch_stride, bool output);

/* The LM head over every row that has a target or keeps its logits (lm_head.c): fills
 * row_logprob, the kept logits and, in training, dh_final. */
void pt_lm_head(struct ptune_ctx *c, const float *h_final);

/* Allocates the KV cache for `slots` sequences of up to max_tokens positions (once). */
ptune_status pt_ctx_reserve_kv(struct ptune_ctx *c, int32_t slots);

/* Runs the model over the rows already set up in the context (row_pos, row_token, row_target,
 * seq_row0, n_rows, n_seq, n_shared): embeddings (virtual rows from `prompt`), every block, final
 * norm and the LM head; the loss statistics and kept logits follow. In kv_mode the attention
 * uses and extends the KV cache. */
ptune_status pt_forward_rows(struct ptune_ctx *c, const struct ptune_prompt *prompt);

/* Attention segments: every sequence, and the shared prefix (rows [0, n_shared)) as segment
 * n_seq when there is one. */
static inline int pt_ctx_n_segments(const struct ptune_ctx *c) { return c->n_seq + (c->n_shared > 0); }

/* The attention problem of segment `seg` for query head `head` (its key/value head follows
 * from GQA) over one layer's q|k|v rows; *row0 receives the segment's first row. A sequence
 * sees the shared prefix; the prefix sees nothing before it. */
struct pt_attn;
void pt_ctx_attn_problem(const struct ptune_ctx *c, const float *qkv, int seg, int head, struct pt_attn *a, int *row0);

/* Floats of attention probabilities the largest segment needs: T × (P + T). */
size_t pt_ctx_attention_area(const struct ptune_ctx *c);

/* Runs attention tasks (one per sequence × head) on the calling thread, one after another.
 * Their products are small sgemms: issued from several pool threads at once they contend for
 * OpenBLAS's own threads (measured: 3 ms per 84×84×64 call instead of 0.02 ms alone), so they
 * are issued from one thread and OpenBLAS parallelises each call itself. */
/* The backward relies on this order too: every sequence's task adds into the shared prefix's
 * key/value gradients. */
static inline void pt_ctx_run_attention(int n_tasks, pt_task_fn fn, void *job)
{
    for (int t = 0; t < n_tasks; t++) fn(job, t, 0);
}

/* Grows the per-sequence arrays to hold n_seq sequences. */
ptune_status pt_ctx_reserve_seqs(struct ptune_ctx *c, int32_t n_seq);

/* Runs fn(c, r0, r1, job) over [0, n_rows) split across the context's threads. */
typedef void (*pt_row_range_fn)(struct ptune_ctx *c, int r0, int r1, const void *job);
void pt_ctx_parallel_rows(struct ptune_ctx *c, int n_rows, pt_row_range_fn fn, const void *job);

/* Normalises n_rows rows of `in` into `out` with the model's norm kind, saving mean/rstd. */
void pt_ctx_norm(struct ptune_ctx *c, float *out, float *mean, float *rstd, const float *in, const float *w,
                 const float *b);

#endif
