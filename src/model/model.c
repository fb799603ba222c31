/* model.c - embedding -> N recurrent layers -> linear decoder, with the
 * forward and backward pass of one truncated-BPTT chunk.
 *
 * Shapes: a chunk is T steps of B streams, R = T*B rows, time-major (row
 * t*B+b).  Per layer the input projections of all T steps are one GEMM
 * (the biases added in it, be_gemm_bias), the recurrence is one GEMM plus one fused cell call per step, and the weight
 * gradients are one GEMM per matrix per chunk.  The decoder is one GEMM over
 * all R rows.  Nothing is allocated inside forward or backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"

/* Per-layer activation views into the arena. */
typedef struct layer_act {
    float *x;       /* input after dropout [R,in] (layer 0: embedding) */
    float *gx;      /* LSTM/RNN: gates [R,G*H]; GRU: input part [R,3H] */
    float *gh;      /* GRU only: recurrent part [R,3H] */
    float *hs;      /* hidden states [(T+1)*B, H], block 0 = initial */
    float *cs;      /* LSTM cells [(T+1)*B, H] */
    float *mask;    /* dropout mask on this layer's input [R,in] */
    /* LayerNorm LSTM: gx and gh hold the normalised ih and hh sums */
    float *ga;      /* gate activations [R,4H] */
    float *cn;      /* LN_c's normalised cells [R,H] */
    float *stats;   /* [R,BE_LN_STATS] */
} layer_act;

/* What an arena was carved for beyond its rows (model_reserve carves
 * again when a regulariser is switched on later). */
enum { NEED_DROP = 1, NEED_EMBED_DROP = 2, NEED_WEIGHT_DROP = 4 };

typedef struct act_arena {
    float *base;
    int carved;                 /* NEED_* */
    layer_act layer[MODEL_MAX_LAYERS];
    /* dropout_embed: the row mask [V] (and its draw's scratch [V]), its
     * rows gathered per input [R], ones [E] and the mask on the
     * embedding output [R,E] */
    float *row_mask, *row_tmp, *row_gather, *ones, *emb_mask;
    /* weight_drop: W_hh times its mask, the mask, per layer [GH,H]; whh
     * is the matrix the last forward used (dropped or W_hh itself) */
    float *whh_drop[MODEL_MAX_LAYERS], *whh_mask[MODEL_MAX_LAYERS];
    const float *whh[MODEL_MAX_LAYERS];
    /* the recurrent weights prepared for the forward steps' products
     * (be->prepare), one layer at a time; NULL where the backend does
     * not prepare */
    float *whh_prep;
    float *dec_in, *dec_mask;   /* decoder input after dropout, its mask */
    /* the dropout sites (embedding output 0, layer l's input l, decoder
     * input layers) the last forward dropped: the backward applies their
     * masks only, a rate may have gone to 0 since the arena was carved */
    unsigned char dropped[MODEL_MAX_LAYERS + 1];
    float *dgx, *dgh;           /* backward scratch [R,G*H] */
    float *dH, *dX;             /* [R,max(E,H)] each */
    float *dh_rec, *dc;         /* [B,H] */
    float *da, *dy;             /* LayerNorm LSTM: [R,4H], [R,H] */
    adaptive_scratch ad;        /* adaptive softmax, for the logit rows */
} act_arena;

const char *model_cell_name(model_cell c)
{
    static const char *names[] = {"rnn", "gru", "lstm"};
    return (unsigned)c < 3 ? names[c] : "?";
}

int model_cell_parse(const char *s)
{
    for (int c = 0; c < 3; c++)
        if (strcmp(s, model_cell_name((model_cell)c)) == 0)
            return c;
    return -1;
}

int model_gates(model_cell c) { return c == CELL_LSTM ? 4 : c == CELL_GRU ? 3 : 1; }

float model_drop_rate(const model_config *c, model_drop_place place)
{
    const model_rate *r = &c->drop[place];
    return r->set ? r->p : c->dropout;
}

int model_drops(const model_config *c)
{
    for (int k = 0; k < MODEL_DROP_PLACES; k++)
        if (model_drop_rate(c, (model_drop_place)k) > 0.0f)
            return 1;
    return 0;
}

const char *model_drop_name(model_drop_place place)
{
    static const char *const names[] = {"dropout-input", "dropout-hidden",
                                        "dropout-output"};
    return (unsigned)place < MODEL_DROP_PLACES ? names[place] : "?";
}

void model_drop_desc(const model_config *c, char *buf, size_t len)
{
    int own = 0;
    for (int k = 0; k < MODEL_DROP_PLACES; k++)
        own |= c->drop[k].set;
    if (!own) {
        snprintf(buf, len, "dropout %g", (double)c->dropout);
        return;
    }
    snprintf(buf, len, "dropout input %g, hidden %g, output %g",
             (double)model_drop_rate(c, MODEL_DROP_INPUT),
             (double)model_drop_rate(c, MODEL_DROP_HIDDEN),
             (double)model_drop_rate(c, MODEL_DROP_OUTPUT));
}

/* The first place whose own rate is malformed, or -1. */
static int bad_place(const model_config *c)
{
    for (int k = 0; k < MODEL_DROP_PLACES; k++) {
        const model_rate *r = &c->drop[k];
        if ((r->set != 0 && r->set != 1) || (r->set && !(r->p >= 0.0f && r->p < 1.0f)))
            return k;
    }
    return -1;
}

adaptive_config model_adaptive_config(const model_config *c)
{
    return (adaptive_config){.hidden = c->hidden, .vocab = c->vocab, .cutoffs = c->cutoffs,
                             .div_value = c->div_value, .head_bias = c->head_bias};
}

const char *model_softmax_check(const model_config *c, char *buf, size_t len)
{
    adaptive_config a = model_adaptive_config(c);
    if (c->softmax != SOFTMAX_FULL && c->softmax != SOFTMAX_ADAPTIVE)
        return "softmax must be full or adaptive";
    if (c->softmax == SOFTMAX_FULL)
        return NULL;
    if (c->tie)
        return "tie is for the full softmax (the adaptive softmax has no decoder.weight "
               "to share)";
    return adaptive_check(&a, buf, len);
}

