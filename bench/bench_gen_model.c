/* bench_gen_model writes one of the benchmarks' random checkpoints (config.json + F32
 * model.safetensors, bench_models.c) to a directory, so that libptune's benchmarks and the
 * PyTorch comparator (bench/torch_ref.py) read the very same files. */
#include "bench_models.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fputs("usage: bench_gen_model --model gpt2|bloom|llama --out DIR [--seed N]\n"
          "  --model M   gpt2 (GPT-2-124M), bloom (BLOOM-560m) or llama (Llama-0.5B-GQA)\n"
          "  --out DIR   directory to write config.json and model.safetensors to (created if missing;\n"
          "              existing files of those names are replaced)\n"
          "  --seed N    seed of the weights (default 1234, as bench_train and bench_generate)\n",
          f);
}

int main(int argc, char **argv)
{
    bench_prog = "bench_gen_model";
    const char *out = NULL;
    int kind = -1;
    uint64_t seed = 1234;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            bench_die("unknown option or missing value: %s", a);
        }
        if (!strcmp(a, "--model")) {
            kind = bench_model_by_key(argv[++i]);
            if (kind < 0) bench_die("--model expects %s, got \"%s\"", bench_model_keys(), argv[i]);
        } else if (!strcmp(a, "--out")) {
            out = argv[++i];
        } else if (!strcmp(a, "--seed")) {
            seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        } else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    if (kind < 0 || !out || !out[0]) {
        usage(stderr);
        bench_die("--model and --out are required");
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) bench_die("cannot create %s: %s", out, strerror(errno));
    const bench_model_info *mi = bench_model_get((bench_model_kind)kind);
    const double t0 = bench_now_s();
    if (bench_model_generate(out, (bench_model_kind)kind, seed) != 0) return 1;
    printf("%s: %s (%s), %.1f M params, %.0f MiB F32, seed %llu -> %s in %.1f s\n", bench_prog, mi->label,
           mi->hf_arch, (double)bench_model_n_params((bench_model_kind)kind) * 1e-6,
           (double)bench_model_file_bytes((bench_model_kind)kind) / 1048576.0, (unsigned long long)seed, out,
           bench_now_s() - t0);
    return fflush(stdout) == 0 ? 0 : 1;
}
