/* trainer.c - the training step, top to bottom: gather the next chunk of
 * the B streams, forward, backward, clip (the norm's factor handed to the
 * optimizer update), learning rate, optimizer update, metrics.  And
 * evaluation over a split. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "train/trainer.h"
#include "dist/dist.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/mem.h"

train_config train_defaults(void)
{
    train_config c;
    memset(&c, 0, sizeof c);
    c.model = (model_config){.cell = CELL_LSTM, .layers = 2, .hidden = 512, .embed = 64,
                             .vocab = 0, .dropout = 0.1f, .tie = 0, .forget_bias = 1,
                             .softmax = SOFTMAX_FULL, .div_value = 4.0f};
    c.optim = optim_defaults(OPT_ADAM);
    c.optim.lr = 2e-3f;
    c.seq_len = 100;
    c.batch = 32;
    c.clip_norm = 5.0f;
    c.eval_every = 500;
    c.eval_streams = 16;
    c.val_frac = 0.1;
    c.seed = 1337;
    c.threads = 2;
    c.lr_decay = 1.0f;
    c.schedule = SCHED_CONSTANT;
    c.plateau_factor = 0.1f;
    c.plateau_patience = 10;
    return c;
}

train_config train_awd_preset(void)
{
    train_config c = train_defaults();
    c.model.cell = CELL_LSTM;
    c.model.layers = 3;
    c.model.hidden = 1150;
    c.model.embed = 400;
    /* awd-lstm-lm main.py's rates (its other defaults are this preset's
     * too): dropouti 0.65, dropouth 0.3, dropout 0.4 */
    c.model.dropout = 0.4f;
    c.model.drop[MODEL_DROP_INPUT] = (model_rate){0.65f, 1};
    c.model.drop[MODEL_DROP_HIDDEN] = (model_rate){0.3f, 1};
    c.model.drop[MODEL_DROP_OUTPUT] = (model_rate){0.4f, 1};
    c.model.locked = 1;
    c.model.dropout_embed = 0.1f;
    c.model.weight_drop = 0.5f;
    c.optim = optim_defaults(OPT_NTASGD);
    c.optim.lr = 30.0f;
    c.optim.weight_decay = 1.2e-6f;
    c.optim.nonmono = 5;
    c.clip_norm = 0.25f;
    c.seq_len = 70;
    c.batch = 80;
    c.ar = 2.0f;
    c.tar = 1.0f;
    c.bptt_jitter = 1;
    return c;
}

int train_max_len(const train_config *c)
{
    return c->seq_len + (c->bptt_jitter ? TRAIN_JITTER_EXTRA : 0);
}

int trainer_chunk_len(const train_config *c, long step)
{
    if (!c->bptt_jitter)
        return c->seq_len;
    uint64_t key = c->seed * 0x9E3779B97F4A7C15ULL ^ 0xB7E151628AED2A6BULL;
    double base = rng_hash_uniform(key, 3 * (uint64_t)step) < 0.95f ? c->seq_len
                                                                   : c->seq_len / 2.0;
    /* Box-Muller from two more uniforms; 1 - u keeps the log finite */
    double u1 = 1.0 - rng_hash_uniform(key, 3 * (uint64_t)step + 1);
    double u2 = rng_hash_uniform(key, 3 * (uint64_t)step + 2);
    double z = sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
    int len = (int)(base + 5.0 * z);        /* truncated, as int() in Python */
    int max = train_max_len(c);
    return len < 5 ? 5 : len > max ? max : len;
}

/* The output layer's settings that do not depend on the vocabulary (not
 * known before the text is read): NULL, or the problem in buf. */
static const char *softmax_check(const train_config *c, char *buf, size_t len)
{
    model_config m = c->model;
    if (m.softmax == SOFTMAX_ADAPTIVE && c->label_smoothing > 0.0f)
        return "label-smoothing is for the full softmax (the adaptive softmax has no "
               "smoothed loss)";
    m.vocab = 1 << 24;      /* the largest: cutoffs are checked against it later */
    return model_softmax_check(&m, buf, len);
}

