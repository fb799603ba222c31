/* server.c - serve_main (serve.h): the listening socket, the scheduler
 * and the HTTP daemon started in order, then signals waited for and the
 * shutdown: stop accepting, let requests finish within the grace time,
 * cancel the rest. */
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
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
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

/* Waits until test(arg) is 0, for at most seconds; a signal of sigs ends
 * the wait early.  Returns 1 when it was a signal. */
static int wait_until(int (*test)(void *), void *arg, double seconds, const sigset_t *sigs)
{
    double end = clock_now() + seconds;
    while (test(arg) > 0 && clock_now() < end)
        if (sigs && wait_signal(sigs, 0.05))
            return 1;
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
 * those in flight, then the rest cancelled and their last events sent. */
static void drain(srv_server *sv, srv_http *h, double grace, const sigset_t *sigs)
{
    atomic_store(&sv->draining, 1);
    srv_http_quiesce(h);
    srv_sched_close(sv->sched);
    int busy = srv_sched_busy(sv->sched);
    if (busy > 0)
        fprintf(stderr, "rnnlab: stopping: %d generations in flight get up to %g s "
                "(signal again to cancel them now)\n", busy, grace);
    if (wait_until(sched_busy, sv->sched, grace, sigs) || srv_sched_busy(sv->sched) > 0)
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

/* Starts the HTTP side of a loaded server, serves until a signal, and
 * drains.  Returns 0, or -1 with err set. */
static int serve_loaded(srv_server *sv, const serve_options *o, const sigset_t *sigs,
                        char *err, size_t errlen)
{
    int port = o->port, loopback = 0, sig;
    int fd = listen_on(o->host, &port, &loopback, err, errlen);
    if (fd < 0)
        return -1;
    srv_http *h = srv_http_start(sv, fd, err, errlen);
    if (!h)
        return -1;
    announce(sv, o, port, loopback);
    while (sigwait(sigs, &sig) != 0)
        ;
    fprintf(stderr, "rnnlab: %s: stopping\n", sig == SIGINT ? "interrupted" : "terminated");
    drain(sv, h, o->grace, sigs);
    srv_http_stop(h);
    return 0;
}

/* The model table: the sessions named, then those in the model directory.
 * Returns it, or NULL with a message. */
static srv_models *load_models(const serve_options *o, srv_sched *sched, char *err,
                               size_t errlen)
{
    srv_models *ms = srv_models_new(sched, err, errlen);
    for (int i = 0; ms && i < o->n_models; i++)
        if (srv_models_add(ms, o->names[i], o->dirs[i], err, errlen) < 0) {
            srv_models_free(ms);
            return NULL;
        }
    if (ms && o->model_dir && srv_models_scan(ms, o->model_dir, err, errlen) < 0) {
        srv_models_free(ms);
        return NULL;
    }
    return ms;
}

/* Runs the server over a started scheduler.  Returns 0, or -1 with err. */
static int serve_sched(const serve_options *o, srv_sched *sched, const sigset_t *sigs,
                       char *err, size_t errlen)
{
    srv_server sv;
    int rc = -1;
    srv_models *ms = load_models(o, sched, err, errlen);
    srv_live *live = ms ? srv_live_start(ms, SRV_LIVE_PERIOD, err, errlen) : NULL;
    if (live && srv_server_init(&sv, sched, ms, live, o, err, errlen) == 0) {
        rc = serve_loaded(&sv, o, sigs, err, errlen);
        srv_live_stop(live);
        live = NULL;
        srv_sched_cancel(sched);
        srv_server_destroy(&sv);
    }
    srv_live_stop(live);
    srv_sched_free(sched);      /* first: its workers hold versions */
    srv_models_free(ms);
    return rc;
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

int serve_main(const serve_options *o, char *err, size_t errlen)
{
    sigset_t sigs, old;
    if (check_upload(o, err, errlen) < 0)
        return -1;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int share = cores > o->threads ? (int)(cores / o->threads) : 1;
    srv_sched_config sc = {.workers = o->threads, .worker_threads = share,
                           .max_batch = o->max_batch, .max_queue = o->max_queue,
                           .ask_every = SRV_GONE_SECONDS};
    /* every thread started from here on leaves these to sigwait */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, &old);
    signal(SIGPIPE, SIG_IGN);
    int rc = -1;
    srv_sched *sched = srv_sched_create(&sc, err, errlen);
    if (sched)
        rc = serve_sched(o, sched, &sigs, err, errlen);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}
