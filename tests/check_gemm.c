/* check_gemm.c - the CPU backend's AVX-512 sgemm (cpu_gemm512) against a
 * double-precision reference: every transpose combination, odd shapes and
 * tails, padded leading dimensions, alpha/beta variants with NaN in C when
 * beta is 0; the checker itself must catch a wrong result; B read in
 * place is never read past its end (a guard page); products with
 * op(B) packed beforehand give the unpacked products' bits; products
 * with a bias row (cpu_gemm512_bias, the backend's gemm_bias) match the
 * reference and the bits of filling C with the bias first, a wrong bias
 * offset caught; and products through the backend, prepared, biased or
 * neither, give the same bits on 1 and 3 threads. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_gemm512.h"
#include "backend/cpu/cpu_level.h"
#include "util/rng.h"

/* One product's operands and leading dimensions; C has ldc >= N, the
 * columns past N being guard values the kernel must leave alone. */
typedef struct gm_case {
    int ta, tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    float *A, *B, *C0;
    /* a bias row added in place of beta * C (b2 may be NULL); NULL: none */
    const float *b1, *b2;
} gm_case;

static float *gm_random(rng_state *r, size_t n)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    ck_assert_ptr_nonnull(x);
    for (size_t i = 0; i < n; i++)
        x[i] = 2.0f * (float)rng_uniform(r) - 1.0f;
    return x;
}

/* A case with leading dimensions `pad` past the minimum. */
static gm_case gm_make(rng_state *r, int ta, int tb, int M, int N, int K, int pad,
                       float alpha, float beta)
{
    gm_case c = { .ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta };
    c.lda = (ta ? M : K) + pad;
    c.ldb = (tb ? K : N) + pad;
    c.ldc = N + pad;
    c.A = gm_random(r, (size_t)(ta ? K : M) * c.lda);
    c.B = gm_random(r, (size_t)(tb ? N : K) * c.ldb);
    c.C0 = gm_random(r, (size_t)M * c.ldc);
    return c;
}

static void gm_free(gm_case *c)
{
    free(c->A);
    free(c->B);
    free(c->C0);
}

static float gm_a(const gm_case *c, int i, int k)
{
    return c->ta ? c->A[(size_t)k * c->lda + i] : c->A[(size_t)i * c->lda + k];
}

static float gm_b(const gm_case *c, int k, int j)
{
    return c->tb ? c->B[(size_t)j * c->ldb + k] : c->B[(size_t)k * c->ldb + j];
}

/* Whether C (computed from c->C0) matches the double-precision product
 * within the float rounding bound (K+2) u sum|a b| + |beta c|, and the
 * guard columns kept their values.  Writes the first mismatch to why. */
static int gm_matches(const gm_case *c, const float *C, char *why, size_t len)
{
    const double u = 1.0 / (1 << 23);
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->ldc; j++) {
            size_t at = (size_t)i * c->ldc + j;
            if (j >= c->N) {
                if (memcmp(&C[at], &c->C0[at], sizeof *C) != 0) {
                    snprintf(why, len, "guard [%d,%d] overwritten", i, j);
                    return 0;
                }
                continue;
            }
            double s = 0.0, mag = 0.0;
            for (int k = 0; k < c->K; k++) {
                double p = (double)gm_a(c, i, k) * gm_b(c, k, j);
                s += p;
                mag += fabs(p);
            }
            double old = c->beta != 0.0f ? (double)c->beta * c->C0[at] : 0.0;
            if (c->b1)
                old = (double)c->b1[j] + (c->b2 ? c->b2[j] : 0.0);
            double want = c->alpha * s + old;
            double tol = (c->K + 4) * u * (fabs(c->alpha) * mag + fabs(old)) + 1e-30;
            if (!(fabs(C[at] - want) <= tol)) {
                snprintf(why, len, "[%d,%d] = %.9g, want %.9g (tol %.3g)", i, j,
                         (double)C[at], want, tol);
                return 0;
            }
        }
    return 1;
}

