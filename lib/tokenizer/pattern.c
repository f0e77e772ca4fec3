/* Literal and Oniguruma patterns with HF `tokenizers` find_matches/split semantics, and the
 * Unicode predicates the normalizers and pre-tokenizers share. */
#include "tokenizer/pattern.h"

#include <oniguruma.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/utf8.h"

struct pt_pattern {
    OnigRegex re;   /* NULL for a literal */
    char *lit;      /* the literal (owned), when re == NULL */
    size_t lit_len;
};

static pthread_once_t onig_once = PTHREAD_ONCE_INIT;
static int onig_init_rc;

static void onig_init_once(void)
{
    OnigEncoding enc[1] = {ONIG_ENCODING_UTF8};
    onig_init_rc = onig_initialize(enc, 1);
}

ptune_status pt_pattern_regex(const char *re, size_t len, const char *where, pt_pattern **out)
{
    *out = NULL;
    pthread_once(&onig_once, onig_init_once);
    if (onig_init_rc != ONIG_NORMAL) return pt_fail(PTUNE_E_UNSUPPORTED, "%s: Oniguruma failed to initialize", where);
    pt_pattern *p = pt_calloc(1, sizeof *p, "regex pattern");
    if (!p) return PTUNE_E_NOMEM;
    OnigErrorInfo einfo;
    memset(&einfo, 0, sizeof einfo);
    const OnigUChar *pat = (const OnigUChar *)re;
    /* ONIG_SYNTAX_ONIGURUMA is Oniguruma 6.9's default syntax, which the `onig` crate's
     * Regex::new (used by HF tokenizers) compiles with. */
    int r = onig_new(&p->re, pat, pat + len, ONIG_OPTION_NONE, ONIG_ENCODING_UTF8, ONIG_SYNTAX_ONIGURUMA, &einfo);
    if (r != ONIG_NORMAL) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r, &einfo);
        free(p);
        return pt_fail(PTUNE_E_FORMAT, "%s: invalid regex \"%.*s\": %s", where, (int)(len > 200 ? 200 : len), re,
                       (const char *)msg);
    }
    *out = p;
    return PTUNE_OK;
}

ptune_status pt_pattern_literal(const char *s, size_t len, pt_pattern **out)
{
    *out = NULL;
    pt_pattern *p = pt_calloc(1, sizeof *p, "literal pattern");
    if (!p) return PTUNE_E_NOMEM;
    p->lit = pt_malloc(len + 1, "literal pattern text");
    if (!p->lit) {
        free(p);
        return PTUNE_E_NOMEM;
    }
    if (len) memcpy(p->lit, s, len);
    p->lit[len] = 0;
    p->lit_len = len;
    *out = p;
    return PTUNE_OK;
}

void pt_pattern_free(pt_pattern *p)
{
    if (!p) return;
    if (p->re) onig_free(p->re);
    free(p->lit);
    free(p);
}

void pt_spans_free(pt_spans *sp)
{
    free(sp->v);
    if (sp->region) onig_region_free((OnigRegion *)sp->region, 1);
    sp->v = NULL;
    sp->region = NULL;
    sp->n = sp->cap = 0;
}

static ptune_status spans_push(pt_spans *sp, size_t start, size_t end, bool is_match)
{
    if (sp->n == sp->cap) {
        size_t cap = sp->cap ? sp->cap * 2 : 64;
        if (cap > SIZE_MAX / sizeof(pt_span)) return pt_fail(PTUNE_E_NOMEM, "too many pattern matches");
        pt_span *nv = pt_realloc(sp->v, cap * sizeof(pt_span), "pattern buffer");
        if (!nv) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the match list to %zu entries", cap);
        sp->v = nv;
        sp->cap = cap;
    }
    sp->v[sp->n].start = start;
    sp->v[sp->n].end = end;
    sp->v[sp->n].is_match = is_match;
    sp->n++;
    return PTUNE_OK;
}

/* One search from `from`: sets [*ms, *me) and returns 1, 0 for no match, or a status < 0. */
static int search_once(const pt_pattern *p, const char *s, size_t len, size_t from, OnigRegion *region, size_t *ms,
                       size_t *me, ptune_status *err)
{
    if (!p->re) {
        if (p->lit_len == 0) {
            *ms = *me = from;
            return 1;
        }
        if (len - from < p->lit_len) return 0;
        const char *hit = memmem(s + from, len - from, p->lit, p->lit_len);
        if (!hit) return 0;
        *ms = (size_t)(hit - s);
        *me = *ms + p->lit_len;
        return 1;
    }
    const OnigUChar *str = (const OnigUChar *)s;
    int r = onig_search(p->re, str, str + len, str + from, str + len, region, ONIG_OPTION_NONE);
    if (r == ONIG_MISMATCH) return 0;
    if (r < 0) {
        OnigUChar msg[ONIG_MAX_ERROR_MESSAGE_LEN];
        onig_error_code_to_str(msg, r);
        *err = pt_fail(PTUNE_E_FORMAT, "regex search failed on a %zu-byte text: %s", len, (const char *)msg);
        return -1;
    }
    *ms = (size_t)region->beg[0];
    *me = (size_t)region->end[0];
    return 1;
}

