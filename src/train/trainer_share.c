/* trainer_share.c - a trainer as one process of a data-parallel run: the
 * carried state of its share of the streams, every stream's gathered for
 * a save, sums of device buffers, and the check that all processes hold
 * the same weights. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer.h"
#include "dist/dist.h"
#include "util/clock.h"

/* Whether t's buffers are host memory, which MPI reads as it is. */
static int host_memory(const trainer *t)
{
    return strcmp(t->be->name, "cpu") == 0;
}

int trainer_sum_across(trainer *t, float *dev, size_t n)
{
    be_backend *be = t->be;
    if (dist_size() < 2)
        return 0;
    if (t->device_sums)
        return be->coll_sum(be, dev, n) != 0 || be->coll_wait(be) != 0 ? -1 : 0;
    if (!t->staging)
        return dist_sum_float(dev, n);
    be->download(be, t->staging, dev, n * sizeof(float));
    if (dist_sum_float(t->staging, n) != 0)
        return -1;
    be->upload(be, dev, t->staging, n * sizeof(float));
    return 0;
}

/* A backward pass's gradients being summed while it goes on. */
typedef struct grad_sums {
    trainer *t;
    size_t sent;            /* grads[sent ..) are being summed */
    size_t frozen;          /* grads[0 .. frozen) are zeroed before */
    int failed;             /* MPI or the backend failed: nothing more
                             * is started */
} grad_sums;

/* Starts the sum of grads[from .. g->sent): NCCL's, enqueued on the
 * device, or MPI's from host memory. */
static int start_sum(grad_sums *g, size_t from)
{
    trainer *t = g->t;
    float *x = t->m->grads + from;
    if (t->device_sums)
        return t->be->coll_sum(t->be, x, g->sent - from);
    return dist_flight_sum(t->flight, x, g->sent - from);
}

/* model_grads_ready: starts the sum of what became final since the last
 * one, when it is large enough (a smaller message costs mostly the
 * network's latency: 32 KiB take as long as the latency on 25 GbE) or the
 * last; otherwise lets MPI move the sums in flight along (NCCL moves its
 * own). */
static void grads_ready(void *ctx, size_t from)
{
    grad_sums *g = ctx;
    model *m = g->t->m;
    if (g->failed)
        return;
    if (from > 0 && g->sent - from < TRAINER_BUCKET_MIN) {
        if (!g->t->device_sums)
            g->failed = dist_flight_poke(g->t->flight) != 0;
        return;
    }
    if (from == 0 && g->frozen)
        m->be->zero(m->be, m->grads, g->frozen * sizeof(float));
    g->failed = start_sum(g, from) != 0;
    g->sent = from;
}

/* The sums started by grads_ready finished: MPI's waited for, NCCL's
 * ordered before what the device does next. */
static int finish_sums(trainer *t, const grad_sums *g)
{
    if (t->device_sums)
        return g->failed || t->be->coll_wait(t->be) != 0 ? -1 : 0;
    return dist_flight_wait(t->flight) != 0 || g->failed ? -1 : 0;
}

int trainer_backward(trainer *t, size_t frozen, double *wait_s, char *err, size_t errlen)
{
    model *m = t->m;
    double t0;
    int rc = 0;
    if (t->flight && (host_memory(t) || t->device_sums)) {
        grad_sums g = {.t = t, .sent = m->n_params, .frozen = frozen};
        model_backward_notify(m, grads_ready, &g);
        t0 = clock_now();
        rc = finish_sums(t, &g);
    } else {
        model_backward(m);
        if (frozen)
            t->be->zero(t->be, m->grads, frozen * sizeof(float));
        t0 = clock_now();
        rc = trainer_sum_across(t, m->grads, m->n_params);
    }
    *wait_s = dist_size() > 1 ? clock_now() - t0 : 0;
    if (!t->device_sums) {
        if (rc != 0)
            snprintf(err, errlen, "MPI failed to sum the gradients (at step %ld)",
                     t->step + 1);
        return rc;
    }
    /* before any process waits for the device: a failed one's peers would
     * wait for its sums forever */
    if (rc != 0) {
        const char *why = t->be->last_error(t->be);
        snprintf(err, errlen, "%s (at step %ld)", why ? why : "nccl: the sums failed",
                 t->step + 1);
    }
    return dist_agree(rc != 0, err, errlen);
}

const model_state *trainer_saved_state(const trainer *t)
{
    return t->whole.h ? &t->whole : &t->state;
}

/* FNV-1a of n bytes at p, going on from h. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001B3ULL;
    return h;
}

/* What every process must hold alike: the weights and the progress. */
static uint64_t fingerprint(trainer *t)
{
    const model *m = t->m;
    const float *w = m->params;
    uint64_t h = 0xCBF29CE484222325ULL;
    long progress[4] = {t->step, t->epoch, (long)t->pos, t->opt.t};
    if (t->staging) {
        t->be->download(t->be, t->staging, m->params, m->n_params * sizeof(float));
        w = t->staging;
    }
    h = fnv1a(h, w, m->n_params * sizeof(float));
    return fnv1a(h, progress, sizeof progress);
}

/* Collective: -1 on every process, err naming the first that differs,
 * when a process's weights or progress are not rank 0's. */
static int check_same(trainer *t, const char *why, char *err, size_t errlen)
{
    uint64_t mine = fingerprint(t), root = mine;
    int differs;
    if (dist_bcast(&root, sizeof root, 0) != 0)
        dist_abort(1);
    differs = mine != root;
    if (differs)
        snprintf(err, errlen, "%s", why);
    return dist_agree(differs, err, errlen);
}

