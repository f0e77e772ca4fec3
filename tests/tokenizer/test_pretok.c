/* Normalizers and pre-tokenizers against HF `tokenizers` 0.23.2 behaviour: regex semantics, the
 * \s set, split behaviours, Metaspace schemes, Unicode forms, GGUF presets and error reporting. */
#include "test_support.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer/normalizer.h"
#include "tokenizer/pattern.h"
#include "tokenizer/pretokenizer.h"

/* Llama 3's Split regex (tokenizer.json), and BLOOM's. */
#define RE_LLAMA3 \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_BLOOM " ?[^(\\s|[.,!?…。，、।۔،])]+"

#define G "\xC4\xA0" /* Ġ: ByteLevel's space */

/* ---- helpers ------------------------------------------------------------------------------ */

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("bad test JSON: %s: %s", text, e.text);
    return j;
}

static json_t *split_cfg(const char *kind, const char *pattern, const char *behavior, int invert)
{
    json_t *j = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", kind, pattern, "behavior", behavior,
                          "invert", invert);
    assert_non_null(j);
    return j;
}

static void dump_pieces(const pt_pieces *pc)
{
    fprintf(stderr, "  got %zu pieces:", pc->n);
    for (size_t i = 0; i < pc->n; i++) {
        size_t l;
        const char *s = pt_piece(pc, i, &l);
        fprintf(stderr, " [%.*s]", (int)l, s);
    }
    fprintf(stderr, "\n");
}

/* Runs `p` on text (length: strlen, or tlen when non-zero) and compares with `expected`
 * (NULL-terminated). */
static void expect_run(const pt_pretokenizer *p, const char *text, size_t tlen, int first, const char *const *expected)
{
    pt_pieces pc = {0};
    size_t len = tlen ? tlen : strlen(text);
    assert_int_equal(pt_pretokenizer_run(p, text, len, first, &pc), PTUNE_OK);
    size_t n = 0;
    while (expected[n]) n++;
    bool ok = pc.n == n;
    for (size_t i = 0; ok && i < n; i++) {
        size_t l;
        const char *s = pt_piece(&pc, i, &l);
        ok = l == strlen(expected[i]) && memcmp(s, expected[i], l) == 0;
    }
    if (!ok) {
        fprintf(stderr, "pre-tokenizing [%.*s]: expected %zu pieces:", (int)len, text, n);
        for (size_t i = 0; i < n; i++) fprintf(stderr, " [%s]", expected[i]);
        fprintf(stderr, "\n");
        dump_pieces(&pc);
    }
    pt_pieces_free(&pc);
    assert_true(ok);
}

/* Parses cfg (consumed), runs it, compares. */
static void check_pre_j(json_t *cfg, const char *text, int first, const char *const *expected)
{
    pt_pretokenizer *p = NULL;
    ptune_status s = pt_pretokenizer_parse(cfg, "test.json", &p);
    if (s) fprintf(stderr, "parse failed: %s\n", ptune_last_error());
    assert_int_equal(s, PTUNE_OK);
    expect_run(p, text, 0, first, expected);
    pt_pretokenizer_free(p);
    json_decref(cfg);
}

#define PIECES(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CHECK_PRE(json_text, text, ...) check_pre_j(js(json_text), text, 1, PIECES(__VA_ARGS__))
#define CHECK_SPLIT(kind, pat, beh, inv, text, ...) check_pre_j(split_cfg(kind, pat, beh, inv), text, 1, PIECES(__VA_ARGS__))
#define NO_PIECES ((const char *const[]){NULL})

static void check_norm_j(json_t *cfg, const char *text, size_t tlen, const char *expected, size_t elen)
{
    pt_normalizer *n = NULL;
    ptune_status s = pt_normalizer_parse(cfg, "test.json", &n);
    if (s) fprintf(stderr, "parse failed: %s\n", ptune_last_error());
    assert_int_equal(s, PTUNE_OK);
    pt_buf out = {0};
    assert_int_equal(pt_normalizer_run(n, text, tlen ? tlen : strlen(text), &out), PTUNE_OK);
    size_t want = elen ? elen : strlen(expected);
    bool ok = out.len == want && (want == 0 || memcmp(out.data, expected, want) == 0);
    if (!ok) fprintf(stderr, "normalizing [%s]: expected [%s] got [%.*s]\n", text, expected, (int)out.len, out.data);
    pt_buf_free(&out);
    pt_normalizer_free(n);
    json_decref(cfg);
    assert_true(ok);
}
#define CHECK_NORM(json_text, text, expected) check_norm_j(js(json_text), text, 0, expected, 0)

