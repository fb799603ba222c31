/* tok_speed.c - how fast the tokenizers learn and encode: BPE learning
 * (merges from a text), BPE encoding and word-vocabulary building and
 * encoding of the same text, each timed once on one core with
 * CLOCK_MONOTONIC.
 *
 * Build (after make) and run from the repository root:
 *   cc -O2 -Isrc bench/tok_speed.c src/libengine.a -lcjson -lm \
 *      -o bench/out/tok_speed
 *   bench/out/tok_speed FILE [BPE_VOCAB]        (default 4352: 4096 merges)
 * bench/tok_speed.sh does both on a 10 MB text made from the shared data.
 * Prints one JSON object: bytes, merges, learn_s, encode_s, tokens,
 * tokens_per_byte, word_build_s, word_encode_s, word_vocab. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "text/tok.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 ||
        fseek(f, 0, SEEK_SET) != 0 || !(b = malloc((size_t)n)) ||
        fread(b, 1, (size_t)n, f) != (size_t)n) {
        fprintf(stderr, "tok_speed: %s: cannot read\n", path);
        exit(1);
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Builds a vocabulary of o and encodes the text with it; the seconds of
 * each go to *build and *encode, the token count is returned. */
static size_t time_kind(const tok_options *o, const uint8_t *t, size_t len,
                        uint32_t *ids, double *build, double *encode, uint32_t *size)
{
    char err[256];
    double t0 = now();
    tok_vocab *v = tok_build(o, t, len, err, sizeof err);
    if (!v) {
        fprintf(stderr, "tok_speed: %s\n", err);
        exit(1);
    }
    double t1 = now();
    size_t n = tok_encode(v, t, len, ids, NULL, NULL);
    *encode = now() - t1;
    *build = t1 - t0;
    *size = tok_size(v);
    tok_free(v);
    return n;
}

int main(int argc, char **argv)
{
    size_t len;
    double learn, enc, wb, we;
    uint32_t bsize, wsize;
    if (argc < 2) {
        fprintf(stderr, "usage: tok_speed FILE [BPE_VOCAB]\n");
        return 2;
    }
    uint8_t *t = read_all(argv[1], &len);
    uint32_t *ids = malloc(len * sizeof *ids);
    tok_options o = tok_options_default();
    o.kind = TOK_BPE;
    o.bpe_vocab = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 4352;
    if (!ids)
        return 1;
    size_t n = time_kind(&o, t, len, ids, &learn, &enc, &bsize);
    o.kind = TOK_WORD;
    time_kind(&o, t, len, ids, &wb, &we, &wsize);
    printf("{\"bytes\": %zu, \"merges\": %u, \"learn_s\": %.3f, \"encode_s\": %.3f, "
           "\"tokens\": %zu, \"tokens_per_byte\": %.4f, \"word_build_s\": %.3f, "
           "\"word_encode_s\": %.3f, \"word_vocab\": %u}\n", len, bsize - 256,
           learn, enc, n, (double)n / (double)len, wb, we, wsize);
    free(ids);
    free(t);
    return 0;
}
