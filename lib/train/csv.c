/* RFC 4180 CSV records from a memory buffer: quoted fields, "" escapes, CRLF/LF/CR line ends,
 * BOM, strict or Python-compatible lenient quotes, and 1-based line:column positions. */
#include "core/alloc.h"
#include "train/csv.h"
#include "core/error.h"

#include <stdlib.h>
#include <string.h>

void pt_csv_init(pt_csv_reader *r, const char *name, const void *data, size_t size)
{
    memset(r, 0, sizeof *r);
    r->name = name ? name : "<csv>";
    r->data = data;
    r->size = data ? size : 0;
    r->delim = ',';
    r->line = 1;
    r->col = 1;
    if (r->size >= 3 && r->data[0] == 0xEF && r->data[1] == 0xBB && r->data[2] == 0xBF) r->pos = 3;
}

void pt_csv_free(pt_csv_reader *r)
{
    if (!r) return;
    free(r->fields);
    free(r->field_off);
    pt_buf_free(&r->text);
    r->fields = NULL;
    r->field_off = NULL;
    r->n_fields = r->cap_fields = 0;
}

/* Moves the position over data[pos .. pos+n), updating line and column. A line ends at "\n",
 * "\r\n" (counted once, at the "\n") or a lone "\r"; UTF-8 continuation bytes add no column. */
static void advance(pt_csv_reader *r, size_t n)
{
    const unsigned char *d = r->data;
    size_t end = r->pos + n;
    int64_t line = r->line, col = r->col;
    for (size_t i = r->pos; i < end; i++) {
        unsigned char c = d[i];
        if (c == '\n') {
            line++;
            col = 1;
        } else if (c == '\r') {
            if (!(i + 1 < r->size && d[i + 1] == '\n')) {
                line++;
                col = 1;
            }
        } else if ((c & 0xC0) != 0x80) {
            col++;
        }
    }
    r->pos = end;
    r->line = line;
    r->col = col;
}

static bool at_line_end(const pt_csv_reader *r)
{
    return r->pos < r->size && (r->data[r->pos] == '\n' || r->data[r->pos] == '\r');
}

/* Consumes one line ending ("\r\n", "\n" or "\r") at the position, if there is one. */
static void eat_line_end(pt_csv_reader *r)
{
    if (r->pos >= r->size) return;
    if (r->data[r->pos] == '\r' && r->pos + 1 < r->size && r->data[r->pos + 1] == '\n') advance(r, 2);
    else if (at_line_end(r)) advance(r, 1);
}

static void note_lenient(pt_csv_reader *r, int64_t line, int64_t col, const char *what)
{
    if (r->n_lenient++ == 0) {
        r->lenient_line = line;
        r->lenient_col = col;
        r->lenient_what = what;
    }
}

static ptune_status push_field(pt_csv_reader *r, size_t off, int64_t line, int64_t col, bool quoted)
{
    if (r->n_fields == r->cap_fields) {
        size_t cap = r->cap_fields ? r->cap_fields * 2 : 16;
        if (cap > SIZE_MAX / sizeof(pt_csv_field))
            return pt_fail(PTUNE_E_NOMEM, "%s:%lld: too many CSV fields in one record", r->name, (long long)line);
        pt_csv_field *f = pt_realloc(r->fields, cap * sizeof *f, "csv buffer");
        if (!f) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory for %zu CSV fields", r->name, cap);
        r->fields = f;
        size_t *o = pt_realloc(r->field_off, cap * sizeof *o, "csv buffer");
        if (!o) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory for %zu CSV fields", r->name, cap);
        r->field_off = o;
        r->cap_fields = cap;
    }
    pt_csv_field *f = &r->fields[r->n_fields];
    f->data = NULL;
    f->len = r->text.len - off;
    f->line = line;
    f->col = col;
    f->quoted = quoted;
    r->field_off[r->n_fields++] = off;
    return pt_buf_append_char(&r->text, '\0');
}

