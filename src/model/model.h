/* model.h - recurrent language model: embedding, N recurrent layers (tanh
 * RNN, GRU or LSTM, numerics as PyTorch), dropout, linear decoder.
 * Parameters live in one backend allocation, gradients in another, and the
 * activations of one training chunk in a third.
 *
 * The LayerNorm LSTM (layer_norm, Ba et al. 2016), layer k, step t, with
 * LN PyTorch's nn.LayerNorm (eps 1e-5, affine) over the 4H gate features
 * or the H cell units:
 *   a   = LN_ih(W_ih x_t + b_ih) + LN_hh(W_hh h_{t-1} + b_hh)
 *   i,f,g,o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * tanh(LN_c(c_t))
 * Its extra tensors are rnn.ln_ih_l{k}.weight|bias and
 * rnn.ln_hh_l{k}.weight|bias [4H], rnn.ln_c_l{k}.weight|bias [H].  The
 * forget-gate bias of 1 is in rnn.ln_ih_l{k}.bias[H:2H]: LN_ih removes
 * the mean over the 4H features and divides by their deviation, so a 1 in
 * b_ih would not reach a_f as 1, while LN's own bias is added after. */
#ifndef MODEL_H
#define MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "model/adaptive.h"
#include "util/rng.h"

typedef enum { CELL_RNN = 0, CELL_GRU = 1, CELL_LSTM = 2 } model_cell;

/* A dropout rate of one place that may be left unset: then the place
 * takes the model's dropout.  Zero-initialised means unset, so a
 * configuration built field by field (or read from a session saved before
 * the places had rates of their own) drops as dropout says. */
typedef struct model_rate {
    float p;               /* the rate when set */
    int set;               /* 0: unset (dropout's), 1: p */
} model_rate;

/* The places dropout acts on (awd-lstm-lm's dropouti, dropouth, dropout):
 * the embedding output (layer 0's input), the input of each layer above
 * the first (the output of the one below), and the last layer's output
 * (the decoder's input). */
typedef enum { MODEL_DROP_INPUT, MODEL_DROP_HIDDEN, MODEL_DROP_OUTPUT,
               MODEL_DROP_PLACES } model_drop_place;

/* The output layer: a full softmax over the vocabulary (decoder.weight,
 * decoder.bias), or the adaptive softmax of Grave et al. 2017 exactly as
 * PyTorch's nn.AdaptiveLogSoftmaxWithLoss (adaptive.h). */
typedef enum { SOFTMAX_FULL = 0, SOFTMAX_ADAPTIVE = 1 } model_softmax;

/* The adaptive softmax's cutoffs (adaptive.h): the head predicts ids
 * below at[0] and one logit per cluster [at[i], at[i+1]) (the last ending
 * at the vocabulary). */
#define MODEL_MAX_CUTOFFS ADAPTIVE_MAX_CUTOFFS
typedef adaptive_cutoffs model_cutoffs;

typedef struct model_config {
    model_cell cell;
    int layers, hidden, embed, vocab;
    float dropout;         /* every place's rate unless its own is set */
    model_rate drop[MODEL_DROP_PLACES];   /* per place (MODEL_DROP_*) */
    int tie;               /* decoder.weight is encoder.weight (embed == hidden) */
    int forget_bias;       /* LSTM: initialise forget-gate bias_ih to 1
                            * (with layer_norm: ln_ih's bias) */
    int layer_norm;        /* LSTM: the LayerNorm LSTM above */
    /* AWD-LSTM's regularisers (Merity et al. 2017), training forwards
     * only, every mask drawn once per chunk from the dropout key: */
    float dropout_embed;   /* drop whole rows of encoder.weight, the rest
                            * scaled by 1/(1-p) (one mask over the V rows) */
    int locked;            /* the dropout masks (every place above) drawn
                            * once per stream and shared by the T steps
                            * (variational) */
    float weight_drop;     /* DropConnect on every weight_hh_l{k}: one mask
                            * over the matrix, kept weights / (1-p) */
    int softmax;           /* model_softmax */
    /* adaptive only (PyTorch's arguments of the same names): */
    model_cutoffs cutoffs;
    float div_value;       /* cluster i's projection has
                            * floor(hidden / div_value^(i+1)) units */
    int head_bias;         /* decoder.head.bias exists */
} model_config;

#define MODEL_MAX_LAYERS 16
/* A LayerNorm layer's normalisation tensors, in this order. */
enum { MODEL_LN_IH_W, MODEL_LN_IH_B, MODEL_LN_HH_W, MODEL_LN_HH_B, MODEL_LN_C_W,
       MODEL_LN_C_B, MODEL_LN_N };
