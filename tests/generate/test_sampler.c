/* Tests of the token sampler: each HF processor and their chain against hand-computed
 * distributions, greedy ties, seeded reproducibility and draw frequencies, stop strings, errors. */
#include "test_support.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "generate/sampler.h"

#define NEG_INF (-INFINITY)

#define ASSERT_NEAR(a, b, eps)                                                                   \
    do {                                                                                         \
        double a_ = (double)(a), b_ = (double)(b);                                               \
        if (!(fabs(a_ - b_) <= (eps)))                                                           \
            fail_msg("%s = %.9g, expected %s = %.9g (tolerance %g)", #a, a_, #b, b_, (double)(eps)); \
    } while (0)

/* pt_rng has padding: compare its fields. */
static bool rng_equal(const pt_rng *a, const pt_rng *b)
{
    return memcmp(a->s, b->s, sizeof a->s) == 0 && a->has_spare == b->has_spare && a->spare == b->spare;
}

/* Everything off: temperature 1, no top-k/top-p/min-p, no penalty. */
static ptune_sampling_params plain(void)
{
    ptune_sampling_params p;
    ptune_sampling_params_init(&p);
    p.top_k = 0;
    return p;
}

/* pt_sample_distribution over a copy of `in` (the processed logits land in logits_out when
 * non-NULL); checks the result is a distribution. */
static void dist(const float *in, int32_t n, const int32_t *hist, size_t nh, const ptune_sampling_params *p,
                 float *probs, float *logits_out)
{
    float l[64];
    assert_true(n <= 64);
    memcpy(l, in, (size_t)n * sizeof *l);
    pt_sampler_scratch s = {0};
    pt_sample_distribution(l, n, hist, nh, p, probs, &s);
    pt_sampler_scratch_free(&s);
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) {
        assert_true(probs[i] >= 0.0f);
        total += probs[i];
    }
    ASSERT_NEAR(total, 1.0, 1e-6);
    if (logits_out) memcpy(logits_out, l, (size_t)n * sizeof *l);
}

static void expect_probs(const float *got, const double *want, int32_t n, double eps)
{
    for (int32_t i = 0; i < n; i++) {
        if (!(fabs((double)got[i] - want[i]) <= eps))
            fail_msg("token %d: probability %.9g, expected %.9g", i, (double)got[i], want[i]);
        if (want[i] == 0.0 && got[i] != 0.0f) fail_msg("token %d should be filtered (got %.9g)", i, (double)got[i]);
    }
}

/* ---- defaults and validation ----------------------------------------------------------- */

static void test_params_init_defaults(void **state)
{
    (void)state;
    ptune_sampling_params p;
    memset(&p, 0x5a, sizeof p);
    ptune_sampling_params_init(&p);
    assert_int_equal(p.struct_size, sizeof p);
    assert_true(p.temperature == 1.0f);
    assert_int_equal(p.top_k, 50);
    assert_true(p.top_p == 1.0f);
    assert_true(p.min_p == 0.0f);
    assert_true(p.repetition_penalty == 1.0f);
    assert_int_equal(p.max_new_tokens, 20);
    assert_int_equal(p.max_length, 0);
    assert_true(p.seed == 0);
    assert_null(p.stop_ids);
    assert_int_equal(p.n_stop_ids, 0);
    assert_null(p.stop_strings);
    assert_int_equal(p.n_stop_strings, 0);
    assert_int_equal(p.ignore_eos, 0);
    assert_int_equal(pt_sampling_validate(&p), PTUNE_OK);
    ptune_sampling_params_init_sized(NULL, sizeof(ptune_sampling_params)); /* no crash */
}

static void expect_invalid(const ptune_sampling_params *p, const char *field)
{
    assert_int_equal(pt_sampling_validate(p), PTUNE_E_INVALID_ARG);
    if (!strstr(ptune_last_error(), field)) fail_msg("error '%s' does not name '%s'", ptune_last_error(), field);
    /* pt_sample refuses them too */
    float l[3] = {1, 2, 3};
    pt_rng rng;
    pt_rng_seed(&rng, 1);
    pt_sampler_scratch s = {0};
    assert_int_equal(pt_sample(l, 3, NULL, 0, p, &rng, &s), -1);
    pt_sampler_scratch_free(&s);
}

