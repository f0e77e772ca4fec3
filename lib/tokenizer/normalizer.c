/* tokenizer.json normalizers (HF `tokenizers` semantics): parsing the "normalizer" object into a
 * flat list of steps, and running them on a text segment (Unicode forms and case via utf8proc). */
#include "tokenizer/normalizer.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"
#include "tokenizer/pattern.h"
#include "tokenizer/pretokenizer.h"

typedef enum nkind {
    N_PREPEND,
    N_REPLACE,
    N_NFC,
    N_NFD,
    N_NFKC,
    N_NFKD,
    N_LOWERCASE,
    N_STRIP,
    N_STRIP_ACCENTS,
    N_NMT,
    N_BYTELEVEL
} nkind;

typedef struct nstep {
    nkind kind;
    char *str;          /* Prepend's text or Replace's content (owned) */
    size_t str_len;
    pt_pattern *pat;    /* Replace */
    bool left, right;   /* Strip */
} nstep;

struct pt_normalizer {
    nstep *steps;       /* a Sequence is flattened: steps run in order */
    size_t n, cap;
};

void pt_normalizer_free(pt_normalizer *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        free(n->steps[i].str);
        pt_pattern_free(n->steps[i].pat);
    }
    free(n->steps);
    free(n);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static ptune_status add_step(pt_normalizer *n, const nstep *st)
{
    if (n->n == n->cap) {
        size_t cap = n->cap ? n->cap * 2 : 4;
        nstep *ns = pt_realloc(n->steps, cap * sizeof *ns, "normalizer buffer");
        if (!ns) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the normalizer list");
        n->steps = ns;
        n->cap = cap;
    }
    n->steps[n->n++] = *st;
    return PTUNE_OK;
}

static ptune_status get_string(const json_t *j, const char *key, const char *where, const char *type, const char **s,
                               size_t *len)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        return pt_fail(PTUNE_E_FORMAT, "%s: normalizer %s: \"%s\" must be a string", where, type, key);
    *s = json_string_value(v);
    *len = json_string_length(v);
    return PTUNE_OK;
}

static ptune_status get_bool(const json_t *j, const char *key, const char *where, const char *type, bool *out)
{
    const json_t *v = json_object_get(j, key);
    if (!json_is_boolean(v))
        return pt_fail(PTUNE_E_FORMAT, "%s: normalizer %s: \"%s\" must be true or false", where, type, key);
    *out = json_is_true(v);
    return PTUNE_OK;
}

static ptune_status dup_bytes(const char *s, size_t len, char **out)
{
    *out = pt_malloc(len + 1, "normalizer text");
    if (!*out) return PTUNE_E_NOMEM;
    if (len) memcpy(*out, s, len);
    (*out)[len] = 0;
    return PTUNE_OK;
}

