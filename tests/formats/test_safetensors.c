/* Unit tests for the safetensors reader and writer, tensor views (F16/BF16 -> F32) and the
 * Hugging Face JSON getters, on files built in a temporary directory. */
#include "test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/half.h"
#include "formats/hf_config.h"
#include "formats/safetensors.h"
#include "formats/safetensors_write.h"
#include "formats/tensor_view.h"

static char *g_dir;

static int group_setup(void **state)
{
    (void)state;
    g_dir = pt_test_tmpdir();
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pt_test_rmtree(g_dir);
    free(g_dir);
    g_dir = NULL;
    return 0;
}

/* Returns a malloc'd "<tmpdir>/<name>". */
static char *tpath(const char *name)
{
    size_t n = strlen(g_dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", g_dir, name);
    return p;
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes a hand-made file: `declared` as the header length, the header text, then `data_len`
 * bytes 0, 1, 2, ... Returns the malloc'd path. */
static char *write_raw_declared(const char *name, uint64_t declared, const char *header,
                                size_t data_len)
{
    size_t hl = strlen(header);
    size_t total = 8 + hl + data_len;
    unsigned char *buf = malloc(total);
    assert_non_null(buf);
    put_le64(buf, declared);
    memcpy(buf + 8, header, hl);
    for (size_t i = 0; i < data_len; i++) buf[8 + hl + i] = (unsigned char)i;
    char *path = tpath(name);
    pt_test_write_file(path, buf, total);
    free(buf);
    return path;
}

static char *write_raw(const char *name, const char *header, size_t data_len)
{
    return write_raw_declared(name, strlen(header), header, data_len);
}

static void assert_error_contains(const char *needle)
{
    const char *err = ptune_last_error();
    if (!strstr(err, needle)) fail_msg("last error \"%s\" does not contain \"%s\"", err, needle);
}

static void expect_open_fail(const char *path, ptune_status want, const char *needle)
{
    pt_safetensors st, zero;
    memset(&st, 0xA5, sizeof st);
    memset(&zero, 0, sizeof zero);
    pt_error_clear();
    ptune_status rc = pt_safetensors_open(path, &st);
    if (rc != want)
        fail_msg("%s: status %d (%s), expected %d; error: %s", path, rc, ptune_status_str(rc), want,
                 ptune_last_error());
    assert_error_contains(needle);
    assert_memory_equal(&st, &zero, sizeof st);
    pt_safetensors_close(&st);
}

/* Opens a hand-made header with `data_len` bytes of data and expects failure. */
static void expect_header_fail(const char *header, size_t data_len, ptune_status want,
                               const char *needle)
{
    char *path = write_raw("hostile.safetensors", header, data_len);
    expect_open_fail(path, want, needle);
    assert_error_contains(path);
    free(path);
}

static int count_temp_files(void)
{
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* ------------------------------------------------------------------------------------------
 * Writer and round trip
 * ---------------------------------------------------------------------------------------- */

static void test_roundtrip(void **state)
{
    (void)state;
    float f32[6] = {0.0f, 1.5f, -3.0f, 4.5f, 1e-30f, -7.25f};
    uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
    uint16_t bf16[4] = {0x3F80, 0x4049, 0xBF80, 0x0000};
    int64_t i64[3] = {-1, 0, (int64_t)1 << 40};
    double f64 = 2.5;
    int32_t i32[2] = {7, -9};
    pt_st_write_tensor t[] = {
        {"b.f32", PT_DTYPE_F32, 2, {2, 3}, f32},
        {"a.f16", PT_DTYPE_F16, 1, {4}, f16},
        {"c.bf16", PT_DTYPE_BF16, 2, {2, 2}, bf16},
        {"d.i64", PT_DTYPE_I64, 1, {3}, i64},
        {"e.scalar", PT_DTYPE_F64, 0, {0}, &f64},
        {"f.empty", PT_DTYPE_F32, 2, {0, 4}, NULL},
        {"g.i32", PT_DTYPE_I32, 4, {1, 1, 2, 1}, i32},
    };
    const size_t nt = sizeof t / sizeof t[0];
    char *path = tpath("roundtrip.safetensors");
    assert_int_equal(pt_safetensors_write(path, t, nt, "{\"zeta\":\"z\",\"format\":\"pt\"}"),
                     PTUNE_OK);
    assert_int_equal(count_temp_files(), 0);

    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.n_tensors, nt);
    assert_non_null(st.metadata_json);
    assert_string_equal(st.metadata_json, "{\"format\":\"pt\",\"zeta\":\"z\"}");
    assert_string_equal(st.file.path, path);
    for (size_t i = 1; i < st.n_tensors; i++)
        assert_true(strcmp(st.tensors[i - 1].name, st.tensors[i].name) < 0);

    static const pt_dtype want_dtype[] = {PT_DTYPE_F32, PT_DTYPE_F16, PT_DTYPE_BF16, PT_DTYPE_I64,
                                          PT_DTYPE_F64, PT_DTYPE_F32, PT_DTYPE_I32};
    static const char *const want_name[] = {"F32", "F16", "BF16", "I64", "F64", "F32", "I32"};
    static const int64_t want_numel[] = {6, 4, 4, 3, 1, 0, 2};
    for (size_t i = 0; i < nt; i++) {
        const pt_tensor_view *v = pt_safetensors_find(&st, t[i].name);
        assert_non_null(v);
        assert_string_equal(v->name, t[i].name);
        assert_int_equal(v->dtype, want_dtype[i]);
        assert_string_equal(v->dtype_name, want_name[i]);
        assert_int_equal(v->n_dims, t[i].n_dims);
        for (int d = 0; d < v->n_dims; d++) assert_int_equal(v->shape[d], t[i].shape[d]);
        assert_int_equal(v->n_elements, want_numel[i]);
        assert_int_equal(v->n_bytes, (size_t)want_numel[i] * pt_dtype_size(want_dtype[i]));
        assert_int_equal(v->file_offset, (uint64_t)((const unsigned char *)v->data - st.file.data));
        assert_true(v->file_offset + v->n_bytes <= st.file.size);
        if (v->n_bytes) assert_memory_equal(v->data, t[i].data, v->n_bytes);
    }

    /* Data is laid out in name order, contiguously, right after the padded header. */
    uint64_t header_len = 0;
    for (int b = 7; b >= 0; b--) header_len = (header_len << 8) | st.file.data[b];
    assert_int_equal(header_len % 8, 0);
    uint64_t expect_offset = 8 + header_len;
    for (size_t i = 0; i < st.n_tensors; i++) {
        assert_int_equal(st.tensors[i].file_offset, expect_offset);
        expect_offset += st.tensors[i].n_bytes;
    }
    assert_int_equal(expect_offset, st.file.size);
    const char *prefix = "{\"__metadata__\":{\"format\":\"pt\",\"zeta\":\"z\"},\"a.f16\":{\"dtype\":"
                         "\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},";
    assert_memory_equal(st.file.data + 8, prefix, strlen(prefix));

    /* The F16 values convert exactly. */
    float out[4];
    assert_int_equal(pt_tensor_view_to_f32(pt_safetensors_find(&st, "a.f16"), path, out),
                     PTUNE_OK);
    assert_true(out[0] == 1.0f && out[1] == -2.0f && out[2] == 5.9604644775390625e-08f &&
                out[3] == 65504.0f);
    float of[6];
    assert_int_equal(pt_tensor_view_to_f32(pt_safetensors_find(&st, "b.f32"), path, of), PTUNE_OK);
    assert_memory_equal(of, f32, sizeof f32);

    pt_safetensors_close(&st);
    free(path);
}

/* Byte-exact agreement with the reference implementation's own serialisation tests. */
static void check_file_bytes(const char *path, const unsigned char *want, size_t n)
{
    size_t got_n = 0;
    unsigned char *got = pt_test_read_file(path, &got_n);
    assert_int_equal(got_n, n);
    assert_memory_equal(got, want, n);
    free(got);
}

static void test_write_reference_layout(void **state)
{
    (void)state;
    char *path = tpath("ref.safetensors");
    float data[6] = {0, 1, 2, 3, 4, 5};

    /* {"attn.0": F32 [1,2,3]}: a 64-byte header needing no padding */
    pt_st_write_tensor a = {"attn.0", PT_DTYPE_F32, 3, {1, 2, 3}, data};
    assert_int_equal(pt_safetensors_write(path, &a, 1, NULL), PTUNE_OK);
    const char *h1 = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    unsigned char want[128];
    assert_int_equal(strlen(h1), 64);
    put_le64(want, 64);
    memcpy(want + 8, h1, 64);
    memcpy(want + 72, data, 24);
    check_file_bytes(path, want, 96);

    /* {"attn0": F32 [1,1,2,3]}: header padded with 7 spaces to 72 bytes */
    pt_st_write_tensor b = {"attn0", PT_DTYPE_F32, 4, {1, 1, 2, 3}, data};
    assert_int_equal(pt_safetensors_write(path, &b, 1, NULL), PTUNE_OK);
    const char *h2 = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}"
                     "       ";
    assert_int_equal(strlen(h2), 72);
    put_le64(want, 72);
    memcpy(want + 8, h2, 72);
    memcpy(want + 80, data, 24);
    check_file_bytes(path, want, 104);

    /* no tensors: "{}" + 6 spaces */
    assert_int_equal(pt_safetensors_write(path, NULL, 0, NULL), PTUNE_OK);
    put_le64(want, 8);
    memcpy(want + 8, "{}      ", 8);
    check_file_bytes(path, want, 16);

    /* no tensors, metadata only */
    assert_int_equal(pt_safetensors_write(path, NULL, 0, "{\"framework\":\"pt\"}"), PTUNE_OK);
    const char *h3 = "{\"__metadata__\":{\"framework\":\"pt\"}}     ";
    assert_int_equal(strlen(h3), 40);
    put_le64(want, 40);
    memcpy(want + 8, h3, 40);
    check_file_bytes(path, want, 48);

    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.n_tensors, 0);
    assert_null(pt_safetensors_find(&st, "attn0"));
    assert_string_equal(st.metadata_json, "{\"framework\":\"pt\"}");
    pt_safetensors_close(&st);
    free(path);
}

