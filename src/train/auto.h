/* auto.h - defaults that fit the run: the width of a new model chosen from
 * what the run can afford (its time, steps or epochs, and the size of the
 * training text), so that `rnnlab train --corpus F --time 300` trains the
 * model that learns most in 300 seconds rather than one fixed size. */
#ifndef TRAIN_AUTO_H
#define TRAIN_AUTO_H
#include "train/trainer.h"

/* What a run may spend; at most one of steps, epochs and seconds is set
 * (none: the run goes on until stopped). */
typedef struct train_budget {
    long steps;
    double epochs;
    double seconds;
    double corpus_tokens;    /* tokens in the training split */
    int threads;             /* CPU threads training (c->threads) */
    int gpu;                 /* trained on a GPU */
} train_budget;

/* The sizes auto-sizing chooses between: multiples of this, within. */
#define TRAIN_AUTO_STEP 32
#define TRAIN_AUTO_MIN 64
#define TRAIN_AUTO_MAX 1024

/* Training tokens the run is expected to see: steps x batch x seq-len,
 * epochs x the corpus, or for a time budget seconds x the throughput a
 * model of c's shape is expected to reach (auto.c says how that is
 * estimated); then at most TRAIN_AUTO_EPOCHS passes over the corpus,
 * beyond which more passes teach little.  0: no budget. */
#define TRAIN_AUTO_EPOCHS 10.0
double train_auto_tokens(const train_config *c, const train_budget *b);

/* The hidden width for c's other settings (cell, layers, embedding,
 * vocabulary) and budget b: the widest of the sizes above whose core
 * weights (train_auto_core_params), times TRAIN_AUTO_TOKENS_PER_PARAM,
 * fit in the tokens the run will see.  Returns 0 when b has no budget
 * (keep the default). */
#define TRAIN_AUTO_TOKENS_PER_PARAM 6.0
int train_auto_hidden(const train_config *c, const train_budget *b);

/* Adam's peak learning rate for a model sized for its run, annealed to 0
 * by cosine over the run (README "train" has the measurements). */
#define TRAIN_AUTO_ADAM_LR 5e-3f

/* The weights a token's forward pass multiplies by (the embedding lookup
 * excluded): the model's parameters less an untied embedding table. */
double train_auto_compute_params(const model_config *m);
/* The recurrent layers' weights: the model's less the embedding and the
 * decoder, the vocabulary-sized matrices (scaling laws count a model's
 * size without them: they hold what each token is, not how to combine
 * them). */
double train_auto_core_params(const model_config *m);

#endif
