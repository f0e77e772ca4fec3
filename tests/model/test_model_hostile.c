/* Hostile model inputs through the public ptune_model_load: corrupted copies of the GGUF and HF
 * fixtures (truncation, headers, tensor infos, keys, config.json, safetensors, shards, NaN/Inf). */
#include "test_support.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "formats/safetensors.h"
#include "formats/safetensors_write.h"
#include "ptune/ptune.h"

#define PLEN 4096
#define LLAMA_PARAMS 201920
#define GPT2_PARAMS 191040

/* ---------------------------------------------------------------------------------------
 * Per-test temporary directory (removed by the teardown even when the test fails)
 * ------------------------------------------------------------------------------------- */
typedef struct env {
    char *dir;
} env;

static int env_setup(void **state)
{
    env *e = calloc(1, sizeof *e);
    if (!e) return -1;
    e->dir = pt_test_tmpdir();
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    env *e = *state;
    if (e) {
        pt_test_rmtree(e->dir);
        free(e->dir);
        free(e);
    }
    return 0;
}

static void jp(char *buf, const char *dir, const char *name)
{
    int n = snprintf(buf, PLEN, "%s/%s", dir, name);
    assert_true(n > 0 && n < PLEN);
}

/* ---------------------------------------------------------------------------------------
 * Load expectations
 * ------------------------------------------------------------------------------------- */
static void expect_fail_at(const char *path, ptune_status want, const char *const *subs, const char *file,
                           int line)
{
    /* a stale message from an earlier case must not satisfy the checks */
    pt_fail(PTUNE_E_STATE, "stale sentinel message");
    ptune_model *m = NULL;
    ptune_status s = ptune_model_load(path, NULL, &m);
    const char *msg = ptune_last_error();
    if (s != want) {
        if (s == PTUNE_OK) ptune_model_free(m);
        fail_msg("%s:%d: loading %s gave %d (%s), expected %d (%s); message: %s", file, line, path, s,
                 ptune_status_str(s), want, ptune_status_str(want), msg);
    }
    if (m != NULL) fail_msg("%s:%d: loading %s failed but set the out pointer", file, line, path);
    if (strstr(msg, "stale sentinel")) fail_msg("%s:%d: loading %s failed without a message", file, line, path);
    for (; *subs; subs++)
        if (!strstr(msg, *subs))
            fail_msg("%s:%d: loading %s: message lacks \"%s\": %s", file, line, path, *subs, msg);
}

/* EXPECT_FAIL(path, status, "substring", ...): status, NULL out pointer, every substring. */
#define EXPECT_FAIL(path, status, ...) \
    expect_fail_at((path), (status), (const char *const[]){__VA_ARGS__, NULL}, __FILE__, __LINE__)

static ptune_model *expect_load(const char *path)
{
    ptune_model *m = NULL;
    ptune_status s = ptune_model_load(path, NULL, &m);
    if (s != PTUNE_OK) fail_msg("loading %s: %d (%s): %s", path, s, ptune_status_str(s), ptune_last_error());
    assert_non_null(m);
    return m;
}

/* ---------------------------------------------------------------------------------------
 * Byte buffers
 * ------------------------------------------------------------------------------------- */
typedef struct blob {
    unsigned char *d;
    size_t n;
} blob;

static blob read_blob(const char *path)
{
    blob b;
    b.d = pt_test_read_file(path, &b.n);
    return b;
}

static blob fixture_blob(const char *rel)
{
    char *p = pt_test_shared_path(rel);
    blob b = read_blob(p);
    free(p);
    return b;
}

static void write_blob(const char *path, const blob *b, size_t n)
{
    assert_true(n <= b->n);
    pt_test_write_file(path, b->d, n);
}

