/* Fuzz target: a YAML run configuration through pt_run_config_load (libyaml events, the schema,
 * every field's type and range checks, with one command-line override). */
#include "fuzz_support.h"
#include "train/run_config.h"

FZ_SEEDS("repo:examples/*/config.yaml");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const overrides[] = {"train.epochs=2"};
    pt_run_config cfg;
    if (pt_run_config_load(fz_write("run.yaml", data, size), overrides, 1, &cfg) == PTUNE_OK) pt_run_config_free(&cfg);
    return 0;
}
