/* The weight binder: looks up every binding of an architecture in a container, checks shape
 * and dtype, lays the slots out (fp32 in one block; with native storage the matrices as row
 * bands in their file format in a second block), fills them (converting or copying, applying
 * layout transforms), rejects NaN/Inf and any tensor that would otherwise be silently ignored,
 * and tallies the tensor types. */
#include "model/weights.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/mapped_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_source(const void *a, const void *b)
{
    return strcmp(((const pt_source_tensor *)a)->view->name, ((const pt_source_tensor *)b)->view->name);
}

static pt_source_tensor *find_exact(pt_weight_source *src, const char *name)
{
    pt_tensor_view key_view = {.name = name};
    pt_source_tensor key = {.view = &key_view};
    return bsearch(&key, src->tensors, src->n, sizeof *src->tensors, cmp_source);
}

static pt_source_tensor *find_tensor(pt_weight_source *src, const char *name)
{
    if (!src->prefixes) return find_exact(src, name);
    char full[512];
    for (const char *const *p = src->prefixes; *p; p++) {
        snprintf(full, sizeof full, "%s%s", *p, name);
        pt_source_tensor *t = find_exact(src, full);
        if (t) return t;
    }
    return NULL;
}

static bool slot_is_matrix(pt_slot s)
{
    return s == PT_SLOT_TOK_EMBD || s == PT_SLOT_POS_EMBD || s == PT_SLOT_OUTPUT || s == PT_SLOT_QKV ||
           s == PT_SLOT_ATTN_OUT || s == PT_SLOT_FFN_UP || s == PT_SLOT_FFN_DOWN;
}

/* Rows [*row0, *row0 + *n) of the internal slot that a binding's part fills. */
static void part_rows(const pt_arch_desc *a, const pt_hparams *h, pt_slot slot, pt_part part, int64_t total,
                      int64_t *row0, int64_t *n)
{
    const int64_t q = pt_hp_q_dim(h), kv = pt_hp_kv_dim(h), F = h->n_ff;
    (void)slot;
    switch (part) {
    case PT_PART_Q: *row0 = 0; *n = q; break;
    case PT_PART_K: *row0 = q; *n = kv; break;
    case PT_PART_V: *row0 = q + kv; *n = kv; break;
    case PT_PART_GATE: *row0 = 0; *n = F; break;
    case PT_PART_UP: *row0 = a->ffn == PT_FFN_SWIGLU ? F : 0; *n = F; break;
    default: *row0 = 0; *n = total; break;
    }
}

static bool binding_required(const pt_binding *b, const pt_hparams *h)
{
    switch (b->need) {
    case PT_NEED_ALWAYS: return true;
    case PT_NEED_IF_UNTIED: return !h->tied;
    case PT_NEED_IF_ATTN_BIAS: return h->attn_bias;
    case PT_NEED_IF_MLP_BIAS: return h->mlp_bias;
    default: return false;
    }
}

typedef enum bind_mode {
    BIND_CHECK, /* presence, shape and dtype only: nothing is marked, planned or written */
    BIND_PLAN,  /* native storage: each matrix part found becomes a row band of its dtype */
    BIND_LOAD,  /* convert or copy into the laid-out slots */
} bind_mode;

typedef struct bind_state {
    struct ptune_model *m;
    pt_weight_source *src;
    float *scratch;           /* largest transformed tensor converted to fp32 */
    size_t scratch_floats;
    float *check;             /* native storage: PT_CONVERT_SLICE floats for the NaN/Inf check */
    uint32_t dtype_seen;      /* bit per pt_dtype among matrices */
} bind_state;

static void format_shape(char *buf, size_t cap, const int64_t *shape, int n)
{
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "[");
    for (int i = 0; i < n && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (off < cap) snprintf(buf + off, cap - off, "]");
}

