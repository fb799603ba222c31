/* faultshim.c - test-only LD_PRELOAD library that counts file-system calls and allocations and makes the Nth of one kind fail (tests/faults.sh). */
/*
 * Environment:
 *   RNNLAB_FAULT_DIR=DIR      file calls count only on DIR, paths below it
 *                             and descriptors opened from them
 *   RNNLAB_FAULT=KIND:ERR:N   the Nth call of KIND fails with ERR; "N+"
 *                             fails the Nth and every later one
 *   RNNLAB_FAULT_LOG=FILE     appends "fault KIND N FUNCTION PATH" when a
 *                             fault is made, and "KIND COUNT" per kind at
 *                             exit
 *
 * Kinds and the calls they cover (as rnnlab makes them; stdio's own writes
 * happen inside libc, so its functions are caught instead):
 *   open    open openat fopen opendir       write   write pwrite fwrite fputs fputc fflush
 *   fsync   fsync fdatasync                 rename  rename renameat renameat2
 *   mkdir   mkdir mkdirat                   close   close fclose, of files written through
 *   read    read pread                      stat    stat lstat fstat fstatat
 *   mmap    mmap                            malloc  malloc calloc realloc posix_memalign
 *                                                   aligned_alloc memalign, by the main
 *                                                   thread once main has started, not
 *                                                   from inside OpenBLAS
 * ERR: ENOSPC, EIO, EACCES, EROFS, EINVAL, ENOMEM; for read also SHORT
 * (half the bytes asked for) and EOF (nothing, as at the end of a file).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

enum { K_OPEN, K_WRITE, K_FSYNC, K_RENAME, K_MKDIR, K_CLOSE, K_READ, K_STAT,
       K_MMAP, K_MALLOC, K_COUNT };
static const char *const kind_names[K_COUNT] = {
    "open", "write", "fsync", "rename", "mkdir", "close", "read", "stat",
    "mmap", "malloc",
};

/* Not errno values: what a faulty read returns instead of failing. */
enum { ERR_SHORT = -1, ERR_EOF = -2 };
static const struct { const char *name; int err; } err_names[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EACCES", EACCES}, {"EROFS", EROFS},
    {"EINVAL", EINVAL}, {"ENOMEM", ENOMEM}, {"SHORT", ERR_SHORT}, {"EOF", ERR_EOF},
};

#define MAX_FD 4096
#define FD_WATCHED 1
#define FD_WRITTEN 2

static struct {
    pthread_mutex_t lock;
    char dir[4096];
    size_t dirlen;
    int kind, err, repeat;
    long at;
    long counts[K_COUNT];
    char log[4096];
    unsigned char fds[MAX_FD];
    char *fd_path[MAX_FD];
    volatile int main_started, exiting;
} S = { .lock = PTHREAD_MUTEX_INITIALIZER, .kind = -1 };

static pthread_once_t once = PTHREAD_ONCE_INIT;
/* Set while the shim itself allocates (dlsym, its own copies), which no
 * fault may hit. */
static __thread int in_shim;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* ------------------------------------------------------------ set-up */

static void *next_fn(const char *name)
{
    in_shim++;
    void *f = dlsym(RTLD_NEXT, name);
    in_shim--;
    if (!f) {
        static const char msg[] = "faultshim: a libc function is missing\n";
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0)
            _exit(99);
        _exit(99);
    }
    return f;
}

#define REAL(name) \
    static __typeof__(name) *real_##name; \
    if (!real_##name) \
        *(void **)&real_##name = next_fn(#name)

static void die(const char *what, const char *value)
{
    fprintf(stderr, "faultshim: %s: bad value '%s'\n", what, value);
    _exit(99);
}

static int parse_err(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof err_names / sizeof err_names[0]; i++)
        if (strlen(err_names[i].name) == n && strncmp(s, err_names[i].name, n) == 0)
            return err_names[i].err;
    return 0;
}

