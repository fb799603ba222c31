/* engine.h - the training engine as a service: one object owning the
 * trainer, run by its own thread.  Front ends (TUI, REPL, scripts) post
 * commands to it and read back events; they never touch the trainer.
 *
 *   UI thread                          engine thread
 *   eng_post(cmd)  -- command queue -->  handled between training steps
 *   eng_next(ev)  <--  event queue  ---  steps, evals, samples, messages
 *   poll(eng_fd)  <--  one byte when the event queue becomes non-empty
 *   eng_snapshot  <--  settings and status, copied under the mutex
 *
 * Both queues are protected by one mutex; the engine sleeps on a condition
 * variable when it has nothing to do.  The wake-up descriptor lets the UI
 * wait for engine events, keystrokes and signals in a single poll(). */
#ifndef ENGINE_H
#define ENGINE_H
#include <stddef.h>
#include <stdint.h>
#include "model/model.h"
#include "engine/settings.h"
#include "engine/weights.h"
#include "train/trainer.h"
#include "text/tok.h"

typedef struct eng eng;

/* The settings load may take: embed-init, embed-format, embed-init-lower
 * and freeze-embed. */
#define ENG_LOAD_SETS 4

typedef enum {
    ENG_IDLE = 0,         /* nothing running (maybe nothing loaded) */
    ENG_TRAINING,
    ENG_PAUSED,           /* training interrupted, its goal kept */
    ENG_EVALUATING,
    ENG_SAMPLING
} eng_state;

const char *eng_state_name(eng_state s);

typedef enum {
    ENG_CMD_LOAD,         /* str: corpus path; tok: its tokenizer; the
                           * settings given with it (n_sets) */
    ENG_CMD_MODEL,        /* model: new architecture (resets) */
    ENG_CMD_SET,          /* key: setting index, str: its value */
    ENG_CMD_TRAIN,        /* steps, epochs, seconds: at most one non-zero
                           * (all zero: until stopped); patience, min_delta:
                           * early stopping (0: none) */
    ENG_CMD_PAUSE,
    ENG_CMD_RESUME,
    ENG_CMD_STOP,
    ENG_CMD_EVAL,         /* split */
    ENG_CMD_PRIME,        /* str: new prime ("" clears) */
    ENG_CMD_SAMPLE,       /* n: tokens (0: the sample-length setting) */
    ENG_CMD_SAVE,         /* str: session directory */
    ENG_CMD_OPEN,         /* str: session directory */
    ENG_CMD_QUIT          /* ends the engine thread (eng_free posts it) */
} eng_cmd_type;

typedef struct eng_cmd {
    eng_cmd_type type;
    char str[4096];
    int key;
    model_config model;
    long steps, n;
    double epochs, seconds;
    int patience;
    double min_delta;
    int split;
    tok_options tok;
    /* LOAD: settings given with it (load PATH embed-init=FILE ...), as set
     * takes them, applied to a copy of the settings the new model is
     * built with */
    int n_sets;
    int set_key[ENG_LOAD_SETS];
    char set_value[ENG_LOAD_SETS][SETTING_PATH_MAX];
} eng_cmd;

typedef enum {
    ENG_EV_STATE,         /* state changed: state */
    ENG_EV_STEP,          /* a training step: info */
    ENG_EV_EVAL,          /* an evaluation: split, eval, bpb, step; periodic */
    ENG_EV_RESET,         /* a new trainer (load, model, open, reset):
                           * hist/n_hist is its whole metric history */
    ENG_EV_SAMPLE_BEGIN,  /* text: prime; step, temperature, strategy in text2 */
    ENG_EV_SAMPLE_TOKEN,  /* text/len: the token's bytes; prob */
    ENG_EV_SAMPLE_END,    /* n: tokens generated */
    ENG_EV_MESSAGE,       /* text: a line for the message pane */
    ENG_EV_ERROR,         /* text: a one-line error */
    ENG_EV_DONE           /* id: the command finished; status 0 or -1 */
} eng_event_type;

