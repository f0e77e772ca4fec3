/* Datasets end to end on the aidreams260K tokenizer: CSV / JSONL / text files written to a temp
 * directory, select, max_length, EOS, completion masking, skips, every error's file:line:column, split. */
#include "test_support.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptune/ptune.h"
#include "train/dataset.h"

static ptune_model *model;   /* aidreams260K.gguf: BOS 1, EOS 2 */
static char *tmp;

/* ---- helpers ---------------------------------------------------------------------------- */

/* Warnings sent to the log callback, concatenated. */
static char warnings[8192];
static void on_log(ptune_log_level level, const char *msg, void *user)
{
    (void)user;
    if (level < PTUNE_LOG_WARN) return;
    size_t n = strlen(warnings);
    snprintf(warnings + n, sizeof warnings - n, "%s\n", msg);
}

static int setup(void **state)
{
    (void)state;
    char *p = pt_test_shared_path("models/aidreams260K.gguf");
    if (ptune_model_load(p, NULL, &model)) fail_msg("%s", ptune_last_error());
    free(p);
    tmp = pt_test_tmpdir();
    ptune_set_log_callback(on_log, NULL, PTUNE_LOG_WARN);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptune_set_log_callback(NULL, NULL, PTUNE_LOG_WARN);
    ptune_model_free(model);
    pt_test_rmtree(tmp);
    free(tmp);
    return 0;
}

/* Writes `text` (n bytes, or strlen when n == 0) to <tmp>/<name>; returns the malloc'd path. */
static char *put(const char *name, const char *text, size_t n)
{
    size_t len = strlen(tmp) + strlen(name) + 2;
    char *path = malloc(len);
    assert_non_null(path);
    snprintf(path, len, "%s/%s", tmp, name);
    pt_test_write_file(path, text, n ? n : strlen(text));
    return path;
}

static ptune_dataset *load(const char *path, const ptune_dataset_params *p)
{
    ptune_dataset *d = NULL;
    if (ptune_dataset_load(model, path, p, &d)) fail_msg("%s: %s", path, ptune_last_error());
    assert_non_null(d);
    return d;
}

/* The ids of `text` as the tokenizer gives them (malloc'd). */
static int32_t *tok(const char *text, bool special, int32_t *n)
{
    int32_t cap = (int32_t)strlen(text) + 16;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
    assert_non_null(ids);
    if (ptune_tokenize(model, text, strlen(text), special, ids, cap, n)) fail_msg("%s", ptune_last_error());
    return ids;
}

/* Row i must be exactly tokenize(text, special) [+ eos], every token scored. */
static void expect_row(const ptune_dataset *d, int64_t i, const char *text, bool special, bool eos)
{
    const int32_t *ids, *labels;
    int32_t len, n;
    assert_int_equal(ptune_dataset_get(d, i, &ids, &labels, &len), PTUNE_OK);
    int32_t *want = tok(text, special, &n);
    if (len != n + (eos ? 1 : 0)) fail_msg("row %lld: %d tokens, want %d for \"%s\"", (long long)i, len, n, text);
    assert_memory_equal(ids, want, sizeof(int32_t) * (size_t)n);
    if (eos) assert_int_equal(ids[n], 2);
    assert_memory_equal(labels, ids, sizeof(int32_t) * (size_t)len);
    free(want);
}

/* Loading must fail with `status` and a message equal to "<tmp>/<suffix>". */
static void expect_fail(const char *path, const ptune_dataset_params *p, ptune_status status, const char *suffix)
{
    ptune_dataset *d = (ptune_dataset *)0x1;
    ptune_status s = ptune_dataset_load(model, path, p, &d);
    assert_null(d);
    if (s != status) fail_msg("%s: status %d, want %d (%s)", path, s, status, ptune_last_error());
    char want[1024];
    snprintf(want, sizeof want, "%s/%s", tmp, suffix);
    if (strcmp(ptune_last_error(), want) != 0) fail_msg("message\n  \"%s\"\nwant\n  \"%s\"", ptune_last_error(), want);
}

/* ---- CSV -------------------------------------------------------------------------------- */

static void test_csv_quoting_crlf_bom(void **state)
{
    (void)state;
    const char *csv = "\xEF\xBB\xBF" "id,text,note\r\n"
                      "1,plain words,n\r\n"
                      "2,\"commas, inside, here\",n\r\n"
                      "3,\"two\r\nlines\",n\r\n"
                      "\r\n"
                      "4,\"she said \"\"hello\"\" twice\",\"a,b\"\r\n"
                      "5,\"caf\xC3\xA9 \xE2\x80\x94 ok\",\r\n"
                      "6,last one without line end,x";
    char *path = put("quoted.csv", csv, 0);
    ptune_dataset *d = load(path, NULL);
    assert_int_equal(ptune_dataset_size(d), 6);
    expect_row(d, 0, "plain words", true, false);
    expect_row(d, 1, "commas, inside, here", true, false);
    expect_row(d, 2, "two\r\nlines", true, false); /* line breaks inside quotes are data, verbatim */
    expect_row(d, 3, "she said \"hello\" twice", true, false);
    expect_row(d, 4, "caf\xC3\xA9 \xE2\x80\x94 ok", true, false);
    expect_row(d, 5, "last one without line end", true, false);
    int64_t total = 0;
    for (int64_t i = 0; i < 6; i++) {
        int32_t len;
        assert_int_equal(ptune_dataset_get(d, i, NULL, NULL, &len), PTUNE_OK);
        total += len;
    }
    assert_int_equal(ptune_dataset_n_tokens(d), total);
    assert_int_equal(d->offsets[6], total);   /* the internal layout the trainer reads */
    assert_ptr_equal(d->labels, d->ids);      /* no completion: labels are the ids themselves */
    ptune_dataset_free(d);
    free(path);
}

