/* check_util.c - unit tests for the shared utilities of src/util: growable arrays and the text buffer (buf.c), fsync of files and directories (durable.c), the memory available (mem.c). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fixture.h"
#include "util/buf.h"
#include "util/durable.h"
#include "util/jscan.h"
#include <cjson/cJSON.h>
#include "util/mem.h"

/* ---- grow_array ---------------------------------------------------------- */

START_TEST(test_grow_from_empty)
{
    int *a = NULL;
    size_t cap = 0;
    ck_assert_int_eq(GROW_ARRAY(&a, &cap, 1, 16), 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(cap, 16);
    ck_assert_int_eq(GROW_ARRAY(&a, &cap, 16, 16), 0);
    ck_assert_uint_eq(cap, 16);
    free(a);
}
END_TEST

START_TEST(test_grow_doubles_and_keeps)
{
    long *a = NULL;
    size_t cap = 0;
    for (long i = 0; i < 1000; i++) {
        ck_assert_int_eq(GROW_ARRAY(&a, &cap, (size_t)i + 1, 4), 0);
        a[i] = i * 7;
    }
    ck_assert_uint_eq(cap, 1024);               /* 4, 8, ..., 1024 */
    ck_assert_int_eq(GROW_ARRAY(&a, &cap, 1500, 4), 0);
    ck_assert_uint_eq(cap, 2048);
    for (long i = 0; i < 1000; i++)
        ck_assert_int_eq(a[i], i * 7);
    free(a);
}
END_TEST

START_TEST(test_grow_first_zero)
{
    char *a = NULL;
    size_t cap = 0;
    ck_assert_int_eq(GROW_ARRAY(&a, &cap, 3, 0), 0);
    ck_assert_uint_eq(cap, 4);                  /* 1, 2, 4 */
    free(a);
}
END_TEST

/* A refused growth leaves the array, its contents and its capacity. */
static void expect_refused(size_t need, size_t size, int err)
{
    char *a = NULL;
    size_t cap = 0;
    ck_assert_int_eq(GROW_ARRAY(&a, &cap, 8, 8), 0);
    memcpy(a, "kept.", 6);
    char *was = a;
    errno = 0;
    ck_assert_int_eq(grow_array(&a, &cap, need, size, 8), -1);
    ck_assert_int_eq(errno, err);
    ck_assert_ptr_eq(a, was);
    ck_assert_uint_eq(cap, 8);
    ck_assert_str_eq(a, "kept.");
    free(a);
}

START_TEST(test_grow_overflow_refused)
{
    expect_refused(SIZE_MAX / 8 + 1, 8, ENOMEM);  /* n * sz would wrap */
    expect_refused(SIZE_MAX, 2, ENOMEM);
    expect_refused(9, SIZE_MAX, ENOMEM);
}
END_TEST

START_TEST(test_grow_zero_size_refused)
{
    expect_refused(16, 0, ENOMEM);
}
END_TEST

START_TEST(test_grow_out_of_memory_keeps)
{
    expect_refused(SIZE_MAX / 2, 1, ENOMEM);    /* fits a size_t, not memory */
}
END_TEST

/* ---- strbuf -------------------------------------------------------------- */

START_TEST(test_strbuf_append)
{
    strbuf b = STRBUF_INIT;
    ck_assert_int_eq(strbuf_append(&b, "ab\0cd", 5), 0);
    ck_assert_uint_eq(b.len, 5);
    ck_assert_int_eq(memcmp(b.p, "ab\0cd", 6), 0);   /* NUL after the bytes */
    ck_assert_int_eq(strbuf_puts(&b, "ef"), 0);
    ck_assert_uint_eq(b.len, 7);
    ck_assert_str_eq(b.p + 3, "cdef");
    ck_assert_int_eq(strbuf_append(&b, NULL, 0), 0);
    ck_assert_uint_eq(b.len, 7);
    strbuf_free(&b);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.len + b.cap, 0);
}
END_TEST

START_TEST(test_strbuf_grows)
{
    strbuf b = STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(strbuf_puts(&b, "0123456789"), 0);
    ck_assert_uint_eq(b.len, 10000);
    ck_assert_uint_gt(b.cap, b.len);
    for (size_t i = 0; i < b.len; i++)
        ck_assert_int_eq(b.p[i], '0' + (int)(i % 10));
    ck_assert_int_eq(b.p[b.len], '\0');
    strbuf_free(&b);
}
END_TEST

