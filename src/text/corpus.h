/* corpus.h - a text file memory-mapped, tokenized into ids and split into
 * train / val / test ranges: val is the last val_frac of the text, test
 * the test_frac before it, train the rest.  A char corpus is split by
 * token counts; a word or BPE corpus by bytes, at a line start near each
 * cut (tok_cut), so that its tokenizer can be learned from the training
 * part alone.  The corpus knows how many bytes of text each split covers,
 * for bits per byte. */
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
    size_t unknown;          /* pieces not in a given vocabulary: skipped
                              * (char) or made <unk> (word) */
    size_t train_bytes, test_bytes, val_bytes;  /* text each split covers */
} corpus;

typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_ALL } corpus_split;

/* Loads path.  With vocab NULL a char vocabulary is built from the file;
 * otherwise a copy of vocab is used and unknown pieces are skipped.
 * Returns 0, or -1 with a one-line message in err (missing, a directory,
 * unreadable, empty, not text, too few tokens for the split, bad fractions). */
int corpus_load(corpus *c, const char *path, const tok_vocab *vocab,
                double val_frac, double test_frac, char *err, size_t errlen);
/* Loads path with a new tokenizer of kind o->kind, built (word, bpe:
 * learned) from the training split alone; char from the whole text, as
 * corpus_load.  Same errors, and the tokenizer's (a word vocabulary too
 * large). */
int corpus_learn(corpus *c, const char *path, const tok_options *o,
                 double val_frac, double test_frac, char *err, size_t errlen);
/* Builds a corpus from a memory buffer (tests, primes), as corpus_load
 * and corpus_learn do from a file; same errors. */
int corpus_from_buffer(corpus *c, const uint8_t *data, size_t len,
                       const tok_vocab *vocab, double val_frac,
                       double test_frac, char *err, size_t errlen);
int corpus_learn_buffer(corpus *c, const uint8_t *data, size_t len,
                        const tok_options *o, double val_frac,
                        double test_frac, char *err, size_t errlen);
void corpus_free(corpus *c);

/* The token range of a split. */
void corpus_range(const corpus *c, corpus_split s, size_t *begin, size_t *end);
/* The bytes of text a split covers (char: its tokens' bytes; word and
 * bpe: the text between its cuts); 0 without text. */
size_t corpus_bytes(const corpus *c, corpus_split s);
/* Bits per byte of a split from a loss in nats per token: the loss in
 * bits times the split's tokens per byte, so that char, word and BPE
 * models compare (for a char model on ASCII text it is bits per
 * character).  NAN when the split has no text. */
double corpus_bits_per_byte(const corpus *c, corpus_split s, double nats);
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