static void expect_parse_error(const json_t *cfg, bool normalizer, ptune_status want, const char *needle)
{
    ptune_status s;
    if (normalizer) {
        pt_normalizer *n = (pt_normalizer *)1;
        s = pt_normalizer_parse(cfg, "cfg.json", &n);
        assert_null(n);
    } else {
        pt_pretokenizer *p = (pt_pretokenizer *)1;
        s = pt_pretokenizer_parse(cfg, "cfg.json", &p);
        assert_null(p);
    }
    assert_int_equal(s, want);
    if (!strstr(ptune_last_error(), needle)) fail_msg("message [%s] lacks [%s]", ptune_last_error(), needle);
    assert_non_null(strstr(ptune_last_error(), "cfg.json"));
}

/* ---- GPT-2 byte alphabet ------------------------------------------------------------------ */

static void test_bytelevel_table(void **state)
{
    (void)state;
    size_t l;
    const char *c = pt_bytelevel_char(' ', &l);
    assert_int_equal(l, 2);
    assert_memory_equal(c, G, 2);
    c = pt_bytelevel_char('\n', &l);
    assert_memory_equal(c, "\xC4\x8A", 2); /* Ċ */
    c = pt_bytelevel_char('a', &l);
    assert_int_equal(l, 1);
    assert_int_equal(c[0], 'a');
    c = pt_bytelevel_char(0xAD, &l);
    assert_memory_equal(c, "\xC5\x83", 2); /* U+0143 */
    c = pt_bytelevel_char(0xE9, &l);
    assert_memory_equal(c, "\xC3\xA9", 2); /* printable Latin-1 maps to itself */
    /* a bijection between bytes and 256 code points */
    int seen[0x144] = {0};
    for (int b = 0; b < 256; b++) {
        c = pt_bytelevel_char((unsigned char)b, &l);
        uint32_t cp;
        assert_int_equal(pt_uc_next(c, l, &cp), l);
        assert_true(cp < 0x144);
        assert_int_equal(seen[cp]++, 0);
        assert_int_equal(pt_bytelevel_byte(cp), b);
    }
    assert_int_equal(pt_bytelevel_byte(0x20), -1);
    assert_int_equal(pt_bytelevel_byte(0x7F), -1);
    assert_int_equal(pt_bytelevel_byte(0x144), -1);
    assert_int_equal(pt_bytelevel_byte(0x120), 0x20);
}

/* ---- regex semantics ---------------------------------------------------------------------- */

static void test_llama3_regex(void **state)
{
    (void)state;
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "1234567", "123", "456", "7");
    /* case-insensitive contractions, including case folding of U+017F LONG S */
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "x'\xC5\xBFx", "x", "'\xC5\xBF", "x");
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "I'M HERE'S", "I", "'M", " HERE", "'S");
    /* punctuation absorbs the newlines after it */
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "x?!\n\ny", "x", "?!\n\n", "y");
    /* \s+(?!\S) backtracks */
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "a  b", "a", " ", " b");
    /* one non-letter other than \r \n (here NBSP and U+2028) may prefix a word */
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "\xC2\xA0word \xE2\x80\xA8x", "\xC2\xA0word", " ", "\xE2\x80\xA8x");
    /* \p{N}{1,3} applies to every \p{N} (Arabic-Indic digits) and a space before a number is alone */
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, "\xD9\xA3\xD9\xA4\xD9\xA5\xD9\xA6", "\xD9\xA3\xD9\xA4\xD9\xA5",
                "\xD9\xA6");
    CHECK_SPLIT("Regex", RE_LLAMA3, "Isolated", 0, " 12", " ", "12");

    /* the llama3 pipeline: Split then ByteLevel without its regex */
    json_t *cfg = json_pack("{s:s, s:[o, {s:s, s:b, s:b, s:b}]}", "type", "Sequence", "pretokenizers",
                            split_cfg("Regex", RE_LLAMA3, "Isolated", 0), "type", "ByteLevel", "add_prefix_space", 0,
                            "trim_offsets", 1, "use_regex", 0);
    check_pre_j(cfg, "x'\xC5\xBFx", 1, PIECES("x", "'\xC3\x85\xC2\xBF", "x"));
}

