/* Tests of the training log outputs: metrics.jsonl round-trips through jansson, loss.svg is
 * well-formed XML (strict checker here, plus xmllint when installed), atomic writes leave nothing behind. */
#include "test_support.h"
#include "core/atomic_file.h"
#include "core/utf8.h"
#include "train/metrics.h"
#include "train/svg.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char *g_dir;

static int setup(void **state)
{
    (void)state;
    g_dir = pt_test_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pt_test_rmtree(g_dir);
    free(g_dir);
    return 0;
}

static char *tpath(const char *name)
{
    size_t n = strlen(g_dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", g_dir, name);
    return p;
}

/* Sorted, space-separated names in `dir` (malloc'd). */
static char *list_dir(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    assert_true(n >= 0);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (int i = 0; i < n; i++) {
        const char *nm = ents[i]->d_name;
        if (strcmp(nm, ".") && strcmp(nm, "..")) {
            int w = snprintf(out + len, cap - len, "%s%s", len ? " " : "", nm);
            assert_true(w > 0 && (size_t)w < cap - len);
            len += (size_t)w;
        }
        free(ents[i]);
    }
    free(ents);
    return out;
}

static char *read_text(const char *path)
{
    size_t n;
    unsigned char *data = pt_test_read_file(path, &n);
    char *s = malloc(n + 1);
    assert_non_null(s);
    memcpy(s, data, n);
    s[n] = '\0';
    free(data);
    return s;
}

static size_t count(const char *hay, const char *needle)
{
    size_t k = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle)) k++;
    return k;
}

/* ---------------------------------------------------------------------------------------
 * A strict well-formedness checker for the XML subset an SVG writer should produce: the
 * declaration, one root element, attributes in double or single quotes without duplicates,
 * only the five predefined entities and character references, valid UTF-8 and XML 1.0
 * characters, no DOCTYPE, CDATA or processing instructions past the declaration.
 * ------------------------------------------------------------------------------------- */

static bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':'; }
static bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
static bool xml_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static size_t read_name(const char *p)
{
    if (!name_start(*p)) return 0;
    size_t n = 1;
    while (name_char(p[n])) n++;
    return n;
}

