/* corpus.h - a text file memory-mapped, tokenized into ids and split into
 * train / val / test ranges (val is the last val_frac of the tokens, test
 * the test_frac before it, train the rest). */
#ifndef CORPUS_H
#define CORPUS_H
#include <stddef.h>
#include <stdint.h>
#include "text/tok.h"

typedef struct corpus {
    char *path;
    tok_vocab *vocab;        /* owned */
    uint32_t *ids;           /* all tokens */
    size_t n;
    size_t train_begin, train_end;
    size_t test_begin, test_end;
    size_t val_begin, val_end;
    size_t unknown;          /* tokens skipped (not in a given vocabulary) */
} corpus;

typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_ALL } corpus_split;

/* Loads path.  With vocab NULL a char vocabulary is built from the file;
 * otherwise a copy of vocab is used and unknown pieces are skipped.
 * Returns 0, or -1 with a one-line message in err (missing, a directory,
 * unreadable, empty, not text, too few tokens for the split, bad fractions). */
int corpus_load(corpus *c, const char *path, const tok_vocab *vocab,
                double val_frac, double test_frac, char *err, size_t errlen);
/* Builds a corpus from a memory buffer (tests, primes); same errors. */
int corpus_from_buffer(corpus *c, const uint8_t *data, size_t len,
                       const tok_vocab *vocab, double val_frac,
                       double test_frac, char *err, size_t errlen);
void corpus_free(corpus *c);

/* The token range of a split. */
void corpus_range(const corpus *c, corpus_split s, size_t *begin, size_t *end);
/* Parses "train"|"val"|"test"|"all"; returns -1 when unknown. */
int corpus_split_parse(const char *s);

/* The corpus that ships with rnnlab: ./data/ when run from the source
 * tree, else the installed data directory.  Both paths, for messages. */
#define CORPUS_BUNDLED_NAME "tiny-plays.txt"
#define CORPUS_BUNDLED_LOCAL "data/" CORPUS_BUNDLED_NAME
#ifndef RNNLAB_DATADIR
#define RNNLAB_DATADIR "/usr/local/share/rnnlab"
#endif
#define CORPUS_BUNDLED_INSTALLED RNNLAB_DATADIR "/" CORPUS_BUNDLED_NAME
/* The first of the two that is a regular file, or NULL when neither is. */
const char *corpus_bundled(void);

#endif
