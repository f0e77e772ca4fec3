/* Owns the trainer loop (ptune_trainer_*): params, sizing and auto batch size, the seeded data order,
 * micro-batches with gradient accumulation, evaluation, early stopping, progress and cancellation. */
#include "train/trainer.h"
#include "train/data_parallel.h"
#include "core/params.h"
#include "core/alloc.h"
#include "core/error.h"
#include "tuning/optimizer.h" /* accum/accum_count: short last windows and rolling back a failed step */

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void trainer_params_defaults(ptune_trainer_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->epochs = 1;
    p->batch_size = 8;
    p->grad_accum = 1;
    p->checkpoint_keep = 2;
}

PTUNE_API void ptune_trainer_params_init_sized(ptune_trainer_params *p, uint32_t size)
{
    ptune_trainer_params d;
    trainer_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static ptune_status check_params(const ptune_trainer_params *p)
{
#define BAD(...) pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: " __VA_ARGS__)
    if (p->max_steps < 0) return BAD("max_steps = %lld must be >= 0", (long long)p->max_steps);
    if (p->max_steps == 0 && p->epochs < 1) return BAD("epochs = %d must be >= 1 (or set max_steps)", p->epochs);
    if (p->batch_size < 1) return BAD("batch_size = %d must be >= 1", p->batch_size);
    if (p->batch_tokens < 0) return BAD("batch_tokens = %d must be >= 0", p->batch_tokens);
    if (p->auto_batch_memory < 0) return BAD("auto_batch_memory = %lld must be >= 0", (long long)p->auto_batch_memory);
    if (p->grad_accum < 1) return BAD("grad_accum = %d must be >= 1", p->grad_accum);
    if (p->eval_every < 0) return BAD("eval_every = %lld must be >= 0", (long long)p->eval_every);
    if (p->early_stopping_patience < 0)
        return BAD("early_stopping_patience = %d must be >= 0", p->early_stopping_patience);
    if (p->n_threads < 0) return BAD("n_threads = %d must be >= 0", p->n_threads);
    if (p->checkpoint_every < 0) return BAD("checkpoint_every = %lld must be >= 0", (long long)p->checkpoint_every);
    if (p->checkpoint_dir && !p->checkpoint_dir[0]) return BAD("checkpoint_dir is empty");
    const ptune_collective *c = p->collective;
    if (c && (c->size < 1 || c->rank < 0 || c->rank >= c->size || !c->allreduce_sum))
        return BAD("collective has rank %d of size %d%s; expected 0 <= rank < size and an allreduce_sum callback",
                   c->rank, c->size, c->allreduce_sum ? "" : " and no allreduce_sum");
    return PTUNE_OK;
#undef BAD
}

ptune_status pt_trainer_replan(ptune_trainer *t)
{
    return pt_plan_batches(&t->train_sz, t->perm, t->n_virtual, t->batch_size, t->batch_tokens, "train", &t->plan);
}

/* Optimizer steps of the whole run: max_steps, or Σ over epochs of ceil(micro-batches / grad_accum).
 * With a row budget each epoch's count depends on its permutation: they are drawn ahead on a copy
 * of the RNG (t->perm and t->plan are scratch here; the first epoch draws them again). */
static ptune_status count_total_steps(ptune_trainer *t)
{
    const int64_t ga = t->p.grad_accum;
    if (t->p.max_steps > 0) {
        t->total_steps = t->p.max_steps;
        return PTUNE_OK;
    }
    if (t->batch_tokens <= 0) {
        int64_t n_mb = (t->train_sz.n + t->batch_size - 1) / t->batch_size;
        t->total_steps = (n_mb + ga - 1) / ga * t->p.epochs;
        return PTUNE_OK;
    }
    pt_rng r = t->rng;
    int64_t total = 0;
    for (int32_t e = 0; e < t->p.epochs; e++) {
        pt_shuffle_perm(&r, t->perm, t->train_sz.n);
        ptune_status s = pt_trainer_replan(t);
        if (s) return s;
        total += (t->plan.n_mb + ga - 1) / ga;
    }
    t->total_steps = total;
    return PTUNE_OK;
}

/* auto_batch_memory: halve batch_size (or batch_tokens, down to the longest example) until the
 * estimated training context fits the budget. */
static ptune_status fit_memory(ptune_trainer *t)
{
    const int64_t budget = t->p.auto_batch_memory;
    const int64_t longest_rows = (int64_t)t->n_virtual + t->train_sz.longest;
    for (;;) {
        int64_t rows = pt_plan_max_rows(&t->train_sz, t->n_virtual, t->batch_size, t->batch_tokens);
        int64_t bytes = pt_train_ctx_bytes(t->m, rows, longest_rows, t->p.n_threads);
        if (budget <= 0 || bytes <= budget) {
            t->train_ctx_rows = rows;
            return PTUNE_OK;
        }
        if (t->batch_tokens > 0) {
            if (t->batch_tokens <= longest_rows)
                return pt_fail(PTUNE_E_CAPACITY,
                               "ptune_trainer_new: a training context for the longest example (%lld rows) needs "
                               "about %lld bytes, more than auto_batch_memory = %lld",
                               (long long)longest_rows, (long long)bytes, (long long)budget);
            int64_t half = t->batch_tokens / 2;
            t->batch_tokens = (int32_t)(half > longest_rows ? half : longest_rows);
        } else {
            if (t->batch_size <= 1)
                return pt_fail(PTUNE_E_CAPACITY,
                               "ptune_trainer_new: a training context for batch size 1 (%lld rows) needs about "
                               "%lld bytes, more than auto_batch_memory = %lld",
                               (long long)rows, (long long)bytes, (long long)budget);
            t->batch_size /= 2;
        }
    }
}

static ptune_status ensure_batch_cap(ptune_trainer *t, int32_t count)
{
    if (count <= t->b_cap) return PTUNE_OK;
    const int32_t **ids = pt_realloc(t->b_ids, sizeof *ids * (size_t)count, "trainer buffer");
    if (!ids) return pt_fail(PTUNE_E_NOMEM, "out of memory for a batch of %d sequences", count);
    t->b_ids = ids;
    const int32_t **labels = pt_realloc(t->b_labels, sizeof *labels * (size_t)count, "trainer buffer");
    if (!labels) return pt_fail(PTUNE_E_NOMEM, "out of memory for a batch of %d sequences", count);
    t->b_labels = labels;
    int32_t *len = pt_realloc(t->b_len, sizeof *len * (size_t)count, "trainer buffer");
    if (!len) return pt_fail(PTUNE_E_NOMEM, "out of memory for a batch of %d sequences", count);
    t->b_len = len;
    t->b_cap = count;
    return PTUNE_OK;
}

/* The ragged batch of micro-batch `mb` over `order` (NULL = file order) of dataset `d`. */
static ptune_status make_batch(ptune_trainer *t, const ptune_dataset *d, const int64_t *order,
                               const pt_micro_batch *mb, ptune_batch *b)
{
    ptune_status s = ensure_batch_cap(t, mb->count);
    if (s) return s;
    for (int32_t k = 0; k < mb->count; k++) {
        int64_t i = order ? order[mb->start + k] : mb->start + k;
        const int32_t *ids = NULL, *labels = NULL;
        int32_t len = 0;
        s = ptune_dataset_get(d, i, &ids, &labels, &len);
        if (s) return s;
        t->b_ids[k] = ids;
        t->b_labels[k] = labels ? labels : ids;
        t->b_len[k] = len;
    }
    b->n_seq = mb->count;
    b->ids = t->b_ids;
    b->labels = t->b_labels;
    b->len = t->b_len;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_trainer_new(const ptune_model *m, ptune_prompt *prompt, const ptune_dataset *train,
                                         const ptune_dataset *eval, const ptune_trainer_params *given,
                                         ptune_trainer **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: out is NULL");
    *out = NULL;
    if (!m || !prompt || !train)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: model, prompt and train dataset are required");
    ptune_trainer_params p;
    ptune_trainer_params_init(&p);
    if (given) {
        if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof p)
            return pt_fail(PTUNE_E_INVALID_ARG,
                           "ptune_trainer_new: params.struct_size is %u; call ptune_trainer_params_init()",
                           given->struct_size);
        memcpy(&p, given, given->struct_size);
        p.struct_size = sizeof p;
    }
    ptune_status s = check_params(&p);
    if (s) return s;
    if (p.early_stopping_patience > 0 && !eval)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: early_stopping_patience needs an eval dataset");
    if (ptune_prompt_n_embd(prompt) != ptune_model_n_embd(m))
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: the prompt is %d wide but the model's n_embd is %d",
                       ptune_prompt_n_embd(prompt), ptune_model_n_embd(m));

    ptune_optimizer_params op;
    ptune_optimizer_params_init(&op);
    if (p.optimizer) {
        if (p.optimizer->struct_size < sizeof(uint32_t) || p.optimizer->struct_size > sizeof op)
            return pt_fail(PTUNE_E_INVALID_ARG,
                           "ptune_trainer_new: optimizer.struct_size is %u; call ptune_optimizer_params_init()",
                           p.optimizer->struct_size);
        memcpy(&op, p.optimizer, p.optimizer->struct_size);
        op.struct_size = sizeof op;
    }

    ptune_trainer *t = pt_calloc(1, sizeof *t, "trainer");
    if (!t) return PTUNE_E_NOMEM;
    t->m = m;
    t->prompt = prompt;
    t->train = train;
    t->eval = eval;
    t->p = p;
    t->n_virtual = ptune_prompt_n_virtual(prompt);
    t->n_embd = ptune_prompt_n_embd(prompt);
    t->batch_size = p.batch_size;
    t->batch_tokens = p.batch_tokens;
    t->epoch = -1;
    t->best_eval = INFINITY;
    t->last_ckpt_step = -1;
    t->last_eval = NAN;
    t->p.checkpoint_dir = NULL;
    t->p.optimizer = NULL;
    if (p.checkpoint_dir && !(t->checkpoint_dir = pt_strdup(p.checkpoint_dir, "checkpoint directory"))) s = PTUNE_E_NOMEM;
    t->p.checkpoint_dir = t->checkpoint_dir;

    if (!s) s = pt_example_sizes_read(train, "train", &t->train_sz);
    if (!s && eval) s = pt_example_sizes_read(eval, "eval", &t->eval_sz);
    /* every example must fit the model's context after the virtual tokens */
    const int32_t n_ctx = ptune_model_n_ctx(m);
    for (int which = 0; !s && which < 2 && n_ctx > 0; which++) {
        const pt_example_sizes *sz = which ? &t->eval_sz : &t->train_sz;
        for (int64_t i = 0; i < sz->n; i++)
            if ((int64_t)t->n_virtual + sz->len[i] > n_ctx) {
                s = pt_fail(PTUNE_E_CAPACITY,
                            "ptune_trainer_new: %s example %lld has %d tokens; with %d virtual tokens that is more "
                            "than the model's context of %d",
                            which ? "eval" : "train", (long long)i, sz->len[i], t->n_virtual, n_ctx);
                break;
            }
    }
    if (!s && !(t->perm = pt_malloc_array((size_t)t->train_sz.n, sizeof *t->perm, "data order"))) s = PTUNE_E_NOMEM;
    if (!s && pt_dp_active(t) &&
        !(t->dp_buf = pt_malloc_array((size_t)t->n_virtual * (size_t)t->n_embd + 2, sizeof *t->dp_buf,
                                      "gradient reduction buffer")))
        s = PTUNE_E_NOMEM;
    if (!s) s = fit_memory(t);
    if (!s) {
        pt_rng_seed(&t->rng, p.seed);
        s = count_total_steps(t);
    }
    if (!s && t->total_steps <= 0) s = pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: the run has no steps");
    if (!s) {
        op.total_steps = t->total_steps;
        op.grad_accum_steps = p.grad_accum;
        t->op = op;
        t->p.optimizer = &t->op;
        s = ptune_optimizer_new(&t->op, prompt, &t->opt);
    }
    if (!s) {
        if (t->train_ctx_rows > (1 << 24))
            s = pt_fail(PTUNE_E_CAPACITY, "ptune_trainer_new: the largest micro-batch has %lld rows (at most %d)",
                        (long long)t->train_ctx_rows, 1 << 24);
    }
    if (!s) {
        ptune_ctx_params cp;
        ptune_ctx_params_init(&cp);
        cp.training = 1;
        cp.n_threads = p.n_threads;
        cp.max_tokens = (int32_t)t->train_ctx_rows;
        cp.logits = PTUNE_LOGITS_NONE;
        s = ptune_ctx_new(m, &cp, &t->ctx);
    }
    if (!s && eval) {
        s = pt_plan_batches(&t->eval_sz, NULL, t->n_virtual, t->batch_size, t->batch_tokens, "eval", &t->eval_plan);
        if (!s && t->eval_plan.max_rows > (1 << 24))
            s = pt_fail(PTUNE_E_CAPACITY, "ptune_trainer_new: the largest eval batch has %lld rows (at most %d)",
                        (long long)t->eval_plan.max_rows, 1 << 24);
        if (!s) {
            ptune_ctx_params cp;
            ptune_ctx_params_init(&cp);
            cp.n_threads = p.n_threads;
            cp.max_tokens = (int32_t)t->eval_plan.max_rows;
            s = ptune_ctx_new(m, &cp, &t->eval_ctx);
        }
    }
    if (s) {
        ptune_trainer_free(t);
        return s;
    }
    t->prog.total_steps = t->total_steps;
    t->prog.loss = NAN;
    t->prog.lr = ptune_optimizer_lr(t->opt);
    t->prog.eval_loss = NAN;
    t->prog.eval_perplexity = NAN;
    *out = t;
    return PTUNE_OK;
}

