/* check_serve.c - the server's parts below HTTP: the scheduler's batched
 * streams give each job the text sample_decode gives for the same
 * settings, prime and seed, whatever shares the batch (beam jobs too);
 * a version swap (jobs in flight finish on the old weights, the old copy
 * dropped after); cancelling and a full queue; requests parsed with the settings table's
 * ranges and one-line reasons naming the field; a streamed answer ends
 * before its stop string and agrees with the whole answer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "util/buf.h"
#include "train/trainer.h"
#include "decode/sample.h"
#include "store/session.h"
#include "serve/gen.h"
#include "serve/params.h"
#include "serve/reply.h"
#include "serve/sched.h"
#include "serve/version.h"

static char session_dir[256], later_dir[256];

/* A small LSTM trained a few steps on the fixture text, saved, and saved
 * again 30 steps later into another directory (a newer version). */
static void make_session(void)
{
    char err[256];
    size_t len;
    corpus c;
    be_backend *be = be_cpu_create();
    char *text = fx_sentences(&len);
    ck_assert_ptr_nonnull(fx_temp_dir(session_dir, sizeof session_dir, "rnnlab-serve"));
    strcat(session_dir, "/s");
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)text, len, NULL, 0.1, 0.0, err,
                                     sizeof err) == 0, "%s", err);
    train_config cfg = train_defaults();
    cfg.model.layers = 2;
    cfg.model.hidden = 32;
    cfg.model.embed = 8;
    cfg.model.dropout = 0;
    cfg.model.vocab = (int)tok_size(c.vocab);
    cfg.seq_len = 16;
    cfg.batch = 4;
    cfg.threads = 1;
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    for (int i = 0; i < 30; i++) {
        train_info info;
        ck_assert_msg(trainer_step(t, &info, err, sizeof err) == 0, "%s", err);
    }
    sample_config sc = sample_defaults();
    ck_assert_msg(session_save(t, &sc, session_dir, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 30; i++) {
        train_info info;
        ck_assert_msg(trainer_step(t, &info, err, sizeof err) == 0, "%s", err);
    }
    snprintf(later_dir, sizeof later_dir, "%.240s2", session_dir);
    ck_assert_msg(session_save(t, &sc, later_dir, err, sizeof err) == 0, "%s", err);
    trainer_free(t);
    be->destroy(be);
    free(text);
}

static void drop_session(void)
{
    fx_remove_tree(later_dir);
    char *slash = strrchr(session_dir, '/');
    if (slash)
        *slash = '\0';
    fx_remove_tree(session_dir);
}

/* The session in dir as a served version, named "s". */
static srv_version *load_version(const char *dir)
{
    char err[512];
    be_backend *be = be_cpu_create();
    srv_version *v = srv_version_load(be, dir, "s", err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    be->destroy(be);
    return v;
}

static srv_version *ver;     /* the session's, for the jobs of a test */

static srv_sched *open_sched(int workers, int max_batch, int max_queue)
{
    char err[512];
    srv_sched_config c = {workers, 2, max_batch, max_queue};
    srv_sched *s = srv_sched_create(&c, err, sizeof err);
    ck_assert_msg(s != NULL, "%s", err);
    if (!ver)
        ver = load_version(session_dir);
    return s;
}

/* ---- jobs and their texts */

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
} waiter;

typedef struct tjob {
    srv_job job;
    sample_config cfg;
    srv_stops stops;
    char prime[64];
    strbuf text;
    waiter *w;
    int cancel_after;        /* set the job's cancel flag after this many */
    size_t seen;
    int gone_at;             /* the client "leaves" at this question */
    int asked;               /* questions so far */
} tjob;

static int tj_token(void *ctx, const sample_token *t)
{
    tjob *j = ctx;
    ck_assert_int_eq(strbuf_append(&j->text, t->bytes, t->len), 0);
    if (j->cancel_after && ++j->seen == (size_t)j->cancel_after)
        atomic_store(&j->job.cancel, 1);
    return 0;
}

static int tj_gone(void *ctx)
{
    tjob *j = ctx;
    return ++j->asked >= j->gone_at;
}

static void tj_done(void *ctx, srv_job *job)
{
    tjob *j = ctx;
    (void)job;
    pthread_mutex_lock(&j->w->mu);
    j->w->done++;
    pthread_cond_broadcast(&j->w->cv);
    pthread_mutex_unlock(&j->w->mu);
}

