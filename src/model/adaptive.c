/* adaptive.c - the adaptive softmax's sizes, its loss and gradient for a
 * block of rows, and the log-probabilities of every token (adaptive.h),
 * written against the backend table: the same code runs on every
 * backend. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/adaptive.h"

void adaptive_dims_of(const adaptive_config *c, adaptive_dims *d)
{
    int K = c->cutoffs.n < 0 ? 0 : c->cutoffs.n > ADAPTIVE_MAX_CUTOFFS ? ADAPTIVE_MAX_CUTOFFS
                                                                    : c->cutoffs.n;
    memset(d, 0, sizeof *d);
    d->K = K;
    for (int i = 0; i < K; i++)
        d->cut[i] = c->cutoffs.at[i];
    d->cut[K] = c->vocab;
    d->head = d->cut[0] + K;
    for (int i = 0; i < K; i++) {
        /* PyTorch: int(in_features // (div_value ** (i + 1))) */
        double p = floor((double)c->hidden / pow((double)c->div_value, i + 1));
        d->proj[i] = p >= 0 && p <= 1e9 ? (int)p : 0;
        d->size[i] = d->cut[i + 1] - d->cut[i];
        if (d->proj[i] > d->max_proj)
            d->max_proj = d->proj[i];
    }
}

const char *adaptive_check(const adaptive_config *c, char *buf, size_t len)
{
    adaptive_dims d;
    const adaptive_cutoffs *k = &c->cutoffs;
    if (c->head_bias != 0 && c->head_bias != 1)
        snprintf(buf, len, "head-bias must be on or off");
    else if (k->n < 1 || k->n > ADAPTIVE_MAX_CUTOFFS)
        snprintf(buf, len, "the adaptive softmax needs 1 to %d cutoffs (for example "
                 "2000,10000), not %d", ADAPTIVE_MAX_CUTOFFS, k->n);
    else if (!(c->div_value > 0.0f) || !isfinite(c->div_value))
        snprintf(buf, len, "div-value must be above 0");
    else
        buf[0] = '\0';
    if (buf[0])
        return buf;
    for (int i = 0; i < k->n; i++) {
        if (k->at[i] < 1 || (i > 0 && k->at[i] <= k->at[i - 1])) {
            snprintf(buf, len, "cutoffs must increase from 1 up (%d %s %d)", k->at[i],
                     i ? "follows" : "is the first, after", i ? k->at[i - 1] : 0);
            return buf;
        }
        if (k->at[i] >= c->vocab) {
            snprintf(buf, len, "cutoff %d is not below the vocabulary size %d", k->at[i],
                     c->vocab);
            return buf;
        }
    }
    adaptive_dims_of(c, &d);
    for (int i = 0; i < d.K; i++)
        if (d.proj[i] < 1) {
            snprintf(buf, len, "cluster %d's projection would have no units (hidden %d / "
                     "div-value %g^%d < 1): use fewer cutoffs or a smaller div-value",
                     i, c->hidden, (double)c->div_value, i + 1);
            return buf;
        }
    return NULL;
}

/* The head's targets (the token, or its cluster's logit) into host[0..n)
 * and, per cluster, its rows and their targets within the cluster at
 * host[n + at[i] ..] and host[2n + at[i] ..]; at[K] is the rows in
 * tails. */
static void sort_targets(const adaptive_dims *d, const uint32_t *targets, int n,
                         uint32_t *host, int *at)
{
    int count[ADAPTIVE_MAX_CUTOFFS] = {0}, fill[ADAPTIVE_MAX_CUTOFFS];
    uint32_t c0 = (uint32_t)d->cut[0];
    for (int r = 0; r < n; r++) {
        int i = 0;
        if (targets[r] < c0) {
            host[r] = targets[r];
            continue;
        }
        while (i + 1 < d->K && targets[r] >= (uint32_t)d->cut[i + 1])
            i++;
        host[r] = c0 + (uint32_t)i;
        count[i]++;
    }
    at[0] = 0;
    for (int i = 0; i < d->K; i++) {
        at[i + 1] = at[i] + count[i];
        fill[i] = at[i];
    }
    for (int r = 0; r < n; r++) {
        if (targets[r] < c0)
            continue;
        int i = (int)(host[r] - c0);
        host[n + fill[i]] = (uint32_t)r;
        host[2 * n + fill[i]++] = targets[r] - (uint32_t)d->cut[i];
    }
}

/* The head's logits of x [n, H] into out [n, head]. */
static void head_logits(be_backend *be, const adaptive_tensors *w, const adaptive_dims *d,
                        int H, const float *x, int n, float *out)
{
    if (w->head_b)
        be_gemm_bias(be, 0, 1, n, d->head, H, x, H, w->head_w, H, w->head_b, NULL, out);
    else
        be->gemm(be, 0, 1, n, d->head, H, 1.0f, x, H, w->head_w, H, 0.0f, out, d->head);
}

