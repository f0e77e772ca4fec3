/* tokenizer.json decoders (HF decode_chain semantics): ByteLevel, Metaspace, Replace (String
 * and Regex patterns, via pattern.h), ByteFallback, Fuse, Strip and Sequence. Owns decoder.h. */
#include "tokenizer/decoder.h"
#include "tokenizer/pattern.h"
#include "tokenizer/pretokenizer.h"
#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32

typedef enum dkind {
    D_BYTELEVEL,
    D_METASPACE,
    D_REPLACE,
    D_BYTEFALLBACK,
    D_FUSE,
    D_STRIP,
    D_SEQUENCE,
} dkind;

struct pt_decoder {
    dkind kind;
    /* Metaspace: the replacement char; strip_first = prepend_scheme != never.
     * Strip: the content char. */
    char ch[4];
    size_t ch_len;
    bool strip_first;
    /* Replace */
    pt_pattern *pattern;
    char *content;
    size_t content_len;
    /* Strip */
    size_t start, stop;
    /* Sequence */
    pt_decoder **children;
    size_t n_children;
};

/* ------------------------------------------------------------------------------------------
 * Token lists. Unlike pt_pieces, a token may be empty: HF keeps empty strings in the chain and
 * Metaspace looks at the token index, so dropping them would change results. */

typedef struct tlist {
    pt_buf text;     /* all tokens back to back */
    size_t *end;     /* token i is text[i ? end[i-1] : 0 .. end[i]) */
    size_t n, cap;
} tlist;

static void tl_clear(tlist *l)
{
    pt_buf_clear(&l->text);
    l->n = 0;
}

static void tl_free(tlist *l)
{
    pt_buf_free(&l->text);
    free(l->end);
    l->end = NULL;
    l->n = l->cap = 0;
}

/* Ends the current token at the current end of the text. */
static ptune_status tl_close(tlist *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        if (cap > SIZE_MAX / sizeof(size_t)) return pt_fail(PTUNE_E_NOMEM, "decoder: too many tokens");
        size_t *e = pt_realloc(l->end, cap * sizeof(size_t), "decoder buffer");
        if (!e) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the decoder token list to %zu entries", cap);
        l->end = e;
        l->cap = cap;
    }
    l->end[l->n++] = l->text.len;
    return PTUNE_OK;
}

static ptune_status tl_push(tlist *l, const char *s, size_t len)
{
    ptune_status st = pt_buf_append(&l->text, s, len);
    return st ? st : tl_close(l);
}

static const char *tl_get(const tlist *l, size_t i, size_t *len)
{
    size_t b = i ? l->end[i - 1] : 0;
    *len = l->end[i] - b;
    return l->text.data ? l->text.data + b : "";
}

static void tl_swap(tlist *a, tlist *b)
{
    tlist t = *a;
    *a = *b;
    *b = t;
}

/* ------------------------------------------------------------------------------------------
 * UTF-8 helpers */

static const char REPLACEMENT_CHAR[3] = {(char)0xEF, (char)0xBF, (char)0xBD}; /* U+FFFD */

/* Length of the "char" at s[0..n): a valid UTF-8 sequence, or 1 for an invalid byte (token
 * strings from a GGUF file are not guaranteed to be valid). */
static size_t char_len(const char *s, size_t n)
{
    uint32_t cp;
    size_t k = pt_utf8_decode(s, n, &cp);
    return k ? k : 1;
}

/* Appends bytes as Rust's String::from_utf8_lossy does: each maximal subpart of an ill-formed
 * sequence becomes one U+FFFD (Unicode "substitution of maximal subparts"). */
