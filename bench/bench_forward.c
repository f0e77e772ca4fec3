/* bench_forward owns the forward-throughput benchmark: on a synthetic GPT-2-124M checkpoint
 * (bench_models.c) it times load and ptune_forward (tokens/s, GFLOP/s, peak RSS) against
 * cblas_sgemm. */
#include "bench_models.h"
#include "core/rng.h"
#include "ptune/ptune.h"
#include "tuning/ctx.h" /* PT_HEAD_CHUNK: rows per LM-head sgemm, for the sgemm-only estimate */

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#ifndef PT_HEAD_CHUNK
#define PT_HEAD_CHUNK 32
#endif

#define MIN_ITERS 3        /* timed iterations per case when --iters is not given */
#define MAX_ITERS 1000
#define GEMM_MIN_TIME 1.0  /* seconds per comparison sgemm shape */
#define EST_MIN_TIME 0.2   /* seconds per shape of the sgemm-only estimate */

typedef struct options {
    int threads;
    int blas_threads; /* 0 = same as threads */
    int iters;        /* 0 = until min_time and MIN_ITERS */
    double min_time;
    const char *keep; /* write the generated model here and keep it */
    const char *model;/* benchmark this model instead of generating one */
    uint64_t seed;
    bool json;
} options;

static void usage(FILE *f)
{
    fputs("usage: bench_forward [--threads N] [--blas-threads N] [--iters N] [--min-time S] [--seed N]\n"
          "                     [--keep DIR | --model PATH] [--json]\n", f);
    fputs("  --threads N   context threads (ptune_ctx_params.n_threads) and OpenBLAS threads (default 2)\n"
          "  --blas-threads N  OpenBLAS threads when they should differ from --threads\n"
          "  --iters N     timed iterations per case (default: >= 3 and >= --min-time)\n"
          "  --min-time S  minimum seconds per case without --iters (default 3)\n"
          "  --seed N      seed for weights, prompt and token ids (default 1234)\n", f);
    fputs("  --keep DIR    write the generated GPT-2-124M model to DIR and keep it\n"
          "  --model PATH  benchmark an existing GGUF file or HF directory instead\n"
          "  --json        print one JSON object instead of the table\n", f);
}

static options parse_args(int argc, char **argv)
{
    options o = {2, 0, 0, 3.0, NULL, NULL, 1234, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!has_val) {
            usage(stderr);
            bench_die("unknown option or missing value: %s", a);
        } else if (!strcmp(a, "--threads")) o.threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--blas-threads")) o.blas_threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--iters")) o.iters = (int)bench_parse_long(argv[++i], 1, MAX_ITERS, a);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        else if (!strcmp(a, "--min-time")) {
            char *end;
            o.min_time = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(o.min_time >= 0.0 && o.min_time <= 3600.0))
                bench_die("--min-time expects seconds in [0, 3600], got \"%s\"", argv[i]);
        } else if (!strcmp(a, "--keep")) o.keep = argv[++i];
        else if (!strcmp(a, "--model")) o.model = argv[++i];
        else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    if (o.keep && o.model) bench_die("--keep and --model exclude each other");
    if (o.blas_threads == 0) o.blas_threads = o.threads;
    return o;
}

static bench_gemm_timing g_est_cache[64];
static int g_est_n;

static double est_sgemm_s(int M, int N, int K, bool trans_b)
{
    if (M <= 0 || N <= 0 || K <= 0) return 0.0;
    for (int i = 0; i < g_est_n; i++) {
        const bench_gemm_timing *g = &g_est_cache[i];
        if (g->m == M && g->n == N && g->k == K && g->trans_b == trans_b) return g->median_s;
    }
    bench_gemm_timing g = bench_time_sgemm(M, N, K, false, trans_b, EST_MIN_TIME, 3);
    if (g_est_n < (int)(sizeof g_est_cache / sizeof g_est_cache[0])) g_est_cache[g_est_n++] = g;
    return g.median_s;
}

/* ---- model shape, FLOP model --------------------------------------------------------------- */

typedef struct shape {
    int D, L, H, Hkv, hd, F, V, n_ctx;
    int q_dim, qkv_dim, up_dim;
} shape;

