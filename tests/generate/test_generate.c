/* Generation with the KV cache on ../shared models: incremental logits equal the full forward at
 * every step (with and without a soft prompt), aidreams greedy from BOS reproduces the golden
 * text, a mixed batch with per-sequence prompts equals separate runs, stop conditions, capacity
 * errors, and concurrent generation from 4 threads on one model. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

static ptune_ctx *gen_ctx(ptune_model *m, int32_t n_seq_max, int32_t logits)
{
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 96;
    cp.n_seq_max = n_seq_max;
    cp.logits = logits;
    cp.n_threads = 2;
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);
    return c;
}

static ptune_prompt *small_prompt(ptune_model *m, int nv, uint64_t seed)
{
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = nv;
    pp.seed = seed;
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    for (int i = 0; i < nv * ptune_model_n_embd(m); i++) ptune_prompt_values(p)[i] *= 0.2f;
    return p;
}

static double worst_step_err;

/* Greedy generation with raw logits recorded; each step's logits must equal the last row of a
 * full forward over input + generated-so-far. */
static void check_incremental(ptune_model *m, const ptune_prompt *p, const char *label)
{
    enum { N_IN = 5, N_NEW = 12 };
    const int V = ptune_model_n_vocab(m);
    int32_t ids[N_IN + N_NEW] = {1, 17, 300, 42, 7};
    for (int i = 0; i < N_IN; i++) ids[i] %= V;
    int32_t out[N_NEW];
    float *logits = malloc(sizeof(float) * (size_t)N_NEW * V);
    assert_non_null(logits);
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = N_NEW;
    sp.ignore_eos = 1;
    ptune_ctx *g = gen_ctx(m, 1, PTUNE_LOGITS_NONE), *full = gen_ctx(m, 1, PTUNE_LOGITS_LAST);
    ptune_generate_request r = {.prompt = p, .ids = ids, .n_ids = N_IN, .out = out, .cap = N_NEW, .logits = logits,
                                .logits_rows = N_NEW};
    if (ptune_generate_batch(g, &r, 1, &sp, NULL, NULL)) fail_msg("%s: %s", label, ptune_last_error());
    assert_int_equal(r.n_out, N_NEW);
    assert_int_equal(r.n_logits, N_NEW);
    for (int k = 0; k < N_NEW; k++) {
        int32_t len = N_IN + k;
        memcpy(ids + N_IN, out, sizeof(int32_t) * (size_t)k);
        const int32_t *seqs[1] = {ids};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
        assert_int_equal(ptune_forward(full, p, &b), PTUNE_OK);
        const float *ref;
        int32_t rows;
        assert_int_equal(ptune_logits(full, 0, &ref, &rows), PTUNE_OK);
        double worst = 0;
        for (int v = 0; v < V; v++) worst = fmax(worst, fabs((double)ref[v] - logits[(size_t)k * V + v]));
        if (worst > worst_step_err) worst_step_err = worst;
        if (!(worst <= 1e-4)) fail_msg("%s: step %d: incremental logits differ by %.3g", label, k, worst);
        /* greedy: the chosen token is the argmax of those logits */
        int32_t best = 0;
        for (int v = 1; v < V; v++)
            if (ref[v] > ref[best]) best = v;
        assert_int_equal(best, out[k]);
    }
    ptune_ctx_free(g);
    ptune_ctx_free(full);
    free(logits);
}

static void test_incremental_equals_full(void **state)
{
    (void)state;
    const char *models[] = {"fixtures/models/tiny-bloom", "fixtures/models/tiny-gpt2", "fixtures/models/tiny-llama.gguf",
                            "fixtures/models/tiny-qwen2", "models/aidreams260K.gguf"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        ptune_model *m = pt_test_load_model(models[i]);
        check_incremental(m, NULL, models[i]);
        ptune_prompt *p = small_prompt(m, 4, 3);
        check_incremental(m, p, models[i]);
        ptune_prompt_free(p);
        ptune_model_free(m);
    }
    printf("# worst incremental-vs-full logit difference %.3g\n", worst_step_err);
}