/* awesome-chatgpt-prompts: "act","prompt", every field quoted; the tutorial selects 50 rows. */
static void test_awesome_prompts_select(void **state)
{
    (void)state;
    size_t cap = 1 << 16, used = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    used += (size_t)snprintf(csv + used, cap - used, "\"act\",\"prompt\"\n");
    for (int i = 0; i < 60; i++)
        used += (size_t)snprintf(csv + used, cap - used,
                                 "\"Role %d\",\"I want you to act as role %d. Reply with \"\"ok %d\"\", then wait, "
                                 "please.\"\n",
                                 i, i, i);
    char *path = put("prompts.csv", csv, used);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.text_column = "prompt";
    ptune_dataset *all = load(path, &p);
    assert_int_equal(ptune_dataset_size(all), 60);
    p.select = 50;
    ptune_dataset *d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 50);
    char want[256];
    for (int i = 0; i < 50; i++) {
        snprintf(want, sizeof want, "I want you to act as role %d. Reply with \"ok %d\", then wait, please.", i, i);
        expect_row(d, i, want, true, false);
    }
    p.select = 1000; /* more than there are: all */
    ptune_dataset *more = load(path, &p);
    assert_int_equal(ptune_dataset_size(more), 60);
    assert_int_equal(ptune_dataset_n_tokens(more), ptune_dataset_n_tokens(all));
    ptune_dataset_free(all);
    ptune_dataset_free(d);
    ptune_dataset_free(more);
    /* the default column "text" is not there: the message lists the header */
    expect_fail(path, NULL, PTUNE_E_FORMAT, "prompts.csv:1:1: no column \"text\" in the CSV header (columns: \"act\", \"prompt\")");
    free(path);
    free(csv);
}

static void test_csv_lenient_quotes_warn(void **state)
{
    (void)state;
    warnings[0] = 0;
    char *path = put("lenient.csv", "text\n5\" screen\n\"ab\"cd\n", 0);
    ptune_dataset *d = load(path, NULL);
    assert_int_equal(ptune_dataset_size(d), 2);
    expect_row(d, 0, "5\" screen", true, false);
    expect_row(d, 1, "abcd", true, false);
    char want[512];
    snprintf(want, sizeof want, "%s:2:2: a quote inside an unquoted field (kept literally); 2 such places read "
                                "leniently, as Python's csv module does\n", path);
    assert_string_equal(warnings, want);
    ptune_dataset_free(d);
    free(path);
}

/* ---- JSON Lines --------------------------------------------------------------------------- */

static void test_jsonl(void **state)
{
    (void)state;
    const char *jl = "\xEF\xBB\xBF{\"text\": \"first line\\nsecond\", \"n\": 1}\r\n"
                     "\n"
                     "   \t\n"
                     "  {\"other\": 5, \"text\": \"caf\\u00e9 \\\"quoted\\\"\"}\n"
                     "{\"text\": \"dup\", \"text\": \"last wins\"}";
    char *path = put("data.jsonl", jl, 0);
    ptune_dataset *d = load(path, NULL);
    assert_int_equal(ptune_dataset_size(d), 3);
    expect_row(d, 0, "first line\nsecond", true, false);
    expect_row(d, 1, "caf\xC3\xA9 \"quoted\"", true, false);
    expect_row(d, 2, "last wins", true, false);
    ptune_dataset_free(d);
    /* a configurable field, .json read as JSON Lines */
    char *path2 = put("data.json", "{\"content\": \"alpha beta\"}\n{\"content\": \"gamma\", \"text\": 3}\n", 0);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.text_column = "content";
    d = load(path2, &p);
    assert_int_equal(ptune_dataset_size(d), 2);
    expect_row(d, 0, "alpha beta", true, false);
    expect_row(d, 1, "gamma", true, false);
    ptune_dataset_free(d);
    free(path);
    free(path2);
}

/* ---- text --------------------------------------------------------------------------------- */

