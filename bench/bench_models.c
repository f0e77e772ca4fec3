/* bench_models owns what the benchmarks share: the random GPT-2-124M / BLOOM-560m / Llama-0.5B
 * checkpoints, their temporary directory, the timing/memory/machine helpers, the seeded batch
 * lengths, the memory-bandwidth probe and the standalone sgemm timer. */
#include "bench_models.h"

#include "formats/safetensors_write.h"

#include <cblas.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *bench_prog = "bench";

/* ---- errors and allocation ------------------------------------------------------------------ */

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void bench_check(ptune_status st, const char *what)
{
    if (st != PTUNE_OK) bench_die("%s failed: %s: %s", what, ptune_status_str(st), ptune_last_error());
}

void *bench_xmalloc(size_t n, const char *what)
{
    void *p = malloc(n ? n : 1);
    if (!p) bench_die("out of memory allocating %zu bytes for %s", n, what);
    return p;
}

long bench_parse_long(const char *s, long lo, long hi, const char *opt)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        bench_die("%s expects an integer in [%ld, %ld], got \"%s\"", opt, lo, hi, s);
    return v;
}

/* ---- time, memory, machine ------------------------------------------------------------------- */

double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n)
{
    if (n <= 0) return 0.0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double bench_peak_rss_mib(int who)
{
    struct rusage ru;
    if (getrusage(who, &ru) != 0) return 0.0;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

double bench_current_rss_mib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0.0;
    long size = 0, resident = 0;
    int n = fscanf(f, "%ld %ld", &size, &resident);
    fclose(f);
    if (n != 2) return 0.0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

double bench_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

double bench_load_average(void)
{
    double l = -1.0;
    FILE *f = fopen("/proc/loadavg", "r");
    if (!f) return -1.0;
    if (fscanf(f, "%lf", &l) != 1) l = -1.0;
    fclose(f);
    return l;
}

void bench_cpu_model_name(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *p = strchr(line, ':');
        if (!p) continue;
        p++;
        while (*p == ' ' || *p == '\t') p++;
        snprintf(out, cap, "%s", p);
        out[strcspn(out, "\n")] = '\0';
        break;
    }
    fclose(f);
}

const char *bench_blas_config(void)
{
#if defined(OPENBLAS_VERSION)
    return openblas_get_config();
#else
    return "unknown cblas";
#endif
}

const char *bench_blas_core(void)
{
#if defined(OPENBLAS_VERSION)
    return openblas_get_corename();
#else
    return "?";
#endif
}

int bench_blas_threads(int requested)
{
#if defined(OPENBLAS_VERSION)
    (void)requested;
    return openblas_get_num_threads();
#else
    return requested;
#endif
}

/* ---- seeded fast fill ------------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bench_fill_normal(float *x, size_t n, float std, uint64_t seed)
{
    uint64_t sm = seed, s0 = splitmix64(&sm), s1 = splitmix64(&sm), s2 = splitmix64(&sm), s3 = splitmix64(&sm);
    /* four U{0..65535} summed: mean 131070, variance (65536² − 1)/3 */
    const float scale = (float)((double)std / sqrt((65536.0 * 65536.0 - 1.0) / 3.0));
    for (size_t i = 0; i < n; i++) {
        uint64_t r = rotl64(s0 + s3, 23) + s0; /* xoshiro256++ */
        uint64_t t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = rotl64(s3, 45);
        uint32_t sum = (uint32_t)(r & 0xffff) + (uint32_t)((r >> 16) & 0xffff) + (uint32_t)((r >> 32) & 0xffff) +
                       (uint32_t)(r >> 48);
        x[i] = ((float)sum - 131070.0f) * scale;
    }
}

/* ---- random checkpoints ---------------------------------------------------------------------- */

static const bench_model_info k_models[BENCH_N_MODELS] = {
    {"gpt2", "GPT-2-124M", "gpt2-124m", "GPT2LMHeadModel", 768, 12, 12, 50257, 1024, 12, 3072},
    {"bloom", "BLOOM-560m", "bloom-560m", "BloomForCausalLM", 1024, 24, 16, 250880, 0, 16, 4096},
    {"llama", "Llama-0.5B-GQA", "llama-0.5b", "LlamaForCausalLM", 896, 24, 14, 151936, 32768, 2, 4864},
};

