/* The bad-input catalogue's cases that no format-specific test covers (docs/RELIABILITY.md lists
 * every case and where it is tested): a prompt saved for another model, a disk that fills up
 * while saving, directories and non-paths where files are expected, empty datasets, examples
 * longer than the context, a prompt plus sequence beyond the context, invalid UTF-8, NaN in a
 * prompt. Each checks the status, the message, and that no partial output is left behind. */
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptune/ptune.h"

static ptune_prompt *random_prompt(const ptune_model *m, int n_virtual)
{
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = n_virtual;
    pp.seed = 7;
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    return p;
}

static void expect(ptune_status got, ptune_status want, const char *needle)
{
    if (got != want) fail_msg("status %d, expected %d (%s)", got, want, ptune_last_error());
    if (!strstr(ptune_last_error(), needle)) fail_msg("message \"%s\" lacks \"%s\"", ptune_last_error(), needle);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

/* A prompt trained for one model, loaded onto a model of another width. */
static void test_prompt_for_another_model(void **state)
{
    (void)state;
    ptune_model *a = pt_test_load_model("models/aidreams260K.gguf"), *b = pt_test_load_model("fixtures/models/tiny-bloom"); /* 64 vs 72 wide */
    assert_true(ptune_model_n_embd(a) != ptune_model_n_embd(b));
    char *dir = pt_test_tmpdir();
    ptune_prompt *p = random_prompt(a, 4);
    assert_int_equal(ptune_prompt_save(p, dir), PTUNE_OK);
    ptune_prompt *q = NULL;
    ptune_status s = ptune_prompt_load(b, dir, &q);
    assert_int_not_equal(s, PTUNE_OK);
    assert_null(q);
    char want[64];
    snprintf(want, sizeof want, "%d", ptune_model_n_embd(a));
    if (!strstr(ptune_last_error(), want)) fail_msg("message \"%s\" does not give the prompt's width", ptune_last_error());
    ptune_prompt_free(p);
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(a);
    ptune_model_free(b);
}

/* The disk fills up while saving (simulated with RLIMIT_FSIZE in a child process): the save
 * fails with PTUNE_E_IO and leaves neither the file nor its temporary behind. */
static void test_disk_full_while_saving(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    ptune_prompt *p = random_prompt(m, 64); /* 64 × n_embd floats: far above the 4 KiB limit */
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.total_steps = 10;
    ptune_optimizer *o = NULL;
    assert_int_equal(ptune_optimizer_new(&op, p, &o), PTUNE_OK);
    char *dir = pt_test_tmpdir();
    char adapter[4200], opt_path[4200];
    snprintf(adapter, sizeof adapter, "%s/adapter", dir);
    snprintf(opt_path, sizeof opt_path, "%s/optimizer.safetensors", dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN); /* writes past the limit fail with EFBIG instead of killing */
        struct rlimit rl = {4096, 4096};
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
        if (ptune_prompt_save(p, adapter) != PTUNE_E_IO) _exit(11);
        if (!strstr(ptune_last_error(), "adapter")) _exit(12);
        if (ptune_optimizer_save(o, opt_path) != PTUNE_E_IO) _exit(13);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* nothing half-written: no optimizer file, no temporary, no weights in the adapter dir */
    struct stat st;
    assert_true(stat(opt_path, &st) != 0);
    char weights[4300];
    snprintf(weights, sizeof weights, "%s/adapter_model.safetensors", adapter);
    assert_true(stat(weights, &st) != 0);
    assert_true(count_entries(dir) <= 1); /* at most the (empty or config-only) adapter directory */
    if (count_entries(adapter) > 0) {
        /* only a complete adapter_config.json may exist; no temporaries */
        DIR *d = opendir(adapter);
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') assert_string_equal(e->d_name, "adapter_config.json");
        closedir(d);
    }
    ptune_optimizer_free(o);
    ptune_prompt_free(p);
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(m);
}

/* Directories where files are expected, and paths through a regular file. */
static void test_directories_and_non_paths(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    char *dir = pt_test_tmpdir();
    ptune_tokenizer *t = NULL;
    expect(ptune_tokenizer_load(dir, &t), PTUNE_E_IO, dir);
    ptune_dataset *d = NULL;
    expect(ptune_dataset_load(m, dir, NULL, &d), PTUNE_E_IO, dir);
    assert_null(d);
    char file[4200], below[4300];
    snprintf(file, sizeof file, "%s/plain", dir);
    pt_test_write_file(file, "x", 1);
    snprintf(below, sizeof below, "%s/model.gguf", file);
    ptune_model *none = NULL;
    expect(ptune_model_load(below, NULL, &none), PTUNE_E_IO, below);
    assert_null(none);
    ptune_prompt *p = NULL;
    assert_int_not_equal(ptune_prompt_load(m, below, &p), PTUNE_OK);
    assert_null(p);
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(m);
}

/* Empty datasets: an empty CSV (no header), a header without rows, an empty text file. */
static void test_empty_datasets(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    char *dir = pt_test_tmpdir();
    const struct {
        const char *name, *content, *needle;
    } cases[] = {
        {"empty.csv", "", "empty CSV file"},
        {"header.csv", "text\n", "empty dataset"},
        {"empty.txt", "", "empty dataset"},
        {"blank.jsonl", "\n\n", "empty dataset"},
        {"empty.jsonl", "", "empty dataset"}, /* fuzz_dataset: a 0-byte file maps to NULL */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, cases[i].name);
        pt_test_write_file(path, cases[i].content, strlen(cases[i].content));
        ptune_dataset *d = NULL;
        expect(ptune_dataset_load(m, path, NULL, &d), PTUNE_E_FORMAT, cases[i].needle);
        assert_null(d);
    }
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(m);
}

