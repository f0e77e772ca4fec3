/* Fuzz target: a GGUF file through ptune_model_load (header, metadata, tensor table, hyper-
 * parameters, the vocabulary's tokenizer, weight binding and conversion); a model that loads is
 * run on two tokens. Inputs of odd size load with native weight storage (the matrices copied in
 * their file format and converted per panel), even ones with f32 storage. */
#include "fuzz_support.h"
#include "ptune/ptune.h"

FZ_SEEDS("fixtures/models/*.gguf", "models/aidreams260K.gguf");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = size & 1 ? PTUNE_STORAGE_NATIVE : PTUNE_STORAGE_F32;
    ptune_model *m = NULL;
    if (ptune_model_load(fz_write("model.gguf", data, size), &mp, &m) != PTUNE_OK) return 0;
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.max_tokens = 8;
    cp.n_threads = 1;
    ptune_ctx *c = NULL;
    if (ptune_ctx_new(m, &cp, &c) == PTUNE_OK) {
        const int32_t ids[2] = {0, ptune_model_n_vocab(m) - 1}, len = 2;
        const int32_t *seqs[1] = {ids};
        ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
        (void)ptune_forward(c, NULL, &b);
        ptune_ctx_free(c);
    }
    ptune_model_free(m);
    return 0;
}
