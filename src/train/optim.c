/* optim.c - SGD (momentum, Nesterov), Adam, AdamW, NAdam and RMSprop with
 * PyTorch's definitions.  The per-step scalars (bias corrections, NAdam's
 * momentum schedule) are worked out here, once, in double; the elementwise
 * arithmetic is in the backend so it runs where the parameters live.  A
 * clip's factor on the gradients goes into the Adam kinds' update (one
 * pass over the gradients less); the others get the gradients scaled. */
#include <math.h>
#include <string.h>

#include "train/optim.h"

static const char *optim_names[] = {"sgd", "adam", "adamw", "nadam", "rmsprop", "ntasgd"};

const char *optim_name(optim_kind k)
{
    return (unsigned)k <= OPT_LAST ? optim_names[k] : "?";
}

int optim_parse(const char *s)
{
    for (int k = 0; k <= OPT_LAST; k++)
        if (strcmp(s, optim_names[k]) == 0)
            return k;
    return -1;
}

optim_config optim_defaults(optim_kind k)
{
    optim_config c = {.kind = k, .lr = 1e-3f, .momentum = 0.0f, .beta1 = 0.9f,
                      .beta2 = 0.999f, .eps = 1e-8f, .weight_decay = 0.0f,
                      .alpha = 0.99f, .nesterov = 0, .nonmono = 5};
    if (k == OPT_SGD || k == OPT_NTASGD)
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
    int sgd = c->kind == OPT_SGD || c->kind == OPT_NTASGD;
    *m = c->kind == OPT_ADAM || c->kind == OPT_ADAMW || c->kind == OPT_NADAM ||
         (sgd && c->momentum != 0.0f);
    /* NTASGD's iterate takes v's place */
    *v = c->kind != OPT_SGD;
    *buf = c->kind == OPT_RMSPROP && c->momentum != 0.0f;
}

int optim_buffers(const optim_config *cfg)
{
    int nm, nv, nb;
    needs(cfg, &nm, &nv, &nb);
    return nm + nv + nb;
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
    float **second = cfg->kind == OPT_NTASGD ? &o->iter : &o->v;
    if ((nm && !(o->m = be->alloc(be, bytes))) || (nv && !(*second = be->alloc(be, bytes))) ||
        (nb && !(o->buf = be->alloc(be, bytes)))) {
        optim_free(o);
        return -1;
    }
    o->best_before = INFINITY;
    return 0;
}

void optim_free(optim *o)
{
    if (!o->be)
        return;
    o->be->free(o->be, o->m);
    o->be->free(o->be, o->v);
    o->be->free(o->be, o->buf);
    o->be->free(o->be, o->iter);
    o->m = o->v = o->buf = o->iter = NULL;
}

/* NAdam's weights of the gradient (c1) and of the moment (c2) at step t.
 * PyTorch's schedule: mu_k = b1 (1 - 0.5 * 0.96^(k psi)), psi = 0.004;
 * the running product of the mu_k is recomputed from k = 1 so the
 * optimizer needs no extra state (t is small enough for this). */
static void nadam_weights(float b1, long t, float *c1, float *c2)
{
    double prod = 1.0, mt = 0.0;
    for (long k = 1; k <= t; k++) {
        mt = b1 * (1.0 - 0.5 * pow(0.96, k * 0.004));
        prod *= mt;
    }
    double mn = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * 0.004));
    *c1 = (float)((1.0 - mt) / (1.0 - prod));
    *c2 = (float)(mn / (1.0 - prod * mn));
}

be_adam_step optim_adam_step(const optim_config *c, float lr, long t)
{
    be_adam_step s = {.lr = lr, .b1 = c->beta1, .b2 = c->beta2, .eps = c->eps,
                      .wd = c->weight_decay, .decoupled = c->kind == OPT_ADAMW,
                      .nadam = c->kind == OPT_NADAM};
    double bc1 = 1.0 - pow(s.b1, (double)t), bc2 = 1.0 - pow(s.b2, (double)t);
    if (s.nadam)
        nadam_weights(s.b1, t, &s.c1, &s.c2);
    s.sbc2 = (float)sqrt(bc2);
    s.step = (float)(lr / bc1);
    s.gscale = 1.0f;
    return s;
}

/* Whether the kind's backend update multiplies g by a factor itself. */
static int takes_scale(const optim_config *c)
{
    return c->kind == OPT_ADAM || c->kind == OPT_ADAMW || c->kind == OPT_NADAM;
}

/* The update of elements first.. from g * gscale, gscale 1 unless the
 * kind takes it. */
static void step_kind(optim *o, size_t first, float *w, const float *g, float lr,
                      float gscale)
{
    const optim_config *c = &o->cfg;
    be_backend *be = o->be;
    size_t n = first < o->n ? o->n - first : 0;
    float *m = o->m ? o->m + first : NULL, *v = o->v ? o->v + first : NULL,
          *buf = o->buf ? o->buf + first : NULL;
    o->t++;
    if (n == 0)
        return;
    w += first;
    g += first;
    switch (c->kind) {
    case OPT_SGD:
    case OPT_NTASGD:
        be->sgd(be, w, g, m, n, lr, c->momentum, c->weight_decay, c->nesterov,
                o->t == 1);
        break;
    case OPT_ADAM:
    case OPT_ADAMW:
    case OPT_NADAM: {
        be_adam_step s = optim_adam_step(c, lr, o->t);
        s.gscale = gscale;
        be->adam(be, w, g, m, v, n, &s);
        break;
    }
    case OPT_RMSPROP:
        be->rmsprop(be, w, g, v, buf, n, lr, c->alpha, c->eps, c->momentum,
                    c->weight_decay);
        break;
    }
}

void optim_step(optim *o, float *w, const float *g, float lr)
{
    step_kind(o, 0, w, g, lr, 1.0f);
}

void optim_step_from(optim *o, size_t first, float *w, float *g, float lr, float gscale)
{
    if (gscale != 1.0f && !takes_scale(&o->cfg)) {
        size_t n = first < o->n ? o->n - first : 0;
        o->be->scale(o->be, g + first, n, gscale);
        gscale = 1.0f;
    }
    step_kind(o, first, w, g, lr, gscale);
}

int optim_ntasgd_observe(optim *o, double val_loss)
{
    int nm = o->cfg.nonmono;
    if (o->cfg.kind != OPT_NTASGD || o->averaging || nm < 1 || nm > OPTIM_MAX_NONMONO)
        return 0;
    int fire = val_loss > o->best_before;   /* false while none are older */
    while (o->n_recent >= nm) {             /* the oldest leave the window */
        if (o->recent[0] < o->best_before)
            o->best_before = o->recent[0];
        memmove(o->recent, o->recent + 1, (size_t)(nm - 1) * sizeof o->recent[0]);
        o->n_recent--;
    }
    o->recent[o->n_recent++] = val_loss;
    return fire;
}

int optim_state(const optim *o, const char **names, float **bufs, int max)
{
    int k = 0;
    int sgd = o->cfg.kind == OPT_SGD || o->cfg.kind == OPT_NTASGD;
    /* PyTorch's state names: SGD keeps its momentum in m */
    if (o->m && k < max) {
        names[k] = sgd ? "momentum_buffer" : "exp_avg";
        bufs[k++] = o->m;
    }
    if (o->iter && k < max) { names[k] = "iterate"; bufs[k++] = o->iter; }
    if (o->v && k < max) { names[k] = "exp_avg_sq"; bufs[k++] = o->v; }
    if (o->buf && k < max) { names[k] = "momentum_buffer"; bufs[k++] = o->buf; }
    return k;
}
