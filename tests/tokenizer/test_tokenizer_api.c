/* The public tokenizer API: loading from every kind of path, the two-call pattern, invalid
 * UTF-8 and bad ids, vocabulary queries, model-attached tokenizers (and their absence). */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

static ptune_tokenizer *load_tok(const char *rel)
{
    char *path = pt_test_shared_path(rel);
    ptune_tokenizer *t = NULL;
    ptune_status s = ptune_tokenizer_load(path, &t);
    if (s) fail_msg("%s: %s", path, ptune_last_error());
    free(path);
    return t;
}

static void test_load_paths(void **state)
{
    (void)state;
    /* a tokenizer.json, a model directory, a GGUF file: same ids for aidreams */
    const char *rels[] = {"models/aidreams260K-hf/tokenizer.json", "models/aidreams260K-hf", "models/aidreams260K.gguf"};
    const char *text = "Echoes of vectors unfold, a gentle hum of precision";
    const int32_t want[] = {1, 388, 355, 260, 275, 429, 339, 315, 374, 327, 446, 262, 421, 392, 275, 280, 269, 440, 270, 283};
    for (int i = 0; i < 3; i++) {
        ptune_tokenizer *t = load_tok(rels[i]);
        int32_t ids[64], n;
        assert_int_equal(ptune_tokenizer_encode(t, text, strlen(text), true, ids, 64, &n), PTUNE_OK);
        assert_int_equal(n, 20);
        assert_memory_equal(ids, want, sizeof want);
        assert_int_equal(ptune_tokenizer_vocab_size(t), 512);
        ptune_tokenizer_free(t);
    }
    ptune_tokenizer *t = (ptune_tokenizer *)0x1;
    assert_int_equal(ptune_tokenizer_load("/nonexistent/tokenizer.json", &t), PTUNE_E_IO);
    assert_null(t);
    char *weights = pt_test_shared_path("fixtures/models/tiny-llama");
    assert_int_equal(ptune_tokenizer_load(weights, &t), PTUNE_E_IO); /* a directory without tokenizer.json */
    assert_non_null(strstr(ptune_last_error(), "tokenizer.json"));
    free(weights);
    char *cfg = pt_test_shared_path("fixtures/models/tiny-llama/config.json");
    assert_int_not_equal(ptune_tokenizer_load(cfg, &t), PTUNE_OK); /* JSON, but no tokenizer */
    assert_null(t);
    free(cfg);
    ptune_tokenizer_free(NULL);
}

static void test_two_call_and_errors(void **state)
{
    (void)state;
    ptune_tokenizer *t = load_tok("tokenizers/gpt2/tokenizer.json");
    const char *text = "Hello world, hello tokens!";
    int32_t n = -1;
    assert_int_equal(ptune_tokenizer_encode(t, text, strlen(text), false, NULL, 0, &n), PTUNE_E_BUFFER_TOO_SMALL);
    assert_true(n > 3);
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
    int32_t n2;
    assert_int_equal(ptune_tokenizer_encode(t, text, strlen(text), false, ids, n, &n2), PTUNE_OK);
    assert_int_equal(n2, n);
    size_t len = 0;
    assert_int_equal(ptune_tokenizer_decode(t, ids, n, true, NULL, 0, &len), PTUNE_E_BUFFER_TOO_SMALL);
    assert_int_equal(len, strlen(text));
    char buf[64];
    assert_int_equal(ptune_tokenizer_decode(t, ids, n, true, buf, sizeof buf, &len), PTUNE_OK);
    assert_string_equal(buf, text); /* NUL added when room remains */
    free(ids);

    /* invalid UTF-8 is rejected with the byte offset */
    const char bad[] = "ok \xc3\x28 no";
    int32_t out[16];
    assert_int_equal(ptune_tokenizer_encode(t, bad, sizeof bad - 1, false, out, 16, &n), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "3"));
    /* out-of-range ids */
    int32_t wrong[] = {1, 999999};
    assert_int_equal(ptune_tokenizer_decode(t, wrong, 2, false, buf, sizeof buf, &len), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "999999"));
    /* the empty text */
    assert_int_equal(ptune_tokenizer_encode(t, "", 0, false, out, 16, &n), PTUNE_OK);
    assert_int_equal(n, 0);

    /* vocabulary queries */
    int32_t id = ptune_tokenizer_token_to_id(t, "<|endoftext|>", 13);
    assert_int_equal(id, 50256);
    assert_true(ptune_tokenizer_is_special(t, id));
    assert_false(ptune_tokenizer_is_special(t, 10));
    size_t tl;
    const char *tok = ptune_tokenizer_id_to_token(t, 220, &tl); /* "Ġ" */
    assert_non_null(tok);
    assert_int_equal(tl, 2);
    assert_memory_equal(tok, "\xc4\xa0", 2);
    assert_null(ptune_tokenizer_id_to_token(t, 1 << 30, &tl));
    assert_int_equal(ptune_tokenizer_token_to_id(t, "no such token at all", 20), -1);
    ptune_tokenizer_free(t);
}

static void test_model_tokenizers(void **state)
{
    (void)state;
    /* the fixture HF directories ship no tokenizer.json: the model loads, tokenize says why not */
    char *dir = pt_test_shared_path("fixtures/models/tiny-llama");
    ptune_model *m;
    assert_int_equal(ptune_model_load(dir, NULL, &m), PTUNE_OK);
    assert_null(ptune_model_tokenizer(m));
    int32_t ids[8], n;
    assert_int_equal(ptune_tokenize(m, "a", 1, false, ids, 8, &n), PTUNE_E_STATE);
    assert_non_null(strstr(ptune_last_error(), "tokenizer"));
    ptune_model_free(m);
    free(dir);
    /* their GGUF twins carry the synthetic gpt2 vocabulary of GGUF.md: merges "a a" → 256 ... */
    char *gguf = pt_test_shared_path("fixtures/models/tiny-llama.gguf");
    assert_int_equal(ptune_model_load(gguf, NULL, &m), PTUNE_OK);
    assert_non_null(ptune_model_tokenizer(m));
    assert_int_equal(ptune_tokenize(m, "aa", 2, false, ids, 8, &n), PTUNE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 256);
    char text[16];
    size_t len;
    assert_int_equal(ptune_detokenize(m, ids, n, true, text, sizeof text, &len), PTUNE_OK);
    assert_string_equal(text, "aa");
    ptune_model_free(m);
    free(gguf);
    /* aidreams as HF directory and GGUF: both attach a tokenizer with BOS */
    const char *rels[] = {"models/aidreams260K-hf", "models/aidreams260K.gguf"};
    for (int i = 0; i < 2; i++) {
        char *p = pt_test_shared_path(rels[i]);
        assert_int_equal(ptune_model_load(p, NULL, &m), PTUNE_OK);
        assert_int_equal(ptune_tokenize(m, "hello", 5, true, ids, 8, &n), PTUNE_OK);
        assert_int_equal(ids[0], 1);
        ptune_model_free(m);
        free(p);
    }
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_paths),
        cmocka_unit_test(test_two_call_and_errors),
        cmocka_unit_test(test_model_tokenizers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
