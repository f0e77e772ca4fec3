/* Atomic file replacement: a temporary file in the target's directory (mkstemp), written,
 * fsync'ed and renamed over the target, so readers see the old file or the new one, never a part. */
#ifndef PT_CORE_ATOMIC_FILE_H
#define PT_CORE_ATOMIC_FILE_H

#include <stddef.h>
#include "ptune/ptune.h"

/* One piece of the file's content (pieces are written back to back). */
typedef struct pt_atomic_part {
    const void *data;
    size_t len;
} pt_atomic_part;

/* Replaces `path` with `len` bytes of `data` (mode 0644): temporary "<path>.tmp.XXXXXX", write,
 * fsync, close, rename, then a best-effort fsync of the directory. On failure the temporary is
 * removed, `path` is untouched, and the error is PTUNE_E_IO naming the path and strerror (or
 * PTUNE_E_INVALID_ARG / PTUNE_E_NOMEM). */
ptune_status pt_atomic_write(const char *path, const void *data, size_t len);
/* Same with the content given as `n` consecutive parts (no copy into one buffer). */
ptune_status pt_atomic_writev(const char *path, const pt_atomic_part *parts, size_t n);

/* Two-phase form, for replacing several files together: prepare writes and syncs the temporary
 * next to `path` and returns its malloc'd name in *tmp (nothing is left behind on failure);
 * commit renames it over `path` and syncs the directory; abort removes it. Both commit and abort
 * consume `tmp` (it is freed, and on a failed commit the temporary is removed). */
ptune_status pt_atomic_prepare(const char *path, const void *data, size_t len, char **tmp);
ptune_status pt_atomic_preparev(const char *path, const pt_atomic_part *parts, size_t n, char **tmp);
ptune_status pt_atomic_commit(char *tmp, const char *path);
void pt_atomic_abort(char *tmp);

#endif