PTUNE_API void ptune_trainer_free(ptune_trainer *t)
{
    if (!t) return;
    ptune_optimizer_free(t->opt);
    ptune_ctx_free(t->ctx);
    ptune_ctx_free(t->eval_ctx);
    pt_example_sizes_free(&t->train_sz);
    pt_example_sizes_free(&t->eval_sz);
    pt_batch_plan_free(&t->plan);
    pt_batch_plan_free(&t->eval_plan);
    free(t->perm);
    free(t->b_ids);
    free(t->b_labels);
    free(t->b_len);
    free(t->dp_buf);
    free(t->checkpoint_dir);
    free(t);
}

/* Starts the next epoch when the current one is exhausted (or none has started). */
static ptune_status ensure_epoch(ptune_trainer *t)
{
    if (t->epoch >= 0 && t->mb_pos < t->plan.n_mb) return PTUNE_OK;
    pt_rng saved = t->rng;
    pt_shuffle_perm(&t->rng, t->perm, t->train_sz.n);
    ptune_status s = pt_trainer_replan(t);
    if (s) {
        t->rng = saved; /* the next attempt draws the same permutation */
        t->plan.n_mb = 0;
        return s;
    }
    t->epoch++;
    t->mb_pos = 0;
    return PTUNE_OK;
}

