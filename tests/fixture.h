/* fixture.h - helpers the Check suites share: scratch directories, whole-file reads and writes, test texts, and main()'s suite runner. */
#ifndef RNNLAB_TESTS_FIXTURE_H
#define RNNLAB_TESTS_FIXTURE_H

#include <check.h>
#include <stddef.h>

/* Makes a new, empty directory /tmp/PREFIX.XXXXXX and puts its path in dir
 * (len bytes).  Returns dir, or NULL (errno set) when it could not. */
char *fx_temp_dir(char *dir, size_t len, const char *prefix);

/* Removes path and everything below it.  Returns 0, or -1 when something
 * could not be removed. */
int fx_remove_tree(const char *path);

/* The path of tests/data/NAME in the source tree (the directory in the
 * environment variable srcdir, else "."), put in buf; returns buf. */
const char *fx_data_file(char *buf, size_t len, const char *name);

/* In a test: writes the len bytes at data to path, replacing it; the test
 * fails when the file cannot be written. */
void fx_write_file(const char *path, const void *data, size_t len);

/* In a test: writes the string text to path times times over. */
void fx_write_text(const char *path, const char *text, int times);

/* In a test: the contents of path, NUL-terminated, in memory the caller
 * frees; its size goes to *len unless len is NULL. */
char *fx_read_file(const char *path, size_t *len);

/* A small regular text to train on: four short sentences in a fixed
 * rotation, a little over 24,000 bytes, in memory the caller frees; its
 * size goes to *len. */
char *fx_sentences(size_t *len);

/* Runs every test of s (Check forks a process per test unless CK_FORK=no),
 * prints Check's summary and frees s.  Returns EXIT_SUCCESS when every test
 * passed, else EXIT_FAILURE: what main() returns. */
int fx_run_suite(Suite *s);

/* fx_run_suite without a process per test, for code that does not survive
 * fork() (an initialised CUDA runtime). */
int fx_run_suite_nofork(Suite *s);

#endif
