/* compat.h - compiler attributes the rest of the tree uses, with fallbacks
 * for compilers that lack them. */
#ifndef UTIL_COMPAT_H
#define UTIL_COMPAT_H

/* Lets gcc and clang check a printf-style format string against its
 * arguments: f is the format's parameter number, a the first argument's. */
#if defined(__GNUC__)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#else
#define PRINTF_LIKE(f, a)
#endif

#endif
