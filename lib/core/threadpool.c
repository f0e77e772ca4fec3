/* Worker pool: threads wait on a condition variable for a job, claim task indices with an
 * atomic counter, and the caller waits until all tasks of the job are done. */
#include "core/threadpool.h"
#include "core/alloc.h"
#include "core/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pt_pool {
    int n_threads;
    pthread_t *threads;       /* n_threads - 1 workers */
    int n_started;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_cond_t done;
    uint64_t generation;      /* bumped per job */
    int stopping;
    /* current job */
    pt_task_fn fn;
    void *arg;
    int n_tasks;
    atomic_int next_task;
    int workers_busy;
};

typedef struct worker_start {
    pt_pool *pool;
    int index;
} worker_start;

static void run_tasks(pt_pool *p, int thread)
{
    for (;;) {
        int t = atomic_fetch_add(&p->next_task, 1);
        if (t >= p->n_tasks) break;
        p->fn(p->arg, t, thread);
    }
}

static void *worker_main(void *raw)
{
    worker_start ws = *(worker_start *)raw;
    free(raw);
    pt_pool *p = ws.pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->generation == seen) pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        run_tasks(p, ws.index);
        pthread_mutex_lock(&p->lock);
        if (--p->workers_busy == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

ptune_status pt_pool_new(int n_threads, pt_pool **out)
{
    *out = NULL;
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 256) n_threads = 256;
    pt_pool *p = pt_calloc(1, sizeof *p, "thread pool");
    if (!p) return PTUNE_E_NOMEM;
    p->n_threads = n_threads;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    if (n_threads > 1) {
        p->threads = pt_calloc((size_t)n_threads - 1, sizeof *p->threads, "thread handles");
        if (!p->threads) {
            pt_pool_free(p);
            return PTUNE_E_NOMEM;
        }
        for (int i = 1; i < n_threads; i++) {
            worker_start *ws = pt_malloc(sizeof *ws, "worker start");
            if (!ws) {
                pt_pool_free(p);
                return PTUNE_E_NOMEM;
            }
            ws->pool = p;
            ws->index = i;
            int rc = pthread_create(&p->threads[i - 1], NULL, worker_main, ws);
            if (rc != 0) {
                free(ws);
                pt_pool_free(p);
                return pt_fail(PTUNE_E_STATE, "cannot start worker thread %d: %s", i, strerror(rc));
            }
            p->n_started++;
        }
    }
    *out = p;
    return PTUNE_OK;
}

void pt_pool_free(pt_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

int pt_pool_n_threads(const pt_pool *p) { return p->n_threads; }

void pt_pool_run(pt_pool *p, int n_tasks, pt_task_fn fn, void *arg)
{
    if (n_tasks <= 0) return;
    if (p->n_started == 0 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++) fn(arg, t, 0);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->fn = fn;
    p->arg = arg;
    p->n_tasks = n_tasks;
    atomic_store(&p->next_task, 0);
    p->workers_busy = p->n_started;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    run_tasks(p, 0);
    pthread_mutex_lock(&p->lock);
    while (p->workers_busy > 0) pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}
