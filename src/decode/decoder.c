/* decoder.c - generation steps written against the backend table.
 *
 * A step for n streams is, per layer, the input and recurrent products (n
 * rows each: GEMV-shaped for one stream), the fused cell, then the output
 * layer.  A step reads every weight once, so where the backend packs
 * matrices (backend.h: pack) the decoder multiplies through its own packed
 * copies: a layer's two matrices side by side, as 32-bit, 16-bit or 8-bit
 * weights.  Layer 0's input product depends only on the token, so for
 * small vocabularies it is computed once per decoder for every token (a
 * [V, G*H] table) and a step just gathers its row.  States alternate
 * between two buffers so no backend operation is asked to work in place. */
#include <stdio.h>
#include <string.h>

#include "decode/decoder.h"

/* Above this many floats (16 MiB) the layer-0 table costs more memory than
 * the product it saves is worth. */
#define DECODER_TABLE_MAX ((size_t)1 << 22)

/* Whether a layer's recurrent sum is needed apart from its input sum: the
 * GRU's b_hn sits inside r * (W_hn h + b_hn), the LayerNorm LSTM
 * normalises the two sums apart. */
static int dec_apart(const model_config *c)
{
    return c->cell == CELL_GRU || c->layer_norm;
}

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
                      dec_apart(c) ? NULL : m->b_hh[l]);
    if (d->table)
        be_gemm_bias(be, 0, 1, c->vocab, GH, c->embed, m->enc, c->embed, m->w_ih[0],
                     c->embed, d->bias, NULL, d->table);
}

/* Whether to multiply through packed matrices: always for 16/8-bit
 * weights, and for 32-bit ones with few streams, where the backend's
 * packed product (one pass over memory per layer) beats its GEMM. */
#define DECODER_PACK_MAX_F32 16
/* Nor for 32-bit weights past this size: the copy would double a large
 * model's memory for a speed-up, and gemm does without it. */
#define DECODER_PACK_MAX_F32_BYTES ((size_t)256 << 20)

/* Bytes of the matrices a step multiplies by, as 32-bit floats. */
static size_t dec_weight_bytes(const model *m)
{
    const model_config *c = &m->cfg;
    size_t H = (size_t)c->hidden, GH = (size_t)model_gates(c->cell) * H, n = 0;
    for (int l = 0; l < c->layers; l++)
        n += GH * (H + (l ? H : (size_t)c->embed));
    return (n + (c->softmax == SOFTMAX_ADAPTIVE ? 0 : (size_t)c->vocab * H)) * sizeof(float);
}

/* Frees the packed matrices (none left). */
static void dec_unpack(decoder *d)
{
    be_backend *be = d->m->be;
    for (int l = 0; l < MODEL_MAX_LAYERS && be->pack_free; l++) {
        be->pack_free(be, d->p_in[l]);
        be->pack_free(be, d->p_hh[l]);
        d->p_in[l] = d->p_hh[l] = NULL;
    }
    if (be->pack_free)
        be->pack_free(be, d->p_dec);
    d->p_dec = NULL;
}

/* Packs the matrices a step multiplies by as d->weights: above layer 0
 * the input and recurrent weights side by side (one pass per layer; both
 * inputs are hidden states, so int8 can round them with one scale),
 * except where the recurrent product is needed on its own.  Layer
 * 0's input (an embedding row) is packed apart, or not at all when the
 * table replaces it.  -1 when the backend cannot. */
static int dec_pack(decoder *d)
{
    model *m = d->m;
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    int H = c->hidden, GH = model_gates(c->cell) * H;
    for (int l = 0; l < c->layers; l++) {
        int in = l ? H : c->embed, has_in = l || !d->table;
        if (dec_apart(c) || l == 0) {
            d->p_hh[l] = be->pack(be, d->weights, GH, m->w_hh[l], H, NULL, 0, d->B);
            if (!d->p_hh[l])
                return -1;
            if (has_in && !(d->p_in[l] = be->pack(be, d->weights, GH, m->w_ih[l], in,
                                                  NULL, 0, d->B)))
                return -1;
        } else if (!(d->p_in[l] = be->pack(be, d->weights, GH, m->w_ih[l], in,
                                           m->w_hh[l], H, d->B))) {
            return -1;
        }
    }
    if (c->softmax == SOFTMAX_ADAPTIVE)
        return 0;
    d->p_dec = be->pack(be, d->weights, c->vocab, m->dec_w, H, NULL, 0, d->B);
    return d->p_dec ? 0 : -1;
}

/* y = x W^T + y for n rows, through the pack when there is one. */
static void dec_product(decoder *d, int n, int N, void *pack, const float *x, int K,
                        const float *w, float *y)
{
    be_backend *be = d->m->be;
    if (pack)
        be->packed_gemm(be, pack, n, x, K, NULL, 0, y, N);
    else
        be->gemm(be, 0, 1, n, N, K, 1.0f, x, K, w, K, 1.0f, y, N);
}

