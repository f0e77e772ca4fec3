/* Owns the safetensors writer: builds the sorted, 8-byte padded JSON header with jansson and
 * writes header and data atomically through core/atomic_file (temporary, fsync, rename). */
#include "formats/safetensors_write.h"
#include "core/alloc.h"
#include "core/atomic_file.h"
#include "core/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STW_METADATA_KEY "__metadata__"

static const char *stw_dtype_name(pt_dtype t)
{
    /* safetensors spelling of the dtypes the library can write */
    switch (t) {
    case PT_DTYPE_F32: return "F32";
    case PT_DTYPE_F16: return "F16";
    case PT_DTYPE_BF16: return "BF16";
    case PT_DTYPE_F64: return "F64";
    case PT_DTYPE_I64: return "I64";
    case PT_DTYPE_I32: return "I32";
    default: return NULL; /* ggml block formats and others: not in safetensors */
    }
}

static int stw_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Insertion sort of indices by tensor name: qsort's comparator cannot take a context portably,
 * and a static base pointer would not be thread-safe. */
static void stw_sort_indices(const pt_st_write_tensor *t, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t cur = idx[i];
        size_t j = i;
        while (j > 0 && strcmp(t[idx[j - 1]].name, t[cur].name) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = cur;
    }
}

/* Validates one tensor and returns its byte size. */
static ptune_status stw_check_tensor(const char *path, const pt_st_write_tensor *t, size_t i,
                                     uint64_t *nbytes)
{
    if (!t->name || !t->name[0])
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor #%zu has no name", path, i);
    if (strcmp(t->name, STW_METADATA_KEY) == 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor name \"%s\" is reserved", path, t->name);
    if (!stw_dtype_name(t->dtype))
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: dtype %s cannot be written", path,
                       t->name, pt_dtype_name(t->dtype));
    if (t->n_dims < 0 || t->n_dims > PT_MAX_DIMS)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: rank %d outside 0..%d", path, t->name,
                       t->n_dims, PT_MAX_DIMS);
    uint64_t esize = pt_dtype_size(t->dtype);
    uint64_t numel = 1;
    for (int d = 0; d < t->n_dims; d++)
        if (t->shape[d] < 0)
            return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: shape[%d] = %lld is negative",
                           path, t->name, d, (long long)t->shape[d]);
    for (int d = 0; d < t->n_dims; d++)
        if (t->shape[d] == 0) numel = 0;
    for (int d = 0; d < t->n_dims && numel != 0; d++) {
        uint64_t x = (uint64_t)t->shape[d];
        if (numel > (uint64_t)INT64_MAX / x || numel * x > (uint64_t)INT64_MAX / esize)
            return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: element count overflows", path,
                           t->name);
        numel *= x;
    }
    *nbytes = numel * esize;
    if (*nbytes > (uint64_t)SIZE_MAX)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: too large for this platform", path,
                       t->name);
    if (*nbytes > 0 && !t->data)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: data is NULL", path, t->name);
    return PTUNE_OK;
}

/* Parses the caller's metadata text into a new object with string values and sorted keys. */
static ptune_status stw_metadata(const char *path, const char *text, json_t **out)
{
    json_error_t err;
    json_t *src = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!src)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: metadata is not valid JSON (line %d, column %d: %s)",
                       path, err.line, err.column, err.text);
    if (!json_is_object(src)) {
        json_decref(src);
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: metadata must be a JSON object", path);
    }
    size_t n = json_object_size(src);
    const char **keys = pt_calloc(n, sizeof *keys, "safetensors metadata keys");
    json_t *dst = json_object();
    if (!keys || !dst) {
        free(keys);
        json_decref(dst);
        json_decref(src);
        return keys ? pt_fail(PTUNE_E_NOMEM, "%s: out of memory building metadata", path)
                    : PTUNE_E_NOMEM;
    }
    ptune_status rc = PTUNE_OK;
    size_t k = 0;
    const char *key;
    json_t *val;
    json_object_foreach(src, key, val) {
        if (!json_is_string(val)) {
            rc = pt_fail(PTUNE_E_INVALID_ARG,
                         "%s: metadata value for key \"%s\" must be a string", path, key);
            goto done;
        }
        keys[k++] = key;
    }
    qsort(keys, k, sizeof *keys, stw_cmp_str);
    for (size_t i = 0; i < k; i++) {
        if (json_object_set(dst, keys[i], json_object_get(src, keys[i])) != 0) {
            rc = pt_fail(PTUNE_E_NOMEM, "%s: out of memory building metadata", path);
            goto done;
        }
    }
done:
    free(keys);
    json_decref(src);
    if (rc != PTUNE_OK) {
        json_decref(dst);
        return rc;
    }
    *out = dst;
    return PTUNE_OK;
}