/* The packing space the kernel takes, as the backend keeps one. */
static float *gm_work(void)
{
    size_t n = cpu_gemm512_work_floats();
    float *w = aligned_alloc(64, (n ? n : 16) * sizeof(float));
    ck_assert_ptr_nonnull(w);
    return w;
}

/* A copy of C0, NaN in its M x N part when nan (C's old values must not
 * be read then). */
static float *gm_start(const gm_case *c, int nan)
{
    size_t n = (size_t)c->M * c->ldc;
    float *C = malloc((n ? n : 1) * sizeof *C);
    ck_assert_ptr_nonnull(C);
    memcpy(C, c->C0, n * sizeof *C);
    if (nan)
        for (int i = 0; i < c->M; i++)
            for (int j = 0; j < c->N; j++)
                C[(size_t)i * c->ldc + j] = NAN;
    return C;
}

/* Runs the kernel on a copy of C0 (NaN in C where beta is 0) with K
 * steps; returns the result, or NULL when the CPU lacks AVX-512F. */
static float *gm_run(const gm_case *c, int K)
{
    float *C = gm_start(c, c->beta == 0.0f);
    float *work = gm_work();
    int rc = cpu_gemm512(c->ta, c->tb, c->M, c->N, K, c->alpha, c->A, c->lda, c->B, c->ldb,
                         c->beta, C, c->ldc, work);
    free(work);
    if (rc != 0) {
        free(C);
        return NULL;
    }
    return C;
}

/* Whether the kernel runs here: the CPU has AVX-512F and RNNLAB_SIMD
 * leaves it on. */
#define GM_HAVE_AVX512() (cpu_level_get() >= CPU_LEVEL_AVX512)

/* Skips the test, saying so (exit 77 would skip the whole program), when
 * the kernel declines: below the avx512 level it is never used. */
#define GM_NEED_AVX512()                                                      \
    do {                                                                      \
        if (!GM_HAVE_AVX512()) {                                              \
            printf("# %s skipped: SIMD level %s, below avx512\n", __func__,   \
                   cpu_level_name(cpu_level_get()));                          \
            return;                                                           \
        }                                                                     \
    } while (0)

static const float gm_alpha[] = { 1.0f, 1.0f, 0.5f, -1.5f };
static const float gm_beta[] = { 0.0f, 1.0f, -2.0f, 0.0f };

/* Odd shapes around the register tile (12 x 32) and the 16-lane vectors,
 * every transpose combination, each with one of the alpha/beta pairs.
 * The last panel of rows picks a 4-, 8- or 12-row tile: M = 3, 16 (4
 * left), 13, 17 (5), 31, 32 (8), 33 (9) take each on both sides of each
 * boundary. */
START_TEST(small_shapes_match_reference)
{
    GM_NEED_AVX512();
    static const int mn[] = { 1, 3, 11, 12, 13, 16, 17, 31, 32, 33, 47, 65, 70 };
    static const int ks[] = { 1, 2, 15, 16, 17, 63, 70 };
    const int nmn = (int)(sizeof mn / sizeof mn[0]), nk = (int)(sizeof ks / sizeof ks[0]);
    rng_state r;
    rng_seed(&r, 16);
    char why[160];
    int n = 0;
    for (int op = 0; op < 4; op++)
        for (int a = 0; a < nmn; a++)
            for (int b = 0; b < nmn; b++)
                for (int k = 0; k < nk; k++, n++) {
                    int v = n % 4;
                    gm_case c = gm_make(&r, op & 1, op >> 1, mn[a], mn[b], ks[k], n % 3,
                                        gm_alpha[v], gm_beta[v]);
                    float *C = gm_run(&c, c.K);
                    ck_assert_ptr_nonnull(C);
                    ck_assert_msg(gm_matches(&c, C, why, sizeof why),
                                  "ta %d tb %d %dx%dx%d alpha %g beta %g: %s", c.ta, c.tb,
                                  c.M, c.N, c.K, (double)c.alpha, (double)c.beta, why);
                    free(C);
                    gm_free(&c);
                }
}
END_TEST

/* Shapes past the packed blocks (256 steps of k, 512 columns), so C is
 * summed over several blocks and op(B) packed several times. */
