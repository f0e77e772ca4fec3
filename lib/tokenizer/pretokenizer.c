/* tokenizer.json pre-tokenizers (HF `tokenizers` semantics): parsing the "pre_tokenizer" object
 * into a flat chain of steps, running the chain on a segment, and the GPT-2 byte alphabet. */
#include "tokenizer/pretokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/pattern.h"

/* HF's ByteLevel regex (byte_level.rs). */
#define GPT2_REGEX "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
/* HF's Whitespace pre-tokenizer uses the Rust `regex` crate's \w+|[^\w\s]+, where \w is
 * [\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}] and \s is \p{White_Space}. */
#define RUST_W "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}"
#define WHITESPACE_REGEX "[" RUST_W "]+|[^" RUST_W "\\p{White_Space}]+"

typedef enum pkind {
    P_BYTELEVEL,   /* optional prefix space, optional GPT-2 split, byte → alphabet mapping */
    P_SPLIT,       /* pattern split (Split, Whitespace, CharDelimiterSplit) */
    P_CHARSPLIT,   /* per-character predicate split (Digits, Punctuation, WhitespaceSplit, Bert) */
    P_METASPACE
} pkind;

typedef enum prepend_scheme { PREPEND_ALWAYS, PREPEND_FIRST, PREPEND_NEVER } prepend_scheme;

typedef struct pstep {
    pkind kind;
    pt_pattern *pat;              /* P_SPLIT; P_BYTELEVEL's GPT-2 regex when use_regex; P_METASPACE's replacement */
    pt_split_behavior behavior;   /* P_SPLIT, P_CHARSPLIT */
    bool invert;                  /* P_SPLIT */
    bool (*pred)(uint32_t cp);    /* P_CHARSPLIT */
    bool add_prefix_space;        /* P_BYTELEVEL */
    bool split;                   /* P_METASPACE */
    prepend_scheme scheme;        /* P_METASPACE */
    char repl[5];                 /* P_METASPACE: the replacement character, UTF-8 */
    size_t repl_len;
} pstep;

struct pt_pretokenizer {
    pstep *steps;   /* Sequences are flattened: each step splits every piece of the previous one */
    size_t n, cap;
};

/* ---- GPT-2 byte alphabet ----------------------------------------------------------------- */

/* bytes_char(): printable bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves; the
 * other 68, in byte order, become U+0100.. : 0x00-0x20 → U+0100-0120, 0x7F-0xA0 → U+0121-0142,
 * 0xAD → U+0143. */
#define BL_CP(b) (((b) >= 0x21 && (b) <= 0x7E) || ((b) >= 0xA1 && (b) <= 0xAC) || (b) >= 0xAE ? (b) \
                  : (b) <= 0x20 ? 0x100 + (b) : (b) <= 0xA0 ? 0x121 + (b) - 0x7F : 0x143)
#define BL_ENC(b) {(char)(BL_CP(b) < 0x80 ? BL_CP(b) : 0xC0 | (BL_CP(b) >> 6)), \
                   (char)(BL_CP(b) < 0x80 ? 0 : 0x80 | (BL_CP(b) & 0x3F)), 0}
#define BL4(b) BL_ENC(b), BL_ENC((b) + 1), BL_ENC((b) + 2), BL_ENC((b) + 3)
#define BL16(b) BL4(b), BL4((b) + 4), BL4((b) + 8), BL4((b) + 12)
#define BL64(b) BL16(b), BL16((b) + 16), BL16((b) + 32), BL16((b) + 48)
static const char bl_table[256][3] = {BL64(0), BL64(64), BL64(128), BL64(192)};

const char *pt_bytelevel_char(unsigned char b, size_t *len)
{
    *len = (unsigned char)bl_table[b][0] < 0x80 ? 1 : 2;
    return bl_table[b];
}

