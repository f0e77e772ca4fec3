/* tokenizer.json normalizers: Sequence, Prepend, Replace (string or regex pattern), NFC, NFD,
 * NFKC, NFKD (utf8proc), Lowercase, Strip. Parsed once from JSON, applied to each text segment. */
#ifndef PT_TOKENIZER_NORMALIZER_H
#define PT_TOKENIZER_NORMALIZER_H

#include <jansson.h>
#include "core/buf.h"

typedef struct pt_normalizer pt_normalizer;

/* Parses the "normalizer" object. JSON null (or NULL) gives *out = NULL: the identity.
 * `where` names the file for messages. An unknown or unsupported "type" is
 * PTUNE_E_UNSUPPORTED naming the type ("tokenizer.json: normalizer type \"BertNormalizer\" is
 * not supported"); a malformed object is PTUNE_E_FORMAT naming the field. */
ptune_status pt_normalizer_parse(const json_t *j, const char *where, pt_normalizer **out);
void pt_normalizer_free(pt_normalizer *n);

/* Normalizes s[0..len) (valid UTF-8) and writes the result to `out` (cleared first).
 * n == NULL copies the input. Thread-safe: a parsed normalizer is read-only. */
ptune_status pt_normalizer_run(const pt_normalizer *n, const char *s, size_t len, pt_buf *out);

#endif
