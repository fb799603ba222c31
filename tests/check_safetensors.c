/* check_safetensors.c - unit tests for safetensors.c: round trips, header
 * alignment, every malformed-header case the reader must reject (files
 * built byte by byte here), truncation at every length and a byte-flip
 * fuzz loop that must never crash. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "store/safetensors.h"

/* A scratch directory per test, removed afterwards. */
static char tmpdir[64];

static void setup(void)
{
    ck_assert_ptr_nonnull(fx_temp_dir(tmpdir, sizeof tmpdir, "check_st"));
}

static void teardown(void)
{
    ck_assert_int_eq(fx_remove_tree(tmpdir), 0);
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* File bytes: 8-byte length (hlen, or strlen(json) when hlen is -1), the
 * JSON, then ndata data bytes (0x11 filler). */
typedef struct blob { uint8_t *p; size_t n; } blob;

static blob make_raw(const char *json, long long hlen, size_t ndata)
{
    size_t jl = strlen(json);
    uint64_t h = hlen < 0 ? (uint64_t)jl : (uint64_t)hlen;
    blob b = { malloc(8 + jl + ndata + 1), 8 + jl + ndata };
    ck_assert_ptr_nonnull(b.p);
    for (int i = 0; i < 8; i++)
        b.p[i] = (uint8_t)(h >> (8 * i));
    memcpy(b.p + 8, json, jl);
    memset(b.p + 8 + jl, 0x11, ndata);
    return b;
}

/* Parses json+data and expects failure with a message containing want. */
static void expect_fail_n(const char *json, size_t ndata, const char *want)
{
    blob b = make_raw(json, -1, ndata);
    st_file f;
    char err[256] = "";
    int rc = st_parse(&f, b.p, b.n, "t.safetensors", err, sizeof err);
    ck_assert_msg(rc == -1, "accepted: %s", json);
    ck_assert_msg(strncmp(err, "t.safetensors: ", 15) == 0, "no file name: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
    ck_assert_ptr_null(strchr(err, '\n'));
    free(b.p);
}

static void expect_fail(const char *json, const char *want)
{
    expect_fail_n(json, 8, want);
}

static void expect_ok(const char *json, size_t ndata, int ntensors)
{
    blob b = make_raw(json, -1, ndata);
    st_file f;
    char err[256] = "";
    int rc = st_parse(&f, b.p, b.n, "t.safetensors", err, sizeof err);
    ck_assert_msg(rc == 0, "rejected %s: %s", json, err);
    ck_assert_int_eq(f.n, ntensors);
    st_close(&f);
    free(b.p);
}

static const char *VALID =
    "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

START_TEST(test_round_trip)
{
    float a[6] = { 1, -2, 3.5f, 4, 5, 6e-7f }, b[3] = { 7, 8, 9 }, s = 42;
    st_entry e[4] = {
        { "encoder.weight", a, 2, { 2, 3 } },
        { "decoder.bias", b, 1, { 3 } },
        { "scalar", &s, 0, { 0 } },
        { "empty", NULL, 2, { 0, 5 } },
    };
    char path[128], err[256] = "";
    path_in(path, sizeof path, "rt.safetensors");
    ck_assert_msg(st_write(path, e, 4, err, sizeof err) == 0, "%s", err);
    char tmp[140];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    ck_assert_int_ne(access(tmp, F_OK), 0);

    st_file f;
    ck_assert_msg(st_open(&f, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(f.n, 4);
    /* Header order is the order given. */
    ck_assert_str_eq(f.t[0].name, "encoder.weight");
    ck_assert_str_eq(f.t[1].name, "decoder.bias");
    ck_assert_str_eq(f.t[2].name, "scalar");
    ck_assert_str_eq(f.t[3].name, "empty");
    ck_assert_uint_eq(f.t[0].begin, 0);
    ck_assert_uint_eq(f.t[1].begin, 24);
    ck_assert_uint_eq(f.t[2].begin, 36);
    ck_assert_uint_eq(f.t[3].begin, 40);
    ck_assert_uint_eq(f.t[3].end, 40);

    float ra[6], rb[3], rs;
    int64_t sa[2] = { 2, 3 }, sb[1] = { 3 };
    ck_assert(st_read_f32(&f, "encoder.weight", 2, sa, ra, err, sizeof err) == 0);
    ck_assert(st_read_f32(&f, "decoder.bias", 1, sb, rb, err, sizeof err) == 0);
    ck_assert(st_read_f32(&f, "scalar", 0, NULL, &rs, err, sizeof err) == 0);
    ck_assert(st_read_f32(&f, "empty", 2, (int64_t[]){ 0, 5 }, NULL, err, sizeof err) == 0);
    ck_assert_mem_eq(ra, a, sizeof a);
    ck_assert_mem_eq(rb, b, sizeof b);
    ck_assert(rs == 42);
    ck_assert_ptr_nonnull(st_find(&f, "scalar"));
    ck_assert_ptr_null(st_find(&f, "nope"));
    st_close(&f);
}
END_TEST

START_TEST(test_overwrite)
{
    float a[2] = { 1, 2 }, b[1] = { 3 };
    st_entry e1 = { "x", a, 1, { 2 } }, e2 = { "y", b, 1, { 1 } };
    char path[128], err[256];
    path_in(path, sizeof path, "ow.safetensors");
    ck_assert(st_write(path, &e1, 1, err, sizeof err) == 0);
    ck_assert(st_write(path, &e2, 1, err, sizeof err) == 0);
    st_file f;
    ck_assert(st_open(&f, path, err, sizeof err) == 0);
    ck_assert_int_eq(f.n, 1);
    ck_assert_str_eq(f.t[0].name, "y");
    st_close(&f);
}
END_TEST

START_TEST(test_alignment)
{
    float v[3] = { 1, 2, 3 };
    char name[40], path[128], err[256];
    path_in(path, sizeof path, "al.safetensors");
    for (int len = 1; len < 30; len++) {
        memset(name, 'n', (size_t)len);
        name[len] = '\0';
        st_entry e = { name, v, 1, { 3 } };
        ck_assert(st_write(path, &e, 1, err, sizeof err) == 0);
        st_file f;
        ck_assert_msg(st_open(&f, path, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(f.data_off % 8, 0);
        ck_assert_uint_eq(f.size, f.data_off + sizeof v);
        /* Padding is spaces. */
        ck_assert_int_eq(f.data[f.data_off - 1] == ' ' || f.data[f.data_off - 1] == '}', 1);
        st_close(&f);
    }
}
END_TEST

START_TEST(test_escaped_names)
{
    float v = 1;
    st_entry e = { "we\"ird\\name\t", &v, 1, { 1 } };
    char path[128], err[256];
    path_in(path, sizeof path, "esc.safetensors");
    ck_assert_msg(st_write(path, &e, 1, err, sizeof err) == 0, "%s", err);
    st_file f;
    ck_assert_msg(st_open(&f, path, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(f.t[0].name, "we\"ird\\name\t");
    st_close(&f);
}
END_TEST

START_TEST(test_write_errors)
{
    float v[2] = { 1, 2 };
    char path[128], err[256] = "";
    st_entry dup[2] = { { "a", v, 1, { 1 } }, { "a", v + 1, 1, { 1 } } };
    path_in(path, sizeof path, "dup.safetensors");
    ck_assert_int_eq(st_write(path, dup, 2, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "duplicate"));
    ck_assert_int_ne(access(path, F_OK), 0);

    st_entry neg = { "n", v, 1, { -1 } };
    ck_assert_int_eq(st_write(path, &neg, 1, err, sizeof err), -1);
    st_entry deep = { "d", v, 5, { 1, 1, 1, 1 } };
    ck_assert_int_eq(st_write(path, &deep, 1, err, sizeof err), -1);

    st_entry ok = { "a", v, 1, { 2 } };
    path_in(path, sizeof path, "no/such/dir/x.safetensors");
    ck_assert_int_eq(st_write(path, &ok, 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "x.safetensors"));
}
END_TEST

START_TEST(test_open_errors)
{
    st_file f;
    char path[128], err[256] = "";
    path_in(path, sizeof path, "missing.safetensors");
    ck_assert_int_eq(st_open(&f, path, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "missing.safetensors"));
    ck_assert_int_eq(st_open(&f, tmpdir, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
}
END_TEST

START_TEST(test_short_and_length)
{
    st_file f;
    char err[256] = "";
    uint8_t z[8] = { 0 };
    for (size_t n = 0; n < 8; n++) {
        ck_assert_int_eq(st_parse(&f, z, n, "t", err, sizeof err), -1);
        ck_assert_ptr_nonnull(strstr(err, "too short"));
    }
    /* Length zero: no JSON at all. */
    ck_assert_int_eq(st_parse(&f, z, 8, "t", err, sizeof err), -1);

    blob b = make_raw(VALID, 1000, 8);
    ck_assert_int_eq(st_parse(&f, b.p, b.n, "t", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "exceeds the file size"));
    free(b.p);
    b = make_raw(VALID, 200LL * 1024 * 1024, 8);
    ck_assert_int_eq(st_parse(&f, b.p, b.n, "t", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "absurd"));
    free(b.p);
    b = make_raw(VALID, -1, 8);
    b.p[7] = 0xFF;  /* 2^63-ish: must not wrap around */
    ck_assert_int_eq(st_parse(&f, b.p, b.n, "t", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "absurd"));
    free(b.p);
}
END_TEST

START_TEST(test_bad_json)
{
    expect_fail("{\"a\":", "not valid JSON");
    expect_fail("{abc}", "not valid JSON");
    expect_fail("[1,2]", "does not start with '{'");
    expect_fail(" {}", "does not start with '{'");
    expect_fail("\"str\"", "does not start with '{'");
    expect_fail("{}xyz", "trailing data");
    expect_fail("{} {}", "trailing data");
    expect_fail("{\"a\xff\":1}", "UTF-8");
    expect_fail("{\"\xc0\xaf\":1}", "UTF-8");          /* overlong */
    expect_fail("{\"\xed\xa0\x80\":1}", "UTF-8");      /* surrogate */
    /* Embedded NUL inside the header. */
    blob b = make_raw(VALID, -1, 8);
    b.p[8 + 3] = '\0';
    st_file f;
    char err[256];
    ck_assert_int_eq(st_parse(&f, b.p, b.n, "t", err, sizeof err), -1);
    free(b.p);
}
END_TEST

START_TEST(test_bad_entry)
{
    expect_fail("{\"a\":5}", "a: entry is not an object");
    expect_fail("{\"a\":[1]}", "not an object");
    /* Names are shown without control characters (terminal escapes). */
    expect_fail("{\"a\\u001b[2J\":5}", "a?[2J: entry is not an object");
    expect_fail("{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype is missing");
    expect_fail("{\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype is missing");
    expect_fail("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", "unknown dtype");
    expect_fail("{\"a\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "unknown dtype");
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
                "duplicate tensor name \"a\"");
    expect_fail("{\"__metadata__\":5,\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                "\"data_offsets\":[0,8]}}", "__metadata__ is not an object");
    expect_fail("{\"__metadata__\":{\"k\":1},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                "\"data_offsets\":[0,8]}}", "__metadata__ values");
}
END_TEST

START_TEST(test_bad_shape)
{
#define SHAPE(s) "{\"a\":{\"dtype\":\"F32\",\"shape\":" s ",\"data_offsets\":[0,8]}}"
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "shape is missing");
    expect_fail(SHAPE("2"), "shape is missing or not an array");
    expect_fail(SHAPE("{}"), "not an array");
    expect_fail(SHAPE("[-2]"), "non-negative integers");
    expect_fail(SHAPE("[2.5]"), "non-negative integers");
    expect_fail(SHAPE("[\"2\"]"), "non-negative integers");
    expect_fail(SHAPE("[null]"), "non-negative integers");
    expect_fail(SHAPE("[1e300]"), "non-negative integers");
    expect_fail(SHAPE("[1,1,1,1,2]"), "5 dimensions");
    expect_fail(SHAPE("[3]"), "does not match its shape");
    /* 2^53 cubed overflows 64 bits: must be caught, not wrapped. */
    expect_fail(SHAPE("[9007199254740992,9007199254740992,9007199254740992]"),
                "does not match");
    /* 2^32 * 2^30 * 2 elements * 4 bytes wraps to 0 in 64 bits. */
    expect_fail_n("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,1073741824,4],"
                  "\"data_offsets\":[0,0]}}", 0, "does not match");
#undef SHAPE
}
END_TEST

START_TEST(test_bad_offsets)
{
#define OFFS(o) "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" o "}}"
    expect_fail("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", "data_offsets must be");
    expect_fail(OFFS("5"), "data_offsets must be");
    expect_fail(OFFS("[0]"), "data_offsets must be");
    expect_fail(OFFS("[0,4,8]"), "data_offsets must be");
    expect_fail(OFFS("[0,8.5]"), "data_offsets must be");
    expect_fail(OFFS("[-8,0]"), "data_offsets must be");
    expect_fail(OFFS("[\"0\",8]"), "data_offsets must be");
    expect_fail(OFFS("[8,0]"), "begin 8 is after end 0");
    expect_fail(OFFS("[0,16]"), "beyond the data section");
    expect_fail(OFFS("[0,1e30]"), "data_offsets must be");
    expect_fail(OFFS("[4,8]"), "does not match");
    expect_fail_n(OFFS("[0,8]"), 12, "not covered");        /* trailing bytes */
    expect_fail_n(OFFS("[4,12]"), 12, "leave a gap");
    expect_fail_n("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                  12, "overlap");
    expect_fail_n("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                  8, "overlap");
    expect_fail_n("{}", 4, "no tensors");
#undef OFFS
}
END_TEST

START_TEST(test_accepts)
{
    expect_ok("{}", 0, 0);
    expect_ok("{\"__metadata__\":{\"format\":\"pt\"}}", 0, 0);
    expect_ok(VALID, 8, 1);
    expect_ok("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}   ", 8, 1);
    /* Out-of-order offsets are fine as long as they tile the data. */
    expect_ok("{\"b\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[8,12]},"
              "\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
              "\"z\":{\"dtype\":\"BF16\",\"shape\":[0,7],\"data_offsets\":[12,12]},"
              "\"__metadata__\":{\"k\":\"v\"}}", 12, 3);
    expect_ok("{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}", 4, 1);
    static const char *types[] = { "F64", "F32", "F16", "BF16", "I64", "I32",
                                   "I16", "I8", "U8", "BOOL" };
    static const int sizes[] = { 8, 4, 2, 2, 8, 4, 2, 1, 1, 1 };
    for (int i = 0; i < 10; i++) {
        char js[160];
        snprintf(js, sizeof js, "{\"x\":{\"dtype\":\"%s\",\"shape\":[3],"
                 "\"data_offsets\":[0,%d]}}", types[i], 3 * sizes[i]);
        expect_ok(js, (size_t)(3 * sizes[i]), 1);
    }
}
END_TEST

START_TEST(test_read_f32_checks)
{
    blob b = make_raw("{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                      "\"f\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[8,16]}}",
                      -1, 16);
    st_file f;
    char err[256];
    ck_assert(st_parse(&f, b.p, b.n, "t", err, sizeof err) == 0);
    float out[2];
    ck_assert_int_eq(st_read_f32(&f, "i", 1, (int64_t[]){ 2 }, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "i has dtype I32, expected F32");
    ck_assert_int_eq(st_read_f32(&f, "f", 1, (int64_t[]){ 2 }, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "f has shape [2,1], expected [2]");
    ck_assert_int_eq(st_read_f32(&f, "f", 2, (int64_t[]){ 1, 2 }, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "f has shape [2,1], expected [1,2]");
    ck_assert_int_eq(st_read_f32(&f, "g", 1, (int64_t[]){ 2 }, out, err, sizeof err), -1);
    ck_assert_str_eq(err, "tensor g is missing");
    ck_assert_int_eq(st_read_f32(&f, "f", 2, (int64_t[]){ 2, 1 }, out, err, sizeof err), 0);
    st_close(&f);
    free(b.p);
}
END_TEST

/* A small valid file, as st_write makes it. */
static blob valid_file(void)
{
    float a[6] = { 1, 2, 3, 4, 5, 6 }, c[2] = { -1, -2 };
    st_entry e[2] = { { "w", a, 2, { 3, 2 } }, { "b", c, 1, { 2 } } };
    char path[128], err[256];
    path_in(path, sizeof path, "v.safetensors");
    ck_assert(st_write(path, e, 2, err, sizeof err) == 0);
    blob b;
    b.p = (uint8_t *)fx_read_file(path, &b.n);
    return b;
}

START_TEST(test_truncation)
{
    blob b = valid_file();
    st_file f;
    char err[256];
    ck_assert(st_parse(&f, b.p, b.n, "t", err, sizeof err) == 0);
    st_close(&f);
    for (size_t n = 0; n < b.n; n++) {
        /* A fresh copy of exactly n bytes, so valgrind sees any over-read. */
        uint8_t *p = malloc(n ? n : 1);
        memcpy(p, b.p, n);
        err[0] = '\0';
        ck_assert_msg(st_parse(&f, p, n, "t", err, sizeof err) == -1,
                      "accepted at length %zu", n);
        ck_assert_msg(strncmp(err, "t: ", 3) == 0, "%s", err);
        free(p);
    }
    free(b.p);
}
END_TEST

START_TEST(test_fuzz)
{
    blob b = valid_file();
    uint64_t x = 0x2545F4914F6CDD1DULL;
    uint8_t *p = malloc(b.n);
    int accepted = 0;
    for (int it = 0; it < 4000; it++) {
        memcpy(p, b.p, b.n);
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        int flips = 1 + (int)(x % 4);
        for (int k = 0; k < flips; k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            /* Bias towards the header, where the interesting bytes are. */
            size_t at = (x >> 8) % (k & 1 ? b.n : 8 + (b.n - 8) / 2);
            p[at] = (uint8_t)(x >> 32);
        }
        st_file f;
        char err[256];
        if (st_parse(&f, p, b.n, "t", err, sizeof err) == 0) {
            accepted++;
            for (int i = 0; i < f.n; i++) {
                ck_assert(f.t[i].begin <= f.t[i].end);
                ck_assert(f.data_off + f.t[i].end <= f.size);
            }
            st_close(&f);
        } else {
            ck_assert_ptr_null(strchr(err, '\n'));
        }
    }
    ck_assert_int_gt(accepted, 0);   /* data-byte flips stay valid */
    free(p);
    free(b.p);
}
END_TEST

static Suite *st_suite(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_overwrite);
    tcase_add_test(tc, test_alignment);
    tcase_add_test(tc, test_escaped_names);
    tcase_add_test(tc, test_write_errors);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_short_and_length);
    tcase_add_test(tc, test_bad_json);
    tcase_add_test(tc, test_bad_entry);
    tcase_add_test(tc, test_bad_shape);
    tcase_add_test(tc, test_bad_offsets);
    tcase_add_test(tc, test_accepts);
    tcase_add_test(tc, test_read_f32_checks);
    tcase_add_test(tc, test_truncation);
    tcase_add_test(tc, test_fuzz);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(st_suite());
}
