/* Decoders and post-processors on small hand-built inputs (HF tokenizers' own unit cases plus
 * lossy UTF-8, byte fallback and Strip edge cases), and the token stream on a tiny tokenizer. */
#include "test_support.h"

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "tokenizer/decoder.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/tokenizer.h"
#include "ptune/ptune.h"

#define FFFD "\xEF\xBF\xBD"

/* ---------------------------------------------------------------------------------------
 * helpers */

static pt_decoder *decoder_from(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &err);
    if (!j) fail_msg("bad test JSON %s: %s", json, err.text);
    pt_decoder *d = NULL;
    ptune_status st = pt_decoder_parse(j, "test.json", &d);
    json_decref(j);
    if (st) fail_msg("pt_decoder_parse(%s): %s", json, ptune_last_error());
    return d;
}

static ptune_status decoder_status(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    pt_decoder *d = (pt_decoder *)0x1;
    ptune_status st = pt_decoder_parse(j, "test.json", &d);
    json_decref(j);
    if (st) assert_null(d);
    pt_decoder_free(st ? NULL : d);
    return st;
}

/* Decodes a NULL-terminated list of token strings and compares with `want` (n bytes). */
static void expect_decode_n(const pt_decoder *d, const char *const *toks, const char *want, size_t want_len)
{
    pt_pieces p = {0};
    for (size_t i = 0; toks[i]; i++) assert_int_equal(pt_pieces_push(&p, toks[i], strlen(toks[i])), PTUNE_OK);
    pt_buf out = {0};
    assert_int_equal(pt_buf_append(&out, "<", 1), PTUNE_OK); /* the decoder appends */
    ptune_status st = pt_decoder_run(d, &p, &out);
    if (st) fail_msg("pt_decoder_run: %s", ptune_last_error());
    if (out.len != want_len + 1 || memcmp(out.data + 1, want, want_len) != 0)
        fail_msg("decoded \"%.*s\" (%zu bytes), expected \"%.*s\" (%zu bytes)", (int)out.len - 1, out.data + 1,
                 out.len - 1, (int)want_len, want, want_len);
    assert_true(pt_utf8_valid(out.data, out.len, NULL));
    pt_buf_free(&out);
    pt_pieces_free(&p);
}

#define TOKS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define expect_decode(d, toks, want) expect_decode_n(d, toks, want, strlen(want))