static void test_write_no_metadata(void **state)
{
    (void)state;
    char *path = tpath("nometa.safetensors");
    uint16_t v[3] = {1, 2, 3};
    pt_st_write_tensor t = {"x", PT_DTYPE_BF16, 1, {3}, v};
    assert_int_equal(pt_safetensors_write(path, &t, 1, NULL), PTUNE_OK);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_null(st.metadata_json);
    assert_int_equal(st.n_tensors, 1);
    /* an odd-sized tensor still yields a padded header */
    assert_int_equal((st.tensors[0].file_offset - 8) % 8, 0);
    pt_safetensors_close(&st);

    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);
    free(path);
}

static void test_write_replaces_atomically(void **state)
{
    (void)state;
    char *path = tpath("replace.safetensors");
    float a[2] = {1, 2}, b[3] = {3, 4, 5};
    pt_st_write_tensor ta = {"w", PT_DTYPE_F32, 1, {2}, a};
    pt_st_write_tensor tb = {"w", PT_DTYPE_F32, 1, {3}, b};
    assert_int_equal(pt_safetensors_write(path, &ta, 1, NULL), PTUNE_OK);
    assert_int_equal(pt_safetensors_write(path, &tb, 1, NULL), PTUNE_OK);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.tensors[0].n_elements, 3);
    pt_safetensors_close(&st);

    /* A failing write leaves the previous file untouched and no temporary behind. */
    pt_st_write_tensor dup[2] = {ta, ta};
    size_t before_n = 0, after_n = 0;
    unsigned char *before = pt_test_read_file(path, &before_n);
    assert_int_equal(pt_safetensors_write(path, dup, 2, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("duplicate tensor name w");
    unsigned char *after = pt_test_read_file(path, &after_n);
    assert_int_equal(before_n, after_n);
    assert_memory_equal(before, after, before_n);
    assert_int_equal(count_temp_files(), 0);
    free(before);
    free(after);
    free(path);
}

static void test_write_errors(void **state)
{
    (void)state;
    char *path = tpath("werr.safetensors");
    float a[2] = {1, 2};
    pt_st_write_tensor ok = {"w", PT_DTYPE_F32, 1, {2}, a};

    assert_int_equal(pt_safetensors_write(path, &ok, 1, "[1]"), PTUNE_E_INVALID_ARG);
    assert_error_contains("metadata must be a JSON object");
    assert_int_equal(pt_safetensors_write(path, &ok, 1, "{\"a\":1}"), PTUNE_E_INVALID_ARG);
    assert_error_contains("metadata value for key \"a\" must be a string");
    assert_int_equal(pt_safetensors_write(path, &ok, 1, "{\"a\":"), PTUNE_E_INVALID_ARG);
    assert_error_contains("metadata is not valid JSON");

    pt_st_write_tensor bad = ok;
    bad.dtype = PT_DTYPE_OTHER;
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("tensor w: dtype OTHER cannot be written");
    bad = ok;
    bad.shape[0] = -1;
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("shape[0] = -1 is negative");
    bad = ok;
    bad.n_dims = 5;
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("rank 5");
    bad = ok;
    bad.data = NULL;
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("data is NULL");
    bad = ok;
    bad.name = "__metadata__";
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("reserved");
    bad = ok;
    bad.name = "";
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("no name");
    bad = ok;
    bad.name = "\xff\xfe";
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("UTF-8");
    bad = ok;
    bad.n_dims = 3;
    bad.shape[0] = bad.shape[1] = bad.shape[2] = (int64_t)1 << 30;
    assert_int_equal(pt_safetensors_write(path, &bad, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_error_contains("overflows");
    assert_int_equal(pt_safetensors_write(NULL, &ok, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_safetensors_write(path, NULL, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(access(path, F_OK), -1); /* nothing was written */

    /* Target is a directory: the rename fails, the temporary is removed. */
    char *dir = tpath("a_directory");
    assert_int_equal(mkdir(dir, 0755), 0);
    assert_int_equal(pt_safetensors_write(dir, &ok, 1, NULL), PTUNE_E_IO);
    assert_error_contains(dir);
    assert_error_contains("Is a directory");
    assert_int_equal(count_temp_files(), 0);
    rmdir(dir);
    free(dir);

    /* Missing parent directory: the temporary file cannot be created. */
    char *missing = tpath("no/such/dir/x.safetensors");
    assert_int_equal(pt_safetensors_write(missing, &ok, 1, NULL), PTUNE_E_IO);
    assert_error_contains(missing);
    assert_error_contains("No such file or directory");
    free(missing);
    assert_int_equal(count_temp_files(), 0);
    free(path);
}

/* ------------------------------------------------------------------------------------------
 * Reader: hand-made and hostile files
 * ---------------------------------------------------------------------------------------- */

static void test_handmade_ok(void **state)
{
    (void)state;
    /* Unordered entries, a gap, trailing unused bytes, an empty tensor inside another's range,
     * and a data section starting at an odd address (odd header length). */
    const char *h = "{\"z\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]},"
                    "\"y\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[11,15]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[3,3]}}";
    char header[256];
    int width = (int)(strlen(h) | 1u) + 2; /* odd, with trailing spaces */
    snprintf(header, sizeof header, "%-*s", width, h);
    size_t hl = strlen(header), total = 8 + hl + 20;
    assert_int_equal(hl % 2, 1);
    unsigned char *buf = calloc(1, total);
    assert_non_null(buf);
    put_le64(buf, hl);
    memcpy(buf + 8, header, hl);
    float zf[2] = {3.5f, -0.125f};
    uint16_t yf[2] = {0x3555, 0x8000};
    memcpy(buf + 8 + hl + 1, zf, sizeof zf);
    memcpy(buf + 8 + hl + 11, yf, sizeof yf);
    char *path = tpath("handmade.safetensors");
    pt_test_write_file(path, buf, total);
    free(buf);

    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.n_tensors, 3);
    assert_null(st.metadata_json);
    assert_string_equal(st.tensors[0].name, "e");
    assert_string_equal(st.tensors[1].name, "y");
    assert_string_equal(st.tensors[2].name, "z");
    const pt_tensor_view *z = pt_safetensors_find(&st, "z");
    assert_non_null(z);
    assert_int_equal(z->file_offset, 8 + hl + 1);
    float out[2];
    assert_int_equal(pt_tensor_view_to_f32(z, path, out), PTUNE_OK);
    assert_true(out[0] == 3.5f && out[1] == -0.125f);
    const pt_tensor_view *y = pt_safetensors_find(&st, "y");
    assert_int_equal(pt_tensor_view_to_f32(y, path, out), PTUNE_OK);
    assert_true(out[0] == 0.333251953125f);
    assert_true(out[1] == 0.0f && signbit(out[1]));
    const pt_tensor_view *e = pt_safetensors_find(&st, "e");
    assert_int_equal(e->n_elements, 0);
    assert_int_equal(pt_tensor_view_to_f32(e, path, out), PTUNE_OK);
    pt_safetensors_close(&st);
    free(path);
}

static void test_other_dtypes(void **state)
{
    (void)state;
    static const struct { const char *name; size_t size; pt_dtype dtype; } dts[] = {
        {"BOOL", 1, PT_DTYPE_OTHER},    {"U8", 1, PT_DTYPE_OTHER},      {"I8", 1, PT_DTYPE_OTHER},
        {"F8_E5M2", 1, PT_DTYPE_OTHER}, {"F8_E4M3", 1, PT_DTYPE_OTHER}, {"I16", 2, PT_DTYPE_OTHER},
        {"U16", 2, PT_DTYPE_OTHER},     {"F16", 2, PT_DTYPE_F16},       {"BF16", 2, PT_DTYPE_BF16},
        {"I32", 4, PT_DTYPE_I32},       {"U32", 4, PT_DTYPE_OTHER},     {"F32", 4, PT_DTYPE_F32},
        {"F64", 8, PT_DTYPE_F64},       {"I64", 8, PT_DTYPE_I64},       {"U64", 8, PT_DTYPE_OTHER},
    };
    const size_t nd = sizeof dts / sizeof dts[0];
    char header[4096];
    size_t pos = 0, off = 0;
    pos += (size_t)snprintf(header + pos, sizeof header - pos, "{");
    for (size_t i = 0; i < nd; i++) {
        pos += (size_t)snprintf(header + pos, sizeof header - pos,
                                "%s\"t_%s\":{\"dtype\":\"%s\",\"shape\":[3],\"data_offsets\":[%zu,%zu]}",
                                i ? "," : "", dts[i].name, dts[i].name, off, off + 3 * dts[i].size);
        off += 3 * dts[i].size;
    }
    snprintf(header + pos, sizeof header - pos, "}");
    char *path = write_raw("dtypes.safetensors", header, off);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.n_tensors, nd);
    for (size_t i = 0; i < nd; i++) {
        char name[32];
        snprintf(name, sizeof name, "t_%s", dts[i].name);
        const pt_tensor_view *v = pt_safetensors_find(&st, name);
        assert_non_null(v);
        assert_int_equal(v->dtype, dts[i].dtype);
        assert_string_equal(v->dtype_name, dts[i].name);
        assert_int_equal(v->n_bytes, 3 * dts[i].size);
        float out[3];
        ptune_status rc = pt_tensor_view_to_f32(v, "dtypes.safetensors", out);
        if (v->dtype == PT_DTYPE_F32 || v->dtype == PT_DTYPE_F16 || v->dtype == PT_DTYPE_BF16) {
            assert_int_equal(rc, PTUNE_OK);
        } else {
            assert_int_equal(rc, PTUNE_E_UNSUPPORTED);
            char want[256];
            snprintf(want, sizeof want,
                     "dtypes.safetensors: tensor %s has dtype %s; the supported weight types are F32, F16, "
                     "BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K",
                     name, dts[i].name);
            assert_string_equal(ptune_last_error(), want);
        }
    }
    pt_safetensors_close(&st);
    free(path);
}

static void test_short_file(void **state)
{
    (void)state;
    char *path = tpath("short.safetensors");
    pt_test_write_file(path, "\x10\0\0\0\0", 5);
    expect_open_fail(path, PTUNE_E_FORMAT, "too short");
    assert_error_contains(path);
    pt_test_write_file(path, "", 0);
    expect_open_fail(path, PTUNE_E_FORMAT, "file is 0 bytes");
    free(path);
}

static void test_header_past_eof(void **state)
{
    (void)state;
    char *path = write_raw_declared("past.safetensors", 100, "{}", 10);
    expect_open_fail(path, PTUNE_E_FORMAT, "header length 100 runs past end of file");
    assert_error_contains(path);
    free(path);
}

static void test_header_huge(void **state)
{
    (void)state;
    char *path = write_raw_declared("huge.safetensors", (uint64_t)1 << 63, "{}", 0);
    expect_open_fail(path, PTUNE_E_FORMAT, "header length 9223372036854775808");
    free(path);
    path = write_raw_declared("huge2.safetensors", UINT64_MAX, "{}", 0);
    expect_open_fail(path, PTUNE_E_FORMAT, "header length 18446744073709551615");
    free(path);
}

static void test_header_over_cap(void **state)
{
    (void)state;
    /* A sparse file large enough to hold a 100000001-byte header. */
    char *path = tpath("cap.safetensors");
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    assert_true(fd >= 0);
    unsigned char len[8];
    put_le64(len, 100000001);
    assert_int_equal(write(fd, len, 8), 8);
    assert_int_equal(ftruncate(fd, 8 + 100000001 + 8), 0);
    close(fd);
    expect_open_fail(path, PTUNE_E_FORMAT, "exceeds the 100000000-byte limit");
    unlink(path);
    free(path);
}

static void test_not_json(void **state)
{
    (void)state;
    expect_header_fail("hello world", 0, PTUNE_E_FORMAT, "invalid JSON header at line 1");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\n\"shape\":[1,],\"data_offsets\":[0,4]}}", 4,
                       PTUNE_E_FORMAT, "invalid JSON header at line 2");
    expect_header_fail("", 0, PTUNE_E_FORMAT, "invalid JSON header");
    expect_header_fail("{\"\xff\":1}", 0, PTUNE_E_FORMAT, "invalid JSON header");
    expect_header_fail("{} {}", 0, PTUNE_E_FORMAT, "invalid JSON header");
}

static void test_json_not_object(void **state)
{
    (void)state;
    expect_header_fail("[1, 2, 3]", 0, PTUNE_E_FORMAT, "header must be a JSON object, got array");
}

static void test_entry_shapes(void **state)
{
    (void)state;
    expect_header_fail("{\"a\":3}", 0, PTUNE_E_FORMAT, "tensor a: entry must be an object, got integer");
    expect_header_fail("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, PTUNE_E_FORMAT,
                       "tensor a: missing \"dtype\"");
    expect_header_fail("{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                       PTUNE_E_FORMAT, "tensor a: \"dtype\" must be a string, got integer");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, PTUNE_E_FORMAT,
                       "tensor a: missing \"shape\"");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4,
                       PTUNE_E_FORMAT, "tensor a: shape[0] must be an integer, got real");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, PTUNE_E_FORMAT,
                       "tensor a: missing \"data_offsets\"");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
                       PTUNE_E_FORMAT, "tensor a: \"data_offsets\" must be an array of two integers");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8,
                       PTUNE_E_FORMAT, "tensor a: invalid data_offsets [8, 4)");
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8,
                       PTUNE_E_FORMAT, "tensor a: invalid data_offsets [-4, 0)");
}

