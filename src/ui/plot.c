/* plot.c - line plots drawn into a grid of cells (see plot.h).
 *
 * Layout of a full plot, width W x height H cells:
 *
 *     4.0 ┤⠀⠀⠀          y labels right-aligned in a margin of M cells
 *         │⠑⢄           (the widest label plus the axis column),
 *     2.0 ┤  ⠑⠢⣀        curves in rows 0..H-3, columns M..W-1,
 *         └──┬────┬     the x axis with tick marks on row H-2,
 *            500  1k    x labels centred under the marks on row H-1.
 *
 * Each plot cell holds 2 x 4 dots.  A series is downsampled to dot columns
 * as it is read: the points falling in one column become a vertical span
 * from their lowest to their highest dot, and consecutive columns are
 * joined by a Bresenham line, so a frame costs O(points + dots drawn)
 * whatever the number of points. */
#include "ui/plot.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TICKS 32
#define LABEL_MAX 12

/* Tick values of one axis.  pos is on the axis scale (log10 of the value
 * on a log axis); lo and hi bound the axis on that scale. */
typedef struct ticks {
    int n;
    double val[MAX_TICKS], pos[MAX_TICKS];
    char label[MAX_TICKS][LABEL_MAX];
    double lo, hi;
} ticks;

/* The part of the grid the curves go into and the ranges it maps. */
typedef struct canvas {
    int row0, col0, rows, cols;  /* in cells */
    double xlo, xhi, ylo, yhi;   /* y on the axis scale */
    double sx, sy;               /* dots per unit */
    int log_y;
} canvas;

/* Whether (x, y) is drawn: finite, positive on a log axis, and inside the
 * x window starting at xlo. */
static int drawable(double x, double y, int log_y, double xlo)
{
    return isfinite(x) && isfinite(y) && x >= xlo && (!log_y || y > 0);
}

/* Dot column of x, clamped to the canvas (also for a NaN from a range too
 * wide for doubles). */
static int dot_x(const canvas *c, double x)
{
    double d = (x - c->xlo) * c->sx + 0.5;
    return d <= 0 ? 0 : d < c->cols * 2 - 1 ? (int)d : c->cols * 2 - 1;
}

/* Dot row of value y (row 0 at the top). */
static int dot_y(const canvas *c, double y)
{
    double d = (c->yhi - (c->log_y ? log10(y) : y)) * c->sy + 0.5;
    return d <= 0 ? 0 : d < c->rows * 4 - 1 ? (int)d : c->rows * 4 - 1;
}

/* Dot bits of the braille block, by dot row (0-3) and column (0-1). */
static const unsigned char braille_bit[4][2] = {
    {0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}
};

/* ---- the grid ---------------------------------------------------------- */

/* Returns -1 when the size is not positive or memory runs out (g is then
 * left empty). */
int plot_grid_init(plot_grid *g, int width, int height)
{
    memset(g, 0, sizeof *g);
    if (width <= 0 || height <= 0 || (long long)width * height > INT_MAX / 2)
        return -1;
    size_t n = (size_t)width * (size_t)height;
    g->cells = calloc(n, sizeof *g->cells);
    g->dots = calloc(n, 1);
    if (!g->cells || !g->dots) {
        plot_grid_free(g);
        return -1;
    }
    g->width = width;
    g->height = height;
    return 0;
}

void plot_grid_free(plot_grid *g)
{
    if (!g)
        return;
    free(g->cells);
    free(g->dots);
    memset(g, 0, sizeof *g);
}

static void put(plot_grid *g, int row, int col, const char *ch)
{
    if (row < 0 || row >= g->height || col < 0 || col >= g->width)
        return;
    plot_cell *c = &g->cells[row * g->width + col];
    snprintf(c->ch, sizeof c->ch, "%s", ch);
    c->color = 0;
}

/* Writes ASCII text from (row, col), clipped to the grid. */
static void put_text(plot_grid *g, int row, int col, const char *s)
{
    for (char ch[2] = {0, 0}; *s; s++, col++) {
        ch[0] = *s;
        put(g, row, col, ch);
    }
}

/* ---- numbers ----------------------------------------------------------- */

double plot_nice_step(double raw)
{
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    return (f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10) * mag;
}

double plot_next_step(double step)
{
    double mag = pow(10, floor(log10(step) + 1e-9));
    double f = step / mag;
    return (f < 1.5 ? 2 : f < 3.5 ? 5 : 10) * mag;
}

