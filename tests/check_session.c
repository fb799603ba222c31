/* check_session.c - session save / open: a round trip restores the
 * configuration, tokenizer, weights, optimizer moments, carried state,
 * progress, RNG, history and the sampler settings saved beside them exactly
 * (and training continues bit for bit); corrupt sessions (a NaN or infinity
 * in a tensor included) are refused with a message naming the file; saves
 * never destroy what they were not asked to replace, a failed save leaves
 * the previous session loadable, and a save is refused while another
 * process saves the same session. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "decode/sample.h"
#include "store/safetensors.h"
#include "store/session.h"
#include "train/trainer.h"

static char tmpdir[64];
static char corpus_file[128];
static be_backend *be;

static const char *TEXT =
    "the cat sat on the mat. a dog ran to the park. the bird sang in the tree.\n"
    "we saw the moon at night. the cat ran to the tree. a bird sat on the dog.\n";

static void setup(void)
{
    ck_assert_ptr_nonnull(fx_temp_dir(tmpdir, sizeof tmpdir, "check_ses"));
    snprintf(corpus_file, sizeof corpus_file, "%s/corpus.txt", tmpdir);
    fx_write_text(corpus_file, TEXT, 20);
    be = be_cpu_create();
    ck_assert_ptr_nonnull(be);
}

static void teardown(void)
{
    be->destroy(be);
    ck_assert_int_eq(fx_remove_tree(tmpdir), 0);
}

static void path_in(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* tiny_config's and make_trainer's tie: 1 ties the decoder, LN (or'ed
 * in) makes a LayerNorm LSTM, AWD switches on every AWD-LSTM regulariser
 * (with dropout, rates of their own at two places, 2 layers, and seq-len
 * 10 for the jitter), ADA the adaptive softmax (cutoffs 5,15, div-value
 * 2, a head bias). */
enum { LN = 2, AWD = 4, NTASGD = 8, ADA = 16 };

static train_config tiny_config(model_cell cell, int tie)
{
    train_config cfg = train_defaults();
    cfg.model.cell = cell;
    cfg.model.layers = 1;
    cfg.model.hidden = 8;
    cfg.model.embed = tie & 1 ? 8 : 4;
    cfg.model.dropout = 0.0f;
    cfg.model.tie = tie & 1;
    cfg.model.layer_norm = !!(tie & LN);
    cfg.seq_len = 8;
    cfg.batch = 2;
    cfg.val_frac = 0.1;
    cfg.test_frac = 0.0;
    cfg.eval_streams = 1;
    cfg.threads = 1;
    cfg.seed = 18446744073709551557ULL;    /* does not fit a double */
    if (tie & ADA) {
        cfg.model.softmax = SOFTMAX_ADAPTIVE;
        cfg.model.cutoffs = (model_cutoffs){2, {5, 15}};
        cfg.model.div_value = 2.0f;
        cfg.model.head_bias = 1;
    }
    if (tie & NTASGD) {
        cfg.optim = optim_defaults(OPT_NTASGD);
        cfg.optim.nonmono = 1;
    }
    if (tie & AWD) {
        /* two layers: every dropout place, one of them set to 0, one
         * left to dropout's rate */
        cfg.model.layers = 2;
        cfg.model.dropout = 0.3f;
        cfg.model.drop[MODEL_DROP_INPUT] = (model_rate){0.5f, 1};
        cfg.model.drop[MODEL_DROP_HIDDEN] = (model_rate){0.0f, 1};
        cfg.model.locked = 1;
        cfg.model.dropout_embed = 0.2f;
        cfg.model.weight_drop = 0.4f;
        cfg.ar = 1.5f;
        cfg.tar = 0.7f;
        cfg.bptt_jitter = 1;
        cfg.seq_len = 10;
    }
    return cfg;
}

/* A trainer on the corpus (from memory, or from corpus_file), stepped a
 * few times so every piece of state is non-trivial. */
static trainer *make_trainer(model_cell cell, int tie, int from_file)
{
    char err[256] = "";
    train_config cfg = tiny_config(cell, tie);
    corpus c;
    if (from_file) {
        ck_assert_msg(corpus_load(&c, corpus_file, NULL, cfg.val_frac, cfg.test_frac,
                                  err, sizeof err) == 0, "%s", err);
    } else {
        size_t len;
        char *text = fx_read_file(corpus_file, &len);
        ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)text, len, NULL, cfg.val_frac,
                                         cfg.test_frac, err, sizeof err) == 0, "%s", err);
        free(text);
    }
    cfg.model.vocab = (int)tok_size(c.vocab);
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    if (tie & NTASGD) {         /* switched to averaging (nonmono 1) */
        trainer_note_val(t, 2.0);
        trainer_note_val(t, 2.25);
        trainer_note_val(t, 2.375);
        ck_assert(t->opt.averaging);
    }
    for (int i = 0; i < 5; i++) {
        train_info info;
        ck_assert_msg(trainer_step(t, &info, err, sizeof err) == 0, "%s", err);
    }
    trainer_note_val(t, 2.5);
    rng_next(&t->rng);
    /* One ulp above 1.25: cJSON's own number printing would lose it. */
    t->elapsed = 1.25 + DBL_EPSILON;
    t->last_val_loss = 2.5 + 2 * DBL_EPSILON;
    return t;
}

static float *download(be_backend *b, const float *dev, size_t n)
{
    float *h = malloc(n * sizeof(float) + 1);
    b->download(b, h, dev, n * sizeof(float));
    return h;
}

static void assert_dev_eq(const float *a, const float *b, size_t n, const char *what)
{
    float *x = download(be, a, n), *y = download(be, b, n);
    ck_assert_msg(memcmp(x, y, n * sizeof(float)) == 0, "%s differs", what);
    free(x);
    free(y);
}

