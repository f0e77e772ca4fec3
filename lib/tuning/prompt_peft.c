/* PEFT adapter directories for soft prompts: ptune_prompt_save (adapter_config.json formatted as
 * Python's json.dumps(indent=2, sort_keys=True) + adapter_model.safetensors) and config reading. */
#include "tuning/prompt.h"
#include "core/alloc.h"
#include "core/atomic_file.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/utf8.h"
#include "formats/hf_config.h"
#include "formats/safetensors_write.h"
#include "model/model.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define PEFT_CONFIG_NAME "adapter_config.json"
#define PEFT_WEIGHTS_NAME "adapter_model.safetensors"

/* ---------------------------------------------------------------------------------------
 * JSON text exactly as Python's json.dumps(obj, indent=2, sort_keys=True) writes it: separators
 * ",\n<indent>" and ": ", empty containers as {} and [], ensure_ascii escaping (everything
 * outside ' '..'~' as \uXXXX in lowercase hex, surrogate pairs above U+FFFF, \" \\ \b \f \n \r
 * \t short forms), floats as repr(float), keys sorted by code point (= UTF-8 byte order).
 * ------------------------------------------------------------------------------------- */

static ptune_status py_append(pt_buf *b, const char *s) { return pt_buf_append(b, s, strlen(s)); }

static ptune_status py_append_u16(pt_buf *b, unsigned u)
{
    char esc[8];
    snprintf(esc, sizeof esc, "\\u%04x", u & 0xffffu);
    return pt_buf_append(b, esc, 6);
}

/* Bytes that are not valid UTF-8 (possible in file-system paths) are written as lone
 * surrogates U+DC80..U+DCFF, which is what Python holds for them (surrogateescape). */
static ptune_status py_string(pt_buf *b, const char *s, size_t n)
{
    ptune_status st = pt_buf_append_char(b, '"');
    size_t i = 0;
    while (!st && i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') {
            size_t j = i + 1;
            while (j < n && (unsigned char)s[j] >= 0x20 && (unsigned char)s[j] <= 0x7e && s[j] != '"' && s[j] != '\\')
                j++;
            st = pt_buf_append(b, s + i, j - i);
            i = j;
            continue;
        }
        switch (c) {
        case '"': st = py_append(b, "\\\""); i++; continue;
        case '\\': st = py_append(b, "\\\\"); i++; continue;
        case '\b': st = py_append(b, "\\b"); i++; continue;
        case '\f': st = py_append(b, "\\f"); i++; continue;
        case '\n': st = py_append(b, "\\n"); i++; continue;
        case '\r': st = py_append(b, "\\r"); i++; continue;
        case '\t': st = py_append(b, "\\t"); i++; continue;
        default: break;
        }
        uint32_t cp;
        size_t len = c < 0x80 ? 1 : pt_utf8_decode(s + i, n - i, &cp);
        if (c < 0x80) cp = c;
        if (len == 0) {
            cp = 0xdc00u + c;
            len = 1;
        }
        if (cp >= 0x10000u) {
            uint32_t v = cp - 0x10000u;
            st = py_append_u16(b, 0xd800u + (v >> 10));
            if (!st) st = py_append_u16(b, 0xdc00u + (v & 0x3ffu));
        } else {
            st = py_append_u16(b, cp);
        }
        i += len;
    }
    if (!st) st = pt_buf_append_char(b, '"');
    return st;
}

/* repr(float): the shortest digits that round-trip; positional notation for decimal
 * exponents -4..15 (with ".0" when integral), otherwise d[.ddd]e±XX. */
