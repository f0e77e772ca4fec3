/* A tiny SVG writer for the library's charts: elements appended to a growing buffer, text and
 * attribute values XML-escaped, numbers formatted independently of the C locale. */
#ifndef PT_TRAIN_SVG_H
#define PT_TRAIN_SVG_H

#include <stddef.h>
#include "core/buf.h"
#include "ptune/ptune.h"

/* The first failure (out of memory) is kept in `status` and later calls do nothing, so a
 * drawing is written as a straight sequence of calls and checked once in pt_svg_finish. */
typedef struct pt_svg {
    pt_buf out;
    ptune_status status;
    int depth; /* open <g> elements */
} pt_svg;

typedef enum pt_svg_anchor { PT_SVG_START, PT_SVG_MIDDLE, PT_SVG_END } pt_svg_anchor;

/* Style of a shape: NULL strings are omitted (SVG defaults apply); width <= 0 is omitted. */
typedef struct pt_svg_style {
    const char *fill;
    const char *stroke;
    double stroke_width;
    const char *dash;  /* stroke-dasharray, e.g. "6 4" */
} pt_svg_style;

/* XML declaration and the <svg> root with width/height and viewBox "0 0 w h"; `title`
 * (nullable) becomes the <title> element. */
void pt_svg_begin(pt_svg *s, double width, double height, const char *title);
void pt_svg_rect(pt_svg *s, double x, double y, double w, double h, const pt_svg_style *st);
void pt_svg_line(pt_svg *s, double x1, double y1, double x2, double y2, const pt_svg_style *st);
void pt_svg_circle(pt_svg *s, double cx, double cy, double r, const pt_svg_style *st);
/* n points (xs[i], ys[i]); nothing is drawn for n == 0. */
void pt_svg_polyline(pt_svg *s, const double *xs, const double *ys, size_t n, const pt_svg_style *st);
/* Text at (x, y) (baseline); `rotate` degrees about that point (0 = none); font size in px;
 * bold when `bold`; fill NULL = black. */
void pt_svg_text(pt_svg *s, double x, double y, const char *text, double size, pt_svg_anchor anchor,
                 double rotate, int bold, const char *fill);
/* <g> with an optional font-family (nullable); closed by pt_svg_group_end. */
void pt_svg_group(pt_svg *s, const char *font_family);
void pt_svg_group_end(pt_svg *s);
/* Closes open groups and the root; on success hands the NUL-terminated document to *out
 * (caller frees) and its length to *len; on failure frees everything and returns the error. */
ptune_status pt_svg_finish(pt_svg *s, char **out, size_t *len);
/* Frees a drawing abandoned before pt_svg_finish. */
void pt_svg_discard(pt_svg *s);

/* Appends `text` XML-escaped (& < > " ' as entities; characters XML 1.0 forbids and invalid
 * UTF-8 as U+FFFD) to b. */
ptune_status pt_svg_escape(pt_buf *b, const char *text);
/* Formats v with at most `decimals` (0..9) fraction digits, trailing zeros dropped, "-0" as "0",
 * always with '.' whatever the locale; non-finite values as "0". Returns the length. */
size_t pt_svg_fmt(char *out, size_t cap, double v, int decimals);

#endif
