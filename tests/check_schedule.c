/* check_schedule.c - the learning-rate schedules: PyTorch's formulas at known points, today's step decay bit for bit, plans over steps, epochs and time, the plateau's counting, and a session resumed half-way through its plan giving the same rates as a run that never stopped. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "store/session.h"
#include "train/run.h"
#include "train/sched.h"

START_TEST(cosine_points)
{
    ck_assert_double_eq(sched_cosine(0.1, 0.001, 0, 50), 0.1);
    ck_assert_double_eq_tol(sched_cosine(0.1, 0.001, 25, 50), 0.0505, 1e-15);
    ck_assert_double_eq(sched_cosine(0.1, 0.001, 50, 50), 0.001);
    ck_assert_double_eq(sched_cosine(0.1, 0.001, 80, 50), 0.001);  /* held */
    ck_assert_double_eq(sched_cosine(0.1, 0.001, 3, 0), 0.1);      /* no room */
    /* a quarter of the way: (1 + cos(pi / 4)) / 2 of the way down */
    ck_assert_double_eq_tol(sched_cosine(2, 0, 10, 40), 1 + sqrt(0.5), 1e-15);
}
END_TEST

START_TEST(onecycle_points)
{
    /* 100 steps: up from 1/25 over steps 0..29, down to 1/25/1e4 at 99 */
    double end1 = 0.3 * 100 - 1, end2 = 99;
    ck_assert_double_eq_tol(sched_onecycle(1, 0, end1, end2), 1 / 25.0, 1e-15);
    ck_assert_double_eq_tol(sched_onecycle(1, 14.5, end1, end2), 0.52, 1e-15);
    ck_assert_double_eq(sched_onecycle(1, end1, end1, end2), 1);
    ck_assert_double_eq_tol(sched_onecycle(1, 64, end1, end2), (1 + 4e-6) / 2, 1e-15);
    ck_assert_double_eq(sched_onecycle(1, end2, end1, end2), 1 / 25.0 / 1e4);
    ck_assert_double_eq(sched_onecycle(1, 500, end1, end2), 1 / 25.0 / 1e4);
}
END_TEST

START_TEST(plateau_points)
{
    ck_assert_double_eq(sched_plateau_lr(0.1, 0.1, 0, 0), 0.1);
    ck_assert_double_eq(sched_plateau_lr(0.1, 0.1, 0, 2), 0.1 * 0.1 * 0.1);
    ck_assert_double_eq(sched_plateau_lr(0.1, 0.1, 0.005, 2), 0.005);   /* floor */
    ck_assert_double_eq(sched_plateau_lr(1e-8, 0.5, 0, 3), 1e-8);       /* < eps */
    ck_assert_double_eq(sched_warmup(4, 0), 0.25);
    ck_assert_double_eq(sched_warmup(4, 3), 1);
    ck_assert_double_eq(sched_warmup(0, 0), 1);
}
END_TEST

/* ReduceLROnPlateau(patience 2): a rate cut after the third bad loss in a
 * row; a gain under 1e-4 of the best is bad; the floor ends the cuts. */
START_TEST(plateau_counts)
{
    sched_config c = {.kind = SCHED_PLATEAU, .lr = 1, .min_lr = 0.3, .factor = 0.5,
                      .patience = 2};
    sched_state s;
    static const double loss[] = {3, 2.9, 2.9, 2.8999, 3.5, 2, 2, 2, 2, 2, 2, 2, 2, 2};
    static const int bad[] = {0, 0, 1, 2, 0, 0, 1, 2, 0, 1, 2, 0, 1, 2};
    static const int cuts[] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2};
    sched_state_init(&s);
    for (size_t i = 0; i < sizeof loss / sizeof loss[0]; i++) {
        sched_observe(&c, &s, loss[i]);
        ck_assert_int_eq(s.bad, bad[i]);
        ck_assert_int_eq(s.reductions, cuts[i]);
    }
    ck_assert_double_eq(s.best, 2);
    ck_assert_double_eq(sched_lr(&c, &s, 0), 0.3);     /* 1, 0.5, then the floor */
    c.kind = SCHED_COSINE;                             /* others do not count */
    sched_observe(&c, &s, 1);
    ck_assert_double_eq(s.best, 2);
}
END_TEST

/* The rate before schedules: warm-up, then decay every `every` steps. */
static float todays_lr(float base, int warmup, float decay, int every, long s)
{
    double lr = base;
    if (warmup > 0 && s < warmup)
        lr *= (double)(s + 1) / (double)warmup;
    if (every > 0)
        lr *= pow(decay, (double)(s / every));
    return (float)lr;
}

