/* cli_int.h - private to src/cli/: what the command files (train.c,
 * sample.c, eval.c, main.c) share: messages, option parsing, output
 * helpers and the device choice. */
#ifndef CLI_INT_H
#define CLI_INT_H
#include <getopt.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "util/compat.h"
#include "backend/backend.h"
#include "device/open.h"
#include "train/trainer.h"
#include "engine/settings.h"

/* The commands: argv[0] is the command's name.  Each returns an exit
 * status (util/status.h). */
int cli_train(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_serve(int argc, char **argv);

/* --- messages (options.c), each one line "rnnlab: ..." on stderr --- */

/* A bad command line, then "Try 'rnnlab CMD --help'." (cmd NULL: the top
 * level).  Returns STATUS_USAGE. */
PRINTF_LIKE(2, 3) int cli_usage_error(const char *cmd, const char *fmt, ...);
/* A runtime error.  Returns STATUS_FAIL. */
PRINTF_LIKE(1, 2) int cli_fail(const char *fmt, ...);
PRINTF_LIKE(1, 2) void cli_warn(const char *fmt, ...);
/* The session in dir (session_load: corpus as there), its settings checked
 * by the settings table; sample (may be NULL) gets its sampling settings.
 * Returns NULL after a one-line message. */
trainer *cli_load_session(be_backend *be, const char *dir, const char *corpus,
                          sample_config *sample);
/* --best: the session's best checkpoint in place of its last weights.
 * Returns STATUS_OK, or STATUS_FAIL after a message (it has none). */
int cli_use_best(trainer *t, const char *dir);
/* Warns when loading the corpus skipped characters outside the vocabulary. */
void cli_warn_unknown_corpus(const trainer *t);

/* --- output (options.c) --- */

/* A count with thousands separators: 12345 -> "12,345". */
const char *cli_grouped(char buf[32], double v);
/* Rounds to float precision so JSON shows 1.8423, not 1.84229993820190. */
double cli_tidy(double x);
/* Prints a cJSON object as one line and frees it; STATUS_OK or STATUS_FAIL. */
int cli_print_json(cJSON *o);

/* --- option parsing (options.c) --- */

typedef struct cli_opt_ctx {
    const char *cmd;                /* subcommand, for messages */
    const struct option *opts;      /* its long options */
} cli_opt_ctx;

/* Stores one option; returns 0 or STATUS_USAGE after a message. */
typedef int (*cli_opt_setter)(void *args, int id, const char *arg);

/* cli_parse_command's answer when --help was given. */
enum { CLI_PARSE_HELP = -1 };
/* Range flags for cli_opt_double: an open end excludes the bound. */
enum { CLI_LO_OPEN = 1, CLI_HI_OPEN = 2 };

/* The long name of option id. */
const char *cli_opt_name(const cli_opt_ctx *c, int id);
/* Parses a subcommand's arguments (argv[0] is its name): set is called for
 * each option, and up to max_pos positional arguments go to pos.  Returns
 * 0, CLI_PARSE_HELP, or STATUS_USAGE after a message. */
int cli_parse_command(const cli_opt_ctx *c, int argc, char **argv,
                      cli_opt_setter set, void *args, char **pos, int max_pos,
                      int *n_pos);
/* Option values; each returns 0, or STATUS_USAGE after a message naming
 * the option.  The whole of arg must be a decimal integer in [lo, hi]: */
int cli_opt_long(const cli_opt_ctx *c, int id, const char *arg, long lo,
                 long hi, long *out);
/* a finite number within [lo, hi], ends open as flags say (hi may be
 * INFINITY): */
int cli_opt_double(const cli_opt_ctx *c, int id, const char *arg, double lo,
                   double hi, int flags, double *out);
/* an unsigned 64-bit integer (seeds): */
int cli_opt_u64(const cli_opt_ctx *c, int id, const char *arg, uint64_t *out);
/* one of a fixed set of names, read by parse (-1: unknown): */
int cli_opt_choice(const cli_opt_ctx *c, int id, const char *arg,
                   int (*parse)(const char *), const char *choices, int *out);

/* an option that mirrors the setting called name: the settings table
 * checks it and stores it in v, and its message is set's, after "--OPT: ": */
int cli_opt_setting(const cli_opt_ctx *c, int id, const char *arg,
                    const char *name, setting_values *v);

/* --- the device (device.c) --- */

/* Where a command runs: --device and, for train, --precision.  note is
 * what auto chose, said when the command's work starts: a command that
 * fails before that still prints its one-line error alone. */
enum { CLI_DEV_AUTO = BE_DEVICE_AUTO, CLI_DEV_CPU = BE_DEVICE_CPU,
       CLI_DEV_CUDA = BE_DEVICE_CUDA };

typedef struct cli_device {
    int device, precision, given;   /* given: --device was on the line */
    char note[400];
} cli_device;

/* "auto", "cpu" or "cuda" -> CLI_DEV_*, or -1. */
int cli_device_parse(const char *s);
/* The backend for d: cuda takes GPU 0 or fails; auto takes GPU 0 when one
 * answers, else the CPU, and leaves in d->note which it took (with human
 * set, in a build with CUDA) or why the GPU failed.  Returns NULL after a
 * one-line message.  The caller frees the backend. */
be_backend *cli_open_backend(cli_device *d, int human);
/* Prints the device note of cli_open_backend, once. */
void cli_say_device(cli_device *d);

#endif
