/* Soft prompts: every init kind (seeds, exact embedding rows, TEXT truncation/repeat, label means),
 * PEFT adapter save/load, byte equality with the fixture adapters, load rejections, save failures. */
#include "test_support.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/rng.h"
#include "formats/safetensors_write.h"
#include "model/model.h"
#include "ptune/ptune.h"

static ptune_model *llama, *bloom, *aidreams, *aidreams_hf;

static int setup(void **state)
{
    (void)state;
    llama = pt_test_load_model("fixtures/models/tiny-llama");
    bloom = pt_test_load_model("fixtures/models/tiny-bloom");
    aidreams = pt_test_load_model("models/aidreams260K.gguf");
    aidreams_hf = pt_test_load_model("models/aidreams260K-hf");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ptune_model_free(llama);
    ptune_model_free(bloom);
    ptune_model_free(aidreams);
    ptune_model_free(aidreams_hf);
    return 0;
}

static const float *embedding_row(const ptune_model *m, int32_t id)
{
    return pt_global_w(m, PT_SLOT_TOK_EMBD) + (size_t)id * (size_t)m->hp.n_embd;
}

static ptune_prompt *make(const ptune_model *m, int32_t init, int32_t n_virtual, uint64_t seed, const char *text,
                          const char *const *labels, int32_t n_labels)
{
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = n_virtual;
    pp.init = init;
    pp.seed = seed;
    pp.init_text = text;
    pp.labels = labels;
    pp.n_labels = n_labels;
    ptune_prompt *p = NULL;
    if (ptune_prompt_new(m, &pp, &p)) fail_msg("ptune_prompt_new(init %d): %s", init, ptune_last_error());
    for (size_t i = 0; i < (size_t)n_virtual * (size_t)m->hp.n_embd; i++) assert_true(ptune_prompt_grad(p)[i] == 0.0f);
    return p;
}

static size_t prompt_bytes(ptune_prompt *p)
{
    return (size_t)ptune_prompt_n_virtual(p) * (size_t)ptune_prompt_n_embd(p) * sizeof(float);
}

static int32_t *tokenize(const ptune_model *m, const char *text, bool add_special, int32_t *n)
{
    int32_t cap = 0;
    assert_int_equal(ptune_tokenize(m, text, strlen(text), add_special, NULL, 0, &cap), PTUNE_E_BUFFER_TOO_SMALL);
    int32_t *ids = malloc(sizeof *ids * (size_t)(cap ? cap : 1));
    assert_non_null(ids);
    assert_int_equal(ptune_tokenize(m, text, strlen(text), add_special, ids, cap, n), PTUNE_OK);
    return ids;
}

/* ------------------------------------------------------------------------------------- */

static void test_init_errors(void **state)
{
    (void)state;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    ptune_prompt *p = (ptune_prompt *)0x1;
    assert_int_equal(ptune_prompt_new(llama, &pp, &p), PTUNE_E_INVALID_ARG); /* n_virtual 0 */
    assert_null(p);
    assert_int_equal(ptune_prompt_new(NULL, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_prompt_new(llama, &pp, NULL), PTUNE_E_INVALID_ARG);
    pp.n_virtual = 4;
    pp.init = 7;
    assert_int_equal(ptune_prompt_new(llama, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "7"));
    pp.init = PTUNE_PROMPT_INIT_TEXT; /* no text */
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "init_text"));
    pp.init = PTUNE_PROMPT_INIT_CLASS_LABELS; /* no labels */
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    const char *labels[] = {"good", "bad", "ugly", "fine", "odd"};
    pp.labels = labels;
    pp.n_labels = 5; /* more labels than the 4 rows */
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "5 labels"));
    const char *with_null[] = {"good", NULL};
    pp.labels = with_null;
    pp.n_labels = 2;
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    const char *with_empty[] = {"good", ""}; /* "" has no tokens without special tokens */
    pp.labels = with_empty;
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "label 1"));
    assert_null(p);

    /* the tiny fixture models come without a tokenizer */
    pp.labels = labels;
    pp.n_labels = 2;
    assert_int_equal(ptune_prompt_new(llama, &pp, &p), PTUNE_E_STATE);
    assert_non_null(strstr(ptune_last_error(), "tokenizer"));
    pp.init = PTUNE_PROMPT_INIT_TEXT;
    pp.init_text = "hello";
    assert_int_equal(ptune_prompt_new(llama, &pp, &p), PTUNE_E_STATE);
    pp.init_text = "bad \xff utf-8";
    assert_int_equal(ptune_prompt_new(aidreams, &pp, &p), PTUNE_E_INVALID_ARG);
    ptune_prompt_params_init(&pp);
    pp.struct_size = 10000;
    assert_int_equal(ptune_prompt_new(llama, &pp, &p), PTUNE_E_INVALID_ARG);
    assert_non_null(strstr(ptune_last_error(), "struct_size"));
    assert_null(p);
}

/* Every kind gives the same values for the same params; the seeded kinds differ across seeds,
 * TEXT does not depend on the seed. */
