/* jscan.h - JSON syntax as cJSON 1.7 reads it, checked without allocating:
 * when cJSON_Parse returns NULL, this tells a text it would have taken
 * (memory ran out) from one it refuses (the text is at fault), so that
 * an error says which. */
#ifndef UTIL_JSCAN_H
#define UTIL_JSCAN_H
#include <stddef.h>

/* Whether the len bytes at text begin with one JSON value as cJSON reads
 * it (after a UTF-8 byte order mark and whitespace: any byte up to
 * 0x20), nested at most 1000 deep (cJSON's limit), numbers as strtod
 * reads them, \u escapes paired as UTF-16.  (cJSON 1.7.15 as released
 * reads at most 63 characters of a number; Debian's and later releases
 * read them all, as this does.)
 * Returns 1 and, when end is not NULL, where the value ends in *end;
 * otherwise 0.  What follows the value is the caller's to judge. */
int jscan_value(const char *text, size_t len, size_t *end);

#endif
