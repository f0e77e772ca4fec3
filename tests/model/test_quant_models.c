/* Every quantized fixture model (../shared/fixtures/models/<name>-<FTYPE>.gguf: Q8_0, Q4_0, Q4_K_M, Q5_K_M,
 * Q6_K mixes over Llama, Qwen2, GPT-2 and BLOOM) loads and reproduces its reference logits
 * (<name>-<FTYPE>/forward_t7, forward_t33: the HF-semantics forward on the exactly dequantized
 * weights, in float64) within 1e-4. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors.h"

#define LOGIT_TOL 1e-4

static const char *const fixtures[] = {
    "tiny-llama-Q8_0",      "tiny-llama-Q4_0",      "tiny-llama-Q4_K_M",  "tiny-qwen2-Q6_K",
    "tiny-gpt2-Q8_0",       "tiny-bloom-Q5_K_M",    "tiny-llama256-Q4_K_M", "tiny-llama256-Q5_K_M",
    "tiny-llama256-Q6_K",   "tiny-llama256-Q8_0",
};

/* The model file a manifest names, as a path under shared/fixtures (malloc'd). */
static char *model_of(const char *fixture)
{
    char rel[512];
    snprintf(rel, sizeof rel, "fixtures/%s/manifest.json", fixture);
    char *path = pt_test_shared_path(rel);
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    if (!root) fail_msg("%s: %s", path, e.text);
    const char *file = json_string_value(json_object_get(root, "model_file_relative_to_manifest"));
    if (!file) {
        fail_msg("%s: no model_file_relative_to_manifest", path);
        return NULL;
    }
    snprintf(rel, sizeof rel, "fixtures/%s/%s", fixture, file);
    json_decref(root);
    free(path);
    return pt_test_shared_path(rel);
}

static void test_quantized_fixtures(void **state)
{
    (void)state;
    double worst_all = 0;
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        char *model_path = model_of(fixtures[f]);
        ptune_model *m = NULL;
        if (ptune_model_load(model_path, NULL, &m)) fail_msg("%s: %s", model_path, ptune_last_error());
        ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_ALL);
        const int V = ptune_model_n_vocab(m);
        double worst = 0;
        const char *cases[] = {"forward_t7", "forward_t33"};
        for (int k = 0; k < 2; k++) {
            char rel[512];
            snprintf(rel, sizeof rel, "fixtures/%s/%s.safetensors", fixtures[f], cases[k]);
            char *path = pt_test_shared_path(rel);
            pt_safetensors st;
            assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
            size_t n_ids, n_ref;
            int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
            double *ref = pt_test_tensor_f64(&st, "logits_f64", &n_ref);
            int32_t len = (int32_t)n_ids;
            const int32_t *seqs[1] = {ids};
            ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
            if (ptune_forward(c, NULL, &b)) fail_msg("%s %s: %s", fixtures[f], cases[k], ptune_last_error());
            const float *logits;
            int32_t rows;
            assert_int_equal(ptune_logits(c, 0, &logits, &rows), PTUNE_OK);
            assert_int_equal(rows, len);
            assert_int_equal(n_ref, (size_t)len * (size_t)V);
            double err = pt_test_max_abs_diff_fd(logits, ref, n_ref);
            if (!(err <= LOGIT_TOL)) fail_msg("%s %s: max |logit error| %.3g > %.0e", fixtures[f], cases[k], err, LOGIT_TOL);
            worst = fmax(worst, err);
            free(ids);
            free(ref);
            pt_safetensors_close(&st);
            free(path);
        }
        print_message("%-22s %-6s max |logit error| %.2e\n", fixtures[f], ptune_model_file_dtype(m), worst);
        /* one type among all matrices is named; llama-quantize's mixes are "mixed" */
        if (!strcmp(fixtures[f], "tiny-llama256-Q6_K")) assert_string_equal(ptune_model_file_dtype(m), "Q6_K");
        if (!strcmp(fixtures[f], "tiny-llama256-Q8_0")) assert_string_equal(ptune_model_file_dtype(m), "Q8_0");
        if (!strcmp(fixtures[f], "tiny-llama256-Q4_K_M")) assert_string_equal(ptune_model_file_dtype(m), "mixed");
        worst_all = fmax(worst_all, worst);
        ptune_ctx_free(c);
        ptune_model_free(m);
        free(model_path);
    }
    print_message("worst over the 10 quantized fixtures: %.2e\n", worst_all);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_quantized_fixtures)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
