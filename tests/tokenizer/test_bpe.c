/* Unit tests on tiny hand-built vocabularies: BPE merges, ties, byte fallback, unk, ignore_merges,
 * score mode, the word cache, added-token splitting, and the tokenizer.json loader and its errors. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "core/error.h"
#include "tokenizer/tokenizer.h"

/* ------------------------------------------------------------- helpers */

typedef struct tokdef {
    const char *s;
    int32_t id;
    float score;
} tokdef;

static pt_bpe *make_bpe(pt_bpe_config cfg, const tokdef *toks, const char *const *merges)
{
    pt_bpe *m = NULL;
    assert_int_equal(pt_bpe_new(&cfg, &m), PTUNE_OK);
    for (; toks->s; toks++) assert_int_equal(pt_bpe_add_token(m, toks->s, strlen(toks->s), toks->id, toks->score), 0);
    for (int32_t r = 0; merges && merges[r]; r++) {
        const char *sp = strchr(merges[r], ' ');
        assert_non_null(sp);
        ptune_status st = pt_bpe_add_merge(m, merges[r], (size_t)(sp - merges[r]), sp + 1, strlen(sp + 1), r);
        if (st) fail_msg("merge %s: %s", merges[r], ptune_last_error());
    }
    assert_int_equal(pt_bpe_finish(m), PTUNE_OK);
    return m;
}

/* Encodes `word` and compares with the expected ids (terminated by -2). */
static void expect_ids(const pt_bpe *m, const char *word, const int32_t *exp)
{
    pt_ids got = {0};
    assert_int_equal(pt_bpe_encode(m, word, strlen(word), &got), PTUNE_OK);
    size_t n = 0;
    while (exp[n] != -2) n++;
    bool same = got.len == n;
    for (size_t i = 0; same && i < n; i++) same = got.data[i] == exp[i];
    if (!same) {
        char buf[512];
        size_t o = 0;
        for (size_t i = 0; i < got.len && o < sizeof buf - 16; i++) o += (size_t)snprintf(buf + o, sizeof buf - o, " %d", (int)got.data[i]);
        buf[o] = 0;
        pt_ids_free(&got);
        fail_msg("encode(\"%s\"): got [%s ], expected %zu ids", word, buf, n);
    }
    pt_ids_free(&got);
}
#define IDS(...) ((const int32_t[]){__VA_ARGS__, -2})
#define NO_IDS ((const int32_t[]){-2})

static pt_bpe_config cfg0(void)
{
    pt_bpe_config c = {0};
    c.unk_id = -1;
    return c;
}

/* ------------------------------------------------------------ BPE model */

static void test_merge_order(void **state)
{
    (void)state;
    static const tokdef v[] = {{"a", 0, 0}, {"b", 1, 0}, {"c", 2, 0}, {"ab", 3, 0}, {"bc", 4, 0}, {"abc", 5, 0},
                               {"d", 6, 0}, {"cd", 7, 0}, {NULL, 0, 0}};
    /* "b c" ranks first, so "abc" is built as a + bc */
    static const char *const m1[] = {"b c", "a b", "a bc", NULL};
    pt_bpe *m = make_bpe(cfg0(), v, m1);
    expect_ids(m, "abc", IDS(5));
    expect_ids(m, "ab", IDS(3));
    expect_ids(m, "abcd", IDS(5, 6));      /* bc (0) before cd (unranked) */
    expect_ids(m, "cab", IDS(2, 3));
    pt_bpe_free(m);
    /* "a b" first: ab + c, and "ab c" is not a merge, so the word stays in two pieces */
    static const char *const m2[] = {"a b", "b c", "c d", NULL};
    m = make_bpe(cfg0(), v, m2);
    expect_ids(m, "abc", IDS(3, 2));
    expect_ids(m, "abcd", IDS(3, 7));
    expect_ids(m, "bcd", IDS(4, 6));       /* b c (1) before c d (2) */
    pt_bpe_free(m);
}