static void copy_file(const char *from, const char *to)
{
    blob b = read_blob(from);
    write_blob(to, &b, b.n);
    free(b.d);
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void wr64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* First occurrence of `needle` at or after `from`, or SIZE_MAX. */
static size_t find_bytes(const blob *b, size_t from, const void *needle, size_t n)
{
    for (size_t i = from; n <= b->n && i <= b->n - n; i++)
        if (b->d[i] == *(const unsigned char *)needle && memcmp(b->d + i, needle, n) == 0) return i;
    return SIZE_MAX;
}

/* ---------------------------------------------------------------------------------------
 * GGUF surgery: an independent minimal walker plus search-and-patch helpers
 * ------------------------------------------------------------------------------------- */
#define GGUF_ALIGN 32u

typedef struct gguf_layout {
    uint64_t n_tensors, n_kv;
    size_t kv_end;     /* first tensor info */
    size_t infos_end;  /* end of the last tensor info */
    size_t data_start; /* aligned start of the data section */
} gguf_layout;

static size_t gguf_value_size(const blob *b, size_t p, uint32_t type)
{
    static const size_t scalar[13] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    assert_true(type <= 12);
    assert_true(p + 8 <= b->n);
    if (type == 8) return 8 + (size_t)rd64(b->d + p);
    if (type == 9) {
        uint32_t et = rd32(b->d + p);
        uint64_t count = rd64(b->d + p + 4);
        size_t q = p + 12;
        if (et != 8) return 12 + (size_t)count * scalar[et];
        for (uint64_t i = 0; i < count; i++) q += gguf_value_size(b, q, et);
        return q - p;
    }
    return scalar[type];
}

static gguf_layout gguf_walk(const blob *b)
{
    gguf_layout L;
    assert_true(b->n >= 24 && memcmp(b->d, "GGUF", 4) == 0);
    L.n_tensors = rd64(b->d + 8);
    L.n_kv = rd64(b->d + 16);
    size_t p = 24;
    for (uint64_t i = 0; i < L.n_kv; i++) {
        p += 8 + (size_t)rd64(b->d + p);
        uint32_t type = rd32(b->d + p);
        p += 4;
        p += gguf_value_size(b, p, type);
        assert_true(p <= b->n);
    }
    L.kv_end = p;
    for (uint64_t i = 0; i < L.n_tensors; i++) {
        p += 8 + (size_t)rd64(b->d + p);
        uint32_t nd = rd32(b->d + p);
        p += 4 + 8 * (size_t)nd + 4 + 8;
        assert_true(p <= b->n);
    }
    L.infos_end = p;
    L.data_start = (p + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
    return L;
}

/* Offset of the GGUF string "<u64 length><bytes of s>" at or after `from`; fails if absent. */
static size_t gguf_find_str(const blob *b, size_t from, const char *s)
{
    size_t len = strlen(s);
    unsigned char pat[8 + 256];
    assert_true(len <= 256);
    wr64(pat, len);
    memcpy(pat + 8, s, len);
    size_t at = find_bytes(b, from, pat, len + 8);
    if (at == SIZE_MAX) fail_msg("GGUF string \"%s\" not found", s);
    return at;
}

/* Offset of the value of metadata key `key` (after its u32 type, which must be `type`). */
static size_t gguf_kv_value(const blob *b, const char *key, uint32_t type)
{
    size_t at = gguf_find_str(b, 24, key) + 8 + strlen(key);
    assert_int_equal(rd32(b->d + at), type);
    return at + 4;
}

/* Renames a key or tensor name in place by replacing its last byte. */
static void gguf_rename_last_byte(blob *b, size_t from, const char *name, char c)
{
    size_t at = gguf_find_str(b, from, name);
    b->d[at + 8 + strlen(name) - 1] = (unsigned char)c;
}

typedef struct tinfo {
    size_t name_at;   /* the u64 name length */
    uint32_t n_dims;
    size_t ne_at;     /* n_dims x u64 */
    size_t type_at;   /* u32 ggml type */
    size_t offset_at; /* u64 data offset relative to the data section */
} tinfo;

/* Locates a tensor info by its length-prefixed name (searched after the metadata). */
static tinfo gguf_tensor(const blob *b, const char *name)
{
    tinfo t;
    t.name_at = gguf_find_str(b, gguf_walk(b).kv_end, name);
    size_t p = t.name_at + 8 + strlen(name);
    t.n_dims = rd32(b->d + p);
    assert_true(t.n_dims >= 1 && t.n_dims <= 4);
    t.ne_at = p + 4;
    t.type_at = t.ne_at + 8 * (size_t)t.n_dims;
    t.offset_at = t.type_at + 4;
    return t;
}

/* Absolute file offset of element `i` of a tensor whose elements are `esize` bytes. */
static size_t gguf_element_at(const blob *b, const char *name, uint32_t want_type, size_t esize, size_t i)
{
    tinfo t = gguf_tensor(b, name);
    assert_int_equal(rd32(b->d + t.type_at), want_type);
    size_t at = gguf_walk(b).data_start + (size_t)rd64(b->d + t.offset_at) + esize * i;
    assert_true(at + esize <= b->n);
    return at;
}

/* Appends a metadata key/value after the last one (the payload is the raw value bytes), moving
 * the tensor infos and re-aligning the data section so every relative offset stays valid. */
static void gguf_append_kv(blob *b, const char *key, uint32_t type, const void *payload, size_t payload_len)
{
    gguf_layout L = gguf_walk(b);
    size_t klen = strlen(key), kv_len = 8 + klen + 4 + payload_len;
    size_t infos_len = L.infos_end - L.kv_end, data_len = b->n - L.data_start;
    size_t infos_end = L.infos_end + kv_len;
    size_t data_start = (infos_end + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
    blob out = {calloc(1, data_start + data_len), data_start + data_len};
    assert_non_null(out.d);
    memcpy(out.d, b->d, L.kv_end);
    unsigned char *p = out.d + L.kv_end;
    wr64(p, klen);
    memcpy(p + 8, key, klen);
    wr32(p + 8 + klen, type);
    memcpy(p + 12 + klen, payload, payload_len);
    memcpy(out.d + L.kv_end + kv_len, b->d + L.kv_end, infos_len);
    memcpy(out.d + data_start, b->d + L.data_start, data_len);
    wr64(out.d + 16, L.n_kv + 1);
    free(b->d);
    *b = out;
}

static void gguf_append_str(blob *b, const char *key, const char *value)
{
    size_t n = strlen(value);
    unsigned char buf[8 + 256];
    assert_true(n <= 256);
    wr64(buf, n);
    memcpy(buf + 8, value, n);
    gguf_append_kv(b, key, 8, buf, 8 + n);
}

static void gguf_append_u32(blob *b, const char *key, uint32_t value)
{
    unsigned char buf[4];
    wr32(buf, value);
    gguf_append_kv(b, key, 4, buf, 4);
}

/* Writes `b` as <dir>/<name> and returns the path in `path`. */
static void save_as(const env *e, const char *name, const blob *b, char *path)
{
    jp(path, e->dir, name);
    write_blob(path, b, b->n);
}

/* ---------------------------------------------------------------------------------------
 * HF directories: copies, config.json edits, safetensors edits
 * ------------------------------------------------------------------------------------- */
static void hf_copy(const env *e, const char *model)
{
    static const char *const files[] = {"config.json", "model.safetensors"};
    for (size_t i = 0; i < 2; i++) {
        char rel[512], dst[PLEN];
        snprintf(rel, sizeof rel, "fixtures/models/%s/%s", model, files[i]);
        char *src = pt_test_shared_path(rel);
        jp(dst, e->dir, files[i]);
        copy_file(src, dst);
        free(src);
    }
}

static json_t *cfg_load(const env *e)
{
    char p[PLEN];
    jp(p, e->dir, "config.json");
    json_error_t err;
    json_t *j = json_load_file(p, 0, &err);
    if (!j) fail_msg("%s: %s", p, err.text);
    return j;
}

static void cfg_save(const env *e, json_t *cfg)
{
    char p[PLEN];
    jp(p, e->dir, "config.json");
    assert_int_equal(json_dump_file(cfg, p, JSON_INDENT(2)), 0);
    json_decref(cfg);
}

/* Sets (value != NULL, reference stolen) or deletes (value == NULL) one config.json field. */
static void cfg_set(const env *e, const char *key, json_t *value)
{
    json_t *cfg = cfg_load(e);
    if (value) assert_int_equal(json_object_set_new(cfg, key, value), 0);
    else assert_int_equal(json_object_del(cfg, key), 0);
    cfg_save(e, cfg);
}

#define ST_MAX 160
#define ST_OWNED 64

/* A safetensors file opened for editing: the tensor list handed to pt_safetensors_write. */
typedef struct st_edit {
    pt_safetensors src;
    pt_st_write_tensor t[ST_MAX];
    size_t n;
    void *owned[ST_OWNED];
    size_t n_owned;
} st_edit;

static void *st_keep(st_edit *e, void *p)
{
    assert_non_null(p);
    assert_true(e->n_owned < ST_OWNED);
    e->owned[e->n_owned++] = p;
    return p;
}

static void st_open(st_edit *e, const char *path)
{
    memset(e, 0, sizeof *e);
    if (pt_safetensors_open(path, &e->src) != PTUNE_OK) fail_msg("%s: %s", path, ptune_last_error());
    assert_true(e->src.n_tensors <= ST_MAX);
    for (size_t i = 0; i < e->src.n_tensors; i++) {
        const pt_tensor_view *v = &e->src.tensors[i];
        pt_st_write_tensor *t = &e->t[e->n++];
        t->name = v->name;
        t->dtype = v->dtype;
        t->n_dims = v->n_dims;
        memcpy(t->shape, v->shape, sizeof t->shape);
        t->data = v->data;
    }
}

static void st_close(st_edit *e)
{
    for (size_t i = 0; i < e->n_owned; i++) free(e->owned[i]);
    pt_safetensors_close(&e->src);
    memset(e, 0, sizeof *e);
}

static pt_st_write_tensor *st_find(st_edit *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (!strcmp(e->t[i].name, name)) return &e->t[i];
    fail_msg("tensor %s not in the edited file", name);
    return NULL;
}

static void st_remove(st_edit *e, const char *name)
{
    pt_st_write_tensor *t = st_find(e, name);
    size_t i = (size_t)(t - e->t);
    memmove(&e->t[i], &e->t[i + 1], (e->n - i - 1) * sizeof *t);
    e->n--;
}

/* Adds a tensor with zeroed data of `n_bytes`; returns its writable data. */
static void *st_add(st_edit *e, const char *name, pt_dtype dtype, int n_dims, const int64_t *shape, size_t n_bytes)
{
    assert_true(e->n < ST_MAX);
    pt_st_write_tensor *t = &e->t[e->n++];
    memset(t, 0, sizeof *t);
    t->name = st_keep(e, strdup(name));
    t->dtype = dtype;
    t->n_dims = n_dims;
    for (int i = 0; i < n_dims; i++) t->shape[i] = shape[i];
    void *data = st_keep(e, calloc(1, n_bytes ? n_bytes : 1));
    t->data = data;
    return data;
}

static size_t st_numel(const pt_st_write_tensor *t)
{
    size_t n = 1;
    for (int i = 0; i < t->n_dims; i++) n *= (size_t)t->shape[i];
    return n;
}

/* Gives a tensor a private writable copy of its data and returns it. */
static void *st_writable(st_edit *e, pt_st_write_tensor *t)
{
    size_t bytes = st_numel(t) * pt_dtype_size(t->dtype);
    void *copy = st_keep(e, malloc(bytes));
    memcpy(copy, t->data, bytes);
    t->data = copy;
    return copy;
}

static void st_save_subset(const st_edit *e, const char *path, size_t first, size_t count)
{
    ptune_status s = pt_safetensors_write(path, e->t + first, count, "{\"format\":\"pt\"}");
    if (s != PTUNE_OK) fail_msg("writing %s: %s", path, ptune_last_error());
}

static void st_save(const st_edit *e, const char *path)
{
    st_save_subset(e, path, 0, e->n);
}

/* Raw header access for corruptions the writer refuses to produce. */
static json_t *st_raw_header(const blob *b, size_t *data_at)
{
    assert_true(b->n >= 8);
    uint64_t len = rd64(b->d);
    assert_true(len <= b->n - 8);
    json_error_t err;
    json_t *h = json_loadb((const char *)b->d + 8, (size_t)len, 0, &err);
    if (!h) fail_msg("fixture header: %s", err.text);
    *data_at = 8 + (size_t)len;
    return h;
}

/* Writes <u64 length><compact header JSON><data bytes> to `path`; consumes `hdr`. */
static void st_raw_write(const char *path, json_t *hdr, const unsigned char *data, size_t n_data)
{
    char *text = json_dumps(hdr, JSON_COMPACT);
    assert_non_null(text);
    size_t len = strlen(text);
    blob out = {malloc(8 + len + n_data), 8 + len + n_data};
    assert_non_null(out.d);
    wr64(out.d, len);
    memcpy(out.d + 8, text, len);
    if (n_data) memcpy(out.d + 8 + len, data, n_data);
    write_blob(path, &out, out.n);
    free(out.d);
    free(text);
    json_decref(hdr);
}

/* ---------------------------------------------------------------------------------------
 * GGUF cases
 * ------------------------------------------------------------------------------------- */
static void test_gguf_truncated(void **state)
{
    env *e = *state;
    static const char *const files[] = {"tiny-llama.gguf", "tiny-gpt2-f16.gguf"};
    for (size_t f = 0; f < 2; f++) {
        char rel[256], path[PLEN];
        snprintf(rel, sizeof rel, "fixtures/models/%s", files[f]);
        blob b = fixture_blob(rel);
        for (size_t k = 0; k < 16; k++) {
            char name[64];
            snprintf(name, sizeof name, "cut%zu-%s", k, files[f]);
            jp(path, e->dir, name);
            write_blob(path, &b, b.n * k / 16);
            EXPECT_FAIL(path, PTUNE_E_FORMAT, path);
        }
        free(b.d);
    }
}

static void test_gguf_bad_magic(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    memcpy(b.d, "GGML", 4);
    save_as(e, "magic.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "not a GGUF file", "magic");
    free(b.d);
}

static void test_gguf_version_1(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    wr32(b.d + 4, 1);
    save_as(e, "v1.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "version 1");
    free(b.d);
}

static void test_gguf_unknown_architecture(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    size_t v = gguf_kv_value(&b, "general.architecture", 8);
    assert_int_equal(rd64(b.d + v), 5);
    assert_memory_equal(b.d + v + 8, "llama", 5);
    b.d[v + 8 + 4] = 'b';
    save_as(e, "llamb.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "\"llamb\"", "not supported");
    free(b.d);
}

static void test_gguf_missing_architecture_key(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_rename_last_byte(&b, 24, "general.architecture", 'X');
    save_as(e, "noarch.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "general.architecture");
    free(b.d);
}

static void test_gguf_offset_past_eof(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.1.ffn_up.weight");
    /* aligned, so only the bounds check can reject it */
    wr64(b.d + t.offset_at, (b.n + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN);
    save_as(e, "offset.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "blk.1.ffn_up.weight", "past end of file");
    free(b.d);
}

static void test_gguf_offset_wraps(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.2.attn_v.weight");
    wr64(b.d + t.offset_at, UINT64_MAX - (GGUF_ALIGN - 1)); /* data_start + offset overflows */
    save_as(e, "wrap.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "blk.2.attn_v.weight", "past end of file");
    free(b.d);
}

static void test_gguf_shape_overflow(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.0.attn_q.weight");
    assert_int_equal(t.n_dims, 2);
    wr64(b.d + t.ne_at, (uint64_t)1 << 40);
    wr64(b.d + t.ne_at + 8, (uint64_t)1 << 40);
    save_as(e, "overflow.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "blk.0.attn_q.weight", "overflow");
    free(b.d);
}

static void test_gguf_unknown_ggml_type(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.0.ffn_gate.weight");
    wr32(b.d + t.type_at, 99);
    save_as(e, "type99.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "blk.0.ffn_gate.weight", "99");
    free(b.d);
}

static void test_gguf_integer_weight(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.2.ffn_norm.weight");
    assert_int_equal(rd32(b.d + t.type_at), 0);
    wr32(b.d + t.type_at, 26); /* I32: same size as F32, so the file stays consistent */
    save_as(e, "i32.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "blk.2.ffn_norm.weight", "I32");
    free(b.d);
}

static void test_gguf_missing_tensor(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "output_norm.weight");
    b.d[t.name_at + 8 + strlen("output_nor")] = 'X'; /* "output_norX.weight" */
    save_as(e, "missing.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "missing tensor", "\"output_norm.weight\"");
    free(b.d);
}

static void test_gguf_missing_tensor_later_layer(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_rename_last_byte(&b, gguf_walk(&b).kv_end, "blk.2.ffn_down.weight", 'Z');
    save_as(e, "missing2.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "missing tensor", "\"blk.2.ffn_down.weight\"");
    free(b.d);
}

static void test_gguf_duplicate_tensor(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    /* blk.0.attn_k.weight -> blk.0.attn_q.weight (same length): two infos share a name */
    tinfo t = gguf_tensor(&b, "blk.0.attn_k.weight");
    b.d[t.name_at + 8 + strlen("blk.0.attn_")] = 'q';
    save_as(e, "dup.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "duplicate tensor", "blk.0.attn_q.weight");
    free(b.d);
}

static void test_gguf_unexpected_tensor(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    /* without "output.weight" the head is tied, and the renamed copy is left unused */
    tinfo t = gguf_tensor(&b, "output.weight");
    b.d[t.name_at + 8 + 5] = 'X'; /* "outpuX.weight" */
    save_as(e, "extra.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "\"outpuX.weight\"", "not used");
    free(b.d);
}

static void test_gguf_missing_hparam(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_rename_last_byte(&b, 24, "llama.embedding_length", 'X');
    save_as(e, "nokey.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "missing required key", "\"llama.embedding_length\"");
    free(b.d);
}

static void test_gguf_missing_eps(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-gpt2-f16.gguf");
    gguf_rename_last_byte(&b, 24, "gpt2.attention.layer_norm_epsilon", 'X');
    save_as(e, "noeps.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "gpt2.attention.layer_norm_epsilon");
    free(b.d);
}

static void test_gguf_hparam_wrong_type(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    size_t v = gguf_kv_value(&b, "llama.block_count", 4);
    wr32(b.d + v - 4, 6); /* u32 -> f32 (same size) */
    save_as(e, "type.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "llama.block_count", "f32");
    free(b.d);
}

static void test_gguf_tensor_wrong_shape(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    tinfo t = gguf_tensor(&b, "blk.0.attn_norm.weight");
    assert_int_equal(rd64(b.d + t.ne_at), 64);
    wr64(b.d + t.ne_at, 32); /* its data now ends early: still inside the file */
    save_as(e, "shape.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "\"blk.0.attn_norm.weight\"", "shape [32]", "expected [64]");
    free(b.d);
}

static void test_gguf_embedding_length_mismatch(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    size_t v = gguf_kv_value(&b, "llama.embedding_length", 4);
    assert_int_equal(rd32(b.d + v), 64);
    wr32(b.d + v, 32);
    save_as(e, "embd.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "\"token_embd.weight\"", "shape", "expected [512, 32]");
    free(b.d);
}

static void test_gguf_vocab_size_mismatch(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    size_t v = gguf_kv_value(&b, "llama.vocab_size", 4);
    wr32(b.d + v, 600);
    save_as(e, "vocab.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "\"token_embd.weight\"", "shape [512, 64]", "expected [600, 64]");
    free(b.d);
}

/* A header claiming 2^31-1 layers must fail on the first missing block, not try to allocate
 * (and clear) storage for them first. */
static void test_gguf_huge_block_count(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    wr32(b.d + gguf_kv_value(&b, "llama.block_count", 4), INT32_MAX);
    save_as(e, "layers.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "missing tensor", "\"blk.3.");
    free(b.d);
}

static void test_gguf_huge_vocab_size(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    wr32(b.d + gguf_kv_value(&b, "llama.vocab_size", 4), INT32_MAX);
    save_as(e, "hugevocab.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "\"token_embd.weight\"", "expected [2147483647, 64]");
    free(b.d);
}

static void test_gguf_context_length_mismatch(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-gpt2-f16.gguf");
    size_t v = gguf_kv_value(&b, "gpt2.context_length", 4);
    assert_int_equal(rd32(b.d + v), 128);
    wr32(b.d + v, 64); /* learned positions: position_embd must have context_length rows */
    save_as(e, "ctx.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "\"position_embd.weight\"", "shape [128, 64]", "expected [64, 64]");
    free(b.d);
}

static void test_gguf_bad_head_count_kv(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    size_t v = gguf_kv_value(&b, "llama.attention.head_count_kv", 4);
    wr32(b.d + v, 3);
    save_as(e, "kv.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "not a multiple of 3");
    free(b.d);
}

static void test_gguf_rope_scaling_key(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_append_str(&b, "llama.rope.scaling.type", "linear");
    save_as(e, "scaling.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_UNSUPPORTED, path, "llama.rope.scaling.type");
    free(b.d);

    /* the same surgery with "none" is harmless: proves the appended key keeps the file valid */
    b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_append_str(&b, "llama.rope.scaling.type", "none");
    save_as(e, "scaling-none.gguf", &b, path);
    ptune_model *m = expect_load(path);
    assert_int_equal(ptune_model_n_params(m), LLAMA_PARAMS);
    ptune_model_free(m);
    free(b.d);
}

static void test_gguf_duplicate_key(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    gguf_append_u32(&b, "llama.block_count", 3);
    save_as(e, "dupkey.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_FORMAT, path, "duplicate key", "llama.block_count");
    free(b.d);
}

static void test_gguf_nan_weight(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-llama.gguf");
    wr32(b.d + gguf_element_at(&b, "blk.1.attn_norm.weight", 0, 4, 7), 0x7fc00000u);
    save_as(e, "nan.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_NUMERIC, path, "\"blk.1.attn_norm.weight\"", "NaN", "element 7");
    free(b.d);
}

static void test_gguf_inf_f16_weight(void **state)
{
    env *e = *state;
    char path[PLEN];
    blob b = fixture_blob("fixtures/models/tiny-gpt2-f16.gguf");
    size_t at = gguf_element_at(&b, "blk.2.ffn_up.weight", 1, 2, 10);
    b.d[at] = 0x00;
    b.d[at + 1] = 0xfc; /* -Inf in F16 */
    save_as(e, "inf.gguf", &b, path);
    EXPECT_FAIL(path, PTUNE_E_NUMERIC, path, "\"blk.2.ffn_up.weight\"", "Inf", "element 10");
    free(b.d);
}

/* ---------------------------------------------------------------------------------------
 * HF config.json cases
 * ------------------------------------------------------------------------------------- */
static void test_hf_missing_config(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "config.json");
    assert_int_equal(unlink(p), 0);
    EXPECT_FAIL(e->dir, PTUNE_E_IO, e->dir, "config.json");
}

static void test_hf_config_not_json(void **state)
{
    env *e = *state;
    char p[PLEN], where[PLEN + 16];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "config.json");
    const char *text = "{\n  \"vocab_size\": 512,\n  oops\n}\n";
    pt_test_write_file(p, text, strlen(text));
    snprintf(where, sizeof where, "%s:3:", p); /* file:line:column */
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, where);
    const char *col = strstr(ptune_last_error(), where) + strlen(where);
    assert_true(*col >= '1' && *col <= '9');
}

static void test_hf_config_array(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "config.json");
    pt_test_write_file(p, "[1, 2, 3]\n", strlen("[1, 2, 3]\n"));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, p, "not a JSON object", "array");
}

static void test_hf_unknown_architecture(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "architectures", json_pack("[s]", "FooForCausalLM"));
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, "config.json", "\"FooForCausalLM\"", "not supported");
}

static void test_hf_missing_hidden_size(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "hidden_size", NULL);
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "config.json", "missing required field", "\"hidden_size\"");
}

static void test_hf_hidden_size_string(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "hidden_size", json_string("64"));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "config.json", "\"hidden_size\"", "integer", "string");
}

static void test_hf_rope_scaling(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "rope_scaling", json_pack("{s:s, s:f}", "type", "linear", "factor", 2.0));
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, "config.json", "rope_scaling");
}

static void test_hf_hidden_act(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "hidden_act", json_string("gelu"));
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, "config.json", "hidden_act", "\"gelu\"");
}

static void test_hf_vocab_mismatch(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "vocab_size", json_integer(600));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors", "\"model.embed_tokens.weight\"", "shape",
                "[512, 64]", "[600, 64]");
}

