/* tokenizer.json decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence
 * (HF decode_chain semantics over a list of token strings), plus WordPiece-free BPE suffix
 * handling is not needed. */
#ifndef PT_TOKENIZER_DECODER_H
#define PT_TOKENIZER_DECODER_H

#include <jansson.h>
#include "tokenizer/pieces.h"

typedef struct pt_decoder pt_decoder;

/* JSON null gives *out = NULL (tokens are concatenated as they are). Unknown types:
 * PTUNE_E_UNSUPPORTED naming the type. */
ptune_status pt_decoder_parse(const json_t *j, const char *where, pt_decoder **out);
void pt_decoder_free(pt_decoder *d);

/* Decodes the token strings in `tokens` (one piece per token, in order; `tokens` may be
 * modified as scratch) and appends the text to `out`. Invalid UTF-8 produced by byte-level or
 * byte-fallback decoding is replaced by U+FFFD exactly as HF does (String::from_utf8_lossy
 * semantics for ByteLevel; one U+FFFD per invalid byte-fallback token for ByteFallback).
 * Thread-safe. */
ptune_status pt_decoder_run(const pt_decoder *d, pt_pieces *tokens, pt_buf *out);

#endif
