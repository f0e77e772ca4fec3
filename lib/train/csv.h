/* An RFC 4180 CSV record reader over a memory buffer, with line/column tracking for messages.
 * Owns the parsing rules (quoting, line endings, BOM, lenient/strict quotes); not the meaning of columns. */
#ifndef PT_TRAIN_CSV_H
#define PT_TRAIN_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ptune/ptune.h"

/* Grammar (RFC 4180, plus what Python's csv module and pandas accept):
 * - A record ends at "\r\n", "\n" or a lone "\r" outside quotes, or at the end of the buffer
 *   (a final line ending is optional). Lines that are completely empty are skipped, as
 *   csv.DictReader and pandas do; a line holding only `""` is a record with one empty field.
 * - A field starting with '"' is quoted: it runs to the next '"' not doubled, may contain the
 *   delimiter, '"' written as "" and raw line endings (kept verbatim, "\r\n" included).
 * - A UTF-8 byte-order mark at the very start is skipped (not part of the first field).
 * - Fields are returned unescaped, NUL-terminated (they may also contain NUL bytes: use len).
 * - Always an error (PTUNE_E_FORMAT): a quoted field still open at the end of the buffer,
 *   reported at the line:column of its opening quote (it would otherwise swallow the rest of
 *   the file silently).
 * - Quotes RFC 4180 forbids — a '"' inside an unquoted field (`5" screen`) or characters after
 *   a closing quote (`"ab"cd`) — are errors in strict mode. In lenient mode (the default for
 *   datasets, matching Python's csv with strict=False and pandas) the quote is kept literally /
 *   the characters are appended (`"ab"cd` reads as `abcd`) and the place is recorded in
 *   n_lenient/lenient_line/lenient_col so the caller can warn about it.
 * Positions: lines and columns are 1-based; columns count UTF-8 code points (as jansson and
 * libyaml do), so a column is what an editor shows. The BOM is not counted. */

typedef struct pt_csv_field {
    const char *data;   /* unescaped bytes, NUL-terminated; valid until the next pt_csv_next */
    size_t len;
    int64_t line, col;  /* where the field starts (its opening quote when quoted) */
    bool quoted;
} pt_csv_field;

typedef struct pt_csv_reader {
    /* configuration (set by pt_csv_init; `strict` and `delim` may be changed before reading) */
    const char *name;   /* for messages ("name:line:col: ..."); borrowed */
    const unsigned char *data;
    size_t size;
    char delim;         /* ',' by default ('\t' for TSV); never '"', '\r' or '\n' */
    bool strict;        /* false by default (see above) */
    /* position */
    size_t pos;
    int64_t line, col;
    /* the current record, valid until the next pt_csv_next */
    pt_csv_field *fields;
    size_t n_fields;
    int64_t record_line;/* line where the current record starts */
    /* lenient-mode irregularities seen so far: count and the first one's place */
    int64_t n_lenient;
    int64_t lenient_line, lenient_col;
    const char *lenient_what;  /* static description of the first one */
    /* private */
    size_t cap_fields;
    size_t *field_off;  /* offsets into text, cap_fields entries */
    pt_buf text;
} pt_csv_reader;

/* Prepares a reader over data[0..size) (borrowed; must outlive the reader). Never fails. */
void pt_csv_init(pt_csv_reader *r, const char *name, const void *data, size_t size);

/* Reads the next record into r->fields / r->n_fields (n_fields >= 1).
 * Sets *got to false at the end of the buffer (then r->n_fields is 0).
 * @return PTUNE_OK; PTUNE_E_FORMAT ("name:line:col: ..."); PTUNE_E_NOMEM. After an error the
 * reader must not be read again (only freed). */
ptune_status pt_csv_next(pt_csv_reader *r, bool *got);

/* Releases the reader's buffers (not the data). Safe on a zeroed or initialized reader. */
void pt_csv_free(pt_csv_reader *r);

#endif
