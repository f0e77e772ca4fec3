/* Data-parallel training without MPI: 2 and 4 "ranks" run as threads of one process, summing
 * through an in-process ptune_collective (a barrier and a rank-ordered sum), must reproduce the
 * losses, eval losses and final prompt of one trainer running the same global batches (within
 * 1e-5; the sums are taken in another order). Covers micro-batches with fewer sequences than
 * ranks (empty shards), gradient accumulation, cancellation agreed across ranks and rank 0 alone
 * writing checkpoints. */
#include "test_support.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ptune/ptune.h"

#define MAX_RANKS 4
#define MAX_STEPS 64
#define TOL 1e-5

/* ---- an in-process collective ------------------------------------------------------------------ */

typedef struct group {
    int size;
    pthread_barrier_t barrier;
    double *values[MAX_RANKS];
    int64_t calls;
} group;

typedef struct rank_ctx {
    group *g;
    int rank;
} rank_ctx;

static int group_sum(double *values, int64_t n, void *user)
{
    rank_ctx *rc = user;
    group *g = rc->g;
    g->values[rc->rank] = values;
    pthread_barrier_wait(&g->barrier);
    double *sum = calloc((size_t)n, sizeof *sum);
    if (!sum) return 1;
    for (int r = 0; r < g->size; r++)
        for (int64_t i = 0; i < n; i++) sum[i] += g->values[r][i];
    pthread_barrier_wait(&g->barrier); /* every rank has read every contribution */
    memcpy(values, sum, (size_t)n * sizeof *sum);
    free(sum);
    if (rc->rank == 0) g->calls++;
    return 0;
}

/* ---- one rank's run -------------------------------------------------------------------------------- */

typedef struct run_spec {
    int batch_size, grad_accum, epochs;
    int64_t cancel_at_step;      /* rank 1 raises its cancel flag before this step (0 = never) */
    const char *checkpoint_dir;  /* NULL = none */
} run_spec;

typedef struct rank_run {
    const run_spec *spec;
    ptune_model *m;
    const ptune_dataset *train, *eval;
    ptune_collective coll;
    rank_ctx rc;
    bool use_collective;
    volatile int32_t cancel;
    /* results */
    ptune_status status;
    int64_t n_steps;
    double loss[MAX_STEPS], eval_loss[MAX_STEPS];
    float *prompt;
    size_t n_values;
} rank_run;

static int on_progress(const ptune_train_progress *p, void *user)
{
    rank_run *r = user;
    if (p->step >= 1 && p->step <= MAX_STEPS) {
        r->loss[p->step - 1] = p->loss;
        r->eval_loss[p->step - 1] = p->eval_loss;
        r->n_steps = p->step;
    }
    if (r->spec->cancel_at_step && p->step + 1 == r->spec->cancel_at_step && (!r->use_collective || r->rc.rank == 1))
        r->cancel = 1;
    return 0;
}

static void *rank_main(void *arg)
{
    rank_run *r = arg;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 4;
    pp.seed = 7;
    ptune_prompt *p = NULL;
    r->status = ptune_prompt_new(r->m, &pp, &p);
    if (r->status) return NULL;
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 0.05f;
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = r->spec->epochs;
    tp.batch_size = r->spec->batch_size;
    tp.grad_accum = r->spec->grad_accum;
    tp.eval_every = 2;
    tp.seed = 11;
    tp.n_threads = 1;
    tp.optimizer = &op;
    tp.progress = on_progress;
    tp.progress_user = r;
    tp.cancel = &r->cancel;
    tp.checkpoint_dir = r->spec->checkpoint_dir;
    tp.collective = r->use_collective ? &r->coll : NULL;
    ptune_trainer *t = NULL;
    r->status = ptune_trainer_new(r->m, p, r->train, r->eval, &tp, &t);
    if (!r->status) r->status = ptune_trainer_run(t);
    r->n_values = (size_t)ptune_prompt_n_virtual(p) * (size_t)ptune_prompt_n_embd(p);
    r->prompt = malloc(r->n_values * sizeof(float));
    if (r->prompt) memcpy(r->prompt, ptune_prompt_values(p), r->n_values * sizeof(float));
    ptune_trainer_free(t);
    ptune_prompt_free(p);
    return NULL;
}

