/* check_engine.c - the engine thread seen from the UI side: commands are
 * answered by DONE events in order, a bounded run posts exactly one STEP
 * event per step and ends idle, a sample posts BEGIN, N tokens and END,
 * bad commands fail with an ERROR, the wake-up descriptor fires, and the
 * queues survive two threads posting at once (run under helgrind or
 * ThreadSanitizer to check the locking). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <check.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "engine/engine.h"
#include "engine/settings.h"

static const char *corpus_path(void)
{
    static char path[1024];
    return fx_data_file(path, sizeof path, "garden.txt");
}

/* What the events of a wait said. */
typedef struct tally {
    int steps, tokens, begins, ends, evals, errors, messages, resets, states;
    int saves;
    long last_step;
    int steps_in_order;
    float first_lr, last_lr;     /* of the first and the latest step */
    char last_error[512];
    char last_message[512];
    char sample[4096];
    size_t sample_len;
    eng_state last_state;
} tally;

static void count(tally *t, const eng_event *ev)
{
    switch (ev->type) {
    case ENG_EV_STEP:
        if (ev->info.step != t->last_step + 1 && t->last_step >= 0)
            t->steps_in_order = 0;
        t->last_step = ev->info.step;
        if (t->steps++ == 0)
            t->first_lr = ev->info.lr;
        t->last_lr = ev->info.lr;
        break;
    case ENG_EV_SAMPLE_TOKEN:
        t->tokens++;
        if (t->sample_len + ev->len < sizeof t->sample) {
            memcpy(t->sample + t->sample_len, ev->text, ev->len);
            t->sample_len += ev->len;
            t->sample[t->sample_len] = '\0';
        }
        ck_assert(ev->prob > 0 && ev->prob <= 1);
        break;
    case ENG_EV_SAMPLE_BEGIN: t->begins++; break;
    case ENG_EV_SAMPLE_END: t->ends++; break;
    case ENG_EV_EVAL: t->evals++; break;
    case ENG_EV_ERROR:
        t->errors++;
        snprintf(t->last_error, sizeof t->last_error, "%s", ev->text);
        break;
    case ENG_EV_MESSAGE:
        t->messages++;
        t->saves += strncmp(ev->text, "saved session to ", 17) == 0;
        snprintf(t->last_message, sizeof t->last_message, "%s", ev->text);
        break;
    case ENG_EV_RESET: t->resets++; break;
    case ENG_EV_STATE: t->states++; t->last_state = ev->state; break;
    default: break;
    }
}

static void tally_init(tally *t)
{
    memset(t, 0, sizeof *t);
    t->last_step = -1;
    t->steps_in_order = 1;
}

/* Reads events until pred is true of the tally (or the DONE of id when id
 * > 0); fails after 120 s.  Returns that DONE's status. */
static int wait_for(eng *e, long id, tally *t, int (*pred)(const tally *))
{
    for (int rounds = 0; rounds < 1200; rounds++) {
        struct pollfd p = {eng_fd(e), POLLIN, 0};
        eng_event *ev;
        poll(&p, 1, 100);
        eng_drain_fd(e);
        while ((ev = eng_next(e)) != NULL) {
            int done = ev->type == ENG_EV_DONE && ev->id == id;
            int status = ev->status;
            count(t, ev);
            eng_event_free(ev);
            if (done)
                return status;
        }
        if (pred && pred(t))
            return 0;
    }
    ck_abort_msg("no answer from the engine within 120 s");
    return -1;
}

static int run(eng *e, const eng_cmd *c, tally *t)
{
    long id = eng_post(e, c);
    ck_assert_int_gt(id, 0);
    return wait_for(e, id, t, NULL);
}

static eng_cmd cmd(eng_cmd_type type, const char *str)
{
    eng_cmd c;
    memset(&c, 0, sizeof c);
    c.type = type;
    if (str)
        snprintf(c.str, sizeof c.str, "%s", str);
    return c;
}

