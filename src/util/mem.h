/* mem.h - the memory a machine has available, to refuse what cannot fit before allocating it. */
#ifndef UTIL_MEM_H
#define UTIL_MEM_H
#include <stddef.h>

/* The variable that, set, replaces the machine's figure (for tests). */
#define MEM_LIMIT_ENV "RNNLAB_MEMORY_LIMIT"

/* Bytes available for new allocations: MEM_LIMIT_ENV when set (bytes, or
 * a number with a K, M, G or T suffix in binary units: "1.5G"), else
 * MemAvailable from /proc/meminfo.  Returns 1 with *bytes set, 0 when the
 * figure is unknown, or -1 with a one-line message when MEM_LIMIT_ENV is
 * not a size. */
int mem_available(double *bytes, char *err, size_t errlen);

/* Parses a size as MEM_LIMIT_ENV takes it; returns 0, or -1 when s is not
 * one. */
int mem_parse(const char *s, double *bytes);

/* bytes for people: "412.3 GiB", "12.0 MiB", "512 bytes". */
void mem_format(double bytes, char *buf, size_t len);

#endif
