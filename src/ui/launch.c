/* launch.c - `rnnlab` without a batch command: parses the front end's
 * options, creates the engine, loads the corpus or session, and hands over
 * to the TUI, the REPL or the script runner. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/status.h"
#include "text/corpus.h"
#include "ui/launch.h"
#include "ui/line.h"
#include "ui/repl.h"
#include "ui/tui.h"

/* ------------------------------------------------------------------ */
/* Options */

int launch_wants(int argc, char **argv)
{
    const char *a = argc > 1 ? argv[1] : NULL;
    return !a || !strcmp(a, "repl") || !strcmp(a, "open")
        || !strcmp(a, "--corpus") || !strncmp(a, "--corpus=", 9)
        || !strcmp(a, "-x") || !strcmp(a, "-e");
}

/* A bad command line: the problem (fmt with one string) and the hint
 * that the batch commands give too.  Returns STATUS_USAGE. */
static int usage(const char *fmt, const char *arg)
{
    fputs("rnnlab: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'rnnlab --help'.\n", stderr);
    return STATUS_USAGE;
}

/* Reads the options into o.  Returns 0, or STATUS_USAGE after a message. */
static int parse(int argc, char **argv, front_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_next = i + 1 < argc;
        if (!strncmp(a, "--corpus=", 9)) {
            o->corpus = a + 9;
        } else if (!strcmp(a, "--corpus") || !strcmp(a, "-x") || !strcmp(a, "-e")) {
            if (!has_next)
                return usage("option '%s' needs a value", a);
            if (a[1] == 'x')
                o->script = argv[++i];
            else if (a[1] == 'e') {
                if (o->n_exec == FRONT_MAX_EXEC)
                    return usage("too many -e options (at most %s)", "32");
                o->exec[o->n_exec++] = argv[++i];
            } else
                o->corpus = argv[++i];
        } else if (!strcmp(a, "repl") && !o->repl && !o->open_dir) {
            o->repl = 1;
        } else if (!strcmp(a, "open") && !o->repl && !o->open_dir) {
            if (!has_next)
                return usage("open needs a session %s", "NAME or DIR");
            o->open_dir = argv[++i];
        } else if (a[0] == '-') {
            return usage("unknown option '%s'", a);
        } else {
            return usage("unexpected argument '%s'", a);
        }
    }
    if (o->open_dir && o->corpus)
        return usage("--corpus cannot go with open (the session names its "
                     "%s)", "corpus");
    if (o->script && (o->repl || o->open_dir))
        return usage("-x runs a script; it cannot go with %s",
                     o->repl ? "repl" : "open");
    return 0;
}

/* ------------------------------------------------------------------ */
/* Start-up */

/* Prints to stdout / stderr; the start-up messages before a front end. */
static void print_line(void *ctx, cmd_stream s, const char *line)
{
    (void)ctx;
    fprintf(s == CMD_ERR ? stderr : stdout, "%s\n", line);
}

int launch_main(int argc, char **argv, const cmd_server *server)
{
    front_opts o;
    cmd_env env;
    char err[512];
    int rc = parse(argc, argv, &o), sigfd, tty;
    if (rc != 0)
        return rc;
    tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if ((sigfd = line_signals()) < 0) {
        fprintf(stderr, "rnnlab: cannot watch signals: %s\n", strerror(errno));
        return STATUS_FAIL;
    }
    memset(&env, 0, sizeof env);
    env.ui.print = print_line;
    env.server = server;
    cmd_default_sessions_dir(env.sessions_dir, sizeof env.sessions_dir);
    if ((env.e = eng_new(err, sizeof err)) == NULL) {
        fprintf(stderr, "rnnlab: %s\n", err);
        close(sigfd);
        return STATUS_FAIL;
    }
    if (!o.corpus && !o.open_dir && !o.script && (tty || o.repl))
        o.corpus = corpus_bundled();
    if (o.script)
        rc = repl_script_file(&env, sigfd, &o);
    else if (o.repl || !tty)
        rc = isatty(STDIN_FILENO) ? repl_interactive(&env, sigfd, &o)
                                  : repl_script_file(&env, sigfd, &o);
    else
        rc = tui_run(&env, sigfd, &o);
    cmd_serve_stop(&env);       /* it reads the engine */
    eng_free(env.e);
    close(sigfd);
    return rc;
}