static int set(eng *e, const char *key, const char *value, tally *t)
{
    eng_cmd c = cmd(ENG_CMD_SET, value);
    c.key = setting_find(key);
    ck_assert_int_ge(c.key, 0);
    return run(e, &c, t);
}

/* A small, fast model on the bundled test text. */
static eng *small_engine(tally *t)
{
    char err[256];
    eng *e = eng_new(err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    eng_cmd m = cmd(ENG_CMD_MODEL, NULL);
    m.model = (model_config){.cell = CELL_GRU, .layers = 1, .hidden = 24,
                             .embed = 8, .dropout = 0, .forget_bias = 1};
    ck_assert_int_eq(set(e, "batch", "4", t), 0);
    ck_assert_int_eq(set(e, "seq-len", "16", t), 0);
    ck_assert_int_eq(set(e, "threads", "1", t), 0);
    ck_assert_int_eq(run(e, &m, t), 0);
    eng_cmd l = cmd(ENG_CMD_LOAD, corpus_path());
    ck_assert_int_eq(run(e, &l, t), 0);
    return e;
}

static int is_idle_after_steps(const tally *t)
{
    return t->steps > 0 && t->last_state == ENG_IDLE;
}

START_TEST(bounded_run)
{
    tally t;
    eng_status s;
    tally_init(&t);
    eng *e = small_engine(&t);
    eng_snapshot(e, &s);
    ck_assert(s.loaded);
    ck_assert_int_eq(s.step, 0);
    ck_assert_int_eq(s.cfg.train.batch, 4);
    ck_assert_int_eq(s.cfg.train.model.hidden, 24);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    c.steps = 25;
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.steps, 25);
    ck_assert(t.steps_in_order);
    ck_assert_int_eq(t.last_step, 25);
    ck_assert_int_ge(t.evals, 1);          /* the final validation */
    eng_snapshot(e, &s);
    ck_assert_int_eq(s.state, ENG_IDLE);
    ck_assert_int_eq(s.step, 25);
    ck_assert(s.dirty);
    ck_assert(isfinite(s.val_loss));
    eng_free(e);
}
END_TEST

/* train epochs=N: the run policy's epoch limit, in the engine too. */
START_TEST(epoch_run)
{
    tally t;
    eng_status s;
    char want[64];
    tally_init(&t);
    eng *e = small_engine(&t);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    c.epochs = 0.5;
    ck_assert_int_eq(run(e, &c, &t), 0);
    eng_snapshot(e, &s);
    ck_assert(s.goal_epoch == 0.5 || s.state == ENG_IDLE);
    wait_for(e, 0, &t, is_idle_after_steps);
    eng_snapshot(e, &s);
    ck_assert_msg(s.epoch >= 0.5 - 1e-9 && s.epoch < 0.5 + 2.0 / t.steps,
                  "stopped at epoch %g after %d steps", s.epoch, t.steps);
    ck_assert_int_eq(s.goal_epoch, -1);
    snprintf(want, sizeof want, "training stopped at step %ld (epoch limit)",
             s.step);
    ck_assert_str_eq(t.last_message, want);
    ck_assert_int_ge(t.evals, 1);          /* the final validation */
    eng_free(e);
}
END_TEST

/* The engine's runs take the schedule: set schedule cosine is planned
 * over train steps=N, and refused without a length. */
START_TEST(scheduled_run)
{
    tally t;
    tally_init(&t);
    eng *e = small_engine(&t);
    ck_assert_int_eq(set(e, "schedule", "cosine", &t), 0);
    ck_assert_int_eq(set(e, "min-lr", "0.0001", &t), 0);
    ck_assert_int_eq(set(e, "warmup", "2", &t), 0);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    ck_assert_int_eq(run(e, &c, &t), -1);
    ck_assert_msg(strstr(t.last_error, "the cosine schedule needs the run's length"),
                  "%s", t.last_error);
    c.steps = 20;
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.steps, 20);
    ck_assert_float_eq(t.first_lr, 0.001f);            /* warm-up: 1/2 */
    ck_assert_float_eq(t.last_lr, (float)sched_cosine(0.002f, 0.0001f, 17, 18));
    ck_assert_int_eq(set(e, "schedule", "onecycle", &t), 0);
    tally_init(&t);
    c.steps = 10;
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_float_eq(t.first_lr, (float)(0.002f / 25.0));
    ck_assert_float_eq(t.last_lr, (float)(0.002f / 25.0 / 1e4));
    eng_free(e);
}
END_TEST

