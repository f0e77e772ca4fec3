/* Forward-pass API contract on a fixture model: argument and state errors, capacity limits,
 * ragged-batch equivalence, logits modes, thread-count independence, a model shared by
 * concurrent threads, and soft-prompt creation/loading. */
#include "test_support.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

static ptune_model *llama, *gpt2, *bloom;

static int setup(void **state)
{
    (void)state;
    llama = pt_test_load_model("fixtures/models/tiny-llama");
    gpt2 = pt_test_load_model("fixtures/models/tiny-gpt2.gguf");
    bloom = pt_test_load_model("fixtures/models/tiny-bloom");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptune_model_free(llama);
    ptune_model_free(gpt2);
    ptune_model_free(bloom);
    return 0;
}

static ptune_ctx *ctx(ptune_model *m, int32_t logits, int32_t max_tokens, int32_t threads)
{
    ptune_ctx_params p;
    ptune_ctx_params_init(&p);
    p.logits = logits;
    p.max_tokens = max_tokens;
    p.n_threads = threads;
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, &p, &c), PTUNE_OK);
    return c;
}

static const int32_t seq_a[] = {5, 17, 300, 42, 7, 99, 511, 0, 3};
static const int32_t seq_b[] = {250, 11, 12, 13};

static void test_argument_and_state_errors(void **state)
{
    (void)state;
    ptune_ctx *c = (ptune_ctx *)0x1;
    assert_int_equal(ptune_ctx_new(NULL, NULL, &c), PTUNE_E_INVALID_ARG);
    assert_null(c);
    ptune_ctx_params p;
    ptune_ctx_params_init(&p);
    p.max_tokens = -1;
    assert_int_equal(ptune_ctx_new(llama, &p, &c), PTUNE_E_INVALID_ARG);
    ptune_ctx_params_init(&p);
    p.struct_size = 1000;
    assert_int_equal(ptune_ctx_new(llama, &p, &c), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "struct_size"));

    c = ctx(llama, PTUNE_LOGITS_NONE, 64, 1);
    double loss;
    const float *l;
    int32_t n;
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_E_STATE);
    assert_int_equal(ptune_logits(c, 0, &l, &n), PTUNE_E_STATE);
    assert_int_equal(ptune_forward(c, NULL, NULL), PTUNE_E_INVALID_ARG);

    int32_t bad[] = {1, 2, 512};
    const int32_t *seqs[1] = {bad};
    int32_t len = 3;
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "512"));
    bad[2] = 7;
    int32_t labels[] = {1, -5, 3};
    const int32_t *labs[1] = {labels};
    b.labels = labs;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "-5"));
    labels[1] = -100;
    len = 0;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_E_INVALID_ARG);
    len = 3;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
    assert_int_equal(ptune_logits(c, 0, &l, &n), PTUNE_E_STATE); /* logits mode NONE */
    assert_int_equal(ptune_logits(c, 1, &l, &n), PTUNE_E_STATE);

    float lp[4];
    assert_int_equal(ptune_token_logprobs(c, 0, lp, 0, &n), PTUNE_E_BUFFER_TOO_SMALL);
    assert_int_equal(n, 1); /* labels {1, -100, 3}: only row 1 → label 3 counts */
    assert_int_equal(ptune_token_logprobs(c, 0, lp, 4, &n), PTUNE_OK);
    assert_int_equal(n, 1);
    assert_true(lp[0] < 0.0f);
    assert_int_equal(ptune_token_logprobs(c, 1, lp, 4, &n), PTUNE_E_INVALID_ARG);

    labels[0] = labels[1] = labels[2] = -100;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_E_STATE); /* nothing counted */

    /* a failed forward leaves no result behind */
    b.labels = NULL;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_OK);
    bad[0] = -1;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_E_STATE);
    ptune_ctx_free(c);
    ptune_ctx_free(NULL);
}

