/* Optimizer unit tests: AdamW, SGD (momentum, Nesterov) and Adafactor against double-precision
 * reimplementations of torch / HF transformers, schedules, clipping, accumulation, state files. */
#include "test_support.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/safetensors_write.h"
#include "ptune/ptune.h"
#include "tuning/optimizer.h"
#include "tuning/prompt.h"
#include "tuning/schedule.h"

/* |a - b| <= tol, in double (cmocka's assert_float_equal works in float) */
#define assert_near(a, b, tol) assert_near_at((double)(a), (double)(b), (double)(tol), #a, __LINE__)
static void assert_near_at(double a, double b, double tol, const char *expr, int line)
{
    if (!(fabs(a - b) <= tol)) fail_msg("line %d: %s = %.17g, want %.17g (tol %g)", line, expr, a, b, tol);
}

/* ---- fixtures ------------------------------------------------------------------------- */

static ptune_prompt *make_prompt(int32_t nv, int32_t ne)
{
    ptune_prompt *p = calloc(1, sizeof *p);
    assert_non_null(p);
    p->n_virtual = nv;
    p->n_embd = ne;
    p->values = calloc((size_t)nv * (size_t)ne, sizeof(float));
    p->grad = calloc((size_t)nv * (size_t)ne, sizeof(float));
    assert_non_null(p->values);
    assert_non_null(p->grad);
    return p;
}

static void free_prompt(ptune_prompt *p)
{
    if (!p) return;
    free(p->values);
    free(p->grad);
    free(p);
}

static size_t numel(const ptune_prompt *p) { return (size_t)p->n_virtual * (size_t)p->n_embd; }

/* deterministic uniform numbers in [-1, 1) */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static void fill_random(float *x, size_t n, double scale)
{
    for (size_t i = 0; i < n; i++) x[i] = (float)(urand() * scale);
}

static ptune_optimizer *new_opt(const ptune_optimizer_params *p, const ptune_prompt *pr)
{
    ptune_optimizer *o = NULL;
    ptune_status s = ptune_optimizer_new(p, pr, &o);
    if (s) fail_msg("ptune_optimizer_new: %s", ptune_last_error());
    assert_non_null(o);
    return o;
}

static void step_ok(ptune_optimizer *o, ptune_prompt *p)
{
    ptune_status s = ptune_optimizer_step(o, p);
    if (s) fail_msg("ptune_optimizer_step: %s", ptune_last_error());
}

/* |got - want| <= tol * max(|want|, floor) for every element */
static void assert_close_f(const float *got, const float *want, size_t n, double tol, double floor_, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        double scale = fabs((double)want[i]) > floor_ ? fabs((double)want[i]) : floor_;
        if (fabs((double)got[i] - (double)want[i]) > tol * scale)
            fail_msg("%s: element %zu: got %.9g, want %.9g", what, i, (double)got[i], (double)want[i]);
    }
}

static double linear_lr(double peak, int64_t k, int64_t warmup, int64_t total)
{
    if (k < warmup) return peak * (double)k / (double)(warmup > 1 ? warmup : 1);
    double f = (double)(total - k) / (double)(total - warmup > 1 ? total - warmup : 1);
    return peak * (f > 0 ? f : 0);
}

/* ---- double-precision references (the parameter is stored as float32, as in torch) ---- */

typedef struct ref_adamw {
    double *m, *v;
    int64_t t;
} ref_adamw;

static void ref_adamw_step(ref_adamw *r, float *p, const double *g, size_t n, double lr, double b1, double b2,
                           double eps, double wd)
{
    r->t++;
    double bc1 = 1.0 - pow(b1, (double)r->t), bc2 = 1.0 - pow(b2, (double)r->t);
    for (size_t i = 0; i < n; i++) {
        double x = (double)p[i] * (1.0 - lr * wd);
        r->m[i] = b1 * r->m[i] + (1.0 - b1) * g[i];
        r->v[i] = b2 * r->v[i] + (1.0 - b2) * g[i] * g[i];
        double denom = sqrt(r->v[i]) / sqrt(bc2) + eps;
        p[i] = (float)(x - (lr / bc1) * r->m[i] / denom);
    }
}

/* torch.nn.utils.clip_grad_norm_: returns the norm, scales g by min(1, max/(norm + 1e-6)) */
static double ref_clip(double *g, size_t n, double max_norm)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += g[i] * g[i];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double c = max_norm / (norm + 1e-6);
        if (c > 1.0) c = 1.0;
        for (size_t i = 0; i < n; i++) g[i] *= c;
    }
    return norm;
}

static void grads_to_double(const float *g, double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = (double)g[i];
}

/* ---- AdamW ------------------------------------------------------------------------------ */

