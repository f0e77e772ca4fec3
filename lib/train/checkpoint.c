/* Owns trainer checkpoints: the atomic checkpoint directory (PEFT prompt, optimizer state,
 * trainer_state.json), keep-last-K-plus-best pruning, and exact resume (ptune_trainer_resume). */
#include "train/trainer.h"
#include "train/data_parallel.h"
#include "core/alloc.h"
#include "core/error.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A checkpoint directory holds:
 *   adapter_config.json, adapter_model.safetensors   the prompt (ptune_prompt_save: PEFT layout)
 *   optimizer.safetensors                            ptune_optimizer_save (moments, schedule position)
 *   trainer_state.json                               everything else, below
 * trainer_state.json keys: format "ptune-trainer-state", version 1; step, total_steps, epoch (index
 * of the current permutation, -1 before the first), micro_batch (next micro-batch of that epoch),
 * done, stopped_early, best_eval_loss (null = none yet), bad_evals, eval_loss (of an evaluation
 * at this step, null if none), seed and rng (xoshiro256** words as 16-digit hex strings, plus
 * rng_has_spare / rng_spare as the hex of its bits), permutation (the epoch's order; [] before the
 * first epoch), and the guards train_rows, train_tokens, eval_rows, eval_tokens, n_virtual, n_embd,
 * batch_size, batch_tokens, grad_accum. Doubles are written with 17 significant digits, which
 * read back exactly. */
#define STATE_FILE "trainer_state.json"
#define OPTIMIZER_FILE "optimizer.safetensors"
#define STATE_FORMAT "ptune-trainer-state"
#define STATE_VERSION 1

/* ---- small filesystem helpers -------------------------------------------------------------- */

static ptune_status mkdir_p(const char *dir)
{
    char *path = pt_strdup(dir, "directory path");
    if (!path) return PTUNE_E_NOMEM;
    ptune_status s = PTUNE_OK;
    for (char *q = path + 1;; q++) {
        if (*q != '/' && *q != '\0') continue;
        char c = *q;
        *q = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            s = pt_fail(PTUNE_E_IO, "cannot create directory %s: %s", path, strerror(errno));
            break;
        }
        *q = c;
        if (!c) break;
    }
    free(path);
    return s;
}

/* Removes a directory tree (errors ignored: used for cleanup and pruning). */
static void rmtree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *child = pt_strfmt("%s/%s", path, e->d_name);
            if (!child) continue;
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) rmtree(child);
            else unlink(child);
            free(child);
        }
        closedir(d);
    }
    rmdir(path);
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

