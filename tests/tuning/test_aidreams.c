/* aidreams260K, a real trained tiny Llama: GGUF and HF forms agree, match the golden logits
 * of ../shared/models/aidreams260K-golden.json, and greedy decoding from BOS reproduces the
 * golden 40 ids. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "ptune/ptune.h"

static json_t *golden(void)
{
    char *path = pt_test_shared_path("models/aidreams260K-golden.json");
    json_error_t e;
    json_t *g = json_load_file(path, 0, &e);
    if (!g) fail_msg("%s: %s", path, e.text);
    free(path);
    return g;
}

static ptune_ctx *forward_ids(ptune_model *m, const int32_t *ids, int32_t n)
{
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.logits = PTUNE_LOGITS_ALL;
    cp.max_tokens = 128;
    ptune_ctx *c;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);
    const int32_t *seqs[1] = {ids};
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &n};
    if (ptune_forward(c, NULL, &b)) fail_msg("forward: %s", ptune_last_error());
    return c;
}

static int32_t argmax(const float *row, int V)
{
    int32_t best = 0;
    for (int v = 1; v < V; v++)
        if (row[v] > row[best]) best = v;
    return best;
}

static void test_golden_logits(void **state)
{
    (void)state;
    json_t *g = golden();
    ptune_model *gg = pt_test_load_model("models/aidreams260K.gguf"), *hf = pt_test_load_model("models/aidreams260K-hf");
    json_t *cases = json_object_get(g, "logits");
    assert_true(json_array_size(cases) >= 3);
    double worst_ref = 0, worst_forms = 0;
    size_t i;
    json_t *cs;
    json_array_foreach(cases, i, cs) {
        json_t *jids = json_object_get(cs, "ids");
        int32_t n = (int32_t)json_array_size(jids), ids[128];
        assert_true(n > 0 && n <= 128);
        for (int k = 0; k < n; k++) ids[k] = (int32_t)json_integer_value(json_array_get(jids, (size_t)k));
        ptune_ctx *a = forward_ids(gg, ids, n), *b = forward_ids(hf, ids, n);
        const float *la, *lb;
        int32_t rows;
        assert_int_equal(ptune_logits(a, 0, &la, &rows), PTUNE_OK);
        assert_int_equal(ptune_logits(b, 0, &lb, &rows), PTUNE_OK);
        assert_int_equal(rows, n);
        for (size_t k = 0; k < (size_t)n * 512; k++) {
            double d = fabs((double)la[k] - lb[k]);
            if (!(d <= worst_forms)) worst_forms = d;
        }
        json_t *ref = json_object_get(cs, "last_position_logits");
        assert_int_equal(json_array_size(ref), 512);
        const float *last = la + (size_t)(n - 1) * 512;
        for (size_t v = 0; v < 512; v++) {
            double d = fabs(last[v] - json_real_value(json_array_get(ref, v)));
            if (!(d <= worst_ref)) worst_ref = d;
        }
        json_t *am = json_object_get(cs, "argmax_per_position");
        for (int p = 0; p < n; p++)
            assert_int_equal(argmax(la + (size_t)p * 512, 512), json_integer_value(json_array_get(am, (size_t)p)));
        ptune_ctx_free(a);
        ptune_ctx_free(b);
    }
    printf("# aidreams: max |GGUF - reference| %.3g, max |GGUF - HF| %.3g\n", worst_ref, worst_forms);
    assert_true(worst_ref <= 1e-4);
    assert_true(worst_forms <= 1e-5);
    ptune_model_free(gg);
    ptune_model_free(hf);
    json_decref(g);
}

static void greedy(const char *rel, const json_t *want)
{
    ptune_model *m = pt_test_load_model(rel);
    int32_t ids[64];
    int32_t n = 1;
    ids[0] = ptune_model_bos_id(m);
    assert_int_equal(ids[0], 1);
    size_t total = json_array_size(want);
    assert_int_equal(total, 41);
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.logits = PTUNE_LOGITS_LAST;
    cp.max_tokens = 64;
    ptune_ctx *c;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);
    while ((size_t)n < total) {
        const int32_t *seqs[1] = {ids};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &n};
        assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
        const float *l;
        int32_t rows;
        assert_int_equal(ptune_logits(c, 0, &l, &rows), PTUNE_OK);
        assert_int_equal(rows, 1);
        ids[n++] = argmax(l, 512);
    }
    for (size_t k = 0; k < total; k++) assert_int_equal(ids[k], json_integer_value(json_array_get(want, k)));
    ptune_ctx_free(c);
    ptune_model_free(m);
}

static void test_greedy_from_bos(void **state)
{
    (void)state;
    json_t *g = golden();
    const json_t *want = json_object_get(json_object_get(g, "greedy_from_bos_40"), "ids");
    greedy("models/aidreams260K.gguf", want);
    greedy("models/aidreams260K-hf", want);
    json_decref(g);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_logits),
        cmocka_unit_test(test_greedy_from_bos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