static void run_adamw_case(float lr_f, double lr, int64_t warmup, int64_t total, int32_t sched, float wd, double wd_d,
                           float max_norm, double grad_scale)
{
    enum { NV = 4, NE = 8, STEPS = 20 };
    ptune_prompt *pr = make_prompt(NV, NE);
    size_t n = numel(pr);
    fill_random(pr->values, n, 1.0);
    float ref_p[NV * NE];
    memcpy(ref_p, pr->values, sizeof ref_p);
    double m[NV * NE] = {0}, v[NV * NE] = {0}, g[NV * NE];
    ref_adamw ref = {m, v, 0};

    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    op.lr = lr_f;
    op.schedule = sched;
    op.warmup_steps = warmup;
    op.total_steps = total;
    op.weight_decay = wd;
    op.max_grad_norm = max_norm;
    ptune_optimizer *o = new_opt(&op, pr);

    for (int k = 0; k < STEPS; k++) {
        fill_random(pr->grad, n, grad_scale * (1.0 + k % 3));
        grads_to_double(pr->grad, g, n);
        double norm = ref_clip(g, n, max_norm);
        double want_lr = sched == PTUNE_SCHEDULE_CONSTANT ? lr * (k < warmup ? (double)k / (double)warmup : 1.0)
                                                          : linear_lr(lr, k, warmup, total);
        assert_true(fabs(ptune_optimizer_lr(o) - want_lr) <= 1e-15 + 1e-12 * want_lr);
        ref_adamw_step(&ref, ref_p, g, n, want_lr, 0.9, 0.999, 1e-8, wd_d);
        step_ok(o, pr);
        assert_int_equal(ptune_optimizer_steps(o), k + 1);
        assert_true(fabs(ptune_optimizer_last_grad_norm(o) - norm) <= 1e-12 * norm);
        for (size_t i = 0; i < n; i++) assert_true(pr->grad[i] == 0.0f);
        assert_close_f(pr->values, ref_p, n, 1e-6, 0.1, "AdamW values");
    }
    ptune_optimizer_free(o);
    free_prompt(pr);
}

static void test_adamw_reference(void **state)
{
    (void)state;
    /* linear with warmup, no clipping */
    run_adamw_case(1e-2f, 1e-2, 3, 20, PTUNE_SCHEDULE_LINEAR, 0.0f, 0.0, 0.0f, 0.5);
    /* the fixtures' schedule: 5e-3 decayed linearly over 10 steps (then 0) */
    run_adamw_case(5e-3f, 5e-3, 0, 10, PTUNE_SCHEDULE_LINEAR, 0.0f, 0.0, 0.0f, 0.3);
}

static void test_adamw_weight_decay(void **state)
{
    (void)state;
    run_adamw_case(2e-2f, 2e-2, 0, 0, PTUNE_SCHEDULE_CONSTANT, 0.1f, 0.1, 0.0f, 0.5);
    /* with zero gradients only the decay acts: p *= (1 - lr·wd) per step */
    ptune_prompt *pr = make_prompt(2, 3);
    for (size_t i = 0; i < 6; i++) pr->values[i] = 1.0f + (float)i;
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 0.5f;
    op.weight_decay = 0.1f;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    ptune_optimizer *o = new_opt(&op, pr);
    step_ok(o, pr);
    for (size_t i = 0; i < 6; i++) assert_near(pr->values[i], (1.0 + (double)i) * 0.95, 1e-6);
    ptune_optimizer_free(o);
    free_prompt(pr);
}

static void test_clipping(void **state)
{
    (void)state;
    /* AdamW trajectory with the HF default max_grad_norm 1.0 and gradients of norm ~ 1..10 */
    run_adamw_case(1e-2f, 1e-2, 0, 20, PTUNE_SCHEDULE_LINEAR, 0.0f, 0.0, 1.0f, 1.0);

    /* The coefficient itself, seen through plain SGD with lr 1: p1 = p0 - coef·g */
    ptune_prompt *pr = make_prompt(1, 4);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_SGD;
    op.momentum = 0.0f;
    op.lr = 1.0f;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    op.max_grad_norm = 2.0f;
    ptune_optimizer *o = new_opt(&op, pr);
    const float g[4] = {3.0f, 4.0f, 0.0f, 12.0f}; /* norm 13 */
    memcpy(pr->grad, g, sizeof g);
    step_ok(o, pr);
    double coef = 2.0 / (13.0 + 1e-6);
    assert_near(ptune_optimizer_last_grad_norm(o), 13.0, 1e-12);
    for (int i = 0; i < 4; i++) assert_near(pr->values[i], -coef * g[i], 1e-6 * fabs(coef * g[i]) + 1e-12);
    /* a norm below the threshold: coefficient 2/(1+1e-6) > 1 is clamped to 1 */
    memset(pr->values, 0, 4 * sizeof(float));
    const float h[4] = {0.6f, 0.8f, 0.0f, 0.0f};
    memcpy(pr->grad, h, sizeof h);
    step_ok(o, pr);
    assert_near(ptune_optimizer_last_grad_norm(o), 1.0, 1e-7);
    for (int i = 0; i < 4; i++) assert_true(pr->values[i] == -h[i]);
    /* a tiny norm makes the +1e-6 of the denominator visible: 1e-4/(1e-3 + 1e-6), not 0.1 */
    ptune_optimizer_free(o);
    op.max_grad_norm = 1e-4f;
    o = new_opt(&op, pr);
    memset(pr->values, 0, 4 * sizeof(float));
    const float tiny[4] = {6e-4f, 8e-4f, 0.0f, 0.0f};
    memcpy(pr->grad, tiny, sizeof tiny);
    step_ok(o, pr);
    double tiny_norm = sqrt((double)tiny[0] * tiny[0] + (double)tiny[1] * tiny[1]);
    assert_near(ptune_optimizer_last_grad_norm(o), tiny_norm, 1e-18);
    coef = 1e-4 / (tiny_norm + 1e-6);
    for (int i = 0; i < 2; i++) assert_near(pr->values[i], -coef * tiny[i], 1e-7 * coef * tiny[i]);
    ptune_optimizer_free(o);

    /* max_grad_norm <= 0 disables clipping; the norm is still reported */
    op.max_grad_norm = 0.0f;
    o = new_opt(&op, pr);
    memset(pr->values, 0, 4 * sizeof(float));
    memcpy(pr->grad, g, sizeof g);
    step_ok(o, pr);
    assert_near(ptune_optimizer_last_grad_norm(o), 13.0, 1e-12);
    for (int i = 0; i < 4; i++) assert_true(pr->values[i] == -g[i]);
    ptune_optimizer_free(o);
    free_prompt(pr);
}

