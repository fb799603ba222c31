/* check_train.c - the trainer end to end on a small built-in text: the
 * loss falls below a bound, runs are bit-for-bit deterministic, evaluation
 * scores exactly N-1 predictions and agrees with a step-by-step reference,
 * the clipping / schedule settings behave, what cannot fit in memory is
 * refused, and the gradients go to a device's sums (NCCL) in stretches
 * during the backward pass. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "dist/dist.h"
#include "train/trainer.h"

/* A small LSTM/GRU/RNN trainer on the fixture's sentences; kind: its
 * optimizer (lr 1e-2), or -1 for the default. */
static trainer *make_trainer_opt(be_backend *be, model_cell cell, float dropout,
                                 uint64_t seed, int kind)
{
    char err[256];
    size_t len;
    char *text = fx_sentences(&len);
    corpus c;
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)text, len, NULL, 0.1, 0.0, err,
                                     sizeof err) == 0, "%s", err);
    free(text);
    train_config cfg = train_defaults();
    cfg.model.cell = cell;
    cfg.model.layers = 1;
    cfg.model.hidden = 48;
    cfg.model.embed = 16;
    cfg.model.dropout = dropout;
    cfg.seq_len = 32;
    cfg.batch = 8;
    if (kind >= 0)
        cfg.optim = optim_defaults((optim_kind)kind);
    cfg.optim.lr = 1e-2f;
    cfg.seed = seed;
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

static trainer *make_trainer(be_backend *be, model_cell cell, float dropout, uint64_t seed)
{
    return make_trainer_opt(be, cell, dropout, seed, -1);
}

static void train_steps(trainer *t, int n, float *losses)
{
    char err[256];
    for (int i = 0; i < n; i++) {
        train_info inf;
        ck_assert_msg(trainer_step(t, &inf, err, sizeof err) == 0, "%s", err);
        if (losses)
            losses[i] = inf.loss;
    }
}

/* The sums on the device (NCCL) as trainer_backward drives them, seen
 * through a CPU backend whose coll_* record the calls: alone, a sum over
 * the processes leaves x as it is. */
static struct {
    size_t from[64], n[64];
    int sums, waits, sums_at_wait, fail_at;
    const float *grads;
} seen;

static int seen_sum(be_backend *be, float *x, size_t n)
{
    (void)be;
    if (seen.sums == seen.fail_at || seen.sums == 64)
        return -1;
    seen.from[seen.sums] = (size_t)(x - seen.grads);
    seen.n[seen.sums++] = n;
    return 0;
}

static int seen_wait(be_backend *be)
{
    (void)be;
    seen.sums_at_wait = seen.sums;
    seen.waits++;
    return 0;
}

static const char *seen_error(be_backend *be)
{
    (void)be;
    return seen.sums == seen.fail_at ? "nccl: all-reduce: a test's failure" : NULL;
}

/* During the backward pass the gradient buffer goes to the device sums in
 * stretches from its end down to 0, each of at least TRAINER_BUCKET_MIN
 * floats but the last, the frozen ones zeroed before, and one wait after
 * all of them; the steps are the host path's bit for bit.  A failed sum
 * stops the step with the backend's line. */