static void assert_config_eq(const train_config *a, const train_config *b)
{
    ck_assert_int_eq(a->model.cell, b->model.cell);
    ck_assert_int_eq(a->model.layers, b->model.layers);
    ck_assert_int_eq(a->model.hidden, b->model.hidden);
    ck_assert_int_eq(a->model.embed, b->model.embed);
    ck_assert_int_eq(a->model.vocab, b->model.vocab);
    ck_assert(a->model.dropout == b->model.dropout);
    for (int k = 0; k < MODEL_DROP_PLACES; k++) {
        ck_assert_int_eq(a->model.drop[k].set, b->model.drop[k].set);
        ck_assert(a->model.drop[k].p == b->model.drop[k].p);
    }
    ck_assert_int_eq(a->model.tie, b->model.tie);
    ck_assert_int_eq(a->model.forget_bias, b->model.forget_bias);
    ck_assert(a->model.dropout_embed == b->model.dropout_embed);
    ck_assert_int_eq(a->model.locked, b->model.locked);
    ck_assert(a->model.weight_drop == b->model.weight_drop);
    ck_assert_int_eq(a->model.softmax, b->model.softmax);
    ck_assert_mem_eq(&a->model.cutoffs, &b->model.cutoffs, sizeof a->model.cutoffs);
    ck_assert(a->model.div_value == b->model.div_value);
    ck_assert_int_eq(a->model.head_bias, b->model.head_bias);
    ck_assert(a->ar == b->ar);
    ck_assert(a->tar == b->tar);
    ck_assert_int_eq(a->bptt_jitter, b->bptt_jitter);
    ck_assert_int_eq(a->optim.kind, b->optim.kind);
    ck_assert(a->optim.lr == b->optim.lr);
    ck_assert(a->optim.momentum == b->optim.momentum);
    ck_assert(a->optim.beta1 == b->optim.beta1);
    ck_assert(a->optim.beta2 == b->optim.beta2);
    ck_assert(a->optim.eps == b->optim.eps);
    ck_assert(a->optim.weight_decay == b->optim.weight_decay);
    ck_assert(a->optim.alpha == b->optim.alpha);
    ck_assert_int_eq(a->optim.nesterov, b->optim.nesterov);
    ck_assert_int_eq(a->seq_len, b->seq_len);
    ck_assert_int_eq(a->batch, b->batch);
    ck_assert(a->clip_norm == b->clip_norm);
    ck_assert(a->clip_value == b->clip_value);
    ck_assert_int_eq(a->eval_every, b->eval_every);
    ck_assert_int_eq(a->eval_streams, b->eval_streams);
    ck_assert(a->val_frac == b->val_frac);
    ck_assert(a->test_frac == b->test_frac);
    ck_assert(a->seed == b->seed);
    ck_assert_int_eq(a->threads, b->threads);
    ck_assert(a->lr_decay == b->lr_decay);
    ck_assert_int_eq(a->lr_decay_every, b->lr_decay_every);
    ck_assert_int_eq(a->warmup, b->warmup);
    ck_assert_int_eq(a->schedule, b->schedule);
    ck_assert(a->min_lr == b->min_lr);
    ck_assert(a->plateau_factor == b->plateau_factor);
    ck_assert_int_eq(a->plateau_patience, b->plateau_patience);
}

static void assert_optim_eq(const trainer *a, const trainer *b)
{
    const char *na[8], *nb[8];
    float *ba[8], *bb[8];
    int ka = optim_state(&a->opt, na, ba, 8), kb = optim_state(&b->opt, nb, bb, 8);
    ck_assert_int_eq(ka, kb);
    ck_assert_uint_eq(a->opt.n, b->opt.n);
    for (int i = 0; i < ka; i++) {
        ck_assert_str_eq(na[i], nb[i]);
        assert_dev_eq(ba[i], bb[i], a->opt.n, na[i]);
    }
    ck_assert_int_eq(a->opt.t, b->opt.t);
    ck_assert_int_eq(a->opt.averaging, b->opt.averaging);
    ck_assert_int_eq(a->opt.avg_n, b->opt.avg_n);
    ck_assert_int_eq(a->opt.n_recent, b->opt.n_recent);
    for (int i = 0; i < a->opt.n_recent; i++)
        ck_assert(a->opt.recent[i] == b->opt.recent[i]);
    ck_assert(a->opt.best_before == b->opt.best_before);
    ck_assert_int_eq(a->ntasgd_step, b->ntasgd_step);
    ck_assert_int_eq(a->opt.cfg.nonmono, b->opt.cfg.nonmono);
}

static void assert_trainers_eq(const trainer *a, const trainer *b, int with_position)
{
    assert_config_eq(&a->cfg, &b->cfg);
    ck_assert_uint_eq(a->m->n_params, b->m->n_params);
    assert_dev_eq(a->m->params, b->m->params, a->m->n_params, "weights");
    assert_optim_eq(a, b);
    ck_assert_int_eq(a->step, b->step);
    ck_assert_int_eq(a->epoch, b->epoch);
    if (with_position) {
        size_t ns = (size_t)a->cfg.model.layers * (size_t)a->cfg.batch * (size_t)a->cfg.model.hidden;
        ck_assert_uint_eq(a->pos, b->pos);
        ck_assert_uint_eq(a->stream_len, b->stream_len);
        assert_dev_eq(a->state.h, b->state.h, ns, "state.h");
        if (a->state.c)
            assert_dev_eq(a->state.c, b->state.c, ns, "state.c");
    }
    ck_assert_mem_eq(a->rng.s, b->rng.s, sizeof a->rng.s);
    ck_assert(a->elapsed == b->elapsed);
    ck_assert(a->last_val_loss == b->last_val_loss);
    ck_assert_uint_eq(a->n_hist, b->n_hist);
    for (size_t i = 0; i < a->n_hist; i++) {
        ck_assert_int_eq(a->hist[i].step, b->hist[i].step);
        ck_assert(a->hist[i].loss == b->hist[i].loss);
        ck_assert(a->hist[i].val_loss == b->hist[i].val_loss ||
                  (isnan(a->hist[i].val_loss) && isnan(b->hist[i].val_loss)));
    }
    ck_assert_uint_eq(tok_size(a->corp.vocab), tok_size(b->corp.vocab));
}

/* The sampler settings every test session is saved with. */
static sample_config saved_sample(void)
{
    sample_config s = sample_defaults();
    s.temperature = 0.7f;
    s.top_k = 5;
    s.top_p = 0.9f;
    s.length = 123;
    s.every = (sample_cadence){0, 7.5f};
    snprintf(s.prime, sizeof s.prime, "the \"cat\"\n\\");
    return s;
}

static void assert_sample_eq(const sample_config *a, const sample_config *b)
{
    ck_assert(a->temperature == b->temperature);
    ck_assert_int_eq(a->top_k, b->top_k);
    ck_assert(a->top_p == b->top_p);
    ck_assert_int_eq(a->beam, b->beam);
    ck_assert_int_eq(a->length, b->length);
    ck_assert_int_eq(a->every.steps, b->every.steps);
    ck_assert_float_eq(a->every.seconds, b->every.seconds);
    ck_assert_str_eq(a->prime, b->prime);
}

static void save_ok(const trainer *t, const char *dir)
{
    char err[256] = "";
    sample_config s = saved_sample();
    ck_assert_msg(session_save(t, &s, dir, err, sizeof err) == 0, "%s", err);
}

