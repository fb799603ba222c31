/* front.h - start-up of the interactive front ends: which one runs (TUI,
 * REPL or script), the engine they share, the signals they poll, and the
 * pieces of readline set-up both line editors use. */
#ifndef FRONT_H
#define FRONT_H
#include <stddef.h>
#include "ui/cmd.h"

#define FRONT_MAX_EXEC 32

typedef struct front_opts {
    const char *corpus;       /* --corpus F; NULL: the bundled one */
    const char *open_dir;     /* open DIR */
    const char *script;       /* -x FILE */
    const char *exec[FRONT_MAX_EXEC];   /* -e CMD, run before the front end */
    int n_exec;
    int repl;                 /* `rnnlab repl` */
} front_opts;

/* Whether the command line belongs to the interactive front ends: no
 * arguments, repl, open, or one of their options first. */
int front_wants(int argc, char **argv);
/* Runs `rnnlab [--corpus F] [-e CMD]... [-x FILE | repl | open DIR]`.
 * Returns the exit status (0, 1 failure, 2 usage). */
int front_main(int argc, char **argv);

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGWINCH in the calling thread (and
 * the threads it starts later) and returns a signalfd reading them, or -1. */
int front_signals(void);
/* Reads one pending signal from fd; returns its number or 0. */
int front_read_signal(int fd);

/* Readline's completion, history file and settings for a front end whose
 * commands go to env.  readline keeps its state in globals, so env is
 * remembered in the one file-scope pointer of front.c. */
void front_readline_init(cmd_env *env);
void front_history_load(void);
/* Shows prompt and edits a line in readline's callback mode: feed it
 * with rl_callback_read_char when stdin is readable.  When the line is
 * finished the prompt goes away and front_prompt_take returns 1 with the
 * line (malloc'd; NULL at end of input); until then it returns 0. */
void front_prompt_install(const char *prompt);
int front_prompt_take(char **line);
void front_history_save(void);
/* Adds line to the history unless blank or a repeat of the last entry. */
void front_history_add(const char *line);

#endif
