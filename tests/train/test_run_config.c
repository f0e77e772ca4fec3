/* Tests of the YAML run config: the issue's example, defaults, nulls, flow style, --set
 * overrides, and a table of bad configs with their exact file:line:column messages. */
#include "test_support.h"
#include "train/run_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = pt_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pt_test_rmtree(g_dir);
    free(g_dir);
    return 0;
}

/* Writes `text` to <tmp>/<name> and returns the malloc'd path. */
static char *write_config(const char *name, const char *text)
{
    size_t n = strlen(g_dir) + strlen(name) + 2;
    char *path = malloc(n);
    assert_non_null(path);
    snprintf(path, n, "%s/%s", g_dir, name);
    pt_test_write_file(path, text, strlen(text));
    return path;
}

static void assert_zeroed(const pt_run_config *c)
{
    static const pt_run_config zero;
    assert_memory_equal(c, &zero, sizeof zero);
}

/* The schema example of issue 5, verbatim. */
static const char issue_example[] =
    "model: models/bloomz-560m        # GGUF file or HF directory\n"
    "output_dir: runs/logistician\n"
    "seed: 42\n"
    "threads: 0                       # 0 = all cores\n"
    "data:\n"
    "  train: data/prompts.csv        # .csv / .jsonl / .txt (format: csv|jsonl|text overrides)\n"
    "  text_column: prompt            # CSV column or JSONL field\n"
    "  eval: data/eval.jsonl          # optional; or eval_split: 0.1\n"
    "  select: 50                     # first N rows, optional\n"
    "  max_length: 128\n"
    "  add_eos: false\n"
    "prompt:\n"
    "  n_virtual: 4\n"
    "  init: random                   # random | text | sample_vocab | class_labels\n"
    "  init_text: null\n"
    "optimizer: {name: adamw, lr: 0.005, weight_decay: 0.0, betas: [0.9, 0.999], eps: 1.0e-8, max_grad_norm: 1.0}\n"
    "schedule: {name: linear, warmup_steps: 0}      # linear | constant | cosine\n"
    "train: {epochs: 5, max_steps: 0, batch_size: 8, grad_accum: 1, eval_every: 0, early_stopping_patience: 0}\n"
    "checkpoint: {every: 0, keep: 2}\n";

static void test_issue_example(void **state)
{
    (void)state;
    char *path = write_config("example.yaml", issue_example);
    pt_run_config c;
    if (pt_run_config_load(path, NULL, 0, &c)) fail_msg("%s", ptune_last_error());
    assert_string_equal(c.path, path);
    assert_string_equal(c.model, "models/bloomz-560m"); /* paths are kept as written (relative to the cwd) */
    assert_string_equal(c.output_dir, "runs/logistician");
    assert_int_equal(c.seed, 42);
    assert_int_equal(c.threads, 0);
    assert_string_equal(c.data.train, "data/prompts.csv");
    assert_null(c.data.format);
    assert_string_equal(c.data.text_column, "prompt");
    assert_null(c.data.completion_column);
    assert_string_equal(c.data.eval, "data/eval.jsonl");
    assert_true(c.data.eval_split == 0.0);
    assert_int_equal(c.data.select, 50);
    assert_int_equal(c.data.max_length, 128);
    assert_false(c.data.add_eos);
    assert_false(c.data.blank_line_separated);
    assert_int_equal(c.prompt.n_virtual, 4);
    assert_string_equal(c.prompt.init, "random");
    assert_null(c.prompt.init_text);
    assert_null(c.prompt.labels);
    assert_int_equal(c.prompt.n_labels, 0);
    assert_null(c.prompt.resume_adapter);
    assert_string_equal(c.optimizer.name, "adamw");
    assert_true(c.optimizer.lr == 0.005);
    assert_true(c.optimizer.weight_decay == 0.0);
    assert_true(c.optimizer.beta1 == 0.9);
    assert_true(c.optimizer.beta2 == 0.999);
    assert_true(c.optimizer.eps == 1.0e-8);
    assert_true(c.optimizer.max_grad_norm == 1.0);
    assert_true(c.optimizer.momentum == 0.9);
    assert_string_equal(c.schedule.name, "linear");
    assert_int_equal(c.schedule.warmup_steps, 0);
    assert_string_equal(c.storage, "f32");
    assert_int_equal(c.train.epochs, 5);
    assert_int_equal(c.train.max_steps, 0);
    assert_int_equal(c.train.batch_size, 8);
    assert_int_equal(c.train.batch_tokens, 0);
    assert_int_equal(c.train.auto_batch_memory_mb, 0);
    assert_int_equal(c.train.grad_accum, 1);
    assert_int_equal(c.train.eval_every, 0);
    assert_int_equal(c.train.early_stopping_patience, 0);
    assert_int_equal(c.train.log_every, 1);
    assert_int_equal(c.checkpoint.every, 0);
    assert_int_equal(c.checkpoint.keep, 2);
    pt_run_config_free(&c);
    assert_zeroed(&c);
    pt_run_config_free(&c); /* twice is harmless */
    free(path);
}

