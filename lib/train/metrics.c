/* Owns the training log: pt_metrics records, metrics.jsonl (jansson, NaN fields omitted) and the
 * loss.svg chart (nice axis ticks, train and eval series, legend) drawn with train/svg. */
#include "train/metrics.h"
#include "core/alloc.h"
#include "core/atomic_file.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/utf8.h"
#include "train/svg.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

ptune_status pt_metrics_new(pt_metrics **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_metrics_new: out is NULL");
    *out = pt_calloc(1, sizeof **out, "metrics log");
    return *out ? PTUNE_OK : PTUNE_E_NOMEM;
}

void pt_metrics_free(pt_metrics *m)
{
    if (!m) return;
    free(m->records);
    free(m);
}

static double keep_or(double now, double before) { return isnan(now) ? before : now; }

ptune_status pt_metrics_add(pt_metrics *m, const ptune_train_progress *p)
{
    if (!m || !p) return pt_fail(PTUNE_E_INVALID_ARG, "pt_metrics_add: metrics and progress are required");
    if (m->n > 0 && m->records[m->n - 1].step == p->step) {
        pt_metrics_record *r = &m->records[m->n - 1];
        r->epoch = p->epoch;
        r->loss = keep_or(p->loss, r->loss);
        r->lr = keep_or(p->lr, r->lr);
        r->grad_norm = keep_or(p->grad_norm, r->grad_norm);
        r->tokens_per_s = keep_or(p->tokens_per_s, r->tokens_per_s);
        r->eval_loss = keep_or(p->eval_loss, r->eval_loss);
        r->eval_perplexity = keep_or(p->eval_perplexity, r->eval_perplexity);
        return PTUNE_OK;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        size_t bytes;
        if (cap < m->cap || !pt_mul_size(cap, sizeof *m->records, &bytes))
            return pt_fail(PTUNE_E_NOMEM, "metrics log: too many records");
        pt_metrics_record *r = pt_realloc(m->records, bytes, "metrics buffer");
        if (!r) return pt_fail(PTUNE_E_NOMEM, "out of memory growing the metrics log to %zu records", cap);
        m->records = r;
        m->cap = cap;
    }
    m->records[m->n++] = (pt_metrics_record){
        .step = p->step,
        .epoch = p->epoch,
        .loss = p->loss,
        .lr = p->lr,
        .grad_norm = p->grad_norm,
        .tokens_per_s = p->tokens_per_s,
        .eval_loss = p->eval_loss,
        .eval_perplexity = p->eval_perplexity,
    };
    return PTUNE_OK;
}

/* ---------------------------------------------------------------------------------------
 * metrics.jsonl
 * ------------------------------------------------------------------------------------- */

static bool set_real(json_t *o, const char *key, double v)
{
    if (!isfinite(v)) return true; /* JSON has no NaN/Inf: the field is left out */
    return json_object_set_new(o, key, json_real(v)) == 0;
}

ptune_status pt_metrics_write_jsonl(const pt_metrics *m, const char *path)
{
    if (!m || !path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "pt_metrics_write_jsonl: metrics and path are required");
    pt_buf b = {0};
    ptune_status s = pt_buf_reserve(&b, 1); /* an empty log is an empty file */
    for (size_t i = 0; !s && i < m->n; i++) {
        const pt_metrics_record *r = &m->records[i];
        json_t *o = json_object();
        bool ok = o != NULL;
        ok = ok && json_object_set_new(o, "step", json_integer((json_int_t)r->step)) == 0;
        ok = ok && json_object_set_new(o, "epoch", json_integer(r->epoch)) == 0;
        ok = ok && set_real(o, "loss", r->loss);
        ok = ok && set_real(o, "lr", r->lr);
        ok = ok && set_real(o, "grad_norm", r->grad_norm);
        ok = ok && set_real(o, "tokens_per_s", r->tokens_per_s);
        ok = ok && set_real(o, "eval_loss", r->eval_loss);
        ok = ok && set_real(o, "eval_perplexity", r->eval_perplexity);
        char *line = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17)) : NULL;
        json_decref(o);
        if (!line) {
            s = pt_fail(PTUNE_E_NOMEM, "%s: out of memory formatting record %zu", path, i);
            break;
        }
        s = pt_buf_append(&b, line, strlen(line));
        if (!s) s = pt_buf_append_char(&b, '\n');
        free(line);
    }
    if (!s) s = pt_atomic_write(path, b.data, b.len);
    pt_buf_free(&b);
    return s;
}

