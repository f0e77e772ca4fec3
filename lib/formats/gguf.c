/* GGUF v2/v3 reader: owns parsing and validation of the header, metadata key/values and tensor
 * infos of a memory-mapped GGUF file, the tensor views into it and the typed metadata getters. */
#include "formats/gguf.h"
#include "formats/ggml_blocks.h"
#include "core/alloc.h"
#include "core/error.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_DEFAULT_ALIGNMENT 32u
/* Smallest possible encodings, used to reject counts that cannot fit in the file before
 * anything is allocated: a kv is key length (8) + 1 key byte + value type (4) + 1 value byte;
 * a tensor info is name length (8) + 1 name byte + n_dims (4) + one ne (8) + type (4) + offset (8). */
#define GGUF_MIN_KV_BYTES 14u
#define GGUF_MIN_TENSOR_BYTES 33u

/* ------------------------------------------------------------------------------------------ */
/* ggml tensor types                                                                           */

const char *pt_ggml_type_name(uint32_t ggml_type)
{
    static const char *const names[] = {
        "F32", "F16", "Q4_0", "Q4_1", NULL, NULL, "Q5_0", "Q5_1", "Q8_0", "Q8_1",
        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
        "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M",
        "BF16", NULL, NULL, NULL, "TQ1_0", "TQ2_0", NULL, NULL, NULL, "MXFP4",
    };
    if (ggml_type < sizeof names / sizeof names[0] && names[ggml_type]) return names[ggml_type];
    return "unknown";
}

static const char *gguf_type_name(uint32_t t)
{
    static const char *const names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return t < sizeof names / sizeof names[0] ? names[t] : "invalid";
}

