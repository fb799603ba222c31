/* cli.c - the rnnlab command line: subcommand dispatch, strict option
 * parsing, and the train, sample and eval commands.  The commands are thin
 * layers over the engine interfaces in src/engine/. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "ui/cmd.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "text/corpus.h"
#include "model/model.h"
#include "train/optim.h"
#include "decode/sample.h"
#include "store/session.h"
#include "text/tok.h"
#include "train/trainer.h"
#include "ui/front.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef RNNLAB_DATADIR
#define RNNLAB_DATADIR "/usr/local/share/rnnlab"
#endif

/* The bundled corpus: ./data/ when run from the source tree, else the
 * installed data directory. */
#define CORPUS_NAME "tiny-plays.txt"
#define LOCAL_CORPUS "data/" CORPUS_NAME
#define INSTALLED_CORPUS RNNLAB_DATADIR "/" CORPUS_NAME

#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

/* parse_command's answer when --help was given. */
enum { PARSE_HELP = -1 };

/* The one piece of mutable file-scope state.  A signal handler cannot be
 * handed a context pointer, so the train command's request to stop
 * (SIGINT, SIGTERM) reaches its loop through this flag.  Only the train
 * command installs the handler. */
static volatile sig_atomic_t stop_requested;

/* ------------------------------------------------------------------ */
/* Messages */

