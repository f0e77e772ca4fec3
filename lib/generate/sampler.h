/* Token sampling with Hugging Face semantics and order (repetition penalty → temperature →
 * top-k → top-p → min-p → greedy or multinomial draw), and stop-string matching. Pure functions
 * over one row of logits plus a per-sequence seeded RNG. */
#ifndef PT_GENERATE_SAMPLER_H
#define PT_GENERATE_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/rng.h"
#include "ptune/ptune.h"

/* Scratch for one vocabulary-sized row (indices and probabilities); reusable across calls. */
typedef struct pt_sampler_scratch {
    int32_t *idx;
    float *prob;
    int32_t cap;
} pt_sampler_scratch;

ptune_status pt_sampler_scratch_reserve(pt_sampler_scratch *s, int32_t n_vocab);
void pt_sampler_scratch_free(pt_sampler_scratch *s);

/* Validates params (temperature >= 0, top_p in (0, 1], min_p in [0, 1), repetition_penalty > 0,
 * top_k >= 0, max_new_tokens >= 0, max_length >= 0, stop id/string arrays present when their
 * count is > 0, no NULL or empty stop string): PTUNE_E_INVALID_ARG naming the field. */
ptune_status pt_sampling_validate(const ptune_sampling_params *p);

/* Chooses the next token from logits[n_vocab] (modified in place: penalties and warpers are
 * applied to it). `history` holds every token of the sequence so far (input included) for the
 * repetition penalty. Greedy when temperature == 0 (ties: lowest id, as torch.argmax); otherwise
 * exactly one pt_rng_uniform draw per call. Grows `scratch` as needed. Returns -1 with the last
 * error set on bad arguments or params (PTUNE_E_INVALID_ARG), a NaN/+inf logit or all logits
 * -inf (PTUNE_E_NUMERIC), or a failed scratch allocation (PTUNE_E_NOMEM). History ids outside
 * [0, n_vocab) are ignored. Top-p breaks ties at its boundary toward lower ids. */
int32_t pt_sample(float *logits, int32_t n_vocab, const int32_t *history, size_t n_history,
                  const ptune_sampling_params *p, pt_rng *rng, pt_sampler_scratch *scratch);

/* The probability distribution pt_sample would draw from (after all processors, softmax),
 * written to probs[n_vocab] (zeros for filtered tokens); for tests and tooling. On an error
 * (as for pt_sample) probs is all zeros and the last error is set. */
void pt_sample_distribution(float *logits, int32_t n_vocab, const int32_t *history, size_t n_history,
                            const ptune_sampling_params *p, float *probs, pt_sampler_scratch *scratch);

/* Stop strings: true when `text` (the decoded new text so far) contains any stop string; *cut
 * receives the byte offset where the earliest match starts (the text to keep). NULL or empty
 * entries never match; cut may be NULL and is untouched when nothing matches. */
bool pt_stop_strings_match(const char *text, size_t len, const char *const *stops, int32_t n_stops, size_t *cut);

#endif
