/* ptune_run_yaml: the `ptune train` flow — run config → model → datasets → prompt → trainer →
 * outputs (PEFT adapter, metrics.jsonl, loss.svg, checkpoints) in output_dir. */
#include "train/run_config.h"
#include "train/data_parallel.h"
#include "core/params.h"
#include "train/metrics.h"
#include "core/alloc.h"
#include "core/error.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void run_params_defaults(ptune_run_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
}

PTUNE_API void ptune_run_params_init_sized(ptune_run_params *p, uint32_t size)
{
    ptune_run_params d;
    run_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

typedef struct run_state {
    pt_run_config cfg;
    ptune_model *model;
    ptune_dataset *train, *eval;
    ptune_prompt *prompt;
    ptune_trainer *trainer;
    pt_metrics *metrics;
    const ptune_run_params *params;
    int64_t log_every;
} run_state;

static ptune_status mkdir_one(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return PTUNE_OK;
        return pt_fail(PTUNE_E_IO, "%s: exists and is not a directory", dir);
    }
    return pt_fail(PTUNE_E_IO, "%s: cannot create directory: %s", dir, strerror(errno));
}

/* mkdir -p */
static ptune_status make_dirs(const char *path)
{
    char *p = pt_strdup(path, "directory path");
    if (!p) return PTUNE_E_NOMEM;
    ptune_status s = PTUNE_OK;
    for (char *c = p + 1; *c && !s; c++)
        if (*c == '/') {
            *c = '\0';
            s = mkdir_one(p);
            *c = '/';
        }
    if (!s) s = mkdir_one(p);
    free(p);
    return s;
}

static int on_progress(const ptune_train_progress *p, void *user)
{
    run_state *r = user;
    bool log = !isnan(p->eval_loss) || r->log_every <= 1 || p->step % r->log_every == 0 || p->step == p->total_steps;
    if (log && pt_metrics_add(r->metrics, p)) return 1; /* out of memory: stop cleanly */
    const ptune_run_params *up = r->params;
    return up && up->progress ? up->progress(p, up->progress_user) : 0;
}

static ptune_status load_data(run_state *r)
{
    const pt_run_config *c = &r->cfg;
    ptune_dataset_params dp;
    ptune_dataset_params_init(&dp);
    if (c->data.format) {
        dp.format = !strcmp(c->data.format, "csv") ? PTUNE_DATA_CSV : !strcmp(c->data.format, "jsonl") ? PTUNE_DATA_JSONL
                                                                                                      : PTUNE_DATA_TEXT;
    }
    if (c->data.text_column) dp.text_column = c->data.text_column;
    dp.completion_column = c->data.completion_column;
    dp.blank_line_separated = c->data.blank_line_separated;
    dp.max_length = c->data.max_length;
    dp.add_eos = c->data.add_eos;
    dp.select = c->data.select;
    ptune_status s = ptune_dataset_load(r->model, c->data.train, &dp, &r->train);
    if (s) return pt_fail_context(s, "data.train: ");
    if (c->data.eval) {
        dp.select = 0;
        s = ptune_dataset_load(r->model, c->data.eval, &dp, &r->eval);
        if (s) return pt_fail_context(s, "data.eval: ");
    } else if (c->data.eval_split > 0.0) {
        s = ptune_dataset_split(r->train, c->data.eval_split, c->seed, &r->eval);
    }
    return s;
}

static ptune_status make_prompt(run_state *r)
{
    const pt_run_config *c = &r->cfg;
    if (c->prompt.resume_adapter) return ptune_prompt_load(r->model, c->prompt.resume_adapter, &r->prompt);
    ptune_prompt_params pp;
    ptune_prompt_params_init(&pp);
    pp.n_virtual = c->prompt.n_virtual;
    pp.seed = c->seed;
    const char *init = c->prompt.init ? c->prompt.init : "random";
    pp.init = !strcmp(init, "text")           ? PTUNE_PROMPT_INIT_TEXT
              : !strcmp(init, "sample_vocab") ? PTUNE_PROMPT_INIT_SAMPLE_VOCAB
              : !strcmp(init, "class_labels") ? PTUNE_PROMPT_INIT_CLASS_LABELS
                                              : PTUNE_PROMPT_INIT_RANDOM;
    pp.init_text = c->prompt.init_text;
    pp.labels = (const char *const *)c->prompt.labels;
    pp.n_labels = c->prompt.n_labels;
    return ptune_prompt_new(r->model, &pp, &r->prompt);
}

