/* bench_train owns the training-step benchmark: on random GPT-2-124M, BLOOM-560m and
 * Llama-0.5B-GQA checkpoints (bench_models.c) it times forward + loss + backward + AdamW on a
 * ragged batch (default: 8 sequences of seeded random lengths in [16, 64]) behind soft prompts of
 * several lengths (default 4, 20, 100 virtual tokens), per phase; measures the time spent inside
 * cblas_sgemm by wrapping it at link time (-Wl,--wrap=cblas_sgemm, see meson.build); and sets the
 * step's useful FLOP rate next to cblas_sgemm's own rate on the step's dominant shapes (the
 * "sgemm ceiling"). Each (model, prompt length) case runs in its own child process so its peak
 * RSS is its own. */
#include "bench_models.h"
#include "core/rng.h"
#include "model/model.h" /* the LM head's weight address, to recognise its sgemm calls */
#include "ptune/ptune.h"

#include <cblas.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the workload ------------------------------------------------------------------------------ */

#define DEFAULT_N_SEQ 8
#define DEFAULT_LEN_MIN 16
#define DEFAULT_LEN_MAX 64
#define MAX_SEQ 64
#define MAX_LEN 32768
#define MAX_VIRTUAL_CASES 16
#define MAX_N_VIRTUAL 4096
#define LR 5e-3f
#define TOTAL_STEPS 1000000 /* the LINEAR schedule stays at the peak rate during the benchmark */
#define DEFAULT_ITERS 3
#define MAX_ITERS 50
#define MAX_SHAPES 160
#define ALONE_MIN_TIME 0.1   /* seconds per recorded shape timed alone */
#define CEILING_MIN_TIME 0.2 /* seconds per dominant shape of the sgemm ceiling, per round */
#define CEILING_ROUNDS 3     /* timings per shape; the best counts (one slow round is noise) */
#define DEFAULT_HEAD_ROWS 32 /* LM-head rows per sgemm when none was observed (PT_HEAD_CHUNK) */

typedef enum phase { PH_FORWARD, PH_LOSS, PH_BACKWARD, PH_OPTIMIZER, N_PHASES } phase;
static const char *const k_phase_names[N_PHASES] = {"forward", "loss", "backward", "optimizer"};

/* What an sgemm call is: the LM head (its B operand lies in the output weight, which the library
 * may split into vocabulary blocks; or N or K is the vocabulary), attention (N or K is the head
 * dimension: scores, probabilities · V and their gradients) or a layer projection (the rest). */
typedef enum gemm_kind { GK_PROJECTIONS, GK_ATTENTION, GK_HEAD, N_KINDS } gemm_kind;
static const char *const k_kind_names[N_KINDS] = {"projections", "attention", "lm_head"};
static const char *const k_kind_labels[N_KINDS] = {"layer projections", "attention", "LM head"};

typedef struct options {
    int threads, blas_threads, iters;
    bool models[BENCH_N_MODELS];
    const char *path; /* an existing checkpoint instead of the generated ones */
    const char *keep; /* keep the generated checkpoints under this directory */
    uint64_t seed;
    bool json;
    bool sgemm_timer; /* false: --no-sgemm-timer, calls pass straight through (overhead check) */
    int n_virtual_cases, virtuals[MAX_VIRTUAL_CASES];
    int n_seq, lens[MAX_SEQ];
    bool lengths_given;
    bool recompute; /* ptune_ctx_params.recompute: block activations recomputed in backward */
} options;

/* ---- the sgemm timer (wraps cblas_sgemm) ------------------------------------------------------ */

typedef struct gemm_acc {
    double wall_s;   /* wall time with at least one such call running (union of intervals) */
    double thread_s; /* sum of the calls' durations (more than wall_s when calls overlap) */
    double gflop;
    int64_t calls;
} gemm_acc;

typedef struct gemm_shape {
    int trans_a, trans_b, m, n, k, kind, phase;
    int64_t calls;       /* over all timed steps */
    double thread_s;     /* over all timed steps */
    double alone_s;      /* median of the same call timed alone (compact operands), 0 = not timed */
    int alone_reps;
} gemm_shape;

static struct {
    pthread_mutex_t mu;
    _Atomic int phase; /* the phase being timed, or -1: calls are not counted */
    int head_dim, vocab; /* classify calls */
    const char *head_lo, *head_hi; /* the LM head weight's bytes [lo, hi) */
    int active, kind_active[N_KINDS];
    double active_t0, kind_t0[N_KINDS];
    gemm_acc ph[N_PHASES], kind[N_KINDS]; /* the current step */
    bool record_shapes;
    gemm_shape shapes[MAX_SHAPES];
    int n_shapes;
    bool shapes_truncated;
} g_acct = {.mu = PTHREAD_MUTEX_INITIALIZER, .phase = -1};

void __real_cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc);
void __wrap_cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc);

static void record_shape(int trans_a, int trans_b, int M, int N, int K, int kind, int ph, double dt)
{
    for (int i = 0; i < g_acct.n_shapes; i++) {
        gemm_shape *s = &g_acct.shapes[i];
        if (s->trans_a == trans_a && s->trans_b == trans_b && s->m == M && s->n == N && s->k == K && s->phase == ph) {
            s->calls++;
            s->thread_s += dt;
            return;
        }
    }
    if (g_acct.n_shapes == MAX_SHAPES) {
        g_acct.shapes_truncated = true;
        return;
    }
    g_acct.shapes[g_acct.n_shapes++] = (gemm_shape){trans_a, trans_b, M, N, K, kind, ph, 1, dt, 0.0, 0};
}