/* An entity or character reference at p ('&'); returns its length or 0. */
static size_t read_reference(const char *p)
{
    static const char *const names[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (!strncmp(p, names[i], strlen(names[i]))) return strlen(names[i]);
    if (p[1] != '#') return 0;
    size_t n = 2;
    bool hex = p[2] == 'x';
    if (hex) n++;
    size_t digits = 0;
    while (hex ? strchr("0123456789abcdefABCDEF", p[n]) && p[n] : (p[n] >= '0' && p[n] <= '9')) n++, digits++;
    return digits > 0 && p[n] == ';' ? n + 1 : 0;
}

static const char *xml_check(const char *doc, char *why, size_t cap)
{
#define BAD(...) do { snprintf(why, cap, __VA_ARGS__); return why; } while (0)
    size_t len = strlen(doc), bad;
    if (!pt_utf8_valid(doc, len, &bad)) BAD("invalid UTF-8 at byte %zu", bad);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)doc[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') BAD("control character 0x%02x at byte %zu", c, i);
        if (c == 0xEF && (unsigned char)doc[i + 1] == 0xBF && ((unsigned char)doc[i + 2] & 0xFE) == 0xBE)
            BAD("U+FFFE/U+FFFF at byte %zu", i);
    }
    const char *decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";
    if (strncmp(doc, decl, strlen(decl))) BAD("missing XML declaration");
    const char *p = doc + strlen(decl);
    char stack[64][64];
    int depth = 0, roots = 0;
    while (*p) {
        if (*p != '<') {
            if (depth == 0 && !xml_space(*p)) BAD("text outside the root at offset %td", p - doc);
            if (*p == '&') {
                size_t r = read_reference(p);
                if (!r) BAD("bad reference at offset %td", p - doc);
                p += r;
                continue;
            }
            if (*p == '>' && p - doc >= 2 && p[-1] == ']' && p[-2] == ']') BAD("]]> in text");
            p++;
            continue;
        }
        if (!strncmp(p, "<!--", 4)) {
            const char *end = strstr(p + 4, "--");
            if (!end || end[2] != '>') BAD("bad comment at offset %td", p - doc);
            p = end + 3;
            continue;
        }
        if (p[1] == '!' || p[1] == '?') BAD("DOCTYPE/CDATA/PI at offset %td", p - doc);
        if (p[1] == '/') {
            size_t n = read_name(p + 2);
            if (!n || depth == 0) BAD("bad end tag at offset %td", p - doc);
            if (strlen(stack[depth - 1]) != n || strncmp(stack[depth - 1], p + 2, n))
                BAD("end tag </%.*s> does not match <%.40s>", (int)(n > 40 ? 40 : n), p + 2, stack[depth - 1]);
            p += 2 + n;
            while (xml_space(*p)) p++;
            if (*p != '>') BAD("bad end tag at offset %td", p - doc);
            p++;
            depth--;
            continue;
        }
        size_t n = read_name(p + 1);
        if (!n || n >= 64) BAD("bad start tag at offset %td", p - doc);
        if (depth == 0) {
            if (roots++) BAD("a second root element at offset %td", p - doc);
            if (n != 3 || strncmp(p + 1, "svg", 3)) BAD("the root is not <svg>");
        }
        if (depth == 64) BAD("too deep");
        memcpy(stack[depth], p + 1, n);
        stack[depth][n] = '\0';
        p += 1 + n;
        char attrs[32][64];
        int n_attrs = 0;
        for (;;) {
            bool sp = xml_space(*p);
            while (xml_space(*p)) p++;
            if (*p == '>') {
                p++;
                depth++;
                break;
            }
            if (p[0] == '/' && p[1] == '>') {
                p += 2;
                break;
            }
            size_t an = read_name(p);
            if (!sp || !an || an >= 64) BAD("bad attribute at offset %td", p - doc);
            for (int i = 0; i < n_attrs; i++)
                if (strlen(attrs[i]) == an && !strncmp(attrs[i], p, an)) BAD("duplicate attribute %.40s", attrs[i]);
            if (n_attrs == 32) BAD("too many attributes");
            memcpy(attrs[n_attrs], p, an);
            attrs[n_attrs++][an] = '\0';
            p += an;
            while (xml_space(*p)) p++;
            if (*p != '=') BAD("attribute without '=' at offset %td", p - doc);
            p++;
            while (xml_space(*p)) p++;
            char q = *p;
            if (q != '"' && q != '\'') BAD("unquoted attribute value at offset %td", p - doc);
            p++;
            while (*p && *p != q) {
                if (*p == '<') BAD("'<' in an attribute value at offset %td", p - doc);
                if (*p == '&') {
                    size_t r = read_reference(p);
                    if (!r) BAD("bad reference in an attribute at offset %td", p - doc);
                    p += r;
                } else {
                    p++;
                }
            }
            if (!*p) BAD("unterminated attribute value");
            p++;
        }
    }
    if (depth != 0) BAD("%d element(s) left open", depth);
    if (roots != 1) BAD("no root element");
    return NULL;
#undef BAD
}

/* Runs xmllint on `path` when it is installed; returns false only when it rejects the file. */
static bool xmllint_accepts(const char *path, bool *ran)
{
    *ran = system("command -v xmllint >/dev/null 2>&1") == 0;
    if (!*ran) return true;
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "xmllint --noout '%s' >/dev/null 2>&1", path);
    int rc = system(cmd);
    return rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0;
}