/* Opens a session saved by save_ok: its sampler settings come back. */
static trainer *load_ok(const char *dir, const char *corpus_path)
{
    char err[256] = "";
    sample_config want = saved_sample(), got;
    trainer *t = session_load(be, dir, corpus_path, &got, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    assert_sample_eq(&want, &got);
    return t;
}

/* The session in dir holds what t holds. */
static void assert_saved(const char *dir, const trainer *t)
{
    trainer *got = load_ok(dir, corpus_file);
    assert_trainers_eq(t, got, 1);
    trainer_free(got);
}

/* dir still holds a, and a good save of b then replaces it.  Frees both. */
static void kept_then_replaced(const char *dir, trainer *a, trainer *b)
{
    assert_saved(dir, a);
    save_ok(b, dir);
    assert_saved(dir, b);
    trainer_free(a);
    trainer_free(b);
}

/* Loading dir must fail with a one-line message containing want. */
static void load_fails(const char *dir, const char *want)
{
    char err[512] = "";
    trainer *t = session_load(be, dir, corpus_file, NULL, err, sizeof err);
    ck_assert_msg(t == NULL, "loaded despite: %s", want);
    ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
    for (const char *c = err; *c; c++)
        ck_assert_msg((unsigned char)*c >= 0x20, "control character in \"%s\"", err);
}

/* Training a and b (a's session, opened) continues exactly alike, as if
 * never interrupted: the same losses, the same weights. */
static void continues_alike(trainer *a, trainer *b)
{
    char err[256];
    for (int i = 0; i < 3; i++) {
        train_info ia, ib;
        ck_assert_msg(trainer_step(a, &ia, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(trainer_step(b, &ib, err, sizeof err) == 0, "%s", err);
        ck_assert_msg(ia.loss == ib.loss, "step %d: %g vs %g", i, ia.loss, ib.loss);
    }
    assert_dev_eq(a->m->params, b->m->params, a->m->n_params, "weights after steps");
}

static void round_trip(model_cell cell, int tie, int from_file)
{
    trainer *a = make_trainer(cell, tie, from_file);
    char dir[128];
    path_in(dir, sizeof dir, "runs/deep/s1");      /* parents created */
    save_ok(a, dir);
    trainer *b = load_ok(dir, from_file ? NULL : corpus_file);
    assert_trainers_eq(a, b, 1);

    continues_alike(a, b);

    /* Saving over the existing session replaces it. */
    save_ok(b, dir);
    trainer *c = load_ok(dir, corpus_file);
    assert_trainers_eq(b, c, 1);
    trainer_free(a);
    trainer_free(b);
    trainer_free(c);
}

START_TEST(test_round_trip_lstm) { round_trip(CELL_LSTM, 0, 0); }
END_TEST
START_TEST(test_round_trip_gru_file) { round_trip(CELL_GRU, 0, 1); }
END_TEST
START_TEST(test_round_trip_rnn_tied) { round_trip(CELL_RNN, 1, 1); }
END_TEST
START_TEST(test_round_trip_lnlstm) { round_trip(CELL_LSTM, LN, 0); }
END_TEST
START_TEST(test_round_trip_awd) { round_trip(CELL_LSTM, AWD, 0); }
END_TEST
START_TEST(test_round_trip_ntasgd) { round_trip(CELL_LSTM, AWD | NTASGD, 0); }
END_TEST
START_TEST(test_round_trip_adaptive) { round_trip(CELL_GRU, ADA, 0); }
END_TEST


/* A word and a BPE tokenizer (merges included) come back from a session
 * unchanged, with the corpus split and encoded as before, and training
 * resumes bit for bit; session_tokenizer reads the same tokenizer from
 * session.json alone. */
static void tokenizer_round_trip(tok_kind kind)
{
    char err[256] = "", dir[256];
    train_config cfg = tiny_config(CELL_GRU, 0);
    tok_options o = tok_options_default();
    corpus c;
    o.kind = kind;
    o.bpe_vocab = 300;
    o.lowercase = kind == TOK_WORD;
    ck_assert_msg(corpus_learn(&c, corpus_file, &o, cfg.val_frac, cfg.test_frac, err,
                               sizeof err) == 0, "%s", err);
    cfg.model.vocab = (int)tok_size(c.vocab);
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    train_info info;
    ck_assert_msg(trainer_step(t, &info, err, sizeof err) == 0, "%s", err);
    path_in(dir, sizeof dir, "tok");
    ck_assert_msg(session_save(t, NULL, dir, err, sizeof err) == 0, "%s", err);
    trainer *u = session_load(be, dir, NULL, NULL, err, sizeof err);
    ck_assert_msg(u != NULL, "%s", err);
    tok_vocab *v = session_tokenizer(dir, err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    cJSON *a = tok_to_json(t->corp.vocab), *b = tok_to_json(u->corp.vocab);
    cJSON *d = tok_to_json(v);
    ck_assert(cJSON_Compare(a, b, 1) && cJSON_Compare(a, d, 1));
    ck_assert_int_eq(tok_kind_of(u->corp.vocab), kind);
    ck_assert_uint_eq(u->corp.n, t->corp.n);
    ck_assert_uint_eq(u->corp.val_begin, t->corp.val_begin);
    ck_assert_uint_eq(u->corp.val_bytes, t->corp.val_bytes);
    ck_assert_uint_eq(u->corp.id_width, t->corp.id_width);
    ck_assert(memcmp(u->corp.ids, t->corp.ids, t->corp.n * t->corp.id_width) == 0);
    continues_alike(t, u);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(d);
    tok_free(v);
    trainer_free(t);
    trainer_free(u);
}

START_TEST(test_word_tokenizer) { tokenizer_round_trip(TOK_WORD); }
END_TEST
START_TEST(test_bpe_tokenizer) { tokenizer_round_trip(TOK_BPE); }
END_TEST

/* The best checkpoint: best.safetensors beside the weights, its figures
 * in session.json, both back on load; a session without one has none. */
START_TEST(test_best_checkpoint)
{
    trainer *a = make_trainer(CELL_GRU, 0, 1);
    char dir[128], p[192], err[256];
    path_in(dir, sizeof dir, "best");
    save_ok(a, dir);
    snprintf(p, sizeof p, "%s/best.safetensors", dir);
    ck_assert_int_ne(access(p, F_OK), 0);
    trainer *b = load_ok(dir, NULL);
    ck_assert_ptr_null(b->best_params);
    ck_assert_int_eq(b->best_step, -1);
    ck_assert(isnan(b->best_val_loss));
    ck_assert_int_eq(trainer_use_best(b, err, sizeof err), -1);
    trainer_free(b);

    /* keep these weights as the best, then train on */
    ck_assert_int_eq(trainer_keep_best(a, err, sizeof err), 0);
    a->best_val_loss = 2.5;
    a->best_step = a->step;
    float *kept = malloc(a->m->n_params * sizeof(float));
    memcpy(kept, a->best_params, a->m->n_params * sizeof(float));
    train_info in;
    ck_assert(trainer_step(a, &in, err, sizeof err) == 0);
    save_ok(a, dir);
    ck_assert_int_eq(access(p, F_OK), 0);
    b = load_ok(dir, NULL);
    ck_assert_ptr_nonnull(b->best_params);
    ck_assert_int_eq(b->best_step, a->best_step);
    ck_assert(b->best_val_loss == 2.5);
    ck_assert(memcmp(b->best_params, kept, a->m->n_params * sizeof(float)) == 0);
    assert_dev_eq(a->m->params, b->m->params, a->m->n_params, "last weights");
    /* --best: the kept weights in place of the last */
    ck_assert_int_eq(trainer_use_best(b, err, sizeof err), 0);
    float *now = malloc(b->m->n_params * sizeof(float));
    b->be->download(b->be, now, b->m->params, b->m->n_params * sizeof(float));
    ck_assert(memcmp(now, kept, b->m->n_params * sizeof(float)) == 0);
    free(now);
    free(kept);
    trainer_free(a);
    trainer_free(b);
}
END_TEST

START_TEST(test_files_and_json)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char dir[128], p[192], err[256];
    path_in(dir, sizeof dir, "s");
    save_ok(a, dir);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    st_file f;
    ck_assert_msg(st_open(&f, p, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(st_find(&f, "encoder.weight"));
    ck_assert_ptr_nonnull(st_find(&f, "rnn.weight_ih_l0"));
    ck_assert_ptr_nonnull(st_find(&f, "decoder.bias"));
    st_close(&f);
    snprintf(p, sizeof p, "%s/optimizer.safetensors", dir);
    ck_assert_msg(st_open(&f, p, err, sizeof err) == 0, "%s", err);
    const st_tensor *h = st_find(&f, "state.h");
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(h->ndim, 3);
    ck_assert_int_eq(h->shape[0], 1);
    ck_assert_int_eq(h->shape[1], 2);
    ck_assert_int_eq(h->shape[2], 8);
    ck_assert_ptr_nonnull(st_find(&f, "state.c"));
    st_close(&f);

    snprintf(p, sizeof p, "%s/session.json", dir);
    size_t len;
    char *text = fx_read_file(p, &len);
    cJSON *j = cJSON_Parse(text);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "format")->valueint, SESSION_FORMAT);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "program")->valuestring, "rnnlab");
    cJSON *tr = cJSON_GetObjectItem(j, "train");
    ck_assert_str_eq(cJSON_GetObjectItem(tr, "seed")->valuestring, "18446744073709551557");
    const char *cp = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "corpus"), "path")->valuestring;
    ck_assert_int_eq(cp[0], '/');
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "history"), "val_loss")));
    ck_assert_ptr_nonnull(strstr(text, "\n\t"));      /* pretty-printed */
    cJSON_Delete(j);
    free(text);

    /* No temporaries left beside it. */
    snprintf(p, sizeof p, "%s.tmp-%ld", dir, (long)getpid());
    ck_assert_int_ne(access(p, F_OK), 0);
    trainer_free(a);
}
END_TEST

