/* route.c - endpoints, the API key check, 404 and 405 (route.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "serve/params.h"
#include "serve/reply.h"
#include "serve/route.h"

typedef void (*endpoint_fn)(srv_server *sv, const srv_request *rq, srv_answer *a);

typedef struct route {
    const char *method, *path;
    endpoint_fn fn;
    int open;                /* answered without the API key */
} route;

static void json_answer(srv_answer *a, int status, char *body)
{
    if (!body) {
        srv_answer_error(a, 500, "out of memory");
        return;
    }
    a->status = status;
    a->type = "application/json";
    a->body = body;
}

void srv_answer_error(srv_answer *a, int status, const char *message)
{
    a->status = status;
    a->type = "application/json";
    a->body = srv_reply_error(status, message);
}

void srv_answer_free(srv_answer *a)
{
    free(a->body);
    if (a->gen)
        srv_gen_release(a->gen);
    memset(a, 0, sizeof *a);
}

/* ---- endpoints */

/* The versions in service now, and their descriptions. */
typedef struct snapshot {
    srv_version *v[SRV_MAX_MODELS];
    const srv_model_desc *d[SRV_MAX_MODELS];
    int n;
} snapshot;

static void snapshot_take(srv_server *sv, snapshot *s)
{
    s->n = srv_models_snapshot(sv->models, s->v, SRV_MAX_MODELS);
    for (int i = 0; i < s->n; i++)
        s->d[i] = &s->v[i]->desc;
}

static void snapshot_drop(snapshot *s)
{
    for (int i = 0; i < s->n; i++)
        srv_version_release(s->v[i]);
    s->n = 0;
}

static void ep_health(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    (void)rq;
    int draining = atomic_load(&sv->draining);
    json_answer(a, draining ? 503 : 200,
                srv_reply_health(draining ? "draining" : "ok", srv_models_count(sv->models),
                                 clock_now() - sv->started));
}

static void ep_models(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    snapshot s;
    (void)rq;
    snapshot_take(sv, &s);
    json_answer(a, 200, srv_reply_models(s.d, s.n));
    snapshot_drop(&s);
}

static void ep_metrics(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    srv_sched_stats st;
    (void)rq;
    srv_sched_stats_get(sv->sched, &st);
    json_answer(a, 200, srv_metrics_text(&sv->metrics, &st));
    if (a->status == 200)
        a->type = "text/plain; version=0.0.4";
}

/* A seed for a request that brings none, and a nonce for its id. */
static void draw(srv_server *sv, uint64_t *seed, uint64_t *nonce)
{
    pthread_mutex_lock(&sv->rng_mu);
    *seed = rng_next(&sv->rng);
    *nonce = rng_next(&sv->rng);
    pthread_mutex_unlock(&sv->rng_mu);
}

/* Why a generation was not queued: srv_sched_submit's answer. */
static void refused(srv_answer *a, int rc)
{
    if (rc == SRV_SCHED_FULL)
        srv_answer_error(a, 429, "the queue is full; try again later");
    else
        srv_answer_error(a, 503, "the server is shutting down");
}

static void generation(srv_server *sv, const srv_request *rq, srv_api api, srv_answer *a)
{
    char err[600];
    srv_params p;
    snapshot s;
    uint64_t seed, nonce;
    if (atomic_load(&sv->draining)) {
        refused(a, SRV_SCHED_CLOSED);
        return;
    }
    snapshot_take(sv, &s);
    int status = srv_params_parse(api, rq->body, rq->len, s.d, s.n, &p, err, sizeof err);
    if (status != 0) {
        snapshot_drop(&s);
        srv_answer_error(a, status, err);
        return;
    }
    draw(sv, &seed, &nonce);
    int stream = p.stream;
    srv_gen *g = srv_gen_new(&p, s.v[p.model], seed, nonce);
    snapshot_drop(&s);
    if (!g)
        return;             /* out of memory: srv_route answers 500 */
    int rc = srv_gen_start(g, sv->sched);
    if (rc != 0) {
        srv_gen_release(g);
        refused(a, rc);
        return;
    }
    a->status = 200;
    a->type = stream ? "text/event-stream" : "application/json";
    a->gen = g;
}

static void ep_completions(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    generation(sv, rq, SRV_API_COMPLETIONS, a);
}

static void ep_generate(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    generation(sv, rq, SRV_API_GENERATE, a);
}

static const route routes[] = {
    {"GET", "/health", ep_health, 1},
    {"GET", "/metrics", ep_metrics, 0},
    {"GET", "/v1/models", ep_models, 0},
    {"POST", "/v1/completions", ep_completions, 0},
    {"POST", "/v1/generate", ep_generate, 0},
};

#define N_ROUTES (sizeof routes / sizeof routes[0])

/* ---- the key */

/* Whether given (glen bytes) is the key, in a time that depends on the
 * key's length only. */
static int same_key(const char *key, const char *given, size_t glen)
{
    size_t klen = strlen(key);
    volatile size_t diff = klen ^ glen;
    for (size_t i = 0; i < klen; i++)
        diff |= (size_t)((unsigned char)key[i] ^ (unsigned char)(i < glen ? given[i] : 0));
    return diff == 0;
}

static int authorized(const srv_server *sv, const char *auth)
{
    if (!sv->key[0])
        return 1;
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return 0;
    auth += 7;
    while (*auth == ' ')
        auth++;
    return same_key(sv->key, auth, strlen(auth));
}

