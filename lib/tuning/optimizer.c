/* Owns the optimizers (torch AdamW, torch SGD with momentum/Nesterov, HF Adafactor) for a soft
 * prompt: parameter defaults and validation, gradient accumulation, global-norm clipping, updates. */
#include "tuning/optimizer.h"
#include "core/params.h"
#include "tuning/prompt.h"
#include "tuning/schedule.h"
#include "core/alloc.h"
#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *pt_optimizer_kind_name(int32_t kind)
{
    switch (kind) {
    case PTUNE_OPTIMIZER_ADAMW: return "adamw";
    case PTUNE_OPTIMIZER_SGD: return "sgd";
    case PTUNE_OPTIMIZER_ADAFACTOR: return "adafactor";
    default: return "unknown";
    }
}

static void optimizer_params_defaults(ptune_optimizer_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->kind = PTUNE_OPTIMIZER_ADAMW;
    p->lr = 5e-5f;
    p->beta1 = 0.9f;
    p->beta2 = 0.999f;
    p->eps = 1e-8f;
    p->weight_decay = 0.0f;
    p->momentum = 0.9f;
    p->nesterov = 0;
    p->max_grad_norm = 1.0f;
    p->schedule = PTUNE_SCHEDULE_LINEAR;
    p->total_steps = 0;
    p->warmup_steps = 0;
    p->grad_accum_steps = 1;
    p->adafactor_eps1 = 1e-30f;
    p->adafactor_eps2 = 1e-3f;
    p->adafactor_clip_threshold = 1.0f;
    p->adafactor_decay_rate = -0.8f;
    p->adafactor_scale_parameter = 1;
    p->adafactor_warmup_init = 0;
}