static void test_leftmost_tie(void **state)
{
    (void)state;
    static const tokdef v[] = {{"a", 0, 0}, {"aa", 1, 0}, {"aaaa", 2, 0}, {NULL, 0, 0}};
    static const char *const mg[] = {"a a", "aa aa", NULL};
    pt_bpe *m = make_bpe(cfg0(), v, mg);
    expect_ids(m, "aaa", IDS(1, 0));
    expect_ids(m, "aaaaa", IDS(2, 0));
    expect_ids(m, "aaaaaaa", IDS(2, 1, 0));
    pt_bpe_free(m);
}

static void test_byte_fallback_and_unk(void **state)
{
    (void)state;
    static const tokdef v[] = {{"<unk>", 0, 0},  {"a", 1, 0},      {"b", 2, 0}, {"<0xC3>", 3, 0},
                               {"<0xA9>", 4, 0}, {"<0xE2>", 5, 0}, {NULL, 0, 0}};
    pt_bpe_config c = cfg0();
    c.byte_fallback = true;
    c.unk_id = 0;
    c.fuse_unk = true;
    pt_bpe *m = make_bpe(c, v, NULL);
    expect_ids(m, "a\xc3\xa9"
                  "b",
               IDS(1, 3, 4, 2));
    /* U+20AC (E2 82 AC): not all byte tokens exist -> unk; two of them fuse into one */
    expect_ids(m, "a\xe2\x82\xac\xe2\x82\xac"
                  "b",
               IDS(1, 0, 2));
    pt_bpe_free(m);

    c.fuse_unk = false;
    m = make_bpe(c, v, NULL);
    expect_ids(m, "a\xe2\x82\xac\xe2\x82\xac"
                  "b",
               IDS(1, 0, 0, 2));
    expect_ids(m, "xy", IDS(0, 0));
    pt_bpe_free(m);

    /* no unk: unknown chars are dropped */
    c = cfg0();
    m = make_bpe(c, v, NULL);
    expect_ids(m, "axb", IDS(1, 2));
    expect_ids(m, "xyz", NO_IDS);
    pt_bpe_free(m);
}

static void test_ignore_merges(void **state)
{
    (void)state;
    /* "abc" is in the vocab but the merges cannot build it */
    static const tokdef v[] = {{"a", 0, 0}, {"b", 1, 0}, {"c", 2, 0}, {"ab", 3, 0}, {"abc", 4, 0}, {NULL, 0, 0}};
    static const char *const mg[] = {"a b", NULL};
    pt_bpe_config c = cfg0();
    pt_bpe *m = make_bpe(c, v, mg);
    expect_ids(m, "abc", IDS(3, 2));
    pt_bpe_free(m);
    c.ignore_merges = true;
    m = make_bpe(c, v, mg);
    expect_ids(m, "abc", IDS(4));
    expect_ids(m, "abcc", IDS(3, 2, 2));
    pt_bpe_free(m);
}

static void test_affixes(void **state)
{
    (void)state;
    static const tokdef v[] = {{"a", 0, 0}, {"##b", 1, 0}, {"##c", 2, 0}, {"ab", 3, 0}, {"abc", 4, 0}, {NULL, 0, 0}};
    static const char *const mg[] = {"a ##b", "ab ##c", NULL};
    pt_bpe_config c = cfg0();
    c.continuing_subword_prefix = "##";
    pt_bpe *m = make_bpe(c, v, mg);
    expect_ids(m, "ab", IDS(3));
    expect_ids(m, "abc", IDS(4));
    expect_ids(m, "acb", IDS(0, 2, 1));
    pt_bpe_free(m);

    static const tokdef v2[] = {{"a", 0, 0}, {"b", 1, 0}, {"b</w>", 2, 0}, {"ab</w>", 3, 0}, {NULL, 0, 0}};
    static const char *const mg2[] = {"a b</w>", NULL};
    c = cfg0();
    c.end_of_word_suffix = "</w>";
    m = make_bpe(c, v2, mg2);
    expect_ids(m, "ab", IDS(3));
    expect_ids(m, "bab", IDS(1, 3));
    pt_bpe_free(m);
}