static ptune_status check_shape(const pt_source_tensor *t, bool matrix, bool transposed, int64_t rows, int64_t cols,
                                pt_slot slot, int layer)
{
    int64_t want[2];
    int want_dims = matrix ? 2 : 1;
    if (matrix) {
        want[0] = transposed ? cols : rows;
        want[1] = transposed ? rows : cols;
    } else {
        want[0] = rows;
    }
    const pt_tensor_view *v = t->view;
    bool ok = v->n_dims == want_dims;
    for (int i = 0; ok && i < want_dims; i++) ok = v->shape[i] == want[i];
    if (ok) return PTUNE_OK;
    char got_s[96], want_s[96], where[48] = "";
    format_shape(got_s, sizeof got_s, v->shape, v->n_dims);
    format_shape(want_s, sizeof want_s, want, want_dims);
    if (layer >= 0) snprintf(where, sizeof where, " of layer %d", layer);
    return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" has shape %s, expected %s (%s%s)", t->file, v->name, got_s,
                   want_s, pt_slot_name(slot), where);
}

/* x holds elements [first, first + n) of tensor t */
static ptune_status check_finite(const pt_source_tensor *t, const float *x, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return pt_fail(PTUNE_E_NUMERIC, "%s: tensor \"%s\" contains %s at element %zu", t->file, t->view->name,
                           isnan(x[i]) ? "NaN" : "Inf", first + i);
    return PTUNE_OK;
}

#define PT_CONVERT_SLICE ((size_t)1 << 22) /* elements converted before their source pages are released */

/* Walks a file tensor PT_CONVERT_SLICE elements at a time: converts each slice to fp32 (into
 * f32 + e0 when `whole`, else into f32 itself, a one-slice buffer) and rejects NaN/Inf; with
 * `copy`, also copies the slice's file bytes to the same offset there; with `release`, then drops
 * the slice's source pages — at no point does the process hold a tensor's file bytes and its
 * copy entirely. */
static ptune_status walk_slices(const pt_source_tensor *t, float *f32, bool whole, unsigned char *copy, bool release)
{
    const pt_tensor_view *v = t->view;
    size_t need; /* PT_CONVERT_SLICE is a whole number of blocks of every format */
    if (!pt_dtype_is_weight(v->dtype) || !v->data || v->n_elements <= 0 ||
        !pt_dtype_bytes(v->dtype, (size_t)v->n_elements, &need) || need > v->n_bytes)
        return pt_tensor_view_to_f32(v, t->file, f32); /* reports the problem (or converts nothing) */
    ptune_status s;
    const size_t n = (size_t)v->n_elements;
    const unsigned char *src = v->data;
    for (size_t e0 = 0; e0 < n; e0 += PT_CONVERT_SLICE) {
        const size_t k = n - e0 < PT_CONVERT_SLICE ? n - e0 : PT_CONVERT_SLICE;
        size_t skip, bytes;
        pt_dtype_bytes(v->dtype, e0, &skip);
        pt_dtype_bytes(v->dtype, k, &bytes);
        float *dst = whole ? f32 + e0 : f32;
        pt_dtype_to_f32(v->dtype, src + skip, k, dst);
        if ((s = check_finite(t, dst, e0, k))) return s;
        if (copy) memcpy(copy + skip, src + skip, bytes);
        if (release) pt_mapped_release(src + skip, bytes);
    }
    return PTUNE_OK;
}

/* Converts a whole tensor into dst, releasing its source pages slice by slice. */
static ptune_status convert_released(const pt_source_tensor *t, float *dst)
{
    return walk_slices(t, dst, true, NULL, true);
}

/* Row layout transforms, for any row size: src holds the tensor as the file stores it (n rows
 * of row_bytes, or for a transpose cols rows of n elements of esize bytes), dst the slot's rows. */
