/* compare.c - `rnnlab compare`: several configurations of `rnnlab train`
 * trained one after another on the same text, split and seed, then a
 * table of what each reached (or JSON lines), their sessions and a
 * picture of their losses when asked. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "dist/dist.h"

/* The longest session directory name made from a configuration. */
#define SLUG_MAX 48

/* train options a configuration may not hold: compare saves the sessions
 * (--save-dir) and prints the output (--json). */
static const char *const refused[] = {"save", "resume", "json", "quiet", NULL};

typedef struct compare_args {
    int json;
    const char *save_dir, *plot;
    char **common;           /* train options for every configuration */
    int n_common;
    char **configs;          /* one argument each */
    int n_configs;
} compare_args;

/* One configuration: its train command line and what it measured. */
typedef struct compare_run {
    const char *text;        /* as given; "" is train's defaults */
    char *words;             /* text's copy, cut into argv */
    char **argv;             /* "train", the common options, text's words */
    int argc;
    char *save;              /* its session directory, or NULL */
    cli_train_result res;
    int done;
} compare_run;

static void compare_help(FILE *f)
{
    fputs(
"Usage: rnnlab compare [OPTION]... CONFIG...\n"
"Train each configuration, one after another, on the same text, split and\n"
"seed, each with the whole machine, then print a table: configuration,\n"
"validation loss (nats per token), bits per token (per character with\n"
"char tokens) and per byte, parameters, steps, training time and tokens\n"
"per second.\n"
"\n"
"A CONFIG is one argument holding `rnnlab train` options, split at blanks:\n"
"  rnnlab compare --steps 500 \"--model gru\" \"--model lstm --layer-norm\"\n"
"\"\" is train's defaults.  Options of train that take a value, given as\n"
"two arguments (--time 60, --corpus FILE, --seed 3, --hidden 64), apply\n"
"to every configuration, which may override them; any other argument is\n"
"a configuration (so \"--layer-norm\" is one, and --lr=0.01 too).  Every\n"
"configuration is checked before any training: a bad one is refused with\n"
"one line.\n"
"--save, --resume, --json and --quiet are compare's to set.\n"
"\n"
"Options:\n"
"  --json               one JSON object per configuration, as each run\n"
"                       ends: config, session, val_loss, val_bpc, val_bpb,\n"
"                       params, steps, seconds, tokens_per_s, tokens,\n"
"                       stopped\n"
"  --save-dir D         keep each session, in D/1-WORDS, D/2-WORDS, ...\n"
"                       (WORDS: the configuration's, e.g. D/1-model-gru)\n"
"  --plot FILE          draw the runs' losses to FILE.png or FILE.svg, as\n"
"                       `rnnlab plot` does (a build with cairo)\n"
"  -h, --help           show this help and exit\n"
"\n"
"Ctrl-C stops the run going on as train does (its validation finishes);\n"
"the table then shows the runs so far.\n", f);
}

/* ---- the command line -------------------------------------------------- */

/* Whether word is an option of train that takes a value, its value to
 * come in the next argument (--time 60): a common option.  One argument
 * (--lr=0.01, "--lr 0.01") is a configuration. */
static int common_option(const char *word)
{
    return strncmp(word, "--", 2) == 0 && cli_train_option_arg(word + 2) == 1;
}

/* compare's own option at argv[*i] (its value taken too).  Returns 1 when
 * it was one, 0 when not, or STATUS_USAGE after a message. */
static int own_option(compare_args *a, int argc, char **argv, int *i)
{
    static const char *const valued[] = {"--save-dir", "--plot"};
    const char *w = argv[*i];
    if (strcmp(w, "--json") == 0)
        return a->json = 1;
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(valued[k]);
        const char *v = NULL;
        if (strncmp(w, valued[k], n) == 0 && w[n] == '=')
            v = w + n + 1;
        else if (strcmp(w, valued[k]) == 0 && ++*i < argc)
            v = argv[*i];
        else if (strcmp(w, valued[k]) == 0)
            return cli_usage_error("compare", "option '%s' needs a value", w);
        if (v && !*v)
            return cli_usage_error("compare", "option '%s' needs a value", valued[k]);
        if (v) {
            *(k == 0 ? &a->save_dir : &a->plot) = v;
            return 1;
        }
    }
    return 0;
}

/* Sorts the arguments into compare's options, the common train options
 * and the configurations.  Returns 0, CLI_PARSE_HELP, or STATUS_USAGE. */
static int compare_parse(compare_args *a, int argc, char **argv)
{
    int rc;
    a->common = calloc((size_t)argc, sizeof *a->common);
    a->configs = calloc((size_t)argc, sizeof *a->configs);
    if (!a->common || !a->configs)
        return cli_fail("out of memory");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return CLI_PARSE_HELP;
        if ((rc = own_option(a, argc, argv, &i)) != 0) {
            if (rc != 1)
                return rc;
        } else if (common_option(argv[i])) {
            if (i + 1 == argc)
                return cli_usage_error("compare", "option '%s' needs a value", argv[i]);
            a->common[a->n_common++] = argv[i];
            a->common[a->n_common++] = argv[++i];
        } else {
            a->configs[a->n_configs++] = argv[i];
        }
    }
    if (a->n_configs == 0)
        return cli_usage_error("compare", "give the configurations to compare, "
                               "e.g. \"--model gru\" \"--model lstm\"");
    return 0;
}

