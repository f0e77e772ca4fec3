/* A minimal JSON scanner over a memory-mapped file. It exists for one reason: jansson builds a
 * DOM, and for Llama-3's 9 MB tokenizer.json (128k vocab entries, 280k merges) that alone takes
 * ~300 ms, so the two huge values are walked with this scanner while every other part of the
 * file still goes through jansson (json_loadb on the value's span). Strings are fully decoded
 * (escapes, surrogate pairs, UTF-8 validation); structure elsewhere is checked loosely and each
 * span is validated when it is parsed. */
#ifndef PT_FORMATS_JSON_SCAN_H
#define PT_FORMATS_JSON_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include "core/buf.h"

typedef struct pt_js {
    const char *base, *p, *end;   /* the text, the cursor, its end */
    const char *path;             /* for messages */
} pt_js;

/* The bytes of one JSON value inside the text. */
typedef struct pt_js_span {
    const char *s;
    size_t n;
    bool present;
} pt_js_span;

static inline void pt_js_ws(pt_js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

/* PTUNE_E_FORMAT "<path>: <what> at byte N". */
ptune_status pt_js_err(const pt_js *j, const char *what);
/* Decodes the string at the cursor into `out` (cleared first) and advances past it. */
ptune_status pt_js_string(pt_js *j, pt_buf *out);
/* Skips one value; `count` (nullable) receives an estimate of an array's/object's elements. */
ptune_status pt_js_skip_count(pt_js *j, size_t *count);
ptune_status pt_js_skip(pt_js *j);
/* Skips whitespace and expects character c. */
ptune_status pt_js_expect(pt_js *j, char c, const char *what);
typedef ptune_status (*pt_member_fn)(pt_js *j, const pt_buf *key, void *ctx);
/* Iterates the members of the object at the cursor: fn(key) must consume the value. */
ptune_status pt_js_object(pt_js *j, pt_buf *key, pt_member_fn fn, void *ctx);
bool pt_js_key_is(const pt_buf *k, const char *s);
/* Records the span of the value at the cursor and skips it. */
ptune_status pt_js_record_span(pt_js *j, pt_js_span *sp);

#endif
