/* Unit tests of the GGUF reader: an in-test GGUF writer builds valid files (every metadata type,
 * F32/F16/BF16 tensors, custom alignment, v2) and hostile ones (truncation, bad counts, ...). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_support.h"

#include "core/error.h"
#include "core/half.h"
#include "formats/gguf.h"

/* ------------------------------------------------------------------------------------------ */
/* A tiny GGUF writer                                                                          */

typedef struct buf {
    unsigned char *p;
    size_t n, cap;
} buf;

static void b_put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n) cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        assert_non_null(p);
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void b_le(buf *b, uint64_t v, unsigned n)
{
    unsigned char tmp[8];
    for (unsigned i = 0; i < n; i++) tmp[i] = (unsigned char)(v >> (8 * i));
    b_put(b, tmp, n);
}

static void b_u8(buf *b, uint8_t v) { b_le(b, v, 1); }
static void b_u16(buf *b, uint16_t v) { b_le(b, v, 2); }
static void b_u32(buf *b, uint32_t v) { b_le(b, v, 4); }
static void b_u64(buf *b, uint64_t v) { b_le(b, v, 8); }
static void b_f32(buf *b, float f) { b_u32(b, pt_f32_to_bits(f)); }
static void b_f64(buf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    b_u64(b, u);
}
static void b_str(buf *b, const char *s)
{
    b_u64(b, strlen(s));
    b_put(b, s, strlen(s));
}
static void b_pad(buf *b, size_t align)
{
    while (b->n % align) b_u8(b, 0);
}
static void b_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Key + value type; the caller appends the value. */
static void b_key(buf *b, const char *key, uint32_t type)
{
    b_str(b, key);
    b_u32(b, type);
}

typedef struct tspec {
    const char *name;
    uint32_t n_dims;
    uint64_t ne[5];
    uint32_t type;
    const void *data;   /* NULL: n_bytes zero bytes */
    size_t n_bytes;     /* bytes written into the data section */
    bool force_offset;  /* write `offset` instead of the computed one */
    uint64_t offset;
    uint64_t rel;       /* out: computed offset relative to the data section */
} tspec;

static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static size_t last_info_end; /* set by b_file: where the tensor infos end */

