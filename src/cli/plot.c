/* plot.c - `rnnlab plot`: the loss histories of saved sessions drawn to a
 * PNG or SVG picture (ui/chart.c), and the same picture for compare. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "train/trainer.h"
#include "store/session.h"
#include "ui/chart.h"

/* Colour of the legend's style keys (the palette's grey). */
#define KEY_COLOR 7

enum { PO_OUTPUT = 'o', PO_LOG = 256, PO_TITLE };

static const struct option plot_opts[] = {
    {"output", required_argument, NULL, PO_OUTPUT},
    {"log", no_argument, NULL, PO_LOG},
    {"title", required_argument, NULL, PO_TITLE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct plot_args {
    cli_opt_ctx oc;
    const char *output, *title;
    int log_y;
} plot_args;

static void plot_help(FILE *f)
{
    fputs("Usage: rnnlab plot DIR... -o FILE.png|FILE.svg [--log] [--title T]\n"
          "Draw the loss histories of saved sessions: each session's training\n"
          "loss (thin) and validation loss (bold, a dot per validation) against\n"
          "the step, in a colour of its own, named in the legend by its\n"
          "directory.\n"
          "\n"
          "  -o, --output FILE    the picture to write: PNG (800 x 500 pixels) or\n"
          "                       SVG, as its name ends; replaced when it exists\n"
          "  --log                a logarithmic loss axis\n"
          "  --title T            a title above the plot\n"
          "  -h, --help           show this help and exit\n"
          "\n"
          "The history is what the session keeps in session.json: every step's\n"
          "loss while a run is short, every 2nd, 4th, ... step beyond 65,536\n"
          "points, and every validation.  Needs a build with cairo.\n", f);
}

static int plot_set(void *args, int id, const char *arg)
{
    plot_args *a = args;
    switch (id) {
    case PO_OUTPUT: a->output = arg; return 0;
    case PO_LOG: a->log_y = 1; return 0;
    case PO_TITLE: a->title = arg; return 0;
    default: return 0;
    }
}

/* Whether a file can be made beside path: its directory is writable. */
static int writable_place(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(n + 2);
    int ok;
    if (!dir)
        return 1;       /* the write will say */
    if (!slash)
        strcpy(dir, ".");
    else if (n == 0)
        strcpy(dir, "/");
    else
        snprintf(dir, n + 1, "%s", path);
    ok = access(dir, W_OK) == 0;
    free(dir);
    return ok;
}

int cli_plot_check(const char *cmd, const char *option, const char *path)
{
    char err[512];
    const char *opt = option ? option : "", *sep = option ? " " : "";
    if (!chart_available()) {
        chart_write(path, NULL, 0, NULL, err, sizeof err);
        return cli_fail("%s%s%s", opt, sep, err);
    }
    if (chart_format(path) < 0)
        return cli_usage_error(cmd, "%s%s%s: unknown picture format (name it "
                               ".png or .svg)", opt, sep, path);
    if (!writable_place(path))
        return cli_fail("%s%s%s: cannot write: %s", opt, sep, path, strerror(errno));
    return STATUS_OK;
}

/* One session's two lines: its training loss at every point of the
 * history and its validations alone.  xy holds 4 x n doubles. */
static void session_lines(chart_line *l, const metric_point *h, size_t n, double *xy,
                          int color)
{
    double *tx = xy, *ty = xy + n, *vx = xy + 2 * n, *vy = xy + 3 * n;
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        tx[i] = (double)h[i].step;
        ty[i] = (double)h[i].loss;
        if (!isnan(h[i].val_loss)) {
            vx[nv] = (double)h[i].step;
            vy[nv++] = (double)h[i].val_loss;
        }
    }
    l[0] = (chart_line){.x = tx, .y = ty, .n = n, .color = color};
    l[1] = (chart_line){.x = vx, .y = vy, .n = nv, .color = color, .bold = 1};
}

int cli_plot_histories(const char *path, const char *const *names,
                       metric_point *const *hist, const size_t *n, int count,
                       int log_y, const char *title)
{
    char err[1024];
    size_t total = 0;
    for (int i = 0; i < count; i++)
        total += n[i];
    /* the sessions' lines, then two legend keys: thin is training, bold
     * is validation */
    chart_line *l = calloc((size_t)count * 2 + 2, sizeof *l);
    double *xy = malloc((total ? total : 1) * 4 * sizeof *xy);
    if (!l || !xy) {
        free(l);
        free(xy);
        return cli_fail("%s: out of memory", path);
    }
    double *p = xy;
    for (int i = 0; i < count; i++) {
        session_lines(&l[2 * i], hist[i], n[i], p, i % CHART_COLORS);
        l[2 * i + 1].name = names[i];   /* the colour's entry: its validations */
        p += 4 * n[i];
    }
    l[2 * count] = (chart_line){.name = "training loss", .color = KEY_COLOR};
    l[2 * count + 1] = (chart_line){.name = "validation loss", .color = KEY_COLOR,
                                    .bold = 1};
    chart_options o = {.log_y = log_y, .title = title, .x_label = "step",
                       .y_label = "loss (nats per token)"};
    int rc = chart_write(path, l, count * 2 + 2, &o, err, sizeof err);
    free(l);
    free(xy);
    return rc == 0 ? STATUS_OK : cli_fail("%s", err);
}

/* The legend's names of the sessions in dirs: their last components when
 * these differ, else the directories as given. */
static void session_names(char **dirs, int count, const char **names)
{
    int unique = 1;
    for (int i = 0; i < count; i++) {
        size_t n = strlen(dirs[i]);
        while (n > 1 && dirs[i][n - 1] == '/')
            dirs[i][--n] = '\0';
        const char *slash = strrchr(dirs[i], '/');
        names[i] = slash && slash[1] ? slash + 1 : dirs[i];
        for (int k = 0; k < i; k++)
            unique &= strcmp(names[k], names[i]) != 0;
    }
    for (int i = 0; !unique && i < count; i++)
        names[i] = dirs[i];
}

/* Reads the histories of the sessions in dirs and draws them. */
static int plot_sessions(const plot_args *a, char **dirs, int count)
{
    char err[1024];
    const char **names = calloc((size_t)count, sizeof *names);
    metric_point **hist = calloc((size_t)count, sizeof *hist);
    size_t *n = calloc((size_t)count, sizeof *n);
    int rc = hist && n && names ? STATUS_OK : cli_fail("out of memory");
    for (int i = 0; i < count && rc == STATUS_OK; i++)
        if (session_history(dirs[i], &hist[i], &n[i], err, sizeof err) != 0)
            rc = cli_fail("%s", err);
    if (rc == STATUS_OK) {
        session_names(dirs, count, names);
        rc = cli_plot_histories(a->output, names, hist, n, count, a->log_y, a->title);
    }
    for (int i = 0; hist && i < count; i++)
        free(hist[i]);
    free(hist);
    free(n);
    free(names);
    return rc;
}

int cli_plot(int argc, char **argv)
{
    plot_args a = {.oc = {.cmd = "plot", .opts = plot_opts, .shorts = "o:"}};
    char **dirs = calloc((size_t)argc, sizeof *dirs);
    int n_dirs = 0, rc;
    if (!dirs)
        return cli_fail("out of memory");
    rc = cli_parse_command(&a.oc, argc, argv, plot_set, &a, dirs, argc, &n_dirs);
    if (rc == CLI_PARSE_HELP)
        plot_help(stdout);
    else if (rc == 0 && n_dirs == 0)
        rc = cli_usage_error(a.oc.cmd, "give the session directories to plot");
    else if (rc == 0 && !a.output)
        rc = cli_usage_error(a.oc.cmd, "give the picture to write: -o FILE.png or "
                             "-o FILE.svg");
    else if (rc == 0)
        rc = cli_plot_check(a.oc.cmd, "-o", a.output);
    if (rc == 0)
        rc = plot_sessions(&a, dirs, n_dirs);
    free(dirs);
    return rc == CLI_PARSE_HELP ? STATUS_OK : rc;
}
