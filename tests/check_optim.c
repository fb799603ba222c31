/* check_optim.c - three optimizer steps on a 3-element parameter with
 * fixed gradients, against reference values computed in double precision
 * with PyTorch's torch.optim (same hyper-parameters); the Adam kernel's
 * bits against its scalar formulas, with and without a clip's factor; a
 * clip's factor folded into the step against the gradients scaled first,
 * for every kind.  NAdam follows
 * PyTorch 2.x, whose mu_product_next is prod(mu_1..mu_t) * mu_{t+1}
 * (1.13 counted mu_t twice there); its reference is that formula evaluated
 * in double precision. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "backend/backend.h"
#include "train/optim.h"

static const float grads[3][3] = {{0.1f, -0.2f, 0.3f}, {-0.05f, 0.4f, 0.0f}, {0.1f, -0.2f, 0.3f}};

static void run(optim_kind k, float lr, float momentum, float wd, int nesterov,
                const double want[3])
{
    be_backend *be = be_cpu_create();
    optim_config c = optim_defaults(k);
    c.lr = lr;
    c.momentum = momentum;
    c.weight_decay = wd;
    c.nesterov = nesterov;
    optim o;
    ck_assert_int_eq(optim_init(&o, be, &c, 3), 0);
    float w[3] = {0.5f, -1.0f, 2.0f};
    for (int s = 0; s < 3; s++)
        optim_step(&o, w, grads[s], lr);
    for (int i = 0; i < 3; i++)
        ck_assert_msg(fabs(w[i] - want[i]) < 2e-6, "%s: w[%d] = %.9f, want %.9f",
                      optim_name(k), i, (double)w[i], want[i]);
    ck_assert_int_eq(o.t, 3);
    optim_free(&o);
    be->destroy(be);
}

START_TEST(sgd) { run(OPT_SGD, 0.1f, 0, 0, 0, (double[]){0.485, -1.0, 1.94}); }
END_TEST
START_TEST(sgd_momentum)
{ run(OPT_SGD, 0.1f, 0.9f, 0, 0, (double[]){0.4724, -1.0018, 1.8887}); }
END_TEST
START_TEST(sgd_nesterov_wd)
{ run(OPT_SGD, 0.1f, 0.9f, 0.01f, 1, (double[]){0.456227312, -0.993646324, 1.824068537}); }
END_TEST
START_TEST(adam)
{ run(OPT_ADAM, 0.01f, 0, 0, 0, (double[]){0.481541825, -0.993634943, 1.975119389}); }
END_TEST
START_TEST(adam_wd)
{ run(OPT_ADAM, 0.01f, 0, 0.1f, 0, (double[]){0.475201405, -0.987207932, 1.971589369}); }
END_TEST
START_TEST(adamw)
{ run(OPT_ADAMW, 0.01f, 0, 0.1f, 0, (double[]){0.480065978, -0.990654271, 1.969152077}); }
END_TEST
START_TEST(nadam)
{ run(OPT_NADAM, 0.01f, 0, 0, 0, (double[]){0.485823671, -0.994220019, 1.980354587}); }
END_TEST
START_TEST(rmsprop)
{ run(OPT_RMSPROP, 0.01f, 0, 0, 0, (double[]){0.377900413, -0.948502183, 1.828934939}); }
END_TEST
START_TEST(rmsprop_momentum_wd)
{ run(OPT_RMSPROP, 0.01f, 0.9f, 0.1f, 0, (double[]){0.175442377, -0.810028506, 1.594272990}); }
END_TEST

/* The scalars every backend's Adam update gets: bias corrections from
 * the float betas, worked out in double; NAdam's weights at t = 1 are
 * (1 - mu1) / (1 - mu1) = 1 for the gradient and mu2 / (1 - mu1 mu2). */
START_TEST(adam_scalars)
{
    optim_config c = optim_defaults(OPT_ADAM);
    be_adam_step s = optim_adam_step(&c, 0.01f, 2);
    double bc1 = 1.0 - pow(0.9f, 2), bc2 = 1.0 - pow(0.999f, 2);
    ck_assert(s.step == (float)(0.01f / bc1));
    ck_assert(s.sbc2 == (float)sqrt(bc2));
    ck_assert(s.lr == 0.01f && s.b1 == c.beta1 && s.b2 == c.beta2 && s.eps == c.eps);
    ck_assert(!s.decoupled && !s.nadam);
    c = optim_defaults(OPT_ADAMW);
    s = optim_adam_step(&c, 0.01f, 1);
    ck_assert(s.decoupled && !s.nadam && s.wd == c.weight_decay);
    c = optim_defaults(OPT_NADAM);
    s = optim_adam_step(&c, 0.01f, 1);
    double mu1 = 0.9f * (1.0 - 0.5 * pow(0.96, 0.004));
    double mu2 = 0.9f * (1.0 - 0.5 * pow(0.96, 0.008));
    ck_assert(s.nadam && !s.decoupled);
    ck_assert(s.c1 == 1.0f);
    ck_assert(s.c2 == (float)(mu2 / (1.0 - mu1 * mu2)));
}
END_TEST

