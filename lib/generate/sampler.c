/* Token sampling: HF-ordered logits processors (repetition penalty, temperature, top-k, top-p,
 * min-p), greedy/multinomial choice, stop-string matching and ptune_sampling_params_init. */
#include "generate/sampler.h"
#include "core/params.h"
#include "core/alloc.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void sampling_params_defaults(ptune_sampling_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->temperature = 1.0f;
    p->top_k = 50;
    p->top_p = 1.0f;
    p->min_p = 0.0f;
    p->repetition_penalty = 1.0f;
    p->max_new_tokens = 20;
}

PTUNE_API void ptune_sampling_params_init_sized(ptune_sampling_params *p, uint32_t size)
{
    ptune_sampling_params d;
    sampling_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

/* ---- scratch --------------------------------------------------------------------------- */

ptune_status pt_sampler_scratch_reserve(pt_sampler_scratch *s, int32_t n_vocab)
{
    if (!s) return pt_fail(PTUNE_E_INVALID_ARG, "pt_sampler_scratch_reserve: NULL scratch");
    if (n_vocab <= 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "pt_sampler_scratch_reserve: n_vocab = %d must be > 0", n_vocab);
    if (s->idx && s->prob && s->cap >= n_vocab) return PTUNE_OK;
    int32_t *idx = pt_malloc_array((size_t)n_vocab, sizeof *idx, "sampler token indices");
    if (!idx) return PTUNE_E_NOMEM;
    float *prob = pt_malloc_array((size_t)n_vocab, sizeof *prob, "sampler probabilities");
    if (!prob) {
        free(idx);
        return PTUNE_E_NOMEM;
    }
    free(s->idx);
    free(s->prob);
    s->idx = idx;
    s->prob = prob;
    s->cap = n_vocab;
    return PTUNE_OK;
}

void pt_sampler_scratch_free(pt_sampler_scratch *s)
{
    if (!s) return;
    free(s->idx);
    free(s->prob);
    s->idx = NULL;
    s->prob = NULL;
    s->cap = 0;
}

/* ---- validation ------------------------------------------------------------------------ */

ptune_status pt_sampling_validate(const ptune_sampling_params *p)
{
#define BAD(...) pt_fail(PTUNE_E_INVALID_ARG, "sampling params: " __VA_ARGS__)
    if (!p) return BAD("NULL params");
    if (!(p->temperature >= 0.0f) || isinf(p->temperature))
        return BAD("temperature = %g must be finite and >= 0 (0 = greedy)", (double)p->temperature);
    if (p->top_k < 0) return BAD("top_k = %d must be >= 0 (0 = off)", p->top_k);
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f))
        return BAD("top_p = %g must be in (0, 1] (1 = off)", (double)p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p < 1.0f))
        return BAD("min_p = %g must be in [0, 1) (0 = off)", (double)p->min_p);
    if (!(p->repetition_penalty > 0.0f) || isinf(p->repetition_penalty))
        return BAD("repetition_penalty = %g must be finite and > 0 (1 = off)", (double)p->repetition_penalty);
    if (p->max_new_tokens < 0) return BAD("max_new_tokens = %d must be >= 0", p->max_new_tokens);
    if (p->max_length < 0) return BAD("max_length = %d must be >= 0 (0 = none)", p->max_length);
    if (p->n_stop_ids < 0 || (p->n_stop_ids > 0 && !p->stop_ids))
        return BAD("n_stop_ids = %d needs a stop_ids array of that many ids", p->n_stop_ids);
    if (p->n_stop_strings < 0 || (p->n_stop_strings > 0 && !p->stop_strings))
        return BAD("n_stop_strings = %d needs a stop_strings array of that many strings", p->n_stop_strings);
    for (int32_t i = 0; i < p->n_stop_strings; i++)
        if (!p->stop_strings[i] || !p->stop_strings[i][0]) return BAD("stop_strings[%d] is NULL or empty", i);
    return PTUNE_OK;
#undef BAD
}

/* ---- helpers --------------------------------------------------------------------------- */

/* exp(l - m) for a numerically stable softmax: m is the largest candidate logit, which the
 * chain keeps finite, so every term is in [0, 1] and the largest is exactly 1. Single
 * precision like torch's float32 softmax; the sums are taken in double. */
static inline float softmax_num(float l, float m) { return expf(l - m); }

