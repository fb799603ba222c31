/* check_model.c - finite-difference gradient checks of the forward and
 * backward pass for every cell type with 1 and 2 layers, tied and untied,
 * with and without dropout (masks depend only on the key, so the loss is a
 * deterministic function of the parameters either way), the
 * LayerNorm LSTM with its normalisations' parameters, the AWD-LSTM
 * regularisers (locked dropout, embedding dropout, weight drop, AR/TAR),
 * dropout's rate per place (input, between layers, output): the share
 * each place's masks drop, determinism, unset places as dropout; and the
 * adaptive softmax. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "backend/backend.h"
#include "backend/cpu/cpu_level.h"
#include "model/model.h"
#include "util/rng.h"

enum { V = 7, T = 4, B = 3 };
/* setup's flags: a tied decoder, the LayerNorm LSTM, locked dropout,
 * embedding dropout 0.4, weight drop 0.5, AR 2 and TAR 1, rates of
 * their own at the input (0.2) and output (0.6), between layers the
 * dropout given, the adaptive softmax with cutoffs 3,5 (clusters of 2
 * tokens each; div-value 2: with H = 6 projections of 3 and 1 units), and
 * with its head's bias */
enum { TIE = 1, LN = 2, LOCK = 4, EDROP = 8, WDROP = 16, ARTAR = 32, PLACES = 64,
       ADA = 128, ADA_BIAS = 256 };
#define AWD (LOCK | EDROP | WDROP | ARTAR)

typedef struct fixture {
    be_backend *be;
    model *m;
    model_state st;
    float *h0, *c0;     /* initial state, restored before every forward */
    uint32_t ids[(T + 1) * B];
} fixture;

static void setup(fixture *f, model_cell cell, int layers, int E, int H, float drop,
                  int flags)
{
    char err[256];
    model_config cfg = {.cell = cell, .layers = layers, .hidden = H, .embed = E,
                        .vocab = V, .dropout = drop, .tie = !!(flags & TIE),
                        .forget_bias = 1, .layer_norm = !!(flags & LN),
                        .locked = !!(flags & LOCK),
                        .dropout_embed = flags & EDROP ? 0.4f : 0.0f,
                        .weight_drop = flags & WDROP ? 0.5f : 0.0f,
                        .softmax = flags & ADA ? SOFTMAX_ADAPTIVE : SOFTMAX_FULL,
                        .cutoffs = {2, {3, 5}}, .div_value = 2.0f,
                        .head_bias = !!(flags & ADA_BIAS)};
    if (flags & PLACES) {
        cfg.drop[MODEL_DROP_INPUT] = (model_rate){0.2f, 1};
        cfg.drop[MODEL_DROP_OUTPUT] = (model_rate){0.6f, 1};
    }
    rng_state r;
    rng_seed(&r, 42);
    f->be = be_cpu_create();
    f->m = model_create(f->be, &cfg, &r, err, sizeof err);
    ck_assert_msg(f->m != NULL, "%s", err);
    if (flags & ARTAR) {
        f->m->ar = 2.0f;
        f->m->tar = 1.0f;
    }
    ck_assert_int_eq(model_state_init(f->m, &f->st, B), 0);
    size_t n = (size_t)layers * B * H;
    f->h0 = malloc(n * sizeof(float));
    f->c0 = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        f->h0[i] = 0.5f * (2.0f * rng_uniform(&r) - 1.0f);
        f->c0[i] = 0.5f * (2.0f * rng_uniform(&r) - 1.0f);
    }
    /* make the biases non-trivial too */
    for (size_t i = 0; i < f->m->n_params; i++)
        f->m->params[i] += 0.05f * (2.0f * rng_uniform(&r) - 1.0f);
    for (int i = 0; i < (T + 1) * B; i++)
        f->ids[i] = (uint32_t)(rng_next(&r) % V);
}

static void teardown(fixture *f)
{
    model_state_free(f->m, &f->st);
    model_free(f->m);
    f->be->destroy(f->be);
    free(f->h0);
    free(f->c0);
}

/* The mean loss trained on: the cross-entropy, or with the model's label
 * smoothing the smoothed loss, plus AR and TAR. */
static double loss_at(fixture *f, int train)
{
    size_t n = (size_t)f->m->cfg.layers * B * f->m->cfg.hidden * sizeof(float);
    memcpy(f->st.h, f->h0, n);
    if (f->st.c)
        memcpy(f->st.c, f->c0, n);
    double ce = model_forward(f->m, &f->st, f->ids, T, B, train, 99, NULL) / (T * B);
    if (!train)
        return ce;
    double obj = f->m->label_smoothing > 0 ? f->m->last_smoothed / (T * B) : ce;
    return obj + f->m->last_penalty / (T * B);
}

/* The relative error of the analytic gradient g of parameter i against a
 * central difference with step eps. */
static double fd_error(fixture *f, size_t i, float eps, float g)
{
    float *p = f->m->params, keep = p[i];
    p[i] = keep + eps;
    double lp = loss_at(f, 1);
    p[i] = keep - eps;
    double lm = loss_at(f, 1);
    p[i] = keep;
    double fd = (lp - lm) / (2.0 * eps);
    return fabs(fd - g) / (fabs(fd) + fabs(g) + 1e-3);
}

/* Compares the analytic gradient of every parameter with a central
 * difference in double-checked float arithmetic. */