static void transform_rows(const pt_hparams *h, pt_transform xf, unsigned char *dst, const unsigned char *src,
                           int64_t n, int64_t cols, size_t row_bytes, size_t esize)
{
    switch (xf) {
    case PT_XF_TRANSPOSE: /* src [cols, n] → dst [n, cols] */
        for (int64_t c = 0; c < cols; c++)
            for (int64_t r = 0; r < n; r++)
                memcpy(dst + ((size_t)r * (size_t)cols + (size_t)c) * esize, src + ((size_t)c * (size_t)n + (size_t)r) * esize,
                       esize);
        break;
    case PT_XF_BLOOM_QKV: { /* src rows (head, q|k|v, d) → dst rows (q|k|v, head, d) */
        const int64_t hd = h->head_dim, nh = h->n_head, H = nh * hd;
        for (int64_t head = 0; head < nh; head++)
            for (int64_t p = 0; p < 3; p++)
                for (int64_t d = 0; d < hd; d++)
                    memcpy(dst + (size_t)(p * H + head * hd + d) * row_bytes,
                           src + (size_t)(head * 3 * hd + p * hd + d) * row_bytes, row_bytes);
        break;
    }
    case PT_XF_ROPE_INTERLEAVED: { /* per head: src row 2i + j → dst row j * hd/2 + i */
        const int64_t hd = h->head_dim, half = hd / 2;
        for (int64_t head = 0; head < n / hd; head++)
            for (int64_t i = 0; i < half; i++)
                for (int64_t j = 0; j < 2; j++)
                    memcpy(dst + (size_t)(head * hd + j * half + i) * row_bytes,
                           src + (size_t)(head * hd + 2 * i + j) * row_bytes, row_bytes);
        break;
    }
    default: memcpy(dst, src, (size_t)n * row_bytes); break;
    }
}

/* Converts one file tensor into rows [row0, row0 + n) of an fp32 slot with `cols` columns. */
static ptune_status load_f32(bind_state *st, const pt_source_tensor *t, const pt_binding *b, float *dst, int64_t n,
                             int64_t cols)
{
    ptune_status s;
    if (b->transform == PT_XF_NONE) return convert_released(t, dst);
    if ((s = convert_released(t, st->scratch))) return s;
    transform_rows(&st->m->hp, b->transform, (unsigned char *)dst, (const unsigned char *)st->scratch, n, cols,
                   sizeof(float) * (size_t)cols, sizeof(float));
    return PTUNE_OK;
}

/* Native storage: copies one file tensor's bytes into its row band, after checking every value
 * (converted a slice at a time into st->check) for NaN/Inf. Untransformed tensors are copied
 * slice by slice, releasing each slice's source pages; transformed ones (row permutations, a
 * transpose of 16/32-bit elements) are checked first and moved whole. */
static ptune_status load_native(bind_state *st, const pt_source_tensor *t, const pt_binding *b, unsigned char *dst,
                                int64_t rows, int64_t cols, size_t row_bytes)
{
    const bool plain = b->transform == PT_XF_NONE;
    ptune_status s = walk_slices(t, st->check, false, plain ? dst : NULL, plain);
    if (s || plain) return s;
    const pt_tensor_view *v = t->view;
    transform_rows(&st->m->hp, b->transform, dst, v->data, rows, cols, row_bytes, pt_dtype_size(v->dtype));
    pt_mapped_release(v->data, v->n_bytes);
    return PTUNE_OK;
}

static pt_wmat *slot_mat(struct ptune_model *m, pt_slot s, int layer)
{
    return layer >= 0 ? &m->layers[layer].slot[s - PT_SLOT_N_GLOBAL] : &m->global[s];
}

/* Matrices that native storage keeps in their file format: the ones products read. Learned
 * position rows are added to embeddings, norms and biases are vectors: those stay fp32. */
static bool slot_is_product_matrix(pt_slot s)
{
    return slot_is_matrix(s) && s != PT_SLOT_POS_EMBD;
}

/* A file tensor keeps its format with native storage unless a transpose would have to cut
 * through quantized blocks (HF GPT-2's Conv1D weights are never quantized; fp32 then). */
static bool keeps_native(const struct ptune_model *m, const pt_binding *b, const pt_tensor_view *v)
{
    return m->storage_kind == PTUNE_STORAGE_NATIVE && slot_is_product_matrix(b->slot) &&
           (b->transform != PT_XF_TRANSPOSE || pt_dtype_block(v->dtype) == 1);
}

static bool in_f32_storage(const struct ptune_model *m, const void *p)
{
    const float *f = p;
    return m->storage && f >= m->storage && f < m->storage + m->storage_floats;
}