/* Returns 0, or -1 with a message naming the bad field. */
int model_config_check(const model_config *c, char *err, size_t errlen)
{
    const char *bad = NULL;
    char why[200];
    if ((unsigned)c->cell > CELL_LSTM) bad = "cell type must be rnn, gru or lstm";
    else if (c->layers < 1 || c->layers > MODEL_MAX_LAYERS) bad = "layers must be 1..16";
    else if (c->hidden < 1 || c->hidden > 65536) bad = "hidden must be 1..65536";
    else if (c->embed < 1 || c->embed > 65536) bad = "embed must be 1..65536";
    else if (c->vocab < 1 || c->vocab > (1 << 24)) bad = "vocabulary size must be 1..16777216";
    else if (!(c->dropout >= 0.0f && c->dropout < 1.0f)) bad = "dropout must be in [0,1)";
    else if (c->tie && c->embed != c->hidden) bad = "tie needs embed equal to hidden";
    else if (c->layer_norm != 0 && c->layer_norm != 1) bad = "layer-norm must be on or off";
    else if (c->layer_norm && c->cell != CELL_LSTM)
        bad = "layer-norm is for the lstm model only";
    else if (!(c->dropout_embed >= 0.0f && c->dropout_embed < 1.0f))
        bad = "dropout-embed must be in [0,1)";
    else if (!(c->weight_drop >= 0.0f && c->weight_drop < 1.0f))
        bad = "weight-drop must be in [0,1)";
    else if (c->locked != 0 && c->locked != 1) bad = "locked-dropout must be on or off";
    else bad = model_softmax_check(c, why, sizeof why);
    if (bad) {
        snprintf(err, errlen, "model: %s", bad);
        return -1;
    }
    if (bad_place(c) >= 0) {
        snprintf(err, errlen, "model: %s must be in [0,1) or unset",
                 model_drop_name((model_drop_place)bad_place(c)));
        return -1;
    }
    return 0;
}

static void add_tensor(model *m, const char *name, size_t *off, int rows, int cols)
{
    model_tensor *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->offset = *off;
    t->ndim = cols ? 2 : 1;
    t->shape[0] = rows;
    t->shape[1] = cols;
    t->numel = (size_t)rows * (cols ? cols : 1);
    *off += t->numel;
}

/* The adaptive softmax's tensors after off, named as in PyTorch's module
 * under "decoder."; returns the storage size in floats. */
static size_t layout_adaptive(model *m, size_t off)
{
    adaptive_dims d;
    adaptive_config a = model_adaptive_config(&m->cfg);
    char name[32];
    int H = m->cfg.hidden;
    adaptive_dims_of(&a, &d);
    add_tensor(m, "decoder.head.weight", &off, d.head, H);
    if (m->cfg.head_bias)
        add_tensor(m, "decoder.head.bias", &off, d.head, 0);
    for (int i = 0; i < d.K; i++) {
        snprintf(name, sizeof name, "decoder.tail.%d.0.weight", i);
        add_tensor(m, name, &off, d.proj[i], H);
        snprintf(name, sizeof name, "decoder.tail.%d.1.weight", i);
        add_tensor(m, name, &off, d.size[i], d.proj[i]);
    }
    return off;
}

/* Lays out the tensor table; returns the storage size in floats. */
static size_t layout(model *m)
{
    const model_config *c = &m->cfg;
    int GH = model_gates(c->cell) * c->hidden;
    size_t off = 0;
    char name[32];
    add_tensor(m, "encoder.weight", &off, c->vocab, c->embed);
    for (int l = 0; l < c->layers; l++) {
        int in = l ? c->hidden : c->embed;
        snprintf(name, sizeof name, "rnn.weight_ih_l%d", l);
        add_tensor(m, name, &off, GH, in);
        snprintf(name, sizeof name, "rnn.weight_hh_l%d", l);
        add_tensor(m, name, &off, GH, c->hidden);
        snprintf(name, sizeof name, "rnn.bias_ih_l%d", l);
        add_tensor(m, name, &off, GH, 0);
        snprintf(name, sizeof name, "rnn.bias_hh_l%d", l);
        add_tensor(m, name, &off, GH, 0);
        for (int k = 0; c->layer_norm && k < MODEL_LN_N; k++) {
            static const char *const part[] = {"ih", "ih", "hh", "hh", "c", "c"};
            snprintf(name, sizeof name, "rnn.ln_%s_l%d.%s", part[k], l,
                     k % 2 ? "bias" : "weight");
            add_tensor(m, name, &off, k < MODEL_LN_C_W ? GH : c->hidden, 0);
        }
    }
    if (c->softmax == SOFTMAX_ADAPTIVE)
        return layout_adaptive(m, off);
    if (!c->tie)
        add_tensor(m, "decoder.weight", &off, c->vocab, c->hidden);
    add_tensor(m, "decoder.bias", &off, c->vocab, 0);
    return off;
}

/* The adaptive softmax's views, from tensor k on (layout_adaptive's
 * order). */
static void bind_adaptive(model *m, int k)
{
    m->dec_w = m->dec_b = m->g_dec_w = m->g_dec_b = NULL;
    memset(&m->ad, 0, sizeof m->ad);
    memset(&m->g_ad, 0, sizeof m->g_ad);
    m->ad.head_w = m->params + m->tensors[k].offset;
    m->g_ad.head_w = m->grads + m->tensors[k++].offset;
    if (m->cfg.head_bias) {
        m->ad.head_b = m->params + m->tensors[k].offset;
        m->g_ad.head_b = m->grads + m->tensors[k++].offset;
    }
    for (int i = 0; i < m->cfg.cutoffs.n; i++)
        for (int j = 0; j < 2; j++, k++) {
            m->ad.tail[i][j] = m->params + m->tensors[k].offset;
            m->g_ad.tail[i][j] = m->grads + m->tensors[k].offset;
        }
}

static void bind_views(model *m)
{
    const model_config *c = &m->cfg;
    int k = 0;
    m->enc = m->params + m->tensors[k].offset;
    m->g_enc = m->grads + m->tensors[k++].offset;
    for (int l = 0; l < c->layers; l++) {
        float **v[4] = {&m->w_ih[l], &m->w_hh[l], &m->b_ih[l], &m->b_hh[l]};
        float **g[4] = {&m->g_w_ih[l], &m->g_w_hh[l], &m->g_b_ih[l], &m->g_b_hh[l]};
        for (int i = 0; i < 4; i++, k++) {
            *v[i] = m->params + m->tensors[k].offset;
            *g[i] = m->grads + m->tensors[k].offset;
        }
        for (int i = 0; c->layer_norm && i < MODEL_LN_N; i++, k++) {
            m->ln[l][i] = m->params + m->tensors[k].offset;
            m->g_ln[l][i] = m->grads + m->tensors[k].offset;
        }
    }
    if (c->softmax == SOFTMAX_ADAPTIVE) {
        bind_adaptive(m, k);
        return;
    }
    if (c->tie) {
        m->dec_w = m->enc;
        m->g_dec_w = m->g_enc;
    } else {
        m->dec_w = m->params + m->tensors[k].offset;
        m->g_dec_w = m->grads + m->tensors[k++].offset;
    }
    m->dec_b = m->params + m->tensors[k].offset;
    m->g_dec_b = m->grads + m->tensors[k].offset;
}

