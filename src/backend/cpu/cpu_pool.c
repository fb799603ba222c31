/* cpu_pool.c - the CPU backend's worker team (see cpu_pool.h).
 *
 * A job is a number of parts handed out through one atomic ticket that
 * holds (job number, parts, next part).  The caller and the workers all
 * take parts from it, so when a worker is slow to wake (another process
 * has its core) the caller simply does more parts itself instead of
 * waiting: on a busy machine the pool degrades to one thread, never to a
 * stall.  Which thread runs a part does not change its result.  Workers
 * spin briefly between jobs (a training step issues hundreds of small
 * jobs) and then sleep on a condition variable. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "backend/cpu/cpu_pool.h"

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#define POOL_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define POOL_UNDER_VALGRIND() 0
#endif

/* Spins (pause instructions) before a waiting worker sleeps: roughly a
 * tenth of a millisecond to a millisecond, depending on the CPU. */
#define POOL_SPINS 8192

struct cpu_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_uint_fast64_t ticket; /* job << 32 | parts << 16 | next part */
    atomic_int done;         /* parts of the current job finished */
    atomic_int sleepers;     /* workers waiting on cv */
    atomic_int stop;
    cpu_pool_fn fn;          /* the current job; stable until it is done */
    void *ctx;
};

typedef struct pool_worker {
    cpu_pool *pool;
} pool_worker;

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static inline uint32_t ticket_job(uint64_t t) { return (uint32_t)(t >> 32); }
static inline int ticket_parts(uint64_t t) { return (int)((t >> 16) & 0xffff); }
static inline int ticket_next(uint64_t t) { return (int)(t & 0xffff); }

/* Takes and runs parts of job `job` until none are left or the ticket
 * belongs to another job. */
static void pool_take_parts(cpu_pool *p, uint32_t job)
{
    uint64_t t = atomic_load(&p->ticket);
    for (;;) {
        if (ticket_job(t) != job || ticket_next(t) >= ticket_parts(t))
            return;
        if (!atomic_compare_exchange_weak(&p->ticket, &t, t + 1))
            continue;        /* t was reloaded */
        /* The job cannot finish while we hold one of its parts, so fn and
         * ctx are still this job's. */
        p->fn(p->ctx, ticket_next(t), ticket_parts(t));
        atomic_fetch_add(&p->done, 1);
        t = atomic_load(&p->ticket);
    }
}

/* Waits until the ticket shows a job other than `last`; returns it. */
static uint32_t pool_wait(cpu_pool *p, uint32_t last)
{
    for (int i = 0; i < POOL_SPINS; i++) {
        uint32_t j = ticket_job(atomic_load(&p->ticket));
        if (j != last || atomic_load(&p->stop))
            return j;
        pool_relax();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (ticket_job(atomic_load(&p->ticket)) == last && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return ticket_job(atomic_load(&p->ticket));
}

static void *pool_main(void *arg)
{
    pool_worker *w = arg;
    cpu_pool *p = w->pool;
    free(w);
    uint32_t last = 0;
    for (;;) {
        last = pool_wait(p, last);
        if (atomic_load(&p->stop))
            return NULL;
        pool_take_parts(p, last);
    }
}

/* Wakes sleeping workers after the ticket or stop changed.  Sleepers
 * register under the mutex before re-checking, so none is missed. */
static void pool_wake(cpu_pool *p)
{
    if (atomic_load(&p->sleepers) > 0) {
        pthread_mutex_lock(&p->mu);
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

cpu_pool *cpu_pool_create(int n)
{
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n < 1 ? 1 : n > 64 ? 64 : n;
    /* Valgrind runs one thread at a time, so workers would only spin; and
     * its race checkers cannot follow their lock-free hand-off.  Under it
     * the pool is the calling thread alone. */
    if (POOL_UNDER_VALGRIND())
        p->n = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)p->n, sizeof *p->threads);
    if (!p->threads) {
        cpu_pool_free(p);
        return NULL;
    }
    for (int k = 1; k < p->n; k++) {
        pool_worker *w = malloc(sizeof *w);
        if (w)
            w->pool = p;
        if (!w || pthread_create(&p->threads[k], NULL, pool_main, w) != 0) {
            free(w);
            p->n = k;          /* join only the ones that started */
            cpu_pool_free(p);
            return NULL;
        }
    }
    return p;
}

void cpu_pool_free(cpu_pool *p)
{
    if (!p)
        return;
    atomic_store(&p->stop, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int k = 1; k < p->n && p->threads; k++)
        pthread_join(p->threads[k], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
}

int cpu_pool_size(const cpu_pool *p) { return p->n; }

void cpu_pool_run(cpu_pool *p, cpu_pool_fn fn, void *ctx, int max_parts)
{
    int parts = max_parts < p->n ? max_parts : p->n;
    if (parts <= 1) {
        fn(ctx, 0, 1);
        return;
    }

    uint32_t job = ticket_job(atomic_load(&p->ticket)) + 1;
    if (job == 0)            /* 0 is what a new worker has "seen" */
        job = 1;
    p->fn = fn;
    p->ctx = ctx;
    atomic_store(&p->done, 0);
    atomic_store(&p->ticket, (uint64_t)job << 32 | (uint64_t)parts << 16);
    pool_wake(p);
    pool_take_parts(p, job);
    /* Only parts that workers took are left: wait for those. */
    for (long i = 0; atomic_load(&p->done) < parts; i++) {
        if (i > POOL_SPINS)
            sched_yield();
        else
            pool_relax();
    }
}