int decoder_init(decoder *d, model *m, int B, int table, be_weights weights)
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
    if (dec_apart(c) && !(d->gh = dec_alloc(m, (size_t)B * GH)))
        goto oom;
    if (c->softmax == SOFTMAX_ADAPTIVE) {
        adaptive_dims ad;
        adaptive_config ac = model_adaptive_config(c);
        adaptive_dims_of(&ac, &ad);
        if (!(d->ad_head = dec_alloc(m, (size_t)B * ad.head)) ||
            !(d->ad_proj = dec_alloc(m, (size_t)B * ad.max_proj)))
            goto oom;
    }
    if (c->layer_norm && (!(d->act = dec_alloc(m, (size_t)B * GH)) ||
                          !(d->cn = dec_alloc(m, (size_t)B * c->hidden)) ||
                          !(d->stats = dec_alloc(m, (size_t)B * BE_LN_STATS))))
        goto oom;
    if (table ? !(d->table = dec_alloc(m, V * GH))
              : !(d->x = dec_alloc(m, (size_t)B * c->embed)))
        goto oom;
    dec_precompute(d);
    if (weights == BE_WEIGHTS_FP32) {
        /* packing is only for speed here: without it, gemm does the work */
        if (m->be->pack && B <= DECODER_PACK_MAX_F32 &&
            dec_weight_bytes(m) <= DECODER_PACK_MAX_F32_BYTES && dec_pack(d) < 0)
            dec_unpack(d);
        return 0;
    }
    if (!m->be->pack) {
        decoder_free(d);
        return -2;
    }
    d->weights = weights;
    if (dec_pack(d) < 0)
        goto oom;
    return 0;
oom:
    decoder_free(d);
    return -1;
}

int decoder_open(decoder *d, model *m, int B, be_weights weights, char *err,
                 size_t errlen)
{
    int rc = decoder_init(d, m, B, DECODER_TABLE_AUTO, weights);
    if (rc == -2)
        snprintf(err, errlen, "%s weights: not available on the %s backend",
                 be_weights_name(weights), m->be->name);
    else if (rc < 0)
        snprintf(err, errlen, "out of memory for the decoder");
    return rc < 0 ? -1 : 0;
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
    be->free(be, d->act);
    be->free(be, d->cn);
    be->free(be, d->stats);
    be->free(be, d->logits);
    be->free(be, d->ad_head);
    be->free(be, d->ad_proj);
    be->free(be, d->ids);
    dec_unpack(d);
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
    int table = l == 0 && d->table;

    if (table) {
        /* embed_fwd is a row gather: the token's precomputed gate inputs */
        be->embed_fwd(be, d->ids, n, d->table, GH, d->gates);
    } else {
        be->fill_rows(be, d->gates, n, GH, d->bias + (size_t)l * GH, NULL);
    }
    if (dec_apart(c)) {
        if (!table)
            dec_product(d, n, GH, d->p_in[l], in, inw, m->w_ih[l], d->gates);
        be->fill_rows(be, d->gh, n, GH, m->b_hh[l], NULL);
        dec_product(d, n, GH, d->p_hh[l], hp, H, m->w_hh[l], d->gh);
        if (c->cell == CELL_GRU) {
            be->gru_fwd(be, n, H, d->gates, d->gh, hp, hn);
        } else {
            be_lnlstm_params ln = model_ln_params(m, l);
            be->lnlstm_fwd(be, n, H, &ln, d->gates, d->gh, d->act, cur->c + so,
                           nxt->c + so, hn, d->cn, d->stats);
        }
        return;
    }
    if (d->p_in[l] && !d->p_hh[l]) {
        /* [W_ih | W_hh] in one pack: one pass over both */
        be->packed_gemm(be, d->p_in[l], n, in, inw, hp, H, d->gates, GH);
    } else {
        if (!table)
            dec_product(d, n, GH, d->p_in[l], in, inw, m->w_ih[l], d->gates);
        dec_product(d, n, GH, d->p_hh[l], hp, H, m->w_hh[l], d->gates);
    }
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
    if (c->softmax == SOFTMAX_ADAPTIVE) {
        adaptive_config ac = model_adaptive_config(c);
        adaptive_log_prob(be, &ac, &m->ad, top, n, d->logits, d->ad_head, d->ad_proj);
    } else {
        be->fill_rows(be, d->logits, n, V, m->dec_b, NULL);
        dec_product(d, n, V, d->p_dec, top, H, m->dec_w, d->logits);
    }
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

void decoder_reset(decoder *d, int i)
{
    model *m = d->m;
    be_backend *be = m->be;
    size_t H = (size_t)m->cfg.hidden;
    model_state *cur = &d->st[d->cur];
    for (int l = 0; l < m->cfg.layers; l++) {
        size_t at = ((size_t)l * d->B + (size_t)i) * H;
        be->zero(be, cur->h + at, H * sizeof(float));
        if (cur->c)
            be->zero(be, cur->c + at, H * sizeof(float));
    }
}
