/* textpane.c - scroll-back buffer of styled text (see textpane.h).
 *
 * Text is cleaned as it is appended, so that laying it out never has to
 * check anything: a character split between two appends waits in a small
 * decoder until its last byte arrives, invalid UTF-8 and control
 * characters become U+FFFD, and tabs become spaces up to the next multiple
 * of 8 cells.  Each logical line keeps its bytes, the byte offsets where
 * its style changes, and the number of display rows it took at the last
 * width it was laid out for, so that a redraw only wraps the lines it
 * shows.
 *
 * Display: text fills the pane from the top until it overflows; a final
 * newline opens no empty row; a view scrolled back keeps showing the same
 * text while new rows arrive below; textpane_count uses the mode (UTF-8 or
 * ASCII) of the last textpane_lines call, since widths depend on it. */
#include "ui/textpane.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define TAB_WIDTH 8

typedef struct span {
    size_t start;            /* first byte in this style, up to the next span */
    int style;
} span;

typedef struct tp_line {
    char *buf;
    size_t len, cap;
    span *spans;
    size_t nspans, spancap;
    size_t cols;             /* cells so far, where the next tab stops */
    int rows_key;            /* the layout rows was counted for; -1: none */
    size_t rows;
} tp_line;

struct textpane {
    tp_line *lines;          /* lines[first .. first + n), oldest first */
    size_t first, n, cap, max_lines;
    int open;                /* the newest line still takes text */
    /* UTF-8 decoder: a character whose bytes have not all arrived */
    unsigned char pend[4];
    int npend, need, pend_style;
    unsigned char next_lo, next_hi;   /* range of the next byte */
    /* scrolling, and the layout it was last clamped for */
    long offset;
    int last_key, last_height;
    size_t last_total;
    int utf8;                /* of the last layout, for textpane_count */
    /* scratch space of textpane_lines */
    textpane_run *runs;
    size_t runcap;
    char *text;
    size_t textcap;
};

/* A layout key: width and mode together. */
static int layout_key(int width, int utf8)
{
    return width * 2 + (utf8 != 0);
}

/* ---- characters -------------------------------------------------------- */

/* Cells taken by code point cp: 0 for combining marks, 2 for East Asian
 * wide and full-width characters and emoji, 1 otherwise.  A small table of
 * the common ranges, independent of the process locale. */
static int cp_width(uint32_t cp)
{
    static const uint32_t zero[][2] = {
        {0x0300, 0x036f}, {0x0483, 0x0489}, {0x0591, 0x05bd}, {0x0610, 0x061a},
        {0x064b, 0x065f}, {0x1ab0, 0x1aff}, {0x1dc0, 0x1dff}, {0x200b, 0x200f},
        {0x20d0, 0x20ff}, {0xfe00, 0xfe0f}, {0xfe20, 0xfe2f}
    };
    static const uint32_t wide[][2] = {
        {0x1100, 0x115f}, {0x2e80, 0x303e}, {0x3041, 0x33ff}, {0x3400, 0x4dbf},
        {0x4e00, 0x9fff}, {0xa000, 0xa4cf}, {0xac00, 0xd7a3}, {0xf900, 0xfaff},
        {0xfe30, 0xfe4f}, {0xff00, 0xff60}, {0xffe0, 0xffe6}, {0x1f300, 0x1f64f},
        {0x1f900, 0x1f9ff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd}
    };
    if (cp < 0x300)
        return 1;
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        if (cp >= zero[i][0] && cp <= zero[i][1])
            return 0;
    for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
        if (cp >= wide[i][0] && cp <= wide[i][1])
            return 2;
    return 1;
}

/* Decodes the character at s, valid UTF-8 (stored text always is); returns
 * its length. */
