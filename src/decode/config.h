/* config.h - the settings of one sample (strategy, length, prime, stop
 * string, how generation holds the weights) and the limits of decoding.
 * A plain value, copied freely; whoever keeps the settings (a session,
 * the engine) owns it. */
#ifndef DECODE_CONFIG_H
#define DECODE_CONFIG_H

#define SAMPLE_MAX_ALTS 8    /* alternatives reported per token */
#define SAMPLE_MAX_BEAM 256  /* widest beam */

/* How often a sample is streamed while training: every `steps` steps, or
 * every `seconds` of training time; both 0: never. */
typedef struct sample_cadence {
    int steps;
    float seconds;
} sample_cadence;

typedef struct sample_config {
    float temperature;
    int top_k;               /* 0: off */
    float top_p;             /* 1: off */
    int beam;                /* 1: off */
    int length;              /* tokens per sample */
    sample_cadence every;    /* automatic samples while training */
    char prime[256];
    /* Decoding settings; session files written before them get the
     * defaults of sample_defaults(). */
    int greedy;              /* 1: arg-max (temperature, top-k, top-p unused) */
    float repetition_penalty;/* > 0; 1: off */
    int repetition_window;   /* tokens the penalty looks back on; 0: all */
    int n_best;              /* beam search: hypotheses reported (1..beam) */
    char stop[64];           /* stop once the generated text ends with it */
    int weights;             /* be_weights: how generation holds the weights */
} sample_config;

/* Sampling defaults: temperature 1, top-k off, top-p 1, beam 1, 200
 * tokens, a sample every 15 s of training, empty prime, penalty 1 over 64 tokens,
 * n_best 1, no stop string, fp32 weights.  Cannot fail. */
sample_config sample_defaults(void);

#endif
