/* tokcache_int.h - private to the token cache (tokcache.c, tokcache_dir.c):
 * the file's header and the reads both make of it. */
#ifndef TEXT_TOKCACHE_INT_H
#define TEXT_TOKCACHE_INT_H
#include <stdint.h>

#define TCACHE_MAGIC "RNNLTOKC"
/* 2: the corpus' path after the options */
#define TCACHE_VERSION 2u

/* The file's first bytes; native byte order (the version reads wrong in
 * the other, so such a file is rebuilt).  The options (opts_len bytes),
 * the corpus' path (path_len) and the vocabulary's JSON (vocab_len)
 * follow it, then the ids at ids_off. */
typedef struct tcache_header {
    char magic[8];
    uint32_t version, width;
    uint64_t dev, ino, size, mtime_ns;
    double val_frac, test_frac;
    uint64_t vocab_size, n, train_end, test_end, unknown;
    uint64_t train_bytes, test_bytes, val_bytes;
    uint64_t opts_len, path_len, vocab_len, ids_off;
} tcache_header;

/* Whether h is a committed header of this version. */
int tcache_header_ours(const tcache_header *h);
/* Whether h was made from the text file of this device, inode, size and
 * modification time (ns). */
int tcache_same_text(const tcache_header *h, uint64_t dev, uint64_t ino, uint64_t size,
                     uint64_t mtime_ns);
/* Reads n bytes at off: 0, or -1 (short or failed). */
int tcache_read_at(int fd, void *buf, size_t n, uint64_t off);
/* Reads len bytes at off into a new NUL-terminated string, or NULL. */
char *tcache_read_string(int fd, uint64_t off, uint64_t len);
/* This host's name as temporaries carry it (.NAME-HASH.tok.tmp-HOST-PID):
 * '/' and '-' made '_'. */
void tcache_host(char host[256]);
/* Opens file for reading with a shared flock, waiting while a remover
 * holds it; without flock on its file system, just opened.  The fd, or
 * -1 (no such file, unreadable). */
int tcache_open_shared(const char *file);

#endif
