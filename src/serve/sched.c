/* sched.c - the generation scheduler (sched.h): a queue of jobs, workers
 * with a copy and a decoder batch per model version, streams joining and
 * leaving between steps. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"
#include "device/open.h"
#include "util/buf.h"
#include "decode/decoder.h"
#include "serve/sched.h"
#include "serve/version.h"

typedef struct slot {
    srv_stream st;
    srv_job *job;
    double t0, cpu;
    int failed;
} slot;

/* One version's streams on one worker: streams 0..n-1 of its decoder. */
typedef struct batch {
    decoder dec;
    sample_picker pk;
    float *logits;            /* [max_batch, V] */
    uint32_t ids[SRV_MAX_BATCH], rows[SRV_MAX_BATCH];
    slot slots[SRV_MAX_BATCH];
    int n;
    double asked;             /* when its jobs' clients were last asked for */
} batch;

/* A worker's copy of a model version (holding a reference to it). */
typedef struct copy {
    srv_version *v;
    model *m;
    batch b;
} copy;

typedef struct worker {
    srv_sched *s;
    pthread_t th;
    int started;
    be_backend *be;
    copy **c;                 /* its copies, c[0..n_c) */
    int n_c;
    size_t cap_c;
    int active;               /* streams in all its batches (its own) */
    unsigned seen;            /* the scheduler's nudges it has seen */
} worker;

struct srv_sched {
    srv_sched_config cfg;
    worker *w;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    /* under mu: */
    srv_job *queue, *queue_tail;   /* waiting, oldest first */
    srv_job *running;              /* taken by a worker */
    int queued, n_running, closed, quit;
    unsigned nudges;               /* versions retired so far */
    uint64_t steps, stream_steps, tokens;
};

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- lists (under mu) */

static void unlink_job(srv_job **head, srv_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        *head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
}

static void push_front(srv_job **head, srv_job *j)
{
    j->prev = NULL;
    j->next = *head;
    if (*head)
        (*head)->prev = j;
    *head = j;
}

/* The oldest queued job, moved to the running list. */
static srv_job *pop(srv_sched *s)
{
    srv_job *j = s->queue;
    if (j == s->queue_tail)
        s->queue_tail = NULL;
    unlink_job(&s->queue, j);
    j->queued = 0;
    s->queued--;
    push_front(&s->running, j);
    s->n_running++;
    return j;
}

static void enqueue(srv_sched *s, srv_job *j)
{
    j->next = NULL;
    j->prev = s->queue_tail;
    if (s->queue_tail)
        s->queue_tail->next = j;
    else
        s->queue = j;
    s->queue_tail = j;
    j->queued = 1;
    s->queued++;
}

/* ---- finishing a job */

static void finish_job(srv_sched *s, srv_job *job)
{
    pthread_mutex_lock(&s->mu);
    unlink_job(&s->running, job);
    s->n_running--;
    s->tokens += job->stats.generated;
    pthread_mutex_unlock(&s->mu);
    job->on_done(job->ctx, job);
}

static void complete(worker *w, slot *sl)
{
    srv_job *job = sl->job;
    job->stats = sl->st.stats;
    job->stop = sl->st.stop;
    job->stop_index = sl->st.stop_index;
    job->stop_at = sl->st.stop_at;
    job->seconds = clock_now() - sl->t0;
    job->cpu_seconds = sl->cpu;
    job->failed = sl->failed;
    srv_stream_free(&sl->st);
    finish_job(w->s, job);
}

/* ---- a worker's copies of model versions */