/* ---- schedules ---------------------------------------------------------------------------- */

static void test_schedules(void **state)
{
    (void)state;
    const double tol = 1e-15;
    /* LINEAR, total 10, no warmup: (10 - k)/10, 0 from step 10 on */
    for (int k = 0; k <= 12; k++)
        assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, k, 0, 10), k >= 10 ? 0.0 : (10.0 - k) / 10.0, tol);
    /* LINEAR, warmup 2, total 10 */
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 0, 2, 10), 0.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 1, 2, 10), 0.5, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 2, 2, 10), 1.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 6, 2, 10), 0.5, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 9, 2, 10), 0.125, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 10, 2, 10), 0.0, tol);
    /* warmup longer than the run: HF gives 0 after the warmup */
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_LINEAR, 5, 5, 3), 0.0, tol);
    /* CONSTANT with warmup 4 */
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 0, 4, 0), 0.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 1, 4, 0), 0.25, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 3, 4, 0), 0.75, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 4, 4, 0), 1.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 1000, 4, 0), 1.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_CONSTANT, 0, 0, 0), 1.0, tol);
    /* COSINE (num_cycles 0.5), total 10: 0.5·(1 + cos(pi·k/10)) */
    for (int k = 0; k <= 10; k++)
        assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, k, 0, 10), 0.5 * (1.0 + cos(M_PI * k / 10.0)), 1e-15);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, 5, 0, 10), 0.5, 1e-15);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, 15, 0, 10), 0.0, tol); /* stays 0 past the end */
    /* COSINE, warmup 2, total 12 */
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, 1, 2, 12), 0.5, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, 2, 2, 12), 1.0, tol);
    assert_near(pt_schedule_factor(PTUNE_SCHEDULE_COSINE, 7, 2, 12), 0.5, 1e-15);
    assert_near(pt_schedule_factor(99, 1, 0, 10), 0.0, tol);

    /* Through the optimizer: lr 5e-3f acts as 5e-3 exactly, stepping with zero gradients */
    ptune_prompt *pr = make_prompt(2, 2);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 5e-3f;
    op.total_steps = 10;
    ptune_optimizer *o = new_opt(&op, pr);
    for (int k = 0; k < 12; k++) {
        double want = 5e-3 * (1.0 - k / 10.0);
        if (want < 0) want = 0;
        assert_true(fabs(ptune_optimizer_lr(o) - want) <= 1e-17);
        step_ok(o, pr);
    }
    ptune_optimizer_free(o);
    op.schedule = PTUNE_SCHEDULE_COSINE;
    op.warmup_steps = 2;
    op.total_steps = 12;
    o = new_opt(&op, pr);
    const double want_cos[] = {0.0, 0.5, 1.0};
    for (int k = 0; k < 3; k++) {
        assert_true(fabs(ptune_optimizer_lr(o) - 5e-3 * want_cos[k]) <= 1e-17);
        step_ok(o, pr);
    }
    ptune_optimizer_free(o);
    free_prompt(pr);
}

/* ---- gradient accumulation --------------------------------------------------------------- */

