/* check_cuda.c - the CUDA backend against the CPU backend, which is the
 * reference: every table operation on random data (and a failed call
 * kept for last_error), then the model's
 * logits, loss and every gradient for each cell type with 1 and 2 layers,
 * then 50 training steps whose losses must track the CPU run, then
 * sessions and live trainers moved between the devices.  Exits 77 (skipped) with "no CUDA
 * device: ..." when no GPU answers.
 *
 * Tolerances (fp32), as a share of the largest magnitude in the CPU's
 * tensor: elementwise operations and matrix products 1e-5, the squared
 * norm 1e-4 (the CPU adds in float runs), logits and loss 1e-4, gradients 1e-3 (they add up T steps of
 * products whose order differs between cuBLAS and OpenBLAS).  Dropout
 * masks and argmax counts must match exactly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "device/open.h"
#include "model/model.h"
#include "train/optim.h"
#include "util/rng.h"
#include "store/session.h"
#include "train/trainer.h"

#define TOL_ELEM 1e-5
#define TOL_LOGIT 1e-4
#define TOL_GRAD 1e-3

typedef struct pair {
    be_backend *cpu, *gpu;
} pair;

static pair open_pair(be_precision p)
{
    char err[256];
    pair b;
    b.cpu = be_open("cpu", BE_FP32, NULL, err, sizeof err);
    ck_assert_msg(b.cpu != NULL, "%s", err);
    b.cpu->set_threads(b.cpu, 1);
#ifdef CHECK_CUDA_HARNESS_ON_CPU
    /* checks the harness itself where there is no GPU: both sides CPU */
    (void)p;
    b.gpu = be_open("cpu", BE_FP32, NULL, err, sizeof err);
#else
    b.gpu = be_open("cuda", p, NULL, err, sizeof err);
#endif
    ck_assert_msg(b.gpu != NULL, "%s", err);
    return b;
}

static void close_pair(pair *b)
{
    b->cpu->destroy(b->cpu);
    b->gpu->destroy(b->gpu);
}

static float *rand_host(size_t n, float lo, float hi, rng_state *r)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++)
        h[i] = lo + (hi - lo) * rng_uniform(r);
    return h;
}

/* The same host data on both backends. */
typedef struct twin {
    float *c, *g;
    size_t n;
} twin;

static twin twin_of(pair *b, const float *host, size_t n)
{
    twin t = {b->cpu->alloc(b->cpu, n * sizeof(float)),
              b->gpu->alloc(b->gpu, n * sizeof(float)), n};
    ck_assert(t.c && t.g);
    b->cpu->upload(b->cpu, t.c, host, n * sizeof(float));
    b->gpu->upload(b->gpu, t.g, host, n * sizeof(float));
    return t;
}

static twin twin_rand(pair *b, size_t n, float lo, float hi, rng_state *r)
{
    float *h = rand_host(n, lo, hi, r);
    twin t = twin_of(b, h, n);
    free(h);
    return t;
}

static void twin_free(pair *b, twin *t)
{
    b->cpu->free(b->cpu, t->c);
    b->gpu->free(b->gpu, t->g);
}

/* Largest |cpu - gpu| over the largest |cpu| (1 when the CPU's is 0). */
static double rel_diff(const float *c, const float *g, size_t n)
{
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)c[i] - (double)g[i]);
        if (!(e <= d))
            d = e;              /* NaN sticks */
        if (fabs(c[i]) > m)
            m = fabs(c[i]);
    }
    return d / (m > 0.0 ? m : 1.0);
}

/* Compares a device buffer of each backend (n floats). */
static double dev_diff(pair *b, const float *c, const float *g, size_t n)
{
    float *hc = malloc((n ? n : 1) * sizeof(float)), *hg = malloc((n ? n : 1) * sizeof(float));
    b->cpu->download(b->cpu, hc, c, n * sizeof(float));
    b->gpu->download(b->gpu, hg, g, n * sizeof(float));
    double d = rel_diff(hc, hg, n);
    free(hc);
    free(hg);
    return d;
}

#define EXPECT_CLOSE(b, tw, tol, what) do {                                   \
        double d_ = dev_diff((b), (tw).c, (tw).g, (tw).n);                    \
        ck_assert_msg(d_ <= (tol), "%s: relative difference %g > %g", (what), \
                      d_, (double)(tol));                                     \
    } while (0)

