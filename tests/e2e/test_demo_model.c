/* End-to-end tests on the demo model that ships in models/demo/ (no ../shared needed): the GGUF
 * file and the HF directory are the same model, it writes its training domain's English, and the
 * quickstart (examples/quickstart) lowers held-out loss by ≥ 25% and makes generations follow
 * the target style. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

#define DEMO_GGUF "models/demo/demo.gguf"
#define DEMO_HF "models/demo/hf"

/* Held-out King James verses: from validation chapters (tools/pretrain-demo/prepare_corpus.py
 * keeps every 25th chapter out of training). */
static const char *const kjv_heldout[] = {
    "And Abraham gave all that he had unto Isaac.",
    "The slothful man saith, There is a lion without, I shall be slain in the streets.",
    "Thou drewest near in the day that I called upon thee: thou saidst, Fear not.",
    "And Jesus answered and said unto them, I also will ask you one thing, which if ye tell me, "
    "I in like wise will tell you by what authority I do these things.",
};

/* Held-out trades of examples/quickstart/proverbs_heldout.csv: the inputs to generate from. */
static const char *const heldout_inputs[] = {
    "I want you to act as a thatcher.",      "I want you to act as a well digger.",
    "I want you to act as a wheelwright.",   "I want you to act as a saddler.",
    "I want you to act as a stonecutter.",   "I want you to act as a salt maker.",
    "I want you to act as a shipwright.",    "I want you to act as a herbalist.",
    "I want you to act as a plasterer.",     "I want you to act as a mapmaker.",
};
#define N_INPUTS (sizeof heldout_inputs / sizeof *heldout_inputs)

static int32_t tokenize(const ptune_model *m, const char *text, int32_t *ids, int32_t cap)
{
    int32_t n = 0;
    if (ptune_tokenize(m, text, strlen(text), true, ids, cap, &n)) fail_msg("tokenize: %s", ptune_last_error());
    return n;
}

/* Mean NLL of ids[from..n) given ids[0..from) (and the prompt's rows, when given). */
static double continuation_nll(ptune_ctx *c, const ptune_prompt *p, const int32_t *ids, int32_t n, int32_t from)
{
    int32_t labels[256];
    assert_true(n <= 256);
    for (int32_t i = 0; i < n; i++) labels[i] = i < from ? -100 : ids[i];
    const int32_t *idp[1] = {ids}, *lp[1] = {labels};
    ptune_batch b = {.n_seq = 1, .ids = idp, .labels = lp, .len = &n};
    if (ptune_forward(c, p, &b)) fail_msg("forward: %s", ptune_last_error());
    double loss;
    int64_t counted;
    if (ptune_loss(c, &loss, &counted)) fail_msg("loss: %s", ptune_last_error());
    return loss;
}

/* The two files hold one model: the same shapes, tokenizer and (to float rounding) logits. */
static void test_gguf_and_hf_agree(void **state)
{
    (void)state;
    ptune_model *g = pt_test_load_repo_model(DEMO_GGUF), *h = pt_test_load_repo_model(DEMO_HF);
    assert_string_equal(ptune_model_arch_name(g), "llama");
    assert_int_equal(ptune_model_n_params(g), ptune_model_n_params(h));
    assert_true(ptune_model_n_params(g) >= 3000000 && ptune_model_n_params(g) <= 6000000);
    assert_int_equal(ptune_model_n_vocab(g), 4096);
    assert_string_equal(ptune_model_file_dtype(g), "F16");
    assert_string_equal(ptune_model_file_dtype(h), "F16");
    ptune_ctx *cg = pt_test_new_ctx(g, PTUNE_LOGITS_ALL), *ch = pt_test_new_ctx(h, PTUNE_LOGITS_ALL);
    const int32_t V = ptune_model_n_vocab(g);
    for (size_t k = 0; k < sizeof kjv_heldout / sizeof *kjv_heldout; k++) {
        int32_t a[128], b[128];
        int32_t na = tokenize(g, kjv_heldout[k], a, 128), nb = tokenize(h, kjv_heldout[k], b, 128);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, (size_t)na * sizeof *a);
        const int32_t *ip[1] = {a};
        ptune_batch batch = {.n_seq = 1, .ids = ip, .len = &na};
        assert_int_equal(ptune_forward(cg, NULL, &batch), PTUNE_OK);
        assert_int_equal(ptune_forward(ch, NULL, &batch), PTUNE_OK);
        const float *lg, *lh;
        int32_t rg, rh;
        assert_int_equal(ptune_logits(cg, 0, &lg, &rg), PTUNE_OK);
        assert_int_equal(ptune_logits(ch, 0, &lh, &rh), PTUNE_OK);
        assert_int_equal(rg, na);
        assert_int_equal(rh, na);
        double worst = 0;
        for (int64_t i = 0; i < (int64_t)na * V; i++) worst = fmax(worst, fabs((double)lg[i] - (double)lh[i]));
        if (worst > 1e-4) fail_msg("line %zu: GGUF and HF logits differ by %.3g", k, worst);
    }
    ptune_ctx_free(cg);
    ptune_ctx_free(ch);
    ptune_model_free(g);
    ptune_model_free(h);
}