static void test_text_lines_and_blocks(void **state)
{
    (void)state;
    const char *txt = "Once upon a time\r\n"
                      "there was a cat.\r\n"
                      "\r\n"
                      "  \r\n"
                      "The end came\n"
                      "quickly.\n"
                      "\n"
                      "\n"
                      "A last block";
    char *path = put("story.txt", txt, 0);
    ptune_dataset *d = load(path, NULL); /* one example per non-blank line */
    assert_int_equal(ptune_dataset_size(d), 5);
    expect_row(d, 0, "Once upon a time", true, false); /* CR of CRLF dropped */
    expect_row(d, 1, "there was a cat.", true, false);
    expect_row(d, 2, "The end came", true, false);
    expect_row(d, 4, "A last block", true, false);
    ptune_dataset_free(d);

    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.blank_line_separated = 1;
    d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 3);
    expect_row(d, 0, "Once upon a time\nthere was a cat.", true, false); /* lines joined with "\n" */
    expect_row(d, 1, "The end came\nquickly.", true, false);
    expect_row(d, 2, "A last block", true, false);
    ptune_dataset_free(d);

    p.select = 2; /* select counts blocks */
    d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 2);
    expect_row(d, 1, "The end came\nquickly.", true, false);
    ptune_dataset_free(d);

    /* no extension: text; an explicit format overrides the extension */
    char *noext = put("README", "just text, with a comma\n", 0);
    d = load(noext, NULL);
    expect_row(d, 0, "just text, with a comma", true, false);
    ptune_dataset_free(d);
    char *csv_as_txt = put("table.txt", "a,text\n1,from csv\n", 0);
    ptune_dataset_params_init(&p);
    p.format = PTUNE_DATA_CSV;
    d = load(csv_as_txt, &p);
    assert_int_equal(ptune_dataset_size(d), 1);
    expect_row(d, 0, "from csv", true, false);
    ptune_dataset_free(d);
    char *upper = put("UPPER.CSV", "text\nshouting\n", 0);
    d = load(upper, NULL);
    expect_row(d, 0, "shouting", true, false);
    ptune_dataset_free(d);
    free(upper);
    free(csv_as_txt);
    free(noext);
    free(path);
}

/* ---- max_length, EOS, specials -------------------------------------------------------------- */

static void test_max_length_eos_special(void **state)
{
    (void)state;
    const char *long_text = "Once upon a time there was a little dog who loved the sun";
    const char *short_text = "Hi";
    char csv[256];
    snprintf(csv, sizeof csv, "text\n%s\n%s\n", long_text, short_text);
    char *path = put("lengths.csv", csv, 0);
    int32_t n_long, n_short;
    int32_t *full = tok(long_text, true, &n_long);
    free(tok(short_text, true, &n_short));
    assert_true(n_long > 12);
    assert_true(n_short < 8);

    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.max_length = 8;
    ptune_dataset *d = load(path, &p);
    const int32_t *ids, *labels;
    int32_t len;
    assert_int_equal(ptune_dataset_get(d, 0, &ids, &labels, &len), PTUNE_OK);
    assert_int_equal(len, 8);                                  /* the first 8 tokens */
    assert_memory_equal(ids, full, 8 * sizeof(int32_t));
    expect_row(d, 1, short_text, true, false);                 /* shorter: untouched */
    ptune_dataset_free(d);

    p.add_eos = 1; /* EOS counts in max_length and always stays last */
    d = load(path, &p);
    assert_int_equal(ptune_dataset_get(d, 0, &ids, &labels, &len), PTUNE_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(ids, full, 7 * sizeof(int32_t));
    assert_int_equal(ids[7], ptune_model_eos_id(model));
    assert_int_equal(labels[7], 2);                            /* and is scored */
    expect_row(d, 1, short_text, true, true);
    ptune_dataset_free(d);

    p.max_length = 0; /* no truncation */
    d = load(path, &p);
    expect_row(d, 0, long_text, true, true);
    ptune_dataset_free(d);

    p.add_eos = 0;
    p.add_special = 0; /* no BOS */
    d = load(path, &p);
    expect_row(d, 0, long_text, false, false);
    assert_int_not_equal(pt_dataset_ids(d, 0)[0], 1);
    ptune_dataset_free(d);
    free(full);
    free(path);
}

/* ---- completion masking ------------------------------------------------------------------- */

static void check_masked(const ptune_dataset *d, int64_t i, const char *prompt, const char *completion, bool eos,
                         int32_t max_length)
{
    int32_t np, nc;
    int32_t *pi = tok(prompt, true, &np);
    int32_t *ci = tok(completion, false, &nc);
    const int32_t *ids, *labels;
    int32_t len;
    assert_int_equal(ptune_dataset_get(d, i, &ids, &labels, &len), PTUNE_OK);
    int32_t want_len = np + nc + (eos ? 1 : 0);
    if (max_length && want_len > max_length) want_len = max_length;
    assert_int_equal(len, want_len);
    int32_t content = len - (eos ? 1 : 0);
    for (int32_t k = 0; k < content; k++) {
        int32_t want = k < np ? pi[k] : ci[k - np];
        assert_int_equal(ids[k], want);
        assert_int_equal(labels[k], k < np ? -100 : want); /* -100 exactly on the prompt part */
    }
    if (eos) {
        assert_int_equal(ids[len - 1], 2);
        assert_int_equal(labels[len - 1], 2);
    }
    free(pi);
    free(ci);
}

static void test_completion_masking(void **state)
{
    (void)state;
    char *path = put("pairs.csv",
                     "question,answer\n"
                     "\"What is the sky, today?\",Blue and wide.\n"
                     "Say hi,\"Hello, friend\"\n"
                     "Empty answer,\n",
                     0);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.text_column = "question";
    p.completion_column = "answer";
    warnings[0] = 0;
    ptune_dataset *d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 2); /* the empty answer scores nothing: skipped */
    assert_ptr_not_equal(d->labels, d->ids);
    check_masked(d, 0, "What is the sky, today?", "Blue and wide.", false, 0);
    check_masked(d, 1, "Say hi", "Hello, friend", false, 0);
    char want[512];
    snprintf(want, sizeof want, "%s: skipped 1 of 3 rows that train nothing (fewer than 2 tokens, or no scored "
                                "completion token left), the first at line 4\n", path);
    assert_string_equal(warnings, want);
    ptune_dataset_free(d);

    p.add_eos = 1; /* the EOS is part of the completion: the empty answer now trains "stop" */
    d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 3);
    check_masked(d, 0, "What is the sky, today?", "Blue and wide.", true, 0);
    check_masked(d, 2, "Empty answer", "", true, 0);
    ptune_dataset_free(d);

    /* truncation: into the completion keeps a scored part; a prompt longer than max_length
     * leaves nothing scored and the row is skipped */
    int32_t np;
    free(tok("Say hi", true, &np));
    p.add_eos = 0;
    p.max_length = np + 2;
    d = load(path, &p);
    int32_t nq;
    free(tok("What is the sky, today?", true, &nq));
    assert_true(nq > np + 2);
    assert_int_equal(ptune_dataset_size(d), 1); /* the long question filled the budget; the empty answer scores nothing */
    check_masked(d, 0, "Say hi", "Hello, friend", false, np + 2);
    ptune_dataset_free(d);

    /* JSON Lines pairs; a missing completion field is an error */
    char *jl = put("pairs.jsonl", "{\"prompt\": \"Translate: chat\", \"completion\": \" cat\"}\n"
                                  "{\"prompt\": \"Translate: chien\"}\n", 0);
    ptune_dataset_params_init(&p);
    p.text_column = "prompt";
    p.completion_column = "completion";
    p.select = 1;
    d = load(jl, &p);
    check_masked(d, 0, "Translate: chat", " cat", false, 0);
    ptune_dataset_free(d);
    p.select = 0;
    expect_fail(jl, &p, PTUNE_E_FORMAT, "pairs.jsonl:2:1: no field \"completion\" in this object (fields: \"prompt\")");
    free(jl);

    /* text files have no columns */
    char *txt = put("pairs.txt", "a line\n", 0);
    ptune_dataset *x = (ptune_dataset *)0x1;
    assert_int_equal(ptune_dataset_load(model, txt, &p, &x), PTUNE_E_INVALID_ARG);
    assert_null(x);
    assert_non_null(strstr(ptune_last_error(), "completion_column \"completion\" needs a CSV or JSON Lines file"));
    free(txt);
    free(path);
}

