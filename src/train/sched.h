/* sched.h - learning-rate schedules (constant, step decay, cosine, one-cycle, reduce-on-plateau), each PyTorch's scheduler step for step, and the state a session keeps of them. */
#ifndef TRAIN_SCHED_H
#define TRAIN_SCHED_H

/* In the order of the names sched_name gives (and `set schedule` takes). */
typedef enum {
    SCHED_CONSTANT,       /* --lr, after the warm-up */
    SCHED_STEP,           /* times decay every decay_every steps */
    SCHED_COSINE,         /* CosineAnnealingLR over the planned run */
    SCHED_ONECYCLE,       /* OneCycleLR over the planned run */
    SCHED_PLATEAU         /* ReduceLROnPlateau on the validation loss */
} sched_kind;

#define SCHED_NAMES "constant step cosine onecycle plateau"

/* PyTorch's defaults, which rnnlab does not let change. */
#define SCHED_PLATEAU_THRESHOLD 1e-4  /* relative, mode "min" */
#define SCHED_PLATEAU_EPS 1e-8        /* smaller reductions are skipped */
#define SCHED_ONECYCLE_PCT 0.3        /* share of the run spent rising */
#define SCHED_ONECYCLE_DIV 25.0       /* it starts at max_lr / this ... */
#define SCHED_ONECYCLE_FINAL_DIV 1e4  /* ... and ends that / this */

typedef struct sched_config {
    sched_kind kind;
    double lr;            /* the base or peak rate: --lr, OneCycleLR's max_lr */
    double min_lr;        /* cosine's eta_min, plateau's min_lr */
    int warmup;           /* linear warm-up steps (not onecycle) */
    double decay;         /* step: multiply by decay ... */
    int decay_every;      /* ... every decay_every steps (0: never) */
    double factor;        /* plateau: multiply by factor after more than */
    int patience;         /* patience validations without improvement */
} sched_config;

/* What cosine and onecycle are planned over: a number of steps, or a
 * time budget whose spent fraction is the position in the schedule. */
typedef enum { SCHED_PLAN_NONE, SCHED_PLAN_STEPS, SCHED_PLAN_SECONDS } sched_unit;

/* The longest plan: a longer run holds the rate where it starts. */
#define SCHED_MAX_LENGTH 9007199254740992.0   /* 2^53 */

typedef struct sched_plan {
    sched_unit unit;
    double length;        /* steps, or seconds of training */
    long start;           /* the trainer's step when the plan began */
    double done;          /* SECONDS: training seconds of the plan so far */
} sched_plan;

typedef struct sched_state {
    sched_plan plan;
    double best;          /* plateau: the best validation loss (INFINITY) */
    int bad;              /* validations since it last improved enough */
    int reductions;       /* times the rate was reduced */
} sched_state;

/* "constant", ...; sched_parse gives the kind of a name, or -1. */
const char *sched_name(sched_kind k);
int sched_parse(const char *name);

/* No plan, plateau's best at infinity, nothing counted. */
void sched_state_init(sched_state *s);
/* Whether k runs over a planned length (cosine, onecycle). */
int sched_needs_plan(sched_kind k);
/* Whether s has a plan that step has not reached the end of. */
int sched_plan_open(const sched_state *s, long step);

/* The learning rate of step (the trainer's step count before it: 0 is
 * the first step of a session), as the schedule gives it. */
double sched_lr(const sched_config *c, const sched_state *s, long step);
/* One validation loss, as PyTorch's ReduceLROnPlateau.step(loss) takes
 * it: counts it, and reduces the rate after more than patience bad ones.
 * Only the plateau schedule changes. */
void sched_observe(const sched_config *c, sched_state *s, double loss);

/* The formulas, for the tests. */
/* Warm-up factor of step i of w: (i + 1) / w while i < w, else 1. */
double sched_warmup(int w, long i);
/* CosineAnnealingLR's closed form at x of t_max (x past t_max: t_max). */
double sched_cosine(double lr, double min_lr, double x, double t_max);
/* OneCycleLR (two phases, cosine) at x, its phases ending at end1 and
 * end2: pct_start * total - 1 and total - 1 for a run of total steps. */
double sched_onecycle(double max_lr, double x, double end1, double end2);
/* ReduceLROnPlateau's rate after n reductions of lr. */
double sched_plateau_lr(double lr, double factor, double min_lr, int n);

#endif
