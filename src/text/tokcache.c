/* tokcache.c - the token cache file (tokcache.h): naming, checking and
 * mapping a cache, and writing one under a temporary name. */
#include "text/tokcache.h"
#include "text/tokcache_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define TCACHE_ALIGN 4096u
#define TCACHE_BUF ((size_t)1 << 20)

static unsigned id_width(uint64_t vocab_size)
{
    return vocab_size <= 65536 ? 2 : 4;
}

void tcache_key_make(tcache_key *k, const struct stat *st, const tok_options *o,
                     double val_frac, double test_frac)
{
    memset(k, 0, sizeof *k);
    k->dev = (uint64_t)st->st_dev;
    k->ino = (uint64_t)st->st_ino;
    k->size = (uint64_t)st->st_size;
    k->mtime_ns = (uint64_t)st->st_mtim.tv_sec * 1000000000ull +
                  (uint64_t)st->st_mtim.tv_nsec;
    k->val_frac = val_frac;
    k->test_frac = test_frac;
    if (o->kind == TOK_WORD)
        snprintf(k->opts, sizeof k->opts, "word min-count=%llu max-vocab=%u "
                 "lowercase=%d letters=%d", (unsigned long long)o->min_count,
                 o->max_vocab, o->lowercase, o->letters);
    else if (o->kind == TOK_BPE)
        snprintf(k->opts, sizeof k->opts, "bpe vocab=%u sample=%llu", o->bpe_vocab,
                 (unsigned long long)o->bpe_sample);
    else
        snprintf(k->opts, sizeof k->opts, "char");
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int tcache_file(char *out, size_t len, const char *dir, const char *path,
                tcache_key *k, char *err, size_t errlen)
{
    char *real = realpath(path, NULL), name[48];
    if (!real) {
        snprintf(err, errlen, "%s: cannot resolve: %s", path, strerror(errno));
        return -1;
    }
    snprintf(k->path, sizeof k->path, "%s", real);
    /* The name depends on the file, the split and the tokenizer's kind
     * (word: its options too), not on what changes with a rebuild (size,
     * time, BPE's merges), so a rebuilt cache replaces the old one. */
    size_t kind_len = strncmp(k->opts, "bpe", 3) == 0 ? 3 : strlen(k->opts);
    uint64_t h = fnv(0xcbf29ce484222325ull, real, strlen(real) + 1);
    h = fnv(h, k->opts, kind_len);
    h = fnv(h, &k->val_frac, sizeof k->val_frac);
    h = fnv(h, &k->test_frac, sizeof k->test_frac);
    const char *base = strrchr(real, '/') ? strrchr(real, '/') + 1 : real;
    size_t n = 0;
    for (; base[n] && n + 1 < sizeof name - 24; n++)
        name[n] = (base[n] == '.' || base[n] == '-' || base[n] == '_' ||
                   (base[n] >= '0' && base[n] <= '9') || ((base[n] | 0x20) >= 'a' &&
                   (base[n] | 0x20) <= 'z')) ? base[n] : '_';
    name[n] = '\0';
    free(real);
    if ((size_t)snprintf(out, len, "%s/%s-%016llx.tok", dir, name,
                         (unsigned long long)h) >= len) {
        snprintf(err, errlen, "%s: cache directory path too long", dir);
        return -1;
    }
    return 0;
}

/* ---- reading ---------------------------------------------------------- */

int tcache_read_at(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Whether h matches k (not its options). */
static int key_matches(const tcache_header *h, const tcache_key *k)
{
    return tcache_same_text(h, k->dev, k->ino, k->size, k->mtime_ns) &&
           h->val_frac == k->val_frac && h->test_frac == k->test_frac;
}

int tcache_header_ours(const tcache_header *h)
{
    return memcmp(h->magic, TCACHE_MAGIC, 8) == 0 && h->version == TCACHE_VERSION;
}

int tcache_same_text(const tcache_header *h, uint64_t dev, uint64_t ino, uint64_t size,
                     uint64_t mtime_ns)
{
    return h->dev == dev && h->ino == ino && h->size == size && h->mtime_ns == mtime_ns;
}

/* Whether the header's own numbers agree with a file of size bytes. */
static int header_sane(const tcache_header *h, uint64_t size)
{
    uint64_t meta = sizeof *h + h->opts_len + h->path_len + h->vocab_len;
    return h->width == id_width(h->vocab_size) && h->vocab_size > 0 &&
           h->opts_len < ((uint64_t)1 << 20) && h->path_len < ((uint64_t)1 << 20) &&
           h->vocab_len < ((uint64_t)1 << 32) &&
           h->ids_off % TCACHE_ALIGN == 0 && h->ids_off >= meta &&
           h->n <= (UINT64_MAX - h->ids_off) / h->width &&
           size == h->ids_off + h->n * h->width &&
           h->train_end <= h->test_end && h->test_end <= h->n;
}

char *tcache_read_string(int fd, uint64_t off, uint64_t len)
{
    char *s = malloc((size_t)len + 1);
    if (s && tcache_read_at(fd, s, (size_t)len, off) != 0) {
        free(s);
        return NULL;
    }
    if (s)
        s[len] = '\0';
    return s;
}

/* The cache's vocabulary: vocab_json when given and equal to the file's
 * (else *stale), or parsed from the file.  NULL with why, or with *stale. */
static tok_vocab *read_vocab(int fd, const tcache_header *h, const char *vocab_json,
                             int *stale, char *why, size_t whylen)
{
    char *s = tcache_read_string(fd, sizeof *h + h->opts_len + h->path_len, h->vocab_len);
    tok_vocab *v = NULL;
    if (!s) {
        snprintf(why, whylen, "cannot read its vocabulary");
        return NULL;
    }
    if (vocab_json) {
        *stale = strcmp(s, vocab_json) != 0;
        free(s);
        return NULL;
    }
    cJSON *j = cJSON_Parse(s);
    free(s);
    char e[256];
    if (!j || !(v = tok_from_json(j, e, sizeof e)))
        snprintf(why, whylen, "its vocabulary is corrupt");
    cJSON_Delete(j);
    if (v && tok_size(v) != h->vocab_size) {
        snprintf(why, whylen, "its vocabulary has %u tokens, the header says %llu",
                 tok_size(v), (unsigned long long)h->vocab_size);
        tok_free(v);
        v = NULL;
    }
    return v;
}

/* Checks every id against the vocabulary, reading (not mapping) the file
 * so that the check leaves nothing resident.  0, 1 with why when an id is
 * out of range or unreadable, -1 when cancelled. */
static int check_ids(int fd, const tcache_header *h, const tcache_watch *p,
                     char *why, size_t whylen)
{
    uint64_t total = h->n * h->width, done = 0;
    int show = p && p->progress;
    if (h->vocab_size >= ((uint64_t)1 << (8 * h->width)))
        return 0;                       /* every id fits */
    uint8_t *buf = malloc(TCACHE_BUF);
    if (!buf) {
        snprintf(why, whylen, "out of memory to check it");
        return 1;
    }
    if (show)
        p->progress(p->ctx, "checking the token cache", 0, total);
    int rc = 0;
    while (rc == 0 && done < total) {
        size_t n = total - done < TCACHE_BUF ? (size_t)(total - done) : TCACHE_BUF;
        if (p && p->cancel && *p->cancel) {
            rc = -1;
            break;
        }
        if (tcache_read_at(fd, buf, n, h->ids_off + done) != 0) {
            snprintf(why, whylen, "cannot read its ids");
            rc = 1;
        }
        for (size_t i = 0; rc == 0 && i < n; i += h->width) {
            uint32_t id;
            uint16_t id16;
            if (h->width == 2) {
                memcpy(&id16, buf + i, 2);
                id = id16;
            } else {
                memcpy(&id, buf + i, 4);
            }
            if (id >= h->vocab_size) {
                snprintf(why, whylen, "token id %u is out of range (%llu tokens)",
                         id, (unsigned long long)h->vocab_size);
                rc = 1;
            }
        }
        done += n;
        if (show && rc == 0)
            p->progress(p->ctx, "checking the token cache", done, total);
    }
    free(buf);
    return rc;
}

/* The header's numbers about the corpus. */
static tcache_meta meta_of(const tcache_header *h)
{
    return (tcache_meta){
        .n = h->n, .train_end = h->train_end, .test_end = h->test_end,
        .unknown = h->unknown, .train_bytes = h->train_bytes,
        .test_bytes = h->test_bytes, .val_bytes = h->val_bytes, .width = h->width,
    };
}

/* Reads the header of fd (size bytes) and checks it against k.  1 when it
 * matches, 0 when stale (why "") or unusable (why). */
static int read_header(int fd, uint64_t size, const tcache_key *k, const char *vocab_json,
                       tcache_header *h, char *why, size_t whylen)
{
    if (size < sizeof *h || tcache_read_at(fd, h, sizeof *h, 0) != 0) {
        snprintf(why, whylen, "truncated");
        return 0;
    }
    if (!tcache_header_ours(h)) {
        snprintf(why, whylen, "not a token cache of this version");
        return 0;
    }
    if (!key_matches(h, k))
        return 0;                       /* the text changed: stale */
    if (!header_sane(h, size)) {
        snprintf(why, whylen, "truncated or inconsistent (%llu bytes)",
                 (unsigned long long)size);
        return 0;
    }
    if (!vocab_json) {
        char *o = tcache_read_string(fd, sizeof *h, h->opts_len);
        int same = o && strcmp(o, k->opts) == 0;
        free(o);
        if (!same)
            return 0;                   /* another tokenizer: stale */
    }
    return 1;
}

int tcache_read(tcache_view *out, const char *file, const tcache_key *k,
                const char *vocab_json, const tcache_watch *p, char *why,
                size_t whylen, char *err, size_t errlen)
{
    tcache_header h;
    struct stat st;
    int stale = 0, rc;
    tok_vocab *v = NULL;
    why[0] = '\0';
    int fd = tcache_open_shared(file);
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0 ||
        !read_header(fd, (uint64_t)st.st_size, k, vocab_json, &h, why, whylen)) {
        close(fd);
        return 0;
    }
    v = read_vocab(fd, &h, vocab_json, &stale, why, whylen);
    if (stale || (!vocab_json && !v)) {
        close(fd);
        return 0;
    }
    if ((rc = check_ids(fd, &h, p, why, whylen)) != 0) {
        tok_free(v);
        close(fd);
        if (rc < 0)
            snprintf(err, errlen, "%s: interrupted", file);
        return rc < 0 ? -1 : 0;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        snprintf(why, whylen, "cannot map it: %s", strerror(errno));
        close(fd);
        tok_free(v);
        return 0;
    }
    /* the last use, for `rnnlab cache`: its access time, set whatever
     * the mount's atime policy (nothing when the file is not ours) */
    futimens(fd, (const struct timespec[2]){{.tv_nsec = UTIME_NOW},
                                            {.tv_nsec = UTIME_OMIT}});
    out->fd = fd;
    out->m = meta_of(&h);
    out->map = map;
    out->map_len = (size_t)st.st_size;
    out->ids = (const uint8_t *)map + h.ids_off;
    out->vocab = v;
    return 1;
}

int tcache_open_shared(const char *file)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    /* a remover holds it exclusively only for the moment of the unlink,
     * after which st_nlink says the file is gone */
    while (fd >= 0 && flock(fd, LOCK_SH) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != ENOLCK && errno != EOPNOTSUPP && errno != ENOSYS) {
            close(fd);
            fd = -1;
        }
        break;                  /* no flock here: go on without */
    }
    return fd;
}

