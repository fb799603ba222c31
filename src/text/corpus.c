/* corpus.c - loading a text file (memory-mapped), tokenizing it and
 * splitting the ids into train / test / val ranges: by token counts for
 * char text, by bytes at the tokenizer's cut points for word and BPE text,
 * whose tokenizer is learned from the training part. */
#define _POSIX_C_SOURCE 200809L
#include "text/corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
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

/* Sets the split from the token counts of train and test (val is the
 * rest).  Returns 0, or -1 with err when a used split is too small. */
static int set_split(corpus *c, const char *what, size_t ntrain, size_t ntest,
                     double val_frac, double test_frac, char *err, size_t errlen)
{
    size_t n = c->n, nval = n - ntrain - ntest;
    if (ntrain < CORPUS_MIN_SPLIT || (val_frac > 0 && nval < CORPUS_MIN_SPLIT) ||
        (test_frac > 0 && ntest < CORPUS_MIN_SPLIT)) {
        char unk[64] = "";
        if (c->unknown)
            snprintf(unk, sizeof unk, " (%zu unknown %s)", c->unknown,
                     tok_kind_of(c->vocab) == TOK_CHAR ? "skipped" : "as <unk>");
        snprintf(err, errlen, "%s: too few tokens for the split: %zu tokens%s "
                 "give train %zu, val %zu, test %zu; each used split needs at "
                 "least %d", what, n, unk, ntrain, nval, ntest, CORPUS_MIN_SPLIT);
        return -1;
    }
    c->train_begin = 0;
    c->train_end = ntrain;
    c->test_begin = ntrain;
    c->test_end = ntrain + ntest;
    c->val_begin = ntrain + ntest;
    c->val_end = n;
    return 0;
}

/* The bytes of the tokens in [b, e). */
static size_t token_bytes(const corpus *c, size_t b, size_t e)
{
    size_t sum = 0, len;
    for (size_t i = b; i < e; i++) {
        tok_bytes(c->vocab, c->ids[i], &len);
        sum += len;
    }
    return sum;
}

/* A char corpus: split by token counts, rounded half up.  Returns 0 or
 * -1. */
static int build_char(corpus *c, const char *what, const uint8_t *data,
                      size_t len, double val_frac, double test_frac,
                      char *err, size_t errlen)
{
    c->n = tok_encode(c->vocab, data, len, c->ids, &c->unknown, NULL);
    /* A char tokenizer yields fewer ids than bytes for non-ASCII text: give
     * the slack back (a failed shrink just keeps the larger block). */
    if (c->n > 0 && c->n < len) {
        uint32_t *p = realloc(c->ids, c->n * sizeof *c->ids);
        if (p) c->ids = p;
    }
    size_t n = c->n;
    size_t nval = (size_t)(val_frac * (double)n + 0.5);
    size_t ntest = (size_t)(test_frac * (double)n + 0.5);
    size_t ntrain = nval + ntest < n ? n - nval - ntest : 0;
    if (ntrain == 0)
        ntest = 0;                      /* set_split reports too few */
    if (set_split(c, what, ntrain, ntest, val_frac, test_frac, err, errlen) != 0)
        return -1;
    c->train_bytes = token_bytes(c, c->train_begin, c->train_end);
    c->test_bytes = token_bytes(c, c->test_begin, c->test_end);
    c->val_bytes = token_bytes(c, c->val_begin, c->val_end);
    return 0;
}

/* Where a word or BPE text is cut: cut[0] ends train, cut[1] ends test. */
static void byte_cuts(tok_kind kind, const uint8_t *data, size_t len,
                      double val_frac, double test_frac, size_t cut[2])
{
    size_t nval = (size_t)(val_frac * (double)len + 0.5);
    size_t ntest = (size_t)(test_frac * (double)len + 0.5);
    if (nval > len)
        nval = len;
    if (ntest > len - nval)
        ntest = len - nval;
    cut[1] = val_frac > 0 ? tok_cut(kind, data, len, len - nval) : len;
    cut[0] = test_frac > 0 ? tok_cut(kind, data, len, len - nval - ntest) : cut[1];
    if (cut[0] > cut[1])
        cut[0] = cut[1];
}

/* A word or BPE corpus: each part between the cuts encoded on its own
 * (the cuts keep the ids those of the whole text), and an <eos> after a
 * last line without a newline.  Returns 0 or -1. */
static int build_bytes(corpus *c, const char *what, const uint8_t *data,
                       size_t len, const size_t cut[2], double val_frac,
                       double test_frac, char *err, size_t errlen)
{
    size_t at[4] = { 0, cut[0], cut[1], len }, count[3], unk;
    for (int k = 0; k < 3; k++) {
        count[k] = tok_encode(c->vocab, data + at[k], at[k + 1] - at[k],
                              c->ids + c->n, &unk, NULL);
        c->n += count[k];
        c->unknown += unk;
    }
    if (tok_eos(c->vocab) != TOK_NO_ID && data[len - 1] != '\n')
        c->ids[c->n++] = tok_eos(c->vocab);
    if (set_split(c, what, count[0], count[1], val_frac, test_frac, err, errlen) != 0)
        return -1;
    c->train_bytes = cut[0];
    c->test_bytes = cut[1] - cut[0];
    c->val_bytes = len - cut[1];
    return 0;
}

/* Checks what any text must be; 0 or -1 with err. */
static int check_text(const char *what, const uint8_t *data, size_t len,
                      char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "%s: is empty", what);
        return -1;
    }
    if (memchr(data, '\0', len)) {
        snprintf(err, errlen, "%s: looks binary (NUL bytes), expected text", what);
        return -1;
    }
    if (len >= SIZE_MAX / sizeof(uint32_t)) {
        snprintf(err, errlen, "%s: too large", what);
        return -1;
    }
    return 0;
}

