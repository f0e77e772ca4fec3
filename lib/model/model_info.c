/* Read-only public getters of a loaded model. */
#include "model/model.h"
#include "core/error.h"

#define GET(expr, fallback) return m ? (expr) : (fallback)

PTUNE_API ptune_arch ptune_model_arch(const ptune_model *m) { GET(m->arch->arch, PTUNE_ARCH_UNKNOWN); }
PTUNE_API const char *ptune_model_arch_name(const ptune_model *m) { GET(m->arch->name, NULL); }
PTUNE_API int32_t ptune_model_n_embd(const ptune_model *m) { GET(m->hp.n_embd, 0); }
PTUNE_API int32_t ptune_model_n_vocab(const ptune_model *m) { GET(m->hp.n_vocab, 0); }
PTUNE_API int32_t ptune_model_n_layer(const ptune_model *m) { GET(m->hp.n_layer, 0); }
PTUNE_API int32_t ptune_model_n_head(const ptune_model *m) { GET(m->hp.n_head, 0); }
PTUNE_API int32_t ptune_model_n_head_kv(const ptune_model *m) { GET(m->hp.n_head_kv, 0); }
PTUNE_API int32_t ptune_model_head_dim(const ptune_model *m) { GET(m->hp.head_dim, 0); }
PTUNE_API int32_t ptune_model_n_ff(const ptune_model *m) { GET(m->hp.n_ff, 0); }
PTUNE_API int32_t ptune_model_n_ctx(const ptune_model *m) { GET(m->hp.n_ctx, 0); }
PTUNE_API int64_t ptune_model_n_params(const ptune_model *m) { GET(m->n_params, 0); }
PTUNE_API int64_t ptune_model_weight_bytes(const ptune_model *m)
{
    GET((int64_t)(m->storage_floats * sizeof(float) + m->native_bytes), 0);
}
PTUNE_API ptune_storage ptune_model_storage(const ptune_model *m) { GET(m->storage_kind, PTUNE_STORAGE_F32); }
PTUNE_API int32_t ptune_model_n_weight_types(const ptune_model *m) { GET(m->n_types, 0); }

PTUNE_API ptune_status ptune_model_weight_type(const ptune_model *m, int32_t i, const char **dtype, int32_t *n_tensors,
                                               int64_t *file_bytes, int64_t *resident_bytes)
{
    if (!m) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_weight_type: model is NULL");
    if (i < 0 || i >= m->n_types)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_weight_type: index %d outside [0, %d)", i, m->n_types);
    const pt_weight_type_stats *t = &m->types[i];
    if (dtype) *dtype = pt_dtype_name(t->dtype);
    if (n_tensors) *n_tensors = t->n_tensors;
    if (file_bytes) *file_bytes = t->file_bytes;
    if (resident_bytes) *resident_bytes = t->resident_bytes;
    return PTUNE_OK;
}
PTUNE_API const char *ptune_model_file_dtype(const ptune_model *m) { GET(m->file_dtype, NULL); }
PTUNE_API bool ptune_model_tied_head(const ptune_model *m) { GET(m->hp.tied, false); }
PTUNE_API int32_t ptune_model_bos_id(const ptune_model *m) { GET(m->hp.bos_id, -1); }
PTUNE_API int32_t ptune_model_eos_id(const ptune_model *m) { GET(m->hp.n_eos > 0 ? m->hp.eos_ids[0] : -1, -1); }