static void test_validation(void **state)
{
    (void)state;
    ptune_sampling_params p;
#define CASE(field, value)            \
    do {                              \
        ptune_sampling_params_init(&p); \
        p.field = (value);            \
        expect_invalid(&p, #field);   \
    } while (0)
    CASE(temperature, -0.5f);
    CASE(temperature, NAN);
    CASE(temperature, INFINITY);
    CASE(top_k, -1);
    CASE(top_p, 0.0f);
    CASE(top_p, -0.1f);
    CASE(top_p, 1.0001f);
    CASE(top_p, NAN);
    CASE(min_p, -0.01f);
    CASE(min_p, 1.0f);
    CASE(min_p, NAN);
    CASE(repetition_penalty, 0.0f);
    CASE(repetition_penalty, -1.2f);
    CASE(repetition_penalty, NAN);
    CASE(repetition_penalty, INFINITY);
    CASE(max_new_tokens, -1);
    CASE(max_length, -5);
    CASE(n_stop_ids, -1);
    CASE(n_stop_ids, 2); /* stop_ids NULL */
    CASE(n_stop_strings, 1); /* stop_strings NULL */
#undef CASE
    const char *bad[] = {"ok", ""};
    ptune_sampling_params_init(&p);
    p.stop_strings = bad;
    p.n_stop_strings = 2;
    expect_invalid(&p, "stop_strings[1]");
    assert_int_equal(pt_sampling_validate(NULL), PTUNE_E_INVALID_ARG);

    /* the edges of the allowed ranges are accepted */
    ptune_sampling_params_init(&p);
    p.temperature = 0.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.max_new_tokens = 0;
    p.repetition_penalty = 1e-3f;
    assert_int_equal(pt_sampling_validate(&p), PTUNE_OK);
    p.min_p = 0.999f;
    p.top_p = 1e-6f;
    assert_int_equal(pt_sampling_validate(&p), PTUNE_OK);
}

static void test_bad_arguments_and_numbers(void **state)
{
    (void)state;
    ptune_sampling_params p = plain();
    pt_rng rng;
    pt_rng_seed(&rng, 7);
    pt_sampler_scratch s = {0};
    float l[4] = {0.5f, 1.0f, -1.0f, 2.0f};
    float probs[4];

    assert_int_equal(pt_sample(NULL, 4, NULL, 0, &p, &rng, &s), -1);
    assert_int_equal(pt_sample(l, 0, NULL, 0, &p, &rng, &s), -1);
    assert_int_equal(pt_sample(l, 4, NULL, 3, &p, &rng, &s), -1);
    assert_int_equal(pt_sample(l, 4, NULL, 0, NULL, &rng, &s), -1);
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, NULL, &s), -1);
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, NULL), -1);

    l[2] = NAN;
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, &s), -1);
    assert_non_null(strstr(ptune_last_error(), "NaN"));
    for (int i = 0; i < 4; i++) probs[i] = 9.0f;
    pt_sample_distribution(l, 4, NULL, 0, &p, probs, &s);
    for (int i = 0; i < 4; i++) assert_true(probs[i] == 0.0f);
    l[2] = INFINITY;
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, &s), -1);
    assert_non_null(strstr(ptune_last_error(), "+inf"));
    for (int i = 0; i < 4; i++) l[i] = NEG_INF;
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, &s), -1);
    assert_non_null(strstr(ptune_last_error(), "-inf"));
    p.temperature = 0.0f;
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, &s), -1);

    assert_int_equal(pt_sampler_scratch_reserve(&s, 0), PTUNE_E_INVALID_ARG);
    assert_int_equal(pt_sampler_scratch_reserve(NULL, 4), PTUNE_E_INVALID_ARG);
    pt_sampler_scratch_free(&s);
    pt_sampler_scratch_free(&s); /* twice is fine */
    pt_sampler_scratch_free(NULL);
}

/* ---- the processors one by one --------------------------------------------------------- */

static void test_repetition_penalty(void **state)
{
    (void)state;
    /* Token 0 (positive) three times, token 1 (negative) twice, token 5 (zero) once, plus ids
     * outside the vocabulary. HF penalizes each distinct token once: 2 / 2 = 1, -1 * 2 = -2,
     * 0 / 2 = 0; a per-occurrence penalty would give 0.25 and -4. */
    const float in[6] = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 0.0f};
    const int32_t hist[] = {0, 1, 0, 0, 5, 1, 9, -3};
    ptune_sampling_params p = plain();
    p.repetition_penalty = 2.0f;
    float probs[6], out[6];
    dist(in, 6, hist, sizeof hist / sizeof *hist, &p, probs, out);
    const float want_logits[6] = {1.0f, -2.0f, 0.5f, 3.0f, -2.0f, 0.0f};
    for (int i = 0; i < 6; i++) assert_true(out[i] == want_logits[i]);
    /* softmax([1, -2, 0.5, 3, -2, 0]) by hand */
    const double want[6] = {0.105674, 0.005261, 0.064095, 0.780833, 0.005261, 0.038875};
    expect_probs(probs, want, 6, 2e-6);

    /* a penalty below 1 rewards: positive logits grow, negative ones shrink toward 0 */
    p.repetition_penalty = 0.5f;
    const int32_t h2[] = {0, 1, 1};
    dist(in, 6, h2, 3, &p, probs, out);
    assert_true(out[0] == 4.0f);
    assert_true(out[1] == -0.5f);
    assert_true(out[3] == 3.0f);

    /* the penalty also applies in greedy mode: token 3 (3.0) drops to 1.5 < 2.0 */
    p = plain();
    p.temperature = 0.0f;
    p.repetition_penalty = 2.0f;
    const int32_t h3[] = {3};
    dist(in, 6, h3, 1, &p, probs, NULL);
    const double onehot0[6] = {1, 0, 0, 0, 0, 0};
    expect_probs(probs, onehot0, 6, 0.0);

    /* penalty 1 and an empty history change nothing */
    p = plain();
    dist(in, 6, NULL, 0, &p, probs, out);
    for (int i = 0; i < 6; i++) assert_true(out[i] == in[i]);
}