/* Adds the band [row0, row0 + n) of dtype t to w, keeping the bands ordered by row. */
static void plan_band(pt_wmat *w, int64_t row0, int64_t n, int64_t cols, pt_dtype t)
{
    if (w->n_bands == PT_WMAT_MAX_BANDS) { /* cannot happen with today's bindings; fp32 then (-1) */
        w->n_bands = -1;
        return;
    }
    if (w->n_bands < 0) return;
    size_t row_bytes = 0;
    if (!pt_dtype_bytes(t, (size_t)cols, &row_bytes)) { /* rows not whole blocks (GGUF rules it out) */
        w->n_bands = -1;
        return;
    }
    int i = w->n_bands++;
    while (i > 0 && w->band[i - 1].row0 > row0) {
        w->band[i] = w->band[i - 1];
        i--;
    }
    w->band[i] = (pt_wband){.row0 = row0, .rows = n, .dtype = t, .row_bytes = row_bytes};
}

/* The native band of w holding row `row` (NULL for an fp32 slot). */
static const pt_wband *band_at(const struct ptune_model *m, const pt_wmat *w, int64_t row)
{
    for (int i = 0; i < w->n_bands; i++)
        if (row >= w->band[i].row0 && row < w->band[i].row0 + w->band[i].rows && !in_f32_storage(m, w->band[i].data))
            return &w->band[i];
    return NULL;
}

static void count_type(struct ptune_model *m, const pt_tensor_view *v, size_t resident)
{
    int i = 0;
    while (i < m->n_types && m->types[i].dtype != v->dtype) i++;
    if (i == m->n_types) {
        if (m->n_types == (int32_t)(sizeof m->types / sizeof m->types[0])) return;
        m->types[m->n_types++] = (pt_weight_type_stats){.dtype = v->dtype};
    }
    size_t file_bytes = v->n_bytes;
    pt_dtype_bytes(v->dtype, (size_t)v->n_elements, &file_bytes);
    m->types[i].n_tensors++;
    m->types[i].file_bytes += (int64_t)file_bytes;
    m->types[i].resident_bytes += (int64_t)resident;
}

static ptune_status bind_one(bind_state *st, const pt_binding *b, int layer, bind_mode mode)
{
    struct ptune_model *m = st->m;
    const pt_arch_desc *a = m->arch;
    const pt_hparams *h = &m->hp;
    char name[256];
    if (layer >= 0) snprintf(name, sizeof name, b->name, layer);
    else snprintf(name, sizeof name, "%s", b->name);
    pt_source_tensor *t = find_tensor(st->src, name);
    int64_t rows, cols;
    bool exists = pt_slot_shape(a, h, b->slot, &rows, &cols);
    if (!exists) {
        /* a tied head stored anyway (GPT-2/BLOOM checkpoints, older GGUF converters) */
        if (t && b->slot == PT_SLOT_OUTPUT && mode == BIND_LOAD) t->used = true;
        return PTUNE_OK; /* anything else present stays unused and is reported later */
    }
    if (!t) {
        if (binding_required(b, h)) {
            char tried[512] = "";
            size_t off = 0;
            for (const char *const *p = st->src->prefixes; p && *p && off < sizeof tried; p++)
                off += (size_t)snprintf(tried + off, sizeof tried - off, "%s\"%s%s\"", off ? " or " : " (looked for ", *p, name);
            if (off && off < sizeof tried) snprintf(tried + off, sizeof tried - off, ")");
            return pt_fail(PTUNE_E_FORMAT, "%s: missing tensor \"%s\", the %s%s", st->src->origin, name,
                           pt_slot_name(b->slot), tried);
        }
        return PTUNE_OK; /* optional: the slot stays zero (e.g. an absent bias) */
    }
    int64_t row0, n;
    part_rows(a, h, b->slot, b->part, rows, &row0, &n);
    bool matrix = slot_is_matrix(b->slot);
    if (mode == BIND_CHECK) {
        ptune_status s = check_shape(t, matrix, b->transform == PT_XF_TRANSPOSE, n, cols, b->slot, layer);
        if (s) return s;
        if (!pt_dtype_is_weight(t->view->dtype))
            return pt_fail(PTUNE_E_UNSUPPORTED,
                           "%s: tensor \"%s\" has dtype %s; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
                           "Q4_K, Q5_K, Q6_K",
                           t->file, name, t->view->dtype_name);
        /* only transformed tensors bound as fp32 pass through the scratch buffer */
        if (b->transform != PT_XF_NONE && !keeps_native(m, b, t->view) &&
            (size_t)t->view->n_elements > st->scratch_floats)
            st->scratch_floats = (size_t)t->view->n_elements;
        return PTUNE_OK;
    }
    if (mode == BIND_PLAN) {
        if (keeps_native(m, b, t->view)) plan_band(slot_mat(m, b->slot, layer), row0, n, cols, t->view->dtype);
        return PTUNE_OK;
    }
    if (t->used) return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" bound twice", t->file, name);
    t->used = true;
    if (matrix && b->slot != PT_SLOT_POS_EMBD) st->dtype_seen |= 1u << t->view->dtype; /* GGUF keeps positions F32 */
    const pt_wmat *w = slot_mat(m, b->slot, layer);
    const pt_wband *band = band_at(m, w, row0);
    count_type(m, t->view, band ? (size_t)n * band->row_bytes : sizeof(float) * (size_t)t->view->n_elements);
    if (band)
        return load_native(st, t, b, (unsigned char *)band->data + (size_t)(row0 - band->row0) * band->row_bytes, n, cols,
                           band->row_bytes);
    float *base = (float *)(void *)w->band[0].data;
    return load_f32(st, t, b, base + row0 * cols, n, cols);
}

