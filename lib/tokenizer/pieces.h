/* A list of text pieces stored back to back in one buffer: what pre-tokenizers produce and
 * consume (HF's PreTokenizedString without offsets). */
#ifndef PT_TOKENIZER_PIECES_H
#define PT_TOKENIZER_PIECES_H

#include "core/buf.h"

typedef struct pt_pieces {
    pt_buf text;        /* all pieces concatenated */
    size_t *start;      /* piece i is text.data[start[i] .. start[i + 1]) */
    size_t n, cap;      /* number of pieces; start has n + 1 valid entries when n > 0 */
} pt_pieces;

void pt_pieces_clear(pt_pieces *p);
void pt_pieces_free(pt_pieces *p);
/* Appends one piece (empty pieces are dropped, as HF drops them). */
ptune_status pt_pieces_push(pt_pieces *p, const char *s, size_t len);
static inline const char *pt_piece(const pt_pieces *p, size_t i, size_t *len)
{
    *len = p->start[i + 1] - p->start[i];
    return p->text.data + p->start[i];
}

#endif
