/* The model's own tokenizer: access and the model-level tokenize/detokenize shortcuts. */
#include "model/model.h"
#include "core/error.h"

PTUNE_API const ptune_tokenizer *ptune_model_tokenizer(const ptune_model *m) { return m ? m->tokenizer : NULL; }

static ptune_status no_tokenizer(const ptune_model *m, const char *fn)
{
    if (!m) return pt_fail(PTUNE_E_INVALID_ARG, "%s: model is NULL", fn);
    return pt_fail(PTUNE_E_STATE, "%s: %s", fn, m->tokenizer_missing ? m->tokenizer_missing : "the model has no tokenizer");
}

PTUNE_API ptune_status ptune_tokenize(const ptune_model *m, const char *text, size_t len, bool add_special, int32_t *ids,
                                      int32_t cap, int32_t *n_ids)
{
    if (!m || !m->tokenizer) return no_tokenizer(m, "ptune_tokenize");
    return ptune_tokenizer_encode(m->tokenizer, text, len, add_special, ids, cap, n_ids);
}

PTUNE_API ptune_status ptune_detokenize(const ptune_model *m, const int32_t *ids, int32_t n, bool skip_special, char *buf,
                                        size_t cap, size_t *len)
{
    if (!m || !m->tokenizer) return no_tokenizer(m, "ptune_detokenize");
    return ptune_tokenizer_decode(m->tokenizer, ids, n, skip_special, buf, cap, len);
}
