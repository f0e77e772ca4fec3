/* The assembled tokenizer (HF `tokenizers` pipeline): added-token splitting → normalizer →
 * pre-tokenizer → BPE → post-processor for encoding; id → token strings → decoder for decoding.
 * Built from a tokenizer.json (tokenizer_json.c) or a GGUF vocabulary (gguf_vocab.c); read-only
 * and shareable between threads once built. */
#ifndef PT_TOKENIZER_TOKENIZER_H
#define PT_TOKENIZER_TOKENIZER_H

#include <stdbool.h>
#include "formats/gguf.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/decoder.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pretokenizer.h"

struct ptune_tokenizer {
    pt_normalizer *normalizer;        /* NULL = identity */
    pt_pretokenizer *pretokenizer;    /* NULL = one piece per segment */
    pt_bpe *model;                    /* required */
    pt_added_tokens *added;           /* required (may hold zero tokens) */
    pt_post_processor *post;          /* NULL = adds nothing */
    pt_decoder *decoder;              /* NULL = concatenation */
    int32_t n_vocab;                  /* 1 + largest id of the model and the added tokens */
    int32_t bos_id, eos_id;           /* -1 when unknown (informational; the post-processor adds) */
    char *source;                     /* owned: the file it came from, for messages */
};

/* Frees everything a (possibly partially built) tokenizer owns. NULL is a no-op. */
void pt_tokenizer_free(struct ptune_tokenizer *t);

/* tokenizer.json (HF tokenizers format). Errors name the file and field; unsupported
 * components (a WordPiece/Unigram model, an unknown normalizer ...) are PTUNE_E_UNSUPPORTED. */
ptune_status pt_tokenizer_from_json_file(const char *path, struct ptune_tokenizer **out);

/* The vocabulary embedded in a GGUF file (tokenizer.ggml.*). PTUNE_E_STATE without a message
 * when the file has no tokenizer.ggml.model key; PTUNE_E_UNSUPPORTED for a model or pre-tokenizer
 * name this library does not implement. */
ptune_status pt_tokenizer_from_gguf(const pt_gguf *g, struct ptune_tokenizer **out);

/* Encodes valid UTF-8 text (invalid UTF-8 is PTUNE_E_INVALID_ARG naming the byte offset),
 * appending ids to `out` (cleared first); add_special applies the post-processor. */
ptune_status pt_tokenizer_encode(const struct ptune_tokenizer *t, const char *text, size_t len, bool add_special,
                                 pt_ids *out);

/* Decodes ids (each must be < n_vocab, else PTUNE_E_INVALID_ARG) into `out` (cleared first);
 * skip_special drops special added tokens, as HF's decode(skip_special_tokens=True). */
ptune_status pt_tokenizer_decode(const struct ptune_tokenizer *t, const int32_t *ids, size_t n, bool skip_special,
                                 pt_buf *out);

/* The token string of an id (model vocabulary or added token), NULL when unknown. */
const char *pt_tokenizer_id_to_token(const struct ptune_tokenizer *t, int32_t id, size_t *len);
bool pt_tokenizer_is_special(const struct ptune_tokenizer *t, int32_t id);

#endif
