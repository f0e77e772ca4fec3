/* The YAML run configuration of `ptune train` (schema in docs/train.md): parsed with libyaml,
 * `--set key.path=value` overrides applied, every value type- and range-checked with
 * file:line:column messages. */
#ifndef PT_TRAIN_RUN_CONFIG_H
#define PT_TRAIN_RUN_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include "ptune/ptune.h"

typedef struct pt_run_config {
    char *path;                 /* the config file (for messages) */
    char *model;                /* required: GGUF file or HF directory */
    char *storage;              /* weight storage: "f32" (default) | "native" */
    char *output_dir;           /* required */
    uint64_t seed;              /* default 42 */
    int32_t threads;            /* default 0 = all cores */
    struct {
        char *train;            /* required */
        char *format;           /* NULL = from the extension; else "csv" | "jsonl" | "text" */
        char *text_column;      /* default "text" */
        char *completion_column;/* optional */
        char *eval;             /* optional eval file */
        double eval_split;      /* 0 = none; else in (0, 1) (exclusive with eval) */
        int64_t select;         /* 0 = all */
        int32_t max_length;     /* 0 = none */
        bool add_eos;           /* default false */
        bool blank_line_separated; /* text format; default false */
    } data;
    struct {
        int32_t n_virtual;      /* required, > 0 */
        char *init;             /* "random" (default) | "text" | "sample_vocab" | "class_labels" */
        char *init_text;        /* required for init: text */
        char **labels;          /* required for init: class_labels */
        int32_t n_labels;
        char *resume_adapter;   /* optional: start from a saved PEFT adapter directory */
    } prompt;
    struct {
        char *name;             /* "adamw" (default) | "sgd" | "adafactor" */
        double lr;              /* default 5e-5 (HF) */
        double weight_decay;    /* 0 */
        double beta1, beta2;    /* 0.9, 0.999 (from `betas: [b1, b2]`) */
        double eps;             /* 1e-8 */
        double max_grad_norm;   /* 1.0; 0 disables */
        double momentum;        /* sgd: 0.9 */
    } optimizer;
    struct {
        char *name;             /* "linear" (default) | "constant" | "cosine" */
        int64_t warmup_steps;   /* 0 */
    } schedule;
    struct {
        int32_t epochs;         /* default 1 */
        int64_t max_steps;      /* 0 = from epochs */
        int32_t batch_size;     /* default 8 */
        int32_t batch_tokens;   /* 0 = by count */
        int64_t auto_batch_memory_mb; /* 0 = off */
        int32_t grad_accum;     /* default 1 */
        int64_t eval_every;     /* 0 = each epoch end when there is eval data */
        int32_t early_stopping_patience; /* 0 = off */
        int64_t log_every;      /* default 1 */
    } train;
    struct {
        int64_t every;          /* 0 = end only */
        int32_t keep;           /* default 2 */
    } checkpoint;
} pt_run_config;

/* Value rules (YAML 1.2 core schema on plain scalars; quoted scalars are always strings):
 *  - null, Null, NULL, ~ or nothing = the key's default (a required key given null is an error);
 *    an empty section ("data:") keeps its defaults.
 *  - booleans are true/false (also True/TRUE/False/FALSE); yes/no/on/off are rejected.
 *  - integers: decimal, 0x hex, 0o octal; integer keys also take integral floats ("1e4"); values
 *    must fit the field. Floats: 0.5, .5, 1e-8, 1.0e-8; .inf/.nan are rejected.
 *  - data.eval_split: 0 (or null) = none, else in (0, 1); exclusive with data.eval.
 *  - paths (model, output_dir, data.*, resume_adapter) are kept as written: relative paths are
 *    relative to the current directory, as with HF's Trainer, not to the config file.
 *  - duplicate keys, unknown keys, a second YAML document are errors.
 * Overrides "a.b=value" are applied in order after the file (later ones win): the value is parsed
 * as a YAML flow value ("[0.9, 0.99]", "3", "null", "" = null); a string key whose value is not
 * a YAML scalar ("runs/a: b") takes the text as given; a section takes a flow mapping
 * ("optimizer={name: sgd, lr: 0.01}") and changes only the keys it names. Required keys and the
 * checks across keys (eval vs eval_split, init text / class_labels) run after all overrides. */

/* Loads `path`, then applies overrides "a.b=value" (value parsed as YAML scalar/flow value).
 * Errors: PTUNE_E_IO (unreadable), PTUNE_E_FORMAT with "file:line:column: message" for YAML
 * syntax errors, unknown keys (naming the key and listing the allowed ones), wrong types and
 * out-of-range values; overrides are reported as "--set a.b=value: message". On failure nothing
 * is allocated in *out. */
ptune_status pt_run_config_load(const char *path, const char *const *overrides, int n_overrides, pt_run_config *out);
void pt_run_config_free(pt_run_config *c);

#endif
