/* stream.c - one generation advanced a decoder step at a time, choosing
 * as sample_decode does (stream.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "serve/stream.h"

static int push_id(srv_stream *s, uint32_t id)
{
    if (GROW_ARRAY(&s->hist, &s->cap_hist, s->n_hist + 1, 256) < 0)
        return -1;
    s->hist[s->n_hist++] = id;
    return 0;
}

/* Hands a token to the callback, its text to s->text; row (may be NULL)
 * gives the model probability and alternatives.  Returns 1 when the
 * callback asks to stop, -1 when out of memory, else 0. */
static int deliver(srv_stream *s, sample_token *t, uint32_t id, const float *row)
{
    t->id = id;
    t->bytes = tok_bytes(s->v, id, &t->len);
    t->index = s->stats.generated++;
    if (row) {
        double lse;
        t->n_alts = sample_top(row, s->V, s->n_alts, t->alt_id, t->alt_prob, &lse);
        t->model_prob = (float)exp(row[id] - lse);
    }
    if (t->bytes && strbuf_append(&s->text, t->bytes, t->len) < 0)
        return -1;
    return s->on_token && s->on_token(s->ctx, t) ? 1 : 0;
}

static void finish(srv_stream *s, sample_stop why)
{
    s->stop = why;
    s->done = 1;
}

/* No usable prime: a start token drawn uniformly, delivered as the first
 * generated one.  Returns deliver's answer. */
static int draw_start(srv_stream *s)
{
    uint32_t id = (uint32_t)(rng_uniform_d(&s->rng) * s->V);
    if (id >= (uint32_t)s->V)
        id = (uint32_t)s->V - 1;
    sample_token t = {.prob = 1.0f / (float)s->V, .model_prob = 1.0f / (float)s->V};
    if (push_id(s, id) < 0)
        return -1;
    int rc = deliver(s, &t, id, NULL);
    s->text_base = s->text.len;
    return rc;
}

int srv_stream_start(srv_stream *s, const tok_vocab *v, const sample_config *cfg,
                     const srv_stops *stops, const char *prime, uint64_t seed,
                     int n_alts, sample_token_fn on_token, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->v = v;
    s->cfg = cfg;
    s->stops = stops;
    s->V = (int)tok_size(v);
    s->n_alts = n_alts;
    s->on_token = on_token;
    s->ctx = ctx;
    s->want = cfg->length > 0 ? (size_t)cfg->length : 0;
    s->stop_index = -1;
    rng_seed(&s->rng, seed);
    size_t plen = strlen(prime);
    if (GROW_ARRAY(&s->hist, &s->cap_hist, plen + 1, 256) < 0)
        return -1;
    s->n_hist = tok_encode(v, (const uint8_t *)prime, plen, s->hist,
                           &s->stats.prime_unknown, s->stats.first_unknown);
    s->stats.prime_tokens = s->n_hist;
    int rc = s->n_hist == 0 && s->want > 0 ? draw_start(s) : 0;
    if (rc != 0)
        finish(s, SAMPLE_STOP_CALLBACK);
    else if (s->stats.generated >= s->want)
        finish(s, SAMPLE_STOP_LENGTH);
    return rc < 0 ? -1 : 0;
}

int srv_stream_input(const srv_stream *s, uint32_t *id)
{
    if (s->done || s->fed >= s->n_hist)
        return 0;
    *id = s->hist[s->fed];
    return 1;
}

/* Whether the text now ends a stop string inside the newest len bytes
 * (not in a drawn start token); notes which and where. */
static int stopped(srv_stream *s, size_t len)
{
    const char *t = s->text.p;
    size_t n = s->text.len;
    for (int i = 0; s->stops && i < s->stops->n; i++) {
        size_t k = strlen(s->stops->s[i]);
        for (size_t end = n; k > 0 && end + len > n && end >= s->text_base + k; end--)
            if (memcmp(t + end - k, s->stops->s[i], k) == 0) {
                s->stop_index = i;
                s->stop_at = end - k;
                return 1;
            }
    }
    return 0;
}

/* Chooses the next token from row and delivers it.  Returns 0 or -1. */
static int choose(srv_stream *s, sample_picker *pk, const float *row)
{
    size_t w = s->cfg->repetition_window > 0 ? (size_t)s->cfg->repetition_window : s->n_hist;
    size_t n_recent = w < s->n_hist ? w : s->n_hist;
    sample_token t = {.n_alts = 0};
    uint32_t id = sample_pick(pk, row, s->cfg, s->hist + s->n_hist - n_recent, n_recent,
                              rng_uniform_d(&s->rng), &t.prob);
    if (push_id(s, id) < 0)
        return -1;
    size_t before = s->text.len;
    int rc = deliver(s, &t, id, row);
    if (rc != 0)
        finish(s, SAMPLE_STOP_CALLBACK);
    else if (stopped(s, s->text.len - before))
        finish(s, SAMPLE_STOP_STRING);
    else if (s->stats.generated >= s->want)
        finish(s, SAMPLE_STOP_LENGTH);
    return rc < 0 ? -1 : 0;
}

int srv_stream_take(srv_stream *s, sample_picker *pk, const float *row, int cancel)
{
    if (s->done)
        return 0;
    if (cancel) {
        finish(s, SAMPLE_STOP_CANCEL);
        return 0;
    }
    if (++s->fed < s->n_hist)
        return 0;
    if (choose(s, pk, row) == 0)
        return 0;
    finish(s, SAMPLE_STOP_CALLBACK);
    return -1;
}

void srv_stream_free(srv_stream *s)
{
    free(s->hist);
    strbuf_free(&s->text);
    s->hist = NULL;
    s->n_hist = s->cap_hist = 0;
}
