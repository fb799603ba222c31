/* request.c - the small pieces of a request and its result (request.h). */
#include <stdlib.h>
#include <string.h>

#include "decode/request.h"

const char *sample_stop_name(sample_stop s)
{
    static const char *names[] = {"length", "stop", "eos", "callback", "cancel"};
    return (unsigned)s < sizeof names / sizeof *names ? names[s] : "?";
}

void sample_request_init(sample_request *r, const sample_config *cfg, rng_state *rng)
{
    memset(r, 0, sizeof *r);
    r->cfg = cfg;
    r->rng = rng;
    r->eos = -1;
}

void sample_result_free(sample_result *r)
{
    for (int i = 0; i < r->n_beams; i++) {
        free(r->beams[i].ids);
        free(r->beams[i].text);
    }
    free(r->beams);
    r->beams = NULL;
    r->n_beams = 0;
}