static void test_unknown_dtype(void **state)
{
    (void)state;
    expect_header_fail("{\"w\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
                       PTUNE_E_FORMAT, "tensor w: unknown dtype \"Q9\"");
}

static void test_shape_negative(void **state)
{
    (void)state;
    expect_header_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,0]}}", 0,
                       PTUNE_E_FORMAT, "tensor w: shape[1] = -2 is negative");
}

static void test_shape_rank5(void **state)
{
    (void)state;
    expect_header_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,2],\"data_offsets\":[0,8]}}",
                       8, PTUNE_E_UNSUPPORTED, "tensor w: rank 5 exceeds the supported maximum of 4");
}

static void test_shape_overflow(void **state)
{
    (void)state;
    expect_header_fail(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}", 0,
        PTUNE_E_FORMAT, "tensor w: element count of the shape overflows");
    /* the element count fits but the byte size does not */
    expect_header_fail(
        "{\"w\":{\"dtype\":\"F64\",\"shape\":[1152921504606846976,2],\"data_offsets\":[0,0]}}", 0,
        PTUNE_E_FORMAT, "overflows");
    /* a zero dimension makes a huge shape empty, not an overflow */
    char *path = write_raw(
        "zero.safetensors",
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,0,4294967296],\"data_offsets\":[0,0]}}", 0);
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    assert_int_equal(st.tensors[0].n_elements, 0);
    pt_safetensors_close(&st);
    free(path);
}