START_TEST(large_shapes_match_reference)
{
    GM_NEED_AVX512();
    static const int shapes[][3] = { { 131, 530, 600 }, { 40, 1100, 257 }, { 300, 77, 513 } };
    rng_state r;
    rng_seed(&r, 17);
    char why[160];
    for (int s = 0; s < 3; s++)
        for (int op = 0; op < 4; op++) {
            int v = (s + op) % 4;
            gm_case c = gm_make(&r, op & 1, op >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                                op, gm_alpha[v], gm_beta[v]);
            float *C = gm_run(&c, c.K);
            ck_assert_ptr_nonnull(C);
            ck_assert_msg(gm_matches(&c, C, why, sizeof why), "ta %d tb %d %dx%dx%d: %s",
                          c.ta, c.tb, c.M, c.N, c.K, why);
            free(C);
            gm_free(&c);
        }
}
END_TEST

/* K = 0 leaves beta * C (zero for beta 0, even over NaN). */
START_TEST(empty_k_scales_c)
{
    GM_NEED_AVX512();
    rng_state r;
    rng_seed(&r, 18);
    char why[160];
    for (int v = 0; v < 4; v++) {
        gm_case c = gm_make(&r, 0, 1, 5, 9, 0, 1, gm_alpha[v], gm_beta[v]);
        float *C = gm_run(&c, 0);
        ck_assert_ptr_nonnull(C);
        ck_assert_msg(gm_matches(&c, C, why, sizeof why), "beta %g: %s", (double)c.beta, why);
        free(C);
        gm_free(&c);
    }
}
END_TEST

/* The checker catches wrong results: a product missing its last step of
 * k (an off-by-one in the loops), and one element off by a few ulps more
 * than the bound allows. */
START_TEST(checker_catches_mutations)
{
    GM_NEED_AVX512();
    rng_state r;
    rng_seed(&r, 19);
    char why[160];
    for (int op = 0; op < 4; op++) {
        gm_case c = gm_make(&r, op & 1, op >> 1, 29, 45, 300, 2, 1.0f, 1.0f);
        float *short_k = gm_run(&c, c.K - 1);
        ck_assert_ptr_nonnull(short_k);
        ck_assert_msg(!gm_matches(&c, short_k, why, sizeof why), "missing k step passed");
        float *C = gm_run(&c, c.K);
        ck_assert(gm_matches(&c, C, why, sizeof why));
        size_t at = (size_t)13 * c.ldc + 37;
        C[at] += 1e-2f * (1.0f + fabsf(C[at]));
        ck_assert_msg(!gm_matches(&c, C, why, sizeof why), "perturbed element passed");
        free(short_k);
        free(C);
        gm_free(&c);
    }
}
END_TEST

/* A block of C computed alone equals the same block of the whole product
 * bit for bit: what makes the backend's split thread-count-proof. */
START_TEST(block_equals_whole)
{
    GM_NEED_AVX512();
    rng_state r;
    rng_seed(&r, 20);
    for (int op = 0; op < 4; op++) {
        gm_case c = gm_make(&r, op & 1, op >> 1, 100, 600, 300, 0, 1.0f, 1.0f);
        float *whole = gm_run(&c, c.K), *part = malloc((size_t)c.M * c.ldc * sizeof *part);
        memcpy(part, c.C0, (size_t)c.M * c.ldc * sizeof *part);
        /* rows 37..99 and columns 64..600, the offsets an odd split gives */
        int i0 = 37, j0 = 64;
        const float *A = c.ta ? c.A + i0 : c.A + (size_t)i0 * c.lda;
        const float *B = c.tb ? c.B + (size_t)j0 * c.ldb : c.B + j0;
        float *work = gm_work();
        ck_assert_int_eq(cpu_gemm512(c.ta, c.tb, c.M - i0, c.N - j0, c.K, 1.0f, A, c.lda, B,
                                     c.ldb, 1.0f, part + (size_t)i0 * c.ldc + j0, c.ldc,
                                     work), 0);
        free(work);
        for (int i = i0; i < c.M; i++)
            ck_assert_msg(memcmp(whole + (size_t)i * c.ldc + j0, part + (size_t)i * c.ldc + j0,
                                 (size_t)(c.N - j0) * sizeof *part) == 0,
                          "op %d row %d differs", op, i);
        free(whole);
        free(part);
        gm_free(&c);
    }
}
END_TEST