static void test_reproducible_per_seed(void **state)
{
    (void)state;
    const char *labels[] = {"happy", "sad"};
    const int32_t kinds[] = {PTUNE_PROMPT_INIT_RANDOM, PTUNE_PROMPT_INIT_TEXT, PTUNE_PROMPT_INIT_SAMPLE_VOCAB,
                             PTUNE_PROMPT_INIT_CLASS_LABELS};
    for (size_t k = 0; k < 4; k++) {
        ptune_prompt *a = make(aidreams, kinds[k], 8, 11, "a dream of light", labels, 2);
        ptune_prompt *b = make(aidreams, kinds[k], 8, 11, "a dream of light", labels, 2);
        ptune_prompt *c = make(aidreams, kinds[k], 8, 12, "a dream of light", labels, 2);
        assert_int_equal(ptune_prompt_n_virtual(a), 8);
        assert_int_equal(ptune_prompt_n_embd(a), 64);
        assert_memory_equal(ptune_prompt_values(a), ptune_prompt_values(b), prompt_bytes(a));
        if (kinds[k] == PTUNE_PROMPT_INIT_TEXT)
            assert_memory_equal(ptune_prompt_values(a), ptune_prompt_values(c), prompt_bytes(a));
        else
            assert_memory_not_equal(ptune_prompt_values(a), ptune_prompt_values(c), prompt_bytes(a));
        if (kinds[k] == PTUNE_PROMPT_INIT_CLASS_LABELS) /* label rows do not depend on the seed */
            assert_memory_equal(ptune_prompt_values(a), ptune_prompt_values(c), 2 * 64 * sizeof(float));
        ptune_prompt_free(a);
        ptune_prompt_free(b);
        ptune_prompt_free(c);
    }
}

static void check_text_rows(const ptune_model *m, const char *text, int32_t n_virtual, int expect_cmp)
{
    int32_t n = 0;
    int32_t *ids = tokenize(m, text, true, &n);
    assert_true(n > 0);
    assert_int_equal(ids[0], ptune_model_bos_id(m)); /* the tokenizer's default call adds BOS */
    if (expect_cmp > 0) assert_true(n > n_virtual);  /* truncated */
    if (expect_cmp < 0) assert_true(n < n_virtual);  /* repeated */
    ptune_prompt *p = make(m, PTUNE_PROMPT_INIT_TEXT, n_virtual, 0, text, NULL, 0);
    const int32_t D = m->hp.n_embd;
    for (int32_t r = 0; r < n_virtual; r++)
        assert_memory_equal(ptune_prompt_values(p) + (size_t)r * D, embedding_row(m, ids[r % n]), D * sizeof(float));
    ptune_prompt_free(p);
    free(ids);
}

static void test_text_init(void **state)
{
    (void)state;
    const char *long_text = "Once upon a time, a small machine dreamed of an endless ocean of stars.";
    const char *short_text = "dream";
    for (int k = 0; k < 2; k++) {
        ptune_model *m = k ? aidreams_hf : aidreams;
        check_text_rows(m, long_text, 6, 1);
        check_text_rows(m, short_text, 13, -1); /* [BOS, ...] * ceil(13 / n) then the first 13 */
        int32_t n = 0;
        int32_t *ids = tokenize(m, short_text, true, &n);
        check_text_rows(m, short_text, n, 0); /* exactly as many ids as rows */
        free(ids);
    }
    /* GGUF and HF tokenizers agree, so the two packagings give the same prompt */
    ptune_prompt *a = make(aidreams, PTUNE_PROMPT_INIT_TEXT, 9, 0, long_text, NULL, 0);
    ptune_prompt *b = make(aidreams_hf, PTUNE_PROMPT_INIT_TEXT, 9, 0, long_text, NULL, 0);
    assert_memory_equal(ptune_prompt_values(a), ptune_prompt_values(b), prompt_bytes(a));
    ptune_prompt_free(a);
    ptune_prompt_free(b);
}

static void test_sample_vocab(void **state)
{
    (void)state;
    /* needs no tokenizer: ids are drawn from the embedding's rows */
    ptune_prompt *p = make(llama, PTUNE_PROMPT_INIT_SAMPLE_VOCAB, 50, 99, NULL, NULL, 0);
    pt_rng rng;
    pt_rng_seed(&rng, 99);
    const int32_t D = llama->hp.n_embd;
    int distinct_from_first = 0;
    for (int32_t r = 0; r < 50; r++) {
        int32_t id = (int32_t)pt_rng_below(&rng, (uint64_t)llama->hp.n_vocab);
        assert_memory_equal(ptune_prompt_values(p) + (size_t)r * D, embedding_row(llama, id), D * sizeof(float));
        distinct_from_first += memcmp(ptune_prompt_values(p) + (size_t)r * D, ptune_prompt_values(p), D * sizeof(float)) != 0;
    }
    assert_true(distinct_from_first > 40);
    ptune_prompt_free(p);
}

