/* run.c - the run policy: stop conditions, validation and sample cadence,
 * and the order of the end of a run (last validation, report, save). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/run.h"
#include "dist/dist.h"
#include "util/clock.h"

int run_has_val(const trainer *t)
{
    size_t b, e;
    corpus_range(&t->corp, SPLIT_VAL, &b, &e);
    return e > b + 1;
}

/* Fractional epochs done, as trainer_step reports them. */
static double epochs_now(const trainer *t)
{
    double frac = t->stream_len > 1
                  ? (double)t->pos / (double)(t->stream_len - 1) : 0;
    return (double)t->epoch + frac;
}

/* Whether the history's newest point is this step, validated. */
static int validated_now(const trainer *t)
{
    const metric_point *p = t->n_hist ? &t->hist[t->n_hist - 1] : NULL;
    return p && p->step == t->step && !isnan(p->val_loss);
}

/* Steps until the epochs done since the run began reach its goal, as
 * trainer_step moves through the streams and limit_reached measures them
 * (whole epochs skipped but the last two, safe from rounding). */
static double steps_to_epochs(const run *r)
{
    const trainer *t = r->t;
    size_t len = t->stream_len - 1, T = (size_t)t->cfg.seq_len, pos = t->pos;
    double L1 = (double)len, ep = (double)t->epoch, n = 0;
    double per = (double)((len + T - 1) / T), goal = r->goal.epochs - 1e-9;
    if (t->stream_len < 2)
        return 1;
    if (r->goal.epochs * per > SCHED_MAX_LENGTH)
        return SCHED_MAX_LENGTH;
    while (ep + (double)pos / L1 - r->epoch0 < goal) {
        if (pos >= len) {
            double skip = fmax(ceil(goal + r->epoch0 - ep - 1) - 2, 0);
            n += skip * per;
            ep += skip + 1;
            pos = 0;
        }
        size_t L = (size_t)trainer_chunk_len(&t->cfg, t->step + (long)n);
        pos += len - pos < L ? len - pos : L;
        n++;
    }
    return n;
}

/* Plans the schedule over what is left of the goal (none: no plan). */
static void plan_over_goal(run *r)
{
    const run_goal *g = &r->goal;
    double now = run_seconds(r);
    r->planned = 0;
    if (g->steps > 0) {
        trainer_plan(r->t, SCHED_PLAN_STEPS, fmax((double)(g->steps - r->steps_done), 1));
    } else if (g->epochs > 0) {
        trainer_plan(r->t, SCHED_PLAN_STEPS, fmax(steps_to_epochs(r), 1));
    } else if (g->seconds > 0) {
        trainer_plan(r->t, SCHED_PLAN_SECONDS, fmax(g->seconds - now, 1e-3));
        r->planned = 1;
        r->plan_origin = now;
    } else {
        trainer_plan(r->t, SCHED_PLAN_NONE, 0);
    }
}

/* The schedule of a new run: an open plan goes on, else one over the goal. */
static void plan_run(run *r)
{
    trainer *t = r->t;
    if (!sched_needs_plan(t->cfg.schedule))
        return;
    if (!sched_plan_open(&t->sched, t->step)) {
        plan_over_goal(r);
        return;
    }
    r->planned = t->sched.plan.unit == SCHED_PLAN_SECONDS;
    r->plan_origin = -t->sched.plan.done;
}

/* A time plan's progress: the training seconds of the plan so far. */
static void move_plan(run *r)
{
    if (r->planned)
        r->t->sched.plan.done = run_seconds(r) - r->plan_origin;
}

void run_replan(run *r)
{
    trainer_sched_reset(r->t);
    r->planned = 0;
    if (sched_needs_plan(r->t->cfg.schedule))
        plan_over_goal(r);
}

int run_needs_length(const trainer *t)
{
    return sched_needs_plan(t->cfg.schedule) && !sched_plan_open(&t->sched, t->step);
}

