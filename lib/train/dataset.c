/* Datasets: reading CSV / JSON Lines / text files, tokenizing every example once into one
 * contiguous id (and label) buffer, the public getters and the seeded train/eval split. */

/* Decisions (documented for users in ptune.h's Datasets section):
 * - The whole file must be valid UTF-8 (Python reads it with encoding="utf-8" before anything
 *   else); a leading UTF-8 BOM is skipped in every format.
 * - `select` counts rows as read (CSV records, non-blank JSONL lines, non-blank text lines or
 *   blocks) and stops reading after N: later rows are not parsed.
 * - Prompt/completion: ids = encode(prompt, add_special) ++ encode(completion, no specials)
 *   [++ EOS]; labels are -100 on the prompt part. Without a completion column labels = ids.
 *   The parts are encoded separately (as TRL's prompt/completion preprocessing does) so the
 *   mask boundary always falls between tokens; encoding the concatenation could merge a token
 *   across it. A SentencePiece tokenizer thus sees the completion as a text of its own (with
 *   its dummy-prefix space): write completions as they should be tokenized.
 * - Truncation keeps the first max_length tokens, EOS included: with add_eos the EOS always
 *   stays last (as HF's post-processor adds specials after truncation).
 * - A row that trains nothing — fewer than 2 tokens (an empty text gives just BOS), or no
 *   scored token left (the completion truncated away) — is skipped; the count and the first
 *   one's line go to the log as one warning. */
#include "train/dataset.h"
#include "core/params.h"
#include "train/csv.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "core/rng.h"
#include "core/utf8.h"
#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dataset_params_defaults(ptune_dataset_params *p)
{
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->struct_size = sizeof *p;
    p->format = PTUNE_DATA_AUTO;
    p->text_column = "text";
    p->add_special = 1;
}

PTUNE_API void ptune_dataset_params_init_sized(ptune_dataset_params *p, uint32_t size)
{
    ptune_dataset_params d;
    dataset_params_defaults(&d);
    pt_params_fill(p, size, &d, sizeof d);
}

/* ---- parameters ------------------------------------------------------------------------- */

static bool ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z') x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z') y = (char)(y - 'A' + 'a');
        if (x != y) return false;
    }
    return *a == *b;
}

static int32_t format_from_name(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash)) return PTUNE_DATA_TEXT;
    const char *ext = dot + 1;
    if (ascii_ieq(ext, "csv")) return PTUNE_DATA_CSV;
    if (ascii_ieq(ext, "jsonl") || ascii_ieq(ext, "json") || ascii_ieq(ext, "ndjson")) return PTUNE_DATA_JSONL;
    return PTUNE_DATA_TEXT;
}

static const char *format_name(int32_t f)
{
    switch (f) {
    case PTUNE_DATA_CSV: return "CSV";
    case PTUNE_DATA_JSONL: return "JSON Lines";
    default: return "text";
    }
}