static size_t decode(const char *s, uint32_t *cp)
{
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) {
        *cp = u[0];
        return 1;
    }
    if (u[0] < 0xe0) {
        *cp = (uint32_t)(u[0] & 0x1f) << 6 | (u[1] & 0x3f);
        return 2;
    }
    if (u[0] < 0xf0) {
        *cp = (uint32_t)(u[0] & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f);
        return 3;
    }
    *cp = (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
          (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
    return 4;
}

/* ---- lines ------------------------------------------------------------- */

static void line_free(tp_line *l)
{
    free(l->buf);
    free(l->spans);
}

/* Makes room for add more bytes and one more span.  Returns -1 when out of
 * memory (l unchanged). */
static int line_reserve(tp_line *l, size_t add)
{
    if (GROW_ARRAY(&l->buf, &l->cap, l->len + add, 64) < 0 ||
        GROW_ARRAY(&l->spans, &l->spancap, l->nspans + 1, 4) < 0)
        return -1;
    return 0;
}

/* Appends one character of cells cells in style.  Returns -1 when out of
 * memory. */
static int line_put(tp_line *l, const char *bytes, size_t len, int style, int cells)
{
    if (line_reserve(l, len) < 0)
        return -1;
    if (l->nspans == 0 || l->spans[l->nspans - 1].style != style)
        l->spans[l->nspans++] = (span){l->len, style};
    memcpy(l->buf + l->len, bytes, len);
    l->len += len;
    l->cols += (size_t)cells;
    l->rows_key = -1;
    return 0;
}

/* The newest line, started first when the last one is finished.  Returns
 * NULL when out of memory. */
static tp_line *open_line(textpane *p)
{
    if (p->open)
        return &p->lines[p->first + p->n - 1];
    if (p->first + p->n == p->cap) {
        if (p->first > 0 && p->first >= p->cap / 2) {
            memmove(p->lines, p->lines + p->first, p->n * sizeof *p->lines);
            p->first = 0;
        } else if (GROW_ARRAY(&p->lines, &p->cap, p->cap + 1, 16) < 0) {
            return NULL;
        }
    }
    tp_line *l = &p->lines[p->first + p->n++];
    memset(l, 0, sizeof *l);
    l->rows_key = -1;
    p->open = 1;
    return l;
}

/* ---- appending --------------------------------------------------------- */

/* Adds code point cp in style: a newline ends the line, a tab becomes
 * spaces, a control character U+FFFD.  Returns -1 when out of memory. */
static int put_cp(textpane *p, uint32_t cp, int style)
{
    tp_line *l = open_line(p);
    if (!l)
        return -1;
    if (cp == '\n') {
        p->open = 0;
        return 0;
    }
    if (cp == '\t') {
        for (size_t k = TAB_WIDTH - l->cols % TAB_WIDTH; k > 0; k--)
            if (line_put(l, " ", 1, style, 1) < 0)
                return -1;
        return 0;
    }
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
        cp = 0xfffd;
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | cp >> 6);
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | cp >> 12);
        b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | cp >> 18);
        b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return line_put(l, b, n, style, cp_width(cp));
}

/* Feeds byte b to the decoder.  Returns -1 when out of memory. */
static int put_byte(textpane *p, unsigned char b, int style)
{
    if (p->need) {
        if (b >= p->next_lo && b <= p->next_hi) {
            p->pend[p->npend++] = b;
            p->next_lo = 0x80;
            p->next_hi = 0xbf;
            if (p->npend < p->need)
                return 0;
            uint32_t cp;
            decode((const char *)p->pend, &cp);
            p->need = p->npend = 0;
            return put_cp(p, cp, p->pend_style);
        }
        /* the character stops short: one U+FFFD for what came, then b
         * starts afresh */
        p->need = p->npend = 0;
        if (put_cp(p, 0xfffd, p->pend_style) < 0)
            return -1;
    }
    if (b < 0x80)
        return put_cp(p, b, style);
    p->next_lo = 0x80;
    p->next_hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf)
        p->need = 2;
    else if (b >= 0xe0 && b <= 0xef)
        p->need = 3;
    else if (b >= 0xf0 && b <= 0xf4)
        p->need = 4;
    else
        return put_cp(p, 0xfffd, style);   /* stray continuation, C0, C1, F5.. */
    /* no overlong forms, surrogates or code points past U+10FFFF */
    if (b == 0xe0)
        p->next_lo = 0xa0;
    else if (b == 0xed)
        p->next_hi = 0x9f;
    else if (b == 0xf0)
        p->next_lo = 0x90;
    else if (b == 0xf4)
        p->next_hi = 0x8f;
    p->pend[0] = b;
    p->npend = 1;
    p->pend_style = style;
    return 0;
}

/* State an append may have to roll back to. */
typedef struct tp_mark {
    size_t n, len, nspans, cols;
    int open, npend, need, pend_style;
    unsigned char pend[4], next_lo, next_hi;
} tp_mark;

