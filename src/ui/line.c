/* line.c - what the REPL and the TUI share below them: the signals they
 * poll through a signalfd, the save when their terminal hangs up, and
 * readline's completion, history and callback-mode prompt. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ui/line.h"

/* readline's callbacks (completion, a finished line) take no context
 * pointer, so what they need lives in this one file-scope variable: the
 * command environment, set once by line_readline_init, and the line
 * readline handed over, taken by line_prompt_take. */
static struct {
    cmd_env *env;
    char *line;
    int ready;                  /* a line (or end of input: line NULL) */
} rl;

/* ------------------------------------------------------------------ */
/* Signals */

/* The thread that reads the signals.  A handler gets no context pointer,
 * so forward() finds it here; it is set before the handlers go in. */
static pthread_t sig_reader;

/* Threads started before main (OpenBLAS starts its workers in a
 * constructor) do not block the signals, and the kernel hands a
 * process's signal to any thread that does not, where the default action
 * would end the process.  Such a thread passes the signal on to the
 * reader, which blocks it, so it waits for the signalfd. */
static void forward(int sig)
{
    int saved = errno;
    pthread_kill(sig_reader, sig);
    errno = saved;
}

int line_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGWINCH};
    struct sigaction sa;
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&set, sigs[i]);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    sig_reader = pthread_self();
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sa.sa_mask = set;
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaction(sigs[i], &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int line_read_signal(int fd)
{
    struct signalfd_siginfo si;
    if (read(fd, &si, sizeof si) != (ssize_t)sizeof si)
        return 0;
    return (int)si.ssi_signo;
}

int line_hung_up(void)
{
    struct pollfd p = {STDIN_FILENO, POLLIN, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLHUP) != 0;
}

/* Waits for the DONE of id, printing the engine's messages and errors
 * on the way.  Returns its status, or -1 when a signal stops the wait. */
static int await_done(eng *e, int sigfd, long id)
{
    char line[4800];
    for (;;) {
        struct pollfd p[2] = {{eng_fd(e), POLLIN, 0}, {sigfd, POLLIN, 0}};
        eng_event *ev;
        int sig;
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return -1;
        if ((p[1].revents & POLLIN) && (sig = line_read_signal(sigfd)) != 0
            && (sig == SIGINT || sig == SIGTERM))
            return -1;
        if (!(p[0].revents & POLLIN))
            continue;
        eng_drain_fd(e);
        while ((ev = eng_next(e)) != NULL) {
            int done = ev->type == ENG_EV_DONE && ev->id == id, rc = ev->status;
            int said = ev->type == ENG_EV_MESSAGE || ev->type == ENG_EV_ERROR;
            if (said && cmd_event_line(ev, line, sizeof line))
                fprintf(stderr, "rnnlab: %s\n", line);
            eng_event_free(ev);
            if (done)
                return rc;
        }
    }
}

int line_hangup_save(cmd_env *env, int sigfd)
{
    eng_status s;
    eng_cmd c;
    long id;
    eng_snapshot(env->e, &s);
    if (!s.loaded || !s.dirty || !s.session[0])
        return 0;
    eng_cancel_sample(env->e);
    memset(&c, 0, sizeof c);
    if (s.state == ENG_TRAINING) {
        /* a pause that comes too late (the run just ended) only errs */
        c.type = ENG_CMD_PAUSE;
        eng_post(env->e, &c);
    }
    c.type = ENG_CMD_SAVE;
    snprintf(c.str, sizeof c.str, "%s", s.session);
    if ((id = eng_post(env->e, &c)) < 0) {
        fprintf(stderr, "rnnlab: hang-up: out of memory; %s is not saved\n",
                s.session);
        return -1;
    }
    return await_done(env->e, sigfd, id) == 0 ? 0 : -1;
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

void line_prompt_install(const char *prompt)
{
    rl_callback_handler_install(prompt, on_line);
}

int line_prompt_take(char **line)
{
    if (!rl.ready)
        return 0;
    *line = rl.line;
    rl.line = NULL;
    rl.ready = 0;
    return 1;
}

void line_readline_init(cmd_env *env)
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

void line_history_load(void)
{
    char path[4096];
    history_path(path, sizeof path);
    using_history();
    stifle_history(1000);
    read_history(path);
}

void line_history_save(void)
{
    char path[4096];
    history_path(path, sizeof path);
    make_parents(path);
    write_history(path);
}

void line_history_add(const char *line)
{
    HIST_ENTRY *last;
    if (!line[strspn(line, " \t")])
        return;
    last = history_length > 0 ? history_get(history_base + history_length - 1)
                              : NULL;
    if (!last || strcmp(last->line, line) != 0)
        add_history(line);
}
