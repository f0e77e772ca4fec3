/* Owns the safetensors reader: maps the file, parses and validates the JSON header (dtypes,
 * shapes, offsets, overlaps, duplicates) and serves tensor views sorted by name. */
#include "formats/safetensors.h"
#include "core/alloc.h"
#include "core/error.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Same cap as the reference implementation: headers beyond 100 MB are rejected. */
#define ST_MAX_HEADER ((uint64_t)100000000)
#define ST_METADATA_KEY "__metadata__"

typedef struct st_dtype_info {
    const char *name;
    pt_dtype dtype;
    uint64_t size;
} st_dtype_info;

/* Every dtype the safetensors format defines; the ones weights cannot use map to OTHER. */
static const st_dtype_info st_dtypes[] = {
    {"BOOL", PT_DTYPE_OTHER, 1},    {"U8", PT_DTYPE_OTHER, 1},     {"I8", PT_DTYPE_OTHER, 1},
    {"F8_E5M2", PT_DTYPE_OTHER, 1}, {"F8_E4M3", PT_DTYPE_OTHER, 1}, {"I16", PT_DTYPE_OTHER, 2},
    {"U16", PT_DTYPE_OTHER, 2},     {"F16", PT_DTYPE_F16, 2},      {"BF16", PT_DTYPE_BF16, 2},
    {"I32", PT_DTYPE_I32, 4},       {"U32", PT_DTYPE_OTHER, 4},    {"F32", PT_DTYPE_F32, 4},
    {"F64", PT_DTYPE_F64, 8},       {"I64", PT_DTYPE_I64, 8},      {"U64", PT_DTYPE_OTHER, 8},
};

static const st_dtype_info *st_find_dtype(const char *s)
{
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, s) == 0) return &st_dtypes[i];
    return NULL;
}

static const char *st_json_type(const json_t *j)
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

static uint64_t st_read_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Parses one tensor entry into `v` (name and data pointer are filled by the caller).
 * `data_size` is the length of the data section; begin/end are returned for the overlap check. */
static ptune_status st_parse_entry(const char *path, const char *name, const json_t *entry,
                                   uint64_t data_size, pt_tensor_view *v, uint64_t *begin_out,
                                   uint64_t *end_out)
{
    if (!json_is_object(entry))
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: entry must be an object, got %s", path, name,
                       st_json_type(entry));

    const json_t *jd = json_object_get(entry, "dtype");
    if (!jd)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: missing \"dtype\"", path, name);
    if (!json_is_string(jd))
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: \"dtype\" must be a string, got %s", path,
                       name, st_json_type(jd));
    const st_dtype_info *dt = st_find_dtype(json_string_value(jd));
    if (!dt)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: unknown dtype \"%s\"", path, name,
                       json_string_value(jd));

    const json_t *js = json_object_get(entry, "shape");
    if (!js)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: missing \"shape\"", path, name);
    if (!json_is_array(js))
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: \"shape\" must be an array, got %s", path,
                       name, st_json_type(js));
    size_t rank = json_array_size(js);
    /* Validate every dimension before the rank, so malformed shapes are FORMAT errors. */
    bool has_zero = false;
    for (size_t i = 0; i < rank; i++) {
        const json_t *d = json_array_get(js, i);
        if (!json_is_integer(d))
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: shape[%zu] must be an integer, got %s",
                           path, name, i, st_json_type(d));
        json_int_t x = json_integer_value(d);
        if (x < 0)
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: shape[%zu] = %lld is negative", path,
                           name, i, (long long)x);
        if (x == 0) has_zero = true;
    }
    if (rank > PT_MAX_DIMS)
        return pt_fail(PTUNE_E_UNSUPPORTED,
                       "%s: tensor %s: rank %zu exceeds the supported maximum of %d dimensions",
                       path, name, rank, PT_MAX_DIMS);
    /* Element count and byte size must fit in int64 (n_elements) and uint64 (offsets). */
    uint64_t numel = has_zero ? 0 : 1;
    for (size_t i = 0; i < rank && numel != 0; i++) {
        uint64_t x = (uint64_t)json_integer_value(json_array_get(js, i));
        if (numel > (uint64_t)INT64_MAX / x || numel * x > (uint64_t)INT64_MAX / dt->size)
            return pt_fail(PTUNE_E_FORMAT,
                           "%s: tensor %s: element count of the shape overflows (dimension %zu)",
                           path, name, i);
        numel *= x;
    }
    uint64_t nbytes = numel * dt->size;

    const json_t *jo = json_object_get(entry, "data_offsets");
    if (!jo)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: missing \"data_offsets\"", path, name);
    if (!json_is_array(jo) || json_array_size(jo) != 2 ||
        !json_is_integer(json_array_get(jo, 0)) || !json_is_integer(json_array_get(jo, 1)))
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: tensor %s: \"data_offsets\" must be an array of two integers", path,
                       name);
    json_int_t jb = json_integer_value(json_array_get(jo, 0));
    json_int_t je = json_integer_value(json_array_get(jo, 1));
    if (jb < 0 || je < 0 || jb > je)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: invalid data_offsets [%lld, %lld)", path,
                       name, (long long)jb, (long long)je);
    uint64_t begin = (uint64_t)jb, end = (uint64_t)je;
    if (end - begin != nbytes)
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: tensor %s: data_offsets [%" PRIu64 ", %" PRIu64 ") hold %" PRIu64
                       " bytes but %" PRIu64 " elements of %s need %" PRIu64,
                       path, name, begin, end, end - begin, numel, dt->name, nbytes);
    if (end > data_size)
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: tensor %s: data_offsets [%" PRIu64 ", %" PRIu64
                       ") past end of data (%" PRIu64 " bytes)",
                       path, name, begin, end, data_size);
    if (numel > (uint64_t)SIZE_MAX || nbytes > (uint64_t)SIZE_MAX)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor %s: too large for this platform", path, name);

    memset(v, 0, sizeof *v);
    v->dtype = dt->dtype;
    v->dtype_name = dt->name;
    v->n_dims = (int)rank;
    for (size_t i = 0; i < rank; i++) v->shape[i] = (int64_t)json_integer_value(json_array_get(js, i));
    v->n_elements = (int64_t)numel;
    v->n_bytes = (size_t)nbytes;
    *begin_out = begin;
    *end_out = end;
    return PTUNE_OK;
}

