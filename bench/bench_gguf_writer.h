/* bench_gguf_writer: a streaming GGUF v3 writer (metadata and tensor infos first, then each
 * tensor's bytes as they are produced, into a temporary file renamed at the end), and on top of
 * it the benchmarks' random GGUF models: GPT-2-124M, BLOOM-560m, Llama-0.5B-GQA (bench_models.h)
 * and Llama-7B, with every matrix in one type or in llama-quantize's Q4_K_M mix. */
#ifndef PTUNE_BENCH_GGUF_WRITER_H
#define PTUNE_BENCH_GGUF_WRITER_H

#include "bench_quant.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- the file writer ------------------------------------------------------------------------- */

typedef struct bench_gguf_writer bench_gguf_writer;

/* A writer that will produce `path`. Metadata and tensor infos are collected first, in order. */
bench_gguf_writer *bench_gguf_writer_new(const char *path);
void bench_gguf_set_str(bench_gguf_writer *w, const char *key, const char *value);
void bench_gguf_set_u32(bench_gguf_writer *w, const char *key, uint32_t value);
void bench_gguf_set_f32(bench_gguf_writer *w, const char *key, float value);
/* Declares the next tensor: ne in ggml order (ne[0] = the row length), its ggml type and its
 * byte size (the caller's: bench_qtype_row_bytes(type, ne[0]) · rows). */
void bench_gguf_add_tensor(bench_gguf_writer *w, const char *name, int n_dims, const int64_t *ne, uint32_t ggml_type,
                           uint64_t n_bytes);
/* Creates "<path>.tmp-XXXXXX" beside `path` and writes the header, the metadata and the tensor
 * infos (data offsets aligned to 32). Until bench_gguf_finish, SIGINT/SIGTERM/SIGHUP remove the
 * temporary file before the previous handler runs. Returns 0, or -1 after printing the error. */
int bench_gguf_begin(bench_gguf_writer *w);
/* Appends bytes of the tensors' data, in declaration order; any split is allowed (a tensor may
 * come in pieces, or several at once); alignment padding is inserted between tensors. */
int bench_gguf_write(bench_gguf_writer *w, const void *data, size_t n);
/* Checks every declared byte was written, fsyncs and renames the file to `path`. */
int bench_gguf_finish(bench_gguf_writer *w);
/* Frees the writer; an unfinished temporary file is removed. NULL is a no-op. */
void bench_gguf_writer_free(bench_gguf_writer *w);

/* ---- random models --------------------------------------------------------------------------- */

typedef struct bench_gguf_shape {
    const char *key;   /* --models name: "gpt2", "bloom", "llama", "llama7b" */
    const char *label; /* "GPT-2-124M", ... "Llama-7B" */
    const char *arch;  /* general.architecture: "gpt2", "bloom", "llama" */
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab;
    int n_ctx;         /* <arch>.context_length (BLOOM: only a hint, ALiBi) */
    bool tied;         /* no output.weight: the LM head is token_embd */
    float norm_eps, rope_theta;
} bench_gguf_shape;

/* The shape named `key`, or NULL. */
const bench_gguf_shape *bench_gguf_shape_by_key(const char *key);
/* "gpt2, bloom, llama or llama7b", for messages. */
const char *bench_gguf_shape_keys(void);

/* The tensor types of a file: every matrix in one type, or llama-quantize's Q4_K_M mix. */
typedef enum bench_gguf_mix {
    BENCH_MIX_F32, BENCH_MIX_F16, BENCH_MIX_BF16, BENCH_MIX_Q8_0, BENCH_MIX_Q4_K, BENCH_MIX_Q4_K_M, BENCH_N_MIXES
} bench_gguf_mix;

const char *bench_gguf_mix_name(bench_gguf_mix m);
int bench_gguf_mix_by_name(const char *name); /* case-insensitive; -1 if unknown */
const char *bench_gguf_mix_names(void);       /* "F32, F16, BF16, Q8_0, Q4_K or Q4_K_M" */

typedef struct bench_gguf_plan_info {
    uint64_t n_params;     /* every tensor's elements (a tied head once) */
    uint64_t tensor_bytes; /* the data section without padding */
    int n_tensors;
    int n_by_type[32];     /* tensors per ggml type id (< 32) */
} bench_gguf_plan_info;

/* What bench_gguf_model_write would write, without writing it. */
bench_gguf_plan_info bench_gguf_model_plan(const bench_gguf_shape *s, bench_gguf_mix mix);

/* Writes a random model: matrices 0.02·N(0, 1) (bench_fill_normal, one stream per 1 Mi-element
 * chunk of rows, so the bytes do not depend on the thread count), norm weights 1, biases 0, each
 * tensor converted to its type by bench_quant with `n_threads` threads (0: every online CPU). One
 * tensor at a time is in memory. No tokenizer. Returns 0 (and *info, *seconds when non-NULL), or
 * -1 after printing the error (the temporary file is removed). */
int bench_gguf_model_write(const char *path, const bench_gguf_shape *s, bench_gguf_mix mix, uint64_t seed,
                           int n_threads, bench_gguf_plan_info *info, double *seconds);

#endif
