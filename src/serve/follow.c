/* follow.c - an engine's weights as a served model (follow.h). */
#include <stdio.h>

#include "serve/follow.h"
#include "serve/serve.h"

void srv_follow_begin(srv_follow *f, srv_models *ms, eng *e)
{
    f->ms = ms;
    f->e = e;
    f->serial = 0;
    eng_weights_watch(e, 1);
}

void srv_follow_look(void *ctx)
{
    srv_follow *f = ctx;
    char err[256];
    eng_weights *w = eng_weights_get(f->e);
    if (w && w->serial != f->serial) {
        srv_version *v = srv_version_copy(w, SERVE_FOLLOW_NAME, err, sizeof err);
        /* out of memory: the old version serves on, the next look retries */
        if (v && srv_models_put(f->ms, SERVE_FOLLOW_NAME, "", v) == 0)
            f->serial = w->serial;
    }
    eng_weights_release(w);
}

int srv_follow_serving(const srv_follow *f)
{
    return f->serial != 0;
}

void srv_follow_end(srv_follow *f)
{
    eng_weights_watch(f->e, 0);
}
