/* Growable byte buffer and int32 vector used by text processing (tokenizer pipeline, CLI
 * helpers). Appends are checked: a failure returns PTUNE_E_NOMEM with the error set. */
#ifndef PT_CORE_BUF_H
#define PT_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "ptune/ptune.h"

typedef struct pt_buf {
    char *data;      /* always NUL-terminated when non-NULL (data[len] == 0) */
    size_t len, cap;
} pt_buf;

ptune_status pt_buf_reserve(pt_buf *b, size_t extra);
ptune_status pt_buf_append(pt_buf *b, const void *data, size_t len);
ptune_status pt_buf_append_char(pt_buf *b, char c);
static inline void pt_buf_clear(pt_buf *b) { b->len = 0; if (b->data) b->data[0] = 0; }
void pt_buf_free(pt_buf *b);

typedef struct pt_ids {
    int32_t *data;
    size_t len, cap;
} pt_ids;

ptune_status pt_ids_push(pt_ids *v, int32_t id);
ptune_status pt_ids_append(pt_ids *v, const int32_t *ids, size_t n);
static inline void pt_ids_clear(pt_ids *v) { v->len = 0; }
void pt_ids_free(pt_ids *v);

#endif