static tp_mark mark(const textpane *p)
{
    tp_mark m = {.n = p->n, .open = p->open, .npend = p->npend, .need = p->need,
                 .pend_style = p->pend_style, .next_lo = p->next_lo,
                 .next_hi = p->next_hi};
    memcpy(m.pend, p->pend, sizeof m.pend);
    if (p->open) {
        const tp_line *l = &p->lines[p->first + p->n - 1];
        m.len = l->len;
        m.nspans = l->nspans;
        m.cols = l->cols;
    }
    return m;
}

static void roll_back(textpane *p, const tp_mark *m)
{
    while (p->n > m->n)
        line_free(&p->lines[p->first + --p->n]);
    if (m->open) {
        tp_line *l = &p->lines[p->first + p->n - 1];
        l->len = m->len;
        l->nspans = m->nspans;
        l->cols = m->cols;
        l->rows_key = -1;
    }
    p->open = m->open;
    p->npend = m->npend;
    p->need = m->need;
    p->pend_style = m->pend_style;
    p->next_lo = m->next_lo;
    p->next_hi = m->next_hi;
    memcpy(p->pend, m->pend, sizeof p->pend);
}

static size_t line_rows(tp_line *l, int width, int utf8);

/* Drops the oldest lines beyond max_lines.  The rows they took leave the
 * total of the last layout, so that a view scrolled back stays put. */
static void trim(textpane *p)
{
    while (p->n > p->max_lines) {
        tp_line *l = &p->lines[p->first];
        if (p->last_key > 0) {
            size_t r = line_rows(l, p->last_key / 2, p->last_key % 2);
            p->last_total = p->last_total > r ? p->last_total - r : 0;
        }
        line_free(l);
        p->first++;
        p->n--;
    }
}

/* Returns -1 when out of memory (the pane unchanged). */
int textpane_append(textpane *p, const char *text, size_t len, int style)
{
    tp_mark m = mark(p);
    for (size_t i = 0; i < len; i++)
        if (put_byte(p, (unsigned char)text[i], style) < 0) {
            roll_back(p, &m);
            return -1;
        }
    trim(p);
    return 0;
}

/* ---- the pane ---------------------------------------------------------- */

/* Returns NULL when out of memory. */
textpane *textpane_new(size_t max_lines)
{
    textpane *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->max_lines = max_lines ? max_lines : 1;
    p->utf8 = 1;
    return p;
}

void textpane_clear(textpane *p)
{
    for (size_t i = 0; i < p->n; i++)
        line_free(&p->lines[p->first + i]);
    p->first = p->n = 0;
    p->open = p->npend = p->need = 0;
    p->offset = 0;
    p->last_key = 0;
    p->last_total = 0;
}

void textpane_free(textpane *p)
{
    if (!p)
        return;
    textpane_clear(p);
    free(p->lines);
    free(p->runs);
    free(p->text);
    free(p);
}

/* ---- layout ------------------------------------------------------------ */

/* Wraps the row of l that starts at byte start to width cells: returns
 * where the row ends and sets *next to where the following one starts.  A
 * row breaks after the last space that follows a word, else (one long
 * word) before the character that does not fit; a space that does not fit
 * is dropped at the break.  Every row takes at least one character. */
static size_t wrap_row(const tp_line *l, size_t start, int width, int utf8,
                       size_t *next)
{
    size_t i = start, brk = 0;
    int col = 0, word = 0;
    while (i < l->len) {
        uint32_t cp;
        size_t n = decode(l->buf + i, &cp);
        int w = utf8 ? cp_width(cp) : 1;
        if (col + w > width && i > start) {
            *next = cp == ' ' ? i + 1 : brk ? brk : i;
            return cp == ' ' || !brk ? i : brk;
        }
        col += w;
        i += n;
        if (cp != ' ')
            word = 1;
        else if (word)
            brk = i;
    }
    *next = i;
    return i;
}

/* Display rows line l takes at width, counted once per layout. */
static size_t line_rows(tp_line *l, int width, int utf8)
{
    int key = layout_key(width, utf8);
    if (l->rows_key != key) {
        size_t rows = 0, at = 0;
        do {
            wrap_row(l, at, width, utf8, &at);
            rows++;
        } while (at < l->len);
        l->rows = rows;
        l->rows_key = key;
    }
    return l->rows;
}

static size_t count_rows(textpane *p, int width, int utf8)
{
    size_t total = 0;
    for (size_t i = 0; i < p->n; i++)
        total += line_rows(&p->lines[p->first + i], width, utf8);
    return total;
}

