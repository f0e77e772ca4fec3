/* safetensors reader: memory-maps one file, validates the JSON header (dtypes, shapes,
 * offsets inside the data section, no overlaps) and exposes tensor views by name. */
#ifndef PT_FORMATS_SAFETENSORS_H
#define PT_FORMATS_SAFETENSORS_H

#include "core/mapped_file.h"
#include "formats/tensor_view.h"

typedef struct pt_safetensors {
    pt_mapped_file file;
    size_t n_tensors;
    pt_tensor_view *tensors;   /* names owned by `names` */
    char **names;
    char *metadata_json;       /* the "__metadata__" object re-serialised, or NULL */
} pt_safetensors;

/* Opens and validates `path`. Errors: PTUNE_E_IO, PTUNE_E_FORMAT (short file, header length
 * past EOF, bad JSON, unknown dtype, shape/offset mismatch, offsets past EOF, overlapping or
 * duplicate tensors — each naming the file, tensor and offset), PTUNE_E_NOMEM.
 * Dtypes other than F32/F16/BF16/F64/I64/I32 are accepted as PT_DTYPE_OTHER (BOOL, I8, U8, I16,
 * F8_*...) so a file can be listed; a truly unknown dtype string is PTUNE_E_FORMAT. */
ptune_status pt_safetensors_open(const char *path, pt_safetensors *out);
void pt_safetensors_close(pt_safetensors *st);
const pt_tensor_view *pt_safetensors_find(const pt_safetensors *st, const char *name);

#endif
