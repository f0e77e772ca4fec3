/* Fuzz target: an HF config.json through the JSON reader, the architecture lookup and the
 * hyper-parameter reader and validator (what ptune_model_load does before touching weights). */
#include "formats/hf_config.h"
#include "fuzz_support.h"
#include "model/arch.h"
#include "model/hparams.h"

#include <jansson.h>

FZ_SEEDS("fixtures/models/*/config.json", "models/aidreams260K-hf/config.json");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_json_file cfg;
    if (pt_json_file_load(fz_write("config.json", data, size), &cfg) != PTUNE_OK) return 0;
    const char *arch = NULL, *type = NULL;
    json_t *list = json_object_get(cfg.root, "architectures");
    if (json_is_array(list) && json_is_string(json_array_get(list, 0))) arch = json_string_value(json_array_get(list, 0));
    (void)pt_json_get_string(&cfg, "model_type", &type);
    const pt_arch_desc *a = arch || type ? pt_arch_by_hf(arch, type) : NULL;
    pt_hparams h;
    if (a && pt_hparams_from_hf(a, &cfg, NULL, &h) == PTUNE_OK) (void)pt_hparams_validate(a, &h, "config.json");
    pt_json_file_free(&cfg);
    return 0;
}