static void test_hf_extra_layer_in_config(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "num_hidden_layers", json_integer(4));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors", "missing tensor", "layers.3.");
}

static void test_hf_huge_vocab(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "vocab_size", json_integer(2000000000));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors", "\"model.embed_tokens.weight\"",
                "expected [2000000000, 64]");
}

static void test_hf_huge_layer_count(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "num_hidden_layers", json_integer(2000000000));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors", "missing tensor", "layers.3.");
}

static void test_hf_bad_head_count(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    cfg_set(e, "num_key_value_heads", json_integer(3));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "config.json", "not a multiple of 3");
}

static void test_hf_gpt2_relu(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-gpt2");
    cfg_set(e, "activation_function", json_string("relu"));
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, "config.json", "activation_function", "\"relu\"");
}

static void test_hf_gpt2_untied_without_head(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-gpt2");
    cfg_set(e, "tie_word_embeddings", json_false());
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors", "missing tensor", "lm_head.weight");
}

static void test_hf_bloom_post_ln_residual(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-bloom");
    cfg_set(e, "apply_residual_connection_post_layernorm", json_true());
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, "config.json", "apply_residual_connection_post_layernorm");
}

static void test_hf_bad_generation_config(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "generation_config.json");
    pt_test_write_file(p, "{\"eos_token_id\": \"two\"}", strlen("{\"eos_token_id\": \"two\"}"));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "generation_config.json", "eos_token_id");
}

