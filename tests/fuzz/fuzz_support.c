/* The fuzz targets' shared helpers: a per-process temporary directory for inputs, and the
 * location of ../shared. */
#include "fuzz_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef PT_SOURCE_ROOT
#error "PT_SOURCE_ROOT must be defined by the build"
#endif

static char g_dir[4096];

static void remove_dir(void)
{
    DIR *d = opendir(g_dir);
    if (d) {
        struct dirent *e;
        char p[8192];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
                unlink(p);
            }
        closedir(d);
    }
    rmdir(g_dir);
}

const char *fz_dir(void)
{
    if (g_dir[0]) return g_dir;
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/ptune-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(g_dir)) {
        perror("fuzz harness: mkdtemp");
        abort();
    }
    atexit(remove_dir);
    return g_dir;
}

const char *fz_write(const char *name, const uint8_t *data, size_t size)
{
    static char path[8192];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror("fuzz harness: writing the input");
        abort();
    }
    return path;
}

const char *fz_shared(const char *rel)
{
    static char path[8192];
    const char *env = getenv("PTUNE_SHARED");
    char root[4096];
    if (env && env[0]) snprintf(root, sizeof root, "%s", env);
    else snprintf(root, sizeof root, "%s/../shared", PT_SOURCE_ROOT);
    snprintf(path, sizeof path, "%s/%s", root, rel);
    struct stat st;
    return stat(path, &st) == 0 ? path : NULL;
}

uint8_t *fz_read(const char *path, size_t *n)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) return NULL;
    uint8_t *buf = NULL;
    long len = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    if (len >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(len > 0 ? (size_t)len : 1)) &&
        fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *n = (size_t)len;
    return buf;
}
