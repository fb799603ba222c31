/* engine.c - the engine thread: a loop that handles queued commands and,
 * while training, runs one step at a time, posting an event for each
 * thing that happens.  Commands are handled between steps, so a pause, a
 * setting or a sample waits for at most one step.  Everything below the
 * "engine thread" line runs only in that thread; the UI side touches only
 * the queues and the published status, under the mutex. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "device/open.h"
#include "text/corpus.h"
#include "engine/engine.h"
#include "train/optim.h"
#include "train/run.h"
#include "decode/sample.h"
#include "store/session.h"
#include "text/tok.h"
#include "util/compat.h"
#include "util/clock.h"

typedef struct cmd_node {
    eng_cmd cmd;
    long id;
    struct cmd_node *next;
} cmd_node;

struct eng {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    cmd_node *cmd_head, *cmd_tail;      /* under mu */
    eng_event *ev_head, *ev_tail;       /* under mu */
    int woken;                          /* a byte is in the pipe; under mu */
    int cancel_sample;                  /* under mu */
    long next_id;                       /* under mu */
    eng_status pub;                     /* under mu */
    int watchers;                       /* weight readers; under mu */
    int copy_asked;                     /* a new watcher wants a copy
                                         * now; under mu */
    eng_weights *copy;                  /* the newest copy; under mu */
    int wake[2];                        /* pipe: engine writes, UI polls */
    pthread_t thread;

    /* engine thread only */
    be_backend *be;
    trainer *t;
    setting_values cfg;
    eng_state state;
    run r;                              /* the run while training or
                                         * paused (state says) */
    int val_periodic;                   /* of the validation in hand */
    int dirty;
    double tps;
    char session[4096];
    int keep_saved;                     /* session was saved here: runs
                                         * keep it up to date (save-every) */
    long installs;                      /* trainers installed so far */
    long copy_installs, copy_step;      /* what the newest copy is of ... */
    double copy_time;                   /* ... and when it was taken */
    long copies;                        /* copies taken so far */
};