static void test_temperature(void **state)
{
    (void)state;
    const float in[6] = {1, 2, 3, 4, 5, 6};
    ptune_sampling_params p = plain();
    p.temperature = 2.0f;
    float probs[6], out[6];
    dist(in, 6, NULL, 0, &p, probs, out);
    for (int i = 0; i < 6; i++) assert_true(out[i] == in[i] / 2.0f);
    /* softmax([0.5, 1, 1.5, 2, 2.5, 3]) */
    const double want[6] = {0.033990, 0.056040, 0.092395, 0.152334, 0.251156, 0.414085};
    expect_probs(probs, want, 6, 2e-6);

    /* a low temperature sharpens: T = 0.5 gives softmax(2 * logits) */
    p.temperature = 0.5f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    double z = 0;
    for (int i = 0; i < 6; i++) z += exp(2.0 * (in[i] - 6.0));
    for (int i = 0; i < 6; i++) ASSERT_NEAR(probs[i], exp(2.0 * (in[i] - 6.0)) / z, 1e-6);

    /* A temperature so small that the largest score leaves the float range takes the T -> 0
     * limit: the tokens tied at the maximum share the mass. */
    const float big[4] = {10, 30, 20, 30};
    p.temperature = 1e-38f;
    dist(big, 4, NULL, 0, &p, probs, NULL);
    const double half[4] = {0, 0.5, 0, 0.5};
    expect_probs(probs, half, 4, 0.0);
    /* ... and one that stays in range but underflows the others gives a one-hot */
    const float small[3] = {1, 3, 2};
    p.temperature = 1e-30f;
    dist(small, 3, NULL, 0, &p, probs, NULL);
    const double one[3] = {0, 1, 0};
    expect_probs(probs, one, 3, 0.0);
}

