/* gen.c - a generation request in flight (gen.h): the workers' callbacks
 * fill it, the HTTP side reads it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve/gen.h"
#include "serve/reply.h"

/* Whether the answers report every token. */
static int wants_tokens(const srv_gen *g)
{
    return g->p.api == SRV_API_COMPLETIONS ? g->p.logprobs >= 0 : g->p.stream;
}

static int record(srv_choice *c, const sample_token *t, size_t offset)
{
    if (GROW_ARRAY(&c->toks, &c->cap_toks, c->n_toks + 1, 64) < 0)
        return -1;
    srv_tok *r = &c->toks[c->n_toks++];
    int k = t->n_alts;
    if (k > (int)(sizeof r->alt_id / sizeof r->alt_id[0]))
        k = (int)(sizeof r->alt_id / sizeof r->alt_id[0]);
    r->id = t->id;
    r->prob = t->prob;
    r->model_prob = t->model_prob;
    r->offset = offset;
    r->n_alts = k;
    memcpy(r->alt_id, t->alt_id, (size_t)k * sizeof *r->alt_id);
    memcpy(r->alt_prob, t->alt_prob, (size_t)k * sizeof *r->alt_prob);
    return 0;
}

/* Under the lock: whether the sleeping reader is to be woken (once). */
static int take_wake(srv_gen *g)
{
    if (!g->sleeping || !g->watched)
        return 0;
    g->sleeping = 0;
    return 1;
}

/* Unlocks, then wakes the reader when asked to. */
static void unlock_and_wake(srv_gen *g, int wake)
{
    srv_waker w = g->waker;
    pthread_mutex_unlock(&g->mu);
    if (wake)
        w.wake(w.ctx);
}

/* The workers' token callback: text, detail and events. */
static int on_token(void *ctx, const sample_token *t)
{
    srv_choice *c = ctx;
    srv_gen *g = c->g;
    pthread_mutex_lock(&g->mu);
    size_t offset = c->text.len;
    int rc = strbuf_append(&c->text, t->bytes, t->len);
    if (rc == 0 && wants_tokens(g))
        rc = record(c, t, offset);
    if (rc == 0 && g->p.stream)
        rc = srv_reply_events(g, c, &g->out);
    g->tokens++;
    g->failed |= rc < 0;
    unlock_and_wake(g, g->p.stream && take_wake(g));
    return rc < 0;
}

static void on_done(void *ctx, srv_job *job)
{
    srv_choice *c = ctx;
    srv_gen *g = c->g;
    pthread_mutex_lock(&g->mu);
    c->done = 1;
    g->n_done++;
    g->failed |= job->failed;
    if (g->p.stream && (srv_reply_events(g, c, &g->out) < 0 ||
                        (g->n_done == g->p.n && srv_reply_done(&g->out) < 0)))
        g->failed = 1;
    unlock_and_wake(g, (g->p.stream || g->n_done == g->p.n) && take_wake(g));
    srv_gen_release(g);
}

/* The workers' question: whether the client went away. */
static int client_gone(void *ctx)
{
    srv_gen *g = ((srv_choice *)ctx)->g;
    pthread_mutex_lock(&g->mu);
    if (!g->gone && g->watched && g->waker.gone)
        g->gone = g->waker.gone(g->waker.ctx);
    int gone = g->gone;
    pthread_mutex_unlock(&g->mu);
    return gone;
}

