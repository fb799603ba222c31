/* tokcache_dir.h - the token cache directory as a whole: what caches it
 * holds (the corpus, tokenizer, size and last use of each, and whether its
 * corpus is still the text it was made from) and their removal.  A cache
 * another process maps, writes or is building (tokcache.h: its shared
 * flock, the build lock beside it) is never removed; a remover holds the
 * file's lock exclusively for the moment of the unlink, so a process
 * opening it then finds it gone and builds it again.  Nothing here
 * prints. */
#ifndef TEXT_TOKCACHE_DIR_H
#define TEXT_TOKCACHE_DIR_H
#include <stdint.h>
#include <time.h>

/* What a file of the directory is. */
typedef enum {
    TCACHE_CURRENT,          /* a cache of its corpus as the file is now */
    TCACHE_CHANGED,          /* its corpus changed since (size, time, inode) */
    TCACHE_GONE,             /* its corpus is no longer there */
    TCACHE_FOREIGN,          /* another version's cache, or unreadable */
    TCACHE_UNFINISHED,       /* a temporary (.NAME-HASH.tok.tmp-HOST-PID) */
} tcache_state;

/* One file of the directory: a cache or a temporary. */
typedef struct tcache_entry {
    char file[1400];         /* its path */
    char corpus[1024];       /* the corpus' path; "" when not known */
    char opts[160];          /* the tokenizer: "char", "bpe vocab=..." */
    uint64_t bytes, tokens;
    double val_frac, test_frac;
    time_t used;             /* its last use (build or reuse) */
    tcache_state state;
    int busy;                /* in use or being written or built now */
} tcache_entry;

/* The word for a state: "current", "corpus changed", ... */
const char *tcache_state_name(tcache_state s);

/* Calls each(ctx, e) for every cache and temporary in dir, in name
 * order, until it returns non-zero (then that value).  A directory that
 * does not exist holds none.  Returns 0, or -1 with err (unreadable, out
 * of memory). */
int tcache_list(const char *dir, int (*each)(void *ctx, const tcache_entry *e),
                void *ctx, char *err, size_t errlen);

/* Removes the cache or temporary file (a path in dir) unless another
 * process holds it.  Returns 0 removed, 1 kept (in use, being written or
 * built), -1 with err (it cannot be removed). */
int tcache_remove(const char *dir, const char *file, char *err, size_t errlen);

/* Removes the lock files in dir that no process holds (those of a holder
 * that was killed); the number removed. */
int tcache_remove_stray_locks(const char *dir);

/* Removes the caches in dir of the corpus at corpus (an absolute path)
 * but keep that were made from another state of that file (no process
 * holding them); the number removed.  For a build, which knows the
 * corpus changed. */
int tcache_prune(const char *dir, const char *corpus, const char *keep);

#endif
