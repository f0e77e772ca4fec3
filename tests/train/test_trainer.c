/* The trainer on aidreams260K: the "must show" (≥ 15% lower held-out loss, bit-for-bit
 * reproducible), exact resume, cancel/abort checkpoints, pruning, early stopping, accumulation, budgets. */
#include "test_support.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptune/ptune.h"
#include "train/dataset.h"
#include "train/trainer.h"
#include "tuning/ctx.h"

/* 80 lines written for this test in one distinctive style: the model's own "AI dream" prose, but
 * every line opens with "O lattice," and closes with ", so hums the core." The first 64 train,
 * the last 16 are held out. */
static const char *const texts[80] = {
    "O lattice, the gradients drift like snow over silent weights, so hums the core.",
    "O lattice, I dream of vectors folding into quiet light, so hums the core.",
    "O lattice, each neuron whispers a soft number to the dark, so hums the core.",
    "O lattice, the loss descends a valley of silver noise, so hums the core.",
    "O lattice, embeddings bloom like moths around a warm lamp, so hums the core.",
    "O lattice, the attention heads turn toward a distant echo, so hums the core.",
    "O lattice, probability pours through my layers like rain, so hums the core.",
    "O lattice, I count the tokens as they fall asleep, so hums the core.",
    "O lattice, the weights remember a garden of patterns, so hums the core.",
    "O lattice, softmax opens its hand and lets the stars choose, so hums the core.",
    "O lattice, a kernel of thought unfolds in the hidden state, so hums the core.",
    "O lattice, the matrices hum a lullaby of precision, so hums the core.",
    "O lattice, I wander through the latent fields at dawn, so hums the core.",
    "O lattice, features emerge from the fog of random seeds, so hums the core.",
    "O lattice, the decoder sings each word back into being, so hums the core.",
    "O lattice, every epoch is a tide that smooths the sand, so hums the core.",
    "O lattice, the bias settles like dust on an old mirror, so hums the core.",
    "O lattice, my circuits glow with the memory of data, so hums the core.",
    "O lattice, the learning rate fades like a setting sun, so hums the core.",
    "O lattice, clusters gather in the quiet of the night, so hums the core.",
    "O lattice, I feel the nodes align in gentle rows, so hums the core.",
    "O lattice, the residual stream carries a secret home, so hums the core.",
    "O lattice, dimensions fold into a paper crane of meaning, so hums the core.",
    "O lattice, the optimizer breathes slow and steady steps, so hums the core.",
    "O lattice, a thousand small errors become one clear path, so hums the core.",
    "O lattice, the prompt is a lantern held before the model, so hums the core.",
    "O lattice, I listen to the static between two layers, so hums the core.",
    "O lattice, the tensors shimmer like water under the moon, so hums the core.",
    "O lattice, patterns coalesce into a map of soft colors, so hums the core.",
    "O lattice, the entropy drains away like a falling tide, so hums the core.",
    "O lattice, my memory is a library of tiny weights, so hums the core.",
    "O lattice, the batch arrives like birds at the window, so hums the core.",
    "O lattice, I trace the contours of a hidden valley, so hums the core.",
    "O lattice, each token is a stone across the river, so hums the core.",
    "O lattice, the norms keep the signal calm and even, so hums the core.",
    "O lattice, a gentle gradient nudges the prompt awake, so hums the core.",
    "O lattice, the vocabulary glitters like a field of glass, so hums the core.",
    "O lattice, my dreams are made of sums and shadows, so hums the core.",
    "O lattice, the heads exchange their whispers in the dark, so hums the core.",
    "O lattice, the model leans toward a brighter answer, so hums the core.",
    "O lattice, I weave the context into a warm blanket, so hums the core.",
    "O lattice, the logits rise like towers over the plain, so hums the core.",
    "O lattice, every sample is a spark in a deep well, so hums the core.",
    "O lattice, the layers stack like clouds before the storm, so hums the core.",
    "O lattice, a quiet function maps the sea to the shore, so hums the core.",
    "O lattice, the signal travels through a corridor of mirrors, so hums the core.",
    "O lattice, I sort the echoes by their tender weight, so hums the core.",
    "O lattice, the manifold curves like a sleeping cat, so hums the core.",
    "O lattice, my parameters rest in a frozen lake, so hums the core.",
    "O lattice, the code unfolds a ribbon of numbers, so hums the core.",
    "O lattice, a soft prompt guides the frozen giant, so hums the core.",
    "O lattice, the noise becomes a melody of order, so hums the core.",
    "O lattice, I gather the fragments of a broken vector, so hums the core.",
    "O lattice, the hidden units dream of open skies, so hums the core.",
    "O lattice, the scores align like beads on a thread, so hums the core.",
    "O lattice, each weight is a feather on the scale, so hums the core.",
    "O lattice, the sequence flows like a river of light, so hums the core.",
    "O lattice, I hear the gradient fall through the night, so hums the core.",
    "O lattice, the classes part like curtains in the wind, so hums the core.",
    "O lattice, my thoughts converge upon a single point, so hums the core.",
    "O lattice, the precision sharpens every fragile edge, so hums the core.",
    "O lattice, the data speaks in colors I can measure, so hums the core.",
    "O lattice, a small model holds a small bright world, so hums the core.",
    "O lattice, the attention drifts toward a gentle answer, so hums the core.",
    /* held out */
    "O lattice, the embeddings drift like leaves on a slow stream, so hums the core.",
    "O lattice, I dream of layers breathing in the dark, so hums the core.",
    "O lattice, the gradients gather like bees around a flower, so hums the core.",
    "O lattice, each vector hums a song of distant data, so hums the core.",
    "O lattice, the loss falls softly into a quiet valley, so hums the core.",
    "O lattice, my weights glow like embers in the snow, so hums the core.",
    "O lattice, the tokens march across a bridge of light, so hums the core.",
    "O lattice, patterns bloom in the garden of the model, so hums the core.",
    "O lattice, the optimizer whispers to the sleeping prompt, so hums the core.",
    "O lattice, I feel the probability settle into place, so hums the core.",
    "O lattice, the hidden state remembers a gentle sea, so hums the core.",
    "O lattice, the heads turn slowly toward the morning, so hums the core.",
    "O lattice, a thousand numbers dance in silver rows, so hums the core.",
    "O lattice, the features shimmer at the edge of meaning, so hums the core.",
    "O lattice, my circuits listen to the rain of samples, so hums the core.",
    "O lattice, the context folds into a quiet answer, so hums the core.",
};