const bench_model_info *bench_model_get(bench_model_kind kind)
{
    return (int)kind >= 0 && kind < BENCH_N_MODELS ? &k_models[kind] : NULL;
}

int bench_model_by_key(const char *key)
{
    for (int i = 0; i < BENCH_N_MODELS; i++)
        if (key && !strcmp(k_models[i].key, key)) return i;
    return -1;
}

const char *bench_model_keys(void) { return "gpt2, bloom or llama"; }

uint64_t bench_model_n_params(bench_model_kind kind)
{
    const bench_model_info *mi = bench_model_get(kind);
    if (!mi) return 0;
    const uint64_t D = (uint64_t)mi->n_embd, L = (uint64_t)mi->n_layer, F = (uint64_t)mi->n_ff;
    if (kind == BENCH_MODEL_LLAMA_05B) {
        const uint64_t hd = D / (uint64_t)mi->n_head, kv = hd * (uint64_t)mi->n_head_kv;
        /* q, o D²; k, v kv·D; gate, up, down F·D; 2 RMSNorms; no biases */
        const uint64_t per_layer = 2 * D * D + 2 * kv * D + 3 * F * D + 2 * D;
        return (uint64_t)mi->n_vocab * D + D + L * per_layer;
    }
    /* QKV 3D², out D², FFN 2·F·D; 2 LayerNorms (4 vectors); biases 3D + D + F + D */
    const uint64_t per_layer = 4 * D * D + 2 * F * D + 9 * D + F;
    uint64_t params = (uint64_t)mi->n_vocab * D + 2 * D + L * per_layer;
    if (kind == BENCH_MODEL_GPT2_124M) params += (uint64_t)mi->n_ctx * D;
    else params += 2 * D; /* the embedding LayerNorm */
    return params;
}

uint64_t bench_model_file_bytes(bench_model_kind kind) { return 4 * bench_model_n_params(kind); }

static int write_json(json_t *c, const char *dir)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/config.json", dir);
    int rc = json_dump_file(c, path, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(c);
    if (rc != 0) {
        fprintf(stderr, "%s: cannot write %s: %s\n", bench_prog, path, strerror(errno));
        return 1;
    }
    return 0;
}

static int write_config(const char *dir, bench_model_kind kind)
{
    const bench_model_info *mi = bench_model_get(kind);
    json_t *c = json_object();
    json_t *arch = json_array();
    json_array_append_new(arch, json_string(mi->hf_arch));
    json_object_set_new(c, "architectures", arch);
    json_object_set_new(c, "vocab_size", json_integer(mi->n_vocab));
    if (kind != BENCH_MODEL_LLAMA_05B) json_object_set_new(c, "layer_norm_epsilon", json_real(1e-5));
    json_object_set_new(c, "initializer_range", json_real(0.02));
    json_object_set_new(c, "tie_word_embeddings", json_true());
    json_object_set_new(c, "torch_dtype", json_string("float32"));
    if (kind == BENCH_MODEL_GPT2_124M) {
        json_object_set_new(c, "model_type", json_string("gpt2"));
        json_object_set_new(c, "activation_function", json_string("gelu_new"));
        json_object_set_new(c, "n_embd", json_integer(mi->n_embd));
        json_object_set_new(c, "n_layer", json_integer(mi->n_layer));
        json_object_set_new(c, "n_head", json_integer(mi->n_head));
        json_object_set_new(c, "n_positions", json_integer(mi->n_ctx));
        json_object_set_new(c, "n_ctx", json_integer(mi->n_ctx));
        json_object_set_new(c, "bos_token_id", json_integer(mi->n_vocab - 1));
        json_object_set_new(c, "eos_token_id", json_integer(mi->n_vocab - 1));
    } else if (kind == BENCH_MODEL_LLAMA_05B) { /* Qwen2-0.5B's shape as a bias-free Llama */
        json_object_set_new(c, "model_type", json_string("llama"));
        json_object_set_new(c, "hidden_size", json_integer(mi->n_embd));
        json_object_set_new(c, "num_hidden_layers", json_integer(mi->n_layer));
        json_object_set_new(c, "num_attention_heads", json_integer(mi->n_head));
        json_object_set_new(c, "num_key_value_heads", json_integer(mi->n_head_kv));
        json_object_set_new(c, "intermediate_size", json_integer(mi->n_ff));
        json_object_set_new(c, "max_position_embeddings", json_integer(mi->n_ctx));
        json_object_set_new(c, "hidden_act", json_string("silu"));
        json_object_set_new(c, "rms_norm_eps", json_real(1e-6));
        json_object_set_new(c, "rope_theta", json_real(1000000.0));
        json_object_set_new(c, "attention_bias", json_false());
        json_object_set_new(c, "mlp_bias", json_false());
        json_object_set_new(c, "bos_token_id", json_integer(151643));
        json_object_set_new(c, "eos_token_id", json_integer(151643));
    } else { /* bigscience/bloom-560m's config, minus the training-only flags */
        json_object_set_new(c, "model_type", json_string("bloom"));
        json_object_set_new(c, "hidden_size", json_integer(mi->n_embd));
        json_object_set_new(c, "n_layer", json_integer(mi->n_layer));
        json_object_set_new(c, "n_head", json_integer(mi->n_head));
        json_object_set_new(c, "apply_residual_connection_post_layernorm", json_false());
        json_object_set_new(c, "bos_token_id", json_integer(1));
        json_object_set_new(c, "eos_token_id", json_integer(2));
        json_object_set_new(c, "pad_token_id", json_integer(3));
        json_object_set_new(c, "unk_token_id", json_integer(0));
    }
    return write_json(c, dir);
}