/* ---- rows that train nothing -------------------------------------------------------------- */

static void test_skips(void **state)
{
    (void)state;
    char *path = put("sparse.csv", "text,x\n,1\nreal words here,2\n\"\",3\n", 0);
    warnings[0] = 0;
    ptune_dataset *d = load(path, NULL); /* empty texts give [BOS] alone */
    assert_int_equal(ptune_dataset_size(d), 1);
    assert_int_equal(d->n_skipped, 2);
    expect_row(d, 0, "real words here", true, false);
    char want[512];
    snprintf(want, sizeof want, "%s: skipped 2 of 3 rows that train nothing (fewer than 2 tokens, or no scored "
                                "completion token left), the first at line 2\n", path);
    assert_string_equal(warnings, want);
    ptune_dataset_free(d);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.add_eos = 1; /* [BOS, EOS]: kept, as HF keeps empty strings */
    d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 3);
    expect_row(d, 0, "", true, true);
    ptune_dataset_free(d);
    p.add_eos = 0;
    p.select = 1; /* only the empty row: nothing left */
    expect_fail(path, &p, PTUNE_E_FORMAT,
                "sparse.csv: empty dataset: all 1 rows were skipped (each has fewer than 2 tokens or no scored "
                "completion token; the first is at line 2)");
    free(path);
}

/* ---- errors, each with its exact message ---------------------------------------------------- */

typedef struct error_case {
    const char *file;
    const char *content;
    size_t len;               /* 0 = strlen */
    const char *text_column;  /* NULL = default */
    ptune_status status;
    const char *message;      /* after "<tmp>/" */
} error_case;

