/* decoder.h - one-token-at-a-time inference for generation: B streams
 * (one per beam) stepped together, one product per weight matrix per step.
 * A decoder owns its recurrent state and scratch buffers and only reads
 * the model's parameters, so it can run on the weights of a model that is
 * being trained without touching the trainer's state or activations. */
#ifndef DECODER_H
#define DECODER_H
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "model/model.h"

typedef struct decoder {
    model *m;
    int B;                   /* streams the buffers hold */
    model_state st[2];       /* current and next state (ping-pong) */
    int cur;                 /* index of the current state in st */
    float *table;            /* layer-0 gate inputs per token [V, G*H], or NULL */
    float *bias;             /* fused input+recurrent biases [layers, G*H] */
    float *x;                /* embedding rows [B, E] (no table) */
    float *gates, *gh;       /* [B, G*H]; gh for the GRU and LayerNorm LSTM */
    float *act, *cn, *stats; /* LayerNorm LSTM: its step's other outputs */
    float *logits;           /* [B, V]: the adaptive softmax's are the
                              * log-probabilities */
    float *ad_head, *ad_proj;/* adaptive softmax scratch [B, head] and
                              * [B, largest projection], else NULL */
    uint32_t *ids;           /* [B] on the device */
    be_weights weights;      /* how the packed matrices hold the weights */
    /* Packed matrices (backend pack), or NULL where gemm multiplies:
     * p_in[l] is layer l's input weights, with the recurrent ones beside
     * them unless p_hh[l] holds those apart (GRU, LayerNorm LSTM; layer
     * 0).  p_dec: the full softmax's decoder (the adaptive softmax's
     * matrices stay 32-bit and go through gemm). */
    void *p_in[MODEL_MAX_LAYERS], *p_hh[MODEL_MAX_LAYERS], *p_dec;
} decoder;

/* Table policy for decoder_init: decide by size, or force it off / on. */
enum { DECODER_TABLE_AUTO = -1, DECODER_TABLE_OFF = 0, DECODER_TABLE_ON = 1 };

/* Sets up B streams at zero state, copying what it precomputes from the
 * model's current weights (the layer-0 gate table: embedding times input
 * weights plus biases, one row per token, when it is small).  Where the
 * backend packs matrices, the weights a step multiplies by are copied as
 * `weights` (fp32: exact; fp16: half the memory, logits within about 1e-3
 * relative; int8: a quarter, logits within about 1e-2).  The copies are
 * taken now: later training does not change them.  Returns 0, -1 when out
 * of memory, or -2 when the backend cannot hold weights as asked (nothing
 * left allocated either way). */
int decoder_init(decoder *d, model *m, int B, int table, be_weights weights);
/* decoder_init with the table decided by size, its failures as a one-line
 * message.  Returns 0, or -1 with err set. */
int decoder_open(decoder *d, model *m, int B, be_weights weights, char *err,
                 size_t errlen);
void decoder_free(decoder *d);

/* Feeds ids[n] (host) to streams 0..n-1 (n <= B), advances their state and
 * writes their next-token logits [n, V] to host out. */
void decoder_step(decoder *d, int n, const uint32_t *ids, float *out);

/* Rearranges the states: stream i takes the state stream rows[i] had
 * (i < n <= B; rows may repeat).  Beam search's reordering. */
void decoder_select(decoder *d, int n, const uint32_t *rows);

/* Puts stream i (i < B) back at zero state, as decoder_init left it: a
 * new generation joining a batch of streams. */
void decoder_reset(decoder *d, int i);

#endif
