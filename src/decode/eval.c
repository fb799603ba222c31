/* eval.c - scoring a token sequence through a generation decoder, one
 * token at a time from a zero state (eval.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "decode/decoder.h"
#include "decode/pick.h"
#include "decode/eval.h"

int sample_eval(model *m, const corpus *c, size_t begin, size_t n, be_weights w,
                eval_result *out, char *err, size_t errlen)
{
    decoder d;
    int V = m->cfg.vocab;
    if (n < 2) {
        snprintf(err, errlen, "%zu tokens to score; at least 2 are needed", n);
        return -1;
    }
    if (decoder_open(&d, m, 1, w, err, errlen) < 0)
        return -1;
    float *lg = malloc(sizeof(float) * (size_t)V);
    if (!lg) {
        decoder_free(&d);
        snprintf(err, errlen, "out of memory for the decoder");
        return -1;
    }
    double loss = 0.0;
    long correct = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        uint32_t best, id = corpus_id(c, begin + i), next = corpus_id(c, begin + i + 1);
        float p;
        double lse;
        decoder_step(&d, 1, &id, lg);
        sample_top(lg, V, 1, &best, &p, &lse);
        loss += lse - lg[next];
        correct += best == next;
    }
    free(lg);
    decoder_free(&d);
    out->tokens = (long)(n - 1);
    out->loss = loss / (double)out->tokens;
    out->ppl = exp(out->loss);
    out->bpt = out->loss / M_LN2;
    out->acc = (double)correct / (double)out->tokens;
    return 0;
}
