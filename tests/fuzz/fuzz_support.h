/* What every fuzz target shares. The loaders take paths, so an input is first written to a file
 * in a per-process temporary directory (removed at exit); fixtures the targets need (a model, a
 * tokenizer) come from ../shared (PTUNE_SHARED). Each target lists its seed inputs with
 * FZ_SEEDS: paths relative to ../shared, or to the source tree with a "repo:" prefix, with glob
 * patterns; the replay runner and scripts/fuzz.sh read them from there. */
#ifndef PT_FUZZ_SUPPORT_H
#define PT_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_SEEDS(...) const char *const fz_seeds[] = {__VA_ARGS__, NULL}
extern const char *const fz_seeds[];

/* Writes data to <tmpdir>/<name> (replacing it) and returns that path (static storage). Aborts
 * the process on an I/O failure of the harness itself (never on the input). */
const char *fz_write(const char *name, const uint8_t *data, size_t size);

/* The per-process temporary directory. */
const char *fz_dir(void);

/* The whole file at `path` (malloc'd, *n its size), or NULL when it cannot be read. */
uint8_t *fz_read(const char *path, size_t *n);

/* ../shared/<rel> (static storage, one at a time), or NULL when ../shared is absent. */
const char *fz_shared(const char *rel);

#endif