START_TEST(device_sums)
{
    be_backend *plain = be_cpu_create(), *dev = be_cpu_create();
    char err[256] = "";
    plain->set_threads(plain, 1);
    dev->set_threads(dev, 1);
    dev->coll_sum = seen_sum;
    dev->coll_wait = seen_wait;
    trainer *a = make_trainer(plain, CELL_LSTM, 0.0f, 5);
    trainer *b = make_trainer(dev, CELL_LSTM, 0.0f, 5);
    a->cfg.freeze_embed = b->cfg.freeze_embed = 1;
    b->device_sums = 1;
    b->flight = dist_flight_new();
    memset(&seen, 0, sizeof seen);
    seen.fail_at = -1;
    seen.grads = b->m->grads;
    float la[3], lb[3];
    train_steps(a, 3, la);
    train_steps(b, 3, lb);
    ck_assert_int_eq(seen.waits, 3);
    ck_assert_int_eq(seen.sums_at_wait, seen.sums);
    ck_assert_int_eq(seen.sums % 3, 0);
    int per = seen.sums / 3;
    ck_assert_int_ge(per, 2);
    for (int s = 0; s < 3; s++) {
        size_t end = b->m->n_params;
        for (int k = s * per; k < (s + 1) * per; k++) {
            ck_assert_uint_eq(seen.from[k] + seen.n[k], end);
            ck_assert(seen.from[k] == 0 || seen.n[k] >= TRAINER_BUCKET_MIN);
            end = seen.from[k];
        }
        ck_assert_uint_eq(end, 0);
    }
    ck_assert(memcmp(la, lb, sizeof la) == 0);
    ck_assert(memcmp(a->m->params, b->m->params, a->m->n_params * sizeof(float)) == 0);
    seen.fail_at = seen.sums + 1;
    dev->last_error = seen_error;
    train_info inf;
    ck_assert_int_eq(trainer_step(b, &inf, err, sizeof err), -1);
    ck_assert_str_eq(err, "nccl: all-reduce: a test's failure (at step 4)");
    trainer_free(a);
    trainer_free(b);
    plain->destroy(plain);
    dev->destroy(dev);
}
END_TEST

START_TEST(loss_falls)
{
    be_backend *be = be_cpu_create();
    be->set_threads(be, 1);
    model_cell cells[] = {CELL_RNN, CELL_GRU, CELL_LSTM};
    for (int k = 0; k < 3; k++) {
        trainer *t = make_trainer(be, cells[k], 0.0f, 7);
        float losses[200];
        train_steps(t, 200, losses);
        eval_result r;
        char err[256];
        ck_assert_int_eq(trainer_eval(t, SPLIT_VAL, 1, &r, err, sizeof err), 0);
        /* uniform over ~25 symbols is 3.2 nats; the text is nearly
         * deterministic once a sentence has started */
        ck_assert_msg(losses[0] > 2.5f, "%s: first loss %f", model_cell_name(cells[k]),
                      (double)losses[0]);
        ck_assert_msg(r.loss < 0.6, "%s: val loss %f after 200 steps",
                      model_cell_name(cells[k]), r.loss);
        trainer_free(t);
    }
    be->destroy(be);
}
END_TEST

START_TEST(deterministic)
{
    be_backend *be = be_cpu_create();
    be->set_threads(be, 2);
    float a[40], b[40], c[40];
    trainer *t1 = make_trainer(be, CELL_LSTM, 0.2f, 11);
    train_steps(t1, 40, a);
    trainer *t2 = make_trainer(be, CELL_LSTM, 0.2f, 11);
    train_steps(t2, 40, b);
    trainer *t3 = make_trainer(be, CELL_LSTM, 0.2f, 12);
    train_steps(t3, 40, c);
    ck_assert(memcmp(a, b, sizeof a) == 0);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    ck_assert(memcmp(t1->m->params, t2->m->params, t1->m->n_params * sizeof(float)) == 0);
    trainer_free(t1);
    trainer_free(t2);
    trainer_free(t3);
    be->destroy(be);
}
END_TEST

/* BPTT jitter draws awd-lstm-lm's lengths: a function of the seed and
 * the step, within 5 .. T+20, about 95% around T and 5% around T/2, with
 * the spread of a deviation of 5; a step trains on the drawn length with
 * the learning rate scaled by length/T. */
