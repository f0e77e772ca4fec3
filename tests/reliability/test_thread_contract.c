/* The thread-safety contract of ptune.h, for the handles not covered elsewhere: one
 * ptune_tokenizer (a full tokenizer.json: normalizer, Oniguruma pre-tokenizer, BPE, added tokens,
 * decoder) and one model's tokenizer used by 4 threads at once give exactly the single-threaded
 * ids and texts, and each thread's ptune_last_error() is its own. Run under TSan by
 * scripts/sanitize.sh. (Contexts on a shared model: tests/tuning/test_forward_api.c; generation:
 * tests/generate/test_generate.c.) */
#include "test_support.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptune/ptune.h"

enum { N_THREADS = 4, N_TEXTS = 6, ROUNDS = 40, CAP = 256 };

static const char *const texts[N_TEXTS] = {
    "I want you to act as a logistician.",
    "Hello,   world!\n\tTabs and  spaces; 12345 numbers.",
    "naïve café — “quotes” and ünïcödé",
    "日本語のテキストと English mixed 🙂🙃",
    "<|begin_of_text|>special tokens inline<|end_of_text|>",
    "",
};

typedef struct shared {
    const ptune_tokenizer *tok;
    int32_t want[N_TEXTS][CAP];
    int32_t want_n[N_TEXTS];
    char want_text[N_TEXTS][4 * CAP];
} shared;

typedef struct worker {
    shared *sh;
    int index, failures;
    char error[256];
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    const shared *sh = w->sh;
    for (int r = 0; r < ROUNDS; r++) {
        const int i = (r + w->index) % N_TEXTS;
        int32_t ids[CAP], n = 0;
        if (ptune_tokenizer_encode(sh->tok, texts[i], strlen(texts[i]), true, ids, CAP, &n) != PTUNE_OK ||
            n != sh->want_n[i] || memcmp(ids, sh->want[i], sizeof(int32_t) * (size_t)n) != 0)
            w->failures++;
        char out[4 * CAP];
        size_t len = 0;
        if (ptune_tokenizer_decode(sh->tok, ids, n, false, out, sizeof out, &len) != PTUNE_OK ||
            strcmp(out, sh->want_text[i]) != 0)
            w->failures++;
        /* a failing call on this thread sets this thread's message only */
        const char bad[] = {'o', 'k', (char)0xff};
        if (ptune_tokenizer_encode(sh->tok, bad, sizeof bad, false, ids, CAP, &n) != PTUNE_E_INVALID_ARG) w->failures++;
        snprintf(w->error, sizeof w->error, "%s", ptune_last_error());
        if (!strstr(w->error, "UTF-8")) w->failures++;
    }
    return NULL;
}

static void run_threads(const ptune_tokenizer *tok)
{
    shared *sh = calloc(1, sizeof *sh);
    assert_non_null(sh);
    sh->tok = tok;
    for (int i = 0; i < N_TEXTS; i++) {
        assert_int_equal(ptune_tokenizer_encode(tok, texts[i], strlen(texts[i]), true, sh->want[i], CAP, &sh->want_n[i]),
                         PTUNE_OK);
        size_t len;
        assert_int_equal(ptune_tokenizer_decode(tok, sh->want[i], sh->want_n[i], false, sh->want_text[i],
                                                sizeof sh->want_text[i], &len),
                         PTUNE_OK);
    }
    pthread_t th[N_THREADS];
    worker w[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        w[t] = (worker){.sh = sh, .index = t};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        assert_int_equal(w[t].failures, 0);
    }
    free(sh);
}

static void test_one_tokenizer_json_many_threads(void **state)
{
    (void)state;
    char *path = pt_test_shared_path("tokenizers/llama3/tokenizer.json");
    ptune_tokenizer *t = NULL;
    assert_int_equal(ptune_tokenizer_load(path, &t), PTUNE_OK);
    run_threads(t);
    ptune_tokenizer_free(t);
    free(path);
}

static void test_one_model_tokenizer_many_threads(void **state)
{
    (void)state;
    char *path = pt_test_shared_path("models/aidreams260K.gguf");
    ptune_model *m = NULL;
    assert_int_equal(ptune_model_load(path, NULL, &m), PTUNE_OK);
    run_threads(ptune_model_tokenizer(m));
    ptune_model_free(m);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_tokenizer_json_many_threads),
        cmocka_unit_test(test_one_model_tokenizer_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
