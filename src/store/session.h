/* session.h - a session is a directory: session.json (configuration,
 * vocabulary, progress, RNG, history, sampler settings), model.safetensors
 * (weights, PyTorch names) and optimizer.safetensors (optimizer moments and
 * the carried recurrent state).  Saves replace the directory atomically. */
#ifndef SESSION_H
#define SESSION_H
#include <stddef.h>
#include "backend/backend.h"
#include "decode/config.h"
#include "text/corpus.h"
#include "train/trainer.h"

#define SESSION_FORMAT 1
#define SESSION_NO_CORPUS ""

/* Saves t and the sampler settings beside it (sample; NULL: the defaults)
 * into dir: writes a sibling temporary directory, fsyncs it, then swaps it
 * into place, so an interrupted save leaves the previous session.  Nothing
 * of the caller's is taken over.  Returns 0, or -1 with a one-line
 * message. */
int session_save(const trainer *t, const sample_config *sample, const char *dir,
                 char *err, size_t errlen);

/* Opens dir and rebuilds the trainer on backend be; *sample (sample may
 * be NULL) gets the session's sampler settings.  corpus_path overrides
 * the path recorded in the session (NULL: use the recorded one;
 * SESSION_NO_CORPUS: load no text, for sampling, and then a missing
 * optimizer.safetensors leaves the optimizer at zero); the corpus is tokenized
 * with the session's vocabulary.  Returns the trainer, the caller's to
 * free with trainer_free, or NULL with a one-line message naming the file
 * and the problem (*sample untouched then). */
trainer *session_load(be_backend *be, const char *dir, const char *corpus_path,
                      sample_config *sample, char *err, size_t errlen);
/* session_load with the corpus prepared as prep says (its token cache and
 * progress; NULL: corpus_prep_default's). */
trainer *session_load_prep(be_backend *be, const char *dir, const char *corpus_path,
                           sample_config *sample, const corpus_prep *prep, char *err,
                           size_t errlen);

/* The tokenizer of the session in dir, from session.json alone (checked
 * as session_load checks it; no weights read).  Returns the vocabulary,
 * the caller's to free with tok_free, or NULL with a one-line message. */
tok_vocab *session_tokenizer(const char *dir, char *err, size_t errlen);

/* The loss history of the session in dir (training loss of the steps kept
 * and validation losses, NAN where none), from session.json alone (checked
 * as session_load checks it; no weights read): *hist (the caller's to
 * free; non-NULL even when *n is 0) and *n points.  Returns 0, or -1 with a
 * one-line message naming the file or directory and the problem. */
int session_history(const char *dir, metric_point **hist, size_t *n, char *err,
                    size_t errlen);

#endif