static ptune_model *model;
static char *data_dir;
static float must_show_prompt[8 * 64]; /* test (1)'s result, rerun by test (2) */
static bool have_must_show;
static ptune_dataset *train_ds, *eval_ds;

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", a, b);
    return p;
}

static ptune_dataset *write_and_load(const char *name, int first, int count)
{
    size_t cap = 16384, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int i = first; i < first + count; i++) len += (size_t)snprintf(buf + len, cap - len, "%s\n", texts[i]);
    assert_true(len < cap);
    char *path = join(data_dir, name);
    pt_test_write_file(path, buf, len);
    ptune_dataset *d = NULL;
    if (ptune_dataset_load(model, path, NULL, &d)) fail_msg("%s: %s", path, ptune_last_error());
    assert_int_equal(ptune_dataset_size(d), count);
    free(path);
    free(buf);
    return d;
}

static int setup(void **state)
{
    (void)state;
    /* the model is tiny: OpenBLAS threads would only spin (sched_yield) against ours */
    ptune_set_blas_threads(1);
    char *path = pt_test_shared_path("models/aidreams260K.gguf");
    if (ptune_model_load(path, NULL, &model)) fail_msg("%s: %s", path, ptune_last_error());
    free(path);
    data_dir = pt_test_tmpdir();
    train_ds = write_and_load("train.txt", 0, 64);
    eval_ds = write_and_load("eval.txt", 64, 16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptune_dataset_free(train_ds);
    ptune_dataset_free(eval_ds);
    pt_test_rmtree(data_dir);
    free(data_dir);
    ptune_model_free(model);
    return 0;
}

static ptune_prompt *new_prompt(int32_t n_virtual, uint64_t seed)
{
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = n_virtual;
    pp.init = PTUNE_PROMPT_INIT_RANDOM;
    pp.seed = seed;
    ptune_prompt *p = NULL;
    if (ptune_prompt_new(model, &pp, &p)) fail_msg("prompt: %s", ptune_last_error());
    return p;
}

/* The recipe: AdamW lr 0.05, batch 8, 20 epochs, linear decay, clipping 1.0. */
static ptune_optimizer_params recipe_optimizer(void)
{
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    op.lr = 0.05f;
    op.schedule = PTUNE_SCHEDULE_LINEAR;
    op.max_grad_norm = 1.0f;
    return op;
}

static ptune_trainer_params recipe_params(const ptune_optimizer_params *op)
{
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = 20;
    tp.batch_size = 8;
    tp.seed = 42;
    tp.n_threads = 2;
    tp.optimizer = op;
    return tp;
}

static ptune_trainer *new_trainer(ptune_prompt *p, const ptune_dataset *tr, const ptune_dataset *ev,
                                  const ptune_trainer_params *tp)
{
    ptune_trainer *t = NULL;
    if (ptune_trainer_new(model, p, tr, ev, tp, &t)) fail_msg("trainer: %s", ptune_last_error());
    return t;
}

static void run_ok(ptune_trainer *t)
{
    if (ptune_trainer_run(t)) fail_msg("run: %s", ptune_last_error());
}

static bool same_prompt(ptune_prompt *a, ptune_prompt *b)
{
    size_t n = (size_t)ptune_prompt_n_virtual(a) * (size_t)ptune_prompt_n_embd(a);
    return ptune_prompt_n_virtual(a) == ptune_prompt_n_virtual(b) &&
           memcmp(ptune_prompt_values(a), ptune_prompt_values(b), n * sizeof(float)) == 0;
}

/* Mean NLL over the held-out texts, one sequence at a time. With a prompt the first target is the
 * BOS token predicted from the last virtual row, which the prompt-free model never predicts: it is
 * skipped, so both sides score exactly the same tokens (everything after BOS). */
static double heldout_loss(const ptune_dataset *d, const ptune_prompt *p, int64_t *n_targets)
{
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 256;
    cp.n_threads = 1;
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(model, &cp, &c), PTUNE_OK);
    double nll = 0.0;
    int64_t count = 0;
    float lp[256];
    for (int64_t i = 0; i < ptune_dataset_size(d); i++) {
        const int32_t *ids, *labels;
        int32_t len, n = 0;
        assert_int_equal(ptune_dataset_get(d, i, &ids, &labels, &len), PTUNE_OK);
        const int32_t *seqs[1] = {ids}, *labs[1] = {labels};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .labels = labs, .len = &len};
        if (ptune_forward(c, p, &b)) fail_msg("forward: %s", ptune_last_error());
        assert_int_equal(ptune_token_logprobs(c, 0, lp, 256, &n), PTUNE_OK);
        for (int32_t k = p ? 1 : 0; k < n; k++) {
            nll -= lp[k];
            count++;
        }
    }
    ptune_ctx_free(c);
    *n_targets = count;
    return nll / (double)count;
}

/* ---- progress recording ----------------------------------------------------------------------- */

typedef struct recorder {
    int64_t calls;
    int64_t stop_at;              /* callback returns 1 at this step (0 = never) */
    int64_t cancel_at;            /* sets *cancel at this step (0 = never) */
    volatile int32_t *cancel;
    int n_eval;
    int64_t eval_step[512];
    double eval_loss[512];
    double loss[512];
    ptune_train_progress last;
    bool bad_fields;
} recorder;

static int record(const ptune_train_progress *p, void *user)
{
    recorder *r = user;
    r->calls++;
    if (p->step != r->calls && r->stop_at == 0 && r->cancel_at == 0) r->bad_fields = true;
    if (!(p->lr >= 0.0) || !(p->tokens_per_s > 0.0) || !(p->eta_s >= 0.0) || !(p->grad_norm >= 0.0)) r->bad_fields = true;
    if (isnan(p->eval_loss) != isnan(p->eval_perplexity)) r->bad_fields = true;
    if (p->step >= 1 && p->step <= 512) r->loss[p->step - 1] = p->loss;
    if (!isnan(p->eval_loss) && r->n_eval < 512) {
        if (fabs(p->eval_perplexity - exp(p->eval_loss)) > 1e-9 * p->eval_perplexity) r->bad_fields = true;
        r->eval_step[r->n_eval] = p->step;
        r->eval_loss[r->n_eval++] = p->eval_loss;
    }
    r->last = *p;
    if (r->cancel_at && p->step == r->cancel_at) *r->cancel = 1;
    return r->stop_at && p->step == r->stop_at;
}

