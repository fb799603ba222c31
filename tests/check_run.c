/* check_run.c - the run policy (train/run.c): step, epoch, interrupt and
 * stop endings, validation and sample cadence, and the order of the end
 * of a run (last validation, end hook, save). */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "train/auto.h"
#include "train/run.h"

/* A small trainer on a short rotation of sentences (val 20%). */
static trainer *small_trainer(be_backend *be, int eval_every)
{
    static const char text[] = "the cat sat on the mat. a dog ran to the park. ";
    char err[256], buf[4800];
    corpus c;
    for (size_t n = 0; n + sizeof text < sizeof buf; n += sizeof text - 1)
        memcpy(buf + n, text, sizeof text);
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)buf, strlen(buf), NULL,
                                     0.2, 0.0, err, sizeof err) == 0, "%s", err);
    train_config cfg = train_defaults();
    cfg.model.layers = 1;
    cfg.model.hidden = 16;
    cfg.model.embed = 8;
    cfg.seq_len = 16;
    cfg.batch = 4;
    cfg.eval_every = eval_every;
    cfg.eval_streams = 2;
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

/* What the hooks saw, in order: one letter per call (v validate, s step,
 * S step with a validation, L the last step, p sample, e end, E end with a
 * fresh validation, w save). */
typedef struct seen {
    char calls[256];
    size_t n;
    long val_steps[16];
    int n_val;
    const char *ending;
    volatile sig_atomic_t *flag;   /* raised after this many steps: */
    long raise_at;
    int fail_save;
} seen;

static void note(seen *s, char c)
{
    if (s->n + 1 < sizeof s->calls)
        s->calls[s->n++] = c;
}

static int h_step(void *ctx, const train_info *in, const eval_result *val,
                  int last, char *err, size_t len)
{
    seen *s = ctx;
    (void)err, (void)len;
    note(s, last ? 'L' : val ? 'S' : 's');
    if (val && s->n_val < 16)
        s->val_steps[s->n_val++] = in->step;
    if (s->flag && in->step == s->raise_at)
        *s->flag = 1;
    return 0;
}

static void h_ending(void *ctx, const char *why)
{
    ((seen *)ctx)->ending = why;
}

static void h_sample(void *ctx)
{
    note(ctx, 'p');
}

static int h_end(void *ctx, const eval_result *val, int fresh, char *err,
                 size_t len)
{
    (void)err, (void)len;
    ck_assert(!fresh || val != NULL);
    note(ctx, fresh ? 'E' : 'e');
    return 0;
}

static int h_save(void *ctx, char *err, size_t len)
{
    seen *s = ctx;
    note(s, 'w');
    if (s->fail_save) {
        snprintf(err, len, "disk full");
        return -1;
    }
    return 0;
}

static void h_warn(void *ctx, const char *msg)
{
    seen *s = ctx;
    note(s, 'W');
    ck_assert_ptr_nonnull(strstr(msg, "periodic save failed: disk full"));
}

static const run_hooks hooks = {.step = h_step, .ending = h_ending,
                                .sample = h_sample, .end = h_end,
                                .save = h_save, .warn = h_warn};

/* Runs to the end; returns run_step's last answer. */
static int run_all(run *r)
{
    char err[256];
    int rc;
    while ((rc = run_step(r, err, sizeof err)) > 0)
        ;
    ck_assert_msg(rc == 0, "%s", err);
    return run_end(r, err, sizeof err);
}

static run start(trainer *t, seen *s, run_goal goal, const run_cadence *every,
                 volatile sig_atomic_t *flag)
{
    run r;
    run_hooks h = hooks;
    h.ctx = s;
    memset(s, 0, sizeof *s);
    run_begin(&r, t, &goal, every, &h, flag);
    return r;
}

