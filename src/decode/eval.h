/* eval.h - scoring a token sequence the way generation sees it, one
 * token at a time through a decoder, to measure what 16-bit and 8-bit
 * weights cost against the trainer's own evaluation. */
#ifndef DECODE_EVAL_H
#define DECODE_EVAL_H
#include <stddef.h>
#include <stdint.h>
#include "backend/backend.h"
#include "model/model.h"
#include "text/corpus.h"
#include "train/trainer.h"

/* Scores n tokens (n >= 2) of corpus c from token begin on the way
 * generation sees them: one stream fed them but the last one at a time from a zero state, through a decoder holding
 * the weights as w, each next token's cross-entropy and whether it was the
 * arg-max.  With fp32 it agrees with trainer_eval on one stream up to
 * summation order; with fp16/int8 it measures what they cost.  Returns 0,
 * or -1 with a one-line message (too few tokens, out of memory, weights
 * the backend cannot hold). */
int sample_eval(model *m, const corpus *c, size_t begin, size_t n, be_weights w,
                eval_result *out, char *err, size_t errlen);

#endif
