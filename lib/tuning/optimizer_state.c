/* Owns saving and restoring an optimizer's whole state as one safetensors file: an I64 `state`
 * record (version, kind, shape, counters), the F32 moments, the F64 pending gradient sum. */
#include "tuning/optimizer.h"
#include "core/alloc.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "formats/safetensors_write.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* File layout (tensor names are stable; readers must ignore unknown metadata keys):
 *   state           I64 [8]  {version, kind, n_virtual, n_embd, steps, accum_count,
 *                             grad_accum_steps, has_first_moment}
 *   last_grad_norm  F64 [1]
 *   exp_avg         F32 [n_virtual, n_embd]  AdamW m, SGD momentum buffer, Adafactor beta1 moment
 *   exp_avg_sq      F32 [n_virtual, n_embd]  AdamW v
 *   exp_avg_sq_row  F32 [n_virtual]          Adafactor
 *   exp_avg_sq_col  F32 [n_embd]             Adafactor
 *   grad_accum      F64 [n_virtual, n_embd]  sum of the gradients of an unfinished accumulation
 *                                            window (only when accum_count > 0)
 * metadata: {"format": "ptune-optimizer", "format_version": "1", "kind": "<name>"}. */
#define OPT_FORMAT_NAME "ptune-optimizer"
#define OPT_FORMAT_VERSION 1
#define OPT_STATE_LEN 8

enum { ST_VERSION, ST_KIND, ST_NV, ST_NE, ST_STEPS, ST_ACCUM_COUNT, ST_ACCUM_STEPS, ST_FIRST_MOMENT };

static pt_st_write_tensor wt(const char *name, pt_dtype dtype, const void *data, int n_dims, int64_t d0, int64_t d1)
{
    pt_st_write_tensor t;
    memset(&t, 0, sizeof t);
    t.name = name;
    t.dtype = dtype;
    t.data = data;
    t.n_dims = n_dims;
    t.shape[0] = d0;
    t.shape[1] = d1;
    return t;
}

PTUNE_API ptune_status ptune_optimizer_save(const ptune_optimizer *o, const char *path)
{
    if (!o || !path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_save: optimizer and path are required");
    int64_t state[OPT_STATE_LEN] = {
        [ST_VERSION] = OPT_FORMAT_VERSION,
        [ST_KIND] = o->p.kind,
        [ST_NV] = o->n_virtual,
        [ST_NE] = o->n_embd,
        [ST_STEPS] = o->steps,
        [ST_ACCUM_COUNT] = o->accum_count,
        [ST_ACCUM_STEPS] = o->p.grad_accum_steps,
        [ST_FIRST_MOMENT] = o->first_moment ? 1 : 0,
    };
    double norm = o->last_grad_norm;
    pt_st_write_tensor t[7];
    size_t n = 0;
    t[n++] = wt("state", PT_DTYPE_I64, state, 1, OPT_STATE_LEN, 0);
    t[n++] = wt("last_grad_norm", PT_DTYPE_F64, &norm, 1, 1, 0);
    if (o->exp_avg) t[n++] = wt("exp_avg", PT_DTYPE_F32, o->exp_avg, 2, o->n_virtual, o->n_embd);
    if (o->exp_avg_sq) t[n++] = wt("exp_avg_sq", PT_DTYPE_F32, o->exp_avg_sq, 2, o->n_virtual, o->n_embd);
    if (o->row) t[n++] = wt("exp_avg_sq_row", PT_DTYPE_F32, o->row, 1, o->n_virtual, 0);
    if (o->col) t[n++] = wt("exp_avg_sq_col", PT_DTYPE_F32, o->col, 1, o->n_embd, 0);
    if (o->accum && o->accum_count > 0)
        t[n++] = wt("grad_accum", PT_DTYPE_F64, o->accum, 2, o->n_virtual, o->n_embd);
    char meta[160];
    snprintf(meta, sizeof meta, "{\"format\":\"%s\",\"format_version\":\"%d\",\"kind\":\"%s\"}", OPT_FORMAT_NAME,
             OPT_FORMAT_VERSION, pt_optimizer_kind_name(o->p.kind));
    ptune_status s = pt_safetensors_write(path, t, n, meta);
    if (s == PTUNE_E_INVALID_ARG) s = PTUNE_E_IO; /* cannot happen for the tensors above; keep the contract */
    return s;
}

/* The metadata must say this is an optimizer state file. */
static ptune_status check_metadata(const pt_safetensors *st, const char *path)
{
    if (!st->metadata_json)
        return pt_fail(PTUNE_E_FORMAT, "%s: not a libptune optimizer state (no metadata)", path);
    json_error_t err;
    json_t *root = json_loads(st->metadata_json, 0, &err);
    if (!root) return pt_fail(PTUNE_E_FORMAT, "%s: unreadable metadata: %s", path, err.text);
    const char *fmt = json_string_value(json_object_get(root, "format"));
    ptune_status s = PTUNE_OK;
    if (!fmt || strcmp(fmt, OPT_FORMAT_NAME) != 0)
        s = pt_fail(PTUNE_E_FORMAT, "%s: not a libptune optimizer state (metadata format is \"%s\", expected \"%s\")",
                    path, fmt ? fmt : "(none)", OPT_FORMAT_NAME);
    json_decref(root);
    return s;
}

/* Finds tensor `name` and checks its dtype and shape (d1 < 0: 1-D). */
static ptune_status find_tensor(const pt_safetensors *st, const char *path, const char *name, pt_dtype dtype,
                                int64_t d0, int64_t d1, const pt_tensor_view **out)
{
    const pt_tensor_view *v = pt_safetensors_find(st, name);
    if (!v) return pt_fail(PTUNE_E_FORMAT, "%s: optimizer state has no tensor \"%s\"", path, name);
    int rank = d1 < 0 ? 1 : 2;
    if (v->dtype != dtype)
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" is %s, expected %s", path, name, v->dtype_name,
                       pt_dtype_name(dtype));
    if (v->n_dims != rank || v->shape[0] != d0 || (rank == 2 && v->shape[1] != d1)) {
        if (rank == 1)
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" must have shape [%lld]", path, name, (long long)d0);
        return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" must have shape [%lld, %lld]", path, name, (long long)d0,
                       (long long)d1);
    }
    *out = v;
    return PTUNE_OK;
}

