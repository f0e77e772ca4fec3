/* Backward to the prompt against ../shared/fixtures: for every model (F32/F16/BF16, HF and GGUF,
 * each with f32 and native weight storage) and every prompt case (single, masked span, ragged
 * batch) the loss and d loss / d prompt match the float64 references; a finite-difference check per architecture; frozen weights stay
 * bit-identical through training. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "ptune/ptune.h"

#define LOSS_REL_TOL 1e-5
#define GRAD_REL_TOL 1e-4

static const char *const variants[] = {
    "tiny-bloom", "tiny-bloom-f16", "tiny-bloom-bf16", "tiny-gpt2",  "tiny-gpt2-f16",  "tiny-gpt2-bf16",
    "tiny-llama", "tiny-llama-f16", "tiny-llama-bf16", "tiny-qwen2", "tiny-qwen2-f16", "tiny-qwen2-bf16",
};

static double worst_loss_rel, worst_grad_rel;

static ptune_ctx *train_ctx(ptune_model *m, int threads, int recompute)
{
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.training = 1;
    cp.recompute = recompute;
    cp.max_tokens = 128;
    cp.n_threads = threads;
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);
    return c;
}

static ptune_prompt *prompt_from(ptune_model *m, const double *vals, int nv)
{
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = nv;
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    float *v = ptune_prompt_values(p);
    for (int i = 0; i < nv * ptune_model_n_embd(m); i++) v[i] = (float)vals[i];
    memset(ptune_prompt_grad(p), 0, sizeof(float) * (size_t)(nv * ptune_model_n_embd(m)));
    return p;
}

static double rel_l2(const float *got, const double *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = got[i] - want[i];
        num += d * d;
        den += want[i] * want[i];
    }
    return sqrt(num) / sqrt(den);
}

/* One prompt case on one model form: forward, loss, backward, compare. */
static void check_case(ptune_model *m, const char *rel, const char *label)
{
    char *path = pt_test_shared_path(rel);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    size_t n_ids, n_lab, n_len = 1, np, ng, one;
    int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
    int32_t *labels = pt_test_tensor_i32(&st, "labels", &n_lab);
    int32_t *lens = pt_safetensors_find(&st, "seq_lengths") ? pt_test_tensor_i32(&st, "seq_lengths", &n_len) : NULL;
    double *pv = pt_test_tensor_f64(&st, "prompt_embeddings", &np);
    double *grad = pt_test_tensor_f64(&st, "grad_f64", &ng);
    double *loss_ref = pt_test_tensor_f64(&st, "loss_f64", &one);
    const int D = ptune_model_n_embd(m), nv = (int)(np / (size_t)D);
    int32_t single_len = (int32_t)n_ids;
    const int nseq = (int)n_len, T = (int)(n_ids / n_len);
    const int32_t *seqs[8], *labs[8];
    for (int s = 0; s < nseq; s++) {
        seqs[s] = ids + (size_t)s * T;
        labs[s] = labels + (size_t)s * T;
    }
    ptune_prompt *p = prompt_from(m, pv, nv);
    ptune_ctx *c = train_ctx(m, 2, 0);
    ptune_batch b = {.n_seq = nseq, .ids = seqs, .labels = labs, .len = lens ? lens : &single_len};
    if (ptune_forward(c, p, &b)) fail_msg("%s: forward: %s", label, ptune_last_error());
    double loss;
    assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_OK);
    if (ptune_backward(c, p)) fail_msg("%s: backward: %s", label, ptune_last_error());
    double lrel = fabs(loss - loss_ref[0]) / fabs(loss_ref[0]);
    double grel = rel_l2(ptune_prompt_grad(p), grad, ng);
    if (lrel > worst_loss_rel) worst_loss_rel = lrel;
    if (!(grel <= worst_grad_rel)) worst_grad_rel = grel;
    if (!(lrel <= LOSS_REL_TOL)) fail_msg("%s: loss %.9f vs %.9f", label, loss, loss_ref[0]);
    if (!(grel <= GRAD_REL_TOL)) fail_msg("%s: gradient relative error %.3g", label, grel);
    /* recomputing the blocks' activations in backward runs the same arithmetic: identical */
    const size_t gbytes = sizeof(float) * ng;
    float *g_kept = malloc(gbytes);
    assert_non_null(g_kept);
    memcpy(g_kept, ptune_prompt_grad(p), gbytes);
    ptune_ctx *cr = train_ctx(m, 2, 1);
    memset(ptune_prompt_grad(p), 0, gbytes);
    double loss_r;
    assert_int_equal(ptune_forward(cr, p, &b), PTUNE_OK);
    assert_int_equal(ptune_loss(cr, &loss_r, NULL), PTUNE_OK);
    assert_int_equal(ptune_backward(cr, p), PTUNE_OK);
    assert_true(loss_r == loss);
    if (memcmp(g_kept, ptune_prompt_grad(p), gbytes)) fail_msg("%s: recompute changed the gradient", label);
    ptune_ctx_free(cr);
    free(g_kept);
    /* a second backward accumulates: the gradient doubles */
    assert_int_equal(ptune_backward(c, p), PTUNE_OK);
    assert_true(rel_l2(ptune_prompt_grad(p), grad, ng) > 0.5);
    ptune_ctx_free(c);
    ptune_prompt_free(p);
    free(ids);
    free(labels);
    free(lens);
    free(pv);
    free(grad);
    free(loss_ref);
    pt_safetensors_close(&st);
    free(path);
}

