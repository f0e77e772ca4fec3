/* bench_generate: incremental decoding speed on a random checkpoint (GPT-2-124M, BLOOM-560m or
 * Llama-0.5B-GQA from bench_models.c) or an existing one: greedy decode tokens/s (prefill
 * excluded), prefill time and time to first token for each batch size, set against the
 * memory-bandwidth bound (read bandwidth measured in the same run / weight bytes read per
 * step), and peak RSS. Optionally (--prefix-ttft) the time to first token behind a 100-token
 * soft prompt with and without the prefix cache. */
#include "bench_models.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_BATCHES 8
#define MAX_BATCH 256
#define MAX_ITERS 50
#define PREFIX_VIRTUAL 100
#define PREFIX_REPS 3
#define BW_PASSES 5

typedef struct options {
    int threads, blas_threads, iters;
    int kind;         /* bench_model_kind; -1 with --path */
    const char *path; /* an existing checkpoint instead of a generated one */
    int n_batches, batches[MAX_BATCHES];
    int prompt_len, new_tokens;
    uint64_t seed;
    size_t bw_bytes;
    bool json, prefix_ttft;
    int storage;      /* ptune_model_params.storage */
} options;

/* ---- timing through the token callback ---------------------------------------------------- */

typedef struct timing {
    double start, first, prefill_end, last;
    int n, n_req;
} timing;

/* The prefill step delivers each sequence's first token; every later call is a decoded token. */
static int on_token(int32_t seq, int32_t token, const char *bytes, size_t n, void *user)
{
    (void)seq;
    (void)bytes;
    (void)n;
    if (token < 0) return 0;
    timing *t = user;
    const double now = bench_now_s();
    if (t->n == 0) t->first = now;
    if (t->n < t->n_req) t->prefill_end = now;
    t->last = now;
    t->n++;
    return 0;
}

typedef struct run_result {
    double total_s, prefill_s, ttft_s, decode_s;
    int tokens, decode_tokens;
} run_result;

typedef struct batch_result {
    int batch, n_runs;
    run_result runs[MAX_ITERS];
    double decode_tokens_per_s, prefill_s, ttft_s, tokens_per_s; /* medians */
    double bound_tokens_per_s;                                    /* batch × bandwidth / bytes per step */
} batch_result;

static void random_ids(int32_t *ids, int n, int vocab, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((seed >> 33) % (uint64_t)vocab);
    }
}

static run_result generate_once(ptune_ctx *c, int32_t *in, int32_t *out, const options *o, int batch,
                                const ptune_sampling_params *sp)
{
    ptune_generate_request reqs[MAX_BATCH];
    for (int b = 0; b < batch; b++)
        reqs[b] = (ptune_generate_request){.ids = in + (size_t)b * o->prompt_len, .n_ids = o->prompt_len,
                                           .out = out + (size_t)b * o->new_tokens, .cap = o->new_tokens};
    timing t = {.n_req = batch};
    t.start = bench_now_s();
    bench_check(ptune_generate_batch(c, reqs, batch, sp, on_token, &t), "ptune_generate_batch");
    run_result r;
    memset(&r, 0, sizeof r);
    r.tokens = t.n;
    r.total_s = t.last - t.start;
    r.ttft_s = t.first - t.start;
    r.prefill_s = t.prefill_end - t.start;
    r.decode_tokens = t.n - batch;
    r.decode_s = t.last - t.prefill_end;
    return r;
}

static double run_median(const batch_result *b, double (*get)(const run_result *))
{
    double v[MAX_ITERS];
    for (int i = 0; i < b->n_runs; i++) v[i] = get(&b->runs[i]);
    return bench_median(v, b->n_runs);
}

static double get_decode_rate(const run_result *r) { return r->decode_s > 0 ? r->decode_tokens / r->decode_s : 0.0; }
static double get_prefill(const run_result *r) { return r->prefill_s; }
static double get_ttft(const run_result *r) { return r->ttft_s; }
static double get_rate(const run_result *r) { return r->total_s > 0 ? r->tokens / r->total_s : 0.0; }

