/* Owns the dtype table shared by the weight readers (names, element sizes) and the conversion
 * of weight tensor views to float (F32/F16/BF16 here, ggml block formats through ggml_blocks.c),
 * tolerant of unaligned data inside a mapping. */
#include "formats/tensor_view.h"
#include "core/error.h"
#include "formats/ggml_blocks.h"
#include "core/half.h"

#include <string.h>

const char *pt_dtype_name(pt_dtype t)
{
    switch (t) {
    case PT_DTYPE_F32: return "F32";
    case PT_DTYPE_F16: return "F16";
    case PT_DTYPE_BF16: return "BF16";
    case PT_DTYPE_F64: return "F64";
    case PT_DTYPE_I64: return "I64";
    case PT_DTYPE_I32: return "I32";
    case PT_DTYPE_OTHER: return "OTHER";
    default: break;
    }
    const pt_block_format *f = pt_block_format_of(t);
    return f ? f->name : "UNKNOWN";
}

size_t pt_dtype_size(pt_dtype t)
{
    switch (t) {
    case PT_DTYPE_F32: return 4;
    case PT_DTYPE_F16: return 2;
    case PT_DTYPE_BF16: return 2;
    case PT_DTYPE_F64: return 8;
    case PT_DTYPE_I64: return 8;
    case PT_DTYPE_I32: return 4;
    default: return 0;
    }
}

bool pt_dtype_is_weight(pt_dtype t)
{
    return t == PT_DTYPE_F32 || t == PT_DTYPE_F16 || t == PT_DTYPE_BF16 || pt_block_format_of(t) != NULL;
}

size_t pt_dtype_block(pt_dtype t)
{
    const pt_block_format *f = pt_block_format_of(t);
    return f ? f->block : 1;
}

bool pt_dtype_bytes(pt_dtype t, size_t n, size_t *bytes)
{
    const pt_block_format *f = pt_block_format_of(t);
    size_t unit = f ? f->bytes : pt_dtype_size(t), block = f ? f->block : 1;
    if (unit == 0 || n % block != 0 || n / block > SIZE_MAX / unit) return false;
    *bytes = n / block * unit;
    return true;
}

void pt_dtype_to_f32(pt_dtype t, const void *src, size_t n, float *dst)
{
    switch (t) {
    case PT_DTYPE_F32: memcpy(dst, src, n * sizeof(float)); break;
    case PT_DTYPE_F16: pt_f16_row_to_f32(src, n, dst); break;
    case PT_DTYPE_BF16: pt_bf16_row_to_f32(src, n, dst); break;
    default: {
        const pt_block_format *f = pt_block_format_of(t);
        if (f) f->to_f32(src, n / f->block, dst);
        break;
    }
    }
}

ptune_status pt_tensor_view_to_f32(const pt_tensor_view *v, const char *file, float *dst)
{
    const char *fname = file ? file : "(unknown file)";
    if (!v) return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor view is NULL", fname);
    const char *tname = v->name ? v->name : "(unnamed)";
    if (!pt_dtype_is_weight(v->dtype)) {
        const char *dn = v->dtype_name ? v->dtype_name : pt_dtype_name(v->dtype);
        return pt_fail(PTUNE_E_UNSUPPORTED,
                       "%s: tensor %s has dtype %s; the supported weight types are F32, F16, BF16, Q8_0, Q4_0, "
                       "Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K",
                       fname, tname, dn);
    }
    if (v->n_elements < 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s has a negative element count", fname,
                       tname);
    size_t n = (size_t)v->n_elements, need;
    if (!pt_dtype_bytes(v->dtype, n, &need) || need > v->n_bytes)
        return pt_fail(PTUNE_E_INVALID_ARG,
                       "%s: tensor %s: %lld elements of %s do not fit in its %zu bytes", fname,
                       tname, (long long)v->n_elements, pt_dtype_name(v->dtype), v->n_bytes);
    if (n == 0) return PTUNE_OK;
    if (!dst || !v->data)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: tensor %s: NULL data or destination", fname,
                       tname);

    pt_dtype_to_f32(v->dtype, v->data, n, dst);
    return PTUNE_OK;
}
