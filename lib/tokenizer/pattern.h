/* Text patterns shared by normalizers and pre-tokenizers: literal and Oniguruma regex matchers
 * with HF `tokenizers` find_matches semantics, split-delimiter behaviours, Unicode predicates. */
#ifndef PT_TOKENIZER_PATTERN_H
#define PT_TOKENIZER_PATTERN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ptune/ptune.h"

/* A compiled pattern: a literal string or an Oniguruma regex (UTF-8, ONIG_SYNTAX_ONIGURUMA,
 * the syntax the `onig` crate's Regex::new uses). Read-only once built: shareable between
 * threads, every search uses caller-owned scratch (pt_spans). */
typedef struct pt_pattern pt_pattern;

/* Compiles `re` (len bytes). Character classes come from the linked Oniguruma: 6.9.8 knows
 * Unicode 14, while HF 0.23.2 bundles Unicode 16 data, so \p{L}/\p{N} differ for letters and
 * digits assigned since (Kawi, Garay, CJK Extension H/I, ...). A bad regex is PTUNE_E_FORMAT: "<where>: invalid regex \"..\": <Oniguruma's message>". */
ptune_status pt_pattern_regex(const char *re, size_t len, const char *where, pt_pattern **out);
/* A literal (HF's {"String": ...} patterns, which HF compiles as an escaped regex). The empty
 * literal matches the empty string at every character boundary, exactly as that regex does. */
ptune_status pt_pattern_literal(const char *s, size_t len, pt_pattern **out);
void pt_pattern_free(pt_pattern *p);

/* One span of a segment: [start, end) and whether the pattern matched it. */
typedef struct pt_span {
    size_t start, end;
    bool is_match;
} pt_span;

/* Reusable span list plus the Oniguruma match region (created on first regex search). */
typedef struct pt_spans {
    pt_span *v;
    size_t n, cap;
    void *region;
} pt_spans;
void pt_spans_free(pt_spans *sp);

/* HF Pattern::find_matches: fills `sp` (cleared first) with contiguous spans covering s[0..len),
 * matches flagged. Regex iteration follows the `onig` crate's find_iter exactly (an empty match
 * advances one character; an empty match right after a non-empty one is skipped). Empty input
 * gives the single span (0, 0, false). PTUNE_E_FORMAT if Oniguruma fails mid-search
 * (e.g. its retry limit). */
ptune_status pt_pattern_find(const pt_pattern *p, const char *s, size_t len, pt_spans *sp);

/* The same for a per-character predicate: every character for which pred() holds is its own
 * one-character match (HF's `impl Pattern for Fn(char) -> bool`). s must be valid UTF-8. */
ptune_status pt_pattern_find_chars(bool (*pred)(uint32_t cp), const char *s, size_t len, pt_spans *sp);

/* HF SplitDelimiterBehavior. */
typedef enum pt_split_behavior {
    PT_SPLIT_REMOVED,
    PT_SPLIT_ISOLATED,
    PT_SPLIT_MERGED_WITH_PREVIOUS,
    PT_SPLIT_MERGED_WITH_NEXT,
    PT_SPLIT_CONTIGUOUS
} pt_split_behavior;

/* Parses "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous";
 * false when the name is none of them. */
bool pt_split_behavior_parse(const char *name, pt_split_behavior *out);

/* NormalizedString::split: rewrites `sp` in place from find_matches spans into the resulting
 * pieces (is_match meaningless afterwards). `invert` flips the flags first (HF's Invert).
 * Pieces may be empty; callers drop them, as HF does. */
void pt_split_apply(pt_spans *sp, pt_split_behavior behavior, bool invert);

/* Unicode predicates (utf8proc data). */
bool pt_uc_is_white_space(uint32_t cp);   /* White_Space: Rust char::is_whitespace, Oniguruma \s */
bool pt_uc_is_numeric(uint32_t cp);       /* Nd | Nl | No: Rust char::is_numeric */
bool pt_uc_is_punctuation(uint32_t cp);   /* ASCII punctuation or P*: HF Punctuation / Bert */

/* Decodes the code point at s[0..n) of valid UTF-8 (n > 0), returning its byte length. */
static inline size_t pt_uc_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) { *cp = u[0]; return 1; }
    if (u[0] < 0xE0 && n >= 2) { *cp = ((uint32_t)(u[0] & 0x1F) << 6) | (u[1] & 0x3F); return 2; }
    if (u[0] < 0xF0 && n >= 3) {
        *cp = ((uint32_t)(u[0] & 0x0F) << 12) | ((uint32_t)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
        return 3;
    }
    if (n >= 4) {
        *cp = ((uint32_t)(u[0] & 0x07) << 18) | ((uint32_t)(u[1] & 0x3F) << 12) | ((uint32_t)(u[2] & 0x3F) << 6) |
              (u[3] & 0x3F);
        return 4;
    }
    *cp = u[0]; /* truncated sequence: callers only pass valid UTF-8 */
    return 1;
}

#endif