PTUNE_API void ptune_optimizer_params_init_sized(ptune_optimizer_params *p, uint32_t size)
{
    ptune_optimizer_params d;
    optimizer_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

/* The double nearest to the shortest decimal string that reads back as `f` (at most 9 digits
 * always round-trip a float). snprintf and strtof/strtod share the locale's decimal point. */
static double widen_float(float f)
{
    if (!isfinite(f) || f == 0.0f) return (double)f;
    char buf[48];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

static ptune_status check_params(const ptune_optimizer_params *p)
{
#define BAD(...) pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_new: " __VA_ARGS__)
    if (p->kind != PTUNE_OPTIMIZER_ADAMW && p->kind != PTUNE_OPTIMIZER_SGD && p->kind != PTUNE_OPTIMIZER_ADAFACTOR)
        return BAD("unknown optimizer kind %d", p->kind);
    if (!pt_schedule_valid(p->schedule)) return BAD("unknown schedule %d", p->schedule);
    if (!(p->lr >= 0.0f) || !isfinite(p->lr)) return BAD("lr = %g must be finite and >= 0", (double)p->lr);
    if (!(p->beta1 >= 0.0f && p->beta1 < 1.0f)) return BAD("beta1 = %g must be in [0, 1)", (double)p->beta1);
    if (!(p->beta2 >= 0.0f && p->beta2 < 1.0f)) return BAD("beta2 = %g must be in [0, 1)", (double)p->beta2);
    if (!(p->eps >= 0.0f) || !isfinite(p->eps)) return BAD("eps = %g must be finite and >= 0", (double)p->eps);
    if (!(p->weight_decay >= 0.0f) || !isfinite(p->weight_decay))
        return BAD("weight_decay = %g must be finite and >= 0", (double)p->weight_decay);
    if (!(p->momentum >= 0.0f) || !isfinite(p->momentum))
        return BAD("momentum = %g must be finite and >= 0", (double)p->momentum);
    if (p->kind == PTUNE_OPTIMIZER_SGD && p->nesterov && p->momentum <= 0.0f)
        return BAD("Nesterov momentum needs momentum > 0");
    if (!isfinite(p->max_grad_norm)) return BAD("max_grad_norm = %g must be finite", (double)p->max_grad_norm);
    if (p->total_steps < 0) return BAD("total_steps = %lld must be >= 0", (long long)p->total_steps);
    if (p->warmup_steps < 0) return BAD("warmup_steps = %lld must be >= 0", (long long)p->warmup_steps);
    if (p->grad_accum_steps < 1) return BAD("grad_accum_steps = %d must be >= 1", p->grad_accum_steps);
    bool relative = p->kind == PTUNE_OPTIMIZER_ADAFACTOR && p->lr == 0.0f;
    if (pt_schedule_needs_total(p->schedule) && p->total_steps <= 0 && !relative)
        return BAD("the %s schedule needs total_steps > 0",
                   p->schedule == PTUNE_SCHEDULE_LINEAR ? "LINEAR" : "COSINE");
    if (p->kind == PTUNE_OPTIMIZER_ADAFACTOR) {
        if (!(p->adafactor_eps1 >= 0.0f) || !isfinite(p->adafactor_eps1))
            return BAD("adafactor_eps1 = %g must be finite and >= 0", (double)p->adafactor_eps1);
        if (!(p->adafactor_eps2 >= 0.0f) || !isfinite(p->adafactor_eps2))
            return BAD("adafactor_eps2 = %g must be finite and >= 0", (double)p->adafactor_eps2);
        if (!(p->adafactor_clip_threshold > 0.0f) || !isfinite(p->adafactor_clip_threshold))
            return BAD("adafactor_clip_threshold = %g must be finite and > 0", (double)p->adafactor_clip_threshold);
        if (!(p->adafactor_decay_rate <= 0.0f) || !isfinite(p->adafactor_decay_rate))
            return BAD("adafactor_decay_rate = %g must be finite and <= 0", (double)p->adafactor_decay_rate);
        if (p->adafactor_warmup_init && !relative)
            return BAD("adafactor_warmup_init needs the relative step (lr = 0)");
    }
    return PTUNE_OK;
#undef BAD
}

PTUNE_API ptune_status ptune_optimizer_new(const ptune_optimizer_params *given, const ptune_prompt *pr,
                                           ptune_optimizer **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_new: out is NULL");
    *out = NULL;
    if (!pr) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_new: prompt is NULL");
    if (pr->n_virtual <= 0 || pr->n_embd <= 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_new: prompt shape [%d, %d] is empty",
                       pr->n_virtual, pr->n_embd);
    ptune_optimizer_params p;
    ptune_optimizer_params_init(&p);
    if (given) {
        if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof p)
            return pt_fail(PTUNE_E_INVALID_ARG,
                           "ptune_optimizer_new: params.struct_size is %u; call ptune_optimizer_params_init()",
                           given->struct_size);
        memcpy(&p, given, given->struct_size);
        p.struct_size = sizeof p;
    }
    ptune_status s = check_params(&p);
    if (s) return s;

    size_t n;
    if (!pt_mul_size((size_t)pr->n_virtual, (size_t)pr->n_embd, &n))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_new: prompt shape [%d, %d] overflows",
                       pr->n_virtual, pr->n_embd);
    ptune_optimizer *o = pt_calloc(1, sizeof *o, "optimizer");
    if (!o) return PTUNE_E_NOMEM;
    o->p = p;
    o->base_lr = widen_float(p.lr);
    o->beta1 = widen_float(p.beta1);
    o->beta2 = widen_float(p.beta2);
    o->eps = widen_float(p.eps);
    o->weight_decay = widen_float(p.weight_decay);
    o->momentum = widen_float(p.momentum);
    o->max_grad_norm = widen_float(p.max_grad_norm);
    o->af_eps1 = widen_float(p.adafactor_eps1);
    o->af_eps2 = widen_float(p.adafactor_eps2);
    o->af_clip_threshold = widen_float(p.adafactor_clip_threshold);
    o->af_decay_rate = widen_float(p.adafactor_decay_rate);
    o->relative_step = p.kind == PTUNE_OPTIMIZER_ADAFACTOR && p.lr == 0.0f;
    o->n_virtual = pr->n_virtual;
    o->n_embd = pr->n_embd;
    o->n = n;

    bool ok = true;
    switch (p.kind) {
    case PTUNE_OPTIMIZER_ADAMW:
        o->first_moment = true;
        ok = (o->exp_avg = pt_calloc(n, sizeof(float), "AdamW exp_avg")) != NULL &&
             (o->exp_avg_sq = pt_calloc(n, sizeof(float), "AdamW exp_avg_sq")) != NULL;
        break;
    case PTUNE_OPTIMIZER_SGD:
        o->first_moment = p.momentum > 0.0f;
        if (o->first_moment) ok = (o->exp_avg = pt_calloc(n, sizeof(float), "SGD momentum buffer")) != NULL;
        break;
    default: /* ADAFACTOR: the prompt is a 2-D parameter, so the second moment is factored */
        o->first_moment = p.beta1 > 0.0f;
        ok = (o->row = pt_calloc((size_t)pr->n_virtual, sizeof(float), "Adafactor row moments")) != NULL &&
             (o->col = pt_calloc((size_t)pr->n_embd, sizeof(float), "Adafactor column moments")) != NULL;
        if (ok && o->first_moment) ok = (o->exp_avg = pt_calloc(n, sizeof(float), "Adafactor exp_avg")) != NULL;
        break;
    }
    if (ok && p.grad_accum_steps > 1) ok = (o->accum = pt_calloc(n, sizeof(double), "gradient accumulator")) != NULL;
    if (ok) ok = (o->work = pt_malloc_array(n, sizeof(double), "optimizer scratch")) != NULL;
    if (ok)
        ok = (o->saved = pt_malloc_array(3 * n + (size_t)pr->n_virtual + (size_t)pr->n_embd, sizeof(float),
                                         "optimizer state snapshot")) != NULL;
    if (!ok) {
        ptune_optimizer_free(o);
        return PTUNE_E_NOMEM;
    }
    *out = o;
    return PTUNE_OK;
}

