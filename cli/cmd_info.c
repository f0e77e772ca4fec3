/* `ptune info MODEL`: prints the model's architecture, dimensions and memory use as JSON. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_cmd_info(int argc, char **argv)
{
    if (argc != 2 || !strcmp(argv[1], "--help"))
        return pt_cli_usage_error("usage: ptune info MODEL   (GGUF file or Hugging Face directory)");
    ptune_model *m;
    ptune_status s = ptune_model_load(argv[1], NULL, &m);
    if (s) return pt_cli_fail("loading model", s);
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(argv[1]));
    json_object_set_new(o, "architecture", json_string(ptune_model_arch_name(m)));
    json_object_set_new(o, "n_embd", json_integer(ptune_model_n_embd(m)));
    json_object_set_new(o, "n_layer", json_integer(ptune_model_n_layer(m)));
    json_object_set_new(o, "n_head", json_integer(ptune_model_n_head(m)));
    json_object_set_new(o, "n_head_kv", json_integer(ptune_model_n_head_kv(m)));
    json_object_set_new(o, "head_dim", json_integer(ptune_model_head_dim(m)));
    json_object_set_new(o, "n_ff", json_integer(ptune_model_n_ff(m)));
    json_object_set_new(o, "n_vocab", json_integer(ptune_model_n_vocab(m)));
    json_object_set_new(o, "n_ctx", json_integer(ptune_model_n_ctx(m)));
    json_object_set_new(o, "tied_head", json_boolean(ptune_model_tied_head(m)));
    json_object_set_new(o, "n_params", json_integer(ptune_model_n_params(m)));
    json_object_set_new(o, "dtype_on_disk", json_string(ptune_model_file_dtype(m)));
    json_object_set_new(o, "bytes_in_memory", json_integer(ptune_model_weight_bytes(m)));
    json_object_set_new(o, "bos_id", json_integer(ptune_model_bos_id(m)));
    json_object_set_new(o, "eos_id", json_integer(ptune_model_eos_id(m)));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    int rc = 0;
    if (text) {
        puts(text);
        free(text);
    } else {
        rc = pt_cli_usage_error("out of memory");
    }
    json_decref(o);
    ptune_model_free(m);
    return rc;
}