static void test_class_labels(void **state)
{
    (void)state;
    const char *labels[] = {"positive", "negative", "a neutral mood"};
    const int32_t nv = 7, D = aidreams->hp.n_embd;
    ptune_prompt *p = make(aidreams, PTUNE_PROMPT_INIT_CLASS_LABELS, nv, 5, NULL, labels, 3);
    for (int32_t i = 0; i < 3; i++) {
        int32_t n = 0;
        int32_t *ids = tokenize(aidreams, labels[i], false, &n);
        assert_true(n >= 1);
        assert_int_not_equal(ids[0], ptune_model_bos_id(aidreams)); /* no special tokens */
        for (int32_t d = 0; d < D; d++) {
            double sum = 0;
            for (int32_t t = 0; t < n; t++) sum += embedding_row(aidreams, ids[t])[d];
            assert_true(ptune_prompt_values(p)[(size_t)i * D + d] == (float)(sum / n));
        }
        free(ids);
    }
    pt_rng rng; /* the remaining rows: SAMPLE_VOCAB draws with the seed */
    pt_rng_seed(&rng, 5);
    for (int32_t r = 3; r < nv; r++) {
        int32_t id = (int32_t)pt_rng_below(&rng, (uint64_t)aidreams->hp.n_vocab);
        assert_memory_equal(ptune_prompt_values(p) + (size_t)r * D, embedding_row(aidreams, id), D * sizeof(float));
    }
    ptune_prompt_free(p);
    /* as many labels as rows: no sampled row at all */
    p = make(aidreams, PTUNE_PROMPT_INIT_CLASS_LABELS, 3, 1, NULL, labels, 3);
    ptune_prompt *q = make(aidreams, PTUNE_PROMPT_INIT_CLASS_LABELS, 3, 2, NULL, labels, 3);
    assert_memory_equal(ptune_prompt_values(p), ptune_prompt_values(q), prompt_bytes(p));
    ptune_prompt_free(p);
    ptune_prompt_free(q);
}

/* ------------------------------------------------------------------------------------- */

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    assert_non_null(s);
    snprintf(s, n, "%s/%s", a, b);
    return s;
}

static json_t *load_json(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j) fail_msg("%s: %s", path, e.text);
    return j;
}