static int parse_kind(const char *s, size_t n)
{
    for (int k = 0; k < K_COUNT; k++)
        if (strlen(kind_names[k]) == n && strncmp(s, kind_names[k], n) == 0)
            return k;
    return -1;
}

/* KIND:ERR:N or KIND:ERR:N+ */
static void parse_fault(const char *spec)
{
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    char *end;
    if (!c2)
        die("RNNLAB_FAULT", spec);
    S.kind = parse_kind(spec, (size_t)(c1 - spec));
    S.err = parse_err(c1 + 1, (size_t)(c2 - c1 - 1));
    S.at = strtol(c2 + 1, &end, 10);
    S.repeat = *end == '+';
    if (S.kind < 0 || S.err == 0 || S.at < 1 || *(end + S.repeat) != '\0')
        die("RNNLAB_FAULT", spec);
    if (S.err < 0 && S.kind != K_READ)
        die("RNNLAB_FAULT (SHORT and EOF are for read)", spec);
}

static void init(void)
{
    const char *dir = getenv("RNNLAB_FAULT_DIR");
    const char *spec = getenv("RNNLAB_FAULT");
    const char *log = getenv("RNNLAB_FAULT_LOG");
    if (dir && *dir) {
        snprintf(S.dir, sizeof S.dir, "%s", dir);
        S.dirlen = strlen(S.dir);
        while (S.dirlen > 1 && S.dir[S.dirlen - 1] == '/')
            S.dir[--S.dirlen] = '\0';
    }
    if (spec && *spec)
        parse_fault(spec);
    if (log && *log)
        snprintf(S.log, sizeof S.log, "%s", log);
}

static void setup(void)
{
    pthread_once(&once, init);
}

/* ------------------------------------------------------------ the log */

static void log_line(const char *line)
{
    REAL(open);
    REAL(write);
    REAL(close);
    if (!S.log[0])
        return;
    int fd = real_open(S.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0)
        return;
    if (real_write(fd, line, strlen(line)) < 0)
        S.log[0] = '\0';
    real_close(fd);
}

__attribute__((destructor)) static void write_counts(void)
{
    char line[64];
    S.exiting = 1;
    setup();
    for (int k = 0; k < K_COUNT; k++)
        if (S.counts[k]) {
            snprintf(line, sizeof line, "%s %ld\n", kind_names[k], S.counts[k]);
            log_line(line);
        }
}

/* ------------------------------------------------- what is watched */

static int under_dir(const char *path)
{
    return S.dirlen && strncmp(path, S.dir, S.dirlen) == 0 &&
           (path[S.dirlen] == '\0' || path[S.dirlen] == '/' || S.dirlen == 1);
}

static int watched_path(int dirfd, const char *path)
{
    setup();
    if (!path || !S.dirlen)
        return 0;
    if (path[0] == '/')
        return under_dir(path);
    if (dirfd != AT_FDCWD)
        return dirfd >= 0 && dirfd < MAX_FD && (S.fds[dirfd] & FD_WATCHED);
    char full[8192], cwd[4096];
    if (!getcwd(cwd, sizeof cwd))
        return 0;
    snprintf(full, sizeof full, "%s/%s", cwd, path);
    return under_dir(full);
}

static int watched_fd(int fd, int need)
{
    setup();
    return fd >= 0 && fd < MAX_FD && (S.fds[fd] & need) == need;
}

static void track(int fd, const char *path)
{
    if (fd < 0 || fd >= MAX_FD)
        return;
    pthread_mutex_lock(&S.lock);
    __libc_free(S.fd_path[fd]);
    S.fd_path[fd] = NULL;
    S.fds[fd] = 0;
    if (path) {
        S.fds[fd] = FD_WATCHED;
        S.fd_path[fd] = __libc_malloc(strlen(path) + 1);
        if (S.fd_path[fd])
            memcpy(S.fd_path[fd], path, strlen(path) + 1);
    }
    pthread_mutex_unlock(&S.lock);
}

