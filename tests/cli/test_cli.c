/* The `ptune` command end to end: `info` JSON, `score` log-probabilities against the fixture
 * logits (with and without a soft prompt) and error exits. */
#include "test_support.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef PT_PTUNE_EXE
#error "PT_PTUNE_EXE must be defined by the build"
#endif

/* Runs `ptune ARGS` with stderr captured too; returns the exit code and the output. */
static int run_ptune(const char *args, char **out)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", PT_PTUNE_EXE, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - 1 - n, p)) > 0) {
        n += got;
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    buf[n] = 0;
    int status = pclose(p);
    *out = buf;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_info(void **state)
{
    (void)state;
    char args[2048], *out;
    snprintf(args, sizeof args, "info '%s/fixtures/models/tiny-bloom-f16.gguf'", pt_test_shared());
    assert_int_equal(run_ptune(args, &out), 0);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    if (!o) fail_msg("not JSON: %s\n%s", e.text, out);
    assert_string_equal(json_string_value(json_object_get(o, "architecture")), "bloom");
    assert_int_equal(json_integer_value(json_object_get(o, "n_layer")), 4);
    assert_int_equal(json_integer_value(json_object_get(o, "n_head_kv")), 6);
    assert_int_equal(json_integer_value(json_object_get(o, "n_vocab")), 512);
    assert_int_equal(json_integer_value(json_object_get(o, "n_params")), 289728);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_in_memory")), 289728 * 4);
    assert_string_equal(json_string_value(json_object_get(o, "dtype_on_disk")), "F16");
    assert_string_equal(json_string_value(json_object_get(o, "storage")), "f32");
    json_decref(o);
    free(out);

    /* native storage: the F16 matrices keep their 2 bytes per value (GGUF stores norms and biases
     * as F32 anyway) */
    snprintf(args, sizeof args, "info '%s/fixtures/models/tiny-bloom-f16.gguf' --storage native", pt_test_shared());
    assert_int_equal(run_ptune(args, &out), 0);
    o = json_loads(out, 0, &e);
    if (!o) fail_msg("not JSON: %s\n%s", e.text, out);
    assert_string_equal(json_string_value(json_object_get(o, "storage")), "native");
    json_t *types = json_object_get(o, "tensor_types");
    long long resident = 0, f16_file = 0, f16_resident = 0;
    for (size_t i = 0; i < json_array_size(types); i++) {
        json_t *t = json_array_get(types, i);
        resident += json_integer_value(json_object_get(t, "resident_bytes"));
        if (!strcmp(json_string_value(json_object_get(t, "dtype")), "F16")) {
            f16_file = json_integer_value(json_object_get(t, "file_bytes"));
            f16_resident = json_integer_value(json_object_get(t, "resident_bytes"));
        }
    }
    assert_true(f16_file > 0 && f16_resident == f16_file);
    const long long in_memory = json_integer_value(json_object_get(o, "bytes_in_memory"));
    assert_true(in_memory >= resident && in_memory < 289728 * 4 * 6 / 10);
    json_decref(o);
    free(out);
}

static json_t *score(const char *args)
{
    char *out;
    int rc = run_ptune(args, &out);
    if (rc != 0) fail_msg("ptune %s exited %d:\n%s", args, rc, out);
    json_error_t e;
    json_t *o = json_loads(out, 0, &e);
    if (!o) fail_msg("not JSON: %s\n%s", e.text, out);
    free(out);
    return o;
}

static char *ids_arg(const int32_t *ids, size_t n)
{
    char *s = malloc(16 * n + 1);
    assert_non_null(s);
    size_t off = 0;
    for (size_t i = 0; i < n; i++) off += (size_t)sprintf(s + off, "%s%d", i ? "," : "", ids[i]);
    return s;
}

