/* run.h - the run policy, written once for `rnnlab train` and the engine
 * thread: when a run stops (steps, epochs, time, a stop request), when it
 * validates and samples, and the save at its end.  The caller drives it
 * one step at a time and hears about each step through hooks, so the
 * policy knows nothing of terminals, events or files. */
#ifndef TRAIN_RUN_H
#define TRAIN_RUN_H
#include <signal.h>
#include <stddef.h>

#include "train/trainer.h"

/* How often something recurs while training: every `steps` steps or every
 * `seconds` of training time; both zero: never. */
typedef struct run_cadence {
    long steps;
    double seconds;
} run_cadence;

/* Where a run stops; a zero field is no limit, all zero: until stopped. */
typedef struct run_goal {
    long steps;              /* optimizer steps from the start of the run */
    double epochs;           /* passes over the training split, likewise */
    double seconds;          /* training time, pauses not counted */
    /* Early stopping: after `patience` validations in a row that do not
     * bring the run's best validation loss down by more than min_delta. */
    int patience;
    double min_delta;
    /* Keep the weights of the best validation (trainer_keep_best), to be
     * saved with the session as its best checkpoint; a trainer that has
     * one already (a resumed session's) keeps it up to date anyway. */
    int keep_best;
    /* Periodic saves through the save hook (a crash loses at most this
     * much training); the end of the run saves anyway. */
    run_cadence save_every;
} run_goal;

/* The caller's side.  Any hook may be NULL.  Hooks returning int give 0,
 * or -1 with a one-line message in err, which ends the run with it. */
typedef struct run_hooks {
    void *ctx;
    /* Measures the validation split (the trainer's eval_streams) into *ev.
     * periodic: due by eval_every rather than by the end of the run.
     * NULL: trainer_eval.  The run records the loss in the history. */
    int (*validate)(void *ctx, int periodic, eval_result *ev, char *err,
                    size_t len);
    /* As soon as the run knows the coming validation and report are its
     * last (why: run_why); a stop request can no longer cut them short. */
    void (*ending)(void *ctx, const char *why);
    /* After each step: its figures, the validation made at that step (NULL
     * when none) and whether the run ends with it (run_why says why). */
    int (*step)(void *ctx, const train_info *in, const eval_result *val,
                int last, char *err, size_t len);
    /* A sample is due (run_cadence); called after the step hook. */
    void (*sample)(void *ctx);
    /* The end of the run: the validation at its last step (NULL when there
     * is none) and whether run_end made it (fresh: the step hook has not
     * seen it, as after run_stop). */
    int (*end)(void *ctx, const eval_result *val, int fresh, char *err,
               size_t len);
    /* Keeps the trained session: periodically (goal.save_every) and last
     * of all at the end.  NULL: nothing is saved. */
    int (*save)(void *ctx, char *err, size_t len);
    /* A problem the run goes on after (a periodic save that failed: the
     * next one, or the one at the end, tries again). */
    void (*warn)(void *ctx, const char *msg);
} run_hooks;

typedef struct run {
    trainer *t;
    run_goal goal;
    run_cadence cadence;
    run_hooks hooks;
    /* A stop request set from outside the run, e.g. by a signal handler
     * (which cannot be handed a context); NULL: none.  Polled after each
     * step. */
    volatile sig_atomic_t *interrupt;
    const char *why;          /* why the run ended; NULL while going on */
    long steps_done;
    double epoch0;            /* the trainer's epochs at the start */
    double begun;             /* monotonic seconds the run has been going
                               * since, shifted by pauses */
    double paused_at;         /* monotonic seconds of run_pause; 0: not */
    double next_sample;       /* training seconds when a sample is due */
    double next_save;         /* ... and a periodic save */
    long saved_step;          /* the trainer's step at the last save */
    double best;              /* the best validation loss: the trainer's
                               * (a resumed session's), else INFINITY */
    long best_step;           /* ... made at this step; -1: none */
    int stale;                /* validations since the best improved */
    char why_text[160];       /* a why that needs figures */
    eval_result val;          /* the latest validation of this run ... */
    long val_step;            /* ... made at this step; -1: none yet */
    train_info last;          /* the latest step */
    int planned;              /* the run moves a time plan on (run_plan) */
    double plan_origin;       /* run seconds when that plan's time was 0 */
} run;

/* Starts a run of t: copies goal and hooks; cadence may be NULL (no
 * samples), interrupt too.  A schedule that needs a length (cosine,
 * onecycle) goes on with t's plan while it is open, else is planned over
 * the goal (run_replan). */
void run_begin(run *r, trainer *t, const run_goal *goal,
               const run_cadence *cadence, const run_hooks *hooks,
               volatile sig_atomic_t *interrupt);
/* One step: trains, then validates when due (every eval_every steps, and
 * at the last), reports through the step hook and samples when due.
 * Returns 1 while the run goes on, 0 when this was its last step (run_why
 * says why), -1 with err set when the step or a hook failed. */
int run_step(run *r, char *err, size_t len);
/* Changes the sample cadence of a run going on (a setting changed): a
 * time-based sample is next due a full period from now. */
void run_set_cadence(run *r, const run_cadence *cadence);
/* Changes a run's periodic saves (the save hook, NULL: none, and their
 * cadence); a time-based save is next due a full period from now. */
void run_set_saving(run *r, int (*save)(void *ctx, char *err, size_t len),
                    const run_cadence *every);
/* Plans t's schedule afresh over what is left of the run's goal: its
 * steps, its epochs counted in steps as trainer_step moves through the
 * streams, else its seconds; no goal: no plan.  Plateau's counts start
 * afresh too. */
void run_replan(run *r);
/* Whether a run of t needs a goal for its schedule: cosine or onecycle
 * with no open plan to go on with. */
int run_needs_length(const trainer *t);
/* Asks the run to end before its next step (why: "stopped", ...). */
void run_stop(run *r, const char *why);
/* Ends the run: validates unless the last step did, calls the end hook,
 * then the save hook.  Returns 0, or -1 with err set. */
int run_end(run *r, char *err, size_t len);

/* Pausing stops the run's clock (its time limit and time-based samples);
 * run_resume starts it again.  Both are no-ops when not applicable. */
void run_pause(run *r);
void run_resume(run *r);
/* Seconds of training in this run, pauses not counted. */
double run_seconds(const run *r);
/* Seconds left of a time limit (0 when reached), or -1 without one. */
double run_seconds_left(const run *r);
/* Why the run ended ("step limit", "epoch limit", "time limit",
 * "interrupted", "no improvement in N validations; best L at step S" or
 * run_stop's reason), or NULL while it goes on. */
const char *run_why(const run *r);
/* Whether t's corpus has a validation split to measure (2+ tokens). */
int run_has_val(const trainer *t);

#endif