static void test_grad_accumulation(void **state)
{
    (void)state;
    enum { NV = 3, NE = 5, N = NV * NE, ACC = 3 };
    ptune_prompt *a = make_prompt(NV, NE), *b = make_prompt(NV, NE);
    fill_random(a->values, N, 1.0);
    memcpy(b->values, a->values, sizeof(float) * N);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 1e-2f;
    op.total_steps = 4;
    op.max_grad_norm = 0.5f;
    ptune_optimizer *oa, *ob;
    op.grad_accum_steps = ACC;
    oa = new_opt(&op, a);
    op.grad_accum_steps = 1;
    ob = new_opt(&op, b);

    for (int update = 0; update < 2; update++) {
        float saved[N];
        memcpy(saved, a->values, sizeof saved);
        /* gradients on a grid of 1/64 so that their float sum and the mean are exact */
        double sum[N] = {0};
        for (int call = 0; call < ACC; call++) {
            for (int i = 0; i < N; i++) {
                a->grad[i] = (float)(floor(urand() * 64.0) / 64.0);
                sum[i] += a->grad[i];
            }
            assert_true(fabs(ptune_optimizer_lr(oa) - ptune_optimizer_lr(ob)) == 0.0);
            step_ok(oa, a);
            for (int i = 0; i < N; i++) assert_true(a->grad[i] == 0.0f); /* moved into the optimizer */
            if (call < ACC - 1) {
                assert_memory_equal(a->values, saved, sizeof saved); /* no update yet */
                assert_int_equal(ptune_optimizer_steps(oa), update);
            }
        }
        assert_int_equal(ptune_optimizer_steps(oa), update + 1);
        for (int i = 0; i < N; i++) b->grad[i] = (float)(sum[i] / ACC);
        step_ok(ob, b);
        assert_near(ptune_optimizer_last_grad_norm(oa), ptune_optimizer_last_grad_norm(ob), 1e-7);
        assert_close_f(a->values, b->values, N, 1e-6, 0.1, "accumulated vs mean");
    }
    ptune_optimizer_free(oa);
    ptune_optimizer_free(ob);
    free_prompt(a);
    free_prompt(b);
}

/* ---- SGD ------------------------------------------------------------------------------------ */

static void run_sgd_case(int nesterov, float momentum, double mu, float wd, double wdd)
{
    enum { NV = 3, NE = 7, N = NV * NE, STEPS = 15 };
    ptune_prompt *pr = make_prompt(NV, NE);
    fill_random(pr->values, N, 1.0);
    float ref_p[N];
    memcpy(ref_p, pr->values, sizeof ref_p);
    double buf[N] = {0}, g[N];
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_SGD;
    op.lr = 0.05f;
    op.momentum = momentum;
    op.nesterov = nesterov;
    op.weight_decay = wd;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    op.warmup_steps = 2;
    op.max_grad_norm = 0.0f;
    ptune_optimizer *o = new_opt(&op, pr);
    for (int k = 0; k < STEPS; k++) {
        fill_random(pr->grad, N, 0.7);
        grads_to_double(pr->grad, g, N);
        double lr = 0.05 * (k < 2 ? k / 2.0 : 1.0);
        assert_true(fabs(ptune_optimizer_lr(o) - lr) <= 1e-17);
        for (int i = 0; i < N; i++) {
            double x = (double)ref_p[i] * (1.0 - lr * wdd);
            double d = g[i];
            if (mu > 0) {
                buf[i] = k == 0 ? g[i] : mu * buf[i] + g[i];
                d = nesterov ? g[i] + mu * buf[i] : buf[i];
            }
            ref_p[i] = (float)(x - lr * d);
        }
        step_ok(o, pr);
        assert_close_f(pr->values, ref_p, N, 1e-6, 0.1, nesterov ? "SGD Nesterov" : "SGD momentum");
    }
    ptune_optimizer_free(o);
    free_prompt(pr);
}

static void test_sgd(void **state)
{
    (void)state;
    run_sgd_case(0, 0.9f, 0.9, 0.0f, 0.0);
    run_sgd_case(1, 0.9f, 0.9, 0.0f, 0.0);
    run_sgd_case(1, 0.5f, 0.5, 0.01f, 0.01);
    run_sgd_case(0, 0.0f, 0.0, 0.01f, 0.01);
}

/* ---- Adafactor ------------------------------------------------------------------------------ */

typedef struct af_cfg {
    float lr;            /* 0 = relative step */
    float beta1;         /* 0 = no first moment */
    float wd;
    float clip_threshold;
    int scale_parameter;
    int warmup_init;
    double grad_scale;
    double init_scale;   /* 0: the prompt starts at zero, so RMS(p) < eps2 */
} af_cfg;

static double rms_d(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * x[i];
    return sqrt(s / (double)n);
}