/* ---------------------------------------------------------------------------------------
 * HF safetensors cases
 * ------------------------------------------------------------------------------------- */
static void test_hf_missing_safetensors(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    assert_int_equal(unlink(p), 0);
    EXPECT_FAIL(e->dir, PTUNE_E_IO, e->dir, "model.safetensors");
}

static void test_hf_safetensors_is_directory(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    assert_int_equal(unlink(p), 0);
    assert_int_equal(mkdir(p, 0700), 0);
    EXPECT_FAIL(e->dir, PTUNE_E_IO, p, "directory");
}

static void test_hf_safetensors_truncated(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    blob b = read_blob(p);
    for (size_t k = 0; k < 16; k++) {
        write_blob(p, &b, b.n * k / 16);
        EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, p);
    }
    free(b.d);
}

static void test_hf_unknown_dtype(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    blob b = read_blob(p);
    size_t data_at;
    json_t *h = st_raw_header(&b, &data_at);
    json_t *t = json_object_get(h, "model.layers.2.mlp.up_proj.weight");
    assert_non_null(t);
    json_object_set_new(t, "dtype", json_string("F12"));
    st_raw_write(p, h, b.d + data_at, b.n - data_at);
    free(b.d);
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, p, "model.layers.2.mlp.up_proj.weight", "unknown dtype", "F12");
}

