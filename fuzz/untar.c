/* untar.c - libFuzzer harness for the streaming tar reader: any bytes as an archive, read whole and again in pieces of sizes the input picks; both readings must report the same members, data and verdict, each file's data must add up to its size, and every refusal must be a one-line message. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "store/untar.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* What a reading reports, folded into a checksum, and its bookkeeping. */
typedef struct trace {
    uint64_t sum;
    int open;                /* a file begun and not ended */
    uint64_t want, got;      /* its size, and the data so far */
    int members;
} trace;

static void mix(trace *t, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        t->sum = (t->sum ^ b[i]) * 0x100000001b3ULL;
}

static int on_begin(void *ctx, const char *name, untar_kind kind, uint64_t size, char *err,
                    size_t errlen)
{
    trace *t = ctx;
    (void)err, (void)errlen;
    if (t->open)
        fz_fail("a member begins while %s is open", name);
    size_t n = strnlen(name, UNTAR_NAME_MAX);
    if (n == 0 || n == UNTAR_NAME_MAX)
        fz_fail("a member's name is empty or not terminated");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)name[i] < 0x20)
            fz_fail("a member's name holds a control character");
    mix(t, name, n + 1);
    mix(t, &kind, sizeof kind);
    mix(t, &size, sizeof size);
    t->members++;
    if (kind == UNTAR_FILE) {
        t->open = 1;
        t->want = size;
        t->got = 0;
    }
    return 0;
}

static int on_data(void *ctx, const void *p, size_t n, char *err, size_t errlen)
{
    trace *t = ctx;
    (void)err, (void)errlen;
    if (!t->open || n == 0 || t->got + n > t->want)
        fz_fail("data outside a file, empty, or past its size");
    t->got += n;
    mix(t, p, n);
    return 0;
}

static int on_end(void *ctx, char *err, size_t errlen)
{
    trace *t = ctx;
    (void)err, (void)errlen;
    if (!t->open || t->got != t->want)
        fz_fail("a file ends with %llu of %llu bytes", (unsigned long long)t->got,
                (unsigned long long)t->want);
    t->open = 0;
    mix(t, "end", 3);
    return 0;
}

static const untar_ops ops = {on_begin, on_data, on_end};

/* Reads data in pieces of the sizes sizes[] cycles through (none: whole).
 * Returns the verdict; *t the trace. */
static int read_all(const uint8_t *data, size_t size, const uint8_t *sizes, size_t n_sizes,
                    trace *t)
{
    untar u;
    char err[512] = "";
    memset(t, 0, sizeof *t);
    untar_init(&u, &ops, t);
    int rc = 0;
    for (size_t off = 0, i = 0; off < size && rc == 0; i++) {
        size_t k = n_sizes ? (size_t)sizes[i % n_sizes] * 7 + 1 : size;
        if (k > size - off)
            k = size - off;
        rc = untar_feed(&u, data + off, k, err, sizeof err);
        off += k;
    }
    if (rc == 0)
        rc = untar_finish(&u, err, sizeof err);
    if (rc != 0)
        fz_check_message("untar", err);
    mix(t, &rc, sizeof rc);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    trace whole, pieces;
    /* the first byte says how many of the next bytes are piece sizes */
    size_t n_sizes = size ? data[0] % 8 + 1 : 0;
    if (size < 1 + n_sizes)
        return 0;
    const uint8_t *sizes = data + 1;
    data += 1 + n_sizes;
    size -= 1 + n_sizes;
    int a = read_all(data, size, NULL, 0, &whole);
    int b = read_all(data, size, sizes, n_sizes, &pieces);
    if (a != b || whole.sum != pieces.sum || whole.members != pieces.members)
        fz_fail("read whole (%d, %d members) and in pieces (%d, %d members) disagree", a,
                whole.members, b, pieces.members);
    return 0;
}
