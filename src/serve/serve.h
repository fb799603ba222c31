/* serve.h - `rnnlab serve`: generation over HTTP.  Loads sessions (or
 * follows the model an engine trains: `serve` in the TUI and REPL),
 * listens on an address, and answers /v1/completions (OpenAI's shape),
 * /v1/generate (rnnlab's own), /v1/models, /health and /metrics, logging
 * a line per request.  serve_main serves until SIGINT or SIGTERM;
 * serve_start and serve_stop run a server in the background, which is
 * its starter's from one to the other. */
#ifndef SERVE_SERVE_H
#define SERVE_SERVE_H
#include <stddef.h>
#include "engine/engine.h"

#define SERVE_DEFAULT_GRACE 10.0   /* seconds in-flight requests get at exit */
#define SERVE_DEFAULT_MAX_UPLOAD (512ULL << 20)   /* bytes */
#define SERVE_FOLLOW_NAME "live"  /* the model an engine trains, served */

/* Takes one log line (no newline), on the HTTP thread. */
typedef void (*serve_log_fn)(void *ctx, const char *line);

typedef struct serve_options {
    const char *host;        /* address to listen on (default loopback) */
    int port;                /* 0: a free port, announced on stderr */
    int threads;             /* workers, each with its copy of the models */
    int worker_threads;      /* each worker's backend threads; 0: an equal
                              * share of the cores */
    int max_batch;           /* streams a worker steps together */
    int max_queue;           /* generations waiting for a stream */
    const char *api_key;     /* NULL or "": no key */
    double grace;            /* seconds in-flight requests get at shutdown */
    int n_models;
    const char *const *dirs; /* session directories */
    const char *const *names;/* the names they are served under */
    const char *model_dir;   /* NULL: none; else its sessions are served
                              * too, and uploads go there */
    int allow_upload;        /* PUT /v1/models/NAME (needs the key and
                              * model_dir) */
    unsigned long long max_upload;  /* bytes */
    eng *follow;             /* not NULL: serve the model it trains as
                              * SERVE_FOLLOW_NAME, from the copies of its
                              * weights (engine.h), instead of sessions */
    serve_log_fn log;        /* NULL: the request lines go to stderr */
    void *log_ctx;
} serve_options;

typedef struct serve_running serve_running;

/* NULL when this build can serve; else why not and what to do, one line
 * (a build without libmicrohttpd). */
const char *serve_unavailable(void);

/* Serves until SIGINT or SIGTERM: then stops accepting, gives requests in
 * flight up to o->grace seconds (a second signal: none), cancels the rest
 * (their streams end with finish_reason "cancelled"), and returns 0.
 * Meanwhile a session saved again into its directory (by `rnnlab train`,
 * an upload) is loaded and swapped in.  Returns -1 with a one-line message
 * in err when it cannot start: a session that does not load, an address it
 * cannot listen on, uploads allowed without a key or a model directory, a
 * build without libmicrohttpd. */
int serve_main(const serve_options *o, char *err, size_t errlen);

/* Starts serving in the background (threads of its own; the caller's
 * signal mask is theirs): listening once it returns, *port the port bound
 * (o->port 0: a free one).  Following an engine, it waits up to 2 s for
 * the first copy of the weights (a busy engine: the model appears when it
 * comes; until then requests for it get 404).  Returns the server, or
 * NULL with a one-line message as serve_main. */
serve_running *serve_start(const serve_options *o, int *port, char *err, size_t errlen);
/* Stops it: no new connections, generations in flight cancelled at once
 * (their streams end with finish_reason "cancelled"), their last bytes
 * given up to a few seconds to go out, and everything freed. */
void serve_stop(serve_running *r);
/* Requests answered so far. */
unsigned long serve_requests(serve_running *r);

#endif