size_t textpane_count(textpane *p, int width)
{
    return width > 0 ? count_rows(p, width, p->utf8) : 0;
}

void textpane_scroll(textpane *p, int delta)
{
    p->offset += delta;
    if (p->last_key > 0) {
        long most = p->last_total > (size_t)p->last_height
                        ? (long)(p->last_total - (size_t)p->last_height) : 0;
        if (p->offset > most)
            p->offset = most;
    }
    if (p->offset < 0)
        p->offset = 0;
}

void textpane_scroll_to_end(textpane *p)
{
    p->offset = 0;
}

int textpane_offset(const textpane *p)
{
    return (int)p->offset;
}

/* Grows the scratch space to runs runs and bytes bytes.  Returns -1 when
 * out of memory. */
static int scratch(textpane *p, size_t runs, size_t bytes)
{
    if (runs > p->runcap) {
        textpane_run *r = realloc(p->runs, runs * sizeof *r);
        if (!r)
            return -1;
        p->runs = r;
        p->runcap = runs;
    }
    if (bytes > p->textcap) {
        char *t = realloc(p->text, bytes);
        if (!t)
            return -1;
        p->text = t;
        p->textcap = bytes;
    }
    return 0;
}

/* The index of the span holding byte at of l (l has spans). */
static size_t span_at(const tp_line *l, size_t at)
{
    size_t lo = 0, hi = l->nspans;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (l->spans[mid].start <= at)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Calls line() for bytes [s, e) of l as display row row, split into runs
 * of one style; non-ASCII characters become '?' when !utf8.  Returns -1
 * when out of memory. */
static int emit_row(textpane *p, const tp_line *l, size_t s, size_t e, int row,
                    int utf8, void (*line)(void *, int, const textpane_run *, int),
                    void *ctx)
{
    if (s == e) {
        line(ctx, row, NULL, 0);
        return 0;
    }
    size_t k0 = span_at(l, s), k1 = span_at(l, e - 1);
    if (scratch(p, k1 - k0 + 1, utf8 ? 0 : e - s) < 0)
        return -1;
    int n = 0;
    size_t out = 0;
    for (size_t k = k0; k <= k1; k++, n++) {
        size_t a = k == k0 ? s : l->spans[k].start;
        size_t b = k == k1 ? e : l->spans[k + 1].start;
        p->runs[n] = (textpane_run){l->buf + a, b - a, l->spans[k].style};
        if (utf8)
            continue;
        p->runs[n].text = p->text + out;
        for (size_t i = a; i < b;) {
            uint32_t cp;
            i += decode(l->buf + i, &cp);
            p->text[out++] = cp < 0x80 ? (char)cp : '?';
        }
        p->runs[n].len = (size_t)(p->text + out - p->runs[n].text);
    }
    line(ctx, row, p->runs, n);
    return 0;
}

/* Returns -1 when out of memory. */
int textpane_lines(textpane *p, int width, int height, int utf8,
                   void (*line)(void *ctx, int row, const textpane_run *runs,
                                int n),
                   void *ctx)
{
    if (width <= 0 || height <= 0)
        return 0;
    utf8 = utf8 != 0;
    int key = layout_key(width, utf8);
    size_t total = count_rows(p, width, utf8);
    /* a view scrolled back keeps showing the same text as rows arrive */
    if (p->offset > 0 && key == p->last_key && total > p->last_total)
        p->offset += (long)(total - p->last_total);
    size_t h = (size_t)height;
    long most = total > h ? (long)(total - h) : 0;
    if (p->offset > most)
        p->offset = most;
    p->last_key = key;
    p->last_height = height;
    p->last_total = total;
    p->utf8 = utf8;

    /* the first row shown, then the line it is in */
    size_t skip = total > h ? total - h - (size_t)p->offset : 0, i = 0;
    while (i < p->n && skip >= line_rows(&p->lines[p->first + i], width, utf8))
        skip -= p->lines[p->first + i++].rows;
    int row = 0;
    for (; i < p->n && row < height; i++) {
        const tp_line *l = &p->lines[p->first + i];
        size_t at = 0;
        do {
            size_t next, end = wrap_row(l, at, width, utf8, &next);
            if (skip > 0)
                skip--;
            else if (emit_row(p, l, at, end, row++, utf8, line, ctx) < 0)
                return -1;
            at = next;
        } while (at < l->len && row < height);
    }
    for (; row < height; row++)
        line(ctx, row, NULL, 0);
    return 0;
}
