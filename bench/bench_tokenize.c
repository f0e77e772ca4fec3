/* Tokenizer benchmark: tokenizer.json load time, single-thread encode throughput (MB/s,
 * tokens/s) on ~5 MB of mixed text built from the shared conformance cases, and the
 * linear-time checks (a 10 MB input, a 1 MB single "word"). */
#include <ptune/ptune.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct text {
    char *data;
    size_t len, cap;
} text;

static void append(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->data = realloc(t->data, t->cap);
        if (!t->data) {
            fprintf(stderr, "out of memory\n");
            exit(1);
        }
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = 0;
}

/* The shared cases' texts, shuffled with a fixed seed and concatenated into ~4.8 KB
 * documents (separated by blank lines) until `target` bytes: the same recipe as the HF
 * anchor in shared/tokenizers/README.md. Document boundaries are returned in *ends. */
static text build_corpus(const char *vectors, size_t target, size_t **ends, size_t *n_docs)
{
    FILE *f = fopen(vectors, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", vectors);
        exit(1);
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    size_t n = 0, ncap = 0;
    char **cases = NULL;
    size_t *lens = NULL;
    while ((got = getline(&line, &cap, f)) > 0) {
        json_error_t e;
        json_t *o = json_loadb(line, (size_t)got, JSON_DISABLE_EOF_CHECK, &e);
        json_t *t = o ? json_object_get(o, "text") : NULL;
        if (t && json_string_length(t) > 0) {
            if (n == ncap) {
                ncap = ncap ? 2 * ncap : 512;
                cases = realloc(cases, ncap * sizeof *cases);
                lens = realloc(lens, ncap * sizeof *lens);
            }
            lens[n] = json_string_length(t);
            cases[n] = malloc(lens[n]);
            memcpy(cases[n], json_string_value(t), lens[n]);
            n++;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    text out = {0};
    size_t dcap = 2048;
    *ends = malloc(dcap * sizeof **ends);
    *n_docs = 0;
    unsigned long long state = 12345;
    size_t doc_start = 0;
    while (out.len < target) {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t k = (size_t)(state >> 33) % n;
        append(&out, cases[k], lens[k]);
        append(&out, " ", 1);
        if (out.len - doc_start >= 4800) {
            if (*n_docs == dcap) *ends = realloc(*ends, (dcap *= 2) * sizeof **ends);
            (*ends)[(*n_docs)++] = out.len;
            doc_start = out.len;
        }
    }
    if (doc_start < out.len) (*ends)[(*n_docs)++] = out.len;
    for (size_t i = 0; i < n; i++) free(cases[i]);
    free(cases);
    free(lens);
    return out;
}

static int32_t *ids_buf;
static int32_t ids_cap;

static int32_t encode(const ptune_tokenizer *t, const char *s, size_t n)
{
    int32_t got = 0;
    ptune_status st = ptune_tokenizer_encode(t, s, n, false, ids_buf, ids_cap, &got);
    if (st == PTUNE_E_BUFFER_TOO_SMALL) {
        ids_cap = got * 2;
        ids_buf = realloc(ids_buf, sizeof(int32_t) * (size_t)ids_cap);
        st = ptune_tokenizer_encode(t, s, n, false, ids_buf, ids_cap, &got);
    }
    if (st) {
        fprintf(stderr, "encode failed: %s\n", ptune_last_error());
        exit(1);
    }
    return got;
}

static void bench_one(const char *shared, const char *name, int repeats)
{
    char path[4096], vectors[4096];
    snprintf(path, sizeof path, "%s/tokenizers/%s/tokenizer.json", shared, name);
    snprintf(vectors, sizeof vectors, "%s/tokenizers/%s/vectors.jsonl", shared, name);
    ptune_tokenizer *t;
    double best_load = 1e9;
    for (int r = 0; r < 3; r++) {
        double t0 = now();
        if (ptune_tokenizer_load(path, &t)) {
            fprintf(stderr, "%s: %s\n", path, ptune_last_error());
            exit(1);
        }
        double dt = now() - t0;
        if (dt < best_load) best_load = dt;
        if (r < 2) ptune_tokenizer_free(t);
    }
    size_t *ends, n_docs;
    text corpus = build_corpus(vectors, 5 * 1024 * 1024, &ends, &n_docs);
    double best = 1e9;
    long long tokens = 0;
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        long long n = 0;
        size_t start = 0;
        for (size_t d = 0; d < n_docs; d++) {
            n += encode(t, corpus.data + start, ends[d] - start);
            start = ends[d];
        }
        double dt = now() - t0;
        if (dt < best) best = dt;
        tokens = n;
    }
    printf("%-8s load %7.1f ms | %zu docs, %.2f MB: %6.2f MB/s, %5.2f M tokens/s (%lld tokens, best of %d, 1 thread)\n",
           name, best_load * 1e3, n_docs, corpus.len / 1e6, corpus.len / 1e6 / best, tokens / 1e6 / best, tokens, repeats);

    /* linear-time checks: the whole corpus twice over as one 10 MB input, and a 1 MB word */
    text big = {0};
    while (big.len < 10 * 1000 * 1000) append(&big, corpus.data, corpus.len);
    double t0 = now();
    long long nb = encode(t, big.data, big.len);
    double t_big = now() - t0;
    text word = {0};
    const char *unit = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    while (word.len < 1000 * 1000) append(&word, unit, strlen(unit));
    t0 = now();
    long long nw = encode(t, word.data, word.len);
    double t_word = now() - t0;
    printf("%-8s 10 MB single input: %.2f s (%.2f MB/s, %lld tokens); 1 MB single word: %.2f s (%lld tokens)\n", name,
           t_big, big.len / 1e6 / t_big, nb, t_word, nw);
    free(big.data);
    free(word.data);
    free(corpus.data);
    free(ends);
    ptune_tokenizer_free(t);
}

int main(int argc, char **argv)
{
    const char *shared = getenv("PTUNE_SHARED");
    if (!shared || !shared[0]) shared = "../shared";
    int repeats = argc > 1 ? atoi(argv[1]) : 3;
    if (repeats < 1) repeats = 1;
    printf("tokenizer benchmark (shared data: %s)\n", shared);
    bench_one(shared, "llama3", repeats);
    bench_one(shared, "mistral", repeats);
    free(ids_buf);
    return 0;
}