/* Names in `dir`, sorted, joined by ','. */
static char *list_dir(const char *dir)
{
    char *names[64];
    int n = 0;
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = strdup(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    char *out = calloc(1, 4096);
    assert_non_null(out);
    for (int i = 0; i < n; i++) {
        if (i) strcat(out, ",");
        strncat(out, names[i], 4000 - strlen(out));
        free(names[i]);
    }
    return out;
}

static void test_save_load_roundtrip(void **state)
{
    (void)state;
    const char *labels[] = {"yes", "no"};
    const char *text = "caf\xc3\xa9 \"dreams\"\n\xf0\x9f\x98\x80 / \x7f end"; /* é, quotes, newline, U+1F600, DEL */
    struct {
        ptune_model *m;
        int32_t init;
        const char *init_name;
    } cases[] = {
        {llama, PTUNE_PROMPT_INIT_RANDOM, "RANDOM"},
        {aidreams, PTUNE_PROMPT_INIT_TEXT, "TEXT"},
        {aidreams_hf, PTUNE_PROMPT_INIT_SAMPLE_VOCAB, "SAMPLE_VOCAB"},
        {aidreams, PTUNE_PROMPT_INIT_CLASS_LABELS, "RANDOM"}, /* not a PEFT init name */
    };
    char *tmp = pt_test_tmpdir();
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        ptune_model *m = cases[k].m;
        ptune_prompt *p = make(m, cases[k].init, 6, 3, text, labels, 2);
        ptune_prompt_values(p)[1] = -0.0f;
        ptune_prompt_values(p)[2] = 1e-38f; /* a normal near the bottom of the range */
        char sub[64];
        snprintf(sub, sizeof sub, "case%zu/nested/dir/", k); /* created like os.makedirs */
        char *dir = join(tmp, sub);
        assert_int_equal(ptune_prompt_save(p, dir), PTUNE_OK);
        assert_int_equal(ptune_prompt_save(p, dir), PTUNE_OK); /* overwriting is fine */
        char *listing = list_dir(dir);
        assert_string_equal(listing, "adapter_config.json,adapter_model.safetensors"); /* no temporaries */
        free(listing);

        ptune_prompt *q = NULL;
        if (ptune_prompt_load(m, dir, &q)) fail_msg("%s: %s", dir, ptune_last_error());
        assert_int_equal(ptune_prompt_n_virtual(q), 6);
        assert_memory_equal(ptune_prompt_values(p), ptune_prompt_values(q), prompt_bytes(p));
        /* the safetensors file alone loads too */
        char *st = join(dir, "adapter_model.safetensors");
        ptune_prompt *r = NULL;
        assert_int_equal(ptune_prompt_load(m, st, &r), PTUNE_OK);
        assert_memory_equal(ptune_prompt_values(p), ptune_prompt_values(r), prompt_bytes(p));
        ptune_prompt_free(r);

        char *cfg_path = join(dir, "adapter_config.json");
        json_t *cfg = load_json(cfg_path);
        assert_string_equal(json_string_value(json_object_get(cfg, "peft_type")), "PROMPT_TUNING");
        assert_string_equal(json_string_value(json_object_get(cfg, "task_type")), "CAUSAL_LM");
        assert_true(json_is_true(json_object_get(cfg, "inference_mode")));
        assert_int_equal(json_integer_value(json_object_get(cfg, "num_virtual_tokens")), 6);
        assert_int_equal(json_integer_value(json_object_get(cfg, "token_dim")), m->hp.n_embd);
        assert_int_equal(json_integer_value(json_object_get(cfg, "num_layers")), m->hp.n_layer);
        assert_int_equal(json_integer_value(json_object_get(cfg, "num_attention_heads")), m->hp.n_head);
        assert_int_equal(json_integer_value(json_object_get(cfg, "num_transformer_submodules")), 1);
        assert_string_equal(json_string_value(json_object_get(cfg, "prompt_tuning_init")), cases[k].init_name);
        assert_string_equal(json_string_value(json_object_get(cfg, "base_model_name_or_path")), m->source_path);
        assert_int_equal(json_object_size(cfg), 16);
        if (cases[k].init == PTUNE_PROMPT_INIT_TEXT) {
            assert_string_equal(json_string_value(json_object_get(cfg, "prompt_tuning_init_text")), text);
            assert_string_equal(json_string_value(json_object_get(cfg, "tokenizer_name_or_path")), m->source_path);
            /* Python's ensure_ascii escaping, lowercase hex, surrogate pair */
            size_t n;
            char *raw = (char *)pt_test_read_file(cfg_path, &n);
            assert_non_null(strstr(raw, "\"prompt_tuning_init_text\": "
                                        "\"caf\\u00e9 \\\"dreams\\\"\\n\\ud83d\\ude00 / \\u007f end\",\n"));
            free(raw);
        } else {
            assert_true(json_is_null(json_object_get(cfg, "prompt_tuning_init_text")));
            assert_true(json_is_null(json_object_get(cfg, "tokenizer_name_or_path")));
        }
        /* a re-save of the loaded prompt reproduces both files byte for byte */
        char *dir2 = join(tmp, "resave");
        assert_int_equal(ptune_prompt_save(q, dir2), PTUNE_OK);
        const char *files[] = {"adapter_config.json", "adapter_model.safetensors"};
        for (int f = 0; f < 2; f++) {
            char *a = join(dir, files[f]), *b = join(dir2, files[f]);
            size_t na, nb;
            unsigned char *da = pt_test_read_file(a, &na), *db = pt_test_read_file(b, &nb);
            assert_int_equal(na, nb);
            assert_memory_equal(da, db, na);
            free(da);
            free(db);
            free(a);
            free(b);
        }
        json_decref(cfg);
        free(cfg_path);
        free(st);
        free(dir2);
        free(dir);
        ptune_prompt_free(p);
        ptune_prompt_free(q);
    }
    pt_test_rmtree(tmp);
    free(tmp);
}

/* Load each fixture adapter (written in PEFT's save_pretrained layout) and save it again. */
static void test_fixture_adapters_byte_equal(void **state)
{
    (void)state;
    const char *names[] = {"tiny-bloom", "tiny-gpt2", "tiny-llama", "tiny-qwen2"};
    char *tmp = pt_test_tmpdir();
    for (int k = 0; k < 4; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "fixtures/models/%s", names[k]);
        ptune_model *m = pt_test_load_model(rel);
        snprintf(rel, sizeof rel, "fixtures/%s/peft_adapter", names[k]);
        char *adapter = pt_test_shared_path(rel);
        ptune_prompt *p = NULL;
        if (ptune_prompt_load(m, adapter, &p)) fail_msg("%s: %s", adapter, ptune_last_error());
        char *out = join(tmp, names[k]);
        assert_int_equal(ptune_prompt_save(p, out), PTUNE_OK);

        /* the tensor file: identical bytes */
        char *fa = join(adapter, "adapter_model.safetensors"), *fb = join(out, "adapter_model.safetensors");
        size_t na, nb;
        unsigned char *da = pt_test_read_file(fa, &na), *db = pt_test_read_file(fb, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(da, db, na);
        free(da);
        free(db);
        free(fa);
        free(fb);

        /* the config: same keys and values (base_model_name_or_path is the fixture's bare name,
         * kept from the loaded file as PEFT keeps it) ... */
        char *ca = join(adapter, "adapter_config.json"), *cb = join(out, "adapter_config.json");
        json_t *ja = load_json(ca), *jb = load_json(cb);
        assert_int_equal(json_object_size(ja), json_object_size(jb));
        const char *key;
        json_t *val;
        json_object_foreach(ja, key, val) {
            json_t *other = json_object_get(jb, key);
            if (!other) fail_msg("%s: key %s missing from the re-saved config", names[k], key);
            if (!json_equal(val, other)) fail_msg("%s: key %s differs", names[k], key);
        }
        assert_string_equal(json_string_value(json_object_get(jb, "base_model_name_or_path")), names[k]);
        /* ... and the same text: PEFT writes json.dumps(indent=2, sort_keys=True) with no final
         * newline; the fixture files end with one '\n', the only difference */
        unsigned char *ta = pt_test_read_file(ca, &na), *tb = pt_test_read_file(cb, &nb);
        assert_true(na > 0 && ta[na - 1] == '\n');
        assert_int_equal(na - 1, nb);
        assert_memory_equal(ta, tb, nb);
        free(ta);
        free(tb);
        json_decref(ja);
        json_decref(jb);
        free(ca);
        free(cb);
        free(out);
        free(adapter);
        ptune_prompt_free(p);
        ptune_model_free(m);
    }
    pt_test_rmtree(tmp);
    free(tmp);
}

