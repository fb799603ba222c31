/* check_sample.c - decoding: the generation decoder agrees with the
 * model's own step; greedy is deterministic and is what temperature -> 0,
 * top-k = 1 and beam width 1 reduce to; beam search finds the better
 * sequence greedy misses on a hand-built model; sampled frequencies match
 * the softmax (chi-square); top-p keeps exactly the smallest set reaching
 * p; repetition penalty; unknown prime characters; stop strings;
 * cancelling; per-token information; sampling leaves a training model's
 * state alone; the new settings survive a session round trip and older
 * session files load with the defaults. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "backend/cpu/cpu_pack.h"
#include "backend/cpu/cpu_small.h"
#include "decode/decoder.h"
#include "decode/sample.h"
#include "store/session.h"

static const char *ALPHABET = "abcdefgh \n";   /* ids: '\n' ' ' a..h */

typedef struct fix {
    be_backend *be;
    model *m;
    tok_vocab *v;
} fix;

/* A random model over ALPHABET's characters, with weights scaled up so the
 * distributions are far from uniform. */
/* A random model; ln: the LayerNorm LSTM; ada: the adaptive softmax
 * (cutoffs 3,6 of the 10 characters, a head bias). */
static void fix_random_model(fix *f, model_cell cell, int layers, uint64_t seed, int ln,
                             int ada)
{
    char err[256];
    f->be = be_cpu_create();
    f->v = tok_char_build((const uint8_t *)ALPHABET, strlen(ALPHABET));
    ck_assert_ptr_nonnull(f->v);
    model_config cfg = {.cell = cell, .layers = layers, .hidden = 24, .embed = 8,
                        .vocab = (int)tok_size(f->v), .dropout = 0.0f, .layer_norm = ln,
                        .softmax = ada ? SOFTMAX_ADAPTIVE : SOFTMAX_FULL,
                        .cutoffs = {2, {3, 6}}, .div_value = 4.0f, .head_bias = ada};
    rng_state r;
    rng_seed(&r, seed);
    f->m = model_create(f->be, &cfg, &r, err, sizeof err);
    ck_assert_msg(f->m != NULL, "%s", err);
    /* peaky distributions; the normalisations' gains stay 1, as trained
     * ones are, for int8 weights' error not to be multiplied by 4 twice */
    for (int k = 0; k < f->m->n_tensors; k++) {
        const model_tensor *t = &f->m->tensors[k];
        for (size_t i = 0; i < t->numel && strncmp(t->name, "rnn.ln_", 7); i++)
            f->m->params[t->offset + i] *= 4.0f;
    }
}

static void fix_random_ln(fix *f, model_cell cell, int layers, uint64_t seed, int ln)
{
    fix_random_model(f, cell, layers, seed, ln, 0);
}

static void fix_random(fix *f, model_cell cell, int layers, uint64_t seed)
{
    fix_random_model(f, cell, layers, seed, 0, 0);
}

static void fix_free(fix *f)
{
    model_free(f->m);
    tok_free(f->v);
    f->be->destroy(f->be);
}

/* Collects generated text and per-token information. */
typedef struct collect {
    char text[4096];
    size_t len, n;
    sample_token last;
    int stop_after;          /* callback returns 1 after this many; 0: never */
    atomic_int *cancel_at_n; /* set when n reaches cancel_n */
    size_t cancel_n;
    atomic_int count;        /* tokens so far, for the cancelling thread */
    int bad_info;            /* a token's information did not add up */
} collect;

static int collect_token(void *ctx, const sample_token *t)
{
    collect *c = ctx;
    if (c->len + t->len < sizeof c->text) {
        memcpy(c->text + c->len, t->bytes, t->len);
        c->len += t->len;
        c->text[c->len] = '\0';
    }
    if (t->index != c->n || !(t->prob > 0.0f && t->prob <= 1.0f) ||
        !(t->model_prob > 0.0f && t->model_prob <= 1.0f))
        c->bad_info = 1;
    for (int i = 1; i < t->n_alts; i++)
        if (t->alt_prob[i] > t->alt_prob[i - 1])
            c->bad_info = 1;
    c->n++;
    c->last = *t;
    atomic_store(&c->count, (int)c->n);
    if (c->cancel_at_n && c->n == c->cancel_n)
        atomic_store(c->cancel_at_n, 1);
    return c->stop_after && (int)c->n >= c->stop_after;
}

