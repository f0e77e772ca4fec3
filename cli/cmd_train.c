/* `ptune train CONFIG.yaml [--set key.path=value ...] [--resume CHECKPOINT]`: runs a YAML run
 * config with a live progress bar on a terminal (log lines otherwise); Ctrl-C checkpoints and
 * stops cleanly. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: ptune train CONFIG.yaml [--set key.path=value ...] [--resume CHECKPOINT_DIR]\n"
    "                   [--storage f32|native] [--mpi]\n"
    "  Trains a soft prompt as the YAML file says (docs/train.md) and writes the PEFT adapter,\n"
    "  metrics.jsonl and loss.svg to its output_dir. Ctrl-C saves a checkpoint and stops.\n"
    "  --storage S is --set storage=S: the model's weight storage (docs/storage.md).\n"
    "  --mpi: data-parallel training over MPI_COMM_WORLD, started with mpirun/srun (docs/scaling.md);\n"
    "  every rank runs the same command, rank 0 prints and writes the output_dir.";

static volatile int32_t g_cancel;

static void on_sigint(int sig)
{
    (void)sig;
    g_cancel = 1;
}

typedef struct bar_state {
    bool tty;
    double eval_before, eval_last; /* NaN until seen */
} bar_state;

static void format_eta(double s, char *buf, size_t cap)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static int show_progress(const ptune_train_progress *p, void *user)
{
    bar_state *b = user;
    if (p->step == 0) { /* the baseline evaluation, before any step */
        b->eval_before = p->eval_loss;
        fprintf(stderr, "eval loss before tuning %.4f  perplexity %.2f\n", p->eval_loss, p->eval_perplexity);
        return 0;
    }
    if (!isnan(p->eval_loss)) b->eval_last = p->eval_loss;
    char eta[32];
    format_eta(p->eta_s, eta, sizeof eta);
    if (b->tty) {
        const int width = 28;
        int filled = p->total_steps > 0 ? (int)((double)p->step * width / (double)p->total_steps) : 0;
        char bar[64];
        for (int i = 0; i < width; i++) bar[i] = i < filled ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld  epoch %d  loss %.4f  lr %.2e  %.0f tok/s  ETA %s ", bar, (long long)p->step,
                (long long)p->total_steps, p->epoch + 1, p->loss, p->lr, p->tokens_per_s, eta);
        if (!isnan(p->eval_loss)) fprintf(stderr, "\n  eval loss %.4f  perplexity %.2f\n", p->eval_loss, p->eval_perplexity);
        if (p->step == p->total_steps) fputc('\n', stderr);
    } else {
        fprintf(stderr, "step %lld/%lld epoch %d loss %.4f lr %.3e grad_norm %.3f tok/s %.0f eta %s", (long long)p->step,
                (long long)p->total_steps, p->epoch + 1, p->loss, p->lr, p->grad_norm, p->tokens_per_s, eta);
        if (!isnan(p->eval_loss)) fprintf(stderr, " eval_loss %.4f eval_ppl %.2f", p->eval_loss, p->eval_perplexity);
        fputc('\n', stderr);
    }
    return 0;
}

/* Runs the config; with --mpi as one rank of the job (rank 0 alone reports). */
static int train(const char *config, const char *resume, const char **overrides, int n_overrides,
                 const ptune_collective *coll)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    const bool reporter = !coll || coll->rank == 0;
    bar_state bar = {.tty = isatty(STDERR_FILENO) != 0, .eval_before = NAN, .eval_last = NAN};
    ptune_run_params rp;
    ptune_run_params_init(&rp);
    rp.overrides = overrides;
    rp.n_overrides = n_overrides;
    rp.progress = reporter ? show_progress : NULL;
    rp.progress_user = &bar;
    rp.cancel = &g_cancel;
    rp.resume = resume;
    rp.collective = coll;
    ptune_status s = ptune_run_yaml(config, &rp);
    if (s == PTUNE_E_ABORTED) {
        if (reporter)
            fprintf(stderr, "\nptune: interrupted: a checkpoint and the prompt so far were saved (see the output_dir)\n");
        return 130;
    }
    if (s) {
        if (!coll) return pt_cli_fail(config, s);
        char context[4200];
        snprintf(context, sizeof context, "rank %d of %d: %s", coll->rank, coll->size, config);
        return pt_cli_fail(context, s);
    }
    if (!reporter) return 0;
    if (isfinite(bar.eval_before) && isfinite(bar.eval_last) && bar.eval_before > 0)
        fprintf(stderr, "eval loss %.4f -> %.4f (%+.1f%%)\n", bar.eval_before, bar.eval_last,
                100.0 * (bar.eval_last - bar.eval_before) / bar.eval_before);
    fprintf(stderr, "done: the adapter, metrics.jsonl and loss.svg are in the config's output_dir\n");
    return 0;
}

int pt_cmd_train(int argc, char **argv)
{
    const char *config = NULL, *resume = NULL;
    bool mpi = false;
    const char **overrides = calloc((size_t)argc, sizeof *overrides);
    int n_overrides = 0;
    if (!overrides) return pt_cli_usage_error("out of memory");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--set") || !strcmp(argv[i], "--resume") || !strcmp(argv[i], "--storage")) {
            if (i + 1 >= argc) {
                free(overrides);
                return pt_cli_usage_error("%s needs a value\n%s", argv[i], usage);
            }
            int32_t storage;
            if (!strcmp(argv[i], "--set")) overrides[n_overrides++] = argv[++i];
            else if (!strcmp(argv[i], "--resume")) resume = argv[++i];
            else if (pt_cli_parse_storage(argv[i], argv[i + 1], &storage)) {
                free(overrides);
                return 2;
            } else {
                overrides[n_overrides++] = storage == PTUNE_STORAGE_NATIVE ? "storage=native" : "storage=f32";
                i++;
            }
        } else if (!strcmp(argv[i], "--mpi")) {
            mpi = true;
        } else if (!strcmp(argv[i], "--help") || argv[i][0] == '-' || config) {
            free(overrides);
            return pt_cli_usage_error("%s%s", strcmp(argv[i], "--help") ? "unexpected argument\n" : "", usage);
        } else {
            config = argv[i];
        }
    }
    if (!config) {
        free(overrides);
        return pt_cli_usage_error("missing CONFIG.yaml\n%s", usage);
    }
    int rc;
    if (!mpi) {
        rc = train(config, resume, overrides, n_overrides, NULL);
    } else {
        ptune_collective coll;
        rc = pt_cli_mpi_start(&argc, &argv, &coll);
        if (!rc) {
            rc = train(config, resume, overrides, n_overrides, &coll);
            /* a failed rank takes the job down: its peers may be waiting in a sum */
            if (rc != 0 && rc != 130) pt_cli_mpi_abort(&coll, rc);
            pt_cli_mpi_finish();
        }
    }
    free(overrides);
    return rc;
}
