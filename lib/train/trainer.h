/* The trainer handle (shared by trainer.c, which runs the loop, and checkpoint.c, which saves and
 * restores it): borrowed model/prompt/datasets, resolved params, data-order state, counters. */
#ifndef PT_TRAIN_TRAINER_H
#define PT_TRAIN_TRAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/rng.h"
#include "ptune/ptune.h"
#include "train/batching.h"

/* Decisions (see also docs/training.md):
 * - Data order: each epoch draws a fresh permutation of the train rows (pt_shuffle_perm on the
 *   trainer's RNG, seeded with params.seed); micro-batches are planned over it in order
 *   (pt_plan_batches), the last partial one kept. An optimizer step consumes grad_accum
 *   micro-batches; windows never straddle an epoch, so an epoch has ceil(n_mb / grad_accum)
 *   steps and its last window may be shorter.
 * - Accumulation: the optimizer is created with grad_accum_steps = grad_accum and step() is
 *   called after every micro-batch; its update uses the mean of the window's micro-batch
 *   gradients (each the gradient of that micro-batch's mean loss), as HF's Trainer does by
 *   dividing each micro-batch loss by the window length. A shorter last window of k micro-batches
 *   also takes the mean over its k gradients (HF >= 4.46's current_gradient_accumulation_steps).
 * - Eval loss: token-weighted mean NLL over every counted target of the eval set (Σ NLL / Σ targets),
 *   i.e. what one forward over the whole eval set would report; perplexity = exp(eval loss).
 * - total_steps: max_steps when > 0; otherwise Σ over epochs of ceil(n_mb / grad_accum). With
 *   batch_tokens the count of micro-batches depends on each epoch's permutation, so the epochs'
 *   permutations are drawn ahead on a copy of the RNG to count them exactly.
 * - checkpoint_keep <= 0 keeps every checkpoint.
 * - Once the run is complete, ptune_trainer_step and ptune_trainer_epoch return PTUNE_E_STATE and
 *   ptune_trainer_run returns PTUNE_OK at once (resuming a finished run then running is a no-op).
 * - The cancel flag is checked at the start of every ptune_trainer_step; a cancelled or
 *   callback-stopped run writes checkpoint-<step> (unless this step already has one) and returns
 *   PTUNE_E_ABORTED; clearing the flag and calling again continues the same run. */
struct ptune_trainer {
    const ptune_model *m;
    ptune_prompt *prompt;
    const ptune_dataset *train, *eval;
    ptune_trainer_params p;         /* the caller's params completed with defaults */
    char *checkpoint_dir;           /* owned copy of p.checkpoint_dir (p's pointer is cleared) */
    ptune_optimizer_params op;      /* as given to ptune_optimizer_new */
    ptune_optimizer *opt;
    ptune_ctx *ctx;                 /* training context, sized for the largest micro-batch */
    ptune_ctx *eval_ctx;            /* inference context for the eval plan (NULL without eval) */

    int32_t n_virtual, n_embd;
    int32_t batch_size, batch_tokens; /* effective (after auto_batch_memory) */
    int64_t total_steps;
    int64_t train_ctx_rows;
    pt_example_sizes train_sz, eval_sz;
    pt_batch_plan eval_plan;        /* the eval set in file order */

    /* data order: epoch = index of the current permutation (-1 before the first one), mb_pos =
     * next micro-batch of `plan` (plan.n_mb when the epoch is exhausted) */
    pt_rng rng;
    int64_t *perm;                  /* [train rows] */
    pt_batch_plan plan;
    int32_t epoch;
    int64_t mb_pos;

    /* progress */
    int64_t step;
    double best_eval;               /* +inf before the first evaluation */
    int32_t bad_evals;              /* evaluations since the best one */
    bool stopped_early;
    bool done;                      /* step >= total_steps or early stopping */
    int64_t last_ckpt_step;         /* step of the last automatic checkpoint (-1: none) */
    double last_eval;               /* NaN unless the last step evaluated */

    /* statistics of this session (not part of a checkpoint) */
    double seconds;                 /* wall time spent inside steps */
    int64_t session_steps, session_tokens;
    ptune_train_progress prog;

    /* batch scratch */
    const int32_t **b_ids, **b_labels;
    int32_t *b_len;
    int32_t b_cap;
    double *dp_buf;                 /* data parallelism: [n_virtual·n_embd + 2] gradient, NLL,
                                       target count being summed across ranks */
};

/* checkpoint.c: writes `dir` atomically (a temporary sibling directory renamed into place).
 * eval_loss is the loss of an evaluation at this very step (NaN if none): it ranks checkpoints. */
ptune_status pt_trainer_write_checkpoint(ptune_trainer *t, const char *dir, double eval_loss);
/* checkpoint.c: `<checkpoint_dir>/checkpoint-<step>` then pruning to the last K plus the best;
 * nothing on a data-parallel rank other than 0. */
ptune_status pt_trainer_auto_checkpoint(ptune_trainer *t);

/* trainer.c: plans micro-batches over t->perm into t->plan. */
ptune_status pt_trainer_replan(ptune_trainer *t);

#endif
