/* Shared-fixture tests for the safetensors reader: the tiny HF models in F32/F16/BF16, the case
 * files listed by every fixture manifest, and a sweep that opens every .safetensors file. */
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/half.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "formats/tensor_view.h"

typedef struct model_spec {
    const char *name;
    size_t n_tensors;
    const char *embedding;
    int64_t hidden;
} model_spec;

static const model_spec models[] = {
    {"tiny-bloom", 53, "transformer.word_embeddings.weight", 72},
    {"tiny-gpt2", 40, "transformer.wte.weight", 64},
    {"tiny-llama", 30, "model.embed_tokens.weight", 64},
    {"tiny-qwen2", 26, "model.embed_tokens.weight", 64},
};
static const struct { const char *suffix; pt_dtype dtype; const char *dtype_name; } variants[] = {
    {"", PT_DTYPE_F32, "F32"},
    {"-f16", PT_DTYPE_F16, "F16"},
    {"-bf16", PT_DTYPE_BF16, "BF16"},
};
#define N_MODELS (sizeof models / sizeof models[0])
#define N_VARIANTS (sizeof variants / sizeof variants[0])

static void open_model(const char *name, const char *suffix, pt_safetensors *st)
{
    char rel[256];
    snprintf(rel, sizeof rel, "fixtures/models/%s%s/model.safetensors", name, suffix);
    char *path = pt_test_shared_path(rel);
    ptune_status rc = pt_safetensors_open(path, st);
    if (rc != PTUNE_OK) fail_msg("%s: %s", path, ptune_last_error());
    free(path);
}

static void test_models(void **state)
{
    (void)state;
    for (size_t m = 0; m < N_MODELS; m++) {
        for (size_t v = 0; v < N_VARIANTS; v++) {
            pt_safetensors st;
            open_model(models[m].name, variants[v].suffix, &st);
            if (st.n_tensors != models[m].n_tensors)
                fail_msg("%s: %zu tensors, expected %zu", st.file.path, st.n_tensors,
                         models[m].n_tensors);
            assert_non_null(st.metadata_json);
            assert_string_equal(st.metadata_json, "{\"format\":\"pt\"}");
            uint64_t covered = 0;
            for (size_t i = 0; i < st.n_tensors; i++) {
                const pt_tensor_view *t = &st.tensors[i];
                if (t->dtype != variants[v].dtype)
                    fail_msg("%s: tensor %s has dtype %s", st.file.path, t->name, t->dtype_name);
                assert_string_equal(t->dtype_name, variants[v].dtype_name);
                assert_true(t->n_dims >= 1 && t->n_dims <= 2);
                assert_true(t->file_offset + t->n_bytes <= st.file.size);
                assert_ptr_equal(pt_safetensors_find(&st, t->name), t);
                covered += t->n_bytes;
            }
            /* these files are written densely: the tensors cover the whole data section */
            uint64_t data_start = st.file.size;
            for (size_t i = 0; i < st.n_tensors; i++)
                if (st.tensors[i].file_offset < data_start) data_start = st.tensors[i].file_offset;
            assert_int_equal(covered, st.file.size - data_start);
            const pt_tensor_view *e = pt_safetensors_find(&st, models[m].embedding);
            if (!e) fail_msg("%s: no tensor %s", st.file.path, models[m].embedding);
            assert_int_equal(e->n_dims, 2);
            assert_int_equal(e->shape[0], 512);
            assert_int_equal(e->shape[1], models[m].hidden);
            assert_int_equal(e->n_elements, 512 * models[m].hidden);
            pt_safetensors_close(&st);
        }
    }
}