/* A prompt plus a sequence beyond the model's context: PTUNE_E_CAPACITY with both numbers. */
static void test_prompt_and_sequence_beyond_context(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    const int32_t n_ctx = ptune_model_n_ctx(m), len = n_ctx - 2;
    assert_true(n_ctx > 8);
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 2 * n_ctx;
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);
    ptune_prompt *p = random_prompt(m, 4);
    int32_t *ids = calloc((size_t)len, sizeof(int32_t));
    assert_non_null(ids);
    const int32_t *seqs[1] = {ids};
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    char want[64];
    snprintf(want, sizeof want, "context is %d", n_ctx);
    expect(ptune_forward(c, p, &b), PTUNE_E_CAPACITY, want);
    double loss;
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_E_STATE); /* no partial result */
    free(ids);
    ptune_prompt_free(p);
    ptune_ctx_free(c);
    ptune_model_free(m);
}

/* Examples longer than the context after the virtual tokens: the trainer refuses them up front. */
static void test_example_longer_than_context(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    char *dir = pt_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/long.txt", dir);
    const size_t n = 20000;
    char *text = malloc(n + 2);
    assert_non_null(text);
    for (size_t i = 0; i < n; i++) text[i] = i % 6 == 5 ? ' ' : "abcde"[i % 5];
    memcpy(text + n, "\n", 2);
    pt_test_write_file(path, text, n + 1);
    free(text);
    ptune_dataset *d = NULL;
    assert_int_equal(ptune_dataset_load(m, path, NULL, &d), PTUNE_OK);
    ptune_prompt *p = random_prompt(m, 4);
    ptune_trainer *t = NULL;
    expect(ptune_trainer_new(m, p, d, NULL, NULL, &t), PTUNE_E_CAPACITY, "context");
    assert_null(t);
    ptune_prompt_free(p);
    ptune_dataset_free(d);
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(m);
}

/* Invalid UTF-8 is refused with its byte offset; NaN in a prompt stops the forward pass. */
static void test_invalid_utf8_and_nan_prompt(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    int32_t ids[64], n = 0;
    static const char bad[] = "good \xff\xfe";
    expect(ptune_tokenize(m, bad, sizeof bad - 1, true, ids, 64, &n), PTUNE_E_INVALID_ARG, "5");
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, NULL, &c), PTUNE_OK);
    ptune_prompt *p = random_prompt(m, 2);
    ptune_prompt_values(p)[3] = NAN;
    const int32_t one[2] = {1, 2}, len = 2;
    const int32_t *seqs[1] = {one};
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    expect(ptune_forward(c, p, &b), PTUNE_E_NUMERIC, "not finite");
    ptune_prompt_free(p);
    ptune_ctx_free(c);
    ptune_model_free(m);
}