START_TEST(bptt_jitter)
{
    train_config c = train_defaults();
    c.seq_len = 70;
    ck_assert_int_eq(trainer_chunk_len(&c, 3), 70);        /* off: T */
    c.bptt_jitter = 1;
    ck_assert_int_eq(train_max_len(&c), 90);
    enum { N = 20000 };
    int low = 0, differ = 0;
    double sum = 0, sq = 0;
    for (long s = 0; s < N; s++) {
        int L = trainer_chunk_len(&c, s);
        ck_assert(L >= 5 && L <= 90);
        ck_assert_int_eq(L, trainer_chunk_len(&c, s));
        if (L < 52) {           /* the T/2 draws (35 +- 17 is 3.4 sd) */
            low++;
            continue;
        }
        sum += L;
        sq += (double)L * L;
    }
    double n = N - low, mean = sum / n, sd = sqrt(sq / n - mean * mean);
    ck_assert_msg(low > 0.04 * N && low < 0.06 * N, "%d of %d short", low, N);
    /* int() truncates toward zero: the mean sits half a step below T */
    ck_assert_msg(fabs(mean - 69.5) < 0.2, "mean %g", mean);
    ck_assert_msg(fabs(sd - 5.0) < 0.2, "deviation %g", sd);
    c.seed++;
    for (long s = 0; s < 100; s++)
        differ += trainer_chunk_len(&c, s) != trainer_chunk_len(&(train_config){
                      .seq_len = 70, .bptt_jitter = 1, .seed = c.seed - 1}, s);
    ck_assert(differ > 50);

    be_backend *be = be_cpu_create();
    trainer *t = make_trainer(be, CELL_LSTM, 0.0f, 5);
    t->cfg.bptt_jitter = 1;
    char err[256];
    for (int i = 0; i < 5; i++) {
        train_info inf;
        int L = trainer_chunk_len(&t->cfg, t->step);
        ck_assert_msg(trainer_step(t, &inf, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(inf.tokens, (long)L * t->cfg.batch);
        ck_assert_float_eq_tol(inf.lr, 1e-2f * (float)L / 32.0f, 1e-7f);
    }
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* NTASGD: SGD until the trigger, then the model shows the running mean of
 * the SGD iterates of the steps since (the optimizer's "iterate" is the
 * last of them), and the iterates move as plain SGD. */
START_TEST(ntasgd_averages)
{
    be_backend *be = be_cpu_create();
    trainer *t = make_trainer(be, CELL_GRU, 0.0f, 9);
    optim_free(&t->opt);
    t->cfg.optim = optim_defaults(OPT_NTASGD);
    t->cfg.optim.nonmono = 1;
    ck_assert_int_eq(optim_init(&t->opt, be, &t->cfg.optim, t->m->n_params), 0);
    train_steps(t, 3, NULL);
    trainer_note_val(t, 2.0);
    trainer_note_val(t, 2.5);
    ck_assert(!t->opt.averaging);
    trainer_note_val(t, 3.0);                   /* above 2.0: switch */
    ck_assert(t->opt.averaging);
    ck_assert_int_eq(t->ntasgd_step, 3);
    size_t n = t->m->n_params;
    double *sum = calloc(n, sizeof(double));
    enum { K = 4 };
    for (int k = 1; k <= K; k++) {
        train_steps(t, 1, NULL);
        for (size_t i = 0; i < n; i++)
            sum[i] += t->opt.iter[i];
        double worst = 0;
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs(t->m->params[i] - sum[i] / k));
        ck_assert_msg(worst < 1e-6, "after %d averaged steps: off by %g", k, worst);
    }
    ck_assert_int_eq(t->opt.avg_n, K);
    /* a validation now sees the average, which differs from the iterate */
    ck_assert(memcmp(t->m->params, t->opt.iter, n * sizeof(float)) != 0);
    free(sum);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* Exact evaluation equals feeding the split one token at a time. */
START_TEST(eval_exact)
{
    be_backend *be = be_cpu_create();
    trainer *t = make_trainer(be, CELL_GRU, 0.0f, 3);
    train_steps(t, 20, NULL);
    char err[256];
    eval_result r1, r4;
    ck_assert_int_eq(trainer_eval(t, SPLIT_VAL, 1, &r1, err, sizeof err), 0);
    ck_assert_int_eq(trainer_eval(t, SPLIT_VAL, 4, &r4, err, sizeof err), 0);
    size_t b, e;
    corpus_range(&t->corp, SPLIT_VAL, &b, &e);
    ck_assert_int_eq(r1.tokens, (long)(e - b - 1));
    ck_assert_int_eq(r4.tokens, (long)(e - b - 1));
    model *m = t->m;
    model_state st;
    ck_assert_int_eq(model_state_init(m, &st, 1), 0);
    int V = m->cfg.vocab;
    float *z = malloc(V * sizeof(float));
    double total = 0;
    for (size_t i = b; i + 1 < e; i++) {
        uint32_t id = corpus_id(&t->corp, i);
        model_step(m, &st, &id, z);
        double mx = z[0], s = 0;
        for (int j = 1; j < V; j++)
            mx = z[j] > mx ? z[j] : mx;
        for (int j = 0; j < V; j++)
            s += exp(z[j] - mx);
        total += mx + log(s) - z[corpus_id(&t->corp, i + 1)];
    }
    double ref = total / (double)(e - b - 1);
    ck_assert_msg(fabs(ref - r1.loss) < 1e-4, "exact eval %f, stepwise %f", r1.loss, ref);
    /* cutting into streams changes only the first predictions of each */
    ck_assert(fabs(r4.loss - r1.loss) < 0.05);
    ck_assert_double_eq_tol(r1.ppl, exp(r1.loss), 1e-9);
    ck_assert_double_eq_tol(r1.bpt, r1.loss / log(2.0), 1e-9);
    free(z);
    model_state_free(m, &st);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(schedule_and_epochs)
{
    be_backend *be = be_cpu_create();
    trainer *t = make_trainer(be, CELL_RNN, 0.0f, 5);
    t->cfg.schedule = SCHED_STEP;
    t->cfg.warmup = 10;
    t->cfg.lr_decay = 0.5f;
    t->cfg.lr_decay_every = 100;
    ck_assert_float_eq_tol(trainer_lr(t, 0), 1e-3f, 1e-9f);
    ck_assert_float_eq_tol(trainer_lr(t, 9), 1e-2f, 1e-9f);
    ck_assert_float_eq_tol(trainer_lr(t, 150), 5e-3f, 1e-9f);
    /* an epoch is stream_len-1 predictions per stream */
    size_t per_epoch = (t->stream_len - 1 + t->cfg.seq_len - 1) / t->cfg.seq_len;
    char err[256];
    train_info inf = {0};
    for (size_t i = 0; i < per_epoch; i++)
        ck_assert_int_eq(trainer_step(t, &inf, err, sizeof err), 0);
    ck_assert_int_eq(inf.epoch_end, 1);
    ck_assert_double_eq_tol(inf.epoch, 1.0, 1e-9);
    ck_assert_int_eq(trainer_step(t, &inf, err, sizeof err), 0);
    ck_assert_int_eq(t->epoch, 1);
    ck_assert_int_eq((long)t->n_hist, (long)per_epoch + 1);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* The history stays bounded over a long run: thinned to every other
 * point when full, validations kept, steps in order, the run spanned. */
START_TEST(history_bounded)
{
    be_backend *be = be_cpu_create();
    trainer *t = make_trainer(be, CELL_RNN, 0.0f, 3);
    const long steps = 5L * TRAINER_HIST_MAX + 123;
    for (long s = 1; s <= steps; s++) {
        t->step = s;
        ck_assert_int_eq(trainer_record(t, s, (float)s), 0);
        if (s % 10007 == 0)
            trainer_note_val(t, -(double)s);
        ck_assert_uint_le(t->n_hist, TRAINER_HIST_MAX);
    }
    ck_assert_int_ge(t->hist_stride, 4);
    ck_assert_uint_ge(t->n_hist, TRAINER_HIST_MAX / 2);
    ck_assert_int_eq(t->hist[0].step, 1);
    ck_assert_int_eq(t->hist[t->n_hist - 1].step, steps);     /* the newest */
    long vals = 0;
    for (size_t i = 0; i < t->n_hist; i++) {
        if (i > 0)
            ck_assert_int_gt(t->hist[i].step, t->hist[i - 1].step);
        ck_assert_float_eq(t->hist[i].loss, (float)t->hist[i].step);
        if (!isnan(t->hist[i].val_loss)) {
            ck_assert_float_eq(t->hist[i].val_loss, -(float)t->hist[i].step);
            vals++;
        }
    }
    ck_assert_int_eq(vals, steps / 10007);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* One step clipped to norm 1e-3 by a trainer with optimizer kind: the
 * weights those of a fresh optimizer's step over the gradients scaled
 * by the clip's factor (computed as the trainer does, from their norm
 * before clipping).  Adam takes the factor as it reads the gradients and
 * leaves them as backward left them; SGD finds them scaled to the norm.
 * Returns the trainer. */
static trainer *clip_step(be_backend *be, int kind)
{
    trainer *t = make_trainer_opt(be, CELL_LSTM, 0.0f, 9, kind);
    size_t n = t->m->n_params;
    float *w = malloc(n * sizeof *w), *g = malloc(n * sizeof *g);
    memcpy(w, t->m->params, n * sizeof *w);
    t->cfg.clip_norm = 1e-3f;
    char err[256];
    train_info inf;
    ck_assert_int_eq(trainer_step(t, &inf, err, sizeof err), 0);
    ck_assert(inf.grad_norm > 1e-3f);
    double norm = sqrt(be->sumsq(be, t->m->grads, n));
    memcpy(g, t->m->grads, n * sizeof *g);
    if (kind == OPT_SGD) {
        ck_assert_double_eq_tol(norm, 1e-3, 1e-5);
    } else {
        ck_assert_float_eq(inf.grad_norm, (float)norm);
        be->scale(be, g, n, (float)(t->cfg.clip_norm / (norm + 1e-6)));
    }
    optim o;
    ck_assert_int_eq(optim_init(&o, be, &t->opt.cfg, n), 0);
    optim_step(&o, w, g, inf.lr);
    ck_assert_msg(memcmp(w, t->m->params, n * sizeof *w) == 0, "%s: not the clipped step",
                  optim_name((optim_kind)kind));
    optim_free(&o);
    free(w);
    free(g);
    return t;
}

/* Clipping by norm, for Adam and SGD; then by value. */
START_TEST(clipping)
{
    be_backend *be = be_cpu_create();
    trainer_free(clip_step(be, OPT_SGD));
    trainer *t = clip_step(be, OPT_ADAM);
    char err[256];
    train_info inf;
    t->cfg.clip_norm = 0;
    t->cfg.clip_value = 1e-4f;
    ck_assert_int_eq(trainer_step(t, &inf, err, sizeof err), 0);
    for (size_t i = 0; i < t->m->n_params; i++)
        ck_assert(fabsf(t->m->grads[i]) <= 1e-4f);
    trainer_free(t);
    be->destroy(be);
}
END_TEST

START_TEST(bad_config)
{
    be_backend *be = be_cpu_create();
    char err[256];
    corpus c;
    const char *text = "abcabcabcabcabcabcabcabcabcabcabcabcabcabc";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)text, strlen(text), NULL, 0.1,
                                        0, err, sizeof err), 0);
    train_config cfg = train_defaults();
    cfg.batch = 64;              /* more streams than tokens */
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_ptr_null(t);
    ck_assert(strstr(err, "too few") != NULL);
    corpus_free(&c);
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)text, strlen(text), NULL, 0.1,
                                        0, err, sizeof err), 0);
    cfg = train_defaults();
    cfg.seq_len = 0;
    ck_assert_ptr_null(trainer_create(be, &cfg, &c, err, sizeof err));
    ck_assert(strstr(err, "seq-len") != NULL);
    corpus_free(&c);
    be->destroy(be);
}
END_TEST

