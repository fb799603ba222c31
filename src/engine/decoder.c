/* decoder.c - generation steps written against the backend table.
 *
 * A step for n streams is, per layer, one product with the input weights
 * and one with the recurrent weights (n rows each: GEMV-shaped for one
 * stream), the fused cell, then the output layer.  Layer 0's input
 * product depends only on the token, so for small vocabularies it is
 * computed once per decoder for every token (a [V, G*H] table) and a step
 * just gathers its row: this removes one matrix from every step.  States
 * alternate between two buffers so no backend operation is asked to work
 * in place. */
#include <string.h>

#include "decoder.h"

/* Above this many floats (16 MiB) the layer-0 table costs more memory than
 * the product it saves is worth. */
#define DECODER_TABLE_MAX ((size_t)1 << 22)

/* Allocates n floats (or uint32s) on the device; NULL when out of memory. */
static void *dec_alloc(model *m, size_t n)
{
    return m->be->alloc(m->be, (n ? n : 1) * sizeof(float));
}

/* Fills the fused biases and, when wanted, the layer-0 table from the
 * model's current weights. */
static void dec_precompute(decoder *d)
{
    model *m = d->m;
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    int GH = model_gates(c->cell) * c->hidden;
    for (int l = 0; l < c->layers; l++)
        be->fill_rows(be, d->bias + (size_t)l * GH, 1, GH, m->b_ih[l],
                      c->cell == CELL_GRU ? NULL : m->b_hh[l]);
    if (d->table) {
        be->fill_rows(be, d->table, c->vocab, GH, d->bias, NULL);
        be->gemm(be, 0, 1, c->vocab, GH, c->embed, 1.0f, m->enc, c->embed,
                 m->w_ih[0], c->embed, 1.0f, d->table, GH);
    }
}

/* 16-bit copies of the matrices a step reads; -1 when out of memory. */
static int dec_halve(decoder *d)
{
    model *m = d->m;
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    size_t GH = (size_t)model_gates(c->cell) * c->hidden, H = (size_t)c->hidden, n = 0;
    for (int l = 0; l < c->layers; l++)
        n += GH * H + (l || !d->table ? GH * (l ? H : (size_t)c->embed) : 0);
    n += (size_t)c->vocab * H;
    if (!(d->half = be->alloc(be, n * sizeof(uint16_t))))
        return -1;
    uint16_t *p = d->half;
    for (int l = 0; l < c->layers; l++) {
        size_t in = l ? H : (size_t)c->embed;
        d->h_hh[l] = p;
        be->to_half(be, p, m->w_hh[l], GH * H);
        p += GH * H;
        if (l || !d->table) {
            d->h_ih[l] = p;
            be->to_half(be, p, m->w_ih[l], GH * in);
            p += GH * in;
        }
    }
    d->h_dec = p;
    be->to_half(be, p, m->dec_w, (size_t)c->vocab * H);
    return 0;
}

/* y = x W^T + y for n rows: from the 16-bit copy when there is one. */
static void dec_product(decoder *d, int n, int N, int K, const float *x,
                        const float *w, const uint16_t *wh, float *y)
{
    be_backend *be = d->m->be;
    if (wh)
        be->gemm_half(be, n, N, K, 1.0f, x, K, wh, K, 1.0f, y, N);
    else
        be->gemm(be, 0, 1, n, N, K, 1.0f, x, K, w, K, 1.0f, y, N);
}

int decoder_init(decoder *d, model *m, int B, int table, int half)
{
    const model_config *c = &m->cfg;
    size_t GH = (size_t)model_gates(c->cell) * c->hidden, V = (size_t)c->vocab;
    memset(d, 0, sizeof *d);
    d->m = m;
    d->B = B;
    if (table == DECODER_TABLE_AUTO)
        table = V * GH <= DECODER_TABLE_MAX;
    if (B < 1 || model_state_init(m, &d->st[0], B) < 0 ||
        model_state_init(m, &d->st[1], B) < 0)
        goto oom;
    d->bias = dec_alloc(m, (size_t)c->layers * GH);
    d->gates = dec_alloc(m, (size_t)B * GH);
    d->logits = dec_alloc(m, (size_t)B * V);
    d->ids = dec_alloc(m, (size_t)B);
    if (!d->bias || !d->gates || !d->logits || !d->ids)
        goto oom;
    if (c->cell == CELL_GRU && !(d->gh = dec_alloc(m, (size_t)B * GH)))
        goto oom;
    if (table ? !(d->table = dec_alloc(m, V * GH))
              : !(d->x = dec_alloc(m, (size_t)B * c->embed)))
        goto oom;
    dec_precompute(d);
    if (half && m->be->to_half && m->be->gemm_half && dec_halve(d) < 0)
        goto oom;
    return 0;
oom:
    decoder_free(d);
    return -1;
}

