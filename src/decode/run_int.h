/* run_int.h - PRIVATE to src/decode/ (nothing outside the folder
 * includes it): one generation run's state and what the token-by-token
 * sampler (sample.c) and beam search (beam.c) share of it: the run's
 * decoder, buffers, history, prime, stop-string matching and token
 * delivery (run.c).  A run owns its buffers from smp_start to smp_finish. */
#ifndef DECODE_RUN_INT_H
#define DECODE_RUN_INT_H
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "text/tok.h"
#include "decode/decoder.h"
#include "decode/pick.h"
#include "decode/request.h"

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
    uint32_t prime_last;     /* the prime's last token; TOK_NO_ID: none */
    uint32_t prev;           /* the token delivered last (prime_last at first):
                              * a token's text depends on it (tok_piece) */
} smp_run;

/* Sets r up for W streams (W = 0: token-by-token sampling, one stream)
 * and runs the prime (req->prime, or the settings') through stream 0,
 * leaving the next-token logits in r->logits.  An empty (or wholly
 * unknown) prime starts from a token drawn uniformly, delivered as the
 * first generated one.  res (may be NULL) is cleared.  Returns 0, ready to
 * generate; 1 when the callback stopped it at that first token (r->stop
 * says so); or -1 with err set (out of memory, weights the backend cannot
 * hold).  smp_finish must follow whatever the return. */
int smp_start(smp_run *r, model *m, const tok_vocab *v, const sample_request *req, int W,
              sample_result *res, char *err, size_t errlen);

/* Hands r's statistics and stop reason to res (may be NULL) and frees
 * r's buffers. */
void smp_finish(smp_run *r, sample_result *res);

/* Appends to the history (the sampler's penalty window); returns 0, or -1
 * when out of memory. */
int smp_hist_push(smp_run *r, uint32_t id);

/* Appends the text of token id after token prev to t; returns 1 when the
 * text now contains the stop string ending inside that text. */
int smp_tail_push(const smp_run *r, smp_tail *t, uint32_t prev, uint32_t id);

/* Whether the request's cancel flag is set. */
int smp_cancelled(const smp_run *r);

/* Delivers a token, its text that of a token after r->prev (which it
 * becomes); returns nonzero when the callback asks to stop.
 * row (may be NULL) is the logit row the token was chosen from, for the
 * model probability and the alternatives; without it *info is used as
 * given (beam search keeps them itself). */
int smp_deliver(smp_run *r, sample_token *info, uint32_t id, const float *row);

#endif