static void test_defaults(void **state)
{
    (void)state;
    char *path = write_config("minimal.yaml", "model: m.gguf\noutput_dir: out\ndata:\n  train: d.txt\nprompt:\n  n_virtual: 2\n");
    pt_run_config c;
    if (pt_run_config_load(path, NULL, 0, &c)) fail_msg("%s", ptune_last_error());
    assert_int_equal(c.seed, 42);
    assert_int_equal(c.threads, 0);
    assert_null(c.data.format);
    assert_string_equal(c.data.text_column, "text");
    assert_null(c.data.eval);
    assert_true(c.data.eval_split == 0.0);
    assert_int_equal(c.data.select, 0);
    assert_int_equal(c.data.max_length, 0);
    assert_false(c.data.add_eos);
    assert_string_equal(c.prompt.init, "random");
    assert_string_equal(c.optimizer.name, "adamw");
    assert_true(c.optimizer.lr == 5e-5);
    assert_true(c.optimizer.weight_decay == 0.0);
    assert_true(c.optimizer.beta1 == 0.9 && c.optimizer.beta2 == 0.999);
    assert_true(c.optimizer.eps == 1e-8);
    assert_true(c.optimizer.max_grad_norm == 1.0);
    assert_true(c.optimizer.momentum == 0.9);
    assert_string_equal(c.schedule.name, "linear");
    assert_int_equal(c.schedule.warmup_steps, 0);
    assert_int_equal(c.train.epochs, 1);
    assert_int_equal(c.train.batch_size, 8);
    assert_int_equal(c.train.grad_accum, 1);
    assert_int_equal(c.train.log_every, 1);
    assert_int_equal(c.checkpoint.keep, 2);
    pt_run_config_free(&c);
    free(path);
}

/* Nulls (null, ~, empty, empty sections) mean "the default"; flow style everywhere; the YAML
 * 1.2 core number spellings. */
static void test_nulls_flow_and_numbers(void **state)
{
    (void)state;
    char *path = write_config("nulls.yaml",
                              "{model: m, output_dir: o, seed: 0x10, threads: ~,\n"
                              " data: {train: t.jsonl, format: jsonl, text_column: null, eval: , select: 0o17,\n"
                              "        completion_column: \"answer\", blank_line_separated: True, add_eos: TRUE},\n"
                              " prompt: {n_virtual: 3, init: class_labels, labels: [positive, 'neg ative', \"x\"]},\n"
                              " optimizer: {name: sgd, lr: 1e-3, momentum: .5, betas: ~, eps: +1.5E-7},\n"
                              " schedule: , checkpoint: {every: 1e2, keep: 3},\n"
                              " train: {max_steps: 2.0e3, auto_batch_memory_mb: 512, log_every: 10}}\n");
    pt_run_config c;
    if (pt_run_config_load(path, NULL, 0, &c)) fail_msg("%s", ptune_last_error());
    assert_int_equal(c.seed, 16);
    assert_int_equal(c.threads, 0);
    assert_string_equal(c.data.format, "jsonl");
    assert_string_equal(c.data.text_column, "text");
    assert_null(c.data.eval);
    assert_int_equal(c.data.select, 15);
    assert_string_equal(c.data.completion_column, "answer");
    assert_true(c.data.blank_line_separated);
    assert_true(c.data.add_eos);
    assert_string_equal(c.prompt.init, "class_labels");
    assert_int_equal(c.prompt.n_labels, 3);
    assert_string_equal(c.prompt.labels[0], "positive");
    assert_string_equal(c.prompt.labels[1], "neg ative");
    assert_string_equal(c.prompt.labels[2], "x");
    assert_string_equal(c.optimizer.name, "sgd");
    assert_true(c.optimizer.lr == 1e-3);
    assert_true(c.optimizer.momentum == 0.5);
    assert_true(c.optimizer.beta1 == 0.9 && c.optimizer.beta2 == 0.999);
    assert_true(c.optimizer.eps == 1.5e-7);
    assert_string_equal(c.schedule.name, "linear");
    assert_int_equal(c.checkpoint.every, 100);
    assert_int_equal(c.checkpoint.keep, 3);
    assert_int_equal(c.train.max_steps, 2000);
    assert_int_equal(c.train.auto_batch_memory_mb, 512);
    assert_int_equal(c.train.log_every, 10);
    pt_run_config_free(&c);
    free(path);

    /* anchors and aliases resolve; a comment-only document before the keys is fine */
    path = write_config("alias.yaml", "# run\nmodel: &m shared.gguf\noutput_dir: *m\ndata: {train: *m}\n"
                                      "prompt: {n_virtual: 1, init: text, init_text: \"Classify: \\u00e9\"}\n");
    if (pt_run_config_load(path, NULL, 0, &c)) fail_msg("%s", ptune_last_error());
    assert_string_equal(c.output_dir, "shared.gguf");
    assert_string_equal(c.data.train, "shared.gguf");
    assert_string_equal(c.prompt.init_text, "Classify: \xc3\xa9");
    pt_run_config_free(&c);
    free(path);
}