/* transformers.optimization.Adafactor.step for one 2-D parameter, in double */
static void run_adafactor_case(af_cfg cfg)
{
    enum { R = 4, C = 6, N = R * C, STEPS = 20 };
    ptune_prompt *pr = make_prompt(R, C);
    fill_random(pr->values, N, cfg.init_scale);
    float ref_p[N];
    memcpy(ref_p, pr->values, sizeof ref_p);
    double row[R] = {0}, col[C] = {0}, m[N] = {0}, g[N], u[N], pd[N];
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAFACTOR;
    op.lr = cfg.lr;
    op.beta1 = cfg.beta1;
    op.weight_decay = cfg.wd;
    op.adafactor_clip_threshold = cfg.clip_threshold;
    op.adafactor_scale_parameter = cfg.scale_parameter;
    op.adafactor_warmup_init = cfg.warmup_init;
    op.schedule = PTUNE_SCHEDULE_CONSTANT;
    op.max_grad_norm = 0.0f;
    ptune_optimizer *o = new_opt(&op, pr);
    const double eps1 = 1e-30, eps2 = 1e-3, decay = -0.8;
    const double beta1 = cfg.beta1 == 0.9f ? 0.9 : (double)cfg.beta1;
    const double wd = cfg.wd == 0.01f ? 0.01 : (double)cfg.wd;
    const double clip = cfg.clip_threshold == 0.5f ? 0.5 : (double)cfg.clip_threshold;
    const double ext_lr = cfg.lr == 1e-2f ? 1e-2 : (double)cfg.lr;
    for (int k = 0; k < STEPS; k++) {
        fill_random(pr->grad, N, cfg.grad_scale);
        grads_to_double(pr->grad, g, N);
        double t = k + 1;
        double rel = ext_lr;
        if (cfg.lr == 0.0f) {
            double min_step = cfg.warmup_init ? 1e-6 * t : 1e-2;
            rel = fmin(min_step, 1.0 / sqrt(t));
        }
        assert_true(fabs(ptune_optimizer_lr(o) - rel) <= 1e-15 * rel);
        for (int i = 0; i < N; i++) pd[i] = ref_p[i];
        double lr = rel;
        if (cfg.scale_parameter) lr *= fmax(eps2, rms_d(pd, N));
        double beta2t = 1.0 - pow(t, decay);
        for (int r = 0; r < R; r++) {
            double s = 0;
            for (int c = 0; c < C; c++) s += g[r * C + c] * g[r * C + c] + eps1;
            row[r] = beta2t * row[r] + (1 - beta2t) * s / C;
        }
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int r = 0; r < R; r++) s += g[r * C + c] * g[r * C + c] + eps1;
            col[c] = beta2t * col[c] + (1 - beta2t) * s / R;
        }
        double row_mean = 0;
        for (int r = 0; r < R; r++) row_mean += row[r] / R;
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) u[r * C + c] = 1.0 / sqrt(row[r] / row_mean) / sqrt(col[c]) * g[r * C + c];
        double denom = fmax(1.0, rms_d(u, N) / clip);
        for (int i = 0; i < N; i++) {
            u[i] = u[i] / denom * lr;
            if (cfg.beta1 > 0) {
                m[i] = beta1 * m[i] + (1 - beta1) * u[i];
                u[i] = m[i];
            }
            double x = pd[i];
            if (cfg.wd > 0) x += x * (-wd * lr);
            ref_p[i] = (float)(x - u[i]);
        }
        step_ok(o, pr);
        assert_close_f(pr->values, ref_p, N, 1e-6, 0.1, "Adafactor");
    }
    ptune_optimizer_free(o);
    free_prompt(pr);
}

static void test_adafactor(void **state)
{
    (void)state;
    /* HF defaults: relative step, scale_parameter, clip_threshold 1, no first moment */
    run_adafactor_case((af_cfg){0.0f, 0.0f, 0.0f, 1.0f, 1, 0, 1.0, 0.5});
    /* from a zero prompt: the parameter scale starts at eps2 */
    run_adafactor_case((af_cfg){0.0f, 0.0f, 0.0f, 1.0f, 1, 0, 1.0, 0.0});
    /* warmup_init relative step, tiny gradients (exercises the eps1 floor) */
    run_adafactor_case((af_cfg){0.0f, 0.0f, 0.0f, 1.0f, 1, 1, 1e-3, 0.5});
    /* external lr, no parameter scale, first moment, weight decay, clipping at 0.5 */
    run_adafactor_case((af_cfg){1e-2f, 0.9f, 0.01f, 0.5f, 0, 0, 2.0, 0.5});
    /* external lr with the parameter scale */
    run_adafactor_case((af_cfg){1e-2f, 0.0f, 0.0f, 1.0f, 1, 0, 0.3, 0.5});
}

/* ---- save / load -------------------------------------------------------------------------- */

static void fill_same(ptune_prompt *a, ptune_prompt *b, double scale)
{
    fill_random(a->grad, numel(a), scale);
    memcpy(b->grad, a->grad, sizeof(float) * numel(a));
}