typedef enum fill_kind { FILL_NORMAL, FILL_ONES, FILL_ZEROS } fill_kind;

typedef struct gen_tensors {
    pt_st_write_tensor *t;
    char **names;
    float **bufs;
    size_t n, cap;
    uint64_t seed;
} gen_tensors;

/* A buffer for generated weights. Large ones are 2 MiB-aligned and asked to use transparent huge
 * pages: first-touch page faults, not the generator, dominate filling fresh memory in a VM. */
static float *alloc_weights(size_t count)
{
    const size_t bytes = count * sizeof(float), huge = (size_t)2 << 20;
    if (bytes < huge) return bench_xmalloc(bytes, "generated weights");
    void *p = NULL;
    if (posix_memalign(&p, huge, bytes) != 0) bench_die("out of memory allocating %zu bytes for generated weights", bytes);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

static void add_tensor(gen_tensors *g, fill_kind fill, int64_t d0, int64_t d1, const char *fmt, int layer)
{
    if (g->n == g->cap) bench_die("internal: tensor table full");
    char name[256];
    snprintf(name, sizeof name, fmt, layer);
    size_t count = (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    float *buf = alloc_weights(count);
    if (fill == FILL_NORMAL) {
        uint64_t s = g->seed + 0x632be59bd9b4e019ull * (uint64_t)(g->n + 1);
        bench_fill_normal(buf, count, 0.02f, splitmix64(&s));
    } else {
        for (size_t i = 0; i < count; i++) buf[i] = fill == FILL_ONES ? 1.0f : 0.0f;
    }
    g->names[g->n] = strdup(name);
    if (!g->names[g->n]) bench_die("out of memory");
    g->bufs[g->n] = buf;
    pt_st_write_tensor *t = &g->t[g->n++];
    memset(t, 0, sizeof *t);
    t->name = g->names[g->n - 1];
    t->dtype = PT_DTYPE_F32;
    t->n_dims = d1 > 0 ? 2 : 1;
    t->shape[0] = d0;
    if (d1 > 0) t->shape[1] = d1;
    t->data = buf;
}

static void add_gpt2(gen_tensors *g, const bench_model_info *mi)
{
    const int64_t D = mi->n_embd;
    add_tensor(g, FILL_NORMAL, mi->n_vocab, D, "transformer.wte.weight", 0);
    add_tensor(g, FILL_NORMAL, mi->n_ctx, D, "transformer.wpe.weight", 0);
    for (int l = 0; l < mi->n_layer; l++) { /* Conv1D weights are [in, out] */
        add_tensor(g, FILL_ONES, D, 0, "transformer.h.%d.ln_1.weight", l);
        add_tensor(g, FILL_ZEROS, D, 0, "transformer.h.%d.ln_1.bias", l);
        add_tensor(g, FILL_NORMAL, D, 3 * D, "transformer.h.%d.attn.c_attn.weight", l);
        add_tensor(g, FILL_ZEROS, 3 * D, 0, "transformer.h.%d.attn.c_attn.bias", l);
        add_tensor(g, FILL_NORMAL, D, D, "transformer.h.%d.attn.c_proj.weight", l);
        add_tensor(g, FILL_ZEROS, D, 0, "transformer.h.%d.attn.c_proj.bias", l);
        add_tensor(g, FILL_ONES, D, 0, "transformer.h.%d.ln_2.weight", l);
        add_tensor(g, FILL_ZEROS, D, 0, "transformer.h.%d.ln_2.bias", l);
        add_tensor(g, FILL_NORMAL, D, 4 * D, "transformer.h.%d.mlp.c_fc.weight", l);
        add_tensor(g, FILL_ZEROS, 4 * D, 0, "transformer.h.%d.mlp.c_fc.bias", l);
        add_tensor(g, FILL_NORMAL, 4 * D, D, "transformer.h.%d.mlp.c_proj.weight", l);
        add_tensor(g, FILL_ZEROS, D, 0, "transformer.h.%d.mlp.c_proj.bias", l);
    }
    add_tensor(g, FILL_ONES, D, 0, "transformer.ln_f.weight", 0);
    add_tensor(g, FILL_ZEROS, D, 0, "transformer.ln_f.bias", 0);
}

static void add_bloom(gen_tensors *g, const bench_model_info *mi)
{
    const int64_t H = mi->n_embd;
    add_tensor(g, FILL_NORMAL, mi->n_vocab, H, "transformer.word_embeddings.weight", 0);
    add_tensor(g, FILL_ONES, H, 0, "transformer.word_embeddings_layernorm.weight", 0);
    add_tensor(g, FILL_ZEROS, H, 0, "transformer.word_embeddings_layernorm.bias", 0);
    for (int l = 0; l < mi->n_layer; l++) { /* nn.Linear weights are [out, in] */
        add_tensor(g, FILL_ONES, H, 0, "transformer.h.%d.input_layernorm.weight", l);
        add_tensor(g, FILL_ZEROS, H, 0, "transformer.h.%d.input_layernorm.bias", l);
        add_tensor(g, FILL_NORMAL, 3 * H, H, "transformer.h.%d.self_attention.query_key_value.weight", l);
        add_tensor(g, FILL_ZEROS, 3 * H, 0, "transformer.h.%d.self_attention.query_key_value.bias", l);
        add_tensor(g, FILL_NORMAL, H, H, "transformer.h.%d.self_attention.dense.weight", l);
        add_tensor(g, FILL_ZEROS, H, 0, "transformer.h.%d.self_attention.dense.bias", l);
        add_tensor(g, FILL_ONES, H, 0, "transformer.h.%d.post_attention_layernorm.weight", l);
        add_tensor(g, FILL_ZEROS, H, 0, "transformer.h.%d.post_attention_layernorm.bias", l);
        add_tensor(g, FILL_NORMAL, 4 * H, H, "transformer.h.%d.mlp.dense_h_to_4h.weight", l);
        add_tensor(g, FILL_ZEROS, 4 * H, 0, "transformer.h.%d.mlp.dense_h_to_4h.bias", l);
        add_tensor(g, FILL_NORMAL, H, 4 * H, "transformer.h.%d.mlp.dense_4h_to_h.weight", l);
        add_tensor(g, FILL_ZEROS, H, 0, "transformer.h.%d.mlp.dense_4h_to_h.bias", l);
    }
    add_tensor(g, FILL_ONES, H, 0, "transformer.ln_f.weight", 0);
    add_tensor(g, FILL_ZEROS, H, 0, "transformer.ln_f.bias", 0);
}

static void add_llama(gen_tensors *g, const bench_model_info *mi)
{
    const int64_t D = mi->n_embd, hd = mi->n_embd / mi->n_head, KV = hd * mi->n_head_kv, F = mi->n_ff;
    add_tensor(g, FILL_NORMAL, mi->n_vocab, D, "model.embed_tokens.weight", 0);
    for (int l = 0; l < mi->n_layer; l++) { /* nn.Linear weights are [out, in] */
        add_tensor(g, FILL_ONES, D, 0, "model.layers.%d.input_layernorm.weight", l);
        add_tensor(g, FILL_NORMAL, D, D, "model.layers.%d.self_attn.q_proj.weight", l);
        add_tensor(g, FILL_NORMAL, KV, D, "model.layers.%d.self_attn.k_proj.weight", l);
        add_tensor(g, FILL_NORMAL, KV, D, "model.layers.%d.self_attn.v_proj.weight", l);
        add_tensor(g, FILL_NORMAL, D, D, "model.layers.%d.self_attn.o_proj.weight", l);
        add_tensor(g, FILL_ONES, D, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        add_tensor(g, FILL_NORMAL, F, D, "model.layers.%d.mlp.gate_proj.weight", l);
        add_tensor(g, FILL_NORMAL, F, D, "model.layers.%d.mlp.up_proj.weight", l);
        add_tensor(g, FILL_NORMAL, D, F, "model.layers.%d.mlp.down_proj.weight", l);
    }
    add_tensor(g, FILL_ONES, D, 0, "model.norm.weight", 0);
}

int bench_model_generate(const char *dir, bench_model_kind kind, uint64_t seed)
{
    const bench_model_info *mi = bench_model_get(kind);
    if (!mi) {
        fprintf(stderr, "%s: unknown model kind %d\n", bench_prog, (int)kind);
        return 1;
    }
    if (write_config(dir, kind)) return 1;
    gen_tensors g = {0};
    g.cap = 5 + 12 * (size_t)mi->n_layer;
    g.seed = seed;
    g.t = bench_xmalloc(g.cap * sizeof *g.t, "tensor table");
    g.names = bench_xmalloc(g.cap * sizeof *g.names, "tensor table");
    g.bufs = bench_xmalloc(g.cap * sizeof *g.bufs, "tensor table");
    if (kind == BENCH_MODEL_GPT2_124M) add_gpt2(&g, mi);
    else if (kind == BENCH_MODEL_LLAMA_05B) add_llama(&g, mi);
    else add_bloom(&g, mi);

    char path[8192];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ptune_status st = pt_safetensors_write(path, g.t, g.n, "{\"format\":\"pt\"}");
    if (st != PTUNE_OK)
        fprintf(stderr, "%s: writing %s failed: %s: %s\n", bench_prog, path, ptune_status_str(st), ptune_last_error());
    for (size_t i = 0; i < g.n; i++) {
        free(g.bufs[i]);
        free(g.names[i]);
    }
    free(g.t);
    free(g.names);
    free(g.bufs);
    return st == PTUNE_OK ? 0 : 1;
}

bool bench_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

size_t bench_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    return got;
}

void bench_die_with_parent(pid_t parent)
{
    /* SIGTERM runs the temporary directory's handler (bench_tmpdir_create) when installed */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent) _exit(1);
}

double bench_model_generate_in_child(const char *dir, bench_model_kind kind, uint64_t seed, double *child_peak_rss_mib)
{
    fflush(NULL);
    double t0 = bench_now_s();
    const pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) bench_die("fork failed: %s", strerror(errno));
    if (pid == 0) {
        bench_die_with_parent(self);
        _exit(bench_model_generate(dir, kind, seed));
    }
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    while (wait4(pid, &status, 0, &ru) < 0) /* this child's own usage, not the max over all children */
        if (errno != EINTR) bench_die("waitpid failed: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        bench_die("generating the %s model in %s failed", bench_model_get(kind)->label, dir);
    if (child_peak_rss_mib) *child_peak_rss_mib = (double)ru.ru_maxrss / 1024.0;
    return bench_now_s() - t0;
}

/* ---- the temporary directory ------------------------------------------------------------------ */

static char g_tmpdir[4096]; /* non-empty while it exists */

/* Removes the files of a flat directory, then the directory. Only raw system calls (open,
 * getdents64, unlinkat, rmdir), so the signal handler can use it too. */
static void remove_flat_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        _Alignas(8) char buf[4096];
        for (;;) {
            ssize_t n = getdents64(fd, buf, sizeof buf);
            if (n <= 0) break;
            for (ssize_t off = 0; off < n;) {
                const struct dirent64 *e = (const struct dirent64 *)(const void *)(buf + off);
                off += e->d_reclen;
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
                (void)unlinkat(fd, e->d_name, 0);
            }
        }
        close(fd);
    }
    (void)rmdir(path);
}