/* Copies an F32 tensor into a fresh buffer, rejecting NaN/Inf. */
static ptune_status load_f32(const pt_safetensors *st, const char *path, const char *name, int64_t d0, int64_t d1,
                             float **out)
{
    const pt_tensor_view *v = NULL;
    ptune_status s = find_tensor(st, path, name, PT_DTYPE_F32, d0, d1, &v);
    if (s) return s;
    size_t n = (size_t)v->n_elements;
    float *buf = pt_malloc_array(n, sizeof(float), "optimizer state");
    if (!buf) return PTUNE_E_NOMEM;
    memcpy(buf, v->data, n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) {
            free(buf);
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" holds NaN/Inf at element %zu", path, name, i);
        }
    *out = buf;
    return PTUNE_OK;
}

static ptune_status load_f64(const pt_safetensors *st, const char *path, const char *name, int64_t d0, int64_t d1,
                             double **out)
{
    const pt_tensor_view *v = NULL;
    ptune_status s = find_tensor(st, path, name, PT_DTYPE_F64, d0, d1, &v);
    if (s) return s;
    size_t n = (size_t)v->n_elements;
    double *buf = pt_malloc_array(n, sizeof(double), "optimizer state");
    if (!buf) return PTUNE_E_NOMEM;
    memcpy(buf, v->data, n * sizeof(double));
    for (size_t i = 0; i < n; i++)
        if (!isfinite(buf[i])) {
            free(buf);
            return pt_fail(PTUNE_E_FORMAT, "%s: tensor \"%s\" holds NaN/Inf at element %zu", path, name, i);
        }
    *out = buf;
    return PTUNE_OK;
}

