/* check_cuda_host.c - the CUDA backend's parts that can be checked without a
 * GPU.  The per-element arithmetic of its kernels and its mapping of
 * row-major products onto column-major cuBLAS (cuda_elem.h) are
 * compiled here for the host and put into a copy of the CPU backend's
 * table: the model's logits, loss and every gradient, the optimizers,
 * dropout, clamp and the cross-entropy's split over a block's threads must
 * match the CPU backend.  What this
 * cannot reach (launch shapes, the warp and block reductions themselves,
 * sumsq, cuBLAS) is tests/check_cuda's, on a GPU.  Also: the dropout hash
 * equals rng.c's bit for bit, precision names round-trip, and with no
 * device every entry point fails cleanly with a reason; NCCL's library
 * opens with every function the sums across GPUs use. */
#include <cblas.h>
#include <check.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_elem.h"
#include "backend/cuda/cuda_coll.h"
#include "backend/cuda/cuda_dl.h"
#include "model/model.h"
#include "train/optim.h"
#include "util/rng.h"
#include "train/trainer.h"

/* ------------------------------------------------------------------ */
/* The emulated backend: CPU memory, the CUDA backend's arithmetic */

static void em_gemm(be_backend *be, int ta, int tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C,
                    int ldc)
{
    (void)be;
    cu_gemm_args g = cu_gemm_map(ta, tb, M, N, K, A, lda, B, ldb);
    cblas_sgemm(CblasColMajor, g.trans_first ? CblasTrans : CblasNoTrans,
                g.trans_second ? CblasTrans : CblasNoTrans, g.m, g.n, g.k, alpha, g.first,
                g.ld_first, g.second, g.ld_second, beta, C, ldc);
}

/* As cu_colsum_add: db += (dY read column-major as N x M) times ones. */
static void em_colsum_add(be_backend *be, const float *dY, int M, int N, float *db)
{
    (void)be;
    float *ones = malloc((size_t)M * sizeof(float));
    for (int i = 0; i < M; i++)
        ones[i] = 1.0f;
    cblas_sgemv(CblasColMajor, CblasNoTrans, N, M, 1.0f, dY, N, ones, 1, 1.0f, db, 1);
    free(ones);
}

static void em_fill_rows(be_backend *be, float *Y, int M, int N, const float *b1,
                         const float *b2)
{
    (void)be;
    for (size_t i = 0; i < (size_t)M * N; i++)
        cu_fill_rows_elem(i, Y, N, b1, b2);
}

static void em_embed_fwd(be_backend *be, const uint32_t *ids, int n, const float *table,
                         int E, float *out)
{
    (void)be;
    for (size_t i = 0; i < (size_t)n * E; i++)
        cu_embed_fwd_elem(i, ids, table, E, out);
}

static void em_lstm_fwd(be_backend *be, int B, int H, float *gates, const float *c_prev,
                        float *c, float *h)
{
    (void)be;
    for (size_t k = 0; k < (size_t)B * H; k++)
        cu_lstm_fwd_elem(k, H, gates, c_prev, c, h);
}

static void em_lstm_bwd(be_backend *be, int B, int H, const float *gates,
                        const float *c_prev, const float *c, const float *dh, float *dc,
                        float *dgates)
{
    (void)be;
    for (size_t k = 0; k < (size_t)B * H; k++)
        cu_lstm_bwd_elem(k, H, gates, c_prev, c, dh, dc, dgates);
}

/* k_lnlstm_fwd's phases for each row, the block reductions as loops. */
static float em_sum(const float *x, int n, float m, int squares)
{
    float s = 0.0f;
    for (int k = 0; k < n; k++)
        s += squares ? (x[k] - m) * (x[k] - m) : x[k];
    return squares ? 1.0f / sqrtf(s / (float)n + BE_LN_EPS) : s / (float)n;
}