static void test_top_k_ties(void **state)
{
    (void)state;
    /* sorted: 3, 3, 2, 2, 1, 0.5 — the 3rd largest is 2.0, and both 2.0s are kept */
    const float in[6] = {1.0f, 3.0f, 2.0f, 3.0f, 2.0f, 0.5f};
    ptune_sampling_params p = plain();
    p.top_k = 3;
    float probs[6], out[6];
    dist(in, 6, NULL, 0, &p, probs, out);
    const double want3[6] = {0, 0.365529, 0.134471, 0.365529, 0.134471, 0};
    expect_probs(probs, want3, 6, 2e-6);
    assert_true(out[0] == NEG_INF && out[5] == NEG_INF);
    assert_true(out[1] == 3.0f && out[2] == 2.0f);

    p.top_k = 4; /* the 4th largest is also 2.0: the same set */
    dist(in, 6, NULL, 0, &p, probs, NULL);
    expect_probs(probs, want3, 6, 2e-6);

    p.top_k = 1; /* tie at the maximum: both 3.0s */
    dist(in, 6, NULL, 0, &p, probs, NULL);
    const double want1[6] = {0, 0.5, 0, 0.5, 0, 0};
    expect_probs(probs, want1, 6, 1e-7);

    p.top_k = 5; /* threshold 1.0: only 0.5 goes */
    dist(in, 6, NULL, 0, &p, probs, NULL);
    double z = 2 * exp(3.0) + 2 * exp(2.0) + exp(1.0);
    const double want5[6] = {exp(1.0) / z, exp(3.0) / z, exp(2.0) / z, exp(3.0) / z, exp(2.0) / z, 0};
    expect_probs(probs, want5, 6, 1e-6);

    p.top_k = 6; /* k >= vocabulary: off (HF clamps k to the vocabulary size) */
    dist(in, 6, NULL, 0, &p, probs, out);
    for (int i = 0; i < 6; i++) assert_true(probs[i] > 0.0f && out[i] == in[i]);
    p.top_k = 1000;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    for (int i = 0; i < 6; i++) assert_true(probs[i] > 0.0f);

    /* already -inf tokens (fewer finite ones than k) stay filtered */
    const float some[6] = {NEG_INF, 1.0f, NEG_INF, NEG_INF, 0.0f, NEG_INF};
    p.top_k = 3;
    dist(some, 6, NULL, 0, &p, probs, NULL);
    const double w2[6] = {0, 1 / (1 + exp(-1.0)), 0, 0, exp(-1.0) / (1 + exp(-1.0)), 0};
    expect_probs(probs, w2, 6, 1e-6);
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* The selection on larger vocabularies (random, many duplicates, sorted, reversed, constant,
 * periodic), through both the filtering path (small k) and the full quickselect, against a
 * full sort. */
static void test_top_k_matches_sort(void **state)
{
    (void)state;
    enum { V = 5000 }; /* above the filtering buffer of small k, so it refreshes and grows */
    float *in = malloc(V * sizeof *in), *l = malloc(V * sizeof *l), *sorted = malloc(V * sizeof *sorted),
          *probs = malloc(V * sizeof *probs);
    assert_non_null(in);
    assert_non_null(l);
    assert_non_null(sorted);
    assert_non_null(probs);
    pt_rng rng;
    pt_rng_seed(&rng, 42);
    pt_sampler_scratch s = {0};
    const int32_t ks[] = {1, 2, 3, 7, 50, 300, 313, 2500, 4998, 4999};
    for (int pattern = 0; pattern < 7; pattern++) {
        for (int i = 0; i < V; i++) {
            switch (pattern) {
            case 0: in[i] = (float)pt_rng_normal(&rng) * 3.0f; break;
            case 1: in[i] = (float)pt_rng_below(&rng, 7); break; /* heavy duplicates */
            case 2: in[i] = (float)i * 0.01f; break;
            case 3: in[i] = (float)(V - i) * 0.01f; break;
            case 4: in[i] = 1.5f; break;
            case 5: in[i] = (float)((i * 7919) % 13) - 6.0f; break;
            default: in[i] = i < 1024 ? 5.0f : (float)(i % 5) - 1.0f; break; /* early ties only */
            }
        }
        for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
            ptune_sampling_params p = plain();
            p.top_k = ks[t];
            memcpy(sorted, in, V * sizeof *in);
            qsort(sorted, V, sizeof *sorted, cmp_desc);
            float thr = sorted[ks[t] - 1];
            memcpy(l, in, V * sizeof *in);
            pt_sample_distribution(l, V, NULL, 0, &p, probs, &s);
            for (int i = 0; i < V; i++) {
                bool kept = in[i] >= thr;
                if (kept != (probs[i] > 0.0f))
                    fail_msg("pattern %d k %d token %d: kept %d, probability %g", pattern, ks[t], i, kept,
                             (double)probs[i]);
            }
        }
    }
    pt_sampler_scratch_free(&s);
    free(in);
    free(l);
    free(sorted);
    free(probs);
}

static void test_top_p(void **state)
{
    (void)state;
    /* Probabilities 0.35, 0.25, 0.2, 0.1, 0.06, 0.04 placed in a shuffled order. */
    const double pr[6] = {0.1, 0.35, 0.04, 0.25, 0.06, 0.2};
    float in[6];
    for (int i = 0; i < 6; i++) in[i] = (float)log(pr[i]);
    ptune_sampling_params p = plain();
    float probs[6], out[6];

    /* top_p 0.55: 0.35 + 0.25 = 0.60 is the smallest set reaching it */
    p.top_p = 0.55f;
    dist(in, 6, NULL, 0, &p, probs, out);
    const double w055[6] = {0, 0.35 / 0.6, 0, 0.25 / 0.6, 0, 0};
    expect_probs(probs, w055, 6, 1e-6);
    assert_true(out[0] == NEG_INF && out[1] == in[1]);

    /* 0.61 needs the 0.2 too (mass 0.8) */
    p.top_p = 0.61f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    const double w061[6] = {0, 0.35 / 0.8, 0, 0.25 / 0.8, 0, 0.2 / 0.8};
    expect_probs(probs, w061, 6, 1e-6);

    /* 0.3: the top token alone (0.35 >= 0.3) */
    p.top_p = 0.3f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    const double w03[6] = {0, 1, 0, 0, 0, 0};
    expect_probs(probs, w03, 6, 0.0);

    /* tiny top_p still keeps one token (min_tokens_to_keep = 1) */
    p.top_p = 1e-6f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    expect_probs(probs, w03, 6, 0.0);

    /* 0.97 keeps everything (the 0.04 tail exceeds 1 - 0.97); 0.95 drops just that tail */
    p.top_p = 0.97f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    for (int i = 0; i < 6; i++) ASSERT_NEAR(probs[i], pr[i], 1e-6);
    p.top_p = 0.95f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    for (int i = 0; i < 6; i++) ASSERT_NEAR(probs[i], i == 2 ? 0.0 : pr[i] / 0.96, 1e-6);
}

