/* bench_storage measures what ptune_model_params.storage changes (issue #11): for each model
 * shape and GGUF tensor type it writes a random GGUF file (bench_gguf_writer.c, in a child
 * process), then loads it with storage f32 (everything dequantized to fp32 at load) and native
 * (matrices kept in the file's format, converted panel by panel before each sgemm), each in its
 * own child process so that its peak RSS is its own, and times loading and a prompt-tuning
 * training step (forward + loss + backward + AdamW) on a seeded ragged batch. */
#include "bench_gguf_writer.h"
#include "bench_models.h"
#include "core/rng.h"
#include "ptune/ptune.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SHAPES 4
#define MAX_SEQ 64
#define MAX_LEN 32768
#define MAX_STEPS 50
#define LR 5e-3f

static const char *const k_storage_names[2] = {"f32", "native"};

typedef struct options {
    const bench_gguf_shape *shapes[MAX_SHAPES];
    int n_shapes;
    bool mixes[BENCH_N_MIXES];
    bool storage[2]; /* indexed by ptune_storage */
    int n_seq, lens[MAX_SEQ];
    int n_virtual, steps, threads;
    uint64_t seed;
    bool json, force;
} options;

/* One (file, storage) measurement. A plain struct: the child sends it through a pipe. */
typedef struct result {
    char shape[24], type[8], storage[8];
    int ran;             /* 1: measured; 0: skipped or failed, see note */
    char note[256];
    double file_mib;     /* the GGUF file on disk */
    double write_s;      /* generating it (the child writing the file) */
    double load_s, weight_mib, rss_load_mib, peak_rss_mib;
    double step_s;       /* median over the timed steps */
    double steps_s[MAX_STEPS], warmup_s;
    int n_steps;
    double loss;         /* of the warm-up step: f32 and native should agree closely */
    char file_dtype[16]; /* ptune_model_file_dtype: "Q8_0", "mixed" ... */
} result;

/* ---- machine limits ----------------------------------------------------------------------------- */

/* MemAvailable from /proc/meminfo, bytes (0 if unknown). */
static double mem_available_bytes(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0.0;
    char line[256];
    double kib = 0.0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kib) == 1) break;
    fclose(f);
    return kib * 1024.0;
}

static double disk_free_bytes(const char *dir)
{
    struct statvfs v;
    return statvfs(dir, &v) == 0 ? (double)v.f_bavail * (double)v.f_frsize : 0.0;
}

/* Memory a load with `storage` needs, roughly: the resident weights (4 bytes per parameter in
 * f32, the tensor bytes in native) plus the training context's activations (docs/training.md:
 * per layer ≈ rows × (2·n_embd + qkv width + FFN width) floats) and 512 MiB of slack. */
static double needed_bytes(const options *o, const bench_gguf_shape *s, const bench_gguf_plan_info *p, int storage)
{
    double rows = 0;
    for (int i = 0; i < o->n_seq; i++) rows += o->n_virtual + o->lens[i];
    const double act = rows * s->n_layer * (5.0 * s->n_embd + 3.0 * s->n_ff) * 4.0;
    const double weights = storage == PTUNE_STORAGE_F32 ? 4.0 * (double)p->n_params : (double)p->tensor_bytes;
    return weights + act + 512.0 * 1048576.0;
}

/* ---- children ------------------------------------------------------------------------------------ */

/* Runs fn(arg, out) in a child process (with the parent's temporary directory left alone) and
 * copies its `out` back; returns false when the child failed before reporting, with the reason
 * (exit status or signal) in why. */
