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
 * most likely tokens whose probabilities reach top_p.  Infinite logits
 * count as the largest finite floats (tokens at +infinity share the
 * probability; a row at -infinity throughout is uniform), NaN ones as
 * impossible; a row of NaN alone keeps token 0.  Returns n >= 1. */
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

/* log(sum(exp(logits))) over the logits that are numbers, with an
 * infinite logit taken as the largest finite float (so tokens at
 * +infinity share the probability and a row at -infinity throughout is
 * uniform); NaN when no logit is a number. */
double sample_lse(const float *logits, int V);
/* The probability softmax gives logit z of a row whose sample_lse is lse:
 * a number in [0,1] (0 for a NaN logit or a NaN lse; where logits are
 * near the largest floats, as infinities are taken, not exact). */
float sample_prob(float z, double lse);

/* The k most likely tokens of softmax(logits) (k is cut to
 * SAMPLE_MAX_ALTS and V; most likely first, lowest id on ties; NaN logits
 * never count) into ids/prob, and sample_lse(logits) into *lse, for
 * sample_prob of any logit.  Returns how many were found. */
int sample_top(const float *logits, int V, int k, uint32_t *ids, float *prob,
               double *lse);

#endif