static void test_hf_offsets_past_end(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    blob b = read_blob(p);
    size_t data_at;
    json_t *h = st_raw_header(&b, &data_at);
    json_t *t = json_object_get(h, "model.norm.weight");
    assert_non_null(t);
    json_int_t end = (json_int_t)(b.n - data_at);
    json_object_set_new(t, "data_offsets", json_pack("[I, I]", end, end + 256));
    st_raw_write(p, h, b.d + data_at, b.n - data_at);
    free(b.d);
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, p, "model.norm.weight", "past end");
}

static void test_hf_missing_tensor(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    st_remove(&ed, "model.norm.weight");
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, p, "missing tensor", "norm.weight");
}

static void test_hf_unexpected_tensor(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    const int64_t shape[1] = {16};
    float *x = st_add(&ed, "model.layers.0.self_attn.q_norm.weight", PT_DTYPE_F32, 1, shape, 16 * sizeof(float));
    for (int i = 0; i < 16; i++) x[i] = 1.0f;
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, p, "\"model.layers.0.self_attn.q_norm.weight\"", "not used");
}

static void test_hf_integer_weight(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    st_remove(&ed, "model.norm.weight");
    const int64_t shape[1] = {64};
    int64_t *x = st_add(&ed, "model.norm.weight", PT_DTYPE_I64, 1, shape, 64 * sizeof(int64_t));
    for (int i = 0; i < 64; i++) x[i] = 1;
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, p, "norm.weight", "I64");
}