/* Non-null values PEFT would keep (revision, tokenizer_kwargs, modules_to_save, auto_mapping,
 * nested containers, floats) survive a load/save cycle in Python's exact formatting. */
/* The fixture adapters load to exactly their stored values and score exactly like a prompt
 * filled with those raw values. */
static void test_fixture_adapters_score(void **state)
{
    (void)state;
    const char *names[] = {"tiny-bloom", "tiny-gpt2", "tiny-llama", "tiny-qwen2"};
    const int32_t ids[] = {5, 77, 300, 12, 9, 401, 33};
    const int32_t len = 7;
    const int32_t *seqs[1] = {ids};
    ptune_batch b = {.n_seq = 1, .ids = seqs, .len = &len};
    for (int k = 0; k < 4; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "fixtures/models/%s", names[k]);
        ptune_model *m = pt_test_load_model(rel);
        snprintf(rel, sizeof rel, "fixtures/%s/peft_adapter/adapter_model.safetensors", names[k]);
        char *file = pt_test_shared_path(rel);
        pt_safetensors st;
        assert_int_equal(pt_safetensors_open(file, &st), PTUNE_OK);
        size_t n;
        double *raw = pt_test_tensor_f64(&st, "prompt_embeddings", &n);
        snprintf(rel, sizeof rel, "fixtures/%s/peft_adapter", names[k]);
        char *adapter = pt_test_shared_path(rel);
        ptune_prompt *loaded = NULL, *manual = NULL;
        assert_int_equal(ptune_prompt_load(m, adapter, &loaded), PTUNE_OK);
        ptune_prompt_params pp;
        ptune_prompt_params_init(&pp);
        pp.n_virtual = ptune_prompt_n_virtual(loaded);
        assert_int_equal(ptune_prompt_new(m, &pp, &manual), PTUNE_OK);
        assert_int_equal((size_t)pp.n_virtual * (size_t)ptune_model_n_embd(m), n);
        for (size_t i = 0; i < n; i++) {
            ptune_prompt_values(manual)[i] = (float)raw[i];
            assert_true(ptune_prompt_values(loaded)[i] == (float)raw[i]);
        }
        ptune_ctx *c;
        assert_int_equal(ptune_ctx_new(m, NULL, &c), PTUNE_OK);
        double la, lb;
        assert_int_equal(ptune_forward(c, loaded, &b), PTUNE_OK);
        assert_int_equal(ptune_loss(c, &la, NULL), PTUNE_OK);
        assert_int_equal(ptune_forward(c, manual, &b), PTUNE_OK);
        assert_int_equal(ptune_loss(c, &lb, NULL), PTUNE_OK);
        assert_true(la == lb);
        ptune_ctx_free(c);
        ptune_prompt_free(loaded);
        ptune_prompt_free(manual);
        free(raw);
        pt_safetensors_close(&st);
        free(file);
        free(adapter);
        ptune_model_free(m);
    }
}

