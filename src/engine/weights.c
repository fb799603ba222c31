/* weights.c - published copies of the engine's model (weights.h). */
#include <stdlib.h>
#include <string.h>

#include "engine/weights.h"

struct eng_vocab_ref {
    atomic_int refs;
    tok_vocab *v;
};

static eng_vocab_ref *vocab_clone(const tok_vocab *v)
{
    eng_vocab_ref *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    if (!(r->v = tok_clone(v))) {
        free(r);
        return NULL;
    }
    atomic_init(&r->refs, 1);
    return r;
}

static void vocab_release(eng_vocab_ref *r)
{
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    tok_free(r->v);
    free(r);
}

eng_weights *eng_weights_take(const trainer *t, const sample_config *sc, long serial,
                              const eng_weights *same)
{
    eng_weights *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->n_params = t->m->n_params;
    w->params = malloc((w->n_params ? w->n_params : 1) * sizeof(float));
    if (same) {
        w->vref = same->vref;
        atomic_fetch_add(&w->vref->refs, 1);
    } else {
        w->vref = vocab_clone(t->corp.vocab);
    }
    if (!w->params || !w->vref) {
        vocab_release(w->vref);
        free(w->params);
        free(w);
        return NULL;
    }
    t->be->download(t->be, w->params, t->m->params, w->n_params * sizeof(float));
    atomic_init(&w->refs, 1);
    w->serial = serial;
    w->cfg = t->m->cfg;
    w->sample = *sc;
    w->vocab = w->vref->v;
    w->step = t->step;
    w->val_loss = t->last_val_loss;
    w->best_val_loss = t->best_val_loss;
    return w;
}

eng_weights *eng_weights_ref(eng_weights *w)
{
    atomic_fetch_add(&w->refs, 1);
    return w;
}

void eng_weights_release(eng_weights *w)
{
    if (!w || atomic_fetch_sub(&w->refs, 1) != 1)
        return;
    vocab_release(w->vref);
    free(w->params);
    free(w);
}