be_lnlstm_params model_ln_params(const model *m, int l)
{
    float *const *v = m->ln[l];
    return (be_lnlstm_params){v[MODEL_LN_IH_W], v[MODEL_LN_IH_B], v[MODEL_LN_HH_W],
                              v[MODEL_LN_HH_B], v[MODEL_LN_C_W], v[MODEL_LN_C_B]};
}

static void fill_uniform(float *p, size_t n, float bound, rng_state *r)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (2.0f * rng_uniform(r) - 1.0f) * bound;
}

/* The bound of tensor t's uniform initialisation: PyTorch's nn.RNN/GRU/LSTM
 * default (+-1/sqrt(H)) for the recurrent layers; the encoder and decoder
 * as PyTorch's word_language_model example (+-0.1, decoder bias 0); the
 * adaptive softmax's as nn.Linear's default (+-1/sqrt(fan_in), its bias
 * too). */
static float init_bound(const model *m, const model_tensor *t)
{
    if (strncmp(t->name, "rnn.", 4) == 0)
        return 1.0f / sqrtf((float)m->cfg.hidden);
    if (strcmp(t->name, "decoder.bias") == 0)
        return 0.0f;
    if (strncmp(t->name, "decoder.head.", 13) == 0 || strncmp(t->name, "decoder.tail.", 13) == 0)
        return 1.0f / sqrtf((float)(t->ndim == 2 ? t->shape[1] : m->cfg.hidden));
    return 0.1f;
}

/* PyTorch's default initialisation (init_bound; LayerNorm's 1 and 0),
 * drawn on the host, then uploaded. */
static int init_params(model *m, rng_state *r)
{
    const model_config *c = &m->cfg;
    float *h = calloc(m->n_params, sizeof(float));
    if (!h)
        return -1;
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->tensors[i];
        float bound = init_bound(m, t);
        if (strncmp(t->name, "rnn.ln_", 7) == 0)    /* nn.LayerNorm's: 1 and 0 */
            for (size_t k = 0; k < t->numel; k++)
                h[t->offset + k] = strstr(t->name, ".weight") ? 1.0f : 0.0f;
        else
            fill_uniform(h + t->offset, t->numel, bound, r);
    }
    if (c->layer_norm && c->forget_bias)
        for (int l = 0; l < c->layers; l++) {
            size_t bi = (size_t)(m->ln[l][MODEL_LN_IH_B] - m->params);
            for (int j = 0; j < c->hidden; j++)
                h[bi + c->hidden + j] = 1.0f;
        }
    else if (c->cell == CELL_LSTM && c->forget_bias)
        for (int l = 0; l < c->layers; l++) {
            /* forget gate is the second block of H; total bias = 1 */
            size_t bi = (size_t)(m->b_ih[l] - m->params), bh = (size_t)(m->b_hh[l] - m->params);
            for (int j = 0; j < c->hidden; j++) {
                h[bi + c->hidden + j] = 1.0f;
                h[bh + c->hidden + j] = 0.0f;
            }
        }
    m->be->upload(m->be, m->params, h, m->n_params * sizeof(float));
    free(h);
    return 0;
}

model *model_create(be_backend *be, const model_config *cfg, rng_state *rng,
                    char *err, size_t errlen)
{
    if (model_config_check(cfg, err, errlen) < 0)
        return NULL;
    model *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "model: out of memory");
        return NULL;
    }
    m->cfg = *cfg;
    m->be = be;
    m->n_params = layout(m);
    m->params = be->alloc(be, m->n_params * sizeof(float));
    m->grads = be->alloc(be, m->n_params * sizeof(float));
    if (!m->params || !m->grads) {
        snprintf(err, errlen, "model: out of memory for %zu parameters", m->n_params);
        model_free(m);
        return NULL;
    }
    bind_views(m);
    if (init_params(m, rng) < 0) {
        snprintf(err, errlen, "model: out of memory initialising %zu parameters",
                 m->n_params);
        model_free(m);
        return NULL;
    }
    return m;
}

void model_free(model *m)
{
    if (!m)
        return;
    be_backend *be = m->be;
    be->free(be, m->params);
    be->free(be, m->grads);
    if (m->act)
        be->free(be, ((act_arena *)m->act)->base);
    free(m->act);
    be->free(be, m->ids_dev);
    free(m->ad_host);
    free(m);
}

size_t model_param_count(const model *m) { return m->n_params; }

float *model_swap_params(model *m, float *p)
{
    float *old = m->params;
    m->params = p;
    bind_views(m);
    return old;
}

const model_tensor *model_find_tensor(const model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return &m->tensors[i];
    return NULL;
}

int model_state_init(model *m, model_state *s, int B)
{
    size_t n = (size_t)m->cfg.layers * B * m->cfg.hidden * sizeof(float);
    s->B = B;
    s->h = m->be->alloc(m->be, n);
    s->c = m->cfg.cell == CELL_LSTM ? m->be->alloc(m->be, n) : NULL;
    if (!s->h || (m->cfg.cell == CELL_LSTM && !s->c)) {
        model_state_free(m, s);
        return -1;
    }
    return 0;
}

void model_state_free(model *m, model_state *s)
{
    m->be->free(m->be, s->h);
    m->be->free(m->be, s->c);
    s->h = s->c = NULL;
}

void model_state_zero(model *m, model_state *s)
{
    size_t n = (size_t)m->cfg.layers * s->B * m->cfg.hidden * sizeof(float);
    m->be->zero(m->be, s->h, n);
    if (s->c)
        m->be->zero(m->be, s->c, n);
}

/* Rows of logits the arena holds for chunks of R rows of B streams: all R
 * when R*V fits in logits_max, else as many as fit, but never fewer than
 * B (a generation step's rows come in one block). */
static size_t logit_rows(const model *m, size_t R, size_t B)
{
    size_t V = (size_t)m->cfg.vocab, max = m->logits_max ? m->logits_max : MODEL_LOGITS_MAX;
    size_t rows = V ? max / V : R;
    if (rows < B) rows = B;
    if (rows < 1) rows = 1;
    return rows < R ? rows : R;
}

/* Fills n floats of device memory with 1; returns 0 or -1 (out of
 * memory). */