static void test_config_values_kept(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    char *in = join(tmp, "in"), *out = join(tmp, "out");
    assert_int_equal(mkdir(in, 0755), 0);
    char *fixture = pt_test_shared_path("fixtures/tiny-llama/peft_adapter/adapter_model.safetensors");
    size_t n;
    unsigned char *st = pt_test_read_file(fixture, &n);
    char *st_in = join(in, "adapter_model.safetensors");
    pt_test_write_file(st_in, st, n);
    const char *cfg = "{\"task_type\": \"CAUSAL_LM\", \"peft_type\": \"PROMPT_TUNING\", \"num_virtual_tokens\": 5,"
                      " \"token_dim\": 64, \"revision\": \"v1.0\", \"modules_to_save\": [\"lm_head\"],"
                      " \"tokenizer_kwargs\": {\"b\": [1, 2.5, 1e-05, 100000.0, 1e16, 0.0001, -0.0, 1.5e300,"
                      " 123456789012345678.0, 0.1, 0.3333333333333333, 5e-324, 12345.678, 1e22, \"\\u00e9\"],"
                      " \"a\": {}, \"c\": []}, \"auto_mapping\": {\"base_model_class\": \"X\"},"
                      " \"prompt_tuning_init\": \"TEXT\", \"prompt_tuning_init_text\": \"Hi\","
                      " \"tokenizer_name_or_path\": \"tok\", \"base_model_name_or_path\": null,"
                      " \"num_layers\": 9, \"num_attention_heads\": 2, \"inference_mode\": false}";
    char *cfg_in = join(in, "adapter_config.json");
    pt_test_write_file(cfg_in, cfg, strlen(cfg));
    ptune_prompt *p = NULL;
    if (ptune_prompt_load(llama, in, &p)) fail_msg("%s", ptune_last_error());
    assert_int_equal(ptune_prompt_save(p, out), PTUNE_OK);
    char *cfg_out = join(out, "adapter_config.json");
    unsigned char *text = pt_test_read_file(cfg_out, &n);
    /* json.dumps(cfg, indent=2, sort_keys=True) as Python writes it; base_model_name_or_path
     * null is filled with the model's path as PEFT's save_pretrained does */
    char expected[2048];
    snprintf(expected, sizeof expected,
             "{\n"
             "  \"auto_mapping\": {\n"
             "    \"base_model_class\": \"X\"\n"
             "  },\n"
             "  \"base_model_name_or_path\": \"%s\",\n"
             "  \"inference_mode\": true,\n"
             "  \"modules_to_save\": [\n"
             "    \"lm_head\"\n"
             "  ],\n"
             "  \"num_attention_heads\": 2,\n"
             "  \"num_layers\": 9,\n"
             "  \"num_transformer_submodules\": 1,\n"
             "  \"num_virtual_tokens\": 5,\n"
             "  \"peft_type\": \"PROMPT_TUNING\",\n"
             "  \"prompt_tuning_init\": \"TEXT\",\n"
             "  \"prompt_tuning_init_text\": \"Hi\",\n"
             "  \"revision\": \"v1.0\",\n"
             "  \"task_type\": \"CAUSAL_LM\",\n"
             "  \"token_dim\": 64,\n"
             "  \"tokenizer_kwargs\": {\n"
             "    \"a\": {},\n"
             "    \"b\": [\n"
             "      1,\n"
             "      2.5,\n"
             "      1e-05,\n"
             "      100000.0,\n"
             "      1e+16,\n"
             "      0.0001,\n"
             "      -0.0,\n"
             "      1.5e+300,\n"
             "      1.2345678901234568e+17,\n"
             "      0.1,\n"
             "      0.3333333333333333,\n"
             "      5e-324,\n"
             "      12345.678,\n"
             "      1e+22,\n"
             "      \"\\u00e9\"\n"
             "    ],\n"
             "    \"c\": []\n"
             "  },\n"
             "  \"tokenizer_name_or_path\": \"tok\"\n"
             "}",
             llama->source_path);
    assert_string_equal((char *)text, expected);
    free(text);
    free(cfg_out);
    free(cfg_in);
    free(st_in);
    free(st);
    free(fixture);
    ptune_prompt_free(p);
    free(in);
    free(out);
    pt_test_rmtree(tmp);
    free(tmp);
}

/* Builds an adapter directory from the llama fixture's tensor file and `cfg` (NULL: none). */
static char *make_adapter(const char *tmp, const char *name, const char *cfg, size_t tensor_bytes)
{
    char *dir = join(tmp, name);
    assert_int_equal(mkdir(dir, 0755), 0);
    char *fixture = pt_test_shared_path("fixtures/tiny-llama/peft_adapter/adapter_model.safetensors");
    size_t n;
    unsigned char *st = pt_test_read_file(fixture, &n);
    char *st_path = join(dir, "adapter_model.safetensors");
    if (tensor_bytes) pt_test_write_file(st_path, st, tensor_bytes < n ? tensor_bytes : n);
    if (cfg) {
        char *cfg_path = join(dir, "adapter_config.json");
        pt_test_write_file(cfg_path, cfg, strlen(cfg));
        free(cfg_path);
    }
    free(st_path);
    free(st);
    free(fixture);
    return dir;
}

static void expect_load_error(const char *dir, ptune_status want, const char *needle)
{
    ptune_prompt *p = (ptune_prompt *)0x1;
    ptune_status s = ptune_prompt_load(llama, dir, &p);
    if (s != want) fail_msg("%s: got %d (%s), want %d", dir, s, ptune_last_error(), want);
    assert_null(p);
    if (needle && !strstr(ptune_last_error(), needle)) fail_msg("\"%s\" not in: %s", needle, ptune_last_error());
}

#define CFG(extra) "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"CAUSAL_LM\", \"num_virtual_tokens\": 5" extra "}"