static ptune_status write_file_synced(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return pt_fail(PTUNE_E_IO, "cannot create %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = fwrite(text, 1, n, f) == n && fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok) return pt_fail(PTUNE_E_IO, "cannot write %s: %s", path, strerror(err));
    return PTUNE_OK;
}

/* ---- trainer_state.json -------------------------------------------------------------------- */

static json_t *hex64(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
    return json_string(buf);
}

static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static uint64_t double_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static char *state_json(const ptune_trainer *t, double eval_loss)
{
    json_t *root = json_object();
    if (!root) return NULL;
    bool ok = true;
#define SET(k, v) ok = json_object_set_new(root, k, v) == 0 && ok
    SET("format", json_string(STATE_FORMAT));
    SET("version", json_integer(STATE_VERSION));
    SET("step", json_integer(t->step));
    SET("total_steps", json_integer(t->total_steps));
    SET("epoch", json_integer(t->epoch));
    SET("micro_batch", json_integer(t->mb_pos));
    SET("done", json_boolean(t->done));
    SET("stopped_early", json_boolean(t->stopped_early));
    SET("best_eval_loss", real_or_null(t->best_eval));
    SET("bad_evals", json_integer(t->bad_evals));
    SET("eval_loss", real_or_null(eval_loss));
    SET("seed", hex64(t->p.seed));
    json_t *rng = json_array();
    for (int i = 0; rng && i < 4; i++) ok = json_array_append_new(rng, hex64(t->rng.s[i])) == 0 && ok;
    SET("rng", rng);
    SET("rng_has_spare", json_integer(t->rng.has_spare));
    SET("rng_spare", hex64(double_bits(t->rng.spare)));
    json_t *perm = json_array();
    for (int64_t i = 0; perm && t->epoch >= 0 && i < t->train_sz.n; i++)
        ok = json_array_append_new(perm, json_integer(t->perm[i])) == 0 && ok;
    SET("permutation", perm);
    SET("train_rows", json_integer(t->train_sz.n));
    SET("train_tokens", json_integer(t->train_sz.tokens));
    SET("eval_rows", json_integer(t->eval ? t->eval_sz.n : 0));
    SET("eval_tokens", json_integer(t->eval ? t->eval_sz.tokens : 0));
    SET("n_virtual", json_integer(t->n_virtual));
    SET("n_embd", json_integer(t->n_embd));
    SET("batch_size", json_integer(t->batch_tokens > 0 ? 0 : t->batch_size));
    SET("batch_tokens", json_integer(t->batch_tokens));
    SET("grad_accum", json_integer(t->p.grad_accum));
#undef SET
    char *text = ok ? json_dumps(root, JSON_INDENT(1) | JSON_COMPACT) : NULL;
    json_decref(root);
    return text;
}

ptune_status pt_trainer_write_checkpoint(ptune_trainer *t, const char *dir_in, double eval_loss)
{
    char *dir = pt_strdup(dir_in, "checkpoint path");
    if (!dir) return PTUNE_E_NOMEM;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
    char *tmp = NULL, *aside = NULL, *opt_path = NULL, *state_path = NULL, *text = NULL, *parent = NULL;
    ptune_status s = PTUNE_OK;
    bool tmp_made = false;

    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        parent = pt_strfmt("%.*s", (int)(slash - dir), dir);
        if (!parent) s = PTUNE_E_NOMEM;
        else s = mkdir_p(parent);
    }
    if (!s && !(tmp = pt_strfmt("%s.tmp-XXXXXX", dir))) s = PTUNE_E_NOMEM;
    if (!s) {
        if (!mkdtemp(tmp)) s = pt_fail(PTUNE_E_IO, "cannot create a temporary directory next to %s: %s", dir, strerror(errno));
        else tmp_made = true;
    }
    if (!s) (void)chmod(tmp, 0755);
    if (!s) s = ptune_prompt_save(t->prompt, tmp);
    if (!s && !(opt_path = pt_strfmt("%s/" OPTIMIZER_FILE, tmp))) s = PTUNE_E_NOMEM;
    if (!s) s = ptune_optimizer_save(t->opt, opt_path);
    if (!s && !(state_path = pt_strfmt("%s/" STATE_FILE, tmp))) s = PTUNE_E_NOMEM;
    if (!s && !(text = state_json(t, eval_loss))) s = pt_fail(PTUNE_E_NOMEM, "out of memory writing %s", STATE_FILE);
    if (!s) s = write_file_synced(state_path, text);
    if (!s) fsync_path(tmp);

    /* into place: an existing checkpoint of that name is first moved aside, then removed */
    struct stat st;
    if (!s && lstat(dir, &st) == 0) {
        if (!(aside = pt_strfmt("%s.old-XXXXXX", dir))) s = PTUNE_E_NOMEM;
        else if (!mkdtemp(aside)) s = pt_fail(PTUNE_E_IO, "cannot create a temporary directory next to %s: %s", dir, strerror(errno));
        else if (rename(dir, aside) != 0) {
            s = pt_fail(PTUNE_E_IO, "cannot replace %s: %s", dir, strerror(errno));
            rmdir(aside);
            free(aside);
            aside = NULL;
        }
    }
    if (!s) {
        if (rename(tmp, dir) != 0) {
            s = pt_fail(PTUNE_E_IO, "cannot rename %s to %s: %s", tmp, dir, strerror(errno));
            if (aside && rename(aside, dir) == 0) {
                free(aside);
                aside = NULL;
            }
        } else {
            tmp_made = false;
            fsync_path(parent ? parent : (dir[0] == '/' ? "/" : "."));
        }
    }
    if (aside) rmtree(aside);
    if (tmp_made) rmtree(tmp);
    if (s) s = pt_fail_context(s, "saving checkpoint %s: ", dir);
    free(dir);
    free(tmp);
    free(aside);
    free(opt_path);
    free(state_path);
    free(text);
    free(parent);
    return s;
}