/* ------------------------------------------------------------------ */
/* Operations one by one */

START_TEST(op_gemm)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 1);
    /* odd sizes and leading dimensions wider than the rows */
    int M = 37, N = 29, K = 53, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            twin A = twin_rand(&b, (size_t)(ta ? K : M) * lda, -1, 1, &r);
            twin B = twin_rand(&b, (size_t)(tb ? N : K) * ldb, -1, 1, &r);
            twin C = twin_rand(&b, (size_t)M * ldc, -1, 1, &r);
            b.cpu->gemm(b.cpu, ta, tb, M, N, K, 0.7f, A.c, lda, B.c, ldb, 0.3f, C.c, ldc);
            b.gpu->gemm(b.gpu, ta, tb, M, N, K, 0.7f, A.g, lda, B.g, ldb, 0.3f, C.g, ldc);
            char what[32];
            snprintf(what, sizeof what, "gemm ta=%d tb=%d", ta, tb);
            EXPECT_CLOSE(&b, C, TOL_ELEM, what);
            twin_free(&b, &A);
            twin_free(&b, &B);
            twin_free(&b, &C);
        }
    close_pair(&b);
}
END_TEST

START_TEST(op_rows_and_embedding)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 2);
    int M = 301, N = 67, V = 13, E = 9, n = 517;
    twin b1 = twin_rand(&b, N, -1, 1, &r), b2 = twin_rand(&b, N, -1, 1, &r);
    twin Y = twin_rand(&b, (size_t)M * N, -1, 1, &r);
    b.cpu->fill_rows(b.cpu, Y.c, M, N, b1.c, b2.c);
    b.gpu->fill_rows(b.gpu, Y.g, M, N, b1.g, b2.g);
    EXPECT_CLOSE(&b, Y, 0.0, "fill_rows with two biases");
    b.cpu->fill_rows(b.cpu, Y.c, M, N, b2.c, NULL);
    b.gpu->fill_rows(b.gpu, Y.g, M, N, b2.g, NULL);
    EXPECT_CLOSE(&b, Y, 0.0, "fill_rows with one bias");
    b.cpu->colsum_add(b.cpu, Y.c, M, N, b1.c);
    b.gpu->colsum_add(b.gpu, Y.g, M, N, b1.g);
    EXPECT_CLOSE(&b, b1, TOL_ELEM, "colsum_add");

    uint32_t *ids = malloc(n * sizeof *ids);
    for (int i = 0; i < n; i++)
        ids[i] = (uint32_t)(rng_next(&r) % V);
    uint32_t *ic = b.cpu->alloc(b.cpu, n * sizeof *ids), *ig = b.gpu->alloc(b.gpu, n * sizeof *ids);
    b.cpu->upload(b.cpu, ic, ids, n * sizeof *ids);
    b.gpu->upload(b.gpu, ig, ids, n * sizeof *ids);
    twin table = twin_rand(&b, (size_t)V * E, -1, 1, &r);
    twin out = twin_rand(&b, (size_t)n * E, -1, 1, &r);
    b.cpu->embed_fwd(b.cpu, ic, n, table.c, E, out.c);
    b.gpu->embed_fwd(b.gpu, ig, n, table.g, E, out.g);
    EXPECT_CLOSE(&b, out, 0.0, "embed_fwd");
    b.cpu->embed_bwd(b.cpu, ic, n, out.c, E, table.c);
    b.gpu->embed_bwd(b.gpu, ig, n, out.g, E, table.g);
    EXPECT_CLOSE(&b, table, TOL_ELEM, "embed_bwd");
    b.cpu->free(b.cpu, ic);
    b.gpu->free(b.gpu, ig);
    free(ids);
    twin_free(&b, &b1);
    twin_free(&b, &b2);
    twin_free(&b, &Y);
    twin_free(&b, &table);
    twin_free(&b, &out);
    close_pair(&b);
}
END_TEST