static const char *fd_name(int fd)
{
    return fd >= 0 && fd < MAX_FD && S.fd_path[fd] ? S.fd_path[fd] : "?";
}

/* ------------------------------------------------------- the faults */

/* Counts a call of kind k; returns the error to make (an errno value,
 * ERR_SHORT or ERR_EOF), or 0 to let it run. */
static int hit(int k, const char *func, const char *what)
{
    char line[8400];
    int err = 0;
    pthread_mutex_lock(&S.lock);
    long n = ++S.counts[k];
    if (k == S.kind && (n == S.at || (S.repeat && n > S.at))) {
        err = S.err;
        snprintf(line, sizeof line, "fault %s %ld %s %s\n", kind_names[k], n, func,
                 what ? what : "");
        log_line(line);
    }
    pthread_mutex_unlock(&S.lock);
    return err;
}

/* hit() for a path or descriptor that is watched; on a fault sets errno
 * and returns 1. */
static int fail_path(int k, const char *func, int dirfd, const char *path)
{
    if (!watched_path(dirfd, path))
        return 0;
    int e = hit(k, func, path);
    if (e > 0)
        errno = e;
    return e > 0;
}

static int fail_fd(int k, const char *func, int fd, int need)
{
    if (!watched_fd(fd, need))
        return 0;
    int e = hit(k, func, fd_name(fd));
    if (e > 0)
        errno = e;
    return e > 0;
}

/* A write through fd, which makes its close count. */
static int fail_write(const char *func, int fd)
{
    if (fail_fd(K_WRITE, func, fd, FD_WATCHED))
        return 1;
    if (watched_fd(fd, FD_WATCHED))
        S.fds[fd] |= FD_WRITTEN;
    return 0;
}

/* ------------------------------------------------------------- opening */

static int open_common(const char *func, int dirfd, const char *path, int flags,
                       mode_t mode)
{
    REAL(openat);
    if (fail_path(K_OPEN, func, dirfd, path))
        return -1;
    int fd = real_openat(dirfd, path, flags, mode);
    if (fd >= 0)
        track(fd, watched_path(dirfd, path) ? path : NULL);
    return fd;
}

static mode_t open_mode(int flags, va_list ap)
{
    int creates = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
    return creates ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    return open_common("open", AT_FDCWD, path, flags, mode);
}

/* The 64-bit names are the same functions on 64-bit systems. */
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = open_mode(flags, ap);
    va_end(ap);
    return open_common("openat", dirfd, path, flags, mode);
}

FILE *fopen(const char *path, const char *how)
{
    REAL(fopen);
    if (fail_path(K_OPEN, "fopen", AT_FDCWD, path))
        return NULL;
    FILE *fp = real_fopen(path, how);
    if (fp)
        track(fileno(fp), watched_path(AT_FDCWD, path) ? path : NULL);
    return fp;
}

FILE *fopen64(const char *path, const char *how) __attribute__((alias("fopen")));

DIR *opendir(const char *path)
{
    REAL(opendir);
    if (fail_path(K_OPEN, "opendir", AT_FDCWD, path))
        return NULL;
    return real_opendir(path);
}

/* ------------------------------------------------------------- writing */

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(write);
    if (fail_write("write", fd))
        return -1;
    return real_write(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite);
    if (fail_write("pwrite", fd))
        return -1;
    return real_pwrite(fd, buf, n, off);
}

static int fail_stream(const char *func, FILE *fp)
{
    return fp && fail_write(func, fileno(fp));
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *fp)
{
    REAL(fwrite);
    if (fail_stream("fwrite", fp))
        return 0;
    return real_fwrite(p, size, n, fp);
}

int fputs(const char *s, FILE *fp)
{
    REAL(fputs);
    if (fail_stream("fputs", fp))
        return EOF;
    return real_fputs(s, fp);
}