/* The F16/BF16 variants hold the F32 weights rounded to nearest even. */
static void test_half_variants_round_f32(void **state)
{
    (void)state;
    for (size_t m = 0; m < N_MODELS; m++) {
        pt_safetensors ref;
        open_model(models[m].name, "", &ref);
        for (size_t v = 1; v < N_VARIANTS; v++) {
            pt_safetensors st;
            open_model(models[m].name, variants[v].suffix, &st);
            assert_int_equal(st.n_tensors, ref.n_tensors);
            for (size_t i = 0; i < st.n_tensors; i++) {
                const pt_tensor_view *h = &st.tensors[i];
                const pt_tensor_view *r = pt_safetensors_find(&ref, h->name);
                assert_non_null(r);
                assert_int_equal(h->n_dims, r->n_dims);
                for (int d = 0; d < h->n_dims; d++) assert_int_equal(h->shape[d], r->shape[d]);
                size_t n = (size_t)h->n_elements;
                float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
                assert_true(a && b);
                assert_int_equal(pt_tensor_view_to_f32(h, st.file.path, a), PTUNE_OK);
                assert_int_equal(pt_tensor_view_to_f32(r, ref.file.path, b), PTUNE_OK);
                for (size_t k = 0; k < n; k++) {
                    float want = h->dtype == PT_DTYPE_F16 ? pt_f16_to_f32(pt_f32_to_f16(b[k]))
                                                          : pt_bf16_to_f32(pt_f32_to_bf16(b[k]));
                    if (a[k] != want)
                        fail_msg("%s: %s[%zu] = %.9g, expected %.9g (from %.9g)", st.file.path,
                                 h->name, k, (double)a[k], (double)want, (double)b[k]);
                }
                free(a);
                free(b);
            }
            pt_safetensors_close(&st);
        }
        pt_safetensors_close(&ref);
    }
}

/* Checks that `st` holds exactly the tensors a manifest case lists, with their dtypes/shapes. */
static void check_case_tensors(const pt_safetensors *st, const json_t *tensors)
{
    assert_true(json_is_object(tensors));
    assert_int_equal(st->n_tensors, json_object_size(tensors));
    const char *name;
    json_t *spec;
    json_object_foreach((json_t *)tensors, name, spec) {
        const pt_tensor_view *v = pt_safetensors_find(st, name);
        if (!v) fail_msg("%s: tensor %s listed in the manifest is missing", st->file.path, name);
        const char *dtype = json_string_value(json_object_get(spec, "dtype"));
        assert_non_null(dtype);
        if (strcmp(v->dtype_name, dtype) != 0)
            fail_msg("%s: tensor %s has dtype %s, manifest says %s", st->file.path, name,
                     v->dtype_name, dtype);
        const json_t *shape = json_object_get(spec, "shape");
        assert_true(json_is_array(shape));
        assert_int_equal(v->n_dims, json_array_size(shape));
        int64_t numel = 1;
        for (size_t d = 0; d < json_array_size(shape); d++) {
            int64_t x = (int64_t)json_integer_value(json_array_get(shape, d));
            if (v->shape[d] != x)
                fail_msg("%s: tensor %s shape[%zu] = %lld, manifest says %lld", st->file.path,
                         name, d, (long long)v->shape[d], (long long)x);
            numel *= x;
        }
        assert_int_equal(v->n_elements, numel);
    }
}

static const json_t *find_case(const pt_json_file *manifest, const char *name)
{
    const json_t *cases = json_object_get(manifest->root, "cases");
    assert_true(json_is_array(cases));
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *n = json_string_value(json_object_get(c, "name"));
        if (n && strcmp(n, name) == 0) return c;
    }
    fail_msg("%s: no case %s", manifest->path, name);
    return NULL;
}

static void test_prompt_single(void **state)
{
    (void)state;
    char *mpath = pt_test_shared_path("fixtures/tiny-llama/manifest.json");
    pt_json_file manifest;
    if (pt_json_file_load(mpath, &manifest) != PTUNE_OK) fail_msg("%s", ptune_last_error());
    const json_t *c = find_case(&manifest, "prompt_single");
    assert_string_equal(json_string_value(json_object_get(c, "file")), "prompt_single.safetensors");

    char *path = pt_test_shared_path("fixtures/tiny-llama/prompt_single.safetensors");
    pt_safetensors st;
    if (pt_safetensors_open(path, &st) != PTUNE_OK) fail_msg("%s", ptune_last_error());
    check_case_tensors(&st, json_object_get(c, "tensors"));

    const pt_tensor_view *p = pt_safetensors_find(&st, "prompt_embeddings");
    assert_non_null(p);
    assert_int_equal(p->dtype, PT_DTYPE_F32);
    assert_int_equal(p->shape[0], 5);
    assert_int_equal(p->shape[1], 64);
    const pt_tensor_view *ids = pt_safetensors_find(&st, "input_ids");
    assert_non_null(ids);
    assert_int_equal(ids->dtype, PT_DTYPE_I64);
    assert_int_equal(ids->n_elements, json_integer_value(json_object_get(c, "T")));

    /* the stored loss equals the manifest's, bit for bit */
    size_t n = 0;
    double *loss = pt_test_tensor_f64(&st, "loss_f64", &n);
    assert_int_equal(n, 1);
    assert_true(loss[0] == json_real_value(json_object_get(c, "loss_f64")));
    free(loss);
    /* full_labels = 5 virtual -100s followed by the labels */
    int32_t *full = pt_test_tensor_i32(&st, "full_labels", &n);
    size_t nl = 0;
    int32_t *labels = pt_test_tensor_i32(&st, "labels", &nl);
    assert_int_equal(n, nl + 5);
    for (size_t i = 0; i < 5; i++) assert_int_equal(full[i], -100);
    for (size_t i = 0; i < nl; i++) assert_int_equal(full[5 + i], labels[i]);
    free(full);
    free(labels);

    pt_safetensors_close(&st);
    pt_json_file_free(&manifest);
    free(path);
    free(mpath);
}

