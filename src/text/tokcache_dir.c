/* tokcache_dir.c - the token cache directory (tokcache_dir.h): listing its
 * caches with their corpus and state, and removing those no process
 * holds. */
#include "text/tokcache_dir.h"
#include "text/tokcache.h"
#include "text/tokcache_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_MARK ".tok.tmp-"
#define LOCK_END ".tok.lock"

static const char *const state_names[] = {
    [TCACHE_CURRENT] = "current",
    [TCACHE_CHANGED] = "corpus changed",
    [TCACHE_GONE] = "corpus gone",
    [TCACHE_FOREIGN] = "other version",
    [TCACHE_UNFINISHED] = "unfinished",
};

const char *tcache_state_name(tcache_state s)
{
    return state_names[s];
}

static int ends_with(const char *s, const char *end)
{
    size_t n = strlen(s), m = strlen(end);
    return n >= m && strcmp(s + n - m, end) == 0;
}

/* Whether some process holds a flock on path (an existing file); 0 when
 * none does, or it is gone, or flock is not to be had. */
static int held(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), busy = 0;
    if (fd < 0)
        return 0;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        busy = errno == EWOULDBLOCK;
    close(fd);                          /* releases it */
    return busy;
}

/* The build lock's path of cache file (tokcache.h). */
static void lock_path(char *out, size_t len, const char *file)
{
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    snprintf(out, len, "%.*s.%s.lock", (int)(base - file), file, base);
}

/* Whether a temporary's writer runs on this host still (its name ends
 * -HOST-PID; the host as tokcache.c writes it). */
static int writer_alive(const char *name)
{
    char host[256], mark[300];
    tcache_host(host);
    snprintf(mark, sizeof mark, TMP_MARK "%s-", host);
    const char *m = strstr(name, mark);
    char *end;
    if (!m)
        return 0;                       /* another host's: its flock says */
    long pid = strtol(m + strlen(mark), &end, 10);
    return !*end && pid > 0 && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

/* What the cache header h (of a file opened as fd) says into e. */
static void describe(tcache_entry *e, int fd, const tcache_header *h)
{
    struct stat st;
    char *opts = tcache_read_string(fd, sizeof *h, h->opts_len);
    char *path = tcache_read_string(fd, sizeof *h + h->opts_len, h->path_len);
    snprintf(e->opts, sizeof e->opts, "%s", opts ? opts : "?");
    snprintf(e->corpus, sizeof e->corpus, "%s", path ? path : "");
    free(opts);
    free(path);
    e->tokens = h->n;
    e->val_frac = h->val_frac;
    e->test_frac = h->test_frac;
    if (stat(e->corpus, &st) != 0)
        e->state = errno == ENOENT || errno == ENOTDIR ? TCACHE_GONE : TCACHE_CHANGED;
    else
        e->state = tcache_same_text(h, (uint64_t)st.st_dev, (uint64_t)st.st_ino,
                                    (uint64_t)st.st_size,
                                    (uint64_t)st.st_mtim.tv_sec * 1000000000ull +
                                        (uint64_t)st.st_mtim.tv_nsec)
                       ? TCACHE_CURRENT : TCACHE_CHANGED;
}

/* Fills e for the file name of dir: 1 a cache or temporary, 0 another
 * file (locks, strangers). */
static int entry_of(tcache_entry *e, const char *dir, const char *name)
{
    struct stat st;
    char lock[1500];
    int tmp = name[0] == '.' && strstr(name, TMP_MARK) != NULL;
    memset(e, 0, sizeof *e);
    if (!tmp && (name[0] == '.' || !ends_with(name, ".tok")))
        return 0;
    if ((size_t)snprintf(e->file, sizeof e->file, "%s/%s", dir, name) >= sizeof e->file)
        return 0;
    int fd = open(e->file, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    e->bytes = (uint64_t)st.st_size;
    e->used = st.st_atime > st.st_mtime ? st.st_atime : st.st_mtime;
    if (tmp) {
        e->state = TCACHE_UNFINISHED;
        e->busy = held(e->file) || writer_alive(name);
    } else {
        tcache_header h;
        if (st.st_size >= (off_t)sizeof h && tcache_read_at(fd, &h, sizeof h, 0) == 0 &&
            tcache_header_ours(&h))
            describe(e, fd, &h);
        else
            e->state = TCACHE_FOREIGN;
        lock_path(lock, sizeof lock, e->file);
        e->busy = held(e->file) || held(lock);
    }
    close(fd);
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir, sorted: *names (n of them, each and the array the
 * caller's to free), or -1 with err. */
static int read_names(const char *dir, char ***names, size_t *n, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 0;
    *names = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (*n == cap) {
            char **more = realloc(*names, (cap = cap ? 2 * cap : 64) * sizeof *more);
            if (!more)
                break;
            *names = more;
        }
        if (!((*names)[*n] = strdup(de->d_name)))
            break;
        (*n)++;
    }
    int failed = de != NULL;
    closedir(d);
    if (failed)
        snprintf(err, errlen, "%s: out of memory listing it", dir);
    else if (*n)
        qsort(*names, *n, sizeof **names, by_name);
    return failed ? -1 : 0;
}

int tcache_list(const char *dir, int (*each)(void *ctx, const tcache_entry *e),
                void *ctx, char *err, size_t errlen)
{
    char **names;
    size_t n;
    int rc = read_names(dir, &names, &n, err, errlen);
    tcache_entry *e = malloc(sizeof *e);
    if (rc == 0 && !e) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && entry_of(e, dir, names[i]))
            rc = each(ctx, e);
        free(names[i]);
    }
    free(names);
    free(e);
    return rc;
}

/* Unlinks file while holding it exclusively: 0, 1 when a process holds
 * it, -1 with err. */
static int unlink_unheld(const char *file, char *err, size_t errlen)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC), rc = 0;
    if (fd < 0 && errno == ENOENT)
        return 0;                       /* gone already */
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", file, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
        rc = 1;
    else if (unlink(file) != 0 && errno != ENOENT) {
        snprintf(err, errlen, "%s: cannot remove: %s", file, strerror(errno));
        rc = -1;
    }
    close(fd);
    return rc;
}

