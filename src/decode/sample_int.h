/* sample_int.h - what the token-by-token sampler (sample.c) and beam
 * search (beam.c) share: one run's decoder, buffers, history, stop-string
 * matching and token delivery.  Internal to the sampling module. */
#ifndef SAMPLE_INT_H
#define SAMPLE_INT_H
#include "decode/decoder.h"
#include "decode/sample.h"

/* Whether generated text ends a stop string: the last bytes generated. */
typedef struct smp_tail {
    char buf[128];
    size_t n;
} smp_tail;

typedef struct smp_run {
    model *m;
    const tok_vocab *v;
    const sample_request *req;
    const sample_config *cfg;
    int V;
    int W;                   /* beam width; 0 for token-by-token sampling */
    decoder dec;
    sample_picker pk;
    float *logits;           /* host [B, V]: next-token logits per stream */
    uint32_t *hist;          /* prime ids, then generated ids (sampler) */
    size_t n_prime, n_hist, cap_hist;
    size_t want;             /* tokens to generate */
    sample_stats stats;
    sample_stop stop;
    const char *stop_str;    /* NULL: none */
    size_t stop_len;
} smp_run;

/* Appends a token's bytes to t; returns 1 when the text now contains the
 * stop string ending inside those bytes. */
int smp_tail_push(const smp_run *r, smp_tail *t, uint32_t id);

/* Whether the request's cancel flag is set. */
int smp_cancelled(const smp_run *r);

/* Delivers a token; returns nonzero when the callback asks to stop.
 * row (may be NULL) is the logit row the token was chosen from, for the
 * model probability and the alternatives; without it *info is used as
 * given (beam search keeps them itself). */
int smp_deliver(smp_run *r, sample_token *info, uint32_t id, const float *row);

/* Beam search over r's primed state (beam.c).  Returns 0, or -1 with err
 * set (out of memory). */
int smp_beam(smp_run *r, sample_result *res, char *err, size_t errlen);

#endif
