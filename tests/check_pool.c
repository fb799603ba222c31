/* check_pool.c - the CPU backend's worker team and the operations it
 * splits: every part of every job runs exactly once, split operations give
 * the single-thread results, and training with several threads is
 * deterministic. */
#include <check.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "backend/backend.h"
#include "backend/cpu/cpu_pool.h"
#include "util/rng.h"

typedef struct count_job {
    atomic_int runs[16];
    atomic_int bad;
} count_job;

static void count_part(void *ctx, int part, int parts)
{
    count_job *j = ctx;
    if (part < 0 || part >= parts || parts > 16)
        atomic_fetch_add(&j->bad, 1);
    else
        atomic_fetch_add(&j->runs[part], 1);
}

START_TEST(every_part_once)
{
    for (int n = 1; n <= 4; n++) {
        cpu_pool *p = cpu_pool_create(n);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(cpu_pool_size(p), n);
        for (int iter = 0; iter < 3000; iter++) {
            count_job j;
            memset(&j, 0, sizeof j);
            int max_parts = 1 + iter % 8;
            cpu_pool_run(p, count_part, &j, max_parts);
            int parts = max_parts < n ? max_parts : n;
            ck_assert_int_eq(atomic_load(&j.bad), 0);
            for (int k = 0; k < 16; k++)
                ck_assert_int_eq(atomic_load(&j.runs[k]), k < parts ? 1 : 0);
        }
        cpu_pool_free(p);
    }
}
END_TEST

static float *random_floats(rng_state *r, size_t n, float scale)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = scale * (2.0f * (float)rng_uniform(r) - 1.0f);
    return x;
}

static void assert_close(const float *a, const float *b, size_t n, float tol,
                         const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(a[i] - b[i]) <= tol * (1.0f + fabsf(b[i])),
                      "%s[%zu]: %g vs %g", what, i, (double)a[i], (double)b[i]);
}

/* C = op(A) op(B) on 1 and on 3 threads, for both split directions and
 * every transpose combination. */
START_TEST(gemm_split_matches)
{
    be_backend *one = be_cpu_create(), *three = be_cpu_create();
    three->set_threads(three, 3);
    rng_state r;
    rng_seed(&r, 5);
    int shapes[][3] = { {40, 700, 90}, {500, 33, 70}, {1, 2048, 64} };
    for (int s = 0; s < 3; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = random_floats(&r, (size_t)M * K, 1), *B = random_floats(&r, (size_t)K * N, 1);
        float *C1 = random_floats(&r, (size_t)M * N, 1);
        float *C3 = malloc((size_t)M * N * sizeof *C3);
        for (int t = 0; t < 4; t++) {
            int ta = t & 1, tb = t >> 1;
            memcpy(C3, C1, (size_t)M * N * sizeof *C3);
            one->gemm(one, ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 1.0f, C1, N);
            three->gemm(three, ta, tb, M, N, K, 0.5f, A, ta ? M : K, B, tb ? K : N, 1.0f, C3, N);
            assert_close(C3, C1, (size_t)M * N, 1e-5f, "gemm");
        }
        free(A); free(B); free(C1); free(C3);
    }
    one->destroy(one);
    three->destroy(three);
}
END_TEST

/* Products with few rows (training and generation steps) take their own
 * kernels: they agree with a plain double-precision product for every
 * row count up to and past the kernels' block of 8, odd widths (past the
 * backend's blocks of 256 columns) and both layouts of B, with beta 0
 * ignoring NaN in C. */
START_TEST(few_rows_match_reference)
{
    be_backend *be = be_cpu_create();
    rng_state r;
    rng_seed(&r, 21);
    int rows[] = { 1, 2, 7, 8, 9, 32, 37 };
    int N = 333, K = 45;        /* past one block of B rows (CPU_FEW_COLS) */
    for (int t = 0; t < 2; t++)
        for (size_t ri = 0; ri < sizeof rows / sizeof rows[0]; ri++) {
            be->set_threads(be, 1 + (int)ri % 3);
            int M = rows[ri], tb = t;
            float *A = random_floats(&r, (size_t)M * K, 1), *B = random_floats(&r, (size_t)K * N, 1);
            float *C = random_floats(&r, (size_t)M * N, 1), *C0 = malloc((size_t)M * N * 4);
            memcpy(C0, C, (size_t)M * N * 4);
            float beta = ri % 2 ? 0.0f : 0.5f;
            if (beta == 0.0f)
                C[0] = NAN;
            be->gemm(be, 0, tb, M, N, K, 1.5f, A, K, B, tb ? K : N, beta, C, N);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    double acc = 0;
                    for (int k = 0; k < K; k++)
                        acc += (double)A[m * K + k] * (tb ? B[n * K + k] : B[k * N + n]);
                    double want = 1.5 * acc + (beta != 0.0f ? beta * C0[m * N + n] : 0.0);
                    ck_assert_msg(fabs(C[m * N + n] - want) <= 1e-4 * (1 + fabs(want)),
                                  "M %d tb %d [%d,%d]: %g vs %g", M, tb, m, n,
                                  (double)C[m * N + n], want);
                }
            free(A); free(B); free(C); free(C0);
        }
    be->destroy(be);
}
END_TEST

