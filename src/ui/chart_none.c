/* chart_none.c - the charts of a build without cairo: none; each call
 * says how to get them. */
#include "ui/chart.h"

#include <stdio.h>

int chart_available(void)
{
    return 0;
}

int chart_format(const char *path)
{
    (void)path;
    return -1;
}

int chart_write(const char *path, const chart_line *lines, int n,
                const chart_options *opt, char *err, size_t errlen)
{
    (void)lines;
    (void)n;
    (void)opt;
    snprintf(err, errlen, "%s: rnnlab was built without cairo, so it draws no "
             "pictures (install libcairo2-dev and build it again)", path);
    return -1;
}