START_TEST(op_cells)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 3);
    int B = 9, H = 61;          /* B*H spans several blocks */
    size_t n = (size_t)B * H;
    /* LSTM */
    twin g = twin_rand(&b, 4 * n, -3, 3, &r), cp = twin_rand(&b, n, -1, 1, &r);
    twin c = twin_rand(&b, n, 0, 0, &r), h = twin_rand(&b, n, 0, 0, &r);
    b.cpu->lstm_fwd(b.cpu, B, H, g.c, cp.c, c.c, h.c);
    b.gpu->lstm_fwd(b.gpu, B, H, g.g, cp.g, c.g, h.g);
    EXPECT_CLOSE(&b, g, TOL_ELEM, "lstm_fwd gates");
    EXPECT_CLOSE(&b, c, TOL_ELEM, "lstm_fwd c");
    EXPECT_CLOSE(&b, h, TOL_ELEM, "lstm_fwd h");
    twin dh = twin_rand(&b, n, -1, 1, &r), dc = twin_rand(&b, n, -1, 1, &r);
    twin dg = twin_rand(&b, 4 * n, 0, 0, &r);
    b.cpu->lstm_bwd(b.cpu, B, H, g.c, cp.c, c.c, dh.c, dc.c, dg.c);
    b.gpu->lstm_bwd(b.gpu, B, H, g.g, cp.g, c.g, dh.g, dc.g, dg.g);
    EXPECT_CLOSE(&b, dg, TOL_ELEM, "lstm_bwd dgates");
    EXPECT_CLOSE(&b, dc, TOL_ELEM, "lstm_bwd dc");
    twin_free(&b, &g);
    twin_free(&b, &dg);
    /* GRU */
    twin gx = twin_rand(&b, 3 * n, -3, 3, &r), gh = twin_rand(&b, 3 * n, -3, 3, &r);
    b.cpu->gru_fwd(b.cpu, B, H, gx.c, gh.c, cp.c, h.c);
    b.gpu->gru_fwd(b.gpu, B, H, gx.g, gh.g, cp.g, h.g);
    EXPECT_CLOSE(&b, gx, TOL_ELEM, "gru_fwd gates");
    EXPECT_CLOSE(&b, h, TOL_ELEM, "gru_fwd h");
    twin dgx = twin_rand(&b, 3 * n, 0, 0, &r), dgh = twin_rand(&b, 3 * n, 0, 0, &r);
    b.cpu->gru_bwd(b.cpu, B, H, gx.c, gh.c, cp.c, dh.c, dc.c, dgx.c, dgh.c);
    b.gpu->gru_bwd(b.gpu, B, H, gx.g, gh.g, cp.g, dh.g, dc.g, dgx.g, dgh.g);
    EXPECT_CLOSE(&b, dgx, TOL_ELEM, "gru_bwd dgx");
    EXPECT_CLOSE(&b, dgh, TOL_ELEM, "gru_bwd dgh");
    EXPECT_CLOSE(&b, dc, TOL_ELEM, "gru_bwd dh_prev");
    /* tanh RNN */
    b.cpu->rnn_fwd(b.cpu, B, H, gx.c, h.c);
    b.gpu->rnn_fwd(b.gpu, B, H, gx.g, h.g);
    EXPECT_CLOSE(&b, h, TOL_ELEM, "rnn_fwd");
    b.cpu->rnn_bwd(b.cpu, B, H, h.c, dh.c, cp.c);
    b.gpu->rnn_bwd(b.gpu, B, H, h.g, dh.g, cp.g);
    EXPECT_CLOSE(&b, cp, TOL_ELEM, "rnn_bwd");
    twin *all[] = {&cp, &c, &h, &dh, &dc, &gx, &gh, &dgx, &dgh};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        twin_free(&b, all[i]);
    close_pair(&b);
}
END_TEST