static void em_lnlstm_fwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                          float *gx, float *gh, float *gates, const float *c_prev, float *c,
                          float *h, float *cn, float *stats)
{
    (void)be;
    int G = 4 * H;
    for (size_t b = 0; b < (size_t)B; b++) {
        float *x = gx + b * G, *y = gh + b * G, *a = gates + b * G, *cb = c + b * H;
        float *s = stats + b * BE_LN_STATS;
        float mx = em_sum(x, G, 0, 0), my = em_sum(y, G, 0, 0);
        s[0] = em_sum(x, G, mx, 1);
        s[1] = em_sum(y, G, my, 1);
        for (int k = 0; k < G; k++)
            cu_lnlstm_norm_elem(k, x, mx, s[0], y, my, s[1], *p, a);
        for (int j = 0; j < H; j++)
            cu_lnlstm_cell_elem(j, H, a, c_prev + b * H, cb);
        float mc = em_sum(cb, H, 0, 0);
        s[2] = em_sum(cb, H, mc, 1);
        for (int j = 0; j < H; j++)
            cu_lnlstm_out_elem(j, cb, mc, s[2], *p, a + 3 * H, cn + b * H, h + b * H);
    }
}

/* The means of u = da * w and u * xn over n features. */
static void em_means(const float *da, const float *w, const float *xn, int n, float *m1,
                     float *m2)
{
    *m1 = *m2 = 0.0f;
    for (int k = 0; k < n; k++) {
        *m1 += da[k] * w[k];
        *m2 += da[k] * w[k] * xn[k];
    }
    *m1 /= (float)n;
    *m2 /= (float)n;
}

static void em_lnlstm_bwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                          const float *gx, const float *gh, const float *gates,
                          const float *c_prev, const float *cn, const float *stats,
                          const float *dh, float *dc, float *dgx, float *dgh, float *da,
                          float *dy)
{
    (void)be;
    int G = 4 * H;
    for (size_t b = 0; b < (size_t)B; b++) {
        const float *xn = gx + b * G, *yn = gh + b * G, *gt = gates + b * G;
        const float *cnb = cn + b * H, *s = stats + b * BE_LN_STATS;
        float *dab = da + b * G, *dyb = dy + b * H, u, m1, m2;
        for (int j = 0; j < H; j++)
            cu_lnlstm_bwd_out_elem(j, cnb, *p, gt + 3 * H, dh + b * H, dyb, dab + 3 * H, &u);
        em_means(dyb, p->c_w, cnb, H, &m1, &m2);
        for (int j = 0; j < H; j++)
            cu_lnlstm_bwd_cell_elem(j, H, gt, c_prev + b * H, cnb, dyb, p->c_w, s[2], m1,
                                    m2, dc + b * H, dab);
        em_means(dab, p->ih_w, xn, G, &m1, &m2);
        for (int k = 0; k < G; k++)
            cu_lnlstm_bwd_norm_elem(k, dab, p->ih_w, xn, s[0], m1, m2, dgx + b * G);
        em_means(dab, p->hh_w, yn, G, &m1, &m2);
        for (int k = 0; k < G; k++)
            cu_lnlstm_bwd_norm_elem(k, dab, p->hh_w, yn, s[1], m1, m2, dgh + b * G);
    }
}

static void em_colsum_mul_add(be_backend *be, const float *dY, const float *X, int M,
                              int N, float *db)
{
    (void)be;
    for (size_t j = 0; j < (size_t)N; j++)
        cu_colsum_mul_elem(j, dY, X, M, N, db);
}

static void em_gru_fwd(be_backend *be, int B, int H, float *gx, const float *gh,
                       const float *h_prev, float *h)
{
    (void)be;
    for (size_t k = 0; k < (size_t)B * H; k++)
        cu_gru_fwd_elem(k, H, gx, gh, h_prev, h);
}

static void em_gru_bwd(be_backend *be, int B, int H, const float *gx, const float *gh,
                       const float *h_prev, const float *dh, float *dh_prev, float *dgx,
                       float *dgh)
{
    (void)be;
    for (size_t k = 0; k < (size_t)B * H; k++)
        cu_gru_bwd_elem(k, H, gx, gh, h_prev, dh, dh_prev, dgx, dgh);
}

static void em_rnn_fwd(be_backend *be, int B, int H, const float *g, float *h)
{
    (void)be;
    for (size_t i = 0; i < (size_t)B * H; i++)
        cu_rnn_fwd_elem(i, g, h);
}

static void em_rnn_bwd(be_backend *be, int B, int H, const float *h, const float *dh,
                       float *dg)
{
    (void)be;
    for (size_t i = 0; i < (size_t)B * H; i++)
        cu_rnn_bwd_elem(i, h, dh, dg);
}