void run_begin(run *r, trainer *t, const run_goal *goal,
               const run_cadence *cadence, const run_hooks *hooks,
               volatile sig_atomic_t *interrupt)
{
    memset(r, 0, sizeof *r);
    r->t = t;
    r->goal = *goal;
    if (cadence)
        r->cadence = *cadence;
    if (hooks)
        r->hooks = *hooks;
    r->interrupt = interrupt;
    r->val_step = -1;
    r->begun = clock_now();
    r->next_sample = r->cadence.seconds;
    r->next_save = r->goal.save_every.seconds;
    r->saved_step = t->step;
    r->best = isnan(t->best_val_loss) ? INFINITY : t->best_val_loss;
    r->best_step = isnan(t->best_val_loss) ? -1 : t->best_step;
    r->epoch0 = epochs_now(t);
    r->last.step = t->step;
    r->last.epoch = r->epoch0;
    r->last.loss = r->last.ppl = r->last.bpt = r->last.acc = NAN;
    r->last.grad_norm = NAN;
    plan_run(r);
    r->last.lr = trainer_lr(t, t->step);
}

double run_seconds(const run *r)
{
    double now = r->paused_at > 0 ? r->paused_at : clock_now();
    return now - r->begun;
}

double run_seconds_left(const run *r)
{
    if (r->goal.seconds <= 0)
        return -1;
    return fmax(0, r->goal.seconds - run_seconds(r));
}

void run_pause(run *r)
{
    if (r->paused_at == 0)
        r->paused_at = clock_now();
}

void run_resume(run *r)
{
    if (r->paused_at > 0)
        r->begun += clock_now() - r->paused_at;
    r->paused_at = 0;
}

const char *run_why(const run *r)
{
    return r->why;
}

void run_set_cadence(run *r, const run_cadence *cadence)
{
    r->cadence = *cadence;
    r->next_sample = run_seconds(r) + cadence->seconds;
}

void run_set_saving(run *r, int (*save)(void *ctx, char *err, size_t len),
                    const run_cadence *every)
{
    r->hooks.save = save;
    r->goal.save_every = *every;
    r->next_save = run_seconds(r) + every->seconds;
}

void run_stop(run *r, const char *why)
{
    if (!r->why)
        r->why = why;
}

/* The limit the last step reached, or NULL. */
static const char *limit_reached(const run *r)
{
    const run_goal *g = &r->goal;
    if (r->interrupt && *r->interrupt)
        return "interrupted";
    if (g->steps > 0 && r->steps_done >= g->steps)
        return "step limit";
    if (g->epochs > 0 && r->last.epoch - r->epoch0 >= g->epochs - 1e-9)
        return "epoch limit";
    if (g->seconds > 0 && run_seconds(r) >= g->seconds)
        return "time limit";
    return NULL;
}

/* Early stopping: counts the validations that did not improve the
 * run's best, and ends the run after goal.patience of them. */
/* A new best: the trainer records it, and keeps its weights if asked. */
static void new_best(run *r)
{
    trainer *t = r->t;
    char err[256], msg[320];
    r->best = t->best_val_loss = r->val.loss;
    r->best_step = t->best_step = t->step;
    /* a session that keeps a best checkpoint keeps it in step with its
     * best_val_loss, asked or not */
    if ((r->goal.keep_best || t->best_params)
        && trainer_keep_best(t, err, sizeof err) != 0 && r->hooks.warn) {
        snprintf(msg, sizeof msg, "best weights: %s", err);
        r->hooks.warn(r->hooks.ctx, msg);
    }
}

static void note_progress(run *r)
{
    int improved = r->best_step < 0 || r->val.loss < r->best - r->goal.min_delta;
    if (r->val.loss < r->best)      /* the best, even when not by min_delta */
        new_best(r);
    if (improved) {
        r->stale = 0;
        return;
    }
    if (r->goal.patience > 0 && ++r->stale >= r->goal.patience && !r->why) {
        snprintf(r->why_text, sizeof r->why_text,
                 "no improvement in %d validation%s; best %.4f at step %ld",
                 r->stale, r->stale == 1 ? "" : "s", r->best, r->best_step);
        r->why = r->why_text;
    }
}