static void roundtrip_case(const ptune_optimizer_params *op, const char *dir, int before, int after)
{
    ptune_prompt *a = make_prompt(3, 4), *b = make_prompt(3, 4);
    size_t n = numel(a);
    fill_random(a->values, n, 1.0);
    ptune_optimizer *oa = new_opt(op, a);
    for (int k = 0; k < before; k++) {
        fill_random(a->grad, n, 0.8);
        step_ok(oa, a);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/opt-%d.safetensors", dir, op->kind);
    if (ptune_optimizer_save(oa, path)) fail_msg("save: %s", ptune_last_error());
    ptune_optimizer *ob = new_opt(op, b);
    if (ptune_optimizer_load(ob, path)) fail_msg("load: %s", ptune_last_error());
    assert_int_equal(ptune_optimizer_steps(ob), ptune_optimizer_steps(oa));
    assert_true(ptune_optimizer_lr(ob) == ptune_optimizer_lr(oa));
    assert_true(ptune_optimizer_last_grad_norm(ob) == ptune_optimizer_last_grad_norm(oa));
    memcpy(b->values, a->values, sizeof(float) * n);
    for (int k = 0; k < after; k++) {
        fill_same(a, b, 0.8);
        step_ok(oa, a);
        step_ok(ob, b);
        assert_memory_equal(a->values, b->values, sizeof(float) * n);
        assert_true(ptune_optimizer_last_grad_norm(ob) == ptune_optimizer_last_grad_norm(oa));
    }
    assert_int_equal(ptune_optimizer_steps(ob), ptune_optimizer_steps(oa));
    ptune_optimizer_free(oa);
    ptune_optimizer_free(ob);
    free_prompt(a);
    free_prompt(b);
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    char *dir = pt_test_tmpdir();
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.lr = 1e-2f;
    op.total_steps = 20;
    op.warmup_steps = 2;
    roundtrip_case(&op, dir, 3, 5);
    op.grad_accum_steps = 3; /* saved in the middle of an accumulation window */
    roundtrip_case(&op, dir, 4, 7);
    roundtrip_case(&op, dir, 0, 4);

    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_SGD;
    op.nesterov = 1;
    op.lr = 0.1f;
    op.schedule = PTUNE_SCHEDULE_COSINE;
    op.total_steps = 10;
    roundtrip_case(&op, dir, 3, 5);

    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAFACTOR;
    op.lr = 0.0f;
    op.beta1 = 0.9f;
    op.weight_decay = 0.01f;
    roundtrip_case(&op, dir, 3, 5);
    op.beta1 = 0.0f;
    roundtrip_case(&op, dir, 2, 4);
    pt_test_rmtree(dir);
    free(dir);
}

static void test_load_errors(void **state)
{
    (void)state;
    char *dir = pt_test_tmpdir();
    char adam_path[4200], other_path[4200], missing[4200], shape_path[4200], mom_path[4200];
    snprintf(adam_path, sizeof adam_path, "%s/adamw.safetensors", dir);
    snprintf(shape_path, sizeof shape_path, "%s/adamw-4x9.safetensors", dir);
    snprintf(other_path, sizeof other_path, "%s/other.safetensors", dir);
    snprintf(mom_path, sizeof mom_path, "%s/adafactor-beta1.safetensors", dir);
    snprintf(missing, sizeof missing, "%s/missing.safetensors", dir);

    ptune_prompt *p48 = make_prompt(4, 8), *p49 = make_prompt(4, 9);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.total_steps = 10;
    ptune_optimizer *adam = new_opt(&op, p48);
    fill_random(p48->grad, 32, 1.0);
    step_ok(adam, p48);
    assert_int_equal(ptune_optimizer_save(adam, adam_path), PTUNE_OK);
    ptune_optimizer *adam49 = new_opt(&op, p49);
    assert_int_equal(ptune_optimizer_save(adam49, shape_path), PTUNE_OK);

    /* another kind */
    op.kind = PTUNE_OPTIMIZER_SGD;
    ptune_optimizer *sgd = new_opt(&op, p48);
    assert_int_equal(ptune_optimizer_load(sgd, adam_path), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "adamw"));
    assert_non_null(strstr(ptune_last_error(), "sgd"));
    assert_int_equal(ptune_optimizer_steps(sgd), 0);
    /* another shape, both ways */
    ptune_optimizer *fresh = NULL;
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    fresh = new_opt(&op, p48);
    assert_int_equal(ptune_optimizer_load(fresh, shape_path), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "[4, 9]"));
    assert_int_equal(ptune_optimizer_load(adam49, adam_path), PTUNE_E_FORMAT);
    assert_int_equal(ptune_optimizer_steps(adam49), 0);
    /* Adafactor with and without a first moment */
    op.kind = PTUNE_OPTIMIZER_ADAFACTOR;
    op.lr = 0.0f;
    op.beta1 = 0.9f;
    ptune_optimizer *af1 = new_opt(&op, p48);
    assert_int_equal(ptune_optimizer_save(af1, mom_path), PTUNE_OK);
    op.beta1 = 0.0f;
    ptune_optimizer *af0 = new_opt(&op, p48);
    assert_int_equal(ptune_optimizer_load(af0, mom_path), PTUNE_E_FORMAT);
    assert_int_equal(ptune_optimizer_load(af1, mom_path), PTUNE_OK);
    /* not an optimizer file, a missing file, a garbage file */
    float x[2] = {1, 2};
    pt_st_write_tensor t = {.name = "prompt_embeddings", .dtype = PT_DTYPE_F32, .n_dims = 2, .shape = {1, 2}, .data = x};
    assert_int_equal(pt_safetensors_write(other_path, &t, 1, "{\"format\":\"pt\"}"), PTUNE_OK);
    assert_int_equal(ptune_optimizer_load(fresh, other_path), PTUNE_E_FORMAT);
    assert_int_equal(ptune_optimizer_load(fresh, missing), PTUNE_E_IO);
    pt_test_write_file(other_path, "not a safetensors file at all", 29);
    assert_int_equal(ptune_optimizer_load(fresh, other_path), PTUNE_E_FORMAT);
    /* a truncated copy of a valid state */
    size_t len;
    unsigned char *bytes = pt_test_read_file(adam_path, &len);
    pt_test_write_file(other_path, bytes, len - 8);
    assert_int_equal(ptune_optimizer_load(fresh, other_path), PTUNE_E_FORMAT);
    free(bytes);
    /* the good file still loads */
    assert_int_equal(ptune_optimizer_load(fresh, adam_path), PTUNE_OK);
    assert_int_equal(ptune_optimizer_steps(fresh), 1);
    /* save errors */
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/no/such/dir/x.safetensors", dir);
    assert_int_equal(ptune_optimizer_save(fresh, bad), PTUNE_E_IO);
    assert_int_equal(ptune_optimizer_save(NULL, adam_path), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_optimizer_load(NULL, adam_path), PTUNE_E_INVALID_ARG);

    ptune_optimizer_free(adam);
    ptune_optimizer_free(adam49);
    ptune_optimizer_free(sgd);
    ptune_optimizer_free(fresh);
    ptune_optimizer_free(af0);
    ptune_optimizer_free(af1);
    free_prompt(p48);
    free_prompt(p49);
    pt_test_rmtree(dir);
    free(dir);
}

