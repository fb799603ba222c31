/* prep.c - how the commands prepare a corpus file: the token cache as the
 * environment and --no-cache say, and a long preparation shown on stderr:
 * a progress bar with bytes per second and the time left on a terminal
 * (redrawn at most 10 times a second), one line per finished stage
 * otherwise. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/clock.h"

const char *cli_bytes(char buf[32], double b)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (b >= 1000 && u < 4) {
        b /= 1000;
        u++;
    }
    snprintf(buf, 32, u && b < 10 ? "%.1f %s" : "%.0f %s", b, unit[u]);
    return buf;
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    cli_warn("%s", line);
}

/* Draws the bar of the stage so far. */
static void draw(const cli_prep *c, uint64_t done, uint64_t total, double secs)
{
    char a[32], b[32], r[32], bar[21];
    int fill = total ? (int)(20.0 * (double)done / (double)total) : 20;
    double rate = secs > 0 ? (double)done / secs : 0;
    for (int i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\rrnnlab: %s [%s] %s of %s, %s/s", c->stage, bar, cli_bytes(a, (double)done),
            cli_bytes(b, (double)total), cli_bytes(r, rate));
    if (done < total && rate > 0)
        fprintf(stderr, ", %.0f s left  ", (double)(total - done) / rate);
    else
        fputs("          ", stderr);
    fflush(stderr);
}

static void progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    cli_prep *c = ctx;
    double now = clock_now();
    if (cli_messages_held())
        return;
    if (done == 0 || strcmp(stage, c->stage) != 0) {
        snprintf(c->stage, sizeof c->stage, "%s", stage);
        c->start = now;
        c->drawn = -1;
    }
    double secs = now - c->start;
    if (done >= total) {
        char a[32], r[32];
        if (c->tty && c->drawn >= 0)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "rnnlab: %s: %s in %.1f s (%s/s)\n", stage, cli_bytes(a, (double)total),
                secs, cli_bytes(r, secs > 0 ? (double)total / secs : 0));
        return;
    }
    if (!c->tty || (c->drawn >= 0 && now - c->drawn < 0.1))
        return;
    c->drawn = now;
    draw(c, done, total, secs);
}

void cli_prep_init(cli_prep *c, int cache, int quiet)
{
    memset(c, 0, sizeof *c);
    corpus_prep_default(&c->p);
    if (!cache)
        c->p.cache_dir[0] = '\0';
    c->tty = isatty(STDERR_FILENO);
    c->p.note = note;
    c->p.progress = quiet ? NULL : progress;
    c->p.ctx = c;
}
