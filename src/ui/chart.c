/* chart.c - line charts drawn with cairo into PNG or SVG files (chart.h).
 *
 * Layout, in pixels of a W x H picture:
 *
 *            title (when given), centred on the top margin
 *      4 ┤--------------------------+-----------+   grid lines at the ticks,
 *        │\                         | — a train |   the legend boxed in the
 *  loss  │ \___                     | — a val   |   plot's top right corner
 *      2 ┤     \______________      +-----------+
 *        └────┬──────┬──────┬─────
 *             1k     2k     3k      x labels under the ticks
 *                    step
 *
 * Ticks are round numbers (1, 2 or 5 x 10^k apart, as in the terminal's
 * plots, ui/plot.c); a log axis marks 1, 2 and 5 x 10^k over a decade or
 * more, else round values placed on the log scale. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "ui/chart.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <cairo-svg.h>

#include "ui/plot.h"

#define MAX_TICKS 24
#define LABEL_MAX 16
#define FONT_SIZE 12.0
#define TURN 6.283185307179586   /* 2 pi: a full circle, in radians */

/* Tableau's ten colours (matplotlib's default cycle), as RGB in [0, 1]. */
static const double palette[CHART_COLORS][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
    {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
    {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
    {0.090, 0.745, 0.812},
};

/* Tick marks of one axis: positions on the axis scale (log10 of the value
 * on a log axis) and their labels. */
typedef struct ticks {
    int n;
    double pos[MAX_TICKS];
    char label[MAX_TICKS][LABEL_MAX];
} ticks;

/* The plot area on the page and the ranges it maps (y on the axis scale). */
typedef struct frame {
    double left, top, width, height;
    double xlo, xhi, ylo, yhi;
    int log_y;
} frame;

/* ---- scales ------------------------------------------------------------ */

static int drawable(double x, double y, int log_y)
{
    return isfinite(x) && isfinite(y) && (!log_y || y > 0);
}

static double scale_y(double y, int log_y)
{
    return log_y ? log10(y) : y;
}

static double page_x(const frame *f, double x)
{
    return f->left + (x - f->xlo) / (f->xhi - f->xlo) * f->width;
}

static double page_y(const frame *f, double pos)
{
    return f->top + (f->yhi - pos) / (f->yhi - f->ylo) * f->height;
}

/* The ranges of the drawable points into f.  Returns the number of them. */
static size_t data_range(frame *f, const chart_line *l, int n)
{
    size_t count = 0;
    f->xlo = f->ylo = INFINITY;
    f->xhi = f->yhi = -INFINITY;
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < l[i].n; k++) {
            if (!drawable(l[i].x[k], l[i].y[k], f->log_y))
                continue;
            double y = scale_y(l[i].y[k], f->log_y);
            f->xlo = fmin(f->xlo, l[i].x[k]);
            f->xhi = fmax(f->xhi, l[i].x[k]);
            f->ylo = fmin(f->ylo, y);
            f->yhi = fmax(f->yhi, y);
            count++;
        }
    return count;
}

/* A range of one value (a single point, a flat line) made a span; then a
 * margin of 4% each side of y so the curves do not run along the frame. */
static void widen(frame *f)
{
    if (f->xhi <= f->xlo) {
        f->xlo -= 0.5;
        f->xhi += 0.5;
    }
    if (f->yhi <= f->ylo) {
        double d = f->log_y ? 0.05 : fmax(fabs(f->ylo) * 0.05, 0.5);
        f->ylo -= d;
        f->yhi += d;
    }
    double m = (f->yhi - f->ylo) * 0.04;
    f->ylo -= m;
    f->yhi += m;
}

/* ---- ticks ------------------------------------------------------------- */

/* Label of v on an axis whose ticks are step apart: decimals enough for
 * the step, compact (1.5k) from a step of 1000 on. */
static void tick_label(char *buf, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;   /* no "-0.0" */
    if (step >= 1000)
        plot_format_number(buf, LABEL_MAX, v);
    else if (step < 1e-4)
        snprintf(buf, LABEL_MAX, "%.3g", v);
    else
        snprintf(buf, LABEL_MAX, "%.*f", step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0, v);
}

/* Round values step apart within [a, b] (values), placed at log10 of the
 * value on a log axis (where those <= 0 are left out).  Returns 0 when
 * there would be more than max. */
static int value_ticks(ticks *t, double a, double b, double step, int log_y, int max)
{
    double k0 = ceil(a / step - 1e-9), k1 = floor(b / step + 1e-9);
    if (!(k1 - k0 + 1 <= max))   /* also when NaN */
        return 0;
    t->n = 0;
    for (double k = k0; k <= k1; k++) {
        double v = k * step;
        if (log_y && v <= 0)
            continue;
        t->pos[t->n] = log_y ? log10(v) : v;
        tick_label(t->label[t->n], v, step);
        t->n++;
    }
    return 1;
}

/* The densest round step giving at most max ticks over [a, b] (values). */
static void round_ticks(ticks *t, double a, double b, int log_y, int max)
{
    double step = plot_nice_step((b - a) / (max > 1 ? max : 1));
    for (int tries = 0; tries < 40; tries++, step = plot_next_step(step))
        if (value_ticks(t, a, b, step, log_y, max))
            return;
    t->n = 0;
}

/* Log axis over [la, lb] (log10 of the values): 1, 2 and 5 x 10^k when it
 * spans a decade or more (thinned to powers of ten when too many), else
 * round values. */
static void log_ticks(ticks *t, double la, double lb, int max)
{
    static const double mant[] = {1, 2, 5};
    if (lb - la < 1) {
        round_ticks(t, pow(10, la), pow(10, lb), 1, max);
        return;
    }
    int every = (lb - la) * 3 + 1 > max ? 3 : 1;   /* 1 x 10^k only */
    t->n = 0;
    for (double k = floor(la); k <= ceil(lb) && t->n < MAX_TICKS; k++)
        for (int m = 0; m < 3; m += every) {
            double p = k + log10(mant[m]);
            if (p < la - 1e-9 || p > lb + 1e-9 || t->n == MAX_TICKS)
                continue;
            t->pos[t->n] = p;
            snprintf(t->label[t->n], LABEL_MAX, "%g", pow(10, p));
            t->n++;
        }
}

/* ---- drawing ----------------------------------------------------------- */

static void set_color(cairo_t *cr, int color, double alpha)
{
    const double *c = palette[((color % CHART_COLORS) + CHART_COLORS) % CHART_COLORS];
    cairo_set_source_rgba(cr, c[0], c[1], c[2], alpha);
}

/* Text whose anchor point (ax, ay) is a fraction of its box: (0.5, 1) is
 * the middle of its bottom edge; angle in radians. */
static void text_at(cairo_t *cr, const char *s, double x, double y, double ax,
                    double ay, double angle)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    cairo_move_to(cr, -e.x_bearing - ax * e.width, -e.y_bearing - ay * e.height);
    cairo_show_text(cr, s);
    cairo_restore(cr);
}

