/* A small fixed pool of worker threads that runs "task i of n" jobs (rows, heads, chunks).
 * One pool per context; the calling thread works too, so n_threads = 1 spawns nothing. */
#ifndef PT_CORE_THREADPOOL_H
#define PT_CORE_THREADPOOL_H

#include "ptune/ptune.h"

typedef struct pt_pool pt_pool;

/* fn(arg, task, thread): task in [0, n_tasks), thread in [0, n_threads). */
typedef void (*pt_task_fn)(void *arg, int task, int thread);

/* n_threads <= 0 means the number of online CPUs. Errors: PTUNE_E_NOMEM, PTUNE_E_STATE
 * (threads could not be created; the message says why). */
ptune_status pt_pool_new(int n_threads, pt_pool **out);
void pt_pool_free(pt_pool *p);
int pt_pool_n_threads(const pt_pool *p);
/* Runs all tasks and returns when every one has finished. Not reentrant. */
void pt_pool_run(pt_pool *p, int n_tasks, pt_task_fn fn, void *arg);

/* Splits [0, n) into `parts` near-equal ranges; part k is [*begin, *end). */
static inline void pt_split_range(int n, int parts, int k, int *begin, int *end)
{
    int base = n / parts, extra = n % parts;
    *begin = k * base + (k < extra ? k : extra);
    *end = *begin + base + (k < extra ? 1 : 0);
}

#endif
