/* The CSV record reader alone (lib/train/csv.c): RFC 4180 quoting, line endings, BOM, empty
 * lines, positions, lenient vs strict quotes, and hostile input (unterminated quotes, huge fields). */
#include "test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"
#include "train/csv.h"

/* Reads every record of `text` (NUL-terminated) into one string: fields joined by '|', records
 * by '\n' — handy to compare with an expected layout. Fails the test on a reader error. */
static char *dump(const char *text, bool strict, pt_csv_reader *keep)
{
    pt_csv_reader r;
    pt_csv_init(&r, "t.csv", text, strlen(text));
    r.strict = strict;
    size_t cap = 4 * strlen(text) + 64, used = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    bool got;
    for (;;) {
        ptune_status s = pt_csv_next(&r, &got);
        if (s) fail_msg("unexpected error: %s", ptune_last_error());
        if (!got) break;
        for (size_t i = 0; i < r.n_fields; i++) {
            assert_int_equal(r.fields[i].data[r.fields[i].len], '\0');
            used += (size_t)snprintf(out + used, cap - used, "%s%.*s", i ? "|" : "", (int)r.fields[i].len,
                                     r.fields[i].data);
        }
        used += (size_t)snprintf(out + used, cap - used, "\n");
    }
    assert_int_equal(r.n_fields, 0);
    if (keep) *keep = r; /* the caller reads the lenient counters, then frees */
    else pt_csv_free(&r);
    return out;
}

static void expect_dump(const char *text, const char *want)
{
    char *got = dump(text, false, NULL);
    assert_string_equal(got, want);
    free(got);
}

/* Expects the first failing pt_csv_next to return PTUNE_E_FORMAT with a message that starts
 * with `prefix` (e.g. "t.csv:3:5: unterminated"). */
static void expect_error(const char *text, size_t len, bool strict, const char *prefix)
{
    pt_csv_reader r;
    pt_csv_init(&r, "t.csv", text, len);
    r.strict = strict;
    bool got = true;
    ptune_status s;
    int guard = 0;
    while ((s = pt_csv_next(&r, &got)) == PTUNE_OK && got) assert_true(++guard < 1000);
    pt_csv_free(&r);
    if (s != PTUNE_E_FORMAT) fail_msg("want PTUNE_E_FORMAT for %s, got %d", prefix, s);
    if (strncmp(ptune_last_error(), prefix, strlen(prefix)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", ptune_last_error(), prefix);
}

static void test_basic_records(void **state)
{
    (void)state;
    expect_dump("a,b\n1,2\n", "a|b\n1|2\n");
    expect_dump("a,b\n1,2", "a|b\n1|2\n");       /* no final line ending */
    expect_dump("a,b,\n,,\n", "a|b|\n||\n");     /* empty fields, trailing delimiter */
    expect_dump("x\n", "x\n");
    expect_dump("", "");
    expect_dump("\n\r\n\r", "");                 /* only line endings: no record */
    expect_dump("\xEF\xBB\xBF", "");             /* only a BOM */
    expect_dump("  \n", "  \n");                 /* a blank-looking line is a record with one field */
    expect_dump("\"\"\n", "\n");                 /* one empty quoted field */
    expect_dump(" a , b \n", " a | b \n");       /* spaces are data (RFC 4180) */
}

static void test_quoted_fields(void **state)
{
    (void)state;
    expect_dump("\"x, y\",\"line1\nline2\",\"say \"\"hi\"\"\"\n", "x, y|line1\nline2|say \"hi\"\n");
    expect_dump("\"\"\"\"\n", "\"\n");          /* a field holding one quote */
    expect_dump("\"a\"\"\",b\n", "a\"|b\n");
    expect_dump("\"\",\"\"\n", "|\n");
    expect_dump("\"multi\n\nblank\nlines\"\n", "multi\n\nblank\nlines\n"); /* blank lines inside quotes stay */
    expect_dump("\"end\"", "end\n");
}

static void test_line_endings(void **state)
{
    (void)state;
    expect_dump("a,b\r\n1,2\r\n", "a|b\n1|2\n");
    expect_dump("a,b\r1,2\r", "a|b\n1|2\n");                 /* lone CR ends records (Python, pandas) */
    expect_dump("a\r\n\r\n\r\nb\r\n", "a\nb\n");             /* empty CRLF lines are skipped */
    expect_dump("\"x\r\ny\",z\r\n", "x\r\ny|z\n");           /* CRLF inside quotes kept verbatim */
    expect_dump("\n\na\n\n\nb\n\n", "a\nb\n");
}

static void test_positions(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF" "h1,h2\r\n"
                       "\"two\r\nlines\",x\r\n"
                       "\r\n"
                       "\xC3\xA9\xC3\xA9,\"q\"\n"
                       "a\rb\n";
    pt_csv_reader r;
    pt_csv_init(&r, "t.csv", text, strlen(text));
    bool got;
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_true(got);
    assert_int_equal(r.record_line, 1);
    assert_int_equal(r.fields[0].line, 1);
    assert_int_equal(r.fields[0].col, 1);              /* the BOM takes no column */
    assert_string_equal(r.fields[0].data, "h1");        /* nor is it part of the first field */
    assert_int_equal(r.fields[1].col, 4);
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.record_line, 2);
    assert_true(r.fields[0].quoted);
    assert_false(r.fields[1].quoted);
    assert_int_equal(r.fields[1].line, 3);              /* after the quoted line break */
    assert_int_equal(r.fields[1].col, 8);               /* `lines",` is 7 columns */
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.record_line, 5);                 /* line 4 was empty */
    assert_int_equal(r.fields[1].col, 4);               /* "éé," is 3 code points */
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.record_line, 6);
    assert_string_equal(r.fields[0].data, "a");
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.record_line, 7);                 /* the lone CR ended line 6 */
    assert_string_equal(r.fields[0].data, "b");
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_false(got);
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);  /* stays at the end */
    assert_false(got);
    assert_int_equal(r.n_lenient, 0);
    pt_csv_free(&r);
    pt_csv_free(&r); /* twice is harmless */
}

