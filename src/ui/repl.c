/* repl.c - the line interface.  One loop serves the interactive prompt
 * and scripts: it polls the engine's wake-up descriptor, the signal
 * descriptor and (at the prompt) stdin, prints engine events as lines, and
 * streams samples.  Each command is run to its end (its DONE event)
 * before the next one is read, so output never interleaves with typing. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "util/status.h"
#include "util/buf.h"
#include "ui/repl.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

typedef struct repl {
    cmd_env *env;
    int sigfd;
    int script;              /* echo commands, no readline */
    int prompt_shown;        /* readline's callback prompt is on screen */
    int bold;                /* stdout is a terminal */
    int failed;              /* a command failed */
    int interrupted;         /* Ctrl-C while a command ran */
    int quit;                /* quit, end of input, SIGTERM or SIGHUP */
    int hung_up;             /* SIGHUP, or the terminal closed: save */
    long wait_id;            /* the DONE awaited ... */
    int wait_done, wait_status;   /* ... and its arrival */
    int in_sample;
    char *held;              /* a sample that arrived at the prompt */
    size_t held_len, held_cap;
    const char *where;       /* script name, for error lines */
    long line_no;
} repl;

/* ------------------------------------------------------------------ */
/* Output */

/* Writes text without disturbing a prompt being edited. */
static void emit(repl *r, FILE *f, const char *text, size_t len)
{
    if (r->prompt_shown)
        rl_clear_visible_line();
    fflush(f == stderr ? stdout : stderr);
    fwrite(text, 1, len, f);
    fflush(f);
    if (r->prompt_shown)
        rl_forced_update_display();
}

static void emit_line(repl *r, cmd_stream s, const char *line)
{
    size_t n = strlen(line);
    char *buf = malloc(n + 2);
    if (!buf)
        return;
    memcpy(buf, line, n);
    buf[n] = '\n';
    emit(r, s == CMD_ERR ? stderr : stdout, buf, n + 1);
    free(buf);
}

/* Errors of a script name the line they come from. */
static void error_line(repl *r, const char *line)
{
    char buf[4800];
    if (r->script && r->where && r->line_no > 0) {
        snprintf(buf, sizeof buf, "%s:%ld: %s", r->where, r->line_no, line);
        emit_line(r, CMD_ERR, buf);
    } else {
        emit_line(r, CMD_ERR, line);
    }
}

static void print_cb(void *ctx, cmd_stream s, const char *line)
{
    if (s == CMD_ERR)
        error_line(ctx, line);
    else
        emit_line(ctx, s, line);
}

/* Interactive confirmation: a plain readline question. */
static int ask_cb(void *ctx, const char *question)
{
    repl *r = ctx;
    char prompt[600], *answer;
    int yes;
    if (r->script)
        return 1;
    snprintf(prompt, sizeof prompt, "%s [y/n] ", question);
    answer = readline(prompt);
    yes = answer && (answer[0] == 'y' || answer[0] == 'Y');
    free(answer);
    return yes;
}

static void hold(repl *r, const char *text, size_t len)
{
    if (GROW_ARRAY(&r->held, &r->held_cap, r->held_len + len + 1, 1024) < 0)
        return;
    memcpy(r->held + r->held_len, text, len);
    r->held_len += len;
}

/* Samples stream while a command runs; at the prompt (automatic samples
 * during training) they are held and shown whole at their end. */
static void sample_text(repl *r, const char *text, size_t len)
{
    if (r->prompt_shown)
        hold(r, text, len);
    else
        emit(r, stdout, text, len);
}

static void sample_begin(repl *r, const eng_event *ev)
{
    char head[1024], prime[600];
    int n = snprintf(head, sizeof head, "--- sample: step %ld, %s, prime "
                     "\"%s\" ---\n", ev->step, ev->text2 ? ev->text2 : "",
                     cmd_escape(ev->text ? ev->text : "", prime, sizeof prime));
    r->in_sample = 1;
    r->held_len = 0;
    sample_text(r, head, (size_t)n < sizeof head ? (size_t)n : sizeof head - 1);
    if (r->bold && !r->prompt_shown)
        sample_text(r, "\033[1m", 4);
    sample_text(r, ev->text ? ev->text : "", ev->len);
    if (r->bold && !r->prompt_shown)
        sample_text(r, "\033[0m", 4);
}

static void sample_end(repl *r)
{
    r->in_sample = 0;
    if (r->prompt_shown) {
        hold(r, "\n", 1);
        emit(r, stdout, r->held, r->held_len);
        r->held_len = 0;
    } else {
        emit(r, stdout, "\n", 1);
    }
}

