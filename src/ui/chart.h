/* chart.h - line charts written to PNG or SVG files with cairo (the
 * pictures of `rnnlab plot` and `rnnlab compare --plot`): axes with round
 * ticks, a grid, a legend, an optional title and a logarithmic y axis.  A
 * build without cairo has the same interface, answering that it lacks it
 * (chart_none.c). */
#ifndef CHART_H
#define CHART_H
#include <stddef.h>

/* Series beyond this many share colours. */
#define CHART_COLORS 10

typedef struct chart_line {
    const char *name;        /* its legend entry */
    const double *x, *y;     /* n points, x ascending; a NaN y breaks the
                              * line, a non-finite x or an infinite y is
                              * left out (a y <= 0 too on a log axis) */
    size_t n;
    int color;               /* palette index, 0 .. CHART_COLORS-1 */
    int bold;                /* a thick line with a dot at each point (the
                              * validations); else thin (the steps) */
} chart_line;

typedef struct chart_options {
    int width, height;       /* pixels (SVG: points); 0: 800 x 500 */
    int log_y;               /* logarithmic y axis */
    const char *title;       /* NULL: none */
    const char *x_label, *y_label;   /* NULL: none */
} chart_options;

enum { CHART_PNG, CHART_SVG };

/* Whether this build draws charts (it was built with cairo). */
int chart_available(void);
/* The format path's name asks for: CHART_PNG for .png, CHART_SVG for
 * .svg (any case), else -1 (always, in a build without cairo). */
int chart_format(const char *path);
/* Draws the n lines into a new file at path, in the format its name asks
 * for; the file is written beside it and renamed into place, so a failure
 * leaves what was there.  Returns 0, or -1 with a one-line message in err
 * naming path and the problem (no cairo in this build, a format not known,
 * no point to draw, a file that cannot be written). */
int chart_write(const char *path, const chart_line *lines, int n,
                const chart_options *opt, char *err, size_t errlen);

#endif