/* Generates with cfg; returns the result (caller frees) and the text. */
static sample_result run(fix *f, const sample_config *cfg, const char *prime,
                         uint64_t seed, collect *c, int beam_search)
{
    char err[256];
    rng_state r;
    rng_seed(&r, seed);
    sample_request req;
    sample_request_init(&req, cfg, &r);
    req.prime = prime;
    req.on_token = collect_token;
    req.ctx = c;
    req.n_alts = 3;
    sample_result res;
    int rc = beam_search ? sample_beam_search(f->m, f->v, &req, &res, err, sizeof err)
                         : sample_decode(f->m, f->v, &req, &res, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_msg(!c->bad_info, "inconsistent per-token information");
    return res;
}

static sample_config cfg_with(int length)
{
    sample_config c = sample_defaults();
    c.length = length;
    return c;
}

/* ------------------------------------------------------------------ */
/* decoder */

/* Greedy text computed independently with model_step. */
static void greedy_by_model_step(fix *f, const char *prime, int length, char *out)
{
    model_state st;
    int V = f->m->cfg.vocab;
    float *z = malloc((size_t)V * sizeof *z);
    uint32_t ids[64];
    ck_assert_int_eq(model_state_init(f->m, &st, 1), 0);
    size_t n = tok_encode(f->v, (const uint8_t *)prime, strlen(prime), ids, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        model_step(f->m, &st, &ids[i], z);
    size_t len = 0;
    for (int t = 0; t < length; t++) {
        uint32_t best = 0;
        for (int j = 1; j < V; j++)
            if (z[j] > z[best])
                best = (uint32_t)j;
        size_t bl;
        const uint8_t *b = tok_bytes(f->v, best, &bl);
        memcpy(out + len, b, bl);
        len += bl;
        model_step(f->m, &st, &best, z);
    }
    out[len] = '\0';
    model_state_free(f->m, &st);
    free(z);
}

/* B streams: up to 16 go through packed fp32 matrices, more through gemm
 * (the adaptive softmax's always through gemm); ada: the adaptive
 * softmax, whose rows are log-probabilities */
static void check_decoder_model(model_cell cell, int layers, int table, int B, int ada)
{
    fix f;
    fix_random_model(&f, cell, layers, 7 + cell, 0, ada);
    int V = f.m->cfg.vocab;
    decoder d;
    model_state st;
    ck_assert_int_eq(decoder_init(&d, f.m, B, table, BE_WEIGHTS_FP32), 0);
    ck_assert(B > 16 || ada ? d.p_dec == NULL : d.p_dec != NULL);
    ck_assert_int_eq(model_state_init(f.m, &st, B), 0);
    float *a = malloc((size_t)B * V * sizeof *a), *b = malloc((size_t)B * V * sizeof *b);
    uint32_t ids[32], rows[32], same[32];
    ck_assert_int_le(B, 32);
    for (int i = 0; i < B; i++) {
        ids[i] = (uint32_t)(1 + 3 * i) % (uint32_t)V;
        rows[i] = (uint32_t)((i * 7 + 2) % B);
        same[i] = 5;
    }
    for (int t = 0; t < 5; t++) {
        decoder_step(&d, B, ids, a);
        model_step(f.m, &st, ids, b);
        for (int i = 0; i < B * V; i++)
            ck_assert_msg(fabsf(a[i] - b[i]) < 1e-4f, "%s table %d step %d: %g vs %g",
                          model_cell_name(cell), table, t, a[i], b[i]);
        for (int i = 0; ada && i < B; i++) {
            double p = 0;
            for (int j = 0; j < V; j++)
                p += exp(a[i * V + j]);
            ck_assert_msg(fabs(p - 1) < 1e-5, "stream %d: probabilities sum to %g", i, p);
        }
        for (int i = 0; i < B; i++)
            ids[i] = (ids[i] * 3 + 1) % (uint32_t)V;
    }
    /* reordering: stream i takes stream rows[i]'s state */
    decoder_select(&d, B, rows);
    decoder_step(&d, B, same, a);
    model_step(f.m, &st, same, b);
    for (int i = 0; i < B; i++)
        for (int j = 0; j < V; j++)
            ck_assert_msg(fabsf(a[i * V + j] - b[rows[i] * V + j]) < 1e-4f,
                          "%s: selected stream %d", model_cell_name(cell), i);
    free(a);
    free(b);
    model_state_free(f.m, &st);
    decoder_free(&d);
    fix_free(&f);
}

static void check_decoder_cell(model_cell cell, int layers, int table, int B)
{
    check_decoder_model(cell, layers, table, B, 0);
}

START_TEST(decoder_matches_model_step_adaptive)
{
    check_decoder_model(CELL_LSTM, 2, DECODER_TABLE_ON, 3, 1);
    check_decoder_model(CELL_GRU, 1, DECODER_TABLE_OFF, 20, 1);
}
END_TEST

/* The adaptive softmax's matrices stay 32-bit under 16- and 8-bit
 * weights: the layers' round, the rows stay log-probabilities close to
 * fp32's. */
START_TEST(adaptive_reduced_weights)
{
    fix f;
    fix_random_model(&f, CELL_LSTM, 2, 9, 0, 1);
    int V = f.m->cfg.vocab;
    float want[16], got[16];
    uint32_t id = 4;
    ck_assert_int_le(V, 16);
    for (int w = BE_WEIGHTS_FP32; w <= BE_WEIGHTS_INT8; w++) {
        decoder d;
        ck_assert_int_eq(decoder_init(&d, f.m, 1, DECODER_TABLE_AUTO, (be_weights)w), 0);
        ck_assert_ptr_null(d.p_dec);
        decoder_step(&d, 1, &id, w == BE_WEIGHTS_FP32 ? want : got);
        decoder_step(&d, 1, &id, w == BE_WEIGHTS_FP32 ? want : got);
        double p = 0;
        for (int j = 0; w != BE_WEIGHTS_FP32 && j < V; j++) {
            p += exp(got[j]);
            ck_assert_msg(fabsf(got[j] - want[j]) < 0.1f, "%s: token %d: %g vs %g",
                          be_weights_name(w), j, (double)got[j], (double)want[j]);
        }
        ck_assert(w == BE_WEIGHTS_FP32 || fabs(p - 1) < 1e-5);
        decoder_free(&d);
    }
    fix_free(&f);
}
END_TEST

START_TEST(decoder_matches_model_step)
{
    for (int cell = 0; cell < 3; cell++) {
        check_decoder_cell((model_cell)cell, 2, DECODER_TABLE_ON, 3);
        check_decoder_cell((model_cell)cell, 2, DECODER_TABLE_OFF, 3);
        check_decoder_cell((model_cell)cell, 1, DECODER_TABLE_AUTO, 1);
        check_decoder_cell((model_cell)cell, 2, DECODER_TABLE_OFF, 20);
        check_decoder_cell((model_cell)cell, 2, DECODER_TABLE_ON, 17);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* greedy and what reduces to it */

START_TEST(greedy_deterministic)
{
    fix f;
    fix_random(&f, CELL_LSTM, 2, 3);
    sample_config cfg = cfg_with(60);
    cfg.greedy = 1;
    collect a = {0}, b = {0};
    sample_result ra = run(&f, &cfg, "ab", 1, &a, 0);
    sample_result rb = run(&f, &cfg, "ab", 999, &b, 0);
    ck_assert_uint_eq(a.n, 60);
    ck_assert_str_eq(a.text, b.text);
    ck_assert_int_eq(ra.stop, SAMPLE_STOP_LENGTH);
    char want[128];
    greedy_by_model_step(&f, "ab", 60, want);
    ck_assert_str_eq(a.text, want);
    /* temperature 0 is greedy too */
    cfg.greedy = 0;
    cfg.temperature = 0.0f;
    collect c = {0};
    sample_result rc = run(&f, &cfg, "ab", 5, &c, 0);
    ck_assert_str_eq(c.text, want);
    ck_assert_float_eq(c.last.prob, 1.0f);
    sample_result_free(&ra);
    sample_result_free(&rb);
    sample_result_free(&rc);
    fix_free(&f);
}
END_TEST

START_TEST(reductions_to_greedy)
{
    for (int cell = 0; cell < 3; cell++) {
        fix f;
        fix_random(&f, (model_cell)cell, 2, 11 + cell);
        sample_config g = cfg_with(80);
        g.greedy = 1;
        collect cg = {0};
        sample_result rg = run(&f, &g, "ha", 1, &cg, 0);
        for (uint64_t seed = 1; seed <= 3; seed++) {
            sample_config t0 = cfg_with(80), k1 = cfg_with(80), b1 = cfg_with(80);
            t0.temperature = 1e-4f;
            k1.top_k = 1;
            b1.beam = 1;
            collect ct = {0}, ck = {0}, cb = {0};
            sample_result rt = run(&f, &t0, "ha", seed, &ct, 0);
            sample_result rk = run(&f, &k1, "ha", seed, &ck, 0);
            sample_result rb = run(&f, &b1, "ha", seed, &cb, 1);
            ck_assert_msg(strcmp(ct.text, cg.text) == 0, "temperature -> 0: %s", ct.text);
            ck_assert_msg(strcmp(ck.text, cg.text) == 0, "top-k 1: %s", ck.text);
            ck_assert_msg(strcmp(cb.text, cg.text) == 0, "beam 1: %s", cb.text);
            ck_assert_int_eq(rb.n_beams, 1);
            ck_assert_str_eq(rb.beams[0].text, cg.text);
            sample_result_free(&rt);
            sample_result_free(&rk);
            sample_result_free(&rb);
        }
        /* and plain sampling is not greedy (the checks above can fail) */
        sample_config s = cfg_with(80);
        collect cs = {0};
        sample_result rs = run(&f, &s, "ha", 1, &cs, 0);
        ck_assert_str_ne(cs.text, cg.text);
        sample_result_free(&rs);
        sample_result_free(&rg);
        fix_free(&f);
    }
}
END_TEST

/* ------------------------------------------------------------------ */
/* beam search on a hand-built model */

/* A bigram model as a 1-layer tanh RNN: the embedding is one-hot, the
 * input weights 3 I (so h = tanh(3) e_v for the current token v, whatever
 * came before), and the decoder's column v holds log P(. | v) / tanh(3).
 * From 'a': b 0.6 then five tokens at 0.2 each; c 0.4 then d 0.95.
 * Greedy takes "bd" (0.12), the best pair is "cd" (0.38). */
static void fix_bigram(fix *f)
{
    char err[256];
    f->be = be_cpu_create();
    f->v = tok_char_build((const uint8_t *)"abcdefgh", 8);   /* a=0 .. h=7 */
    int V = 8;
    model_config cfg = {.cell = CELL_RNN, .layers = 1, .hidden = V, .embed = V,
                        .vocab = V, .dropout = 0.0f};
    rng_state r;
    rng_seed(&r, 1);
    f->m = model_create(f->be, &cfg, &r, err, sizeof err);
    ck_assert_msg(f->m != NULL, "%s", err);
    model *m = f->m;
    memset(m->params, 0, m->n_params * sizeof(float));
    double P[8][8];
    for (int u = 0; u < V; u++)
        for (int w = 0; w < V; w++)
            P[u][w] = 1.0 / V;
    double eps = 1e-4;
    for (int w = 0; w < V; w++) {
        P[0][w] = eps;
        P[1][w] = w >= 3 ? 0.2 - eps * 3 / 5 : eps;
        P[2][w] = 0.05 / 7;
    }
    P[0][1] = 0.6;
    P[0][2] = 0.4 - 6 * eps;
    P[2][3] = 0.95;
    float gain = tanhf(3.0f);
    for (int v = 0; v < V; v++) {
        m->enc[v * V + v] = 1.0f;
        m->w_ih[0][v * V + v] = 3.0f;
        for (int w = 0; w < V; w++)
            m->dec_w[w * V + v] = (float)log(P[v][w]) / gain;
    }
}

START_TEST(beam_beats_greedy)
{
    fix f;
    fix_bigram(&f);
    sample_config g = cfg_with(2);
    g.greedy = 1;
    collect cg = {0};
    sample_result rg = run(&f, &g, "a", 1, &cg, 0);
    ck_assert_str_eq(cg.text, "bd");

    sample_config b = cfg_with(2);
    b.beam = 2;
    b.n_best = 2;
    collect cb = {0};
    sample_result rb = run(&f, &b, "a", 1, &cb, 0);
    ck_assert_str_eq(cb.text, "cd");
    ck_assert_int_eq(rb.n_beams, 2);
    ck_assert_str_eq(rb.beams[0].text, "cd");
    ck_assert_str_eq(rb.beams[1].text, "bd");
    ck_assert_double_eq_tol(rb.beams[0].logprob, log(0.4) + log(0.95), 2e-3);
    ck_assert_double_eq_tol(rb.beams[0].score, (log(0.4) + log(0.95)) / 2, 1e-3);
    ck_assert_double_eq_tol(rb.beams[1].score, (log(0.6) + log(0.2)) / 2, 1e-3);
    ck_assert_uint_eq(rb.beams[0].n, 2);
    ck_assert_uint_eq(rb.beams[0].ids[0], 2);
    /* the streamed tokens carry the model's probabilities */
    ck_assert_float_eq_tol(cb.last.model_prob, 0.95f, 2e-3f);
    ck_assert_uint_eq(cb.last.alt_id[0], 3);

    /* width 1 is greedy */
    b.beam = 1;
    collect c1 = {0};
    sample_result r1 = run(&f, &b, "a", 1, &c1, 1);
    ck_assert_str_eq(c1.text, "bd");

    /* a stop string ends hypotheses: "c" finishes at once and wins */
    b.beam = 2;
    b.length = 10;
    snprintf(b.stop, sizeof b.stop, "c");
    collect cs = {0};
    sample_result rs = run(&f, &b, "a", 1, &cs, 0);
    ck_assert_str_eq(cs.text, "c");
    ck_assert_int_eq(rs.stop, SAMPLE_STOP_STRING);
    ck_assert_int_eq(rs.beams[0].finished, 1);

    sample_result_free(&rg);
    sample_result_free(&rb);
    sample_result_free(&r1);
    sample_result_free(&rs);
    fix_free(&f);
}
END_TEST

START_TEST(beam_deterministic_and_streamed)
{
    fix f;
    fix_random(&f, CELL_GRU, 2, 21);
    sample_config b = cfg_with(50);
    b.beam = 4;
    b.n_best = 3;
    collect c1 = {0}, c2 = {0};
    sample_result r1 = run(&f, &b, "ab", 1, &c1, 0);
    sample_result r2 = run(&f, &b, "ab", 77, &c2, 0);
    ck_assert_uint_eq(c1.n, 50);
    ck_assert_str_eq(c1.text, c2.text);
    ck_assert_str_eq(c1.text, r1.beams[0].text);
    ck_assert_int_eq(r1.n_beams, 3);
    for (int i = 1; i < r1.n_beams; i++)
        ck_assert(r1.beams[i].score <= r1.beams[i - 1].score);
    /* scores are the hypotheses' own mean log-probabilities */
    ck_assert_double_eq_tol(r1.beams[0].score, r1.beams[0].logprob / 50, 1e-9);
    sample_result_free(&r1);
    sample_result_free(&r2);
    fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* choosing one token */

static double chi_square(const long *count, const double *p, int n, long total)
{
    double x2 = 0.0;
    for (int i = 0; i < n; i++) {
        double e = p[i] * (double)total;
        x2 += (count[i] - e) * (count[i] - e) / e;
    }
    return x2;
}

START_TEST(frequencies_match_softmax)
{
    enum { V = 6, N = 30000 };
    const float logits[V] = {1.0f, 0.5f, 0.0f, -0.5f, 2.0f, -1.0f};
    sample_picker pk;
    ck_assert_int_eq(sample_picker_init(&pk, V), 0);
    sample_config cfg = sample_defaults();
    cfg.temperature = 0.8f;
    rng_state r;
    rng_seed(&r, 12345);
    long count[V] = {0};
    for (int i = 0; i < N; i++) {
        float p;
        uint32_t id = sample_pick(&pk, logits, &cfg, NULL, 0, rng_uniform_d(&r), &p);
        ck_assert_uint_lt(id, V);
        count[id]++;
    }
    double want[V], at1[V], s = 0.0, s1 = 0.0;
    for (int j = 0; j < V; j++) {
        want[j] = exp(logits[j] / 0.8);
        at1[j] = exp(logits[j]);
        s += want[j];
        s1 += at1[j];
    }
    for (int j = 0; j < V; j++) {
        want[j] /= s;
        at1[j] /= s1;
    }
    /* 5 degrees of freedom: P(X2 > 20.5) = 0.001 */
    double x2 = chi_square(count, want, V, N);
    ck_assert_msg(x2 < 20.5, "chi-square %g against softmax(z / 0.8)", x2);
    /* the wrong temperature is told apart */
    ck_assert_msg(chi_square(count, at1, V, N) > 100.0, "temperature not applied");

    /* top-k 3: only the 3 largest, renormalised */
    cfg.top_k = 3;
    memset(count, 0, sizeof count);
    for (int i = 0; i < N; i++)
        count[sample_pick(&pk, logits, &cfg, NULL, 0, rng_uniform_d(&r), NULL)]++;
    ck_assert(count[2] == 0 && count[3] == 0 && count[5] == 0);
    long kc[3] = {count[4], count[0], count[1]};
    double kp[3] = {want[4], want[0], want[1]}, ks = kp[0] + kp[1] + kp[2];
    for (int i = 0; i < 3; i++)
        kp[i] /= ks;
    x2 = chi_square(kc, kp, 3, N);
    ck_assert_msg(x2 < 13.8, "top-k chi-square %g", x2);   /* 2 dof, 0.001 */
    sample_picker_free(&pk);
}
END_TEST

START_TEST(top_p_smallest_set)
{
    enum { V = 4 };
    /* probabilities 0.1, 0.4, 0.2, 0.3 */
    const float logits[V] = {logf(0.1f), logf(0.4f), logf(0.2f), logf(0.3f)};
    sample_picker pk;
    ck_assert_int_eq(sample_picker_init(&pk, V), 0);
    sample_config cfg = sample_defaults();
    struct { float p; int n; uint32_t ids[4]; } cases[] = {
        {0.35f, 1, {1}},            /* 0.4 reaches 0.35 */
        {0.65f, 2, {1, 3}},         /* 0.4 < 0.65 <= 0.7 */
        {0.75f, 3, {1, 3, 2}},      /* 0.7 < 0.75 <= 0.9 */
        {0.95f, 4, {1, 3, 2, 0}},
        {1.0f, 4, {0, 1, 2, 3}},    /* off: id order */
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cfg.top_p = cases[c].p;
        int n = sample_filter(&pk, logits, &cfg, NULL, 0);
        ck_assert_msg(n == cases[c].n, "top-p %g kept %d", cases[c].p, n);
        double kept = 0.0;
        for (int i = 0; i < n; i++) {
            ck_assert_uint_eq(pk.ids[i], cases[c].ids[i]);
            kept += pk.prob[i];
        }
        ck_assert_double_eq_tol(kept, 1.0, 1e-6);
    }
    /* renormalised over the kept set */
    cfg.top_p = 0.65f;
    sample_filter(&pk, logits, &cfg, NULL, 0);
    ck_assert_float_eq_tol(pk.prob[0], 0.4f / 0.7f, 1e-5f);
    /* draws never leave the set */
    rng_state r;
    rng_seed(&r, 3);
    for (int i = 0; i < 2000; i++) {
        uint32_t id = sample_pick(&pk, logits, &cfg, NULL, 0, rng_uniform_d(&r), NULL);
        ck_assert(id == 1 || id == 3);
    }
    /* top-k then top-p: within the top 2 (0.57, 0.43), p 0.5 keeps one */
    cfg.top_k = 2;
    cfg.top_p = 0.5f;
    ck_assert_int_eq(sample_filter(&pk, logits, &cfg, NULL, 0), 1);
    cfg.top_p = 0.6f;
    ck_assert_int_eq(sample_filter(&pk, logits, &cfg, NULL, 0), 2);
    sample_picker_free(&pk);
}
END_TEST

START_TEST(repetition_penalty)
{
    enum { V = 4 };
    const float logits[V] = {2.0f, 1.5f, 0.5f, -1.0f};
    sample_picker pk;
    ck_assert_int_eq(sample_picker_init(&pk, V), 0);
    sample_config cfg = sample_defaults();
    cfg.repetition_penalty = 2.0f;
    const uint32_t recent[] = {0, 3, 0, 9};   /* 9: out of range, ignored */
    const float *z = sample_penalised(&pk, logits, &cfg, recent, 4);
    ck_assert_float_eq(z[0], 1.0f);     /* divided once, not twice */
    ck_assert_float_eq(z[1], 1.5f);
    ck_assert_float_eq(z[3], -2.0f);    /* negative: multiplied */
    cfg.greedy = 1;
    ck_assert_uint_eq(sample_pick(&pk, logits, &cfg, recent, 4, 0.5, NULL), 1);
    ck_assert_uint_eq(sample_pick(&pk, logits, &cfg, NULL, 0, 0.5, NULL), 0);
    sample_picker_free(&pk);

    /* in generation the penalty changes greedy text */
    fix f;
    fix_random(&f, CELL_LSTM, 1, 5);
    sample_config g = cfg_with(40);
    g.greedy = 1;
    collect a = {0}, b = {0};
    sample_result ra = run(&f, &g, "ab", 1, &a, 0);
    g.repetition_penalty = 3.0f;
    g.repetition_window = 4;
    sample_result rb = run(&f, &g, "ab", 1, &b, 0);
    ck_assert_str_ne(a.text, b.text);
    sample_result_free(&ra);
    sample_result_free(&rb);
    fix_free(&f);
}
END_TEST

START_TEST(alternatives_and_nan)
{
    const float logits[5] = {0.1f, 3.0f, NAN, 3.0f, -2.0f};
    uint32_t ids[SAMPLE_MAX_ALTS];
    float p[SAMPLE_MAX_ALTS];
    double lse;
    int n = sample_top(logits, 5, 3, ids, p, &lse);
    ck_assert_int_eq(n, 3);
    ck_assert_uint_eq(ids[0], 1);       /* tie: lowest id first */
    ck_assert_uint_eq(ids[1], 3);
    ck_assert_uint_eq(ids[2], 0);
    ck_assert_float_eq_tol(p[0], p[1], 1e-7f);
    ck_assert_float_eq_tol(p[0] + p[1] + p[2] + (float)exp(-2.0 - lse), 1.0f, 1e-5f);
    /* a diverged row still yields a token */
    sample_picker pk;
    ck_assert_int_eq(sample_picker_init(&pk, 5), 0);
    sample_config cfg = sample_defaults();
    const float bad[5] = {NAN, NAN, NAN, NAN, NAN};
    ck_assert_uint_lt(sample_pick(&pk, bad, &cfg, NULL, 0, 0.3, NULL), 5);
    cfg.top_p = 0.5f;
    ck_assert_uint_lt(sample_pick(&pk, logits, &cfg, NULL, 0, 0.3, NULL), 5);
    sample_picker_free(&pk);
}
END_TEST

/* Rows the arithmetic of infinities would turn into NaN. */
#define DEG_V 4
static const float deg_rows[][DEG_V] = {
    {-INFINITY, -INFINITY, -INFINITY, -INFINITY},  /* uniform */
    {NAN, NAN, NAN, NAN},                          /* token 0 */
    {NAN, -INFINITY, NAN, -INFINITY},              /* 1 or 3 */
    {1.0f, INFINITY, 2.0f, INFINITY},              /* 1 or 3 */
    {INFINITY, NAN, -INFINITY, 0.0f},              /* token 0 */
    {FLT_MAX, -FLT_MAX, 0.0f, -FLT_MAX},           /* token 0 */
};
#define DEG_ROWS (int)(sizeof deg_rows / sizeof deg_rows[0])
/* The tokens each row may give (a bit per id). */
static const unsigned deg_allowed[DEG_ROWS] = {0xF, 0x1, 0xA, 0xA, 0x1, 0x1};

/* The strategies: plain, cut, nucleus, greedy, penalised, near zero. */
static sample_config deg_config(int k)
{
    sample_config c = sample_defaults();
    c.temperature = 1.0f;
    c.top_k = k == 1 ? 2 : 0;
    c.top_p = k == 2 ? 0.5f : 1.0f;
    c.greedy = k == 3;
    c.repetition_penalty = k == 4 ? 2.0f : 1.0f;
    if (k == 5)
        c.temperature = 1e-30f;
    return c;
}

/* sample_filter's list: ids in range, probabilities numbers in [0,1]
 * summing to 1, nothing outside allowed with any probability. */
static void assert_kept(const sample_picker *pk, int n, unsigned allowed)
{
    double sum = 0.0;
    ck_assert(n >= 1 && n <= DEG_V);
    for (int i = 0; i < n; i++) {
        float p = pk->prob[i];
        ck_assert_uint_lt(pk->ids[i], DEG_V);
        ck_assert_msg(isfinite(p) && p >= 0.0f && p <= 1.0f, "prob %g", (double)p);
        ck_assert(p == 0.0f || (allowed >> pk->ids[i] & 1));
        sum += p;
    }
    ck_assert_double_eq_tol(sum, 1.0, 1e-5);
}

/* Every strategy on every degenerate row: a token that may come, with a
 * probability that is a number, and no division by zero on the way. */
START_TEST(degenerate_rows)
{
    static const uint32_t recent[2] = {1, 3};
    static const double draws[3] = {0.0, 0.3, 0.999999};
    sample_picker pk;
    ck_assert_int_eq(sample_picker_init(&pk, DEG_V), 0);
    for (int r = 0; r < DEG_ROWS; r++)
        for (int k = 0; k < 6; k++) {
            sample_config c = deg_config(k);
            assert_kept(&pk, sample_filter(&pk, deg_rows[r], &c, recent, 2), deg_allowed[r]);
            for (int d = 0; d < 3; d++) {
                float p = -1.0f;
                uint32_t id = sample_pick(&pk, deg_rows[r], &c, recent, 2, draws[d], &p);
                ck_assert_msg(deg_allowed[r] >> id & 1, "row %d strategy %d gave %u", r, k, id);
                ck_assert(isfinite(p) && p > 0.0f && p <= 1.0f);
            }
        }
    sample_config c = deg_config(0);
    ck_assert_int_eq(sample_filter(&pk, deg_rows[0], &c, NULL, 0), DEG_V);
    for (int i = 0; i < DEG_V; i++)
        ck_assert_float_eq_tol(pk.prob[i], 0.25f, 1e-6f);
    sample_filter(&pk, deg_rows[3], &c, NULL, 0);
    ck_assert_float_eq_tol(pk.prob[1], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(pk.prob[3], 0.5f, 1e-6f);
    sample_picker_free(&pk);
}
END_TEST

/* The alternatives and model probabilities of degenerate rows are
 * numbers in [0,1] too; a row without a number has none. */
START_TEST(degenerate_alternatives)
{
    uint32_t ids[SAMPLE_MAX_ALTS];
    float p[SAMPLE_MAX_ALTS];
    double lse;
    for (int r = 0; r < DEG_ROWS; r++) {
        int n = sample_top(deg_rows[r], DEG_V, 3, ids, p, &lse);
        for (int i = 0; i < n; i++)
            ck_assert(isfinite(p[i]) && p[i] >= 0.0f && p[i] <= 1.0f);
        for (int j = 0; j < DEG_V; j++) {
            float q = sample_prob(deg_rows[r][j], lse);
            ck_assert(isfinite(q) && q >= 0.0f && q <= 1.0f);
        }
    }
    ck_assert_int_eq(sample_top(deg_rows[1], DEG_V, 3, ids, p, &lse), 0);
    ck_assert(isnan(lse));
    ck_assert_int_eq(sample_top(deg_rows[3], DEG_V, 2, ids, p, &lse), 2);
    ck_assert_uint_eq(ids[0], 1);
    ck_assert_uint_eq(ids[1], 3);
    ck_assert_float_eq_tol(p[0], 0.5f, 1e-6f);
    ck_assert_float_eq_tol(p[1], 0.5f, 1e-6f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* priming, stopping, cancelling */

START_TEST(prime_unknown_characters)
{
    fix f;
    fix_random(&f, CELL_LSTM, 2, 9);
    sample_config cfg = cfg_with(10);
    collect c = {0};
    sample_result r = run(&f, &cfg, "aZb\xc3\xa9\xff" "c", 1, &c, 0);
    ck_assert_uint_eq(r.stats.prime_tokens, 3);
    ck_assert_uint_eq(r.stats.prime_unknown, 3);
    ck_assert_str_eq(r.stats.first_unknown, "Z");
    ck_assert_uint_eq(r.stats.generated, 10);
    ck_assert_uint_eq(c.n, 10);
    /* the same as the prime without them */
    collect d = {0};
    sample_result r2 = run(&f, &cfg, "abc", 1, &d, 0);
    ck_assert_str_eq(c.text, d.text);
    /* nothing known: starts from a drawn token, counted as generated */
    collect e = {0};
    sample_result r3 = run(&f, &cfg, "XYZ", 1, &e, 0);
    ck_assert_uint_eq(r3.stats.prime_tokens, 0);
    ck_assert_uint_eq(r3.stats.prime_unknown, 3);
    ck_assert_uint_eq(e.n, 10);
    /* and so does beam search */
    cfg.beam = 3;
    collect g = {0};
    sample_result r4 = run(&f, &cfg, "", 1, &g, 0);
    ck_assert_uint_eq(g.n, 10);
    sample_result_free(&r);
    sample_result_free(&r2);
    sample_result_free(&r3);
    sample_result_free(&r4);
    fix_free(&f);
}
END_TEST

START_TEST(stop_string_and_eos)
{
    fix f;
    fix_bigram(&f);
    sample_config cfg = cfg_with(20);
    cfg.greedy = 1;
    snprintf(cfg.stop, sizeof cfg.stop, "bd");
    collect c = {0};
    sample_result r = run(&f, &cfg, "a", 1, &c, 0);
    ck_assert_str_eq(c.text, "bd");
    ck_assert_int_eq(r.stop, SAMPLE_STOP_STRING);
    /* a stop string that never comes */
    snprintf(cfg.stop, sizeof cfg.stop, "zz");
    collect c2 = {0};
    sample_result r2 = run(&f, &cfg, "a", 1, &c2, 0);
    ck_assert_uint_eq(c2.n, 20);
    ck_assert_int_eq(r2.stop, SAMPLE_STOP_LENGTH);
    /* end-of-sequence token */
    char err[256];
    rng_state rng;
    rng_seed(&rng, 1);
    cfg.stop[0] = '\0';
    sample_request req;
    sample_request_init(&req, &cfg, &rng);
    req.prime = "a";
    req.eos = 3;     /* 'd' */
    collect c3 = {0};
    req.on_token = collect_token;
    req.ctx = &c3;
    sample_result r3;
    ck_assert_int_eq(sample_decode(f.m, f.v, &req, &r3, err, sizeof err), 0);
    ck_assert_str_eq(c3.text, "bd");
    ck_assert_int_eq(r3.stop, SAMPLE_STOP_EOS);
    sample_result_free(&r);
    sample_result_free(&r2);
    sample_result_free(&r3);
    fix_free(&f);
}
END_TEST

START_TEST(callback_and_flag_cancel)
{
    fix f;
    fix_random(&f, CELL_LSTM, 2, 13);
    sample_config cfg = cfg_with(1000);
    /* the callback's return value */
    collect a = {.stop_after = 7};
    sample_result ra = run(&f, &cfg, "ab", 1, &a, 0);
    ck_assert_uint_eq(a.n, 7);
    ck_assert_int_eq(ra.stop, SAMPLE_STOP_CALLBACK);
    /* the flag, set from inside (as a UI thread would between tokens) */
    atomic_int cancel = 0;
    char err[256];
    rng_state rng;
    rng_seed(&rng, 1);
    sample_request req;
    sample_request_init(&req, &cfg, &rng);
    req.prime = "ab";
    req.cancel = &cancel;
    collect b = {.cancel_at_n = &cancel, .cancel_n = 12};
    req.on_token = collect_token;
    req.ctx = &b;
    sample_result rb;
    ck_assert_int_eq(sample_decode(f.m, f.v, &req, &rb, err, sizeof err), 0);
    ck_assert_uint_eq(b.n, 12);
    ck_assert_int_eq(rb.stop, SAMPLE_STOP_CANCEL);
    /* beam search stops on the flag too */
    cfg.beam = 3;
    atomic_store(&cancel, 1);
    collect c = {0};
    req.ctx = &c;
    sample_result rc;
    ck_assert_int_eq(sample_decode(f.m, f.v, &req, &rc, err, sizeof err), 0);
    ck_assert_int_eq(rc.stop, SAMPLE_STOP_CANCEL);
    ck_assert_uint_eq(c.n, 0);
    sample_result_free(&ra);
    sample_result_free(&rb);
    sample_result_free(&rc);
    fix_free(&f);
}
END_TEST

typedef struct canceller {
    collect *c;
    atomic_int *flag;
} canceller;

static void *cancel_thread(void *arg)
{
    canceller *k = arg;
    while (atomic_load(&k->c->count) < 20)
        usleep(100);
    atomic_store(k->flag, 1);
    return NULL;
}

START_TEST(cancel_from_another_thread)
{
    fix f;
    fix_random(&f, CELL_LSTM, 2, 17);
    sample_config cfg = cfg_with(100000000);
    atomic_int flag = 0;
    char err[256];
    rng_state rng;
    rng_seed(&rng, 1);
    sample_request req;
    sample_request_init(&req, &cfg, &rng);
    req.prime = "ab";
    req.cancel = &flag;
    collect *c = calloc(1, sizeof *c);
    req.on_token = collect_token;
    req.ctx = c;
    canceller k = {c, &flag};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, cancel_thread, &k), 0);
    sample_result r;
    ck_assert_int_eq(sample_decode(f.m, f.v, &req, &r, err, sizeof err), 0);
    pthread_join(th, NULL);
    ck_assert_int_eq(r.stop, SAMPLE_STOP_CANCEL);
    ck_assert_uint_ge(c->n, 20);
    ck_assert_uint_lt(c->n, 100000000);
    sample_result_free(&r);
    free(c);
    fix_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* requests as the engine makes them, and training models */

/* A request with only a token callback (no alternatives, no cancel flag,
 * the configuration's prime), as the engine streams samples: sampling and
 * beam search alike deliver every token with its bytes and a probability,
 * and the result counts the prime. */
static void callback_only(fix *f, sample_config *cfg, collect *c, sample_result *res)
{
    char err[256];
    rng_state r;
    rng_seed(&r, 2);
    sample_request req;
    sample_request_init(&req, cfg, &r);
    req.on_token = collect_token;
    req.ctx = c;
    ck_assert_msg(sample_decode(f->m, f->v, &req, res, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(!c->bad_info, "inconsistent per-token information");
    ck_assert_int_eq(c->last.n_alts, 0);
    ck_assert_uint_eq(c->n, res->stats.generated);
}

START_TEST(callback_only_request)
{
    fix f;
    fix_random(&f, CELL_GRU, 1, 23);
    sample_config cfg = cfg_with(30);
    cfg.top_k = 4;
    cfg.top_p = 0.9f;
    snprintf(cfg.prime, sizeof cfg.prime, "ab");
    collect c1 = {0}, c2 = {0};
    sample_result res;
    callback_only(&f, &cfg, &c1, &res);
    ck_assert_uint_eq(c1.n, 30);
    ck_assert_uint_eq(c1.len, 30);           /* one byte per character */
    ck_assert_uint_eq(res.stats.prime_tokens, 2);
    ck_assert_int_eq(res.stop, SAMPLE_STOP_LENGTH);
    sample_result_free(&res);
    /* beam search through the same call, from an empty prime */
    cfg.beam = 3;
    cfg.prime[0] = '\0';
    callback_only(&f, &cfg, &c2, &res);
    ck_assert_uint_eq(c2.n, 30);
    ck_assert_uint_eq(c2.len, 30);
    ck_assert_uint_eq(res.stats.prime_tokens, 0);
    ck_assert_int_eq(res.stop, SAMPLE_STOP_LENGTH);
    ck_assert_int_eq(res.n_beams, 1);
    sample_result_free(&res);
    fix_free(&f);
}
END_TEST

START_TEST(training_state_untouched)
{
    fix f;
    fix_random(&f, CELL_LSTM, 2, 29);
    enum { T = 5, B = 2 };
    model_state st;
    ck_assert_int_eq(model_state_init(f.m, &st, B), 0);
    uint32_t ids[(T + 1) * B];
    for (int i = 0; i < (T + 1) * B; i++)
        ids[i] = (uint32_t)(i * 7 % f.m->cfg.vocab);
    model_forward(f.m, &st, ids, T, B, 1, 1, NULL);
    size_t sn = (size_t)f.m->cfg.layers * B * f.m->cfg.hidden;
    size_t ln = (size_t)T * B * f.m->cfg.vocab;
    float *h = malloc(sn * sizeof *h), *c = malloc(sn * sizeof *c);
    float *lg = malloc(ln * sizeof *lg), *w = malloc(f.m->n_params * sizeof *w);
    memcpy(h, st.h, sn * sizeof *h);
    memcpy(c, st.c, sn * sizeof *c);
    memcpy(lg, f.m->logits, ln * sizeof *lg);
    memcpy(w, f.m->params, f.m->n_params * sizeof *w);
    sample_config cfg = cfg_with(40);
    cfg.beam = 3;
    collect c1 = {0}, c2 = {0};
    sample_result r = run(&f, &cfg, "abc", 1, &c1, 0);
    cfg.beam = 1;
    sample_result r2 = run(&f, &cfg, "abc", 1, &c2, 0);
    ck_assert(memcmp(h, st.h, sn * sizeof *h) == 0);
    ck_assert(memcmp(c, st.c, sn * sizeof *c) == 0);
    ck_assert(memcmp(lg, f.m->logits, ln * sizeof *lg) == 0);
    ck_assert(memcmp(w, f.m->params, f.m->n_params * sizeof *w) == 0);
    sample_result_free(&r);
    sample_result_free(&r2);
    free(h);
    free(c);
    free(lg);
    free(w);
    model_state_free(f.m, &st);
    fix_free(&f);
}
END_TEST

/* Writes root to path as JSON. */
static void rewrite_json(const char *path, const cJSON *root)
{
    char *out = cJSON_Print(root);
    ck_assert_ptr_nonnull(out);
    fx_write_file(path, out, strlen(out));
    free(out);
}

/* ------------------------------------------------------------------ */
/* 16-bit weights */

START_TEST(half_precision)
{
    const float in[] = {1.0f, -2.0f, 65504.0f, 65520.0f, 1e-8f, 5.9604645e-8f, 0.1f,
                        0.0f, -0.0f, 6.1035156e-05f, 1.0009766f, 1.00048828125f};
    const uint16_t want[] = {0x3c00, 0xc000, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x2e66,
                             0x0000, 0x8000, 0x0400, 0x3c01, 0x3c00 /* tie: to even */};
    uint16_t out[12];
    for (int i = 0; i < 12; i++)
        out[i] = cpu_float_to_half(in[i]);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(out[i] == want[i], "%g -> %#x, want %#x", in[i], out[i], want[i]);
    for (int i = 0; i < 12; i++)
        if (i != 3 && i != 4 && i != 6 && i != 11)   /* inexact ones */
            ck_assert_float_eq(cpu_half_to_float(out[i]), in[i]);
    ck_assert(isnan(cpu_half_to_float(cpu_float_to_half(NAN))));
}
END_TEST

/* One packed product, checked element by element against a double
 * reference on the weights as the kind stores them: fp32 and fp16 within
 * summation rounding, int8 within the bound its two roundings allow
 * (each weight off by at most max|w_row|/254, each input by max|x|/254). */
static void check_pack(cpu_pack_kind kind, int simd, int N, int K1, int K2, int M)
{
    rng_state r;
    rng_seed(&r, (uint64_t)(kind * 1000 + N * 7 + K1 + K2 * 3 + M));
    int K = K1 + K2;
    float *W1 = malloc(sizeof(float) * (size_t)N * K1), *W2 = malloc(sizeof(float) * (size_t)N * (K2 + 1));
    float *X = malloc(sizeof(float) * (size_t)M * K), *Y = malloc(sizeof(float) * (size_t)M * N);
    for (int i = 0; i < N * K1; i++)
        W1[i] = 2.0f * rng_uniform(&r) - 1.0f;
    for (int i = 0; i < N * K2; i++)
        W2[i] = 0.3f * (2.0f * rng_uniform(&r) - 1.0f);
    for (int i = 0; i < M * K; i++)
        X[i] = (i % 5 == 0 ? 3.0f : 1.0f) * (2.0f * rng_uniform(&r) - 1.0f);
    for (int i = 0; i < M * N; i++)
        Y[i] = 0.5f;
    cpu_pack *p = cpu_pack_new(kind, N, W1, K1, K2 ? W2 : NULL, K2, M);
    ck_assert_ptr_nonnull(p);
    int has = cpu_pack_set_simd(p, 1);
    ck_assert_int_eq(cpu_pack_set_simd(p, simd), simd && has);
    /* x rows with a stride: [x1 | x2] is taken from two places */
    cpu_pack_load(p, M, X, K, X + K1, K);
    cpu_pack_gemm_rows(p, Y, N, 0, CPU_PACK_BLOCK);
    cpu_pack_gemm_rows(p, Y, N, CPU_PACK_BLOCK, N + CPU_PACK_BLOCK);
    for (int m = 0; m < M; m++) {
        const float *x = X + (size_t)m * K;
        double xmax = 0.0;
        for (int k = 0; k < K; k++)
            xmax = fmax(xmax, fabs(x[k]));
        for (int n = 0; n < N; n++) {
            double ref = 0.5, mag = 0.0, wmax = 0.0, bound;
            for (int k = 0; k < K; k++) {
                float w = k < K1 ? W1[(size_t)n * K1 + k] : W2[(size_t)n * K2 + k - K1];
                wmax = fmax(wmax, fabs(w));
                if (kind == CPU_PACK_F16)
                    w = cpu_half_to_float(cpu_float_to_half(w));
                ref += (double)x[k] * w;
                mag += fabs((double)x[k] * w);
            }
            bound = 1e-5 * (mag + 1.0);
            if (kind == CPU_PACK_I8) {
                double e = 0.0;
                for (int k = 0; k < K; k++) {
                    float w = k < K1 ? W1[(size_t)n * K1 + k] : W2[(size_t)n * K2 + k - K1];
                    e += (fabs(x[k]) * wmax + xmax * fabs(w) + xmax * wmax / 254.0) / 254.0;
                }
                bound = 1.001 * e + 1e-5 * (mag + 1.0);
            }
            double got = Y[(size_t)m * N + n];
            ck_assert_msg(fabs(got - ref) <= bound,
                          "kind %d simd %d N %d K %d+%d M %d: y[%d,%d] = %.7g, want %.7g (bound %g)",
                          kind, simd, N, K1, K2, M, m, n, got, ref, bound);
        }
    }
    cpu_pack_free(p);
    free(W1);
    free(W2);
    free(X);
    free(Y);
}

START_TEST(packed_products)
{
    for (int kind = CPU_PACK_F32; kind <= CPU_PACK_I8; kind++) {
        float w = 1.0f;
        cpu_pack *p = cpu_pack_new((cpu_pack_kind)kind, 1, &w, 1, NULL, 0, 1);
        ck_assert_ptr_nonnull(p);
        if (!cpu_pack_set_simd(p, 1))
            fprintf(stderr, "packed_products: no AVX-512%s on this CPU: the %s SIMD kernel "
                    "is not tested (the plain C one is)\n", kind == CPU_PACK_I8 ? " VNNI" : "",
                    kind == CPU_PACK_F32 ? "fp32" : kind == CPU_PACK_F16 ? "fp16" : "int8");
        cpu_pack_free(p);
    }
    const int shapes[][3] = {{37, 45, 70}, {8, 64, 0}, {1, 1, 0}, {64, 512, 512}, {70, 129, 3}};
    for (int kind = CPU_PACK_F32; kind <= CPU_PACK_I8; kind++)
        for (int simd = 0; simd <= 1; simd++)
            for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                for (int M = 1; M <= 11; M += (M < 3 ? 1 : 4))
                    check_pack((cpu_pack_kind)kind, simd, shapes[s][0], shapes[s][1],
                               shapes[s][2], M);
}
END_TEST

/* The plain and SIMD paths quantise and sum int8 identically; special
 * inputs: a zero row adds nothing, a NaN input makes NaN (not a number
 * that looks fine); sizes out of range are refused. */
START_TEST(packed_int8_edges)
{
    enum { N = 19, K = 200 };
    float W[N * K], X[3 * K], Y1[3 * N], Y2[3 * N];
    rng_state r;
    rng_seed(&r, 77);
    for (int i = 0; i < N * K; i++)
        W[i] = rng_uniform(&r) - 0.5f;
    for (int k = 0; k < K; k++) {
        X[k] = rng_uniform(&r) - 0.5f;
        X[K + k] = 0.0f;
        X[2 * K + k] = k == 17 ? NAN : 0.25f;
    }
    W[5 * K + 3] = 0.0f;
    memset(W + 7 * K, 0, sizeof(float) * K);          /* an all-zero row */
    cpu_pack *p = cpu_pack_new(CPU_PACK_I8, N, W, K, NULL, 0, 3);
    ck_assert_ptr_nonnull(p);
    for (int pass = 0; pass < 2; pass++) {
        float *Y = pass ? Y2 : Y1;
        for (int i = 0; i < 3 * N; i++)
            Y[i] = 1.0f;
        cpu_pack_set_simd(p, pass);
        cpu_pack_load(p, 3, X, K, NULL, 0);
        cpu_pack_gemm_rows(p, Y, N, 0, N);
    }
    for (int n = 0; n < N; n++) {
        ck_assert_msg(fabsf(Y1[n] - Y2[n]) <= 1e-6f * (1.0f + fabsf(Y1[n])), "row %d: %g vs %g",
                      n, Y1[n], Y2[n]);
        ck_assert_float_eq(Y1[N + n], 1.0f);               /* zero input */
        ck_assert_float_eq(Y2[N + n], 1.0f);
        ck_assert_msg(isnan(Y1[2 * N + n]) && isnan(Y2[2 * N + n]), "row %d: NaN lost", n);
    }
    ck_assert_float_eq(Y1[7], 1.0f);                       /* zero weight row */
    cpu_pack_free(p);
    static float big[2 * 40000];
    ck_assert_ptr_null(cpu_pack_new(CPU_PACK_I8, 1, big, 40000, big + 40000, 40000, 1));
    ck_assert_ptr_nonnull((p = cpu_pack_new(CPU_PACK_F16, 1, big, 40000, big + 40000, 40000, 1)));
    cpu_pack_free(p);
    ck_assert_ptr_null(cpu_pack_new(CPU_PACK_F32, 0, W, K, NULL, 0, 1));
    ck_assert_ptr_null(cpu_pack_new(CPU_PACK_F32, N, W, K, NULL, 0, 0));
}
END_TEST

/* Decoders holding 16- and 8-bit weights stay close to the model, run
 * generation (beam search included), and hold the kind they were asked
 * for; fp32 through the packed path agrees with the model to rounding. */
static void check_decoder_weights(model_cell cell, int ln)
{
    const double tol[] = {2e-5, 2e-2, 6e-2};
    fix f;
    fix_random_ln(&f, cell, 2, 31, ln);
    int V = f.m->cfg.vocab;
    for (int w = BE_WEIGHTS_FP32; w <= BE_WEIGHTS_INT8; w++) {
        decoder d;
        model_state st;
        ck_assert_int_eq(decoder_init(&d, f.m, 2, DECODER_TABLE_AUTO, (be_weights)w), 0);
        ck_assert_int_eq(d.weights, w);
        ck_assert_ptr_nonnull(d.p_in[1]);
        /* layers above 0 multiply [W_ih | W_hh] in one pass, but the GRU
         * and LayerNorm LSTM */
        ck_assert(cell == CELL_GRU || ln ? d.p_hh[1] != NULL : d.p_hh[1] == NULL);
        ck_assert_ptr_nonnull(d.p_hh[0]);
        ck_assert_int_eq(model_state_init(f.m, &st, 2), 0);
        float a[2 * 16], b[2 * 16];
        uint32_t ids[2] = {2, 5};
        double maxd = 0.0;
        for (int t = 0; t < 6; t++) {
            decoder_step(&d, 2, ids, a);
            model_step(f.m, &st, ids, b);
            for (int i = 0; i < 2 * V; i++) {
                double e = fabs((double)a[i] - b[i]);
                ck_assert_msg(e < tol[w] * (1.0 + fabs(b[i])), "%s%s %s step %d: %g vs %g",
                              model_cell_name(cell), ln ? " ln" : "", be_weights_name(w), t,
                              a[i], b[i]);
                if (e > maxd)
                    maxd = e;
            }
            ids[0] = (ids[0] + 3) % (uint32_t)V;
            ids[1] = (ids[1] + 1) % (uint32_t)V;
        }
        if (w != BE_WEIGHTS_FP32)
            ck_assert(maxd > 0.0);             /* a different path, really taken */
        model_state_free(f.m, &st);
        decoder_free(&d);

        sample_config cfg = cfg_with(30);
        cfg.weights = w;
        collect c1 = {0}, c2 = {0};
        sample_result r1 = run(&f, &cfg, "ab", 1, &c1, 0);
        cfg.beam = 3;
        sample_result r2 = run(&f, &cfg, "ab", 1, &c2, 0);
        ck_assert_uint_eq(c1.n, 30);
        ck_assert_uint_eq(c2.n, 30);
        sample_result_free(&r1);
        sample_result_free(&r2);
    }
    fix_free(&f);
}

/* A packed product split across threads gives the same bits as one thread
 * (each weight row's sum is done whole by one thread). */
START_TEST(decoder_threads_agree)
{
    char err[256];
    be_backend *be = be_cpu_create();
    tok_vocab *v = tok_char_build((const uint8_t *)ALPHABET, strlen(ALPHABET));
    model_config cfg = {.cell = CELL_LSTM, .layers = 2, .hidden = 203, .embed = 8,
                        .vocab = (int)tok_size(v), .dropout = 0.0f};
    rng_state r;
    rng_seed(&r, 5);
    model *m = model_create(be, &cfg, &r, err, sizeof err);
    ck_assert_msg(m != NULL, "%s", err);
    int V = cfg.vocab;
    float a[3 * 64], b[3 * 64];
    for (int w = BE_WEIGHTS_FP32; w <= BE_WEIGHTS_INT8; w++) {
        for (int pass = 0; pass < 2; pass++) {
            decoder d;
            be->set_threads(be, pass ? 3 : 1);
            ck_assert_int_eq(decoder_init(&d, m, 3, DECODER_TABLE_AUTO, (be_weights)w), 0);
            uint32_t ids[3] = {1, 2, 3};
            for (int t = 0; t < 4; t++) {
                decoder_step(&d, 3, ids, pass ? b : a);
                for (int i = 0; i < 3; i++)
                    ids[i] = (ids[i] * 5 + 2) % (uint32_t)V;
            }
            decoder_free(&d);
        }
        ck_assert_msg(memcmp(a, b, sizeof(float) * 3 * (size_t)V) == 0,
                      "%s: 3 threads differ from 1", be_weights_name(w));
    }
    model_free(m);
    tok_free(v);
    be->destroy(be);
}
END_TEST

START_TEST(decoder_weights)
{
    for (int cell = 0; cell < 3; cell++)
        check_decoder_weights((model_cell)cell, 0);
    check_decoder_weights(CELL_LSTM, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* the backend's cells (vectorised where the CPU allows) against libm */

static double sigm(double x) { return 1.0 / (1.0 + exp(-x)); }

START_TEST(cells_match_reference)
{
    be_backend *be = be_cpu_create();
    enum { B = 2, H = 37 };          /* not a multiple of the vector width */
    float g[4 * H * B], gx[3 * H * B], gh[3 * H * B], cp[H * B], c[H * B], h[H * B],
          hp[H * B], g0[4 * H * B], gx0[3 * H * B];
    rng_state r;
    rng_seed(&r, 4);
    for (int i = 0; i < 4 * H * B; i++)
        g0[i] = g[i] = (2.0f * rng_uniform(&r) - 1.0f) * (i % 9 == 0 ? 60.0f : 4.0f);
    for (int i = 0; i < 3 * H * B; i++) {
        gx0[i] = gx[i] = (2.0f * rng_uniform(&r) - 1.0f) * 4.0f;
        gh[i] = (2.0f * rng_uniform(&r) - 1.0f) * 2.0f;
    }
    for (int i = 0; i < H * B; i++) {
        cp[i] = (2.0f * rng_uniform(&r) - 1.0f) * 2.0f;
        hp[i] = 2.0f * rng_uniform(&r) - 1.0f;
    }
    be->lstm_fwd(be, B, H, g, cp, c, h);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *q = g0 + b * 4 * H;
            double i = sigm(q[j]), f = sigm(q[H + j]), gg = tanh(q[2 * H + j]),
                   o = sigm(q[3 * H + j]), cn = f * cp[b * H + j] + i * gg;
            ck_assert_double_eq_tol(c[b * H + j], cn, 2e-6 * (1 + fabs(cn)));
            ck_assert_double_eq_tol(h[b * H + j], o * tanh(cn), 2e-6);
            ck_assert_double_eq_tol(g[b * 4 * H + j], i, 2e-6);
        }
    be->gru_fwd(be, B, H, gx, gh, hp, h);
    for (int b = 0; b < B; b++)
        for (int j = 0; j < H; j++) {
            const float *x = gx0 + b * 3 * H, *y = gh + b * 3 * H;
            double rr = sigm(x[j] + y[j]), z = sigm(x[H + j] + y[H + j]),
                   n = tanh(x[2 * H + j] + rr * y[2 * H + j]);
            ck_assert_double_eq_tol(h[b * H + j], (1 - z) * n + z * hp[b * H + j], 2e-6);
        }
    be->rnn_fwd(be, B, H, cp, h);
    for (int i = 0; i < B * H; i++)
        ck_assert_double_eq_tol(h[i], tanh(cp[i]), 2e-6);
    be->destroy(be);
}
END_TEST

/* ------------------------------------------------------------------ */
/* sessions */

START_TEST(session_settings)
{
    char dir[64], path[128], err[512];
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "check_sample"));
    char sdir[96];
    snprintf(sdir, sizeof sdir, "%s/s", dir);
    be_backend *be = be_cpu_create();
    corpus corp;
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    fx_write_text(path, "the cat sat on the mat. the dog ran to the park.\n", 20);
    ck_assert_msg(corpus_load(&corp, path, NULL, 0.1, 0.0, err, sizeof err) == 0, "%s", err);
    train_config tc = train_defaults();
    tc.model.layers = 1;
    tc.model.hidden = 8;
    tc.model.embed = 4;
    tc.seq_len = 8;
    tc.batch = 2;
    trainer *t = trainer_create(be, &tc, &corp, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    /* the defaults of the new settings */
    sample_config sc = sample_defaults();
    ck_assert_float_eq(sc.repetition_penalty, 1.0f);
    ck_assert_int_eq(sc.n_best, 1);
    ck_assert_int_eq(sc.greedy, 0);
    sc.greedy = 1;
    sc.repetition_penalty = 1.3f;
    sc.repetition_window = 7;
    sc.n_best = 2;
    sc.beam = 4;
    sc.weights = BE_WEIGHTS_INT8;
    snprintf(sc.stop, sizeof sc.stop, "\n\n");
    ck_assert_msg(session_save(t, &sc, sdir, err, sizeof err) == 0, "%s", err);
    trainer_free(t);

    t = session_load(be, sdir, SESSION_NO_CORPUS, &sc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(sc.greedy, 1);
    ck_assert_float_eq(sc.repetition_penalty, 1.3f);
    ck_assert_int_eq(sc.repetition_window, 7);
    ck_assert_int_eq(sc.n_best, 2);
    ck_assert_str_eq(sc.stop, "\n\n");
    ck_assert_int_eq(sc.weights, BE_WEIGHTS_INT8);
    trainer_free(t);

    /* an older session.json without the new keys loads with defaults */
    snprintf(path, sizeof path, "%s/session.json", sdir);
    char *js = fx_read_file(path, NULL);
    cJSON *root = cJSON_Parse(js);
    free(js);
    ck_assert_ptr_nonnull(root);
    cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "sample");
    const char *added[] = {"greedy", "repetition_penalty", "repetition_window", "n_best",
                           "stop", "weights"};
    for (size_t i = 0; i < sizeof added / sizeof *added; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(s, added[i]);
    rewrite_json(path, root);
    t = session_load(be, sdir, SESSION_NO_CORPUS, &sc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(sc.greedy, 0);
    ck_assert_float_eq(sc.repetition_penalty, 1.0f);
    ck_assert_int_eq(sc.repetition_window, 64);
    ck_assert_int_eq(sc.n_best, 1);
    ck_assert_str_eq(sc.stop, "");
    ck_assert_int_eq(sc.weights, BE_WEIGHTS_FP32);
    ck_assert_int_eq(sc.beam, 4);        /* the old keys still load */
    trainer_free(t);

    /* the older "half": true reads as fp16 weights */
    cJSON_AddItemToObject(s, "half", cJSON_CreateBool(1));
    rewrite_json(path, root);
    t = session_load(be, sdir, SESSION_NO_CORPUS, &sc, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    ck_assert_int_eq(sc.weights, BE_WEIGHTS_FP16);
    trainer_free(t);

    /* bad values are refused with their names */
    cJSON_AddItemToObject(s, "weights", cJSON_CreateString("int4"));
    rewrite_json(path, root);
    t = session_load(be, sdir, SESSION_NO_CORPUS, &sc, err, sizeof err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "weights") != NULL && strstr(err, "int4") != NULL, "%s", err);
    cJSON_DeleteItemFromObjectCaseSensitive(s, "weights");
    cJSON_AddItemToObject(s, "n_best", cJSON_CreateNumber(0));
    rewrite_json(path, root);
    cJSON_Delete(root);
    t = session_load(be, sdir, SESSION_NO_CORPUS, &sc, err, sizeof err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "n_best") != NULL, "%s", err);

    be->destroy(be);
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("sample");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, decoder_matches_model_step);
    tcase_add_test(tc, decoder_matches_model_step_adaptive);
    tcase_add_test(tc, adaptive_reduced_weights);
    tcase_add_test(tc, greedy_deterministic);
    tcase_add_test(tc, reductions_to_greedy);
    tcase_add_test(tc, beam_beats_greedy);
    tcase_add_test(tc, beam_deterministic_and_streamed);
    tcase_add_test(tc, frequencies_match_softmax);
    tcase_add_test(tc, top_p_smallest_set);
    tcase_add_test(tc, repetition_penalty);
    tcase_add_test(tc, alternatives_and_nan);
    tcase_add_test(tc, degenerate_rows);
    tcase_add_test(tc, degenerate_alternatives);
    tcase_add_test(tc, prime_unknown_characters);
    tcase_add_test(tc, stop_string_and_eos);
    tcase_add_test(tc, callback_and_flag_cancel);
    tcase_add_test(tc, cancel_from_another_thread);
    tcase_add_test(tc, callback_only_request);
    tcase_add_test(tc, training_state_untouched);
    tcase_add_test(tc, half_precision);
    tcase_add_test(tc, packed_products);
    tcase_add_test(tc, packed_int8_edges);
    tcase_add_test(tc, decoder_weights);
    tcase_add_test(tc, decoder_threads_agree);
    tcase_add_test(tc, cells_match_reference);
    tcase_add_test(tc, session_settings);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