PTUNE_API ptune_status ptune_trainer_save_checkpoint(ptune_trainer *t, const char *dir)
{
    if (!t || !dir || !dir[0])
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_save_checkpoint: trainer and directory are required");
    return pt_trainer_write_checkpoint(t, dir, t->last_eval);
}

/* ---- pruning -------------------------------------------------------------------------------- */

typedef struct ckpt_entry {
    int64_t step;
    double eval_loss; /* NaN when the checkpoint has none */
    char *path;
} ckpt_entry;

static int cmp_step(const void *a, const void *b)
{
    int64_t x = ((const ckpt_entry *)a)->step, y = ((const ckpt_entry *)b)->step;
    return (x > y) - (x < y);
}

/* "checkpoint-<digits>" exactly; returns the step or -1. */
static int64_t parse_ckpt_name(const char *name)
{
    static const char prefix[] = "checkpoint-";
    if (strncmp(name, prefix, sizeof prefix - 1) != 0) return -1;
    const char *p = name + sizeof prefix - 1;
    if (!*p) return -1;
    int64_t v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10) return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static double read_eval_loss(const char *ckpt)
{
    char *path = pt_strfmt("%s/" STATE_FILE, ckpt);
    if (!path) return NAN;
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    free(path);
    double v = NAN;
    if (root) {
        json_t *x = json_object_get(root, "eval_loss");
        if (json_is_number(x)) v = json_number_value(x);
        json_decref(root);
    }
    return v;
}

/* Removes the temporaries of interrupted saves, and keeps the last checkpoint_keep checkpoints
 * by step plus the one with the lowest eval loss
 * (the earliest on ties); deletes the other checkpoint-<step> directories of checkpoint_dir. */
static ptune_status prune(ptune_trainer *t)
{
    if (t->p.checkpoint_keep <= 0) return PTUNE_OK;
    DIR *d = opendir(t->checkpoint_dir);
    if (!d) return pt_fail(PTUNE_E_IO, "cannot list %s: %s", t->checkpoint_dir, strerror(errno));
    ckpt_entry *v = NULL;
    size_t n = 0, cap = 0;
    ptune_status s = PTUNE_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strncmp(e->d_name, "checkpoint-", 11) && strstr(e->d_name, ".tmp-")) {
            /* the temporary of a save that was killed before its rename: never a checkpoint */
            char *stale = pt_strfmt("%s/%s", t->checkpoint_dir, e->d_name);
            if (stale) rmtree(stale);
            free(stale);
            continue;
        }
        int64_t step = parse_ckpt_name(e->d_name);
        if (step < 0) continue;
        char *path = pt_strfmt("%s/%s", t->checkpoint_dir, e->d_name);
        if (!path) {
            s = PTUNE_E_NOMEM;
            break;
        }
        struct stat st;
        if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            ckpt_entry *nv = pt_realloc(v, sizeof *nv * nc, "checkpoint buffer");
            if (!nv) {
                free(path);
                s = pt_fail(PTUNE_E_NOMEM, "out of memory listing checkpoints");
                break;
            }
            v = nv;
            cap = nc;
        }
        v[n++] = (ckpt_entry){.step = step, .eval_loss = read_eval_loss(path), .path = path};
    }
    closedir(d);
    if (!s && n > 0) {
        qsort(v, n, sizeof *v, cmp_step);
        size_t best = n;
        for (size_t i = 0; i < n; i++)
            if (!isnan(v[i].eval_loss) && (best == n || v[i].eval_loss < v[best].eval_loss)) best = i;
        size_t keep = (size_t)t->p.checkpoint_keep;
        for (size_t i = 0; i + keep < n; i++) {
            if (i == best) continue;
            /* renamed out of the way first: a process killed while deleting leaves a temporary
             * (removed by the next prune), never a checkpoint-<step> with files missing */
            char *doomed = pt_strfmt("%s.tmp-pruned", v[i].path);
            if (doomed && rename(v[i].path, doomed) == 0) rmtree(doomed);
            else rmtree(v[i].path);
            free(doomed);
        }
    }
    for (size_t i = 0; i < n; i++) free(v[i].path);
    free(v);
    return s;
}