static void test_score_mode(void **state)
{
    (void)state;
    static const tokdef v[] = {{"<unk>", 0, 0},   {"t", 1, -10},     {"h", 2, -10},     {"e", 3, -10},
                               {"th", 4, -1},     {"he", 5, -2},     {"the", 6, -0.5f}, {"a", 7, -10},
                               {"aa", 8, -3},     {"<0xE2>", 9, 0},  {"<0x82>", 10, 0}, {"<0xAC>", 11, 0},
                               {NULL, 0, 0}};
    pt_bpe_config c = cfg0();
    c.score_merges = true;
    c.byte_fallback = true;
    c.unk_id = 0;
    pt_bpe *m = make_bpe(c, v, NULL);
    expect_ids(m, "the", IDS(6));
    expect_ids(m, "he", IDS(5));
    expect_ids(m, "aaa", IDS(8, 7));     /* equal scores: leftmost first */
    expect_ids(m, "a\xe2\x82\xac", IDS(7, 9, 10, 11));
    expect_ids(m, "ax", IDS(7, 0));
    char word[302];
    memset(word, 'a', 301);
    word[301] = 0;
    pt_ids got = {0};
    assert_int_equal(pt_bpe_encode(m, word, 301, &got), PTUNE_OK);
    assert_int_equal(got.len, 151);
    for (size_t i = 0; i < 150; i++) assert_int_equal(got.data[i], 8);
    assert_int_equal(got.data[150], 7);
    pt_ids_free(&got);
    pt_bpe_free(m);
}

static void test_vocab_errors_and_lookup(void **state)
{
    (void)state;
    pt_bpe_config c = cfg0();
    pt_bpe *m = NULL;
    assert_int_equal(pt_bpe_new(&c, &m), PTUNE_OK);
    assert_int_equal(pt_bpe_add_token(m, "a", 1, 0, 0), PTUNE_OK);
    assert_int_equal(pt_bpe_add_token(m, "b", 1, 7, 0), PTUNE_OK);
    assert_int_equal(pt_bpe_add_token(m, "a", 1, 3, 0), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "duplicate"));
    assert_int_equal(pt_bpe_add_token(m, "c", 1, 7, 0), PTUNE_E_FORMAT);
    assert_int_equal(pt_bpe_add_token(m, "c", 1, -1, 0), PTUNE_E_FORMAT);
    assert_int_equal(pt_bpe_add_merge(m, "a", 1, "b", 1, 0), PTUNE_E_FORMAT); /* "ab" missing */
    assert_non_null(strstr(ptune_last_error(), "\"ab\""));
    assert_int_equal(pt_bpe_add_merge(m, "a", 1, "z", 1, 0), PTUNE_E_FORMAT);
    assert_int_equal(pt_bpe_finish(m), PTUNE_OK);
    assert_int_equal(pt_bpe_vocab_size(m), 8);
    size_t len;
    assert_string_equal(pt_bpe_id_to_token(m, 7, &len), "b");
    assert_int_equal(len, 1);
    assert_null(pt_bpe_id_to_token(m, 3, &len));
    assert_null(pt_bpe_id_to_token(m, 99, &len));
    assert_int_equal(pt_bpe_token_to_id(m, "a", 1), 0);
    assert_int_equal(pt_bpe_token_to_id(m, "zz", 2), -1);
    pt_bpe_free(m);
}

