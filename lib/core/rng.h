/* Seedable pseudo-random numbers (xoshiro256** seeded through splitmix64): uniform and
 * normal draws, reproducible across platforms for a given seed. */
#ifndef PT_CORE_RNG_H
#define PT_CORE_RNG_H

#include <stdint.h>

typedef struct pt_rng {
    uint64_t s[4];
    int has_spare;      /* Box–Muller produces pairs */
    double spare;
} pt_rng;

void pt_rng_seed(pt_rng *r, uint64_t seed);
uint64_t pt_rng_next(pt_rng *r);
/* Uniform in [0, 1) with 53 random bits. */
double pt_rng_uniform(pt_rng *r);
/* Uniform integer in [0, n) without modulo bias; n > 0. */
uint64_t pt_rng_below(pt_rng *r, uint64_t n);
/* Standard normal N(0, 1). */
double pt_rng_normal(pt_rng *r);

#endif
