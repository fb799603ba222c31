/* pick.h - choosing one token from one row of logits: repetition penalty,
 * temperature, top-k, top-p and the draw, plus the most likely tokens of
 * a row.  A picker owns its scratch buffers; nothing else is kept. */
#ifndef DECODE_PICK_H
#define DECODE_PICK_H
#include <stddef.h>
#include <stdint.h>
#include "decode/config.h"

typedef struct sample_pair { float p; uint32_t id; } sample_pair;

typedef struct sample_picker {
    int V;
    float *prob;             /* [V] kept tokens' probabilities */
    uint32_t *ids;           /* [V] kept tokens */
    float *z;                /* [V] scratch */
    uint8_t *seen;           /* [V] repetition marks */
    sample_pair *pairs;      /* [V] scratch for sorting */
} sample_picker;

/* Returns 0, or -1 when out of memory. */
int sample_picker_init(sample_picker *pk, int V);
void sample_picker_free(sample_picker *pk);

/* Applies, in order, the repetition penalty over recent[0..n_recent) (a
 * logit z of a token seen there becomes z / penalty when positive, z *
 * penalty otherwise), the temperature, top-k and top-p, then normalises.
 * Greedy (cfg->greedy, or temperature <= 0) keeps only the arg-max, the
 * lowest id on ties.  On return pk->ids[0..n) are the kept tokens and
 * pk->prob[0..n) their probabilities, summing to 1: most likely first when
 * top-k or top-p cut, else in id order.  top-p keeps the smallest set of
 * most likely tokens whose probabilities reach top_p.  Returns n >= 1. */
int sample_filter(sample_picker *pk, const float *logits, const sample_config *cfg,
                  const uint32_t *recent, size_t n_recent);

/* The logits after the repetition penalty alone (into pk->z, returned). */
const float *sample_penalised(sample_picker *pk, const float *logits,
                              const sample_config *cfg, const uint32_t *recent,
                              size_t n_recent);

/* sample_filter, then the inverse-CDF draw with u in [0,1) over the kept
 * list in its order.  *prob (may be NULL) gets the chosen token's
 * probability in that list. */
uint32_t sample_pick(sample_picker *pk, const float *logits, const sample_config *cfg,
                     const uint32_t *recent, size_t n_recent, double u, float *prob);

/* The k most likely tokens of softmax(logits) (k is cut to
 * SAMPLE_MAX_ALTS and V; most likely first, lowest id on ties; NaN logits
 * never count) into ids/prob, and log(sum(exp(logits))) into *lse so any
 * logit can be turned into a probability.  Returns how many were found. */
int sample_top(const float *logits, int V, int k, uint32_t *ids, float *prob,
               double *lse);

#endif