/* Best-first order: larger logit first, ties by lower id (so top-p keeps the lower ids of a
 * tied group, as greedy picks the lowest id). */
static inline int ranks_after(const float *l, int32_t a, int32_t b)
{
    return l[a] < l[b] || (l[a] == l[b] && a > b);
}

static void sift_down(int32_t *h, int64_t root, int64_t n, const float *l)
{
    for (;;) {
        int64_t child = 2 * root + 1;
        if (child >= n) return;
        if (child + 1 < n && ranks_after(l, h[child + 1], h[child])) child++;
        if (!ranks_after(l, h[child], h[root])) return;
        int32_t t = h[root];
        h[root] = h[child];
        h[child] = t;
        root = child;
    }
}

/* Heap sort of token ids, best first (in place, O(n log n), no recursion). */
static void sort_best_first(int32_t *idx, int32_t n, const float *l)
{
    for (int64_t i = (int64_t)n / 2 - 1; i >= 0; i--) sift_down(idx, i, n, l);
    for (int64_t end = (int64_t)n - 1; end > 0; end--) {
        int32_t t = idx[0];
        idx[0] = idx[end];
        idx[end] = t;
        sift_down(idx, 0, end, l);
    }
}

static int cmp_float_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* Value of the k-th largest of a[0..n) (1 <= k <= n; no NaN), reordering a: quickselect with a
 * median-of-three pivot and a three-way partition (duplicates are cheap), O(n) expected; after
 * too many rounds the remaining range is sorted instead, bounding the worst case. */
static float kth_largest(float *a, int32_t n, int32_t k)
{
    int32_t lo = 0, hi = n - 1, target = k - 1;
    int budget = 16;
    for (int32_t m = n; m > 1; m >>= 1) budget += 2;
    while (lo < hi) {
        if (budget-- == 0) {
            qsort(a + lo, (size_t)(hi - lo + 1), sizeof *a, cmp_float_desc);
            return a[target];
        }
        int32_t mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi], pivot;
        if ((x <= y && y <= z) || (z <= y && y <= x)) pivot = y;
        else if ((y <= x && x <= z) || (z <= x && x <= y)) pivot = x;
        else pivot = z;
        /* [lo, lt) > pivot, [lt, i) == pivot, (gt, hi] < pivot */
        int32_t lt = lo, i = lo, gt = hi;
        while (i <= gt) {
            float v = a[i];
            if (v > pivot) {
                a[i++] = a[lt];
                a[lt++] = v;
            } else if (v < pivot) {
                a[i] = a[gt];
                a[gt--] = v;
            } else {
                i++;
            }
        }
        if (target < lt) hi = lt - 1;
        else if (target > gt) lo = gt + 1;
        else return pivot;
    }
    return a[target];
}

/* The k-th largest of logits[0..n) (1 <= k < n) for top-k. For a small k a filtering pass
 * keeps only values >= a rising lower bound of the answer in buf (each refresh is a quickselect
 * over the buffer), so most elements cost one well-predicted comparison; a large k copies
 * everything and selects once. buf holds n floats. */
static float top_k_threshold(const float *logits, int32_t n, int32_t k, float *buf)
{
    if (k > n / 16) {
        memcpy(buf, logits, (size_t)n * sizeof *buf);
        return kth_largest(buf, n, k);
    }
    int32_t cap = 4 * k < 1024 ? 1024 : 4 * k;
    if (cap > n) cap = n;
    int32_t cnt = 0;
    float lb = -INFINITY; /* the answer is >= lb: at least k values seen are >= lb */
    for (int32_t i = 0; i < n; i++) {
        const float v = logits[i];
        if (v < lb) continue;
        if (cnt == cap) {
            lb = kth_largest(buf, cnt, k);
            int32_t w = 0;
            for (int32_t j = 0; j < cnt; j++)
                if (buf[j] >= lb) buf[w++] = buf[j];
            cnt = w;
            if (cnt > cap / 2) cap = cap > n / 2 ? n : 2 * cap; /* many ties at lb */
            if (v < lb) continue;
        }
        buf[cnt++] = v;
    }
    return kth_largest(buf, cnt, k);
}