START_TEST(test_tied_decoder_copy)
{
    trainer *a = make_trainer(CELL_GRU, 1, 1);
    char dir[128], p[192], err[256];
    path_in(dir, sizeof dir, "tied");
    save_ok(a, dir);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    st_file f;
    ck_assert_msg(st_open(&f, p, err, sizeof err) == 0, "%s", err);
    const st_tensor *e = st_find(&f, "encoder.weight"), *d = st_find(&f, "decoder.weight");
    ck_assert_ptr_nonnull(e);
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(e->end - e->begin, d->end - d->begin);
    ck_assert_mem_eq(f.data + f.data_off + e->begin, f.data + f.data_off + d->begin,
                     e->end - e->begin);
    st_close(&f);
    trainer_free(a);
}
END_TEST

START_TEST(test_no_corpus)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char dir[128];
    path_in(dir, sizeof dir, "nc");
    save_ok(a, dir);
    trainer *b = load_ok(dir, SESSION_NO_CORPUS);
    ck_assert_uint_eq(b->corp.n, 0);
    ck_assert_ptr_nonnull(b->corp.vocab);
    assert_trainers_eq(a, b, 0);
    char err[256];
    train_info info;
    ck_assert_int_eq(trainer_step(b, &info, err, sizeof err), -1);
    trainer_free(a);
    trainer_free(b);
}
END_TEST

/* ---- corruption ---- */

/* Saves a fresh session into tmpdir/<name> and returns its path in dir. */
/* A session saved in tmpdir/name (its path in dir) of an LSTM with
 * make_trainer's flags. */
static void fresh_session_with(char *dir, size_t len, const char *name, int flags)
{
    trainer *a = make_trainer(CELL_LSTM, flags, 1);
    path_in(dir, len, name);
    save_ok(a, dir);
    trainer_free(a);
}

static void fresh_session(char *dir, size_t len, const char *name)
{
    fresh_session_with(dir, len, name, 0);
}

typedef void (*json_edit)(cJSON *root);
typedef struct json_case { json_edit fn; const char *want; } json_case;

static void edit_json(const char *dir, json_edit fn)
{
    char p[192];
    snprintf(p, sizeof p, "%s/session.json", dir);
    size_t len;
    char *text = fx_read_file(p, &len);
    cJSON *root = cJSON_Parse(text);
    ck_assert_ptr_nonnull(root);
    fn(root);
    char *out = cJSON_Print(root);
    fx_write_file(p, out, strlen(out));
    free(out);
    cJSON_Delete(root);
    free(text);
}

static cJSON *sect(cJSON *root, const char *s) { return cJSON_GetObjectItem(root, s); }

static void ed_format99(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateNumber(99)); }
static void ed_format0(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateNumber(0)); }
static void ed_format_str(cJSON *r) { cJSON_ReplaceItemInObject(r, "format", cJSON_CreateString("1")); }
static void ed_program(cJSON *r) { cJSON_ReplaceItemInObject(r, "program", cJSON_CreateString("other")); }
static void ed_no_hidden(cJSON *r) { cJSON_DeleteItemFromObject(sect(r, "model"), "hidden"); }
static void ed_no_model(cJSON *r) { cJSON_DeleteItemFromObject(r, "model"); }
static void ed_neg_hidden(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "hidden", cJSON_CreateNumber(-8));
}
static void ed_frac_hidden(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "hidden", cJSON_CreateNumber(8.5));
}
static void ed_cell(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "cell", cJSON_CreateString("transformer"));
}
static void ed_tie_num(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "tie", cJSON_CreateNumber(1));
}
static void ed_vocab(cJSON *r)
{
    cJSON *v = cJSON_GetObjectItem(sect(r, "model"), "vocab");
    cJSON_ReplaceItemInObject(sect(r, "model"), "vocab", cJSON_CreateNumber(v->valuedouble + 1));
}
static void ed_hidden16(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "hidden", cJSON_CreateNumber(16));
}
static void ed_seed_num(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "seed", cJSON_CreateNumber(1337));
}
static void ed_seed_big(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "seed", cJSON_CreateString("18446744073709551616"));
}
static void ed_optimizer(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "optimizer", cJSON_CreateString("lion"));
}
static void ed_batch0(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "batch", cJSON_CreateNumber(0));
}
static void ed_lr_str(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "lr", cJSON_CreateString("fast"));
}
static void ed_rng3(cJSON *r) { cJSON_DeleteItemFromArray(sect(r, "rng"), 0); }
static void ed_rng_zero(cJSON *r)
{
    const char *z[4] = { "0", "0", "0", "0" };
    cJSON_ReplaceItemInObject(r, "rng", cJSON_CreateStringArray(z, 4));
}
static void ed_hist_len(cJSON *r) { cJSON_DeleteItemFromArray(sect(sect(r, "history"), "loss"), 0); }
static void ed_hist_step(cJSON *r)
{
    cJSON_ReplaceItemInArray(sect(sect(r, "history"), "step"), 0, cJSON_CreateString("x"));
}
static void ed_prime_long(cJSON *r)
{
    char s[400];
    memset(s, 'a', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    cJSON_ReplaceItemInObject(sect(r, "sample"), "prime", cJSON_CreateString(s));
}
static void ed_progress_neg(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "progress"), "step", cJSON_CreateNumber(-1));
}
static void ed_val_loss_str(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "progress"), "last_val_loss", cJSON_CreateString("low"));
}
static void ed_tokenizer(cJSON *r) { cJSON_ReplaceItemInObject(r, "tokenizer", cJSON_CreateNumber(3)); }
static void ed_schedule(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "train"), "schedule", cJSON_CreateString("linear"));
}
static void ed_plan(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "schedule"), "plan", cJSON_CreateString("epochs"));
}
static void ed_plateau_best(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "schedule"), "best", cJSON_CreateString("low"));
}
static void ed_drop_input_high(cJSON *r)
{
    cJSON_AddItemToObject(sect(r, "model"), "dropout_input", cJSON_CreateNumber(1.5));
}
static void ed_drop_output_str(cJSON *r)
{
    cJSON_AddItemToObject(sect(r, "model"), "dropout_output", cJSON_CreateString("half"));
}
/* Control characters in a refused value stay out of the message (found by
 * fuzz/session_json.c): an escape sequence would reach the terminal. */
