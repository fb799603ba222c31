/* options.c - what the rnnlab commands share: one-line messages, strict
 * option parsing with typo suggestions, and number formatting for output. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "util/suggest.h"
#include "train/trainer.h"
#include "store/session.h"
#include "engine/settings.h"
#include "text/tok_opt.h"

/* ------------------------------------------------------------------ */
/* Messages */

/* A process that does not speak for a data-parallel run (every rank but
 * 0) keeps its last message instead of printing it, for rank 0 to print
 * should the run fail there alone (cli/dist.c). */
static struct {
    int on;
    char last[512];
} held;

void cli_hold_messages(void)
{
    held.on = 1;
}

void cli_capture_messages(void)
{
    held.on = 1;
    held.last[0] = '\0';
}

void cli_release_messages(void)
{
    held.on = 0;
}

int cli_messages_held(void)
{
    return held.on;
}

const char *cli_held_message(void)
{
    return held.last;
}

static void vmessage(const char *fmt, va_list ap)
{
    if (held.on) {
        vsnprintf(held.last, sizeof held.last, fmt, ap);
        return;
    }
    fflush(stdout);
    fputs("rnnlab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* A bad command line: the problem, then where to read about it.  cmd is
 * the subcommand, or NULL for the top level.  Returns STATUS_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    if (held.on)
        return STATUS_USAGE;
    if (cmd)
        fprintf(stderr, "Try 'rnnlab %s --help'.\n", cmd);
    else
        fputs("Try 'rnnlab --help'.\n", stderr);
    return STATUS_USAGE;
}

/* A runtime error: one line.  Returns STATUS_FAIL. */
int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
    return STATUS_FAIL;
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmessage(fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ */
/* Numbers and JSON */

/* A count with thousands separators: 12345 -> "12,345". */
const char *cli_grouped(char buf[32], double v)
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
double cli_tidy(double x)
{
    char buf[32];
    if (!isfinite(x))
        return x;
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* Prints a cJSON object as one line and frees it. */
int cli_print_json(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        return cli_fail("out of memory");
    puts(s);
    cJSON_free(s);
    fflush(stdout);
    return STATUS_OK;
}

/* ------------------------------------------------------------------ */
/* Token text */

/* A token's text made safe for JSON in buf (cap bytes): bytes that are
 * not UTF-8 would make invalid JSON, so each becomes U+FFFD; a long token
 * is cut at a character.  Returns the length written. */
static size_t token_text(const uint8_t *bytes, size_t len, char *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        size_t k = tok_utf8_len(bytes + i, len - i), w = k ? k : 3;
        if (n + w >= cap)
            break;
        memcpy(buf + n, k ? (const char *)bytes + i : "\xEF\xBF\xBD", w);
        n += w;
        i += k ? k : 1;
    }
    return n;
}

void cli_put_json_string(FILE *f, const uint8_t *bytes, size_t len)
{
    char buf[256];
    size_t n = token_text(bytes, len, buf, sizeof buf);
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
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

/* ------------------------------------------------------------------ */
/* Standard output whose reader has gone */

static volatile sig_atomic_t pipe_broken;

static void on_sigpipe(int sig)
{
    (void)sig;
    pipe_broken = 1;
}

void cli_catch_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_sigpipe;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGPIPE, &sa, NULL);
}

/* A terminal that hung up (closed) reads POLLHUP; a pipe whose reader
 * left, POLLERR, also where SIGPIPE is ignored (the front ends). */
static int stdout_hung_up(void)
{
    struct pollfd p = {STDOUT_FILENO, POLLOUT, 0};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

int cli_output_gone(void)
{
    return ferror(stdout) && (pipe_broken || stdout_hung_up());
}

/* ------------------------------------------------------------------ */
/* Option parsing */

const char *cli_opt_name(const cli_opt_ctx *c, int id)
{
    for (const struct option *o = c->opts; o->name; o++)
        if (o->val == id)
            return o->name;
    return "?";
}

static int unknown_long_option(const cli_opt_ctx *c, const char *arg)
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
        suggest_keep(name, o->name, &best, &best_d);
    }
    if (prefixed > 1)
        return cli_usage_error(c->cmd, "option '--%s' is ambiguous", name);
    if (best)
        return cli_usage_error(c->cmd, "unknown option '--%s'; did you mean '--%s'?",
                           name, best);
    return cli_usage_error(c->cmd, "unknown option '%s'", arg);
}