/* Every binding, per layer where the slot is per layer. */
static ptune_status bind_all(bind_state *st, const pt_binding *bindings, bind_mode mode)
{
    ptune_status s = PTUNE_OK;
    for (const pt_binding *b = bindings; b->name && !s; b++) {
        if (b->slot < PT_SLOT_N_GLOBAL) s = bind_one(st, b, -1, mode);
        else
            for (int l = 0; l < st->m->hp.n_layer && !s; l++) s = bind_one(st, b, l, mode);
    }
    return s;
}

/* Native bands that tile the matrix: merged where neighbours share a dtype (they will be laid
 * out back to back), or false when the plan does not cover the rows (fp32 then). */
static bool finish_bands(pt_wmat *w)
{
    if (w->n_bands <= 0) return false;
    int k = 0;
    for (int i = 1; i < w->n_bands; i++) {
        if (w->band[i].dtype == w->band[k].dtype) w->band[k].rows += w->band[i].rows;
        else w->band[++k] = w->band[i];
    }
    w->n_bands = k + 1;
    int64_t next = 0;
    for (int i = 0; i < w->n_bands; i++) {
        if (w->band[i].row0 != next) return false;
        next += w->band[i].rows;
    }
    return next == w->rows;
}

#define PT_BAND_ALIGN 64

static size_t band_span(const pt_wband *b)
{
    return ((size_t)b->rows * b->row_bytes + PT_BAND_ALIGN - 1) / PT_BAND_ALIGN * PT_BAND_ALIGN;
}

typedef struct layout_acc {
    size_t floats, bytes;
    int64_t n_params;
    bool assign; /* second visit: give the bands their addresses */
} layout_acc;

/* One existing slot: first visit sizes it (native bands, or fp32), second places it. */
static void layout_slot(struct ptune_model *m, pt_wmat *w, int64_t rows, int64_t cols, layout_acc *acc)
{
    if (!acc->assign) {
        w->rows = rows;
        w->cols = cols;
        if (!finish_bands(w)) w->n_bands = 0;
        acc->n_params += rows * cols;
    }
    if (w->n_bands > 0) {
        for (int i = 0; i < w->n_bands; i++) {
            if (acc->assign) w->band[i].data = m->native + acc->bytes;
            acc->bytes += band_span(&w->band[i]);
        }
        return;
    }
    if (acc->assign)
        *w = (pt_wmat){.rows = rows, .cols = cols, .n_bands = 1,
                       .band[0] = {.rows = rows, .dtype = PT_DTYPE_F32, .row_bytes = sizeof(float) * (size_t)cols,
                                   .data = (const unsigned char *)(m->storage + acc->floats)}};
    acc->floats += (size_t)(rows * cols);
}

static void layout_pass(struct ptune_model *m, layout_acc *acc)
{
    for (int s = 0; s < PT_SLOT_COUNT; s++) {
        const bool global = s < PT_SLOT_N_GLOBAL;
        for (int l = 0; l < (global ? 1 : m->hp.n_layer); l++) {
            int64_t rows, cols;
            if (pt_slot_shape(m->arch, &m->hp, (pt_slot)s, &rows, &cols))
                layout_slot(m, slot_mat(m, (pt_slot)s, global ? -1 : l), rows, cols, acc);
        }
    }
}

