/* http.c - the server's connections on libmicrohttpd (http.h): one
 * polling thread; a connection that waits for a generation is suspended
 * and the workers resume it when there is something to send, and ask now
 * and then whether its client is still there. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <microhttpd.h>

#include "util/buf.h"
#include "util/clock.h"
#include "serve/http.h"

#define STREAM_BLOCK 4096           /* event bytes MHD asks for at a time */
#define DISCARD_MAX (16 * SRV_MAX_BODY)   /* past this, an oversized body
                                     * closes the connection */

struct srv_http {
    srv_server *sv;
    struct MHD_Daemon *d;
    atomic_int in_flight;
};

typedef struct conn {
    srv_http *h;
    struct MHD_Connection *mc;
    char method[16];
    char path[512];
    strbuf body;
    size_t received;
    int too_large;
    double t0;
    srv_answer a;
    srv_upload *up;          /* PUT /v1/models/NAME under way */
    int streaming;           /* an event stream was started */
    int waiting;             /* a generation or upload counted in in_flight */
} conn;

/* ---- the waker: a connection sleeps while its generation has nothing */

static void conn_sleep(void *ctx)
{
    MHD_suspend_connection(((conn *)ctx)->mc);
}

static void conn_wake(void *ctx)
{
    MHD_resume_connection(((conn *)ctx)->mc);
}

/* Whether the client closed its side or reset the connection.  libmicrohttpd
 * does not poll a suspended connection, so a worker peeks at the socket
 * itself (under the gen's lock: the connection cannot complete meanwhile).
 * Bytes waiting (a pipelined request) are not an end; a client that only
 * shuts down its sending side counts as gone. */
static int conn_gone(void *ctx)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(((conn *)ctx)->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci)
        return 0;
    struct pollfd p = {.fd = ci->connect_fd, .events = POLLIN};
    if (poll(&p, 1, 0) <= 0)
        return 0;
    if (p.revents & (POLLHUP | POLLERR | POLLNVAL))
        return 1;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* ---- answers */

static enum MHD_Result queue(conn *c, struct MHD_Response *r)
{
    const srv_answer *a = &c->a;
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, a->type);
    if (a->allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, a->allow);
    if (a->challenge)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result rc = MHD_queue_response(c->mc, (unsigned)a->status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result send_body(conn *c)
{
    static const char oom[] = "{\"error\":{\"message\":\"out of memory\"}}";
    const char *body = c->a.body ? c->a.body : oom;
    return queue(c, MHD_create_response_from_buffer(strlen(body), (void *)body,
                                                    MHD_RESPMEM_MUST_COPY));
}

static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
    conn *c = cls;
    size_t n = 0;
    (void)pos;
    if (srv_gen_gone(c->a.gen))
        return MHD_CONTENT_READER_END_WITH_ERROR;   /* nobody to send to */
    int st = srv_gen_read(c->a.gen, buf, max, &n);
    if (st == SRV_GEN_DATA)
        return (ssize_t)n;
    /* SRV_GEN_WAIT: suspended until the workers have more */
    return st == SRV_GEN_END ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

static enum MHD_Result send_stream(conn *c)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK, read_events, c, NULL);
    if (r) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
        c->streaming = 1;
        srv_metrics_stream(&c->h->sv->metrics, 1);
    }
    return queue(c, r);
}

/* A generation that does not stream: sleeps until it is over, then
 * sends its answer.  Called again when resumed. */
static enum MHD_Result send_when_done(conn *c)
{
    char none;
    size_t n;
    if (srv_gen_read(c->a.gen, &none, 0, &n) == SRV_GEN_WAIT)
        return MHD_YES;
    if (srv_gen_gone(c->a.gen))
        return MHD_NO;                  /* nobody to answer: closed */
    free(c->a.body);
    if (!(c->a.body = srv_gen_answer(c->a.gen)))
        srv_answer_error(&c->a, 500, "out of memory");
    return send_body(c);
}

static enum MHD_Result answer(conn *c)
{
    const char *auth = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    srv_request rq = {c->method, c->path, auth, c->body.p ? c->body.p : "", c->body.len};
    char msg[128];
    if (c->too_large) {
        snprintf(msg, sizeof msg, "the body is larger than %zu bytes", SRV_MAX_BODY);
        srv_answer_error(&c->a, 413, msg);
    } else {
        srv_route(c->h->sv, &rq, &c->a);
    }
    if (!c->a.gen)
        return send_body(c);
    srv_waker w = {.sleep = conn_sleep, .wake = conn_wake, .gone = conn_gone, .ctx = c};
    c->waiting = 1;
    atomic_fetch_add(&c->h->in_flight, 1);
    srv_gen_watch(c->a.gen, &w);
    return c->a.gen->p.stream ? send_stream(c) : send_when_done(c);
}

/* ---- uploads */

/* PUT /v1/models/NAME, its headers in: refused at once, or its body is
 * to be fed to the upload. */
static enum MHD_Result upload_begin(conn *c)
{
    const char *auth = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    const char *len = MHD_lookup_connection_value(c->mc, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_LENGTH);
    srv_request rq = {c->method, c->path, auth, "", 0};
    long long declared = len ? (long long)strtoull(len, NULL, 10) : -1;
    if (declared < -1)
        declared = LLONG_MAX;
    if (srv_route_upload(c->h->sv, &rq, declared, &c->up, &c->a) < 0)
        return send_body(c);
    return MHD_YES;
}