/* Runs `size` ranks as threads (size 1: one trainer without a collective). */
static void run_group(int size, const run_spec *spec, ptune_model *m, const ptune_dataset *train,
                      const ptune_dataset *eval, rank_run *runs, group *g)
{
    memset(g, 0, sizeof *g);
    g->size = size;
    assert_int_equal(pthread_barrier_init(&g->barrier, NULL, (unsigned)size), 0);
    pthread_t th[MAX_RANKS];
    for (int r = 0; r < size; r++) {
        memset(&runs[r], 0, sizeof runs[r]);
        runs[r].spec = spec;
        runs[r].m = m;
        runs[r].train = train;
        runs[r].eval = eval;
        runs[r].use_collective = size > 1;
        runs[r].rc = (rank_ctx){g, r};
        runs[r].coll = (ptune_collective){.rank = r, .size = size, .allreduce_sum = group_sum, .user = &runs[r].rc};
        assert_int_equal(pthread_create(&th[r], NULL, rank_main, &runs[r]), 0);
    }
    for (int r = 0; r < size; r++) pthread_join(th[r], NULL);
    pthread_barrier_destroy(&g->barrier);
}

static void free_runs(rank_run *runs, int size)
{
    for (int r = 0; r < size; r++) free(runs[r].prompt);
}

/* Every rank of `runs` matches the single-process reference `ref`. */
static double compare(const rank_run *ref, const rank_run *runs, int size, ptune_status want)
{
    double worst = 0.0;
    for (int r = 0; r < size; r++) {
        if (runs[r].status != want)
            fail_msg("rank %d of %d: status %s, expected %s (%s)", r, size, ptune_status_str(runs[r].status),
                     ptune_status_str(want), ptune_last_error());
        assert_int_equal(runs[r].n_steps, ref->n_steps);
        for (int64_t s = 0; s < ref->n_steps; s++) {
            const double d = fabs(runs[r].loss[s] - ref->loss[s]);
            if (!(d <= TOL)) fail_msg("rank %d of %d, step %lld: loss %.9f vs %.9f", r, size, (long long)s + 1, runs[r].loss[s], ref->loss[s]);
            worst = fmax(worst, d);
            if (isnan(ref->eval_loss[s])) {
                assert_true(isnan(runs[r].eval_loss[s]));
                continue;
            }
            const double e = fabs(runs[r].eval_loss[s] - ref->eval_loss[s]);
            if (!(e <= TOL)) fail_msg("rank %d, step %lld: eval loss %.9f vs %.9f", r, (long long)s + 1, runs[r].eval_loss[s], ref->eval_loss[s]);
            worst = fmax(worst, e);
        }
        assert_non_null(runs[r].prompt);
        for (size_t i = 0; i < ref->n_values; i++) {
            const double d = fabs((double)runs[r].prompt[i] - (double)ref->prompt[i]);
            if (!(d <= TOL)) fail_msg("rank %d of %d: prompt value %zu: %.9g vs %.9g", r, size, i, runs[r].prompt[i], ref->prompt[i]);
            worst = fmax(worst, d);
        }
    }
    return worst;
}

/* ---- data ------------------------------------------------------------------------------------------- */

static ptune_model *g_model;
static ptune_dataset *g_train, *g_eval;