/* ---- options ------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: bench_generate [--model gpt2|bloom|llama | --path MODEL] [--batch LIST] [--prompt-len P]\n"
          "                      [--new-tokens N] [--threads N] [--blas-threads N] [--iters N] [--seed N]\n"
          "                      [--bw-mib N] [--prefix-ttft] [--storage f32|native] [--json]\n", f);
    fputs("  --model M       generate a random checkpoint: gpt2 (GPT-2-124M, default), bloom (BLOOM-560m),\n"
          "                  llama (Llama-0.5B-GQA)\n"
          "  --path MODEL    an existing GGUF file or HF directory instead (e.g. from bench_gen_model)\n"
          "  --batch LIST    batch sizes, one measurement each (default 1,8)\n"
          "  --prompt-len P  random input ids per sequence (default 16)\n"
          "  --new-tokens N  greedy tokens generated per sequence (default 64; EOS ignored)\n", f);
    fputs("  --threads N     ptune_ctx_params.n_threads, OpenBLAS threads and bandwidth-probe threads (default 2)\n"
          "  --blas-threads N  OpenBLAS threads when they should differ from --threads\n"
          "  --iters N       timed generations per batch size after a short warm-up (default 3; medians)\n"
          "  --seed N        seed of the weights and input ids (default 1234)\n"
          "  --bw-mib N      size of the bandwidth probe's array in MiB (default 1024)\n"
          "  --prefix-ttft   also time the first token behind a 100-token soft prompt (prefix cache miss,\n"
          "                  hit, disabled)\n"
          "  --storage S     weight storage: f32 (default) or native (ptune_model_params.storage)\n"
          "  --json          print one JSON object instead of the table (progress messages are suppressed)\n", f);
}

static options parse_args(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.threads = 2;
    o.iters = 3;
    o.kind = BENCH_MODEL_GPT2_124M;
    o.n_batches = 2;
    o.batches[0] = 1;
    o.batches[1] = 8;
    o.prompt_len = 16;
    o.new_tokens = 64;
    o.seed = 1234;
    o.bw_bytes = (size_t)1024 << 20;
    bool model_given = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--prefix-ttft")) o.prefix_ttft = true;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (i + 1 >= argc) {
            usage(stderr);
            bench_die("unknown option or missing value: %s", a);
        } else if (!strcmp(a, "--threads")) o.threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--blas-threads")) o.blas_threads = (int)bench_parse_long(argv[++i], 1, 256, a);
        else if (!strcmp(a, "--iters")) o.iters = (int)bench_parse_long(argv[++i], 1, MAX_ITERS, a);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        else if (!strcmp(a, "--prompt-len")) o.prompt_len = (int)bench_parse_long(argv[++i], 1, 1 << 16, a);
        else if (!strcmp(a, "--new-tokens")) o.new_tokens = (int)bench_parse_long(argv[++i], 1, 1 << 16, a);
        else if (!strcmp(a, "--bw-mib")) o.bw_bytes = (size_t)bench_parse_long(argv[++i], 1, 1 << 16, a) << 20;
        else if (!strcmp(a, "--batch")) o.n_batches = bench_parse_int_list(argv[++i], o.batches, MAX_BATCHES, 1, MAX_BATCH, a);
        else if (!strcmp(a, "--path")) o.path = argv[++i];
        else if (!strcmp(a, "--storage")) {
            const char *v = argv[++i];
            if (strcmp(v, "f32") && strcmp(v, "native")) bench_die("--storage expects f32 or native, got \"%s\"", v);
            o.storage = !strcmp(v, "native") ? PTUNE_STORAGE_NATIVE : PTUNE_STORAGE_F32;
        } else if (!strcmp(a, "--model")) {
            model_given = true;
            o.kind = bench_model_by_key(argv[++i]);
            if (o.kind < 0) bench_die("--model expects %s, got \"%s\" (use --path for a checkpoint)", bench_model_keys(), argv[i]);
        } else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    if (o.path && model_given) bench_die("--path excludes --model");
    if (o.path) o.kind = -1;
    if (o.blas_threads == 0) o.blas_threads = o.threads;
    return o;
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_prog = "bench_generate";
    options o = parse_args(argc, argv);
    if (ptune_version_number() != PTUNE_VERSION_NUMBER)
        bench_die("header/library version mismatch (%u vs %u)", (unsigned)PTUNE_VERSION_NUMBER, ptune_version_number());
    char cpu[256];
    bench_cpu_model_name(cpu, sizeof cpu);
    const long nproc = sysconf(_SC_NPROCESSORS_ONLN);
    const double loadavg_start = bench_load_average();

    /* read bandwidth first, in a child, while this process is still small */
    if (!o.json)
        fprintf(stderr, "measuring read bandwidth (%zu MiB, %d threads, median of %d passes) ...\n", o.bw_bytes >> 20,
                o.threads, BW_PASSES);
    const double bw_gbs = bench_read_bandwidth_gbs(o.bw_bytes, o.threads, BW_PASSES);

    const char *path = o.path;
    const char *label = o.path;
    double generate_s = -1.0, generator_rss = -1.0;
    if (!o.path) {
        const bench_model_info *mi = bench_model_get((bench_model_kind)o.kind);
        label = mi->label;
        path = bench_tmpdir_create();
        if (!o.json)
            fprintf(stderr, "generating a random %s checkpoint (F32, %.0f MiB) in %s ...\n", mi->label,
                    (double)bench_model_file_bytes((bench_model_kind)o.kind) / 1048576.0, path);
        generate_s = bench_model_generate_in_child(path, (bench_model_kind)o.kind, o.seed, &generator_rss);
    }
    ptune_set_blas_threads(o.blas_threads);
    if (!o.json) fprintf(stderr, "loading %s ...\n", path);
    ptune_model *m = NULL;
    double t0 = bench_now_s();
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = o.storage;
    bench_check(ptune_model_load(path, &mp, &m), "ptune_model_load");
    const double load_s = bench_now_s() - t0;
    const double rss_after_load = bench_current_rss_mib();
    bench_tmpdir_remove(); /* no-op with --path */
    const int V = ptune_model_n_vocab(m);
    const int64_t weight_bytes = ptune_model_weight_bytes(m);
    /* bytes one decode step must read: every weight once (the tied LM head is the embedding) */
    const double bound1 = weight_bytes > 0 ? bw_gbs * 1e9 / (double)weight_bytes : 0.0;

    int max_batch = 1;
    for (int i = 0; i < o.n_batches; i++)
        if (o.batches[i] > max_batch) max_batch = o.batches[i];
    const int n_ctx = ptune_model_n_ctx(m);
    if (n_ctx > 0 && o.prompt_len + o.new_tokens > n_ctx)
        bench_die("%d input + %d new tokens exceed the model's context of %d", o.prompt_len, o.new_tokens, n_ctx);
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = o.threads;
    int64_t cap = (int64_t)max_batch * o.prompt_len; /* prefill rows at once */
    if (cap < o.prompt_len + o.new_tokens + 1) cap = o.prompt_len + o.new_tokens + 1; /* positions per sequence */
    if (o.prefix_ttft && cap < PREFIX_VIRTUAL + o.prompt_len + 2) cap = PREFIX_VIRTUAL + o.prompt_len + 2;
    if (cap > (1 << 24)) bench_die("batch × prompt length is too large");
    cp.max_tokens = (int32_t)cap;
    cp.n_seq_max = max_batch;
    ptune_ctx *c = NULL;
    bench_check(ptune_ctx_new(m, &cp, &c), "ptune_ctx_new");
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = o.new_tokens;
    sp.ignore_eos = 1;

    int32_t *in = bench_xmalloc(sizeof(int32_t) * (size_t)max_batch * (size_t)o.prompt_len, "input ids");
    int32_t *out = bench_xmalloc(sizeof(int32_t) * (size_t)max_batch * (size_t)o.new_tokens, "output ids");
    for (int b = 0; b < max_batch; b++) random_ids(in + (size_t)b * o.prompt_len, o.prompt_len, V, o.seed + 100 + (uint64_t)b);

    batch_result br[MAX_BATCHES];
    memset(br, 0, sizeof br);
    const double cpu0 = bench_cpu_seconds(), wall0 = bench_now_s();
    for (int i = 0; i < o.n_batches; i++) {
        batch_result *b = &br[i];
        b->batch = o.batches[i];
        ptune_sampling_params warm = sp; /* a short warm-up: KV cache, first touches */
        warm.max_new_tokens = o.new_tokens < 2 ? o.new_tokens : 2;
        if (!o.json) fprintf(stderr, "batch %d: warm-up ...\n", b->batch);
        (void)generate_once(c, in, out, &o, b->batch, &warm);
        for (int r = 0; r < o.iters; r++) {
            b->runs[r] = generate_once(c, in, out, &o, b->batch, &sp);
            b->n_runs = r + 1;
            if (!o.json)
                fprintf(stderr, "batch %d, run %d: prefill %.3f s, decode %.1f tokens/s (%d tokens in %.2f s)\n",
                        b->batch, r + 1, b->runs[r].prefill_s, get_decode_rate(&b->runs[r]), b->runs[r].decode_tokens,
                        b->runs[r].decode_s);
        }
        b->decode_tokens_per_s = run_median(b, get_decode_rate);
        b->prefill_s = run_median(b, get_prefill);
        b->ttft_s = run_median(b, get_ttft);
        b->tokens_per_s = run_median(b, get_rate);
        b->bound_tokens_per_s = bound1 * b->batch;
    }
    const double cpu_util = (bench_cpu_seconds() - cpu0) / (bench_now_s() - wall0);

    /* time to first token behind a 100-token soft prompt: a fresh prompt (miss) then the same
     * prompt again (hit), and a context without the prefix cache */
    double miss[PREFIX_REPS] = {0}, hit[PREFIX_REPS] = {0}, off[PREFIX_REPS] = {0};
    if (o.prefix_ttft) {
        if (!o.json) fprintf(stderr, "time to first token with a %d-token soft prompt ...\n", PREFIX_VIRTUAL);
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = PREFIX_VIRTUAL;
        ptune_prompt *prompt = NULL;
        bench_check(ptune_prompt_new(m, &pp, &prompt), "ptune_prompt_new");
        ptune_sampling_params one = sp;
        one.max_new_tokens = 1;
        ptune_ctx_params np = cp;
        np.no_prefix_cache = 1;
        np.n_seq_max = 1;
        ptune_ctx *plain = NULL;
        bench_check(ptune_ctx_new(m, &np, &plain), "ptune_ctx_new");
        for (int r = 0; r < PREFIX_REPS; r++) {
            ptune_prompt_values(prompt)[r] += 1e-3f; /* new values: the next call misses */
            ptune_ctx *ctxs[3] = {c, c, plain};
            double *dst[3] = {&miss[r], &hit[r], &off[r]};
            for (int k = 0; k < 3; k++) {
                timing t = {.n_req = 1};
                t.start = bench_now_s();
                ptune_generate_request req = {.prompt = prompt, .ids = in, .n_ids = o.prompt_len, .out = out, .cap = 1};
                bench_check(ptune_generate_batch(ctxs[k], &req, 1, &one, on_token, &t), "ptune_generate_batch");
                *dst[k] = t.first - t.start;
            }
        }
        ptune_ctx_free(plain);
        ptune_prompt_free(prompt);
    }
    const double peak_rss = bench_peak_rss_mib(RUSAGE_SELF);
    const double loadavg_end = bench_load_average();

    if (o.json) {
        json_t *root = json_object();
        json_object_set_new(root, "benchmark", json_string("bench_generate"));
        json_object_set_new(root, "ptune_version", json_string(ptune_version_string()));
        json_object_set_new(root, "machine", json_pack("{s:s,s:I,s:s,s:s}", "cpu", cpu, "nproc", (json_int_t)nproc,
                                                       "blas", bench_blas_config(), "blas_core", bench_blas_core()));
        json_object_set_new(root, "threads", json_integer(o.threads));
        json_object_set_new(root, "blas_threads", json_integer(bench_blas_threads(o.blas_threads)));
        json_object_set_new(root, "loadavg_1min", json_pack("{s:f,s:f}", "start", loadavg_start, "end", loadavg_end));
        json_object_set_new(root, "model",
                            json_pack("{s:s,s:s,s:s?,s:s,s:I,s:I,s:i,s:i,s:i,s:i,s:i}", "key",
                                      o.kind >= 0 ? bench_model_get((bench_model_kind)o.kind)->key : "path", "label",
                                      label, "path", o.path, "arch", ptune_model_arch_name(m), "n_params",
                                      (json_int_t)ptune_model_n_params(m), "weight_bytes", (json_int_t)weight_bytes,
                                      "n_embd", ptune_model_n_embd(m), "n_layer", ptune_model_n_layer(m), "n_head",
                                      ptune_model_n_head(m), "n_head_kv", ptune_model_n_head_kv(m), "n_vocab", V));
        json_object_set_new(root, "generate_s", generate_s >= 0 ? json_real(generate_s) : json_null());
        json_object_set_new(root, "generator_peak_rss_mib", generate_s >= 0 ? json_real(generator_rss) : json_null());
        json_object_set_new(root, "load_s", json_real(load_s));
        json_object_set_new(root, "sampling", json_pack("{s:s,s:i,s:i,s:b}", "mode", "greedy", "prompt_len", o.prompt_len,
                                                        "new_tokens", o.new_tokens, "ignore_eos", 1));
        json_object_set_new(root, "iters", json_integer(o.iters));
        json_object_set_new(root, "ctx_max_tokens", json_integer(cp.max_tokens));
        json_object_set_new(root, "bandwidth", json_pack("{s:f,s:I,s:i,s:i}", "read_gb_per_s", bw_gbs, "bytes",
                                                         (json_int_t)o.bw_bytes, "threads", o.threads, "passes", BW_PASSES));
        json_object_set_new(root, "bytes_per_step", json_integer(weight_bytes));
        json_object_set_new(root, "bound_tokens_per_s_batch1", json_real(bound1));
        json_t *arr = json_array();
        for (int i = 0; i < o.n_batches; i++) {
            const batch_result *b = &br[i];
            json_t *runs = json_array();
            for (int r = 0; r < b->n_runs; r++) {
                const run_result *x = &b->runs[r];
                json_array_append_new(runs, json_pack("{s:f,s:f,s:f,s:f,s:i,s:i}", "total_s", x->total_s, "prefill_s",
                                                      x->prefill_s, "ttft_s", x->ttft_s, "decode_s", x->decode_s,
                                                      "tokens", x->tokens, "decode_tokens", x->decode_tokens));
            }
            json_array_append_new(
                arr, json_pack("{s:i,s:f,s:f,s:f,s:f,s:f,s:f,s:o}", "batch", b->batch, "decode_tokens_per_s",
                               b->decode_tokens_per_s, "prefill_s", b->prefill_s, "ttft_s", b->ttft_s, "tokens_per_s",
                               b->tokens_per_s, "bound_tokens_per_s", b->bound_tokens_per_s, "fraction_of_bound",
                               b->bound_tokens_per_s > 0 ? b->decode_tokens_per_s / b->bound_tokens_per_s : 0.0, "runs",
                               runs));
        }
        json_object_set_new(root, "batches", arr);
        if (o.prefix_ttft)
            json_object_set_new(root, "prefix_ttft_s",
                                json_pack("{s:i,s:f,s:f,s:f}", "n_virtual", PREFIX_VIRTUAL, "miss",
                                          bench_median(miss, PREFIX_REPS), "hit", bench_median(hit, PREFIX_REPS),
                                          "disabled", bench_median(off, PREFIX_REPS)));
        json_object_set_new(root, "cpu_utilisation", json_real(cpu_util));
        json_object_set_new(root, "rss_after_load_mib", json_real(rss_after_load));
        json_object_set_new(root, "peak_rss_mib", json_real(peak_rss));
        char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(6));
        json_decref(root);
        if (!text) bench_die("cannot serialise the JSON report");
        puts(text);
        free(text);
    } else {
        printf("libptune %s generation benchmark: %s (%s, %s), %.1f M params\n", ptune_version_string(), label,
               ptune_model_arch_name(m), o.path ? "from file" : "random weights", (double)ptune_model_n_params(m) * 1e-6);
        printf("machine   %s, %ld online CPUs; %s (core %s)\n", cpu, nproc, bench_blas_config(), bench_blas_core());
        printf("threads   ptune ctx %d, OpenBLAS %d; 1-min load average %.2f at start, %.2f at end; cpu %.2f\n",
               o.threads, bench_blas_threads(o.blas_threads), loadavg_start, loadavg_end, cpu_util);
        printf("load      %.2f s; RSS after load %.0f MiB; peak RSS %.0f MiB\n", load_s, rss_after_load, peak_rss);
        printf("bound     read bandwidth %.2f GB/s (%zu MiB array, %d threads, median of %d passes); weights read\n"
               "          per decode step %.1f MiB (ptune_model_weight_bytes) => %.1f tokens/s per sequence at most\n",
               bw_gbs, o.bw_bytes >> 20, o.threads, BW_PASSES, (double)weight_bytes / 1048576.0, bound1);
        printf("workload  greedy, %d random input ids + %d new tokens per sequence (EOS ignored); medians of %d runs\n\n",
               o.prompt_len, o.new_tokens, o.iters);
        printf("| batch | prefill s | first token ms | decode tokens/s | end-to-end tokens/s | bandwidth bound tokens/s "
               "| %% of bound |\n|---:|---:|---:|---:|---:|---:|---:|\n");
        for (int i = 0; i < o.n_batches; i++) {
            const batch_result *b = &br[i];
            printf("| %d | %.3f | %.1f | %.2f | %.2f | %.1f | %.1f |\n", b->batch, b->prefill_s, 1e3 * b->ttft_s,
                   b->decode_tokens_per_s, b->tokens_per_s, b->bound_tokens_per_s,
                   b->bound_tokens_per_s > 0 ? 100.0 * b->decode_tokens_per_s / b->bound_tokens_per_s : 0.0);
        }
        printf("\ndecode tokens/s excludes the prefill step (its tokens and time); the bound is batch x read\n"
               "bandwidth / weight bytes (each decode step reads every weight once), ignoring compute and the KV cache.\n");
        if (o.prefix_ttft) {
            printf("\n| time to first token, %d-token soft prompt + %d tokens | median of %d |\n|---|---:|\n",
                   PREFIX_VIRTUAL, o.prompt_len, PREFIX_REPS);
            printf("| prefix cache miss | %.1f ms |\n", 1e3 * bench_median(miss, PREFIX_REPS));
            printf("| same prompt again, prefix cache hit | %.1f ms |\n", 1e3 * bench_median(hit, PREFIX_REPS));
            printf("| prefix cache disabled | %.1f ms |\n", 1e3 * bench_median(off, PREFIX_REPS));
        }
    }
    free(in);
    free(out);
    ptune_ctx_free(c);
    ptune_model_free(m);
    if (fflush(stdout) != 0) bench_die("writing the report failed: %s", strerror(errno));
    return 0;
}
