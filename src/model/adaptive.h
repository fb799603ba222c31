/* adaptive.h - the model's adaptive softmax output layer (Grave et al.
 * 2017), computed as PyTorch's nn.AdaptiveLogSoftmaxWithLoss(hidden,
 * vocab, cutoffs, div_value, head_bias) computes it.
 *
 * With cutoffs c_0 < ... < c_{K-1} and c_K = V, the head is a linear map
 * of the hidden state to c_0 + K logits: the shortlist (tokens below c_0)
 * and one logit per cluster.  Cluster i holds tokens [c_i, c_{i+1}); its
 * tail is a projection to floor(H / div_value^(i+1)) units followed by a
 * map to its c_{i+1} - c_i tokens, neither with a bias.  Then
 *   log p(w) = lsm(head)[w]                               w < c_0
 *   log p(w) = lsm(head)[c_0 + i] + lsm(tail_i)[w - c_i]   w in cluster i
 * with lsm the log-softmax.  A target's loss needs the head and at most
 * one tail, so training runs tail i only on the rows whose target is in
 * cluster i; the log-probabilities of every token (evaluation, sampling)
 * need every tail on every row.
 *
 * It saves work only when the frequent tokens have the small ids: the
 * word tokenizer's ids are by descending count, BPE's are the bytes and
 * then the merges in the order learned (roughly by frequency); the char
 * tokenizer's are by code point, so there it works but saves nothing. */
#ifndef ADAPTIVE_H
#define ADAPTIVE_H
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"

typedef struct adaptive_dims {
    int K;                              /* clusters */
    int head;                           /* head logits: c_0 + K */
    int cut[MODEL_MAX_CUTOFFS + 1];     /* c_0 .. c_K (= vocab) */
    int proj[MODEL_MAX_CUTOFFS];        /* cluster i's projection units */
    int size[MODEL_MAX_CUTOFFS];        /* cluster i's tokens */
    int max_proj;                       /* the largest proj */
} adaptive_dims;

/* The sizes of the adaptive configuration c (checked or not: sizes that
 * adaptive_check refuses may come out 0 or negative). */
void adaptive_dims_of(const model_config *c, adaptive_dims *d);

/* Checks the output-layer fields of c (for the full softmax: that the
 * adaptive fields are unused or harmless).  Returns NULL when good, or a
 * one-line problem written into buf. */
const char *adaptive_check(const model_config *c, char *buf, size_t len);

/* Device scratch for blocks of up to n rows. */
typedef struct adaptive_scratch {
    float *logits;          /* [n, V] */
    float *head;            /* [n, head] */
    float *x, *dx;          /* [n, H]: a cluster's rows and their gradient */
    float *proj, *dproj;    /* [n, max_proj] */
    uint32_t *ids;          /* [3n] on the device */
    uint32_t *host;         /* [3n] on the host */
} adaptive_scratch;

/* Floats of device scratch (ids included) for blocks of n rows. */
size_t adaptive_scratch_floats(const model_config *c, size_t n);

/* The summed negative log-likelihood of host targets[n] given the decoder
 * inputs x [n, H] (device), through the head and the tails the targets
 * need.  With grad set it also adds scale times the gradient to the
 * layer's weight gradients and writes scale times dL/dx into dx [n, H]. */
double adaptive_loss(model *m, const adaptive_scratch *s, const float *x,
                     const uint32_t *targets, int n, float scale, int grad, float *dx);

/* The log-probabilities of all V tokens for the n rows x [n, H] into out
 * [n, V] (device), as PyTorch's log_prob: head [n, head] and proj [n,
 * max_proj] are scratch. */
void adaptive_log_prob(const model *m, const float *x, int n, float *out, float *head,
                       float *proj);

#endif
