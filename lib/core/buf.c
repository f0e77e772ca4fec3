/* Growable byte buffer and int32 vector (geometric growth, checked allocation). */
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

static ptune_status grow(void **data, size_t *cap, size_t need, size_t elem, const char *what)
{
    if (need <= *cap) return PTUNE_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) return pt_fail(PTUNE_E_NOMEM, "%s too large (%zu elements)", what, need);
        n *= 2;
    }
    void *p = pt_realloc(*data, n * elem, "buf buffer");
    if (!p) return pt_fail(PTUNE_E_NOMEM, "out of memory growing %s to %zu bytes", what, n * elem);
    *data = p;
    *cap = n;
    return PTUNE_OK;
}

ptune_status pt_buf_reserve(pt_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1) return pt_fail(PTUNE_E_NOMEM, "text buffer too large");
    return grow((void **)&b->data, &b->cap, b->len + extra + 1, 1, "text buffer");
}

ptune_status pt_buf_append(pt_buf *b, const void *data, size_t len)
{
    ptune_status s = pt_buf_reserve(b, len);
    if (s) return s;
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return PTUNE_OK;
}

ptune_status pt_buf_append_char(pt_buf *b, char c) { return pt_buf_append(b, &c, 1); }

void pt_buf_free(pt_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

ptune_status pt_ids_push(pt_ids *v, int32_t id) { return pt_ids_append(v, &id, 1); }

ptune_status pt_ids_append(pt_ids *v, const int32_t *ids, size_t n)
{
    if (n > SIZE_MAX / sizeof(int32_t) - v->len) return pt_fail(PTUNE_E_NOMEM, "id vector too large");
    ptune_status s = grow((void **)&v->data, &v->cap, v->len + n, sizeof(int32_t), "id vector");
    if (s) return s;
    if (n) memcpy(v->data + v->len, ids, n * sizeof(int32_t));
    v->len += n;
    return PTUNE_OK;
}

void pt_ids_free(pt_ids *v)
{
    free(v->data);
    v->data = NULL;
    v->len = v->cap = 0;
}
