/* Every quantized fixture model (../shared/fixtures/models/<name>-<FTYPE>.gguf: Q8_0, Q4_0, Q4_K_M, Q5_K_M,
 * Q6_K mixes over Llama, Qwen2, GPT-2 and BLOOM) loads and reproduces its reference logits
 * (<name>-<FTYPE>/forward_t7, forward_t33: the HF-semantics forward on the exactly dequantized
 * weights, in float64) within 1e-4 with both weight storages (f32: dequantized at load; native: the
 * blocks kept and converted per panel), which give identical logits; native storage keeps the
 * file's tensor bytes resident. */
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

/* Logits of forward_t7 and forward_t33 (concatenated, malloc'd) with the given storage; fails
 * beyond LOGIT_TOL of the float64 reference. *worst receives the largest error. */
static float *check_fixture(const char *fixture, const char *model_path, ptune_storage storage, double *worst,
                            ptune_model **out)
{
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = storage;
    ptune_model *m = NULL;
    if (ptune_model_load(model_path, &mp, &m)) fail_msg("%s: %s", model_path, ptune_last_error());
    assert_int_equal(ptune_model_storage(m), storage);
    ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_ALL);
    const int V = ptune_model_n_vocab(m);
    const char *cases[] = {"forward_t7", "forward_t33"};
    float *all = NULL;
    size_t n_all = 0;
    *worst = 0;
    for (int k = 0; k < 2; k++) {
        char rel[512];
        snprintf(rel, sizeof rel, "fixtures/%s/%s.safetensors", fixture, cases[k]);
        char *path = pt_test_shared_path(rel);
        pt_safetensors st;
        assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
        size_t n_ids, n_ref;
        int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
        double *ref = pt_test_tensor_f64(&st, "logits_f64", &n_ref);
        int32_t len = (int32_t)n_ids;
        const int32_t *seqs[1] = {ids};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
        if (ptune_forward(c, NULL, &b)) fail_msg("%s %s: %s", fixture, cases[k], ptune_last_error());
        const float *logits;
        int32_t rows;
        assert_int_equal(ptune_logits(c, 0, &logits, &rows), PTUNE_OK);
        assert_int_equal(rows, len);
        assert_int_equal(n_ref, (size_t)len * (size_t)V);
        double err = pt_test_max_abs_diff_fd(logits, ref, n_ref);
        if (!(err <= LOGIT_TOL))
            fail_msg("%s %s (%s storage): max |logit error| %.3g > %.0e", fixture, cases[k],
                     storage == PTUNE_STORAGE_NATIVE ? "native" : "f32", err, LOGIT_TOL);
        *worst = fmax(*worst, err);
        all = realloc(all, (n_all + n_ref) * sizeof *all);
        assert_non_null(all);
        memcpy(all + n_all, logits, n_ref * sizeof *all);
        n_all += n_ref;
        free(ids);
        free(ref);
        pt_safetensors_close(&st);
        free(path);
    }
    ptune_ctx_free(c);
    *out = m;
    return all;
}

/* The tensor-type table: every type's tensors, file bytes and resident bytes; with native
 * storage a quantized type stays at its file size, with f32 storage it is 4 bytes per value. */
static void check_types(const ptune_model *m, int64_t *file_total, int64_t *resident_total)
{
    const int n = ptune_model_n_weight_types(m);
    assert_true(n >= 2); /* the fixtures mix F32 norms with quantized matrices */
    *file_total = *resident_total = 0;
    for (int i = 0; i < n; i++) {
        const char *name;
        int32_t k;
        int64_t fb, rb;
        assert_int_equal(ptune_model_weight_type(m, i, &name, &k, &fb, &rb), PTUNE_OK);
        assert_true(k > 0 && fb > 0 && rb > 0);
        if (ptune_model_storage(m) == PTUNE_STORAGE_NATIVE || !strcmp(name, "F32")) assert_true(rb == fb);
        else assert_true(rb > fb);
        *file_total += fb;
        *resident_total += rb;
    }
    assert_int_equal(ptune_model_weight_type(m, n, NULL, NULL, NULL, NULL), PTUNE_E_INVALID_ARG);
}

/* Greedy generation of 12 tokens (KV cache, decode-sized products) from a few ids. */
static void greedy(ptune_model *m, int32_t *out, int32_t *n_out)
{
    ptune_ctx *c = pt_test_new_ctx(m, PTUNE_LOGITS_NONE);
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = 12;
    sp.ignore_eos = 1;
    const int32_t ids[4] = {1, 17, 42, 99};
    if (ptune_generate(c, NULL, ids, 4, &sp, out, 12, n_out, NULL, NULL)) fail_msg("generate: %s", ptune_last_error());
    ptune_ctx_free(c);
}

static void test_quantized_fixtures(void **state)
{
    (void)state;
    double worst_all = 0;
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        char *model_path = model_of(fixtures[f]);
        ptune_model *m32, *mn;
        double worst32, worst_native;
        float *l32 = check_fixture(fixtures[f], model_path, PTUNE_STORAGE_F32, &worst32, &m32);
        float *ln = check_fixture(fixtures[f], model_path, PTUNE_STORAGE_NATIVE, &worst_native, &mn);
        /* the same dequantized values in the same products */
        assert_true(worst32 == worst_native);
        const size_t n = (size_t)ptune_model_n_vocab(m32) * (7 + 33);
        for (size_t i = 0; i < n; i++)
            if (l32[i] != ln[i]) fail_msg("%s: logit %zu differs between storages: %.9g vs %.9g", fixtures[f], i, l32[i], ln[i]);
        /* generation (decode-sized products, KV cache) picks the same tokens */
        int32_t g32[12], gn[12], n32 = 0, nn = 0;
        greedy(m32, g32, &n32);
        greedy(mn, gn, &nn);
        assert_int_equal(n32, 12);
        assert_int_equal(nn, 12);
        assert_memory_equal(g32, gn, sizeof g32);
        int64_t file32, res32, file_n, res_n;
        check_types(m32, &file32, &res32);
        check_types(mn, &file_n, &res_n);
        assert_true(file32 == file_n);
        assert_true(res_n < res32);
        /* resident native weights: the tensors the model uses (a tied head once) plus fp32 copies
         * of nothing but norms, biases and positions, and alignment */
        assert_true(ptune_model_weight_bytes(mn) >= res_n && ptune_model_weight_bytes(mn) <= res_n + 64 * 1024);
        print_message("%-22s %-6s max |logit error| %.2e (both storages), weights %lld -> %lld bytes\n", fixtures[f],
                      ptune_model_file_dtype(m32), worst32, (long long)ptune_model_weight_bytes(m32),
                      (long long)ptune_model_weight_bytes(mn));
        /* one type among all matrices is named; llama-quantize's mixes are "mixed" */
        if (!strcmp(fixtures[f], "tiny-llama256-Q6_K")) assert_string_equal(ptune_model_file_dtype(m32), "Q6_K");
        if (!strcmp(fixtures[f], "tiny-llama256-Q8_0")) assert_string_equal(ptune_model_file_dtype(m32), "Q8_0");
        if (!strcmp(fixtures[f], "tiny-llama256-Q4_K_M")) assert_string_equal(ptune_model_file_dtype(m32), "mixed");
        worst_all = fmax(worst_all, worst32);
        free(l32);
        free(ln);
        ptune_model_free(m32);
        ptune_model_free(mn);
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
