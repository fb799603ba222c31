/* serve.c - `rnnlab serve`: its options and help, the sessions named on
 * the command line, then src/serve/ takes over until a signal.  Also the
 * server the TUI and REPL's `serve` command starts (cli_server). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/mem.h"
#include "util/status.h"
#include "ui/cmd.h"
#include "serve/params.h"
#include "serve/sched.h"
#include "serve/serve.h"

#define SERVE_MAX_MODELS 32
#define SERVE_MAX_UPLOAD_LIMIT (64.0 * 1024 * 1024 * 1024)

enum { VO_HOST = 256, VO_PORT, VO_THREADS, VO_MAX_BATCH, VO_MAX_QUEUE, VO_API_KEY,
       VO_GRACE, VO_MODEL_DIR, VO_ALLOW_UPLOAD, VO_MAX_UPLOAD };

static const struct option serve_opts[] = {
    {"host", required_argument, NULL, VO_HOST},
    {"port", required_argument, NULL, VO_PORT},
    {"threads", required_argument, NULL, VO_THREADS},
    {"max-batch", required_argument, NULL, VO_MAX_BATCH},
    {"max-queue", required_argument, NULL, VO_MAX_QUEUE},
    {"api-key", required_argument, NULL, VO_API_KEY},
    {"grace", required_argument, NULL, VO_GRACE},
    {"model-dir", required_argument, NULL, VO_MODEL_DIR},
    {"allow-upload", no_argument, NULL, VO_ALLOW_UPLOAD},
    {"max-upload", required_argument, NULL, VO_MAX_UPLOAD},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct serve_args {
    cli_opt_ctx oc;
    serve_options o;
    long port, threads, max_batch, max_queue;
    double grace;
    char dirs[SERVE_MAX_MODELS][4096];
    char names[SERVE_MAX_MODELS][SRV_NAME_MAX];
    const char *dir_p[SERVE_MAX_MODELS], *name_p[SERVE_MAX_MODELS];
} serve_args;

/* --max-upload: bytes, or with a K, M or G suffix (binary units). */
static int max_upload(serve_args *a, const char *arg)
{
    double bytes;
    if (mem_parse(arg, &bytes) < 0 || bytes < 1 || bytes > SERVE_MAX_UPLOAD_LIMIT)
        return cli_usage_error(a->oc.cmd, "--max-upload: '%s' is not a size from 1 "
                               "byte to 64G (say 512M)", arg);
    a->o.max_upload = (unsigned long long)bytes;
    return 0;
}

static int serve_set(void *args, int id, const char *arg)
{
    serve_args *a = args;
    const cli_opt_ctx *c = &a->oc;
    switch (id) {
    case VO_HOST: a->o.host = arg; return 0;
    case VO_API_KEY: a->o.api_key = arg; return 0;
    case VO_PORT: return cli_opt_long(c, id, arg, 0, 65535, &a->port);
    case VO_THREADS: return cli_opt_long(c, id, arg, 1, SRV_MAX_WORKERS, &a->threads);
    case VO_MAX_BATCH: return cli_opt_long(c, id, arg, 1, SRV_MAX_BATCH, &a->max_batch);
    case VO_MAX_QUEUE: return cli_opt_long(c, id, arg, 1, 100000, &a->max_queue);
    case VO_GRACE: return cli_opt_double(c, id, arg, 0, 3600, 0, &a->grace);
    case VO_MODEL_DIR: a->o.model_dir = arg; return 0;
    case VO_ALLOW_UPLOAD: a->o.allow_upload = 1; return 0;
    case VO_MAX_UPLOAD: return max_upload(a, arg);
    default: return 0;
    }
}