static void tj_init(tjob *j, waiter *w, const sample_config *cfg, const char *prime,
                    uint64_t seed)
{
    memset(j, 0, sizeof *j);
    j->cfg = *cfg;
    j->w = w;
    snprintf(j->prime, sizeof j->prime, "%s", prime);
    if (cfg->stop[0]) {
        j->stops.n = 1;
        memcpy(j->stops.s[0], cfg->stop, sizeof cfg->stop);
    }
    j->job = (srv_job){.ver = ver, .cfg = &j->cfg, .stops = &j->stops, .prime = j->prime, .seed = seed,
                       .n_alts = 3, .on_token = tj_token, .on_done = tj_done, .ctx = j};
}

static void wait_done(waiter *w, int n)
{
    pthread_mutex_lock(&w->mu);
    while (w->done < n)
        pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static int ref_token(void *ctx, const sample_token *t)
{
    return strbuf_append(ctx, t->bytes, t->len);
}

/* What `rnnlab sample --seed` gives: sample_decode on the session saved
 * in dir. */
static void reference_in(const char *dir, const tjob *j, strbuf *text, sample_result *res)
{
    char err[512];
    be_backend *be = be_cpu_create();
    trainer *t = session_load(be, dir, SESSION_NO_CORPUS, NULL, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    sample_request req;
    rng_seed(&t->rng, j->job.seed);
    sample_request_init(&req, &j->cfg, &t->rng);
    req.prime = j->prime;
    req.on_token = ref_token;
    req.ctx = text;
    ck_assert_msg(sample_decode(t->m, t->corp.vocab, &req, res, err, sizeof err) == 0, "%s",
                  err);
    trainer_free(t);
    be->destroy(be);
}

static void reference(const tjob *j, strbuf *text, sample_result *res)
{
    reference_in(session_dir, j, text, res);
}

/* The settings the batch is tested with: each stream its own. */
static sample_config variant(int i)
{
    sample_config c = sample_defaults();
    c.length = 40 + 7 * i;
    switch (i) {
    case 1: c.temperature = 0.7f; c.top_k = 5; break;
    case 2: c.top_p = 0.8f; c.repetition_penalty = 1.5f; c.repetition_window = 8; break;
    case 3: c.greedy = 1; break;
    case 4: c.temperature = 1.3f; snprintf(c.stop, sizeof c.stop, "t"); break;
    case 5: c.length = 1; break;
    case 6: c.beam = 3; c.n_best = 2; break;
    case 7: c.top_k = 2; c.top_p = 0.5f; c.repetition_penalty = 0.8f; break;
    default: break;
    }
    return c;
}

static const char *const primes[] = {"the ", "", "a dog", "Zq\xE2\x82\xAC", "the cat sat"};

START_TEST(batch_matches_sample_decode)
{
    enum { N = 24 };
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    tjob *jobs = calloc(N, sizeof *jobs);
    srv_job *ptrs[N];
    srv_sched *s = open_sched(2, 4, N);
    for (int i = 0; i < N; i++) {
        sample_config c = variant(i % 8);
        tj_init(&jobs[i], &w, &c, primes[i % 5], 1000u + (uint64_t)i * 7919u);
        ptrs[i] = &jobs[i].job;
    }
    /* in three waves, so streams join batches already under way */
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(srv_sched_submit(s, ptrs + k * (N / 3), N / 3), 0);
        wait_done(&w, k * (N / 3) + 1);
    }
    wait_done(&w, N);
    for (int i = 0; i < N; i++) {
        strbuf want = STRBUF_INIT;
        sample_result res;
        reference(&jobs[i], &want, &res);
        ck_assert_msg(jobs[i].text.len == want.len &&
                      memcmp(jobs[i].text.p, want.p, want.len) == 0,
                      "job %d: '%.*s' but sample_decode gives '%.*s'", i,
                      (int)jobs[i].text.len, jobs[i].text.p, (int)want.len, want.p);
        ck_assert_int_eq(jobs[i].job.stop, res.stop);
        ck_assert_uint_eq(jobs[i].job.stats.generated, res.stats.generated);
        ck_assert_uint_eq(jobs[i].job.stats.prime_unknown, res.stats.prime_unknown);
        ck_assert_int_eq(jobs[i].job.beams.n_beams, res.n_beams);
        ck_assert(i % 8 == 4 || i % 8 == 5 || want.len >= 20);    /* not vacuous */
        sample_result_free(&res);
        sample_result_free(&jobs[i].job.beams);
        strbuf_free(&want);
        strbuf_free(&jobs[i].text);
    }
    srv_sched_free(s);
    free(jobs);
}
END_TEST

/* A job in flight when its version is retired finishes on it; a job
 * submitted with the new version gets the new weights; the worker then
 * drops its copy of the old one. */
START_TEST(version_swap)
{
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    tjob jobs[2];
    srv_sched *s = open_sched(1, 4, 4);
    srv_version *later = load_version(later_dir);
    sample_config c = sample_defaults();
    c.length = 300;
    tj_init(&jobs[0], &w, &c, "the ", 5);
    c.length = 60;
    tj_init(&jobs[1], &w, &c, "the ", 5);
    jobs[1].job.ver = later;
    srv_job *first = &jobs[0].job, *second = &jobs[1].job;
    ck_assert_int_eq(srv_sched_submit(s, &first, 1), 0);
    atomic_store(&ver->retired, 1);
    srv_sched_nudge(s);
    ck_assert_int_eq(srv_sched_submit(s, &second, 1), 0);
    wait_done(&w, 2);
    const char *dirs[] = {session_dir, later_dir};
    strbuf want[2] = {STRBUF_INIT, STRBUF_INIT};
    for (int i = 0; i < 2; i++) {
        sample_result res;
        reference_in(dirs[i], &jobs[i], &want[i], &res);
        ck_assert_msg(jobs[i].text.len == want[i].len &&
                      memcmp(jobs[i].text.p, want[i].p, want[i].len) == 0,
                      "job %d: '%.*s' but its version gives '%.*s'", i,
                      (int)jobs[i].text.len, jobs[i].text.p, (int)want[i].len, want[i].p);
        sample_result_free(&res);
    }
    /* not vacuous: the two versions write different text */
    ck_assert(memcmp(want[0].p, want[1].p, want[1].len) != 0);
    for (int i = 0; i < 500 && atomic_load(&ver->refs) > 1; i++)
        usleep(10000);
    ck_assert_int_eq(atomic_load(&ver->refs), 1);
    ck_assert_int_eq(atomic_load(&later->refs), 2);   /* a copy in service */
    srv_sched_free(s);
    ck_assert_int_eq(atomic_load(&later->refs), 1);
    srv_version_release(later);
    for (int i = 0; i < 2; i++) {
        strbuf_free(&want[i]);
        strbuf_free(&jobs[i].text);
    }
}
END_TEST

START_TEST(cancel_and_full_queue)
{
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    tjob jobs[4];
    srv_job *ptrs[4];
    srv_sched *s = open_sched(1, 1, 2);
    sample_config c = sample_defaults();
    c.length = 4096;
    for (int i = 0; i < 4; i++) {
        tj_init(&jobs[i], &w, &c, "the ", (uint64_t)i);
        ptrs[i] = &jobs[i].job;
    }
    jobs[0].cancel_after = 5;
    ck_assert_int_eq(srv_sched_submit(s, ptrs, 1), 0);
    ck_assert_int_eq(srv_sched_submit(s, ptrs + 1, 3), SRV_SCHED_FULL);
    wait_done(&w, 1);
    ck_assert_int_eq(jobs[0].job.stop, SAMPLE_STOP_CANCEL);
    ck_assert_uint_eq(jobs[0].job.stats.generated, 5);
    /* cancelled while queued: over without a token */
    ck_assert_int_eq(srv_sched_submit(s, ptrs + 1, 2), 0);
    srv_sched_close(s);
    ck_assert_int_eq(srv_sched_submit(s, ptrs + 3, 1), SRV_SCHED_CLOSED);
    srv_sched_cancel(s);
    wait_done(&w, 3);
    ck_assert_int_eq(jobs[2].job.stop, SAMPLE_STOP_CANCEL);
    ck_assert_int_eq(srv_sched_busy(s), 0);
    srv_sched_free(s);
    for (int i = 0; i < 4; i++)
        strbuf_free(&jobs[i].text);
}
END_TEST

/* A client that leaves during a long prompt: the scheduler (asking at
 * every step here) cancels its job then, not at the prompt's end; one
 * gone while queued is over when taken, without a step. */
START_TEST(client_gone_in_prompt)
{
    waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
    tjob jobs[2];
    srv_sched *s = open_sched(1, 2, 2);
    sample_config c = sample_defaults();
    c.length = 5;
    for (int i = 0; i < 2; i++) {
        tj_init(&jobs[i], &w, &c, "", (uint64_t)i);
        memset(jobs[i].prime, 'a', sizeof jobs[i].prime - 1);
        jobs[i].job.gone = tj_gone;
    }
    jobs[0].gone_at = 10;    /* taken (1), then 8 prompt steps */
    jobs[1].gone_at = 1;
    srv_job *p0 = &jobs[0].job, *p1 = &jobs[1].job;
    ck_assert_int_eq(srv_sched_submit(s, &p0, 1), 0);
    wait_done(&w, 1);
    ck_assert_int_eq(jobs[0].job.stop, SAMPLE_STOP_CANCEL);
    ck_assert_uint_eq(jobs[0].job.stats.generated, 0);
    ck_assert_uint_eq(jobs[0].job.stats.prime_tokens, sizeof jobs[0].prime - 1);
    ck_assert_int_eq(jobs[0].asked, 10);
    ck_assert_int_eq(srv_sched_submit(s, &p1, 1), 0);
    wait_done(&w, 2);
    ck_assert_int_eq(jobs[1].job.stop, SAMPLE_STOP_CANCEL);
    ck_assert_uint_eq(jobs[1].job.stats.generated, 0);
    ck_assert_int_eq(jobs[1].asked, 1);
    srv_sched_free(s);
    for (int i = 0; i < 2; i++)
        strbuf_free(&jobs[i].text);
}
END_TEST

/* ---- requests */

static srv_model_desc models[2];

static void make_models(void)
{
    memset(models, 0, sizeof models);
    snprintf(models[0].name, sizeof models[0].name, "plays");
    snprintf(models[1].name, sizeof models[1].name, "book");
    models[0].sample = models[1].sample = sample_defaults();
    models[1].sample.temperature = 0.5f;
}

/* Parses body; expects status and, for an error, a message containing
 * want. */
static void expect(srv_api api, int n_models, const char *body, int status, const char *want)
{
    char err[600] = "";
    srv_params p;
    const srv_model_desc *m[] = {&models[0], &models[1]};
    int rc = srv_params_parse(api, body, strlen(body), m, n_models, &p, err, sizeof err);
    ck_assert_msg(rc == status, "%s: status %d (%s), expected %d", body, rc, err, status);
    if (rc == 0)
        srv_params_free(&p);
    else
        ck_assert_msg(strstr(err, want) != NULL && !strchr(err, '\n'),
                      "%s: '%s' does not say '%s'", body, err, want);
}

START_TEST(request_errors)
{
    const srv_api C = SRV_API_COMPLETIONS, G = SRV_API_GENERATE;
    make_models();
    expect(C, 2, "{\"model\":\"plays\",\"prompt\":\"x\"}", 0, "");
    expect(C, 2, "{\"prompt\":\"x\"", 400, "not valid JSON");
    expect(C, 2, "[1,2]", 400, "not a JSON object");
    expect(C, 2, "{} {}", 400, "more than one JSON value");
    expect(C, 2, "{\"prompt\":\"x\"}", 400, "model: required");
    expect(C, 1, "{\"prompt\":\"x\"}", 0, "");
    expect(C, 2, "{\"model\":\"nope\"}", 404, "model 'nope' not found");
    expect(C, 2, "{\"model\":7}", 400, "model: expected a string, not a number");
    expect(C, 1, "{\"temperature\":\"hot\"}", 400, "temperature: expected a number, not a string");
    expect(C, 1, "{\"temperature\":101}", 400, "temperature: '101' is out of range (0 to 100)");
    expect(C, 1, "{\"top_p\":0}", 400, "top_p: '0' is out of range");
    expect(C, 1, "{\"max_tokens\":0}", 400, "max_tokens: '0' is out of range (1 to 100000000)");
    expect(C, 1, "{\"max_tokens\":5000}", 400, "max_tokens: 5000 is more than this server's limit (4096)");
    expect(C, 1, "{\"max_tokens\":2.5}", 400, "max_tokens: '2.5' is not a whole number");
    expect(C, 1, "{\"n\":9}", 400, "n: '9' is out of range (1 to 8)");
    expect(C, 1, "{\"logprobs\":6}", 400, "logprobs: '6' is out of range (0 to 5)");
    expect(C, 1, "{\"stream\":1}", 400, "stream: expected true or false, not a number");
    expect(C, 1, "{\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", 400, "stop: more than 4 strings");
    expect(C, 1, "{\"stop\":\"\"}", 400, "stop: empty");
    expect(C, 1, "{\"seed\":-1}", 400, "seed: '-1' is not a whole number");
    expect(C, 1, "{\"seed\":\"18446744073709551615\"}", 0, "");
    expect(C, 1, "{\"seed\":12345678901234567}", 400, "seed: past 2^53");
    expect(C, 1, "{\"suffix\":\"x\"}", 400, "suffix: not supported by this server (only null)");
    expect(C, 1, "{\"prompt\":[\"a\",\"b\"]}", 400, "prompt: only one prompt");
    expect(C, 1, "{\"top_k\":3}", 400, "unknown field 'top_k'");
    expect(C, 1, "{\"presence_penalty\":0,\"user\":\"u\",\"echo\":false,\"best_of\":1,"
                 "\"logit_bias\":{},\"suffix\":null}", 0, "");
    expect(C, 1, "{\"presence_penalty\":0.5}", 400, "presence_penalty: not supported by this server");
    expect(G, 1, "{\"top_k\":1.5}", 400, "top_k: '1.5' is not a whole number");
    expect(G, 1, "{\"beam\":300}", 400, "beam: '300' is out of range (1 to 256)");
    expect(G, 1, "{\"beam\":2,\"n_best\":3}", 400, "n_best: 3 is more than the beam width 2");
    expect(G, 1, "{\"repetition_penalty\":0}", 400, "repetition_penalty: '0' is out of range");
    expect(G, 1, "{\"stop\":[\"a\"]}", 400, "stop: expected a string, not an array");
    expect(G, 1, "{\"n\":2}", 400, "unknown field 'n'");
    /* what the request sent, echoed, keeps the reason one printable line
     * (found by fuzz/serve.c) */
    expect(G, 1, "{\"prim\\u000b\\n\\u001b\":1}", 400, "unknown field 'prim\?\?\?'");
    expect(C, 2, "{\"model\":\"a\\tb\"}", 404, "model 'a?b' not found");
    expect(C, 1, "{\"seed\":\"1\\r2\"}", 400, "seed: '1?2' is not");

    char *big = malloc(SRV_MAX_PROMPT + 64);
    strcpy(big, "{\"prime\":\"");
    memset(big + 10, 'a', SRV_MAX_PROMPT + 1);
    strcpy(big + 11 + SRV_MAX_PROMPT, "\"}");
    expect(G, 1, big, 400, "prime: 16385 bytes is more than this server's limit (16384)");
    free(big);
}
END_TEST

START_TEST(request_settings)
{
    char err[600];
    srv_params p;
    const char *body = "{\"model\":\"book\",\"top_p\":0.9,\"seed\":\"12345678901234567\","
                       "\"stop\":[\"\\n\\n\",\"END\"],\"n\":3,\"logprobs\":2}";
    const srv_model_desc *m[] = {&models[0], &models[1]};
    make_models();
    ck_assert_int_eq(srv_params_parse(SRV_API_COMPLETIONS, body, strlen(body), m, 2, &p,
                                      err, sizeof err), 0);
    ck_assert_int_eq(p.model, 1);
    ck_assert_float_eq(p.cfg.temperature, 0.5f);     /* the session's */
    ck_assert_float_eq(p.cfg.top_p, 0.9f);
    ck_assert_int_eq(p.cfg.length, SRV_DEFAULT_MAX_TOKENS);
    ck_assert_uint_eq(p.seed, 12345678901234567ULL);
    ck_assert_int_eq(p.stops.n, 2);
    ck_assert_str_eq(p.stops.s[0], "\n\n");
    ck_assert_int_eq(p.n, 3);
    ck_assert_int_eq(p.n_alts, 2);
    srv_params_free(&p);

    body = "{\"prime\":\"ROMEO:\",\"length\":20,\"beam\":4,\"stop\":\".\",\"stream\":true}";
    ck_assert_int_eq(srv_params_parse(SRV_API_GENERATE, body, strlen(body), m, 1, &p,
                                      err, sizeof err), 0);
    ck_assert_str_eq(p.prompt, "ROMEO:");
    ck_assert_int_eq(p.cfg.beam, 4);
    ck_assert_int_eq(p.cfg.n_best, 1);
    ck_assert_str_eq(p.cfg.stop, ".");
    ck_assert_int_eq(p.stream, 1);
    ck_assert_int_eq(p.n_alts, SRV_GENERATE_ALTS);
    srv_params_free(&p);
}
END_TEST

/* ---- answers */

static void no_sleep(void *ctx) { (void)ctx; }
static void no_wake(void *ctx) { (void)ctx; }

/* Runs a completions request through the scheduler; the events (a
 * stream) or the answer in out. */
static void run_gen(srv_sched *s, const char *body, strbuf *out)
{
    char err[600], buf[256];
    srv_params p;
    const srv_model_desc *m[] = {&ver->desc};
    ck_assert_int_eq(srv_params_parse(SRV_API_COMPLETIONS, body, strlen(body), m, 1, &p, err,
                                      sizeof err), 0);
    srv_gen *g = srv_gen_new(&p, ver, 1, 2);
    srv_waker w = {.sleep = no_sleep, .wake = no_wake};
    srv_gen_watch(g, &w);
    ck_assert_int_eq(srv_gen_start(g, s), 0);
    size_t n;
    int st;
    while ((st = srv_gen_read(g, buf, sizeof buf, &n)) != SRV_GEN_END)
        if (st == SRV_GEN_DATA)
            strbuf_append(out, buf, n);
    if (!g->p.stream) {
        char *a = srv_gen_answer(g);
        strbuf_puts(out, a);
        free(a);
    }
    srv_gen_release(g);
}

/* The texts of every event's first choice, joined. */
static void event_text(const char *events, strbuf *text, int *finished)
{
    for (const char *p = strstr(events, "data: {"); p; p = strstr(p + 1, "data: {")) {
        const char *t = strstr(p, "\"text\":\"");
        ck_assert_ptr_nonnull(t);
        t += 8;
        strbuf_append(text, t, strcspn(t, "\""));
        *finished += strncmp(strstr(p, "\"finish_reason\":") + 16, "null", 4) != 0;
    }
}

START_TEST(stream_holds_back_stop)
{
    srv_sched *s = open_sched(1, 4, 8);
    strbuf ev = STRBUF_INIT, whole = STRBUF_INIT, joined = STRBUF_INIT;
    int finished = 0;
    const char *req = "{\"prompt\":\"the \",\"max_tokens\":200,\"seed\":3,\"stop\":[\"at \",\"og\"]";
    char body[256];
    snprintf(body, sizeof body, "%s,\"stream\":true}", req);
    run_gen(s, body, &ev);
    snprintf(body, sizeof body, "%s}", req);
    run_gen(s, body, &whole);
    ck_assert_msg(strstr(ev.p, "data: [DONE]\n\n") == ev.p + ev.len - 14, "%s", ev.p);
    event_text(ev.p, &joined, &finished);
    ck_assert_int_eq(finished, 1);
    char want[512];
    snprintf(want, sizeof want, "\"text\":\"%s\"", joined.p ? joined.p : "");
    ck_assert_msg(strstr(whole.p, want) != NULL, "streamed '%s', whole %s", joined.p, whole.p);
    ck_assert_msg(strstr(whole.p, "\"finish_reason\":\"stop\"") != NULL, "%s", whole.p);
    ck_assert_ptr_null(strstr(joined.p ? joined.p : "", "og"));
    ck_assert_ptr_null(strstr(joined.p ? joined.p : "", "at "));
    strbuf_free(&ev);
    strbuf_free(&whole);
    strbuf_free(&joined);
    srv_sched_free(s);
}
END_TEST

START_TEST(error_body)
{
    char *e = srv_reply_error(404, "model 'x' not found");
    ck_assert_str_eq(e, "{\"error\":{\"message\":\"model 'x' not found\","
                        "\"type\":\"not_found_error\",\"code\":404}}");
    free(e);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("serve");
    TCase *tc = tcase_create("sched");
    tcase_add_unchecked_fixture(tc, make_session, drop_session);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batch_matches_sample_decode);
    tcase_add_test(tc, cancel_and_full_queue);
    tcase_add_test(tc, client_gone_in_prompt);
    tcase_add_test(tc, version_swap);
    tcase_add_test(tc, stream_holds_back_stop);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("requests");
    tcase_add_test(tr, request_errors);
    tcase_add_test(tr, request_settings);
    tcase_add_test(tr, error_body);
    suite_add_tcase(s, tr);
    return fx_run_suite(s);
}