void bench_tmpdir_remove(void)
{
    if (g_tmpdir[0]) remove_flat_dir(g_tmpdir);
    g_tmpdir[0] = '\0';
}

void bench_tmpdir_forget(void) { g_tmpdir[0] = '\0'; }

static void on_signal(int sig)
{
    if (g_tmpdir[0]) remove_flat_dir(g_tmpdir);
    signal(sig, SIG_DFL);
    raise(sig);
}

const char *bench_tmpdir_create(void)
{
    static bool registered;
    if (g_tmpdir[0]) bench_die("internal: a temporary directory already exists (%s)", g_tmpdir);
    const char *base = getenv("TMPDIR");
    snprintf(g_tmpdir, sizeof g_tmpdir, "%s/ptune-bench-XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(g_tmpdir)) {
        int e = errno;
        g_tmpdir[0] = '\0';
        bench_die("mkdtemp failed: %s", strerror(e));
    }
    if (!registered) {
        registered = true;
        atexit(bench_tmpdir_remove);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGHUP, &sa, NULL);
    }
    return g_tmpdir;
}

/* ---- standalone cblas_sgemm ------------------------------------------------------------------ */

bench_gemm_timing bench_time_sgemm(int M, int N, int K, bool trans_a, bool trans_b, double min_time, int min_reps)
{
    bench_gemm_timing g = {M, N, K, trans_a, trans_b, 0.0, 0};
    if (M <= 0 || N <= 0 || K <= 0) return g;
    size_t na = (size_t)M * K, nb = (size_t)N * K, nc = (size_t)M * N;
    float *a = bench_xmalloc(na * sizeof(float), "sgemm A"), *b = bench_xmalloc(nb * sizeof(float), "sgemm B");
    float *c = bench_xmalloc(nc * sizeof(float), "sgemm C");
    bench_fill_normal(a, na, 0.5f, 99);
    bench_fill_normal(b, nb, 0.5f, 100);
    memset(c, 0, nc * sizeof(float));
    const int lda = trans_a ? M : K, ldb = trans_b ? K : N;
    const CBLAS_TRANSPOSE ta = trans_a ? CblasTrans : CblasNoTrans, tb = trans_b ? CblasTrans : CblasNoTrans;
    cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N); /* warm-up */
    double *times = bench_xmalloc(sizeof(double) * BENCH_MAX_REPS, "timings");
    int n = 0;
    double start = bench_now_s();
    while (n < BENCH_MAX_REPS && (n < min_reps || bench_now_s() - start < min_time)) {
        double t0 = bench_now_s();
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, 1.0f, a, lda, b, ldb, 0.0f, c, N);
        times[n++] = bench_now_s() - t0;
    }
    g.median_s = bench_median(times, n);
    g.reps = n;
    free(times);
    free(a);
    free(b);
    free(c);
    return g;
}