int train_config_check(const train_config *c, char *err, size_t errlen)
{
    const char *bad = NULL;
    char why[200];
    if (c->seq_len < 1 || c->seq_len > 100000) bad = "seq-len must be 1..100000";
    else if (c->batch < 1 || c->batch > 100000) bad = "batch must be 1..100000";
    else if (!(c->optim.lr > 0.0f) || !isfinite(c->optim.lr)) bad = "lr must be positive";
    else if (!(c->clip_norm >= 0.0f) || !(c->clip_value >= 0.0f)) bad = "clip must be >= 0";
    else if (c->eval_every < 0) bad = "eval-every must be >= 0";
    else if (c->eval_streams < 1) bad = "eval-streams must be >= 1";
    else if (!(c->lr_decay > 0.0f && c->lr_decay <= 1.0f)) bad = "lr-decay must be in (0,1]";
    else if (c->lr_decay_every < 0 || c->warmup < 0) bad = "lr schedule steps must be >= 0";
    else if (!(c->label_smoothing >= 0.0f && c->label_smoothing < 1.0f))
        bad = "label smoothing must be >= 0 and < 1";
    else if ((unsigned)c->schedule > SCHED_PLATEAU) bad = "unknown schedule";
    else if (!(c->min_lr >= 0.0f) || !isfinite(c->min_lr)) bad = "min-lr must be >= 0";
    else if (!(c->plateau_factor > 0.0f && c->plateau_factor < 1.0f))
        bad = "plateau-factor must be in (0,1)";
    else if (c->plateau_patience < 0) bad = "plateau-patience must be >= 0";
    else if ((unsigned)c->optim.kind > OPT_LAST) bad = "unknown optimizer";
    else if (c->optim.nonmono < 1 || c->optim.nonmono > OPTIM_MAX_NONMONO)
        bad = "nonmono must be 1..1000";
    else if ((unsigned)c->embed_format > EMB_GLOVE) bad = "unknown embed-format";
    else if (!memchr(c->embed_init, '\0', sizeof c->embed_init)) bad = "embed-init is too long";
    else if (!(c->ar >= 0.0f && isfinite(c->ar)) || !(c->tar >= 0.0f && isfinite(c->tar)))
        bad = "ar and tar must be >= 0";
    else if (c->model.locked && !model_drops(&c->model))
        bad = "locked-dropout needs a dropout rate above 0 (dropout, or dropout-input, "
              "-hidden or -output; its masks are theirs)";
    else if (c->tar > 0.0f && c->seq_len < 2)
        bad = "tar needs seq-len of 2 or more (it compares neighbouring steps)";
    else if (c->bptt_jitter && c->seq_len < TRAIN_JITTER_MIN_T)
        bad = "bptt-jitter needs seq-len of 10 or more (its lengths are at least 5)";
    else bad = softmax_check(c, why, sizeof why);
    if (bad) {
        snprintf(err, errlen, "%s", bad);
        return -1;
    }
    return 0;
}

/* The streams of the batch and of a validation this process runs: its
 * share in a data-parallel run (trainer_share), else all of them (at
 * least one: a run with more processes than streams is refused later).
 * S may be NULL. */
static void own_streams(const train_config *cfg, size_t *B, size_t *S)
{
    long first, b, s;
    dist_part(cfg->batch, dist_rank(), dist_size(), &first, &b);
    dist_part(cfg->eval_streams, dist_rank(), dist_size(), &first, &s);
    *B = b > 0 ? (size_t)b : 1;
    if (S)
        *S = s > 0 ? (size_t)s : 1;
}

/* The bytes training with cfg takes in this process: parameters,
 * gradients and optimizer state, and activations for a chunk of its
 * streams or for its validation's streams, whichever is larger, with the
 * chunk's token ids. */
static double train_bytes(const train_config *cfg)
{
    size_t B, S;
    own_streams(cfg, &B, &S);
    size_t R = (size_t)train_max_len(cfg) * B;
    double params, acts;
    model_size(&cfg->model, B > S ? B : S, R > S ? R : S, &params, &acts);
    return sizeof(float) * (params * (2 + optim_buffers(&cfg->optim)) + acts + (double)(R + B));
}

