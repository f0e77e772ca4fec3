/* ggml's tensor types as GGUF stores them: the block geometry of every type a reader can size, and
 * for the quantized block formats this library loads (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
 * Q6_K) their exact dequantization to float, as ggml's dequantize_row_* defines it. */
#ifndef PT_FORMATS_GGML_BLOCKS_H
#define PT_FORMATS_GGML_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tensor_view.h"

typedef struct pt_block_format {
    pt_dtype dtype;       /* PT_DTYPE_OTHER: sized, but not loadable as weights */
    uint32_t ggml_type;   /* the id in GGUF tensor infos */
    const char *name;     /* "Q4_K" */
    uint32_t block;       /* elements per block (1 for plain types) */
    uint32_t bytes;       /* bytes per block */
    /* Quantized formats only (NULL otherwise): dequantizes n_blocks consecutive blocks (any
     * alignment) into n_blocks * block floats. */
    void (*to_f32)(const unsigned char *blocks, size_t n_blocks, float *dst);
} pt_block_format;

/* The type of a GGUF tensor by its ggml id, or NULL when its size is unknown to this reader. */
const pt_block_format *pt_ggml_type_of(uint32_t ggml_type);
/* The format of a quantized dtype, or NULL for plain (per-element) dtypes. */
const pt_block_format *pt_block_format_of(pt_dtype t);
/* The dtype for a ggml type id: PT_DTYPE_OTHER unless the library loads that type. */
pt_dtype pt_block_dtype_of_ggml(uint32_t ggml_type);

#endif