#define MODEL_MAX_TENSORS (3 + (4 + MODEL_LN_N) * MODEL_MAX_LAYERS + 2 * MODEL_MAX_CUTOFFS)

typedef struct model_tensor {
    char name[32];          /* PyTorch state_dict name */
    size_t offset, numel;   /* into params / grads (floats) */
    int ndim, shape[2];
} model_tensor;

/* Logits held at once by default: 64 MiB of floats.  Chunks of a char or
 * small-vocabulary model stay whole (one block: the order of the sums is
 * that of one product); a 33k or 267k vocabulary goes in row blocks. */
#define MODEL_LOGITS_MAX ((size_t)1 << 24)

typedef struct model {
    model_config cfg;
    be_backend *be;
    float *params, *grads;  /* device, n_params floats each */
    size_t n_params;        /* storage (a tied decoder is stored once) */
    model_tensor tensors[MODEL_MAX_TENSORS];
    int n_tensors;
    /* views into params / grads */
    float *enc, *dec_w, *dec_b, *w_ih[MODEL_MAX_LAYERS], *w_hh[MODEL_MAX_LAYERS],
          *b_ih[MODEL_MAX_LAYERS], *b_hh[MODEL_MAX_LAYERS];
    float *g_enc, *g_dec_w, *g_dec_b, *g_w_ih[MODEL_MAX_LAYERS],
          *g_w_hh[MODEL_MAX_LAYERS], *g_b_ih[MODEL_MAX_LAYERS], *g_b_hh[MODEL_MAX_LAYERS];
    /* layer_norm: the normalisations' tensors (MODEL_LN_*), else NULL */
    float *ln[MODEL_MAX_LAYERS][MODEL_LN_N], *g_ln[MODEL_MAX_LAYERS][MODEL_LN_N];
    /* adaptive softmax (dec_w, dec_b NULL): decoder.head.weight and .bias
     * (NULL without head_bias), decoder.tail.{i}.0.weight (tail[i][0],
     * the projection) and decoder.tail.{i}.1.weight (tail[i][1]); g_ad
     * their gradients */
    adaptive_tensors ad, g_ad;
    uint32_t *ad_host;      /* adaptive: host scratch of the targets'
                             * clusters [3 * logit rows] */
    size_t act_rows;        /* T*B rows the activation arena holds */
    int act_B;              /* and streams (initial-state rows) */
    void *act;              /* activation arena (model.c) */
    float *logits;          /* [rows, V]: a block of the decoder's rows */
    /* The most logits held at once (floats; 0: MODEL_LOGITS_MAX).  A
     * forward whose T*B rows of V logits are more computes the decoder, the
     * loss and (training) the decoder's backward in blocks of rows, so that
     * memory does not grow with T*B*V.  Set before the first forward. */
    size_t logits_max;
    uint32_t *ids_dev;      /* [(T+1)*B] inputs and targets on the device */
    int last_T, last_B;     /* shape of the last training forward */
    float label_smoothing;  /* training forwards: the target's smoothing
                             * (xent), 0 off; set by the trainer */
    double last_smoothed;   /* the last forward's summed smoothed loss */
    /* Training forwards: activation regularisation ar * mean(y^2) of the
     * decoder input y (the last layer's output after dropout) and temporal
     * ar tar * mean((h_t - h_{t-1})^2) of the last layer's output before
     * dropout, over the chunk's pairs of steps (awd-lstm-lm's AR and TAR);
     * 0 off; set by the trainer.  last_penalty is their sum times T*batch
     * (in the units of a summed loss, so that (last_smoothed +
     * last_penalty) / (T*batch) is the objective). */
    float ar, tar;
    double last_penalty;
    /* A training forward's streams as a share of a larger batch (one
     * process's of a data-parallel run): streams batch_first, ... of
     * batch_total.  The gradients are then of the whole batch's mean loss
     * (scaled by 1/(T*batch_total), so the shares' gradients add up to the
     * whole one's) and the dropout masks are those of the same streams in
     * the whole batch.  0: the forward's streams are the whole batch.  Set
     * by the trainer. */
    int batch_total, batch_first;
} model;

/* Names "rnn"|"gru"|"lstm"; parse returns -1 when unknown. */
const char *model_cell_name(model_cell c);
int model_cell_parse(const char *s);
/* Gates per cell type: 1, 3, 4. */
int model_gates(model_cell c);
/* The rate dropout acts with at place (MODEL_DROP_*): its own when set,
 * else dropout. */
float model_drop_rate(const model_config *cfg, model_drop_place place);
/* Whether any place drops (a rate above 0). */
int model_drops(const model_config *cfg);
/* The setting name of a place: "dropout-input", "-hidden", "-output". */
const char *model_drop_name(model_drop_place place);
/* The rates in words: "dropout 0.1", or when a place has its own,
 * "dropout input 0.65, hidden 0.3, output 0.4" (the rates that act). */