/* The memory there is for it: MEM_LIMIT_ENV when set, else the device's
 * free memory where the backend says, else the machine's.  Returns 1 with
 * *bytes and *where ("available", "free on cuda") set, 0 when unknown, or
 * -1 with a message. */
static int memory_for(be_backend *be, double *bytes, char *where, size_t len,
                      char *err, size_t errlen)
{
    const char *limit = getenv(MEM_LIMIT_ENV);
    snprintf(where, len, "available");
    if (!be->free_memory || (limit && *limit))
        return mem_available(bytes, err, errlen);
    snprintf(where, len, "free on %s", be->name);
    *bytes = be->free_memory(be);
    return *bytes >= 0;
}

/* Refuses a configuration that cannot fit in memory, before allocating
 * any of it. */
static int check_memory(be_backend *be, const train_config *cfg, char *err,
                        size_t errlen)
{
    char where[64], need_s[32], have_s[32];
    double have, need = train_bytes(cfg);
    int known = memory_for(be, &have, where, sizeof where, err, errlen);
    if (known <= 0 || need <= have)
        return known < 0 ? -1 : 0;
    mem_format(need, need_s, sizeof need_s);
    mem_format(have, have_s, sizeof have_s);
    snprintf(err, errlen, "model: needs %s (parameters, optimizer state and "
             "activations); %s %s", need_s, have_s, where);
    return -1;
}

trainer *trainer_create(be_backend *be, const train_config *cfg, corpus *corp,
                        char *err, size_t errlen)
{
    if (train_config_check(cfg, err, errlen) < 0)
        return NULL;
    trainer *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory for the trainer");
        return NULL;
    }
    t->cfg = *cfg;
    t->cfg.model.vocab = (int)tok_size(corp->vocab);
    t->be = be;
    t->corp = *corp;
    memset(corp, 0, sizeof *corp);
    t->last_val_loss = NAN;
    t->ntasgd_step = -1;
    t->best_val_loss = NAN;
    t->best_step = -1;
    sched_state_init(&t->sched);
    size_t train_n = t->corp.train_end - t->corp.train_begin;
    t->stream_len = train_n / (size_t)cfg->batch;
    if (t->corp.n > 0 && t->stream_len < 2) {
        snprintf(err, errlen, "%s: %zu training tokens are too few for batch %d",
                 t->corp.path ? t->corp.path : "corpus", train_n, cfg->batch);
        goto fail;
    }
    rng_state init;
    rng_seed(&init, cfg->seed);
    if (check_memory(be, &t->cfg, err, errlen) < 0 ||
        !(t->m = model_create(be, &t->cfg.model, &init, err, errlen)))
        goto fail;
    rng_seed(&t->rng, cfg->seed ^ 0x5A3E5A3E5A3E5A3EULL);
    /* room for the longest chunk bptt-jitter may draw, switched on or not
     * (it is a live setting) */
    size_t rows = (size_t)cfg->seq_len + TRAIN_JITTER_EXTRA + 1, own;
    own_streams(cfg, &own, NULL);
    t->batch_ids = malloc(rows * cfg->batch * sizeof(uint32_t));
    /* activations for this process's streams only (all of them alone) */
    if (!t->batch_ids || model_reserve(t->m, (int)own, train_max_len(cfg)) < 0 ||
        model_state_init(t->m, &t->state, cfg->batch) < 0 ||
        optim_init(&t->opt, be, &cfg->optim, t->m->n_params) < 0) {
        snprintf(err, errlen, "out of memory for the model's buffers");
        goto fail;
    }
    return t;
fail:
    trainer_free(t);
    return NULL;
}

void trainer_free(trainer *t)
{
    if (!t)
        return;
    if (t->m) {
        model_state_free(t->m, &t->state);
        model_state_free(t->m, &t->whole);
        optim_free(&t->opt);
        model_free(t->m);
    }
    corpus_free(&t->corp);
    free(t->batch_ids);
    free(t->staging);
    dist_flight_free(t->flight);
    free(t->hist);
    free(t->best_params);
    free(t);
}

