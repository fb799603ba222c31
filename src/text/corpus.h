/* corpus.h - a text file memory-mapped, tokenized into ids and split into
 * train / val / test ranges: val is the last val_frac of the text, test
 * the test_frac before it, train the rest.  A char corpus is split by
 * token counts; a word or BPE corpus by bytes, at a line start near each
 * cut (tok_cut), so that its tokenizer can be learned from the training
 * part alone.  The corpus knows how many bytes of text each split covers,
 * for bits per byte. */
#ifndef CORPUS_H
#define CORPUS_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "text/tok.h"

/* Where the ids came from: tokenized into memory, or a token cache file
 * (text/tokcache.h) built now or reused. */
typedef enum { CORPUS_IN_MEMORY, CORPUS_CACHE_BUILT, CORPUS_CACHE_REUSED } corpus_store;

typedef struct corpus {
    char *path;
    tok_vocab *vocab;        /* owned */
    /* The n ids, id_width bytes each (2 when the vocabulary has at most
     * 65536 tokens, else 4): read them with corpus_id or corpus_ids.  They
     * live in own (malloc'd) or in the read-only mapping map of a cache
     * file of map_len bytes. */
    const void *ids;
    unsigned id_width;
    void *own;
    void *map;
    size_t map_len;
    int map_fd;              /* the cache file, held open (and its shared
                              * lock) while map is */
    corpus_store store;
    char *cache_path;        /* the cache file, when store says one */
    size_t n;
    size_t train_begin, train_end;
    size_t test_begin, test_end;
    size_t val_begin, val_end;
    size_t unknown;          /* pieces not in a given vocabulary: skipped
                              * (char) or made <unk> (word) */
    size_t train_bytes, test_bytes, val_bytes;  /* text each split covers */
} corpus;

typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_ALL } corpus_split;

/* How a file is prepared: the token cache and what a long preparation
 * tells.  note gets one-line messages (no newline): a cache that could
 * not be used, and for texts of report_min bytes or more the cache's use
 * and a BPE sample; progress gets each stage's bytes done of total
 * (0 at its start, total at its end) for such texts.  Either may be NULL.
 * When *cancel becomes non-zero the preparation stops ("interrupted"),
 * leaving no cache file behind. */
typedef void (*corpus_note_fn)(void *ctx, const char *line);
typedef void (*corpus_progress_fn)(void *ctx, const char *stage, uint64_t done,
                                   uint64_t total);
typedef struct corpus_prep {
    char cache_dir[1024];    /* "": no cache */
    uint64_t cache_min;      /* smaller texts are not cached */
    uint64_t report_min;     /* smaller texts prepare silently */
    corpus_note_fn note;
    corpus_progress_fn progress;
    void *ctx;
    volatile sig_atomic_t *cancel;
} corpus_prep;

/* Texts below this are tokenized in memory (a cache would not pay). */
#define CORPUS_CACHE_MIN ((uint64_t)8 << 20)
/* Texts from this size on show their preparation. */
#define CORPUS_REPORT_MIN ((uint64_t)64 << 20)

/* The preparation from the environment, no callbacks: the cache in
 * $RNNLAB_CACHE_DIR ("off": no cache), else $XDG_CACHE_HOME/rnnlab, else
 * $HOME/.cache/rnnlab (no HOME: no cache); CORPUS_CACHE_MIN and
 * CORPUS_REPORT_MIN. */
void corpus_prep_default(corpus_prep *p);

/* Loads path as corpus_load (vocab given) or corpus_learn (vocab NULL,
 * a tokenizer as o says) do, through the token cache p describes (NULL:
 * none): a cache whose key matches is reused, else the text is tokenized
 * in one streaming pass into a new cache file.  A cache directory that
 * cannot be written is no error: the ids stay in memory and p->note says
 * so.  Same errors as corpus_load and corpus_learn, and "interrupted". */
int corpus_open(corpus *c, const char *path, const tok_vocab *vocab,
                const tok_options *o, double val_frac, double test_frac,
                const corpus_prep *p, char *err, size_t errlen);

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

/* Token i (i < c->n). */
static inline uint32_t corpus_id(const corpus *c, size_t i)
{
    return c->id_width == 2 ? ((const uint16_t *)c->ids)[i]
                            : ((const uint32_t *)c->ids)[i];
}
/* Copies tokens [begin, begin + n) to out. */
void corpus_ids(const corpus *c, size_t begin, size_t n, uint32_t *out);
/* Says that tokens [begin, end) will not be read again soon: the pages of
 * a cache mapping wholly inside leave this process's resident set (the
 * kernel keeps them cached; reading them again brings them back).  Ids in
 * memory stay. */
void corpus_release(const corpus *c, size_t begin, size_t end);

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