/* Many tokens force table growth; long words exercise the heap path. */
static void test_large_vocab_and_long_word(void **state)
{
    (void)state;
    pt_bpe_config c = cfg0();
    pt_bpe *m = NULL;
    assert_int_equal(pt_bpe_new(&c, &m), PTUNE_OK);
    char s[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(s, sizeof s, "tok%d", i);
        assert_int_equal(pt_bpe_add_token(m, s, strlen(s), i, 0), PTUNE_OK);
    }
    assert_int_equal(pt_bpe_add_token(m, "x", 1, 20000, 0), PTUNE_OK);
    assert_int_equal(pt_bpe_add_token(m, "xx", 2, 20001, 0), PTUNE_OK);
    assert_int_equal(pt_bpe_add_merge(m, "x", 1, "x", 1, 0), PTUNE_OK);
    assert_int_equal(pt_bpe_finish(m), PTUNE_OK);
    for (int i = 0; i < 20000; i += 997) {
        snprintf(s, sizeof s, "tok%d", i);
        assert_int_equal(pt_bpe_token_to_id(m, s, strlen(s)), i);
    }
    char word[1001];
    memset(word, 'x', 1000);
    word[1000] = 0;
    pt_ids got = {0};
    assert_int_equal(pt_bpe_encode(m, word, 1000, &got), PTUNE_OK);
    assert_int_equal(got.len, 500);
    for (size_t i = 0; i < got.len; i++) assert_int_equal(got.data[i], 20001);
    pt_ids_clear(&got);
    assert_int_equal(pt_bpe_encode(m, word, 999, &got), PTUNE_OK);
    assert_int_equal(got.len, 500);
    assert_int_equal(got.data[499], 20000);
    pt_ids_free(&got);
    pt_bpe_free(m);
}

/* The word cache must never answer for another (or a freed) model. */
static void test_cache_isolation(void **state)
{
    (void)state;
    static const tokdef v[] = {{"a", 0, 0}, {"b", 1, 0}, {"ab", 2, 0}, {NULL, 0, 0}};
    static const char *const mg[] = {"a b", NULL};
    for (int round = 0; round < 3; round++) {
        pt_bpe *m1 = make_bpe(cfg0(), v, mg);
        pt_bpe *m2 = make_bpe(cfg0(), v, NULL);
        expect_ids(m1, "ab", IDS(2));
        expect_ids(m2, "ab", IDS(0, 1));
        expect_ids(m1, "ab", IDS(2));
        pt_bpe_free(m1);
        pt_bpe *m3 = make_bpe(cfg0(), v, NULL); /* may reuse m1's memory */
        expect_ids(m3, "ab", IDS(0, 1));
        pt_bpe_free(m2);
        pt_bpe_free(m3);
    }
}

typedef struct thr_arg {
    const pt_bpe *m;
    int ok;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    a->ok = 1;
    char w[16];
    for (int i = 0; i < 20000 && a->ok; i++) {
        int n = 1 + i % 9;
        memset(w, 'x', (size_t)n);
        pt_ids got = {0};
        if (pt_bpe_encode(a->m, w, (size_t)n, &got) || got.len != (size_t)(n / 2 + n % 2)) a->ok = 0;
        pt_ids_free(&got);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    static const tokdef v[] = {{"x", 0, 0}, {"xx", 1, 0}, {NULL, 0, 0}};
    static const char *const mg[] = {"x x", NULL};
    pt_bpe *m = make_bpe(cfg0(), v, mg);
    pthread_t th[4];
    thr_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i].m = m;
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].ok, 1);
    }
    pt_bpe_free(m);
}

/* --------------------------------------------------------- added tokens */

typedef struct exp_split {
    const char *text;
    int32_t id;
} exp_split;

static void expect_splits(const pt_added_tokens *a, bool normalized, const char *text, const exp_split *exp)
{
    pt_split *sp = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(pt_added_tokens_split(a, normalized, text, strlen(text), &sp, &n, &cap), PTUNE_OK);
    size_t k = 0;
    for (; exp[k].text; k++) {
        if (k >= n) fail_msg("split of \"%s\": only %zu splits, expected more", text, n);
        size_t len = sp[k].end - sp[k].start;
        if (sp[k].id != exp[k].id || len != strlen(exp[k].text) || memcmp(text + sp[k].start, exp[k].text, len))
            fail_msg("split %zu of \"%s\": got \"%.*s\" (id %d), expected \"%s\" (id %d)", k, text, (int)len,
                     text + sp[k].start, (int)sp[k].id, exp[k].text, (int)exp[k].id);
    }
    if (k != n) fail_msg("split of \"%s\": %zu splits, expected %zu", text, n, k);
    free(sp);
}