static void test_top_p_exact_boundary(void **state)
{
    (void)state;
    /* Four equal logits: probabilities exactly 0.25, cumulative sums 0.25, 0.5, 0.75, 1 are
     * exact. With top_p = 0.5 the two dropped tokens have cumulative mass 0.5 <= 1 - 0.5:
     * exactly half the mass is kept, and no third token. The tied group is cut toward the lower
     * ids (HF's torch.sort leaves the order of ties unspecified). */
    const float in[4] = {1, 1, 1, 1};
    ptune_sampling_params p = plain();
    float probs[4];
    p.top_p = 0.5f;
    dist(in, 4, NULL, 0, &p, probs, NULL);
    const double w[4] = {0.5, 0.5, 0, 0};
    expect_probs(probs, w, 4, 0.0);

    /* one ulp above 0.5 needs a third token */
    p.top_p = nextafterf(0.5f, 1.0f);
    dist(in, 4, NULL, 0, &p, probs, NULL);
    const double w3[4] = {1.0 / 3, 1.0 / 3, 1.0 / 3, 0};
    expect_probs(probs, w3, 4, 1e-7);

    /* 0.75 exactly: three tokens; 0.25 exactly: one */
    p.top_p = 0.75f;
    dist(in, 4, NULL, 0, &p, probs, NULL);
    expect_probs(probs, w3, 4, 1e-7);
    p.top_p = 0.25f;
    dist(in, 4, NULL, 0, &p, probs, NULL);
    const double w1[4] = {1, 0, 0, 0};
    expect_probs(probs, w1, 4, 0.0);

    /* Eight equal logits next to -inf ones (filtered tokens carry no mass): 0.125 each, and
     * top_p 0.75 keeps exactly six. */
    const float in8[10] = {0, 0, NEG_INF, 0, 0, 0, 0, NEG_INF, 0, 0};
    float probs8[10];
    p.top_p = 0.75f;
    dist(in8, 10, NULL, 0, &p, probs8, NULL);
    const double w8[10] = {1.0 / 6, 1.0 / 6, 0, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 0, 0, 0};
    expect_probs(probs8, w8, 10, 1e-7);
}

/* Larger random vocabularies: top-p keeps the smallest best-first prefix whose mass reaches
 * top_p (checked by summing from the top instead of HF's ascending cumulative sum). */
static void test_top_p_matches_reference(void **state)
{
    (void)state;
    enum { V = 500 };
    float in[V], l[V], probs[V];
    pt_rng rng;
    pt_rng_seed(&rng, 3);
    pt_sampler_scratch s = {0};
    const float tps[] = {0.1f, 0.5f, 0.8f, 0.9f, 0.95f, 0.99f};
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < V; i++) in[i] = (float)pt_rng_normal(&rng) * (1.0f + (float)round * 0.2f);
        /* reference: best-first order by value (distinct with probability 1) */
        int32_t order[V];
        for (int i = 0; i < V; i++) order[i] = i;
        for (int i = 1; i < V; i++) { /* insertion sort, descending */
            int32_t t = order[i];
            int j = i - 1;
            while (j >= 0 && in[order[j]] < in[t]) {
                order[j + 1] = order[j];
                j--;
            }
            order[j + 1] = t;
        }
        double z = 0;
        for (int i = 0; i < V; i++) z += exp((double)in[i] - in[order[0]]);
        for (size_t t = 0; t < sizeof tps / sizeof *tps; t++) {
            double mass = 0;
            int keep = 0;
            while (keep < V && mass < tps[t] - 1e-9) mass += exp((double)in[order[keep++]] - in[order[0]]) / z;
            ptune_sampling_params p = plain();
            p.top_p = tps[t];
            memcpy(l, in, sizeof in);
            pt_sample_distribution(l, V, NULL, 0, &p, probs, &s);
            for (int r = 0; r < V; r++) {
                bool kept = r < keep;
                if (kept != (probs[order[r]] > 0.0f))
                    fail_msg("round %d top_p %g rank %d: expected kept=%d (keep %d)", round, (double)tps[t], r, kept,
                             keep);
                if (kept) ASSERT_NEAR(probs[order[r]], exp((double)in[order[r]] - in[order[0]]) / z / mass, 1e-6);
            }
        }
    }
    pt_sampler_scratch_free(&s);
}

