/* GGUF vocabularies (pt_tokenizer_from_gguf) against the aidreams260K golden ids and its HF
 * tokenizer.json twin, the synthetic gpt2 vocab of the fixture GGUFs, malformed vocabularies,
 * and the token stream (ptune_token_stream_*) on golden texts and emoji vectors. */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "formats/gguf.h"
#include "tokenizer/tokenizer.h"
#include "ptune/ptune.h"

/* ---------------------------------------------------------------------------------------
 * helpers */

static struct ptune_tokenizer *load_gguf_path(const char *path)
{
    pt_gguf g;
    ptune_status st = pt_gguf_open(path, &g);
    if (st) fail_msg("%s: %s", path, ptune_last_error());
    struct ptune_tokenizer *t = NULL;
    st = pt_tokenizer_from_gguf(&g, &t);
    pt_gguf_close(&g); /* the tokenizer must not keep pointers into the mapping */
    if (st) fail_msg("%s: pt_tokenizer_from_gguf: %d %s", path, st, ptune_last_error());
    return t;
}

static struct ptune_tokenizer *load_gguf(const char *rel)
{
    char *path = pt_test_shared_path(rel);
    struct ptune_tokenizer *t = load_gguf_path(path);
    free(path);
    return t;
}

static struct ptune_tokenizer *load_json(const char *rel)
{
    char *path = pt_test_shared_path(rel);
    struct ptune_tokenizer *t = NULL;
    ptune_status st = pt_tokenizer_from_json_file(path, &t);
    if (st) fail_msg("%s: %s", path, ptune_last_error());
    free(path);
    return t;
}

static json_t *load_json_doc(const char *rel)
{
    char *path = pt_test_shared_path(rel);
    json_error_t err;
    json_t *j = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!j) fail_msg("%s: %s (line %d)", path, err.text, err.line);
    free(path);
    return j;
}

