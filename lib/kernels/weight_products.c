/* Panel-wise products with stored weight matrices (see weight_products.h): panel sizing, the
 * parallel conversion of a panel, and the two product shapes the transformer needs (X·Wᵀ in
 * the forward pass, X·W for input gradients). */
#include "kernels/weight_products.h"
#include "kernels/matmul.h"

#define PT_PANEL_PARALLEL_FLOATS 16384 /* smaller panels are converted by the calling thread */

size_t pt_panels_floats(const pt_wmat *const *mats, size_t n)
{
    int64_t widest = 0;
    for (size_t i = 0; i < n; i++)
        if (mats[i] && mats[i]->n_bands > 0 && !pt_wmat_f32(mats[i]) && mats[i]->cols > widest) widest = mats[i]->cols;
    if (widest == 0) return 0;
    const size_t want = (size_t)PT_PANEL_MIN_ROWS * (size_t)widest;
    return want > PT_PANEL_MIN_FLOATS ? want : PT_PANEL_MIN_FLOATS;
}

typedef struct convert_job {
    const pt_wmat *w;
    int64_t r0, n;
    float *dst;
    int n_tasks;
} convert_job;

static void convert_task(void *arg, int task, int thread)
{
    (void)thread;
    const convert_job *j = arg;
    int b, e;
    pt_split_range((int)j->n, j->n_tasks, task, &b, &e);
    if (b < e) pt_wmat_rows_to_f32(j->w, j->r0 + b, e - b, j->dst + (size_t)b * (size_t)j->w->cols);
}

const float *pt_wmat_panel(const pt_panels *p, const pt_wmat *w, int64_t r0, int64_t n)
{
    const float *f = pt_wmat_f32(w);
    if (f) return f + (size_t)r0 * (size_t)w->cols;
    const size_t floats = (size_t)n * (size_t)w->cols;
    int n_tasks = p->pool ? pt_pool_n_threads(p->pool) : 1;
    if (floats < PT_PANEL_PARALLEL_FLOATS) n_tasks = 1;
    if (n_tasks > n) n_tasks = (int)n;
    if (n_tasks <= 1) {
        pt_wmat_rows_to_f32(w, r0, n, p->scratch);
    } else {
        convert_job j = {w, r0, n, p->scratch, n_tasks};
        pt_pool_run(p->pool, n_tasks, convert_task, &j);
    }
    return p->scratch;
}

/* Rows per panel of w: as many as the scratch holds, a multiple of 16 when there are more. */
static int64_t panel_rows(const pt_panels *p, const pt_wmat *w)
{
    int64_t rows = (int64_t)(p->cap / (size_t)w->cols);
    if (rows > 16) rows -= rows % 16;
    return rows > 0 ? rows : 1;
}

void pt_wmat_xwt(const pt_panels *p, float *y, int ldy, const float *x, int ldx, const pt_wmat *w, int64_t r0,
                 int64_t n, int M, float alpha, float beta)
{
    const int K = (int)w->cols;
    const float *f = pt_wmat_f32(w);
    if (f) {
        pt_matmul_xwt(y, ldy, x, ldx, f + (size_t)r0 * (size_t)K, K, M, (int)n, K, alpha, beta);
        return;
    }
    const int64_t step = panel_rows(p, w);
    for (int64_t i = 0; i < n; i += step) {
        const int64_t k = n - i < step ? n - i : step;
        const float *panel = pt_wmat_panel(p, w, r0 + i, k);
        pt_matmul_xwt(y + i, ldy, x, ldx, panel, K, M, (int)k, K, alpha, beta);
    }
}

void pt_wmat_xw(const pt_panels *p, float *y, int ldy, const float *x, int ldx, const pt_wmat *w, int M,
                float alpha, float beta)
{
    const int N = (int)w->cols;
    const float *f = pt_wmat_f32(w);
    if (f) {
        pt_matmul_xw(y, ldy, x, ldx, f, N, M, N, (int)w->rows, alpha, beta);
        return;
    }
    const int64_t step = panel_rows(p, w);
    for (int64_t i = 0; i < w->rows; i += step) {
        const int64_t k = w->rows - i < step ? w->rows - i : step;
        const float *panel = pt_wmat_panel(p, w, i, k);
        pt_matmul_xw(y, ldy, x + i, ldx, panel, N, M, N, (int)k, alpha, i == 0 ? beta : 1.0f);
    }
}
