#include "tui.h"
#include "repl.h"
int tui_run(cmd_env *env, int sigfd, const front_opts *o)
{
    return repl_interactive(env, sigfd, o);
}