static int upload_ones(be_backend *be, float *dst, size_t n)
{
    float *h = malloc(n * sizeof(float));
    if (!h)
        return -1;
    for (size_t i = 0; i < n; i++)
        h[i] = 1.0f;
    be->upload(be, dst, h, n * sizeof(float));
    free(h);
    return 0;
}

/* Carves the arena for R rows of B streams; with base NULL only counts.
 * Returns the number of floats needed. */
/* The parts of an arena the configuration needs (NEED_*). */
static int arena_needs(const model_config *c)
{
    return (model_drops(c) ? NEED_DROP : 0) | (c->dropout_embed > 0.0f ? NEED_EMBED_DROP : 0)
           | (c->weight_drop > 0.0f ? NEED_WEIGHT_DROP : 0);
}

/* The adaptive softmax's scratch for blocks of n rows at base + *off (with
 * base NULL only counted); its logits are the model's. */
static void carve_adaptive(model *m, act_arena *a, float *base, size_t *off, size_t n)
{
    adaptive_scratch *s = &a->ad;
    adaptive_dims d;
    adaptive_config ac = model_adaptive_config(&m->cfg);
    size_t H = (size_t)m->cfg.hidden;
    float *ids;
    memset(s, 0, sizeof *s);
    if (m->cfg.softmax != SOFTMAX_ADAPTIVE)
        return;
    adaptive_dims_of(&ac, &d);
    float **part[] = {&s->head, &s->x, &s->dx, &s->proj, &s->dproj, &ids};
    size_t len[] = {n * (size_t)d.head, n * H, n * H, n * (size_t)d.max_proj,
                    n * (size_t)d.max_proj, 3 * n};
    for (size_t i = 0; i < sizeof len / sizeof len[0]; i++) {
        *part[i] = base ? base + *off : NULL;
        *off += (len[i] + 15) & ~(size_t)15;
    }
    /* token ids are 32-bit like the floats: the arena holds them too */
    s->ids = (uint32_t *)ids;
    s->logits = m->logits;
    s->host = m->ad_host;
}

static size_t carve(model *m, act_arena *a, float *base, size_t R, size_t B)
{
    const model_config *c = &m->cfg;
    size_t H = c->hidden, E = c->embed, V = c->vocab, GH = model_gates(c->cell) * H;
    size_t wide = E > H ? E : H, off = 0;
    int need = arena_needs(c), drop = need & NEED_DROP;
#define TAKE(ptr, n) do { (ptr) = base ? base + off : NULL; off += ((n) + 15) & ~(size_t)15; } while (0)
    a->carved = need;
    a->row_mask = a->row_tmp = a->row_gather = a->ones = a->emb_mask = NULL;
    if (need & NEED_EMBED_DROP) {
        TAKE(a->row_mask, V);
        TAKE(a->row_tmp, V);
        TAKE(a->row_gather, R);
        TAKE(a->ones, E);
        TAKE(a->emb_mask, R * E);
    }
    for (int l = 0; l < c->layers; l++) {
        a->whh_drop[l] = a->whh_mask[l] = NULL;
        if (need & NEED_WEIGHT_DROP) {
            TAKE(a->whh_drop[l], GH * H);
            TAKE(a->whh_mask[l], GH * H);
        }
    }
    for (int l = 0; l < c->layers; l++) {
        layer_act *L = &a->layer[l];
        size_t in = l ? H : E;
        TAKE(L->x, R * in);
        TAKE(L->gx, R * GH);
        if (c->cell == CELL_GRU || c->layer_norm)
            TAKE(L->gh, R * GH);
        else
            L->gh = NULL;
        L->ga = L->cn = L->stats = NULL;
        if (c->layer_norm) {
            TAKE(L->ga, R * GH);
            TAKE(L->cn, R * H);
            TAKE(L->stats, R * BE_LN_STATS);
        }
        TAKE(L->hs, (R + B) * H);
        if (c->cell == CELL_LSTM)
            TAKE(L->cs, (R + B) * H);
        else
            L->cs = NULL;
        if (drop)
            TAKE(L->mask, R * in);
        else
            L->mask = NULL;
    }
    TAKE(a->dec_in, R * H);
    if (drop)
        TAKE(a->dec_mask, R * H);
    else
        a->dec_mask = NULL;
    TAKE(m->logits, logit_rows(m, R, B) * V);
    carve_adaptive(m, a, base, &off, logit_rows(m, R, B));
    TAKE(a->dgx, R * GH);
    if (c->cell == CELL_GRU || c->layer_norm)
        TAKE(a->dgh, R * GH);
    else
        a->dgh = a->dgx;
    a->da = a->dy = NULL;
    if (c->layer_norm) {
        TAKE(a->da, R * GH);
        TAKE(a->dy, R * H);
    }
    TAKE(a->dH, R * wide);
    TAKE(a->dX, R * wide);
    TAKE(a->dh_rec, B * H);
    TAKE(a->dc, B * H);
    a->whh_prep = NULL;
    if (R > B && m->be && m->be->prepared_bytes) {
        /* the forward's W_hh^T and the backward's W_hh take turns in it */
        size_t fwd = m->be->prepared_bytes(m->be, (int)B, (int)GH, (int)H),
               bwd = m->be->prepared_bytes(m->be, (int)B, (int)H, (int)GH);
        size_t bytes = fwd > bwd ? fwd : bwd;
        if (bytes)
            TAKE(a->whh_prep, (bytes + sizeof(float) - 1) / sizeof(float));
    }
#undef TAKE
    return off;
}

void model_size(const model_config *cfg, size_t B, size_t R, double *params,
                double *acts)
{
    model m = {.cfg = *cfg};        /* its tensor table only */
    act_arena a;
    size_t state = (size_t)cfg->layers * B * (size_t)cfg->hidden;
    *params = (double)layout(&m);
    *acts = (double)carve(&m, &a, NULL, R, B) + (double)(R + B) +
            (double)state * (cfg->cell == CELL_LSTM ? 2 : 1);
}