START_TEST(step_is_todays)
{
    sched_state s;
    sched_config c = {.kind = SCHED_STEP, .lr = 3e-3f, .warmup = 7, .decay = 0.7f,
                      .decay_every = 13};
    sched_state_init(&s);
    for (long i = 0; i < 2000; i++)
        ck_assert((float)sched_lr(&c, &s, i) == todays_lr(3e-3f, 7, 0.7f, 13, i));
    c.kind = SCHED_CONSTANT;
    for (long i = 0; i < 100; i++)
        ck_assert((float)sched_lr(&c, &s, i) == todays_lr(3e-3f, 7, 0.7f, 0, i));
}
END_TEST

/* Warm-up over the plan's first steps, then the cosine over the rest. */
START_TEST(plans)
{
    sched_config c = {.kind = SCHED_COSINE, .lr = 1, .min_lr = 0.1, .warmup = 4};
    sched_state s;
    sched_state_init(&s);
    ck_assert_double_eq(sched_lr(&c, &s, 10), 1);          /* no plan: --lr */
    s.plan = (sched_plan){.unit = SCHED_PLAN_STEPS, .length = 20, .start = 100};
    ck_assert_double_eq(sched_lr(&c, &s, 100), 0.25);
    ck_assert_double_eq(sched_lr(&c, &s, 103), 1);
    ck_assert_double_eq(sched_lr(&c, &s, 104), 1);
    ck_assert_double_eq(sched_lr(&c, &s, 119), sched_cosine(1, 0.1, 15, 16));
    ck_assert_double_eq(sched_lr(&c, &s, 130), 0.1);
    ck_assert(sched_plan_open(&s, 119) && !sched_plan_open(&s, 120));
    /* a time plan: the fraction of the time spent */
    s.plan = (sched_plan){.unit = SCHED_PLAN_SECONDS, .length = 100, .start = 0,
                          .done = 25};
    ck_assert_double_eq(sched_lr(&c, &s, 50), sched_cosine(1, 0.1, 0.25, 1));
    c.kind = SCHED_ONECYCLE;
    s.plan.done = 30;
    ck_assert_double_eq(sched_lr(&c, &s, 2), 1);
    s.plan.done = 100;
    ck_assert(!sched_plan_open(&s, 2));
    ck_assert_str_eq(sched_name(SCHED_ONECYCLE), "onecycle");
    ck_assert_int_eq(sched_parse("plateau"), SCHED_PLATEAU);
    ck_assert_int_eq(sched_parse("linear"), -1);
}
END_TEST

static be_backend *be;
static char tmpdir[64];

static void setup(void)
{
    be = be_cpu_create();
    be->set_threads(be, 1);
    ck_assert_ptr_nonnull(fx_temp_dir(tmpdir, sizeof tmpdir, "check_sched"));
}

static void teardown(void)
{
    be->destroy(be);
    ck_assert_int_eq(fx_remove_tree(tmpdir), 0);
}