double bench_gemm_gflops(const bench_gemm_timing *g)
{
    return g->median_s > 0 ? 2.0 * g->m * (double)g->n * g->k / g->median_s * 1e-9 : 0.0;
}

/* ---- batches and lists ------------------------------------------------------------------------- */

void bench_draw_lengths(int32_t *len, int n, int lo, int hi, uint64_t seed)
{
    uint64_t state = seed;
    const uint64_t span = (uint64_t)(hi - lo + 1);
    for (int i = 0; i < n; i++) len[i] = lo + (int32_t)(splitmix64(&state) % span);
}

int bench_parse_int_list(const char *s, int *out, int cap, long lo, long hi, const char *opt)
{
    int n = 0;
    const char *p = s;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < lo || v > hi || (*end && *end != ','))
            bench_die("%s expects a comma list of integers in [%ld, %ld], got \"%s\"", opt, lo, hi, s);
        if (n == cap) bench_die("%s: at most %d values, got \"%s\"", opt, cap, s);
        out[n++] = (int)v;
        if (!*end) break;
        p = end + 1;
    }
    return n;
}

/* ---- memory bandwidth ---------------------------------------------------------------------------- */

typedef struct bw_job {
    const float *x;
    size_t n;
    double sum;
} bw_job;

/* Sixteen independent accumulators, so the loop is bound by memory, not by the add latency. */
static void *bw_sum(void *arg)
{
    bw_job *j = arg;
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= j->n; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += j->x[i + k];
    double s = 0;
    for (; i < j->n; i++) s += j->x[i];
    for (int k = 0; k < 16; k++) s += acc[k];
    j->sum = s;
    return NULL;
}