/* Size in bytes of a fixed-size value type; 0 for STRING, ARRAY and invalid types. */
static uint32_t gguf_scalar_size(uint32_t t)
{
    switch (t) {
    case PT_GGUF_UINT8: case PT_GGUF_INT8: case PT_GGUF_BOOL: return 1;
    case PT_GGUF_UINT16: case PT_GGUF_INT16: return 2;
    case PT_GGUF_UINT32: case PT_GGUF_INT32: case PT_GGUF_FLOAT32: return 4;
    case PT_GGUF_UINT64: case PT_GGUF_INT64: case PT_GGUF_FLOAT64: return 8;
    default: return 0;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Bounds-checked little-endian reader                                                         */

typedef struct reader {
    const unsigned char *data;
    uint64_t size;
    uint64_t pos;
    const char *path;
    char ctx[192]; /* "key 'x'" / "tensor 'y'": what is being parsed, for messages */
} reader;

static void set_ctx(reader *r, const char *kind, const char *name)
{
    snprintf(r->ctx, sizeof r->ctx, "%s '%s'", kind, name);
}

static uint64_t remaining(const reader *r) { return r->size - r->pos; }

static ptune_status need(reader *r, uint64_t n, const char *what)
{
    if (n <= remaining(r)) return PTUNE_OK;
    return pt_fail(PTUNE_E_FORMAT,
                   "%s: truncated at offset %" PRIu64 " reading %s%s%s (%" PRIu64
                   " bytes needed, %" PRIu64 " left)",
                   r->path, r->pos, what, r->ctx[0] ? " of " : "", r->ctx, n, remaining(r));
}

static uint64_t load_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static ptune_status rd_uint(reader *r, unsigned n, const char *what, uint64_t *out)
{
    ptune_status s = need(r, n, what);
    if (s) return s;
    *out = load_le(r->data + r->pos, n);
    r->pos += n;
    return PTUNE_OK;
}

static ptune_status rd_u32(reader *r, const char *what, uint32_t *out)
{
    uint64_t v;
    ptune_status s = rd_uint(r, 4, what, &v);
    if (!s) *out = (uint32_t)v;
    return s;
}

static ptune_status rd_u64(reader *r, const char *what, uint64_t *out)
{
    return rd_uint(r, 8, what, out);
}

/* Reads a GGUF string (u64 length + bytes) as a view into the mapping. */
static ptune_status rd_str(reader *r, const char *what, pt_gguf_str *out)
{
    char buf[96];
    snprintf(buf, sizeof buf, "the length of %s", what);
    uint64_t len;
    ptune_status s = rd_u64(r, buf, &len);
    if (s) return s;
    if (len > remaining(r))
        return pt_fail(PTUNE_E_FORMAT, "%s: truncated at offset %" PRIu64 " reading %s%s%s: a "
                       "string of %" PRIu64 " bytes, %" PRIu64 " left", r->path, r->pos, what,
                       r->ctx[0] ? " of " : "", r->ctx, len, remaining(r));
    out->ptr = (const char *)(r->data + r->pos);
    out->len = len;
    r->pos += len;
    return PTUNE_OK;
}

static bool valid_utf8(const unsigned char *s, uint64_t n)
{
    uint64_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        unsigned len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) { len = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { len = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i < len) return false;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += len;
    }
    return true;
}

/* Validates a key or tensor name (non-empty, no NUL, UTF-8) and copies it. */
static ptune_status copy_name(reader *r, const pt_gguf_str *s, uint64_t at, const char *what,
                              uint64_t index, char **out)
{
    if (s->len == 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: %s #%" PRIu64 " at offset %" PRIu64 " is empty",
                       r->path, what, index, at);
    if (memchr(s->ptr, '\0', (size_t)s->len))
        return pt_fail(PTUNE_E_FORMAT, "%s: %s #%" PRIu64 " at offset %" PRIu64
                       " contains a NUL byte", r->path, what, index, at);
    if (!valid_utf8((const unsigned char *)s->ptr, s->len))
        return pt_fail(PTUNE_E_FORMAT, "%s: %s #%" PRIu64 " at offset %" PRIu64
                       " is not valid UTF-8", r->path, what, index, at);
    char *c = pt_malloc((size_t)s->len + 1, what);
    if (!c) return PTUNE_E_NOMEM;
    memcpy(c, s->ptr, (size_t)s->len);
    c[s->len] = '\0';
    *out = c;
    return PTUNE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Metadata                                                                                   */

static ptune_status parse_scalar(reader *r, pt_gguf_kv *kv, uint32_t type)
{
    uint32_t n = gguf_scalar_size(type);
    uint64_t at = r->pos;
    uint64_t raw;
    ptune_status s = rd_uint(r, n, "the value", &raw);
    if (s) return s;
    switch (type) {
    case PT_GGUF_UINT8: case PT_GGUF_UINT16: case PT_GGUF_UINT32: case PT_GGUF_UINT64:
        kv->v.u = raw;
        break;
    case PT_GGUF_INT8: kv->v.i = (int8_t)(uint8_t)raw; break;
    case PT_GGUF_INT16: kv->v.i = (int16_t)(uint16_t)raw; break;
    case PT_GGUF_INT32: kv->v.i = (int32_t)(uint32_t)raw; break;
    case PT_GGUF_INT64: {
        int64_t v;
        memcpy(&v, &raw, sizeof v);
        kv->v.i = v;
        break;
    }
    case PT_GGUF_FLOAT32: {
        uint32_t b = (uint32_t)raw;
        float f;
        memcpy(&f, &b, sizeof f);
        kv->v.f = f;
        break;
    }
    case PT_GGUF_FLOAT64: {
        double d;
        memcpy(&d, &raw, sizeof d);
        kv->v.f = d;
        break;
    }
    case PT_GGUF_BOOL:
        if (raw > 1)
            return pt_fail(PTUNE_E_FORMAT, "%s: key '%s': invalid bool value %" PRIu64
                           " at offset %" PRIu64 " (expected 0 or 1)", r->path, kv->key, raw, at);
        kv->v.u = raw;
        break;
    default:
        break;
    }
    return PTUNE_OK;
}

static ptune_status parse_array(reader *r, pt_gguf_kv *kv)
{
    uint64_t at = r->pos;
    uint32_t elem;
    ptune_status s = rd_u32(r, "the array element type", &elem);
    if (s) return s;
    if (elem == PT_GGUF_ARRAY)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: key '%s': nested arrays (element type array at "
                       "offset %" PRIu64 ") are not supported", r->path, kv->key, at);
    if (elem > PT_GGUF_FLOAT64)
        return pt_fail(PTUNE_E_FORMAT, "%s: key '%s': invalid array element type %" PRIu32
                       " at offset %" PRIu64, r->path, kv->key, elem, at);
    kv->v.arr.elem_type = (pt_gguf_type)elem;
    uint64_t count_at = r->pos;
    uint64_t count;
    s = rd_u64(r, "the array length", &count);
    if (s) return s;
    kv->v.arr.count = count;
    kv->v.arr.data = r->data + r->pos;

    if (elem != PT_GGUF_STRING) {
        uint32_t esz = gguf_scalar_size(elem);
        if (count > remaining(r) / esz)
            return pt_fail(PTUNE_E_FORMAT, "%s: truncated at offset %" PRIu64 " reading key '%s': "
                           "array of %" PRIu64 " %s elements (length at offset %" PRIu64 ") needs "
                           "more than the %" PRIu64 " bytes left", r->path, r->pos, kv->key, count,
                           gguf_type_name(elem), count_at, remaining(r));
        if (elem == PT_GGUF_BOOL) {
            for (uint64_t i = 0; i < count; i++) {
                unsigned char b = r->data[r->pos + i];
                if (b > 1)
                    return pt_fail(PTUNE_E_FORMAT, "%s: key '%s': invalid bool value %u in element "
                                   "%" PRIu64 " at offset %" PRIu64 " (expected 0 or 1)", r->path,
                                   kv->key, b, i, r->pos + i);
            }
        }
        r->pos += count * esz;
        return PTUNE_OK;
    }

    /* Each string needs at least its 8-byte length. */
    if (count > remaining(r) / 8)
        return pt_fail(PTUNE_E_FORMAT, "%s: truncated at offset %" PRIu64 " reading key '%s': "
                       "array of %" PRIu64 " strings (length at offset %" PRIu64 ") cannot fit in "
                       "the %" PRIu64 " bytes left", r->path, r->pos, kv->key, count, count_at,
                       remaining(r));
    if (count == 0) return PTUNE_OK;
    kv->v.arr.strings = pt_malloc_array((size_t)count, sizeof(pt_gguf_str), "GGUF string array index");
    if (!kv->v.arr.strings) return PTUNE_E_NOMEM;
    for (uint64_t i = 0; i < count; i++) {
        char what[64];
        snprintf(what, sizeof what, "string %" PRIu64 " of %" PRIu64, i, count);
        s = rd_str(r, what, &kv->v.arr.strings[i]);
        if (s) return s;
    }
    return PTUNE_OK;
}

typedef struct name_ref {
    const char *name;
    uint64_t index;
} name_ref;

static int cmp_name_ref(const void *a, const void *b)
{
    const name_ref *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static ptune_status parse_kvs(reader *r, pt_gguf *g, uint64_t n_kv)
{
    if (n_kv > remaining(r) / GGUF_MIN_KV_BYTES)
        return pt_fail(PTUNE_E_FORMAT, "%s: kv count %" PRIu64 " at offset 16 cannot fit in the "
                       "%" PRIu64 " bytes left after the header (truncated or corrupt)", r->path,
                       n_kv, remaining(r));
    if (n_kv == 0) return PTUNE_OK;
    g->kv = pt_calloc((size_t)n_kv, sizeof *g->kv, "GGUF metadata");
    if (!g->kv) return PTUNE_E_NOMEM;
    g->n_kv = n_kv;

    for (uint64_t i = 0; i < n_kv; i++) {
        pt_gguf_kv *kv = &g->kv[i];
        kv->offset = r->pos;
        char what[64];
        snprintf(what, sizeof what, "the key of kv #%" PRIu64, i);
        r->ctx[0] = '\0';
        pt_gguf_str key;
        ptune_status s = rd_str(r, what, &key);
        if (s) return s;
        s = copy_name(r, &key, kv->offset, "key of kv", i, &kv->key);
        if (s) return s;
        set_ctx(r, "key", kv->key);
        uint64_t type_at = r->pos;
        uint32_t type;
        s = rd_u32(r, "the value type", &type);
        if (s) return s;
        if (type > PT_GGUF_FLOAT64)
            return pt_fail(PTUNE_E_FORMAT, "%s: key '%s': invalid value type %" PRIu32
                           " at offset %" PRIu64, r->path, kv->key, type, type_at);
        kv->type = (pt_gguf_type)type;
        if (type == PT_GGUF_STRING) s = rd_str(r, "the string value", &kv->v.s);
        else if (type == PT_GGUF_ARRAY) s = parse_array(r, kv);
        else s = parse_scalar(r, kv, type);
        if (s) return s;
    }
    r->ctx[0] = '\0';

    /* Duplicate keys: sort (key, index) pairs and compare neighbours. */
    name_ref *refs = pt_malloc_array((size_t)n_kv, sizeof *refs, "GGUF key index");
    if (!refs) return PTUNE_E_NOMEM;
    for (uint64_t i = 0; i < n_kv; i++) refs[i] = (name_ref){g->kv[i].key, i};
    qsort(refs, (size_t)n_kv, sizeof *refs, cmp_name_ref);
    for (uint64_t i = 1; i < n_kv; i++) {
        if (strcmp(refs[i - 1].name, refs[i].name) == 0) {
            const pt_gguf_kv *first = &g->kv[refs[i - 1].index], *dup = &g->kv[refs[i].index];
            ptune_status s = pt_fail(PTUNE_E_FORMAT, "%s: duplicate key '%s' at offset %" PRIu64
                                     " (first at offset %" PRIu64 ")", r->path, dup->key,
                                     dup->offset, first->offset);
            free(refs);
            return s;
        }
    }
    free(refs);
    return PTUNE_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Tensor infos                                                                                */

static ptune_status parse_tensor_info(reader *r, pt_gguf *g, uint64_t i, uint64_t *info_at)
{
    pt_gguf_tensor *t = &g->tensors[i];
    uint64_t at = r->pos;
    *info_at = at;
    char what[64];
    snprintf(what, sizeof what, "the name of tensor #%" PRIu64, i);
    r->ctx[0] = '\0';
    pt_gguf_str name;
    ptune_status s = rd_str(r, what, &name);
    if (s) return s;
    s = copy_name(r, &name, at, "name of tensor", i, &t->name);
    if (s) return s;
    set_ctx(r, "tensor", t->name);

    uint32_t n_dims;
    s = rd_u32(r, "n_dims", &n_dims);
    if (s) return s;
    if (n_dims < 1 || n_dims > PT_MAX_DIMS)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 "): n_dims %"
                       PRIu32 " is out of range 1..%d", r->path, t->name, at, n_dims, PT_MAX_DIMS);
    int64_t n_el = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < PT_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t ne_at = r->pos;
        s = rd_u64(r, "a dimension (ne)", &t->ne[d]);
        if (s) return s;
        if (t->ne[d] == 0)
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s': dimension ne[%" PRIu32 "] at offset %"
                           PRIu64 " is 0", r->path, t->name, d, ne_at);
        if (t->ne[d] > (uint64_t)INT64_MAX ||
            __builtin_mul_overflow(n_el, (int64_t)t->ne[d], &n_el))
            overflow = true;
    }
    if (overflow) {
        char dims[128];
        int len = 0;
        for (uint32_t d = 0; d < n_dims && len < (int)sizeof dims; d++)
            len += snprintf(dims + len, sizeof dims - (size_t)len, "%s%" PRIu64, d ? ", " : "",
                            t->ne[d]);
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 "): shape "
                       "product overflows (ne = [%s])", r->path, t->name, at, dims);
    }

    uint64_t type_at = r->pos;
    s = rd_u32(r, "the ggml type", &t->ggml_type);
    if (s) return s;
    const pt_block_format *tr = pt_ggml_type_of(t->ggml_type);
    if (!tr)
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: tensor '%s' has ggml type %" PRIu32 " (%s) at "
                       "offset %" PRIu64 ", which this reader cannot size", r->path, t->name,
                       t->ggml_type, pt_ggml_type_name(t->ggml_type), type_at);
    if (t->ne[0] % tr->block != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 "): row size "
                       "ne[0] = %" PRIu64 " is not a multiple of the %s block size %" PRIu32,
                       r->path, t->name, at, t->ne[0], pt_ggml_type_name(t->ggml_type), tr->block);
    uint64_t n_bytes;
    if (__builtin_mul_overflow((uint64_t)n_el / tr->block, (uint64_t)tr->bytes, &n_bytes) ||
        n_bytes > SIZE_MAX)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 "): byte size "
                       "of %" PRId64 " %s elements overflows", r->path, t->name, at, n_el,
                       pt_ggml_type_name(t->ggml_type));

    uint64_t off_at = r->pos;
    uint64_t offset;
    s = rd_u64(r, "the data offset", &offset);
    if (s) return s;
    if (offset % g->alignment != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s': data offset %" PRIu64 " (at offset %"
                       PRIu64 ") is not a multiple of the alignment %" PRIu32, r->path, t->name,
                       offset, off_at, g->alignment);

    pt_tensor_view *v = &t->view;
    v->name = t->name;
    v->dtype = tr->dtype;
    v->dtype_name = pt_ggml_type_name(t->ggml_type);
    v->n_dims = (int)n_dims;
    for (uint32_t d = 0; d < n_dims; d++) v->shape[d] = (int64_t)t->ne[n_dims - 1 - d];
    v->n_elements = n_el;
    v->n_bytes = (size_t)n_bytes;
    v->file_offset = offset; /* relative for now; made absolute once the data section is known */
    return PTUNE_OK;
}

