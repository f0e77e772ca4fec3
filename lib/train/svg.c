/* Owns the tiny SVG writer used for loss.svg: element helpers over a pt_buf with sticky errors,
 * XML escaping of text and attributes, and locale-independent number formatting. */
#include "train/svg.h"
#include "core/error.h"
#include "core/utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t pt_svg_fmt(char *out, size_t cap, double v, int decimals)
{
    if (!out || cap == 0) return 0;
    if (decimals < 0) decimals = 0;
    if (decimals > 9) decimals = 9;
    if (!isfinite(v)) v = 0;
    double a = fabs(v);
    int n;
    if (a >= 1e15) {
        /* too large for the integer path: mantissa with 6 digits and a decimal exponent */
        int e = (int)floor(log10(a));
        double m = v / pow(10.0, e);
        if (fabs(m) >= 9.9999995) {
            m /= 10;
            e++;
        }
        char mant[32];
        pt_svg_fmt(mant, sizeof mant, m, 6);
        n = snprintf(out, cap, "%se%d", mant, e);
    } else {
        int64_t p10 = 1;
        for (int i = 0; i < decimals && a * (double)p10 * 10 < 9e18; i++) p10 *= 10;
        decimals = 0;
        for (int64_t t = p10; t > 1; t /= 10) decimals++;
        int64_t q = llround(a * (double)p10);
        int64_t ip = q / p10, fp = q % p10;
        const char *sign = (v < 0 && q != 0) ? "-" : "";
        if (fp == 0) {
            n = snprintf(out, cap, "%s%lld", sign, (long long)ip);
        } else {
            char frac[16];
            size_t fl = (size_t)decimals;
            for (size_t i = fl; i > 0; i--, fp /= 10) frac[i - 1] = (char)('0' + fp % 10);
            frac[fl] = '\0';
            while (fl > 0 && frac[fl - 1] == '0') frac[--fl] = '\0';
            n = snprintf(out, cap, "%s%lld.%s", sign, (long long)ip, frac);
        }
    }
    if (n < 0) {
        out[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

ptune_status pt_svg_escape(pt_buf *b, const char *text)
{
    static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */
    size_t n = strlen(text), i = 0;
    ptune_status s = PTUNE_OK;
    while (!s && i < n) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '&': s = pt_buf_append(b, "&amp;", 5); i++; continue;
        case '<': s = pt_buf_append(b, "&lt;", 4); i++; continue;
        case '>': s = pt_buf_append(b, "&gt;", 4); i++; continue;
        case '"': s = pt_buf_append(b, "&quot;", 6); i++; continue;
        case '\'': s = pt_buf_append(b, "&apos;", 6); i++; continue;
        default: break;
        }
        if (c < 0x80) {
            /* XML 1.0 allows only tab, newline and carriage return below U+0020 */
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') s = pt_buf_append(b, replacement, 3);
            else s = pt_buf_append_char(b, (char)c);
            i++;
            continue;
        }
        uint32_t cp = 0;
        size_t len = pt_utf8_decode(text + i, n - i, &cp);
        /* invalid UTF-8, and U+FFFE / U+FFFF (not XML characters), become U+FFFD */
        if (len == 0 || cp == 0xFFFE || cp == 0xFFFF) {
            s = pt_buf_append(b, replacement, 3);
            i += len ? len : 1;
        } else {
            s = pt_buf_append(b, text + i, len);
            i += len;
        }
    }
    return s;
}

static void sv_raw(pt_svg *s, const char *text)
{
    if (!s->status) s->status = pt_buf_append(&s->out, text, strlen(text));
}

static void sv_esc(pt_svg *s, const char *text)
{
    if (!s->status) s->status = pt_svg_escape(&s->out, text);
}

static void sv_num(pt_svg *s, double v)
{
    char tmp[48];
    size_t n = pt_svg_fmt(tmp, sizeof tmp, v, 2);
    if (!s->status) s->status = pt_buf_append(&s->out, tmp, n);
}

/* ` name="value"` with the value as a number */
static void sv_attr_num(pt_svg *s, const char *name, double v)
{
    sv_raw(s, " ");
    sv_raw(s, name);
    sv_raw(s, "=\"");
    sv_num(s, v);
    sv_raw(s, "\"");
}

static void sv_attr_str(pt_svg *s, const char *name, const char *v)
{
    if (!v) return;
    sv_raw(s, " ");
    sv_raw(s, name);
    sv_raw(s, "=\"");
    sv_esc(s, v);
    sv_raw(s, "\"");
}

static void sv_style(pt_svg *s, const pt_svg_style *st, const char *default_fill)
{
    const char *fill = st && st->fill ? st->fill : default_fill;
    sv_attr_str(s, "fill", fill);
    if (!st) return;
    sv_attr_str(s, "stroke", st->stroke);
    if (st->stroke_width > 0) sv_attr_num(s, "stroke-width", st->stroke_width);
    sv_attr_str(s, "stroke-dasharray", st->dash);
}

void pt_svg_begin(pt_svg *s, double width, double height, const char *title)
{
    memset(s, 0, sizeof *s);
    sv_raw(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"");
    sv_attr_num(s, "width", width);
    sv_attr_num(s, "height", height);
    sv_raw(s, " viewBox=\"0 0 ");
    sv_num(s, width);
    sv_raw(s, " ");
    sv_num(s, height);
    sv_raw(s, "\"");
    if (title) sv_attr_str(s, "aria-label", title);
    sv_raw(s, " role=\"img\">\n");
    if (title) {
        sv_raw(s, "<title>");
        sv_esc(s, title);
        sv_raw(s, "</title>\n");
    }
}

void pt_svg_rect(pt_svg *s, double x, double y, double w, double h, const pt_svg_style *st)
{
    sv_raw(s, "<rect");
    sv_attr_num(s, "x", x);
    sv_attr_num(s, "y", y);
    sv_attr_num(s, "width", w < 0 ? 0 : w);
    sv_attr_num(s, "height", h < 0 ? 0 : h);
    sv_style(s, st, NULL);
    sv_raw(s, "/>\n");
}

void pt_svg_line(pt_svg *s, double x1, double y1, double x2, double y2, const pt_svg_style *st)
{
    sv_raw(s, "<line");
    sv_attr_num(s, "x1", x1);
    sv_attr_num(s, "y1", y1);
    sv_attr_num(s, "x2", x2);
    sv_attr_num(s, "y2", y2);
    sv_style(s, st, NULL);
    sv_raw(s, "/>\n");
}

void pt_svg_circle(pt_svg *s, double cx, double cy, double r, const pt_svg_style *st)
{
    sv_raw(s, "<circle");
    sv_attr_num(s, "cx", cx);
    sv_attr_num(s, "cy", cy);
    sv_attr_num(s, "r", r < 0 ? 0 : r);
    sv_style(s, st, NULL);
    sv_raw(s, "/>\n");
}

void pt_svg_polyline(pt_svg *s, const double *xs, const double *ys, size_t n, const pt_svg_style *st)
{
    if (n == 0) return;
    sv_raw(s, "<polyline points=\"");
    for (size_t i = 0; i < n; i++) {
        if (i) sv_raw(s, " ");
        sv_num(s, xs[i]);
        sv_raw(s, ",");
        sv_num(s, ys[i]);
    }
    sv_raw(s, "\"");
    sv_style(s, st, "none");
    sv_raw(s, " stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n");
}

void pt_svg_text(pt_svg *s, double x, double y, const char *text, double size, pt_svg_anchor anchor,
                 double rotate, int bold, const char *fill)
{
    static const char *const anchors[] = {"start", "middle", "end"};
    sv_raw(s, "<text");
    sv_attr_num(s, "x", x);
    sv_attr_num(s, "y", y);
    sv_attr_num(s, "font-size", size);
    if (anchor != PT_SVG_START) sv_attr_str(s, "text-anchor", anchors[anchor]);
    if (bold) sv_raw(s, " font-weight=\"bold\"");
    sv_attr_str(s, "fill", fill);
    if (rotate != 0) {
        sv_raw(s, " transform=\"rotate(");
        sv_num(s, rotate);
        sv_raw(s, " ");
        sv_num(s, x);
        sv_raw(s, " ");
        sv_num(s, y);
        sv_raw(s, ")\"");
    }
    sv_raw(s, ">");
    sv_esc(s, text ? text : "");
    sv_raw(s, "</text>\n");
}

void pt_svg_group(pt_svg *s, const char *font_family)
{
    sv_raw(s, "<g");
    sv_attr_str(s, "font-family", font_family);
    sv_raw(s, ">\n");
    s->depth++;
}

void pt_svg_group_end(pt_svg *s)
{
    if (s->depth <= 0) return;
    sv_raw(s, "</g>\n");
    s->depth--;
}

ptune_status pt_svg_finish(pt_svg *s, char **out, size_t *len)
{
    while (s->depth > 0) pt_svg_group_end(s);
    sv_raw(s, "</svg>\n");
    if (s->status) {
        ptune_status st = s->status;
        pt_svg_discard(s);
        return st;
    }
    *out = s->out.data;
    *len = s->out.len;
    s->out.data = NULL;
    s->out.len = s->out.cap = 0;
    return PTUNE_OK;
}

void pt_svg_discard(pt_svg *s)
{
    pt_buf_free(&s->out);
    s->depth = 0;
}