/* Measures the validation split and records it in the history. */
static int validate(run *r, int periodic, char *err, size_t len)
{
    trainer *t = r->t;
    int rc = r->hooks.validate
        ? r->hooks.validate(r->hooks.ctx, periodic, &r->val, err, len)
        : trainer_eval(t, SPLIT_VAL, t->cfg.eval_streams, &r->val, err, len);
    if (rc == 0) {
        trainer_note_val(t, r->val.loss);
        trainer_sched_observe(t, r->val.loss);
        r->val_step = t->step;
        note_progress(r);
    }
    return rc;
}

/* Whether c is due after this step; moves *next, its time, on. */
static int due(run *r, const run_cadence *c, double *next)
{
    if (c->steps > 0)
        return r->last.step % c->steps == 0;
    if (c->seconds <= 0 || run_seconds(r) < *next)
        return 0;
    /* The next one a full period after this one, however long it took. */
    *next = run_seconds(r) + c->seconds;
    return 1;
}

/* A periodic save; a failure is told and training goes on. */
static void save_now(run *r)
{
    char err[512] = "", msg[600];
    if (r->hooks.save(r->hooks.ctx, err, sizeof err) == 0) {
        r->saved_step = r->t->step;
        return;
    }
    snprintf(msg, sizeof msg, "periodic save failed: %s; training goes on",
             err[0] ? err : "unknown error");
    if (r->hooks.warn)
        r->hooks.warn(r->hooks.ctx, msg);
}

/* The processes of a data-parallel run take every turn together: what one
 * may see alone after a step (a stop request, the time limit, a time-based
 * save due) is counted over all of them and then holds for each. */
static void agree_on_turns(run *r, int *save)
{
    double seen[3] = {r->why && !strcmp(r->why, "interrupted"),
                      r->why && !strcmp(r->why, "time limit"), *save};
    if (dist_size() < 2)
        return;
    dist_sum_agree(seen, 3, 0, NULL, 0);
    if (!r->why && seen[0] > 0)
        r->why = "interrupted";
    if (!r->why && seen[1] > 0)
        r->why = "time limit";
    *save = seen[2] > 0;
}

int run_step(run *r, char *err, size_t len)
{
    trainer *t = r->t;
    int every = t->cfg.eval_every, periodic, last, save;
    move_plan(r);
    if (trainer_step(t, &r->last, err, len) != 0)
        return -1;
    move_plan(r);
    r->steps_done++;
    if (!r->why)
        r->why = limit_reached(r);
    save = r->hooks.save && due(r, &r->goal.save_every, &r->next_save);
    agree_on_turns(r, &save);
    last = r->why != NULL;
    if (last && r->hooks.ending)
        r->hooks.ending(r->hooks.ctx, r->why);
    periodic = every > 0 && r->last.step % every == 0;
    if (run_has_val(t) && (last || periodic) && validate(r, periodic, err, len) != 0)
        return -1;
    if (!last && r->why) {                  /* early stopping: this is the last */
        last = 1;
        if (r->hooks.ending)
            r->hooks.ending(r->hooks.ctx, r->why);
    }
    if (r->hooks.step
        && r->hooks.step(r->hooks.ctx, &r->last, r->val_step == t->step ? &r->val : NULL,
                         last, err, len) != 0)
        return -1;
    if (!last && r->hooks.sample && due(r, &r->cadence, &r->next_sample))
        r->hooks.sample(r->hooks.ctx);
    if (!last && save)
        save_now(r);
    return last ? 0 : 1;
}

int run_end(run *r, char *err, size_t len)
{
    trainer *t = r->t;
    int fresh = run_has_val(t) && !validated_now(t);
    if (!r->why)
        r->why = "stopped";
    if (fresh && validate(r, 0, err, len) != 0)
        return -1;
    move_plan(r);
    if (r->hooks.end
        && r->hooks.end(r->hooks.ctx, r->val_step == t->step ? &r->val : NULL, fresh,
                        err, len) != 0)
        return -1;
    if (r->hooks.save && r->hooks.save(r->hooks.ctx, err, len) != 0)
        return -1;
    return 0;
}