static ptune_status make_trainer(run_state *r, char *checkpoint_dir)
{
    const pt_run_config *c = &r->cfg;
    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    const char *name = c->optimizer.name ? c->optimizer.name : "adamw";
    op.kind = !strcmp(name, "sgd") ? PTUNE_OPTIMIZER_SGD : !strcmp(name, "adafactor") ? PTUNE_OPTIMIZER_ADAFACTOR
                                                                                      : PTUNE_OPTIMIZER_ADAMW;
    op.lr = (float)c->optimizer.lr;
    op.weight_decay = (float)c->optimizer.weight_decay;
    op.beta1 = (float)c->optimizer.beta1;
    op.beta2 = (float)c->optimizer.beta2;
    op.eps = (float)c->optimizer.eps;
    op.max_grad_norm = (float)c->optimizer.max_grad_norm;
    op.momentum = (float)c->optimizer.momentum;
    const char *sched = c->schedule.name ? c->schedule.name : "linear";
    op.schedule = !strcmp(sched, "constant") ? PTUNE_SCHEDULE_CONSTANT : !strcmp(sched, "cosine") ? PTUNE_SCHEDULE_COSINE
                                                                                                 : PTUNE_SCHEDULE_LINEAR;
    op.warmup_steps = c->schedule.warmup_steps;

    ptune_trainer_params tp;
    ptune_trainer_params_init(&tp);
    tp.epochs = c->train.epochs;
    tp.max_steps = c->train.max_steps;
    tp.batch_size = c->train.batch_size;
    tp.batch_tokens = c->train.batch_tokens;
    tp.auto_batch_memory = c->train.auto_batch_memory_mb * 1024 * 1024;
    tp.grad_accum = c->train.grad_accum;
    tp.eval_every = c->train.eval_every;
    tp.early_stopping_patience = c->train.early_stopping_patience;
    tp.seed = c->seed;
    tp.n_threads = c->threads;
    tp.optimizer = &op;
    tp.checkpoint_dir = checkpoint_dir;
    tp.checkpoint_every = c->checkpoint.every;
    tp.checkpoint_keep = c->checkpoint.keep;
    tp.progress = on_progress;
    tp.progress_user = r;
    tp.cancel = r->params ? r->params->cancel : NULL;
    tp.collective = r->params ? r->params->collective : NULL;
    return ptune_trainer_new(r->model, r->prompt, r->train, r->eval, &tp, &r->trainer);
}

/* The eval loss of the untuned prompt, reported as a step-0 record (metrics.jsonl, loss.svg and
 * the progress callback) so every run shows its baseline. Not on resume: the baseline is in the
 * metrics of the run being continued. */
static ptune_status evaluate_baseline(run_state *r)
{
    double el;
    ptune_status s = ptune_trainer_evaluate(r->trainer, &el);
    if (s) return pt_fail_context(s, "baseline evaluation: ");
    const ptune_train_progress *now = ptune_trainer_progress(r->trainer);
    ptune_train_progress p = {
        .step = 0,
        .total_steps = now ? now->total_steps : 0,
        .epoch = 0,
        .loss = NAN,
        .lr = NAN,
        .grad_norm = NAN,
        .tokens_per_s = NAN,
        .eta_s = NAN,
        .eval_loss = el,
        .eval_perplexity = exp(el),
    };
    return on_progress(&p, r) ? pt_fail(PTUNE_E_ABORTED, "stopped by the progress callback before training")
                              : PTUNE_OK;
}

/* The adapter, metrics.jsonl and loss.svg: also written after a cancelled run. */
static ptune_status write_outputs(run_state *r)
{
    const char *out = r->cfg.output_dir;
    char *jsonl = pt_strfmt("%s/metrics.jsonl", out), *svg = pt_strfmt("%s/loss.svg", out);
    ptune_status s = (!jsonl || !svg) ? PTUNE_E_NOMEM : PTUNE_OK;
    if (!s) s = ptune_prompt_save(r->prompt, out);
    if (!s) s = pt_metrics_write_jsonl(r->metrics, jsonl);
    if (!s) s = pt_metrics_write_svg(r->metrics, svg, r->cfg.model);
    free(jsonl);
    free(svg);
    return s;
}

PTUNE_API ptune_status ptune_run_yaml(const char *config_path, const ptune_run_params *given)
{
    if (!config_path) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_run_yaml: config path is NULL");
    ptune_run_params params;
    ptune_run_params_init(&params);
    if (given) {
        if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof params)
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_run_yaml: params.struct_size is %u; call ptune_run_params_init()",
                           given->struct_size);
        memcpy(&params, given, given->struct_size);
    }
    run_state r;
    memset(&r, 0, sizeof r);
    r.params = &params;
    ptune_status s = pt_run_config_load(config_path, params.overrides, params.n_overrides, &r.cfg);
    if (s) return s;
    r.log_every = r.cfg.train.log_every > 0 ? r.cfg.train.log_every : 1;
    /* with data parallelism only rank 0 writes the output_dir (checkpoints included) */
    const bool writer = pt_dp_writer(params.collective);
    char *checkpoints = pt_strfmt("%s/checkpoints", r.cfg.output_dir);
    if (!checkpoints) s = PTUNE_E_NOMEM;
    if (!s && writer) s = make_dirs(r.cfg.output_dir);
    if (!s) s = pt_metrics_new(&r.metrics);
    if (!s) {
        ptune_model_params mp;
        ptune_model_params_init(&mp);
        mp.storage = !strcmp(r.cfg.storage, "native") ? PTUNE_STORAGE_NATIVE : PTUNE_STORAGE_F32;
        if ((s = ptune_model_load(r.cfg.model, &mp, &r.model))) pt_fail_context(s, "model: ");
    }
    if (!s) s = load_data(&r);
    if (!s) s = make_prompt(&r);
    if (!s) s = make_trainer(&r, checkpoints);
    if (!s && params.resume) s = ptune_trainer_resume(r.trainer, params.resume);
    else if (!s && r.eval) s = evaluate_baseline(&r);
    if (!s) {
        s = ptune_trainer_run(r.trainer);
        if (writer && (s == PTUNE_OK || s == PTUNE_E_ABORTED)) {
            ptune_status w = write_outputs(&r);
            if (w) s = w;
        }
    }
    ptune_trainer_free(r.trainer);
    ptune_prompt_free(r.prompt);
    ptune_dataset_free(r.train);
    ptune_dataset_free(r.eval);
    ptune_model_free(r.model);
    pt_metrics_free(r.metrics);
    pt_run_config_free(&r.cfg);
    free(checkpoints);
    return s;
}
