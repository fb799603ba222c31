/* sched.c - the learning-rate schedules, written as PyTorch writes its schedulers so that each step's rate is PyTorch's to the last bits or so. */
#include <math.h>
#include <string.h>

#include "train/sched.h"

static const char *const names[] = {"constant", "step", "cosine", "onecycle", "plateau"};

#define N_KINDS (sizeof names / sizeof names[0])

const char *sched_name(sched_kind k)
{
    return (unsigned)k < N_KINDS ? names[k] : "?";
}

int sched_parse(const char *name)
{
    for (size_t i = 0; i < N_KINDS; i++)
        if (strcmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

void sched_state_init(sched_state *s)
{
    memset(s, 0, sizeof *s);
    s->plan.unit = SCHED_PLAN_NONE;
    s->best = INFINITY;
}

int sched_needs_plan(sched_kind k)
{
    return k == SCHED_COSINE || k == SCHED_ONECYCLE;
}

int sched_plan_open(const sched_state *s, long step)
{
    const sched_plan *p = &s->plan;
    if (p->unit == SCHED_PLAN_STEPS)
        return (double)(step - p->start) < p->length;
    return p->unit == SCHED_PLAN_SECONDS && p->done < p->length;
}

double sched_warmup(int w, long i)
{
    return w > 0 && i < w ? (double)(i + 1) / (double)w : 1.0;
}

double sched_cosine(double lr, double min_lr, double x, double t_max)
{
    if (!(t_max > 0))
        return lr;
    x = fmin(fmax(x, 0), t_max);
    /* CosineAnnealingLR._get_closed_form_lr, in its order */
    return min_lr + (lr - min_lr) * (1 + cos(M_PI * x / t_max)) / 2;
}

/* OneCycleLR._annealing_cos: from start to end as pct goes 0 to 1. */
static double anneal_cos(double start, double end, double pct)
{
    double cos_out = cos(M_PI * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
}

double sched_onecycle(double max_lr, double x, double end1, double end2)
{
    double initial = max_lr / SCHED_ONECYCLE_DIV;
    double final = initial / SCHED_ONECYCLE_FINAL_DIV;
    x = fmin(fmax(x, 0), end2);
    if (x <= end1)
        return anneal_cos(initial, max_lr, x / end1);
    return anneal_cos(max_lr, final, (x - end1) / (end2 - end1));
}

/* ReduceLROnPlateau._reduce_lr on lr: the reduced rate, or lr when the
 * reduction would be below eps. */
static double plateau_reduce(double lr, double factor, double min_lr)
{
    double next = fmax(lr * factor, min_lr);
    return lr - next > SCHED_PLATEAU_EPS ? next : lr;
}

double sched_plateau_lr(double lr, double factor, double min_lr, int n)
{
    for (int i = 0; i < n; i++)
        lr = plateau_reduce(lr, factor, min_lr);
    return lr;
}

/* Cosine after the warm-up: over the plan's steps less the warm-up, or at
 * the fraction of its time spent. */
static double planned_cosine(const sched_config *c, const sched_plan *p, long i)
{
    if (i < c->warmup)
        return c->lr * sched_warmup(c->warmup, i);
    if (p->unit == SCHED_PLAN_SECONDS)
        return sched_cosine(c->lr, c->min_lr, p->done / p->length, 1);
    return sched_cosine(c->lr, c->min_lr, (double)(i - c->warmup),
                        p->length - c->warmup);
}

/* One-cycle over the plan's steps, or at the fraction of its time spent. */
static double planned_onecycle(const sched_config *c, const sched_plan *p, long i)
{
    if (p->unit == SCHED_PLAN_SECONDS)
        return sched_onecycle(c->lr, p->done / p->length, SCHED_ONECYCLE_PCT, 1);
    return sched_onecycle(c->lr, (double)i, SCHED_ONECYCLE_PCT * p->length - 1,
                          p->length - 1);
}

double sched_lr(const sched_config *c, const sched_state *s, long step)
{
    const sched_plan *p = &s->plan;
    double lr = c->lr;
    int planned = p->unit != SCHED_PLAN_NONE && step >= p->start;
    switch (c->kind) {
    case SCHED_COSINE:
        if (planned)
            return planned_cosine(c, p, step - p->start);
        break;
    case SCHED_ONECYCLE:
        return planned ? planned_onecycle(c, p, step - p->start) : lr;
    case SCHED_PLATEAU:
        lr = sched_plateau_lr(lr, c->factor, c->min_lr, s->reductions);
        break;
    default:
        break;
    }
    lr *= sched_warmup(c->warmup, step);
    if (c->kind == SCHED_STEP && c->decay_every > 0)
        lr *= pow(c->decay, (double)(step / c->decay_every));
    return lr;
}

void sched_observe(const sched_config *c, sched_state *s, double loss)
{
    if (c->kind != SCHED_PLATEAU)
        return;
    /* is_better in mode "min", threshold_mode "rel" */
    if (loss < s->best * (1. - SCHED_PLATEAU_THRESHOLD)) {
        s->best = loss;
        s->bad = 0;
    } else {
        s->bad++;
    }
    if (s->bad > c->patience) {
        double lr = sched_plateau_lr(c->lr, c->factor, c->min_lr, s->reductions);
        if (plateau_reduce(lr, c->factor, c->min_lr) != lr)
            s->reductions++;
        s->bad = 0;
    }
}