/* Copies `given` (NULL = defaults) over the defaults and checks every field. */
static ptune_status read_params(const ptune_dataset_params *given, const char *fn, ptune_dataset_params *p)
{
    ptune_dataset_params_init(p);
    if (given) {
        if (given->struct_size < sizeof(uint32_t) || given->struct_size > sizeof *p)
            return pt_fail(PTUNE_E_INVALID_ARG, "%s: params.struct_size is %u; call ptune_dataset_params_init()", fn,
                           given->struct_size);
        memcpy(p, given, given->struct_size);
        p->struct_size = sizeof *p;
    }
    if (p->format < PTUNE_DATA_AUTO || p->format > PTUNE_DATA_TEXT)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: format = %d is not a ptune_data_format (0..3)", fn, p->format);
    if (p->max_length < 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: max_length = %d must be >= 0 (0 = no truncation)", fn, p->max_length);
    if (p->select < 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: select = %lld must be >= 0 (0 = all rows)", fn, (long long)p->select);
    if (!p->text_column || !p->text_column[0]) p->text_column = "text";
    if (p->completion_column && !p->completion_column[0]) p->completion_column = NULL;
    if (p->completion_column && strcmp(p->completion_column, p->text_column) == 0)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: completion_column and text_column are both \"%s\"", fn,
                       p->text_column);
    return PTUNE_OK;
}

/* ---- dataset storage -------------------------------------------------------------------- */

PTUNE_API void ptune_dataset_free(ptune_dataset *d)
{
    if (!d) return;
    if (d->labels != d->ids) free(d->labels);
    free(d->ids);
    free(d->offsets);
    free(d);
}

/* An empty shell with buffers for n examples and n_tokens tokens (labels separate or not). */
static ptune_dataset *dataset_alloc(int64_t n, size_t n_tokens, bool separate_labels)
{
    ptune_dataset *d = pt_calloc(1, sizeof *d, "dataset");
    if (!d) return NULL;
    d->offsets = pt_malloc_array((size_t)n + 1, sizeof *d->offsets, "dataset offsets");
    d->ids = d->offsets ? pt_malloc_array(n_tokens, sizeof *d->ids, "dataset token ids") : NULL;
    d->labels = !d->ids ? NULL : separate_labels ? pt_malloc_array(n_tokens, sizeof *d->labels, "dataset labels") : d->ids;
    if (!d->labels) {
        ptune_dataset_free(d);
        return NULL;
    }
    d->n = n;
    d->offsets[0] = 0;
    return d;
}

/* ---- building: tokenization into the growing buffers ------------------------------------ */

typedef struct builder {
    const ptune_tokenizer *tok;
    const ptune_dataset_params *p;
    const char *name;
    int32_t eos;
    bool masked;            /* a completion column: labels differ from ids */
    int32_t *ids, *labels;  /* labels only when masked; both `cap` long */
    size_t len, cap;
    int64_t *offsets;       /* n + 1 used */
    int64_t n;
    size_t cap_off;
    int64_t rows;           /* rows read (what `select` counts) */
    int64_t skipped, first_skip_line;
} builder;

static ptune_status grow_tokens(builder *b, size_t need)
{
    if (need <= b->cap) return PTUNE_OK;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < need) {
        if (cap > SIZE_MAX / 2 / sizeof(int32_t))
            return pt_fail(PTUNE_E_NOMEM, "%s: too many tokens (%zu)", b->name, need);
        cap *= 2;
    }
    int32_t *ids = pt_realloc(b->ids, cap * sizeof *ids, "dataset buffer");
    if (!ids) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory for %zu token ids", b->name, cap);
    b->ids = ids;
    if (b->masked) {
        int32_t *labels = pt_realloc(b->labels, cap * sizeof *labels, "dataset buffer");
        if (!labels) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory for %zu labels", b->name, cap);
        b->labels = labels;
    }
    b->cap = cap;
    return PTUNE_OK;
}

/* Appends the ids of text[0..len) after b->len. Room for len + 16 ids is reserved first (a
 * token almost always covers at least one byte), so the text is normally encoded once; the
 * two-call retry covers tokenizers whose normalizer expands the text. */
static ptune_status encode_append(builder *b, const char *text, size_t len, bool special, int64_t line)
{
    size_t want;
    ptune_status s;
    if (!pt_add_size(len, 16, &want) || !pt_add_size(want, b->len, &want))
        return pt_fail(PTUNE_E_NOMEM, "%s:%lld: example too large", b->name, (long long)line);
    if ((s = grow_tokens(b, want))) return s;
    for (;;) {
        size_t room = b->cap - b->len;
        int32_t cap32 = room > (size_t)INT32_MAX ? INT32_MAX : (int32_t)room;
        int32_t n = 0;
        s = ptune_tokenizer_encode(b->tok, text ? text : "", len, special, b->ids + b->len, cap32, &n);
        if (s == PTUNE_OK) {
            b->len += (size_t)n;
            return PTUNE_OK;
        }
        if (s == PTUNE_E_BUFFER_TOO_SMALL && n > cap32) {
            if ((s = grow_tokens(b, b->len + (size_t)n))) return s;
            continue;
        }
        return pt_fail_context(s, "%s:%lld: ", b->name, (long long)line);
    }
}

