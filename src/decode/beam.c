/* beam.c - beam search: W hypotheses advanced together as W streams of
 * one decoder (one product per weight matrix per step), ranked by their
 * length-normalised log-probability (sum of log p / tokens).
 *
 * Every token a hypothesis took is a node of a tree (parent, token, log
 * p), so extending a beam copies nothing but its recurrent state rows.
 * Hypotheses that produce the end token or the stop string leave the beam
 * as finished; the search ends at the length, when no beam is left, or
 * when W hypotheses have finished.  Tokens are delivered as soon as every
 * hypothesis still in the running shares them, and the rest of the best
 * one at the end.  Ties are broken by beam and token order, so the search
 * is deterministic. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/beam.h"
#include "decode/run_int.h"
#include "util/buf.h"

#define BM_NONE UINT32_MAX

typedef struct bm_node {
    uint32_t parent;         /* BM_NONE for the first generated token */
    uint32_t id;
    float logp;              /* log p of id, penalty applied: the score's part */
    float prob;              /* p of id in softmax(logits) */
    uint32_t alts;           /* row of the alternatives store, or BM_NONE */
} bm_node;

typedef struct bm_hyp {
    uint32_t node;           /* its last token */
    size_t len;              /* tokens */
    double sum;              /* sum of log p */
    sample_stop how;         /* finished: SAMPLE_STOP_STRING or _EOS */
    smp_tail tail;
} bm_hyp;

typedef struct bm_cand {
    double total;
    uint32_t row, id;
    float logp, prob;
} bm_cand;

typedef struct bm_search {
    smp_run *r;
    int W, n_alts;
    bm_node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t *alt_ids;       /* [rows][n_alts] */
    float *alt_prob;         /* the same shape */
    size_t n_alt_rows;       /* rows used */
    size_t cap_alt_ids, cap_alt_prob;  /* elements allocated */
    bm_hyp *live, *next, *fin;   /* [W] each; fin sorted best first */
    int n_live, n_fin;
    bm_cand *cands;          /* [W*W] */
    uint32_t *top;           /* [W] one row's best tokens */
    uint32_t *parents, *tokens;  /* [W] */
    uint32_t *row_alts;      /* [W] alternatives row of each live beam */
    uint32_t *recent;        /* penalty look-back scratch */
    size_t cap_recent;
    uint32_t *path;          /* delivery scratch */
    size_t cap_path;
    size_t emitted;          /* tokens delivered */
    int halted;              /* the callback or the cancel flag stopped it */
} bm_search;

static double bm_score(const bm_hyp *h)
{
    return h->len ? h->sum / (double)h->len : 0.0;
}

static int bm_open(bm_search *s, smp_run *r)
{
    int W = r->W;
    memset(s, 0, sizeof *s);
    s->r = r;
    s->W = W;
    s->n_alts = r->req->n_alts > SAMPLE_MAX_ALTS ? SAMPLE_MAX_ALTS
              : r->req->n_alts > 0 ? r->req->n_alts : 0;
    s->live = calloc((size_t)W, sizeof *s->live);
    s->next = calloc((size_t)W, sizeof *s->next);
    s->fin = calloc((size_t)W, sizeof *s->fin);
    s->cands = calloc((size_t)W * W, sizeof *s->cands);
    s->top = calloc((size_t)W, sizeof *s->top);
    s->parents = calloc((size_t)W, sizeof *s->parents);
    s->tokens = calloc((size_t)W, sizeof *s->tokens);
    s->row_alts = calloc((size_t)W, sizeof *s->row_alts);
    if (!s->live || !s->next || !s->fin || !s->cands || !s->top || !s->parents ||
        !s->tokens || !s->row_alts)
        return -1;
    return 0;
}

static void bm_close(bm_search *s)
{
    free(s->nodes);
    free(s->alt_ids);
    free(s->alt_prob);
    free(s->live);
    free(s->next);
    free(s->fin);
    free(s->cands);
    free(s->top);
    free(s->parents);
    free(s->tokens);
    free(s->row_alts);
    free(s->recent);
    free(s->path);
}

/* The penalty's look-back for hypothesis h: its own tokens, newest first,
 * then the prime's, up to the window.  Returns the count; -1 when out of
 * memory. */
