/* Added tokens (tokenizer.json "added_tokens"): matched leftmost-longest in the raw text
 * (normalized=false) or in each normalized segment (normalized=true), honouring lstrip,
 * rstrip and single_word; special ones are dropped by skip_special decoding. */
#ifndef PT_TOKENIZER_ADDED_TOKENS_H
#define PT_TOKENIZER_ADDED_TOKENS_H

#include <stdbool.h>
#include "core/buf.h"

typedef struct pt_added_token {
    char *content;    /* owned */
    size_t len;
    int32_t id;
    bool special, lstrip, rstrip, normalized, single_word;
} pt_added_token;

typedef struct pt_added_tokens pt_added_tokens;

ptune_status pt_added_tokens_new(pt_added_tokens **out);
void pt_added_tokens_free(pt_added_tokens *a);
ptune_status pt_added_tokens_add(pt_added_tokens *a, const pt_added_token *t); /* copies content */
ptune_status pt_added_tokens_finish(pt_added_tokens *a);                   /* builds the matcher */
/* Same, but tokens with normalized=true are matched by their content passed through `norm`
 * (HF refresh_added_tokens); norm == NULL is pt_added_tokens_finish. */
struct pt_normalizer;
ptune_status pt_added_tokens_finish_normalized(pt_added_tokens *a, const struct pt_normalizer *norm);

size_t pt_added_tokens_count(const pt_added_tokens *a);
const pt_added_token *pt_added_tokens_by_id(const pt_added_tokens *a, int32_t id);

/* One split of a text: either plain text s[start..end) or an added token. */
typedef struct pt_split {
    size_t start, end;     /* byte range in the input (for a token: the matched content,
                              lstrip/rstrip whitespace included) */
    int32_t id;            /* added token id, or -1 for plain text */
} pt_split;

/* Splits text on the added tokens whose `normalized` flag equals `normalized`. Appends to
 * `*splits` (growable array with count *n and capacity *cap). Thread-safe. */
ptune_status pt_added_tokens_split(const pt_added_tokens *a, bool normalized, const char *text, size_t len,
                                   pt_split **splits, size_t *n, size_t *cap);

#endif