/* GPT-2's bytes_to_unicode, written out independently of the library: byte -> UTF-8 char. */
static void bl_char(unsigned char b, char out[3])
{
    uint32_t cp;
    bool self = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (self) {
        cp = b;
    } else {
        uint32_t n = 0;
        for (unsigned x = 0; x < b; x++)
            if (!((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE)) n++;
        cp = 256 + n;
    }
    size_t k = pt_utf8_encode(cp, out);
    out[k] = 0;
}

/* A byte-level token string for raw bytes (static storage, one slot per call site index). */
static char bl_slots[8][64];
static const char *bl_token(int slot, const unsigned char *bytes, size_t n)
{
    char *o = bl_slots[slot];
    o[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char c[3];
        bl_char(bytes[i], c);
        strcat(o, c);
    }
    return o;
}

/* ---------------------------------------------------------------------------------------
 * decoders */

static void test_bytelevel(void **state)
{
    (void)state;
    pt_decoder *d = decoder_from("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}");
    expect_decode(d, TOKS("Hello", "\xC4\xA0my", "\xC4\xA0" "friend", ",", "\xC4\xA0how", "\xC4\x8A"), "Hello my friend, how\n");
    expect_decode(d, TOKS("\xC4\xA0"), " ");
    /* a character split over tokens is joined before UTF-8 decoding: U+2B62 = E2 AD A2 */
    static const unsigned char arrow[] = {0xE2, 0xAD, 0xA2};
    expect_decode(d, TOKS("i", bl_token(0, arrow, 1), bl_token(1, arrow + 1, 2), "j"), "i\xE2\xAD\xA2j");
    /* lossy UTF-8: one U+FFFD per maximal subpart */
    static const unsigned char cut[] = {0xE2, 0x80};              /* truncated 3-byte */
    expect_decode(d, TOKS(bl_token(0, cut, 2)), FFFD);
    expect_decode(d, TOKS(bl_token(0, cut, 2), "a"), FFFD "a");
    static const unsigned char e080[] = {0xE0, 0x80};             /* E0 needs A0..BF next */
    expect_decode(d, TOKS(bl_token(0, e080, 2)), FFFD FFFD);
    static const unsigned char sur[] = {0xED, 0xA0, 0x80};        /* a surrogate */
    expect_decode(d, TOKS(bl_token(0, sur, 3)), FFFD FFFD FFFD);
    static const unsigned char emo[] = {0xF0, 0x9F, 0x98, 'a'};   /* 3 of 4 bytes, then 'a' */
    expect_decode(d, TOKS(bl_token(0, emo, 4)), FFFD "a");
    static const unsigned char over[] = {0xC0, 0xAF, 0xFF, 0x80}; /* overlong, FF, lone continuation */
    expect_decode(d, TOKS(bl_token(0, over, 4)), FFFD FFFD FFFD FFFD);
    static const unsigned char big[] = {0xF4, 0x90, 0x80, 0x80};  /* > U+10FFFF */
    expect_decode(d, TOKS(bl_token(0, big, 4)), FFFD FFFD FFFD FFFD);
    static const unsigned char ok4[] = {0xF4, 0x8F, 0xBF, 0xBF};  /* U+10FFFF itself */
    expect_decode(d, TOKS(bl_token(0, ok4, 2), bl_token(1, ok4 + 2, 2)), "\xF4\x8F\xBF\xBF");
    static const unsigned char nul[] = {0x00, 0x7F};
    expect_decode_n(d, TOKS(bl_token(0, nul, 2)), "\x00\x7F", 2);
    /* a token with a char outside the table is emitted as its own UTF-8, as a whole */
    expect_decode(d, TOKS("\xC4\xA0" "a", "x\xE6\x97\xA5", "<|endoftext|>"), " ax\xE6\x97\xA5<|endoftext|>");
    /* nothing to decode */
    expect_decode(d, ((const char *const[]){NULL}), "");
    pt_decoder_free(d);
}

static void test_bytefallback(void **state)
{
    (void)state;
    pt_decoder *d = decoder_from("{\"type\":\"ByteFallback\"}");
    expect_decode(d, TOKS("Hey", "friend!"), "Heyfriend!");
    expect_decode(d, TOKS("<0x61>"), "a");
    expect_decode(d, TOKS("<0xE5>"), FFFD);
    expect_decode(d, TOKS("<0xE5>", "<0x8f>"), FFFD FFFD);
    expect_decode(d, TOKS("<0xE5>", "<0x8f>", "<0xab>"), "\xE5\x8F\xAB");
    expect_decode(d, TOKS("<0xE5>", "<0x8f>", "<0xab>", "a"), "\xE5\x8F\xAB" "a");
    expect_decode(d, TOKS("<0xE5>", "<0x8f>", "a"), FFFD FFFD "a");
    /* a run that is valid so far becomes all U+FFFD when a later byte breaks it */
    expect_decode(d, TOKS("<0x61>", "<0x80>"), FFFD FFFD);
    /* runs are separated by other tokens */
    expect_decode(d, TOKS("<0xF0>", "x", "<0x9F>", "<0x98>", "<0x80>"), FFFD "x" FFFD FFFD FFFD);
    expect_decode(d, TOKS("<0xF0>", "<0x9F>", "<0x98>", "<0x80>", "<0x0A>"), "\xF0\x9F\x98\x80\n");
    /* what counts as a byte token: exactly <0x + two hex digits + >, and Rust's "+F" */
    expect_decode(d, TOKS("<0x+F>"), "\x0F");
    expect_decode(d, TOKS("<0xZZ>", "<0x0A", "<0x0AA>", "<0X41>"), "<0xZZ><0x0A<0x0AA><0X41>");
    expect_decode_n(d, TOKS("<0x00>"), "\0", 1);
    pt_decoder_free(d);
}

static void test_metaspace(void **state)
{
    (void)state;
    pt_decoder *d = decoder_from("{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"always\",\"split\":true}");
    expect_decode(d, TOKS("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"), "Hey friend!");
    /* HF drops every replacement char of the first token, not only the leading one */
    expect_decode(d, TOKS("\xE2\x96\x81" "a\xE2\x96\x81" "b", "\xE2\x96\x81\xE2\x96\x81" "c"), "ab  c");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"first\"}");
    expect_decode(d, TOKS("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"), "Hey friend!");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Metaspace\",\"replacement\":\"\xE2\x96\x81\",\"prepend_scheme\":\"never\"}");
    expect_decode(d, TOKS("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend!"), " Hey friend!");
    pt_decoder_free(d);
    /* legacy keys: add_prefix_space true = always, false = never */
    d = decoder_from("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":true}");
    expect_decode(d, TOKS("_Hey", "_you"), "Hey you");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":false,\"str_rep\":\"_\"}");
    expect_decode(d, TOKS("_Hey", "_you"), " Hey you");
    pt_decoder_free(d);
    assert_int_equal(decoder_status("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"add_prefix_space\":false,\"prepend_scheme\":\"always\"}"),
                     PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("{\"type\":\"Metaspace\",\"replacement\":\"__\"}"), PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("{\"type\":\"Metaspace\",\"replacement\":\"_\",\"prepend_scheme\":\"sometimes\"}"),
                     PTUNE_E_FORMAT);
}

