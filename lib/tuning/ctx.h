/* The per-thread workspace: activation buffers sized for max_tokens rows, the thread pool,
 * the current batch's row bookkeeping and the results of the last forward pass. */
#ifndef PT_TUNING_CTX_H
#define PT_TUNING_CTX_H

#include "core/threadpool.h"
#include "model/model.h"

#define PT_HEAD_CHUNK 32   /* rows per LM-head block: peak memory is CHUNK × n_vocab floats */
#define PT_IGNORE_INDEX (-100)

struct ptune_ctx {
    const ptune_model *m;
    pt_pool *pool;
    int32_t max_tokens;
    int32_t logits_mode;

    /* activations for up to max_tokens rows (N) */
    float *x;          /* [N, D] residual stream */
    float *x_mid;      /* [N, D] residual after attention */
    float *h;          /* [N, D] normalised input of the current sub-block */
    float *qkv;        /* [N, qkv_dim] */
    float *att;        /* [N, q_dim] attention output (heads concatenated) */
    float *ff;         /* [N, up_rows] pre-activation (gate | up for SwiGLU) */
    float *ff_act;     /* [N, F] */
    float *head_in;    /* [PT_HEAD_CHUNK, D] gathered rows for the LM head */
    float *head_out;   /* [PT_HEAD_CHUNK, V] one block of logits */
    float *att_scratch;/* n_threads × (longest sequence)² attention probabilities */
    float *rope_cos, *rope_sin; /* [min(N, n_ctx), n_rot/2] when the model uses RoPE */
    float *alibi_slopes;        /* [n_head] when the model uses ALiBi */
    size_t att_scratch_floats;

    /* the current batch (rows of all sequences, concatenated) */
    int32_t n_rows, n_seq, n_virtual;
    int32_t *row_pos;      /* [N] position within its sequence */
    int32_t *row_token;    /* [N] token id, or -1 for a virtual row */
    int32_t *row_target;   /* [N] next-token label or PT_IGNORE_INDEX */
    float *row_logprob;    /* [N] log p(target) for counted rows */
    int32_t *seq_row0;     /* [n_seq + 1] first row of each sequence; last = n_rows */
    int32_t seq_cap;

    /* results */
    bool have_result;
    double nll_sum;
    int64_t n_counted;
    float *logits;         /* kept logits, rows of V */
    size_t logits_cap_rows;
    int32_t *seq_logit_row0;  /* [n_seq + 1] */
};

/* Grows the per-sequence arrays to hold n_seq sequences. */
ptune_status pt_ctx_reserve_seqs(struct ptune_ctx *c, int32_t n_seq);

#endif