typedef struct span_ref {
    uint64_t start, end;
    uint64_t index;
} span_ref;

static int cmp_span_ref(const void *a, const void *b)
{
    const span_ref *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static ptune_status check_tensors(reader *r, pt_gguf *g, const uint64_t *info_at)
{
    uint64_t n = g->n_tensors;
    for (uint64_t i = 0; i < n; i++) {
        pt_gguf_tensor *t = &g->tensors[i];
        uint64_t rel = t->view.file_offset, start, end;
        if (__builtin_add_overflow(g->data_offset, rel, &start) ||
            __builtin_add_overflow(start, (uint64_t)t->view.n_bytes, &end))
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 "): data "
                           "offset %" PRIu64 " + %zu bytes past end of file (size %" PRIu64 ")",
                           r->path, t->name, info_at[i], rel, t->view.n_bytes, r->size);
        if (end > r->size)
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor '%s' (info at offset %" PRIu64 ") data [%"
                           PRIu64 ", %" PRIu64 ") past end of file (size %" PRIu64 ")", r->path,
                           t->name, info_at[i], start, end, r->size);
        t->view.file_offset = start;
        t->view.data = r->data + start;
    }
    if (n == 0) return PTUNE_OK;

    name_ref *names = pt_malloc_array((size_t)n, sizeof *names, "GGUF tensor name index");
    if (!names) return PTUNE_E_NOMEM;
    for (uint64_t i = 0; i < n; i++) names[i] = (name_ref){g->tensors[i].name, i};
    qsort(names, (size_t)n, sizeof *names, cmp_name_ref);
    for (uint64_t i = 1; i < n; i++) {
        if (strcmp(names[i - 1].name, names[i].name) == 0) {
            uint64_t a = names[i - 1].index, b = names[i].index;
            ptune_status s = pt_fail(PTUNE_E_FORMAT, "%s: duplicate tensor '%s' (info at offset %"
                                     PRIu64 ", first at offset %" PRIu64 ")", r->path,
                                     g->tensors[b].name, info_at[b], info_at[a]);
            free(names);
            return s;
        }
    }
    free(names);

    span_ref *spans = pt_malloc_array((size_t)n, sizeof *spans, "GGUF tensor span index");
    if (!spans) return PTUNE_E_NOMEM;
    for (uint64_t i = 0; i < n; i++) {
        const pt_tensor_view *v = &g->tensors[i].view;
        spans[i] = (span_ref){v->file_offset, v->file_offset + v->n_bytes, i};
    }
    qsort(spans, (size_t)n, sizeof *spans, cmp_span_ref);
    for (uint64_t i = 1; i < n; i++) {
        if (spans[i].start < spans[i - 1].end) {
            const span_ref *a = &spans[i - 1], *b = &spans[i];
            ptune_status s = pt_fail(PTUNE_E_FORMAT, "%s: tensors '%s' data [%" PRIu64 ", %" PRIu64
                                     ") and '%s' data [%" PRIu64 ", %" PRIu64 ") overlap", r->path,
                                     g->tensors[a->index].name, a->start, a->end,
                                     g->tensors[b->index].name, b->start, b->end);
            free(spans);
            return s;
        }
    }
    free(spans);
    return PTUNE_OK;
}