int model_reserve(model *m, int B, int T)
{
    size_t R = (size_t)B * T;
    act_arena *a = m->act;
    int needs = arena_needs(&m->cfg);
    if (a && R <= m->act_rows && (size_t)B <= (size_t)m->act_B && (a->carved & needs) == needs)
        return 0;
    if (a && R < m->act_rows)
        R = m->act_rows;
    if (a && B < m->act_B)
        B = m->act_B;
    if (!a && !(a = calloc(1, sizeof *a)))
        return -1;
    m->act = a;
    size_t need = carve(m, a, NULL, R, (size_t)B);
    float *base = m->be->alloc(m->be, need * sizeof(float));
    uint32_t *ids = m->be->alloc(m->be, (R + (size_t)B) * sizeof(uint32_t));
    if (!base || !ids) {
        m->be->free(m->be, base);
        m->be->free(m->be, ids);
        return -1;
    }
    size_t rows = logit_rows(m, R, (size_t)B);
    uint32_t *host = m->cfg.softmax == SOFTMAX_ADAPTIVE ? malloc(3 * rows * sizeof *host) : NULL;
    if (m->cfg.softmax == SOFTMAX_ADAPTIVE && !host) {
        m->be->free(m->be, base);
        m->be->free(m->be, ids);
        return -1;
    }
    m->be->free(m->be, a->base);
    m->be->free(m->be, m->ids_dev);
    free(m->ad_host);
    a->base = base;
    m->ids_dev = ids;
    m->ad_host = host;
    carve(m, a, base, R, (size_t)B);
    if (a->ones && upload_ones(m->be, a->ones, (size_t)m->cfg.embed) < 0)
        return -1;
    m->act_rows = R;
    m->act_B = B;
    return 0;
}

/* Dropout key for one site of one chunk: sites are the embedding (0), the
 * input of layer l (l), the decoder input (layers), the embedding's row
 * mask (layers + 1) and the weight drop of layer l (layers + 2 + l). */
static uint64_t site_key(uint64_t key, int site)
{
    return key * 0x9E3779B97F4A7C15ULL + (uint64_t)site * 0xC2B2AE3D27D4EB4FULL + 1;
}

/* The place a dropout site is: the embedding output, between layers or
 * the decoder input. */
static model_drop_place site_place(const model_config *c, int site)
{
    return site == 0 ? MODEL_DROP_INPUT
                     : site == c->layers ? MODEL_DROP_OUTPUT : MODEL_DROP_HIDDEN;
}

/* Applies dropout to x [T*B, width] at a site when training with the
 * site's place's rate above 0, noting whether it did.  A mask element is
 * keyed by its place in the whole batch: row t*B + b of a share is row
 * t*batch_total + batch_first + b of the batch. */
static void maybe_drop(model *m, float *x, float *mask, int T, int B, int width,
                       int train, uint64_t key, int site)
{
    /* locked (variational) dropout keys the masks of row 0 as a plain
     * one does, so the two agree on the first step */
    be_backend *be = m->be;
    float p = model_drop_rate(&m->cfg, site_place(&m->cfg, site));
    size_t row = (size_t)B * width;
    act_arena *a = m->act;
    a->dropped[site] = train && p > 0.0f;
    if (!a->dropped[site])
        return;
    key = site_key(key, site);
    if (m->cfg.locked) {
        /* one row of masks per stream, the batch's row 0, for every step */
        be->dropout_fwd(be, x, mask, row, p, key, (size_t)m->batch_first * width);
        for (int t = 1; t < T; t++) {
            be->copy(be, mask + t * row, mask, row * sizeof(float));
            be->mul(be, x + t * row, mask, row);
        }
        return;
    }
    if (m->batch_total <= 0 || m->batch_total == B) {
        be->dropout_fwd(be, x, mask, (size_t)T * row, p, key, 0);
        return;
    }
    for (int t = 0; t < T; t++) {
        size_t first = ((size_t)t * m->batch_total + m->batch_first) * width;
        be->dropout_fwd(be, x + t * row, mask + t * row, row, p, key, first);
    }
}

/* Embedding dropout (awd-lstm-lm's embedded_dropout): a mask over the V
 * rows of encoder.weight, 0 or 1/(1-p) per row and the same for the whole
 * batch; the chunk's embedding rows are multiplied by the masks of their
 * ids (gathered as a one-column table, spread over E columns by a rank-1
 * product) and the mask kept for the backward. */
static void embed_drop(model *m, int R, int train, uint64_t key)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    int E = m->cfg.embed, V = m->cfg.vocab;
    if (!train || !(m->cfg.dropout_embed > 0.0f))
        return;
    be->zero(be, a->row_tmp, (size_t)V * sizeof(float));
    be->dropout_fwd(be, a->row_tmp, a->row_mask, (size_t)V, m->cfg.dropout_embed,
                    site_key(key, m->cfg.layers + 1), 0);
    be->embed_fwd(be, m->ids_dev, R, a->row_mask, 1, a->row_gather);
    be->gemm(be, 0, 0, R, E, 1, 1.0f, a->row_gather, 1, a->ones, E, 0.0f, a->emb_mask, E);
    be->mul(be, a->layer[0].x, a->emb_mask, (size_t)R * E);
}

/* Weight drop (DropConnect) on layer l's W_hh for a training chunk: the
 * layer's recurrence uses W_hh times a mask drawn once for the chunk (the
 * same for every stream of the batch); otherwise W_hh itself. */
static void weight_drop(model *m, int l, int train, uint64_t key)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    size_t n = (size_t)model_gates(m->cfg.cell) * m->cfg.hidden * m->cfg.hidden;
    a->whh[l] = m->w_hh[l];
    if (!train || !(m->cfg.weight_drop > 0.0f))
        return;
    be->copy(be, a->whh_drop[l], m->w_hh[l], n * sizeof(float));
    be->dropout_fwd(be, a->whh_drop[l], a->whh_mask[l], n, m->cfg.weight_drop,
                    site_key(key, m->cfg.layers + 2 + l), 0);
    a->whh[l] = a->whh_drop[l];
}

/* W_hh (or its dropped copy) prepared for T steps' products of B rows,
 * when the backend prepares and it pays; NULL otherwise: for the forward
 * (bwd 0) as op(B) = W^T [H, GH], for the backward as W [GH, H].  Both
 * use the one buffer, which holds a single layer's, one pass at a time. */
static const void *prepare_recurrent(model *m, const float *W, int T, int B, int bwd)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    int H = m->cfg.hidden, GH = model_gates(m->cfg.cell) * H;
    int N = bwd ? H : GH, K = bwd ? GH : H;
    if (T < 2 || !a->whh_prep || !be->prepared_bytes || !be->prepared_bytes(be, B, N, K))
        return NULL;
    be->prepare(be, !bwd, N, K, W, H, a->whh_prep);
    return a->whh_prep;
}

/* out[B,GH] += hp[B,H] W^T, from P when W was prepared. */
static void recurrent_product(model *m, const void *P, const float *W, int B,
                              const float *hp, float *out)
{
    be_backend *be = m->be;
    int H = m->cfg.hidden, GH = model_gates(m->cfg.cell) * H;
    if (P)
        be->gemm_prepared(be, B, GH, H, 1.0f, hp, H, P, 1.0f, out, GH);
    else
        be->gemm(be, 0, 1, B, GH, H, 1.0f, hp, H, W, H, 1.0f, out, GH);
}

