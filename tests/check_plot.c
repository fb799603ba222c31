/* check_plot.c - unit tests for the plot renderer (plot.c): for given
 * series and sizes, the exact cells drawn.  The expected grids are written
 * out row by row, so they also document what the renderer draws. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixture.h"
#include "ui/plot.h"

/* Row r of g as one UTF-8 string (static buffer). */
static const char *row_text(const plot_grid *g, int r)
{
    static char buf[4096];
    size_t len = 0;
    for (int c = 0; c < g->width; c++) {
        size_t n = strlen(g->cells[r * g->width + c].ch);
        ck_assert_int_ge(n, 1);
        ck_assert_uint_lt(len + n, sizeof buf);
        memcpy(buf + len, g->cells[r * g->width + c].ch, n);
        len += n;
    }
    buf[len] = 0;
    return buf;
}

/* Checks every row of g against want (g->height strings). */
static void expect_grid(const plot_grid *g, const char *const *want)
{
    for (int r = 0; r < g->height; r++)
        ck_assert_msg(strcmp(row_text(g, r), want[r]) == 0,
                      "row %d: got \"%s\", want \"%s\"", r, row_text(g, r), want[r]);
}

/* Renders n series into a fresh width x height grid, which the caller
 * frees. */
static plot_grid render(int width, int height, const plot_series *s, int n,
                        plot_options o)
{
    plot_grid g;
    ck_assert_int_eq(plot_grid_init(&g, width, height), 0);
    ck_assert_int_eq(plot_render(&g, s, n, &o), 0);
    return g;
}

static const plot_options braille = {1, 0, 0};

/* x = 0, 100, ..., 1000 against y = 0, 1, ..., 10. */
static double diag_x[11], diag_y[11];
static plot_series diagonal(void)
{
    for (int i = 0; i < 11; i++) {
        diag_x[i] = i * 100;
        diag_y[i] = i;
    }
    return (plot_series){diag_x, diag_y, 11, 1};
}

/* ---- curves ---- */

START_TEST(test_diagonal_dots)
{
    /* 4 x 2 cells are 8 x 8 dots: the line from the bottom left to the top
     * right sets dots (0,7), (1,6), ... (7,0), two per cell */
    double x[] = {0, 1}, y[] = {0, 1};
    plot_series s = {x, y, 2, 3};
    plot_grid g = render(4, 2, &s, 1, braille);
    expect_grid(&g, (const char *[]){"  ⡠⠊", "⡠⠊  "});
    ck_assert_int_eq(g.cells[0].color, 0);       /* empty cell */
    ck_assert_int_eq(g.cells[2].color, 3);       /* the series' colour */
    ck_assert_int_eq(g.cells[4].color, 3);
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_full_layout)
{
    plot_series s = diagonal();
    plot_grid g = render(40, 12, &s, 1, braille);
    expect_grid(&g, (const char *[]){
        "10┤                                 ⢀⡠⠔⠊",
        "  │                             ⢀⡠⠔⠊⠁   ",
        "  │                          ⣀⠤⠒⠁       ",
        "  │                      ⢀⡠⠔⠊           ",
        "  │                   ⣀⠤⠒⠁              ",
        " 5┤              ⢀⡠⠔⠒⠉                  ",
        "  │           ⡠⠔⠊⠁                      ",
        "  │       ⣀⠤⠒⠉                          ",
        "  │   ⢀⠤⠒⠉                              ",
        " 0┤⡠⠔⠊⠁                                 ",
        "  └┬─────────────────┬─────────────────┬",
        "   0                500               1k",
    });
    /* labels and axes have no colour, curves have theirs */
    ck_assert_int_eq(g.cells[0].color, 0);
    ck_assert_int_eq(g.cells[2].color, 0);
    ck_assert_int_eq(g.cells[39].color, 1);
    ck_assert_int_eq(g.cells[11 * 40 + 3].color, 0);
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_nan_gap)
{
    double x[] = {0, 1, 2, 3, 4, 5, 6};
    double with_gap[] = {0, 1, 0, NAN, 0, 1, 0}, joined[] = {0, 1, 0, 0.5, 0, 1, 0};
    plot_series s = {x, with_gap, 7, 1};
    plot_grid g = render(7, 2, &s, 1, braille);
    expect_grid(&g, (const char *[]){"⢠⢣   ⡜⡄", "⡜⠘⡄ ⢠⠃⢣"});
    plot_grid_free(&g);
    s.y = joined;   /* the same without the gap: cell 3 joins the halves */
    g = render(7, 2, &s, 1, braille);
    expect_grid(&g, (const char *[]){"⢠⢣   ⡜⡄", "⡜⠘⡤⠊⢦⠃⢣"});
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_infinities_ignored)
{
    /* infinite points are left out, their neighbours joined */
    double x[] = {0, 1, 2, 3, 4}, y[] = {1, INFINITY, 3, -INFINITY, 2};
    double xf[] = {0, 2, 4}, yf[] = {1, 3, 2};
    plot_series s = {x, y, 5, 1}, f = {xf, yf, 3, 1};
    plot_grid a = render(30, 8, &s, 1, braille), b = render(30, 8, &f, 1, braille);
    for (int r = 0; r < 8; r++) {
        char want[4096];
        snprintf(want, sizeof want, "%s", row_text(&b, r));
        ck_assert_str_eq(row_text(&a, r), want);
    }
    plot_grid_free(&a);
    plot_grid_free(&b);
    /* a non-finite x is left out too, whatever its y */
    x[1] = NAN;
    y[1] = 5;
    a = render(30, 8, &s, 1, braille);
    b = render(30, 8, &f, 1, braille);
    for (int r = 0; r < 8; r++) {
        char want[4096];
        snprintf(want, sizeof want, "%s", row_text(&b, r));
        ck_assert_str_eq(row_text(&a, r), want);
    }
    plot_grid_free(&a);
    plot_grid_free(&b);
}
END_TEST

