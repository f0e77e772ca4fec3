/* The one implementation behind every exported ptune_X_params_init_sized: copies a params
 * struct's defaults into at most the caller's `size` bytes and records that size. */
#ifndef PT_CORE_PARAMS_H
#define PT_CORE_PARAMS_H

#include <stddef.h>
#include <stdint.h>

/* dst: the caller's struct (its first field is uint32_t struct_size); defaults: a complete
 * struct of `full` bytes. Does nothing for NULL or a size below struct_size's own. */
void pt_params_fill(void *dst, uint32_t size, const void *defaults, size_t full);

#endif