/* dh[B,H] = dg[B,GH] W + beta * dh (the backward's recurrent product),
 * from P when W was prepared for the backward. */
static void recurrent_grad(model *m, const void *P, const float *W, int B,
                           const float *dg, float beta, float *dh)
{
    be_backend *be = m->be;
    int H = m->cfg.hidden, GH = model_gates(m->cfg.cell) * H;
    if (P)
        be->gemm_prepared(be, B, H, GH, 1.0f, dg, GH, P, beta, dh, H);
    else
        be->gemm(be, 0, 0, B, H, GH, 1.0f, dg, GH, W, H, beta, dh, H);
}

/* Runs layer l over T steps; its input is in L->x, output in L->hs. */
static void layer_forward(model *m, model_state *st, int l, int T, int B)
{
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    act_arena *a = m->act;
    layer_act *L = &a->layer[l];
    int H = c->hidden, in = l ? H : c->embed, GH = model_gates(c->cell) * H;
    int R = T * B;
    size_t sb = (size_t)B * H, so = (size_t)l * sb;
    const float *W = a->whh[l];     /* W_hh, or its weight-dropped copy */

    be->copy(be, L->hs, st->h + so, sb * sizeof(float));
    if (c->cell == CELL_LSTM)
        be->copy(be, L->cs, st->c + so, sb * sizeof(float));
    /* all T input projections at once; both biases folded in except where
     * the recurrent sum is needed apart: the GRU's b_hn sits inside r *
     * (W_hn h + b_hn), the LayerNorm LSTM normalises the two sums apart */
    int apart = c->cell == CELL_GRU || c->layer_norm;
    be_gemm_bias(be, 0, 1, R, GH, in, L->x, in, m->w_ih[l], in, m->b_ih[l],
                 apart ? NULL : m->b_hh[l], L->gx);
    be_lnlstm_params ln = c->layer_norm ? model_ln_params(m, l) : (be_lnlstm_params){0};
    const void *P = prepare_recurrent(m, W, T, B, 0);
    for (int t = 0; t < T; t++) {
        float *hp = L->hs + t * sb, *hn = hp + sb;
        size_t go = (size_t)t * B * GH;
        float *g = L->gx + go;
        if (c->layer_norm) {
            be->fill_rows(be, L->gh + go, B, GH, m->b_hh[l], NULL);
            recurrent_product(m, P, W, B, hp, L->gh + go);
            be->lnlstm_fwd(be, B, H, &ln, g, L->gh + go, L->ga + go, L->cs + t * sb,
                           L->cs + (t + 1) * sb, hn, L->cn + t * sb,
                           L->stats + (size_t)t * B * BE_LN_STATS);
        } else if (c->cell == CELL_GRU) {
            float *gh = L->gh + (size_t)t * B * GH;
            be->fill_rows(be, gh, B, GH, m->b_hh[l], NULL);
            recurrent_product(m, P, W, B, hp, gh);
            be->gru_fwd(be, B, H, g, gh, hp, hn);
        } else {
            recurrent_product(m, P, W, B, hp, g);
            if (c->cell == CELL_LSTM)
                be->lstm_fwd(be, B, H, g, L->cs + t * sb, L->cs + (t + 1) * sb, hn);
            else
                be->rnn_fwd(be, B, H, g, hn);
        }
    }
    be->copy(be, st->h + so, L->hs + (size_t)T * sb, sb * sizeof(float));
    if (c->cell == CELL_LSTM)
        be->copy(be, st->c + so, L->cs + (size_t)T * sb, sb * sizeof(float));
}

/* Embedding, layers and decoder for T steps of st->B streams whose input
 * ids are already in m->ids_dev; leaves the logits in m->logits. */
static void forward_logits(model *m, model_state *st, int T, int train, uint64_t key)
{
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    act_arena *a = m->act;
    int B = st->B, R = T * B, H = c->hidden;

    be->embed_fwd(be, m->ids_dev, R, m->enc, c->embed, a->layer[0].x);
    embed_drop(m, R, train, key);
    for (int l = 0; l < c->layers; l++)
        weight_drop(m, l, train, key);
    maybe_drop(m, a->layer[0].x, a->layer[0].mask, T, B, c->embed, train, key, 0);
    for (int l = 0; l < c->layers; l++) {
        layer_forward(m, st, l, T, B);
        const float *out = a->layer[l].hs + (size_t)B * H;
        float *next = l + 1 < c->layers ? a->layer[l + 1].x : a->dec_in;
        float *mask = l + 1 < c->layers ? a->layer[l + 1].mask : a->dec_mask;
        be->copy(be, next, out, (size_t)R * H * sizeof(float));
        maybe_drop(m, next, mask, T, B, H, train, key, l + 1);
    }
}

/* The logits of decoder rows r0 .. r0+n-1 (n <= the arena's logit rows)
 * into m->logits: with the adaptive softmax, the log-probabilities. */
static void decode_rows(model *m, int r0, int n)
{
    be_backend *be = m->be;
    const act_arena *a = m->act;
    int H = m->cfg.hidden, V = m->cfg.vocab;
    if (m->cfg.softmax == SOFTMAX_ADAPTIVE) {
        adaptive_config ac = model_adaptive_config(&m->cfg);
        adaptive_log_prob(be, &ac, &m->ad, a->dec_in + (size_t)r0 * H, n, m->logits,
                          a->ad.head, a->ad.proj);
        return;
    }
    be_gemm_bias(be, 0, 1, n, V, H, a->dec_in + (size_t)r0 * H, H, m->dec_w, H, m->dec_b,
                 NULL, m->logits);
}

/* The adaptive softmax's loss of decoder rows r0 .. r0+n-1 (host
 * targets), its gradients added and those rows of dL/d(decoder input)
 * written into a->dH, as decoder_backward leaves them. */
static double adaptive_train_rows(model *m, const uint32_t *targets, int r0, int n,
                                  float scale)
{
    act_arena *a = m->act;
    adaptive_config ac = model_adaptive_config(&m->cfg);
    size_t at = (size_t)r0 * m->cfg.hidden;
    return adaptive_loss(m->be, &ac, &m->ad, &m->g_ad, &a->ad, a->dec_in + at, targets, n,
                         scale, 1, a->dH + at);
}

/* The decoder's backward for rows r0 .. r0+n-1, whose dL/dlogits the loss
 * left in m->logits: adds to the decoder's gradients and writes those
 * rows of dL/d(decoder input) into a->dH. */
