/* pt_pieces: a list of text pieces stored back to back in one buffer (what pre-tokenizers
 * produce and the BPE model consumes). Owns only the piece list operations. */
#include "core/alloc.h"
#include "tokenizer/pieces.h"

#include <stdlib.h>

#include "core/error.h"

void pt_pieces_clear(pt_pieces *p)
{
    pt_buf_clear(&p->text);
    p->n = 0;
    if (p->start) p->start[0] = 0;
}

void pt_pieces_free(pt_pieces *p)
{
    pt_buf_free(&p->text);
    free(p->start);
    p->start = NULL;
    p->n = p->cap = 0;
}

ptune_status pt_pieces_push(pt_pieces *p, const char *s, size_t len)
{
    if (len == 0) return PTUNE_OK;
    if (p->n + 2 > p->cap) {
        size_t cap = p->cap ? p->cap : 16;
        while (cap < p->n + 2) {
            if (cap > SIZE_MAX / 2 / sizeof(size_t)) return pt_fail(PTUNE_E_NOMEM, "too many text pieces");
            cap *= 2;
        }
        size_t *ns = pt_realloc(p->start, cap * sizeof(size_t), "pieces buffer");
        if (!ns) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the piece list to %zu entries", cap);
        p->start = ns;
        p->cap = cap;
    }
    if (p->n == 0) p->start[0] = p->text.len;
    ptune_status st = pt_buf_append(&p->text, s, len);
    if (st) return st;
    p->start[p->n + 1] = p->text.len;
    p->n++;
    return PTUNE_OK;
}
