/* textpane_stub.c - TEMPORARY stand-in for textpane.c (being written
 * separately) so the TUI builds and runs: one style per byte, wrapping by
 * bytes.  Deleted when the real textpane.c lands. */
#include <stdlib.h>
#include <string.h>

#include "textpane.h"

struct textpane {
    char *text;
    int *style;
    size_t len, cap, max_lines;
    int offset;
};

textpane *textpane_new(size_t max_lines)
{
    textpane *p = calloc(1, sizeof *p);
    if (p)
        p->max_lines = max_lines;
    return p;
}

void textpane_free(textpane *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->style);
    free(p);
}

int textpane_append(textpane *p, const char *text, size_t len, int style)
{
    if (p->len + len > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < p->len + len)
            cap *= 2;
        char *t = realloc(p->text, cap);
        if (!t)
            return -1;
        p->text = t;
        int *s = realloc(p->style, cap * sizeof *s);
        if (!s)
            return -1;
        p->style = s;
        p->cap = cap;
    }
    for (size_t i = 0; i < len; i++) {
        p->text[p->len] = text[i];
        p->style[p->len++] = style;
    }
    return 0;
}

void textpane_clear(textpane *p) { p->len = 0; p->offset = 0; }
void textpane_scroll(textpane *p, int delta)
{
    p->offset += delta;
    if (p->offset < 0)
        p->offset = 0;
}
void textpane_scroll_to_end(textpane *p) { p->offset = 0; }
int textpane_offset(const textpane *p) { return p->offset; }

/* Start offsets of display lines; returns the count. */
static size_t layout(textpane *p, int width, size_t *starts, size_t max)
{
    size_t n = 0, col = 0, start = 0;
    for (size_t i = 0; i < p->len; i++) {
        if (p->text[i] == '\n' || (int)col == width) {
            if (starts && n < max)
                starts[n] = start;
            n++;
            start = p->text[i] == '\n' ? i + 1 : i;
            col = p->text[i] == '\n' ? 0 : 1;
            continue;
        }
        if (((unsigned char)p->text[i] & 0xC0) != 0x80)
            col++;
    }
    if (starts && n < max)
        starts[n] = start;
    return n + 1;
}

size_t textpane_count(textpane *p, int width)
{
    return layout(p, width, NULL, 0);
}

int textpane_lines(textpane *p, int width, int height, int utf8,
                   void (*line)(void *ctx, int row, const textpane_run *runs,
                                int n),
                   void *ctx)
{
    size_t n = layout(p, width, NULL, 0);
    size_t *starts = malloc((n + 1) * sizeof *starts);
    textpane_run runs[512];
    (void)utf8;
    if (!starts)
        return -1;
    layout(p, width, starts, n);
    starts[n] = p->len + 1;
    if (p->offset > (int)n - height)
        p->offset = (int)n - height > 0 ? (int)n - height : 0;
    long first = (long)n - height - p->offset;
    for (int r = 0; r < height; r++) {
        long li = first + r;
        int k = 0;
        if (li >= 0 && (size_t)li < n) {
            size_t b = starts[li], e = starts[li + 1];
            if (e > p->len) e = p->len;
            if (e > b && p->text[e - 1] == '\n') e--;
            for (size_t i = b; i < e && k < 512; i++) {
                if (k > 0 && runs[k - 1].style == p->style[i]
                    && runs[k - 1].text + runs[k - 1].len == p->text + i)
                    runs[k - 1].len++;
                else
                    runs[k++] = (textpane_run){p->text + i, 1, p->style[i]};
            }
        }
        line(ctx, r, runs, k);
    }
    free(starts);
    return 0;
}
