/* common.c - the harnesses' shared helpers (see common.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sanitizer/common_interface_defs.h>

/* ---- the scratch directory ---- */

static char scratch[512];
static pid_t scratch_owner;

/* Removes path and what is below it (the scratch tree is flat or one
 * level deep: sessions beside their files). */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            struct stat sb;
            if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
                remove_tree(sub);
            else
                unlink(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

static void remove_scratch(void)
{
    /* Only the process that made it: libFuzzer's -fork children exit too. */
    if (scratch[0] && getpid() == scratch_owner)
        remove_tree(scratch);
}

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    remove_scratch();        /* abort() skips atexit */
    abort();
}

const char *fz_scratch_dir(const char *name)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(scratch, sizeof scratch, "%s/rnnlab-fuzz-%s.XXXXXX", tmp, name);
    if (!mkdtemp(scratch))
        fz_fail("cannot make a scratch directory under %s: %s", tmp, strerror(errno));
    scratch_owner = getpid();
    atexit(remove_scratch);
    /* and when a sanitizer stops the process */
    __sanitizer_set_death_callback(remove_scratch);
    return scratch;
}

const char *fz_path(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
    return buf;
}

void fz_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        fz_fail("cannot write %s: %s", path, strerror(errno));
}

uint8_t *fz_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    int ok = 1;
    for (;;) {
        if (n == cap) {
            size_t grown = cap ? 2 * cap : 4096;
            uint8_t *p = realloc(buf, grown);
            if (!p) {
                ok = 0;
                break;
            }
            buf = p;
            cap = grown;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        ok = 0;
    fclose(f);
    if (!ok) {
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

void fz_check_message(const char *what, const char *msg)
{
    if (!msg[0])
        fz_fail("%s failed without a message", what);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            fz_fail("%s: message has control character 0x%02x: %s", what, *p, msg);
}

/* ---- the capped backend ---- */

static be_backend capped, *inner;
static size_t alloc_cap;

static void *capped_alloc(be_backend *be, size_t bytes)
{
    (void)be;
    return bytes > alloc_cap ? NULL : inner->alloc(inner, bytes);
}

be_backend *fz_capped_backend(size_t cap)
{
    if (!inner) {
        inner = be_cpu_create();
        if (!inner)
            fz_fail("cannot create the CPU backend");
        /* Every operation but alloc is the CPU's own; they find their
         * state through impl, which the copy shares. */
        capped = *inner;
        capped.alloc = capped_alloc;
    }
    alloc_cap = cap;
    return &capped;
}