static void decoder_backward(model *m, int r0, int n)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    int H = m->cfg.hidden, V = m->cfg.vocab;
    be->gemm(be, 1, 0, V, H, n, 1.0f, m->logits, V, a->dec_in + (size_t)r0 * H, H, 1.0f,
             m->g_dec_w, H);
    be->colsum_add(be, m->logits, n, V, m->g_dec_b);
    be->gemm(be, 0, 0, n, H, V, 1.0f, m->logits, V, m->dec_w, H, 0.0f,
             a->dH + (size_t)r0 * H, H);
}

/* TAR's differences h_t - h_{t-1} of the last layer's outputs, t = 2..T
 * of the chunk, into a->dX [(T-1)*B, H]. */
static void tar_diffs(model *m, int T, int B)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    size_t sb = (size_t)B * m->cfg.hidden, n = (size_t)(T - 1) * sb;
    const float *out = a->layer[m->cfg.layers - 1].hs + sb;      /* h_1 .. h_T */
    be->copy(be, a->dX, out, n * sizeof(float));
    be->scale(be, a->dX, n, -1.0f);
    be->add(be, a->dX, out + sb, n);
}

/* AR and TAR of the last training forward (B streams of a batch)
 * in the units of a summed loss: mean * T * whole. */
static double penalties(model *m, int T, int B)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    double H = m->cfg.hidden, sum = 0;
    if (m->ar > 0.0f)
        sum += m->ar * be->sumsq(be, a->dec_in, (size_t)T * B * m->cfg.hidden) / H;
    if (m->tar > 0.0f && T > 1) {
        tar_diffs(m, T, B);
        sum += m->tar * be->sumsq(be, a->dX, (size_t)(T - 1) * B * m->cfg.hidden) * T
               / ((T - 1) * H);
    }
    return sum;
}

/* AR's gradient, 2 ar y / (T whole H), added to a->dH = dL/dy of the
 * decoder input y (a->dX is scratch). */
static void ar_backward(model *m, int T, int B, int whole)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    size_t n = (size_t)T * B * m->cfg.hidden;
    if (!(m->ar > 0.0f))
        return;
    be->copy(be, a->dX, a->dec_in, n * sizeof(float));
    be->scale(be, a->dX, n, 2.0f * m->ar / ((float)T * whole * m->cfg.hidden));
    be->add(be, a->dH, a->dX, n);
}

/* TAR's gradient, with d_t = h_t - h_{t-1} and c = 2 tar / ((T-1) whole
 * H): c d_t on h_t, -c d_t on h_{t-1}, added to a->dH = dL/dh_1..h_T. */
static void tar_backward(model *m, int T, int B, int whole)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    size_t sb = (size_t)B * m->cfg.hidden, n = (size_t)(T - 1) * sb;
    if (!(m->tar > 0.0f) || T < 2)
        return;
    tar_diffs(m, T, B);
    be->scale(be, a->dX, n, 2.0f * m->tar / ((float)(T - 1) * whole * m->cfg.hidden));
    be->add(be, a->dH + sb, a->dX, n);
    be->scale(be, a->dX, n, -1.0f);
    be->add(be, a->dH, a->dX, n);
}

double model_forward(model *m, model_state *st, const uint32_t *ids, int T,
                     int B, int train, uint64_t dropout_key, long *correct)
{
    (void)B; /* the state's stream count rules; B documents the ids shape */
    int R = T * st->B;
    int whole = train && m->batch_total > 0 ? m->batch_total : st->B;
    float scale = 1.0f / (float)((size_t)T * (size_t)whole);
    if (model_reserve(m, st->B, T) < 0)
        return NAN;
    m->be->upload(m->be, m->ids_dev, ids, (size_t)(R + st->B) * sizeof(uint32_t));
    forward_logits(m, st, T, train, dropout_key);
    m->last_T = T;
    m->last_B = st->B;
    if (train)
        m->be->zero(m->be, m->grads, m->n_params * sizeof(float));
    /* the decoder, the loss and its gradient block by block: the logits
     * of a block are gone once its gradient has been used */
    int rows = (int)logit_rows(m, (size_t)R, (size_t)st->B);
    double loss = 0;
    m->last_smoothed = 0;
    for (int r0 = 0; r0 < R; r0 += rows) {
        int n = R - r0 < rows ? R - r0 : rows;
        double smoothed = 0;
        long hits = 0;
        if (m->cfg.softmax == SOFTMAX_ADAPTIVE && train) {
            loss += adaptive_train_rows(m, ids + st->B + r0, r0, n, scale);
            continue;
        }
        decode_rows(m, r0, n);
        loss += m->be->xent(m->be, m->logits, m->ids_dev + st->B + r0, n, m->cfg.vocab,
                            scale, train, train ? m->label_smoothing : 0.0f,
                            &smoothed, correct ? &hits : NULL);
        m->last_smoothed += smoothed;
        if (correct)
            *correct += hits;
        if (train)
            decoder_backward(m, r0, n);
    }
    if (m->cfg.softmax == SOFTMAX_ADAPTIVE && train) {
        /* no smoothing; the hits would need every tail on every row */
        m->last_smoothed = loss;
        if (correct)
            *correct = -1;
    }
    m->last_penalty = train ? penalties(m, T, st->B) : 0.0;
    return loss;
}

/* The normalisations' gradients of layer l from the chunk's da and dy:
 * both sums' LN biases get the column sums of da (the grads start at 0,
 * so ln_hh's is a copy of ln_ih's), the weights those of da times the
 * normalised sums; LN_c's the same with dy and the normalised cells. */
static void ln_param_grads(model *m, const layer_act *L, int l, int R)
{
    be_backend *be = m->be;
    act_arena *a = m->act;
    int H = m->cfg.hidden, GH = 4 * H;
    float **g = m->g_ln[l];
    be->colsum_mul_add(be, a->da, L->gx, R, GH, g[MODEL_LN_IH_W]);
    be->colsum_mul_add(be, a->da, L->gh, R, GH, g[MODEL_LN_HH_W]);
    be->colsum_add(be, a->da, R, GH, g[MODEL_LN_IH_B]);
    be->add(be, g[MODEL_LN_HH_B], g[MODEL_LN_IH_B], (size_t)GH);
    be->colsum_mul_add(be, a->dy, L->cn, R, H, g[MODEL_LN_C_W]);
    be->colsum_add(be, a->dy, R, H, g[MODEL_LN_C_B]);
}

/* Whom a backward tells which gradients are final (model_grads_ready):
 * grads[from ..) are. */
typedef struct grads_notice {
    model_grads_ready ready;
    void *ctx;
    size_t from;
} grads_notice;

