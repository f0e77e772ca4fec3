/* Owns loading of Hugging Face JSON files (config.json and friends) with jansson and the typed
 * top-level field getters, whose errors name the file and the key. */
#include "formats/hf_config.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *hf_json_type(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

ptune_status pt_json_file_load(const char *path, pt_json_file *out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_json_file_load: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return pt_fail(PTUNE_E_INVALID_ARG, "pt_json_file_load: path is NULL");

    struct stat sb;
    if (stat(path, &sb) != 0)
        return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return pt_fail(PTUNE_E_IO, "%s: is a directory, expected a JSON file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));

    json_error_t err;
    json_t *root = json_loadf(fp, 0, &err);
    int read_error = ferror(fp);
    fclose(fp);
    if (!root) {
        if (read_error) return pt_fail(PTUNE_E_IO, "%s: read error", path);
        return pt_fail(PTUNE_E_FORMAT, "%s:%d:%d: %s", path, err.line, err.column, err.text);
    }
    if (!json_is_object(root)) {
        const char *t = hf_json_type(root);
        json_decref(root);
        return pt_fail(PTUNE_E_FORMAT, "%s: not a JSON object (top level is %s)", path, t);
    }
    char *copy = pt_strdup(path, "JSON file path");
    if (!copy) {
        json_decref(root);
        return PTUNE_E_NOMEM;
    }
    out->path = copy;
    out->root = root;
    return PTUNE_OK;
}

void pt_json_file_free(pt_json_file *f)
{
    if (!f) return;
    json_decref(f->root);
    free(f->path);
    memset(f, 0, sizeof *f);
}

/* Looks up `key`; PTUNE_E_STATE (no message) when absent or null. */
static ptune_status hf_lookup(const pt_json_file *f, const char *key, const json_t **out)
{
    if (!f || !f->root || !key)
        return pt_fail(PTUNE_E_INVALID_ARG, "JSON getter: NULL file or key");
    const json_t *v = json_object_get(f->root, key);
    if (!v || json_is_null(v)) return PTUNE_E_STATE;
    *out = v;
    return PTUNE_OK;
}

static ptune_status hf_wrong_type(const pt_json_file *f, const char *key, const char *want,
                                  const json_t *v)
{
    return pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" must be %s, got %s", f->path, key, want,
                   hf_json_type(v));
}

ptune_status pt_json_get_int(const pt_json_file *f, const char *key, int64_t *out)
{
    const json_t *v = NULL;
    ptune_status rc = hf_lookup(f, key, &v);
    if (rc != PTUNE_OK) return rc;
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return PTUNE_OK;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        /* [-2^63, 2^63) is exactly the range of int64 that a double can express. */
        if (!isfinite(d) || d != floor(d))
            return pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" must be an integer, got %g", f->path,
                           key, d);
        if (d < -9223372036854775808.0 || d >= 9223372036854775808.0)
            return pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" = %g is out of the integer range",
                           f->path, key, d);
        *out = (int64_t)d;
        return PTUNE_OK;
    }
    return hf_wrong_type(f, key, "an integer", v);
}

ptune_status pt_json_get_number(const pt_json_file *f, const char *key, double *out)
{
    const json_t *v = NULL;
    ptune_status rc = hf_lookup(f, key, &v);
    if (rc != PTUNE_OK) return rc;
    if (!json_is_number(v)) return hf_wrong_type(f, key, "a number", v);
    *out = json_number_value(v);
    return PTUNE_OK;
}

ptune_status pt_json_get_bool(const pt_json_file *f, const char *key, bool *out)
{
    const json_t *v = NULL;
    ptune_status rc = hf_lookup(f, key, &v);
    if (rc != PTUNE_OK) return rc;
    if (!json_is_boolean(v)) return hf_wrong_type(f, key, "a boolean", v);
    *out = json_is_true(v);
    return PTUNE_OK;
}

ptune_status pt_json_get_string(const pt_json_file *f, const char *key, const char **out)
{
    const json_t *v = NULL;
    ptune_status rc = hf_lookup(f, key, &v);
    if (rc != PTUNE_OK) return rc;
    if (!json_is_string(v)) return hf_wrong_type(f, key, "a string", v);
    *out = json_string_value(v);
    return PTUNE_OK;
}

ptune_status pt_json_get_int_alias(const pt_json_file *f, const char *const *keys, int64_t *out)
{
    if (!keys) return pt_fail(PTUNE_E_INVALID_ARG, "JSON getter: NULL key list");
    for (size_t i = 0; keys[i]; i++) {
        ptune_status rc = pt_json_get_int(f, keys[i], out);
        if (rc != PTUNE_E_STATE) return rc;
    }
    return PTUNE_E_STATE;
}
