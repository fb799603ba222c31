/* check_dist.c - unit tests for src/dist in a run of one: the launcher's environment, the answers without MPI, the agreement on a failure, the choice between summing on the GPUs (NCCL) and through host memory; tests/mpi.sh runs several processes. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "dist/dist.h"

static void clear_env(void)
{
    unsetenv("OMPI_COMM_WORLD_SIZE");
    unsetenv("PMI_SIZE");
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv("PMI_RANK");
}

START_TEST(test_launched_from_env)
{
    clear_env();
    ck_assert_int_eq(dist_launched(), 0);
    setenv("PMI_SIZE", "4", 1);
    ck_assert_int_eq(dist_launched(), 4);
    setenv("OMPI_COMM_WORLD_SIZE", "3", 1);     /* Open MPI's comes first */
    ck_assert_int_eq(dist_launched(), 3);
    setenv("OMPI_COMM_WORLD_SIZE", "3x", 1);    /* not a count: the next one */
    ck_assert_int_eq(dist_launched(), 4);
    setenv("PMI_SIZE", "-2", 1);
    ck_assert_int_eq(dist_launched(), 0);
    ck_assert_int_eq(dist_launched_rank(), 0);
    setenv("PMI_RANK", "2", 1);
    ck_assert_int_eq(dist_launched_rank(), 2);
    setenv("OMPI_COMM_WORLD_RANK", "0", 1);
    ck_assert_int_eq(dist_launched_rank(), 0);
    clear_env();
}
END_TEST

START_TEST(test_run_of_one)
{
    char err[64] = "";
    float f[3] = {1, 2, 3};
    double d[2] = {0.5, -1};
    int mine[2] = {7, 8}, all[2] = {0, 0};
    clear_env();
    ck_assert_int_eq(dist_init(err, sizeof err), 0);
    ck_assert_int_eq(dist_rank(), 0);
    ck_assert_int_eq(dist_size(), 1);
    ck_assert_int_eq(dist_sum_float(f, 3), 0);
    ck_assert(f[0] == 1 && f[1] == 2 && f[2] == 3);
    ck_assert_int_eq(dist_sum_double(d, 2), 0);
    ck_assert(d[0] == 0.5 && d[1] == -1);
    ck_assert_int_eq(dist_bcast(f, sizeof f, 0), 0);
    ck_assert_int_eq(dist_bcast(f, sizeof f, 1), -1);     /* no rank 1 */
    ck_assert_int_eq(dist_gather(mine, sizeof mine, all, 0), 0);
    ck_assert(all[0] == 7 && all[1] == 8);
    ck_assert_int_eq(dist_lowest(0), -1);
    ck_assert_int_eq(dist_lowest(1), 0);
    dist_finalize();
    ck_assert_int_eq(dist_size(), 1);
}
END_TEST

START_TEST(test_agree_alone)
{
    char err[64] = "disk full";
    ck_assert_int_eq(dist_agree(0, err, sizeof err), 0);
    ck_assert_int_eq(dist_agree(1, err, sizeof err), -1);
    ck_assert_str_eq(err, "disk full");       /* untouched, no rank named */
}
END_TEST

START_TEST(test_sum_agree_alone)
{
    char err[64] = "no memory";
    double x[2] = {1.5, 2};
    ck_assert_int_eq(dist_sum_agree(x, 2, 0, err, sizeof err), 0);
    ck_assert(x[0] == 1.5 && x[1] == 2);
    ck_assert_int_eq(dist_sum_agree(x, 2, 1, err, sizeof err), -1);
    ck_assert_str_eq(err, "no memory");
    ck_assert_int_eq(dist_sum_agree(x, DIST_SUM_MAX + 1, 0, err, sizeof err), -1);
}
END_TEST

/* Parts cover the items once, in order, sizes differing by one at most. */
START_TEST(test_parts)
{
    static const long counts[] = {0, 1, 5, 12, 32, 1000003};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++)
        for (int size = 1; size <= 7; size++) {
            long next = 0, lo = counts[c], hi = 0;
            for (int r = 0; r < size; r++) {
                long first, n;
                dist_part(counts[c], r, size, &first, &n);
                ck_assert_int_eq(first, next);
                next = first + n;
                lo = n < lo ? n : lo;
                hi = n > hi ? n : hi;
            }
            ck_assert_int_eq(next, counts[c]);
            ck_assert(hi - lo <= 1);
        }
}
END_TEST

/* A backend's collective operations that only count their calls: the
 * choice of path looks at whether they are there, and a run of one never
 * calls them. */
static int coll_calls;

static int fake_id(be_backend *be, void *id, char *err, size_t errlen)
{
    (void)be, (void)id, (void)err, (void)errlen;
    return ++coll_calls, 0;
}

static int fake_join(be_backend *be, const void *id, int rank, int size, char *err,
                     size_t errlen)
{
    (void)be, (void)id, (void)rank, (void)size, (void)err, (void)errlen;
    return ++coll_calls, 0;
}

static int fake_sum(be_backend *be, float *x, size_t n)
{
    (void)be, (void)x, (void)n;
    return ++coll_calls, 0;
}

