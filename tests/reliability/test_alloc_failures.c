/* Allocation-failure injection: every operation below is run again and again, the n-th
 * allocation made through lib/core/alloc.h failing on run n, until a run needs fewer
 * allocations than n. Each run must end in PTUNE_OK (a failure the code absorbs, such as the
 * optional prefix cache) or PTUNE_E_NOMEM with a message — never another status, a crash or (in
 * the ASan job) a leak. Allocations made inside third-party libraries (jansson, libyaml,
 * Oniguruma) are not injected. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "ptune/ptune.h"

typedef ptune_status (*operation)(void *arg);

/* Runs op with the n-th allocation failing, for n = 0, 1, ... until no failure was injected;
 * returns the number of runs. */
static long sweep(const char *name, operation op, void *arg)
{
    long n = 0;
    for (;; n++) {
        pt_alloc_fail_nth(n);
        ptune_status s = op(arg);
        const bool injected = !pt_alloc_fault_pending();
        pt_alloc_fail_nth(-1);
        if (s != PTUNE_OK && s != PTUNE_E_NOMEM)
            fail_msg("%s, allocation %ld failing: status %d (%s), expected PTUNE_E_NOMEM", name, n, s, ptune_last_error());
        if (s == PTUNE_E_NOMEM && !strstr(ptune_last_error(), "memory") && !strstr(ptune_last_error(), "alloc"))
            fail_msg("%s, allocation %ld failing: message \"%s\" does not say memory ran out", name, n, ptune_last_error());
        if (!injected) {
            if (s != PTUNE_OK) fail_msg("%s without an injected failure: %s", name, ptune_last_error());
            break;
        }
        if (n > 200000) fail_msg("%s: more than 200000 allocations", name);
    }
    printf("%s: %ld allocation points, each failure handled\n", name, n);
    return n;
}

typedef struct fixture {
    char *model_path, *tokenizer_path, *csv_path, *dir;
    ptune_model *model; /* loaded without injection, for the later operations */
} fixture;

static ptune_status op_model_load(void *arg)
{
    fixture *f = arg;
    ptune_model *m = NULL;
    ptune_status s = ptune_model_load(f->model_path, NULL, &m);
    ptune_model_free(m);
    return s;
}

static ptune_status op_tokenizer_load_encode(void *arg)
{
    fixture *f = arg;
    ptune_tokenizer *t = NULL;
    ptune_status s = ptune_tokenizer_load(f->tokenizer_path, &t);
    if (!s) {
        int32_t ids[64], n;
        s = ptune_tokenizer_encode(t, "I want you to act as a logistician.", 35, true, ids, 64, &n);
    }
    ptune_tokenizer_free(t);
    return s;
}

/* A training step: context, prompt, optimizer, forward, backward, step, save, load. */
static ptune_status op_train_step(void *arg)
{
    fixture *f = arg;
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.training = 1;
    cp.max_tokens = 32;
    ptune_ctx *c = NULL;
    ptune_prompt *p = NULL, *loaded = NULL;
    ptune_optimizer *o = NULL;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 3;
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.total_steps = 5;
    const int32_t a[4] = {1, 5, 9, 13}, b[3] = {2, 4, 6}, lens[2] = {4, 3};
    const int32_t *seqs[2] = {a, b};
    ptune_batch batch = {.n_seq = 2, .ids = seqs, .len = lens};
    char adapter[4200];
    snprintf(adapter, sizeof adapter, "%s/adapter", f->dir);
    ptune_status s = ptune_ctx_new(f->model, &cp, &c);
    if (!s) s = ptune_prompt_new(f->model, &pp, &p);
    if (!s) s = ptune_optimizer_new(&op, p, &o);
    if (!s) s = ptune_forward(c, p, &batch);
    if (!s) s = ptune_backward(c, p);
    if (!s) s = ptune_optimizer_step(o, p);
    if (!s) s = ptune_prompt_save(p, adapter);
    if (!s) s = ptune_prompt_load(f->model, adapter, &loaded);
    ptune_prompt_free(loaded);
    ptune_optimizer_free(o);
    ptune_prompt_free(p);
    ptune_ctx_free(c);
    return s;
}

static ptune_status op_generate(void *arg)
{
    fixture *f = arg;
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 32;
    ptune_ctx *c = NULL;
    ptune_prompt *p = NULL;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 2;
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0;
    sp.max_new_tokens = 4;
    char *text = NULL;
    ptune_status s = ptune_ctx_new(f->model, &cp, &c);
    if (!s) s = ptune_prompt_new(f->model, &pp, &p);
    if (!s) s = ptune_generate_text(c, p, "Once upon", &sp, &text, NULL, NULL);
    ptune_free(text);
    ptune_prompt_free(p);
    ptune_ctx_free(c);
    return s;
}

static ptune_status op_dataset(void *arg)
{
    fixture *f = arg;
    ptune_dataset_params dp;
    ptune_dataset_params_init(&dp);
    dp.text_column = "act";
    dp.completion_column = "prompt";
    ptune_dataset *d = NULL, *eval = NULL;
    ptune_status s = ptune_dataset_load(f->model, f->csv_path, &dp, &d);
    if (!s) s = ptune_dataset_split(d, 0.5, 1, &eval);
    ptune_dataset_free(eval);
    ptune_dataset_free(d);
    return s;
}

static void test_allocation_failures(void **state)
{
    (void)state;
    fixture f = {0};
    f.model_path = pt_test_shared_path("models/aidreams260K.gguf");
    f.tokenizer_path = pt_test_shared_path("models/aidreams260K-hf/tokenizer.json");
    f.dir = pt_test_tmpdir();
    size_t n = strlen(f.dir) + 16;
    f.csv_path = malloc(n);
    assert_non_null(f.csv_path);
    snprintf(f.csv_path, n, "%s/d.csv", f.dir);
    static const char csv[] = "act,prompt\nLinux Terminal,I want you to act as a terminal.\n"
                              "Poet,\"I want you to act as a poet, \"\"really\"\".\"\n";
    pt_test_write_file(f.csv_path, csv, sizeof csv - 1);
    assert_int_equal(ptune_model_load(f.model_path, NULL, &f.model), PTUNE_OK);

    assert_true(sweep("model load (GGUF)", op_model_load, &f) > 10);
    assert_true(sweep("tokenizer.json load + encode", op_tokenizer_load_encode, &f) > 10);
    assert_true(sweep("training step + save + load", op_train_step, &f) > 10);
    assert_true(sweep("text generation with a prompt", op_generate, &f) > 10);
    assert_true(sweep("dataset load + split", op_dataset, &f) > 5);

    ptune_model_free(f.model);
    pt_test_rmtree(f.dir);
    free(f.dir);
    free(f.csv_path);
    free(f.model_path);
    free(f.tokenizer_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