/* Drops a partly accumulated window, so a failed step can be retried from the same state. */
static void rollback_window(ptune_trainer *t)
{
    memset(ptune_prompt_grad(t->prompt), 0, sizeof(float) * (size_t)t->n_virtual * (size_t)t->n_embd);
    if (t->opt->accum) memset(t->opt->accum, 0, sizeof(double) * t->opt->n);
    t->opt->accum_count = 0;
}

/* Forward, loss and backward of this rank's share of `mb` (all of it without data parallelism),
 * leaving d(mean loss)/d prompt in the prompt's gradient and the mean loss in *loss. With data
 * parallelism the shards' unnormalised gradients, NLL sums and target counts are summed across
 * ranks and divided by the micro-batch's target count: the gradient and loss of the whole
 * micro-batch, on every rank. */
static ptune_status micro_batch_grad(ptune_trainer *t, const pt_micro_batch *mb, double *loss)
{
    const pt_micro_batch shard = pt_dp_shard(t, mb);
    int64_t counted = 0;
    ptune_status s = PTUNE_OK;
    *loss = 0.0;
    if (shard.count > 0) {
        ptune_batch b;
        s = make_batch(t, t->train, t->perm, &shard, &b);
        if (!s) s = ptune_forward(t->ctx, t->prompt, &b);
        if (!s) s = ptune_loss(t->ctx, loss, &counted);
        if (s == PTUNE_E_STATE && pt_dp_active(t)) { /* a shard whose labels are all -100 */
            s = PTUNE_OK;
            counted = 0;
            *loss = 0.0;
        }
        if (!s && counted > 0) s = ptune_backward(t->ctx, t->prompt);
        if (s) return s;
    }
    if (!pt_dp_active(t)) return PTUNE_OK;
    const size_t n = (size_t)t->n_virtual * (size_t)t->n_embd;
    float *g = ptune_prompt_grad(t->prompt);
    for (size_t i = 0; i < n; i++) t->dp_buf[i] = (double)g[i] * (double)counted;
    t->dp_buf[n] = *loss * (double)counted;
    t->dp_buf[n + 1] = (double)counted;
    if ((s = pt_dp_sum(t, t->dp_buf, (int64_t)n + 2, "prompt gradient"))) return s;
    const double total = t->dp_buf[n + 1];
    if (total != (double)mb->targets)
        return pt_fail(PTUNE_E_STATE, "rank %d of %d: the ranks counted %.0f targets in a micro-batch of %lld: they do "
                       "not train on the same data (same dataset, config and seed on every rank?)",
                       t->p.collective->rank, t->p.collective->size, total, (long long)mb->targets);
    for (size_t i = 0; i < n; i++) g[i] = (float)(t->dp_buf[i] / total);
    *loss = t->dp_buf[n] / total;
    return PTUNE_OK;
}