static void test_gpt2_bytelevel(void **state)
{
    (void)state;
    const char *gpt2 = "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";
    CHECK_PRE(gpt2, "a  b", "a", G, G "b");
    /* case-sensitive contractions: 'S is ' then S */
    CHECK_PRE(gpt2, "'S", "'", "S");
    CHECK_PRE(gpt2, "it's", "it", "'s");
    CHECK_PRE(gpt2, " 2024", G "2024");
    CHECK_PRE(gpt2, "Hello world\n", "Hello", G "world", "\xC4\x8A");
    check_pre_j(js(gpt2), "", 1, NO_PIECES);
    /* add_prefix_space adds one space unless there is one; it applies to every piece it sees */
    CHECK_PRE("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", "hi",
              G "hi");
    CHECK_PRE("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}", " hi",
              G "hi");
    json_t *cfg = json_pack("{s:s, s:[o, {s:s, s:b, s:b, s:b}]}", "type", "Sequence", "pretokenizers",
                            split_cfg("String", " ", "Removed", 0), "type", "ByteLevel", "add_prefix_space", 1,
                            "trim_offsets", 1, "use_regex", 0);
    check_pre_j(cfg, "a b", 1, PIECES(G "a", G "b"));
}

static void test_bloom_nested_class(void **state)
{
    (void)state;
    CHECK_SPLIT("Regex", RE_BLOOM, "Isolated", 0, "don't a's?!\n\nx", "don't", " a's", "?!\n\n", "x");
    /* the gap the regex does not match is one piece */
    CHECK_SPLIT("Regex", RE_BLOOM, "Isolated", 0, " \xC2\x85", " \xC2\x85");
    /* ( | ) are inside the class too */
    CHECK_SPLIT("Regex", RE_BLOOM, "Isolated", 0, "(a|b)", "(", "a", "|", "b", ")");
}

static void test_whitespace_class(void **state)
{
    (void)state;
    /* \s is White_Space: U+FEFF, U+180E and U+001C are not in it, U+0085, U+3000, U+2028 are */
    CHECK_SPLIT("Regex", "\\s", "Removed", 0, "a\xEF\xBB\xBF" "b\xE1\xA0\x8E" "c\xC2\x85" "d\xE3\x80\x80" "e\xE2\x80\xA8" "f\x1Cg",
                "a\xEF\xBB\xBF" "b\xE1\xA0\x8E" "c", "d", "e", "f\x1Cg");
    /* WhitespaceSplit uses the same set */
    CHECK_PRE("{\"type\":\"WhitespaceSplit\"}", " Hey\xC2\xA0man! \xE1\xA0\x8E x\t", "Hey", "man!", "\xE1\xA0\x8E", "x");
    /* Whitespace: \w+|[^\w\s]+ with the Rust regex crate's \w (Alphabetic, marks, Nd, Pc, Join_Control) */
    CHECK_PRE("{\"type\":\"Whitespace\"}", "Hey man! \xE2\x85\xAB a_b x\xE2\x80\x8Dy ?!", "Hey", "man", "!",
              "\xE2\x85\xAB", "a_b", "x\xE2\x80\x8Dy", "?!");
    check_pre_j(js("{\"type\":\"Whitespace\"}"), "\n", 1, NO_PIECES);
}

/* ---- Split behaviours --------------------------------------------------------------------- */