/* Tokenizes one row: prompt (the text column) and, when masked, its completion. */
static ptune_status add_example(builder *b, const char *text, size_t text_len, const char *completion,
                                size_t completion_len, int64_t line)
{
    const ptune_dataset_params *p = b->p;
    size_t start = b->len;
    ptune_status s = encode_append(b, text, text_len, p->add_special != 0, line);
    if (s) return s;
    size_t n_prompt = b->len - start;
    if (b->masked && (s = encode_append(b, completion, completion_len, false, line))) return s;
    size_t total = b->len - start;
    if (p->max_length > 0) {
        size_t budget = (size_t)p->max_length - (p->add_eos ? 1 : 0); /* max_length >= 1 here */
        if (total > budget) total = budget;
        if (n_prompt > total) n_prompt = total;
        b->len = start + total;
    }
    if (p->add_eos) {
        if ((s = grow_tokens(b, b->len + 1))) return s;
        b->ids[b->len++] = b->eos;
        total++;
    }
    if (total > (size_t)INT32_MAX) {
        b->len = start;
        return pt_fail(PTUNE_E_FORMAT, "%s:%lld: example of %zu tokens is longer than 2^31 - 1 (set max_length)",
                       b->name, (long long)line, total);
    }
    if (total < 2 || (b->masked && n_prompt >= total)) { /* trains nothing */
        b->len = start;
        if (b->skipped++ == 0) b->first_skip_line = line;
        return PTUNE_OK;
    }
    if (b->masked) {
        for (size_t k = 0; k < n_prompt; k++) b->labels[start + k] = PT_LABEL_IGNORE;
        memcpy(b->labels + start + n_prompt, b->ids + start + n_prompt, (total - n_prompt) * sizeof(int32_t));
    }
    if ((size_t)b->n + 2 > b->cap_off) {
        size_t cap = b->cap_off ? b->cap_off * 2 : 256;
        int64_t *o = cap > SIZE_MAX / sizeof *o ? NULL : pt_realloc(b->offsets, cap * sizeof *o, "dataset buffer");
        if (!o) return pt_fail(PTUNE_E_NOMEM, "%s: out of memory for %zu example offsets", b->name, cap);
        if (!b->offsets) o[0] = 0;
        b->offsets = o;
        b->cap_off = cap;
    }
    b->offsets[++b->n] = (int64_t)b->len;
    return PTUNE_OK;
}

static void builder_free(builder *b)
{
    free(b->ids);
    free(b->labels);
    free(b->offsets);
}

/* Moves the builder's buffers (shrunk to size) into a new dataset. */
static ptune_status builder_finish(builder *b, ptune_dataset **out)
{
    if (b->n == 0) {
        if (b->rows == 0) return pt_fail(PTUNE_E_FORMAT, "%s: empty dataset: no rows", b->name);
        return pt_fail(PTUNE_E_FORMAT,
                       "%s: empty dataset: all %lld rows were skipped (each has fewer than 2 tokens or no scored "
                       "completion token; the first is at line %lld)",
                       b->name, (long long)b->rows, (long long)b->first_skip_line);
    }
    if (b->skipped)
        pt_log(PTUNE_LOG_WARN,
               "%s: skipped %lld of %lld rows that train nothing (fewer than 2 tokens, or no scored completion "
               "token left), the first at line %lld",
               b->name, (long long)b->skipped, (long long)b->rows, (long long)b->first_skip_line);
    ptune_dataset *d = pt_calloc(1, sizeof *d, "dataset");
    if (!d) return PTUNE_E_NOMEM;
    /* shrinking never fails in practice; keep the larger block when it does */
    int32_t *ids = pt_realloc(b->ids, b->len * sizeof *ids, "dataset buffer");
    if (ids) b->ids = ids;
    if (b->masked) {
        int32_t *labels = pt_realloc(b->labels, b->len * sizeof *labels, "dataset buffer");
        if (labels) b->labels = labels;
    }
    int64_t *off = pt_realloc(b->offsets, ((size_t)b->n + 1) * sizeof *off, "dataset buffer");
    if (off) b->offsets = off;
    d->n = b->n;
    d->offsets = b->offsets;
    d->ids = b->ids;
    d->labels = b->masked ? b->labels : b->ids;
    d->n_skipped = b->skipped;
    b->ids = b->labels = NULL;
    b->offsets = NULL;
    *out = d;
    return PTUNE_OK;
}