static void test_greedy_golden_text(void **state)
{
    (void)state;
    char *path = pt_test_shared_path("models/aidreams260K-golden.json");
    json_error_t e;
    json_t *g = json_load_file(path, 0, &e);
    assert_non_null(g);
    const char *want = json_string_value(json_object_get(json_object_get(g, "greedy_from_bos_40"), "text"));
    assert_non_null(want);
    const char *forms[] = {"models/aidreams260K.gguf", "models/aidreams260K-hf"};
    for (int f = 0; f < 2; f++) {
        ptune_model *m = pt_test_load_model(forms[f]);
        ptune_ctx *c = gen_ctx(m, 1, PTUNE_LOGITS_NONE);
        ptune_sampling_params sp;
        ptune_sampling_params_init(&sp);
        sp.temperature = 0.0f;
        sp.max_new_tokens = 40;
        char *text = NULL;
        if (ptune_generate_text(c, NULL, "", &sp, &text, NULL, NULL)) fail_msg("%s: %s", forms[f], ptune_last_error());
        assert_string_equal(text, want);
        ptune_free(text);
        ptune_ctx_free(c);
        ptune_model_free(m);
    }
    json_decref(g);
    free(path);
}

/* Three sequences with three different prompts in one batch = three separate runs (sampling). */
static void test_mixed_batch_equals_separate(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    ptune_prompt *p[3] = {small_prompt(m, 3, 1), NULL, small_prompt(m, 6, 2)};
    const int32_t in0[] = {1, 388, 355}, in1[] = {1, 260}, in2[] = {1, 319, 459, 355, 260};
    const int32_t *ins[3] = {in0, in1, in2};
    const int32_t lens[3] = {3, 2, 5};
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.8f;
    sp.top_k = 40;
    sp.max_new_tokens = 25;
    sp.seed = 1234;
    int32_t batch_out[3][32], solo_out[32];
    ptune_generate_request reqs[3];
    for (int i = 0; i < 3; i++)
        reqs[i] = (ptune_generate_request){.prompt = p[i], .ids = ins[i], .n_ids = lens[i], .out = batch_out[i], .cap = 32};
    ptune_ctx *c = gen_ctx(m, 3, PTUNE_LOGITS_NONE);
    assert_int_equal(ptune_generate_batch(c, reqs, 3, &sp, NULL, NULL), PTUNE_OK);
    ptune_ctx *solo = gen_ctx(m, 1, PTUNE_LOGITS_NONE);
    for (int i = 0; i < 3; i++) {
        int32_t n;
        assert_int_equal(ptune_generate(solo, p[i], ins[i], lens[i], &sp, solo_out, 32, &n, NULL, NULL), PTUNE_OK);
        assert_int_equal(n, reqs[i].n_out);
        assert_memory_equal(solo_out, batch_out[i], sizeof(int32_t) * (size_t)n);
    }
    /* too many sequences for the context */
    assert_int_equal(ptune_generate_batch(solo, reqs, 3, &sp, NULL, NULL), PTUNE_E_CAPACITY);
    ptune_ctx_free(c);
    ptune_ctx_free(solo);
    for (int i = 0; i < 3; i++) ptune_prompt_free(p[i]);
    ptune_model_free(m);
}

/* A second generation with the same prompt reuses its cached K/V and gives exactly the same
 * tokens and logits as a context without the prefix cache; a prompt changed in place (as by a
 * training step) is recomputed. */
static void test_prefix_cache(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("fixtures/models/tiny-llama.gguf");
    const int V = ptune_model_n_vocab(m);
    ptune_prompt *p = small_prompt(m, 10, 5);
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 64;
    ptune_ctx *cached, *plain;
    assert_int_equal(ptune_ctx_new(m, &cp, &cached), PTUNE_OK);
    cp.no_prefix_cache = 1;
    assert_int_equal(ptune_ctx_new(m, &cp, &plain), PTUNE_OK);
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = 8;
    sp.ignore_eos = 1;
    const int32_t in[] = {5, 9, 300};
    for (int round = 0; round < 3; round++) {
        if (round == 2) ptune_prompt_values(p)[3] += 0.5f; /* changed in place: must not hit */
        int32_t a[8], b[8];
        float *la = malloc(sizeof(float) * 8 * (size_t)V), *lb = malloc(sizeof(float) * 8 * (size_t)V);
        ptune_generate_request ra = {.prompt = p, .ids = in, .n_ids = 3, .out = a, .cap = 8, .logits = la, .logits_rows = 8};
        ptune_generate_request rb = {.prompt = p, .ids = in, .n_ids = 3, .out = b, .cap = 8, .logits = lb, .logits_rows = 8};
        assert_int_equal(ptune_generate_batch(cached, &ra, 1, &sp, NULL, NULL), PTUNE_OK);
        assert_int_equal(ptune_generate_batch(plain, &rb, 1, &sp, NULL, NULL), PTUNE_OK);
        assert_int_equal(ra.n_out, rb.n_out);
        assert_memory_equal(a, b, sizeof(int32_t) * (size_t)ra.n_out);
        for (int i = 0; i < 8 * V; i++) assert_true(fabsf(la[i] - lb[i]) <= 1e-5f);
        free(la);
        free(lb);
    }
    ptune_ctx_free(cached);
    ptune_ctx_free(plain);
    ptune_prompt_free(p);
    ptune_model_free(m);
}