static void test_errors(void **state)
{
    (void)state;
    static const error_case cases[] = {
        {"unterminated.csv", "id,text\n1,ok\n2,\"never closed\n3,more\n", 0, NULL, PTUNE_E_FORMAT,
         "unterminated.csv:3:3: unterminated quoted field: the quote opened here is never closed"},
        {"short.csv", "id,text\r\n1,ok\r\n2\r\n", 0, NULL, PTUNE_E_FORMAT,
         "short.csv:3:1: row has 1 field but the header has 2 columns"},
        {"long.csv", "id,text\n1,ok\n\"2\",a,b\n", 0, NULL, PTUNE_E_FORMAT,
         "long.csv:3:7: row has 3 fields but the header has 2 columns (quote a field that contains a comma)"},
        {"multiline.csv", "id,text\n1,\"a\nb\nc\"\n2\n", 0, NULL, PTUNE_E_FORMAT,
         "multiline.csv:5:1: row has 1 field but the header has 2 columns"},
        {"empty.csv", "", 0, NULL, PTUNE_E_FORMAT, "empty.csv: empty CSV file: expected a header row naming the columns"},
        {"header_only.csv", "\xEF\xBB\xBFtext\r\n", 0, NULL, PTUNE_E_FORMAT, "header_only.csv: empty dataset: no rows"},
        {"nocol.csv", "act,prompt\nx,y\n", 0, "instruction", PTUNE_E_FORMAT,
         "nocol.csv:1:1: no column \"instruction\" in the CSV header (columns: \"act\", \"prompt\")"},
        {"syntax.jsonl", "{\"text\": \"ok\"}\n{\"text\": \"a\",}\n", 0, NULL, PTUNE_E_FORMAT,
         "syntax.jsonl:2:14: string or '}' expected near '}'"},
        {"two.jsonl", "{\"text\": \"a\"} {\"text\": \"b\"}\n", 0, NULL, PTUNE_E_FORMAT,
         "two.jsonl:1:15: end of file expected near '{'"},
        {"unicode.jsonl", "{\"text\": \"\xC3\xA9\xC3\xA9\xC3\xA9\" x}\n", 0, NULL, PTUNE_E_FORMAT,
         "unicode.jsonl:1:16: '}' expected near 'x'"}, /* jansson counts characters, not bytes */
        {"array.jsonl", "[{\"text\": \"a\"}]\n", 0, NULL, PTUNE_E_FORMAT,
         "array.jsonl:1:1: expected a JSON object, found an array (a file holding one JSON array is not JSON "
         "Lines: write one object per line)"},
        {"scalar.jsonl", "{\"text\": \"a\"}\n\n  \"just a string\"\n", 0, NULL, PTUNE_E_FORMAT,
         "scalar.jsonl:3:3: expected a JSON object, found a string"},
        {"nofield.jsonl", "{\"prompt\": \"a\", \"act\": \"b\"}\n", 0, NULL, PTUNE_E_FORMAT,
         "nofield.jsonl:1:1: no field \"text\" in this object (fields: \"prompt\", \"act\")"},
        {"number.jsonl", "{\"text\": \"fine\"}\n {\"text\": 42}\n", 0, NULL, PTUNE_E_FORMAT,
         "number.jsonl:2:2: field \"text\" is a number, expected a string"},
        {"null.jsonl", "{\"text\": null}\n", 0, NULL, PTUNE_E_FORMAT,
         "null.jsonl:1:1: field \"text\" is null, expected a string"},
        {"blank.jsonl", "\n \n\r\n", 0, NULL, PTUNE_E_FORMAT, "blank.jsonl: empty dataset: no rows"},
        {"bad.txt", "good line\nab\xC3(x\n", 0, NULL, PTUNE_E_INVALID_ARG,
         "bad.txt:2:3: invalid UTF-8 (byte 0xC3 at offset 12); datasets must be UTF-8"},
        {"bad.csv", "\xEF\xBB\xBFtext\n\"multi\nline \xE9t\xE9\"\n", 0, NULL, PTUNE_E_INVALID_ARG,
         "bad.csv:3:6: invalid UTF-8 (byte 0xE9 at offset 20); datasets must be UTF-8"},
        {"utf16.txt", "\xFF\xFEh\0i\0", 6, NULL, PTUNE_E_INVALID_ARG,
         "utf16.txt:1:1: invalid UTF-8: the file starts with a UTF-16 byte-order mark (convert it to UTF-8)"},
        {"empty.txt", "", 0, NULL, PTUNE_E_FORMAT, "empty.txt: empty dataset: no rows"},
        {"blank.txt", " \n\t\n\r\n", 0, NULL, PTUNE_E_FORMAT, "blank.txt: empty dataset: no rows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const error_case *c = &cases[i];
        char *path = put(c->file, c->content, c->len);
        ptune_dataset_params p;
        ptune_dataset_params_init(&p);
        if (c->text_column) p.text_column = c->text_column;
        expect_fail(path, &p, c->status, c->message);
        free(path);
    }
    /* select stops reading: a broken row after the first N is never parsed */
    char *path = put("late_error.csv", "text\nfine row\n\"broken\n", 0);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.select = 1;
    ptune_dataset *d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 1);
    ptune_dataset_free(d);
    free(path);
}

