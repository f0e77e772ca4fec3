/* bench_models: what the benchmarks share. Random HF checkpoints of real model shapes
 * (GPT-2-124M, BLOOM-560m, a Llama-style 0.5B with grouped-query attention; F32 safetensors +
 * config.json) written by a child process into a temporary directory that disappears after
 * loading and at exit, plus the timing, memory and machine helpers, the seeded batch lengths,
 * the memory-bandwidth probe and the standalone cblas_sgemm timer. */
#ifndef PTUNE_BENCH_MODELS_H
#define PTUNE_BENCH_MODELS_H

#include "ptune/ptune.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- errors and allocation ------------------------------------------------------------------ */

/* Prefix of every message ("bench_forward", "bench_train"); set it first thing in main. */
extern const char *bench_prog;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
void bench_die(const char *fmt, ...);
/* Dies with the library's last error unless st is PTUNE_OK. */
void bench_check(ptune_status st, const char *what);
void *bench_xmalloc(size_t n, const char *what);
long bench_parse_long(const char *s, long lo, long hi, const char *opt);

/* ---- time, memory, machine ------------------------------------------------------------------- */

double bench_now_s(void);                 /* CLOCK_MONOTONIC seconds */
double bench_median(double *v, int n);    /* sorts v */
double bench_peak_rss_mib(int who);       /* getrusage ru_maxrss (RUSAGE_SELF / _CHILDREN), MiB */
double bench_current_rss_mib(void);       /* /proc/self/statm resident, MiB; 0 if unavailable */
double bench_cpu_seconds(void);           /* user + system CPU seconds of this process */
double bench_load_average(void);          /* 1-minute load average; -1 if unavailable */
void bench_cpu_model_name(char *out, size_t cap);
const char *bench_blas_config(void);      /* openblas_get_config() or "unknown cblas" */
const char *bench_blas_core(void);        /* openblas_get_corename() or "?" */
int bench_blas_threads(int requested);    /* openblas_get_num_threads(), else `requested` */

/* ---- seeded fast fill ------------------------------------------------------------------------ */

/* x[i] ≈ N(0, std²), i < n: xoshiro256++ seeded by splitmix64(seed), each 64-bit draw summed as
 * four 16-bit uniforms (Irwin–Hall, rescaled to unit variance; bounded at ±3.46 std). About 1 ns
 * per element; the same seed always gives the same values. */
void bench_fill_normal(float *x, size_t n, float std, uint64_t seed);

/* ---- random checkpoints ---------------------------------------------------------------------- */

typedef enum bench_model_kind {
    BENCH_MODEL_GPT2_124M = 0,
    BENCH_MODEL_BLOOM_560M = 1,
    BENCH_MODEL_LLAMA_05B = 2, /* the Qwen2-0.5B shape without biases, as LlamaForCausalLM */
    BENCH_N_MODELS
} bench_model_kind;

typedef struct bench_model_info {
    const char *key;    /* command-line name: "gpt2", "bloom", "llama" */
    const char *label;  /* "GPT-2-124M", "BLOOM-560m", "Llama-0.5B-GQA" */
    const char *dir;    /* directory name under --keep: "gpt2-124m", "bloom-560m", "llama-0.5b" */
    const char *hf_arch;/* "GPT2LMHeadModel", "BloomForCausalLM", "LlamaForCausalLM" */
    int n_embd, n_layer, n_head, n_vocab, n_ctx; /* n_ctx 0: none in the config (ALiBi) */
    int n_head_kv, n_ff;                         /* key/value heads; FFN width */
} bench_model_info;

const bench_model_info *bench_model_get(bench_model_kind kind);
/* The kind whose key is `key`, or -1. */
int bench_model_by_key(const char *key);
/* "gpt2, bloom or llama": the keys, for messages. */
const char *bench_model_keys(void);
/* Number of parameters (tied head once) and bytes of the F32 model.safetensors data (weights
 * only; the header adds a few KiB). */
