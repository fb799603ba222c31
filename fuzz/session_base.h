/* session_base.h - the session the session harnesses open: made once at start-up, then opened, checked, sampled from and stepped the way `rnnlab open` and `rnnlab sample` would, after a harness has replaced one of its files. */
#ifndef RNNLAB_FUZZ_SESSION_BASE_H
#define RNNLAB_FUZZ_SESSION_BASE_H

#include <stddef.h>
#include <stdint.h>

/* The files of a session, in the order fzs_file takes them. */
enum { FZS_JSON, FZS_MODEL, FZS_OPTIM, FZS_NFILES };

/* LLVMFuzzerInitialize, defined here for both harnesses, trains a small
 * LSTM on tests/data/garden.txt for two steps and saves it in a scratch
 * directory (the same model as fuzz/seeds.sh's `rnnlab train`, so its
 * session.json seeds open against these files).  With the environment
 * variable RNNLAB_FUZZ_DUMP set to a directory, the three files are also
 * copied there.  It stops the process when it cannot. */

/* Replaces file which (FZS_*) of the session with len bytes at data, and
 * puts the others back as they were made. */
void fzs_put(int which, const uint8_t *data, size_t len);

/* Opens the session with session_load (the corpus given as garden.txt,
 * never the path the file names) and the settings check; an accepted
 * session generates a few tokens with its own sampler settings, is
 * evaluated and takes a training step when its chunks are small.  Every
 * refusal must be a one-line message. */
void fzs_open(void);

#endif