static void test_overrides(void **state)
{
    (void)state;
    char *path = write_config("over.yaml", issue_example);
    const char *const sets[] = {
        "optimizer.betas=[0.9,0.99]",
        "train.epochs=3",
        "model=/abs/model dir",
        "output_dir=runs/a: b",           /* not a YAML scalar: a string key takes the text as given */
        "data.eval=",                     /* empty = null = unset, so eval_split may be given */
        "data.eval_split=0.25",
        "optimizer={name: sgd, momentum: 0.5}",
        "prompt.labels=[pos, neg]",
        "prompt.init=class_labels",
        "data.add_eos=true",
        "seed=18446744073709551615",
        "data.text_column='act'",
        "train.max_steps=1e3",
        "checkpoint.keep=5",
        "threads=4",
    };
    pt_run_config c;
    if (pt_run_config_load(path, sets, (int)(sizeof sets / sizeof sets[0]), &c)) fail_msg("%s", ptune_last_error());
    assert_true(c.optimizer.beta1 == 0.9 && c.optimizer.beta2 == 0.99);
    assert_int_equal(c.train.epochs, 3);
    assert_string_equal(c.model, "/abs/model dir");
    assert_string_equal(c.output_dir, "runs/a: b");
    assert_null(c.data.eval);
    assert_true(c.data.eval_split == 0.25);
    assert_string_equal(c.optimizer.name, "sgd");
    assert_true(c.optimizer.momentum == 0.5);
    assert_true(c.optimizer.lr == 0.005); /* a mapping override changes only its keys */
    assert_int_equal(c.prompt.n_labels, 2);
    assert_string_equal(c.prompt.labels[1], "neg");
    assert_string_equal(c.prompt.init, "class_labels");
    assert_true(c.data.add_eos);
    assert_true(c.seed == UINT64_MAX);
    assert_string_equal(c.data.text_column, "act");
    assert_int_equal(c.train.max_steps, 1000);
    assert_int_equal(c.checkpoint.keep, 5);
    assert_int_equal(c.threads, 4);
    pt_run_config_free(&c);

    /* later overrides win; a required key may come only from --set */
    char *partial = write_config("partial.yaml", "output_dir: o\ndata: {train: t}\nprompt: {n_virtual: 1}\n");
    const char *const two[] = {"model=a", "model=b", "prompt.n_virtual=7"};
    if (pt_run_config_load(partial, two, 3, &c)) fail_msg("%s", ptune_last_error());
    assert_string_equal(c.model, "b");
    assert_int_equal(c.prompt.n_virtual, 7);
    pt_run_config_free(&c);
    free(partial);
    free(path);
}

typedef struct bad_case {
    const char *yaml;
    const char *want; /* the message after "<path>" (its start, when the rest is a long list) */
} bad_case;

#define HEAD "model: m.gguf\noutput_dir: out\n"
#define DATA "data:\n  train: d.csv\n"
#define PROMPT "prompt:\n  n_virtual: 4\n"
#define BASE HEAD DATA PROMPT /* 6 lines: the rows below start on line 7 */

