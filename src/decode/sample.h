/* sample.h - generating text from a model: the prime is run through the
 * model to build the state, then tokens are chosen one at a time (greedy,
 * temperature, top-k, top-p, repetition penalty) or by beam search, and
 * handed to a callback as they are produced.
 *
 * Generation has its own recurrent state and buffers (decoder.h) and only
 * reads the weights, so it can run between the steps of a model being
 * trained (not during one: an optimizer step rewrites the weights).  The
 * settings come from a sample_config each call, so changes apply to the
 * next sample.  No global state: runs on different models may overlap.
 *
 * The module's public face: it includes the settings (config.h), the
 * request and result (request.h), the token picker (pick.h), beam search
 * (beam.h) and scoring (eval.h), so users include this header alone. */
#ifndef SAMPLE_H
#define SAMPLE_H
#include <stddef.h>
#include "model/model.h"
#include "text/tok.h"
#include "decode/config.h"
#include "decode/request.h"
#include "decode/pick.h"
#include "decode/beam.h"
#include "decode/eval.h"

/* Runs a request: beam search when cfg->beam > 1, otherwise token by token.
 * Beam search ignores temperature, top-k and top-p (it is deterministic)
 * but applies the repetition penalty to the scores.
 * res may be NULL; when given it must be freed with sample_result_free.
 * Returns 0 (also when stopped early: see res->stop), or -1 with a
 * one-line message (out of memory). */
int sample_decode(model *m, const tok_vocab *v, const sample_request *req,
                  sample_result *res, char *err, size_t errlen);

#endif