START_TEST(test_strbuf_printf)
{
    strbuf b = STRBUF_INIT;
    ck_assert_int_eq(strbuf_printf(&b, "[%d,%s]", 42, "x"), 0);
    ck_assert_int_eq(strbuf_printf(&b, "%zu%%", (size_t)7), 0);
    ck_assert_str_eq(b.p, "[42,x]7%");
    ck_assert_uint_eq(b.len, 8);
    ck_assert_int_eq(strbuf_printf(&b, "%s", ""), 0);
    ck_assert_uint_eq(b.len, 8);
    ck_assert_int_eq(strbuf_printf(&b, "%600d|", 5), 0);  /* past the first block */
    ck_assert_uint_eq(b.len, 8 + 601);
    ck_assert_int_eq(b.p[b.len - 2], '5');
    ck_assert_str_eq(b.p + b.len - 1, "|");
    strbuf_free(&b);
}
END_TEST

START_TEST(test_strbuf_reserve)
{
    strbuf b = STRBUF_INIT;
    ck_assert_int_eq(strbuf_reserve(&b, 1000), 0);
    ck_assert_uint_ge(b.cap, 1001);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(strbuf_puts(&b, "abc"), 0);
    char *was = b.p;
    errno = 0;
    ck_assert_int_eq(strbuf_reserve(&b, SIZE_MAX - 1), -1);   /* len + add + 1 wraps */
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(strbuf_append(&b, "x", SIZE_MAX / 2), -1);
    ck_assert_ptr_eq(b.p, was);
    ck_assert_str_eq(b.p, "abc");
    ck_assert_uint_eq(b.len, 3);
    strbuf_free(&b);
}
END_TEST

/* ---- durable ------------------------------------------------------------ */

