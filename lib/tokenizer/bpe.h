/* The BPE model: vocabulary (string ↔ id hash maps), merges (pair → rank hash map) or
 * SentencePiece scores, and word encoding with a priority queue over a linked list of symbols
 * (lowest rank first, leftmost on ties), byte_fallback, fuse_unk, ignore_merges, unk, and a
 * small thread-safe cache of recent words. */
#ifndef PT_TOKENIZER_BPE_H
#define PT_TOKENIZER_BPE_H

#include <stdbool.h>
#include "core/buf.h"

typedef struct pt_bpe pt_bpe;

typedef struct pt_bpe_config {
    bool byte_fallback;       /* unknown chars → <0xXX> byte tokens (whole char) */
    bool fuse_unk;            /* consecutive unk tokens become one */
    bool ignore_merges;       /* a word that is a vocab entry is emitted as is */
    bool score_merges;        /* SentencePiece mode (GGUF "llama" vocab): no merge list; a pair
                                 merges when its concatenation is a token, highest score first */
    int32_t unk_id;           /* -1: none (unknown chars are dropped, as HF does without unk) */
    const char *continuing_subword_prefix; /* NULL or "" = none */
    const char *end_of_word_suffix;        /* NULL or "" = none */
} pt_bpe_config;

ptune_status pt_bpe_new(const pt_bpe_config *cfg, pt_bpe **out);
void pt_bpe_free(pt_bpe *m);

/* Optional: sizes the tables for this many more tokens and merges (avoids rehashing). */
ptune_status pt_bpe_reserve(pt_bpe *m, size_t n_tokens, size_t n_merges);
/* Building (single-threaded, before first use). Ids need not be dense; duplicates of a string
 * or an id are PTUNE_E_FORMAT. `score` is used in score_merges mode only. */
ptune_status pt_bpe_add_token(pt_bpe *m, const char *s, size_t len, int32_t id, float score);
/* Merge of tokens a and b with priority `rank` (lower merges first). Both parts and their
 * concatenation must be in the vocabulary, else PTUNE_E_FORMAT naming the merge. */
ptune_status pt_bpe_add_merge(pt_bpe *m, const char *a, size_t la, const char *b, size_t lb, int32_t rank);
/* The same for n merges in order (faster: the lookups of a batch are prefetched together). On
 * error *failed (nullable) gets the index of the offending merge (which others were added is
 * unspecified: free the model). */
typedef struct pt_bpe_merge {
    const char *a;
    size_t la;
    const char *b;
    size_t lb;
    int32_t rank;
} pt_bpe_merge;
ptune_status pt_bpe_add_merges(pt_bpe *m, const pt_bpe_merge *merges, size_t n, size_t *failed);
/* Freezes the model (builds lookup indexes). */
ptune_status pt_bpe_finish(pt_bpe *m);

/* Encodes one pre-token piece, appending ids to `out`. Thread-safe after pt_bpe_finish. */
ptune_status pt_bpe_encode(const pt_bpe *m, const char *piece, size_t len, pt_ids *out);

/* Vocabulary lookups (-1 / NULL when absent). */
int32_t pt_bpe_token_to_id(const pt_bpe *m, const char *s, size_t len);
const char *pt_bpe_id_to_token(const pt_bpe *m, int32_t id, size_t *len);
int32_t pt_bpe_vocab_size(const pt_bpe *m);   /* 1 + largest id */

#endif
