/* tui.c - the full-screen interface.  One thread (this one) owns curses
 * and readline; it polls stdin, the engine's wake-up descriptor and the
 * signal descriptor, turns engine events into plot points and pane text,
 * and redraws at most ten times a second while events flow (keystrokes
 * are echoed at once).  The layout, top to bottom:
 *
 *   status line      state, step, epoch, tok/s, lr, |g|, time, model
 *   plot | read-out  train and validation loss; latest figures
 *   sample | messages
 *   command line     readline
 */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readline/readline.h>

#include "ui/plot.h"
#include "ui/textpane.h"
#include "ui/tui.h"
#include "ui/tui_line.h"
#include "util/clock.h"
#include "util/buf.h"

/* Colour pairs (and textpane styles, which map onto them). */
enum {
    PAIR_TRAIN = 1, PAIR_VAL, PAIR_BAR, PAIR_ERR, PAIR_DIM, PAIR_PRIME,
    PAIR_BEST,
    PAIR_P0, PAIR_P1, PAIR_P2, PAIR_P3     /* probability classes, low..high */
};
enum {
    STYLE_PLAIN = 0, STYLE_PRIME, STYLE_ERR, STYLE_DIM, STYLE_HEAD,
    STYLE_P0, STYLE_P1, STYLE_P2, STYLE_P3
};

#define FRAME_S 0.1           /* redraw interval while events flow */
#define MAX_HELP 64

/* A curve.  Long runs are thinned so that drawing stays cheap: past
 * SERIES_MAX points, neighbours are averaged in pairs, and later points
 * are averaged in groups of `stride` before they are added. */
#define SERIES_MAX 8192
typedef struct series {
    double *x, *y;
    size_t n, cap;
    long stride;              /* points per plotted point (1, 2, 4, ...) */
    double acc_x, acc_y;      /* the group being averaged */
    long acc_n;
} series;

typedef struct rect { int y, x, h, w; } rect;

typedef struct tui {
    cmd_env *env;
    int sigfd;
    int utf8, colour;
    int quit;
    int hung_up;              /* the terminal was closed: quit, then save */
    long quit_after;          /* quit when this DONE (a save) arrives */
    textpane *samples, *messages;
    series train, val;
    train_info last;          /* the latest step */
    eval_result last_val;
    int has_step, has_val;
    int log_y, window, prob_colours;
    int in_sample;
    long n_samples;
    int dirty;                /* something to redraw */
    double last_draw;
    /* a question replacing the command line */
    const char *question;
    /* the help overlay */
    char *help[MAX_HELP];
    int n_help, show_help;
    int capture_help;
    rect plot, readout, spane, mpane, status;
    int cmd_row;
} tui;

/* ------------------------------------------------------------------ */
/* Data */

static void series_push(series *s, double x, double y)
{
    size_t cap_x = s->cap;    /* x and y share s->cap: set once both grew */
    if (GROW_ARRAY(&s->x, &cap_x, s->n + 1, 1024) < 0 ||
        GROW_ARRAY(&s->y, &s->cap, s->n + 1, 1024) < 0)
        return;
    s->x[s->n] = x;
    s->y[s->n++] = y;
}

static void series_add(series *s, double x, double y)
{
    if (s->stride < 1)
        s->stride = 1;
    s->acc_x += x;
    s->acc_y += y;
    if (++s->acc_n < s->stride)
        return;
    series_push(s, s->acc_x / (double)s->acc_n, s->acc_y / (double)s->acc_n);
    s->acc_x = s->acc_y = 0;
    s->acc_n = 0;
    if (s->n >= SERIES_MAX) {            /* halve the resolution */
        size_t k = 0;
        for (size_t i = 0; i + 1 < s->n; i += 2, k++) {
            s->x[k] = 0.5 * (s->x[i] + s->x[i + 1]);
            s->y[k] = 0.5 * (s->y[i] + s->y[i + 1]);
        }
        s->n = k;
        s->stride *= 2;
    }
}

static void series_clear(series *s)
{
    s->n = 0;
    s->stride = 1;
    s->acc_x = s->acc_y = 0;
    s->acc_n = 0;
}

