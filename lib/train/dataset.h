/* The tokenized dataset: every example's ids and labels back to back in two int32 buffers with
 * int64 offsets (the layout the trainer reads), plus internal constructors used by tests. */
#ifndef PT_TRAIN_DATASET_H
#define PT_TRAIN_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ptune/ptune.h"

#define PT_LABEL_IGNORE (-100)

struct ptune_dataset {
    int64_t n;          /* examples, >= 1 for a loaded dataset */
    int64_t *offsets;   /* n + 1 entries, offsets[0] = 0: example i is [offsets[i], offsets[i+1]) */
    int32_t *ids;       /* offsets[n] token ids */
    int32_t *labels;    /* same layout; -100 = not scored. Equal to `ids` (the same pointer, not a
                           second allocation) when every token is scored: no completion column */
    int64_t n_skipped;  /* rows dropped at load because they train nothing (informational) */
};

/* Example i (0 <= i < d->n; unchecked): its length (<= INT32_MAX), ids and labels. */
static inline int32_t pt_dataset_len(const struct ptune_dataset *d, int64_t i)
{
    return (int32_t)(d->offsets[i + 1] - d->offsets[i]);
}
static inline const int32_t *pt_dataset_ids(const struct ptune_dataset *d, int64_t i) { return d->ids + d->offsets[i]; }
static inline const int32_t *pt_dataset_labels(const struct ptune_dataset *d, int64_t i)
{
    return d->labels + d->offsets[i];
}

/* ptune_dataset_load without a model: tokenizes data[0..size) (borrowed) with `t`, naming it
 * `name` in messages and choosing the AUTO format from its extension. eos_id is appended when
 * p->add_eos (it must then be >= 0). Same rules and errors as ptune_dataset_load. */
ptune_status pt_dataset_build(const ptune_tokenizer *t, int32_t eos_id, const char *name, const void *data,
                              size_t size, const ptune_dataset_params *p, ptune_dataset **out);

/* A dataset from ready-made rows (copied): ids[i][0..len[i]) with labels[i] (NULL, or a NULL
 * entry, means "labels = ids"). n >= 1, every len[i] >= 1.
 * @return PTUNE_OK; PTUNE_E_INVALID_ARG; PTUNE_E_NOMEM. */
ptune_status pt_dataset_from_ids(int64_t n, const int32_t *const *ids, const int32_t *const *labels,
                                 const int32_t *len, ptune_dataset **out);

#endif