/* header + kvs (already encoded, n_kv of them) + tensor infos + padding + padded tensor data */
static void b_file(buf *out, uint32_t version, const buf *kvs, uint64_t n_kv, tspec *t, size_t nt,
                   size_t align, uint64_t *data_offset)
{
    b_put(out, "GGUF", 4);
    b_u32(out, version);
    b_u64(out, nt);
    b_u64(out, n_kv);
    if (kvs) b_put(out, kvs->p, kvs->n);
    size_t off = 0;
    for (size_t i = 0; i < nt; i++) {
        t[i].rel = off;
        off += round_up(t[i].n_bytes, align);
        b_str(out, t[i].name);
        b_u32(out, t[i].n_dims);
        for (uint32_t d = 0; d < t[i].n_dims; d++) b_u64(out, t[i].ne[d]);
        b_u32(out, t[i].type);
        b_u64(out, t[i].force_offset ? t[i].offset : t[i].rel);
    }
    last_info_end = out->n;
    b_pad(out, align);
    if (data_offset) *data_offset = out->n;
    for (size_t i = 0; i < nt; i++) {
        if (t[i].data) {
            b_put(out, t[i].data, t[i].n_bytes);
        } else {
            for (size_t k = 0; k < t[i].n_bytes; k++) b_u8(out, 0);
        }
        b_pad(out, align);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* The standard valid file                                                                     */

static float tok_data[6] = {0.0f, 0.5f, 1.0f, 1.5f, -2.0f, 3.25f};
static uint16_t attn_data[24];
static uint16_t norm_data[5];
static float last_data[8] = {1, 2, 3, 4, 5, 6, 7, 8};

static float attn_value(int i) { return (float)(i - 12) * 0.25f; }
static float norm_value(int i) { return (float)i * 1.5f - 3.0f; }

static void fill_tensor_data(void)
{
    for (int i = 0; i < 24; i++) attn_data[i] = pt_f32_to_f16(attn_value(i));
    for (int i = 0; i < 5; i++) norm_data[i] = pt_f32_to_bf16(norm_value(i));
}

enum { STD_N_TENSORS = 4 };

static void std_tensors(tspec t[STD_N_TENSORS])
{
    fill_tensor_data();
    memset(t, 0, sizeof(tspec) * STD_N_TENSORS);
    t[0] = (tspec){.name = "token_embd.weight", .n_dims = 2, .ne = {3, 2}, .type = 0,
                   .data = tok_data, .n_bytes = sizeof tok_data};
    t[1] = (tspec){.name = "blk.0.attn.weight", .n_dims = 3, .ne = {4, 3, 2}, .type = 1,
                   .data = attn_data, .n_bytes = sizeof attn_data};
    t[2] = (tspec){.name = "norm.bias", .n_dims = 1, .ne = {5}, .type = 30,
                   .data = norm_data, .n_bytes = sizeof norm_data};
    /* 32 bytes: the file ends exactly with this tensor, no trailing padding */
    t[3] = (tspec){.name = "z.last", .n_dims = 1, .ne = {8}, .type = 0,
                   .data = last_data, .n_bytes = sizeof last_data};
}

static const char *const std_tokens[] = {"a", "bc", "", "d\xc3\xa9\x66", "<s>"};
static const uint32_t std_u32s[] = {1, 2, 3, 4, 5, 4000000000u};

/* Every metadata type. alignment 0 writes no general.alignment key. Returns the kv count. */
static uint64_t std_kvs(buf *k, uint32_t alignment)
{
    uint64_t n = 0;
    b_key(k, "general.architecture", PT_GGUF_STRING); b_str(k, "llama"); n++;
    b_key(k, "t.u8", PT_GGUF_UINT8); b_u8(k, 200); n++;
    b_key(k, "t.i8", PT_GGUF_INT8); b_u8(k, (uint8_t)-100); n++;
    b_key(k, "t.i8.pos", PT_GGUF_INT8); b_u8(k, 100); n++;
    b_key(k, "t.u16", PT_GGUF_UINT16); b_u16(k, 60000); n++;
    b_key(k, "t.i16", PT_GGUF_INT16); b_u16(k, (uint16_t)-30000); n++;
    b_key(k, "t.u32", PT_GGUF_UINT32); b_u32(k, 4000000000u); n++;
    b_key(k, "t.i32", PT_GGUF_INT32); b_u32(k, (uint32_t)-2000000000); n++;
    b_key(k, "t.i32.pos", PT_GGUF_INT32); b_u32(k, 2000000000); n++;
    b_key(k, "t.f32", PT_GGUF_FLOAT32); b_f32(k, 1.5f); n++;
    b_key(k, "t.bool", PT_GGUF_BOOL); b_u8(k, 1); n++;
    b_key(k, "t.bool.false", PT_GGUF_BOOL); b_u8(k, 0); n++;
    b_key(k, "t.str", PT_GGUF_STRING); b_str(k, "h\xc3\xa9llo w\xc3\xb6rld"); n++;
    b_key(k, "t.str.empty", PT_GGUF_STRING); b_str(k, ""); n++;
    b_key(k, "t.u64", PT_GGUF_UINT64); b_u64(k, 1ull << 40); n++;
    b_key(k, "t.u64.small", PT_GGUF_UINT64); b_u64(k, 123); n++;
    b_key(k, "t.i64", PT_GGUF_INT64); b_u64(k, (uint64_t)-(1ll << 40)); n++;
    b_key(k, "t.i64.small", PT_GGUF_INT64); b_u64(k, 77); n++;
    b_key(k, "t.f64", PT_GGUF_FLOAT64); b_f64(k, 0.1); n++;
    b_key(k, "t.f64.big", PT_GGUF_FLOAT64); b_f64(k, 1e300); n++;
    b_key(k, "tokenizer.ggml.tokens", PT_GGUF_ARRAY);
    b_u32(k, PT_GGUF_STRING);
    b_u64(k, sizeof std_tokens / sizeof std_tokens[0]);
    for (size_t i = 0; i < sizeof std_tokens / sizeof std_tokens[0]; i++) b_str(k, std_tokens[i]);
    n++;
    b_key(k, "arr.u32", PT_GGUF_ARRAY);
    b_u32(k, PT_GGUF_UINT32);
    b_u64(k, sizeof std_u32s / sizeof std_u32s[0]);
    for (size_t i = 0; i < sizeof std_u32s / sizeof std_u32s[0]; i++) b_u32(k, std_u32s[i]);
    n++;
    b_key(k, "arr.bool", PT_GGUF_ARRAY); b_u32(k, PT_GGUF_BOOL); b_u64(k, 3);
    b_u8(k, 1); b_u8(k, 0); b_u8(k, 1); n++;
    b_key(k, "arr.f32", PT_GGUF_ARRAY); b_u32(k, PT_GGUF_FLOAT32); b_u64(k, 2);
    b_f32(k, 0.5f); b_f32(k, -2.0f); n++;
    b_key(k, "arr.empty", PT_GGUF_ARRAY); b_u32(k, PT_GGUF_UINT8); b_u64(k, 0); n++;
    b_key(k, "arr.strs.empty", PT_GGUF_ARRAY); b_u32(k, PT_GGUF_STRING); b_u64(k, 0); n++;
    if (alignment) {
        b_key(k, "general.alignment", PT_GGUF_UINT32);
        b_u32(k, alignment);
        n++;
    }
    return n;
}

static void std_file(buf *out, uint32_t version, uint32_t alignment, tspec t[STD_N_TENSORS],
                     uint64_t *data_offset)
{
    buf k = {0};
    uint64_t n_kv = std_kvs(&k, alignment);
    std_tensors(t);
    b_file(out, version, &k, n_kv, t, STD_N_TENSORS, alignment ? alignment : 32, data_offset);
    b_free(&k);
}

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                     */

static char *tmpdir;
static char file_path[4200];

static int group_setup(void **state)
{
    (void)state;
    tmpdir = pt_test_tmpdir();
    snprintf(file_path, sizeof file_path, "%s/test.gguf", tmpdir);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    pt_test_rmtree(tmpdir);
    free(tmpdir);
    return 0;
}

static void write_buf(const buf *b) { pt_test_write_file(file_path, b->p, b->n); }

static void assert_zeroed(const pt_gguf *g)
{
    static const pt_gguf zero;
    assert_memory_equal(g, &zero, sizeof zero);
}

static void assert_error_contains(const char *needle)
{
    const char *msg = ptune_last_error();
    if (!strstr(msg, needle)) fail_msg("last error \"%s\" lacks \"%s\"", msg, needle);
}

/* Writes `b`, expects pt_gguf_open to fail with `want` and a message naming the file and
 * containing every non-NULL needle. */
static void expect_open_fail(const buf *b, ptune_status want, const char *n1, const char *n2)
{
    write_buf(b);
    pt_gguf g;
    memset(&g, 0x5a, sizeof g);
    pt_error_clear();
    ptune_status s = pt_gguf_open(file_path, &g);
    if (s != want) fail_msg("status %d, expected %d (%s)", s, want, ptune_last_error());
    assert_zeroed(&g);
    pt_gguf_close(&g); /* safe on the zeroed struct */
    assert_error_contains(file_path);
    if (n1) assert_error_contains(n1);
    if (n2) assert_error_contains(n2);
    unlink(file_path);
}

static void open_ok(const buf *b, pt_gguf *g)
{
    write_buf(b);
    ptune_status s = pt_gguf_open(file_path, g);
    if (s != PTUNE_OK) fail_msg("open failed: %d %s", s, ptune_last_error());
}

/* A valid file with one kv and the given tensors. */
static void simple_file(buf *out, tspec *t, size_t nt)
{
    buf k = {0};
    b_key(&k, "general.architecture", PT_GGUF_STRING);
    b_str(&k, "llama");
    b_file(out, 3, &k, 1, t, nt, 32, NULL);
    b_free(&k);
}

/* A file whose metadata is `kvs` (n_kv entries) and that has one small F32 tensor. */
static void kv_file(buf *out, const buf *kvs, uint64_t n_kv)
{
    tspec t = {.name = "w", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32};
    b_file(out, 3, kvs, n_kv, &t, 1, 32, NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Valid files                                                                                 */

static void test_metadata_roundtrip(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    std_file(&b, 3, 0, t, NULL);
    pt_gguf g;
    open_ok(&b, &g);
    assert_int_equal(g.version, 3);
    assert_int_equal(g.alignment, 32);
    assert_int_equal(g.n_kv, 26);
    assert_int_equal(g.n_tensors, STD_N_TENSORS);

    uint32_t u;
    assert_int_equal(pt_gguf_get_u32(&g, "t.u8", &u), PTUNE_OK); assert_int_equal(u, 200);
    assert_int_equal(pt_gguf_get_u32(&g, "t.i8.pos", &u), PTUNE_OK); assert_int_equal(u, 100);
    assert_int_equal(pt_gguf_get_u32(&g, "t.u16", &u), PTUNE_OK); assert_int_equal(u, 60000);
    assert_int_equal(pt_gguf_get_u32(&g, "t.u32", &u), PTUNE_OK); assert_true(u == 4000000000u);
    assert_int_equal(pt_gguf_get_u32(&g, "t.i32.pos", &u), PTUNE_OK);
    assert_int_equal(u, 2000000000);
    assert_int_equal(pt_gguf_get_u32(&g, "t.u64.small", &u), PTUNE_OK); assert_int_equal(u, 123);
    assert_int_equal(pt_gguf_get_u32(&g, "t.i64.small", &u), PTUNE_OK); assert_int_equal(u, 77);

    /* raw values of every scalar type */
    const pt_gguf_kv *kv;
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.i8"));
    assert_int_equal(kv->type, PT_GGUF_INT8); assert_true(kv->v.i == -100);
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.i16"));
    assert_int_equal(kv->type, PT_GGUF_INT16); assert_true(kv->v.i == -30000);
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.i32"));
    assert_int_equal(kv->type, PT_GGUF_INT32); assert_true(kv->v.i == -2000000000);
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.u64"));
    assert_int_equal(kv->type, PT_GGUF_UINT64); assert_true(kv->v.u == (1ull << 40));
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.i64"));
    assert_int_equal(kv->type, PT_GGUF_INT64); assert_true(kv->v.i == -(1ll << 40));
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.f64"));
    assert_int_equal(kv->type, PT_GGUF_FLOAT64); assert_true(kv->v.f == 0.1);
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.f32"));
    assert_int_equal(kv->type, PT_GGUF_FLOAT32); assert_true(kv->v.f == 1.5);
    assert_non_null(kv = pt_gguf_find_kv(&g, "t.u8"));
    assert_true(kv->offset > 24 && kv->offset < b.n);
    assert_null(pt_gguf_find_kv(&g, "t.missing"));

    /* integers that do not fit */
    assert_int_equal(pt_gguf_get_u32(&g, "t.i8", &u), PTUNE_E_FORMAT);
    assert_error_contains("t.i8"); assert_error_contains("-100");
    assert_int_equal(pt_gguf_get_u32(&g, "t.i32", &u), PTUNE_E_FORMAT);
    assert_error_contains("-2000000000");
    assert_int_equal(pt_gguf_get_u32(&g, "t.u64", &u), PTUNE_E_FORMAT);
    assert_error_contains("t.u64"); assert_error_contains("1099511627776");
    assert_int_equal(pt_gguf_get_u32(&g, "t.i64", &u), PTUNE_E_FORMAT);
    assert_error_contains("-1099511627776");
    assert_int_equal(pt_gguf_get_u32(&g, "t.str", &u), PTUNE_E_FORMAT);
    assert_error_contains("t.str"); assert_error_contains("string");
    assert_int_equal(pt_gguf_get_u32(&g, "t.bool", &u), PTUNE_E_FORMAT);
    assert_int_equal(pt_gguf_get_u32(&g, "t.f32", &u), PTUNE_E_FORMAT);
    assert_int_equal(pt_gguf_get_u32(&g, "arr.u32", &u), PTUNE_E_FORMAT);

    float f;
    assert_int_equal(pt_gguf_get_f32(&g, "t.f32", &f), PTUNE_OK); assert_true(f == 1.5f);
    assert_int_equal(pt_gguf_get_f32(&g, "t.f64", &f), PTUNE_OK); assert_true(f == 0.1f);
    assert_int_equal(pt_gguf_get_f32(&g, "t.u32", &f), PTUNE_E_FORMAT);
    assert_error_contains("t.u32");
    assert_int_equal(pt_gguf_get_f32(&g, "t.f64.big", &f), PTUNE_E_FORMAT);
    assert_error_contains("t.f64.big");

    bool bv = false;
    assert_int_equal(pt_gguf_get_bool(&g, "t.bool", &bv), PTUNE_OK); assert_true(bv);
    assert_int_equal(pt_gguf_get_bool(&g, "t.bool.false", &bv), PTUNE_OK); assert_false(bv);
    assert_int_equal(pt_gguf_get_bool(&g, "t.u8", &bv), PTUNE_E_FORMAT);
    assert_error_contains("t.u8");

    char *s = NULL;
    assert_int_equal(pt_gguf_get_str(&g, "general.architecture", &s), PTUNE_OK);
    assert_string_equal(s, "llama");
    free(s);
    assert_int_equal(pt_gguf_get_str(&g, "t.str", &s), PTUNE_OK);
    assert_string_equal(s, "h\xc3\xa9llo w\xc3\xb6rld");
    free(s);
    assert_int_equal(pt_gguf_get_str(&g, "t.str.empty", &s), PTUNE_OK);
    assert_string_equal(s, "");
    free(s);
    assert_int_equal(pt_gguf_get_str(&g, "t.u32", &s), PTUNE_E_FORMAT);
    assert_int_equal(pt_gguf_get_str(&g, "tokenizer.ggml.tokens", &s), PTUNE_E_FORMAT);
    assert_error_contains("array");

    /* absent keys: PTUNE_E_STATE and the last error untouched */
    pt_fail(PTUNE_E_IO, "sentinel");
    assert_int_equal(pt_gguf_get_u32(&g, "nope", &u), PTUNE_E_STATE);
    assert_int_equal(pt_gguf_get_f32(&g, "nope", &f), PTUNE_E_STATE);
    assert_int_equal(pt_gguf_get_bool(&g, "nope", &bv), PTUNE_E_STATE);
    assert_int_equal(pt_gguf_get_str(&g, "nope", &s), PTUNE_E_STATE);
    assert_string_equal(ptune_last_error(), "sentinel");

    /* NULL arguments */
    assert_int_equal(pt_gguf_get_u32(&g, NULL, &u), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_gguf_get_u32(NULL, "t.u8", &u), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_gguf_get_str(&g, "t.str", NULL), PTUNE_E_INVALID_ARG);
    assert_null(pt_gguf_find_kv(NULL, "t.u8"));
    assert_null(pt_gguf_find_tensor(&g, NULL));

    /* arrays */
    assert_non_null(kv = pt_gguf_find_kv(&g, "tokenizer.ggml.tokens"));
    assert_int_equal(kv->type, PT_GGUF_ARRAY);
    assert_int_equal(kv->v.arr.elem_type, PT_GGUF_STRING);
    assert_int_equal(kv->v.arr.count, 5);
    assert_non_null(kv->v.arr.strings);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(kv->v.arr.strings[i].len, strlen(std_tokens[i]));
        assert_memory_equal(kv->v.arr.strings[i].ptr, std_tokens[i], strlen(std_tokens[i]));
    }
    assert_non_null(kv = pt_gguf_find_kv(&g, "arr.u32"));
    assert_int_equal(kv->v.arr.elem_type, PT_GGUF_UINT32);
    assert_int_equal(kv->v.arr.count, 6);
    assert_null(kv->v.arr.strings);
    for (size_t i = 0; i < 6; i++) {
        const unsigned char *p = kv->v.arr.data + 4 * i;
        uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        assert_true(v == std_u32s[i]);
    }
    assert_non_null(kv = pt_gguf_find_kv(&g, "arr.bool"));
    assert_int_equal(kv->v.arr.elem_type, PT_GGUF_BOOL);
    assert_int_equal(kv->v.arr.count, 3);
    assert_int_equal(kv->v.arr.data[0], 1);
    assert_int_equal(kv->v.arr.data[1], 0);
    assert_int_equal(kv->v.arr.data[2], 1);
    assert_non_null(kv = pt_gguf_find_kv(&g, "arr.f32"));
    assert_int_equal(kv->v.arr.count, 2);
    float fa[2];
    memcpy(fa, kv->v.arr.data, sizeof fa); /* host is little-endian here */
    assert_true(fa[0] == 0.5f && fa[1] == -2.0f);
    assert_non_null(kv = pt_gguf_find_kv(&g, "arr.empty"));
    assert_int_equal(kv->v.arr.elem_type, PT_GGUF_UINT8);
    assert_int_equal(kv->v.arr.count, 0);
    assert_non_null(kv = pt_gguf_find_kv(&g, "arr.strs.empty"));
    assert_int_equal(kv->v.arr.elem_type, PT_GGUF_STRING);
    assert_int_equal(kv->v.arr.count, 0);

    pt_gguf_close(&g);
    assert_zeroed(&g);
    pt_gguf_close(&g); /* twice is fine */
    pt_gguf_close(NULL);
    unlink(file_path);
    b_free(&b);
}

static void check_std_tensors(const pt_gguf *g, tspec *t, uint64_t data_offset, uint32_t align)
{
    assert_int_equal(g->data_offset, data_offset);
    assert_int_equal(g->data_offset % align, 0);
    assert_int_equal(g->n_tensors, STD_N_TENSORS);
    for (size_t i = 0; i < STD_N_TENSORS; i++) {
        const pt_gguf_tensor *gt = pt_gguf_find_tensor(g, t[i].name);
        assert_non_null(gt);
        assert_ptr_equal(gt, &g->tensors[i]); /* file order is kept */
        const pt_tensor_view *v = &gt->view;
        assert_string_equal(v->name, t[i].name);
        assert_ptr_equal(v->name, gt->name);
        assert_int_equal(gt->ggml_type, t[i].type);
        assert_int_equal(v->n_dims, (int)t[i].n_dims);
        int64_t n = 1;
        for (uint32_t d = 0; d < t[i].n_dims; d++) {
            assert_int_equal(gt->ne[d], t[i].ne[d]);
            assert_int_equal(v->shape[d], (int64_t)t[i].ne[t[i].n_dims - 1 - d]);
            n *= (int64_t)t[i].ne[d];
        }
        for (uint32_t d = t[i].n_dims; d < PT_MAX_DIMS; d++) assert_int_equal(gt->ne[d], 1);
        assert_int_equal(v->n_elements, n);
        assert_int_equal(v->n_bytes, t[i].n_bytes);
        assert_int_equal(v->file_offset, data_offset + t[i].rel);
        assert_int_equal(v->file_offset % align, 0);
        assert_ptr_equal(v->data, g->file.data + v->file_offset);
        assert_memory_equal(v->data, t[i].data, t[i].n_bytes);
    }
    const pt_tensor_view *v = &g->tensors[0].view;
    assert_int_equal(v->dtype, PT_DTYPE_F32);
    assert_string_equal(v->dtype_name, "F32");
    assert_int_equal(v->shape[0], 2);
    assert_int_equal(v->shape[1], 3);
    float f;
    memcpy(&f, (const unsigned char *)v->data + 5 * 4, 4);
    assert_true(f == 3.25f);

    v = &g->tensors[1].view;
    assert_int_equal(v->dtype, PT_DTYPE_F16);
    assert_string_equal(v->dtype_name, "F16");
    assert_int_equal(v->shape[0], 2);
    assert_int_equal(v->shape[1], 3);
    assert_int_equal(v->shape[2], 4);
    for (int i = 0; i < 24; i++) {
        uint16_t h;
        memcpy(&h, (const unsigned char *)v->data + 2 * i, 2);
        assert_true(pt_f16_to_f32(h) == attn_value(i));
    }

    v = &g->tensors[2].view;
    assert_int_equal(v->dtype, PT_DTYPE_BF16);
    assert_string_equal(v->dtype_name, "BF16");
    assert_int_equal(v->shape[0], 5);
    for (int i = 0; i < 5; i++) {
        uint16_t h;
        memcpy(&h, (const unsigned char *)v->data + 2 * i, 2);
        assert_true(pt_bf16_to_f32(h) == norm_value(i));
    }
    assert_null(pt_gguf_find_tensor(g, "absent.weight"));
}

static void test_tensor_views(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    uint64_t data_offset;
    std_file(&b, 3, 0, t, &data_offset);
    pt_gguf g;
    open_ok(&b, &g);
    check_std_tensors(&g, t, data_offset, 32);
    /* the last tensor ends the file */
    const pt_tensor_view *last = &g.tensors[STD_N_TENSORS - 1].view;
    assert_int_equal(last->file_offset + last->n_bytes, b.n);
    pt_gguf_close(&g);
    unlink(file_path);
    b_free(&b);
}

static void test_alignment_64(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    uint64_t data_offset;
    std_file(&b, 3, 64, t, &data_offset);
    pt_gguf g;
    open_ok(&b, &g);
    assert_int_equal(g.alignment, 64);
    uint32_t a;
    assert_int_equal(pt_gguf_get_u32(&g, "general.alignment", &a), PTUNE_OK);
    assert_int_equal(a, 64);
    check_std_tensors(&g, t, data_offset, 64);
    pt_gguf_close(&g);
    unlink(file_path);
    b_free(&b);
}

static void test_version_2(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    uint64_t data_offset;
    std_file(&b, 2, 0, t, &data_offset);
    pt_gguf g;
    open_ok(&b, &g);
    assert_int_equal(g.version, 2);
    check_std_tensors(&g, t, data_offset, 32);
    pt_gguf_close(&g);
    unlink(file_path);
    b_free(&b);
}

static void test_no_tensors(void **state)
{
    (void)state;
    buf k = {0}, b = {0};
    b_key(&k, "general.architecture", PT_GGUF_STRING);
    b_str(&k, "gpt2");
    b_file(&b, 3, &k, 1, NULL, 0, 32, NULL);
    pt_gguf g;
    open_ok(&b, &g);
    assert_int_equal(g.n_tensors, 0);
    assert_null(pt_gguf_find_tensor(&g, "x"));
    pt_gguf_close(&g);

    /* nothing at all after the header */
    b_free(&b);
    b_file(&b, 3, NULL, 0, NULL, 0, 32, NULL);
    open_ok(&b, &g);
    assert_int_equal(g.n_kv, 0);
    assert_null(pt_gguf_find_kv(&g, "general.architecture"));
    pt_gguf_close(&g);
    unlink(file_path);
    b_free(&k);
    b_free(&b);
}

static void test_type_names_and_quant_sizes(void **state)
{
    (void)state;
    assert_string_equal(pt_ggml_type_name(0), "F32");
    assert_string_equal(pt_ggml_type_name(1), "F16");
    assert_string_equal(pt_ggml_type_name(2), "Q4_0");
    assert_string_equal(pt_ggml_type_name(8), "Q8_0");
    assert_string_equal(pt_ggml_type_name(12), "Q4_K");
    assert_string_equal(pt_ggml_type_name(14), "Q6_K");
    assert_string_equal(pt_ggml_type_name(24), "I8");
    assert_string_equal(pt_ggml_type_name(28), "F64");
    assert_string_equal(pt_ggml_type_name(30), "BF16");
    assert_string_equal(pt_ggml_type_name(4), "unknown");
    assert_string_equal(pt_ggml_type_name(99), "unknown");
    assert_string_equal(pt_ggml_type_name(UINT32_MAX), "unknown");

    static const struct {
        uint32_t type; uint64_t ne0; uint64_t ne1; size_t bytes; pt_dtype dtype; const char *name;
    } cases[] = {
        {2, 64, 2, 4 * 18, PT_DTYPE_Q4_0, "Q4_0"},   {3, 32, 1, 20, PT_DTYPE_Q4_1, "Q4_1"},
        {6, 32, 3, 3 * 22, PT_DTYPE_Q5_0, "Q5_0"},   {7, 32, 1, 24, PT_DTYPE_Q5_1, "Q5_1"},
        {8, 64, 1, 2 * 34, PT_DTYPE_Q8_0, "Q8_0"},   {9, 32, 1, 36, PT_DTYPE_OTHER, "Q8_1"},
        {10, 256, 1, 84, PT_DTYPE_OTHER, "Q2_K"},     {11, 256, 1, 110, PT_DTYPE_OTHER, "Q3_K"},
        {12, 256, 2, 288, PT_DTYPE_Q4_K, "Q4_K"},    {13, 512, 1, 352, PT_DTYPE_Q5_K, "Q5_K"},
        {14, 256, 3, 630, PT_DTYPE_Q6_K, "Q6_K"},    {15, 256, 1, 292, PT_DTYPE_OTHER, "Q8_K"},
        {24, 5, 1, 5, PT_DTYPE_OTHER, "I8"},          {25, 5, 1, 10, PT_DTYPE_OTHER, "I16"},
        {26, 5, 1, 20, PT_DTYPE_I32, "I32"},          {27, 5, 1, 40, PT_DTYPE_I64, "I64"},
        {28, 3, 2, 48, PT_DTYPE_F64, "F64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tspec t = {.name = "q.weight", .n_dims = 2, .ne = {cases[i].ne0, cases[i].ne1},
                   .type = cases[i].type, .n_bytes = cases[i].bytes};
        buf b = {0};
        simple_file(&b, &t, 1);
        pt_gguf g;
        open_ok(&b, &g);
        const pt_tensor_view *v = &g.tensors[0].view;
        if (v->n_bytes != cases[i].bytes) fail_msg("%s: n_bytes %zu", cases[i].name, v->n_bytes);
        assert_int_equal(v->dtype, cases[i].dtype);
        assert_string_equal(v->dtype_name, cases[i].name);
        assert_int_equal(v->n_elements, (int64_t)(cases[i].ne0 * cases[i].ne1));
        pt_gguf_close(&g);
        b_free(&b);
    }
    unlink(file_path);
}

/* ------------------------------------------------------------------------------------------ */
/* Hostile files                                                                               */

static void test_truncated(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    uint64_t data_offset;
    std_file(&b, 3, 0, t, &data_offset);
    buf cut = {0};
    /* every byte of the header region (header, kvs, tensor infos, padding) */
    for (size_t n = 0; n <= data_offset; n++) {
        cut.n = 0;
        b_put(&cut, b.p, n);
        write_buf(&cut);
        pt_gguf g;
        ptune_status s = pt_gguf_open(file_path, &g);
        if (s != PTUNE_E_FORMAT) fail_msg("cut at %zu: status %d (%s)", n, s, ptune_last_error());
        assert_zeroed(&g);
        const char *msg = ptune_last_error();
        if (!strstr(msg, file_path) ||
            !(strstr(msg, "truncated") || strstr(msg, "past end") || strstr(msg, "empty") ||
              strstr(msg, "cannot fit")))
            fail_msg("cut at %zu: unexpected message %s", n, msg);
    }
    /* every 1/16 of the whole file */
    for (size_t k = 1; k < 16; k++) {
        size_t n = b.n * k / 16;
        cut.n = 0;
        b_put(&cut, b.p, n);
        char off[32];
        snprintf(off, sizeof off, "%zu", n);
        if (n > data_offset)
            expect_open_fail(&cut, PTUNE_E_FORMAT, "past end of file", off);
        else
            expect_open_fail(&cut, PTUNE_E_FORMAT, NULL, NULL);
    }
    /* the whole file is fine */
    pt_gguf g;
    open_ok(&b, &g);
    pt_gguf_close(&g);
    /* the messages name the offset and the item */
    cut.n = 0;
    b_put(&cut, b.p, 30);
    expect_open_fail(&cut, PTUNE_E_FORMAT, "kv count 26 at offset 16", "truncated");
    b.n = 0;
    std_file(&b, 3, 0, t, &data_offset); /* sets last_info_end */
    cut.n = 0;
    b_put(&cut, b.p, last_info_end - 4);
    char msg[96];
    snprintf(msg, sizeof msg, "truncated at offset %zu reading the data offset", last_info_end - 8);
    expect_open_fail(&cut, PTUNE_E_FORMAT, msg, "tensor 'z.last'");
    unlink(file_path);
    b_free(&cut);
    b_free(&b);
}

/* Every byte of the metadata and tensor infos changed a few ways: the reader must either
 * accept the file with every view inside it, or fail cleanly with a message (no crash under
 * the sanitizers, no leak, *out zeroed). */
static void test_byte_mutations(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    uint64_t data_offset;
    std_file(&b, 3, 0, t, &data_offset);
    unsigned char *orig = malloc(b.n);
    assert_non_null(orig);
    memcpy(orig, b.p, b.n);
    int n_ok = 0, n_fail = 0;
    for (size_t pos = 0; pos < data_offset; pos++) {
        const unsigned char vals[4] = {0x00, 0xff, (unsigned char)(orig[pos] ^ 1u),
                                       (unsigned char)(orig[pos] ^ 0x80u)};
        for (int k = 0; k < 4; k++) {
            if (vals[k] == orig[pos]) continue;
            b.p[pos] = vals[k];
            write_buf(&b);
            pt_gguf g;
            ptune_status s = pt_gguf_open(file_path, &g);
            if (s == PTUNE_OK) {
                n_ok++;
                for (uint64_t i = 0; i < g.n_tensors; i++) {
                    const pt_tensor_view *v = &g.tensors[i].view;
                    assert_true(v->file_offset + v->n_bytes <= g.file.size);
                    assert_true(v->n_elements > 0);
                }
                pt_gguf_close(&g);
            } else {
                n_fail++;
                if (s != PTUNE_E_FORMAT && s != PTUNE_E_UNSUPPORTED)
                    fail_msg("byte %zu = %u: status %d (%s)", pos, vals[k], s, ptune_last_error());
                assert_zeroed(&g);
                assert_error_contains(file_path);
            }
        }
        b.p[pos] = orig[pos];
    }
    assert_true(n_ok > 0 && n_fail > 0);
    unlink(file_path);
    free(orig);
    b_free(&b);
}

static void test_bad_magic_and_versions(void **state)
{
    (void)state;
    buf b = {0};
    tspec t[STD_N_TENSORS];
    std_file(&b, 3, 0, t, NULL);
    b.p[3] = 'G';
    expect_open_fail(&b, PTUNE_E_FORMAT, "magic", "offset 0");
    b.p[3] = 'F';

    b.p[4] = 1;
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "version 1", "offset 4");
    b.p[4] = 4;
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "version 4", NULL);
    b.p[4] = 0;
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "version 0", NULL);
    /* a big-endian file: the version reads byte-swapped */
    b.p[4] = 0; b.p[5] = 0; b.p[6] = 0; b.p[7] = 3;
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "big-endian GGUF", NULL);
    b.p[4] = 3; b.p[7] = 0;

    buf tiny = {0};
    b_put(&tiny, "GGU", 3);
    expect_open_fail(&tiny, PTUNE_E_FORMAT, "truncated at offset 0", "magic");
    b_free(&tiny);
    b_put(&tiny, "GGUF\x03\x00", 6);
    expect_open_fail(&tiny, PTUNE_E_FORMAT, "truncated at offset 4", "version");
    b_free(&tiny);
    b_free(&b);
}