int tcache_remove(const char *dir, const char *file, char *err, size_t errlen)
{
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    tcache_lock l = {.fd = -1};
    if (base[0] == '.' && strstr(base, TMP_MARK))
        return writer_alive(base) ? 1 : unlink_unheld(file, err, errlen);
    /* no build may start meanwhile; without a lock to be had (a file
     * system without flock, a directory not ours) the unlink says */
    int rc = tcache_lock_take(&l, dir, file, 0, NULL, err, errlen);
    if (rc == TCACHE_LOCK_BUSY)
        return 1;
    rc = unlink_unheld(file, err, errlen);
    tcache_lock_drop(&l);
    return rc;
}

int tcache_remove_stray_locks(const char *dir)
{
    char **names, err[64], path[1400];
    size_t n;
    int gone = 0;
    if (read_names(dir, &names, &n, err, sizeof err) != 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (names[i][0] == '.' && ends_with(names[i], LOCK_END) &&
            (size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) < sizeof path)
            gone += unlink_unheld(path, err, sizeof err) == 0;
        free(names[i]);
    }
    free(names);
    return gone;
}

/* tcache_prune's walk. */
typedef struct prune {
    const char *dir, *corpus, *keep;
    int gone;
} prune;

static int prune_one(void *ctx, const tcache_entry *e)
{
    prune *p = ctx;
    char err[64];
    if (e->state == TCACHE_CHANGED && !e->busy && strcmp(e->corpus, p->corpus) == 0 &&
        strcmp(e->file, p->keep) != 0)
        p->gone += tcache_remove(p->dir, e->file, err, sizeof err) == 0;
    return 0;
}

int tcache_prune(const char *dir, const char *corpus, const char *keep)
{
    char err[256];
    prune p = {.dir = dir, .corpus = corpus, .keep = keep};
    tcache_list(dir, prune_one, &p, err, sizeof err);
    return p.gone;
}
