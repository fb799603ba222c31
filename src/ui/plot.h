/* plot.h - line plots of training curves drawn into a grid of terminal
 * cells, without curses: the TUI copies the cells to the screen and tests
 * compare them exactly.  With UTF-8, each cell is a braille character
 * (U+2800 block: 2x4 dots per cell); without, an ASCII fallback.  Axes are
 * scaled automatically and labelled with round tick values. */
#ifndef PLOT_H
#define PLOT_H
#include <stddef.h>

#define PLOT_MAX_SERIES 4

typedef struct plot_series {
    const double *x, *y;     /* n points, x ascending; NaN y is a gap */
    size_t n;
    int color;               /* passed through to the cells (0: default) */
} plot_series;

typedef struct plot_options {
    int utf8;                /* braille dots; 0: ASCII fallback */
    int log_y;               /* logarithmic y axis (values <= 0 skipped) */
    double x_window;         /* > 0: show only the last x_window of x */
} plot_options;

typedef struct plot_cell {
    char ch[5];              /* UTF-8, NUL-terminated; " " when empty */
    int color;               /* series colour of the cell (last drawn wins); 0 for
                              * axes, labels and empty cells */
} plot_cell;

typedef struct plot_grid {
    int width, height;       /* in cells, the whole area including labels */
    plot_cell *cells;        /* [height][width], row 0 at the top */
    unsigned char *dots;     /* [height][width] braille dot bits: scratch
                              * space of plot_render, so it needs no
                              * allocation per frame */
} plot_grid;

/* Allocates a grid of width x height blank cells.  Returns -1 when the
 * size is not positive or memory runs out. */
int plot_grid_init(plot_grid *g, int width, int height);
void plot_grid_free(plot_grid *g);

/* Renders n series (n <= PLOT_MAX_SERIES) into g: y tick labels in a left
 * margin, x tick labels on the bottom row, an axis line, and the curves
 * (consecutive points joined by straight lines in dot resolution).  An
 * area too small for labels draws the curves only; with no finite point it
 * draws the axes and a "no data" note.  A NaN y breaks the line; points
 * with an infinite y or a non-finite x are left out (their neighbours
 * joined).  opt NULL means braille, linear, no window.  Returns 0, or -1
 * when n is out of range, g is not initialised, or a series with points
 * lacks its arrays. */
int plot_render(plot_grid *g, const plot_series *s, int n,
                const plot_options *opt);

/* Formats v compactly in at most size bytes, with the fewest decimals (at
 * most 3) that show it and a k, M, G or T suffix from 1000 on: 950, 1.2k,
 * 15k, 1.5M (the x labels; also for step counts elsewhere). */
void plot_format_number(char *buf, size_t size, double v);

/* Tick steps: the smallest 1, 2 or 5 x 10^k not below raw (> 0), and the
 * nice step after step (1 -> 2 -> 5 -> 10); also for src/ui/chart.c. */
double plot_nice_step(double raw);
double plot_next_step(double step);

#endif