static void test_split_behaviours(void **state)
{
    (void)state;
    const char *t = "the-final--countdown";
    CHECK_SPLIT("String", "-", "Removed", 0, t, "the", "final", "countdown");
    CHECK_SPLIT("String", "-", "Isolated", 0, t, "the", "-", "final", "-", "-", "countdown");
    CHECK_SPLIT("String", "-", "MergedWithPrevious", 0, t, "the-", "final-", "-", "countdown");
    CHECK_SPLIT("String", "-", "MergedWithNext", 0, t, "the", "-final", "-", "-countdown");
    CHECK_SPLIT("String", "-", "Contiguous", 0, t, "the", "-", "final", "--", "countdown");
    /* delimiters at both ends */
    CHECK_SPLIT("String", "-", "MergedWithNext", 0, "the-final--countdown-", "the", "-final", "-", "-countdown", "-");
    CHECK_SPLIT("String", "-", "MergedWithPrevious", 0, "-the-final--countdown", "-", "the-", "final-", "-", "countdown");
    CHECK_SPLIT("String", "-", "Contiguous", 0, "-the-final--countdown", "-", "the", "-", "final", "--", "countdown");
    /* invert: the matches are the pieces kept */
    CHECK_SPLIT("String", "-", "Removed", 1, "-the-final--countdown", "-", "-", "-", "-");
    CHECK_SPLIT("Regex", "\\w+|[^\\w\\s]+", "Removed", 1, "How are you doing?", "How", "are", "you", "doing", "?");
    CHECK_SPLIT("Regex", "\\w+|[^\\w\\s]+", "MergedWithNext", 1, "How are you doing?", "How", " are", " you", " doing",
                "?");
    CHECK_SPLIT("Regex", "\\w+|[^\\w\\s]+", "Contiguous", 1, "How are you doing?", "How", " ", "are", " ", "you", " ",
                "doing?");
    /* a String pattern is literal, not a regex */
    CHECK_SPLIT("String", "a.b", "Isolated", 0, "axb a.b", "axb ", "a.b");
    /* empty matches, as the onig crate iterates them */
    CHECK_SPLIT("String", "", "Isolated", 0, "abc", "a", "b", "c");
    CHECK_SPLIT("Regex", "a*", "MergedWithPrevious", 0, "baab", "baa", "b");
    CHECK_SPLIT("Regex", "(?=b)", "MergedWithNext", 0, "abab", "a", "ba", "b");
    /* gemma3: Split(" ") after Replace(" " -> "▁") sees no spaces */
    CHECK_SPLIT("String", " ", "MergedWithPrevious", 0, "\xE2\x96\x81hello\xE2\x96\x81\xE2\x96\x81world",
                "\xE2\x96\x81hello\xE2\x96\x81\xE2\x96\x81world");
    CHECK_SPLIT("String", " ", "MergedWithPrevious", 0, "a b  c", "a ", "b ", " ", "c");
}

/* ---- Metaspace ---------------------------------------------------------------------------- */

#define U "\xE2\x96\x81" /* ▁ */

static void test_metaspace(void **state)
{
    (void)state;
    const char *always = "{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"always\",\"split\":true}";
    const char *first = "{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"first\",\"split\":true}";
    const char *never = "{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"never\",\"split\":true}";
    CHECK_PRE(always, "Hey friend!", U "Hey", U "friend!");
    CHECK_PRE(always, "Hey   friend!", U "Hey", U, U, U "friend!");
    CHECK_PRE(always, " hi", U "hi");                 /* a leading space becomes the prefix */
    CHECK_PRE(always, "hi " U "there", U "hi", U, U "there");
    check_pre_j(js(always), "x y", 0, PIECES(U "x", U "y")); /* always: even for later segments */
    check_pre_j(js(always), "", 1, NO_PIECES);
    /* first: only when the segment starts the text */
    check_pre_j(js(first), "x y", 1, PIECES(U "x", U "y"));
    check_pre_j(js(first), "x y", 0, PIECES("x", U "y"));
    CHECK_PRE(never, "hi  there", "hi", U, U "there");
    /* split false: one piece */
    CHECK_PRE("{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"first\",\"split\":false}",
              " hi there", U "hi" U "there");
    /* legacy add_prefix_space */
    CHECK_PRE("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":true}", "a b", "_a", "_b");
    CHECK_PRE("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":false,\"prepend_scheme\":\"never\"}",
              "a b", "a", "_b");
    /* "first" inside a Sequence: only the piece at offset 0 gets the prefix */
    json_t *cfg = json_pack("{s:s, s:[o, {s:s, s:s, s:s}]}", "type", "Sequence", "pretokenizers",
                            split_cfg("String", "|", "Removed", 0), "type", "Metaspace", "replacement", U,
                            "prepend_scheme", "first");
    check_pre_j(cfg, "a b|c d", 1, PIECES(U "a", U "b", "c", U "d"));
}

/* ---- Digits, Punctuation, Bert, CharDelimiterSplit, Sequence ----------------------------- */