static shape model_shape(const ptune_model *m)
{
    shape s;
    s.D = ptune_model_n_embd(m);
    s.L = ptune_model_n_layer(m);
    s.H = ptune_model_n_head(m);
    s.Hkv = ptune_model_n_head_kv(m);
    s.hd = ptune_model_head_dim(m);
    s.F = ptune_model_n_ff(m);
    s.V = ptune_model_n_vocab(m);
    s.n_ctx = ptune_model_n_ctx(m);
    s.q_dim = s.H * s.hd;
    s.qkv_dim = s.q_dim + 2 * s.Hkv * s.hd;
    bool swiglu = ptune_model_arch(m) == PTUNE_ARCH_LLAMA || ptune_model_arch(m) == PTUNE_ARCH_QWEN2;
    s.up_dim = swiglu ? 2 * s.F : s.F;
    return s;
}

/* Parameters of the per-layer projections (the matmuls every row goes through). */
static double layer_matmul_params(const shape *s)
{
    return (double)s->D * s->qkv_dim + (double)s->q_dim * s->D + (double)s->D * s->up_dim + (double)s->F * s->D;
}

/* ---- the benchmark cases ------------------------------------------------------------------- */

typedef struct bench_case {
    const char *name;
    const char *label;
    int n_seq, len, n_virtual;
} bench_case;

static const bench_case k_cases[] = {
    {"train_8x128", "8 x 128, labels = ids", 8, 128, 0},
    {"single_1x512", "1 x 512", 1, 512, 0},
    {"prompt_8x64_v20", "8 x 64 + 20 virtual", 8, 64, 20},
};
#define N_CASES ((int)(sizeof k_cases / sizeof k_cases[0]))

typedef struct case_result {
    bool skipped;
    int iters;
    int64_t tokens, rows, head_rows;
    double median_s, min_s, loss;
    double cpu_util; /* CPU seconds / wall seconds over the timed loop (≈ threads when alone) */
    double gflop_matmul, gflop_attn, gflop_head;
    double est_layers_s, est_attn_s, est_head_s; /* sgemm-only estimate */
} case_result;

static double case_gflop(const case_result *r) { return r->gflop_matmul + r->gflop_attn + r->gflop_head; }
static double case_est_s(const case_result *r) { return r->est_layers_s + r->est_attn_s + r->est_head_s; }

static void run_case(const bench_case *bc, const options *o, const ptune_model *m, ptune_ctx *ctx,
                     const shape *s, case_result *r)
{
    memset(r, 0, sizeof *r);
    const int T = bc->n_virtual + bc->len;
    if (s->n_ctx > 0 && T > s->n_ctx) {
        fprintf(stderr, "bench_forward: skipping %s: %d positions exceed the model's context of %d\n", bc->name, T,
                s->n_ctx);
        r->skipped = true;
        return;
    }
    /* random ids; labels = ids */
    pt_rng rng;
    pt_rng_seed(&rng, o->seed + 17u * (uint64_t)(bc - k_cases) + 1u);
    int32_t *ids = bench_xmalloc(sizeof(int32_t) * (size_t)bc->n_seq * (size_t)bc->len, "token ids");
    const int32_t **seq_ids = bench_xmalloc(sizeof *seq_ids * (size_t)bc->n_seq, "batch");
    int32_t *lens = bench_xmalloc(sizeof(int32_t) * (size_t)bc->n_seq, "batch");
    for (int i = 0; i < bc->n_seq * bc->len; i++) ids[i] = (int32_t)pt_rng_below(&rng, (uint64_t)s->V);
    for (int q = 0; q < bc->n_seq; q++) {
        seq_ids[q] = ids + (size_t)q * bc->len;
        lens[q] = bc->len;
    }
    ptune_batch b = {bc->n_seq, seq_ids, seq_ids, lens};

    ptune_prompt *prompt = NULL;
    if (bc->n_virtual > 0) {
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = bc->n_virtual;
        pp.init = PTUNE_PROMPT_INIT_RANDOM;
        pp.seed = o->seed;
        bench_check(ptune_prompt_new(m, &pp, &prompt), "ptune_prompt_new");
    }

    if (!o->json) fprintf(stderr, "  %-16s warm-up ...\n", bc->name);
    bench_check(ptune_forward(ctx, prompt, &b), "ptune_forward (warm-up)");
    bench_check(ptune_loss(ctx, &r->loss, &r->head_rows), "ptune_loss");

    double *times = bench_xmalloc(sizeof(double) * MAX_ITERS, "timings");
    int n = 0;
    double start = bench_now_s(), cpu0 = bench_cpu_seconds();
    for (;;) {
        double t0 = bench_now_s();
        bench_check(ptune_forward(ctx, prompt, &b), "ptune_forward");
        times[n++] = bench_now_s() - t0;
        if (o->iters > 0 ? n >= o->iters : ((n >= MIN_ITERS && bench_now_s() - start >= o->min_time) || n >= MAX_ITERS))
            break;
    }
    r->cpu_util = (bench_cpu_seconds() - cpu0) / (bench_now_s() - start);
    double loss2;
    bench_check(ptune_loss(ctx, &loss2, NULL), "ptune_loss");
    if (!(fabs(loss2 - r->loss) <= 1e-5 * fabs(r->loss)))
        bench_die("%s: the loss changed between identical forward passes (%.9g vs %.9g)", bc->name, r->loss, loss2);

    r->iters = n;
    r->min_s = times[0];
    for (int i = 1; i < n; i++)
        if (times[i] < r->min_s) r->min_s = times[i];
    r->median_s = bench_median(times, n);
    r->tokens = (int64_t)bc->n_seq * bc->len;
    r->rows = (int64_t)bc->n_seq * T;

    /* executed FLOPs: projections on every row, attention as the full T×T square per head
     * (scores and P·V), the LM head on every row that has a target */
    r->gflop_matmul = 2.0 * layer_matmul_params(s) * s->L * (double)r->rows * 1e-9;
    r->gflop_attn = 4.0 * (double)T * T * s->q_dim * s->L * bc->n_seq * 1e-9;
    r->gflop_head = 2.0 * (double)s->V * s->D * (double)r->head_rows * 1e-9;

    free(times);
    ptune_prompt_free(prompt);
    free(ids);
    free(seq_ids);
    free(lens);
}

