/* front.c - `rnnlab` without a batch command: parses the front end's
 * options, creates the engine, loads the corpus or session, and hands over
 * to the TUI, the REPL or the script runner. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli/cli.h"
#include "ui/front.h"
#include "ui/repl.h"
#include "ui/tui.h"

/* readline's callbacks (completion, a finished line) take no context
 * pointer, so what they need lives in this one file-scope variable: the
 * command environment, set once by front_readline_init, and the line
 * readline handed over, taken by front_prompt_take. */
static struct {
    cmd_env *env;
    char *line;
    int ready;                  /* a line (or end of input: line NULL) */
} rl;

/* ------------------------------------------------------------------ */
/* Signals */

int front_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGWINCH);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int front_read_signal(int fd)
{
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != (ssize_t)sizeof si)
        return 0;
    return (int)si.ssi_signo;
}

/* ------------------------------------------------------------------ */
/* Readline: completion and history */

static char **matches_from(char **cands, const char *text)
{
    size_t n = 0;
    char **m;
    while (cands[n])
        n++;
    if (n == 0) {
        free(cands);
        return NULL;
    }
    /* readline wants the common prefix first, then the matches. */
    m = malloc((n + 2) * sizeof *m);
    if (!m) {
        for (size_t i = 0; i < n; i++)
            free(cands[i]);
        free(cands);
        return NULL;
    }
    size_t common = strlen(cands[0]);
    for (size_t i = 1; i < n; i++) {
        size_t k = 0;
        while (k < common && cands[i][k] == cands[0][k])
            k++;
        common = k;
    }
    if (common < strlen(text))
        common = strlen(text);
    m[0] = n == 1 ? strdup(cands[0]) : strndup(cands[0], common);
    for (size_t i = 0; i < n; i++)
        m[i + 1] = cands[i];
    m[n + 1] = NULL;
    if (n == 1) {
        free(m[1]);
        m[1] = NULL;
    }
    free(cands);
    return m;
}

static char **complete(const char *text, int start, int end)
{
    char *before = strndup(rl_line_buffer, (size_t)start);
    int files = 0;
    char **cands;
    (void)end;
    rl_attempted_completion_over = 1;
    if (!before)
        return NULL;
    cands = cmd_complete(rl.env, before, text, &files);
    free(before);
    if (files) {
        rl_attempted_completion_over = 0;   /* readline's file names */
        return NULL;
    }
    if (!cands)
        return NULL;
    /* key=value words are not finished by a space */
    rl_completion_append_character = ' ';
    for (size_t i = 0; cands[i]; i++)
        if (cands[i][strlen(cands[i]) - 1] == '=')
            rl_completion_append_character = '\0';
    return matches_from(cands, text);
}

static void on_line(char *line)
{
    free(rl.line);
    rl.line = line;
    rl.ready = 1;
    /* No new prompt until the command has run. */
    rl_callback_handler_remove();
}

void front_prompt_install(const char *prompt)
{
    rl_callback_handler_install(prompt, on_line);
}

int front_prompt_take(char **line)
{
    if (!rl.ready)
        return 0;
    *line = rl.line;
    rl.line = NULL;
    rl.ready = 0;
    return 1;
}

void front_readline_init(cmd_env *env)
{
    rl.env = env;
    rl_readline_name = "rnnlab";
    rl_attempted_completion_function = complete;
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
}

/* Makes the parents of path; errors show up when the file is written. */
static void make_parents(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        mkdir(path, 0700);
        *p = '/';
    }
}

static void history_path(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/rnnlab/history", xdg);
    else
        snprintf(buf, len, "%s/.local/state/rnnlab/history",
                 home && home[0] ? home : ".");
}

void front_history_load(void)
{
    char path[4096];
    history_path(path, sizeof path);
    using_history();
    stifle_history(1000);
    read_history(path);
}

void front_history_save(void)
{
    char path[4096];
    history_path(path, sizeof path);
    make_parents(path);
    write_history(path);
}

void front_history_add(const char *line)
{
    HIST_ENTRY *last;
    if (!line[strspn(line, " \t")])
        return;
    last = history_length > 0 ? history_get(history_base + history_length - 1)
                              : NULL;
    if (!last || strcmp(last->line, line) != 0)
        add_history(line);
}

/* ------------------------------------------------------------------ */
/* Options */

int front_wants(int argc, char **argv)
{
    const char *a = argc > 1 ? argv[1] : NULL;
    return !a || !strcmp(a, "repl") || !strcmp(a, "open")
        || !strcmp(a, "--corpus") || !strncmp(a, "--corpus=", 9)
        || !strcmp(a, "-x") || !strcmp(a, "-e");
}

/* A bad command line: the problem (fmt with one string) and the hint
 * that cli.c gives too.  Returns CLI_USAGE. */
static int usage(const char *fmt, const char *arg)
{
    fputs("rnnlab: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\nTry 'rnnlab --help'.\n", stderr);
    return CLI_USAGE;
}

/* Reads the options into o.  Returns 0, or CLI_USAGE after a message. */
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

int front_main(int argc, char **argv)
{
    front_opts o;
    cmd_env env;
    char err[512];
    int rc = parse(argc, argv, &o), sigfd, tty;
    if (rc != 0)
        return rc;
    tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if ((sigfd = front_signals()) < 0) {
        fprintf(stderr, "rnnlab: cannot watch signals: %s\n", strerror(errno));
        return CLI_FAIL;
    }
    memset(&env, 0, sizeof env);
    env.ui.print = print_line;
    cmd_default_sessions_dir(env.sessions_dir, sizeof env.sessions_dir);
    if ((env.e = eng_new(err, sizeof err)) == NULL) {
        fprintf(stderr, "rnnlab: %s\n", err);
        close(sigfd);
        return CLI_FAIL;
    }
    if (!o.corpus && !o.open_dir && !o.script && (tty || o.repl))
        o.corpus = cli_default_corpus();
    if (o.script)
        rc = repl_script_file(&env, sigfd, &o);
    else if (o.repl || !tty)
        rc = isatty(STDIN_FILENO) ? repl_interactive(&env, sigfd, &o)
                                  : repl_script_file(&env, sigfd, &o);
    else
        rc = tui_run(&env, sigfd, &o);
    eng_free(env.e);
    close(sigfd);
    return rc;
}
