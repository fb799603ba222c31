/* mem.c - the memory available (MemAvailable or RNNLAB_MEMORY_LIMIT), and sizes read and written for people. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/mem.h"

int mem_parse(const char *s, double *bytes)
{
    static const char units[] = "KMGT";
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || v < 0)
        return -1;
    const char *u = *end ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u && *u) {
        v *= pow(1024.0, (double)(u - units + 1));
        end++;
    }
    if (*end)
        return -1;
    *bytes = v;
    return 0;
}

/* MemAvailable from /proc/meminfo, in bytes; 0 when unknown. */
static int meminfo_available(double *bytes)
{
    FILE *fp = fopen("/proc/meminfo", "re");
    char line[256];
    int found = 0;
    if (!fp)
        return 0;
    while (!found && fgets(line, sizeof line, fp)) {
        unsigned long long kb;
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
            *bytes = (double)kb * 1024.0;
            found = 1;
        }
    }
    fclose(fp);
    return found;
}

int mem_available(double *bytes, char *err, size_t errlen)
{
    const char *limit = getenv(MEM_LIMIT_ENV);
    if (limit && *limit) {
        if (mem_parse(limit, bytes) == 0)
            return 1;
        snprintf(err, errlen, "%s: '%s' is not a size (bytes, or a number with K, M, G "
                 "or T)", MEM_LIMIT_ENV, limit);
        return -1;
    }
    return meminfo_available(bytes);
}

void mem_format(double bytes, char *buf, size_t len)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    if (bytes < 1024.0) {
        snprintf(buf, len, "%.0f bytes", bytes);
        return;
    }
    int u = 0;
    bytes /= 1024.0;
    while (u < 4 && bytes >= 1024.0) {
        bytes /= 1024.0;
        u++;
    }
    snprintf(buf, len, "%.1f %s", bytes, units[u]);
}