PTUNE_API void ptune_optimizer_free(ptune_optimizer *o)
{
    if (!o) return;
    free(o->exp_avg);
    free(o->exp_avg_sq);
    free(o->row);
    free(o->col);
    free(o->accum);
    free(o->work);
    free(o->saved);
    free(o);
}

/* Adafactor's relative step size for update number t (1-based): min(1e-2, 1/sqrt(t)), or with
 * warmup_init min(1e-6 t, 1/sqrt(t)). */
static double adafactor_relative_step(const ptune_optimizer *o, int64_t t)
{
    double min_step = o->p.adafactor_warmup_init ? 1e-6 * (double)t : 1e-2;
    double inv = 1.0 / sqrt((double)t);
    return min_step < inv ? min_step : inv;
}

/* The rate of the update with 0-based index `step`, before Adafactor's parameter scaling. */
static double scheduled_lr(const ptune_optimizer *o, int64_t step)
{
    if (o->relative_step) return adafactor_relative_step(o, step + 1);
    return o->base_lr * pt_schedule_factor(o->p.schedule, step, o->p.warmup_steps, o->p.total_steps);
}

PTUNE_API double ptune_optimizer_lr(const ptune_optimizer *o) { return o ? scheduled_lr(o, o->steps) : 0.0; }
PTUNE_API int64_t ptune_optimizer_steps(const ptune_optimizer *o) { return o ? o->steps : 0; }
PTUNE_API double ptune_optimizer_last_grad_norm(const ptune_optimizer *o) { return o ? o->last_grad_norm : 0.0; }

