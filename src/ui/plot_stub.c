/* plot_stub.c - TEMPORARY stand-in for plot.c (being written separately)
 * so the TUI builds and runs: ASCII dots, no labels.  Deleted when the
 * real plot.c lands. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

int plot_grid_init(plot_grid *g, int width, int height)
{
    if (width <= 0 || height <= 0)
        return -1;
    g->cells = calloc((size_t)width * (size_t)height, sizeof *g->cells);
    if (!g->cells)
        return -1;
    g->width = width;
    g->height = height;
    return 0;
}

void plot_grid_free(plot_grid *g)
{
    free(g->cells);
    g->cells = NULL;
}

int plot_render(plot_grid *g, const plot_series *s, int n,
                const plot_options *opt)
{
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    if (n < 0 || n > PLOT_MAX_SERIES)
        return -1;
    for (int i = 0; i < g->width * g->height; i++) {
        strcpy(g->cells[i].ch, " ");
        g->cells[i].color = 0;
    }
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i]))
                continue;
            x0 = fmin(x0, s[k].x[i]);
            x1 = fmax(x1, s[k].x[i]);
            y0 = fmin(y0, s[k].y[i]);
            y1 = fmax(y1, s[k].y[i]);
        }
    if (opt->x_window > 0 && x1 - opt->x_window > x0)
        x0 = x1 - opt->x_window;
    if (!isfinite(x0))
        return 0;
    for (int k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            if (!isfinite(s[k].y[i]) || s[k].x[i] < x0)
                continue;
            int c = x1 > x0 ? (int)((s[k].x[i] - x0) / (x1 - x0) * (g->width - 1)) : 0;
            int r = y1 > y0 ? (int)((y1 - s[k].y[i]) / (y1 - y0) * (g->height - 1)) : 0;
            strcpy(g->cells[r * g->width + c].ch, "*");
            g->cells[r * g->width + c].color = s[k].color;
        }
    return 0;
}
