/* Micro-batch planning for the trainer: splitting an ordering of examples into ragged micro-batches
 * (by sequence count or by a row budget), the seeded epoch permutation, and training-context sizing. */
#ifndef PT_TRAIN_BATCHING_H
#define PT_TRAIN_BATCHING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "ptune/ptune.h"

/* One micro-batch: the examples order[start .. start + count) of the ordering it was planned on. */
typedef struct pt_micro_batch {
    int64_t start;
    int32_t count;
    int64_t rows;      /* Σ (n_virtual + len): the rows the context must hold */
    int64_t tokens;    /* Σ len: real tokens */
    int64_t targets;   /* counted targets (labels != -100; with a prompt the first token counts) */
} pt_micro_batch;

typedef struct pt_batch_plan {
    pt_micro_batch *mb;
    int64_t n_mb, cap;
    int64_t max_rows;  /* largest micro-batch's rows */
    int32_t max_count; /* largest micro-batch's sequence count */
} pt_batch_plan;

/* Per-example facts the planner needs (copied once from the dataset). */
typedef struct pt_example_sizes {
    int64_t n;
    int32_t *len;      /* [n] tokens */
    int32_t *targets;  /* [n] labels != -100 */
    int32_t longest;   /* max len */
    int64_t tokens;    /* Σ len */
} pt_example_sizes;

/* Reads lengths and target counts of every example of `d`. Errors: PTUNE_E_INVALID_ARG (an empty
 * dataset), PTUNE_E_NOMEM, or whatever ptune_dataset_get reports. */
ptune_status pt_example_sizes_read(const ptune_dataset *d, const char *what, pt_example_sizes *out);
void pt_example_sizes_free(pt_example_sizes *s);

/* Plans micro-batches over `order` (n indices into `sz`, or the identity when NULL), in order:
 * batch_tokens > 0 fills each micro-batch greedily while Σ (n_virtual + len) stays <= batch_tokens;
 * otherwise consecutive groups of batch_size. The last partial micro-batch is kept (drop_last =
 * False). Replaces the plan's previous content (its buffer is reused).
 * Errors: PTUNE_E_INVALID_ARG (an example alone exceeds batch_tokens; the message names `what`
 * and the example), PTUNE_E_NOMEM. */
ptune_status pt_plan_batches(const pt_example_sizes *sz, const int64_t *order, int32_t n_virtual,
                             int32_t batch_size, int32_t batch_tokens, const char *what, pt_batch_plan *plan);
void pt_batch_plan_free(pt_batch_plan *plan);

/* The rows of the largest micro-batch any ordering can produce: the batch_size longest examples
 * (count mode), or min(batch_tokens, all rows) (budget mode). */
int64_t pt_plan_max_rows(const pt_example_sizes *sz, int32_t n_virtual, int32_t batch_size, int32_t batch_tokens);

/* Writes a seeded uniform permutation of [0, n) into perm (Fisher–Yates from the identity, drawing
 * pt_rng_below(i + 1) for i = n-1 .. 1), advancing `rng`. */
void pt_shuffle_perm(pt_rng *rng, int64_t *perm, int64_t n);

/* Estimated bytes of a training context (ptune_ctx_new with training = 1) holding `rows` rows whose
 * longest sequence has `longest` rows, run by `n_threads` threads (0 = all cores). The formula is
 * docs/training.md's table, summed exactly as lib/tuning/ctx.c allocates:
 *   floats = rows × [ L·(2·D + qkv + up + 4)        saved per layer (block input, attention residual,
 *                                                  q|k|v, FFN pre-activation, norm statistics)
 *                   + D + 2 + 2                     final residual row set, final/embedding norm stats
 *                   + D                             LM-head dH
 *                   + (3·D + qkv + up)              backward scratch g_x, g_mid, g_h, g_qkv, g_ff
 *                   + D + q_dim + F                 forward scratch h, att, ff_act
 *                   + D (BLOOM's embedding norm) ]
 *          + 32·(D + V)                             LM-head block
 *          + threads · 2 · longest²                 attention probabilities and their gradient
 *   bytes  = 4 · floats + 16 · rows (row bookkeeping) + RoPE tables (rows·n_rot floats) when used,
 * where L = layers, D = n_embd, qkv = (n_head + 2·n_head_kv)·head_dim, up = n_ff (GELU) or 2·n_ff
 * (SwiGLU), V = n_vocab. Weights are not included (they belong to the model). */
int64_t pt_train_ctx_bytes(const ptune_model *m, int64_t rows, int64_t longest, int32_t n_threads);

#endif