static void gradcheck_smooth(model_cell cell, int layers, int E, int H, float drop,
                             int flags, float smoothing)
{
    fixture f;
    setup(&f, cell, layers, E, H, drop, flags);
    model *m = f.m;
    m->label_smoothing = smoothing;
    loss_at(&f, 1);
    model_backward(m);
    float *g = malloc(m->n_params * sizeof(float));
    memcpy(g, m->grads, m->n_params * sizeof(float));
    double worst = 0.0;
    size_t worst_i = 0;
    for (size_t i = 0; i < m->n_params; i++) {
        double diff = fd_error(&f, i, 1e-2f, g[i]);
        /* a step of 1e-2 can straddle a sharp bend (a normalisation over
         * a few units); then the smaller step, whose rounding is worse,
         * must agree */
        if (diff >= 1e-2)
            diff = fd_error(&f, i, 1e-3f, g[i]);
        if (diff > worst) {
            worst = diff;
            worst_i = i;
        }
    }
    ck_assert_msg(worst < 1e-2, "%s x%d flags=%d drop=%.1f: param %zu analytic %g, "
                  "relative error %g", model_cell_name(cell), layers, flags, drop, worst_i,
                  (double)g[worst_i], worst);
    free(g);
    teardown(&f);
}

static void gradcheck(model_cell cell, int layers, int E, int H, float drop, int flags)
{
    gradcheck_smooth(cell, layers, E, H, drop, flags, 0.0f);
}

/* The label-smoothed loss is PyTorch's CrossEntropyLoss(label_smoothing=e):
 * -(1-e) log p_y - (e/V) sum_k log p_k, worked out here in double. */
static double smoothed_ref(const float *z, int n, uint32_t y, float e)
{
    double mx = z[0], s = 0.0, logsum = 0.0;
    for (int k = 1; k < n; k++)
        mx = z[k] > mx ? z[k] : mx;
    for (int k = 0; k < n; k++)
        s += exp(z[k] - mx);
    double lse = mx + log(s);
    for (int k = 0; k < n; k++)
        logsum += z[k] - lse;
    return -(1.0 - e) * (z[y] - lse) - e / n * logsum;
}

START_TEST(label_smoothing_is_pytorchs)
{
    enum { N = 4, K = 7 };
    float z[N * K], g[N * K];
    uint32_t y[N] = {0, 3, 6, 2};
    rng_state r;
    be_backend *be = be_cpu_create();
    rng_seed(&r, 5);
    for (int i = 0; i < N * K; i++)
        z[i] = 3.0f * (2.0f * rng_uniform(&r) - 1.0f);
    memcpy(g, z, sizeof z);
    double smoothed, ref = 0.0, plain;
    plain = be->xent(be, g, y, N, K, 1.0f / N, 1, 0.2f, &smoothed, NULL);
    for (int i = 0; i < N; i++)
        ref += smoothed_ref(z + i * K, K, y[i], 0.2f);
    ck_assert_msg(fabs(smoothed - ref) < 1e-5 * fabs(ref), "%g vs %g", smoothed, ref);
    ck_assert_msg(fabs(plain - ref) > 1e-3, "the return value stays plain");
    /* the gradient is (softmax - target) / N with target 0.8 + 0.2/K at y */
    for (int i = 0; i < N; i++) {
        double mx = -1e30, s = 0.0;
        for (int k = 0; k < K; k++)
            mx = fmax(mx, z[i * K + k]);
        for (int k = 0; k < K; k++)
            s += exp(z[i * K + k] - mx);
        for (int k = 0; k < K; k++) {
            double q = 0.2 / K + (k == (int)y[i] ? 0.8 : 0.0);
            double want = (exp(z[i * K + k] - mx) / s - q) / N;
            ck_assert_msg(fabs(g[i * K + k] - want) < 1e-6, "row %d token %d", i, k);
        }
    }
    be->destroy(be);
}
END_TEST

START_TEST(grad_lstm_smoothed) { gradcheck_smooth(CELL_LSTM, 1, 5, 6, 0.0f, 0, 0.1f); }
END_TEST

/* A forward whose logits do not fit in logits_max goes in row blocks (here
 * blocks of B rows: the smallest allowed): the loss, the hits, the smoothed
 * loss and every gradient are those of the forward in one block, up to the
 * order of the float sums. */
static void blocks_match(model_cell cell, int layers, int E, float drop, int flags)
{
    fixture one, blocks;
    setup(&one, cell, layers, E, 6, drop, flags);
    setup(&blocks, cell, layers, E, 6, drop, flags);
    blocks.m->logits_max = (size_t)V;           /* rows: max(1, B) = B */
    for (int train = 0; train <= 1; train++) {
        model *m[2] = {one.m, blocks.m};
        fixture *f[2] = {&one, &blocks};
        double loss[2], smoothed[2];
        long hits[2];
        for (int k = 0; k < 2; k++) {
            size_t n = (size_t)layers * B * 6 * sizeof(float);
            memcpy(f[k]->st.h, f[k]->h0, n);
            if (f[k]->st.c)
                memcpy(f[k]->st.c, f[k]->c0, n);
            m[k]->label_smoothing = 0.1f;
            hits[k] = 0;
            loss[k] = model_forward(m[k], &f[k]->st, f[k]->ids, T, B, train, 99, &hits[k]);
            smoothed[k] = m[k]->last_smoothed;
            if (train)
                model_backward(m[k]);
        }
        ck_assert_msg(fabs(loss[0] - loss[1]) <= 1e-5 * fabs(loss[0]),
                      "train=%d: loss %.9g in one block, %.9g in blocks", train, loss[0],
                      loss[1]);
        ck_assert_int_eq(hits[0], hits[1]);
        if (train) {
            ck_assert_msg(fabs(smoothed[0] - smoothed[1]) <= 1e-5 * fabs(smoothed[0]),
                          "smoothed %.9g vs %.9g", smoothed[0], smoothed[1]);
            for (size_t i = 0; i < one.m->n_params; i++)
                ck_assert_msg(fabsf(one.m->grads[i] - blocks.m->grads[i]) <= 1e-6f +
                              1e-5f * fabsf(one.m->grads[i]),
                              "%s: gradient %zu: %g in one block, %g in blocks",
                              model_cell_name(cell), i, (double)one.m->grads[i],
                              (double)blocks.m->grads[i]);
        }
    }
    teardown(&one);
    teardown(&blocks);
}

