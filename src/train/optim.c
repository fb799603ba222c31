/* optim.c - SGD (momentum, Nesterov), Adam, AdamW, NAdam and RMSprop with
 * PyTorch's definitions; the arithmetic is in the backend so it runs where
 * the parameters live. */
#include <string.h>

#include "train/optim.h"

static const char *optim_names[] = {"sgd", "adam", "adamw", "nadam", "rmsprop"};

const char *optim_name(optim_kind k)
{
    return (unsigned)k <= OPT_RMSPROP ? optim_names[k] : "?";
}

int optim_parse(const char *s)
{
    for (int k = 0; k <= OPT_RMSPROP; k++)
        if (strcmp(s, optim_names[k]) == 0)
            return k;
    return -1;
}

optim_config optim_defaults(optim_kind k)
{
    optim_config c = {.kind = k, .lr = 1e-3f, .momentum = 0.0f, .beta1 = 0.9f,
                      .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f,
                      .alpha = 0.99f, .nesterov = 0};
    if (k == OPT_SGD)
        c.lr = 0.1f;
    else if (k == OPT_ADAMW)
        c.weight_decay = 0.01f;
    else if (k == OPT_NADAM)
        c.lr = 2e-3f;
    else if (k == OPT_RMSPROP)
        c.lr = 1e-2f;
    return c;
}

/* Which state buffers a kind keeps: m (Adam's first moment, SGD's
 * momentum buffer), v (second moment), buf (RMSprop's momentum). */
static void needs(const optim_config *c, int *m, int *v, int *buf)
{
    *m = c->kind == OPT_ADAM || c->kind == OPT_ADAMW || c->kind == OPT_NADAM ||
         (c->kind == OPT_SGD && c->momentum != 0.0f);
    *v = c->kind != OPT_SGD;
    *buf = c->kind == OPT_RMSPROP && c->momentum != 0.0f;
}

int optim_init(optim *o, be_backend *be, const optim_config *cfg, size_t n)
{
    int nm, nv, nb;
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->be = be;
    o->n = n;
    needs(cfg, &nm, &nv, &nb);
    size_t bytes = n * sizeof(float);
    if ((nm && !(o->m = be->alloc(be, bytes))) || (nv && !(o->v = be->alloc(be, bytes))) ||
        (nb && !(o->buf = be->alloc(be, bytes)))) {
        optim_free(o);
        return -1;
    }
    return 0;
}

void optim_free(optim *o)
{
    if (!o->be)
        return;
    o->be->free(o->be, o->m);
    o->be->free(o->be, o->v);
    o->be->free(o->be, o->buf);
    o->m = o->v = o->buf = NULL;
}

void optim_step(optim *o, float *w, const float *g, float lr)
{
    const optim_config *c = &o->cfg;
    be_backend *be = o->be;
    o->t++;
    switch (c->kind) {
    case OPT_SGD:
        be->sgd(be, w, g, o->m, o->n, lr, c->momentum, c->weight_decay, c->nesterov,
                o->t == 1);
        break;
    case OPT_ADAM:
    case OPT_ADAMW:
    case OPT_NADAM:
        be->adam(be, w, g, o->m, o->v, o->n, lr, c->beta1, c->beta2, c->eps,
                 c->weight_decay, c->kind == OPT_ADAMW, c->kind == OPT_NADAM, o->t);
        break;
    case OPT_RMSPROP:
        be->rmsprop(be, w, g, o->v, o->buf, o->n, lr, c->alpha, c->eps, c->momentum,
                    c->weight_decay);
        break;
    }
}

int optim_state(const optim *o, const char **names, float **bufs, int max)
{
    int k = 0;
    /* PyTorch's state names: SGD keeps its momentum in m */
    if (o->m && k < max) {
        names[k] = o->cfg.kind == OPT_SGD ? "momentum_buffer" : "exp_avg";
        bufs[k++] = o->m;
    }
    if (o->v && k < max) { names[k] = "exp_avg_sq"; bufs[k++] = o->v; }
    if (o->buf && k < max) { names[k] = "momentum_buffer"; bufs[k++] = o->buf; }
    return k;
}
