/* models.c - the served models and their swaps (models.h). */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "device/open.h"
#include "serve/models.h"

typedef struct entry {
    char name[SRV_NAME_MAX];
    char dir[4096];
    srv_version *v;          /* in service */
    srv_ident failed;        /* files whose load failed (logged once) */
    int has_failed;
} entry;

struct srv_models {
    srv_sched *sched;
    be_backend *be;          /* the loading thread's */
    pthread_mutex_t mu;
    entry *e[SRV_MAX_MODELS];/* under mu; only the loading thread changes them */
    int n;
};

srv_models *srv_models_new(srv_sched *s, char *err, size_t errlen)
{
    srv_models *ms = calloc(1, sizeof *ms);
    if (!ms) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(ms->be = be_open("cpu", BE_FP32, NULL, err, errlen))) {
        free(ms);
        return NULL;
    }
    ms->be->set_threads(ms->be, 1);
    ms->sched = s;
    pthread_mutex_init(&ms->mu, NULL);
    return ms;
}

void srv_models_free(srv_models *ms)
{
    if (!ms)
        return;
    for (int i = 0; i < ms->n; i++) {
        srv_version_release(ms->e[i]->v);
        free(ms->e[i]);
    }
    ms->be->destroy(ms->be);
    pthread_mutex_destroy(&ms->mu);
    free(ms);
}

srv_version *srv_models_load(srv_models *ms, const char *dir, const char *name,
                             char *err, size_t errlen)
{
    return srv_version_load(ms->be, dir, name, err, errlen);
}

/* The entry named name, or NULL (under mu). */
static entry *find(srv_models *ms, const char *name)
{
    for (int i = 0; i < ms->n; i++)
        if (strcmp(ms->e[i]->name, name) == 0)
            return ms->e[i];
    return NULL;
}

/* Swaps v into e (under mu); the old version is retired. */
static void swap_in(srv_models *ms, entry *e, srv_version *v)
{
    srv_version *old = e->v;
    e->v = v;
    e->has_failed = 0;
    if (old) {
        atomic_store(&old->retired, 1);
        srv_version_release(old);
        srv_sched_nudge(ms->sched);
    }
}

int srv_models_put(srv_models *ms, const char *name, const char *dir, srv_version *v)
{
    int rc = 0;
    pthread_mutex_lock(&ms->mu);
    entry *e = find(ms, name);
    if (!e && ms->n < SRV_MAX_MODELS && (e = calloc(1, sizeof *e))) {
        snprintf(e->name, sizeof e->name, "%s", name);
        ms->e[ms->n++] = e;
    }
    if (e) {
        snprintf(e->dir, sizeof e->dir, "%s", dir);
        swap_in(ms, e, v);
    } else {
        srv_version_release(v);
        rc = -1;
    }
    pthread_mutex_unlock(&ms->mu);
    return rc;
}

int srv_models_add(srv_models *ms, const char *name, const char *dir, char *err,
                   size_t errlen)
{
    srv_version *v = srv_models_load(ms, dir, name, err, errlen);
    if (!v)
        return -1;
    if (srv_models_put(ms, name, dir, v) < 0) {
        snprintf(err, errlen, "%s: more than %d models", dir, SRV_MAX_MODELS);
        return -1;
    }
    return 0;
}

int srv_models_snapshot(srv_models *ms, srv_version **out, int max)
{
    pthread_mutex_lock(&ms->mu);
    int n = ms->n < max ? ms->n : max;
    for (int i = 0; i < n; i++)
        out[i] = srv_version_ref(ms->e[i]->v);
    pthread_mutex_unlock(&ms->mu);
    return n;
}

int srv_models_count(srv_models *ms)
{
    pthread_mutex_lock(&ms->mu);
    int n = ms->n;
    pthread_mutex_unlock(&ms->mu);
    return n;
}

int srv_models_dir(srv_models *ms, const char *name, char *dir, size_t len)
{
    pthread_mutex_lock(&ms->mu);
    entry *e = find(ms, name);
    if (e)
        snprintf(dir, len, "%s", e->dir);
    pthread_mutex_unlock(&ms->mu);
    return e != NULL;
}

int srv_models_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SRV_MODEL_NAME_MAX || name[0] == '.')
        return 0;
    return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                        "0123456789._-") == n;
}

/* A sorted listing of dir's entries (sorted: the models in a stable order). */
static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int srv_models_scan(srv_models *ms, const char *dir, char *err, size_t errlen)
{
    struct dirent **list;
    char path[4200], msg[1024];
    struct stat st;
    int n = scandir(dir, &list, NULL, by_name);
    if (n < 0) {
        snprintf(err, errlen, "--model-dir %s: %s", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        snprintf(path, sizeof path, "%s/%s/session.json", dir, name);
        if (srv_models_name_ok(name) && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            int have;
            pthread_mutex_lock(&ms->mu);
            have = find(ms, name) != NULL;
            pthread_mutex_unlock(&ms->mu);
            snprintf(path, sizeof path, "%s/%s", dir, name);
            if (!have && srv_models_add(ms, name, path, msg, sizeof msg) < 0)
                fprintf(stderr, "rnnlab: %s: not served: %s\n", name, msg);
        }
        free(list[i]);
    }
    free(list);
    return 0;
}

/* ---- the watcher */

static void log_loss(char *buf, size_t len, double loss)
{
    if (isnan(loss))
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "%.4f", loss);
}

/* Reloads e from its directory, whose files are now id. */
static void reload(srv_models *ms, entry *e, const srv_ident *id)
{
    char err[1024], loss[32];
    srv_ident after;
    srv_version *v = srv_models_load(ms, e->dir, e->name, err, sizeof err);
    if (!v) {
        /* files that changed under the load are looked at again next time */
        if (srv_ident_read(e->dir, &after) < 0 || !srv_ident_same(id, &after))
            return;
        fprintf(stderr, "rnnlab: %s: not reloaded, step %ld serves on: %s\n", e->name,
                e->v->desc.step, err);
        pthread_mutex_lock(&ms->mu);
        e->failed = *id;
        e->has_failed = 1;
        pthread_mutex_unlock(&ms->mu);
        return;
    }
    log_loss(loss, sizeof loss, v->desc.val_loss);
    fprintf(stderr, "rnnlab: %s: reloaded %s: step %ld, validation loss %s\n", e->name,
            e->dir, v->desc.step, loss);
    pthread_mutex_lock(&ms->mu);
    swap_in(ms, e, v);
    pthread_mutex_unlock(&ms->mu);
}

void srv_models_poll(srv_models *ms)
{
    srv_ident id;
    /* entries are only added or changed by this thread: no lock to read */
    for (int i = 0; i < ms->n; i++) {
        entry *e = ms->e[i];
        if (srv_ident_read(e->dir, &id) < 0 || srv_ident_same(&id, &e->v->id) ||
            (e->has_failed && srv_ident_same(&id, &e->failed)))
            continue;
        reload(ms, e, &id);
    }
}
