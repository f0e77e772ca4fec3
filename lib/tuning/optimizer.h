/* The optimizer handle (shared by optimizer.c, which steps it, and optimizer_state.c, which saves
 * and restores it): resolved hyperparameters, moment buffers, counters and scratch. */
#ifndef PT_TUNING_OPTIMIZER_H
#define PT_TUNING_OPTIMIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ptune/ptune.h"

struct ptune_optimizer {
    ptune_optimizer_params p;   /* the caller's params, completed with defaults */
    /* The float hyperparameters widened to double through their shortest decimal spelling, so
     * 5e-3f acts as 5e-3 does in Python (not as 0.004999999888...). */
    double base_lr, beta1, beta2, eps, weight_decay, momentum, max_grad_norm;
    double af_eps1, af_eps2, af_clip_threshold, af_decay_rate;
    bool relative_step;         /* Adafactor with lr == 0: time-dependent rate, no schedule */
    bool first_moment;          /* AdamW always; SGD when momentum > 0; Adafactor when beta1 > 0 */

    int32_t n_virtual, n_embd;
    size_t n;                   /* n_virtual * n_embd */

    int64_t steps;              /* updates applied so far (the schedule position) */
    int32_t accum_count;        /* step() calls accumulated towards the next update */
    double last_grad_norm;      /* global L2 norm of the last update's gradient, before clipping */

    /* State, float32 like torch's for a float32 parameter; NULL when the kind has none. */
    float *exp_avg;             /* [n] AdamW m, SGD momentum buffer, Adafactor first moment */
    float *exp_avg_sq;          /* [n] AdamW v */
    float *row;                 /* [n_virtual] Adafactor factored second moment (row means) */
    float *col;                 /* [n_embd] Adafactor factored second moment (column means) */
    double *accum;              /* [n] gradient sum over the current accumulation window
                                   (grad_accum_steps > 1 only) */
    double *work;               /* [n] scratch: the clipped gradient, then the update */
    float *saved;               /* [3n + n_virtual + n_embd] the prompt and state before an
                                   update, restored when the update is not finite */
};

/* Stable names of the kinds, for files and messages ("adamw", "sgd", "adafactor", "unknown"). */
const char *pt_optimizer_kind_name(int32_t kind);

#endif