const char *eng_state_name(eng_state s)
{
    static const char *names[] = {"idle", "training", "paused", "evaluating",
                                  "sampling"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void eng_model_desc(const eng_status *s, char *buf, size_t len)
{
    const model_config *m = &s->cfg.train.model;
    double p = (double)s->n_params;
    char params[32];
    const char *ln = m->layer_norm ? " layer-norm" : "";
    const char *sm = m->softmax == SOFTMAX_ADAPTIVE ? " adaptive-softmax" : "";
    if (!s->loaded) {
        snprintf(buf, len, "%s%s %dx%d%s (no corpus)", model_cell_name(m->cell), ln,
                 m->layers, m->hidden, sm);
        return;
    }
    if (p >= 1e6)
        snprintf(params, sizeof params, "%.1fM", p / 1e6);
    else if (p >= 1e3)
        snprintf(params, sizeof params, "%.1fk", p / 1e3);
    else
        snprintf(params, sizeof params, "%.0f", p);
    snprintf(buf, len, "%s%s %dx%d%s, %s params, %s vocabulary %u",
             model_cell_name(m->cell), ln, m->layers, m->hidden, sm, params,
             s->tokens, s->vocab);
}

/* ------------------------------------------------------------------ */
/* Queues (either thread) */

void eng_event_free(eng_event *ev)
{
    if (!ev)
        return;
    free(ev->text);
    free(ev->text2);
    free(ev->hist);
    free(ev);
}

/* Appends ev to the event queue and wakes the UI when the queue was
 * empty.  Returns the cancel flag of a running sample.  When ev is NULL
 * (out of memory) the event is lost; nothing else can be done. */
static int post_event(eng *e, eng_event *ev)
{
    int cancel;
    pthread_mutex_lock(&e->mu);
    if (ev) {
        ev->next = NULL;
        if (e->ev_tail)
            e->ev_tail->next = ev;
        else
            e->ev_head = ev;
        e->ev_tail = ev;
        if (!e->woken) {
            char b = 1;
            e->woken = write(e->wake[1], &b, 1) == 1;
        }
    }
    cancel = e->cancel_sample;
    pthread_mutex_unlock(&e->mu);
    return cancel;
}

long eng_post(eng *e, const eng_cmd *c)
{
    cmd_node *n = malloc(sizeof *n);
    long id;
    if (!n)
        return -1;
    n->cmd = *c;
    n->cmd.str[sizeof n->cmd.str - 1] = '\0';
    n->next = NULL;
    pthread_mutex_lock(&e->mu);
    id = n->id = ++e->next_id;
    if (e->cmd_tail)
        e->cmd_tail->next = n;
    else
        e->cmd_head = n;
    e->cmd_tail = n;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    return id;
}

eng_event *eng_next(eng *e)
{
    eng_event *ev;
    pthread_mutex_lock(&e->mu);
    ev = e->ev_head;
    if (ev) {
        e->ev_head = ev->next;
        if (!e->ev_head)
            e->ev_tail = NULL;
        ev->next = NULL;
    }
    pthread_mutex_unlock(&e->mu);
    return ev;
}

int eng_fd(const eng *e)
{
    return e->wake[0];
}

void eng_drain_fd(eng *e)
{
    char buf[64];
    pthread_mutex_lock(&e->mu);
    while (read(e->wake[0], buf, sizeof buf) > 0)
        ;
    e->woken = 0;
    pthread_mutex_unlock(&e->mu);
}

void eng_snapshot(eng *e, eng_status *out)
{
    pthread_mutex_lock(&e->mu);
    *out = e->pub;
    pthread_mutex_unlock(&e->mu);
}

void eng_weights_watch(eng *e, int on)
{
    eng_weights *drop = NULL;
    pthread_mutex_lock(&e->mu);
    e->watchers += on ? 1 : -1;
    if (on) {
        e->copy_asked = 1;
        pthread_cond_signal(&e->cv);
    } else if (e->watchers <= 0) {
        e->watchers = 0;
        drop = e->copy;
        e->copy = NULL;
    }
    pthread_mutex_unlock(&e->mu);
    eng_weights_release(drop);
}

eng_weights *eng_weights_get(eng *e)
{
    pthread_mutex_lock(&e->mu);
    eng_weights *w = e->copy ? eng_weights_ref(e->copy) : NULL;
    pthread_mutex_unlock(&e->mu);
    return w;
}

void eng_cancel_sample(eng *e)
{
    pthread_mutex_lock(&e->mu);
    e->cancel_sample = 1;
    pthread_mutex_unlock(&e->mu);
}

/* ------------------------------------------------------------------ */
/* Engine thread: events */

static eng_event *new_event(eng_event_type type)
{
    eng_event *ev = calloc(1, sizeof *ev);
    if (ev)
        ev->type = type;
    return ev;
}

/* Posts a message or error line (dropped when out of memory). */
PRINTF_LIKE(3, 4)
static void say(eng *e, eng_event_type type, const char *fmt, ...)
{
    eng_event *ev = new_event(type);
    char buf[4608];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (ev && (ev->text = strdup(buf)) != NULL)
        ev->len = strlen(buf);
    else if (ev) {
        free(ev);
        ev = NULL;
    }
    post_event(e, ev);
}

/* Whether a run is going on (training, or paused in the middle). */
static int in_run(const eng *e)
{
    return e->r.t != NULL;
}

/* Copies the engine's view into the published status. */
static void publish(eng *e)
{
    eng_status s;
    trainer *t = e->t;
    memset(&s, 0, sizeof s);
    s.state = e->state;
    s.cfg = e->cfg;
    s.dirty = e->dirty;
    s.goal_step = -1;
    s.goal_epoch = -1;
    s.goal_seconds = -1;
    if (in_run(e)) {
        if (e->r.goal.steps > 0)
            s.goal_step = t->step - e->r.steps_done + e->r.goal.steps;
        if (e->r.goal.epochs > 0)
            s.goal_epoch = e->r.epoch0 + e->r.goal.epochs;
        s.goal_seconds = run_seconds_left(&e->r);
    }
    s.val_loss = s.best_val_loss = NAN;
    s.best_step = -1;
    s.loss = s.lr = s.grad_norm = NAN;
    s.tokens_per_s = e->tps;
    snprintf(s.session, sizeof s.session, "%s", e->session);
    if (t) {
        s.loaded = 1;
        s.trainable = t->stream_len >= 2;
        s.step = t->step;
        s.epoch = (double)t->epoch + (t->stream_len > 1
                  ? (double)t->pos / (double)(t->stream_len - 1) : 0);
        s.val_loss = t->last_val_loss;
        s.best_val_loss = t->best_val_loss;
        s.best_step = t->best_step;
        if (t->n_hist > 0)
            s.loss = t->hist[t->n_hist - 1].loss;
        s.lr = trainer_lr(t, t->step);
        s.elapsed = t->elapsed;
        s.n_params = model_param_count(t->m);
        snprintf(s.tokens, sizeof s.tokens, "%s", tok_kind_name(t->corp.vocab));
        s.vocab = (unsigned)tok_size(t->corp.vocab);
        s.tpb_train = corpus_bits_per_byte(&t->corp, SPLIT_TRAIN, M_LN2);
        s.tpb_val = corpus_bits_per_byte(&t->corp, SPLIT_VAL, M_LN2);
        snprintf(s.corpus, sizeof s.corpus, "%s",
                 t->corp.path ? t->corp.path : "");
    }
    pthread_mutex_lock(&e->mu);
    s.grad_norm = e->pub.grad_norm;
    e->pub = s;
    pthread_mutex_unlock(&e->mu);
}

static void set_state(eng *e, eng_state s)
{
    eng_event *ev;
    if (e->state == s)
        return;
    e->state = s;
    publish(e);
    if ((ev = new_event(ENG_EV_STATE)) != NULL)
        ev->state = s;
    post_event(e, ev);
}

/* Posts the whole metric history of a new trainer. */
static void post_reset(eng *e)
{
    eng_event *ev = new_event(ENG_EV_RESET);
    trainer *t = e->t;
    if (ev && t && t->n_hist > 0) {
        ev->hist = malloc(t->n_hist * sizeof *ev->hist);
        if (ev->hist) {
            memcpy(ev->hist, t->hist, t->n_hist * sizeof *ev->hist);
            ev->n_hist = t->n_hist;
        }
    }
    post_event(e, ev);
}

/* ------------------------------------------------------------------ */
/* Engine thread: building trainers */

/* Replaces the trainer by nt (may be NULL) and tells the UI. */
static void install(eng *e, trainer *nt)
{
    trainer_free(e->t);
    e->t = nt;
    e->installs++;
    memset(&e->r, 0, sizeof e->r);
    e->keep_saved = 0;
    e->dirty = 0;
    e->tps = 0;
    if (nt && nt->cfg.threads > 0)
        e->be->set_threads(e->be, nt->cfg.threads);
    e->state = ENG_IDLE;
    publish(e);
    post_reset(e);
}

/* Opens the embed-init file of tc, if any, and makes the embedding its
 * size (the file's dimension rules; tied, it must be hidden's).  Returns
 * 0 with *ef NULL or open, or -1 with a message in err. */
static int open_embed(train_config *tc, emb_file **ef, char *err, size_t errlen)
{
    *ef = NULL;
    if (!tc->embed_init[0])
        return 0;
    if ((*ef = trainer_embed_open(tc, err, errlen)) == NULL)
        return -1;
    if (tc->model.tie && emb_dim(*ef) != tc->model.hidden) {
        snprintf(err, errlen, "embed-init: %.300s has vectors of %d values; tie=on needs "
                 "them of hidden's %d", tc->embed_init, emb_dim(*ef), tc->model.hidden);
        emb_close(*ef);
        *ef = NULL;
        return -1;
    }
    tc->model.embed = emb_dim(*ef);
    return 0;
}

/* Builds a trainer on the corpus at path with the settings cfg, read with
 * vocab (a rebuild keeps the tokenizer) or a new tokenizer as tok says,
 * its embedding from cfg's embed-init (the coverage said).  Returns NULL
 * with a message in err. */
static trainer *build(eng *e, const char *path, const tok_vocab *vocab,
                      const tok_options *tok, const setting_values *cfg,
                      char *err, size_t errlen)
{
    corpus c;
    trainer *t = NULL;
    emb_file *ef = NULL;
    emb_report rep;
    char line[TRAIN_PATH_MAX + 256];
    train_config tc = cfg->train;
    corpus_prep prep;
    corpus_prep_default(&prep);
    memset(&c, 0, sizeof c);
    if (corpus_open(&c, path, vocab, tok, tc.val_frac, tc.test_frac, &prep, err,
                    errlen) != 0)
        return NULL;
    tc.model.vocab = (int)tok_size(c.vocab);
    if (tc.model.tie)
        tc.model.embed = tc.model.hidden;
    if (open_embed(&tc, &ef, err, errlen) == 0
        && model_config_check(&tc.model, err, errlen) == 0)
        t = trainer_create(e->be, &tc, &c, err, errlen);
    corpus_free(&c);
    if (t && ef && trainer_embed_init(t, ef, &rep, err, errlen) != 0) {
        trainer_free(t);
        t = NULL;
    }
    if (t && ef) {
        trainer_embed_summary(&rep, tc.embed_init, line, sizeof line);
        say(e, ENG_EV_MESSAGE, "%s", line);
    }
    emb_close(ef);
    if (t)
        t->cfg.model.vocab = tc.model.vocab;
    return t;
}

/* Rebuilds the model from scratch on the current corpus with cfg (which
 * becomes the settings on success).  Returns 0, or -1 after an error. */
static int rebuild(eng *e, const setting_values *cfg, const char *why)
{
    char err[1024], path[1024];
    trainer *nt;
    if (!e->t || !e->t->corp.path || !e->t->corp.path[0] || e->t->stream_len < 2) {
        e->cfg = *cfg;
        say(e, ENG_EV_MESSAGE, "%s: takes effect when a corpus is loaded", why);
        return 0;
    }
    snprintf(path, sizeof path, "%s", e->t->corp.path);
    if ((nt = build(e, path, e->t->corp.vocab, NULL, cfg, err, sizeof err)) == NULL) {
        say(e, ENG_EV_ERROR, "%s: %s", why, err);
        return -1;
    }
    int trained = e->t && e->t->step > 0;
    int was_training = e->state == ENG_TRAINING;
    e->cfg = *cfg;
    e->cfg.train.model.embed = nt->cfg.model.embed;     /* embed-init's */
    install(e, nt);
    /* a change of architecture while training goes on training */
    if (was_training)
        set_state(e, ENG_TRAINING);
    say(e, ENG_EV_MESSAGE, "%s: %s %dx%d, %zu parameters%s", why,
        model_cell_name(nt->cfg.model.cell), nt->cfg.model.layers,
        nt->cfg.model.hidden, model_param_count(nt->m),
        trained ? "; training starts over" : "");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Engine thread: sampling and evaluation */

/* Streams a generated token to the UI.  Returns nonzero when the sample
 * was cancelled, which stops the decoder. */
static int on_token(void *ctx, const sample_token *tok)
{
    eng *e = ctx;
    eng_event *ev = new_event(ENG_EV_SAMPLE_TOKEN);
    if (ev && (ev->text = malloc(tok->len + 1)) != NULL) {
        memcpy(ev->text, tok->bytes, tok->len);
        ev->text[tok->len] = '\0';
        ev->len = tok->len;
        ev->prob = tok->prob;
    } else if (ev) {
        free(ev);
        ev = NULL;
    }
    return post_event(e, ev);
}

/* The one call into the decoder: everything about how tokens are chosen
 * goes through here, so a richer decoder plugs in at this single place.
 * res must be freed with sample_result_free whatever the return.  Returns
 * 0 (res->stop says why it ended), or -1 with a one-line message. */
static int decode(eng *e, const sample_config *sc, sample_result *res, char *err,
                  size_t errlen)
{
    sample_request req;
    sample_request_init(&req, sc, &e->t->rng);
    req.on_token = on_token;
    req.ctx = e;
    return sample_decode(e->t->m, e->t->corp.vocab, &req, res, err, errlen);
}

/* The decoding strategy as the sample header shows it (the weights only
 * when they are not the exact ones). */
static void strategy_text(const sample_config *sc, char *buf, size_t len)
{
    size_t o = 0;
    if (sc->beam > 1) {
        o += (size_t)snprintf(buf, len, "beam %d", sc->beam);
        if (sc->weights != BE_WEIGHTS_FP32 && o < len)
            snprintf(buf + o, len - o, ", %s weights", be_weights_name(sc->weights));
        return;
    }
    if (sc->greedy || sc->temperature <= 0)
        o += (size_t)snprintf(buf, len, "greedy");
    else
        o += (size_t)snprintf(buf, len, "temperature %g", (double)sc->temperature);
    if (!sc->greedy && sc->temperature > 0 && sc->top_k > 0 && o < len)
        o += (size_t)snprintf(buf + o, len - o, ", top-k %d", sc->top_k);
    if (!sc->greedy && sc->temperature > 0 && sc->top_p < 1 && o < len)
        o += (size_t)snprintf(buf + o, len - o, ", top-p %g", (double)sc->top_p);
    if (sc->repetition_penalty != 1.0f && o < len)
        o += (size_t)snprintf(buf + o, len - o, ", repetition penalty %g",
                              (double)sc->repetition_penalty);
    if (sc->weights != BE_WEIGHTS_FP32 && o < len)
        snprintf(buf + o, len - o, ", %s weights", be_weights_name(sc->weights));
}

/* Generates n tokens (0: the sample-length setting).  Returns 0 or -1. */
static int run_sample(eng *e, long n)
{
    char err[512], strategy[160];
    sample_config sc = e->cfg.sample;
    sample_result res;
    eng_state before = e->state;
    eng_event *ev;
    int rc;
    if (n > 0)
        sc.length = (int)n;
    strategy_text(&sc, strategy, sizeof strategy);
    if ((ev = new_event(ENG_EV_SAMPLE_BEGIN)) != NULL) {
        ev->text = strdup(sc.prime);
        ev->text2 = strdup(strategy);
        ev->len = ev->text ? strlen(ev->text) : 0;
        ev->step = e->t->step;
        ev->temperature = sc.temperature;
        ev->n = sc.length;
    }
    pthread_mutex_lock(&e->mu);
    e->cancel_sample = 0;
    pthread_mutex_unlock(&e->mu);
    post_event(e, ev);
    set_state(e, ENG_SAMPLING);
    rc = decode(e, &sc, &res, err, sizeof err);
    if ((ev = new_event(ENG_EV_SAMPLE_END)) != NULL)
        ev->n = (long)res.stats.generated;
    post_event(e, ev);
    set_state(e, before);
    if (rc != 0)
        say(e, ENG_EV_ERROR, "sample: %s", err);
    else if (res.stats.prime_unknown > 0)
        say(e, ENG_EV_MESSAGE, "prime: %zu %s (first: '%s')", res.stats.prime_unknown,
            tok_unknown_note(e->t->corp.vocab, res.stats.prime_unknown),
            res.stats.first_unknown);
    if (rc == 0 && res.stop == SAMPLE_STOP_CALLBACK)
        say(e, ENG_EV_MESSAGE, "sample stopped after %zu tokens", res.stats.generated);
    sample_result_free(&res);
    return rc;
}

/* Evaluates a split; a validation is recorded in the history.  Returns
 * 0 or -1 after an error. */
static int run_eval(eng *e, int split, int periodic)
{
    char err[512];
    eval_result r;
    eng_state before = e->state;
    eng_event *ev;
    set_state(e, ENG_EVALUATING);
    int rc = trainer_eval(e->t, (corpus_split)split, e->t->cfg.eval_streams,
                          &r, err, sizeof err);
    set_state(e, before);
    if (rc != 0) {
        say(e, ENG_EV_ERROR, "eval: %s", err);
        return -1;
    }
    if (split == SPLIT_VAL)
        trainer_note_val(e->t, r.loss);
    if ((ev = new_event(ENG_EV_EVAL)) != NULL) {
        ev->eval = r;
        ev->bpb = corpus_bits_per_byte(&e->t->corp, (corpus_split)split, r.loss);
        ev->split = split;
        ev->periodic = periodic;
        ev->step = e->t->step;
    }
    post_event(e, ev);
    publish(e);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Engine thread: training, by the run policy of train/run.c */

/* The run's validation: the state shows it while it lasts; the event
 * goes out after the step's (on_run_step, on_run_end). */
static int on_run_validate(void *ctx, int periodic, eval_result *ev,
                           char *err, size_t len)
{
    eng *e = ctx;
    eng_state before = e->state;
    int rc;
    set_state(e, ENG_EVALUATING);
    rc = trainer_eval(e->t, SPLIT_VAL, e->t->cfg.eval_streams, ev, err, len);
    set_state(e, before);
    e->val_periodic = periodic;
    return rc;
}

static void post_val(eng *e, const eval_result *val, int periodic)
{
    eng_event *ev = new_event(ENG_EV_EVAL);
    if (ev) {
        ev->eval = *val;
        ev->bpb = corpus_bits_per_byte(&e->t->corp, SPLIT_VAL, val->loss);
        ev->split = SPLIT_VAL;
        ev->periodic = periodic;
        ev->step = e->t->step;
    }
    post_event(e, ev);
}

static int on_run_step(void *ctx, const train_info *in, const eval_result *val,
                       int last, char *err, size_t len)
{
    eng *e = ctx;
    eng_event *ev;
    (void)last, (void)err, (void)len;
    e->dirty = 1;
    e->tps = e->tps > 0 ? 0.9 * e->tps + 0.1 * in->tokens_per_s : in->tokens_per_s;
    pthread_mutex_lock(&e->mu);
    e->pub.grad_norm = in->grad_norm;
    pthread_mutex_unlock(&e->mu);
    if ((ev = new_event(ENG_EV_STEP)) != NULL)
        ev->info = *in;
    post_event(e, ev);
    if (val)
        post_val(e, val, e->val_periodic);
    return 0;
}

static void on_run_sample(void *ctx)
{
    run_sample(ctx, 0);
}

/* The end of a run: its last validation, then the message, then idle
 * (whoever sees the state idle has the message queued). */
static int on_run_end(void *ctx, const eval_result *val, int fresh, char *err,
                      size_t len)
{
    eng *e = ctx;
    (void)err, (void)len;
    if (val && fresh)
        post_val(e, val, 0);
    say(e, ENG_EV_MESSAGE, "training stopped at step %ld (%s)", e->t->step,
        run_why(&e->r));
    return 0;
}

/* The sample-every setting as the run policy takes it. */
static run_cadence sample_cadence_of(const eng *e)
{
    return (run_cadence){.steps = e->cfg.sample.every.steps,
                         .seconds = e->cfg.sample.every.seconds};
}

/* Keeps the session saved with `save` from going stale: every save-every
 * of training.  The end of a run saves nothing (saving is the user's
 * call then: quit and open ask), so only the periodic saves write. */
static int on_run_save(void *ctx, char *err, size_t len)
{
    eng *e = ctx;
    if (run_why(&e->r) != NULL)
        return 0;
    if (session_save(e->t, &e->cfg.sample, e->session, err, len) != 0)
        return -1;
    e->dirty = 0;
    say(e, ENG_EV_MESSAGE, "saved session to %s (step %ld)", e->session,
        e->t->step);
    return 0;
}

static void on_run_warn(void *ctx, const char *msg)
{
    say(ctx, ENG_EV_ERROR, "%s", msg);
}

/* The run's periodic saves: into the session saved with `save`, at the
 * save-every setting; none before such a save. */
static void keep_saving(eng *e)
{
    run_cadence every = {e->cfg.save_every.steps, e->cfg.save_every.seconds};
    if (in_run(e))
        run_set_saving(&e->r, e->keep_saved ? on_run_save : NULL, &every);
}

/* Starts a run of the current trainer toward goal. */
static void begin_run(eng *e, const run_goal *goal)
{
    run_cadence every = sample_cadence_of(e);
    run_hooks hooks = {.ctx = e, .validate = on_run_validate,
                       .step = on_run_step, .sample = on_run_sample,
                       .end = on_run_end, .warn = on_run_warn};
    run_begin(&e->r, e->t, goal, &every, &hooks, NULL);
    keep_saving(e);
}

/* Ends the run (why: the reason when it is cut short, else NULL). */
static void finish_run(eng *e, const char *why)
{
    char err[512];
    if (!in_run(e)) {
        run_goal none = {0};
        begin_run(e, &none);
    }
    if (why)
        run_stop(&e->r, why);
    if (run_end(&e->r, err, sizeof err) != 0)
        say(e, ENG_EV_ERROR, "training stopped: %s", err);
    memset(&e->r, 0, sizeof e->r);
    set_state(e, ENG_IDLE);
}

static void train_one(eng *e)
{
    char err[512];
    int rc = run_step(&e->r, err, sizeof err);
    if (rc < 0) {
        memset(&e->r, 0, sizeof e->r);
        set_state(e, ENG_IDLE);
        say(e, ENG_EV_ERROR, "training stopped: %s", err);
    } else if (rc == 0) {
        finish_run(e, NULL);
    } else {
        publish(e);
    }
}

/* ------------------------------------------------------------------ */
/* Engine thread: copies of the weights for readers (eng_weights_get) */

/* Whether the newest copy is out of date enough to take another. */
static int copy_due(eng *e, int asked)
{
    if (!e->t)
        return 0;
    if (asked || e->copy_installs != e->installs)
        return 1;
    if (e->copy_step == e->t->step)
        return 0;
    return e->state != ENG_TRAINING || clock_now() - e->copy_time >= ENG_WEIGHTS_PERIOD;
}

/* Takes and publishes a copy when readers watch and it is due. */
static void refresh_copy(eng *e)
{
    pthread_mutex_lock(&e->mu);
    int watched = e->watchers > 0, asked = e->copy_asked;
    e->copy_asked = 0;
    eng_weights *same = e->copy && e->copy_installs == e->installs
                        ? eng_weights_ref(e->copy) : NULL;
    pthread_mutex_unlock(&e->mu);
    eng_weights *w = NULL;
    if (watched && copy_due(e, asked))
        w = eng_weights_take(e->t, &e->cfg.sample, ++e->copies, same);
    eng_weights_release(same);
    if (!w)
        return;                 /* none due, or out of memory: the old one serves */
    e->copy_installs = e->installs;
    e->copy_step = e->t->step;
    e->copy_time = clock_now();
    pthread_mutex_lock(&e->mu);
    eng_weights *old = e->copy;
    if (e->watchers > 0)        /* else the last reader left meanwhile */
        e->copy = w;
    else
        old = w;
    pthread_mutex_unlock(&e->mu);
    eng_weights_release(old);
}

/* ------------------------------------------------------------------ */
/* Engine thread: commands */

static int need_trainer(eng *e, const char *what)
{
    if (e->t)
        return 0;
    say(e, ENG_EV_ERROR, "%s: no corpus loaded (use load PATH)", what);
    return -1;
}

static int need_training_text(eng *e, const char *what)
{
    if (need_trainer(e, what) != 0)
        return -1;
    if (e->t->stream_len >= 2)
        return 0;
    say(e, ENG_EV_ERROR, "%s: the session was opened without its corpus "
        "(use load PATH to train on a text)", what);
    return -1;
}

/* A run toward goal of a schedule that needs a length has one. */
static int need_length(eng *e, const char *what, const run_goal *goal)
{
    if (goal->steps > 0 || goal->epochs > 0 || goal->seconds > 0
        || !run_needs_length(e->t))
        return 0;
    say(e, ENG_EV_ERROR, "%s: the %s schedule needs the run's length (use "
        "train steps=N, epochs=N or time=SECONDS)", what,
        sched_name(e->t->cfg.schedule));
    return -1;
}

static int do_load(eng *e, const eng_cmd *c)
{
    char err[1024];
    setting_values cfg = e->cfg;
    for (int i = 0; i < c->n_sets && i < ENG_LOAD_SETS; i++)
        if (setting_apply(c->set_key[i], c->set_value[i], &cfg, err, sizeof err) != 0) {
            say(e, ENG_EV_ERROR, "load: %s", err);
            return -1;
        }
    trainer *nt = build(e, c->str, NULL, &c->tok, &cfg, err, sizeof err);
    if (!nt) {
        say(e, ENG_EV_ERROR, "load: %s", err);
        return -1;
    }
    e->cfg = cfg;
    e->cfg.train.model.embed = nt->cfg.model.embed;     /* embed-init's */
    install(e, nt);
    e->session[0] = '\0';
    e->keep_saved = 0;
    publish(e);
    say(e, ENG_EV_MESSAGE, "loaded %s: %zu tokens (%s), vocabulary %u; model %s "
        "%dx%d, %zu parameters", c->str, nt->corp.n, tok_kind_name(nt->corp.vocab),
        (unsigned)tok_size(nt->corp.vocab), model_cell_name(nt->cfg.model.cell),
        nt->cfg.model.layers, nt->cfg.model.hidden, model_param_count(nt->m));
    return 0;
}

static int do_model(eng *e, const model_config *m)
{
    char err[512];
    setting_values cfg = e->cfg;
    cfg.train.model = *m;
    cfg.train.model.vocab = e->t ? e->t->cfg.model.vocab : 1;
    if (cfg.train.model.tie && cfg.train.model.embed != cfg.train.model.hidden) {
        say(e, ENG_EV_ERROR, "model: tie=on needs embed equal to hidden "
            "(they are %d and %d)", m->embed, m->hidden);
        return -1;
    }
    if (model_config_check(&cfg.train.model, err, sizeof err) != 0) {
        say(e, ENG_EV_ERROR, "%s", err);   /* "model: ..." */
        return -1;
    }
    return rebuild(e, &cfg, "new model");
}

/* The schedule's settings, into the trainer; a new schedule starts
 * afresh (planned over what is left of a run going on). */
static void apply_schedule(eng *e, int restart)
{
    train_config *c = &e->t->cfg;
    const train_config *v = &e->cfg.train;
    c->schedule = v->schedule;
    c->warmup = v->warmup;
    c->min_lr = v->min_lr;
    c->lr_decay = v->lr_decay;
    c->lr_decay_every = v->lr_decay_every;
    c->plateau_factor = v->plateau_factor;
    c->plateau_patience = v->plateau_patience;
    if (restart && in_run(e))
        run_replan(&e->r);
    else if (restart)
        trainer_sched_reset(e->t);
}

/* Applies a changed live setting to the running trainer (restart: the
 * schedule was set). */
static void apply_live(eng *e, int restart)
{
    trainer *t = e->t;
    if (!t)
        return;
    apply_schedule(e, restart);
    t->cfg.optim.lr = e->cfg.train.optim.lr;
    t->cfg.optim.nonmono = e->cfg.train.optim.nonmono;
    t->cfg.clip_norm = e->cfg.train.clip_norm;
    t->cfg.model.dropout = e->cfg.train.model.dropout;
    memcpy(t->cfg.model.drop, e->cfg.train.model.drop, sizeof t->cfg.model.drop);
    t->cfg.eval_every = e->cfg.train.eval_every;
    t->cfg.label_smoothing = e->cfg.train.label_smoothing;
    t->cfg.ar = e->cfg.train.ar;
    t->cfg.tar = e->cfg.train.tar;
    t->cfg.bptt_jitter = e->cfg.train.bptt_jitter;
    /* the AWD regularisers change no shape: the model carves what they
     * need on its next forward */
    t->cfg.model.dropout_embed = e->cfg.train.model.dropout_embed;
    t->cfg.model.locked = e->cfg.train.model.locked;
    t->cfg.model.weight_drop = e->cfg.train.model.weight_drop;
    trainer_apply_live(t);
    t->cfg.freeze_embed = e->cfg.train.freeze_embed;
    if (t->cfg.threads != e->cfg.train.threads) {
        t->cfg.threads = e->cfg.train.threads;
        e->be->set_threads(e->be, t->cfg.threads);
    }
    run_cadence every = sample_cadence_of(e);
    if (in_run(e) && (every.steps != e->r.cadence.steps
                      || every.seconds != e->r.cadence.seconds))
        run_set_cadence(&e->r, &every);
    if (in_run(e) && (e->cfg.save_every.steps != e->r.goal.save_every.steps
                      || e->cfg.save_every.seconds != e->r.goal.save_every.seconds))
        keep_saving(e);
}

/* A new optimizer on the same weights. */
static int apply_optim(eng *e)
{
    trainer *t = e->t;
    optim o;
    if (!t)
        return 0;
    if (optim_init(&o, e->be, &e->cfg.train.optim, t->m->n_params) != 0) {
        say(e, ENG_EV_ERROR, "optimizer: out of memory");
        return -1;
    }
    optim_free(&t->opt);
    t->opt = o;
    t->cfg.optim = e->cfg.train.optim;
    say(e, ENG_EV_MESSAGE, "optimizer %s from now on (lr %g); its state "
        "starts afresh", optim_name(o.cfg.kind), (double)o.cfg.lr);
    return 0;
}

/* Moves the engine (and its trainer: weights, optimizer state, carried
 * state) to the device cfg names.  Returns 0, or -1 after an error event
 * (no such device; nothing changed). */
static int apply_device(eng *e, const setting_values *cfg)
{
    char err[512];
    be_backend *nb = be_open(cfg->device, BE_FP32, NULL, err, sizeof err);
    if (!nb) {
        say(e, ENG_EV_ERROR, "set device: %s", err);
        return -1;
    }
    nb->set_threads(nb, cfg->train.threads);
    if (e->t && trainer_move(e->t, nb, err, sizeof err) != 0) {
        nb->destroy(nb);
        say(e, ENG_EV_ERROR, "set device: %s", err);
        return -1;
    }
    e->be->destroy(e->be);
    e->be = nb;
    e->cfg = *cfg;
    say(e, ENG_EV_MESSAGE, "device = %s%s", nb->name,
        e->t ? " (weights and optimizer state moved)" : "");
    publish(e);
    return 0;
}

static int do_set(eng *e, int key, const char *value)
{
    char err[512], what[160];
    size_t n;
    const setting *tab = setting_table(&n);
    setting_values cfg = e->cfg;
    if (key < 0 || (size_t)key >= n) {
        say(e, ENG_EV_ERROR, "set: no such setting");
        return -1;
    }
    if (setting_apply(key, value, &cfg, err, sizeof err) != 0) {
        say(e, ENG_EV_ERROR, "set %s", err);
        return -1;
    }
    switch (tab[key].effect) {
    case SETTING_RESET:
        snprintf(what, sizeof what, "set %s %s", tab[key].name, value);
        return rebuild(e, &cfg, what);
    case SETTING_OPTIM:
        e->cfg = cfg;
        return apply_optim(e);
    case SETTING_MOVE:
        return apply_device(e, &cfg);
    default:
        if (train_config_check(&cfg.train, err, sizeof err) != 0) {
            say(e, ENG_EV_ERROR, "set %s: %s", tab[key].name, err);
            return -1;
        }
        e->cfg = cfg;
        apply_live(e, strcmp(tab[key].name, "schedule") == 0);
        publish(e);
        return 0;
    }
}

static int do_train(eng *e, const eng_cmd *c)
{
    run_goal goal = {.steps = c->steps, .epochs = c->epochs,
                     .seconds = c->seconds, .patience = c->patience,
                     .min_delta = c->min_delta};
    if (need_training_text(e, "train") != 0 || need_length(e, "train", &goal) != 0)
        return -1;
    begin_run(e, &goal);
    if (goal.steps > 0)
        say(e, ENG_EV_MESSAGE, "training to step %ld", e->t->step + goal.steps);
    else if (goal.epochs > 0)
        say(e, ENG_EV_MESSAGE, "training for %g epochs", goal.epochs);
    else if (goal.seconds > 0)
        say(e, ENG_EV_MESSAGE, "training for %g s", goal.seconds);
    else
        say(e, ENG_EV_MESSAGE, "training until stopped");
    set_state(e, ENG_TRAINING);
    publish(e);
    return 0;
}

static int do_pause(eng *e)
{
    if (e->state != ENG_TRAINING) {
        say(e, ENG_EV_ERROR, "pause: not training");
        return -1;
    }
    run_pause(&e->r);
    set_state(e, ENG_PAUSED);
    say(e, ENG_EV_MESSAGE, "paused at step %ld", e->t->step);
    return 0;
}

static int do_resume(eng *e)
{
    if (e->state != ENG_PAUSED) {
        say(e, ENG_EV_ERROR, "resume: %s", e->state == ENG_TRAINING
            ? "already training" : "nothing is paused (use train)");
        return -1;
    }
    if (need_training_text(e, "resume") != 0)
        return -1;
    if (in_run(e)) {
        run_resume(&e->r);
    } else {
        run_goal none = {0};     /* an opened session: until stopped */
        if (need_length(e, "resume", &none) != 0)
            return -1;
        begin_run(e, &none);
    }
    set_state(e, ENG_TRAINING);
    say(e, ENG_EV_MESSAGE, "resumed at step %ld", e->t->step);
    return 0;
}

static int do_stop(eng *e)
{
    if (e->state != ENG_TRAINING && e->state != ENG_PAUSED) {
        say(e, ENG_EV_ERROR, "stop: not training");
        return -1;
    }
    finish_run(e, "stopped");
    return 0;
}

static int do_prime(eng *e, const char *text)
{
    if (strlen(text) >= sizeof e->cfg.sample.prime) {
        say(e, ENG_EV_ERROR, "prime: longer than %zu bytes",
            sizeof e->cfg.sample.prime - 1);
        return -1;
    }
    snprintf(e->cfg.sample.prime, sizeof e->cfg.sample.prime, "%s", text);
    publish(e);             /* the command line confirmed it already */
    return 0;
}

static int do_save(eng *e, const char *dir)
{
    char err[1024];
    if (need_trainer(e, "save") != 0)
        return -1;
    if (session_save(e->t, &e->cfg.sample, dir, err, sizeof err) != 0) {
        say(e, ENG_EV_ERROR, "save: %s", err);
        return -1;
    }
    snprintf(e->session, sizeof e->session, "%s", dir);
    e->keep_saved = 1;
    keep_saving(e);
    e->dirty = 0;
    publish(e);
    say(e, ENG_EV_MESSAGE, "saved session to %s (step %ld)", dir, e->t->step);
    return 0;
}

static int do_open(eng *e, const char *dir)
{
    char err[1024], err2[1024];
    sample_config sample;
    trainer *nt = session_load(e->be, dir, NULL, &sample, err, sizeof err);
    int sampling_only = 0;
    if (!nt) {
        /* The model is still usable when only its corpus is missing. */
        nt = session_load(e->be, dir, SESSION_NO_CORPUS, &sample, err2, sizeof err2);
        if (!nt) {
            say(e, ENG_EV_ERROR, "open: %s", err);
            return -1;
        }
        sampling_only = 1;
    }
    if (setting_check_session(&nt->cfg, &sample, dir, err, sizeof err) != 0) {
        trainer_free(nt);
        say(e, ENG_EV_ERROR, "open: %s", err);
        return -1;
    }
    e->cfg.train = nt->cfg;
    e->cfg.sample = sample;
    install(e, nt);
    snprintf(e->session, sizeof e->session, "%s", dir);
    if (nt->stream_len >= 2)
        e->state = ENG_PAUSED;
    publish(e);
    if (sampling_only)
        say(e, ENG_EV_MESSAGE, "opened %s at step %ld for sampling only: %s",
            dir, nt->step, err);
    else
        say(e, ENG_EV_MESSAGE, "opened %s at step %ld (paused; resume to "
            "continue training)", dir, nt->step);
    return 0;
}

static int handle(eng *e, const eng_cmd *c)
{
    switch (c->type) {
    case ENG_CMD_LOAD: return do_load(e, c);
    case ENG_CMD_MODEL: return do_model(e, &c->model);
    case ENG_CMD_SET: return do_set(e, c->key, c->str);
    case ENG_CMD_TRAIN: return do_train(e, c);
    case ENG_CMD_PAUSE: return do_pause(e);
    case ENG_CMD_RESUME: return do_resume(e);
    case ENG_CMD_STOP: return do_stop(e);
    case ENG_CMD_EVAL:
        return need_trainer(e, "eval") != 0 ? -1 : run_eval(e, c->split, 0);
    case ENG_CMD_PRIME: return do_prime(e, c->str);
    case ENG_CMD_SAMPLE:
        return need_trainer(e, "sample") != 0 ? -1 : run_sample(e, c->n);
    case ENG_CMD_SAVE: return do_save(e, c->str);
    case ENG_CMD_OPEN: return do_open(e, c->str);
    case ENG_CMD_QUIT: return 0;
    }
    return -1;
}

/* Takes the next command, waiting for one unless training. */
static cmd_node *next_command(eng *e)
{
    cmd_node *n;
    pthread_mutex_lock(&e->mu);
    while (!e->cmd_head && e->state != ENG_TRAINING && !e->copy_asked)
        pthread_cond_wait(&e->cv, &e->mu);
    n = e->cmd_head;
    if (n) {
        e->cmd_head = n->next;
        if (!e->cmd_head)
            e->cmd_tail = NULL;
    }
    pthread_mutex_unlock(&e->mu);
    return n;
}

static void *engine_main(void *arg)
{
    eng *e = arg;
    for (;;) {
        cmd_node *n = next_command(e);
        if (!n) {
            if (e->state == ENG_TRAINING)
                train_one(e);
            refresh_copy(e);
            continue;
        }
        int quit = n->cmd.type == ENG_CMD_QUIT;
        int rc = handle(e, &n->cmd);
        eng_event *ev = new_event(ENG_EV_DONE);
        publish(e);
        if (ev) {
            ev->id = n->id;
            ev->status = rc;
        }
        post_event(e, ev);
        free(n);
        if (quit)
            return NULL;
        refresh_copy(e);
    }
}

/* ------------------------------------------------------------------ */
/* Life cycle (UI thread) */

eng *eng_new(char *err, size_t errlen)
{
    eng *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->wake[0] = e->wake[1] = -1;
    if (pipe(e->wake) != 0) {
        snprintf(err, errlen, "cannot create a pipe: %s", strerror(errno));
        free(e);
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fcntl(e->wake[i], F_SETFL, fcntl(e->wake[i], F_GETFL) | O_NONBLOCK);
        fcntl(e->wake[i], F_SETFD, FD_CLOEXEC);
    }
    if ((e->be = be_open("cpu", BE_FP32, NULL, err, errlen)) == NULL)
        goto fail;
    setting_defaults(&e->cfg);
    snprintf(e->cfg.device, sizeof e->cfg.device, "%s", e->be->name);
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    publish(e);
    if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
        snprintf(err, errlen, "cannot start the engine thread");
        pthread_mutex_destroy(&e->mu);
        pthread_cond_destroy(&e->cv);
        goto fail;
    }
    return e;
fail:
    if (e->be)
        e->be->destroy(e->be);
    close(e->wake[0]);
    close(e->wake[1]);
    free(e);
    return NULL;
}

void eng_free(eng *e)
{
    eng_cmd q;
    eng_event *ev;
    if (!e)
        return;
    memset(&q, 0, sizeof q);
    q.type = ENG_CMD_QUIT;
    /* The quit goes first, so queued work (a long sample, say) is skipped. */
    pthread_mutex_lock(&e->mu);
    e->cancel_sample = 1;
    while (e->cmd_head) {
        cmd_node *n = e->cmd_head;
        e->cmd_head = n->next;
        free(n);
    }
    e->cmd_tail = NULL;
    pthread_mutex_unlock(&e->mu);
    if (eng_post(e, &q) < 0) {
        /* no memory for the quit: nothing safe is left to do but leak */
        return;
    }
    pthread_join(e->thread, NULL);
    while ((ev = eng_next(e)) != NULL)
        eng_event_free(ev);
    eng_weights_release(e->copy);
    trainer_free(e->t);
    e->be->destroy(e->be);
    close(e->wake[0]);
    close(e->wake[1]);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}