/* Runs the k micro-batches of the current window: forward, loss, backward, optimizer step() each. */
static ptune_status train_window(ptune_trainer *t, int64_t k, double *loss_mean, int64_t *tokens)
{
    const int32_t ga = t->p.grad_accum;
    const size_t n = (size_t)t->n_virtual * (size_t)t->n_embd;
    float scale = 1.0f;
    if (k < ga) {
        /* a short last window: the optimizer fires after k calls and divides by ga, so each
         * gradient is scaled by ga/k to make the update the mean of the k gradients */
        t->opt->accum_count = (int32_t)(ga - k);
        scale = (float)((double)ga / (double)k);
    }
    double sum = 0.0;
    int64_t n_loss = 0, tok = 0;
    for (int64_t j = 0; j < k; j++) {
        const pt_micro_batch *mb = &t->plan.mb[t->mb_pos + j];
        ptune_status s;
        if (mb->targets > 0) {
            double loss = 0.0;
            if ((s = micro_batch_grad(t, mb, &loss))) return s;
            sum += loss;
            n_loss++;
        }
        if (scale != 1.0f) {
            float *g = ptune_prompt_grad(t->prompt);
            for (size_t i = 0; i < n; i++) g[i] *= scale;
        }
        s = ptune_optimizer_step(t->opt, t->prompt);
        if (s) return s;
        tok += mb->tokens;
    }
    *loss_mean = n_loss ? sum / (double)n_loss : NAN;
    *tokens = tok;
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_trainer_evaluate(ptune_trainer *t, double *loss)
{
    if (!t || !loss) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_evaluate: trainer and loss are required");
    if (!t->eval) return pt_fail(PTUNE_E_STATE, "ptune_trainer_evaluate: the trainer has no eval dataset");
    double sums[2] = {0.0, 0.0}; /* NLL, counted targets (this rank's shards, then all ranks') */
    for (int64_t i = 0; i < t->eval_plan.n_mb; i++) {
        const pt_micro_batch shard = pt_dp_shard(t, &t->eval_plan.mb[i]);
        if (t->eval_plan.mb[i].targets == 0 || shard.count == 0) continue;
        ptune_batch b;
        double l = 0.0;
        int64_t c = 0;
        ptune_status s = make_batch(t, t->eval, NULL, &shard, &b);
        if (!s) s = ptune_forward(t->eval_ctx, t->prompt, &b);
        if (!s) s = ptune_loss(t->eval_ctx, &l, &c);
        if (s == PTUNE_E_STATE && pt_dp_active(t)) continue; /* a shard without scored tokens */
        if (s) return pt_fail_context(s, "ptune_trainer_evaluate: ");
        sums[0] += l * (double)c;
        sums[1] += (double)c;
    }
    if (pt_dp_active(t)) {
        ptune_status s = pt_dp_sum(t, sums, 2, "eval loss");
        if (s) return pt_fail_context(s, "ptune_trainer_evaluate: ");
    }
    if (sums[1] == 0) return pt_fail(PTUNE_E_STATE, "ptune_trainer_evaluate: the eval dataset has no scored token");
    *loss = sums[0] / sums[1];
    return PTUNE_OK;
}

/* Saves a checkpoint (when a directory is set and this step has none yet) before stopping. */
static ptune_status abort_run(ptune_trainer *t, const char *why)
{
    if (t->checkpoint_dir && t->last_ckpt_step != t->step) {
        ptune_status s = pt_trainer_auto_checkpoint(t);
        if (s) return pt_fail_context(s, "%s; saving its checkpoint failed: ", why);
    }
    return pt_fail(PTUNE_E_ABORTED, "training %s at step %lld", why, (long long)t->step);
}

PTUNE_API ptune_status ptune_trainer_step(ptune_trainer *t)
{
    if (!t) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_step: trainer is NULL");
    if (t->done)
        return pt_fail(PTUNE_E_STATE, "ptune_trainer_step: training is complete (%s at step %lld)",
                       t->stopped_early ? "early stopping" : "all steps done", (long long)t->step);
    bool cancel = t->p.cancel && *t->p.cancel;
    if (pt_dp_active(t)) { /* every rank stops at the same step when any of them is cancelled */
        double any = cancel ? 1.0 : 0.0;
        ptune_status s = pt_dp_sum(t, &any, 1, "cancel flag");
        if (s) return s;
        cancel = any > 0.0;
    }
    if (cancel) return abort_run(t, "cancelled");

    const double t0 = now_seconds();
    ptune_status s = ensure_epoch(t);
    if (s) return s;
    const int64_t remaining = t->plan.n_mb - t->mb_pos;
    const int64_t k = remaining < t->p.grad_accum ? remaining : t->p.grad_accum;
    const double lr = ptune_optimizer_lr(t->opt);
    double loss = NAN;
    int64_t tokens = 0;
    s = train_window(t, k, &loss, &tokens);
    if (s) {
        rollback_window(t);
        return s;
    }
    t->mb_pos += k;
    t->step++;
    t->done = t->step >= t->total_steps;
    const bool epoch_end = t->mb_pos >= t->plan.n_mb;
    ptune_train_progress *pr = &t->prog;
    pr->step = t->step;
    pr->total_steps = t->total_steps;
    pr->epoch = t->epoch;
    pr->loss = loss;
    pr->lr = lr;
    pr->grad_norm = ptune_optimizer_last_grad_norm(t->opt);
    pr->eval_loss = NAN;
    pr->eval_perplexity = NAN;

    t->last_eval = NAN;
    if (t->eval && ((t->p.eval_every > 0 && t->step % t->p.eval_every == 0) || (t->p.eval_every == 0 && epoch_end))) {
        double el;
        s = ptune_trainer_evaluate(t, &el);
        if (s) return s;
        t->last_eval = el;
        if (el < t->best_eval) {
            t->best_eval = el;
            t->bad_evals = 0;
        } else {
            t->bad_evals++;
            if (t->p.early_stopping_patience > 0 && t->bad_evals >= t->p.early_stopping_patience)
                t->stopped_early = true;
        }
        t->done = t->done || t->stopped_early;
        pr->eval_loss = el;
        pr->eval_perplexity = exp(el);
    }

    t->seconds += now_seconds() - t0;
    t->session_steps++;
    t->session_tokens += tokens;
    pr->tokens_per_s = t->seconds > 0.0 ? (double)t->session_tokens / t->seconds : 0.0;
    pr->eta_s = t->done ? 0.0 : t->seconds / (double)t->session_steps * (double)(t->total_steps - t->step);
    /* checkpoint time is not part of the step time the ETA extrapolates */
    if (t->checkpoint_dir && ((t->p.checkpoint_every > 0 && t->step % t->p.checkpoint_every == 0) || t->done)) {
        s = pt_trainer_auto_checkpoint(t);
        if (s) return s;
    }
    if (t->p.progress && t->p.progress(pr, t->p.progress_user)) return abort_run(t, "stopped by the progress callback");
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_trainer_epoch(ptune_trainer *t)
{
    if (!t) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_epoch: trainer is NULL");
    const int32_t target = (t->epoch < 0 || t->mb_pos >= t->plan.n_mb) ? t->epoch + 1 : t->epoch;
    do {
        ptune_status s = ptune_trainer_step(t);
        if (s) return s;
    } while (!t->done && t->epoch == target && t->mb_pos < t->plan.n_mb);
    return PTUNE_OK;
}

PTUNE_API ptune_status ptune_trainer_run(ptune_trainer *t)
{
    if (!t) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_run: trainer is NULL");
    /* a complete run (e.g. resumed from its final checkpoint) has nothing left to do */
    while (!t->done) {
        ptune_status s = ptune_trainer_step(t);
        if (s) return s;
    }
    return PTUNE_OK;
}

PTUNE_API const ptune_train_progress *ptune_trainer_progress(const ptune_trainer *t) { return t ? &t->prog : NULL; }