static bool run_in_child(void (*fn)(const void *arg, result *out), const void *arg, result *out, char *why,
                         size_t why_cap)
{
    int fds[2];
    if (pipe(fds) != 0) bench_die("pipe failed: %s", strerror(errno));
    fflush(NULL);
    const pid_t self = getpid();
    const pid_t pid = fork();
    if (pid < 0) bench_die("fork failed: %s", strerror(errno));
    if (pid == 0) {
        bench_die_with_parent(self);
        bench_tmpdir_forget(); /* the parent removes it */
        close(fds[0]);
        fn(arg, out);
        if (!bench_write_all(fds[1], out, sizeof *out)) _exit(3);
        close(fds[1]);
        fflush(NULL);
        _exit(0);
    }
    close(fds[1]);
    const size_t got = bench_read_all(fds[0], out, sizeof *out);
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) break;
    if (got == sizeof *out && WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    if (WIFSIGNALED(status))
        snprintf(why, why_cap, "the process was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(why, why_cap, "the process exited with status %d (see its messages above)",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return false;
}

/* ---- writing the file (child) ---------------------------------------------------------------------- */

typedef struct write_job {
    const char *path;
    const bench_gguf_shape *shape;
    bench_gguf_mix mix;
    uint64_t seed;
} write_job;

static void write_file(const void *arg, result *r)
{
    const write_job *j = arg;
    r->ran = bench_gguf_model_write(j->path, j->shape, j->mix, j->seed, 0, NULL, &r->write_s) == 0;
}

/* ---- one measurement (child) -------------------------------------------------------------------------- */

typedef struct case_job {
    const options *o;
    const char *path;
    int storage;
} case_job;

static bool ok(ptune_status st, const char *what, result *r)
{
    if (st == PTUNE_OK) return true;
    snprintf(r->note, sizeof r->note, "%s: %s: %s", what, ptune_status_str(st), ptune_last_error());
    return false;
}

static void measure(const void *arg, result *r)
{
    const case_job *j = arg;
    const options *o = j->o;
    ptune_set_blas_threads(o->threads);
    ptune_model_params mp;
    ptune_model_params_init(&mp);
    mp.storage = j->storage;
    ptune_model *m = NULL;
    const double t0 = bench_now_s();
    if (!ok(ptune_model_load(j->path, &mp, &m), "ptune_model_load", r)) return;
    r->load_s = bench_now_s() - t0;
    r->rss_load_mib = bench_current_rss_mib();
    r->weight_mib = (double)ptune_model_weight_bytes(m) / 1048576.0;
    snprintf(r->file_dtype, sizeof r->file_dtype, "%s", ptune_model_file_dtype(m));

    /* the context, prompt and optimizer of bench_train, and its seeded token ids */
    int rows = 0, n_tok = 0, max_len = 0;
    for (int s = 0; s < o->n_seq; s++) {
        rows += o->n_virtual + o->lens[s];
        n_tok += o->lens[s];
        if (o->lens[s] > max_len) max_len = o->lens[s];
    }
    const int n_ctx = ptune_model_n_ctx(m);
    if (n_ctx > 0 && o->n_virtual + max_len > n_ctx) {
        snprintf(r->note, sizeof r->note, "context of %d positions < %d virtual + %d tokens", n_ctx, o->n_virtual, max_len);
        ptune_model_free(m);
        return;
    }
    ptune_ctx_params cp;
    ptune_ctx_params_init(&cp);
    cp.n_threads = o->threads;
    cp.max_tokens = rows;
    cp.logits = PTUNE_LOGITS_NONE;
    cp.training = 1;
    ptune_ctx *ctx = NULL;
    ptune_prompt *prompt = NULL;
    ptune_optimizer *opt = NULL;
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = o->n_virtual;
    pp.init = PTUNE_PROMPT_INIT_RANDOM;
    pp.seed = o->seed;
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    op.kind = PTUNE_OPTIMIZER_ADAMW;
    op.lr = LR;
    op.total_steps = 1000000; /* LINEAR stays at the peak rate during the benchmark (as bench_train) */
    int32_t *ids = bench_xmalloc(sizeof(int32_t) * (size_t)n_tok, "token ids");
    const int32_t *seq_ids[MAX_SEQ];
    pt_rng rng;
    pt_rng_seed(&rng, o->seed + 1);
    for (int i = 0; i < n_tok; i++) ids[i] = (int32_t)pt_rng_below(&rng, (uint64_t)ptune_model_n_vocab(m));
    for (int s = 0, off = 0; s < o->n_seq; off += o->lens[s], s++) seq_ids[s] = ids + off;
    const ptune_batch b = {o->n_seq, seq_ids, NULL, o->lens}; /* labels = ids */

    bool good = ok(ptune_ctx_new(m, &cp, &ctx), "ptune_ctx_new", r) &&
                ok(ptune_prompt_new(m, &pp, &prompt), "ptune_prompt_new", r) &&
                ok(ptune_optimizer_new(&op, prompt, &opt), "ptune_optimizer_new", r);
    /* one warm-up step, then the timed ones */
    for (int i = -1; good && i < o->steps; i++) {
        double loss = 0.0;
        const double s0 = bench_now_s();
        good = ok(ptune_forward(ctx, prompt, &b), "ptune_forward", r) && ok(ptune_loss(ctx, &loss, NULL), "ptune_loss", r) &&
               ok(ptune_backward(ctx, prompt), "ptune_backward", r) &&
               ok(ptune_optimizer_step(opt, prompt), "ptune_optimizer_step", r);
        const double dt = bench_now_s() - s0;
        if (good && !isfinite(loss)) {
            snprintf(r->note, sizeof r->note, "non-finite loss %g", loss);
            good = false;
        }
        if (i < 0) {
            r->warmup_s = dt;
            r->loss = loss;
        } else {
            r->steps_s[r->n_steps++] = dt;
        }
        if (good && !o->json)
            fprintf(stderr, "    %s step: %.3f s, loss %.6f\n", i < 0 ? "warm-up" : "timed", dt, loss);
    }
    if (good) {
        double tmp[MAX_STEPS];
        memcpy(tmp, r->steps_s, sizeof tmp);
        r->step_s = bench_median(tmp, r->n_steps);
        r->ran = 1;
    }
    r->peak_rss_mib = bench_peak_rss_mib(RUSAGE_SELF);
    free(ids);
    ptune_optimizer_free(opt);
    ptune_prompt_free(prompt);
    ptune_ctx_free(ctx);
    ptune_model_free(m);
}

/* ---- the report ------------------------------------------------------------------------------------ */

/* Step time relative to f32 storage of the same file, or 0 when there is none. */
static double relative(const result *rs, int n, const result *r)
{
    for (int i = 0; i < n; i++)
        if (rs[i].ran && r->ran && !strcmp(rs[i].shape, r->shape) && !strcmp(rs[i].type, r->type) &&
            !strcmp(rs[i].storage, "f32") && rs[i].step_s > 0)
            return r->step_s / rs[i].step_s;
    return 0.0;
}

static void print_table(const options *o, const result *rs, int n)
{
    printf("\nprompt tuning step: %d sequences (lengths", o->n_seq);
    for (int s = 0; s < o->n_seq; s++) printf("%s%d", s ? "," : " ", o->lens[s]);
    printf("), %d virtual tokens, AdamW; %d threads; median of %d steps after 1 warm-up\n\n", o->n_virtual, o->threads,
           o->steps);
    printf("| shape | type | storage | file MiB | resident weights MiB | RSS after load MiB | peak RSS MiB | load s "
           "| s/step | vs f32 storage | loss |\n");
    printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < n; i++) {
        const result *r = &rs[i];
        if (!r->ran) {
            char file[32] = "—";
            if (r->file_mib > 0) snprintf(file, sizeof file, "%.0f", r->file_mib);
            printf("| %s | %s | %s | %s | — | — | — | — | — | — | — |\n", r->shape, r->type, r->storage, file);
            continue;
        }
        const double rel = relative(rs, n, r);
        char relbuf[16] = "—";
        if (rel > 0) snprintf(relbuf, sizeof relbuf, "%.2f×", rel);
        printf("| %s | %s | %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.3f | %s | %.5f |\n", r->shape, r->type, r->storage,
               r->file_mib, r->weight_mib, r->rss_load_mib, r->peak_rss_mib, r->load_s, r->step_s, relbuf, r->loss);
    }
    bool notes = false;
    for (int i = 0; i < n; i++)
        if (rs[i].note[0]) {
            if (!notes) printf("\n");
            notes = true;
            printf("- %s %s %s: %s\n", rs[i].shape, rs[i].type, rs[i].storage, rs[i].note);
        }
}

