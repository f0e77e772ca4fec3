/* GGUF reader against the shared fixture files: the twelve float tiny models of GGUF.md, the
 * ten quantized files of QUANT.md and the real aidreams260K model (facts from their READMEs). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "test_support.h"

#include "formats/gguf.h"

/* ggml type ids */
enum { T_F32 = 0, T_F16 = 1, T_Q4_0 = 2, T_Q5_0 = 6, T_Q5_1 = 7, T_Q8_0 = 8, T_Q4_K = 12,
       T_Q5_K = 13, T_Q6_K = 14, T_BF16 = 30, T_MAX = 40 };

/* Block size and bytes per block of the types that occur in the fixtures (QUANT.md). */
static void block_of(uint32_t type, uint64_t *qk, uint64_t *bytes)
{
    switch (type) {
    case T_F32: *qk = 1; *bytes = 4; return;
    case T_F16: case T_BF16: *qk = 1; *bytes = 2; return;
    case T_Q4_0: *qk = 32; *bytes = 18; return;
    case T_Q5_0: *qk = 32; *bytes = 22; return;
    case T_Q5_1: *qk = 32; *bytes = 24; return;
    case T_Q8_0: *qk = 32; *bytes = 34; return;
    case T_Q4_K: *qk = 256; *bytes = 144; return;
    case T_Q5_K: *qk = 256; *bytes = 176; return;
    case T_Q6_K: *qk = 256; *bytes = 210; return;
    default: fail_msg("unexpected ggml type %u in a fixture", type);
    }
}

static pt_dtype expected_dtype(uint32_t type)
{
    switch (type) {
    case T_F32: return PT_DTYPE_F32;
    case T_F16: return PT_DTYPE_F16;
    case T_BF16: return PT_DTYPE_BF16;
    case T_Q4_0: return PT_DTYPE_Q4_0;
    case T_Q5_0: return PT_DTYPE_Q5_0;
    case T_Q5_1: return PT_DTYPE_Q5_1;
    case T_Q8_0: return PT_DTYPE_Q8_0;
    case T_Q4_K: return PT_DTYPE_Q4_K;
    case T_Q5_K: return PT_DTYPE_Q5_K;
    case T_Q6_K: return PT_DTYPE_Q6_K;
    default: return PT_DTYPE_OTHER;
    }
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) fail_msg("cannot stat %s", path);
    return (uint64_t)st.st_size;
}

static pt_gguf open_fixture(const char *rel, char **path_out)
{
    char *path = pt_test_shared_path(rel);
    pt_gguf g;
    ptune_status s = pt_gguf_open(path, &g);
    if (s != PTUNE_OK) fail_msg("%s: %d %s", rel, s, ptune_last_error());
    if (path_out) *path_out = path;
    else free(path);
    return g;
}

static void expect_str(const pt_gguf *g, const char *key, const char *want)
{
    char *s = NULL;
    ptune_status st = pt_gguf_get_str(g, key, &s);
    if (st != PTUNE_OK) fail_msg("%s: %s: %d %s", g->file.path, key, st, ptune_last_error());
    if (strcmp(s, want) != 0) fail_msg("%s: %s = '%s', expected '%s'", g->file.path, key, s, want);
    free(s);
}

static void expect_u32(const pt_gguf *g, const char *key, uint32_t want)
{
    uint32_t v = 0;
    ptune_status st = pt_gguf_get_u32(g, key, &v);
    if (st != PTUNE_OK) fail_msg("%s: %s: %d %s", g->file.path, key, st, ptune_last_error());
    if (v != want) fail_msg("%s: %s = %u, expected %u", g->file.path, key, v, want);
}

static const pt_gguf_kv *expect_array(const pt_gguf *g, const char *key, pt_gguf_type elem,
                                      uint64_t count)
{
    const pt_gguf_kv *kv = pt_gguf_find_kv(g, key);
    if (!kv) fail_msg("%s: %s missing", g->file.path, key);
    assert_int_equal(kv->type, PT_GGUF_ARRAY);
    assert_int_equal(kv->v.arr.elem_type, elem);
    if (kv->v.arr.count != count)
        fail_msg("%s: %s has %llu elements, expected %llu", g->file.path, key,
                 (unsigned long long)kv->v.arr.count, (unsigned long long)count);
    if (elem == PT_GGUF_STRING) assert_non_null(kv->v.arr.strings);
    return kv;
}

