/* main.c - rnnlab entry point: the interactive front ends, or one of the
 * commands train, sample, eval, compare, plot, tokenize, cache and serve
 * (src/cli/train.c, sample.c, eval.c, compare.c, plot.c, tokenize.c,
 * cache.c, serve.c). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "util/suggest.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "dist/dist.h"
#include "ui/launch.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", "train a model on a text file, printing progress", cli_train},
    {"sample", "generate text from a saved session", cli_sample},
    {"eval", "measure a saved session's loss on its corpus", cli_eval},
    {"compare", "train several configurations alike and tabulate them", cli_compare},
    {"plot", "draw saved sessions' loss curves to a PNG or SVG", cli_plot},
    {"tokenize", "show how a tokenizer splits a text", cli_tokenize},
    {"cache", "list or clear the token caches of large corpora", cli_cache},
    {"serve", "serve generation from saved sessions over HTTP", cli_serve},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void main_help(FILE *f)
{
    fputs("Usage: rnnlab COMMAND [OPTION]...\n"
          "       rnnlab [--corpus FILE] | open DIR | repl | -x FILE\n"
          "Train recurrent language models (LSTM, GRU, tanh RNN) on text and\n"
          "sample from them.\n\nCommands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\nOptions:\n"
          "  -h, --help  show this help and exit\n"
          "  --version   show the version, what the build has (cuda, nccl, mpi)\n"
          "              and the CPU kernels in use (RNNLAB_SIMD caps them)\n"
          "\nInteractive use:\n"
          "  rnnlab [--corpus FILE] [-e CMD]...  the terminal interface; trains\n"
          "                                      at once (bundled corpus by default)\n"
          "  rnnlab open NAME|DIR                the terminal interface on a saved\n"
          "                                      session, paused\n"
          "  rnnlab repl [--corpus FILE]         a line interface (also when stdin\n"
          "                                      is not a terminal)\n"
          "  rnnlab -x FILE [--corpus FILE]      run a command script; exit 1 if a\n"
          "                                      command failed\n"
          "  -e CMD runs a command first.  Inside, type help.\n"
          "\nRun 'rnnlab COMMAND --help' for the options of a command.\n"
          "Exit status: 0 success, 1 error, 2 bad command line.\n", f);
}

static int unknown_command(const char *name)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < N_COMMANDS; i++)
        suggest_keep(name, commands[i].name, &best, &best_d);
    if (best)
        return cli_usage_error(NULL, "unknown command '%s'; did you mean '%s'?",
                           name, best);
    return cli_usage_error(NULL, "unknown command '%s'", name);
}

/* Output that could not be written is an error, not silence, unless its
 * reader has gone. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int saved = errno;
        if (rc == STATUS_OK && !cli_output_gone())
            return cli_fail("write error on standard output: %s", strerror(saved));
    }
    return rc;
}

static int cli_main(int argc, char **argv)
{
    const char *arg = argc > 1 ? argv[1] : NULL;
    /* mpirun -np N (N > 1): only train is distributed */
    if (dist_launched() > 1 && !(arg && strcmp(arg, "train") == 0))
        return cli_dist_refuse(arg);
    /* No command, repl, open and their options: the interactive front
     * ends (src/ui/launch.c). */
    if (launch_wants(argc, argv))
        return finish_output(launch_main(argc, argv, cli_server()));
    cli_catch_sigpipe();
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        main_help(stdout);
        return finish_output(STATUS_OK);
    }
    if (strcmp(arg, "--version") == 0) {
        printf("rnnlab %s\n", PACKAGE_VERSION);
        /* what configure found: cuda=no nccl=no is a CPU-only build */
        printf("features: cuda=%s nccl=%s mpi=%s\n", be_cuda_built() ? "yes" : "no",
               be_cuda_nccl_built() ? "yes" : "no", dist_built() ? "yes" : "no");
        char cpu[128];
        be_cpu_describe(cpu, sizeof cpu);
        printf("cpu: %s\n", cpu);
        return finish_output(STATUS_OK);
    }
    if (arg[0] == '-')
        return cli_usage_error(NULL, "unknown option '%s'", arg);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(arg, commands[i].name) == 0)
            return finish_output(commands[i].run(argc - 1, argv + 1));
    return unknown_command(arg);
}

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