/* Without a prompt: logprob[t] = logits_f64[t][ids[t+1]] - logsumexp(logits_f64[t]). */
static void test_score_matches_reference_logits(void **state)
{
    (void)state;
    char *case_path = pt_test_shared_path("fixtures/tiny-qwen2/forward_t7.safetensors");
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(case_path, &st), PTUNE_OK);
    size_t n, nl;
    int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n);
    double *logits = pt_test_tensor_f64(&st, "logits_f64", &nl);
    char *list = ids_arg(ids, n), args[4096];
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-qwen2' --ids %s", pt_test_shared(), list);
    json_t *o = score(args);
    assert_int_equal(json_integer_value(json_object_get(o, "n_tokens")), (long long)n - 1);
    json_t *lp = json_object_get(o, "logprobs");
    double mean = 0;
    for (size_t t = 0; t + 1 < n; t++) {
        const double *row = logits + t * 512;
        double mx = row[0], s = 0;
        for (int v = 1; v < 512; v++) mx = row[v] > mx ? row[v] : mx;
        for (int v = 0; v < 512; v++) s += exp(row[v] - mx);
        double want = row[ids[t + 1]] - (mx + log(s));
        double got = json_real_value(json_array_get(lp, t));
        if (fabs(got - want) > 1e-4) fail_msg("token %zu: %.6f vs %.6f", t, got, want);
        mean -= want / (double)(n - 1);
    }
    assert_true(fabs(json_real_value(json_object_get(o, "nll")) - mean) < 1e-5);
    /* the BF16 copy with native storage scores exactly as with f32 storage */
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-qwen2-bf16.gguf' --ids %s", pt_test_shared(), list);
    json_t *f32 = score(args);
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-qwen2-bf16.gguf' --ids %s --storage native", pt_test_shared(),
             list);
    json_t *native = score(args);
    assert_true(json_equal(json_object_get(f32, "logprobs"), json_object_get(native, "logprobs")));
    json_decref(f32);
    json_decref(native);
    json_decref(o);
    free(list);
    free(ids);
    free(logits);
    pt_safetensors_close(&st);
    free(case_path);
}

/* With a prompt (a safetensors file with prompt_embeddings): every token is scored and the
 * mean NLL is the fixture's PEFT loss (labels = ids in prompt_single). */
static void test_score_with_prompt(void **state)
{
    (void)state;
    char *case_path = pt_test_shared_path("fixtures/tiny-gpt2/prompt_single.safetensors");
    pt_safetensors st;
    assert_int_equal(pt_safetensors_open(case_path, &st), PTUNE_OK);
    size_t n, one;
    int32_t *ids = pt_test_tensor_i32(&st, "input_ids", &n);
    int32_t *labels = pt_test_tensor_i32(&st, "labels", &n);
    for (size_t i = 0; i < n; i++) assert_int_equal(ids[i], labels[i]);
    double *loss = pt_test_tensor_f64(&st, "loss_f64", &one);
    char *list = ids_arg(ids, n), args[4096];
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-gpt2.gguf' --ids %s --prompt '%s'", pt_test_shared(),
             list, case_path);
    json_t *o = score(args);
    assert_int_equal(json_integer_value(json_object_get(o, "n_tokens")), (long long)n);
    double nll = json_real_value(json_object_get(o, "nll"));
    if (fabs(nll - loss[0]) > 1e-5) fail_msg("nll %.8f vs loss %.8f", nll, loss[0]);
    json_decref(o);

    /* a PEFT adapter directory is accepted too */
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-gpt2' --ids %s --prompt '%s/fixtures/tiny-gpt2/peft_adapter'",
             pt_test_shared(), list, pt_test_shared());
    o = score(args);
    assert_int_equal(json_integer_value(json_object_get(o, "n_tokens")), (long long)n);
    json_decref(o);
    free(list);
    free(ids);
    free(labels);
    free(loss);
    pt_safetensors_close(&st);
    free(case_path);
}

static void test_errors(void **state)
{
    (void)state;
    char *out, args[2048];
    assert_int_equal(run_ptune("info /nonexistent/model.gguf", &out), 1);
    assert_non_null(strstr(out, "/nonexistent/model.gguf"));
    free(out);
    assert_int_equal(run_ptune("score", &out), 2);
    free(out);
    assert_int_equal(run_ptune("frobnicate", &out), 2);
    free(out);
    snprintf(args, sizeof args, "info '%s/fixtures/models/tiny-llama' --storage q4", pt_test_shared());
    assert_int_equal(run_ptune(args, &out), 2);
    assert_non_null(strstr(out, "\"q4\" is neither f32 nor native"));
    free(out);
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-llama' --ids 1,2,9999", pt_test_shared());
    assert_int_equal(run_ptune(args, &out), 1);
    assert_non_null(strstr(out, "9999"));
    free(out);
    /* a prompt trained for another model (token_dim 72 vs hidden 64) */
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-llama' --ids 1,2 --prompt '%s/fixtures/tiny-bloom/peft_adapter'",
             pt_test_shared(), pt_test_shared());
    assert_int_equal(run_ptune(args, &out), 1);
    assert_non_null(strstr(out, "72"));
    free(out);
}

