/* End-to-end training against ../shared/fixtures: the 10-step AdamW trajectories (with and without
 * clipping at 1.0) of every tiny model — loss, learning rate, gradient norm, prompt, moments. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"
#include "tuning/optimizer.h"

#define LOSS_ABS_TOL 1e-5
#define LR_ABS_TOL 1e-12
#define NORM_REL_TOL 1e-4
#define PROMPT_ABS_TOL 1e-5
#define EXP_AVG_ABS_TOL 1e-6
#define EXP_AVG_SQ_ABS_TOL 1e-7

static const char *const models[] = {"tiny-bloom", "tiny-gpt2", "tiny-llama", "tiny-qwen2"};

static double worst_loss, worst_lr, worst_norm_rel, worst_traj, worst_final, worst_m, worst_v;

static double max_abs_diff(const float *got, const double *want, size_t n)
{
    double w = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= w)) w = d; /* NaN propagates as the worst */
    }
    return w;
}

static void run_case(ptune_model *m, const char *model, const char *case_name, float max_grad_norm)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/%s/%s.safetensors", model, case_name);
    char *path = pt_test_shared_path(rel);
    pt_safetensors st;
    if (pt_safetensors_open(path, &st)) fail_msg("%s: %s", path, ptune_last_error());

    size_t n_ids, n_mask, n_labels, n_loss, n_lr, n_norm, n_coef, n_init, n_traj, n_final, n_m, n_v;
    int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n_ids);
    int32_t *mask = pt_test_tensor_i32(&st, "attention_mask", &n_mask);
    int32_t *labels = pt_test_tensor_i32(&st, "labels", &n_labels);
    double *loss_ref = pt_test_tensor_f64(&st, "loss_f64", &n_loss);
    double *lr_ref = pt_test_tensor_f64(&st, "lr", &n_lr);
    double *norm_ref = pt_test_tensor_f64(&st, "grad_norm_f64", &n_norm);
    double *coef_ref = pt_test_tensor_f64(&st, "clip_coef_f64", &n_coef);
    double *init = pt_test_tensor_f64(&st, "prompt_init", &n_init);
    double *traj = pt_test_tensor_f64(&st, "prompt_traj_f64", &n_traj);
    double *final_ref = pt_test_tensor_f64(&st, "prompt_final_f64", &n_final);
    double *m_ref = pt_test_tensor_f64(&st, "exp_avg_final_f64", &n_m);
    double *v_ref = pt_test_tensor_f64(&st, "exp_avg_sq_final_f64", &n_v);
    const pt_tensor_view *idv = pt_safetensors_find(&st, "input_ids");
    assert_non_null(idv);
    assert_int_equal(idv->n_dims, 3);
    const int steps = (int)idv->shape[0], batch = (int)idv->shape[1], smax = (int)idv->shape[2];
    const int32_t n_embd = ptune_model_n_embd(m);
    const int32_t nv = (int32_t)(n_init / (size_t)n_embd);
    assert_int_equal((size_t)nv * (size_t)n_embd, n_init);
    assert_int_equal(n_mask, n_ids);
    assert_int_equal(n_labels, n_ids);
    assert_int_equal(n_loss, (size_t)steps);
    assert_int_equal(n_lr, (size_t)steps);
    assert_int_equal(n_norm, (size_t)steps);
    assert_int_equal(n_coef, (size_t)steps);
    assert_int_equal(n_traj, (size_t)(steps + 1) * n_init);
    assert_int_equal(n_final, n_init);

    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = nv;
    ptune_prompt *prompt = NULL;
    assert_int_equal(ptune_prompt_new(m, &pp, &prompt), PTUNE_OK);
    float *values = ptune_prompt_values(prompt);
    for (size_t i = 0; i < n_init; i++) values[i] = (float)init[i];
    memset(ptune_prompt_grad(prompt), 0, n_init * sizeof(float));

    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.training = 1;
    cp.max_tokens = batch * (nv + smax);
    ptune_ctx *c = NULL;
    assert_int_equal(ptune_ctx_new(m, &cp, &c), PTUNE_OK);

    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    op.lr = 5e-3f;
    op.beta1 = 0.9f;
    op.beta2 = 0.999f;
    op.eps = 1e-8f;
    op.weight_decay = 0.0f;
    op.schedule = PTUNE_SCHEDULE_LINEAR;
    op.total_steps = steps;
    op.warmup_steps = 0;
    op.max_grad_norm = max_grad_norm;
    ptune_optimizer *o = NULL;
    if (ptune_optimizer_new(&op, prompt, &o)) fail_msg("ptune_optimizer_new: %s", ptune_last_error());

    double case_loss = 0, case_norm = 0, case_traj = 0, case_lr = 0;
    const int32_t **id_rows = malloc(sizeof *id_rows * (size_t)batch);
    const int32_t **label_rows = malloc(sizeof *label_rows * (size_t)batch);
    int32_t *lens = malloc(sizeof *lens * (size_t)batch);
    assert_non_null(id_rows);
    assert_non_null(label_rows);
    assert_non_null(lens);
    for (int k = 0; k < steps; k++) {
        for (int s = 0; s < batch; s++) {
            size_t base = ((size_t)k * (size_t)batch + (size_t)s) * (size_t)smax;
            int len = 0;
            while (len < smax && mask[base + (size_t)len]) len++;
            for (int t = len; t < smax; t++)
                if (mask[base + (size_t)t]) fail_msg("%s/%s: step %d seq %d: attention_mask is not right-padded", model, case_name, k, s);
            assert_true(len >= 1);
            id_rows[s] = ids + base;
            label_rows[s] = labels + base;
            lens[s] = len;
        }
        ptune_batch b = {.n_seq = batch, .ids = id_rows, .labels = label_rows, .len = lens};
        if (ptune_forward(c, prompt, &b)) fail_msg("%s/%s step %d: forward: %s", model, case_name, k, ptune_last_error());
        double loss;
        assert_int_equal(ptune_loss(c, &loss, NULL), PTUNE_OK);
        double dl = fabs(loss - loss_ref[k]);
        if (!(dl <= case_loss)) case_loss = dl;
        if (ptune_backward(c, prompt)) fail_msg("%s/%s step %d: backward: %s", model, case_name, k, ptune_last_error());

        double lr = ptune_optimizer_lr(o);
        double dlr = fabs(lr - lr_ref[k]);
        if (dlr > case_lr) case_lr = dlr;
        if (ptune_optimizer_step(o, prompt)) fail_msg("%s/%s step %d: optimizer: %s", model, case_name, k, ptune_last_error());
        double norm = ptune_optimizer_last_grad_norm(o);
        double dn = fabs(norm - norm_ref[k]) / norm_ref[k];
        if (!(dn <= case_norm)) case_norm = dn;
        if (max_grad_norm > 0) {
            double coef = (double)max_grad_norm / (norm + 1e-6);
            if (coef > 1.0) coef = 1.0;
            if (!(fabs(coef - coef_ref[k]) <= NORM_REL_TOL * coef_ref[k]))
                fail_msg("%s/%s step %d: clip coefficient %.9g, want %.9g", model, case_name, k, coef, coef_ref[k]);
        }
        double dt = max_abs_diff(values, traj + (size_t)(k + 1) * n_init, n_init);
        if (!(dt <= case_traj)) case_traj = dt;
        if (!(dl <= LOSS_ABS_TOL) || !(dlr <= LR_ABS_TOL) || !(dn <= NORM_REL_TOL))
            fail_msg("%s/%s step %d: loss %.9f (want %.9f), lr %.17g (want %.17g), grad norm %.9g (want %.9g)", model,
                     case_name, k, loss, loss_ref[k], lr, lr_ref[k], norm, norm_ref[k]);
    }
    assert_int_equal(ptune_optimizer_steps(o), steps);
    double dfinal = max_abs_diff(values, final_ref, n_init);
    double dm = max_abs_diff(o->exp_avg, m_ref, n_m);
    double dv = max_abs_diff(o->exp_avg_sq, v_ref, n_v);
    printf("  %-10s %-18s loss %.2e  lr %.1e  grad-norm rel %.2e  traj %.2e  final %.2e  m %.2e  v %.2e\n", model,
           case_name, case_loss, case_lr, case_norm, case_traj, dfinal, dm, dv);
    if (case_loss > worst_loss) worst_loss = case_loss;
    if (case_lr > worst_lr) worst_lr = case_lr;
    if (case_norm > worst_norm_rel) worst_norm_rel = case_norm;
    if (case_traj > worst_traj) worst_traj = case_traj;
    if (!(dfinal <= worst_final)) worst_final = dfinal;
    if (!(dm <= worst_m)) worst_m = dm;
    if (!(dv <= worst_v)) worst_v = dv;
    if (!(dfinal <= PROMPT_ABS_TOL)) fail_msg("%s/%s: final prompt off by %.3g", model, case_name, dfinal);
    if (!(case_traj <= PROMPT_ABS_TOL)) fail_msg("%s/%s: trajectory off by %.3g", model, case_name, case_traj);
    if (!(dm <= EXP_AVG_ABS_TOL)) fail_msg("%s/%s: exp_avg off by %.3g", model, case_name, dm);
    if (!(dv <= EXP_AVG_SQ_ABS_TOL)) fail_msg("%s/%s: exp_avg_sq off by %.3g", model, case_name, dv);

    free(id_rows);
    free(label_rows);
    free(lens);
    ptune_optimizer_free(o);
    ptune_ctx_free(c);
    ptune_prompt_free(prompt);
    free(ids);
    free(mask);
    free(labels);
    free(loss_ref);
    free(lr_ref);
    free(norm_ref);
    free(coef_ref);
    free(init);
    free(traj);
    free(final_ref);
    free(m_ref);
    free(v_ref);
    pt_safetensors_close(&st);
    free(path);
}

static void test_train_trajectories(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "fixtures/models/%s", models[i]);
        char *path = pt_test_shared_path(rel);
        ptune_model *m = NULL;
        if (ptune_model_load(path, NULL, &m)) fail_msg("%s: %s", path, ptune_last_error());
        free(path);
        run_case(m, models[i], "train_adamw", 0.0f);
        run_case(m, models[i], "train_adamw_clip1", 1.0f);
        ptune_model_free(m);
    }
    printf("train fixtures: worst loss %.2e (tol %.0e), lr %.1e, grad-norm rel %.2e, trajectory %.2e, final prompt "
           "%.2e (tol %.0e), exp_avg %.2e, exp_avg_sq %.2e\n",
           worst_loss, LOSS_ABS_TOL, worst_lr, worst_norm_rel, worst_traj, worst_final, PROMPT_ABS_TOL, worst_m, worst_v);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_train_trajectories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