static void test_load_rejects(void **state)
{
    (void)state;
    /* token_dim: the bloom adapter (72) on the llama model (64) */
    char *bloom_adapter = pt_test_shared_path("fixtures/tiny-bloom/peft_adapter");
    expect_load_error(bloom_adapter, PTUNE_E_FORMAT, "token_dim 72");
    assert_non_null(strstr(ptune_last_error(), "64"));
    free(bloom_adapter);
    /* the same file without its config: the tensor's width is checked */
    char *bloom_st = pt_test_shared_path("fixtures/tiny-bloom/peft_adapter/adapter_model.safetensors");
    expect_load_error(bloom_st, PTUNE_E_FORMAT, "72");
    assert_non_null(strstr(ptune_last_error(), "64"));
    free(bloom_st);

    char *tmp = pt_test_tmpdir();
    char *d;
    const size_t full = 1400;
    d = make_adapter(tmp, "lora", "{\"peft_type\": \"LORA\", \"task_type\": \"CAUSAL_LM\"}", full);
    expect_load_error(d, PTUNE_E_FORMAT, "peft_type");
    assert_non_null(strstr(ptune_last_error(), "LORA"));
    free(d);
    d = make_adapter(tmp, "no_peft_type", "{\"task_type\": \"CAUSAL_LM\"}", full);
    expect_load_error(d, PTUNE_E_FORMAT, "peft_type");
    free(d);
    d = make_adapter(tmp, "seq2seq", "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"SEQ_2_SEQ_LM\"}", full);
    expect_load_error(d, PTUNE_E_FORMAT, "task_type");
    free(d);
    d = make_adapter(tmp, "dim", CFG(", \"token_dim\": 72"), full);
    expect_load_error(d, PTUNE_E_FORMAT, "token_dim 72");
    free(d);
    d = make_adapter(tmp, "dim_type", CFG(", \"token_dim\": \"64\""), full);
    expect_load_error(d, PTUNE_E_FORMAT, "token_dim");
    free(d);
    d = make_adapter(tmp, "rows", "{\"peft_type\": \"PROMPT_TUNING\", \"task_type\": \"CAUSAL_LM\", \"num_virtual_tokens\": 6}",
                     full);
    expect_load_error(d, PTUNE_E_FORMAT, "num_virtual_tokens");
    free(d);
    d = make_adapter(tmp, "submodules", CFG(", \"num_transformer_submodules\": 2"), full);
    expect_load_error(d, PTUNE_E_FORMAT, "num_transformer_submodules");
    free(d);
    d = make_adapter(tmp, "bad_json", "{\"peft_type\": ", full);
    expect_load_error(d, PTUNE_E_FORMAT, "adapter_config.json");
    free(d);
    d = make_adapter(tmp, "truncated", CFG(""), 200);
    expect_load_error(d, PTUNE_E_FORMAT, "adapter_model.safetensors");
    free(d);
    d = make_adapter(tmp, "header_only", CFG(""), 7);
    expect_load_error(d, PTUNE_E_FORMAT, NULL);
    free(d);
    d = make_adapter(tmp, "no_weights", CFG(""), 0);
    expect_load_error(d, PTUNE_E_IO, "adapter_model.safetensors");
    free(d);

    /* a tensor file without prompt_embeddings */
    d = make_adapter(tmp, "missing_tensor", CFG(""), 0);
    float zeros[5 * 64] = {0};
    pt_st_write_tensor t = {.name = "embedding.weight", .dtype = PT_DTYPE_F32, .n_dims = 2, .shape = {5, 64}, .data = zeros};
    char *st = join(d, "adapter_model.safetensors");
    assert_int_equal(pt_safetensors_write(st, &t, 1, "{\"format\":\"pt\"}"), PTUNE_OK);
    expect_load_error(d, PTUNE_E_FORMAT, "prompt_embeddings");
    /* NaN values */
    zeros[7] = NAN;
    t.name = "prompt_embeddings";
    assert_int_equal(pt_safetensors_write(st, &t, 1, "{\"format\":\"pt\"}"), PTUNE_OK);
    expect_load_error(d, PTUNE_E_NUMERIC, "NaN");
    /* F16 is accepted and converted */
    uint16_t halves[5 * 64];
    for (int i = 0; i < 5 * 64; i++) halves[i] = 0x3c00; /* 1.0 */
    t.dtype = PT_DTYPE_F16;
    t.data = halves;
    assert_int_equal(pt_safetensors_write(st, &t, 1, "{\"format\":\"pt\"}"), PTUNE_OK);
    ptune_prompt *p = NULL;
    assert_int_equal(ptune_prompt_load(llama, d, &p), PTUNE_OK);
    assert_true(ptune_prompt_values(p)[5 * 64 - 1] == 1.0f);
    ptune_prompt_free(p);
    free(st);
    free(d);

    expect_load_error("/nonexistent/adapter", PTUNE_E_IO, "/nonexistent/adapter");
    assert_int_equal(ptune_prompt_load(NULL, tmp, &p), PTUNE_E_INVALID_ARG);
    pt_test_rmtree(tmp);
    free(tmp);
}

static char warnings[4096];
static int n_warnings;

