/* sample.h - generating text from a model: the prime is run through the
 * model to build the state, then tokens are drawn one at a time and handed
 * to a callback as they are produced. */
#ifndef SAMPLE_H
#define SAMPLE_H
#include <stddef.h>
#include <stdint.h>
#include "model.h"
#include "rng.h"
#include "tok.h"
#include "trainer.h"

/* Called for each generated token with its bytes and the probability the
 * model gave it; return nonzero to stop early. */
typedef int (*sample_emit_fn)(void *ctx, uint32_t id, const uint8_t *bytes,
                              size_t len, float prob);

typedef struct sample_stats {
    size_t prime_tokens;     /* prime tokens fed to the model */
    size_t prime_unknown;    /* prime pieces skipped: not in the vocabulary */
    char first_unknown[8];   /* the first such piece */
    size_t generated;
} sample_stats;

/* Generates cfg->length tokens after prime (cfg->prime when prime is NULL)
 * with the model's weights, drawing from rng.  With an empty prime the
 * first input is a token drawn uniformly from the vocabulary.
 * Returns 0, or -1 with a one-line message (out of memory). */
int sample_generate(model *m, const tok_vocab *v, const sample_config *cfg,
                    const char *prime, rng_state *rng, sample_emit_fn emit,
                    void *ctx, sample_stats *stats, char *err, size_t errlen);

#endif