static void test_variant(void **state)
{
    const char *name = *state;
    char rel[512], label[600];
    snprintf(rel, sizeof rel, "fixtures/%s/manifest.json", name);
    char *manifest_path = pt_test_shared_path(rel);
    json_error_t jerr;
    json_t *manifest = json_load_file(manifest_path, 0, &jerr);
    if (!manifest) fail_msg("%s: %s", manifest_path, jerr.text);
    const char *forms[2] = {"fixtures/models/%s", "fixtures/models/%s.gguf"};
    int checked = 0;
    for (int f = 0; f < 4; f++) {
        const ptune_storage storage = f < 2 ? PTUNE_STORAGE_F32 : PTUNE_STORAGE_NATIVE;
        snprintf(rel, sizeof rel, forms[f % 2], name);
        ptune_model *m = pt_test_load_model_storage(rel, storage);
        size_t i;
        json_t *cs;
        json_array_foreach(json_object_get(manifest, "cases"), i, cs) {
            const char *kind = json_string_value(json_object_get(cs, "kind"));
            const char *cname = json_string_value(json_object_get(cs, "name"));
            if (strcmp(kind, "prompt") && strcmp(kind, "prompt_batch")) continue;
            snprintf(rel, sizeof rel, "fixtures/%s/%s.safetensors", name, cname);
            snprintf(label, sizeof label, "%s %s %s %s storage", name, f % 2 ? "GGUF" : "HF", cname,
                     storage == PTUNE_STORAGE_NATIVE ? "native" : "f32");
            check_case(m, rel, label);
            checked++;
        }
        ptune_model_free(m);
    }
    assert_true(checked >= 4);
    json_decref(manifest);
    free(manifest_path);
}

/* Central differences on a few prompt coordinates of each F32 model. The loss is computed in
 * double from float32 activations, whose rounding (~1e-7 relative) bounds the accuracy of a
 * difference quotient: with h = 1e-2 the truncation error (h² · third derivative, O(1e-5) here)
 * and the rounding error (1e-7 · |loss| / h ≈ 1e-4) both stay well below the 2e-3 tolerance
 * applied to gradients of magnitude ~1e-2..1. */
static void test_finite_differences(void **state)
{
    (void)state;
    const char *models[] = {"tiny-bloom", "tiny-gpt2", "tiny-llama", "tiny-qwen2"};
    const int32_t seq[] = {17, 300, 42, 7, 99, 3, 256, 11};
    const int32_t len = 8;
    for (int mi = 0; mi < 4; mi++) {
        char rel[256];
        snprintf(rel, sizeof rel, "fixtures/models/%s", models[mi]);
        ptune_model *m = pt_test_load_model(rel);
        const int D = ptune_model_n_embd(m);
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = 3;
        pp.seed = 42;
        ptune_prompt *p;
        assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
        float *v = ptune_prompt_values(p);
        for (int i = 0; i < 3 * D; i++) v[i] *= 0.3f;
        ptune_ctx *c = train_ctx(m, 1, 0);
        const int32_t *seqs[1] = {seq};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
        assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
        assert_int_equal(ptune_backward(c, p), PTUNE_OK);
        const int coords[] = {0, 5, D + 1, 2 * D + D / 2, 3 * D - 1};
        for (size_t k = 0; k < sizeof coords / sizeof coords[0]; k++) {
            const int i = coords[k];
            const float h = 1e-2f, saved = v[i];
            double lp, lm;
            v[i] = saved + h;
            assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
            assert_int_equal(ptune_loss(c, &lp, NULL), PTUNE_OK);
            v[i] = saved - h;
            assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
            assert_int_equal(ptune_loss(c, &lm, NULL), PTUNE_OK);
            v[i] = saved;
            double fd = (lp - lm) / (2.0 * h), g = ptune_prompt_grad(p)[i];
            if (fabs(fd - g) > 2e-3 * fmax(1.0, fabs(g)))
                fail_msg("%s: coordinate %d: analytic %.6g vs finite difference %.6g", models[mi], i, g, fd);
        }
        ptune_ctx_free(c);
        ptune_prompt_free(p);
        ptune_model_free(m);
    }
}