/* The sgemm-only estimate: the sgemm calls this case makes, each shape timed in isolation. */
static void estimate_case(const bench_case *bc, const shape *s, case_result *r)
{
    if (r->skipped) return;
    const int T = bc->n_virtual + bc->len;
    const int R = (int)r->rows;
    r->est_layers_s = s->L * (est_sgemm_s(R, s->qkv_dim, s->D, true) + est_sgemm_s(R, s->D, s->q_dim, true) +
                              est_sgemm_s(R, s->up_dim, s->D, true) + est_sgemm_s(R, s->D, s->F, true));
    r->est_attn_s = (double)s->L * bc->n_seq * s->H * (est_sgemm_s(T, T, s->hd, true) + est_sgemm_s(T, s->hd, T, false));
    int64_t full = r->head_rows / PT_HEAD_CHUNK, rest = r->head_rows % PT_HEAD_CHUNK;
    r->est_head_s = (double)full * est_sgemm_s(PT_HEAD_CHUNK, s->V, s->D, true) + est_sgemm_s((int)rest, s->V, s->D, true);
}

/* ---- reporting ----------------------------------------------------------------------------- */

typedef struct report {
    const options *o;
    const char *source;       /* "generated" or the --model path */
    const char *model_path;
    char cpu[256];
    long nproc;
    const char *blas_config;
    const char *blas_core;
    int blas_threads;
    const ptune_model *m;
    shape s;
    double generate_s, generator_rss_mib; /* < 0 when not generated */
    double load_s, rss_after_load_mib, rss_after_forward_mib, peak_rss_mib;
    double loadavg_start, loadavg_end;
    case_result cases[N_CASES];
    bench_gemm_timing gemm[3];
    const char *gemm_label[3];
    int n_gemm;
} report;