START_TEST(op_vector)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 4);
    size_t n = 100003;
    twin x = twin_rand(&b, n, -2, 2, &r), y = twin_rand(&b, n, -2, 2, &r);
    twin mask = twin_rand(&b, n, 0, 0, &r);
    b.cpu->add(b.cpu, x.c, y.c, n);
    b.gpu->add(b.gpu, x.g, y.g, n);
    EXPECT_CLOSE(&b, x, 0.0, "add");
    b.cpu->dropout_fwd(b.cpu, x.c, mask.c, n, 0.3f, 0x1234567890ULL, 77);
    b.gpu->dropout_fwd(b.gpu, x.g, mask.g, n, 0.3f, 0x1234567890ULL, 77);
    EXPECT_CLOSE(&b, mask, 0.0, "dropout mask (bit for bit)");
    EXPECT_CLOSE(&b, x, 0.0, "dropout output");
    b.cpu->mul(b.cpu, y.c, mask.c, n);
    b.gpu->mul(b.gpu, y.g, mask.g, n);
    EXPECT_CLOSE(&b, y, 0.0, "mul");
    b.cpu->scale(b.cpu, x.c, n, 0.37f);
    b.gpu->scale(b.gpu, x.g, n, 0.37f);
    EXPECT_CLOSE(&b, x, 0.0, "scale");
    b.cpu->clamp(b.cpu, y.c, n, 0.5f);
    b.gpu->clamp(b.gpu, y.g, n, 0.5f);
    EXPECT_CLOSE(&b, y, 0.0, "clamp");
    double sc = b.cpu->sumsq(b.cpu, y.c, n), sg = b.gpu->sumsq(b.gpu, y.g, n);
    ck_assert_msg(fabs(sc - sg) <= 1e-4 * sc, "sumsq: cpu %.9g cuda %.9g", sc, sg);
    twin_free(&b, &x);
    twin_free(&b, &y);
    twin_free(&b, &mask);
    close_pair(&b);
}
END_TEST

static void xent_case(pair *b, int N, int V, rng_state *r)
{
    twin z = twin_rand(b, (size_t)N * V, -4, 4, r);
    uint32_t *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        y[i] = (uint32_t)(rng_next(r) % V);
    uint32_t *yc = b->cpu->alloc(b->cpu, N * sizeof *y), *yg = b->gpu->alloc(b->gpu, N * sizeof *y);
    b->cpu->upload(b->cpu, yc, y, N * sizeof *y);
    b->gpu->upload(b->gpu, yg, y, N * sizeof *y);
    for (int grad = 0; grad < 2; grad++) {
        long hc = -1, hg = -2;
        double lc = b->cpu->xent(b->cpu, z.c, yc, N, V, 1.0f / N, grad, 0.0f, NULL, &hc);
        double lg = b->gpu->xent(b->gpu, z.g, yg, N, V, 1.0f / N, grad, 0.0f, NULL, &hg);
        ck_assert_msg(fabs(lc - lg) <= TOL_LOGIT * fabs(lc), "xent V=%d: loss cpu %.9g cuda %.9g",
                      V, lc, lg);
        ck_assert_msg(hc == hg, "xent V=%d: argmax hits cpu %ld cuda %ld", V, hc, hg);
        EXPECT_CLOSE(b, z, TOL_ELEM, grad ? "xent gradient" : "xent leaves logits");
    }
    b->cpu->free(b->cpu, yc);
    b->gpu->free(b->gpu, yg);
    free(y);
    twin_free(b, &z);
}

START_TEST(op_xent)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 5);
    xent_case(&b, 333, 11, &r);     /* fewer classes than a warp */
    xent_case(&b, 97, 65, &r);      /* tinyshakespeare's vocabulary */
    xent_case(&b, 41, 1500, &r);    /* several passes per thread */
    close_pair(&b);
}
END_TEST

/* A working backend keeps no failure; a failed call (cuBLAS refusing a
 * leading dimension) is kept as one line for last_error, and sumsq says
 * NaN from then on. */
START_TEST(op_failure_kept)
{
    pair b = open_pair(BE_FP32);
    ck_assert_ptr_null(b.gpu->last_error(b.gpu));
#ifndef CHECK_CUDA_HARNESS_ON_CPU
    float *A = b.gpu->alloc(b.gpu, 16 * sizeof(float));
    ck_assert_ptr_nonnull(A);
    b.gpu->gemm(b.gpu, 0, 0, 4, 4, 4, 1.0f, A, 4, A, 4, 0.0f, A, 1);
    const char *e = b.gpu->last_error(b.gpu);
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strncmp(e, "cuda: gemm: ", 12) == 0 && !strchr(e, '\n'), "%s", e);
    ck_assert(isnan(b.gpu->sumsq(b.gpu, A, 16)));
    b.gpu->free(b.gpu, A);
#endif
    close_pair(&b);
}
END_TEST