/* Validates the `state` record against `o`. */
static ptune_status check_state(const ptune_optimizer *o, const char *path, const int64_t *state)
{
    if (state[ST_VERSION] != OPT_FORMAT_VERSION)
        return pt_fail(PTUNE_E_FORMAT, "%s: optimizer state format version %lld, this library reads version %d", path,
                       (long long)state[ST_VERSION], OPT_FORMAT_VERSION);
    if (state[ST_KIND] != o->p.kind) {
        const char *saved = state[ST_KIND] >= 0 && state[ST_KIND] <= 2 ? pt_optimizer_kind_name((int32_t)state[ST_KIND])
                                                                       : "unknown";
        return pt_fail(PTUNE_E_FORMAT, "%s: state of a %s optimizer (kind %lld), this optimizer is %s", path, saved,
                       (long long)state[ST_KIND], pt_optimizer_kind_name(o->p.kind));
    }
    if (state[ST_NV] != o->n_virtual || state[ST_NE] != o->n_embd)
        return pt_fail(PTUNE_E_FORMAT, "%s: state of an optimizer for a [%lld, %lld] prompt, this one is for [%d, %d]",
                       path, (long long)state[ST_NV], (long long)state[ST_NE], o->n_virtual, o->n_embd);
    if (state[ST_STEPS] < 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: negative step count %lld", path, (long long)state[ST_STEPS]);
    if (state[ST_FIRST_MOMENT] != (o->first_moment ? 1 : 0))
        return pt_fail(PTUNE_E_FORMAT, "%s: state %s a first moment (momentum/beta1) but this optimizer %s", path,
                       state[ST_FIRST_MOMENT] ? "has" : "lacks", o->first_moment ? "uses one" : "does not");
    int64_t count = state[ST_ACCUM_COUNT];
    if (count < 0 || (count > 0 && (!o->accum || count >= o->p.grad_accum_steps)))
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: state holds %lld accumulated gradient(s) of a %lld-step window; this optimizer accumulates %d",
                       path, (long long)count, (long long)state[ST_ACCUM_STEPS], o->p.grad_accum_steps);
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_optimizer_load(ptune_optimizer *o, const char *path)
{
    if (!o || !path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_optimizer_load: optimizer and path are required");
    pt_safetensors st;
    ptune_status s = pt_safetensors_open(path, &st);
    if (s) return s;

    int64_t state[OPT_STATE_LEN];
    double norm = 0.0;
    float *exp_avg = NULL, *exp_avg_sq = NULL, *row = NULL, *col = NULL;
    double *accum = NULL, *norm_buf = NULL;
    const pt_tensor_view *v = NULL;
    const int64_t nv = o->n_virtual, ne = o->n_embd;

    s = check_metadata(&st, path);
    if (!s) s = find_tensor(&st, path, "state", PT_DTYPE_I64, OPT_STATE_LEN, -1, &v);
    if (!s) {
        memcpy(state, v->data, sizeof state);
        s = check_state(o, path, state);
    }
    if (!s) s = load_f64(&st, path, "last_grad_norm", 1, -1, &norm_buf);
    if (!s) {
        norm = norm_buf[0];
        if (norm < 0.0) s = pt_fail(PTUNE_E_FORMAT, "%s: negative last_grad_norm", path);
    }
    if (!s && o->exp_avg) s = load_f32(&st, path, "exp_avg", nv, ne, &exp_avg);
    if (!s && o->exp_avg_sq) s = load_f32(&st, path, "exp_avg_sq", nv, ne, &exp_avg_sq);
    if (!s && o->row) s = load_f32(&st, path, "exp_avg_sq_row", nv, -1, &row);
    if (!s && o->col) s = load_f32(&st, path, "exp_avg_sq_col", ne, -1, &col);
    if (!s && state[ST_ACCUM_COUNT] > 0) s = load_f64(&st, path, "grad_accum", nv, ne, &accum);
    pt_safetensors_close(&st);

    if (!s) {
        /* commit: nothing of `o` changed before this point */
        size_t n = o->n;
        if (exp_avg) memcpy(o->exp_avg, exp_avg, n * sizeof(float));
        if (exp_avg_sq) memcpy(o->exp_avg_sq, exp_avg_sq, n * sizeof(float));
        if (row) memcpy(o->row, row, (size_t)nv * sizeof(float));
        if (col) memcpy(o->col, col, (size_t)ne * sizeof(float));
        if (o->accum) {
            if (accum) memcpy(o->accum, accum, n * sizeof(double));
            else memset(o->accum, 0, n * sizeof(double));
        }
        o->steps = state[ST_STEPS];
        o->accum_count = (int32_t)state[ST_ACCUM_COUNT];
        o->last_grad_norm = norm;
    }
    free(exp_avg);
    free(exp_avg_sq);
    free(row);
    free(col);
    free(accum);
    free(norm_buf);
    return s;
}
