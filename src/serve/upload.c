/* upload.c - a session uploaded as a tar, checked and put in service
 * (upload.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "store/untar.h"
#include "serve/reply.h"
#include "serve/upload.h"

/* Past the limit, bytes still read (to answer 413) before the connection
 * is closed. */
#define DISCARD_MAX (64ULL << 20)

/* The members a session upload may hold; the first two it must. */
static const char *const members[] = {"session.json", "model.safetensors",
                                      "best.safetensors", "optimizer.safetensors"};
#define N_MEMBERS (sizeof members / sizeof members[0])

struct srv_upload {
    pthread_mutex_t mu;
    int refs;                /* under mu */
    srv_models *ms;
    char name[SRV_NAME_MAX];
    char dir[4096];          /* the temporary directory */
    char target[4096];       /* MODEL_DIR/NAME */
    int dir_fd;
    unsigned long long max, received;
    untar tar;
    int fd;                  /* the member being written, or -1 */
    int have[N_MEMBERS];     /* members written */
    int status;              /* nonzero: refused (the answer below) */
    char msg[1024];
    int installed;           /* moved into place: nothing to remove */
    srv_task task;
    /* the answer, under mu */
    int done, sleeping, watched;
    srv_waker waker;
    int answer_status;
    char *answer;
};

/* ---- the temporary directory */

/* Removes dir's session files, then dir (which fails, harmlessly, when
 * anything else is there: nothing but those files is ever removed). */
static int remove_session_dir(const char *dir)
{
    char path[4200];
    for (size_t i = 0; i < N_MEMBERS; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, members[i]);
        unlink(path);
    }
    return rmdir(dir);
}