static void test_invalid_calls(void **state)
{
    (void)state;
    char *path = put("ok.txt", "some text\nmore text\n", 0);
    ptune_dataset *d = (ptune_dataset *)0x1;
    ptune_dataset_params p;

    assert_int_equal(ptune_dataset_load(model, path, NULL, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_load(NULL, path, NULL, &d), PTUNE_E_INVALID_ARG);
    assert_null(d);
    assert_int_equal(ptune_dataset_load(model, NULL, NULL, &d), PTUNE_E_INVALID_ARG);
    char missing[1024];
    snprintf(missing, sizeof missing, "%s/does-not-exist.csv", tmp);
    assert_int_equal(ptune_dataset_load(model, missing, NULL, &d), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), "does-not-exist.csv"));
    assert_int_equal(ptune_dataset_load(model, tmp, NULL, &d), PTUNE_E_IO); /* a directory */

    ptune_dataset_params_init(&p);
    p.struct_size = 0;
    assert_int_equal(ptune_dataset_load(model, path, &p, &d), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_load: params.struct_size is 0; call ptune_dataset_params_init()");
    ptune_dataset_params_init(&p);
    p.format = 9;
    assert_int_equal(ptune_dataset_load(model, path, &p, &d), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_load: format = 9 is not a ptune_data_format (0..3)");
    ptune_dataset_params_init(&p);
    p.max_length = -1;
    assert_int_equal(ptune_dataset_load(model, path, &p, &d), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_load: max_length = -1 must be >= 0 (0 = no truncation)");
    ptune_dataset_params_init(&p);
    p.select = -5;
    assert_int_equal(ptune_dataset_load(model, path, &p, &d), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_load: select = -5 must be >= 0 (0 = all rows)");
    ptune_dataset_params_init(&p);
    p.text_column = "q";
    p.completion_column = "q";
    assert_int_equal(ptune_dataset_load(model, path, &p, &d), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_load: completion_column and text_column are both \"q\"");
    /* NULL / "" columns mean the defaults; a smaller struct_size (an older caller) is accepted */
    ptune_dataset_params_init(&p);
    p.text_column = "";
    p.completion_column = "";
    p.struct_size = (uint32_t)offsetof(ptune_dataset_params, select);
    p.select = 1; /* beyond struct_size: ignored */
    d = load(path, &p);
    assert_int_equal(ptune_dataset_size(d), 2);
    ptune_dataset_free(d);

    /* a model without a tokenizer */
    char *bare = pt_test_shared_path("fixtures/models/tiny-llama");
    ptune_model *m = NULL;
    if (ptune_model_load(bare, NULL, &m)) fail_msg("%s", ptune_last_error());
    assert_null(ptune_model_tokenizer(m));
    assert_int_equal(ptune_dataset_load(m, path, NULL, &d), PTUNE_E_STATE);
    assert_non_null(strstr(ptune_last_error(), "has no tokenizer"));
    assert_null(d);
    ptune_model_free(m);
    free(bare);

    /* add_eos on a model without an EOS id: aidreams260K-hf with "eos_token_id": null */
    char dir[1024], src[2048], dst[2048];
    snprintf(dir, sizeof dir, "%s/no-eos-model", tmp);
    assert_int_equal(mkdir(dir, 0700), 0);
    const char *links[] = {"model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"};
    for (int i = 0; i < 4; i++) {
        char *s = pt_test_shared_path("models/aidreams260K-hf");
        snprintf(src, sizeof src, "%s/%s", s, links[i]);
        snprintf(dst, sizeof dst, "%s/%s", dir, links[i]);
        assert_int_equal(symlink(src, dst), 0);
        free(s);
    }
    char *cfg_path = pt_test_shared_path("models/aidreams260K-hf/config.json");
    size_t n;
    unsigned char *cfg = pt_test_read_file(cfg_path, &n);
    const char *key = "\"eos_token_id\": 2";
    char *at = strstr((char *)cfg, key);
    assert_non_null(at);
    char *edited = malloc(n + 16);
    assert_non_null(edited);
    int w = snprintf(edited, n + 16, "%.*s\"eos_token_id\": null%.*s", (int)(at - (char *)cfg), (char *)cfg,
                     (int)(n - (size_t)(at - (char *)cfg) - strlen(key)), at + strlen(key));
    assert_true(w > 0);
    snprintf(dst, sizeof dst, "%s/config.json", dir);
    pt_test_write_file(dst, edited, (size_t)w);
    free(edited);
    free(cfg);
    free(cfg_path);
    if (ptune_model_load(dir, NULL, &m)) fail_msg("%s", ptune_last_error());
    assert_int_equal(ptune_model_eos_id(m), -1);
    ptune_dataset_params_init(&p);
    p.add_eos = 1;
    assert_int_equal(ptune_dataset_load(m, path, &p, &d), PTUNE_E_STATE);
    assert_non_null(strstr(ptune_last_error(), "add_eos is set but the model"));
    assert_non_null(strstr(ptune_last_error(), "has no EOS token id"));
    p.add_eos = 0;
    assert_int_equal(ptune_dataset_load(m, path, &p, &d), PTUNE_OK); /* fine without EOS */
    ptune_dataset_free(d);
    ptune_model_free(m);

    /* the internal builder: eos < 0 with add_eos, NULL tokenizer */
    p.add_eos = 1;
    assert_int_equal(pt_dataset_build(ptune_model_tokenizer(model), -1, "mem.txt", "x y\n", 4, &p, &d), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_dataset_build(NULL, 2, "mem.txt", "x y\n", 4, &p, &d), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_dataset_build(ptune_model_tokenizer(model), 2, "mem.txt", "x y\n", 4, &p, &d), PTUNE_OK);
    expect_row(d, 0, "x y", true, true);
    ptune_dataset_free(d);

    /* getters */
    assert_int_equal(ptune_dataset_size(NULL), 0);
    assert_int_equal(ptune_dataset_n_tokens(NULL), 0);
    ptune_dataset_free(NULL);
    const int32_t *ids;
    int32_t len;
    assert_int_equal(ptune_dataset_get(NULL, 0, &ids, NULL, &len), PTUNE_E_INVALID_ARG);
    d = load(path, NULL);
    assert_int_equal(ptune_dataset_get(d, 2, &ids, NULL, &len), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_get: index 2 out of range (the dataset has 2 rows)");
    assert_int_equal(ptune_dataset_get(d, -1, &ids, NULL, &len), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_get(d, 1, NULL, NULL, NULL), PTUNE_OK);
    ptune_dataset_free(d);
    free(path);
}

/* ---- split -------------------------------------------------------------------------------- */

/* n rows, row i = [1000 + i, i % 7 + 3, ...] of length 2 + i % 5 (labels masked on the first). */
static ptune_dataset *numbered(int64_t n, bool masked)
{
    int32_t **ids = calloc((size_t)n, sizeof *ids), **labels = calloc((size_t)n, sizeof *labels);
    int32_t *len = calloc((size_t)n, sizeof *len);
    assert_true(ids && labels && len);
    for (int64_t i = 0; i < n; i++) {
        len[i] = 2 + (int32_t)(i % 5);
        ids[i] = malloc(sizeof(int32_t) * (size_t)len[i]);
        labels[i] = malloc(sizeof(int32_t) * (size_t)len[i]);
        assert_true(ids[i] && labels[i]);
        for (int32_t k = 0; k < len[i]; k++) {
            ids[i][k] = k == 0 ? 1000 + (int32_t)i : (int32_t)(i % 7) + 3 + k;
            labels[i][k] = k == 0 ? -100 : ids[i][k];
        }
    }
    ptune_dataset *d = NULL;
    assert_int_equal(pt_dataset_from_ids(n, (const int32_t *const *)ids, masked ? (const int32_t *const *)labels : NULL,
                                         len, &d), PTUNE_OK);
    for (int64_t i = 0; i < n; i++) {
        free(ids[i]);
        free(labels[i]);
    }
    free(ids);
    free(labels);
    free(len);
    return d;
}

/* Checks one side: rows in increasing original order, each intact; marks them in seen[]. */
static void check_side(const ptune_dataset *s, bool masked, unsigned char *seen)
{
    int64_t prev = -1;
    for (int64_t i = 0; i < ptune_dataset_size(s); i++) {
        const int32_t *ids, *labels;
        int32_t len;
        assert_int_equal(ptune_dataset_get(s, i, &ids, &labels, &len), PTUNE_OK);
        int64_t orig = ids[0] - 1000;
        assert_true(orig > prev); /* relative order kept */
        prev = orig;
        assert_int_equal(len, 2 + orig % 5);
        for (int32_t k = 1; k < len; k++) assert_int_equal(ids[k], (int32_t)(orig % 7) + 3 + k);
        assert_int_equal(labels[0], masked ? -100 : ids[0]);
        for (int32_t k = 1; k < len; k++) assert_int_equal(labels[k], ids[k]);
        assert_int_equal(seen[orig], 0);
        seen[orig] = 1;
    }
}

static void test_split(void **state)
{
    (void)state;
    for (int masked = 0; masked < 2; masked++) {
        const int64_t n = 50;
        ptune_dataset *a = numbered(n, masked), *b = numbered(n, masked), *c = numbered(n, masked);
        int64_t tokens = ptune_dataset_n_tokens(a);
        ptune_dataset *ea = NULL, *eb = NULL, *ec = NULL;
        assert_int_equal(ptune_dataset_split(a, 0.1, 42, &ea), PTUNE_OK);
        assert_int_equal(ptune_dataset_split(b, 0.1, 42, &eb), PTUNE_OK);
        assert_int_equal(ptune_dataset_split(c, 0.1, 43, &ec), PTUNE_OK);
        assert_int_equal(ptune_dataset_size(ea), 5); /* ceil(0.1 * 50) */
        assert_int_equal(ptune_dataset_size(a), 45);
        assert_int_equal(ptune_dataset_n_tokens(a) + ptune_dataset_n_tokens(ea), tokens);
        /* coverage: every row exactly once, each side in order, rows intact */
        unsigned char seen[50] = {0};
        check_side(a, masked, seen);
        check_side(ea, masked, seen);
        for (int64_t i = 0; i < n; i++) assert_int_equal(seen[i], 1);
        if (!masked) assert_ptr_equal(ea->labels, ea->ids);
        else assert_ptr_not_equal(ea->labels, ea->ids);
        /* determinism: same seed, same split; another seed, another one */
        assert_int_equal(ptune_dataset_n_tokens(eb), ptune_dataset_n_tokens(ea));
        assert_memory_equal(eb->ids, ea->ids, sizeof(int32_t) * (size_t)ptune_dataset_n_tokens(ea));
        assert_memory_equal(b->ids, a->ids, sizeof(int32_t) * (size_t)ptune_dataset_n_tokens(a));
        bool differs = ptune_dataset_n_tokens(ec) != ptune_dataset_n_tokens(ea) ||
                       memcmp(ec->ids, ea->ids, sizeof(int32_t) * (size_t)ptune_dataset_n_tokens(ea)) != 0;
        assert_true(differs);
        /* splitting again keeps working on the remainder */
        ptune_dataset *e2 = NULL;
        assert_int_equal(ptune_dataset_split(a, 0.5, 7, &e2), PTUNE_OK);
        assert_int_equal(ptune_dataset_size(e2), 23); /* ceil(22.5) */
        assert_int_equal(ptune_dataset_size(a), 22);
        memset(seen, 0, sizeof seen);
        check_side(a, masked, seen);
        check_side(e2, masked, seen);
        check_side(ea, masked, seen);
        for (int64_t i = 0; i < n; i++) assert_int_equal(seen[i], 1);
        ptune_dataset_free(a);
        ptune_dataset_free(b);
        ptune_dataset_free(c);
        ptune_dataset_free(ea);
        ptune_dataset_free(eb);
        ptune_dataset_free(ec);
        ptune_dataset_free(e2);
    }

    /* sizes: ceil without floating-point fuzz, at least one row each side */
    const struct { int64_t n; double f; int64_t want; } sizes[] = {
        {10, 0.7, 7}, {10, 0.1, 1}, {10, 0.01, 1}, {10, 0.99, 9}, {2, 0.5, 1}, {3, 0.5, 2}, {1000, 0.001, 1},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        ptune_dataset *d = numbered(sizes[i].n, false), *e = NULL;
        assert_int_equal(ptune_dataset_split(d, sizes[i].f, 1, &e), PTUNE_OK);
        if (ptune_dataset_size(e) != sizes[i].want)
            fail_msg("n = %lld, fraction %g: %lld eval rows, want %lld", (long long)sizes[i].n, sizes[i].f,
                     (long long)ptune_dataset_size(e), (long long)sizes[i].want);
        assert_int_equal(ptune_dataset_size(d) + ptune_dataset_size(e), sizes[i].n);
        ptune_dataset_free(d);
        ptune_dataset_free(e);
    }

    /* errors leave the dataset untouched */
    ptune_dataset *d = numbered(5, false), *e = (ptune_dataset *)0x1;
    assert_int_equal(ptune_dataset_split(d, 0.0, 1, &e), PTUNE_E_INVALID_ARG);
    assert_null(e);
    assert_string_equal(ptune_last_error(), "ptune_dataset_split: fraction = 0 must be in (0, 1)");
    assert_int_equal(ptune_dataset_split(d, 1.0, 1, &e), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_split(d, -0.5, 1, &e), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_split(d, NAN, 1, &e), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_split(d, 0.5, 1, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_split(NULL, 0.5, 1, &e), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_dataset_size(d), 5);
    ptune_dataset_free(d);
    d = numbered(1, false);
    assert_int_equal(ptune_dataset_split(d, 0.5, 1, &e), PTUNE_E_INVALID_ARG);
    assert_string_equal(ptune_last_error(), "ptune_dataset_split: needs at least 2 rows (one each side), the dataset has 1");
    ptune_dataset_free(d);

    /* a loaded, masked dataset splits the same way */
    char *path = put("split.csv", "p,c\na,one\nb,two\nc,three\nd,four\n", 0);
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.text_column = "p";
    p.completion_column = "c";
    d = load(path, &p);
    assert_int_equal(ptune_dataset_split(d, 0.25, 9, &e), PTUNE_OK);
    assert_int_equal(ptune_dataset_size(e), 1);
    assert_int_equal(ptune_dataset_size(d), 3);
    const int32_t *labels;
    int32_t len;
    assert_int_equal(ptune_dataset_get(e, 0, NULL, &labels, &len), PTUNE_OK);
    assert_int_equal(labels[0], -100);
    assert_int_not_equal(labels[len - 1], -100);
    ptune_dataset_free(d);
    ptune_dataset_free(e);
    free(path);

    /* pt_dataset_from_ids argument checks */
    const int32_t row[] = {5, 6};
    const int32_t *rows[] = {row};
    int32_t zero = 0;
    assert_int_equal(pt_dataset_from_ids(0, rows, NULL, &zero, &d), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_dataset_from_ids(1, rows, NULL, &zero, &d), PTUNE_E_INVALID_ARG);
    assert_null(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_quoting_crlf_bom),
        cmocka_unit_test(test_awesome_prompts_select),
        cmocka_unit_test(test_csv_lenient_quotes_warn),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_text_lines_and_blocks),
        cmocka_unit_test(test_max_length_eos_special),
        cmocka_unit_test(test_completion_masking),
        cmocka_unit_test(test_skips),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_invalid_calls),
        cmocka_unit_test(test_split),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