void __wrap_cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE ta, const enum CBLAS_TRANSPOSE tb,
                        const blasint M, const blasint N, const blasint K, const float alpha, const float *A,
                        const blasint lda, const float *B, const blasint ldb, const float beta, float *C,
                        const blasint ldc)
{
    const int ph = atomic_load_explicit(&g_acct.phase, memory_order_relaxed);
    if (ph < 0) {
        __real_cblas_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    const char *b = (const char *)B;
    const int kind = (N == g_acct.vocab || K == g_acct.vocab || (b >= g_acct.head_lo && b < g_acct.head_hi)) ? GK_HEAD
                     : (N == g_acct.head_dim || K == g_acct.head_dim)                                        ? GK_ATTENTION
                                                                                                             : GK_PROJECTIONS;
    pthread_mutex_lock(&g_acct.mu);
    const double t0 = bench_now_s();
    if (g_acct.active++ == 0) g_acct.active_t0 = t0;
    if (g_acct.kind_active[kind]++ == 0) g_acct.kind_t0[kind] = t0;
    pthread_mutex_unlock(&g_acct.mu);

    __real_cblas_sgemm(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);

    pthread_mutex_lock(&g_acct.mu);
    const double t1 = bench_now_s(), dt = t1 - t0, gflop = 2e-9 * (double)M * (double)N * (double)K;
    gemm_acc *p = &g_acct.ph[ph], *k = &g_acct.kind[kind];
    if (--g_acct.active == 0) p->wall_s += t1 - g_acct.active_t0;
    if (--g_acct.kind_active[kind] == 0) k->wall_s += t1 - g_acct.kind_t0[kind];
    p->thread_s += dt;
    k->thread_s += dt;
    p->gflop += gflop;
    k->gflop += gflop;
    p->calls++;
    k->calls++;
    if (g_acct.record_shapes)
        record_shape(ta == CblasTrans, tb == CblasTrans, (int)M, (int)N, (int)K, kind, ph, dt);
    pthread_mutex_unlock(&g_acct.mu);
}

static void acct_begin_step(void)
{
    pthread_mutex_lock(&g_acct.mu);
    memset(g_acct.ph, 0, sizeof g_acct.ph);
    memset(g_acct.kind, 0, sizeof g_acct.kind);
    pthread_mutex_unlock(&g_acct.mu);
}

static bool g_timer_on = true;

static void acct_set_phase(int ph)
{
    atomic_store_explicit(&g_acct.phase, g_timer_on ? ph : -1, memory_order_relaxed);
}

/* ---- one case's results (a plain struct: the child sends it to the parent through a pipe) ----- */

typedef struct step_result {
    double phase_s[N_PHASES], total_s;
    double loss, grad_norm;
    gemm_acc ph[N_PHASES], kind[N_KINDS];
} step_result;

/* One dominant sgemm shape of the step, timed alone for the ceiling. */
typedef struct ceiling_shape {
    char name[24];      /* "qkv", "attn_out", "ffn_up", "ffn_down", "lm_head" */
    char pass[12];      /* "forward" (Y = X·Wᵀ, NT) or "backward" (dX = dY·W, NN) */
    int m, n, k;
    bool trans_b;
    double useful_gflop; /* its share of the step's useful matmul FLOPs (the weight) */
    double gflops;       /* cblas_sgemm alone, median */
    int reps;
} ceiling_shape;

#define MAX_CEILING_SHAPES 10

typedef struct case_result {
    char key[16], label[256], source[16], path[4096], arch[32], dtype[16];
    int n_virtual, n_seq, real_tokens, max_len, ctx_rows;
    int library_rows; /* M of the layer projections' sgemm calls (the rows the library computes); 0 = unknown */
    int head_rows;    /* M of the LM head's sgemm calls (DEFAULT_HEAD_ROWS when none was observed) */
    int head_block;   /* vocabulary entries per LM-head sgemm (n_vocab when none was observed) */
    int64_t n_params, weight_bytes, counted;
    int D, L, H, H_kv, hd, F, V, n_ctx;
    bool swiglu;
    int blas_threads;
    double generate_s, generator_rss_mib; /* filled by the parent; < 0: not generated */
    double load_s, rss_after_load_mib, rss_after_ctx_mib, rss_after_train_mib, peak_rss_mib;
    double loadavg_start, loadavg_end, cpu_util;
    step_result warmup;
    int n_steps;
    step_result steps[MAX_ITERS];
    /* medians over the timed steps */
    double med_phase_s[N_PHASES], med_total_s;
    double med_ph_wall_s[N_PHASES], med_ph_gflop[N_PHASES];
    double med_sgemm_wall_s, med_sgemm_thread_s, med_sgemm_gflop;
    double med_kind_wall_s[N_KINDS], med_kind_thread_s[N_KINDS], med_kind_gflop[N_KINDS], kind_calls[N_KINDS];
    double kind_alone_s[N_KINDS]; /* per step: each call's shape timed alone */
    int n_shapes;
    bool shapes_truncated;
    gemm_shape shapes[MAX_SHAPES];
    /* the useful-FLOP cost model and the sgemm ceiling */
    double matmul_params;       /* projections + LM head, per token */
    double useful_mm_gflop;     /* 4 × matmul_params × (real tokens + n_virtual) */
    double useful_attn_gflop;   /* causal pairs only, forward + backward (2×) */
    double useful_gflop;
    double causal_pairs;        /* Σ over sequences of T(T+1)/2, T = n_virtual + len */
    int n_ceiling;
    ceiling_shape ceiling[MAX_CEILING_SHAPES];
    double ceiling_gflops;      /* FLOP-weighted cblas_sgemm rate over the ceiling shapes */
} case_result;

/* What the parent hands a case: the model and where its checkpoint is. */
typedef struct case_spec {
    int kind;         /* bench_model_kind, or -1 for --path */
    const char *path; /* the checkpoint directory or file */
    int n_virtual;
} case_spec;

/* ---- one case, in the child --------------------------------------------------------------------- */

static void run_step(ptune_ctx *ctx, ptune_prompt *prompt, ptune_optimizer *opt, const ptune_batch *b, step_result *r,
                     int64_t *counted)
{
    memset(r, 0, sizeof *r);
    acct_begin_step();
    double t[N_PHASES + 1];
    t[0] = bench_now_s();
    acct_set_phase(PH_FORWARD);
    bench_check(ptune_forward(ctx, prompt, b), "ptune_forward");
    t[1] = bench_now_s();
    acct_set_phase(PH_LOSS);
    bench_check(ptune_loss(ctx, &r->loss, counted), "ptune_loss");
    t[2] = bench_now_s();
    acct_set_phase(PH_BACKWARD);
    bench_check(ptune_backward(ctx, prompt), "ptune_backward");
    t[3] = bench_now_s();
    acct_set_phase(PH_OPTIMIZER);
    bench_check(ptune_optimizer_step(opt, prompt), "ptune_optimizer_step");
    t[4] = bench_now_s();
    acct_set_phase(-1);
    for (int p = 0; p < N_PHASES; p++) r->phase_s[p] = t[p + 1] - t[p];
    r->total_s = t[N_PHASES] - t[0];
    r->grad_norm = ptune_optimizer_last_grad_norm(opt);
    pthread_mutex_lock(&g_acct.mu);
    memcpy(r->ph, g_acct.ph, sizeof r->ph);
    memcpy(r->kind, g_acct.kind, sizeof r->kind);
    pthread_mutex_unlock(&g_acct.mu);
}

/* Median over the timed steps of the double at byte offset `off` of step_result. */
static double med_field(const case_result *r, size_t off)
{
    double v[MAX_ITERS];
    for (int i = 0; i < r->n_steps; i++) memcpy(&v[i], (const char *)&r->steps[i] + off, sizeof(double));
    return bench_median(v, r->n_steps);
}

static double med_sum(const case_result *r, double (*get)(const step_result *))
{
    double v[MAX_ITERS];
    for (int i = 0; i < r->n_steps; i++) v[i] = get(&r->steps[i]);
    return bench_median(v, r->n_steps);
}

static double step_sgemm_wall(const step_result *s)
{
    double x = 0;
    for (int p = 0; p < N_PHASES; p++) x += s->ph[p].wall_s;
    return x;
}

static double step_sgemm_thread(const step_result *s)
{
    double x = 0;
    for (int p = 0; p < N_PHASES; p++) x += s->ph[p].thread_s;
    return x;
}

static double step_sgemm_gflop(const step_result *s)
{
    double x = 0;
    for (int p = 0; p < N_PHASES; p++) x += s->ph[p].gflop;
    return x;
}

static void summarise(case_result *r)
{
    for (int p = 0; p < N_PHASES; p++) {
        r->med_phase_s[p] = med_field(r, offsetof(step_result, phase_s) + sizeof(double) * (size_t)p);
        r->med_ph_wall_s[p] = med_field(r, offsetof(step_result, ph) + sizeof(gemm_acc) * (size_t)p + offsetof(gemm_acc, wall_s));
        r->med_ph_gflop[p] = med_field(r, offsetof(step_result, ph) + sizeof(gemm_acc) * (size_t)p + offsetof(gemm_acc, gflop));
    }
    for (int k = 0; k < N_KINDS; k++) {
        size_t base = offsetof(step_result, kind) + sizeof(gemm_acc) * (size_t)k;
        r->med_kind_wall_s[k] = med_field(r, base + offsetof(gemm_acc, wall_s));
        r->med_kind_thread_s[k] = med_field(r, base + offsetof(gemm_acc, thread_s));
        r->med_kind_gflop[k] = med_field(r, base + offsetof(gemm_acc, gflop));
        r->kind_calls[k] = (double)r->steps[0].kind[k].calls;
    }
    r->med_total_s = med_field(r, offsetof(step_result, total_s));
    r->med_sgemm_wall_s = med_sum(r, step_sgemm_wall);
    r->med_sgemm_thread_s = med_sum(r, step_sgemm_thread);
    r->med_sgemm_gflop = med_sum(r, step_sgemm_gflop);
}

/* Times every recorded sgemm shape alone, and the per-step sgemm time that predicts. */
static void time_shapes_alone(case_result *r, bool verbose)
{
    if (verbose && r->n_shapes) fprintf(stderr, "  timing %d sgemm shapes alone ...\n", r->n_shapes);
    for (int i = 0; i < r->n_shapes; i++) {
        gemm_shape *s = &r->shapes[i];
        bench_gemm_timing g = bench_time_sgemm(s->m, s->n, s->k, s->trans_a, s->trans_b, ALONE_MIN_TIME, 3);
        s->alone_s = g.median_s;
        s->alone_reps = g.reps;
        r->kind_alone_s[s->kind] += (double)s->calls / r->n_steps * s->alone_s;
    }
}

/* The most frequent M (by FLOPs) among the recorded calls of `kind`; 0 when there is none. */
static int dominant_m(const case_result *r, int kind)
{
    int best_m = 0;
    double best = 0;
    for (int i = 0; i < r->n_shapes; i++) {
        const gemm_shape *s = &r->shapes[i];
        if (s->kind != kind) continue;
        double w = 0;
        for (int j = 0; j < r->n_shapes; j++) {
            const gemm_shape *t = &r->shapes[j];
            if (t->kind == kind && t->m == s->m) w += (double)t->calls * t->n * (double)t->k;
        }
        if (w > best) {
            best = w;
            best_m = s->m;
        }
    }
    return best_m;
}

/* The LM head's dominant X·Wᵀ call (by FLOPs): its rows and vocabulary block; false if none. */
static bool head_shape(const case_result *r, int *rows, int *block)
{
    double best = 0;
    for (int i = 0; i < r->n_shapes; i++) {
        const gemm_shape *s = &r->shapes[i];
        if (s->kind != GK_HEAD || !s->trans_b || s->trans_a) continue;
        const double w = (double)s->calls * s->m * (double)s->n * s->k;
        if (w > best) {
            best = w;
            *rows = s->m;
            *block = s->n;
        }
    }
    return best > 0;
}

/* The useful FLOPs of one step (the cost model): 4 × (matmul parameters, LM head
 * included) × (real tokens + n_virtual: the prompt's rows once per batch), plus attention over
 * causal pairs only: per layer and query head, QKᵀ and P·V cost 2·head_dim FLOPs per pair each
 * in the forward pass, and the backward pass twice the forward. */
static void cost_model(case_result *r)
{
    const double D = r->D, q = (double)r->H * r->hd, kv = 2.0 * r->H_kv * r->hd;
    const double layer = D * (q + kv) + q * D + (r->swiglu ? 3.0 : 2.0) * D * (double)r->F;
    r->matmul_params = layer * r->L + (double)r->V * D;
    r->useful_mm_gflop = 4.0 * r->matmul_params * (double)(r->real_tokens + r->n_virtual) * 1e-9;
    const double fwd = 2.0 * 2.0 * r->hd * r->causal_pairs * (double)r->H * r->L; /* two products */
    r->useful_attn_gflop = 3.0 * fwd * 1e-9;                                        /* + backward 2× */
    r->useful_gflop = r->useful_mm_gflop + r->useful_attn_gflop;
}

/* cblas_sgemm alone on the step's dominant shapes: every projection at rows = real tokens +
 * n_virtual and the LM head at the rows and vocabulary block per call the library uses, each in
 * its forward (X·Wᵀ) and backward (dY·W) form; the ceiling is their FLOP-weighted rate (total
 * useful matmul FLOPs over the time these shapes would take at their measured rates). */
static void sgemm_ceiling(case_result *r, bool verbose)
{
    const int M = r->real_tokens + r->n_virtual, Mh = r->head_rows, D = r->D, q = r->H * r->hd;
    const int qkv = q + 2 * r->H_kv * r->hd, up = (r->swiglu ? 2 : 1) * r->F;
    const double rows = (double)(r->real_tokens + r->n_virtual), L = r->L;
    struct {
        const char *name;
        int n_out, n_in; /* the weight is [n_out, n_in] */
        int m;
        double per_step; /* forward FLOPs per step of this weight in the useful model, GFLOP */
    } w[] = {
        {"qkv", qkv, D, M, 2e-9 * rows * qkv * D * L},
        {"attn_out", D, q, M, 2e-9 * rows * D * q * L},
        {"ffn_up", up, D, M, 2e-9 * rows * up * D * L},
        {"ffn_down", D, r->F, M, 2e-9 * rows * D * r->F * L},
        {"lm_head", r->head_block, D, Mh, 2e-9 * rows * r->V * D},
    };
    if (verbose) fprintf(stderr, "  timing the sgemm ceiling's %d shapes ...\n", 2 * (int)(sizeof w / sizeof w[0]));
    r->n_ceiling = 0;
    double flop = 0, time = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        for (int pass = 0; pass < 2; pass++) {
            ceiling_shape *c = &r->ceiling[r->n_ceiling++];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%s", w[i].name);
            snprintf(c->pass, sizeof c->pass, "%s", pass ? "backward" : "forward");
            c->m = w[i].m;
            c->n = pass ? w[i].n_in : w[i].n_out;
            c->k = pass ? w[i].n_out : w[i].n_in;
            c->trans_b = !pass;
            c->useful_gflop = w[i].per_step;
            /* a ceiling is the best the shape achieves: best of CEILING_ROUNDS timings */
            for (int round = 0; round < CEILING_ROUNDS; round++) {
                bench_gemm_timing g = bench_time_sgemm(c->m, c->n, c->k, false, c->trans_b, CEILING_MIN_TIME, 3);
                const double gf = bench_gemm_gflops(&g);
                if (gf > c->gflops) {
                    c->gflops = gf;
                    c->reps = g.reps;
                }
            }
            if (c->gflops > 0) {
                flop += c->useful_gflop;
                time += c->useful_gflop / c->gflops;
            }
        }
    }
    r->ceiling_gflops = time > 0 ? flop / time : 0.0;
}

