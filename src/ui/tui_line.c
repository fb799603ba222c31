/* tui_line.c - readline inside curses; see tui_line.h. */
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <curses.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "ui/tui_line.h"

/* readline's hooks (getc, redisplay, completion display) take no context
 * pointer, so their state is this one file-scope variable. */
static struct {
    unsigned char q[64];        /* bytes waiting for readline */
    int head, len;
    int row, width, hidden;
    FILE *devnull;              /* readline's output stream */
    tline_matches_fn matches;
    void *ctx;
} tl;

static int getc_hook(FILE *f)
{
    (void)f;
    if (tl.len == 0)
        return EOF;             /* not reached: only called with input */
    int c = tl.q[tl.head];
    tl.head = (tl.head + 1) % (int)sizeof tl.q;
    tl.len--;
    return c;
}

static int available_hook(void)
{
    return tl.len > 0;
}

static void no_term(int meta)
{
    (void)meta;
}

static void no_deprep(void)
{
}

static void redisplay_hook(void)
{
    tline_draw();
    doupdate();
}

static void matches_hook(char **matches, int n, int max)
{
    (void)max;
    if (tl.matches)
        tl.matches(tl.ctx, matches, n);
}

int tline_init(tline_matches_fn matches, void *ctx)
{
    tl.matches = matches;
    tl.ctx = ctx;
    if ((tl.devnull = fopen("/dev/null", "w")) == NULL)
        return -1;
    rl_outstream = tl.devnull;
    rl_getc_function = getc_hook;
    rl_input_available_hook = available_hook;
    rl_redisplay_function = redisplay_hook;
    rl_prep_term_function = no_term;
    rl_deprep_term_function = no_deprep;
    rl_completion_display_matches_hook = matches_hook;
    rl_variable_bind("bell-style", "none");
    rl_variable_bind("horizontal-scroll-mode", "on");
    return 0;
}

void tline_end(void)
{
    rl_callback_handler_remove();
    if (tl.devnull)
        fclose(tl.devnull);
    tl.devnull = NULL;
    rl_outstream = stdout;
}

void tline_place(int row, int width)
{
    tl.row = row;
    tl.width = width;
}

void tline_hide(int hidden)
{
    tl.hidden = hidden;
}

static void push(const char *bytes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (tl.len == (int)sizeof tl.q)
            return;             /* a flood of keys: drop the excess */
        tl.q[(tl.head + tl.len) % (int)sizeof tl.q] = (unsigned char)bytes[i];
        tl.len++;
    }
    while (tl.len > 0)
        rl_callback_read_char();
}

void tline_key(int is_key, wint_t ch)
{
    char buf[MB_LEN_MAX + 1];
    if (is_key) {
        switch (ch) {
        case KEY_LEFT: rl_backward_char(1, 0); break;
        case KEY_RIGHT: rl_forward_char(1, 0); break;
        case KEY_UP: rl_get_previous_history(1, 0); break;
        case KEY_DOWN: rl_get_next_history(1, 0); break;
        case KEY_HOME: rl_beg_of_line(1, 0); break;
        case KEY_END: rl_end_of_line(1, 0); break;
        case KEY_DC: rl_delete(1, 0); break;
        case KEY_BACKSPACE: rl_rubout(1, 0); break;
        case KEY_ENTER: push("\r", 1); return;
        default: return;
        }
        rl_redisplay();
        return;
    }
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t n = wcrtomb(buf, (wchar_t)ch, &st);
    if (n != (size_t)-1)
        push(buf, n);
}

/* Display columns of the first n bytes of s. */
static int columns(const char *s, size_t n)
{
    mbstate_t st;
    int cols = 0;
    memset(&st, 0, sizeof st);
    for (size_t i = 0; i < n;) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s + i, n - i, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof st);
            cols++;
            i++;
            continue;
        }
        int w = wcwidth(wc);
        cols += w < 0 ? 1 : w;
        i += k;
    }
    return cols;
}

/* Byte offset in s (of length n) where display column col begins. */
static size_t byte_at_column(const char *s, size_t n, int col)
{
    mbstate_t st;
    int cols = 0;
    size_t i = 0;
    memset(&st, 0, sizeof st);
    while (i < n && cols < col) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s + i, n - i, &st);
        if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
            memset(&st, 0, sizeof st);
            k = 1;
            wc = L'?';
        }
        int w = wcwidth(wc);
        cols += w < 0 ? 1 : w;
        i += k;
    }
    return i;
}

void tline_draw(void)
{
    const char *prompt = rl_display_prompt ? rl_display_prompt : "";
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    size_t len = (size_t)rl_end, point = (size_t)rl_point;
    int pw = columns(prompt, strlen(prompt)), cur, skip = 0, room;
    if (tl.hidden || tl.width <= 0)
        return;
    move(tl.row, 0);
    clrtoeol();
    if (pw >= tl.width - 4)
        pw = 0, prompt = "";
    room = tl.width - pw - 1;
    cur = columns(line, point);
    if (cur > room)                 /* scroll so the cursor stays visible */
        skip = cur - room + room / 4;
    size_t from = byte_at_column(line, len, skip);
    size_t to = from + byte_at_column(line + from, len - from, room);
    attron(A_BOLD);
    mvaddstr(tl.row, 0, prompt);
    attroff(A_BOLD);
    addnstr(line + from, (int)(to - from));
    move(tl.row, pw + cur - skip);
    wnoutrefresh(stdscr);
}

int tline_empty(void)
{
    return rl_end == 0;
}

void tline_clear(void)
{
    rl_replace_line("", 0);
    rl_point = rl_end = 0;
}