static void assert_valid_svg(const char *path)
{
    char *doc = read_text(path);
    char why[256];
    const char *err = xml_check(doc, why, sizeof why);
    if (err) fail_msg("%s: not well-formed: %s", path, err);
    /* self-contained: no scripts, links, external fonts or styles */
    assert_null(strstr(doc, "<script"));
    assert_null(strstr(doc, "href"));
    assert_null(strstr(doc, "url("));
    assert_null(strstr(doc, "@import"));
    assert_null(strstr(doc, "@font-face"));
    assert_non_null(strstr(doc, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(doc, "viewBox=\"0 0 "));
    free(doc);
    bool ran;
    if (!xmllint_accepts(path, &ran)) fail_msg("%s: xmllint rejects it", path);
}

/* The checker itself rejects what it should. */
static void test_xml_checker(void **state)
{
    (void)state;
    char why[256];
#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    assert_null(xml_check(DECL "<svg a=\"1\" b='&amp;&#38;&#x26;'><g><text>a &lt; b</text></g><x/></svg>\n", why, 256));
    const char *bad[] = {
        "<svg/>",
        DECL "<svg><g></svg></g>",
        DECL "<svg><g>",
        DECL "<svg a=\"1\" a=\"2\"/>",
        DECL "<svg a=1/>",
        DECL "<svg><text>a & b</text></svg>",
        DECL "<svg><text>a < b</text></svg>",
        DECL "<svg a=\"<\"/>",
        DECL "<svg/><svg/>",
        DECL "<svg/>text",
        DECL "<svg><text>\x01</text></svg>",
        DECL "<svg><text>\xff</text></svg>",
        DECL "<html/>",
        DECL "<svg><![CDATA[x]]></svg>",
        DECL "<svg a=\"1\"b=\"2\"/>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!xml_check(bad[i], why, sizeof why)) fail_msg("checker accepted bad case %zu", i);
#undef DECL
}

/* ---------------------------------------------------------------------------------------
 * svg writer pieces
 * ------------------------------------------------------------------------------------- */

static void test_svg_fmt(void **state)
{
    (void)state;
    char b[64];
    const struct {
        double v;
        int d;
        const char *want;
    } cases[] = {
        {1.0, 2, "1"},        {0.25, 2, "0.25"},    {-0.0, 2, "0"},         {-0.001, 2, "0"},
        {2.5, 0, "3"},        {0.1 + 0.2, 1, "0.3"}, {1234567.891, 2, "1234567.89"}, {-3.75, 1, "-3.8"},
        {1e20, 2, "1e20"},    {-2.5e300, 2, "-2.5e300"}, {NAN, 2, "0"},     {0.000123, 6, "0.000123"},
        {123.456, 12, "123.456"}, {9e14, 9, "900000000000000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = pt_svg_fmt(b, sizeof b, cases[i].v, cases[i].d);
        if (strcmp(b, cases[i].want)) fail_msg("case %zu: got %s want %s", i, b, cases[i].want);
        assert_int_equal(n, strlen(b));
    }
    assert_int_equal(pt_svg_fmt(b, 4, 123456.0, 0), 3); /* truncated, still terminated */
    assert_string_equal(b, "123");
}

static void test_svg_escape(void **state)
{
    (void)state;
    pt_buf b = {0};
    assert_int_equal(pt_svg_escape(&b, "a<b&c>\"d'e \xc3\xa9\x01\xff\xef\xbf\xbe\tz"), PTUNE_OK);
    assert_string_equal(b.data, "a&lt;b&amp;c&gt;&quot;d&apos;e \xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\tz");
    pt_buf_free(&b);

    pt_svg s;
    pt_svg_begin(&s, 100, 50, "t<&>");
    pt_svg_group(&s, "sans-serif");
    pt_svg_text(&s, 1, 2, "x & y", 10, PT_SVG_MIDDLE, -90, 1, "#000");
    const pt_svg_style st = {.fill = "a\"b", .stroke = "#f00", .stroke_width = 1.5, .dash = "2 2"};
    pt_svg_rect(&s, 0, 0, 10, -1, &st);
    char *doc = NULL;
    size_t len = 0;
    assert_int_equal(pt_svg_finish(&s, &doc, &len), PTUNE_OK); /* closes the group */
    assert_int_equal(len, strlen(doc));
    char why[256];
    const char *err = xml_check(doc, why, sizeof why);
    if (err) fail_msg("%s\n%s", err, doc);
    assert_non_null(strstr(doc, "<title>t&lt;&amp;&gt;</title>"));
    assert_non_null(strstr(doc, "fill=\"a&quot;b\""));
    assert_non_null(strstr(doc, "transform=\"rotate(-90 1 2)\""));
    assert_non_null(strstr(doc, "height=\"0\""));
    assert_non_null(strstr(doc, "</g>\n</svg>\n"));
    free(doc);
}

/* ---------------------------------------------------------------------------------------
 * metrics.jsonl
 * ------------------------------------------------------------------------------------- */

static ptune_train_progress progress(int64_t step, int32_t epoch, double loss, double lr, double eval)
{
    ptune_train_progress p;
    memset(&p, 0, sizeof p);
    p.step = step;
    p.total_steps = 100;
    p.epoch = epoch;
    p.loss = loss;
    p.lr = lr;
    p.grad_norm = 0.5 + (double)step / 7.0;
    p.tokens_per_s = 1234.5678 * (double)step;
    p.eta_s = 3;
    p.eval_loss = eval;
    p.eval_perplexity = isnan(eval) ? NAN : exp(eval);
    return p;
}

static void test_jsonl_roundtrip(void **state)
{
    (void)state;
    pt_metrics *m = NULL;
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);
    ptune_train_progress ps[] = {
        progress(1, 0, 3.141592653589793, 5e-3, NAN),
        progress(2, 0, 2.718281828459045, 4.9e-3, NAN),
        progress(2, 0, NAN, NAN, 2.5),             /* the evaluation after step 2: merged */
        progress(3, 1, 1.0 / 3.0, 1e-300, NAN),
        progress(4, 1, 0.1, 0.0, 2.25),
    };
    ps[3].grad_norm = NAN;
    ps[4].tokens_per_s = INFINITY;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) assert_int_equal(pt_metrics_add(m, &ps[i]), PTUNE_OK);
    assert_int_equal(m->n, 4);
    assert_true(m->records[1].loss == ps[1].loss); /* kept through the merge */
    assert_true(m->records[1].eval_loss == 2.5);

    char *path = tpath("metrics.jsonl");
    assert_int_equal(pt_metrics_write_jsonl(m, path), PTUNE_OK);
    char *text = read_text(path);
    assert_int_equal(count(text, "\n"), 4);
    const pt_metrics_record *want = m->records;
    char *save = NULL;
    size_t k = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++) {
        json_error_t err;
        json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, &err);
        if (!o) fail_msg("line %zu: %s: %s", k, err.text, line);
        assert_true(json_is_object(o));
        assert_int_equal(json_integer_value(json_object_get(o, "step")), want[k].step);
        assert_int_equal(json_integer_value(json_object_get(o, "epoch")), want[k].epoch);
        const char *keys[] = {"loss", "lr", "grad_norm", "tokens_per_s", "eval_loss", "eval_perplexity"};
        const double vals[] = {want[k].loss, want[k].lr, want[k].grad_norm, want[k].tokens_per_s, want[k].eval_loss,
                               want[k].eval_perplexity};
        size_t present = 2;
        for (size_t j = 0; j < 6; j++) {
            json_t *v = json_object_get(o, keys[j]);
            if (!isfinite(vals[j])) {
                if (v) fail_msg("line %zu: %s should be absent: %s", k, keys[j], line);
                continue;
            }
            present++;
            if (!json_is_real(v)) fail_msg("line %zu: %s missing or not a real: %s", k, keys[j], line);
            if (json_real_value(v) != vals[j]) /* exact: 17 significant digits */
                fail_msg("line %zu: %s = %.17g, want %.17g", k, keys[j], json_real_value(v), vals[j]);
        }
        assert_int_equal(json_object_size(o), present);
        json_decref(o);
    }
    assert_int_equal(k, 4);
    free(text);

    /* the empty log is an empty file */
    pt_metrics *empty = NULL;
    assert_int_equal(pt_metrics_new(&empty), PTUNE_OK);
    assert_int_equal(pt_metrics_write_jsonl(empty, path), PTUNE_OK);
    size_t n;
    free(pt_test_read_file(path, &n));
    assert_int_equal(n, 0);
    pt_metrics_free(empty);
    pt_metrics_free(m);
    pt_metrics_free(NULL);
    free(path);
}