static bool str_is(const pt_gguf_str *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

/* Layout rules shared by every fixture: alignment 32 without a key, data in info order, every
 * tensor (the last one included) zero-padded to 32 bytes; view sizes match the ggml type. */
static void check_layout(const pt_gguf *g)
{
    assert_int_equal(g->version, 3);
    assert_int_equal(g->alignment, 32);
    assert_null(pt_gguf_find_kv(g, "general.alignment"));
    uint64_t expect = g->data_offset;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const pt_gguf_tensor *t = &g->tensors[i];
        const pt_tensor_view *v = &t->view;
        if (v->file_offset != expect)
            fail_msg("%s: tensor %s at %llu, expected %llu", g->file.path, t->name,
                     (unsigned long long)v->file_offset, (unsigned long long)expect);
        assert_ptr_equal(v->data, g->file.data + v->file_offset);
        uint64_t qk = 1, bytes = 0;
        block_of(t->ggml_type, &qk, &bytes);
        int64_t n = 1;
        for (int d = 0; d < v->n_dims; d++) {
            assert_int_equal(v->shape[d], (int64_t)t->ne[v->n_dims - 1 - d]);
            n *= v->shape[d];
        }
        assert_int_equal(v->n_elements, n);
        assert_int_equal(t->ne[0] % qk, 0);
        if (v->n_bytes != (uint64_t)n / qk * bytes)
            fail_msg("%s: tensor %s (%s) has %zu bytes, expected %llu", g->file.path, t->name,
                     v->dtype_name, v->n_bytes, (unsigned long long)((uint64_t)n / qk * bytes));
        assert_int_equal(v->dtype, expected_dtype(t->ggml_type));
        assert_string_equal(v->dtype_name, pt_ggml_type_name(t->ggml_type));
        assert_ptr_equal(pt_gguf_find_tensor(g, t->name), t);
        expect = (v->file_offset + v->n_bytes + 31) / 32 * 32;
    }
    assert_int_equal(expect, g->file.size);
}

