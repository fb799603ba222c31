/* trainer.h - truncated BPTT over B contiguous streams (PyTorch's
 * batchify), optimizer step, clipping, learning-rate schedule, metrics and
 * evaluation.  A trainer owns its corpus, model, optimizer and RNG: it is
 * everything a session saves but the sampler settings (decode/config.h),
 * which their owner hands to the session beside it. */
#ifndef TRAINER_H
#define TRAINER_H
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "text/corpus.h"
#include "text/emb_file.h"
#include "text/emb_match.h"
#include "model/model.h"
#include "train/optim.h"
#include "train/sched.h"
#include "util/rng.h"

/* The longest path a configuration holds (--embed-init), NUL included. */
#define TRAIN_PATH_MAX 1024

typedef struct train_config {
    model_config model;
    optim_config optim;
    int seq_len, batch;
    float clip_norm;         /* global-norm clipping; 0: off */
    float clip_value;        /* element clipping; 0: off */
    int eval_every;          /* steps; 0: only at the end */
    int eval_streams;        /* streams for periodic validation */
    double val_frac, test_frac;
    uint64_t seed;
    int threads;
    float lr_decay;          /* multiply lr by this ... */
    int lr_decay_every;      /* ... every this many steps (0: constant) */
    int warmup;              /* linear warm-up steps */
    float label_smoothing;   /* training target: 1-e on the label, e/V on
                              * every token (as PyTorch's); 0: off */
    float ar, tar;           /* AWD-LSTM's activation regularisation and
                              * temporal AR (model.h); 0: off */
    int bptt_jitter;         /* chunk lengths drawn per step as
                              * awd-lstm-lm's (trainer_chunk_len) */
    sched_kind schedule;     /* the learning-rate schedule (train/sched.h) */
    float min_lr;            /* cosine's and plateau's floor */
    float plateau_factor;    /* plateau: multiply the rate by this after */
    int plateau_patience;    /* more than this many bad validations */
    /* Pretrained embeddings: read when a new model is made (the CLI and
     * the engine call trainer_embed_init), kept in the session as a
     * record of where its first weights came from. */
    char embed_init[TRAIN_PATH_MAX];  /* a vector file; "" none */
    int embed_format;        /* its emb_format (text/emb_file.h); auto */
    int embed_lower;         /* also match words ignoring ASCII case */
    int freeze_embed;        /* encoder.weight takes no updates: no
                              * gradient, no optimizer state, no decay
                              * (tied: the decoder's weight with it) */
} train_config;

/* Checks a configuration's training settings and the combinations that
 * mean nothing (locked dropout without dropout, TAR over one step).
 * Returns 0, or -1 with a message naming the setting. */
int train_config_check(const train_config *c, char *err, size_t errlen);

/* The --awd preset: train_defaults with awd-lstm-lm's word-level
 * settings, its main.py's defaults (the paper's WikiText-2 run): LSTM 3
 * layers of 1150, embed 400 (untied: rnnlab's layers share one size),
 * seq-len 70, batch 80, ntasgd lr 30 nonmono 5, weight decay 1.2e-6,
 * clip 0.25, locked dropout at the input 0.65 (dropouti), between layers
 * 0.3 (dropouth) and at the output 0.4 (dropout; also --dropout),
 * dropout-embed 0.1, weight-drop 0.5, ar 2, tar 1, bptt-jitter. */
train_config train_awd_preset(void);

/* BPTT jitter: the most steps a chunk may have beyond seq-len (4 standard
 * deviations of the draw), and the fewest seq-len it needs. */
#define TRAIN_JITTER_EXTRA 20
#define TRAIN_JITTER_MIN_T 10
/* The longest chunk a configuration trains on: seq-len, or with
 * bptt_jitter seq-len + TRAIN_JITTER_EXTRA (what the buffers hold). */
int train_max_len(const train_config *c);

/* Defaults: LSTM 2x512, embed 64, dropout 0.1, T 100, B 32, Adam 2e-3,
 * clip 5, eval every 500 steps, val 0.1, seed 1337, a constant rate
 * (plateau: factor 0.1, patience 10). */
train_config train_defaults(void);

typedef struct train_info {
    long step;               /* steps done, after this one */
    double epoch;            /* fractional epochs done */
    float loss, ppl, bpt, acc, grad_norm, lr;
    float objective;         /* the loss trained on: loss, or the
                              * label-smoothed loss */
    double tokens_per_s;
    double reduce_s;         /* seconds spent summing the gradients over the
                              * processes (waits for the slowest included);
                              * 0 alone */
    long tokens;             /* targets in this step */
    int epoch_end;           /* this step finished an epoch */
    int averaging;           /* NTASGD has switched: the model shows the
                              * average of the iterates */
} train_info;

typedef struct eval_result {
    double loss, ppl, bpt, acc;
    long tokens;             /* predictions scored */
} eval_result;

/* The history keeps at most this many points: a small model makes tens of
 * thousands of steps a second, and a point per step would fill memory
 * (and session.json) within hours.  When full, every other point goes
 * (validations and the newest stay) and from then on only every
 * hist_stride-th step is kept, so the history spans the whole run at a
 * bounded cost. */