static void test_unterminated_quote(void **state)
{
    (void)state;
    const char *t1 = "a,b\n1,2\nx,\"never\nclosed, at all\n";
    expect_error(t1, strlen(t1), false, "t.csv:3:3: unterminated quoted field");
    expect_error(t1, strlen(t1), true, "t.csv:3:3: unterminated quoted field");
    const char *t2 = "\"";
    expect_error(t2, strlen(t2), false, "t.csv:1:1: unterminated");
    const char *t3 = "ok\n\"ends with an escaped quote\"\"";
    expect_error(t3, strlen(t3), false, "t.csv:2:1: unterminated");
    const char *t4 = "\xEF\xBB\xBF\"\xC3\xA9\",\"x"; /* the column is after the BOM, in code points */
    expect_error(t4, strlen(t4), false, "t.csv:1:5: unterminated");
}

static void test_quote_in_unquoted_field(void **state)
{
    (void)state;
    /* lenient (default, Python's csv strict=False and pandas): kept literally, recorded */
    pt_csv_reader r;
    char *got = dump("size,name\n5\" screen,tv\nok,\"fine\"\nx\"y\"z,w\n", false, &r);
    assert_string_equal(got, "size|name\n5\" screen|tv\nok|fine\nx\"y\"z|w\n");
    assert_int_equal(r.n_lenient, 2);
    assert_int_equal(r.lenient_line, 2);
    assert_int_equal(r.lenient_col, 2);
    assert_non_null(strstr(r.lenient_what, "unquoted"));
    pt_csv_free(&r);
    free(got);
    /* strict: an error at the quote */
    const char *t = "size,name\n5\" screen,tv\n";
    expect_error(t, strlen(t), true, "t.csv:2:2: quote inside an unquoted field");
}

static void test_text_after_closing_quote(void **state)
{
    (void)state;
    pt_csv_reader r;
    char *got = dump("\"ab\"cd,e\n\"He said \"hi\" to me\",x\n", false, &r);
    /* Python: ['abcd', 'e'] and ['He said hi" to me"', 'x'] */
    assert_string_equal(got, "abcd|e\nHe said hi\" to me\"|x\n");
    assert_int_equal(r.n_lenient, 2);
    assert_int_equal(r.lenient_line, 1);
    assert_int_equal(r.lenient_col, 5);
    assert_non_null(strstr(r.lenient_what, "closing quote"));
    pt_csv_free(&r);
    free(got);
    const char *t = "a\n\"He said \"hi\" to me\"\n";
    expect_error(t, strlen(t), true, "t.csv:2:11: unexpected character after the closing quote of the field opened at 2:1");
}