static void series_free(series *s)
{
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

static void message(tui *t, int style, const char *text)
{
    textpane_append(t->messages, text, strlen(text), style);
    textpane_append(t->messages, "\n", 1, style);
    t->dirty = 1;
}

static void print_cb(void *ctx, cmd_stream s, const char *line)
{
    tui *t = ctx;
    if (t->capture_help && s == CMD_OUT && t->n_help < MAX_HELP) {
        t->help[t->n_help++] = strdup(line);
        return;
    }
    message(t, s == CMD_ERR ? STYLE_ERR : STYLE_PLAIN, line);
}

/* The probability class of a sampled token. */
static int prob_style(float p)
{
    if (p < 0.1f) return STYLE_P0;
    if (p < 0.3f) return STYLE_P1;
    if (p < 0.6f) return STYLE_P2;
    return STYLE_P3;
}

static void on_reset(tui *t, const eng_event *ev)
{
    series_clear(&t->train);
    series_clear(&t->val);
    t->has_step = t->has_val = 0;
    for (size_t i = 0; i < ev->n_hist; i++) {
        series_add(&t->train, (double)ev->hist[i].step, ev->hist[i].loss);
        if (isfinite(ev->hist[i].val_loss))
            series_add(&t->val, (double)ev->hist[i].step, ev->hist[i].val_loss);
    }
}

static void sample_begin(tui *t, const eng_event *ev)
{
    char head[256];
    /* a blank line before each sample but the first, none after the last,
     * so a short pane shows the newest text */
    if (t->n_samples++ > 0 || t->in_sample)
        textpane_append(t->samples, "\n", 1, STYLE_PLAIN);
    snprintf(head, sizeof head, "%s step %ld %s %s %s\n",
             t->utf8 ? "\u2500\u2500" : "--", ev->step, t->utf8 ? "\u00b7" : "-",
             ev->text2 ? ev->text2 : "", t->utf8 ? "\u2500\u2500" : "--");
    textpane_append(t->samples, head, strlen(head), STYLE_HEAD);
    if (ev->text && ev->len)
        textpane_append(t->samples, ev->text, ev->len, STYLE_PRIME);
    t->in_sample = 1;
}

static void handle_event(tui *t, const eng_event *ev)
{
    char line[4800];
    switch (ev->type) {
    case ENG_EV_STEP:
        t->last = ev->info;
        t->has_step = 1;
        series_add(&t->train, (double)ev->info.step, ev->info.loss);
        break;
    case ENG_EV_EVAL:
        if (ev->split == SPLIT_VAL) {
            t->last_val = ev->eval;
            t->has_val = 1;
            series_add(&t->val, (double)ev->step, ev->eval.loss);
        }
        /* periodic validations are in the plot and the read-out; only
         * the asked-for ones and the end of a run get a message */
        if (!ev->periodic) {
            cmd_event_line(ev, line, sizeof line);
            message(t, STYLE_DIM, line);
        }
        break;
    case ENG_EV_RESET: on_reset(t, ev); break;
    case ENG_EV_SAMPLE_BEGIN: sample_begin(t, ev); break;
    case ENG_EV_SAMPLE_TOKEN:
        textpane_append(t->samples, ev->text, ev->len,
                        t->prob_colours ? prob_style(ev->prob) : STYLE_PLAIN);
        break;
    case ENG_EV_SAMPLE_END:
        textpane_append(t->samples, "\n", 1, STYLE_PLAIN);
        t->in_sample = 0;
        break;
    case ENG_EV_DONE:
        if (ev->id == t->quit_after) {
            t->quit_after = 0;
            t->quit = ev->status == 0;
        }
        break;
    default:
        if (cmd_event_line(ev, line, sizeof line))
            message(t, ev->type == ENG_EV_ERROR ? STYLE_ERR : STYLE_PLAIN, line);
    }
    t->dirty = 1;
}

static void drain_events(tui *t)
{
    eng_event *ev;
    eng_drain_fd(t->env->e);
    while ((ev = eng_next(t->env->e)) != NULL) {
        handle_event(t, ev);
        eng_event_free(ev);
    }
}

/* ------------------------------------------------------------------ */
/* Layout */

static void layout(tui *t)
{
    int H = LINES, W = COLS, avail = H - 2, ph, panes_y, panes_h;
    t->status = (rect){0, 0, 1, W};
    t->cmd_row = H - 1;
    ph = avail >= 12 ? avail * 2 / 5 : 0;
    if (ph > 0 && ph < 5)
        ph = 5;
    int ro = W >= 64 && ph > 0 ? 24 : 0;
    t->plot = (rect){1, 0, ph, W - ro};
    t->readout = (rect){1, W - ro, ph, ro};
    panes_y = 1 + ph;
    panes_h = avail - ph;
    if (panes_h < 0)
        panes_h = 0;
    if (W >= 100) {
        int sw = W * 3 / 5;
        t->spane = (rect){panes_y, 0, panes_h, sw};
        t->mpane = (rect){panes_y, sw + 1, panes_h, W - sw - 1};
    } else {
        int sh = panes_h * 11 / 20;
        t->spane = (rect){panes_y, 0, sh, W};
        t->mpane = (rect){panes_y + sh, 0, panes_h - sh, W};
    }
    tline_place(t->cmd_row, W);
}

/* ------------------------------------------------------------------ */
/* Drawing */

static attr_t style_attr(const tui *t, int style)
{
    static const short pairs[] = {0, PAIR_PRIME, PAIR_ERR, PAIR_DIM, PAIR_DIM,
                                  PAIR_P0, PAIR_P1, PAIR_P2, PAIR_P3};
    attr_t a = 0;
    if (style == STYLE_PRIME)
        a |= A_BOLD | A_UNDERLINE;
    if (style == STYLE_ERR || style == STYLE_HEAD)
        a |= A_BOLD;
    if (style == STYLE_DIM && !t->colour)
        a |= A_DIM;
    if (t->colour && style > 0 && style < (int)(sizeof pairs / sizeof pairs[0]))
        a |= COLOR_PAIR(pairs[style]);
    return a;
}

typedef struct pane_ctx { tui *t; rect r; } pane_ctx;

static void pane_line(void *ctx, int row, const textpane_run *runs, int n)
{
    pane_ctx *p = ctx;
    move(p->r.y + row, p->r.x);
    for (int i = 0; i < n; i++) {
        attr_t a = style_attr(p->t, runs[i].style);
        attron(a);
        addnstr(runs[i].text, (int)runs[i].len);
        attroff(a);
    }
}

/* A pane: a title row, then the text. */
static void draw_pane(tui *t, textpane *tp, rect r, const char *title)
{
    if (r.h <= 0 || r.w <= 2)
        return;
    attron(style_attr(t, STYLE_DIM) | A_BOLD);
    mvhline(r.y, r.x, t->utf8 ? 0 : '-', r.w);
    mvaddnstr(r.y, r.x + 1, title, r.w - 2);
    attroff(style_attr(t, STYLE_DIM) | A_BOLD);
    if (r.h > 1) {
        pane_ctx c = {t, {r.y + 1, r.x, r.h - 1, r.w}};
        textpane_lines(tp, r.w, r.h - 1, t->utf8, pane_line, &c);
    }
    if (textpane_offset(tp) > 0) {
        char more[32];
        snprintf(more, sizeof more, " +%d ", textpane_offset(tp));
        mvaddstr(r.y, r.x + r.w - (int)strlen(more) - 1, more);
    }
}

static void draw_plot(tui *t)
{
    plot_grid g;
    plot_series s[3];
    plot_options o = {t->utf8, t->log_y, t->window};
    rect r = t->plot;
    eng_status st;
    /* the best validation, drawn last as a point of its own */
    double bx, by;
    int n = 2;
    if (r.h <= 0 || r.w <= 4 || plot_grid_init(&g, r.w, r.h) != 0)
        return;
    eng_snapshot(t->env->e, &st);
    s[0] = (plot_series){t->train.x, t->train.y, t->train.n, PAIR_TRAIN};
    s[1] = (plot_series){t->val.x, t->val.y, t->val.n, PAIR_VAL};
    if (st.best_step >= 0 && isfinite(st.best_val_loss) && t->val.n > 0) {
        bx = (double)st.best_step;
        by = st.best_val_loss;
        s[n++] = (plot_series){&bx, &by, 1, PAIR_BEST};
    }
    plot_render(&g, s, n, &o);
    for (int y = 0; y < r.h; y++)
        for (int x = 0; x < r.w; x++) {
            const plot_cell *c = &g.cells[y * r.w + x];
            attr_t a = t->colour && c->color ? COLOR_PAIR(c->color) : 0;
            if (c->ch[0] == ' ' && c->ch[1] == '\0')
                continue;
            attron(a);
            mvaddstr(r.y + y, r.x + x, c->ch);
            attroff(a);
        }
    plot_grid_free(&g);
}

static void readout_row(tui *t, int *row, int pair, const char *label,
                        const char *fmt, double v)
{
    char buf[64];
    rect r = t->readout;
    (void)pair;
    if (*row >= r.y + r.h)
        return;
    if (isfinite(v))
        snprintf(buf, sizeof buf, fmt, v);
    else
        snprintf(buf, sizeof buf, "-");
    mvaddnstr(*row, r.x + 1, label, r.w - 1);
    mvaddnstr(*row, r.x + 12, buf, r.w - 12);
    (*row)++;
}

/* Bits per token (character) and per byte of the text on one row:
 * "bpc/bpb  1.930/1.930"; tpb is the split's tokens per byte. */
static void readout_bits(tui *t, int *row, double loss, double tpb)
{
    char buf[48];
    rect r = t->readout;
    if (*row >= r.y + r.h)
        return;
    if (isfinite(loss) && isfinite(tpb))
        snprintf(buf, sizeof buf, "%.3f/%.3f", loss / M_LN2, loss / M_LN2 * tpb);
    else if (isfinite(loss))
        snprintf(buf, sizeof buf, "%.3f/-", loss / M_LN2);
    else
        snprintf(buf, sizeof buf, "-");
    mvaddnstr(*row, r.x + 1, "  bpc/bpb", r.w - 1);
    mvaddnstr(*row, r.x + 12, buf, r.w - 12);
    (*row)++;
}

static void readout_head(tui *t, int *row, int pair, const char *label)
{
    rect r = t->readout;
    if (*row >= r.y + r.h)
        return;
    attron(A_BOLD | (t->colour ? COLOR_PAIR(pair) : 0));
    mvaddnstr((*row)++, r.x + 1, label, r.w - 1);
    attroff(A_BOLD | (t->colour ? COLOR_PAIR(pair) : 0));
}

/* The best validation so far and its step, in the best point's colour. */
static void draw_best(tui *t, int *row)
{
    eng_status st;
    char buf[48];
    rect r = t->readout;
    eng_snapshot(t->env->e, &st);
    if (st.best_step < 0 || !isfinite(st.best_val_loss) || *row >= r.y + r.h)
        return;
    snprintf(buf, sizeof buf, "%.4f @%ld", st.best_val_loss, st.best_step);
    attron(t->colour ? COLOR_PAIR(PAIR_BEST) : 0);
    mvaddnstr(*row, r.x + 1, "  best", r.w - 1);
    mvaddnstr(*row, r.x + 12, buf, r.w - 12);
    attroff(t->colour ? COLOR_PAIR(PAIR_BEST) : 0);
    (*row)++;
}

static void draw_readout(tui *t)
{
    rect r = t->readout;
    int row = r.y;
    double nan = NAN, l = t->has_step ? t->last.loss : nan;
    double v = t->has_val ? t->last_val.loss : nan;
    const char *bar = t->utf8 ? "\u2501\u2501 " : "== ";
    char label[32];
    eng_status st;
    if (r.w <= 0 || r.h <= 0)
        return;
    eng_snapshot(t->env->e, &st);
    snprintf(label, sizeof label, "%strain", bar);
    readout_head(t, &row, PAIR_TRAIN, label);
    readout_row(t, &row, 0, "  loss", "%.4f", l);
    readout_row(t, &row, 0, "  ppl", "%.2f", exp(l));
    readout_bits(t, &row, l, st.tpb_train);
    readout_row(t, &row, 0, "  acc", "%.3f", t->has_step ? t->last.acc : nan);
    snprintf(label, sizeof label, "%sval", bar);
    readout_head(t, &row, PAIR_VAL, label);
    readout_row(t, &row, 0, "  loss", "%.4f", v);
    readout_row(t, &row, 0, "  ppl", "%.2f", exp(v));
    readout_bits(t, &row, v, st.tpb_val);
    draw_best(t, &row);
    row++;
    if (row < r.y + r.h) {
        char opts[64];
        snprintf(opts, sizeof opts, "%s%s", t->log_y ? "log " : "",
                 t->window ? "window" : "");
        mvaddnstr(row, r.x + 1, opts, r.w - 1);
    }
}

static void fmt_time(double s, char *buf, size_t len)
{
    long n = (long)s;
    snprintf(buf, len, "%ld:%02ld:%02ld", n / 3600, n / 60 % 60, n % 60);
}

/* A count in three significant figures: 950, 29.8k, 3.3M. */
static void fmt_count(double v, char *buf, size_t len)
{
    if (v >= 1e6)
        snprintf(buf, len, "%.3gM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, len, "%.3gk", v / 1e3);
    else
        snprintf(buf, len, "%.0f", v);
}

/* The status line: what is going on at the left; the device, the model
 * and the unsaved marker at the right, shortened to fit. */
static void draw_status(tui *t, const eng_status *s)
{
    char left[512], right[4][256], el[32], step[64], ep[48] = "", tps[32];
    char params[32];
    const model_config *m = &s->cfg.train.model;
    const char *mark = s->dirty ? "[unsaved]  " : "";
    int ll, rl = 0, pick = 3;
    fmt_time(s->elapsed, el, sizeof el);
    fmt_count(s->tokens_per_s, tps, sizeof tps);
    fmt_count((double)s->n_params, params, sizeof params);
    if (s->goal_step >= 0)
        snprintf(step, sizeof step, "%ld/%ld", s->step, s->goal_step);
    else
        snprintf(step, sizeof step, "%ld", s->step);
    if (s->loaded && s->trainable)
        snprintf(ep, sizeof ep, "  epoch %ld %.0f%%", (long)floor(s->epoch),
                 100 * (s->epoch - floor(s->epoch)));
    char serving[32] = "";
    if (t->env->serving)
        snprintf(serving, sizeof serving, "  serving :%d", t->env->serving_port);
    snprintf(left, sizeof left, " %s  step %s%s  %s tok/s  lr %.1e  |g| %.2f"
             "  %s%s", eng_state_name(s->state), step, ep, tps, (double)s->lr,
             isfinite(s->grad_norm) ? (double)s->grad_norm : 0.0, el, serving);
    char vocab[48] = "", voc[32] = "";
    if (s->loaded) {
        snprintf(vocab, sizeof vocab, ", %s vocabulary %u", s->tokens, s->vocab);
        snprintf(voc, sizeof voc, " %s %u", s->tokens, s->vocab);
    }
    snprintf(right[0], sizeof right[0], "%s%s  %s %dx%d, %s params%s ", mark,
             s->cfg.device, model_cell_name(m->cell), m->layers, m->hidden,
             params, vocab);
    snprintf(right[1], sizeof right[1], "%s%s %dx%d %s%s ", mark,
             model_cell_name(m->cell), m->layers, m->hidden, params, voc);
    snprintf(right[2], sizeof right[2], "%s%s %dx%d ", mark,
             model_cell_name(m->cell), m->layers, m->hidden);
    snprintf(right[3], sizeof right[3], "%s", s->dirty ? "[unsaved] " : "");
    ll = (int)strlen(left);
    for (int i = 0; i < 4; i++) {
        rl = (int)strlen(right[i]);
        if (ll + 2 + rl <= COLS) {
            pick = i;
            break;
        }
    }
    rl = (int)strlen(right[pick]);
    attron(A_REVERSE | (t->colour ? COLOR_PAIR(PAIR_BAR) : 0));
    mvhline(0, 0, ' ', COLS);
    mvaddnstr(0, 0, left, COLS);
    if (ll + 2 + rl <= COLS)
        mvaddstr(0, COLS - rl, right[pick]);
    else if (rl > 0 && rl < COLS)
        mvaddstr(0, COLS - rl, right[pick]);   /* the marker wins */
    attroff(A_REVERSE | (t->colour ? COLOR_PAIR(PAIR_BAR) : 0));
}

static void draw_help(tui *t)
{
    int w = 0, h = t->n_help + 3, y0, x0;
    for (int i = 0; i < t->n_help; i++)
        if ((int)strlen(t->help[i]) > w)
            w = (int)strlen(t->help[i]);
    w += 4;
    if (w > COLS)
        w = COLS;
    if (h > LINES - 1)
        h = LINES - 1;
    y0 = (LINES - 1 - h) / 2;
    x0 = (COLS - w) / 2;
    for (int y = 0; y < h; y++) {
        move(y0 + y, x0);
        for (int x = 0; x < w; x++)
            addch(' ');
    }
    attron(A_BOLD);
    mvhline(y0, x0, t->utf8 ? 0 : '-', w);
    mvhline(y0 + h - 1, x0, t->utf8 ? 0 : '-', w);
    mvvline(y0, x0, t->utf8 ? 0 : '|', h);
    mvvline(y0, x0 + w - 1, t->utf8 ? 0 : '|', h);
    if (t->utf8) {
        mvaddch(y0, x0, ACS_ULCORNER);
        mvaddch(y0, x0 + w - 1, ACS_URCORNER);
        mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
        mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
    }
    mvaddnstr(y0, x0 + 2, " rnnlab help: any key closes it ", w - 4);
    attroff(A_BOLD);
    for (int i = 0; i < t->n_help && i < h - 3; i++)
        mvaddnstr(y0 + 1 + i, x0 + 2, t->help[i], w - 4);
    if (t->n_help > h - 3)
        mvaddnstr(y0 + h - 2, x0 + 2, "... (a taller terminal shows all; "
                  "help also works as a command)", w - 4);
}

static void draw(tui *t)
{
    eng_status s;
    char title[128];
    eng_snapshot(t->env->e, &s);
    erase();
    if (LINES < 3 || COLS < 20) {
        mvaddnstr(0, 0, "rnnlab: terminal too small", COLS);
    } else {
        draw_status(t, &s);
        draw_plot(t);
        draw_readout(t);
        snprintf(title, sizeof title, " sample  temperature %g%s (PgUp/PgDn) ",
                 (double)s.cfg.sample.temperature,
                 t->prob_colours ? ", coloured by probability" : "");
        draw_pane(t, t->samples, t->spane, title);
        if (COLS >= 100 && t->spane.h > 0)
            mvvline(t->spane.y, t->spane.w, t->utf8 ? 0 : '|', t->spane.h);
        draw_pane(t, t->messages, t->mpane,
                  " messages (Shift-PgUp/PgDn)  F1 help ");
        if (t->show_help)
            draw_help(t);
    }
    if (t->question) {
        move(t->cmd_row, 0);
        clrtoeol();
        attron(A_BOLD);
        mvaddnstr(t->cmd_row, 0, t->question, COLS - 1);
        attroff(A_BOLD);
        wnoutrefresh(stdscr);
    } else {
        tline_draw();
    }
    doupdate();
    t->dirty = 0;
    t->last_draw = clock_now();
}

/* ------------------------------------------------------------------ */
/* Help */

static void free_help(tui *t)
{
    for (int i = 0; i < t->n_help; i++)
        free(t->help[i]);
    t->n_help = 0;
}

static void open_help(tui *t)
{
    static const char *keys[] = {
        "keys:",
        "  F1, ? (empty line)  this help          Ctrl-L  redraw",
        "  PgUp/PgDn           scroll samples     Shift-PgUp/PgDn  messages",
        "  F2  log-scale plot  F3  last 500 steps F4  colour by probability",
        "  Tab  complete       Up/Down  history   Ctrl-C  stop a sample",
        "  Ctrl-D  quit",
        "",
    };
    free_help(t);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        t->help[t->n_help++] = strdup(keys[i]);
    t->capture_help = 1;
    cmd_help(t->env, NULL);
    t->capture_help = 0;
    t->show_help = 1;
    t->dirty = 1;
}

/* ------------------------------------------------------------------ */
/* Input */

static void resize(tui *t)
{
    endwin();
    refresh();
    layout(t);
    clearok(stdscr, TRUE);
    t->dirty = 1;
}

static void on_signal(tui *t, int sig);
static void on_stdin(tui *t, short revents);

/* `wait`: the command line shows that it waits until a bounded run or a
 * sample ends; any key stops waiting. */
static void wait_training(tui *t)
{
    eng_status s;
    eng_snapshot(t->env->e, &s);
    if (s.state == ENG_TRAINING && s.goal_step < 0 && s.goal_epoch < 0 && s.goal_seconds < 0) {
        message(t, STYLE_ERR, "wait: training has no limit and would never "
                "end (stop it, or train steps=N, epochs=N or time=SECONDS)");
        return;
    }
    if (s.state != ENG_TRAINING && s.state != ENG_SAMPLING
        && s.state != ENG_EVALUATING)
        return;
    t->question = "waiting for training to end (any key stops waiting)";
    tline_hide(1);
    while (!t->quit && (s.state == ENG_TRAINING || s.state == ENG_SAMPLING
                        || s.state == ENG_EVALUATING)) {
        struct pollfd p[3] = {{STDIN_FILENO, POLLIN, 0},
                              {eng_fd(t->env->e), POLLIN, 0},
                              {t->sigfd, POLLIN, 0}};
        wint_t ch;
        int r, key = 0;
        poll(p, 3, 100);
        on_stdin(t, p[0].revents);
        if (p[2].revents & POLLIN)
            on_signal(t, line_read_signal(t->sigfd));
        if (p[1].revents & POLLIN)
            drain_events(t);
        while ((r = get_wch(&ch)) != ERR)
            if (r == KEY_CODE_YES && ch == KEY_RESIZE)
                resize(t);
            else
                key = 1;
        if (key)
            break;
        if (t->dirty && clock_now() - t->last_draw >= FRAME_S)
            draw(t);
        eng_snapshot(t->env->e, &s);
    }
    t->question = NULL;
    tline_hide(0);
    t->dirty = 1;
}

static void run_line(tui *t, const char *line)
{
    char echo[4200];
    int rc;
    snprintf(echo, sizeof echo, "> %s", line);
    message(t, STYLE_DIM, echo);
    rc = cmd_execute(t->env, line);
    if (rc == CMD_OK && t->env->want_help) {
        free_help(t);
        open_help(t);
    }
    if (rc == CMD_OK && t->env->want_wait)
        wait_training(t);
    if (t->env->want_quit) {
        if (t->env->posted > 0)
            t->quit_after = t->env->posted;    /* the save first */
        else
            t->quit = 1;
    }
    textpane_scroll_to_end(t->messages);
}

/* Returns 1 when the key was a TUI key, not one for the line. */
static int ui_key(tui *t, int is_key, wint_t ch)
{
    if (is_key) {
        int page = t->spane.h > 3 ? t->spane.h - 2 : 1;
        int mpage = t->mpane.h > 3 ? t->mpane.h - 2 : 1;
        switch (ch) {
        case KEY_RESIZE: resize(t); return 1;
        case KEY_F(1): open_help(t); return 1;
        case KEY_F(2): t->log_y = !t->log_y; break;
        case KEY_F(3): t->window = t->window ? 0 : 500; break;
        case KEY_F(4): t->prob_colours = !t->prob_colours; break;
        case KEY_PPAGE: textpane_scroll(t->samples, page); break;
        case KEY_NPAGE: textpane_scroll(t->samples, -page); break;
        case KEY_SPREVIOUS: textpane_scroll(t->messages, mpage); break;
        case KEY_SNEXT: textpane_scroll(t->messages, -mpage); break;
        default: return 0;
        }
        t->dirty = 1;
        return 1;
    }
    if (ch == 12) {                          /* Ctrl-L */
        clearok(stdscr, TRUE);
        t->dirty = 1;
        return 1;
    }
    if (ch == 3) {                           /* Ctrl-C */
        eng_status s;
        eng_snapshot(t->env->e, &s);
        if (s.state == ENG_SAMPLING)
            eng_cancel_sample(t->env->e);
        else
            tline_clear();
        rl_redisplay();
        return 1;
    }
    if (ch == '?' && tline_empty()) {
        open_help(t);
        return 1;
    }
    return 0;
}

static void read_keys(tui *t)
{
    wint_t ch;
    int r;
    char *line;
    while ((r = get_wch(&ch)) != ERR) {
        if (t->show_help) {                  /* any key closes the help */
            t->show_help = 0;
            t->dirty = 1;
            if (r == KEY_CODE_YES && ch == KEY_RESIZE)
                resize(t);
            continue;
        }
        if (ui_key(t, r == KEY_CODE_YES, ch))
            continue;
        tline_key(r == KEY_CODE_YES, ch);
        if (line_prompt_take(&line)) {
            if (!line) {                      /* Ctrl-D */
                run_line(t, "quit");
            } else {
                line_history_add(line);
                run_line(t, line);
                free(line);
            }
            if (!t->quit)
                line_prompt_install("> ");
            t->dirty = 1;
        }
        if (t->quit)
            return;
    }
}

static void on_signal(tui *t, int sig)
{
    if (sig == SIGWINCH)
        resize(t);
    else if (sig == SIGINT)
        eng_cancel_sample(t->env->e);
    else if (sig)
        t->quit = 1;
    if (sig == SIGHUP)
        t->hung_up = 1;
}

/* A closed terminal reads as POLLHUP on stdin, with or without the
 * SIGHUP (which goes to the session's leader): quit as on SIGHUP. */
static void on_stdin(tui *t, short revents)
{
    if (revents & (POLLHUP | POLLERR))
        t->quit = t->hung_up = 1;
}

/* Waits for input, events or the next frame, and handles them. */
static void step_loop(tui *t)
{
    struct pollfd p[3] = {{STDIN_FILENO, POLLIN, 0},
                          {eng_fd(t->env->e), POLLIN, 0},
                          {t->sigfd, POLLIN, 0}};
    int timeout = -1;
    if (t->dirty) {
        double wait = t->last_draw + FRAME_S - clock_now();
        timeout = wait > 0 ? (int)(wait * 1000) + 1 : 0;
    } else {
        eng_status s;
        eng_snapshot(t->env->e, &s);
        if (s.state == ENG_TRAINING)
            timeout = 1000;                   /* the clock in the status */
    }
    if (poll(p, 3, timeout) < 0 && errno != EINTR) {
        t->quit = 1;
        return;
    }
    if (p[2].revents & POLLIN)
        on_signal(t, line_read_signal(t->sigfd));
    if (p[1].revents & POLLIN)
        drain_events(t);
    on_stdin(t, p[0].revents);
    if (!t->quit && (p[0].revents & POLLIN))
        read_keys(t);
    if (timeout == 1000 && !t->dirty)
        t->dirty = 1;
    if (t->dirty && clock_now() - t->last_draw >= FRAME_S)
        draw(t);
}

/* The modal yes/no question (quit with unsaved training, resets). */
static int ask_cb(void *ctx, const char *q)
{
    tui *t = ctx;
    char buf[600];
    int answer = -1;
    snprintf(buf, sizeof buf, "%s [y/n] ", q);
    t->question = buf;
    tline_hide(1);
    draw(t);
    while (answer < 0) {
        struct pollfd p[3] = {{STDIN_FILENO, POLLIN, 0},
                              {eng_fd(t->env->e), POLLIN, 0},
                              {t->sigfd, POLLIN, 0}};
        wint_t ch;
        int r;
        poll(p, 3, 250);
        on_stdin(t, p[0].revents);
        if (p[2].revents & POLLIN)
            on_signal(t, line_read_signal(t->sigfd));
        if (p[1].revents & POLLIN)
            drain_events(t);
        while (answer < 0 && (r = get_wch(&ch)) != ERR) {
            if (r == KEY_CODE_YES && ch == KEY_RESIZE)
                resize(t);
            else if (r != KEY_CODE_YES && (ch == 'y' || ch == 'Y'))
                answer = 1;
            else if (r != KEY_CODE_YES && (ch == 'n' || ch == 'N' || ch == 27
                                           || ch == 3))
                answer = 0;
        }
        if (t->quit && answer < 0)
            answer = 0;
        if (t->dirty)
            draw(t);
    }
    snprintf(buf, sizeof buf, "%s %s", q, answer ? "yes" : "no");
    message(t, STYLE_DIM, buf);
    t->question = NULL;
    tline_hide(0);
    return answer;
}

static void matches_cb(void *ctx, char **matches, int n)
{
    tui *t = ctx;
    char buf[2048];
    size_t o = 0;
    for (int i = 1; i <= n && o < sizeof buf - 2; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", i > 1 ? "  " : "",
                              matches[i]);
    message(t, STYLE_DIM, buf);
    draw(t);
}

/* ------------------------------------------------------------------ */
/* Set-up */

static void colours(tui *t)
{
    t->colour = has_colors();
    if (!t->colour)
        return;
    start_color();
    use_default_colors();
    init_pair(PAIR_TRAIN, COLOR_CYAN, -1);
    init_pair(PAIR_VAL, COLOR_YELLOW, -1);
    init_pair(PAIR_BAR, COLOR_BLUE, -1);
    init_pair(PAIR_ERR, COLOR_RED, -1);
    init_pair(PAIR_DIM, COLOR_BLUE, -1);
    init_pair(PAIR_PRIME, -1, -1);
    init_pair(PAIR_BEST, COLOR_GREEN, -1);
    init_pair(PAIR_P0, COLOR_RED, -1);
    init_pair(PAIR_P1, COLOR_MAGENTA, -1);
    init_pair(PAIR_P2, COLOR_YELLOW, -1);
    init_pair(PAIR_P3, COLOR_GREEN, -1);
}

/* The start-up commands: corpus or session, -e commands, then train. */
static void startup(tui *t, const front_opts *o)
{
    char line[4200];
    if (o->open_dir && cmd_quote("open", o->open_dir, line, sizeof line) == 0) {
        run_line(t, line);
    } else if (o->corpus && cmd_quote("load", o->corpus, line, sizeof line) == 0) {
        run_line(t, line);
    } else if (o->open_dir || o->corpus) {
        message(t, STYLE_ERR, "path too long");
    } else {
        message(t, STYLE_ERR, "the bundled corpus was not found; load PATH "
                "loads a text");
    }
    int trains = 0;
    for (int i = 0; i < o->n_exec; i++) {
        run_line(t, o->exec[i]);
        trains |= strncmp(o->exec[i] + strspn(o->exec[i], " "), "train", 5) == 0;
    }
    /* training starts by itself, unless a -e command started it */
    if (!o->open_dir && o->corpus && !trains)
        run_line(t, "train");
    message(t, STYLE_PLAIN, "type help or press F1 for the commands and keys");
}

int tui_run(cmd_env *env, int sigfd, const front_opts *o)
{
    tui t;
    int rc = 0;
    memset(&t, 0, sizeof t);
    t.env = env;
    t.sigfd = sigfd;
    t.prob_colours = 1;
    setlocale(LC_ALL, "");
    t.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    t.samples = textpane_new(5000);
    t.messages = textpane_new(2000);
    if (!t.samples || !t.messages) {
        fprintf(stderr, "rnnlab: out of memory\n");
        textpane_free(t.samples);
        textpane_free(t.messages);
        return 1;
    }
    env->ui.ctx = &t;
    env->ui.print = print_cb;
    env->ui.ask = ask_cb;
    env->interactive = 1;
    if (!initscr()) {
        fprintf(stderr, "rnnlab: cannot set up the terminal\n");
        return 1;
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    set_escdelay(25);
    colours(&t);
    line_readline_init(env);
    line_history_load();
    tline_init(matches_cb, &t);
    layout(&t);
    line_prompt_install("> ");
    startup(&t, o);
    draw(&t);
    while (!t.quit)
        step_loop(&t);
    tline_end();
    endwin();
    if ((t.hung_up || line_hung_up()) && line_hangup_save(env, sigfd) != 0)
        rc = 1;
    line_history_save();
    free_help(&t);
    textpane_free(t.samples);
    textpane_free(t.messages);
    series_free(&t.train);
    series_free(&t.val);
    return rc;
}
