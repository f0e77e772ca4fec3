/* Forward-pass parity against ../shared/fixtures: every tiny model (BLOOM, GPT-2, Llama,
 * Qwen2) in F32/F16/BF16, as HF directory and as GGUF, reproduces the reference logits of
 * every case (prompt-prefixed ones included), the losses, and HF and GGUF agree. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

#define LOGIT_TOL 1e-4
#define LOSS_TOL 1e-5
#define FORM_TOL 1e-5

typedef struct variant {
    const char *name;     /* e.g. "tiny-llama-f16" */
} variant;

static const variant variants[] = {
    {"tiny-bloom"}, {"tiny-bloom-f16"}, {"tiny-bloom-bf16"},
    {"tiny-gpt2"},  {"tiny-gpt2-f16"},  {"tiny-gpt2-bf16"},
    {"tiny-llama"}, {"tiny-llama-f16"}, {"tiny-llama-bf16"},
    {"tiny-qwen2"}, {"tiny-qwen2-f16"}, {"tiny-qwen2-bf16"},
};

static double worst_logit_err, worst_loss_err, worst_form_err;

static ptune_model *load(const char *rel)
{
    char *path = pt_test_shared_path(rel);
    ptune_model *m = NULL;
    ptune_status s = ptune_model_load(path, NULL, &m);
    if (s != PTUNE_OK) fail_msg("loading %s: %s: %s", path, ptune_status_str(s), ptune_last_error());
    free(path);
    return m;
}

static ptune_prompt *prompt_from(ptune_model *m, const pt_safetensors *st)
{
    size_t n;
    double *vals = pt_test_tensor_f64(st, "prompt_embeddings", &n);
    int32_t nv = (int32_t)(n / (size_t)ptune_model_n_embd(m));
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = nv;
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    float *v = ptune_prompt_values(p);
    for (size_t i = 0; i < n; i++) v[i] = (float)vals[i];
    free(vals);
    return p;
}

/* Runs one batch with all logits kept; returns the context (caller frees). */
static ptune_ctx *run(ptune_model *m, const ptune_prompt *p, int n_seq, const int32_t *const *ids,
                      const int32_t *const *labels, const int32_t *len)
{
    ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_ALL);
    ptune_batch b = {.n_seq = n_seq, .ids = ids, .labels = labels, .len = len};
    ptune_status s = ptune_forward(c, p, &b);
    if (s != PTUNE_OK) fail_msg("forward: %s: %s", ptune_status_str(s), ptune_last_error());
    return c;
}

static double compare_rows(ptune_ctx *c, int seq, const double *ref, int rows, int V)
{
    const float *logits;
    int32_t n_rows;
    assert_int_equal(ptune_logits(c, seq, &logits, &n_rows), PTUNE_OK);
    assert_int_equal(n_rows, rows);
    return pt_test_max_abs_diff_fd(logits, ref, (size_t)rows * (size_t)V);
}