/* Largest logit among the candidates. */
static float candidates_max(const float *logits, const int32_t *idx, int32_t n)
{
    float m = logits[idx[0]];
    for (int32_t j = 1; j < n; j++)
        if (logits[idx[j]] > m) m = logits[idx[j]];
    return m;
}

static double candidates_sum(const float *logits, const int32_t *idx, int32_t n, float m)
{
    double sum = 0.0;
    for (int32_t j = 0; j < n; j++) sum += softmax_num(logits[idx[j]], m);
    return sum;
}

static inline void swap2(int32_t *idx, float *w, int32_t a, int32_t b)
{
    int32_t t = idx[a];
    idx[a] = idx[b];
    idx[b] = t;
    float x = w[a];
    w[a] = w[b];
    w[b] = x;
}

/* ranks_after for positions a, b of parallel arrays idx/w where w = exp(logit - max): exp is
 * monotone, so distinct weights order like the logits and only equal weights (rounding, ties)
 * need the logits themselves. Keeps the partition loop on contiguous memory. */
static inline int w_after(const float *logits, const int32_t *idx, const float *w, int32_t a, int32_t b)
{
    if (w[a] != w[b]) return w[a] < w[b];
    return ranks_after(logits, idx[a], idx[b]);
}

/* Top-p without sorting the candidates: a quickselect weighted by probability finds where
 * HF's ascending cumulative sum crosses `thr` = 1 - top_p, in O(n) expected time. A token is
 * removed when the mass of all tokens ranked at or below it (best-first order, see
 * ranks_after) is <= thr; those form a suffix of the ranking. Reorders idx[0..n) so the kept
 * tokens come first and returns their number (>= 1). w[0..n) is scratch. */
static int32_t top_p_keep(const float *logits, int32_t *idx, float *w, int32_t n, double thr)
{
    const float m = candidates_max(logits, idx, n);
    double total = 0.0;
    for (int32_t j = 0; j < n; j++) {
        w[j] = softmax_num(logits[idx[j]], m);
        total += w[j];
    }
    int32_t lo = 0, hi = n; /* [0, lo) kept, [hi, n) removed, [lo, hi) undecided */
    double acc = 0.0;       /* mass of [hi, n) */
    /* Bulk removal first: tokens below `tiny` together weigh less than half of thr (n of them
     * at most), so they lie inside the removed suffix whatever the rest looks like. In a large
     * vocabulary that is usually most tokens, leaving the selection a small remainder. */
    const double tiny = 0.5 * thr * total / (double)n;
    for (int32_t j = 0; j < hi;) {
        if (w[j] < tiny) {
            acc += w[j];
            swap2(idx, w, j, --hi);
        } else {
            j++;
        }
    }
    int budget = 16;
    for (int32_t k = n; k > 1; k >>= 1) budget += 2;
    while (lo < hi) {
        if (budget-- == 0) {
            /* rare bad pivots: sort what is left and walk up from its worst token */
            sort_best_first(idx + lo, hi - lo, logits);
            while (hi > lo) {
                double e = softmax_num(logits[idx[hi - 1]], m);
                if ((acc + e) / total > thr) break;
                acc += e;
                hi--;
            }
            break;
        }
        /* median-of-three pivot (by rank), moved to hi - 1 */
        int32_t a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
        if (w_after(logits, idx, w, a, b)) { int32_t t = a; a = b; b = t; }
        if (w_after(logits, idx, w, b, c)) {
            b = c;
            if (w_after(logits, idx, w, a, b)) b = a;
        }
        swap2(idx, w, b, hi - 1);
        const int32_t pv = hi - 1;
        int32_t store = lo;
        double worse = 0.0;
        for (int32_t j = lo; j < hi - 1; j++) {
            if (w_after(logits, idx, w, pv, j)) swap2(idx, w, j, store++);
            else worse += w[j];
        }
        swap2(idx, w, store, hi - 1); /* pivot at store: better ones before, worse ones after */
        if ((acc + worse + w[store]) / total <= thr) { /* the pivot and all below it go */
            acc += worse + w[store];
            hi = store;
        } else if ((acc + worse) / total <= thr) { /* the pivot is the last kept token */
            lo = hi = store + 1;
        } else { /* the cut is among the worse ones */
            lo = store + 1;
        }
    }
    if (hi == 0) { /* rounding removed everything: keep the best token */
        int32_t best = 0;
        for (int32_t j = 1; j < n; j++)
            if (ranks_after(logits, idx[best], idx[j])) best = j;
        swap2(idx, w, 0, best);
        hi = 1;
    }
    return hi;
}

