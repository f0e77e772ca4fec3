/* Soft prompt creation (RANDOM, TEXT, SAMPLE_VOCAB and CLASS_LABELS initialisation), loading
 * from a PEFT adapter directory or a safetensors file holding `prompt_embeddings`, accessors, free. */
#include "tuning/prompt.h"
#include "core/params.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/rng.h"
#include "formats/safetensors.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PT_PROMPT_MAX_VIRTUAL (1 << 20)

static void prompt_params_defaults(ptune_prompt_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->init = PTUNE_PROMPT_INIT_RANDOM;
}

PTUNE_API void ptune_prompt_params_init_sized(ptune_prompt_params *p, uint32_t size)
{
    ptune_prompt_params d;
    prompt_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

void pt_prompt_meta_free(pt_prompt_meta *meta)
{
    if (!meta) return;
    free(meta->base_model);
    free(meta->revision);
    free(meta->init_name);
    free(meta->init_text);
    free(meta->tokenizer_name);
    json_decref(meta->auto_mapping);
    json_decref(meta->tokenizer_kwargs);
    json_decref(meta->modules_to_save);
    memset(meta, 0, sizeof *meta);
}

ptune_status pt_prompt_meta_init(const ptune_model *m, pt_prompt_meta *meta)
{
    memset(meta, 0, sizeof *meta);
    meta->n_layer = m->hp.n_layer;
    meta->n_head = m->hp.n_head;
    meta->token_dim = m->hp.n_embd;
    /* PEFT's get_peft_model records model.name_or_path: the string the model was loaded from */
    if (m->source_path && !(meta->base_model = pt_strdup(m->source_path, "prompt base model name")))
        return PTUNE_E_NOMEM;
    if (!(meta->init_name = pt_strdup("RANDOM", "prompt init name"))) {
        pt_prompt_meta_free(meta);
        return PTUNE_E_NOMEM;
    }
    return PTUNE_OK;
}

/* Allocates a zeroed prompt (values, gradient) with an empty meta. */
static ptune_status prompt_alloc(int32_t n_virtual, int32_t n_embd, ptune_prompt **out)
{
    ptune_prompt *p = pt_calloc(1, sizeof *p, "prompt");
    if (!p) return PTUNE_E_NOMEM;
    size_t n = (size_t)n_virtual * (size_t)n_embd;
    p->values = pt_calloc(n, sizeof(float), "prompt values");
    p->grad = p->values ? pt_calloc(n, sizeof(float), "prompt gradient") : NULL;
    if (!p->values || !p->grad) {
        ptune_prompt_free(p);
        return PTUNE_E_NOMEM;
    }
    p->n_virtual = n_virtual;
    p->n_embd = n_embd;
    p->init = PTUNE_PROMPT_INIT_RANDOM;
    *out = p;
    return PTUNE_OK;
}

/* Copies embedding row `id` of the model into prompt row `row`. */
static void copy_embedding_row(const ptune_model *m, ptune_prompt *p, int32_t row, int32_t id)
{
    pt_wmat_rows_to_f32(pt_global_mat(m, PT_SLOT_TOK_EMBD), id, 1, p->values + (size_t)row * (size_t)p->n_embd);
}

/* Tokenizes `text` with the model's tokenizer; fails when the result is empty or names a row
 * the embedding does not have. `what` describes the text in messages. */
static ptune_status encode_nonempty(const ptune_model *m, const char *what, const char *text, bool add_special,
                                    pt_ids *ids)
{
    ptune_status s = pt_tokenizer_encode(m->tokenizer, text, strlen(text), add_special, ids);
    if (s) return pt_fail_context(s, "ptune_prompt_new: tokenizing %s: ", what);
    if (ids->len == 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: %s tokenizes to no tokens", what);
    for (size_t i = 0; i < ids->len; i++)
        if (ids->data[i] < 0 || ids->data[i] >= m->hp.n_vocab)
            return pt_fail(PTUNE_E_INVALID_ARG,
                           "ptune_prompt_new: %s: token id %d is outside the model's %d embedding rows", what,
                           ids->data[i], m->hp.n_vocab);
    return PTUNE_OK;
}

/* PEFT TEXT: the ids of init_text (default special tokens included) truncated to n_virtual,
 * or repeated cyclically up to it (ids * ceil(n_virtual / n_ids), then the first n_virtual). */
static ptune_status init_text(const ptune_model *m, const char *text, ptune_prompt *p)
{
    pt_ids ids = {0};
    ptune_status s = encode_nonempty(m, "init_text", text, true, &ids);
    for (int32_t r = 0; !s && r < p->n_virtual; r++) copy_embedding_row(m, p, r, ids.data[(size_t)r % ids.len]);
    pt_ids_free(&ids);
    return s;
}

/* PEFT SAMPLE_VOCAB: rows [first, n_virtual) are embedding rows of ids drawn uniformly, with
 * replacement, from [0, n_vocab) (PEFT: torch.randint(0, num_embeddings, ...)), in row order. */
static void init_sample_vocab(const ptune_model *m, pt_rng *rng, int32_t first, ptune_prompt *p)
{
    for (int32_t r = first; r < p->n_virtual; r++)
        copy_embedding_row(m, p, r, (int32_t)pt_rng_below(rng, (uint64_t)m->hp.n_vocab));
}

/* Lester et al. 2021 class-label init: row i < n_labels is the mean embedding of label i's
 * tokens (no special tokens), summed in double and rounded once. */
static ptune_status init_class_labels(const ptune_model *m, const char *const *labels, int32_t n_labels,
                                      ptune_prompt *p)
{
    const size_t D = (size_t)p->n_embd;
    double *acc = pt_malloc_array(D, sizeof *acc, "label embedding sum");
    float *row = pt_malloc_array(D, sizeof *row, "label embedding row");
    if (!acc || !row) {
        free(acc);
        free(row);
        return PTUNE_E_NOMEM;
    }
    pt_ids ids = {0};
    ptune_status s = PTUNE_OK;
    for (int32_t i = 0; !s && i < n_labels; i++) {
        char what[48];
        snprintf(what, sizeof what, "label %d", i);
        s = encode_nonempty(m, what, labels[i], false, &ids);
        if (s) break;
        memset(acc, 0, D * sizeof *acc);
        for (size_t t = 0; t < ids.len; t++) {
            pt_wmat_rows_to_f32(pt_global_mat(m, PT_SLOT_TOK_EMBD), ids.data[t], 1, row);
            for (size_t d = 0; d < D; d++) acc[d] += row[d];
        }
        float *dst = p->values + (size_t)i * D;
        for (size_t d = 0; d < D; d++) dst[d] = (float)(acc[d] / (double)ids.len);
    }
    pt_ids_free(&ids);
    free(acc);
    free(row);
    return s;
}

/* Records in the prompt's meta what PEFT's config would say about this initialisation. */
static ptune_status record_init(const ptune_model *m, const ptune_prompt_params *params, ptune_prompt *p)
{
    p->init = params->init;
    /* CLASS_LABELS is not a PEFT PromptTuningInit value: the file says RANDOM (PEFT would
     * otherwise keep an unknown string it cannot act on). The init only matters to PEFT when it
     * builds a fresh, trainable prompt; a saved adapter's values come from the tensor. */
    const char *name = params->init == PTUNE_PROMPT_INIT_TEXT           ? "TEXT"
                       : params->init == PTUNE_PROMPT_INIT_SAMPLE_VOCAB ? "SAMPLE_VOCAB"
                                                                        : "RANDOM";
    char *dup = pt_strdup(name, "prompt init name");
    if (!dup) return PTUNE_E_NOMEM;
    free(p->meta.init_name);
    p->meta.init_name = dup;
    if (params->init == PTUNE_PROMPT_INIT_TEXT) {
        /* PEFT requires tokenizer_name_or_path for TEXT; ours is the model's own tokenizer */
        if (!(p->meta.init_text = pt_strdup(params->init_text, "prompt init text"))) return PTUNE_E_NOMEM;
        if (m->source_path && !(p->meta.tokenizer_name = pt_strdup(m->source_path, "prompt tokenizer name")))
            return PTUNE_E_NOMEM;
    }
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
    if (params->n_virtual <= 0 || params->n_virtual > PT_PROMPT_MAX_VIRTUAL)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: n_virtual = %d must be in 1..%d", params->n_virtual,
                       PT_PROMPT_MAX_VIRTUAL);
    switch (params->init) {
    case PTUNE_PROMPT_INIT_RANDOM:
    case PTUNE_PROMPT_INIT_SAMPLE_VOCAB: break;
    case PTUNE_PROMPT_INIT_TEXT:
        if (!params->init_text)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: init TEXT needs params.init_text");
        break;
    case PTUNE_PROMPT_INIT_CLASS_LABELS:
        if (!params->labels || params->n_labels <= 0)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: init CLASS_LABELS needs params.labels and n_labels > 0 "
                                                "(n_labels = %d)", params->n_labels);
        if (params->n_labels > params->n_virtual)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: %d labels do not fit in %d virtual tokens",
                           params->n_labels, params->n_virtual);
        for (int32_t i = 0; i < params->n_labels; i++)
            if (!params->labels[i]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: label %d is NULL", i);
        break;
    default: return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_new: unknown init kind %d", params->init);
    }
    if ((params->init == PTUNE_PROMPT_INIT_TEXT || params->init == PTUNE_PROMPT_INIT_CLASS_LABELS) && !m->tokenizer)
        return pt_fail(PTUNE_E_STATE, "ptune_prompt_new: init %s needs the model's tokenizer: %s",
                       params->init == PTUNE_PROMPT_INIT_TEXT ? "TEXT" : "CLASS_LABELS",
                       m->tokenizer_missing ? m->tokenizer_missing : "the model has no tokenizer");
    if (params->init != PTUNE_PROMPT_INIT_RANDOM && (pt_global_mat(m, PT_SLOT_TOK_EMBD)->n_bands == 0 || m->hp.n_vocab <= 0))
        return pt_fail(PTUNE_E_STATE, "ptune_prompt_new: the model has no token embedding to initialise from");

    ptune_prompt *p;
    ptune_status s = prompt_alloc(params->n_virtual, m->hp.n_embd, &p);
    if (s) return s;
    s = pt_prompt_meta_init(m, &p->meta);
    pt_rng rng;
    pt_rng_seed(&rng, params->seed);
    if (!s) {
        switch (params->init) {
        case PTUNE_PROMPT_INIT_TEXT: s = init_text(m, params->init_text, p); break;
        case PTUNE_PROMPT_INIT_SAMPLE_VOCAB: init_sample_vocab(m, &rng, 0, p); break;
        case PTUNE_PROMPT_INIT_CLASS_LABELS:
            s = init_class_labels(m, params->labels, params->n_labels, p);
            if (!s) init_sample_vocab(m, &rng, params->n_labels, p);
            break;
        default: { /* RANDOM: N(0, 1) per element, as torch.nn.Embedding's default init */
            size_t n = (size_t)p->n_virtual * (size_t)p->n_embd;
            for (size_t i = 0; i < n; i++) p->values[i] = (float)pt_rng_normal(&rng);
        }
        }
    }
    if (!s) s = record_init(m, params, p);
    if (s) {
        ptune_prompt_free(p);
        return s;
    }
    *out = p;
    return PTUNE_OK;
}