static double text_width(cairo_t *cr, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* The grid, the frame and the labelled ticks of both axes. */
static void draw_axes(cairo_t *cr, const frame *f, const ticks *tx, const ticks *ty)
{
    cairo_set_line_width(cr, 1);
    cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
    for (int i = 0; i < tx->n; i++) {
        double x = round(page_x(f, tx->pos[i])) + 0.5;
        cairo_move_to(cr, x, f->top);
        cairo_line_to(cr, x, f->top + f->height);
    }
    for (int i = 0; i < ty->n; i++) {
        double y = round(page_y(f, ty->pos[i])) + 0.5;
        cairo_move_to(cr, f->left, y);
        cairo_line_to(cr, f->left + f->width, y);
    }
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_rectangle(cr, round(f->left) + 0.5, round(f->top) + 0.5, round(f->width),
                    round(f->height));
    cairo_stroke(cr);
    for (int i = 0; i < tx->n; i++) {
        double x = round(page_x(f, tx->pos[i])) + 0.5, y = f->top + f->height;
        cairo_move_to(cr, x, y);
        cairo_line_to(cr, x, y + 5);
        cairo_stroke(cr);
        text_at(cr, tx->label[i], x, y + 8, 0.5, 0, 0);
    }
    for (int i = 0; i < ty->n; i++) {
        double y = round(page_y(f, ty->pos[i])) + 0.5;
        cairo_move_to(cr, f->left - 5, y);
        cairo_line_to(cr, f->left, y);
        cairo_stroke(cr);
        text_at(cr, ty->label[i], f->left - 8, y, 1, 0.5, 0);
    }
}

/* One line, clipped to the plot area: thin, or bold with a dot at each
 * point. */
static void draw_line(cairo_t *cr, const frame *f, const chart_line *l)
{
    int pen = 0;
    cairo_save(cr);
    cairo_rectangle(cr, f->left, f->top, f->width, f->height);
    cairo_clip(cr);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_width(cr, l->bold ? 2.2 : 1.0);
    set_color(cr, l->color, l->bold ? 1 : 0.55);
    for (size_t k = 0; k < l->n; k++) {
        if (isnan(l->y[k])) {
            pen = 0;        /* a gap */
            continue;
        }
        if (!drawable(l->x[k], l->y[k], f->log_y))
            continue;
        double x = page_x(f, l->x[k]), y = page_y(f, scale_y(l->y[k], f->log_y));
        if (pen)
            cairo_line_to(cr, x, y);
        else
            cairo_move_to(cr, x, y);
        pen = 1;
    }
    cairo_stroke(cr);
    for (size_t k = 0; l->bold && k < l->n; k++)
        if (drawable(l->x[k], l->y[k], f->log_y)) {
            cairo_new_sub_path(cr);
            cairo_arc(cr, page_x(f, l->x[k]), page_y(f, scale_y(l->y[k], f->log_y)),
                      3, 0, TURN);
        }
    cairo_fill(cr);
    cairo_restore(cr);
}

/* The legend, boxed in the top right corner of the plot area. */
static void draw_legend(cairo_t *cr, const frame *f, const chart_line *l, int n)
{
    double wide = 0, row = FONT_SIZE + 6, pad = 8, sample = 24;
    int shown = 0;
    for (int i = 0; i < n; i++)
        if (l[i].name && l[i].name[0]) {
            wide = fmax(wide, text_width(cr, l[i].name));
            shown++;
        }
    if (!shown)
        return;
    double w = pad * 3 + sample + wide, h = pad * 2 + row * shown;
    double x = f->left + f->width - w - 10, y = f->top + 10;
    cairo_rectangle(cr, round(x) + 0.5, round(y) + 0.5, round(w), round(h));
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    double cy = y + pad + row / 2;
    for (int i = 0; i < n; i++) {
        if (!l[i].name || !l[i].name[0])
            continue;
        cairo_set_line_width(cr, l[i].bold ? 2.2 : 1.0);
        set_color(cr, l[i].color, l[i].bold ? 1 : 0.55);
        cairo_move_to(cr, x + pad, cy);
        cairo_line_to(cr, x + pad + sample, cy);
        cairo_stroke(cr);
        if (l[i].bold) {
            cairo_arc(cr, x + pad + sample / 2, cy, 3, 0, TURN);
            cairo_fill(cr);
        }
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        text_at(cr, l[i].name, x + pad * 2 + sample, cy, 0, 0.5, 0);
        cy += row;
    }
}

/* The title and the axis names around the plot area. */
static void draw_titles(cairo_t *cr, const frame *f, const chart_options *o,
                        double ylab_x)
{
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    if (o->x_label)
        text_at(cr, o->x_label, f->left + f->width / 2, f->top + f->height + 30, 0.5, 0, 0);
    if (o->y_label)
        text_at(cr, o->y_label, ylab_x, f->top + f->height / 2, 0.5, 0, -TURN / 4);
    if (o->title) {
        cairo_save(cr);
        cairo_set_font_size(cr, FONT_SIZE * 1.3);
        text_at(cr, o->title, f->left + f->width / 2, f->top / 2, 0.5, 0.5, 0);
        cairo_restore(cr);
    }
}

/* Where the plot area goes on a w x h page: room on the left for the
 * widest y label and the axis name. */
static void place(cairo_t *cr, frame *f, const ticks *ty, const chart_options *o,
                  double w, double h, double *ylab_x)
{
    double lw = 0;
    for (int i = 0; i < ty->n; i++)
        lw = fmax(lw, text_width(cr, ty->label[i]));
    *ylab_x = 10;
    f->left = lw + 16 + (o->y_label ? FONT_SIZE + 10 : 0);
    f->top = o->title ? FONT_SIZE * 3 : FONT_SIZE;
    f->width = fmax(w - f->left - 20, 10);
    f->height = fmax(h - f->top - (o->x_label ? 50 : 30), 10);
}

static void draw(cairo_t *cr, frame *f, const chart_line *l, int n,
                 const chart_options *o, double w, double h)
{
    ticks tx, ty;
    double ylab_x;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, FONT_SIZE);
    if (f->log_y)
        log_ticks(&ty, f->ylo, f->yhi, (int)(h / 45));
    else
        round_ticks(&ty, f->ylo, f->yhi, 0, (int)(h / 45));
    place(cr, f, &ty, o, w, h, &ylab_x);
    round_ticks(&tx, f->xlo, f->xhi, 0, (int)(f->width / 80));
    draw_axes(cr, f, &tx, &ty);
    for (int i = 0; i < n; i++)
        draw_line(cr, f, &l[i]);
    draw_legend(cr, f, l, n);
    draw_titles(cr, f, o, ylab_x);
}

