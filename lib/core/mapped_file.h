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

#endif