/* ids of a JSON array (malloc'd) */
static int32_t *json_ids(const json_t *arr, size_t *n)
{
    if (!json_is_array(arr)) fail_msg("expected an array of ids");
    *n = json_array_size(arr);
    int32_t *v = malloc((*n ? *n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++) v[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return v;
}

static void expect_encode(const struct ptune_tokenizer *t, const char *label, const char *text, size_t len, bool special,
                          const int32_t *want, size_t nw)
{
    pt_ids got = {0};
    ptune_status st = pt_tokenizer_encode(t, text, len, special, &got);
    if (st) fail_msg("%s: encode(\"%.*s\"): %s", label, (int)len, text, ptune_last_error());
    size_t k = 0;
    while (k < got.len && k < nw && got.data[k] == want[k]) k++;
    if (k != got.len || k != nw)
        fail_msg("%s: encode(\"%.*s\", special=%d): %zu ids, expected %zu; first difference at %zu: %d vs %d", label,
                 (int)len, text, special, got.len, nw, k, k < got.len ? got.data[k] : -1, k < nw ? want[k] : -1);
    pt_ids_free(&got);
}

static void expect_encode_json(const struct ptune_tokenizer *t, const char *label, const json_t *text, bool special,
                               const json_t *want)
{
    size_t n;
    int32_t *ids = json_ids(want, &n);
    expect_encode(t, label, json_string_value(text), json_string_length(text), special, ids, n);
    free(ids);
}

static void decode(const struct ptune_tokenizer *t, const int32_t *ids, size_t n, bool skip, pt_buf *out)
{
    ptune_status st = pt_tokenizer_decode(t, ids, n, skip, out);
    if (st) fail_msg("decode: %s", ptune_last_error());
}

/* ---------------------------------------------------------------------------------------
 * aidreams260K: GGUF vocab, golden ids, HF twin */

static void test_aidreams_golden(void **state)
{
    (void)state;
    struct ptune_tokenizer *g = load_gguf("models/aidreams260K.gguf");
    struct ptune_tokenizer *h = load_json("models/aidreams260K-hf/tokenizer.json");
    json_t *gold = load_json_doc("models/aidreams260K-golden.json");

    assert_int_equal(g->n_vocab, 512);
    assert_int_equal(g->bos_id, 1);
    assert_int_equal(g->eos_id, 2);
    assert_true(pt_tokenizer_is_special(g, 0));
    assert_true(pt_tokenizer_is_special(g, 1));
    assert_true(pt_tokenizer_is_special(g, 2));
    assert_false(pt_tokenizer_is_special(g, 3)); /* <0x00>: a byte token is ordinary vocabulary */
    assert_false(pt_tokenizer_is_special(g, 429));
    size_t len;
    const char *s = pt_tokenizer_id_to_token(g, 429, &len);
    assert_non_null(s);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "\xE2\x96\x81", 3);
    s = pt_tokenizer_id_to_token(g, 13, &len);
    assert_int_equal(len, 6);
    assert_memory_equal(s, "<0x0A>", 6);
    for (int32_t id = 0; id < 512; id++) {
        /* every token string and special flag is the same as in the twin */
        size_t la, lb;
        const char *a = pt_tokenizer_id_to_token(g, id, &la), *b = pt_tokenizer_id_to_token(h, id, &lb);
        assert_non_null(a);
        assert_non_null(b);
        if (la != lb || memcmp(a, b, la)) fail_msg("token %d: \"%.*s\" vs \"%.*s\"", id, (int)la, a, (int)lb, b);
        assert_int_equal(pt_tokenizer_is_special(g, id), pt_tokenizer_is_special(h, id));
    }

    const json_t *cases = json_object_get(gold, "tokenizer_cases");
    assert_int_equal(json_array_size(cases), 36);
    size_t idx;
    const json_t *c;
    pt_buf a = {0}, b = {0};
    json_array_foreach(cases, idx, c) {
        const json_t *text = json_object_get(c, "text");
        expect_encode_json(g, "aidreams GGUF", text, false, json_object_get(c, "ids"));
        expect_encode_json(g, "aidreams GGUF", text, true, json_object_get(c, "ids_with_bos"));
        expect_encode_json(h, "aidreams tokenizer.json", text, false, json_object_get(c, "ids"));
        expect_encode_json(h, "aidreams tokenizer.json", text, true, json_object_get(c, "ids_with_bos"));
        size_t n;
        int32_t *ids = json_ids(json_object_get(c, "ids_with_bos"), &n);
        /* decode(encode(s)) == s, and the twin decodes identically with and without specials */
        decode(g, ids, n, true, &a);
        if (a.len != json_string_length(text) || memcmp(a.data ? a.data : "", json_string_value(text), a.len))
            fail_msg("aidreams GGUF: decode gives \"%s\" for \"%s\"", a.data ? a.data : "", json_string_value(text));
        decode(h, ids, n, true, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data ? a.data : "", b.data ? b.data : "", a.len);
        decode(g, ids, n, false, &a);
        decode(h, ids, n, false, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_memory_equal(a.data, "<s>", 3);
        free(ids);
    }
    /* the edge cases: a literal U+2581 and literal <s> </s> are treated as HF does */
    json_array_foreach(json_object_get(gold, "tokenizer_edge_cases"), idx, c) {
        const json_t *text = json_object_get(c, "text"), *want = json_object_get(c, "hf_tokenizers");
        expect_encode_json(g, "aidreams GGUF edge", text, false, want);
        expect_encode_json(h, "aidreams tokenizer.json edge", text, false, want);
    }
    /* greedy ids decode to the golden text */
    const json_t *greedy = json_object_get(gold, "greedy_from_bos_40");
    size_t n;
    int32_t *ids = json_ids(json_object_get(greedy, "ids"), &n);
    decode(g, ids, n, true, &a);
    assert_string_equal(a.data, json_string_value(json_object_get(greedy, "text")));
    free(ids);
    pt_buf_free(&a);
    pt_buf_free(&b);
    json_decref(gold);
    pt_tokenizer_free(g);
    pt_tokenizer_free(h);
}

/* ---------------------------------------------------------------------------------------
 * the synthetic gpt2 vocab of the fixture GGUFs (GGUF.md): ids 0..255 the byte alphabet in
 * GPT-2 order ('!' = 0, 'Ġ' = 220), 256 + k = merge k of "a a", "a b", ... "j v" */

static int32_t letter(char c) { return (int32_t)(c - '!'); }
static int32_t merged(char x, char y) { return 256 + (x - 'a') * 26 + (y - 'a'); }

static void test_fixture_gpt2_vocab(void **state)
{
    (void)state;
    const char *files[] = {"fixtures/models/tiny-llama.gguf", "fixtures/models/tiny-llama-f16.gguf",
                           "fixtures/models/tiny-gpt2.gguf", "fixtures/models/tiny-bloom-bf16.gguf",
                           "fixtures/models/tiny-qwen2.gguf"};
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        struct ptune_tokenizer *t = load_gguf(files[f]);
        assert_int_equal(t->n_vocab, 512);
        assert_int_equal(t->bos_id, 1);
        assert_int_equal(t->eos_id, 2);
        size_t len;
        const char *s = pt_tokenizer_id_to_token(t, 220, &len);
        assert_int_equal(len, 2);
        assert_memory_equal(s, "\xC4\xA0", 2); /* Ġ */
        s = pt_tokenizer_id_to_token(t, 256, &len);
        assert_int_equal(len, 2);
        assert_memory_equal(s, "aa", 2);
        s = pt_tokenizer_id_to_token(t, 511, &len);
        assert_memory_equal(s, "jv", 2);

        const int32_t aab[] = {merged('a', 'a'), letter('b')};
        expect_encode(t, files[f], "aab", 3, false, aab, 2);
        expect_encode(t, files[f], "aab", 3, true, aab, 2); /* gpt2: no BOS unless add_bos_token says so */
        const int32_t abba[] = {merged('a', 'b'), 220, merged('b', 'a')};
        expect_encode(t, files[f], "ab ba", 5, false, abba, 3);
        /* e l (rank 115) merges before h e (rank 186); nothing merges with "el" */
        const int32_t hello[] = {letter('h'), merged('e', 'l'), letter('l'), letter('o')};
        expect_encode(t, files[f], "hello", 5, false, hello, 4);
        const int32_t nl[] = {letter('a'), 198, letter('Z')};
        expect_encode(t, files[f], "a\nZ", 3, false, nl, 3);
        pt_buf out = {0};
        decode(t, abba, 3, false, &out);
        assert_string_equal(out.data, "ab ba");
        /* non-ASCII text round-trips through the byte-level alphabet */
        pt_ids ids = {0};
        assert_int_equal(pt_tokenizer_encode(t, "caf\xC3\xA9!", 6, false, &ids), PTUNE_OK);
        decode(t, ids.data, ids.len, false, &out);
        assert_string_equal(out.data, "caf\xC3\xA9!");
        pt_ids_free(&ids);
        pt_buf_free(&out);
        pt_tokenizer_free(t);
    }
}

/* ---------------------------------------------------------------------------------------
 * malformed and unsupported vocabularies, written as small GGUF files */

typedef struct gw {
    pt_buf b;
    uint64_t n_kv;
} gw;

static void gw_raw(gw *w, const void *p, size_t n) { assert_int_equal(pt_buf_append(&w->b, p, n), PTUNE_OK); }
static void gw_u32(gw *w, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
    gw_raw(w, x, 4);
}
static void gw_u64(gw *w, uint64_t v)
{
    gw_u32(w, (uint32_t)v);
    gw_u32(w, (uint32_t)(v >> 32));
}
static void gw_str(gw *w, const char *s)
{
    gw_u64(w, strlen(s));
    gw_raw(w, s, strlen(s));
}
static void gw_key(gw *w, const char *key, uint32_t type)
{
    gw_str(w, key);
    gw_u32(w, type);
    w->n_kv++;
}
static void kv_str(gw *w, const char *key, const char *v)
{
    gw_key(w, key, PT_GGUF_STRING);
    gw_str(w, v);
}
static void kv_strs(gw *w, const char *key, const char *const *v, size_t n)
{
    gw_key(w, key, PT_GGUF_ARRAY);
    gw_u32(w, PT_GGUF_STRING);
    gw_u64(w, n);
    for (size_t i = 0; i < n; i++) gw_str(w, v[i]);
}
static void kv_f32s(gw *w, const char *key, const float *v, size_t n)
{
    gw_key(w, key, PT_GGUF_ARRAY);
    gw_u32(w, PT_GGUF_FLOAT32);
    gw_u64(w, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &v[i], 4);
        gw_u32(w, bits);
    }
}
static void kv_i32s(gw *w, const char *key, const int32_t *v, size_t n)
{
    gw_key(w, key, PT_GGUF_ARRAY);
    gw_u32(w, PT_GGUF_INT32);
    gw_u64(w, n);
    for (size_t i = 0; i < n; i++) gw_u32(w, (uint32_t)v[i]);
}
static void kv_u32(gw *w, const char *key, uint32_t v)
{
    gw_key(w, key, PT_GGUF_UINT32);
    gw_u32(w, v);
}
static void kv_bool(gw *w, const char *key, bool v)
{
    gw_key(w, key, PT_GGUF_BOOL);
    unsigned char c = v;
    gw_raw(w, &c, 1);
}