static void handle_event(repl *r, const eng_event *ev)
{
    char line[4800];
    switch (ev->type) {
    case ENG_EV_DONE:
        if (ev->id == r->wait_id) {
            r->wait_done = 1;
            r->wait_status = ev->status;
        }
        return;
    case ENG_EV_SAMPLE_BEGIN: sample_begin(r, ev); return;
    case ENG_EV_SAMPLE_TOKEN: sample_text(r, ev->text, ev->len); return;
    case ENG_EV_SAMPLE_END: sample_end(r); return;
    default:
        if (cmd_event_line(ev, line, sizeof line))
            print_cb(r, ev->type == ENG_EV_ERROR ? CMD_ERR : CMD_OUT, line);
    }
}

/* ------------------------------------------------------------------ */
/* The loop */

static void on_signal(repl *r, int sig)
{
    if (sig == SIGWINCH) {
        if (r->prompt_shown)
            rl_resize_terminal();
    } else if (sig == SIGINT && r->prompt_shown) {
        /* at the prompt, Ctrl-C abandons the line being typed */
        rl_replace_line("", 0);
        rl_crlf();
        rl_on_new_line();
        rl_redisplay();
    } else if (sig == SIGINT) {
        r->interrupted = 1;
        eng_cancel_sample(r->env->e);
    } else if (sig) {
        r->quit = r->interrupted = 1;
        r->hung_up |= sig == SIGHUP;
        eng_cancel_sample(r->env->e);
    }
}

/* Waits up to timeout_ms for something to happen and handles it. */
static void pump(repl *r, int timeout_ms)
{
    struct pollfd p[3] = {{eng_fd(r->env->e), POLLIN, 0},
                          {r->sigfd, POLLIN, 0},
                          {STDIN_FILENO, POLLIN, 0}};
    eng_event *ev;
    int n = poll(p, r->prompt_shown ? 3 : 2, timeout_ms);
    if (n < 0 && errno != EINTR)
        r->quit = 1;
    if (n <= 0)
        return;
    if (p[1].revents & POLLIN)
        on_signal(r, line_read_signal(r->sigfd));
    if (p[0].revents & POLLIN) {
        eng_drain_fd(r->env->e);
        while ((ev = eng_next(r->env->e)) != NULL) {
            handle_event(r, ev);
            eng_event_free(ev);
        }
    }
    if (r->prompt_shown && (p[2].revents & (POLLHUP | POLLERR)))
        on_signal(r, SIGHUP);           /* the terminal was closed */
    else if (r->prompt_shown && (p[2].revents & POLLIN))
        rl_callback_read_char();
}

/* Waits for the DONE of id; returns its status. */
static int wait_done(repl *r, long id)
{
    r->wait_id = id;
    r->wait_done = 0;
    while (!r->wait_done)
        pump(r, 1000);
    r->wait_id = 0;
    return r->wait_status;
}

/* `wait`: until training (bounded) ends.  Returns 0 or -1. */
static int wait_training(repl *r)
{
    eng_status s;
    eng_snapshot(r->env->e, &s);
    if (s.state == ENG_PAUSED) {
        error_line(r, "wait: training is paused (resume or stop it)");
        return -1;
    }
    if (s.state != ENG_TRAINING)
        return 0;
    if (s.goal_step < 0 && s.goal_epoch < 0 && s.goal_seconds < 0) {
        error_line(r, "wait: training has no limit and would never end "
                   "(stop it, or train steps=N, epochs=N or time=SECONDS)");
        return -1;
    }
    /* evaluations and samples during the run are part of it */
    while (!r->interrupted && (s.state == ENG_TRAINING
                               || s.state == ENG_EVALUATING
                               || s.state == ENG_SAMPLING)) {
        pump(r, 250);
        eng_snapshot(r->env->e, &s);
    }
    /* let the events of the end (validation, message) arrive */
    for (int i = 0; i < 3; i++)
        pump(r, 10);
    return r->interrupted ? -1 : 0;
}

/* Runs one line; returns CMD_OK or CMD_FAIL. */
static int run_line(repl *r, const char *line)
{
    int rc;
    if (r->script) {
        printf("> %s\n", line);
        fflush(stdout);
    }
    r->interrupted = 0;
    rc = cmd_execute(r->env, line);
    if (rc == CMD_OK && r->env->posted > 0 && wait_done(r, r->env->posted) != 0)
        rc = CMD_FAIL;
    if (rc == CMD_OK && r->env->want_wait && wait_training(r) != 0)
        rc = CMD_FAIL;
    if (r->env->want_quit)
        r->quit = 1;
    if (rc != CMD_OK)
        r->failed = 1;
    return rc;
}