static void test_hf_nan_weight(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    pt_st_write_tensor *t = st_find(&ed, "model.layers.1.self_attn.k_proj.weight");
    assert_int_equal(t->dtype, PT_DTYPE_F32);
    unsigned char *x = st_writable(&ed, t);
    wr32(x + 4 * 3, 0x7fc00000u);
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_NUMERIC, p, "\"model.layers.1.self_attn.k_proj.weight\"", "NaN", "element 3");
}

static void test_hf_inf_bf16_weight(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama-bf16");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    pt_st_write_tensor *t = st_find(&ed, "model.layers.0.mlp.up_proj.weight");
    assert_int_equal(t->dtype, PT_DTYPE_BF16);
    unsigned char *x = st_writable(&ed, t);
    x[2 * 5] = 0x80;
    x[2 * 5 + 1] = 0x7f; /* +Inf in BF16 */
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_NUMERIC, p, "\"model.layers.0.mlp.up_proj.weight\"", "Inf", "element 5");
}

static void test_hf_gpt2_stray_layer_bias(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-gpt2");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    /* a bias of a fourth block the 3-layer config does not have; its name ends in "attn.bias",
     * the legacy buffer suffix, but it is a real weight and must not be dropped silently */
    const int64_t shape[1] = {192};
    st_add(&ed, "transformer.h.3.attn.c_attn.bias", PT_DTYPE_F32, 1, shape, 192 * sizeof(float));
    st_save(&ed, p);
    st_close(&ed);
    EXPECT_FAIL(e->dir, PTUNE_E_UNSUPPORTED, p, "\"transformer.h.3.attn.c_attn.bias\"", "not used");
}

