/* live.c - the loading thread (live.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "serve/live.h"

struct srv_live {
    void (*look)(void *ctx);
    void *ctx;
    double period;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t wake;     /* on CLOCK_MONOTONIC */
    srv_task *head, *tail;   /* under mu */
    int quit;                /* under mu */
};

static struct timespec after(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    long ns = ts.tv_nsec + (long)((seconds - (double)(time_t)seconds) * 1e9);
    ts.tv_sec += (time_t)seconds + ns / 1000000000L;
    ts.tv_nsec = ns % 1000000000L;
    return ts;
}

/* The next task, waiting up to the next look for one; NULL when it is
 * time to look (*quit: or to end). */
static srv_task *next_task(srv_live *l, const struct timespec *look, int *quit)
{
    srv_task *t;
    pthread_mutex_lock(&l->mu);
    while (!l->head && !l->quit) {
        int rc = l->period > 0 ? pthread_cond_timedwait(&l->wake, &l->mu, look)
                               : pthread_cond_wait(&l->wake, &l->mu);
        if (rc != 0)
            break;
    }
    if ((t = l->head) && !(l->head = t->next))
        l->tail = NULL;
    *quit = l->quit;
    pthread_mutex_unlock(&l->mu);
    return t;
}

static void *live_main(void *arg)
{
    srv_live *l = arg;
    struct timespec look = after(l->period);
    int quit = 0;
    for (;;) {
        srv_task *t = next_task(l, &look, &quit);
        if (t) {
            t->fn(t->ctx);
            continue;
        }
        if (quit)
            return NULL;
        l->look(l->ctx);
        look = after(l->period);
    }
}

srv_live *srv_live_start(double period, void (*look)(void *ctx), void *ctx, char *err,
                         size_t errlen)
{
    pthread_condattr_t ca;
    srv_live *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->look = look;
    l->ctx = ctx;
    l->period = period;
    pthread_mutex_init(&l->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&l->th, NULL, live_main, l) != 0) {
        pthread_cond_destroy(&l->wake);
        pthread_mutex_destroy(&l->mu);
        free(l);
        snprintf(err, errlen, "cannot start the loading thread");
        return NULL;
    }
    return l;
}

void srv_live_queue(srv_live *l, srv_task *t)
{
    t->next = NULL;
    pthread_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
}

void srv_live_stop(srv_live *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->quit = 1;
    pthread_cond_signal(&l->wake);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->th, NULL);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