static void test_strip_fuse_replace(void **state)
{
    (void)state;
    pt_decoder *d = decoder_from("{\"type\":\"Strip\",\"content\":\"H\",\"start\":1,\"stop\":0}");
    expect_decode(d, TOKS("Hey", " friend!", "HHH"), "ey friend!HH");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Strip\",\"content\":\"y\",\"start\":0,\"stop\":1}");
    expect_decode(d, TOKS("Hey", " friend!"), "He friend!");
    pt_decoder_free(d);
    /* counts are per token, and the end never reaches into the stripped start */
    d = decoder_from("{\"type\":\"Strip\",\"content\":\" \",\"start\":2,\"stop\":2}");
    expect_decode(d, TOKS("   a   ", "  ", " b"), " a b");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Strip\",\"content\":\"\xE2\x96\x81\",\"start\":5,\"stop\":5}");
    expect_decode(d, TOKS("\xE2\x96\x81\xE2\x96\x81x\xE2\x96\x81"), "x");
    pt_decoder_free(d);
    /* Fuse then Strip: only the start of the whole text */
    d = decoder_from("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}");
    expect_decode(d, TOKS(" a", " b", " c"), "a b c");
    expect_decode(d, TOKS("  ", " b"), "  b");
    pt_decoder_free(d);
    /* Replace with a String pattern, every occurrence, per token */
    d = decoder_from("{\"type\":\"Replace\",\"pattern\":{\"String\":\"\xE2\x96\x81\"},\"content\":\" \"}");
    expect_decode(d, TOKS("\xE2\x96\x81Hey", "\xE2\x96\x81" "friend", "!", "\xE2\x96\x81\xE2\x96\x81"), " Hey friend!  ");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Replace\",\"pattern\":{\"String\":\"aa\"},\"content\":\"b\"}");
    expect_decode(d, TOKS("aaa", "a", "aaaa"), "ba" "a" "bb");
    pt_decoder_free(d);
    /* Replace with a Regex pattern (Oniguruma), empty matches as Rust's onig find_iter */
    d = decoder_from("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"\\\\s+\"},\"content\":\"_\"}");
    expect_decode(d, TOKS("a  b\t\nc", " d "), "a_b_c" "_d_");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"a*\"},\"content\":\"X\"}");
    expect_decode(d, TOKS("baab", ""), "XbXbX");
    pt_decoder_free(d);
    assert_int_equal(decoder_status("{\"type\":\"Replace\",\"pattern\":{\"Regex\":\"(\"},\"content\":\"X\"}"), PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "regex"));
    assert_int_equal(decoder_status("{\"type\":\"Replace\",\"pattern\":\"x\",\"content\":\"X\"}"), PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("{\"type\":\"Strip\",\"content\":\" \",\"start\":-1,\"stop\":0}"), PTUNE_E_FORMAT);
}

