/* Read-only whole-file memory mapping with precise I/O errors (missing file, directory,
 * permission) that name the path. */
#include "core/mapped_file.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

ptune_status pt_mapped_file_open(const char *path, pt_mapped_file *out)
{
    memset(out, 0, sizeof *out);
    if (!path) return pt_fail(PTUNE_E_INVALID_ARG, "file path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pt_fail(PTUNE_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return pt_fail(PTUNE_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return pt_fail(PTUNE_E_IO, "%s: is a directory, expected a file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return pt_fail(PTUNE_E_IO, "%s: not a regular file", path);
    }
    char *copy = pt_strdup(path, "file path");
    if (!copy) {
        close(fd);
        return PTUNE_E_NOMEM;
    }
    void *data = NULL;
    if (st.st_size > 0) {
        data = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (data == MAP_FAILED) {
            int e = errno;
            close(fd);
            free(copy);
            return pt_fail(e == ENOMEM ? PTUNE_E_NOMEM : PTUNE_E_IO, "%s: cannot map %lld bytes: %s",
                           path, (long long)st.st_size, strerror(e));
        }
    }
    close(fd);
    out->path = copy;
    out->data = data;
    out->size = (size_t)st.st_size;
    return PTUNE_OK;
}

void pt_mapped_file_close(pt_mapped_file *f)
{
    if (!f) return;
    if (f->data) munmap((void *)f->data, f->size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

void pt_mapped_release(const void *p, size_t n)
{
    const long ps = sysconf(_SC_PAGESIZE); /* no cached copy: loads run on many threads at once */
    const size_t page = ps > 0 ? (size_t)ps : 4096;
    uintptr_t b = ((uintptr_t)p + page - 1) / page * page, e = ((uintptr_t)p + n) / page * page;
    if (e > b) (void)madvise((void *)b, e - b, MADV_DONTNEED); /* advisory: failure changes nothing */
}
