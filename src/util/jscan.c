/* jscan.c - JSON syntax as cJSON 1.7 reads it, without allocating
 * (jscan.h).  Each rule follows cJSON's own, quirks included, so that a
 * text this accepts is one cJSON takes whenever memory lasts: any byte up
 * to 0x20 is whitespace; a number is what strtod reads of the characters
 * from "0123456789+-.eE" there; a \u escape with bad hex digits
 * is U+0000, a lone low surrogate or an unpaired high one is refused;
 * arrays and objects nest at most 1000 deep.  Containers are walked with
 * a stack of bits, not recursion. */
#include <stdlib.h>
#include <string.h>

#include "util/jscan.h"

#define NEST_MAX 1000            /* cJSON's CJSON_NESTING_LIMIT */

typedef struct jbuf {
    const unsigned char *s;
    size_t n, i;
    size_t depth;
    unsigned char in_object[(NEST_MAX + 7) / 8];   /* per open container */
} jbuf;

/* Skips whitespace; at the end it stays on the last byte skipped, as
 * cJSON does, which then fails whatever needs a character there. */
static void skip_ws(jbuf *b)
{
    size_t start = b->i;
    while (b->i < b->n && b->s[b->i] <= 32)
        b->i++;
    if (b->i == b->n && b->i > start)
        b->i--;
}

static int at(const jbuf *b, char c)
{
    return b->i < b->n && b->s[b->i] == (unsigned char)c;
}

/* Four hex digits; bad ones read as 0, as cJSON's parse_hex4 has it. */
static unsigned hex4(const unsigned char *p)
{
    unsigned h = 0;
    for (int k = 0; k < 4; k++) {
        unsigned c = p[k], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return 0;
        h = h << 4 | d;
    }
    return h;
}

/* A \u escape at p (p[0] the backslash) before the closing quote at end:
 * its length (6, or 12 for a surrogate pair), or 0 when refused. */
static size_t utf16_escape(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 6)
        return 0;
    unsigned first = hex4(p + 2);
    if (first >= 0xDC00 && first <= 0xDFFF)
        return 0;
    if (first < 0xD800 || first > 0xDBFF)
        return 6;
    const unsigned char *q = p + 6;
    if (end - q < 6 || q[0] != '\\' || q[1] != 'u')
        return 0;
    unsigned second = hex4(q + 2);
    return second >= 0xDC00 && second <= 0xDFFF ? 12 : 0;
}

/* A string at b->i: to the first quote no backslash escapes, then each
 * escape checked. */
static int scan_string(jbuf *b)
{
    size_t close = b->i + 1;
    if (!at(b, '"'))
        return 0;
    while (close < b->n && b->s[close] != '"') {
        if (b->s[close] == '\\' && ++close >= b->n)
            return 0;
        close++;
    }
    if (close >= b->n)
        return 0;
    const unsigned char *p = b->s + b->i + 1, *end = b->s + close;
    while (p < end) {
        size_t step = 1;
        if (*p == '\\') {
            step = p[1] && strchr("bfnrt\"\\/", p[1]) ? 2
                 : p[1] == 'u' ? utf16_escape(p, end) : 0;
            if (step == 0)
                return 0;
        }
        p += step;
    }
    b->i = close + 1;
    return 1;
}

static int is_digit(const jbuf *b, size_t i, size_t end)
{
    return i < end && b->s[i] >= '0' && b->s[i] <= '9';
}

/* cJSON hands strtod the run of bytes from "0123456789+-.eE" here and
 * takes what it reads: a sign, digits with a point among or after them,
 * an exponent when it has digits. */
static int scan_number(jbuf *b)
{
    size_t end = b->i, p = b->i, digits = 0;
    while (end < b->n && b->s[end] && strchr("0123456789+-.eE", b->s[end]))
        end++;
    if (p < end && (b->s[p] == '+' || b->s[p] == '-'))
        p++;
    for (; is_digit(b, p, end); p++)
        digits++;
    if (p < end && b->s[p] == '.')
        for (p++; is_digit(b, p, end); p++)
            digits++;
    if (digits == 0)
        return 0;
    b->i = p;
    if (p < end && (b->s[p] == 'e' || b->s[p] == 'E')) {
        p++;
        if (p < end && (b->s[p] == '+' || b->s[p] == '-'))
            p++;
        if (is_digit(b, p, end)) {
            while (is_digit(b, p, end))
                p++;
            b->i = p;
        }
    }
    return 1;
}

static int scan_word(jbuf *b, const char *w)
{
    size_t n = strlen(w);
    if (b->i + n > b->n || memcmp(b->s + b->i, w, n) != 0)
        return 0;
    b->i += n;
    return 1;
}

static int in_object(const jbuf *b)
{
    size_t d = b->depth - 1;
    return b->in_object[d / 8] >> (d % 8) & 1;
}

/* Opens an array or object; in an object, reads up to its first value.
 * Returns 1 (then *empty says whether it closed at once) or 0. */
static int open_container(jbuf *b, int object, int *empty)
{
    size_t d = b->depth;
    if (d >= NEST_MAX)
        return 0;
    b->in_object[d / 8] = (unsigned char)((b->in_object[d / 8] & ~(1u << d % 8))
                                          | (unsigned)object << d % 8);
    b->depth++;
    b->i++;
    skip_ws(b);
    *empty = at(b, object ? '}' : ']');
    if (*empty) {
        b->i++;
        b->depth--;
        return 1;
    }
    return b->i < b->n;
}

/* In an object, the key and its colon before a value. */
static int scan_key(jbuf *b)
{
    if (!scan_string(b))
        return 0;
    skip_ws(b);
    if (!at(b, ':'))
        return 0;
    b->i++;
    skip_ws(b);
    return 1;
}

/* One value at b->i and what nests in it. */
static int scan(jbuf *b)
{
    size_t base = b->depth;
    for (;;) {
        int complete = 1, ok;
        /* a value */
        if (at(b, '[') || at(b, '{')) {
            int object = at(b, '{'), empty;
            ok = open_container(b, object, &empty);
            complete = empty;
            if (ok && !empty && object)
                ok = scan_key(b);
        } else if (at(b, '"')) {
            ok = scan_string(b);
        } else if (at(b, '-') || (b->i < b->n && b->s[b->i] >= '0' && b->s[b->i] <= '9')) {
            ok = scan_number(b);
        } else {
            ok = scan_word(b, "null") || scan_word(b, "true") || scan_word(b, "false");
        }
        if (!ok)
            return 0;
        if (!complete) {
            skip_ws(b);
            continue;                   /* the container's first value */
        }
        /* after a value: the next one, or the ends of containers */
        for (;;) {
            if (b->depth == base)
                return 1;
            skip_ws(b);
            if (at(b, ',')) {
                b->i++;
                skip_ws(b);
                if (in_object(b) && !scan_key(b))
                    return 0;
                break;
            }
            if (!at(b, in_object(b) ? '}' : ']'))
                return 0;
            b->i++;
            b->depth--;
        }
    }
}

int jscan_value(const char *text, size_t len, size_t *end)
{
    jbuf b = {(const unsigned char *)text, len, 0, 0, {0}};
    if (len == 0)
        return 0;
    if (len > 4 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        b.i = 3;
    skip_ws(&b);
    if (!scan(&b))
        return 0;
    if (end)
        *end = b.i;
    return 1;
}