static ptune_status parse_alignment(reader *r, pt_gguf *g)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const pt_gguf_kv *kv = pt_gguf_find_kv(g, "general.alignment");
    if (!kv) return PTUNE_OK;
    if (kv->type != PT_GGUF_UINT32)
        return pt_fail(PTUNE_E_FORMAT, "%s: key 'general.alignment' at offset %" PRIu64
                       " has type %s, expected u32", r->path, kv->offset, gguf_type_name(kv->type));
    uint64_t a = kv->v.u;
    if (a == 0 || (a & (a - 1)) != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: key 'general.alignment' at offset %" PRIu64
                       ": alignment %" PRIu64 " is not a nonzero power of two", r->path,
                       kv->offset, a);
    g->alignment = (uint32_t)a;
    return PTUNE_OK;
}

static ptune_status parse(pt_gguf *g)
{
    reader r = {.data = g->file.data, .size = g->file.size, .pos = 0, .path = g->file.path};
    r.ctx[0] = '\0';
    if (r.size == 0) return pt_fail(PTUNE_E_FORMAT, "%s: empty file, expected a GGUF header", r.path);

    ptune_status s = need(&r, 4, "the magic");
    if (s) return s;
    if (memcmp(r.data, "GGUF", 4) != 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: not a GGUF file: magic at offset 0 is %02x %02x %02x "
                       "%02x, expected 47 47 55 46 (\"GGUF\")", r.path, r.data[0], r.data[1],
                       r.data[2], r.data[3]);
    r.pos = 4;
    s = rd_u32(&r, "the version", &g->version);
    if (s) return s;
    if (g->version != 2 && g->version != 3) {
        uint32_t v = g->version;
        uint32_t swapped = (v >> 24) | ((v >> 8) & 0xff00u) | ((v & 0xff00u) << 8) |
                           ((v & 0xffu) << 24);
        if ((v & 0xffffu) == 0 && swapped >= 1 && swapped <= 3)
            return pt_fail(PTUNE_E_UNSUPPORTED, "%s: big-endian GGUF (version field at offset 4 "
                           "reads 0x%08" PRIx32 ", byte-swapped %" PRIu32 ") is not supported",
                           r.path, v, swapped);
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: GGUF version %" PRIu32 " at offset 4 is not "
                       "supported (only versions 2 and 3)", r.path, v);
    }
    uint64_t n_tensors, n_kv;
    s = rd_u64(&r, "the tensor count", &n_tensors);
    if (s) return s;
    s = rd_u64(&r, "the kv count", &n_kv);
    if (s) return s;

    s = parse_kvs(&r, g, n_kv);
    if (s) return s;
    s = parse_alignment(&r, g);
    if (s) return s;

    if (n_tensors > remaining(&r) / GGUF_MIN_TENSOR_BYTES)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor count %" PRIu64 " at offset 8 cannot fit in the "
                       "%" PRIu64 " bytes left after the metadata (offset %" PRIu64 "; truncated "
                       "or corrupt)", r.path,
                       n_tensors, remaining(&r), r.pos);
    uint64_t *info_at = NULL;
    if (n_tensors > 0) {
        g->tensors = pt_calloc((size_t)n_tensors, sizeof *g->tensors, "GGUF tensor infos");
        if (!g->tensors) return PTUNE_E_NOMEM;
        g->n_tensors = n_tensors;
        info_at = pt_malloc_array((size_t)n_tensors, sizeof *info_at, "GGUF tensor info offsets");
        if (!info_at) return PTUNE_E_NOMEM;
    }
    for (uint64_t i = 0; i < n_tensors && !s; i++) s = parse_tensor_info(&r, g, i, &info_at[i]);
    r.ctx[0] = '\0';
    if (!s) {
        uint64_t pad = (g->alignment - r.pos % g->alignment) % g->alignment;
        g->data_offset = r.pos + pad;
        s = check_tensors(&r, g, info_at);
    }
    free(info_at);
    return s;
}