int fputc(int c, FILE *fp)
{
    REAL(fputc);
    if (fail_stream("fputc", fp))
        return EOF;
    return real_fputc(c, fp);
}

int fflush(FILE *fp)
{
    REAL(fflush);
    if (fail_stream("fflush", fp))
        return EOF;
    return real_fflush(fp);
}

int fsync(int fd)
{
    REAL(fsync);
    if (fail_fd(K_FSYNC, "fsync", fd, FD_WATCHED))
        return -1;
    return real_fsync(fd);
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (fail_fd(K_FSYNC, "fdatasync", fd, FD_WATCHED))
        return -1;
    return real_fdatasync(fd);
}

/* Counts the close of fd and forgets it; returns the error to report
 * after closing (0: none).  A failed close still closes, as on Linux. */
static int close_fault(const char *func, int fd)
{
    int e = fail_fd(K_CLOSE, func, fd, FD_WATCHED | FD_WRITTEN) ? errno : 0;
    track(fd, NULL);
    return e;
}

int close(int fd)
{
    REAL(close);
    int e = close_fault("close", fd);
    int rc = real_close(fd);
    if (e)
        errno = e;
    return e ? -1 : rc;
}

int fclose(FILE *fp)
{
    REAL(fclose);
    int e = close_fault("fclose", fp ? fileno(fp) : -1);
    int rc = real_fclose(fp);
    if (e)
        errno = e;
    return e ? EOF : rc;
}

/* ------------------------------------------------------------ the tree */

static int either_watched(int fd1, const char *p1, int fd2, const char *p2)
{
    return watched_path(fd1, p1) || watched_path(fd2, p2);
}

static int fail_rename(const char *func, int fd1, const char *p1, int fd2, const char *p2)
{
    if (!either_watched(fd1, p1, fd2, p2))
        return 0;
    int e = hit(K_RENAME, func, p2);
    if (e > 0)
        errno = e;
    return e > 0;
}

int rename(const char *from, const char *to)
{
    REAL(rename);
    if (fail_rename("rename", AT_FDCWD, from, AT_FDCWD, to))
        return -1;
    return real_rename(from, to);
}

int renameat(int fd1, const char *from, int fd2, const char *to)
{
    REAL(renameat);
    if (fail_rename("renameat", fd1, from, fd2, to))
        return -1;
    return real_renameat(fd1, from, fd2, to);
}

int renameat2(int fd1, const char *from, int fd2, const char *to, unsigned flags)
{
    REAL(renameat2);
    if (fail_rename("renameat2", fd1, from, fd2, to))
        return -1;
    return real_renameat2(fd1, from, fd2, to, flags);
}

int mkdir(const char *path, mode_t mode)
{
    REAL(mkdir);
    if (fail_path(K_MKDIR, "mkdir", AT_FDCWD, path))
        return -1;
    return real_mkdir(path, mode);
}

int mkdirat(int dirfd, const char *path, mode_t mode)
{
    REAL(mkdirat);
    if (fail_path(K_MKDIR, "mkdirat", dirfd, path))
        return -1;
    return real_mkdirat(dirfd, path, mode);
}

/* ------------------------------------------------------------- reading */

/* A read of n bytes under the fault e: -1 (errno set) or the bytes to
 * read instead of n. */
static ssize_t read_fault(int fd, const char *func, size_t n, size_t *want)
{
    *want = n;
    if (!watched_fd(fd, FD_WATCHED))
        return 0;
    int e = hit(K_READ, func, fd_name(fd));
    if (e == ERR_SHORT)
        *want = n > 1 ? n / 2 : n;
    else if (e == ERR_EOF)
        *want = 0;
    else if (e > 0) {
        errno = e;
        return -1;
    }
    return 0;
}