static void test_digits_punctuation(void **state)
{
    (void)state;
    CHECK_PRE("{\"type\":\"Digits\",\"individual_digits\":false}", "Hey 123 friend!", "Hey ", "123", " friend!");
    CHECK_PRE("{\"type\":\"Digits\",\"individual_digits\":true}", "Hey 123 friend!", "Hey ", "1", "2", "3", " friend!");
    /* is_numeric: Nd, Nl and No (½ and Ⅻ count) */
    CHECK_PRE("{\"type\":\"Digits\",\"individual_digits\":false}", "a\xD9\xA3\xD9\xA4 \xC2\xBD\xE2\x85\xAB!", "a",
              "\xD9\xA3\xD9\xA4", " ", "\xC2\xBD\xE2\x85\xAB", "!");
    CHECK_PRE("{\"type\":\"Punctuation\"}", "Hey friend!     How are you?!?", "Hey friend", "!", "     How are you", "?",
              "!", "?");
    CHECK_PRE("{\"type\":\"Punctuation\",\"behavior\":\"Contiguous\"}", "Hey friend!     How are you?!?", "Hey friend",
              "!", "     How are you", "?!?");
    /* ASCII symbols count as punctuation, and so does Unicode P* (« ») */
    CHECK_PRE("{\"type\":\"Punctuation\",\"behavior\":\"Removed\"}", "a$b+c\xC2\xAB" "d\xC2\xBB", "a", "b", "c", "d");
    CHECK_PRE("{\"type\":\"BertPreTokenizer\"}", "Hey, man!! ok", "Hey", ",", "man", "!", "!", "ok");
    CHECK_PRE("{\"type\":\"CharDelimiterSplit\",\"delimiter\":\"x\"}", "axbxxc", "a", "b", "c");
    CHECK_PRE("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":"
              "\"WhitespaceSplit\"}]},{\"type\":\"Digits\",\"individual_digits\":true}]}",
              "a1 b22", "a", "1", "b", "2", "2");
    CHECK_PRE("{\"type\":\"Sequence\",\"pretokenizers\":[]}", "a b", "a b");
}

static void test_null_pipeline(void **state)
{
    (void)state;
    pt_pretokenizer *p = (pt_pretokenizer *)1;
    assert_int_equal(pt_pretokenizer_parse(NULL, "x", &p), PTUNE_OK);
    assert_null(p);
    json_t *null = json_null();
    assert_int_equal(pt_pretokenizer_parse(null, "x", &p), PTUNE_OK);
    assert_null(p);
    expect_run(NULL, "a b", 0, 1, PIECES("a b"));
    expect_run(NULL, "", 0, 1, NO_PIECES);
    pt_normalizer *n = (pt_normalizer *)1;
    assert_int_equal(pt_normalizer_parse(null, "x", &n), PTUNE_OK);
    assert_null(n);
    pt_buf out = {0};
    assert_int_equal(pt_normalizer_run(NULL, "a\0b", 3, &out), PTUNE_OK);
    assert_int_equal(out.len, 3);
    assert_memory_equal(out.data, "a\0b", 3);
    pt_buf_free(&out);
    json_decref(null);
    /* NUL bytes pass through a pre-tokenizer */
    pt_pretokenizer *bl = NULL;
    json_t *cfg = js("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true}");
    assert_int_equal(pt_pretokenizer_parse(cfg, "x", &bl), PTUNE_OK);
    expect_run(bl, "nul\0byte", 8, 1, PIECES("nul", "\xC4\x80", "byte"));
    pt_pretokenizer_free(bl);
    json_decref(cfg);
}

/* ---- normalizers -------------------------------------------------------------------------- */