/* The backend's products of training shapes (large, so they take the
 * AVX-512 path where there is one) give identical bits on 1 and 3
 * threads, for both split directions and every transpose combination. */
START_TEST(threads_give_same_bits)
{
    be_backend *one = be_cpu_create(), *three = be_cpu_create();
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(three);
    three->set_threads(three, 3);
    rng_state r;
    rng_seed(&r, 21);
    /* the last: a training step's recurrent product, few rows and B in
     * blocks of columns */
    static const int shapes[][3] = { { 400, 130, 200 }, { 90, 700, 150 }, { 65, 512, 320 },
                                     { 32, 700, 90 } };
    for (int s = 0; s < 4; s++)
        for (int op = 0; op < 4; op++) {
            gm_case c = gm_make(&r, op & 1, op >> 1, shapes[s][0], shapes[s][1], shapes[s][2],
                                0, 1.0f, 1.0f);
            size_t n = (size_t)c.M * c.ldc;
            float *C1 = malloc(n * sizeof *C1), *C3 = malloc(n * sizeof *C3);
            memcpy(C1, c.C0, n * sizeof *C1);
            memcpy(C3, c.C0, n * sizeof *C3);
            one->gemm(one, c.ta, c.tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 1.0f, C1,
                      c.ldc);
            three->gemm(three, c.ta, c.tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 1.0f,
                        C3, c.ldc);
            ck_assert_msg(memcmp(C1, C3, n * sizeof *C1) == 0, "shape %d op %d differs", s, op);
            free(C1);
            free(C3);
            gm_free(&c);
        }
    one->destroy(one);
    three->destroy(three);
}
END_TEST

/* The dispatch: small or empty shapes stay with OpenBLAS; large ones come
 * here exactly when the CPU has AVX-512F. */
START_TEST(dispatch_by_shape)
{
    ck_assert_int_eq(cpu_gemm512_wanted(8, 8, 8), 0);
    ck_assert_int_eq(cpu_gemm512_wanted(0, 2048, 512), 0);
    ck_assert_int_eq(cpu_gemm512_wanted(3200, 2048, 64),
                     GM_HAVE_AVX512() ? 1 : 0);
    float w[16];
    ck_assert_int_eq(cpu_gemm512(0, 0, -1, 4, 4, 1.0f, NULL, 4, NULL, 4, 0.0f, NULL, 4, w),
                     -1);
    ck_assert_int_eq(cpu_gemm512(0, 0, 4, 4, 4, 1.0f, w, 4, w, 4, 0.0f, w, 4, NULL), -1);
    /* packed panels start on whole panels only */
    ck_assert_int_eq(cpu_gemm512_pack(1, 4, w, 4, 16, 20, w), -1);
    ck_assert_int_eq(cpu_gemm512_packed_floats(33, 10), (size_t)64 * 10);
    ck_assert_int_eq(cpu_gemm512_packed_floats(0, 10), 0);
}
END_TEST

/* B read in place (NN, few rows) is never read past its last element,
 * even with ldb = 32, a packed panel's stride, and a last panel of fewer
 * columns: B ends just before a page that may not be read. */
START_TEST(in_place_b_stays_inside)
{
    GM_NEED_AVX512();
    rng_state r;
    rng_seed(&r, 24);
    char why[160];
    /* N 20 + 12 of padding: ldb 32; M * N * K past the kernel's minimum */
    gm_case c = gm_make(&r, 0, 0, 40, 20, 400, 12, 1.0f, 1.0f);
    ck_assert_int_eq(c.ldb, 32);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t need = ((size_t)(c.K - 1) * c.ldb + (size_t)c.N) * sizeof(float);
    size_t span = (need + page - 1) / page * page;
    char *map = mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    ck_assert(map != MAP_FAILED);
    ck_assert_int_eq(mprotect(map + span, page, PROT_NONE), 0);
    float *guarded = (float *)(map + span - need), *kept = c.B;
    memcpy(guarded, kept, need);
    c.B = guarded;
    float *C = gm_run(&c, c.K);
    ck_assert_ptr_nonnull(C);
    ck_assert_msg(gm_matches(&c, C, why, sizeof why), "%s", why);
    c.B = kept;
    free(C);
    munmap(map, span + page);
    gm_free(&c);
}
END_TEST