/* Elementwise operations give the same bits on any thread count; sums
 * agree to rounding. */
START_TEST(elementwise_split_matches)
{
    be_backend *one = be_cpu_create(), *three = be_cpu_create();
    three->set_threads(three, 3);
    rng_state r;
    rng_seed(&r, 9);
    int B = 37, H = 300, V = 77, N = 900;
    size_t g4 = (size_t)B * 4 * H, bh = (size_t)B * H;
    float *gates = random_floats(&r, g4, 3), *cprev = random_floats(&r, bh, 1);
    float *ga = malloc(g4 * 4), *gb = malloc(g4 * 4);
    float *ca = malloc(bh * 4), *cb = malloc(bh * 4), *ha = malloc(bh * 4), *hb = malloc(bh * 4);
    memcpy(ga, gates, g4 * 4);
    memcpy(gb, gates, g4 * 4);
    one->lstm_fwd(one, B, H, ga, cprev, ca, ha);
    three->lstm_fwd(three, B, H, gb, cprev, cb, hb);
    ck_assert(memcmp(ga, gb, g4 * 4) == 0);
    ck_assert(memcmp(ha, hb, bh * 4) == 0);
    ck_assert(memcmp(ca, cb, bh * 4) == 0);

    float *logits = random_floats(&r, (size_t)N * V, 4);
    float *la = malloc((size_t)N * V * 4), *lb = malloc((size_t)N * V * 4);
    uint32_t *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        y[i] = (uint32_t)(rng_next(&r) % (uint64_t)V);
    memcpy(la, logits, (size_t)N * V * 4);
    memcpy(lb, logits, (size_t)N * V * 4);
    long hits_a, hits_b;
    double loss_a = one->xent(one, la, y, N, V, 1.0f / N, 1, 0.0f, NULL, &hits_a);
    double loss_b = three->xent(three, lb, y, N, V, 1.0f / N, 1, 0.0f, NULL, &hits_b);
    ck_assert(fabs(loss_a - loss_b) < 1e-9 * fabs(loss_a));
    ck_assert_int_eq(hits_a, hits_b);
    ck_assert(memcmp(la, lb, (size_t)N * V * 4) == 0);

    size_t n = 100003;
    float *x = random_floats(&r, n, 1);
    double s1 = one->sumsq(one, x, n), s3 = three->sumsq(three, x, n);
    ck_assert(fabs(s1 - s3) < 1e-9 * s1);

    float *w1 = random_floats(&r, n, 1), *w3 = malloc(n * 4);
    float *m1 = calloc(n, 4), *v1 = calloc(n, 4), *m3 = calloc(n, 4), *v3 = calloc(n, 4);
    memcpy(w3, w1, n * 4);
    be_adam_step as = {.lr = 1e-3f, .b1 = 0.9f, .b2 = 0.999f, .eps = 1e-8f, .wd = 0.01f,
                       .decoupled = 1, .sbc2 = 0.03f, .step = 0.01f, .gscale = 1.0f};
    for (long t = 1; t <= 3; t++) {
        one->adam(one, w1, x, m1, v1, n, &as);
        three->adam(three, w3, x, m3, v3, n, &as);
    }
    ck_assert(memcmp(w1, w3, n * 4) == 0);
    ck_assert(memcmp(v1, v3, n * 4) == 0);

    float *d1 = malloc(n * 4), *d3 = malloc(n * 4), *k1 = malloc(n * 4), *k3 = malloc(n * 4);
    memcpy(d1, x, n * 4);
    memcpy(d3, x, n * 4);
    one->dropout_fwd(one, d1, k1, n, 0.3f, 77, 0);
    three->dropout_fwd(three, d3, k3, n, 0.3f, 77, 0);
    ck_assert(memcmp(d1, d3, n * 4) == 0);
    ck_assert(memcmp(k1, k3, n * 4) == 0);

    free(gates); free(cprev); free(ga); free(gb); free(ca); free(cb); free(ha); free(hb);
    free(logits); free(la); free(lb); free(y); free(x); free(w1); free(w3);
    free(m1); free(v1); free(m3); free(v3); free(d1); free(d3); free(k1); free(k3);
    one->destroy(one);
    three->destroy(three);
}
END_TEST

/* Changing the thread count while a backend lives keeps it working. */
START_TEST(resize_pool)
{
    be_backend *be = be_cpu_create();
    rng_state r;
    rng_seed(&r, 3);
    size_t n = 200000;
    float *x = random_floats(&r, n, 1);
    double ref = be->sumsq(be, x, n);
    for (int t = 1; t <= 5; t++) {
        be->set_threads(be, t);
        ck_assert(fabs(be->sumsq(be, x, n) - ref) < 1e-9 * ref);
    }
    be->set_threads(be, 0);     /* clamped to 1 */
    ck_assert(fabs(be->sumsq(be, x, n) - ref) < 1e-9 * ref);
    free(x);
    be->destroy(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_part_once);
    tcase_add_test(tc, gemm_split_matches);
    tcase_add_test(tc, elementwise_split_matches);
    tcase_add_test(tc, few_rows_match_reference);
    tcase_add_test(tc, resize_pool);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