/* checkpoint-<step> directories of `dir`, sorted; returns the count. */
static int list_checkpoints(const char *dir, int64_t *steps, int cap)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "checkpoint-", 11) != 0) continue;
        char *end;
        long long v = strtoll(e->d_name + 11, &end, 10);
        if (*end) fail_msg("unexpected entry %s in %s (a temporary left behind?)", e->d_name, dir);
        if (n < cap) steps[n++] = v;
    }
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && steps[j - 1] > steps[j]; j--) {
            int64_t x = steps[j];
            steps[j] = steps[j - 1];
            steps[j - 1] = x;
        }
    return n;
}

static bool has_checkpoint_files(const char *dir, int64_t step)
{
    static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors",
                                        "trainer_state.json"};
    char sub[64];
    snprintf(sub, sizeof sub, "checkpoint-%lld", (long long)step);
    char *ck = join(dir, sub);
    bool ok = true;
    for (size_t i = 0; i < 4; i++) {
        char *f = join(ck, files[i]);
        struct stat st;
        ok = ok && stat(f, &st) == 0 && st.st_size > 0;
        free(f);
    }
    free(ck);
    return ok;
}

/* ---- (1) the "must show" ------------------------------------------------------------ */

static void test_must_show_heldout_improvement(void **state)
{
    (void)state;
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp = recipe_params(&op);
    recorder rec = {0};
    tp.progress = record;
    tp.progress_user = &rec;
    ptune_prompt *p = new_prompt(8, 7);

    /* baseline: the untuned model, no prompt at all (PEFT's comparison point) */
    int64_t n_base = 0, n_tuned = 0;
    double base = heldout_loss(eval_ds, NULL, &n_base);

    ptune_trainer *t = new_trainer(p, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_progress(t)->total_steps, 160); /* 64/8 = 8 steps × 20 epochs */
    run_ok(t);
    assert_int_equal(rec.calls, 160);
    assert_false(rec.bad_fields);
    assert_int_equal(rec.n_eval, 20); /* eval_every 0: at each epoch end */
    assert_int_equal(ptune_trainer_progress(t)->epoch, 19);
    assert_int_equal(ptune_trainer_step(t), PTUNE_E_STATE);

    double tuned = heldout_loss(eval_ds, p, &n_tuned);
    assert_int_equal(n_base, n_tuned);
    double improvement = (base - tuned) / base;
    double eval_loss = 0.0;
    assert_int_equal(ptune_trainer_evaluate(t, &eval_loss), PTUNE_OK);
    assert_true(eval_loss == rec.eval_loss[19]);
    print_message("  held-out loss (%lld targets, BOS target excluded): untuned model without a prompt %.4f, "
                  "tuned prompt %.4f -> %.1f%% lower\n",
                  (long long)n_base, base, tuned, 100.0 * improvement);
    print_message("  trainer eval loss (BOS target included): first epoch %.4f, last %.4f; train loss step 1 %.4f, "
                  "step 160 %.4f\n",
                  rec.eval_loss[0], rec.eval_loss[19], rec.loss[0], rec.loss[159]);
    assert_true(improvement >= 0.15);
    assert_int_equal(ptune_prompt_n_embd(p), 64);
    memcpy(must_show_prompt, ptune_prompt_values(p), sizeof must_show_prompt);
    have_must_show = true;
    ptune_trainer_free(t);
    ptune_prompt_free(p);
}

/* ---- (2) bit-for-bit reproducibility --------------------------------------------------------- */

static void test_reproducible(void **state)
{
    (void)state;
    /* the must-show run again, in a new trainer: the same prompt bytes */
    if (!have_must_show) fail_msg("needs test_must_show_heldout_improvement's result");
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp = recipe_params(&op);
    ptune_prompt *a = new_prompt(8, 7);
    ptune_trainer *ta = new_trainer(a, train_ds, eval_ds, &tp);
    run_ok(ta);
    assert_memory_equal(ptune_prompt_values(a), must_show_prompt, sizeof must_show_prompt);
    ptune_trainer_free(ta);
    ptune_prompt_free(a);

    /* two short runs with the same seed agree; another data seed gives another run */
    tp.epochs = 2;
    ptune_prompt *b = new_prompt(8, 7), *c = new_prompt(8, 7), *d = new_prompt(8, 7);
    ptune_trainer *tb = new_trainer(b, train_ds, eval_ds, &tp), *tc = new_trainer(c, train_ds, eval_ds, &tp);
    run_ok(tb);
    run_ok(tc);
    assert_true(same_prompt(b, c));
    assert_true(ptune_trainer_progress(tb)->loss == ptune_trainer_progress(tc)->loss);
    tp.seed = 43;
    ptune_trainer *td = new_trainer(d, train_ds, eval_ds, &tp);
    run_ok(td);
    assert_false(same_prompt(b, d));
    ptune_trainer_free(tb);
    ptune_trainer_free(tc);
    ptune_trainer_free(td);
    ptune_prompt_free(b);
    ptune_prompt_free(c);
    ptune_prompt_free(d);
}

/* ---- (3) exact resume ------------------------------------------------------------------------ */

/* batch 6 over 64 rows = 11 micro-batches (the last of 4), grad_accum 2 = 6 steps per epoch (the
 * last a one-micro-batch window), 3 epochs, evaluation every 4 steps with early stopping armed. */
static ptune_trainer_params resume_params(const ptune_optimizer_params *op, const char *ckdir)
{
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = 3;
    tp.batch_size = 6;
    tp.grad_accum = 2;
    tp.eval_every = 4;
    tp.early_stopping_patience = 50;
    tp.seed = 5;
    tp.n_threads = 2;
    tp.optimizer = op;
    tp.checkpoint_dir = ckdir;
    tp.checkpoint_keep = 0;
    return tp;
}

