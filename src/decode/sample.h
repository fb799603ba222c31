/* sample.h - generating text from a model: the prime is run through the
 * model to build the state, then tokens are chosen one at a time (greedy,
 * temperature, top-k, top-p, repetition penalty) or by beam search, and
 * handed to a callback as they are produced.
 *
 * Generation has its own recurrent state and buffers (decoder.h) and only
 * reads the weights, so it can run between the steps of a model being
 * trained (not during one: an optimizer step rewrites the weights).  The
 * settings come from a sample_config each call, so changes apply to the
 * next sample.  No global state: runs on different models may overlap. */
#ifndef SAMPLE_H
#define SAMPLE_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "util/rng.h"
#include "text/tok.h"
#include "train/trainer.h"
#include "decode/config.h"

typedef struct sample_stats {
    size_t prime_tokens;     /* prime tokens fed to the model */
    size_t prime_unknown;    /* prime pieces skipped: not in the vocabulary */
    char first_unknown[8];   /* the first such piece */
    size_t generated;
} sample_stats;

#define SAMPLE_MAX_ALTS 8    /* alternatives reported per token */
#define SAMPLE_MAX_BEAM 256  /* widest beam */

typedef enum {
    SAMPLE_STOP_LENGTH = 0,  /* cfg->length tokens */
    SAMPLE_STOP_STRING,      /* the text ended with cfg->stop */
    SAMPLE_STOP_EOS,         /* the end-of-sequence token */
    SAMPLE_STOP_CALLBACK,    /* the callback returned nonzero */
    SAMPLE_STOP_CANCEL       /* the request's cancel flag was set */
} sample_stop;

/* "length", "stop", "eos", "callback", "cancel". */
const char *sample_stop_name(sample_stop s);

/* One generated token and what the model thought of it. */
typedef struct sample_token {
    uint32_t id;
    const uint8_t *bytes;    /* the token's text (not NUL-terminated) */
    size_t len;
    size_t index;            /* 0 for the first generated token */
    float prob;              /* in the distribution it was drawn from, after
                              * penalty, temperature, top-k and top-p; 1 for
                              * greedy choices and beam search */
    float model_prob;        /* in softmax(logits): the model's confidence */
    int n_alts;              /* the most likely tokens, most likely first */
    uint32_t alt_id[SAMPLE_MAX_ALTS];
    float alt_prob[SAMPLE_MAX_ALTS];  /* model probabilities */
} sample_token;

/* Called for each token as it is produced; return nonzero to stop. */
typedef int (*sample_token_fn)(void *ctx, const sample_token *tok);

typedef struct sample_request {
    const sample_config *cfg;
    const char *prime;       /* NULL: cfg->prime */
    rng_state *rng;          /* draws (and the start token of an empty prime) */
    sample_token_fn on_token;/* may be NULL */
    void *ctx;
    atomic_int *cancel;      /* may be NULL; nonzero stops before the next token */
    int n_alts;              /* alternatives per token, 0..SAMPLE_MAX_ALTS */
    int64_t eos;             /* end-of-sequence token id; -1: none */
} sample_request;

/* One beam-search hypothesis: the tokens the search chose (with an empty
 * prime, not the drawn start token before them). */
typedef struct sample_beam {
    uint32_t *ids;           /* generated tokens */
    size_t n;
    char *text;              /* their bytes, NUL-terminated */
    size_t text_len;
    double logprob;          /* sum of the model's log-probabilities */
    double score;            /* logprob / n: what hypotheses are ranked by */
    int finished;            /* ended by the stop string or end token */
} sample_beam;

typedef struct sample_result {
    sample_stats stats;
    sample_stop stop;
    sample_beam *beams;      /* beam search: the cfg->n_best best, best first */
    int n_beams;
} sample_result;

/* A request with no callback, no cancel flag, no alternatives, no end
 * token. */
void sample_request_init(sample_request *r, const sample_config *cfg, rng_state *rng);

/* Runs a request: beam search when cfg->beam > 1, otherwise token by token.
 * Beam search ignores temperature, top-k and top-p (it is deterministic)
 * but applies the repetition penalty to the scores.
 * res may be NULL; when given it must be freed with sample_result_free.
 * Returns 0 (also when stopped early: see res->stop), or -1 with a
 * one-line message (out of memory). */
int sample_decode(model *m, const tok_vocab *v, const sample_request *req,
               sample_result *res, char *err, size_t errlen);
void sample_result_free(sample_result *r);

/* Scores n tokens (n >= 2) the way generation sees them: one stream fed
 * ids[0..n-2] one at a time from a zero state, through a decoder holding
 * the weights as w, each next token's cross-entropy and whether it was the
 * arg-max.  With fp32 it agrees with trainer_eval on one stream up to
 * summation order; with fp16/int8 it measures what they cost.  Returns 0,
 * or -1 with a one-line message (too few tokens, out of memory, weights
 * the backend cannot hold). */
int sample_eval(model *m, const uint32_t *ids, size_t n, be_weights w, eval_result *out,
                char *err, size_t errlen);

/* Beam search with width cfg->beam (1 included: then it equals greedy
 * decoding), whatever the other settings.  Same returns as sample_decode;
 * a width outside 1..SAMPLE_MAX_BEAM is an error. */
int sample_beam_search(model *m, const tok_vocab *v, const sample_request *req,
                       sample_result *res, char *err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Choosing one token from one row of logits (sample_pick.c) */

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
