/* untar.h - a streaming reader of tar archives (POSIX ustar, and GNU
 * tar's headers of the same layout), uncompressed: bytes go in as they
 * come, in pieces of any size, and each regular file comes out through
 * callbacks as a name, a size and its data.  It writes nothing itself.
 * Directories are reported; pax headers ('x', 'g') are skipped (their
 * settings are not applied); links, devices, FIFOs, GNU long names and
 * other types are refused, naming the member.  Every header's checksum,
 * size and name are checked.  The reader holds no memory of its own. */
#ifndef STORE_UNTAR_H
#define STORE_UNTAR_H
#include <stddef.h>
#include <stdint.h>

#define UNTAR_BLOCK 512
#define UNTAR_NAME_MAX 256           /* prefix "/" name, with its NUL */
#define UNTAR_PAX_MAX (1 << 20)      /* bytes of a pax header skipped */

typedef enum { UNTAR_FILE, UNTAR_DIR } untar_kind;

/* The callbacks, each returning 0 to go on or -1 with a one-line message
 * in err (errlen bytes) to stop: a member begins (its data follows in
 * `data` calls summing to size, then `end`). */
typedef struct untar_ops {
    int (*begin)(void *ctx, const char *name, untar_kind kind, uint64_t size, char *err,
                 size_t errlen);
    int (*data)(void *ctx, const void *p, size_t n, char *err, size_t errlen);
    int (*end)(void *ctx, char *err, size_t errlen);
} untar_ops;

typedef enum { UNTAR_HEADER, UNTAR_DATA, UNTAR_PAD, UNTAR_END, UNTAR_FAILED } untar_state;

typedef struct untar {
    const untar_ops *ops;
    void *ctx;
    untar_state state;
    unsigned char hdr[UNTAR_BLOCK];  /* the header being gathered */
    size_t have;                     /* its bytes so far */
    uint64_t left;                   /* data bytes of the member to come */
    uint64_t pad;                    /* then padding to the block */
    int skip;                        /* the member's data is skipped */
    int zeros;                       /* zero blocks so far */
    char name[UNTAR_NAME_MAX];       /* the member being read */
} untar;

void untar_init(untar *u, const untar_ops *ops, void *ctx);
/* Reads n more bytes.  Returns 0, or -1 with a one-line message (then and
 * after, every call fails).  Bytes after the end of the archive are
 * ignored. */
int untar_feed(untar *u, const void *p, size_t n, char *err, size_t errlen);
/* The input is over: 0 when it ended with the archive's end (a zero
 * block) outside any member, else -1 with a message. */
int untar_finish(untar *u, char *err, size_t errlen);

#endif