/* trainer_create on the small text with cfg; NULL (and err) when refused. */
static trainer *create_on_text(be_backend *be, const train_config *cfg, char *err,
                               size_t errlen)
{
    corpus c;
    const char *text = "abcabcabcabcabcabcabcabcabcabcabcabcabcabc";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)text, strlen(text), NULL, 0.1,
                                        0, err, errlen), 0);
    trainer *t = trainer_create(be, cfg, &c, err, errlen);
    corpus_free(&c);             /* empty when the trainer took it */
    return t;
}

/* What cannot fit the memory available (RNNLAB_MEMORY_LIMIT here) is
 * refused before anything is allocated, with both figures. */
START_TEST(memory_refused)
{
    be_backend *be = be_cpu_create();
    char err[256] = "";
    train_config cfg = train_defaults();
    cfg.batch = 4;
    ck_assert_int_eq(setenv("RNNLAB_MEMORY_LIMIT", "1M", 1), 0);
    ck_assert_ptr_null(create_on_text(be, &cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "model: needs ") == err && strstr(err, " MiB (parameters, "
                  "optimizer state and activations); 1.0 MiB available"), "%s", err);
    cfg.model.hidden = 65536;
    cfg.model.layers = 16;
    ck_assert_int_eq(setenv("RNNLAB_MEMORY_LIMIT", "64G", 1), 0);
    ck_assert_ptr_null(create_on_text(be, &cfg, err, sizeof err));
    ck_assert_msg(strstr(err, " TiB (parameters") && strstr(err, "; 64.0 GiB available"),
                  "%s", err);
    ck_assert_int_eq(setenv("RNNLAB_MEMORY_LIMIT", "lots", 1), 0);
    ck_assert_ptr_null(create_on_text(be, &cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "RNNLAB_MEMORY_LIMIT: 'lots' is not a size"), "%s", err);
    cfg = train_defaults();
    cfg.batch = 4;
    ck_assert_int_eq(setenv("RNNLAB_MEMORY_LIMIT", "1G", 1), 0);
    trainer *t = create_on_text(be, &cfg, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    trainer_free(t);
    unsetenv("RNNLAB_MEMORY_LIMIT");
    be->destroy(be);
}
END_TEST

/* A trainer moved to another backend mid-run goes on exactly as one that
 * stayed: weights, Adam's moments and step, and the carried state moved. */
START_TEST(move_keeps_state)
{
    char err[256];
    be_backend *a = be_cpu_create(), *b = be_cpu_create();
    /* Results depend on the thread count (the CPU backend splits its
     * products by it), so a runs with the trainers' setting (2); b starts
     * at 1 and must get 2 from trainer_move. */
    a->set_threads(a, 2);
    b->set_threads(b, 1);
    float x[20], y[20];
    trainer *t1 = make_trainer(a, CELL_LSTM, 0.2f, 5);
    trainer *t2 = make_trainer(a, CELL_LSTM, 0.2f, 5);
    train_steps(t1, 10, x);
    train_steps(t2, 10, y);
    float *old = t2->m->params;
    ck_assert_int_eq(trainer_move(t2, b, err, sizeof err), 0);
    ck_assert_ptr_eq(t2->be, b);
    ck_assert_ptr_ne(t2->m->params, old);
    ck_assert_int_eq(t2->opt.t, t1->opt.t);
    train_steps(t1, 10, x + 10);
    train_steps(t2, 10, y + 10);
    ck_assert(memcmp(x, y, sizeof x) == 0);
    ck_assert(memcmp(t1->m->params, t2->m->params, t1->m->n_params * sizeof(float)) == 0);
    ck_assert_int_eq(trainer_move(t2, b, err, sizeof err), 0);     /* no-op */
    ck_assert_int_eq(trainer_move(t2, a, err, sizeof err), 0);     /* and back */
    train_steps(t1, 1, x);
    train_steps(t2, 1, y);
    ck_assert(x[0] == y[0]);
    trainer_free(t1);
    trainer_free(t2);
    a->destroy(a);
    b->destroy(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, loss_falls);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, eval_exact);
    tcase_add_test(tc, bptt_jitter);
    tcase_add_test(tc, ntasgd_averages);
    tcase_add_test(tc, schedule_and_epochs);
    tcase_add_test(tc, clipping);
    tcase_add_test(tc, history_bounded);
    tcase_add_test(tc, bad_config);
    tcase_add_test(tc, memory_refused);
    tcase_add_test(tc, move_keeps_state);
    tcase_add_test(tc, device_sums);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
