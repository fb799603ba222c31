/* launch.h - start-up of the interactive front ends: which one runs (TUI,
 * REPL or script) and the engine they share. */
#ifndef UI_LAUNCH_H
#define UI_LAUNCH_H
#include "ui/cmd.h"

/* Whether the command line belongs to the interactive front ends: no
 * arguments, repl, open, or one of their options first. */
int launch_wants(int argc, char **argv);
/* Runs `rnnlab [--corpus F] [-e CMD]... [-x FILE | repl | open DIR]`;
 * server (NULL: none) is what the serve command starts.  Returns the exit
 * status (0, 1 failure, 2 usage). */
int launch_main(int argc, char **argv, const cmd_server *server);

#endif
