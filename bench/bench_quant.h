/* bench_quant: fp32 → ggml tensor bytes for the benchmarks' GGUF files (F16, BF16, Q8_0, Q5_0,
 * Q4_K, Q6_K), in exactly the block layouts the library's ggml_blocks.c decodes
 * (../shared/fixtures/QUANT.md). Our own per-block fits, not llama-quantize's bit for bit. */
#ifndef PTUNE_BENCH_QUANT_H
#define PTUNE_BENCH_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* The tensor types the benchmarks write; the values are ggml's type ids (as GGUF stores them). */
typedef enum bench_qtype {
    BENCH_Q_F32 = 0,
    BENCH_Q_F16 = 1,
    BENCH_Q_Q5_0 = 6,
    BENCH_Q_Q8_0 = 8,
    BENCH_Q_Q4_K = 12,
    BENCH_Q_Q6_K = 14,
    BENCH_Q_BF16 = 30,
} bench_qtype;

/* "Q4_K" ... or NULL for an id that is not a bench_qtype. */
const char *bench_qtype_name(bench_qtype t);
/* The type named `name` (case-insensitive), or -1. */
int bench_qtype_by_name(const char *name);
/* Elements per block (1, 32 or 256) and bytes per block. */
int bench_qtype_block(bench_qtype t);
int bench_qtype_block_bytes(bench_qtype t);
/* Bytes of one row of n_cols elements; 0 when n_cols is not a multiple of the block. */
size_t bench_qtype_row_bytes(bench_qtype t, int64_t n_cols);

/* Quantizes n_rows rows of n_cols floats (row-major, n_cols a multiple of the block) into
 * n_rows · bench_qtype_row_bytes(t, n_cols) bytes at dst. Rows are independent: n_threads > 1
 * splits them over pthreads (the bytes do not depend on the thread count). Returns 0, or -1 for
 * a bad type or shape. */
int bench_quantize(bench_qtype t, const float *src, int64_t n_rows, int64_t n_cols, void *dst, int n_threads);

/* One row (n a multiple of the block): the single-threaded kernel behind bench_quantize. */
void bench_quantize_row(bench_qtype t, const float *x, int64_t n, unsigned char *dst);

#endif