static void test_many_records(void **state)
{
    (void)state;
    pt_metrics *m = NULL;
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);
    for (int64_t s = 1; s <= 5000; s++) {
        ptune_train_progress p = progress(s, (int32_t)(s / 1000), 4.0 * exp(-(double)s / 1500.0) + 0.3, 1e-3,
                                          s % 500 == 0 ? 4.2 * exp(-(double)s / 1500.0) + 0.4 : NAN);
        assert_int_equal(pt_metrics_add(m, &p), PTUNE_OK);
    }
    assert_int_equal(m->n, 5000);
    char *path = tpath("many.svg");
    assert_int_equal(pt_metrics_write_svg(m, path, NULL), PTUNE_OK);
    assert_valid_svg(path);
    char *doc = read_text(path);
    assert_non_null(strstr(doc, "<title>Training loss</title>"));
    assert_int_equal(count(doc, "<circle"), 10 + 1); /* eval markers + the legend's */
    /* x ticks 0, 1000, ... 5000; y ticks 0 .. 5 */
    assert_non_null(strstr(doc, ">0</text>"));
    assert_non_null(strstr(doc, ">1000</text>"));
    assert_non_null(strstr(doc, ">5000</text>"));
    assert_non_null(strstr(doc, ">4.5</text>") ? strstr(doc, ">4.5</text>") : strstr(doc, ">5</text>"));
    free(doc);
    pt_metrics_free(m);
    free(path);
}