/* ---------------------------------------------------------------------------------------
 * loss.svg
 * ------------------------------------------------------------------------------------- */

enum {
    CHART_W = 800,
    CHART_H = 480,
    PLOT_L = 78,
    PLOT_R = CHART_W - 24,
    PLOT_T = 60,
    PLOT_B = CHART_H - 64,
    TITLE_MAX_CHARS = 90,
};

#define COLOR_TRAIN "#1f77b4"
#define COLOR_EVAL "#d62728"
#define COLOR_AXIS "#333333"
#define COLOR_GRID "#e6e6e6"
#define COLOR_TEXT "#222222"

/* Heckbert's "nice numbers": x rounded to 1, 2 or 5 times a power of ten. */
static double nice_number(double x)
{
    double p = pow(10.0, floor(log10(x)));
    double f = x / p;
    return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

typedef struct axis {
    double lo, hi, step; /* lo and hi are multiples of step that cover the data */
    int decimals;        /* fraction digits the tick labels need */
} axis;

/* Round tick values covering [lo, hi] with about `ticks` ticks (a step of 1, 2 or 5 times a power
 * of ten); `integral` keeps the step >= 1. */
static axis make_axis(double lo, double hi, int ticks, bool integral)
{
    axis a;
    if (!(hi > lo)) {
        double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1.0;
        if (integral && pad < 1) pad = 1;
        lo -= pad;
        hi += pad;
    }
    a.step = nice_number((hi - lo) / (ticks - 1));
    if (integral && a.step < 1) a.step = 1;
    if (!isfinite(a.step) || a.step <= 0) a.step = 1;
    a.lo = floor(lo / a.step) * a.step;
    a.hi = ceil(hi / a.step) * a.step;
    if (!(a.hi > a.lo)) a.hi = a.lo + a.step;
    double d = -floor(log10(a.step) + 1e-9);
    a.decimals = d > 0 ? (d > 9 ? 9 : (int)d) : 0;
    return a;
}

static double map_x(const axis *a, double v) { return PLOT_L + (v - a->lo) / (a->hi - a->lo) * (PLOT_R - PLOT_L); }
static double map_y(const axis *a, double v) { return PLOT_B - (v - a->lo) / (a->hi - a->lo) * (PLOT_B - PLOT_T); }

/* At most TITLE_MAX_CHARS code points of `title` (an ellipsis marks a cut); caller frees. */
static char *short_title(const char *title)
{
    size_t n = strlen(title), i = 0, chars = 0;
    while (i < n && chars < TITLE_MAX_CHARS) {
        size_t len = pt_utf8_seq_len((unsigned char)title[i]);
        if (len == 0 || i + len > n) len = 1;
        i += len;
        chars++;
    }
    if (i >= n) return pt_strdup(title, "chart title");
    return pt_strfmt("%.*s\xE2\x80\xA6", (int)i, title);
}

static void draw_axes(pt_svg *s, const axis *ax, const axis *ay)
{
    const pt_svg_style grid = {.stroke = COLOR_GRID, .stroke_width = 1};
    const pt_svg_style axis_line = {.stroke = COLOR_AXIS, .stroke_width = 1};
    char label[48];
    for (int k = 0; k <= 100; k++) {
        double v = ay->lo + k * ay->step;
        if (v > ay->hi + ay->step * 1e-6) break;
        double y = map_y(ay, v);
        pt_svg_line(s, PLOT_L, y, PLOT_R, y, &grid);
        pt_svg_line(s, PLOT_L - 5, y, PLOT_L, y, &axis_line);
        pt_svg_fmt(label, sizeof label, v, ay->decimals);
        pt_svg_text(s, PLOT_L - 8, y + 4, label, 12, PT_SVG_END, 0, 0, COLOR_TEXT);
    }
    for (int k = 0; k <= 100; k++) {
        double v = ax->lo + k * ax->step;
        if (v > ax->hi + ax->step * 1e-6) break;
        double x = map_x(ax, v);
        pt_svg_line(s, x, PLOT_T, x, PLOT_B, &grid);
        pt_svg_line(s, x, PLOT_B, x, PLOT_B + 5, &axis_line);
        pt_svg_fmt(label, sizeof label, v, ax->decimals);
        pt_svg_text(s, x, PLOT_B + 20, label, 12, PT_SVG_MIDDLE, 0, 0, COLOR_TEXT);
    }
    pt_svg_line(s, PLOT_L, PLOT_T, PLOT_L, PLOT_B, &axis_line);
    pt_svg_line(s, PLOT_L, PLOT_B, PLOT_R, PLOT_B, &axis_line);
    pt_svg_text(s, (PLOT_L + PLOT_R) / 2.0, CHART_H - 18, "step", 14, PT_SVG_MIDDLE, 0, 0, COLOR_TEXT);
    pt_svg_text(s, 22, (PLOT_T + PLOT_B) / 2.0, "loss", 14, PT_SVG_MIDDLE, -90, 0, COLOR_TEXT);
}

static void draw_legend(pt_svg *s, bool has_train, bool has_eval)
{
    int rows = (int)has_train + (int)has_eval;
    if (rows == 0) return;
    const double w = 128, row_h = 22, x = PLOT_R - w - 10, y = PLOT_T + 10;
    const pt_svg_style box = {.fill = "#ffffff", .stroke = "#bbbbbb", .stroke_width = 1};
    pt_svg_rect(s, x, y, w, 10 + rows * row_h, &box);
    double ry = y + 5 + row_h / 2;
    if (has_train) {
        const pt_svg_style line = {.stroke = COLOR_TRAIN, .stroke_width = 2};
        pt_svg_line(s, x + 10, ry, x + 38, ry, &line);
        pt_svg_text(s, x + 46, ry + 4, "train loss", 13, PT_SVG_START, 0, 0, COLOR_TEXT);
        ry += row_h;
    }
    if (has_eval) {
        const pt_svg_style line = {.stroke = COLOR_EVAL, .stroke_width = 2, .dash = "6 4"};
        const pt_svg_style dot = {.fill = COLOR_EVAL, .stroke = "#ffffff", .stroke_width = 1};
        pt_svg_line(s, x + 10, ry, x + 38, ry, &line);
        pt_svg_circle(s, x + 24, ry, 4, &dot);
        pt_svg_text(s, x + 46, ry + 4, "eval loss", 13, PT_SVG_START, 0, 0, COLOR_TEXT);
    }
}

ptune_status pt_metrics_svg(const pt_metrics *m, const char *title, char **out, size_t *len)
{
    if (!m || !out || !len) return pt_fail(PTUNE_E_INVALID_ARG, "pt_metrics_svg: metrics and output are required");
    *out = NULL;
    *len = 0;
    char *heading = short_title(title ? title : "Training loss");
    if (!heading) return PTUNE_E_NOMEM;

    /* the data range over both series (finite values only) */
    size_t n_train = 0, n_eval = 0;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    for (size_t i = 0; i < m->n; i++) {
        const pt_metrics_record *r = &m->records[i];
        double vals[2] = {r->loss, r->eval_loss};
        for (int k = 0; k < 2; k++) {
            if (!isfinite(vals[k])) continue;
            if (k == 0) n_train++;
            else n_eval++;
            xmin = fmin(xmin, (double)r->step);
            xmax = fmax(xmax, (double)r->step);
            ymin = fmin(ymin, vals[k]);
            ymax = fmax(ymax, vals[k]);
        }
    }
    bool empty = n_train + n_eval == 0;
    /* a range beyond double's reach (absurd losses) is drawn as no data rather than as garbage */
    if (!empty && (!isfinite(ymax - ymin) || !isfinite(xmax - xmin))) empty = true;
    if (empty) {
        xmin = 0;
        xmax = 1;
        ymin = 0;
        ymax = 1;
        n_train = n_eval = 0;
    }
    if (xmin >= 0 && xmax > 0 && xmin <= xmax * 0.25) xmin = 0; /* start the step axis at 0 when it is close */
    axis ax = make_axis(xmin, xmax, 6, true);
    axis ay = make_axis(ymin, ymax, 6, false);

    double *xs = pt_malloc_array(n_train > n_eval ? n_train : n_eval, sizeof *xs, "chart points");
    double *ys = pt_malloc_array(n_train > n_eval ? n_train : n_eval, sizeof *ys, "chart points");
    if (!xs || !ys) {
        free(xs);
        free(ys);
        free(heading);
        return PTUNE_E_NOMEM;
    }

    pt_svg s;
    pt_svg_begin(&s, CHART_W, CHART_H, heading);
    pt_svg_group(&s, "DejaVu Sans, Helvetica, Arial, sans-serif");
    const pt_svg_style bg = {.fill = "#ffffff"};
    pt_svg_rect(&s, 0, 0, CHART_W, CHART_H, &bg);
    pt_svg_text(&s, CHART_W / 2.0, 34, heading, 18, PT_SVG_MIDDLE, 0, 1, COLOR_TEXT);
    draw_axes(&s, &ax, &ay);
    if (empty)
        pt_svg_text(&s, (PLOT_L + PLOT_R) / 2.0, (PLOT_T + PLOT_B) / 2.0, "no data", 16, PT_SVG_MIDDLE, 0, 0,
                    "#888888");

    size_t k = 0;
    for (size_t i = 0; i < m->n && n_train; i++)
        if (isfinite(m->records[i].loss)) {
            xs[k] = map_x(&ax, (double)m->records[i].step);
            ys[k++] = map_y(&ay, m->records[i].loss);
        }
    const pt_svg_style train_line = {.stroke = COLOR_TRAIN, .stroke_width = 2};
    if (k == 1) {
        const pt_svg_style dot = {.fill = COLOR_TRAIN};
        pt_svg_circle(&s, xs[0], ys[0], 3, &dot);
    } else {
        pt_svg_polyline(&s, xs, ys, k, &train_line);
    }

    k = 0;
    for (size_t i = 0; i < m->n && n_eval; i++)
        if (isfinite(m->records[i].eval_loss)) {
            xs[k] = map_x(&ax, (double)m->records[i].step);
            ys[k++] = map_y(&ay, m->records[i].eval_loss);
        }
    const pt_svg_style eval_line = {.stroke = COLOR_EVAL, .stroke_width = 2, .dash = "6 4"};
    const pt_svg_style eval_dot = {.fill = COLOR_EVAL, .stroke = "#ffffff", .stroke_width = 1};
    if (k > 1) pt_svg_polyline(&s, xs, ys, k, &eval_line);
    for (size_t i = 0; i < k; i++) pt_svg_circle(&s, xs[i], ys[i], 4, &eval_dot);

    draw_legend(&s, n_train > 0, n_eval > 0);
    free(xs);
    free(ys);
    free(heading);
    ptune_status st = pt_svg_finish(&s, out, len);
    if (st) return pt_fail(st, "out of memory drawing the loss chart");
    return PTUNE_OK;
}

ptune_status pt_metrics_write_svg(const pt_metrics *m, const char *path, const char *title)
{
    if (!m || !path || !path[0]) return pt_fail(PTUNE_E_INVALID_ARG, "pt_metrics_write_svg: metrics and path are required");
    char *doc = NULL;
    size_t len = 0;
    ptune_status s = pt_metrics_svg(m, title, &doc, &len);
    if (!s) s = pt_atomic_write(path, doc, len);
    free(doc);
    return s;
}