/* Writes header + kvs (no tensors) and returns pt_tokenizer_from_gguf's status. */
static ptune_status try_vocab(gw *w, struct ptune_tokenizer **out)
{
    gw file = {0};
    gw_raw(&file, "GGUF", 4);
    gw_u32(&file, 3);
    gw_u64(&file, 0);
    gw_u64(&file, w->n_kv);
    gw_raw(&file, w->b.data, w->b.len);
    char *dir = pt_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.gguf", dir);
    pt_test_write_file(path, file.b.data, file.b.len);
    pt_buf_free(&file.b);
    pt_buf_free(&w->b);
    w->n_kv = 0;
    pt_gguf g;
    ptune_status st = pt_gguf_open(path, &g);
    if (st) fail_msg("synthetic GGUF: %s", ptune_last_error());
    struct ptune_tokenizer *t = (struct ptune_tokenizer *)0x1;
    st = pt_tokenizer_from_gguf(&g, &t);
    pt_gguf_close(&g);
    pt_test_rmtree(dir);
    free(dir);
    if (st) assert_null(t);
    if (out) *out = st ? NULL : t;
    else if (!st) pt_tokenizer_free(t);
    return st;
}

static const char *const SPM_TOKENS[] = {"<unk>", "<s>", "</s>", "<0x0A>", "<0x41>", "\xE2\x96\x81", "a", "b",
                                         ("\xE2\x96\x81" "a"), "ab", "<tag>"};