/* Copies streams first .. first + s->B - 1 of every layer of whole (all
 * the streams) to s. */
static void copy_streams(trainer *t, model_state *s, const model_state *whole,
                         long first)
{
    be_backend *be = t->be;
    size_t H = (size_t)t->m->cfg.hidden, n = (size_t)s->B * H;
    for (int l = 0; l < t->m->cfg.layers; l++) {
        size_t at = ((size_t)l * whole->B + (size_t)first) * H;
        be->copy(be, s->h + l * n, whole->h + at, n * sizeof(float));
        if (s->c)
            be->copy(be, s->c + l * n, whole->c + at, n * sizeof(float));
    }
}

/* Reads TRAINER_ALLREDUCE_ENV: sums during the backward pass (overlap,
 * the default: t->flight made) or after it.  Returns 0, or -1 with a
 * message (out of memory, a value it does not know). */
static int overlap_mode(trainer *t, char *err, size_t errlen)
{
    const char *v = getenv(TRAINER_ALLREDUCE_ENV);
    if (v && strcmp(v, "after") == 0)
        return 0;
    if (v && *v && strcmp(v, "overlap") != 0) {
        snprintf(err, errlen, "%s must be overlap or after, not '%.40s'",
                 TRAINER_ALLREDUCE_ENV, v);
        return -1;
    }
    if (!t->flight && !(t->flight = dist_flight_new())) {
        snprintf(err, errlen, "out of memory for the gradients' sums");
        return -1;
    }
    return 0;
}

/* Collective: chooses where the processes sum (dist_sum_start).  Returns
 * 0, or -1 / -2 as trainer_share. */
static int sum_path(trainer *t, char *err, size_t errlen)
{
    int path = dist_sum_start(t->be, err, errlen);
    if (path < 0)
        return path;
    t->device_sums = path == DIST_SUM_DEVICE;
    return 0;
}

int trainer_share(trainer *t, char *err, size_t errlen)
{
    int rank = dist_rank(), size = dist_size(), bad;
    long first, n;
    model_state mine = {0};
    if (size < 2)
        return 0;
    if (t->cfg.batch < size) {
        snprintf(err, errlen, "batch %d is smaller than the %d processes; give each at "
                 "least one stream (--batch)", t->cfg.batch, size);
        return -1;
    }
    dist_part(t->cfg.batch, rank, size, &first, &n);
    bad = overlap_mode(t, err, errlen) < 0;
    /* the host copy serves the weights' check (and sums without NCCL) */
    if (!bad && (model_state_init(t->m, &mine, (int)n) < 0
                 || (!host_memory(t)
                     && !(t->staging = malloc(t->m->n_params * sizeof(float)))))) {
        snprintf(err, errlen, "out of memory for this process's streams");
        bad = 1;
    }
    if (dist_agree(bad, err, errlen) != 0 || (bad = sum_path(t, err, errlen)) != 0) {
        if (mine.h)
            model_state_free(t->m, &mine);
        return bad == -2 ? -2 : -1;
    }
    copy_streams(t, &mine, &t->state, first);
    if (rank == 0)
        t->whole = t->state;
    else
        model_state_free(t->m, &t->state);
    t->state = mine;
    t->share_first = first;
    t->m->batch_total = t->cfg.batch;
    t->m->batch_first = (int)first;
    return check_same(t, "its weights or progress differ from rank 0's: every process "
                      "must read the same corpus and session", err, errlen);
}

/* Rank 0: puts each process's block (h, then c, [layers][its streams][H])
 * of all, in rank order, into the whole state. */
static void place_blocks(trainer *t, const float *all)
{
    int L = t->m->cfg.layers, size = dist_size(), parts = t->state.c ? 2 : 1;
    size_t H = (size_t)t->m->cfg.hidden;
    model_state *w = &t->whole;
    for (int r = 0; r < size; r++) {
        long first, n;
        dist_part(t->cfg.batch, r, size, &first, &n);
        for (int k = 0; k < parts; k++) {
            float *to = k ? w->c : w->h;
            for (int l = 0; l < L; l++, all += (size_t)n * H)
                t->be->upload(t->be, to + ((size_t)l * w->B + (size_t)first) * H, all,
                              (size_t)n * H * sizeof(float));
        }
    }
}

int trainer_gather_state(trainer *t, char *err, size_t errlen)
{
    const model_config *c = &t->m->cfg;
    size_t parts = t->state.c ? 2 : 1, per = (size_t)c->layers * c->hidden;
    size_t mine = parts * per * (size_t)t->state.B, all = parts * per * (size_t)t->cfg.batch;
    float *send, *recv = NULL;
    int bad, rc = -1;
    if (dist_size() < 2)
        return 0;
    send = malloc(mine * sizeof(float));
    if (dist_rank() == 0)
        recv = malloc(all * sizeof(float));
    bad = !send || (dist_rank() == 0 && !recv);
    if (bad)
        snprintf(err, errlen, "out of memory gathering the streams' state");
    if (dist_agree(bad, err, errlen) != 0)
        goto out;
    t->be->download(t->be, send, t->state.h, mine / parts * sizeof(float));
    if (parts == 2)
        t->be->download(t->be, send + mine / 2, t->state.c, mine / 2 * sizeof(float));
    if (dist_gather(send, mine * sizeof(float), recv, 0) != 0)
        dist_abort(1);
    if (dist_rank() == 0)
        place_blocks(t, recv);
    rc = check_same(t, "its weights differ from rank 0's", err, errlen);
out:
    free(send);
    free(recv);
    return rc;
}