/* sample-every: the engine streams samples while training, by steps or
 * by seconds of training, none after the run's last step. */
START_TEST(auto_samples)
{
    tally t;
    tally_init(&t);
    eng *e = small_engine(&t);
    ck_assert_int_eq(set(e, "sample-length", "5", &t), 0);
    ck_assert_int_eq(set(e, "sample-every", "2", &t), 0);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    c.steps = 6;
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.steps, 6);
    ck_assert_int_eq(t.begins, 2);          /* after steps 2 and 4 */
    ck_assert_int_eq(t.ends, 2);
    ck_assert_int_eq(t.tokens, 10);
    ck_assert_int_eq(set(e, "sample-every", "0.000001s", &t), 0);
    tally_init(&t);
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.begins, 5);          /* after every step but the last */
    ck_assert_int_eq(set(e, "sample-every", "0", &t), 0);
    tally_init(&t);
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.begins, 0);
    eng_free(e);
}
END_TEST

/* After save, a run keeps the session from going stale: a save every
 * save-every of training; the end of the run saves nothing itself. */
START_TEST(periodic_saves)
{
    tally t;
    char dir[64];
    tally_init(&t);
    eng *e = small_engine(&t);
    ck_assert_int_eq(set(e, "save-every", "2", &t), 0);
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "rnnlab-check-engine"));
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    c.steps = 5;
    ck_assert_int_eq(run(e, &c, &t), 0);   /* not saved yet: no saves */
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.saves, 0);
    c = cmd(ENG_CMD_SAVE, dir);
    ck_assert_int_eq(run(e, &c, &t), 0);
    tally_init(&t);
    c = cmd(ENG_CMD_TRAIN, NULL);
    c.steps = 5;
    ck_assert_int_eq(run(e, &c, &t), 0);
    wait_for(e, 0, &t, is_idle_after_steps);
    ck_assert_int_eq(t.saves, 2);           /* after steps 6 and 8 */
    eng_status s;
    eng_snapshot(e, &s);
    ck_assert(s.dirty);                     /* steps 9 and 10 are not saved */
    eng_free(e);
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

START_TEST(sample_tokens)
{
    tally t;
    tally_init(&t);
    eng *e = small_engine(&t);
    eng_cmd p = cmd(ENG_CMD_PRIME, "The ");
    ck_assert_int_eq(run(e, &p, &t), 0);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_SAMPLE, NULL);
    c.n = 40;
    ck_assert_int_eq(run(e, &c, &t), 0);
    ck_assert_int_eq(t.begins, 1);
    ck_assert_int_eq(t.ends, 1);
    ck_assert_int_eq(t.tokens, 40);
    ck_assert_int_eq(t.errors, 0);
    ck_assert_int_ge((int)t.sample_len, 40);   /* characters, maybe multi-byte */
    eng_free(e);
}
END_TEST