ssize_t read(int fd, void *buf, size_t n)
{
    REAL(read);
    size_t want;
    if (read_fault(fd, "read", n, &want) < 0)
        return -1;
    return want || !n ? real_read(fd, buf, want) : 0;
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    REAL(pread);
    size_t want;
    if (read_fault(fd, "pread", n, &want) < 0)
        return -1;
    return want || !n ? real_pread(fd, buf, want, off) : 0;
}

int stat(const char *path, struct stat *sb)
{
    REAL(stat);
    if (fail_path(K_STAT, "stat", AT_FDCWD, path))
        return -1;
    return real_stat(path, sb);
}

int lstat(const char *path, struct stat *sb)
{
    REAL(lstat);
    if (fail_path(K_STAT, "lstat", AT_FDCWD, path))
        return -1;
    return real_lstat(path, sb);
}

int fstat(int fd, struct stat *sb)
{
    REAL(fstat);
    if (fail_fd(K_STAT, "fstat", fd, FD_WATCHED))
        return -1;
    return real_fstat(fd, sb);
}

int fstatat(int dirfd, const char *path, struct stat *sb, int flags)
{
    REAL(fstatat);
    if (fail_path(K_STAT, "fstatat", dirfd, path))
        return -1;
    return real_fstatat(dirfd, path, sb, flags);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    REAL(mmap);
    if (fail_fd(K_MMAP, "mmap", fd, FD_WATCHED))
        return MAP_FAILED;
    return real_mmap(addr, len, prot, flags, fd, off);
}

/* ---------------------------------------------------------- allocation */

typedef int (*main_fn)(int, char **, char **);
static main_fn program_main;

static int started_main(int argc, char **argv, char **envp)
{
    S.main_started = 1;
    return program_main(argc, argv, envp);
}

/* Allocations count from main on, so the loader's and the libraries'
 * start-up do not. */
int __libc_start_main(main_fn main, int argc, char **argv, void (*init_fn)(void),
                      void (*fini)(void), void (*rtld_fini)(void), void *stack_end)
{
    REAL(__libc_start_main);
    program_main = main;
    return real___libc_start_main(started_main, argc, argv, init_fn, fini, rtld_fini,
                                  stack_end);
}

/* Whether an allocation comes from OpenBLAS's own code.  Its small-matrix
 * kernels (0.3.21's sgemm_small_kernel_*, chosen on AVX-512 cores such as
 * Cooperlake) use malloc's result unchecked, so failing them tests
 * OpenBLAS, not rnnlab: they pass through uncounted. */
static int from_blas(const void *caller)
{
    Dl_info info;
    return caller && dladdr(caller, &info) && info.dli_fname &&
           strstr(info.dli_fname, "libopenblas") != NULL;
}

/* Allocations by the main thread only: library worker threads are not
 * rnnlab's to make robust; caller is the allocating function's return
 * address. */
static int fail_alloc(const char *func, const void *caller)
{
    if (!S.main_started || S.exiting || in_shim || gettid() != getpid())
        return 0;
    in_shim++;
    int blas = from_blas(caller);
    in_shim--;
    if (blas)
        return 0;
    setup();
    if (S.kind != K_MALLOC && !S.log[0])
        return 0;
    int e = hit(K_MALLOC, func, "");
    if (e > 0)
        errno = ENOMEM;
    return e > 0;
}

void *malloc(size_t n)
{
    return fail_alloc("malloc", __builtin_return_address(0)) ? NULL : __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    return fail_alloc("calloc", __builtin_return_address(0)) ? NULL : __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    return fail_alloc("realloc", __builtin_return_address(0)) ? NULL : __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    return fail_alloc("memalign", __builtin_return_address(0)) ? NULL : __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    return fail_alloc("aligned_alloc", __builtin_return_address(0)) ? NULL : __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)) != 0)
        return EINVAL;
    if (fail_alloc("posix_memalign", __builtin_return_address(0)))
        return ENOMEM;
    void *p = __libc_memalign(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
