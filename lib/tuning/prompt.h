/* The soft prompt handle: n_virtual × n_embd trainable values, their gradient, and the facts
 * a PEFT adapter_config.json records (owned here; prompt.c creates/loads, prompt_peft.c writes). */
#ifndef PT_TUNING_PROMPT_H
#define PT_TUNING_PROMPT_H

#include "ptune/ptune.h"

struct json_t; /* jansson */

/* What ptune_prompt_save writes into adapter_config.json besides the tensor shape. Strings
 * are owned; NULL is written as JSON null. The json_t values are owned references (NULL =
 * null) kept verbatim from a loaded adapter_config.json so that a re-save reproduces it. */
typedef struct pt_prompt_meta {
    int32_t n_layer;          /* num_layers */
    int32_t n_head;           /* num_attention_heads */
    int32_t token_dim;        /* token_dim (always equal to the prompt's n_embd) */
    char *base_model;         /* base_model_name_or_path */
    char *revision;           /* revision */
    char *init_name;          /* prompt_tuning_init as PEFT spells it: "RANDOM", "TEXT", "SAMPLE_VOCAB" */
    char *init_text;          /* prompt_tuning_init_text */
    char *tokenizer_name;     /* tokenizer_name_or_path */
    struct json_t *auto_mapping;     /* object */
    struct json_t *tokenizer_kwargs; /* object */
    struct json_t *modules_to_save;  /* array */
} pt_prompt_meta;

struct ptune_prompt {
    int32_t n_virtual;
    int32_t n_embd;
    float *values;   /* [n_virtual, n_embd] */
    float *grad;     /* [n_virtual, n_embd] */
    int32_t init;    /* ptune_prompt_init this prompt was created with (RANDOM for a loaded
                        prompt whose config names no init this library knows) */
    pt_prompt_meta meta;
};

/* Fills `meta` with what PEFT's get_peft_model would record for model `m`: num_layers,
 * num_attention_heads and token_dim from the hyper-parameters, base_model_name_or_path = the
 * path given to ptune_model_load, prompt_tuning_init "RANDOM", everything else null.
 * Errors: PTUNE_E_NOMEM (meta is then left empty but freeable). */
ptune_status pt_prompt_meta_init(const ptune_model *m, pt_prompt_meta *meta);
void pt_prompt_meta_free(pt_prompt_meta *meta);

/* adapter_config.json of a PEFT adapter directory (prompt_peft.c). Validates it against `m`
 * (peft_type PROMPT_TUNING, task_type CAUSAL_LM, token_dim == n_embd, at most one transformer
 * submodule), logs unknown keys as warnings and fills `meta` (pre-filled by
 * pt_prompt_meta_init; fields the file sets override it). *n_virtual receives
 * num_virtual_tokens, or -1 when the file leaves it null. Errors: PTUNE_E_IO, PTUNE_E_FORMAT
 * (naming the file and field), PTUNE_E_NOMEM. */
ptune_status pt_prompt_peft_read_config(const ptune_model *m, const char *path, pt_prompt_meta *meta,
                                        int32_t *n_virtual, int32_t *init);

#endif