/* ---------------------------------------------------------------------------------------
 * Sharded checkpoints
 * ------------------------------------------------------------------------------------- */
static void write_index(const env *e, json_t *weight_map)
{
    char p[PLEN];
    jp(p, e->dir, "model.safetensors.index.json");
    json_t *idx = json_pack("{s:{s:I}, s:o}", "metadata", "total_size", (json_int_t)0, "weight_map", weight_map);
    assert_non_null(idx);
    assert_int_equal(json_dump_file(idx, p, JSON_INDENT(2)), 0);
    json_decref(idx);
}

/* Splits <dir>/model.safetensors into two shards (first `split` tensors, then the rest), writes
 * the index and removes the single file. With `dup` the first shard also repeats the second
 * shard's first tensor. */
static void make_shards(const env *e, bool dup)
{
    static const char *const names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};
    char single[PLEN], p[PLEN];
    jp(single, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, single);
    size_t split = ed.n / 2;
    json_t *map = json_object();
    for (size_t i = 0; i < ed.n; i++) json_object_set_new(map, ed.t[i].name, json_string(names[i < split ? 0 : 1]));
    jp(p, e->dir, names[0]);
    st_save_subset(&ed, p, 0, split + (dup ? 1 : 0));
    jp(p, e->dir, names[1]);
    st_save_subset(&ed, p, split, ed.n - split);
    st_close(&ed);
    write_index(e, map);
    assert_int_equal(unlink(single), 0);
}

static void test_hf_shards_load(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    ptune_model *ref = expect_load(e->dir);
    make_shards(e, false);
    ptune_model *m = expect_load(e->dir);
    assert_int_equal(ptune_model_n_params(m), ptune_model_n_params(ref));
    assert_int_equal(ptune_model_n_params(m), LLAMA_PARAMS);
    assert_int_equal(ptune_model_n_layer(m), 3);
    assert_string_equal(ptune_model_file_dtype(m), "F32");
    assert_false(ptune_model_tied_head(m));
    ptune_model_free(m);
    ptune_model_free(ref);
}

static void test_hf_shard_missing(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    make_shards(e, false);
    jp(p, e->dir, "model-00002-of-00002.safetensors");
    assert_int_equal(unlink(p), 0);
    EXPECT_FAIL(e->dir, PTUNE_E_IO, p);
}

static void test_hf_shard_duplicate_tensor(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    make_shards(e, true);
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "appears twice", "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors");
}

static void test_hf_shard_escapes_directory(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    write_index(e, json_pack("{s:s}", "model.norm.weight", "../model.safetensors"));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors.index.json", "model.norm.weight", "file name");
}

static void test_hf_index_not_object(void **state)
{
    env *e = *state;
    hf_copy(e, "tiny-llama");
    write_index(e, json_pack("[s]", "model.safetensors"));
    EXPECT_FAIL(e->dir, PTUNE_E_FORMAT, "model.safetensors.index.json", "weight_map");
}

/* ---------------------------------------------------------------------------------------
 * Inputs that must load
 * ------------------------------------------------------------------------------------- */
static void test_hf_unprefixed_names_load(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    size_t stripped = 0;
    for (size_t i = 0; i < ed.n; i++)
        if (!strncmp(ed.t[i].name, "model.", 6)) {
            ed.t[i].name = st_keep(&ed, strdup(ed.t[i].name + 6));
            stripped++;
        }
    assert_int_equal(stripped, ed.n - 1); /* everything but lm_head.weight */
    st_save(&ed, p);
    st_close(&ed);
    ptune_model *m = expect_load(e->dir);
    assert_int_equal(ptune_model_n_params(m), LLAMA_PARAMS);
    ptune_model_free(m);
}

