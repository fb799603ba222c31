/* embfile.c - libFuzzer harness for the word-vector reader: any bytes as a vector file (after a byte choosing the format and case folding, and one choosing the buffer), streamed into a small word vocabulary's rows; read again through the default buffer, an accepted file must give the same rows. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "text/emb_match.h"
#include "text/tok.h"

static tok_vocab *vocab;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char text[] = "the cat sat on the mat\nThe dog w1 w2 . , \xc3\xa9t\xc3\xa9\n";
    char err[256];
    tok_options o = tok_options_default();
    (void)argc, (void)argv;
    o.kind = TOK_WORD;
    vocab = tok_build(&o, (const uint8_t *)text, sizeof text - 1, err, sizeof err);
    if (!vocab)
        fz_fail("the harness's vocabulary: %s", err);
    return 0;
}

/* Reads the file's bytes through a buffer of the given size; returns
 * emb_fill's result with the rows (caller frees) and the report, or -1
 * with the message checked. */
static int read_rows(const uint8_t *data, size_t size, emb_format fmt, int fold,
                     size_t buffer, float **rows, emb_report *rep, int *dim)
{
    char err[512] = "";
    FILE *fp = fmemopen((void *)data, size, "rb");
    int rc = -1;
    *rows = NULL;
    if (!fp)
        return -1;
    emb_file *f = emb_open_stream(fp, "fuzz.vec", fmt, buffer, err, sizeof err);
    if (f) {
        *dim = emb_dim(f);
        if (*dim < 1 || *dim > EMB_MAX_DIM)
            fz_fail("emb_open accepts a dimension of %d", *dim);
        *rows = calloc((size_t)tok_size(vocab) * (size_t)*dim, sizeof(float));
        if (*rows) {
            rc = emb_fill(f, vocab, fold, *rows, rep, err, sizeof err);
            if (rc == 0 && (rep->found > rep->tokens || rep->folded > rep->found
                            || emb_bytes_read(f) > size))
                fz_fail("a report of %u found (%u folded) of %u tokens after %llu bytes",
                        rep->found, rep->folded, rep->tokens,
                        (unsigned long long)emb_bytes_read(f));
        }
        emb_close(f);
    }
    fclose(fp);
    if (rc != 0 && err[0])
        fz_check_message("a refused vector file", err);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    float *a, *b;
    emb_report ra, rb;
    int da = 0, db = 0;
    if (size < 3)                /* fmemopen wants a byte of file */
        return 0;
    emb_format fmt = (emb_format)(data[0] & 3);
    int fold = (data[0] >> 2) & 1;
    size_t buffer = 64 + (size_t)data[1] * 16;
    int rc = read_rows(data + 2, size - 2, fmt, fold, buffer, &a, &ra, &da);
    if (rc == 0 && read_rows(data + 2, size - 2, fmt, fold, 0, &b, &rb, &db) == 0) {
        size_t n = (size_t)tok_size(vocab) * (size_t)da;
        if (da != db || ra.found != rb.found || memcmp(a, b, n * sizeof(float)) != 0)
            fz_fail("a buffer of %zu bytes and the default one read different rows", buffer);
        free(b);
    }
    free(a);
    return 0;
}
