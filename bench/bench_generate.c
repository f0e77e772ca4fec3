/* bench_generate: incremental decoding speed on a random GPT-2-124M checkpoint — single-stream
 * and batch-of-8 tokens/s, and time-to-first-token with a 100-token soft prompt with and without
 * the prefix cache. */
#include "bench_models.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct timing {
    double start, first, last;
    int n;
} timing;

static int on_token(int32_t seq, int32_t token, const char *bytes, size_t n, void *user)
{
    (void)seq;
    (void)bytes;
    (void)n;
    if (token < 0) return 0;
    timing *t = user;
    double now = bench_now_s();
    if (t->n == 0) t->first = now;
    t->last = now;
    t->n++;
    return 0;
}

static void random_ids(int32_t *ids, int n, int vocab, uint64_t seed)
{
    for (int i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((seed >> 33) % (uint64_t)vocab);
    }
}

int main(int argc, char **argv)
{
    bench_prog = "bench_generate";
    int threads = argc > 1 ? (int)bench_parse_long(argv[1], 1, 256, "threads") : 2;
    const int n_new = 64, n_in = 16, batch = 8, n_virtual = 100;
    ptune_set_blas_threads(threads);
    const char *dir = bench_tmpdir_create();
    double child_rss;
    bench_model_generate_in_child(dir, BENCH_MODEL_GPT2_124M, 1, &child_rss);
    ptune_model *m;
    bench_check(ptune_model_load(dir, NULL, &m), "loading the model");
    bench_tmpdir_remove();
    const int V = ptune_model_n_vocab(m);
    char cpu[256];
    bench_cpu_model_name(cpu, sizeof cpu);
    printf("bench_generate: GPT-2-124M (random weights), %d threads, %s, load average %.2f\n", threads, cpu,
           bench_load_average());

    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = threads;
    cp.max_tokens = 256;
    cp.n_seq_max = batch;
    ptune_ctx *c;
    bench_check(ptune_ctx_new(m, &cp, &c), "context");
    ptune_sampling_params sp;
    ptune_sampling_params_init(&sp);
    sp.temperature = 0.0f;
    sp.max_new_tokens = n_new;
    sp.ignore_eos = 1;

    /* single stream: warm up, then three runs */
    int32_t in[batch][n_in], out[batch][n_new];
    for (int b = 0; b < batch; b++) random_ids(in[b], n_in, V, 100 + (uint64_t)b);
    double single[3], ttft[3];
    for (int r = -1; r < 3; r++) {
        timing t = {.start = bench_now_s()};
        ptune_generate_request req = {.ids = in[0], .n_ids = n_in, .out = out[0], .cap = n_new};
        bench_check(ptune_generate_batch(c, &req, 1, &sp, on_token, &t), "generate");
        if (r < 0) continue;
        single[r] = (t.n - 1) / (t.last - t.first);
        ttft[r] = t.first - t.start;
    }
    /* batch of 8 */
    double batched[3];
    for (int r = 0; r < 3; r++) {
        timing t = {.start = bench_now_s()};
        ptune_generate_request reqs[batch];
        for (int b = 0; b < batch; b++)
            reqs[b] = (ptune_generate_request){.ids = in[b], .n_ids = n_in, .out = out[b], .cap = n_new};
        bench_check(ptune_generate_batch(c, reqs, batch, &sp, on_token, &t), "generate batch");
        batched[r] = (double)(batch * n_new) / (t.last - t.start);
    }
    /* time to first token with a 100-token soft prompt: a fresh prompt (miss) then the same
     * prompt again (hit), and a context without the prefix cache */
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = n_virtual;
    ptune_prompt *prompt;
    bench_check(ptune_prompt_new(m, &pp, &prompt), "prompt");
    sp.max_new_tokens = 1;
    double miss[3], hit[3], off[3];
    ptune_ctx_params np = cp;
    np.no_prefix_cache = 1;
    ptune_ctx *plain;
    bench_check(ptune_ctx_new(m, &np, &plain), "context");
    for (int r = 0; r < 3; r++) {
        ptune_prompt_values(prompt)[r] += 1e-3f; /* new values: the next call misses */
        ptune_ctx *ctxs[3] = {c, c, plain};
        double *dst[3] = {&miss[r], &hit[r], &off[r]};
        for (int k = 0; k < 3; k++) {
            timing t = {.start = bench_now_s()};
            ptune_generate_request req = {.prompt = prompt, .ids = in[0], .n_ids = n_in, .out = out[0], .cap = 1};
            bench_check(ptune_generate_batch(ctxs[k], &req, 1, &sp, on_token, &t), "generate with prompt");
            *dst[k] = t.first - t.start;
        }
    }
    printf("\n| measurement | median of 3 |\n| --- | ---: |\n");
    printf("| single stream, %d new tokens after %d input tokens | %.1f tokens/s |\n", n_new, n_in, bench_median(single, 3));
    printf("| time to first token, %d input tokens, no prompt | %.1f ms |\n", n_in, 1e3 * bench_median(ttft, 3));
    printf("| batch of %d streams, %d new tokens each (aggregate) | %.1f tokens/s |\n", batch, n_new, bench_median(batched, 3));
    printf("| time to first token, %d-token soft prompt + %d tokens, prefix cache miss | %.1f ms |\n", n_virtual, n_in,
           1e3 * bench_median(miss, 3));
    printf("| time to first token, same prompt again, prefix cache hit | %.1f ms |\n", 1e3 * bench_median(hit, 3));
    printf("| time to first token, prefix cache disabled | %.1f ms |\n", 1e3 * bench_median(off, 3));
    printf("| peak RSS | %.0f MiB |\n", bench_peak_rss_mib(0));
    ptune_prompt_free(prompt);
    ptune_ctx_free(plain);
    ptune_ctx_free(c);
    ptune_model_free(m);
    return 0;
}