static void test_unicode_forms(void **state)
{
    (void)state;
    const char *nfc = "{\"type\":\"NFC\"}";
    CHECK_NORM(nfc, "\xE2\x84\xAB", "\xC3\x85");                 /* U+212B ANGSTROM SIGN -> U+00C5 */
    CHECK_NORM(nfc, "\xE2\x84\xA6", "\xCE\xA9");                 /* U+2126 OHM -> U+03A9 */
    CHECK_NORM(nfc, "\xEF\xA4\x80", "\xE8\xB1\x88");             /* U+F900 -> U+8C48 */
    CHECK_NORM(nfc, "\xE0\xA5\x98", "\xE0\xA4\x95\xE0\xA4\xBC"); /* exclusion: U+0958 -> U+0915 U+093C */
    CHECK_NORM(nfc, "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"); /* jamo L V T -> U+AC01 */
    CHECK_NORM(nfc, "a\xCC\x81\xCC\xA3", "\xE1\xBA\xA1\xCC\x81");  /* reordering: a U+0301 U+0323 */
    CHECK_NORM(nfc, "cafe\xCC\x81 ok", "caf\xC3\xA9 ok");
    CHECK_NORM(nfc, "plain ascii", "plain ascii");
    CHECK_NORM(nfc, "", "");
    CHECK_NORM("{\"type\":\"NFD\"}", "\xC3\xA9", "e\xCC\x81");
    CHECK_NORM("{\"type\":\"NFD\"}", "\xEA\xB0\x81", "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8");
    CHECK_NORM("{\"type\":\"NFKC\"}", "\xEF\xAC\x81\xE2\x91\xA0\xEF\xBD\xB6", "fi1\xE3\x82\xAB"); /* ﬁ ① ｶ */
    CHECK_NORM("{\"type\":\"NFKC\"}", "\xE1\xBA\x9B\xCC\xA3", "\xE1\xB9\xA9");
    CHECK_NORM("{\"type\":\"NFKD\"}", "\xE1\xBA\x9B\xCC\xA3", "s\xCC\xA3\xCC\x87");
    /* NUL survives */
    check_norm_j(js(nfc), "a\0\xE2\x84\xAB", 5, "a\0\xC3\x85", 4);
}

static void test_other_normalizers(void **state)
{
    (void)state;
    /* Lowercase is Rust's char::to_lowercase: U+0130 expands, sigma is never final-form */
    CHECK_NORM("{\"type\":\"Lowercase\"}", "\xC4\xB0STANBUL", "i\xCC\x87stanbul");
    CHECK_NORM("{\"type\":\"Lowercase\"}", "\xCE\x91\xCE\xA3 \xC7\x85 \xE1\xBA\x9E \xE2\x85\xAB",
               "\xCE\xB1\xCF\x83 \xC7\x86 \xC3\x9F \xE2\x85\xBB");
    CHECK_NORM("{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xE2\x96\x81\"}", " a b ",
               U "a" U "b" U);
    CHECK_NORM("{\"type\":\"Replace\",\"pattern\":{\"String\":\"''\"},\"content\":\"\\\"\"}", "a ''test''",
               "a \"test\"");
    CHECK_NORM("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"content\":\" \"}", "This     is   a\n test",
               "This is a test");
    /* content is literal: no $1 expansion */
    CHECK_NORM("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(l)(e)\"},\"content\":\"$1 $2\"}", "le travail",
               "$1 $2 travail");
    CHECK_NORM("{\"type\":\"Replace\",\"pattern\":{\"String\":\"\"},\"content\":\"X\"}", "ab", "XaXbX");
    CHECK_NORM("{\"type\":\"Prepend\",\"prepend\":\"\xE2\x96\x81\"}", "Hello", U "Hello");
    CHECK_NORM("{\"type\":\"Prepend\",\"prepend\":\"\xE2\x96\x81\"}", "", "");
    CHECK_NORM("{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":true}", " \t\xE3\x80\x80 a b \xC2\x85\n",
               "a b");
    CHECK_NORM("{\"type\":\"Strip\",\"strip_left\":true,\"strip_right\":false}", "  a  ", "a  ");
    CHECK_NORM("{\"type\":\"Strip\",\"strip_left\":false,\"strip_right\":true}", "\xEF\xBB\xBF" "a \xEF\xBB\xBF",
               "\xEF\xBB\xBF" "a \xEF\xBB\xBF");
    CHECK_NORM("{\"type\":\"StripAccents\"}", "e\xCC\x84\xCC\x84o", "eo");
    CHECK_NORM("{\"type\":\"Nmt\"}", "a\x01\tb\xE2\x80\x8B" "c", "a b c");
    CHECK_NORM("{\"type\":\"ByteLevel\"}", "a b\n", "a" G "b\xC4\x8A");
    /* mistral's normalizer */
    const char *mistral = "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\xE2\x96\x81\"},"
                          "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\xE2\x96\x81\"}]}";
    CHECK_NORM(mistral, "Hello world", U "Hello" U "world");
    CHECK_NORM(mistral, "", "");
    CHECK_NORM("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFD\"},{\"type\":\"StripAccents\"},"
               "{\"type\":\"Lowercase\"}]}",
               "Cr\xC3\xA8me BR\xC3\x9BL\xC3\x89" "E", "creme brulee");
    CHECK_NORM("{\"type\":\"Sequence\",\"normalizers\":[]}", "same", "same");
}