/* Copies src into dst[cap], truncated and NUL-terminated. */
static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Loads the checkpoint, trains on it with one prompt length and fills *r. Runs in a child. */
static void run_case(const options *o, const case_spec *cs, case_result *r)
{
    memset(r, 0, sizeof *r);
    r->generate_s = r->generator_rss_mib = -1.0;
    r->loadavg_start = bench_load_average();
    r->n_virtual = cs->n_virtual;
    if (cs->kind >= 0) {
        const bench_model_info *mi = bench_model_get((bench_model_kind)cs->kind);
        copy_str(r->key, sizeof r->key, mi->key);
        copy_str(r->label, sizeof r->label, mi->label);
        copy_str(r->source, sizeof r->source, "generated");
        if (o->keep) copy_str(r->path, sizeof r->path, cs->path);
    } else {
        copy_str(r->key, sizeof r->key, "path");
        copy_str(r->label, sizeof r->label, cs->path);
        copy_str(r->source, sizeof r->source, "file");
        copy_str(r->path, sizeof r->path, cs->path);
    }

    ptune_set_blas_threads(o->blas_threads);
    r->blas_threads = bench_blas_threads(o->blas_threads);
    if (!o->json) fprintf(stderr, "[%s, %d virtual] loading %s ...\n", r->label, r->n_virtual, cs->path);
    ptune_model *m = NULL;
    double t0 = bench_now_s();
    bench_check(ptune_model_load(cs->path, NULL, &m), "ptune_model_load");
    r->load_s = bench_now_s() - t0;
    r->rss_after_load_mib = bench_current_rss_mib();

    copy_str(r->arch, sizeof r->arch, ptune_model_arch_name(m));
    copy_str(r->dtype, sizeof r->dtype, ptune_model_file_dtype(m));
    r->n_params = ptune_model_n_params(m);
    r->weight_bytes = (int64_t)ptune_model_weight_bytes(m);
    r->D = ptune_model_n_embd(m);
    r->L = ptune_model_n_layer(m);
    r->H = ptune_model_n_head(m);
    r->H_kv = ptune_model_n_head_kv(m);
    r->hd = ptune_model_head_dim(m);
    r->F = ptune_model_n_ff(m);
    r->V = ptune_model_n_vocab(m);
    r->n_ctx = ptune_model_n_ctx(m);
    r->swiglu = ptune_model_arch(m) == PTUNE_ARCH_LLAMA || ptune_model_arch(m) == PTUNE_ARCH_QWEN2;

    /* the ragged batch: every sequence behind its own copy of the prompt */
    r->n_seq = o->n_seq;
    int64_t rows = 0;
    for (int s = 0; s < o->n_seq; s++) {
        const int T = r->n_virtual + o->lens[s];
        r->real_tokens += o->lens[s];
        if (o->lens[s] > r->max_len) r->max_len = o->lens[s];
        rows += T;
        r->causal_pairs += 0.5 * (double)T * (T + 1);
    }
    if (r->n_ctx > 0 && r->n_virtual + r->max_len > r->n_ctx)
        bench_die("%s: a context of %d positions is shorter than %d virtual + %d tokens", r->label, r->n_ctx,
                  r->n_virtual, r->max_len);
    if (rows > (1 << 24)) bench_die("%s: the batch needs %lld rows, too many", r->label, (long long)rows);
    r->ctx_rows = (int)rows; /* the library may need fewer (the prompt's rows once); never more */
    cost_model(r);

    /* the training context, prompt, optimizer and batch */
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = o->threads;
    cp.max_tokens = r->ctx_rows;
    cp.logits = PTUNE_LOGITS_NONE;
    cp.training = 1;
    cp.recompute = o->recompute;
    ptune_ctx *ctx = NULL;
    bench_check(ptune_ctx_new(m, &cp, &ctx), "ptune_ctx_new");
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = r->n_virtual;
    pp.init = PTUNE_PROMPT_INIT_RANDOM;
    pp.seed = o->seed;
    ptune_prompt *prompt = NULL;
    bench_check(ptune_prompt_new(m, &pp, &prompt), "ptune_prompt_new");
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    op.lr = LR;
    op.total_steps = TOTAL_STEPS;
    ptune_optimizer *opt = NULL;
    bench_check(ptune_optimizer_new(&op, prompt, &opt), "ptune_optimizer_new");
    r->rss_after_ctx_mib = bench_current_rss_mib();

    int32_t *ids = bench_xmalloc(sizeof(int32_t) * (size_t)r->real_tokens, "token ids");
    const int32_t *seq_ids[MAX_SEQ];
    int32_t lens[MAX_SEQ];
    pt_rng rng;
    pt_rng_seed(&rng, o->seed + 1);
    for (int i = 0; i < r->real_tokens; i++) ids[i] = (int32_t)pt_rng_below(&rng, (uint64_t)r->V);
    for (int s = 0, off = 0; s < o->n_seq; s++) {
        seq_ids[s] = ids + off;
        lens[s] = o->lens[s];
        off += o->lens[s];
    }
    ptune_batch b = {o->n_seq, seq_ids, NULL, lens}; /* labels = ids */

    g_acct.head_dim = r->hd;
    g_acct.vocab = r->V;
    g_acct.head_lo = (const char *)pt_global_w(m, PT_SLOT_OUTPUT); /* NULL: a stored head (native storage) */
    g_acct.head_hi = g_acct.head_lo ? g_acct.head_lo + sizeof(float) * (size_t)r->V * (size_t)r->D : NULL;
    g_acct.n_shapes = 0;
    g_acct.shapes_truncated = false;
    const int iters = o->iters;
    if (!o->json) fprintf(stderr, "  warm-up step ...\n");
    run_step(ctx, prompt, opt, &b, &r->warmup, &r->counted);
    if (!o->json) fprintf(stderr, "  step 1 (warm-up): %.2f s, loss %.6f\n", r->warmup.total_s, r->warmup.loss);
    g_acct.record_shapes = true;
    double start = bench_now_s(), cpu0 = bench_cpu_seconds();
    for (int i = 0; i < iters; i++) {
        run_step(ctx, prompt, opt, &b, &r->steps[i], NULL);
        r->n_steps = i + 1;
        if (!o->json) fprintf(stderr, "  step %d: %.2f s, loss %.6f\n", i + 2, r->steps[i].total_s, r->steps[i].loss);
    }
    r->cpu_util = (bench_cpu_seconds() - cpu0) / (bench_now_s() - start);
    g_acct.record_shapes = false;
    r->peak_rss_mib = bench_peak_rss_mib(RUSAGE_SELF); /* before the sgemm timings allocate operands */
    r->rss_after_train_mib = bench_current_rss_mib();
    r->n_shapes = g_acct.n_shapes;
    r->shapes_truncated = g_acct.shapes_truncated;
    memcpy(r->shapes, g_acct.shapes, sizeof r->shapes);

    /* free the model before timing sgemm alone: the operands then come from the same memory */
    free(ids);
    ptune_optimizer_free(opt);
    ptune_prompt_free(prompt);
    ptune_ctx_free(ctx);
    ptune_model_free(m);

    summarise(r);
    r->library_rows = dominant_m(r, GK_PROJECTIONS);
    if (!head_shape(r, &r->head_rows, &r->head_block)) { /* no timer: PT_HEAD_CHUNK rows, the whole vocabulary */
        r->head_rows = DEFAULT_HEAD_ROWS < r->real_tokens ? DEFAULT_HEAD_ROWS : r->real_tokens;
        r->head_block = r->V;
    }
    time_shapes_alone(r, !o->json);
    sgemm_ceiling(r, !o->json);
    r->loadavg_end = bench_load_average();
}

