/* server.c - serve_main, serve_start and serve_stop (serve.h): the
 * scheduler, the models, the loading thread, the listening socket and the
 * HTTP daemon started in order; then (serve_main) signals waited for; and
 * the shutdown: stop accepting, let requests finish within the grace
 * time, cancel the rest. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "serve/follow.h"
#include "serve/http.h"
#include "serve/live.h"
#include "serve/route.h"
#include "serve/serve.h"

/* How long cancelled generations and their last events get to go out. */
#define SERVE_FLUSH_SECONDS 5.0

const char *serve_unavailable(void)
{
    return NULL;
}

/* The first of the addresses that binds and listens; -1 (errno in *e)
 * when none does. */
static int bind_first(const struct addrinfo *res, int *e)
{
    int one = 1;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0) {
            *e = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
            return fd;
        *e = errno;
        close(fd);
    }
    return -1;
}

/* The port fd is bound to, and whether its address is a loopback one. */
static void bound(int fd, int *port, int *loopback)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        *port = ntohs(a->sin6_port);
        *loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        *port = ntohs(a->sin_port);
        *loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
}

/* A socket listening on host:port; *port gets the port bound.  Returns
 * the socket, or -1 with a message. */
static int listen_on(const char *host, int *port, int *loopback, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *res;
    char service[16];
    int e = 0;
    snprintf(service, sizeof service, "%d", *port);
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "--host %s: %s", host, gai_strerror(rc));
        return -1;
    }
    int fd = bind_first(res, &e);
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s port %d: %s", host, *port, strerror(e));
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    bound(fd, port, loopback);
    return fd;
}

/* Waits up to seconds for a signal of sigs; returns it, or 0. */
static int wait_signal(const sigset_t *sigs, double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    int sig = sigtimedwait(sigs, NULL, &ts);
    return sig > 0 ? sig : 0;
}

/* Waits until test(arg) is 0, for at most seconds; a signal of sigs (if
 * not NULL) ends the wait early.  Returns 1 when it was a signal. */
static int wait_until(int (*test)(void *), void *arg, double seconds, const sigset_t *sigs)
{
    struct timespec tick = {0, 10000000};
    double end = clock_now() + seconds;
    while (test(arg) > 0 && clock_now() < end) {
        if (sigs && wait_signal(sigs, 0.05))
            return 1;
        if (!sigs)
            nanosleep(&tick, NULL);
    }
    return 0;
}

static int sched_busy(void *arg)
{
    return srv_sched_busy(arg);
}

static int http_busy(void *arg)
{
    return srv_http_in_flight(arg);
}

/* The shutdown: no new connections or generations, the grace time for
 * those in flight, then the rest cancelled and their last events sent.
 * Said on stderr when signals (sigs) stop it. */
static void drain(srv_server *sv, srv_http *h, double grace, const sigset_t *sigs)
{
    atomic_store(&sv->draining, 1);
    srv_http_quiesce(h);
    srv_sched_close(sv->sched);
    int busy = srv_sched_busy(sv->sched);
    if (busy > 0 && sigs)
        fprintf(stderr, "rnnlab: stopping: %d generations in flight get up to %g s "
                "(signal again to cancel them now)\n", busy, grace);
    if ((wait_until(sched_busy, sv->sched, grace, sigs) || srv_sched_busy(sv->sched) > 0)
        && sigs)
        fprintf(stderr, "rnnlab: stopping: cancelling %d generations\n",
                srv_sched_busy(sv->sched));
    srv_sched_cancel(sv->sched);
    wait_until(sched_busy, sv->sched, SERVE_FLUSH_SECONDS, NULL);
    wait_until(http_busy, h, SERVE_FLUSH_SECONDS, NULL);
}

static void announce(srv_server *sv, const serve_options *o, int port, int loopback)
{
    char names[512] = "no model yet";
    srv_version *v[SRV_MAX_MODELS];
    size_t n = 0;
    const char *colon = strchr(o->host, ':');
    int k = srv_models_snapshot(sv->models, v, SRV_MAX_MODELS);
    for (int i = 0; i < k; i++) {
        if (n < sizeof names)
            n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "",
                                  v[i]->desc.name);
        srv_version_release(v[i]);
    }
    fprintf(stderr, "rnnlab: serving %s on http://%s%s%s:%d (%d workers, batches of up "
            "to %d, queue %d)\n", names, colon ? "[" : "", o->host, colon ? "]" : "", port,
            o->threads, o->max_batch, o->max_queue);
    if (o->allow_upload)
        fprintf(stderr, "rnnlab: uploads (PUT /v1/models/NAME) go to %s, up to %llu "
                "bytes each\n", o->model_dir, o->max_upload);
    if (!loopback && !(o->api_key && o->api_key[0]))
        fprintf(stderr, "rnnlab: warning: listening beyond this machine without an API "
                "key: anyone who can reach port %d can use it\n", port);
}

struct serve_running {
    serve_options o;         /* the caller's, copied: sv reads it */
    srv_sched *sched;
    srv_models *ms;
    srv_follow follow;
    int following;
    srv_live *live;
    srv_server sv;
    int have_sv;
    srv_http *h;
    int port, loopback;
};

/* The model table: the sessions named, then those in the model directory.
 * Returns it, or NULL with a message. */