/* tokenize/detokenize on every kind of TOKENIZER path, --special, --jsonl both ways. */
static void test_tokenize_detokenize(void **state)
{
    (void)state;
    const char *sh = pt_test_shared();
    char args[4096], *out;
    const char *paths[] = {"models/aidreams260K.gguf", "models/aidreams260K-hf", "models/aidreams260K-hf/tokenizer.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "tokenize '%s/%s' --special --text 'Echoes of vectors unfold, a gentle hum of precision'",
                 sh, paths[i]);
        assert_int_equal(run_ptune(args, &out), 0);
        assert_string_equal(out, "[1,388,355,260,275,429,339,315,374,327,446,262,421,392,275,280,269,440,270,283]\n");
        free(out);
    }
    snprintf(args, sizeof args, "tokenize '%s/models/aidreams260K.gguf' --text 'hello'", sh);
    assert_int_equal(run_ptune(args, &out), 0);
    assert_true(out[0] == '[' && out[1] != '1'); /* no BOS without --special */
    free(out);
    snprintf(args, sizeof args,
             "detokenize '%s/models/aidreams260K-hf' --skip-special "
             "--ids 1,388,355,260,275,429,339,315,374,327,446,262,421,392,275,280,269,440,270,283", sh);
    assert_int_equal(run_ptune(args, &out), 0);
    assert_string_equal(out, "Echoes of vectors unfold, a gentle hum of precision\n");
    free(out);
    /* bulk: JSON Lines in, JSON Lines out; text through stdin */
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '{\"text\": \"Hello world\"}' '{\"text\": \"\"}' | '%s' tokenize '%s/tokenizers/gpt2/tokenizer.json' --jsonl",
             PT_PTUNE_EXE, sh);
    FILE *p = popen(cmd, "r");
    char line[256];
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "{\"ids\":[15496,995]}\n");
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "{\"ids\":[]}\n");
    assert_int_equal(pclose(p), 0);
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '{\"ids\": [15496, 995]}' | '%s' detokenize '%s/tokenizers/gpt2' --jsonl", PT_PTUNE_EXE, sh);
    p = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, p));
    assert_string_equal(line, "{\"text\":\"Hello world\"}\n");
    assert_int_equal(pclose(p), 0);
    /* errors: a bad line names its number; a missing tokenizer fails */
    snprintf(cmd, sizeof cmd, "printf '%%s\\n' '{\"text\": \"a\"}' 'not json' | '%s' tokenize '%s/tokenizers/gpt2' --jsonl 2>&1", PT_PTUNE_EXE, sh);
    p = popen(cmd, "r");
    char all[1024] = "";
    size_t got = fread(all, 1, sizeof all - 1, p);
    all[got] = 0;
    assert_int_not_equal(pclose(p), 0);
    assert_non_null(strstr(all, "line 2"));
    snprintf(args, sizeof args, "tokenize '%s/fixtures/models/tiny-llama' --text x", sh);
    assert_int_equal(run_ptune(args, &out), 1);
    assert_non_null(strstr(out, "tokenizer.json"));
    free(out);
}

/* score --text uses the model's tokenizer (with BOS) and matches score --ids. */
static void test_score_text(void **state)
{
    (void)state;
    char args[4096], *a, *b, *ids;
    const char *text = "Echoes of vectors unfold";
    snprintf(args, sizeof args, "tokenize '%s/models/aidreams260K.gguf' --special --text '%s'", pt_test_shared(), text);
    assert_int_equal(run_ptune(args, &ids), 0);
    assert_true(ids[0] == '[' && ids[1] == '1' && ids[2] == ','); /* BOS first */
    ids[strcspn(ids, "]")] = 0;
    snprintf(args, sizeof args, "score '%s/models/aidreams260K.gguf' --text '%s'", pt_test_shared(), text);
    assert_int_equal(run_ptune(args, &a), 0);
    snprintf(args, sizeof args, "score '%s/models/aidreams260K-hf' --ids %s", pt_test_shared(), ids + 1);
    assert_int_equal(run_ptune(args, &b), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    free(ids);
}

/* Writes a small run: a text dataset and a YAML config for tiny-llama.gguf (synthetic vocab). */
static char *write_run(const char *dir, const char *extra)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/data.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 24; i++) fprintf(f, "aab aac aad abab %d accc aaddd ab\n", i);
    fclose(f);
    char *cfg = malloc(4096);
    assert_non_null(cfg);
    snprintf(cfg, 4096, "%s/run.yaml", dir);
    f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "model: %s/fixtures/models/tiny-llama.gguf\n"
            "output_dir: %s/out\n"
            "seed: 7\n"
            "data: {train: %s, eval_split: 0.25}\n"
            "prompt: {n_virtual: 4}\n"
            "optimizer: {name: adamw, lr: 0.01}\n"
            "train: {epochs: 3, batch_size: 4}\n"
            "%s",
            pt_test_shared(), dir, path, extra);
    fclose(f);
    return cfg;
}

