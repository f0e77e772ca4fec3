/* Data parallelism for the trainer over a host-provided ptune_collective: which sequences of a
 * micro-batch this rank runs, and the sums across ranks that make every rank's update and loss
 * those of one process running the whole micro-batch. No MPI here: the host's callback sums. */
#ifndef PT_TRAIN_DATA_PARALLEL_H
#define PT_TRAIN_DATA_PARALLEL_H

#include <stdbool.h>
#include <stdint.h>

#include "train/trainer.h"

/* True when the trainer has a collective of more than one rank. */
bool pt_dp_active(const ptune_trainer *t);
/* True when this process writes checkpoints and outputs: rank 0 of `c`, or no collective. */
bool pt_dp_writer(const ptune_collective *c);

/* This rank's share of `mb`: a contiguous slice of its sequences (the first `count % size` ranks
 * take one more). May be empty (count 0) when the micro-batch has fewer sequences than ranks. */
pt_micro_batch pt_dp_shard(const ptune_trainer *t, const pt_micro_batch *mb);

/* Sums values[0 .. n) across ranks in place through the collective; `what` names the quantity
 * in the error message (PTUNE_E_IO when the callback fails). */
ptune_status pt_dp_sum(const ptune_trainer *t, double *values, int64_t n, const char *what);

#endif