static void vmessage(const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("rnnlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* A bad command line: the problem, then where to read about it.  cmd is
 * the subcommand, or NULL for the top level.  Returns CLI_USAGE. */
PRINTF_LIKE(2, 3)
static int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Try 'rnnlab %s --help'.\n", cmd);
    else
        fputs("Try 'rnnlab --help'.\n", stderr);
    return CLI_USAGE;
}

/* A runtime error: one line.  Returns CLI_FAIL. */
PRINTF_LIKE(1, 2)
static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

PRINTF_LIKE(1, 2)
static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Small text helpers */

/* Keeps cand in *best when it is closer to s than the best so far and
 * close enough to be a plausible typo. */
static void consider(const char *s, const char *cand, const char **best,
                     size_t *best_d)
{
    size_t d = cmd_edit_distance(s, cand);
    if (d <= 2 && 2 * d <= strlen(cand) && d < *best_d) {
        *best = cand;
        *best_d = d;
    }
}

/* A count with thousands separators: 12345 -> "12,345". */
static const char *grouped(char buf[32], double v)
{
    char digits[24];
    if (!isfinite(v) || fabs(v) >= 1e18) {
        snprintf(buf, 32, "%g", v);
        return buf;
    }
    long long n = llround(v);
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n
                                 : (unsigned long long)n;
    snprintf(digits, sizeof digits, "%llu", u);
    size_t len = strlen(digits), o = 0;
    if (n < 0)
        buf[o++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

/* Rounds to float precision so JSON shows 1.8423, not 1.84229993820190. */
static double tidy(double x)
{
    char buf[32];
    if (!isfinite(x))
        return x;
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* CPU time of the whole process (all threads), for rates on a shared
 * machine. */
static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Prints a cJSON object as one line and frees it. */
static int print_json(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return fail("out of memory");
    puts(s);
    cJSON_free(s);
    fflush(stdout);
    return CLI_OK;
}

/* ------------------------------------------------------------------ */
/* Option parsing */

typedef struct opt_ctx {
    const char *cmd;                /* subcommand, for messages */
    const struct option *opts;      /* its long options */
} opt_ctx;

/* Stores one option; returns 0 or CLI_USAGE after a message. */
typedef int (*opt_setter)(void *args, int id, const char *arg);

static const char *opt_name(const opt_ctx *c, int id)
{
    for (const struct option *o = c->opts; o->name; o++)
        if (o->val == id)
            return o->name;
    return "?";
}

static int unknown_long_option(const opt_ctx *c, const char *arg)
{
    char name[64];
    const char *s = arg + strspn(arg, "-"), *best = NULL;
    size_t n = strcspn(s, "="), best_d = SIZE_MAX;
    int prefixed = 0;
    if (n >= sizeof name)
        n = sizeof name - 1;
    memcpy(name, s, n);
    name[n] = '\0';
    for (const struct option *o = c->opts; o->name; o++) {
        prefixed += n > 0 && strncmp(o->name, name, n) == 0;
        consider(name, o->name, &best, &best_d);
    }
    if (prefixed > 1)
        return usage_error(c->cmd, "option '--%s' is ambiguous", name);
    if (best)
        return usage_error(c->cmd, "unknown option '--%s'; did you mean '--%s'?",
                           name, best);
    return usage_error(c->cmd, "unknown option '%s'", arg);
}

/* Explains what getopt_long rejected (it reports nothing itself). */
static int option_error(const opt_ctx *c, int what, char **argv)
{
    const char *arg = argv[optind - 1];
    if (what == ':')
        return usage_error(c->cmd, "option '--%s' needs a value",
                           opt_name(c, optopt));
    if (optopt >= 256 || (optopt == 'h' && strncmp(arg, "--", 2) == 0))
        return usage_error(c->cmd, "option '--%s' takes no value",
                           opt_name(c, optopt));
    if (optopt)
        return usage_error(c->cmd, "unknown option '-%c'", optopt);
    return unknown_long_option(c, arg);
}

/* Parses a subcommand's arguments (argv[0] is its name): set is called for
 * each option, and up to max_pos positional arguments go to pos.  Returns
 * 0, PARSE_HELP, or CLI_USAGE after a message. */
static int parse_command(const opt_ctx *c, int argc, char **argv,
                         opt_setter set, void *args, char **pos, int max_pos,
                         int *n_pos)
{
    int id, rc;
    opterr = 0;
    optind = 1;
    while ((id = getopt_long(argc, argv, ":h", c->opts, NULL)) != -1) {
        if (id == 'h')
            return PARSE_HELP;
        if (id == '?' || id == ':')
            return option_error(c, id, argv);
        if ((rc = set(args, id, optarg)) != 0)
            return rc;
    }
    if (argc - optind > max_pos)
        return usage_error(c->cmd, "unexpected argument '%s'",
                           argv[optind + max_pos]);
    *n_pos = argc - optind;
    for (int i = 0; i < *n_pos; i++)
        pos[i] = argv[optind + i];
    return 0;
}

/* Range flags for opt_double: an open end excludes the bound. */
enum { LO_OPEN = 1, HI_OPEN = 2 };

static int out_of_range(const opt_ctx *c, int id, const char *arg, double lo,
                        double hi, int flags)
{
    char why[128];
    if (hi >= 9e18)
        snprintf(why, sizeof why, "must be %s %.15g",
                 flags & LO_OPEN ? "greater than" : "at least", lo);
    else if (!flags)
        snprintf(why, sizeof why, "must be from %.15g to %.15g", lo, hi);
    else
        snprintf(why, sizeof why, "must be %s %.15g and %s %.15g",
                 flags & LO_OPEN ? ">" : ">=", lo,
                 flags & HI_OPEN ? "<" : "<=", hi);
    return usage_error(c->cmd, "--%s: '%s' is out of range (%s)",
                       opt_name(c, id), arg, why);
}

static int not_a(const opt_ctx *c, int id, const char *arg, const char *what)
{
    return usage_error(c->cmd, "--%s: '%s' is not %s", opt_name(c, id), arg,
                       what);
}

/* The whole of arg must be a decimal integer in [lo, hi]. */
static int opt_long(const opt_ctx *c, int id, const char *arg, long lo,
                    long hi, long *out)
{
    char *end;
    long v;
    if (*arg == '\0' || isspace((unsigned char)*arg))
        return not_a(c, id, arg, "a whole number");
    errno = 0;
    v = strtol(arg, &end, 10);
    if (*end != '\0')
        return not_a(c, id, arg, "a whole number");
    if (errno == ERANGE || v < lo || v > hi)
        return out_of_range(c, id, arg, (double)lo,
                            hi == LONG_MAX ? INFINITY : (double)hi, 0);
    *out = v;
    return 0;
}

/* The whole of arg must be a finite number within [lo, hi], ends open as
 * flags say; hi may be INFINITY. */
static int opt_double(const opt_ctx *c, int id, const char *arg, double lo,
                      double hi, int flags, double *out)
{
    char *end;
    double v;
    if (*arg == '\0' || isspace((unsigned char)*arg))
        return not_a(c, id, arg, "a number");
    errno = 0;
    v = strtod(arg, &end);
    if (*end != '\0' || !isfinite(v))
        return not_a(c, id, arg, "a number");
    if (v < lo || v > hi || ((flags & LO_OPEN) && v == lo)
        || ((flags & HI_OPEN) && v == hi))
        return out_of_range(c, id, arg, lo, hi, flags);
    *out = v;
    return 0;
}

/* An unsigned 64-bit integer (seeds). */
static int opt_u64(const opt_ctx *c, int id, const char *arg, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!isdigit((unsigned char)*arg))
        return not_a(c, id, arg, "a whole number from 0 to 18446744073709551615");
    errno = 0;
    v = strtoull(arg, &end, 10);
    if (*end != '\0')
        return not_a(c, id, arg, "a whole number");
    if (errno == ERANGE)
        return not_a(c, id, arg, "a whole number from 0 to 18446744073709551615");
    *out = (uint64_t)v;
    return 0;
}

/* One of a fixed set of names, read by the engine's parser. */
static int opt_choice(const opt_ctx *c, int id, const char *arg,
                      int (*parse)(const char *), const char *choices,
                      int *out)
{
    int v = parse(arg);
    if (v < 0)
        return usage_error(c->cmd, "--%s: unknown value '%s' (choose %s)",
                           opt_name(c, id), arg, choices);
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Shared by the commands */

/* Where a command runs: --device and, for train, --precision.  note is
 * what auto chose, said when the command's work starts: a command that
 * fails before that still prints its one-line error alone. */
enum { DEV_AUTO = 0, DEV_CPU, DEV_CUDA };

typedef struct device_choice {
    int device, precision, given;   /* given: --device was on the line */
    char note[400];
} device_choice;

static int device_parse(const char *s)
{
    static const char *names[] = {"auto", "cpu", "cuda"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* The device asked for: --device, else $RNNLAB_DEVICE, else auto.
 * Returns -1 after a message when the variable holds no device name. */
static int device_wanted(const device_choice *d)
{
    const char *env = getenv("RNNLAB_DEVICE");
    int dev;
    if (d->given || !env || !*env)
        return d->device;
    if ((dev = device_parse(env)) < 0)
        fail("RNNLAB_DEVICE: unknown value '%s' (choose auto, cpu or cuda)", env);
    return dev;
}

static be_backend *open_cpu(const device_choice *d, const char *why)
{
    be_backend *be;
    if (d->precision != BE_FP32) {
        fail("--precision %s needs a CUDA device (%s); the CPU does fp32 only",
             be_precision_name((be_precision)d->precision), why);
        return NULL;
    }
    if ((be = be_cpu_create()) == NULL)
        fail("out of memory creating the CPU backend");
    return be;
}

/* Prints the device note of open_backend, once. */
static void say_device(device_choice *d)
{
    if (d->note[0])
        warn("%s", d->note);
    d->note[0] = '\0';
}

/* The backend for d: cuda takes GPU 0 or fails; auto takes GPU 0 when one
 * answers, else the CPU, and leaves in d->note which it took (with human
 * set, in a build with CUDA) or why the GPU failed.  Returns NULL after a
 * one-line message. */
static be_backend *open_backend(device_choice *d, int human)
{
    char msg[256], desc[320];
    be_backend *be;
    int dev = device_wanted(d);
    if (dev < 0)
        return NULL;
    if (dev == DEV_CPU)
        return open_cpu(d, "--device is cpu");
    if (dev == DEV_AUTO && be_cuda_available(msg, sizeof msg) == 0) {
        snprintf(desc, sizeof desc, "no CUDA device: %s", msg);
        if (human && be_cuda_built())
            snprintf(d->note, sizeof d->note, "device: cpu (%s)", desc);
        return open_cpu(d, desc);
    }
    be = be_cuda_create(0, (be_precision)d->precision, msg, sizeof msg);
    if (!be && dev == DEV_CUDA) {
        fail("--device cuda: %s", msg);
        return NULL;
    }
    if (!be) {
        snprintf(d->note, sizeof d->note, "device: cpu (the CUDA device failed: %s)",
                 msg);
        return open_cpu(d, msg);
    }
    if (human && dev == DEV_AUTO) {
        be_cuda_describe(be, desc, sizeof desc);
        snprintf(d->note, sizeof d->note, "device: cuda 0 (%s), precision %s", desc,
                 be_precision_name((be_precision)d->precision));
    }
    return be;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The bundled corpus, or NULL when it is in neither place. */
static const char *default_corpus(void)
{
    if (is_regular_file(LOCAL_CORPUS))
        return LOCAL_CORPUS;
    if (is_regular_file(INSTALLED_CORPUS))
        return INSTALLED_CORPUS;
    return NULL;
}

const char *cli_default_corpus(void)
{
    return default_corpus();
}

static void warn_unknown_corpus(const trainer *t)
{
    if (t->corp.unknown > 0)
        warn("corpus: %zu characters not in the vocabulary were skipped",
             t->corp.unknown);
}

/* ------------------------------------------------------------------ */
/* train */

enum {
    TO_FIRST = 256,
    TO_CORPUS = TO_FIRST, TO_MODEL, TO_LAYERS, TO_HIDDEN, TO_EMBED,
    TO_DROPOUT, TO_TIE, TO_NO_FORGET_BIAS, TO_SEQ_LEN, TO_BATCH,
    TO_OPTIMIZER, TO_LR, TO_MOMENTUM, TO_WEIGHT_DECAY, TO_CLIP,
    TO_CLIP_VALUE, TO_LR_DECAY, TO_LR_DECAY_EVERY, TO_WARMUP, TO_STEPS,
    TO_EPOCHS, TO_TIME, TO_EVAL_EVERY, TO_EVAL_STREAMS, TO_VAL_FRAC,
    TO_TEST_FRAC, TO_SEED, TO_THREADS, TO_SAVE, TO_RESUME, TO_JSON,
    TO_QUIET,
    TO_DEVICE, TO_PRECISION,
    TO_END
};

static const struct option train_opts[] = {
    {"corpus", required_argument, NULL, TO_CORPUS},
    {"model", required_argument, NULL, TO_MODEL},
    {"layers", required_argument, NULL, TO_LAYERS},
    {"hidden", required_argument, NULL, TO_HIDDEN},
    {"embed", required_argument, NULL, TO_EMBED},
    {"dropout", required_argument, NULL, TO_DROPOUT},
    {"tie", no_argument, NULL, TO_TIE},
    {"no-forget-bias", no_argument, NULL, TO_NO_FORGET_BIAS},
    {"seq-len", required_argument, NULL, TO_SEQ_LEN},
    {"batch", required_argument, NULL, TO_BATCH},
    {"optimizer", required_argument, NULL, TO_OPTIMIZER},
    {"lr", required_argument, NULL, TO_LR},
    {"momentum", required_argument, NULL, TO_MOMENTUM},
    {"weight-decay", required_argument, NULL, TO_WEIGHT_DECAY},
    {"clip", required_argument, NULL, TO_CLIP},
    {"clip-value", required_argument, NULL, TO_CLIP_VALUE},
    {"lr-decay", required_argument, NULL, TO_LR_DECAY},
    {"lr-decay-every", required_argument, NULL, TO_LR_DECAY_EVERY},
    {"warmup", required_argument, NULL, TO_WARMUP},
    {"steps", required_argument, NULL, TO_STEPS},
    {"epochs", required_argument, NULL, TO_EPOCHS},
    {"time", required_argument, NULL, TO_TIME},
    {"eval-every", required_argument, NULL, TO_EVAL_EVERY},
    {"eval-streams", required_argument, NULL, TO_EVAL_STREAMS},
    {"val-frac", required_argument, NULL, TO_VAL_FRAC},
    {"test-frac", required_argument, NULL, TO_TEST_FRAC},
    {"seed", required_argument, NULL, TO_SEED},
    {"threads", required_argument, NULL, TO_THREADS},
    {"save", required_argument, NULL, TO_SAVE},
    {"resume", required_argument, NULL, TO_RESUME},
    {"json", no_argument, NULL, TO_JSON},
    {"quiet", no_argument, NULL, TO_QUIET},
    {"device", required_argument, NULL, TO_DEVICE},
    {"precision", required_argument, NULL, TO_PRECISION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

/* Options fixed by a saved session: the model, the data split and what the
 * optimizer's saved state depends on. */
static const int fixed_when_resuming[] = {
    TO_MODEL, TO_LAYERS, TO_HIDDEN, TO_EMBED, TO_DROPOUT, TO_TIE,
    TO_NO_FORGET_BIAS, TO_SEQ_LEN, TO_BATCH, TO_OPTIMIZER, TO_MOMENTUM,
    TO_WEIGHT_DECAY, TO_VAL_FRAC, TO_TEST_FRAC, TO_SEED
};

typedef struct train_args {
    opt_ctx oc;
    unsigned char given[TO_END - TO_FIRST];   /* options on the command line */
    const char *corpus, *save, *resume;
    int cell, optimizer;
    long layers, hidden, embed, seq_len, batch, lr_decay_every, warmup;
    long eval_every, eval_streams, threads, steps;
    double dropout, lr, momentum, weight_decay, clip, clip_value, lr_decay;
    double epochs, seconds, val_frac, test_frac;
    uint64_t seed;
    device_choice dev;
    sample_config sample;           /* sampler settings saved with the session */
} train_args;

#define GIVEN(a, id) ((a)->given[(id) - TO_FIRST])

static int train_set_number(train_args *a, int id, const char *arg)
{
    const opt_ctx *c = &a->oc;
    switch (id) {
    case TO_LAYERS: return opt_long(c, id, arg, 1, MODEL_MAX_LAYERS, &a->layers);
    case TO_HIDDEN: return opt_long(c, id, arg, 1, 65536, &a->hidden);
    case TO_EMBED: return opt_long(c, id, arg, 1, 65536, &a->embed);
    case TO_SEQ_LEN: return opt_long(c, id, arg, 1, 100000, &a->seq_len);
    case TO_BATCH: return opt_long(c, id, arg, 1, 100000, &a->batch);
    case TO_LR_DECAY_EVERY: return opt_long(c, id, arg, 0, INT_MAX, &a->lr_decay_every);
    case TO_WARMUP: return opt_long(c, id, arg, 0, INT_MAX, &a->warmup);
    case TO_EVAL_EVERY: return opt_long(c, id, arg, 0, INT_MAX, &a->eval_every);
    case TO_EVAL_STREAMS: return opt_long(c, id, arg, 1, 65536, &a->eval_streams);
    case TO_THREADS: return opt_long(c, id, arg, 1, 256, &a->threads);
    case TO_STEPS: return opt_long(c, id, arg, 1, LONG_MAX, &a->steps);
    case TO_DROPOUT: return opt_double(c, id, arg, 0, 1, HI_OPEN, &a->dropout);
    case TO_LR: return opt_double(c, id, arg, 0, INFINITY, LO_OPEN, &a->lr);
    case TO_MOMENTUM: return opt_double(c, id, arg, 0, 1, HI_OPEN, &a->momentum);
    case TO_WEIGHT_DECAY: return opt_double(c, id, arg, 0, INFINITY, 0, &a->weight_decay);
    case TO_CLIP: return opt_double(c, id, arg, 0, INFINITY, 0, &a->clip);
    case TO_CLIP_VALUE: return opt_double(c, id, arg, 0, INFINITY, 0, &a->clip_value);
    case TO_LR_DECAY: return opt_double(c, id, arg, 0, 1, LO_OPEN, &a->lr_decay);
    case TO_EPOCHS: return opt_double(c, id, arg, 0, INFINITY, LO_OPEN, &a->epochs);
    case TO_TIME: return opt_double(c, id, arg, 0, INFINITY, LO_OPEN, &a->seconds);
    case TO_VAL_FRAC: return opt_double(c, id, arg, 0, 1, HI_OPEN, &a->val_frac);
    case TO_TEST_FRAC: return opt_double(c, id, arg, 0, 1, HI_OPEN, &a->test_frac);
    case TO_SEED: return opt_u64(c, id, arg, &a->seed);
    default: return 0;      /* flags: nothing to read */
    }
}

static int train_set(void *args, int id, const char *arg)
{
    train_args *a = args;
    a->given[id - TO_FIRST] = 1;
    switch (id) {
    case TO_CORPUS: a->corpus = arg; return 0;
    case TO_SAVE: a->save = arg; return 0;
    case TO_RESUME: a->resume = arg; return 0;
    case TO_MODEL:
        return opt_choice(&a->oc, id, arg, model_cell_parse, "lstm, gru or rnn",
                          &a->cell);
    case TO_OPTIMIZER:
        return opt_choice(&a->oc, id, arg, optim_parse,
                          "sgd, adam, adamw, nadam or rmsprop", &a->optimizer);
    case TO_DEVICE:
        a->dev.given = 1;
        return opt_choice(&a->oc, id, arg, device_parse, "auto, cpu or cuda",
                          &a->dev.device);
    case TO_PRECISION:
        return opt_choice(&a->oc, id, arg, be_precision_parse, "fp32, tf32 or bf16",
                          &a->dev.precision);
    default:
        return train_set_number(a, id, arg);
    }
}

/* "--lr X ... with another --optimizer, its own: sgd 0.1, ..." */
static void lr_defaults_text(char *buf, size_t n, optim_kind except)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int k = OPT_SGD; k <= OPT_RMSPROP && o < n; k++) {
        if (k == (int)except)
            continue;
        o += (size_t)snprintf(buf + o, n - o, "%s%s %g", o ? ", " : "",
                              optim_name((optim_kind)k), optim_defaults((optim_kind)k).lr);
    }
}

static void train_help_data_model(FILE *f, const train_config *d)
{
    fprintf(f,
"Usage: rnnlab train [OPTION]...\n"
"Train a recurrent language model on a text file, printing progress.\n"
"\n"
"Training runs for --steps, --epochs or --time, or, with none of them,\n"
"until interrupted (Ctrl-C or SIGTERM): the current step finishes, the\n"
"model is validated and the session saved when --save or --resume was\n"
"given.  A second Ctrl-C quits at once.\n"
"\n"
"Data:\n"
"  --corpus FILE        text to learn (default: the bundled " CORPUS_NAME ",\n"
"                       from ./data/ or else " RNNLAB_DATADIR "/)\n"
"  --val-frac F         share of the text, at its end, held out for\n"
"                       validation; 0 <= F < 1 (default %g)\n"
"  --test-frac F        share held out for testing, just before the\n"
"                       validation part; 0 <= F < 1 (default %g)\n"
"\n"
"Model:\n"
"  --model CELL         lstm, gru or rnn (tanh) (default %s)\n"
"  --layers N           recurrent layers, 1 to %d (default %d)\n"
"  --hidden N           units per layer, 1 to 65536 (default %d)\n"
"  --embed N            embedding size, 1 to 65536 (default %d)\n"
"  --dropout P          dropout probability, 0 <= P < 1 (default %g)\n"
"  --tie                use the embedding as the decoder's weight; needs\n"
"                       --embed equal to --hidden (set so when --embed is\n"
"                       not given)\n"
"  --no-forget-bias     LSTM: start the forget-gate bias at 0 instead of 1\n",
            d->val_frac, d->test_frac, model_cell_name(d->model.cell),
            MODEL_MAX_LAYERS, d->model.layers, d->model.hidden,
            d->model.embed, (double)d->model.dropout);
}

static void train_help_optim(FILE *f, const train_config *d)
{
    char others[256];
    lr_defaults_text(others, sizeof others, d->optim.kind);
    fprintf(f,
"\n"
"Optimisation:\n"
"  --seq-len T          time steps per chunk of back-propagation through\n"
"                       time, 1 to 100000 (default %d)\n"
"  --batch B            parallel streams through the text, 1 to 100000\n"
"                       (default %d)\n"
"  --optimizer NAME     sgd, adam, adamw, nadam or rmsprop (default %s)\n"
"  --lr X               learning rate, X > 0 (default %g; another\n"
"                       --optimizer brings its own default:\n"
"                       %s)\n"
"  --momentum X         momentum of sgd and rmsprop, 0 <= X < 1 (default %g)\n"
"  --weight-decay X     L2 penalty, decoupled for adamw, X >= 0 (default %g;\n"
"                       adamw %g)\n"
"  --clip X             scale gradients down to a global norm of X; 0: off\n"
"                       (default %g)\n"
"  --clip-value X       clip each gradient to [-X, X]; 0: off (default %g)\n"
"  --lr-decay X         multiply the learning rate by X, 0 < X <= 1, ...\n"
"                       (default %g)\n"
"  --lr-decay-every N   ... every N steps; 0: never (default %d)\n"
"  --warmup N           raise the learning rate linearly over the first N\n"
"                       steps (default %d)\n",
            d->seq_len, d->batch, optim_name(d->optim.kind),
            (double)d->optim.lr, others,
            (double)optim_defaults(OPT_SGD).momentum,
            (double)d->optim.weight_decay,
            (double)optim_defaults(OPT_ADAMW).weight_decay,
            (double)d->clip_norm, (double)d->clip_value, (double)d->lr_decay,
            d->lr_decay_every, d->warmup);
}

static void train_help_run(FILE *f, const train_config *d)
{
    char threads[32];
    if (d->threads > 0)
        snprintf(threads, sizeof threads, "%d", d->threads);
    else
        snprintf(threads, sizeof threads, "all cores");
    fprintf(f,
"\n"
"Stopping (at most one; each counts from the start of this run):\n"
"  --steps N            stop after N steps\n"
"  --epochs N           stop after N passes over the training text (may be\n"
"                       fractional)\n"
"  --time SECONDS       stop after SECONDS of wall-clock time\n"
"\n"
"Run:\n"
"  --eval-every N       validate every N steps; 0: only at the end\n"
"                       (default %d)\n"
"  --eval-streams N     parts the validation text is cut into, 1 to 65536;\n"
"                       1 is exact, more is faster (default %d)\n"
"  --seed S             random seed (default %llu)\n"
"  --threads N          threads of the CPU backend, 1 to 256 (default %s)\n"
"  --device DEV         auto, cpu or cuda: where to train; auto takes the\n"
"                       GPU when one answers and says so (default auto,\n"
"                       or $RNNLAB_DEVICE)\n"
"  --precision P        fp32, tf32 or bf16: how the GPU multiplies\n"
"                       matrices (fp32 sums, fp32 weights in all three);\n"
"                       the CPU does fp32 only (default fp32)\n"
"\n"
"Session:\n"
"  --save DIR           save the session to DIR when training stops\n"
"  --resume DIR         continue the session in DIR, saving back to it\n"
"                       unless --save is given; only --corpus, --lr, --clip,\n"
"                       --clip-value, --lr-decay, --lr-decay-every, --warmup,\n"
"                       --eval-every, --eval-streams, --threads, --device,\n"
"                       --precision, the stopping and the output options\n"
"                       may go with it\n"
"\n"
"Output:\n"
"  --json               one JSON object per line: step, epoch, loss, lr,\n"
"                       grad_norm, tokens_per_s, and val_loss, val_ppl,\n"
"                       val_bpc after a validation\n"
"  --quiet              print only the final validation and the save\n"
"  -h, --help           show this help and exit\n",
            d->eval_every, d->eval_streams, (unsigned long long)d->seed,
            threads);
}

static void train_help(FILE *f)
{
    train_config d = train_defaults();
    train_help_data_model(f, &d);
    train_help_optim(f, &d);
    train_help_run(f, &d);
}

/* Cross-option checks that need no defaults. */
static int train_check_args(const train_args *a)
{
    const char *cmd = a->oc.cmd;
    size_t n = sizeof fixed_when_resuming / sizeof fixed_when_resuming[0];
    if (GIVEN(a, TO_STEPS) + GIVEN(a, TO_EPOCHS) + GIVEN(a, TO_TIME) > 1)
        return usage_error(cmd, "--steps, --epochs and --time exclude each "
                                "other; give one");
    if (!a->resume)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (GIVEN(a, fixed_when_resuming[i]))
            return usage_error(cmd, "--%s cannot change when resuming",
                               opt_name(&a->oc, fixed_when_resuming[i]));
    return 0;
}

/* Settings a resumed session may take from the command line too. */
static void train_apply_run_settings(const train_args *a, train_config *c)
{
    if (GIVEN(a, TO_LR)) c->optim.lr = (float)a->lr;
    if (GIVEN(a, TO_CLIP)) c->clip_norm = (float)a->clip;
    if (GIVEN(a, TO_CLIP_VALUE)) c->clip_value = (float)a->clip_value;
    if (GIVEN(a, TO_LR_DECAY)) c->lr_decay = (float)a->lr_decay;
    if (GIVEN(a, TO_LR_DECAY_EVERY)) c->lr_decay_every = (int)a->lr_decay_every;
    if (GIVEN(a, TO_WARMUP)) c->warmup = (int)a->warmup;
    if (GIVEN(a, TO_EVAL_EVERY)) c->eval_every = (int)a->eval_every;
    if (GIVEN(a, TO_EVAL_STREAMS)) c->eval_streams = (int)a->eval_streams;
    if (GIVEN(a, TO_THREADS)) c->threads = (int)a->threads;
}

static void train_apply_new_settings(const train_args *a, train_config *c)
{
    if (GIVEN(a, TO_OPTIMIZER) && a->optimizer != (int)c->optim.kind)
        c->optim = optim_defaults((optim_kind)a->optimizer);
    if (GIVEN(a, TO_MODEL)) c->model.cell = (model_cell)a->cell;
    if (GIVEN(a, TO_LAYERS)) c->model.layers = (int)a->layers;
    if (GIVEN(a, TO_HIDDEN)) c->model.hidden = (int)a->hidden;
    if (GIVEN(a, TO_EMBED)) c->model.embed = (int)a->embed;
    if (GIVEN(a, TO_DROPOUT)) c->model.dropout = (float)a->dropout;
    if (GIVEN(a, TO_TIE)) c->model.tie = 1;
    if (GIVEN(a, TO_TIE) && !GIVEN(a, TO_EMBED)) c->model.embed = c->model.hidden;
    if (GIVEN(a, TO_NO_FORGET_BIAS)) c->model.forget_bias = 0;
    if (GIVEN(a, TO_SEQ_LEN)) c->seq_len = (int)a->seq_len;
    if (GIVEN(a, TO_BATCH)) c->batch = (int)a->batch;
    if (GIVEN(a, TO_MOMENTUM)) c->optim.momentum = (float)a->momentum;
    if (GIVEN(a, TO_WEIGHT_DECAY)) c->optim.weight_decay = (float)a->weight_decay;
    if (GIVEN(a, TO_VAL_FRAC)) c->val_frac = a->val_frac;
    if (GIVEN(a, TO_TEST_FRAC)) c->test_frac = a->test_frac;
    if (GIVEN(a, TO_SEED)) c->seed = a->seed;
}

/* The configuration of a new run: defaults, then the command line. */
static int train_build_config(const train_args *a, train_config *out)
{
    const char *cmd = a->oc.cmd;
    train_config c = train_defaults();
    train_apply_new_settings(a, &c);
    train_apply_run_settings(a, &c);
    if (c.model.tie && c.model.embed != c.model.hidden)
        return usage_error(cmd, "--tie needs --embed equal to --hidden "
                           "(they are %d and %d)", c.model.embed, c.model.hidden);
    if (GIVEN(a, TO_MOMENTUM) && c.optim.kind != OPT_SGD
        && c.optim.kind != OPT_RMSPROP)
        return usage_error(cmd, "--momentum applies only to sgd and rmsprop "
                           "(the optimizer is %s)", optim_name(c.optim.kind));
    if (c.val_frac + c.test_frac >= 1)
        return usage_error(cmd, "--val-frac and --test-frac together must be "
                           "below 1 (they are %g and %g)", c.val_frac,
                           c.test_frac);
    *out = c;
    return 0;
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d)
        return 0;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* A save replaces the whole directory (creating missing parents), so
 * session_save refuses one that holds something other than a session.
 * The same check runs here, before training rather than after it. */
static int check_save_dir(const char *dir)
{
    char marker[4096];
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT)
            return fail("--save %s: %s", dir, strerror(errno));
        return CLI_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return fail("--save %s: exists and is not a session directory", dir);
    snprintf(marker, sizeof marker, "%s/session.json", dir);
    if (is_regular_file(marker) || dir_is_empty(dir))
        return 0;
    return fail("--save %s: the directory holds something other than a "
                "session; refusing to replace it", dir);
}

static int train_new(be_backend *be, const train_config *cfg_in,
                     const train_args *a, trainer **out)
{
    char err[512];
    train_config cfg = *cfg_in;
    corpus corp;
    const char *path = a->corpus ? a->corpus : default_corpus();
    if (!path)
        return fail("no --corpus given and the bundled corpus is missing "
                    "(looked for ./%s and %s)", LOCAL_CORPUS, INSTALLED_CORPUS);
    memset(&corp, 0, sizeof corp);
    if (corpus_load(&corp, path, NULL, cfg.val_frac, cfg.test_frac, err,
                    sizeof err) != 0)
        return fail("%s", err);
    cfg.model.vocab = (int)tok_size(corp.vocab);
    *out = trainer_create(be, &cfg, &corp, err, sizeof err);
    corpus_free(&corp);         /* empty when the trainer took it */
    return *out ? CLI_OK : fail("%s", err);
}

static int train_resume(be_backend *be, train_args *a, trainer **out)
{
    char err[512];
    trainer *t = session_load(be, a->resume, a->corpus, &a->sample, err, sizeof err);
    if (!t)
        return fail("%s", err);
    if (a->corpus)
        warn_unknown_corpus(t);
    train_apply_run_settings(a, &t->cfg);
    t->opt.cfg.lr = t->cfg.optim.lr;
    *out = t;
    return CLI_OK;
}

/* --- the training loop --- */

typedef struct train_run {
    trainer *t;
    const train_args *a;
    const char *save;        /* where the session goes; NULL: nowhere */
    int json, quiet, has_val;
    double start, last_print;       /* monotonic seconds */
    long steps_done, last_eval;     /* last_eval: step of r->ev, or -1 */
    double epoch0;
    train_info last;                /* the latest step */
    eval_result ev;                 /* the latest validation */
    const char *why;                /* why training stopped; NULL: going on */
} train_run;

static void say_from_handler(const char *msg, size_t len)
{
    if (write(STDERR_FILENO, msg, len) < 0) {
        /* nothing to do about it in a signal handler */
    }
}

/* While training: stop after the current step. */
static void on_stop_signal(int sig)
{
    static const char msg[] =
        "\nrnnlab: stopping after this step (interrupt again to quit now)\n";
    (void)sig;
    stop_requested = 1;
    say_from_handler(msg, sizeof msg - 1);
}

/* After the last step: its validation and the save go on. */
static void on_late_signal(int sig)
{
    static const char msg[] =
        "\nrnnlab: finishing the last validation and save "
        "(interrupt again to quit now)\n";
    (void)sig;
    stop_requested = 1;
    say_from_handler(msg, sizeof msg - 1);
}

/* Installs handler for SIGINT and SIGTERM (NULL: the default action).
 * SA_RESETHAND: the first signal asks for a clean stop, a second one gets
 * the default action. */
static void catch_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = handler ? handler : SIG_DFL;
    sa.sa_flags = handler ? SA_RESETHAND | SA_RESTART : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Fractional epochs done, as trainer_step reports them. */
static double trainer_epoch_now(const trainer *t)
{
    double frac = t->stream_len > 1
                  ? (double)t->pos / (double)(t->stream_len - 1) : 0;
    return (double)t->epoch + frac;
}

static void train_run_init(train_run *r, trainer *t, const train_args *a,
                           const char *save)
{
    size_t b, e;
    memset(r, 0, sizeof *r);
    r->t = t;
    r->a = a;
    r->save = save;
    r->json = GIVEN(a, TO_JSON);
    r->quiet = GIVEN(a, TO_QUIET);
    corpus_range(&t->corp, SPLIT_VAL, &b, &e);
    r->has_val = e > b + 1;
    r->start = now_seconds();
    r->last_print = -1e30;
    r->last_eval = -1;
    r->epoch0 = trainer_epoch_now(t);
    r->last.step = t->step;
    r->last.epoch = r->epoch0;
    r->last.loss = r->last.ppl = r->last.bpt = r->last.acc = NAN;
    r->last.grad_norm = NAN;
    r->last.lr = trainer_lr(t, t->step);
}

static void print_header(const train_run *r)
{
    const trainer *t = r->t;
    const train_config *c = &t->cfg;
    char n1[32], n2[32], n3[32], n4[32];
    size_t tb, te, vb, ve, sb, se;
    corpus_range(&t->corp, SPLIT_TRAIN, &tb, &te);
    corpus_range(&t->corp, SPLIT_VAL, &vb, &ve);
    corpus_range(&t->corp, SPLIT_TEST, &sb, &se);
    printf("corpus %s: %s tokens, vocabulary %u (train %s, val %s",
           t->corp.path ? t->corp.path : "?", grouped(n1, (double)t->corp.n),
           (unsigned)tok_size(t->corp.vocab), grouped(n2, (double)(te - tb)),
           grouped(n3, (double)(ve - vb)));
    if (se > sb)
        printf(", test %s", grouped(n4, (double)(se - sb)));
    printf(")\nmodel %s %dx%d, embed %d, dropout %g%s: %s parameters\n",
           model_cell_name(c->model.cell), c->model.layers, c->model.hidden,
           c->model.embed, (double)c->model.dropout,
           c->model.tie ? ", tied" : "",
           grouped(n1, (double)model_param_count(t->m)));
    printf("optimizer %s, lr %.1e, batch %d x %d, clip %g\n",
           optim_name(c->optim.kind), (double)c->optim.lr, c->batch,
           c->seq_len, (double)c->clip_norm);
}

static void print_plan(const train_run *r)
{
    const train_args *a = r->a;
    if (a->resume)
        printf("resumed %s at step %ld\n", a->resume, r->t->step);
    if (GIVEN(a, TO_STEPS))
        printf("training for %ld step%s", a->steps, a->steps == 1 ? "" : "s");
    else if (GIVEN(a, TO_EPOCHS))
        printf("training for %g epochs", a->epochs);
    else if (GIVEN(a, TO_TIME))
        printf("training for %g s", a->seconds);
    else
        printf("training until interrupted (Ctrl-C)");
    if (r->save)
        printf("; the session is saved to %s at the end", r->save);
    printf("\n");
    fflush(stdout);
}

static void print_step_line(const train_info *in)
{
    char tok[32];
    printf("step %ld  epoch %.2f  loss %.4f  ppl %.2f  bpc %.3f  acc %.2f  "
           "|g| %.2f  lr %.1e  %s tok/s\n",
           in->step, in->epoch, (double)in->loss, (double)in->ppl,
           (double)in->bpt, (double)in->acc, (double)in->grad_norm,
           (double)in->lr, grouped(tok, in->tokens_per_s));
    fflush(stdout);
}

static void print_val_line(const eval_result *ev)
{
    printf("val loss %.4f  ppl %.2f  bpc %.3f\n", ev->loss, ev->ppl, ev->bpt);
    fflush(stdout);
}

static int print_json_step(const train_info *in, const eval_result *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return fail("out of memory");
    cJSON_AddNumberToObject(o, "step", (double)in->step);
    cJSON_AddNumberToObject(o, "epoch", tidy(in->epoch));
    cJSON_AddNumberToObject(o, "loss", tidy(in->loss));
    cJSON_AddNumberToObject(o, "lr", tidy(in->lr));
    cJSON_AddNumberToObject(o, "grad_norm", tidy(in->grad_norm));
    cJSON_AddNumberToObject(o, "tokens_per_s", tidy(round(in->tokens_per_s)));
    if (ev) {
        cJSON_AddNumberToObject(o, "val_loss", tidy(ev->loss));
        cJSON_AddNumberToObject(o, "val_ppl", tidy(ev->ppl));
        cJSON_AddNumberToObject(o, "val_bpc", tidy(ev->bpt));
    }
    return print_json(o);
}

static int validate(train_run *r)
{
    char err[512];
    trainer *t = r->t;
    if (trainer_eval(t, SPLIT_VAL, t->cfg.eval_streams, &r->ev, err,
                     sizeof err) != 0)
        return fail("%s", err);
    trainer_note_val(t, r->ev.loss);
    r->last_eval = t->step;
    return CLI_OK;
}

/* Validates when due (and after the last step) and prints the step: every
 * step with --json, about once a second otherwise. */
static int report_step(train_run *r, int last)
{
    const train_info *in = &r->last;
    int every = r->t->cfg.eval_every;
    int due = r->has_val && (last || (every > 0 && in->step % every == 0));
    double now;
    if (due && validate(r) != CLI_OK)
        return CLI_FAIL;
    if (r->quiet)
        return CLI_OK;
    if (r->json)
        return print_json_step(in, due ? &r->ev : NULL);
    now = now_seconds();
    if (due || last || r->steps_done == 1 || now - r->last_print >= 1.0) {
        print_step_line(in);
        r->last_print = now;
    }
    if (due)
        print_val_line(&r->ev);
    return CLI_OK;
}

static const char *limit_reached(const train_run *r)
{
    const train_args *a = r->a;
    if (stop_requested)
        return "interrupted";
    if (GIVEN(a, TO_STEPS) && r->steps_done >= a->steps)
        return "step limit";
    if (GIVEN(a, TO_EPOCHS) && r->last.epoch - r->epoch0 >= a->epochs - 1e-9)
        return "epoch limit";
    if (GIVEN(a, TO_TIME) && now_seconds() - r->start >= a->seconds)
        return "time limit";
    return NULL;
}

static int train_loop(train_run *r)
{
    char err[512];
    while (r->why == NULL) {
        if (trainer_step(r->t, &r->last, err, sizeof err) != 0)
            return fail("%s", err);
        r->steps_done++;
        /* From the last step on, a first signal no longer stops anything:
         * the validation and the save finish. */
        if ((r->why = limit_reached(r)) != NULL && !stop_requested)
            catch_stop_signals(on_late_signal);
        if (report_step(r, r->why != NULL) != CLI_OK)
            return CLI_FAIL;
    }
    return CLI_OK;
}

/* After the loop: the final validation when the loop had none (--quiet
 * prints it here), and the save. */
static int train_finish(train_run *r)
{
    char err[512];
    int val = r->has_val && r->last_eval != r->t->step;
    int human = !r->json && !r->quiet;
    const eval_result *ev = NULL;
    if (val && validate(r) != CLI_OK)
        return CLI_FAIL;
    if (r->last_eval == r->t->step)
        ev = &r->ev;
    if (human)
        printf("stopped at step %ld (%s) after %.1f s\n", r->t->step, r->why,
               now_seconds() - r->start);
    if (r->json && (val || r->quiet)
        && print_json_step(&r->last, ev) != CLI_OK)
        return CLI_FAIL;
    if (!r->json && ev && (val || r->quiet))
        print_val_line(ev);
    if (r->save) {
        if (session_save(r->t, &r->a->sample, r->save, err, sizeof err) != 0)
            return fail("%s", err);
        if (!r->json)
            printf("saved session to %s\n", r->save);
    } else if (human) {
        printf("not saved (give --save DIR to keep the model)\n");
    }
    return CLI_OK;
}

static int train_session(trainer *t, train_args *a, const char *save)
{
    train_run r;
    int rc;
    say_device(&a->dev);
    if (t->cfg.threads > 0)
        t->be->set_threads(t->be, t->cfg.threads);
    train_run_init(&r, t, a, save);
    if (!r.json && !r.quiet) {
        print_header(&r);
        print_plan(&r);
    }
    stop_requested = 0;
    catch_stop_signals(on_stop_signal);
    rc = train_loop(&r);
    if (rc == CLI_OK)
        rc = train_finish(&r);
    catch_stop_signals(NULL);
    return rc;
}

static int train_parse(train_args *a, int argc, char **argv)
{
    int n_pos, rc;
    memset(a, 0, sizeof *a);
    a->sample = sample_defaults();
    a->oc.cmd = "train";
    a->oc.opts = train_opts;
    rc = parse_command(&a->oc, argc, argv, train_set, a, NULL, 0, &n_pos);
    return rc != 0 ? rc : train_check_args(a);
}

static int cmd_train(int argc, char **argv)
{
    train_args a;
    train_config cfg;
    trainer *t = NULL;
    be_backend *be;
    int rc = train_parse(&a, argc, argv);
    if (rc == PARSE_HELP) {
        train_help(stdout);
        return CLI_OK;
    }
    if (rc == 0 && !a.resume)
        rc = train_build_config(&a, &cfg);
    if (rc == 0 && a.save)
        rc = check_save_dir(a.save);
    if (rc != 0)
        return rc;
    if ((be = open_backend(&a.dev, !GIVEN(&a, TO_JSON) && !GIVEN(&a, TO_QUIET))) == NULL)
        return CLI_FAIL;
    rc = a.resume ? train_resume(be, &a, &t) : train_new(be, &cfg, &a, &t);
    if (rc == CLI_OK)
        rc = train_session(t, &a, a.save ? a.save : a.resume);
    if (t)
        trainer_free(t);
    be->destroy(be);
    return rc;
}

/* ------------------------------------------------------------------ */
/* sample */

enum { SO_PRIME = 256, SO_LENGTH, SO_TEMPERATURE, SO_SEED, SO_JSON,
       SO_TOP_K, SO_TOP_P, SO_BEAM, SO_N_BEST, SO_GREEDY, SO_STOP,
       SO_REP_PENALTY, SO_REP_WINDOW, SO_THREADS, SO_HALF, SO_WEIGHTS, SO_TIMING,
       SO_DEVICE };

static const struct option sample_opts[] = {
    {"prime", required_argument, NULL, SO_PRIME},
    {"length", required_argument, NULL, SO_LENGTH},
    {"temperature", required_argument, NULL, SO_TEMPERATURE},
    {"seed", required_argument, NULL, SO_SEED},
    {"json", no_argument, NULL, SO_JSON},
    {"timing", no_argument, NULL, SO_TIMING},
    {"top-k", required_argument, NULL, SO_TOP_K},
    {"top-p", required_argument, NULL, SO_TOP_P},
    {"beam", required_argument, NULL, SO_BEAM},
    {"n-best", required_argument, NULL, SO_N_BEST},
    {"greedy", no_argument, NULL, SO_GREEDY},
    {"stop", required_argument, NULL, SO_STOP},
    {"repetition-penalty", required_argument, NULL, SO_REP_PENALTY},
    {"repetition-window", required_argument, NULL, SO_REP_WINDOW},
    {"threads", required_argument, NULL, SO_THREADS},
    {"half", no_argument, NULL, SO_HALF},
    {"weights", required_argument, NULL, SO_WEIGHTS},
    {"device", required_argument, NULL, SO_DEVICE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct sample_args {
    opt_ctx oc;
    const char *prime;              /* NULL: the session's */
    long length;
    double temperature;
    uint64_t seed;
    int has_length, has_temperature, has_seed, json;
    long top_k, beam, n_best, rep_window, threads;
    double top_p, rep_penalty;
    int has_top_k, has_top_p, has_beam, has_n_best, greedy, has_stop, timing;
    int has_rep_penalty, has_rep_window, weights;   /* weights: -1 = the session's */
    char stop[sizeof ((sample_config *)0)->stop];
    device_choice dev;
    sample_config saved;            /* the session's sampler settings */
} sample_args;

/* --stop's text with \n, \t, \r and \\ turned into the characters they
 * name.  Returns 0, or CLI_USAGE after a message. */
static int sample_stop_arg(sample_args *a, const char *arg)
{
    size_t n = 0;
    for (const char *p = arg; *p; p++) {
        char ch = *p;
        if (ch == '\\' && p[1]) {
            p++;
            ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
        }
        if (n + 1 >= sizeof a->stop)
            return usage_error(a->oc.cmd, "--stop: longer than %zu bytes",
                               sizeof a->stop - 1);
        a->stop[n++] = ch;
    }
    a->stop[n] = '\0';
    if (n == 0)
        return usage_error(a->oc.cmd, "--stop: empty");
    a->has_stop = 1;
    return 0;
}

static int sample_set(void *args, int id, const char *arg)
{
    sample_args *a = args;
    const opt_ctx *c = &a->oc;
    switch (id) {
    case SO_PRIME: a->prime = arg; return 0;
    case SO_JSON: a->json = 1; return 0;
    case SO_TIMING: a->timing = 1; return 0;
    case SO_GREEDY: a->greedy = 1; return 0;
    case SO_HALF: a->weights = BE_WEIGHTS_FP16; return 0;
    case SO_WEIGHTS:
        return opt_choice(c, id, arg, be_weights_parse, "fp32, fp16 or int8", &a->weights);
    case SO_STOP: return sample_stop_arg(a, arg);
    case SO_LENGTH:
        a->has_length = 1;
        return opt_long(c, id, arg, 1, 100000000, &a->length);
    case SO_TEMPERATURE:
        a->has_temperature = 1;
        return opt_double(c, id, arg, 0, INFINITY, LO_OPEN, &a->temperature);
    case SO_SEED:
        a->has_seed = 1;
        return opt_u64(c, id, arg, &a->seed);
    case SO_TOP_K:
        a->has_top_k = 1;
        return opt_long(c, id, arg, 0, 1 << 24, &a->top_k);
    case SO_TOP_P:
        a->has_top_p = 1;
        return opt_double(c, id, arg, 0, 1, LO_OPEN, &a->top_p);
    case SO_BEAM:
        a->has_beam = 1;
        return opt_long(c, id, arg, 1, SAMPLE_MAX_BEAM, &a->beam);
    case SO_N_BEST:
        a->has_n_best = 1;
        return opt_long(c, id, arg, 1, SAMPLE_MAX_BEAM, &a->n_best);
    case SO_REP_PENALTY:
        a->has_rep_penalty = 1;
        return opt_double(c, id, arg, 0, INFINITY, LO_OPEN, &a->rep_penalty);
    case SO_REP_WINDOW:
        a->has_rep_window = 1;
        return opt_long(c, id, arg, 0, INT_MAX, &a->rep_window);
    case SO_THREADS:
        return opt_long(c, id, arg, 1, 256, &a->threads);
    case SO_DEVICE:
        a->dev.given = 1;
        return opt_choice(c, id, arg, device_parse, "auto, cpu or cuda", &a->dev.device);
    default:
        return 0;
    }
}

static void sample_help(FILE *f)
{
    fputs(
"Usage: rnnlab sample DIR [OPTION]...\n"
"Generate text with the model of the session saved in DIR.  Prints the\n"
"prime, then the generated text as it is produced, then a newline.\n"
"Settings not given come from the session.\n"
"\n"
"  --prime TEXT         text to start from (default: the session's prime);\n"
"                       characters the model does not know are skipped\n"
"                       with a warning\n"
"  --length N           tokens (characters) to generate, 1 to 100000000\n"
"                       (default: the session's setting, initially 200)\n"
"  --temperature T      divide the logits by T > 0; lower is more\n"
"                       conservative (default: the session's, initially 1)\n"
"  --top-k K            draw only from the K most likely tokens (0: off)\n"
"  --top-p P            draw only from the smallest set of most likely\n"
"                       tokens whose probabilities reach P, 0 < P <= 1\n"
"                       (1: off); applied after --top-k\n"
"  --greedy             always take the most likely token\n"
"  --repetition-penalty X\n"
"                       make tokens seen in the last --repetition-window\n"
"                       tokens less likely: a logit z becomes z/X when\n"
"                       positive, z*X otherwise (1: off)\n"
"  --repetition-window N\n"
"                       tokens the penalty looks back on, prime included\n"
"                       (0: all; initially 64)\n"
"  --beam W             beam search with W beams, 1 to 256 (1: off): the\n"
"                       continuation with the best mean log-probability per\n"
"                       token; deterministic, ignores temperature, top-k\n"
"                       and top-p\n"
"  --n-best N           with --beam: also print the N best continuations\n"
"                       and their scores (N <= W)\n"
"  --stop STR           stop once the generated text ends with STR (up to\n"
"                       63 bytes; \\n, \\t, \\r and \\\\ are understood)\n"
"  --seed S             seed the sampler (default: the generator state saved\n"
"                       in the session, so repeated runs agree)\n"
"  --weights W          fp32, fp16 or int8: how the weights are held while\n"
"                       generating (default: the session's, fp32 when new).\n"
"                       fp32 is exact; fp16 reads half the memory, int8 (a\n"
"                       scale per row, inputs rounded to 8 bits each step)\n"
"                       a quarter: about 1.5x and 2.8x as fast; see what\n"
"                       they cost with eval --weights\n"
"  --half               the same as --weights fp16\n"
"  --threads N          threads, 1 to 256 (default 2, or 1 on one core)\n"
"  --timing             when done, print one JSON object to stderr: tokens,\n"
"                       seconds, tokens_per_s, cpu_seconds, weights\n"
"  --json               print JSON lines: one per generated token (index,\n"
"                       token, id, prob = its probability in the distribution\n"
"                       it was drawn from, model_prob = the model's own, top =\n"
"                       the 5 most likely tokens), then one object with\n"
"                       prime, text (the generated part), tokens, stop,\n"
"                       prime_unknown, seconds, tokens_per_s, cpu_seconds\n"
"                       (priming and generation) and, for beam search, beams\n"
"  --device DEV         auto, cpu or cuda (default auto, or $RNNLAB_DEVICE)\n"
"  -h, --help           show this help and exit\n", f);
}

typedef struct emit_ctx {
    int json, failed;
    char *buf;                      /* --json: the generated text */
    size_t len, cap;
} emit_ctx;

static int emit_append(emit_ctx *e, const uint8_t *bytes, size_t len)
{
    if (e->len + len + 1 > e->cap) {
        size_t cap = e->cap ? e->cap : 256;
        char *p;
        while (cap < e->len + len + 1)
            cap *= 2;
        if ((p = realloc(e->buf, cap)) == NULL)
            return -1;
        e->buf = p;
        e->cap = cap;
    }
    memcpy(e->buf + e->len, bytes, len);
    e->len += len;
    e->buf[e->len] = '\0';
    return 0;
}

/* A token's text made safe for JSON in buf (at least 64 bytes): raw
 * bytes that are not UTF-8 would make invalid JSON, so they become U+FFFD. */
static void token_text(const uint8_t *bytes, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        if (bytes[i] < 0x80 || (len > 1 && bytes[0] >= 0xC2 && bytes[0] <= 0xF4)) {
            buf[n++] = (char)bytes[i];
        } else {
            memcpy(buf + n, "\xEF\xBF\xBD", 3);
            n += 3;
        }
    }
    buf[n] = '\0';
}

/* Writes a token's text to f as a JSON string, escaped as cJSON does. */
static void put_token_string(FILE *f, const uint8_t *bytes, size_t len)
{
    char buf[64];
    token_text(bytes, len, buf, sizeof buf);
    putc('"', f);
    for (const char *p = buf; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c == '\r')
            fputs("\\r", f);
        else if (c == '\b')
            fputs("\\b", f);
        else if (c == '\f')
            fputs("\\f", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            putc(c, f);
    }
    putc('"', f);
}

/* A probability as JSON: 7 significant digits (float precision), null
 * when it is not a number. */
static void put_prob(FILE *f, float p)
{
    if (isfinite(p))
        fprintf(f, "%.7g", (double)p);
    else
        fputs("null", f);
}

/* One --json line for a generated token, written directly: building a
 * cJSON tree per token cost more than generating the token. */
static int print_token_json(const tok_vocab *v, const sample_token *t)
{
    FILE *f = stdout;
    fprintf(f, "{\"index\":%zu,\"token\":", t->index);
    put_token_string(f, t->bytes, t->len);
    fprintf(f, ",\"id\":%" PRIu32 ",\"prob\":", t->id);
    put_prob(f, t->prob);
    fputs(",\"model_prob\":", f);
    put_prob(f, t->model_prob);
    fputs(",\"top\":[", f);
    for (int i = 0; i < t->n_alts; i++) {
        size_t len = 0;
        const uint8_t *b = tok_bytes(v, t->alt_id[i], &len);
        fputs(i ? ",{\"token\":" : "{\"token\":", f);
        put_token_string(f, b, len);
        fputs(",\"prob\":", f);
        put_prob(f, t->alt_prob[i]);
        putc('}', f);
    }
    fputs("]}\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

typedef struct token_ctx {
    emit_ctx *e;
    const tok_vocab *v;
} token_ctx;

/* sample_decode's callback: write each token as soon as it is known. */
static int emit_token(void *ctx, const sample_token *t)
{
    token_ctx *tc = ctx;
    emit_ctx *e = tc->e;
    if (e->json)
        e->failed = emit_append(e, t->bytes, t->len) != 0 ||
                    print_token_json(tc->v, t) != 0;
    else
        e->failed = fwrite(t->bytes, 1, t->len, stdout) != t->len || fflush(stdout) != 0;
    return e->failed;
}

/* Warns, before any output, about prime characters the model never saw. */
static int check_prime(const tok_vocab *v, const char *prime)
{
    size_t len = strlen(prime), unknown = 0;
    char first[16] = "";
    uint32_t *ids;
    if (len == 0)
        return CLI_OK;
    if ((ids = malloc(len * sizeof *ids)) == NULL)
        return fail("out of memory");
    tok_encode(v, (const uint8_t *)prime, len, ids, &unknown, first);
    free(ids);
    if (unknown > 0)
        warn("prime: %zu characters not in the vocabulary were skipped "
             "(first: '%s')", unknown, first);
    return CLI_OK;
}

/* --timing: the run's speed on stderr, apart from the text on stdout. */
static void print_timing(const sample_result *res, const sample_config *sc, double seconds,
                         double cpu)
{
    fprintf(stderr, "{\"tokens\": %zu, \"seconds\": %.6f, \"tokens_per_s\": %.1f, "
            "\"cpu_seconds\": %.6f, \"weights\": \"%s\"}\n", (size_t)res->stats.generated,
            seconds, seconds > 0 ? (double)res->stats.generated / seconds : 0.0, cpu,
            be_weights_name(sc->weights));
}

static int print_sample_json(const char *prime, const emit_ctx *e,
                             const sample_result *res, double seconds,
                             double cpu_seconds)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return fail("out of memory");
    cJSON_AddStringToObject(o, "prime", prime);
    cJSON_AddStringToObject(o, "text", e->buf ? e->buf : "");
    cJSON_AddNumberToObject(o, "tokens", (double)res->stats.generated);
    cJSON_AddStringToObject(o, "stop", sample_stop_name(res->stop));
    cJSON_AddNumberToObject(o, "prime_unknown", (double)res->stats.prime_unknown);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "tokens_per_s",
                            seconds > 0 ? (double)res->stats.generated / seconds : 0.0);
    cJSON_AddNumberToObject(o, "cpu_seconds", cpu_seconds);
    if (res->n_beams > 0) {
        cJSON *beams = cJSON_AddArrayToObject(o, "beams");
        for (int i = 0; beams && i < res->n_beams; i++) {
            cJSON *b = cJSON_CreateObject();
            if (!b)
                break;
            cJSON_AddStringToObject(b, "text", res->beams[i].text);
            cJSON_AddNumberToObject(b, "score", res->beams[i].score);
            cJSON_AddNumberToObject(b, "logprob", res->beams[i].logprob);
            cJSON_AddNumberToObject(b, "tokens", (double)res->beams[i].n);
            cJSON_AddItemToArray(beams, b);
        }
    }
    return print_json(o);
}

/* The session's sampling settings with the command line's on top; returns
 * 0 or CLI_USAGE after a message. */
static int sample_settings(const sample_args *a, sample_config *sc)
{
    if (a->has_length) sc->length = (int)a->length;
    if (a->has_temperature) sc->temperature = (float)a->temperature;
    if (a->has_top_k) sc->top_k = (int)a->top_k;
    if (a->has_top_p) sc->top_p = (float)a->top_p;
    if (a->has_beam) sc->beam = (int)a->beam;
    if (a->has_n_best) sc->n_best = (int)a->n_best;
    if (a->greedy) sc->greedy = 1;
    if (a->weights >= 0) sc->weights = a->weights;
    if (a->has_rep_penalty) sc->repetition_penalty = (float)a->rep_penalty;
    if (a->has_rep_window) sc->repetition_window = (int)a->rep_window;
    if (a->has_stop) memcpy(sc->stop, a->stop, sizeof sc->stop);
    if (a->has_n_best && sc->n_best > (sc->beam > 1 ? sc->beam : 1))
        return usage_error(a->oc.cmd, "--n-best: %d is more than the beam width %d",
                           sc->n_best, sc->beam > 1 ? sc->beam : 1);
    if (sc->n_best > sc->beam)
        sc->n_best = sc->beam > 1 ? sc->beam : 1;
    return 0;
}

/* Plain output of the 2nd and later beams: a header line, then the text. */
static void print_more_beams(const char *prime, const sample_result *res)
{
    for (int i = 0; i < res->n_beams; i++)
        printf("--- beam %d: score %.4f (mean log-probability per token), "
               "%zu tokens ---\n%s%s\n", i + 1, res->beams[i].score,
               res->beams[i].n, prime, res->beams[i].text);
}

static int sample_run(trainer *t, sample_args *a)
{
    char err[512];
    sample_config sc = a->saved;
    sample_request req;
    sample_result res;
    emit_ctx e = {a->json, 0, NULL, 0, 0};
    token_ctx tc = {&e, t->corp.vocab};
    const char *prime = a->prime ? a->prime : sc.prime;
    int rc;
    if ((rc = sample_settings(a, &sc)) != 0)
        return rc;
    if (a->has_seed) rng_seed(&t->rng, a->seed);
    if ((rc = check_prime(t->corp.vocab, prime)) != CLI_OK)
        return rc;
    say_device(&a->dev);
    if (!a->json) {
        fputs(prime, stdout);
        fflush(stdout);
    }
    sample_request_init(&req, &sc, &t->rng);
    req.prime = prime;
    req.on_token = emit_token;
    req.ctx = &tc;
    req.n_alts = a->json ? 5 : 0;
    double t0 = now_seconds(), c0 = cpu_seconds();
    if (sample_decode(t->m, t->corp.vocab, &req, &res, err, sizeof err) != 0)
        rc = fail("%s", err);
    else if (e.failed)
        rc = a->json ? fail("out of memory") : CLI_FAIL;
    else if (a->json)
        rc = print_sample_json(prime, &e, &res, now_seconds() - t0, cpu_seconds() - c0);
    else {
        putchar('\n');
        if (a->has_n_best && res.n_beams > 1)
            print_more_beams(prime, &res);
    }
    if (rc == CLI_OK && a->timing)
        print_timing(&res, &sc, now_seconds() - t0, cpu_seconds() - c0);
    sample_result_free(&res);
    free(e.buf);
    return rc;
}

static int cmd_sample(int argc, char **argv)
{
    char err[512], *dir;
    sample_args a;
    be_backend *be;
    trainer *t;
    int n_pos, rc;
    memset(&a, 0, sizeof a);
    a.weights = -1;
    a.oc.cmd = "sample";
    a.oc.opts = sample_opts;
    rc = parse_command(&a.oc, argc, argv, sample_set, &a, &dir, 1, &n_pos);
    if (rc == PARSE_HELP) {
        sample_help(stdout);
        return CLI_OK;
    }
    if (rc != 0)
        return rc;
    if (n_pos != 1)
        return usage_error(a.oc.cmd, "missing the session directory");
    if ((be = open_backend(&a.dev, !a.json)) == NULL)
        return CLI_FAIL;
    /* a step streams the weights from memory: a second core adds its
     * bandwidth (about 1.9x here); more rarely pay for the hand-offs */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    be->set_threads(be, a.threads > 0 ? (int)a.threads : cores >= 2 ? 2 : 1);
    t = session_load(be, dir, SESSION_NO_CORPUS, &a.saved, err, sizeof err);
    rc = t ? sample_run(t, &a) : fail("%s", err);
    if (t)
        trainer_free(t);
    be->destroy(be);
    return rc;
}

/* ------------------------------------------------------------------ */
/* eval */

enum { EO_CORPUS = 256, EO_SPLIT, EO_STREAMS, EO_JSON, EO_DEVICE, EO_WEIGHTS };

static const struct option eval_opts[] = {
    {"corpus", required_argument, NULL, EO_CORPUS},
    {"split", required_argument, NULL, EO_SPLIT},
    {"streams", required_argument, NULL, EO_STREAMS},
    {"json", no_argument, NULL, EO_JSON},
    {"device", required_argument, NULL, EO_DEVICE},
    {"weights", required_argument, NULL, EO_WEIGHTS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct eval_args {
    opt_ctx oc;
    const char *corpus;             /* NULL: the session's */
    const char *split_name;
    int split, json;
    long streams;
    int has_streams, weights;       /* weights: -1 = the training path */
    device_choice dev;
} eval_args;

static int eval_set(void *args, int id, const char *arg)
{
    eval_args *a = args;
    switch (id) {
    case EO_CORPUS: a->corpus = arg; return 0;
    case EO_JSON: a->json = 1; return 0;
    case EO_SPLIT:
        a->split_name = arg;
        return opt_choice(&a->oc, id, arg, corpus_split_parse,
                          "train, val, test or all", &a->split);
    case EO_STREAMS:
        a->has_streams = 1;
        return opt_long(&a->oc, id, arg, 1, 65536, &a->streams);
    case EO_WEIGHTS:
        return opt_choice(&a->oc, id, arg, be_weights_parse, "fp32, fp16 or int8",
                          &a->weights);
    case EO_DEVICE:
        a->dev.given = 1;
        return opt_choice(&a->oc, id, arg, device_parse, "auto, cpu or cuda",
                          &a->dev.device);
    default:
        return 0;
    }
}

static void eval_help(FILE *f)
{
    fputs(
"Usage: rnnlab eval DIR [OPTION]...\n"
"Measure the model of the session saved in DIR on a part of its corpus:\n"
"mean cross-entropy, perplexity, bits per character and accuracy.\n"
"\n"
"  --corpus FILE        text to measure, read with the session's vocabulary\n"
"                       (unknown characters are skipped) and split as the\n"
"                       session's corpus (default: the session's corpus)\n"
"  --split NAME         train, val, test or all (default val)\n"
"  --streams N          cut the split into N parts evaluated side by side,\n"
"                       each from a zero state, 1 to 65536; 1 is exact, more\n"
"                       is faster (default 1)\n"
"  --weights W          score through the generation path instead, one\n"
"                       token at a time from a zero state, the weights held\n"
"                       as W (fp32, fp16 or int8, as sample --weights): what\n"
"                       sampling with W sees; not with --streams\n"
"  --json               print one JSON object: loss, perplexity, bpc,\n"
"                       accuracy, tokens (and weights with --weights)\n"
"  --device DEV         auto, cpu or cuda (default auto, or $RNNLAB_DEVICE)\n"
"  -h, --help           show this help and exit\n", f);
}

static int print_eval(const eval_args *a, const eval_result *ev)
{
    char n[32];
    cJSON *o;
    if (!a->json) {
        printf("%s: loss %.4f nats  ppl %.2f  bpc %.3f  acc %.3f  "
               "(%s predictions)\n", a->split_name, ev->loss, ev->ppl, ev->bpt,
               ev->acc, grouped(n, (double)ev->tokens));
        return CLI_OK;
    }
    if ((o = cJSON_CreateObject()) == NULL)
        return fail("out of memory");
    cJSON_AddNumberToObject(o, "loss", tidy(ev->loss));
    cJSON_AddNumberToObject(o, "perplexity", tidy(ev->ppl));
    cJSON_AddNumberToObject(o, "bpc", tidy(ev->bpt));
    cJSON_AddNumberToObject(o, "accuracy", tidy(ev->acc));
    cJSON_AddNumberToObject(o, "tokens", (double)ev->tokens);
    if (a->weights >= 0)
        cJSON_AddStringToObject(o, "weights", be_weights_name(a->weights));
    return print_json(o);
}

static int eval_run(trainer *t, eval_args *a)
{
    char err[512];
    eval_result ev;
    if (a->corpus)
        warn_unknown_corpus(t);
    if (a->weights >= 0) {
        size_t b, e;
        corpus_range(&t->corp, (corpus_split)a->split, &b, &e);
        if (sample_eval(t->m, t->corp.ids + b, e - b, (be_weights)a->weights, &ev, err,
                        sizeof err) != 0)
            return fail("%s split: %s", a->split_name, err);
    } else if (trainer_eval(t, (corpus_split)a->split, (int)a->streams, &ev, err,
                            sizeof err) != 0) {
        return fail("%s", err);
    }
    say_device(&a->dev);
    return print_eval(a, &ev);
}

static int cmd_eval(int argc, char **argv)
{
    char err[512], *dir;
    eval_args a;
    be_backend *be;
    trainer *t;
    int n_pos, rc;
    memset(&a, 0, sizeof a);
    a.oc.cmd = "eval";
    a.oc.opts = eval_opts;
    a.split = SPLIT_VAL;
    a.split_name = "val";
    a.streams = 1;
    a.weights = -1;
    rc = parse_command(&a.oc, argc, argv, eval_set, &a, &dir, 1, &n_pos);
    if (rc == PARSE_HELP) {
        eval_help(stdout);
        return CLI_OK;
    }
    if (rc != 0)
        return rc;
    if (n_pos != 1)
        return usage_error(a.oc.cmd, "missing the session directory");
    if (a.weights >= 0 && a.has_streams)
        return usage_error(a.oc.cmd, "--weights scores one stream: leave out --streams");
    if ((be = open_backend(&a.dev, !a.json)) == NULL)
        return CLI_FAIL;
    t = session_load(be, dir, a.corpus, NULL, err, sizeof err);
    rc = t ? eval_run(t, &a) : fail("%s", err);
    if (t)
        trainer_free(t);
    be->destroy(be);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Dispatch */

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"train", "train a model on a text file, printing progress", cmd_train},
    {"sample", "generate text from a saved session", cmd_sample},
    {"eval", "measure a saved session's loss on its corpus", cmd_eval},
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
          "  --version   show the version and exit\n"
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
        consider(name, commands[i].name, &best, &best_d);
    if (best)
        return usage_error(NULL, "unknown command '%s'; did you mean '%s'?",
                           name, best);
    return usage_error(NULL, "unknown command '%s'", name);
}

/* Output that could not be written is an error, not silence. */
static int finish_output(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int saved = errno;
        if (rc == CLI_OK)
            return fail("write error on standard output: %s", strerror(saved));
    }
    return rc;
}

int cli_main(int argc, char **argv)
{
    const char *arg = argc > 1 ? argv[1] : NULL;
    /* No command, repl, open and their options: the interactive front
     * ends (src/ui/front.c). */
    if (front_wants(argc, argv))
        return finish_output(front_main(argc, argv));
    if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
        main_help(stdout);
        return finish_output(CLI_OK);
    }
    if (strcmp(arg, "--version") == 0) {
        printf("rnnlab %s\n", PACKAGE_VERSION);
        return finish_output(CLI_OK);
    }
    if (arg[0] == '-')
        return usage_error(NULL, "unknown option '%s'", arg);
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(arg, commands[i].name) == 0)
            return finish_output(commands[i].run(argc - 1, argv + 1));
    return unknown_command(arg);
}
