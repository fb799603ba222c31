/* line.h - below the REPL and the TUI: the start-up options they take,
 * the signals they poll, and the readline set-up both line editors use. */
#ifndef UI_LINE_H
#define UI_LINE_H
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

/* Blocks SIGINT, SIGTERM, SIGHUP and SIGWINCH in the calling thread (and
 * the threads it starts later) and returns a signalfd reading them, or -1. */
int line_signals(void);
/* Reads one pending signal from fd; returns its number or 0. */
int line_read_signal(int fd);
/* Whether the terminal on stdin hung up (it was closed), for the front
 * ends that read a terminal: 1 or 0. */
int line_hung_up(void);
/* What a front end does when its terminal hangs up (SIGHUP, or stdin
 * closed), after leaving the screen: a session with a save path (saved
 * or opened) and unsaved training is saved there, training paused first
 * so that the save holds the latest step.  Waits for the save; SIGINT or
 * SIGTERM on sigfd stops waiting (a save under way still ends whole, as
 * eng_free waits for it).  Its message or error goes to stderr, which
 * may be a log.  Returns 0 (saved, or nothing to save) or -1. */
int line_hangup_save(cmd_env *env, int sigfd);

/* Readline's completion, history file and settings for a front end whose
 * commands go to env.  readline keeps its state in globals, so env is
 * remembered in the one file-scope pointer of line.c. */
void line_readline_init(cmd_env *env);
void line_history_load(void);
/* Shows prompt and edits a line in readline's callback mode: feed it
 * with rl_callback_read_char when stdin is readable.  When the line is
 * finished the prompt goes away and line_prompt_take returns 1 with the
 * line (malloc'd; NULL at end of input); until then it returns 0. */
void line_prompt_install(const char *prompt);
int line_prompt_take(char **line);
void line_history_save(void);
/* Adds line to the history unless blank or a repeat of the last entry. */
void line_history_add(const char *line);

#endif