/* Runs run_case in a child process and returns its result. */
static void run_case_in_child(const options *o, const case_spec *cs, case_result *r)
{
    int fds[2];
    if (pipe(fds) != 0) bench_die("pipe failed: %s", strerror(errno));
    fflush(NULL);
    const pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) bench_die("fork failed: %s", strerror(errno));
    if (pid == 0) {
        bench_die_with_parent(self);
        bench_tmpdir_forget(); /* the parent's checkpoint directory serves the next cases too */
        close(fds[0]);
        case_result *res = bench_xmalloc(sizeof *res, "result");
        run_case(o, cs, res);
        if (!bench_write_all(fds[1], res, sizeof *res))
            bench_die("writing the result to the parent failed: %s", strerror(errno));
        close(fds[1]);
        free(res);
        exit(0);
    }
    close(fds[1]);
    const size_t got = bench_read_all(fds[0], r, sizeof *r);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) bench_die("waitpid failed: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof *r)
        bench_die("the benchmark of %s with %d virtual tokens failed",
                  cs->kind >= 0 ? bench_model_get((bench_model_kind)cs->kind)->label : cs->path, cs->n_virtual);
}

/* ---- reporting -------------------------------------------------------------------------------- */

typedef struct report {
    const options *o;
    char cpu[256];
    long nproc;
    const char *blas_config, *blas_core;
    double loadavg_start, loadavg_end;
    int n_cases;
    case_result *cases;
} report;