START_TEST(step_limit_validates_on_cadence_and_last)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 2);
    seen s;
    run r = start(t, &s, (run_goal){.steps = 5}, NULL, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    ck_assert_str_eq(s.calls, "sSsSLew");
    ck_assert_int_eq(s.n_val, 3);
    ck_assert_int_eq(s.val_steps[0], 2);
    ck_assert_int_eq(s.val_steps[1], 4);
    ck_assert_int_eq(s.val_steps[2], 5);
    ck_assert_str_eq(run_why(&r), "step limit");
    ck_assert_str_eq(s.ending, "step limit");
    ck_assert_int_eq(t->step, 5);
    /* the validations are in the history */
    ck_assert(!isnan(t->hist[t->n_hist - 1].val_loss));
    /* a second run counts its steps from its own start */
    r = start(t, &s, (run_goal){.steps = 1}, NULL, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    ck_assert_str_eq(s.calls, "Lew");
    ck_assert_int_eq(t->step, 6);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(epoch_limit)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    seen s;
    run r = start(t, &s, (run_goal){.epochs = 1}, NULL, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    ck_assert_str_eq(run_why(&r), "epoch limit");
    ck_assert(r.steps_done > 1);
    /* the last step finished the epoch, and not one step earlier */
    ck_assert(r.last.epoch >= 1 - 1e-9);
    ck_assert(r.last.epoch < 1 + 1.0 / (double)r.steps_done);
    ck_assert_int_eq(s.calls[s.n - 3], 'L');
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(interrupt_and_stop)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    volatile sig_atomic_t flag = 0;
    char err[256];
    seen s;
    run r = start(t, &s, (run_goal){0}, NULL, &flag);
    s.flag = &flag;
    s.raise_at = 3;
    ck_assert_int_eq(run_all(&r), 0);
    /* the flag seen after step 3 ends the run at step 4 */
    ck_assert_str_eq(run_why(&r), "interrupted");
    ck_assert_int_eq(t->step, 4);
    ck_assert_str_eq(s.calls, "sssLew");
    /* run_stop between steps: run_end validates, fresh */
    r = start(t, &s, (run_goal){.steps = 100}, NULL, NULL);
    ck_assert_int_eq(run_step(&r, err, sizeof err), 1);
    run_stop(&r, "stopped");
    ck_assert_int_eq(run_end(&r, err, sizeof err), 0);
    ck_assert_str_eq(s.calls, "sEw");
    ck_assert_str_eq(run_why(&r), "stopped");
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(sample_cadence_by_steps)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    run_cadence every = {.steps = 2};
    seen s;
    run r = start(t, &s, (run_goal){.steps = 5}, &every, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    /* samples after steps 2 and 4, none after the last */
    ck_assert_str_eq(s.calls, "sspsspLew");
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(time_cadence_and_pause)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    run_cadence every = {.seconds = 1e-9};
    seen s;
    run r = start(t, &s, (run_goal){.steps = 3}, &every, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    ck_assert_str_eq(s.calls, "spspLew");
    /* paused, the run's clock stands still */
    r = start(t, &s, (run_goal){.seconds = 100}, NULL, NULL);
    run_pause(&r);
    double a = run_seconds(&r);
    for (volatile long i = 0; i < 20000000; i++)
        ;
    ck_assert(run_seconds(&r) == a);
    ck_assert(run_seconds_left(&r) <= 100 && run_seconds_left(&r) > 99);
    run_resume(&r);
    ck_assert(run_seconds(&r) >= a);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(failed_save_is_reported)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    char err[256] = "";
    seen s;
    run r = start(t, &s, (run_goal){.steps = 1}, NULL, NULL);
    s.fail_save = 1;
    ck_assert_int_eq(run_step(&r, err, sizeof err), 0);
    ck_assert_int_eq(run_end(&r, err, sizeof err), -1);
    ck_assert_str_eq(err, "disk full");
    ck_assert_str_eq(s.calls, "Lew");
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(early_stopping)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 1);
    char want[160];
    seen s;
    /* min_delta so large that nothing after the first validation counts
     * as an improvement: two stale validations end the run at step 3 */
    run r = start(t, &s, (run_goal){.steps = 100, .patience = 2, .min_delta = 100,
                                     .keep_best = 1}, NULL, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    ck_assert_int_eq(t->step, 3);
    ck_assert_str_eq(s.calls, "SSLew");
    snprintf(want, sizeof want, "no improvement in 2 validations; best %.4f at "
             "step %ld", r.best, r.best_step);
    ck_assert_str_eq(run_why(&r), want);
    ck_assert_str_eq(s.ending, want);
    ck_assert(r.best_step >= 1 && r.best_step <= 3);
    /* the trainer holds the best and, with keep_best, its weights */
    ck_assert_int_eq(t->best_step, r.best_step);
    ck_assert(t->best_val_loss == r.best);
    ck_assert_ptr_nonnull(t->best_params);
    /* the best is the lowest validation loss seen, whatever min_delta */
    for (size_t i = 0; i < t->n_hist; i++)
        if (!isnan(t->hist[i].val_loss))
            ck_assert(r.best <= t->hist[i].val_loss);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(periodic_saves)
{
    be_backend *be = be_cpu_create();
    trainer *t = small_trainer(be, 0);
    seen s;
    run r = start(t, &s, (run_goal){.steps = 5, .save_every = {.steps = 2}},
                  NULL, NULL);
    ck_assert_int_eq(run_all(&r), 0);
    /* after steps 2 and 4, then at the end */
    ck_assert_str_eq(s.calls, "sswsswLew");
    /* a failed periodic save is told and training goes on */
    r = start(t, &s, (run_goal){.steps = 3, .save_every = {.steps = 2}}, NULL, NULL);
    s.fail_save = 1;
    char err[256];
    while (run_step(&r, err, sizeof err) > 0)
        ;
    ck_assert_str_eq(s.calls, "swWsL");    /* steps 6 (its save fails), 7, 8 */
    ck_assert_int_eq(t->step, 8);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* Auto-sizing: the chosen width's compute fits the tokens the run sees,
 * and the next size up would not; a bigger budget never picks a smaller
 * model; no budget keeps the default; the corpus caps what a long run
 * counts. */
static train_config auto_config(int vocab)
{
    train_config c = train_defaults();
    c.model.vocab = vocab;
    return c;
}

static double auto_need(train_config c, int h)
{
    c.model.hidden = h;
    return TRAIN_AUTO_TOKENS_PER_PARAM * train_auto_core_params(&c.model);
}

START_TEST(auto_width_fits_the_budget)
{
    train_config c = auto_config(65);
    train_budget b = {.steps = 2000, .corpus_tokens = 1e9, .threads = 2};
    int h = train_auto_hidden(&c, &b);
    double tokens = 2000.0 * c.batch * c.seq_len;
    ck_assert_int_eq(h % TRAIN_AUTO_STEP, 0);
    ck_assert(h > TRAIN_AUTO_MIN && h < TRAIN_AUTO_MAX);
    ck_assert(auto_need(c, h) <= tokens);
    ck_assert(auto_need(c, h + TRAIN_AUTO_STEP) > tokens);
    /* epochs count the corpus; seconds the expected throughput */
    b = (train_budget){.epochs = 2, .corpus_tokens = 5e6, .threads = 2};
    h = train_auto_hidden(&c, &b);
    ck_assert(auto_need(c, h) <= 1e7 && auto_need(c, h + TRAIN_AUTO_STEP) > 1e7);
    int last = 0;
    for (double secs = 10; secs < 1e6; secs *= 2) {
        b = (train_budget){.seconds = secs, .corpus_tokens = 1e12, .threads = 2};
        h = train_auto_hidden(&c, &b);
        ck_assert_msg(h >= last, "%g s: %d after %d", secs, h, last);
        last = h;
    }
    ck_assert_int_eq(last, TRAIN_AUTO_MAX);
    /* more threads, or a GPU, afford a wider model in the same time */
    b = (train_budget){.seconds = 300, .corpus_tokens = 1e12, .threads = 1};
    int one = train_auto_hidden(&c, &b);
    b.threads = 8;
    ck_assert(train_auto_hidden(&c, &b) > one);
    b.gpu = 1;
    ck_assert(train_auto_hidden(&c, &b) > one);
}
END_TEST

START_TEST(auto_width_limits)
{
    train_config c = auto_config(65);
    train_budget none = {.corpus_tokens = 1e6, .threads = 2};
    ck_assert_int_eq(train_auto_hidden(&c, &none), 0);
    /* a tiny run gets the smallest size, a huge one the largest */
    train_budget tiny = {.steps = 1, .corpus_tokens = 1e6, .threads = 2};
    ck_assert_int_eq(train_auto_hidden(&c, &tiny), TRAIN_AUTO_MIN);
    train_budget huge = {.epochs = 1, .corpus_tokens = 1e12, .threads = 2};
    ck_assert_int_eq(train_auto_hidden(&c, &huge), TRAIN_AUTO_MAX);
    /* a small corpus caps a long run: no more than TRAIN_AUTO_EPOCHS */
    train_budget small = {.epochs = 1000, .corpus_tokens = 1e5, .threads = 2};
    train_budget capped = {.epochs = TRAIN_AUTO_EPOCHS, .corpus_tokens = 1e5, .threads = 2};
    ck_assert_int_eq(train_auto_hidden(&c, &small), train_auto_hidden(&c, &capped));
    ck_assert(train_auto_tokens(&c, &small) == TRAIN_AUTO_EPOCHS * 1e5);
    /* a large vocabulary's decoder costs time: the same seconds, a
     * narrower model; with the same tokens, the same width */
    train_budget b = {.seconds = 300, .corpus_tokens = 1e9, .threads = 2};
    train_config words = auto_config(33278);
    ck_assert(train_auto_hidden(&words, &b) < train_auto_hidden(&c, &b));
    b = (train_budget){.steps = 2000, .corpus_tokens = 1e9, .threads = 2};
    ck_assert_int_eq(train_auto_hidden(&words, &b), train_auto_hidden(&c, &b));
    /* the embedding table is a lookup, not compute */
    c.model.hidden = 256;
    double params, acts;
    model_size(&c.model, 1, 1, &params, &acts);
    ck_assert(train_auto_compute_params(&c.model) == params - 65.0 * c.model.embed);
    ck_assert(train_auto_core_params(&c.model)
              == params - 65.0 * c.model.embed - 65.0 * (c.model.hidden + 1));
    /* the output layer's kind does not change the recurrent weights */
    train_config ada = auto_config(1000);
    ada.model.hidden = 256;
    ada.model.softmax = SOFTMAX_ADAPTIVE;
    ada.model.cutoffs = (model_cutoffs){2, {100, 500}};
    ck_assert(train_auto_core_params(&ada.model) == train_auto_core_params(&c.model));
}
END_TEST

static Suite *run_suite(void)
{
    Suite *s = suite_create("run");
    TCase *tc = tcase_create("policy");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, step_limit_validates_on_cadence_and_last);
    tcase_add_test(tc, epoch_limit);
    tcase_add_test(tc, interrupt_and_stop);
    tcase_add_test(tc, sample_cadence_by_steps);
    tcase_add_test(tc, time_cadence_and_pause);
    tcase_add_test(tc, failed_save_is_reported);
    tcase_add_test(tc, early_stopping);
    tcase_add_test(tc, periodic_saves);
    tcase_add_test(tc, auto_width_fits_the_budget);
    tcase_add_test(tc, auto_width_limits);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(run_suite());
}