#define TRAINER_HIST_MAX 65536

typedef struct metric_point {
    long step;
    float loss;              /* training loss of that step */
    float val_loss;          /* NAN when not evaluated at that step */
} metric_point;

typedef struct trainer {
    train_config cfg;
    be_backend *be;
    corpus corp;
    model *m;
    optim opt;
    model_state state;       /* training streams' recurrent state */
    rng_state rng;           /* sampling */
    long step, epoch;
    size_t pos;              /* offset within each stream of the next chunk */
    size_t stream_len;       /* tokens per stream */
    uint32_t *batch_ids;     /* host [(T+1)*B] */
    metric_point *hist;      /* history: every step's loss while it is short,
                              * then thinned (TRAINER_HIST_MAX, trainer_record) */
    size_t n_hist, cap_hist;
    long hist_stride;        /* steps between recorded points (1, 2, 4, ...) */
    double last_val_loss;    /* NAN until evaluated */
    long ntasgd_step;        /* NTASGD: the step it switched to averaging
                              * at (-1: not yet, or another optimizer) */
    double best_val_loss;    /* the best validation so far (NAN: none) ... */
    long best_step;          /* ... made at this step; -1: none */
    float *best_params;      /* host copy of the weights at best_step
                              * (trainer_keep_best), or NULL */
    double elapsed;          /* seconds of training, across resumes */
    sched_state sched;       /* the schedule's plan and plateau counts */
    /* A data-parallel run (trainer_share): this process trains streams
     * share_first .. share_first + state.B - 1 of the cfg.batch; alone, all
     * of them. */
    long share_first;
    model_state whole;       /* rank 0: every stream's carried state, as
                              * trainer_gather_state last gathered it */
    float *staging;          /* host copy for sums of device buffers (a
                              * backend other than the CPU's), or NULL */
    struct dist_flight *flight; /* the gradients' sums during the backward
                              * pass (trainer_backward), or NULL: after it */
    int device_sums;         /* sums on the devices (NCCL, the backend's
                              * coll_*), not through host memory */
} trainer;

/* Takes ownership of corp (moved in, *corp zeroed).  With weights given
 * (a session being opened) no initialisation is drawn.  Returns NULL with a
 * one-line message in err. */
trainer *trainer_create(be_backend *be, const train_config *cfg, corpus *corp,
                        char *err, size_t errlen);
void trainer_free(trainer *t);

/* The steps of the chunk at step (from 0) before the end of an epoch cuts
 * it: seq-len T, or with bptt_jitter awd-lstm-lm's draw, a function of
 * the seed and the step: T with probability 0.95, else T/2, plus normal
 * noise of deviation 5, truncated to a whole number, at least 5 and at
 * most train_max_len.  Training scales the learning rate of that step by
 * its length / T, as awd-lstm-lm does. */
int trainer_chunk_len(const train_config *c, long step);

/* One optimizer step on the next chunk.  Returns 0, or -1 with err set
 * (the backend's failure, "cuda: WHAT: WHY (at step N)", or else a
 * non-finite loss). */
int trainer_step(trainer *t, train_info *out, char *err, size_t errlen);
/* Learning rate at step s (0: the session's first), as the schedule
 * gives it with t's plan and plateau counts.  Without a plan (no run has
 * planned one: trainer_plan) cosine and onecycle hold cfg.optim.lr. */
float trainer_lr(const trainer *t, long s);
/* The schedule's settings in cfg. */
sched_config trainer_sched_config(const train_config *cfg);
/* Plans cosine or onecycle over length steps (unit SCHED_PLAN_STEPS) or
 * seconds (SCHED_PLAN_SECONDS, the run then moving t->sched.plan.done on)
 * from the current step. */
void trainer_plan(trainer *t, sched_unit unit, double length);
/* Forgets the plan and the plateau's counts: the schedule starts afresh. */
void trainer_sched_reset(trainer *t);
/* A validation loss of a run, for the plateau schedule (sched_observe). */
void trainer_sched_observe(trainer *t, double val_loss);

/* Mean cross-entropy over a split with dropout off, from zero state.
 * streams = 1 is exact (each prediction sees the whole prefix); more
 * streams cut the split into that many contiguous parts, each from zero
 * state, which is much faster and differs only at the cut points.  Returns
 * 0, or -1 when the split has fewer than 2 tokens or the backend failed
 * (err set). */
int trainer_eval(trainer *t, corpus_split split, int streams, eval_result *out,
                 char *err, size_t errlen);

/* Records a validation loss in the history for the current step (its
 * point, the last, is then kept whatever the stride). */
void trainer_note_val(trainer *t, double val_loss);
/* After a change of t->cfg's live settings: the model takes its
 * regularisers (dropout, the AWD ones) and the optimizer its rate and
 * nonmono; none changes a shape. */
