/* The trainer's data-parallel pieces (data_parallel.h): rank checks, micro-batch shards and the
 * cross-rank sums. */
#include "train/data_parallel.h"
#include "core/error.h"
#include "core/threadpool.h"

bool pt_dp_active(const ptune_trainer *t) { return t->p.collective && t->p.collective->size > 1; }

bool pt_dp_writer(const ptune_collective *c) { return !c || c->rank == 0; }

pt_micro_batch pt_dp_shard(const ptune_trainer *t, const pt_micro_batch *mb)
{
    if (!pt_dp_active(t)) return *mb;
    int b, e;
    pt_split_range(mb->count, t->p.collective->size, t->p.collective->rank, &b, &e);
    /* rows, tokens and targets describe the whole micro-batch; the shard's own counts come from
     * its forward pass */
    pt_micro_batch s = *mb;
    s.start = mb->start + b;
    s.count = e - b;
    return s;
}

ptune_status pt_dp_sum(const ptune_trainer *t, double *values, int64_t n, const char *what)
{
    const ptune_collective *c = t->p.collective;
    if (c->allreduce_sum(values, n, c->user) != 0)
        return pt_fail(PTUNE_E_IO, "rank %d of %d: summing the %s across ranks failed", c->rank, c->size, what);
    return PTUNE_OK;
}