ptune_status pt_trainer_auto_checkpoint(ptune_trainer *t)
{
    if (!pt_dp_writer(t->p.collective)) return PTUNE_OK; /* data parallelism: rank 0 writes */
    char *dir = pt_strfmt("%s/checkpoint-%lld", t->checkpoint_dir, (long long)t->step);
    if (!dir) return PTUNE_E_NOMEM;
    ptune_status s = pt_trainer_write_checkpoint(t, dir, t->last_eval);
    free(dir);
    if (s) return s;
    t->last_ckpt_step = t->step;
    return prune(t);
}

/* ---- resume --------------------------------------------------------------------------------- */

typedef struct state_reader {
    json_t *root;
    const char *path;
    ptune_status s;
} state_reader;

static json_t *field(state_reader *r, const char *key)
{
    json_t *v = json_object_get(r->root, key);
    if (!v && !r->s) r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is missing", r->path, key);
    return v;
}

static int64_t get_int(state_reader *r, const char *key)
{
    json_t *v = field(r, key);
    if (!v) return 0;
    if (!json_is_integer(v)) {
        if (!r->s) r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is not an integer", r->path, key);
        return 0;
    }
    return (int64_t)json_integer_value(v);
}

static bool get_bool(state_reader *r, const char *key)
{
    json_t *v = field(r, key);
    if (v && !json_is_boolean(v) && !r->s) r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is not a boolean", r->path, key);
    return v && json_is_true(v);
}

static double get_real_or_null(state_reader *r, const char *key, double if_null)
{
    json_t *v = field(r, key);
    if (!v || json_is_null(v)) return if_null;
    if (!json_is_number(v)) {
        if (!r->s) r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is not a number", r->path, key);
        return if_null;
    }
    return json_number_value(v);
}

static uint64_t parse_hex64(state_reader *r, json_t *v, const char *key)
{
    const char *str = json_is_string(v) ? json_string_value(v) : NULL;
    uint64_t x = 0;
    size_t len = str ? strlen(str) : 0;
    bool ok = len >= 1 && len <= 16;
    for (size_t i = 0; ok && i < len; i++) {
        char c = str[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) ok = false;
        else x = (x << 4) | (uint64_t)d;
    }
    if (!ok && !r->s) r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is not a 64-bit hex string", r->path, key);
    return x;
}

/* A guard: the checkpoint's value must equal this trainer's. */
static void guard(state_reader *r, const char *key, int64_t mine, const char *what)
{
    int64_t v = get_int(r, key);
    if (!r->s && v != mine)
        r->s = pt_fail(PTUNE_E_FORMAT, "%s: field \"%s\" is %lld but this trainer's %s is %lld", r->path, key,
                       (long long)v, what, (long long)mine);
}

