/* Binding file tensors (HF safetensors shards or one GGUF) to the internal fp32 layout:
 * name lookup with prefixes, shape checks, dtype conversion, layout transforms, NaN checks
 * and a refusal to silently ignore tensors the architecture does not use. */
#ifndef PT_MODEL_WEIGHTS_H
#define PT_MODEL_WEIGHTS_H

#include "formats/tensor_view.h"
#include "model/model.h"

/* One tensor offered by a container, with the file it lives in (for messages). */
typedef struct pt_source_tensor {
    const pt_tensor_view *view;
    const char *file;
    bool used;
} pt_source_tensor;

typedef struct pt_weight_source {
    pt_source_tensor *tensors;   /* sorted by name by pt_weights_bind */
    size_t n;
    const char *const *prefixes; /* tried before each name; NULL = exact names only */
    const char *const *ignored;  /* name suffixes to skip silently (legacy buffers) */
    const char *origin;          /* the checkpoint as a whole (file or directory), for messages */
} pt_weight_source;

/* Allocates m->storage, fills m->global / m->layers from `src` using `bindings`, computes
 * m->n_params and m->file_dtype. Errors name the file and tensor: PTUNE_E_FORMAT (missing
 * tensor, wrong shape, duplicate), PTUNE_E_UNSUPPORTED (dtype, unexpected tensor),
 * PTUNE_E_NUMERIC (NaN/Inf), PTUNE_E_NOMEM. */
ptune_status pt_weights_bind(struct ptune_model *m, pt_weight_source *src, const pt_binding *bindings);

#endif
