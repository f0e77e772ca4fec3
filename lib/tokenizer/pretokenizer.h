/* tokenizer.json pre-tokenizers: Sequence, ByteLevel (with and without its GPT-2 regex, with
 * add_prefix_space), Split (string or Oniguruma regex pattern, every `behavior`, `invert`),
 * Metaspace (replacement, prepend_scheme always/first/never, split), Digits, Punctuation,
 * WhitespaceSplit, Whitespace. Also the GGUF pre-tokenizer presets as llama.cpp names them. */
#ifndef PT_TOKENIZER_PRETOKENIZER_H
#define PT_TOKENIZER_PRETOKENIZER_H

#include <jansson.h>
#include "tokenizer/pieces.h"

typedef struct pt_pretokenizer pt_pretokenizer;

/* Parses the "pre_tokenizer" object; JSON null gives *out = NULL (the whole segment is one
 * piece). Unknown types: PTUNE_E_UNSUPPORTED naming the type; bad regex: PTUNE_E_FORMAT with
 * Oniguruma's message. */
ptune_status pt_pretokenizer_parse(const json_t *j, const char *where, pt_pretokenizer **out);
void pt_pretokenizer_free(pt_pretokenizer *p);

/* Splits one normalized segment s[0..len) into pieces appended to `out` (not cleared; empty
 * pieces are never appended). ByteLevel maps every byte of its pieces to the GPT-2
 * byte-to-unicode alphabet (so `out` holds e.g. "Ġworld"); Metaspace replaces ' ' with its
 * replacement. `first_segment` tells Metaspace's prepend_scheme "first" whether this segment
 * starts at byte 0 of the encoded text (HF: offsets_original().0 == 0), i.e. it is the first
 * segment and the text does not begin with an added token. p == NULL appends s as one piece.
 * s must not point into `out`. Thread-safe (per-call scratch only). */
ptune_status pt_pretokenizer_run(const pt_pretokenizer *p, const char *s, size_t len, int first_segment,
                                 pt_pieces *out);

/* The GPT-2 byte→unicode table: the UTF-8 encoding (1–2 bytes) of byte b's stand-in char. */
const char *pt_bytelevel_char(unsigned char b, size_t *len);
/* Inverse: the byte a stand-in code point denotes, or -1 when cp is not in the table. */
int pt_bytelevel_byte(uint32_t cp);

/* The pre-tokenizer llama.cpp applies for a GGUF `tokenizer.ggml.pre` name (BPE vocabularies),
 * built as the equivalent tokenizer.json object and parsed by pt_pretokenizer_parse: one
 * Split(regex, Isolated) per llama.cpp regex, then ByteLevel without its own regex. Where
 * llama.cpp quotes the model's original tokenizer.json regex next to its adaptation (llama3,
 * qwen2, tekken, gpt-4o, seed-coder, bailingmoe), the original is used, as HF would run it.
 * Names: "default"; "llama3" "llama-v3" "llama-bpe" "falcon3" "falcon-h1" "pixtral" "midm-2.0"
 * "lfm2" "jina-v5-nano" "dbrx" "smaug-bpe" "chatglm-bpe" "glm4"; "qwen2" "deepseek-r1-qwen"
 * "kormo" "megrez" "stablelm2" "hunyuan" "grok-2"; "gpt-2" "gpt2" "phi-2" "jina-es" "jina-de"
 * "gigachat" "jina-v2-es" "jina-v2-de" "a.x-4.0" "mellum" "jina-v1-en" "jina-v2-code"
 * "roberta-bpe" "mpt" "olmo" "jais" "trillion" "granite-docling" "exaone4" (ByteLevel with the
 * GPT-2 regex); "starcoder" "refact" "command-r" "smollm" "codeshell" "exaone" "minerva-7b";
 * "bloom" "poro-chat" "gpt3-finnish"; "viking"; "falcon"; "deepseek-coder"; "deepseek-v3"
 * "hunyuan-dense"; "tekken"; "gpt-4o" "llama4" "minimax-m2"; "seed-coder"; "bailingmoe"
 * "bailingmoe2" "llada-moe". Any other name (or NULL) is PTUNE_E_UNSUPPORTED naming it. */
ptune_status pt_pretokenizer_gguf_preset(const char *pre, pt_pretokenizer **out);

#endif