static void print_json(const options *o, const result *rs, int n)
{
    json_t *root = json_object(), *cases = json_array(), *lens = json_array();
    for (int s = 0; s < o->n_seq; s++) json_array_append_new(lens, json_integer(o->lens[s]));
    json_object_set_new(root, "lengths", lens);
    json_object_set_new(root, "virtual", json_integer(o->n_virtual));
    json_object_set_new(root, "threads", json_integer(o->threads));
    json_object_set_new(root, "steps", json_integer(o->steps));
    json_object_set_new(root, "seed", json_integer((json_int_t)o->seed));
    char cpu[256];
    bench_cpu_model_name(cpu, sizeof cpu);
    json_object_set_new(root, "cpu", json_string(cpu));
    json_object_set_new(root, "blas", json_string(bench_blas_config()));
    for (int i = 0; i < n; i++) {
        const result *r = &rs[i];
        json_t *c = json_object();
        json_object_set_new(c, "shape", json_string(r->shape));
        json_object_set_new(c, "type", json_string(r->type));
        json_object_set_new(c, "storage", json_string(r->storage));
        json_object_set_new(c, "ran", json_boolean(r->ran));
        if (r->note[0]) json_object_set_new(c, "note", json_string(r->note));
        if (r->file_mib > 0) {
            json_object_set_new(c, "file_mib", json_real(r->file_mib));
            json_object_set_new(c, "write_s", json_real(r->write_s));
        }
        if (r->ran) {
            json_object_set_new(c, "file_dtype", json_string(r->file_dtype));
            json_object_set_new(c, "load_s", json_real(r->load_s));
            json_object_set_new(c, "weight_mib", json_real(r->weight_mib));
            json_object_set_new(c, "rss_after_load_mib", json_real(r->rss_load_mib));
            json_object_set_new(c, "peak_rss_mib", json_real(r->peak_rss_mib));
            json_object_set_new(c, "step_s", json_real(r->step_s));
            json_object_set_new(c, "warmup_s", json_real(r->warmup_s));
            json_t *st = json_array();
            for (int k = 0; k < r->n_steps; k++) json_array_append_new(st, json_real(r->steps_s[k]));
            json_object_set_new(c, "steps_s", st);
            json_object_set_new(c, "loss", json_real(r->loss));
            const double rel = relative(rs, n, r);
            if (rel > 0) json_object_set_new(c, "step_vs_f32_storage", json_real(rel));
        }
        json_array_append_new(cases, c);
    }
    json_object_set_new(root, "cases", cases);
    json_dumpf(root, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(root);
}

/* ---- options ----------------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_storage [options]\n"
            "  --models LIST    %s (comma list; default gpt2,bloom)\n"
            "  --types LIST     GGUF tensor types: %s (default all)\n"
            "  --storage LIST   f32, native (default both)\n"
            "  --batch N        sequences (default 8, lengths drawn in [16, 64] from --seed as bench_train)\n"
            "  --len L          every sequence L tokens instead of the seeded draw\n"
            "  --virtual N      soft-prompt length (default 20)\n"
            "  --steps K        timed steps after one warm-up (default 3, at most %d)\n"
            "  --threads N      ptune_ctx_params.n_threads and OpenBLAS threads (default 2)\n"
            "  --seed N         weights, lengths, prompt, ids (default 1234)\n"
            "  --force          run combinations that look too large for this machine's memory\n"
            "  --json           one JSON object on stdout instead of the table\n",
            bench_gguf_shape_keys(), bench_gguf_mix_names(), MAX_STEPS);
}

/* Splits a comma list and calls take(item) for each. */
static void each_item(const char *list, const char *opt, void (*take)(const char *item, const char *opt, options *o),
                      options *o)
{
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", list) >= (int)sizeof buf) bench_die("%s: list too long", opt);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) take(t, opt, o);
}

static void take_shape(const char *item, const char *opt, options *o)
{
    const bench_gguf_shape *s = bench_gguf_shape_by_key(item);
    if (!s) bench_die("%s expects %s, got \"%s\"", opt, bench_gguf_shape_keys(), item);
    for (int i = 0; i < o->n_shapes; i++)
        if (o->shapes[i] == s) return;
    if (o->n_shapes == MAX_SHAPES) bench_die("%s: too many models", opt);
    o->shapes[o->n_shapes++] = s;
}

static void take_type(const char *item, const char *opt, options *o)
{
    const int m = bench_gguf_mix_by_name(item);
    if (m < 0) bench_die("%s expects %s, got \"%s\"", opt, bench_gguf_mix_names(), item);
    o->mixes[m] = true;
}

static void take_storage(const char *item, const char *opt, options *o)
{
    if (!strcmp(item, "f32")) o->storage[PTUNE_STORAGE_F32] = true;
    else if (!strcmp(item, "native")) o->storage[PTUNE_STORAGE_NATIVE] = true;
    else bench_die("%s expects f32 or native, got \"%s\"", opt, item);
}

static options parse_args(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.n_virtual = 20;
    o.steps = 3;
    o.threads = 2;
    o.seed = 1234;
    o.n_seq = 8;
    int len = 0;
    const char *models = "gpt2,bloom", *types = NULL, *storage = "f32,native";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--json")) o.json = true;
        else if (!strcmp(a, "--force")) o.force = true;
        else if (i + 1 >= argc) {
            usage(stderr);
            bench_die("unknown option or missing value: %s", a);
        } else if (!strcmp(a, "--models") || !strcmp(a, "--model")) models = argv[++i];
        else if (!strcmp(a, "--types") || !strcmp(a, "--type")) types = argv[++i];
        else if (!strcmp(a, "--storage")) storage = argv[++i];
        else if (!strcmp(a, "--batch")) o.n_seq = (int)bench_parse_long(argv[++i], 1, MAX_SEQ, a);
        else if (!strcmp(a, "--len")) len = (int)bench_parse_long(argv[++i], 1, MAX_LEN, a);
        else if (!strcmp(a, "--virtual")) o.n_virtual = (int)bench_parse_long(argv[++i], 1, 4096, a);
        else if (!strcmp(a, "--steps")) o.steps = (int)bench_parse_long(argv[++i], 1, MAX_STEPS, a);
        else if (!strcmp(a, "--threads")) o.threads = (int)bench_parse_long(argv[++i], 1, 1024, a);
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)bench_parse_long(argv[++i], 0, INT32_MAX, a);
        else {
            usage(stderr);
            bench_die("unknown option: %s", a);
        }
    }
    each_item(models, "--models", take_shape, &o);
    if (types) each_item(types, "--types", take_type, &o);
    else
        for (int m = 0; m < BENCH_N_MIXES; m++) o.mixes[m] = true;
    each_item(storage, "--storage", take_storage, &o);
    if (len > 0)
        for (int s = 0; s < o.n_seq; s++) o.lens[s] = len;
    else
        bench_draw_lengths(o.lens, o.n_seq, 16, 64, o.seed);
    return o;
}

