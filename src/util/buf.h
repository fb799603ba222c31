/* buf.h - growable memory: arrays that double as they fill, and a text buffer built by appending. */
#ifndef UTIL_BUF_H
#define UTIL_BUF_H
#include <stdarg.h>
#include <stddef.h>

#include "util/compat.h"

/* Makes the array at *arrp (a pointer to the array's pointer; *cap elements
 * of size bytes each) hold at least need elements.  When it must grow, the
 * capacity doubles, starting from first when *cap is 0, until need fits;
 * the array is moved with realloc, so the caller keeps owning it and frees
 * it with free().  Returns 0; or -1 with errno set when out of memory
 * (ENOMEM) or when size is 0 or need * size would not fit in a size_t
 * (ENOMEM, nothing allocated), and then *arrp, its contents and *cap are
 * unchanged. */
int grow_array(void *arrp, size_t *cap, size_t need, size_t size, size_t first);

/* grow_array for a typed pointer: the element size comes from the type
 * that pp (the address of the array's pointer) points to. */
#define GROW_ARRAY(pp, capp, need, first) \
    grow_array((pp), (capp), (need), sizeof **(pp), (first))

/* Text built by appending: p holds len bytes and, once anything has been
 * appended, a NUL after them.  Start from STRBUF_INIT (all zero); the
 * caller owns p and gives it back with strbuf_free. */
typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

#define STRBUF_INIT { NULL, 0, 0 }

/* Makes room for add more bytes and the NUL.  Returns 0, or -1 (errno set)
 * when out of memory, the text unchanged. */
int strbuf_reserve(strbuf *b, size_t add);
/* Appends n bytes (which may hold NULs).  Returns 0, or -1 (errno set) when
 * out of memory, the text unchanged. */
int strbuf_append(strbuf *b, const void *bytes, size_t n);
/* Appends the string s.  Returns 0, or -1 as strbuf_append. */
int strbuf_puts(strbuf *b, const char *s);
/* Appends printf-style formatted text.  Returns 0, or -1 (errno set) when
 * out of memory or the format fails, the text unchanged. */
int strbuf_printf(strbuf *b, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* strbuf_printf with a va_list, which it leaves for the caller to va_end. */
int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap) PRINTF_LIKE(2, 0);
/* Frees the text and leaves b empty (as STRBUF_INIT). */
void strbuf_free(strbuf *b);

#endif
