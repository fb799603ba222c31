/* textpane.h - a scroll-back buffer of styled text for the TUI's sample and
 * message panes: text is appended as it arrives (UTF-8, possibly split in
 * the middle of a character), wrapped to the pane width on display, and
 * scrolled.  No curses here: the TUI draws what textpane_lines returns, and
 * tests compare it exactly. */
#ifndef TEXTPANE_H
#define TEXTPANE_H
#include <stddef.h>

typedef struct textpane textpane;

/* A styled run of one display line.  style is the caller's attribute
 * number (e.g. a colour pair for a confidence class); 0 is plain. */
typedef struct textpane_run {
    const char *text;        /* UTF-8, not NUL-terminated */
    size_t len;
    int style;
} textpane_run;

/* Creates a pane keeping at most max_lines logical lines (oldest dropped
 * first).  Returns NULL when out of memory. */
textpane *textpane_new(size_t max_lines);
void textpane_free(textpane *p);

/* Appends len bytes in style; '\n' ends a logical line, other control
 * bytes show as U+FFFD (or '?' in ASCII mode), invalid UTF-8 likewise.
 * Returns 0, or -1 when out of memory (the pane is unchanged). */
int textpane_append(textpane *p, const char *text, size_t len, int style);
/* Removes everything. */
void textpane_clear(textpane *p);

/* Scrolling in display lines: offset 0 shows the newest lines at the
 * bottom; positive offsets look further back (clamped on display). */
void textpane_scroll(textpane *p, int delta);
void textpane_scroll_to_end(textpane *p);
int textpane_offset(const textpane *p);

/* Lays out the pane for width x height cells (wide characters take two
 * cells; lines are wrapped at word boundaries where possible) and calls
 * line(ctx, row, runs, n) for each of the height rows from the top (n = 0
 * for an empty row).  The runs are valid only during the call.  utf8 = 0
 * replaces non-ASCII characters by '?'.  Returns 0, or -1 when out of
 * memory. */
int textpane_lines(textpane *p, int width, int height, int utf8,
                   void (*line)(void *ctx, int row, const textpane_run *runs,
                                int n),
                   void *ctx);
/* Number of display lines the whole buffer takes at width. */
size_t textpane_count(textpane *p, int width);

#endif