sched_config trainer_sched_config(const train_config *c)
{
    return (sched_config){.kind = c->schedule, .lr = c->optim.lr, .min_lr = c->min_lr,
                          .warmup = c->warmup, .decay = c->lr_decay,
                          .decay_every = c->lr_decay_every,
                          .factor = c->plateau_factor, .patience = c->plateau_patience};
}

float trainer_lr(const trainer *t, long s)
{
    sched_config c = trainer_sched_config(&t->cfg);
    return (float)sched_lr(&c, &t->sched, s);
}

void trainer_plan(trainer *t, sched_unit unit, double length)
{
    t->sched.plan = (sched_plan){.unit = unit, .length = length, .start = t->step};
}

void trainer_sched_reset(trainer *t)
{
    sched_state_init(&t->sched);
}

void trainer_sched_observe(trainer *t, double val_loss)
{
    sched_config c = trainer_sched_config(&t->cfg);
    sched_observe(&c, &t->sched, val_loss);
}

/* More ids than a page holds (4096 bytes of 2-byte ids). */
#define RELEASE_BACK ((size_t)4096)

/* Copies the next T+1 rows of this process's B streams (all of them when
 * alone) into batch_ids; returns T. */
static int gather_chunk(trainer *t)
{
    int B = t->state.B;
    size_t left = t->stream_len - 1 - t->pos;
    int L = trainer_chunk_len(&t->cfg, t->step);
    int T = left < (size_t)L ? (int)left : L;
    size_t base = t->corp.train_begin + t->pos + (size_t)t->share_first * t->stream_len;
    for (int r = 0; r <= T; r++)
        for (int b = 0; b < B; b++)
            t->batch_ids[(size_t)r * B + b] =
                corpus_id(&t->corp, base + (size_t)b * t->stream_len + r);
    /* What the streams have left behind is not read again this epoch: the
     * pages of a cached corpus that they finished leave the resident set.
     * Looking RELEASE_BACK ids back covers every page finished since the
     * last chunk. */
    for (int b = 0; b < B; b++) {
        size_t s = base + (size_t)b * t->stream_len, back = t->pos < RELEASE_BACK ? t->pos
                                                                               : RELEASE_BACK;
        corpus_release(&t->corp, s - back, s + (size_t)T);
    }
    return T;
}

/* Halves the history: keeps every other point, the validated ones and
 * the last, and doubles the stride of later points. */
static void thin_history(trainer *t)
{
    size_t k = 0;
    for (size_t i = 0; i < t->n_hist; i++)
        if (i % 2 == 0 || !isnan(t->hist[i].val_loss) || i == t->n_hist - 1)
            t->hist[k++] = t->hist[i];
    t->n_hist = k;
    t->hist_stride = (t->hist_stride > 0 ? t->hist_stride : 1) * 2;
}

int trainer_record(trainer *t, long step, float loss)
{
    metric_point p = {.step = step, .loss = loss, .val_loss = NAN};
    if (t->n_hist > 0 && t->hist_stride > 1) {
        /* the newest step is always the last point; one off the stride
         * and not validated is only held until the next step */
        metric_point *last = &t->hist[t->n_hist - 1];
        if (last->step % t->hist_stride != 0 && isnan(last->val_loss)) {
            *last = p;
            return 0;
        }
    }
    if (t->n_hist >= TRAINER_HIST_MAX)
        thin_history(t);
    if (GROW_ARRAY(&t->hist, &t->cap_hist, t->n_hist + 1, 1024) < 0)
        return -1;
    t->hist[t->n_hist++] = p;
    return 0;
}

/* Clips the gradients (by value, then by global norm; summed over the
 * processes first, so every one clips the whole batch's) and returns the
 * global norm before clipping.  The norm's factor is left in *gscale for
 * the optimizer (optim_step_from), which applies it as it reads the
 * gradients instead of a pass of its own over them; 1 when none. */