static void ed_weights_ctrl(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "sample"), "weights", cJSON_CreateString("fp16\033[2J\n"));
}

static const json_case json_cases[] = {
    { ed_format99, "format 99 is newer" },
    { ed_format0, "format must be" },
    { ed_format_str, "format must be" },
    { ed_program, "program" },
    { ed_no_hidden, "model.hidden is missing" },
    { ed_no_model, "model is missing" },
    { ed_neg_hidden, "model.hidden must be a positive integer" },
    { ed_frac_hidden, "model.hidden must be a positive integer" },
    { ed_cell, "model.cell" },
    { ed_tie_num, "model.tie must be true or false" },
    { ed_vocab, "tokenizer has" },
    { ed_hidden16, "model.safetensors: " },
    { ed_seed_num, "train.seed" },
    { ed_seed_big, "train.seed" },
    { ed_optimizer, "train.optimizer" },
    { ed_batch0, "train.batch must be a positive integer" },
    { ed_lr_str, "train.lr must be a number" },
    { ed_rng3, "rng must be" },
    { ed_rng_zero, "rng state is all zero" },
    { ed_hist_len, "history arrays differ" },
    { ed_hist_step, "history.step" },
    { ed_prime_long, "sample.prime is longer" },
    { ed_progress_neg, "progress.step must be" },
    { ed_val_loss_str, "progress.last_val_loss" },
    { ed_tokenizer, "tokenizer" },
    { ed_schedule, "train.schedule \"linear\" is not constant, step, cosine" },
    { ed_plan, "schedule.plan must be none, steps or seconds" },
    { ed_plateau_best, "schedule.best must be a number or null" },
    { ed_drop_input_high, "model.dropout_input must be" },
    { ed_drop_output_str, "model.dropout_output must be a number" },
    { ed_weights_ctrl, "sample.weights is \"fp16?[2J?\", not fp32" },
};

/* Each edit of dir's session.json is refused with its message (naming
 * session.json unless it is about a tensor); the untouched file, put
 * back, still loads. */
static void edits_refused(const char *dir, const json_case *cases, size_t n)
{
    char p[192];
    snprintf(p, sizeof p, "%s/session.json", dir);
    size_t len;
    char *orig = fx_read_file(p, &len);
    for (size_t i = 0; i < n; i++) {
        fx_write_file(p, orig, len);
        edit_json(dir, cases[i].fn);
        load_fails(dir, cases[i].want);
        if (!strstr(cases[i].want, "safetensors"))
            load_fails(dir, "session.json: ");      /* names the file */
    }
    fx_write_file(p, orig, len);
    trainer_free(load_ok(dir, corpus_file));
    free(orig);
}

START_TEST(test_corrupt_json_fields)
{
    char dir[128];
    fresh_session(dir, sizeof dir, "c");
    edits_refused(dir, json_cases, sizeof json_cases / sizeof json_cases[0]);
}
END_TEST

/* An adaptive session's softmax is checked on load: its kind, its
 * cutoffs against the vocabulary and the tensors' shapes, every field
 * there; each refusal one line naming the file. */
static void ad_kind(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "softmax", cJSON_CreateString("sparse"));
}
static void ad_flat(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "softmax", cJSON_CreateString("full"));
}
static void ad_cut(cJSON *r, int a, int b)
{
    int k[2] = {a, b};
    cJSON_ReplaceItemInObject(sect(r, "model"), "cutoffs", cJSON_CreateIntArray(k, 2));
}
static void ad_past(cJSON *r) { ad_cut(r, 5, 999); }
static void ad_down(cJSON *r) { ad_cut(r, 15, 5); }
static void ad_moved(cJSON *r) { ad_cut(r, 6, 15); }
static void ad_frac(cJSON *r)
{
    cJSON_ReplaceItemInArray(cJSON_GetObjectItem(sect(r, "model"), "cutoffs"), 0,
                             cJSON_CreateNumber(5.5));
}
static void ad_no_div(cJSON *r) { cJSON_DeleteItemFromObject(sect(r, "model"), "div_value"); }
static void ad_bias(cJSON *r)
{
    cJSON_ReplaceItemInObject(sect(r, "model"), "head_bias", cJSON_CreateFalse());
}

START_TEST(test_adaptive_checked)
{
    static const json_case cases[] = {
        { ad_kind, "model.softmax \"sparse\" is not full or adaptive" },
        { ad_flat, "model.safetensors: unexpected tensor decoder.head" },
        { ad_past, "model: cutoff 999 is not below the vocabulary size" },
        { ad_down, "model: cutoffs must increase" },
        { ad_moved, "model.safetensors: " },
        { ad_frac, "model.cutoffs must hold integers" },
        { ad_no_div, "model.div_value is missing" },
        { ad_bias, "model.safetensors: unexpected tensor decoder.head.bias" },
    };
    char dir[128];
    fresh_session_with(dir, sizeof dir, "adaptive", ADA);
    edits_refused(dir, cases, sizeof cases / sizeof cases[0]);
}
END_TEST

START_TEST(test_corrupt_json_text)
{
    char dir[128], p[192];
    fresh_session(dir, sizeof dir, "c");
    snprintf(p, sizeof p, "%s/session.json", dir);
    fx_write_file(p, "{ \"format\": 1,\n \"program\": ", 28);
    load_fails(dir, "not valid JSON");
    fx_write_file(p, "[1, 2]", 6);
    load_fails(dir, "not a JSON object");
    fx_write_file(p, "{} {}", 5);
    load_fails(dir, "trailing data");
    fx_write_file(p, "", 0);
    load_fails(dir, "session.json");
    unlink(p);
    load_fails(dir, "no session.json");
    mkdir(p, 0755);
    load_fails(dir, "session.json");
}
END_TEST

START_TEST(test_missing_dir)
{
    char dir[128];
    path_in(dir, sizeof dir, "nowhere");
    load_fails(dir, "nowhere");
    load_fails(corpus_file, "not a session directory");
}
END_TEST

/* Rewrites dir/<file> with the tensors of the original, passed through fn. */
typedef void (*st_edit)(st_entry *e, int *n, float *scratch);