static const bad_case bad_cases[] = {
    /* unknown keys */
    {BASE "modle: x\n", ":7:1: unknown key \"modle\" (expected one of: model, storage, output_dir, seed, threads, data, "
                        "prompt, optimizer, schedule, train, checkpoint)"},
    {BASE "train:\n  epochs: 2\n  epoch: 3\n",
     ":9:3: unknown key \"epoch\" in \"train\" (expected one of: epochs, max_steps, batch_size, batch_tokens, "
     "auto_batch_memory_mb, grad_accum, eval_every, early_stopping_patience, log_every)"},
    {BASE "optimizer: {name: adamw, learning_rate: 0.1}\n", ":7:26: unknown key \"learning_rate\" in \"optimizer\""},
    /* wrong types */
    {BASE "optimizer:\n  lr: fast\n", ":8:7: \"optimizer.lr\" must be a number (got \"fast\")"},
    {BASE "optimizer: {weight_decay: \"0.1\"}\n", ":7:27: \"optimizer.weight_decay\" must be a number (got \"0.1\")"},
    {BASE "train: {epochs: 2.5}\n", ":7:17: \"train.epochs\" must be an integer (got 2.5)"},
    {BASE "train: {batch_size: eight}\n", ":7:21: \"train.batch_size\" must be an integer (got \"eight\")"},
    {HEAD "data:\n  train: d.csv\n  add_eos: yes\n" PROMPT, ":5:12: \"data.add_eos\" must be true or false (got \"yes\")"},
    {HEAD "data: [d.csv]\n" PROMPT, ":3:7: \"data\" must be a mapping of keys (got a sequence)"},
    {BASE "optimizer: {betas: 0.9}\n", ":7:20: \"optimizer.betas\" must be a sequence of two numbers [beta1, beta2] (got 0.9)"},
    {BASE "optimizer: {betas: [0.9]}\n", ":7:20: \"optimizer.betas\" must be a sequence of two numbers [beta1, beta2] (got 1)"},
    {"model: [a, b]\noutput_dir: out\n" DATA PROMPT, ":1:8: \"model\" must be a string (got a sequence)"},
    {HEAD "data:\n  train: d.csv\n  text_column: \"\"\n" PROMPT, ":5:16: \"data.text_column\" must not be empty"},
    {"- model: m\n", ":1:1: a run config must be a mapping of keys (got a sequence)"},
    /* out of range */
    {BASE "optimizer: {lr: -0.1}\n", ":7:17: \"optimizer.lr\" must be > 0 (got -0.1)"},
    {BASE "optimizer: {lr: .inf}\n", ":7:17: \"optimizer.lr\" must be a finite number (got .inf)"},
    {BASE "optimizer: {max_grad_norm: -1}\n", ":7:28: \"optimizer.max_grad_norm\" must be >= 0 (got -1)"},
    {HEAD DATA "prompt:\n  n_virtual: 0\n", ":6:14: \"prompt.n_virtual\" must be in [1, 1048576] (got 0)"},
    {BASE "optimizer: {betas: [0.9, 1.0]}\n", ":7:26: \"optimizer.betas[1]\" must be in [0, 1) (got 1.0)"},
    {BASE "optimizer: {betas: [-0.1, 0.999]}\n", ":7:21: \"optimizer.betas[0]\" must be in [0, 1) (got -0.1)"},
    {HEAD "data: {train: d.csv, eval_split: 1.5}\n" PROMPT, ":3:34: \"data.eval_split\" must be in [0, 1) (got 1.5)"},
    {BASE "train: {batch_size: 0}\n", ":7:21: \"train.batch_size\" must be >= 1 (got 0)"},
    {BASE "threads: 99999999999\n", ":7:10: \"threads\" must be >= 0 (got 99999999999)"},
    {BASE "seed: -1\n", ":7:7: \"seed\" must be in [0, 18446744073709551615] (got -1)"},
    {BASE "train:\n  max_steps: 99999999999999999999\n", ":8:14: \"train.max_steps\" must be >= 0 (got 99999999999999999999, which does not fit)"},
    {BASE "checkpoint: {keep: 0}\n", ":7:20: \"checkpoint.keep\" must be >= 1 (got 0)"},
    /* names */
    {BASE "optimizer: {name: adam}\n", ":7:19: \"optimizer.name\" must be one of adamw, sgd, adafactor (got \"adam\")"},
    {BASE "schedule: {name: step}\n", ":7:18: \"schedule.name\" must be one of linear, constant, cosine (got \"step\")"},
    {BASE "storage: f16\n", ":7:10: \"storage\" must be one of f32, native (got \"f16\")"},
    {HEAD DATA "prompt:\n  n_virtual: 4\n  init: vocab\n",
     ":7:9: \"prompt.init\" must be one of random, text, sample_vocab, class_labels (got \"vocab\")"},
    {HEAD "data: {train: d.xml, format: xml}\n" PROMPT, ":3:30: \"data.format\" must be one of csv, jsonl, text (got \"xml\")"},
    /* combinations */
    {HEAD "data:\n  train: d.csv\n  eval: e.csv\n  eval_split: 0.1\n" PROMPT,
     ":6:15: \"data.eval_split\" and \"data.eval\" are exclusive: give one of them"},
    {HEAD DATA "prompt:\n  n_virtual: 4\n  init: text\n",
     ":7:9: \"prompt.init\" is \"text\" but \"prompt.init_text\" is not given"},
    {HEAD DATA "prompt: {n_virtual: 4, init: class_labels}\n",
     ":5:30: \"prompt.init\" is \"class_labels\" but \"prompt.labels\" is not given"},
    {HEAD DATA "prompt: {n_virtual: 4, init: class_labels, labels: [a, ~]}\n",
     ":5:56: \"prompt.labels[1]\" must be a non-empty string (got null)"},
    /* duplicates */
    {BASE "train:\n  epochs: 2\n  epochs: 3\n", ":9:3: duplicate key \"train.epochs\" (first given at line 8, column 3)"},
    {BASE "seed: 1\nseed: 2\n", ":8:1: duplicate key \"seed\" (first given at line 7, column 1)"},
    /* missing required keys (at the enclosing mapping) */
    {"output_dir: out\n" DATA PROMPT, ":1:1: missing required key \"model\""},
    {HEAD "data:\n  text_column: prompt\n" PROMPT, ":4:3: missing required key \"data.train\""},
    {HEAD DATA, ":1:1: missing required key \"prompt.n_virtual\""},
    {"model: null\noutput_dir: out\n" DATA PROMPT, ":1:8: \"model\" is required (got null)"},
    {"", ":1:1: missing required key \"model\""},
    /* YAML syntax */
    {HEAD "data: [d.csv\n" PROMPT,
     ":4:7: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence at line 3, column 7)"},
    {"model: m: x\n", ":1:9: YAML syntax error: mapping values are not allowed in this context"},
    {HEAD "data:\n\ttrain: d.csv\n", ":4:1: YAML syntax error: found character that cannot start any token"},
    {BASE "seed: *nowhere\n", ":7:7: YAML syntax error: found undefined alias"},
    {BASE "---\nmodel: x\n", ":8:1: only one YAML document is allowed"},
    {"model: \"\xff\"\n", ":1:9: invalid text: invalid leading UTF-8 octet (byte 0xff)"},
};