static void test_min_p(void **state)
{
    (void)state;
    /* probabilities 0.5, 0.2, 0.1, 0.1, 0.06, 0.04 (shuffled) */
    const double pr[6] = {0.1, 0.06, 0.5, 0.04, 0.2, 0.1};
    float in[6];
    for (int i = 0; i < 6; i++) in[i] = (float)log(pr[i]);
    ptune_sampling_params p = plain();
    float probs[6], out[6];

    /* min_p 0.25: threshold 0.25 * 0.5 = 0.125 keeps 0.5 and 0.2 */
    p.min_p = 0.25f;
    dist(in, 6, NULL, 0, &p, probs, out);
    const double w25[6] = {0, 0, 0.5 / 0.7, 0, 0.2 / 0.7, 0};
    expect_probs(probs, w25, 6, 1e-6);
    assert_true(out[0] == NEG_INF && out[2] == in[2]);

    /* min_p 0.15: threshold 0.075 keeps 0.5, 0.2, 0.1, 0.1 */
    p.min_p = 0.15f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    const double w15[6] = {0.1 / 0.9, 0, 0.5 / 0.9, 0, 0.2 / 0.9, 0.1 / 0.9};
    expect_probs(probs, w15, 6, 1e-6);

    /* min_p 0.1: threshold 0.05 drops only 0.04 */
    p.min_p = 0.1f;
    dist(in, 6, NULL, 0, &p, probs, NULL);
    for (int i = 0; i < 6; i++) ASSERT_NEAR(probs[i], i == 3 ? 0.0 : pr[i] / 0.96, 1e-6);

    /* min_p close to 1 keeps the top token, and any token tied with it (prob == threshold
     * is not "<") */
    const float tie[4] = {2, 1, 2, 0};
    p.min_p = 0.999f;
    dist(tie, 4, NULL, 0, &p, probs, NULL);
    const double wt[4] = {0.5, 0, 0.5, 0};
    expect_probs(probs, wt, 4, 0.0);
}

static void test_chain_order(void **state)
{
    (void)state;
    /* By hand, HF's order:
     *   logits               [ 2,  1,  0, -1, 3.2, 0.5]   history {4, 3}
     *   penalty 2            [ 2,  1,  0, -2, 1.6, 0.5]   (3.2 / 2, -1 * 2)
     *   temperature 0.5      [ 4,  2,  0, -4, 3.2, 1  ]
     *   top-k 4 (>= 1)       [ 4,  2, -,  -,  3.2, 1  ]   probs .61183 .08280 .27491 .03046
     *   top-p 0.95           drops id 5 (ascending cumsum .03046 <= .05; next .11326 > .05)
     *   min-p 0.2            probs .63105 .08540 .28355: threshold .12621 drops id 1
     *   result               ids 0, 4: 1 / (1 + e^-0.8) = 0.689974, 0.310026 */
    const float in[6] = {2.0f, 1.0f, 0.0f, -1.0f, 3.2f, 0.5f};
    const int32_t hist[] = {4, 3, 4};
    ptune_sampling_params p;
    ptune_sampling_params_init(&p);
    p.repetition_penalty = 2.0f;
    p.temperature = 0.5f;
    p.top_k = 4;
    p.top_p = 0.95f;
    p.min_p = 0.2f;
    float probs[6], out[6];
    dist(in, 6, hist, 3, &p, probs, out);
    const double want[6] = {0.689974, 0, 0, 0, 0.310026, 0};
    expect_probs(probs, want, 6, 2e-6);
    assert_true(out[0] == 4.0f);
    assert_true(out[4] == 1.6f / 0.5f);
    for (int i = 1; i < 4; i++) assert_true(out[i] == NEG_INF);
    assert_true(out[5] == NEG_INF);

    /* each stage alone on the same input, to show every one of them matters in the chain */
    p.min_p = 0.0f; /* id 1 survives: .63105 .08540 .28355 */
    dist(in, 6, hist, 3, &p, probs, NULL);
    const double no_minp[6] = {0.631049, 0.085403, 0, 0, 0.283548, 0};
    expect_probs(probs, no_minp, 6, 2e-6);
    p.top_p = 1.0f; /* id 5 survives */
    dist(in, 6, hist, 3, &p, probs, NULL);
    const double no_topp[6] = {0.611826, 0.082802, 0, 0, 0.274911, 0.030461};
    expect_probs(probs, no_topp, 6, 2e-6);
}

static void test_greedy(void **state)
{
    (void)state;
    const float in[6] = {1, 5, 3, 5, 5, 0};
    ptune_sampling_params p;
    ptune_sampling_params_init(&p);
    p.temperature = 0.0f;
    p.top_k = 1; /* warpers do not affect greedy */
    pt_rng rng, before;
    pt_rng_seed(&rng, 11);
    before = rng;
    pt_sampler_scratch s = {0};
    float l[6];
    memcpy(l, in, sizeof l);
    assert_int_equal(pt_sample(l, 6, NULL, 0, &p, &rng, &s), 1); /* lowest id among the tied 5s */
    assert_true(rng_equal(&rng, &before));             /* no draw consumed */
    memcpy(l, in, sizeof l);
    const int32_t hist[] = {1};
    p.repetition_penalty = 2.0f;
    assert_int_equal(pt_sample(l, 6, hist, 1, &p, &rng, &s), 3); /* 5 / 2 < 5 */
    const float neg[4] = {NEG_INF, -3.0f, -1.0f, -1.0f};
    memcpy(l, neg, sizeof neg);
    p.repetition_penalty = 1.0f;
    assert_int_equal(pt_sample(l, 4, NULL, 0, &p, &rng, &s), 2);
    float probs[6];
    dist(in, 6, NULL, 0, &p, probs, NULL);
    const double w[6] = {0, 1, 0, 0, 0, 0};
    expect_probs(probs, w, 6, 0.0);
    pt_sampler_scratch_free(&s);
}

