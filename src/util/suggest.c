/* suggest.c - nearest-name suggestions for mistyped commands, options and
 * settings. */
#include <stdint.h>
#include <string.h>

#include "util/suggest.h"

size_t suggest_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

void suggest_keep(const char *s, const char *cand, const char **best,
                  size_t *best_d)
{
    size_t d = suggest_distance(s, cand);
    if (d <= 2 && 2 * d <= strlen(cand) && d < *best_d) {
        *best = cand;
        *best_d = d;
    }
}

const char *suggest_closest(const char *s, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        suggest_keep(s, names[i], &best, &best_d);
    return best;
}
