/* Soft prompt creation (seeded random init), loading from a PEFT adapter directory or a
 * safetensors file holding `prompt_embeddings`, accessors and free. */
#include "tuning/prompt.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/rng.h"
#include "formats/safetensors.h"
#include "model/model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

PTUNE_API void ptune_prompt_params_init(ptune_prompt_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->init = PTUNE_PROMPT_INIT_RANDOM;
}

static ptune_status prompt_alloc(int32_t n_virtual, int32_t n_embd, ptune_prompt **out)
{
    ptune_prompt *p = pt_calloc(1, sizeof *p, "prompt");
    if (!p) return PTUNE_E_NOMEM;
    size_t n = (size_t)n_virtual * (size_t)n_embd;
    p->values = pt_calloc(n, sizeof(float), "prompt values");
    p->grad = pt_calloc(n, sizeof(float), "prompt gradient");
    if (!p->values || !p->grad) {
        ptune_prompt_free(p);
        return PTUNE_E_NOMEM;
    }
    p->n_virtual = n_virtual;
    p->n_embd = n_embd;
    *out = p;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_prompt_new(const ptune_model *m, const ptune_prompt_params *given, ptune_prompt **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: out is NULL");
    *out = NULL;
    if (!m || !given) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: model and params are required");
    ptune_prompt_params copy;
    ptune_prompt_params_init(&copy);
    if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof copy)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: params.struct_size is %u; call ptune_prompt_params_init()",
                       given->struct_size);
    memcpy(&copy, given, given->struct_size);
    const ptune_prompt_params *params = &copy;
    if (params->n_virtual <= 0 || params->n_virtual > (1 << 20))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: n_virtual = %d must be in 1..%d", params->n_virtual, 1 << 20);
    if (params->init != PTUNE_PROMPT_INIT_RANDOM)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: unknown init kind %d", params->init);
    ptune_prompt *p;
    ptune_status s = prompt_alloc(params->n_virtual, m->hp.n_embd, &p);
    if (s) return s;
    pt_rng rng;
    pt_rng_seed(&rng, params->seed);
    size_t n = (size_t)p->n_virtual * (size_t)p->n_embd;
    for (size_t i = 0; i < n; i++) p->values[i] = (float)pt_rng_normal(&rng);
    *out = p;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_prompt_load(const ptune_model *m, const char *path, ptune_prompt **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_load: out is NULL");
    *out = NULL;
    if (!m || !path) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_load: model and path are required");
    struct stat sb;
    char *file = NULL;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) file = pt_strfmt("%s/adapter_model.safetensors", path);
    else file = pt_strdup(path, "prompt path");
    if (!file) return PTUNE_E_NOMEM;
    pt_safetensors st;
    ptune_status s = pt_safetensors_open(file, &st);
    if (s) {
        free(file);
        return s;
    }
    const pt_tensor_view *v = pt_safetensors_find(&st, "prompt_embeddings");
    ptune_prompt *p = NULL;
    if (!v) s = pt_fail(PTUNE_E_FORMAT, "%s: no tensor \"prompt_embeddings\"", file);
    else if (v->n_dims != 2 || v->shape[0] <= 0 || v->shape[0] > (1 << 20))
        s = pt_fail(PTUNE_E_FORMAT, "%s: \"prompt_embeddings\" must be [n_virtual, token_dim], got %d dims", file, v->n_dims);
    else if (v->shape[1] != m->hp.n_embd)
        s = pt_fail(PTUNE_E_FORMAT, "%s: prompt token_dim %lld does not match the model's hidden size %d (a prompt for another model?)",
                    file, (long long)v->shape[1], m->hp.n_embd);
    if (!s) s = prompt_alloc((int32_t)v->shape[0], m->hp.n_embd, &p);
    if (!s) s = pt_tensor_view_to_f32(v, file, p->values);
    if (!s) {
        size_t n = (size_t)p->n_virtual * (size_t)p->n_embd;
        for (size_t i = 0; i < n && !s; i++)
            if (!isfinite(p->values[i]))
                s = pt_fail(PTUNE_E_NUMERIC, "%s: prompt_embeddings contains NaN/Inf at element %zu", file, i);
    }
    pt_safetensors_close(&st);
    free(file);
    if (s) {
        ptune_prompt_free(p);
        return s;
    }
    *out = p;
    return PTUNE_OK;
}

PTUNE_API void ptune_prompt_free(ptune_prompt *p)
{
    if (!p) return;
    free(p->values);
    free(p->grad);
    free(p);
}

PTUNE_API int32_t ptune_prompt_n_virtual(const ptune_prompt *p) { return p ? p->n_virtual : 0; }
PTUNE_API int32_t ptune_prompt_n_embd(const ptune_prompt *p) { return p ? p->n_embd : 0; }
PTUNE_API float *ptune_prompt_values(ptune_prompt *p) { return p ? p->values : NULL; }
PTUNE_API float *ptune_prompt_grad(ptune_prompt *p) { return p ? p->grad : NULL; }