/* ---- each configuration's command line --------------------------------- */

/* The session directory of configuration i (from 0): D/N-WORDS, the
 * configuration's letters and digits joined by '-'. */
static char *session_dir(const char *dir, int i, const char *text)
{
    char slug[SLUG_MAX + 1];
    size_t n = 0;
    for (const char *p = text; *p && n < SLUG_MAX; p++) {
        if (isalnum((unsigned char)*p) || *p == '.')
            slug[n++] = *p;
        else if (n > 0 && slug[n - 1] != '-')
            slug[n++] = '-';
    }
    while (n > 0 && slug[n - 1] == '-')
        n--;
    slug[n] = '\0';
    size_t len = strlen(dir) + sizeof slug + 32;
    char *s = malloc(len);
    if (s)
        snprintf(s, len, "%s/%d-%s", dir, i + 1, n ? slug : "defaults");
    return s;
}

/* Builds r's argv: "train", the common options, then its words. */
static int run_argv(compare_run *r, const compare_args *a, int i)
{
    size_t cap = (size_t)a->n_common + strlen(r->text) / 2 + 3;
    r->words = strdup(r->text);
    r->argv = calloc(cap, sizeof *r->argv);
    if (a->save_dir)
        r->save = session_dir(a->save_dir, i, r->text);
    if (!r->words || !r->argv || (a->save_dir && !r->save))
        return cli_fail("out of memory");
    r->argv[r->argc++] = "train";
    for (int k = 0; k < a->n_common; k++)
        r->argv[r->argc++] = a->common[k];
    for (char *save = NULL, *w = strtok_r(r->words, " \t\n", &save); w;
         w = strtok_r(NULL, " \t\n", &save))
        r->argv[r->argc++] = w;
    return STATUS_OK;
}

/* Checks configuration i; a problem is one line naming it. */
static int check_run(compare_run *r, int i)
{
    char msg[600];
    cli_capture_messages();
    int rc = cli_train_check(r->argc, r->argv, r->save, refused);
    snprintf(msg, sizeof msg, "%s", cli_held_message());
    cli_release_messages();
    if (rc == STATUS_OK)
        return rc;
    cli_warn("compare: configuration %d '%s': %s", i + 1, r->text, msg);
    return rc;
}

/* ---- output ------------------------------------------------------------ */

static const char *run_name(const compare_run *r)
{
    return r->text[0] ? r->text : "(defaults)";
}

static int print_json_run(const compare_run *r)
{
    const cli_train_result *s = &r->res;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return cli_fail("out of memory");
    cJSON_AddStringToObject(o, "config", r->text);
    if (r->save)
        cJSON_AddStringToObject(o, "session", r->save);
    else
        cJSON_AddNullToObject(o, "session");
    if (isfinite(s->val_loss)) {
        cJSON_AddNumberToObject(o, "val_loss", cli_tidy(s->val_loss));
        cJSON_AddNumberToObject(o, "val_bpc", cli_tidy(s->val_bpt));
        cJSON_AddNumberToObject(o, "val_bpb", cli_tidy(s->val_bpb));
    }
    cJSON_AddNumberToObject(o, "params", (double)s->params);
    cJSON_AddNumberToObject(o, "steps", (double)s->steps);
    cJSON_AddNumberToObject(o, "seconds", cli_tidy(s->seconds));
    cJSON_AddNumberToObject(o, "tokens_per_s", cli_tidy(round(s->tokens_per_s)));
    cJSON_AddStringToObject(o, "tokens", s->tokens ? s->tokens : "");
    cJSON_AddStringToObject(o, "stopped", s->why);
    return cli_print_json(o);
}

/* A figure of the table, or "-" when there is none. */
static const char *figure(char buf[32], double v, const char *fmt)
{
    if (isfinite(v))
        snprintf(buf, 32, fmt, v);
    else
        snprintf(buf, 32, "-");
    return buf;
}