void plot_format_number(char *buf, size_t size, double v)
{
    static const struct { double div; const char *suffix; } unit[] = {
        {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}, {1, ""}
    };
    size_t u = 0;
    if (v == 0)
        v = 0;   /* no "-0" */
    if (!(fabs(v) < 1e15) || (v != 0 && fabs(v) < 1e-3)) {
        snprintf(buf, size, "%.3g", v);   /* beyond what suffixes show */
        return;
    }
    while (u + 1 < sizeof unit / sizeof unit[0] && fabs(v) < unit[u].div)
        u++;
    double q = v / unit[u].div;
    int d = 0;
    while (d < 3 && fabs(q * pow(10, d) - round(q * pow(10, d))) > 1e-6)
        d++;
    snprintf(buf, size, "%.*f%s", d, q, unit[u].suffix);
}

static void fmt_compact(char *buf, double v)
{
    plot_format_number(buf, LABEL_MAX, v);
}

/* Labels of ticks a step apart on a linear scale: decimals enough for the
 * step; compact for large values and %g for tiny ones. */
static void fmt_linear(char *buf, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0;   /* no "-0.0" */
    if (step >= 1000)
        fmt_compact(buf, v);
    else if (step < 1e-4 ||
             snprintf(buf, LABEL_MAX, "%.*f",
                      step < 1 ? (int)ceil(-log10(step) - 1e-9) : 0, v) >= LABEL_MAX)
        snprintf(buf, LABEL_MAX, "%.3g", v);   /* too small or too long */
}

/* Labels of a log axis (values m x 10^k, or a linear step in value). */
static void fmt_log(char *buf, double v)
{
    if (v >= 1e4)
        fmt_compact(buf, v);
    else
        snprintf(buf, LABEL_MAX, "%.3g", v);
}

/* ---- y ticks ----------------------------------------------------------- */

/* Row of the cell that scale position pos falls in, in rows 0..rows-1. */
static int pos_row(double pos, double lo, double hi, int rows)
{
    double d = (hi - pos) / (hi - lo) * (rows * 4 - 1) + 0.5;
    return (d <= 0 ? 0 : d < rows * 4 - 1 ? (int)d : rows * 4 - 1) / 4;
}

/* Whether the ticks are at least two rows apart, so labels never touch. */
static int ticks_fit(const ticks *t, int rows)
{
    for (int i = 1; i < t->n; i++)
        if (abs(pos_row(t->pos[i], t->lo, t->hi, rows) -
                pos_row(t->pos[i - 1], t->lo, t->hi, rows)) < 2)
            return 0;
    return t->n >= 2;
}

/* Ticks step apart covering [a, b]; log_pos places them by log10 (value
 * ticks on a log axis, where those at or below zero are left out).
 * Returns 0 when there would be too many. */
static int linear_ticks(ticks *t, double a, double b, double step, int log_pos)
{
    double k0 = floor(a / step + 1e-9), k1 = ceil(b / step - 1e-9);
    if (!(k1 - k0 + 1 <= MAX_TICKS))   /* also when NaN */
        return 0;
    t->n = 0;
    for (int i = 0; i <= (int)(k1 - k0); i++) {
        double v = (k0 + i) * step;
        if (log_pos && v <= 0)
            continue;
        t->val[t->n] = v;
        t->pos[t->n] = log_pos ? log10(v) : v;
        fmt_linear(t->label[t->n], v, step);
        t->n++;
    }
    if (t->n == 0)
        return 0;
    t->lo = log_pos ? fmin(log10(a), t->pos[0]) : t->pos[0];
    t->hi = t->pos[t->n - 1];
    return 1;
}

/* Ticks at m x 10^k for the mantissas m of set (ascending, starting at 1),
 * snapped outwards from [A, B] (values, A > 0).  Returns 0 when there
 * would be too many, or when snapping would stretch the span more than 2.5
 * times (a flat-looking curve). */
