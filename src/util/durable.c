/* durable.c - fsync of files and directories, for writes that must survive a crash. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/durable.h"

int durable_sync_file(FILE *fp)
{
    return fflush(fp) != 0 || fsync(fileno(fp)) != 0 ? -1 : 0;
}

static int durable_open_dir(const char *dir)
{
    return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* fsync(fd), then close(fd), keeping fsync's errno. */
static int durable_sync_close(int fd)
{
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc == 0 ? 0 : -1;
}

int durable_sync_dir(const char *dir)
{
    return durable_sync_close(durable_open_dir(dir));
}

int durable_open_parent(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return -1;
    char *slash = strrchr(copy, '/');
    const char *dir = ".";
    if (slash == copy)
        dir = "/";
    else if (slash) {
        *slash = '\0';
        dir = copy;
    }
    int fd = durable_open_dir(dir);
    int saved = errno;
    free(copy);
    errno = saved;
    return fd;
}

int durable_sync_parent(const char *path)
{
    return durable_sync_close(durable_open_parent(path));
}
