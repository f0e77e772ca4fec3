/* ggml's quantized block formats (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K): their sizes and
 * exact dequantization to float, as ggml's dequantize_row_* defines them. */
#ifndef PT_FORMATS_GGML_BLOCKS_H
#define PT_FORMATS_GGML_BLOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "formats/tensor_view.h"

typedef struct pt_block_format {
    pt_dtype dtype;
    uint32_t ggml_type;   /* the id in GGUF tensor infos */
    const char *name;     /* "Q4_K" */
    uint32_t block;       /* elements per block */
    uint32_t bytes;       /* bytes per block */
    /* Dequantizes n_blocks consecutive blocks (any alignment) into n_blocks * block floats. */
    void (*to_f32)(const unsigned char *blocks, size_t n_blocks, float *dst);
} pt_block_format;

/* The format of a quantized dtype, or NULL for plain (per-element) dtypes. */
const pt_block_format *pt_block_format_of(pt_dtype t);
/* The dtype for a ggml type id: a quantized type this file supports, else PT_DTYPE_OTHER. */
pt_dtype pt_block_dtype_of_ggml(uint32_t ggml_type);

#endif