static const float SPM_SCORES[] = {0, 0, 0, 0, 0, -5, -6, -7, -1, -2, 0};
static const int32_t SPM_TYPES[] = {2, 3, 3, 6, 6, 1, 1, 1, 1, 1, 4};
#define N_SPM 11

static void test_synthetic_vocabs(void **state)
{
    (void)state;
    gw w = {0};
    struct ptune_tokenizer *t;

    /* no tokenizer.ggml.model: PTUNE_E_STATE and no message */
    pt_error_clear();
    kv_str(&w, "general.architecture", "llama");
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_STATE);
    assert_string_equal(ptune_last_error(), "");
    kv_str(&w, "tokenizer.ggml.model", "no_vocab");
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_STATE);

    /* models this library does not implement are named */
    const char *unsupported[] = {"bert", "t5", "rwkv", "plamo2"};
    for (size_t i = 0; i < 4; i++) {
        kv_str(&w, "tokenizer.ggml.model", unsupported[i]);
        kv_strs(&w, "tokenizer.ggml.tokens", SPM_TOKENS, N_SPM);
        assert_int_equal(try_vocab(&w, NULL), PTUNE_E_UNSUPPORTED);
        assert_non_null(strstr(ptune_last_error(), unsupported[i]));
    }

    /* a small SentencePiece vocab: BOS by default, byte fallback, user-defined and control tokens */
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", SPM_TOKENS, N_SPM);
    kv_f32s(&w, "tokenizer.ggml.scores", SPM_SCORES, N_SPM);
    kv_i32s(&w, "tokenizer.ggml.token_type", SPM_TYPES, N_SPM);
    assert_int_equal(try_vocab(&w, &t), PTUNE_OK);
    assert_int_equal(t->n_vocab, N_SPM);
    assert_int_equal(t->bos_id, 1);
    assert_int_equal(t->eos_id, 2);
    /* "ab a\nA<tag>x<s>": ▁a b | ▁a | <0x0A> | <0x41>... */
    const char *text = "ab a\nA<tag>b</s>";
    const int32_t want[] = {1, 8, 7, 8, 3, 4, 10, 5, 7, 2};
    expect_encode(t, "synthetic spm", text, strlen(text), true, want, 10);
    expect_encode(t, "synthetic spm", text, strlen(text), false, want + 1, 9);
    assert_true(pt_tokenizer_is_special(t, 1));
    assert_false(pt_tokenizer_is_special(t, 10)); /* USER_DEFINED: matched, but not special */
    pt_buf out = {0};
    decode(t, want, 10, true, &out);
    assert_string_equal(out.data, "ab a\nA<tag> b");
    decode(t, want, 10, false, &out);
    assert_string_equal(out.data, "<s> ab a\nA<tag> b</s>");
    pt_buf_free(&out);
    pt_tokenizer_free(t);

    /* add_space_prefix false, add_bos false, add_eos true */
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", SPM_TOKENS, N_SPM);
    kv_f32s(&w, "tokenizer.ggml.scores", SPM_SCORES, N_SPM);
    kv_i32s(&w, "tokenizer.ggml.token_type", SPM_TYPES, N_SPM);
    kv_bool(&w, "tokenizer.ggml.add_space_prefix", false);
    kv_bool(&w, "tokenizer.ggml.add_bos_token", false);
    kv_bool(&w, "tokenizer.ggml.add_eos_token", true);
    kv_u32(&w, "tokenizer.ggml.eos_token_id", 10);
    assert_int_equal(try_vocab(&w, &t), PTUNE_OK);
    const int32_t want2[] = {6, 8, 7, 10}; /* "a▁ab": ▁a (-1) merges before ab (-2) */
    expect_encode(t, "synthetic spm, no prefix", "a ab", 4, false, want2, 3);
    expect_encode(t, "synthetic spm, no prefix", "a ab", 4, true, want2, 4);
    pt_tokenizer_free(t);

    /* inconsistent arrays name the key */
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", SPM_TOKENS, N_SPM);
    kv_f32s(&w, "tokenizer.ggml.scores", SPM_SCORES, N_SPM - 1);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.scores"));
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_strs(&w, "tokenizer.ggml.tokens", SPM_TOKENS, N_SPM);
    kv_i32s(&w, "tokenizer.ggml.token_type", SPM_TYPES, 3);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.token_type"));
    kv_str(&w, "tokenizer.ggml.model", "llama");
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.tokens"));
    kv_str(&w, "tokenizer.ggml.model", "llama");
    kv_str(&w, "tokenizer.ggml.tokens", "a");
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.tokens"));
    kv_u32(&w, "tokenizer.ggml.model", 5);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.model"));

    /* gpt2: merges are required and must name known tokens */
    static const char *const BPE_TOKENS[] = {"a", "b", "c", "ab", "\xC4\xA0", "<|endoftext|>", "<x>"};
    static const int32_t BPE_TYPES[] = {1, 1, 1, 1, 1, 3, 4};
    static const char *const MERGES[] = {"a b"};
    static const char *const BAD_MERGES[] = {"a b", "b z"};
    static const char *const NOSPACE[] = {"ab"};
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", BPE_TOKENS, 7);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.merges"));
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", BPE_TOKENS, 7);
    kv_strs(&w, "tokenizer.ggml.merges", BAD_MERGES, 2);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.merges[1]"));
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", BPE_TOKENS, 7);
    kv_strs(&w, "tokenizer.ggml.merges", NOSPACE, 1);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "tokenizer.ggml.merges[0]"));
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_str(&w, "tokenizer.ggml.pre", "no-such-pre-tokenizer");
    kv_strs(&w, "tokenizer.ggml.tokens", BPE_TOKENS, 7);
    kv_strs(&w, "tokenizer.ggml.merges", MERGES, 1);
    assert_int_equal(try_vocab(&w, NULL), PTUNE_E_UNSUPPORTED);
    assert_non_null(strstr(ptune_last_error(), "no-such-pre-tokenizer"));

    /* a working gpt2 vocab: CONTROL tokens are special added tokens, USER_DEFINED plain ones;
     * the pre key is optional ("default"); add_bos_token true adds the BOS id */
    kv_str(&w, "tokenizer.ggml.model", "gpt2");
    kv_strs(&w, "tokenizer.ggml.tokens", BPE_TOKENS, 7);
    kv_i32s(&w, "tokenizer.ggml.token_type", BPE_TYPES, 7);
    kv_strs(&w, "tokenizer.ggml.merges", MERGES, 1);
    kv_u32(&w, "tokenizer.ggml.bos_token_id", 5);
    kv_bool(&w, "tokenizer.ggml.add_bos_token", true);
    assert_int_equal(try_vocab(&w, &t), PTUNE_OK);
    const int32_t want3[] = {5, 3, 2, 5, 4, 6, 1};
    expect_encode(t, "synthetic gpt2", "abc<|endoftext|> <x>b", 21, true, want3, 7);
    assert_true(pt_tokenizer_is_special(t, 5));
    assert_false(pt_tokenizer_is_special(t, 6));
    out = (pt_buf){0};
    decode(t, want3, 7, true, &out);
    assert_string_equal(out.data, "abc <x>b");
    decode(t, want3, 7, false, &out);
    assert_string_equal(out.data, "<|endoftext|>abc<|endoftext|> <x>b");
    pt_buf_free(&out);
    pt_tokenizer_free(t);
}