/* Well-formedness of the SVG: one root <svg>, balanced tags, only known entities. */
static void check_svg(const char *text)
{
    assert_non_null(strstr(text, "<svg"));
    int depth = 0, roots = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '&') {
            assert_true(!strncmp(p, "&amp;", 5) || !strncmp(p, "&lt;", 4) || !strncmp(p, "&gt;", 4) ||
                        !strncmp(p, "&quot;", 6) || !strncmp(p, "&apos;", 6) || !strncmp(p, "&#", 2));
        }
        if (*p != '<') continue;
        if (p[1] == '?' || p[1] == '!') continue;
        const char *end = strchr(p, '>');
        assert_non_null(end);
        if (p[1] == '/') depth--;
        else if (end[-1] != '/') {
            if (depth == 0) roots++;
            depth++;
        } else if (depth == 0) {
            roots++;
        }
        assert_true(depth >= 0);
        p = end;
    }
    assert_int_equal(depth, 0);
    assert_int_equal(roots, 1);
}

static void test_train(void **state)
{
    (void)state;
    char *dir = pt_test_tmpdir(), *out;
    char *cfg = write_run(dir, "");
    char args[8192];
    snprintf(args, sizeof args, "train '%s'", cfg);
    int rc = run_ptune(args, &out);
    if (rc != 0) fail_msg("ptune train exited %d:\n%s", rc, out);
    assert_non_null(strstr(out, "eval_loss")); /* evaluated at each epoch end (eval_split) */
    assert_non_null(strstr(out, "eval loss before tuning ")); /* the baseline, before step 1 */
    assert_non_null(strstr(out, "eval loss ") && strstr(out, " -> ")); /* and the change at the end */
    free(out);
    const char *files[] = {"adapter_config.json", "adapter_model.safetensors", "metrics.jsonl", "loss.svg"};
    for (int i = 0; i < 4; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/out/%s", dir, files[i]);
        size_t n;
        unsigned char *data = pt_test_read_file(p, &n);
        assert_true(n > 0);
        if (i == 2) { /* one JSON record per line */
            int lines = 0;
            for (char *line = strtok((char *)data, "\n"); line; line = strtok(NULL, "\n"), lines++) {
                json_error_t e;
                json_t *o = json_loads(line, 0, &e);
                if (!o) fail_msg("metrics.jsonl line %d: %s", lines + 1, e.text);
                if (lines == 0) { /* the baseline record: step 0, eval loss only */
                    assert_int_equal(json_integer_value(json_object_get(o, "step")), 0);
                    assert_non_null(json_object_get(o, "eval_loss"));
                    assert_null(json_object_get(o, "loss"));
                } else {
                    assert_non_null(json_object_get(o, "loss"));
                }
                json_decref(o);
            }
            assert_true(lines >= 3);
        }
        if (i == 3) check_svg((const char *)data);
        free(data);
    }
    /* the adapter scores with ptune score */
    snprintf(args, sizeof args, "score '%s/fixtures/models/tiny-llama.gguf' --text 'aab aac' --prompt '%s/out'",
             pt_test_shared(), dir);
    assert_int_equal(run_ptune(args, &out), 0);
    free(out);
    /* --storage reaches the loader: the F16 copy trains with native storage as with f32 */
    double *adapter[2];
    size_t n_values[2];
    for (int k = 0; k < 2; k++) {
        snprintf(args, sizeof args, "train '%s' --set model='%s/fixtures/models/tiny-llama-f16.gguf' --set output_dir='%s/out%d' %s",
                 cfg, pt_test_shared(), dir, k, k ? "--storage native" : "");
        rc = run_ptune(args, &out);
        if (rc != 0) fail_msg("ptune %s exited %d:\n%s", args, rc, out);
        free(out);
        char p[4200];
        snprintf(p, sizeof p, "%s/out%d/adapter_model.safetensors", dir, k);
        pt_safetensors st;
        assert_int_equal(pt_safetensors_open(p, &st), PTUNE_OK);
        adapter[k] = pt_test_tensor_f64(&st, "prompt_embeddings", &n_values[k]);
        pt_safetensors_close(&st);
    }
    assert_true(n_values[0] == n_values[1] && n_values[0] > 0);
    for (size_t i = 0; i < n_values[0]; i++)
        if (fabs(adapter[0][i] - adapter[1][i]) > 1e-4) fail_msg("prompt value %zu: %g (f32) vs %g (native)", i, adapter[0][i], adapter[1][i]);
    free(adapter[0]);
    free(adapter[1]);
    snprintf(args, sizeof args, "train '%s' --storage f16", cfg);
    assert_int_equal(run_ptune(args, &out), 2);
    free(out);
    /* config errors come with file:line:column */
    char *bad = write_run(dir, "bogus_key: 1\n");
    snprintf(args, sizeof args, "train '%s'", bad);
    assert_int_equal(run_ptune(args, &out), 1);
    assert_non_null(strstr(out, "bogus_key"));
    assert_non_null(strstr(out, ":8:"));
    free(out);
    free(bad);
    free(cfg);
    pt_test_rmtree(dir);
    free(dir);
}