/* ---- the processor chain --------------------------------------------------------------- */

typedef struct chain_result {
    int32_t n;        /* candidates idx[0..n) carry all the probability mass */
    double sum;       /* sum of their softmax numerators scratch->prob[0..n) */
} chain_result;

/* Applies the processors of `p` to logits in place in HF's order and leaves the surviving
 * tokens in scratch->idx. Greedy (temperature 0) leaves the single argmax (lowest id on ties). */
static ptune_status run_chain(const char *fn, float *logits, int32_t n_vocab, const int32_t *history,
                              size_t n_history, const ptune_sampling_params *p, pt_sampler_scratch *s,
                              chain_result *out)
{
    if (!logits || n_vocab <= 0 || (!history && n_history > 0) || !p || !s)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: NULL argument or n_vocab = %d <= 0", fn, n_vocab);
    ptune_status st = pt_sampling_validate(p);
    if (st) return st;
    st = pt_sampler_scratch_reserve(s, n_vocab);
    if (st) return st;
    for (int32_t i = 0; i < n_vocab; i++)
        if (isnan(logits[i]) || (isinf(logits[i]) && logits[i] > 0))
            return pt_fail(PTUNE_E_NUMERIC, "%s: logit of token %d is %s", fn, i,
                           isnan(logits[i]) ? "NaN" : "+inf");
    int32_t *idx = s->idx;
    float *tmp = s->prob;

    /* Repetition penalty, HF's gather/scatter: every distinct token of the history is
     * penalized exactly once, from its original logit (ids outside the vocabulary are
     * ignored). Gathering first makes repeated ids harmless without any marker array. */
    if (p->repetition_penalty != 1.0f && n_history > 0) {
        const float pen = p->repetition_penalty;
        for (size_t i = 0; i < n_history; i++) {
            int32_t t = history[i];
            if (t >= 0 && t < n_vocab) tmp[t] = logits[t];
        }
        for (size_t i = 0; i < n_history; i++) {
            int32_t t = history[i];
            if (t >= 0 && t < n_vocab) logits[t] = tmp[t] < 0.0f ? tmp[t] * pen : tmp[t] / pen;
        }
    }

    /* argmax, lowest id on ties (torch.argmax) */
    int32_t best = -1;
    for (int32_t i = 0; i < n_vocab; i++)
        if (logits[i] != -INFINITY && (best < 0 || logits[i] > logits[best])) best = i;
    if (best < 0) return pt_fail(PTUNE_E_NUMERIC, "%s: every logit is -inf", fn);

    if (p->temperature == 0.0f) {
        idx[0] = best;
        tmp[0] = 1.0f;
        out->n = 1;
        out->sum = 1.0;
        return PTUNE_OK;
    }

    /* Temperature (HF divides the scores). When the largest score would leave the float range
     * (a tiny temperature, or a penalty that overflowed), the T -> 0 limit is taken instead:
     * the mass is shared by the tokens tied at the maximum. Smaller scores that overflow to
     * -inf are negligible next to a finite maximum, as they would be exactly. */
    if (fabs((double)logits[best] / (double)p->temperature) > (double)FLT_MAX) {
        const float top = logits[best];
        for (int32_t i = 0; i < n_vocab; i++) logits[i] = logits[i] == top ? 0.0f : -INFINITY;
    } else if (p->temperature != 1.0f) {
        const float t = p->temperature;
        for (int32_t i = 0; i < n_vocab; i++) logits[i] /= t;
    }

    /* Top-k: drop scores below the k-th largest; ties at the threshold stay. */
    int32_t n = 0;
    if (p->top_k > 0 && p->top_k < n_vocab) {
        float thr = top_k_threshold(logits, n_vocab, p->top_k, tmp);
        for (int32_t i = 0; i < n_vocab; i++) {
            if (logits[i] < thr) logits[i] = -INFINITY;
            else if (logits[i] != -INFINITY) idx[n++] = i;
        }
    } else {
        for (int32_t i = 0; i < n_vocab; i++)
            if (logits[i] != -INFINITY) idx[n++] = i;
    }
    /* n >= 1: the maximum is finite after the temperature step and top-k never drops it. */

    /* Top-p: HF sorts ascending, takes the cumulative softmax and removes tokens whose
     * cumulative probability is <= 1 - top_p, always keeping the most probable one. */
    if (p->top_p < 1.0f && n > 1) {
        int32_t keep = top_p_keep(logits, idx, tmp, n, 1.0 - (double)p->top_p);
        for (int32_t j = keep; j < n; j++) logits[idx[j]] = -INFINITY;
        n = keep;
    }

    /* Min-p: remove tokens whose probability is below min_p times the largest one. */
    if (p->min_p > 0.0f && n > 1) {
        const float m = candidates_max(logits, idx, n);
        const double sum = candidates_sum(logits, idx, n, m);
        const double cut = (double)p->min_p * (1.0 / sum);
        int32_t w = 0;
        for (int32_t j = 0; j < n; j++) {
            if (softmax_num(logits[idx[j]], m) / sum < cut) logits[idx[j]] = -INFINITY;
            else idx[w++] = idx[j];
        }
        n = w;
    }

    /* The final softmax numerators, kept in scratch->prob[0..n) for the draw. */
    const float m = candidates_max(logits, idx, n);
    double sum = 0.0;
    for (int32_t j = 0; j < n; j++) {
        tmp[j] = softmax_num(logits[idx[j]], m);
        sum += tmp[j];
    }
    out->n = n;
    out->sum = sum;
    return PTUNE_OK;
}