/* ---- main ---------------------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    bench_prog = "bench_storage";
    const options o = parse_args(argc, argv);
    const int max_results = MAX_SHAPES * BENCH_N_MIXES * 2;
    result *rs = bench_xmalloc(sizeof *rs * (size_t)max_results, "results");
    memset(rs, 0, sizeof *rs * (size_t)max_results);
    int n = 0;
    char dir[4096]; /* a copy: the children forget the temporary directory's global name */
    snprintf(dir, sizeof dir, "%s", bench_tmpdir_create());
    const double avail = mem_available_bytes();

    for (int si = 0; si < o.n_shapes; si++)
        for (int mi = 0; mi < BENCH_N_MIXES; mi++) {
            if (!o.mixes[mi]) continue;
            const bench_gguf_shape *s = o.shapes[si];
            const bench_gguf_mix mix = (bench_gguf_mix)mi;
            const bench_gguf_plan_info plan = bench_gguf_model_plan(s, mix);
            result *first = &rs[n];
            /* which storages fit in memory (unless --force) */
            for (int st = 0; st < 2; st++) {
                if (!o.storage[st]) continue;
                result *r = &rs[n++];
                snprintf(r->shape, sizeof r->shape, "%s", s->key);
                snprintf(r->type, sizeof r->type, "%s", bench_gguf_mix_name(mix));
                snprintf(r->storage, sizeof r->storage, "%s", k_storage_names[st]);
                const double need = needed_bytes(&o, s, &plan, st);
                if (avail > 0 && need > avail && !o.force)
                    snprintf(r->note, sizeof r->note,
                             "skipped: needs ≈ %.1f GiB of memory, %.1f GiB available (--force to run anyway)",
                             need / 1073741824.0, avail / 1073741824.0);
            }
            bool any = false;
            for (result *r = first; r < &rs[n]; r++) any |= !r->note[0];
            if (!any) continue;
            const double disk = disk_free_bytes(dir);
            if (disk > 0 && (double)plan.tensor_bytes + 256.0 * 1048576.0 > disk) {
                for (result *r = first; r < &rs[n]; r++)
                    snprintf(r->note, sizeof r->note, "skipped: the %.1f GiB file does not fit on the disk of $TMPDIR "
                             "(%.1f GiB free)", (double)plan.tensor_bytes / 1073741824.0, disk / 1073741824.0);
                continue;
            }

            /* the file, written by a child */
            char path[4200];
            snprintf(path, sizeof path, "%s/%s-%s.gguf", dir, s->key, bench_gguf_mix_name(mix));
            if (!o.json)
                fprintf(stderr, "writing %s (%s, %s, %.0f MiB) ...\n", path, s->label, bench_gguf_mix_name(mix),
                        (double)plan.tensor_bytes / 1048576.0);
            const write_job wj = {path, s, mix, o.seed};
            result w;
            memset(&w, 0, sizeof w);
            char why[160] = "";
            if (!run_in_child(write_file, &wj, &w, why, sizeof why) || !w.ran) bench_die("writing %s failed %s", path, why);
            struct stat sb;
            const double file_mib = stat(path, &sb) == 0 ? (double)sb.st_size / 1048576.0 : 0.0;
            if (!o.json) fprintf(stderr, "  %.0f MiB in %.1f s\n", file_mib, w.write_s);

            /* each storage in its own child */
            for (result *r = first; r < &rs[n]; r++) {
                r->file_mib = file_mib;
                r->write_s = w.write_s;
                if (r->note[0]) continue;
                if (!o.json) fprintf(stderr, "  loading with storage %s ...\n", r->storage);
                const case_job cj = {&o, path, !strcmp(r->storage, "f32") ? PTUNE_STORAGE_F32 : PTUNE_STORAGE_NATIVE};
                result m = *r;
                if (!run_in_child(measure, &cj, &m, r->note, sizeof r->note)) continue;
                *r = m;
                if (!r->ran && !r->note[0]) snprintf(r->note, sizeof r->note, "failed");
                if (!o.json && r->ran)
                    fprintf(stderr, "  %s: load %.2f s, weights %.0f MiB, peak RSS %.0f MiB, %.3f s/step\n", r->storage,
                            r->load_s, r->weight_mib, r->peak_rss_mib, r->step_s);
            }
            unlink(path); /* the next file may be large */
        }
    bench_tmpdir_remove();

    if (o.json) print_json(&o, rs, n);
    else print_table(&o, rs, n);
    free(rs);
    if (fflush(stdout) != 0) bench_die("writing the report failed: %s", strerror(errno));
    return 0;
}