/* The body is in: the upload is checked (on the loading thread) while the
 * connection sleeps, then answered.  Called again when resumed. */
static enum MHD_Result upload_end(conn *c)
{
    int status;
    char *body;
    if (!c->waiting) {
        srv_waker w = {.sleep = conn_sleep, .wake = conn_wake, .ctx = c};
        c->waiting = 1;
        atomic_fetch_add(&c->h->in_flight, 1);
        srv_upload_finish(c->up, c->h->sv->live, &w);
    }
    if (!srv_upload_answer(c->up, &status, &body))
        return MHD_YES;
    c->a.status = status;
    c->a.type = "application/json";
    c->a.body = body;
    return send_body(c);
}

/* ---- requests */

static conn *conn_new(srv_http *h, struct MHD_Connection *mc, const char *url,
                      const char *method)
{
    conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->mc = mc;
    c->t0 = clock_now();
    snprintf(c->method, sizeof c->method, "%s", method);
    snprintf(c->path, sizeof c->path, "%s", url);
    return c;
}

/* A declared body over the limit is refused before it is read. */
static int declared_too_large(struct MHD_Connection *mc)
{
    const char *len = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_LENGTH);
    return len && strtoull(len, NULL, 10) > SRV_MAX_BODY;
}

/* Keeps body bytes up to the limit; past it only counts them.  Returns
 * 0, or -1 when the connection is to be closed. */
static int take_body(conn *c, const char *data, size_t n)
{
    c->received += n;
    if (c->received > DISCARD_MAX)
        return -1;
    if (c->too_large || c->received > SRV_MAX_BODY) {
        c->too_large = 1;
        strbuf_free(&c->body);
        return 0;
    }
    return strbuf_append(&c->body, data, n);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
                                  const char *method, const char *version,
                                  const char *data, size_t *data_size, void **con_cls)
{
    srv_http *h = cls;
    conn *c = *con_cls;
    (void)version;
    if (!c) {
        if (!(c = conn_new(h, mc, url, method)))
            return MHD_NO;
        *con_cls = c;
        if (srv_route_is_upload(url))
            return upload_begin(c);
        if (!declared_too_large(mc))
            return MHD_YES;
        c->too_large = 1;
        return answer(c);
    }
    if (*data_size > 0) {
        int rc = c->up ? srv_upload_feed(c->up, data, *data_size)
                       : take_body(c, data, *data_size);
        *data_size = 0;
        return rc == 0 ? MHD_YES : MHD_NO;
    }
    if (c->a.gen)
        return send_when_done(c);
    if (c->up && !c->a.body)
        return upload_end(c);
    if (c->a.body)
        return MHD_YES;      /* answered already (a body refused early) */
    return answer(c);
}

/* Logs the request, counts it and lets it go; an unfinished generation
 * (the client went away) is cancelled. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    srv_http *h = cls;
    conn *c = *con_cls;
    (void)mc;
    if (!c)
        return;
    double s = clock_now() - c->t0;
    size_t tokens = c->a.gen ? srv_gen_tokens(c->a.gen) : 0;
    size_t prompt = c->a.gen ? srv_gen_prompt_tokens(c->a.gen) : 0;
    if (c->a.gen)
        srv_gen_detach(c->a.gen);
    if (c->up)
        srv_upload_release(c->up);
    char line[700];
    snprintf(line, sizeof line, "%s %s %d %zu tokens %.1f ms%s", c->method, c->path,
             c->a.status, tokens, s * 1e3, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
             : c->a.gen ? " (client gone: cancelled)" : " (not completed)");
    if (h->sv->log)
        h->sv->log(h->sv->log_ctx, line);
    else
        fprintf(stderr, "%s\n", line);
    srv_metrics_request(&h->sv->metrics, srv_route_label(c->path), c->a.status,
                        c->a.gen != NULL, s, tokens, prompt);
    if (c->streaming)
        srv_metrics_stream(&h->sv->metrics, -1);
    if (c->waiting)
        atomic_fetch_sub(&h->in_flight, 1);
    srv_answer_free(&c->a);
    strbuf_free(&c->body);
    free(c);
    *con_cls = NULL;
}

/* ---- the daemon */

srv_http *srv_http_start(srv_server *sv, int fd, char *err, size_t errlen)
{
    srv_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    h->sv = sv;
    h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC,
                            0, NULL, NULL, on_request, h,
                            MHD_OPTION_LISTEN_SOCKET, fd,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
                            MHD_OPTION_END);
    if (!h->d) {
        close(fd);
        free(h);
        snprintf(err, errlen, "libmicrohttpd could not start its daemon");
        return NULL;
    }
    return h;
}

void srv_http_quiesce(srv_http *h)
{
    MHD_socket fd = MHD_quiesce_daemon(h->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
}

int srv_http_in_flight(srv_http *h)
{
    return atomic_load(&h->in_flight);
}

void srv_http_stop(srv_http *h)
{
    MHD_stop_daemon(h->d);
    free(h);
}