/* Ctrl-C: the run stops cleanly, with a checkpoint and the prompt so far. */
static void test_train_sigint(void **state)
{
    (void)state;
    char *dir = pt_test_tmpdir();
    char *cfg = write_run(dir, "checkpoint: {every: 0, keep: 2}\n");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' train '%s' --set train.max_steps=1000000 --set train.epochs=1000 >/dev/null 2>&1 & pid=$!; "
             "sleep 1.5; kill -INT $pid; wait $pid; echo $?",
             PT_PTUNE_EXE, cfg);
    FILE *p = popen(cmd, "r");
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    assert_int_equal(atoi(line), 130);
    char path[4200];
    snprintf(path, sizeof path, "%s/out/adapter_model.safetensors", dir);
    size_t n;
    free(pt_test_read_file(path, &n));
    snprintf(cmd, sizeof cmd, "ls -d '%s'/out/checkpoints/checkpoint-* | wc -l", dir);
    p = popen(cmd, "r");
    assert_non_null(fgets(line, sizeof line, p));
    pclose(p);
    assert_true(atoi(line) >= 1);
    free(cfg);
    pt_test_rmtree(dir);
    free(dir);
}

/* `ptune generate MODEL --text "" --max-new-tokens 40 --temperature 0` prints the golden greedy
 * text of aidreams260K, for the GGUF and the HF form. */
static void test_generate_golden(void **state)
{
    (void)state;
    char *golden = pt_test_shared_path("models/aidreams260K-golden.json");
    json_error_t e;
    json_t *g = json_load_file(golden, 0, &e);
    assert_non_null(g);
    const char *want = json_string_value(json_object_get(json_object_get(g, "greedy_from_bos_40"), "text"));
    const char *forms[] = {"models/aidreams260K.gguf", "models/aidreams260K-hf"};
    for (int f = 0; f < 2; f++) {
        char args[4096], *out;
        snprintf(args, sizeof args, "generate '%s/%s' --text '' --max-new-tokens 40 --temperature 0", pt_test_shared(),
                 forms[f]);
        assert_int_equal(run_ptune(args, &out), 0);
        size_t n = strlen(out);
        assert_true(n > 0 && out[n - 1] == '\n');
        out[n - 1] = '\0';
        assert_string_equal(out, want);
        free(out);
    }
    json_decref(g);
    free(golden);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_info),
        cmocka_unit_test(test_score_matches_reference_logits),
        cmocka_unit_test(test_score_with_prompt),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_tokenize_detokenize),
        cmocka_unit_test(test_score_text),
        cmocka_unit_test(test_generate_golden),
        cmocka_unit_test(test_train),
        cmocka_unit_test(test_train_sigint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
