/* serve.h - `rnnlab serve`: generation over HTTP.  Loads sessions, listens
 * on an address, and answers /v1/completions (OpenAI's shape),
 * /v1/generate (rnnlab's own), /v1/models, /health and /metrics until
 * SIGINT or SIGTERM, logging a line per request on stderr.  Everything
 * lives from serve_main's start to its return. */
#ifndef SERVE_SERVE_H
#define SERVE_SERVE_H
#include <stddef.h>

#define SERVE_DEFAULT_GRACE 10.0   /* seconds in-flight requests get at exit */
#define SERVE_DEFAULT_MAX_UPLOAD (512ULL << 20)   /* bytes */

typedef struct serve_options {
    const char *host;        /* address to listen on (default loopback) */
    int port;                /* 0: a free port, announced on stderr */
    int threads;             /* workers, each with its copy of the models */
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
} serve_options;

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

#endif