/* Runs an optimizer for a few steps on both backends and compares w. */
static void optim_case(const optim_config *cfg, const char *what)
{
    pair b = open_pair(BE_FP32);
    rng_state r;
    rng_seed(&r, 6);
    size_t n = 4099;
    optim oc, og;
    ck_assert_int_eq(optim_init(&oc, b.cpu, cfg, n), 0);
    ck_assert_int_eq(optim_init(&og, b.gpu, cfg, n), 0);
    twin w = twin_rand(&b, n, -1, 1, &r);
    for (int s = 0; s < 5; s++) {
        twin g = twin_rand(&b, n, -0.1f, 0.1f, &r);
        optim_step(&oc, w.c, g.c, cfg->lr);
        optim_step(&og, w.g, g.g, cfg->lr);
        twin_free(&b, &g);
    }
    EXPECT_CLOSE(&b, w, TOL_ELEM, what);
    optim_free(&oc);
    optim_free(&og);
    twin_free(&b, &w);
    close_pair(&b);
}

START_TEST(op_optimizers)
{
    optim_config c = optim_defaults(OPT_SGD);
    optim_case(&c, "sgd");
    c.momentum = 0.9f;
    c.weight_decay = 0.01f;
    optim_case(&c, "sgd momentum");
    c.nesterov = 1;
    optim_case(&c, "sgd nesterov");
    c = optim_defaults(OPT_ADAM);
    c.weight_decay = 0.01f;
    optim_case(&c, "adam");
    c = optim_defaults(OPT_ADAMW);
    optim_case(&c, "adamw");
    c = optim_defaults(OPT_NADAM);
    optim_case(&c, "nadam");
    c = optim_defaults(OPT_RMSPROP);
    optim_case(&c, "rmsprop");
    c.momentum = 0.9f;
    optim_case(&c, "rmsprop momentum");
}
END_TEST

/* ------------------------------------------------------------------ */
/* The model: logits, loss, every gradient */

enum { MV = 23, MT = 9, MB = 5 };

/* model_parity's flags: a tied decoder, the LayerNorm LSTM, the adaptive
 * softmax (cutoffs 5,12, its head's bias; the evaluation's logits are
 * the log-probabilities, through log_softmax and copy_rows) */
enum { TIE = 1, LN = 2, ADA = 4 };