static void em_dropout(be_backend *be, float *x, float *mask, size_t n, float p,
                       uint64_t key, uint64_t first)
{
    (void)be;
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++)
        cu_dropout_elem(i, x, mask, p, keep, key, first);
}

static void em_clamp(be_backend *be, float *x, size_t n, float lim)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        cu_clamp_elem(i, x, lim);
}

static void em_sgd(be_backend *be, float *w, const float *g, float *buf, size_t n,
                   float lr, float momentum, float wd, int nesterov, int first)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        cu_sgd_elem(i, w, g, buf, lr, momentum, wd, nesterov, first);
}

static void em_adam(be_backend *be, float *w, const float *g, float *m, float *v,
                    size_t n, const be_adam_step *s)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        cu_adam_elem(i, w, g, m, v, *s);
}

static void em_rmsprop(be_backend *be, float *w, const float *g, float *v, float *buf,
                       size_t n, float lr, float alpha, float eps, float momentum,
                       float wd)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        cu_rmsprop_elem(i, w, g, v, buf, lr, alpha, eps, momentum, wd);
}

/* xent as k_xent_rows splits a row over a block of nt threads; the block
 * reductions are replaced by merges in thread order, then in reverse. */
static double em_xent_nt(const float *zin, float *z, const uint32_t *targets, int N,
                         int V, float scale, int grad, float e, double *smoothed,
                         long *correct, int nt)
{
    double total = 0.0, sm = 0.0;
    long hits = 0;
    for (int i = 0; i < N; i++) {
        const float *row = zin + (size_t)i * V;
        float mx = -INFINITY, rmx = -INFINITY, s = 0.0f;
        int arg = 0x7fffffff, rarg = 0x7fffffff;
        for (int t = 0; t < nt; t++) {
            float v;
            int idx;
            cu_xent_thread_max(row, V, t, nt, &v, &idx);
            cu_argmax_merge(&mx, &arg, v, idx);
        }
        for (int t = nt - 1; t >= 0; t--) {
            float v;
            int idx;
            cu_xent_thread_max(row, V, t, nt, &v, &idx);
            cu_argmax_merge(&rmx, &rarg, v, idx);
        }
        ck_assert_int_eq(arg, rarg);
        float zsum = 0.0f;
        for (int t = 0; t < nt; t++) {
            s += cu_xent_thread_sum(row, V, t, nt, mx);
            zsum += cu_xent_thread_zsum(row, V, t, nt);
        }
        float lse = mx + logf(s), ce = lse - row[targets[i]];
        total += (double)ce;
        sm += e > 0 ? (double)((1.0f - e) * ce + e * (lse - zsum / (float)V)) : (double)ce;
        hits += arg == (int)targets[i];
        if (grad)
            for (int t = 0; t < nt; t++)
                cu_xent_thread_grad(z + (size_t)i * V, V, t, nt, mx, scale / s,
                                    targets[i], scale, e);
    }
    if (correct)
        *correct = hits;
    if (smoothed)
        *smoothed = sm;
    return total;
}

/* The block size cu_xent picks for V. */
static int xent_threads(int V)
{
    int t = 32;
    while (t < V && t < 512)
        t *= 2;
    return t;
}

static double em_xent(be_backend *be, float *logits, const uint32_t *targets, int N,
                      int V, float scale, int grad, float smoothing, double *smoothed,
                      long *correct)
{
    (void)be;
    size_t n = (size_t)N * V;
    float *copy = malloc((n ? n : 1) * sizeof(float));
    memcpy(copy, logits, n * sizeof(float));
    double r = em_xent_nt(copy, logits, targets, N, V, scale, grad, smoothing, smoothed,
                          correct, xent_threads(V));
    free(copy);
    return r;
}

/* The CPU backend with every operation the CUDA backend computes through
 * cuda_elem.h replaced by that arithmetic. */