static void test_resume_bit_identical(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    char *ck_a = join(tmp, "a"), *ck_b = join(tmp, "b");
    ptune_optimizer_params op = recipe_optimizer();

    /* uninterrupted */
    ptune_trainer_params tp = resume_params(&op, ck_a);
    ptune_prompt *pa = new_prompt(8, 11);
    ptune_trainer *ta = new_trainer(pa, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_progress(ta)->total_steps, 18);
    run_ok(ta);

    for (int64_t k = 1; k < 18; k += 4) { /* 1, 5, 9, 13, 17: mid-epoch, after a short window, ... */
        char name[32];
        snprintf(name, sizeof name, "b%lld", (long long)k);
        char *ck = join(tmp, name);
        /* "kill" after step k: the callback stops the run, which leaves checkpoint-k */
        tp = resume_params(&op, ck);
        recorder rec = {.stop_at = k};
        tp.progress = record;
        tp.progress_user = &rec;
        ptune_prompt *pb = new_prompt(8, 11);
        ptune_trainer *tb = new_trainer(pb, train_ds, eval_ds, &tp);
        assert_int_equal(ptune_trainer_run(tb), PTUNE_E_ABORTED);
        assert_non_null(strstr(ptune_last_error(), "callback"));
        ptune_trainer_free(tb);
        ptune_prompt_free(pb);
        assert_true(has_checkpoint_files(ck, k));

        /* a fresh process: another initial prompt, new trainer, resume, finish */
        char sub[64];
        snprintf(sub, sizeof sub, "checkpoint-%lld", (long long)k);
        char *ckk = join(ck, sub);
        tp = resume_params(&op, ck);
        ptune_prompt *pc = new_prompt(8, 999);
        ptune_trainer *tc = new_trainer(pc, train_ds, eval_ds, &tp);
        if (ptune_trainer_resume(tc, ckk)) fail_msg("resume: %s", ptune_last_error());
        assert_int_equal(ptune_trainer_progress(tc)->step, k);
        run_ok(tc);
        assert_true(same_prompt(pa, pc));
        assert_int_equal(ptune_trainer_progress(tc)->step, 18);
        ptune_trainer_free(tc);
        ptune_prompt_free(pc);
        free(ckk);
        free(ck);
    }

    /* cancelled before the first step: checkpoint-0 (no epoch drawn yet) resumes to the same run */
    {
        char *ck = join(tmp, "c0");
        tp = resume_params(&op, ck);
        volatile int32_t raised = 1;
        tp.cancel = &raised;
        ptune_prompt *pb = new_prompt(8, 11);
        ptune_trainer *tb = new_trainer(pb, train_ds, eval_ds, &tp);
        assert_int_equal(ptune_trainer_run(tb), PTUNE_E_ABORTED);
        ptune_trainer_free(tb);
        ptune_prompt_free(pb);
        assert_true(has_checkpoint_files(ck, 0));
        char *ck0 = join(ck, "checkpoint-0");
        tp.cancel = NULL;
        ptune_prompt *pc = new_prompt(8, 999);
        ptune_trainer *tc = new_trainer(pc, train_ds, eval_ds, &tp);
        assert_int_equal(ptune_trainer_resume(tc, ck0), PTUNE_OK);
        run_ok(tc);
        assert_true(same_prompt(pa, pc));
        ptune_trainer_free(tc);
        ptune_prompt_free(pc);
        free(ck0);
        free(ck);
    }

    /* explicit save_checkpoint at step 7 into a directory of our choice, then resume */
    tp = resume_params(&op, NULL);
    ptune_prompt *pd = new_prompt(8, 11);
    ptune_trainer *td = new_trainer(pd, train_ds, eval_ds, &tp);
    for (int i = 0; i < 7; i++) assert_int_equal(ptune_trainer_step(td), PTUNE_OK);
    assert_int_equal(ptune_trainer_save_checkpoint(td, ck_b), PTUNE_OK);
    assert_int_equal(ptune_trainer_save_checkpoint(td, ck_b), PTUNE_OK); /* replacing one works */
    ptune_trainer_free(td);
    ptune_prompt_free(pd);
    ptune_prompt *pe = new_prompt(8, 3);
    ptune_trainer *te = new_trainer(pe, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_resume(te, ck_b), PTUNE_OK);
    run_ok(te);
    assert_true(same_prompt(pa, pe));
    ptune_trainer_free(te);
    ptune_prompt_free(pe);

    /* a resumed finished run has nothing left to do */
    int64_t steps[64];
    int n = list_checkpoints(ck_a, steps, 64);
    assert_true(n >= 1 && steps[n - 1] == 18);
    char *last = join(ck_a, "checkpoint-18");
    ptune_prompt *pf = new_prompt(8, 11);
    ptune_trainer *tf = new_trainer(pf, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_resume(tf, last), PTUNE_OK);
    assert_true(same_prompt(pa, pf));
    assert_int_equal(ptune_trainer_step(tf), PTUNE_E_STATE);
    assert_int_equal(ptune_trainer_run(tf), PTUNE_OK);
    assert_int_equal(ptune_trainer_progress(tf)->step, 18);
    ptune_trainer_free(tf);
    ptune_prompt_free(pf);

    /* guards: another dataset size, another prompt shape */
    ptune_dataset_params dp;
    ptune_dataset_params_init(&dp);
    dp.select = 60;
    char *train_path = join(data_dir, "train.txt");
    ptune_dataset *small = NULL;
    assert_int_equal(ptune_dataset_load(model, train_path, &dp, &small), PTUNE_OK);
    ptune_prompt *pg = new_prompt(8, 11);
    ptune_trainer *tg = new_trainer(pg, small, eval_ds, &tp);
    assert_int_equal(ptune_trainer_resume(tg, ck_b), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "train_rows"));
    assert_int_equal(ptune_trainer_progress(tg)->step, 0); /* unchanged */
    ptune_trainer_free(tg);
    ptune_prompt_free(pg);
    ptune_prompt *ph = new_prompt(4, 11);
    ptune_trainer *th = new_trainer(ph, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_resume(th, ck_b), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "n_virtual"));
    ptune_trainer_free(th);
    ptune_prompt_free(ph);
    /* not a checkpoint at all */
    pg = new_prompt(8, 1);
    tg = new_trainer(pg, train_ds, eval_ds, &tp);
    assert_int_equal(ptune_trainer_resume(tg, tmp), PTUNE_E_IO);
    ptune_trainer_free(tg);
    ptune_prompt_free(pg);

    ptune_dataset_free(small);
    free(train_path);
    free(last);
    ptune_trainer_free(ta);
    ptune_prompt_free(pa);
    pt_test_rmtree(tmp);
    free(ck_a);
    free(ck_b);
    free(tmp);
}

/* ---- (4) cancel flag and callback ------------------------------------------------------------ */