/* A bias product's case: op(A) op(B) + b1 + b2 (b2 when two), alpha 1. */
static gm_case gm_make_bias(rng_state *r, int ta, int tb, int M, int N, int K, int pad,
                            int two)
{
    gm_case c = gm_make(r, ta, tb, M, N, K, pad, 1.0f, 1.0f);
    c.b1 = gm_random(r, (size_t)N);
    c.b2 = two ? gm_random(r, (size_t)N) : NULL;
    return c;
}

static void gm_free_bias(gm_case *c)
{
    free((float *)c->b1);
    free((float *)c->b2);
    gm_free(c);
}

/* cpu_gemm512_bias over C full of NaN, columns j0..N of c (bias read
 * from b1 + boff, b2 + boff: boff = j0 unless a mutation says otherwise)
 * into C; returns the kernel's code. */
static int gm_bias_cols(const gm_case *c, int j0, int boff, float *C)
{
    float *work = gm_work();
    const float *B = c->tb ? c->B + (size_t)j0 * c->ldb : c->B + j0;
    int rc = cpu_gemm512_bias(c->ta, c->tb, c->M, c->N - j0, c->K, c->A, c->lda, B, c->ldb,
                              c->b1 + boff, c->b2 ? c->b2 + boff : NULL, C + j0, c->ldc,
                              work);
    free(work);
    return rc;
}

/* C = fl(b1 + b2) on every row, then cpu_gemm512 with beta 1: the bits a
 * bias product must give. */
static float *gm_fill_then_gemm(const gm_case *c)
{
    float *C = gm_start(c, 0);
    for (int i = 0; i < c->M; i++)
        for (int j = 0; j < c->N; j++)
            C[(size_t)i * c->ldc + j] = c->b2 ? c->b1[j] + c->b2[j] : c->b1[j];
    float *work = gm_work();
    ck_assert_int_eq(cpu_gemm512(c->ta, c->tb, c->M, c->N, c->K, 1.0f, c->A, c->lda, c->B,
                                 c->ldb, 1.0f, C, c->ldc, work), 0);
    free(work);
    return C;
}

/* One bias case: the reference and the fill's bits. */
static void gm_check_bias(const gm_case *c)
{
    char why[160];
    float *C = gm_start(c, 1), *F = gm_fill_then_gemm(c);
    ck_assert_int_eq(gm_bias_cols(c, 0, 0, C), 0);
    ck_assert_msg(gm_matches(c, C, why, sizeof why), "ta %d tb %d %dx%dx%d b2 %d: %s", c->ta,
                  c->tb, c->M, c->N, c->K, c->b2 != NULL, why);
    ck_assert_msg(memcmp(C, F, (size_t)c->M * c->ldc * sizeof *C) == 0,
                  "ta %d tb %d %dx%dx%d b2 %d: not the fill's bits", c->ta, c->tb, c->M, c->N,
                  c->K, c->b2 != NULL);
    free(C);
    free(F);
}

/* The bias in the product's first store: odd shapes and tails around the
 * tile, one block of k and several (K past 256: the bias must go in
 * once), several blocks of columns (N past 512: the bias at each block's
 * columns), every transpose, one bias row or two; C's old values never
 * read (NaN). */