/* Checks one manifest case on one loaded form. */
static void check_case(ptune_model *m, const char *dir_rel, const char *name, const char *kind, const char *label)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "%s/%s.safetensors", dir_rel, name);
    char *path = pt_test_shared_path(rel);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    const int V = ptune_model_n_vocab(m);
    size_t n_ids, n_ref;

    if (!strcmp(kind, "forward")) {
        int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
        double *ref = pt_test_tensor_f64(&st, "logits_f64", &n_ref);
        int32_t len = (int32_t)n_ids;
        const int32_t *seqs[1] = {ids};
        ptune_ctx *c = run(m, NULL, 1, seqs, NULL, &len);
        double err = compare_rows(c, 0, ref, len, V);
        if (err > worst_logit_err) worst_logit_err = err;
        if (!(err <= LOGIT_TOL)) fail_msg("%s %s: max |logit error| %.3g > %.1g", label, name, err, LOGIT_TOL);
        ptune_ctx_free(c);
        free(ids);
        free(ref);
    } else if (!strcmp(kind, "prompt")) {
        int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
        int32_t *labels = pt_test_tensor_i32(&st, "labels", &n_ids);
        double *ref = pt_test_tensor_f64(&st, "logits_f64", &n_ref);
        size_t one;
        double *loss_ref = pt_test_tensor_f64(&st, "loss_f64", &one);
        int32_t *n_targets = pt_test_tensor_i32(&st, "n_targets", &one);
        ptune_prompt *p = prompt_from(m, &st);
        int32_t len = (int32_t)n_ids;
        const int32_t *seqs[1] = {ids}, *labs[1] = {labels};
        ptune_ctx *c = run(m, p, 1, seqs, labs, &len);
        double err = compare_rows(c, 0, ref, ptune_prompt_n_virtual(p) + len, V);
        if (err > worst_logit_err) worst_logit_err = err;
        if (!(err <= LOGIT_TOL)) fail_msg("%s %s: max |logit error| %.3g", label, name, err);
        double loss;
        int64_t counted;
        assert_int_equal(ptune_loss(c, &loss, &counted), PTUNE_OK);
        assert_int_equal(counted, n_targets[0]);
        double lerr = fabs(loss - loss_ref[0]);
        if (lerr > worst_loss_err) worst_loss_err = lerr;
        if (!(lerr <= LOSS_TOL)) fail_msg("%s %s: loss %.9f vs %.9f", label, name, loss, loss_ref[0]);
        ptune_ctx_free(c);
        ptune_prompt_free(p);
        free(ids);
        free(labels);
        free(ref);
        free(loss_ref);
        free(n_targets);
    } else if (!strcmp(kind, "prompt_batch")) {
        size_t n_len, n_lab;
        int32_t *padded = pt_test_tensor_i32(&st, "input_ids", &n_ids);
        int32_t *padded_labels = pt_test_tensor_i32(&st, "labels", &n_lab);
        int32_t *lengths = pt_test_tensor_i32(&st, "seq_lengths", &n_len);
        double *ref = pt_test_tensor_f64(&st, "logits", &n_ref);
        size_t one;
        double *loss_ref = pt_test_tensor_f64(&st, "loss_f64", &one);
        double *seq_nll = pt_test_tensor_f64(&st, "seq_nll_sum_f64", &one);
        int32_t *seq_targets = pt_test_tensor_i32(&st, "seq_n_targets", &one);
        ptune_prompt *p = prompt_from(m, &st);
        const int nseq = (int)n_len, T = (int)(n_ids / n_len), nv = ptune_prompt_n_virtual(p);
        const int32_t *seqs[8], *labs[8];
        for (int s = 0; s < nseq; s++) {
            seqs[s] = padded + (size_t)s * T;
            labs[s] = padded_labels + (size_t)s * T;
        }
        ptune_ctx *c = run(m, p, nseq, seqs, labs, lengths);
        for (int s = 0; s < nseq; s++) {
            /* reference logits are [nseq, nv + T, V] in float32, right-padded */
            double err = compare_rows(c, s, ref + (size_t)s * (nv + T) * V, nv + lengths[s], V);
            if (err > worst_logit_err) worst_logit_err = err;
            if (!(err <= LOGIT_TOL)) fail_msg("%s %s seq %d: max |logit error| %.3g", label, name, s, err);
            float lp[64];
            int32_t got;
            assert_int_equal(ptune_token_logprobs(c, s, lp, 64, &got), PTUNE_OK);
            assert_int_equal(got, seq_targets[s]);
            double sum = 0;
            for (int i = 0; i < got; i++) sum -= lp[i];
            if (!(fabs(sum - seq_nll[s]) <= 1e-4)) fail_msg("%s seq %d nll sum %.7f vs %.7f", label, s, sum, seq_nll[s]);
        }
        double loss;
        assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_OK);
        double lerr = fabs(loss - loss_ref[0]);
        if (lerr > worst_loss_err) worst_loss_err = lerr;
        if (!(lerr <= LOSS_TOL)) fail_msg("%s %s: loss %.9f vs %.9f", label, name, loss, loss_ref[0]);
        ptune_ctx_free(c);
        ptune_prompt_free(p);
        free(padded);
        free(padded_labels);
        free(lengths);
        free(ref);
        free(loss_ref);
        free(seq_nll);
        free(seq_targets);
    }
    pt_safetensors_close(&st);
    free(path);
}

