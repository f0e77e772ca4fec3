/* Owns the learning-rate schedules (linear, constant, cosine, each with linear warmup) as pure
 * functions of the update index, following HF transformers' LambdaLR multipliers. */
#include "tuning/schedule.h"
#include "ptune/ptune.h"

#include <math.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

bool pt_schedule_valid(int32_t schedule)
{
    return schedule == PTUNE_SCHEDULE_LINEAR || schedule == PTUNE_SCHEDULE_CONSTANT ||
           schedule == PTUNE_SCHEDULE_COSINE;
}

bool pt_schedule_needs_total(int32_t schedule)
{
    return schedule == PTUNE_SCHEDULE_LINEAR || schedule == PTUNE_SCHEDULE_COSINE;
}

double pt_schedule_factor(int32_t schedule, int64_t step, int64_t warmup, int64_t total)
{
    if (!pt_schedule_valid(schedule)) return 0.0;
    if (step < 0) step = 0;
    if (warmup < 0) warmup = 0;
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    if (schedule == PTUNE_SCHEDULE_CONSTANT) return 1.0;
    int64_t span = total - warmup;
    double denom = (double)(span > 1 ? span : 1);
    if (schedule == PTUNE_SCHEDULE_LINEAR) {
        double f = (double)(total - step) / denom;
        return f > 0.0 ? f : 0.0;
    }
    /* COSINE */
    if (step >= total) return 0.0;
    double progress = (double)(step - warmup) / denom;
    double f = 0.5 * (1.0 + cos(M_PI * 0.5 * 2.0 * progress));
    return f > 0.0 ? f : 0.0;
}
