/* beam.h - beam search: cfg->beam hypotheses advanced together, ranked by
 * their mean log-probability per token, the tokens delivered as soon as
 * every hypothesis still running agrees on them. */
#ifndef DECODE_BEAM_H
#define DECODE_BEAM_H
#include <stddef.h>
#include "model/model.h"
#include "text/tok.h"
#include "decode/request.h"

/* Beam search with width cfg->beam (1 included: then it equals greedy
 * decoding), whatever the other settings.  Same returns as sample_decode;
 * a width outside 1..SAMPLE_MAX_BEAM is an error. */
int sample_beam_search(model *m, const tok_vocab *v, const sample_request *req,
                       sample_result *res, char *err, size_t errlen);

#endif