/* ---- positions -------------------------------------------------------------------------- */

/* 1-based line and code-point column of byte `off` (counted after a BOM at `begin`). CSV also
 * breaks lines at a lone "\r". */
static void line_col_at(const unsigned char *d, size_t begin, size_t off, bool cr_breaks, int64_t *line,
                        int64_t *col)
{
    int64_t l = 1, c = 1;
    for (size_t i = begin; i < off; i++) {
        if (d[i] == '\n' || (cr_breaks && d[i] == '\r' && d[i + 1] != '\n')) {
            l++;
            c = 1;
        } else if (d[i] != '\r' && (d[i] & 0xC0) != 0x80) {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static bool is_blank(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\f' && s[i] != '\v') return false;
    return true;
}

/* Splits lines at "\n" (a "\r" before it is dropped). Returns false at the end. */
typedef struct line_iter {
    const unsigned char *data;
    size_t size, pos;
    int64_t line;           /* of the line just returned */
} line_iter;

static bool next_line(line_iter *it, const unsigned char **s, size_t *n)
{
    if (it->pos >= it->size) return false;
    const unsigned char *start = it->data + it->pos;
    const unsigned char *nl = memchr(start, '\n', it->size - it->pos);
    size_t len = nl ? (size_t)(nl - start) : it->size - it->pos;
    it->pos += len + (nl ? 1 : 0);
    it->line++;
    if (len && start[len - 1] == '\r') len--;
    *s = start;
    *n = len;
    return true;
}

static bool want_more(const builder *b) { return b->p->select == 0 || b->rows < b->p->select; }

/* ---- CSV -------------------------------------------------------------------------------- */

/* "a", "b", ... into buf (cut with "..." when long). */
static void list_columns(const pt_csv_reader *r, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < r->n_fields; i++) {
        int w = snprintf(buf + used, cap - used, "%s\"%s\"", i ? ", " : "", r->fields[i].data);
        if (w < 0 || (size_t)w >= cap - used) {
            if (cap > 4) snprintf(buf + (used < cap - 5 ? used : cap - 5), 5, "%s", i ? ", .." : "..");
            return;
        }
        used += (size_t)w;
    }
}

static bool find_column(const pt_csv_reader *r, const char *want, size_t *idx)
{
    size_t n = strlen(want);
    for (size_t i = 0; i < r->n_fields; i++)
        if (r->fields[i].len == n && memcmp(r->fields[i].data, want, n) == 0) {
            *idx = i; /* the first of duplicate names, as pandas keeps it unrenamed */
            return true;
        }
    return false;
}

static ptune_status load_csv(builder *b, const unsigned char *data, size_t size)
{
    const ptune_dataset_params *p = b->p;
    pt_csv_reader r;
    pt_csv_init(&r, b->name, data, size);
    bool got = false;
    ptune_status s = pt_csv_next(&r, &got);
    if (s) goto done;
    if (!got) {
        s = pt_fail(PTUNE_E_FORMAT, "%s: empty CSV file: expected a header row naming the columns", b->name);
        goto done;
    }
    size_t n_cols = r.n_fields, tc = 0, cc = 0;
    int64_t header_line = r.record_line;
    const char *missing = !find_column(&r, p->text_column, &tc) ? p->text_column
                          : b->masked && !find_column(&r, p->completion_column, &cc) ? p->completion_column
                                                                                      : NULL;
    if (missing) {
        char cols[320];
        list_columns(&r, cols, sizeof cols);
        s = pt_fail(PTUNE_E_FORMAT, "%s:%lld:1: no column \"%s\" in the CSV header (columns: %s)", b->name,
                    (long long)header_line, missing, cols);
        goto done;
    }
    while (want_more(b)) {
        if ((s = pt_csv_next(&r, &got))) goto done;
        if (!got) break;
        if (r.n_fields < n_cols) {
            s = pt_fail(PTUNE_E_FORMAT,
                        "%s:%lld:1: row has %zu field%s but the header has %zu columns", b->name,
                        (long long)r.record_line, r.n_fields, r.n_fields == 1 ? "" : "s", n_cols);
            goto done;
        }
        if (r.n_fields > n_cols) {
            const pt_csv_field *extra = &r.fields[n_cols];
            s = pt_fail(PTUNE_E_FORMAT,
                        "%s:%lld:%lld: row has %zu fields but the header has %zu columns (quote a field that "
                        "contains a comma)",
                        b->name, (long long)extra->line, (long long)extra->col, r.n_fields, n_cols);
            goto done;
        }
        b->rows++;
        const pt_csv_field *t = &r.fields[tc], *c = b->masked ? &r.fields[cc] : NULL;
        if ((s = add_example(b, t->data, t->len, c ? c->data : NULL, c ? c->len : 0, r.record_line))) goto done;
    }
    if (r.n_lenient)
        pt_log(PTUNE_LOG_WARN,
               "%s:%lld:%lld: %s; %lld such place%s read leniently, as Python's csv module does",
               b->name, (long long)r.lenient_line, (long long)r.lenient_col, r.lenient_what,
               (long long)r.n_lenient, r.n_lenient == 1 ? "" : "s");
done:
    pt_csv_free(&r);
    return s;
}

/* ---- JSON Lines ------------------------------------------------------------------------- */

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

/* The value of `key` in object v as a string, or a PTUNE_E_FORMAT naming line:col. */
static ptune_status json_text(const builder *b, json_t *v, const char *key, int64_t line, int64_t col,
                              const char **s, size_t *n)
{
    json_t *f = json_object_get(v, key);
    if (!f) {
        char keys[320];
        size_t used = 0;
        keys[0] = 0;
        const char *k;
        json_t *unused;
        json_object_foreach(v, k, unused) {
            (void)unused;
            int w = snprintf(keys + used, sizeof keys - used, "%s\"%s\"", used ? ", " : "", k);
            if (w < 0 || (size_t)w >= sizeof keys - used) {
                snprintf(keys + (used < sizeof keys - 5 ? used : sizeof keys - 5), 5, "%s", used ? ", .." : "..");
                break;
            }
            used += (size_t)w;
        }
        return pt_fail(PTUNE_E_FORMAT, "%s:%lld:%lld: no field \"%s\" in this object (fields: %s)", b->name,
                       (long long)line, (long long)col, key, used ? keys : "none");
    }
    if (!json_is_string(f))
        return pt_fail(PTUNE_E_FORMAT, "%s:%lld:%lld: field \"%s\" is %s, expected a string", b->name,
                       (long long)line, (long long)col, key, json_kind(f));
    *s = json_string_value(f);
    *n = json_string_length(f);
    return PTUNE_OK;
}

static ptune_status load_jsonl(builder *b, const unsigned char *data, size_t size)
{
    line_iter it = {data, size, 0, 0};
    const unsigned char *ln;
    size_t len;
    while (want_more(b) && next_line(&it, &ln, &len)) {
        if (is_blank(ln, len)) continue;
        json_error_t e;
        json_t *v = json_loadb((const char *)ln, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
        if (!v)
            return pt_fail(PTUNE_E_FORMAT, "%s:%lld:%d: %s", b->name, (long long)it.line, e.column > 0 ? e.column : 1,
                           e.text);
        int64_t col = 1; /* of the value: after leading blanks (ASCII, one column each) */
        while ((size_t)(col - 1) < len && (ln[col - 1] == ' ' || ln[col - 1] == '\t')) col++;
        ptune_status s = PTUNE_OK;
        if (!json_is_object(v)) {
            s = pt_fail(PTUNE_E_FORMAT, "%s:%lld:%lld: expected a JSON object, found %s%s", b->name,
                        (long long)it.line, (long long)col, json_kind(v),
                        json_is_array(v) && b->rows == 0
                            ? " (a file holding one JSON array is not JSON Lines: write one object per line)"
                            : "");
        } else {
            const char *t = NULL, *c = NULL;
            size_t tn = 0, cn = 0;
            s = json_text(b, v, b->p->text_column, it.line, col, &t, &tn);
            if (!s && b->masked) s = json_text(b, v, b->p->completion_column, it.line, col, &c, &cn);
            if (!s) {
                b->rows++;
                s = add_example(b, t, tn, c, cn, it.line);
            }
        }
        json_decref(v);
        if (s) return s;
    }
    return PTUNE_OK;
}

/* ---- plain text ------------------------------------------------------------------------- */

static ptune_status load_text(builder *b, const unsigned char *data, size_t size)
{
    line_iter it = {data, size, 0, 0};
    const unsigned char *ln;
    size_t len;
    if (!b->p->blank_line_separated) {
        while (want_more(b) && next_line(&it, &ln, &len)) {
            if (is_blank(ln, len)) continue;
            b->rows++;
            ptune_status s = add_example(b, (const char *)ln, len, NULL, 0, it.line);
            if (s) return s;
        }
        return PTUNE_OK;
    }
    /* blocks of non-blank lines, joined with "\n" (CRLF files included) */
    pt_buf block = {0};
    int64_t first = 0;
    ptune_status s = PTUNE_OK;
    bool more = true;
    while (want_more(b) && more) {
        more = next_line(&it, &ln, &len);
        if (more && !is_blank(ln, len)) {
            if (block.len == 0) first = it.line;
            else if ((s = pt_buf_append_char(&block, '\n'))) break;
            /* a block of only an empty first line cannot happen: blank lines end blocks */
            if ((s = pt_buf_append(&block, ln, len))) break;
            continue;
        }
        if (block.len) {
            b->rows++;
            if ((s = add_example(b, block.data, block.len, NULL, 0, first))) break;
            pt_buf_clear(&block);
        }
    }
    pt_buf_free(&block);
    return s;
}

/* ---- entry points ----------------------------------------------------------------------- */

static ptune_status check_utf8(const char *name, const unsigned char *d, size_t size, size_t begin, bool csv)
{
    size_t bad = 0;
    if (pt_utf8_valid((const char *)d, size, &bad)) return PTUNE_OK;
    if (size >= 2 && ((d[0] == 0xFF && d[1] == 0xFE) || (d[0] == 0xFE && d[1] == 0xFF)))
        return pt_fail(PTUNE_E_INVALID_ARG, "%s:1:1: invalid UTF-8: the file starts with a UTF-16 byte-order mark "
                                            "(convert it to UTF-8)", name);
    int64_t line, col;
    line_col_at(d, begin, bad, csv, &line, &col);
    return pt_fail(PTUNE_E_INVALID_ARG, "%s:%lld:%lld: invalid UTF-8 (byte 0x%02X at offset %zu); datasets must be "
                                        "UTF-8", name, (long long)line, (long long)col, d[bad], bad);
}

ptune_status pt_dataset_build(const ptune_tokenizer *t, int32_t eos_id, const char *name, const void *data,
                              size_t size, const ptune_dataset_params *given, ptune_dataset **out)
{
    static const char fn[] = "ptune_dataset_load";
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!t) return pt_fail(PTUNE_E_INVALID_ARG, "%s: tokenizer is NULL", fn);
    if (!data && size) return pt_fail(PTUNE_E_INVALID_ARG, "%s: data is NULL", fn);
    if (!name) name = "<dataset>";
    ptune_dataset_params p;
    ptune_status s = read_params(given, fn, &p);
    if (s) return s;
    if (p.add_eos && eos_id < 0) return pt_fail(PTUNE_E_INVALID_ARG, "%s: add_eos is set but there is no EOS id", fn);
    int32_t format = p.format == PTUNE_DATA_AUTO ? format_from_name(name) : p.format;
    if (p.completion_column && format == PTUNE_DATA_TEXT)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: %s: completion_column \"%s\" needs a CSV or JSON Lines file, not %s",
                       fn, name, p.completion_column, format_name(format));
    /* an empty file maps to NULL; arithmetic on a null pointer is undefined (found by fuzz_dataset) */
    const unsigned char *d = data ? data : (const unsigned char *)"";
    size_t begin = size >= 3 && d[0] == 0xEF && d[1] == 0xBB && d[2] == 0xBF ? 3 : 0;
    if ((s = check_utf8(name, d, size, begin, format == PTUNE_DATA_CSV))) return s;

    builder b = {0};
    b.tok = t;
    b.p = &p;
    b.name = name;
    b.eos = eos_id;
    b.masked = p.completion_column != NULL;
    switch (format) {
    case PTUNE_DATA_CSV: s = load_csv(&b, d, size); break; /* the reader skips the BOM itself */
    case PTUNE_DATA_JSONL: s = load_jsonl(&b, d + begin, size - begin); break;
    default: s = load_text(&b, d + begin, size - begin); break;
    }
    if (!s) s = builder_finish(&b, out);
    builder_free(&b);
    return s;
}

PTUNE_API ptune_status ptune_dataset_load(const ptune_model *m, const char *path, const ptune_dataset_params *given,
                                          ptune_dataset **out)
{
    static const char fn[] = "ptune_dataset_load";
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!m || !path) return pt_fail(PTUNE_E_INVALID_ARG, "%s: model and path are required", fn);
    ptune_dataset_params p;
    ptune_status s = read_params(given, fn, &p);
    if (s) return s;
    if (!m->tokenizer)
        return pt_fail(PTUNE_E_STATE, "%s: %s: %s", fn, path,
                       m->tokenizer_missing ? m->tokenizer_missing : "the model has no tokenizer");
    int32_t eos = ptune_model_eos_id(m);
    if (p.add_eos && eos < 0)
        return pt_fail(PTUNE_E_STATE, "%s: add_eos is set but the model%s%s has no EOS token id", fn,
                       m->source_path ? " " : "", m->source_path ? m->source_path : "");
    pt_mapped_file f;
    if ((s = pt_mapped_file_open(path, &f))) return s;
    s = pt_dataset_build(m->tokenizer, eos, path, f.data, f.size, &p, out);
    pt_mapped_file_close(&f);
    return s;
}