/* ---- writing ---------------------------------------------------------- */

static int make_dirs(const char *dir);

/* Tries the lock once: 0 held, TCACHE_LOCK_BUSY, or TCACHE_LOCK_NONE. */
static int lock_once(tcache_lock *l)
{
    for (;;) {
        struct stat a, b;
        l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (l->fd < 0)
            return TCACHE_LOCK_NONE;
        if (flock(l->fd, LOCK_EX | LOCK_NB) != 0) {
            int busy = errno == EWOULDBLOCK || errno == EINTR;
            close(l->fd);
            l->fd = -1;
            return busy ? TCACHE_LOCK_BUSY : TCACHE_LOCK_NONE;
        }
        /* the file locked must still be the one named: a holder removes
         * it when done, and whoever waited on the removed one tries the
         * new one */
        if (fstat(l->fd, &a) == 0 && stat(l->path, &b) == 0 && a.st_dev == b.st_dev &&
            a.st_ino == b.st_ino)
            return 0;
        close(l->fd);
        l->fd = -1;
    }
}

int tcache_lock_take(tcache_lock *l, const char *dir, const char *file, int wait,
                     volatile sig_atomic_t *cancel, char *err, size_t errlen)
{
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    l->fd = -1;
    if (make_dirs(dir) != 0 ||
        snprintf(l->path, sizeof l->path, "%.*s.%s.lock", (int)(base - file), file, base)
            >= (int)sizeof l->path)
        return TCACHE_LOCK_NONE;
    for (;;) {
        int rc = lock_once(l);
        if (rc != TCACHE_LOCK_BUSY || !wait)
            return rc;
        if (cancel && *cancel) {
            snprintf(err, errlen, "interrupted");
            return -1;
        }
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
}

void tcache_lock_drop(tcache_lock *l)
{
    if (l->fd < 0)
        return;
    unlink(l->path);            /* before the release: see lock_once */
    close(l->fd);
    l->fd = -1;
}

/* mkdir -p; 0 or -1 with errno. */
static int make_dirs(const char *dir)
{
    char p[1024];
    if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(p, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Removes the temporaries in dir that processes of this host left when
 * they were killed (the pid in their name runs no more). */
static void clean_stale(const char *dir, const char *host)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char mark[300], path[1400];
    snprintf(mark, sizeof mark, ".tok.tmp-%s-", host);
    while (d && (e = readdir(d)) != NULL) {
        const char *m = e->d_name[0] == '.' ? strstr(e->d_name, mark) : NULL;
        char *end;
        if (!m)
            continue;
        long pid = strtol(m + strlen(mark), &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            unlink(path);
    }
    if (d)
        closedir(d);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

void tcache_host(char host[256])
{
    snprintf(host, 256, "localhost");
    gethostname(host, 255);
    host[255] = '\0';
    for (char *s = host; *s; s++)
        if (*s == '/' || *s == '-')
            *s = '_';
}

/* Opens the temporary file of w; 0 or -1 with err. */
static int open_tmp(tcache_writer *w, const char *dir, const char *file, char *err,
                    size_t errlen)
{
    char host[256];
    tcache_host(host);
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    clean_stale(dir, host);
    snprintf(w->file, sizeof w->file, "%s", file);
    snprintf(w->tmp, sizeof w->tmp, "%.*s.%s.tmp-%s-%ld", (int)(base - file), file,
             base, host, (long)getpid());
    w->fd = open(w->tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    flock(w->fd, LOCK_SH);      /* in use from the start (tokcache.h) */
    return 0;
}

int tcache_create(tcache_writer *w, const char *dir, const char *file,
                  const tcache_key *k, const char *vocab_json,
                  uint32_t vocab_size, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    w->key = *k;
    w->vocab_size = vocab_size;
    w->width = id_width(vocab_size);
    w->opts_len = strlen(k->opts);
    w->path_len = strlen(k->path);
    w->vocab_len = strlen(vocab_json);
    uint64_t meta = sizeof(tcache_header) + w->opts_len + w->path_len + w->vocab_len;
    w->ids_off = (meta + TCACHE_ALIGN - 1) / TCACHE_ALIGN * TCACHE_ALIGN;
    if (!(w->buf = malloc(TCACHE_BUF))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (open_tmp(w, dir, file, err, errlen) != 0) {
        free(w->buf);
        w->buf = NULL;
        return -1;
    }
    tcache_header h;
    memset(&h, 0, sizeof h);            /* no magic until committed */
    if (write_all(w->fd, &h, sizeof h) != 0 || write_all(w->fd, k->opts, w->opts_len) ||
        write_all(w->fd, k->path, w->path_len) != 0 ||
        write_all(w->fd, vocab_json, w->vocab_len) != 0 ||
        lseek(w->fd, (off_t)w->ids_off, SEEK_SET) < 0) {
        snprintf(err, errlen, "%s: %s", w->tmp, strerror(errno));
        tcache_abort(w);
        return -1;
    }
    return 0;
}

static int flush(tcache_writer *w)
{
    if (w->nbuf && !w->err && write_all(w->fd, w->buf, w->nbuf) != 0)
        w->err = errno ? errno : EIO;
    w->nbuf = 0;
    return w->err ? -1 : 0;
}

int tcache_put(tcache_writer *w, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n && !w->err; i++) {
        if (w->nbuf + w->width > TCACHE_BUF && flush(w) != 0)
            break;
        if (w->width == 2) {
            uint16_t x = (uint16_t)ids[i];
            memcpy(w->buf + w->nbuf, &x, 2);
        } else {
            memcpy(w->buf + w->nbuf, &ids[i], 4);
        }
        w->nbuf += w->width;
    }
    w->n += n;
    return w->err ? -1 : 0;
}

int tcache_map(tcache_writer *w, const void **ids, char *err, size_t errlen)
{
    if (flush(w) != 0) {
        snprintf(err, errlen, "%s: %s", w->tmp, strerror(w->err));
        return -1;
    }
    w->map_len = (size_t)(w->ids_off + w->n * w->width);
    w->map = mmap(NULL, w->map_len, PROT_READ, MAP_SHARED, w->fd, 0);
    if (w->map == MAP_FAILED) {
        w->map = NULL;
        snprintf(err, errlen, "%s: cannot map: %s", w->tmp, strerror(errno));
        return -1;
    }
    *ids = (const uint8_t *)w->map + w->ids_off;
    return 0;
}

int tcache_commit(tcache_writer *w, const tcache_meta *c, void **map, size_t *map_len,
                  int *fd, char *err, size_t errlen)
{
    tcache_header h = {
        .version = TCACHE_VERSION, .width = w->width,
        .dev = w->key.dev, .ino = w->key.ino, .size = w->key.size,
        .mtime_ns = w->key.mtime_ns, .val_frac = w->key.val_frac,
        .test_frac = w->key.test_frac, .vocab_size = w->vocab_size,
        .n = w->n, .train_end = c->train_end, .test_end = c->test_end,
        .unknown = c->unknown, .train_bytes = c->train_bytes,
        .test_bytes = c->test_bytes, .val_bytes = c->val_bytes,
        .opts_len = w->opts_len, .path_len = w->path_len, .vocab_len = w->vocab_len,
        .ids_off = w->ids_off,
    };
    memcpy(h.magic, TCACHE_MAGIC, 8);
    /* the file stays open, its shared lock held, while it is mapped */
    if (pwrite(w->fd, &h, sizeof h, 0) != (ssize_t)sizeof h ||
        rename(w->tmp, w->file) != 0) {
        snprintf(err, errlen, "%s: %s", w->tmp, strerror(errno));
        tcache_abort(w);
        return -1;
    }
    *map = w->map;
    *map_len = w->map_len;
    *fd = w->fd;
    w->fd = -1;
    w->map = NULL;
    free(w->buf);
    w->buf = NULL;
    return 0;
}

void tcache_abort(tcache_writer *w)
{
    if (w->map)
        munmap(w->map, w->map_len);
    w->map = NULL;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->tmp[0])
        unlink(w->tmp);
    w->tmp[0] = '\0';
    free(w->buf);
    w->buf = NULL;
}