static int oom(char *err, size_t errlen)
{
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int batch_open(batch *b, model *m, int B, int weights, char *err, size_t errlen)
{
    if (decoder_open(&b->dec, m, B, (be_weights)weights, err, errlen) < 0)
        return -1;
    if (sample_picker_init(&b->pk, m->cfg.vocab) < 0 ||
        !(b->logits = malloc((size_t)B * (size_t)m->cfg.vocab * sizeof(float))))
        return oom(err, errlen);
    return 0;
}

static void copy_free(copy *c)
{
    if (!c)
        return;
    decoder_free(&c->b.dec);
    sample_picker_free(&c->b.pk);
    free(c->b.logits);
    model_free(c->m);
    srv_version_release(c->v);
    free(c);
}

/* A new copy of v on the worker's backend; NULL with a message. */
static copy *copy_new(worker *w, srv_version *v, char *err, size_t errlen)
{
    copy *c = calloc(1, sizeof *c);
    if (!c) {
        oom(err, errlen);
        return NULL;
    }
    c->v = srv_version_ref(v);
    if (!(c->m = srv_version_model(v, w->be, err, errlen)) ||
        batch_open(&c->b, c->m, w->s->cfg.max_batch, v->desc.sample.weights, err,
                   errlen) < 0) {
        copy_free(c);
        return NULL;
    }
    return c;
}

/* The worker's copy of v, made now when it has none; NULL (a line on
 * stderr) when it cannot be made: out of memory. */
static copy *copy_for(worker *w, srv_version *v)
{
    char err[256];
    for (int i = 0; i < w->n_c; i++)
        if (w->c[i]->v == v)
            return w->c[i];
    copy *c = NULL;
    if (GROW_ARRAY(&w->c, &w->cap_c, w->n_c + 1, 4) < 0)
        oom(err, sizeof err);
    else if ((c = copy_new(w, v, err, sizeof err)))
        w->c[w->n_c++] = c;
    if (!c)
        fprintf(stderr, "rnnlab: %s: %s\n", v->desc.name, err);
    return c;
}

/* Drops the copies of retired versions that no stream uses any more. */
static void prune(worker *w)
{
    for (int i = 0; i < w->n_c; ) {
        copy *c = w->c[i];
        if (c->b.n == 0 && atomic_load(&c->v->retired)) {
            copy_free(c);
            w->c[i] = w->c[--w->n_c];
        } else {
            i++;
        }
    }
}

/* ---- the worker */

/* Beam search, alone on the worker: sample_decode as `rnnlab sample`. */
static void run_beam(worker *w, copy *c, srv_job *job)
{
    char err[256];
    rng_state rng;
    sample_request req;
    rng_seed(&rng, job->seed);
    sample_request_init(&req, job->cfg, &rng);
    req.prime = job->prime;
    req.on_token = job->on_token;
    req.ctx = job->ctx;
    req.cancel = &job->cancel;
    req.n_alts = job->n_alts;
    double t0 = clock_now(), c0 = thread_cpu();
    job->failed = sample_decode(c->m, c->v->vocab, &req, &job->beams, err, sizeof err) != 0;
    job->stats = job->beams.stats;
    job->stop = job->beams.stop;
    job->stop_index = -1;
    job->seconds = clock_now() - t0;
    job->cpu_seconds = thread_cpu() - c0;
    finish_job(w->s, job);
}

/* A job whose client left is cancelled. */
static void ask_gone(srv_job *job)
{
    if (job->gone && job->gone(job->ctx))
        atomic_store(&job->cancel, 1);
}

/* Starts a taken job: a new stream at the end of its model's batch, at
 * zero state (or finished at once: cancelled, nothing to generate). */
static void admit(worker *w, srv_job *job)
{
    ask_gone(job);
    copy *c = copy_for(w, job->ver);
    if (!c) {
        job->failed = 1;
        job->stop_index = -1;
        finish_job(w->s, job);
        return;
    }
    if (job->cfg->beam > 1) {
        run_beam(w, c, job);
        return;
    }
    batch *b = &c->b;
    slot *sl = &b->slots[b->n];
    memset(sl, 0, sizeof *sl);
    sl->job = job;
    sl->t0 = clock_now();
    if (atomic_load(&job->cancel)) {
        sl->st.stop = SAMPLE_STOP_CANCEL;
        sl->st.stop_index = -1;
        sl->st.done = 1;
    } else if (srv_stream_start(&sl->st, c->v->vocab, job->cfg, job->stops,
                                job->prime, job->seed, job->n_alts, job->on_token,
                                job->ctx) < 0) {
        sl->failed = 1;
        sl->st.done = 1;
    }
    if (sl->st.done) {
        complete(w, sl);
        return;
    }
    decoder_reset(&b->dec, b->n);
    b->n++;
    w->active++;
}

/* Hands on the finished streams and closes the gaps: the others move
 * down, their states with them. */
static void compact(worker *w, batch *b)
{
    int k = 0, moved = 0;
    for (int i = 0; i < b->n; i++) {
        slot *sl = &b->slots[i];
        if (sl->st.done) {
            complete(w, sl);
            w->active--;
            continue;
        }
        if (k != i) {
            b->slots[k] = *sl;
            moved = 1;
        }
        b->rows[k++] = (uint32_t)i;
    }
    if (moved)
        decoder_select(&b->dec, k, b->rows);
    b->n = k;
}

/* One decoder step for every stream of the batch, each then taking its
 * row of logits.  Now and then the clients are asked whether they are
 * still there: one waiting for its answer is not watched otherwise, and a
 * long prompt would run to its end for nobody. */
static void step(worker *w, batch *b)
{
    int V = b->dec.m->cfg.vocab;
    double c0 = thread_cpu(), now = clock_now();
    if (now - b->asked >= w->s->cfg.ask_every) {
        b->asked = now;
        for (int i = 0; i < b->n; i++)
            ask_gone(b->slots[i].job);
    }
    for (int i = 0; i < b->n; i++)
        srv_stream_input(&b->slots[i].st, &b->ids[i]);
    decoder_step(&b->dec, b->n, b->ids, b->logits);
    for (int i = 0; i < b->n; i++) {
        slot *sl = &b->slots[i];
        if (srv_stream_take(&sl->st, &b->pk, b->logits + (size_t)i * V,
                            atomic_load(&sl->job->cancel)) < 0)
            sl->failed = 1;
    }
    double share = (thread_cpu() - c0) / b->n;
    for (int i = 0; i < b->n; i++)
        b->slots[i].cpu += share;
    pthread_mutex_lock(&w->s->mu);
    w->s->steps++;
    w->s->stream_steps += (uint64_t)b->n;
    pthread_mutex_unlock(&w->s->mu);
    compact(w, b);
}

/* How many queued jobs a worker takes now: its free streams, but no more
 * than its share of the queue, so idle workers get some. */
static int quota(const srv_sched *s, const worker *w)
{
    int free_streams = s->cfg.max_batch - w->active;
    int share = (s->queued + s->cfg.workers - 1) / s->cfg.workers;
    if (share < 1)
        share = 1;
    return free_streams < share ? free_streams : share;
}

/* Waits for work, then takes queued jobs (a beam job only when idle, and
 * alone).  Returns how many, or -1 when the worker is to end. */
static int take(worker *w, srv_job **got)
{
    srv_sched *s = w->s;
    int n = 0;
    pthread_mutex_lock(&s->mu);
    while (!s->quit && w->active == 0 && !s->queue && w->seen == s->nudges)
        pthread_cond_wait(&s->wake, &s->mu);
    w->seen = s->nudges;
    if (s->quit && w->active == 0 && !s->queue) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    for (int q = quota(s, w); n < q && s->queue; ) {
        int beam = s->queue->cfg->beam > 1;
        if (beam && (w->active > 0 || n > 0))
            break;
        got[n++] = pop(s);
        if (beam)
            break;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    srv_job *got[SRV_MAX_BATCH];
    int n;
    while ((n = take(w, got)) >= 0) {
        for (int i = 0; i < n; i++)
            admit(w, got[i]);
        for (int i = 0; i < w->n_c; i++)
            if (w->c[i]->b.n > 0)
                step(w, &w->c[i]->b);
        prune(w);
    }
    return NULL;
}

/* ---- starting and stopping */

/* A worker's backend: the CPU, with its share of the cores. */
static int open_worker(srv_sched *s, worker *w, char *err, size_t errlen)
{
    w->s = s;
    if (!(w->be = be_open("cpu", BE_FP32, NULL, err, errlen)))
        return -1;
    w->be->set_threads(w->be, s->cfg.worker_threads);
    return 0;
}

static void free_worker(worker *w)
{
    for (int i = 0; i < w->n_c; i++)
        copy_free(w->c[i]);
    free(w->c);
    if (w->be)
        w->be->destroy(w->be);
}

srv_sched *srv_sched_create(const srv_sched_config *c, char *err, size_t errlen)
{
    srv_sched *s = calloc(1, sizeof *s);
    if (!s) {
        oom(err, errlen);
        return NULL;
    }
    s->cfg = *c;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    if (!(s->w = calloc((size_t)c->workers, sizeof *s->w))) {
        oom(err, errlen);
        goto fail;
    }
    for (int i = 0; i < c->workers; i++)
        if (open_worker(s, &s->w[i], err, errlen) < 0)
            goto fail;
    for (int i = 0; i < c->workers; i++) {
        if (pthread_create(&s->w[i].th, NULL, worker_main, &s->w[i]) != 0) {
            snprintf(err, errlen, "cannot start a worker thread");
            goto fail;
        }
        s->w[i].started = 1;
    }
    return s;
fail:
    srv_sched_free(s);
    return NULL;
}

void srv_sched_free(srv_sched *s)
{
    if (!s)
        return;
    srv_sched_cancel(s);
    pthread_mutex_lock(&s->mu);
    s->closed = s->quit = 1;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; s->w && i < s->cfg.workers; i++)
        if (s->w[i].started)
            pthread_join(s->w[i].th, NULL);
    for (int i = 0; s->w && i < s->cfg.workers; i++)
        free_worker(&s->w[i]);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->w);
    free(s);
}