static void serve_help(FILE *f)
{
    fprintf(f,
"Usage: rnnlab serve DIR|NAME... [OPTION]...\n"
"       rnnlab serve --model-dir DIR [DIR|NAME...] [OPTION]...\n"
"Serve text generation from saved sessions over HTTP until SIGINT or SIGTERM,\n"
"logging a line per request on stderr (method, path, status, tokens, ms).\n"
"A NAME is a session under ./sessions (else $XDG_DATA_HOME/rnnlab/sessions)\n"
"and the model's name; a DIR's model is named after its last component.\n"
"\n"
"Endpoints (JSON):\n"
"  POST /v1/completions  OpenAI's completions: model, prompt, max_tokens,\n"
"                        temperature, top_p, n, stop, seed, stream, logprobs\n"
"  POST /v1/generate     rnnlab's own: model, prime, length, temperature,\n"
"                        top_k, top_p, greedy, beam, n_best, repetition_penalty,\n"
"                        repetition_window, stop, seed, stream; answers as\n"
"                        sample --json does\n"
"  PUT /v1/models/NAME  upload a session as a tar (session.json,\n"
"                        model.safetensors; optionally best.safetensors,\n"
"                        optimizer.safetensors): installs or replaces NAME\n"
"  GET /v1/models, GET /health, GET /metrics (Prometheus text)\n"
"Settings a request leaves out are the session's; ranges are those of\n"
"rnnlab sample.  stream: true sends server-sent events, then data: [DONE].\n"
"A session saved again into its directory (rnnlab train --resume) is\n"
"reloaded within a second; requests in flight finish on the old weights.\n"
"To serve a model while it trains, use the serve command of the terminal\n"
"or line interface (rnnlab, rnnlab repl: help serve).\n"
"\n"
"  --host ADDR        address to listen on (default 127.0.0.1: this machine\n"
"                     only; 0.0.0.0 or :: for every interface)\n"
"  --port N           port, 0 to 65535 (default 8080; 0: any free one)\n"
"  --threads N        worker threads, 1 to %d, each with its own copy of the\n"
"                     models and an equal share of the cores for its steps\n"
"                     (default: the cores, up to 8)\n"
"  --max-batch N      generations a worker steps together, 1 to %d\n"
"                     (default %d)\n"
"  --max-queue N      generations waiting for a worker, 1 to 100000, past\n"
"                     which requests get 429 (default 256)\n"
"  --api-key KEY      require the header Authorization: Bearer KEY (all but\n"
"                     /health); default $RNNLAB_API_KEY, none when unset.\n"
"                     Prefer the variable: others can read command lines\n"
"  --grace SECONDS    at SIGINT or SIGTERM, time requests in flight get to\n"
"                     finish before they are cancelled, 0 to 3600 (default\n"
"                     %g; a second signal cancels at once)\n"
"  --model-dir DIR    also serve every session directory in DIR under its\n"
"                     name; uploads are written there\n"
"  --allow-upload     take uploads (PUT /v1/models/NAME); needs an API key\n"
"                     and --model-dir.  NAME: 1 to 64 of A-Z a-z 0-9 . _ -,\n"
"                     not starting with a dot.  An upload is checked as\n"
"                     rnnlab open checks a session, then swapped in whole\n"
"  --max-upload SIZE  the largest upload, bytes or with K, M, G (default\n"
"                     512M; 413 above it)\n"
"  -h, --help         show this help and exit\n"
"\n"
"Limits: bodies up to %zu bytes (413); prompts up to %d bytes, max_tokens\n"
"and length up to %d, n up to %d, logprobs up to %d (400).  Errors answer\n"
"{\"error\": {\"message\", \"type\", \"code\"}} with one line naming the field.\n",
            SRV_MAX_WORKERS, SRV_MAX_BATCH, SRV_MAX_BATCH, SERVE_DEFAULT_GRACE,
            SRV_MAX_BODY, SRV_MAX_PROMPT, SRV_MAX_TOKENS, SRV_MAX_CHOICES,
            SRV_MAX_LOGPROBS);
}

/* A session argument: a directory as given, a bare name under the
 * sessions directory; the model is named after the last component. */
