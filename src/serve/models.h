/* models.h - the models a server serves, by name: each a session
 * directory and the version of it now in service.  A version is swapped
 * in whole (the watcher's reload of a directory another process saved
 * into, an upload): requests that hold the old one finish on it, the next
 * ones get the new one.  Loading is done by one thread at a time (the
 * starter before serving, then the live thread), on the table's own
 * backend; lookups come from any thread.  The table owns its versions'
 * references and its backend. */
#ifndef SERVE_MODELS_H
#define SERVE_MODELS_H
#include <stddef.h>
#include "serve/sched.h"
#include "serve/version.h"

#define SRV_MAX_MODELS 64

typedef struct srv_models srv_models;

/* An empty table whose retired versions nudge s's workers.  NULL with a
 * message when its backend cannot open. */
srv_models *srv_models_new(srv_sched *s, char *err, size_t errlen);
void srv_models_free(srv_models *ms);

/* Loads the session in dir and serves it as name (a new name).  Returns 0,
 * or -1 with a one-line message. */
int srv_models_add(srv_models *ms, const char *name, const char *dir, char *err,
                   size_t errlen);

/* Serves each session directory in dir (model_dir) under its own name:
 * subdirectories with a session.json whose names srv_models_name_ok
 * takes; a line on stderr for each that does not load.  Returns 0, or -1
 * with a message when dir cannot be read. */
int srv_models_scan(srv_models *ms, const char *dir, char *err, size_t errlen);

/* Whether name can name a model in a model directory: 1 to
 * SRV_MODEL_NAME_MAX of A-Z a-z 0-9 . _ -, not starting with a dot. */
#define SRV_MODEL_NAME_MAX 64
int srv_models_name_ok(const char *name);

/* References to the versions in service, in the order they were added (at
 * most max); the caller releases each.  Returns how many. */
int srv_models_snapshot(srv_models *ms, srv_version **out, int max);
int srv_models_count(srv_models *ms);

/* The directory name is served from, into dir (len bytes).  Returns 1, or
 * 0 when no model has that name. */
int srv_models_dir(srv_models *ms, const char *name, char *dir, size_t len);

/* Puts v (the caller's reference, taken over) in service as name, from
 * dir: replacing name's version, or adding name.  Returns 0, or -1 when
 * the table is full (v released). */
int srv_models_put(srv_models *ms, const char *name, const char *dir, srv_version *v);

/* Loads v from dir as name on the table's backend (the loading thread
 * only); srv_version_load's answer. */
srv_version *srv_models_load(srv_models *ms, const char *dir, const char *name,
                             char *err, size_t errlen);

/* The watcher's look: each model whose files changed since its version
 * (or its last failed load) is loaded and swapped in, a line on stderr
 * for each swap and each failed load; a load the files changed under is
 * tried again at the next look.  The loading thread only. */
void srv_models_poll(srv_models *ms);

#endif