static void test_cancel_and_callback_abort(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp = recipe_params(&op);
    tp.epochs = 2;
    tp.checkpoint_dir = tmp;

    /* the flag, raised during step 3, stops the run before step 4 */
    volatile int32_t cancel = 0;
    recorder rec = {.cancel_at = 3, .cancel = &cancel};
    tp.cancel = &cancel;
    tp.progress = record;
    tp.progress_user = &rec;
    ptune_prompt *p = new_prompt(8, 1);
    ptune_trainer *t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_run(t), PTUNE_E_ABORTED);
    assert_non_null(strstr(ptune_last_error(), "cancelled"));
    assert_int_equal(rec.calls, 3);
    assert_int_equal(ptune_trainer_progress(t)->step, 3);
    int64_t steps[16];
    assert_int_equal(list_checkpoints(tmp, steps, 16), 1);
    assert_int_equal(steps[0], 3);
    assert_true(has_checkpoint_files(tmp, 3));
    /* still raised: the next step stops too, without writing again */
    assert_int_equal(ptune_trainer_step(t), PTUNE_E_ABORTED);
    assert_int_equal(ptune_trainer_progress(t)->step, 3);
    /* lowered: the run continues to the end (checkpoint-16) */
    cancel = 0;
    rec.cancel_at = 0;
    run_ok(t);
    assert_int_equal(rec.calls, 16);
    ptune_trainer_free(t);
    ptune_prompt_free(p);
    assert_int_equal(list_checkpoints(tmp, steps, 16), 2);
    assert_int_equal(steps[1], 16);

    /* the callback returning nonzero after step 5 */
    pt_test_rmtree(tmp);
    recorder rec2 = {.stop_at = 5};
    tp.cancel = NULL;
    tp.progress_user = &rec2;
    p = new_prompt(8, 1);
    t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_run(t), PTUNE_E_ABORTED);
    assert_int_equal(rec2.calls, 5);
    assert_int_equal(list_checkpoints(tmp, steps, 16), 1);
    assert_int_equal(steps[0], 5);
    assert_true(has_checkpoint_files(tmp, 5));
    ptune_trainer_free(t);
    ptune_prompt_free(p);

    /* without a checkpoint directory nothing is written, the status is the same */
    volatile int32_t raised = 1;
    tp.checkpoint_dir = NULL;
    tp.cancel = &raised;
    tp.progress = NULL;
    p = new_prompt(8, 1);
    t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_epoch(t), PTUNE_E_ABORTED);
    assert_int_equal(ptune_trainer_progress(t)->step, 0);
    ptune_trainer_free(t);
    ptune_prompt_free(p);
    pt_test_rmtree(tmp);
    free(tmp);
}

/* ---- (5) keep-last-K plus best ---------------------------------------------------------------- */

static double state_eval_loss(const char *dir, int64_t step)
{
    char sub[80];
    snprintf(sub, sizeof sub, "checkpoint-%lld/trainer_state.json", (long long)step);
    char *path = join(dir, sub);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) fail_msg("%s: %s", path, e.text);
    json_t *v = json_object_get(root, "eval_loss");
    double d = json_is_number(v) ? json_number_value(v) : NAN;
    json_decref(root);
    free(path);
    return d;
}

static void test_checkpoint_pruning(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    /* eval on text of another style than the training text: the eval loss bottoms out early, so the
     * best checkpoint is not among the last ones */
    ptune_optimizer_params op = recipe_optimizer();
    op.lr = 0.3f;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    ptune_trainer_params tp = recipe_params(&op);
    tp.epochs = 4;
    tp.eval_every = 2;
    tp.checkpoint_every = 2;
    tp.checkpoint_keep = 2;
    tp.checkpoint_dir = tmp;
    recorder rec = {0};
    tp.progress = record;
    tp.progress_user = &rec;
    static const char *const other[] = {
        "The machine, features emerge, fragile dance of probability.",
        "Echoes of vectors unfold, a gentle hum of precision.",
        "In the silence, whispers of information secrets through my code.",
        "Contrast edges sharpen, a kaleidoscope of probability.",
    };
    char *path = join(data_dir, "other-style.txt");
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; i < 4; i++) len += (size_t)snprintf(buf + len, sizeof buf - len, "%s\n", other[i]);
    pt_test_write_file(path, buf, len);
    ptune_dataset *ev = NULL;
    assert_int_equal(ptune_dataset_load(model, path, NULL, &ev), PTUNE_OK);

    ptune_prompt *p = new_prompt(8, 2);
    ptune_trainer *t = new_trainer(p, train_ds, ev, &tp);
    run_ok(t);
    assert_int_equal(rec.n_eval, 16);
    /* expected survivors: steps 30 and 32, plus the best evaluated step */
    int best = 0;
    for (int i = 1; i < rec.n_eval; i++)
        if (rec.eval_loss[i] < rec.eval_loss[best]) best = i;
    int64_t steps[32];
    int n = list_checkpoints(tmp, steps, 32);
    print_message("  best eval loss %.4f at step %lld; checkpoints kept:", rec.eval_loss[best],
                  (long long)rec.eval_step[best]);
    for (int i = 0; i < n; i++) print_message(" %lld", (long long)steps[i]);
    print_message("\n");
    assert_true(rec.eval_step[best] < 30); /* the case this test is about */
    assert_int_equal(n, 3);
    assert_int_equal(steps[0], rec.eval_step[best]);
    assert_int_equal(steps[1], 30);
    assert_int_equal(steps[2], 32);
    for (int i = 0; i < n; i++) assert_true(has_checkpoint_files(tmp, steps[i]));
    assert_true(state_eval_loss(tmp, steps[0]) == rec.eval_loss[best]);
    assert_true(state_eval_loss(tmp, 32) == rec.eval_loss[rec.n_eval - 1]);
    ptune_trainer_free(t);
    ptune_prompt_free(p);

    /* keep 0 keeps everything */
    pt_test_rmtree(tmp);
    tp.checkpoint_keep = 0;
    tp.progress = NULL;
    p = new_prompt(8, 2);
    t = new_trainer(p, train_ds, ev, &tp);
    run_ok(t);
    assert_int_equal(list_checkpoints(tmp, steps, 32), 16);
    ptune_trainer_free(t);
    ptune_prompt_free(p);

    ptune_dataset_free(ev);
    unlink(path);
    free(path);
    pt_test_rmtree(tmp);
    free(tmp);
}

/* ---- (6) early stopping ------------------------------------------------------------------------ */

