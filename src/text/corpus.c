/* corpus.c - loading a text file (memory-mapped), tokenizing it and
 * splitting the ids into train / test / val ranges by token counts. */
#define _POSIX_C_SOURCE 200809L
#include "text/corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The smallest split worth having: one input and one target. */
#define CORPUS_MIN_SPLIT 2

static int bad_frac(double f)
{
    return !(f >= 0.0 && f < 1.0);      /* also true for NaN */
}

/* Checks the fractions before any work is done.  Returns 0 or -1. */
static int check_fracs(const char *what, double val_frac, double test_frac,
                       char *err, size_t errlen)
{
    if (bad_frac(val_frac)) {
        snprintf(err, errlen, "%s: bad split: val fraction %g is not in [0,1)",
                 what, val_frac);
        return -1;
    }
    if (bad_frac(test_frac)) {
        snprintf(err, errlen, "%s: bad split: test fraction %g is not in [0,1)",
                 what, test_frac);
        return -1;
    }
    if (val_frac + test_frac >= 1.0) {
        snprintf(err, errlen, "%s: bad split: val %g + test %g leaves nothing "
                 "to train on", what, val_frac, test_frac);
        return -1;
    }
    return 0;
}

/* Tokenizes data into c and sets the split; what names the source in
 * messages.  c is zeroed on entry by the callers; on failure everything
 * allocated here is released again.  Returns 0 or -1. */
static int corpus_build(corpus *c, const char *what, const uint8_t *data,
                        size_t len, const tok_vocab *vocab, double val_frac,
                        double test_frac, char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "%s: is empty", what);
        return -1;
    }
    if (memchr(data, '\0', len)) {
        snprintf(err, errlen, "%s: looks binary (NUL bytes), expected text", what);
        return -1;
    }
    if (len > SIZE_MAX / sizeof *c->ids) {
        snprintf(err, errlen, "%s: too large", what);
        return -1;
    }
    c->vocab = vocab ? tok_clone(vocab) : tok_char_build(data, len);
    c->ids = malloc(len * sizeof *c->ids);
    if (!c->vocab || !c->ids) {
        snprintf(err, errlen, "%s: out of memory", what);
        goto fail;
    }
    c->n = tok_encode(c->vocab, data, len, c->ids, &c->unknown, NULL);
    /* A char tokenizer yields fewer ids than bytes for non-ASCII text: give
     * the slack back (a failed shrink just keeps the larger block). */
    if (c->n > 0 && c->n < len) {
        uint32_t *p = realloc(c->ids, c->n * sizeof *c->ids);
        if (p) c->ids = p;
    }

    size_t n = c->n;
    /* Rounded half up; the fractions are known to be in [0,1). */
    size_t nval = (size_t)(val_frac * (double)n + 0.5);
    size_t ntest = (size_t)(test_frac * (double)n + 0.5);
    size_t ntrain = nval + ntest < n ? n - nval - ntest : 0;
    if (ntrain < CORPUS_MIN_SPLIT || (val_frac > 0 && nval < CORPUS_MIN_SPLIT) ||
        (test_frac > 0 && ntest < CORPUS_MIN_SPLIT)) {
        char unk[64] = "";
        if (c->unknown)
            snprintf(unk, sizeof unk, " (%zu unknown skipped)", c->unknown);
        snprintf(err, errlen, "%s: too few tokens for the split: %zu tokens%s "
                 "give train %zu, val %zu, test %zu; each used split needs at "
                 "least %d", what, n, unk, ntrain, nval, ntest, CORPUS_MIN_SPLIT);
        goto fail;
    }
    c->train_begin = 0;
    c->train_end = ntrain;
    c->test_begin = ntrain;
    c->test_end = ntrain + ntest;
    c->val_begin = ntrain + ntest;
    c->val_end = n;
    return 0;

fail:
    tok_free(c->vocab);
    free(c->ids);
    c->vocab = NULL;
    c->ids = NULL;
    c->n = c->unknown = 0;
    return -1;
}

int corpus_load(corpus *c, const char *path, const tok_vocab *vocab,
                double val_frac, double test_frac, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (check_fracs(path, val_frac, test_frac, err, errlen) != 0) return -1;
    /* stat before open: opening a FIFO for reading would block. */
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT) snprintf(err, errlen, "%s: no such file", path);
        else if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(e));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, expected a text file", path);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        /* Pipes and devices cannot be mapped and have no size to split. */
        snprintf(err, errlen, "%s: not a regular file", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return -1;
    }
    /* The size that counts is that of the file actually opened. */
    int stat_rc = fstat(fd, &st);
    if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path,
                 stat_rc != 0 ? strerror(errno) : "changed while being opened");
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: is empty", path);
        close(fd);
        return -1;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
        snprintf(err, errlen, "%s: too large to map", path);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);                          /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(e));
        return -1;
    }
    int rc = corpus_build(c, path, map, len, vocab, val_frac, test_frac, err, errlen);
    munmap(map, len);
    if (rc != 0) return -1;
    c->path = strdup(path);
    if (!c->path) {
        snprintf(err, errlen, "%s: out of memory", path);
        corpus_free(c);
        return -1;
    }
    return 0;
}

/* A buffer corpus has no file: its path is "" (SESSION_NO_CORPUS). */
int corpus_from_buffer(corpus *c, const uint8_t *data, size_t len,
                       const tok_vocab *vocab, double val_frac,
                       double test_frac, char *err, size_t errlen)
{
    const char *what = "text buffer";
    memset(c, 0, sizeof *c);
    if (check_fracs(what, val_frac, test_frac, err, errlen) != 0) return -1;
    if (!data) len = 0;
    if (corpus_build(c, what, data, len, vocab, val_frac, test_frac, err, errlen) != 0)
        return -1;
    c->path = strdup("");
    if (!c->path) {
        snprintf(err, errlen, "%s: out of memory", what);
        corpus_free(c);
        return -1;
    }
    return 0;
}

void corpus_free(corpus *c)
{
    if (!c) return;
    free(c->path);
    tok_free(c->vocab);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

void corpus_range(const corpus *c, corpus_split s, size_t *begin, size_t *end)
{
    size_t b = 0, e = 0;
    switch (s) {
    case SPLIT_TRAIN: b = c->train_begin; e = c->train_end; break;
    case SPLIT_VAL:   b = c->val_begin;   e = c->val_end;   break;
    case SPLIT_TEST:  b = c->test_begin;  e = c->test_end;  break;
    case SPLIT_ALL:   b = 0;              e = c->n;         break;
    }
    if (begin) *begin = b;
    if (end) *end = e;
}

int corpus_split_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "train") == 0) return SPLIT_TRAIN;
    if (strcmp(s, "val") == 0) return SPLIT_VAL;
    if (strcmp(s, "test") == 0) return SPLIT_TEST;
    if (strcmp(s, "all") == 0) return SPLIT_ALL;
    return -1;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *corpus_bundled(void)
{
    if (is_regular_file(CORPUS_BUNDLED_LOCAL))
        return CORPUS_BUNDLED_LOCAL;
    if (is_regular_file(CORPUS_BUNDLED_INSTALLED))
        return CORPUS_BUNDLED_INSTALLED;
    return NULL;
}