static ptune_status parse_into(pt_normalizer *n, const json_t *j, const char *where, int depth)
{
    if (depth > 64) return pt_fail(PTUNE_E_FORMAT, "%s: normalizer Sequence nested too deeply", where);
    if (!json_is_object(j)) return pt_fail(PTUNE_E_FORMAT, "%s: normalizer must be an object or null", where);
    const json_t *tj = json_object_get(j, "type");
    if (!json_is_string(tj)) return pt_fail(PTUNE_E_FORMAT, "%s: normalizer has no \"type\" string", where);
    const char *type = json_string_value(tj);
    nstep st;
    memset(&st, 0, sizeof st);
    ptune_status s;

    if (strcmp(type, "Sequence") == 0) {
        const json_t *arr = json_object_get(j, "normalizers");
        if (!json_is_array(arr))
            return pt_fail(PTUNE_E_FORMAT, "%s: normalizer Sequence: \"normalizers\" must be an array", where);
        for (size_t i = 0; i < json_array_size(arr); i++)
            if ((s = parse_into(n, json_array_get(arr, i), where, depth + 1))) return s;
        return PTUNE_OK;
    }
    if (strcmp(type, "NFC") == 0) st.kind = N_NFC;
    else if (strcmp(type, "NFD") == 0) st.kind = N_NFD;
    else if (strcmp(type, "NFKC") == 0) st.kind = N_NFKC;
    else if (strcmp(type, "NFKD") == 0) st.kind = N_NFKD;
    else if (strcmp(type, "Lowercase") == 0) st.kind = N_LOWERCASE;
    else if (strcmp(type, "StripAccents") == 0) st.kind = N_STRIP_ACCENTS;
    else if (strcmp(type, "Nmt") == 0) st.kind = N_NMT;
    else if (strcmp(type, "ByteLevel") == 0) st.kind = N_BYTELEVEL;
    else if (strcmp(type, "Strip") == 0) {
        st.kind = N_STRIP;
        if ((s = get_bool(j, "strip_left", where, type, &st.left))) return s;
        if ((s = get_bool(j, "strip_right", where, type, &st.right))) return s;
    } else if (strcmp(type, "Prepend") == 0) {
        const char *p;
        size_t len;
        st.kind = N_PREPEND;
        if ((s = get_string(j, "prepend", where, type, &p, &len))) return s;
        if ((s = dup_bytes(p, len, &st.str))) return s;
        st.str_len = len;
    } else if (strcmp(type, "Replace") == 0) {
        const char *c;
        size_t clen;
        st.kind = N_REPLACE;
        const json_t *pj = json_object_get(j, "pattern");
        const json_t *ps = json_object_get(pj, "String"), *pr = json_object_get(pj, "Regex");
        if (!json_is_object(pj) || json_object_size(pj) != 1 || !(json_is_string(ps) || json_is_string(pr)))
            return pt_fail(PTUNE_E_FORMAT,
                           "%s: normalizer Replace: \"pattern\" must be {\"String\": ...} or {\"Regex\": ...}", where);
        if ((s = get_string(j, "content", where, type, &c, &clen))) return s;
        if (ps) {
            s = pt_pattern_literal(json_string_value(ps), json_string_length(ps), &st.pat);
        } else {
            char *w = pt_strfmt("%s: normalizer Replace", where);
            if (!w) return PTUNE_E_NOMEM;
            s = pt_pattern_regex(json_string_value(pr), json_string_length(pr), w, &st.pat);
            free(w);
        }
        if (s) return s;
        if ((s = dup_bytes(c, clen, &st.str))) {
            pt_pattern_free(st.pat);
            return s;
        }
        st.str_len = clen;
    } else {
        return pt_fail(PTUNE_E_UNSUPPORTED, "%s: normalizer type \"%s\" is not supported", where, type);
    }
    if ((s = add_step(n, &st))) {
        free(st.str);
        pt_pattern_free(st.pat);
    }
    return s;
}

ptune_status pt_normalizer_parse(const json_t *j, const char *where, pt_normalizer **out)
{
    *out = NULL;
    if (!where) where = "tokenizer.json";
    if (!j || json_is_null(j)) return PTUNE_OK;
    pt_normalizer *n = pt_calloc(1, sizeof *n, "normalizer");
    if (!n) return PTUNE_E_NOMEM;
    ptune_status s = parse_into(n, j, where, 0);
    if (s) {
        pt_normalizer_free(n);
        return s;
    }
    *out = n;
    return PTUNE_OK;
}

/* ---- running ---------------------------------------------------------------------------- */

static ptune_status put_cp(pt_buf *out, uint32_t cp)
{
    char tmp[4];
    size_t n = pt_utf8_encode(cp, tmp);
    return pt_buf_append(out, tmp, n);
}

/* Per-run scratch shared by the steps. */
typedef struct nscratch {
    pt_spans sp;                 /* Replace */
    utf8proc_int32_t *cps;       /* Unicode forms: code points of the run being normalized */
    size_t cps_cap;
} nscratch;

/* Normalizes s[0..len) with utf8proc (decompose into the scratch, then reorder/compose and
 * re-encode in place, as utf8proc_map does, without its allocation) and appends the result. */
static ptune_status utf8proc_run(const char *s, size_t len, utf8proc_option_t opt, nscratch *x, pt_buf *out)
{
    const utf8proc_uint8_t *u = (const utf8proc_uint8_t *)s;
    for (;;) {
        utf8proc_ssize_t r = utf8proc_decompose(u, (utf8proc_ssize_t)len, x->cps, (utf8proc_ssize_t)x->cps_cap, opt);
        if (r < 0)
            return pt_fail(PTUNE_E_INVALID_ARG, "Unicode normalization of a %zu-byte text failed: %s", len,
                           utf8proc_errmsg(r));
        if (r == 0) return PTUNE_OK;
        if ((size_t)r <= x->cps_cap) {
            r = utf8proc_reencode(x->cps, r, opt);
            if (r < 0)
                return pt_fail(PTUNE_E_INVALID_ARG, "Unicode normalization of a %zu-byte text failed: %s", len,
                               utf8proc_errmsg(r));
            return pt_buf_append(out, x->cps, (size_t)r);
        }
        /* +1: utf8proc_reencode may write a terminating NUL after the UTF-8 it produces */
        size_t cap = (size_t)r + 1 > 2 * x->cps_cap ? (size_t)r + 1 : 2 * x->cps_cap;
        if (cap > SIZE_MAX / sizeof(utf8proc_int32_t))
            return pt_fail(PTUNE_E_NOMEM, "text too large to normalize (%zu bytes)", len);
        utf8proc_int32_t *n = pt_realloc(x->cps, cap * sizeof *n, "normalizer buffer");
        if (!n) return pt_fail(PTUNE_E_NOMEM, "out of memory normalizing %zu bytes", len);
        x->cps = n;
        x->cps_cap = cap - 1;
    }
}