static int set_ticks(ticks *t, double A, double B, const int *set, int nset)
{
    double p = pow(10, floor(log10(A)));
    if (p > A * (1 + 1e-9))
        p /= 10;
    double lo = p;
    for (int i = 0; i < nset; i++)
        if (set[i] * p <= A * (1 + 1e-9))
            lo = set[i] * p;
    t->n = 0;
    for (;; p *= 10) {
        for (int i = 0; i < nset; i++) {
            double v = set[i] * p;
            if (v < lo * (1 - 1e-9))
                continue;
            if (t->n == MAX_TICKS)
                return 0;
            t->val[t->n] = v;
            t->pos[t->n] = log10(v);
            fmt_log(t->label[t->n], v);
            t->n++;
            if (v >= B * (1 - 1e-9)) {
                t->lo = t->pos[0];
                t->hi = t->pos[t->n - 1];
                return t->hi - t->lo <= 2.5 * (log10(B) - log10(A)) + 1e-9;
            }
        }
    }
}

/* Ticks for a linear axis over [a, b] (a < b) and rows: the densest nice
 * step whose labels do not crowd, the axis snapped out to ticks.  Leaves
 * t->n = 0 when none fits. */
static void y_ticks_linear(ticks *t, double a, double b, int rows)
{
    double step = plot_nice_step((b - a) / (rows / 3 > 1 ? rows / 3 : 1));
    for (int tries = 0; tries < 40; tries++, step = plot_next_step(step))
        if (linear_ticks(t, a, b, step, 0) && ticks_fit(t, rows))
            return;
    t->n = 0;
}

/* Ticks for a log axis over [la, lb] (log10 of the values): 1..9 x 10^k,
 * else 1, 2, 5 x 10^k, else every 10^(n step) for a wide range, else
 * linear steps in value for a narrow one. */
static void y_ticks_log(ticks *t, double la, double lb, int rows)
{
    static const int all[] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, some[] = {1, 2, 5};
    double A = pow(10, la), B = pow(10, lb);
    if ((set_ticks(t, A, B, all, 9) && ticks_fit(t, rows)) ||
        (set_ticks(t, A, B, some, 3) && ticks_fit(t, rows)))
        return;
    if (lb - la >= 1) {
        for (double d = 1; d < 1000; d = plot_next_step(d)) {
            double k0 = floor(la / d + 1e-9), k1 = ceil(lb / d - 1e-9);
            if (!(k1 - k0 + 1 <= MAX_TICKS))
                continue;
            t->n = 0;
            for (int i = 0; i <= (int)(k1 - k0); i++) {
                t->val[t->n] = pow(10, (k0 + i) * d);
                t->pos[t->n] = (k0 + i) * d;
                fmt_log(t->label[t->n], t->val[t->n]);
                t->n++;
            }
            t->lo = k0 * d;
            t->hi = k1 * d;
            if (ticks_fit(t, rows))
                return;
        }
    } else {
        double step = plot_nice_step((B - A) / (rows / 3 > 1 ? rows / 3 : 1));
        for (int tries = 0; tries < 40; tries++, step = plot_next_step(step))
            if (linear_ticks(t, A, B, step, 1) && ticks_fit(t, rows))
                return;
    }
    t->n = 0;
}

/* ---- x ticks ----------------------------------------------------------- */

/* Column of the cell that x falls in on canvas c. */
static int x_col(const canvas *c, double x)
{
    return c->col0 + dot_x(c, x) / 2;
}

/* Puts x labels on the bottom row and marks on the axis row: the densest
 * nice step whose labels, centred under their marks, keep a space apart. */
static void draw_x_ticks(plot_grid *g, const canvas *c, int utf8)
{
    ticks t;
    int start[MAX_TICKS];
    double step = plot_nice_step((c->xhi - c->xlo) / (c->cols / 10 > 1 ? c->cols / 10 : 1));
    for (int tries = 0; tries < 40; tries++, step = plot_next_step(step)) {
        double k0 = ceil(c->xlo / step - 1e-9), k1 = floor(c->xhi / step + 1e-9);
        if (!(k1 - k0 + 1 <= MAX_TICKS))
            continue;
        int ok = 1, end = -1;
        t.n = 0;
        for (int i = 0; i <= (int)(k1 - k0) && ok; i++, t.n++) {
            double k = k0 + i;
            t.val[t.n] = k * step;
            fmt_compact(t.label[t.n], fabs(k) < 1e-9 ? 0 : k * step);
            int len = (int)strlen(t.label[t.n]);
            int s = x_col(c, t.val[t.n]) - (len - 1) / 2;
            if (s + len > g->width)
                s = g->width - len;
            start[t.n] = s;
            ok = s > end;
            end = s + len;
        }
        if (!ok)
            continue;
        for (int i = 0; i < t.n; i++) {
            put(g, g->height - 2, x_col(c, t.val[i]), utf8 ? "┬" : "+");
            put_text(g, g->height - 1, start[i], t.label[i]);
        }
        return;
    }
}