static void test_sequences_and_errors(void **state)
{
    (void)state;
    /* the Llama-2 / Mistral decoder */
    pt_decoder *d = decoder_from(
        "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\xE2\x96\x81\"},\"content\":\" \"},"
        "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}");
    expect_decode(d, TOKS("\xE2\x96\x81Hello", "\xE2\x96\x81world", "<0xE5>", "<0x8F>", "<0xAB>"), "Hello world\xE5\x8F\xAB");
    expect_decode(d, TOKS("<s>", "\xE2\x96\x81\xE2\x96\x81"), "<s>  ");       /* nothing stripped after <s> */
    expect_decode(d, TOKS("\xE2\x96\x81", "<0xF0>", "<0x9F>"), FFFD FFFD);     /* " " stripped, bad run */
    expect_decode(d, TOKS("\xE2\x96\x81\xE2\x96\x81x"), " x");
    expect_decode(d, TOKS("<0x20>", "a"), "a");                                /* the byte space is stripped too */
    pt_decoder_free(d);
    /* a Sequence of Sequences, and an empty Sequence (plain concatenation) */
    d = decoder_from("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"ByteFallback\"}]},{\"type\":\"Fuse\"}]}");
    expect_decode(d, TOKS("<0x41>", "b"), "Ab");
    pt_decoder_free(d);
    d = decoder_from("{\"type\":\"Sequence\",\"decoders\":[]}");
    expect_decode(d, TOKS("a", "b"), "ab");
    pt_decoder_free(d);
    /* null: no decoder, tokens are concatenated */
    d = decoder_from("null");
    assert_null(d);
    expect_decode(d, TOKS("\xE2\x96\x81" "a", "<0x41>"), "\xE2\x96\x81" "a<0x41>");
    /* errors */
    assert_int_equal(decoder_status("{\"type\":\"WordPiece\",\"prefix\":\"##\"}"), PTUNE_E_UNSUPPORTED);
    assert_non_null(strstr(ptune_last_error(), "WordPiece"));
    assert_non_null(strstr(ptune_last_error(), "test.json"));
    assert_int_equal(decoder_status("{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Fuse\"},{\"type\":\"CTC\"}]}"),
                     PTUNE_E_UNSUPPORTED);
    assert_int_equal(decoder_status("{\"decoders\":[]}"), PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("[1]"), PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("{\"type\":\"Sequence\"}"), PTUNE_E_FORMAT);
    assert_int_equal(decoder_status("{\"type\":\"Strip\",\"content\":\"\",\"start\":1,\"stop\":0}"), PTUNE_E_FORMAT);
    /* deep nesting is refused rather than recursed into */
    char deep[4096] = "";
    for (int i = 0; i < 40; i++) strcat(deep, "{\"type\":\"Sequence\",\"decoders\":[");
    strcat(deep, "{\"type\":\"Fuse\"}");
    for (int i = 0; i < 40; i++) strcat(deep, "]}");
    assert_int_equal(decoder_status(deep), PTUNE_E_FORMAT);
}

/* ---------------------------------------------------------------------------------------
 * post-processors */

static pt_post_processor *pp_from(const char *json)
{
    json_error_t err;
    json_t *j = json_loads(json, JSON_DECODE_ANY, &err);
    if (!j) fail_msg("bad test JSON %s: %s", json, err.text);
    pt_post_processor *p = NULL;
    ptune_status st = pt_post_processor_parse(j, "test.json", &p);
    json_decref(j);
    if (st) fail_msg("pt_post_processor_parse(%s): %s", json, ptune_last_error());
    return p;
}