/* Every case file of every fixture manifest matches its manifest entry. */
static void test_all_manifest_cases(void **state)
{
    (void)state;
    char *root = pt_test_shared_path("fixtures");
    DIR *dir = opendir(root);
    assert_non_null(dir);
    struct dirent *e;
    int n_manifests = 0, n_cases = 0;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char mpath[4096];
        snprintf(mpath, sizeof mpath, "%s/%s/manifest.json", root, e->d_name);
        struct stat sb;
        if (stat(mpath, &sb) != 0) continue;
        pt_json_file manifest;
        if (pt_json_file_load(mpath, &manifest) != PTUNE_OK) fail_msg("%s", ptune_last_error());
        n_manifests++;
        const json_t *cases = json_object_get(manifest.root, "cases");
        assert_true(json_is_array(cases));
        for (size_t i = 0; i < json_array_size(cases); i++) {
            const json_t *c = json_array_get(cases, i);
            const char *file = json_string_value(json_object_get(c, "file"));
            assert_non_null(file);
            char path[4096];
            snprintf(path, sizeof path, "%s/%s/%s", root, e->d_name, file);
            pt_safetensors st;
            if (pt_safetensors_open(path, &st) != PTUNE_OK) fail_msg("%s", ptune_last_error());
            const json_t *bytes = json_object_get(c, "bytes");
            if (json_is_integer(bytes)) assert_int_equal(st.file.size, json_integer_value(bytes));
            check_case_tensors(&st, json_object_get(c, "tensors"));
            pt_safetensors_close(&st);
            n_cases++;
        }
        pt_json_file_free(&manifest);
    }
    closedir(dir);
    free(root);
    assert_true(n_manifests >= 12);
    assert_true(n_cases >= 50);
}

/* Recursively opens every .safetensors file under `dir`; returns how many. */
static int open_all(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0) continue;
        if (S_ISDIR(sb.st_mode)) {
            count += open_all(path);
            continue;
        }
        size_t len = strlen(e->d_name);
        if (len < 12 || strcmp(e->d_name + len - 12, ".safetensors") != 0) continue;
        pt_safetensors st;
        if (pt_safetensors_open(path, &st) != PTUNE_OK) fail_msg("%s", ptune_last_error());
        for (size_t i = 0; i < st.n_tensors; i++) {
            const pt_tensor_view *v = &st.tensors[i];
            assert_true(v->file_offset + v->n_bytes <= st.file.size);
            assert_ptr_equal(pt_safetensors_find(&st, v->name), v);
        }
        pt_safetensors_close(&st);
        count++;
    }
    closedir(d);
    return count;
}

static void test_every_fixture_file_opens(void **state)
{
    (void)state;
    char *root = pt_test_shared_path("fixtures");
    int n = open_all(root);
    free(root);
    assert_true(n >= 13);
}

static void test_peft_adapter(void **state)
{
    (void)state;
    char *path = pt_test_shared_path("fixtures/tiny-llama/peft_adapter/adapter_model.safetensors");
    pt_safetensors st;
    if (pt_safetensors_open(path, &st) != PTUNE_OK) fail_msg("%s", ptune_last_error());
    assert_int_equal(st.n_tensors, 1);
    const pt_tensor_view *p = pt_safetensors_find(&st, "prompt_embeddings");
    assert_non_null(p);
    assert_int_equal(p->dtype, PT_DTYPE_F32);
    assert_int_equal(p->n_dims, 2);
    assert_int_equal(p->shape[1], 64);
    assert_string_equal(st.metadata_json, "{\"format\":\"pt\"}");
    pt_safetensors_close(&st);
    free(path);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_models),
        cmocka_unit_test(test_half_variants_round_f32),
        cmocka_unit_test(test_prompt_single),
        cmocka_unit_test(test_all_manifest_cases),
        cmocka_unit_test(test_every_fixture_file_opens),
        cmocka_unit_test(test_peft_adapter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