static model *model_on(be_backend *be, model_cell cell, int layers, int E, int H,
                       float drop, int flags)
{
    char err[256];
    model_config cfg = {.cell = cell, .layers = layers, .hidden = H, .embed = E,
                        .vocab = MV, .dropout = drop, .tie = !!(flags & TIE),
                        .forget_bias = 1, .layer_norm = !!(flags & LN),
                        .softmax = flags & ADA ? SOFTMAX_ADAPTIVE : SOFTMAX_FULL,
                        .cutoffs = {2, {5, 12}}, .div_value = 4.0f,
                        .head_bias = !!(flags & ADA)};
    rng_state r;
    rng_seed(&r, 42);           /* the same initial weights on both */
    model *m = model_create(be, &cfg, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

static void set_state(model *m, model_state *st, const float *h0, const float *c0)
{
    size_t n = (size_t)m->cfg.layers * st->B * m->cfg.hidden * sizeof(float);
    m->be->upload(m->be, st->h, h0, n);
    if (st->c)
        m->be->upload(m->be, st->c, c0, n);
}

static void model_parity(model_cell cell, int layers, float drop, int flags)
{
    pair b = open_pair(BE_FP32);
    int E = flags & TIE ? 40 : 17, H = 40;
    model *mc = model_on(b.cpu, cell, layers, E, H, drop, flags);
    model *mg = model_on(b.gpu, cell, layers, E, H, drop, flags);
    model_state sc, sg;
    ck_assert_int_eq(model_state_init(mc, &sc, MB), 0);
    ck_assert_int_eq(model_state_init(mg, &sg, MB), 0);
    rng_state r;
    rng_seed(&r, 7);
    size_t ns = (size_t)layers * MB * H;
    float *h0 = rand_host(ns, -0.5f, 0.5f, &r), *c0 = rand_host(ns, -0.5f, 0.5f, &r);
    uint32_t ids[(MT + 1) * MB];
    for (int i = 0; i < (MT + 1) * MB; i++)
        ids[i] = (uint32_t)(rng_next(&r) % MV);
    char what[96];
    const char *name = model_cell_name(cell);

    /* evaluation forward: logits untouched */
    set_state(mc, &sc, h0, c0);
    set_state(mg, &sg, h0, c0);
    long kc = 0, kg = 0;
    double lc = model_forward(mc, &sc, ids, MT, MB, 0, 0, &kc);
    double lg = model_forward(mg, &sg, ids, MT, MB, 0, 0, &kg);
    size_t nl = (size_t)MT * MB * MV;
    snprintf(what, sizeof what, "%s x%d logits", name, layers);
    double d = dev_diff(&b, mc->logits, mg->logits, nl);
    ck_assert_msg(d <= TOL_LOGIT, "%s: relative difference %g", what, d);
    ck_assert_msg(fabs(lc - lg) <= TOL_LOGIT * fabs(lc), "%s x%d: loss cpu %.9g cuda %.9g",
                  name, layers, lc, lg);
    d = dev_diff(&b, sc.h, sg.h, ns);
    ck_assert_msg(d <= TOL_LOGIT, "%s x%d: final h differs by %g", name, layers, d);

    /* training forward and backward, dropout masks keyed alike */
    set_state(mc, &sc, h0, c0);
    set_state(mg, &sg, h0, c0);
    lc = model_forward(mc, &sc, ids, MT, MB, 1, 99, NULL);
    lg = model_forward(mg, &sg, ids, MT, MB, 1, 99, NULL);
    ck_assert_msg(fabs(lc - lg) <= TOL_LOGIT * fabs(lc),
                  "%s x%d train: loss cpu %.9g cuda %.9g", name, layers, lc, lg);
    model_backward(mc);
    model_backward(mg);
    for (int i = 0; i < mc->n_tensors; i++) {
        const model_tensor *t = &mc->tensors[i];
        snprintf(what, sizeof what, "%s x%d drop=%.1f flags=%d: gradient of %s", name, layers,
                 (double)drop, flags, t->name);
        d = dev_diff(&b, mc->grads + t->offset, mg->grads + t->offset, t->numel);
        ck_assert_msg(d <= TOL_GRAD, "%s: relative difference %g", what, d);
    }
    free(h0);
    free(c0);
    model_state_free(mc, &sc);
    model_state_free(mg, &sg);
    model_free(mc);
    model_free(mg);
    close_pair(&b);
}

START_TEST(parity_rnn_1) { model_parity(CELL_RNN, 1, 0.0f, 0); }
END_TEST
START_TEST(parity_rnn_2) { model_parity(CELL_RNN, 2, 0.0f, 0); }
END_TEST
START_TEST(parity_gru_1) { model_parity(CELL_GRU, 1, 0.0f, 0); }
END_TEST
START_TEST(parity_gru_2) { model_parity(CELL_GRU, 2, 0.0f, 0); }
END_TEST
START_TEST(parity_lstm_1) { model_parity(CELL_LSTM, 1, 0.0f, 0); }
END_TEST
START_TEST(parity_lstm_2) { model_parity(CELL_LSTM, 2, 0.0f, 0); }
END_TEST
START_TEST(parity_dropout)
{
    model_parity(CELL_RNN, 2, 0.3f, 0);
    model_parity(CELL_GRU, 2, 0.3f, 0);
    model_parity(CELL_LSTM, 2, 0.3f, 0);
}
END_TEST
START_TEST(parity_tied) { model_parity(CELL_LSTM, 2, 0.2f, TIE); }
END_TEST
START_TEST(parity_adaptive)
{
    model_parity(CELL_LSTM, 2, 0.0f, ADA);
    model_parity(CELL_GRU, 1, 0.3f, ADA);
}
END_TEST
START_TEST(parity_lnlstm)
{
    model_parity(CELL_LSTM, 1, 0.0f, LN);
    model_parity(CELL_LSTM, 2, 0.2f, LN | TIE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Training runs */

static trainer *make_trainer(be_backend *be, model_cell cell)
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
    cfg.model.layers = 2;
    cfg.model.hidden = 64;
    cfg.model.embed = 16;
    cfg.model.dropout = 0.1f;
    cfg.seq_len = 32;
    cfg.batch = 8;
    cfg.optim.lr = 1e-2f;
    cfg.seed = 11;
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

/* 50 steps on each device from the same start: every step's loss within
 * 0.02 nats of the CPU's, the mean difference below 0.005, and the
 * validation losses within 0.02 (the runs drift apart slowly as rounding
 * differences feed through Adam). */
static void training_tracks(be_precision p, double step_tol, double mean_tol)
{
    char err[256];
    model_cell cells[] = {CELL_RNN, CELL_GRU, CELL_LSTM};
    for (int k = 0; k < 3; k++) {
        pair b = open_pair(p);
        trainer *tc = make_trainer(b.cpu, cells[k]), *tg = make_trainer(b.gpu, cells[k]);
        double sum = 0.0, worst = 0.0;
        float first = 0, last = 0;
        for (int s = 0; s < 50; s++) {
            train_info ic, ig;
            ck_assert_msg(trainer_step(tc, &ic, err, sizeof err) == 0, "%s", err);
            ck_assert_msg(trainer_step(tg, &ig, err, sizeof err) == 0, "%s", err);
            double d = fabs((double)ic.loss - (double)ig.loss);
            ck_assert_msg(d <= step_tol, "%s %s step %d: loss cpu %.6f cuda %.6f",
                          model_cell_name(cells[k]), be_precision_name(p), s + 1,
                          (double)ic.loss, (double)ig.loss);
            sum += d;
            if (d > worst)
                worst = d;
            if (s == 0)
                first = ig.loss;
            last = ig.loss;
        }
        ck_assert_msg(sum / 50 <= mean_tol, "%s %s: mean loss difference %g",
                      model_cell_name(cells[k]), be_precision_name(p), sum / 50);
        ck_assert_msg(last < first - 0.5f, "%s %s: loss %f -> %f did not fall",
                      model_cell_name(cells[k]), be_precision_name(p), (double)first,
                      (double)last);
        eval_result vc, vg;
        ck_assert_int_eq(trainer_eval(tc, SPLIT_VAL, 4, &vc, err, sizeof err), 0);
        ck_assert_int_eq(trainer_eval(tg, SPLIT_VAL, 4, &vg, err, sizeof err), 0);
        ck_assert_msg(fabs(vc.loss - vg.loss) <= step_tol, "%s %s: val loss cpu %f cuda %f",
                      model_cell_name(cells[k]), be_precision_name(p), vc.loss, vg.loss);
        ck_assert_int_eq(vc.tokens, vg.tokens);
        trainer_free(tc);
        trainer_free(tg);
        close_pair(&b);
    }
}

START_TEST(train_fp32) { training_tracks(BE_FP32, 0.02, 0.005); }
END_TEST
/* reduced precision: the same course, looser */
START_TEST(train_tf32) { training_tracks(BE_TF32, 0.1, 0.03); }
END_TEST
START_TEST(train_bf16) { training_tracks(BE_BF16, 0.2, 0.06); }
END_TEST

/* Downloads a whole trainer state: weights and optimizer moments. */
static float *snapshot(trainer *t, size_t *n)
{
    const char *names[4];
    float *bufs[4];
    int k = optim_state(&t->opt, names, bufs, 4);
    size_t np = t->m->n_params;
    float *h = malloc((size_t)(k + 1) * np * sizeof(float));
    t->be->download(t->be, h, t->m->params, np * sizeof(float));
    for (int i = 0; i < k; i++)
        t->be->download(t->be, h + (size_t)(i + 1) * np, bufs[i], np * sizeof(float));
    *n = (size_t)(k + 1) * np;
    return h;
}

/* A session saved from one device opens on the other with the same
 * weights, moments and step, and keeps training there. */
START_TEST(session_moves)
{
    char err[256], dir[64];
    pair b = open_pair(BE_FP32);
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "check_cuda"));
    char path[96];
    snprintf(path, sizeof path, "%s/s", dir);
    be_backend *from[2] = {b.gpu, b.cpu}, *to[2] = {b.cpu, b.gpu};
    for (int k = 0; k < 2; k++) {
        trainer *t = make_trainer(from[k], CELL_LSTM);
        train_info inf;
        for (int s = 0; s < 3; s++)
            ck_assert_msg(trainer_step(t, &inf, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(session_save(t, NULL, path, err, sizeof err) == 0, "%s", err);
        trainer *u = session_load(to[k], path, SESSION_NO_CORPUS, NULL, err, sizeof err);
        ck_assert_msg(u != NULL, "%s", err);
        size_t n1, n2;
        float *a = snapshot(t, &n1), *c = snapshot(u, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(a, c, n1 * sizeof(float)) == 0, "%s -> %s: state differs",
                      from[k]->name, to[k]->name);
        ck_assert_int_eq(u->step, t->step);
        ck_assert_int_eq(u->opt.t, t->opt.t);
        free(a);
        free(c);
        trainer_free(u);
        trainer_free(t);
    }
    ck_assert_int_eq(fx_remove_tree(dir), 0);
    close_pair(&b);
}
END_TEST

/* trainer_move: CPU -> GPU -> CPU in the middle of a run keeps the exact
 * weights and moments, and training goes on tracking the CPU's. */
START_TEST(trainer_moves)
{
    char err[256];
    pair b = open_pair(BE_FP32);
    trainer *ref = make_trainer(b.cpu, CELL_GRU), *t = make_trainer(b.cpu, CELL_GRU);
    train_info ir, it;
    for (int s = 0; s < 5; s++) {
        ck_assert_msg(trainer_step(ref, &ir, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(trainer_step(t, &it, err, sizeof err) == 0, "%s", err);
    }
    size_t n1, n2;
    float *before = snapshot(t, &n1);
    ck_assert_msg(trainer_move(t, b.gpu, err, sizeof err) == 0, "%s", err);
    float *after = snapshot(t, &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_msg(memcmp(before, after, n1 * sizeof(float)) == 0, "state changed on the move");
    for (int s = 0; s < 5; s++) {
        ck_assert_msg(trainer_step(ref, &ir, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(trainer_step(t, &it, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(fabs((double)ir.loss - (double)it.loss) <= 0.02,
                      "after the move, step %ld: cpu %f cuda %f", ir.step, (double)ir.loss,
                      (double)it.loss);
    }
    ck_assert_msg(trainer_move(t, b.cpu, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(trainer_step(t, &it, err, sizeof err) == 0, "%s", err);
    free(before);
    free(after);
    trainer_free(ref);
    trainer_free(t);
    close_pair(&b);
}
END_TEST

static Suite *cuda_suite(void)
{
    Suite *s = suite_create("cuda");
    TCase *ops = tcase_create("operations");
    tcase_add_test(ops, op_gemm);
    tcase_add_test(ops, op_rows_and_embedding);
    tcase_add_test(ops, op_cells);
    tcase_add_test(ops, op_vector);
    tcase_add_test(ops, op_xent);
    tcase_add_test(ops, op_optimizers);
    tcase_add_test(ops, op_failure_kept);
    suite_add_tcase(s, ops);
    TCase *par = tcase_create("model parity");
    tcase_add_test(par, parity_rnn_1);
    tcase_add_test(par, parity_rnn_2);
    tcase_add_test(par, parity_gru_1);
    tcase_add_test(par, parity_gru_2);
    tcase_add_test(par, parity_lstm_1);
    tcase_add_test(par, parity_lstm_2);
    tcase_add_test(par, parity_dropout);
    tcase_add_test(par, parity_tied);
    tcase_add_test(par, parity_adaptive);
    tcase_add_test(par, parity_lnlstm);
    suite_add_tcase(s, par);
    TCase *tr = tcase_create("training");
    tcase_add_test(tr, train_fp32);
    tcase_add_test(tr, train_tf32);
    tcase_add_test(tr, train_bf16);
    tcase_add_test(tr, session_moves);
    tcase_add_test(tr, trainer_moves);
    suite_add_tcase(s, tr);
    return s;
}

int main(void)
{
    char msg[256], err[256];
#ifdef CHECK_CUDA_HARNESS_ON_CPU
    (void)msg;
    (void)err;
    return fx_run_suite(cuda_suite());
#endif
    if (be_cuda_available(msg, sizeof msg) == 0) {
        printf("no CUDA device: %s\n", msg);
        return 77;
    }
    /* a device that answers but cannot run this build is a failure */
    be_backend *be = be_open("cuda", BE_FP32, NULL, err, sizeof err);
    if (!be) {
        printf("CUDA device %s does not work: %s\n", msg, err);
        return 1;
    }
    printf("CUDA device 0: %s\n", msg);
    be->destroy(be);
    /* CUDA does not survive fork() once initialised, as it is above */
    return fx_run_suite_nofork(cuda_suite());
}
