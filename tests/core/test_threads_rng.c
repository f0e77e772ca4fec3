/* The worker pool (every task runs exactly once, on any thread count) and the seeded RNG
 * (reproducible streams, unbiased ranges, N(0,1) moments). */
#include "test_support.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/threadpool.h"

typedef struct counts {
    atomic_int hits[1000];
    atomic_int max_thread;
} counts;

static void count_task(void *arg, int task, int thread)
{
    counts *c = arg;
    atomic_fetch_add(&c->hits[task], 1);
    int m = atomic_load(&c->max_thread);
    while (thread > m && !atomic_compare_exchange_weak(&c->max_thread, &m, thread)) {
    }
}

static void test_pool_runs_each_task_once(void **state)
{
    (void)state;
    for (int n_threads = 1; n_threads <= 4; n_threads++) {
        pt_pool *p;
        assert_int_equal(pt_pool_new(n_threads, &p), PTUNE_OK);
        assert_int_equal(pt_pool_n_threads(p), n_threads);
        for (int round = 0; round < 50; round++) {
            static counts c;
            memset(&c, 0, sizeof c);
            int n_tasks = 1 + (round * 37) % 1000;
            pt_pool_run(p, n_tasks, count_task, &c);
            for (int t = 0; t < 1000; t++) assert_int_equal(atomic_load(&c.hits[t]), t < n_tasks ? 1 : 0);
            assert_true(atomic_load(&c.max_thread) < n_threads);
        }
        pt_pool_free(p);
    }
    pt_pool_free(NULL);
}

static void test_split_range_covers(void **state)
{
    (void)state;
    for (int n = 0; n < 50; n++)
        for (int parts = 1; parts < 9; parts++) {
            int expect = 0;
            for (int k = 0; k < parts; k++) {
                int b, e;
                pt_split_range(n, parts, k, &b, &e);
                assert_int_equal(b, expect);
                assert_true(e - b == n / parts || e - b == n / parts + 1);
                expect = e;
            }
            assert_int_equal(expect, n);
        }
}

static void test_rng_reproducible(void **state)
{
    (void)state;
    pt_rng a, b;
    pt_rng_seed(&a, 42);
    pt_rng_seed(&b, 42);
    for (int i = 0; i < 1000; i++) assert_true(pt_rng_next(&a) == pt_rng_next(&b));
    pt_rng_seed(&b, 43);
    assert_false(pt_rng_next(&a) == pt_rng_next(&b));
}

static void test_rng_distributions(void **state)
{
    (void)state;
    pt_rng r;
    pt_rng_seed(&r, 7);
    const int n = 200000;
    double sum = 0, sq = 0;
    int buckets[10] = {0};
    for (int i = 0; i < n; i++) {
        double x = pt_rng_normal(&r);
        sum += x;
        sq += x * x;
        double u = pt_rng_uniform(&r);
        assert_true(u >= 0.0 && u < 1.0);
        buckets[pt_rng_below(&r, 10)]++;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    assert_true(fabs(mean) < 0.01);
    assert_true(fabs(var - 1.0) < 0.02);
    for (int k = 0; k < 10; k++) assert_true(abs(buckets[k] - n / 10) < n / 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_runs_each_task_once),
        cmocka_unit_test(test_split_range_covers),
        cmocka_unit_test(test_rng_reproducible),
        cmocka_unit_test(test_rng_distributions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