static void test_hf_gpt2_legacy_buffers_load(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-gpt2");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    for (int l = 0; l < 3; l++) {
        char name[64];
        const int64_t mask_shape[4] = {1, 1, 128, 128};
        snprintf(name, sizeof name, "transformer.h.%d.attn.bias", l);
        float *mask = st_add(&ed, name, PT_DTYPE_F32, 4, mask_shape, 128 * 128 * sizeof(float));
        for (int i = 0; i < 128; i++)
            for (int j = 0; j <= i; j++) mask[i * 128 + j] = 1.0f;
        snprintf(name, sizeof name, "transformer.h.%d.attn.masked_bias", l);
        float *mb = st_add(&ed, name, PT_DTYPE_F32, 0, NULL, sizeof(float));
        *mb = -1e4f;
    }
    st_save(&ed, p);
    st_close(&ed);
    ptune_model *m = expect_load(e->dir);
    assert_int_equal(ptune_model_n_params(m), GPT2_PARAMS);
    assert_true(ptune_model_tied_head(m));
    ptune_model_free(m);
}

static void test_hf_bloom_legacy_buffer_load(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-bloom");
    jp(p, e->dir, "model.safetensors");
    st_edit ed;
    st_open(&ed, p);
    float *mb = st_add(&ed, "transformer.h.0.self_attention.masked_bias", PT_DTYPE_F32, 0, NULL, sizeof(float));
    *mb = -1e4f;
    st_save(&ed, p);
    st_close(&ed);
    ptune_model *m = expect_load(e->dir);
    assert_string_equal(ptune_model_arch_name(m), "bloom");
    ptune_model_free(m);
}

/* ---------------------------------------------------------------------------------------
 * Paths
 * ------------------------------------------------------------------------------------- */
static void test_path_config_json_as_model(void **state)
{
    env *e = *state;
    char p[PLEN];
    hf_copy(e, "tiny-llama");
    jp(p, e->dir, "config.json");
    EXPECT_FAIL(p, PTUNE_E_FORMAT, p, "not a GGUF file");
}

static void test_path_missing(void **state)
{
    env *e = *state;
    char p[PLEN];
    jp(p, e->dir, "no-such-model.gguf");
    EXPECT_FAIL(p, PTUNE_E_IO, p, "cannot open");
}

static void test_path_empty_directory(void **state)
{
    env *e = *state;
    EXPECT_FAIL(e->dir, PTUNE_E_IO, e->dir, "config.json");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, env_setup, env_teardown)

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        T(test_gguf_truncated),
        T(test_gguf_bad_magic),
        T(test_gguf_version_1),
        T(test_gguf_unknown_architecture),
        T(test_gguf_missing_architecture_key),
        T(test_gguf_offset_past_eof),
        T(test_gguf_offset_wraps),
        T(test_gguf_shape_overflow),
        T(test_gguf_unknown_ggml_type),
        T(test_gguf_integer_weight),
        T(test_gguf_missing_tensor),
        T(test_gguf_missing_tensor_later_layer),
        T(test_gguf_duplicate_tensor),
        T(test_gguf_unexpected_tensor),
        T(test_gguf_missing_hparam),
        T(test_gguf_missing_eps),
        T(test_gguf_hparam_wrong_type),
        T(test_gguf_tensor_wrong_shape),
        T(test_gguf_embedding_length_mismatch),
        T(test_gguf_vocab_size_mismatch),
        T(test_gguf_huge_block_count),
        T(test_gguf_huge_vocab_size),
        T(test_gguf_context_length_mismatch),
        T(test_gguf_bad_head_count_kv),
        T(test_gguf_rope_scaling_key),
        T(test_gguf_duplicate_key),
        T(test_gguf_nan_weight),
        T(test_gguf_inf_f16_weight),
        T(test_hf_missing_config),
        T(test_hf_config_not_json),
        T(test_hf_config_array),
        T(test_hf_unknown_architecture),
        T(test_hf_missing_hidden_size),
        T(test_hf_hidden_size_string),
        T(test_hf_rope_scaling),
        T(test_hf_hidden_act),
        T(test_hf_vocab_mismatch),
        T(test_hf_extra_layer_in_config),
        T(test_hf_huge_vocab),
        T(test_hf_huge_layer_count),
        T(test_hf_bad_head_count),
        T(test_hf_gpt2_relu),
        T(test_hf_gpt2_untied_without_head),
        T(test_hf_bloom_post_ln_residual),
        T(test_hf_bad_generation_config),
        T(test_hf_missing_safetensors),
        T(test_hf_safetensors_is_directory),
        T(test_hf_safetensors_truncated),
        T(test_hf_unknown_dtype),
        T(test_hf_offsets_past_end),
        T(test_hf_missing_tensor),
        T(test_hf_unexpected_tensor),
        T(test_hf_integer_weight),
        T(test_hf_nan_weight),
        T(test_hf_inf_bf16_weight),
        T(test_hf_gpt2_stray_layer_bias),
        T(test_hf_shards_load),
        T(test_hf_shard_missing),
        T(test_hf_shard_duplicate_tensor),
        T(test_hf_shard_escapes_directory),
        T(test_hf_index_not_object),
        T(test_hf_unprefixed_names_load),
        T(test_hf_gpt2_legacy_buffers_load),
        T(test_hf_bloom_legacy_buffer_load),
        T(test_path_config_json_as_model),
        T(test_path_missing),
        T(test_path_empty_directory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
