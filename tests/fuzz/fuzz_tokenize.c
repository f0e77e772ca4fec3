/* Fuzz target: arbitrary bytes through ptune_tokenize (aidreams260K, SentencePiece-style) and
 * ptune_tokenizer_encode (the Llama-3 byte-level tokenizer), chosen by the first byte; whatever
 * encodes is decoded again, whole and through a token stream. Invalid UTF-8 must be refused
 * with PTUNE_E_INVALID_ARG, never read past. */
#include "fuzz_support.h"
#include "ptune/ptune.h"

#include <stdlib.h>

FZ_SEEDS("repo:examples/*/*.csv", "repo:README.md");

static ptune_model *g_model;
static ptune_tokenizer *g_llama3;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (!g_model) {
        const char *mp = fz_shared("models/aidreams260K.gguf");
        if (!mp || ptune_model_load(mp, NULL, &g_model) != PTUNE_OK) return 0;
        const char *tp = fz_shared("tokenizers/llama3/tokenizer.json");
        if (!tp || ptune_tokenizer_load(tp, &g_llama3) != PTUNE_OK) return 0;
    }
    const ptune_tokenizer *t = (data[0] & 1) ? g_llama3 : ptune_model_tokenizer(g_model);
    const char *text = (const char *)data + 1;
    const size_t len = size - 1;
    int32_t cap = (int32_t)(len + 8), n = 0;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)cap);
    if (!ids) return 0;
    ptune_status s = (data[0] & 1) ? ptune_tokenizer_encode(t, text, len, data[0] & 2, ids, cap, &n)
                                   : ptune_tokenize(g_model, text, len, data[0] & 2, ids, cap, &n);
    if (s == PTUNE_OK) {
        size_t out_len = 0;
        char *out = malloc(4 * len + 64);
        if (out) (void)ptune_tokenizer_decode(t, ids, n, data[0] & 4, out, 4 * len + 64, &out_len);
        free(out);
        ptune_token_stream *ts = NULL;
        if (ptune_token_stream_new(t, data[0] & 4, &ts) == PTUNE_OK) {
            for (int32_t i = 0; i < n; i++) {
                const char *piece;
                size_t piece_len;
                (void)ptune_token_stream_push(ts, ids[i], &piece, &piece_len);
            }
            ptune_token_stream_free(ts);
        }
    }
    free(ids);
    return 0;
}
