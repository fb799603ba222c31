/* cmd.h - the command language of the TUI, the REPL and scripts.  One
 * table of commands serves dispatch, `help`, `help CMD`, tab completion and
 * "did you mean" hints.  Commands that act on the model are posted to the
 * engine; the front end is reached through a small table of callbacks, so
 * this module knows nothing of curses or readline. */
#ifndef CMD_H
#define CMD_H
#include <stddef.h>
#include "engine/engine.h"

#define CMD_MAX_ARGS 130

/* Results of cmd_execute. */
enum { CMD_OK = 0, CMD_FAIL = -1 };

/* What a command's arguments complete to. */
typedef enum {
    CMPL_NONE, CMPL_FILE, CMPL_SETTING, CMPL_COMMAND, CMPL_MODEL,
    CMPL_TRAIN, CMPL_SPLIT, CMPL_SESSION
} cmd_completion;

typedef enum { CMD_OUT, CMD_ERR } cmd_stream;

/* The front end, as the commands see it. */
typedef struct cmd_ui {
    void *ctx;
    /* Shows one line of output or one error line (without newline). */
    void (*print)(void *ctx, cmd_stream s, const char *line);
    /* Asks a yes/no question: returns 1 for yes, 0 for no.  NULL (a
     * script): the answer is yes, and the question is shown as a note. */
    int (*ask)(void *ctx, const char *question);
} cmd_ui;

/* Serving the model being trained over HTTP (`serve`): the layer that
 * links the server in provides it, so this module needs none of it. */
typedef struct cmd_server {
    /* Starts serving e's model on 127.0.0.1:port (0: a free one), from
     * copies of its weights; generation runs on the server's threads.
     * Returns the handle with *bound the port, or NULL with a message. */
    void *(*start)(eng *e, int port, int *bound, char *err, size_t errlen);
    /* Stops it (generations in flight cancelled) and frees the handle. */
    void (*stop)(void *handle);
    /* Requests answered so far. */
    unsigned long (*requests)(void *handle);
} cmd_server;

#define CMD_SERVE_PORT 8080       /* serve's default port */

typedef struct cmd_env {
    eng *e;
    cmd_ui ui;
    const cmd_server *server; /* NULL: this build cannot serve */
    void *serving;            /* the server running, or NULL */
    int serving_port;
    char sessions_dir[4096];
    int interactive;          /* a person is typing (confirmations make sense) */
    /* Set by the last cmd_execute: */
    long posted;              /* id of the command posted to the engine; 0: none */
    int want_wait;            /* `wait` was given */
    int want_quit;            /* `quit` was given (and confirmed) */
    int want_help;            /* `help` with no argument (a TUI may show a screen) */
} cmd_env;

typedef struct cmd_def cmd_def;
typedef int (*cmd_fn)(cmd_env *env, const cmd_def *def, int argc, char **argv);

struct cmd_def {
    const char *name;
    const char *args;         /* usage after the name, "" when none */
    const char *summary;      /* one line */
    const char *help;         /* more lines for `help CMD`; may be NULL */
    int min_args, max_args;   /* after the name; -1: no limit */
    cmd_fn run;
    cmd_completion completion;
};

/* The table and its length. */
const cmd_def *cmd_table(size_t *n);
/* The command called name, or NULL. */
const cmd_def *cmd_find(const char *name);
/* The closest command to a mistyped name, or NULL when none is close. */
const char *cmd_suggest(const char *name);

/* Splits line into words: blanks separate, '...' quotes literally, "..."
 * quotes with \n \t \" \\ escapes, a backslash outside quotes escapes the
 * next character, and # at the start of a word begins a comment.  Words
 * go into buf (bufsize bytes) and argv.  Returns the count, or -1 with a
 * message in err (unterminated quote, too many words, line too long). */
int cmd_tokenize(const char *line, char **argv, int max_args, char *buf,
                 size_t bufsize, char *err, size_t errlen);

/* Writes "verb 'arg'" with arg quoted so that cmd_tokenize gives it back
 * unchanged.  Returns 0, or -1 when it does not fit in len. */
int cmd_quote(const char *verb, const char *arg, char *buf, size_t len);

/* Writes text as it would be typed inside double quotes (newlines, tabs,
 * quotes and backslashes escaped), truncated to len; returns buf. */
const char *cmd_escape(const char *text, char *buf, size_t len);

/* Runs one command line.  Errors are reported through env->ui.print.
 * Returns CMD_OK (also for an empty line) or CMD_FAIL.  A command given
 * to the engine reports its own result later, in a DONE event whose id
 * is env->posted. */
int cmd_execute(cmd_env *env, const char *line);

/* Prints the help: the list of commands, or one command's usage and
 * text.  Returns CMD_OK or CMD_FAIL for an unknown command. */
int cmd_help(cmd_env *env, const char *name);

/* Candidates for completing word, the word being typed after the text
 * before it on the line.  Returns a NULL-terminated array of strings
 * (caller frees each and the array), NULL when out of memory, or sets
 * *files to 1 (and returns NULL) when file names should be completed. */
char **cmd_complete(cmd_env *env, const char *before, const char *word,
                    int *files);

/* The sessions directory: ./sessions when it exists, else
 * $XDG_DATA_HOME/rnnlab/sessions (~/.local/share/rnnlab/sessions). */
void cmd_default_sessions_dir(char *buf, size_t len);

/* A line describing an engine event for a message pane or the REPL
 * (eval results, messages, errors); returns 0 when the event has no such
 * line (steps, samples, done). */
int cmd_event_line(const eng_event *ev, char *buf, size_t len);

/* One line of status: state, step, epoch, loss, tokens/s, model...,
 * and the port served on (serving_port 0: not serving). */
void cmd_status_line(const eng_status *s, int serving_port, char *buf, size_t len);

/* Stops the server `serve` started, if any (before the engine goes). */
void cmd_serve_stop(cmd_env *env);

#endif
