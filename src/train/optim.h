/* optim.h - optimizers over a model's flat parameter and gradient buffers. */
#ifndef OPTIM_H
#define OPTIM_H
#include <stddef.h>
#include "backend/backend.h"

/* NTASGD: awd-lstm-lm's non-monotonically triggered ASGD (Merity et al.
 * 2017): SGD until a validation loss is above the best of those before
 * the last nonmono validations; from then on the weights the model shows
 * (evaluation, sampling, saving) are the average of the SGD iterates of
 * every step since, as PyTorch's ASGD with t0 = 0, lambd = 0 keeps in
 * its "ax".  The trainer swaps the iterate in for each step. */
typedef enum { OPT_SGD = 0, OPT_ADAM, OPT_ADAMW, OPT_NADAM, OPT_RMSPROP, OPT_NTASGD,
               OPT_LAST = OPT_NTASGD } optim_kind;

#define OPTIM_MAX_NONMONO 1000

typedef struct optim_config {
    optim_kind kind;
    float lr, momentum, beta1, beta2, eps, weight_decay, alpha;
    int nesterov;
    int nonmono;            /* NTASGD: validations of patience (1..) */
} optim_config;

typedef struct optim {
    optim_config cfg;
    be_backend *be;
    size_t n;
    float *m, *v, *buf;     /* moments (device); NULL where unused */
    long t;                 /* steps taken */
    /* NTASGD: iter holds the SGD iterate while the model shows the
     * average (after the switch; before it, unused); averaging says it
     * switched, avg_n counts the steps averaged; recent the last validation
     * losses (oldest first), best_before the least of the earlier ones
     * (INFINITY while there are none) */
    float *iter;
    int averaging;
    long avg_n;
    double recent[OPTIM_MAX_NONMONO];
    int n_recent;
    double best_before;
} optim;

const char *optim_name(optim_kind k);
int optim_parse(const char *s);           /* -1 when unknown */
/* Defaults as PyTorch for kind (lr from PyTorch too, except SGD: 0.1). */
optim_config optim_defaults(optim_kind k);

/* How many buffers of one float per parameter the optimizer keeps. */
int optim_buffers(const optim_config *cfg);
/* Returns 0, or -1 when out of memory. */
int optim_init(optim *o, be_backend *be, const optim_config *cfg, size_t n);
void optim_free(optim *o);
/* The backend's arguments for step t (1, 2, ...) of an Adam, AdamW or
 * NAdam optimizer with settings c at learning rate lr (gscale 1). */
be_adam_step optim_adam_step(const optim_config *c, float lr, long t);
/* One update of w from g with learning rate lr (the schedule's value). */
void optim_step(optim *o, float *w, const float *g, float lr);
/* The same for elements first .. n-1 only, the gradient g * gscale (a
 * clip's factor; 1: g as it is): the ones before keep their values and
 * their state (a frozen tensor at the front).  Adam, AdamW and NAdam
 * apply gscale as they read g, leaving g as it was; the other kinds
 * scale g[first..] in place first.  Either way the bits of scaling g
 * first and then stepping with gscale 1. */
void optim_step_from(optim *o, size_t first, float *w, float *g, float lr, float gscale);
/* NTASGD: notes a validation loss; returns 1 when it triggers the switch
 * to averaging (the caller then starts it: trainer.c), else 0. */
int optim_ntasgd_observe(optim *o, double val_loss);

/* Names and buffers of the state tensors, for saving: returns count. */
int optim_state(const optim *o, const char **names, float **bufs, int max);

#endif
