/* tokcache.h - the token cache: a corpus tokenized once into a file that
 * later runs map read-only instead of tokenizing again (text/corpus.c
 * decides when).  One file per corpus file, tokenizer kind and split,
 * named DIR/NAME-HASH.tok; it holds a header (magic, version, id width,
 * the key, counts, split ranges and bytes), the tokenizer's options, the
 * corpus' path and the tokenizer's JSON form, then the ids (uint16 or
 * uint32, page-aligned).  A process holds a shared flock(2) on a cache
 * file while it maps it (and on the one it writes), so that removing
 * caches (tokcache_dir.h) passes over those in use.  A file is
 * written under a temporary name (.NAME-HASH.tok.tmp-HOST-PID) and renamed
 * when complete, so a reader never sees half of one; temporaries left by
 * processes of this host that are gone are removed when a cache is next
 * written.  Nothing read is trusted: sizes are checked against the header
 * and every id against the vocabulary.  Functions return 0, or -1 with a
 * one-line message in err. */
#ifndef TEXT_TOKCACHE_H
#define TEXT_TOKCACHE_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include "text/tok.h"

/* What a cache must match: the text file (device, inode, size,
 * modification time in ns), the split and the tokenizer options; and the
 * text's path, recorded to tell which corpus a cache is of. */
typedef struct tcache_key {
    uint64_t dev, ino, size, mtime_ns;
    double val_frac, test_frac;
    char opts[160];          /* canonical: "bpe vocab=1024 sample=..." */
    char path[1024];         /* absolute, set by tcache_file */
} tcache_key;

/* What a cache records of its corpus: the ids (width bytes each), where
 * train and test end (val ends at n), the unknown pieces, each split's
 * bytes of text. */
typedef struct tcache_meta {
    uint64_t n, train_end, test_end, unknown;
    uint64_t train_bytes, test_bytes, val_bytes;
    unsigned width;
} tcache_meta;

/* A cache read: its numbers, its mapping (map_len bytes; the ids at ids),
 * the file held open with its shared lock (fd) and, when it was asked
 * for, its vocabulary. */
typedef struct tcache_view {
    tcache_meta m;
    void *map;
    size_t map_len;
    int fd;
    const void *ids;
    tok_vocab *vocab;
} tcache_view;

/* Who watches a long check: progress gets the bytes done of total (may
 * be NULL); *cancel (may be NULL) stops it when non-zero. */
typedef struct tcache_watch {
    void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
    void *ctx;
    volatile sig_atomic_t *cancel;
} tcache_watch;

/* The key of the text st describes, split and tokenized as o says. */
void tcache_key_make(tcache_key *k, const struct stat *st, const tok_options *o,
                     double val_frac, double test_frac);

/* The cache file for the text at path in dir (out holds len bytes);
 * records path, resolved, in k. */
int tcache_file(char *out, size_t len, const char *dir, const char *path,
                tcache_key *k, char *err, size_t errlen);

/* Reads the cache file into v: with vocab_json (the vocabulary given) the
 * cache must hold that vocabulary, else its options must be k's and its
 * vocabulary is parsed into v->vocab (the caller's).  Returns 1 when v
 * holds the cache (the caller unmaps v->map, then closes v->fd; its last
 * use is now its access time), 0 when there is none or it
 * does not match k (why ""), or it is unusable (why says how: truncated,
 * corrupt, a token id out of range); -1 when the watch cancelled it (err).
 * The check of the ids is a stage w watches. */
int tcache_read(tcache_view *v, const char *file, const tcache_key *k,
                const char *vocab_json, const tcache_watch *w, char *why,
                size_t whylen, char *err, size_t errlen);

/* The lock on building cache file `file` in dir: a file beside it,
 * .NAME-HASH.tok.lock, held with flock(2).  Processes that want the same
 * cache at once (the ranks of an mpirun, runs started together) take it
 * in turn: the first checks the cache and builds it, the others then find
 * it built and map it.  A lock dies with its process, so one killed while
 * building frees it, and a corpus that cannot be read fails in each
 * process in turn the same way.  The holder removes the file when done. */
typedef struct tcache_lock {
    int fd;                  /* -1: not held */
    char path[1200];
} tcache_lock;
/* tcache_lock_take's answers besides 0 (held) and -1 (cancelled). */
#define TCACHE_LOCK_BUSY 1   /* another process holds it (wait 0) */
#define TCACHE_LOCK_NONE 2   /* no lock can be had (the directory cannot
                              * be made or written, a file system without
                              * flock): go on without one */
/* Takes the lock of file in dir: with wait set, waits while another
 * process holds it, until *cancel (may be NULL) becomes non-zero (then -1
 * with err "interrupted").  Returns 0 when held (l->fd >= 0), else
 * l->fd is -1. */
int tcache_lock_take(tcache_lock *l, const char *dir, const char *file, int wait,
                     volatile sig_atomic_t *cancel, char *err, size_t errlen);
/* Removes and releases a held lock; nothing when not held. */
void tcache_lock_drop(tcache_lock *l);

/* A cache file being written. */
typedef struct tcache_writer {
    int fd;
    char tmp[1200], file[1100];
    unsigned width;
    uint64_t ids_off, n;
    uint8_t *buf;            /* ids waiting to be written */
    size_t nbuf;
    int err;                 /* errno of the first failed write, or 0 */
    void *map;               /* what was written, once mapped */
    size_t map_len;
    tcache_key key;
    uint64_t vocab_size, opts_len, path_len, vocab_len;
} tcache_writer;

/* Creates dir (and its parents) and a temporary file for file, with the
 * key, the options and vocab_json written; ids of width bytes follow. */
int tcache_create(tcache_writer *w, const char *dir, const char *file,
                  const tcache_key *k, const char *vocab_json,
                  uint32_t vocab_size, char *err, size_t errlen);
/* Appends n ids (each below the vocabulary's size).  0, or -1 once a
 * write failed (the error is kept for tcache_map). */
int tcache_put(tcache_writer *w, const uint32_t *ids, size_t n);
/* Maps the ids written so far read-only: *ids points at them. */
int tcache_map(tcache_writer *w, const void **ids, char *err, size_t errlen);
/* Writes the header with m (its n and width are w's) and renames the file
 * into place; the mapping and the file with its shared lock pass to the
 * caller (*map, *map_len, to unmap; *fd, to close) and the writer is
 * done. */
int tcache_commit(tcache_writer *w, const tcache_meta *m, void **map, size_t *map_len,
                  int *fd, char *err, size_t errlen);
/* Drops an unfinished file: unmapped, closed and removed. */
void tcache_abort(tcache_writer *w);

#endif
