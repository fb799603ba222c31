/* sample.c - text generation token by token: each token chosen from the
 * logits by the picker (pick.h) and fed back, delivered as soon as it is
 * known; a request for beams goes to beam search (beam.h). */
#include <stdio.h>

#include "decode/run_int.h"
#include "decode/sample.h"

/* The penalty's look-back over the history: the last window tokens. */
static const uint32_t *smp_recent(const smp_run *r, size_t *n)
{
    size_t w = r->cfg->repetition_window > 0 ? (size_t)r->cfg->repetition_window : r->n_hist;
    *n = w < r->n_hist ? w : r->n_hist;
    return r->hist + r->n_hist - *n;
}

/* Token by token until a stop condition.  Returns 0, or -1 when out of
 * memory. */
static int smp_sample(smp_run *r)
{
    smp_tail tail = {.n = 0};
    while (r->stats.generated < r->want) {
        if (smp_cancelled(r)) {
            r->stop = SAMPLE_STOP_CANCEL;
            return 0;
        }
        size_t n_recent;
        const uint32_t *recent = smp_recent(r, &n_recent);
        sample_token t = {.n_alts = 0};
        uint32_t prev = r->prev;
        uint32_t id = sample_pick(&r->pk, r->logits, r->cfg, recent, n_recent,
                                  rng_uniform_d(r->req->rng), &t.prob);
        if (smp_hist_push(r, id) < 0)
            return -1;
        if (smp_deliver(r, &t, id, r->logits)) {
            r->stop = SAMPLE_STOP_CALLBACK;
            return 0;
        }
        if (r->req->eos >= 0 && id == (uint64_t)r->req->eos) {
            r->stop = SAMPLE_STOP_EOS;
            return 0;
        }
        if (smp_tail_push(r, &tail, prev, id)) {
            r->stop = SAMPLE_STOP_STRING;
            return 0;
        }
        if (r->stats.generated < r->want)
            decoder_step(&r->dec, 1, &id, r->logits);
    }
    r->stop = SAMPLE_STOP_LENGTH;
    return 0;
}

int sample_decode(model *m, const tok_vocab *v, const sample_request *req,
                  sample_result *res, char *err, size_t errlen)
{
    if (req->cfg->beam > 1)
        return sample_beam_search(m, v, req, res, err, errlen);
    smp_run r;
    int rc = smp_start(&r, m, v, req, 0, res, err, errlen);
    if (rc == 0 && (rc = smp_sample(&r)) < 0)
        snprintf(err, errlen, "out of memory for sampling");
    smp_finish(&r, res);
    return rc < 0 ? -1 : 0;
}
