/* buf.c - growable memory: doubling arrays and the appendable text buffer. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

/* The first capacity of a text buffer, in bytes. */
#define STRBUF_FIRST 256

/* Doubles c (first, or 1 when that is 0) until it reaches need, never past
 * max; need is at most max. */
static size_t doubled_capacity(size_t c, size_t need, size_t max)
{
    if (c == 0)
        c = 1;
    if (c > max)
        c = max;
    while (c < need)
        c = c > max / 2 ? max : 2 * c;
    return c;
}

int grow_array(void *arrp, size_t *cap, size_t need, size_t size, size_t first)
{
    if (need <= *cap)
        return 0;
    if (size == 0 || need > SIZE_MAX / size) {
        errno = ENOMEM;
        return -1;
    }
    size_t c = doubled_capacity(*cap ? *cap : first, need, SIZE_MAX / size);
    void *old, *p;
    memcpy(&old, arrp, sizeof old);
    if ((p = realloc(old, c * size)) == NULL)
        return -1;
    memcpy(arrp, &p, sizeof p);
    *cap = c;
    return 0;
}

int strbuf_reserve(strbuf *b, size_t add)
{
    if (add > SIZE_MAX - 1 - b->len) {
        errno = ENOMEM;
        return -1;
    }
    return GROW_ARRAY(&b->p, &b->cap, b->len + add + 1, STRBUF_FIRST);
}

int strbuf_append(strbuf *b, const void *bytes, size_t n)
{
    if (strbuf_reserve(b, n) < 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, bytes, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int strbuf_puts(strbuf *b, const char *s)
{
    return strbuf_append(b, s, strlen(s));
}

int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap)
{
    va_list again;
    va_copy(again, ap);
    int k = vsnprintf(NULL, 0, fmt, ap);
    int rc = k < 0 ? -1 : strbuf_reserve(b, (size_t)k);
    if (rc == 0 && vsnprintf(b->p + b->len, (size_t)k + 1, fmt, again) != k) {
        errno = EINVAL;                 /* the arguments changed under it */
        rc = -1;
    }
    va_end(again);
    if (rc == 0)
        b->len += (size_t)k;
    else if (b->p)
        b->p[b->len] = '\0';             /* drop a partial write */
    return rc;
}

int strbuf_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void strbuf_free(strbuf *b)
{
    free(b->p);
    *b = (strbuf)STRBUF_INIT;
}