static void count_types(const pt_gguf *g, int counts[T_MAX])
{
    memset(counts, 0, sizeof(int) * T_MAX);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        uint32_t t = g->tensors[i].ggml_type;
        assert_true(t < T_MAX);
        counts[t]++;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* GGUF.md: the twelve float files                                                             */

typedef struct float_fixture {
    const char *name;
    const char *arch;
    uint64_t bytes;
    uint32_t file_type;
    int n_f32, n_f16, n_bf16;
    uint32_t n_embd, n_layer;
} float_fixture;

static const float_fixture float_files[] = {
    {"tiny-bloom", "bloom", 1172640, 0, 53, 0, 0, 72, 4},
    {"tiny-bloom-f16", "bloom", 601248, 1, 36, 17, 0, 72, 4},
    {"tiny-bloom-bf16", "bloom", 601248, 32, 36, 0, 17, 72, 4},
    {"tiny-gpt2", "gpt2", 777088, 0, 40, 0, 0, 64, 3},
    {"tiny-gpt2-f16", "gpt2", 416640, 1, 27, 13, 0, 64, 3},
    {"tiny-gpt2-bf16", "gpt2", 416640, 32, 27, 0, 13, 64, 3},
    {"tiny-llama", "llama", 820384, 0, 30, 0, 0, 64, 3},
    {"tiny-llama-f16", "llama", 417472, 1, 7, 23, 0, 64, 3},
    {"tiny-llama-bf16", "llama", 417472, 32, 7, 0, 23, 64, 3},
    {"tiny-qwen2", "qwen2", 423904, 0, 26, 0, 0, 64, 2},
    {"tiny-qwen2-f16", "qwen2", 219136, 1, 11, 15, 0, 64, 2},
    {"tiny-qwen2-bf16", "qwen2", 219136, 32, 11, 0, 15, 64, 2},
};

static void check_gpt2_vocab(const pt_gguf *g)
{
    expect_str(g, "tokenizer.ggml.model", "gpt2");
    expect_str(g, "tokenizer.ggml.pre", "default");
    const pt_gguf_kv *tok = expect_array(g, "tokenizer.ggml.tokens", PT_GGUF_STRING, 512);
    assert_true(str_is(&tok->v.arr.strings[0], "!"));
    assert_true(str_is(&tok->v.arr.strings[198], "\xc4\x8a"));  /* Ċ */
    assert_true(str_is(&tok->v.arr.strings[220], "\xc4\xa0"));  /* Ġ */
    assert_true(str_is(&tok->v.arr.strings[256], "aa"));
    const pt_gguf_kv *merges = expect_array(g, "tokenizer.ggml.merges", PT_GGUF_STRING, 256);
    assert_true(str_is(&merges->v.arr.strings[0], "a a"));
    assert_true(str_is(&merges->v.arr.strings[1], "a b"));
    const pt_gguf_kv *types = expect_array(g, "tokenizer.ggml.token_type", PT_GGUF_INT32, 512);
    for (int i = 0; i < 512; i++) {
        const unsigned char *p = types->v.arr.data + 4 * i;
        assert_int_equal(p[0] | p[1] << 8 | p[2] << 16 | p[3] << 24, 1);
    }
    expect_u32(g, "tokenizer.ggml.bos_token_id", 1);
    expect_u32(g, "tokenizer.ggml.eos_token_id", 2);
}

static void test_float_fixtures(void **state)
{
    (void)state;
    size_t n_files = sizeof float_files / sizeof float_files[0];
    for (size_t i = 0; i < n_files; i++) {
        const float_fixture *fx = &float_files[i];
        char rel[128], key[128];
        snprintf(rel, sizeof rel, "fixtures/models/%s.gguf", fx->name);
        char *path;
        pt_gguf g = open_fixture(rel, &path);
        assert_int_equal(file_size(path), fx->bytes);
        assert_int_equal(g.file.size, fx->bytes);
        check_layout(&g);

        expect_str(&g, "general.architecture", fx->arch);
        expect_str(&g, "general.type", "model");
        assert_string_equal(g.kv[0].key, "general.architecture");
        expect_u32(&g, "general.file_type", fx->file_type);
        expect_u32(&g, "general.quantization_version", 2);
        snprintf(key, sizeof key, "%s.embedding_length", fx->arch);
        expect_u32(&g, key, fx->n_embd);
        snprintf(key, sizeof key, "%s.block_count", fx->arch);
        expect_u32(&g, key, fx->n_layer);
        check_gpt2_vocab(&g);

        int counts[T_MAX];
        count_types(&g, counts);
        if (counts[T_F32] != fx->n_f32 || counts[T_F16] != fx->n_f16 || counts[T_BF16] != fx->n_bf16)
            fail_msg("%s: F32/F16/BF16 = %d/%d/%d, expected %d/%d/%d", fx->name, counts[T_F32],
                     counts[T_F16], counts[T_BF16], fx->n_f32, fx->n_f16, fx->n_bf16);
        assert_int_equal(g.n_tensors, (uint64_t)(fx->n_f32 + fx->n_f16 + fx->n_bf16));

        /* 1-D tensors are always F32 */
        for (uint64_t t = 0; t < g.n_tensors; t++)
            if (g.tensors[t].view.n_dims == 1) assert_int_equal(g.tensors[t].ggml_type, T_F32);

        const pt_gguf_tensor *emb = pt_gguf_find_tensor(&g, "token_embd.weight");
        assert_non_null(emb);
        assert_int_equal(emb->view.n_dims, 2);
        assert_int_equal(emb->view.shape[0], 512);
        assert_int_equal(emb->view.shape[1], fx->n_embd);
        assert_int_equal(emb->ne[0], fx->n_embd);
        assert_int_equal(emb->ne[1], 512);
        /* only tiny-llama has an untied head */
        assert_int_equal(pt_gguf_find_tensor(&g, "output.weight") != NULL,
                         strcmp(fx->arch, "llama") == 0);

        if (!strcmp(fx->arch, "llama")) {
            float eps;
            assert_int_equal(pt_gguf_get_f32(&g, "llama.attention.layer_norm_rms_epsilon", &eps),
                             PTUNE_OK);
            assert_true(eps == 1e-5f);
            expect_u32(&g, "llama.attention.head_count_kv", 2);
            const pt_gguf_tensor *k = pt_gguf_find_tensor(&g, "blk.0.attn_k.weight");
            assert_non_null(k);
            assert_int_equal(k->view.shape[0], 32);
            assert_int_equal(k->view.shape[1], 64);
            /* tensor order: HF names sorted, then renamed */
            assert_string_equal(g.tensors[0].name, "output.weight");
            assert_string_equal(g.tensors[1].name, "token_embd.weight");
        }
        if (!strcmp(fx->arch, "gpt2")) {
            const pt_gguf_tensor *pos = pt_gguf_find_tensor(&g, "position_embd.weight");
            assert_non_null(pos);
            assert_int_equal(pos->ggml_type, T_F32);
            assert_int_equal(pos->view.shape[0], 128);
            expect_u32(&g, "gpt2.context_length", 128);
        }
        if (!strcmp(fx->arch, "bloom")) expect_u32(&g, "tokenizer.ggml.padding_token_id", 3);

        /* the three variants of a model share names, order and shapes */
        if (i % 3 != 0) {
            char base_rel[128];
            snprintf(base_rel, sizeof base_rel, "fixtures/models/%s.gguf", float_files[i - i % 3].name);
            pt_gguf base = open_fixture(base_rel, NULL);
            assert_int_equal(base.n_tensors, g.n_tensors);
            for (uint64_t t = 0; t < g.n_tensors; t++) {
                assert_string_equal(base.tensors[t].name, g.tensors[t].name);
                assert_memory_equal(base.tensors[t].ne, g.tensors[t].ne, sizeof base.tensors[t].ne);
            }
            pt_gguf_close(&base);
        }
        pt_gguf_close(&g);
        free(path);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* QUANT.md: the ten quantized files                                                           */

typedef struct quant_fixture {
    const char *name;
    uint64_t bytes;
    uint32_t file_type;
    struct { uint32_t type; int n; } counts[5];
} quant_fixture;

static const quant_fixture quant_files[] = {
    {"tiny-llama-Q8_0", 259616, 7, {{T_Q8_0, 20}, {T_F16, 3}, {T_F32, 7}}},
    {"tiny-llama-Q4_0", 191776, 2, {{T_Q4_0, 19}, {T_Q8_0, 1}, {T_F16, 3}, {T_F32, 7}}},
    {"tiny-llama-Q4_K_M", 209504, 15, {{T_Q5_0, 18}, {T_Q8_0, 2}, {T_F16, 3}, {T_F32, 7}}},
    {"tiny-qwen2-Q6_K", 123104, 18, {{T_Q8_0, 15}, {T_F32, 11}}},
    {"tiny-gpt2-Q8_0", 247680, 7, {{T_Q8_0, 13}, {T_F32, 27}}},
    {"tiny-bloom-Q5_K_M", 510560, 17, {{T_Q5_1, 2}, {T_Q8_0, 2}, {T_F16, 13}, {T_F32, 36}}},
    {"tiny-llama256-Q4_K_M", 393984, 15, {{T_Q4_K, 6}, {T_Q6_K, 3}, {T_F32, 3}}},
    {"tiny-llama256-Q5_K_M", 443136, 17, {{T_Q5_K, 6}, {T_Q6_K, 3}, {T_F32, 3}}},
    {"tiny-llama256-Q6_K", 495360, 18, {{T_Q6_K, 9}, {T_F32, 3}}},
    {"tiny-llama256-Q8_0", 638208, 7, {{T_Q8_0, 9}, {T_F32, 3}}},
};

static void expect_tensor_type(const pt_gguf *g, const char *name, uint32_t type, const char *tname)
{
    const pt_gguf_tensor *t = pt_gguf_find_tensor(g, name);
    if (!t) fail_msg("%s: tensor %s missing", g->file.path, name);
    if (t->ggml_type != type)
        fail_msg("%s: %s has type %s, expected %s", g->file.path, name, t->view.dtype_name, tname);
    assert_string_equal(t->view.dtype_name, tname);
}

static void test_quant_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof quant_files / sizeof quant_files[0]; i++) {
        const quant_fixture *fx = &quant_files[i];
        char rel[128];
        snprintf(rel, sizeof rel, "fixtures/models/%s.gguf", fx->name);
        pt_gguf g = open_fixture(rel, NULL);
        assert_int_equal(g.file.size, fx->bytes);
        check_layout(&g);
        expect_u32(&g, "general.file_type", fx->file_type);
        expect_u32(&g, "general.quantization_version", 2);
        /* llama-quantize removes and re-appends these two keys */
        assert_true(g.n_kv >= 2);
        assert_string_equal(g.kv[g.n_kv - 2].key, "general.quantization_version");
        assert_string_equal(g.kv[g.n_kv - 1].key, "general.file_type");
        expect_array(&g, "tokenizer.ggml.tokens", PT_GGUF_STRING,
                     strstr(fx->name, "llama256") ? 384 : 512);

        int counts[T_MAX], total = 0;
        count_types(&g, counts);
        for (size_t c = 0; c < 5 && fx->counts[c].n; c++) {
            if (counts[fx->counts[c].type] != fx->counts[c].n)
                fail_msg("%s: %d %s tensors, expected %d", fx->name, counts[fx->counts[c].type],
                         pt_ggml_type_name(fx->counts[c].type), fx->counts[c].n);
            total += fx->counts[c].n;
        }
        assert_int_equal(g.n_tensors, (uint64_t)total);
        pt_gguf_close(&g);
    }

    /* tiny-llama-Q4_K_M: a 64-wide model only gets the K-quant fallbacks */
    pt_gguf g = open_fixture("fixtures/models/tiny-llama-Q4_K_M.gguf", NULL);
    expect_tensor_type(&g, "output.weight", T_Q8_0, "Q8_0");
    expect_tensor_type(&g, "token_embd.weight", T_Q5_0, "Q5_0");
    expect_tensor_type(&g, "blk.0.attn_v.weight", T_Q5_0, "Q5_0");
    expect_tensor_type(&g, "blk.2.attn_v.weight", T_Q8_0, "Q8_0");
    expect_tensor_type(&g, "blk.1.ffn_down.weight", T_F16, "F16");
    expect_tensor_type(&g, "output_norm.weight", T_F32, "F32");
    const pt_tensor_view *v = &pt_gguf_find_tensor(&g, "token_embd.weight")->view;
    assert_int_equal(v->dtype, PT_DTYPE_Q5_0);
    assert_int_equal(v->n_bytes, 512 * 2 * 22);
    assert_int_equal(v->shape[0], 512);
    assert_int_equal(v->shape[1], 64);
    assert_int_equal(pt_gguf_find_tensor(&g, "blk.1.ffn_down.weight")->view.dtype, PT_DTYPE_F16);
    /* weight_name_comparer order: non-block tensors by name, then layer by layer */
    assert_string_equal(g.tensors[0].name, "output.weight");
    assert_string_equal(g.tensors[1].name, "output_norm.weight");
    assert_string_equal(g.tensors[2].name, "token_embd.weight");
    assert_string_equal(g.tensors[3].name, "blk.0.attn_k.weight");
    pt_gguf_close(&g);

    /* tiny-llama256-Q4_K_M: real Q4_K and Q6_K blocks */
    g = open_fixture("fixtures/models/tiny-llama256-Q4_K_M.gguf", NULL);
    expect_tensor_type(&g, "token_embd.weight", T_Q4_K, "Q4_K");
    expect_tensor_type(&g, "output.weight", T_Q6_K, "Q6_K");
    expect_tensor_type(&g, "blk.0.attn_v.weight", T_Q6_K, "Q6_K");
    expect_tensor_type(&g, "blk.0.ffn_down.weight", T_Q6_K, "Q6_K");
    expect_tensor_type(&g, "blk.0.attn_k.weight", T_Q4_K, "Q4_K");
    v = &pt_gguf_find_tensor(&g, "token_embd.weight")->view;
    assert_int_equal(v->dtype, PT_DTYPE_Q4_K);
    assert_int_equal(v->n_bytes, 384 * 144);
    assert_int_equal(v->n_elements, 384 * 256);
    v = &pt_gguf_find_tensor(&g, "output.weight")->view;
    assert_int_equal(v->dtype, PT_DTYPE_Q6_K);
    assert_int_equal(v->n_bytes, 384 * 210);
    v = &pt_gguf_find_tensor(&g, "blk.0.attn_k.weight")->view;
    assert_int_equal(v->n_bytes, 128 * 144);
    assert_int_equal(v->shape[0], 128);
    assert_int_equal(v->shape[1], 256);
    pt_gguf_close(&g);
}

/* ------------------------------------------------------------------------------------------ */
/* models/README.md: aidreams260K                                                              */

static void test_aidreams(void **state)
{
    (void)state;
    char *path;
    pt_gguf g = open_fixture("models/aidreams260K.gguf", &path);
    assert_int_equal(g.file.size, 937888);
    check_layout(&g);
    assert_int_equal(g.n_tensors, 38);
    assert_int_equal(g.n_kv, 25);
    expect_str(&g, "general.architecture", "llama");
    expect_u32(&g, "llama.embedding_length", 64);
    expect_u32(&g, "llama.feed_forward_length", 172);
    expect_u32(&g, "llama.block_count", 4);
    expect_u32(&g, "llama.attention.head_count", 4);
    expect_u32(&g, "llama.attention.head_count_kv", 4);
    expect_u32(&g, "llama.rope.dimension_count", 16);
    expect_u32(&g, "llama.context_length", 128);
    expect_u32(&g, "llama.vocab_size", 512);
    float f;
    assert_int_equal(pt_gguf_get_f32(&g, "llama.rope.freq_base", &f), PTUNE_OK);
    assert_true(f == 10000.0f);
    assert_int_equal(pt_gguf_get_f32(&g, "llama.attention.layer_norm_rms_epsilon", &f), PTUNE_OK);
    assert_true(f == 1e-5f);

    expect_str(&g, "tokenizer.ggml.model", "llama");
    expect_str(&g, "tokenizer.ggml.pre", "default");
    const pt_gguf_kv *tok = expect_array(&g, "tokenizer.ggml.tokens", PT_GGUF_STRING, 512);
    assert_true(str_is(&tok->v.arr.strings[0], "<unk>"));
    assert_true(str_is(&tok->v.arr.strings[1], "<s>"));
    assert_true(str_is(&tok->v.arr.strings[2], "</s>"));
    assert_true(str_is(&tok->v.arr.strings[3], "<0x00>"));
    assert_true(str_is(&tok->v.arr.strings[258], "<0xFF>"));
    expect_array(&g, "tokenizer.ggml.scores", PT_GGUF_FLOAT32, 512);
    expect_array(&g, "tokenizer.ggml.token_type", PT_GGUF_INT32, 512);
    expect_u32(&g, "tokenizer.ggml.bos_token_id", 1);
    expect_u32(&g, "tokenizer.ggml.eos_token_id", 2);
    expect_u32(&g, "tokenizer.ggml.unknown_token_id", 0);
    bool b = false;
    assert_int_equal(pt_gguf_get_bool(&g, "tokenizer.ggml.add_bos_token", &b), PTUNE_OK);
    assert_true(b);
    assert_int_equal(pt_gguf_get_bool(&g, "tokenizer.ggml.add_eos_token", &b), PTUNE_OK);
    assert_false(b);

    for (uint64_t i = 0; i < g.n_tensors; i++) assert_int_equal(g.tensors[i].ggml_type, T_F32);
    assert_null(pt_gguf_find_tensor(&g, "output.weight")); /* tied */
    const pt_gguf_tensor *t = pt_gguf_find_tensor(&g, "token_embd.weight");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 64);
    assert_int_equal(t->ne[1], 512);
    assert_int_equal(t->view.shape[0], 512);
    assert_int_equal(t->view.shape[1], 64);
    t = pt_gguf_find_tensor(&g, "blk.3.ffn_down.weight");
    assert_non_null(t);
    assert_int_equal(t->ne[0], 172);
    assert_int_equal(t->ne[1], 64);
    assert_int_equal(t->view.n_bytes, 172 * 64 * 4);
    assert_non_null(pt_gguf_find_tensor(&g, "output_norm.weight"));
    pt_gguf_close(&g);
    free(path);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_float_fixtures),
        cmocka_unit_test(test_quant_fixtures),
        cmocka_unit_test(test_aidreams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