static pt_added_tokens *make_added(const pt_added_token *toks, size_t n)
{
    pt_added_tokens *a = NULL;
    assert_int_equal(pt_added_tokens_new(&a), PTUNE_OK);
    for (size_t i = 0; i < n; i++) assert_int_equal(pt_added_tokens_add(a, &toks[i]), PTUNE_OK);
    assert_int_equal(pt_added_tokens_finish(a), PTUNE_OK);
    return a;
}

static pt_added_token tok(const char *s, int32_t id)
{
    pt_added_token t = {0};
    t.content = (char *)s;
    t.len = strlen(s);
    t.id = id;
    t.special = true;
    return t;
}

static void test_added_leftmost_longest(void **state)
{
    (void)state;
    pt_added_token t[] = {tok("<s>", 1), tok("</s>", 2), tok("<s>x", 3), tok("\n", 4), tok("\n\n", 5)};
    t[3].special = false;
    pt_added_tokens *a = make_added(t, 5);
    assert_int_equal(pt_added_tokens_count(a), 5);
    assert_non_null(pt_added_tokens_by_id(a, 3));
    assert_null(pt_added_tokens_by_id(a, 9));
    expect_splits(a, false, "a<s>b</s>c", (exp_split[]){{"a", -1}, {"<s>", 1}, {"b", -1}, {"</s>", 2}, {"c", -1}, {0, 0}});
    expect_splits(a, false, "<s>xy", (exp_split[]){{"<s>x", 3}, {"y", -1}, {0, 0}});
    expect_splits(a, false, "\n\n\n", (exp_split[]){{"\n\n", 5}, {"\n", 4}, {0, 0}});
    expect_splits(a, false, "<S> <s", (exp_split[]){{"<S> <s", -1}, {0, 0}});
    expect_splits(a, false, "<</s>>", (exp_split[]){{"<", -1}, {"</s>", 2}, {">", -1}, {0, 0}});
    expect_splits(a, true, "a<s>b", (exp_split[]){{"a<s>b", -1}, {0, 0}}); /* none is normalized */
    expect_splits(a, false, "", (exp_split[]){{0, 0}});
    pt_added_tokens_free(a);
}

static void test_added_strip_and_single_word(void **state)
{
    (void)state;
    pt_added_token t[] = {tok("<mask>", 0), tok("ony", 1), tok("[X]", 2)};
    t[0].lstrip = t[0].rstrip = true;
    t[1].single_word = true;
    t[2].lstrip = true;
    pt_added_tokens *a = make_added(t, 3);
    expect_splits(a, false, "Hi <mask> there\t<mask>\t<mask>\xe2\x80\x80",
                  (exp_split[]){{"Hi", -1},
                                {" <mask> ", 0},
                                {"there", -1},
                                {"\t<mask>\t", 0},
                                {"<mask>\xe2\x80\x80", 0},
                                {0, 0}});
    expect_splits(a, false, "ony anthony ony, x-ony",
                  (exp_split[]){{"ony", 1}, {" anthony ", -1}, {"ony", 1}, {", x-", -1}, {"ony", 1}, {0, 0}});
    expect_splits(a, false, "\xc3\xa9ony", (exp_split[]){{"\xc3\xa9ony", -1}, {0, 0}}); /* é is a word char */
    expect_splits(a, false, "a  [X]b", (exp_split[]){{"a", -1}, {"  [X]", 2}, {"b", -1}, {0, 0}});
    pt_added_tokens_free(a);

    /* normalized tokens are only matched by normalized=true calls */
    pt_added_token u[] = {tok("<s>", 1), tok("hey", 2)};
    u[1].normalized = true;
    a = make_added(u, 2);
    expect_splits(a, false, "<s>hey", (exp_split[]){{"<s>", 1}, {"hey", -1}, {0, 0}});
    expect_splits(a, true, "<s>hey", (exp_split[]){{"<s>", -1}, {"hey", 2}, {0, 0}});
    pt_added_tokens_free(a);
}

