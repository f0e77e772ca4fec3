/* Fuzz target: a PEFT adapter through ptune_prompt_load on the tiny GPT-2 fixture model. The
 * first byte chooses what the rest of the input is: adapter_model.safetensors beside the
 * fixture's own adapter_config.json (even), or adapter_config.json beside its own weights (odd).
 * A prompt that loads is scored once. */
#include "fuzz_support.h"
#include "ptune/ptune.h"

#include <stdbool.h>
#include <stdlib.h>

FZ_SEEDS("fixtures/tiny-gpt2/peft_adapter/adapter_model.safetensors",
         "fixtures/tiny-gpt2/peft_adapter/adapter_config.json");

static ptune_model *g_model;
static uint8_t *g_config, *g_weights;
static size_t g_config_n, g_weights_n;

static int setup(void)
{
    if (g_model) return 1;
    const char *mp = fz_shared("fixtures/models/tiny-gpt2");
    if (!mp || ptune_model_load(mp, NULL, &g_model) != PTUNE_OK) return 0;
    g_config = fz_read(fz_shared("fixtures/tiny-gpt2/peft_adapter/adapter_config.json"), &g_config_n);
    g_weights = fz_read(fz_shared("fixtures/tiny-gpt2/peft_adapter/adapter_model.safetensors"), &g_weights_n);
    return g_config && g_weights;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || !setup()) return 0;
    const bool config = data[0] & 1;
    fz_write("adapter_config.json", config ? data + 1 : g_config, config ? size - 1 : g_config_n);
    fz_write("adapter_model.safetensors", config ? g_weights : data + 1, config ? g_weights_n : size - 1);
    ptune_prompt *p = NULL;
    if (ptune_prompt_load(g_model, fz_dir(), &p) != PTUNE_OK) return 0;
    ptune_ctx *c = NULL;
    if (ptune_ctx_new(g_model, NULL, &c) == PTUNE_OK) {
        const int32_t ids[3] = {1, 2, 3}, len = 3;
        const int32_t *seqs[1] = {ids};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
        (void)ptune_forward(c, p, &b);
        ptune_ctx_free(c);
    }
    ptune_prompt_free(p);
    return 0;
}