static double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }
static double rate(double gflop, double s) { return s > 0 ? gflop / s : 0.0; }

static bool loss_decreased(const case_result *r)
{
    return r->n_steps > 0 && r->steps[r->n_steps - 1].loss < r->warmup.loss;
}

static const char *op_name(const gemm_shape *s)
{
    static const char *const names[4] = {"NN", "NT", "TN", "TT"};
    return names[2 * (s->trans_a != 0) + (s->trans_b != 0)];
}

static double tokens_per_s(const case_result *r) { return r->med_total_s > 0 ? r->real_tokens / r->med_total_s : 0.0; }
static double achieved_gflops(const case_result *r) { return rate(r->useful_gflop, r->med_total_s); }
static double ceiling_tokens_per_s(const case_result *r)
{
    return r->useful_gflop > 0 ? r->ceiling_gflops * r->real_tokens / r->useful_gflop : 0.0;
}

static void print_case_table(const case_result *r)
{
    const double wmib = (double)r->weight_bytes / 1048576.0;
    printf("\n== %s, %d virtual tokens: %s (%s, %s on disk), %.1f M params, %.1f MiB weights; D %d, %d layers, "
           "%d heads (%d kv, head_dim %d), FFN %d, vocab %d\n",
           r->label, r->n_virtual, r->arch, r->source, r->dtype, (double)r->n_params * 1e-6, wmib, r->D, r->L, r->H,
           r->H_kv, r->hd, r->F, r->V);
    if (r->generate_s >= 0)
        printf("generate  %.2f s in a child process (peak RSS %.0f MiB), once for all prompt lengths%s%s\n",
               r->generate_s, r->generator_rss_mib, r->path[0] ? "; kept in " : "", r->path);
    printf("load      %.2f s (ptune_model_load); 1-min load average %.2f before, %.2f after; BLAS threads %d\n",
           r->load_s, r->loadavg_start, r->loadavg_end, r->blas_threads);
    printf("batch     %d sequences, %d real tokens, %d virtual each: context max_tokens %d; the library's "
           "projections run on %d rows,\n          its LM head on %d rows x %d vocabulary entries per sgemm\n",
           r->n_seq, r->real_tokens, r->n_virtual, r->ctx_rows, r->library_rows, r->head_rows, r->head_block);
    printf("memory    peak RSS %.1f MiB (load + training); RSS after load %.1f MiB, after creating the training\n"
           "          context %.1f MiB, after training %.1f MiB; weights %.1f MiB\n",
           r->peak_rss_mib, r->rss_after_load_mib, r->rss_after_ctx_mib, r->rss_after_train_mib, wmib);
    printf("loss      step 1 (warm-up) %.6f", r->warmup.loss);
    for (int i = 0; i < r->n_steps; i++) printf(", %d: %.6f", i + 2, r->steps[i].loss);
    printf("  (%s; %lld targets; grad norm %.3g)\n", loss_decreased(r) ? "decreasing" : "NOT decreasing",
           (long long)r->counted, r->steps[r->n_steps - 1].grad_norm);

    printf("\n%-10s %9s %7s %9s %7s %9s %8s\n", "phase", "median s", "step %", "sgemm s", "sgemm %", "GFLOP", "GFLOP/s");
    for (int p = 0; p < N_PHASES; p++)
        printf("%-10s %9.4f %6.1f%% %9.4f %6.1f%% %9.1f %8.1f\n", k_phase_names[p], r->med_phase_s[p],
               pct(r->med_phase_s[p], r->med_total_s), r->med_ph_wall_s[p], pct(r->med_ph_wall_s[p], r->med_phase_s[p]),
               r->med_ph_gflop[p], rate(r->med_ph_gflop[p], r->med_ph_wall_s[p]));
    printf("%-10s %9.4f %6.1f%% %9.4f %6.1f%% %9.1f %8.1f\n", "step", r->med_total_s, 100.0, r->med_sgemm_wall_s,
           pct(r->med_sgemm_wall_s, r->med_total_s), r->med_sgemm_gflop, rate(r->med_sgemm_gflop, r->med_sgemm_wall_s));
    printf("=> %.1f tokens/s (%d real tokens per step), %.1f rows/s (%d rows); median of %d steps; cpu %.2f\n",
           tokens_per_s(r), r->real_tokens, r->ctx_rows / r->med_total_s, r->ctx_rows, r->n_steps, r->cpu_util);
    printf("useful    %.2f GFLOP per step = matmuls 4 x %.1f M params x (%d tokens + %d virtual) %.2f GFLOP\n"
           "          + attention over %.0f causal pairs (forward + 2x backward) %.2f GFLOP\n"
           "          => %.1f GFLOP/s achieved (executed sgemm: %.1f GFLOP, %.1f GFLOP/s over the whole step)\n",
           r->useful_gflop, r->matmul_params * 1e-6, r->real_tokens, r->n_virtual, r->useful_mm_gflop, r->causal_pairs,
           r->useful_attn_gflop, achieved_gflops(r), r->med_sgemm_gflop, rate(r->med_sgemm_gflop, r->med_total_s));
    printf("ceiling   cblas_sgemm alone on the step's dominant shapes: %.1f GFLOP/s (FLOP-weighted) => %.1f tokens/s;\n"
           "          achieved / ceiling = %.1f%%\n",
           r->ceiling_gflops, ceiling_tokens_per_s(r), pct(achieved_gflops(r), r->ceiling_gflops));
    printf("  %-9s %-9s %6s %7s %6s %10s %8s\n", "shape", "pass", "M", "N", "K", "GFLOP/step", "GFLOP/s");
    for (int i = 0; i < r->n_ceiling; i++) {
        const ceiling_shape *c = &r->ceiling[i];
        printf("  %-9s %-9s %6d %7d %6d %10.2f %8.1f\n", c->name, c->pass, c->m, c->n, c->k, c->useful_gflop, c->gflops);
    }

    printf("\n%-18s %8s %9s %9s %8s %9s %8s %9s\n", "sgemm by kind", "calls", "GFLOP", "wall s", "GFLOP/s",
           "thread s", "alone s", "alone/s");
    double alone_total = 0;
    for (int k = 0; k < N_KINDS; k++) {
        alone_total += r->kind_alone_s[k];
        printf("%-18s %8.0f %9.1f %9.3f %8.1f %9.3f %8.3f %9.1f\n", k_kind_labels[k], r->kind_calls[k],
               r->med_kind_gflop[k], r->med_kind_wall_s[k], rate(r->med_kind_gflop[k], r->med_kind_wall_s[k]),
               r->med_kind_thread_s[k], r->kind_alone_s[k], rate(r->med_kind_gflop[k], r->kind_alone_s[k]));
    }
    printf("%-18s %8s %9.1f %9.3f %8.1f %9.3f %8.3f %9.1f\n", "all", "", r->med_sgemm_gflop, r->med_sgemm_wall_s,
           rate(r->med_sgemm_gflop, r->med_sgemm_wall_s), r->med_sgemm_thread_s, alone_total,
           rate(r->med_sgemm_gflop, alone_total));

    if (r->n_shapes) {
        printf("\nsgemm shapes (per step; 'alone' = the same call on compact operands, timed by itself):\n");
        printf("  %-9s %-11s %2s %6s %7s %6s %6s %10s %8s %10s %8s\n", "phase", "kind", "op", "M", "N", "K", "calls",
               "ms/call", "GFLOP/s", "alone ms", "GFLOP/s");
    }
    for (int i = 0; i < r->n_shapes; i++) {
        const gemm_shape *s = &r->shapes[i];
        const double per = s->thread_s / (double)s->calls, gf = 2e-9 * s->m * (double)s->n * s->k;
        printf("  %-9s %-11s %2s %6d %7d %6d %6.0f %10.3f %8.1f %10.3f %8.1f\n", k_phase_names[s->phase],
               k_kind_names[s->kind], op_name(s), s->m, s->n, s->k, (double)s->calls / r->n_steps, per * 1e3,
               rate(gf, per), s->alone_s * 1e3, rate(gf, s->alone_s));
    }
    if (r->shapes_truncated) printf("  (more than %d shapes: the rest are not listed)\n", MAX_SHAPES);
}