int32_t pt_sample(float *logits, int32_t n_vocab, const int32_t *history, size_t n_history,
                  const ptune_sampling_params *p, pt_rng *rng, pt_sampler_scratch *scratch)
{
    if (!rng) {
        pt_fail(PTUNE_E_INVALID_ARG, "pt_sample: NULL rng");
        return -1;
    }
    chain_result r;
    if (run_chain("pt_sample", logits, n_vocab, history, n_history, p, scratch, &r)) return -1;
    const int32_t *idx = scratch->idx;
    const float *w = scratch->prob;
    if (p->temperature == 0.0f) return idx[0];

    /* Multinomial: one uniform draw per sampled token, walked over the candidates in the same
     * order as their sum was taken, so the walk reaches the total exactly. */
    const double u = pt_rng_uniform(rng) * r.sum;
    double cum = 0.0;
    int32_t last = idx[0];
    for (int32_t j = 0; j < r.n; j++) {
        double e = w[j];
        if (e <= 0.0) continue;
        last = idx[j];
        cum += e;
        if (u < cum) return idx[j];
    }
    return last; /* u rounded up to the total */
}

void pt_sample_distribution(float *logits, int32_t n_vocab, const int32_t *history, size_t n_history,
                            const ptune_sampling_params *p, float *probs, pt_sampler_scratch *scratch)
{
    if (!probs) {
        pt_fail(PTUNE_E_INVALID_ARG, "pt_sample_distribution: NULL probs");
        return;
    }
    if (n_vocab > 0) memset(probs, 0, (size_t)n_vocab * sizeof *probs);
    chain_result r;
    if (run_chain("pt_sample_distribution", logits, n_vocab, history, n_history, p, scratch, &r)) return;
    const int32_t *idx = scratch->idx;
    for (int32_t j = 0; j < r.n; j++) probs[idx[j]] = (float)(scratch->prob[j] / r.sum);
}

/* ---- stop strings ---------------------------------------------------------------------- */

bool pt_stop_strings_match(const char *text, size_t len, const char *const *stops, int32_t n_stops, size_t *cut)
{
    if (!text || !stops || n_stops <= 0) return false;
    bool found = false;
    size_t best = 0;
    for (int32_t i = 0; i < n_stops; i++) {
        const char *st = stops[i];
        if (!st || !st[0]) continue;
        size_t sl = strlen(st);
        if (sl > len) continue;
        size_t end = len - sl + 1; /* match starts in [0, end) */
        if (found && best < end) end = best;
        size_t pos = 0;
        while (pos < end) {
            const char *hit = memchr(text + pos, st[0], end - pos);
            if (!hit) break;
            pos = (size_t)(hit - text);
            if (memcmp(hit, st, sl) == 0) {
                best = pos;
                found = true;
                break;
            }
            pos++;
        }
    }
    if (found && cut) *cut = best;
    return found;
}