/* ---- curves ------------------------------------------------------------ */

static void dot(plot_grid *g, const canvas *c, int x, int y, int color)
{
    int i = (c->row0 + y / 4) * g->width + c->col0 + x / 2;
    g->dots[i] |= braille_bit[y % 4][x % 2];
    g->cells[i].color = color;
}

/* Dots from (x0, y0) to (x1, y1), both ends included (Bresenham). */
static void line(plot_grid *g, const canvas *c, int x0, int y0, int x1, int y1,
                 int color)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        dot(g, c, x0, y0, color);
        if (x0 == x1 && y0 == y1)
            return;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* Draws series s on c.  The points falling in one dot column make one
 * span from their lowest to their highest value, converted to dots once
 * per column (on a log axis, log10 is taken per column, not per point); a
 * NaN ends a stretch of line. */
static void draw_series(plot_grid *g, const canvas *c, const plot_series *s)
{
    int have = 0, col = 0;
    double lo = 0, hi = 0, last = 0;   /* values in the current column */
    for (size_t i = 0; i < s->n; i++) {
        double x = s->x[i], y = s->y[i];
        if (!drawable(x, y, c->log_y, c->xlo)) {
            if (isnan(y) && have) {
                line(g, c, col, dot_y(c, hi), col, dot_y(c, lo), s->color);
                have = 0;
            }
            continue;
        }
        int dx = dot_x(c, x);
        if (have && dx == col) {
            lo = y < lo ? y : lo;
            hi = y > hi ? y : hi;
            last = y;
            continue;
        }
        if (have) {
            line(g, c, col, dot_y(c, hi), col, dot_y(c, lo), s->color);
            line(g, c, col, dot_y(c, last), dx, dot_y(c, y), s->color);
        }
        have = 1;
        col = dx;
        lo = hi = last = y;
    }
    if (have)
        line(g, c, col, dot_y(c, hi), col, dot_y(c, lo), s->color);
}

/* An ASCII character for a cell's dots, by the dot rows in use. */
static char ascii_dots(unsigned char m)
{
    int top = (m & 0x09) != 0, mid = (m & 0x36) != 0, bot = (m & 0xc0) != 0;
    int r1 = (m & 0x12) != 0, r2 = (m & 0x24) != 0;
    if (top && r1 && r2 && bot)
        return '|';
    if (top && bot)
        return ':';
    if (top)
        return '\'';
    if (bot)
        return '.';
    return mid ? '-' : ' ';
}

/* Turns the dots of c's cells into characters. */
static void dots_to_cells(plot_grid *g, const canvas *c, int utf8)
{
    for (int r = c->row0; r < c->row0 + c->rows; r++)
        for (int k = c->col0; k < c->col0 + c->cols; k++) {
            plot_cell *cell = &g->cells[r * g->width + k];
            unsigned char m = g->dots[r * g->width + k];
            if (!m)
                continue;
            if (utf8) {
                cell->ch[0] = (char)0xe2;
                cell->ch[1] = (char)(0xa0 | m >> 6);
                cell->ch[2] = (char)(0x80 | (m & 0x3f));
                cell->ch[3] = 0;
            } else {
                cell->ch[0] = ascii_dots(m);
                cell->ch[1] = 0;
            }
        }
}

/* ---- rendering --------------------------------------------------------- */

/* Ranges of the drawable points: *xlo..*xhi after the window, and
 * *ylo..*yhi on the axis scale.  Returns 0 when there is none. */
static int data_range(const plot_series *s, int n, const plot_options *o,
                      double *xlo, double *xhi, double *ylo, double *yhi)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < n; k++)
            for (size_t i = 0; i < s[k].n; i++) {
                double x = s[k].x[i], y = s[k].y[i];
                if (!drawable(x, y, o->log_y, pass ? x0 : -INFINITY))
                    continue;
                x0 = x < x0 ? x : x0;
                x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0;
                y1 = y > y1 ? y : y1;
            }
        if (x0 > x1)
            return 0;
        /* a second pass for the y range inside the window */
        if (!(o->x_window > 0 && x1 - o->x_window > x0))
            break;
        x0 = x1 - o->x_window;
        y0 = INFINITY;
        y1 = -INFINITY;
    }
    *xlo = x0;
    *xhi = x1;
    *ylo = o->log_y ? log10(y0) : y0;
    *yhi = o->log_y ? log10(y1) : y1;
    return 1;
}