static int member_index(const char *name)
{
    for (size_t i = 0; i < N_MEMBERS; i++)
        if (strcmp(name, members[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- the tar's members into the directory */

static int on_begin(void *ctx, const char *name, untar_kind kind, uint64_t size, char *err,
                    size_t errlen)
{
    srv_upload *u = ctx;
    const char *plain = name;
    (void)size;
    while (plain[0] == '.' && plain[1] == '/')
        plain += 2;
    if (kind == UNTAR_DIR && (!*plain || !strcmp(plain, ".")))
        return 0;           /* the archive's top: `tar -C DIR .` */
    int i = member_index(plain);
    if (kind == UNTAR_DIR || i < 0) {
        snprintf(err, errlen, "tar member '%.200s': a session upload holds only "
                 "session.json, model.safetensors, best.safetensors and "
                 "optimizer.safetensors", name);
        return -1;
    }
    u->fd = openat(u->dir_fd, members[i], O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
                   O_CLOEXEC, 0644);
    if (u->fd < 0) {
        snprintf(err, errlen, "tar member '%.200s': %s", name,
                 errno == EEXIST ? "it is in the archive twice" : strerror(errno));
        return -1;
    }
    u->have[i] = 1;
    return 0;
}

static int on_data(void *ctx, const void *p, size_t n, char *err, size_t errlen)
{
    srv_upload *u = ctx;
    const char *b = p;
    while (n > 0) {
        ssize_t k = write(u->fd, b, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err, errlen, "cannot write the upload: %s",
                     k < 0 ? strerror(errno) : "disk full");
            u->status = 507;
            return -1;
        }
        b += k;
        n -= (size_t)k;
    }
    return 0;
}

static int on_end(void *ctx, char *err, size_t errlen)
{
    srv_upload *u = ctx;
    int rc = close(u->fd);
    u->fd = -1;
    if (rc < 0) {
        snprintf(err, errlen, "cannot write the upload: %s", strerror(errno));
        u->status = 507;
    }
    return rc;
}

static const untar_ops tar_ops = {on_begin, on_data, on_end};

srv_upload *srv_upload_new(srv_models *ms, const char *model_dir, const char *name,
                           unsigned long long max, int *status, char *err, size_t errlen)
{
    srv_upload *u = calloc(1, sizeof *u);
    *status = 500;
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->refs = 1;
    u->ms = ms;
    u->max = max;
    u->fd = -1;
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->target, sizeof u->target, "%.2000s/%s", model_dir, name);
    snprintf(u->dir, sizeof u->dir, "%.2000s/.upload-%s-XXXXXX", model_dir, name);
    if (!mkdtemp(u->dir) || (u->dir_fd = open(u->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        *status = errno == ENOSPC ? 507 : 500;
        snprintf(err, errlen, "cannot make a directory in %.2000s: %s", model_dir,
                 strerror(errno));
        if (u->dir[strlen(u->dir) - 1] != 'X')
            rmdir(u->dir);
        free(u);
        return NULL;
    }
    pthread_mutex_init(&u->mu, NULL);
    untar_init(&u->tar, &tar_ops, u);
    return u;
}

static void refuse(srv_upload *u, int status, const char *msg)
{
    if (u->msg[0])
        return;             /* the first reason stands */
    u->status = status;
    snprintf(u->msg, sizeof u->msg, "%s", msg);
}

int srv_upload_feed(srv_upload *u, const void *p, size_t n)
{
    char err[512], msg[128];
    u->received += n;
    if (u->received > u->max) {
        snprintf(msg, sizeof msg, "the upload is larger than this server's limit (%llu "
                 "bytes, --max-upload)", u->max);
        u->msg[0] = '\0';  /* 413 above all */
        refuse(u, 413, msg);
        return u->received - u->max > DISCARD_MAX ? -1 : 0;
    }
    if (u->status)
        return 0;           /* refused already: the rest is read, not kept */
    if (untar_feed(&u->tar, p, n, err, sizeof err) < 0)
        refuse(u, u->status ? u->status : 400, err);
    return 0;
}

/* ---- the answer */

/* Sets the answer and wakes the HTTP side. */
static void settle(srv_upload *u, int status, char *body)
{
    pthread_mutex_lock(&u->mu);
    u->answer_status = status;
    u->answer = body;
    u->done = 1;
    int wake = u->sleeping && u->watched;
    u->sleeping = 0;
    srv_waker w = u->waker;
    pthread_mutex_unlock(&u->mu);
    if (wake)
        w.wake(w.ctx);
}

static void settle_error(srv_upload *u, int status, const char *msg)
{
    char line[1200];
    snprintf(line, sizeof line, "upload of %s: %s", u->name, msg);
    settle(u, status, srv_reply_error(status, line));
}

int srv_upload_answer(srv_upload *u, int *status, char **body)
{
    pthread_mutex_lock(&u->mu);
    int done = u->done;
    if (done) {
        *status = u->answer_status;
        *body = u->answer;
        u->answer = NULL;
    } else {
        u->sleeping = 1;
        if (u->watched)
            u->waker.sleep(u->waker.ctx);
    }
    pthread_mutex_unlock(&u->mu);
    return done;
}

void srv_upload_release(srv_upload *u)
{
    pthread_mutex_lock(&u->mu);
    u->watched = u->sleeping = 0;
    int last = --u->refs == 0;
    pthread_mutex_unlock(&u->mu);
    if (!last)
        return;
    if (u->fd >= 0)
        close(u->fd);
    close(u->dir_fd);
    if (!u->installed)
        remove_session_dir(u->dir);
    free(u->answer);
    pthread_mutex_destroy(&u->mu);
    free(u);
}

/* ---- on the loading thread */

/* msg with the temporary directory's path told as NAME. */
static void tell_as_name(const srv_upload *u, const char *msg, char *out, size_t len)
{
    size_t dl = strlen(u->dir), o = 0;
    out[0] = '\0';
    while (*msg && o + 1 < len) {
        if (strncmp(msg, u->dir, dl) == 0) {
            o += (size_t)snprintf(out + o, len - o, "%s", u->name);
            msg += dl;
        } else {
            out[o++] = *msg++;
            out[o] = '\0';
        }
    }
}

/* The written files and directory on disk before they are put in place. */
static void sync_all(srv_upload *u)
{
    for (size_t i = 0; i < N_MEMBERS; i++) {
        int fd = u->have[i] ? openat(u->dir_fd, members[i], O_RDONLY | O_CLOEXEC) : -1;
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    fsync(u->dir_fd);
}

static int exchange(const char *a, const char *b, unsigned flags)
{
#if defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
#else
    (void)a, (void)b, (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}

/* Moves the checked directory to the target: swapped with what was there
 * (then removed) or put where nothing was.  0, or -1 with a message. */
static int put_in_place(srv_upload *u, int *replaced, char *err, size_t errlen)
{
    enum { NOREPLACE = 1, EXCHANGE = 2 };   /* renameat2's flags */
    struct stat st;
    *replaced = lstat(u->target, &st) == 0;
    int rc = *replaced ? exchange(u->dir, u->target, EXCHANGE)
                       : exchange(u->dir, u->target, NOREPLACE);
    if (rc < 0 && (errno == ENOSYS || errno == EINVAL) && !*replaced)
        rc = rename(u->dir, u->target);
    if (rc < 0) {
        snprintf(err, errlen, "cannot put it in place as %.500s: %s", u->target, strerror(errno));
        return -1;
    }
    u->installed = 1;
    /* the old session now lies in the temporary directory's place */
    if (*replaced && remove_session_dir(u->dir) < 0)
        fprintf(stderr, "rnnlab: %s: the replaced session's other files are left in %s\n",
                u->name, u->dir);
    return 0;
}

/* Whether NAME can go into the table as MODEL_DIR/NAME. */
static int fits(srv_upload *u, char *err, size_t errlen)
{
    char dir[4096];
    if (srv_models_dir(u->ms, u->name, dir, sizeof dir)) {
        if (strcmp(dir, u->target) == 0)
            return 1;
        snprintf(err, errlen, "a model of that name is served from %.500s, outside the "
                 "model directory", dir);
    } else if (srv_models_count(u->ms) >= SRV_MAX_MODELS) {
        snprintf(err, errlen, "this server holds its limit of %d models", SRV_MAX_MODELS);
    } else {
        return 1;
    }
    return 0;
}

static void install(void *ctx)
{
    srv_upload *u = ctx;
    char err[1024], msg[1024];
    int replaced;
    sync_all(u);
    srv_version *v = srv_models_load(u->ms, u->dir, u->name, err, sizeof err);
    if (!v) {
        tell_as_name(u, err, msg, sizeof msg);
        settle_error(u, 422, msg);
    } else if (!fits(u, err, sizeof err)) {
        srv_version_release(v);
        settle_error(u, 409, err);
    } else if (put_in_place(u, &replaced, err, sizeof err) < 0) {
        srv_version_release(v);
        settle_error(u, 500, err);
    } else {
        long step = v->desc.step;
        char *body = srv_reply_model(&v->desc);
        srv_models_put(u->ms, u->name, u->target, v);
        fprintf(stderr, "rnnlab: %s: %s by upload: step %ld\n", u->name,
                replaced ? "replaced" : "installed", step);
        settle(u, replaced ? 200 : 201, body);
    }
    srv_upload_release(u);
}

void srv_upload_finish(srv_upload *u, srv_live *live, const srv_waker *w)
{
    char err[512];
    pthread_mutex_lock(&u->mu);
    u->waker = *w;
    u->watched = 1;
    pthread_mutex_unlock(&u->mu);
    if (!u->status && untar_finish(&u->tar, err, sizeof err) < 0)
        refuse(u, 400, err);
    if (!u->status && (!u->have[0] || !u->have[1]))
        refuse(u, 400, "the tar holds no session.json and model.safetensors");
    if (u->status) {
        settle_error(u, u->status, u->msg);
        return;
    }
    pthread_mutex_lock(&u->mu);
    u->refs++;
    pthread_mutex_unlock(&u->mu);
    u->task = (srv_task){install, u, NULL};
    srv_live_queue(live, &u->task);
}