uint64_t bench_model_n_params(bench_model_kind kind);
uint64_t bench_model_file_bytes(bench_model_kind kind);

/* Writes config.json and an F32 model.safetensors into the existing directory `dir`: weights
 * 0.02·N(0, 1) from bench_fill_normal (one stream per tensor, derived from `seed`), LayerNorm /
 * RMSNorm weights 1, biases 0; tied embeddings. GPT-2 uses HF GPT2LMHeadModel names (Conv1D
 * weights [in, out]); BLOOM uses BloomForCausalLM names with the `transformer.` prefix; Llama
 * uses LlamaForCausalLM names with the `model.` prefix (nn.Linear weights [out, in], no biases).
 * Returns 0, or 1 after printing the error. Holds every tensor in memory while writing. */
int bench_model_generate(const char *dir, bench_model_kind kind, uint64_t seed);
/* The same in a child process, so its buffers never count in the caller's peak RSS. Dies on
 * failure; returns the wall seconds and sets *child_peak_rss_mib (the children's ru_maxrss). */
double bench_model_generate_in_child(const char *dir, bench_model_kind kind, uint64_t seed,
                                     double *child_peak_rss_mib);

/* A child's result struct through a pipe. bench_write_all writes all n bytes (retrying on
 * EINTR) and returns false on failure; bench_read_all reads up to n bytes until EOF and returns
 * the count (n when the child wrote it all). */
bool bench_write_all(int fd, const void *buf, size_t n);
size_t bench_read_all(int fd, void *buf, size_t n);

/* In a child just forked from `parent`: asks for SIGTERM when the parent dies (so an interrupted
 * run leaves no orphan and no temporary directory); exits at once if the parent is already gone. */
void bench_die_with_parent(pid_t parent);

/* Creates "$TMPDIR/ptune-bench-XXXXXX" (or under /tmp) and returns it. The directory is removed
 * by bench_tmpdir_remove, at exit (atexit) and on SIGINT/SIGTERM/SIGHUP. One at a time. */
const char *bench_tmpdir_create(void);
void bench_tmpdir_remove(void);
/* In a forked child that must leave the parent's directory alone: forgets it without removing. */
void bench_tmpdir_forget(void);

/* ---- batches and lists ------------------------------------------------------------------------- */

/* The default ragged batch: n lengths drawn uniformly in [lo, hi] from `seed`, as
 * len[i] = lo + splitmix64(state) % (hi - lo + 1) with state starting at `seed` (bench/compare.py
 * draws the same numbers). */
void bench_draw_lengths(int32_t *len, int n, int lo, int hi, uint64_t seed);
/* Parses a comma list of integers in [lo, hi] into out[cap]; dies on bad input. Returns the count. */
int bench_parse_int_list(const char *s, int *out, int cap, long lo, long hi, const char *opt);

/* ---- memory bandwidth ---------------------------------------------------------------------------- */

/* Read bandwidth in GB/s (1e9 bytes/s): `threads` threads sum a `bytes` float array (filled
 * first), `passes` times; the median pass. Runs in a child process so the array never counts in
 * the caller's peak RSS. Returns 0 on failure. */
double bench_read_bandwidth_gbs(size_t bytes, int threads, int passes);

/* ---- standalone cblas_sgemm ------------------------------------------------------------------ */

typedef struct bench_gemm_timing {
    int m, n, k;
    bool trans_a, trans_b;
    double median_s;
    int reps;
} bench_gemm_timing;

#define BENCH_MAX_REPS 1000

/* Times C[M,N] = op(A)·op(B) row-major with compact leading dimensions (A is [K,M] with
 * trans_a, else [M,K]; B is [N,K] with trans_b, else [K,N]): one warm-up, then at least
 * `min_reps` calls and `min_time` seconds (at most BENCH_MAX_REPS); the median. */
bench_gemm_timing bench_time_sgemm(int M, int N, int K, bool trans_a, bool trans_b, double min_time,
                                   int min_reps);
double bench_gemm_gflops(const bench_gemm_timing *g);

#endif