static void print_lengths(const options *o)
{
    for (int s = 0; s < o->n_seq; s++) printf("%s%d", s ? "," : "", o->lens[s]);
}

static void print_table(const report *rp)
{
    const options *o = rp->o;
    int tokens = 0;
    for (int s = 0; s < o->n_seq; s++) tokens += o->lens[s];
    printf("libptune %s training-step benchmark\n", ptune_version_string());
    printf("machine   %s, %ld online CPUs; %s (core %s)\n", rp->cpu, rp->nproc, rp->blas_config, rp->blas_core);
    if (o->recompute) printf("recompute ptune_ctx_params.recompute = 1 (block activations recomputed in backward)\n");
    printf("threads   ptune ctx %d, OpenBLAS %d; 1-min load average %.2f at start, %.2f at end\n", o->threads,
           o->blas_threads, rp->loadavg_start, rp->loadavg_end);
    printf("step      forward + loss + backward + AdamW (lr %g) on %d sequences of random tokens (labels = ids),\n"
           "          lengths ",
           (double)LR, o->n_seq);
    print_lengths(o);
    printf(" (%d real tokens; %s), each behind the RANDOM soft prompt\n", tokens,
           o->lengths_given ? "--lengths" : "drawn uniformly in [16, 64] from --seed");
    if (!o->sgemm_timer) printf("sgemm     timer OFF (--no-sgemm-timer): the sgemm columns are empty\n");
    for (int i = 0; i < rp->n_cases; i++) print_case_table(&rp->cases[i]);
    printf("\nwall s = time with at least one sgemm running (the union of the calls' intervals); thread s sums\n"
           "the calls' durations, more than wall s when calls overlap (issued from several threads). GFLOP\n"
           "counts 2·M·N·K of every call. cpu = CPU s / wall s over the timed steps (about the thread count\n"
           "on an otherwise idle machine).\n");

    printf("\n## Summary (medians; %d threads)\n\n", o->threads);
    printf("| model | virtual | step s | tokens/s | useful GFLOP | useful GFLOP/s | sgemm GFLOP/s | ceiling tokens/s "
           "| %% of ceiling | peak RSS MiB | loss first -> last |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < rp->n_cases; i++) {
        const case_result *r = &rp->cases[i];
        printf("| %s | %d | %.3f | %.1f | %.2f | %.1f | %.1f | %.1f | %.1f | %.0f | %.4f -> %.4f |\n", r->label,
               r->n_virtual, r->med_total_s, tokens_per_s(r), r->useful_gflop, achieved_gflops(r), r->ceiling_gflops,
               ceiling_tokens_per_s(r), pct(achieved_gflops(r), r->ceiling_gflops), r->peak_rss_mib, r->warmup.loss,
               r->steps[r->n_steps - 1].loss);
    }
}

static json_t *acc_json(const gemm_acc *a)
{
    return json_pack("{s:f,s:f,s:f,s:I}", "wall_s", a->wall_s, "thread_s", a->thread_s, "gflop", a->gflop, "calls",
                     (json_int_t)a->calls);
}

static json_t *step_json(int index, const step_result *s)
{
    json_t *j = json_object();
    json_object_set_new(j, "step", json_integer(index));
    json_object_set_new(j, "loss", json_real(s->loss));
    json_object_set_new(j, "grad_norm", json_real(s->grad_norm));
    json_object_set_new(j, "total_s", json_real(s->total_s));
    json_t *ph = json_object(), *sg = json_object(), *kd = json_object();
    for (int p = 0; p < N_PHASES; p++) {
        json_object_set_new(ph, k_phase_names[p], json_real(s->phase_s[p]));
        json_object_set_new(sg, k_phase_names[p], acc_json(&s->ph[p]));
    }
    for (int k = 0; k < N_KINDS; k++) json_object_set_new(kd, k_kind_names[k], acc_json(&s->kind[k]));
    json_object_set_new(j, "phase_s", ph);
    json_object_set_new(j, "sgemm_by_phase", sg);
    json_object_set_new(j, "sgemm_by_kind", kd);
    return j;
}

