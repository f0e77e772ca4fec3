/* A borrowed view of one tensor inside a mapped file (GGUF or safetensors): name, dtype,
 * numpy-order shape and a pointer to its bytes. Shared by every weight reader. */
#ifndef PT_FORMATS_TENSOR_VIEW_H
#define PT_FORMATS_TENSOR_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ptune/ptune.h"

#define PT_MAX_DIMS 4

typedef enum pt_dtype {
    PT_DTYPE_F32 = 0,
    PT_DTYPE_F16,
    PT_DTYPE_BF16,
    PT_DTYPE_F64,
    PT_DTYPE_I64,
    PT_DTYPE_I32,
    PT_DTYPE_Q8_0, /* ggml block formats (formats/ggml_blocks.h) */
    PT_DTYPE_Q4_0,
    PT_DTYPE_Q4_1,
    PT_DTYPE_Q5_0,
    PT_DTYPE_Q5_1,
    PT_DTYPE_Q4_K,
    PT_DTYPE_Q5_K,
    PT_DTYPE_Q6_K,
    PT_DTYPE_OTHER, /* known to the container, not loadable as weights */
} pt_dtype;

typedef struct pt_tensor_view {
    const char *name;          /* borrowed from the container */
    pt_dtype dtype;
    const char *dtype_name;    /* as the file spells it, for messages ("F16", "Q4_K", "I8") */
    int n_dims;
    int64_t shape[PT_MAX_DIMS];/* numpy order: shape[0] outermost, row-major */
    int64_t n_elements;
    const void *data;          /* inside the mapping; not necessarily aligned */
    size_t n_bytes;
    uint64_t file_offset;      /* absolute offset of data in the file, for messages */
} pt_tensor_view;

const char *pt_dtype_name(pt_dtype t);
size_t pt_dtype_size(pt_dtype t); /* bytes per element; 0 for block formats and PT_DTYPE_OTHER */
/* Weight dtypes pt_tensor_view_to_f32 converts: F32, F16, BF16 and the ggml block formats. */
bool pt_dtype_is_weight(pt_dtype t);
/* Bytes that n elements of t occupy; false when n is not a whole number of blocks (or t has no
 * size, or the product overflows). */
bool pt_dtype_bytes(pt_dtype t, size_t n, size_t *bytes);
/* Elements per block: 1 for plain dtypes, 32 or 256 for block formats. */
size_t pt_dtype_block(pt_dtype t);

/* Converts n elements of weight dtype t (a whole number of blocks) at src (any alignment) to
 * float, without checks: the caller has validated dtype and sizes. */
void pt_dtype_to_f32(pt_dtype t, const void *src, size_t n, float *dst);

/* Converts a view of a weight dtype (pt_dtype_is_weight) into `dst` (n_elements floats);
 * quantized blocks are dequantized exactly as ggml does. Errors: PTUNE_E_UNSUPPORTED for other
 * dtypes, PTUNE_E_INVALID_ARG when the bytes do not hold the elements. `file` names the
 * container in messages. */
ptune_status pt_tensor_view_to_f32(const pt_tensor_view *v, const char *file, float *dst);

#endif