ptune_status pt_dataset_from_ids(int64_t n, const int32_t *const *ids, const int32_t *const *labels,
                                 const int32_t *len, ptune_dataset **out)
{
    if (!out) return pt_fail(PTUNE_E_INVALID_ARG, "pt_dataset_from_ids: out is NULL");
    *out = NULL;
    if (n < 1 || !ids || !len) return pt_fail(PTUNE_E_INVALID_ARG, "pt_dataset_from_ids: n = %lld rows", (long long)n);
    size_t total = 0;
    bool separate = false;
    for (int64_t i = 0; i < n; i++) {
        if (len[i] < 1 || !ids[i])
            return pt_fail(PTUNE_E_INVALID_ARG, "pt_dataset_from_ids: row %lld has length %d", (long long)i, len[i]);
        if (!pt_add_size(total, (size_t)len[i], &total))
            return pt_fail(PTUNE_E_NOMEM, "pt_dataset_from_ids: too many tokens");
        if (labels && labels[i]) separate = true;
    }
    ptune_dataset *d = dataset_alloc(n, total, separate);
    if (!d) return PTUNE_E_NOMEM;
    size_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        memcpy(d->ids + at, ids[i], (size_t)len[i] * sizeof(int32_t));
        if (separate)
            memcpy(d->labels + at, labels[i] ? labels[i] : ids[i], (size_t)len[i] * sizeof(int32_t));
        at += (size_t)len[i];
        d->offsets[i + 1] = (int64_t)at;
    }
    *out = d;
    return PTUNE_OK;
}