static json_t *case_json(const case_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "model", json_string(r->key));
    json_object_set_new(j, "label", json_string(r->label));
    json_object_set_new(j, "n_virtual", json_integer(r->n_virtual));
    json_object_set_new(j, "source", json_string(r->source));
    json_object_set_new(j, "path", r->path[0] ? json_string(r->path) : json_null());
    json_object_set_new(j, "arch", json_string(r->arch));
    json_object_set_new(j, "file_dtype", json_string(r->dtype));
    json_object_set_new(j, "n_params", json_integer(r->n_params));
    json_object_set_new(j, "weight_bytes", json_integer(r->weight_bytes));
    json_object_set_new(j, "weight_mib", json_real((double)r->weight_bytes / 1048576.0));
    json_object_set_new(j, "shape", json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i}", "n_embd", r->D, "n_layer", r->L,
                                              "n_head", r->H, "n_head_kv", r->H_kv, "head_dim", r->hd, "n_ff", r->F,
                                              "n_vocab", r->V, "n_ctx", r->n_ctx));
    json_object_set_new(j, "batch", json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "n_seq", r->n_seq, "real_tokens",
                                              r->real_tokens, "n_virtual", r->n_virtual, "ctx_max_tokens", r->ctx_rows,
                                              "library_rows", r->library_rows, "head_rows_per_call", r->head_rows));
    json_object_set_new(j, "lm_head_call", json_pack("{s:i,s:i}", "rows", r->head_rows, "vocab_block", r->head_block));
    json_object_set_new(j, "generate_s", r->generate_s >= 0 ? json_real(r->generate_s) : json_null());
    json_object_set_new(j, "generator_peak_rss_mib", r->generate_s >= 0 ? json_real(r->generator_rss_mib) : json_null());
    json_object_set_new(j, "load_s", json_real(r->load_s));
    json_object_set_new(j, "blas_threads", json_integer(r->blas_threads));
    json_object_set_new(j, "loadavg_1min", json_pack("{s:f,s:f}", "start", r->loadavg_start, "end", r->loadavg_end));
    json_object_set_new(j, "rss_after_load_mib", json_real(r->rss_after_load_mib));
    json_object_set_new(j, "rss_with_ctx_mib", json_real(r->rss_after_ctx_mib));
    json_object_set_new(j, "rss_after_train_mib", json_real(r->rss_after_train_mib));
    json_object_set_new(j, "peak_rss_mib", json_real(r->peak_rss_mib));
    json_object_set_new(j, "counted_targets", json_integer(r->counted));
    json_object_set_new(j, "cpu_utilisation", json_real(r->cpu_util));
    json_object_set_new(j, "loss_decreased", json_boolean(loss_decreased(r)));
    json_t *losses = json_array();
    json_array_append_new(losses, json_real(r->warmup.loss));
    for (int i = 0; i < r->n_steps; i++) json_array_append_new(losses, json_real(r->steps[i].loss));
    json_object_set_new(j, "losses", losses);

    json_t *med = json_object();
    json_object_set_new(med, "total_s", json_real(r->med_total_s));
    json_object_set_new(med, "tokens_per_s", json_real(tokens_per_s(r)));
    json_object_set_new(med, "rows_per_s", json_real(r->ctx_rows / r->med_total_s));
    json_t *ph = json_object();
    for (int p = 0; p < N_PHASES; p++)
        json_object_set_new(ph, k_phase_names[p],
                            json_pack("{s:f,s:f,s:f}", "s", r->med_phase_s[p], "sgemm_wall_s", r->med_ph_wall_s[p],
                                      "sgemm_gflop", r->med_ph_gflop[p]));
    json_object_set_new(med, "phases", ph);
    json_object_set_new(med, "sgemm",
                        json_pack("{s:f,s:f,s:f,s:f,s:f}", "wall_s", r->med_sgemm_wall_s, "thread_s", r->med_sgemm_thread_s,
                                  "gflop", r->med_sgemm_gflop, "share", r->med_sgemm_wall_s / r->med_total_s,
                                  "gflop_per_s", rate(r->med_sgemm_gflop, r->med_sgemm_wall_s)));
    json_t *kd = json_object();
    for (int k = 0; k < N_KINDS; k++)
        json_object_set_new(kd, k_kind_names[k],
                            json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "calls", r->kind_calls[k], "gflop",
                                      r->med_kind_gflop[k], "wall_s", r->med_kind_wall_s[k], "thread_s",
                                      r->med_kind_thread_s[k], "gflop_per_s",
                                      rate(r->med_kind_gflop[k], r->med_kind_wall_s[k]), "alone_s", r->kind_alone_s[k],
                                      "alone_gflop_per_s", rate(r->med_kind_gflop[k], r->kind_alone_s[k])));
    json_object_set_new(med, "sgemm_by_kind", kd);
    json_object_set_new(j, "median", med);

    json_t *useful = json_object();
    json_object_set_new(useful, "matmul_params", json_real(r->matmul_params));
    json_object_set_new(useful, "matmul_gflop", json_real(r->useful_mm_gflop));
    json_object_set_new(useful, "attention_gflop", json_real(r->useful_attn_gflop));
    json_object_set_new(useful, "causal_pairs", json_real(r->causal_pairs));
    json_object_set_new(useful, "gflop", json_real(r->useful_gflop));
    json_object_set_new(useful, "gflop_per_s", json_real(achieved_gflops(r)));
    json_object_set_new(j, "useful", useful);
    json_t *ceil = json_object();
    json_object_set_new(ceil, "sgemm_gflop_per_s", json_real(r->ceiling_gflops));
    json_object_set_new(ceil, "tokens_per_s", json_real(ceiling_tokens_per_s(r)));
    json_object_set_new(ceil, "achieved_fraction",
                        json_real(r->ceiling_gflops > 0 ? achieved_gflops(r) / r->ceiling_gflops : 0.0));
    json_t *cs = json_array();
    for (int i = 0; i < r->n_ceiling; i++) {
        const ceiling_shape *c = &r->ceiling[i];
        json_array_append_new(cs, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:f,s:f,s:i}", "name", c->name, "pass", c->pass,
                                            "op", c->trans_b ? "NT" : "NN", "m", c->m, "n", c->n, "k", c->k,
                                            "useful_gflop_per_step", c->useful_gflop, "gflop_per_s", c->gflops, "reps",
                                            c->reps));
    }
    json_object_set_new(ceil, "shapes", cs);
    json_object_set_new(j, "sgemm_ceiling", ceil);

    json_t *steps = json_array();
    json_array_append_new(steps, step_json(1, &r->warmup));
    for (int i = 0; i < r->n_steps; i++) json_array_append_new(steps, step_json(i + 2, &r->steps[i]));
    json_object_set_new(j, "steps", steps);
    json_object_set_new(j, "warmup_steps", json_integer(1));
    json_t *shapes = json_array();
    for (int i = 0; i < r->n_shapes; i++) {
        const gemm_shape *s = &r->shapes[i];
        const double per = s->thread_s / (double)s->calls, gf = 2e-9 * s->m * (double)s->n * s->k;
        json_array_append_new(shapes, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:f,s:f,s:f,s:f,s:f,s:i}", "phase",
                                                k_phase_names[s->phase], "kind", k_kind_names[s->kind], "op", op_name(s),
                                                "m", s->m, "n", s->n, "k", s->k, "calls_per_step",
                                                (double)s->calls / r->n_steps, "s_per_call", per, "gflop_per_s",
                                                rate(gf, per), "alone_s", s->alone_s, "alone_gflop_per_s",
                                                rate(gf, s->alone_s), "alone_reps", s->alone_reps));
    }
    json_object_set_new(j, "sgemm_shapes", shapes);
    json_object_set_new(j, "sgemm_shapes_truncated", json_boolean(r->shapes_truncated));
    return j;
}

static void print_json(const report *rp)
{
    const options *o = rp->o;
    json_t *root = json_object();
    json_object_set_new(root, "benchmark", json_string("bench_train"));
    json_object_set_new(root, "ptune_version", json_string(ptune_version_string()));
    json_object_set_new(root, "machine", json_pack("{s:s,s:I,s:s,s:s}", "cpu", rp->cpu, "nproc", (json_int_t)rp->nproc,
                                                   "blas", rp->blas_config, "blas_core", rp->blas_core));
    json_object_set_new(root, "threads", json_integer(o->threads));
    json_object_set_new(root, "recompute", json_boolean(o->recompute));
    json_object_set_new(root, "blas_threads", json_integer(o->blas_threads));
    json_object_set_new(root, "sgemm_timer", json_boolean(o->sgemm_timer));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
    json_object_set_new(root, "loadavg_1min", json_pack("{s:f,s:f}", "start", rp->loadavg_start, "end", rp->loadavg_end));
    json_t *lens = json_array(), *virt = json_array();
    int tokens = 0;
    for (int s = 0; s < o->n_seq; s++) {
        json_array_append_new(lens, json_integer(o->lens[s]));
        tokens += o->lens[s];
    }
    for (int v = 0; v < o->n_virtual_cases; v++) json_array_append_new(virt, json_integer(o->virtuals[v]));
    json_object_set_new(root, "batch", json_pack("{s:i,s:o,s:i,s:s}", "n_seq", o->n_seq, "lengths", lens, "real_tokens",
                                                 tokens, "lengths_from",
                                                 o->lengths_given ? "--lengths" : "seeded draw in [16, 64]"));
    json_object_set_new(root, "virtual", virt);
    json_object_set_new(root, "optimizer", json_pack("{s:s,s:f,s:I,s:i,s:i}", "kind", "adamw", "lr", (double)LR,
                                                     "total_steps", (json_int_t)TOTAL_STEPS, "warmup_steps", 1,
                                                     "timed_steps", o->iters));
    json_t *cases = json_array();
    for (int i = 0; i < rp->n_cases; i++) json_array_append_new(cases, case_json(&rp->cases[i]));
    json_object_set_new(root, "cases", cases);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (!text) bench_die("cannot serialise the JSON report");
    puts(text);
    free(text);
}