static float clip_grads(trainer *t, float *gscale)
{
    be_backend *be = t->be;
    model *m = t->m;
    if (t->cfg.clip_value > 0.0f)
        be->clamp(be, m->grads, m->n_params, t->cfg.clip_value);
    double norm = sqrt(be->sumsq(be, m->grads, m->n_params));
    *gscale = 1.0f;
    if (t->cfg.clip_norm > 0.0f && norm > t->cfg.clip_norm)
        *gscale = (float)(t->cfg.clip_norm / (norm + 1e-6));
    return (float)norm;
}

/* Returns 0, or -1 with the backend's failure in err when the device has
 * failed (its results, a NaN loss included, mean nothing then). */
static int backend_failed(trainer *t, char *err, size_t errlen)
{
    const char *why = t->be->last_error(t->be);
    if (!why)
        return 0;
    snprintf(err, errlen, "%s (at step %ld)", why, t->step + 1);
    return -1;
}

/* The parameters at the front of the buffer that take no update:
 * encoder.weight (the first tensor) when frozen. */
static size_t frozen_params(const trainer *t)
{
    return t->cfg.freeze_embed ? t->m->tensors[0].numel : 0;
}

/* NTASGD: the model's parameters and the optimizer's other buffer trade
 * places (the iterate in for a step, the average back after it). */
static void ntasgd_swap(trainer *t)
{
    t->opt.iter = model_swap_params(t->m, t->opt.iter);
}

/* NTASGD's switch: from now on the model shows the average of the
 * iterates, which starts as the weights of now. */
static void ntasgd_start(trainer *t)
{
    t->be->copy(t->be, t->opt.iter, t->m->params, t->m->n_params * sizeof(float));
    t->opt.averaging = 1;
    t->opt.avg_n = 0;
    t->ntasgd_step = t->step;
}

/* NTASGD after a step on the iterate (swapped in): average += (iterate -
 * average) / n, the gradients (spent) holding iterate / n. */
static void ntasgd_average(trainer *t)
{
    be_backend *be = t->be;
    size_t n = t->m->n_params;
    float *avg = t->opt.iter, k = (float)++t->opt.avg_n;
    be->copy(be, t->m->grads, t->m->params, n * sizeof(float));
    be->scale(be, t->m->grads, n, 1.0f / k);
    be->scale(be, avg, n, 1.0f - 1.0f / k);
    be->add(be, avg, t->m->grads, n);
}

/* One step on the model's parameters as they are. */
static int step_on(trainer *t, train_info *out, char *err, size_t errlen)
{
    if (t->stream_len < 2) {
        snprintf(err, errlen, "no training data loaded");
        return -1;
    }
    double t0 = clock_now();
    int epoch_end = 0;
    if (t->pos + 1 >= t->stream_len) {          /* a new epoch from zero state */
        t->pos = 0;
        t->epoch++;
        model_state_zero(t->m, &t->state);
    }
    int B = t->cfg.batch, T = gather_chunk(t);
    uint64_t key = t->cfg.seed * 0x2545F4914F6CDD1DULL + (uint64_t)t->step;
    long correct = 0;
    t->m->label_smoothing = t->cfg.label_smoothing;
    t->m->ar = t->cfg.ar;
    t->m->tar = t->cfg.tar;
    /* the whole batch's figures: loss, hits, objective (smoothed loss
     * plus AR and TAR) */
    double sums[3];
    sums[0] = model_forward(t->m, &t->state, t->batch_ids, T, t->state.B, 1, key, &correct);
    sums[1] = (double)correct;
    sums[2] = t->m->last_smoothed + t->m->last_penalty;
    if (dist_sum_agree(sums, 3, backend_failed(t, err, errlen) < 0, err, errlen) < 0)
        return -1;
    double loss = sums[0] / ((double)T * B);
    if (!isfinite(loss)) {
        snprintf(err, errlen, "loss is %s at step %ld; lower the learning rate",
                 isnan(loss) ? "NaN" : "infinite", t->step + 1);
        return -1;
    }
    size_t frozen = frozen_params(t);
    double reduce_s;
    if (trainer_backward(t, frozen, &reduce_s, err, errlen) != 0)
        return -1;
    float gscale;
    float norm = clip_grads(t, &gscale);
    /* the norm waited for backward */
    if (dist_agree(backend_failed(t, err, errlen) < 0, err, errlen) < 0)
        return -1;
    /* a jittered chunk's rate scaled by its drawn length, as awd-lstm-lm */
    float lr = trainer_lr(t, t->step) * (float)trainer_chunk_len(&t->cfg, t->step)
               / (float)t->cfg.seq_len;
    optim_step_from(&t->opt, frozen, t->m->params, t->m->grads, lr, gscale);

    t->pos += (size_t)T;
    t->step++;
    if (t->pos + 1 >= t->stream_len)
        epoch_end = 1;
    if (trainer_record(t, t->step, (float)loss) < 0) {
        snprintf(err, errlen, "out of memory for the loss history");
        return -1;
    }
    double dt = clock_now() - t0;
    t->elapsed += dt;
    if (out) {
        *out = (train_info){
            .step = t->step,
            .epoch = (double)t->epoch + (double)t->pos / (double)(t->stream_len - 1),
            .loss = (float)loss, .ppl = (float)exp(loss), .bpt = (float)(loss / M_LN2),
            /* the adaptive softmax counts no hits in training */
            .acc = sums[1] < 0 ? NAN : (float)sums[1] / (float)(T * B),
            .grad_norm = norm, .lr = lr,
            .objective = (float)(sums[2] / ((double)T * B)),
            .tokens_per_s = dt > 0 ? (double)T * B / dt : 0, .reduce_s = reduce_s,
            .tokens = (long)T * B,
            .epoch_end = epoch_end};
    }
    return 0;
}

