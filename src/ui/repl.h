/* repl.h - the line interface: an interactive readline prompt, and the
 * script runner for `rnnlab -x FILE` or commands piped on stdin. */
#ifndef REPL_H
#define REPL_H
#include "ui/line.h"

/* Reads commands with readline until quit or end of input; engine events
 * are printed above the prompt as they come.  Returns the exit status:
 * 0, or 1 when the last command failed. */
int repl_interactive(cmd_env *env, int sigfd, const front_opts *o);

/* Runs the commands of o->script (stdin when NULL), echoing each as
 * "> COMMAND" and waiting for each to finish.  At the end a bounded
 * training run is waited for and an unbounded one stopped.  Returns 0, or
 * 1 when any command failed (130 when interrupted). */
int repl_script_file(cmd_env *env, int sigfd, const front_opts *o);

#endif