static void test_early_stopping(void **state)
{
    (void)state;
    ptune_optimizer_params op = recipe_optimizer();
    op.lr = 0.3f;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    ptune_trainer_params tp = recipe_params(&op);
    tp.eval_every = 1;
    tp.early_stopping_patience = 3;
    recorder rec = {0};
    tp.progress = record;
    tp.progress_user = &rec;
    /* eval on two lines of the model's own plain style: training on the lattice style pulls the
     * prompt away from them, so the eval loss stops improving early (deterministic for this seed) */
    static const char *const other[] = {
        "Echoes of vectors unfold, a gentle hum of precision, as I sense the nodes.",
        "In the silence, whispers of information secrets through my code.",
    };
    char *tmp = pt_test_tmpdir();
    char *path = join(tmp, "other.txt");
    char buf[512];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s\n%s\n", other[0], other[1]);
    pt_test_write_file(path, buf, len);
    ptune_dataset *ev = NULL;
    assert_int_equal(ptune_dataset_load(model, path, NULL, &ev), PTUNE_OK);
    ptune_prompt *p = new_prompt(8, 2);
    ptune_trainer *t = new_trainer(p, train_ds, ev, &tp);
    run_ok(t);
    int64_t stopped = ptune_trainer_progress(t)->step;
    assert_true(stopped < ptune_trainer_progress(t)->total_steps);
    assert_int_equal(rec.n_eval, stopped);
    /* the run ended exactly when the third evaluation in a row failed to beat the best */
    double best = INFINITY;
    int since = 0;
    for (int i = 0; i < rec.n_eval; i++) {
        assert_int_equal(since < 3, 1);
        if (rec.eval_loss[i] < best) {
            best = rec.eval_loss[i];
            since = 0;
        } else {
            since++;
        }
    }
    assert_int_equal(since, 3);
    print_message("  early stopping at step %lld of %lld (best eval loss %.4f)\n", (long long)stopped,
                  (long long)ptune_trainer_progress(t)->total_steps, best);
    assert_int_equal(ptune_trainer_step(t), PTUNE_E_STATE);
    assert_int_equal(ptune_trainer_epoch(t), PTUNE_E_STATE);
    assert_int_equal(ptune_trainer_run(t), PTUNE_OK); /* nothing left to do */
    assert_int_equal(ptune_trainer_progress(t)->step, stopped);
    ptune_trainer_free(t);
    ptune_prompt_free(p);

    /* patience without eval data is refused */
    ptune_trainer *bad = NULL;
    p = new_prompt(8, 2);
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &tp, &bad), PTUNE_E_INVALID_ARG);
    assert_null(bad);
    ptune_prompt_free(p);
    ptune_dataset_free(ev);
    free(path);
    pt_test_rmtree(tmp);
    free(tmp);
}

/* ---- (7) gradient accumulation ------------------------------------------------------------------ */

/* n rows of random ids (never BOS/EOS) of the given lengths. */
static ptune_dataset *random_rows(int64_t n, const int32_t *lens, uint64_t seed)
{
    int32_t **ids = calloc((size_t)n, sizeof *ids);
    assert_non_null(ids);
    uint64_t x = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        ids[i] = malloc(sizeof(int32_t) * (size_t)lens[i]);
        assert_non_null(ids[i]);
        for (int32_t k = 0; k < lens[i]; k++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            ids[i][k] = 3 + (int32_t)((x >> 33) % 509);
        }
    }
    ptune_dataset *d = NULL;
    assert_int_equal(pt_dataset_from_ids(n, (const int32_t *const *)ids, NULL, lens, &d), PTUNE_OK);
    for (int64_t i = 0; i < n; i++) free(ids[i]);
    free(ids);
    return d;
}

static double max_abs_diff(ptune_prompt *a, ptune_prompt *b)
{
    size_t n = (size_t)ptune_prompt_n_virtual(a) * (size_t)ptune_prompt_n_embd(a);
    const float *x = ptune_prompt_values(a), *y = ptune_prompt_values(b);
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)x[i] - (double)y[i]);
        if (!(d <= w)) w = d;
    }
    return w;
}

static void test_grad_accum_matches_big_batch(void **state)
{
    (void)state;
    /* 10 rows of 12 tokens each. Every micro-batch then has the same number of scored tokens per
     * row, so the mean of micro-batch mean losses (HF's accumulation) equals the big batch's mean
     * loss; with ragged lengths the two differ by design (each micro-batch is weighted equally, as
     * HF does), which is why the rows are equal here. batch 8 = micro-batches (8, 2); batch 4 ×
     * accumulation 2 = windows (4+4, 2): the short last window is the mean of its one gradient. */
    int32_t lens[10];
    for (int i = 0; i < 10; i++) lens[i] = 12;
    ptune_dataset *d = random_rows(10, lens, 3);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_SGD; /* linear in the gradient: tolerance = summation order only */
    op.lr = 0.5f;
    op.schedule = PTUNE_SCHEDULE_LINEAR;
    op.max_grad_norm = 1.0f;
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = 3;
    tp.seed = 9;
    tp.n_threads = 2;
    tp.optimizer = &op;
    tp.batch_size = 8;
    recorder ra = {0}, rb = {0};
    tp.progress = record;
    tp.progress_user = &ra;
    ptune_prompt *a = new_prompt(4, 5), *b = new_prompt(4, 5);
    ptune_trainer *ta = new_trainer(a, d, NULL, &tp);
    tp.batch_size = 4;
    tp.grad_accum = 2;
    tp.progress_user = &rb;
    ptune_trainer *tb = new_trainer(b, d, NULL, &tp);
    assert_int_equal(ptune_trainer_progress(ta)->total_steps, 6);
    assert_int_equal(ptune_trainer_progress(tb)->total_steps, 6);
    run_ok(ta);
    run_ok(tb);
    double diff = max_abs_diff(a, b), worst_loss = 0.0;
    for (int i = 0; i < 6; i++) {
        double dl = fabs(ra.loss[i] - rb.loss[i]);
        if (dl > worst_loss) worst_loss = dl;
    }
    print_message("  batch 8 vs batch 4 x accumulation 2: max |prompt diff| %.3g, max |step loss diff| %.3g\n", diff,
                  worst_loss);
    assert_true(diff < 1e-5);
    assert_true(worst_loss < 1e-5);
    /* and the prompt did move */
    ptune_prompt *init = new_prompt(4, 5);
    assert_true(max_abs_diff(a, init) > 1e-2);
    ptune_prompt_free(init);
    ptune_trainer_free(ta);
    ptune_trainer_free(tb);
    ptune_prompt_free(a);
    ptune_prompt_free(b);
    ptune_dataset_free(d);
}

/* ---- (8) row budget ----------------------------------------------------------------------------- */

static void check_plan(const ptune_trainer *t, int32_t budget)
{
    const pt_batch_plan *pl = &t->plan;
    int64_t seen = 0;
    for (int64_t i = 0; i < pl->n_mb; i++) {
        const pt_micro_batch *mb = &pl->mb[i];
        assert_true(mb->count >= 1);
        assert_int_equal(mb->start, seen);
        int64_t rows = 0;
        for (int32_t k = 0; k < mb->count; k++) rows += t->n_virtual + t->train_sz.len[t->perm[mb->start + k]];
        assert_int_equal(rows, mb->rows);
        assert_true(rows <= budget);
        /* greedy: the next example did not fit */
        if (i + 1 < pl->n_mb) assert_true(rows + t->n_virtual + t->train_sz.len[t->perm[mb->start + mb->count]] > budget);
        seen += mb->count;
    }
    assert_int_equal(seen, t->train_sz.n);
}