static be_backend *emulated_create(void)
{
    be_backend *be = be_cpu_create();
    be->set_threads(be, 1);
    be->gemm = em_gemm;
    /* the CUDA backend prepares no products: every one goes through gemm */
    be->prepared_bytes = NULL;
    be->prepare = NULL;
    be->gemm_prepared = NULL;
    be->gemm_bias = NULL;       /* nor biased ones: fill, then gemm */
    be->colsum_add = em_colsum_add;
    be->fill_rows = em_fill_rows;
    be->embed_fwd = em_embed_fwd;
    be->lstm_fwd = em_lstm_fwd;
    be->lstm_bwd = em_lstm_bwd;
    be->lnlstm_fwd = em_lnlstm_fwd;
    be->lnlstm_bwd = em_lnlstm_bwd;
    be->colsum_mul_add = em_colsum_mul_add;
    be->gru_fwd = em_gru_fwd;
    be->gru_bwd = em_gru_bwd;
    be->rnn_fwd = em_rnn_fwd;
    be->rnn_bwd = em_rnn_bwd;
    be->dropout_fwd = em_dropout;
    be->clamp = em_clamp;
    be->sgd = em_sgd;
    be->adam = em_adam;
    be->rmsprop = em_rmsprop;
    be->xent = em_xent;
    return be;
}

/* Largest |a - b| over the largest |a| (1 when that is 0). */
static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0.0, m = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d))
            d = e;
        if (fabs(a[i]) > m)
            m = fabs(a[i]);
    }
    return d / (m > 0.0 ? m : 1.0);
}

/* ------------------------------------------------------------------ */
/* Model parity through the emulated arithmetic (tolerances as check_cuda) */

enum { MV = 23, MT = 9, MB = 5 };

/* parity's flags: a tied decoder, the LayerNorm LSTM */
enum { TIE = 1, LN = 2 };

