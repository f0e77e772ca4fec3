/* Read-only memory mapping of a whole file, with the path kept for error messages. */
#ifndef PT_CORE_MAPPED_FILE_H
#define PT_CORE_MAPPED_FILE_H

#include <stddef.h>
#include "ptune/ptune.h"

typedef struct pt_mapped_file {
    char *path;               /* owned copy, for messages */
    const unsigned char *data;/* NULL for an empty file */
    size_t size;
} pt_mapped_file;

/* Maps `path` read-only. Errors: PTUNE_E_IO (missing, unreadable, a directory). */
ptune_status pt_mapped_file_open(const char *path, pt_mapped_file *out);
void pt_mapped_file_close(pt_mapped_file *f);

/* Drops the whole pages inside [p, p + n) of a read-only mapping from this process's resident
 * set (the file's page cache keeps them; reading them again faults them back in). Loaders call
 * it on bytes they have converted, so a load never holds the file and its copy at once. */
void pt_mapped_release(const void *p, size_t n);

#endif