/* ---------------------------------------------------------------------------------------
 * loss.svg
 * ------------------------------------------------------------------------------------- */

static void test_svg_chart(void **state)
{
    (void)state;
    pt_metrics *m = NULL;
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);
    /* loss from 3.7 down to about 1.2 over steps 1..37, an evaluation every 10 steps */
    for (int64_t s = 1; s <= 37; s++) {
        double loss = 1.2 + 2.5 * exp(-(double)(s - 1) / 10.0);
        ptune_train_progress p = progress(s, (int32_t)(s / 10), loss, 1e-3, NAN);
        assert_int_equal(pt_metrics_add(m, &p), PTUNE_OK);
        if (s % 10 == 0) {
            ptune_train_progress e = progress(s, (int32_t)(s / 10), NAN, NAN, loss + 0.15);
            assert_int_equal(pt_metrics_add(m, &e), PTUNE_OK);
        }
    }
    assert_int_equal(m->n, 37);
    char *path = tpath("loss.svg");
    assert_int_equal(pt_metrics_write_svg(m, path, "aidreams260K <style> & \"tone\""), PTUNE_OK);
    assert_valid_svg(path);
    char *doc = read_text(path);
    assert_non_null(strstr(doc, "<title>aidreams260K &lt;style&gt; &amp; &quot;tone&quot;</title>"));
    assert_non_null(strstr(doc, ">train loss</text>"));
    assert_non_null(strstr(doc, ">eval loss</text>"));
    assert_non_null(strstr(doc, ">step</text>"));
    assert_non_null(strstr(doc, ">loss</text>"));
    assert_int_equal(count(doc, "<polyline"), 2);
    assert_int_equal(count(doc, "<circle"), 3 + 1);
    /* round ticks: steps 0..40 by 10, loss 1..4 by 0.5 */
    const char *ticks[] = {">0</text>", ">10</text>", ">20</text>", ">30</text>", ">40</text>",
                           ">1</text>", ">1.5</text>", ">2</text>", ">3.5</text>", ">4</text>"};
    for (size_t i = 0; i < sizeof ticks / sizeof ticks[0]; i++)
        if (!strstr(doc, ticks[i])) fail_msg("tick %s missing", ticks[i]);
    assert_null(strstr(doc, ">50</text>"));
    assert_null(strstr(doc, ">4.5</text>"));
    free(doc);
    pt_metrics_free(m);
    free(path);
}