/* Builds the padded header text (without the length prefix). */
static ptune_status stw_build_header(const char *path, const pt_st_write_tensor *t,
                                     const size_t *order, const uint64_t *nbytes, size_t n,
                                     const char *metadata_json, char **out, size_t *out_len)
{
    ptune_status rc = PTUNE_OK;
    json_t *root = json_object();
    if (!root) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory building header", path);
    if (metadata_json) {
        json_t *meta = NULL;
        rc = stw_metadata(path, metadata_json, &meta);
        if (rc != PTUNE_OK) goto fail;
        if (json_object_set_new(root, STW_METADATA_KEY, meta) != 0) {
            rc = pt_fail(PTUNE_E_NOMEM, "%s: out of memory building header", path);
            goto fail;
        }
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < n; i++) {
        const pt_st_write_tensor *w = &t[order[i]];
        uint64_t size = nbytes[order[i]];
        if (size > (uint64_t)INT64_MAX - offset) {
            rc = pt_fail(PTUNE_E_INVALID_ARG, "%s: total tensor data size overflows", path);
            goto fail;
        }
        json_t *name_check = json_string(w->name);
        if (!name_check) {
            rc = pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor name is not valid UTF-8", path);
            goto fail;
        }
        json_decref(name_check);
        json_t *entry = json_object();
        json_t *shape = json_array();
        json_t *offs = json_array();
        bool ok = entry && shape && offs;
        ok = ok && json_object_set_new(entry, "dtype", json_string(stw_dtype_name(w->dtype))) == 0;
        for (int d = 0; ok && d < w->n_dims; d++)
            ok = json_array_append_new(shape, json_integer((json_int_t)w->shape[d])) == 0;
        ok = ok && json_array_append_new(offs, json_integer((json_int_t)offset)) == 0;
        ok = ok && json_array_append_new(offs, json_integer((json_int_t)(offset + size))) == 0;
        ok = ok && json_object_set(entry, "shape", shape) == 0;
        ok = ok && json_object_set(entry, "data_offsets", offs) == 0;
        ok = ok && json_object_set(root, w->name, entry) == 0;
        json_decref(entry);
        json_decref(shape);
        json_decref(offs);
        if (!ok) {
            rc = pt_fail(PTUNE_E_NOMEM, "%s: out of memory building header", path);
            goto fail;
        }
        offset += size;
    }

    char *text = json_dumps(root, JSON_COMPACT);
    if (!text) {
        rc = pt_fail(PTUNE_E_NOMEM, "%s: out of memory serialising header", path);
        goto fail;
    }
    size_t len = strlen(text);
    size_t padded = (len + 7) & ~(size_t)7;
    char *buf = pt_malloc(padded, "safetensors header");
    if (!buf) {
        free(text);
        rc = PTUNE_E_NOMEM;
        goto fail;
    }
    memcpy(buf, text, len);
    memset(buf + len, ' ', padded - len);
    free(text);
    json_decref(root);
    *out = buf;
    *out_len = padded;
    return PTUNE_OK;

fail:
    json_decref(root);
    return rc;
}

ptune_status pt_safetensors_write(const char *path, const pt_st_write_tensor *tensors, size_t n,
                                  const char *metadata_json)
{
    if (!path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "safetensors write: path is empty");
    if (n > 0 && !tensors)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor list is NULL", path);

    ptune_status rc = PTUNE_OK;
    size_t *order = pt_calloc(n, sizeof *order, "safetensors write order");
    uint64_t *nbytes = pt_calloc(n, sizeof *nbytes, "safetensors write sizes");
    char *header = NULL;
    size_t header_len = 0;
    pt_atomic_part *parts = NULL;
    if (!order || !nbytes) {
        rc = PTUNE_E_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        rc = stw_check_tensor(path, &tensors[i], i, &nbytes[i]);
        if (rc != PTUNE_OK) goto out;
        order[i] = i;
    }
    stw_sort_indices(tensors, order, n);
    for (size_t i = 1; i < n; i++)
        if (strcmp(tensors[order[i - 1]].name, tensors[order[i]].name) == 0) {
            rc = pt_fail(PTUNE_E_INVALID_ARG, "%s: duplicate tensor name %s", path,
                         tensors[order[i]].name);
            goto out;
        }
    rc = stw_build_header(path, tensors, order, nbytes, n, metadata_json, &header, &header_len);
    if (rc != PTUNE_OK) goto out;

    parts = pt_calloc(n + 2, sizeof *parts, "safetensors write parts");
    if (!parts) {
        rc = PTUNE_E_NOMEM;
        goto out;
    }
    unsigned char len_le[8];
    for (int b = 0; b < 8; b++) len_le[b] = (unsigned char)((uint64_t)header_len >> (8 * b));
    size_t n_parts = 0;
    parts[n_parts++] = (pt_atomic_part){len_le, sizeof len_le};
    parts[n_parts++] = (pt_atomic_part){header, header_len};
    for (size_t i = 0; i < n; i++)
        if (nbytes[order[i]] > 0)
            parts[n_parts++] = (pt_atomic_part){tensors[order[i]].data, (size_t)nbytes[order[i]]};
    rc = pt_atomic_writev(path, parts, n_parts);

out:
    free(parts);
    free(header);
    free(order);
    free(nbytes);
    return rc;
}