static void edit_st(const char *dir, const char *file, st_edit fn)
{
    char p[192], err[256];
    snprintf(p, sizeof p, "%s/%s", dir, file);
    st_file f;
    ck_assert_msg(st_open(&f, p, err, sizeof err) == 0, "%s", err);
    st_entry e[64];
    int n = f.n;
    ck_assert_int_le(n, 60);
    float *scratch = calloc(1 << 16, sizeof(float));
    float *copy = malloc(f.size + 4);
    memcpy(copy, f.data + f.data_off, f.size - f.data_off);
    for (int i = 0; i < n; i++) {
        e[i].name = f.t[i].name;
        e[i].data = copy + f.t[i].begin / sizeof(float);
        e[i].ndim = f.t[i].ndim;
        memcpy(e[i].shape, f.t[i].shape, sizeof e[i].shape);
    }
    fn(e, &n, scratch);
    /* The names point into f, which stays open until written. */
    ck_assert_msg(st_write(p, e, n, err, sizeof err) == 0, "%s", err);
    free(copy);
    free(scratch);
    st_close(&f);
}

static int find_entry(st_entry *e, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(e[i].name, name) == 0)
            return i;
    ck_abort_msg("no tensor %s", name);
    return -1;
}

static void se_shape(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "rnn.weight_hh_l0");
    e[i].shape[0] /= 2;           /* [32,8] -> [16,8], data of the right size */
    (void)s;
}

static void se_vocab(st_entry *e, int *n, float *s)
{
    /* Weights for one more token than the vocabulary has. */
    int i = find_entry(e, *n, "encoder.weight");
    e[i].shape[0] += 1;
    e[i].data = s;
    i = find_entry(e, *n, "decoder.weight");
    e[i].shape[0] += 1;
    e[i].data = s;
    i = find_entry(e, *n, "decoder.bias");
    e[i].shape[0] += 1;
    e[i].data = s;
}

static void se_drop_bias(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "decoder.bias");
    e[i] = e[--*n];
    (void)s;
}

static void se_drop_dec(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "decoder.weight");
    e[i] = e[--*n];
    (void)s;
}

static void se_extra(st_entry *e, int *n, float *s)
{
    e[*n] = (st_entry){ "rnn.weight_ih_l1", s, 1, { 4 } };
    ++*n;
}

static void se_state_hidden(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "state.h");
    e[i].shape[2] = 4;
    e[i].data = s;
}

static void se_drop_moment(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "exp_avg");
    e[i] = e[--*n];
    (void)s;
}

static void se_dec_zero(st_entry *e, int *n, float *s)
{
    e[find_entry(e, *n, "decoder.weight")].data = s;
}

/* Edits dir's model.safetensors (at p) by fn, expects its load to fail
 * with want, then puts back the original (model, len bytes). */
static void model_edit_fails(const char *dir, const char *p, const char *model, size_t len,
                             st_edit fn, const char *want)
{
    edit_st(dir, "model.safetensors", fn);
    load_fails(dir, want);
    fx_write_file(p, model, len);
}

static void se_drop_ln(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "rnn.ln_c_l0.bias");
    e[i] = e[--*n];
    (void)s;
}

static void se_ln_shape(st_entry *e, int *n, float *s)
{
    e[find_entry(e, *n, "rnn.ln_hh_l0.weight")].shape[0] = 8;   /* [32] -> [8] */
    (void)s;
}

static void se_ln_nan(st_entry *e, int *n, float *s)
{
    int i = find_entry(e, *n, "rnn.ln_ih_l0.bias");
    s[3] = NAN;
    e[i].data = s;
}

static void ed_no_ln(cJSON *r)
{
    cJSON_DeleteItemFromObject(sect(r, "model"), "layer_norm");
}

/* A LayerNorm session's normalisations are checked like the other
 * tensors, each named; session.json without layer_norm (as before it
 * existed) is a plain LSTM, which the file's LN tensors then contradict. */
START_TEST(test_ln_tensors_checked)
{
    trainer *a = make_trainer(CELL_LSTM, LN, 1);
    char dir[128], p[192];
    path_in(dir, sizeof dir, "ln");
    save_ok(a, dir);
    trainer_free(a);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    size_t len;
    char *model = fx_read_file(p, &len);
    model_edit_fails(dir, p, model, len, se_drop_ln,
                     "model.safetensors: tensor rnn.ln_c_l0.bias is missing");
    model_edit_fails(dir, p, model, len, se_ln_shape,
                     "rnn.ln_hh_l0.weight has shape [8], expected [32]");
    model_edit_fails(dir, p, model, len, se_ln_nan, "rnn.ln_ih_l0.bias");
    trainer_free(load_ok(dir, corpus_file));
    edit_json(dir, ed_no_ln);
    load_fails(dir, "unexpected tensor rnn.ln_");
    free(model);
}
END_TEST

START_TEST(test_tied_decoder_checked)
{
    trainer *a = make_trainer(CELL_GRU, 1, 1);
    char dir[128], p[192];
    path_in(dir, sizeof dir, "tied");
    save_ok(a, dir);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    size_t len;
    char *model = fx_read_file(p, &len);
    edit_st(dir, "model.safetensors", se_dec_zero);
    load_fails(dir, "decoder.weight differs from encoder.weight");
    /* Without the copy (as PyTorch's save_file of a tied model can be) it loads. */
    fx_write_file(p, model, len);
    edit_st(dir, "model.safetensors", se_drop_dec);
    trainer *b = load_ok(dir, NULL);
    assert_trainers_eq(a, b, 1);
    trainer_free(a);
    trainer_free(b);
    free(model);
}
END_TEST

/* A NaN in the weights, as a diverged run leaves them (found by
 * fuzz/session_files.c, when sessions with one still opened): it runs
 * through the exp of the gates and the softmax (once a float-to-int
 * conversion of it, undefined) and every token is still drawn. */
START_TEST(test_nan_weights)
{
    char dir[128], err[256] = "";
    fresh_session(dir, sizeof dir, "nan");
    trainer *t = load_ok(dir, corpus_file);
    /* a NaN in the weights (a session file with one is refused at load,
     * test_nonfinite_tensors; a diverged run can still hold one): sampling
     * and evaluation go through the CPU's exp without undefined behaviour */
    static const char *const names[] = {"rnn.weight_hh_l0", "decoder.weight"};
    float nan = NAN;
    for (int k = 0; k < 2; k++) {
        const model_tensor *w = model_find_tensor(t->m, names[k]);
        ck_assert_ptr_nonnull(w);
        t->be->upload(t->be, t->m->params + w->offset + w->numel / 2, &nan, sizeof nan);
    }
    sample_config sc = sample_defaults();
    sc.length = 8;
    for (int greedy = 0; greedy < 2; greedy++) {
        sc.greedy = greedy;
        sample_request req;
        sample_request_init(&req, &sc, &t->rng);
        sample_result res;
        memset(&res, 0, sizeof res);
        ck_assert_msg(sample_decode(t->m, t->corp.vocab, &req, &res, err, sizeof err) == 0,
                      "%s", err);
        ck_assert_uint_eq(res.stats.generated, 8);
        sample_result_free(&res);
    }
    eval_result ev;
    ck_assert_msg(trainer_eval(t, SPLIT_VAL, 1, &ev, err, sizeof err) == 0, "%s", err);
    ck_assert(isnan(ev.loss));
    trainer_free(t);
}
END_TEST