static void test_tensor_past_eof(void **state)
{
    (void)state;
    tspec t[2] = {
        {.name = "a.weight", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32},
        {.name = "far.weight", .n_dims = 2, .ne = {8, 2}, .type = 0, .n_bytes = 64,
         .force_offset = true, .offset = 4096},
    };
    buf b = {0};
    simple_file(&b, t, 2);
    expect_open_fail(&b, PTUNE_E_FORMAT, "far.weight", "past end of file");
    char size[64];
    snprintf(size, sizeof size, "(size %zu)", b.n);
    expect_open_fail(&b, PTUNE_E_FORMAT, size, NULL);
    b_free(&b);

    /* an offset so large that offset + data start wraps around */
    t[1].offset = UINT64_MAX - 31;
    simple_file(&b, t, 2);
    expect_open_fail(&b, PTUNE_E_FORMAT, "far.weight", "past end of file");
    b_free(&b);
}

static void test_shape_overflow(void **state)
{
    (void)state;
    tspec t = {.name = "huge.weight", .n_dims = 2, .ne = {1ull << 40, 1ull << 40}, .type = 0,
               .n_bytes = 32};
    buf b = {0};
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "huge.weight", "shape product overflows");
    b_free(&b);

    /* a single dimension above INT64_MAX */
    t.n_dims = 1;
    t.ne[0] = UINT64_MAX;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "huge.weight", "overflows");
    b_free(&b);

    /* elements fit in int64 but bytes do not: 2^62 F32 */
    t.ne[0] = 1ull << 62;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "huge.weight", NULL);
    b_free(&b);

    /* fits, but the data is not there */
    t.n_dims = 2;
    t.ne[0] = 1ull << 20;
    t.ne[1] = 1ull << 20;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "huge.weight", "past end of file");
    b_free(&b);
}