START_TEST(test_sync_file_and_dir)
{
    char dir[64], path[128];
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "check_util"));
    snprintf(path, sizeof path, "%s/file", dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(fputs("kept", fp) < 0, 0);
    ck_assert_int_eq(durable_sync_file(fp), 0);
    ck_assert_int_eq(fclose(fp), 0);
    size_t len;
    char *text = fx_read_file(path, &len);
    ck_assert_str_eq(text, "kept");
    free(text);
    ck_assert_int_eq(durable_sync_dir(dir), 0);
    ck_assert_int_eq(durable_sync_parent(path), 0);
    ck_assert_int_eq(durable_sync_parent("no-slash"), 0);     /* "." */
    ck_assert_int_eq(durable_sync_parent("/below-root"), 0);  /* "/" */
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

/* durable_open_parent opens the directory holding the path: the same
 * directory as opening it by name. */
START_TEST(test_open_parent)
{
    char dir[64], path[128];
    struct stat a, b;
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "check_util"));
    snprintf(path, sizeof path, "%s/not-yet", dir);
    int fd = durable_open_parent(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(fstat(fd, &a), 0);
    ck_assert_int_eq(stat(dir, &b), 0);
    ck_assert(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
    ck_assert_int_eq(fsync(fd), 0);
    close(fd);
    snprintf(path, sizeof path, "%s/missing/file", dir);
    errno = 0;
    ck_assert_int_eq(durable_open_parent(path), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

/* ---- mem ---------------------------------------------------------------- */

START_TEST(test_mem_sizes)
{
    double b = 0;
    char s[32];
    ck_assert_int_eq(mem_parse("4096", &b), 0);
    ck_assert(b == 4096.0);
    ck_assert_int_eq(mem_parse("1.5G", &b), 0);
    ck_assert(b == 1.5 * 1024 * 1024 * 1024);
    ck_assert_int_eq(mem_parse("2t", &b), 0);
    ck_assert(b == 2.0 * 1024 * 1024 * 1024 * 1024);
    ck_assert_int_eq(mem_parse("", &b), -1);
    ck_assert_int_eq(mem_parse("12X", &b), -1);
    ck_assert_int_eq(mem_parse("1GB", &b), -1);
    ck_assert_int_eq(mem_parse("-1", &b), -1);
    ck_assert_int_eq(mem_parse("inf", &b), -1);
    mem_format(512, s, sizeof s);
    ck_assert_str_eq(s, "512 bytes");
    mem_format(1536, s, sizeof s);
    ck_assert_str_eq(s, "1.5 KiB");
    mem_format(412.3 * 1024 * 1024 * 1024, s, sizeof s);
    ck_assert_str_eq(s, "412.3 GiB");
}
END_TEST

/* The override wins; without it, /proc/meminfo's figure (on Linux). */
START_TEST(test_mem_available)
{
    double b = 0;
    char err[128] = "";
    ck_assert_int_eq(setenv(MEM_LIMIT_ENV, "3M", 1), 0);
    ck_assert_int_eq(mem_available(&b, err, sizeof err), 1);
    ck_assert(b == 3.0 * 1024 * 1024);
    ck_assert_int_eq(setenv(MEM_LIMIT_ENV, "3 M", 1), 0);
    ck_assert_int_eq(mem_available(&b, err, sizeof err), -1);
    ck_assert_str_eq(err, "RNNLAB_MEMORY_LIMIT: '3 M' is not a size (bytes, or a number "
                     "with K, M, G or T)");
    unsetenv(MEM_LIMIT_ENV);
    if (access("/proc/meminfo", R_OK) == 0) {
        ck_assert_int_eq(mem_available(&b, err, sizeof err), 1);
        ck_assert(b > 0);
    }
}
END_TEST

START_TEST(test_sync_missing_keeps_errno)
{
    char dir[64], path[128];
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "check_util"));
    snprintf(path, sizeof path, "%s/missing", dir);
    errno = 0;
    ck_assert_int_eq(durable_sync_dir(path), -1);
    ck_assert_int_eq(errno, ENOENT);
    snprintf(path, sizeof path, "%s/missing/file", dir);
    errno = 0;
    ck_assert_int_eq(durable_sync_parent(path), -1);
    ck_assert_int_eq(errno, ENOENT);
    snprintf(path, sizeof path, "%s/file", dir);
    fx_write_text(path, "x", 1);
    errno = 0;
    ck_assert_int_eq(durable_sync_dir(path), -1);            /* not a directory */
    ck_assert_int_eq(errno, ENOTDIR);
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

START_TEST(test_sync_pipe_fails)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    FILE *fp = fdopen(fds[1], "w");
    ck_assert_ptr_nonnull(fp);
    errno = 0;
    ck_assert_int_eq(durable_sync_file(fp), -1);             /* no fsync on a pipe */
    ck_assert_int_eq(errno, EINVAL);
    fclose(fp);
    close(fds[0]);
}
END_TEST

/* ---- jscan: the same verdict and end as cJSON on len bytes at s */

static void same_as_cjson(const char *s, size_t len)
{
    const char *end = NULL;
    size_t at = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    int ok = jscan_value(s, len, &at);
    ck_assert_msg(ok == (j != NULL), "'%.*s': jscan %d, cJSON %d", (int)len, s, ok, j != NULL);
    if (j)
        ck_assert_msg(at == (size_t)(end - s), "'%.*s': jscan ends at %zu, cJSON at %zu",
                      (int)len, s, at, (size_t)(end - s));
    cJSON_Delete(j);
}

START_TEST(test_jscan_cases)
{
    static const char *cases[] = {
        "{}", "[]", "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"} ", " \t\n 12 ", "\"s\" ",
        "true ", "false ", "null ", "null", "true", "false", "nul ", "[1,]", "[,1]", "{\"a\" 1}",
        "{\"a\":}", "{a:1}", "{\"a\":1,}", "[1 2]", "[", "{", "]", "\"", "\"\\", "\"\\\"",
        "-", "-.5", "0123", "1.", "1e", "1e+", ".5", "+1", "1.5e3x", "0x10", "-0", "1e999",
        "\"\\u00e9\\n\\/\"", "\"\\uZZZZ\"", "\"\\u12\"", "\"\\ud83d\\ude00\"",
        "\"\\ud83d\"", "\"\\ude00\"", "\"\\ud83d\\u0041\"", "\"\\ud83dx\\ude00\"",
        "\"\\q\"", "\"a\x01b\"", "\xef\xbb\xbf{} ", "\xef\xbb\xbf{}", "\x01[\x1f1\x02]",
        "[1]   ", "{\"k\":[[[]]]}x", "   ", "",
        "123456789012345678901234567890123456789012345678901234567890123",
        "1234567890123456789012345678901234567890123456789012345678901234",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        same_as_cjson(cases[i], strlen(cases[i]));
    same_as_cjson("[0]\0", 4);                 /* a NUL is whitespace too */
    same_as_cjson("\"a\0b\"", 5);
}
END_TEST

START_TEST(test_jscan_nesting)
{
    /* cJSON takes 1000 levels of arrays and objects, not 1001 */
    static char s[7 * 1001 + 16];
    for (int depth = 999; depth <= 1001; depth++) {
        size_t n = 0;
        for (int d = 0; d < depth; d++)
            n += (size_t)sprintf(s + n, d % 2 ? "{\"k\":" : "[");
        s[n++] = '1';
        for (int d = depth - 1; d >= 0; d--)
            s[n++] = d % 2 ? '}' : ']';
        same_as_cjson(s, n);
    }
}
END_TEST

START_TEST(test_jscan_mutations)
{
    /* Texts near JSON: a session-like object with bytes replaced,
     * inserted or removed; every one judged as cJSON judges it. */
    static const char base[] = "{\"a\":[1,-2.5e3,true,false,null],\"s\":\"x\\u00e9\\ud83d"
                               "\\ude00\\\"\",\"o\":{\"k\":[[],{}]}}";
    static const char alphabet[] = "{}[]\",:\\u0123456789abcdefABCDEF-+.eE tnrsul\x01\xef";
    char s[sizeof base + 8];
    uint32_t r = 12345;
    for (int iter = 0; iter < 50000; iter++) {
        size_t n = sizeof base - 1;
        memcpy(s, base, n);
        for (int k = 0; k < 1 + iter % 3; k++) {
            r = r * 1664525u + 1013904223u;
            size_t pos = (r >> 8) % n, op = (r >> 4) % 3;
            char c = alphabet[(r >> 20) % (sizeof alphabet - 1)];
            if (op == 0) {
                s[pos] = c;
            } else if (op == 1 && n + 1 < sizeof s) {
                memmove(s + pos + 1, s + pos, n - pos);
                s[pos] = c;
                n++;
            } else if (n > 1) {
                memmove(s + pos, s + pos + 1, n - pos - 1);
                n--;
            }
        }
        same_as_cjson(s, (size_t)(r >> 28) % 2 ? n : n - n / 3);
    }
}
END_TEST

static Suite *util_suite(void)
{
    Suite *s = suite_create("util");
    TCase *tg = tcase_create("grow_array");
    tcase_add_test(tg, test_grow_from_empty);
    tcase_add_test(tg, test_grow_doubles_and_keeps);
    tcase_add_test(tg, test_grow_first_zero);
    tcase_add_test(tg, test_grow_overflow_refused);
    tcase_add_test(tg, test_grow_zero_size_refused);
    tcase_add_test(tg, test_grow_out_of_memory_keeps);
    suite_add_tcase(s, tg);

    TCase *tb = tcase_create("strbuf");
    tcase_add_test(tb, test_strbuf_append);
    tcase_add_test(tb, test_strbuf_grows);
    tcase_add_test(tb, test_strbuf_printf);
    tcase_add_test(tb, test_strbuf_reserve);
    suite_add_tcase(s, tb);

    TCase *td = tcase_create("durable");
    tcase_add_test(td, test_sync_file_and_dir);
    tcase_add_test(td, test_open_parent);
    tcase_add_test(td, test_mem_sizes);
    tcase_add_test(td, test_mem_available);
    tcase_add_test(td, test_sync_missing_keeps_errno);
    tcase_add_test(td, test_sync_pipe_fails);
    suite_add_tcase(s, td);

    TCase *tj = tcase_create("jscan");
    tcase_add_test(tj, test_jscan_cases);
    tcase_add_test(tj, test_jscan_nesting);
    tcase_add_test(tj, test_jscan_mutations);
    suite_add_tcase(s, tj);
    return s;
}

int main(void)
{
    return fx_run_suite(util_suite());
}