/* Explains what getopt_long rejected (it reports nothing itself). */
static int option_error(const cli_opt_ctx *c, int what, char **argv)
{
    const char *arg = argv[optind - 1];
    if (what == ':')
        return cli_usage_error(c->cmd, "option '--%s' needs a value",
                           cli_opt_name(c, optopt));
    if (optopt >= 256 || (optopt == 'h' && strncmp(arg, "--", 2) == 0))
        return cli_usage_error(c->cmd, "option '--%s' takes no value",
                           cli_opt_name(c, optopt));
    if (optopt)
        return cli_usage_error(c->cmd, "unknown option '-%c'", optopt);
    return unknown_long_option(c, arg);
}

/* Parses a subcommand's arguments (argv[0] is its name): set is called for
 * each option, and up to max_pos positional arguments go to pos.  Returns
 * 0, CLI_PARSE_HELP, or STATUS_USAGE after a message. */
int cli_parse_command(const cli_opt_ctx *c, int argc, char **argv,
                         cli_opt_setter set, void *args, char **pos, int max_pos,
                         int *n_pos)
{
    char shorts[32];
    int id, rc;
    snprintf(shorts, sizeof shorts, ":h%s", c->shorts ? c->shorts : "");
    opterr = 0;
    optind = 1;
    while ((id = getopt_long(argc, argv, shorts, c->opts, NULL)) != -1) {
        if (id == 'h')
            return CLI_PARSE_HELP;
        if (id == '?' || id == ':')
            return option_error(c, id, argv);
        if ((rc = set(args, id, optarg)) != 0)
            return rc;
    }
    if (argc - optind > max_pos)
        return cli_usage_error(c->cmd, "unexpected argument '%s'",
                           argv[optind + max_pos]);
    *n_pos = argc - optind;
    for (int i = 0; i < *n_pos; i++)
        pos[i] = argv[optind + i];
    return 0;
}

static int out_of_range(const cli_opt_ctx *c, int id, const char *arg, double lo,
                        double hi, int flags)
{
    char why[128];
    if (hi >= 9e18)
        snprintf(why, sizeof why, "must be %s %.15g",
                 flags & CLI_LO_OPEN ? "greater than" : "at least", lo);
    else if (!flags)
        snprintf(why, sizeof why, "must be from %.15g to %.15g", lo, hi);
    else
        snprintf(why, sizeof why, "must be %s %.15g and %s %.15g",
                 flags & CLI_LO_OPEN ? ">" : ">=", lo,
                 flags & CLI_HI_OPEN ? "<" : "<=", hi);
    return cli_usage_error(c->cmd, "--%s: '%s' is out of range (%s)",
                       cli_opt_name(c, id), arg, why);
}

static int not_a(const cli_opt_ctx *c, int id, const char *arg, const char *what)
{
    return cli_usage_error(c->cmd, "--%s: '%s' is not %s", cli_opt_name(c, id), arg,
                       what);
}