START_TEST(test_corrupt_tensors)
{
    char dir[128], p[192];
    fresh_session(dir, sizeof dir, "c");
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    size_t len;
    char *model = fx_read_file(p, &len);
    char o[192];
    snprintf(o, sizeof o, "%s/optimizer.safetensors", dir);
    size_t olen;
    char *optim = fx_read_file(o, &olen);

    /* Truncated (every tenth length, and a few around the header). */
    for (size_t n = 0; n < len; n += (n < 64 ? 1 : 97)) {
        fx_write_file(p, model, n);
        load_fails(dir, "model.safetensors: ");
    }
    fx_write_file(p, model, len);

    /* F32 -> I32: same size, so only the dtype check catches it. */
    char *hdr = strstr(model + 8, "\"F32\"");
    ck_assert_ptr_nonnull(hdr);
    hdr[1] = 'I';
    fx_write_file(p, model, len);
    load_fails(dir, "expected F32");
    hdr[1] = 'F';
    fx_write_file(p, model, len);

    model_edit_fails(dir, p, model, len, se_shape,
                     "model.safetensors: rnn.weight_hh_l0 has shape [16,8], expected [32,8]");
    edit_st(dir, "model.safetensors", se_vocab);
    load_fails(dir, "model.safetensors: ");
    load_fails(dir, "has shape");
    fx_write_file(p, model, len);
    model_edit_fails(dir, p, model, len, se_drop_bias, "decoder.bias is missing");
    model_edit_fails(dir, p, model, len, se_extra, "unexpected tensor rnn.weight_ih_l1");
    unlink(p);
    load_fails(dir, "model.safetensors");
    fx_write_file(p, model, len);

    unlink(o);
    load_fails(dir, "optimizer.safetensors");
    fx_write_file(o, optim, olen / 2);
    load_fails(dir, "optimizer.safetensors: ");
    fx_write_file(o, optim, olen);
    edit_st(dir, "optimizer.safetensors", se_state_hidden);
    load_fails(dir, "optimizer.safetensors: state.h has shape");
    fx_write_file(o, optim, olen);
    edit_st(dir, "optimizer.safetensors", se_drop_moment);
    load_fails(dir, "optimizer.safetensors: tensor exp_avg is missing");
    fx_write_file(o, optim, olen);

    trainer *t = load_ok(dir, corpus_file);
    trainer_free(t);
    free(model);
    free(optim);
}
END_TEST

START_TEST(test_corpus_errors)
{
    char dir[128], p[192];
    fresh_session(dir, sizeof dir, "c");
    path_in(p, sizeof p, "no-such-corpus.txt");
    char err[512] = "";
    trainer *t = session_load(be, dir, p, NULL, err, sizeof err);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(err, "no-such-corpus.txt"));
}
END_TEST

/* ---- saving safely ---- */

START_TEST(test_refuse_overwrite)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char p[128], err[512];
    /* A regular file. */
    path_in(p, sizeof p, "precious.txt");
    fx_write_file(p, "keep me", 7);
    ck_assert_int_eq(session_save(a, NULL, p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "precious.txt"));
    size_t len;
    char *s = fx_read_file(p, &len);
    ck_assert_str_eq(s, "keep me");
    free(s);
    /* A directory of someone else's files. */
    path_in(p, sizeof p, "photos");
    mkdir(p, 0755);
    char q[192];
    snprintf(q, sizeof q, "%s/cat.jpg", p);
    fx_write_file(q, "jpg", 3);
    ck_assert_int_eq(session_save(a, NULL, p, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no session.json"));
    ck_assert_int_eq(access(q, F_OK), 0);
    /* A path through a regular file. */
    path_in(p, sizeof p, "precious.txt/sub");
    ck_assert_int_eq(session_save(a, NULL, p, err, sizeof err), -1);
    /* A symbolic link. */
    path_in(p, sizeof p, "link");
    path_in(q, sizeof q, "photos");
    ck_assert_int_eq(symlink(q, p), 0);
    ck_assert_int_eq(session_save(a, NULL, p, err, sizeof err), -1);
    /* An empty directory is fine. */
    path_in(p, sizeof p, "empty");
    mkdir(p, 0755);
    save_ok(a, p);
    trainer_free(a);
}
END_TEST

START_TEST(test_failed_save_keeps_previous)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char dir[128], blocker[192], err[512];
    path_in(dir, sizeof dir, "keep");
    save_ok(a, dir);

    trainer *b = make_trainer(CELL_LSTM, 0, 1);
    char e2[256];
    train_info info;
    ck_assert(trainer_step(b, &info, e2, sizeof e2) == 0);
    /* Our temporary directory's name is taken by a file: the save fails
     * before touching dir. */
    snprintf(blocker, sizeof blocker, "%s.tmp-%ld", dir, (long)getpid());
    fx_write_file(blocker, "x", 1);
    ck_assert_int_eq(session_save(b, NULL, dir, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, ".tmp-"));
    assert_saved(dir, a);
    unlink(blocker);

    /* Saving into a file path fails and leaves the session alone too. */
    path_in(blocker, sizeof blocker, "file");
    fx_write_file(blocker, "x", 1);
    ck_assert_int_eq(session_save(b, NULL, blocker, err, sizeof err), -1);
    kept_then_replaced(dir, a, b);
}
END_TEST

START_TEST(test_old_fallback)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char dir[128], old[192];
    path_in(dir, sizeof dir, "fb");
    save_ok(a, dir);
    /* As an interrupted non-atomic save leaves it: only dir.old. */
    snprintf(old, sizeof old, "%s.old", dir);
    ck_assert_int_eq(rename(dir, old), 0);
    trainer *b = load_ok(dir, corpus_file);
    assert_trainers_eq(a, b, 1);
    /* The next save puts dir back and clears dir.old. */
    save_ok(b, dir);
    ck_assert_int_ne(access(old, F_OK), 0);
    trainer *c = load_ok(dir, corpus_file);
    assert_trainers_eq(a, c, 1);
    trainer_free(a);
    trainer_free(b);
    trainer_free(c);
}
END_TEST

START_TEST(test_user_files_survive)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1);
    char dir[128], note[192];
    path_in(dir, sizeof dir, "withnotes/");       /* trailing slash */
    save_ok(a, dir);
    snprintf(note, sizeof note, "%s/withnotes/notes.txt", tmpdir);
    fx_write_file(note, "mine", 4);
    save_ok(a, dir);
    size_t len;
    char *s = fx_read_file(note, &len);
    ck_assert_str_eq(s, "mine");
    free(s);
    trainer_free(a);
}
END_TEST