/* ---- files ------------------------------------------------------------- */

static cairo_status_t to_file(void *closure, const unsigned char *data,
                              unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

int chart_available(void)
{
    return 1;
}

int chart_format(const char *path)
{
    size_t n = strlen(path);
    char ext[5] = "";
    if (n < 4)
        return -1;
    for (int i = 0; i < 4; i++)
        ext[i] = (char)tolower((unsigned char)path[n - 4 + i]);
    return strcmp(ext, ".png") == 0 ? CHART_PNG : strcmp(ext, ".svg") == 0 ? CHART_SVG : -1;
}

/* Draws into the open file fp in format fmt.  Returns a cairo status. */
static cairo_status_t render(FILE *fp, int fmt, frame *f, const chart_line *l,
                             int n, const chart_options *o, int w, int h)
{
    cairo_surface_t *s = fmt == CHART_SVG
        ? cairo_svg_surface_create_for_stream(to_file, fp, w, h)
        : cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(s);
    draw(cr, f, l, n, o, w, h);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS && fmt == CHART_PNG)
        st = cairo_surface_write_to_png_stream(s, to_file, fp);
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    return st;
}

/* Writes the chart to tmp, a new file beside path.  Returns 0, or -1 with
 * a message. */
static int write_file(const char *path, const char *tmp, int fmt, frame *f,
                      const chart_line *l, int n, const chart_options *o, int w,
                      int h, char *err, size_t errlen)
{
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        return -1;
    }
    cairo_status_t st = render(fp, fmt, f, l, n, o, w, h);
    int bad = ferror(fp), saved = errno;
    if (fclose(fp) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (st == CAIRO_STATUS_WRITE_ERROR || bad)
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(saved));
    else if (st != CAIRO_STATUS_SUCCESS)
        snprintf(err, errlen, "%s: cairo: %s", path, cairo_status_to_string(st));
    return st == CAIRO_STATUS_SUCCESS && !bad ? 0 : -1;
}

int chart_write(const char *path, const chart_line *lines, int n,
                const chart_options *opt, char *err, size_t errlen)
{
    chart_options o = opt ? *opt : (chart_options){0};
    int fmt = chart_format(path);
    int w = o.width > 0 ? o.width : 800, h = o.height > 0 ? o.height : 500;
    frame f = {.log_y = o.log_y};
    if (fmt < 0) {
        snprintf(err, errlen, "%s: unknown picture format (name it .png or .svg)", path);
        return -1;
    }
    if (data_range(&f, lines, n) == 0) {
        snprintf(err, errlen, "%s: nothing to draw (no%s loss recorded)", path,
                 o.log_y ? " positive" : "");
        return -1;
    }
    widen(&f);
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(tmp, len, "%s.%ld.tmp", path, (long)getpid());
    int rc = write_file(path, tmp, fmt, &f, lines, n, &o, w, h, err, errlen);
    if (rc == 0 && rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}