/* ---- options and main -------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: bench_train [--model gpt2|bloom|llama|all | --path MODEL] [--virtual LIST] [--lengths LIST]\n"
          "                   [--threads N] [--blas-threads N] [--iters N] [--seed N] [--keep DIR] [--json]\n"
          "                   [--no-sgemm-timer] [--recompute]\n", f);
    fputs("  --model M       gpt2 (GPT-2-124M), bloom (BLOOM-560m), llama (Llama-0.5B-GQA), a comma list of them,\n"
          "                  or all (default): random F32 checkpoints, generated once per model\n"
          "  --path MODEL    benchmark an existing GGUF file or HF directory instead\n"
          "  --virtual LIST  soft-prompt lengths, one case each (default 4,20,100)\n"
          "  --lengths LIST  the real length of each sequence of the batch (default: 8 lengths drawn uniformly\n"
          "                  in [16, 64] from --seed, printed)\n", f);
    fputs("  --threads N     context threads (ptune_ctx_params.n_threads) and OpenBLAS threads (default 2)\n"
          "  --blas-threads N  OpenBLAS threads when they should differ from --threads\n"
          "  --iters N       timed steps after the warm-up step (default 3, at most 50; --steps is the same)\n"
          "  --seed N        seed of weights, prompt, lengths and token ids (default 1234)\n"
          "  --keep DIR      write the generated checkpoints to DIR/gpt2-124m, DIR/bloom-560m, DIR/llama-0.5b\n"
          "                  and keep them\n"
          "  --json          print one JSON object instead of the table\n"
          "  --no-sgemm-timer  do not time the sgemm calls (to check the timer's own cost)\n"
          "  --recompute     ptune_ctx_params.recompute = 1: keep only each block's input, recompute the rest in\n"
          "                  backward (less activation memory, more time)\n", f);
}

static void parse_models(const char *v, options *o)
{
    for (int m = 0; m < BENCH_N_MODELS; m++) o->models[m] = false;
    if (!strcmp(v, "all")) {
        for (int m = 0; m < BENCH_N_MODELS; m++) o->models[m] = true;
        return;
    }
    char buf[256];
    copy_str(buf, sizeof buf, v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int k = bench_model_by_key(t);
        if (k < 0) bench_die("--model expects %s (or a comma list, or all), got \"%s\" (use --path for a checkpoint)",
                             bench_model_keys(), v);
        o->models[k] = true;
    }
}

static options parse_args(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.threads = 2;
    o.iters = DEFAULT_ITERS;
    for (int m = 0; m < BENCH_N_MODELS; m++) o.models[m] = true;
    o.seed = 1234;
    o.sgemm_timer = true;
    o.n_virtual_cases = 3;
    o.virtuals[0] = 4;
    o.virtuals[1] = 20;
    o.virtuals[2] = 100;
    bool model_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--no-sgemm-timer")) o.sgemm_timer = false;
        else if (!strcmp(a, "--recompute")) o.recompute = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!has_val) {
            usage(stderr);
            bench_die("unknown option or missing value: %s", a);
        } else if (!strcmp(a, "--threads")) o.threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--blas-threads")) o.blas_threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--iters") || !strcmp(a, "--steps")) o.iters = (int)bench_parse_long(argv[++i], 1, MAX_ITERS, a);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        else if (!strcmp(a, "--path")) o.path = argv[++i];
        else if (!strcmp(a, "--keep")) o.keep = argv[++i];
        else if (!strcmp(a, "--virtual"))
            o.n_virtual_cases = bench_parse_int_list(argv[++i], o.virtuals, MAX_VIRTUAL_CASES, 1, MAX_N_VIRTUAL, a);
        else if (!strcmp(a, "--lengths")) {
            o.n_seq = bench_parse_int_list(argv[++i], o.lens, MAX_SEQ, 1, MAX_LEN, a);
            o.lengths_given = true;
        } else if (!strcmp(a, "--model")) {
            model_given = true;
            parse_models(argv[++i], &o);
        } else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    if (o.path && (model_given || o.keep)) bench_die("--path excludes --model and --keep");
    if (o.keep && mkdir(o.keep, 0755) != 0 && errno != EEXIST) bench_die("cannot create %s: %s", o.keep, strerror(errno));
    if (o.blas_threads == 0) o.blas_threads = o.threads;
    if (!o.lengths_given) {
        int32_t lens[DEFAULT_N_SEQ];
        bench_draw_lengths(lens, DEFAULT_N_SEQ, DEFAULT_LEN_MIN, DEFAULT_LEN_MAX, o.seed);
        o.n_seq = DEFAULT_N_SEQ;
        for (int s = 0; s < DEFAULT_N_SEQ; s++) o.lens[s] = lens[s];
    }
    return o;
}

int main(int argc, char **argv)
{
    bench_prog = "bench_train";
    options o = parse_args(argc, argv);
    g_timer_on = o.sgemm_timer;
    if (ptune_version_number() != PTUNE_VERSION_NUMBER)
        bench_die("header/library version mismatch (%u vs %u)", (unsigned)PTUNE_VERSION_NUMBER, ptune_version_number());
    report rp;
    memset(&rp, 0, sizeof rp);
    rp.o = &o;
    bench_cpu_model_name(rp.cpu, sizeof rp.cpu);
    rp.nproc = sysconf(_SC_NPROCESSORS_ONLN);
    rp.blas_config = bench_blas_config();
    rp.blas_core = bench_blas_core();
    rp.loadavg_start = bench_load_average();
    if (!o.json) {
        fprintf(stderr, "batch lengths (%s): ", o.lengths_given ? "--lengths" : "seeded draw in [16, 64]");
        for (int s = 0; s < o.n_seq; s++) fprintf(stderr, "%s%d", s ? "," : "", o.lens[s]);
        fprintf(stderr, "; virtual tokens:");
        for (int v = 0; v < o.n_virtual_cases; v++) fprintf(stderr, " %d", o.virtuals[v]);
        fputc('\n', stderr);
    }

    int kinds[BENCH_N_MODELS], n = 0;
    if (o.path) kinds[n++] = -1;
    else
        for (int k = 0; k < BENCH_N_MODELS; k++)
            if (o.models[k]) kinds[n++] = k;
    rp.cases = bench_xmalloc(sizeof *rp.cases * (size_t)(n * o.n_virtual_cases), "results");
    for (int i = 0; i < n; i++) {
        case_spec cs = {kinds[i], o.path, 0};
        double generate_s = -1.0, generator_rss = -1.0;
        char dir[4096]; /* a copy: the children forget the temporary directory's global name */
        if (kinds[i] >= 0) { /* one checkpoint per model, read by each prompt length's child */
            const bench_model_info *mi = bench_model_get((bench_model_kind)kinds[i]);
            if (o.keep) {
                snprintf(dir, sizeof dir, "%s/%s", o.keep, mi->dir);
                if (mkdir(dir, 0755) != 0 && errno != EEXIST) bench_die("cannot create %s: %s", dir, strerror(errno));
            } else {
                copy_str(dir, sizeof dir, bench_tmpdir_create()); /* removed after the last case, at exit, on signals */
            }
            cs.path = dir;
            if (!o.json)
                fprintf(stderr, "generating a random %s checkpoint (F32, %.0f MiB) in %s ...\n", mi->label,
                        (double)bench_model_file_bytes((bench_model_kind)kinds[i]) / 1048576.0, cs.path);
            generate_s = bench_model_generate_in_child(cs.path, (bench_model_kind)kinds[i], o.seed, &generator_rss);
        }
        for (int v = 0; v < o.n_virtual_cases; v++) {
            cs.n_virtual = o.virtuals[v];
            case_result *r = &rp.cases[rp.n_cases++];
            run_case_in_child(&o, &cs, r);
            r->generate_s = generate_s;
            r->generator_rss_mib = generator_rss;
        }
        bench_tmpdir_remove(); /* no-op with --keep / --path */
    }
    rp.loadavg_end = bench_load_average();

    if (o.json) print_json(&rp);
    else print_table(&rp);
    if (fflush(stdout) != 0) bench_die("writing the report failed: %s", strerror(errno));
    free(rp.cases);
    return 0;
}