static void test_offsets_past_end(void **state)
{
    (void)state;
    expect_header_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8,
                       PTUNE_E_FORMAT, "tensor w: data_offsets [0, 16) past end of data (8 bytes)");
    expect_header_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 8,
                       PTUNE_E_FORMAT, "tensor w: data_offsets [8, 12) past end of data (8 bytes)");
}

static void test_size_mismatch(void **state)
{
    (void)state;
    expect_header_fail("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", 16,
                       PTUNE_E_FORMAT,
                       "tensor w: data_offsets [0, 12) hold 12 bytes but 4 elements of F32 need 16");
}

static void test_overlap(void **state)
{
    (void)state;
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
                       24, PTUNE_E_FORMAT, "tensors a [0, 16) and b [8, 24) overlap");
    /* same range twice, listed in reverse order */
    expect_header_fail("{\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                       "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                       12, PTUNE_E_FORMAT, "overlap");
}

static void test_duplicate_names(void **state)
{
    (void)state;
    expect_header_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                       8, PTUNE_E_FORMAT, "duplicate");
}

static void test_bad_metadata(void **state)
{
    (void)state;
    expect_header_fail("{\"__metadata__\":[1]}", 0, PTUNE_E_FORMAT,
                       "\"__metadata__\" must be an object, got array");
    expect_header_fail("{\"__metadata__\":{\"a\":\"x\",\"b\":2}}", 0, PTUNE_E_FORMAT,
                       "\"__metadata__\" value for key \"b\" must be a string, got integer");
}

