/* ptune_model_load / ptune_model_free: dispatches a path to the GGUF or the HF-directory
 * loader, binds weights and precomputes position tables. */
#include "model/model.h"
#include "core/params.h"
#include "core/alloc.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "tokenizer/tokenizer.h"
#include "model/hparams.h"
#include "model/weights.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void model_params_defaults(ptune_model_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

PTUNE_API void ptune_model_params_init_sized(ptune_model_params *p, uint32_t size)
{
    ptune_model_params d;
    model_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

PTUNE_API void ptune_model_free(ptune_model *m)
{
    if (!m) return;
    pt_free_aligned(m->storage);
    pt_free_aligned(m->native);
    free(m->layers);
    free(m->source_path);
    pt_tokenizer_free(m->tokenizer);
    free(m->tokenizer_missing);
    free(m);
}

/* A tokenizer that fails as UNSUPPORTED leaves the model usable with ids (the reason is kept
 * for ptune_tokenize's message and logged); a malformed one fails the load. */
static ptune_status attach_tokenizer(ptune_model *m, ptune_status s, const char *where)
{
    if (s == PTUNE_OK) return PTUNE_OK;
    if (s == PTUNE_E_STATE || s == PTUNE_E_UNSUPPORTED) {
        m->tokenizer_missing = s == PTUNE_E_STATE ? pt_strfmt("%s has no tokenizer", where)
                                                  : pt_strfmt("the tokenizer could not be loaded: %s", ptune_last_error());
        if (!m->tokenizer_missing) return PTUNE_E_NOMEM;
        if (s == PTUNE_E_UNSUPPORTED) pt_log(PTUNE_LOG_WARN, "%s", m->tokenizer_missing);
        return PTUNE_OK;
    }
    return s;
}

static ptune_status load_gguf(ptune_model *m, const char *path)
{
    pt_gguf g;
    ptune_status s = pt_gguf_open(path, &g);
    if (s) return s;
    char *arch_name = NULL;
    s = pt_gguf_get_str(&g, "general.architecture", &arch_name);
    if (s == PTUNE_E_STATE) s = pt_fail(PTUNE_E_FORMAT, "%s: missing key \"general.architecture\"", path);
    if (!s) {
        m->arch = pt_arch_by_gguf_name(arch_name);
        if (!m->arch)
            s = pt_fail(PTUNE_E_UNSUPPORTED, "%s: architecture \"%s\" is not supported (supported: %s)", path,
                        arch_name, pt_arch_supported_list());
    }
    free(arch_name);
    if (!s) s = pt_hparams_from_gguf(m->arch, &g, &m->hp);
    pt_source_tensor *list = NULL;
    if (!s) {
        list = pt_calloc(g.n_tensors ? g.n_tensors : 1, sizeof *list, "tensor list");
        if (!list) s = PTUNE_E_NOMEM;
    }
    if (!s) {
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            list[i].view = &g.tensors[i].view;
            list[i].file = path;
        }
        pt_weight_source src = {.tensors = list, .n = (size_t)g.n_tensors, .origin = path};
        s = pt_weights_bind(m, &src, m->arch->gguf_bindings);
    }
    if (!s) s = attach_tokenizer(m, pt_tokenizer_from_gguf(&g, &m->tokenizer), path);
    free(list);
    pt_gguf_close(&g);
    return s;
}

/* The shard files named by model.safetensors.index.json, deduplicated, in first-seen order. */
static ptune_status index_shards(const char *dir, const char *index_path, char ***out, size_t *n_out)
{
    pt_json_file idx;
    ptune_status s = pt_json_file_load(index_path, &idx);
    if (s) return s;
    json_t *map = json_object_get(idx.root, "weight_map");
    if (!json_is_object(map)) {
        pt_json_file_free(&idx);
        return pt_fail(PTUNE_E_FORMAT, "%s: field \"weight_map\" must be an object", index_path);
    }
    size_t cap = json_object_size(map), n = 0;
    char **files = pt_calloc(cap ? cap : 1, sizeof *files, "shard list");
    if (!files) {
        pt_json_file_free(&idx);
        return PTUNE_E_NOMEM;
    }
    const char *key;
    json_t *val;
    json_object_foreach(map, key, val) {
        const char *f = json_string_value(val);
        if (!f || !f[0] || strchr(f, '/') || !strcmp(f, "..")) {
            s = pt_fail(PTUNE_E_FORMAT, "%s: weight_map[\"%s\"] must be a file name in the same directory", index_path, key);
            break;
        }
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++) seen = !strcmp(strrchr(files[i], '/') + 1, f);
        if (seen) continue;
        files[n] = pt_strfmt("%s/%s", dir, f);
        if (!files[n]) {
            s = PTUNE_E_NOMEM;
            break;
        }
        n++;
    }
    pt_json_file_free(&idx);
    if (!s && n == 0) s = pt_fail(PTUNE_E_FORMAT, "%s: weight_map is empty", index_path);
    if (s) {
        for (size_t i = 0; i < n; i++) free(files[i]);
        free(files);
        return s;
    }
    *out = files;
    *n_out = n;
    return PTUNE_OK;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static ptune_status hf_architecture(const pt_json_file *cfg, const pt_arch_desc **out)
{
    const char *arch = NULL, *model_type = NULL;
    json_t *list = json_object_get(cfg->root, "architectures");
    if (list && !json_is_null(list)) {
        if (!json_is_array(list) || json_array_size(list) == 0 || !json_is_string(json_array_get(list, 0)))
            return pt_fail(PTUNE_E_FORMAT, "%s: field \"architectures\" must be a non-empty list of strings", cfg->path);
        arch = json_string_value(json_array_get(list, 0));
    }
    ptune_status s = pt_json_get_string(cfg, "model_type", &model_type);
    if (s != PTUNE_OK && s != PTUNE_E_STATE) return s;
    if (!arch && !model_type)
        return pt_fail(PTUNE_E_FORMAT, "%s: neither \"architectures\" nor \"model_type\" is present", cfg->path);
    *out = pt_arch_by_hf(arch, model_type);
    if (!*out)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: architecture \"%s\" is not supported (supported: %s)", cfg->path,
                       arch ? arch : model_type, pt_arch_supported_list());
    return PTUNE_OK;
}