static void test_unknown_type(void **state)
{
    (void)state;
    tspec t[2] = {
        {.name = "ok.weight", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32},
        {.name = "odd.weight", .n_dims = 1, .ne = {8}, .type = 99, .n_bytes = 32},
    };
    buf b = {0};
    simple_file(&b, t, 2);
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "odd.weight", "99");
    b_free(&b);
    /* a real ggml type this reader cannot size (IQ4_NL) */
    t[1].type = 20;
    simple_file(&b, t, 2);
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "odd.weight", "IQ4_NL");
    b_free(&b);
}

static void test_block_row_size(void **state)
{
    (void)state;
    tspec t = {.name = "q.weight", .n_dims = 2, .ne = {100, 4}, .type = 12, .n_bytes = 1024};
    buf b = {0};
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "q.weight", "multiple of the Q4_K block size 256");
    b_free(&b);
    t.type = 8;
    t.ne[0] = 48;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "q.weight", "Q8_0");
    b_free(&b);
}

static void test_duplicates(void **state)
{
    (void)state;
    buf k = {0}, b = {0};
    b_key(&k, "general.architecture", PT_GGUF_STRING); b_str(&k, "llama");
    b_key(&k, "a.key", PT_GGUF_UINT32); b_u32(&k, 1);
    size_t dup_at = 24 + k.n;
    b_key(&k, "a.key", PT_GGUF_UINT8); b_u8(&k, 2);
    kv_file(&b, &k, 3);
    char off[64];
    snprintf(off, sizeof off, "offset %zu", dup_at);
    expect_open_fail(&b, PTUNE_E_FORMAT, "duplicate key 'a.key'", off);
    b_free(&k);
    b_free(&b);

    tspec t[3] = {
        {.name = "x.weight", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32},
        {.name = "y.weight", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32},
        {.name = "x.weight", .n_dims = 1, .ne = {4}, .type = 0, .n_bytes = 16},
    };
    simple_file(&b, t, 3);
    expect_open_fail(&b, PTUNE_E_FORMAT, "duplicate tensor 'x.weight'", NULL);
    b_free(&b);
}