START_TEST(logit_blocks_lstm) { blocks_match(CELL_LSTM, 2, 5, 0.0f, 0); }
END_TEST
START_TEST(logit_blocks_gru_dropout_tied) { blocks_match(CELL_GRU, 1, 6, 0.3f, 1); }
END_TEST
START_TEST(logit_blocks_adaptive) { blocks_match(CELL_LSTM, 2, 5, 0.3f, ADA | ADA_BIAS); }
END_TEST

START_TEST(grad_rnn_1) { gradcheck(CELL_RNN, 1, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_rnn_2) { gradcheck(CELL_RNN, 2, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_gru_1) { gradcheck(CELL_GRU, 1, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_gru_2) { gradcheck(CELL_GRU, 2, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_lstm_1) { gradcheck(CELL_LSTM, 1, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_lstm_2) { gradcheck(CELL_LSTM, 2, 5, 6, 0.0f, 0); }
END_TEST
START_TEST(grad_lstm_tied) { gradcheck(CELL_LSTM, 2, 6, 6, 0.0f, 1); }
END_TEST
START_TEST(grad_lnlstm_1) { gradcheck(CELL_LSTM, 1, 5, 6, 0.0f, LN); }
END_TEST
START_TEST(grad_lnlstm_2) { gradcheck(CELL_LSTM, 2, 5, 6, 0.0f, LN); }
END_TEST
START_TEST(grad_lnlstm_dropout_tied) { gradcheck(CELL_LSTM, 2, 6, 6, 0.3f, LN | TIE); }
END_TEST
START_TEST(grad_gru_dropout) { gradcheck(CELL_GRU, 2, 5, 6, 0.3f, 0); }
END_TEST
START_TEST(grad_lstm_dropout) { gradcheck(CELL_LSTM, 2, 5, 6, 0.3f, 0); }
END_TEST

START_TEST(grad_lstm_locked) { gradcheck(CELL_LSTM, 2, 5, 6, 0.3f, LOCK); }
END_TEST
START_TEST(grad_lstm_places) { gradcheck(CELL_LSTM, 3, 5, 6, 0.3f, PLACES); }
END_TEST
START_TEST(grad_gru_places_locked) { gradcheck(CELL_GRU, 2, 5, 6, 0.3f, PLACES | LOCK); }
END_TEST
START_TEST(grad_lstm_embed_drop) { gradcheck(CELL_LSTM, 2, 5, 6, 0.0f, EDROP); }
END_TEST
START_TEST(grad_lstm_weight_drop) { gradcheck(CELL_LSTM, 2, 5, 6, 0.0f, WDROP); }
END_TEST
START_TEST(grad_gru_weight_drop) { gradcheck(CELL_GRU, 1, 5, 6, 0.0f, WDROP); }
END_TEST
START_TEST(grad_lnlstm_weight_drop) { gradcheck(CELL_LSTM, 1, 5, 6, 0.0f, LN | WDROP); }
END_TEST
START_TEST(grad_lstm_ar_tar) { gradcheck(CELL_LSTM, 2, 5, 6, 0.3f, ARTAR); }
END_TEST
START_TEST(grad_rnn_awd_tied) { gradcheck(CELL_RNN, 2, 6, 6, 0.3f, AWD | TIE); }
END_TEST
START_TEST(grad_adaptive) { gradcheck(CELL_LSTM, 2, 5, 6, 0.0f, ADA); }
END_TEST
START_TEST(grad_adaptive_bias_dropout) { gradcheck(CELL_GRU, 1, 5, 6, 0.3f, ADA | ADA_BIAS); }
END_TEST

/* The fixture's targets reach both clusters: every tail's weights get a
 * gradient (so the checks above test them), and the hits are not counted
 * in training. */
START_TEST(adaptive_tails_trained)
{
    fixture f;
    setup(&f, CELL_LSTM, 1, 5, 6, 0.0f, ADA);
    model *m = f.m;
    long hits = 0;
    model_forward(m, &f.st, f.ids, T, B, 1, 99, &hits);
    model_backward(m);
    ck_assert_int_eq(hits, -1);
    static const char *const names[] = {"decoder.head.weight", "decoder.tail.0.0.weight",
                                        "decoder.tail.0.1.weight", "decoder.tail.1.0.weight",
                                        "decoder.tail.1.1.weight"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        const model_tensor *t = model_find_tensor(m, names[k]);
        ck_assert_msg(t != NULL, "%s missing", names[k]);
        size_t nonzero = 0;
        for (size_t i = 0; i < t->numel; i++)
            nonzero += m->grads[t->offset + i] != 0.0f;
        ck_assert_msg(nonzero > 0, "%s has no gradient", names[k]);
    }
    teardown(&f);
}
END_TEST

/* The adaptive softmax's evaluation (the log-probabilities of every
 * token, then their cross-entropy) gives the loss its training forward
 * (the head and one tail per target) gives; each row's probabilities sum
 * to 1, and a chunk's rows are what model_step gives. */
START_TEST(adaptive_eval_matches_training)
{
    fixture f;
    setup(&f, CELL_LSTM, 2, 5, 6, 0.0f, ADA | ADA_BIAS);
    double train = loss_at(&f, 1), eval = loss_at(&f, 0);
    ck_assert_msg(fabs(train - eval) < 1e-6, "train %.9g, eval %.9g", train, eval);
    for (int r = 0; r < T * B; r++) {
        double p = 0;
        for (int k = 0; k < V; k++)
            p += exp(f.m->logits[r * V + k]);
        ck_assert_msg(fabs(p - 1.0) < 1e-5, "row %d sums to %.9g", r, p);
    }
    teardown(&f);
}
END_TEST

/* Weight drop: a dropped weight of W_hh gets no gradient, and about half
 * (p = 0.5) are dropped; the other matrices keep all theirs. */
START_TEST(weight_drop_zeroes_dropped)
{
    fixture f;
    setup(&f, CELL_LSTM, 1, 5, 6, 0.0f, WDROP);
    model *m = f.m;
    loss_at(&f, 1);
    model_backward(m);
    size_t n = 4 * 6 * 6, zero = 0, zero_ih = 0;
    for (size_t i = 0; i < n; i++)
        zero += m->g_w_hh[0][i] == 0.0f;
    for (size_t i = 0; i < 4 * 6 * 5; i++)
        zero_ih += m->g_w_ih[0][i] == 0.0f;
    ck_assert_msg(zero > n / 4 && zero < 3 * n / 4, "%zu of %zu dropped", zero, n);
    ck_assert_uint_eq(zero_ih, 0);
    teardown(&f);
}
END_TEST

/* AR and TAR worked out by hand: with no dropout the decoder input is the
 * last layer's output, whose states model_step leaves in st.h step by
 * step; the penalty is ar * mean(h^2) + tar * mean((h_t - h_{t-1})^2)
 * over t = 2..T.  Evaluation leaves it out. */
START_TEST(ar_tar_by_hand)
{
    fixture f;
    setup(&f, CELL_LSTM, 1, 5, 6, 0.0f, 0);
    model *m = f.m;
    enum { H = 6 };
    double base = loss_at(&f, 1), sq = 0, dsq = 0;
    ck_assert(m->last_penalty == 0.0);
    float prev[B * H], logits[B * V];
    memcpy(f.st.h, f.h0, sizeof prev);      /* the chunk's initial state */
    memcpy(f.st.c, f.c0, sizeof prev);
    for (int t = 0; t < T; t++) {
        model_step(m, &f.st, f.ids + t * B, logits);
        for (int i = 0; i < B * H; i++) {
            sq += (double)f.st.h[i] * f.st.h[i];
            if (t > 0)
                dsq += ((double)f.st.h[i] - prev[i]) * ((double)f.st.h[i] - prev[i]);
            prev[i] = f.st.h[i];
        }
    }
    m->ar = 3.0f;
    m->tar = 2.0f;
    double got = loss_at(&f, 1) - base;
    double want = 3.0 * sq / (T * B * H) + 2.0 * dsq / ((T - 1) * B * H);
    ck_assert(want > 1e-3);
    ck_assert_double_eq_tol(got, want, 1e-6);
    ck_assert_double_eq_tol(loss_at(&f, 0), base, 1e-12);
    teardown(&f);
}
END_TEST

/* Masks big enough for their statistics: LSTM 3 x 32 (sites: the
 * embedding output, two between layers, the decoder input). */
enum { MS_T = 16, MS_B = 32, MS_W = 32, MS_L = 3 };

/* A model of cfg (seed 5 + seed) trained forward once on key over T steps
 * of B streams of random ids from zero states; its loss in *loss. */
static model *forward_model(be_backend *be, const model_config *cfg, unsigned seed, int T,
                            int B, uint64_t key, double *loss)
{
    char err[256];
    rng_state r;
    rng_seed(&r, 5 + seed);
    model *m = model_create(be, cfg, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    model_state st;
    ck_assert_int_eq(model_state_init(m, &st, B), 0);
    model_state_zero(m, &st);
    uint32_t *ids = malloc((size_t)(T + 1) * B * sizeof *ids);
    for (int i = 0; i < (T + 1) * B; i++)
        ids[i] = (uint32_t)(rng_next(&r) % V);
    *loss = model_forward(m, &st, ids, T, B, 1, key, NULL);
    free(ids);
    model_state_free(m, &st);
    return m;
}

/* A model of 3 layers with the given rates, trained forward once on
 * key; its loss in *loss. */
static model *mask_model(be_backend *be, float dropout, const model_rate *drop,
                         int locked, uint64_t key, double *loss)
{
    model_config cfg = {.cell = CELL_LSTM, .layers = MS_L, .hidden = MS_W,
                        .embed = MS_W, .vocab = V, .dropout = dropout,
                        .forget_bias = 1, .locked = locked};
    memcpy(cfg.drop, drop, sizeof cfg.drop);
    return forward_model(be, &cfg, 0, MS_T, MS_B, key, loss);
}

/* The share of a site's mask elements that are 0, after checking that
 * each is 0 or 1/(1-p) and, locked, that every step repeats the first. */
static double drop_share(const model *m, int site, float p, int locked)
{
    const float *mask = model_drop_mask(m, site);
    size_t row = (size_t)MS_B * MS_W, n = (size_t)MS_T * row, zero = 0;
    ck_assert_msg(mask != NULL, "site %d dropped nothing", site);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(mask[i] == 0.0f || mask[i] == 1.0f / (1.0f - p),
                      "site %d: mask %g", site, (double)mask[i]);
        zero += mask[i] == 0.0f;
        if (locked && i >= row)
            ck_assert(mask[i] == mask[i % row]);
    }
    return (double)zero / (double)n;
}

/* Each place drops its own rate's share: the input and output theirs,
 * between layers (unset) dropout's; a place set to 0 drops nothing, an
 * evaluation nowhere.  Plain masks over T*B*W elements (16,384: a
 * standard deviation of the share of at most 0.004), locked over the
 * B*W of one step (1,024: 0.016). */
static void mask_statistics(int locked)
{
    be_backend *be = be_cpu_create();
    model_rate drop[MODEL_DROP_PLACES] = {{0.2f, 1}, {0, 0}, {0.7f, 1}};
    double loss, tol = locked ? 0.08 : 0.02;
    model *m = mask_model(be, 0.5f, drop, locked, 7, &loss);
    const float want[MS_L + 1] = {0.2f, 0.5f, 0.5f, 0.7f};
    for (int site = 0; site <= MS_L; site++) {
        double got = drop_share(m, site, want[site], locked);
        ck_assert_msg(fabs(got - want[site]) < tol, "site %d dropped %.4f, rate %g",
                      site, got, (double)want[site]);
    }
    model_free(m);
    drop[MODEL_DROP_HIDDEN] = (model_rate){0.0f, 1};
    m = mask_model(be, 0.5f, drop, locked, 7, &loss);
    ck_assert_ptr_null(model_drop_mask(m, 1));
    ck_assert_ptr_null(model_drop_mask(m, 2));
    ck_assert_ptr_nonnull(model_drop_mask(m, 0));
    model_state st;
    uint32_t ids[2 * MS_B] = {0};
    ck_assert_int_eq(model_state_init(m, &st, MS_B), 0);
    model_state_zero(m, &st);
    model_forward(m, &st, ids, 1, MS_B, 0, 7, NULL);
    for (int site = 0; site <= MS_L; site++)
        ck_assert_ptr_null(model_drop_mask(m, site));
    model_state_free(m, &st);
    model_free(m);
    be->destroy(be);
}

START_TEST(mask_statistics_plain) { mask_statistics(0); }
END_TEST
START_TEST(mask_statistics_locked) { mask_statistics(1); }
END_TEST

/* The masks are a function of the key alone: the same key gives the same
 * loss to the bit, another key another loss; a place set to dropout's
 * own rate is the place unset (the masks keyed alike), so sessions from
 * before the places had rates train as they did. */
START_TEST(places_deterministic)
{
    be_backend *be = be_cpu_create();
    model_rate unset[MODEL_DROP_PLACES] = {{0, 0}, {0, 0}, {0, 0}};
    model_rate same[MODEL_DROP_PLACES] = {{0.3f, 1}, {0.3f, 1}, {0.3f, 1}};
    double a, b, c, d;
    for (int locked = 0; locked < 2; locked++) {
        model_free(mask_model(be, 0.3f, unset, locked, 11, &a));
        model_free(mask_model(be, 0.3f, unset, locked, 11, &b));
        model_free(mask_model(be, 0.3f, unset, locked, 12, &c));
        model_free(mask_model(be, 0.0f, same, locked, 11, &d));
        ck_assert(a == b);
        ck_assert(a != c);
        ck_assert(a == d);
    }
    be->destroy(be);
}
END_TEST

/* A rate gone to 0 after a forward that dropped (set live): the arena
 * keeps the old masks, but the backward applies none of them, so the
 * gradients are those of a model that never dropped. */
START_TEST(rate_to_zero_drops_nothing)
{
    fixture a, b;
    setup(&a, CELL_LSTM, 2, 5, 6, 0.4f, LOCK);
    setup(&b, CELL_LSTM, 2, 5, 6, 0.0f, 0);
    loss_at(&a, 1);
    a.m->cfg.dropout = 0.0f;
    a.m->cfg.locked = 0;
    double la = loss_at(&a, 1), lb = loss_at(&b, 1);
    model_backward(a.m);
    model_backward(b.m);
    ck_assert(la == lb);
    ck_assert_int_eq(memcmp(a.m->grads, b.m->grads, a.m->n_params * sizeof(float)), 0);
    teardown(&a);
    teardown(&b);
}
END_TEST

/* Evaluation mode ignores dropout: the same loss with and without it. */
START_TEST(eval_no_dropout)
{
    fixture a, b;
    setup(&a, CELL_LSTM, 2, 5, 6, 0.5f, 0);
    setup(&b, CELL_LSTM, 2, 5, 6, 0.0f, 0);
    ck_assert_double_eq_tol(loss_at(&a, 0), loss_at(&b, 0), 1e-6);
    ck_assert(fabs(loss_at(&a, 1) - loss_at(&a, 0)) > 1e-4);
    teardown(&a);
    teardown(&b);
}
END_TEST

/* Streams s0 .. s0+n-1 of the fixture's batch as a share of it: their ids
 * and initial state, trained forward and backward; returns the summed
 * loss and leaves the share's gradients in m->grads. */
static double share_step(fixture *f, int s0, int n)
{
    model *m = f->m;
    int L = m->cfg.layers, H = m->cfg.hidden;
    uint32_t ids[(T + 1) * B];
    model_state st;
    ck_assert_int_eq(model_state_init(m, &st, n), 0);
    for (int r = 0; r <= T; r++)
        for (int b = 0; b < n; b++)
            ids[r * n + b] = f->ids[r * B + s0 + b];
    for (int l = 0; l < L; l++) {
        memcpy(st.h + (size_t)l * n * H, f->h0 + ((size_t)l * B + s0) * H, (size_t)n * H * 4);
        if (st.c)
            memcpy(st.c + (size_t)l * n * H, f->c0 + ((size_t)l * B + s0) * H,
                   (size_t)n * H * 4);
    }
    m->batch_total = B;
    m->batch_first = s0;
    double loss = model_forward(m, &st, ids, T, n, 1, 99, NULL);
    model_backward(m);
    m->batch_total = m->batch_first = 0;
    model_state_free(m, &st);
    return loss;
}

/* A batch cut into shares (as processes of a data-parallel run hold it):
 * the shares' losses and gradients add up to the whole batch's, dropout
 * included (each share draws the masks of its streams in the batch; the
 * embedding's and W_hh's masks are the batch's), with every AWD
 * regulariser on. */
START_TEST(shares_add_up)
{
    fixture f;
    setup(&f, CELL_LSTM, 2, 5, 6, 0.3f, AWD);
    model *m = f.m;
    size_t P = m->n_params;
    double whole = loss_at(&f, 1);
    model_backward(m);
    float *g = malloc(P * sizeof(float)), *sum = calloc(P, sizeof(float));
    memcpy(g, m->grads, P * sizeof(float));
    double parts = 0, whole_pen = m->last_penalty, pen = 0;
    ck_assert(whole_pen > 0);
    int cuts[] = {0, 1, B};                     /* streams {0} and {1, 2} */
    for (int k = 0; k < 2; k++) {
        parts += share_step(&f, cuts[k], cuts[k + 1] - cuts[k]);
        pen += m->last_penalty;
        for (size_t i = 0; i < P; i++)
            sum[i] += m->grads[i];
    }
    ck_assert_double_eq_tol(parts / (T * B), whole - whole_pen / (T * B), 1e-6);
    ck_assert_double_eq_tol(pen, whole_pen, 1e-6);
    double worst = 0;
    for (size_t i = 0; i < P; i++)
        worst = fmax(worst, fabs((double)sum[i] - g[i]));
    ck_assert_msg(worst < 1e-6, "gradients differ by %g", worst);
    free(g);
    free(sum);
    teardown(&f);
}
END_TEST

/* One training forward and backward of a model big enough for the CPU
 * backend to prepare W_hh (16 streams, H = 128, 3 steps, two layers; the
 * loss and every gradient into loss and g) on backend be. */
static void prepared_run(be_backend *be, model_cell cell, int flags, double *loss,
                         float **g, size_t *n)
{
    model_config cfg = {.cell = cell, .layers = 2, .hidden = 128, .embed = 16, .vocab = V,
                        .forget_bias = 1, .layer_norm = !!(flags & LN),
                        .weight_drop = flags & WDROP ? 0.5f : 0.0f};
    model *m = forward_model(be, &cfg, 1, 3, 16, 5, loss);
    model_backward(m);
    *n = m->n_params;
    *g = malloc(*n * sizeof(float));
    memcpy(*g, m->grads, *n * sizeof(float));
    model_free(m);
}

/* W_hh prepared once a chunk for the forward's and the backward's
 * recurrent products gives the bits of the plain products (a backend
 * that does not prepare), on 1 and 3 threads: the loss and every
 * gradient, for each cell, with weight drop (the dropped copy prepared). */
static void prepared_same_bits(model_cell cell, int flags)
{
    be_backend *plain = be_cpu_create(), *one = be_cpu_create(), *three = be_cpu_create();
    ck_assert(plain && one && three);
    plain->prepared_bytes = NULL;
    three->set_threads(three, 3);
    double l0, l1, l3;
    float *g0, *g1, *g3;
    size_t n0, n1, n3;
    prepared_run(plain, cell, flags, &l0, &g0, &n0);
    prepared_run(one, cell, flags, &l1, &g1, &n1);
    prepared_run(three, cell, flags, &l3, &g3, &n3);
    ck_assert(n0 == n1 && n1 == n3);
    ck_assert_msg(l0 == l1, "losses %.9g %.9g", l0, l1);
    ck_assert_msg(memcmp(g0, g1, n0 * sizeof *g0) == 0, "prepared gradients differ");
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        /* our sgemm sums alike however a product is split */
        ck_assert_msg(l1 == l3, "losses %.9g %.9g on 1 and 3 threads", l1, l3);
        ck_assert_msg(memcmp(g1, g3, n0 * sizeof *g0) == 0, "3 threads' gradients differ");
    } else {
        /* OpenBLAS does the products, and its kernels may sum the rows of
         * a thread's part in another order than the whole's: the results
         * are those of the thread count, close but not the same bits */
        ck_assert_msg(fabs(l1 - l3) <= 1e-6 * fabs(l1), "losses %.9g %.9g", l1, l3);
        double worst = 0;
        for (size_t i = 0; i < n0; i++)
            worst = fmax(worst, fabs((double)g1[i] - g3[i]) / (fabs(g1[i]) + 1e-3));
        ck_assert_msg(worst < 1e-4, "3 threads' gradients differ by %g (relative)", worst);
    }
    /* the comparison sees a change in a single gradient */
    g1[n1 / 2] = nextafterf(g1[n1 / 2], INFINITY);
    ck_assert(memcmp(g0, g1, n0 * sizeof *g0) != 0);
    free(g0);
    free(g1);
    free(g3);
    plain->destroy(plain);
    one->destroy(one);
    three->destroy(three);
}

START_TEST(prepared_lstm) { prepared_same_bits(CELL_LSTM, 0); }
END_TEST
START_TEST(prepared_gru_weight_drop) { prepared_same_bits(CELL_GRU, WDROP); }
END_TEST
START_TEST(prepared_lnlstm) { prepared_same_bits(CELL_LSTM, LN); }
END_TEST
START_TEST(prepared_rnn) { prepared_same_bits(CELL_RNN, 0); }
END_TEST

/* model_step over T single steps gives the logits a chunk forward gives. */
static void step_vs_chunk(model_cell cell, int flags)
{
    fixture f;
    setup(&f, cell, 2, 5, 6, 0.0f, flags);
    model *m = f.m;
    model_state one;
    ck_assert_int_eq(model_state_init(m, &one, B), 0);
    loss_at(&f, 0);
    float *chunk = malloc((size_t)T * B * V * sizeof(float));
    memcpy(chunk, m->logits, (size_t)T * B * V * sizeof(float));
    size_t n = (size_t)2 * B * 6 * sizeof(float);
    memcpy(one.h, f.h0, n);
    if (one.c)
        memcpy(one.c, f.c0, n);
    float out[B * V];
    for (int t = 0; t < T; t++) {
        model_step(m, &one, f.ids + t * B, out);
        for (int i = 0; i < B * V; i++)
            ck_assert_float_eq_tol(out[i], chunk[t * B * V + i], 1e-5f);
    }
    free(chunk);
    model_state_free(m, &one);
    teardown(&f);
}

START_TEST(step_matches_chunk) { step_vs_chunk(CELL_GRU, 0); }
END_TEST
START_TEST(step_matches_chunk_ln) { step_vs_chunk(CELL_LSTM, LN); }
END_TEST
START_TEST(step_matches_chunk_adaptive) { step_vs_chunk(CELL_RNN, ADA); }
END_TEST

START_TEST(config_errors)
{
    char err[256];
    model_config ok = {.cell = CELL_LSTM, .layers = 1, .hidden = 4, .embed = 4, .vocab = 3};
    ck_assert_int_eq(model_config_check(&ok, err, sizeof err), 0);
    model_config c = ok;
    c.layers = 0;
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    ck_assert(strstr(err, "layers") != NULL);
    c = ok; c.hidden = 0;
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    c = ok; c.dropout = 1.0f;
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    c = ok; c.drop[MODEL_DROP_HIDDEN] = (model_rate){1.0f, 1};
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    ck_assert(strstr(err, "dropout-hidden") != NULL);
    c = ok; c.drop[MODEL_DROP_OUTPUT] = (model_rate){0.5f, 2};
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    ck_assert(strstr(err, "dropout-output") != NULL);
    c = ok; c.tie = 1; c.embed = 3;
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    ck_assert(strstr(err, "tie") != NULL);
    c = ok; c.cell = CELL_GRU; c.layer_norm = 1;
    ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
    ck_assert(strstr(err, "layer-norm") != NULL);
    model_config ad = ok;
    ad.vocab = 10;
    ad.hidden = 16;
    ad.softmax = SOFTMAX_ADAPTIVE;
    ad.div_value = 4.0f;
    ad.cutoffs = (model_cutoffs){2, {4, 8}};
    ck_assert_int_eq(model_config_check(&ad, err, sizeof err), 0);
    static const struct { model_cutoffs k; float div; int tie; const char *says; } bad[] = {
        {{2, {4, 10}}, 4, 0, "cutoff 10 is not below the vocabulary size 10"},
        {{2, {4, 4}}, 4, 0, "cutoffs must increase"},
        {{2, {0, 4}}, 4, 0, "cutoffs must increase"},
        {{0, {0}}, 4, 0, "needs 1 to 8 cutoffs"},
        {{3, {2, 4, 8}}, 4, 0, "cluster 2's projection would have no units"},
        {{2, {4, 8}}, 0, 0, "div-value"},
        {{2, {4, 8}}, 4, 1, "tie is for the full softmax"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = ad;
        c.cutoffs = bad[i].k;
        c.div_value = bad[i].div;
        c.tie = bad[i].tie;
        c.embed = 16;
        ck_assert_int_eq(model_config_check(&c, err, sizeof err), -1);
        ck_assert_msg(strstr(err, bad[i].says) != NULL, "%zu: %s", i, err);
    }
    ck_assert_int_eq(model_cell_parse("gru"), CELL_GRU);
    ck_assert_int_eq(model_cell_parse("transformer"), -1);
}
END_TEST

/* PyTorch's names and shapes. */
START_TEST(tensor_names)
{
    fixture f;
    setup(&f, CELL_LSTM, 2, 5, 6, 0.0f, 0);
    const model_tensor *t = model_find_tensor(f.m, "rnn.weight_ih_l1");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->shape[0], 24);
    ck_assert_int_eq(t->shape[1], 6);
    ck_assert_ptr_nonnull(model_find_tensor(f.m, "encoder.weight"));
    ck_assert_ptr_nonnull(model_find_tensor(f.m, "decoder.weight"));
    ck_assert_ptr_nonnull(model_find_tensor(f.m, "rnn.bias_hh_l0"));
    ck_assert_ptr_null(model_find_tensor(f.m, "rnn.ln_ih_l0.weight"));
    teardown(&f);
}
END_TEST

/* The adaptive softmax's tensors: PyTorch's names and shapes, no
 * decoder.weight or decoder.bias. */
START_TEST(adaptive_tensor_names)
{
    fixture f;
    setup(&f, CELL_LSTM, 1, 5, 6, 0.0f, ADA | ADA_BIAS);
    static const struct { const char *name; int ndim, rows, cols; } want[] = {
        {"decoder.head.weight", 2, 5, 6}, {"decoder.head.bias", 1, 5, 0},
        {"decoder.tail.0.0.weight", 2, 3, 6}, {"decoder.tail.0.1.weight", 2, 2, 3},
        {"decoder.tail.1.0.weight", 2, 1, 6}, {"decoder.tail.1.1.weight", 2, 2, 1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const model_tensor *t = model_find_tensor(f.m, want[i].name);
        ck_assert_msg(t != NULL, "%s missing", want[i].name);
        ck_assert_int_eq(t->ndim, want[i].ndim);
        ck_assert_int_eq(t->shape[0], want[i].rows);
        if (want[i].ndim == 2)
            ck_assert_int_eq(t->shape[1], want[i].cols);
    }
    ck_assert_ptr_null(model_find_tensor(f.m, "decoder.weight"));
    ck_assert_ptr_null(model_find_tensor(f.m, "decoder.bias"));
    ck_assert_int_eq(f.m->n_tensors, 1 + 4 + 6);
    teardown(&f);
}
END_TEST

/* The LayerNorm LSTM's extra tensors, their shapes and their start: LN
 * weights 1, biases 0 but for the forget gate's 1 in ln_ih's bias. */
START_TEST(ln_tensors)
{
    fixture f;
    char err[256];
    model_config cfg = {.cell = CELL_LSTM, .layers = 2, .hidden = 6, .embed = 5,
                        .vocab = V, .forget_bias = 1, .layer_norm = 1};
    rng_state r;
    rng_seed(&r, 7);
    f.be = be_cpu_create();
    model *m = model_create(f.be, &cfg, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    static const struct { const char *name; int n; float first, forget; } want[] = {
        {"rnn.ln_ih_l1.weight", 24, 1, 1}, {"rnn.ln_ih_l1.bias", 24, 0, 1},
        {"rnn.ln_hh_l0.weight", 24, 1, 1}, {"rnn.ln_hh_l0.bias", 24, 0, 0},
        {"rnn.ln_c_l1.weight", 6, 1, 1}, {"rnn.ln_c_l0.bias", 6, 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const model_tensor *t = model_find_tensor(m, want[i].name);
        ck_assert_msg(t != NULL, "%s missing", want[i].name);
        ck_assert_int_eq(t->ndim, 1);
        ck_assert_int_eq(t->shape[0], want[i].n);
        ck_assert_float_eq(m->params[t->offset], want[i].first);
        if (want[i].n == 24)
            ck_assert_float_eq(m->params[t->offset + 6], want[i].forget);
    }
    ck_assert_int_eq(m->n_tensors, 3 + 10 * 2);
    model_free(m);
    f.be->destroy(f.be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, grad_rnn_1);
    tcase_add_test(tc, label_smoothing_is_pytorchs);
    tcase_add_test(tc, grad_lstm_smoothed);
    tcase_add_test(tc, logit_blocks_lstm);
    tcase_add_test(tc, logit_blocks_gru_dropout_tied);
    tcase_add_test(tc, grad_rnn_2);
    tcase_add_test(tc, grad_gru_1);
    tcase_add_test(tc, grad_gru_2);
    tcase_add_test(tc, grad_lstm_1);
    tcase_add_test(tc, grad_lstm_2);
    tcase_add_test(tc, grad_lstm_tied);
    tcase_add_test(tc, grad_lnlstm_1);
    tcase_add_test(tc, grad_lnlstm_2);
    tcase_add_test(tc, grad_lnlstm_dropout_tied);
    tcase_add_test(tc, grad_gru_dropout);
    tcase_add_test(tc, grad_lstm_dropout);
    tcase_add_test(tc, grad_lstm_locked);
    tcase_add_test(tc, grad_lstm_places);
    tcase_add_test(tc, grad_gru_places_locked);
    tcase_add_test(tc, mask_statistics_plain);
    tcase_add_test(tc, mask_statistics_locked);
    tcase_add_test(tc, places_deterministic);
    tcase_add_test(tc, rate_to_zero_drops_nothing);
    tcase_add_test(tc, grad_lstm_embed_drop);
    tcase_add_test(tc, grad_lstm_weight_drop);
    tcase_add_test(tc, grad_gru_weight_drop);
    tcase_add_test(tc, grad_lnlstm_weight_drop);
    tcase_add_test(tc, grad_lstm_ar_tar);
    tcase_add_test(tc, grad_rnn_awd_tied);
    tcase_add_test(tc, weight_drop_zeroes_dropped);
    tcase_add_test(tc, ar_tar_by_hand);
    tcase_add_test(tc, eval_no_dropout);
    tcase_add_test(tc, step_matches_chunk);
    tcase_add_test(tc, step_matches_chunk_ln);
    tcase_add_test(tc, ln_tensors);
    tcase_add_test(tc, shares_add_up);
    tcase_add_test(tc, config_errors);
    tcase_add_test(tc, tensor_names);
    tcase_add_test(tc, grad_adaptive);
    tcase_add_test(tc, grad_adaptive_bias_dropout);
    tcase_add_test(tc, adaptive_tails_trained);
    tcase_add_test(tc, adaptive_eval_matches_training);
    tcase_add_test(tc, step_matches_chunk_adaptive);
    tcase_add_test(tc, logit_blocks_adaptive);
    tcase_add_test(tc, adaptive_tensor_names);
    tcase_add_test(tc, prepared_lstm);
    tcase_add_test(tc, prepared_gru_weight_drop);
    tcase_add_test(tc, prepared_lnlstm);
    tcase_add_test(tc, prepared_rnn);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