/* ---- argument errors ---------------------------------------------------------------------- */

static void expect_invalid(const ptune_optimizer_params *op, const ptune_prompt *pr, const char *what)
{
    ptune_optimizer *o = (ptune_optimizer *)(uintptr_t)0x1;
    ptune_status s = ptune_optimizer_new(op, pr, &o);
    if (s != PTUNE_E_INVALID_ARG) fail_msg("%s: expected PTUNE_E_INVALID_ARG, got %d", what, s);
    assert_null(o);
    assert_true(ptune_last_error()[0] != '\0');
}

static void test_invalid_params(void **state)
{
    (void)state;
    ptune_prompt *pr = make_prompt(2, 3);
    ptune_optimizer_params op;
#define CASE(stmt, what)                  \
    do {                                  \
        ptune_optimizer_params_init(&op); \
        op.total_steps = 10;              \
        stmt;                             \
        expect_invalid(&op, pr, what);    \
    } while (0)
    CASE(op.kind = 3, "kind");
    CASE(op.kind = -1, "negative kind");
    CASE(op.schedule = 3, "schedule");
    CASE(op.lr = -1e-3f, "negative lr");
    CASE(op.lr = NAN, "NaN lr");
    CASE(op.total_steps = 0, "LINEAR without total_steps");
    CASE((op.schedule = PTUNE_SCHEDULE_COSINE, op.total_steps = 0), "COSINE without total_steps");
    CASE(op.total_steps = -5, "negative total_steps");
    CASE(op.warmup_steps = -1, "negative warmup");
    CASE(op.beta1 = 1.0f, "beta1 = 1");
    CASE(op.beta1 = -0.1f, "beta1 < 0");
    CASE(op.beta2 = 1.5f, "beta2 > 1");
    CASE(op.eps = -1e-8f, "negative eps");
    CASE(op.weight_decay = -0.1f, "negative weight decay");
    CASE(op.grad_accum_steps = 0, "grad_accum_steps 0");
    CASE(op.max_grad_norm = INFINITY, "infinite max_grad_norm");
    CASE((op.kind = PTUNE_OPTIMIZER_SGD, op.momentum = 0.0f, op.nesterov = 1), "Nesterov without momentum");
    CASE((op.kind = PTUNE_OPTIMIZER_SGD, op.momentum = -0.5f), "negative momentum");
    CASE((op.kind = PTUNE_OPTIMIZER_ADAFACTOR, op.lr = 1e-3f, op.adafactor_warmup_init = 1), "warmup_init with lr");
    CASE((op.kind = PTUNE_OPTIMIZER_ADAFACTOR, op.adafactor_clip_threshold = 0.0f), "clip threshold 0");
    CASE((op.kind = PTUNE_OPTIMIZER_ADAFACTOR, op.adafactor_decay_rate = 0.5f), "positive decay rate");
    CASE(op.struct_size = 0, "struct_size 0");
    CASE(op.struct_size = sizeof op + 8, "struct_size too large");
#undef CASE
    ptune_optimizer_params_init(&op);
    op.total_steps = 10;
    expect_invalid(&op, NULL, "NULL prompt");
    expect_invalid(NULL, pr, "defaults: LINEAR needs total_steps");
    assert_int_equal(ptune_optimizer_new(&op, pr, NULL), PTUNE_E_INVALID_ARG);
    ptune_prompt empty = {0};
    expect_invalid(&op, &empty, "empty prompt");

    /* valid corner cases */
    ptune_optimizer *o = NULL;
    ptune_optimizer_params_init(&op);
    op.schedule = PTUNE_SCHEDULE_CONSTANT; /* no total_steps needed */
    assert_int_equal(ptune_optimizer_new(&op, pr, &o), PTUNE_OK);
    ptune_optimizer_free(o);
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAFACTOR;
    op.lr = 0.0f; /* relative step ignores the schedule */
    assert_int_equal(ptune_optimizer_new(&op, pr, &o), PTUNE_OK);
    assert_near(ptune_optimizer_lr(o), 1e-2, 1e-18);
    ptune_optimizer_free(o);
    /* an older caller's shorter struct: the missing fields take their defaults */
    ptune_optimizer_params_init(&op);
    op.total_steps = 10;
    op.struct_size = (uint32_t)offsetof(ptune_optimizer_params, grad_accum_steps);
    op.grad_accum_steps = 0; /* beyond struct_size: ignored */
    assert_int_equal(ptune_optimizer_new(&op, pr, &o), PTUNE_OK);
    assert_int_equal(o->p.grad_accum_steps, 1);
    assert_near(o->af_eps2, 1e-3, 0);

    /* step errors */
    ptune_prompt *other = make_prompt(3, 2);
    assert_int_equal(ptune_optimizer_step(o, other), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_optimizer_step(NULL, pr), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_optimizer_step(o, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_optimizer_steps(o), 0);
    ptune_optimizer_free(o);
    free_prompt(other);

    /* getters and free on NULL */
    assert_true(ptune_optimizer_lr(NULL) == 0.0);
    assert_int_equal(ptune_optimizer_steps(NULL), 0);
    assert_true(ptune_optimizer_last_grad_norm(NULL) == 0.0);
    ptune_optimizer_free(NULL);
    ptune_optimizer_params_init_sized(NULL, sizeof(ptune_optimizer_params));
    free_prompt(pr);
}

static void test_params_defaults(void **state)
{
    (void)state;
    ptune_optimizer_params op;
    memset(&op, 0xAB, sizeof op);
    ptune_optimizer_params_init(&op);
    assert_int_equal(op.struct_size, sizeof op);
    assert_int_equal(op.kind, PTUNE_OPTIMIZER_ADAMW);
    assert_true(op.lr == 5e-5f && op.beta1 == 0.9f && op.beta2 == 0.999f && op.eps == 1e-8f);
    assert_true(op.weight_decay == 0.0f && op.momentum == 0.9f && op.nesterov == 0);
    assert_true(op.max_grad_norm == 1.0f && op.schedule == PTUNE_SCHEDULE_LINEAR);
    assert_true(op.total_steps == 0 && op.warmup_steps == 0 && op.grad_accum_steps == 1);
    assert_true(op.adafactor_eps1 == 1e-30f && op.adafactor_eps2 == 1e-3f);
    assert_true(op.adafactor_clip_threshold == 1.0f && op.adafactor_decay_rate == -0.8f);
    assert_true(op.adafactor_scale_parameter == 1 && op.adafactor_warmup_init == 0);
}

/* ---- non-finite gradients ----------------------------------------------------------------- */

static void nan_case(int32_t kind, int32_t accum, float bad)
{
    enum { NV = 2, NE = 5, N = NV * NE };
    ptune_prompt *a = make_prompt(NV, NE), *b = make_prompt(NV, NE);
    fill_random(a->values, N, 1.0);
    memcpy(b->values, a->values, sizeof(float) * N);
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = kind;
    op.lr = kind == PTUNE_OPTIMIZER_ADAFACTOR ? 0.0f : 1e-2f;
    op.total_steps = 10;
    op.grad_accum_steps = accum;
    ptune_optimizer *oa = new_opt(&op, a), *ob = new_opt(&op, b);
    for (int k = 0; k < 2 * accum + 1; k++) { /* ends in the middle of a window when accum > 1 */
        fill_same(a, b, 1.0);
        step_ok(oa, a);
        step_ok(ob, b);
    }
    float before[N], grad_before[N];
    memcpy(before, a->values, sizeof before);
    int64_t steps = ptune_optimizer_steps(oa);
    double norm = ptune_optimizer_last_grad_norm(oa);
    fill_random(a->grad, N, 1.0);
    a->grad[7] = bad;
    memcpy(grad_before, a->grad, sizeof grad_before);
    assert_int_equal(ptune_optimizer_step(oa, a), PTUNE_E_NUMERIC);
    assert_non_null(strstr(ptune_last_error(), isnan(bad) ? "NaN" : "Inf"));
    assert_memory_equal(a->values, before, sizeof before);
    assert_memory_equal(a->grad, grad_before, sizeof grad_before); /* left for the caller to inspect */
    assert_int_equal(ptune_optimizer_steps(oa), steps);
    assert_true(ptune_optimizer_last_grad_norm(oa) == norm);
    /* the rejected call left no trace: both optimizers continue identically */
    for (int k = 0; k < 2 * accum; k++) {
        fill_same(a, b, 1.0);
        step_ok(oa, a);
        step_ok(ob, b);
        assert_memory_equal(a->values, b->values, sizeof(float) * N);
    }
    ptune_optimizer_free(oa);
    ptune_optimizer_free(ob);
    free_prompt(a);
    free_prompt(b);
}

static void test_nonfinite_gradient(void **state)
{
    (void)state;
    for (int32_t kind = 0; kind < 3; kind++) {
        nan_case(kind, 1, NAN);
        nan_case(kind, 1, INFINITY);
        nan_case(kind, 3, -INFINITY);
        nan_case(kind, 2, NAN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_defaults),
        cmocka_unit_test(test_adamw_reference),
        cmocka_unit_test(test_adamw_weight_decay),
        cmocka_unit_test(test_clipping),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_grad_accumulation),
        cmocka_unit_test(test_sgd),
        cmocka_unit_test(test_adafactor),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_invalid_params),
        cmocka_unit_test(test_nonfinite_gradient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