static ptune_status py_float(pt_buf *b, double x)
{
    if (isnan(x)) return py_append(b, "NaN");
    if (isinf(x)) return py_append(b, x < 0 ? "-Infinity" : "Infinity");
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, x);
        if (strtod(sci, NULL) == x) break;
    }
    /* sci = [-]d[.ddd]e±XX */
    char digits[24];
    size_t nd = 0;
    const char *q = sci;
    bool neg = *q == '-';
    if (neg) q++;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < sizeof digits - 1) digits[nd++] = *q;
    digits[nd] = '\0';
    int e = *q == 'e' ? atoi(q + 1) : 0;
    char out[64];
    size_t o = 0;
    if (neg) out[o++] = '-';
    if (e >= -4 && e < 16) {
        if (e >= 0) {
            for (int k = 0; k <= e; k++) out[o++] = (size_t)k < nd ? digits[k] : '0';
            out[o++] = '.';
            if ((size_t)e + 1 < nd)
                for (size_t k = (size_t)e + 1; k < nd; k++) out[o++] = digits[k];
            else out[o++] = '0';
        } else {
            out[o++] = '0';
            out[o++] = '.';
            for (int k = 0; k < -e - 1; k++) out[o++] = '0';
            for (size_t k = 0; k < nd; k++) out[o++] = digits[k];
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t k = 1; k < nd; k++) out[o++] = digits[k];
        }
        snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    return py_append(b, out);
}

static ptune_status py_newline(pt_buf *b, int level)
{
    ptune_status s = pt_buf_append_char(b, '\n');
    for (int i = 0; !s && i < level; i++) s = py_append(b, "  ");
    return s;
}

static int py_cmp_key(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static ptune_status py_value(pt_buf *b, const json_t *v, int level);

static ptune_status py_object(pt_buf *b, const json_t *v, int level)
{
    size_t n = json_object_size(v);
    if (n == 0) return py_append(b, "{}");
    const char **keys = pt_malloc_array(n, sizeof *keys, "JSON key list");
    if (!keys) return PTUNE_E_NOMEM;
    size_t k = 0;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val) keys[k++] = key;
    qsort(keys, k, sizeof *keys, py_cmp_key);
    ptune_status s = pt_buf_append_char(b, '{');
    for (size_t i = 0; !s && i < k; i++) {
        if (i) s = pt_buf_append_char(b, ',');
        if (!s) s = py_newline(b, level + 1);
        if (!s) s = py_string(b, keys[i], strlen(keys[i]));
        if (!s) s = py_append(b, ": ");
        if (!s) s = py_value(b, json_object_get(v, keys[i]), level + 1);
    }
    if (!s) s = py_newline(b, level);
    if (!s) s = pt_buf_append_char(b, '}');
    free(keys);
    return s;
}

static ptune_status py_value(pt_buf *b, const json_t *v, int level)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: return py_object(b, v, level);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (n == 0) return py_append(b, "[]");
        ptune_status s = pt_buf_append_char(b, '[');
        for (size_t i = 0; !s && i < n; i++) {
            if (i) s = pt_buf_append_char(b, ',');
            if (!s) s = py_newline(b, level + 1);
            if (!s) s = py_value(b, json_array_get(v, i), level + 1);
        }
        if (!s) s = py_newline(b, level);
        if (!s) s = pt_buf_append_char(b, ']');
        return s;
    }
    case JSON_STRING: return py_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return py_append(b, num);
    case JSON_REAL: return py_float(b, json_real_value(v));
    case JSON_TRUE: return py_append(b, "true");
    case JSON_FALSE: return py_append(b, "false");
    case JSON_NULL: return py_append(b, "null");
    }
    return py_append(b, "null");
}

/* ---------------------------------------------------------------------------------------
 * Saving
 * ------------------------------------------------------------------------------------- */

/* Adds key → value to `o`, stealing `v`; NULL `v` (allocation failure) is reported. */
static bool cfg_set(json_t *o, const char *key, json_t *v) { return v && json_object_set_new(o, key, v) == 0; }

static json_t *cfg_str(const char *s) { return s ? json_stringn_nocheck(s, strlen(s)) : json_null(); }

static json_t *cfg_copy(const json_t *v) { return v ? json_deep_copy(v) : json_null(); }

/* The PromptTuningConfig that PEFT's save_pretrained writes for this prompt. The key set is
 * exactly PEFT's to_dict() of a PromptTuningConfig (PeftConfigMixin + PeftConfig +
 * PromptLearningConfig + PromptTuningConfig fields): no key of our own, so every PEFT version
 * loads it without an "unexpected keyword arguments" warning (or, before PEFT filtered unknown
 * keys, a TypeError). */