static void update_adamw(ptune_optimizer *o, float *values, const double *g, double lr)
{
    double t = (double)(o->steps + 1);
    double b1 = o->beta1, b2 = o->beta2;
    double bc1 = 1.0 - pow(b1, t);
    double bc2_sqrt = sqrt(1.0 - pow(b2, t));
    double step_size = lr / bc1;
    double decay = 1.0 - lr * o->weight_decay;
    for (size_t i = 0; i < o->n; i++) {
        double p = (double)values[i] * decay;
        float m = (float)(b1 * (double)o->exp_avg[i] + (1.0 - b1) * g[i]);
        float v = (float)(b2 * (double)o->exp_avg_sq[i] + (1.0 - b2) * g[i] * g[i]);
        o->exp_avg[i] = m;
        o->exp_avg_sq[i] = v;
        double denom = sqrt((double)v) / bc2_sqrt + o->eps;
        values[i] = (float)(p - step_size * (double)m / denom);
    }
}

static void update_sgd(ptune_optimizer *o, float *values, const double *g, double lr)
{
    double mu = o->momentum;
    double decay = 1.0 - lr * o->weight_decay;
    bool first = o->steps == 0;
    for (size_t i = 0; i < o->n; i++) {
        double p = (double)values[i] * decay;
        double d = g[i];
        if (o->first_moment) {
            /* torch: the buffer starts as a copy of the first gradient (dampening 0) */
            float buf = first ? (float)g[i] : (float)(mu * (double)o->exp_avg[i] + g[i]);
            o->exp_avg[i] = buf;
            d = o->p.nesterov ? g[i] + mu * (double)buf : (double)buf;
        }
        values[i] = (float)(p - lr * d);
    }
}

static double rms_f32(const float *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return sqrt(s / (double)n);
}

/* HF transformers' Adafactor for a 2-D parameter [rows, cols]; `g` is overwritten by the update. */
static void update_adafactor(ptune_optimizer *o, float *values, double *g, double sched_lr)
{
    const size_t rows = (size_t)o->n_virtual, cols = (size_t)o->n_embd;
    double t = (double)(o->steps + 1);
    double lr = sched_lr;
    if (o->p.adafactor_scale_parameter) {
        double rms = rms_f32(values, o->n);
        lr *= rms > o->af_eps2 ? rms : o->af_eps2;
    }
    double beta2t = 1.0 - pow(t, o->af_decay_rate);
    double eps1 = o->af_eps1;

    /* running means of g² + eps1 along each row and each column */
    for (size_t r = 0; r < rows; r++) {
        double s = 0.0;
        for (size_t c = 0; c < cols; c++) s += g[r * cols + c] * g[r * cols + c] + eps1;
        o->row[r] = (float)(beta2t * (double)o->row[r] + (1.0 - beta2t) * (s / (double)cols));
    }
    for (size_t c = 0; c < cols; c++) {
        double s = 0.0;
        for (size_t r = 0; r < rows; r++) s += g[r * cols + c] * g[r * cols + c] + eps1;
        o->col[c] = (float)(beta2t * (double)o->col[c] + (1.0 - beta2t) * (s / (double)rows));
    }
    /* update = g / sqrt(row_r / mean(row) · col_c), then clipped to RMS <= clip_threshold */
    double row_mean = 0.0;
    for (size_t r = 0; r < rows; r++) row_mean += (double)o->row[r];
    row_mean /= (double)rows;
    double ss = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double rf = 1.0 / sqrt((double)o->row[r] / row_mean);
        for (size_t c = 0; c < cols; c++) {
            double u = rf / sqrt((double)o->col[c]) * g[r * cols + c];
            g[r * cols + c] = u;
            ss += u * u;
        }
    }
    double clip = sqrt(ss / (double)o->n) / o->af_clip_threshold;
    double scale = lr / (clip > 1.0 ? clip : 1.0);
    double b1 = o->beta1;
    double decay = 1.0 - o->weight_decay * lr;
    for (size_t i = 0; i < o->n; i++) {
        double u = g[i] * scale;
        if (o->first_moment) {
            float m = (float)(b1 * (double)o->exp_avg[i] + (1.0 - b1) * u);
            o->exp_avg[i] = m;
            u = (double)m;
        }
        values[i] = (float)((double)values[i] * decay - u);
    }
}