typedef struct eng_event {
    eng_event_type type;
    long id;              /* DONE: the command's id */
    int status;           /* DONE: 0 ok, -1 failed */
    eng_state state;
    train_info info;
    eval_result eval;
    double bpb;           /* EVAL: bits per byte of the split's text */
    int split, periodic;
    long step;
    float temperature;
    long n;
    float prob;
    char *text;           /* owned; NUL-terminated */
    size_t len;
    char *text2;          /* owned */
    metric_point *hist;   /* owned */
    size_t n_hist;
    struct eng_event *next;
} eng_event;

/* What the UI may show at any moment, copied out under the mutex. */
typedef struct eng_status {
    eng_state state;
    int loaded;           /* a trainer exists */
    int dirty;            /* trained or changed since the last save/open */
    int trainable;        /* the corpus has training text */
    long step;
    double epoch;         /* fractional epochs */
    float loss, lr, grad_norm;
    double val_loss;      /* NAN until evaluated */
    double best_val_loss; /* the best validation so far (NAN: none) ... */
    long best_step;       /* ... at this step; -1: none */
    double tokens_per_s;  /* smoothed */
    double elapsed;       /* seconds of training, across resumes */
    long goal_step;       /* stop at this step; -1: none */
    double goal_epoch;    /* stop at this (fractional) epoch; -1: none */
    double goal_seconds;  /* seconds left of a timed run; -1: none */
    size_t n_params;
    char tokens[8];       /* the tokenizer: char, word or bpe */
    unsigned vocab;       /* its vocabulary size (0: none loaded) */
    double tpb_train, tpb_val;  /* tokens per byte of the train and val
                           * splits (NAN: no text): bits per byte are the
                           * loss / ln 2 times these */
    setting_values cfg;   /* the settings */
    char corpus[1024];    /* path, "" when none */
    char session[4096];   /* last saved or opened session, "" when none */
} eng_status;

/* Creates the engine and starts its thread.  Returns NULL with a message
 * in err (out of memory, no backend, no thread). */
eng *eng_new(char *err, size_t errlen);
/* Stops the thread (after its current step) and frees everything;
 * undelivered events are dropped. */
void eng_free(eng *e);

/* Queues a command; returns its id (> 0), used by the matching DONE
 * event, or -1 when out of memory. */
long eng_post(eng *e, const eng_cmd *c);
/* Returns the next event (caller frees it with eng_event_free), or NULL
 * when the queue is empty. */
eng_event *eng_next(eng *e);
void eng_event_free(eng_event *ev);
/* The descriptor that becomes readable when events are waiting.  Call
 * eng_drain_fd after it polls readable, before eng_next. */
int eng_fd(const eng *e);
void eng_drain_fd(eng *e);

/* Copies the current status and settings. */
void eng_snapshot(eng *e, eng_status *out);
/* Asks a running sample to end early; handled at its next token. */
void eng_cancel_sample(eng *e);

/* Copies of the weights for readers on other threads (a server of the
 * model being trained).  While at least one reader watches, the engine
 * thread copies its model between steps: at once when watching starts,
 * when the model is replaced (load, model, open, a rebuilding set) and
 * when the weights changed while it is not training (a run ended, a
 * step), and every ENG_WEIGHTS_PERIOD seconds while it trains.  A copy
 * costs a host copy of the weights (13 MB for the default LSTM 2x512),
 * taken on the engine thread; readers never hold it up. */
#define ENG_WEIGHTS_PERIOD 2.0
/* Starts (on nonzero) or ends (0) one reader's watch; the last end drops
 * the copy. */
void eng_weights_watch(eng *e, int on);
/* The newest copy (a reference, the caller's to release), or NULL when
 * there is none: nobody watches, nothing is loaded, or out of memory. */
eng_weights *eng_weights_get(eng *e);

/* A short description of the model and its tokens: "lstm 2x512, 3.3M
 * params, word vocabulary 33278". */
void eng_model_desc(const eng_status *s, char *buf, size_t len);

#endif