/* Shapes every existing slot, allocates the fp32 block (zeroed: an absent optional bias stays
 * zero) and the native block, and gives every band its address. */
static ptune_status layout_storage(struct ptune_model *m)
{
    layout_acc acc = {0};
    layout_pass(m, &acc);
    m->storage = pt_malloc_aligned((acc.floats ? acc.floats : 1) * sizeof(float), "model weights");
    if (!m->storage) return PTUNE_E_NOMEM;
    memset(m->storage, 0, acc.floats * sizeof(float));
    m->storage_floats = acc.floats;
    if (acc.bytes) {
        m->native = pt_malloc_aligned(acc.bytes, "model weights (native storage)");
        if (!m->native) return PTUNE_E_NOMEM;
        m->native_bytes = acc.bytes;
    }
    m->n_params = acc.n_params;
    acc = (layout_acc){.assign = true};
    layout_pass(m, &acc);
    if (m->hp.tied) m->global[PT_SLOT_OUTPUT] = m->global[PT_SLOT_TOK_EMBD];
    return PTUNE_OK;
}

static void set_file_dtype(struct ptune_model *m, uint32_t seen)
{
    const char *name = "mixed"; /* several types among the matrices, as in a Q4_K_M file */
    for (int t = 0; t <= PT_DTYPE_OTHER; t++)
        if (seen == (1u << t)) name = pt_dtype_name((pt_dtype)t);
    snprintf(m->file_dtype, sizeof m->file_dtype, "%s", name);
}

static bool is_ignored(const pt_weight_source *src, const char *name)
{
    size_t n = strlen(name);
    for (const char *const *s = src->ignored; s && *s; s++) {
        size_t k = strlen(*s);
        /* whole components only: "attn.bias" must not swallow "h.3.attn.c_attn.bias" */
        if (n >= k && !strcmp(name + n - k, *s) && (n == k || name[n - k - 1] == '.')) return true;
    }
    return false;
}

ptune_status pt_weights_bind(struct ptune_model *m, pt_weight_source *src, const pt_binding *bindings)
{
    qsort(src->tensors, src->n, sizeof *src->tensors, cmp_source);
    for (size_t i = 1; i < src->n; i++)
        if (!strcmp(src->tensors[i].view->name, src->tensors[i - 1].view->name))
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" appears twice (also in %s)", src->tensors[i].file,
                           src->tensors[i].view->name, src->tensors[i - 1].file);
    /* Check every binding against the file before allocating storage sized by the
     * hyper-parameters, so a config claiming a huge vocabulary or layer count fails fast as a
     * missing tensor or a shape mismatch instead of allocating (and clearing) that much. */
    bind_state st = {.m = m, .src = src};
    ptune_status s = bind_all(&st, bindings, BIND_CHECK);
    if (s) return s;
    m->layers = pt_calloc((size_t)m->hp.n_layer, sizeof *m->layers, "layer table");
    if (!m->layers) return PTUNE_E_NOMEM;
    if (m->storage_kind == PTUNE_STORAGE_NATIVE) s = bind_all(&st, bindings, BIND_PLAN);
    if (!s) s = layout_storage(m);
    if (s) return s;
    st.scratch = pt_malloc_array(st.scratch_floats ? st.scratch_floats : 1, sizeof(float), "weight conversion scratch");
    if (m->native) st.check = pt_malloc_array(PT_CONVERT_SLICE, sizeof(float), "weight check scratch");
    if (!st.scratch || (m->native && !st.check)) s = PTUNE_E_NOMEM;
    if (!s) s = bind_all(&st, bindings, BIND_LOAD);
    free(st.scratch);
    free(st.check);
    if (s) return s;

    for (size_t i = 0; i < src->n; i++) {
        const pt_source_tensor *t = &src->tensors[i];
        if (t->used || is_ignored(src, t->view->name)) continue;
        return pt_fail(PTUNE_E_UNSUPPORTED,
                       "%s: tensor \"%s\" is not used by the %s architecture with this configuration; "
                       "refusing to ignore weights silently",
                       t->file, t->view->name, m->arch->name);
    }
    set_file_dtype(m, st.dtype_seen);
    return PTUNE_OK;
}