START_TEST(test_downsampled_span)
{
    /* 100000 points alternating 0 and 1: every dot column holds both, so
     * every dot from bottom to top is set in every column */
    size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = (double)(i % 2);
    }
    plot_series s = {x, y, n, 2};
    plot_grid g = render(10, 3, &s, 1, braille);
    for (int r = 0; r < 3; r++)
        ck_assert_str_eq(row_text(&g, r), "⣿⣿⣿⣿⣿⣿⣿⣿⣿⣿");
    plot_grid_free(&g);
    free(x);
    free(y);
}
END_TEST

START_TEST(test_two_series_colours)
{
    /* two crossing lines; where both have dots, the later series wins */
    double x[] = {0, 1}, up[] = {0, 1}, down[] = {1, 0};
    plot_series s[2] = {{x, up, 2, 1}, {x, down, 2, 2}};
    plot_grid g = render(4, 2, s, 2, braille);
    expect_grid(&g, (const char *[]){"⠑⢄⡠⠊", "⡠⠊⠑⢄"});
    ck_assert_int_eq(g.cells[0].color, 2);   /* top left: only "down" */
    ck_assert_int_eq(g.cells[3].color, 1);   /* top right: only "up" */
    ck_assert_int_eq(g.cells[4].color, 1);   /* bottom left: only "up" */
    ck_assert_int_eq(g.cells[7].color, 2);
    plot_grid_free(&g);
    /* one row: every cell holds dots of both, and the later one's colour */
    g = render(4, 1, s, 2, braille);
    expect_grid(&g, (const char *[]){"⣉⠶⠶⣉"});
    for (int c = 0; c < 4; c++)
        ck_assert_int_eq(g.cells[c].color, 2);
    s[0].color = 2;
    s[1].color = 1;
    ck_assert_int_eq(plot_render(&g, s, 2, &braille), 0);
    for (int c = 0; c < 4; c++)
        ck_assert_int_eq(g.cells[c].color, 1);
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_extreme_values)
{
    /* ranges at the limits of doubles draw something sane and never
     * write outside the grid */
    static const double cases[][4] = {
        {-1e308, 1e308, -1e308, 1e308}, {0, 1, -1.7e308, 1.7e308},
        {-1.7e308, 1.7e308, 0, 1}, {0, 1, 5e-324, 1e308},
        {0, 1e-300, 1, 1 + 1e-15}, {1e17, 1e17 + 64, 1e-320, 2e-320},
        {0, 1, 1e300, 1e300}, {0, 1, -5e-324, 5e-324},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        for (int log_y = 0; log_y < 2; log_y++) {
            double x[] = {cases[k][0], cases[k][1]}, y[] = {cases[k][2], cases[k][3]};
            plot_series s = {x, y, 2, 1};
            plot_grid g = render(30, 8, &s, 1, (plot_options){1, log_y, 0});
            for (int i = 0; i < 30 * 8; i++)
                ck_assert_int_ge(strlen(g.cells[i].ch), 1);
            plot_grid_free(&g);
        }
    /* labels too long for the margin ("100000000500") fall back to %.3g */
    double x[] = {0, 1}, y[] = {1e11, 1e11 + 500};
    plot_series s = {x, y, 2, 1};
    plot_grid g = render(30, 8, &s, 1, braille);
    ck_assert_str_eq(row_text(&g, 0), "1e+11┤                    ⣀⠤⠒⠉");
    plot_grid_free(&g);
}
END_TEST

/* ---- axes ---- */

START_TEST(test_log_scale)
{
    /* 1 down to 1e-5 over 100 points: ticks every two decades */
    double x[100], y[100];
    for (int i = 0; i < 100; i++) {
        x[i] = i * 10;
        y[i] = pow(10, -i / 20.0);
    }
    plot_series s = {x, y, 100, 1};
    plot_grid g = render(40, 12, &s, 1, (plot_options){1, 1, 0});
    expect_grid(&g, (const char *[]){
        "     1┤⠙⠲⢤⣀                             ",
        "      │   ⠈⠙⠲⢄⣀                         ",
        "      │        ⠉⠒⠤⣀                     ",
        "  0.01┤            ⠉⠒⠤⣀                 ",
        "      │                ⠙⠲⢤⣀             ",
        "      │                   ⠈⠉⠒⠤⣀         ",
        "0.0001┤                        ⠉⠒⠤⣀     ",
        "      │                            ⠉⠒⠤⣀ ",
        "      │                                ⠉",
        " 1e-06┤                                 ",
        "      └┬───────────────┬────────────────",
        "       0              500               ",
    });
    plot_grid_free(&g);
    /* a loss-like curve within a decade: 1, 2, 5 x 10^k */
    for (int i = 0; i < 100; i++)
        y[i] = 4.0 * exp(-i / 20.0) + 1.3;
    g = render(40, 12, &s, 1, (plot_options){1, 1, 0});
    expect_grid(&g, (const char *[]){
        "10┤                                     ",
        "  │                                     ",
        "  │⣀                                    ",
        " 5┤⠈⠒⢄                                  ",
        "  │   ⠙⠢⣄                               ",
        "  │      ⠙⠢⣀⡀                           ",
        " 2┤         ⠉⠒⠤⣄⡀                       ",
        "  │             ⠈⠙⠒⠦⠤⣀⣀⡀                ",
        "  │                    ⠈⠉⠉⠑⠒⠒⠒⠒⠒⠤⠤⠤⠤⠤⠤⠤⠤",
        " 1┤                                     ",
        "  └┬─────────────────┬──────────────────",
        "   0                500                 ",
    });
    plot_grid_free(&g);
    /* zero and negative values are left out on a log axis: the curve now
     * starts below 5, and 1..5 has room for 1, 2, 5 only */
    y[0] = 0;
    y[1] = -3;
    g = render(40, 12, &s, 1, (plot_options){1, 1, 0});
    expect_grid(&g, (const char *[]){
        "5┤⠑⡄                                    ",
        " │ ⠈⠢⡀                                  ",
        " │   ⠈⠲⡀                                ",
        " │     ⠈⠣⢄                              ",
        " │       ⠈⠑⠢⣀                           ",
        "2┤           ⠑⠢⣄⡀                       ",
        " │              ⠈⠒⠦⠤⣀⡀                  ",
        " │                   ⠈⠉⠑⠒⠢⠤⠤⢤⣀⣀⣀⣀⣀      ",
        " │                               ⠈⠉⠉⠉⠉⠉⠉",
        "1┤                                      ",
        " └──────────────────┬───────────────────",
        "                   500                  ",
    });
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_log_narrow)
{
    /* within 3..4 the ticks 3 and 4 do */
    double x[] = {0, 1, 2}, y[] = {3.0, 3.5, 3.2};
    plot_series s = {x, y, 3, 1};
    plot_grid g = render(20, 10, &s, 1, (plot_options){1, 1, 0});
    expect_grid(&g, (const char *[]){
        "4┤                  ",
        " │                  ",
        " │                  ",
        " │        ⢀⢄⡀       ",
        " │      ⢀⠔⠁ ⠈⠑⠤⣀    ",
        " │    ⡠⠔⠁       ⠉⠢⢄⡀",
        " │  ⡠⠊             ⠈",
        "3┤⡠⠊                ",
        " └┬────────────────┬",
        "  0                2",
    });
    plot_grid_free(&g);
    /* narrower: snapping to 3..4 would squash the curve, so the ticks are
     * steps in value (placed logarithmically: 3.0 to 3.1 takes more rows
     * than 3.1 to 3.2) */
    y[1] = 3.1;
    y[2] = 3.2;
    g = render(20, 10, &s, 1, (plot_options){1, 1, 0});
    expect_grid(&g, (const char *[]){
        "3.2┤              ⡠⠊",
        "   │            ⡠⠊  ",
        "   │          ⡠⠊    ",
        "3.1┤        ⡠⠊      ",
        "   │      ⡠⠊        ",
        "   │    ⡠⠊          ",
        "   │  ⡠⠊            ",
        "3.0┤⡠⠊              ",
        "   └┬──────────────┬",
        "    0              2",
    });
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_x_window)
{
    /* 0 .. 10000 with a window of 2000: only x >= 8000 is shown, y scaled
     * to those points */
    double x[101], y[101];
    for (int i = 0; i <= 100; i++) {
        x[i] = i * 100;
        y[i] = i;
    }
    plot_series s = {x, y, 101, 1};
    plot_grid g = render(40, 12, &s, 1, (plot_options){1, 0, 2000});
    expect_grid(&g, (const char *[]){
        "100┤                                ⢀⡠⠒⠉",
        "   │                             ⣀⠔⠊⠁   ",
        "   │                         ⢀⡠⠒⠉       ",
        "   │                      ⣀⠔⠊⠁          ",
        "   │                  ⢀⡠⠒⠉              ",
        " 90┤              ⡠⠔⠒⠉⠁                 ",
        "   │          ⢀⠤⠒⠉                      ",
        "   │       ⡠⠔⠊⠁                         ",
        "   │   ⢀⠤⠒⠉                             ",
        " 80┤⡠⠔⠊⠁                                ",
        "   └┬─────────────────┬────────────────┬",
        "    8k                9k             10k",
    });
    plot_grid_free(&g);
    /* a window wider than the data shows it all */
    g = render(40, 12, &s, 1, (plot_options){1, 0, 1e6});
    ck_assert_str_eq(row_text(&g, 0), "100┤                                ⢀⡠⠔⠋");
    ck_assert_str_eq(row_text(&g, 9), "  0┤⣠⠔⠊⠁                                ");
    ck_assert_str_eq(row_text(&g, 11), "    0                 5k             10k");
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_single_point)
{
    double x[] = {500}, y[] = {2.5};
    plot_series s = {x, y, 1, 1};
    plot_grid g = render(40, 12, &s, 1, braille);
    expect_grid(&g, (const char *[]){
        "2.7┤                                    ",
        "   │                                    ",
        "2.6┤                                    ",
        "   │                                    ",
        "   │                                    ",
        "2.5┤                  ⠁                 ",
        "   │                                    ",
        "2.4┤                                    ",
        "   │                                    ",
        "2.3┤                                    ",
        "   └───┬──────────────┬─────────────┬───",
        "      480            500           520  ",
    });
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_constant)
{
    double x[] = {0, 1, 2, 3, 4}, y[] = {3, 3, 3, 3, 3};
    plot_series s = {x, y, 5, 1};
    plot_grid g = render(40, 12, &s, 1, braille);
    ck_assert_str_eq(row_text(&g, 0), "3.2┤                                    ");
    ck_assert_str_eq(row_text(&g, 5), "3.0┤⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉⠉");
    ck_assert_str_eq(row_text(&g, 9), "2.8┤                                    ");
    plot_grid_free(&g);
    /* all zero: widened by one each way */
    double z[] = {0, 0, 0, 0, 0};
    s.y = z;
    g = render(40, 12, &s, 1, braille);
    ck_assert_str_eq(row_text(&g, 0), " 1┤                                     ");
    ck_assert_str_eq(row_text(&g, 9), "-1┤                                     ");
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_tiny_area)
{
    /* too small for labels: curves only, over the whole area */
    plot_series s = diagonal();
    plot_grid g = render(12, 4, &s, 1, braille);
    expect_grid(&g, (const char *[]){"         ⣀⠤⠊", "      ⢀⠔⠊   ", "   ⣀⠔⠊⠁     ",
                                     "⡠⠔⠊         "});
    plot_grid_free(&g);
    g = render(3, 1, &s, 1, braille);
    expect_grid(&g, (const char *[]){"⣠⠴⠊"});
    plot_grid_free(&g);
    /* a height that has room, but labels would leave no width */
    g = render(5, 8, &s, 1, braille);
    for (int r = 0; r < 8; r++)
        ck_assert(strchr(row_text(&g, r), '1') == NULL);
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_no_data)
{
    plot_grid g = render(20, 6, NULL, 0, braille);
    expect_grid(&g, (const char *[]){
        "│                   ", "│                   ", "│      no data      ",
        "│                   ", "└───────────────────", "                    "});
    plot_grid_free(&g);
    /* series of NaN only, and of non-positive values on a log axis */
    double x[] = {0, 1}, nan[] = {NAN, NAN}, neg[] = {0, -1};
    plot_series s[2] = {{x, nan, 2, 1}, {x, neg, 2, 2}};
    g = render(20, 6, s, 2, (plot_options){1, 1, 0});
    ck_assert_str_eq(row_text(&g, 2), "│      no data      ");
    plot_grid_free(&g);
    g = render(8, 1, s, 1, braille);   /* no room for axes */
    expect_grid(&g, (const char *[]){"no data "});
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_ascii)
{
    double x[11], y[11];
    for (int i = 0; i < 11; i++) {
        x[i] = i * 100;
        y[i] = i == 5 ? NAN : 4.0 - i * 0.3;
    }
    plot_series s = {x, y, 11, 1};
    plot_grid g = render(40, 12, &s, 1, (plot_options){0, 0, 0});
    expect_grid(&g, (const char *[]){
        "4+'-..                                  ",
        " |   ''-..                              ",
        " |       '--.                           ",
        "3+           '--.                       ",
        " |               '                      ",
        " |                      .               ",
        "2+                       '--.           ",
        " |                           '--.       ",
        " |                              ''-..   ",
        "1+                                  ''-.",
        " ++------------------+-----------------+",
        "  0                 500               1k",
    });
    plot_grid_free(&g);
    /* a steep line is a vertical bar; the dots' rows pick the character */
    double vx[] = {0, 1, 1, 2}, vy[] = {0, 0, 1, 1};
    s = (plot_series){vx, vy, 4, 1};
    g = render(3, 2, &s, 1, (plot_options){0, 0, 0});
    expect_grid(&g, (const char *[]){" |'", ".| "});
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_format_number)
{
    static const struct { double v; const char *s; } cases[] = {
        {0, "0"}, {-0.0, "0"}, {7, "7"}, {950, "950"}, {2.5, "2.5"}, {0.125, "0.125"},
        {1000, "1k"}, {1200, "1.2k"}, {10500, "10.5k"}, {15000, "15k"},
        {999000, "999k"}, {1500000, "1.5M"}, {2e9, "2G"}, {-1200, "-1.2k"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[16];
        plot_format_number(buf, sizeof buf, cases[i].v);
        ck_assert_str_eq(buf, cases[i].s);
    }
    /* large steps on the x axis */
    double x[] = {0, 1500000}, y[] = {0, 1};
    plot_series s = {x, y, 2, 1};
    plot_grid g = render(40, 8, &s, 1, braille);
    ck_assert_str_eq(row_text(&g, 7), "    0          500k        1M       1.5M");
    plot_grid_free(&g);
}
END_TEST

START_TEST(test_bad_arguments)
{
    plot_grid g;
    ck_assert_int_eq(plot_grid_init(&g, 0, 5), -1);
    ck_assert_int_eq(plot_grid_init(&g, 5, -1), -1);
    ck_assert_int_eq(plot_grid_init(&g, 1 << 20, 1 << 20), -1);
    ck_assert_int_eq(plot_grid_init(&g, 10, 5), 0);
    plot_series s[PLOT_MAX_SERIES + 1];
    memset(s, 0, sizeof s);
    ck_assert_int_eq(plot_render(&g, s, -1, &braille), -1);
    ck_assert_int_eq(plot_render(&g, s, PLOT_MAX_SERIES + 1, &braille), -1);
    ck_assert_int_eq(plot_render(&g, NULL, 1, &braille), -1);
    s[0].n = 3;   /* points but no arrays */
    ck_assert_int_eq(plot_render(&g, s, 1, &braille), -1);
    s[0].n = 0;
    ck_assert_int_eq(plot_render(&g, s, PLOT_MAX_SERIES, NULL), 0);
    plot_grid_free(&g);
    plot_grid_free(&g);   /* twice is harmless */
}
END_TEST

/* ---- speed ---- */

START_TEST(test_speed)
{
    /* the TUI redraws a 200 x 60 plot of two 100k-point series up to 30
     * times a second: one frame must take well under 1/30 s */
    size_t n = 100000;
    double *x = malloc(n * sizeof *x), *y = malloc(2 * n * sizeof *y);
    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(y);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        y[i] = 4 * exp(-(double)i / 20000) + 1.3 + 0.2 * sin(i * 0.7);
        y[n + i] = 4 * exp(-(double)i / 25000) + 1.5;
    }
    plot_series s[2] = {{x, y, n, 1}, {x, y + n, n, 2}};
    plot_grid g;
    ck_assert_int_eq(plot_grid_init(&g, 200, 60), 0);
    int frames = 30;
    clock_t t0 = clock();
    for (int i = 0; i < frames; i++)
        ck_assert_int_eq(plot_render(&g, s, 2, &(plot_options){1, i % 2, 0}), 0);
    double ms = (double)(clock() - t0) * 1000 / CLOCKS_PER_SEC / frames;
    printf("plot: 200x60 cells, 2 x %zu points: %.2f ms CPU per frame\n", n, ms);
    ck_assert_msg(ms < 1000.0 / 30, "%.1f ms per frame", ms);
    plot_grid_free(&g);
    free(x);
    free(y);
}
END_TEST

static Suite *plot_suite(void)
{
    Suite *s = suite_create("plot");
    TCase *tc = tcase_create("curves");
    tcase_add_test(tc, test_diagonal_dots);
    tcase_add_test(tc, test_full_layout);
    tcase_add_test(tc, test_nan_gap);
    tcase_add_test(tc, test_infinities_ignored);
    tcase_add_test(tc, test_downsampled_span);
    tcase_add_test(tc, test_two_series_colours);
    tcase_add_test(tc, test_extreme_values);
    suite_add_tcase(s, tc);

    TCase *ta = tcase_create("axes");
    tcase_add_test(ta, test_log_scale);
    tcase_add_test(ta, test_log_narrow);
    tcase_add_test(ta, test_x_window);
    tcase_add_test(ta, test_single_point);
    tcase_add_test(ta, test_constant);
    tcase_add_test(ta, test_tiny_area);
    tcase_add_test(ta, test_no_data);
    tcase_add_test(ta, test_ascii);
    tcase_add_test(ta, test_format_number);
    tcase_add_test(ta, test_bad_arguments);
    suite_add_tcase(s, ta);

    TCase *tt = tcase_create("speed");
    tcase_set_timeout(tt, 60);
    tcase_add_test(tt, test_speed);
    suite_add_tcase(s, tt);
    return s;
}

int main(void)
{
    return fx_run_suite(plot_suite());
}
