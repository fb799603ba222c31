/* tui.h - the full-screen terminal interface (ncursesw): live plot,
 * status line, sample and message panes, and a readline command line. */
#ifndef TUI_H
#define TUI_H
#include "ui/line.h"

/* Runs the screen until quit.  Returns the exit status (0, or 1 when the
 * terminal could not be set up). */
int tui_run(cmd_env *env, int sigfd, const front_opts *o);

#endif