typedef struct bw_fill_job {
    float *x;
    size_t n;
} bw_fill_job;

static void *bw_fill(void *arg)
{
    bw_fill_job *j = arg;
    for (size_t i = 0; i < j->n; i++) j->x[i] = (float)(i & 1023) * 1e-3f;
    return NULL;
}

#define BW_MAX_THREADS 256
#define BW_MAX_PASSES 64

static double bandwidth_here(size_t bytes, int threads, int passes)
{
    if (threads < 1) threads = 1;
    if (threads > BW_MAX_THREADS) threads = BW_MAX_THREADS;
    if (passes < 1) passes = 1;
    if (passes > BW_MAX_PASSES) passes = BW_MAX_PASSES;
    const size_t n = bytes / sizeof(float), per = (n + (size_t)threads - 1) / (size_t)threads;
    float *x = NULL;
    if (n == 0 || posix_memalign((void **)&x, (size_t)2 << 20, n * sizeof(float)) != 0) return 0.0;
#ifdef MADV_HUGEPAGE
    (void)madvise(x, n * sizeof(float), MADV_HUGEPAGE);
#endif
    pthread_t tid[BW_MAX_THREADS];
    bw_job jobs[BW_MAX_THREADS];
    bw_fill_job fills[BW_MAX_THREADS];
    for (int t = 0; t < threads; t++) { /* each thread touches its own slice first (NUMA) */
        size_t b = (size_t)t * per, e = b + per < n ? b + per : n;
        fills[t] = (bw_fill_job){x + b, b < e ? e - b : 0};
        jobs[t] = (bw_job){x + b, b < e ? e - b : 0, 0.0};
        if (pthread_create(&tid[t], NULL, bw_fill, &fills[t]) != 0) {
            free(x);
            return 0.0;
        }
    }
    for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
    double rates[BW_MAX_PASSES], check = 0;
    for (int p = 0; p < passes; p++) {
        const double t0 = bench_now_s();
        for (int t = 0; t < threads; t++)
            if (pthread_create(&tid[t], NULL, bw_sum, &jobs[t]) != 0) {
                free(x);
                return 0.0;
            }
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        const double dt = bench_now_s() - t0;
        for (int t = 0; t < threads; t++) check += jobs[t].sum;
        rates[p] = dt > 0 ? (double)(n * sizeof(float)) / dt * 1e-9 : 0.0;
    }
    free(x);
    if (!(check == check)) return 0.0; /* keeps the sums alive */
    return bench_median(rates, passes);
}

double bench_read_bandwidth_gbs(size_t bytes, int threads, int passes)
{
    int fds[2];
    if (pipe(fds) != 0) return 0.0;
    fflush(NULL);
    const pid_t self = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return 0.0;
    }
    if (pid == 0) {
        bench_die_with_parent(self);
        close(fds[0]);
        double r = bandwidth_here(bytes, threads, passes);
        ssize_t w = write(fds[1], &r, sizeof r);
        _exit(w == (ssize_t)sizeof r ? 0 : 1);
    }
    close(fds[1]);
    double r = 0.0;
    ssize_t got;
    do got = read(fds[0], &r, sizeof r);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) break;
    return got == (ssize_t)sizeof r ? r : 0.0;
}
