/* Owns micro-batch planning for the trainer: example sizes, count/row-budget micro-batches, the
 * seeded epoch permutation and the training-context memory estimate used by auto_batch_memory. */
#include "train/batching.h"
#include "core/alloc.h"
#include "core/error.h"
#include "model/model.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IGNORE_INDEX (-100)

ptune_status pt_example_sizes_read(const ptune_dataset *d, const char *what, pt_example_sizes *out)
{
    memset(out, 0, sizeof *out);
    int64_t n = ptune_dataset_size(d);
    if (n <= 0) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: the %s dataset is empty", what);
    pt_example_sizes s = {.n = n};
    s.len = pt_malloc_array((size_t)n, sizeof *s.len, "example lengths");
    s.targets = pt_malloc_array((size_t)n, sizeof *s.targets, "example target counts");
    if (!s.len || !s.targets) {
        pt_example_sizes_free(&s);
        return PTUNE_E_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) {
        const int32_t *ids = NULL, *labels = NULL;
        int32_t len = 0;
        ptune_status st = ptune_dataset_get(d, i, &ids, &labels, &len);
        if (st) {
            pt_example_sizes_free(&s);
            return pt_fail_context(st, "ptune_trainer_new: %s example %lld: ", what, (long long)i);
        }
        if (len < 1 || !ids) {
            pt_example_sizes_free(&s);
            return pt_fail(PTUNE_E_INVALID_ARG, "ptune_trainer_new: %s example %lld is empty", what, (long long)i);
        }
        int32_t t = 0;
        for (int32_t k = 0; k < len; k++) t += (labels ? labels[k] : ids[k]) != IGNORE_INDEX;
        s.len[i] = len;
        s.targets[i] = t;
        s.tokens += len;
        if (len > s.longest) s.longest = len;
    }
    *out = s;
    return PTUNE_OK;
}

void pt_example_sizes_free(pt_example_sizes *s)
{
    if (!s) return;
    free(s->len);
    free(s->targets);
    memset(s, 0, sizeof *s);
}

static ptune_status plan_push(pt_batch_plan *plan, const pt_micro_batch *mb)
{
    if (plan->n_mb == plan->cap) {
        int64_t cap = plan->cap ? plan->cap * 2 : 16;
        pt_micro_batch *p = pt_realloc(plan->mb, sizeof *p * (size_t)cap, "batching buffer");
        if (!p) return pt_fail(PTUNE_E_NOMEM, "out of memory planning %lld micro-batches", (long long)cap);
        plan->mb = p;
        plan->cap = cap;
    }
    plan->mb[plan->n_mb++] = *mb;
    if (mb->rows > plan->max_rows) plan->max_rows = mb->rows;
    if (mb->count > plan->max_count) plan->max_count = mb->count;
    return PTUNE_OK;
}

ptune_status pt_plan_batches(const pt_example_sizes *sz, const int64_t *order, int32_t n_virtual,
                             int32_t batch_size, int32_t batch_tokens, const char *what, pt_batch_plan *plan)
{
    plan->n_mb = 0;
    plan->max_rows = 0;
    plan->max_count = 0;
    pt_micro_batch cur = {0};
    for (int64_t k = 0; k < sz->n; k++) {
        int64_t i = order ? order[k] : k;
        int64_t rows = (int64_t)n_virtual + sz->len[i];
        bool full;
        if (batch_tokens > 0) {
            if (rows > batch_tokens)
                return pt_fail(PTUNE_E_INVALID_ARG,
                               "ptune_trainer: %s example %lld needs %lld rows (%d virtual + %d tokens), more than "
                               "batch_tokens = %d",
                               what, (long long)i, (long long)rows, n_virtual, sz->len[i], batch_tokens);
            full = cur.count > 0 && cur.rows + rows > batch_tokens;
        } else {
            full = cur.count >= batch_size;
        }
        if (full) {
            ptune_status s = plan_push(plan, &cur);
            if (s) return s;
            cur = (pt_micro_batch){.start = k};
        }
        cur.count++;
        cur.rows += rows;
        cur.tokens += sz->len[i];
        /* with a prompt the first real token is a target too (predicted from the last virtual row) */
        cur.targets += sz->targets[i];
    }
    if (cur.count > 0) return plan_push(plan, &cur);
    return PTUNE_OK;
}

void pt_batch_plan_free(pt_batch_plan *plan)
{
    if (!plan) return;
    free(plan->mb);
    memset(plan, 0, sizeof *plan);
}

static int cmp_desc_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x < y) - (x > y);
}

int64_t pt_plan_max_rows(const pt_example_sizes *sz, int32_t n_virtual, int32_t batch_size, int32_t batch_tokens)
{
    int64_t all = sz->tokens + (int64_t)n_virtual * sz->n;
    if (batch_tokens > 0) return all < batch_tokens ? all : batch_tokens;
    int64_t k = batch_size < sz->n ? batch_size : sz->n;
    if (k == sz->n) return all;
    /* the k longest examples: sort a copy of the lengths (falls back to the total on OOM) */
    int32_t *tmp = pt_malloc_array((size_t)sz->n, sizeof *tmp, "batch order");
    if (!tmp) return all;
    memcpy(tmp, sz->len, sizeof *tmp * (size_t)sz->n);
    qsort(tmp, (size_t)sz->n, sizeof *tmp, cmp_desc_i32);
    int64_t rows = 0;
    for (int64_t i = 0; i < k; i++) rows += (int64_t)n_virtual + tmp[i];
    free(tmp);
    return rows;
}

void pt_shuffle_perm(pt_rng *rng, int64_t *perm, int64_t n)
{
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)pt_rng_below(rng, (uint64_t)i + 1);
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

int64_t pt_train_ctx_bytes(const ptune_model *m, int64_t rows, int64_t longest, int32_t n_threads)
{
    const pt_hparams *h = &m->hp;
    const int64_t L = h->n_layer, D = h->n_embd, F = h->n_ff, V = h->n_vocab;
    const int64_t qkv = pt_hp_qkv_dim(h), q = pt_hp_q_dim(h);
    const int64_t up = m->arch->ffn == PT_FFN_SWIGLU ? 2 * F : F;
    int64_t threads = n_threads;
    if (threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? n : 1;
    }
    if (threads > 256) threads = 256;
    double per_row = (double)L * (double)(2 * D + qkv + up + 4) /* saved per layer */
                     + (double)(D + 4)                          /* final residual + norm stats */
                     + (double)D                                /* LM-head dH */
                     + (double)(3 * D + qkv + up)               /* backward scratch */
                     + (double)(D + q + F)                      /* forward scratch */
                     + (m->arch->emb_norm ? (double)D : 0.0);
    double floats = (double)rows * per_row + 32.0 * (double)(D + V) +
                    (double)threads * 2.0 * (double)longest * (double)longest;
    if (m->arch->pos == PT_POS_ROPE) floats += (double)rows * (double)h->n_rot;
    double bytes = 4.0 * floats + 16.0 * (double)rows;
    return bytes >= 9.0e18 ? INT64_MAX : (int64_t)bytes;
}