/* ---------------------------------------------------------------------------------------
 * the token stream */

/* Pushes ids one at a time; checks every piece is complete UTF-8 and that the pieces plus the
 * flush equal pt_tokenizer_decode of all ids. Returns the number of bytes returned before the
 * flush. */
static size_t check_stream(const struct ptune_tokenizer *t, const int32_t *ids, size_t n, bool skip, const char *label)
{
    ptune_token_stream *s = NULL;
    assert_int_equal(ptune_token_stream_new(t, skip, &s), PTUNE_OK);
    pt_buf all = {0}, want = {0};
    for (int round = 0; round < 2; round++) { /* flush resets: a second sequence works the same */
        pt_buf_clear(&all);
        for (size_t i = 0; i < n; i++) {
            const char *p;
            size_t len;
            ptune_status st = ptune_token_stream_push(s, ids[i], &p, &len);
            if (st) fail_msg("%s: push %zu: %s", label, i, ptune_last_error());
            size_t bad;
            if (!pt_utf8_valid(p, len, &bad))
                fail_msg("%s: piece %zu (\"%.*s\") is not complete UTF-8 at byte %zu", label, i, (int)len, p, bad);
            assert_int_equal(pt_buf_append(&all, p, len), PTUNE_OK);
        }
        size_t before = all.len;
        const char *p;
        size_t len;
        assert_int_equal(ptune_token_stream_flush(s, &p, &len), PTUNE_OK);
        assert_true(pt_utf8_valid(p, len, NULL));
        assert_int_equal(pt_buf_append(&all, p, len), PTUNE_OK);
        decode(t, ids, n, skip, &want);
        if (all.len != want.len || memcmp(all.data ? all.data : "", want.data ? want.data : "", all.len))
            fail_msg("%s (skip=%d): stream gives \"%.*s\", decode gives \"%.*s\"", label, skip, (int)all.len,
                     all.data ? all.data : "", (int)want.len, want.data ? want.data : "");
        if (round == 1) {
            pt_buf_free(&all);
            pt_buf_free(&want);
            ptune_token_stream_free(s);
            return before;
        }
    }
    return 0;
}

