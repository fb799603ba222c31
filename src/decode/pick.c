/* pick.c - from one row of logits to one token: repetition penalty,
 * temperature, top-k, top-p, then an inverse-CDF draw.  Everything here
 * works on host memory: a row is V floats, small next to the step that
 * produced it. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decode/pick.h"

int sample_picker_init(sample_picker *pk, int V)
{
    memset(pk, 0, sizeof *pk);
    pk->V = V;
    size_t n = V > 0 ? (size_t)V : 1;
    pk->prob = malloc(n * sizeof *pk->prob);
    pk->ids = malloc(n * sizeof *pk->ids);
    pk->z = malloc(n * sizeof *pk->z);
    pk->seen = calloc(n, 1);
    pk->pairs = malloc(n * sizeof *pk->pairs);
    if (!pk->prob || !pk->ids || !pk->z || !pk->seen || !pk->pairs) {
        sample_picker_free(pk);
        return -1;
    }
    return 0;
}

void sample_picker_free(sample_picker *pk)
{
    free(pk->prob);
    free(pk->ids);
    free(pk->z);
    free(pk->seen);
    free(pk->pairs);
    memset(pk, 0, sizeof *pk);
}

/* Infinite logits as the largest finite ones: the tokens at +infinity
 * share the probability, and a row that is -infinity throughout is
 * uniform, where the arithmetic of infinities would give NaN.  NaN stays
 * NaN (never counted). */
static float pick_clamp(float z)
{
    return z > FLT_MAX ? FLT_MAX : z < -FLT_MAX ? -FLT_MAX : z;
}

/* Index of the largest value, the lowest on ties; NaNs never win over a
 * number (a diverged model still yields a token, not a crash). */
static uint32_t pick_argmax(const float *z, int V)
{
    int arg = -1;
    for (int j = 0; j < V; j++)
        if (!isnan(z[j]) && (arg < 0 || z[j] > z[arg]))
            arg = j;
    return arg < 0 ? 0 : (uint32_t)arg;
}

/* CTRL's penalty: a logit of a token seen recently moves towards less
 * likely, by division when positive and multiplication otherwise. */
static void pick_penalise(sample_picker *pk, float pen, const uint32_t *recent,
                          size_t n_recent)
{
    if (!(pen > 0.0f) || pen == 1.0f || !recent)
        return;
    for (size_t i = 0; i < n_recent; i++)
        if (recent[i] < (uint32_t)pk->V)
            pk->seen[recent[i]] = 1;
    for (size_t i = 0; i < n_recent; i++) {
        uint32_t id = recent[i];
        if (id < (uint32_t)pk->V && pk->seen[id]) {
            float *z = &pk->z[id];
            *z = *z > 0.0f ? *z / pen : *z * pen;
            pk->seen[id] = 0;          /* once per distinct token */
        }
    }
}

/* Descending probability, then ascending id: a total order, so the kept
 * set never depends on qsort's whims. */