void trainer_apply_live(trainer *t);
/* Records step's training loss in the history, which trainer_step does
 * for each step.  The newest step is always the last point; the points
 * kept are every hist_stride-th step and the validated ones, the history
 * thinned when it reaches TRAINER_HIST_MAX.  Returns 0, or -1 when out of
 * memory (the point is lost, nothing else). */
int trainer_record(trainer *t, long step, float loss);

/* Copies the current weights to best_params (the best checkpoint, kept
 * with the session).  Returns 0, or -1 with err set (out of memory; the
 * previous copy stays). */
int trainer_keep_best(trainer *t, char *err, size_t errlen);
/* Puts the best checkpoint's weights into the model.  Returns 0, or -1
 * with err set when there is none. */
int trainer_use_best(trainer *t, char *err, size_t errlen);

/* --- data-parallel training (trainer_share.c) ---
 * Every process of the run (src/dist) holds the same trainer, weights and
 * optimizer state included, but carries the recurrent state of its own
 * contiguous share of the batch's streams; trainer_step sums the
 * gradients and the figures over the processes, trainer_eval splits the
 * streams of a validation.  Alone, each of these is a no-op.  They return
 * 0, or -1 with a one-line message that is the same on every process. */

/* Collective: makes t, as created or loaded (every stream's state), this
 * process's share, chooses how the gradients are summed (dist_sum_start:
 * on the GPUs with NCCL when all processes can), and checks that all
 * processes start from the same weights and progress.  -2 (with err):
 * joining NCCL failed here alone while the others may wait for this
 * process forever; the caller says err and ends the run (dist_abort). */
int trainer_share(trainer *t, char *err, size_t errlen);
/* Collective: gathers every stream's carried state on rank 0 (for a
 * save: trainer_saved_state) and checks that the weights are still the
 * same on every process. */
int trainer_gather_state(trainer *t, char *err, size_t errlen);
/* The carried state a session keeps: every stream's (gathered), else this
 * process's own, which alone is every stream's. */
const model_state *trainer_saved_state(const trainer *t);
/* Collective: dev[0..n), a buffer of t's backend, summed over the
 * processes (on the devices with NCCL when trainer_share chose it: then
 * operations issued later see the sum, the host has not waited).
 * Returns 0, or -1 when MPI failed or the backend has (last_error). */
int trainer_sum_across(trainer *t, float *dev, size_t n);
/* Collective: the backward pass of the last training forward, the
 * gradients then summed over the processes, the first `frozen` zeroed
 * before (out of the sum and the norm, as PyTorch's None gradient).  On
 * the CPU, and on GPUs summing with NCCL, a run of several sums while the
 * pass goes on: each layer's gradients as soon as its backward is done
 * (the decoder's first, the top layer's next, ...), layers of fewer than
 * TRAINER_BUCKET_MIN floats together with the next, and waits for the
 * sums at the end (with NCCL the device waits, before clipping, not the
 * host); RNNLAB_ALLREDUCE=after (TRAINER_ALLREDUCE_ENV), or a GPU's
 * buffers through host memory, sum all of them in one call after the
 * pass.  With two processes either way gives the same bits (each float is
 * one addition); with more, MPI may add in another order for another
 * split.  *wait_s: the seconds the host waited for the sums after the
 * pass (0 alone).  Returns 0, or -1 with a message: MPI failed, or (NCCL)
 * a process's backend did, agreed by all so that none waits for the
 * failed one's sums. */
#define TRAINER_BUCKET_MIN 8192
#define TRAINER_ALLREDUCE_ENV "RNNLAB_ALLREDUCE"
int trainer_backward(trainer *t, size_t frozen, double *wait_s, char *err, size_t errlen);

/* --- pretrained embeddings (trainer_embed.c) --- */

/* Opens the vector file cfg->embed_init names (its format
 * cfg->embed_format), so that the caller can take the embedding size from
 * it before the model is made.  Returns NULL with a message in err. */
emb_file *trainer_embed_open(const train_config *cfg, char *err, size_t errlen);
/* Reads f to its end and puts the vector of each token it has into that
 * token's row of encoder.weight (emb_match.h says which word matches
 * which token; cfg.embed_lower folds case); the other rows keep their
 * initialisation.  f's dimension must be the model's embedding size.
 * Returns 0 with the coverage in *rep, or -1 with a message in err (the
 * weights as they were). */
int trainer_embed_init(trainer *t, emb_file *f, emb_report *rep, char *err,
                       size_t errlen);
/* One line of coverage: "embed-init: 28,912 of 33,278 tokens (86.9%) from
 * FILE; the rest random", with the case-folded share and the duplicates
 * when there are any. */
void trainer_embed_summary(const emb_report *rep, const char *path, char *buf,
                           size_t len);

/* Moves the trainer's model, optimizer state and recurrent state to
 * backend `to` (trainer_move.c); the old backend's buffers are freed, the
 * backend itself stays the caller's.  Returns 0, or -1 with err set and t
 * unchanged (out of memory on either side). */
int trainer_move(trainer *t, be_backend *to, char *err, size_t errlen);

#endif