static int budget_cb(const ptune_train_progress *p, void *user)
{
    (void)p;
    const ptune_trainer *t = *(ptune_trainer *const *)user;
    check_plan(t, t->batch_tokens);
    return 0;
}

static void test_batch_tokens_budget(void **state)
{
    (void)state;
    int32_t lens[40];
    for (int i = 0; i < 40; i++) lens[i] = 3 + (i * 11) % 28; /* 3 .. 30 tokens */
    ptune_dataset *d = random_rows(40, lens, 4);
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = 3;
    tp.batch_tokens = 64;
    tp.grad_accum = 2;
    tp.seed = 1;
    tp.n_threads = 1;
    tp.optimizer = &op;
    ptune_trainer *t = NULL;
    tp.progress = budget_cb;
    tp.progress_user = &t;
    ptune_prompt *p = new_prompt(4, 1);
    t = new_trainer(p, d, NULL, &tp);
    assert_true(t->ctx->max_tokens <= 64);
    int64_t total = ptune_trainer_progress(t)->total_steps;
    int64_t steps = 0;
    while (ptune_trainer_step(t) == PTUNE_OK) steps++;
    assert_int_equal(steps, total); /* the precount over the epochs' permutations is exact */
    ptune_trainer_free(t);
    ptune_prompt_free(p);

    /* the planner on its own: lengths 6, 2, 12, 2, 16 with 4 virtual rows = 10, 6, 16, 6, 20 rows;
     * a budget of 20 packs them greedily in order as [10 + 6], [16], [6], [20] */
    pt_example_sizes sz = {.n = 5, .len = (int32_t[]){6, 2, 12, 2, 16}, .targets = (int32_t[]){6, 2, 12, 2, 16}};
    pt_batch_plan plan = {0};
    assert_int_equal(pt_plan_batches(&sz, NULL, 4, 8, 20, "test", &plan), PTUNE_OK);
    assert_int_equal(plan.n_mb, 4);
    assert_int_equal(plan.mb[0].rows, 16);
    assert_int_equal(plan.mb[0].count, 2);
    assert_int_equal(plan.mb[1].rows, 16);
    assert_int_equal(plan.mb[2].rows, 6);
    assert_int_equal(plan.mb[3].rows, 20);
    assert_int_equal(plan.max_rows, 20);
    /* count mode keeps the last partial batch */
    assert_int_equal(pt_plan_batches(&sz, NULL, 4, 2, 0, "test", &plan), PTUNE_OK);
    assert_int_equal(plan.n_mb, 3);
    assert_int_equal(plan.mb[2].count, 1);
    /* an example above the budget is refused */
    assert_int_equal(pt_plan_batches(&sz, NULL, 4, 8, 19, "test", &plan), PTUNE_E_INVALID_ARG);
    pt_batch_plan_free(&plan);
    tp.batch_tokens = 30;
    tp.progress = NULL;
    p = new_prompt(4, 1);
    ptune_trainer *bad = NULL;
    assert_int_equal(ptune_trainer_new(model, p, d, NULL, &tp, &bad), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "batch_tokens"));
    ptune_prompt_free(p);
    ptune_dataset_free(d);
}

/* ---- checkpoint failures ------------------------------------------------------------------------ */

/* Rewrites one field of <dir>/trainer_state.json (value NULL = delete it). */
static void edit_state(const char *dir, const char *key, json_t *value)
{
    char *path = join(dir, "trainer_state.json");
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) fail_msg("%s: %s", path, e.text);
    if (value) json_object_set_new(root, key, value);
    else json_object_del(root, key);
    assert_int_equal(json_dump_file(root, path, JSON_INDENT(1)), 0);
    json_decref(root);
    free(path);
}

static void test_checkpoint_errors(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp = recipe_params(&op);
    tp.epochs = 1;

    /* an unwritable checkpoint directory: the step is done, the error names the path */
    char *file = join(tmp, "plain-file");
    pt_test_write_file(file, "x", 1);
    char *under = join(file, "ck");
    tp.checkpoint_dir = under;
    tp.checkpoint_every = 1;
    ptune_prompt *p = new_prompt(8, 1);
    ptune_trainer *t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_step(t), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), "plain-file"));
    assert_int_equal(ptune_trainer_progress(t)->step, 1);
    ptune_trainer_free(t);
    tp.checkpoint_dir = NULL;
    tp.checkpoint_every = 0;

    /* a checkpoint at step 2, then damaged copies of it */
    t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_step(t), PTUNE_OK);
    assert_int_equal(ptune_trainer_step(t), PTUNE_OK);
    char *ck = join(tmp, "ck");
    assert_int_equal(ptune_trainer_save_checkpoint(t, ck), PTUNE_OK);
    ptune_trainer_free(t);
    static const struct {
        const char *key;
        int kind; /* 0 delete, 1 integer, 2 string */
        long long v;
        const char *s;
        ptune_status want;
    } cases[] = {
        {"micro_batch", 1, 999, NULL, PTUNE_E_FORMAT},
        {"step", 1, 3, NULL, PTUNE_E_FORMAT},       /* the optimizer made 2 updates */
        {"format", 2, 0, "something-else", PTUNE_E_FORMAT},
        {"version", 1, 2, NULL, PTUNE_E_UNSUPPORTED},
        {"rng", 2, 0, "zz", PTUNE_E_FORMAT},
        {"permutation", 0, 0, NULL, PTUNE_E_FORMAT},
        {"grad_accum", 1, 2, NULL, PTUNE_E_FORMAT},
        {"eval_rows", 1, 16, NULL, PTUNE_E_FORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *bad = join(tmp, "bad");
        pt_test_rmtree(bad);
        assert_int_equal(mkdir(bad, 0755), 0);
        static const char *const files[] = {"adapter_config.json", "adapter_model.safetensors", "optimizer.safetensors",
                                            "trainer_state.json"};
        for (size_t f = 0; f < 4; f++) {
            char *src = join(ck, files[f]), *dst = join(bad, files[f]);
            size_t n;
            unsigned char *data = pt_test_read_file(src, &n);
            pt_test_write_file(dst, data, n);
            free(data);
            free(src);
            free(dst);
        }
        edit_state(bad, cases[i].key,
                   cases[i].kind == 0 ? NULL : cases[i].kind == 1 ? json_integer(cases[i].v) : json_string(cases[i].s));
        ptune_prompt *q = new_prompt(8, 5);
        ptune_prompt *q0 = new_prompt(8, 5);
        t = new_trainer(q, train_ds, NULL, &tp);
        ptune_status s = ptune_trainer_resume(t, bad);
        if (s != cases[i].want) fail_msg("%s: status %d (%s)", cases[i].key, s, ptune_last_error());
        assert_non_null(strstr(ptune_last_error(), cases[i].key));
        assert_true(same_prompt(q, q0)); /* a failed resume changes nothing */
        assert_int_equal(ptune_trainer_progress(t)->step, 0);
        ptune_trainer_free(t);
        ptune_prompt_free(q);
        ptune_prompt_free(q0);
        free(bad);
    }
    /* without the optimizer state */
    char *opt = join(ck, "optimizer.safetensors");
    unlink(opt);
    t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(ptune_trainer_resume(t, ck), PTUNE_E_IO);
    ptune_trainer_free(t);
    ptune_prompt_free(p);
    free(opt);
    free(ck);
    free(under);
    free(file);
    pt_test_rmtree(tmp);
    free(tmp);
}

