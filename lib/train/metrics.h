/* The training log behind metrics.jsonl and loss.svg: progress records kept in memory, written
 * as JSON Lines and as a self-contained SVG line chart (both atomically). */
#ifndef PT_TRAIN_METRICS_H
#define PT_TRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include "ptune/ptune.h"

/* One logged step; NaN = not measured at this step (eval_* unless an evaluation ran). */
typedef struct pt_metrics_record {
    int64_t step;
    int32_t epoch;           /* 0-based, as in ptune_train_progress */
    double loss, lr, grad_norm, tokens_per_s;
    double eval_loss, eval_perplexity;
} pt_metrics_record;

typedef struct pt_metrics {
    pt_metrics_record *records;
    size_t n, cap;
} pt_metrics;

ptune_status pt_metrics_new(pt_metrics **out);
void pt_metrics_free(pt_metrics *m);

/* Appends the record of `p`. A report for the step already last in the log (the trainer reports
 * an evaluation after the step it follows) is merged into that record: its non-NaN fields win. */
ptune_status pt_metrics_add(pt_metrics *m, const ptune_train_progress *p);

/* One JSON object per record, in order, keys step, epoch, loss, lr, grad_norm, tokens_per_s,
 * eval_loss, eval_perplexity; NaN (and infinite) values are omitted. Written atomically. */
ptune_status pt_metrics_write_jsonl(const pt_metrics *m, const char *path);

/* An SVG line chart of train loss (line) and eval loss (line with markers) against step, with
 * round-valued axis ticks, axis labels, a legend and `title` (NULL = "Training loss"). No
 * external fonts, scripts or styles. Written atomically. */
ptune_status pt_metrics_write_svg(const pt_metrics *m, const char *path, const char *title);
/* The same document in memory (malloc'd, NUL-terminated). */
ptune_status pt_metrics_svg(const pt_metrics *m, const char *title, char **out, size_t *len);

#endif