PTUNE_API ptune_status ptune_trainer_resume(ptune_trainer *t, const char *dir)
{
    if (!t || !dir || !dir[0]) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_resume: trainer and directory are required");
    char *state_path = pt_strfmt("%s/" STATE_FILE, dir), *opt_path = pt_strfmt("%s/" OPTIMIZER_FILE, dir);
    int64_t *perm = pt_malloc_array((size_t)t->train_sz.n, sizeof *perm, "data order");
    unsigned char *seen = pt_calloc((size_t)t->train_sz.n, 1, "permutation check");
    ptune_prompt *pr = NULL;
    ptune_optimizer *opt = NULL;
    pt_batch_plan plan = {0};
    state_reader r = {.path = state_path};
    if (!state_path || !opt_path || !perm || !seen) r.s = PTUNE_E_NOMEM;

    if (!r.s) {
        json_error_t e;
        r.root = json_load_file(state_path, 0, &e);
        if (!r.root) {
            struct stat st;
            r.s = stat(state_path, &st) != 0
                      ? pt_fail(PTUNE_E_IO, "cannot open %s: %s", state_path, strerror(errno))
                      : pt_fail(PTUNE_E_FORMAT, "%s:%d:%d: %s", state_path, e.line, e.column, e.text);
        } else if (!json_is_object(r.root)) {
            r.s = pt_fail(PTUNE_E_FORMAT, "%s: not a JSON object", state_path);
        }
    }
    if (!r.s) {
        json_t *f = field(&r, "format");
        if (!r.s && (!json_is_string(f) || strcmp(json_string_value(f), STATE_FORMAT) != 0))
            r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"format\" is not \"%s\"", state_path, STATE_FORMAT);
        int64_t version = get_int(&r, "version");
        if (!r.s && version != STATE_VERSION)
            r.s = pt_fail(PTUNE_E_UNSUPPORTED, "%s: version %lld (this library reads %d)", state_path, (long long)version,
                          STATE_VERSION);
    }
    guard(&r, "train_rows", t->train_sz.n, "train dataset size");
    guard(&r, "train_tokens", t->train_sz.tokens, "train token count");
    guard(&r, "eval_rows", t->eval ? t->eval_sz.n : 0, "eval dataset size");
    guard(&r, "eval_tokens", t->eval ? t->eval_sz.tokens : 0, "eval token count");
    guard(&r, "n_virtual", t->n_virtual, "prompt length (n_virtual)");
    guard(&r, "n_embd", t->n_embd, "prompt width (n_embd)");
    guard(&r, "batch_size", t->batch_tokens > 0 ? 0 : t->batch_size, "batch_size");
    guard(&r, "batch_tokens", t->batch_tokens, "batch_tokens");
    guard(&r, "grad_accum", t->p.grad_accum, "grad_accum");

    int64_t step = get_int(&r, "step"), epoch = get_int(&r, "epoch"), mb_pos = get_int(&r, "micro_batch");
    int64_t bad_evals = get_int(&r, "bad_evals"), has_spare = get_int(&r, "rng_has_spare");
    bool stopped_early = get_bool(&r, "stopped_early");
    double best = get_real_or_null(&r, "best_eval_loss", INFINITY);
    pt_rng rng = {0};
    json_t *jr = field(&r, "rng");
    if (!r.s && (!json_is_array(jr) || json_array_size(jr) != 4))
        r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"rng\" is not an array of 4 hex strings", state_path);
    for (size_t i = 0; !r.s && i < 4; i++) rng.s[i] = parse_hex64(&r, json_array_get(jr, i), "rng");
    uint64_t spare_bits = r.s ? 0 : parse_hex64(&r, field(&r, "rng_spare"), "rng_spare");
    memcpy(&rng.spare, &spare_bits, sizeof rng.spare);
    rng.has_spare = has_spare != 0;
    if (!r.s && (step < 0 || epoch < -1 || epoch > INT32_MAX || mb_pos < 0 || bad_evals < 0 || bad_evals > INT32_MAX))
        r.s = pt_fail(PTUNE_E_FORMAT, "%s: step/epoch/micro_batch/bad_evals out of range", state_path);
    if (!r.s && (rng.s[0] | rng.s[1] | rng.s[2] | rng.s[3]) == 0)
        r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"rng\" is the all-zero state", state_path);

    /* the data order: a permutation of the train rows whenever an epoch has started */
    json_t *jp = field(&r, "permutation");
    if (!r.s) {
        size_t want = epoch >= 0 ? (size_t)t->train_sz.n : 0;
        if (!json_is_array(jp) || json_array_size(jp) != want)
            r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"permutation\" must be an array of %zu row indices", state_path, want);
        for (size_t i = 0; !r.s && i < want; i++) {
            json_t *x = json_array_get(jp, i);
            json_int_t k = json_is_integer(x) ? json_integer_value(x) : -1;
            if (k < 0 || k >= t->train_sz.n || seen[k])
                r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"permutation\" is not a permutation of 0..%lld (entry %zu)",
                              state_path, (long long)t->train_sz.n - 1, i);
            else {
                seen[k] = 1;
                perm[i] = (int64_t)k;
            }
        }
    }
    if (!r.s && epoch >= 0) {
        r.s = pt_plan_batches(&t->train_sz, perm, t->n_virtual, t->batch_size, t->batch_tokens, "train", &plan);
        if (!r.s && mb_pos > plan.n_mb)
            r.s = pt_fail(PTUNE_E_FORMAT, "%s: field \"micro_batch\" is %lld but the epoch has %lld micro-batches",
                          state_path, (long long)mb_pos, (long long)plan.n_mb);
    }

    /* the prompt and the optimizer, loaded into fresh objects so a failure changes nothing */
    if (!r.s) {
        r.s = ptune_prompt_load(t->m, dir, &pr);
        if (!r.s && (ptune_prompt_n_virtual(pr) != t->n_virtual || ptune_prompt_n_embd(pr) != t->n_embd))
            r.s = pt_fail(PTUNE_E_FORMAT, "%s: the prompt is [%d, %d] (num_virtual_tokens, token_dim) but the trainer's is [%d, %d]",
                          dir, ptune_prompt_n_virtual(pr), ptune_prompt_n_embd(pr), t->n_virtual, t->n_embd);
    }
    if (!r.s) r.s = ptune_optimizer_new(&t->op, t->prompt, &opt);
    if (!r.s) r.s = ptune_optimizer_load(opt, opt_path);
    if (!r.s && ptune_optimizer_steps(opt) != step)
        r.s = pt_fail(PTUNE_E_FORMAT, "%s: the optimizer has made %lld updates but trainer_state.json says step %lld",
                      opt_path, (long long)ptune_optimizer_steps(opt), (long long)step);

    if (!r.s) {
        const size_t n = (size_t)t->n_virtual * (size_t)t->n_embd;
        memcpy(ptune_prompt_values(t->prompt), ptune_prompt_values(pr), n * sizeof(float));
        memset(ptune_prompt_grad(t->prompt), 0, n * sizeof(float));
        ptune_optimizer_free(t->opt);
        t->opt = opt;
        opt = NULL;
        if (epoch >= 0) memcpy(t->perm, perm, sizeof *perm * (size_t)t->train_sz.n);
        pt_batch_plan tmp = t->plan;
        t->plan = plan;
        plan = tmp;
        if (epoch < 0) t->plan.n_mb = 0;
        t->rng = rng;
        t->epoch = (int32_t)epoch;
        t->mb_pos = epoch >= 0 ? mb_pos : 0;
        t->step = step;
        t->best_eval = best;
        t->bad_evals = (int32_t)bad_evals;
        t->stopped_early = stopped_early;
        t->done = stopped_early || step >= t->total_steps;
        t->last_ckpt_step = step;
        t->last_eval = NAN;
        t->seconds = 0.0;
        t->session_steps = 0;
        t->session_tokens = 0;
        ptune_train_progress *p = &t->prog;
        memset(p, 0, sizeof *p);
        p->step = step;
        p->total_steps = t->total_steps;
        p->epoch = t->epoch < 0 ? 0 : t->epoch;
        p->loss = NAN;
        p->lr = ptune_optimizer_lr(t->opt);
        p->grad_norm = ptune_optimizer_last_grad_norm(t->opt);
        p->eval_loss = NAN;
        p->eval_perplexity = NAN;
    } else {
        r.s = pt_fail_context(r.s, "ptune_trainer_resume: ");
    }
    json_decref(r.root);
    ptune_prompt_free(pr);
    ptune_optimizer_free(opt);
    pt_batch_plan_free(&plan);
    free(perm);
    free(seen);
    free(state_path);
    free(opt_path);
    return r.s;
}