START_TEST(bias_matches_reference)
{
    GM_NEED_AVX512();
    static const int mn[] = { 1, 3, 13, 17, 32, 33, 70 };
    static const int ks[] = { 1, 16, 17, 70, 300 };
    static const int big[][3] = { { 131, 530, 600 }, { 40, 1100, 257 }, { 300, 77, 513 } };
    rng_state r;
    rng_seed(&r, 25);
    int n = 0;
    for (int op = 0; op < 4; op++) {
        for (int a = 0; a < 7; a++)
            for (int b = 0; b < 7; b++)
                for (int k = 0; k < 5; k++, n++) {
                    gm_case c = gm_make_bias(&r, op & 1, op >> 1, mn[a], mn[b], ks[k], n % 3,
                                             n % 2);
                    gm_check_bias(&c);
                    gm_free_bias(&c);
                }
        for (int s = 0; s < 3; s++, n++) {
            gm_case c = gm_make_bias(&r, op & 1, op >> 1, big[s][0], big[s][1], big[s][2],
                                     op, n % 2);
            gm_check_bias(&c);
            gm_free_bias(&c);
        }
    }
}
END_TEST

/* A block of columns computed alone with its columns of the bias equals
 * the whole product's; the checker catches the bias one column off, and
 * a block given the bias of column 0 instead of its own. */
START_TEST(bias_offset_mutations_caught)
{
    GM_NEED_AVX512();
    rng_state r;
    rng_seed(&r, 26);
    char why[160];
    for (int op = 0; op < 4; op++) {
        gm_case c = gm_make_bias(&r, op & 1, op >> 1, 29, 600, 300, 1, op & 1);
        size_t n = (size_t)c.M * c.ldc;
        float *whole = gm_start(&c, 1), *split = gm_start(&c, 1), *bad = gm_start(&c, 1);
        ck_assert_int_eq(gm_bias_cols(&c, 0, 0, whole), 0);
        ck_assert_int_eq(gm_bias_cols(&c, 0, 0, split), 0);
        ck_assert_int_eq(gm_bias_cols(&c, 64, 64, split), 0);
        ck_assert_msg(memcmp(whole, split, n * sizeof *whole) == 0, "op %d: block differs", op);
        ck_assert_int_eq(gm_bias_cols(&c, 0, 0, bad), 0);
        ck_assert_int_eq(gm_bias_cols(&c, 64, 0, bad), 0);
        ck_assert_msg(!gm_matches(&c, bad, why, sizeof why), "op %d: unshifted bias passed", op);
        /* one column on: read within b1 by dropping the last column */
        gm_case off = c;
        off.N = c.N - 1;
        float *shifted = gm_start(&off, 1);
        ck_assert_int_eq(gm_bias_cols(&off, 0, 1, shifted), 0);
        ck_assert_msg(!gm_matches(&off, shifted, why, sizeof why), "op %d: bias off by one", op);
        free(whole);
        free(split);
        free(bad);
        free(shifted);
        gm_free_bias(&c);
    }
}
END_TEST

/* Through the backend: gemm_bias gives the bits of fill_rows then gemm
 * on 1 and 3 threads, where the bias goes into cpu_gemm512's product
 * (split by rows, by columns, op(A) transposed) and where the backend
 * fills first (a few rows, a small product for OpenBLAS). */
START_TEST(gemm_bias_equals_fill_then_gemm)
{
    be_backend *one = be_cpu_create(), *three = be_cpu_create();
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(three);
    three->set_threads(three, 3);
    rng_state r;
    rng_seed(&r, 27);
    static const int shapes[][3] = { { 400, 130, 200 }, { 90, 700, 150 }, { 100, 520, 300 },
                                     { 32, 700, 90 }, { 6, 300, 200 }, { 7, 30, 20 } };
    char why[160];
    for (int s = 0; s < 6; s++)
        for (int op = 0; op < 4; op++) {
            gm_case c = gm_make_bias(&r, op & 1, op >> 1, shapes[s][0], shapes[s][1],
                                     shapes[s][2], 0, (s + op) % 2);
            size_t n = (size_t)c.M * c.N;
            float *F = gm_start(&c, 1), *C1 = gm_start(&c, 1), *C3 = gm_start(&c, 1);
            one->fill_rows(one, F, c.M, c.N, c.b1, c.b2);
            one->gemm(one, c.ta, c.tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 1.0f, F,
                      c.N);
            one->gemm_bias(one, c.ta, c.tb, c.M, c.N, c.K, c.A, c.lda, c.B, c.ldb, c.b1, c.b2,
                           C1);
            three->gemm_bias(three, c.ta, c.tb, c.M, c.N, c.K, c.A, c.lda, c.B, c.ldb, c.b1,
                             c.b2, C3);
            ck_assert_msg(gm_matches(&c, C1, why, sizeof why), "shape %d op %d: %s", s, op, why);
            ck_assert_msg(memcmp(F, C1, n * sizeof *F) == 0, "shape %d op %d: fill differs", s,
                          op);
            ck_assert_msg(memcmp(C1, C3, n * sizeof *F) == 0, "shape %d op %d: threads", s, op);
            free(F);
            free(C1);
            free(C3);
            gm_free_bias(&c);
        }
    one->destroy(one);
    three->destroy(three);
}
END_TEST

