/* Fuzz target: the dataset readers through ptune_dataset_load with the aidreams260K tokenizer.
 * The first byte chooses the format (CSV, JSONL, text, blank-line-separated text) and whether a
 * completion column is used; the rest is the file. */
#include "fuzz_support.h"
#include "ptune/ptune.h"

FZ_SEEDS("repo:examples/*/*.csv");

static ptune_model *g_model;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (!g_model) {
        const char *mp = fz_shared("models/aidreams260K.gguf");
        if (!mp || ptune_model_load(mp, NULL, &g_model) != PTUNE_OK) return 0;
    }
    static const char *const names[4] = {"data.csv", "data.jsonl", "data.txt", "data.txt"};
    const int kind = data[0] & 3;
    ptune_dataset_params p;
    ptune_dataset_params_init(&p);
    p.format = kind == 0 ? PTUNE_DATA_CSV : kind == 1 ? PTUNE_DATA_JSONL : PTUNE_DATA_TEXT;
    p.blank_line_separated = kind == 3;
    p.text_column = (data[0] & 4) ? "act" : "prompt";
    p.completion_column = (data[0] & 8) && kind < 2 ? "prompt" : NULL;
    p.max_length = (data[0] & 16) ? 8 : 0;
    p.add_eos = (data[0] >> 5) & 1;
    ptune_dataset *d = NULL;
    if (ptune_dataset_load(g_model, fz_write(names[kind], data + 1, size - 1), &p, &d) != PTUNE_OK) return 0;
    for (int64_t i = 0; i < ptune_dataset_size(d); i++) {
        const int32_t *ids, *labels;
        int32_t n;
        (void)ptune_dataset_get(d, i, &ids, &labels, &n);
    }
    ptune_dataset_free(d);
    return 0;
}