static void test_bad_configs(void **state)
{
    (void)state;
    size_t n = sizeof bad_cases / sizeof bad_cases[0];
    assert_true(n >= 20);
    size_t failures = 0;
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "bad%02zu.yaml", i);
        char *path = write_config(name, bad_cases[i].yaml);
        pt_run_config c;
        memset(&c, 0x5a, sizeof c);
        ptune_status s = pt_run_config_load(path, NULL, 0, &c);
        const char *err = ptune_last_error();
        if (s != PTUNE_E_FORMAT) fail_msg("case %zu: status %d (%s), want PTUNE_E_FORMAT", i, s, err);
        /* the message starts with "<path><want>": the path, then line:column and the text */
        size_t plen = strlen(path);
        if (strncmp(err, path, plen) != 0 || strncmp(err + plen, bad_cases[i].want, strlen(bad_cases[i].want)) != 0) {
            print_error("case %zu:\n  got  %s\n  want %s%s\n", i, err, path, bad_cases[i].want);
            failures++;
        }
        assert_zeroed(&c);
        free(path);
    }
    assert_int_equal(failures, 0);
}

typedef struct bad_override {
    const char *set;
    const char *want; /* the start of the message */
} bad_override;

static const bad_override bad_overrides[] = {
    {"train.epoch=3", "--set train.epoch=3: unknown key \"epoch\" in \"train\" (expected one of: epochs, max_steps, "
                      "batch_size, batch_tokens, auto_batch_memory_mb, grad_accum, eval_every, "
                      "early_stopping_patience, log_every)"},
    {"nosuch=1", "--set nosuch=1: unknown key \"nosuch\" (expected one of: model, storage, output_dir, seed, threads, data, "
                 "prompt, optimizer, schedule, train, checkpoint)"},
    {"train.epochs.x=1", "--set train.epochs.x=1: unknown key \"train.epochs.x\": \"train.epochs\" has no keys below it"},
    {"train.=1", "--set train.=1: unknown key \"\" in \"train\""},
    {"novalue", "--set novalue: expected key.path=value"},
    {"=3", "--set =3: expected key.path=value"},
    {"optimizer.lr=fast", "--set optimizer.lr=fast: \"optimizer.lr\" must be a number (got \"fast\")"},
    {"optimizer.betas=[0.9,", "--set optimizer.betas=[0.9,: YAML syntax error in the value: "},
    {"optimizer.betas=[0.9, 2]", "--set optimizer.betas=[0.9, 2]: \"optimizer.betas[1]\" must be in [0, 1) (got 2)"},
    {"train={epochs: 0}", "--set train={epochs: 0}: \"train.epochs\" must be >= 1 (got 0)"},
    {"train=5", "--set train=5: \"train\" must be a mapping of keys (got 5)"},
    {"prompt.init=text", "--set prompt.init=text: \"prompt.init\" is \"text\" but \"prompt.init_text\" is not given"},
    {"data.eval_split=0.5", "--set data.eval_split=0.5: \"data.eval_split\" and \"data.eval\" are exclusive"},
    {"model=", "--set model=: \"model\" is required (got null)"},
    {"data.add_eos=on", "--set data.add_eos=on: \"data.add_eos\" must be true or false (got \"on\")"},
};