srv_gen *srv_gen_new(srv_params *p, srv_version *v, uint64_t seed, uint64_t nonce)
{
    srv_gen *g = calloc(1, sizeof *g);
    if (!g || !(g->c = calloc((size_t)p->n, sizeof *g->c))) {
        free(g);
        srv_params_free(p);
        return NULL;
    }
    pthread_mutex_init(&g->mu, NULL);
    g->refs = 1;
    g->p = *p;
    memset(p, 0, sizeof *p);
    g->ver = srv_version_ref(v);
    g->model = &v->desc;
    g->vocab = v->vocab;
    g->created = (long long)time(NULL);
    snprintf(g->id, sizeof g->id, "cmpl-%016llx", (unsigned long long)nonce);
    uint64_t base = g->p.has_seed ? g->p.seed : seed;
    for (int i = 0; i < g->p.n; i++) {
        srv_choice *c = &g->c[i];
        c->g = g;
        c->index = i;
        c->job = (srv_job){.ver = v, .cfg = &g->p.cfg, .stops = &g->p.stops,
                           .prime = g->p.prompt, .seed = base + (uint64_t)i,
                           .n_alts = g->p.n_alts, .on_token = on_token,
                           .gone = client_gone, .on_done = on_done, .ctx = c, .stop_index = -1};
    }
    return g;
}

int srv_gen_start(srv_gen *g, srv_sched *s)
{
    srv_job *jobs[SRV_MAX_CHOICES];
    for (int i = 0; i < g->p.n; i++)
        jobs[i] = &g->c[i].job;
    pthread_mutex_lock(&g->mu);
    g->refs += g->p.n;
    pthread_mutex_unlock(&g->mu);
    int rc = srv_sched_submit(s, jobs, g->p.n);
    if (rc != 0) {
        pthread_mutex_lock(&g->mu);
        g->refs -= g->p.n;
        pthread_mutex_unlock(&g->mu);
    }
    return rc;
}

void srv_gen_watch(srv_gen *g, const srv_waker *w)
{
    pthread_mutex_lock(&g->mu);
    g->waker = *w;
    g->watched = 1;
    pthread_mutex_unlock(&g->mu);
}

void srv_gen_detach(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    g->watched = g->sleeping = 0;
    pthread_mutex_unlock(&g->mu);
    for (int i = 0; i < g->p.n; i++)
        atomic_store(&g->c[i].job.cancel, 1);
}

int srv_gen_read(srv_gen *g, char *buf, size_t max, size_t *n)
{
    int rc = SRV_GEN_WAIT;
    *n = 0;
    pthread_mutex_lock(&g->mu);
    if (g->p.stream && g->sent < g->out.len) {
        size_t k = g->out.len - g->sent < max ? g->out.len - g->sent : max;
        memcpy(buf, g->out.p + g->sent, k);
        g->sent += k;
        if (g->sent == g->out.len)
            g->sent = g->out.len = 0;
        *n = k;
        rc = SRV_GEN_DATA;
    } else if (g->n_done == g->p.n) {
        rc = SRV_GEN_END;
    } else {
        g->sleeping = 1;
        if (g->watched)
            g->waker.sleep(g->waker.ctx);
    }
    pthread_mutex_unlock(&g->mu);
    return rc;
}

char *srv_gen_answer(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    char *s = g->failed ? NULL : srv_reply_answer(g);
    pthread_mutex_unlock(&g->mu);
    return s;
}

int srv_gen_gone(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    int gone = g->gone;
    pthread_mutex_unlock(&g->mu);
    return gone;
}

size_t srv_gen_tokens(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->tokens;
    pthread_mutex_unlock(&g->mu);
    return n;
}

size_t srv_gen_prompt_tokens(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    size_t n = g->c[0].job.stats.prime_tokens;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void srv_gen_release(srv_gen *g)
{
    pthread_mutex_lock(&g->mu);
    int last = --g->refs == 0;
    pthread_mutex_unlock(&g->mu);
    if (!last)
        return;
    for (int i = 0; i < g->p.n; i++) {
        strbuf_free(&g->c[i].text);
        free(g->c[i].toks);
        sample_result_free(&g->c[i].job.beams);
    }
    free(g->c);
    srv_params_free(&g->p);
    strbuf_free(&g->out);
    srv_version_release(g->ver);
    pthread_mutex_destroy(&g->mu);
    free(g);
}