/* ---- drawing --------------------------------------------------------------------------- */

static const float k_draw_logits[6] = {1.0f, 0.2f, -0.5f, 1.5f, 0.0f, -2.0f};

static ptune_sampling_params draw_params(void)
{
    ptune_sampling_params p;
    ptune_sampling_params_init(&p);
    p.temperature = 0.8f;
    p.top_k = 5;
    p.top_p = 0.95f;
    return p;
}

static void draw_many(uint64_t seed, int n, int32_t *out, pt_sampler_scratch *s)
{
    ptune_sampling_params p = draw_params();
    pt_rng rng;
    pt_rng_seed(&rng, seed);
    float l[6];
    for (int i = 0; i < n; i++) {
        memcpy(l, k_draw_logits, sizeof l);
        out[i] = pt_sample(l, 6, NULL, 0, &p, &rng, s);
        assert_true(out[i] >= 0 && out[i] < 6);
    }
}

static void test_reproducible_for_a_seed(void **state)
{
    (void)state;
    enum { N = 2000 };
    int32_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b), *c = malloc(N * sizeof *c);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    pt_sampler_scratch s1 = {0}, s2 = {0};
    draw_many(1234, N, a, &s1);
    draw_many(1234, N, b, &s2); /* fresh scratch, same seed */
    draw_many(1234, N, c, &s1); /* reused scratch */
    assert_memory_equal(a, b, N * sizeof *a);
    assert_memory_equal(a, c, N * sizeof *a);
    /* exactly one uniform draw per sampled token, also when a single candidate is left, so a
     * sequence's later draws do not depend on how peaked earlier distributions were */
    ptune_sampling_params p1 = draw_params();
    p1.top_k = 1;
    pt_rng r1, r2;
    pt_rng_seed(&r1, 9);
    pt_rng_seed(&r2, 9);
    float l[6];
    memcpy(l, k_draw_logits, sizeof l);
    assert_int_equal(pt_sample(l, 6, NULL, 0, &p1, &r1, &s1), 3);
    (void)pt_rng_uniform(&r2);
    assert_true(rng_equal(&r1, &r2));

    draw_many(1235, N, b, &s2);
    int differ = 0;
    for (int i = 0; i < N; i++) differ += a[i] != b[i];
    assert_true(differ > N / 4);
    pt_sampler_scratch_free(&s1);
    pt_sampler_scratch_free(&s2);
    free(a);
    free(b);
    free(c);
}

static void test_frequencies_match_distribution(void **state)
{
    (void)state;
    enum { N = 200000 };
    ptune_sampling_params p = draw_params();
    float probs[6];
    dist(k_draw_logits, 6, NULL, 0, &p, probs, NULL);
    /* by hand: T 0.8, top-k 5 drops -2.0, top-p 0.95 drops -0.5 (cumulative 0.0417 <= 0.05) */
    const double want[6] = {0.283879, 0.104433, 0, 0.530355, 0.081333, 0};
    expect_probs(probs, want, 6, 2e-6);

    pt_rng rng;
    pt_rng_seed(&rng, 2024);
    pt_sampler_scratch s = {0};
    long counts[6] = {0};
    float l[6];
    for (int i = 0; i < N; i++) {
        memcpy(l, k_draw_logits, sizeof l);
        int32_t t = pt_sample(l, 6, NULL, 0, &p, &rng, &s);
        assert_true(t >= 0 && t < 6);
        counts[t]++;
    }
    pt_sampler_scratch_free(&s);
    for (int i = 0; i < 6; i++) {
        double mean = N * (double)probs[i];
        double sigma = sqrt(N * (double)probs[i] * (1.0 - (double)probs[i]));
        if (probs[i] == 0.0f) assert_int_equal(counts[i], 0);
        else if (fabs((double)counts[i] - mean) > 3.0 * sigma)
            fail_msg("token %d drawn %ld times, expected %.1f +- %.1f (3 sigma)", i, counts[i], mean, 3 * sigma);
    }
}

