/* common.h - what the libFuzzer harnesses share: a scratch directory removed at exit, whole-file writes, message checks and a CPU backend whose allocations stop at a cap. */
#ifndef RNNLAB_FUZZ_COMMON_H
#define RNNLAB_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

/* libFuzzer's entry points, defined by each harness. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops the process with a message on stderr: a harness found a broken
 * property (libFuzzer records the input as a crash). */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A new directory $TMPDIR/rnnlab-fuzz-NAME.XXXXXX (or under /tmp), removed
 * with everything in it when the process exits.  Returns its path, which
 * lives as long as the process; stops the process when it cannot. */
const char *fz_scratch_dir(const char *name);

/* dir/name in buf (len bytes); returns buf. */
const char *fz_path(char *buf, size_t len, const char *dir, const char *name);

/* Writes len bytes to path, replacing it; stops the process on failure. */
void fz_write_file(const char *path, const void *data, size_t len);

/* Reads path into memory the caller frees; NULL when it cannot. */
uint8_t *fz_read_file(const char *path, size_t *len);

/* A one-line message for a failure: not empty, no control characters
 * (a newline or an escape sequence from a hostile file would reach the
 * terminal).  Stops the process, naming what, when msg is not. */
void fz_check_message(const char *what, const char *msg);

/* The CPU backend with every allocation above cap bytes refused, as if
 * memory had run out: a hostile file may ask for any size, and the
 * refusal takes the same path as a real shortage without touching
 * gigabytes.  Created once; stops the process when it cannot. */
be_backend *fz_capped_backend(size_t cap);

#endif