static ptune_status load_hf_dir(ptune_model *m, const char *dir)
{
    char *cfg_path = pt_strfmt("%s/config.json", dir);
    char *gen_path = pt_strfmt("%s/generation_config.json", dir);
    char *index_path = pt_strfmt("%s/model.safetensors.index.json", dir);
    pt_json_file cfg = {0}, gen = {0};
    char **shards = NULL;
    size_t n_shards = 0;
    pt_safetensors *st = NULL;
    pt_source_tensor *list = NULL;
    ptune_status s = (!cfg_path || !gen_path || !index_path) ? PTUNE_E_NOMEM : PTUNE_OK;

    if (!s && !file_exists(cfg_path)) s = pt_fail(PTUNE_E_IO, "%s: no config.json in this directory", dir);
    if (!s) s = pt_json_file_load(cfg_path, &cfg);
    if (!s && file_exists(gen_path)) s = pt_json_file_load(gen_path, &gen);
    if (!s) s = hf_architecture(&cfg, &m->arch);
    if (!s) s = pt_hparams_from_hf(m->arch, &cfg, gen.root ? &gen : NULL, &m->hp);
    if (!s) {
        if (file_exists(index_path)) {
            s = index_shards(dir, index_path, &shards, &n_shards);
        } else {
            shards = pt_calloc(1, sizeof *shards, "shard list");
            if (!shards || !(shards[0] = pt_strfmt("%s/model.safetensors", dir))) s = PTUNE_E_NOMEM;
            else if (!file_exists(shards[0]))
                s = pt_fail(PTUNE_E_IO, "%s: no model.safetensors or model.safetensors.index.json", dir);
            n_shards = shards && shards[0] ? 1 : 0;
        }
    }
    if (!s) {
        st = pt_calloc(n_shards, sizeof *st, "safetensors shards");
        if (!st) s = PTUNE_E_NOMEM;
    }
    size_t n_total = 0;
    for (size_t i = 0; !s && i < n_shards; i++) {
        s = pt_safetensors_open(shards[i], &st[i]);
        n_total += st[i].n_tensors;
    }
    if (!s) {
        list = pt_calloc(n_total ? n_total : 1, sizeof *list, "tensor list");
        if (!list) s = PTUNE_E_NOMEM;
    }
    if (!s) {
        size_t k = 0;
        for (size_t i = 0; i < n_shards; i++)
            for (size_t j = 0; j < st[i].n_tensors; j++) {
                list[k].view = &st[i].tensors[j];
                list[k].file = st[i].file.path;
                k++;
            }
        pt_weight_source src = {.tensors = list, .n = n_total, .prefixes = m->arch->hf_prefixes,
                                .ignored = m->arch->hf_ignored,
                                .origin = n_shards > 1 || file_exists(index_path) ? index_path : shards[0]};
        s = pt_weights_bind(m, &src, m->arch->hf_bindings);
    }
    if (!s) {
        char *tok_path = pt_strfmt("%s/tokenizer.json", dir);
        if (!tok_path) s = PTUNE_E_NOMEM;
        else if (file_exists(tok_path)) s = attach_tokenizer(m, pt_tokenizer_from_json_file(tok_path, &m->tokenizer), dir);
        else s = attach_tokenizer(m, PTUNE_E_STATE, dir);
        free(tok_path);
    }
    free(list);
    for (size_t i = 0; st && i < n_shards; i++) pt_safetensors_close(&st[i]);
    free(st);
    for (size_t i = 0; shards && i < n_shards; i++) free(shards[i]);
    free(shards);
    pt_json_file_free(&cfg);
    pt_json_file_free(&gen);
    free(cfg_path);
    free(gen_path);
    free(index_path);
    return s;
}

PTUNE_API ptune_status ptune_model_load(const char *path, const ptune_model_params *p, ptune_model **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_load: out is NULL");
    *out = NULL;
    if (!path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_load: path is empty");
    if (p && (p->struct_size < sizeof(uint32_t) || p->struct_size > sizeof(ptune_model_params)))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_load: params.struct_size is %u; call ptune_model_params_init()",
                       p->struct_size);
    ptune_model_params d;
    model_params_defaults(&d);
    if (p) memcpy(&d, p, p->struct_size);
    if (d.storage != PTUNE_STORAGE_F32 && d.storage != PTUNE_STORAGE_NATIVE)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_model_load: params.storage is %d; expected PTUNE_STORAGE_F32 (0) "
                       "or PTUNE_STORAGE_NATIVE (1)", (int)d.storage);
    struct stat sb;
    if (stat(path, &sb) != 0) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    ptune_model *m = pt_calloc(1, sizeof *m, "model");
    if (!m) return PTUNE_E_NOMEM;
    m->storage_kind = (ptune_storage)d.storage;
    m->source_path = pt_strdup(path, "model path");
    ptune_status s = m->source_path ? PTUNE_OK : PTUNE_E_NOMEM;
    if (!s) s = S_ISDIR(sb.st_mode) ? load_hf_dir(m, path) : load_gguf(m, path);
    if (s) {
        ptune_model_free(m);
        return s;
    }
    *out = m;
    return PTUNE_OK;
}
