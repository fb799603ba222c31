/* trainer_move.c - moving a trainer to another backend (CPU <-> GPU):
 * the model's weights, the optimizer's moments and step count and the
 * training streams' recurrent state are copied through host memory into
 * buffers of the new backend, so training goes on exactly where it was. */
#include <stdio.h>
#include <stdlib.h>

#include "train/trainer.h"

/* Copies n floats from a buffer of one backend to a buffer of another
 * through host memory; returns 0, or -1 when out of host memory. */
static int cross_copy(be_backend *to, float *dst, be_backend *from, const float *src,
                      size_t n)
{
    if (n == 0 || !src || !dst)
        return 0;
    float *h = malloc(n * sizeof(float));
    if (!h)
        return -1;
    from->download(from, h, src, n * sizeof(float));
    to->upload(to, dst, h, n * sizeof(float));
    free(h);
    return 0;
}

/* Builds the model, optimizer and state on `to` and fills them from t.
 * Returns 0, or -1 with err set (and nothing of the new side left). */
static int build_on(trainer *t, be_backend *to, model **m_out, optim *o_out,
                    model_state *s_out, char *err, size_t errlen)
{
    be_backend *from = t->be;
    model *old = t->m;
    rng_state unused;
    rng_seed(&unused, 0);
    /* the weights drawn here are overwritten just below */
    model *m = model_create(to, &old->cfg, &unused, err, errlen);
    if (!m)
        return -1;
    if (model_reserve(m, t->state.B, train_max_len(&t->cfg)) < 0 ||
        model_state_init(m, s_out, t->state.B) < 0 ||
        optim_init(o_out, to, &t->opt.cfg, m->n_params) < 0) {
        snprintf(err, errlen, "out of memory on the %s backend", to->name);
        goto fail;
    }
    const char *names[8];
    float *src[8], *dst[8];
    int k = optim_state(&t->opt, names, src, 8);
    optim_state(o_out, names, dst, 8);
    size_t ns = (size_t)old->cfg.layers * t->state.B * old->cfg.hidden;
    int bad = cross_copy(to, m->params, from, old->params, m->n_params);
    for (int i = 0; i < k; i++)
        bad |= cross_copy(to, dst[i], from, src[i], m->n_params);
    bad |= cross_copy(to, s_out->h, from, t->state.h, ns);
    bad |= cross_copy(to, s_out->c, from, t->state.c, ns);
    if (bad) {
        snprintf(err, errlen, "out of memory moving the model to the %s backend", to->name);
        goto fail;
    }
    /* the scalars: steps, NTASGD's switch and window (its buffers were
     * copied above) */
    float *m_, *v_, *buf_, *iter_;
    m_ = o_out->m, v_ = o_out->v, buf_ = o_out->buf, iter_ = o_out->iter;
    *o_out = t->opt;
    o_out->be = to;
    o_out->m = m_, o_out->v = v_, o_out->buf = buf_, o_out->iter = iter_;
    *m_out = m;
    return 0;
fail:
    optim_free(o_out);
    model_state_free(m, s_out);
    model_free(m);
    return -1;
}

int trainer_move(trainer *t, be_backend *to, char *err, size_t errlen)
{
    model *m = NULL;
    optim o = {0};
    model_state s = {0};
    if (to == t->be)
        return 0;
    if (build_on(t, to, &m, &o, &s, err, errlen) < 0)
        return -1;
    model_state_free(t->m, &t->state);
    optim_free(&t->opt);
    model_free(t->m);
    t->m = m;
    t->opt = o;
    t->state = s;
    t->be = to;
    if (t->cfg.threads > 0)
        to->set_threads(to, t->cfg.threads);
    return 0;
}