static ptune_status lossy_append(pt_buf *out, const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (run < n && s[run] < 0x80) run++;
        if (run > i) {
            ptune_status st = pt_buf_append(out, s + i, run - i);
            if (st) return st;
            i = run;
            continue;
        }
        unsigned char c = s[i];
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF; /* range of the first continuation byte */
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) need = 2, lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) need = 2;
        else if (c == 0xED) need = 2, hi = 0x9F;
        else if (c == 0xF0) need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) need = 3, hi = 0x8F;
        else need = 0; /* 0x80..0xC1, 0xF5..0xFF: never valid */
        size_t j = 1;
        if (need) {
            for (; j <= need; j++) {
                if (i + j >= n) break;
                unsigned char x = s[i + j];
                unsigned char l = j == 1 ? lo : 0x80, h = j == 1 ? hi : 0xBF;
                if (x < l || x > h) break;
            }
        }
        ptune_status st;
        if (need && j > need) {
            st = pt_buf_append(out, s + i, need + 1);
            i += need + 1;
        } else {
            st = pt_buf_append(out, REPLACEMENT_CHAR, 3);
            i += j; /* the maximal subpart: the lead byte and the continuation bytes that fit */
        }
        if (st) return st;
    }
    return PTUNE_OK;
}

/* ------------------------------------------------------------------------------------------
 * The decoders, each mapping `cur` to `tmp` and then swapping them. */

static ptune_status run_bytelevel(tlist *cur, tlist *tmp)
{
    pt_buf raw = {0};
    ptune_status st = pt_buf_reserve(&raw, cur->text.len);
    for (size_t t = 0; t < cur->n && !st; t++) {
        size_t n;
        const char *s = tl_get(cur, t, &n);
        size_t mark = raw.len;
        bool all = true;
        for (size_t i = 0; i < n && !st;) {
            uint32_t cp;
            size_t k = pt_utf8_decode(s + i, n - i, &cp);
            int b = k ? pt_bytelevel_byte(cp) : -1;
            if (b < 0) {
                all = false;
                break;
            }
            st = pt_buf_append_char(&raw, (char)(unsigned char)b);
            i += k;
        }
        if (!st && !all) {
            /* a char outside the byte-level alphabet: the token's own UTF-8 */
            raw.len = mark;
            st = pt_buf_append(&raw, s, n);
        }
    }
    if (!st) {
        tl_clear(tmp);
        st = lossy_append(&tmp->text, (const unsigned char *)raw.data, raw.len);
        if (!st) st = tl_close(tmp);
    }
    pt_buf_free(&raw);
    if (!st) tl_swap(cur, tmp);
    return st;
}

static ptune_status run_metaspace(const pt_decoder *d, tlist *cur, tlist *tmp)
{
    tl_clear(tmp);
    ptune_status st = pt_buf_reserve(&tmp->text, cur->text.len);
    for (size_t t = 0; t < cur->n && !st; t++) {
        size_t n;
        const char *s = tl_get(cur, t, &n);
        size_t i = 0, from = 0;
        while (i < n && !st) {
            if (n - i >= d->ch_len && !memcmp(s + i, d->ch, d->ch_len)) {
                st = pt_buf_append(&tmp->text, s + from, i - from);
                if (!st && !(t == 0 && d->strip_first)) st = pt_buf_append_char(&tmp->text, ' ');
                i += d->ch_len;
                from = i;
            } else {
                i += char_len(s + i, n - i);
            }
        }
        if (!st) st = pt_buf_append(&tmp->text, s + from, n - from);
        if (!st) st = tl_close(tmp);
    }
    if (!st) tl_swap(cur, tmp);
    return st;
}