void decoder_free(decoder *d)
{
    if (!d->m)
        return;
    be_backend *be = d->m->be;
    if (d->st[0].h || d->st[0].c)
        model_state_free(d->m, &d->st[0]);
    if (d->st[1].h || d->st[1].c)
        model_state_free(d->m, &d->st[1]);
    be->free(be, d->table);
    be->free(be, d->bias);
    be->free(be, d->x);
    be->free(be, d->gates);
    be->free(be, d->gh);
    be->free(be, d->logits);
    be->free(be, d->ids);
    be->free(be, d->half);
    memset(d, 0, sizeof *d);
}

/* Layer l for n streams: input rows in (layer 0: taken from d->ids), state
 * from cur, new state into nxt. */
static void dec_layer(decoder *d, int l, int n, const float *in,
                      const model_state *cur, model_state *nxt)
{
    model *m = d->m;
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    int H = c->hidden, GH = model_gates(c->cell) * H, inw = l ? H : c->embed;
    size_t so = (size_t)l * d->B * H;
    const float *hp = cur->h + so;
    float *hn = nxt->h + so;

    if (l == 0 && d->table) {
        /* embed_fwd is a row gather: the token's precomputed gate inputs */
        be->embed_fwd(be, d->ids, n, d->table, GH, d->gates);
    } else {
        be->fill_rows(be, d->gates, n, GH, d->bias + (size_t)l * GH, NULL);
        dec_product(d, n, GH, inw, in, m->w_ih[l], d->h_ih[l], d->gates);
    }
    if (c->cell == CELL_GRU) {
        be->fill_rows(be, d->gh, n, GH, m->b_hh[l], NULL);
        dec_product(d, n, GH, H, hp, m->w_hh[l], d->h_hh[l], d->gh);
        be->gru_fwd(be, n, H, d->gates, d->gh, hp, hn);
        return;
    }
    dec_product(d, n, GH, H, hp, m->w_hh[l], d->h_hh[l], d->gates);
    if (c->cell == CELL_LSTM)
        be->lstm_fwd(be, n, H, d->gates, cur->c + so, nxt->c + so, hn);
    else
        be->rnn_fwd(be, n, H, d->gates, hn);
}

void decoder_step(decoder *d, int n, const uint32_t *ids, float *out)
{
    model *m = d->m;
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    int H = c->hidden, V = c->vocab;
    model_state *cur = &d->st[d->cur], *nxt = &d->st[1 - d->cur];

    be->upload(be, d->ids, ids, (size_t)n * sizeof(uint32_t));
    if (!d->table)
        be->embed_fwd(be, d->ids, n, m->enc, c->embed, d->x);
    for (int l = 0; l < c->layers; l++)
        dec_layer(d, l, n, l ? nxt->h + (size_t)(l - 1) * d->B * H : d->x, cur, nxt);
    const float *top = nxt->h + (size_t)(c->layers - 1) * d->B * H;
    be->fill_rows(be, d->logits, n, V, m->dec_b, NULL);
    dec_product(d, n, V, H, top, m->dec_w, d->h_dec, d->logits);
    be->download(be, out, d->logits, (size_t)n * V * sizeof(float));
    d->cur = 1 - d->cur;
}

void decoder_select(decoder *d, int n, const uint32_t *rows)
{
    model *m = d->m;
    be_backend *be = m->be;
    int H = m->cfg.hidden;
    model_state *cur = &d->st[d->cur], *nxt = &d->st[1 - d->cur];
    be->upload(be, d->ids, rows, (size_t)n * sizeof(uint32_t));
    for (int l = 0; l < m->cfg.layers; l++) {
        size_t so = (size_t)l * d->B * H;
        be->embed_fwd(be, d->ids, n, cur->h + so, H, nxt->h + so);
        if (cur->c)
            be->embed_fwd(be, d->ids, n, cur->c + so, H, nxt->c + so);
    }
    d->cur = 1 - d->cur;
}
