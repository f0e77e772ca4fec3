/* Helpers shared by the test programs: locating ../shared (skip or fail), reading fixture
 * tensors as doubles, building temporary files and directories. */
#ifndef PT_TEST_SUPPORT_H
#define PT_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "formats/safetensors.h"
#include "ptune/ptune.h"

#define PT_TEST_SKIP 77

/* Returns the shared/ directory (PTUNE_SHARED or <source root>/../shared). When it is
 * missing: exits 77 (skip), or exits 1 when the CI environment variable is set. */
const char *pt_test_shared(void);
/* Returns a malloc'd "<shared>/<rel>" (never NULL; aborts the test on OOM). */
char *pt_test_shared_path(const char *rel);

/* Reads tensor `name` of an open safetensors file as doubles (F32/F64/I64/I32 accepted);
 * returns a malloc'd array and the element count. Fails the test if absent. */
double *pt_test_tensor_f64(const pt_safetensors *st, const char *name, size_t *n);
/* Same, converted to int32 (for ids and labels). */
int32_t *pt_test_tensor_i32(const pt_safetensors *st, const char *name, size_t *n);

/* Returns a malloc'd "<source root>/<rel>": files that ship with the repository (models/demo). */
char *pt_test_repo_path(const char *rel);

/* Loads shared/<rel> (GGUF file or HF directory) with default params; fails the test with the
 * library's message otherwise. */
ptune_model *pt_test_load_model(const char *rel);
/* The same with a chosen weight storage (ptune_model_params.storage). */
ptune_model *pt_test_load_model_storage(const char *rel, ptune_storage storage);
/* The same for <source root>/<rel> (models/demo/...). */
ptune_model *pt_test_load_repo_model(const char *rel);

/* A context on m with 2 threads and the given ptune_logits_mode; fails the test otherwise. */
ptune_ctx *pt_test_new_ctx(const ptune_model *m, int32_t logits);

/* Creates a fresh temporary directory (malloc'd path); removed by pt_test_rmtree(). */
char *pt_test_tmpdir(void);
void pt_test_rmtree(const char *path);
/* Writes `n` bytes to `path`; fails the test on error. */
void pt_test_write_file(const char *path, const void *data, size_t n);
/* Reads a whole file; fails the test on error. */
unsigned char *pt_test_read_file(const char *path, size_t *n);

/* Largest |a[i] - b[i]| over n elements. */
double pt_test_max_abs_diff_fd(const float *a, const double *b, size_t n);

#endif
