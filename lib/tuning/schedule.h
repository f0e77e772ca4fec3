/* Learning-rate schedules: the multiplier of the peak rate as a pure function of the update index
 * (HF transformers' linear, constant and cosine schedules, each with linear warmup). */
#ifndef PT_TUNING_SCHEDULE_H
#define PT_TUNING_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

/* Multiplier in [0, 1] applied to the peak learning rate for the update with 0-based index
 * `step` (the value torch's LambdaLR gives after `step` scheduler steps):
 *   step < warmup:  step / max(1, warmup)                       (all schedules)
 *   LINEAR:         max(0, (total - step) / max(1, total - warmup))
 *   CONSTANT:       1
 *   COSINE:         max(0, 0.5 * (1 + cos(pi * progress))),
 *                   progress = (step - warmup) / max(1, total - warmup)
 * These are HF's get_{linear,constant,cosine}_schedule_with_warmup (cosine with num_cycles 0.5).
 * Past `total` the COSINE multiplier stays 0 (HF's formula would rise again; a run longer than its
 * declared total is not a reason to raise the rate). `schedule` is a ptune_schedule; an unknown
 * value gives 0. */
double pt_schedule_factor(int32_t schedule, int64_t step, int64_t warmup, int64_t total);

/* Whether `schedule` names a known schedule, and whether it needs total_steps > 0. */
bool pt_schedule_valid(int32_t schedule);
bool pt_schedule_needs_total(int32_t schedule);

#endif