static void test_directory_and_missing(void **state)
{
    (void)state;
    expect_open_fail(g_dir, PTUNE_E_IO, "is a directory");
    assert_error_contains(g_dir);
    char *missing = tpath("does-not-exist.safetensors");
    expect_open_fail(missing, PTUNE_E_IO, "No such file or directory");
    assert_error_contains(missing);
    free(missing);
    expect_open_fail(NULL, PTUNE_E_INVALID_ARG, "path is NULL");
    assert_int_equal(pt_safetensors_open("x", NULL), PTUNE_E_INVALID_ARG);
}

static void test_find_and_close(void **state)
{
    (void)state;
    pt_safetensors st;
    memset(&st, 0, sizeof st);
    assert_null(pt_safetensors_find(&st, "a"));
    pt_safetensors_close(&st);
    pt_safetensors_close(&st);
    pt_safetensors_close(NULL);
    assert_null(pt_safetensors_find(NULL, "a"));

    float v[1] = {1};
    pt_st_write_tensor t[5] = {
        {"m", PT_DTYPE_F32, 1, {1}, v}, {"c", PT_DTYPE_F32, 1, {1}, v},
        {"x", PT_DTYPE_F32, 1, {1}, v}, {"a", PT_DTYPE_F32, 1, {1}, v},
        {"q", PT_DTYPE_F32, 1, {1}, v},
    };
    char *path = tpath("find.safetensors");
    assert_int_equal(pt_safetensors_write(path, t, 5, NULL), PTUNE_OK);
    assert_int_equal(pt_safetensors_open(path, &st), PTUNE_OK);
    for (int i = 0; i < 5; i++) {
        const pt_tensor_view *f = pt_safetensors_find(&st, t[i].name);
        assert_non_null(f);
        assert_string_equal(f->name, t[i].name);
    }
    assert_null(pt_safetensors_find(&st, "b"));
    assert_null(pt_safetensors_find(&st, ""));
    assert_null(pt_safetensors_find(&st, "zz"));
    assert_null(pt_safetensors_find(&st, NULL));
    pt_safetensors_close(&st);
    assert_null(pt_safetensors_find(&st, "a"));
    pt_safetensors_close(&st);
    free(path);
}