static ptune_status pp_status(const char *json)
{
    json_t *j = json_loads(json, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    pt_post_processor *p = (pt_post_processor *)0x1;
    ptune_status st = pt_post_processor_parse(j, "test.json", &p);
    json_decref(j);
    if (st) assert_null(p);
    else pt_post_processor_free(p);
    return st;
}

static void expect_pp(const pt_post_processor *p, const int32_t *in, size_t n, const int32_t *want, size_t nw)
{
    pt_ids out = {0};
    assert_int_equal(pt_ids_push(&out, 999), PTUNE_OK); /* cleared first */
    assert_int_equal(pt_post_processor_run(p, in, n, &out), PTUNE_OK);
    assert_int_equal(out.len, nw);
    if (nw) assert_memory_equal(out.data, want, nw * sizeof(int32_t));
    pt_ids_free(&out);
}

#define IDS(...) ((const int32_t[]){__VA_ARGS__}), sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t)

static const char LLAMA_TEMPLATE[] =
    "{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
    "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":1}},"
    "{\"Sequence\":{\"id\":\"B\",\"type_id\":1}}],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}}";

static void test_post_processors(void **state)
{
    (void)state;
    pt_post_processor *p = pp_from(LLAMA_TEMPLATE);
    expect_pp(p, IDS(388, 355), IDS(1, 388, 355));
    expect_pp(p, NULL, 0, IDS(1)); /* BOS even for empty input */
    pt_post_processor_free(p);

    /* BOS + A + EOS, a multi-id special token, string pieces */
    p = pp_from("{\"type\":\"TemplateProcessing\",\"single\":[\"[CLS]\",\"$A\",\"[SEP]:0\",\"<x>\"],\"pair\":\"$A $B:1\","
                "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[101],\"tokens\":[\"[CLS]\"]},"
                "\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[102],\"tokens\":[\"[SEP]\"]},"
                "\"<x>\":{\"id\":\"<x>\",\"ids\":[7,8,9],\"tokens\":[\"a\",\"b\",\"c\"]}}}");
    expect_pp(p, IDS(5), IDS(101, 5, 102, 7, 8, 9));
    pt_post_processor_free(p);
    p = pp_from("{\"type\":\"TemplateProcessing\",\"single\":\"[CLS] $0 [SEP]\",\"pair\":\"$A $B\","
                "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[101],\"tokens\":[\"[CLS]\"]},"
                "\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[102],\"tokens\":[\"[SEP]\"]}}}");
    expect_pp(p, IDS(5, 6), IDS(101, 5, 6, 102));
    pt_post_processor_free(p);

    p = pp_from("{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\",2],\"cls\":[\"<s>\",0],\"trim_offsets\":true,\"add_prefix_space\":true}");
    expect_pp(p, IDS(31414, 232), IDS(0, 31414, 232, 2));
    pt_post_processor_free(p);
    p = pp_from("{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",102],\"cls\":[\"[CLS]\",101]}");
    expect_pp(p, IDS(7592), IDS(101, 7592, 102));
    expect_pp(p, NULL, 0, IDS(101, 102));
    pt_post_processor_free(p);
    p = pp_from("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true}");
    expect_pp(p, IDS(1, 2, 3), IDS(1, 2, 3));
    pt_post_processor_free(p);
    /* Llama-3.x: Sequence[ByteLevel, TemplateProcessing] */
    p = pp_from("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,"
                "\"use_regex\":true},{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<|begin_of_text|>\","
                "\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<|begin_of_text|>\":"
                "{\"id\":\"<|begin_of_text|>\",\"ids\":[128000],\"tokens\":[\"<|begin_of_text|>\"]}}}]}");
    expect_pp(p, IDS(9906), IDS(128000, 9906));
    pt_post_processor_free(p);
    p = pp_from("null");
    assert_null(p);
    expect_pp(p, IDS(4, 5), IDS(4, 5));

    /* GGUF BOS/EOS */
    assert_int_equal(pt_post_processor_bos_eos(1, -1, &p), PTUNE_OK);
    expect_pp(p, IDS(10, 11), IDS(1, 10, 11));
    pt_post_processor_free(p);
    assert_int_equal(pt_post_processor_bos_eos(1, 2, &p), PTUNE_OK);
    expect_pp(p, IDS(10), IDS(1, 10, 2));
    expect_pp(p, NULL, 0, IDS(1, 2));
    pt_post_processor_free(p);
    assert_int_equal(pt_post_processor_bos_eos(-1, 2, &p), PTUNE_OK);
    expect_pp(p, IDS(10), IDS(10, 2));
    pt_post_processor_free(p);

    /* errors */
    assert_int_equal(pp_status("{\"type\":\"TemplateProcessing\",\"single\":[\"[CLS]\",\"$A\"],\"pair\":[],\"special_tokens\":{}}"),
                     PTUNE_E_FORMAT);
    assert_non_null(strstr(ptune_last_error(), "[CLS]"));
    assert_int_equal(pp_status("{\"type\":\"TemplateProcessing\",\"single\":[\"$A\",\"$B\"],\"pair\":[],\"special_tokens\":{}}"),
                     PTUNE_E_FORMAT);
    assert_int_equal(pp_status("{\"type\":\"TemplateProcessing\",\"single\":[\"$A:x\"],\"pair\":[],\"special_tokens\":{}}"),
                     PTUNE_E_FORMAT);
    assert_int_equal(pp_status("{\"type\":\"TemplateProcessing\",\"single\":[\"<s>\"],\"pair\":[],\"special_tokens\":"
                               "{\"<s>\":{\"id\":\"<s>\",\"ids\":[1,2],\"tokens\":[\"<s>\"]}}}"),
                     PTUNE_E_FORMAT);
    assert_int_equal(pp_status("{\"type\":\"RobertaProcessing\",\"sep\":[\"</s>\"],\"cls\":[\"<s>\",0]}"), PTUNE_E_FORMAT);
    assert_int_equal(pp_status("{\"type\":\"BertProcessing\",\"sep\":[\"[SEP]\",-1],\"cls\":[\"[CLS]\",101]}"), PTUNE_E_FORMAT);
    assert_int_equal(pp_status("{\"type\":\"Sequence\",\"processors\":[{\"type\":\"Whatever\"}]}"), PTUNE_E_UNSUPPORTED);
    assert_non_null(strstr(ptune_last_error(), "Whatever"));
    assert_int_equal(pp_status("{\"processors\":[]}"), PTUNE_E_FORMAT);
}