int pt_bytelevel_byte(uint32_t cp)
{
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp >= 0x100 && cp <= 0x120) return (int)(cp - 0x100);
    if (cp >= 0x121 && cp <= 0x142) return (int)(cp - 0x121 + 0x7F);
    if (cp == 0x143) return 0xAD;
    return -1;
}

static ptune_status bytelevel_map(const char *s, size_t len, pt_buf *out)
{
    pt_buf_clear(out);
    ptune_status st = pt_buf_reserve(out, 2 * len);
    if (st) return st;
    char *d = out->data;
    for (size_t i = 0; i < len; i++) {
        const char *c = bl_table[(unsigned char)s[i]];
        *d++ = c[0];
        if ((unsigned char)c[0] >= 0x80) *d++ = c[1];
    }
    *d = 0;
    out->len = (size_t)(d - out->data);
    return PTUNE_OK;
}

/* ---- parsing ------------------------------------------------------------------------------ */

void pt_pretokenizer_free(pt_pretokenizer *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) pt_pattern_free(p->steps[i].pat);
    free(p->steps);
    free(p);
}

static ptune_status add_step(pt_pretokenizer *p, pstep *st)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 4;
        pstep *ns = pt_realloc(p->steps, cap * sizeof *ns, "pretokenizer buffer");
        if (!ns) {
            pt_pattern_free(st->pat);
            return pt_fail(PTUNE_E_NOMEM, "out of memory growing the pre-tokenizer list");
        }
        p->steps = ns;
        p->cap = cap;
    }
    p->steps[p->n++] = *st;
    return PTUNE_OK;
}

/* Optional boolean field: absent (or null) gives `dflt`. */
static ptune_status opt_bool(const json_t *j, const char *key, bool dflt, const char *where, const char *type,
                             bool *out)
{
    const json_t *v = json_object_get(j, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return PTUNE_OK;
    }
    if (!json_is_boolean(v))
        return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer %s: \"%s\" must be true or false", where, type, key);
    *out = json_is_true(v);
    return PTUNE_OK;
}

static ptune_status get_behavior(const json_t *j, bool required, const char *where, const char *type,
                                 pt_split_behavior *out)
{
    const json_t *v = json_object_get(j, "behavior");
    if (!v && !required) {
        *out = PT_SPLIT_ISOLATED;
        return PTUNE_OK;
    }
    if (!json_is_string(v) || !pt_split_behavior_parse(json_string_value(v), out))
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: pre_tokenizer %s: \"behavior\" must be one of Removed, Isolated, MergedWithPrevious, "
                       "MergedWithNext, Contiguous",
                       where, type);
    return PTUNE_OK;
}

/* A string field holding exactly one character (Rust `char`), copied into buf[5]. */
static ptune_status get_char(const json_t *j, const char *key, const char *where, const char *type, char *buf,
                             size_t *len)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer %s: \"%s\" must be a string", where, type, key);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    uint32_t cp;
    if (n == 0 || n > 4 || pt_uc_next(s, n, &cp) != n)
        return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer %s: \"%s\" must be a single character", where, type, key);
    memcpy(buf, s, n);
    buf[n] = 0;
    *len = n;
    return PTUNE_OK;
}

static ptune_status compile_regex(const char *re, size_t len, const char *where, const char *type, pt_pattern **out)
{
    char *w = pt_strfmt("%s: pre_tokenizer %s", where, type);
    if (!w) return PTUNE_E_NOMEM;
    ptune_status s = pt_pattern_regex(re, len, w, out);
    free(w);
    return s;
}