static model *model_on(be_backend *be, model_cell cell, int layers, int E, int H,
                       float drop, int flags)
{
    char err[256];
    model_config cfg = {.cell = cell, .layers = layers, .hidden = H, .embed = E,
                        .vocab = MV, .dropout = drop, .tie = !!(flags & TIE),
                        .forget_bias = 1, .layer_norm = !!(flags & LN)};
    rng_state r;
    rng_seed(&r, 42);
    model *m = model_create(be, &cfg, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    return m;
}

static void parity(model_cell cell, int layers, float drop, int flags)
{
    be_backend *cpu = be_cpu_create(), *em = emulated_create();
    cpu->set_threads(cpu, 1);
    int E = flags & TIE ? 40 : 17, H = 40;
    model *mc = model_on(cpu, cell, layers, E, H, drop, flags);
    model *me = model_on(em, cell, layers, E, H, drop, flags);
    model_state sc, se;
    ck_assert_int_eq(model_state_init(mc, &sc, MB), 0);
    ck_assert_int_eq(model_state_init(me, &se, MB), 0);
    rng_state r;
    rng_seed(&r, 7);
    size_t ns = (size_t)layers * MB * H;
    for (size_t i = 0; i < ns; i++) {
        sc.h[i] = se.h[i] = rng_uniform(&r) - 0.5f;
        if (sc.c)
            sc.c[i] = se.c[i] = rng_uniform(&r) - 0.5f;
    }
    uint32_t ids[(MT + 1) * MB];
    for (int i = 0; i < (MT + 1) * MB; i++)
        ids[i] = (uint32_t)(rng_next(&r) % MV);
    const char *name = model_cell_name(cell);
    double lc = model_forward(mc, &sc, ids, MT, MB, 1, 99, NULL);
    double le = model_forward(me, &se, ids, MT, MB, 1, 99, NULL);
    ck_assert_msg(fabs(lc - le) <= 1e-4 * fabs(lc), "%s x%d: loss cpu %.9g emulated %.9g",
                  name, layers, lc, le);
    double d = rel_diff(mc->logits, me->logits, (size_t)MT * MB * MV);
    ck_assert_msg(d <= 1e-4, "%s x%d: dlogits differ by %g", name, layers, d);
    d = rel_diff(sc.h, se.h, ns);
    ck_assert_msg(d <= 1e-4, "%s x%d: final h differs by %g", name, layers, d);
    model_backward(mc);
    model_backward(me);
    for (int i = 0; i < mc->n_tensors; i++) {
        const model_tensor *t = &mc->tensors[i];
        d = rel_diff(mc->grads + t->offset, me->grads + t->offset, t->numel);
        ck_assert_msg(d <= 1e-3, "%s x%d drop=%.1f flags=%d: gradient of %s differs by %g",
                      name, layers, (double)drop, flags, t->name, d);
    }
    model_state_free(mc, &sc);
    model_state_free(me, &se);
    model_free(mc);
    model_free(me);
    cpu->destroy(cpu);
    em->destroy(em);
}

START_TEST(parity_cells)
{
    model_cell cells[] = {CELL_RNN, CELL_GRU, CELL_LSTM};
    for (int k = 0; k < 3; k++)
        for (int layers = 1; layers <= 2; layers++)
            parity(cells[k], layers, 0.0f, 0);
    parity(CELL_LSTM, 1, 0.0f, LN);
    parity(CELL_LSTM, 2, 0.0f, LN);
}
END_TEST

START_TEST(parity_dropout_tied)
{
    parity(CELL_RNN, 2, 0.3f, 0);
    parity(CELL_GRU, 2, 0.3f, 0);
    parity(CELL_LSTM, 2, 0.3f, 0);
    parity(CELL_LSTM, 2, 0.2f, TIE);
    parity(CELL_LSTM, 2, 0.2f, TIE | LN);
}
END_TEST

/* All four transpose cases with leading dimensions wider than the rows. */
START_TEST(gemm_mapping)
{
    be_backend *cpu = be_cpu_create(), *em = emulated_create();
    rng_state r;
    rng_seed(&r, 1);
    int M = 7, N = 5, K = 9, pad = 3;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            int lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
            float A[(9 + 3) * (9 + 3)], Bm[(9 + 3) * (9 + 3)], C1[7 * 8], C2[7 * 8];
            for (size_t i = 0; i < sizeof A / sizeof A[0]; i++) {
                A[i] = rng_uniform(&r) - 0.5f;
                Bm[i] = rng_uniform(&r) - 0.5f;
            }
            for (int i = 0; i < M * ldc; i++)
                C1[i] = C2[i] = rng_uniform(&r);
            cpu->gemm(cpu, ta, tb, M, N, K, 0.7f, A, lda, Bm, ldb, 0.3f, C1, ldc);
            em->gemm(em, ta, tb, M, N, K, 0.7f, A, lda, Bm, ldb, 0.3f, C2, ldc);
            ck_assert_msg(rel_diff(C1, C2, (size_t)M * ldc) <= 1e-6, "gemm ta=%d tb=%d",
                          ta, tb);
        }
    float dY[6 * 4], db1[4] = {1, 2, 3, 4}, db2[4] = {1, 2, 3, 4};
    for (int i = 0; i < 24; i++)
        dY[i] = (float)i;
    cpu->colsum_add(cpu, dY, 6, 4, db1);
    em->colsum_add(em, dY, 6, 4, db2);
    ck_assert(memcmp(db1, db2, sizeof db1) == 0);
    cpu->destroy(cpu);
    em->destroy(em);
}
END_TEST

/* The optimizers (a clip's factor on every other step's gradients),
 * dropout and clamp through the emulated updates. */
START_TEST(optimizers)
{
    be_backend *cpu = be_cpu_create(), *em = emulated_create();
    optim_kind kinds[] = {OPT_SGD, OPT_SGD, OPT_ADAM, OPT_ADAMW, OPT_NADAM, OPT_RMSPROP,
                          OPT_RMSPROP};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        optim_config c = optim_defaults(kinds[k]);
        if (k == 1 || k == 6) {
            c.momentum = 0.9f;
            c.nesterov = k == 1;
        }
        c.weight_decay = k == 3 ? c.weight_decay : 0.01f;
        enum { N = 1001 };
        float w1[N], w2[N], g1[N], g2[N];
        rng_state r;
        rng_seed(&r, 9);
        for (int i = 0; i < N; i++)
            w1[i] = w2[i] = rng_uniform(&r) - 0.5f;
        optim o1, o2;
        ck_assert_int_eq(optim_init(&o1, cpu, &c, N), 0);
        ck_assert_int_eq(optim_init(&o2, em, &c, N), 0);
        for (int s = 0; s < 6; s++) {
            for (int i = 0; i < N; i++)
                g1[i] = g2[i] = 0.2f * (rng_uniform(&r) - 0.5f);
            optim_step_from(&o1, 0, w1, g1, c.lr, s % 2 ? 0.37f : 1.0f);
            optim_step_from(&o2, 0, w2, g2, c.lr, s % 2 ? 0.37f : 1.0f);
        }
        ck_assert_msg(rel_diff(w1, w2, N) <= 1e-6, "%s (case %zu)", optim_name(kinds[k]), k);
        optim_free(&o1);
        optim_free(&o2);
    }
    float x1[64], x2[64], m1[64], m2[64];
    for (int i = 0; i < 64; i++)
        x1[i] = x2[i] = (float)i - 30.0f;
    cpu->dropout_fwd(cpu, x1, m1, 64, 0.4f, 12345, 1000);
    em->dropout_fwd(em, x2, m2, 64, 0.4f, 12345, 1000);
    ck_assert(memcmp(m1, m2, sizeof m1) == 0 && memcmp(x1, x2, sizeof x1) == 0);
    cpu->clamp(cpu, x1, 64, 7.5f);
    em->clamp(em, x2, 64, 7.5f);
    ck_assert(memcmp(x1, x2, sizeof x1) == 0);
    cpu->destroy(cpu);
    em->destroy(em);
}
END_TEST