static void print_table(const compare_run *runs, int n)
{
    int w = 13, all_char = 1;
    char f[4][32], g[3][32];
    for (int i = 0; i < n; i++)
        if (runs[i].done) {
            w = (int)fmax(w, (double)strlen(run_name(&runs[i])));
            all_char &= runs[i].res.tokens && strcmp(runs[i].res.tokens, "char") == 0;
        }
    printf("%-*s  %8s  %6s  %6s  %10s  %8s  %7s  %8s\n", w, "configuration",
           "val loss", all_char ? "bpc" : "bpt", "bpb", "params", "steps", "time",
           "tok/s");
    for (int i = 0; i < n; i++) {
        const cli_train_result *s = &runs[i].res;
        if (!runs[i].done)
            continue;
        printf("%-*s  %8s  %6s  %6s  %10s  %8s  %6.*fs  %8s\n", w, run_name(&runs[i]),
               figure(f[0], s->val_loss, "%.4f"), figure(f[1], s->val_bpt, "%.3f"),
               figure(f[2], s->val_bpb, "%.3f"), cli_grouped(g[0], (double)s->params),
               cli_grouped(g[1], (double)s->steps), s->seconds < 10 ? 2 : 1, s->seconds,
               cli_grouped(g[2], round(s->tokens_per_s)));
    }
    fflush(stdout);
}

/* The picture of the runs done. */
static int plot_runs(const compare_args *a, const compare_run *runs, int n)
{
    const char **names = calloc((size_t)n + 1, sizeof *names);
    metric_point **hist = calloc((size_t)n + 1, sizeof *hist);
    size_t *len = calloc((size_t)n + 1, sizeof *len);
    int k = 0, rc;
    if (!names || !hist || !len) {
        rc = cli_fail("out of memory");
    } else {
        for (int i = 0; i < n; i++)
            if (runs[i].done) {
                names[k] = run_name(&runs[i]);
                hist[k] = runs[i].res.hist;
                len[k++] = runs[i].res.n_hist;
            }
        rc = cli_plot_histories(a->plot, names, hist, len, k, 0, NULL);
    }
    free(names);
    free(hist);
    free(len);
    return rc;
}

/* ---- the runs ---------------------------------------------------------- */

static int train_one(compare_run *r, int i, int n)
{
    fprintf(stderr, "compare %d/%d: %s%s%s\n", i + 1, n, run_name(r),
            r->save ? ", saving to " : "", r->save ? r->save : "");
    int rc = cli_train_measure(r->argc, r->argv, r->save, &r->res);
    if (rc != STATUS_OK)
        return rc;
    r->done = 1;
    char val[48];
    snprintf(val, sizeof val, isfinite(r->res.val_loss) ? "val loss %.4f"
             : "no validation split", r->res.val_loss);
    fprintf(stderr, "compare %d/%d: %ld step%s in %.1f s (%s), %s\n", i + 1, n,
            r->res.steps, r->res.steps == 1 ? "" : "s", r->res.seconds, r->res.why, val);
    return STATUS_OK;
}

/* Trains the runs in turn; stops at a failure or an interrupted run. */
static int train_all(const compare_args *a, compare_run *runs, int n)
{
    for (int i = 0; i < n; i++) {
        int rc = train_one(&runs[i], i, n);
        if (rc == STATUS_OK && a->json)
            rc = print_json_run(&runs[i]);
        if (rc != STATUS_OK)
            return rc;
        if (runs[i].res.interrupted) {
            fprintf(stderr, "compare: interrupted; %d of %d configurations trained\n",
                    i + 1, n);
            return STATUS_FAIL;
        }
    }
    return STATUS_OK;
}

static int compare_runs(const compare_args *a, compare_run *runs)
{
    int n = a->n_configs, rc = STATUS_OK, any = 0;
    for (int i = 0; i < n && rc == STATUS_OK; i++) {
        runs[i].text = a->configs[i];
        rc = run_argv(&runs[i], a, i);
    }
    for (int i = 0; i < n && rc == STATUS_OK; i++)
        rc = check_run(&runs[i], i);
    if (rc == STATUS_OK && a->plot)
        rc = cli_plot_check("compare", "--plot", a->plot);
    if (rc != STATUS_OK)
        return rc;
    rc = train_all(a, runs, n);
    for (int i = 0; i < n; i++)
        any |= runs[i].done;
    if (any && !a->json)
        print_table(runs, n);
    if (any && a->plot) {
        int prc = plot_runs(a, runs, n);
        rc = rc == STATUS_OK ? prc : rc;
    }
    return rc;
}

int cli_compare(int argc, char **argv)
{
    compare_args a;
    compare_run *runs = NULL;
    /* each run starts and stops MPI under mpirun, which allows it once */
    if (dist_launched() > 0)
        return cli_dist_refuse("compare");
    memset(&a, 0, sizeof a);
    int rc = compare_parse(&a, argc, argv);
    if (rc == CLI_PARSE_HELP)
        compare_help(stdout);
    if (rc == 0 && (runs = calloc((size_t)a.n_configs, sizeof *runs)) == NULL)
        rc = cli_fail("out of memory");
    if (rc == 0)
        rc = compare_runs(&a, runs);
    for (int i = 0; runs && i < a.n_configs; i++) {
        free(runs[i].words);
        free(runs[i].argv);
        free(runs[i].save);
        free(runs[i].res.hist);
    }
    free(runs);
    free(a.common);
    free(a.configs);
    return rc == CLI_PARSE_HELP ? STATUS_OK : rc;
}