static void test_overlap(void **state)
{
    (void)state;
    tspec t[3] = {
        {.name = "a.weight", .n_dims = 1, .ne = {16}, .type = 0, .n_bytes = 64},
        {.name = "b.weight", .n_dims = 1, .ne = {16}, .type = 0, .n_bytes = 64},
        {.name = "c.weight", .n_dims = 1, .ne = {16}, .type = 0, .n_bytes = 64,
         .force_offset = true, .offset = 32},
    };
    buf b = {0};
    simple_file(&b, t, 3);
    expect_open_fail(&b, PTUNE_E_FORMAT, "overlap", "c.weight");
    b_free(&b);
}

static void test_nested_array(void **state)
{
    (void)state;
    buf k = {0}, b = {0};
    b_key(&k, "nested", PT_GGUF_ARRAY);
    b_u32(&k, PT_GGUF_ARRAY);
    b_u64(&k, 1);
    b_u32(&k, PT_GGUF_UINT8);
    b_u64(&k, 1);
    b_u8(&k, 7);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_UNSUPPORTED, "nested", "'nested'");
    b_free(&k);
    b_free(&b);
}

static void test_huge_counts(void **state)
{
    (void)state;
    buf b = {0};
    /* kv count 2^62 */
    b_put(&b, "GGUF", 4); b_u32(&b, 3); b_u64(&b, 0); b_u64(&b, 1ull << 62);
    b_key(&b, "k", PT_GGUF_UINT8); b_u8(&b, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "kv count 4611686018427387904", "offset 16");
    b_free(&b);
    /* tensor count 2^62 */
    b_put(&b, "GGUF", 4); b_u32(&b, 3); b_u64(&b, 1ull << 62); b_u64(&b, 1);
    b_key(&b, "k", PT_GGUF_UINT8); b_u8(&b, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "tensor count 4611686018427387904", NULL);
    b_free(&b);
    /* tensor count one more than there are infos */
    tspec t = {.name = "w", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32};
    simple_file(&b, &t, 1);
    b.p[8] = 2;
    expect_open_fail(&b, PTUNE_E_FORMAT, NULL, NULL);
    b_free(&b);

    buf k = {0};
    /* a string value of 2^62 bytes */
    b_key(&k, "big.str", PT_GGUF_STRING); b_u64(&k, 1ull << 62); b_put(&k, "abc", 3);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "truncated", "big.str");
    b_free(&k); b_free(&b);
    /* a key of 2^63 bytes */
    b_u64(&k, 1ull << 63); b_put(&k, "abc", 3);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "truncated at offset 32", "key of kv #0");
    b_free(&k); b_free(&b);
    /* a u32 array of 2^61 elements */
    b_key(&k, "big.arr", PT_GGUF_ARRAY); b_u32(&k, PT_GGUF_UINT32); b_u64(&k, 1ull << 61);
    b_u32(&k, 1);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "big.arr", "2305843009213693952");
    b_free(&k); b_free(&b);
    /* a string array of 2^60 elements */
    b_key(&k, "big.strs", PT_GGUF_ARRAY); b_u32(&k, PT_GGUF_STRING); b_u64(&k, 1ull << 60);
    b_str(&k, "x");
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "big.strs", "1152921504606846976");
    b_free(&k); b_free(&b);
    /* a string array whose third element is too long */
    b_key(&k, "strs", PT_GGUF_ARRAY); b_u32(&k, PT_GGUF_STRING); b_u64(&k, 3);
    b_str(&k, "x"); b_str(&k, "y"); b_u64(&k, 1000000); b_put(&k, "z", 1);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "string 2 of 3", "'strs'");
    b_free(&k); b_free(&b);
}