/* ------------------------------------------------------------------------------------------
 * Tensor views
 * ---------------------------------------------------------------------------------------- */

static pt_tensor_view make_view(pt_dtype dt, const void *data, int64_t n)
{
    pt_tensor_view v;
    memset(&v, 0, sizeof v);
    v.name = "t";
    v.dtype = dt;
    v.dtype_name = pt_dtype_name(dt);
    v.n_dims = 1;
    v.shape[0] = n;
    v.n_elements = n;
    v.data = data;
    v.n_bytes = (size_t)n * pt_dtype_size(dt);
    return v;
}

static void test_f16_to_f32(void **state)
{
    (void)state;
    static const uint16_t in[] = {0x3C00, 0x0001, 0x8001, 0x03FF, 0x0400, 0x7BFF, 0xC000,
                                  0x3555, 0x0000, 0x8000, 0x7C00, 0xFC00, 0x7E00, 0x3BFF};
    static const float want[] = {1.0f,
                                 5.9604644775390625e-08f,
                                 -5.9604644775390625e-08f,
                                 6.0975551605224609375e-05f,
                                 6.103515625e-05f,
                                 65504.0f,
                                 -2.0f,
                                 0.333251953125f,
                                 0.0f,
                                 -0.0f,
                                 INFINITY,
                                 -INFINITY,
                                 NAN,
                                 0.99951171875f};
    const size_t n = sizeof in / sizeof in[0];
    /* unaligned source: one byte into the buffer */
    unsigned char raw[2 * sizeof in + 1];
    memcpy(raw + 1, in, sizeof in);
    pt_tensor_view v = make_view(PT_DTYPE_F16, raw + 1, (int64_t)n);
    float out[sizeof in / sizeof in[0]];
    assert_int_equal(pt_tensor_view_to_f32(&v, "mem", out), PTUNE_OK);
    for (size_t i = 0; i < n; i++) {
        if (isnan(want[i])) {
            assert_true(isnan(out[i]));
            continue;
        }
        if (out[i] != want[i] || signbit(out[i]) != signbit(want[i]))
            fail_msg("F16 0x%04x -> %.9g, expected %.9g", in[i], (double)out[i], (double)want[i]);
    }

    /* All 65536 bit patterns agree bit for bit with the scalar reference in core/half.h. */
    uint16_t *all = malloc(65536 * sizeof *all);
    float *conv = malloc(65536 * sizeof *conv);
    assert_true(all && conv);
    for (uint32_t i = 0; i < 65536; i++) all[i] = (uint16_t)i;
    pt_tensor_view va = make_view(PT_DTYPE_F16, all, 65536);
    assert_int_equal(pt_tensor_view_to_f32(&va, "mem", conv), PTUNE_OK);
    for (uint32_t i = 0; i < 65536; i++)
        if (pt_f32_to_bits(conv[i]) != pt_f32_to_bits(pt_f16_to_f32((uint16_t)i)))
            fail_msg("F16 0x%04x -> 0x%08x, reference 0x%08x", i, pt_f32_to_bits(conv[i]),
                     pt_f32_to_bits(pt_f16_to_f32((uint16_t)i)));
    free(all);
    free(conv);
}

static void test_bf16_to_f32(void **state)
{
    (void)state;
    static const uint16_t in[] = {0x3F80, 0x4049, 0xBF80, 0x0001, 0x7F7F, 0x8000, 0x7F80, 0xFF80,
                                  0x3E20};
    static const float want[] = {1.0f,
                                 3.140625f,
                                 -1.0f,
                                 9.18354961579912115600575419705e-41f,
                                 3.38953138925153547590470800371e+38f,
                                 -0.0f,
                                 INFINITY,
                                 -INFINITY,
                                 0.15625f};
    const size_t n = sizeof in / sizeof in[0];
    unsigned char raw[2 * sizeof in + 1];
    memcpy(raw + 1, in, sizeof in);
    pt_tensor_view v = make_view(PT_DTYPE_BF16, raw + 1, (int64_t)n);
    float out[sizeof in / sizeof in[0]];
    assert_int_equal(pt_tensor_view_to_f32(&v, "mem", out), PTUNE_OK);
    for (size_t i = 0; i < n; i++)
        if (out[i] != want[i] || signbit(out[i]) != signbit(want[i]))
            fail_msg("BF16 0x%04x -> %.9g, expected %.9g", in[i], (double)out[i], (double)want[i]);
}

