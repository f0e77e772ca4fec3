/* Shared test helpers: fixture location with skip/fail semantics, tensor readers, temp files. */
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/half.h"

#ifndef PT_SOURCE_ROOT
#error "PT_SOURCE_ROOT must be defined by the build"
#endif

const char *pt_test_shared(void)
{
    static char path[4096];
    if (path[0]) return path;
    const char *env = getenv("PTUNE_SHARED");
    if (env && env[0]) snprintf(path, sizeof path, "%s", env);
    else snprintf(path, sizeof path, "%s/../shared", PT_SOURCE_ROOT);
    struct stat st;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/fixtures", path);
    if (stat(probe, &st) != 0 || !S_ISDIR(st.st_mode)) {
        const char *ci = getenv("CI");
        if (ci && ci[0]) {
            fprintf(stderr, "shared fixtures not found at %s (CI is set: failing)\n", path);
            exit(1);
        }
        fprintf(stderr, "shared fixtures not found at %s: skipping\n", path);
        exit(PT_TEST_SKIP);
    }
    return path;
}

char *pt_test_shared_path(const char *rel)
{
    const char *root = pt_test_shared();
    size_t n = strlen(root) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", root, rel);
    return p;
}

char *pt_test_repo_path(const char *rel)
{
    size_t n = strlen(PT_SOURCE_ROOT) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", PT_SOURCE_ROOT, rel);
    return p;
}

ptune_ctx *pt_test_new_ctx(const ptune_model *m, int32_t logits)
{
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.logits = logits;
    cp.n_threads = 2;
    ptune_ctx *c = NULL;
    if (ptune_ctx_new(m, &cp, &c)) fail_msg("ptune_ctx_new: %s", ptune_last_error());
    return c;
}

/* Loads `path` (freed here) with the given weight storage, failing the test with the library's
 * message. */
static ptune_model *load_model_at(char *path, ptune_storage storage)
{
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = storage;
    ptune_model *m = NULL;
    if (ptune_model_load(path, &mp, &m)) fail_msg("%s: %s", path, ptune_last_error());
    free(path);
    return m;
}

ptune_model *pt_test_load_model(const char *rel) { return load_model_at(pt_test_shared_path(rel), PTUNE_STORAGE_F32); }

ptune_model *pt_test_load_model_storage(const char *rel, ptune_storage storage)
{
    return load_model_at(pt_test_shared_path(rel), storage);
}

ptune_model *pt_test_load_repo_model(const char *rel) { return load_model_at(pt_test_repo_path(rel), PTUNE_STORAGE_F32); }

static double *read_as_f64(const pt_tensor_view *v, size_t *n)
{
    double *out = malloc(sizeof(double) * (size_t)(v->n_elements ? v->n_elements : 1));
    assert_non_null(out);
    const unsigned char *d = v->data;
    for (int64_t i = 0; i < v->n_elements; i++) {
        switch (v->dtype) {
        case PT_DTYPE_F32: { float f; memcpy(&f, d + 4 * i, 4); out[i] = f; break; }
        case PT_DTYPE_F64: { double f; memcpy(&f, d + 8 * i, 8); out[i] = f; break; }
        case PT_DTYPE_I64: { int64_t x; memcpy(&x, d + 8 * i, 8); out[i] = (double)x; break; }
        case PT_DTYPE_I32: { int32_t x; memcpy(&x, d + 4 * i, 4); out[i] = x; break; }
        case PT_DTYPE_F16: { uint16_t h; memcpy(&h, d + 2 * i, 2); out[i] = pt_f16_to_f32(h); break; }
        case PT_DTYPE_BF16: { uint16_t h; memcpy(&h, d + 2 * i, 2); out[i] = pt_bf16_to_f32(h); break; }
        default: fail_msg("tensor %s: unexpected dtype %s", v->name, v->dtype_name);
        }
    }
    *n = (size_t)v->n_elements;
    return out;
}

double *pt_test_tensor_f64(const pt_safetensors *st, const char *name, size_t *n)
{
    const pt_tensor_view *v = pt_safetensors_find(st, name);
    if (!v) fail_msg("tensor %s missing in %s", name, st->file.path);
    return read_as_f64(v, n);
}

int32_t *pt_test_tensor_i32(const pt_safetensors *st, const char *name, size_t *n)
{
    double *d = pt_test_tensor_f64(st, name, n);
    int32_t *out = malloc(sizeof(int32_t) * (*n ? *n : 1));
    assert_non_null(out);
    for (size_t i = 0; i < *n; i++) out[i] = (int32_t)d[i];
    free(d);
    return out;
}

char *pt_test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/ptune-test-XXXXXX", base && base[0] ? base : "/tmp");
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    char *out = strdup(d);
    assert_non_null(out);
    return out;
}

void pt_test_rmtree(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) pt_test_rmtree(child);
        else unlink(child);
    }
    closedir(dir);
    rmdir(path);
}

void pt_test_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) fail_msg("cannot create %s", path);
    if (n && fwrite(data, 1, n, f) != n) fail_msg("cannot write %s", path);
    fclose(f);
}

unsigned char *pt_test_read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    if (size > 0 && fread(buf, 1, (size_t)size, f) != (size_t)size) fail_msg("cannot read %s", path);
    fclose(f);
    buf[size] = 0;
    *n = (size_t)size;
    return buf;
}

double pt_test_max_abs_diff_fd(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= m)) m = d; /* NaN propagates as the maximum */
    }
    return m;
}