/* The scratch grows on demand and is reused across vocabulary sizes. */
static void test_scratch_reuse(void **state)
{
    (void)state;
    pt_sampler_scratch s = {0};
    assert_int_equal(pt_sampler_scratch_reserve(&s, 8), PTUNE_OK);
    assert_int_equal(s.cap, 8);
    assert_int_equal(pt_sampler_scratch_reserve(&s, 4), PTUNE_OK);
    assert_int_equal(s.cap, 8);
    ptune_sampling_params p = plain();
    p.top_k = 2;
    pt_rng rng;
    pt_rng_seed(&rng, 5);
    float big[20];
    for (int i = 0; i < 20; i++) big[i] = (float)(i % 5);
    big[17] = 9.0f;
    p.temperature = 0.0f;
    assert_int_equal(pt_sample(big, 20, NULL, 0, &p, &rng, &s), 17);
    assert_true(s.cap >= 20);
    float small[3] = {0, 0, 1};
    assert_int_equal(pt_sample(small, 3, NULL, 0, &p, &rng, &s), 2);
    pt_sampler_scratch_free(&s);
    assert_null(s.idx);
    assert_null(s.prob);
    assert_int_equal(s.cap, 0);
}

/* ---- stop strings ---------------------------------------------------------------------- */

static void test_stop_strings(void **state)
{
    (void)state;
    size_t cut = 999;
    const char *const world[] = {"world"};
    /* the text grows piece by piece ("Hello wor" then "ld"): the match spans both pieces */
    assert_false(pt_stop_strings_match("Hello wor", 9, world, 1, &cut));
    assert_int_equal(cut, 999); /* untouched without a match */
    assert_true(pt_stop_strings_match("Hello world", 11, world, 1, &cut));
    assert_int_equal(cut, 6);
    assert_true(pt_stop_strings_match("Hello world!!", 13, world, 1, &cut));
    assert_int_equal(cut, 6);

    /* earliest match over all stop strings, whatever their order */
    const char *const several[] = {"world", "xyz", "o w", "lo"};
    assert_true(pt_stop_strings_match("Hello world", 11, several, 4, &cut));
    assert_int_equal(cut, 3); /* "lo" at 3 beats "o w" at 4 and "world" at 6 */
    const char *const rev[] = {"lo", "o w", "world"};
    assert_true(pt_stop_strings_match("Hello world", 11, rev, 3, &cut));
    assert_int_equal(cut, 3);
    /* first occurrence of one string; overlapping prefixes */
    const char *const aab[] = {"aab"};
    assert_true(pt_stop_strings_match("aaab aab", 8, aab, 1, &cut));
    assert_int_equal(cut, 1);
    /* at the very start and the very end */
    const char *const he[] = {"He"};
    assert_true(pt_stop_strings_match("Hello", 5, he, 1, &cut));
    assert_int_equal(cut, 0);
    const char *const lo[] = {"llo"};
    assert_true(pt_stop_strings_match("Hello", 5, lo, 1, &cut));
    assert_int_equal(cut, 2);

    /* no match: absent, longer than the text, beyond len, empty or NULL entries */
    cut = 999;
    const char *const none[] = {"xyz", "Hello world and more", "", NULL};
    assert_false(pt_stop_strings_match("Hello world", 11, none, 4, &cut));
    const char *const tail[] = {"world"};
    assert_false(pt_stop_strings_match("Hello world", 10, tail, 1, &cut)); /* only "Hello worl" */
    assert_false(pt_stop_strings_match("", 0, tail, 1, &cut));
    assert_false(pt_stop_strings_match("Hello", 5, NULL, 1, &cut));
    assert_false(pt_stop_strings_match("Hello", 5, tail, 0, &cut));
    assert_false(pt_stop_strings_match(NULL, 5, tail, 1, &cut));
    assert_int_equal(cut, 999);

    /* multi-byte UTF-8 and text holding a NUL byte (len is authoritative); cut may be NULL */
    const char text[] = "a\0b\xc3\xa9t\xc3\xa9";
    const char *const ete[] = {"\xc3\xa9t"};
    assert_true(pt_stop_strings_match(text, sizeof text - 1, ete, 1, &cut));
    assert_int_equal(cut, 3);
    assert_true(pt_stop_strings_match(text, sizeof text - 1, ete, 1, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_init_defaults),
        cmocka_unit_test(test_validation),
        cmocka_unit_test(test_bad_arguments_and_numbers),
        cmocka_unit_test(test_repetition_penalty),
        cmocka_unit_test(test_temperature),
        cmocka_unit_test(test_top_k_ties),
        cmocka_unit_test(test_top_k_matches_sort),
        cmocka_unit_test(test_top_p),
        cmocka_unit_test(test_top_p_exact_boundary),
        cmocka_unit_test(test_top_p_matches_reference),
        cmocka_unit_test(test_min_p),
        cmocka_unit_test(test_chain_order),
        cmocka_unit_test(test_greedy),
        cmocka_unit_test(test_reproducible_for_a_seed),
        cmocka_unit_test(test_frequencies_match_distribution),
        cmocka_unit_test(test_scratch_reuse),
        cmocka_unit_test(test_stop_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
