/* A borrowed view of one tensor inside a mapped file (GGUF or safetensors): name, dtype,
 * numpy-order shape and a pointer to its bytes. Shared by every weight reader. */
#ifndef PT_FORMATS_TENSOR_VIEW_H
#define PT_FORMATS_TENSOR_VIEW_H

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
size_t pt_dtype_size(pt_dtype t); /* 0 for PT_DTYPE_OTHER */

/* Converts a view of F32/F16/BF16 into `dst` (n_elements floats). Errors:
 * PTUNE_E_UNSUPPORTED for other dtypes. `file` names the container in messages. */
ptune_status pt_tensor_view_to_f32(const pt_tensor_view *v, const char *file, float *dst);

#endif