static ptune_status parse_into(pt_pretokenizer *p, const json_t *j, const char *where, int depth)
{
    if (depth > 64) return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer Sequence nested too deeply", where);
    if (!json_is_object(j)) return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer must be an object or null", where);
    const json_t *tj = json_object_get(j, "type");
    if (!json_is_string(tj)) return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer has no \"type\" string", where);
    const char *type = json_string_value(tj);
    pstep st;
    memset(&st, 0, sizeof st);
    ptune_status s;

    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(j, "pretokenizers");
        if (!json_is_array(arr))
            return pt_fail(PTUNE_E_FORMAT, "%s: pre_tokenizer Sequence: \"pretokenizers\" must be an array", where);
        for (size_t i = 0; i < json_array_size(arr); i++)
            if ((s = parse_into(p, json_array_get(arr, i), where, depth + 1))) return s;
        return PTUNE_OK;
    }
    if (strcmp(type, "ByteLevel") == 0) {
        bool use_regex = true;
        st.kind = P_BYTELEVEL;
        if ((s = opt_bool(j, "add_prefix_space", true, where, type, &st.add_prefix_space))) return s;
        if ((s = opt_bool(j, "use_regex", true, where, type, &use_regex))) return s;
        if (use_regex && (s = compile_regex(GPT2_REGEX, strlen(GPT2_REGEX), where, type, &st.pat))) return s;
        return add_step(p, &st);
    }
    if (strcmp(type, "Split") == 0) {
        st.kind = P_SPLIT;
        const json_t *pj = json_object_get(j, "pattern");
        const json_t *ps = json_object_get(pj, "String"), *pr = json_object_get(pj, "Regex");
        if (!json_is_object(pj) || json_object_size(pj) != 1 || !(json_is_string(ps) || json_is_string(pr)))
            return pt_fail(PTUNE_E_FORMAT,
                           "%s: pre_tokenizer Split: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", where);
        if ((s = get_behavior(j, true, where, type, &st.behavior))) return s;
        if ((s = opt_bool(j, "invert", false, where, type, &st.invert))) return s;
        s = ps ? pt_pattern_literal(json_string_value(ps), json_string_length(ps), &st.pat)
               : compile_regex(json_string_value(pr), json_string_length(pr), where, type, &st.pat);
        return s ? s : add_step(p, &st);
    }
    if (strcmp(type, "Metaspace") == 0) {
        st.kind = P_METASPACE;
        if ((s = get_char(j, "replacement", where, type, st.repl, &st.repl_len))) return s;
        const json_t *ps = json_object_get(j, "prepend_scheme");
        st.scheme = PREPEND_ALWAYS;
        if (ps && !json_is_null(ps)) {
            const char *v = json_is_string(ps) ? json_string_value(ps) : "";
            if (strcmp(v, "always") == 0) st.scheme = PREPEND_ALWAYS;
            else if (strcmp(v, "first") == 0) st.scheme = PREPEND_FIRST;
            else if (strcmp(v, "never") == 0) st.scheme = PREPEND_NEVER;
            else
                return pt_fail(PTUNE_E_FORMAT,
                               "%s: pre_tokenizer Metaspace: \"prepend_scheme\" must be \"always\", \"first\" or "
                               "\"never\"",
                               where);
        }
        /* the legacy key: add_prefix_space false means "never" (HF rejects it next to any
         * other declared scheme; with no prepend_scheme at all we accept it as "never") */
        bool aps = true;
        if ((s = opt_bool(j, "add_prefix_space", true, where, type, &aps))) return s;
        if (!aps) {
            if (ps && !json_is_null(ps) && st.scheme != PREPEND_NEVER)
                return pt_fail(PTUNE_E_FORMAT,
                               "%s: pre_tokenizer Metaspace: add_prefix_space does not match declared prepend_scheme",
                               where);
            st.scheme = PREPEND_NEVER;
        }
        if ((s = opt_bool(j, "split", true, where, type, &st.split))) return s;
        if (st.split && (s = pt_pattern_literal(st.repl, st.repl_len, &st.pat))) return s;
        return add_step(p, &st);
    }
    if (strcmp(type, "Digits") == 0) {
        bool individual = false;
        if ((s = opt_bool(j, "individual_digits", false, where, type, &individual))) return s;
        st.kind = P_CHARSPLIT;
        st.pred = pt_uc_is_numeric;
        st.behavior = individual ? PT_SPLIT_ISOLATED : PT_SPLIT_CONTIGUOUS;
        return add_step(p, &st);
    }
    if (strcmp(type, "Punctuation") == 0) {
        st.kind = P_CHARSPLIT;
        st.pred = pt_uc_is_punctuation;
        if ((s = get_behavior(j, false, where, type, &st.behavior))) return s;
        return add_step(p, &st);
    }
    if (strcmp(type, "WhitespaceSplit") == 0 || strcmp(type, "BertPreTokenizer") == 0) {
        st.kind = P_CHARSPLIT;
        st.pred = pt_uc_is_white_space;
        st.behavior = PT_SPLIT_REMOVED;
        if ((s = add_step(p, &st))) return s;
        if (type[0] == 'W') return PTUNE_OK;
        /* BertPreTokenizer: whitespace removed, then every punctuation character isolated */
        st.pred = pt_uc_is_punctuation;
        st.behavior = PT_SPLIT_ISOLATED;
        return add_step(p, &st);
    }
    if (strcmp(type, "Whitespace") == 0) {
        st.kind = P_SPLIT;
        st.behavior = PT_SPLIT_REMOVED;
        st.invert = true;
        if ((s = compile_regex(WHITESPACE_REGEX, strlen(WHITESPACE_REGEX), where, type, &st.pat))) return s;
        return add_step(p, &st);
    }
    if (strcmp(type, "CharDelimiterSplit") == 0) {
        char d[5];
        size_t dl;
        if ((s = get_char(j, "delimiter", where, type, d, &dl))) return s;
        st.kind = P_SPLIT;
        st.behavior = PT_SPLIT_REMOVED;
        if ((s = pt_pattern_literal(d, dl, &st.pat))) return s;
        return add_step(p, &st);
    }
    return pt_fail(PTUNE_E_UNSUPPORTED, "%s: pre_tokenizer type \"%s\" is not supported", where, type);
}

