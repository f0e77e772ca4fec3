/* Fuzz target: a safetensors file through the header parser and validator; every tensor that
 * opens is converted to fp32 when its dtype allows. */
#include "formats/safetensors.h"
#include "fuzz_support.h"

#include <stdlib.h>

FZ_SEEDS("fixtures/models/*/model.safetensors", "fixtures/*/peft_adapter/adapter_model.safetensors",
         "fixtures/tiny-gpt2/prompt_single.safetensors");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_safetensors st;
    if (pt_safetensors_open(fz_write("t.safetensors", data, size), &st) != PTUNE_OK) return 0;
    for (size_t i = 0; i < st.n_tensors; i++) {
        const pt_tensor_view *v = &st.tensors[i];
        if (v->n_elements <= 0 || v->n_elements > (1 << 22)) continue;
        float *dst = malloc(sizeof(float) * (size_t)v->n_elements);
        if (dst) (void)pt_tensor_view_to_f32(v, "t.safetensors", dst);
        free(dst);
        (void)pt_safetensors_find(&st, v->name);
    }
    pt_safetensors_close(&st);
    return 0;
}