/* Packs op(B) of c whole; returns the panels. */
static float *gm_pack(const gm_case *c)
{
    float *P = aligned_alloc(64, cpu_gemm512_packed_floats(c->N, c->K) * sizeof *P);
    ck_assert_ptr_nonnull(P);
    /* in two column ranges, as two threads would */
    int half = (c->N / 2) / 32 * 32;
    ck_assert_int_eq(cpu_gemm512_pack(c->tb, c->K, c->B, c->ldb, 0, half, P), 0);
    ck_assert_int_eq(cpu_gemm512_pack(c->tb, c->K, c->B, c->ldb, half, c->N, P), 0);
    return P;
}

/* op(B) packed once, then products of blocks of its columns: the bits of
 * the unpacked product, both ways round for B, across blocks of k
 * (K past 256), tails of rows, columns and k, alpha and beta; and a wrong
 * column offset into the panels is caught. */
START_TEST(packed_equals_unpacked)
{
    GM_NEED_AVX512();
    static const int shapes[][3] = { { 32, 2048, 512 }, { 13, 100, 70 }, { 40, 96, 600 },
                                     { 9, 33, 257 }, { 1, 64, 1 } };
    rng_state r;
    rng_seed(&r, 22);
    float *work = gm_work();
    for (int s = 0; s < 5; s++)
        for (int tb = 0; tb < 2; tb++) {
            int v = (s + tb) % 4;
            gm_case c = gm_make(&r, 0, tb, shapes[s][0], shapes[s][1], shapes[s][2], s % 3,
                                gm_alpha[v], gm_beta[v]);
            float *whole = gm_run(&c, c.K), *P = gm_pack(&c);
            size_t n = (size_t)c.M * c.ldc;
            float *C = malloc(n * sizeof *C);
            memcpy(C, c.C0, n * sizeof *C);
            /* columns 0..j and j..N apart, j a whole panel */
            int j = c.N > 32 ? 32 : c.N;
            ck_assert_int_eq(cpu_gemm512_packed(c.M, j, c.K, c.alpha, c.A, c.lda, P, c.beta,
                                                C, c.ldc, work), 0);
            ck_assert_int_eq(cpu_gemm512_packed(c.M, c.N - j, c.K, c.alpha, c.A, c.lda,
                                                P + (size_t)j * c.K, c.beta, C + j, c.ldc,
                                                work), 0);
            ck_assert_msg(memcmp(whole, C, n * sizeof *C) == 0, "shape %d tb %d differs", s,
                          tb);
            if (c.N > 64) {
                /* the second block read from the wrong panels, one panel
                 * on (and one panel narrower, so that it stays inside P:
                 * full panels are read with unmasked loads) */
                memcpy(C, c.C0, n * sizeof *C);
                cpu_gemm512_packed(c.M, c.N - j - 32, c.K, c.alpha, c.A, c.lda,
                                   P + (size_t)(j + 32) * c.K, c.beta, C + j, c.ldc, work);
                ck_assert_msg(memcmp(whole, C, n * sizeof *C) != 0, "wrong panels passed");
            }
            free(whole);
            free(P);
            free(C);
            gm_free(&c);
        }
    free(work);
}
END_TEST

