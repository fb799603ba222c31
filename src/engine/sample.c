/* sample.c - text generation: prime the state, then draw one token at a
 * time from softmax(logits / temperature) by inverse CDF. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

/* Turns logits into probabilities at temperature temp (in place) and
 * returns the index drawn with u in [0,1).  temp <= 0 is greedy. */
static uint32_t draw(float *z, int V, float temp, double u, float *prob)
{
    int arg = 0;
    for (int j = 1; j < V; j++)
        if (z[j] > z[arg])
            arg = j;
    if (temp <= 0.0f) {
        *prob = 1.0f;
        return (uint32_t)arg;
    }
    double sum = 0.0, mx = z[arg];
    for (int j = 0; j < V; j++) {
        z[j] = (float)exp((z[j] - mx) / temp);
        sum += z[j];
    }
    double target = u * sum, acc = 0.0;
    for (int j = 0; j < V; j++) {
        acc += z[j];
        if (acc > target) {
            *prob = (float)(z[j] / sum);
            return (uint32_t)j;
        }
    }
    /* rounding left target at the very top: the last nonzero entry */
    for (int j = V - 1; j >= 0; j--)
        if (z[j] > 0.0f) {
            *prob = (float)(z[j] / sum);
            return (uint32_t)j;
        }
    *prob = 1.0f;
    return (uint32_t)arg;
}

static int emit_token(const tok_vocab *v, uint32_t id, float p, sample_emit_fn emit,
                      void *ctx)
{
    size_t len = 0;
    const uint8_t *b = tok_bytes(v, id, &len);
    return emit ? emit(ctx, id, b, len, p) : 0;
}

int sample_generate(model *m, const tok_vocab *v, const sample_config *cfg,
                    const char *prime, rng_state *rng, sample_emit_fn emit,
                    void *ctx, sample_stats *stats, char *err, size_t errlen)
{
    int V = m->cfg.vocab;
    if (!prime)
        prime = cfg->prime;
    size_t plen = strlen(prime);
    uint32_t *ids = malloc((plen + 1) * sizeof(uint32_t));
    float *z = malloc((size_t)V * sizeof(float));
    model_state st = {0};
    sample_stats s = {0};
    if (!ids || !z || model_state_init(m, &st, 1) < 0) {
        free(ids);
        free(z);
        snprintf(err, errlen, "out of memory for sampling");
        return -1;
    }
    size_t n = tok_encode(v, (const uint8_t *)prime, plen, ids, &s.prime_unknown,
                          s.first_unknown);
    s.prime_tokens = n;
    int stop = 0;
    if (n == 0) {
        /* no usable prime: start from a random token, shown as generated */
        ids[0] = (uint32_t)(rng_uniform_d(rng) * V);
        n = 1;
        stop = emit_token(v, ids[0], 1.0f / (float)V, emit, ctx);
        s.generated++;
    }
    for (size_t i = 0; i < n; i++)
        model_step(m, &st, &ids[i], z);
    size_t want = cfg->length > 0 ? (size_t)cfg->length : 0;
    while (!stop && s.generated < want) {
        float p;
        uint32_t id = draw(z, V, cfg->temperature, rng_uniform_d(rng), &p);
        s.generated++;
        stop = emit_token(v, id, p, emit, ctx);
        if (!stop && s.generated < want)
            model_step(m, &st, &id, z);
    }
    if (stats)
        *stats = s;
    free(ids);
    free(z);
    model_state_free(m, &st);
    return 0;
}