/* ------------------------------------------------- tokenizer.json loader */

static char *g_tmpdir;

static int setup(void **state)
{
    (void)state;
    g_tmpdir = pt_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pt_test_rmtree(g_tmpdir);
    free(g_tmpdir);
    return 0;
}

static ptune_status load_json(const char *json, struct ptune_tokenizer **t)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/tokenizer.json", g_tmpdir);
    pt_test_write_file(path, json, strlen(json));
    return pt_tokenizer_from_json_file(path, t);
}

static const char *TINY_MODEL =
    "\"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": \"<unk>\", \"fuse_unk\": true,"
    " \"byte_fallback\": true, \"ignore_merges\": false,"
    " \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, \"a\": 3, \"b\": 4, \"ab\": 5, \"\\u2581\": 6,"
    " \"\\u2581ab\": 7, \"<0xE2>\": 8, \"<0x82>\": 9, \"<0xAC>\": 10, \"c\\\"d\": 11},"
    " \"merges\": [[\"a\", \"b\"], \"\\u2581 ab\"]}";

static void test_json_pipeline(void **state)
{
    (void)state;
    char json[4096];
    snprintf(json, sizeof json,
             "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null,"
             " \"added_tokens\": [{\"id\": 1, \"content\": \"<s>\", \"single_word\": false, \"lstrip\": false,"
             " \"rstrip\": false, \"normalized\": false, \"special\": true},"
             " {\"id\": 2, \"content\": \"</s>\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false,"
             " \"normalized\": false, \"special\": true}],"
             " \"normalizer\": {\"type\": \"Replace\", \"pattern\": {\"String\": \" \"}, \"content\": \"\\u2581\"},"
             " \"pre_tokenizer\": null,"
             " \"post_processor\": {\"type\": \"TemplateProcessing\","
             " \"single\": [{\"SpecialToken\": {\"id\": \"<s>\", \"type_id\": 0}}, {\"Sequence\": {\"id\": \"A\","
             " \"type_id\": 0}}], \"pair\": [{\"Sequence\": {\"id\": \"A\", \"type_id\": 0}}, {\"Sequence\": {\"id\":"
             " \"B\", \"type_id\": 1}}], \"special_tokens\": {\"<s>\": {\"id\": \"<s>\", \"ids\": [1], \"tokens\":"
             " [\"<s>\"]}}},"
             " \"decoder\": {\"type\": \"Sequence\", \"decoders\": [{\"type\": \"Replace\", \"pattern\": {\"String\":"
             " \"\\u2581\"}, \"content\": \" \"}, {\"type\": \"ByteFallback\"}, {\"type\": \"Fuse\"}]},"
             " %s}",
             TINY_MODEL);
    struct ptune_tokenizer *t = NULL;
    ptune_status st = load_json(json, &t);
    if (st) fail_msg("load: %s", ptune_last_error());
    assert_int_equal(t->n_vocab, 12);
    assert_int_equal(t->bos_id, 1);
    assert_true(pt_tokenizer_is_special(t, 1));
    assert_false(pt_tokenizer_is_special(t, 3));

    pt_ids ids = {0};
    const char *text = "ab <s> ab\xe2\x82\xac";
    assert_int_equal(pt_tokenizer_encode(t, text, strlen(text), false, &ids), PTUNE_OK);
    const int32_t exp[] = {5, 6, 1, 7, 8, 9, 10};
    assert_int_equal(ids.len, 7);
    assert_memory_equal(ids.data, exp, sizeof exp);
    assert_int_equal(pt_tokenizer_encode(t, text, strlen(text), true, &ids), PTUNE_OK);
    assert_int_equal(ids.len, 8);
    assert_int_equal(ids.data[0], 1);
    assert_int_equal(pt_tokenizer_encode(t, "", 0, true, &ids), PTUNE_OK);
    assert_int_equal(ids.len, 1);
    assert_int_equal(ids.data[0], 1);
    assert_int_equal(pt_tokenizer_encode(t, "", 0, false, &ids), PTUNE_OK);
    assert_int_equal(ids.len, 0);

    /* invalid UTF-8 names the offset */
    assert_int_equal(pt_tokenizer_encode(t, "ab\xff", 3, false, &ids), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "offset 2"));

    pt_buf out = {0};
    assert_int_equal(pt_tokenizer_decode(t, exp, 7, true, &out), PTUNE_OK);
    assert_string_equal(out.data, "ab  ab\xe2\x82\xac");
    assert_int_equal(pt_tokenizer_decode(t, exp, 7, false, &out), PTUNE_OK);
    assert_string_equal(out.data, "ab <s> ab\xe2\x82\xac");
    const int32_t bad[] = {3, 12};
    assert_int_equal(pt_tokenizer_decode(t, bad, 2, false, &out), PTUNE_E_INVALID_ARG);
    size_t len;
    assert_string_equal(pt_tokenizer_id_to_token(t, 11, &len), "c\"d");
    assert_string_equal(pt_tokenizer_id_to_token(t, 2, &len), "</s>");
    pt_buf_free(&out);
    pt_ids_free(&ids);
    pt_tokenizer_free(t);
}