static ptune_status build_config(const ptune_prompt *p, pt_buf *text)
{
    const pt_prompt_meta *mt = &p->meta;
    json_t *o = json_object();
    bool ok = o != NULL;
    ok = ok && cfg_set(o, "auto_mapping", cfg_copy(mt->auto_mapping));
    ok = ok && cfg_set(o, "base_model_name_or_path", cfg_str(mt->base_model));
    ok = ok && cfg_set(o, "inference_mode", json_true()); /* save_pretrained forces it */
    ok = ok && cfg_set(o, "modules_to_save", cfg_copy(mt->modules_to_save));
    ok = ok && cfg_set(o, "num_attention_heads", json_integer(mt->n_head));
    ok = ok && cfg_set(o, "num_layers", json_integer(mt->n_layer));
    ok = ok && cfg_set(o, "num_transformer_submodules", json_integer(1)); /* decoder-only */
    ok = ok && cfg_set(o, "num_virtual_tokens", json_integer(p->n_virtual));
    ok = ok && cfg_set(o, "peft_type", json_string("PROMPT_TUNING"));
    ok = ok && cfg_set(o, "prompt_tuning_init", cfg_str(mt->init_name ? mt->init_name : "RANDOM"));
    ok = ok && cfg_set(o, "prompt_tuning_init_text", cfg_str(mt->init_text));
    ok = ok && cfg_set(o, "revision", cfg_str(mt->revision));
    ok = ok && cfg_set(o, "task_type", json_string("CAUSAL_LM"));
    ok = ok && cfg_set(o, "token_dim", json_integer(p->n_embd));
    ok = ok && cfg_set(o, "tokenizer_kwargs", cfg_copy(mt->tokenizer_kwargs));
    ok = ok && cfg_set(o, "tokenizer_name_or_path", cfg_str(mt->tokenizer_name));
    ptune_status s = ok ? py_value(text, o, 0) : pt_fail(PTUNE_E_NOMEM, "out of memory building " PEFT_CONFIG_NAME);
    json_decref(o);
    return s;
}