static int pick_cmp(const void *a, const void *b)
{
    const sample_pair *x = a, *y = b;
    if (x->p != y->p)
        return x->p > y->p ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Keeps one token with probability 1. */
static int pick_only(sample_picker *pk, uint32_t id)
{
    pk->ids[0] = id;
    pk->prob[0] = 1.0f;
    return 1;
}

/* Top-k then top-p over the unnormalised weights w[] (indexed by id),
 * most likely first.  Returns the number kept; pk->prob gets the weights. */
static int pick_cut(sample_picker *pk, const float *w, int top_k, float top_p)
{
    int V = pk->V, n = V;
    for (int j = 0; j < V; j++)
        pk->pairs[j] = (sample_pair){w[j], (uint32_t)j};
    qsort(pk->pairs, (size_t)V, sizeof *pk->pairs, pick_cmp);
    if (top_k > 0 && top_k < n)
        n = top_k;
    if (top_p < 1.0f) {
        double total = 0.0, acc = 0.0;
        for (int i = 0; i < n; i++)
            total += pk->pairs[i].p;
        int keep = 1;
        for (int i = 0; i < n; i++) {
            acc += pk->pairs[i].p;
            keep = i + 1;
            if (acc >= (double)top_p * total)
                break;
        }
        n = keep;
    }
    for (int i = 0; i < n; i++) {
        pk->ids[i] = pk->pairs[i].id;
        pk->prob[i] = pk->pairs[i].p;
    }
    return n;
}

const float *sample_penalised(sample_picker *pk, const float *logits,
                              const sample_config *cfg, const uint32_t *recent,
                              size_t n_recent)
{
    memcpy(pk->z, logits, (size_t)pk->V * sizeof *pk->z);
    pick_penalise(pk, cfg->repetition_penalty, recent, n_recent);
    for (int j = 0; j < pk->V; j++)
        pk->z[j] = pick_clamp(pk->z[j]);
    return pk->z;
}

int sample_filter(sample_picker *pk, const float *logits, const sample_config *cfg,
                  const uint32_t *recent, size_t n_recent)
{
    int V = pk->V;
    float *z = pk->z;
    sample_penalised(pk, logits, cfg, recent, n_recent);
    uint32_t arg = pick_argmax(z, V);
    float T = cfg->temperature;
    if (cfg->greedy || !(T > 0.0f))
        return pick_only(pk, arg);
    /* softmax at temperature T, weights first (into z), then normalised */
    double mx = z[arg], sum = 0.0;
    for (int j = 0; j < V; j++) {
        z[j] = isnan(z[j]) ? 0.0f : (float)exp((z[j] - mx) / T);
        sum += z[j];
    }
    if (!(sum > 0.0) || !isfinite(sum))
        return pick_only(pk, arg);
    int n;
    if ((cfg->top_k > 0 && cfg->top_k < V) || cfg->top_p < 1.0f) {
        n = pick_cut(pk, z, cfg->top_k, cfg->top_p);
    } else {
        n = V;
        for (int j = 0; j < V; j++) {
            pk->ids[j] = (uint32_t)j;
            pk->prob[j] = z[j];
        }
    }
    double kept = 0.0;
    for (int i = 0; i < n; i++)
        kept += pk->prob[i];
    if (!(kept > 0.0) || !isfinite(kept))
        return pick_only(pk, arg);
    for (int i = 0; i < n; i++)
        pk->prob[i] = (float)(pk->prob[i] / kept);
    return n;
}

uint32_t sample_pick(sample_picker *pk, const float *logits, const sample_config *cfg,
                     const uint32_t *recent, size_t n_recent, double u, float *prob)
{
    int n = sample_filter(pk, logits, cfg, recent, n_recent);
    double total = 0.0, acc = 0.0;
    for (int i = 0; i < n; i++)
        total += pk->prob[i];
    double target = u * total;
    int pick = -1;
    for (int i = 0; i < n; i++) {
        acc += pk->prob[i];
        if (acc > target && pk->prob[i] > 0.0f) {
            pick = i;
            break;
        }
    }
    /* rounding left target at the very top: the last nonzero entry */
    for (int i = n - 1; pick < 0 && i >= 0; i--)
        if (pk->prob[i] > 0.0f)
            pick = i;
    if (pick < 0)
        pick = 0;
    if (prob)
        *prob = pk->prob[pick];
    return pk->ids[pick];
}

/* softmax(logits)[j] = exp(clamp(logits[j]) - *mx) / *sum; *sum is 0
 * when no logit is a number. */
static void pick_norm(const float *logits, int V, double *mx, double *sum)
{
    *mx = pick_clamp(logits[pick_argmax(logits, V)]);
    *sum = 0.0;
    for (int j = 0; j < V; j++)
        if (!isnan(logits[j]))
            *sum += exp(pick_clamp(logits[j]) - *mx);
}

double sample_lse(const float *logits, int V)
{
    double mx, sum;
    pick_norm(logits, V, &mx, &sum);
    return sum > 0.0 ? mx + log(sum) : NAN;
}

float sample_prob(float z, double lse)
{
    double p = exp(pick_clamp(z) - lse);
    return isnan(p) ? 0.0f : (float)p;
}

int sample_top(const float *logits, int V, int k, uint32_t *ids, float *prob,
               double *lse_out)
{
    double mx, sum;
    pick_norm(logits, V, &mx, &sum);
    if (k > SAMPLE_MAX_ALTS)
        k = SAMPLE_MAX_ALTS;
    if (k > V)
        k = V;
    int have = 0;
    /* insertion into a short sorted list: O(V k) for k <= 8 */
    for (int j = 0; j < V && k > 0; j++) {
        float zj = logits[j];
        if (isnan(zj) || (have == k && !(zj > logits[ids[have - 1]])))
            continue;
        int pos = have < k ? have++ : k - 1;
        while (pos > 0 && zj > logits[ids[pos - 1]]) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = (uint32_t)j;
    }
    /* have > 0: a logit is a number, so sum >= 1 (the largest's term) */
    for (int i = 0; i < have; i++)
        prob[i] = (float)(exp(pick_clamp(logits[ids[i]]) - mx) / sum);
    if (lse_out)
        *lse_out = sum > 0.0 ? mx + log(sum) : NAN;
    return have;
}
