/* Owns atomic file replacement (temporary file via mkostemp in the target directory, write,
 * fsync, rename, directory fsync) for every writer of the library. */
#include "core/atomic_file.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ptune_status af_write_all(int fd, const void *data, size_t n, const char *path, const char *tmp)
{
    const unsigned char *p = data;
    while (n > 0) {
        size_t chunk = n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n;
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return pt_fail(PTUNE_E_IO, "%s: cannot write %s: %s", path, tmp, strerror(errno));
        }
        if (w == 0) return pt_fail(PTUNE_E_IO, "%s: cannot write %s: no progress", path, tmp);
        p += w;
        n -= (size_t)w;
    }
    return PTUNE_OK;
}

/* Best effort: makes the rename durable; a failure here does not undo a completed write. */
static void af_sync_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    if (!slash) dir = pt_strdup(".", "directory path");
    else if (slash == path) dir = pt_strdup("/", "directory path");
    else {
        dir = pt_malloc((size_t)(slash - path) + 1, "directory path");
        if (dir) {
            memcpy(dir, path, (size_t)(slash - path));
            dir[slash - path] = '\0';
        }
    }
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

ptune_status pt_atomic_preparev(const char *path, const pt_atomic_part *parts, size_t n, char **tmp_out)
{
    if (tmp_out) *tmp_out = NULL;
    if (!path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "atomic write: path is empty");
    if (!tmp_out || (n > 0 && !parts)) return pt_fail(PTUNE_E_INVALID_ARG, "%s: atomic write: bad arguments", path);
    for (size_t i = 0; i < n; i++)
        if (parts[i].len > 0 && !parts[i].data)
            return pt_fail(PTUNE_E_INVALID_ARG, "%s: atomic write: part %zu has no data", path, i);

    char *tmp = pt_strfmt("%s.tmp.XXXXXX", path);
    if (!tmp) return PTUNE_E_NOMEM;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ptune_status s = pt_fail(PTUNE_E_IO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(tmp);
        return s;
    }
    ptune_status s = PTUNE_OK;
    if (fchmod(fd, S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH) != 0)
        s = pt_fail(PTUNE_E_IO, "%s: cannot set mode of %s: %s", path, tmp, strerror(errno));
    for (size_t i = 0; !s && i < n; i++)
        if (parts[i].len > 0) s = af_write_all(fd, parts[i].data, parts[i].len, path, tmp);
    if (!s && fsync(fd) != 0) s = pt_fail(PTUNE_E_IO, "%s: cannot sync %s: %s", path, tmp, strerror(errno));
    if (close(fd) != 0 && !s) s = pt_fail(PTUNE_E_IO, "%s: cannot close %s: %s", path, tmp, strerror(errno));
    if (s) {
        unlink(tmp);
        free(tmp);
        return s;
    }
    *tmp_out = tmp;
    return PTUNE_OK;
}

ptune_status pt_atomic_prepare(const char *path, const void *data, size_t len, char **tmp)
{
    pt_atomic_part part = {data, len};
    return pt_atomic_preparev(path, &part, 1, tmp);
}

ptune_status pt_atomic_commit(char *tmp, const char *path)
{
    if (!tmp) return pt_fail(PTUNE_E_INVALID_ARG, "%s: atomic commit without a temporary file", path ? path : "(null)");
    if (!path || !path[0]) {
        pt_atomic_abort(tmp);
        return pt_fail(PTUNE_E_INVALID_ARG, "atomic commit: path is empty");
    }
    if (rename(tmp, path) != 0) {
        ptune_status s = pt_fail(PTUNE_E_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        pt_atomic_abort(tmp);
        return s;
    }
    free(tmp);
    af_sync_parent_dir(path);
    return PTUNE_OK;
}

void pt_atomic_abort(char *tmp)
{
    if (!tmp) return;
    unlink(tmp);
    free(tmp);
}

ptune_status pt_atomic_writev(const char *path, const pt_atomic_part *parts, size_t n)
{
    char *tmp = NULL;
    ptune_status s = pt_atomic_preparev(path, parts, n, &tmp);
    if (s) return s;
    return pt_atomic_commit(tmp, path);
}

ptune_status pt_atomic_write(const char *path, const void *data, size_t len)
{
    pt_atomic_part part = {data, len};
    return pt_atomic_writev(path, &part, 1);
}
