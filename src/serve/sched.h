/* sched.h - the generation scheduler: a queue of jobs (one generation
 * each) and a pool of worker threads.  Each worker holds its own CPU
 * backend and its own copy of each model version it has jobs on (made
 * from the version's weights when its first job comes), and steps the
 * jobs it has taken as the streams of one decoder batch per version
 * (continuous batching): jobs join and leave at step boundaries, each with
 * its own settings, generator and stop rule, so a job's text does not
 * depend on what else shares the batch.  A job runs to its end on the
 * version it was submitted with; a worker drops its copy of a retired
 * version between steps, once no job of its batch is left on it.
 * Beam-search jobs run alone on a worker.  The scheduler owns its workers,
 * their copies and its queue; a job stays its submitter's, who must keep
 * it and its version alive until its on_done has run. */
#ifndef SERVE_SCHED_H
#define SERVE_SCHED_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "decode/sample.h"
#include "serve/stream.h"

#define SRV_MAX_BATCH 16     /* streams per batch: exact fp32 packed steps */
#define SRV_MAX_WORKERS 64
#define SRV_GONE_SECONDS 0.05 /* the server's ask_every */

typedef struct srv_version srv_version;

typedef struct srv_job srv_job;

/* Called on a worker thread once the job is over (its outcome filled in);
 * from then on the job is the submitter's alone. */
typedef void (*srv_done_fn)(void *ctx, srv_job *job);

struct srv_job {
    /* set by the submitter */
    srv_version *ver;        /* the model version it runs on */
    const sample_config *cfg;/* beam > 1: beam search (sample_decode) */
    const srv_stops *stops;  /* token by token only; beams use cfg->stop */
    const char *prime;
    uint64_t seed;
    int n_alts;
    sample_token_fn on_token;/* worker thread; nonzero stops the job */
    int (*gone)(void *ctx);  /* NULL, or (worker thread) whether the client
                              * left: asked when the job is taken and every
                              * ask_every seconds of its steps, nonzero
                              * cancels it (beam jobs: when taken only) */
    srv_done_fn on_done;
    void *ctx;
    atomic_int cancel;       /* nonzero: stop before the next token */
    /* the outcome, set before on_done */
    sample_stats stats;
    sample_stop stop;
    int stop_index;          /* the stop string that matched, or -1 */
    size_t stop_at;          /* its offset in the generated text */
    sample_result beams;     /* beam search; the submitter frees it */
    double seconds;          /* from taken to done */
    double cpu_seconds;      /* its share of the worker's CPU time */
    int failed;              /* out of memory: the outcome is partial */
    /* the scheduler's */
    srv_job *prev, *next;
    int queued;
};

typedef struct srv_sched_config {
    int workers;             /* 1..SRV_MAX_WORKERS */
    int worker_threads;      /* threads of each worker's backend, >= 1 */
    int max_batch;           /* 1..SRV_MAX_BATCH */
    int max_queue;           /* jobs waiting for a stream, >= 1 */
    double ask_every;        /* seconds between asking whether the clients
                              * of a batch's jobs are still there; 0: at
                              * every step */
} srv_sched_config;

/* Counters for /metrics. */
typedef struct srv_sched_stats {
    int queued, running;     /* jobs waiting; jobs being generated */
    int capacity;            /* workers * max_batch */
    uint64_t steps;          /* decoder steps */
    uint64_t stream_steps;   /* streams summed over those steps */
    uint64_t tokens;         /* tokens generated */
} srv_sched_stats;

typedef struct srv_sched srv_sched;

/* Opens the workers' backends and starts the workers.  Returns the
 * scheduler, or NULL with a one-line message. */
srv_sched *srv_sched_create(const srv_sched_config *c, char *err, size_t errlen);
/* Cancels what is left, stops the workers and frees everything. */
void srv_sched_free(srv_sched *s);

enum { SRV_SCHED_FULL = -1, SRV_SCHED_CLOSED = -2 };
/* Queues n jobs, all or none.  Returns 0, SRV_SCHED_FULL when the queue
 * has no room for them, SRV_SCHED_CLOSED after srv_sched_close. */
int srv_sched_submit(srv_sched *s, srv_job *const *jobs, int n);
/* Takes no more jobs; those queued or running go on. */
void srv_sched_close(srv_sched *s);
/* A version was retired: idle workers wake to drop their copies of it. */
void srv_sched_nudge(srv_sched *s);
/* Sets the cancel flag of every job queued or running. */
void srv_sched_cancel(srv_sched *s);
/* Jobs queued or running. */
int srv_sched_busy(srv_sched *s);
void srv_sched_stats_get(srv_sched *s, srv_sched_stats *st);

#endif