ptune_status pt_pretokenizer_parse(const json_t *j, const char *where, pt_pretokenizer **out)
{
    *out = NULL;
    if (!where) where = "tokenizer.json";
    if (!j || json_is_null(j)) return PTUNE_OK;
    pt_pretokenizer *p = pt_calloc(1, sizeof *p, "pre-tokenizer");
    if (!p) return PTUNE_E_NOMEM;
    ptune_status s = parse_into(p, j, where, 0);
    if (s) {
        pt_pretokenizer_free(p);
        return s;
    }
    *out = p;
    return PTUNE_OK;
}

/* ---- running ------------------------------------------------------------------------------ */

/* Per-step scratch, reused for every piece that step sees during one run. */
typedef struct level {
    pt_buf a, b;     /* transformed input, transformed sub-piece */
    pt_spans sp;     /* spans over the current input */
} level;

typedef struct run_ctx {
    const pt_pretokenizer *p;
    level *lv;
    pt_pieces *out;
} run_ctx;

/* Feeds piece s[0..len) to step i (depth first: each resulting piece goes straight on to step
 * i + 1). at_start: the piece begins at offset 0 of the input (Metaspace "first"). */
static ptune_status feed(run_ctx *c, size_t i, const char *s, size_t len, bool at_start)
{
    if (len == 0) return PTUNE_OK; /* HF drops empty pieces */
    if (i == c->p->n) return pt_pieces_push(c->out, s, len);
    const pstep *st = &c->p->steps[i];
    level *lv = &c->lv[i];
    ptune_status r;

    switch (st->kind) {
    case P_SPLIT:
    case P_CHARSPLIT:
        r = st->kind == P_SPLIT ? pt_pattern_find(st->pat, s, len, &lv->sp)
                                : pt_pattern_find_chars(st->pred, s, len, &lv->sp);
        if (r) return r;
        pt_split_apply(&lv->sp, st->behavior, st->invert);
        for (size_t k = 0; k < lv->sp.n; k++) {
            const pt_span *v = &lv->sp.v[k];
            if ((r = feed(c, i + 1, s + v->start, v->end - v->start, at_start && v->start == 0))) return r;
        }
        return PTUNE_OK;

    case P_BYTELEVEL: {
        const char *t = s;
        size_t tl = len;
        if (st->add_prefix_space && s[0] != ' ') {
            pt_buf_clear(&lv->a);
            if ((r = pt_buf_append_char(&lv->a, ' '))) return r;
            if ((r = pt_buf_append(&lv->a, s, len))) return r;
            t = lv->a.data;
            tl = lv->a.len;
        }
        if (!st->pat) {
            if ((r = bytelevel_map(t, tl, &lv->b))) return r;
            return feed(c, i + 1, lv->b.data, lv->b.len, at_start);
        }
        if ((r = pt_pattern_find(st->pat, t, tl, &lv->sp))) return r;
        for (size_t k = 0; k < lv->sp.n; k++) {
            const pt_span *v = &lv->sp.v[k];
            if (v->end == v->start) continue;
            if ((r = bytelevel_map(t + v->start, v->end - v->start, &lv->b))) return r;
            if ((r = feed(c, i + 1, lv->b.data, lv->b.len, at_start && v->start == 0))) return r;
        }
        return PTUNE_OK;
    }

    case P_METASPACE: {
        /* replace ' ' by the replacement, then prepend it unless the text already starts with it */
        bool starts = s[0] == ' ' || (len >= st->repl_len && memcmp(s, st->repl, st->repl_len) == 0);
        bool prepend = !starts && (st->scheme == PREPEND_ALWAYS || (st->scheme == PREPEND_FIRST && at_start));
        pt_buf *a = &lv->a;
        pt_buf_clear(a);
        if ((r = pt_buf_reserve(a, len + st->repl_len))) return r;
        if (prepend && (r = pt_buf_append(a, st->repl, st->repl_len))) return r;
        size_t from = 0;
        for (;;) {
            const char *sp = memchr(s + from, ' ', len - from);
            size_t upto = sp ? (size_t)(sp - s) : len;
            if ((r = pt_buf_append(a, s + from, upto - from))) return r;
            if (!sp) break;
            if ((r = pt_buf_append(a, st->repl, st->repl_len))) return r;
            from = upto + 1;
        }
        if (!st->split) return feed(c, i + 1, a->data, a->len, at_start);
        if ((r = pt_pattern_find(st->pat, a->data, a->len, &lv->sp))) return r;
        pt_split_apply(&lv->sp, PT_SPLIT_MERGED_WITH_NEXT, false);
        for (size_t k = 0; k < lv->sp.n; k++) {
            const pt_span *v = &lv->sp.v[k];
            if ((r = feed(c, i + 1, a->data + v->start, v->end - v->start, at_start && v->start == 0))) return r;
        }
        return PTUNE_OK;
    }
    }
    return pt_fail(PTUNE_E_STATE, "corrupt pre-tokenizer step");
}

ptune_status pt_pretokenizer_run(const pt_pretokenizer *p, const char *s, size_t len, int first_segment,
                                 pt_pieces *out)
{
    if (!p || p->n == 0) return pt_pieces_push(out, s, len);
    level stack_lv[8];
    level *lv = stack_lv;
    if (p->n > 8) {
        lv = pt_calloc(p->n, sizeof *lv, "pre-tokenizer scratch");
        if (!lv) return PTUNE_E_NOMEM;
    } else {
        memset(stack_lv, 0, sizeof stack_lv);
    }
    run_ctx c = {p, lv, out};
    ptune_status r = feed(&c, 0, s, len, first_segment != 0);
    for (size_t i = 0; i < p->n; i++) {
        pt_buf_free(&lv[i].a);
        pt_buf_free(&lv[i].b);
        pt_spans_free(&lv[i].sp);
    }
    if (lv != stack_lv) free(lv);
    return r;
}
