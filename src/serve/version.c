/* version.c - loaded versions of served models (version.h). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store/session.h"
#include "engine/settings.h"
#include "serve/version.h"

static int file_id(const char *dir, const char *file, srv_file_id *id)
{
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    if (stat(path, &st) != 0)
        return -1;
    id->dev = st.st_dev;
    id->ino = st.st_ino;
    id->size = st.st_size;
    id->mtime = st.st_mtim;
    return 0;
}

int srv_ident_read(const char *dir, srv_ident *id)
{
    memset(id, 0, sizeof *id);
    if (file_id(dir, "session.json", &id->json) < 0 ||
        file_id(dir, "model.safetensors", &id->model) < 0)
        return -1;
    return 0;
}

static int same_file(const srv_file_id *a, const srv_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int srv_ident_same(const srv_ident *a, const srv_ident *b)
{
    return same_file(&a->json, &b->json) && same_file(&a->model, &b->model);
}

static void describe(srv_model_desc *d, const char *name, const trainer *t,
                     const sample_config *sc)
{
    snprintf(d->name, sizeof d->name, "%s", name);
    d->cfg = t->m->cfg;
    d->sample = *sc;
    d->step = t->step;
    d->val_loss = t->last_val_loss;
    d->best_val_loss = t->best_val_loss;
}

/* What the version keeps of a loaded trainer: the description, the
 * vocabulary (taken over) and the weights.  0, or -1 when out of memory. */
static int keep(srv_version *v, trainer *t, const char *name, const sample_config *sc)
{
    describe(&v->desc, name, t, sc);
    v->n_params = t->m->n_params;
    if (!(v->params = malloc((v->n_params ? v->n_params : 1) * sizeof(float))))
        return -1;
    t->be->download(t->be, v->params, t->m->params, v->n_params * sizeof(float));
    v->vocab = t->corp.vocab;
    t->corp.vocab = NULL;
    return 0;
}

srv_version *srv_version_load(be_backend *be, const char *dir, const char *name,
                              char *err, size_t errlen)
{
    srv_ident before, after;
    sample_config sc;
    trainer *t = NULL;
    srv_version *v = calloc(1, sizeof *v);
    int have = srv_ident_read(dir, &before) == 0;
    if (!v)
        snprintf(err, errlen, "%s: out of memory", dir);
    else if ((t = session_load(be, dir, SESSION_NO_CORPUS, &sc, err, errlen)) &&
             setting_check_session(&t->cfg, &sc, dir, err, errlen) == 0) {
        if (keep(v, t, name, &sc) < 0)
            snprintf(err, errlen, "%s: out of memory", dir);
        else if (!have || srv_ident_read(dir, &after) < 0 || !srv_ident_same(&before, &after))
            snprintf(err, errlen, "%s: changed while loading", dir);
        else {
            trainer_free(t);
            v->id = before;
            atomic_init(&v->refs, 1);
            return v;
        }
    }
    trainer_free(t);
    if (v) {
        tok_free(v->vocab);
        free(v->params);
        free(v);
    }
    return NULL;
}

srv_version *srv_version_copy(const eng_weights *w, const char *name, char *err,
                              size_t errlen)
{
    srv_version *v = calloc(1, sizeof *v);
    if (v && (v->params = malloc((w->n_params ? w->n_params : 1) * sizeof(float))) &&
        (v->vocab = tok_clone(w->vocab))) {
        snprintf(v->desc.name, sizeof v->desc.name, "%s", name);
        v->desc.cfg = w->cfg;
        v->desc.sample = w->sample;
        v->desc.step = w->step;
        v->desc.val_loss = w->val_loss;
        v->desc.best_val_loss = w->best_val_loss;
        v->n_params = w->n_params;
        memcpy(v->params, w->params, w->n_params * sizeof(float));
        atomic_init(&v->refs, 1);
        return v;
    }
    if (v)
        free(v->params);
    free(v);
    snprintf(err, errlen, "%s: out of memory", name);
    return NULL;
}

srv_version *srv_version_ref(srv_version *v)
{
    atomic_fetch_add(&v->refs, 1);
    return v;
}

void srv_version_release(srv_version *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    tok_free(v->vocab);
    free(v->params);
    free(v);
}

model *srv_version_model(const srv_version *v, be_backend *be, char *err, size_t errlen)
{
    rng_state rng;
    rng_seed(&rng, 1);      /* the draws are overwritten at once */
    model *m = model_create(be, &v->desc.cfg, &rng, err, errlen);
    if (m)
        be->upload(be, m->params, v->params, v->n_params * sizeof(float));
    return m;
}