/* Widens a range [*lo, *hi] too flat to label around its value: by 5% of
 * it (1 for zero), or by 0.05 on a log scale (about 12%). */
static void widen(double *lo, double *hi, int log_scale)
{
    if (*hi - *lo > 1e-9 * (log_scale ? 1 : fmax(fabs(*lo), fabs(*hi))))
        return;
    double d = log_scale ? 0.05 : *lo == 0 ? 1 : fabs(*lo) * 0.05;
    *lo -= d;
    *hi += d;
}

/* Draws the y axis with labels in a margin of m cells over rows rows. */
static void draw_y_axis(plot_grid *g, const ticks *t, int m, int rows, int utf8)
{
    for (int r = 0; r < rows; r++)
        put(g, r, m - 1, utf8 ? "│" : "|");
    for (int i = 0; i < t->n; i++) {
        int r = pos_row(t->pos[i], t->lo, t->hi, rows);
        put(g, r, m - 1, utf8 ? "┤" : "+");
        put_text(g, r, m - 1 - (int)strlen(t->label[i]), t->label[i]);
    }
    put(g, rows, m - 1, utf8 ? "└" : "+");
    for (int k = m; k < g->width; k++)
        put(g, rows, k, utf8 ? "─" : "-");
}

static void set_scale(canvas *c)
{
    c->sx = (c->cols * 2 - 1) / (c->xhi - c->xlo);
    c->sy = (c->rows * 4 - 1) / (c->yhi - c->ylo);
}

/* Returns -1 when n is out of range or an argument is missing. */
int plot_render(plot_grid *g, const plot_series *s, int n,
                const plot_options *opt)
{
    static const plot_options defaults = {1, 0, 0};
    if (!g || !g->cells || !g->dots || n < 0 || n > PLOT_MAX_SERIES || (n && !s))
        return -1;
    for (int k = 0; k < n; k++)
        if (s[k].n && (!s[k].x || !s[k].y))
            return -1;
    const plot_options *o = opt ? opt : &defaults;
    int w = g->width, h = g->height;
    for (int i = 0; i < w * h; i++)
        g->cells[i] = (plot_cell){" ", 0};
    memset(g->dots, 0, (size_t)w * h);

    canvas c = {.row0 = 0, .col0 = 0, .rows = h, .cols = w, .log_y = o->log_y};
    if (!data_range(s, n, o, &c.xlo, &c.xhi, &c.ylo, &c.yhi)) {
        int axes = h >= 4 && w >= 10;   /* else the note alone */
        if (axes)
            draw_y_axis(g, &(ticks){.n = 0}, 1, h - 2, o->utf8);
        if (w - axes >= 7)
            put_text(g, axes ? (h - 2) / 2 : h / 2, axes + (w - axes - 7) / 2, "no data");
        return 0;
    }
    widen(&c.xlo, &c.xhi, 0);
    widen(&c.ylo, &c.yhi, o->log_y);

    ticks t = {.n = 0};
    int margin = 0;
    if (h >= 5) {
        if (o->log_y)
            y_ticks_log(&t, c.ylo, c.yhi, h - 2);
        else
            y_ticks_linear(&t, c.ylo, c.yhi, h - 2);
        for (int i = 0; i < t.n; i++)
            if ((int)strlen(t.label[i]) > margin)
                margin = (int)strlen(t.label[i]);
        margin++;
    }
    if (t.n >= 2 && w >= margin + 4) {
        c.col0 = margin;
        c.cols = w - margin;
        c.rows = h - 2;
        c.ylo = t.lo;
        c.yhi = t.hi;
        set_scale(&c);
        draw_y_axis(g, &t, margin, c.rows, o->utf8);
        draw_x_ticks(g, &c, o->utf8);
    } else {
        set_scale(&c);   /* too small for labels: curves only */
    }
    for (int k = 0; k < n; k++)
        draw_series(g, &c, &s[k]);
    dots_to_cells(g, &c, o->utf8);
    return 0;
}