static ptune_status run_replace(const pt_decoder *d, tlist *cur, tlist *tmp)
{
    /* HF: every token is split by Pattern::find_matches and each match replaced */
    pt_spans sp = {0};
    tl_clear(tmp);
    ptune_status st = PTUNE_OK;
    for (size_t t = 0; t < cur->n && !st; t++) {
        size_t n;
        const char *s = tl_get(cur, t, &n);
        st = pt_pattern_find(d->pattern, s, n, &sp);
        for (size_t i = 0; i < sp.n && !st; i++) {
            const pt_span *m = &sp.v[i];
            st = m->is_match ? pt_buf_append(&tmp->text, d->content, d->content_len)
                             : pt_buf_append(&tmp->text, s + m->start, m->end - m->start);
        }
        if (!st) st = tl_close(tmp);
    }
    pt_spans_free(&sp);
    if (!st) tl_swap(cur, tmp);
    return st;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A "<0xXX>" token (exactly 6 bytes) as HF recognises it: the two middle bytes parsed by
 * u8::from_str_radix(_, 16), which also accepts a leading '+'. Returns the byte or -1. */
static int byte_token(const char *s, size_t n)
{
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    if (s[3] == '+') return hex_digit(s[4]);
    int hi = hex_digit(s[3]), lo = hex_digit(s[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

static ptune_status flush_bytes(pt_buf *bytes, tlist *out)
{
    ptune_status st = PTUNE_OK;
    if (bytes->len == 0) return st;
    if (pt_utf8_valid(bytes->data, bytes->len, NULL)) {
        st = tl_push(out, bytes->data, bytes->len);
    } else {
        /* not valid UTF-8 as a whole: one U+FFFD token per byte token */
        for (size_t i = 0; i < bytes->len && !st; i++) st = tl_push(out, REPLACEMENT_CHAR, 3);
    }
    pt_buf_clear(bytes);
    return st;
}

static ptune_status run_bytefallback(tlist *cur, tlist *tmp)
{
    pt_buf bytes = {0};
    tl_clear(tmp);
    ptune_status st = PTUNE_OK;
    for (size_t t = 0; t < cur->n && !st; t++) {
        size_t n;
        const char *s = tl_get(cur, t, &n);
        int b = byte_token(s, n);
        if (b >= 0) {
            st = pt_buf_append_char(&bytes, (char)(unsigned char)b);
        } else {
            st = flush_bytes(&bytes, tmp);
            if (!st) st = tl_push(tmp, s, n);
        }
    }
    if (!st) st = flush_bytes(&bytes, tmp);
    pt_buf_free(&bytes);
    if (!st) tl_swap(cur, tmp);
    return st;
}

static ptune_status run_fuse(tlist *cur)
{
    /* the tokens are already back to back: one token spanning the whole text */
    cur->n = 0;
    return tl_close(cur);
}

static ptune_status run_strip(const pt_decoder *d, tlist *cur, tlist *tmp)
{
    tl_clear(tmp);
    ptune_status st = pt_buf_reserve(&tmp->text, cur->text.len);
    for (size_t t = 0; t < cur->n && !st; t++) {
        size_t n;
        const char *s = tl_get(cur, t, &n);
        /* the leading run of `content`, at most `start` chars */
        size_t b = 0;
        for (size_t k = 0; k < d->start && b < n; k++) {
            if (n - b >= d->ch_len && !memcmp(s + b, d->ch, d->ch_len)) b += d->ch_len;
            else break;
        }
        /* the trailing run, at most `stop` chars, never reaching into the stripped start */
        size_t e = n;
        for (size_t k = 0; k < d->stop && e > b; k++) {
            if (e - b >= d->ch_len && !memcmp(s + e - d->ch_len, d->ch, d->ch_len)) e -= d->ch_len;
            else break;
        }
        st = tl_push(tmp, s + b, e - b);
    }
    if (!st) tl_swap(cur, tmp);
    return st;
}

static ptune_status apply(const pt_decoder *d, tlist *cur, tlist *tmp)
{
    switch (d->kind) {
    case D_BYTELEVEL: return run_bytelevel(cur, tmp);
    case D_METASPACE: return run_metaspace(d, cur, tmp);
    case D_REPLACE: return run_replace(d, cur, tmp);
    case D_BYTEFALLBACK: return run_bytefallback(cur, tmp);
    case D_FUSE: return run_fuse(cur);
    case D_STRIP: return run_strip(d, cur, tmp);
    case D_SEQUENCE:
        for (size_t i = 0; i < d->n_children; i++) {
            ptune_status st = apply(d->children[i], cur, tmp);
            if (st) return st;
        }
        return PTUNE_OK;
    }
    return pt_fail(PTUNE_E_STATE, "decoder: corrupt decoder kind %d", (int)d->kind);
}

ptune_status pt_decoder_run(const pt_decoder *d, pt_pieces *tokens, pt_buf *out)
{
    size_t n = tokens ? tokens->n : 0;
    size_t begin = n ? tokens->start[0] : 0, end = n ? tokens->start[n] : 0;
    const char *text = n ? tokens->text.data + begin : "";
    if (!d) return pt_buf_append(out, text, end - begin);
    /* copy the pieces into a token list, then run the chain on it */
    tlist cur = {0}, tmp = {0};
    ptune_status st = PTUNE_OK;
    if (n) {
        cur.end = pt_malloc_array(n, sizeof *cur.end, "decoder token list");
        if (!cur.end) return PTUNE_E_NOMEM;
        cur.cap = n;
        for (size_t i = 0; i < n; i++) cur.end[i] = tokens->start[i + 1] - begin;
        cur.n = n;
    }
    st = pt_buf_append(&cur.text, text, end - begin);
    if (!st) st = apply(d, &cur, &tmp);
    if (!st) st = pt_buf_append(out, cur.text.data ? cur.text.data : "", cur.text.len);
    tl_free(&cur);
    tl_free(&tmp);
    return st;
}

/* ------------------------------------------------------------------------------------------
 * Parsing */

void pt_decoder_free(pt_decoder *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_children; i++) pt_decoder_free(d->children[i]);
    free(d->children);
    pt_pattern_free(d->pattern);
    free(d->content);
    free(d);
}

/* A JSON string holding exactly one char (Rust `char`), copied to ch/len. */
static ptune_status get_char(const json_t *j, const char *key, const char *where, const char *type, char ch[4],
                             size_t *len)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        return pt_fail(PTUNE_E_FORMAT, "%s: decoder %s: \"%s\" must be a string of one character", where, type, key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    uint32_t cp;
    size_t k = n ? pt_utf8_decode(s, n, &cp) : 0;
    if (!k || k != n)
        return pt_fail(PTUNE_E_FORMAT, "%s: decoder %s: \"%s\" must be exactly one character, got \"%s\"", where, type,
                       key, s);
    memcpy(ch, s, n);
    *len = n;
    return PTUNE_OK;
}

static ptune_status parse_replace(const json_t *j, const char *where, pt_decoder *d)
{
    const json_t *pat = json_object_get(j, "pattern");
    const json_t *content = json_object_get(j, "content");
    if (!json_is_object(pat) || !json_is_string(content))
        return pt_fail(PTUNE_E_FORMAT, "%s: decoder Replace needs a \"pattern\" object and a \"content\" string", where);
    const json_t *str = json_object_get(pat, "String"), *rx = json_object_get(pat, "Regex");
    const json_t *p = str ? str : rx;
    if (!json_is_string(p) || (str && rx))
        return pt_fail(PTUNE_E_FORMAT, "%s: decoder Replace: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}",
                       where);
    d->content_len = json_string_length(content);
    d->content = pt_malloc(d->content_len + 1, "decoder Replace content");
    if (!d->content) return PTUNE_E_NOMEM;
    memcpy(d->content, json_string_value(content), d->content_len + 1);
    if (str) return pt_pattern_literal(json_string_value(p), json_string_length(p), &d->pattern);
    char *w = pt_strfmt("%s: decoder Replace", where);
    if (!w) return PTUNE_E_NOMEM;
    ptune_status st = pt_pattern_regex(json_string_value(p), json_string_length(p), w, &d->pattern);
    free(w);
    return st;
}

static ptune_status get_count(const json_t *j, const char *key, const char *where, size_t *out)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return pt_fail(PTUNE_E_FORMAT, "%s: decoder Strip: \"%s\" must be a non-negative integer", where, key);
    *out = (size_t)json_integer_value(v);
    return PTUNE_OK;
}

static ptune_status parse_metaspace(const json_t *j, const char *where, pt_decoder *d)
{
    ptune_status st = get_char(j, "replacement", where, "Metaspace", d->ch, &d->ch_len);
    if (st) return st;
    const json_t *scheme = json_object_get(j, "prepend_scheme");
    const json_t *aps = json_object_get(j, "add_prefix_space");
    bool never = false;
    if (scheme && !json_is_null(scheme)) {
        const char *s = json_is_string(scheme) ? json_string_value(scheme) : "";
        if (!strcmp(s, "never")) never = true;
        else if (strcmp(s, "always") && strcmp(s, "first"))
            return pt_fail(PTUNE_E_FORMAT, "%s: decoder Metaspace: prepend_scheme must be \"always\", \"first\" or \"never\"",
                           where);
    }
    if (aps && !json_is_null(aps)) {
        if (!json_is_boolean(aps))
            return pt_fail(PTUNE_E_FORMAT, "%s: decoder Metaspace: add_prefix_space must be a boolean", where);
        if (json_is_false(aps)) {
            /* legacy key: false means never; it may not contradict an explicit scheme */
            if (scheme && !json_is_null(scheme) && !never)
                return pt_fail(PTUNE_E_FORMAT, "%s: decoder Metaspace: add_prefix_space does not match declared prepend_scheme",
                               where);
            never = true;
        }
    }
    d->strip_first = !never;
    return PTUNE_OK;
}

static ptune_status parse_at(const json_t *j, const char *where, int depth, pt_decoder **out);

static ptune_status parse_sequence(const json_t *j, const char *where, int depth, pt_decoder *d)
{
    const json_t *arr = json_object_get(j, "decoders");
    if (!json_is_array(arr)) return pt_fail(PTUNE_E_FORMAT, "%s: decoder Sequence needs a \"decoders\" array", where);
    size_t n = json_array_size(arr);
    d->children = pt_calloc(n, sizeof *d->children, "decoder sequence");
    if (!d->children) return PTUNE_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const json_t *c = json_array_get(arr, i);
        if (json_is_null(c)) return pt_fail(PTUNE_E_FORMAT, "%s: decoder Sequence: decoders[%zu] is null", where, i);
        ptune_status st = parse_at(c, where, depth + 1, &d->children[d->n_children]);
        if (st) return st;
        d->n_children++;
    }
    return PTUNE_OK;
}

static ptune_status parse_at(const json_t *j, const char *where, int depth, pt_decoder **out)
{
    *out = NULL;
    if (!j || json_is_null(j)) return PTUNE_OK;
    if (depth > MAX_DEPTH) return pt_fail(PTUNE_E_FORMAT, "%s: decoder: Sequence nested deeper than %d", where, MAX_DEPTH);
    if (!json_is_object(j)) return pt_fail(PTUNE_E_FORMAT, "%s: decoder must be an object or null", where);
    const json_t *tj = json_object_get(j, "type");
    if (!json_is_string(tj)) return pt_fail(PTUNE_E_FORMAT, "%s: decoder has no \"type\" string", where);
    const char *type = json_string_value(tj);
    pt_decoder *d = pt_calloc(1, sizeof *d, "decoder");
    if (!d) return PTUNE_E_NOMEM;
    ptune_status st = PTUNE_OK;
    if (!strcmp(type, "ByteLevel")) {
        d->kind = D_BYTELEVEL;
    } else if (!strcmp(type, "Metaspace")) {
        d->kind = D_METASPACE;
        st = parse_metaspace(j, where, d);
    } else if (!strcmp(type, "Replace")) {
        d->kind = D_REPLACE;
        st = parse_replace(j, where, d);
    } else if (!strcmp(type, "ByteFallback")) {
        d->kind = D_BYTEFALLBACK;
    } else if (!strcmp(type, "Fuse")) {
        d->kind = D_FUSE;
    } else if (!strcmp(type, "Strip")) {
        d->kind = D_STRIP;
        st = get_char(j, "content", where, "Strip", d->ch, &d->ch_len);
        if (!st) st = get_count(j, "start", where, &d->start);
        if (!st) st = get_count(j, "stop", where, &d->stop);
    } else if (!strcmp(type, "Sequence")) {
        d->kind = D_SEQUENCE;
        st = parse_sequence(j, where, depth, d);
    } else {
        st = pt_fail(PTUNE_E_UNSUPPORTED, "%s: decoder type \"%s\" is not supported", where, type);
    }
    if (st) {
        pt_decoder_free(d);
        return st;
    }
    *out = d;
    return PTUNE_OK;
}

ptune_status pt_decoder_parse(const json_t *j, const char *where, pt_decoder **out)
{
    return parse_at(j, where ? where : "tokenizer.json", 0, out);
}
