/* line.c - what the REPL and the TUI share below them: the signals they
 * poll through a signalfd, and readline's completion, history and
 * callback-mode prompt. */
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

int line_signals(void)
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

int line_read_signal(int fd)
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