static void test_f32_and_unsupported_views(void **state)
{
    (void)state;
    float in[5] = {1.0f, -2.5f, 3e38f, 1e-45f, 0.0f};
    unsigned char raw[sizeof in + 3];
    memcpy(raw + 3, in, sizeof in);
    pt_tensor_view v = make_view(PT_DTYPE_F32, raw + 3, 5);
    float out[5];
    assert_int_equal(pt_tensor_view_to_f32(&v, "mem", out), PTUNE_OK);
    assert_memory_equal(out, in, sizeof in);

    int64_t iv[2] = {1, 2};
    pt_tensor_view vi = make_view(PT_DTYPE_I64, iv, 2);
    vi.name = "ids";
    assert_int_equal(pt_tensor_view_to_f32(&vi, "model.safetensors", out), PTUNE_E_UNSUPPORTED);
    assert_string_equal(ptune_last_error(), "model.safetensors: tensor ids has dtype I64; the supported "
                                            "weight types are F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, "
                                            "Q5_1, Q4_K, Q5_K and Q6_K");
    pt_tensor_view vo = make_view(PT_DTYPE_OTHER, iv, 2);
    vo.dtype_name = "Q4_K";
    assert_int_equal(pt_tensor_view_to_f32(&vo, "m.gguf", out), PTUNE_E_UNSUPPORTED);
    assert_error_contains("has dtype Q4_K");

    pt_tensor_view bad = make_view(PT_DTYPE_F32, in, 5);
    bad.n_bytes = 19;
    assert_int_equal(pt_tensor_view_to_f32(&bad, "mem", out), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_tensor_view_to_f32(NULL, "mem", out), PTUNE_E_INVALID_ARG);
}

static void test_dtype_table(void **state)
{
    (void)state;
    assert_string_equal(pt_dtype_name(PT_DTYPE_F32), "F32");
    assert_string_equal(pt_dtype_name(PT_DTYPE_F16), "F16");
    assert_string_equal(pt_dtype_name(PT_DTYPE_BF16), "BF16");
    assert_string_equal(pt_dtype_name(PT_DTYPE_F64), "F64");
    assert_string_equal(pt_dtype_name(PT_DTYPE_I64), "I64");
    assert_string_equal(pt_dtype_name(PT_DTYPE_I32), "I32");
    assert_int_equal(pt_dtype_size(PT_DTYPE_F32), 4);
    assert_int_equal(pt_dtype_size(PT_DTYPE_F16), 2);
    assert_int_equal(pt_dtype_size(PT_DTYPE_BF16), 2);
    assert_int_equal(pt_dtype_size(PT_DTYPE_F64), 8);
    assert_int_equal(pt_dtype_size(PT_DTYPE_I64), 8);
    assert_int_equal(pt_dtype_size(PT_DTYPE_I32), 4);
    assert_int_equal(pt_dtype_size(PT_DTYPE_OTHER), 0);
}

/* ------------------------------------------------------------------------------------------
 * Hugging Face JSON files
 * ---------------------------------------------------------------------------------------- */

static char *write_text(const char *name, const char *text)
{
    char *path = tpath(name);
    pt_test_write_file(path, text, strlen(text));
    return path;
}

static void test_hf_getters(void **state)
{
    (void)state;
    char *path = write_text("config.json",
                            "{\"hidden_size\": 64, \"rms_norm_eps\": 1e-06, \"tie\": true,"
                            " \"off\": false, \"model_type\": \"llama\", \"n\": null,"
                            " \"real_int\": 4.0, \"neg\": -3, \"frac\": 1.5, \"big\": 1e30,"
                            " \"arr\": [1], \"obj\": {}, \"s_num\": \"12\"}");
    pt_json_file f;
    assert_int_equal(pt_json_file_load(path, &f), PTUNE_OK);
    assert_string_equal(f.path, path);
    assert_true(json_is_object(f.root));

    int64_t i = 0;
    assert_int_equal(pt_json_get_int(&f, "hidden_size", &i), PTUNE_OK);
    assert_int_equal(i, 64);
    assert_int_equal(pt_json_get_int(&f, "neg", &i), PTUNE_OK);
    assert_int_equal(i, -3);
    assert_int_equal(pt_json_get_int(&f, "real_int", &i), PTUNE_OK);
    assert_int_equal(i, 4);

    /* absent and null: PTUNE_E_STATE, the last error is left alone */
    pt_fail(PTUNE_E_IO, "sentinel");
    i = 77;
    assert_int_equal(pt_json_get_int(&f, "absent", &i), PTUNE_E_STATE);
    assert_int_equal(pt_json_get_int(&f, "n", &i), PTUNE_E_STATE);
    double d = 0;
    bool b = false;
    const char *s = NULL;
    assert_int_equal(pt_json_get_number(&f, "n", &d), PTUNE_E_STATE);
    assert_int_equal(pt_json_get_bool(&f, "absent", &b), PTUNE_E_STATE);
    assert_int_equal(pt_json_get_string(&f, "n", &s), PTUNE_E_STATE);
    assert_int_equal(i, 77);
    assert_string_equal(ptune_last_error(), "sentinel");

    /* wrong types name the file, the key and the JSON type */
    char want[512];
    assert_int_equal(pt_json_get_int(&f, "model_type", &i), PTUNE_E_FORMAT);
    snprintf(want, sizeof want, "%s: field \"model_type\" must be an integer, got string", path);
    assert_string_equal(ptune_last_error(), want);
    assert_int_equal(pt_json_get_int(&f, "frac", &i), PTUNE_E_FORMAT);
    assert_error_contains("field \"frac\" must be an integer, got 1.5");
    assert_int_equal(pt_json_get_int(&f, "big", &i), PTUNE_E_FORMAT);
    assert_error_contains("field \"big\" = 1e+30 is out of the integer range");
    assert_int_equal(pt_json_get_int(&f, "tie", &i), PTUNE_E_FORMAT);
    assert_error_contains("must be an integer, got boolean");
    assert_int_equal(pt_json_get_int(&f, "arr", &i), PTUNE_E_FORMAT);
    assert_error_contains("must be an integer, got array");

    assert_int_equal(pt_json_get_number(&f, "rms_norm_eps", &d), PTUNE_OK);
    assert_true(d == 1e-06);
    assert_int_equal(pt_json_get_number(&f, "hidden_size", &d), PTUNE_OK);
    assert_true(d == 64.0);
    assert_int_equal(pt_json_get_number(&f, "s_num", &d), PTUNE_E_FORMAT);
    assert_error_contains("field \"s_num\" must be a number, got string");

    assert_int_equal(pt_json_get_bool(&f, "tie", &b), PTUNE_OK);
    assert_true(b);
    assert_int_equal(pt_json_get_bool(&f, "off", &b), PTUNE_OK);
    assert_false(b);
    assert_int_equal(pt_json_get_bool(&f, "hidden_size", &b), PTUNE_E_FORMAT);
    assert_error_contains("field \"hidden_size\" must be a boolean, got integer");

    assert_int_equal(pt_json_get_string(&f, "model_type", &s), PTUNE_OK);
    assert_string_equal(s, "llama");
    assert_int_equal(pt_json_get_string(&f, "obj", &s), PTUNE_E_FORMAT);
    assert_error_contains("field \"obj\" must be a string, got object");

    /* aliases: the first present (non-null) key decides */
    static const char *const a1[] = {"n_embd", "n", "hidden_size", NULL};
    static const char *const a2[] = {"x", "y", NULL};
    static const char *const a3[] = {"model_type", "hidden_size", NULL};
    static const char *const a4[] = {NULL};
    assert_int_equal(pt_json_get_int_alias(&f, a1, &i), PTUNE_OK);
    assert_int_equal(i, 64);
    assert_int_equal(pt_json_get_int_alias(&f, a2, &i), PTUNE_E_STATE);
    assert_int_equal(pt_json_get_int_alias(&f, a3, &i), PTUNE_E_FORMAT);
    assert_error_contains("field \"model_type\" must be an integer");
    assert_int_equal(pt_json_get_int_alias(&f, a4, &i), PTUNE_E_STATE);

    pt_json_file_free(&f);
    pt_json_file_free(&f);
    pt_json_file_free(NULL);
    free(path);
}

