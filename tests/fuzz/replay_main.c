/* The replay runner: links with one fuzz target instead of libFuzzer and runs
 * LLVMFuzzerTestOneInput once per input, so that the seeds and the committed corpus are
 * replayed by the normal test suite (under ASan+UBSan in CI).
 *
 *   replay_X --list-seeds          print the target's seed files (from FZ_SEEDS), one per line
 *   replay_X [--seeds] [--corpus DIR] [PATH ...]
 *                                  run the seeds, a corpus directory (absent = empty) and/or
 *                                  files / directories of inputs
 *
 * Exit 77 when --seeds needs ../shared and it is absent (1 when CI is set). */
#include "fuzz_support.h"

#include <dirent.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static long g_runs;

static int run_file(const char *path)
{
    size_t n = 0;
    uint8_t *buf = fz_read(path, &n);
    if (!buf) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return 1;
    }
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    g_runs++;
    return 0;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s does not exist\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode)) return run_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort), bad = 0;
    for (int i = 0; i < n; i++) {
        char p[8192];
        snprintf(p, sizeof p, "%s/%s", path, names[i]->d_name);
        if (names[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode)) bad |= run_file(p);
        free(names[i]);
    }
    free(names);
    return bad;
}

/* Expands every FZ_SEEDS pattern; calls fn on each match. Returns -1 when ../shared is needed
 * and absent. */
static int for_each_seed(int (*fn)(const char *))
{
    int bad = 0;
    for (const char *const *s = fz_seeds; *s; s++) {
        char pattern[8192];
        if (!strncmp(*s, "repo:", 5)) snprintf(pattern, sizeof pattern, "%s/%s", PT_SOURCE_ROOT, *s + 5);
        else {
            const char *root = fz_shared(".");
            if (!root) return -1;
            snprintf(pattern, sizeof pattern, "%s/%s", root, *s);
        }
        glob_t g;
        if (glob(pattern, 0, NULL, &g) == 0)
            for (size_t i = 0; i < g.gl_pathc; i++) bad |= fn(g.gl_pathv[i]);
        globfree(&g);
    }
    return bad;
}

static int print_path(const char *p)
{
    char *abs = realpath(p, NULL);
    printf("%s\n", abs ? abs : p);
    free(abs);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        const bool list = !strcmp(argv[i], "--list-seeds");
        if (list || !strcmp(argv[i], "--seeds")) {
            int r = for_each_seed(list ? print_path : run_file);
            if (r < 0) {
                const char *ci = getenv("CI");
                fprintf(stderr, "replay: ../shared not found (PTUNE_SHARED)%s\n", ci && ci[0] ? "; CI is set: failing" : ": skipping");
                return ci && ci[0] ? 1 : 77;
            }
            bad |= r;
            if (list) return bad;
        } else if (!strcmp(argv[i], "--corpus") && i + 1 < argc) {
            struct stat st;
            if (stat(argv[++i], &st) == 0) bad |= run_path(argv[i]); /* git keeps no empty directory */
        } else {
            bad |= run_path(argv[i]);
        }
    }
    printf("replayed %ld inputs\n", g_runs);
    return bad;
}