static void test_bad_values(void **state)
{
    (void)state;
    buf k = {0}, b = {0};
    b_key(&k, "flag", PT_GGUF_BOOL); b_u8(&k, 2);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "'flag'", "bool value 2");
    b_free(&k); b_free(&b);

    b_key(&k, "flags", PT_GGUF_ARRAY); b_u32(&k, PT_GGUF_BOOL); b_u64(&k, 3);
    b_u8(&k, 0); b_u8(&k, 1); b_u8(&k, 255);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "'flags'", "bool value 255");
    b_free(&k); b_free(&b);

    b_key(&k, "weird", 13); b_u8(&k, 0);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "'weird'", "invalid value type 13");
    b_free(&k); b_free(&b);

    b_key(&k, "weird.arr", PT_GGUF_ARRAY); b_u32(&k, 77); b_u64(&k, 0);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "'weird.arr'", "77");
    b_free(&k); b_free(&b);

    b_key(&k, "", PT_GGUF_UINT8); b_u8(&k, 0);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "key of kv #0", "empty");
    b_free(&k); b_free(&b);

    b_key(&k, "ok", PT_GGUF_UINT8); b_u8(&k, 0);
    b_key(&k, "bad\xff", PT_GGUF_UINT8); b_u8(&k, 0);
    kv_file(&b, &k, 2);
    expect_open_fail(&b, PTUNE_E_FORMAT, "key of kv #1", "UTF-8");
    b_free(&k); b_free(&b);

    b_u64(&k, 3); b_put(&k, "a\0b", 3); b_u32(&k, PT_GGUF_UINT8); b_u8(&k, 0);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "NUL", NULL);
    b_free(&k); b_free(&b);

    tspec t = {.name = "", .n_dims = 1, .ne = {8}, .type = 0, .n_bytes = 32};
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "name of tensor #0", "empty");
    b_free(&b);
}

