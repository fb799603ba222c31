/* run.c - one generation run's shared state: its decoder, buffers and
 * history, the prime run through the model, stop-string matching and
 * token delivery, for the sampler (sample.c) and beam search (beam.c)
 * alike (run_int.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode/run_int.h"
#include "util/buf.h"

int smp_cancelled(const smp_run *r)
{
    return r->req->cancel && atomic_load(r->req->cancel) != 0;
}

int smp_tail_push(const smp_run *r, smp_tail *t, uint32_t prev, uint32_t id)
{
    size_t len = 0;
    const uint8_t *b = tok_piece(r->v, prev, id, &len);
    if (!r->stop_str || !b)
        return 0;
    size_t keep = r->stop_len - 1 + len;   /* what a new match can touch */
    if (keep > sizeof t->buf)
        keep = sizeof t->buf;
    if (len >= keep) {
        memcpy(t->buf, b + len - keep, keep);
        t->n = keep;
    } else {
        size_t old = keep - len < t->n ? keep - len : t->n;
        memmove(t->buf, t->buf + t->n - old, old);
        memcpy(t->buf + old, b, len);
        t->n = old + len;
    }
    /* a match must end inside the new bytes */
    for (size_t end = t->n; end + len > t->n && end >= r->stop_len; end--)
        if (memcmp(t->buf + end - r->stop_len, r->stop_str, r->stop_len) == 0)
            return 1;
    return 0;
}

int smp_deliver(smp_run *r, sample_token *info, uint32_t id, const float *row)
{
    info->id = id;
    info->bytes = tok_piece(r->v, r->prev, id, &info->len);
    r->prev = id;
    info->index = r->stats.generated++;
    if (row) {
        double lse;
        int k = r->req->n_alts > 0 ? r->req->n_alts : 0;
        info->n_alts = sample_top(row, r->V, k, info->alt_id, info->alt_prob, &lse);
        info->model_prob = sample_prob(row[id], lse);
    }
    return r->req->on_token ? r->req->on_token(r->req->ctx, info) : 0;
}

int smp_hist_push(smp_run *r, uint32_t id)
{
    if (GROW_ARRAY(&r->hist, &r->cap_hist, r->n_hist + 1, 256) < 0)
        return -1;
    r->hist[r->n_hist++] = id;
    return 0;
}

/* Sets up buffers for B streams; -1 with err set when out of memory. */
static int smp_open(smp_run *r, model *m, const tok_vocab *v, const sample_request *req,
                    int B, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->m = m;
    r->v = v;
    r->req = req;
    r->cfg = req->cfg;
    r->V = m->cfg.vocab;
    r->want = r->cfg->length > 0 ? (size_t)r->cfg->length : 0;
    r->stop_len = strnlen(r->cfg->stop, sizeof r->cfg->stop);
    r->stop_str = r->stop_len ? r->cfg->stop : NULL;
    if (decoder_open(&r->dec, m, B, (be_weights)r->cfg->weights, err, errlen) < 0)
        return -1;
    if (sample_picker_init(&r->pk, r->V) < 0 ||
        !(r->logits = malloc((size_t)B * r->V * sizeof(float)))) {
        snprintf(err, errlen, "out of memory for sampling");
        return -1;
    }
    return 0;
}

static void smp_close(smp_run *r)
{
    decoder_free(&r->dec);
    sample_picker_free(&r->pk);
    free(r->logits);
    free(r->hist);
}

/* Runs the prime through stream 0, leaving the next-token logits in
 * r->logits.  An empty (or wholly unknown) prime starts from a token drawn
 * uniformly, delivered as the first generated one.  Returns 0, 1 when the
 * callback stopped it, or -1 when out of memory. */
static int smp_prime(smp_run *r, const char *prime)
{
    size_t plen = strlen(prime);
    uint32_t *ids = malloc((plen + 1) * sizeof *ids);
    if (!ids)
        return -1;
    size_t n = tok_encode(r->v, (const uint8_t *)prime, plen, ids,
                          &r->stats.prime_unknown, r->stats.first_unknown);
    r->stats.prime_tokens = n;
    r->prime_last = r->prev = n ? ids[n - 1] : TOK_NO_ID;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = smp_hist_push(r, ids[i]);
    r->n_prime = r->n_hist;
    if (rc == 0 && n == 0 && r->want > 0) {
        ids[0] = (uint32_t)(rng_uniform_d(r->req->rng) * r->V);
        if (ids[0] >= (uint32_t)r->V)
            ids[0] = (uint32_t)r->V - 1;
        n = 1;
        sample_token t = {.prob = 1.0f / (float)r->V, .model_prob = 1.0f / (float)r->V};
        rc = smp_hist_push(r, ids[0]);
        if (rc == 0 && smp_deliver(r, &t, ids[0], NULL)) {
            r->stop = SAMPLE_STOP_CALLBACK;
            rc = 1;
        }
        r->prime_last = ids[0];         /* what beam search continues */
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        decoder_step(&r->dec, 1, &ids[i], r->logits);
    free(ids);
    return rc;
}

int smp_start(smp_run *r, model *m, const tok_vocab *v, const sample_request *req, int W,
              sample_result *res, char *err, size_t errlen)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (smp_open(r, m, v, req, W > 1 ? W : 1, err, errlen) < 0)
        return -1;
    r->W = W;
    int primed = smp_prime(r, req->prime ? req->prime : req->cfg->prime);
    if (primed < 0)
        snprintf(err, errlen, "out of memory for sampling");
    return primed;
}

void smp_finish(smp_run *r, sample_result *res)
{
    if (res) {
        res->stats = r->stats;
        res->stop = r->stop;
    }
    smp_close(r);
}