/* ---- uploads */

#define UPLOAD_PREFIX "/v1/models/"

int srv_route_is_upload(const char *path)
{
    return strncmp(path, UPLOAD_PREFIX, strlen(UPLOAD_PREFIX)) == 0;
}

/* Why PUT /v1/models/NAME cannot go on, into a; 0 when it can. */
static int upload_refused(srv_server *sv, const srv_request *rq, const char *name,
                          long long declared, srv_answer *a)
{
    char msg[400];
    if (strcmp(rq->method, "PUT") != 0) {
        snprintf(msg, sizeof msg, "%s/NAME takes PUT only (an upload)", "/v1/models");
        srv_answer_error(a, 405, msg);
        a->allow = "PUT";
    } else if (!authorized(sv, rq->auth)) {
        srv_answer_error(a, 401, "missing or wrong API key (send Authorization: Bearer KEY)");
        a->challenge = 1;
    } else if (!sv->allow_upload) {
        srv_answer_error(a, 403, "uploads are off (start the server with --allow-upload, "
                         "--model-dir and an API key)");
    } else if (!srv_models_name_ok(name)) {
        snprintf(msg, sizeof msg, "model name '%.100s': use 1 to %d of A-Z a-z 0-9 . _ -, "
                 "not starting with a dot", name, SRV_MODEL_NAME_MAX);
        srv_answer_error(a, 400, msg);
    } else if (declared >= 0 && (unsigned long long)declared > sv->max_upload) {
        snprintf(msg, sizeof msg, "the upload is larger than this server's limit (%llu "
                 "bytes, --max-upload)", sv->max_upload);
        srv_answer_error(a, 413, msg);
    } else if (atomic_load(&sv->draining)) {
        srv_answer_error(a, 503, "the server is shutting down");
    } else {
        return 0;
    }
    return 1;
}

int srv_route_upload(srv_server *sv, const srv_request *rq, long long declared,
                     srv_upload **up, srv_answer *a)
{
    char err[600];
    int status;
    const char *name = rq->path + strlen(UPLOAD_PREFIX);
    memset(a, 0, sizeof *a);
    *up = NULL;
    if (upload_refused(sv, rq, name, declared, a)) {
        if (!a->body)
            srv_answer_error(a, 500, "out of memory");
        return -1;
    }
    *up = srv_upload_new(sv->models, sv->model_dir, name, sv->max_upload, &status, err,
                         sizeof err);
    if (!*up) {
        srv_answer_error(a, status, err);
        return -1;
    }
    return 0;
}

/* ---- routing */

const char *srv_route_label(const char *path)
{
    for (size_t i = 0; i < N_ROUTES; i++)
        if (strcmp(routes[i].path, path) == 0)
            return routes[i].path;
    return srv_route_is_upload(path) ? "/v1/models/NAME" : "other";
}

void srv_route(srv_server *sv, const srv_request *rq, srv_answer *a)
{
    char msg[300];
    const route *path = NULL;
    memset(a, 0, sizeof *a);
    int head = strcmp(rq->method, "HEAD") == 0;
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].path, rq->path) != 0)
            continue;
        path = &routes[i];
        if (strcmp(routes[i].method, rq->method) == 0 ||
            (head && strcmp(routes[i].method, "GET") == 0))
            break;
    }
    if (!path) {
        snprintf(msg, sizeof msg, "no such endpoint: %.200s", rq->path);
        srv_answer_error(a, 404, msg);
    } else if (!path->open && !authorized(sv, rq->auth)) {
        srv_answer_error(a, 401, "missing or wrong API key (send Authorization: Bearer KEY)");
        a->challenge = 1;
    } else if (strcmp(path->method, rq->method) != 0 && !(head && !strcmp(path->method, "GET"))) {
        snprintf(msg, sizeof msg, "%.200s takes %s only", path->path, path->method);
        srv_answer_error(a, 405, msg);
        a->allow = path->method;
    } else {
        path->fn(sv, rq, a);
    }
    if (!a->body && !a->gen)
        srv_answer_error(a, 500, "out of memory");
}

int srv_server_init(srv_server *sv, srv_sched *sched, srv_models *models, srv_live *live,
                    const serve_options *o, char *err, size_t errlen)
{
    const char *key = o->api_key;
    memset(sv, 0, sizeof *sv);
    if (key && strlen(key) >= sizeof sv->key) {
        snprintf(err, errlen, "the API key is longer than %zu bytes", sizeof sv->key - 1);
        return -1;
    }
    snprintf(sv->key, sizeof sv->key, "%s", key ? key : "");
    sv->sched = sched;
    sv->models = models;
    sv->live = live;
    sv->model_dir = o->model_dir;
    sv->allow_upload = o->allow_upload;
    sv->max_upload = o->max_upload;
    sv->log = o->log;
    sv->log_ctx = o->log_ctx;
    sv->started = clock_now();
    srv_metrics_init(&sv->metrics);
    pthread_mutex_init(&sv->rng_mu, NULL);
    rng_seed(&sv->rng, (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^
                       (uint64_t)(clock_now() * 1e9));
    return 0;
}

void srv_server_destroy(srv_server *sv)
{
    srv_metrics_destroy(&sv->metrics);
    pthread_mutex_destroy(&sv->rng_mu);
}