static void test_bad_alignment(void **state)
{
    (void)state;
    static const uint32_t bad[] = {3, 0, 48};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf k = {0}, b = {0};
        b_key(&k, "general.alignment", PT_GGUF_UINT32);
        b_u32(&k, bad[i]);
        kv_file(&b, &k, 1);
        char msg[64];
        snprintf(msg, sizeof msg, "alignment %u is not a nonzero power of two", bad[i]);
        expect_open_fail(&b, PTUNE_E_FORMAT, "general.alignment", msg);
        b_free(&k);
        b_free(&b);
    }
    buf k = {0}, b = {0};
    b_key(&k, "general.alignment", PT_GGUF_UINT64);
    b_u64(&k, 32);
    kv_file(&b, &k, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "general.alignment", "u64");
    b_free(&k);
    b_free(&b);
}

static void test_misaligned_offset(void **state)
{
    (void)state;
    tspec t[2] = {
        {.name = "a.weight", .n_dims = 1, .ne = {2}, .type = 0, .n_bytes = 8},
        {.name = "b.weight", .n_dims = 1, .ne = {2}, .type = 0, .n_bytes = 8,
         .force_offset = true, .offset = 8},
    };
    buf b = {0};
    simple_file(&b, t, 2);
    expect_open_fail(&b, PTUNE_E_FORMAT, "b.weight", "not a multiple of the alignment 32");
    b_free(&b);
}