/* The whole of arg must be a decimal integer in [lo, hi]. */
int cli_opt_long(const cli_opt_ctx *c, int id, const char *arg, long lo,
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
int cli_opt_double(const cli_opt_ctx *c, int id, const char *arg, double lo,
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
    if (v < lo || v > hi || ((flags & CLI_LO_OPEN) && v == lo)
        || ((flags & CLI_HI_OPEN) && v == hi))
        return out_of_range(c, id, arg, lo, hi, flags);
    *out = v;
    return 0;
}

/* An unsigned 64-bit integer (seeds). */
int cli_opt_u64(const cli_opt_ctx *c, int id, const char *arg, uint64_t *out)
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
int cli_opt_choice(const cli_opt_ctx *c, int id, const char *arg,
                      int (*parse)(const char *), const char *choices,
                      int *out)
{
    int v = parse(arg);
    if (v < 0)
        return cli_usage_error(c->cmd, "--%s: unknown value '%s' (choose %s)",
                           cli_opt_name(c, id), arg, choices);
    *out = v;
    return 0;
}


void cli_warn_unknown_corpus(const trainer *t)
{
    if (t->corp.unknown > 0)
        cli_warn("corpus: %zu %s", t->corp.unknown,
                 tok_unknown_note(t->corp.vocab, t->corp.unknown));
}

int cli_use_best(trainer *t, const char *dir)
{
    char err[256];
    if (trainer_use_best(t, err, sizeof err) != 0)
        return cli_fail("%s: %s", dir, err);
    return STATUS_OK;
}

trainer *cli_load_session(be_backend *be, const char *dir, const char *corpus,
                          sample_config *sample)
{
    return cli_load_session_prep(be, dir, corpus, sample, NULL);
}

trainer *cli_load_session_prep(be_backend *be, const char *dir, const char *corpus,
                               sample_config *sample, const corpus_prep *prep)
{
    char err[1024];
    sample_config own;
    trainer *t;
    if (!sample)
        sample = &own;
    if ((t = session_load_prep(be, dir, corpus, sample, prep, err, sizeof err)) == NULL) {
        cli_fail("%s", err);
        return NULL;
    }
    if (setting_check_session(&t->cfg, sample, dir, err, sizeof err) != 0) {
        trainer_free(t);
        cli_fail("%s", err);
        return NULL;
    }
    return t;
}

int cli_opt_setting(const cli_opt_ctx *c, int id, const char *arg,
                    const char *name, setting_values *v)
{
    char why[400];
    if (setting_parse(setting_find(name), arg, v, why, sizeof why) == 0)
        return 0;
    return cli_usage_error(c->cmd, "--%s: %s", cli_opt_name(c, id), why);
}

int cli_opt_tok(const cli_opt_ctx *c, int id, const char *arg, tok_options *o)
{
    char why[200];
    const char *name = cli_opt_name(c, id);
    if (tok_opt_parse(o, tok_opt_find(name), arg, why, sizeof why) == 0)
        return 0;
    return cli_usage_error(c->cmd, "--%s: %s", name, why);
}

void cli_tok_help(FILE *f)
{
    fprintf(f,
"  --tokens KIND        what a token is: char (a character), word (a word;\n"
"                       <eos> ends each line) or bpe (byte-level BPE\n"
"                       learned from the training text) (default char)\n"
"  --min-count N        word: words seen fewer than N times in the training\n"
"                       text become <unk>; N from %s\n"
"  --max-vocab N        word: at most N tokens, <unk> and <eos> included,\n"
"                       the most frequent words kept; N from\n"
"                       %s\n"
"  --lowercase          word: lowercase the words first (A-Z and Unicode's\n"
"                       one-to-one mappings of Latin, Greek, Cyrillic and\n"
"                       Armenian letters; README \"Words\")\n"
"  --word-letters       word: keep only words made of letters (others are\n"
"                       dropped; <unk> and <eos> stay)\n"
"  --bpe-vocab N        bpe: 256 byte tokens plus N - 256 merges; N from\n"
"                       %s\n"
"  --bpe-sample BYTES   bpe: learn the merges from at most BYTES of the\n"
"                       training text, evenly spaced windows of it when it\n"
"                       is longer (a line says so); BYTES from\n"
"                       %s\n",
            tok_opt_range(TOK_OPT_MIN_COUNT), tok_opt_range(TOK_OPT_MAX_VOCAB),
            tok_opt_range(TOK_OPT_BPE_VOCAB), tok_opt_range(TOK_OPT_BPE_SAMPLE));
}
