/* rng.h - deterministic random numbers (xoshiro256**) and a counter-based
 * hash for dropout masks, so a mask depends only on (seed, index) and any
 * backend can reproduce it without sharing generator state. */
#ifndef RNG_H
#define RNG_H
#include <stdint.h>

typedef struct rng_state { uint64_t s[4]; } rng_state;

void rng_seed(rng_state *r, uint64_t seed);
uint64_t rng_next(rng_state *r);
/* Uniform float in [0,1). */
float rng_uniform(rng_state *r);
/* Uniform double in [0,1). */
double rng_uniform_d(rng_state *r);
/* Stateless: uniform float in [0,1) from (key, counter). */
float rng_hash_uniform(uint64_t key, uint64_t counter);

#endif