/* ---------------------------------------------------------------------------------------
 * the token stream on a hand-built byte-level tokenizer */

static struct ptune_tokenizer *tiny_bytelevel(void)
{
    struct ptune_tokenizer *t = calloc(1, sizeof *t);
    assert_non_null(t);
    pt_bpe_config cfg = {0};
    cfg.unk_id = -1;
    assert_int_equal(pt_bpe_new(&cfg, &t->model), PTUNE_OK);
    static const unsigned char b_c3[] = {0xC3}, b_a9[] = {0xA9}, b_f09f[] = {0xF0, 0x9F}, b_9982[] = {0x99, 0x82},
                               b_80[] = {0x80};
    const char *toks[7] = {"a", NULL, NULL, NULL, NULL, NULL, NULL};
    char owned[5][16];
    strcpy(owned[0], bl_token(0, b_c3, 1));
    strcpy(owned[1], bl_token(0, b_a9, 1));
    strcpy(owned[2], bl_token(0, b_f09f, 2));
    strcpy(owned[3], bl_token(0, b_9982, 2));
    strcpy(owned[4], bl_token(0, b_80, 1));
    toks[1] = owned[0], toks[2] = owned[1], toks[3] = owned[2], toks[4] = owned[3], toks[6] = owned[4];
    for (int32_t i = 0; i < 7; i++)
        if (toks[i]) assert_int_equal(pt_bpe_add_token(t->model, toks[i], strlen(toks[i]), i, 0.0f), PTUNE_OK);
    assert_int_equal(pt_bpe_finish(t->model), PTUNE_OK);
    assert_int_equal(pt_added_tokens_new(&t->added), PTUNE_OK);
    pt_added_token bos = {0};
    bos.content = (char *)"<s>";
    bos.len = 3;
    bos.id = 5;
    bos.special = true;
    assert_int_equal(pt_added_tokens_add(t->added, &bos), PTUNE_OK);
    assert_int_equal(pt_added_tokens_finish(t->added), PTUNE_OK);
    t->decoder = decoder_from("{\"type\":\"ByteLevel\"}");
    t->n_vocab = 7;
    t->bos_id = 5;
    t->eos_id = -1;
    return t;
}