/* Through the backend: prepared products give gemm's bits for the row
 * counts prepared_bytes accepts (a training step's recurrent products),
 * on 1 and 3 threads alike; it turns down the few-row shapes. */
START_TEST(prepared_equals_gemm)
{
    be_backend *one = be_cpu_create(), *three = be_cpu_create();
    ck_assert_ptr_nonnull(one);
    ck_assert_ptr_nonnull(three);
    three->set_threads(three, 3);
    ck_assert_int_eq(one->prepared_bytes(one, 8, 2048, 512), 0);
    if (!one->prepared_bytes(one, 32, 2048, 512)) {
        ck_assert(!GM_HAVE_AVX512());
        one->destroy(one);
        three->destroy(three);
        return;
    }
    rng_state r;
    rng_seed(&r, 23);
    /* the first two: a training step's forward (W_hh^T) and backward
     * (W_hh) recurrent products */
    static const int shapes[][3] = { { 32, 2048, 512 }, { 32, 512, 2048 }, { 20, 300, 130 },
                                     { 9, 96, 600 } };
    for (int s = 0; s < 4; s++)
        for (int tb = 0; tb < 2; tb++) {
            gm_case c = gm_make(&r, 0, tb, shapes[s][0], shapes[s][1], shapes[s][2], 0,
                                1.0f, 1.0f);
            size_t bytes = one->prepared_bytes(one, c.M, c.N, c.K);
            ck_assert_uint_eq(bytes, cpu_gemm512_packed_floats(c.N, c.K) * sizeof(float));
            float *P1 = aligned_alloc(64, bytes), *P3 = aligned_alloc(64, bytes);
            one->prepare(one, tb, c.N, c.K, c.B, c.ldb, P1);
            three->prepare(three, tb, c.N, c.K, c.B, c.ldb, P3);
            ck_assert(memcmp(P1, P3, bytes) == 0);
            size_t n = (size_t)c.M * c.ldc;
            float *G = malloc(n * sizeof *G), *C1 = malloc(n * sizeof *C1),
                  *C3 = malloc(n * sizeof *C3);
            memcpy(G, c.C0, n * sizeof *G);
            memcpy(C1, c.C0, n * sizeof *C1);
            memcpy(C3, c.C0, n * sizeof *C3);
            one->gemm(one, 0, tb, c.M, c.N, c.K, 1.0f, c.A, c.lda, c.B, c.ldb, 1.0f, G, c.ldc);
            one->gemm_prepared(one, c.M, c.N, c.K, 1.0f, c.A, c.lda, P1, 1.0f, C1, c.ldc);
            three->gemm_prepared(three, c.M, c.N, c.K, 1.0f, c.A, c.lda, P3, 1.0f, C3, c.ldc);
            ck_assert_msg(memcmp(G, C1, n * sizeof *G) == 0, "shape %d tb %d: gemm differs", s,
                          tb);
            ck_assert_msg(memcmp(C1, C3, n * sizeof *G) == 0, "shape %d tb %d: threads", s, tb);
            free(P1);
            free(P3);
            free(G);
            free(C1);
            free(C3);
            gm_free(&c);
        }
    one->destroy(one);
    three->destroy(three);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gemm");
    TCase *k = tcase_create("gemm512");
    tcase_set_timeout(k, 120);
    tcase_add_test(k, small_shapes_match_reference);
    tcase_add_test(k, large_shapes_match_reference);
    tcase_add_test(k, empty_k_scales_c);
    tcase_add_test(k, checker_catches_mutations);
    tcase_add_test(k, block_equals_whole);
    tcase_add_test(k, in_place_b_stays_inside);
    tcase_add_test(k, threads_give_same_bits);
    tcase_add_test(k, dispatch_by_shape);
    tcase_add_test(k, packed_equals_unpacked);
    tcase_add_test(k, prepared_equals_gemm);
    tcase_add_test(k, bias_matches_reference);
    tcase_add_test(k, bias_offset_mutations_caught);
    tcase_add_test(k, gemm_bias_equals_fill_then_gemm);
    suite_add_tcase(s, k);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