/* NFC/NFD/NFKC/NFKD. Unicode data: utf8proc's (Unicode 15 in 2.8); HF's normalizer crate is
 * at about Unicode 11, so characters given a decomposition or a combining class since then
 * (e.g. U+32FF, U+A7F2-A7F4, U+AB69, U+10781-107BA, U+1F16C, U+1FBF0-1FBF9, U+11938) are
 * normalized here and left alone by HF.
 * Characters below `stable` are starters that no normalization form
 * changes and that never combine with what precedes them (canonical and compatibility
 * decompositions start at U+00A0, canonical ones at U+00C0, and no character below U+0300 is
 * ever the second of a composition or non-starter). So the text is copied as is up to the last
 * such character before anything else, and only the runs in between (with that starter, which
 * marks may compose with) go through utf8proc. */
static ptune_status run_unicode_form(nkind kind, const char *s, size_t len, nscratch *x, pt_buf *out)
{
    utf8proc_option_t opt = UTF8PROC_STABLE;
    uint32_t stable;
    switch (kind) {
    case N_NFC: opt |= UTF8PROC_COMPOSE; stable = 0x300; break;
    case N_NFKC: opt |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT; stable = 0xA0; break;
    case N_NFD: opt |= UTF8PROC_DECOMPOSE; stable = 0xC0; break;
    default: opt |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT; stable = 0xA0; break;
    }
    ptune_status st = pt_buf_reserve(out, len);
    if (st) return st;
    size_t i = 0;
    while (i < len) {
        /* a stretch of stable characters; `last` is where the last one of them starts */
        size_t j = i, last = i;
        uint32_t cp = 0;
        while (j < len) {
            size_t cl = (unsigned char)s[j] < 0x80 ? (cp = (unsigned char)s[j], 1) : pt_uc_next(s + j, len - j, &cp);
            if (cp >= stable) break;
            last = j;
            j += cl;
        }
        if (j == len) return pt_buf_append(out, s + i, len - i);
        size_t k = j > i ? last : j;
        if ((st = pt_buf_append(out, s + i, k - i))) return st;
        /* the run: that starter, then everything up to the next stable character */
        size_t e = j;
        while (e < len) {
            size_t cl = pt_uc_next(s + e, len - e, &cp);
            if (cp < stable || cp == 0x11A7) break;
            e += cl;
        }
        if (e > k && (st = utf8proc_run(s + k, e - k, opt, x, out))) return st;
        i = e;
        /* U+11A7 (the T jamo base, not a trailing consonant) never composes, but utf8proc
         * composes an LV syllable with it and drops it. It is a starter that nothing composes
         * with or reorders across, so it is copied by itself. */
        if (e < len && cp == 0x11A7) {
            if ((st = pt_buf_append(out, s + e, 3))) return st;
            i = e + 3;
        }
    }
    return PTUNE_OK;
}

/* Rust's char::to_lowercase, which HF uses: the simple mapping for every code point except
 * U+0130, whose full (unconditional SpecialCasing) lowercase is "i" + U+0307; no final-sigma
 * context. utf8proc's data (Unicode 15) lacks the case pairs Rust's (Unicode 16) added, e.g.
 * U+1C89, U+A7CB-A7DC, U+10D50-10D65, U+16EA0-16EB8, which stay unchanged here. */
static ptune_status run_lowercase(const char *s, size_t len, pt_buf *out)
{
    ptune_status st = pt_buf_reserve(out, len + 8);
    if (st) return st;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            size_t j = i;
            while (j < len && (unsigned char)s[j] < 0x80) j++;
            if ((st = pt_buf_reserve(out, j - i))) return st;
            for (size_t k = i; k < j; k++) {
                char ch = s[k];
                out->data[out->len++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
            }
            out->data[out->len] = 0;
            i = j;
            continue;
        }
        uint32_t cp;
        i += pt_uc_next(s + i, len - i, &cp);
        if (cp == 0x130) {
            if ((st = pt_buf_append(out, "i\xCC\x87", 3))) return st;
            continue;
        }
        if ((st = put_cp(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)cp)))) return st;
    }
    return PTUNE_OK;
}