static void test_stream_contract(void **state)
{
    (void)state;
    struct ptune_tokenizer *t = tiny_bytelevel();
    /* <s> a [C3] [A9] [F0 9F] [99 82] a [80] a */
    const int32_t ids[] = {5, 0, 1, 2, 3, 4, 0, 6, 0};
    const char *want_keep[] = {"<s>", "a", "", "\xC3\xA9", "", "\xF0\x9F\x99\x82", "a", "", FFFD "a"};
    const char *want_skip[] = {"", "a", "", "\xC3\xA9", "", "\xF0\x9F\x99\x82", "a", "", FFFD "a"};
    for (int skip = 0; skip < 2; skip++) {
        ptune_token_stream *s = NULL;
        assert_int_equal(ptune_token_stream_new(t, skip, &s), PTUNE_OK);
        for (int round = 0; round < 2; round++) { /* flush resets the stream */
            for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
                const char *p = NULL;
                size_t len = 99;
                assert_int_equal(ptune_token_stream_push(s, ids[i], &p, &len), PTUNE_OK);
                const char *w = skip ? want_skip[i] : want_keep[i];
                if (len != strlen(w) || memcmp(p, w, len)) fail_msg("skip=%d push %zu: \"%.*s\", expected \"%s\"", skip, i, (int)len, p, w);
            }
            const char *p = NULL;
            size_t len = 99;
            assert_int_equal(ptune_token_stream_flush(s, &p, &len), PTUNE_OK);
            assert_int_equal(len, 0);
            assert_non_null(p);
        }
        /* an unfinished character is returned by the flush, decoded as HF would (U+FFFD) */
        const char *p;
        size_t len;
        assert_int_equal(ptune_token_stream_push(s, 0, &p, &len), PTUNE_OK);
        assert_int_equal(ptune_token_stream_push(s, 3, &p, &len), PTUNE_OK);
        assert_int_equal(len, 0);
        assert_int_equal(ptune_token_stream_flush(s, &p, &len), PTUNE_OK);
        assert_int_equal(len, 3);
        assert_memory_equal(p, FFFD, 3);
        /* bad ids and arguments */
        assert_int_equal(ptune_token_stream_push(s, 7, &p, &len), PTUNE_E_INVALID_ARG);
        assert_int_equal(ptune_token_stream_push(s, -3, &p, &len), PTUNE_E_INVALID_ARG);
        assert_int_equal(ptune_token_stream_push(NULL, 0, &p, &len), PTUNE_E_INVALID_ARG);
        assert_int_equal(ptune_token_stream_flush(s, NULL, &len), PTUNE_E_INVALID_ARG);
        ptune_token_stream_free(s);
    }
    pt_tokenizer_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytelevel),
        cmocka_unit_test(test_bytefallback),
        cmocka_unit_test(test_metaspace),
        cmocka_unit_test(test_strip_fuse_replace),
        cmocka_unit_test(test_sequences_and_errors),
        cmocka_unit_test(test_post_processors),
        cmocka_unit_test(test_stream_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
