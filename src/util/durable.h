/* durable.h - making what was written survive a crash: fsync of an open file, of a directory, and of the directory a path was renamed into. */
#ifndef UTIL_DURABLE_H
#define UTIL_DURABLE_H
#include <stdio.h>

/* Flushes fp's buffered output and fsyncs its file; fp stays open and the
 * caller's.  Returns 0, or -1 with errno from the step that failed. */
int durable_sync_file(FILE *fp);
/* Opens the directory dir and fsyncs it, so that the names made or renamed
 * in it last.  Returns 0, or -1 with errno set (ENOENT when it is missing,
 * ENOTDIR when it is not a directory). */
int durable_sync_dir(const char *dir);
/* Opens the directory holding path (see durable_sync_parent) for reading,
 * to fsync later.  Returns the descriptor, or -1 with errno set. */
int durable_open_parent(const char *path);
/* durable_sync_dir on the directory holding path: what comes before its last
 * '/', "/" for a path directly below the root, "." for a bare name.  Use it
 * after a rename to path.  Returns 0, or -1 with errno set. */
int durable_sync_parent(const char *path);

#endif
