/* check_dist.c - unit tests for src/dist in a run of one: the launcher's environment, the answers without MPI, the agreement on a failure; tests/mpi.sh runs several processes. */
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