/* The CPU backend's Adam (AVX-512 where the CPU has it) gives the bits of
 * the update written as plain float expressions, the order optim.c's
 * formulas and the scalar loop use, on a length with a vector tail, for
 * Adam with L2 decay, AdamW and NAdam, each without and with a clip's
 * factor on g: a vectorised kernel must not change training results. */
START_TEST(adam_bits_match_scalar)
{
    enum { N = 1000 + 13 };
    be_backend *be = be_cpu_create();
    float *w = malloc(N * 4), *g = malloc(N * 4), *m = malloc(N * 4), *v = malloc(N * 4);
    float *rw = malloc(N * 4), *rm = malloc(N * 4), *rv = malloc(N * 4);
    for (int i = 0; i < N; i++) {
        w[i] = rw[i] = sinf(0.37f * (float)i);
        g[i] = 0.01f * cosf(1.3f * (float)i);
        m[i] = rm[i] = 0.001f * (float)(i % 7);
        v[i] = rv[i] = 1e-6f * (float)(i % 5);
    }
    for (int variant = 0; variant < 6; variant++) {
        be_adam_step s = {.lr = 2e-3f, .b1 = 0.9f, .b2 = 0.999f, .eps = 1e-8f, .wd = 0.01f,
                          .decoupled = variant % 3 == 1, .nadam = variant % 3 == 2,
                          .c1 = 0.04f, .c2 = 0.83f, .sbc2 = 0.0447f, .step = 0.0105f,
                          .gscale = variant < 3 ? 1.0f : 0.3712f};
        be->adam(be, w, g, m, v, N, &s);
        for (int i = 0; i < N; i++) {
            float gi = g[i] * s.gscale;
            if (s.decoupled)
                rw[i] *= 1.0f - s.lr * s.wd;
            else
                gi += s.wd * rw[i];
            rm[i] = s.b1 * rm[i] + (1.0f - s.b1) * gi;
            rv[i] = s.b2 * rv[i] + (1.0f - s.b2) * gi * gi;
            float denom = sqrtf(rv[i]) / s.sbc2 + s.eps;
            if (s.nadam)
                rw[i] -= s.lr * (s.c1 * gi + s.c2 * rm[i]) / denom;
            else
                rw[i] -= s.step * rm[i] / denom;
        }
        ck_assert_msg(memcmp(w, rw, N * 4) == 0, "variant %d: weights differ", variant);
        ck_assert_msg(memcmp(m, rm, N * 4) == 0, "variant %d: exp_avg differs", variant);
        ck_assert_msg(memcmp(v, rv, N * 4) == 0, "variant %d: exp_avg_sq differs", variant);
    }
    free(w); free(g); free(m); free(v); free(rw); free(rm); free(rv);
    be->destroy(be);
}
END_TEST

/* Kind k's settings, with momentum and decay where the kind has them. */
static optim_config fold_config(int k)
{
    optim_config c = optim_defaults((optim_kind)k);
    c.momentum = k == OPT_SGD || k == OPT_RMSPROP ? 0.9f : 0.0f;
    c.weight_decay = 0.02f;
    return c;
}

/* Steps of kind k over n elements, the first 3 frozen, with a clip's
 * factor on the gradients of the odd steps: optim_step_from taking the
 * factor gives the bits of the gradients scaled first and a plain step
 * (weights and state), on lengths with and without a vector tail; the
 * Adam kinds leave the gradients as they were, the others scale them. */