static ptune_status run_strip(const nstep *stp, const char *s, size_t len, pt_buf *out)
{
    size_t a = 0, b = len;
    if (stp->left) {
        while (a < b) {
            uint32_t cp;
            size_t cl = pt_uc_next(s + a, b - a, &cp);
            if (!pt_uc_is_white_space(cp)) break;
            a += cl;
        }
    }
    if (stp->right) {
        while (b > a) {
            size_t k = b - 1;
            while (k > a && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
            uint32_t cp;
            pt_uc_next(s + k, b - k, &cp);
            if (!pt_uc_is_white_space(cp)) break;
            b = k;
        }
    }
    return pt_buf_append(out, s + a, b - a);
}

static ptune_status run_filter_map(nkind kind, const char *s, size_t len, pt_buf *out)
{
    ptune_status st;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        size_t cl = pt_uc_next(s + i, len - i, &cp);
        const char *src = s + i;
        i += cl;
        if (kind == N_STRIP_ACCENTS) {
            if (cp >= 0x300) {
                utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
                if (c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_MC || c == UTF8PROC_CATEGORY_ME) continue;
            }
        } else { /* Nmt */
            if ((cp >= 0x01 && cp <= 0x08) || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F || cp == 0x8F ||
                cp == 0x9F)
                continue;
            if (cp == 0x09 || cp == 0x0A || cp == 0x0C || cp == 0x0D || cp == 0x1680 ||
                (cp >= 0x200B && cp <= 0x200F) || cp == 0x2028 || cp == 0x2029 || cp == 0x2581 || cp == 0xFEFF ||
                cp == 0xFFFD) {
                if ((st = pt_buf_append_char(out, ' '))) return st;
                continue;
            }
        }
        if ((st = pt_buf_append(out, src, cl))) return st;
    }
    return PTUNE_OK;
}

static ptune_status run_replace(const nstep *stp, const char *s, size_t len, pt_spans *sp, pt_buf *out)
{
    ptune_status st = pt_pattern_find(stp->pat, s, len, sp);
    if (st) return st;
    for (size_t i = 0; i < sp->n; i++) {
        const pt_span *v = &sp->v[i];
        st = v->is_match ? pt_buf_append(out, stp->str, stp->str_len)
                         : pt_buf_append(out, s + v->start, v->end - v->start);
        if (st) return st;
    }
    return PTUNE_OK;
}

static ptune_status run_step(const nstep *stp, const char *s, size_t len, nscratch *x, pt_buf *out)
{
    switch (stp->kind) {
    case N_PREPEND: {
        if (len == 0) return PTUNE_OK;
        ptune_status st = pt_buf_append(out, stp->str, stp->str_len);
        return st ? st : pt_buf_append(out, s, len);
    }
    case N_REPLACE:
        return run_replace(stp, s, len, &x->sp, out);
    case N_NFC:
    case N_NFD:
    case N_NFKC:
    case N_NFKD:
        return run_unicode_form(stp->kind, s, len, x, out);
    case N_LOWERCASE:
        return run_lowercase(s, len, out);
    case N_STRIP:
        return run_strip(stp, s, len, out);
    case N_STRIP_ACCENTS:
    case N_NMT:
        return run_filter_map(stp->kind, s, len, out);
    case N_BYTELEVEL: {
        ptune_status st = pt_buf_reserve(out, 2 * len);
        if (st) return st;
        for (size_t i = 0; i < len; i++) {
            size_t cl;
            const char *c = pt_bytelevel_char((unsigned char)s[i], &cl);
            memcpy(out->data + out->len, c, cl);
            out->len += cl;
        }
        out->data[out->len] = 0;
        return PTUNE_OK;
    }
    }
    return pt_fail(PTUNE_E_STATE, "corrupt normalizer step");
}

ptune_status pt_normalizer_run(const pt_normalizer *n, const char *s, size_t len, pt_buf *out)
{
    pt_buf_clear(out);
    if (!n || n->n == 0) return pt_buf_append(out, s, len);
    pt_buf tmp = {0};
    nscratch x = {{0}, NULL, 0};
    ptune_status st = PTUNE_OK;
    const char *cur = s;
    size_t cur_len = len;
    for (size_t i = 0; i < n->n; i++) {
        /* alternate between `out` and `tmp` so that the last step writes into `out` */
        pt_buf *dst = ((n->n - 1 - i) % 2 == 0) ? out : &tmp;
        pt_buf_clear(dst);
        if ((st = run_step(&n->steps[i], cur, cur_len, &x, dst))) break;
        if (!dst->data && (st = pt_buf_reserve(dst, 0))) break; /* empty result: keep data non-NULL */
        cur = dst->data;
        cur_len = dst->len;
    }
    pt_buf_free(&tmp);
    pt_spans_free(&x.sp);
    free(x.cps);
    if (st) pt_buf_clear(out);
    return st;
}