/* Rows with repeated maxima and several block sizes: the same loss,
 * argmax hits and gradient as the CPU's scan. */
START_TEST(xent_split)
{
    be_backend *cpu = be_cpu_create();
    rng_state r;
    rng_seed(&r, 4);
    int Vs[] = {1, 11, 65, 700};
    int nts[] = {32, 64, 512};
    for (size_t a = 0; a < sizeof Vs / sizeof Vs[0]; a++)
        for (size_t b = 0; b < sizeof nts / sizeof nts[0]; b++) {
            int V = Vs[a], nt = nts[b], N = 40;
            size_t n = (size_t)N * V;
            float *z1 = malloc(n * sizeof(float)), *z2 = malloc(n * sizeof(float));
            float *z0 = malloc(n * sizeof(float));
            uint32_t *y = malloc(N * sizeof *y);
            for (size_t i = 0; i < n; i++)      /* few values: many ties */
                z0[i] = (float)(rng_next(&r) % 5) - 2.0f;
            for (int i = 0; i < N; i++)
                y[i] = (uint32_t)(rng_next(&r) % V);
            /* plain, and with label smoothing: loss, smoothed loss, hits
             * and gradient agree with the CPU backend's */
            for (int k = 0; k < 2; k++) {
                float e = k ? 0.1f : 0.0f;
                double s1 = -1, s2 = -2;
                memcpy(z1, z0, n * sizeof(float));
                memcpy(z2, z0, n * sizeof(float));
                long h1 = -1, h2 = -2;
                double l1 = cpu->xent(cpu, z1, y, N, V, 0.25f, 1, e, &s1, &h1);
                double l2 = em_xent_nt(z0, z2, y, N, V, 0.25f, 1, e, &s2, &h2, nt);
                ck_assert_msg(fabs(l1 - l2) <= 1e-5 * fabs(l1) + 1e-6,
                              "V=%d nt=%d e=%g: loss %g %g", V, nt, e, l1, l2);
                ck_assert_msg(fabs(s1 - s2) <= 1e-5 * fabs(s1) + 1e-5,
                              "V=%d nt=%d e=%g: smoothed %g %g", V, nt, e, s1, s2);
                ck_assert_msg(h1 == h2, "V=%d nt=%d: hits %ld %ld", V, nt, h1, h2);
                ck_assert_msg(rel_diff(z1, z2, n) <= 1e-5, "V=%d nt=%d e=%g: gradient",
                              V, nt, e);
            }
            free(z0);
            free(z1);
            free(z2);
            free(y);
        }
    cpu->destroy(cpu);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Host-side basics */

START_TEST(hash_matches_rng)
{
    rng_state r;
    rng_seed(&r, 3);
    for (int i = 0; i < 200000; i++) {
        /* model.c's site keys are large products; counters run to n */
        uint64_t key = i < 1000 ? (uint64_t)i : rng_next(&r);
        uint64_t ctr = i % 3 == 0 ? (uint64_t)i : rng_next(&r) >> (i % 40);
        float a = rng_hash_uniform(key, ctr), b = cu_hash(key, ctr);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0,
                      "key %llu counter %llu: rng %.9g cuda %.9g",
                      (unsigned long long)key, (unsigned long long)ctr, (double)a,
                      (double)b);
    }
}
END_TEST