START_TEST(errors)
{
    tally t;
    char err[256];
    eng *e = eng_new(err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    tally_init(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    ck_assert_int_eq(run(e, &c, &t), -1);
    ck_assert_str_eq(t.last_error, "train: no corpus loaded (use load PATH)");
    c = cmd(ENG_CMD_PAUSE, NULL);
    ck_assert_int_eq(run(e, &c, &t), -1);
    ck_assert_str_eq(t.last_error, "pause: not training");
    c = cmd(ENG_CMD_LOAD, "/nonexistent/corpus.txt");
    ck_assert_int_eq(run(e, &c, &t), -1);
    ck_assert(strncmp(t.last_error, "load: ", 6) == 0);
    c = cmd(ENG_CMD_OPEN, "/nonexistent/session");
    ck_assert_int_eq(run(e, &c, &t), -1);
    ck_assert(strncmp(t.last_error, "open: ", 6) == 0);
    ck_assert_int_eq(set(e, "lr", "-1", &t), -1);
    ck_assert_str_eq(t.last_error, "set lr: '-1' is out of range (> 0)");
    ck_assert_int_eq(set(e, "temperature", "0.5", &t), 0);
    eng_status s;
    eng_snapshot(e, &s);
    ck_assert(fabsf(s.cfg.sample.temperature - 0.5f) < 1e-6f);
    eng_free(e);
}
END_TEST

START_TEST(pause_resume_stop)
{
    tally t;
    eng_status s;
    tally_init(&t);
    eng *e = small_engine(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    ck_assert_int_eq(run(e, &c, &t), 0);       /* unbounded */
    c = cmd(ENG_CMD_PAUSE, NULL);
    ck_assert_int_eq(run(e, &c, &t), 0);
    eng_snapshot(e, &s);
    ck_assert_int_eq(s.state, ENG_PAUSED);
    long at = s.step;
    /* Paused means no steps: a command round trip sees the same step. */
    c = cmd(ENG_CMD_PRIME, "");
    ck_assert_int_eq(run(e, &c, &t), 0);
    eng_snapshot(e, &s);
    ck_assert_int_eq(s.step, at);
    c = cmd(ENG_CMD_RESUME, NULL);
    ck_assert_int_eq(run(e, &c, &t), 0);
    c = cmd(ENG_CMD_STOP, NULL);
    ck_assert_int_eq(run(e, &c, &t), 0);
    eng_snapshot(e, &s);
    ck_assert_int_eq(s.state, ENG_IDLE);
    eng_free(e);
}
END_TEST

/* Two threads post at once while this one drains the events. */
typedef struct poster { eng *e; long ids[200]; } poster;

static void *post_many(void *arg)
{
    poster *p = arg;
    for (int i = 0; i < 200; i++) {
        eng_cmd c = cmd(ENG_CMD_SET, i % 2 ? "0.7" : "1.3");
        c.key = setting_find("temperature");
        p->ids[i] = eng_post(p->e, &c);
    }
    return NULL;
}

START_TEST(two_threads)
{
    char err[256];
    eng *e = eng_new(err, sizeof err);
    poster a = {e, {0}}, b = {e, {0}};
    pthread_t ta, tb;
    int done = 0;
    ck_assert_msg(e != NULL, "%s", err);
    pthread_create(&ta, NULL, post_many, &a);
    pthread_create(&tb, NULL, post_many, &b);
    for (int rounds = 0; done < 400 && rounds < 1200; rounds++) {
        struct pollfd p = {eng_fd(e), POLLIN, 0};
        eng_event *ev;
        poll(&p, 1, 100);
        eng_drain_fd(e);
        while ((ev = eng_next(e)) != NULL) {
            if (ev->type == ENG_EV_DONE) {
                ck_assert_int_eq(ev->status, 0);
                done++;
            }
            eng_event_free(ev);
        }
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert_int_eq(done, 400);
    /* ids are unique and increasing within each thread */
    for (int i = 1; i < 200; i++) {
        ck_assert_int_gt(a.ids[i], a.ids[i - 1]);
        ck_assert_int_gt(b.ids[i], b.ids[i - 1]);
    }
    eng_free(e);
}
END_TEST

START_TEST(free_while_training)
{
    tally t;
    tally_init(&t);
    eng *e = small_engine(&t);
    eng_cmd c = cmd(ENG_CMD_TRAIN, NULL);
    ck_assert_int_eq(run(e, &c, &t), 0);
    eng_free(e);       /* must stop the thread promptly */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("engine");
    tcase_add_test(tc, bounded_run);
    tcase_add_test(tc, epoch_run);
    tcase_add_test(tc, scheduled_run);
    tcase_add_test(tc, auto_samples);
    tcase_add_test(tc, periodic_saves);
    tcase_add_test(tc, sample_tokens);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, pause_resume_stop);
    tcase_add_test(tc, two_threads);
    tcase_add_test(tc, free_while_training);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
