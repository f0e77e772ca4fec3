/* safetensors writer: serialises named tensors (F32/F16/BF16/F64/I64/I32) with optional
 * string metadata into one file, atomically (temporary file, fsync, rename). */
#ifndef PT_FORMATS_SAFETENSORS_WRITE_H
#define PT_FORMATS_SAFETENSORS_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include "formats/tensor_view.h"

typedef struct pt_st_write_tensor {
    const char *name;
    pt_dtype dtype;                /* not PT_DTYPE_OTHER */
    int n_dims;                    /* 0..PT_MAX_DIMS; 0 is a scalar (one element) */
    int64_t shape[PT_MAX_DIMS];    /* numpy order */
    const void *data;              /* numel * dtype size bytes, little-endian; may be NULL if 0 */
} pt_st_write_tensor;

/* Writes `n` tensors to `path` the way the reference safetensors implementation lays a file
 * out: 8-byte little-endian header length, compact JSON header with "__metadata__" first and
 * the tensors sorted by name (byte order), padded with spaces to a multiple of 8, then the data
 * in the same order. `metadata_json` is the text of a JSON object of string values, or NULL.
 * The file appears complete or not at all: data goes to "<path>.tmp.XXXXXX" in the same
 * directory, is fsync'ed and renamed over `path`; on failure the temporary file is removed and
 * an existing `path` is left untouched. The new file gets mode 0644.
 * Errors: PTUNE_E_INVALID_ARG (NULL/empty/duplicate/reserved names, bad dtype, shape or
 * metadata), PTUNE_E_IO (naming the path and the system error), PTUNE_E_NOMEM. */
ptune_status pt_safetensors_write(const char *path, const pt_st_write_tensor *tensors, size_t n,
                                  const char *metadata_json);

#endif