static void test_stream_aidreams(void **state)
{
    (void)state;
    struct ptune_tokenizer *g = load_gguf("models/aidreams260K.gguf");
    struct ptune_tokenizer *h = load_json("models/aidreams260K-hf/tokenizer.json");
    json_t *gold = load_json_doc("models/aidreams260K-golden.json");
    size_t idx;
    const json_t *c;
    json_array_foreach(json_object_get(gold, "tokenizer_cases"), idx, c) {
        size_t n;
        int32_t *ids = json_ids(json_object_get(c, "ids_with_bos"), &n);
        for (int skip = 0; skip < 2; skip++) {
            check_stream(g, ids, n, skip, json_string_value(json_object_get(c, "text")));
            check_stream(h, ids, n, skip, json_string_value(json_object_get(c, "text")));
        }
        free(ids);
    }
    json_decref(gold);

    /* byte-fallback runs: held back until a token of another kind follows */
    ptune_token_stream *s;
    assert_int_equal(ptune_token_stream_new(g, true, &s), PTUNE_OK);
    const int32_t emoji[] = {3 + 0xF0, 3 + 0x9F, 3 + 0x99, 3 + 0x82}; /* U+1F642 as byte tokens */
    const char *p;
    size_t len;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(ptune_token_stream_push(s, emoji[i], &p, &len), PTUNE_OK);
        assert_int_equal(len, 0);
    }
    assert_int_equal(ptune_token_stream_push(s, 429, &p, &len), PTUNE_OK); /* ▁ */
    assert_int_equal(len, 5);
    assert_memory_equal(p, "\xF0\x9F\x99\x82 ", 5);
    assert_int_equal(ptune_token_stream_flush(s, &p, &len), PTUNE_OK);
    assert_int_equal(len, 0);
    /* a run valid so far that a later byte breaks: nothing was returned early */
    const int32_t broken[] = {262, 3 + 'a', 3 + 0x80, 262, 3 + 0xE5, 3 + 0x8F};
    for (int i = 0; i < 6; i++) assert_int_equal(ptune_token_stream_push(s, broken[i], &p, &len), PTUNE_OK);
    assert_int_equal(ptune_token_stream_flush(s, &p, &len), PTUNE_OK);
    ptune_token_stream_free(s);
    check_stream(g, broken, 6, true, "broken byte runs");
    check_stream(g, emoji, 4, false, "emoji only");
    const int32_t specials[] = {1, 1, 429, 2, 429, 262, 0, 2};
    check_stream(g, specials, 8, false, "specials kept");
    check_stream(g, specials, 8, true, "specials skipped");
    check_stream(g, NULL, 0, true, "nothing");

    /* argument checks */
    assert_int_equal(ptune_token_stream_new(NULL, true, &s), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_token_stream_new(g, true, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_token_stream_new(g, true, &s), PTUNE_OK);
    assert_int_equal(ptune_token_stream_push(s, 512, &p, &len), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "512"));
    assert_int_equal(ptune_token_stream_push(s, -1, &p, &len), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_token_stream_push(s, 262, NULL, &len), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_token_stream_push(s, 262, &p, &len), PTUNE_OK); /* the stream still works */
    assert_int_equal(len, 1);
    assert_memory_equal(p, "a", 1);
    ptune_token_stream_free(s);
    ptune_token_stream_free(NULL);
    pt_tokenizer_free(g);
    pt_tokenizer_free(h);
}

