/* bench_gen_model writes one of the benchmarks' random checkpoints: by default config.json + F32
 * model.safetensors (bench_models.c) into a directory, so that libptune's benchmarks and the
 * PyTorch comparator (bench/torch_ref.py) read the very same files; with --format gguf a GGUF
 * file of one tensor type or the Q4_K_M mix (bench_gguf_writer.c), Llama-7B's shape included. */
#include "bench_gguf_writer.h"
#include "bench_models.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *f)
{
    fputs("usage: bench_gen_model --model M --out PATH [--seed N] [--format hf|gguf] [--type T] [--threads N]\n"
          "  --model M     gpt2 (GPT-2-124M), bloom (BLOOM-560m), llama (Llama-0.5B-GQA);\n"
          "                with --format gguf also llama7b (Llama-7B: 4096 wide, 32 layers, untied)\n"
          "  --out PATH    hf: directory to write config.json and model.safetensors to (created if\n"
          "                missing; existing files of those names are replaced). gguf: the .gguf file, or\n"
          "                an existing directory to write <model>-<TYPE>.gguf into\n"
          "  --seed N      seed of the weights (default 1234, as bench_train and bench_generate)\n"
          "  --format F    hf (default) or gguf\n"
          "  --type T      gguf tensor types: F32 (default), F16, BF16, Q8_0, Q4_K (every matrix) or\n"
          "                Q4_K_M (llama-quantize's mix: Q4_K, Q6_K for the LM head and for attn_v and\n"
          "                ffn_down in the use_more_bits layers); norms and biases stay F32\n"
          "  --threads N   gguf: threads quantizing (default: every online CPU)\n",
          f);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int write_gguf(const char *out, const char *model, int mix, uint64_t seed, int threads)
{
    const bench_gguf_shape *s = bench_gguf_shape_by_key(model);
    if (!s) bench_die("--model expects %s with --format gguf, got \"%s\"", bench_gguf_shape_keys(), model);
    char path[8192];
    if (is_dir(out)) snprintf(path, sizeof path, "%s/%s-%s.gguf", out, s->key, bench_gguf_mix_name((bench_gguf_mix)mix));
    else snprintf(path, sizeof path, "%s", out);
    const bench_gguf_plan_info plan = bench_gguf_model_plan(s, (bench_gguf_mix)mix);
    fprintf(stderr, "%s: writing %s: %s, %s, %.1f M params, %.0f MiB of tensors ...\n", bench_prog, path, s->label,
            bench_gguf_mix_name((bench_gguf_mix)mix), (double)plan.n_params * 1e-6,
            (double)plan.tensor_bytes / 1048576.0);
    double seconds = 0.0;
    bench_gguf_plan_info info;
    if (bench_gguf_model_write(path, s, (bench_gguf_mix)mix, seed, threads, &info, &seconds) != 0) return 1;
    struct stat st;
    const double mib = stat(path, &st) == 0 ? (double)st.st_size / 1048576.0 : 0.0;
    printf("%s: %s (gguf %s), %s, %.1f M params, %d tensors (", bench_prog, s->label, s->arch,
           bench_gguf_mix_name((bench_gguf_mix)mix), (double)info.n_params * 1e-6, info.n_tensors);
    bool first = true;
    for (int t = 0; t < 32; t++)
        if (info.n_by_type[t]) {
            printf("%s%d %s", first ? "" : ", ", info.n_by_type[t], bench_qtype_name((bench_qtype)t));
            first = false;
        }
    printf("), %.1f MiB, seed %llu -> %s in %.1f s (%.0f M values/s)\n", mib, (unsigned long long)seed, path, seconds,
           (double)info.n_params / seconds * 1e-6);
    return 0;
}

int main(int argc, char **argv)
{
    bench_prog = "bench_gen_model";
    const char *out = NULL, *model = NULL;
    bool gguf = false;
    int mix = BENCH_MIX_F32, threads = 0;
    bool type_given = false;
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
            model = argv[++i];
        } else if (!strcmp(a, "--out")) {
            out = argv[++i];
        } else if (!strcmp(a, "--seed")) {
            seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        } else if (!strcmp(a, "--format")) {
            const char *f = argv[++i];
            if (strcmp(f, "hf") && strcmp(f, "gguf")) bench_die("--format expects hf or gguf, got \"%s\"", f);
            gguf = !strcmp(f, "gguf");
        } else if (!strcmp(a, "--type")) {
            mix = bench_gguf_mix_by_name(argv[++i]);
            if (mix < 0) bench_die("--type expects %s, got \"%s\"", bench_gguf_mix_names(), argv[i]);
            type_given = true;
        } else if (!strcmp(a, "--threads")) {
            threads = (int)bench_parse_long(argv[++i], 1, 1024, a);
        } else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    if (!model || !out || !out[0]) {
        usage(stderr);
        bench_die("--model and --out are required");
    }
    if (gguf) return write_gguf(out, model, mix, seed, threads);

    /* the HF checkpoint: F32 safetensors, every tensor in memory while writing */
    if (type_given) bench_die("--type needs --format gguf (HF checkpoints are F32)");
    const int kind = bench_model_by_key(model);
    if (kind < 0) {
        if (bench_gguf_shape_by_key(model))
            bench_die("--model %s is written as GGUF only (--format gguf): the HF writer holds every tensor in memory",
                      model);
        bench_die("--model expects %s, got \"%s\"", bench_model_keys(), model);
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