static int resolve(serve_args *a, int i, const char *arg)
{
    char base[4096];
    struct stat st;
    if (stat(arg, &st) == 0 || strchr(arg, '/')) {
        snprintf(a->dirs[i], sizeof a->dirs[i], "%s", arg);
    } else {
        cmd_default_sessions_dir(base, sizeof base);
        snprintf(a->dirs[i], sizeof a->dirs[i], "%.2000s/%.2000s", base, arg);
    }
    size_t n = strlen(arg);
    while (n > 1 && arg[n - 1] == '/')
        n--;
    const char *start = arg + n;
    while (start > arg && start[-1] != '/')
        start--;
    snprintf(a->names[i], sizeof a->names[i], "%.*s", (int)(arg + n - start), start);
    for (int j = 0; j < i; j++)
        if (strcmp(a->names[j], a->names[i]) == 0)
            return cli_usage_error(a->oc.cmd, "two sessions named '%s'", a->names[i]);
    a->dir_p[i] = a->dirs[i];
    a->name_p[i] = a->names[i];
    return 0;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

/* The options with their defaults. */
static void serve_defaults(serve_args *a)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    memset(a, 0, sizeof *a);
    a->oc.cmd = "serve";
    a->oc.opts = serve_opts;
    a->o.host = "127.0.0.1";
    a->port = 8080;
    a->threads = cores < 1 ? 1 : cores > 8 ? 8 : cores;
    a->max_batch = SRV_MAX_BATCH;
    a->max_queue = 256;
    a->grace = SERVE_DEFAULT_GRACE;
    a->o.max_upload = SERVE_DEFAULT_MAX_UPLOAD;
}

/* The command line into a->o.  Returns 0, CLI_PARSE_HELP, or
 * STATUS_USAGE after a message. */
static int serve_args_read(serve_args *a, int argc, char **argv)
{
    char *pos[SERVE_MAX_MODELS];
    int n_pos, rc;
    serve_defaults(a);
    rc = cli_parse_command(&a->oc, argc, argv, serve_set, a, pos, SERVE_MAX_MODELS, &n_pos);
    if (rc != 0)
        return rc;
    if (n_pos == 0 && !a->o.model_dir)
        return cli_usage_error(a->oc.cmd, "missing the session directory (or --model-dir)");
    for (int i = 0; i < n_pos; i++)
        if ((rc = resolve(a, i, pos[i])) != 0)
            return rc;
    a->o.port = (int)a->port;
    a->o.threads = (int)a->threads;
    a->o.max_batch = (int)a->max_batch;
    a->o.max_queue = (int)a->max_queue;
    a->o.grace = a->grace;
    a->o.n_models = n_pos;
    a->o.dirs = a->dir_p;
    a->o.names = a->name_p;
    if (!a->o.api_key)
        a->o.api_key = getenv("RNNLAB_API_KEY");
    return 0;
}

int cli_serve(int argc, char **argv)
{
    if (serve_unavailable() && !wants_help(argc, argv))
        return cli_fail("%s", serve_unavailable());
    serve_args *a = malloc(sizeof *a);     /* large: the paths */
    if (!a)
        return cli_fail("out of memory");
    int rc = serve_args_read(a, argc, argv);
    if (rc == CLI_PARSE_HELP) {
        serve_help(stdout);
        rc = STATUS_OK;
    } else if (rc == 0) {
        char err[1024];
        rc = serve_main(&a->o, err, sizeof err) == 0 ? STATUS_OK : cli_fail("%s", err);
    }
    free(a);
    return rc;
}

/* ---- `serve` in the TUI and REPL: the model being trained */

/* The request lines would land on the TUI's screen or the REPL's prompt:
 * /metrics counts the requests instead. */
static void discard_line(void *ctx, const char *line)
{
    (void)ctx, (void)line;
}

/* One worker stepping up to SRV_MAX_BATCH streams with one thread: the
 * cores are training's. */
static void *follow_start(eng *e, int port, int *bound, char *err, size_t errlen)
{
    serve_options o = {.host = "127.0.0.1", .port = port, .threads = 1,
                       .worker_threads = 1, .max_batch = SRV_MAX_BATCH, .max_queue = 64,
                       .grace = 0, .max_upload = SERVE_DEFAULT_MAX_UPLOAD, .follow = e,
                       .log = discard_line};
    return serve_start(&o, bound, err, errlen);
}

static void follow_stop(void *handle)
{
    serve_stop(handle);
}

static unsigned long follow_requests(void *handle)
{
    return serve_requests(handle);
}

const cmd_server *cli_server(void)
{
    static const cmd_server server = {.start = follow_start, .stop = follow_stop,
                                      .requests = follow_requests};
    return serve_unavailable() ? NULL : &server;
}