void model_drop_desc(const model_config *cfg, char *buf, size_t len);
/* Checks a configuration; returns 0 or -1 with a message in err. */
int model_config_check(const model_config *cfg, char *err, size_t errlen);
/* The output layer's part of the check: NULL, or the problem in buf. */
const char *model_softmax_check(const model_config *cfg, char *buf, size_t len);
/* The adaptive softmax's arguments in cfg. */
adaptive_config model_adaptive_config(const model_config *cfg);

/* Layer l's normalisations (layer_norm) as the backend takes them. */
be_lnlstm_params model_ln_params(const model *m, int l);

/* Allocates a model with PyTorch's default initialisation drawn from rng
 * (LayerNorm weights 1, biases 0).
 * Returns NULL with a message in err on failure. */
model *model_create(be_backend *be, const model_config *cfg, rng_state *rng,
                    char *err, size_t errlen);
void model_free(model *m);
/* Number of parameters as PyTorch counts them (a tied matrix once). */
size_t model_param_count(const model *m);
const model_tensor *model_find_tensor(const model *m, const char *name);

/* Recurrent state of B streams: h and c (LSTM only) are [layers][B][H]. */
typedef struct model_state { float *h, *c; int B; } model_state;
/* Returns 0, or -1 when out of memory.  The state starts at zero. */
int model_state_init(model *m, model_state *s, int B);
void model_state_free(model *m, model_state *s);
void model_state_zero(model *m, model_state *s);

/* What a model of configuration cfg (checked) takes, allocating nothing:
 * *params floats of parameters (the gradients take as many again), and
 * *acts floats for the activations of R rows of B streams (R = T*B for
 * chunks of T steps), their token ids and B streams of recurrent
 * state. */
void model_size(const model_config *cfg, size_t B, size_t R, double *params,
                double *acts);

/* Makes p (n_params floats on the model's backend) the parameters, the
 * views following; returns the buffer that held them (the caller owns it
 * now).  NTASGD shows its average this way without copying. */
float *model_swap_params(model *m, float *p);

/* Sizes the activation arena for T*B rows (grows only).  Returns 0, or -1
 * when out of memory. */
int model_reserve(model *m, int B, int T);

/* Forward over a chunk: ids is host [(T+1)*B] time-major (row t holds the
 * B tokens at step t; row T the last targets).  Computes the mean
 * cross-entropy of predicting row t+1 from rows 0..t; with train set,
 * applies dropout (masks keyed by dropout_key and the place of each
 * element in the whole batch, batch_total) and leaves the activations for
 * model_backward.  Advances the state st (B streams).  *correct (may be NULL)
 * counts argmax hits; a training forward through the adaptive softmax
 * does not count them (that would take every tail on every row) and sets
 * *correct to -1.  Returns the summed loss in nats over T*B targets.
 * A training forward already does the decoder's part of the backward
 * (block by block, see logits_max): it starts the gradients. */
double model_forward(model *m, model_state *st, const uint32_t *ids, int T,
                     int B, int train,
                     uint64_t dropout_key, long *correct);
/* Backward over the chunk of the last training forward: grads = d(mean
 * loss)/d(params) (overwritten, not accumulated); the mean is over the
 * whole batch (batch_total). */
void model_backward(model *m);

/* Told during a backward which gradients are final: grads[from ..
 * n_params) change no more.  from falls as the pass goes down: the
 * decoder's tensors (at the end of the buffer) at once, each layer's as
 * its backward finishes, from the top layer down, and 0 when
 * encoder.weight's (tied: the decoder's weight too) are done, the last
 * call.  In between it is called again with the same from at every time
 * step of a layer, so that the callee can move communication along.  On
 * a device backend "final" means queued: read them through download,
 * which waits. */
typedef void (*model_grads_ready)(void *ctx, size_t from);
/* model_backward calling ready(ctx, ...) as above (ready may be NULL). */
void model_backward_notify(model *m, model_grads_ready ready, void *ctx);
/* The dropout mask the last forward applied at a site (0: the embedding
 * output, l: layer l's input, layers: the decoder input): device memory
 * [T*B, width] of 0 and 1/(1-p), or NULL when it dropped nothing there
 * (an evaluation, or the site's rate is 0).  For tests and inspection. */
const float *model_drop_mask(const model *m, int site);

/* One generation step for st->B streams: feeds ids[B] (host), advances
 * the state and writes logits [B,V] to host out (the adaptive softmax's
 * are the log-probabilities, whose softmax is the distribution too). */
void model_step(model *m, model_state *st, const uint32_t *ids, float *out);

#endif