static long bm_recent(bm_search *s, const bm_hyp *h)
{
    const smp_run *r = s->r;
    if (!(r->cfg->repetition_penalty > 0.0f) || r->cfg->repetition_penalty == 1.0f)
        return 0;
    size_t total = h->len + r->n_hist;
    size_t w = r->cfg->repetition_window > 0 ? (size_t)r->cfg->repetition_window : total;
    if (w > total)
        w = total;
    if (GROW_ARRAY(&s->recent, &s->cap_recent, w, 64) < 0)
        return -1;
    size_t n = 0;
    for (uint32_t p = h->len ? h->node : BM_NONE; p != BM_NONE && n < w; p = s->nodes[p].parent)
        s->recent[n++] = s->nodes[p].id;
    for (size_t i = r->n_hist; i > 0 && n < w; i--)
        s->recent[n++] = r->hist[i - 1];
    return (long)n;
}

/* The W most likely tokens of row z (log-probabilities up to a constant),
 * highest first, lowest id on ties, into s->top.  Returns how many. */
static int bm_top(bm_search *s, const float *z, int V)
{
    int k = s->W < V ? s->W : V, have = 0;
    for (int j = 0; j < V; j++) {
        if (isnan(z[j]) || (have == k && !(z[j] > z[s->top[have - 1]])))
            continue;
        int pos = have < k ? have++ : k - 1;
        while (pos > 0 && z[j] > z[s->top[pos - 1]]) {
            s->top[pos] = s->top[pos - 1];
            pos--;
        }
        s->top[pos] = (uint32_t)j;
    }
    return have;
}

/* Candidates of live beam b: its W best continuations.  Also stores the
 * alternatives of its row.  Returns the count, -1 when out of memory. */
static int bm_expand(bm_search *s, int b, bm_cand *out)
{
    smp_run *r = s->r;
    const float *row = r->logits + (size_t)b * r->V;
    long n_recent = bm_recent(s, &s->live[b]);
    if (n_recent < 0)
        return -1;
    const float *z = sample_penalised(&r->pk, row, r->cfg, s->recent, (size_t)n_recent);
    double lse = sample_lse(z, r->V), lse_raw = n_recent ? sample_lse(row, r->V) : lse;
    s->row_alts[b] = BM_NONE;
    if (s->n_alts > 0) {
        size_t a = s->n_alt_rows, need = (a + 1) * s->n_alts;
        if (GROW_ARRAY(&s->alt_ids, &s->cap_alt_ids, need, 64) < 0 ||
            GROW_ARRAY(&s->alt_prob, &s->cap_alt_prob, need, 64) < 0)
            return -1;
        double unused;
        int got = sample_top(row, r->V, s->n_alts, s->alt_ids + a * s->n_alts,
                             s->alt_prob + a * s->n_alts, &unused);
        for (int i = got; i < s->n_alts; i++) {
            s->alt_ids[a * s->n_alts + i] = BM_NONE;
            s->alt_prob[a * s->n_alts + i] = 0.0f;
        }
        s->row_alts[b] = (uint32_t)a;
        s->n_alt_rows = a + 1;
    }
    int k = bm_top(s, z, r->V);
    for (int i = 0; i < k; i++) {
        uint32_t id = s->top[i];
        float lp = (float)(z[id] - lse);
        out[i] = (bm_cand){s->live[b].sum + lp, (uint32_t)b, id, lp,
                           sample_prob(row[id], lse_raw)};
    }
    return k;
}

