/* Fuzz target: a tokenizer.json through ptune_tokenizer_load (normalizer, pre-tokenizer, BPE
 * model, added tokens, post-processor, decoder); a tokenizer that loads encodes and decodes a
 * mixed text. */
#include "fuzz_support.h"
#include "ptune/ptune.h"

#include <string.h>

FZ_SEEDS("models/aidreams260K-hf/tokenizer.json", "tokenizers/gpt2/tokenizer.json",
         "tokenizers/bloom-style/tokenizer.json", "tokenizers/mistral/tokenizer.json");

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ptune_tokenizer *t = NULL;
    if (ptune_tokenizer_load(fz_write("tokenizer.json", data, size), &t) != PTUNE_OK) return 0;
    static const char text[] = "Hello, world! 123 naïve   \t\n<s> 日本語 🙂";
    int32_t ids[256], n = 0;
    if (ptune_tokenizer_encode(t, text, strlen(text), true, ids, 256, &n) == PTUNE_OK) {
        char out[1024];
        size_t len = 0;
        (void)ptune_tokenizer_decode(t, ids, n, false, out, sizeof out, &len);
    }
    ptune_tokenizer_free(t);
    return 0;
}