/* Runs "verb arg" with arg quoted (start-up: paths as given). */
static int run_words(repl *r, const char *verb, const char *arg)
{
    char line[4200];
    if (cmd_quote(verb, arg, line, sizeof line) != 0) {
        error_line(r, "path too long");
        r->failed = 1;
        return CMD_FAIL;
    }
    return run_line(r, line);
}

/* The start-up commands: corpus or session, then the -e commands. */
static int run_startup(repl *r, const front_opts *o)
{
    int rc = 0;
    if (o->open_dir)
        rc |= run_words(r, "open", o->open_dir);
    else if (o->corpus)
        rc |= run_words(r, "load", o->corpus);
    for (int i = 0; i < o->n_exec && !r->quit; i++)
        rc |= run_line(r, o->exec[i]);
    return rc;
}

static void repl_init(repl *r, cmd_env *env, int sigfd, int script)
{
    memset(r, 0, sizeof *r);
    r->env = env;
    r->sigfd = sigfd;
    r->script = script;
    r->bold = !script && isatty(STDOUT_FILENO);
    env->ui.ctx = r;
    env->ui.print = print_cb;
    env->ui.ask = script ? NULL : ask_cb;
    env->interactive = !script;
}

/* ------------------------------------------------------------------ */
/* Scripts */

/* At the end of a script: bounded training is waited for, unbounded
 * training stopped. */
static void finish_script(repl *r)
{
    eng_status s;
    eng_snapshot(r->env->e, &s);
    if (s.state != ENG_TRAINING)
        return;
    if (s.state == ENG_TRAINING && (s.goal_step >= 0 || s.goal_epoch >= 0 || s.goal_seconds >= 0)) {
        printf("(end of script: waiting for training to finish)\n");
        /* a stop by SIGTERM or SIGHUP is no failure, as in rnnlab train */
        if (wait_training(r) != 0 && !r->quit)
            r->failed = 1;
        return;
    }
    printf("(end of script: stopping training)\n");
    run_line(r, "stop");
}

int repl_script_file(cmd_env *env, int sigfd, const front_opts *o)
{
    repl r;
    FILE *f = stdin;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    repl_init(&r, env, sigfd, 1);
    if (o->script && strcmp(o->script, "-") != 0
        && (f = fopen(o->script, "r")) == NULL) {
        fprintf(stderr, "rnnlab: %s: %s\n", o->script, strerror(errno));
        return STATUS_FAIL;
    }
    run_startup(&r, o);
    r.where = o->script ? o->script : "stdin";
    while (!r.quit && !r.interrupted && (len = getline(&line, &cap, f)) >= 0) {
        r.line_no++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (line[strspn(line, " \t")] == '\0' || line[strspn(line, " \t")] == '#')
            continue;
        run_line(&r, line);
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (r.interrupted && !r.quit) {
        fprintf(stderr, "rnnlab: interrupted\n");
        r.interrupted = 0;
        finish_script(&r);
        return 130;
    }
    r.line_no = 0;
    if (!r.quit)
        finish_script(&r);
    if (r.hung_up && line_hangup_save(env, sigfd) != 0)
        r.failed = 1;
    free(r.held);
    return r.failed ? STATUS_FAIL : STATUS_OK;
}

/* ------------------------------------------------------------------ */
/* Interactive */

int repl_interactive(cmd_env *env, int sigfd, const front_opts *o)
{
    repl r;
    int last = CMD_OK;
    char *line;
    repl_init(&r, env, sigfd, 0);
    line_readline_init(env);
    line_history_load();
    printf("rnnlab %s: type help for the commands; Tab completes; Ctrl-D "
           "quits.\n", PACKAGE_VERSION);
    run_startup(&r, o);
    while (!r.quit) {
        line_prompt_install("rnnlab> ");
        r.prompt_shown = 1;
        while (!line_prompt_take(&line) && !r.quit)
            pump(&r, -1);
        if (r.quit) {
            rl_callback_handler_remove();
            r.prompt_shown = 0;
            break;
        }
        r.prompt_shown = 0;
        if (r.held_len > 0) {           /* a sample begun at the prompt */
            emit(&r, stdout, r.held, r.held_len);
            r.held_len = 0;
        }
        if (!line) {                    /* Ctrl-D */
            putchar('\n');
            last = run_line(&r, "quit");
            continue;
        }
        line_history_add(line);
        last = run_line(&r, line);
        free(line);
    }
    if ((r.hung_up || line_hung_up()) && line_hangup_save(env, sigfd) != 0)
        last = CMD_FAIL;
    line_history_save();
    free(r.held);
    return last == CMD_OK ? STATUS_OK : STATUS_FAIL;
}