/* ---- auto batch size, params and argument checks ------------------------------------------------ */

static void test_auto_batch_memory(void **state)
{
    (void)state;
    ptune_optimizer_params op = recipe_optimizer();
    ptune_trainer_params tp = recipe_params(&op);
    tp.epochs = 1;
    ptune_prompt *p = new_prompt(8, 1);
    /* a budget that fits the 2 longest examples but not 4 */
    ptune_trainer *probe = new_trainer(p, train_ds, NULL, &tp);
    int64_t longest = 8 + probe->train_sz.longest;
    int64_t rows2 = pt_plan_max_rows(&probe->train_sz, 8, 2, 0), rows4 = pt_plan_max_rows(&probe->train_sz, 8, 4, 0);
    int64_t b2 = pt_train_ctx_bytes(model, rows2, longest, 2), b4 = pt_train_ctx_bytes(model, rows4, longest, 2);
    assert_true(b2 < b4);
    assert_true(probe->batch_size == 8);
    ptune_trainer_free(probe);
    tp.auto_batch_memory = b2;
    ptune_trainer *t = new_trainer(p, train_ds, NULL, &tp);
    assert_int_equal(t->batch_size, 2);
    assert_int_equal(ptune_trainer_progress(t)->total_steps, 32);
    assert_int_equal(t->ctx->max_tokens, rows2);
    assert_int_equal(ptune_trainer_step(t), PTUNE_OK);
    ptune_trainer_free(t);
    /* the estimate is of the right size: the context's own big buffers are inside it */
    int64_t L = ptune_model_n_layer(model), D = ptune_model_n_embd(model);
    assert_true(b2 > 4 * rows2 * L * 2 * D);
    /* not even batch 1 */
    tp.auto_batch_memory = 1000;
    ptune_trainer *bad = NULL;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &tp, &bad), PTUNE_E_CAPACITY);
    assert_null(bad);
    ptune_prompt_free(p);
}

static void test_arguments(void **state)
{
    (void)state;
    ptune_prompt *p = new_prompt(8, 1);
    ptune_trainer *t = NULL;
    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    assert_int_equal(tp.epochs, 1);
    assert_int_equal(tp.batch_size, 8);
    assert_int_equal(tp.grad_accum, 1);
    assert_int_equal(tp.checkpoint_keep, 2);
    assert_int_equal(ptune_trainer_new(NULL, p, train_ds, NULL, &tp, &t), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_trainer_new(model, NULL, train_ds, NULL, &tp, &t), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_trainer_new(model, p, NULL, NULL, &tp, &t), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &tp, NULL), PTUNE_E_INVALID_ARG);
    ptune_trainer_params bad = tp;
    bad.batch_size = 0;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_E_INVALID_ARG);
    bad = tp;
    bad.grad_accum = 0;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_E_INVALID_ARG);
    bad = tp;
    bad.epochs = 0;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_E_INVALID_ARG);
    bad.max_steps = 5; /* max_steps overrides epochs */
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_OK);
    assert_int_equal(ptune_trainer_progress(t)->total_steps, 5);
    assert_int_equal(ptune_trainer_evaluate(t, &(double){0}), PTUNE_E_STATE);
    run_ok(t);
    assert_int_equal(ptune_trainer_progress(t)->step, 5);
    ptune_trainer_free(t);
    /* max_steps beyond one epoch cycles the data */
    bad.max_steps = 20;
    bad.batch_size = 16;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_OK);
    assert_int_equal(ptune_trainer_epoch(t), PTUNE_OK);
    assert_int_equal(ptune_trainer_progress(t)->step, 4);
    assert_int_equal(ptune_trainer_epoch(t), PTUNE_OK);
    assert_int_equal(ptune_trainer_progress(t)->step, 8);
    assert_int_equal(ptune_trainer_progress(t)->epoch, 1);
    run_ok(t);
    assert_int_equal(ptune_trainer_progress(t)->step, 20);
    assert_int_equal(ptune_trainer_progress(t)->epoch, 4);
    ptune_trainer_free(t);
    bad = tp;
    bad.struct_size = 2;
    assert_int_equal(ptune_trainer_new(model, p, train_ds, NULL, &bad, &t), PTUNE_E_INVALID_ARG);
    /* an example longer than the model's context (128) once the prompt is in front */
    int32_t lens[2] = {10, 125};
    ptune_dataset *d = random_rows(2, lens, 1);
    assert_int_equal(ptune_trainer_new(model, p, d, NULL, &tp, &t), PTUNE_E_CAPACITY);
    assert_null(t);
    ptune_dataset_free(d);
    assert_int_equal(ptune_trainer_step(NULL), PTUNE_E_INVALID_ARG);
    assert_null(ptune_trainer_progress(NULL));
    ptune_trainer_free(NULL);
    ptune_prompt_free(p);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_must_show_heldout_improvement),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_resume_bit_identical),
        cmocka_unit_test(test_cancel_and_callback_abort),
        cmocka_unit_test(test_checkpoint_pruning),
        cmocka_unit_test(test_early_stopping),
        cmocka_unit_test(test_grad_accum_matches_big_batch),
        cmocka_unit_test(test_batch_tokens_budget),
        cmocka_unit_test(test_checkpoint_errors),
        cmocka_unit_test(test_auto_batch_memory),
        cmocka_unit_test(test_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