/* A trained model, not noise: held-out verses cost far less than the uniform ln(4096) = 8.3
 * nats per token (tools/pretrain-demo/README.md records the validation loss). */
static void test_demo_knows_its_domain(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_repo_model(DEMO_GGUF);
    ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_NONE);
    for (size_t k = 0; k < sizeof kjv_heldout / sizeof *kjv_heldout; k++) {
        int32_t ids[128];
        int32_t n = tokenize(m, kjv_heldout[k], ids, 128);
        double nll = continuation_nll(c, NULL, ids, n, 1);
        if (!(nll < 4.0)) fail_msg("held-out verse %zu: %.3f nats per token (want < 4.0)", k, nll);
    }
    /* greedy text after "And God said" is made of words: letters, spaces, punctuation */
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0;
    sp.max_new_tokens = 40;
    sp.repetition_penalty = 1.3f;
    char *text = NULL;
    assert_int_equal(ptune_generate_text(c, NULL, "And God said", &sp, &text, NULL, NULL), PTUNE_OK);
    size_t letters = 0, len = strlen(text);
    for (size_t i = 0; i < len; i++) letters += (text[i] >= 'a' && text[i] <= 'z') || (text[i] >= 'A' && text[i] <= 'Z');
    if (len < 60 || letters * 10 < len * 7) fail_msg("not prose: \"%s\"", text);
    ptune_free(text);
    ptune_ctx_free(c);
    ptune_model_free(m);
}

typedef struct evals {
    double before, last;
} evals;

static int record_eval(const ptune_train_progress *p, void *user)
{
    evals *e = user;
    if (isnan(p->eval_loss)) return 0;
    if (p->step == 0) e->before = p->eval_loss;
    else e->last = p->eval_loss;
    return 0;
}

/* The quickstart's proverb style: "The <someone> that ... shall ...; but he that ... shall ...",
 * one sentence that the model ends itself (EOS before max_new_tokens). */
static bool in_style(const char *text, bool ended)
{
    size_t n = strlen(text);
    return ended && n > 0 && text[n - 1] == '.' && strncmp(text, "The ", 4) == 0 && strstr(text, " shall ") &&
           strstr(text, "but ");
}

/* examples/quickstart/config.yaml as the README's first command runs it: held-out loss must drop
 * by at least 25%, and greedy generations for held-out trades must take the style on: at least 4
 * of 10 proverb-shaped sentences (none untuned), and more likely under the tuned prompt by over a
 * nat per token than what the untuned model generates. */
