/* request.h - what one generation is asked and what it gives back: the
 * request (settings, prime, random state, token callback, cancel flag),
 * each token as it is produced, the statistics, why it stopped and the
 * beam-search hypotheses.  A result owns its beams until
 * sample_result_free. */
#ifndef DECODE_REQUEST_H
#define DECODE_REQUEST_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "util/rng.h"
#include "decode/config.h"

typedef struct sample_stats {
    size_t prime_tokens;     /* prime tokens fed to the model */
    size_t prime_unknown;    /* prime pieces skipped: not in the vocabulary */
    char first_unknown[8];   /* the first such piece */
    size_t generated;
} sample_stats;

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

/* Frees r's beams (r itself is the caller's); r is empty afterwards. */
void sample_result_free(sample_result *r);

#endif
