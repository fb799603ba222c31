/* session_base.c - the session the session harnesses open (see session_base.h). */
#include "session_base.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "decode/sample.h"
#include "engine/settings.h"
#include "store/session.h"

#ifndef FUZZ_DATA_DIR
#define FUZZ_DATA_DIR "tests/data"
#endif

/* Allocations of the backend stop here: far above what the small model
 * needs, far below what a hostile batch or hidden size asks for. */
#define FZS_ALLOC_CAP (64u << 20)
/* Larger chunks (batch x seq-len) are opened but not stepped: the step
 * would only be slow. */
#define FZS_MAX_STEP_ROWS 4096
#define FZS_MAX_SAMPLE 8

static const char *const names[FZS_NFILES] = {
    "session.json", "model.safetensors", "optimizer.safetensors"
};

static be_backend *be;
static const char *dir;
static char corpus_path[1024];
static char paths[FZS_NFILES][1024];
static uint8_t *base[FZS_NFILES];
static size_t base_len[FZS_NFILES];
static int changed[FZS_NFILES];

/* The model of fuzz/seeds.sh: rnnlab train --model lstm --layers 1
 * --hidden 8 --embed 4 --batch 2 --seq-len 8 --seed 1 --threads 1. */
static trainer *make_trainer(void)
{
    char err[512] = "";
    setting_values v;
    setting_defaults(&v);
    train_config cfg = v.train;
    cfg.model.cell = CELL_LSTM;
    cfg.model.layers = 1;
    cfg.model.hidden = 8;
    cfg.model.embed = 4;
    cfg.batch = 2;
    cfg.seq_len = 8;
    cfg.seed = 1;
    cfg.threads = 1;
    corpus c;
    if (corpus_load(&c, corpus_path, NULL, cfg.val_frac, cfg.test_frac, err, sizeof err) != 0)
        fz_fail("%s", err);
    cfg.model.vocab = (int)tok_size(c.vocab);
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    if (!t)
        fz_fail("%s", err);
    for (int i = 0; i < 2; i++) {
        train_info info;
        if (trainer_step(t, &info, err, sizeof err) != 0)
            fz_fail("%s", err);
    }
    return t;
}

static void dump(const char *to)
{
    char path[1024];
    mkdir(to, 0777);         /* or it is there already */
    for (int i = 0; i < FZS_NFILES; i++)
        fz_write_file(fz_path(path, sizeof path, to, names[i]), base[i], base_len[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[512] = "";
    (void)argc, (void)argv;
    be = fz_capped_backend(FZS_ALLOC_CAP);
    dir = fz_scratch_dir("session");
    fz_path(corpus_path, sizeof corpus_path, FUZZ_DATA_DIR, "garden.txt");
    trainer *t = make_trainer();
    sample_config s = sample_defaults();
    if (session_save(t, &s, dir, err, sizeof err) != 0)
        fz_fail("%s", err);
    trainer_free(t);
    for (int i = 0; i < FZS_NFILES; i++) {
        fz_path(paths[i], sizeof paths[i], dir, names[i]);
        if (!(base[i] = fz_read_file(paths[i], &base_len[i])))
            fz_fail("cannot read back %s", paths[i]);
    }
    const char *to = getenv("RNNLAB_FUZZ_DUMP");
    if (to && *to)
        dump(to);
    return 0;
}

void fzs_put(int which, const uint8_t *data, size_t len)
{
    for (int i = 0; i < FZS_NFILES; i++) {
        if (i == which) {
            fz_write_file(paths[i], data, len);
            changed[i] = 1;
        } else if (changed[i]) {
            fz_write_file(paths[i], base[i], base_len[i]);
            changed[i] = 0;
        }
    }
}

/* What `rnnlab sample` does with an opened session, a few tokens long. */
static void sample(trainer *t, const sample_config *sc)
{
    char err[512] = "";
    sample_config s = *sc;
    if (s.length > FZS_MAX_SAMPLE)
        s.length = FZS_MAX_SAMPLE;
    rng_state rng = t->rng;
    sample_request req;
    sample_request_init(&req, &s, &rng);
    req.n_alts = SAMPLE_MAX_ALTS;
    sample_result res;
    memset(&res, 0, sizeof res);
    if (sample_decode(t->m, t->corp.vocab, &req, &res, err, sizeof err) != 0)
        fz_check_message("sample_decode", err);
    sample_result_free(&res);
}

/* What `rnnlab train --resume` and `eval` do next, for small chunks. */
static void step(trainer *t)
{
    char err[512] = "";
    if ((size_t)t->cfg.batch * (size_t)t->cfg.seq_len > FZS_MAX_STEP_ROWS ||
        t->stream_len < 2)
        return;
    train_info info;
    if (trainer_step(t, &info, err, sizeof err) != 0)
        fz_check_message("trainer_step", err);
    eval_result ev;
    if (trainer_eval(t, SPLIT_VAL, 1, &ev, err, sizeof err) != 0)
        fz_check_message("trainer_eval", err);
}

void fzs_open(void)
{
    char err[1024] = "";
    sample_config sc;
    trainer *t = session_load(be, dir, corpus_path, &sc, err, sizeof err);
    if (!t) {
        fz_check_message("session_load", err);
        return;
    }
    if (setting_check_session(&t->cfg, &sc, dir, err, sizeof err) != 0) {
        fz_check_message("setting_check_session", err);
    } else {
        sample(t, &sc);
        step(t);
    }
    trainer_free(t);
}
