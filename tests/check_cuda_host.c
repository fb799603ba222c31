/* check_cuda_host.c - the parts of the CUDA backend that run without a
 * GPU: the dropout hash compiled from the CUDA source equals rng.c's, the
 * precision names round-trip, and with no device every entry point fails
 * cleanly with a reason instead of crashing. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "backend_cuda.h"
#include "rng.h"

START_TEST(hash_matches_rng)
{
    if (!be_cuda_built())
        return;
    rng_state r;
    rng_seed(&r, 3);
    for (int i = 0; i < 200000; i++) {
        /* model.c's site keys are large products; counters run to n */
        uint64_t key = i < 1000 ? (uint64_t)i : rng_next(&r);
        uint64_t ctr = i % 3 == 0 ? (uint64_t)i : rng_next(&r) >> (i % 40);
        float a = rng_hash_uniform(key, ctr), b = be_cuda_hash_uniform(key, ctr);
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

int main(void)
{
    Suite *s = suite_create("cuda_host");
    TCase *tc = tcase_create("host");
    tcase_add_test(tc, hash_matches_rng);
    tcase_add_test(tc, precision_names);
    tcase_add_test(tc, no_device_is_clean);
    tcase_add_test(tc, describe_refuses_cpu);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