static void test_capacity(void **state)
{
    (void)state;
    ptune_ctx *c = ctx(gpt2, PTUNE_LOGITS_NONE, 256, 1);
    int32_t *ids = calloc(200, sizeof *ids);
    const int32_t *seqs[3] = {ids, ids, ids};
    int32_t lens[3] = {129, 10, 10}; /* GPT-2 fixture: 128 positions */
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = lens};
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_E_CAPACITY);
    assert_non_null(strstr(ptune_last_error(), "128"));
    lens[0] = 128;
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
    /* with 5 virtual tokens, 123 real tokens are the most that fit */
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 5;
    ptune_prompt *p;
    assert_int_equal(ptune_prompt_new(gpt2, &pp, &p), PTUNE_OK);
    lens[0] = 124;
    assert_int_equal(ptune_forward(c, p, &b), PTUNE_E_CAPACITY);
    assert_non_null(strstr(ptune_last_error(), "129 positions"));
    lens[0] = 123;
    assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
    lens[1] = 123;
    b.n_seq = 2; /* 128 + 128 rows: exactly the context's 256 */
    assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
    b.n_seq = 3; /* 128 + 128 + 15 rows > 256 */
    assert_int_equal(ptune_forward(c, p, &b), PTUNE_E_CAPACITY);
    assert_non_null(strstr(ptune_last_error(), "256"));
    ptune_prompt_free(p);
    ptune_ctx_free(c);
    free(ids);
}

/* Each sequence of a ragged batch gives what it gives alone. */
static void test_ragged_batch_equivalence(void **state)
{
    (void)state;
    ptune_model *models[3] = {llama, gpt2, bloom};
    for (int mi = 0; mi < 3; mi++) {
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = 3;
        pp.seed = 11;
        ptune_prompt *p;
        assert_int_equal(ptune_prompt_new(models[mi], &pp, &p), PTUNE_OK);
        float *v = ptune_prompt_values(p);
        for (int i = 0; i < 3 * ptune_model_n_embd(models[mi]); i++) v[i] *= 0.1f;
        ptune_ctx *both = ctx(models[mi], PTUNE_LOGITS_ALL, 64, 2), *one = ctx(models[mi], PTUNE_LOGITS_ALL, 64, 2);
        const int32_t *seqs[2] = {seq_a, seq_b};
        int32_t lens[2] = {9, 4};
        ptune_batch b = {.n_seq = 2, .ids = seqs, .len = lens};
        assert_int_equal(ptune_forward(both, p, &b), PTUNE_OK);
        for (int s = 0; s < 2; s++) {
            ptune_batch single = {.n_seq = 1, .ids = &seqs[s], .len = &lens[s]};
            assert_int_equal(ptune_forward(one, p, &single), PTUNE_OK);
            const float *la, *lb;
            int32_t ra, rb;
            assert_int_equal(ptune_logits(both, s, &la, &ra), PTUNE_OK);
            assert_int_equal(ptune_logits(one, 0, &lb, &rb), PTUNE_OK);
            assert_int_equal(ra, 3 + lens[s]);
            assert_int_equal(rb, ra);
            for (int i = 0; i < ra * 512; i++) assert_true(fabsf(la[i] - lb[i]) < 1e-5f);
        }
        ptune_ctx_free(both);
        ptune_ctx_free(one);
        ptune_prompt_free(p);
    }
}

static void test_logits_last_and_threads(void **state)
{
    (void)state;
    const int32_t *seqs[2] = {seq_a, seq_b};
    int32_t lens[2] = {9, 4};
    ptune_batch b = {.n_seq = 2, .ids = seqs, .len = lens};
    ptune_ctx *all = ctx(bloom, PTUNE_LOGITS_ALL, 64, 1), *last = ctx(bloom, PTUNE_LOGITS_LAST, 64, 3);
    assert_int_equal(ptune_forward(all, NULL, &b), PTUNE_OK);
    assert_int_equal(ptune_forward(last, NULL, &b), PTUNE_OK);
    for (int s = 0; s < 2; s++) {
        const float *la, *ll;
        int32_t ra, rl;
        assert_int_equal(ptune_logits(all, s, &la, &ra), PTUNE_OK);
        assert_int_equal(ptune_logits(last, s, &ll, &rl), PTUNE_OK);
        assert_int_equal(rl, 1);
        /* 1 thread vs 3 threads: the same arithmetic per row, so identical */
        assert_memory_equal(la + (size_t)(ra - 1) * 512, ll, 512 * sizeof(float));
    }
    double l1, l2;
    assert_int_equal(ptune_loss(all, &l1, NULL), PTUNE_OK);
    assert_int_equal(ptune_loss(last, &l2, NULL), PTUNE_OK);
    assert_true(l1 == l2);
    ptune_ctx_free(all);
    ptune_ctx_free(last);
}