static void expect_load_error(const char *json, ptune_status want, const char *needle)
{
    struct ptune_tokenizer *t = NULL;
    ptune_status st = load_json(json, &t);
    if (st != want) fail_msg("expected status %d, got %d (%s) for %s", (int)want, (int)st, ptune_last_error(), json);
    assert_null(t);
    if (!strstr(ptune_last_error(), needle)) fail_msg("message \"%s\" lacks \"%s\"", ptune_last_error(), needle);
}

static void test_json_errors(void **state)
{
    (void)state;
    expect_load_error("{\"model\": {\"type\": \"WordPiece\", \"vocab\": {}}}", PTUNE_E_UNSUPPORTED, "WordPiece");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"dropout\": 0.1, \"vocab\": {}, \"merges\": []}}",
                      PTUNE_E_UNSUPPORTED, "dropout");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}",
                      PTUNE_E_FORMAT, "merges[0]");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b c\"]}}",
                      PTUNE_E_FORMAT, "model.merges");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": -1}, \"merges\": []}}", PTUNE_E_FORMAT,
                      "model.vocab");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"a\": 1}, \"merges\": []}}",
                      PTUNE_E_FORMAT, "duplicate");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}}", PTUNE_E_FORMAT, "merges");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\\ud800\": 0}, \"merges\": []}}", PTUNE_E_FORMAT,
                      "surrogate");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []", PTUNE_E_FORMAT, "byte");
    expect_load_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {}, \"merges\": []}, \"normalizer\": [1,]}",
                      PTUNE_E_FORMAT, "normalizer");
    expect_load_error("{}", PTUNE_E_FORMAT, "model");
    struct ptune_tokenizer *t = NULL;
    assert_int_equal(pt_tokenizer_from_json_file("/nonexistent/tokenizer.json", &t), PTUNE_E_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge_order),
        cmocka_unit_test(test_leftmost_tie),
        cmocka_unit_test(test_byte_fallback_and_unk),
        cmocka_unit_test(test_ignore_merges),
        cmocka_unit_test(test_affixes),
        cmocka_unit_test(test_score_mode),
        cmocka_unit_test(test_vocab_errors_and_lookup),
        cmocka_unit_test(test_large_vocab_and_long_word),
        cmocka_unit_test(test_cache_isolation),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_added_leftmost_longest),
        cmocka_unit_test(test_added_strip_and_single_word),
        cmocka_unit_test(test_json_pipeline),
        cmocka_unit_test(test_json_errors),
    };
    return cmocka_run_group_tests_name("tokenizer_bpe", tests, setup, teardown);
}