/* ---- the submitters' side */

int srv_sched_submit(srv_sched *s, srv_job *const *jobs, int n)
{
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    if (s->closed)
        rc = SRV_SCHED_CLOSED;
    else if (s->queued + n > s->cfg.max_queue)
        rc = SRV_SCHED_FULL;
    for (int i = 0; rc == 0 && i < n; i++) {
        atomic_store(&jobs[i]->cancel, 0);
        enqueue(s, jobs[i]);
    }
    if (rc == 0)
        pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void srv_sched_nudge(srv_sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->nudges++;
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_close(srv_sched *s)
{
    pthread_mutex_lock(&s->mu);
    s->closed = 1;
    pthread_mutex_unlock(&s->mu);
}

void srv_sched_cancel(srv_sched *s)
{
    pthread_mutex_lock(&s->mu);
    for (srv_job *j = s->queue; j; j = j->next)
        atomic_store(&j->cancel, 1);
    for (srv_job *j = s->running; j; j = j->next)
        atomic_store(&j->cancel, 1);
    pthread_mutex_unlock(&s->mu);
}

int srv_sched_busy(srv_sched *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->queued + s->n_running;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void srv_sched_stats_get(srv_sched *s, srv_sched_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->queued = s->queued;
    st->running = s->n_running;
    st->capacity = s->cfg.workers * s->cfg.max_batch;
    st->steps = s->steps;
    st->stream_steps = s->stream_steps;
    st->tokens = s->tokens;
    pthread_mutex_unlock(&s->mu);
}