/* The body of a quoted field, from just after its opening quote through the closing one. */
static ptune_status read_quoted(pt_csv_reader *r, int64_t line, int64_t col)
{
    for (;;) {
        const unsigned char *q = r->pos < r->size ? memchr(r->data + r->pos, '"', r->size - r->pos) : NULL;
        if (!q)
            return pt_fail(PTUNE_E_FORMAT,
                           "%s:%lld:%lld: unterminated quoted field: the quote opened here is never closed",
                           r->name, (long long)line, (long long)col);
        size_t span = (size_t)(q - (r->data + r->pos));
        ptune_status s = pt_buf_append(&r->text, r->data + r->pos, span);
        if (s) return s;
        advance(r, span);
        if (r->pos + 1 < r->size && r->data[r->pos + 1] == '"') {
            if ((s = pt_buf_append_char(&r->text, '"'))) return s;
            advance(r, 2);
            continue;
        }
        advance(r, 1); /* the closing quote */
        return PTUNE_OK;
    }
}

/* Unquoted text up to the delimiter, a line end or the end of the buffer. `tail` is true for
 * characters after a closing quote (already reported), in which quotes are not noted again. */
static ptune_status read_unquoted(pt_csv_reader *r, bool tail)
{
    const unsigned char *d = r->data;
    size_t end = r->pos;
    size_t first_quote = SIZE_MAX;
    while (end < r->size && d[end] != (unsigned char)r->delim && d[end] != '\n' && d[end] != '\r') {
        if (d[end] == '"' && first_quote == SIZE_MAX) first_quote = end;
        end++;
    }
    if (first_quote != SIZE_MAX && !tail) {
        size_t start = r->pos;
        advance(r, first_quote - start); /* to the quote, for its own line:column */
        int64_t ql = r->line, qc = r->col;
        if (r->strict)
            return pt_fail(PTUNE_E_FORMAT,
                           "%s:%lld:%lld: quote inside an unquoted field (RFC 4180: quote the whole field and "
                           "double the quote, as in \"5\"\" screen\")",
                           r->name, (long long)ql, (long long)qc);
        note_lenient(r, ql, qc, "a quote inside an unquoted field (kept literally)");
        ptune_status s = pt_buf_append(&r->text, d + start, end - start);
        if (s) return s;
        advance(r, end - r->pos);
        return PTUNE_OK;
    }
    ptune_status s = pt_buf_append(&r->text, d + r->pos, end - r->pos);
    if (s) return s;
    advance(r, end - r->pos);
    return PTUNE_OK;
}

ptune_status pt_csv_next(pt_csv_reader *r, bool *got)
{
    *got = false;
    r->n_fields = 0;
    pt_buf_clear(&r->text);
    while (at_line_end(r)) eat_line_end(r); /* empty lines hold no record */
    if (r->pos >= r->size) return PTUNE_OK;
    r->record_line = r->line;
    ptune_status s;
    for (;;) {
        int64_t line = r->line, col = r->col;
        size_t off = r->text.len;
        bool quoted = r->pos < r->size && r->data[r->pos] == '"';
        if (quoted) {
            advance(r, 1);
            if ((s = read_quoted(r, line, col))) return s;
            if (r->pos < r->size && r->data[r->pos] != (unsigned char)r->delim && !at_line_end(r)) {
                if (r->strict)
                    return pt_fail(PTUNE_E_FORMAT,
                                   "%s:%lld:%lld: unexpected character after the closing quote of the field "
                                   "opened at %lld:%lld (inside a quoted field write a quote as \"\")",
                                   r->name, (long long)r->line, (long long)r->col, (long long)line, (long long)col);
                note_lenient(r, r->line, r->col, "text after a closing quote (appended to the field)");
                if ((s = read_unquoted(r, true))) return s;
            }
        } else if ((s = read_unquoted(r, false))) {
            return s;
        }
        if ((s = push_field(r, off, line, col, quoted))) return s;
        if (r->pos < r->size && r->data[r->pos] == (unsigned char)r->delim) {
            advance(r, 1);
            continue;
        }
        eat_line_end(r);
        break;
    }
    for (size_t i = 0; i < r->n_fields; i++) r->fields[i].data = r->text.data + r->field_off[i];
    *got = true;
    return PTUNE_OK;
}