int trainer_step(trainer *t, train_info *out, char *err, size_t errlen)
{
    if (!t->opt.averaging)
        return step_on(t, out, err, errlen);
    /* NTASGD averaging: the step moves the iterate, then the average */
    ntasgd_swap(t);
    int rc = step_on(t, out, err, errlen);
    if (rc == 0)
        ntasgd_average(t);
    ntasgd_swap(t);
    if (rc == 0 && out)
        out->averaging = 1;
    return rc;
}

/* Fills the host ids of T+1 rows of S streams each L tokens apart, from
 * token src of the corpus on. */
static void gather_eval(uint32_t *ids, const corpus *c, size_t src, int S, size_t L,
                        size_t p, int T)
{
    for (int r = 0; r <= T; r++)
        for (int s = 0; s < S; s++)
            ids[(size_t)r * S + s] = corpus_id(c, src + (size_t)s * L + p + r);
}

/* Scores predictions 1..len-1 of src with S streams of L = (len-1)/S
 * predictions each, then the leftover with the last stream's state.  This
 * process scores streams s0 .. s0+n-1 (all of them when alone), and the
 * leftover when the last is among them. */
static int eval_run(trainer *t, size_t src, size_t len, int S, long s0,
                    int n, double *loss, long *correct)
{
    model *m = t->m;
    size_t L = (len - 1) / (size_t)S;
    if (n < 1)
        return 0;
    int cap = (int)(m->act_rows / (size_t)n);
    if (cap > 512) cap = 512;
    if (cap < 1) cap = 1;
    model_state st = {0}, one = {0};
    uint32_t *ids = malloc((size_t)(cap + 1) * n * sizeof(uint32_t));
    if (!ids || model_reserve(m, n, cap) < 0 || model_state_init(m, &st, n) < 0 ||
        model_state_init(m, &one, 1) < 0) {
        free(ids);
        model_state_free(m, &st);
        return -1;
    }
    for (size_t p = 0; p < L;) {
        int T = L - p < (size_t)cap ? (int)(L - p) : cap;
        long c = 0;
        gather_eval(ids, &t->corp, src + (size_t)s0 * L, n, L, p, T);
        *loss += model_forward(m, &st, ids, T, n, 0, 0, &c);
        *correct += c;
        p += (size_t)T;
    }
    /* leftover predictions continue the last stream exactly */
    size_t done = s0 + n == S ? (size_t)S * L : len, H = (size_t)m->cfg.hidden;
    for (int l = 0; l < m->cfg.layers; l++) {
        size_t from = ((size_t)l * n + (n - 1)) * H;
        m->be->copy(m->be, one.h + l * H, st.h + from, H * sizeof(float));
        if (one.c)
            m->be->copy(m->be, one.c + l * H, st.c + from, H * sizeof(float));
    }
    for (size_t p = done; p + 1 < len;) {
        int T = len - 1 - p < (size_t)cap ? (int)(len - 1 - p) : cap;
        long c = 0;
        gather_eval(ids, &t->corp, src + p, 1, 0, 0, T);
        *loss += model_forward(m, &one, ids, T, 1, 0, 0, &c);
        *correct += c;
        p += (size_t)T;
    }
    free(ids);
    model_state_free(m, &st);
    model_state_free(m, &one);
    return 0;
}