ptune_status pt_pattern_find(const pt_pattern *p, const char *s, size_t len, pt_spans *sp)
{
    sp->n = 0;
    if (len == 0) return spans_push(sp, 0, 0, false);
    OnigRegion *region = NULL;
    if (p->re) {
        if (!sp->region) {
            sp->region = onig_region_new();
            if (!sp->region) return pt_fail(PTUNE_E_NOMEM, "out of memory allocating a regex match region");
        }
        region = (OnigRegion *)sp->region;
    }
    size_t last_end = 0, prev = 0;
    bool skip_next_empty = false;
    ptune_status st = PTUNE_OK;
    while (last_end <= len) {
        size_t ms, me;
        int r = search_once(p, s, len, last_end, region, &ms, &me, &st);
        if (r < 0) return st;
        if (r == 0) break;
        last_end = me;
        if (me == ms) {
            size_t cl = last_end < len ? pt_utf8_seq_len((unsigned char)s[last_end]) : 1;
            last_end += cl ? cl : 1;
            if (skip_next_empty) {
                skip_next_empty = false;
                continue;
            }
        } else {
            skip_next_empty = true;
        }
        if (prev != ms && (st = spans_push(sp, prev, ms, false))) return st;
        if ((st = spans_push(sp, ms, me, true))) return st;
        prev = me;
    }
    if (prev != len && (st = spans_push(sp, prev, len, false))) return st;
    return PTUNE_OK;
}

ptune_status pt_pattern_find_chars(bool (*pred)(uint32_t cp), const char *s, size_t len, pt_spans *sp)
{
    sp->n = 0;
    if (len == 0) return spans_push(sp, 0, 0, false);
    size_t last = 0, i = 0;
    ptune_status st;
    while (i < len) {
        uint32_t cp;
        size_t cl = pt_uc_next(s + i, len - i, &cp);
        if (pred(cp)) {
            if (last < i && (st = spans_push(sp, last, i, false))) return st;
            if ((st = spans_push(sp, i, i + cl, true))) return st;
            last = i + cl;
        }
        i += cl;
    }
    if (last < len && (st = spans_push(sp, last, len, false))) return st;
    return PTUNE_OK;
}

bool pt_split_behavior_parse(const char *name, pt_split_behavior *out)
{
    static const struct {
        const char *name;
        pt_split_behavior b;
    } names[] = {
        {"Removed", PT_SPLIT_REMOVED},
        {"Isolated", PT_SPLIT_ISOLATED},
        {"MergedWithPrevious", PT_SPLIT_MERGED_WITH_PREVIOUS},
        {"MergedWithNext", PT_SPLIT_MERGED_WITH_NEXT},
        {"Contiguous", PT_SPLIT_CONTIGUOUS},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].b;
            return true;
        }
    }
    return false;
}

void pt_split_apply(pt_spans *sp, pt_split_behavior behavior, bool invert)
{
    pt_span *v = sp->v;
    size_t n = sp->n, k = 0;
    if (invert)
        for (size_t i = 0; i < n; i++) v[i].is_match = !v[i].is_match;
    switch (behavior) {
    case PT_SPLIT_ISOLATED:
        return;
    case PT_SPLIT_REMOVED:
        for (size_t i = 0; i < n; i++)
            if (!v[i].is_match) v[k++] = v[i];
        break;
    case PT_SPLIT_CONTIGUOUS:
        /* runs of spans with the same flag become one piece */
        for (size_t i = 0; i < n; i++) {
            if (k > 0 && v[k - 1].is_match == v[i].is_match) {
                v[k - 1].end = v[i].end;
            } else {
                v[k++] = v[i];
            }
        }
        break;
    case PT_SPLIT_MERGED_WITH_PREVIOUS:
        /* a match joins the piece before it when that piece is not a match */
        for (size_t i = 0; i < n; i++) {
            if (k > 0 && v[i].is_match && !v[i - 1].is_match) {
                v[k - 1].end = v[i].end;
            } else {
                v[k++] = v[i];
            }
        }
        break;
    case PT_SPLIT_MERGED_WITH_NEXT:
        /* a match joins the piece after it when that piece is not a match */
        for (size_t i = 0; i < n; i++) {
            if (v[i].is_match && i + 1 < n && !v[i + 1].is_match) {
                pt_span m = {v[i].start, v[i + 1].end, false};
                v[k++] = m;
                i++;
            } else {
                v[k++] = v[i];
            }
        }
        break;
    }
    sp->n = k;
}

bool pt_uc_is_white_space(uint32_t cp)
{
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
    switch (cp) {
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
        return true;
    default:
        return cp >= 0x2000 && cp <= 0x200A;
    }
}

bool pt_uc_is_numeric(uint32_t cp)
{
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c == UTF8PROC_CATEGORY_ND || c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_NO;
}

bool pt_uc_is_punctuation(uint32_t cp)
{
    if (cp < 0x80)
        return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
               (cp >= 0x7B && cp <= 0x7E);
    utf8proc_category_t c = utf8proc_category((utf8proc_int32_t)cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}