typedef struct stream_acc {
    char text[4096];
    size_t len;
    int calls, stop_after;
} stream_acc;

static int on_tok(int32_t token, const char *bytes, size_t n, void *user)
{
    (void)token;
    stream_acc *a = user;
    if (n && a->len + n < sizeof a->text) {
        memcpy(a->text + a->len, bytes, n);
        a->len += n;
    }
    a->calls++;
    return a->stop_after > 0 && a->calls >= a->stop_after;
}

static void test_streaming_and_stops(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    ptune_ctx *c = gen_ctx(m, 1, PTUNE_LOGITS_NONE);
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = 40;
    /* the streamed pieces concatenate to the returned text */
    stream_acc acc = {0};
    char *text = NULL;
    assert_int_equal(ptune_generate_text(c, NULL, "", &sp, &text, on_tok, &acc), PTUNE_OK);
    acc.text[acc.len] = 0;
    assert_string_equal(acc.text, text);
    ptune_free(text);
    /* the callback stops generation */
    stream_acc stop = {.stop_after = 5};
    int32_t bos = 1, out[64], n;
    assert_int_equal(ptune_generate(c, NULL, &bos, 1, &sp, out, 64, &n, on_tok, &stop), PTUNE_E_ABORTED);
    assert_int_equal(n, 5);
    /* a stop string ends generation and is cut from the text */
    const char *stops[] = {"gentle"};
    sp.stop_strings = stops;
    sp.n_stop_strings = 1;
    assert_int_equal(ptune_generate_text(c, NULL, "", &sp, &text, NULL, NULL), PTUNE_OK);
    assert_null(strstr(text, "gentle"));
    assert_true(strlen(text) > 0 && strlen(text) < 60);
    ptune_free(text);
    /* a stop id */
    sp.n_stop_strings = 0;
    const int32_t stop_ids[] = {355};
    sp.stop_ids = stop_ids;
    sp.n_stop_ids = 1;
    assert_int_equal(ptune_generate(c, NULL, &bos, 1, &sp, out, 64, &n, NULL, NULL), PTUNE_OK);
    for (int i = 0; i < n; i++) assert_int_not_equal(out[i], 355);
    assert_true(n < 40);
    /* max_length counts the input */
    sp.n_stop_ids = 0;
    sp.max_length = 10;
    assert_int_equal(ptune_generate(c, NULL, &bos, 1, &sp, out, 64, &n, NULL, NULL), PTUNE_OK);
    assert_int_equal(n, 9);
    /* the context's capacity: 96 positions; from 1 input token, 96 tokens can be sampled (the
     * last one is never fed back, so it needs no position) */
    sp.max_length = 0;
    sp.max_new_tokens = 500;
    sp.ignore_eos = 1;
    int32_t *big = calloc(600, sizeof *big);
    assert_int_equal(ptune_generate(c, NULL, &bos, 1, &sp, big, 600, &n, NULL, NULL), PTUNE_E_CAPACITY);
    assert_int_equal(n, 96);
    assert_non_null(strstr(ptune_last_error(), "96"));
    free(big);
    ptune_ctx_free(c);
    ptune_model_free(m);
}

typedef struct worker {
    ptune_model *m;
    int32_t out[32];
    int32_t n;
    ptune_status status;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 64;
    cp.n_threads = 1;
    ptune_ctx *c;
    if ((w->status = ptune_ctx_new(w->m, &cp, &c))) return NULL;
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.max_new_tokens = 30;
    sp.seed = 99;
    int32_t bos = 1;
    w->status = ptune_generate(c, NULL, &bos, 1, &sp, w->out, 32, &w->n, NULL, NULL);
    ptune_ctx_free(c);
    return NULL;
}

static void test_concurrent_threads(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.m = m};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(w[i].status, PTUNE_OK);
        assert_int_equal(w[i].n, w[0].n);
        assert_memory_equal(w[i].out, w[0].out, sizeof(int32_t) * (size_t)w[0].n);
    }
    ptune_model_free(m);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incremental_equals_full),
        cmocka_unit_test(test_greedy_golden_text),
        cmocka_unit_test(test_mixed_batch_equals_separate),
        cmocka_unit_test(test_prefix_cache),
        cmocka_unit_test(test_streaming_and_stops),
        cmocka_unit_test(test_concurrent_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