/* A small GRU on tests/data/garden.txt with schedule kind. */
static trainer *garden(sched_kind kind)
{
    char err[256], path[256];
    corpus c;
    train_config cfg = train_defaults();
    cfg.model = (model_config){.cell = CELL_GRU, .layers = 1, .hidden = 12, .embed = 6};
    cfg.seq_len = 16;
    cfg.batch = 4;
    cfg.eval_every = 2;
    cfg.eval_streams = 2;
    cfg.schedule = kind;
    cfg.warmup = kind == SCHED_COSINE ? 3 : 0;
    cfg.min_lr = 1e-4f;
    cfg.plateau_patience = 0;
    cfg.optim.lr = 0.05f;
    fx_data_file(path, sizeof path, "garden.txt");
    ck_assert_msg(corpus_load(&c, path, NULL, 0.1, 0, err, sizeof err) == 0, "%s", err);
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

/* Runs t toward goal for at most n steps (all: n < 0), the rate of each
 * in lr; returns the steps made. */
static int run_for(trainer *t, const run_goal *goal, int n, float *lr)
{
    char err[256];
    run r;
    int k = 0, rc = 1;
    run_begin(&r, t, goal, NULL, NULL, NULL);
    while (rc > 0 && (n < 0 || k < n)) {
        rc = run_step(&r, err, sizeof err);
        ck_assert_msg(rc >= 0, "%s", err);
        lr[k++] = r.last.lr;
    }
    return k;
}

/* An epoch goal is planned as the steps the run then makes, from the
 * middle of an epoch too. */
START_TEST(epochs_in_steps)
{
    static const double epochs[] = {1.3, 0.25, 2, 3.01};
    float lr[1000];
    for (size_t i = 0; i < sizeof epochs / sizeof epochs[0]; i++) {
        trainer *t = garden(SCHED_COSINE);
        run_goal first = {.steps = (long)i * 7 + 1}, goal = {.epochs = epochs[i]};
        run_for(t, &first, -1, lr);
        run r;
        run_begin(&r, t, &goal, NULL, NULL, NULL);
        double planned = t->sched.plan.length;
        ck_assert_int_eq(t->sched.plan.unit, SCHED_PLAN_STEPS);
        ck_assert_int_eq(t->sched.plan.start, t->step);
        ck_assert_int_eq(run_for(t, &goal, -1, lr), (int)planned);
        trainer_free(t);
    }
}
END_TEST

START_TEST(goals_and_lengths)
{
    trainer *t = garden(SCHED_ONECYCLE);
    run_goal none = {0}, steps = {.steps = 9}, secs = {.seconds = 1e6};
    float lr[16];
    run r;
    ck_assert(run_needs_length(t));
    run_begin(&r, t, &none, NULL, NULL, NULL);
    ck_assert_int_eq(t->sched.plan.unit, SCHED_PLAN_NONE);
    run_for(t, &steps, 4, lr);
    ck_assert(!run_needs_length(t));                   /* 5 steps to go */
    ck_assert_float_eq(lr[0], (float)(0.05f / 25.0));
    run_begin(&r, t, &secs, NULL, NULL, NULL);          /* goes on with it */
    ck_assert_double_eq(t->sched.plan.length, 9);
    run_for(t, &none, 5, lr);
    ck_assert_float_eq(lr[4], (float)(0.05f / 25.0 / 1e4));
    ck_assert(run_needs_length(t));
    run_begin(&r, t, &secs, NULL, NULL, NULL);          /* plans anew */
    ck_assert_int_eq(t->sched.plan.unit, SCHED_PLAN_SECONDS);
    ck_assert(run_step(&r, (char[256]){0}, 256) == 1);
    ck_assert(t->sched.plan.done > 0 && t->sched.plan.done < 1e6);
    t->cfg.schedule = SCHED_PLATEAU;
    run_replan(&r);
    ck_assert_int_eq(t->sched.plan.unit, SCHED_PLAN_NONE);
    ck_assert(!run_needs_length(t));
    trainer_free(t);
}
END_TEST

/* 30 steps in one run, against 12 steps, a save, and the session resumed
 * for the other 18: the same rates, and the state saved as it was. */
static void resumes_exactly(sched_kind kind)
{
    char dir[128], err[256];
    float whole[30], split[30];
    run_goal all = {.steps = 30}, rest = {.steps = 18};
    trainer *t = garden(kind);
    run_for(t, &all, -1, whole);
    trainer_free(t);
    t = garden(kind);
    run_for(t, &all, 12, split);
    snprintf(dir, sizeof dir, "%s/s%d", tmpdir, (int)kind);
    ck_assert_msg(session_save(t, NULL, dir, err, sizeof err) == 0, "%s", err);
    trainer *u = session_load(be, dir, NULL, NULL, err, sizeof err);
    ck_assert_msg(u != NULL, "%s", err);
    ck_assert_int_eq(u->sched.plan.unit, t->sched.plan.unit);
    ck_assert(u->sched.plan.length == t->sched.plan.length);
    ck_assert_int_eq(u->sched.plan.start, t->sched.plan.start);
    ck_assert(u->sched.best == t->sched.best);
    ck_assert_int_eq(u->sched.bad, t->sched.bad);
    ck_assert_int_eq(u->sched.reductions, t->sched.reductions);
    ck_assert_int_eq(u->cfg.schedule, kind);
    ck_assert_int_eq(run_for(u, &rest, -1, split + 12), 18);
    for (int i = 0; i < 30; i++)
        ck_assert_msg(whole[i] == split[i], "step %d: %g, resumed %g", i + 1,
                      (double)whole[i], (double)split[i]);
    trainer_free(t);
    trainer_free(u);
}

START_TEST(resume_cosine) { resumes_exactly(SCHED_COSINE); }
END_TEST

START_TEST(resume_plateau) { resumes_exactly(SCHED_PLATEAU); }
END_TEST

int main(void)
{
    Suite *s = suite_create("schedule");
    TCase *f = tcase_create("formulas"), *r = tcase_create("runs");
    tcase_add_test(f, cosine_points);
    tcase_add_test(f, onecycle_points);
    tcase_add_test(f, plateau_points);
    tcase_add_test(f, plateau_counts);
    tcase_add_test(f, step_is_todays);
    tcase_add_test(f, plans);
    tcase_add_checked_fixture(r, setup, teardown);
    tcase_add_test(r, epochs_in_steps);
    tcase_add_test(r, goals_and_lengths);
    tcase_add_test(r, resume_cosine);
    tcase_add_test(r, resume_plateau);
    suite_add_tcase(s, f);
    suite_add_tcase(s, r);
    return fx_run_suite(s);
}