/* ---- GGUF presets ------------------------------------------------------------------------- */

static void expect_preset(const char *name, const char *text, const char *const *expected)
{
    pt_pretokenizer *p = NULL;
    ptune_status s = pt_pretokenizer_gguf_preset(name, &p);
    if (s) fprintf(stderr, "%s: %s\n", name, ptune_last_error());
    assert_int_equal(s, PTUNE_OK);
    expect_run(p, text, 0, 1, expected);
    pt_pretokenizer_free(p);
}

static void test_gguf_presets(void **state)
{
    (void)state;
    expect_preset("llama-bpe", "1234567 I'M", PIECES("123", "456", "7", G "I", "'M"));
    expect_preset("llama3", "x?!\n\ny", PIECES("x", "?!\xC4\x8A\xC4\x8A", "y"));
    expect_preset("qwen2", " 1234", PIECES(G, "1", "2", "3", "4"));
    expect_preset("gpt-2", "a  b 'S", PIECES("a", G, G "b", G "'", "S"));
    expect_preset("gpt2", "it's", PIECES("it", "'s"));
    expect_preset("bloom", "don't a's", PIECES("don't", G "a's"));
    expect_preset("starcoder", "ab 123", PIECES("ab", G, "1", "2", "3"));
    expect_preset("default", "a+b 1234", PIECES("a", "+", "b", G, "123", "4"));
    expect_preset("falcon", "x 1234!", PIECES("x", G, "123", "4", "!"));
    expect_preset("deepseek-v3", "abc 12345", PIECES("abc", G, "123", "45"));
    /* pieces come out in the byte alphabet: 中 is E4 B8 AD -> U+00E4 U+00B8 U+0143 */
    expect_preset("deepseek-v3", "\xE4\xB8\xAD!", PIECES("\xC3\xA4\xC2\xB8\xC5\x83", "!"));
    expect_preset("tekken", "HelloWorld 1", PIECES("Hello", "World", G, "1"));
    expect_preset("gpt-4o", "HelloWorld's", PIECES("Hello", "World's"));
    /* every listed name builds */
    const char *names[] = {"llama-v3", "falcon3", "pixtral", "dbrx", "smaug-bpe", "chatglm-bpe", "deepseek-r1-qwen",
                           "stablelm2", "grok-2", "phi-2", "mpt", "olmo", "jais", "refact", "command-r", "smollm",
                           "poro-chat", "gpt3-finnish", "viking", "deepseek-coder", "hunyuan-dense", "llama4",
                           "seed-coder", "bailingmoe", "llada-moe"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) expect_preset(names[i], "Hi there", PIECES("Hi", G "there"));
    pt_pretokenizer *p = (pt_pretokenizer *)1;
    assert_int_equal(pt_pretokenizer_gguf_preset("no-such-pre", &p), PTUNE_E_UNSUPPORTED);
    assert_null(p);
    assert_non_null(strstr(ptune_last_error(), "\"no-such-pre\""));
    assert_int_equal(pt_pretokenizer_gguf_preset(NULL, &p), PTUNE_E_UNSUPPORTED);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void test_errors(void **state)
{
    (void)state;
    json_t *j;
    j = js("{\"type\":\"BertNormalizer\",\"lowercase\":true}");
    expect_parse_error(j, true, PTUNE_E_UNSUPPORTED, "normalizer type \"BertNormalizer\" is not supported");
    json_decref(j);
    j = js("{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"NFC\"},{\"type\":\"Precompiled\"}]}");
    expect_parse_error(j, true, PTUNE_E_UNSUPPORTED, "\"Precompiled\"");
    json_decref(j);
    j = js("{\"type\":\"UnicodeScripts\"}");
    expect_parse_error(j, false, PTUNE_E_UNSUPPORTED, "pre_tokenizer type \"UnicodeScripts\" is not supported");
    json_decref(j);
    /* a bad regex carries Oniguruma's message */
    j = split_cfg("Regex", "[(", "Isolated", 0);
    expect_parse_error(j, false, PTUNE_E_FORMAT, "premature end of char-class");
    json_decref(j);
    j = js("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"a)\"},\"content\":\"\"}");
    expect_parse_error(j, true, PTUNE_E_FORMAT, "normalizer Replace: invalid regex \"a)\": unmatched close parenthesis");
    json_decref(j);
    /* malformed objects name the field */
    j = split_cfg("Regex", "a", "Sideways", 0);
    expect_parse_error(j, false, PTUNE_E_FORMAT, "\"behavior\"");
    json_decref(j);
    j = js("{\"type\":\"Split\",\"pattern\":{\"Glob\":\"*\"},\"behavior\":\"Isolated\",\"invert\":false}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "\"pattern\"");
    json_decref(j);
    j = js("{\"type\":\"Metaspace\",\"replacement\":\"ab\"}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "single character");
    json_decref(j);
    j = js("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":false,\"prepend_scheme\":\"always\"}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "add_prefix_space does not match");
    json_decref(j);
    j = js("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "prepend_scheme");
    json_decref(j);
    j = js("{\"type\":\"Strip\"}");
    expect_parse_error(j, true, PTUNE_E_FORMAT, "\"strip_left\"");
    json_decref(j);
    j = js("{\"type\":\"Prepend\"}");
    expect_parse_error(j, true, PTUNE_E_FORMAT, "\"prepend\"");
    json_decref(j);
    j = js("{\"type\":\"Sequence\",\"pretokenizers\":{}}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "\"pretokenizers\"");
    json_decref(j);
    j = js("{\"pattern\":\"x\"}");
    expect_parse_error(j, false, PTUNE_E_FORMAT, "\"type\"");
    json_decref(j);
    j = js("[1]");
    expect_parse_error(j, true, PTUNE_E_FORMAT, "object");
    json_decref(j);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct thread_arg {
    const pt_pretokenizer *p;
    const pt_normalizer *n;
    const char *text;
    const pt_pieces *want;
    int ok;
} thread_arg;

static void *thread_run(void *arg)
{
    thread_arg *a = arg;
    pt_pieces pc = {0};
    pt_buf nb = {0};
    a->ok = 1;
    for (int it = 0; it < 200 && a->ok; it++) {
        pt_pieces_clear(&pc);
        if (pt_normalizer_run(a->n, a->text, strlen(a->text), &nb) ||
            pt_pretokenizer_run(a->p, nb.data, nb.len, 1, &pc)) {
            a->ok = 0;
            break;
        }
        a->ok = pc.n == a->want->n && pc.text.len == a->want->text.len &&
                memcmp(pc.text.data, a->want->text.data, pc.text.len) == 0;
    }
    pt_pieces_free(&pc);
    pt_buf_free(&nb);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pt_pretokenizer *p = NULL;
    pt_normalizer *n = NULL;
    assert_int_equal(pt_pretokenizer_gguf_preset("qwen2", &p), PTUNE_OK);
    json_t *nj = js("{\"type\":\"NFC\"}");
    assert_int_equal(pt_normalizer_parse(nj, "x", &n), PTUNE_OK);
    json_decref(nj);
    const char *text = "Hello, world! It's 2024.\n\nCaf\x65\xCC\x81 \xE4\xB8\xAD\xE6\x96\x87 \xD9\xA3\xD9\xA4 don't   stop ";
    pt_pieces want = {0};
    pt_buf nb = {0};
    assert_int_equal(pt_normalizer_run(n, text, strlen(text), &nb), PTUNE_OK);
    assert_int_equal(pt_pretokenizer_run(p, nb.data, nb.len, 1, &want), PTUNE_OK);
    assert_true(want.n > 10);
    pthread_t t[4];
    thread_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (thread_arg){p, n, text, &want, 0};
        assert_int_equal(pthread_create(&t[i], NULL, thread_run, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_true(a[i].ok);
    }
    pt_pieces_free(&want);
    pt_buf_free(&nb);
    pt_pretokenizer_free(p);
    pt_normalizer_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytelevel_table),
        cmocka_unit_test(test_llama3_regex),
        cmocka_unit_test(test_gpt2_bytelevel),
        cmocka_unit_test(test_bloom_nested_class),
        cmocka_unit_test(test_whitespace_class),
        cmocka_unit_test(test_split_behaviours),
        cmocka_unit_test(test_metaspace),
        cmocka_unit_test(test_digits_punctuation),
        cmocka_unit_test(test_null_pipeline),
        cmocka_unit_test(test_unicode_forms),
        cmocka_unit_test(test_other_normalizers),
        cmocka_unit_test(test_gguf_presets),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