/* HF and GGUF forms of one model give the same logits on the t33 case. */
static void check_forms_agree(ptune_model *hf, ptune_model *gg, const char *dir_rel)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "%s/forward_t33.safetensors", dir_rel);
    char *path = pt_test_shared_path(rel);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    size_t n;
    int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n);
    int32_t len = (int32_t)n;
    const int32_t *seqs[1] = {ids};
    ptune_ctx *a = run(hf, NULL, 1, seqs, NULL, &len), *b = run(gg, NULL, 1, seqs, NULL, &len);
    const float *la, *lb;
    int32_t ra, rb;
    assert_int_equal(ptune_logits(a, 0, &la, &ra), PTUNE_OK);
    assert_int_equal(ptune_logits(b, 0, &lb, &rb), PTUNE_OK);
    assert_int_equal(ra, rb);
    double worst = 0;
    for (size_t i = 0; i < (size_t)ra * (size_t)ptune_model_n_vocab(hf); i++) {
        double d = fabs((double)la[i] - lb[i]);
        if (!(d <= worst)) worst = d;
    }
    if (worst > worst_form_err) worst_form_err = worst;
    if (!(worst <= FORM_TOL)) fail_msg("%s: HF and GGUF logits differ by %.3g", dir_rel, worst);
    ptune_ctx_free(a);
    ptune_ctx_free(b);
    free(ids);
    pt_safetensors_close(&st);
    free(path);
}

static void test_variant(void **state)
{
    const variant *v = *state;
    char rel[512], manifest_rel[512];
    snprintf(manifest_rel, sizeof manifest_rel, "fixtures/%s/manifest.json", v->name);
    char *manifest_path = pt_test_shared_path(manifest_rel);
    json_error_t jerr;
    json_t *manifest = json_load_file(manifest_path, 0, &jerr);
    if (!manifest) fail_msg("%s: %s", manifest_path, jerr.text);

    snprintf(rel, sizeof rel, "fixtures/models/%s", v->name);
    ptune_model *hf = load(rel);
    snprintf(rel, sizeof rel, "fixtures/models/%s.gguf", v->name);
    ptune_model *gg = load(rel);

    snprintf(rel, sizeof rel, "fixtures/%s", v->name);
    json_t *cases = json_object_get(manifest, "cases");
    assert_true(json_array_size(cases) >= 4);
    size_t i;
    json_t *cs;
    int checked = 0;
    json_array_foreach(cases, i, cs) {
        const char *name = json_string_value(json_object_get(cs, "name"));
        const char *kind = json_string_value(json_object_get(cs, "kind"));
        if (strcmp(kind, "forward") && strcmp(kind, "prompt") && strcmp(kind, "prompt_batch")) continue;
        check_case(hf, rel, name, kind, "HF");
        check_case(gg, rel, name, kind, "GGUF");
        checked++;
    }
    assert_true(checked >= 4);
    check_forms_agree(hf, gg, rel);
    ptune_model_free(hf);
    ptune_model_free(gg);
    json_decref(manifest);
    free(manifest_path);
}

static int report(void **state)
{
    (void)state;
    printf("# worst |logit error| %.3g, |loss error| %.3g, |HF - GGUF| %.3g\n", worst_logit_err, worst_loss_err,
           worst_form_err);
    return 0;
}

int main(void)
{
    pt_test_shared();
    struct CMUnitTest tests[sizeof variants / sizeof variants[0]];
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        struct CMUnitTest t = {variants[i].name, test_variant, NULL, NULL, (void *)&variants[i]};
        tests[i] = t;
    }
    return cmocka_run_group_tests(tests, NULL, report);
}