/* Tokenizes data into c and sets the split; what names the source in
 * messages.  The vocabulary is a copy of vocab, else built as o says
 * (NULL: char): char from the whole text, word and bpe from the training
 * part.  c is zeroed on entry by the callers; on failure everything
 * allocated here is released again.  Returns 0 or -1. */
static int corpus_build(corpus *c, const char *what, const uint8_t *data,
                        size_t len, const tok_vocab *vocab, const tok_options *o,
                        double val_frac, double test_frac, char *err, size_t errlen)
{
    tok_options chr = tok_options_default();
    tok_kind kind = vocab ? tok_kind_of(vocab) : o ? o->kind : TOK_CHAR;
    size_t cut[2] = { len, len };
    int rc = -1;
    if (check_text(what, data, len, err, errlen) != 0)
        return -1;
    if (kind != TOK_CHAR)
        byte_cuts(kind, data, len, val_frac, test_frac, cut);
    if (vocab)
        c->vocab = tok_clone(vocab);
    else if (!(c->vocab = tok_build(o ? o : &chr, data, kind == TOK_CHAR ? len : cut[0],
                                    err, errlen)))
        return -1;
    c->ids = malloc((len + 1) * sizeof *c->ids);
    if (!c->vocab || !c->ids)
        snprintf(err, errlen, "%s: out of memory", what);
    else if (kind == TOK_CHAR)
        rc = build_char(c, what, data, len, val_frac, test_frac, err, errlen);
    else
        rc = build_bytes(c, what, data, len, cut, val_frac, test_frac, err, errlen);
    if (rc != 0) {
        tok_free(c->vocab);
        free(c->ids);
        memset(c, 0, sizeof *c);
    }
    return rc;
}

/* Maps path, a regular file of text, for reading: the mapping and its
 * length, or NULL with err set. */
static void *map_file(const char *path, size_t *len, char *err, size_t errlen)
{
    /* stat before open: opening a FIFO for reading would block. */
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT) snprintf(err, errlen, "%s: no such file", path);
        else if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(e));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, expected a text file", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        /* Pipes and devices cannot be mapped and have no size to split. */
        snprintf(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return NULL;
    }
    /* The size that counts is that of the file actually opened. */
    int stat_rc = fstat(fd, &st);
    if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path,
                 stat_rc != 0 ? strerror(errno) : "changed while being opened");
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: is empty", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
        snprintf(err, errlen, "%s: too large to map", path);
        close(fd);
        return NULL;
    }
    *len = (size_t)st.st_size;
    void *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);                          /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(e));
        return NULL;
    }
    return map;
}

/* Loads what (a path, or NULL for the buffer data) into c: vocab or o as
 * corpus_build takes them.  A buffer corpus has no file: its path is ""
 * (SESSION_NO_CORPUS). */
static int load(corpus *c, const char *path, const uint8_t *data, size_t len,
                const tok_vocab *vocab, const tok_options *o, double val_frac,
                double test_frac, char *err, size_t errlen)
{
    const char *what = path ? path : "text buffer";
    void *map = NULL;
    memset(c, 0, sizeof *c);
    if (check_fracs(what, val_frac, test_frac, err, errlen) != 0)
        return -1;
    if (path && !(map = map_file(path, &len, err, errlen)))
        return -1;
    if (!path && !data)
        len = 0;
    int rc = corpus_build(c, what, map ? map : data, len, vocab, o, val_frac,
                          test_frac, err, errlen);
    if (map)
        munmap(map, len);
    if (rc != 0)
        return -1;
    c->path = strdup(path ? path : "");
    if (!c->path) {
        snprintf(err, errlen, "%s: out of memory", what);
        corpus_free(c);
        return -1;
    }
    return 0;
}

int corpus_load(corpus *c, const char *path, const tok_vocab *vocab,
                double val_frac, double test_frac, char *err, size_t errlen)
{
    return load(c, path, NULL, 0, vocab, NULL, val_frac, test_frac, err, errlen);
}

int corpus_learn(corpus *c, const char *path, const tok_options *o,
                 double val_frac, double test_frac, char *err, size_t errlen)
{
    return load(c, path, NULL, 0, NULL, o, val_frac, test_frac, err, errlen);
}

int corpus_from_buffer(corpus *c, const uint8_t *data, size_t len,
                       const tok_vocab *vocab, double val_frac,
                       double test_frac, char *err, size_t errlen)
{
    return load(c, NULL, data, len, vocab, NULL, val_frac, test_frac, err, errlen);
}

int corpus_learn_buffer(corpus *c, const uint8_t *data, size_t len,
                        const tok_options *o, double val_frac,
                        double test_frac, char *err, size_t errlen)
{
    return load(c, NULL, data, len, NULL, o, val_frac, test_frac, err, errlen);
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

size_t corpus_bytes(const corpus *c, corpus_split s)
{
    switch (s) {
    case SPLIT_TRAIN: return c->train_bytes;
    case SPLIT_VAL: return c->val_bytes;
    case SPLIT_TEST: return c->test_bytes;
    case SPLIT_ALL: return c->train_bytes + c->test_bytes + c->val_bytes;
    }
    return 0;
}

double corpus_bits_per_byte(const corpus *c, corpus_split s, double nats)
{
    size_t b, e, bytes = corpus_bytes(c, s);
    corpus_range(c, s, &b, &e);
    if (bytes == 0 || e <= b)
        return NAN;
    return nats / M_LN2 * (double)(e - b) / (double)bytes;
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
