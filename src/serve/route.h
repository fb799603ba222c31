/* route.h - what the server answers, apart from HTTP's mechanics: its
 * state (models, scheduler, counters, API key) and a request's way to an
 * endpoint: the key check, 404 and 405, and the endpoints themselves.
 * GET /health needs no key; every other endpoint does when one is set.
 * An upload (PUT /v1/models/NAME) is checked before its body is read.
 * The server struct is its creator's; an answer's body and generation
 * are the caller's (srv_answer_free). */
#ifndef SERVE_ROUTE_H
#define SERVE_ROUTE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include "util/rng.h"
#include "serve/gen.h"
#include "serve/live.h"
#include "serve/metrics.h"
#include "serve/models.h"
#include "serve/params.h"
#include "serve/sched.h"
#include "serve/serve.h"
#include "serve/upload.h"

#define SRV_KEY_MAX 256                  /* API key, bytes */

typedef struct srv_server {
    srv_sched *sched;
    srv_models *models;
    srv_live *live;          /* the loading thread: uploads' checks */
    const char *model_dir;   /* NULL: none; uploads go there */
    int allow_upload;
    unsigned long long max_upload;
    srv_metrics metrics;
    char key[SRV_KEY_MAX];   /* "" : no key asked */
    double started;          /* clock_now() at the start */
    atomic_int draining;     /* shutting down: no new generations */
    serve_log_fn log;        /* the request lines; NULL: stderr */
    void *log_ctx;
    pthread_mutex_t rng_mu;
    rng_state rng;           /* seeds of requests that bring none */
} srv_server;

typedef struct srv_request {
    const char *method, *path;
    const char *auth;        /* the Authorization header, or NULL */
    const char *body;
    size_t len;
} srv_request;

typedef struct srv_answer {
    int status;
    const char *type;        /* its content type */
    char *body;              /* malloc'd; NULL when gen answers */
    srv_gen *gen;            /* a generation whose events or answer follow */
    const char *allow;       /* 405: the methods the path takes */
    int challenge;           /* 401: ask for a bearer key */
} srv_answer;

/* Sets up sv around a running scheduler, its model table and loading
 * thread, with o's key and upload settings (o must outlive sv).  Returns
 * 0, or -1 with a message when the key is too long. */
int srv_server_init(srv_server *sv, srv_sched *sched, srv_models *models, srv_live *live,
                    const serve_options *o, char *err, size_t errlen);
void srv_server_destroy(srv_server *sv);

/* Answers rq.  Always fills a (out of memory becomes a 500). */
void srv_route(srv_server *sv, const srv_request *rq, srv_answer *a);
/* An error answer with the JSON error body. */
void srv_answer_error(srv_answer *a, int status, const char *message);
void srv_answer_free(srv_answer *a);

/* Whether path is /v1/models/NAME, an upload's (answered by
 * srv_route_upload, not srv_route). */
int srv_route_is_upload(const char *path);
/* PUT /v1/models/NAME before its body (declared: its Content-Length, or
 * -1): the key, uploads on, the name and the length checked.  Returns 0
 * with *up, the upload to feed the body to (the caller's); or -1 with the
 * refusal in a. */
int srv_route_upload(srv_server *sv, const srv_request *rq, long long declared,
                     srv_upload **up, srv_answer *a);

/* The path as /metrics counts it: the endpoint's, or "other". */
const char *srv_route_label(const char *path);

#endif
