/* Conformance with HF tokenizers 0.23.2: every case of shared/tokenizers/<name>/vectors.jsonl
 * (encode with and without specials, decode with and without skipping) for the six tokenizers. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_support.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

static const char *const NAMES[] = {"mistral", "llama3", "qwen3", "gemma3", "gpt2", "bloom-style"};
#define N_TOK (sizeof NAMES / sizeof NAMES[0])

static size_t g_pass, g_fail;
static size_t g_max_report = 8;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_escaped(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\') printf("\\\\");
        else if (c < 0x20 || c == 0x7f) printf("\\x%02x", c);
        else putchar(c);
    }
}

static void print_token(const struct ptune_tokenizer *t, int32_t id)
{
    size_t n;
    const char *s = pt_tokenizer_id_to_token(t, id, &n);
    printf("%d:\"", (int)id);
    if (s) print_escaped(s, n);
    else printf("?");
    printf("\"");
}

static void print_ids_around(const struct ptune_tokenizer *t, const char *label, const int32_t *ids, size_t n,
                             size_t k)
{
    size_t lo = k >= 3 ? k - 3 : 0, hi = k + 4 < n ? k + 4 : n;
    printf("      %s (%zu ids) [%zu..%zu):", label, n, lo, hi);
    for (size_t i = lo; i < hi; i++) {
        printf(" ");
        if (i == k) printf(">>");
        print_token(t, ids[i]);
    }
    printf("\n");
}

static int32_t *json_ids(const json_t *a, size_t *n)
{
    *n = json_array_size(a);
    int32_t *v = malloc((*n ? *n : 1) * sizeof(int32_t));
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++) v[i] = (int32_t)json_integer_value(json_array_get(a, i));
    return v;
}

typedef struct tally {
    size_t pass, fail, reported;
} tally;

static void check_ids(const struct ptune_tokenizer *t, tally *ty, const char *id, const char *cat, const char *what,
                      const char *text, size_t tlen, bool add_special, const int32_t *exp, size_t nexp)
{
    pt_ids got = {0};
    ptune_status st = pt_tokenizer_encode(t, text, tlen, add_special, &got);
    size_t k = 0;
    bool ok = st == PTUNE_OK && got.len == nexp;
    while (k < nexp && k < got.len && exp[k] == got.data[k]) k++;
    ok = st == PTUNE_OK && k == nexp && k == got.len;
    if (ok) {
        ty->pass++;
    } else {
        ty->fail++;
        if (ty->reported++ < g_max_report) {
            printf("    FAIL %s [%s] %s: ", id, cat, what);
            if (st) printf("status %s: %s\n", ptune_status_str(st), ptune_last_error());
            else printf("first difference at index %zu\n", k);
            printf("      text: \"");
            print_escaped(text, tlen > 300 ? 300 : tlen);
            printf("%s\"\n", tlen > 300 ? "..." : "");
            print_ids_around(t, "expected", exp, nexp, k);
            if (!st) print_ids_around(t, "actual  ", got.data, got.len, k);
        }
    }
    pt_ids_free(&got);
}

static void check_text(const struct ptune_tokenizer *t, tally *ty, const char *id, const char *cat, const char *what,
                       const int32_t *ids, size_t n, bool skip, const char *exp, size_t nexp)
{
    pt_buf got = {0};
    ptune_status st = pt_tokenizer_decode(t, ids, n, skip, &got);
    size_t k = 0;
    while (k < nexp && k < got.len && exp[k] == got.data[k]) k++;
    bool ok = st == PTUNE_OK && k == nexp && k == got.len;
    if (ok) {
        ty->pass++;
    } else {
        ty->fail++;
        if (ty->reported++ < g_max_report) {
            printf("    FAIL %s [%s] %s: ", id, cat, what);
            if (st) {
                printf("status %s: %s\n", ptune_status_str(st), ptune_last_error());
            } else {
                size_t lo = k > 20 ? k - 20 : 0;
                printf("first difference at byte %zu\n      expected (%zu B): \"", k, nexp);
                print_escaped(exp + lo, nexp - lo > 60 ? 60 : nexp - lo);
                printf("\"\n      actual   (%zu B): \"", got.len);
                print_escaped(got.data + lo, got.len - lo > 60 ? 60 : got.len - lo);
                printf("\"\n");
            }
        }
    }
    pt_buf_free(&got);
}

static void run_one(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "tokenizers/%s/tokenizer.json", name);
    char *tj = pt_test_shared_path(rel);
    snprintf(rel, sizeof rel, "tokenizers/%s/vectors.jsonl", name);
    char *vj = pt_test_shared_path(rel);

    struct ptune_tokenizer *t = NULL;
    double t0 = now_s();
    ptune_status st = pt_tokenizer_from_json_file(tj, &t);
    double load = now_s() - t0;
    if (st) fail_msg("%s: loading %s failed: %s: %s", name, tj, ptune_status_str(st), ptune_last_error());

    size_t size;
    unsigned char *data = pt_test_read_file(vj, &size);
    tally ty = {0};
    size_t cases = 0;
    double enc_time = 0;
    for (size_t pos = 0; pos < size;) {
        const char *line = (const char *)data + pos;
        const char *nl = memchr(line, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - line) : size - pos;
        pos += len + 1;
        if (len == 0) continue;
        json_error_t err;
        json_t *c = json_loadb(line, len, JSON_ALLOW_NUL, &err);
        if (!c) fail_msg("%s: bad vectors line: %s", vj, err.text);
        const json_t *jt = json_object_get(c, "text");
        const char *id = json_string_value(json_object_get(c, "id"));
        const char *cat = json_string_value(json_object_get(c, "cat"));
        const json_t *jd = json_object_get(c, "decoded"), *jds = json_object_get(c, "decoded_special");
        assert_non_null(jt);
        assert_non_null(id);
        assert_non_null(cat);
        size_t n_ids, n_sp;
        int32_t *ids = json_ids(json_object_get(c, "ids"), &n_ids);
        int32_t *sp = json_ids(json_object_get(c, "ids_special"), &n_sp);
        const char *text = json_string_value(jt);
        size_t tlen = json_string_length(jt);
        double e0 = now_s();
        check_ids(t, &ty, id, cat, "encode(add_special=false)", text, tlen, false, ids, n_ids);
        check_ids(t, &ty, id, cat, "encode(add_special=true)", text, tlen, true, sp, n_sp);
        enc_time += now_s() - e0;
        check_text(t, &ty, id, cat, "decode(ids, skip_special=true)", ids, n_ids, true, json_string_value(jd),
                   json_string_length(jd));
        check_text(t, &ty, id, cat, "decode(ids_special, skip_special=false)", sp, n_sp, false,
                   json_string_value(jds), json_string_length(jds));
        free(ids);
        free(sp);
        json_decref(c);
        cases++;
    }
    printf("  %-12s %3zu cases: %4zu passed, %4zu failed  (load %.0f ms, encode %.1f ms)\n", name, cases, ty.pass,
           ty.fail, load * 1e3, enc_time * 1e3);
    fflush(stdout);
    g_pass += ty.pass;
    g_fail += ty.fail;
    free(data);
    free(tj);
    free(vj);
    pt_tokenizer_free(t);
    if (ty.fail) fail_msg("%s: %zu of %zu checks failed", name, ty.fail, ty.pass + ty.fail);
}

#define TOKENIZER_TEST(fn, idx) \
    static void fn(void **state) \
    { \
        (void)state; \
        run_one(NAMES[idx]); \
    }
TOKENIZER_TEST(test_mistral, 0)
TOKENIZER_TEST(test_llama3, 1)
TOKENIZER_TEST(test_qwen3, 2)
TOKENIZER_TEST(test_gemma3, 3)
TOKENIZER_TEST(test_gpt2, 4)
TOKENIZER_TEST(test_bloom_style, 5)

int main(void)
{
    pt_test_shared();
    const char *v = getenv("PTUNE_TV_REPORT");
    if (v && v[0]) g_max_report = (size_t)strtoul(v, NULL, 10);
    const struct CMUnitTest all[] = {
        cmocka_unit_test(test_mistral), cmocka_unit_test(test_llama3), cmocka_unit_test(test_qwen3),
        cmocka_unit_test(test_gemma3),  cmocka_unit_test(test_gpt2),   cmocka_unit_test(test_bloom_style),
    };
    /* PTUNE_TV_ONLY=<name> runs one tokenizer (debugging) */
    const char *only = getenv("PTUNE_TV_ONLY");
    int rc;
    if (only && only[0]) {
        size_t k = 0;
        while (k < N_TOK && strcmp(NAMES[k], only)) k++;
        if (k == N_TOK) {
            printf("unknown tokenizer %s\n", only);
            return 1;
        }
        const struct CMUnitTest one[] = {all[k]};
        rc = cmocka_run_group_tests_name("tokenizer_vectors", one, NULL, NULL);
    } else {
        rc = cmocka_run_group_tests_name("tokenizer_vectors", all, NULL, NULL);
    }
    printf("%zu passed, %zu failed\n", g_pass, g_fail);
    return rc;
}
