/* pt_params_fill: size-aware defaults for the public params structs (see ptune.h, Conventions). */
#include "core/params.h"

#include <string.h>

void pt_params_fill(void *dst, uint32_t size, const void *defaults, size_t full)
{
    if (!dst || size < sizeof(uint32_t)) return;
    const size_t n = size < full ? size : full;
    memcpy(dst, defaults, n);
    const uint32_t recorded = (uint32_t)n;
    memcpy(dst, &recorded, sizeof recorded); /* struct_size, the leading field */
}