/* os.makedirs(dir, exist_ok=True). */
static ptune_status mkdir_p(const char *dir)
{
    char *path = pt_strdup(dir, "directory path");
    if (!path) return PTUNE_E_NOMEM;
    ptune_status s = PTUNE_OK;
    size_t n = strlen(path);
    for (size_t i = 1; !s && i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') continue;
        if (path[i - 1] == '/') continue; /* repeated slashes */
        char saved = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            s = pt_fail(PTUNE_E_IO, "%s: cannot create directory %s: %s", dir, path, strerror(errno));
        path[i] = saved;
    }
    free(path);
    struct stat sb;
    if (!s && stat(dir, &sb) != 0) s = pt_fail(PTUNE_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    if (!s && !S_ISDIR(sb.st_mode)) s = pt_fail(PTUNE_E_IO, "%s: exists and is not a directory", dir);
    return s;
}

PTUNE_API ptune_status ptune_prompt_save(const ptune_prompt *p, const char *dir)
{
    if (!p || !p->values || !dir || !dir[0])
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_prompt_save: prompt and directory are required");
    ptune_status s = mkdir_p(dir);
    if (s) return s;
    char *config = pt_strfmt("%s/" PEFT_CONFIG_NAME, dir);
    char *weights = pt_strfmt("%s/" PEFT_WEIGHTS_NAME, dir);
    char *tmp = NULL;
    pt_buf text = {0};
    if (!config || !weights) s = PTUNE_E_NOMEM;
    if (!s) s = build_config(p, &text);
    struct stat sb;
    /* a directory in the config's place would only fail at the final rename, after the
     * weights were replaced: refuse before touching anything */
    if (!s && lstat(config, &sb) == 0 && S_ISDIR(sb.st_mode))
        s = pt_fail(PTUNE_E_IO, "%s: cannot replace: %s", config, strerror(EISDIR));
    /* Both files must change together: the config is written to a temporary file first, the
     * weights then replace adapter_model.safetensors atomically, and only then is the config
     * renamed into place. Any failure before that rename leaves the directory as it was. */
    if (!s) s = pt_atomic_prepare(config, text.data, text.len, &tmp);
    if (!s) {
        pt_st_write_tensor t = {
            .name = "prompt_embeddings",
            .dtype = PT_DTYPE_F32,
            .n_dims = 2,
            .shape = {p->n_virtual, p->n_embd},
            .data = p->values,
        };
        s = pt_safetensors_write(weights, &t, 1, "{\"format\":\"pt\"}");
    }
    if (!s) s = pt_atomic_commit(tmp, config); /* consumes tmp, removed on failure */
    else pt_atomic_abort(tmp);
    pt_buf_free(&text);
    free(config);
    free(weights);
    return s;
}

/* ---------------------------------------------------------------------------------------
 * Reading adapter_config.json
 * ------------------------------------------------------------------------------------- */

/* Keys of PEFT's PromptTuningConfig (and its bases). "peft_version", written by newer PEFT
 * releases, is known and ignored: it says nothing about the prompt. */
static const char *const known_keys[] = {
    "auto_mapping", "base_model_name_or_path", "inference_mode", "modules_to_save", "num_attention_heads",
    "num_layers", "num_transformer_submodules", "num_virtual_tokens", "peft_type", "prompt_tuning_init",
    "prompt_tuning_init_text", "revision", "task_type", "token_dim", "tokenizer_kwargs",
    "tokenizer_name_or_path", "peft_version", NULL,
};

static bool is_known_key(const char *k)
{
    for (size_t i = 0; known_keys[i]; i++)
        if (!strcmp(known_keys[i], k)) return true;
    return false;
}

/* A string field that must equal `want`. */
static ptune_status require_string(const pt_json_file *f, const char *key, const char *want, const char *why)
{
    const char *v = NULL;
    ptune_status s = pt_json_get_string(f, key, &v);
    if (s == PTUNE_E_STATE)
        return pt_fail(PTUNE_E_FORMAT, "%s: \"%s\" is missing or null; expected \"%s\" (%s)", f->path, key, want, why);
    if (s) return s;
    if (strcmp(v, want) != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: \"%s\" is \"%s\"; expected \"%s\" (%s)", f->path, key, v, want, why);
    return PTUNE_OK;
}

/* An optional string field: *out gets a copy; absent or null leaves *out as pre-filled (the
 * model's path for base_model_name_or_path, which PEFT's save_pretrained fills in when None). */
static ptune_status opt_string(const pt_json_file *f, const char *key, char **out)
{
    const char *v = NULL;
    ptune_status s = pt_json_get_string(f, key, &v);
    if (s == PTUNE_E_STATE) return PTUNE_OK;
    if (s) return s;
    char *dup = pt_strdup(v, "adapter config string");
    if (!dup) return PTUNE_E_NOMEM;
    free(*out);
    *out = dup;
    return PTUNE_OK;
}

/* An optional integer in [lo, hi]: *out is set only when present; *present tells. */
static ptune_status opt_int(const pt_json_file *f, const char *key, int64_t lo, int64_t hi, int32_t *out,
                            bool *present)
{
    int64_t v;
    ptune_status s = pt_json_get_int(f, key, &v);
    if (present) *present = false;
    if (s == PTUNE_E_STATE) return PTUNE_OK;
    if (s) return s;
    if (v < lo || v > hi)
        return pt_fail(PTUNE_E_FORMAT, "%s: \"%s\" = %lld is outside %lld..%lld", f->path, key, (long long)v,
                       (long long)lo, (long long)hi);
    *out = (int32_t)v;
    if (present) *present = true;
    return PTUNE_OK;
}

/* An optional object/array field kept verbatim. */
static ptune_status opt_json(const pt_json_file *f, const char *key, json_type type, json_t **out)
{
    json_t *v = json_object_get(f->root, key);
    if (!v || json_is_null(v)) return PTUNE_OK;
    if (json_typeof(v) != type)
        return pt_fail(PTUNE_E_FORMAT, "%s: \"%s\" must be %s or null", f->path, key,
                       type == JSON_OBJECT ? "an object" : "an array");
    json_decref(*out);
    *out = json_incref(v);
    return PTUNE_OK;
}

ptune_status pt_prompt_peft_read_config(const ptune_model *m, const char *path, pt_prompt_meta *meta,
                                        int32_t *n_virtual, int32_t *init)
{
    pt_json_file f;
    ptune_status s = pt_json_file_load(path, &f);
    if (s) return s;
    *n_virtual = -1;
    *init = PTUNE_PROMPT_INIT_RANDOM;
    s = require_string(&f, "peft_type", "PROMPT_TUNING", "only prompt-tuning adapters hold a soft prompt");
    if (!s) s = require_string(&f, "task_type", "CAUSAL_LM", "this library tunes causal language models");
    int32_t token_dim = 0, submodules = 1;
    bool has_dim = false;
    if (!s) s = opt_int(&f, "token_dim", 1, INT32_MAX, &token_dim, &has_dim);
    if (!s && has_dim && token_dim != m->hp.n_embd)
        s = pt_fail(PTUNE_E_FORMAT,
                    "%s: token_dim %d does not match the model's hidden size %d (an adapter for another model?)", path,
                    token_dim, m->hp.n_embd);
    if (!s) s = opt_int(&f, "num_transformer_submodules", 1, INT32_MAX, &submodules, NULL);
    if (!s && submodules != 1)
        s = pt_fail(PTUNE_E_FORMAT, "%s: num_transformer_submodules = %d; a causal LM prompt has 1", path, submodules);
    if (!s) s = opt_int(&f, "num_virtual_tokens", 1, 1 << 20, n_virtual, NULL);
    if (!s) s = opt_int(&f, "num_layers", 0, INT32_MAX, &meta->n_layer, NULL);
    if (!s) s = opt_int(&f, "num_attention_heads", 0, INT32_MAX, &meta->n_head, NULL);
    bool inference_mode;
    if (!s) {
        s = pt_json_get_bool(&f, "inference_mode", &inference_mode);
        if (s == PTUNE_E_STATE) s = PTUNE_OK;
    }
    /* PEFT keeps these as loaded and writes them back on save: so do we */
    if (!s) s = opt_string(&f, "base_model_name_or_path", &meta->base_model);
    if (!s) s = opt_string(&f, "revision", &meta->revision);
    if (!s) s = opt_string(&f, "prompt_tuning_init", &meta->init_name);
    if (!s) s = opt_string(&f, "prompt_tuning_init_text", &meta->init_text);
    if (!s) s = opt_string(&f, "tokenizer_name_or_path", &meta->tokenizer_name);
    if (!s) s = opt_json(&f, "auto_mapping", JSON_OBJECT, &meta->auto_mapping);
    if (!s) s = opt_json(&f, "tokenizer_kwargs", JSON_OBJECT, &meta->tokenizer_kwargs);
    if (!s) s = opt_json(&f, "modules_to_save", JSON_ARRAY, &meta->modules_to_save);
    if (!s) {
        const char *v = NULL;
        ptune_status vs = pt_json_get_string(&f, "peft_version", &v);
        if (vs != PTUNE_OK && vs != PTUNE_E_STATE) s = vs;
    }
    if (!s && !meta->init_name && !(meta->init_name = pt_strdup("RANDOM", "prompt init name"))) s = PTUNE_E_NOMEM;
    if (!s) {
        if (!strcmp(meta->init_name, "TEXT")) *init = PTUNE_PROMPT_INIT_TEXT;
        else if (!strcmp(meta->init_name, "SAMPLE_VOCAB")) *init = PTUNE_PROMPT_INIT_SAMPLE_VOCAB;
        const char *key;
        json_t *val;
        json_object_foreach(f.root, key, val) {
            if (!is_known_key(key))
                pt_log(PTUNE_LOG_WARN, "%s: unknown key \"%s\" ignored (not a PEFT prompt-tuning setting)", path, key);
        }
    }
    pt_json_file_free(&f);
    return s;
}
