/* JSON files of a Hugging Face model directory (config.json, generation_config.json,
 * model.safetensors.index.json) read with jansson, plus typed field getters whose errors name
 * the file and the field. */
#ifndef PT_FORMATS_HF_CONFIG_H
#define PT_FORMATS_HF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include "ptune/ptune.h"

typedef struct pt_json_file {
    char *path;    /* owned, for messages */
    json_t *root;  /* owned reference; always a JSON object */
} pt_json_file;

/* Parses `path`; the top level must be an object. Errors: PTUNE_E_IO (missing/unreadable),
 * PTUNE_E_FORMAT ("file:line:column: jansson's text", or "not a JSON object"). */
ptune_status pt_json_file_load(const char *path, pt_json_file *out);
void pt_json_file_free(pt_json_file *f);

/* Field getters on the top-level object. Each returns PTUNE_OK and sets *out when the key is
 * present with the right type; PTUNE_E_STATE (no message) when the key is absent or JSON
 * null; PTUNE_E_FORMAT naming file and key for a wrong type or an out-of-range value. */
ptune_status pt_json_get_int(const pt_json_file *f, const char *key, int64_t *out);
ptune_status pt_json_get_number(const pt_json_file *f, const char *key, double *out); /* int or real */
ptune_status pt_json_get_bool(const pt_json_file *f, const char *key, bool *out);
ptune_status pt_json_get_string(const pt_json_file *f, const char *key, const char **out); /* borrowed */

/* First of several alias keys that is present (e.g. "hidden_size", "n_embd", "n_embed"):
 * same contract as pt_json_get_int; `keys` is NULL-terminated. */
ptune_status pt_json_get_int_alias(const pt_json_file *f, const char *const *keys, int64_t *out);

#endif