static void test_quickstart_tunes_the_style(void **state)
{
    (void)state;
    char *config = pt_test_repo_path("examples/quickstart/config.yaml");
    char *model = pt_test_repo_path(DEMO_GGUF);
    char *train = pt_test_repo_path("examples/quickstart/proverbs.csv");
    char *eval = pt_test_repo_path("examples/quickstart/proverbs_heldout.csv");
    char *dir = pt_test_tmpdir();
    char o_model[4200], o_train[4200], o_eval[4200], o_out[4200];
    snprintf(o_model, sizeof o_model, "model=%s", model);
    snprintf(o_train, sizeof o_train, "data.train=%s", train);
    snprintf(o_eval, sizeof o_eval, "data.eval=%s", eval);
    snprintf(o_out, sizeof o_out, "output_dir=%s", dir);
    const char *overrides[] = {o_model, o_train, o_eval, o_out, "threads=2"};
    evals e = {NAN, NAN};
    ptune_run_params rp;
    ptune_run_params_init(&rp);
    rp.overrides = overrides;
    rp.n_overrides = 5;
    rp.progress = record_eval;
    rp.progress_user = &e;
    if (ptune_run_yaml(config, &rp)) fail_msg("quickstart run: %s", ptune_last_error());
    assert_true(isfinite(e.before) && isfinite(e.last));
    double gain = (e.before - e.last) / e.before;
    print_message("held-out loss %.4f -> %.4f (-%.1f%%)\n", e.before, e.last, 100 * gain);
    if (gain < 0.25) fail_msg("held-out loss improved by %.1f%% (want >= 25%%)", 100 * gain);

    /* Generations from held-out trades, untuned vs tuned (greedy, repetition penalty 1.5 as the
     * tutorial): the tuned ones follow the style, and the style — the tuned prompt's held-out-
     * validated distribution — rates them as more likely than the untuned ones. */
    ptune_model *m = pt_test_load_repo_model(DEMO_GGUF);
    ptune_prompt *p = NULL;
    if (ptune_prompt_load(m, dir, &p)) fail_msg("load tuned prompt: %s", ptune_last_error());
    ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_NONE);
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0;
    sp.max_new_tokens = 48;
    sp.repetition_penalty = 1.5f;
    int styled_tuned = 0, styled_untuned = 0;
    double nll_tuned = 0, nll_untuned = 0;
    const int32_t eos = ptune_model_eos_id(m);
    for (size_t k = 0; k < N_INPUTS; k++) {
        char text[2][1024];
        for (int tuned = 0; tuned < 2; tuned++) {
            int32_t ids[256];
            int32_t n_in = tokenize(m, heldout_inputs[k], ids, 64), n_out = 0;
            ptune_status s = ptune_generate(c, tuned ? p : NULL, ids, n_in, &sp, ids + n_in, 200, &n_out, NULL, NULL);
            if (s) fail_msg("generate: %s", ptune_last_error());
            size_t len = 0;
            if (ptune_detokenize(m, ids + n_in, n_out, true, text[tuned], sizeof text[tuned], &len))
                fail_msg("detokenize: %s", ptune_last_error());
            text[tuned][len < sizeof text[tuned] ? len : sizeof text[tuned] - 1] = '\0';
            /* what was generated, its ending included (an EOS, when the model stopped by itself),
             * scored under the tuned prompt given the input: an empty reply scores the EOS alone */
            bool ended = n_out > 0 && ids[n_in + n_out - 1] == eos;
            if (!ended && n_out < sp.max_new_tokens) {
                ids[n_in + n_out++] = eos;
                ended = true;
            }
            double nll = continuation_nll(c, p, ids, n_in + n_out, n_in);
            if (tuned) {
                styled_tuned += in_style(text[1], ended);
                nll_tuned += nll / (double)N_INPUTS;
            } else {
                styled_untuned += in_style(text[0], ended);
                nll_untuned += nll / (double)N_INPUTS;
            }
        }
        print_message("%s\n  untuned: %s\n  tuned:   %s\n", heldout_inputs[k], text[0], text[1]);
    }
    print_message("in style: tuned %d/%zu, untuned %d/%zu; style NLL tuned %.3f, untuned %.3f\n", styled_tuned,
                  N_INPUTS, styled_untuned, N_INPUTS, nll_tuned, nll_untuned);
    /* measured with the committed config: tuned 6/10 in style, untuned 0/10 (it ends the passage
     * at once); style NLL 1.99 vs 7.18 nats per token */
    if (styled_tuned < 4) fail_msg("%d of %zu tuned generations in style (want >= 4)", styled_tuned, N_INPUTS);
    if (styled_untuned > 1) fail_msg("%d of %zu untuned generations in style (want <= 1)", styled_untuned, N_INPUTS);
    if (!(nll_tuned + 1.0 < nll_untuned)) fail_msg("style NLL: tuned %.3f, untuned %.3f (want tuned lower by > 1)", nll_tuned, nll_untuned);

    ptune_ctx_free(c);
    ptune_prompt_free(p);
    ptune_model_free(m);
    pt_test_rmtree(dir);
    free(dir);
    free(config);
    free(model);
    free(train);
    free(eval);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_and_hf_agree),
        cmocka_unit_test(test_demo_knows_its_domain),
        cmocka_unit_test(test_quickstart_tunes_the_style),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