/* Saves (save = true) or restores the prompt values and every state buffer an update writes. */
static void state_copy(ptune_optimizer *o, float *values, bool save)
{
    struct {
        float *buf;
        size_t n;
    } parts[] = {{values, o->n}, {o->exp_avg, o->n}, {o->exp_avg_sq, o->n}, {o->row, (size_t)o->n_virtual},
                 {o->col, (size_t)o->n_embd}};
    float *at = o->saved;
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        if (!parts[k].buf) continue;
        if (save) memcpy(at, parts[k].buf, parts[k].n * sizeof(float));
        else memcpy(parts[k].buf, at, parts[k].n * sizeof(float));
        at += parts[k].n;
    }
}

PTUNE_API ptune_status ptune_optimizer_step(ptune_optimizer *o, ptune_prompt *pr)
{
    if (!o || !pr) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_step: optimizer and prompt are required");
    if (pr->n_virtual != o->n_virtual || pr->n_embd != o->n_embd)
        return pt_fail(PTUNE_E_INVALID_ARG,
                       "ptune_optimizer_step: prompt is [%d, %d] but the optimizer was made for [%d, %d]",
                       pr->n_virtual, pr->n_embd, o->n_virtual, o->n_embd);
    if (!pr->values || !pr->grad)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_step: prompt has no value or gradient buffer");
    const size_t n = o->n;
    float *grad = pr->grad;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(grad[i]))
            return pt_fail(PTUNE_E_NUMERIC,
                           "ptune_optimizer_step: gradient element [%zu, %zu] is %s; nothing was updated",
                           i / (size_t)o->n_embd, i % (size_t)o->n_embd, isnan(grad[i]) ? "NaN" : "Inf");

    double *g = o->work;
    const int32_t accum_steps = o->p.grad_accum_steps;
    if (accum_steps > 1) {
        for (size_t i = 0; i < n; i++) o->accum[i] += (double)grad[i];
        memset(grad, 0, n * sizeof *grad);
        if (++o->accum_count < accum_steps) return PTUNE_OK;
        for (size_t i = 0; i < n; i++) g[i] = o->accum[i] / (double)accum_steps;
    } else {
        for (size_t i = 0; i < n; i++) g[i] = (double)grad[i];
    }

    /* global L2 norm, then HF Trainer / torch clip_grad_norm_: coefficient max/(norm + 1e-6) <= 1 */
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += g[i] * g[i];
    double norm = sqrt(ss);
    if (o->max_grad_norm > 0.0) {
        double coef = o->max_grad_norm / (norm + 1e-6);
        if (coef < 1.0)
            for (size_t i = 0; i < n; i++) g[i] *= coef;
    }

    double lr = scheduled_lr(o, o->steps);
    /* an update that overflows (a learning rate far too large) must not leave an Inf/NaN prompt
     * behind: the prompt and the state are kept as they were and the step fails */
    state_copy(o, pr->values, true);
    switch (o->p.kind) {
    case PTUNE_OPTIMIZER_ADAMW: update_adamw(o, pr->values, g, lr); break;
    case PTUNE_OPTIMIZER_SGD: update_sgd(o, pr->values, g, lr); break;
    default: update_adafactor(o, pr->values, g, lr); break;
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pr->values[i])) {
            state_copy(o, pr->values, false);
            if (accum_steps > 1) { /* the window's gradients are already folded in: it starts over */
                memset(o->accum, 0, n * sizeof *o->accum);
                o->accum_count = 0;
            }
            return pt_fail(PTUNE_E_NUMERIC,
                           "ptune_optimizer_step: the update makes prompt element [%zu, %zu] %s (lr %g); the "
                           "prompt and the optimizer state are unchanged",
                           i / (size_t)o->n_embd, i % (size_t)o->n_embd, isnan(pr->values[i]) ? "NaN" : "Inf", lr);
        }

    if (accum_steps > 1) {
        memset(o->accum, 0, n * sizeof *o->accum);
        o->accum_count = 0;
    } else {
        memset(grad, 0, n * sizeof *grad);
    }
    o->last_grad_norm = norm;
    o->steps++;
    return PTUNE_OK;
}