/* Tells the callee that grads[from ..) are final (from unchanged: the
 * pass only goes on). */
static void notify(grads_notice *n, size_t from)
{
    n->from = from;
    if (n->ready)
        n->ready(n->ctx, from);
}

/* Backward through layer l: a->dH holds dL/d(output h_1..h_T) on entry
 * (consumed); on exit a->dX holds dL/d(layer input x).  n hears of every
 * time step. */
static void layer_backward(model *m, int l, int T, int B, grads_notice *n)
{
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    act_arena *a = m->act;
    layer_act *L = &a->layer[l];
    int H = c->hidden, in = l ? H : c->embed, GH = model_gates(c->cell) * H;
    int R = T * B;
    size_t sb = (size_t)B * H;
    const float *W = a->whh[l];

    be_lnlstm_params ln = c->layer_norm ? model_ln_params(m, l) : (be_lnlstm_params){0};
    be->zero(be, a->dh_rec, sb * sizeof(float));
    be->zero(be, a->dc, sb * sizeof(float));
    const void *P = prepare_recurrent(m, W, T, B, 1);
    for (int t = T - 1; t >= 0; t--) {
        float *dh = a->dH + t * sb;               /* dL/dh_t, direct part */
        const float *hp = L->hs + t * sb;
        size_t go = (size_t)t * B * GH;
        notify(n, n->from);
        be->add(be, dh, a->dh_rec, sb);
        if (c->layer_norm) {
            be->lnlstm_bwd(be, B, H, &ln, L->gx + go, L->gh + go, L->ga + go,
                           L->cs + t * sb, L->cn + t * sb,
                           L->stats + (size_t)t * B * BE_LN_STATS, dh, a->dc,
                           a->dgx + go, a->dgh + go, a->da + go, a->dy + t * sb);
            recurrent_grad(m, P, W, B, a->dgh + go, 0.0f, a->dh_rec);
        } else if (c->cell == CELL_LSTM) {
            be->lstm_bwd(be, B, H, L->gx + go, L->cs + t * sb, L->cs + (t + 1) * sb,
                         dh, a->dc, a->dgx + go);
            recurrent_grad(m, P, W, B, a->dgx + go, 0.0f, a->dh_rec);
        } else if (c->cell == CELL_GRU) {
            be->gru_bwd(be, B, H, L->gx + go, L->gh + go, hp, dh, a->dh_rec,
                        a->dgx + go, a->dgh + go);
            recurrent_grad(m, P, W, B, a->dgh + go, 1.0f, a->dh_rec);
        } else {
            be->rnn_bwd(be, B, H, hp + sb, dh, a->dgx + go);
            recurrent_grad(m, P, W, B, a->dgx + go, 0.0f, a->dh_rec);
        }
    }
    /* weight gradients: one GEMM per matrix for the whole chunk */
    be->gemm(be, 1, 0, GH, in, R, 1.0f, a->dgx, GH, L->x, in, 1.0f, m->g_w_ih[l], in);
    be->gemm(be, 1, 0, GH, H, R, 1.0f, a->dgh, GH, L->hs, H, 1.0f, m->g_w_hh[l], H);
    if (W != m->w_hh[l])        /* weight drop: the kept weights' share */
        be->mul(be, m->g_w_hh[l], a->whh_mask[l], (size_t)GH * H);
    be->colsum_add(be, a->dgx, R, GH, m->g_b_ih[l]);
    /* one gate gradient for both biases (LSTM, RNN): the grads start at
     * 0, so b_hh's is a copy of b_ih's, not a second pass over the chunk */
    if (a->dgh == a->dgx)
        be->add(be, m->g_b_hh[l], m->g_b_ih[l], (size_t)GH);
    else
        be->colsum_add(be, a->dgh, R, GH, m->g_b_hh[l]);
    be->gemm(be, 0, 0, R, in, GH, 1.0f, a->dgx, GH, m->w_ih[l], in, 0.0f, a->dX, in);
    if (c->layer_norm)
        ln_param_grads(m, L, l, R);
}

void model_backward(model *m)
{
    model_backward_notify(m, NULL, NULL);
}

/* Where the decoder's own tensors start in the buffer: decoder.weight
 * (untied) and decoder.bias are the last ones. */
static size_t decoder_from(const model *m)
{
    return m->tensors[m->n_tensors - (m->cfg.tie ? 1 : 2)].offset;
}

void model_backward_notify(model *m, model_grads_ready ready, void *ctx)
{
    be_backend *be = m->be;
    const model_config *c = &m->cfg;
    act_arena *a = m->act;
    int T = m->last_T, B = m->last_B, R = T * B, H = c->hidden;
    int whole = m->batch_total > 0 ? m->batch_total : B;
    grads_notice n = {ready, ctx, m->n_params};

    /* the training forward zeroed the gradients, did the decoder's part
     * and left dL/d(decoder input) in a->dH */
    notify(&n, decoder_from(m));
    ar_backward(m, T, B, whole);
    if (a->dropped[c->layers])
        be->mul(be, a->dH, a->dec_mask, (size_t)R * H);
    tar_backward(m, T, B, whole);
    for (int l = c->layers - 1; l >= 0; l--) {
        layer_backward(m, l, T, B, &n);
        notify(&n, (size_t)(m->g_w_ih[l] - m->grads));
        int in = l ? H : c->embed;
        if (a->dropped[l])
            be->mul(be, a->dX, a->layer[l].mask, (size_t)R * in);
        /* the layer below's output gradient is this layer's input gradient */
        float *t = a->dH; a->dH = a->dX; a->dX = t;
    }
    if (c->dropout_embed > 0.0f)
        be->mul(be, a->dH, a->emb_mask, (size_t)R * c->embed);
    be->embed_bwd(be, m->ids_dev, R, a->dH, c->embed, m->g_enc);
    notify(&n, 0);
}

const float *model_drop_mask(const model *m, int site)
{
    const act_arena *a = m->act;
    if (!a || site < 0 || site > m->cfg.layers || !a->dropped[site])
        return NULL;
    return site == m->cfg.layers ? a->dec_mask : a->layer[site].mask;
}

void model_step(model *m, model_state *st, const uint32_t *ids, float *out)
{
    if (model_reserve(m, st->B, 1) < 0)
        return;
    m->be->upload(m->be, m->ids_dev, ids, (size_t)st->B * sizeof(uint32_t));
    forward_logits(m, st, 1, 0, 0);
    decode_rows(m, 0, st->B);
    m->be->download(m->be, out, m->logits, (size_t)st->B * m->cfg.vocab * sizeof(float));
}
