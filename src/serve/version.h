/* version.h - one loaded version of a served model: what the server says
 * about it, its vocabulary, and a host copy of its weights from which each
 * worker makes its own model (a worker's backend is its own thread's).
 * A version never changes once loaded; a newer one of the same model
 * replaces it and marks it retired.  Reference counted: the model table,
 * each request on it and each worker copy hold one, and the last release
 * frees it (on whichever thread). */
#ifndef SERVE_VERSION_H
#define SERVE_VERSION_H
#include <stdatomic.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>
#include "backend/backend.h"
#include "model/model.h"
#include "decode/config.h"
#include "text/tok.h"
#include "engine/weights.h"

#define SRV_NAME_MAX 128

/* What the server says about a loaded model. */
typedef struct srv_model_desc {
    char name[SRV_NAME_MAX];
    model_config cfg;
    sample_config sample;    /* the session's sampler settings */
    long step;               /* training steps it has had */
    double val_loss;         /* the last validation loss (NAN: none) */
    double best_val_loss;    /* the best one (NAN: none) */
} srv_model_desc;

/* A file as the watcher tells it apart: a save or an upload that replaces
 * it changes at least one of these. */
typedef struct srv_file_id {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} srv_file_id;

/* The files of a session that a load reads. */
typedef struct srv_ident {
    srv_file_id json, model;
} srv_ident;

struct srv_version {
    atomic_int refs;
    atomic_int retired;      /* a newer version serves the model now */
    srv_model_desc desc;
    tok_vocab *vocab;        /* owned; read by every thread */
    float *params;           /* host copy of the weights, n_params floats */
    size_t n_params;
    srv_ident id;            /* the files it was loaded from */
};
typedef struct srv_version srv_version;

/* The identity of dir's session.json and model.safetensors.  Returns 0,
 * or -1 when either cannot be read (a save between its renames, say). */
int srv_ident_read(const char *dir, srv_ident *id);
int srv_ident_same(const srv_ident *a, const srv_ident *b);

/* Loads the session in dir (every check session_load makes) on be, a
 * backend of the calling thread's, as the model named name.  The files
 * must not change while it reads them: when their identity differs after
 * the load, it fails with "changed while loading".  Returns the version
 * (one reference, the caller's), or NULL with a one-line message. */
srv_version *srv_version_load(be_backend *be, const char *dir, const char *name,
                              char *err, size_t errlen);
/* A version of the engine's copy w (a model being trained), named name;
 * its identity is none (no files).  Returns it (one reference), or NULL
 * with a message when out of memory. */
srv_version *srv_version_copy(const eng_weights *w, const char *name, char *err,
                              size_t errlen);
srv_version *srv_version_ref(srv_version *v);
void srv_version_release(srv_version *v);

/* A model with v's weights on be (a worker's), the caller's to free with
 * model_free; NULL with a message when out of memory. */
model *srv_version_model(const srv_version *v, be_backend *be, char *err, size_t errlen);

#endif
