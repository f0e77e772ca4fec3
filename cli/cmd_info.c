/* `ptune info MODEL [--storage f32|native]`: prints the model's architecture, dimensions, tensor
 * types and memory use (for the chosen weight storage) as JSON. */
#include "cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pt_cmd_info(int argc, char **argv)
{
    static const char usage[] = "usage: ptune info MODEL [--storage f32|native]   (GGUF file or Hugging Face directory)\n"
                                "  bytes_in_memory and each tensor type's resident_bytes are for that storage.";
    const char *path = NULL;
    int32_t storage = PTUNE_STORAGE_F32;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--storage") && i + 1 < argc) {
            if (pt_cli_parse_storage(argv[i], argv[i + 1], &storage)) return 2;
            i++;
        } else if (argv[i][0] == '-' || path) {
            return pt_cli_usage_error("%s%s", strcmp(argv[i], "--help") ? "unexpected argument\n" : "", usage);
        } else {
            path = argv[i];
        }
    }
    if (!path) return pt_cli_usage_error("missing MODEL\n%s", usage);
    ptune_model *m;
    ptune_status s = pt_cli_load_model(path, storage, &m);
    if (s) return pt_cli_fail("loading model", s);
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(path));
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
    json_object_set_new(o, "storage", json_string(ptune_model_storage(m) == PTUNE_STORAGE_NATIVE ? "native" : "f32"));
    json_object_set_new(o, "bytes_in_memory", json_integer(ptune_model_weight_bytes(m)));
    json_t *types = json_array();
    for (int32_t i = 0; i < ptune_model_n_weight_types(m); i++) {
        const char *name;
        int32_t n;
        int64_t file_bytes, resident;
        if (ptune_model_weight_type(m, i, &name, &n, &file_bytes, &resident)) continue;
        json_t *t = json_object();
        json_object_set_new(t, "dtype", json_string(name));
        json_object_set_new(t, "n_tensors", json_integer(n));
        json_object_set_new(t, "file_bytes", json_integer(file_bytes));
        json_object_set_new(t, "resident_bytes", json_integer(resident));
        json_array_append_new(types, t);
    }
    json_object_set_new(o, "tensor_types", types);
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