static void test_bad_overrides(void **state)
{
    (void)state;
    /* a file with data.eval, so that eval_split from --set collides with it */
    char *path = write_config("base.yaml", "model: m\noutput_dir: o\nprompt:\n  n_virtual: 1\n"
                                     "data:\n  train: t.csv\n  eval_split: null\n  eval: e.csv\n");
    for (size_t i = 0; i < sizeof bad_overrides / sizeof bad_overrides[0]; i++) {
        const char *sets[] = {"threads=2", bad_overrides[i].set};
        pt_run_config c;
        memset(&c, 0x5a, sizeof c);
        ptune_status s = pt_run_config_load(path, sets, 2, &c);
        const char *err = ptune_last_error();
        if (s != PTUNE_E_FORMAT) fail_msg("override %zu: status %d (%s)", i, s, err);
        const char *want = bad_overrides[i].want;
        if (strncmp(err, want, strlen(want)) != 0) fail_msg("override %zu:\n  got  %s\n  want %s", i, err, want);
        assert_zeroed(&c);
    }
    /* the eval/eval_split clash points at the key from --set when that one came last */
    const char *sets[] = {"data.eval=x.csv"};
    char *split = write_config("split.yaml", "model: m\noutput_dir: o\nprompt: {n_virtual: 1}\n"
                                             "data: {train: t, eval_split: 0.2}\n");
    pt_run_config c;
    assert_int_equal(pt_run_config_load(split, sets, 1, &c), PTUNE_E_FORMAT);
    char want[512];
    snprintf(want, sizeof want, "%s:4:30: \"data.eval_split\" and \"data.eval\" are exclusive", split);
    if (strncmp(ptune_last_error(), want, strlen(want)) != 0) fail_msg("got %s", ptune_last_error());
    free(split);
    free(path);
}

static void test_io_and_args(void **state)
{
    (void)state;
    pt_run_config c;
    char *missing = write_config("exists.yaml", "model: m\n");
    strcpy(missing + strlen(missing) - strlen("exists.yaml"), "absent.yam");
    assert_int_equal(pt_run_config_load(missing, NULL, 0, &c), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), missing));
    assert_non_null(strstr(ptune_last_error(), "No such file"));
    assert_zeroed(&c);
    free(missing);
    assert_int_equal(pt_run_config_load(g_dir, NULL, 0, &c), PTUNE_E_IO); /* a directory */
    assert_int_equal(pt_run_config_load(NULL, NULL, 0, &c), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_run_config_load("x", NULL, -1, &c), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_run_config_load("x", NULL, 1, &c), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_run_config_load("x", NULL, 0, NULL), PTUNE_E_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_nulls_flow_and_numbers),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_bad_overrides),
        cmocka_unit_test(test_io_and_args),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