static int fake_wait(be_backend *be)
{
    (void)be;
    return ++coll_calls, 0;
}

static const be_backend gpu_nccl = {.name = "cuda", .coll_id = fake_id,
    .coll_join = fake_join, .coll_sum = fake_sum, .coll_wait = fake_wait};
static const be_backend gpu_plain = {.name = "cuda"};
static const be_backend cpu = {.name = "cpu"};

/* One process's wish: the device when its backend can and RNNLAB_NCCL
 * does not say 0; "1" with a backend that cannot, or a value it does not
 * know, is an error naming the variable. */
START_TEST(test_sum_wish)
{
    char err[256] = "";
    int forced = -1;
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, NULL, &forced, err, sizeof err), DIST_SUM_DEVICE);
    ck_assert_int_eq(forced, 0);
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, "", &forced, err, sizeof err), DIST_SUM_DEVICE);
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, "auto", &forced, err, sizeof err),
                     DIST_SUM_DEVICE);
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, "1", &forced, err, sizeof err), DIST_SUM_DEVICE);
    ck_assert_int_eq(forced, 1);
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, "0", &forced, err, sizeof err), DIST_SUM_HOST);
    ck_assert_int_eq(forced, 0);
    ck_assert_int_eq(dist_sum_wish(&gpu_plain, NULL, &forced, err, sizeof err), DIST_SUM_HOST);
    ck_assert_int_eq(dist_sum_wish(&cpu, "auto", &forced, err, sizeof err), DIST_SUM_HOST);
    ck_assert_int_eq(dist_sum_wish(&cpu, "0", &forced, err, sizeof err), DIST_SUM_HOST);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(dist_sum_wish(&cpu, "1", &forced, err, sizeof err), -1);
    ck_assert(strstr(err, "RNNLAB_NCCL=1") && strstr(err, "cpu backend"));
    ck_assert_int_eq(dist_sum_wish(&gpu_plain, "1", &forced, err, sizeof err), -1);
    ck_assert(strstr(err, "this build has no NCCL") != NULL);
    ck_assert_int_eq(dist_sum_wish(&gpu_nccl, "yes", &forced, err, sizeof err), -1);
    ck_assert(strstr(err, "RNNLAB_NCCL must be auto, 0 or 1, not 'yes'") != NULL);
    ck_assert(strchr(err, '\n') == NULL);
}
END_TEST

/* The run's path: the device only when no process asked for the host; a
 * process that forced the device fails the run when another cannot. */
START_TEST(test_sum_settle)
{
    char err[256] = "";
    ck_assert_int_eq(dist_sum_settle(0, 0, err, sizeof err), DIST_SUM_DEVICE);
    ck_assert_int_eq(dist_sum_settle(0, 1, err, sizeof err), DIST_SUM_DEVICE);
    ck_assert_int_eq(dist_sum_settle(1, 0, err, sizeof err), DIST_SUM_HOST);
    ck_assert_str_eq(err, "");
    ck_assert_int_eq(dist_sum_settle(1, 1, err, sizeof err), -1);
    ck_assert(strstr(err, "RNNLAB_NCCL=1") && strstr(err, "cannot sum with NCCL"));
}
END_TEST

/* Alone there is nothing to sum: the host path, NCCL never opened, even
 * when forced or misspelt (the run of one does not read it). */
START_TEST(test_sum_start_alone)
{
    char err[256] = "";
    be_backend be = gpu_nccl;
    coll_calls = 0;
    ck_assert_int_eq(dist_sum_start(&be, err, sizeof err), DIST_SUM_HOST);
    setenv(DIST_NCCL_ENV, "1", 1);
    ck_assert_int_eq(dist_sum_start(&be, err, sizeof err), DIST_SUM_HOST);
    unsetenv(DIST_NCCL_ENV);
    ck_assert_int_eq(coll_calls, 0);
    ck_assert_str_eq(err, "");
}
END_TEST

#ifndef HAVE_MPI
/* Without MPI, a launch of several processes is refused in one line. */
START_TEST(test_refused_without_mpi)
{
    char err[256] = "";
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    ck_assert_int_eq(dist_init(err, sizeof err), -1);
    ck_assert(strstr(err, "built without MPI") != NULL);
    ck_assert(strchr(err, '\n') == NULL);
    ck_assert_int_eq(dist_size(), 1);
    setenv("OMPI_COMM_WORLD_SIZE", "1", 1);     /* mpirun -np 1: a run of one */
    ck_assert_int_eq(dist_init(err, sizeof err), 0);
    ck_assert_int_eq(dist_size(), 1);
    clear_env();
}
END_TEST
#endif

static Suite *dist_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("one");
    tcase_add_test(tc, test_launched_from_env);
    tcase_add_test(tc, test_run_of_one);
    tcase_add_test(tc, test_agree_alone);
    tcase_add_test(tc, test_sum_agree_alone);
    tcase_add_test(tc, test_parts);
    tcase_add_test(tc, test_sum_wish);
    tcase_add_test(tc, test_sum_settle);
    tcase_add_test(tc, test_sum_start_alone);
#ifndef HAVE_MPI
    tcase_add_test(tc, test_refused_without_mpi);
#endif
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(dist_suite());
}