static void test_hf_errors(void **state)
{
    (void)state;
    pt_json_file f;
    char want[512];

    char *bad = write_text("bad.json", "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
    assert_int_equal(pt_json_file_load(bad, &f), PTUNE_E_FORMAT);
    assert_null(f.root);
    assert_null(f.path);
    snprintf(want, sizeof want, "%s:3:8: ", bad);
    assert_error_contains(want);
    assert_error_contains("unexpected token");
    free(bad);

    char *trunc = write_text("trunc.json", "{\"a\": [1, 2");
    assert_int_equal(pt_json_file_load(trunc, &f), PTUNE_E_FORMAT);
    snprintf(want, sizeof want, "%s:1:", trunc);
    assert_error_contains(want);
    free(trunc);

    char *arr = write_text("arr.json", "[1, 2]");
    assert_int_equal(pt_json_file_load(arr, &f), PTUNE_E_FORMAT);
    assert_error_contains("not a JSON object");
    assert_error_contains(arr);
    free(arr);

    char *empty = write_text("empty.json", "");
    assert_int_equal(pt_json_file_load(empty, &f), PTUNE_E_FORMAT);
    assert_error_contains(empty);
    free(empty);

    char *missing = tpath("missing.json");
    assert_int_equal(pt_json_file_load(missing, &f), PTUNE_E_IO);
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", missing);
    assert_string_equal(ptune_last_error(), want);
    free(missing);

    assert_int_equal(pt_json_file_load(g_dir, &f), PTUNE_E_IO);
    snprintf(want, sizeof want, "%s: is a directory", g_dir);
    assert_error_contains(want);

    assert_int_equal(pt_json_file_load(NULL, &f), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_json_file_load("x", NULL), PTUNE_E_INVALID_ARG);
    int64_t i;
    assert_int_equal(pt_json_get_int(NULL, "a", &i), PTUNE_E_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_write_reference_layout),
        cmocka_unit_test(test_write_no_metadata),
        cmocka_unit_test(test_write_replaces_atomically),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_handmade_ok),
        cmocka_unit_test(test_other_dtypes),
        cmocka_unit_test(test_short_file),
        cmocka_unit_test(test_header_past_eof),
        cmocka_unit_test(test_header_huge),
        cmocka_unit_test(test_header_over_cap),
        cmocka_unit_test(test_not_json),
        cmocka_unit_test(test_json_not_object),
        cmocka_unit_test(test_entry_shapes),
        cmocka_unit_test(test_unknown_dtype),
        cmocka_unit_test(test_shape_negative),
        cmocka_unit_test(test_shape_rank5),
        cmocka_unit_test(test_shape_overflow),
        cmocka_unit_test(test_offsets_past_end),
        cmocka_unit_test(test_size_mismatch),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_bad_metadata),
        cmocka_unit_test(test_directory_and_missing),
        cmocka_unit_test(test_find_and_close),
        cmocka_unit_test(test_f16_to_f32),
        cmocka_unit_test(test_bf16_to_f32),
        cmocka_unit_test(test_f32_and_unsupported_views),
        cmocka_unit_test(test_dtype_table),
        cmocka_unit_test(test_hf_getters),
        cmocka_unit_test(test_hf_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
