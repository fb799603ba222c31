/* auto.c - the width of a new model from the run's budget (auto.h).
 *
 * Why: a model learns most in a fixed budget when its size and the data it
 * sees grow together (compute-optimal scaling: about ten to twenty tokens
 * per weight).  A wide model on a short run sees too little text to use
 * its width (2x512 on two cores sees 2.4M tokens in 300 s, 0.7 per
 * weight); a narrow one on a long run stops improving.  So a run with a
 * known length sizes its model for it. */
#include <math.h>

#include "train/auto.h"

/* Expected training throughput, in multiply-add pairs (2 flops) forward
 * and two such backward per weight per token, i.e. tokens/s =
 * rate / (6 x compute params).  Measured with rnnlab's CPU backend on one
 * core of a 2-core AVX-512 machine (2x256 LSTM: 24,000 tokens/s on 2
 * threads, 0.87M weights).  The GPU figure is an assumption, not a
 * measurement: it makes a GPU run about 30 CPU cores wide. */
#define AUTO_CPU_FLOPS_PER_THREAD 63e9
#define AUTO_GPU_FLOPS 2e12
/* A LayerNorm LSTM's step takes this much longer (the normalisations are
 * passes over the gate sums that the plain cell does not make). */
#define AUTO_LN_COST 1.25

double train_auto_compute_params(const model_config *m)
{
    double params, acts;
    model_size(m, 1, 1, &params, &acts);
    if (!m->tie)
        params -= (double)m->vocab * m->embed;
    return params;
}

double train_auto_tokens(const train_config *c, const train_budget *b)
{
    double tokens = 0;
    if (b->steps > 0)
        tokens = (double)b->steps * c->batch * c->seq_len;
    else if (b->epochs > 0)
        tokens = b->epochs * b->corpus_tokens;
    else if (b->seconds > 0) {
        double rate = b->gpu ? AUTO_GPU_FLOPS
                             : AUTO_CPU_FLOPS_PER_THREAD * (b->threads > 0 ? b->threads : 1);
        if (c->model.layer_norm)     /* 2x256: 19,300 against 24,600 tokens/s */
            rate /= AUTO_LN_COST;
        tokens = b->seconds * rate / (6.0 * train_auto_compute_params(&c->model));
    }
    if (b->corpus_tokens > 0 && tokens > TRAIN_AUTO_EPOCHS * b->corpus_tokens)
        tokens = TRAIN_AUTO_EPOCHS * b->corpus_tokens;
    return tokens;
}

double train_auto_core_params(const model_config *m)
{
    /* a one-token full softmax leaves the recurrent layers' weights plus
     * one embedding row and one decoder row (whatever output layer m has) */
    model_config one = *m;
    one.vocab = 1;
    one.softmax = SOFTMAX_FULL;
    double params, acts;
    model_size(&one, 1, 1, &params, &acts);
    params -= one.hidden + 1.0;                 /* decoder.weight, .bias */
    if (!one.tie)
        params -= one.embed;                    /* encoder.weight */
    return params;
}

int train_auto_hidden(const train_config *c, const train_budget *b)
{
    if (b->steps <= 0 && b->epochs <= 0 && b->seconds <= 0)
        return 0;
    train_config t = *c;
    for (int h = TRAIN_AUTO_MAX; h > TRAIN_AUTO_MIN; h -= TRAIN_AUTO_STEP) {
        t.model.hidden = h;
        if (t.model.tie)
            t.model.embed = h;
        double need = TRAIN_AUTO_TOKENS_PER_PARAM * train_auto_core_params(&t.model);
        if (train_auto_tokens(&t, b) >= need)
            return h;
    }
    return TRAIN_AUTO_MIN;
}