/* A file from before schedules: no schedule keys, no schedule state. */
static void ed_before_schedules(cJSON *r)
{
    static const char *keys[] = {"schedule", "min_lr", "plateau_factor", "plateau_patience"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cJSON_DeleteItemFromObject(sect(r, "train"), keys[i]);
    cJSON_DeleteItemFromObject(r, "schedule");
}
static void ed_decay_every_50(cJSON *r)
{
    ed_before_schedules(r);
    cJSON_ReplaceItemInObject(sect(r, "train"), "lr_decay", cJSON_CreateNumber(0.5));
    cJSON_ReplaceItemInObject(sect(r, "train"), "lr_decay_every", cJSON_CreateNumber(50));
}

/* Older files load with the rate they trained with: step decay when they
 * decayed, else constant; no plan, fresh plateau counts. */
START_TEST(test_before_schedules)
{
    char dir[128];
    fresh_session(dir, sizeof dir, "old");
    edit_json(dir, ed_before_schedules);
    trainer *t = load_ok(dir, corpus_file);
    ck_assert_int_eq(t->cfg.schedule, SCHED_CONSTANT);
    ck_assert(t->cfg.plateau_factor == 0.1f && t->cfg.plateau_patience == 10);
    ck_assert(t->cfg.min_lr == 0 && isinf(t->sched.best));
    ck_assert_int_eq(t->sched.plan.unit, SCHED_PLAN_NONE);
    ck_assert(trainer_lr(t, 1000) == t->cfg.optim.lr);
    trainer_free(t);
    edit_json(dir, ed_decay_every_50);
    t = load_ok(dir, corpus_file);
    ck_assert_int_eq(t->cfg.schedule, SCHED_STEP);
    ck_assert(trainer_lr(t, 120) == (float)(t->cfg.optim.lr * 0.25));
    trainer_free(t);
}
END_TEST

/* In a child: takes the write lock on path, says so on ready, and holds
 * it until done is closed. */
static void hold_lock(const char *path, int ready, int done)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    char c = 'x';
    if (fd < 0 || fcntl(fd, F_SETLKW, &fl) != 0 || write(ready, &c, 1) != 1)
        _exit(1);
    while (read(done, &c, 1) > 0)
        ;
    _exit(0);
}

/* Another process holding the session's lock (.NAME.lock beside it): a
 * save is refused at once, naming that process, and the session stays as
 * it was; once the lock is free the save goes through. */
START_TEST(test_lock_held_elsewhere)
{
    trainer *a = make_trainer(CELL_LSTM, 0, 1), *b = make_trainer(CELL_LSTM, 0, 1);
    char dir[128], lock[192], err[512] = "", want[64], c;
    int ready[2], done[2];
    train_info info;
    path_in(dir, sizeof dir, "locked");
    path_in(lock, sizeof lock, ".locked.lock");
    save_ok(a, dir);
    ck_assert(trainer_step(b, &info, err, sizeof err) == 0);
    ck_assert_int_eq(pipe(ready), 0);
    ck_assert_int_eq(pipe(done), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(done[1]);
        hold_lock(lock, ready[1], done[0]);
    }
    close(ready[1]);
    close(done[0]);
    ck_assert_int_eq(read(ready[0], &c, 1), 1);
    ck_assert_int_eq(session_save(b, NULL, dir, err, sizeof err), -1);
    snprintf(want, sizeof want, "being saved by another process (pid %ld;", (long)pid);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    ck_assert_ptr_nonnull(strstr(err, dir));
    close(done[1]);
    close(ready[0]);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    kept_then_replaced(dir, a, b);
}
END_TEST

/* Puts v at element i of tensor name in the safetensors file path; returns
 * the file as it was, the caller's to put back and free. */
static char *poke_tensor(const char *path, const char *name, size_t i, float v,
                         size_t *len)
{
    char err[256];
    st_file f;
    char *was = fx_read_file(path, len);
    ck_assert_msg(st_open(&f, path, err, sizeof err) == 0, "%s", err);
    const st_tensor *t = st_find(&f, name);
    ck_assert_ptr_nonnull(t);
    ck_assert(t->begin + (i + 1) * sizeof v <= t->end);
    memcpy(f.data + f.data_off + t->begin + i * sizeof v, &v, sizeof v);
    fx_write_file(path, f.data, f.size);
    st_close(&f);
    return was;
}

/* A NaN or infinity anywhere in a session's tensors refuses the session,
 * naming the file, the tensor and the element. */
static void nonfinite_fails(const char *dir, const char *file, const char *name,
                            size_t i, float v, const char *want)
{
    char p[192];
    size_t len;
    snprintf(p, sizeof p, "%s/%s", dir, file);
    char *was = poke_tensor(p, name, i, v, &len);
    load_fails(dir, want);
    fx_write_file(p, was, len);
    free(was);
}

START_TEST(test_nonfinite_tensors)
{
    char dir[128];
    fresh_session(dir, sizeof dir, "nf");
    nonfinite_fails(dir, "model.safetensors", "rnn.weight_hh_l0", 5, NAN,
                    "model.safetensors: rnn.weight_hh_l0 holds NaN at index 5");
    nonfinite_fails(dir, "model.safetensors", "decoder.bias", 0, INFINITY,
                    "model.safetensors: decoder.bias holds +infinity at index 0");
    nonfinite_fails(dir, "model.safetensors", "encoder.weight", 3, -INFINITY,
                    "model.safetensors: encoder.weight holds -infinity at index 3");
    nonfinite_fails(dir, "optimizer.safetensors", "exp_avg_sq", 2, NAN,
                    "optimizer.safetensors: exp_avg_sq holds NaN at index 2");
    nonfinite_fails(dir, "optimizer.safetensors", "state.c", 1, INFINITY,
                    "optimizer.safetensors: state.c holds +infinity at index 1");
    trainer_free(load_ok(dir, corpus_file));
}
END_TEST

static Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip_lstm);
    tcase_add_test(tc, test_round_trip_gru_file);
    tcase_add_test(tc, test_round_trip_rnn_tied);
    tcase_add_test(tc, test_round_trip_lnlstm);
    tcase_add_test(tc, test_round_trip_awd);
    tcase_add_test(tc, test_round_trip_ntasgd);
    tcase_add_test(tc, test_round_trip_adaptive);
    tcase_add_test(tc, test_adaptive_checked);
    tcase_add_test(tc, test_ln_tensors_checked);
    tcase_add_test(tc, test_files_and_json);
    tcase_add_test(tc, test_tied_decoder_copy);
    tcase_add_test(tc, test_no_corpus);
    tcase_add_test(tc, test_corrupt_json_fields);
    tcase_add_test(tc, test_corrupt_json_text);
    tcase_add_test(tc, test_missing_dir);
    tcase_add_test(tc, test_tied_decoder_checked);
    tcase_add_test(tc, test_corrupt_tensors);
    tcase_add_test(tc, test_nonfinite_tensors);
    tcase_add_test(tc, test_nan_weights);
    tcase_add_test(tc, test_corpus_errors);
    tcase_add_test(tc, test_refuse_overwrite);
    tcase_add_test(tc, test_failed_save_keeps_previous);
    tcase_add_test(tc, test_old_fallback);
    tcase_add_test(tc, test_user_files_survive);
    tcase_add_test(tc, test_best_checkpoint);
    tcase_add_test(tc, test_before_schedules);
    tcase_add_test(tc, test_lock_held_elsewhere);
    tcase_add_test(tc, test_word_tokenizer);
    tcase_add_test(tc, test_bpe_tokenizer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return fx_run_suite(session_suite());
}