static void on_log(ptune_log_level level, const char *message, void *user)
{
    (void)user;
    if (level != PTUNE_LOG_WARN) return;
    n_warnings++;
    strncat(warnings, message, sizeof warnings - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static void test_unknown_key_warns(void **state)
{
    (void)state;
    char *tmp = pt_test_tmpdir();
    char *d = make_adapter(tmp, "extra", CFG(", \"my_extra_setting\": {\"x\": 1}, \"peft_version\": \"0.17.0\""), 1400);
    warnings[0] = '\0';
    n_warnings = 0;
    ptune_set_log_callback(on_log, NULL, PTUNE_LOG_DEBUG);
    ptune_prompt *p = NULL;
    ptune_status s = ptune_prompt_load(llama, d, &p);
    ptune_set_log_callback(NULL, NULL, PTUNE_LOG_DEBUG);
    assert_int_equal(s, PTUNE_OK);
    assert_int_equal(ptune_prompt_n_virtual(p), 5);
    assert_int_equal(n_warnings, 1); /* peft_version is a PEFT key, not unknown */
    assert_non_null(strstr(warnings, "my_extra_setting"));
    ptune_prompt_free(p);
    free(d);
    pt_test_rmtree(tmp);
    free(tmp);
}

static void test_save_errors(void **state)
{
    (void)state;
    ptune_prompt *p = make(llama, PTUNE_PROMPT_INIT_RANDOM, 3, 1, NULL, NULL, 0);
    assert_int_equal(ptune_prompt_save(NULL, "/tmp/x"), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_prompt_save(p, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(ptune_prompt_save(p, ""), PTUNE_E_INVALID_ARG);

    char *tmp = pt_test_tmpdir();
    /* a directory path under a regular file */
    char *file = join(tmp, "plain_file");
    pt_test_write_file(file, "x", 1);
    char *under = join(file, "adapter");
    assert_int_equal(ptune_prompt_save(p, under), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), under));
    assert_non_null(strstr(ptune_last_error(), "Not a directory"));
    assert_int_equal(ptune_prompt_save(p, file), PTUNE_E_IO); /* the directory is a file */
    char *listing = list_dir(tmp);
    assert_string_equal(listing, "plain_file");
    free(listing);

    /* the weights cannot be renamed into place (a directory holds the name): nothing else is
     * left behind, the config included */
    char *dir = join(tmp, "blocked_weights");
    assert_int_equal(mkdir(dir, 0755), 0);
    char *blocker = join(dir, "adapter_model.safetensors");
    assert_int_equal(mkdir(blocker, 0755), 0);
    assert_int_equal(ptune_prompt_save(p, dir), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), "adapter_model.safetensors"));
    listing = list_dir(dir);
    assert_string_equal(listing, "adapter_model.safetensors");
    free(listing);
    free(blocker);
    free(dir);

    /* same for a directory in the config's place */
    dir = join(tmp, "blocked_config");
    assert_int_equal(mkdir(dir, 0755), 0);
    blocker = join(dir, "adapter_config.json");
    assert_int_equal(mkdir(blocker, 0755), 0);
    assert_int_equal(ptune_prompt_save(p, dir), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), "adapter_config.json"));
    listing = list_dir(dir);
    assert_string_equal(listing, "adapter_config.json");
    free(listing);
    free(blocker);

    /* a successful save over an existing adapter replaces both files */
    char *good = join(tmp, "good");
    assert_int_equal(ptune_prompt_save(p, good), PTUNE_OK);
    char *good_cfg = join(good, "adapter_config.json");
    size_t n_before, n_after;
    unsigned char *before = pt_test_read_file(good_cfg, &n_before);
    ptune_prompt *wide = make(bloom, PTUNE_PROMPT_INIT_RANDOM, 4, 1, NULL, NULL, 0);
    char *good_st = join(good, "adapter_model.safetensors");
    assert_int_equal(ptune_prompt_save(wide, good), PTUNE_OK);
    unsigned char *after = pt_test_read_file(good_cfg, &n_after);
    assert_true(n_before != n_after || memcmp(before, after, n_before) != 0);
    ptune_prompt *back = NULL;
    assert_int_equal(ptune_prompt_load(bloom, good, &back), PTUNE_OK);
    assert_memory_equal(ptune_prompt_values(back), ptune_prompt_values(wide), prompt_bytes(wide));
    ptune_prompt_free(back);
    ptune_prompt_free(wide);
    free(before);
    free(after);
    free(good_st);
    free(good_cfg);
    free(good);

    free(dir);
    free(under);
    free(file);
    pt_test_rmtree(tmp);
    free(tmp);
    ptune_prompt_free(p);
}

int main(void)
{
    pt_test_shared();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_errors),
        cmocka_unit_test(test_reproducible_per_seed),
        cmocka_unit_test(test_text_init),
        cmocka_unit_test(test_sample_vocab),
        cmocka_unit_test(test_class_labels),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_fixture_adapters_byte_equal),
        cmocka_unit_test(test_fixture_adapters_score),
        cmocka_unit_test(test_config_values_kept),
        cmocka_unit_test(test_load_rejects),
        cmocka_unit_test(test_unknown_key_warns),
        cmocka_unit_test(test_save_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