/* ---- getters ---------------------------------------------------------------------------- */

PTUNE_API int64_t ptune_dataset_size(const ptune_dataset *d) { return d ? d->n : 0; }

PTUNE_API int64_t ptune_dataset_n_tokens(const ptune_dataset *d) { return d ? d->offsets[d->n] : 0; }

PTUNE_API ptune_status ptune_dataset_get(const ptune_dataset *d, int64_t i, const int32_t **ids,
                                         const int32_t **labels, int32_t *len)
{
    if (!d) return pt_fail(PTUNE_E_INVALID_ARG, "ptune_dataset_get: dataset is NULL");
    if (i < 0 || i >= d->n)
        return pt_fail(PTUNE_E_INVALID_ARG, "ptune_dataset_get: index %lld out of range (the dataset has %lld rows)",
                       (long long)i, (long long)d->n);
    if (ids) *ids = pt_dataset_ids(d, i);
    if (labels) *labels = pt_dataset_labels(d, i);
    if (len) *len = pt_dataset_len(d, i);
    return PTUNE_OK;
}

/* ---- split ------------------------------------------------------------------------------ */

PTUNE_API ptune_status ptune_dataset_split(ptune_dataset *d, double fraction, uint64_t seed, ptune_dataset **eval_out)
{
    static const char fn[] = "ptune_dataset_split";
    if (!eval_out) return pt_fail(PTUNE_E_INVALID_ARG, "%s: eval_out is NULL", fn);
    *eval_out = NULL;
    if (!d) return pt_fail(PTUNE_E_INVALID_ARG, "%s: dataset is NULL", fn);
    if (!(fraction > 0.0 && fraction < 1.0))
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: fraction = %g must be in (0, 1)", fn, fraction);
    if (d->n < 2)
        return pt_fail(PTUNE_E_INVALID_ARG, "%s: needs at least 2 rows (one each side), the dataset has %lld", fn,
                       (long long)d->n);
    /* ceil, as HF's train_test_split sizes its test side, ignoring floating-point fuzz
     * (0.7 * 10 = 7.000000000000001 must give 7) */
    double x = fraction * (double)d->n;
    int64_t n_eval = (int64_t)ceil(x - 1e-9 * (x > 1.0 ? x : 1.0));
    if (n_eval < 1) n_eval = 1;
    if (n_eval > d->n - 1) n_eval = d->n - 1;

    /* partial Fisher–Yates: the first n_eval slots of a seeded permutation are the eval rows */
    int64_t n = d->n;
    int64_t *perm = pt_malloc_array((size_t)n, sizeof *perm, "split permutation");
    unsigned char *chosen = perm ? pt_calloc((size_t)n, 1, "split marks") : NULL;
    if (!chosen) {
        free(perm);
        return PTUNE_E_NOMEM;
    }
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    pt_rng rng;
    pt_rng_seed(&rng, seed);
    for (int64_t i = 0; i < n_eval; i++) {
        int64_t j = i + (int64_t)pt_rng_below(&rng, (uint64_t)(n - i));
        int64_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        chosen[perm[i]] = 1;
    }
    free(perm);

    size_t eval_tokens = 0;
    for (int64_t i = 0; i < n; i++)
        if (chosen[i]) eval_tokens += (size_t)pt_dataset_len(d, i);
    bool separate = d->labels != d->ids;
    ptune_dataset *e = dataset_alloc(n_eval, eval_tokens, separate);
    if (!e) {
        free(chosen);
        return PTUNE_E_NOMEM;
    }
    /* nothing below can fail: fill the eval side, then compact `d` in place, both in order */
    int64_t ei = 0, ki = 0;
    size_t eat = 0, kat = 0;
    for (int64_t i = 0; i < n; i++) {
        size_t len = (size_t)pt_dataset_len(d, i);
        size_t from = (size_t)d->offsets[i];
        if (chosen[i]) {
            memcpy(e->ids + eat, d->ids + from, len * sizeof(int32_t));
            if (separate) memcpy(e->labels + eat, d->labels + from, len * sizeof(int32_t));
            eat += len;
            e->offsets[++ei] = (int64_t)eat;
        } else {
            if (kat != from) {
                memmove(d->ids + kat, d->ids + from, len * sizeof(int32_t));
                if (separate) memmove(d->labels + kat, d->labels + from, len * sizeof(int32_t));
            }
            kat += len;
            d->offsets[++ki] = (int64_t)kat; /* ki <= i: offsets[i + 1] is already read */
        }
    }
    free(chosen);
    d->n = ki;
    /* give back the moved-out part (a failed shrink keeps the larger block) */
    int32_t *ids = pt_realloc(d->ids, kat * sizeof *ids, "dataset buffer");
    if (ids) {
        if (!separate) d->labels = ids;
        d->ids = ids;
    }
    if (separate) {
        int32_t *labels = pt_realloc(d->labels, kat * sizeof *labels, "dataset buffer");
        if (labels) d->labels = labels;
    }
    int64_t *off = pt_realloc(d->offsets, ((size_t)ki + 1) * sizeof *off, "dataset buffer");
    if (off) d->offsets = off;
    *eval_out = e;
    return PTUNE_OK;
}
