/* suggest.h - "did you mean ...?": the nearest known name to a mistyped
 * one, by edit distance. */
#ifndef UTIL_SUGGEST_H
#define UTIL_SUGGEST_H
#include <stddef.h>

/* Levenshtein distance (SIZE_MAX for strings longer than 64 bytes). */
size_t suggest_distance(const char *a, const char *b);
/* Keeps cand in *best (its distance in *best_d) when it is closer to s
 * than the best so far and close enough to be a plausible typo: at most 2
 * edits, and at most half of cand's length.  Start with *best = NULL and
 * *best_d = SIZE_MAX. */
void suggest_keep(const char *s, const char *cand, const char **best,
                  size_t *best_d);
/* The closest of names[0..n-1] to s by suggest_keep's rule, or NULL. */
const char *suggest_closest(const char *s, const char *const *names, size_t n);

#endif