static void test_bad_dims(void **state)
{
    (void)state;
    tspec t = {.name = "five.weight", .n_dims = 5, .ne = {1, 1, 1, 1, 1}, .type = 0,
               .n_bytes = 32};
    buf b = {0};
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "five.weight", "n_dims 5");
    b_free(&b);

    t.n_dims = 0;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "five.weight", "n_dims 0");
    b_free(&b);

    t.n_dims = 2;
    t.ne[0] = 4;
    t.ne[1] = 0;
    simple_file(&b, &t, 1);
    expect_open_fail(&b, PTUNE_E_FORMAT, "five.weight", "ne[1]");
    b_free(&b);
}

static void test_empty_file(void **state)
{
    (void)state;
    buf b = {0}; /* zero bytes */
    expect_open_fail(&b, PTUNE_E_FORMAT, "empty", NULL);
}

static void test_io_errors(void **state)
{
    (void)state;
    pt_gguf g;
    memset(&g, 0x5a, sizeof g);
    assert_int_equal(pt_gguf_open(tmpdir, &g), PTUNE_E_IO);
    assert_zeroed(&g);
    assert_error_contains(tmpdir);
    assert_error_contains("directory");

    char missing[4300];
    snprintf(missing, sizeof missing, "%s/does-not-exist.gguf", tmpdir);
    memset(&g, 0x5a, sizeof g);
    assert_int_equal(pt_gguf_open(missing, &g), PTUNE_E_IO);
    assert_zeroed(&g);
    assert_error_contains("does-not-exist.gguf");

    assert_int_equal(pt_gguf_open(NULL, &g), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_gguf_open(missing, NULL), PTUNE_E_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_roundtrip),
        cmocka_unit_test(test_tensor_views),
        cmocka_unit_test(test_alignment_64),
        cmocka_unit_test(test_version_2),
        cmocka_unit_test(test_no_tensors),
        cmocka_unit_test(test_type_names_and_quant_sizes),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_byte_mutations),
        cmocka_unit_test(test_bad_magic_and_versions),
        cmocka_unit_test(test_tensor_past_eof),
        cmocka_unit_test(test_shape_overflow),
        cmocka_unit_test(test_unknown_type),
        cmocka_unit_test(test_block_row_size),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_overlap),
        cmocka_unit_test(test_nested_array),
        cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_alignment),
        cmocka_unit_test(test_misaligned_offset),
        cmocka_unit_test(test_bad_dims),
        cmocka_unit_test(test_empty_file),
        cmocka_unit_test(test_io_errors),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