static srv_models *load_models(const serve_options *o, srv_sched *sched, char *err,
                               size_t errlen)
{
    srv_models *ms = srv_models_new(sched, err, errlen);
    for (int i = 0; ms && !o->follow && i < o->n_models; i++)
        if (srv_models_add(ms, o->names[i], o->dirs[i], err, errlen) < 0) {
            srv_models_free(ms);
            return NULL;
        }
    if (ms && !o->follow && o->model_dir &&
        srv_models_scan(ms, o->model_dir, err, errlen) < 0) {
        srv_models_free(ms);
        return NULL;
    }
    return ms;
}

static void poll_sessions(void *ctx)
{
    srv_models_poll(ctx);
}

/* Following an engine: its first copy, waited for a while (it comes
 * between two steps) so that the first requests find the model. */
static void follow_first(serve_running *r)
{
    struct timespec tick = {0, 20000000};
    double end = clock_now() + 2.0;
    srv_follow_begin(&r->follow, r->ms, r->o.follow);
    r->following = 1;
    for (srv_follow_look(&r->follow); !srv_follow_serving(&r->follow) && clock_now() < end;
         srv_follow_look(&r->follow))
        nanosleep(&tick, NULL);
}

/* The loading thread: the followed engine's copies, or the sessions'
 * files.  Returns 0, or -1 with a message. */
static int start_live(serve_running *r, char *err, size_t errlen)
{
    if (r->o.follow) {
        follow_first(r);
        r->live = srv_live_start(SRV_FOLLOW_PERIOD, srv_follow_look, &r->follow, err,
                                 errlen);
    } else {
        r->live = srv_live_start(SRV_LIVE_PERIOD, poll_sessions, r->ms, err, errlen);
    }
    return r->live ? 0 : -1;
}

/* Everything but the HTTP side, which must be stopped first. */
static void free_running(serve_running *r)
{
    srv_live_stop(r->live);
    if (r->sched)
        srv_sched_cancel(r->sched);
    if (r->have_sv)
        srv_server_destroy(&r->sv);
    srv_sched_free(r->sched);      /* first: its workers hold versions */
    if (r->following)
        srv_follow_end(&r->follow);
    srv_models_free(r->ms);
    free(r);
}

/* The scheduler's shape for o on this machine. */
static srv_sched_config sched_shape(const serve_options *o)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int share = cores > o->threads ? (int)(cores / o->threads) : 1;
    if (o->worker_threads > 0)
        share = o->worker_threads;
    return (srv_sched_config){.workers = o->threads, .worker_threads = share,
                              .max_batch = o->max_batch, .max_queue = o->max_queue,
                              .ask_every = SRV_GONE_SECONDS};
}

/* Uploads only with a key to check and a directory to put them in. */
static int check_upload(const serve_options *o, char *err, size_t errlen)
{
    if (!o->allow_upload)
        return 0;
    if (!o->api_key || !o->api_key[0])
        snprintf(err, errlen, "--allow-upload needs an API key (--api-key or "
                 "RNNLAB_API_KEY): anyone could replace the models otherwise");
    else if (!o->model_dir)
        snprintf(err, errlen, "--allow-upload needs --model-dir DIR, the directory "
                 "uploads are written to");
    else
        return 0;
    return -1;
}

serve_running *serve_start(const serve_options *o, int *port, char *err, size_t errlen)
{
    if (check_upload(o, err, errlen) < 0)
        return NULL;
    serve_running *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->o = *o;
    r->port = o->port;
    srv_sched_config sc = sched_shape(o);
    int fd = -1;
    if ((r->sched = srv_sched_create(&sc, err, errlen)) &&
        (r->ms = load_models(o, r->sched, err, errlen)) && start_live(r, err, errlen) == 0 &&
        srv_server_init(&r->sv, r->sched, r->ms, r->live, &r->o, err, errlen) == 0 &&
        (r->have_sv = 1) &&
        (fd = listen_on(o->host, &r->port, &r->loopback, err, errlen)) >= 0 &&
        (r->h = srv_http_start(&r->sv, fd, err, errlen))) {
        *port = r->port;
        return r;
    }
    free_running(r);
    return NULL;
}

/* Stops r's HTTP side after the drain (grace seconds; sigs: see drain),
 * then frees it all. */
static void stop_running(serve_running *r, double grace, const sigset_t *sigs)
{
    drain(&r->sv, r->h, grace, sigs);
    srv_http_stop(r->h);
    free_running(r);
}

void serve_stop(serve_running *r)
{
    if (r)
        stop_running(r, 0, NULL);
}

unsigned long serve_requests(serve_running *r)
{
    return (unsigned long)srv_metrics_total(&r->sv.metrics);
}

int serve_main(const serve_options *o, char *err, size_t errlen)
{
    sigset_t sigs, old;
    int port, sig;
    /* every thread started from here on leaves these to sigwait */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);
    serve_running *r = serve_start(o, &port, err, errlen);
    if (r) {
        announce(&r->sv, o, port, r->loopback);
        while (sigwait(&sigs, &sig) != 0)
            ;
        fprintf(stderr, "rnnlab: %s: stopping\n", sig == SIGINT ? "interrupted" : "terminated");
        stop_running(r, o->grace, &sigs);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r ? 0 : -1;
}
