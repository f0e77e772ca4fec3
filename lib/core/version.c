/* Runtime version queries and process-wide BLAS settings. */
#include "ptune/ptune.h"

#include <cblas.h>

PTUNE_API const char *ptune_version_string(void) { return PTUNE_VERSION_STRING; }

PTUNE_API uint32_t ptune_version_number(void) { return PTUNE_VERSION_NUMBER; }

void openblas_set_num_threads(int num_threads);
int openblas_get_num_procs(void);

PTUNE_API void ptune_set_blas_threads(int32_t n)
{
    openblas_set_num_threads(n > 0 ? n : openblas_get_num_procs());
}