static void print_table(const report *rp)
{
    const ptune_model *m = rp->m;
    const double wmib = (double)ptune_model_weight_bytes(m) / (1024.0 * 1024.0);
    printf("libptune %s forward benchmark\n", ptune_version_string());
    printf("machine   %s, %ld online CPUs; %s (core %s)\n", rp->cpu, rp->nproc, rp->blas_config, rp->blas_core);
    printf("threads   ptune ctx %d, OpenBLAS %d; 1-min load average %.2f at start, %.2f at end\n", rp->o->threads,
           rp->blas_threads, rp->loadavg_start, rp->loadavg_end);
    printf("model     %s (%s, %s on disk): %.1f M params, %.1f MiB weights; D %d, %d layers, %d heads, "
           "vocab %d\n",
           ptune_model_arch_name(m), rp->source, ptune_model_file_dtype(m), (double)ptune_model_n_params(m) * 1e-6, wmib,
           rp->s.D, rp->s.L, rp->s.H, rp->s.V);
    if (rp->generate_s >= 0)
        printf("generate  %.2f s in a child process (peak RSS %.0f MiB)%s%s\n", rp->generate_s, rp->generator_rss_mib,
               rp->o->keep ? ", kept in " : "", rp->o->keep ? rp->o->keep : "");
    printf("load      %.2f s (ptune_model_load)\n", rp->load_s);
    printf("memory    peak RSS %.1f MiB (load + forward); RSS after load %.1f MiB, after the forward cases %.1f MiB;\n"
           "          weights %.1f MiB\n\n",
           rp->peak_rss_mib, rp->rss_after_load_mib, rp->rss_after_forward_mib, wmib);

    printf("%-22s %6s %6s %5s %10s %9s %9s %8s %8s %10s %7s %4s %7s\n", "case (forward only)", "tokens", "rows",
           "iters", "median ms", "tokens/s", "rows/s", "GFLOP", "GFLOP/s", "sgemm-est", "head %", "cpu", "loss");
    for (int i = 0; i < N_CASES; i++) {
        const case_result *r = &rp->cases[i];
        if (r->skipped) {
            printf("%-22s skipped (longer than the model's context)\n", k_cases[i].label);
            continue;
        }
        double gf = case_gflop(r);
        printf("%-22s %6lld %6lld %5d %10.1f %9.1f %9.1f %8.1f %8.1f %7.0f ms %6.1f%% %4.2f %7.3f\n", k_cases[i].label,
               (long long)r->tokens, (long long)r->rows, r->iters, r->median_s * 1e3, (double)r->tokens / r->median_s,
               (double)r->rows / r->median_s, gf, gf / r->median_s, case_est_s(r) * 1e3, 100.0 * r->gflop_head / gf,
               r->cpu_util, r->loss);
    }
    printf("\ncpu = CPU seconds / wall seconds while timing (about the thread count when the machine is\n"
           "otherwise idle; OpenBLAS workers spinning between calls count as busy).\n");
    printf("GFLOP counts executed work: 2 x projection params x rows, attention as the full T x T square\n"
           "(scores + P.V), and the LM head 2 x V x D on each row with a target. sgemm-est = the same\n"
           "sgemm calls timed alone (layers / attention / head):\n");
    for (int i = 0; i < N_CASES; i++) {
        const case_result *r = &rp->cases[i];
        if (r->skipped) continue;
        printf("  %-22s %7.0f / %6.0f / %6.0f ms  -> %4.1f%% of the forward outside these sgemms\n", k_cases[i].label,
               r->est_layers_s * 1e3, r->est_attn_s * 1e3, r->est_head_s * 1e3,
               100.0 * (1.0 - case_est_s(r) / r->median_s));
    }
    printf("\ncblas_sgemm alone (NoTrans x Trans, as the library calls it), same process:\n");
    for (int i = 0; i < rp->n_gemm; i++) {
        const bench_gemm_timing *g = &rp->gemm[i];
        printf("  %5d x %5d x %4d  %-22s %8.2f ms  %7.1f GFLOP/s\n", g->m, g->n, g->k, rp->gemm_label[i],
               g->median_s * 1e3, bench_gemm_gflops(g));
    }
}

static json_t *case_json(const bench_case *bc, const case_result *r)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(bc->name));
    json_object_set_new(j, "n_seq", json_integer(bc->n_seq));
    json_object_set_new(j, "len", json_integer(bc->len));
    json_object_set_new(j, "n_virtual", json_integer(bc->n_virtual));
    json_object_set_new(j, "skipped", json_boolean(r->skipped));
    if (r->skipped) return j;
    double gf = case_gflop(r);
    json_object_set_new(j, "tokens", json_integer(r->tokens));
    json_object_set_new(j, "rows", json_integer(r->rows));
    json_object_set_new(j, "head_rows", json_integer(r->head_rows));
    json_object_set_new(j, "iters", json_integer(r->iters));
    json_object_set_new(j, "median_s", json_real(r->median_s));
    json_object_set_new(j, "min_s", json_real(r->min_s));
    json_object_set_new(j, "tokens_per_s", json_real((double)r->tokens / r->median_s));
    json_object_set_new(j, "rows_per_s", json_real((double)r->rows / r->median_s));
    json_object_set_new(j, "gflop", json_real(gf));
    json_object_set_new(j, "gflop_matmul", json_real(r->gflop_matmul));
    json_object_set_new(j, "gflop_attention", json_real(r->gflop_attn));
    json_object_set_new(j, "gflop_lm_head", json_real(r->gflop_head));
    json_object_set_new(j, "gflop_per_s", json_real(gf / r->median_s));
    json_object_set_new(j, "sgemm_estimate_s",
                        json_pack("{s:f,s:f,s:f,s:f}", "layers", r->est_layers_s, "attention", r->est_attn_s, "lm_head",
                                  r->est_head_s, "total", case_est_s(r)));
    json_object_set_new(j, "cpu_utilisation", json_real(r->cpu_util));
    json_object_set_new(j, "loss", json_real(r->loss));
    return j;
}

