/* untar.c - the streaming tar reader (untar.h).  A header block is
 * gathered whole, checked, and turned into a member; its data is passed
 * through as it comes, and its padding to the next block dropped. */
#include <stdio.h>
#include <string.h>

#include "store/untar.h"

/* Offsets and widths of the header's fields (POSIX ustar). */
enum {
    H_NAME = 0, H_NAME_LEN = 100,
    H_SIZE = 124, H_SIZE_LEN = 12,
    H_CHKSUM = 148, H_CHKSUM_LEN = 8,
    H_TYPE = 156,
    H_MAGIC = 257,
    H_PREFIX = 345, H_PREFIX_LEN = 155
};

void untar_init(untar *u, const untar_ops *ops, void *ctx)
{
    memset(u, 0, sizeof *u);
    u->ops = ops;
    u->ctx = ctx;
}

static int fail(untar *u, char *err, size_t errlen, const char *what)
{
    if (u->name[0])
        snprintf(err, errlen, "tar member '%s': %s", u->name, what);
    else
        snprintf(err, errlen, "tar: %s", what);
    u->state = UNTAR_FAILED;
    return -1;
}

/* An octal field: digits, led by spaces or zeros, ended by NUL or space;
 * base-256 (GNU's for huge sizes) is refused.  0, or -1. */
static int octal(const unsigned char *f, size_t len, uint64_t *out)
{
    size_t i = 0;
    uint64_t v = 0;
    while (i < len && f[i] == ' ')
        i++;
    if (i == len || f[i] < '0' || f[i] > '7')
        return -1;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
        if (v > (UINT64_MAX >> 3))
            return -1;
        v = v << 3 | (uint64_t)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0')
            return -1;
    *out = v;
    return 0;
}

/* Whether the checksum field holds the sum of the header's bytes, the
 * field itself counted as spaces (unsigned, or signed as old tars did). */
static int checksum_ok(const unsigned char *h)
{
    uint64_t want;
    long sum_u = 0, sum_s = 0;
    if (octal(h + H_CHKSUM, H_CHKSUM_LEN, &want) < 0)
        return 0;
    for (int i = 0; i < UNTAR_BLOCK; i++) {
        int in = i >= H_CHKSUM && i < H_CHKSUM + H_CHKSUM_LEN;
        sum_u += in ? ' ' : h[i];
        sum_s += in ? ' ' : (signed char)h[i];
    }
    return (long)want == sum_u || (long)want == sum_s;
}

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/* A field of up to len bytes as text: NUL-terminated within it, or the
 * whole field; no byte below 0x20.  Returns its length, or -1. */
static int field_text(const unsigned char *f, size_t len)
{
    size_t n = 0;
    while (n < len && f[n])
        n++;
    for (size_t i = 0; i < n; i++)
        if (f[i] < 0x20 || f[i] == 0x7f)
            return -1;
    for (size_t i = n; i < len; i++)
        if (f[i])
            return -1;      /* bytes after the NUL: not a plain name */
    return (int)n;
}

/* The member's name, prefix "/" name, into u->name.  0, or -1. */
static int member_name(untar *u)
{
    const unsigned char *h = u->hdr;
    int np = field_text(h + H_PREFIX, H_PREFIX_LEN);
    int nn = field_text(h + H_NAME, H_NAME_LEN);
    int ustar = memcmp(h + H_MAGIC, "ustar", 5) == 0;
    if (!ustar)
        np = 0;             /* old tar: the prefix bytes are not a prefix */
    if (np < 0 || nn <= 0)
        return -1;
    snprintf(u->name, sizeof u->name, "%.*s%s%.*s", np, (const char *)h + H_PREFIX,
             np ? "/" : "", nn, (const char *)h + H_NAME);
    return 0;
}

/* What follows a member's header: its data, padding, or the next header;
 * a file without data ends at once. */
static int start_member(untar *u, char *err, size_t errlen)
{
    u->state = u->left ? UNTAR_DATA : u->pad ? UNTAR_PAD : UNTAR_HEADER;
    if (u->left == 0 && !u->skip && u->ops->end(u->ctx, err, errlen) < 0)
        return -1;
    return 0;
}

