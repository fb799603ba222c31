/* cpu_pool.c - the CPU backend's worker team (see cpu_pool.h).
 *
 * A job is published by bumping a generation counter; workers spin on it
 * for a short while (jobs come back to back during a training step) and
 * then sleep on a condition variable.  The caller runs part 0 itself and
 * spins until every worker has acknowledged the generation. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cpu_pool.h"

/* Spins before a worker sleeps; about a millisecond. */
#define POOL_SPINS 20000

struct cpu_pool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_ulong gen;        /* bumped once per job */
    atomic_int pending;      /* workers yet to finish the current job */
    atomic_int sleepers;     /* workers waiting on cv */
    atomic_int stop;
    cpu_pool_fn fn;          /* the current job, valid while pending > 0 */
    void *ctx;
    int parts;
};

typedef struct pool_worker {
    cpu_pool *pool;
    int index;
} pool_worker;

static inline void pool_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the generation differs from last; returns the new one. */
static unsigned long pool_wait(cpu_pool *p, unsigned long last)
{
    for (int i = 0; i < POOL_SPINS; i++) {
        unsigned long g = atomic_load(&p->gen);
        if (g != last || atomic_load(&p->stop))
            return g;
        pool_relax();
    }
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->sleepers, 1);
    while (atomic_load(&p->gen) == last && !atomic_load(&p->stop))
        pthread_cond_wait(&p->cv, &p->mu);
    atomic_fetch_sub(&p->sleepers, 1);
    pthread_mutex_unlock(&p->mu);
    return atomic_load(&p->gen);
}

static void *pool_main(void *arg)
{
    pool_worker *w = arg;
    cpu_pool *p = w->pool;
    int k = w->index;
    free(w);
    unsigned long last = 0;
    for (;;) {
        last = pool_wait(p, last);
        if (atomic_load(&p->stop))
            return NULL;
        if (k < p->parts)
            p->fn(p->ctx, k, p->parts);
        atomic_fetch_sub(&p->pending, 1);
    }
}

/* Publishes a generation change (a job or stop) and wakes sleepers. */
static void pool_publish(cpu_pool *p)
{
    atomic_fetch_add(&p->gen, 1);
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
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->threads = calloc((size_t)p->n, sizeof *p->threads);
    if (!p->threads) {
        cpu_pool_free(p);
        return NULL;
    }
    for (int k = 1; k < p->n; k++) {
        pool_worker *w = malloc(sizeof *w);
        if (w) {
            w->pool = p;
            w->index = k;
        }
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
    pool_publish(p);
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
    p->fn = fn;
    p->ctx = ctx;
    p->parts = parts;
    atomic_store(&p->pending, p->n - 1);
    pool_publish(p);
    fn(ctx, 0, parts);
    for (long i = 0; atomic_load(&p->pending) > 0; i++) {
        /* on a busy machine a worker may have been preempted */
        if (i > POOL_SPINS)
            sched_yield();
        else
            pool_relax();
    }
}