static int setup(void **state)
{
    (void)state;
    /* real ranks are processes, each with its own OpenBLAS; threads of one process share one, so
     * keep its products on the calling thread (as one single-threaded rank each) */
    ptune_set_blas_threads(1);
    g_model = pt_test_load_model("models/aidreams260K.gguf");
    char *dir = pt_test_tmpdir(), path[4096];
    snprintf(path, sizeof path, "%s/lines.txt", dir);
    static const char *const words[] = {"lattice", "vector", "gentle", "hum", "silver", "weights", "dream", "core"};
    char text[8192];
    size_t off = 0;
    for (int i = 0; i < 30; i++) { /* lines of 3 to 10 words: ragged batches */
        off += (size_t)snprintf(text + off, sizeof text - off, "O");
        for (int w = 0; w < 3 + (i * 7) % 8; w++) off += (size_t)snprintf(text + off, sizeof text - off, " %s", words[(i + w * 3) % 8]);
        off += (size_t)snprintf(text + off, sizeof text - off, ", so hums the core.\n");
    }
    pt_test_write_file(path, text, off);
    ptune_dataset_params dp;
    ptune_dataset_params_init(&dp);
    if (ptune_dataset_load(g_model, path, &dp, &g_train)) fail_msg("%s", ptune_last_error());
    assert_int_equal(ptune_dataset_split(g_train, 0.2, 3, &g_eval), PTUNE_OK);
    free(dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptune_dataset_free(g_train);
    ptune_dataset_free(g_eval);
    ptune_model_free(g_model);
    return 0;
}

/* ---- tests ------------------------------------------------------------------------------------------- */

static void check_equivalence(const run_spec *spec, const char *label)
{
    rank_run ref[1], runs[MAX_RANKS];
    group g;
    run_group(1, spec, g_model, g_train, g_eval, ref, &g);
    if (ref[0].status) fail_msg("%s: single process: %s", label, ptune_last_error());
    assert_true(ref[0].n_steps >= 4);
    for (int size = 2; size <= 4; size += 2) {
        run_group(size, spec, g_model, g_train, g_eval, runs, &g);
        const double worst = compare(&ref[0], runs, size, PTUNE_OK);
        /* one sum per micro-batch, one per evaluation and one per step (the cancel flag) */
        assert_true(g.calls > ref[0].n_steps);
        print_message("%s: %d ranks, %lld steps: max |difference| %.2e (losses, eval losses, prompt)\n", label, size,
                      (long long)ref[0].n_steps, worst);
        free_runs(runs, size);
    }
    free_runs(ref, 1);
}

static void test_same_as_one_process(void **state)
{
    (void)state;
    const run_spec spec = {.batch_size = 8, .grad_accum = 1, .epochs = 2};
    check_equivalence(&spec, "batch 8");
}

/* batch 3 over 4 ranks: one rank's shard is empty in every micro-batch; accumulation over 2 */
static void test_small_batches_and_accumulation(void **state)
{
    (void)state;
    const run_spec spec = {.batch_size = 3, .grad_accum = 2, .epochs = 1};
    check_equivalence(&spec, "batch 3, grad_accum 2");
}

/* A cancel on one rank stops every rank after the same step; only rank 0 writes checkpoints. */
static void test_cancel_and_checkpoints(void **state)
{
    (void)state;
    char *dir = pt_test_tmpdir(), ckpt[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints", dir);
    const run_spec spec = {.batch_size = 4, .grad_accum = 1, .epochs = 2, .cancel_at_step = 3, .checkpoint_dir = ckpt};
    rank_run runs[2];
    group g;
    run_group(2, &spec, g_model, g_train, g_eval, runs, &g);
    for (int r = 0; r < 2; r++) {
        assert_int_equal(runs[r].status, PTUNE_E_ABORTED);
        assert_int_equal(runs[r].n_steps, 2);
    }
    assert_memory_equal(runs[0].prompt, runs[1].prompt, runs[0].n_values * sizeof(float));
    struct stat sb;
    snprintf(ckpt, sizeof ckpt, "%s/checkpoints/checkpoint-2", dir);
    assert_int_equal(stat(ckpt, &sb), 0); /* written once, by rank 0 */
    free_runs(runs, 2);
    free(dir);
}

static void test_bad_collective(void **state)
{
    (void)state;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 2;
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_new(g_model, &pp, &p), PTUNE_OK);
    ptune_collective c = {.rank = 2, .size = 2, .allreduce_sum = group_sum};
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.collective = &c;
    ptune_trainer *t = NULL;
    assert_int_equal(ptune_trainer_new(g_model, p, g_train, NULL, &tp, &t), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "rank 2 of size 2"));
    c = (ptune_collective){.rank = 0, .size = 2};
    assert_int_equal(ptune_trainer_new(g_model, p, g_train, NULL, &tp, &t), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "allreduce_sum"));
    ptune_prompt_free(p);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_one_process),
        cmocka_unit_test(test_small_batches_and_accumulation),
        cmocka_unit_test(test_cancel_and_checkpoints),
        cmocka_unit_test(test_bad_collective),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