/* Forward/backward/step never write the model's weights. */
static void test_weights_frozen(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("fixtures/models/tiny-llama");
    const size_t bytes = m->storage_floats * sizeof(float);
    float *copy = malloc(bytes);
    assert_non_null(copy);
    memcpy(copy, m->storage, bytes);
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 4;
    ptune_prompt *p;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 5e-3f;
    op.total_steps = 5;
    ptune_optimizer *o;
    assert_int_equal(ptune_optimizer_new(&op, p, &o), PTUNE_OK);
    ptune_ctx *c = train_ctx(m, 2, 0);
    const int32_t seq[] = {1, 2, 3, 4, 5, 6};
    const int32_t *seqs[1] = {seq};
    const int32_t len = 6;
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    double first = 0, last = 0;
    for (int step = 0; step < 5; step++) {
        assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
        assert_int_equal(ptune_loss(c, step ? &last : &first, NULL), PTUNE_OK);
        assert_int_equal(ptune_backward(c, p), PTUNE_OK);
        assert_int_equal(ptune_optimizer_step(o, p), PTUNE_OK);
    }
    assert_true(last < first); /* it learned something */
    assert_memory_equal(copy, m->storage, bytes);
    free(copy);
    ptune_optimizer_free(o);
    ptune_ctx_free(c);
    ptune_prompt_free(p);
    ptune_model_free(m);
}

static void test_backward_errors(void **state)
{
    (void)state;
    ptune_model *m = pt_test_load_model("fixtures/models/tiny-gpt2");
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = 2;
    ptune_prompt *p, *other;
    assert_int_equal(ptune_prompt_new(m, &pp, &p), PTUNE_OK);
    assert_int_equal(ptune_prompt_new(m, &pp, &other), PTUNE_OK);
    const int32_t seq[] = {1, 2, 3};
    const int32_t *seqs[1] = {seq};
    const int32_t len = 3;
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    ptune_ctx *infer;
    assert_int_equal(ptune_ctx_new(m, NULL, &infer), PTUNE_OK);
    assert_int_equal(ptune_forward(infer, p, &b), PTUNE_OK);
    assert_int_equal(ptune_backward(infer, p), PTUNE_E_STATE);
    assert_non_null(strstr(ptune_last_error(), "training"));
    ptune_ctx *c = train_ctx(m, 1, 0);
    assert_int_equal(ptune_backward(c, p), PTUNE_E_STATE); /* no forward yet */
    assert_int_equal(ptune_forward(c, NULL, &b), PTUNE_OK);
    assert_int_equal(ptune_backward(c, p), PTUNE_E_STATE); /* no prompt in that forward */
    assert_int_equal(ptune_forward(c, p, &b), PTUNE_OK);
    assert_int_equal(ptune_backward(c, other), PTUNE_E_INVALID_ARG);
    double l0, l1;
    assert_int_equal(ptune_seq_loss(c, 0, &l0, NULL), PTUNE_OK);
    assert_int_equal(ptune_loss(c, &l1, NULL), PTUNE_OK);
    assert_true(l0 == l1);
    ptune_ctx_free(c);
    ptune_ctx_free(infer);
    ptune_prompt_free(p);
    ptune_prompt_free(other);
    ptune_model_free(m);
}

static int report(void **state)
{
    (void)state;
    printf("# worst loss relative error %.3g, worst gradient relative L2 error %.3g\n", worst_loss_rel, worst_grad_rel);
    return 0;
}

int main(void)
{
    pt_test_shared();
    struct CMUnitTest tests[sizeof variants / sizeof variants[0] + 3];
    size_t n = 0;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
        struct CMUnitTest t = {variants[i], test_variant, NULL, NULL, (void *)variants[i]};
        tests[n++] = t;
    }
    struct CMUnitTest fd = cmocka_unit_test(test_finite_differences), fr = cmocka_unit_test(test_weights_frozen),
                      er = cmocka_unit_test(test_backward_errors);
    tests[n++] = fd;
    tests[n++] = fr;
    tests[n++] = er;
    return cmocka_run_group_tests(tests, NULL, report);
}
