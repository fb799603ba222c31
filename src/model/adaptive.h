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
#include "backend/backend.h"

/* The cutoffs: n increasing token ids, 0 < at[0] < ... < at[n-1] <
 * vocab. */
#define ADAPTIVE_MAX_CUTOFFS 8
typedef struct adaptive_cutoffs {
    int n;
    int at[ADAPTIVE_MAX_CUTOFFS];
} adaptive_cutoffs;

/* PyTorch's arguments (hidden is in_features, vocab n_classes). */
typedef struct adaptive_config {
    int hidden, vocab;
    adaptive_cutoffs cutoffs;
    float div_value;
    int head_bias;
} adaptive_config;

/* The layer's tensors (or their gradients), device pointers: the head's
 * weight and bias (NULL without head_bias), and per cluster the
 * projection tail[i][0] and the cluster's map tail[i][1]. */
typedef struct adaptive_tensors {
    float *head_w, *head_b, *tail[ADAPTIVE_MAX_CUTOFFS][2];
} adaptive_tensors;

typedef struct adaptive_dims {
    int K;                              /* clusters */
    int head;                           /* head logits: c_0 + K */
    int cut[ADAPTIVE_MAX_CUTOFFS + 1];     /* c_0 .. c_K (= vocab) */
    int proj[ADAPTIVE_MAX_CUTOFFS];        /* cluster i's projection units */
    int size[ADAPTIVE_MAX_CUTOFFS];        /* cluster i's tokens */
    int max_proj;                       /* the largest proj */
} adaptive_dims;

/* The sizes of configuration c (checked or not: sizes that adaptive_check
 * refuses may come out 0 or negative). */
void adaptive_dims_of(const adaptive_config *c, adaptive_dims *d);

/* Checks c.  Returns NULL when good, or a one-line problem written into
 * buf. */
const char *adaptive_check(const adaptive_config *c, char *buf, size_t len);

/* Device scratch for blocks of up to n rows. */
typedef struct adaptive_scratch {
    float *logits;          /* [n, V] */
    float *head;            /* [n, head] */
    float *x, *dx;          /* [n, H]: a cluster's rows and their gradient */
    float *proj, *dproj;    /* [n, max_proj] */
    uint32_t *ids;          /* [3n] on the device */
    uint32_t *host;         /* [3n] on the host */
} adaptive_scratch;

/* The summed negative log-likelihood of host targets[n] given the inputs
 * x [n, H] (device), through the head and the tails the targets need,
 * with the weights w.  With grad set it also adds scale times the
 * gradient to g and writes scale times dL/dx into dx [n, H]. */
double adaptive_loss(be_backend *be, const adaptive_config *c, const adaptive_tensors *w,
                     const adaptive_tensors *g, const adaptive_scratch *s, const float *x,
                     const uint32_t *targets, int n, float scale, int grad, float *dx);

/* The log-probabilities of all V tokens for the n rows x [n, H] into out
 * [n, V] (device), as PyTorch's log_prob: head [n, head] and proj [n,
 * max_proj] are scratch. */
void adaptive_log_prob(be_backend *be, const adaptive_config *c, const adaptive_tensors *w,
                       const float *x, int n, float *out, float *head, float *proj);

#endif
