/* cli_int.h - private to src/cli/: what the command files (train.c,
 * sample.c, eval.c, tokenize.c, main.c) share: messages, option parsing,
 * output helpers and the device choice. */
#ifndef CLI_INT_H
#define CLI_INT_H
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "util/compat.h"
#include "backend/backend.h"
#include "device/open.h"
#include "train/trainer.h"
#include "engine/settings.h"
#include "ui/cmd.h"
#include "text/tok.h"
#include "text/tok_opt.h"
#include "text/corpus.h"

/* The commands: argv[0] is the command's name.  Each returns an exit
 * status (util/status.h). */
int cli_train(int argc, char **argv);
int cli_sample(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_tokenize(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_cache(int argc, char **argv);
/* What the TUI and REPL's serve command starts; NULL in a build without
 * libmicrohttpd. */
const cmd_server *cli_server(void);

/* --- messages (options.c), each one line "rnnlab: ..." on stderr --- */

/* A bad command line, then "Try 'rnnlab CMD --help'." (cmd NULL: the top
 * level).  Returns STATUS_USAGE. */
PRINTF_LIKE(2, 3) int cli_usage_error(const char *cmd, const char *fmt, ...);
/* Messages from now on are kept (the last one, as for cli_hold_messages)
 * until cli_release_messages: a command that reports them in its own
 * words. */
void cli_capture_messages(void);
void cli_release_messages(void);
/* A runtime error.  Returns STATUS_FAIL. */
PRINTF_LIKE(1, 2) int cli_fail(const char *fmt, ...);
PRINTF_LIKE(1, 2) void cli_warn(const char *fmt, ...);
/* Messages from now on are kept, not printed: the last one is
 * cli_held_message's (empty when none). */
void cli_hold_messages(void);
const char *cli_held_message(void);
/* Whether messages are held (this process does not speak for the run). */
int cli_messages_held(void);

/* --- preparing a corpus file (prep.c) --- */

/* The token cache and a long preparation's progress on stderr: p for
 * corpus_open and session_load_prep; the rest is the progress's own. */
typedef struct cli_prep {
    corpus_prep p;
    int tty;
    char stage[64];
    double start, drawn;
} cli_prep;
/* The cache as the environment says (corpus_prep_default), none when
 * cache is 0; progress unless quiet (notes always). */
void cli_prep_init(cli_prep *c, int cache, int quiet);

/* The session in dir (session_load: corpus as there), its settings checked
 * by the settings table; sample (may be NULL) gets its sampling settings.
 * Returns NULL after a one-line message. */
trainer *cli_load_session(be_backend *be, const char *dir, const char *corpus,
                          sample_config *sample);
/* The same, the corpus prepared as prep says (NULL: the default cache). */
trainer *cli_load_session_prep(be_backend *be, const char *dir, const char *corpus,
                               sample_config *sample, const corpus_prep *prep);
/* --best: the session's best checkpoint in place of its last weights.
 * Returns STATUS_OK, or STATUS_FAIL after a message (it has none). */
int cli_use_best(trainer *t, const char *dir);
/* Warns when loading the corpus skipped characters outside the vocabulary. */
void cli_warn_unknown_corpus(const trainer *t);

/* --- `rnnlab train` for another command (train.c; compare.c) --- */

/* What one run measured. */
typedef struct cli_train_result {
    double val_loss, val_bpt, val_bpb;  /* the last validation: nats, bits
                                         * per token, per byte; NAN: none */
    double seconds;                     /* training time of the run */
    double tokens_per_s;                /* targets trained on per second */
    long steps, params;
    const char *tokens;                 /* the tokenizer's kind (static) */
    char why[160];                      /* why it stopped (run_why) */
    int interrupted;                    /* stopped by Ctrl-C or SIGTERM */
    metric_point *hist;                 /* the session's loss history, a
                                         * copy for the caller to free */
    size_t n_hist;
} cli_train_result;

/* Whether name is an option of train that needs a value: 1; a flag (or a
 * value optional): 0; no option of train: -1. */
int cli_train_option_arg(const char *name);
/* Parses argv (argv[0]: "train") as `rnnlab train` does and checks the
 * new run it describes, opening nothing: the options, their
 * combinations, save (not NULL: the run's session directory, as --save)
 * and none of the options named in refused (NULL-terminated; NULL: none)
 * given.  --resume and --help are refused too.  Returns STATUS_OK, or
 * STATUS_USAGE / STATUS_FAIL after a message. */
int cli_train_check(int argc, char **argv, const char *save,
                    const char *const *refused);
/* Runs `rnnlab train` with argv (checked by cli_train_check), saving to
 * save when not NULL; prints nothing but warnings and errors, and fills
 * *result (its history then the caller's).  Returns an exit status. */
int cli_train_measure(int argc, char **argv, const char *save,
                      cli_train_result *result);

/* --- pictures of loss histories (plot.c) --- */

/* The loss histories hist[i] (n[i] points) of count sessions named
 * names[i], drawn to path (.png or .svg): each session's training loss
 * thin and its validations bold, in a colour of its own; log_y: a log
 * axis; title may be NULL.  Returns STATUS_OK, or STATUS_FAIL after a
 * one-line message. */
int cli_plot_histories(const char *path, const char *const *names,
                       metric_point *const *hist, const size_t *n, int count,
                       int log_y, const char *title);
/* Whether path can be a picture: a build with cairo, a name ending .png
 * or .svg, a directory to write it in.  Returns STATUS_OK, or
 * STATUS_USAGE (the name, a usage error for cmd) or STATUS_FAIL (the rest)
 * after a message naming option (NULL: none) and path. */
int cli_plot_check(const char *cmd, const char *option, const char *path);

/* --- a data-parallel run (dist.c): `rnnlab train` under mpirun --- */

/* Joins the run; the ranks but 0 print nothing from then on (their
 * standard output goes to /dev/null, their messages are held).  Returns
 * STATUS_OK, or STATUS_FAIL after a message (a build without MPI under a
 * launch of several processes). */
int cli_dist_begin(void);
/* Collective, after the setup that returned rc (t the trainer when rc is
 * STATUS_OK): when some process failed, rank 0 prints the first failure
 * it did not print itself and every process returns a failure status;
 * else each takes its share of the streams (trainer_share).  Returns
 * STATUS_OK, or the failure status. */
int cli_dist_start(trainer *t, int rc);
/* Collective: saves the session of all the processes' streams (rank 0
 * writes it; alone, session_save).  Returns 0, or -1 with err set. */
int cli_dist_save(trainer *t, const sample_config *sample, const char *dir,
                  char *err, size_t len);
/* Ends the whole run with status when this process fails alone where the
 * others cannot know it (a failed report); alone, returns. */
void cli_dist_abandon(int status);
/* Leaves the run. */
void cli_dist_end(void);
/* Under a launch of several processes, command (argv[1]: a command, an
 * option or NULL for the interactive front ends) is refused when it is not
 * train: rank 0 says so.  Returns STATUS_FAIL. */
int cli_dist_refuse(const char *command);

/* --- output (options.c) --- */

/* Bytes for people: "812 kB", "1.3 GB" (powers of 1000, as rates are;
 * prep.c). */
const char *cli_bytes(char buf[32], double b);
/* A count with thousands separators: 12345 -> "12,345". */
const char *cli_grouped(char buf[32], double v);
/* Rounds to float precision so JSON shows 1.8423, not 1.84229993820190. */
double cli_tidy(double x);
/* Prints a cJSON object as one line and frees it; STATUS_OK or STATUS_FAIL. */
int cli_print_json(cJSON *o);
/* Catches SIGPIPE, whatever the disposition inherited, so that a write to
 * a pipe or socket nobody reads any more fails (EPIPE) instead of killing
 * the program. */
void cli_catch_sigpipe(void);
/* Nonzero once a write to standard output failed because its reader has
 * gone (`rnnlab sample ... | head`, or a terminal closed): the command
 * then stops its work as if interrupted, writes nothing more and exits
 * quietly with status 0. */
int cli_output_gone(void);

/* Writes a token's bytes to f as a JSON string, escaped as cJSON does;
 * bytes that are not UTF-8 become U+FFFD, and a token of more than about
 * 250 bytes is cut at a character. */
void cli_put_json_string(FILE *f, const uint8_t *bytes, size_t len);

/* --- option parsing (options.c) --- */

typedef struct cli_opt_ctx {
    const char *cmd;                /* subcommand, for messages */
    const struct option *opts;      /* its long options */
    const char *shorts;             /* its short options besides -h, as
                                     * getopt spells them (NULL: none);
                                     * each is also the val of a long one */
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

/* The tokenizer's long options for a command's table: their ids are
 * first, first + 1, ... in TOK_OPT_* order (text/tok_opt.h). */
#define CLI_TOK_OPTIONS(first) \
    {"tokens", required_argument, NULL, (first) + TOK_OPT_TOKENS}, \
    {"min-count", required_argument, NULL, (first) + TOK_OPT_MIN_COUNT}, \
    {"max-vocab", required_argument, NULL, (first) + TOK_OPT_MAX_VOCAB}, \
    {"lowercase", no_argument, NULL, (first) + TOK_OPT_LOWERCASE}, \
    {"word-letters", no_argument, NULL, (first) + TOK_OPT_LETTERS}, \
    {"bpe-vocab", required_argument, NULL, (first) + TOK_OPT_BPE_VOCAB}, \
    {"bpe-sample", required_argument, NULL, (first) + TOK_OPT_BPE_SAMPLE}
/* a tokenizer option (--tokens, --min-count, --max-vocab, --lowercase,
 * --word-letters, --bpe-vocab, --bpe-sample, named as in text/tok_opt.h): */
int cli_opt_tok(const cli_opt_ctx *c, int id, const char *arg, tok_options *o);
/* The help lines of the tokenizer options (train and tokenize). */
void cli_tok_help(FILE *f);

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