START_TEST(precision_names)
{
    for (int p = BE_FP32; p <= BE_BF16; p++)
        ck_assert_int_eq(be_precision_parse(be_precision_name((be_precision)p)), p);
    ck_assert_int_eq(be_precision_parse("fp16"), -1);
    ck_assert_int_eq(be_precision_parse(""), -1);
    ck_assert_int_eq(be_precision_parse("FP32"), -1);
}
END_TEST

/* Without a device: a reason, NULL, no crash.  With one: a name. */
START_TEST(no_device_is_clean)
{
    char msg[256], err[256];
    int n = be_cuda_available(msg, sizeof msg);
    ck_assert_msg(msg[0] != '\0', "be_cuda_available left no message");
    be_backend *be = be_cuda_create(0, BE_FP32, err, sizeof err);
    if (n == 0) {
        ck_assert_ptr_null(be);
        ck_assert_msg(err[0] != '\0', "be_cuda_create left no message");
    }
    if (be) {
        char d[320];
        ck_assert_int_eq(be_cuda_describe(be, d, sizeof d), 0);
        ck_assert_str_eq(be->name, "cuda");
        be->destroy(be);
    }
    ck_assert_ptr_null(be_cuda_create(n, BE_FP32, err, sizeof err));
    ck_assert_ptr_null(be_cuda_create(-1, BE_FP32, err, sizeof err));
}
END_TEST

START_TEST(describe_refuses_cpu)
{
    char d[64] = "x";
    be_backend *be = be_cpu_create();
    ck_assert_int_eq(be_cuda_describe(be, d, sizeof d), -1);
    ck_assert_str_eq(d, "");
    be->destroy(be);
}
END_TEST

/* NCCL's library opens, through the rpath configure gave, and has every
 * function the sums use (the GPU is not touched); a build without it says
 * so in one line. */
START_TEST(nccl_library)
{
    char why[256] = "";
    if (be_cuda_nccl_built()) {
        ck_assert_msg(cu_coll_probe(why, sizeof why) == 0, "%s", why);
    } else {
        ck_assert_int_eq(cu_coll_probe(why, sizeof why), -1);
        ck_assert_str_eq(why, "nccl: open: built without NCCL (configure --with-nccl)");
    }
}
END_TEST

/* A library that is missing, or lacks a function, is one line naming it. */
START_TEST(dl_failures)
{
    static const char *const missing[] = { "librnnlab-missing.so.9" };
    static const char *const libc[] = { "libc.so.6" };
    void *fn = NULL;
    const cu_dl_sym want[] = { { &fn, "rnnlab_no_such_function" } };
    const cu_dl_sym have[] = { { &fn, "strlen" } };
    char err[256] = "";
    ck_assert_ptr_null(cu_dl_open(missing, 1, want, 1, "Thing", err, sizeof err));
    ck_assert_msg(strncmp(err, "cannot open Thing (librnnlab-missing.so.9): ", 44) == 0,
                  "%s", err);
    ck_assert_ptr_null(cu_dl_open(libc, 1, want, 1, "libc", err, sizeof err));
    ck_assert_str_eq(err, "libc lacks rnnlab_no_such_function");
    void *lib = cu_dl_open(libc, 1, have, 1, "libc", err, sizeof err);
    ck_assert_msg(lib != NULL && fn != NULL, "%s", err);
    dlclose(lib);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cuda_host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, hash_matches_rng);
    tcase_add_test(tc, precision_names);
    tcase_add_test(tc, no_device_is_clean);
    tcase_add_test(tc, describe_refuses_cpu);
    tcase_add_test(tc, nccl_library);
    tcase_add_test(tc, dl_failures);
    suite_add_tcase(s, tc);
    TCase *em = tcase_create("emulated arithmetic");
    tcase_add_test(em, gemm_mapping);
    tcase_add_test(em, parity_cells);
    tcase_add_test(em, parity_dropout_tied);
    tcase_add_test(em, optimizers);
    tcase_add_test(em, xent_split);
    suite_add_tcase(s, em);
    return fx_run_suite(s);
}
