/* The JSON scanner used for tokenizer.json's huge vocab/merges: string decoding (escapes,
 * surrogate pairs, UTF-8), skipping nested values, object iteration and malformed input. */
#include "test_support.h"

#include <string.h>

#include "formats/json_scan.h"

static pt_js at(const char *text)
{
    pt_js j = {text, text, text + strlen(text), "test.json"};
    return j;
}

static void test_strings(void **state)
{
    (void)state;
    pt_buf b = {0};
    pt_js j = at("\"plain\"");
    assert_int_equal(pt_js_string(&j, &b), PTUNE_OK);
    assert_string_equal(b.data, "plain");
    j = at("\"\\u0120a\\n\\\"\\\\\\/\\ud83d\\ude00\"");
    assert_int_equal(pt_js_string(&j, &b), PTUNE_OK);
    assert_string_equal(b.data, "\xc4\xa0" "a\n\"\\/\xf0\x9f\x98\x80");
    j = at("\"caf\xc3\xa9\"");
    assert_int_equal(pt_js_string(&j, &b), PTUNE_OK);
    assert_string_equal(b.data, "caf\xc3\xa9");
    const char *bad[] = {"\"unterminated", "\"bad \\x escape\"", "\"lone \\ud800 surrogate\"", "\"\xc3\x28\"",
                         "\"\\u12\"", "nope"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = at(bad[i]);
        assert_int_equal(pt_js_string(&j, &b), PTUNE_E_FORMAT);
        assert_non_null(strstr(ptune_last_error(), "test.json"));
    }
    pt_buf_free(&b);
}

static void test_skip_and_count(void **state)
{
    (void)state;
    pt_js j = at("[1, \"a,b\", {\"k\": [2, 3]}, null] tail");
    size_t count = 0;
    assert_int_equal(pt_js_skip_count(&j, &count), PTUNE_OK);
    assert_int_equal(count, 4);
    pt_js_ws(&j);
    assert_int_equal(strncmp(j.p, "tail", 4), 0);
    const char *bad[] = {"[1, 2", "{\"a\": ", "\"open", "[[[["};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = at(bad[i]);
        assert_int_equal(pt_js_skip(&j), PTUNE_E_FORMAT);
    }
}

typedef struct seen {
    int n;
    pt_js_span b;
} seen;

static ptune_status member(pt_js *j, const pt_buf *key, void *ctx)
{
    seen *s = ctx;
    s->n++;
    if (pt_js_key_is(key, "b")) return pt_js_record_span(j, &s->b);
    return pt_js_skip(j);
}

static void test_object(void **state)
{
    (void)state;
    pt_js j = at("{\"a\": 1, \"b\": [true, false], \"c\": {}}");
    pt_buf key = {0};
    seen s = {0};
    assert_int_equal(pt_js_object(&j, &key, member, &s), PTUNE_OK);
    assert_int_equal(s.n, 3);
    assert_true(s.b.present);
    assert_int_equal(s.b.n, strlen("[true, false]"));
    assert_int_equal(memcmp(s.b.s, "[true, false]", s.b.n), 0);
    j = at("{\"a\" 1}");
    assert_int_equal(pt_js_object(&j, &key, member, &s), PTUNE_E_FORMAT);
    j = at("{\"a\": 1,");
    assert_int_equal(pt_js_object(&j, &key, member, &s), PTUNE_E_FORMAT);
    pt_buf_free(&key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_skip_and_count),
        cmocka_unit_test(test_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