typedef struct st_range {
    uint64_t begin, end;
    size_t index;
} st_range;

static int st_cmp_range(const void *a, const void *b)
{
    const st_range *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_cmp_view_name(const void *a, const void *b)
{
    const pt_tensor_view *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static ptune_status st_parse_metadata(const char *path, json_t *meta, char **out)
{
    if (!json_is_object(meta))
        return pt_fail(PTUNE_E_FORMAT, "%s: \"__metadata__\" must be an object, got %s", path,
                       st_json_type(meta));
    const char *k;
    json_t *val;
    json_object_foreach(meta, k, val) {
        if (!json_is_string(val))
            return pt_fail(PTUNE_E_FORMAT,
                           "%s: \"__metadata__\" value for key \"%s\" must be a string, got %s",
                           path, k, st_json_type(val));
    }
    char *text = json_dumps(meta, JSON_SORT_KEYS | JSON_COMPACT);
    if (!text)
        return pt_fail(PTUNE_E_NOMEM, "%s: out of memory serialising \"__metadata__\"", path);
    /* Re-own with malloc'd memory the library frees with free() (jansson may use another
     * allocator if the host installed one). */
    *out = pt_strdup(text, "safetensors metadata");
    free(text);
    return *out ? PTUNE_OK : PTUNE_E_NOMEM;
}

static ptune_status st_parse_header(pt_safetensors *st, json_t *root, uint64_t header_len)
{
    const char *path = st->file.path;
    uint64_t data_start = 8 + header_len;
    uint64_t data_size = (uint64_t)st->file.size - data_start;

    size_t n = json_object_size(root);
    if (json_object_get(root, ST_METADATA_KEY)) n--;

    st->tensors = pt_calloc(n, sizeof *st->tensors, "safetensors tensor table");
    st->names = pt_calloc(n, sizeof *st->names, "safetensors tensor names");
    st_range *ranges = pt_calloc(n, sizeof *ranges, "safetensors offset table");
    if (!st->tensors || !st->names || !ranges) {
        free(ranges);
        return PTUNE_E_NOMEM;
    }

    ptune_status rc = PTUNE_OK;
    size_t i = 0;
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, ST_METADATA_KEY) == 0) {
            rc = st_parse_metadata(path, val, &st->metadata_json);
            if (rc != PTUNE_OK) goto done;
            continue;
        }
        pt_tensor_view *v = &st->tensors[i];
        rc = st_parse_entry(path, key, val, data_size, v, &ranges[i].begin, &ranges[i].end);
        if (rc != PTUNE_OK) goto done;
        st->names[i] = pt_strdup(key, "safetensors tensor name");
        if (!st->names[i]) {
            rc = PTUNE_E_NOMEM;
            goto done;
        }
        v->name = st->names[i];
        v->data = st->file.data + data_start + ranges[i].begin;
        v->file_offset = data_start + ranges[i].begin;
        ranges[i].index = i;
        i++;
        st->n_tensors = i;
    }

    /* Overlap check on the byte ranges sorted by start; empty tensors occupy no bytes. */
    qsort(ranges, n, sizeof *ranges, st_cmp_range);
    const st_range *prev = NULL;
    for (size_t j = 0; j < n; j++) {
        const st_range *r = &ranges[j];
        if (r->begin == r->end) continue;
        if (prev && r->begin < prev->end) {
            rc = pt_fail(PTUNE_E_FORMAT,
                         "%s: tensors %s [%" PRIu64 ", %" PRIu64 ") and %s [%" PRIu64 ", %" PRIu64
                         ") overlap",
                         path, st->tensors[prev->index].name, prev->begin, prev->end,
                         st->tensors[r->index].name, r->begin, r->end);
            goto done;
        }
        prev = r;
    }

    /* Sort views by name for binary search; keep `names` in the same order. */
    qsort(st->tensors, n, sizeof *st->tensors, st_cmp_view_name);
    for (size_t j = 0; j < n; j++) st->names[j] = (char *)st->tensors[j].name;
    for (size_t j = 1; j < n; j++) {
        if (strcmp(st->names[j - 1], st->names[j]) == 0) {
            rc = pt_fail(PTUNE_E_FORMAT, "%s: duplicate tensor name %s", path, st->names[j]);
            goto done;
        }
    }

