/* emb_speed.c - reading speed and memory of the word-vector reader: a word
 * vocabulary built from CORPUS, then VECTORS read once raw (fread through a
 * buffer of the reader's size: the peer) and once by emb_fill; prints one
 * JSON line with MB/s of both, their ratio, the coverage and the peak RSS
 * before and after the fill.
 *
 *   emb_speed CORPUS VECTORS DIM */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "text/emb_match.h"
#include "text/tok.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long peak_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *b = NULL;
    if (!f || fseek(f, 0, SEEK_END) != 0)
        return NULL;
    *n = (size_t)ftell(f);
    rewind(f);
    if ((b = malloc(*n ? *n : 1)) && fread(b, 1, *n, f) != *n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    return b;
}

/* The peer: the bytes read through one buffer, nothing parsed. */
static double raw_read(const char *path, size_t *bytes)
{
    char *buf = malloc(EMB_BUFFER);
    FILE *f = fopen(path, "rb");
    size_t got;
    double t0 = now();
    *bytes = 0;
    while (f && buf && (got = fread(buf, 1, EMB_BUFFER, f)) > 0)
        *bytes += got;
    if (f)
        fclose(f);
    free(buf);
    return now() - t0;
}

int main(int argc, char **argv)
{
    char err[512];
    size_t n, bytes;
    emb_report rep;
    if (argc != 4) {
        fprintf(stderr, "usage: emb_speed CORPUS VECTORS DIM\n");
        return 2;
    }
    char *text = slurp(argv[1], &n);
    tok_options o = tok_options_default();
    o.kind = TOK_WORD;
    tok_vocab *v = text ? tok_build(&o, (const uint8_t *)text, n, err, sizeof err) : NULL;
    free(text);
    if (!v) {
        fprintf(stderr, "emb_speed: %s\n", text ? err : "cannot read the corpus");
        return 1;
    }
    size_t dim = (size_t)atoi(argv[3]);
    float *rows = calloc((size_t)tok_size(v) * dim, sizeof(float));
    double raw_s = raw_read(argv[2], &bytes);
    long rss0 = peak_kib();
    double t0 = now();
    emb_file *f = emb_open(argv[2], EMB_AUTO, 0, err, sizeof err);
    if (!f || !rows || emb_fill(f, v, 0, rows, &rep, err, sizeof err) != 0) {
        fprintf(stderr, "emb_speed: %s\n", err);
        return 1;
    }
    double fill_s = now() - t0;
    printf("{\"file_bytes\":%zu,\"records\":%llu,\"vocab\":%u,\"found\":%u,"
           "\"raw_mb_s\":%.0f,\"fill_mb_s\":%.0f,\"fill_over_raw\":%.3f,"
           "\"peak_rss_kib_before\":%ld,\"peak_rss_kib_after\":%ld}\n",
           bytes, (unsigned long long)rep.records, rep.tokens, rep.found,
           bytes / raw_s / 1e6, bytes / fill_s / 1e6, raw_s / fill_s, rss0, peak_kib());
    emb_close(f);
    free(rows);
    tok_free(v);
    return 0;
}