/* A run whose updates overflow (lr 3e38: a few steps push prompt values past FLT_MAX): the
 * failing step returns PTUNE_E_NUMERIC, leaves the prompt exactly as the last good step left it,
 * and the newest checkpoint is that last good step, from which a new trainer resumes. */
static void test_nan_loss_keeps_last_good_state(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("models/aidreams260K.gguf");
    char *dir = pt_test_tmpdir();
    char csv[4200], ckdir[4200];
    snprintf(csv, sizeof csv, "%s/d.csv", dir);
    snprintf(ckdir, sizeof ckdir, "%s/checkpoints", dir);
    static const char data[] = "text\nI want you to act as a logistician.\nI want you to act as a poet.\n"
                               "I want you to act as a terminal.\nI want you to act as a chef.\n";
    pt_test_write_file(csv, data, sizeof data - 1);
    ptune_dataset *d = NULL;
    assert_int_equal(ptune_dataset_load(m, csv, NULL, &d), PTUNE_OK);
    ptune_prompt *p = random_prompt(m, 4);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 3e38f;
    op.max_grad_norm = 0.0f;
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.max_steps = 40;
    tp.batch_size = 2;
    tp.n_threads = 1;
    tp.optimizer = &op;
    tp.checkpoint_dir = ckdir;
    tp.checkpoint_every = 1;
    ptune_trainer *t = NULL;
    assert_int_equal(ptune_trainer_new(m, p, d, NULL, &tp, &t), PTUNE_OK);
    const size_t bytes = sizeof(float) * 4 * (size_t)ptune_model_n_embd(m);
    float *before = malloc(bytes);
    assert_non_null(before);
    ptune_status s = PTUNE_OK;
    int64_t good = 0;
    for (int i = 0; i < 40 && s == PTUNE_OK; i++) {
        memcpy(before, ptune_prompt_values(p), bytes);
        s = ptune_trainer_step(t);
        if (s == PTUNE_OK) good = ptune_trainer_progress(t)->step;
    }
    expect(s, PTUNE_E_NUMERIC, "unchanged");
    assert_true(good >= 1);
    assert_memory_equal(before, ptune_prompt_values(p), bytes); /* the failed step changed nothing */
    char newest[4300];
    snprintf(newest, sizeof newest, "%s/checkpoint-%lld", ckdir, (long long)good);
    struct stat st;
    assert_int_equal(stat(newest, &st), 0);
    ptune_trainer_free(t);
    /* a fresh trainer resumes from the last good checkpoint */
    ptune_prompt *p2 = random_prompt(m, 4);
    assert_int_equal(ptune_trainer_new(m, p2, d, NULL, &tp, &t), PTUNE_OK);
    assert_int_equal(ptune_trainer_resume(t, newest), PTUNE_OK);
    assert_int_equal(ptune_trainer_progress(t)->step, good);
    assert_memory_equal(before, ptune_prompt_values(p2), bytes);
    ptune_trainer_free(t);
    ptune_prompt_free(p2);
    free(before);
    ptune_prompt_free(p);
    ptune_dataset_free(d);
    pt_test_rmtree(dir);
    free(dir);
    ptune_model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prompt_for_another_model),
        cmocka_unit_test(test_disk_full_while_saving),
        cmocka_unit_test(test_directories_and_non_paths),
        cmocka_unit_test(test_empty_datasets),
        cmocka_unit_test(test_prompt_and_sequence_beyond_context),
        cmocka_unit_test(test_example_longer_than_context),
        cmocka_unit_test(test_invalid_utf8_and_nan_prompt),
        cmocka_unit_test(test_nan_loss_keeps_last_good_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