done:
    free(ranges);
    return rc;
}

ptune_status pt_safetensors_open(const char *path, pt_safetensors *out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_safetensors_open: output is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return pt_fail(PTUNE_E_INVALID_ARG, "pt_safetensors_open: path is NULL");

    pt_safetensors st;
    memset(&st, 0, sizeof st);
    ptune_status rc = pt_mapped_file_open(path, &st.file);
    if (rc != PTUNE_OK) return rc;

    json_t *root = NULL;
    size_t size = st.file.size;
    if (size < 8) {
        rc = pt_fail(PTUNE_E_FORMAT,
                     "%s: file is %zu bytes, too short for a safetensors header (8-byte length)",
                     path, size);
        goto fail;
    }
    uint64_t header_len = st_read_le64(st.file.data);
    if (header_len > (uint64_t)(size - 8)) {
        rc = pt_fail(PTUNE_E_FORMAT,
                     "%s: header length %" PRIu64 " runs past end of file (%zu bytes after the "
                     "length field)",
                     path, header_len, size - 8);
        goto fail;
    }
    if (header_len > ST_MAX_HEADER) {
        rc = pt_fail(PTUNE_E_FORMAT, "%s: header length %" PRIu64 " exceeds the %" PRIu64
                     "-byte limit", path, header_len, ST_MAX_HEADER);
        goto fail;
    }

    json_error_t err;
    root = json_loadb((const char *)st.file.data + 8, (size_t)header_len, JSON_REJECT_DUPLICATES,
                      &err);
    if (!root) {
        rc = pt_fail(PTUNE_E_FORMAT, "%s: invalid JSON header at line %d, column %d: %s", path,
                     err.line, err.column, err.text);
        goto fail;
    }
    if (!json_is_object(root)) {
        rc = pt_fail(PTUNE_E_FORMAT, "%s: header must be a JSON object, got %s", path,
                     st_json_type(root));
        goto fail;
    }
    rc = st_parse_header(&st, root, header_len);
    if (rc != PTUNE_OK) goto fail;

    json_decref(root);
    *out = st;
    return PTUNE_OK;

fail:
    json_decref(root);
    pt_safetensors_close(&st);
    return rc;
}

void pt_safetensors_close(pt_safetensors *st)
{
    if (!st) return;
    if (st->names)
        for (size_t i = 0; i < st->n_tensors; i++) free(st->names[i]);
    free(st->names);
    free(st->tensors);
    free(st->metadata_json);
    pt_mapped_file_close(&st->file);
    memset(st, 0, sizeof *st);
}

const pt_tensor_view *pt_safetensors_find(const pt_safetensors *st, const char *name)
{
    if (!st || !name || !st->tensors) return NULL;
    size_t lo = 0, hi = st->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->tensors[mid].name);
        if (c == 0) return &st->tensors[mid];
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}