typedef struct worker {
    ptune_model *m;
    double loss;
    int ok;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    ptune_ctx_params p;
    ptune_ctx_params_init(&p);
    p.n_threads = 1;
    ptune_ctx *c;
    if (ptune_ctx_new(w->m, &p, &c)) return NULL;
    const int32_t *seqs[1] = {seq_a};
    int32_t len = 9;
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    w->ok = 1;
    for (int i = 0; i < 20 && w->ok; i++) {
        double loss;
        w->ok = ptune_forward(c, NULL, &b) == PTUNE_OK && ptune_loss(c, &loss, NULL) == PTUNE_OK &&
                (i == 0 || loss == w->loss);
        w->loss = loss;
    }
    ptune_ctx_free(c);
    return NULL;
}

/* One model, four threads, one context each: identical results, no interference. */
static void test_model_shared_between_threads(void **state)
{
    (void)state;
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.m = llama};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_true(w[i].ok);
        assert_true(w[i].loss == w[0].loss);
    }
}

static void test_prompt_new_and_load(void **state)
{
    (void)state;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    ptune_prompt *a, *b, *c;
    assert_int_equal(ptune_prompt_new(llama, &pp, &a), PTUNE_E_INVALID_ARG); /* n_virtual 0 */
    pp.n_virtual = 20;
    pp.seed = 5;
    assert_int_equal(ptune_prompt_new(llama, &pp, &a), PTUNE_OK);
    assert_int_equal(ptune_prompt_new(llama, &pp, &b), PTUNE_OK);
    pp.seed = 6;
    assert_int_equal(ptune_prompt_new(llama, &pp, &c), PTUNE_OK);
    assert_int_equal(ptune_prompt_n_virtual(a), 20);
    assert_int_equal(ptune_prompt_n_embd(a), 64);
    const size_t n = 20 * 64;
    assert_memory_equal(ptune_prompt_values(a), ptune_prompt_values(b), n * sizeof(float));
    assert_memory_not_equal(ptune_prompt_values(a), ptune_prompt_values(c), n * sizeof(float));
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) {
        float x = ptune_prompt_values(a)[i];
        sum += x;
        sq += (double)x * x;
        assert_true(ptune_prompt_grad(a)[i] == 0.0f);
    }
    assert_true(fabs(sum / n) < 0.1 && fabs(sq / n - 1.0) < 0.15); /* N(0, 1), as PEFT's RANDOM */
    ptune_prompt_free(a);
    ptune_prompt_free(b);
    ptune_prompt_free(c);
    ptune_prompt_free(NULL);

    /* load: a PEFT adapter directory, then errors */
    char *dir = pt_test_shared_path("fixtures/tiny-llama/peft_adapter");
    assert_int_equal(ptune_prompt_load(llama, dir, &a), PTUNE_OK);
    assert_int_equal(ptune_prompt_n_virtual(a), 5);
    ptune_prompt_free(a);
    assert_int_equal(ptune_prompt_load(bloom, dir, &a), PTUNE_E_FORMAT); /* 64 wide vs 72 */
    assert_null(a);
    assert_non_null(strstr(ptune_last_error(), "72"));
    free(dir);
    char *weights = pt_test_shared_path("fixtures/models/tiny-llama/model.safetensors");
    assert_int_equal(ptune_prompt_load(llama, weights, &a), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "prompt_embeddings"));
    free(weights);
    assert_int_equal(ptune_prompt_load(llama, "/nonexistent/adapter", &a), PTUNE_E_IO);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argument_and_state_errors),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_ragged_batch_equivalence),
        cmocka_unit_test(test_logits_last_and_threads),
        cmocka_unit_test(test_model_shared_between_threads),
        cmocka_unit_test(test_prompt_new_and_load),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