/* Does the text contain a 4-byte UTF-8 character? */
static bool has_4byte(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xF0) return true;
    return false;
}

static void stream_vectors(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tokenizers/%s/tokenizer.json", name);
    struct ptune_tokenizer *t = load_json(rel);
    snprintf(rel, sizeof rel, "tokenizers/%s/vectors.jsonl", name);
    char *path = pt_test_shared_path(rel);
    size_t size;
    unsigned char *data = pt_test_read_file(path, &size);
    free(path);
    size_t cases = 0, early = 0;
    for (size_t at = 0; at < size;) {
        const char *line = (const char *)data + at;
        const char *nl = memchr(line, '\n', size - at);
        size_t ll = nl ? (size_t)(nl - line) : size - at;
        at += ll + 1;
        json_error_t err;
        json_t *c = json_loadb(line, ll, JSON_ALLOW_NUL, &err);
        if (!c) fail_msg("%s: %s", name, err.text);
        const json_t *text = json_object_get(c, "text");
        if (has_4byte(json_string_value(text), json_string_length(text))) {
            char label[128];
            snprintf(label, sizeof label, "%s %s", name, json_string_value(json_object_get(c, "id")));
            size_t n;
            int32_t *ids = json_ids(json_object_get(c, "ids"), &n);
            size_t got = check_stream(t, ids, n, true, label);
            if (got) early++;
            free(ids);
            ids = json_ids(json_object_get(c, "ids_special"), &n);
            check_stream(t, ids, n, false, label);
            free(ids);
            cases++;
        }
        json_decref(c);
    }
    /* plenty of cases, and the stream returns text before the flush (it does not just hold) */
    if (cases < 20) fail_msg("%s: only %zu vectors with 4-byte characters", name, cases);
    if (early * 10 < cases * 9) fail_msg("%s: only %zu of %zu streams returned text before the flush", name, early, cases);
    free(data);
    pt_tokenizer_free(t);
}

static void test_stream_vectors_mistral(void **state)
{
    (void)state;
    stream_vectors("mistral");
}

static void test_stream_vectors_llama3(void **state)
{
    (void)state;
    stream_vectors("llama3");
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aidreams_golden),
        cmocka_unit_test(test_fixture_gpt2_vocab),
        cmocka_unit_test(test_synthetic_vocabs),
        cmocka_unit_test(test_stream_aidreams),
        cmocka_unit_test(test_stream_vectors_mistral),
        cmocka_unit_test(test_stream_vectors_llama3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
