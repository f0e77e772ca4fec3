/* The soft prompt handle: n_virtual × n_embd trainable values and their gradient. */
#ifndef PT_TUNING_PROMPT_H
#define PT_TUNING_PROMPT_H

#include "ptune/ptune.h"

struct ptune_prompt {
    int32_t n_virtual;
    int32_t n_embd;
    float *values;   /* [n_virtual, n_embd] */
    float *grad;     /* [n_virtual, n_embd] */
};

#endif