/* Reads `prompt_embeddings` from the safetensors file `file` into a new prompt for `m`;
 * `cfg_rows` >= 0 is num_virtual_tokens from adapter_config.json, which must agree. */
static ptune_status load_tensor(const ptune_model *m, const char *file, int32_t cfg_rows, ptune_prompt **out)
{
    pt_safetensors st;
    ptune_status s = pt_safetensors_open(file, &st);
    if (s) return s;
    const pt_tensor_view *v = pt_safetensors_find(&st, "prompt_embeddings");
    ptune_prompt *p = NULL;
    if (!v) s = pt_fail(PTUNE_E_FORMAT, "%s: no tensor \"prompt_embeddings\"", file);
    else if (v->n_dims != 2)
        s = pt_fail(PTUNE_E_FORMAT, "%s: \"prompt_embeddings\" must be [n_virtual, token_dim], got %d dims", file,
                    v->n_dims);
    else if (v->shape[0] <= 0 || v->shape[0] > PT_PROMPT_MAX_VIRTUAL)
        s = pt_fail(PTUNE_E_FORMAT, "%s: \"prompt_embeddings\" has %lld rows; expected 1..%d", file,
                    (long long)v->shape[0], PT_PROMPT_MAX_VIRTUAL);
    else if (v->shape[1] != m->hp.n_embd)
        s = pt_fail(PTUNE_E_FORMAT,
                    "%s: prompt token_dim %lld does not match the model's hidden size %d (a prompt for another model?)",
                    file, (long long)v->shape[1], m->hp.n_embd);
    else if (cfg_rows >= 0 && v->shape[0] != cfg_rows)
        s = pt_fail(PTUNE_E_FORMAT,
                    "%s: \"prompt_embeddings\" has %lld rows but adapter_config.json says num_virtual_tokens = %d",
                    file, (long long)v->shape[0], cfg_rows);
    if (!s)
        for (size_t i = 0; i < st.n_tensors; i++)
            if (strcmp(st.tensors[i].name, "prompt_embeddings") != 0)
                pt_log(PTUNE_LOG_WARN, "%s: tensor \"%s\" is not part of a prompt-tuning adapter; ignored", file,
                       st.tensors[i].name);
    if (!s) s = prompt_alloc((int32_t)v->shape[0], m->hp.n_embd, &p);
    if (!s) s = pt_tensor_view_to_f32(v, file, p->values);
    if (!s) {
        size_t n = (size_t)p->n_virtual * (size_t)p->n_embd;
        for (size_t i = 0; i < n && !s; i++)
            if (!isfinite(p->values[i]))
                s = pt_fail(PTUNE_E_NUMERIC, "%s: prompt_embeddings contains NaN/Inf at element %zu (row %zu)", file, i,
                            i / (size_t)p->n_embd);
    }
    pt_safetensors_close(&st);
    if (s) {
        ptune_prompt_free(p);
        return s;
    }
    *out = p;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_prompt_load(const ptune_model *m, const char *path, ptune_prompt **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_load: out is NULL");
    *out = NULL;
    if (!m || !path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_load: model and path are required");
    struct stat sb;
    if (stat(path, &sb) != 0) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));

    pt_prompt_meta meta;
    ptune_status s = pt_prompt_meta_init(m, &meta);
    if (s) return s;
    int32_t cfg_rows = -1, init = PTUNE_PROMPT_INIT_RANDOM;
    char *file = NULL;
    if (S_ISDIR(sb.st_mode)) {
        char *config = pt_strfmt("%s/adapter_config.json", path);
        if (!config) s = PTUNE_E_NOMEM;
        else if (stat(config, &sb) == 0) s = pt_prompt_peft_read_config(m, config, &meta, &cfg_rows, &init);
        else if (errno != ENOENT) s = pt_fail(PTUNE_E_IO, "%s: cannot open: %s", config, strerror(errno));
        free(config);
        if (!s && !(file = pt_strfmt("%s/adapter_model.safetensors", path))) s = PTUNE_E_NOMEM;
    } else if (!(file = pt_strdup(path, "prompt path"))) {
        s = PTUNE_E_NOMEM;
    }
    ptune_prompt *p = NULL;
    if (!s) s = load_tensor(m, file, cfg_rows, &p);
    free(file);
    if (s) {
        pt_prompt_meta_free(&meta);
        return s;
    }
    p->meta = meta;
    p->init = init;
    *out = p;
    return PTUNE_OK;
}

PTUNE_API void ptune_prompt_free(ptune_prompt *p)
{
    if (!p) return;
    free(p->values);
    free(p->grad);
    pt_prompt_meta_free(&p->meta);
    free(p);
}

PTUNE_API int32_t ptune_prompt_n_virtual(const ptune_prompt *p) { return p ? p->n_virtual : 0; }
PTUNE_API int32_t ptune_prompt_n_embd(const ptune_prompt *p) { return p ? p->n_embd : 0; }
PTUNE_API float *ptune_prompt_values(ptune_prompt *p) { return p ? p->values : NULL; }
PTUNE_API float *ptune_prompt_grad(ptune_prompt *p) { return p ? p->grad : NULL; }