/* The member a complete header announces.  0, or -1. */
static int header(untar *u, char *err, size_t errlen)
{
    unsigned char *h = u->hdr;
    uint64_t size;
    u->name[0] = '\0';
    if (all_zero(h, UNTAR_BLOCK)) {
        if (++u->zeros == 2)
            u->state = UNTAR_END;
        return 0;
    }
    if (u->zeros)
        return fail(u, err, errlen, "a header after the end block");
    if (!checksum_ok(h))
        return fail(u, err, errlen, "a header with a wrong checksum (not a tar?)");
    if (member_name(u) < 0)
        return fail(u, err, errlen, "a header whose name is not plain text");
    if (octal(h + H_SIZE, H_SIZE_LEN, &size) < 0)
        return fail(u, err, errlen, "its size is not an octal number");
    u->left = size;
    u->pad = (UNTAR_BLOCK - size % UNTAR_BLOCK) % UNTAR_BLOCK;
    u->skip = 1;
    switch (h[H_TYPE]) {
    case '0': case '\0': case '7':
        u->skip = 0;
        if (u->ops->begin(u->ctx, u->name, UNTAR_FILE, size, err, errlen) < 0)
            return -1;
        break;
    case '5':
        u->left = u->pad = 0;    /* a directory's size is no data */
        if (u->ops->begin(u->ctx, u->name, UNTAR_DIR, 0, err, errlen) < 0)
            return -1;
        break;
    case 'x': case 'g':
        if (size > UNTAR_PAX_MAX)
            return fail(u, err, errlen, "a pax header too large");
        break;
    case '1': case '2':
        return fail(u, err, errlen, "a link (refused)");
    case '3': case '4': case '6':
        return fail(u, err, errlen, "a device or FIFO (refused)");
    default:
        return fail(u, err, errlen, "a member of a type other than a file or directory");
    }
    return start_member(u, err, errlen);
}

static size_t min_size(uint64_t a, size_t b)
{
    return a < b ? (size_t)a : b;
}

/* Takes up to n bytes in the current state; returns how many, or -1. */
static long step(untar *u, const unsigned char *p, size_t n, char *err, size_t errlen)
{
    size_t k;
    switch (u->state) {
    case UNTAR_HEADER:
        k = min_size(UNTAR_BLOCK - u->have, n);
        memcpy(u->hdr + u->have, p, k);
        if ((u->have += k) == UNTAR_BLOCK) {
            u->have = 0;
            if (header(u, err, errlen) < 0)
                return -1;
        }
        return (long)k;
    case UNTAR_DATA:
        k = min_size(u->left, n);
        if (!u->skip && u->ops->data(u->ctx, p, k, err, errlen) < 0)
            return -1;
        if ((u->left -= k) == 0) {
            u->state = u->pad ? UNTAR_PAD : UNTAR_HEADER;
            if (!u->skip && u->ops->end(u->ctx, err, errlen) < 0)
                return -1;
        }
        return (long)k;
    case UNTAR_PAD:
        k = min_size(u->pad, n);
        if ((u->pad -= k) == 0)
            u->state = UNTAR_HEADER;
        return (long)k;
    default:
        return (long)n;     /* after the end: ignored */
    }
}

int untar_feed(untar *u, const void *buf, size_t n, char *err, size_t errlen)
{
    const unsigned char *p = buf;
    if (u->state == UNTAR_FAILED)
        return fail(u, err, errlen, "read after an error");
    while (n > 0) {
        long k = step(u, p, n, err, errlen);
        if (k < 0) {
            u->state = UNTAR_FAILED;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int untar_finish(untar *u, char *err, size_t errlen)
{
    if (u->state == UNTAR_FAILED)
        return fail(u, err, errlen, "read after an error");
    if (u->state == UNTAR_END || (u->state == UNTAR_HEADER && u->have == 0 && u->zeros))
        return 0;
    if (u->state == UNTAR_HEADER && u->have == 0)
        return fail(u, err, errlen, "the archive has no end block (cut short?)");
    return fail(u, err, errlen, "the archive is cut short");
}