int trainer_eval(trainer *t, corpus_split split, int streams, eval_result *out,
                 char *err, size_t errlen)
{
    size_t b, e;
    corpus_range(&t->corp, split, &b, &e);
    size_t len = e - b;
    static const char *names[] = {"train", "val", "test", "all"};
    if (len < 2) {
        snprintf(err, errlen, "the %s split has %zu tokens; at least 2 are needed",
                 names[split], len);
        return -1;
    }
    int S = streams < 1 ? 1 : streams;
    if ((size_t)S > (len - 1) / 2)
        S = (int)((len - 1) / 2) > 0 ? (int)((len - 1) / 2) : 1;
    double loss = 0;
    long correct = 0, s0, mine;
    dist_part(S, dist_rank(), dist_size(), &s0, &mine);
    int bad = eval_run(t, b, len, S, s0, (int)mine, &loss, &correct) < 0;
    corpus_release(&t->corp, b, e);
    const char *fault = bad ? NULL : t->be->last_error(t->be);
    if (bad)
        snprintf(err, errlen, "out of memory for evaluation");
    else if (fault)
        snprintf(err, errlen, "%s (in evaluation)", fault);
    double sums[2] = {loss, (double)correct};     /* over the processes */
    if (dist_sum_agree(sums, 2, bad || fault, err, errlen) < 0)
        return -1;
    long n = (long)(len - 1);
    out->tokens = n;
    out->loss = sums[0] / (double)n;
    out->ppl = exp(out->loss);
    out->bpt = out->loss / M_LN2;
    out->acc = sums[1] / (double)n;
    return 0;
}

void trainer_apply_live(trainer *t)
{
    model_config *m = &t->m->cfg;
    const model_config *c = &t->cfg.model;
    m->dropout = c->dropout;
    memcpy(m->drop, c->drop, sizeof m->drop);
    m->dropout_embed = c->dropout_embed;
    m->locked = c->locked;
    m->weight_drop = c->weight_drop;
    t->opt.cfg.lr = t->cfg.optim.lr;
    t->opt.cfg.nonmono = t->cfg.optim.nonmono;
}

void trainer_note_val(trainer *t, double val_loss)
{
    t->last_val_loss = val_loss;
    if (optim_ntasgd_observe(&t->opt, val_loss))
        ntasgd_start(t);
    if (t->n_hist > 0 && t->hist[t->n_hist - 1].step == t->step)
        t->hist[t->n_hist - 1].val_loss = (float)val_loss;
}

int trainer_keep_best(trainer *t, char *err, size_t errlen)
{
    const model *m = t->m;
    if (!t->best_params
        && !(t->best_params = malloc(m->n_params ? m->n_params * sizeof(float) : 1))) {
        snprintf(err, errlen, "out of memory keeping the best weights");
        return -1;
    }
    m->be->download(m->be, t->best_params, m->params, m->n_params * sizeof(float));
    return 0;
}

int trainer_use_best(trainer *t, char *err, size_t errlen)
{
    const model *m = t->m;
    if (!t->best_params) {
        snprintf(err, errlen, "no best weights kept (train with --keep-best)");
        return -1;
    }
    m->be->upload(m->be, m->params, t->best_params, m->n_params * sizeof(float));
    return 0;
}