static int bm_cand_cmp(const void *a, const void *b)
{
    const bm_cand *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Keeps h among the W best finished hypotheses. */
static void bm_finish(bm_search *s, const bm_hyp *h)
{
    double sc = bm_score(h);
    int pos = s->n_fin;
    if (pos == s->W) {
        if (!(sc > bm_score(&s->fin[pos - 1])))
            return;
        pos--;
    } else {
        s->n_fin++;
    }
    while (pos > 0 && sc > bm_score(&s->fin[pos - 1])) {
        s->fin[pos] = s->fin[pos - 1];
        pos--;
    }
    s->fin[pos] = *h;
}

/* One search step: expand every live beam, keep the best W that go on.
 * Returns 0, or -1 when out of memory. */
static int bm_advance(bm_search *s)
{
    smp_run *r = s->r;
    int nc = 0, n_next = 0;
    for (int b = 0; b < s->n_live; b++) {
        int k = bm_expand(s, b, s->cands + nc);
        if (k < 0)
            return -1;
        nc += k;
    }
    qsort(s->cands, (size_t)nc, sizeof *s->cands, bm_cand_cmp);
    for (int i = 0; i < nc && n_next < s->W; i++) {
        const bm_cand *c = &s->cands[i];
        const bm_hyp *from = &s->live[c->row];
        if (GROW_ARRAY(&s->nodes, &s->cap_nodes, s->n_nodes + 1, 64) < 0)
            return -1;
        s->nodes[s->n_nodes] = (bm_node){from->len ? from->node : BM_NONE, c->id,
                                         c->logp, c->prob, s->row_alts[c->row]};
        bm_hyp h = *from;
        h.node = (uint32_t)s->n_nodes++;
        h.len++;
        h.sum = c->total;
        if (r->req->eos >= 0 && c->id == (uint64_t)r->req->eos) {
            h.how = SAMPLE_STOP_EOS;
            bm_finish(s, &h);
        } else if (smp_tail_push(r, &h.tail, from->len ? s->nodes[from->node].id
                                                       : r->prime_last, c->id)) {
            h.how = SAMPLE_STOP_STRING;
            bm_finish(s, &h);
        } else {
            s->parents[n_next] = c->row;
            s->tokens[n_next] = c->id;
            s->next[n_next++] = h;
        }
    }
    bm_hyp *t = s->live;
    s->live = s->next;
    s->next = t;
    s->n_live = n_next;
    return 0;
}

/* Delivers the tokens at depths [s->emitted, upto) of the path ending at
 * node (whose depth is >= upto - 1).  Returns 0, 1 when the callback
 * stopped, -1 when out of memory. */
static int bm_deliver(bm_search *s, uint32_t node, size_t depth, size_t upto)
{
    if (upto <= s->emitted)
        return 0;
    size_t n = upto - s->emitted;
    if (GROW_ARRAY(&s->path, &s->cap_path, n, 64) < 0)
        return -1;
    for (; depth + 1 > upto; depth--)
        node = s->nodes[node].parent;
    for (size_t i = n; i > 0; i--) {
        s->path[i - 1] = node;
        node = s->nodes[node].parent;
    }
    for (size_t i = 0; i < n; i++) {
        const bm_node *nd = &s->nodes[s->path[i]];
        sample_token t = {.prob = 1.0f, .model_prob = nd->prob};
        if (nd->alts != BM_NONE)
            for (int a = 0; a < s->n_alts; a++) {
                uint32_t id = s->alt_ids[(size_t)nd->alts * s->n_alts + a];
                if (id == BM_NONE)
                    break;
                t.alt_id[a] = id;
                t.alt_prob[a] = s->alt_prob[(size_t)nd->alts * s->n_alts + a];
                t.n_alts = a + 1;
            }
        s->emitted++;
        if (smp_deliver(s->r, &t, nd->id, NULL))
            return 1;
    }
    return 0;
}

/* Delivers what every hypothesis still in the running agrees on. */
static int bm_commit(bm_search *s)
{
    int n = s->n_live + s->n_fin;
    uint32_t at[2 * SAMPLE_MAX_BEAM];
    if (n == 0 || n > (int)(sizeof at / sizeof *at))
        return 0;
    size_t d = SIZE_MAX;
    for (int i = 0; i < n; i++) {
        const bm_hyp *h = i < s->n_live ? &s->live[i] : &s->fin[i - s->n_live];
        if (h->len < d)
            d = h->len;
    }
    if (d <= s->emitted)
        return 0;
    for (int i = 0; i < n; i++) {
        const bm_hyp *h = i < s->n_live ? &s->live[i] : &s->fin[i - s->n_live];
        uint32_t p = h->node;
        for (size_t k = h->len; k > d; k--)
            p = s->nodes[p].parent;
        at[i] = p;
    }
    /* walk up together until all agree (depth d-1 down to emitted) */
    for (size_t depth = d; depth > s->emitted; depth--) {
        int same = 1;
        for (int i = 1; i < n && same; i++)
            same = at[i] == at[0];
        if (same)
            return bm_deliver(s, at[0], depth - 1, depth);
        for (int i = 0; i < n; i++)
            at[i] = s->nodes[at[i]].parent;
    }
    return 0;
}

/* A hypothesis in the final ranking, with its place in the listing
 * (finished ones first) to break ties. */
typedef struct bm_rank { const bm_hyp *h; int order; } bm_rank;

static int bm_rank_cmp(const void *a, const void *b)
{
    const bm_rank *x = a, *y = b;
    double sx = bm_score(x->h), sy = bm_score(y->h);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Fills res with the n_best best hypotheses.  Returns 0, -1 when out of
 * memory. */
static int bm_results(bm_search *s, const bm_rank *rank, int n, sample_result *res)
{
    const smp_run *r = s->r;
    int keep = r->cfg->n_best > 1 ? r->cfg->n_best : 1;
    if (keep > n)
        keep = n;
    if (!res || keep == 0)
        return 0;
    if (!(res->beams = calloc((size_t)keep, sizeof *res->beams)))
        return -1;
    res->n_beams = keep;
    for (int i = 0; i < keep; i++) {
        const bm_hyp *h = rank[i].h;
        sample_beam *o = &res->beams[i];
        size_t bytes = 0, len;
        o->n = h->len;
        o->logprob = h->sum;
        o->score = bm_score(h);
        o->finished = h->how != SAMPLE_STOP_LENGTH;
        if (!(o->ids = malloc((h->len ? h->len : 1) * sizeof *o->ids)))
            return -1;
        uint32_t p = h->node;
        for (size_t k = h->len; k > 0; k--, p = s->nodes[p].parent) {
            o->ids[k - 1] = s->nodes[p].id;
            tok_bytes(r->v, s->nodes[p].id, &len);
            bytes += len + 1;           /* a word's text: a space before */
        }
        if (!(o->text = malloc(bytes + 1)))
            return -1;
        for (size_t k = 0; k < h->len; k++) {
            const uint8_t *b = tok_piece(r->v, k ? o->ids[k - 1] : r->prime_last,
                                         o->ids[k], &len);
            memcpy(o->text + o->text_len, b, len);
            o->text_len += len;
        }
        o->text[o->text_len] = '\0';
    }
    return 0;
}

/* Ranks the hypotheses, delivers the rest of the best one and fills res.
 * Returns 0, -1 when out of memory. */
static int bm_end(bm_search *s, sample_result *res)
{
    smp_run *r = s->r;
    bm_rank rank[2 * SAMPLE_MAX_BEAM];
    int n = 0;
    for (int i = 0; i < s->n_fin; i++, n++)
        rank[n] = (bm_rank){&s->fin[i], n};
    for (int i = 0; i < s->n_live; i++, n++)
        rank[n] = (bm_rank){&s->live[i], n};
    qsort(rank, (size_t)n, sizeof *rank, bm_rank_cmp);
    if (n > 0 && !s->halted) {
        const bm_hyp *best = rank[0].h;
        int rc = best->len ? bm_deliver(s, best->node, best->len - 1, best->len) : 0;
        if (rc < 0)
            return -1;
        r->stop = rc > 0 ? SAMPLE_STOP_CALLBACK : best->how;
    }
    return bm_results(s, rank, n, res);
}

/* The search over r's primed state.  Returns 0, or -1 with err set (out
 * of memory). */
static int bm_run(smp_run *r, sample_result *res, char *err, size_t errlen)
{
    bm_search s;
    int rc = -1;
    if (bm_open(&s, r) < 0)
        goto oom;
    size_t steps = r->want > r->stats.generated ? r->want - r->stats.generated : 0;
    s.n_live = 1;                     /* the primed state, stream 0 */
    s.live[0] = (bm_hyp){.node = BM_NONE, .how = SAMPLE_STOP_LENGTH};
    r->stop = SAMPLE_STOP_LENGTH;
    for (size_t t = 0; t < steps && s.n_live > 0 && s.n_fin < s.W; t++) {
        if (smp_cancelled(r)) {
            r->stop = SAMPLE_STOP_CANCEL;
            s.halted = 1;
            break;
        }
        if (bm_advance(&s) < 0)
            goto oom;
        if (s.n_live > 0 && t + 1 < steps && s.n_fin < s.W) {
            decoder_select(&r->dec, s.n_live, s.parents);
            decoder_step(&r->dec, s.n_live, s.tokens, r->logits);
        }
        int c = bm_commit(&s);
        if (c < 0)
            goto oom;
        if (c > 0) {
            r->stop = SAMPLE_STOP_CALLBACK;
            s.halted = 1;
            break;
        }
    }
    if (bm_end(&s, res) < 0)
        goto oom;
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory for beam search");
done:
    bm_close(&s);
    return rc;
}

int sample_beam_search(model *m, const tok_vocab *v, const sample_request *req,
                       sample_result *res, char *err, size_t errlen)
{
    int W = req->cfg->beam;
    smp_run r;
    if (W < 1 || W > SAMPLE_MAX_BEAM) {
        snprintf(err, errlen, "beam width %d is not in 1..%d", W, SAMPLE_MAX_BEAM);
        if (res)
            memset(res, 0, sizeof *res);
        return -1;
    }
    int rc = smp_start(&r, m, v, req, W, res, err, errlen);
    if (rc == 0)
        rc = bm_run(&r, res, err, errlen);
    smp_finish(&r, res);
    return rc < 0 ? -1 : 0;
}
