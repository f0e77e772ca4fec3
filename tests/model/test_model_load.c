/* Model loading from ../shared: hyper-parameters, parameter counts, tying, dtypes and memory
 * figures of every fixture model in both HF and GGUF form, and aidreams260K. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

typedef struct expect {
    const char *base;
    const char *arch;
    int32_t embd, layers, heads, kv_heads, head_dim, ff, ctx;
    int64_t params;
    bool tied;
} expect;

/* From ../shared/fixtures/README.md, GGUF.md and the config.json files. */
static const expect models[] = {
    {"tiny-bloom", "bloom", 72, 4, 6, 6, 12, 288, 0, 289728, true},
    {"tiny-gpt2", "gpt2", 64, 3, 4, 4, 16, 256, 128, 191040, true},
    {"tiny-llama", "llama", 64, 3, 4, 2, 16, 172, 256, 201920, false},
    {"tiny-qwen2", "qwen2", 64, 2, 8, 2, 8, 128, 512, 102912, true},
};

static void check(const expect *e, const char *rel, const char *dtype)
{
    char *path = pt_test_shared_path(rel);
    ptune_model *m = NULL;
    ptune_status s = ptune_model_load(path, NULL, &m);
    if (s) fail_msg("%s: %s", path, ptune_last_error());
    assert_string_equal(ptune_model_arch_name(m), e->arch);
    assert_int_equal(ptune_model_n_embd(m), e->embd);
    assert_int_equal(ptune_model_n_layer(m), e->layers);
    assert_int_equal(ptune_model_n_head(m), e->heads);
    assert_int_equal(ptune_model_n_head_kv(m), e->kv_heads);
    assert_int_equal(ptune_model_head_dim(m), e->head_dim);
    assert_int_equal(ptune_model_n_ff(m), e->ff);
    assert_int_equal(ptune_model_n_vocab(m), 512);
    assert_int_equal(ptune_model_n_ctx(m), e->ctx);
    assert_int_equal(ptune_model_n_params(m), e->params);
    assert_int_equal(ptune_model_weight_bytes(m), e->params * 4);
    assert_int_equal(ptune_model_tied_head(m), e->tied);
    assert_string_equal(ptune_model_file_dtype(m), dtype);
    assert_int_equal(ptune_model_bos_id(m), 1);
    assert_int_equal(ptune_model_eos_id(m), 2);
    ptune_model_free(m);
    free(path);
}

static void test_fixture_models(void **state)
{
    (void)state;
    const char *suffix[] = {"", "-f16", "-bf16"}, *dtype[] = {"F32", "F16", "BF16"};
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
        for (int k = 0; k < 3; k++) {
            char rel[256];
            snprintf(rel, sizeof rel, "fixtures/models/%s%s", models[i].base, suffix[k]);
            check(&models[i], rel, dtype[k]);
            snprintf(rel, sizeof rel, "fixtures/models/%s%s.gguf", models[i].base, suffix[k]);
            check(&models[i], rel, dtype[k]);
        }
}

static void test_aidreams(void **state)
{
    (void)state;
    const expect e = {"aidreams260K", "llama", 64, 4, 4, 4, 16, 172, 128, 230976, true};
    check(&e, "models/aidreams260K.gguf", "F32");
    check(&e, "models/aidreams260K-hf", "F32");
}

static void test_null_handles(void **state)
{
    (void)state;
    ptune_model_free(NULL);
    assert_int_equal(ptune_model_n_embd(NULL), 0);
    assert_null(ptune_model_arch_name(NULL));
    ptune_model *m = (ptune_model *)0x1;
    assert_int_equal(ptune_model_load(NULL, NULL, &m), PTUNE_E_INVALID_ARG);
    assert_null(m);
    assert_int_equal(ptune_model_load("x", NULL, NULL), PTUNE_E_INVALID_ARG);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_models),
        cmocka_unit_test(test_aidreams),
        cmocka_unit_test(test_null_handles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