static void test_svg_edge_cases(void **state)
{
    (void)state;
    char *path = tpath("edge.svg");
    pt_metrics *m = NULL;
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);

    /* no records */
    assert_int_equal(pt_metrics_write_svg(m, path, ""), PTUNE_OK);
    assert_valid_svg(path);
    char *doc = read_text(path);
    assert_non_null(strstr(doc, ">no data</text>"));
    assert_int_equal(count(doc, "<polyline"), 0);
    free(doc);

    /* one record: a dot, a valid axis around a constant value */
    ptune_train_progress p = progress(1, 0, 2.0, 1e-3, NAN);
    assert_int_equal(pt_metrics_add(m, &p), PTUNE_OK);
    assert_int_equal(pt_metrics_write_svg(m, path, NULL), PTUNE_OK);
    assert_valid_svg(path);
    doc = read_text(path);
    assert_int_equal(count(doc, "<circle"), 0 + 0 + 1);
    assert_null(strstr(doc, "no data"));
    free(doc);

    /* NaN and infinite losses are skipped; absurd magnitudes still give a valid document; a long
     * title with control characters and bad UTF-8 is cut and cleaned */
    ptune_train_progress q[] = {progress(2, 0, NAN, 1e-3, NAN), progress(3, 0, INFINITY, 1e-3, NAN),
                                progress(4, 0, 1e300, 1e-3, -1e300), progress(5, 0, -1e300, 1e-3, NAN)};
    for (size_t i = 0; i < 4; i++) assert_int_equal(pt_metrics_add(m, &q[i]), PTUNE_OK);
    char title[400];
    memset(title, 'x', sizeof title - 1);
    title[sizeof title - 1] = '\0';
    memcpy(title, "\x01\xff\xc3\xa9<", 5);
    assert_int_equal(pt_metrics_write_svg(m, path, title), PTUNE_OK);
    assert_valid_svg(path);
    doc = read_text(path);
    assert_non_null(strstr(doc, "\xe2\x80\xa6</title>")); /* cut with an ellipsis */
    assert_non_null(strstr(doc, "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9&lt;xxx"));
    free(doc);

    /* huge but representable range, and negative losses */
    pt_metrics_free(m);
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);
    for (int64_t s = 1000000; s < 1000010; s++) {
        ptune_train_progress r = progress(s, 0, -1e20 * (double)(s - 999990), 1e-3, NAN);
        assert_int_equal(pt_metrics_add(m, &r), PTUNE_OK);
    }
    assert_int_equal(pt_metrics_write_svg(m, path, "big"), PTUNE_OK);
    assert_valid_svg(path);
    pt_metrics_free(m);
    free(path);

    assert_int_equal(pt_metrics_new(NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_metrics_add(NULL, &p), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_metrics_write_svg(NULL, "x", NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_metrics_write_jsonl(NULL, "x"), PTUNE_E_INVALID_ARG);
}

/* ---------------------------------------------------------------------------------------
 * Failures leave nothing behind
 * ------------------------------------------------------------------------------------- */

static void test_write_failures(void **state)
{
    (void)state;
    pt_metrics *m = NULL;
    assert_int_equal(pt_metrics_new(&m), PTUNE_OK);
    ptune_train_progress p = progress(1, 0, 2.0, 1e-3, 2.5);
    assert_int_equal(pt_metrics_add(m, &p), PTUNE_OK);

    /* a parent directory that does not exist */
    char *sub = tpath("fail");
    assert_int_equal(mkdir(sub, 0755), 0);
    char *deep = tpath("fail/missing/loss.svg");
    assert_int_equal(pt_metrics_write_svg(m, deep, NULL), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), deep));
    assert_non_null(strstr(ptune_last_error(), "No such file or directory"));
    char *deep_jsonl = tpath("fail/missing/metrics.jsonl");
    assert_int_equal(pt_metrics_write_jsonl(m, deep_jsonl), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), deep_jsonl));

    /* the target is a directory: the temporary is written, the rename fails, the temporary goes */
    char *blocked_svg = tpath("fail/loss.svg"), *blocked_jsonl = tpath("fail/metrics.jsonl");
    assert_int_equal(mkdir(blocked_svg, 0755), 0);
    assert_int_equal(mkdir(blocked_jsonl, 0755), 0);
    assert_int_equal(pt_metrics_write_svg(m, blocked_svg, NULL), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), blocked_svg));
    assert_non_null(strstr(ptune_last_error(), "cannot rename"));
    assert_int_equal(pt_metrics_write_jsonl(m, blocked_jsonl), PTUNE_E_IO);
    char *listing = list_dir(sub);
    assert_string_equal(listing, "loss.svg metrics.jsonl");
    free(listing);
    struct stat sb;
    assert_int_equal(stat(blocked_svg, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    free(blocked_svg);
    free(blocked_jsonl);
    free(deep_jsonl);
    free(deep);
    free(sub);
    pt_metrics_free(m);
}

static void test_atomic_file(void **state)
{
    (void)state;
    char *dir = tpath("atomic");
    assert_int_equal(mkdir(dir, 0700), 0);
    char *path = tpath("atomic/f.txt");
    char *listing;

    assert_int_equal(pt_atomic_write(path, "hello", 5), PTUNE_OK);
    char *text = read_text(path);
    assert_string_equal(text, "hello");
    free(text);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0644);

    const pt_atomic_part parts[] = {{"ab", 2}, {NULL, 0}, {"cde", 3}};
    assert_int_equal(pt_atomic_writev(path, parts, 3), PTUNE_OK);
    text = read_text(path);
    assert_string_equal(text, "abcde");
    free(text);
    assert_int_equal(pt_atomic_write(path, NULL, 0), PTUNE_OK); /* an empty file */
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 0);

    /* prepare leaves the target alone until commit */
    assert_int_equal(pt_atomic_write(path, "old", 3), PTUNE_OK);
    char *tmp = NULL;
    assert_int_equal(pt_atomic_prepare(path, "new", 3, &tmp), PTUNE_OK);
    assert_non_null(tmp);
    assert_int_equal(strncmp(tmp, path, strlen(path)), 0);
    assert_non_null(strstr(tmp, ".tmp."));
    text = read_text(path);
    assert_string_equal(text, "old");
    free(text);
    text = read_text(tmp);
    assert_string_equal(text, "new");
    free(text);
    assert_int_equal(pt_atomic_commit(tmp, path), PTUNE_OK);
    text = read_text(path);
    assert_string_equal(text, "new");
    free(text);
    listing = list_dir(dir);
    assert_string_equal(listing, "f.txt");
    free(listing);

    /* abort removes the temporary */
    assert_int_equal(pt_atomic_prepare(path, "zzz", 3, &tmp), PTUNE_OK);
    pt_atomic_abort(tmp);
    pt_atomic_abort(NULL);
    listing = list_dir(dir);
    assert_string_equal(listing, "f.txt");
    free(listing);
    text = read_text(path);
    assert_string_equal(text, "new");
    free(text);

    /* a failed commit (a directory in the way) removes the temporary too */
    char *blocked = tpath("atomic/d");
    assert_int_equal(mkdir(blocked, 0755), 0);
    assert_int_equal(pt_atomic_prepare(blocked, "x", 1, &tmp), PTUNE_OK);
    assert_int_equal(pt_atomic_commit(tmp, blocked), PTUNE_E_IO);
    assert_non_null(strstr(ptune_last_error(), blocked));
    listing = list_dir(dir);
    assert_string_equal(listing, "d f.txt");
    free(listing);

    /* errors */
    char *missing = tpath("atomic/no/such");
    assert_int_equal(pt_atomic_prepare(missing, "x", 1, &tmp), PTUNE_E_IO);
    assert_null(tmp);
    assert_non_null(strstr(ptune_last_error(), "cannot create temporary file"));
    assert_int_equal(pt_atomic_write("", "x", 1), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_atomic_write(NULL, "x", 1), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_atomic_write(path, NULL, 1), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_atomic_prepare(path, "x", 1, NULL), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_atomic_commit(NULL, path), PTUNE_E_INVALID_ARG);
    listing = list_dir(dir);
    assert_string_equal(listing, "d f.txt");
    free(listing);
    text = read_text(path);
    assert_string_equal(text, "new");
    free(text);

    free(missing);
    free(blocked);
    free(path);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xml_checker),
        cmocka_unit_test(test_svg_fmt),
        cmocka_unit_test(test_svg_escape),
        cmocka_unit_test(test_jsonl_roundtrip),
        cmocka_unit_test(test_many_records),
        cmocka_unit_test(test_svg_chart),
        cmocka_unit_test(test_svg_edge_cases),
        cmocka_unit_test(test_write_failures),
        cmocka_unit_test(test_atomic_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