static void test_very_long_fields(void **state)
{
    (void)state;
    /* one quoted field of 3 MB with escaped quotes and line breaks, then a normal record */
    const size_t n = 3u << 20;
    char *text = malloc(2 * n + 64);
    assert_non_null(text);
    size_t at = 0, want_len = 0, want_quotes = 0;
    text[at++] = '"';
    for (size_t i = 0; i < n; i++) {
        char c = "abc\"d\ne,f"[i % 9];
        text[at++] = c;
        if (c == '"') {
            text[at++] = '"';
            want_quotes++;
        }
        want_len++;
    }
    memcpy(text + at, "\",tail\nnext,row\n", 16);
    at += 16;
    pt_csv_reader r;
    pt_csv_init(&r, "big.csv", text, at);
    bool got;
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_true(got);
    assert_int_equal(r.n_fields, 2);
    assert_int_equal(r.fields[0].len, want_len);
    size_t quotes = 0;
    for (size_t i = 0; i < r.fields[0].len; i++) quotes += r.fields[0].data[i] == '"';
    assert_int_equal(quotes, want_quotes);
    assert_string_equal(r.fields[1].data, "tail");
    assert_int_equal(r.fields[1].line, 1 + (int64_t)(n / 9) + (n % 9 > 5)); /* one '\n' per 9 bytes */
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_string_equal(r.fields[1].data, "row");
    pt_csv_free(&r);

    /* one record of 200000 empty fields */
    size_t nf = 200000;
    memset(text, ',', nf - 1);
    text[nf - 1] = '\n';
    pt_csv_init(&r, "wide.csv", text, nf);
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.n_fields, nf);
    assert_int_equal(r.fields[nf - 1].col, (int64_t)nf);
    assert_int_equal(r.fields[nf - 1].len, 0);
    pt_csv_free(&r);
    free(text);
}

static void test_nul_bytes_and_delimiters(void **state)
{
    (void)state;
    const char text[] = "a\0b,\"c\0\"\n";
    pt_csv_reader r;
    pt_csv_init(&r, "t.csv", text, sizeof text - 1);
    bool got;
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.n_fields, 2);
    assert_int_equal(r.fields[0].len, 3);
    assert_memory_equal(r.fields[0].data, "a\0b", 3);
    assert_int_equal(r.fields[1].len, 2);
    pt_csv_free(&r);

    const char *tsv = "a\tb,c\n\"x\ty\"\tz\n";
    pt_csv_init(&r, "t.tsv", tsv, strlen(tsv));
    r.delim = '\t';
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_int_equal(r.n_fields, 2);
    assert_string_equal(r.fields[1].data, "b,c");
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_string_equal(r.fields[0].data, "x\ty");
    assert_string_equal(r.fields[1].data, "z");
    pt_csv_free(&r);

    /* a NULL buffer is an empty one */
    pt_csv_init(&r, NULL, NULL, 5);
    assert_int_equal(pt_csv_next(&r, &got), PTUNE_OK);
    assert_false(got);
    pt_csv_free(&r);
}

static void test_awesome_prompts_shape(void **state)
{
    (void)state;
    /* the awesome-chatgpt-prompts layout: every field quoted, commas and quotes inside */
    expect_dump("\"act\",\"prompt\"\n"
                "\"Linux Terminal\",\"I want you to act as a linux terminal. I will type commands, you reply "
                "with what the terminal should show. My first command is \"\"pwd\"\"\"\n"
                "\"Poet\",\"Write a poem,\nplease.\"\n",
                "act|prompt\n"
                "Linux Terminal|I want you to act as a linux terminal. I will type commands, you reply with what "
                "the terminal should show. My first command is \"pwd\"\n"
                "Poet|Write a poem,\nplease.\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_records),
        cmocka_unit_test(test_quoted_fields),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_unterminated_quote),
        cmocka_unit_test(test_quote_in_unquoted_field),
        cmocka_unit_test(test_text_after_closing_quote),
        cmocka_unit_test(test_very_long_fields),
        cmocka_unit_test(test_nul_bytes_and_delimiters),
        cmocka_unit_test(test_awesome_prompts_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