static void print_json(const report *rp)
{
    const ptune_model *m = rp->m;
    json_t *root = json_object();
    json_object_set_new(root, "benchmark", json_string("bench_forward"));
    json_object_set_new(root, "ptune_version", json_string(ptune_version_string()));
    json_object_set_new(root, "machine", json_pack("{s:s,s:I,s:s,s:s}", "cpu", rp->cpu, "nproc", (json_int_t)rp->nproc,
                                                   "blas", rp->blas_config, "blas_core", rp->blas_core));
    json_object_set_new(root, "threads", json_integer(rp->o->threads));
    json_object_set_new(root, "blas_threads", json_integer(rp->blas_threads));
    json_object_set_new(root, "loadavg_1min", json_pack("{s:f,s:f}", "start", rp->loadavg_start, "end", rp->loadavg_end));
    json_t *mj = json_object();
    json_object_set_new(mj, "source", json_string(rp->source));
    json_object_set_new(mj, "path", rp->model_path ? json_string(rp->model_path) : json_null());
    json_object_set_new(mj, "arch", json_string(ptune_model_arch_name(m)));
    json_object_set_new(mj, "file_dtype", json_string(ptune_model_file_dtype(m)));
    json_object_set_new(mj, "n_params", json_integer(ptune_model_n_params(m)));
    json_object_set_new(mj, "weight_bytes", json_integer(ptune_model_weight_bytes(m)));
    json_object_set_new(mj, "n_embd", json_integer(rp->s.D));
    json_object_set_new(mj, "n_layer", json_integer(rp->s.L));
    json_object_set_new(mj, "n_head", json_integer(rp->s.H));
    json_object_set_new(mj, "n_ff", json_integer(rp->s.F));
    json_object_set_new(mj, "n_vocab", json_integer(rp->s.V));
    json_object_set_new(root, "model", mj);
    json_object_set_new(root, "generate_s", rp->generate_s >= 0 ? json_real(rp->generate_s) : json_null());
    json_object_set_new(root, "generator_peak_rss_mib",
                        rp->generate_s >= 0 ? json_real(rp->generator_rss_mib) : json_null());
    json_object_set_new(root, "load_s", json_real(rp->load_s));
    json_object_set_new(root, "rss_after_load_mib", json_real(rp->rss_after_load_mib));
    json_object_set_new(root, "rss_after_forward_mib", json_real(rp->rss_after_forward_mib));
    json_object_set_new(root, "peak_rss_mib", json_real(rp->peak_rss_mib));
    json_object_set_new(root, "weight_mib", json_real((double)ptune_model_weight_bytes(m) / (1024.0 * 1024.0)));
    json_t *cases = json_array();
    for (int i = 0; i < N_CASES; i++) json_array_append_new(cases, case_json(&k_cases[i], &rp->cases[i]));
    json_object_set_new(root, "cases", cases);
    json_t *gemm = json_array();
    for (int i = 0; i < rp->n_gemm; i++) {
        const bench_gemm_timing *g = &rp->gemm[i];
        json_array_append_new(gemm, json_pack("{s:i,s:i,s:i,s:s,s:s,s:f,s:i,s:f}", "m", g->m, "n", g->n, "k", g->k,
                                              "op", "NoTrans x Trans", "what", rp->gemm_label[i], "median_s",
                                              g->median_s, "reps", g->reps, "gflop_per_s", bench_gemm_gflops(g)));
    }
    json_object_set_new(root, "sgemm", gemm);
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
    json_decref(root);
    if (!text) bench_die("cannot serialise the JSON report");
    puts(text);
    free(text);
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_prog = "bench_forward";
    options o = parse_args(argc, argv);
    if (ptune_version_number() != PTUNE_VERSION_NUMBER)
        bench_die("header/library version mismatch (%u vs %u)", (unsigned)PTUNE_VERSION_NUMBER, ptune_version_number());
    report rp;
    memset(&rp, 0, sizeof rp);
    rp.o = &o;
    rp.generate_s = -1.0;
    bench_cpu_model_name(rp.cpu, sizeof rp.cpu);
    rp.loadavg_start = bench_load_average();
    rp.nproc = sysconf(_SC_NPROCESSORS_ONLN);
    rp.blas_config = bench_blas_config();
    rp.blas_core = bench_blas_core();

    /* 1. the model */
    const char *path = o.model;
    rp.source = o.model ? "file" : "generated";
    if (!o.model) {
        const char *dir;
        if (o.keep) {
            if (mkdir(o.keep, 0755) != 0 && errno != EEXIST) bench_die("cannot create %s: %s", o.keep, strerror(errno));
            dir = o.keep;
        } else {
            dir = bench_tmpdir_create(); /* removed after loading, at exit and on SIGINT/SIGTERM */
        }
        if (!o.json) fprintf(stderr, "generating a random GPT-2-124M checkpoint in %s ...\n", dir);
        rp.generate_s = bench_model_generate_in_child(dir, BENCH_MODEL_GPT2_124M, o.seed, &rp.generator_rss_mib);
        path = dir;
    }
    rp.model_path = o.model ? o.model : (o.keep ? o.keep : NULL);

    ptune_set_blas_threads(o.blas_threads);
    rp.blas_threads = bench_blas_threads(o.blas_threads);

    if (!o.json) fprintf(stderr, "loading %s ...\n", path);
    ptune_model *m = NULL;
    double t0 = bench_now_s();
    bench_check(ptune_model_load(path, NULL, &m), "ptune_model_load");
    rp.load_s = bench_now_s() - t0;
    rp.rss_after_load_mib = bench_current_rss_mib();
    rp.m = m;
    rp.s = model_shape(m);
    bench_tmpdir_remove(); /* the weights are in memory now (no-op with --keep / --model) */

    /* 2. the forward cases */
    int max_rows = 0;
    for (int i = 0; i < N_CASES; i++) {
        int rows = k_cases[i].n_seq * (k_cases[i].n_virtual + k_cases[i].len);
        if (rows > max_rows) max_rows = rows;
    }
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = o.threads;
    cp.max_tokens = max_rows;
    cp.logits = PTUNE_LOGITS_NONE;
    ptune_ctx *ctx = NULL;
    bench_check(ptune_ctx_new(m, &cp, &ctx), "ptune_ctx_new");
    if (!o.json) fprintf(stderr, "timing forward passes (%d threads) ...\n", o.threads);
    for (int i = 0; i < N_CASES; i++) run_case(&k_cases[i], &o, m, ctx, &rp.s, &rp.cases[i]);
    /* sampled before the sgemm timings below allocate their own (large) operands */
    rp.peak_rss_mib = bench_peak_rss_mib(RUSAGE_SELF);
    rp.rss_after_forward_mib = bench_current_rss_mib();

    /* 3. cblas_sgemm alone: the same calls as each case, and the shapes that dominate GPT-2 */
    if (!o.json) fprintf(stderr, "timing cblas_sgemm ...\n");
    for (int i = 0; i < N_CASES; i++) estimate_case(&k_cases[i], &rp.s, &rp.cases[i]);
    rp.gemm_label[0] = "(Wo-shaped, 512 rows)";
    rp.gemm[0] = bench_time_sgemm(512, 768, 768, false, true, GEMM_MIN_TIME, 5);
    rp.gemm_label[1] = "(c_fc-shaped, 512 rows)";
    rp.gemm[1] = bench_time_sgemm(512, 3072, 768, false, true, GEMM_MIN_TIME, 5);
    rp.gemm_label[2] = "(one LM-head block)";
    rp.gemm[2] = bench_time_sgemm(PT_HEAD_CHUNK, rp.s.V, rp.s.D, false, true, GEMM_MIN_TIME, 5);
    rp.n_gemm = 3;
    rp.loadavg_end = bench_load_average();

    if (o.json) print_json(&rp);
    else print_table(&rp);
    if (fflush(stdout) != 0) bench_die("writing the report failed: %s", strerror(errno));

    ptune_ctx_free(ctx);
    ptune_model_free(m);
    return 0;
}