/* Tail i of the rows x [n, H]: the projection into proj [n, proj_i], then
 * the cluster's logits into out (row stride ld). */
static void tail_logits(be_backend *be, const adaptive_tensors *w, const adaptive_dims *d,
                        int H, int i, const float *x, int n, float *proj, float *out, int ld)
{
    int P = d->proj[i];
    be->gemm(be, 0, 1, n, P, H, 1.0f, x, H, w->tail[i][0], H, 0.0f, proj, P);
    be->gemm(be, 0, 1, n, d->size[i], P, 1.0f, proj, P, w->tail[i][1], P, 0.0f, out, ld);
}

/* The backward of tail i for its rows (gathered in s->x, projected in
 * s->proj, dL/dlogits in s->logits): the tail's weight gradients, and
 * dL/dx of those rows added to dx at their places. */
static void tail_backward(be_backend *be, const adaptive_tensors *w,
                          const adaptive_tensors *g, const adaptive_scratch *s,
                          const adaptive_dims *d, int H, int i, int cnt,
                          const uint32_t *rows, float *dx)
{
    int P = d->proj[i], S = d->size[i];
    be->gemm(be, 1, 0, S, P, cnt, 1.0f, s->logits, S, s->proj, P, 1.0f, g->tail[i][1], P);
    be->gemm(be, 0, 0, cnt, P, S, 1.0f, s->logits, S, w->tail[i][1], P, 0.0f, s->dproj, P);
    be->gemm(be, 1, 0, P, H, cnt, 1.0f, s->dproj, P, s->x, H, 1.0f, g->tail[i][0], H);
    be->gemm(be, 0, 0, cnt, H, P, 1.0f, s->dproj, P, w->tail[i][0], H, 0.0f, s->dx, H);
    be->embed_bwd(be, rows, cnt, s->dx, H, dx);
}

double adaptive_loss(be_backend *be, const adaptive_config *c, const adaptive_tensors *w,
                     const adaptive_tensors *g, const adaptive_scratch *s, const float *x,
                     const uint32_t *targets, int n, float scale, int grad, float *dx)
{
    adaptive_dims d;
    int at[ADAPTIVE_MAX_CUTOFFS + 1], H = c->hidden;
    adaptive_dims_of(c, &d);
    sort_targets(&d, targets, n, s->host, at);
    be->upload(be, s->ids, s->host, (size_t)n * sizeof(uint32_t));
    if (at[d.K] > 0) {
        be->upload(be, s->ids + n, s->host + n, (size_t)at[d.K] * sizeof(uint32_t));
        be->upload(be, s->ids + 2 * n, s->host + 2 * n, (size_t)at[d.K] * sizeof(uint32_t));
    }
    head_logits(be, w, &d, H, x, n, s->logits);
    double loss = be->xent(be, s->logits, s->ids, n, d.head, scale, grad, 0.0f, NULL, NULL);
    if (grad) {
        be->gemm(be, 1, 0, d.head, H, n, 1.0f, s->logits, d.head, x, H, 1.0f, g->head_w, H);
        if (g->head_b)
            be->colsum_add(be, s->logits, n, d.head, g->head_b);
        be->gemm(be, 0, 0, n, H, d.head, 1.0f, s->logits, d.head, w->head_w, H, 0.0f, dx, H);
    }
    for (int i = 0; i < d.K; i++) {
        int cnt = at[i + 1] - at[i];
        const uint32_t *rows = s->ids + n + at[i];
        if (cnt == 0)
            continue;
        be->embed_fwd(be, rows, cnt, x, H, s->x);
        tail_logits(be, w, &d, H, i, s->x, cnt, s->proj, s->logits, d.size[i]);
        loss += be->xent(be, s->logits, s->ids + 2 * n + at[i], cnt, d.size[i], scale, grad,
                         0.0f, NULL, NULL);
        if (grad)
            tail_backward(be, w, g, s, &d, H, i, cnt, rows, dx);
    }
    return loss;
}

void adaptive_log_prob(be_backend *be, const adaptive_config *c, const adaptive_tensors *w,
                       const float *x, int n, float *out, float *head, float *proj)
{
    adaptive_dims d;
    int V = c->vocab;
    adaptive_dims_of(c, &d);
    head_logits(be, w, &d, c->hidden, x, n, head);
    be->log_softmax(be, head, n, d.head, d.head, NULL, 0);
    be->copy_rows(be, out, V, head, d.head, n, d.cut[0]);
    for (int i = 0; i < d.K; i++) {
        float *o = out + d.cut[i];
        tail_logits(be, w, &d, c->hidden, i, x, n, proj, o, V);
        be->log_softmax(be, o, n, d.size[i], V, head + d.cut[0] + i, d.head);
    }
}