static void fold_equals_scaled(int k, size_t n)
{
    be_backend *be = be_cpu_create();
    optim_config c = fold_config(k);
    optim a, b;
    ck_assert_int_eq(optim_init(&a, be, &c, n), 0);
    ck_assert_int_eq(optim_init(&b, be, &c, n), 0);
    float *wa = malloc(n * 4), *wb = malloc(n * 4), *ga = malloc(n * 4), *gb = malloc(n * 4);
    for (size_t i = 0; i < n; i++)
        wa[i] = wb[i] = sinf(0.7f * (float)i);
    int adam = k == OPT_ADAM || k == OPT_ADAMW || k == OPT_NADAM;
    for (int step = 0; step < 4; step++) {
        float gs = step % 2 ? 0.2718f : 1.0f;
        for (size_t i = 0; i < n; i++)
            ga[i] = gb[i] = 0.3f * cosf(1.1f * (float)(i + (size_t)step * 7));
        be->scale(be, gb + 3, n - 3, gs);
        optim_step_from(&a, 3, wa, ga, c.lr, gs);
        optim_step_from(&b, 3, wb, gb, c.lr, 1.0f);
        ck_assert_msg(memcmp(wa, wb, n * 4) == 0, "%s n %zu step %d: weights differ",
                      optim_name((optim_kind)k), n, step);
        for (size_t i = 3; i < n; i++)
            ck_assert(ga[i] == (adam ? 0.3f * cosf(1.1f * (float)(i + (size_t)step * 7))
                                     : gb[i]));
    }
    const char *na[4], *nb[4];
    float *ba[4], *bb[4];
    int ns = optim_state(&a, na, ba, 4);
    ck_assert_int_eq(ns, optim_state(&b, nb, bb, 4));
    for (int s = 0; s < ns; s++)
        ck_assert_msg(memcmp(ba[s], bb[s], n * 4) == 0, "%s n %zu: %s differs",
                      optim_name((optim_kind)k), n, na[s]);
    optim_free(&a);
    optim_free(&b);
    free(wa); free(wb); free(ga); free(gb);
    be->destroy(be);
}

START_TEST(clip_folded_equals_scaled)
{
    static const size_t lengths[] = { 1013, 16 * 8 + 3, 19, 4 };
    for (int k = 0; k <= OPT_LAST; k++)
        for (int l = 0; l < 4; l++)
            fold_equals_scaled(k, lengths[l]);
}
END_TEST

START_TEST(names)
{
    for (int k = 0; k <= OPT_LAST; k++)
        ck_assert_int_eq(optim_parse(optim_name((optim_kind)k)), k);
    ck_assert_int_eq(optim_parse("adagrad"), -1);
    const char *names[4];
    float *bufs[4];
    be_backend *be = be_cpu_create();
    optim o;
    optim_config c = optim_defaults(OPT_ADAM);
    ck_assert_int_eq(optim_init(&o, be, &c, 5), 0);
    ck_assert_int_eq(optim_state(&o, names, bufs, 4), 2);
    ck_assert_str_eq(names[0], "exp_avg");
    ck_assert_str_eq(names[1], "exp_avg_sq");
    optim_free(&o);
    be->destroy(be);
}
END_TEST

/* NTASGD's trigger is awd-lstm-lm's: with history h of the earlier
 * validations, switch when len(h) > nonmono and the loss is above
 * min(h[:-nonmono]); here against that rule written out directly. */
START_TEST(ntasgd_trigger)
{
    be_backend *be = be_cpu_create();
    optim o;
    optim_config c = optim_defaults(OPT_NTASGD);
    c.nonmono = 2;
    ck_assert_int_eq(optim_init(&o, be, &c, 3), 0);
    const char *names[4];
    float *bufs[4];
    ck_assert_int_eq(optim_state(&o, names, bufs, 4), 1);
    ck_assert_str_eq(names[0], "iterate");
    double vals[] = {5, 4, 3, 4.5, 3.9, 4.2}, hist[8];
    int fired = -1;
    for (int k = 0; k < 6 && fired < 0; k++) {
        double least = INFINITY;
        for (int i = 0; i < k - c.nonmono; i++)
            least = fmin(least, hist[i]);
        int want = k > c.nonmono && vals[k] > least;
        int got = optim_ntasgd_observe(&o, vals[k]);
        ck_assert_msg(got == want, "validation %d: %d, the rule says %d", k, got, want);
        hist[k] = vals[k];
        if (got)
            fired = k;
    }
    ck_assert_int_eq(fired, 5);        /* 4.2 > min(5, 4, 3); 3.9 < min(5, 4) */
    optim_free(&o);
    be->destroy(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("optim");
    TCase *tc = tcase_create("steps");
    tcase_add_test(tc, sgd);
    tcase_add_test(tc, sgd_momentum);
    tcase_add_test(tc, sgd_nesterov_wd);
    tcase_add_test(tc, adam);
    tcase_add_test(tc, adam_wd);
    tcase_add_test(tc, adamw);
    tcase_add_test(tc, nadam);
    tcase_add_test(tc, rmsprop);
    tcase_add_test(tc, rmsprop_momentum_wd);
    tcase_add_test(tc, adam_scalars);
    tcase_add_test(tc, adam_bits_match_scalar);
    tcase_add_test(tc, clip_folded_equals_scaled);
    tcase_add_test(tc, names);
    tcase_add_test(tc, ntasgd_trigger);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