/* ------------------------------------------------------------------------------------------ */
/* Public entry points                                                                         */

ptune_status pt_gguf_open(const char *path, pt_gguf *out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_gguf_open: output struct is NULL");
    memset(out, 0, sizeof *out);
    if (!path) return pt_fail(PTUNE_E_INVALID_ARG, "pt_gguf_open: path is NULL");
    pt_gguf g;
    memset(&g, 0, sizeof g);
    ptune_status s = pt_mapped_file_open(path, &g.file);
    if (s) return s;
    s = parse(&g);
    if (s) {
        pt_gguf_close(&g);
        return s;
    }
    *out = g;
    return PTUNE_OK;
}

void pt_gguf_close(pt_gguf *g)
{
    if (!g) return;
    if (g->kv) {
        for (uint64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            if (g->kv[i].type == PT_GGUF_ARRAY) free(g->kv[i].v.arr.strings);
        }
        free(g->kv);
    }
    if (g->tensors) {
        for (uint64_t i = 0; i < g->n_tensors; i++) free(g->tensors[i].name);
        free(g->tensors);
    }
    pt_mapped_file_close(&g->file);
    memset(g, 0, sizeof *g);
}

const pt_gguf_kv *pt_gguf_find_kv(const pt_gguf *g, const char *key)
{
    if (!g || !key || !g->kv) return NULL;
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (g->kv[i].key && strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const pt_gguf_tensor *pt_gguf_find_tensor(const pt_gguf *g, const char *name)
{
    if (!g || !name || !g->tensors) return NULL;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].name && strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

static ptune_status getter_lookup(const pt_gguf *g, const char *key, const void *out,
                                  const char *fn, const pt_gguf_kv **kv)
{
    if (!g || !key || !out)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: NULL %s", fn, !g ? "file" : !key ? "key" : "output");
    *kv = pt_gguf_find_kv(g, key);
    return *kv ? PTUNE_OK : PTUNE_E_STATE; /* absence is not an error message */
}

static ptune_status wrong_type(const pt_gguf *g, const pt_gguf_kv *kv, const char *expected)
{
    return pt_fail(PTUNE_E_FORMAT, "%s: key '%s' at offset %" PRIu64 " has type %s, expected %s",
                   g->file.path, kv->key, kv->offset, gguf_type_name(kv->type), expected);
}

ptune_status pt_gguf_get_u32(const pt_gguf *g, const char *key, uint32_t *out)
{
    const pt_gguf_kv *kv = NULL;
    ptune_status s = getter_lookup(g, key, out, "pt_gguf_get_u32", &kv);
    if (s) return s;
    switch (kv->type) {
    case PT_GGUF_UINT8: case PT_GGUF_UINT16: case PT_GGUF_UINT32: case PT_GGUF_UINT64:
        if (kv->v.u > UINT32_MAX)
            return pt_fail(PTUNE_E_FORMAT, "%s: key '%s' at offset %" PRIu64 ": value %" PRIu64
                           " does not fit in a u32", g->file.path, kv->key, kv->offset, kv->v.u);
        *out = (uint32_t)kv->v.u;
        return PTUNE_OK;
    case PT_GGUF_INT8: case PT_GGUF_INT16: case PT_GGUF_INT32: case PT_GGUF_INT64:
        if (kv->v.i < 0 || kv->v.i > (int64_t)UINT32_MAX)
            return pt_fail(PTUNE_E_FORMAT, "%s: key '%s' at offset %" PRIu64 ": value %" PRId64
                           " does not fit in a u32", g->file.path, kv->key, kv->offset, kv->v.i);
        *out = (uint32_t)kv->v.i;
        return PTUNE_OK;
    default:
        return wrong_type(g, kv, "an integer");
    }
}

ptune_status pt_gguf_get_f32(const pt_gguf *g, const char *key, float *out)
{
    const pt_gguf_kv *kv = NULL;
    ptune_status s = getter_lookup(g, key, out, "pt_gguf_get_f32", &kv);
    if (s) return s;
    if (kv->type != PT_GGUF_FLOAT32 && kv->type != PT_GGUF_FLOAT64)
        return wrong_type(g, kv, "f32 or f64");
    double v = kv->v.f;
    if (isfinite(v) && fabs(v) > FLT_MAX)
        return pt_fail(PTUNE_E_FORMAT, "%s: key '%s' at offset %" PRIu64 ": value %g does not "
                       "fit in a float", g->file.path, kv->key, kv->offset, v);
    *out = (float)v;
    return PTUNE_OK;
}

ptune_status pt_gguf_get_bool(const pt_gguf *g, const char *key, bool *out)
{
    const pt_gguf_kv *kv = NULL;
    ptune_status s = getter_lookup(g, key, out, "pt_gguf_get_bool", &kv);
    if (s) return s;
    if (kv->type != PT_GGUF_BOOL) return wrong_type(g, kv, "bool");
    *out = kv->v.u != 0;
    return PTUNE_OK;
}

ptune_status pt_gguf_get_str(const pt_gguf *g, const char *key, char **out)
{
    const pt_gguf_kv *kv = NULL;
    ptune_status s = getter_lookup(g, key, out, "pt_gguf_get_str", &kv);
    if (s) return s;
    if (kv->type != PT_GGUF_STRING) return wrong_type(g, kv, "string");
    if (kv->v.s.len && memchr(kv->v.s.ptr, '\0', (size_t)kv->v.s.len))
        return pt_fail(PTUNE_E_FORMAT, "%s: key '%s' at offset %" PRIu64 ": string value contains "
                       "a NUL byte", g->file.path, kv->key, kv->offset);
    char *c = pt_malloc((size_t)kv->v.s.len + 1, "GGUF string value");
    if (!c) return PTUNE_E_NOMEM;
    if (kv->v.s.len) memcpy(c, kv->v.s.ptr, (size_t)kv->v.s.len);
    c[kv->v.s.len] = '\0';
    *out = c;
    return PTUNE_OK;
}
