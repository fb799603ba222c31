/* fixture.c - helpers the Check suites share (see fixture.h). */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

char *fx_temp_dir(char *dir, size_t len, const char *prefix)
{
    int n = snprintf(dir, len, "/tmp/%s.XXXXXX", prefix);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return mkdtemp(dir);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path) == 0 ? 0 : -1;
}

int fx_remove_tree(const char *path)
{
    /* Depth first, so a directory is empty when its turn comes; links are
     * removed, not followed. */
    return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

const char *fx_data_file(char *buf, size_t len, const char *name)
{
    const char *src = getenv("srcdir");
    snprintf(buf, len, "%s/tests/data/%s", src ? src : ".", name);
    return buf;
}

void fx_write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, fp), len);
    ck_assert_int_eq(fclose(fp), 0);
}

void fx_write_text(const char *path, const char *text, int times)
{
    size_t n = strlen(text);
    char *all = malloc(n * (size_t)times + 1);
    ck_assert_ptr_nonnull(all);
    for (int i = 0; i < times; i++)
        memcpy(all + n * (size_t)i, text, n);
    fx_write_file(path, all, n * (size_t)times);
    free(all);
}

char *fx_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    ck_assert_int_ge(n, 0);
    ck_assert_int_eq(fseek(fp, 0, SEEK_SET), 0);
    char *buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    if (len)
        *len = (size_t)n;
    return buf;
}

char *fx_sentences(size_t *len)
{
    static const char *lines[] = {
        "the cat sat on the mat.\n", "a dog ran to the park.\n",
        "the bird sang in the tree.\n", "we saw the moon at night.\n"};
    size_t cap = 24000, n = 0;
    char *s = malloc(cap + 64);
    ck_assert_ptr_nonnull(s);
    for (int i = 0; n < cap; i++) {
        const char *l = lines[(i * 7 + i / 4) % 4];
        size_t k = strlen(l);
        memcpy(s + n, l, k);
        n += k;
    }
    *len = n;
    return s;
}

static int run(Suite *s, enum fork_status fork)
{
    SRunner *sr = srunner_create(s);
    if (fork != CK_FORK_GETENV)
        srunner_set_fork_status(sr, fork);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int fx_run_suite(Suite *s)
{
    return run(s, CK_FORK_GETENV);
}

int fx_run_suite_nofork(Suite *s)
{
    return run(s, CK_NOFORK);
}
